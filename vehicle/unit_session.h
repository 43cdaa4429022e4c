/*
 * One ambulance unit's side of the wire protocol, without any socket.
 *
 * A session owns everything per unit that the protocol needs: the uplink seq (strictly
 * increasing from the first seq given, 1 for a unit with no history), the queue of envelopes the
 * dispatcher has not acknowledged (uplink_queue.h) and their resend schedule, and the record of
 * which downlink seqs were already handled. It talks to the outside world only through a send
 * function and a clock (unit_session_io_t), so tests drive it with fake ones and the socket code
 * in unit_link.c stays a thin multiplexer.
 *
 * Protocol decisions (proto/goldline.proto has the messages):
 *  - GpsFix and StatusChange envelopes are queued and resent with the same bytes (same seq and
 *    sent_at) until a downlink Ack{up_to_seq} covers them. An envelope is sent again when it
 *    has waited resend_ms since its last transmission; each further resend of the same envelope
 *    doubles its wait, up to resend_max_ms, so a dispatcher that is down is not flooded, and at
 *    most resend_batch envelopes (the oldest due) go per tick.
 *  - An uplink Ack (acknowledging downlink seqs) takes a seq too, but is never queued: if it is
 *    lost the dispatcher repeats its Assignment/Cancel and the repeat is acknowledged again.
 *  - Assignment and Cancel are handed to the order callback once per downlink seq; a repeat is
 *    only acknowledged again. The uplink Ack carries the highest Assignment/Cancel seq received.
 *    A 64-seq window also lets a late repeat of a seq below the highest one through, once; a
 *    seq further below means the dispatcher's seqs started over (a restart that lost them), and
 *    the window restarts from it rather than ignoring its orders for ever.
 *    Downlink Acks are idempotent and not acknowledged; bodies this unit does not know (a newer
 *    dispatcher: protobuf-c keeps them as unknown fields) are ignored and not acknowledged, while
 *    an envelope with no body at all is malformed (a message truncated after its header).
 *  - A downlink message whose topic and envelope vehicle_id disagree, that does not unpack, or
 *    whose fields are out of bounds is counted as malformed and logged once per burst; it never
 *    changes the session.
 *  - Sealing (common/seal.h): a session given a key seals every uplink envelope (GpsFix,
 *    StatusChange, VitalsNumerics, EcgFrame and its Acks) and accepts only sealed downlink
 *    messages that open with its key; one that does not authenticate is counted as forged and
 *    logged once per burst. What is queued, spooled and resent is the sealed bytes. A session
 *    without a key sends and accepts plain envelopes only, so it talks only to a dispatcher
 *    that allows unsealed units.
 *  - Replay: a replayed sealed message opens (seal.h), and the seq check here refuses it: a
 *    replayed Assignment/Cancel is a repeat of a seq already handled (acknowledged again, never
 *    handed on), and one too old for the 64-seq window counts as the dispatcher starting its
 *    seqs over only when its sent_at is later than the newest order's; otherwise it is counted
 *    as replayed and dropped. A replayed downlink Ack is harmless (Acks are cumulative).
 *  - Spool (spool.h): with a spool path the queue lives on disk and survives a restart; the
 *    session continues at the spool's next seq (or first_seq for a brand-new spool, whichever
 *    is higher), persists the seqs its unqueued Acks use, and resends what was restored at its
 *    first tick. Without one, the in-memory uplink_queue is used (the fleet simulator's hundreds
 *    of units).
 *  - Reconnection: the first downlink Ack after a silence of resend_ms (the link is back) makes
 *    everything still unacknowledged due at once, and every resend round sends the newest due
 *    GPS fix first (the dispatcher's live position), then the rest (status changes, vitals, ECG
 *    and older fixes) in seq order.
 *  - A dispatcher Ack above every seq this session sent means an earlier run (or a lost spool)
 *    used those seqs: the session jumps its next seq above it so that what follows is not taken
 *    for resends.
 */
#ifndef GL_UNIT_SESSION_H
#define GL_UNIT_SESSION_H

#include "goldline.pb-c.h"
#include "seal.h"
#include "spool.h"

#include <stddef.h>
#include <stdint.h>

#define UNIT_ID_MAX 32       /* vehicle id, including the NUL */
#define UNIT_INCIDENT_MAX 32 /* incident id, including the NUL */

/* XX(NAME, wire value = proto VehicleStatus, text) */
#define UNIT_STATUS_MAP(XX)                                                                       \
    XX(AVAILABLE, 1, "available")                                                                 \
    XX(DISPATCHED, 2, "dispatched")                                                               \
    XX(EN_ROUTE, 3, "en_route")                                                                   \
    XX(ON_SCENE, 4, "on_scene")                                                                   \
    XX(TRANSPORTING, 5, "transporting")                                                           \
    XX(AT_HOSPITAL, 6, "at_hospital")                                                             \
    XX(RETURNING, 7, "returning")                                                                 \
    XX(OUT_OF_SERVICE, 8, "out_of_service")

