/*
 * Unit tests of road closures and slowdowns: the closure table (dispatcher/closures.c), the
 * cost overlay and line selection (geo/overlay.c), the ETAs while the hierarchy is rebuilt and
 * after (dispatcher/roads.c), and the ops and journal op (dispatcher/api_roads.c) end to end
 * through the core, with no socket and no database.
 *
 * The small graph, hand-computed. Four crossroads near Guixi, every road two-way:
 *
 *        D (28.31, 117.21)
 *      /   \            A-B 60 s (way 1001)   B-C 60 s (way 1002)
 *     /     \           A-D 100 s (way 1003)  D-C 100 s (way 1004)
 *    A---B---C          A (28.30, 117.20), B (28.30, 117.21), C (28.30, 117.22)
 *
 * A unit at A reaches C in 120 s by B. With B-C closed it must go round by D: 200 s. With A-B
 * slowed x2: 60 x 2 + 60 = 180 s (still better than 200). With A-B slowed x3: 180 + 60 = 240 s,
 * so D's 200 s wins. Reopened or expired: 120 s again.
 *
 * On Nanjing (../shared/data/roads, skipped when absent) one case measures closure_apply_ms:
 * from the closure entering the table to the first recommendation (200 units) that honours it.
 */
#include "api.h"
#include "api_roads.h"
#include "closures.h"
#include "ctl_args.h"
#include "dispatch.h"
#include "err.h"
#include "journal.h"
#include "overlay.h"
#include "roads.h"
#include "roads_file.h"
#include "timeutil.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define T0 1795564800000LL /* 2026-11-25T00:00:00Z */
#define S(x) ((int64_t)(x)*1000000)

enum { VA, VB, VC, VD };
static const double vlat[] = {28.30, 28.30, 28.30, 28.31};
static const double vlon[] = {117.20, 117.21, 117.22, 117.21};
static const struct {
    int u, v, s;
    int64_t way;
} roads_def[] = {{VA, VB, 60, 1001}, {VB, VC, 60, 1002}, {VA, VD, 100, 1003}, {VD, VC, 100, 1004}};

/* The little graph as roads_t, with its OSM ways. */
static roads_t *small_roads(void)
{
    graph_edge_t e[8];
    int64_t way[8];
    uint32_t arc_id[8];
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        e[n] = (graph_edge_t){(uint32_t)roads_def[i].u, (uint32_t)roads_def[i].v, S(roads_def[i].s),
                              1000};
        way[n++] = roads_def[i].way;
        e[n] = (graph_edge_t){(uint32_t)roads_def[i].v, (uint32_t)roads_def[i].u, S(roads_def[i].s),
                              1000};
        way[n++] = roads_def[i].way;
    }
    graph_t *g;
    ck_assert_int_eq(graph_new(4, vlat, vlon, e, n, arc_id, &g), 0);
    roads_t *r;
    ck_assert_int_eq(roads_new(g, &r), 0);
    ck_assert_int_eq(roads_set_arc_ways(r, way, arc_id, n), 0);
    return r;
}

/* Unit 0's ETA to C in seconds (-1: none). */
static double eta_to_c(roads_t *r)
{
    double eta[1];
    ck_assert_int_eq(roads_eta_to(r, vlat[VC], vlon[VC], eta, 1), 0);
    return eta[0];
}

/* Adds closure `id` on way `way` with `factor`, expiring at `expires` (0: never). */
static void close_way(roads_t *r, const char *id, int64_t way, double factor, int64_t expires)
{
    closure_t c = {.factor = factor, .expires_ms = expires, .created_ms = T0};
    snprintf(c.id, sizeof c.id, "%s", id);
    snprintf(c.reason, sizeof c.reason, "test %s", id);
    ck_assert_int_eq(roads_way_arcs(r, way, &c.arcs, &c.narcs), 0);
    ck_assert_uint_eq(c.narcs, 2); /* both directions of a two-way road */
    ck_assert_int_eq(closures_set(roads_closures(r), &c), 0);
    free(c.arcs);
    ck_assert_int_eq(roads_closures_changed(r), 0);
}

static roads_t *small_with_unit(void)
{
    roads_t *r = small_roads();
    roads_unit_update(r, 0, 1, vlat[VA], vlon[VA], T0);
    ck_assert(roads_unit_placed(r, 0));
    ck_assert_double_eq_tol(eta_to_c(r), 120, 1e-9);
    return r;
}

/* ---- Core: the ETAs honour closures, slowdowns, reopening and expiry ------------------------ */

START_TEST(test_close_gives_detour)
{
    roads_t *r = small_with_unit();
    close_way(r, "RC1", 1002, 0, 0);
    /* the next ETA honours it at once, by plain search: the hierarchy is not rebuilt yet */
    ck_assert_int_eq(roads_hierarchy_current(r), 0);
    ck_assert_double_eq_tol(eta_to_c(r), 200, 1e-9);
    ck_assert_double_eq_tol(roads_travel_s(r, vlat[VA], vlon[VA], vlat[VC], vlon[VC]), 200, 1e-9);
    /* the rebuilt hierarchy agrees */
    ck_assert_int_eq(roads_rebuild_now(r), 0);
    ck_assert_int_eq(roads_hierarchy_current(r), 1);
    ck_assert_double_eq_tol(eta_to_c(r), 200, 1e-9);
    ck_assert_double_eq_tol(roads_travel_s(r, vlat[VA], vlon[VA], vlat[VC], vlon[VC]), 200, 1e-9);
    /* reopening restores the road at once, with the hierarchy as loaded */
    ck_assert_int_eq(closures_remove(roads_closures(r), "RC1"), 0);
    ck_assert_int_eq(roads_closures_changed(r), 0);
    ck_assert_int_eq(roads_hierarchy_current(r), 1);
    ck_assert_double_eq_tol(eta_to_c(r), 120, 1e-9);
    roads_free(r);
}
END_TEST

