/*
 * The coverage model of coverage.h: per-unit bounded forward searches, each kept as a list of
 * (demand point, travel time), mirrored in per-point lists of (unit, time).
 *
 * Turning a search into point times: two CSR indexes are built once from the snapped points.
 * vertex -> (point, cost from the vertex to the point) holds each point's arrival seeds
 * (route_pos_arrivals), so after a search from a unit a point's time is the minimum over its
 * seeds of (settled cost + seed cost), read by walking only the settled vertices; arc -> points
 * lists the points lying on each arc or on its twin, for the one case that passes no vertex (unit
 * and point on the same road segment, route_pos_direct). This is exactly what route_one_to_many()
 * computes, without scanning every point for every unit.
 *
 * Updates keep the model consistent on failure: every allocation a change needs (the unit's list,
 * one more slot in each reached point's list) is made before anything is modified, so GL_ENOMEM
 * leaves the previous state. Population sums are integers and are adjusted each time a point's
 * covered flag flips, so they never drift from a recount.
 */
#include "coverage.h"
#include "err.h"
#include "geo.h"

#include <stdlib.h>
#include <string.h>

/* A (demand point, time) or (unit, time) pair, depending on the list. */
typedef struct hit {
    uint32_t id;
    int64_t t;
} hit_t;

typedef struct point {
    route_pos_t pos;    /* snapped position (valid when snapped) */
    uint64_t pop;       /* population weight */
    int64_t limit;      /* time limit of its area class */
    uint8_t area;       /* coverage_area_t */
    uint8_t snapped;    /* 1 when on the graph */
    hit_t *by;          /* units reaching it within the bound, any order */
    uint32_t n_by;      /* entries in `by` */
    uint32_t cap_by;    /* capacity of `by` */
    uint32_t n_cov;     /* entries of `by` within `limit` */
    hit_t best, second; /* the two fastest (id GRAPH_NONE, t GRAPH_COST_INF when absent) */
} point_t;

typedef struct unit {
    int placed;        /* available and on the graph */
    route_pos_t pos;   /* where */
    hit_t *hits;       /* points it reaches within the bound, with times */
    uint32_t n_hits;   /* entries */
    uint32_t cap_hits; /* capacity */
} unit_t;

struct coverage {
    const graph_t *g;
    route_ws_t *ws; /* the one search workspace */
    point_t *pt;    /* [n] demand points */
    uint32_t n;
    int64_t bound;    /* largest limit: the bound of every search */
    uint32_t *vfirst; /* [n_vertices + 1] CSR vertex -> vhits */
    hit_t *vhits;     /* (point, arrival cost from the vertex) */
    uint32_t *afirst; /* [n_arcs + 1] CSR arc -> apts */
    uint32_t *apts;   /* points on the arc or on its twin */
    unit_t *units;    /* [cap_units] by unit id */
    uint32_t cap_units;
    uint32_t n_placed;
    uint64_t covered, total; /* population sums */
    uint64_t area_cov[COVERAGE_AREA_COUNT], area_tot[COVERAGE_AREA_COUNT];
    uint32_t n_covered, n_unsnapped;
    /* Scratch of one reach computation. */
    int64_t *tmin;   /* [n] best time this round */
    uint32_t *stamp; /* [n] == gen: tmin valid */
    uint32_t gen;
    hit_t *reach; /* [n] the points reached, with times */
    uint32_t n_reach;
};

static const hit_t NO_HIT = {GRAPH_NONE, GRAPH_COST_INF};

const char *coverage_area_name(coverage_area_t a)
{
    switch (a) {
    case COVERAGE_AREA_TOWN:
        return "town";
    case COVERAGE_AREA_COUNTRYSIDE:
        return "countryside";
    default:
        return "?";
    }
}

void coverage_config_default(coverage_config_t *cfg)
{
    cfg->limit_us[COVERAGE_AREA_TOWN] = COVERAGE_TOWN_LIMIT_US;
    cfg->limit_us[COVERAGE_AREA_COUNTRYSIDE] = COVERAGE_COUNTRYSIDE_LIMIT_US;
    cfg->snap_max_m = SNAP_DEFAULT_MAX_M;
}

