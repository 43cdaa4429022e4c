/*
 * A timed stream of vitals: turns a source (a WFDB record replayed in real time, or the
 * physiological generator) into the wire messages of proto/goldline.proto, VitalsNumerics and
 * EcgFrame, paced by a clock value the caller passes in. Pure logic: no timer, no socket, no
 * log, so tests drive it with a simulated clock and the agent and the fleet simulator drive it
 * from their own timers.
 *
 * ECG. The stream starts at `start_ms` with sample 0. Frame k holds samples
 * [k * S, (k + 1) * S) of every lead, S = fs * frame_ms / 1000 (50 for 100 ms at 500 Hz), with
 * first_sample_index = k * S and first_sample_ms = start_ms + k * frame_ms; it is due once the
 * clock reaches the end of the frame (start_ms + (k + 1) * frame_ms), i.e. it is sent the moment
 * its last sample has "happened". Samples are delta coded per lead as the proto says (the first
 * value is the sample, every next one the difference to the previous sample of that lead).
 * A WFDB record is resampled to fs by wfdb_replay (band-limited, see wfdb.h) and loops at its
 * end without a seam in the index. A clock that jumps far ahead (a suspended process, a stalled
 * loop: more than max_lag_ms behind) does not make the stream catch up in one burst: the samples
 * in between are read and dropped, first_sample_index jumps by their number (a receiver sees the
 * gap), and `skipped` counts them. At most max_frames_per_poll frames come out of one poll.
 *
 * Numerics. Every numerics_ms (1 s) of the clock the generator is stepped and a VitalsNumerics
 * is emitted with the numerics measured since the previous message (each with its own
 * measured_at_ms: NIBP only after a cuff cycle, temperature once a minute; the first message
 * carries them all). A WFDB record carries no numerics: with a WFDB source they come from the
 * generator too (its HR baseline set from the record's mean RR is not attempted; the default
 * patient is used), which the README states.
 *
 * Incident. Every message carries the incident id set with vitals_stream_set_incident() (none
 * when it is empty).
 */
#ifndef GL_VITALS_STREAM_H
#define GL_VITALS_STREAM_H

#include "goldline.pb-c.h"
#include "vitals_gen.h"
#include "wfdb.h"

#include <stddef.h>
#include <stdint.h>

#define VITALS_STREAM_MAX_LEADS 16
#define VITALS_INCIDENT_MAX 32 /* incident id with its NUL, as unit_session.h */

typedef struct vitals_stream_config {
    unsigned fs;                  /* ECG samples per second per lead (default 500) */
    double uv_per_lsb;            /* microvolts per int16 unit (default 2.5) */
    unsigned frame_ms;            /* ECG frame duration (default 100); fs * frame_ms % 1000 == 0 */
    unsigned numerics_ms;         /* VitalsNumerics period (default 1000) */
    int64_t max_lag_ms;           /* behind more than this: skip, don't catch up (default 10000) */
    unsigned max_frames_per_poll; /* ECG frames emitted by one poll at most (default 50) */
} vitals_stream_config_t;

/* Fills *c with the defaults above. */
void vitals_stream_config_default(vitals_stream_config_t *c);

/* Counters since the stream was created. */
typedef struct vitals_stream_stats {
    uint64_t ecg_frames;    /* EcgFrames emitted */
    uint64_t ecg_samples;   /* samples per lead emitted */
    uint64_t skipped;       /* samples per lead dropped because the clock jumped ahead */
    uint64_t numerics_msgs; /* VitalsNumerics emitted */
} vitals_stream_stats_t;

/*
 * Called for each message; the message and everything it points to is borrowed for the call
 * (pack it or copy it). Return 0 to go on, anything else to stop this poll early (the message
 * counts as emitted).
 */
typedef struct vitals_stream_sink {
    int (*on_ecg)(const Goldline__EcgFrame *f, void *ctx);
    int (*on_numerics)(const Goldline__VitalsNumerics *m, void *ctx);
    void *ctx;
} vitals_stream_sink_t;

