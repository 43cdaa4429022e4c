/*
 * JT/T 808 framing, header and bodies (see jt808_codec.h for the layout and the decisions).
 * Every read is bounds-checked against the length in hand; nothing here trusts a length field
 * before comparing it with the bytes actually present.
 */
#include "jt808_codec.h"

#include "err.h"

#include <string.h>

#define FAIL(f)                                                                                    \
    do {                                                                                           \
        if (fault)                                                                                 \
            *fault = JT808_FAULT_##f;                                                              \
        return GL_EPROTO;                                                                          \
    } while (0)

const char *jt808_fault_text(jt808_fault_t f)
{
    switch (f) {
#define XX(name, text)                                                                             \
    case JT808_FAULT_##name:                                                                       \
        return text;
        JT808_FAULT_MAP(XX)
#undef XX
    }
    return "unknown fault";
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint8_t *put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

uint8_t jt808_xor(const uint8_t *p, size_t n)
{
    uint8_t x = 0;
    for (size_t i = 0; i < n; i++)
        x ^= p[i];
    return x;
}

/* ---------------------------------------------------------------- escaping */

size_t jt808_escape(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    size_t o = 0;
    if (cap < 2)
        return 0;
    out[o++] = JT808_FLAG;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == JT808_FLAG || in[i] == JT808_ESC) {
            if (o + 2 > cap - 1)
                return 0;
            out[o++] = JT808_ESC;
            out[o++] = in[i] == JT808_FLAG ? 0x02 : 0x01;
        } else {
            if (o + 1 > cap - 1)
                return 0;
            out[o++] = in[i];
        }
    }
    out[o++] = JT808_FLAG;
    return o;
}

long jt808_unescape(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == JT808_FLAG)
            return -1;
        if (in[i] != JT808_ESC) {
            out[o++] = in[i];
            continue;
        }
        if (i + 1 >= n || (in[i + 1] != 0x01 && in[i + 1] != 0x02))
            return -1;
        out[o++] = in[i + 1] == 0x01 ? JT808_ESC : JT808_FLAG;
        i++;
    }
    return (long)o;
}

/* ---------------------------------------------------------------- header */

