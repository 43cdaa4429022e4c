/*
 * Tests of the JT/T 808 gateway: the codec on the real terminal frames of
 * $GL_SHARED_DATA/jt808/frames.tsv (every value a row asserts, re-encoding byte for byte),
 * escaping and stream reassembly, every refusal the codec makes, and a real-socket round trip:
 * a terminal client connects over TCP to the gateway on 127.0.0.1, sends a burst of malformed
 * frames, is refused registration under an unknown number (0x8100 result 4), registers,
 * fails and then passes authentication, sends a location report, and the GpsFix arrives on a
 * nanomsg PULL socket (ipc:// in a temporary directory) with the right position, time and speed.
 */
#include "err.h"
#include "goldline.pb-c.h"
#include "jt808_codec.h"
#include "jt808_server.h"
#include "nnuv.h"
#include "timeutil.h"
#include "unit_link.h"

#include <check.h>
#include <ctype.h>
#include <fcntl.h>
#include <iconv.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

/* ---------------------------------------------------------------- helpers */

#define MAX_FRAMES 16

struct collected {
    int frames, faults;
    uint8_t msg[MAX_FRAMES][JT808_MSG_MAX];
    size_t len[MAX_FRAMES];
    jt808_fault_t fault[MAX_FRAMES];
};

static int collect(void *ctx, const uint8_t *msg, size_t len, jt808_fault_t fault)
{
    struct collected *c = ctx;
    if (fault != JT808_FAULT_NONE) {
        ck_assert_ptr_null(msg);
        if (c->faults < MAX_FRAMES)
            c->fault[c->faults] = fault;
        c->faults++;
        return 0;
    }
    ck_assert_ptr_nonnull(msg);
    if (c->frames < MAX_FRAMES) {
        memcpy(c->msg[c->frames], msg, len);
        c->len[c->frames] = len;
    }
    c->frames++;
    return 0;
}

static int has_fault(const struct collected *c, jt808_fault_t f)
{
    for (int i = 0; i < c->faults && i < MAX_FRAMES; i++)
        if (c->fault[i] == f)
            return 1;
    return 0;
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = hex; p[0] && p[1]; p += 2) {
        unsigned v;
        ck_assert_int_eq(sscanf(p, "%2x", &v), 1);
        ck_assert_uint_lt(n, cap);
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* "YYYY-MM-DD hh:mm:ss" read as UTC+8, to ms UTC: timegm, independent of the codec. */
static int64_t gmt8_text_to_ms(const char *text)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    ck_assert_ptr_nonnull(strptime(text, "%Y-%m-%d %H:%M:%S", &tm));
    return ((int64_t)timegm(&tm) - 8 * 3600) * 1000;
}

/* Finds `key=` (at a word start) in `s` and copies its value (quotes removed) into out. */
static int field(const char *s, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    for (const char *p = s; (p = strstr(p, key)) != NULL; p++) {
        if ((p != s && p[-1] != ' ' && p[-1] != ';') || p[kl] != '=')
            continue;
        const char *v = p + kl + 1;
        size_t n;
        if (*v == '"') {
            v++;
            n = strcspn(v, "\"");
        } else {
            n = strcspn(v, "; |");
        }
        ck_assert_uint_lt(n, cap);
        memcpy(out, v, n);
        out[n] = '\0';
        return 1;
    }
    return 0;
}

static long field_num(const char *s, const char *key, int base)
{
    char v[64];
    ck_assert_msg(field(s, key, v, sizeof v), "no %s in '%s'", key, s);
    return strtol(v, NULL, base);
}

/* "items[01,36]" → the ids, compared with what the parser listed. */
static void check_items(const char *s, const jt808_location_t *loc)
{
    const char *p = strstr(s, "items[");
    ck_assert_ptr_nonnull(p);
    p += 6;
    size_t n = 0;
    while (*p && *p != ']') {
        unsigned id;
        ck_assert_int_eq(sscanf(p, "%2x", &id), 1);
        ck_assert_uint_lt(n, loc->n_items);
        ck_assert_uint_eq(loc->item_ids[n], id);
        n++;
        p += 2;
        if (*p == ',')
            p++;
    }
    ck_assert_uint_eq(n, loc->n_items);
}

/* Compares the optional item values a description names with the parsed ones. */
static void check_item_values(const char *s, const jt808_location_t *loc)
{
    char v[64];
    if (field(s, "mileage_km", v, sizeof v)) {
        ck_assert(loc->have & JT808_LOC_MILEAGE);
        ck_assert_int_eq(loc->mileage_01km, lround(strtod(v, NULL) * 10));
    }
    if (field(s, "tacho_speed_kmh", v, sizeof v)) {
        ck_assert(loc->have & JT808_LOC_TACHO);
        ck_assert_int_eq(loc->tacho_01kmh, lround(strtod(v, NULL) * 10));
    }
    if (field(s, "fuel_L", v, sizeof v)) {
        ck_assert(loc->have & JT808_LOC_FUEL);
        ck_assert_int_eq(loc->fuel_01l, lround(strtod(v, NULL) * 10));
    }
    if (field(s, "rssi", v, sizeof v)) {
        ck_assert(loc->have & JT808_LOC_RSSI);
        ck_assert_int_eq(loc->rssi, atoi(v));
    }
    if (field(s, "gnss_sats", v, sizeof v)) {
        ck_assert(loc->have & JT808_LOC_SATS);
        ck_assert_int_eq(loc->sats, atoi(v));
    }
    if (field(s, "ext_status", v, sizeof v)) {
        ck_assert(loc->have & JT808_LOC_EXT_STATUS);
        ck_assert_uint_eq(loc->ext_status, strtoul(v, NULL, 16));
    }
    if (field(s, "io_status", v, sizeof v)) {
        ck_assert(loc->have & JT808_LOC_IO);
        ck_assert_uint_eq(loc->io_status, strtoul(v, NULL, 16));
    }
}

/* ---------------------------------------------------------------- frames.tsv */

enum col {
    C_ID,
    C_MSG,
    C_VER,
    C_HEX,
    C_XOR,
    C_ESC,
    C_PHONE,
    C_SERIAL,
    C_BODYLEN,
    C_ALARM,
    C_STATUS,
    C_LAT,
    C_LON,
    C_SPEED,
    C_DIR,
    C_ALT,
    C_TIME,
    C_OTHER,
    C_NOTES,
    C_COUNT
};
static const char *const col_names[C_COUNT] = {
    "id",          "message_id",    "protocol_version", "hex",          "xor_check",
    "escape_seqs", "phone_bcd",     "msg_serial",       "body_len",     "alarm_hex",
    "status_hex",  "lat_1e6",       "lon_1e6",          "speed_0p1kmh", "direction_deg",
    "altitude_m",  "time_bcd_gmt8", "other_decoded",    "notes"};

static int split_tabs(char *line, char **cols, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; n < max; n++) {
        cols[n] = p;
        char *t = strchr(p, '\t');
        if (!t) {
            n++;
            break;
        }
        *t = '\0';
        p = t + 1;
    }
    return n;
}

static void gbk_to_utf8(const uint8_t *in, size_t n, char *out, size_t cap)
{
    iconv_t cd = iconv_open("UTF-8", "GBK");
    ck_assert(cd != (iconv_t)-1);
    char *ip = (char *)in, *op = out;
    size_t il = n, ol = cap - 1;
    ck_assert(iconv(cd, &ip, &il, &op, &ol) != (size_t)-1);
    *op = '\0';
    iconv_close(cd);
}

