/*
 * The unit's queue of uplink envelopes the dispatcher has not acknowledged yet.
 *
 * Every GpsFix and StatusChange a unit sends is kept here, packed exactly as it went on the wire,
 * until a cumulative Ack{up_to_seq} from the dispatcher covers its seq; the resend logic in
 * unit_session.c walks the queue oldest first and sends due entries again byte for byte, so a
 * resend keeps its seq and sent_at (and, for a sealed unit, its nonce). The queue is bounded by a
 * count: when it is full the oldest GPS fix is dropped first (a newer fix supersedes it), then
 * the oldest ECG frame, then the oldest vitals numerics, and only a queue holding nothing else
 * gives up its oldest status change.
 *
 * This in-memory queue serves the fleet simulator's hundreds of units in one process; a unit
 * that must survive a restart uses the on-disk spool (spool.h), which keeps the same entries
 * with the same verbs and a byte bound.
 */
#ifndef GL_UPLINK_QUEUE_H
#define GL_UPLINK_QUEUE_H

#include <stddef.h>
#include <stdint.h>

/* What an envelope's body is, for the drop policy. The values are stored in spool files. */
typedef enum uplink_kind {
    UPLINK_KIND_GPS = 0,
    UPLINK_KIND_STATUS = 1,
    UPLINK_KIND_VITALS = 2,
    UPLINK_KIND_ECG = 3,
} uplink_kind_t;

typedef struct uplink_entry {
    uint64_t seq;          /* the envelope's seq */
    int64_t sent_at_ms;    /* the envelope's sent_at (first transmission) */
    int64_t last_tx_ms;    /* when it was last handed to the socket */
    unsigned tx_count;     /* transmissions so far (1 after the push) */
    uplink_kind_t kind;    /* what the body is, for the drop policy */
    size_t len;            /* bytes in data */
    unsigned char data[];  /* the packed Uplink envelope */
} uplink_entry_t;

typedef struct uplink_queue {
    uplink_entry_t **e;    /* entries in seq order, e[0] the oldest */
    size_t count;          /* entries held */
    size_t cap;            /* the bound */
} uplink_queue_t;

/* Prepares an empty queue that holds at most `cap` (>= 1) entries. Returns 0 or GL_ENOMEM. */
int uplink_queue_init(uplink_queue_t *q, size_t cap);

/* Frees every entry and the queue's array; the queue may be initialised again afterwards. */
void uplink_queue_close(uplink_queue_t *q);

/*
 * Appends a copy of the packed envelope `buf` (len bytes) with its header values. `seq` must be
 * above every seq already queued. When the queue is full, one entry is dropped first (see the
 * policy above) and its seq is stored in *dropped_seq (may be NULL). On success *out (may be
 * NULL) points at the stored entry, owned by the queue. Returns 0, 1 when an entry was dropped
 * to make room, GL_EINVAL (seq not increasing) or GL_ENOMEM.
 */
int uplink_queue_push(uplink_queue_t *q, uint64_t seq, int64_t sent_at_ms, int64_t now_ms,
                      uplink_kind_t kind, const void *buf, size_t len, uint64_t *dropped_seq,
                      uplink_entry_t **out);

/* Drops every entry with seq <= up_to_seq. Returns how many were dropped. */
size_t uplink_queue_ack(uplink_queue_t *q, uint64_t up_to_seq);

/* Entries held, and the i-th oldest (i < count; borrowed until the next push or ack). */
size_t uplink_queue_count(const uplink_queue_t *q);
uplink_entry_t *uplink_queue_at(const uplink_queue_t *q, size_t i);

#endif
