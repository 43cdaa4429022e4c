/*
 * A gpsd client: positions from the gpsd daemon that most Linux GNSS set-ups already run
 * (it owns the receiver, speaks its binary protocols, and serves JSON on TCP port 2947).
 *
 * On connecting, the client sends ?WATCH={"enable":true,"json":true} and then reads one JSON
 * object a line. TPV ("time-position-velocity") objects with a fix become nmea_fix_t values (the
 * same struct the NMEA parser gives, so the agent treats both alike); every other class (VERSION,
 * DEVICES, WATCH, SKY, ...) is counted and ignored. A TPV is a fix when its mode is 2 (2D) or
 * 3 (3D) and it carries time, lat and lon; mode 0/1 ("no fix") or a missing field is refused
 * and counted, so a receiver that lost its fix sends nothing rather than a stale position.
 * gpsd's "alt" (older versions) or "altMSL" (3.20 and later) gives the altitude, "speed" (m/s)
 * and "track" (degrees true) the motion.
 *
 * When the connection fails or the daemon closes it, the client reconnects after a backoff
 * that starts at backoff_min_ms and doubles up to backoff_max_ms, back to the minimum once a
 * connection has delivered a line. Lines longer than GPSD_LINE_MAX (SKY objects of receivers
 * with many channels are the longest) are skipped whole and counted as malformed.
 */
#ifndef GL_GPSD_CLIENT_H
#define GL_GPSD_CLIENT_H

#include "nmea.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define GPSD_DEFAULT_PORT 2947
#define GPSD_LINE_MAX 16384

/* gpsd's watch request, as sent on every (re)connection. */
#define GPSD_WATCH_REQUEST "?WATCH={\"enable\":true,\"json\":true}\n"

/*
 * Parses one gpsd JSON object (`len` bytes, need not be NUL-terminated). Returns 0 with *out
 * filled for a TPV with a fix; GL_EAGAIN for a well-formed object of another class;
 * GL_ENOENT for a TPV without a fix (mode < 2, or no time, lat or lon); GL_EPROTO for text that
 * is not a JSON object, has no class, or has fields of the wrong type or out of range.
 */
int gpsd_parse_tpv(const char *json, size_t len, nmea_fix_t *out);

/*
 * Parses "HOST[:PORT]" ("" = localhost:2947; HOST is an IPv4 address, "[v6]" or "localhost")
 * into a socket address. Returns 0 or GL_EINVAL.
 */
int gpsd_parse_address(const char *text, struct sockaddr_storage *out);

typedef struct gpsd_client_config {
    const char *address;    /* "HOST[:PORT]", see gpsd_parse_address */
    int64_t backoff_min_ms; /* first reconnect delay (0: 1000) */
    int64_t backoff_max_ms; /* its cap (0: 30000) */
} gpsd_client_config_t;

typedef struct gpsd_client_stats {
    uint64_t connects;    /* connections established */
    uint64_t failures;    /* connection attempts refused or failed */
    uint64_t disconnects; /* established connections lost */
    uint64_t fixes;       /* TPVs with a fix handed to the callback */
    uint64_t no_fix;      /* TPVs refused as "no fix" */
    uint64_t ignored;     /* objects of other classes */
    uint64_t malformed;   /* lines that did not parse, or too long */
} gpsd_client_stats_t;

typedef void (*gpsd_on_fix)(const nmea_fix_t *fix, void *ctx);

typedef struct gpsd_client gpsd_client_t;

/*
 * Starts connecting to gpsd on `loop`; `on_fix` (with `ctx`) gets every fix, borrowed for the
 * call. Returns 0 and the client in *out, GL_EINVAL (bad address) or GL_ENOMEM. Connection
 * errors are not failures: they are logged once per outage and retried.
 */
int gpsd_client_new(uv_loop_t *loop, const gpsd_client_config_t *cfg, gpsd_on_fix on_fix, void *ctx,
                    gpsd_client_t **out);

void gpsd_client_get_stats(const gpsd_client_t *c, gpsd_client_stats_t *out);

/* Closes the connection and timer; `cb` (may be NULL) runs once the client is freed. NULL is a
 * no-op. */
void gpsd_client_close(gpsd_client_t *c, void (*cb)(void *ctx), void *ctx);

#endif