static void check_location_row(char **c, const jt808_location_t *loc)
{
    ck_assert_uint_eq(loc->alarm, strtoul(c[C_ALARM], NULL, 16));
    ck_assert_uint_eq(loc->status, strtoul(c[C_STATUS], NULL, 16));
    ck_assert_int_eq(loc->lat_1e6, atol(c[C_LAT]));
    ck_assert_int_eq(loc->lon_1e6, atol(c[C_LON]));
    ck_assert_int_eq(loc->speed_01kmh, atoi(c[C_SPEED]));
    ck_assert_int_eq(loc->direction, atoi(c[C_DIR]));
    ck_assert_int_eq(loc->alt_m, atoi(c[C_ALT]));
    ck_assert(loc->time_valid);
    ck_assert_int_eq(loc->time_ms, gmt8_text_to_ms(c[C_TIME]));
}

/* One position of a 0x0704 description: "[i] alarm=0x.. status=0x.. lat=.. ... items[..]; ..". */
static void check_batch_entry(const char *d, const jt808_location_t *loc)
{
    ck_assert_uint_eq(loc->alarm, (unsigned long)field_num(d, "alarm", 16));
    ck_assert_uint_eq(loc->status, (unsigned long)field_num(d, "status", 16));
    ck_assert_int_eq(loc->lat_1e6, field_num(d, "lat", 10));
    ck_assert_int_eq(loc->lon_1e6, field_num(d, "lon", 10));
    ck_assert_int_eq(loc->speed_01kmh, field_num(d, "speed", 10));
    ck_assert_int_eq(loc->direction, field_num(d, "dir", 10));
    const char *t = strstr(d, "time=");
    ck_assert_ptr_nonnull(t);
    char ts[20];
    memcpy(ts, t + 5, 19);
    ts[19] = '\0';
    ck_assert_int_eq(loc->time_ms, gmt8_text_to_ms(ts));
    check_items(d, loc);
    check_item_values(d, loc);
}

static int rows_ok, rows_bad, by_id[0x10000 >> 8];

static void check_good_row(char **c, const uint8_t *wire, size_t wire_len,
                           const struct collected *got)
{
    ck_assert_msg(got->frames == 1 && got->faults == 0, "%s: %d frames %d faults", c[C_ID],
                  got->frames, got->faults);
    jt808_msg_t m;
    jt808_fault_t f;
    ck_assert_int_eq(jt808_decode(got->msg[0], got->len[0], &m, &f), 0);
    ck_assert_int_eq(f, JT808_FAULT_NONE);
    unsigned given;
    ck_assert_int_eq(sscanf(c[C_XOR], "ok (0x%x)", &given), 1);
    ck_assert_uint_eq(jt808_xor(got->msg[0], got->len[0] - 1), given);
    ck_assert_uint_eq(m.h.msg_id, strtoul(c[C_MSG], NULL, 16));
    ck_assert_str_eq(m.h.phone, c[C_PHONE]);
    ck_assert_uint_eq(m.h.serial, strtoul(c[C_SERIAL], NULL, 10));
    ck_assert_uint_eq(m.body_len, strtoul(c[C_BODYLEN], NULL, 10));
    if (strcmp(c[C_VER], "2019") == 0) {
        ck_assert_int_eq(m.h.version, JT808_V2019);
        ck_assert_int_eq(m.h.version_flag, 1);
        ck_assert_int_eq(m.h.proto_version, field_num(c[C_OTHER], "protocol_version_byte", 10));
    } else {
        ck_assert_int_eq(m.h.version, JT808_V2013);
        ck_assert_int_eq(m.h.version_flag, strstr(c[C_VER], "bit14") != NULL);
    }
    /* Re-encoding gives the wire bytes back, escapes included. */
    uint8_t again[JT808_FRAME_MAX];
    size_t again_len;
    ck_assert_int_eq(jt808_encode(&m.h, m.body, m.body_len, again, sizeof again, &again_len), 0);
    ck_assert_uint_eq(again_len, wire_len);
    ck_assert_mem_eq(again, wire, wire_len);
    int escapes = 0;
    for (size_t i = 0; i + 1 < wire_len; i++)
        escapes += wire[i] == 0x7d;
    ck_assert_int_eq(escapes, atoi(c[C_ESC]));

    const char *o = c[C_OTHER];
    char v[128];
    switch (m.h.msg_id) {
    case JT808_MSG_LOCATION: {
        jt808_location_t loc;
        ck_assert_int_eq(jt808_parse_location(m.body, m.body_len, &loc, &f), 0);
        check_location_row(c, &loc);
        check_items(o, &loc);
        check_item_values(o, &loc);
        /* Items the parser takes are rebuilt identically; parse(build(x)) keeps them. */
        uint8_t body[256];
        jt808_location_t back;
        size_t n = jt808_build_location(&loc, body, sizeof body);
        ck_assert_uint_gt(n, 0);
        ck_assert_int_eq(jt808_parse_location(body, n, &back, &f), 0);
        ck_assert_int_eq(back.lat_1e6, loc.lat_1e6);
        ck_assert_int_eq(back.lon_1e6, loc.lon_1e6);
        ck_assert_int_eq(back.time_ms, loc.time_ms);
        ck_assert_uint_eq(back.mileage_01km, loc.mileage_01km);
        break;
    }
    case JT808_MSG_BATCH: {
        jt808_batch_t b;
        jt808_location_t loc;
        ck_assert_int_eq(jt808_batch_begin(&b, m.body, m.body_len, &f), 0);
        ck_assert_int_eq(b.count, field_num(o, "count", 10));
        ck_assert_int_eq(b.type, field_num(o, "type", 10));
        for (int i = 0; i < b.count; i++) {
            char tag[16];
            snprintf(tag, sizeof tag, "[%d] ", i);
            const char *d = strstr(o, tag);
            ck_assert_ptr_nonnull(d);
            ck_assert_int_eq(jt808_batch_next(&b, &loc, &f), 1);
            check_batch_entry(d, &loc);
            if (i == 0)
                check_location_row(c, &loc);
        }
        ck_assert_int_eq(jt808_batch_next(&b, &loc, &f), 0);
        break;
    }
    case JT808_MSG_REGISTER: {
        jt808_register_t r;
        ck_assert_int_eq(jt808_parse_register(m.body, m.body_len, m.h.version, &r, &f), 0);
        ck_assert_int_eq(r.province, field_num(o, "province", 10));
        ck_assert_int_eq(r.city, field_num(o, "city", 10));
        ck_assert(field(o, "maker", v, sizeof v));
        ck_assert_str_eq(r.maker, v);
        ck_assert(field(o, "model", v, sizeof v));
        ck_assert_str_eq(r.model, v);
        ck_assert(field(o, "terminal_id", v, sizeof v));
        ck_assert_str_eq(r.terminal_id, v);
        ck_assert_int_eq(r.plate_color, field_num(o, "plate_color", 10));
        ck_assert(field(o, "plate", v, sizeof v));
        if (strcmp(v, "(all zero bytes)") == 0) {
            ck_assert_uint_gt(r.plate_len, 0);
            for (size_t i = 0; i < r.plate_len; i++)
                ck_assert_uint_eq(r.plate[i], 0);
        } else {
            char utf8[128];
            gbk_to_utf8(r.plate, r.plate_len, utf8, sizeof utf8);
            ck_assert_str_eq(utf8, v);
        }
        ck_assert_int_eq(r.layout, strstr(c[C_NOTES], "2011")   ? 2011
                                   : m.h.version == JT808_V2019 ? 2019
                                                                : 2013);
        break;
    }
    case JT808_MSG_AUTH: {
        jt808_auth_t a;
        ck_assert_int_eq(jt808_parse_auth(m.body, m.body_len, m.h.version, &a, &f), 0);
        ck_assert(field(o, "code", v, sizeof v));
        ck_assert_str_eq(a.code, v);
        if (m.h.version == JT808_V2019) {
            ck_assert(field(o, "imei", v, sizeof v));
            ck_assert_str_eq(a.imei, v);
            ck_assert(field(o, "sw", v, sizeof v));
            ck_assert_str_eq(a.sw_version, v);
        }
        uint8_t body[128];
        size_t n = jt808_build_auth(&a, m.h.version, body, sizeof body);
        ck_assert_uint_eq(n, m.body_len);
        ck_assert_mem_eq(body, m.body, n);
        break;
    }
    case JT808_MSG_HEARTBEAT:
        ck_assert_uint_eq(m.body_len, 0);
        break;
    case JT808_MSG_PLATFORM_ACK: {
        jt808_platform_ack_t a;
        ck_assert_int_eq(jt808_parse_platform_ack(m.body, m.body_len, &a, &f), 0);
        ck_assert_int_eq(a.ack_serial, field_num(o, "ack_serial", 10));
        ck_assert_int_eq(a.ack_msg_id, field_num(o, "ack_msg_id", 16));
        ck_assert_int_eq(a.result, field_num(o, "result", 10));
        uint8_t body[8];
        ck_assert_uint_eq(jt808_build_platform_ack(&a, body, sizeof body), 5);
        ck_assert_mem_eq(body, m.body, 5);
        break;
    }
    case JT808_MSG_REGISTER_REPLY: {
        jt808_register_reply_t r;
        ck_assert_int_eq(jt808_parse_register_reply(m.body, m.body_len, &r, &f), 0);
        ck_assert_int_eq(r.ack_serial, field_num(o, "ack_serial", 10));
        ck_assert_int_eq(r.result, field_num(o, "result", 10));
        ck_assert(field(o, "auth_code", v, sizeof v));
        ck_assert_str_eq(r.auth_code, v);
        uint8_t body[128];
        size_t n = jt808_build_register_reply(&r, body, sizeof body);
        ck_assert_uint_eq(n, m.body_len);
        ck_assert_mem_eq(body, m.body, n);
        break;
    }
    default:
        ck_abort_msg("%s: message id %s not covered by the test", c[C_ID], c[C_MSG]);
    }
    rows_ok++;
    by_id[m.h.msg_id >> 8]++;
}

