/*
 * Snapping a GPS point or an incident address to the road: the nearest position on any road
 * segment (the perpendicular foot on the segment, not only the nearest vertex), found through a
 * uniform grid over the segments. The result is a route_pos_t that route.h and ch.h take as a
 * start or an end.
 *
 * A two-way road is one segment carried by two opposite arcs; the snapped position names the
 * arc it lies on and its twin, so a search can leave it in both directions. A one-way road has
 * no twin and is left only forwards.
 *
 * A point farther than the caller's limit from every road (a field, the sea, a bad fix) is not
 * snapped: snap_point() returns GL_ENOENT and the caller falls back to the straight-line ETA.
 */
#ifndef GL_SNAP_H
#define GL_SNAP_H

#include "graph.h"
#include "route.h"

#define SNAP_DEFAULT_MAX_M 2000.0 /* beyond this from every road, a point is not snapped */

typedef struct snap snap_t;

typedef struct snap_hit {
    route_pos_t pos; /* the position on the road */
    double lat;      /* the snapped point, degrees */
    double lon;
    double distance_m; /* great-circle distance from the query point to the snapped point */
} snap_hit_t;

/*
 * Builds the segment grid of graph `g` (borrowed; must outlive the index). `cell_deg` is the
 * cell size in degrees, 0 for the default (0.005, about 550 m). Returns 0 with *out set,
 * GL_EINVAL if the graph has no coordinates or cell_deg is negative, GL_ENOMEM.
 */
int snap_new(const graph_t *g, double cell_deg, snap_t **out);
void snap_free(snap_t *s);

/*
 * Snaps (lat, lon) to the nearest point of any road segment within `max_dist_m` metres.
 * Ties go to the lower arc id. Returns 0 with *hit filled, GL_ENOENT if no road is that near,
 * GL_EINVAL for an invalid point or a negative limit. Never allocates; safe to call from several
 * threads at once.
 */
int snap_point(const snap_t *s, double lat, double lon, double max_dist_m, snap_hit_t *hit);

/* The arc opposite `arc` on the same segment (least cost if several), or GRAPH_NONE. */
uint32_t snap_twin(const snap_t *s, uint32_t arc);

/* The position part-way (frac 0..1) along `arc`, with its twin filled in. */
route_pos_t snap_pos_on_arc(const snap_t *s, uint32_t arc, double frac);

#endif