START_TEST(test_slowdown_multiplies)
{
    roads_t *r = small_with_unit();
    close_way(r, "RC1", 1001, 2.0, 0);
    ck_assert_double_eq_tol(eta_to_c(r), 180, 1e-9);
    ck_assert_int_eq(roads_rebuild_now(r), 0);
    ck_assert_double_eq_tol(eta_to_c(r), 180, 1e-9);
    /* a stronger slowdown on the same road: the largest factor applies, and D wins */
    close_way(r, "RC2", 1001, 3.0, 0);
    ck_assert_double_eq_tol(eta_to_c(r), 200, 1e-9);
    ck_assert_int_eq(closures_remove(roads_closures(r), "RC2"), 0);
    ck_assert_int_eq(roads_closures_changed(r), 0);
    ck_assert_double_eq_tol(eta_to_c(r), 180, 1e-9);
    /* a closure beats any slowdown on the same arcs: A-B closed, so A-D-C */
    close_way(r, "RC3", 1001, 0, 0);
    ck_assert_double_eq_tol(eta_to_c(r), 200, 1e-9);
    roads_free(r);
}
END_TEST

START_TEST(test_expiry_restores)
{
    roads_t *r = small_with_unit();
    close_way(r, "RC1", 1002, 0, T0 + 60000);
    ck_assert_double_eq_tol(eta_to_c(r), 200, 1e-9);
    ck_assert_uint_eq(roads_expire(r, T0 + 59999), 0);
    ck_assert_double_eq_tol(eta_to_c(r), 200, 1e-9);
    /* a unit's next fix after the expiry is enough to drop it */
    roads_unit_update(r, 0, 1, vlat[VA], vlon[VA], T0 + 60000);
    ck_assert_uint_eq(closures_count(roads_closures(r)), 0);
    ck_assert_double_eq_tol(eta_to_c(r), 120, 1e-9);
    roads_free(r);
}
END_TEST

START_TEST(test_unit_on_closed_road)
{
    /* A unit 30 % along A-B with A-B closed leaves from the nearer end, A: 200 s to C. An
     * incident in the middle of closed B-C is reached at its nearer end. */
    roads_t *r = small_roads();
    close_way(r, "RC1", 1001, 0, 0);
    roads_unit_update(r, 0, 1, vlat[VA], vlon[VA] + 0.003, T0);
    ck_assert(roads_unit_placed(r, 0));
    ck_assert_double_eq_tol(eta_to_c(r), 200, 1e-9);
    roads_free(r);
}
END_TEST

/* The golden-circle coverage honours closures: with B-C and D-C closed, C (1,000 people) is out
 * of reach of the unit at A and only B (500) stays covered; reopened, both are covered again, C
 * in 120 s. */
START_TEST(test_coverage_follows_closures)
{
    roads_t *r = small_roads();
    coverage_demand_t dm[2] = {{vlat[VB], vlon[VB], 500, COVERAGE_AREA_TOWN},
                               {vlat[VC], vlon[VC], 1000, COVERAGE_AREA_TOWN}};
    const char *names[2] = {"B", "C"};
    ck_assert_int_eq(roads_set_demand(r, dm, names, 2, NULL, NULL, NULL, 0), 0);
    roads_unit_update(r, 0, 1, vlat[VA], vlon[VA], T0);
    coverage_result_t cr;
    coverage_point_t pt;
    coverage_get(roads_coverage(r), &cr);
    ck_assert_uint_eq(cr.covered, 1500);

    close_way(r, "RC1", 1002, 0, 0);
    close_way(r, "RC2", 1004, 0, 0);
    coverage_get(roads_coverage(r), &cr);
    ck_assert_uint_eq(cr.covered, 500);
    ck_assert_uint_eq(cr.n_units, 1);
    ck_assert_int_eq(coverage_point(roads_coverage(r), 1, &pt), 0);
    ck_assert_int_eq(pt.covered, 0);
    ck_assert_int_eq(coverage_point(roads_coverage(r), 0, &pt), 0);
    ck_assert_int_eq(pt.covered, 1);
    ck_assert_int_eq(pt.best_us, S(60));

    /* a slowdown counts too: D-C reopened but ten times slower, C is 100 + 1,000 s by D (over
     * the 900 s limit) */
    ck_assert_int_eq(closures_remove(roads_closures(r), "RC2"), 0);
    close_way(r, "RC3", 1004, 10, 0);
    ck_assert_int_eq(coverage_point(roads_coverage(r), 1, &pt), 0);
    ck_assert_int_eq(pt.covered, 0);
    ck_assert_int_eq(pt.best_us, S(1100));

    ck_assert_int_eq(closures_remove(roads_closures(r), "RC1"), 0);
    ck_assert_int_eq(closures_remove(roads_closures(r), "RC3"), 0);
    ck_assert_int_eq(roads_closures_changed(r), 0);
    coverage_get(roads_coverage(r), &cr);
    ck_assert_uint_eq(cr.covered, 1500);
    ck_assert_int_eq(coverage_point(roads_coverage(r), 1, &pt), 0);
    ck_assert_int_eq(pt.best_us, S(120));
    roads_free(r);
}
END_TEST

