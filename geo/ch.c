/*
 * Contraction hierarchy: build, bidirectional query and bucket-based many-to-one.
 *
 * Build. Vertices are contracted one at a time, least important first. Contracting v removes it
 * from the remaining graph; for every in-neighbour u and out-neighbour w a shortcut u->w of cost
 * c(u,v)+c(v,w) is added unless a witness search (Dijkstra from u among the remaining vertices,
 * avoiding v, bounded by that cost and by a number of settled vertices) finds a path at least as
 * cheap. Stopping a witness search early only adds superfluous shortcuts, never wrong ones.
 * The importance of a vertex is its edge difference (shortcuts its contraction would add minus
 * arcs it removes) plus the number of its neighbours already contracted (spreads contraction
 * evenly). Priorities live in an indexed heap; after each contraction the neighbours' priorities
 * go up by one (a contracted neighbour more), and the popped vertex is re-simulated before
 * contracting (lazy update) and put back if it is no longer the minimum.
 *
 * Every arc a vertex still has when it is contracted leads to a more important vertex: the
 * out-arcs form the upward graph used by forward searches, the in-arcs the one used by backward
 * searches. Vertices are renumbered by contraction order so the top of the hierarchy, which every
 * search visits, is contiguous in memory.
 *
 * Queries. For any s, t the shortest path has a highest vertex x with an upward path s..x and a
 * downward one x..t, so min over x of (forward upward cost + backward upward cost) is exact. The
 * searches start from a position's seeds with their partial costs (route.h), so the answer is
 * exactly the Dijkstra answer. Many-to-one keeps each unit's complete forward upward search space
 * in buckets (vertex -> list of (unit, cost)) and answers with one backward upward search.
 */
#include "ch.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WITNESS_SETTLE_LIMIT 200 /* vertices settled per witness search before giving up */
#define SIMULATE_SETTLE_LIMIT 50 /* the same when only estimating a vertex's priority */
#define MAX_UNITS (1u << 24)
#define NOT_IN_HEAP UINT32_MAX

/* ---- an indexed binary min-heap on int64 keys ---------------------------------------------- */

typedef struct iheap {
    uint32_t n;
    uint32_t *v;   /* [cap] items */
    int64_t *key;  /* [cap] their keys */
    uint32_t *pos; /* [universe] slot of an item, NOT_IN_HEAP if absent */
} iheap_t;

static int ih_init(iheap_t *h, uint32_t universe)
{
    size_t n = (size_t)universe + 1;
    h->n = 0;
    h->v = malloc(n * sizeof(uint32_t));
    h->key = malloc(n * sizeof(int64_t));
    h->pos = malloc(n * sizeof(uint32_t));
    if (!h->v || !h->key || !h->pos)
        return GL_ENOMEM;
    memset(h->pos, 0xff, n * sizeof(uint32_t));
    return 0;
}

static void ih_close(iheap_t *h)
{
    free(h->v);
    free(h->key);
    free(h->pos);
}

static void ih_place(iheap_t *h, uint32_t i, uint32_t x, int64_t k)
{
    h->v[i] = x;
    h->key[i] = k;
    h->pos[x] = i;
}

static void ih_up(iheap_t *h, uint32_t i, uint32_t x, int64_t k)
{
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (h->key[p] <= k)
            break;
        ih_place(h, i, h->v[p], h->key[p]);
        i = p;
    }
    ih_place(h, i, x, k);
}

static void ih_down(iheap_t *h, uint32_t i, uint32_t x, int64_t k)
{
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->key[c + 1] < h->key[c])
            c++;
        if (h->key[c] >= k)
            break;
        ih_place(h, i, h->v[c], h->key[c]);
        i = c;
    }
    ih_place(h, i, x, k);
}

/* Inserts x or changes its key (up or down). */
static void ih_set(iheap_t *h, uint32_t x, int64_t k)
{
    uint32_t i = h->pos[x];
    if (i == NOT_IN_HEAP)
        ih_up(h, h->n++, x, k);
    else if (k < h->key[i])
        ih_up(h, i, x, k);
    else
        ih_down(h, i, x, k);
}