static void bcd_to_text(const uint8_t *p, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Writes `phone` right-aligned into `n` BCD bytes, zero-padded on the left. */
static int text_to_bcd(const char *phone, uint8_t *p, size_t n)
{
    size_t len = strlen(phone);
    if (len == 0 || len > 2 * n)
        return GL_EINVAL;
    memset(p, 0, n);
    for (size_t i = 0; i < len; i++) {
        int v = hexval(phone[len - 1 - i]);
        if (v < 0)
            return GL_EINVAL;
        size_t byte = n - 1 - i / 2;
        p[byte] |= (uint8_t)(i % 2 ? v << 4 : v);
    }
    return 0;
}

int jt808_phone_key(const char *phone, char out[JT808_PHONE_MAX])
{
    size_t len = strlen(phone);
    if (len == 0 || len > JT808_PHONE_MAX - 1)
        return GL_EINVAL;
    for (size_t i = 0; i < len; i++)
        if (hexval(phone[i]) < 0)
            return GL_EINVAL;
    size_t start = 0;
    while (start + 1 < len && phone[start] == '0')
        start++;
    size_t o = 0;
    for (size_t i = start; i < len; i++) {
        char c = phone[i];
        out[o++] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    out[o] = '\0';
    return 0;
}

static size_t header_len(jt808_version_t v, int subpacket)
{
    return (v == JT808_V2019 ? 17u : 12u) + (subpacket ? 4u : 0u);
}

int jt808_decode(const uint8_t *buf, size_t n, jt808_msg_t *m, jt808_fault_t *fault)
{
    memset(m, 0, sizeof *m);
    if (n < 12 + 1)
        FAIL(SHORT);
    jt808_header_t *h = &m->h;
    uint16_t props = get16(buf + 2);
    h->msg_id = get16(buf);
    h->body_len = props & 0x3ff;
    h->encryption = (uint8_t)((props >> 10) & 7);
    h->subpacket = (uint8_t)((props >> 13) & 1);
    h->version_flag = (uint8_t)((props >> 14) & 1);
    h->reserved = (uint8_t)(props >> 15);
    /* The layout is the one whose header length makes the frame add up (see the .h). */
    if (h->version_flag && header_len(JT808_V2019, h->subpacket) + h->body_len + 1 == n)
        h->version = JT808_V2019;
    else if (header_len(JT808_V2013, h->subpacket) + h->body_len + 1 == n)
        h->version = JT808_V2013;
    else if (n < header_len(h->version_flag ? JT808_V2019 : JT808_V2013, h->subpacket) + 1)
        FAIL(SHORT);
    else
        FAIL(LENGTH);
    if (jt808_xor(buf, n - 1) != buf[n - 1])
        FAIL(CHECK);
    const uint8_t *p = buf + 4;
    if (h->version == JT808_V2019) {
        h->proto_version = *p++;
        bcd_to_text(p, 10, h->phone);
        p += 10;
    } else {
        bcd_to_text(p, 6, h->phone);
        p += 6;
    }
    h->serial = get16(p);
    p += 2;
    if (h->subpacket) {
        h->pkt_total = get16(p);
        h->pkt_index = get16(p + 2);
        p += 4;
    }
    m->body = p;
    m->body_len = h->body_len;
    if (fault)
        *fault = JT808_FAULT_NONE;
    return 0;
}

int jt808_encode(const jt808_header_t *h, const uint8_t *body, size_t body_len, uint8_t *out,
                 size_t cap, size_t *outlen)
{
    uint8_t msg[JT808_MSG_MAX];
    if (body_len > JT808_BODY_MAX || h->encryption > 7)
        return GL_EINVAL;
    uint16_t props =
        (uint16_t)(body_len | (unsigned)h->encryption << 10 | (h->subpacket ? 1u << 13 : 0) |
                   (h->version_flag ? 1u << 14 : 0) | (h->reserved ? 1u << 15 : 0));
    uint8_t *p = put16(msg, h->msg_id);
    p = put16(p, props);
    if (h->version == JT808_V2019) {
        *p++ = h->proto_version;
        if (text_to_bcd(h->phone, p, 10) < 0)
            return GL_EINVAL;
        p += 10;
    } else {
        if (text_to_bcd(h->phone, p, 6) < 0)
            return GL_EINVAL;
        p += 6;
    }
    p = put16(p, h->serial);
    if (h->subpacket) {
        p = put16(p, h->pkt_total);
        p = put16(p, h->pkt_index);
    }
    if (body_len)
        memcpy(p, body, body_len);
    p += body_len;
    *p = jt808_xor(msg, (size_t)(p - msg));
    p++;
    size_t n = jt808_escape(msg, (size_t)(p - msg), out, cap);
    if (n == 0)
        return GL_ENOSPC;
    *outlen = n;
    return 0;
}

void jt808_header_reply(jt808_header_t *h, const jt808_header_t *like, uint16_t msg_id,
                        uint16_t serial)
{
    memset(h, 0, sizeof *h);
    h->msg_id = msg_id;
    h->serial = serial;
    h->version = like->version;
    h->version_flag = like->version == JT808_V2019 ? 1 : like->version_flag;
    h->proto_version = like->proto_version;
    memcpy(h->phone, like->phone, sizeof h->phone);
    h->phone[JT808_PHONE_MAX - 1] = '\0';
}

/* ---------------------------------------------------------------- stream */

void jt808_stream_init(jt808_stream_t *s)
{
    memset(s, 0, sizeof *s);
}

/* A flag ends the current run: report it, then start a fresh frame. */
static int end_run(jt808_stream_t *s, jt808_on_frame cb, void *ctx)
{
    int stop = 0;
    if (!s->synced) {
        if (s->dropped)
            stop = cb(ctx, NULL, s->dropped, JT808_FAULT_GARBAGE);
        s->synced = 1;
    } else if (s->oversize) {
        stop = cb(ctx, NULL, s->dropped, JT808_FAULT_OVERSIZE);
    } else if (s->bad_escape || s->esc) {
        stop = cb(ctx, NULL, s->len + s->dropped, JT808_FAULT_ESCAPE);
    } else if (s->len > 0) {
        stop = cb(ctx, s->buf, s->len, JT808_FAULT_NONE);
    }
    s->len = s->dropped = 0;
    s->esc = s->bad_escape = s->oversize = 0;
    return stop;
}

size_t jt808_stream_feed(jt808_stream_t *s, const uint8_t *p, size_t n, jt808_on_frame cb,
                         void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == JT808_FLAG) {
            if (end_run(s, cb, ctx))
                return i + 1;
            continue;
        }
        if (!s->synced || s->oversize) {
            s->dropped++;
            continue;
        }
        if (s->esc) {
            s->esc = 0;
            if (c == 0x01)
                c = JT808_ESC;
            else if (c == 0x02)
                c = JT808_FLAG;
            else {
                s->bad_escape = 1;
                s->dropped++;
                continue;
            }
        } else if (c == JT808_ESC) {
            s->esc = 1;
            continue;
        }
        if (s->len == sizeof s->buf) {
            s->oversize = 1;
            s->dropped = s->len + 1;
            s->len = 0;
            continue;
        }
        s->buf[s->len++] = c;
    }
    return n;
}