typedef struct vitals_stream vitals_stream_t;

/*
 * Creates a stream from the generator with parameters `gp` (copied), starting at `start_ms`.
 * `cfg` may be NULL for the defaults. Returns 0 and the stream in *out, GL_EINVAL (bad
 * configuration) or GL_ENOMEM.
 */
int vitals_stream_new_gen(const vitals_stream_config_t *cfg, const vitals_gen_params_t *gp,
                          int64_t start_ms, vitals_stream_t **out);

/*
 * Creates a stream replaying the WFDB record at `path` ("…/s0010_re" or "…/s0010_re.hea") from
 * its first sample, looping, with the leads vitals_stream_pick_leads() chooses; numerics come
 * from a generator seeded with `seed`. Returns 0 and the stream in *out, or the error of
 * wfdb_record_open (GL_ENOENT, GL_EPROTO, ...), GL_EINVAL (no usable ECG signal, bad
 * configuration) or GL_ENOMEM, with a one-line reason in `err` (may be NULL).
 */
int vitals_stream_new_wfdb(const vitals_stream_config_t *cfg, const char *path, uint64_t seed,
                           int64_t start_ms, vitals_stream_t **out, char *err, size_t errlen);

/* Opens the WFDB record at `path` ("…/s0010_re" or "…/s0010_re.hea"): wfdb_record_open()
 * with the ".hea" added when missing; same returns. */
int vitals_stream_open_record(const char *path, wfdb_record_t **out, char *err, size_t errlen);

/*
 * The same from a record already open (the fleet simulator opens its record once and starts a
 * stream per patient): `rec` is only read during the call and may be freed afterwards.
 * Returns 0, GL_EINVAL (no usable ECG signal, bad configuration) or GL_ENOMEM, with a reason
 * in `err`.
 */
int vitals_stream_new_record(const vitals_stream_config_t *cfg, const wfdb_record_t *rec,
                             uint64_t seed, int64_t start_ms, vitals_stream_t **out, char *err,
                             size_t errlen);

/* Frees a stream; NULL is a no-op. */
void vitals_stream_free(vitals_stream_t *s);

/*
 * The signals of a record a stream sends: those whose name has an MDC_ECG_LEAD_* code (the
 * standard 12 of a PTB record, MLII and V5 of MIT-BIH), in record order, at most
 * VITALS_STREAM_MAX_LEADS; when no signal has a code, every voltage signal (up to the same
 * limit). Writes their indices into `sigs` and returns their number (0: nothing usable).
 */
int vitals_stream_pick_leads(const wfdb_header_t *h, int sigs[VITALS_STREAM_MAX_LEADS]);

/* Sets the incident id the following messages carry ("" or NULL: none). Longer ids than
 * VITALS_INCIDENT_MAX - 1 are refused with GL_EINVAL. */
int vitals_stream_set_incident(vitals_stream_t *s, const char *incident_id);

/*
 * Emits, in time order, every ECG frame and numerics message due at `now_ms` (see the top
 * comment) to `sink`. A clock that went back emits nothing. Returns the number of messages
 * emitted.
 */
int vitals_stream_poll(vitals_stream_t *s, int64_t now_ms, const vitals_stream_sink_t *sink);

/* Number of ECG leads, and samples per lead in a frame. */
int vitals_stream_lead_count(const vitals_stream_t *s);
unsigned vitals_stream_frame_samples(const vitals_stream_t *s);

void vitals_stream_get_stats(const vitals_stream_t *s, vitals_stream_stats_t *out);

/*
 * Delta coding of proto EcgFrame.samples: `n_leads` x `per_lead` int16 samples, lead after
 * lead, into as many int32 deltas (encode) and back (decode). Decode returns 0, or GL_ERANGE
 * when a running value leaves the int16 range (a corrupt frame).
 */
void vitals_ecg_encode(const int16_t *samples, size_t n_leads, size_t per_lead, int32_t *deltas);
int vitals_ecg_decode(const int32_t *deltas, size_t n_leads, size_t per_lead, int16_t *samples);

#endif