/* A row whose check code the data says fails: no message may come out of it. */
static void check_bad_row(char **c, const uint8_t *wire, size_t wire_len,
                          const struct collected *got)
{
    ck_assert_msg(got->frames + got->faults >= 1, "%s: nothing reported", c[C_ID]);
    for (int i = 0; i < got->frames && i < MAX_FRAMES; i++) {
        jt808_msg_t m;
        jt808_fault_t f = JT808_FAULT_NONE;
        ck_assert_msg(jt808_decode(got->msg[i], got->len[i], &m, &f) == GL_EPROTO,
                      "%s decoded although its check code is wrong", c[C_ID]);
        ck_assert_int_ne(f, JT808_FAULT_NONE);
        if (strstr(c[C_NOTES], "body length")) {
            ck_assert_int_eq(f, JT808_FAULT_LENGTH);
        } else if (got->frames == 1) {
            /* The XOR we compute is the one the data computed. */
            unsigned given, computed;
            ck_assert_int_eq(sscanf(c[C_XOR], "FAIL given=0x%x computed=0x%x", &given, &computed),
                             2);
            ck_assert_int_eq(f, JT808_FAULT_CHECK);
            ck_assert_uint_eq(got->msg[i][got->len[i] - 1], given);
            ck_assert_uint_eq(jt808_xor(got->msg[i], got->len[i] - 1), computed);
        }
    }
    rows_bad++;
}

START_TEST(test_frames_tsv)
{
    const char *path = GL_SHARED_DATA "/jt808/frames.tsv";
    FILE *fp = fopen(path, "r");
    if (!fp) {
        printf("check_jt808: SKIPPED the real terminal frames: %s is absent\n", path);
        return;
    }
    static char line[65536];
    char *cols[64];
    int idx[C_COUNT];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
    int n = split_tabs(line, cols, 64);
    for (int k = 0; k < C_COUNT; k++) {
        idx[k] = -1;
        for (int i = 0; i < n; i++)
            if (strcmp(cols[i], col_names[k]) == 0)
                idx[k] = i;
        ck_assert_msg(idx[k] >= 0, "column %s missing", col_names[k]);
    }
    int rows = 0;
    while (fgets(line, sizeof line, fp)) {
        char *raw[64], *c[C_COUNT];
        int got_cols = split_tabs(line, raw, 64);
        if (got_cols < 2)
            continue;
        for (int k = 0; k < C_COUNT; k++) {
            ck_assert_int_lt(idx[k], got_cols);
            c[k] = raw[idx[k]];
        }
        uint8_t wire[JT808_FRAME_MAX];
        size_t wire_len = unhex(c[C_HEX], wire, sizeof wire);
        static struct collected got;
        memset(&got, 0, sizeof got);
        jt808_stream_t st;
        jt808_stream_init(&st);
        ck_assert_uint_eq(jt808_stream_feed(&st, wire, wire_len, collect, &got), wire_len);
        if (strncmp(c[C_XOR], "ok", 2) == 0)
            check_good_row(c, wire, wire_len, &got);
        else
            check_bad_row(c, wire, wire_len, &got);
        rows++;
    }
    fclose(fp);
    printf("check_jt808: %d frames of frames.tsv: %d decoded and verified, %d refused as the data "
           "says\n",
           rows, rows_ok, rows_bad);
    ck_assert_int_eq(rows, rows_ok + rows_bad);
    ck_assert_int_ge(rows_ok, 30);
    ck_assert_int_ge(rows_bad, 1);
    ck_assert_int_ge(by_id[0x02], 10); /* 0x0200 */
    ck_assert_int_ge(by_id[0x07], 4);  /* 0x0704 */
    ck_assert_int_ge(by_id[0x81], 1);  /* 0x8100 */
    ck_assert_int_ge(by_id[0x80], 1);  /* 0x8001 */
}
END_TEST

/* JT40/JT41-like synthetic vectors carry latitude > 90: the codec decodes them as sent; the
 * gateway refuses to forward them (checked in the socket test with a made-up frame). */

/* ---------------------------------------------------------------- codec */

