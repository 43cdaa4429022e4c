/*
 * The dispatcher's domain core: the fleet, the incidents, and every operation on them (new call,
 * recommendation, assignment, cancel, what a unit reports), with no socket and no database in
 * sight. The adapters (bus.c for the units, ws.c/api.c for the consoles, db.c for PostGIS) call
 * these verbs and receive what they must pass on through the hooks below.
 *
 * One mutation path. Every state change is written as a journal record — a JSON object
 * {"ops":[...]} of idempotent operations ("incident", "event", "vehicle") — appended to the
 * journal (fsync'd), and only then applied to memory by the same function that replays the
 * journal after a restart (dispatch_apply_record). So what the console is told, what a restart
 * rebuilds and what db.c copies into PostGIS cannot disagree.
 */
#ifndef GL_DISPATCH_H
#define GL_DISPATCH_H

#include "destination.h"
#include "fleet.h"
#include "golden.h"
#include "incident.h"
#include "journal.h"
#include "matching.h"
#include "places.h"
#include "roads.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dispatch dispatch_t;

typedef struct dispatch_params {
    match_params_t match;
    int64_t auto_assign_ms;      /* a priority-1 call with no operator action for this long is
                                    assigned to the best candidate; 0 = never */
    int64_t downlink_resend_ms;  /* unacknowledged Assignment/Cancel are sent again after this */
} dispatch_params_t;

/* One vital-sign reading as a unit sent it (IEEE 11073 code; NaN value = not available). */
typedef struct vital_reading {
    uint32_t mdc_code;
    float value;
    uint32_t unit_code;          /* 0 = implied by the code */
    int64_t measured_ms;
} vital_reading_t;

/* What identifies and orders an ECG frame without decoding its samples. */
typedef struct ecg_meta {
    int64_t first_sample_ms;
    uint64_t first_sample_index; /* 0 when the unit did not number its stream */
    int has_index;
    uint32_t sample_rate_hz;
    uint32_t leads;
    uint32_t samples_per_lead;
    int64_t sent_at_ms;          /* the envelope's sent_at_ms (unit clock) */
    const void *decoded;         /* the frame as bus.c unpacked it (a Goldline__EcgFrame,
                                    checked), for the live relay; NULL when not at hand */
} ecg_meta_t;

/* What the core asks of the outside world. Every hook may be NULL. Pointers are borrowed. */
typedef struct dispatch_hooks {
    /* Send a downlink message (new or repeated) to unit `v`; `inc` is the incident it concerns
     * (NULL if unknown). */
    void (*send_downlink)(void *ctx, const vehicle_t *v, const downlink_msg_t *m,
                          const incident_t *inc);
    /* Tell unit `v` that its uplink up to v->durable_seq is durable. */
    void (*send_ack)(void *ctx, const vehicle_t *v);
    /* A journal record was appended: copy it to the database. */
    void (*record_appended)(void *ctx, uint64_t lsn, const char *payload, size_t len);
    /* A good or late fix to keep in the position history. Returns 0, or non-zero when there is
     * no room for it now (the fix is then deferred: the unit sends it again). */
    int (*position)(void *ctx, const vehicle_t *v, uint64_t seq, double lat, double lon,
                     int64_t fix_ms, int64_t rx_ms, float speed, float heading, float hdop,
                     int late);
    /* Vital-sign readings of one envelope, to keep per incident (`incident` may be ""). Returns
     * 0, or non-zero when there is no room now (deferred, like a position). */
    int (*vitals)(void *ctx, const vehicle_t *v, uint64_t seq, const char *incident,
                  const struct vital_reading *r, size_t n, int64_t rx_ms);
    /* One ECG frame (its protobuf bytes, borrowed) and what indexes it. Same return. */
    int (*ecg)(void *ctx, const vehicle_t *v, uint64_t seq, const char *incident,
               const struct ecg_meta *m, const void *frame, size_t len, int64_t rx_ms);
    /* Something the consoles may want to see. */
    void (*incident_changed)(void *ctx, const incident_t *inc);
    void (*vehicle_changed)(void *ctx, const vehicle_t *v);
    void (*timeline_added)(void *ctx, const incident_t *inc, const incident_event_t *e);
} dispatch_hooks_t;