/* A move-up station on a road closed every way counts from the road's nearer end, as a unit
 * there would: with A-B closed and B-C, D-C twenty times slower, the unit at C no longer covers
 * A (1,260 s); the station 30 % along A-B leaves from A and covers it. */
START_TEST(test_move_up_station_on_closed_road)
{
    roads_t *r = small_roads();
    coverage_demand_t dm[1] = {{vlat[VA], vlon[VA], 1000, COVERAGE_AREA_TOWN}};
    const char *names[1] = {"A"};
    double slat[1] = {vlat[VA]}, slon[1] = {vlon[VA] + 0.003};
    const char *sid[1] = {"S1"};
    ck_assert_int_eq(roads_set_demand(r, dm, names, 1, slat, slon, sid, 1), 0);
    roads_unit_update(r, 0, 1, vlat[VC], vlon[VC], T0);
    coverage_result_t cr;
    coverage_get(roads_coverage(r), &cr);
    ck_assert_uint_eq(cr.covered, 1000);
    close_way(r, "RC1", 1001, 0, 0);
    close_way(r, "RC2", 1002, 20, 0);
    close_way(r, "RC3", 1004, 20, 0);
    coverage_get(roads_coverage(r), &cr);
    ck_assert_uint_eq(cr.covered, 0);
    coverage_move_t mv;
    ck_assert_int_eq(roads_best_move(r, &mv), 0);
    ck_assert_uint_eq(mv.unit_id, 0);
    ck_assert_uint_eq(mv.station, 0);
    ck_assert_int_eq(mv.gain, 1000);
    ck_assert_double_eq_tol(mv.share_after, 1.0, 1e-12);
    roads_free(r);
}
END_TEST

/* Closures named for a unit's road. */
START_TEST(test_route_closures)
{
    roads_t *r = small_with_unit();
    roads_closure_hits_t h[1];
    uint32_t slot = 0;
    ck_assert_int_eq(roads_route_closures(r, vlat[VC], vlon[VC], &slot, 1, h), 0);
    ck_assert_uint_eq(h[0].n, 0);
    /* a slowdown on A-D (not on any route of the unit) and a closure of B-C (on the road it
     * would take without closures) */
    close_way(r, "RC1", 1003, 1.5, 0);
    close_way(r, "RC2", 1002, 0, 0);
    ck_assert_int_eq(roads_route_closures(r, vlat[VC], vlon[VC], &slot, 1, h), 0);
    /* with B-C closed the unit goes A-D-C: the slowed A-D is on its road now, and B-C is the
     * road it avoids */
    ck_assert_uint_eq(h[0].n, 2);
    int seen1 = 0, seen2 = 0;
    for (size_t i = 0; i < h[0].n; i++) {
        const closure_t *c = closures_at(roads_closures(r), h[0].idx[i]);
        seen1 += !strcmp(c->id, "RC1");
        seen2 += !strcmp(c->id, "RC2");
    }
    ck_assert_int_eq(seen1, 1);
    ck_assert_int_eq(seen2, 1);
    ck_assert_double_eq_tol(eta_to_c(r), 250, 1e-9); /* 150 + 100 */
    /* an incident at B: the route A-B has no closure on it, with or without them */
    ck_assert_int_eq(roads_route_closures(r, vlat[VB], vlon[VB], &slot, 1, h), 0);
    ck_assert_uint_eq(h[0].n, 0);
    roads_free(r);
}
END_TEST

/* ---- Equal: plain search and the rebuilt hierarchy on a bigger graph ------------------------ */

#define GRID 12

