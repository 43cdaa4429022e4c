/*
 * The simulated units' state machine and driving (see fleet_sim.h). All transitions go through
 * set_state(), which logs them and reports the matching status; the timers of a state (time on
 * scene, handover) are set there too.
 */
#include "fleet_sim.h"

#include "err.h"
#include "geo.h"
#include "log.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ARRIVED_M 1.0 /* closer than this is "there" */

struct fleet_sim {
    fleet_sim_params_t p;
    double avg_mps;
    fleet_sim_on_status on_status;
    void *ctx;
    sim_unit_t **units;
    size_t count, cap;
    sim_hospital_t *hospitals;
    size_t nhosp, hcap;
    uint64_t rng;           /* splitmix64 state */
};

const char *sim_state_name(sim_state_t st)
{
    switch (st) {
#define XX(name, text)                                                                            \
    case SIM_STATE_##name:                                                                        \
        return text;
        SIM_STATE_MAP(XX)
#undef XX
    }
    return "?";
}

static uint64_t next_rand(fleet_sim_t *sim)
{
    uint64_t z = (sim->rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double uniform(fleet_sim_t *sim)
{
    return (double)(next_rand(sim) >> 11) / 9007199254740992.0;
}

fleet_sim_t *fleet_sim_new(const fleet_sim_params_t *p, fleet_sim_on_status cb, void *ctx)
{
    if (!p || !(p->avg_kmh > 0) || p->scene_s < 0 || p->hospital_s < 0 || p->jitter_m < 0)
        return NULL;
    fleet_sim_t *sim = calloc(1, sizeof *sim);
    if (!sim)
        return NULL;
    sim->p = *p;
    sim->avg_mps = p->avg_kmh / 3.6;
    sim->on_status = cb;
    sim->ctx = ctx;
    sim->rng = p->seed;
    return sim;
}

void fleet_sim_free(fleet_sim_t *sim)
{
    if (!sim)
        return;
    for (size_t i = 0; i < sim->count; i++)
        free(sim->units[i]);
    free(sim->units);
    free(sim->hospitals);
    free(sim);
}

int fleet_sim_add_unit(fleet_sim_t *sim, const sim_unit_spec_t *spec, sim_unit_t **out)
{
    if (!spec->id[0] || !geo_point_valid(spec->lat, spec->lon))
        return GL_EINVAL;
    if (sim->count == sim->cap) {
        size_t cap = sim->cap ? sim->cap * 2 : 16;
        sim_unit_t **units = realloc(sim->units, cap * sizeof *units);
        if (!units)
            return GL_ENOMEM;
        sim->units = units;
        sim->cap = cap;
    }
    sim_unit_t *u = calloc(1, sizeof *u);
    if (!u)
        return GL_ENOMEM;
    u->spec = *spec;
    u->lat = u->dest_lat = spec->lat;
    u->lon = u->dest_lon = spec->lon;
    u->state = SIM_STATE_PARKED;
    u->phase = 2 * M_PI * uniform(sim);
    sim->units[sim->count++] = u;
    if (out)
        *out = u;
    return 0;
}

int fleet_sim_add_hospital(fleet_sim_t *sim, const sim_hospital_t *h)
{
    if (!h->id[0] || !geo_point_valid(h->lat, h->lon))
        return GL_EINVAL;
    if (sim->nhosp == sim->hcap) {
        size_t cap = sim->hcap ? sim->hcap * 2 : 8;
        sim_hospital_t *hs = realloc(sim->hospitals, cap * sizeof *hs);
        if (!hs)
            return GL_ENOMEM;
        sim->hospitals = hs;
        sim->hcap = cap;
    }
    sim->hospitals[sim->nhosp++] = *h;
    return 0;
}

size_t fleet_sim_count(const fleet_sim_t *sim)
{
    return sim->count;
}

sim_unit_t *fleet_sim_at(const fleet_sim_t *sim, size_t i)
{
    return i < sim->count ? sim->units[i] : NULL;
}

const sim_hospital_t *fleet_sim_nearest_hospital(const fleet_sim_t *sim, double lat, double lon)
{
    const sim_hospital_t *best = NULL;
    double best_m = INFINITY;
    for (size_t i = 0; i < sim->nhosp; i++) {
        double d = geo_distance_m(lat, lon, sim->hospitals[i].lat, sim->hospitals[i].lon);
        if (d < best_m) {
            best_m = d;
            best = &sim->hospitals[i];
        }
    }
    return best;
}

double fleet_sim_speed(const fleet_sim_t *sim, double leg_s, double phase)
{
    return sim->avg_mps *
           (1 + SIM_PROFILE_AMPLITUDE * sin(2 * M_PI * leg_s / SIM_PROFILE_PERIOD_S + phase));
}

sim_vitals_t fleet_sim_vitals_source(const sim_unit_t *u)
{
    if (u->state != SIM_STATE_ON_SCENE && u->state != SIM_STATE_TO_HOSPITAL)
        return SIM_VITALS_NONE;
    return strcmp(u->complaint, "chest_pain") == 0 ? SIM_VITALS_RECORD : SIM_VITALS_GEN;
}

/* The status a unit reports on entering a state. */
static unit_status_t status_of(sim_state_t st)
{
    switch (st) {
    case SIM_STATE_PARKED:
        return UNIT_STATUS_AVAILABLE;
    case SIM_STATE_TO_SCENE:
        return UNIT_STATUS_EN_ROUTE;
    case SIM_STATE_ON_SCENE:
        return UNIT_STATUS_ON_SCENE;
    case SIM_STATE_TO_HOSPITAL:
        return UNIT_STATUS_TRANSPORTING;
    case SIM_STATE_AT_HOSPITAL:
        return UNIT_STATUS_AT_HOSPITAL;
    case SIM_STATE_RETURNING:
        return UNIT_STATUS_RETURNING;
    }
    return UNIT_STATUS_UNKNOWN;
}

static void start_leg(sim_unit_t *u, double lat, double lon)
{
    u->dest_lat = lat;
    u->dest_lon = lon;
    u->leg_s = 0;
}

/* The one place a unit changes state: sets up the new state's leg or wait, logs, reports. */
static void set_state(fleet_sim_t *sim, sim_unit_t *u, sim_state_t to)
{
    sim_state_t from = u->state;
    u->state = to;
    switch (to) {
    case SIM_STATE_PARKED:
        u->incident[0] = '\0';
        u->complaint[0] = '\0';
        u->has_hospital = 0;
        u->speed_mps = 0;
        break;
    case SIM_STATE_TO_SCENE:
        break; /* the leg was set by the assignment */
    case SIM_STATE_ON_SCENE:
        u->speed_mps = 0;
        u->wait_s = sim->p.scene_s;
        break;
    case SIM_STATE_TO_HOSPITAL: {
        const sim_hospital_t *h = fleet_sim_nearest_hospital(sim, u->lat, u->lon);
        if (u->has_hospital)
            start_leg(u, u->hospital_lat, u->hospital_lon);
        else if (h)
            start_leg(u, h->lat, h->lon);
        else
            start_leg(u, u->spec.lat, u->spec.lon);
        break;
    }
    case SIM_STATE_AT_HOSPITAL:
        u->speed_mps = 0;
        u->wait_s = sim->p.hospital_s;
        break;
    case SIM_STATE_RETURNING:
        start_leg(u, u->spec.lat, u->spec.lon);
        break;
    }
    LOG_DEBUG("sim", "veh=%s inc=%s %s -> %s", u->spec.id, u->incident[0] ? u->incident : "-",
              sim_state_name(from), sim_state_name(to));
    if (sim->on_status)
        sim->on_status(u, status_of(to), u->incident, sim->ctx);
}

/* The state that follows arriving at the end of the current leg, or the end of a wait. */
static sim_state_t next_state(sim_state_t st)
{
    switch (st) {
    case SIM_STATE_TO_SCENE:
        return SIM_STATE_ON_SCENE;
    case SIM_STATE_ON_SCENE:
        return SIM_STATE_TO_HOSPITAL;
    case SIM_STATE_TO_HOSPITAL:
        return SIM_STATE_AT_HOSPITAL;
    case SIM_STATE_AT_HOSPITAL:
        return SIM_STATE_RETURNING;
    case SIM_STATE_RETURNING:
    case SIM_STATE_PARKED:
        break;
    }
    return SIM_STATE_PARKED;
}

/* Drives at most `dt` seconds toward the leg's end; returns the seconds used (< dt: arrived). */
static double drive(fleet_sim_t *sim, sim_unit_t *u, double dt)
{
    double used = 0;
    while (used < dt) {
        double remaining = geo_distance_m(u->lat, u->lon, u->dest_lat, u->dest_lon);
        if (remaining < ARRIVED_M) {
            u->lat = u->dest_lat;
            u->lon = u->dest_lon;
            u->speed_mps = 0;
            return used;
        }
        double h = dt - used < SIM_STEP_S ? dt - used : SIM_STEP_S;
        double v = fleet_sim_speed(sim, u->leg_s + h / 2, u->phase);
        double bearing = geo_bearing_deg(u->lat, u->lon, u->dest_lat, u->dest_lon);
        u->heading_deg = bearing;
        u->speed_mps = v;
        if (v * h >= remaining) {
            double t = remaining / v;
            u->lat = u->dest_lat;
            u->lon = u->dest_lon;
            u->leg_s += t;
            u->speed_mps = 0;
            return used + t;
        }
        geo_destination(u->lat, u->lon, bearing, v * h, &u->lat, &u->lon);
        u->leg_s += h;
        used += h;
    }
    return used;
}

static void advance_unit(fleet_sim_t *sim, sim_unit_t *u, double dt)
{
    /* A long step may finish a leg and a wait and start the next leg: keep going. */
    while (dt > 0 && u->state != SIM_STATE_PARKED) {
        switch (u->state) {
        case SIM_STATE_TO_SCENE:
        case SIM_STATE_TO_HOSPITAL:
        case SIM_STATE_RETURNING: {
            double used = drive(sim, u, dt);
            if (used >= dt && geo_distance_m(u->lat, u->lon, u->dest_lat, u->dest_lon) >=
                                  ARRIVED_M)
                return;
            dt -= used;
            set_state(sim, u, next_state(u->state));
            break;
        }
        case SIM_STATE_ON_SCENE:
        case SIM_STATE_AT_HOSPITAL:
            if (u->wait_s > dt) {
                u->wait_s -= dt;
                return;
            }
            dt -= u->wait_s;
            u->wait_s = 0;
            set_state(sim, u, next_state(u->state));
            break;
        case SIM_STATE_PARKED:
            return;
        }
    }
}

void fleet_sim_advance(fleet_sim_t *sim, double dt_s)
{
    if (!(dt_s > 0))
        return;
    for (size_t i = 0; i < sim->count; i++)
        advance_unit(sim, sim->units[i], dt_s);
}

int fleet_sim_assign(fleet_sim_t *sim, sim_unit_t *u, const char *incident_id, double lat,
                     double lon)
{
    size_t n = incident_id ? strlen(incident_id) : 0;
    if (n == 0 || n >= sizeof u->incident || !geo_point_valid(lat, lon))
        return GL_EINVAL;
    int same = strcmp(u->incident, incident_id) == 0;
    switch (u->state) {
    case SIM_STATE_PARKED:
    case SIM_STATE_RETURNING:
        break;
    case SIM_STATE_TO_SCENE:
        if (same)
            return GL_EDUP;
        break; /* diverted to another incident */
    case SIM_STATE_ON_SCENE:
    case SIM_STATE_TO_HOSPITAL:
    case SIM_STATE_AT_HOSPITAL:
        return same ? GL_EDUP : GL_EUNAVAILABLE;
    }
    memcpy(u->incident, incident_id, n + 1);
    start_leg(u, lat, lon);
    set_state(sim, u, SIM_STATE_TO_SCENE);
    return 0;
}

int fleet_sim_cancel(fleet_sim_t *sim, sim_unit_t *u, const char *incident_id)
{
    if (!incident_id || strcmp(u->incident, incident_id) != 0)
        return GL_ENOENT;
    switch (u->state) {
    case SIM_STATE_TO_SCENE:
    case SIM_STATE_ON_SCENE:
    case SIM_STATE_TO_HOSPITAL:
    case SIM_STATE_AT_HOSPITAL:
        u->wait_s = 0;
        set_state(sim, u, SIM_STATE_RETURNING);
        return 0;
    case SIM_STATE_PARKED:
    case SIM_STATE_RETURNING:
        break;
    }
    return GL_ENOENT;
}

int fleet_sim_set_destination(fleet_sim_t *sim, sim_unit_t *u, const char *incident_id,
                              double lat, double lon)
{
    (void)sim;
    if (!incident_id || strcmp(u->incident, incident_id) != 0)
        return GL_ENOENT;
    switch (u->state) {
    case SIM_STATE_TO_SCENE:
    case SIM_STATE_ON_SCENE:
    case SIM_STATE_TO_HOSPITAL:
        u->has_hospital = 1;
        u->hospital_lat = lat;
        u->hospital_lon = lon;
        if (u->state == SIM_STATE_TO_HOSPITAL)
            start_leg(u, lat, lon);
        return 0;
    case SIM_STATE_AT_HOSPITAL: /* already handed over: too late to change */
    case SIM_STATE_PARKED:
    case SIM_STATE_RETURNING:
        break;
    }
    return GL_ENOENT;
}

void fleet_sim_fix(fleet_sim_t *sim, const sim_unit_t *u, int64_t fix_time_ms, unit_fix_t *out)
{
    unit_fix_init(out, u->lat, u->lon, fix_time_ms);
    if (u->speed_mps > 0) {
        out->speed_mps = (float)u->speed_mps;
        out->heading_deg = (float)u->heading_deg;
    } else {
        out->speed_mps = 0;
        if (sim->p.jitter_m > 0)
            geo_destination(u->lat, u->lon, 360.0 * uniform(sim), sim->p.jitter_m * uniform(sim),
                            &out->lat, &out->lon);
    }
    out->hdop = u->speed_mps > 0 ? 0.9f : 1.1f;
    out->satellites = 12;
}