void coverage_free(coverage_t *c)
{
    if (!c)
        return;
    if (c->pt)
        for (uint32_t i = 0; i < c->n; i++)
            free(c->pt[i].by);
    if (c->units)
        for (uint32_t u = 0; u < c->cap_units; u++)
            free(c->units[u].hits);
    free(c->pt);
    free(c->units);
    free(c->vfirst);
    free(c->vhits);
    free(c->afirst);
    free(c->apts);
    free(c->tmin);
    free(c->stamp);
    free(c->reach);
    route_ws_free(c->ws);
    free(c);
}

/* Builds the vertex -> (point, arrival cost) and arc -> point indexes. */
static int build_index(coverage_t *c)
{
    const graph_t *g = c->g;
    c->vfirst = calloc((size_t)g->n_vertices + 1, sizeof(uint32_t));
    c->afirst = calloc((size_t)g->n_arcs + 1, sizeof(uint32_t));
    if (!c->vfirst || !c->afirst)
        return GL_ENOMEM;
    size_t nv = 0, na = 0;
    route_seed_t arr[2];
    for (uint32_t i = 0; i < c->n; i++) {
        const point_t *p = &c->pt[i];
        if (!p->snapped)
            continue;
        size_t k = route_pos_arrivals(g, &p->pos, arr);
        for (size_t j = 0; j < k; j++, nv++)
            c->vfirst[arr[j].vertex + 1]++;
        if (p->pos.arc != GRAPH_NONE) {
            c->afirst[p->pos.arc + 1]++, na++;
            if (p->pos.twin != GRAPH_NONE)
                c->afirst[p->pos.twin + 1]++, na++;
        }
    }
    for (uint32_t v = 0; v < g->n_vertices; v++)
        c->vfirst[v + 1] += c->vfirst[v];
    for (uint32_t a = 0; a < g->n_arcs; a++)
        c->afirst[a + 1] += c->afirst[a];
    c->vhits = malloc((nv ? nv : 1) * sizeof(hit_t));
    c->apts = malloc((na ? na : 1) * sizeof(uint32_t));
    uint32_t *vfill = malloc(((size_t)g->n_vertices + 1) * sizeof(uint32_t));
    uint32_t *afill = malloc(((size_t)g->n_arcs + 1) * sizeof(uint32_t));
    if (!c->vhits || !c->apts || !vfill || !afill) {
        free(vfill);
        free(afill);
        return GL_ENOMEM;
    }
    memcpy(vfill, c->vfirst, ((size_t)g->n_vertices + 1) * sizeof(uint32_t));
    memcpy(afill, c->afirst, ((size_t)g->n_arcs + 1) * sizeof(uint32_t));
    for (uint32_t i = 0; i < c->n; i++) {
        const point_t *p = &c->pt[i];
        if (!p->snapped)
            continue;
        size_t k = route_pos_arrivals(g, &p->pos, arr);
        for (size_t j = 0; j < k; j++) {
            hit_t h = {i, arr[j].cost};
            c->vhits[vfill[arr[j].vertex]++] = h;
        }
        if (p->pos.arc != GRAPH_NONE) {
            c->apts[afill[p->pos.arc]++] = i;
            if (p->pos.twin != GRAPH_NONE)
                c->apts[afill[p->pos.twin]++] = i;
        }
    }
    free(vfill);
    free(afill);
    return 0;
}