START_TEST(test_escape_round_trip)
{
    const uint8_t plain[] = {0x30, 0x7e, 0x08, 0x7d, 0x55};
    const uint8_t framed[] = {0x7e, 0x30, 0x7d, 0x02, 0x08, 0x7d, 0x01, 0x55, 0x7e};
    uint8_t out[32];
    ck_assert_uint_eq(jt808_escape(plain, sizeof plain, out, sizeof out), sizeof framed);
    ck_assert_mem_eq(out, framed, sizeof framed);
    ck_assert_uint_eq(jt808_escape(plain, sizeof plain, out, sizeof framed - 1), 0);
    uint8_t back[32];
    ck_assert_int_eq(jt808_unescape(framed + 1, sizeof framed - 2, back), sizeof plain);
    ck_assert_mem_eq(back, plain, sizeof plain);
    const uint8_t bad1[] = {0x30, 0x7d, 0x03}, bad2[] = {0x30, 0x7d}, bad3[] = {0x30, 0x7e};
    ck_assert_int_eq(jt808_unescape(bad1, sizeof bad1, back), -1);
    ck_assert_int_eq(jt808_unescape(bad2, sizeof bad2, back), -1);
    ck_assert_int_eq(jt808_unescape(bad3, sizeof bad3, back), -1);

    /* Random messages dense in 0x7d/0x7e survive escape + stream reassembly in random chunks. */
    srand(808);
    for (int round = 0; round < 500; round++) {
        static uint8_t msg[JT808_MSG_MAX], wire[4][JT808_FRAME_MAX];
        size_t n = 1 + (size_t)rand() % (JT808_MSG_MAX - 1), wl[4];
        for (size_t i = 0; i < n; i++) {
            int r = rand() % 4;
            msg[i] = r == 0 ? 0x7e : r == 1 ? 0x7d : (uint8_t)rand();
        }
        wl[0] = jt808_escape(msg, n, wire[0], sizeof wire[0]);
        ck_assert_uint_gt(wl[0], n + 1);
        static struct collected got;
        memset(&got, 0, sizeof got);
        jt808_stream_t st;
        jt808_stream_init(&st);
        for (size_t off = 0; off < wl[0];) {
            size_t chunk = 1 + (size_t)rand() % 64;
            if (chunk > wl[0] - off)
                chunk = wl[0] - off;
            ck_assert_uint_eq(jt808_stream_feed(&st, wire[0] + off, chunk, collect, &got), chunk);
            off += chunk;
        }
        ck_assert_int_eq(got.frames, 1);
        ck_assert_int_eq(got.faults, 0);
        ck_assert_uint_eq(got.len[0], n);
        ck_assert_mem_eq(got.msg[0], msg, n);
    }
}
END_TEST

static void make_header(jt808_header_t *h, uint16_t id, jt808_version_t v, const char *phone,
                        uint16_t serial)
{
    memset(h, 0, sizeof *h);
    h->msg_id = id;
    h->version = v;
    h->version_flag = v == JT808_V2019;
    h->proto_version = v == JT808_V2019 ? 1 : 0;
    snprintf(h->phone, sizeof h->phone, "%s", phone);
    h->serial = serial;
}

/* Decodes the single frame in `wire` (flags included). */
static int decode_wire(const uint8_t *wire, size_t n, uint8_t *buf, jt808_msg_t *m,
                       jt808_fault_t *f)
{
    long len = jt808_unescape(wire + 1, n - 2, buf);
    ck_assert_int_gt(len, 0);
    return jt808_decode(buf, (size_t)len, m, f);
}

START_TEST(test_header_round_trip)
{
    uint8_t body[JT808_BODY_MAX], wire[JT808_FRAME_MAX], buf[JT808_MSG_MAX];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (uint8_t)(i * 7);
    for (int v = 0; v < 2; v++) {
        for (int sub = 0; sub < 2; sub++) {
            jt808_header_t h;
            jt808_msg_t m;
            jt808_fault_t f;
            size_t n;
            make_header(&h, 0x0200, (jt808_version_t)v, "13511221122", 0xfffe);
            h.subpacket = (uint8_t)sub;
            h.pkt_total = sub ? 3 : 0;
            h.pkt_index = sub ? 2 : 0;
            ck_assert_int_eq(jt808_encode(&h, body, JT808_BODY_MAX, wire, sizeof wire, &n), 0);
            ck_assert_int_eq(decode_wire(wire, n, buf, &m, &f), 0);
            ck_assert_int_eq(m.h.version, v);
            ck_assert_str_eq(m.h.phone, v ? "00000000013511221122" : "013511221122");
            ck_assert_uint_eq(m.h.serial, 0xfffe);
            ck_assert_uint_eq(m.h.subpacket, sub);
            ck_assert_uint_eq(m.h.pkt_total, sub ? 3 : 0);
            ck_assert_uint_eq(m.h.pkt_index, sub ? 2 : 0);
            ck_assert_uint_eq(m.body_len, JT808_BODY_MAX);
            ck_assert_mem_eq(m.body, body, JT808_BODY_MAX);
        }
    }
    jt808_header_t h;
    size_t n;
    make_header(&h, 0x0002, JT808_V2013, "12345678901234", 1); /* 14 digits: too long */
    ck_assert_int_eq(jt808_encode(&h, NULL, 0, wire, sizeof wire, &n), GL_EINVAL);
    make_header(&h, 0x0002, JT808_V2013, "1234x", 1);
    ck_assert_int_eq(jt808_encode(&h, NULL, 0, wire, sizeof wire, &n), GL_EINVAL);
    make_header(&h, 0x0002, JT808_V2013, "1", 1);
    ck_assert_int_eq(jt808_encode(&h, body, JT808_BODY_MAX + 1, wire, sizeof wire, &n), GL_EINVAL);
    ck_assert_int_eq(jt808_encode(&h, NULL, 0, wire, 10, &n), GL_ENOSPC);

    char key[JT808_PHONE_MAX];
    ck_assert_int_eq(jt808_phone_key("00000000013511221122", key), 0);
    ck_assert_str_eq(key, "13511221122");
    ck_assert_int_eq(jt808_phone_key("4EB6FB4AD628", key), 0);
    ck_assert_str_eq(key, "4eb6fb4ad628");
    ck_assert_int_eq(jt808_phone_key("000000", key), 0);
    ck_assert_str_eq(key, "0");
    ck_assert_int_eq(jt808_phone_key("", key), GL_EINVAL);
    ck_assert_int_eq(jt808_phone_key("135-1122", key), GL_EINVAL);
    ck_assert_int_eq(jt808_phone_key("123456789012345678901", key), GL_EINVAL);
}
END_TEST

START_TEST(test_bcd_time)
{
    const uint8_t t1[6] = {0x13, 0x04, 0x12, 0x16, 0x49, 0x52};
    int64_t ms;
    ck_assert_int_eq(jt808_bcd_time_to_ms(t1, 480, &ms), 0);
    ck_assert_int_eq(ms, gmt8_text_to_ms("2013-04-12 16:49:52"));
    ck_assert_int_eq(jt808_bcd_time_to_ms(t1, 0, &ms), 0);
    ck_assert_int_eq(ms, gmt8_text_to_ms("2013-04-12 16:49:52") + 8 * 3600 * 1000);
    /* Midnight local is the previous day in UTC. */
    const uint8_t t2[6] = {0x24, 0x03, 0x01, 0x00, 0x00, 0x00};
    ck_assert_int_eq(jt808_bcd_time_to_ms(t2, 480, &ms), 0);
    char text[32];
    ck_assert_str_eq(gl_time_format_utc(ms, text, sizeof text), "2024-02-29T16:00:00.000Z");
    uint8_t back[6];
    ck_assert_int_eq(jt808_ms_to_bcd_time(ms, 480, back), 0);
    ck_assert_mem_eq(back, t2, 6);
    const uint8_t zero[6] = {0};
    ck_assert_int_eq(jt808_bcd_time_to_ms(zero, 480, &ms), 1);
    const uint8_t leap_ok[6] = {0x24, 0x02, 0x29, 0x12, 0x00, 0x00};
    const uint8_t leap_bad[6] = {0x23, 0x02, 0x29, 0x12, 0x00, 0x00};
    const uint8_t month13[6] = {0x23, 0x13, 0x01, 0x12, 0x00, 0x00};
    const uint8_t hex_digit[6] = {0x23, 0x01, 0x0a, 0x12, 0x00, 0x00};
    const uint8_t sec60[6] = {0x23, 0x01, 0x01, 0x12, 0x00, 0x60};
    ck_assert_int_eq(jt808_bcd_time_to_ms(leap_ok, 480, &ms), 0);
    ck_assert_int_eq(jt808_bcd_time_to_ms(leap_bad, 480, &ms), GL_EPROTO);
    ck_assert_int_eq(jt808_bcd_time_to_ms(month13, 480, &ms), GL_EPROTO);
    ck_assert_int_eq(jt808_bcd_time_to_ms(hex_digit, 480, &ms), GL_EPROTO);
    ck_assert_int_eq(jt808_bcd_time_to_ms(sec60, 480, &ms), GL_EPROTO);
    /* Every second of a span round-trips. */
    for (int64_t t = gmt8_text_to_ms("2031-12-31 22:00:00");
         t < gmt8_text_to_ms("2032-01-01 02:00:00"); t += 997000) {
        ck_assert_int_eq(jt808_ms_to_bcd_time(t, 480, back), 0);
        ck_assert_int_eq(jt808_bcd_time_to_ms(back, 480, &ms), 0);
        ck_assert_int_eq(ms, t);
    }
    ck_assert_int_eq(jt808_ms_to_bcd_time(0, 480, back), GL_ERANGE);
}
END_TEST