typedef enum unit_status {
    UNIT_STATUS_UNKNOWN = 0,
#define XX(name, value, text) UNIT_STATUS_##name = value,
    UNIT_STATUS_MAP(XX)
#undef XX
} unit_status_t;

/* "en_route" etc.; "unknown" for anything else. */
const char *unit_status_name(unit_status_t st);

/* A position fix to send. Optional floats are NaN when not reported, satellites < 0 likewise. */
typedef struct unit_fix {
    double lat, lon;       /* WGS-84 degrees */
    int64_t fix_time_ms;   /* receiver time of the fix */
    float speed_mps;       /* ground speed, NaN if unknown */
    float heading_deg;     /* course over ground, NaN if unknown */
    float hdop;            /* NaN if unknown */
    float alt_m;           /* NaN if unknown */
    int satellites;        /* -1 if unknown */
} unit_fix_t;

/* Fills a fix with "nothing optional reported". */
void unit_fix_init(unit_fix_t *f, double lat, double lon, int64_t fix_time_ms);

typedef enum unit_order_kind {
    UNIT_ORDER_ASSIGN,
    UNIT_ORDER_CANCEL,
    UNIT_ORDER_DESTINATION,                /* where to take the patient */
} unit_order_kind_t;

/* An Assignment, Cancel or Destination from the dispatcher, decoded into plain C. */
typedef struct unit_order {
    unit_order_kind_t kind;
    uint64_t seq;                          /* the downlink seq it came with */
    char incident_id[UNIT_INCIDENT_MAX];
    /* ASSIGN only */
    double lat, lon;                       /* the scene */
    char complaint[16];                    /* chest_pain | stroke | ... */
    unsigned priority;                     /* 1 (most urgent) .. 4 */
    int64_t assigned_at_ms;
    const char *address;                   /* borrowed; NULL if none. Patient data: never log */
    /* CANCEL and DESTINATION */
    const char *reason;                    /* borrowed; NULL if none */
    /* DESTINATION only (lat, lon above are the hospital's) */
    char hospital_id[40];
    const char *hospital_name;             /* borrowed; NULL if none */
} unit_order_t;

/* "assignment", "cancel", "destination". */
const char *unit_order_kind_name(unit_order_kind_t k);

typedef struct unit_session unit_session_t;

/* Called once per new Assignment/Cancel/Destination; `order` and its strings are borrowed for
 * the call. */
typedef void (*unit_on_order)(unit_session_t *s, const unit_order_t *order, void *ctx);

typedef struct unit_session_io {
    /* Transmits one packed Uplink envelope (a copy is taken). Returns 0 or a GL_E* code. */
    int (*send)(void *ctx, const void *buf, size_t len);
    int64_t (*now_ms)(void *ctx); /* wall clock, ms since the epoch */
    void *ctx;
} unit_session_io_t;

typedef struct unit_session_limits {
    size_t queue_max;      /* unacknowledged envelopes kept (default 512) */
    int64_t resend_ms;     /* wait for an Ack before the first resend (default 3000) */
    int64_t resend_max_ms; /* cap of the doubling wait (default 30000) */
    unsigned resend_batch; /* envelopes resent per tick at most (default 32) */
} unit_session_limits_t;

#define UNIT_QUEUE_MAX_DEFAULT 512
#define UNIT_RESEND_MS_DEFAULT 3000
#define UNIT_RESEND_MAX_MS_DEFAULT 30000
#define UNIT_RESEND_BATCH_DEFAULT 32

typedef struct unit_session_stats {
    uint64_t sent;          /* GpsFix/StatusChange envelopes sent the first time */
    uint64_t resent;        /* resends of queued envelopes */
    uint64_t acked;         /* queued envelopes dropped because an Ack covered them */
    uint64_t dropped;       /* queued envelopes dropped unacknowledged (queue full) */
    uint64_t send_errors;   /* the socket refused a send (the envelope stays queued) */
    uint64_t acks_sent;     /* uplink Acks sent */
    uint64_t orders;        /* Assignments/Cancels handed to the callback */
    uint64_t duplicates;    /* repeated Assignments/Cancels, acknowledged again */
    uint64_t malformed;     /* downlink messages refused */
    uint64_t ignored;       /* downlink bodies this unit does not know */
    uint64_t forged;        /* sealed downlink messages that did not authenticate */
    uint64_t replayed;      /* old downlink orders refused by the seq/sent_at check */
    uint64_t spool_errors;  /* spool writes that failed (the envelope stays in memory) */
    uint64_t reconnects;    /* first Acks after a silence (resend rounds started at once) */
    size_t queued;          /* envelopes waiting for an Ack now */
} unit_session_stats_t;