static uint32_t ih_pop(iheap_t *h)
{
    uint32_t top = h->v[0];
    h->pos[top] = NOT_IN_HEAP;
    if (--h->n > 0)
        ih_down(h, 0, h->v[h->n], h->key[h->n]);
    return top;
}

static void ih_clear(iheap_t *h)
{
    for (uint32_t i = 0; i < h->n; i++)
        h->pos[h->v[i]] = NOT_IN_HEAP;
    h->n = 0;
}

/* ---- the build's dynamic graph -------------------------------------------------------------- */

typedef struct darc {
    uint32_t other; /* the neighbour */
    int64_t cost;
} darc_t;

typedef struct dlist {
    darc_t *a;
    uint32_t n, cap;
} dlist_t;

/* An arc kept for the final upward graph: from `low` (contracted first) to `high`. */
typedef struct keep {
    uint32_t low, high;
    int64_t cost;
} keep_t;

typedef struct keeps {
    keep_t *a;
    size_t n, cap;
} keeps_t;

typedef struct builder {
    const graph_t *g;
    uint32_t n;
    dlist_t *out, *in;    /* [n] remaining arcs */
    uint8_t *done;        /* [n] contracted */
    uint32_t *deleted_nb; /* [n] contracted neighbours */
    iheap_t order;        /* priorities */
    iheap_t wheap;        /* witness search heap */
    int64_t *wdist;       /* [n] witness tentative costs */
    uint32_t *wstamp;     /* [n] == wgen: wdist valid */
    uint32_t *wtarget;    /* [n] == wgen: a target of the current witness search */
    uint32_t wgen;
    keeps_t up, down; /* kept arcs: up = out-arcs at contraction, down = in-arcs */
    uint32_t shortcuts;
} builder_t;

static int dlist_set_min(dlist_t *l, uint32_t other, int64_t cost)
{
    for (uint32_t i = 0; i < l->n; i++)
        if (l->a[i].other == other) {
            if (cost < l->a[i].cost)
                l->a[i].cost = cost;
            return 0;
        }
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 4;
        darc_t *a = realloc(l->a, cap * sizeof(*a));
        if (!a)
            return GL_ENOMEM;
        l->a = a;
        l->cap = cap;
    }
    l->a[l->n].other = other;
    l->a[l->n].cost = cost;
    l->n++;
    return 0;
}

static void dlist_remove(dlist_t *l, uint32_t other)
{
    for (uint32_t i = 0; i < l->n; i++)
        if (l->a[i].other == other) {
            l->a[i] = l->a[--l->n];
            return;
        }
}

static int keeps_push(keeps_t *k, uint32_t low, uint32_t high, int64_t cost)
{
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 1024;
        keep_t *a = realloc(k->a, cap * sizeof(*a));
        if (!a)
            return GL_ENOMEM;
        k->a = a;
        k->cap = cap;
    }
    k->a[k->n].low = low;
    k->a[k->n].high = high;
    k->a[k->n].cost = cost;
    k->n++;
    return 0;
}

/*
 * Dijkstra from `src` over remaining vertices avoiding `skip`, up to cost `max` and
 * `limit` settled vertices, or until all out-neighbours of `skip` are settled. Results: wdist
 * where wstamp == wgen.
 */