START_TEST(test_bodies_round_trip)
{
    jt808_location_t loc, back;
    jt808_fault_t f;
    memset(&loc, 0, sizeof loc);
    loc.alarm = JT808_ALARM_EMERGENCY;
    loc.status = JT808_STATUS_FIXED;
    loc.lat_1e6 = -33868820;
    loc.lon_1e6 = -70669265;
    loc.alt_m = 520;
    loc.speed_01kmh = 1234;
    loc.direction = 359;
    ck_assert_int_eq(
        jt808_ms_to_bcd_time(gmt8_text_to_ms("2026-11-25 08:00:01"), 480, loc.time_bcd), 0);
    loc.have = JT808_LOC_MILEAGE | JT808_LOC_TACHO | JT808_LOC_SATS | JT808_LOC_RSSI;
    loc.mileage_01km = 123456;
    loc.tacho_01kmh = 1230;
    loc.sats = 11;
    loc.rssi = 20;
    uint8_t body[256];
    size_t n = jt808_build_location(&loc, body, sizeof body);
    ck_assert_uint_eq(n, 28 + 6 + 4 + 3 + 3);
    ck_assert_uint_eq(jt808_build_location(&loc, body, n - 1), 0);
    ck_assert_int_eq(jt808_parse_location(body, n, &back, &f), 0);
    ck_assert_int_eq(back.lat_1e6, loc.lat_1e6);
    ck_assert_int_eq(back.lon_1e6, loc.lon_1e6);
    ck_assert(back.status & JT808_STATUS_SOUTH);
    ck_assert(back.status & JT808_STATUS_WEST);
    ck_assert_int_eq(back.time_ms, gmt8_text_to_ms("2026-11-25 08:00:01"));
    ck_assert_uint_eq(back.have, loc.have);
    ck_assert_uint_eq(back.mileage_01km, 123456);
    ck_assert_uint_eq(back.tacho_01kmh, 1230);
    ck_assert_uint_eq(back.sats, 11);
    ck_assert_uint_eq(back.n_items, 4);

    for (int v = 0; v < 2; v++) {
        jt808_register_t r, rb;
        memset(&r, 0, sizeof r);
        r.province = 36;
        r.city = 700;
        strcpy(r.maker, "GLD01");
        strcpy(r.model, "AMB-TRACK");
        strcpy(r.terminal_id, "T000042");
        r.plate_color = 1;
        strcpy((char *)r.plate, "GAN-B12345");
        n = jt808_build_register(&r, (jt808_version_t)v, body, sizeof body);
        ck_assert_uint_eq(n, (v ? 76u : 37u) + 10);
        ck_assert_int_eq(jt808_parse_register(body, n, (jt808_version_t)v, &rb, &f), 0);
        ck_assert_int_eq(rb.layout, v ? 2019 : 2013);
        ck_assert_str_eq(rb.model, "AMB-TRACK");
        ck_assert_str_eq(rb.terminal_id, "T000042");
        ck_assert_str_eq((char *)rb.plate, "GAN-B12345");
        ck_assert_int_eq(jt808_parse_register(body, v ? 75 : 24, (jt808_version_t)v, &rb, &f),
                         GL_EPROTO);
        ck_assert_int_eq(f, JT808_FAULT_BODY);

        jt808_auth_t a, ab;
        memset(&a, 0, sizeof a);
        strcpy(a.code, "s3cr3t-code");
        strcpy(a.imei, "123456789012345");
        strcpy(a.sw_version, "1.0");
        n = jt808_build_auth(&a, (jt808_version_t)v, body, sizeof body);
        ck_assert_uint_eq(n, v ? 1 + 11 + 15 + 20u : 11u);
        ck_assert_int_eq(jt808_parse_auth(body, n, (jt808_version_t)v, &ab, &f), 0);
        ck_assert_str_eq(ab.code, "s3cr3t-code");
        if (v)
            ck_assert_str_eq(ab.imei, "123456789012345");
        ck_assert_int_eq(jt808_parse_auth(body, v ? n - 1 : 0, (jt808_version_t)v, &ab, &f),
                         GL_EPROTO);
    }
    /* An auth code with a NUL inside or 64 bytes long is refused. */
    uint8_t code[64];
    memset(code, 'a', sizeof code);
    ck_assert_int_eq(jt808_parse_auth(code, 64, JT808_V2013, &(jt808_auth_t){0}, &f), GL_EPROTO);
    code[3] = 0;
    ck_assert_int_eq(jt808_parse_auth(code, 10, JT808_V2013, &(jt808_auth_t){0}, &f), GL_EPROTO);

    jt808_register_reply_t rr = {7, JT808_REG_NO_TERMINAL, "ignored"}, rrb;
    n = jt808_build_register_reply(&rr, body, sizeof body);
    ck_assert_uint_eq(n, 3); /* no code unless the result is 0 */
    ck_assert_int_eq(jt808_parse_register_reply(body, n, &rrb, &f), 0);
    ck_assert_int_eq(rrb.result, JT808_REG_NO_TERMINAL);
    rr.result = JT808_REG_OK;
    body[2] = JT808_REG_OK; /* success without a code is malformed */
    ck_assert_int_eq(jt808_parse_register_reply(body, 3, &rrb, &f), GL_EPROTO);
    n = jt808_build_register_reply(&rr, body, sizeof body);
    ck_assert_int_eq(jt808_parse_register_reply(body, n, &rrb, &f), 0);
    ck_assert_str_eq(rrb.auth_code, "ignored");
}
END_TEST

/* ---------------------------------------------------------------- errors */

/* A valid heartbeat frame of phone 013511221122 (wire form) into out; returns its length. */
static size_t heartbeat(uint8_t *out, uint16_t serial)
{
    jt808_header_t h;
    size_t n;
    make_header(&h, JT808_MSG_HEARTBEAT, JT808_V2013, "13511221122", serial);
    ck_assert_int_eq(jt808_encode(&h, NULL, 0, out, JT808_FRAME_MAX, &n), 0);
    return n;
}

