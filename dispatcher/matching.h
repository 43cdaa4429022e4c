/*
 * Matching: which units can answer an incident, ranked by estimated time of arrival.
 *
 * A unit is a candidate when it is available, has had a fix within the stale limit, and has
 * what the complaint needs (the table in matching.c: ALS for chest pain and stroke, an incubator
 * for a newborn, ...). Candidates are ranked by ETA from geo_eta_seconds(), the one function the
 * road-network routing replaces; for now that is straight-line distance × detour ÷ speed, so the
 * nearest candidates by distance are also the fastest and the spatial index finds them.
 */
#ifndef GL_MATCHING_H
#define GL_MATCHING_H

#include "eta.h"
#include "fleet.h"
#include "incident.h"

#define MATCH_MAX_CANDIDATES 5

typedef struct candidate {
    vehicle_t *vehicle;     /* borrowed from the fleet */
    double eta_s;
    double distance_m;      /* straight line */
    const char *eta_method; /* "straight_line" until road routing lands */
} candidate_t;

typedef struct match_params {
    geo_eta_params_t eta;
    int64_t stale_ms;       /* a unit without a fix for this long is not recommended */
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