/* ---------------------------------------------------------------- time */

static int bcd2(uint8_t b)
{
    if ((b >> 4) > 9 || (b & 15) > 9)
        return -1;
    return (b >> 4) * 10 + (b & 15);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

int jt808_bcd_time_to_ms(const uint8_t bcd[6], int offset_min, int64_t *ms)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int v[6];
    int zero = 1;
    for (int i = 0; i < 6; i++) {
        if ((v[i] = bcd2(bcd[i])) < 0)
            return GL_EPROTO;
        zero &= bcd[i] == 0;
    }
    if (zero) {
        *ms = 0;
        return 1;
    }
    int y = 2000 + v[0], mo = v[1], d = v[2];
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || v[3] > 23 || v[4] > 59 || v[5] > 59)
        return GL_EPROTO;
    if (mo == 2 && d == 29 && (y % 4 != 0 || (y % 100 == 0 && y % 400 != 0)))
        return GL_EPROTO;
    int64_t s = days_from_civil(y, mo, d) * 86400 + v[3] * 3600 + v[4] * 60 + v[5];
    *ms = (s - (int64_t)offset_min * 60) * 1000;
    return 0;
}

int jt808_ms_to_bcd_time(int64_t ms, int offset_min, uint8_t bcd[6])
{
    int64_t s = ms / 1000 - (ms % 1000 < 0) + (int64_t)offset_min * 60;
    int64_t days = s / 86400 - (s % 86400 < 0);
    int64_t sod = s - days * 86400;
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 2000 || y > 2099)
        return GL_ERANGE;
    int v[6] = {y - 2000, m, d, (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60)};
    for (int i = 0; i < 6; i++)
        bcd[i] = (uint8_t)((v[i] / 10) << 4 | (v[i] % 10));
    return 0;
}

/* ---------------------------------------------------------------- 0x0200 location */

#define LOC_BASE 28

