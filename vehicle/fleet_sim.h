/*
 * The fleet simulator's world: simulated ambulances that answer assignments by driving.
 *
 * Pure simulation, no sockets and no clock: the owner advances simulated time explicitly with
 * fleet_sim_advance() (goldline-fleet does it from a uv timer, scaled by --time-scale; tests do
 * it directly), hands in orders with fleet_sim_assign()/fleet_sim_cancel(), reads positions
 * with fleet_sim_fix(), and hears every status a unit reports through one callback.
 *
 * Each unit follows one explicit state machine (fleet_sim.c has the table):
 *
 *   PARKED --assign--> TO_SCENE --arrive--> ON_SCENE --scene time--> TO_HOSPITAL --arrive-->
 *   AT_HOSPITAL --handover time--> RETURNING --arrive home--> PARKED
 *
 * reporting en_route, on_scene, transporting, at_hospital, returning and available on the way
 * in. A cancel in any busy state turns the unit RETURNING. An assignment also reaches a unit that
 * is RETURNING (it is free again) or still TO_SCENE (a diversion to another incident).
 *
 * Units drive straight lines (great circles) at a speed profile whose average is the configured
 * speed: v(t) = avg * (1 + 0.2 sin(2 pi t / 120 s + phase)), t the time on the leg and phase
 * different per unit, so the fleet does not move in lockstep and every full two minutes of a leg
 * covers exactly avg * 120 s. The transport leg goes to the hospital nearest the scene, or back to
 * the unit's start point when no hospitals were given.
 *
 * Vitals. A unit has a patient from on_scene until the handover at the hospital (ON_SCENE and
 * TO_HOSPITAL); fleet_sim_vitals_source() says what its monitor shows then: the real
 * myocardial-infarction record for a chest_pain assignment, the physiological generator for
 * any other complaint. The complaint is the owner's to set with the assignment (the simulation
 * itself does not use it).
 */
#ifndef GL_FLEET_SIM_H
#define GL_FLEET_SIM_H

#include "unit_session.h"

#include <stddef.h>
#include <stdint.h>

#define SIM_PROFILE_AMPLITUDE 0.2
#define SIM_PROFILE_PERIOD_S 120.0
#define SIM_STEP_S 1.0 /* driving is integrated in steps of at most one simulated second */

/* XX(NAME, text) */
#define SIM_STATE_MAP(XX)                                                                         \
    XX(PARKED, "parked")                                                                          \
    XX(TO_SCENE, "to_scene")                                                                      \
    XX(ON_SCENE, "on_scene")                                                                      \
    XX(TO_HOSPITAL, "to_hospital")                                                                \
    XX(AT_HOSPITAL, "at_hospital")                                                                \
    XX(RETURNING, "returning")

typedef enum sim_state {
#define XX(name, text) SIM_STATE_##name,
    SIM_STATE_MAP(XX)
#undef XX
} sim_state_t;

const char *sim_state_name(sim_state_t st);

/* What a unit is, as read from the placement CSV or made up by --random. */
typedef struct sim_unit_spec {
    char id[UNIT_ID_MAX];
    double lat, lon;        /* start point (its station) */
    char kind[4];           /* "ALS" or "BLS" */
    char caps[8][24];       /* capability names */
    int ncaps;
    char call_sign[64];     /* defaults to the id */
} sim_unit_spec_t;

typedef struct sim_hospital {
    char id[UNIT_ID_MAX];
    double lat, lon;
    char name[64];
} sim_hospital_t;

typedef struct sim_unit {
    sim_unit_spec_t spec;
    double lat, lon;                    /* where it is now */
    double speed_mps;                   /* 0 while standing */
    double heading_deg;                 /* last course driven */
    sim_state_t state;
    char incident[UNIT_INCIDENT_MAX];   /* incident served, "" when none */
    char complaint[16];                 /* of that incident ("chest_pain", ...), set by the owner;
                                         * cleared when the unit parks */
    double dest_lat, dest_lon;          /* end of the current leg */
    int has_hospital;                   /* the dispatcher named the receiving hospital: */
    double hospital_lat, hospital_lon;  /* transport goes there, not to the nearest one */
    double leg_s;                       /* simulated seconds driven on the current leg */
    double wait_s;                      /* time still to wait on scene / at hospital */
    double phase;                       /* of the speed profile, radians */
    void *user;                         /* the owner's pointer (goldline-fleet: its session) */
} sim_unit_t;

