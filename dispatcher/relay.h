/*
 * The live patient streams the receiving emergency department watches: per incident, the
 * latest vital-sign numerics and the last RELAY_BACKLOG_MS of 12-lead ECG, already encoded as
 * the websocket messages of docs/api.md ("Live vitals and ECG"), so that a frame is encoded once
 * however many screens show it and a screen that opens late starts with the last 10 s.
 *
 * Who receives a stream (ED of the destination hospital, supervisors) is decided by ws_vitals.c;
 * this module knows nothing of sessions or sockets and is tested on its own.
 */
#ifndef GL_RELAY_H
#define GL_RELAY_H

#include "dispatch.h"
#include "outq.h"

#include <stddef.h>
#include <stdint.h>

#define RELAY_BACKLOG_MS 10000
#define RELAY_MAX_CODES 24          /* distinct vital-sign codes kept per patient */

/* Binary ECG message layout (docs/api.md). */
#define RELAY_ECG_MAGIC "GLE1"
#define RELAY_ECG_FIXED 44          /* bytes before the incident id */

typedef struct relay relay_t;

relay_t *relay_new(void);
void relay_free(relay_t *r);

/*
 * Encodes one EcgFrame (`frame`: a Goldline__EcgFrame as protobuf-c unpacked it) of `incident`
 * from `vehicle` into the binary message, keeps it in the incident's backlog and returns it in *out (a new
 * reference: the caller unrefs) with what identifies it in *id. Returns 0, GL_EDUP (samples the
 * stream already relayed: a resend), GL_EPROTO (not a well-formed frame: sample or lead count, a
 * sample beyond int16) or GL_ENOMEM.
 */
int relay_ecg(relay_t *r, const char *incident, const char *vehicle, const void *frame,
              int64_t sent_at_ms, outq_buf_t **out, outq_wave_id_t *id);

/*
 * Encodes one envelope of numerics as the "vitals" event (*out, a new reference) and keeps the
 * newest value of each code for screens that open later (relay_backlog gives them all in one
 * event). Returns 0, GL_EDUP (nothing newer than what the stream has: a resend) or GL_ENOMEM.
 */
int relay_numerics(relay_t *r, const char *incident, const char *vehicle,
                   const vital_reading_t *rd, size_t n, outq_buf_t **out);

/* What a session that starts watching `incident` gets first: the newest numerics (id NULL),
 * then the backlog frames oldest first. `fn` must take its own references. */
typedef void (*relay_backlog_fn)(void *ctx, outq_buf_t *b, const outq_wave_id_t *id);
void relay_backlog(const relay_t *r, const char *incident, relay_backlog_fn fn, void *ctx);

/* Frames in the backlog of `incident` (tests, stats). */
size_t relay_backlog_frames(const relay_t *r, const char *incident);

/* Forgets an incident's stream (closed or cancelled). */
void relay_forget(relay_t *r, const char *incident);

size_t relay_stream_count(const relay_t *r);

#endif