int jt808_parse_location(const uint8_t *body, size_t len, jt808_location_t *loc,
                         jt808_fault_t *fault)
{
    memset(loc, 0, sizeof *loc);
    if (len < LOC_BASE)
        FAIL(BODY);
    loc->alarm = get32(body);
    loc->status = get32(body + 4);
    uint32_t lat = get32(body + 8), lon = get32(body + 12);
    /* 1e-6 degree fits in 28 bits; a larger word is refused rather than wrapped. */
    if (lat > INT32_MAX || lon > INT32_MAX)
        FAIL(BODY);
    loc->lat_1e6 = (loc->status & JT808_STATUS_SOUTH) ? -(int32_t)lat : (int32_t)lat;
    loc->lon_1e6 = (loc->status & JT808_STATUS_WEST) ? -(int32_t)lon : (int32_t)lon;
    loc->alt_m = get16(body + 16);
    loc->speed_01kmh = get16(body + 18);
    loc->direction = get16(body + 20);
    memcpy(loc->time_bcd, body + 22, 6);
    int rc = jt808_bcd_time_to_ms(loc->time_bcd, JT808_TZ_OFFSET_MIN, &loc->time_ms);
    if (rc < 0)
        FAIL(TIME);
    loc->time_valid = rc == 0;
    const uint8_t *p = body + LOC_BASE, *end = body + len;
    while (p < end) {
        if (end - p < 2 || end - p - 2 < p[1])
            FAIL(ITEM);
        uint8_t id = p[0], n = p[1];
        const uint8_t *v = p + 2;
        if (loc->n_items < JT808_LOC_ITEMS_MAX)
            loc->item_ids[loc->n_items] = id;
        loc->n_items++;
        switch (id) {
        case 0x01:
            if (n == 4) {
                loc->mileage_01km = get32(v);
                loc->have |= JT808_LOC_MILEAGE;
            }
            break;
        case 0x02:
            if (n == 2) {
                loc->fuel_01l = get16(v);
                loc->have |= JT808_LOC_FUEL;
            }
            break;
        case 0x03:
            if (n == 2) {
                loc->tacho_01kmh = get16(v);
                loc->have |= JT808_LOC_TACHO;
            }
            break;
        case 0x25:
            if (n == 4) {
                loc->ext_status = get32(v);
                loc->have |= JT808_LOC_EXT_STATUS;
            }
            break;
        case 0x2A:
            if (n == 2) {
                loc->io_status = get16(v);
                loc->have |= JT808_LOC_IO;
            }
            break;
        case 0x30:
            if (n == 1) {
                loc->rssi = v[0];
                loc->have |= JT808_LOC_RSSI;
            }
            break;
        case 0x31:
            if (n == 1) {
                loc->sats = v[0];
                loc->have |= JT808_LOC_SATS;
            }
            break;
        default:
            break;
        }
        p = v + n;
    }
    return 0;
}

size_t jt808_build_location(const jt808_location_t *loc, uint8_t *out, size_t cap)
{
    uint8_t tmp[LOC_BASE + 6 + 4 + 3 + 3];
    uint32_t status = loc->status & ~(JT808_STATUS_SOUTH | JT808_STATUS_WEST);
    if (loc->lat_1e6 < 0)
        status |= JT808_STATUS_SOUTH;
    if (loc->lon_1e6 < 0)
        status |= JT808_STATUS_WEST;
    uint8_t *p = put32(tmp, loc->alarm);
    p = put32(p, status);
    p = put32(p, (uint32_t)(loc->lat_1e6 < 0 ? -(int64_t)loc->lat_1e6 : loc->lat_1e6));
    p = put32(p, (uint32_t)(loc->lon_1e6 < 0 ? -(int64_t)loc->lon_1e6 : loc->lon_1e6));
    p = put16(p, loc->alt_m);
    p = put16(p, loc->speed_01kmh);
    p = put16(p, loc->direction);
    memcpy(p, loc->time_bcd, 6);
    p += 6;
    if (loc->have & JT808_LOC_MILEAGE) {
        *p++ = 0x01;
        *p++ = 4;
        p = put32(p, loc->mileage_01km);
    }
    if (loc->have & JT808_LOC_TACHO) {
        *p++ = 0x03;
        *p++ = 2;
        p = put16(p, loc->tacho_01kmh);
    }
    if (loc->have & JT808_LOC_RSSI) {
        *p++ = 0x30;
        *p++ = 1;
        *p++ = loc->rssi;
    }
    if (loc->have & JT808_LOC_SATS) {
        *p++ = 0x31;
        *p++ = 1;
        *p++ = loc->sats;
    }
    size_t n = (size_t)(p - tmp);
    if (n > cap)
        return 0;
    memcpy(out, tmp, n);
    return n;
}