/* A new call as the operator entered it. */
typedef struct call_input {
    double lat, lon;
    complaint_t complaint;
    int priority;                /* 1..4 */
    int64_t onset_ms;            /* 0 = unknown */
    int64_t ringing_ms;          /* when the phone rang, 0 = unknown (the call answer metric) */
    const char *caller, *address, *notes; /* may be NULL */
    json_t *triage;              /* the structured questions and answers (borrowed), or NULL:
                                    kept in the call_received event */
} call_input_t;

/* A unit's clock further than this from the dispatcher's is not trusted: its timestamps are
 * replaced by the receive time and the event says so. */
#define DISPATCH_MAX_CLOCK_SKEW_MS 120000

/* Counters for the stats API. */
typedef struct dispatch_stats {
    unsigned long long uplink_accepted;
    unsigned long long uplink_duplicate;
    unsigned long long uplink_deferred;    /* no room in the position buffer: sent again later */
    unsigned long long uplink_unknown_vehicle;
    unsigned long long uplink_malformed;   /* counted by the bus, kept here for one place */
    unsigned long long fixes[GPS_VERDICT_COUNT];
    unsigned long long status_refused;
    unsigned long long vitals_received, ecg_frames_received;
    unsigned long long journal_errors;
} dispatch_stats_t;

/*
 * Creates the core. `j` (borrowed, must outlive the core, may be NULL until the journal is
 * open: changes made without one are not durable) is the journal. Returns NULL on out of memory.
 */
dispatch_t *dispatch_new(const dispatch_params_t *p, const dispatch_hooks_t *hooks, void *ctx,
                         journal_t *j);
void dispatch_free(dispatch_t *d);

/* Sets the journal (borrowed) that live changes are appended to; NULL until it is open. */
void dispatch_set_journal(dispatch_t *d, journal_t *j);

/* Sets the gazetteer (ownership taken; NULL for none). */
void dispatch_set_places(dispatch_t *d, places_t *p);
const places_t *dispatch_places(const dispatch_t *d);

/* Sets the hospitals patients may be taken to (copied). Returns 0 or GL_ENOMEM. */
int dispatch_set_hospitals(dispatch_t *d, const hospital_t *h, size_t n);
const hospital_t *dispatch_hospitals(const dispatch_t *d, size_t *n);

/*
 * Someone at a console saw golden-time alert `alert_seq` (the seq of its golden_alert event) of
 * `inc`: recorded as an "alert_ack" event {"alert": seq, "by": who}, once, so every console
 * shows it handled and the review afterwards knows who saw it when. Returns 0, GL_ENOENT (no such
 * alert), GL_EDUP (already acknowledged) or GL_EIO.
 */
int dispatch_ack_alert(dispatch_t *d, incident_t *inc, int alert_seq, const char *by,
                       int64_t now_ms, char *err, size_t errlen);

/*
 * Travel time from one point to another: by road when the graph is loaded and both points are
 * on it (*by_road = 1), else the straight-line estimate (*by_road = 0). Returns 0, or GL_EINVAL
 * for coordinates no estimate can be made for.
 */
int dispatch_travel_s(dispatch_t *d, double lat1, double lon1, double lat2, double lon2,
                      double *out_s, int *by_road);

/*
 * Chooses the destination of `inc` now (destination.h; travel times by road when the scene and
 * the hospital are on the network, else straight line) and records it as a "destination" event
 * ({"hospital","name","reason","eta_s","eta_method"}), and tells the serving unit (Destination
 * downlink). Done automatically when the unit reaches the scene; an operator may ask again (the
 * case changed). Returns 0, GL_ENOENT (no hospital at
 * all; message in err) or GL_EIO.
 */
int dispatch_choose_destination(dispatch_t *d, incident_t *inc, const char *source,
                                int64_t now_ms, char *err, size_t errlen);

/*
 * An operator sends the patient of `inc` to `hospital_id` rather than where the rules would
 * (a phone call with the hospital, the family's wish, a road the graph does not know): recorded
 * as a "destination" event with "override": true, the reason, and what the rules recommend; the
 * crew is told like any destination. A hospital status change does not undo it, unless the
 * hospital goes on diversion then. Returns 0, GL_EINVAL (no reason, or one longer than
 * DISPATCH_OVERRIDE_REASON_MAX), GL_ENOENT (no such hospital),
 * GL_ESTATE (incident closed) or GL_EIO.
 */