START_TEST(test_bad_frames_are_refused)
{
    uint8_t wire[JT808_FRAME_MAX], buf[JT808_MSG_MAX];
    jt808_msg_t m;
    jt808_fault_t f;
    size_t n = heartbeat(wire, 5);
    ck_assert_int_eq(decode_wire(wire, n, buf, &m, &f), 0);
    /* Bad check code. */
    wire[n - 2] ^= 0x01;
    ck_assert_int_eq(decode_wire(wire, n, buf, &m, &f), GL_EPROTO);
    ck_assert_int_eq(f, JT808_FAULT_CHECK);
    /* Wrong body length: the header announces 1 byte more than present. */
    n = heartbeat(wire, 5);
    long len = jt808_unescape(wire + 1, n - 2, buf);
    buf[3] = 1;
    ck_assert_int_eq(jt808_decode(buf, (size_t)len, &m, &f), GL_EPROTO);
    ck_assert_int_eq(f, JT808_FAULT_LENGTH);
    /* Truncated below a header. */
    ck_assert_int_eq(jt808_decode(buf, 8, &m, &f), GL_EPROTO);
    ck_assert_int_eq(f, JT808_FAULT_SHORT);
    /* Bit 14 set with a length that fits neither layout. */
    buf[2] = 0x40;
    buf[3] = 0x05;
    ck_assert_int_eq(jt808_decode(buf, (size_t)len, &m, &f), GL_EPROTO);
    ck_assert_int_ne(f, JT808_FAULT_NONE);

    /* Location bodies: too short, an item running past the end, a bad time. */
    jt808_location_t loc;
    uint8_t body[64];
    memset(&loc, 0, sizeof loc);
    loc.status = JT808_STATUS_FIXED;
    ck_assert_int_eq(
        jt808_ms_to_bcd_time(gmt8_text_to_ms("2026-01-01 00:00:00"), 480, loc.time_bcd), 0);
    loc.have = JT808_LOC_MILEAGE;
    size_t bl = jt808_build_location(&loc, body, sizeof body);
    ck_assert_int_eq(jt808_parse_location(body, 27, &loc, &f), GL_EPROTO);
    ck_assert_int_eq(f, JT808_FAULT_BODY);
    ck_assert_int_eq(jt808_parse_location(body, bl - 1, &loc, &f), GL_EPROTO);
    ck_assert_int_eq(f, JT808_FAULT_ITEM);
    ck_assert_int_eq(jt808_parse_location(body, 29, &loc, &f), GL_EPROTO);
    ck_assert_int_eq(f, JT808_FAULT_ITEM);
    body[23] = 0x13; /* month 13 */
    ck_assert_int_eq(jt808_parse_location(body, bl, &loc, &f), GL_EPROTO);
    ck_assert_int_eq(f, JT808_FAULT_TIME);

    /* Batch: a count that promises more than is there, and bytes left over. */
    uint8_t batch[128];
    body[23] = 0x01;
    batch[0] = 0;
    batch[1] = 2;
    batch[2] = 0;
    batch[3] = 0;
    batch[4] = (uint8_t)bl;
    memcpy(batch + 5, body, bl);
    jt808_batch_t b;
    ck_assert_int_eq(jt808_batch_begin(&b, batch, 5 + bl, &f), 0);
    ck_assert_int_eq(jt808_batch_next(&b, &loc, &f), 1);
    ck_assert_int_eq(jt808_batch_next(&b, &loc, &f), GL_EPROTO);
    ck_assert_int_eq(f, JT808_FAULT_COUNT);
    batch[1] = 1;
    batch[5 + bl] = 0xaa;
    ck_assert_int_eq(jt808_batch_begin(&b, batch, 6 + bl, &f), 0);
    ck_assert_int_eq(jt808_batch_next(&b, &loc, &f), 1);
    ck_assert_int_eq(jt808_batch_next(&b, &loc, &f), GL_EPROTO);
    ck_assert_int_eq(jt808_batch_begin(&b, batch, 2, &f), GL_EPROTO);
    ck_assert_int_eq(f, JT808_FAULT_BODY);
}
END_TEST

static int stop_after_one(void *ctx, const uint8_t *msg, size_t len, jt808_fault_t fault)
{
    ck_assert_int_eq(fault, JT808_FAULT_NONE);
    ++*(int *)ctx;
    return 1;
}

START_TEST(test_stream_garbage_oversize_escape)
{
    static uint8_t s[8 * JT808_FRAME_MAX];
    uint8_t hb[JT808_FRAME_MAX];
    size_t n = 0, hl = heartbeat(hb, 1);
    memcpy(s + n, "GET / HTTP/1.0\r\n", 16); /* garbage before any flag */
    n += 16;
    memcpy(s + n, hb, hl);
    n += hl;
    memcpy(s + n, "\x01\x02junk", 6); /* garbage between frames */
    n += 6;
    memcpy(s + n, hb, hl);
    n += hl;
    s[n++] = 0x7e; /* an oversized run */
    for (int i = 0; i < JT808_MSG_MAX + 100; i++)
        s[n++] = 0x55;
    s[n++] = 0x7e;
    memcpy(s + n, hb, hl);
    n += hl;
    const uint8_t bad_esc[] = {0x7e, 0x00, 0x02, 0x7d, 0x03, 0x7e, 0x00, 0x7d, 0x7e};
    memcpy(s + n, bad_esc, sizeof bad_esc);
    n += sizeof bad_esc;
    memcpy(s + n, hb, hl);
    n += hl;

    static struct collected got;
    memset(&got, 0, sizeof got);
    jt808_stream_t st;
    jt808_stream_init(&st);
    ck_assert_uint_eq(jt808_stream_feed(&st, s, n, collect, &got), n);
    /* Four heartbeats plus the "junk" run, which the decoder refuses. */
    int good = 0;
    for (int i = 0; i < got.frames; i++) {
        jt808_msg_t m;
        jt808_fault_t f;
        if (jt808_decode(got.msg[i], got.len[i], &m, &f) == 0) {
            ck_assert_uint_eq(m.h.msg_id, JT808_MSG_HEARTBEAT);
            good++;
        }
    }
    ck_assert_int_eq(good, 4);
    ck_assert_int_eq(got.frames, 5);
    ck_assert(has_fault(&got, JT808_FAULT_GARBAGE));
    ck_assert(has_fault(&got, JT808_FAULT_OVERSIZE));
    ck_assert(has_fault(&got, JT808_FAULT_ESCAPE));
    ck_assert_int_eq(got.faults, 4); /* garbage, oversize, two bad escapes */

    /* A callback that asks to stop leaves the rest of the chunk unconsumed. */
    memcpy(s, hb, hl);
    memcpy(s + hl, hb, hl);
    int calls = 0;
    jt808_stream_init(&st);
    ck_assert_uint_eq(jt808_stream_feed(&st, s, 2 * hl, stop_after_one, &calls), hl);
    ck_assert_int_eq(calls, 1);
}
END_TEST

/* ---------------------------------------------------------------- over real sockets */

#define PHONE "013511221122"
#define VEHICLE "JT-1"
#define CODE "AUTH-7f3a"
#define LAT 26267123
#define LON 116654321
#define SPEED 543 /* 54.3 km/h */

enum step {
    S_BURST,
    S_UNKNOWN,
    S_REGISTER,
    S_BAD_AUTH,
    S_EARLY_LOC,
    S_AUTH,
    S_LOCATION,
    S_WAIT_FIX,
    S_DONE
};

static struct {
    uv_loop_t loop;
    uv_tcp_t client;
    uv_connect_t connect_req;
    uv_timer_t deadline;
    nnuv_sock_t *pull;
    unit_link_t *link;
    jt808_server_t *srv;
    jt808_stream_t stream;
    enum step step;
    char auth_code[JT808_AUTH_MAX];
    int64_t fix_time_ms;
    int fixes, closed, registered_cb;
    jt808_server_stats_t st; /* the server's counters just before it closed */
    char dir[64];
    char log_path[128];
} net;

static void on_client_write(uv_write_t *req, int status)
{
    ck_assert_int_eq(status, 0);
    free(req);
}