int coverage_new(const graph_t *g, const snap_t *s, const coverage_demand_t *demand, size_t n,
                 const coverage_config_t *cfg, coverage_t **out)
{
    coverage_config_t def;
    if (!cfg) {
        coverage_config_default(&def);
        cfg = &def;
    }
    if (!g || !s || !out || (n && !demand) || n >= GRAPH_NONE || !(cfg->snap_max_m >= 0))
        return GL_EINVAL;
    for (int a = 0; a < COVERAGE_AREA_COUNT; a++)
        if (cfg->limit_us[a] <= 0)
            return GL_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!geo_point_valid(demand[i].lat, demand[i].lon) ||
            (unsigned)demand[i].area >= COVERAGE_AREA_COUNT)
            return GL_EINVAL;
    coverage_t *c = calloc(1, sizeof(*c));
    if (!c)
        return GL_ENOMEM;
    c->g = g;
    c->n = (uint32_t)n;
    size_t m = n ? n : 1;
    c->pt = calloc(m, sizeof(point_t));
    c->tmin = malloc(m * sizeof(int64_t));
    c->stamp = calloc(m, sizeof(uint32_t));
    c->reach = malloc(m * sizeof(hit_t));
    c->ws = route_ws_new(g);
    int rc = GL_ENOMEM;
    if (!c->pt || !c->tmin || !c->stamp || !c->reach || !c->ws)
        goto fail;
    double snap_max = cfg->snap_max_m > 0 ? cfg->snap_max_m : SNAP_DEFAULT_MAX_M;
    for (int a = 0; a < COVERAGE_AREA_COUNT; a++)
        if (cfg->limit_us[a] > c->bound)
            c->bound = cfg->limit_us[a];
    for (uint32_t i = 0; i < c->n; i++) {
        point_t *p = &c->pt[i];
        snap_hit_t hit;
        p->pop = demand[i].population;
        p->area = (uint8_t)demand[i].area;
        p->limit = cfg->limit_us[p->area];
        p->best = p->second = NO_HIT;
        rc = snap_point(s, demand[i].lat, demand[i].lon, snap_max, &hit);
        if (rc == 0) {
            p->pos = hit.pos;
            p->snapped = 1;
        } else if (rc == GL_ENOENT) {
            c->n_unsnapped++;
        } else {
            goto fail;
        }
        c->total += p->pop;
        c->area_tot[p->area] += p->pop;
    }
    rc = build_index(c);
    if (rc < 0)
        goto fail;
    *out = c;
    return 0;

fail:
    coverage_free(c);
    return rc;
}

/* ---- reach: one bounded search turned into point times --------------------------------------- */

static void offer(coverage_t *c, uint32_t i, int64_t t)
{
    if (c->stamp[i] != c->gen) {
        c->stamp[i] = c->gen;
        c->tmin[i] = t;
        c->reach[c->n_reach++].id = i;
    } else if (t < c->tmin[i]) {
        c->tmin[i] = t;
    }
}

/* Fills c->reach with the points reached from `pos` within the bound. Returns 0 or GL_EINVAL. */
static int reach(coverage_t *c, const route_pos_t *pos)
{
    const graph_t *g = c->g;
    route_seed_t dep[2];
    size_t nd = route_pos_departures(g, pos, dep);
    int rc = route_search(c->ws, 0, dep, nd, c->bound, NULL, 0);
    if (rc < 0)
        return rc;
    if (++c->gen == 0) {
        memset(c->stamp, 0, (c->n ? c->n : 1) * sizeof(uint32_t));
        c->gen = 1;
    }
    c->n_reach = 0;
    size_t ns;
    const uint32_t *settled = route_ws_settled(c->ws, &ns);
    for (size_t k = 0; k < ns; k++) {
        uint32_t v = settled[k];
        uint32_t lo = c->vfirst[v], hi = c->vfirst[v + 1];
        if (lo == hi)
            continue;
        int64_t dv = route_ws_cost(c->ws, v);
        for (uint32_t j = lo; j < hi; j++)
            offer(c, c->vhits[j].id, dv + c->vhits[j].t);
    }
    uint32_t arcs[2] = {pos->arc, pos->twin};
    for (int k = 0; k < 2; k++) {
        if (arcs[k] == GRAPH_NONE)
            continue;
        for (uint32_t j = c->afirst[arcs[k]]; j < c->afirst[arcs[k] + 1]; j++) {
            uint32_t i = c->apts[j];
            int64_t t = route_pos_direct(g, pos, &c->pt[i].pos);
            if (t != GRAPH_COST_INF)
                offer(c, i, t);
        }
    }
    uint32_t kept = 0;
    for (uint32_t k = 0; k < c->n_reach; k++) {
        uint32_t i = c->reach[k].id;
        if (c->tmin[i] <= c->bound) {
            c->reach[kept].id = i;
            c->reach[kept++].t = c->tmin[i];
        }
    }
    c->n_reach = kept;
    return 0;
}

/* ---- per-point state ------------------------------------------------------------------------- */

static int faster(hit_t a, hit_t b)
{
    return a.t < b.t || (a.t == b.t && a.id < b.id);
}