static void witness(builder_t *b, uint32_t src, uint32_t skip, int64_t max, int limit)
{
    if (++b->wgen == 0) {
        memset(b->wstamp, 0, b->n * sizeof(uint32_t));
        memset(b->wtarget, 0, b->n * sizeof(uint32_t));
        b->wgen = 1;
    }
    /* The out-neighbours of `skip` are the targets: stop once all are settled. */
    uint32_t pending = 0;
    const dlist_t *outs = &b->out[skip];
    for (uint32_t i = 0; i < outs->n; i++) {
        uint32_t w = outs->a[i].other;
        if (w != src && b->wtarget[w] != b->wgen) {
            b->wtarget[w] = b->wgen;
            pending++;
        }
    }
    ih_clear(&b->wheap);
    b->wstamp[src] = b->wgen;
    b->wdist[src] = 0;
    ih_set(&b->wheap, src, 0);
    for (int settled = 0; b->wheap.n > 0 && settled < limit && pending > 0; settled++) {
        if (b->wheap.key[0] > max)
            break;
        uint32_t x = ih_pop(&b->wheap);
        if (b->wtarget[x] == b->wgen)
            pending--;
        int64_t dx = b->wdist[x];
        const dlist_t *l = &b->out[x];
        for (uint32_t i = 0; i < l->n; i++) {
            uint32_t y = l->a[i].other;
            int64_t d = dx + l->a[i].cost;
            if (y == skip || d > max)
                continue;
            if (b->wstamp[y] != b->wgen) {
                b->wstamp[y] = b->wgen;
                b->wdist[y] = d;
                ih_set(&b->wheap, y, d);
            } else if (d < b->wdist[y]) {
                b->wdist[y] = d;
                if (b->wheap.pos[y] != NOT_IN_HEAP)
                    ih_set(&b->wheap, y, d);
            }
        }
    }
}

/*
 * Contracts v (simulate == 0) or counts the shortcuts it would need (simulate == 1).
 * Returns the shortcut count, or GL_ENOMEM.
 */
static int contract(builder_t *b, uint32_t v, int simulate)
{
    const dlist_t *in = &b->in[v], *out = &b->out[v];
    int count = 0;
    for (uint32_t i = 0; i < in->n; i++) {
        uint32_t u = in->a[i].other;
        int64_t cin = in->a[i].cost, max = -1;
        for (uint32_t j = 0; j < out->n; j++)
            if (out->a[j].other != u && cin + out->a[j].cost > max)
                max = cin + out->a[j].cost;
        if (max < 0)
            continue;
        witness(b, u, v, max, simulate ? SIMULATE_SETTLE_LIMIT : WITNESS_SETTLE_LIMIT);
        for (uint32_t j = 0; j < out->n; j++) {
            uint32_t w = out->a[j].other;
            int64_t c = cin + out->a[j].cost;
            if (w == u || (b->wstamp[w] == b->wgen && b->wdist[w] <= c))
                continue;
            count++;
            if (!simulate) {
                if (dlist_set_min(&b->out[u], w, c) < 0 || dlist_set_min(&b->in[w], u, c) < 0)
                    return GL_ENOMEM;
                b->shortcuts++;
            }
        }
    }
    return count;
}

static int64_t priority(builder_t *b, uint32_t v)
{
    int sc = contract(b, v, 1);
    return (int64_t)sc - (int64_t)(b->in[v].n + b->out[v].n) + b->deleted_nb[v];
}

static void builder_close(builder_t *b)
{
    if (b->out)
        for (uint32_t v = 0; v < b->n; v++) {
            free(b->out[v].a);
            free(b->in[v].a);
        }
    free(b->out);
    free(b->in);
    free(b->done);
    free(b->deleted_nb);
    ih_close(&b->order);
    ih_close(&b->wheap);
    free(b->wdist);
    free(b->wstamp);
    free(b->wtarget);
    free(b->up.a);
    free(b->down.a);
}

/* ---- the hierarchy -------------------------------------------------------------------------- */

typedef struct uarc {
    uint32_t other; /* internal id of the higher vertex */
    int64_t cost;
} uarc_t;

typedef struct bentry {
    uint32_t unit;
    int64_t cost;
} bentry_t;

typedef struct bucket {
    bentry_t *e;
    uint32_t n, cap;
} bucket_t;

typedef struct unit {
    route_pos_t pos;
    int placed;      /* 1 if pos is valid and its entries are in the buckets */
    uint32_t *nodes; /* internal ids of the vertices holding its entries */
    uint32_t n, cap;
} unit_t;

/* One direction of a query search. */
typedef struct side {
    iheap_t heap;
    int64_t *dist;   /* [n] */
    uint32_t *stamp; /* [n] == gen: dist valid */
    uint32_t *list;  /* [n] settled vertices */
    uint32_t n_list;
} side_t;