static void client_send_raw(const uint8_t *p, size_t n)
{
    uv_write_t *req = malloc(sizeof *req + n);
    ck_assert_ptr_nonnull(req);
    memcpy(req + 1, p, n);
    uv_buf_t b = uv_buf_init((char *)(req + 1), (unsigned)n);
    ck_assert_int_eq(uv_write(req, (uv_stream_t *)&net.client, &b, 1, on_client_write), 0);
}

static void client_send(const char *phone, uint16_t id, uint16_t serial, const uint8_t *body,
                        size_t n)
{
    jt808_header_t h;
    uint8_t wire[JT808_FRAME_MAX];
    size_t wl;
    make_header(&h, id, JT808_V2013, phone, serial);
    ck_assert_int_eq(jt808_encode(&h, body, n, wire, sizeof wire, &wl), 0);
    client_send_raw(wire, wl);
}

static void send_register(const char *phone, uint16_t serial)
{
    jt808_register_t r;
    uint8_t body[128];
    memset(&r, 0, sizeof r);
    strcpy(r.maker, "GLD01");
    strcpy(r.model, "TEST-TERMINAL");
    strcpy(r.terminal_id, "T1");
    strcpy((char *)r.plate, "TEST123");
    r.plate_color = 1;
    client_send(phone, JT808_MSG_REGISTER, serial, body,
                jt808_build_register(&r, JT808_V2013, body, sizeof body));
}

static void send_auth(const char *code, uint16_t serial)
{
    jt808_auth_t a;
    uint8_t body[128];
    memset(&a, 0, sizeof a);
    snprintf(a.code, sizeof a.code, "%s", code);
    client_send(PHONE, JT808_MSG_AUTH, serial, body,
                jt808_build_auth(&a, JT808_V2013, body, sizeof body));
}

static void send_location(uint16_t serial, int lat_1e6)
{
    jt808_location_t loc;
    uint8_t body[128];
    memset(&loc, 0, sizeof loc);
    loc.status = JT808_STATUS_FIXED | JT808_STATUS_ACC;
    loc.lat_1e6 = lat_1e6;
    loc.lon_1e6 = LON;
    loc.alt_m = 120;
    loc.speed_01kmh = SPEED;
    loc.direction = 90;
    loc.have = JT808_LOC_SATS | JT808_LOC_MILEAGE;
    loc.sats = 9;
    loc.mileage_01km = 4242;
    ck_assert_int_eq(jt808_ms_to_bcd_time(net.fix_time_ms, 480, loc.time_bcd), 0);
    client_send(PHONE, JT808_MSG_LOCATION, serial, body,
                jt808_build_location(&loc, body, sizeof body));
}

static void net_closed(void *ctx)
{
    net.closed++;
}

static void net_finish(void)
{
    net.step = S_DONE;
    uv_close((uv_handle_t *)&net.deadline, NULL);
    uv_close((uv_handle_t *)&net.client, NULL);
    jt808_server_close(net.srv, net_closed, NULL);
    unit_link_close(net.link, net_closed, NULL);
    nnuv_close(net.pull, net_closed, NULL);
}

/* Expects a 0x8001 answering (serial, id) with `result`. */
static void expect_ack(const jt808_msg_t *m, uint16_t serial, uint16_t id, uint8_t result)
{
    jt808_platform_ack_t a;
    jt808_fault_t f;
    ck_assert_uint_eq(m->h.msg_id, JT808_MSG_PLATFORM_ACK);
    ck_assert_int_eq(jt808_parse_platform_ack(m->body, m->body_len, &a, &f), 0);
    ck_assert_uint_eq(a.ack_serial, serial);
    ck_assert_uint_eq(a.ack_msg_id, id);
    ck_assert_uint_eq(a.result, result);
}

/* The terminal's side: each reply moves it one step on. */
static int client_on_frame(void *ctx, const uint8_t *msg, size_t len, jt808_fault_t fault)
{
    jt808_msg_t m;
    jt808_fault_t f;
    ck_assert_int_eq(fault, JT808_FAULT_NONE);
    ck_assert_int_eq(jt808_decode(msg, len, &m, &f), 0);
    ck_assert_str_eq(m.h.phone, net.step == S_UNKNOWN ? "013900000000" : PHONE);
    jt808_register_reply_t rr;
    switch (net.step) {
    case S_UNKNOWN:
        ck_assert_uint_eq(m.h.msg_id, JT808_MSG_REGISTER_REPLY);
        ck_assert_int_eq(jt808_parse_register_reply(m.body, m.body_len, &rr, &f), 0);
        ck_assert_uint_eq(rr.ack_serial, 1);
        ck_assert_uint_eq(rr.result, JT808_REG_NO_TERMINAL);
        net.step = S_REGISTER;
        send_register(PHONE, 2);
        break;
    case S_REGISTER:
        ck_assert_uint_eq(m.h.msg_id, JT808_MSG_REGISTER_REPLY);
        ck_assert_int_eq(jt808_parse_register_reply(m.body, m.body_len, &rr, &f), 0);
        ck_assert_uint_eq(rr.ack_serial, 2);
        ck_assert_uint_eq(rr.result, JT808_REG_OK);
        ck_assert_str_eq(rr.auth_code, CODE);
        snprintf(net.auth_code, sizeof net.auth_code, "%s", rr.auth_code);
        net.step = S_BAD_AUTH;
        send_auth("not-the-code", 3);
        break;
    case S_BAD_AUTH:
        expect_ack(&m, 3, JT808_MSG_AUTH, JT808_ACK_FAILURE);
        net.step = S_EARLY_LOC;
        send_location(4, LAT);
        break;
    case S_EARLY_LOC:
        expect_ack(&m, 4, JT808_MSG_LOCATION, JT808_ACK_FAILURE); /* not authenticated */
        net.step = S_AUTH;
        send_auth(net.auth_code, 5);
        break;
    case S_AUTH:
        expect_ack(&m, 5, JT808_MSG_AUTH, JT808_ACK_OK);
        net.step = S_LOCATION;
        /* A position the gateway must not forward (latitude 116°, like the swapped synthetic
         * vectors), then the real one. */
        send_location(6, 116307629);
        send_location(7, LAT);
        break;
    case S_LOCATION:
        expect_ack(&m, 6, JT808_MSG_LOCATION, JT808_ACK_OK);
        net.step = S_WAIT_FIX;
        break;
    case S_WAIT_FIX:
        expect_ack(&m, 7, JT808_MSG_LOCATION, JT808_ACK_OK);
        break;
    default:
        ck_abort_msg("unexpected message 0x%04x in step %d", m.h.msg_id, net.step);
    }
    return 0;
}

static void client_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char b[4096];
    *buf = uv_buf_init(b, sizeof b);
}

static void client_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    ck_assert_int_ge(nread, 0);
    jt808_stream_feed(&net.stream, (const uint8_t *)buf->base, (size_t)nread, client_on_frame,
                      NULL);
}

static void client_on_connect(uv_connect_t *req, int status)
{
    ck_assert_int_eq(status, 0);
    ck_assert_int_eq(uv_read_start((uv_stream_t *)&net.client, client_alloc, client_on_read), 0);
    /* A burst of bad input in one write: garbage, a bad check code, a truncated frame, a bad
     * escape. None gets a reply; the connection survives. */
    uint8_t burst[256], hb[JT808_FRAME_MAX];
    size_t n = 0, hl = heartbeat(hb, 99);
    memcpy(burst + n, "garbage", 7);
    n += 7;
    memcpy(burst + n, hb, hl);
    burst[n + hl - 2] ^= 0x20; /* check code */
    n += hl;
    memcpy(burst + n, hb, hl - 4); /* truncated: its tail is missing, then a flag */
    n += hl - 4;
    burst[n++] = 0x7e;
    const uint8_t esc[] = {0x7e, 0x01, 0x7d, 0x09, 0x7e};
    memcpy(burst + n, esc, sizeof esc);
    n += sizeof esc;
    client_send_raw(burst, n);
    net.step = S_UNKNOWN;
    send_register("13900000000", 1);
}