typedef struct fleet_sim_params {
    double avg_kmh;        /* average driving speed */
    double scene_s;        /* time on scene */
    double hospital_s;     /* handover time at the hospital */
    double jitter_m;       /* GPS noise of a standing unit, metres */
    uint64_t seed;         /* for phases and jitter: runs are reproducible */
} fleet_sim_params_t;

/* Every status a unit reports; `incident_id` is "" for available. Borrowed for the call. */
typedef void (*fleet_sim_on_status)(sim_unit_t *u, unit_status_t st, const char *incident_id,
                                    void *ctx);

typedef struct fleet_sim fleet_sim_t;

/* Creates an empty world (NULL on out of memory or bad params); fleet_sim_free(NULL) is a no-op. */
fleet_sim_t *fleet_sim_new(const fleet_sim_params_t *p, fleet_sim_on_status cb, void *ctx);
void fleet_sim_free(fleet_sim_t *sim);

/* Adds a parked unit at its start point. Returns 0 and the unit (owned by the sim) in *out, or
 * GL_EINVAL / GL_ENOMEM. Units never move in memory. */
int fleet_sim_add_unit(fleet_sim_t *sim, const sim_unit_spec_t *spec, sim_unit_t **out);
int fleet_sim_add_hospital(fleet_sim_t *sim, const sim_hospital_t *h);

size_t fleet_sim_count(const fleet_sim_t *sim);
sim_unit_t *fleet_sim_at(const fleet_sim_t *sim, size_t i);

/* The hospital nearest to (lat, lon), or NULL when there are none. */
const sim_hospital_t *fleet_sim_nearest_hospital(const fleet_sim_t *sim, double lat, double lon);

/*
 * Sends `u` to incident `incident_id` at (lat, lon) and reports en_route. Returns 0, GL_EDUP when
 * it already serves that incident, GL_EUNAVAILABLE when it is busy with a patient (on scene,
 * transporting, at hospital) or GL_EINVAL.
 */
int fleet_sim_assign(fleet_sim_t *sim, sim_unit_t *u, const char *incident_id, double lat,
                     double lon);

/* Stops `u` serving `incident_id`: it reports returning and drives home. Returns 0, or GL_ENOENT
 * when it does not serve that incident (or is already returning). */
int fleet_sim_cancel(fleet_sim_t *sim, sim_unit_t *u, const char *incident_id);

/*
 * The dispatcher named (or changed) the hospital the patient of `incident_id` goes to: a unit
 * already transporting turns towards it at once, one still at the scene goes there when it
 * leaves. Returns 0, or GL_ENOENT when `u` does not serve that incident (any more).
 */
int fleet_sim_set_destination(fleet_sim_t *sim, sim_unit_t *u, const char *incident_id,
                              double lat, double lon);

/* Advances every unit by `dt_s` simulated seconds (>= 0), firing status callbacks on the way. */
void fleet_sim_advance(fleet_sim_t *sim, double dt_s);

/* The fix `u` would report now, stamped `fix_time_ms`; a standing unit's position gets jitter. */
void fleet_sim_fix(fleet_sim_t *sim, const sim_unit_t *u, int64_t fix_time_ms, unit_fix_t *out);

typedef enum sim_vitals {
    SIM_VITALS_NONE = 0, /* no patient aboard */
    SIM_VITALS_RECORD,   /* chest pain: the MI record (--ecg-record) */
    SIM_VITALS_GEN,      /* any other complaint: the generator */
} sim_vitals_t;

/* What the unit's monitor shows now (see the top comment). */
sim_vitals_t fleet_sim_vitals_source(const sim_unit_t *u);

/* The speed of the profile after `leg_s` seconds on a leg with this phase (m/s). */
double fleet_sim_speed(const fleet_sim_t *sim, double leg_s, double phase);

#endif