/* Options of a unit session beyond its id; zero everything for an unsealed in-memory unit. */
typedef struct unit_session_opts {
    uint64_t first_seq;            /* seq of the first envelope (no spool or a new one); 0: 1 */
    const unit_session_limits_t *limits; /* NULL: the defaults */
    const seal_key_t *key;         /* NULL: unsealed; copied */
    const char *spool_path;        /* NULL: the in-memory queue; copied */
    spool_opts_t spool;            /* bound and sync of the spool; zero: the defaults */
} unit_session_opts_t;

#define UNIT_ENVELOPE_MAX (1u << 20) /* packed envelope bound (nanomsg's default receive max) */

/*
 * Creates the session of vehicle `id` (1..UNIT_ID_MAX-1 characters, no NUL inside). `first_seq`
 * (>= 1) is the seq of the first uplink envelope. `limits` may be NULL for the defaults (a zero
 * field also means its default). `io` is copied; `on_order` (may be NULL) and `ctx` get the
 * orders. Returns 0 and the session in *out, GL_EINVAL or GL_ENOMEM.
 */
int unit_session_new(const char *id, uint64_t first_seq, const unit_session_limits_t *limits,
                     const unit_session_io_t *io, unit_on_order on_order, void *ctx,
                     unit_session_t **out);

/*
 * Creates a session with options (see unit_session_opts_t): as unit_session_new(), and when
 * opts->spool_path is set opens (or creates) that spool and continues its seqs. Returns also
 * GL_EPROTO, GL_EACCES, GL_ENOENT or GL_EIO from spool_open() (logged with the path).
 */
int unit_session_new_opts(const char *id, const unit_session_opts_t *opts,
                          const unit_session_io_t *io, unit_on_order on_order, void *ctx,
                          unit_session_t **out);

/* Frees the session and whatever it still had queued. NULL is a no-op. */
void unit_session_free(unit_session_t *s);

const char *unit_session_id(const unit_session_t *s);

/* The seq the next uplink envelope will get. */
uint64_t unit_session_next_seq(const unit_session_t *s);

/* The highest Assignment/Cancel downlink seq received (what the next uplink Ack carries). */
uint64_t unit_session_downlink_seq(const unit_session_t *s);

/*
 * Sends a GpsFix / StatusChange envelope with the next seq and sent_at = now, and queues it
 * until acknowledged. `incident_id` may be NULL or "". A socket that refuses the send does not
 * fail the call (the envelope is queued and resent; counted in send_errors). Returns 0,
 * GL_EINVAL (bad coordinates, unknown status, incident id too long), GL_ENOSPC (a spool full of
 * status changes: sent once, not kept) or GL_ENOMEM.
 */
int unit_session_send_fix(unit_session_t *s, const unit_fix_t *fix);
int unit_session_send_status(unit_session_t *s, unit_status_t st, const char *incident_id,
                             int64_t at_ms);

/*
 * Sends a VitalsNumerics / EcgFrame envelope through the same path (next seq, sealed when the
 * session has a key, queued or spooled until acknowledged, resent). `v` / `ecg` are borrowed and
 * packed as they are. Checks: at least one numeric; an ECG frame with at least one lead, as many
 * names as codes (or none), a sample rate, and lead count x samples_per_lead samples. Returns 0,
 * GL_EINVAL (those checks, or an envelope above UNIT_ENVELOPE_MAX), GL_ENOSPC (a spool full of
 * status changes: sent once, not kept) or GL_ENOMEM.
 */
int unit_session_send_vitals(unit_session_t *s, const Goldline__VitalsNumerics *v);
int unit_session_send_ecg(unit_session_t *s, const Goldline__EcgFrame *ecg);

/* 1 when the session seals its envelopes, 0 when it is unsealed. */
int unit_session_sealed(const unit_session_t *s);

/*
 * Handles one downlink nanomsg message (topic "<id>\0" then a Downlink envelope; `buf` is
 * borrowed; for a sealed session the envelope is sealed, seal.h). Returns 0 when it was acted
 * on, GL_EDUP for a repeated or replayed Assignment/Cancel (not handed on; a repeat within the
 * window is acknowledged again), GL_EPROTO when it was malformed or addressed to another
 * vehicle, or GL_EACCES when it did not authenticate with the session's key (each counted,
 * logged once per burst).
 */
int unit_session_on_downlink(unit_session_t *s, const void *buf, size_t len);

/* Resends whatever is due at the io clock's now (see above). Call it about twice a second. */
void unit_session_tick(unit_session_t *s);

void unit_session_get_stats(const unit_session_t *s, unit_session_stats_t *out);

/*
 * Finds the topic of a downlink message: sets *topic to buf and *topic_len to the bytes before
 * the first NUL. Returns 0, or GL_EPROTO when there is no NUL, the topic is empty or longer
 * than UNIT_ID_MAX - 1.
 */
int unit_downlink_topic(const void *buf, size_t len, const char **topic, size_t *topic_len);

#endif
