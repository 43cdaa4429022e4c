/*
 * The units' side of the dispatcher: the nanomsg uplink (PULL) and downlink (PUB), decoding and
 * encoding the protobuf envelopes of proto/goldline.proto.
 *
 * Every uplink message is checked before the core sees it: a sealed one must open with the key
 * of the vehicle it names (common/seal.h), a plain one is taken only from a unit without a key
 * and while unsealed units are allowed; it must unpack, carry a known vehicle id, a seq above what was already processed (a resend is only re-acknowledged) and a body. What
 * fails is counted by reason and logged once per burst; the loop goes on.
 */
#ifndef GL_BUS_H
#define GL_BUS_H

#include "dispatch.h"

#include <uv.h>

typedef struct bus bus_t;

/* Reasons an uplink message is refused. XX(NAME, text) */
#define BUS_REJECT_MAP(XX)                                                                        \
    XX(MALFORMED, "malformed")                                                                    \
    XX(NO_BODY, "no_body")                                                                        \
    XX(UNKNOWN_VEHICLE, "unknown_vehicle")                                                        \
    XX(DUPLICATE, "duplicate")                                                                    \
    XX(FORGED, "forged")       /* sealed with a wrong key, tampered, or for another vehicle */  \
    XX(UNSEALED, "unsealed")   /* plain from a unit that has a key (or none allowed) */

typedef enum bus_reject {
#define XX(name, text) BUS_REJECT_##name,
    BUS_REJECT_MAP(XX)
#undef XX
    BUS_REJECT_COUNT
} bus_reject_t;

const char *bus_reject_name(bus_reject_t r);

typedef struct bus_stats {
    unsigned long long received;
    unsigned long long rejected[BUS_REJECT_COUNT];
    unsigned long long downlink_sent, downlink_dropped;
} bus_stats_t;

/*
 * Opens the uplink (binds `uplink_url`, PULL) and the downlink (binds `downlink_url`, PUB) on
 * `loop` and starts receiving into `d`. Returns 0 and *out, or GL_EIO (logged) / GL_ENOMEM.
 */
int bus_open(uv_loop_t *loop, const char *uplink_url, const char *downlink_url, dispatch_t *d,
             int allow_unsealed, bus_t **out);

/*
 * Handles one uplink message as received (exposed so tests and benchmarks can drive it without
 * sockets). `now_ms` is the dispatcher's clock.
 */
void bus_handle_uplink(bus_t *b, const void *buf, size_t len, int64_t now_ms);

/* Encodes and publishes a downlink message to unit `v` (a dispatch hook). */
void bus_send_downlink(bus_t *b, const vehicle_t *v, const downlink_msg_t *m,
                       const incident_t *inc);

/* Publishes Ack{up_to_seq = v->durable_seq} to unit `v` (a dispatch hook). */
void bus_send_ack(bus_t *b, const vehicle_t *v);

void bus_get_stats(const bus_t *b, bus_stats_t *out);

/* Closes both sockets; `cb` runs when everything is released (may be NULL). */
void bus_close(bus_t *b, void (*cb)(void *ctx), void *ctx);

#endif
