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
#include "graph.h"
#include "snap.h"

#include <stddef.h>
#include <stdint.h>

#define ROADS_SNAP_M 2000.0        /* an incident this far from a road: straight line */
#define ROADS_UNIT_SNAP_M 500.0    /* a unit this far from a road is not on the network */
#define ROADS_MOVE_M 30.0
#define ROADS_REPLACE_MS 30000
#define ROADS_MAX_ETA_S 7200.0     /* no recommendation looks further than two hours */

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

/* 1 if unit `slot` is placed on the network. */
int roads_unit_placed(const roads_t *r, uint32_t slot);

/*
 * Road ETA in seconds of every placed unit to (lat, lon): out[slot] for slots 0..n-1, a
 * negative value for units that are not placed or cannot arrive within ROADS_MAX_ETA_S.
 * Returns 0, or GL_ENOENT when the point is not near any road (no ETA written).
 */
int roads_eta_to(roads_t *r, double lat, double lon, double *out, size_t n);

#endif