START_TEST(test_fallback_equals_rebuilt)
{
    /* A 12 x 12 grid of two-way streets 500 m apart with pseudo-random costs, 30 units, and a
     * mix of closures and slowdowns; every ETA from the plain search equals the hierarchy's. */
    double lat[GRID * GRID], lon[GRID * GRID];
    graph_edge_t e[4 * GRID * GRID];
    size_t n = 0;
    unsigned seed = 12345;
    for (int i = 0; i < GRID; i++)
        for (int j = 0; j < GRID; j++) {
            lat[i * GRID + j] = 28.30 + i * 0.0045;
            lon[i * GRID + j] = 117.20 + j * 0.0051;
        }
    for (int i = 0; i < GRID; i++)
        for (int j = 0; j < GRID; j++) {
            uint32_t v = (uint32_t)(i * GRID + j);
            if (j + 1 < GRID) {
                int64_t c = S(30) + (rand_r(&seed) % 60000000);
                e[n++] = (graph_edge_t){v, v + 1, c, 500};
                e[n++] = (graph_edge_t){v + 1, v, c + (rand_r(&seed) % 5000000), 500};
            }
            if (i + 1 < GRID) {
                int64_t c = S(30) + (rand_r(&seed) % 60000000);
                e[n++] = (graph_edge_t){v, v + GRID, c, 500};
                e[n++] = (graph_edge_t){v + GRID, v, c, 500};
            }
        }
    graph_t *g;
    ck_assert_int_eq(graph_new(GRID * GRID, lat, lon, e, n, NULL, &g), 0);
    roads_t *r;
    ck_assert_int_eq(roads_new(g, &r), 0);
    enum { UNITS = 30 };
    for (uint32_t u = 0; u < UNITS; u++) {
        uint32_t v = (uint32_t)(rand_r(&seed) % (GRID * GRID));
        roads_unit_update(r, u, 1, lat[v] + 0.0001, lon[v] + 0.002, T0);
    }
    /* 3 closures and 3 slowdowns of 4 random arcs each */
    for (int k = 0; k < 6; k++) {
        closure_t c = {.factor = k < 3 ? 0 : 1.5 + k, .created_ms = T0};
        snprintf(c.id, sizeof c.id, "RC%d", k);
        uint32_t arcs[4];
        for (int a = 0; a < 4; a++)
            arcs[a] = (uint32_t)(rand_r(&seed) % roads_arcs(r));
        c.arcs = arcs;
        c.narcs = 4;
        ck_assert_int_eq(closures_set(roads_closures(r), &c), 0);
    }
    ck_assert_int_eq(roads_closures_changed(r), 0);
    double plain[UNITS], ch[UNITS], before[UNITS];
    int changed = 0;
    for (int t = 0; t < 10; t++) {
        uint32_t v = (uint32_t)(rand_r(&seed) % (GRID * GRID));
        ck_assert_int_eq(roads_hierarchy_current(r), 0);
        ck_assert_int_eq(roads_eta_to(r, lat[v], lon[v] + 0.001, plain, UNITS), 0);
        ck_assert_int_eq(roads_rebuild_now(r), 0);
        ck_assert_int_eq(roads_hierarchy_current(r), 1);
        ck_assert_int_eq(roads_eta_to(r, lat[v], lon[v] + 0.001, ch, UNITS), 0);
        for (int u = 0; u < UNITS; u++)
            ck_assert_msg(plain[u] == ch[u], "target %u unit %d: plain %.6f hierarchy %.6f", v, u,
                          plain[u], ch[u]);
        /* the closures matter somewhere: compare with no closures at all */
        closures_t *tab = roads_closures(r);
        closure_t keep[6];
        size_t nk = closures_count(tab);
        for (size_t i = 0; i < nk; i++) {
            keep[i] = *closures_at(tab, i);
            keep[i].arcs = malloc(keep[i].narcs * sizeof(uint32_t));
            memcpy(keep[i].arcs, closures_at(tab, i)->arcs, keep[i].narcs * sizeof(uint32_t));
            keep[i].selector = NULL;
        }
        for (size_t i = 0; i < nk; i++)
            ck_assert_int_eq(closures_remove(tab, keep[i].id), 0);
        ck_assert_int_eq(roads_closures_changed(r), 0);
        ck_assert_int_eq(roads_eta_to(r, lat[v], lon[v] + 0.001, before, UNITS), 0);
        for (int u = 0; u < UNITS; u++)
            changed += before[u] != ch[u];
        for (size_t i = 0; i < nk; i++) {
            ck_assert_int_eq(closures_set(tab, &keep[i]), 0);
            free(keep[i].arcs);
        }
        ck_assert_int_eq(roads_closures_changed(r), 0);
    }
    ck_assert_int_gt(changed, 0);
    roads_free(r);
}
END_TEST

/* ---- Rebuild: on libuv's thread pool, swapped in when done ---------------------------------- */

