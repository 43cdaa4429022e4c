/*
 * What waits to be written to one websocket client, and what is given up when it does not keep
 * up. Two kinds of message share one ordered queue:
 *
 *  - text (JSON replies and pushed events: incidents, numerics, alerts, arrivals) is never
 *    dropped; when a client lets OUTQ text messages pile up beyond text_max it is too far behind
 *    to be served, and the caller closes it (it reconnects and starts from the current state);
 *  - waveform frames (binary ECG) are bounded by wave_max: when one more arrives, the oldest
 *    queued frame is dropped and replaced by a gap marker saying which samples of which patient
 *    this client will not see. Consecutive drops of the same stream merge into one marker.
 *
 * So a stalled ED screen costs a bounded amount of memory and never slows the loop or the other
 * clients. A frame going to many clients is one reference-counted buffer with the headroom
 * libwebsockets writes its frame header into (OUTQ_PRE), not one copy per client.
 */
#ifndef GL_OUTQ_H
#define GL_OUTQ_H

#include <stddef.h>
#include <stdint.h>

/* Headroom before every payload; equals LWS_PRE (checked where libwebsockets is included). */
#define OUTQ_PRE 16

/* A message body, shared by the queues it is in. */
typedef struct outq_buf {
    unsigned refs;
    size_t len;                 /* payload bytes */
    unsigned char data[];       /* OUTQ_PRE bytes of headroom, then the payload */
} outq_buf_t;

/* A new buffer of `len` payload bytes (uninitialised; copied from `payload` when non-NULL),
 * one reference. NULL on out of memory. */
outq_buf_t *outq_buf_new(const void *payload, size_t len);
static inline unsigned char *outq_buf_payload(outq_buf_t *b) { return b->data + OUTQ_PRE; }
outq_buf_t *outq_buf_ref(outq_buf_t *b);
void outq_buf_unref(outq_buf_t *b);    /* NULL is fine */

/* Which samples a waveform frame carries: enough to describe it when it is dropped. */
typedef struct outq_wave_id {
    char incident[40];
    char vehicle[32];
    uint64_t first_index;       /* first sample's index in the unit's stream */
    int64_t first_ms;           /* its time */
    uint32_t samples;           /* per lead */
} outq_wave_id_t;

typedef enum outq_kind { OUTQ_TEXT, OUTQ_WAVE, OUTQ_GAP } outq_kind_t;

typedef struct outq_item {
    struct outq_item *next;
    outq_kind_t kind;
    outq_buf_t *buf;            /* TEXT and WAVE; NULL for GAP */
    outq_wave_id_t wave;        /* WAVE: the frame; GAP: the first dropped sample and the count */
} outq_item_t;

typedef struct outq_counters {
    unsigned long long texts_sent;
    unsigned long long frames_sent;
    unsigned long long frames_dropped;  /* replaced by gap markers */
    unsigned long long gaps_sent;
} outq_counters_t;

typedef struct outq {
    outq_item_t *head, *tail;
    size_t texts, waves, gaps;  /* queued now */
    size_t bytes;               /* payload bytes queued now */
    size_t text_max, wave_max;
    outq_counters_t count;
} outq_t;

void outq_init(outq_t *q, size_t text_max, size_t wave_max);
/* Drops everything queued (the client is gone). */
void outq_clear(outq_t *q);

/* Queues a text message (takes a new reference to `b`). Returns 0, GL_ENOSPC when text_max
 * messages are already waiting (the client must be closed), or GL_ENOMEM. */
int outq_push_text(outq_t *q, outq_buf_t *b);

/* Queues a waveform frame (takes a new reference to `b`), first dropping the oldest queued
 * frame into a gap marker when wave_max are waiting. Returns 0 or GL_ENOMEM. */
int outq_push_wave(outq_t *q, outq_buf_t *b, const outq_wave_id_t *id);

/* Withdraws every queued frame and gap marker of `incident` (its stream left this client: the
 * patient now goes elsewhere); counted as dropped. Text stays. Returns how many went. */
size_t outq_drop_stream(outq_t *q, const char *incident);

/* The next message to write, or NULL. */
static inline const outq_item_t *outq_peek(const outq_t *q) { return q->head; }
/* Removes the head after it was written, and counts it as sent. */
void outq_pop(outq_t *q);

#endif
