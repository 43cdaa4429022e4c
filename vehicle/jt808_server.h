/*
 * The JT/T 808 gateway: a TCP server on a libuv loop that lets the GPS terminals Chinese
 * ambulances already carry report into goldline. Each provisioned terminal (phone number →
 * vehicle id + authentication code, jt808_server_set_terminals) becomes one unit of a
 * unit_link, and every position it reports (0x0200, each position of a 0x0704) goes to the
 * dispatcher as a GpsFix through that unit's session, with the session's seqs, queue and resends.
 *
 * Per connection (explicit state machine, conn_state below in the .c):
 *   NEW     -- 0x0100 register: known phone → 0x8100 result 0 + the terminal's auth code;
 *              unknown phone → 0x8100 result 4 (no such terminal in the database).
 *           -- 0x0102 authenticate: known phone and the right code → 0x8001 result 0, AUTHED
 *              (a terminal that registered once may authenticate directly on later connects);
 *              otherwise 0x8001 result 1 (failure).
 *           -- anything else → 0x8001 result 1: authenticate first.
 *   AUTHED  -- 0x0200 / 0x0704 → GpsFix(es) and 0x8001 result 0 (result 2 if the body is
 *              malformed); 0x0002 heartbeat → 0x8001 result 0; 0x0003 logout → result 0, NEW;
 *              a message carrying another phone number than the one authenticated → result 1.
 *   any     -- unknown message ids → 0x8001 result 3 (not supported), as do encrypted bodies;
 *              0x0001 (terminal general response) is taken silently.
 * Subpackets are reassembled in order (each packet acknowledged), bounded by
 * JT808_SERVER_REASSEMBLY_MAX; a packet out of order drops the partial message (result 2).
 *
 * A position is forwarded only when it can be one: the "positioned" status bit set, a valid
 * time, |lat| <= 90 and |lon| <= 180 (it is acknowledged either way: the terminal must not
 * resend what we cannot use). Speed comes from the base field (0.1 km/h), heading from the
 * direction, altitude, satellites from item 0x31. Times are read in the zone `tz_offset_min`
 * (UTC+8 per the standard; some terminals send UTC: set 0).
 *
 * Malformed input (bad check code, truncated or oversized frames, bad escapes, garbage between
 * frames) never closes the connection: it is counted and logged once per burst per connection
 * (then at most once per 10 s). Buffers are bounded: one message (JT808_MSG_MAX) of stream
 * reassembly and one reassembled subpacket message per connection, at most `max_pending_writes`
 * unsent replies (a terminal that does not read is disconnected), and `max_conns` connections.
 * Connections silent for `idle_ms` are closed (terminals heartbeat every 60 s by default).
 */
#ifndef GL_JT808_SERVER_H
#define GL_JT808_SERVER_H

#include "jt808_codec.h"
#include "unit_link.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define JT808_SERVER_PORT 7808
#define JT808_SERVER_HOST "127.0.0.1"
#define JT808_SERVER_REASSEMBLY_MAX 16384

typedef struct jt808_server jt808_server_t;

/* One provisioned terminal (a row of jt808_terminals). */
typedef struct jt808_terminal {
    char phone[JT808_PHONE_MAX]; /* any form; compared by jt808_phone_key() */
    char vehicle_id[UNIT_ID_MAX];
    char auth_code[JT808_AUTH_MAX];
} jt808_terminal_t;

/* Called after a successful registration (so that the caller can record registered_at). The
 * strings are borrowed for the call. */
typedef void (*jt808_on_registered)(void *ctx, const char *phone_key, const char *vehicle_id);

typedef struct jt808_server_config {
    const char *host;                  /* NULL: JT808_SERVER_HOST; a numeric IPv4 or IPv6 address */
    int port;                          /* 0: pick a free port (tests; see jt808_server_port) */
    size_t max_conns;                  /* 0: 1024 */
    uint64_t idle_ms;                  /* 0: 180000 */
    unsigned max_pending_writes;       /* 0: 64 */
    int tz_offset_min;                 /* zone of the terminals' BCD times, minutes east of UTC */
    jt808_on_registered on_registered; /* may be NULL */
    void *ctx;
} jt808_server_config_t;

typedef struct jt808_server_stats {
    uint64_t accepted;         /* connections accepted */
    uint64_t refused_conns;    /* connections closed at once: max_conns reached */
    uint64_t frames;           /* messages decoded */
    uint64_t malformed;        /* frames or bodies refused (any fault) */
    uint64_t registered;       /* 0x8100 result 0 sent */
    uint64_t register_refused; /* 0x8100 result != 0 sent */
    uint64_t authenticated;
    uint64_t auth_refused;
    uint64_t unauthenticated; /* messages refused before authentication */
    uint64_t fixes;           /* GpsFixes handed to a unit session */
    uint64_t no_fix;          /* positions acknowledged but not forwarded (see above) */
    uint64_t unsupported;     /* messages answered with result 3 */
    size_t conns;             /* open connections now */
} jt808_server_stats_t;

/*
 * Creates the server on `loop`; it sends fixes through `link` (borrowed: it must outlive the
 * server; units are added to it on a terminal's first authentication). Not listening yet:
 * load the terminals, then call jt808_server_listen(). `cfg` is copied (the host too).
 * Returns 0 and the server in *out, GL_EINVAL or GL_ENOMEM.
 */
int jt808_server_new(uv_loop_t *loop, const jt808_server_config_t *cfg, unit_link_t *link,
                     jt808_server_t **out);

/*
 * Replaces the table of provisioned terminals with a copy of `t[0..n)`. Connections already
 * authenticated stay so (their vehicle does not change until they reconnect). Rows with a bad
 * phone, an empty vehicle id or an empty auth code are skipped and logged. Returns the rows
 * kept (>= 0) or GL_ENOMEM (the old table is kept).
 */
int jt808_server_set_terminals(jt808_server_t *s, const jt808_terminal_t *t, size_t n);

/* Binds and listens. Returns 0, or a UV_E* code (logged), e.g. UV_EADDRINUSE. */
int jt808_server_listen(jt808_server_t *s);

/* The bound port (useful with port 0), or -1 when not listening. */
int jt808_server_port(const jt808_server_t *s);

void jt808_server_get_stats(const jt808_server_t *s, jt808_server_stats_t *out);

/*
 * Closes the listener, every connection and the timer; `cb` (may be NULL) runs once all memory
 * is released. The link is left alone. NULL is a no-op.
 */
void jt808_server_close(jt808_server_t *s, void (*cb)(void *ctx), void *ctx);

#endif