START_TEST(test_rebuild_on_thread_pool)
{
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    roads_t *r = small_with_unit();
    roads_set_loop(r, &loop);
    close_way(r, "RC1", 1002, 0, 0);
    ck_assert_int_eq(roads_hierarchy_current(r), 0);
    /* a second change while the first build runs: the build is done again for it */
    close_way(r, "RC2", 1001, 2.0, 0);
    ck_assert_double_eq_tol(eta_to_c(r), 200, 1e-9); /* A-B-C 180 is closed at B-C */
    ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(roads_hierarchy_current(r), 1);
    ck_assert_double_eq_tol(eta_to_c(r), 200, 1e-9);
    ck_assert_int_eq(closures_remove(roads_closures(r), "RC1"), 0);
    ck_assert_int_eq(roads_closures_changed(r), 0);
    ck_assert_double_eq_tol(eta_to_c(r), 180, 1e-9);
    ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(roads_hierarchy_current(r), 1);
    ck_assert_double_eq_tol(eta_to_c(r), 180, 1e-9);
    roads_free(r);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* ---- Select: ways and lines ----------------------------------------------------------------- */

START_TEST(test_line_selection)
{
    roads_t *r = small_roads();
    const graph_t *g = roads_graph(r);
    uint32_t *arcs;
    size_t n;
    /* a line drawn along A -> C, 5 m off the road: the four arcs of A-B and B-C */
    double la[] = {28.30004, 28.30004}, lo[] = {117.2001, 117.2199};
    ck_assert_int_eq(overlay_arcs_near_line(g, la, lo, 2, 15, 35, 1, &arcs, &n), 0);
    ck_assert_uint_eq(n, 4);
    for (size_t i = 0; i < n; i++)
        ck_assert(g->lat[g->arc_tail[arcs[i]]] == 28.30 && g->lat[g->arc_head[arcs[i]]] == 28.30);
    free(arcs);
    /* forward only: A->B and B->C */
    ck_assert_int_eq(overlay_arcs_near_line(g, la, lo, 2, 15, 35, 0, &arcs, &n), 0);
    ck_assert_uint_eq(n, 2);
    for (size_t i = 0; i < n; i++)
        ck_assert(g->lon[g->arc_head[arcs[i]]] > g->lon[g->arc_tail[arcs[i]]]);
    free(arcs);
    /* a short line over the middle of B-C only */
    double lb[] = {28.3000, 28.3000}, lob[] = {117.214, 117.216};
    ck_assert_int_eq(overlay_arcs_near_line(g, lb, lob, 2, 15, 35, 1, &arcs, &n), 0);
    ck_assert_uint_eq(n, 2);
    for (size_t i = 0; i < n; i++)
        ck_assert(g->lon[g->arc_tail[arcs[i]]] >= 117.21 && g->lon[g->arc_head[arcs[i]]] >= 117.21);
    free(arcs);
    /* a line across the roads (north-south through B): nothing follows it */
    double lc[] = {28.295, 28.312}, loc[] = {117.21, 117.21};
    ck_assert_int_eq(overlay_arcs_near_line(g, lc, loc, 2, 15, 35, 1, &arcs, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(arcs);
    /* 100 m off the road: nothing */
    double ld[] = {28.3009, 28.3009};
    ck_assert_int_eq(overlay_arcs_near_line(g, ld, lo, 2, 15, 35, 1, &arcs, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(overlay_arcs_near_line(g, ld, lo, 1, 15, 35, 1, &arcs, &n), GL_EINVAL);
    /* ways: unknown way */
    ck_assert_int_eq(roads_way_arcs(r, 999, &arcs, &n), GL_ENOENT);
    roads_free(r);
}
END_TEST

START_TEST(test_table_and_overlay)
{
    closures_t *t = closures_new();
    uint32_t a1[] = {5, 3, 3, 7}, a2[] = {3, 9};
    closure_t c = {.id = "RC1", .arcs = a1, .narcs = 4, .factor = 0, .expires_ms = T0 + 10};
    ck_assert_int_eq(closures_set(t, &c), 0);
    ck_assert_uint_eq(closures_at(t, 0)->narcs, 3); /* sorted, deduplicated */
    ck_assert(closures_covers(closures_at(t, 0), 7));
    ck_assert(!closures_covers(closures_at(t, 0), 4));
    closure_t s = {.id = "RC2", .arcs = a2, .narcs = 2, .factor = 2.5};
    ck_assert_int_eq(closures_set(t, &s), 0);
    s.factor = 1.0; /* neither closed nor slower */
    ck_assert_int_eq(closures_set(t, &s), GL_EINVAL);
    s.factor = 2.5;
    double f[10];
    ck_assert_uint_eq(closures_factors(t, f, 10), 4);
    ck_assert(f[3] == 0 && f[5] == 0 && f[7] == 0 && f[9] == 2.5 && f[0] == 1);
    ck_assert(closures_next_expiry(t) == T0 + 10);
    ck_assert_uint_eq(closures_expire(t, T0 + 9), 0);
    ck_assert_uint_eq(closures_expire(t, T0 + 10), 1);
    ck_assert_ptr_null(closures_find(t, "RC1"));
    ck_assert_int_eq(closures_remove(t, "RC1"), GL_ENOENT);
    char id[CLOSURE_ID_LEN];
    closures_new_id(t, 2, id);
    ck_assert_str_eq(id, "RC3"); /* RC2 is taken */
    closures_free(t);
    ck_assert(overlay_cost(S(60), 0) == OVERLAY_CLOSED_COST);
    ck_assert(overlay_cost(S(60), 1.5) == S(90));
    ck_assert(overlay_cost(S(60), 1) == S(60));
}
END_TEST

/* ---- Ops: through the API and the journal --------------------------------------------------- */

static char journal_path[256];

static json_t *call(api_t *a, const char *text)
{
    json_error_t jerr;
    json_t *req = json_loads(text, 0, &jerr);
    ck_assert_ptr_nonnull(req);
    int sub = 0;
    json_t *reply = api_handle(a, req, "disp1", &sub);
    json_decref(req);
    return reply;
}

static dispatch_t *core_with_roads(journal_t *j)
{
    dispatch_params_t p = {.match = {.eta = {.detour_factor = 1.3, .speed_mps = 11.1},
                                     .stale_ms = 1000000000,
                                     .tie_margin_s = 0}};
    dispatch_hooks_t hooks = {0};
    dispatch_t *d = dispatch_new(&p, &hooks, NULL, j);
    ck_assert_ptr_nonnull(d);
    dispatch_set_roads(d, small_roads());
    ck_assert_int_eq(api_roads_attach(d, NULL), 0);
    return d;
}

static int replay_record(uint64_t lsn, const char *payload, size_t len, void *ctx)
{
    (void)lsn;
    return dispatch_apply_record(ctx, payload, len);
}

START_TEST(test_ops_end_to_end)
{
    gl_time_set_zone("Asia/Shanghai");
    snprintf(journal_path, sizeof journal_path, "/tmp/gl-check-closures-%d.log", (int)getpid());
    unlink(journal_path);
    journal_t *j;
    ck_assert_int_eq(journal_open(journal_path, 0, NULL, NULL, &j), 0);
    dispatch_t *d = core_with_roads(j);
    api_t a = {.d = d, .tz = "Asia/Shanghai"};
    vehicle_t v = {.status = VEHICLE_STATUS_AVAILABLE};
    snprintf(v.id, sizeof v.id, "U1");
    snprintf(v.kind, sizeof v.kind, "ALS");
    ck_assert_int_eq(fleet_add(dispatch_fleet(d), &v, NULL), 0);
    vehicle_t *u;
    int64_t now = gl_now_ms();
    ck_assert_int_eq(dispatch_uplink_begin(d, "U1", 1, 1, &u), 0);
    ck_assert_int_eq(dispatch_uplink_fix(d, u, 1, vlat[VA], vlon[VA], now, 0, 0, 1, now), GPS_OK);

    json_t *r = call(&a, "{\"id\":1,\"op\":\"call.new\",\"lat\":28.30,\"lon\":117.22,"
                         "\"complaint\":\"trauma\",\"priority\":2}");
    ck_assert(json_is_true(json_object_get(r, "ok")));
    json_t *c0 = json_array_get(json_object_get(json_object_get(r, "result"), "candidates"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(c0, "eta_method")), "road");
    ck_assert_double_eq_tol(json_number_value(json_object_get(c0, "eta_s")), 120, 0.05);
    ck_assert_uint_eq(json_array_size(json_object_get(c0, "closures")), 0);
    char inc[64];
    snprintf(inc, sizeof inc, "%s",
             json_string_value(
                 json_object_get(json_object_get(json_object_get(r, "result"), "incident"), "id")));
    json_decref(r);

    /* refused: no reason, unknown way, a line nowhere near a road, a slowdown of x1 */
    r = call(&a, "{\"id\":2,\"op\":\"road.close\",\"way\":1002}");
    ck_assert(json_is_false(json_object_get(r, "ok")));
    json_decref(r);
    r = call(&a, "{\"id\":3,\"op\":\"road.close\",\"way\":77,\"reason\":\"x\"}");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "error"), "code")),
                     "ENOENT");
    json_decref(r);
    r = call(&a, "{\"id\":4,\"op\":\"road.close\",\"line\":[[28.35,117.2],[28.35,117.22]],"
                 "\"reason\":\"x\"}");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "error"), "code")),
                     "ENOENT");
    json_decref(r);
    r = call(&a, "{\"id\":5,\"op\":\"road.slow\",\"way\":1001,\"factor\":1,\"reason\":\"x\"}");
    ck_assert(json_is_false(json_object_get(r, "ok")));
    json_decref(r);

    /* the bridge on B-C closed, by a line drawn along it */
    r = call(&a, "{\"id\":6,\"op\":\"road.close\",\"line\":[[28.30002,117.2105],"
                 "[28.30002,117.2195]],\"reason\":\"桥梁被洪水冲毁\",\"minutes\":90}");
    ck_assert(json_is_true(json_object_get(r, "ok")));
    json_t *cl = json_object_get(json_object_get(r, "result"), "closure");
    ck_assert_int_eq(json_integer_value(json_object_get(cl, "arcs")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(cl, "kind")), "closed");
    ck_assert_ptr_nonnull(json_object_get(cl, "expires_at"));
    char cid[CLOSURE_ID_LEN];
    snprintf(cid, sizeof cid, "%s", json_string_value(json_object_get(cl, "id")));
    json_decref(r);

    char req[256];
    snprintf(req, sizeof req, "{\"id\":7,\"op\":\"candidates\",\"incident\":\"%s\"}", inc);
    r = call(&a, req);
    c0 = json_array_get(json_object_get(json_object_get(r, "result"), "candidates"), 0);
    ck_assert_double_eq_tol(json_number_value(json_object_get(c0, "eta_s")), 200, 0.05);
    json_t *named = json_object_get(c0, "closures");
    ck_assert_uint_eq(json_array_size(named), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(named, 0), "id")), cid);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(named, 0), "reason")),
                     "桥梁被洪水冲毁");
    json_decref(r);

    /* and a slowdown by way on A-D */
    r = call(&a, "{\"id\":8,\"op\":\"road.slow\",\"way\":[1003],\"factor\":1.5,"
                 "\"reason\":\"road works\"}");
    ck_assert(json_is_true(json_object_get(r, "ok")));
    json_decref(r);
    r = call(&a, req);
    c0 = json_array_get(json_object_get(json_object_get(r, "result"), "candidates"), 0);
    ck_assert_double_eq_tol(json_number_value(json_object_get(c0, "eta_s")), 250, 0.05);
    ck_assert_uint_eq(json_array_size(json_object_get(c0, "closures")), 2);
    json_decref(r);
    r = call(&a, "{\"id\":9,\"op\":\"roads.closures\"}");
    ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(r, "result"), "closures")),
                      2);
    json_decref(r);

    /* a restart: the journal rebuilds both */
    journal_t *j2;
    dispatch_t *d2 = core_with_roads(NULL);
    ck_assert_int_eq(journal_open(journal_path, 0, replay_record, d2, &j2), 0);
    closures_t *t2 = roads_closures(dispatch_params(d2)->match.roads);
    ck_assert_uint_eq(closures_count(t2), 2);
    ck_assert_ptr_nonnull(closures_find(t2, cid));
    ck_assert_str_eq(closures_find(t2, cid)->reason, "桥梁被洪水冲毁");
    journal_close(j2);
    dispatch_free(d2);

    /* reopened: 150 + 100 via the slowed A-D no more; A-B-C again */
    snprintf(req, sizeof req, "{\"id\":10,\"op\":\"road.open\",\"closure\":\"%s\"}", cid);
    r = call(&a, req);
    ck_assert(json_is_true(json_object_get(r, "ok")));
    json_decref(r);
    r = call(&a, req);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "error"), "code")),
                     "ENOENT");
    json_decref(r);
    snprintf(req, sizeof req, "{\"id\":11,\"op\":\"candidates\",\"incident\":\"%s\"}", inc);
    r = call(&a, req);
    c0 = json_array_get(json_object_get(json_object_get(r, "result"), "candidates"), 0);
    ck_assert_double_eq_tol(json_number_value(json_object_get(c0, "eta_s")), 120, 0.05);
    ck_assert_uint_eq(json_array_size(json_object_get(c0, "closures")), 0);
    json_decref(r);
    /* not ours: the API's own answer */
    r = call(&a, "{\"id\":12,\"op\":\"road.nothing\"}");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "error"), "message")),
                     "unknown op");
    json_decref(r);

    /* the replay after the reopening has one closure left */
    d2 = core_with_roads(NULL);
    ck_assert_int_eq(journal_open(journal_path, 0, replay_record, d2, &j2), 0);
    ck_assert_uint_eq(closures_count(roads_closures(dispatch_params(d2)->match.roads)), 1);
    journal_close(j2);
    dispatch_free(d2);
    dispatch_free(d);
    journal_close(j);
    unlink(journal_path);
}
END_TEST

