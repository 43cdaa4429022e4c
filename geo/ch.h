/*
 * A contraction hierarchy (CH) over the road graph: a one-off build orders the vertices by
 * importance and adds shortcut arcs, after which a shortest travel time needs only two small
 * "upward" searches instead of a Dijkstra over the city. Answers equal route.h's Dijkstra exactly
 * (same integer costs, same position rule).
 *
 * Many-to-one for the recommendation: each unit's forward upward search space (vertex, cost) is
 * kept in per-vertex buckets. ch_unit_set() replaces one unit's entries when its position
 * changes (a few hundred entries, so a fix per second per unit is cheap); ch_eta_to() runs one
 * backward upward search from the incident and scans the buckets of the vertices it settles,
 * giving every unit's ETA at once.
 *
 * A ch_t borrows its graph (which must outlive it and not change), and keeps its own search
 * workspace: one thread at a time. Building is the expensive part (seconds on a city), queries
 * do not allocate; ch_unit_set() may grow a bucket.
 */
#ifndef GL_CH_H
#define GL_CH_H

#include "graph.h"
#include "route.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ch ch_t;

/* Build statistics, for logs and benchmarks. */
typedef struct ch_stats {
    uint32_t shortcuts; /* shortcut arcs added */
    uint32_t up_arcs;   /* arcs of the upward graph (forward + backward) */
    double build_s;     /* wall time of the build */
} ch_stats_t;

/*
 * Builds the hierarchy of `g` (borrowed). Returns 0 with *out set, GL_EINVAL, GL_ENOMEM. If
 * `stats` is not NULL it is filled in.
 */
int ch_build(const graph_t *g, ch_t **out, ch_stats_t *stats);
void ch_free(ch_t *ch);

/*
 * Travel cost from `from` to `to` (bidirectional upward search), at most `max_cost`. Returns 0
 * with *cost set, GL_ENOENT when not reachable within max_cost, GL_EINVAL for a bad position.
 */
int ch_one_to_one(ch_t *ch, const route_pos_t *from, const route_pos_t *to, int64_t max_cost,
                  int64_t *cost);

/*
 * Places unit `unit_id` (a small dense integer chosen by the caller, like geo_index ids) at
 * position `pos`, replacing its previous position. Returns 0, GL_EINVAL (bad position or id
 * >= 2^24), GL_ENOMEM (the unit is then absent from the buckets: ch_eta_to reports it
 * unreachable until a later ch_unit_set succeeds).
 */
int ch_unit_set(ch_t *ch, uint32_t unit_id, const route_pos_t *pos);

/* Takes unit `unit_id` out (it no longer gets an ETA). A no-op if it is not placed. */
void ch_unit_remove(ch_t *ch, uint32_t unit_id);

/*
 * ETA of every placed unit to position `target`: out[id] for ids 0..n_out-1 receives the cost
 * from the unit's position to `target`, or GRAPH_COST_INF if the unit is not placed or cannot
 * arrive within `max_cost`. Returns 0 or GL_EINVAL.
 */
int ch_eta_to(ch_t *ch, const route_pos_t *target, int64_t max_cost, int64_t *out, size_t n_out);

/* Bucket entries kept for unit `unit_id` (its search space size), 0 if not placed. */
size_t ch_unit_entries(const ch_t *ch, uint32_t unit_id);

#endif