/* ---------------------------------------------------------------- 0x0704 batch */

int jt808_batch_begin(jt808_batch_t *b, const uint8_t *body, size_t len, jt808_fault_t *fault)
{
    memset(b, 0, sizeof *b);
    if (len < 3)
        FAIL(BODY);
    b->count = get16(body);
    b->type = body[2];
    b->p = body + 3;
    b->end = body + len;
    return 0;
}

int jt808_batch_next(jt808_batch_t *b, jt808_location_t *loc, jt808_fault_t *fault)
{
    if (b->done == b->count) {
        if (b->p != b->end)
            FAIL(COUNT);
        return 0;
    }
    if (b->end - b->p < 2)
        FAIL(COUNT);
    size_t n = get16(b->p);
    if ((size_t)(b->end - b->p - 2) < n)
        FAIL(COUNT);
    int rc = jt808_parse_location(b->p + 2, n, loc, fault);
    if (rc < 0)
        return rc;
    b->p += 2 + n;
    b->done++;
    return 1;
}

/* ---------------------------------------------------------------- 0x0100 registration */

/* Copies a fixed-width text field, dropping trailing NULs and spaces. `out` holds n + 1. */
static void fixed_text(const uint8_t *p, size_t n, char *out)
{
    memcpy(out, p, n);
    out[n] = '\0';
    size_t len = strnlen(out, n);
    while (len > 0 && (out[len - 1] == ' ' || out[len - 1] == '\0'))
        len--;
    out[len] = '\0';
}

int jt808_parse_register(const uint8_t *body, size_t len, jt808_version_t v, jt808_register_t *r,
                         jt808_fault_t *fault)
{
    memset(r, 0, sizeof *r);
    size_t maker_n, model_n, id_n;
    if (v == JT808_V2019) {
        r->layout = 2019;
        maker_n = 11, model_n = 30, id_n = 30;
    } else if (len < 37) {
        r->layout = 2011;
        maker_n = 5, model_n = 8, id_n = 7;
    } else {
        r->layout = 2013;
        maker_n = 5, model_n = 20, id_n = 7;
    }
    size_t fixed = 4 + maker_n + model_n + id_n + 1;
    if (len < fixed)
        FAIL(BODY);
    const uint8_t *p = body;
    r->province = get16(p);
    r->city = get16(p + 2);
    p += 4;
    fixed_text(p, maker_n, r->maker);
    p += maker_n;
    fixed_text(p, model_n, r->model);
    p += model_n;
    fixed_text(p, id_n, r->terminal_id);
    p += id_n;
    r->plate_color = *p++;
    size_t plate = len - fixed;
    r->plate_len = plate < sizeof r->plate - 1 ? plate : sizeof r->plate - 1;
    memcpy(r->plate, p, r->plate_len);
    r->plate[r->plate_len] = '\0';
    return 0;
}

static uint8_t *put_fixed(uint8_t *p, const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    memset(p, 0, n);
    memcpy(p, s, len);
    return p + n;
}