/* ---- Timing: closure_apply_ms on Nanjing ---------------------------------------------------- */

START_TEST(test_closure_apply_ms_nanjing)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/roads/cn-osm-cities-2021", GL_SHARED_DATA);
    graph_t *g;
    int rc = roads_load_city(dir, "Nanjing", ROADS_COST_TIME, &g);
    if (rc == GL_ENOENT) {
        printf("skip: closure_apply_ms: no Nanjing graph in %s (../shared/data is absent)\n", dir);
        return;
    }
    ck_assert_int_eq(rc, 0);
    roads_t *r;
    ck_assert_int_eq(roads_new(g, &r), 0);
    g = (graph_t *)roads_graph(r);
    enum { UNITS = 200 };
    unsigned seed = 7;
    for (uint32_t u = 0; u < UNITS; u++) {
        uint32_t v = (uint32_t)(rand_r(&seed) % g->n_vertices);
        roads_unit_update(r, u, 1, g->lat[v], g->lon[v], T0);
    }
    double before[UNITS], after[UNITS];
    uint32_t tv = (uint32_t)(rand_r(&seed) % g->n_vertices);
    ck_assert_int_eq(roads_eta_to(r, g->lat[tv], g->lon[tv], before, UNITS), 0);
    /* slow every arc into the incident's vertex x3: every ETA but a unit's at it must grow */
    uint32_t arcs[64];
    size_t n = 0;
    for (uint32_t s = g->in_first[tv]; s < g->in_first[tv + 1] && n < 64; s++)
        arcs[n++] = g->in_arc[s];
    closure_t c = {.id = "RC1", .arcs = arcs, .narcs = n, .factor = 3.0};
    int64_t t0 = gl_mono_ms();
    ck_assert_int_eq(closures_set(roads_closures(r), &c), 0);
    ck_assert_int_eq(roads_closures_changed(r), 0);
    ck_assert_int_eq(roads_eta_to(r, g->lat[tv], g->lon[tv], after, UNITS), 0);
    int64_t apply_ms = gl_mono_ms() - t0;
    ck_assert_int_eq(roads_hierarchy_current(r), 0);
    int64_t t1 = gl_mono_ms();
    ck_assert_int_eq(roads_rebuild_now(r), 0);
    int64_t rebuild_ms = gl_mono_ms() - t1;
    double ch[UNITS];
    ck_assert_int_eq(roads_eta_to(r, g->lat[tv], g->lon[tv], ch, UNITS), 0);
    int slower = 0;
    for (int u = 0; u < UNITS; u++) {
        ck_assert(after[u] == ch[u]);
        slower += after[u] > before[u];
    }
    ck_assert_int_gt(slower, 0);
    printf("closure_apply_ms %lld (plain search, %u vertices, %d units; hierarchy rebuilt in %lld "
           "ms; build type with sanitizers may be slower)\n",
           (long long)apply_ms, g->n_vertices, UNITS, (long long)rebuild_ms);
    ck_assert_int_lt(apply_ms, 1000);
    roads_free(r);
}
END_TEST

