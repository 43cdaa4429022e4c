/*
 * Dijkstra's algorithm with a binary min-heap with decrease-key over the CSR graph, forward or
 * reverse, and the position arithmetic shared with the contraction hierarchy (ch.c).
 *
 * Per-vertex state lives in the workspace: the tentative cost, the heap slot (or SETTLED), the
 * parent arc, and two generation stamps, one saying "touched by the current search" and one
 * saying "a target of the current search". A new search bumps the generation instead of clearing
 * the arrays; on the rare wrap-around (every 2^32 - 1 searches) the stamps are cleared once.
 * Settled vertices are also appended to a list, so the caller can walk what a bounded search
 * reached (isochrones) without scanning the whole graph.
 */
#include "route.h"
#include "err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SETTLED UINT32_MAX

struct route_ws {
    const graph_t *g;
    uint32_t gen;       /* generation of the current search */
    uint32_t *stamp;    /* [n] == gen: dist/hpos/parent valid for this search */
    uint32_t *target;   /* [n] == gen: vertex is a target the search waits for */
    int64_t *dist;      /* [n] tentative or final cost */
    uint32_t *hpos;     /* [n] heap slot, or SETTLED */
    uint32_t *parent;   /* [n] arc by which the vertex was reached, GRAPH_NONE for seeds */
    uint32_t *heap_v;   /* [n] heap of vertices ... */
    int64_t *heap_key;  /* [n] ... and their keys, kept side by side with heap_v */
    uint32_t heap_n;    /* vertices in the heap */
    uint32_t *settled;  /* [n] settled vertices in order */
    uint32_t n_settled; /* how many */
    uint32_t pending;   /* targets not yet settled */
};

/* ---- positions ------------------------------------------------------------------------------ */

route_pos_t route_pos_vertex(uint32_t v)
{
    route_pos_t p = {.vertex = v, .arc = GRAPH_NONE, .twin = GRAPH_NONE, .frac = 0};
    return p;
}

int64_t route_part_cost(int64_t cost, double frac)
{
    if (!(frac > 0))
        return 0;
    if (frac >= 1)
        return cost;
    int64_t part = llround((double)cost * frac);
    return part < 0 ? 0 : part > cost ? cost : part;
}

int route_pos_valid(const graph_t *g, const route_pos_t *p)
{
    if (!g || !p)
        return 0;
    if (p->arc == GRAPH_NONE)
        return p->vertex < g->n_vertices;
    if (p->arc >= g->n_arcs || !(p->frac >= 0 && p->frac <= 1))
        return 0;
    if (p->twin == GRAPH_NONE)
        return 1;
    return p->twin < g->n_arcs && g->arc_tail[p->twin] == g->arc_head[p->arc] &&
           g->arc_head[p->twin] == g->arc_tail[p->arc];
}

size_t route_pos_departures(const graph_t *g, const route_pos_t *p, route_seed_t out[2])
{
    if (p->arc == GRAPH_NONE) {
        out[0].vertex = p->vertex;
        out[0].cost = 0;
        return 1;
    }
    int64_t c = g->arc_cost[p->arc];
    out[0].vertex = g->arc_head[p->arc];
    out[0].cost = c - route_part_cost(c, p->frac);
    if (p->twin == GRAPH_NONE)
        return 1;
    int64_t ct = g->arc_cost[p->twin];
    out[1].vertex = g->arc_head[p->twin];
    out[1].cost = ct - route_part_cost(ct, 1 - p->frac);
    return 2;
}

size_t route_pos_arrivals(const graph_t *g, const route_pos_t *p, route_seed_t out[2])
{
    if (p->arc == GRAPH_NONE) {
        out[0].vertex = p->vertex;
        out[0].cost = 0;
        return 1;
    }
    out[0].vertex = g->arc_tail[p->arc];
    out[0].cost = route_part_cost(g->arc_cost[p->arc], p->frac);
    if (p->twin == GRAPH_NONE)
        return 1;
    out[1].vertex = g->arc_tail[p->twin];
    out[1].cost = route_part_cost(g->arc_cost[p->twin], 1 - p->frac);
    return 2;
}

/* Fraction of `a`'s position along arc `arc` (which is a->arc or a->twin), or -1. */
static double frac_on(const route_pos_t *a, uint32_t arc)
{
    if (a->arc == GRAPH_NONE || arc == GRAPH_NONE)
        return -1;
    if (a->arc == arc)
        return a->frac;
    if (a->twin == arc)
        return 1 - a->frac;
    return -1;
}

