/*
 * Unit tests of road routing in geo/: the CSR graph, Dijkstra (one-to-one, one-to-many,
 * many-to-one, isochrones), snapping, the contraction hierarchy and the file loaders.
 *
 * "Core" runs always: a 7-vertex graph with one-way arcs, a snapped midpoint, an isochrone
 * boundary and an unreachable vertex, whose answers are worked out by hand in the comments;
 * and random small graphs where the CH must equal Dijkstra on every pair.
 * "Real" runs on ../shared/data/roads (skipped with a message when absent): Dijkstra reproduces
 * every reference cost printed in the SOURCE.txt files exactly (read from those files, not
 * copied here), the snap grid equals brute force, and on Haikou (GL_ROUTE_CH_CITIES to choose
 * others, e.g. "Haikou,Xian,Nanjing" for a Release run) the CH equals Dijkstra on 1,000 random
 * pairs and on 200 units' ETAs to random incidents, before and after units move. Timings are
 * printed for information.
 */
#include "ch.h"
#include "err.h"
#include "geo.h"
#include "graph.h"
#include "roads_file.h"
#include "route.h"
#include "snap.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S(x) ((int64_t)(x)*GRAPH_COST_US_PER_S) /* seconds -> cost units */
#define INF GRAPH_COST_INF
#define ROADS GL_SHARED_DATA "/roads"
#define CITIES ROADS "/cn-osm-cities-2021"
#define DIMACS ROADS "/dimacs9-usa"

/* ---- helpers -------------------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint32_t rng_below(uint32_t n)
{
    return (uint32_t)(rng_next() % n);
}

static double rng_unit(void)
{
    return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int have_data(void)
{
    if (access(CITIES "/SOURCE.txt", R_OK) == 0 && access(DIMACS "/SOURCE.txt", R_OK) == 0)
        return 1;
    printf("check_route: SKIPPED real-data test: %s not found\n", ROADS);
    return 0;
}

/* ---- the hand-made graph -------------------------------------------------------------------- */

/*
 *   3 ---30--- 4 ---30--- 5        vertices 0..5 on a 0.01-degree grid near Nanjing:
 *   |          ^          |        0 (32.00, 118.80)  1 (32.00, 118.81)  2 (32.00, 118.82)
 *  100         20 (1->4)  100      3 (32.01, 118.80)  4 (32.01, 118.81)  5 (32.01, 118.82)
 *   |          |          v (5->2) 6 (31.95, 118.90), only an arc 6->0 of 10 s: unreachable.
 *   0 ---60--- 1 ---60--- 2        Undirected lines are two-way; costs in seconds.
 */
static const double toy_lat[7] = {32.00, 32.00, 32.00, 32.01, 32.01, 32.01, 31.95};
static const double toy_lon[7] = {118.80, 118.81, 118.82, 118.80, 118.81, 118.82, 118.90};

static graph_t *toy_graph(void)
{
    graph_edge_t e[] = {
        {0, 1, S(60), 945},   {1, 0, S(60), 945},   {1, 2, S(60), 945},  {2, 1, S(60), 945},
        {0, 3, S(100), 1112}, {3, 0, S(100), 1112}, {3, 4, S(30), 945},  {4, 3, S(30), 945},
        {4, 5, S(30), 945},   {5, 4, S(30), 945},   {1, 4, S(20), 1112}, {5, 2, S(100), 1112},
        {6, 0, S(10), 9000},
    };
    graph_t *g = NULL;
    ck_assert_int_eq(graph_new(7, toy_lat, toy_lon, e, sizeof(e) / sizeof(e[0]), NULL, &g), 0);
    return g;
}

START_TEST(test_graph_build)
{
    graph_t *g = toy_graph();
    ck_assert_uint_eq(g->n_vertices, 7);
    ck_assert_uint_eq(g->n_arcs, 13);
    /* Out-degrees 2,3,1,2,2,2,1 and in-degrees 3,2,2,2,3,1,0. */
    uint32_t outd[7] = {2, 3, 1, 2, 2, 2, 1}, ind[7] = {3, 2, 2, 2, 3, 1, 0};
    for (uint32_t v = 0; v < 7; v++) {
        ck_assert_uint_eq(g->out_first[v + 1] - g->out_first[v], outd[v]);
        ck_assert_uint_eq(g->in_first[v + 1] - g->in_first[v], ind[v]);
        for (uint32_t a = g->out_first[v]; a < g->out_first[v + 1]; a++)
            ck_assert_uint_eq(g->arc_tail[a], v);
        for (uint32_t s = g->in_first[v]; s < g->in_first[v + 1]; s++) {
            ck_assert_uint_eq(g->arc_head[g->in_arc[s]], v);
            ck_assert_uint_eq(g->arc_tail[g->in_arc[s]], g->in_tail[s]);
            ck_assert_int_eq(g->arc_cost[g->in_arc[s]], g->in_cost[s]);
        }
    }
    uint32_t a14 = graph_find_arc(g, 1, 4);
    ck_assert_uint_ne(a14, GRAPH_NONE);
    ck_assert_int_eq(g->arc_cost[a14], S(20));
    ck_assert_uint_eq(graph_find_arc(g, 4, 1), GRAPH_NONE);
    graph_free(g);

    /* Invalid input is refused. */
    graph_edge_t bad_v = {0, 7, 1, 0}, bad_c = {0, 1, -1, 0};
    ck_assert_int_eq(graph_new(7, NULL, NULL, &bad_v, 1, NULL, &g), GL_EINVAL);
    ck_assert_int_eq(graph_new(7, NULL, NULL, &bad_c, 1, NULL, &g), GL_EINVAL);
    double bad_lat[2] = {91, 0}, lon2[2] = {0, 0};
    ck_assert_int_eq(graph_new(2, bad_lat, lon2, NULL, 0, NULL, &g), GL_EINVAL);
    graph_free(NULL);
}
END_TEST