/* ---- goldlinectl road close|slow|open|list: the requests it builds ------------------------- */

/* Parses "goldlinectl" and up to 9 words (NULL ends them early). */
static int parse9(ctl_args_t *a, char *err, const char *a1, const char *a2, const char *a3,
                  const char *a4, const char *a5, const char *a6, const char *a7, const char *a8,
                  const char *a9)
{
    char *argv[] = {"goldlinectl", (char *)a1, (char *)a2, (char *)a3, (char *)a4, (char *)a5,
                    (char *)a6,    (char *)a7, (char *)a8, (char *)a9, NULL};
    int argc = 1;
    while (argv[argc])
        argc++;
    ctl_env_t env = {.token = "t"};
    return ctl_args_parse(argc, argv, &env, a, err, 200);
}

#define parse(a, err, w1, w2, w3, w4, w5, w6, w7, w8)                                              \
    parse9(a, err, w1, w2, w3, w4, w5, w6, w7, w8, NULL)

START_TEST(test_ctl_road_commands)
{
    ctl_args_t a;
    char err[200];
    ck_assert_int_eq(
        parse(&a, err, "road", "close", "--way", "11,22", "--reason", "洪水", "--minutes", "90"),
        0);
    ck_assert_str_eq(a.op, "road.close");
    json_t *w = json_object_get(a.request, "way");
    ck_assert_uint_eq(json_array_size(w), 2);
    ck_assert_int_eq(json_integer_value(json_array_get(w, 1)), 22);
    ck_assert_str_eq(json_string_value(json_object_get(a.request, "reason")), "洪水");
    ck_assert(json_number_value(json_object_get(a.request, "minutes")) == 90);
    ctl_args_free(&a);
    ck_assert_int_eq(parse9(&a, err, "road", "slow", "--line", "28.3,117.2;28.31,117.21",
                            "--factor", "2.5", "--reason", "works", "--forward"),
                     0);
    ck_assert_str_eq(a.op, "road.slow");
    json_t *l = json_object_get(a.request, "line");
    ck_assert_uint_eq(json_array_size(l), 2);
    ck_assert(json_real_value(json_array_get(json_array_get(l, 1), 1)) == 117.21);
    ck_assert(json_number_value(json_object_get(a.request, "factor")) == 2.5);
    ck_assert_str_eq(json_string_value(json_object_get(a.request, "direction")), "forward");
    ctl_args_free(&a);
    ck_assert_int_eq(parse(&a, err, "road", "open", "RC17", NULL, NULL, NULL, NULL, NULL), 0);
    ck_assert_str_eq(a.op, "road.open");
    ck_assert_str_eq(json_string_value(json_object_get(a.request, "closure")), "RC17");
    ctl_args_free(&a);
    ck_assert_int_eq(parse(&a, err, "road", "list", NULL, NULL, NULL, NULL, NULL, NULL), 0);
    ck_assert_str_eq(a.op, "roads.closures");
    ctl_args_free(&a);
    /* refused before anything is sent */
    ck_assert_int_eq(parse(&a, err, "road", "slow", "--way", "1", "--reason", "x", NULL, NULL),
                     GL_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "--factor"));
    ctl_args_free(&a);
    ck_assert_int_eq(
        parse(&a, err, "road", "close", "--way", "1", "--line", "1,2;3,4", "--reason", "x"),
        GL_EINVAL);
    ctl_args_free(&a);
    ck_assert_int_eq(
        parse(&a, err, "road", "close", "--line", "28.3,117.2", "--reason", "x", NULL, NULL),
        GL_EINVAL);
    ctl_args_free(&a);
    ck_assert_int_eq(parse(&a, err, "road", "close", "--way", "-4", "--reason", "x", NULL, NULL),
                     GL_EINVAL);
    ctl_args_free(&a);
    ck_assert_int_eq(parse(&a, err, "road", "shut", NULL, NULL, NULL, NULL, NULL, NULL), GL_EINVAL);
    ck_assert_str_eq(err, "road: expected 'road close|slow|open|list'");
    ctl_args_free(&a);
    ck_assert_int_eq(
        parse(&a, err, "cancel", "20261125-0001", "--factor", "2", NULL, NULL, NULL, NULL),
        GL_EINVAL);
    ctl_args_free(&a);
}
END_TEST