/* Recomputes a point's best, second and count from its list and adjusts the sums. */
static void point_update(coverage_t *c, point_t *p)
{
    int was = p->n_cov > 0;
    hit_t b = NO_HIT, s = NO_HIT;
    uint32_t nc = 0;
    for (uint32_t k = 0; k < p->n_by; k++) {
        hit_t h = p->by[k];
        if (h.t <= p->limit)
            nc++;
        if (faster(h, b)) {
            s = b;
            b = h;
        } else if (faster(h, s)) {
            s = h;
        }
    }
    p->best = b;
    p->second = s;
    p->n_cov = nc;
    int now = nc > 0;
    if (was == now)
        return;
    if (now) {
        c->covered += p->pop;
        c->area_cov[p->area] += p->pop;
        c->n_covered++;
    } else {
        c->covered -= p->pop;
        c->area_cov[p->area] -= p->pop;
        c->n_covered--;
    }
}

/* Grows an array of hits to at least `need` entries. */
static int reserve(hit_t **a, uint32_t *cap, uint32_t need)
{
    if (need <= *cap)
        return 0;
    uint32_t ncap = *cap ? *cap : 4;
    while (ncap < need)
        ncap = ncap > UINT32_MAX / 2 ? need : ncap * 2;
    hit_t *na = realloc(*a, (size_t)ncap * sizeof(hit_t));
    if (!na)
        return GL_ENOMEM;
    *a = na;
    *cap = ncap;
    return 0;
}

static int grow_units(coverage_t *c, uint32_t id)
{
    if (id < c->cap_units)
        return 0;
    uint32_t ncap = c->cap_units ? c->cap_units : 16;
    while (ncap <= id)
        ncap *= 2;
    unit_t *nu = realloc(c->units, (size_t)ncap * sizeof(unit_t));
    if (!nu)
        return GL_ENOMEM;
    memset(nu + c->cap_units, 0, (size_t)(ncap - c->cap_units) * sizeof(unit_t));
    c->units = nu;
    c->cap_units = ncap;
    return 0;
}

/* Removes unit `id`'s entries from the points it reaches. */
static void unit_clear(coverage_t *c, uint32_t id)
{
    unit_t *u = &c->units[id];
    for (uint32_t k = 0; k < u->n_hits; k++) {
        point_t *p = &c->pt[u->hits[k].id];
        for (uint32_t j = 0; j < p->n_by; j++) {
            if (p->by[j].id == id) {
                p->by[j] = p->by[--p->n_by];
                break;
            }
        }
        point_update(c, p);
    }
    u->n_hits = 0;
    u->placed = 0;
    c->n_placed--;
}

int coverage_set_unit(coverage_t *c, uint32_t unit_id, const route_pos_t *pos)
{
    if (!c || unit_id >= COVERAGE_MAX_UNITS || (pos && !route_pos_valid(c->g, pos)))
        return GL_EINVAL;
    if (!pos) {
        if (unit_id < c->cap_units && c->units[unit_id].placed)
            unit_clear(c, unit_id);
        return 0;
    }
    int rc = grow_units(c, unit_id);
    if (rc < 0)
        return rc;
    rc = reach(c, pos);
    if (rc < 0)
        return rc;
    unit_t *u = &c->units[unit_id];
    if (reserve(&u->hits, &u->cap_hits, c->n_reach) < 0)
        return GL_ENOMEM;
    for (uint32_t k = 0; k < c->n_reach; k++) {
        point_t *p = &c->pt[c->reach[k].id];
        if (reserve(&p->by, &p->cap_by, p->n_by + 1) < 0)
            return GL_ENOMEM;
    }
    if (u->placed)
        unit_clear(c, unit_id);
    for (uint32_t k = 0; k < c->n_reach; k++) {
        point_t *p = &c->pt[c->reach[k].id];
        hit_t h = {unit_id, c->reach[k].t};
        p->by[p->n_by++] = h;
        point_update(c, p);
    }
    if (c->n_reach)
        memcpy(u->hits, c->reach, (size_t)c->n_reach * sizeof(hit_t));
    u->n_hits = c->n_reach;
    u->pos = *pos;
    u->placed = 1;
    c->n_placed++;
    return 0;
}

/* ---- queries --------------------------------------------------------------------------------- */