/* Hand-computed costs from vertex 0 (see the drawing): 0, 60, 120, 100, 80, 110, unreachable. */
static const int64_t from0[7] = {S(0), S(60), S(120), S(100), S(80), S(110), INF};
/* ... and to vertex 0: 1->0 60; 2->1->0 120; 3->0 100; 4->3->0 130; 5->4->3->0 160; 6->0 10. */
static const int64_t to0[7] = {S(0), S(60), S(120), S(100), S(130), S(160), S(10)};

START_TEST(test_dijkstra_toy)
{
    graph_t *g = toy_graph();
    route_ws_t *ws = route_ws_new(g);
    ck_assert_ptr_nonnull(ws);
    route_pos_t p0 = route_pos_vertex(0);
    for (uint32_t v = 0; v < 7; v++) {
        route_pos_t pv = route_pos_vertex(v);
        int64_t c = -1;
        int rc = route_one_to_one(ws, &p0, &pv, INF, &c);
        if (from0[v] == INF) {
            ck_assert_int_eq(rc, GL_ENOENT);
        } else {
            ck_assert_int_eq(rc, 0);
            ck_assert_int_eq(c, from0[v]);
        }
        ck_assert_int_eq(route_one_to_one(ws, &pv, &p0, INF, &c), 0);
        ck_assert_int_eq(c, to0[v]);
    }
    /* One-ways: 2 -> 5 must go round by 1 -> 4 (60 + 20 + 30); 5 -> 2 takes the one-way 100. */
    route_pos_t p2 = route_pos_vertex(2), p5 = route_pos_vertex(5);
    int64_t c;
    ck_assert_int_eq(route_one_to_one(ws, &p2, &p5, INF, &c), 0);
    ck_assert_int_eq(c, S(110));
    ck_assert_int_eq(route_one_to_one(ws, &p5, &p2, INF, &c), 0);
    ck_assert_int_eq(c, S(100));
    /* The bound: 0 -> 5 costs 110 s. */
    ck_assert_int_eq(route_one_to_one(ws, &p0, &p5, S(109), &c), GL_ENOENT);
    ck_assert_int_eq(route_one_to_one(ws, &p0, &p5, S(110), &c), 0);
    ck_assert_int_eq(c, S(110));

    /* One forward search and one reverse search give the same tables. */
    route_pos_t all[7];
    for (uint32_t v = 0; v < 7; v++)
        all[v] = route_pos_vertex(v);
    int64_t out[7];
    ck_assert_int_eq(route_one_to_many(ws, &p0, all, 7, INF, out), 0);
    for (uint32_t v = 0; v < 7; v++)
        ck_assert_int_eq(out[v], from0[v]);
    ck_assert_int_eq(route_many_to_one(ws, all, 7, &p0, INF, out), 0);
    for (uint32_t v = 0; v < 7; v++)
        ck_assert_int_eq(out[v], to0[v]);
    /* Bounded many-to-one: only those within 100 s. */
    ck_assert_int_eq(route_many_to_one(ws, all, 7, &p0, S(100), out), 0);
    for (uint32_t v = 0; v < 7; v++)
        ck_assert_int_eq(out[v], to0[v] <= S(100) ? to0[v] : INF);

    /* The path 0 -> 5 by parent arcs: 5 <- 4 <- 1 <- 0. */
    ck_assert_int_eq(route_one_to_one(ws, &p0, &p5, INF, &c), 0);
    uint32_t a = route_ws_parent_arc(ws, 5);
    ck_assert_uint_eq(g->arc_tail[a], 4);
    a = route_ws_parent_arc(ws, 4);
    ck_assert_uint_eq(g->arc_tail[a], 1);
    ck_assert_uint_eq(route_ws_parent_arc(ws, 0), GRAPH_NONE);

    /* Errors. */
    route_pos_t bad = route_pos_vertex(7);
    ck_assert_int_eq(route_one_to_one(ws, &p0, &bad, INF, &c), GL_EINVAL);
    route_seed_t neg = {0, -1};
    ck_assert_int_eq(route_search(ws, 0, &neg, 1, INF, NULL, 0), GL_EINVAL);
    route_ws_free(ws);
    graph_free(g);
}
END_TEST

