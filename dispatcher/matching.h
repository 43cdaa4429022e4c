/*
 * Matching: which units can answer an incident, ranked by estimated time of arrival.
 *
 * A unit is a candidate when it is available, has had a fix within the stale limit, and has
 * what the complaint needs (the table in matching.c: ALS for chest pain and stroke, an incubator
 * for a newborn, ...). With a road graph (roads.h) candidates are ranked by road ETA from one
 * reverse search over the contraction hierarchy; a unit (or a scene) off the road network gets
 * the straight-line estimate (distance × detour ÷ speed, geo/eta.h) and is flagged so. Without
 * a graph every ETA is straight-line, and the spatial index finds the nearest units. Road
 * closures and slowdowns (closures.h) are in the road ETAs, and each candidate names those on
 * its road (the one it takes, or the one it would have taken without them).
 */
#ifndef GL_MATCHING_H
#define GL_MATCHING_H

#include "eta.h"
#include "fleet.h"
#include "incident.h"
#include "roads.h"

#define MATCH_MAX_CANDIDATES 5

/* A road closure or slowdown on a candidate's road (copied from the closure table). */
typedef struct candidate_closure {
    char id[CLOSURE_ID_LEN];
    char reason[CLOSURE_REASON_LEN];
    double factor; /* 0 closed, else the slowdown */
} candidate_closure_t;

typedef struct candidate {
    vehicle_t *vehicle;     /* borrowed from the fleet */
    double eta_s;
    double distance_m;      /* straight line */
    uint64_t coverage_loss; /* population only this unit covers (what its departure costs) */
    const char *eta_method; /* "road", or "straight_line" when the unit or the scene is off the
                               road network (or there is no road graph) */
    int nclosures;          /* closures on its road with them or without them (roads.h) */
    candidate_closure_t closures[ROADS_MAX_EXPLAIN];
} candidate_t;

typedef struct match_params {
    geo_eta_params_t eta;   /* the straight-line estimate, when there is no road ETA */
    roads_t *roads;         /* the road graph, or NULL (owned by the dispatch core) */
    int64_t stale_ms;       /* a unit without a fix for this long is not recommended */
    double tie_margin_s;    /* among units this close to the fastest, the one whose departure
                               keeps the most coverage goes first */
} match_params_t;

/* 1 if `v` has what complaint `c` requires (kind and capabilities), else 0. */
int match_capable(const vehicle_t *v, complaint_t c);

/* What complaint `c` requires, for messages: e.g. "ALS", "ALS+incubator" or "". */
const char *match_requirement(complaint_t c);

/*
 * Fills `out` (room for MATCH_MAX_CANDIDATES) with the best candidates for an incident of
 * complaint `c` at (lat, lon) at time `now_ms`, best first. Returns how many were found.
 */
int match_rank(const fleet_t *f, const match_params_t *p, complaint_t c, double lat, double lon,
               int64_t now_ms, candidate_t *out);

#endif
