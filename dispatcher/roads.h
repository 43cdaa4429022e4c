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
 *
 * Closures and slowdowns (closures.h) change arc costs. The hierarchy was built on the old
 * costs, so while a change is not yet built into one, ETAs come from a plain reverse Dijkstra
 * over a copy of the graph with the new costs (geo/overlay.h): tens of milliseconds on a city,
 * honoured by the very next recommendation. Meanwhile a new hierarchy is built on libuv's
 * thread pool (roads_set_loop) and swapped in when done, the units re-placed into it; a change
 * made during the build starts another one. With no closure left, the hierarchy of the graph as
 * loaded (kept) is back at once. Expired closures are dropped by the first unit fix or
 * recommendation after their expiry (roads_expire), which takes the same path: with fixes every
 * second that is as prompt as a timer, exact for the recommendation itself, and leaves no uv
 * handle to close at shutdown. A unit or a scene on a road closed in every direction it may be
 * driven counts from the nearer end of that segment. The golden-circle coverage follows the
 * costs in force too: when the closures change, its model is built anew over them and every
 * counted unit placed again, one bounded search each, on the loop.
 */
#ifndef GL_ROADS_H
#define GL_ROADS_H

#include "ch.h"
#include "closures.h"
#include "coverage.h"
#include "graph.h"
#include "snap.h"

#include <stddef.h>
#include <stdint.h>

struct uv_loop_s; /* uv.h's uv_loop_t, not included here: its MIN/MAX would leak everywhere */

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
/* Frees `r` (NULL: nothing). A rebuild still on the thread pool owns only its own copies: it
 * finishes and is dropped by its after-work callback, so the loop must run once more. */
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

/* Demand point i as given to roads_set_demand (NULL beyond the last), and how many there are. */
const coverage_demand_t *roads_demand_point(const roads_t *r, size_t i);
size_t roads_demand_count(const roads_t *r);

/* Name of demand point i / id of move-up station i (as given to roads_set_demand). */
const char *roads_demand_name(const roads_t *r, size_t i);
const char *roads_station_id(const roads_t *r, size_t i);

/* The coverage model, or NULL when there is no demand. */
coverage_t *roads_coverage(roads_t *r);

/* The population that only unit `slot` covers (what its departure costs); 0 without coverage. */
uint64_t roads_coverage_loss(roads_t *r, uint32_t slot);

/* The best single move-up (an available unit to a station); returns 0 and *out, GL_ENOENT
 * when there is no coverage, no station or no available unit, or GL_ENOMEM. */
int roads_best_move(roads_t *r, coverage_move_t *out);

/* ---- closures and slowdowns --------------------------------------------------------------- */

#define ROADS_MAX_EXPLAIN 4       /* closures named per candidate */
#define ROADS_EXPLAIN_MAX_UNITS 8 /* units explained per call (more are ignored) */

/*
 * The loop (borrowed) on whose thread pool new hierarchies are built (uv_queue_work). Without
 * one, a change of closures leaves ETAs on the plain search until roads_rebuild_now().
 */
void roads_set_loop(roads_t *r, struct uv_loop_s *loop);

/*
 * The OSM way of each arc, so closures can be made by way id: input arc i of graph_new() (which
 * became arc arc_id[i]) belongs to way[i] (0 = unknown); `n` == roads_arcs(r). Copied.
 * Returns 0, GL_EINVAL or GL_ENOMEM.
 */
int roads_set_arc_ways(roads_t *r, const int64_t *way, const uint32_t *arc_id, size_t n);

/*
 * The arcs of OSM way `way` (both directions of a two-way road): a new array (free() it) in
 * *arcs and its length in *n. Returns 0, GL_ENOENT (no such way, or no way ids loaded) or
 * GL_ENOMEM.
 */
int roads_way_arcs(const roads_t *r, int64_t way, uint32_t **arcs, size_t *n);

/* The road graph as loaded (borrowed), for selecting arcs (geo/overlay.h). */
const graph_t *roads_graph(const roads_t *r);

/* The closure table (owned by `r`). After changing it, call roads_closures_changed(). */
closures_t *roads_closures(roads_t *r);

/*
 * Takes the closure table's change into the costs: the next ETA honours it (plain search), and
 * a new hierarchy is queued. Returns 0 or GL_ENOMEM (the costs stay as before; logged).
 */
int roads_closures_changed(roads_t *r);

/* Drops closures expired at `now_ms` (and takes that into the costs); returns how many. */
size_t roads_expire(roads_t *r, int64_t now_ms);

/* 1 when ETAs come from a hierarchy built for the current closures, 0 while on plain search. */
int roads_hierarchy_current(const roads_t *r);

/* Builds the hierarchy for the current closures now, on this thread (tests, tools). Returns 0,
 * GL_ENOMEM or GL_EINVAL. */
int roads_rebuild_now(roads_t *r);

/*
 * The road route from one point to another over the costs in force (closures included): the
 * travel time, its length, and the polyline from the first point's snapped position through the
 * vertices passed to the second's (lat/lon pairs in *pts, malloc'd, *npts points). Returns 0,
 * GL_ENOENT (a point off the network, or no route within ROADS_MAX_ETA_S) or GL_ENOMEM.
 */
int roads_path(roads_t *r, double lat1, double lon1, double lat2, double lon2, double *travel_s,
               double *length_m, double **pts, size_t *npts);

/* The closures on one unit's road (roads_route_closures). */
typedef struct roads_closure_hits {
    size_t n;                         /* how many of idx are set */
    size_t idx[ROADS_MAX_EXPLAIN];    /* indices into the closure table (closures_at) */
} roads_closure_hits_t;

/*
 * Which closures lie on the road of each unit slots[i] (at most ROADS_EXPLAIN_MAX_UNITS) to
 * (lat, lon): those covering an arc of its shortest route with the closures, or of the route it
 * would take without them (the road it now avoids). Two searches for all units together (one
 * per cost set). Fills out[i] (n = 0 without closures, or when the unit or the point is off the
 * network); returns 0, GL_ENOENT (point off the network) or GL_EINVAL.
 */
int roads_route_closures(roads_t *r, double lat, double lon, const uint32_t *slots, size_t n,
                         roads_closure_hits_t *out);

#endif
