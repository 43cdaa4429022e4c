/*
 * libFuzzer target for the JT/T 808 codec (vehicle/jt808_codec.c): the stream reassembly fed in
 * chunks whose sizes the input chooses, the header decoder on every frame, every body parser on
 * every body under both layouts, and three invariants that abort when broken:
 *   - a decoded message re-encodes and decodes again to the same header and body;
 *   - escape then unescape gives the input back;
 *   - the stream never hands on more than JT808_MSG_MAX bytes or a frame holding a flag.
 * Built only with clang (-DGL_FUZZ=ON); see tests/fuzz/README.md for the command CI runs.
 */
#include "jt808_codec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_bodies(const uint8_t *body, size_t len, jt808_version_t v)
{
    jt808_fault_t f;
    jt808_location_t loc;
    jt808_register_t reg;
    jt808_auth_t auth;
    jt808_platform_ack_t pa;
    jt808_register_reply_t rr;
    jt808_batch_t b;
    if (jt808_parse_location(body, len, &loc, &f) == 0) {
        uint8_t out[128];
        jt808_location_t back;
        size_t n = jt808_build_location(&loc, out, sizeof out);
        if (n == 0 || jt808_parse_location(out, n, &back, &f) != 0 || back.lat_1e6 != loc.lat_1e6 ||
            back.lon_1e6 != loc.lon_1e6 || back.time_ms != loc.time_ms)
            abort();
    }
    if (jt808_batch_begin(&b, body, len, &f) == 0)
        while (jt808_batch_next(&b, &loc, &f) == 1)
            ;
    jt808_parse_register(body, len, v, &reg, &f);
    if (jt808_parse_auth(body, len, v, &auth, &f) == 0) {
        uint8_t out[128];
        if (jt808_build_auth(&auth, v, out, sizeof out) == 0)
            abort();
    }
    jt808_parse_platform_ack(body, len, &pa, &f);
    if (jt808_parse_register_reply(body, len, &rr, &f) == 0) {
        uint8_t out[3 + JT808_AUTH_MAX];
        if (jt808_build_register_reply(&rr, out, sizeof out) == 0)
            abort();
    }
}

static int on_frame(void *ctx, const uint8_t *msg, size_t len, jt808_fault_t fault)
{
    (void)ctx;
    if (fault != JT808_FAULT_NONE)
        return msg != NULL; /* faults carry no bytes: a stray pointer would be a bug */
    if (len == 0 || len > JT808_MSG_MAX)
        abort();
    jt808_msg_t m, again;
    if (jt808_decode(msg, len, &m, &fault) != 0) {
        /* Still exercise the body parsers on whatever followed a 2013 header. */
        if (len > 12)
            parse_bodies(msg + 12, len - 12, JT808_V2013);
        return 0;
    }
    uint8_t wire[JT808_FRAME_MAX], buf[JT808_MSG_MAX];
    size_t wl;
    if (jt808_encode(&m.h, m.body, m.body_len, wire, sizeof wire, &wl) != 0)
        abort();
    for (size_t i = 1; i + 1 < wl; i++)
        if (wire[i] == JT808_FLAG)
            abort();
    long n = jt808_unescape(wire + 1, wl - 2, buf);
    if (n != (long)len || memcmp(buf, msg, len) != 0)
        abort();
    if (jt808_decode(buf, (size_t)n, &again, &fault) != 0 || again.h.msg_id != m.h.msg_id ||
        again.h.serial != m.h.serial || strcmp(again.h.phone, m.h.phone) != 0 ||
        again.body_len != m.body_len)
        abort();
    parse_bodies(m.body, m.body_len, m.h.version);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    /* The first byte picks the chunk size, so frames are cut at every possible place. */
    size_t chunk = 1 + data[0] % 64;
    data++;
    size--;
    jt808_stream_t st;
    jt808_stream_init(&st);
    for (size_t off = 0; off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        if (jt808_stream_feed(&st, data + off, n, on_frame, NULL) != n)
            abort();
    }
    /* Escaping round trip on the raw input. */
    static uint8_t wire[2 * 65536 + 2], back[65536];
    if (size <= 65536) {
        size_t wl = jt808_escape(data, size, wire, sizeof wire);
        if (wl < size + 2 || jt808_unescape(wire + 1, wl - 2, back) != (long)size ||
            memcmp(back, data, size) != 0)
            abort();
    }
    int64_t ms;
    if (size >= 6)
        jt808_bcd_time_to_ms(data, 480, &ms);
    return 0;
}
