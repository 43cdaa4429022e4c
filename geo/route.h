/*
 * Shortest travel times on the road graph with Dijkstra's algorithm and a binary heap:
 * one-to-one, one-to-many (one forward search), many-to-one (one reverse search from the
 * incident gives every unit's ETA) and isochrones (everything within T of a set of sources).
 *
 * Queries run in a reusable workspace (route_ws_t) sized for one graph: per-vertex arrays are
 * stamped with a generation counter instead of being cleared, so a query touches only the
 * vertices it reaches and never allocates. A workspace serves one query at a time; use one per
 * thread.
 *
 * Points on the road are positions (route_pos_t): a vertex, or a point part-way along an arc
 * (what snap.h returns). A search from a position starts at the arc's head with the remaining
 * part of the arc's cost and, if the road is two-way (the position has a twin arc), at the tail
 * with the remaining part of the twin's cost; a one-way road is left only forwards. The partial
 * cost of a fraction f of an arc of cost c is llround(c * f) from the tail, and c minus that to
 * the head, so the two parts always add up to c exactly, and every algorithm here and in ch.h
 * uses the same rule (route_part_cost), which is what keeps their answers identical.
 */
#ifndef GL_ROUTE_H
#define GL_ROUTE_H

#include "graph.h"

#include <stddef.h>
#include <stdint.h>

/* A point on the road network. */
typedef struct route_pos {
    uint32_t vertex; /* the vertex when arc == GRAPH_NONE */
    uint32_t arc;    /* the arc the point lies on, or GRAPH_NONE for a vertex position */
    uint32_t twin;   /* the arc of the opposite direction on the same segment, or GRAPH_NONE */
    double frac;     /* 0..1 along `arc` from its tail (1 - frac along `twin`) */
} route_pos_t;

/* A search seed or target: `vertex` with an extra cost already paid (or still to pay). */
typedef struct route_seed {
    uint32_t vertex;
    int64_t cost;
} route_seed_t;

/* One reachable piece of an arc in an isochrone: fractions from_frac..to_frac of `arc`. */
typedef struct route_reach {
    uint32_t arc;
    double from_frac;
    double to_frac;
} route_reach_t;

typedef struct route_ws route_ws_t;

/* The position of vertex `v`. */
route_pos_t route_pos_vertex(uint32_t v);

/* The cost of the first `frac` (clamped to 0..1) of a cost `cost`: llround(cost * frac). */
int64_t route_part_cost(int64_t cost, double frac);

/*
 * Seeds for leaving position `p` (forward search): at most 2 written to `out`, returns how many.
 * route_pos_arrivals() gives the seeds for reaching `p`: cost from each seed's vertex to `p`.
 */
size_t route_pos_departures(const graph_t *g, const route_pos_t *p, route_seed_t out[2]);
size_t route_pos_arrivals(const graph_t *g, const route_pos_t *p, route_seed_t out[2]);

/*
 * The cost of going from `a` to `b` without passing a vertex (both on the same road segment,
 * b ahead of a in a direction that may be driven), or GRAPH_COST_INF.
 */
int64_t route_pos_direct(const graph_t *g, const route_pos_t *a, const route_pos_t *b);

/* 1 if `p` is a valid position on `g` (ids in range, arc/twin consistent, frac in 0..1). */
int route_pos_valid(const graph_t *g, const route_pos_t *p);

/* Creates a workspace for graph `g` (borrowed; must outlive it). NULL when out of memory. */
route_ws_t *route_ws_new(const graph_t *g);
void route_ws_free(route_ws_t *ws);

/*
 * The raw search. Settles vertices in order of cost from the seeds (forward search if `reverse`
 * is 0: cost from the seeds; reverse if 1: cost to the seeds, over reversed arcs). Vertices whose
 * cost exceeds `max_cost` are not settled (GRAPH_COST_INF: no bound). If `stop` is not NULL, the
 * search ends as soon as all `n_stop` of its vertices are settled. Returns 0 or GL_EINVAL (a seed
 * out of range or with a negative cost).
 */
int route_search(route_ws_t *ws, int reverse, const route_seed_t *seeds, size_t n_seeds,
                 int64_t max_cost, const uint32_t *stop, size_t n_stop);

/* After a search: the cost of vertex v if it was settled, else GRAPH_COST_INF. */
int64_t route_ws_cost(const route_ws_t *ws, uint32_t v);

/* After a search: the settled vertices in the order they were settled; *n receives the count. */
const uint32_t *route_ws_settled(const route_ws_t *ws, size_t *n);

/*
 * After a search: the arc by which v was reached (its tail is the predecessor in a forward
 * search, its head the successor in a reverse one), or GRAPH_NONE for a seed or unsettled vertex.
 */
uint32_t route_ws_parent_arc(const route_ws_t *ws, uint32_t v);

/*
 * Travel cost from `from` to `to`, at most `max_cost`. Returns 0 with *cost set, GL_ENOENT if
 * `to` cannot be reached within `max_cost`, GL_EINVAL for an invalid position.
 */
int route_one_to_one(route_ws_t *ws, const route_pos_t *from, const route_pos_t *to,
                     int64_t max_cost, int64_t *cost);

/*
 * Costs from `from` to each of `n` positions `to` with one forward search, written to out[i]
 * (GRAPH_COST_INF when unreachable within `max_cost`). Returns 0 or GL_EINVAL.
 */
int route_one_to_many(route_ws_t *ws, const route_pos_t *from, const route_pos_t *to, size_t n,
                      int64_t max_cost, int64_t *out);

/*
 * Costs from each of `n` positions `from` to `to` with one reverse search from `to` (every
 * unit's ETA to an incident), written to out[i] (GRAPH_COST_INF when beyond `max_cost`).
 * Returns 0 or GL_EINVAL.
 */
int route_many_to_one(route_ws_t *ws, const route_pos_t *from, size_t n, const route_pos_t *to,
                      int64_t max_cost, int64_t *out);

/*
 * Isochrone: everything reachable within `max_cost` from any of `n` source positions. After it
 * returns 0, route_ws_settled() lists the vertices within reach and route_ws_cost() gives their
 * costs; the reachable pieces of arcs are written to `out` (at most `max_out`; the return value
 * of route_isochrone_arcs() is the number found, which may be larger). Returns GL_EINVAL for an
 * invalid position.
 */
int route_isochrone(route_ws_t *ws, const route_pos_t *sources, size_t n, int64_t max_cost);
size_t route_isochrone_arcs(const route_ws_t *ws, const route_pos_t *sources, size_t n,
                            int64_t max_cost, route_reach_t *out, size_t max_out);

#endif