static Suite *closures_suite(void)
{
    Suite *s = suite_create("closures");
    TCase *core = tcase_create("Core");
    tcase_add_test(core, test_close_gives_detour);
    tcase_add_test(core, test_slowdown_multiplies);
    tcase_add_test(core, test_expiry_restores);
    tcase_add_test(core, test_unit_on_closed_road);
    tcase_add_test(core, test_coverage_follows_closures);
    tcase_add_test(core, test_move_up_station_on_closed_road);
    tcase_add_test(core, test_route_closures);
    tcase_add_test(core, test_table_and_overlay);
    tcase_add_test(core, test_line_selection);
    suite_add_tcase(s, core);
    TCase *eq = tcase_create("Equal");
    tcase_add_test(eq, test_fallback_equals_rebuilt);
    tcase_add_test(eq, test_rebuild_on_thread_pool);
    tcase_set_timeout(eq, 60);
    suite_add_tcase(s, eq);
    TCase *ops = tcase_create("Ops");
    tcase_add_test(ops, test_ops_end_to_end);
    tcase_add_test(ops, test_ctl_road_commands);
    tcase_set_timeout(ops, 30);
    suite_add_tcase(s, ops);
    TCase *timing = tcase_create("Timing");
    tcase_add_test(timing, test_closure_apply_ms_nanjing);
    tcase_set_timeout(timing, 280);
    suite_add_tcase(s, timing);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(closures_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