int64_t route_pos_direct(const graph_t *g, const route_pos_t *a, const route_pos_t *b)
{
    int64_t best = GRAPH_COST_INF;
    if (a->arc == GRAPH_NONE || b->arc == GRAPH_NONE)
        return best;
    uint32_t arcs[2] = {a->arc, a->twin};
    for (int i = 0; i < 2; i++) {
        double fa = frac_on(a, arcs[i]), fb = frac_on(b, arcs[i]);
        if (fa < 0 || fb < 0 || fb < fa)
            continue;
        int64_t c = g->arc_cost[arcs[i]];
        int64_t d = route_part_cost(c, fb) - route_part_cost(c, fa);
        if (d < best)
            best = d;
    }
    return best;
}

/* ---- workspace ------------------------------------------------------------------------------ */

void route_ws_free(route_ws_t *ws)
{
    if (!ws)
        return;
    free(ws->stamp);
    free(ws->target);
    free(ws->dist);
    free(ws->hpos);
    free(ws->parent);
    free(ws->heap_v);
    free(ws->heap_key);
    free(ws->settled);
    free(ws);
}

route_ws_t *route_ws_new(const graph_t *g)
{
    if (!g)
        return NULL;
    route_ws_t *ws = calloc(1, sizeof(*ws));
    if (!ws)
        return NULL;
    size_t n = (size_t)g->n_vertices + 1;
    ws->g = g;
    ws->stamp = calloc(n, sizeof(uint32_t));
    ws->target = calloc(n, sizeof(uint32_t));
    ws->dist = malloc(n * sizeof(int64_t));
    ws->hpos = malloc(n * sizeof(uint32_t));
    ws->parent = malloc(n * sizeof(uint32_t));
    ws->heap_v = malloc(n * sizeof(uint32_t));
    ws->heap_key = malloc(n * sizeof(int64_t));
    ws->settled = malloc(n * sizeof(uint32_t));
    if (!ws->stamp || !ws->target || !ws->dist || !ws->hpos || !ws->parent || !ws->heap_v ||
        !ws->heap_key || !ws->settled) {
        route_ws_free(ws);
        return NULL;
    }
    return ws;
}

/* Starts a new search: bumps the generation (clearing the stamps on wrap-around). */
static void begin(route_ws_t *ws)
{
    if (++ws->gen == 0) {
        memset(ws->stamp, 0, ws->g->n_vertices * sizeof(uint32_t));
        memset(ws->target, 0, ws->g->n_vertices * sizeof(uint32_t));
        ws->gen = 1;
    }
    ws->heap_n = 0;
    ws->n_settled = 0;
    ws->pending = 0;
}

static void add_target(route_ws_t *ws, uint32_t v)
{
    if (ws->target[v] != ws->gen) {
        ws->target[v] = ws->gen;
        ws->pending++;
    }
}

/* ---- binary heap ---------------------------------------------------------------------------- */

static void sift_up(route_ws_t *ws, uint32_t i, uint32_t v, int64_t key)
{
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (ws->heap_key[p] <= key)
            break;
        ws->heap_v[i] = ws->heap_v[p];
        ws->heap_key[i] = ws->heap_key[p];
        ws->hpos[ws->heap_v[i]] = i;
        i = p;
    }
    ws->heap_v[i] = v;
    ws->heap_key[i] = key;
    ws->hpos[v] = i;
}

static uint32_t pop_min(route_ws_t *ws)
{
    uint32_t top = ws->heap_v[0];
    uint32_t n = --ws->heap_n;
    if (n > 0) {
        uint32_t v = ws->heap_v[n];
        int64_t key = ws->heap_key[n];
        uint32_t i = 0;
        for (;;) {
            uint32_t c = 2 * i + 1;
            if (c >= n)
                break;
            if (c + 1 < n && ws->heap_key[c + 1] < ws->heap_key[c])
                c++;
            if (ws->heap_key[c] >= key)
                break;
            ws->heap_v[i] = ws->heap_v[c];
            ws->heap_key[i] = ws->heap_key[c];
            ws->hpos[ws->heap_v[i]] = i;
            i = c;
        }
        ws->heap_v[i] = v;
        ws->heap_key[i] = key;
        ws->hpos[v] = i;
    }
    ws->hpos[top] = SETTLED;
    return top;
}

/* Offers cost `d` for vertex `v` reached by `arc`. */
static void relax(route_ws_t *ws, uint32_t v, int64_t d, uint32_t arc)
{
    if (ws->stamp[v] != ws->gen) {
        ws->stamp[v] = ws->gen;
        ws->dist[v] = d;
        ws->parent[v] = arc;
        sift_up(ws, ws->heap_n++, v, d);
    } else if (ws->hpos[v] != SETTLED && d < ws->dist[v]) {
        ws->dist[v] = d;
        ws->parent[v] = arc;
        sift_up(ws, ws->hpos[v], v, d);
    }
}