#define DISPATCH_OVERRIDE_REASON_MAX 400 /* bytes of the operator's reason */
int dispatch_override_destination(dispatch_t *d, incident_t *inc, const char *hospital_id,
                                  const char *reason, const char *source, int64_t now_ms,
                                  char *err, size_t errlen);

/*
 * Changes a hospital's live status (each of cath_lab_ready, ct_ready, on_diversion: 0, 1, or -1
 * to leave it), journaled. An open incident bound for a hospital that goes on diversion (or
 * loses the readiness its case needs) gets its destination chosen again. Returns 0, GL_ENOENT
 * (no such hospital) or GL_EIO.
 */
int dispatch_hospital_status(dispatch_t *d, const char *hospital_id, int cath_lab_ready,
                             int ct_ready, int on_diversion, const char *source, int64_t now_ms,
                             char *err, size_t errlen);

/* Gives the core the road graph (ownership passes; NULL: straight-line ETAs). */
void dispatch_set_roads(dispatch_t *d, roads_t *roads);

fleet_t *dispatch_fleet(dispatch_t *d);
incident_table_t *dispatch_incidents(dispatch_t *d);
dispatch_stats_t *dispatch_stats(dispatch_t *d);
const dispatch_params_t *dispatch_params(const dispatch_t *d);

/* Sets the golden-time metrics (copied); replaces any set before. Returns 0 or GL_ENOMEM. */
int dispatch_set_metrics(dispatch_t *d, const golden_metric_t *m, size_t n);
const golden_metric_t *dispatch_metrics(const dispatch_t *d, size_t *n);

/*
 * Records a clinical or operational event (golden_event_kinds: first_ecg, door, needle...) on
 * `inc`, at `at_ms` (when it happened; may be earlier than events already recorded), by
 * `source`. `detail` (a JSON object, stolen; may be NULL) goes with it. Returns 0, GL_EINVAL
 * (unknown kind, time in the future; message in err) or GL_EIO.
 */
int dispatch_add_event(dispatch_t *d, incident_t *inc, const char *kind, int64_t at_ms,
                       const char *source, json_t *detail, int64_t now_ms, char *err,
                       size_t errlen);

/* A unit as an administrator provisions it. */
typedef struct vehicle_def {
    const char *id, *call_sign, *kind, *station; /* station, call_sign may be NULL */
    const char *const *caps;
    size_t ncaps;
} vehicle_def_t;

/*
 * Adds a unit to the fleet, or re-keys an existing one: a fresh sealing key is drawn, written
 * to key_hex (SEAL_KEY_HEX_LEN + 1 bytes) for the caller to hand to the unit once, and
 * journaled (and so copied to vehicles.seal_key). From then on the unit must seal everything.
 * Returns 0, GL_EINVAL (message in err) or GL_EIO.
 */
int dispatch_vehicle_define(dispatch_t *d, const vehicle_def_t *def, char *key_hex, char *err,
                            size_t errlen);

/* Tells the core that incident number (day, seq) exists, so new numbers continue above it. */
void dispatch_note_incident_number(dispatch_t *d, int day, int seq);

/*
 * Journal op types of other modules (access.c: "user", "audit"), so their changes take the
 * one mutation path too. dispatch_register_op(): ops whose "t" is `type` are handed to
 * `apply` (op borrowed; NULL: nothing to apply in memory) whenever a record is applied, live or
 * replayed; register before the journal is replayed. Returns 0 or GL_ENOSPC (more than
 * DISPATCH_MAX_OP_TYPES). dispatch_commit_ops() journals `ops` (a JSON array, stolen) as one
 * record and applies it, like the core's own changes: 0, GL_ENOMEM or GL_EIO.
 */
#define DISPATCH_MAX_OP_TYPES 4
int dispatch_register_op(dispatch_t *d, const char *type, int (*apply)(void *ctx, json_t *op),
                         void *ctx);
int dispatch_commit_ops(dispatch_t *d, json_t *ops);