size_t jt808_build_register(const jt808_register_t *r, jt808_version_t v, uint8_t *out, size_t cap)
{
    size_t maker_n = v == JT808_V2019 ? 11 : 5, model_n = v == JT808_V2019 ? 30 : 20,
           id_n = v == JT808_V2019 ? 30 : 7;
    size_t plate = strnlen((const char *)r->plate, sizeof r->plate);
    size_t n = 4 + maker_n + model_n + id_n + 1 + plate;
    if (n > cap)
        return 0;
    uint8_t *p = put16(out, r->province);
    p = put16(p, r->city);
    p = put_fixed(p, r->maker, maker_n);
    p = put_fixed(p, r->model, model_n);
    p = put_fixed(p, r->terminal_id, id_n);
    *p++ = r->plate_color;
    memcpy(p, r->plate, plate);
    return n;
}

/* ---------------------------------------------------------------- 0x0102 authentication */

/* Copies `n` bytes of a code into a C string; refuses a NUL inside or an overlong code. */
static int take_code(const uint8_t *p, size_t n, char out[JT808_AUTH_MAX])
{
    if (n >= JT808_AUTH_MAX || memchr(p, 0, n))
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

int jt808_parse_auth(const uint8_t *body, size_t len, jt808_version_t v, jt808_auth_t *a,
                     jt808_fault_t *fault)
{
    memset(a, 0, sizeof *a);
    if (v == JT808_V2013) {
        if (len == 0 || take_code(body, len, a->code) < 0)
            FAIL(BODY);
        return 0;
    }
    if (len < 1 || body[0] == 0 || len != 1u + body[0] + 15 + 20 ||
        take_code(body + 1, body[0], a->code) < 0)
        FAIL(BODY);
    fixed_text(body + 1 + body[0], 15, a->imei);
    fixed_text(body + 1 + body[0] + 15, 20, a->sw_version);
    return 0;
}

size_t jt808_build_auth(const jt808_auth_t *a, jt808_version_t v, uint8_t *out, size_t cap)
{
    size_t code = strnlen(a->code, JT808_AUTH_MAX);
    if (code == 0 || code >= JT808_AUTH_MAX)
        return 0;
    if (v == JT808_V2013) {
        if (code > cap)
            return 0;
        memcpy(out, a->code, code);
        return code;
    }
    size_t n = 1 + code + 15 + 20;
    if (n > cap)
        return 0;
    out[0] = (uint8_t)code;
    memcpy(out + 1, a->code, code);
    uint8_t *p = put_fixed(out + 1 + code, a->imei, 15);
    put_fixed(p, a->sw_version, 20);
    return n;
}

/* ---------------------------------------------------------------- platform replies */

int jt808_parse_platform_ack(const uint8_t *body, size_t len, jt808_platform_ack_t *a,
                             jt808_fault_t *fault)
{
    if (len != 5)
        FAIL(BODY);
    a->ack_serial = get16(body);
    a->ack_msg_id = get16(body + 2);
    a->result = body[4];
    return 0;
}

size_t jt808_build_platform_ack(const jt808_platform_ack_t *a, uint8_t *out, size_t cap)
{
    if (cap < 5)
        return 0;
    uint8_t *p = put16(out, a->ack_serial);
    p = put16(p, a->ack_msg_id);
    *p = a->result;
    return 5;
}

int jt808_parse_register_reply(const uint8_t *body, size_t len, jt808_register_reply_t *r,
                               jt808_fault_t *fault)
{
    memset(r, 0, sizeof *r);
    if (len < 3)
        FAIL(BODY);
    r->ack_serial = get16(body);
    r->result = body[2];
    if (r->result == JT808_REG_OK && (len == 3 || take_code(body + 3, len - 3, r->auth_code) < 0))
        FAIL(BODY);
    return 0;
}

size_t jt808_build_register_reply(const jt808_register_reply_t *r, uint8_t *out, size_t cap)
{
    size_t code = r->result == JT808_REG_OK ? strnlen(r->auth_code, JT808_AUTH_MAX) : 0;
    if (code >= JT808_AUTH_MAX || 3 + code > cap)
        return 0;
    uint8_t *p = put16(out, r->ack_serial);
    *p++ = r->result;
    memcpy(p, r->auth_code, code);
    return 3 + code;
}