/* ---- search --------------------------------------------------------------------------------- */

/* Seeds the heap (after begin and add_target); returns GL_EINVAL for a bad seed. */
static int seed(route_ws_t *ws, const route_seed_t *seeds, size_t n, int64_t max_cost)
{
    for (size_t i = 0; i < n; i++) {
        if (seeds[i].vertex >= ws->g->n_vertices || seeds[i].cost < 0)
            return GL_EINVAL;
        if (seeds[i].cost <= max_cost)
            relax(ws, seeds[i].vertex, seeds[i].cost, GRAPH_NONE);
    }
    return 0;
}

static void run(route_ws_t *ws, int reverse, int64_t max_cost, int use_targets)
{
    const graph_t *g = ws->g;
    while (ws->heap_n > 0) {
        uint32_t u = pop_min(ws);
        int64_t du = ws->dist[u];
        ws->settled[ws->n_settled++] = u;
        if (use_targets && ws->target[u] == ws->gen && --ws->pending == 0)
            return;
        if (!reverse) {
            for (uint32_t a = g->out_first[u], end = g->out_first[u + 1]; a < end; a++) {
                int64_t d = du + g->arc_cost[a];
                if (d <= max_cost)
                    relax(ws, g->arc_head[a], d, a);
            }
        } else {
            for (uint32_t s = g->in_first[u], end = g->in_first[u + 1]; s < end; s++) {
                int64_t d = du + g->in_cost[s];
                if (d <= max_cost)
                    relax(ws, g->in_tail[s], d, g->in_arc[s]);
            }
        }
    }
}

int route_search(route_ws_t *ws, int reverse, const route_seed_t *seeds, size_t n_seeds,
                 int64_t max_cost, const uint32_t *stop, size_t n_stop)
{
    if (!ws || (n_seeds && !seeds))
        return GL_EINVAL;
    begin(ws);
    if (stop) {
        for (size_t i = 0; i < n_stop; i++) {
            if (stop[i] >= ws->g->n_vertices)
                return GL_EINVAL;
            add_target(ws, stop[i]);
        }
    }
    int rc = seed(ws, seeds, n_seeds, max_cost);
    if (rc < 0) {
        ws->heap_n = 0;
        return rc;
    }
    run(ws, reverse, max_cost, stop != NULL && ws->pending > 0);
    return 0;
}

int64_t route_ws_cost(const route_ws_t *ws, uint32_t v)
{
    if (v >= ws->g->n_vertices || ws->stamp[v] != ws->gen || ws->hpos[v] != SETTLED)
        return GRAPH_COST_INF;
    return ws->dist[v];
}

const uint32_t *route_ws_settled(const route_ws_t *ws, size_t *n)
{
    *n = ws->n_settled;
    return ws->settled;
}

uint32_t route_ws_parent_arc(const route_ws_t *ws, uint32_t v)
{
    if (route_ws_cost(ws, v) == GRAPH_COST_INF)
        return GRAPH_NONE;
    return ws->parent[v];
}

/* min over seeds of (settled cost of seed vertex + seed cost), GRAPH_COST_INF if none. */
static int64_t combine(const route_ws_t *ws, const route_seed_t *s, size_t n)
{
    int64_t best = GRAPH_COST_INF;
    for (size_t i = 0; i < n; i++) {
        int64_t d = route_ws_cost(ws, s[i].vertex);
        if (d != GRAPH_COST_INF && d + s[i].cost < best)
            best = d + s[i].cost;
    }
    return best;
}

int route_one_to_one(route_ws_t *ws, const route_pos_t *from, const route_pos_t *to,
                     int64_t max_cost, int64_t *cost)
{
    int64_t out;
    int rc = route_one_to_many(ws, from, to, 1, max_cost, &out);
    if (rc < 0)
        return rc;
    if (out == GRAPH_COST_INF)
        return GL_ENOENT;
    *cost = out;
    return 0;
}