START_TEST(test_snap_toy)
{
    graph_t *g = toy_graph();
    snap_t *s = NULL;
    ck_assert_int_eq(snap_new(g, 0, &s), 0);
    route_ws_t *ws = route_ws_new(g);
    snap_hit_t h;

    /* 33 m north of the midpoint of the two-way road 0-1: snaps to its middle, with a twin. */
    ck_assert_int_eq(snap_point(s, 32.0003, 118.805, SNAP_DEFAULT_MAX_M, &h), 0);
    ck_assert_uint_ne(h.pos.twin, GRAPH_NONE);
    uint32_t u = g->arc_tail[h.pos.arc], v = g->arc_head[h.pos.arc];
    ck_assert((u == 0 && v == 1) || (u == 1 && v == 0));
    ck_assert_double_eq_tol(h.pos.frac, 0.5, 1e-9);
    ck_assert_double_eq_tol(h.lat, 32.0, 1e-9);
    ck_assert_double_eq_tol(h.lon, 118.805, 1e-9);
    ck_assert_double_eq_tol(h.distance_m, geo_distance_m(32.0003, 118.805, 32.0, 118.805), 1e-6);
    route_pos_t m = h.pos;
    /* From the midpoint M: 30 s either way to 0 or 1; 4 by 1->4 in 50; 2 in 90; 3 by
     * M-1-4-3 in 80 (cheaper than M-0-3 in 130). To M from 4: 4-3-0-M = 160. */
    int64_t want_from_m[6] = {S(30), S(30), S(90), S(80), S(50), S(80)};
    for (uint32_t x = 0; x < 6; x++) {
        route_pos_t px = route_pos_vertex(x);
        int64_t c;
        ck_assert_int_eq(route_one_to_one(ws, &m, &px, INF, &c), 0);
        ck_assert_int_eq(c, want_from_m[x]);
    }
    route_pos_t p4 = route_pos_vertex(4);
    int64_t c;
    ck_assert_int_eq(route_one_to_one(ws, &p4, &m, INF, &c), 0);
    ck_assert_int_eq(c, S(160));

    /* A point beside the one-way 1->4, half way: no twin; leaving it only towards 4 (10 s), so
     * back to 1 is 10 + 4-3-0-1 (30+100+60) = 200; reaching it from 0 is 60 + 10. */
    ck_assert_int_eq(snap_point(s, 32.005, 118.8101, SNAP_DEFAULT_MAX_M, &h), 0);
    ck_assert_uint_eq(g->arc_tail[h.pos.arc], 1);
    ck_assert_uint_eq(g->arc_head[h.pos.arc], 4);
    ck_assert_uint_eq(h.pos.twin, GRAPH_NONE);
    ck_assert_double_eq_tol(h.pos.frac, 0.5, 1e-6);
    route_pos_t ow = h.pos, p1 = route_pos_vertex(1), p0 = route_pos_vertex(0);
    ck_assert_int_eq(route_one_to_one(ws, &ow, &p4, INF, &c), 0);
    ck_assert_int_eq(c, S(10));
    ck_assert_int_eq(route_one_to_one(ws, &ow, &p1, INF, &c), 0);
    ck_assert_int_eq(c, S(200));
    ck_assert_int_eq(route_one_to_one(ws, &p0, &ow, INF, &c), 0);
    ck_assert_int_eq(c, S(70));

    /* Two positions on the same road: M to Q (3/4 of the way from 0 to 1) is 15 s, directly
     * along the road, and back 15 s along the twin. */
    uint32_t a01 = graph_find_arc(g, 0, 1);
    route_pos_t q = snap_pos_on_arc(s, a01, 0.75);
    ck_assert_int_eq(route_one_to_one(ws, &m, &q, INF, &c), 0);
    ck_assert_int_eq(c, S(15));
    ck_assert_int_eq(route_one_to_one(ws, &q, &m, INF, &c), 0);
    ck_assert_int_eq(c, S(15));

    /* Too far from any road: 110 km north; and the 9 m point with a 5 m limit. */
    ck_assert_int_eq(snap_point(s, 33.0, 118.8, SNAP_DEFAULT_MAX_M, &h), GL_ENOENT);
    ck_assert_int_eq(snap_point(s, 32.005, 118.8101, 5.0, &h), GL_ENOENT);
    ck_assert_int_eq(snap_point(s, 95.0, 118.8, SNAP_DEFAULT_MAX_M, &h), GL_EINVAL);
    snap_t *none = NULL;
    graph_edge_t e = {0, 1, 1, 1};
    graph_t *nc = NULL;
    ck_assert_int_eq(graph_new(2, NULL, NULL, &e, 1, NULL, &nc), 0);
    ck_assert_int_eq(snap_new(nc, 0, &none), GL_EINVAL);
    graph_free(nc);
    route_ws_free(ws);
    snap_free(s);
    graph_free(g);
}
END_TEST

