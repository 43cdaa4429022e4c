/*
 * Road travel times for the dispatcher: the road graph loaded from PostGIS (the pgRouting tables
 * of deploy/import-osm.sh), a snapping index, and a contraction hierarchy in which every
 * available unit keeps its own search space up to date as it moves, so a new call costs one
 * small search for all units at once (geo/ch.h).
 *
 * A unit is (re)placed when it is available and has moved more than ROADS_MOVE_M since it was
 * last placed, or that was longer than ROADS_REPLACE_MS ago; units that cannot take a call are
 * taken out, which keeps the per-fix cost of 10,000 moving units small. A point farther than
 * ROADS_SNAP_M from any road is not on the network: its ETA falls back to the straight line,
 * and the candidate says so.
 */
#ifndef GL_ROADS_H
#define GL_ROADS_H

#include "ch.h"
#include "coverage.h"
#include "graph.h"
#include "snap.h"

#include <stddef.h>
#include <stdint.h>

#define ROADS_SNAP_M 2000.0        /* an incident this far from a road: straight line */
#define ROADS_UNIT_SNAP_M 500.0    /* a unit this far from a road is not on the network */
#define ROADS_MOVE_M 30.0
#define ROADS_REPLACE_MS 30000
#define ROADS_MAX_ETA_S 7200.0     /* no recommendation looks further than two hours */
#define ROADS_COVERAGE_MOVE_M 200.0  /* coverage follows a unit when it moved this far... */
#define ROADS_COVERAGE_REPLACE_MS 60000 /* ...or this long after it was last counted */

typedef struct roads roads_t;

/*
 * Takes ownership of `g` (on success and on failure) and builds the snapping index and the
 * hierarchy. Returns 0 and *out, or GL_EINVAL / GL_ENOMEM.
 */
int roads_new(graph_t *g, roads_t **out);
void roads_free(roads_t *r);

size_t roads_vertices(const roads_t *r);
size_t roads_arcs(const roads_t *r);

/* Places unit `slot` at (lat, lon) if it is `available`, else takes it out; cheap when nothing
 * changed (see above). `now_ms` is the dispatcher's clock. */
void roads_unit_update(roads_t *r, uint32_t slot, int available, double lat, double lon,
                       int64_t now_ms);

/* Road travel time in seconds from one point to another, or -1 when either is off the network
 * or the trip is longer than ROADS_MAX_ETA_S. */
double roads_travel_s(roads_t *r, double lat1, double lon1, double lat2, double lon2);

/* 1 if unit `slot` is placed on the network. */
int roads_unit_placed(const roads_t *r, uint32_t slot);

/*
 * Road ETA in seconds of every placed unit to (lat, lon): out[slot] for slots 0..n-1, a
 * negative value for units that are not placed or cannot arrive within ROADS_MAX_ETA_S.
 * Returns 0, or GL_ENOENT when the point is not near any road (no ETA written).
 */
int roads_eta_to(roads_t *r, double lat, double lon, double *out, size_t n);

/*
 * The golden rescue circle (geo/coverage.h): demand points (places with their population and
 * area class) and the stations units may be moved up to (both copied). Available units are
 * counted as they are placed. Returns 0, GL_EINVAL or GL_ENOMEM (coverage stays off).
 */
int roads_set_demand(roads_t *r, const coverage_demand_t *demand, const char *const *names,
                     size_t n, const double *station_lat, const double *station_lon,
                     const char *const *station_ids, size_t nstations);

/* Name of demand point i / id of move-up station i (as given to roads_set_demand). */
const char *roads_demand_name(const roads_t *r, size_t i);
const char *roads_station_id(const roads_t *r, size_t i);

/* The coverage model, or NULL when there is no demand. */
coverage_t *roads_coverage(roads_t *r);

/* The population that only unit `slot` covers (what its departure costs); 0 without coverage. */
uint64_t roads_coverage_loss(roads_t *r, uint32_t slot);

/* The best single move-up (an available unit to a station); returns 0 and *out, or GL_ENOENT
 * when there is no coverage, no station or no available unit. */
int roads_best_move(roads_t *r, coverage_move_t *out);

#endif