int route_one_to_many(route_ws_t *ws, const route_pos_t *from, const route_pos_t *to, size_t n,
                      int64_t max_cost, int64_t *out)
{
    if (!ws || !route_pos_valid(ws->g, from) || (n && (!to || !out)))
        return GL_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!route_pos_valid(ws->g, &to[i]))
            return GL_EINVAL;
    route_seed_t dep[2], arr[2];
    size_t n_dep = route_pos_departures(ws->g, from, dep);
    begin(ws);
    for (size_t i = 0; i < n; i++) {
        size_t n_arr = route_pos_arrivals(ws->g, &to[i], arr);
        for (size_t j = 0; j < n_arr; j++)
            add_target(ws, arr[j].vertex);
    }
    seed(ws, dep, n_dep, max_cost);
    run(ws, 0, max_cost, ws->pending > 0);
    for (size_t i = 0; i < n; i++) {
        size_t n_arr = route_pos_arrivals(ws->g, &to[i], arr);
        int64_t best = combine(ws, arr, n_arr);
        int64_t direct = route_pos_direct(ws->g, from, &to[i]);
        if (direct < best)
            best = direct;
        out[i] = best <= max_cost ? best : GRAPH_COST_INF;
    }
    return 0;
}

int route_many_to_one(route_ws_t *ws, const route_pos_t *from, size_t n, const route_pos_t *to,
                      int64_t max_cost, int64_t *out)
{
    if (!ws || !route_pos_valid(ws->g, to) || (n && (!from || !out)))
        return GL_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!route_pos_valid(ws->g, &from[i]))
            return GL_EINVAL;
    route_seed_t dep[2], arr[2];
    size_t n_arr = route_pos_arrivals(ws->g, to, arr);
    begin(ws);
    for (size_t i = 0; i < n; i++) {
        size_t n_dep = route_pos_departures(ws->g, &from[i], dep);
        for (size_t j = 0; j < n_dep; j++)
            add_target(ws, dep[j].vertex);
    }
    seed(ws, arr, n_arr, max_cost);
    run(ws, 1, max_cost, ws->pending > 0);
    for (size_t i = 0; i < n; i++) {
        size_t n_dep = route_pos_departures(ws->g, &from[i], dep);
        int64_t best = combine(ws, dep, n_dep);
        int64_t direct = route_pos_direct(ws->g, &from[i], to);
        if (direct < best)
            best = direct;
        out[i] = best <= max_cost ? best : GRAPH_COST_INF;
    }
    return 0;
}

/* ---- isochrones ----------------------------------------------------------------------------- */

int route_isochrone(route_ws_t *ws, const route_pos_t *sources, size_t n, int64_t max_cost)
{
    if (!ws || (n && !sources) || max_cost < 0)
        return GL_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!route_pos_valid(ws->g, &sources[i]))
            return GL_EINVAL;
    begin(ws);
    for (size_t i = 0; i < n; i++) {
        route_seed_t dep[2];
        size_t n_dep = route_pos_departures(ws->g, &sources[i], dep);
        seed(ws, dep, n_dep, max_cost);
    }
    run(ws, 0, max_cost, 0);
    return 0;
}

/* Appends a piece if there is room; counts it either way. */
static void put_reach(route_reach_t *out, size_t max_out, size_t *count, uint32_t arc, double lo,
                      double hi)
{
    if (*count < max_out) {
        out[*count].arc = arc;
        out[*count].from_frac = lo;
        out[*count].to_frac = hi;
    }
    (*count)++;
}

/* How far along an arc of cost `c`, entered at fraction `start`, a budget `left` reaches. */
static double reach_frac(int64_t c, double start, int64_t left)
{
    if (c == 0)
        return 1;
    double f = start + (double)left / (double)c;
    return f > 1 ? 1 : f;
}

size_t route_isochrone_arcs(const route_ws_t *ws, const route_pos_t *sources, size_t n,
                            int64_t max_cost, route_reach_t *out, size_t max_out)
{
    const graph_t *g = ws->g;
    size_t count = 0;
    for (uint32_t i = 0; i < ws->n_settled; i++) {
        uint32_t u = ws->settled[i];
        int64_t left = max_cost - ws->dist[u];
        for (uint32_t a = g->out_first[u]; a < g->out_first[u + 1]; a++)
            put_reach(out, max_out, &count, a, 0, reach_frac(g->arc_cost[a], 0, left));
    }
    /* A source part-way along an arc also reaches the stretch ahead of it on that arc (and on
     * the twin, backwards) without passing a vertex. */
    for (size_t i = 0; i < n; i++) {
        uint32_t arcs[2] = {sources[i].arc, sources[i].twin};
        for (int k = 0; k < 2; k++) {
            if (arcs[k] == GRAPH_NONE)
                continue;
            double f = frac_on(&sources[i], arcs[k]);
            put_reach(out, max_out, &count, arcs[k], f,
                      reach_frac(g->arc_cost[arcs[k]], f, max_cost));
        }
    }
    return count;
}