/*
 * Applies one journal record to memory (used by replay after a restart, and by every live
 * change after its append). Returns 0 or GL_EPROTO for a record it cannot read.
 */
int dispatch_apply_record(dispatch_t *d, const char *payload, size_t len);

/*
 * Records a new call: numbers it, journals it with its first event and returns the incident in
 * *out (owned by the core). For a priority-1 call the automatic assignment is armed.
 * Returns 0, GL_EINVAL (message in err) or GL_EIO (the journal failed: nothing was recorded).
 */
int dispatch_call_new(dispatch_t *d, const call_input_t *in, int64_t now_ms, incident_t **out,
                      char *err, size_t errlen);

/* The ranked candidates for `inc` now; returns how many were written to `out`. */
int dispatch_candidates(dispatch_t *d, const incident_t *inc, int64_t now_ms, candidate_t *out);

/*
 * Assigns unit `vehicle_id` to `inc` (source "operator" or "dispatcher"; `automatic` marks an
 * auto-assignment). The unit must be available and capable, and the incident still before the
 * scene; a previously assigned unit is stood down with a Cancel. Returns 0, GL_ENOENT (no such
 * unit), GL_EUNAVAILABLE, GL_ECAPABILITY, GL_ESTATE (message in err) or GL_EIO.
 */
int dispatch_assign(dispatch_t *d, incident_t *inc, const char *vehicle_id, const char *source,
                    int automatic, int64_t now_ms, char *err, size_t errlen);

/* Cancels an open incident; its unit, if any, is told and becomes available. */
int dispatch_cancel(dispatch_t *d, incident_t *inc, const char *reason, const char *source,
                    int64_t now_ms, char *err, size_t errlen);

/*
 * The uplink, one call per envelope, in arrival order. dispatch_uplink_begin() checks the
 * vehicle and the sequence number: GL_ENOENT for an unknown vehicle, GL_EDUP for a seq already
 * processed (a resend: the caller re-acknowledges it), else 0 with the vehicle in *out. The
 * caller then hands the body to one of the dispatch_uplink_* verbs, which mark the seq
 * processed whatever the verdict on the body.
 */
int dispatch_uplink_begin(dispatch_t *d, const char *vehicle_id, uint64_t seq, int is_fix,
                          vehicle_t **out);
gps_verdict_t dispatch_uplink_fix(dispatch_t *d, vehicle_t *v, uint64_t seq, double lat,
                                  double lon, int64_t fix_ms, float speed, float heading,
                                  float hdop, int64_t now_ms);
int dispatch_uplink_status(dispatch_t *d, vehicle_t *v, uint64_t seq, vehicle_status_t st,
                           const char *incident_id, int64_t at_ms, int64_t now_ms);
void dispatch_uplink_ack(dispatch_t *d, vehicle_t *v, uint64_t seq, uint64_t up_to);
/* Vitals and ECG (already validated by the bus): kept for the incident named, or else the one
 * the unit serves. Return 0, or GL_EAGAIN when deferred (no room in the write buffer). */
int dispatch_uplink_vitals(dispatch_t *d, vehicle_t *v, uint64_t seq, const char *incident_id,
                           const vital_reading_t *r, size_t n, int64_t now_ms);
int dispatch_uplink_ecg(dispatch_t *d, vehicle_t *v, uint64_t seq, const char *incident_id,
                        const ecg_meta_t *m, const void *frame, size_t len, int64_t now_ms);

/*
 * Marks v's uplink durable up to `seq` (its position history is in PostGIS) and acknowledges
 * it to the unit if that is news.
 */
void dispatch_uplink_durable(dispatch_t *d, vehicle_t *v, uint64_t seq);

/* Records, after the state is loaded and the journal replayed, how far each unit's uplink was
 * processed before this start: below that, fixes not yet durable may have been lost with the
 * old process and are taken again when the unit resends them. */
void dispatch_mark_restored(dispatch_t *d);

/* Sends again what the units have not acknowledged (used at start, after a restart). */
void dispatch_resend_pending(dispatch_t *d, int64_t now_ms);

/* Periodic work, about once a second: automatic assignments, stale units, downlink repeats,
 * golden-time alerts (recorded as "golden_alert" events, so each is raised once). */
void dispatch_tick(dispatch_t *d, int64_t now_ms);

#endif