static int has_reach(const route_reach_t *r, size_t n, uint32_t arc, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        if (r[i].arc == arc && fabs(r[i].from_frac - lo) < 1e-9 && fabs(r[i].to_frac - hi) < 1e-9)
            return 1;
    return 0;
}

START_TEST(test_isochrone_toy)
{
    graph_t *g = toy_graph();
    route_ws_t *ws = route_ws_new(g);
    route_pos_t p0 = route_pos_vertex(0);
    /* Within 90 s of 0: vertices 0 (0), 1 (60), 4 (80); not 3 (100) nor 5 (110). */
    ck_assert_int_eq(route_isochrone(ws, &p0, 1, S(90)), 0);
    size_t n;
    const uint32_t *set = route_ws_settled(ws, &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(set[0], 0);
    ck_assert_uint_eq(set[1], 1);
    ck_assert_uint_eq(set[2], 4);
    ck_assert_int_eq(route_ws_cost(ws, 4), S(80));
    ck_assert_int_eq(route_ws_cost(ws, 3), INF);
    /* Arc pieces: from 0 (90 s left): 0->1 whole, 0->3 90 %; from 1 (30 s left):
     * 1->0 and 1->2 half, 1->4 whole; from 4 (10 s left): a third of 4->3 and of 4->5. */
    route_reach_t r[32];
    size_t k = route_isochrone_arcs(ws, &p0, 1, S(90), r, 32);
    ck_assert_uint_eq(k, 2 + 3 + 2);
    ck_assert(has_reach(r, k, graph_find_arc(g, 0, 1), 0, 1));
    ck_assert(has_reach(r, k, graph_find_arc(g, 0, 3), 0, 0.9));
    ck_assert(has_reach(r, k, graph_find_arc(g, 1, 0), 0, 0.5));
    ck_assert(has_reach(r, k, graph_find_arc(g, 1, 2), 0, 0.5));
    ck_assert(has_reach(r, k, graph_find_arc(g, 1, 4), 0, 1));
    ck_assert(has_reach(r, k, graph_find_arc(g, 4, 3), 0, 1.0 / 3));
    ck_assert(has_reach(r, k, graph_find_arc(g, 4, 5), 0, 1.0 / 3));
    /* The boundary is inclusive: 4 is at exactly 80 s. */
    ck_assert_int_eq(route_isochrone(ws, &p0, 1, S(80)), 0);
    ck_assert_int_eq(route_ws_cost(ws, 4), S(80));
    ck_assert_int_eq(route_isochrone(ws, &p0, 1, S(80) - 1), 0);
    ck_assert_int_eq(route_ws_cost(ws, 4), INF);
    route_ws_settled(ws, &n);
    ck_assert_uint_eq(n, 2);
    /* Two sources, 3 and 5: within 30 s also 4 (30 s from both); within 10 s only 3 and 5. */
    route_pos_t two[2] = {route_pos_vertex(3), route_pos_vertex(5)};
    ck_assert_int_eq(route_isochrone(ws, two, 2, S(30)), 0);
    route_ws_settled(ws, &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(route_ws_cost(ws, 4), S(30));
    ck_assert_int_eq(route_isochrone(ws, two, 2, S(10)), 0);
    route_ws_settled(ws, &n);
    ck_assert_uint_eq(n, 2);
    route_ws_free(ws);
    graph_free(g);
}
END_TEST

START_TEST(test_ch_toy)
{
    graph_t *g = toy_graph();
    ch_t *ch = NULL;
    ch_stats_t st;
    ck_assert_int_eq(ch_build(g, &ch, &st), 0);
    route_pos_t p0 = route_pos_vertex(0);
    for (uint32_t v = 0; v < 7; v++) {
        route_pos_t pv = route_pos_vertex(v);
        int64_t c = -1;
        int rc = ch_one_to_one(ch, &p0, &pv, INF, &c);
        if (from0[v] == INF) {
            ck_assert_int_eq(rc, GL_ENOENT);
        } else {
            ck_assert_int_eq(rc, 0);
            ck_assert_int_eq(c, from0[v]);
        }
        ck_assert_int_eq(ch_one_to_one(ch, &pv, &p0, INF, &c), 0);
        ck_assert_int_eq(c, to0[v]);
    }
    /* Units at every vertex (id = vertex), ETAs to 0 by buckets. */
    for (uint32_t v = 0; v < 7; v++) {
        route_pos_t pv = route_pos_vertex(v);
        ck_assert_int_eq(ch_unit_set(ch, v, &pv), 0);
        ck_assert_uint_gt(ch_unit_entries(ch, v), 0);
    }
    int64_t out[8];
    ck_assert_int_eq(ch_eta_to(ch, &p0, INF, out, 8), 0);
    for (uint32_t v = 0; v < 7; v++)
        ck_assert_int_eq(out[v], to0[v]);
    ck_assert_int_eq(out[7], INF); /* never placed */
    /* Unit 6 leaves; unit 5 moves to the one-way 1->4, half way: 10 + 4-3-0 = 140. */
    ch_unit_remove(ch, 6);
    snap_t *s = NULL;
    ck_assert_int_eq(snap_new(g, 0, &s), 0);
    route_pos_t ow = snap_pos_on_arc(s, graph_find_arc(g, 1, 4), 0.5);
    ck_assert_int_eq(ch_unit_set(ch, 5, &ow), 0);
    ck_assert_int_eq(ch_eta_to(ch, &p0, INF, out, 8), 0);
    ck_assert_int_eq(out[6], INF);
    ck_assert_int_eq(out[5], S(140));
    ck_assert_int_eq(out[4], S(130));
    /* Target on the same road as a unit: unit 0 at 0->1 a quarter, incident at three quarters. */
    route_pos_t a = snap_pos_on_arc(s, graph_find_arc(g, 0, 1), 0.25);
    route_pos_t b = snap_pos_on_arc(s, graph_find_arc(g, 0, 1), 0.75);
    ck_assert_int_eq(ch_unit_set(ch, 0, &a), 0);
    ck_assert_int_eq(ch_eta_to(ch, &b, INF, out, 8), 0);
    ck_assert_int_eq(out[0], S(30));
    ck_assert_int_eq(ch_eta_to(ch, &b, S(29), out, 8), 0);
    ck_assert_int_eq(out[0], INF);
    route_pos_t bad = route_pos_vertex(99);
    ck_assert_int_eq(ch_unit_set(ch, 1, &bad), GL_EINVAL);
    snap_free(s);
    ch_free(ch);
    ch_free(NULL);
    graph_free(g);
}
END_TEST

/* Random small directed graphs (some one-way arcs, parallel arcs, zero costs): the CH must equal
 * Dijkstra on every pair, and bucket ETAs must equal a reverse search. */
START_TEST(test_ch_random_small)
{
    rng_state = 42;
    for (int round = 0; round < 20; round++) {
        uint32_t n = 20 + rng_below(80);
        size_t m = n * (2 + rng_below(3));
        graph_edge_t *e = calloc(m, sizeof(*e));
        for (size_t i = 0; i < m; i++) {
            e[i].from = rng_below(n);
            e[i].to = rng_below(n);
            e[i].cost = rng_below(8) == 0 ? 0 : (int64_t)rng_below(1000000);
        }
        graph_t *g = NULL;
        ck_assert_int_eq(graph_new(n, NULL, NULL, e, m, NULL, &g), 0);
        ch_t *ch = NULL;
        ck_assert_int_eq(ch_build(g, &ch, NULL), 0);
        route_ws_t *ws = route_ws_new(g);
        int64_t *dij = malloc(n * sizeof(int64_t)), *eta = malloc(n * sizeof(int64_t));
        route_pos_t *all = malloc(n * sizeof(route_pos_t));
        for (uint32_t v = 0; v < n; v++) {
            all[v] = route_pos_vertex(v);
            ck_assert_int_eq(ch_unit_set(ch, v, &all[v]), 0);
        }
        for (uint32_t s = 0; s < n; s++) {
            ck_assert_int_eq(route_one_to_many(ws, &all[s], all, n, INF, dij), 0);
            for (uint32_t t = 0; t < n; t++) {
                int64_t c = -1;
                int rc = ch_one_to_one(ch, &all[s], &all[t], INF, &c);
                if (dij[t] == INF)
                    ck_assert_int_eq(rc, GL_ENOENT);
                else
                    ck_assert_int_eq(c, dij[t]);
            }
            ck_assert_int_eq(route_many_to_one(ws, all, n, &all[s], INF, dij), 0);
            ck_assert_int_eq(ch_eta_to(ch, &all[s], INF, eta, n), 0);
            for (uint32_t t = 0; t < n; t++)
                ck_assert_int_eq(eta[t], dij[t]);
        }
        free(all);
        free(dij);
        free(eta);
        route_ws_free(ws);
        ch_free(ch);
        graph_free(g);
        free(e);
    }
}
END_TEST

START_TEST(test_parse_micro)
{
    int64_t v;
    const char *end;
    ck_assert_int_eq(roads_parse_micro("58.810622 x", &end, &v), 0);
    ck_assert_int_eq(v, 58810622);
    ck_assert_str_eq(end, " x");
    ck_assert_int_eq(roads_parse_micro("0", NULL, &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(roads_parse_micro("12.5", NULL, &v), 0);
    ck_assert_int_eq(v, 12500000);
    ck_assert_int_eq(roads_parse_micro("1.1234567", NULL, &v), GL_EPROTO);
    ck_assert_int_eq(roads_parse_micro("-1", NULL, &v), GL_EPROTO);
    ck_assert_int_eq(roads_parse_micro("x", NULL, &v), GL_EPROTO);
}
END_TEST

/* ---- reference costs from SOURCE.txt -------------------------------------------------------- */

typedef struct ref {
    char section[16]; /* "Nanjing", "Xian", "NY", "BAY" */
    uint32_t s, t;
    int64_t v[2]; /* city: distance um, time us; NY: t cost, d cost; BAY: d cost */
    int nv;
} ref_t;

/*
 * Reads the reference tables of a SOURCE.txt: a line "<Name>  source -> target ..." opens a
 * section, then lines "#k  S -> T  values". City values are the exact integers in parentheses;
 * DIMACS values are integers with thousands separators.
 */
static int read_refs(const char *path, ref_t *refs, int max)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[512], section[16] = "";
    int n = 0;
    while (fgets(line, sizeof(line), f)) {
        char *p = line;
        while (*p == ' ')
            p++;
        if (strstr(p, "source -> target")) {
            size_t k = 0;
            for (; *p && *p != ' ' && k + 1 < sizeof(section); p++)
                if (*p != '\'')
                    section[k++] = *p;
            section[k] = '\0';
            continue;
        }
        unsigned idx, s, t;
        int used = 0;
        if (!section[0] || *p != '#' || sscanf(p, "#%u %u -> %u%n", &idx, &s, &t, &used) != 3)
            continue;
        ck_assert_int_lt(n, max);
        ref_t *r = &refs[n++];
        memset(r, 0, sizeof(*r));
        snprintf(r->section, sizeof(r->section), "%s", section);
        r->s = s;
        r->t = t;
        const char *q = p + used;
        if (strchr(q, '(')) {
            while ((q = strchr(q, '(')) && r->nv < 2)
                r->v[r->nv++] = strtoll(++q, NULL, 10);
        } else {
            char digits[64];
            while (*q && r->nv < 2) {
                while (*q == ' ')
                    q++;
                size_t k = 0;
                for (; (*q >= '0' && *q <= '9') || *q == ','; q++)
                    if (*q != ',' && k + 1 < sizeof(digits))
                        digits[k++] = *q;
                digits[k] = '\0';
                if (k == 0)
                    break;
                r->v[r->nv++] = strtoll(digits, NULL, 10);
            }
        }
    }
    fclose(f);
    return n;
}

static int64_t dijkstra_vertices(route_ws_t *ws, uint32_t s, uint32_t t)
{
    route_pos_t a = route_pos_vertex(s), b = route_pos_vertex(t);
    int64_t c = INF;
    ck_assert_int_eq(route_one_to_one(ws, &a, &b, INF, &c), 0);
    return c;
}

START_TEST(test_reference_cities)
{
    if (!have_data())
        return;
    ref_t refs[32];
    int n = read_refs(CITIES "/SOURCE.txt", refs, 32);
    ck_assert_int_eq(n, 15); /* 5 pairs for each of 3 cities */
    const char *cities[3] = {"Nanjing", "Xian", "Haikou"};
    for (int c = 0; c < 3; c++) {
        for (int metric = 0; metric < 2; metric++) {
            graph_t *g = NULL;
            double t0 = now_ms();
            int rc = roads_load_city(CITIES, cities[c],
                                     metric ? ROADS_COST_TIME : ROADS_COST_LENGTH, &g);
            ck_assert_int_eq(rc, 0);
            printf("check_route: %s %s loaded in %.0f ms: %u vertices, %u arcs\n", cities[c],
                   metric ? "time" : "length", now_ms() - t0, g->n_vertices, g->n_arcs);
            route_ws_t *ws = route_ws_new(g);
            int checked = 0;
            for (int i = 0; i < n; i++) {
                if (strcmp(refs[i].section, cities[c]) != 0)
                    continue;
                ck_assert_int_eq(refs[i].nv, 2);
                ck_assert_int_eq(dijkstra_vertices(ws, refs[i].s, refs[i].t), refs[i].v[metric]);
                /* The graphs are symmetric: the reverse query costs the same. */
                ck_assert_int_eq(dijkstra_vertices(ws, refs[i].t, refs[i].s), refs[i].v[metric]);
                checked++;
            }
            ck_assert_int_eq(checked, 5);
            route_ws_free(ws);
            graph_free(g);
        }
    }
}
END_TEST

START_TEST(test_reference_dimacs)
{
    if (!have_data())
        return;
    ref_t refs[32];
    int n = read_refs(DIMACS "/SOURCE.txt", refs, 32);
    ck_assert_int_eq(n, 10);
    struct {
        const char *section, *gr, *len, *co;
        int value;
    } runs[3] = {
        {"NY", DIMACS "/USA-road-t.NY.gr.gz", DIMACS "/USA-road-d.NY.gr.gz",
         DIMACS "/USA-road-d.NY.co.gz", 0},
        {"NY", DIMACS "/USA-road-d.NY.gr.gz", NULL, NULL, 1},
        {"BAY", DIMACS "/USA-road-d.BAY.gr.gz", NULL, NULL, 0},
    };
    for (int r = 0; r < 3; r++) {
        graph_t *g = NULL;
        double t0 = now_ms();
        ck_assert_int_eq(roads_load_dimacs(runs[r].gr, runs[r].len, runs[r].co, &g), 0);
        printf("check_route: %s loaded in %.0f ms: %u vertices, %u arcs\n", runs[r].gr,
               now_ms() - t0, g->n_vertices, g->n_arcs);
        if (runs[r].co) {
            ck_assert_ptr_nonnull(g->lat);
            ck_assert(g->lat[0] > 40.2 && g->lat[0] < 41.4 && g->lon[0] > -74.6 &&
                      g->lon[0] < -73.4);
        }
        route_ws_t *ws = route_ws_new(g);
        int checked = 0;
        for (int i = 0; i < n; i++) {
            if (strcmp(refs[i].section, runs[r].section) != 0)
                continue;
            ck_assert_int_gt(refs[i].nv, runs[r].value);
            int64_t want = refs[i].v[runs[r].value];
            ck_assert_int_eq(dijkstra_vertices(ws, refs[i].s - 1, refs[i].t - 1), want);
            checked++;
        }
        ck_assert_int_eq(checked, 5);
        route_ws_free(ws);
        graph_free(g);
    }
}
END_TEST

/* ---- CH and snapping on real cities --------------------------------------------------------- */

/* Snap against brute force: the nearest segment by the same planar rule, over every arc. */
static void check_snap_brute(const graph_t *g, const snap_t *s)
{
    const double deg_m = GEO_EARTH_RADIUS_M * M_PI / 180.0;
    for (int q = 0; q < 200; q++) {
        uint32_t v = rng_below(g->n_vertices);
        double lat = g->lat[v] + (rng_unit() - 0.5) * 0.02;
        double lon = g->lon[v] + (rng_unit() - 0.5) * 0.02;
        double kx = deg_m * cos(lat * M_PI / 180.0), best = INFINITY;
        for (uint32_t a = 0; a < g->n_arcs; a++) {
            uint32_t x = g->arc_tail[a], y = g->arc_head[a];
            double ux = (g->lon[x] - lon) * kx, uy = (g->lat[x] - lat) * deg_m;
            double dx = (g->lon[y] - lon) * kx - ux, dy = (g->lat[y] - lat) * deg_m - uy;
            double l2 = dx * dx + dy * dy, t = l2 > 0 ? -(ux * dx + uy * dy) / l2 : 0;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            double px = ux + t * dx, py = uy + t * dy;
            best = fmin(best, px * px + py * py);
        }
        snap_hit_t h;
        int rc = snap_point(s, lat, lon, SNAP_DEFAULT_MAX_M, &h);
        if (sqrt(best) > SNAP_DEFAULT_MAX_M * 1.01) {
            ck_assert_int_eq(rc, GL_ENOENT);
            continue;
        }
        if (rc == GL_ENOENT) { /* only at the very limit, where planar and sphere disagree */
            ck_assert(sqrt(best) > SNAP_DEFAULT_MAX_M * 0.99);
            continue;
        }
        ck_assert_int_eq(rc, 0);
        /* Same planar distance as the best segment (the arc may be a different one on ties). */
        uint32_t x = g->arc_tail[h.pos.arc], y = g->arc_head[h.pos.arc];
        double ux = (g->lon[x] - lon) * kx, uy = (g->lat[x] - lat) * deg_m;
        double px = ux + h.pos.frac * ((g->lon[y] - lon) * kx - ux);
        double py = uy + h.pos.frac * ((g->lat[y] - lat) * deg_m - uy);
        ck_assert_double_eq_tol(sqrt(px * px + py * py), sqrt(best), 1e-6);
        ck_assert_double_eq_tol(h.distance_m, sqrt(best), 0.01 * sqrt(best) + 0.01);
    }
}

/* A random position: a random arc, a random fraction. */
static route_pos_t random_pos(const graph_t *g, const snap_t *s)
{
    return snap_pos_on_arc(s, rng_below(g->n_arcs), rng_unit());
}

static void check_ch_city(const char *city)
{
    graph_t *g = NULL;
    double t0 = now_ms();
    ck_assert_int_eq(roads_load_city(CITIES, city, ROADS_COST_TIME, &g), 0);
    double t_load = now_ms() - t0;
    snap_t *s = NULL;
    t0 = now_ms();
    ck_assert_int_eq(snap_new(g, 0, &s), 0);
    double t_snap = now_ms() - t0;
    check_snap_brute(g, s);
    route_ws_t *ws = route_ws_new(g);

    /* One complete reverse search (every vertex's time to one point). */
    route_seed_t seed = {rng_below(g->n_vertices), 0};
    t0 = now_ms();
    ck_assert_int_eq(route_search(ws, 1, &seed, 1, INF, NULL, 0), 0);
    double t_rev = now_ms() - t0;

    ch_t *ch = NULL;
    ch_stats_t st;
    ck_assert_int_eq(ch_build(g, &ch, &st), 0);

    /* 1,000 random pairs of positions: CH == Dijkstra. */
    double t_dij = 0, t_ch = 0;
    for (int i = 0; i < 1000; i++) {
        route_pos_t a = random_pos(g, s), b = random_pos(g, s);
        int64_t want = -1, got = -2;
        t0 = now_ms();
        ck_assert_int_eq(route_one_to_one(ws, &a, &b, INF, &want), 0);
        t_dij += now_ms() - t0;
        t0 = now_ms();
        ck_assert_int_eq(ch_one_to_one(ch, &a, &b, INF, &got), 0);
        t_ch += now_ms() - t0;
        ck_assert_int_eq(got, want);
    }

    /* 200 units, several incidents, units moving in between: buckets == 200 one-to-one
     * Dijkstras == one reverse Dijkstra. */
    enum { UNITS = 200 };
    route_pos_t units[UNITS];
    int64_t eta[UNITS], rev[UNITS];
    double t_set = 0, t_eta = 0, t_m21 = 0;
    int n_set = 0, n_eta = 0;
    for (uint32_t u = 0; u < UNITS; u++) {
        units[u] = random_pos(g, s);
        t0 = now_ms();
        ck_assert_int_eq(ch_unit_set(ch, u, &units[u]), 0);
        t_set += now_ms() - t0;
        n_set++;
    }
    for (int round = 0; round < 3; round++) {
        route_pos_t inc = random_pos(g, s);
        t0 = now_ms();
        ck_assert_int_eq(ch_eta_to(ch, &inc, INF, eta, UNITS), 0);
        t_eta += now_ms() - t0;
        n_eta++;
        t0 = now_ms();
        ck_assert_int_eq(route_many_to_one(ws, units, UNITS, &inc, INF, rev), 0);
        t_m21 += now_ms() - t0;
        for (uint32_t u = 0; u < UNITS; u++) {
            int64_t want = -1;
            ck_assert_int_eq(route_one_to_one(ws, &units[u], &inc, INF, &want), 0);
            ck_assert_int_eq(eta[u], want);
            ck_assert_int_eq(rev[u], want);
        }
        /* A 15-minute bound drops exactly the units beyond it. */
        ck_assert_int_eq(ch_eta_to(ch, &inc, S(900), eta, UNITS), 0);
        for (uint32_t u = 0; u < UNITS; u++)
            ck_assert_int_eq(eta[u], rev[u] <= S(900) ? rev[u] : INF);
        /* A quarter of the units move. */
        for (uint32_t u = 0; u < UNITS; u += 4) {
            units[u] = random_pos(g, s);
            t0 = now_ms();
            ck_assert_int_eq(ch_unit_set(ch, u, &units[u]), 0);
            t_set += now_ms() - t0;
            n_set++;
        }
    }
    printf("check_route: %s: load %.0f ms, snap grid %.0f ms, one reverse Dijkstra %.2f ms, "
           "CH build %.2f s (%u shortcuts), one-to-one Dijkstra %.3f ms vs CH %.4f ms, "
           "unit set %.4f ms, 200-to-1 CH %.3f ms vs reverse Dijkstra %.2f ms\n",
           city, t_load, t_snap, t_rev, st.build_s, st.shortcuts, t_dij / 1000, t_ch / 1000,
           t_set / n_set, t_eta / n_eta, t_m21 / n_eta);
    ch_free(ch);
    route_ws_free(ws);
    snap_free(s);
    graph_free(g);
}

START_TEST(test_ch_cities)
{
    if (!have_data())
        return;
    const char *env = getenv("GL_ROUTE_CH_CITIES");
    char list[256];
    snprintf(list, sizeof(list), "%s", env && *env ? env : "Nanjing");
    rng_state = 120;
    char *save = NULL;
    for (char *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save))
        check_ch_city(c);
}
END_TEST

static Suite *route_suite(void)
{
    Suite *s = suite_create("route");
    TCase *core = tcase_create("Core");
    tcase_add_test(core, test_graph_build);
    tcase_add_test(core, test_dijkstra_toy);
    tcase_add_test(core, test_snap_toy);
    tcase_add_test(core, test_isochrone_toy);
    tcase_add_test(core, test_ch_toy);
    tcase_add_test(core, test_ch_random_small);
    tcase_add_test(core, test_parse_micro);
    tcase_set_timeout(core, 60);
    suite_add_tcase(s, core);
    TCase *real = tcase_create("Real");
    tcase_add_test(real, test_reference_cities);
    tcase_add_test(real, test_reference_dimacs);
    tcase_add_test(real, test_ch_cities);
    tcase_set_timeout(real, 600);
    suite_add_tcase(s, real);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(route_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