struct ch {
    const graph_t *g;
    uint32_t n;
    uint32_t *id_of;    /* [n] internal id (contraction order) of a graph vertex */
    uint32_t *up_first; /* [n+1] forward upward arcs by internal id */
    uarc_t *up;
    uint32_t *dn_first; /* [n+1] backward upward arcs (from higher tails) by internal id */
    uarc_t *dn;
    side_t fwd, bwd;
    uint32_t gen;
    bucket_t *buckets; /* [n] */
    unit_t *units;
    uint32_t n_units;
};

static int side_init(side_t *s, uint32_t n)
{
    s->dist = malloc(((size_t)n + 1) * sizeof(int64_t));
    s->stamp = calloc((size_t)n + 1, sizeof(uint32_t));
    s->list = malloc(((size_t)n + 1) * sizeof(uint32_t));
    if (!s->dist || !s->stamp || !s->list)
        return GL_ENOMEM;
    return ih_init(&s->heap, n);
}

static void side_close(side_t *s)
{
    free(s->dist);
    free(s->stamp);
    free(s->list);
    ih_close(&s->heap);
}

void ch_free(ch_t *ch)
{
    if (!ch)
        return;
    free(ch->id_of);
    free(ch->up_first);
    free(ch->up);
    free(ch->dn_first);
    free(ch->dn);
    side_close(&ch->fwd);
    side_close(&ch->bwd);
    if (ch->buckets)
        for (uint32_t v = 0; v < ch->n; v++)
            free(ch->buckets[v].e);
    free(ch->buckets);
    for (uint32_t u = 0; u < ch->n_units; u++)
        free(ch->units[u].nodes);
    free(ch->units);
    free(ch);
}