static double ratio(uint64_t a, uint64_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

void coverage_get(const coverage_t *c, coverage_result_t *r)
{
    memset(r, 0, sizeof(*r));
    r->covered = c->covered;
    r->total = c->total;
    r->share = ratio(c->covered, c->total);
    for (int a = 0; a < COVERAGE_AREA_COUNT; a++) {
        r->area_covered[a] = c->area_cov[a];
        r->area_total[a] = c->area_tot[a];
        r->area_share[a] = ratio(c->area_cov[a], c->area_tot[a]);
    }
    r->n_points = c->n;
    r->n_covered = c->n_covered;
    r->n_unsnapped = c->n_unsnapped;
    r->n_units = c->n_placed;
}

int coverage_point(const coverage_t *c, size_t i, coverage_point_t *out)
{
    if (!c || !out || i >= c->n)
        return GL_EINVAL;
    const point_t *p = &c->pt[i];
    memset(out, 0, sizeof(*out));
    out->snapped = p->snapped;
    out->covered = p->n_cov > 0;
    out->limit_us = p->limit;
    out->n_covering = p->n_cov;
    out->best_us = p->best.t;
    out->best_unit = p->best.id;
    out->second_us = p->second.t;
    out->second_unit = p->second.id;
    return 0;
}

size_t coverage_uncovered(const coverage_t *c, uint32_t *out, size_t max)
{
    size_t count = 0;
    for (uint32_t i = 0; i < c->n; i++) {
        if (c->pt[i].n_cov > 0)
            continue;
        if (count < max)
            out[count] = i;
        count++;
    }
    return count;
}

/* Population that unit `id` (placed) covers alone. */
static uint64_t alone(const coverage_t *c, uint32_t id)
{
    const unit_t *u = &c->units[id];
    uint64_t lost = 0;
    for (uint32_t k = 0; k < u->n_hits; k++) {
        const point_t *p = &c->pt[u->hits[k].id];
        if (p->n_cov == 1 && u->hits[k].t <= p->limit)
            lost += p->pop;
    }
    return lost;
}

int coverage_what_if_remove(const coverage_t *c, uint32_t unit_id, uint64_t *lost,
                            double *lost_share)
{
    if (!c || !lost)
        return GL_EINVAL;
    if (unit_id >= c->cap_units || !c->units[unit_id].placed)
        return GL_ENOENT;
    *lost = alone(c, unit_id);
    if (lost_share)
        *lost_share = ratio(*lost, c->total);
    return 0;
}

int coverage_best_move(coverage_t *c, const route_pos_t *stations, size_t n, coverage_move_t *out)
{
    if (!c || !out || (n && !stations))
        return GL_EINVAL;
    for (size_t s = 0; s < n; s++)
        if (!route_pos_valid(c->g, &stations[s]))
            return GL_EINVAL;
    if (c->n_placed == 0 || n == 0)
        return GL_ENOENT;
    /* lost[u]: what u covers alone; back[u]: what the station would win back of it. */
    uint64_t *lost = calloc(c->cap_units, sizeof(uint64_t));
    uint64_t *back = calloc(c->cap_units, sizeof(uint64_t));
    if (!lost || !back) {
        free(lost);
        free(back);
        return GL_ENOMEM;
    }
    for (uint32_t u = 0; u < c->cap_units; u++)
        if (c->units[u].placed)
            lost[u] = alone(c, u);
    int found = 0;
    for (size_t s = 0; s < n; s++) {
        int rc = reach(c, &stations[s]);
        if (rc < 0) {
            free(lost);
            free(back);
            return rc;
        }
        uint64_t fresh = 0; /* what the station covers that nobody covers now */
        for (uint32_t k = 0; k < c->n_reach; k++) {
            const point_t *p = &c->pt[c->reach[k].id];
            if (c->reach[k].t > p->limit)
                continue;
            if (p->n_cov == 0)
                fresh += p->pop;
            else if (p->n_cov == 1)
                back[p->best.id] += p->pop;
        }
        for (uint32_t u = 0; u < c->cap_units; u++) {
            if (!c->units[u].placed)
                continue;
            int64_t gain = (int64_t)(fresh + back[u]) - (int64_t)lost[u];
            back[u] = 0;
            if (!found || gain > out->gain) {
                found = 1;
                out->unit_id = u;
                out->station = s;
                out->gain = gain;
            }
        }
    }
    free(lost);
    free(back);
    out->covered = (uint64_t)((int64_t)c->covered + out->gain);
    out->share_after = ratio(out->covered, c->total);
    return 0;
}
