/*
 * Road closures and slowdowns as an edge-cost overlay: a per-arc factor (1 = as built, 0 =
 * closed, > 1 = a slowdown multiplying the travel time) applied to a copy of the road graph, so
 * every search structure of route.h and ch.h runs unchanged over the modified costs. Arc ids,
 * vertex ids and coordinates of the copy are those of the base graph, so a position snapped on
 * the base graph (snap.h) is a valid position on the copy, and a hierarchy built on the copy can
 * be swapped in for the old one with the same unit positions.
 *
 * A closed arc is not removed (that would renumber the arcs): it costs OVERLAY_CLOSED_COST, far
 * beyond any bounded search (an ETA is never looked for beyond hours), and small enough that a
 * path over millions of closed arcs does not overflow int64.
 *
 * Also the geometry that turns a line drawn on the map into arcs: every arc within a radius of
 * the line whose direction roughly follows it (crossing streets are left alone).
 */
#ifndef GL_OVERLAY_H
#define GL_OVERLAY_H

#include "graph.h"

#include <stddef.h>
#include <stdint.h>

#define OVERLAY_CLOSED_COST ((int64_t)1000000000000) /* 1e12 us, about 11.6 days */
#define OVERLAY_LINE_RADIUS_M 15.0                   /* default reach of a drawn line */
#define OVERLAY_LINE_ANGLE_DEG 35.0                  /* default "roughly follows" */

/*
 * The cost of an arc of cost `cost` under `factor`: OVERLAY_CLOSED_COST for 0, llround(cost *
 * factor) for a slowdown (capped at OVERLAY_CLOSED_COST), `cost` for 1 or a negative or NaN
 * factor (treated as "no change").
 */
int64_t overlay_cost(int64_t cost, double factor);

/*
 * Builds a copy of `base` (borrowed) whose arc i costs overlay_cost(base cost, factor[i]);
 * `factor` has base->n_arcs entries, or is NULL for a plain copy. The copy owns all its arrays
 * (free it with graph_free) and is independent of `base`, so it may be built on another thread
 * while `base` is only read. Returns 0 with *out set, GL_EINVAL or GL_ENOMEM.
 */
int overlay_graph_new(const graph_t *base, const double *factor, graph_t **out);

/*
 * The arcs a line drawn on the map covers: a polyline of `n` >= 2 points (lat[i], lon[i]), and
 * every arc of `g` (which must have coordinates) that lies along it: most of the arc within
 * `radius_m` of the line (or, for an arc longer than the line, the line within `radius_m` of
 * the arc), at an angle of at most `max_angle_deg` to the nearby piece of the line. With
 * `both_ways` the arcs running against the drawing direction count too (a two-way road closes
 * in both directions); without, only those following it. Writes a new array (free() it) of
 * increasing arc ids to *arcs and its length to *n_arcs (0 and NULL when none).
 * Returns 0, GL_EINVAL (fewer than 2 points, an invalid point, no coordinates) or GL_ENOMEM.
 * O(arcs of the graph) after a bounding-box test: about a millisecond on a city.
 */
int overlay_arcs_near_line(const graph_t *g, const double *lat, const double *lon, size_t n,
                           double radius_m, double max_angle_deg, int both_ways, uint32_t **arcs,
                           size_t *n_arcs);

#endif