static void on_pull(nnuv_sock_t *s, const void *buf, size_t len, void *ctx)
{
    Goldline__Uplink *u = goldline__uplink__unpack(NULL, len, buf);
    ck_assert_ptr_nonnull(u);
    ck_assert_str_eq(u->vehicle_id, VEHICLE);
    ck_assert_int_eq(u->body_case, GOLDLINE__UPLINK__BODY_GPS);
    ck_assert_double_eq_tol(u->gps->lat, LAT / 1e6, 1e-9);
    ck_assert_double_eq_tol(u->gps->lon, LON / 1e6, 1e-9);
    ck_assert_int_eq(u->gps->fix_time_ms, net.fix_time_ms);
    ck_assert(u->gps->has_speed_mps);
    ck_assert_double_eq_tol(u->gps->speed_mps, 54.3 / 3.6, 1e-4);
    ck_assert(u->gps->has_heading_deg);
    ck_assert_double_eq_tol(u->gps->heading_deg, 90, 1e-6);
    ck_assert(u->gps->has_satellites);
    ck_assert_uint_eq(u->gps->satellites, 9);
    goldline__uplink__free_unpacked(u, NULL);
    net.fixes++;
    if (net.step == S_WAIT_FIX) {
        jt808_server_get_stats(net.srv, &net.st);
        net_finish();
    }
}

static void on_deadline(uv_timer_t *t)
{
    ck_abort_msg("round trip did not complete: step %d fixes %d", net.step, net.fixes);
}

static void on_registered_cb(void *ctx, const char *phone_key, const char *vehicle_id)
{
    ck_assert_str_eq(phone_key, "13511221122");
    ck_assert_str_eq(vehicle_id, VEHICLE);
    net.registered_cb++;
}

START_TEST(test_terminal_over_tcp)
{
    memset(&net, 0, sizeof net);
    snprintf(net.dir, sizeof net.dir, "/tmp/gl-jt808-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(net.dir));
    /* The gateway's log goes to a file so that the lines per burst can be counted. */
    snprintf(net.log_path, sizeof net.log_path, "%s/log", net.dir);
    int fd = open(net.log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    int saved_stderr = dup(2);
    dup2(fd, 2);
    close(fd);

    char up[128], down[128];
    snprintf(up, sizeof up, "ipc://%s/up", net.dir);
    snprintf(down, sizeof down, "ipc://%s/down", net.dir);
    ck_assert_int_eq(uv_loop_init(&net.loop), 0);
    ck_assert_int_eq(nnuv_open(&net.loop, NNUV_PULL, &net.pull), 0);
    ck_assert_int_eq(nnuv_bind(net.pull, up), 0);
    ck_assert_int_eq(nnuv_start_recv(net.pull, on_pull, NULL), 0);
    unit_link_config_t lc = {up, down, {0}, 100};
    ck_assert_int_eq(unit_link_new(&net.loop, &lc, &net.link), 0);

    jt808_server_config_t sc = {"127.0.0.1", 0, 0, 0, 0, 480, on_registered_cb, NULL};
    ck_assert_int_eq(jt808_server_new(&net.loop, &sc, net.link, &net.srv), 0);
    jt808_terminal_t terms[3] = {
        {"13511221122", VEHICLE, CODE},
        {"000013800000001", "JT-2", "other"},
        {"not-a-phone", "JT-3", "x"}, /* skipped */
    };
    ck_assert_int_eq(jt808_server_set_terminals(net.srv, terms, 3), 2);
    ck_assert_int_eq(jt808_server_port(net.srv), -1);
    ck_assert_int_eq(jt808_server_listen(net.srv), 0);
    int port = jt808_server_port(net.srv);
    ck_assert_int_gt(port, 0);

    net.fix_time_ms = (gl_now_ms() / 1000 - 5) * 1000;
    jt808_stream_init(&net.stream);
    struct sockaddr_in addr;
    ck_assert_int_eq(uv_ip4_addr("127.0.0.1", port, &addr), 0);
    uv_tcp_init(&net.loop, &net.client);
    ck_assert_int_eq(
        uv_tcp_connect(&net.connect_req, &net.client, (struct sockaddr *)&addr, client_on_connect),
        0);
    uv_timer_init(&net.loop, &net.deadline);
    uv_timer_start(&net.deadline, on_deadline, 10000, 0);

    ck_assert_int_eq(uv_run(&net.loop, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(net.step, S_DONE);
    ck_assert_int_eq(net.closed, 3);
    ck_assert_int_eq(net.fixes, 1);
    ck_assert_int_eq(net.registered_cb, 1);
    ck_assert_int_eq(uv_loop_close(&net.loop), 0);
    ck_assert_uint_eq(net.st.accepted, 1);
    ck_assert_uint_eq(net.st.malformed, 4); /* garbage, check code, truncated, escape */
    ck_assert_uint_eq(net.st.register_refused, 1);
    ck_assert_uint_eq(net.st.registered, 1);
    ck_assert_uint_eq(net.st.auth_refused, 1);
    ck_assert_uint_eq(net.st.authenticated, 1);
    ck_assert_uint_eq(net.st.unauthenticated, 1);
    ck_assert_uint_eq(net.st.no_fix, 1); /* the latitude of 116 degrees */
    ck_assert_uint_eq(net.st.fixes, 1);

    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    FILE *lf = fopen(net.log_path, "r");
    ck_assert_ptr_nonnull(lf);
    char line[1024];
    int malformed_lines = 0, refused_reg = 0, refused_auth = 0;
    while (fgets(line, sizeof line, lf)) {
        fputs(line, stderr);
        malformed_lines += strstr(line, "malformed") != NULL;
        refused_reg += strstr(line, "registration refused: not provisioned") != NULL;
        refused_auth += strstr(line, "authentication refused: wrong code") != NULL;
    }
    fclose(lf);
    ck_assert_int_eq(malformed_lines, 1); /* one line for the whole burst */
    ck_assert_int_eq(refused_reg, 1);
    ck_assert_int_eq(refused_auth, 1);
    unlink(net.log_path);
    char path[128];
    snprintf(path, sizeof path, "%s/up", net.dir);
    unlink(path);
    rmdir(net.dir);
}
END_TEST

static Suite *jt808_suite(void)
{
    Suite *s = suite_create("jt808");
    TCase *data = tcase_create("Frames");
    tcase_set_timeout(data, 60);
    tcase_add_test(data, test_frames_tsv);
    suite_add_tcase(s, data);
    TCase *core = tcase_create("Core");
    tcase_set_timeout(core, 60);
    tcase_add_test(core, test_escape_round_trip);
    tcase_add_test(core, test_header_round_trip);
    tcase_add_test(core, test_bcd_time);
    tcase_add_test(core, test_bodies_round_trip);
    suite_add_tcase(s, core);
    TCase *errors = tcase_create("Errors");
    tcase_add_test(errors, test_bad_frames_are_refused);
    tcase_add_test(errors, test_stream_garbage_oversize_escape);
    suite_add_tcase(s, errors);
    TCase *sock = tcase_create("Socket");
    tcase_set_timeout(sock, 20);
    tcase_add_test(sock, test_terminal_over_tcp);
    suite_add_tcase(s, sock);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(jt808_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