/* Counting sort of kept arcs by their internal low end into CSR (first, arcs). */
static int make_csr(const keeps_t *k, const uint32_t *id_of, uint32_t n, uint32_t **first,
                    uarc_t **arcs)
{
    *first = calloc((size_t)n + 1, sizeof(uint32_t));
    *arcs = malloc((k->n + 1) * sizeof(uarc_t));
    if (!*first || !*arcs)
        return GL_ENOMEM;
    for (size_t i = 0; i < k->n; i++)
        (*first)[id_of[k->a[i].low] + 1]++;
    for (uint32_t v = 0; v < n; v++)
        (*first)[v + 1] += (*first)[v];
    uint32_t *cur = malloc(((size_t)n + 1) * sizeof(uint32_t));
    if (!cur)
        return GL_ENOMEM;
    memcpy(cur, *first, ((size_t)n + 1) * sizeof(uint32_t));
    for (size_t i = 0; i < k->n; i++) {
        uint32_t slot = cur[id_of[k->a[i].low]]++;
        (*arcs)[slot].other = id_of[k->a[i].high];
        (*arcs)[slot].cost = k->a[i].cost;
    }
    free(cur);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int build_order(builder_t *b, uint32_t *id_of)
{
    const graph_t *g = b->g;
    for (uint32_t a = 0; a < g->n_arcs; a++) {
        uint32_t u = g->arc_tail[a], v = g->arc_head[a];
        if (u == v)
            continue;
        if (dlist_set_min(&b->out[u], v, g->arc_cost[a]) < 0 ||
            dlist_set_min(&b->in[v], u, g->arc_cost[a]) < 0)
            return GL_ENOMEM;
    }
    for (uint32_t v = 0; v < b->n; v++)
        ih_set(&b->order, v, priority(b, v));
    uint32_t next = 0;
    while (b->order.n > 0) {
        /* Lazy update: the top's priority may be stale; re-evaluate before contracting. */
        uint32_t v = b->order.v[0];
        int64_t p = priority(b, v);
        if (p > b->order.key[0]) {
            ih_set(&b->order, v, p);
            if (b->order.v[0] != v)
                continue;
        }
        ih_pop(&b->order);
        int rc = contract(b, v, 0);
        if (rc < 0)
            return rc;
        b->done[v] = 1;
        id_of[v] = next++;
        /* Remaining arcs lead up: keep them, and detach v from its neighbours. */
        for (uint32_t i = 0; i < b->out[v].n; i++) {
            uint32_t w = b->out[v].a[i].other;
            if (keeps_push(&b->up, v, w, b->out[v].a[i].cost) < 0)
                return GL_ENOMEM;
            dlist_remove(&b->in[w], v);
        }
        for (uint32_t i = 0; i < b->in[v].n; i++) {
            uint32_t u = b->in[v].a[i].other;
            if (keeps_push(&b->down, v, u, b->in[v].a[i].cost) < 0)
                return GL_ENOMEM;
            dlist_remove(&b->out[u], v);
        }
        /* Neighbours gained a contracted neighbour: raise their priority by one and leave the
         * full re-simulation to the lazy check when they reach the top (re-simulating every
         * neighbour here builds Nanjing 3x slower for a hierarchy of the same query speed). */
        for (int dir = 0; dir < 2; dir++) {
            const dlist_t *l = dir ? &b->in[v] : &b->out[v];
            for (uint32_t i = 0; i < l->n; i++) {
                uint32_t x = l->a[i].other;
                b->deleted_nb[x]++;
                if (b->order.pos[x] != NOT_IN_HEAP)
                    ih_set(&b->order, x, b->order.key[b->order.pos[x]] + 1);
            }
        }
        free(b->out[v].a);
        free(b->in[v].a);
        memset(&b->out[v], 0, sizeof(dlist_t));
        memset(&b->in[v], 0, sizeof(dlist_t));
    }
    return 0;
}

int ch_build(const graph_t *g, ch_t **out, ch_stats_t *stats)
{
    if (!g || !out)
        return GL_EINVAL;
    double t0 = now_s();
    uint32_t n = g->n_vertices;
    ch_t *ch = calloc(1, sizeof(*ch));
    builder_t b;
    memset(&b, 0, sizeof(b));
    if (!ch)
        return GL_ENOMEM;
    ch->g = g;
    ch->n = n;
    int rc = GL_ENOMEM;
    b.g = g;
    b.n = n;
    b.out = calloc((size_t)n + 1, sizeof(dlist_t));
    b.in = calloc((size_t)n + 1, sizeof(dlist_t));
    b.done = calloc((size_t)n + 1, 1);
    b.deleted_nb = calloc((size_t)n + 1, sizeof(uint32_t));
    b.wdist = malloc(((size_t)n + 1) * sizeof(int64_t));
    b.wstamp = calloc((size_t)n + 1, sizeof(uint32_t));
    b.wtarget = calloc((size_t)n + 1, sizeof(uint32_t));
    ch->id_of = malloc(((size_t)n + 1) * sizeof(uint32_t));
    ch->buckets = calloc((size_t)n + 1, sizeof(bucket_t));
    if (!b.out || !b.in || !b.done || !b.deleted_nb || !b.wdist || !b.wstamp || !b.wtarget ||
        !ch->id_of || !ch->buckets || ih_init(&b.order, n) < 0 || ih_init(&b.wheap, n) < 0 ||
        side_init(&ch->fwd, n) < 0 || side_init(&ch->bwd, n) < 0)
        goto fail;
    rc = build_order(&b, ch->id_of);
    if (rc < 0)
        goto fail;
    rc = GL_ENOMEM;
    if (make_csr(&b.up, ch->id_of, n, &ch->up_first, &ch->up) < 0 ||
        make_csr(&b.down, ch->id_of, n, &ch->dn_first, &ch->dn) < 0)
        goto fail;
    if (stats) {
        stats->shortcuts = b.shortcuts;
        stats->up_arcs = (uint32_t)(b.up.n + b.down.n);
        stats->build_s = now_s() - t0;
    }
    builder_close(&b);
    *out = ch;
    return 0;

fail:
    builder_close(&b);
    ch_free(ch);
    return rc;
}

/* ---- searches ------------------------------------------------------------------------------- */

static void next_gen(ch_t *ch)
{
    if (++ch->gen == 0) {
        memset(ch->fwd.stamp, 0, ch->n * sizeof(uint32_t));
        memset(ch->bwd.stamp, 0, ch->n * sizeof(uint32_t));
        ch->gen = 1;
    }
    ih_clear(&ch->fwd.heap);
    ih_clear(&ch->bwd.heap);
    ch->fwd.n_list = 0;
    ch->bwd.n_list = 0;
}

/* Offers cost d for internal vertex x on side s. */
static void offer(ch_t *ch, side_t *s, uint32_t x, int64_t d)
{
    if (s->stamp[x] != ch->gen) {
        s->stamp[x] = ch->gen;
        s->dist[x] = d;
        ih_set(&s->heap, x, d);
    } else if (d < s->dist[x] && s->heap.pos[x] != NOT_IN_HEAP) {
        s->dist[x] = d;
        ih_set(&s->heap, x, d);
    }
}

static void seed_side(ch_t *ch, side_t *s, const route_seed_t *seeds, size_t n, int64_t max)
{
    for (size_t i = 0; i < n; i++)
        if (seeds[i].cost <= max)
            offer(ch, s, ch->id_of[seeds[i].vertex], seeds[i].cost);
}

/* Settles the next vertex of side s over the upward arcs (first, arcs); returns it. */
static uint32_t step(ch_t *ch, side_t *s, const uint32_t *first, const uarc_t *arcs, int64_t max)
{
    uint32_t x = ih_pop(&s->heap);
    int64_t dx = s->dist[x];
    s->list[s->n_list++] = x;
    for (uint32_t i = first[x]; i < first[x + 1]; i++) {
        int64_t d = dx + arcs[i].cost;
        if (d <= max)
            offer(ch, s, arcs[i].other, d);
    }
    return x;
}

/* Runs side s to exhaustion (a complete upward search space). */
static void exhaust(ch_t *ch, side_t *s, const uint32_t *first, const uarc_t *arcs, int64_t max)
{
    while (s->heap.n > 0)
        step(ch, s, first, arcs, max);
}

int ch_one_to_one(ch_t *ch, const route_pos_t *from, const route_pos_t *to, int64_t max_cost,
                  int64_t *cost)
{
    if (!ch || !cost || !route_pos_valid(ch->g, from) || !route_pos_valid(ch->g, to))
        return GL_EINVAL;
    route_seed_t dep[2], arr[2];
    size_t n_dep = route_pos_departures(ch->g, from, dep);
    size_t n_arr = route_pos_arrivals(ch->g, to, arr);
    next_gen(ch);
    seed_side(ch, &ch->fwd, dep, n_dep, max_cost);
    seed_side(ch, &ch->bwd, arr, n_arr, max_cost);
    int64_t best = route_pos_direct(ch->g, from, to);
    side_t *f = &ch->fwd, *r = &ch->bwd;
    int turn = 0;
    for (;;) {
        int f_live = f->heap.n > 0 && f->heap.key[0] < best;
        int r_live = r->heap.n > 0 && r->heap.key[0] < best;
        if (!f_live && !r_live)
            break;
        int go_fwd = f_live && (!r_live || turn == 0);
        turn ^= 1;
        side_t *s = go_fwd ? f : r, *o = go_fwd ? r : f;
        uint32_t x = go_fwd ? step(ch, s, ch->up_first, ch->up, max_cost)
                            : step(ch, s, ch->dn_first, ch->dn, max_cost);
        if (o->stamp[x] == ch->gen && s->dist[x] + o->dist[x] < best)
            best = s->dist[x] + o->dist[x];
    }
    if (best == GRAPH_COST_INF || best > max_cost)
        return GL_ENOENT;
    *cost = best;
    return 0;
}

/* ---- units and buckets ---------------------------------------------------------------------- */

static void unit_clear(ch_t *ch, unit_t *u, uint32_t unit_id)
{
    for (uint32_t i = 0; i < u->n; i++) {
        bucket_t *bk = &ch->buckets[u->nodes[i]];
        for (uint32_t j = 0; j < bk->n; j++)
            if (bk->e[j].unit == unit_id) {
                bk->e[j] = bk->e[--bk->n];
                break;
            }
    }
    u->n = 0;
    u->placed = 0;
}

void ch_unit_remove(ch_t *ch, uint32_t unit_id)
{
    if (ch && unit_id < ch->n_units)
        unit_clear(ch, &ch->units[unit_id], unit_id);
}

size_t ch_unit_entries(const ch_t *ch, uint32_t unit_id)
{
    if (!ch || unit_id >= ch->n_units || !ch->units[unit_id].placed)
        return 0;
    return ch->units[unit_id].n;
}

int ch_unit_set(ch_t *ch, uint32_t unit_id, const route_pos_t *pos)
{
    if (!ch || unit_id >= MAX_UNITS || !route_pos_valid(ch->g, pos))
        return GL_EINVAL;
    if (unit_id >= ch->n_units) {
        uint32_t n = unit_id + 1 > ch->n_units * 2 ? unit_id + 1 : ch->n_units * 2;
        unit_t *u = realloc(ch->units, n * sizeof(*u));
        if (!u)
            return GL_ENOMEM;
        memset(u + ch->n_units, 0, (n - ch->n_units) * sizeof(*u));
        ch->units = u;
        ch->n_units = n;
    }
    unit_t *u = &ch->units[unit_id];
    unit_clear(ch, u, unit_id);

    route_seed_t dep[2];
    size_t n_dep = route_pos_departures(ch->g, pos, dep);
    next_gen(ch);
    seed_side(ch, &ch->fwd, dep, n_dep, GRAPH_COST_INF);
    exhaust(ch, &ch->fwd, ch->up_first, ch->up, GRAPH_COST_INF);

    const side_t *s = &ch->fwd;
    if (s->n_list > u->cap) {
        uint32_t *nodes = realloc(u->nodes, s->n_list * sizeof(uint32_t));
        if (!nodes)
            return GL_ENOMEM;
        u->nodes = nodes;
        u->cap = s->n_list;
    }
    for (uint32_t i = 0; i < s->n_list; i++) {
        uint32_t x = s->list[i];
        bucket_t *bk = &ch->buckets[x];
        if (bk->n == bk->cap) {
            uint32_t cap = bk->cap ? bk->cap * 2 : 4;
            bentry_t *e = realloc(bk->e, cap * sizeof(*e));
            if (!e) {
                unit_clear(ch, u, unit_id);
                return GL_ENOMEM;
            }
            bk->e = e;
            bk->cap = cap;
        }
        bk->e[bk->n].unit = unit_id;
        bk->e[bk->n].cost = s->dist[x];
        bk->n++;
        u->nodes[u->n++] = x;
    }
    u->pos = *pos;
    u->placed = 1;
    return 0;
}

int ch_eta_to(ch_t *ch, const route_pos_t *target, int64_t max_cost, int64_t *out, size_t n_out)
{
    if (!ch || !route_pos_valid(ch->g, target) || (n_out && !out))
        return GL_EINVAL;
    for (size_t i = 0; i < n_out; i++)
        out[i] = GRAPH_COST_INF;
    route_seed_t arr[2];
    size_t n_arr = route_pos_arrivals(ch->g, target, arr);
    next_gen(ch);
    side_t *s = &ch->bwd;
    seed_side(ch, s, arr, n_arr, max_cost);
    while (s->heap.n > 0) {
        uint32_t x = step(ch, s, ch->dn_first, ch->dn, max_cost);
        const bucket_t *bk = &ch->buckets[x];
        int64_t dx = s->dist[x];
        for (uint32_t j = 0; j < bk->n; j++) {
            uint32_t unit = bk->e[j].unit;
            int64_t d = bk->e[j].cost + dx;
            if (unit < n_out && d < out[unit])
                out[unit] = d;
        }
    }
    size_t n_units = ch->n_units < n_out ? ch->n_units : n_out;
    for (size_t i = 0; i < n_units; i++) {
        if (!ch->units[i].placed)
            continue;
        int64_t direct = route_pos_direct(ch->g, &ch->units[i].pos, target);
        if (direct < out[i])
            out[i] = direct;
        if (out[i] > max_cost)
            out[i] = GRAPH_COST_INF;
    }
    return 0;
}
