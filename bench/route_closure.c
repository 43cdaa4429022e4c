/*
 * closure_apply_ms of bench/route: how long from a road closure entering the dispatcher's table
 * until a recommendation honours it, measured on the dispatcher's own road module
 * (dispatcher/roads.c, dispatcher/closures.c) exactly as api_roads.c drives it: closures_set,
 * roads_closures_changed (the overlay of costs, the plain-search fallback while no hierarchy is
 * built for them), then the 200-unit ETA (roads_eta_to) that the next call would get.
 *
 * Each trial closes both directions of one arc in the middle of the best unit's shortest road to
 * a random scene (found by a plain reverse search on the base graph), so the closure matters.
 * Checked every time: no unit got faster, and the unit whose road was closed is slower or cut
 * off (unless another road of exactly the same cost exists: counted and printed, not hidden).
 */
#include "route_closure.h"

#include "closures.h"
#include "overlay.h"
#include "roads.h"
#include "route.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TRIALS 40

static double ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The arc in the middle of the shortest road from `from` to the target of `ws`'s reverse
 * search, or GRAPH_NONE. */
static uint32_t middle_arc(const graph_t *g, route_ws_t *ws, uint32_t from)
{
    uint32_t arcs[4096];
    size_t n = 0;
    for (uint32_t v = from; n < 4096;) {
        uint32_t a = route_ws_parent_arc(ws, v);
        if (a == GRAPH_NONE)
            break;
        arcs[n++] = a;
        v = g->arc_head[a];
    }
    return n ? arcs[n / 2] : GRAPH_NONE;
}

int bench_closure_apply(const graph_t *base, const uint32_t *unit_v, size_t nunits,
                        uint32_t (*pick)(uint32_t n), double *p99_ms, double *median_ms)
{
    graph_t *g;
    roads_t *r;
    if (overlay_graph_new(base, NULL, &g) != 0 || roads_new(g, &r) != 0) {
        printf("  closure apply: cannot build the road module\n");
        return -1;
    }
    for (uint32_t s = 0; s < nunits; s++)
        roads_unit_update(r, s, 1, base->lat[unit_v[s]], base->lon[unit_v[s]], 0);
    route_ws_t *ws = route_ws_new(base);
    double *before = malloc(nunits * sizeof *before), *after = malloc(nunits * sizeof *after);
    double t[TRIALS];
    int nt = 0, grew = 0, same_cost = 0, faster = 0, rc = -1;
    if (!ws || !before || !after)
        goto done;
    for (int trial = 0; trial < TRIALS * 4 && nt < TRIALS; trial++) {
        uint32_t d = pick(base->n_vertices);
        double lat = base->lat[d], lon = base->lon[d];
        if (roads_eta_to(r, lat, lon, before, nunits) != 0)
            continue;
        size_t best = nunits;
        for (size_t s = 0; s < nunits; s++)
            if (before[s] >= 0 && (best == nunits || before[s] < before[best]))
                best = s;
        if (best == nunits)
            continue;
        route_seed_t seed = {d, 0};
        if (route_search(ws, 1, &seed, 1, GRAPH_COST_INF, &unit_v[best], 1) != 0)
            continue;
        uint32_t a = middle_arc(base, ws, unit_v[best]);
        if (a == GRAPH_NONE)
            continue;
        uint32_t arcs[2] = {a, graph_find_arc(base, base->arc_head[a], base->arc_tail[a])};
        closure_t c;
        memset(&c, 0, sizeof c);
        snprintf(c.id, sizeof c.id, "RCB%d", trial);
        c.arcs = arcs;
        c.narcs = arcs[1] == GRAPH_NONE ? 1 : 2;
        c.factor = 0;
        snprintf(c.reason, sizeof c.reason, "bench");
        double t0 = ms_now();
        if (closures_set(roads_closures(r), &c) != 0 || roads_closures_changed(r) != 0 ||
            roads_eta_to(r, lat, lon, after, nunits) != 0)
            goto done;
        t[nt++] = ms_now() - t0;
        for (size_t s = 0; s < nunits; s++)
            if (before[s] >= 0 && after[s] >= 0 && after[s] < before[s] - 1e-6)
                faster++;
        if (after[best] < 0 || after[best] > before[best] + 1e-6)
            grew++;
        else
            same_cost++;
        closures_remove(roads_closures(r), c.id);
        roads_closures_changed(r);
    }
    if (nt == 0)
        goto done;
    qsort(t, (size_t)nt, sizeof t[0], cmp_d);
    *median_ms = t[nt / 2];
    *p99_ms = t[(int)ceil(0.99 * nt) - 1];
    printf("  %-30s %-10s %10s %10s %10.3f %10.3f %9s  (%d closures; best unit slower or cut off "
           "%d, an equal-cost detour %d, a unit faster %d)\n",
           "closure honoured (200 units)", "plain", "", "", *median_ms, *p99_ms, "", nt, grew,
           same_cost, faster);
    rc = faster ? -1 : 0;
done:
    free(before);
    free(after);
    route_ws_free(ws);
    roads_free(r);
    return rc;
}
