/*
 * The unit side of the wire, on a libuv loop: one NN_PUSH socket connected to the dispatcher's
 * uplink URL and one NN_SUB socket connected to its downlink URL, shared by any number of units.
 *
 * The in-ambulance agent carries one unit, the fleet simulator hundreds; both use the same link.
 * Each unit is a unit_session_t (unit_session.h: seqs, resend queue, downlink de-duplication)
 * whose sends go out through the shared PUSH socket; the SUB socket holds one subscription per
 * unit ("<id>\0") and the link routes each downlink message to its unit by topic. A timer ticks
 * every session twice a second so that unacknowledged envelopes are resent.
 *
 * Send through the session: unit_session_send_fix(u, ...), unit_session_send_status(u, ...),
 * unit_session_send_vitals(u, ...), unit_session_send_ecg(u, ...). Units added with
 * unit_link_add_unit() keep their queue in memory and are unsealed (the fleet simulator);
 * unit_link_add_unit_opts() gives a unit an on-disk spool and/or a key.
 */
#ifndef GL_UNIT_LINK_H
#define GL_UNIT_LINK_H

#include "unit_session.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define UNIT_LINK_UPLINK_URL "tcp://127.0.0.1:7401"
#define UNIT_LINK_DOWNLINK_URL "tcp://127.0.0.1:7402"
#define UNIT_LINK_TICK_MS 500

typedef struct unit_link unit_link_t;

typedef struct unit_link_config {
    const char *uplink_url;       /* NULL: UNIT_LINK_UPLINK_URL */
    const char *downlink_url;     /* NULL: UNIT_LINK_DOWNLINK_URL */
    unit_session_limits_t limits; /* per unit; zero fields take the defaults */
    uint64_t tick_ms;             /* resend check period; 0: UNIT_LINK_TICK_MS */
} unit_link_config_t;

typedef struct unit_link_stats {
    unit_session_stats_t units;   /* the sum over every unit */
    uint64_t unroutable;          /* downlink messages with no topic or for no unit of ours */
    size_t units_count;
    size_t socket_queued;         /* envelopes waiting in the PUSH socket's own queue */
} unit_link_stats_t;

/*
 * Opens both sockets on `loop`, connects them (nanomsg connects in the background and reconnects
 * by itself, so a dispatcher that is not up yet is not an error) and starts the resend timer.
 * `cfg` is copied (the URLs too). Returns 0 and the link in *out, GL_EINVAL, GL_ENOMEM or GL_EIO
 * (a socket or URL refused; logged). Release with unit_link_close().
 */
int unit_link_new(uv_loop_t *loop, const unit_link_config_t *cfg, unit_link_t **out);

/*
 * Adds an unsealed unit `id` with an in-memory queue (see unit_session_new for the id rules and
 * `first_seq`) and subscribes to its
 * topic. Its orders go to `on_order(session, order, ctx)`. The session belongs to the link: it is
 * valid until unit_link_close() and must not be freed by the caller. Returns 0 and the session in
 * *out (may be NULL), GL_EEXIST (id already added), GL_EINVAL, GL_ENOMEM or GL_EIO.
 */
int unit_link_add_unit(unit_link_t *l, const char *id, uint64_t first_seq, unit_on_order on_order,
                       void *ctx, unit_session_t **out);

/*
 * Adds unit `id` with options (unit_session.h: first seq, key, spool path and bounds); the
 * link's limits apply when opts->limits is NULL. A unit with a spool path continues its seqs
 * from the spool and resends what it restored; a unit with a key seals its uplink and accepts
 * only downlink messages sealed with that key. Returns as unit_link_add_unit(), and the spool's
 * errors (GL_EPROTO, GL_EACCES, GL_ENOENT, GL_EIO; logged with the path).
 */
int unit_link_add_unit_opts(unit_link_t *l, const char *id, const unit_session_opts_t *opts,
                            unit_on_order on_order, void *ctx, unit_session_t **out);

/* The unit with this id, or NULL. */
unit_session_t *unit_link_find(const unit_link_t *l, const char *id);

void unit_link_get_stats(const unit_link_t *l, unit_link_stats_t *out);

/*
 * Closes the sockets (anything not sent is dropped: the sessions' queues are the durable copy
 * there is) and the timer and frees every session; `cb` (may be NULL) runs once everything is
 * released. Safe to call from an order callback. NULL is a no-op.
 */
void unit_link_close(unit_link_t *l, void (*cb)(void *ctx), void *ctx);

#endif
