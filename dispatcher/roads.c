/*
 * The dispatcher's road ETAs (see roads.h).
 */
#include "roads.h"

#include "err.h"
#include "geo.h"
#include "log.h"
#include "overlay.h"
#include "text.h"
#include "timeutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct placed {
    int placed;             /* on the network, at `pos` (and in the active hierarchy, if any) */
    route_pos_t pos;        /* where it was snapped, on the graph as loaded */
    double lat, lon;        /* where it was placed */
    int64_t at_ms;
    int counted;            /* in the coverage model */
    double cov_lat, cov_lon;
    int64_t cov_at_ms;
};

/* A hierarchy being built on the thread pool for the costs of closure generation `gen`. The
 * worker touches only the job: its own copy of the graph with those costs, and the hierarchy it
 * builds over it; so nothing the loop thread may change or free is shared. */
struct rebuild {
    uv_work_t req;
    roads_t *r;             /* NULL once roads_free() ran: the result is just freed */
    uint64_t gen;
    graph_t *g;             /* the graph with the new costs (copied on the loop thread)... */
    ch_t *ch;               /* ...and its hierarchy (built on the pool) */
    int rc;
    double build_s;
};

struct roads {
    graph_t *g;
    snap_t *snap;
    ch_t *ch;               /* hierarchy of the graph as loaded (kept while closures exist) */
    ch_t *placed_in;        /* the hierarchy the units are placed in now; NULL: none */
    uv_loop_t *loop;        /* thread pool for rebuilds; NULL: roads_rebuild_now() only */
    int64_t *way_of_arc;    /* OSM way per arc, or NULL */
    closures_t *closures;
    uint64_t gen;           /* closure generation taken into the costs */
    int64_t next_expiry_ms; /* earliest closure expiry, INT64_MAX: none */
    graph_t *og;            /* the graph with closure costs; NULL: no closure */
    route_ws_t *ows;        /* plain search over og */
    route_ws_t *bws;        /* plain search over g (the route without closures) */
    graph_t *ovl_g;         /* a hierarchy over closure costs... */
    ch_t *ovl_ch;
    uint64_t ovl_gen;       /* ...built for this generation */
    struct rebuild *job;    /* in flight, or NULL */
    route_pos_t *fpos;      /* scratch for the plain search: placed units' positions */
    uint32_t *fslot;        /* and their slots */
    int64_t *fcost;
    size_t nf;
    struct placed *units;   /* per fleet slot */
    size_t nunits;
    int64_t *eta;           /* scratch for ch_eta_to, per slot */
    size_t neta;
    coverage_t *cov;        /* NULL: no demand points */
    route_pos_t *stations;  /* snapped move-up stations */
    char (*station_ids)[40];
    size_t nstations;
    char (*names)[64];      /* demand point names */
    coverage_demand_t *demand; /* and the points themselves (map layer) */
    size_t nnames;
};

int roads_new(graph_t *g, roads_t **out)
{
    roads_t *r = calloc(1, sizeof *r);
    if (!r) {
        graph_free(g);
        return GL_ENOMEM;
    }
    r->g = g;
    r->next_expiry_ms = INT64_MAX;
    int rc = snap_new(g, 0, &r->snap);
    if (rc == 0)
        rc = ch_build(g, &r->ch, NULL);
    if (rc == 0 && (!(r->closures = closures_new()) || !(r->bws = route_ws_new(g))))
        rc = GL_ENOMEM;
    if (rc) {
        roads_free(r);
        return rc;
    }
    r->placed_in = r->ch;
    *out = r;
    return 0;
}

static void rebuild_free(struct rebuild *job)
{
    ch_free(job->ch);
    graph_free(job->g);
    free(job);
}

void roads_free(roads_t *r)
{
    if (!r)
        return;
    if (r->job)
        r->job->r = NULL; /* still on the thread pool: freed by its after-work callback */
    coverage_free(r->cov); /* first: it borrows the graph of the costs in force */
    ch_free(r->ovl_ch);
    graph_free(r->ovl_g);
    route_ws_free(r->ows);
    route_ws_free(r->bws);
    graph_free(r->og);
    closures_free(r->closures);
    free(r->way_of_arc);
    free(r->fpos);
    free(r->fslot);
    free(r->fcost);
    free(r->stations);
    free(r->station_ids);
    free(r->names);
    free(r->demand);
    ch_free(r->ch);
    snap_free(r->snap);
    graph_free(r->g);
    free(r->units);
    free(r->eta);
    free(r);
}

size_t roads_vertices(const roads_t *r)
{
    return r->g->n_vertices;
}

size_t roads_arcs(const roads_t *r)
{
    return r->g->n_arcs;
}

static int grow(void **a, size_t *n, size_t want, size_t size)
{
    if (want <= *n)
        return 0;
    size_t cap = want < 64 ? 64 : want * 2;
    void *na = realloc(*a, cap * size);
    if (!na)
        return GL_ENOMEM;
    memset((char *)na + *n * size, 0, (cap - *n) * size);
    *a = na;
    *n = cap;
    return 0;
}

static route_pos_t usable_pos(const roads_t *r, const route_pos_t *p);

/* Coverage follows the unit more coarsely than the hierarchy: a placement there costs one
 * bounded search over the city (geo/coverage.h). */
static void count_for_coverage(roads_t *r, uint32_t slot, struct placed *p, const snap_hit_t *hit,
                               double lat, double lon, int64_t now_ms)
{
    if (!r->cov)
        return;
    if (!hit) {
        if (p->counted)
            coverage_set_unit(r->cov, slot, NULL);
        p->counted = 0;
        return;
    }
    if (p->counted && now_ms - p->cov_at_ms < ROADS_COVERAGE_REPLACE_MS &&
        geo_distance_m(p->cov_lat, p->cov_lon, lat, lon) < ROADS_COVERAGE_MOVE_M)
        return;
    route_pos_t pos = usable_pos(r, &hit->pos);
    if (coverage_set_unit(r->cov, slot, &pos) == 0) {
        p->counted = 1;
        p->cov_lat = lat;
        p->cov_lon = lon;
        p->cov_at_ms = now_ms;
    }
}

/* ---- the active cost set -------------------------------------------------------------------- */

#define MAX_COST_US ((int64_t)(ROADS_MAX_ETA_S * 1e6))

/* The hierarchy that honours the current closures, or NULL while only plain search does. */
static ch_t *active_ch(const roads_t *r)
{
    if (!r->og)
        return r->ch;
    return r->ovl_ch && r->ovl_gen == r->gen ? r->ovl_ch : NULL;
}

/* The graph whose costs are in force. */
static const graph_t *cost_graph(const roads_t *r)
{
    return r->og ? r->og : r->g;
}

/*
 * A position as the current costs can use it: a point on a road closed in every direction it
 * may be driven cannot be left or reached along that road, so it moves to the nearer end of the
 * segment (the crew walks or drives the few metres; the ETA is to or from there).
 */
static route_pos_t usable_pos(const roads_t *r, const route_pos_t *p)
{
    const graph_t *g = cost_graph(r);
    if (!r->og || p->arc == GRAPH_NONE || g->arc_cost[p->arc] < OVERLAY_CLOSED_COST ||
        (p->twin != GRAPH_NONE && g->arc_cost[p->twin] < OVERLAY_CLOSED_COST))
        return *p;
    return route_pos_vertex(p->frac < 0.5 ? g->arc_tail[p->arc] : g->arc_head[p->arc]);
}

/* Puts every unit into the active hierarchy when that changed (a rebuild was swapped in, or the
 * last closure went). */
static void sync_units(roads_t *r)
{
    ch_t *want = active_ch(r);
    if (want == r->placed_in)
        return;
    if (want) {
        for (uint32_t s = 0; s < r->nunits; s++) {
            struct placed *p = &r->units[s];
            route_pos_t pos = usable_pos(r, &p->pos);
            if (!p->placed)
                ch_unit_remove(want, s);
            else if (ch_unit_set(want, s, &pos) != 0)
                p->placed = 0;
        }
    }
    r->placed_in = want;
}

void roads_unit_update(roads_t *r, uint32_t slot, int available, double lat, double lon,
                       int64_t now_ms)
{
    roads_expire(r, now_ms);
    sync_units(r);
    if (grow((void **)&r->units, &r->nunits, (size_t)slot + 1, sizeof *r->units))
        return;
    struct placed *p = &r->units[slot];
    ch_t *ch = r->placed_in;
    if (!available) {
        if (p->placed) {
            if (ch)
                ch_unit_remove(ch, slot);
            p->placed = 0;
        }
        count_for_coverage(r, slot, p, NULL, lat, lon, now_ms);
        return;
    }
    if (p->placed && now_ms - p->at_ms < ROADS_REPLACE_MS &&
        geo_distance_m(p->lat, p->lon, lat, lon) < ROADS_MOVE_M)
        return;
    snap_hit_t hit;
    route_pos_t pos;
    if (snap_point(r->snap, lat, lon, ROADS_UNIT_SNAP_M, &hit) != 0 ||
        (pos = usable_pos(r, &hit.pos), ch && ch_unit_set(ch, slot, &pos) != 0)) {
        if (p->placed && ch)
            ch_unit_remove(ch, slot);
        p->placed = 0;
        count_for_coverage(r, slot, p, NULL, lat, lon, now_ms);
        return;
    }
    count_for_coverage(r, slot, p, &hit, lat, lon, now_ms);
    p->placed = 1;
    p->pos = hit.pos;
    p->lat = lat;
    p->lon = lon;
    p->at_ms = now_ms;
}

double roads_travel_s(roads_t *r, double lat1, double lon1, double lat2, double lon2)
{
    snap_hit_t a, b;
    int64_t cost;
    if (snap_point(r->snap, lat1, lon1, ROADS_SNAP_M, &a) != 0 ||
        snap_point(r->snap, lat2, lon2, ROADS_SNAP_M, &b) != 0)
        return -1;
    route_pos_t pa = usable_pos(r, &a.pos), pb = usable_pos(r, &b.pos);
    ch_t *ch = active_ch(r);
    int rc = ch ? ch_one_to_one(ch, &pa, &pb, MAX_COST_US, &cost)
                : route_one_to_one(r->ows, &pa, &pb, MAX_COST_US, &cost);
    return rc ? -1 : (double)cost / 1e6;
}

int roads_unit_placed(const roads_t *r, uint32_t slot)
{
    return slot < r->nunits && r->units[slot].placed;
}

/* Every placed unit's ETA by one reverse Dijkstra over the current costs: what answers while
 * the hierarchy for them is being built. */
static int eta_plain(roads_t *r, const route_pos_t *target, size_t n)
{
    size_t k = 0, want = r->nunits ? r->nunits : 1;
    if (r->nf < want) {
        size_t cap = want * 2;
        route_pos_t *np = realloc(r->fpos, cap * sizeof *np);
        if (np)
            r->fpos = np;
        uint32_t *ns = realloc(r->fslot, cap * sizeof *ns);
        if (ns)
            r->fslot = ns;
        int64_t *nc = realloc(r->fcost, cap * sizeof *nc);
        if (nc)
            r->fcost = nc;
        if (!np || !ns || !nc)
            return GL_ENOMEM;
        r->nf = cap;
    }
    for (uint32_t s = 0; s < r->nunits; s++) {
        if (!r->units[s].placed)
            continue;
        r->fpos[k] = usable_pos(r, &r->units[s].pos);
        r->fslot[k++] = s;
    }
    int rc = route_many_to_one(r->ows, r->fpos, k, target, MAX_COST_US, r->fcost);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        r->eta[i] = GRAPH_COST_INF;
    for (size_t i = 0; i < k; i++)
        if (r->fslot[i] < n)
            r->eta[r->fslot[i]] = r->fcost[i];
    return 0;
}

int roads_eta_to(roads_t *r, double lat, double lon, double *out, size_t n)
{
    snap_hit_t hit;
    if (snap_point(r->snap, lat, lon, ROADS_SNAP_M, &hit) != 0)
        return GL_ENOENT;
    if (grow((void **)&r->eta, &r->neta, n ? n : 1, sizeof *r->eta))
        return GL_ENOMEM;
    sync_units(r);
    route_pos_t target = usable_pos(r, &hit.pos);
    ch_t *ch = active_ch(r);
    int rc = ch ? ch_eta_to(ch, &target, MAX_COST_US, r->eta, n) : eta_plain(r, &target, n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        out[i] = r->eta[i] == GRAPH_COST_INF ? -1.0 : (double)r->eta[i] / 1e6;
    return 0;
}

int roads_set_demand(roads_t *r, const coverage_demand_t *demand, const char *const *names,
                     size_t n, const double *station_lat, const double *station_lon,
                     const char *const *station_ids, size_t nstations)
{
    coverage_t *cov = NULL;
    int rc = n ? coverage_new(cost_graph(r), r->snap, demand, n, NULL, &cov) : 0;
    if (rc)
        return rc;
    route_pos_t *st = calloc(nstations ? nstations : 1, sizeof *st);
    char(*sid)[40] = calloc(nstations ? nstations : 1, sizeof *sid);
    char(*nm)[64] = calloc(n ? n : 1, sizeof *nm);
    coverage_demand_t *dm = malloc((n ? n : 1) * sizeof *dm);
    if (!st || !sid || !nm || !dm) {
        coverage_free(cov);
        free(st);
        free(sid);
        free(nm);
        free(dm);
        return GL_ENOMEM;
    }
    if (n)
        memcpy(dm, demand, n * sizeof *dm);
    for (size_t i = 0; i < n; i++)
        gl_utf8_copy(nm[i], sizeof nm[i], names ? names[i] : "");
    size_t k = 0;
    for (size_t i = 0; i < nstations; i++) {
        snap_hit_t hit;
        if (snap_point(r->snap, station_lat[i], station_lon[i], ROADS_UNIT_SNAP_M, &hit) == 0) {
            gl_utf8_copy(sid[k], sizeof sid[k], station_ids ? station_ids[i] : "");
            st[k++] = hit.pos;
        }
    }
    coverage_free(r->cov);
    free(r->stations);
    free(r->station_ids);
    free(r->names);
    free(r->demand);
    r->demand = dm;
    r->cov = cov;
    r->stations = st;
    r->station_ids = sid;
    r->nstations = k;
    r->names = nm;
    r->nnames = n;
    for (size_t i = 0; i < r->nunits; i++)
        r->units[i].counted = 0; /* counted again as they are next placed */
    return 0;
}

const coverage_demand_t *roads_demand_point(const roads_t *r, size_t i)
{
    return i < r->nnames ? &r->demand[i] : NULL;
}

size_t roads_demand_count(const roads_t *r)
{
    return r ? r->nnames : 0;
}

const char *roads_demand_name(const roads_t *r, size_t i)
{
    return i < r->nnames ? r->names[i] : "";
}

const char *roads_station_id(const roads_t *r, size_t i)
{
    return i < r->nstations ? r->station_ids[i] : "";
}

coverage_t *roads_coverage(roads_t *r)
{
    return r ? r->cov : NULL;
}

uint64_t roads_coverage_loss(roads_t *r, uint32_t slot)
{
    uint64_t lost = 0;
    double share;
    if (r && r->cov && slot < r->nunits && r->units[slot].counted &&
        coverage_what_if_remove(r->cov, slot, &lost, &share) != 0)
        lost = 0;
    return lost;
}

int roads_best_move(roads_t *r, coverage_move_t *out)
{
    if (!r || !r->cov || r->nstations == 0)
        return GL_ENOENT;
    if (!r->og)
        return coverage_best_move(r->cov, r->stations, r->nstations, out) == 0 ? 0 : GL_ENOENT;
    /* With closures, a station on a road closed every way leaves from the nearer end, as a
     * unit there would (usable_pos). */
    route_pos_t *st = malloc(r->nstations * sizeof *st);
    if (!st)
        return GL_ENOMEM;
    for (size_t i = 0; i < r->nstations; i++)
        st[i] = usable_pos(r, &r->stations[i]);
    int rc = coverage_best_move(r->cov, st, r->nstations, out) == 0 ? 0 : GL_ENOENT;
    free(st);
    return rc;
}

/* ---- closures and slowdowns ----------------------------------------------------------------- */

static void queue_rebuild(roads_t *r);

void roads_set_loop(roads_t *r, struct uv_loop_s *loop)
{
    r->loop = loop;
    if (r->og && r->ovl_gen != r->gen)
        queue_rebuild(r); /* closures applied before there was a loop (at load) */
}

int roads_set_arc_ways(roads_t *r, const int64_t *way, const uint32_t *arc_id, size_t n)
{
    if (!r || !way || !arc_id || n != r->g->n_arcs)
        return GL_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (arc_id[i] >= n)
            return GL_EINVAL;
    int64_t *w = calloc(n ? n : 1, sizeof *w);
    if (!w)
        return GL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        w[arc_id[i]] = way[i];
    free(r->way_of_arc);
    r->way_of_arc = w;
    return 0;
}

int roads_way_arcs(const roads_t *r, int64_t way, uint32_t **arcs, size_t *n)
{
    *arcs = NULL;
    *n = 0;
    if (!r->way_of_arc || way == 0)
        return GL_ENOENT;
    size_t count = 0;
    for (uint32_t a = 0; a < r->g->n_arcs; a++)
        count += r->way_of_arc[a] == way;
    if (count == 0)
        return GL_ENOENT;
    uint32_t *out = malloc(count * sizeof *out);
    if (!out)
        return GL_ENOMEM;
    size_t k = 0;
    for (uint32_t a = 0; a < r->g->n_arcs; a++)
        if (r->way_of_arc[a] == way)
            out[k++] = a;
    *arcs = out;
    *n = k;
    return 0;
}

const graph_t *roads_graph(const roads_t *r)
{
    return r->g;
}

closures_t *roads_closures(roads_t *r)
{
    return r->closures;
}

int roads_hierarchy_current(const roads_t *r)
{
    return active_ch(r) != NULL;
}

/* The factors of the current closure table: a new array, or NULL when out of memory. */
static double *current_factors(const roads_t *r)
{
    double *f = malloc(((size_t)r->g->n_arcs + 1) * sizeof *f);
    if (f)
        closures_factors(r->closures, f, r->g->n_arcs);
    return f;
}

static void on_rebuild_work(uv_work_t *req)
{
    struct rebuild *job = req->data;
    int64_t t0 = gl_mono_ms();
    job->rc = ch_build(job->g, &job->ch, NULL);
    job->build_s = (double)(gl_mono_ms() - t0) / 1000.0;
}

/* Swaps a finished hierarchy in when it is still for the current closures. */
static void take_rebuild(roads_t *r, struct rebuild *job)
{
    if (job->rc || job->gen != r->gen || !r->og)
        return;
    if (r->placed_in == r->ovl_ch)
        r->placed_in = NULL;
    ch_free(r->ovl_ch);
    graph_free(r->ovl_g);
    r->ovl_ch = job->ch;
    r->ovl_g = job->g;
    r->ovl_gen = job->gen;
    job->ch = NULL;
    job->g = NULL;
    sync_units(r);
    LOG_INFO("roads", "hierarchy rebuilt for %zu closure(s) in %.2f s: ETAs by hierarchy again",
             closures_count(r->closures), job->build_s);
}

static void on_rebuild_done(uv_work_t *req, int status)
{
    struct rebuild *job = req->data;
    roads_t *r = job->r;
    if (!r) {
        rebuild_free(job);
        return;
    }
    r->job = NULL;
    if (status < 0)
        LOG_ERR("roads", "hierarchy rebuild not run: %s", uv_strerror(status));
    else if (job->rc)
        LOG_ERR("roads", "hierarchy rebuild failed (%s): plain search goes on",
                gl_strerror(job->rc));
    else
        take_rebuild(r, job);
    rebuild_free(job);
    if (status >= 0 && r->og && r->ovl_gen != r->gen)
        queue_rebuild(r); /* the closures changed during the build */
}

static void queue_rebuild(roads_t *r)
{
    if (!r->loop || r->job || !r->og)
        return;
    struct rebuild *job = calloc(1, sizeof *job);
    if (!job || overlay_graph_new(r->og, NULL, &job->g) != 0) {
        free(job);
        LOG_ERR("roads", "no memory for a hierarchy rebuild: plain search goes on");
        return;
    }
    job->r = r;
    job->gen = r->gen;
    job->req.data = job;
    int rc = uv_queue_work(r->loop, &job->req, on_rebuild_work, on_rebuild_done);
    if (rc < 0) {
        LOG_ERR("roads", "hierarchy rebuild not queued: %s", uv_strerror(rc));
        rebuild_free(job);
        return;
    }
    r->job = job;
}

int roads_rebuild_now(roads_t *r)
{
    if (!r->og || r->ovl_gen == r->gen)
        return 0;
    struct rebuild job = {.r = r, .gen = r->gen};
    job.req.data = &job;
    if (overlay_graph_new(r->og, NULL, &job.g) != 0)
        return GL_ENOMEM;
    on_rebuild_work(&job.req);
    int rc = job.rc;
    take_rebuild(r, &job);
    ch_free(job.ch);
    graph_free(job.g);
    return rc;
}

/* Places every unit counted in the coverage model again, over the costs now in force: one
 * bounded search each, on the loop (tens of units in a county; a closure is a rare event). */
static void recount_coverage(roads_t *r)
{
    for (uint32_t s = 0; s < r->nunits; s++) {
        struct placed *p = &r->units[s];
        if (!p->counted)
            continue;
        route_pos_t pos = usable_pos(r, &p->pos);
        if (!r->cov || coverage_set_unit(r->cov, s, &pos) != 0)
            p->counted = 0; /* counted again when next placed */
    }
}

int roads_closures_changed(roads_t *r)
{
    uint64_t gen = closures_generation(r->closures);
    if (gen == r->gen)
        return 0;
    graph_t *og = NULL;
    route_ws_t *ows = NULL;
    if (closures_count(r->closures) > 0) {
        double *f = current_factors(r);
        int rc = f ? overlay_graph_new(r->g, f, &og) : GL_ENOMEM;
        free(f);
        if (rc == 0 && !(ows = route_ws_new(og)))
            rc = GL_ENOMEM;
        if (rc) {
            graph_free(og);
            LOG_ERR("roads", "closures not taken into the costs: %s", gl_strerror(rc));
            return rc;
        }
    }
    /* The coverage model borrows the graph of the costs in force: a new one over the new costs
     * replaces it before those go. */
    if (r->nnames > 0) { /* (also when an earlier rebuild failed and left none) */
        coverage_t *cov = NULL;
        int rc = coverage_new(og ? og : r->g, r->snap, r->demand, r->nnames, NULL, &cov);
        if (rc)
            LOG_ERR("roads", "coverage dropped: no model over the new costs (%s)",
                    gl_strerror(rc));
        coverage_free(r->cov);
        r->cov = cov;
    }
    route_ws_free(r->ows);
    graph_free(r->og);
    r->og = og;
    r->ows = ows;
    r->gen = gen;
    recount_coverage(r);
    r->next_expiry_ms = closures_next_expiry(r->closures);
    if (!og) {
        /* No closure left: the hierarchy as loaded is right again; drop the other. */
        if (r->placed_in == r->ovl_ch)
            r->placed_in = NULL;
        ch_free(r->ovl_ch);
        graph_free(r->ovl_g);
        r->ovl_ch = NULL;
        r->ovl_g = NULL;
    }
    sync_units(r);
    queue_rebuild(r);
    return 0;
}

size_t roads_expire(roads_t *r, int64_t now_ms)
{
    if (!r || now_ms < r->next_expiry_ms)
        return 0;
    size_t n = closures_expire(r->closures, now_ms);
    if (n)
        LOG_INFO("roads", "%zu closure(s) expired", n);
    roads_closures_changed(r);
    return n;
}

/* ---- which closures a unit's road crosses --------------------------------------------------- */

/* Adds closure index `i` to `h` unless there already or full. */
static void hits_add(roads_closure_hits_t *h, size_t i)
{
    for (size_t k = 0; k < h->n; k++)
        if (h->idx[k] == i)
            return;
    if (h->n < ROADS_MAX_EXPLAIN)
        h->idx[h->n++] = i;
}

static void hits_arc(const roads_t *r, roads_closure_hits_t *h, uint32_t arc)
{
    if (arc == GRAPH_NONE)
        return;
    for (size_t i = 0; i < closures_count(r->closures); i++)
        if (closures_covers(closures_at(r->closures, i), arc))
            hits_add(h, i);
}

/*
 * After a reverse search from `target` on `ws` over `g`: walks the shortest route of a unit at
 * `from` to the target and names the closures on its arcs.
 */
static void walk_route(const roads_t *r, const graph_t *g, route_ws_t *ws, const route_pos_t *from,
                       const route_pos_t *target, roads_closure_hits_t *h)
{
    route_seed_t dep[2];
    size_t nd = route_pos_departures(g, from, dep);
    int64_t best = GRAPH_COST_INF;
    size_t bi = 0;
    for (size_t i = 0; i < nd; i++) {
        int64_t d = route_ws_cost(ws, dep[i].vertex);
        if (d != GRAPH_COST_INF && d + dep[i].cost < best) {
            best = d + dep[i].cost;
            bi = i;
        }
    }
    int64_t direct = route_pos_direct(g, from, target);
    if (direct != GRAPH_COST_INF && direct <= best) {
        hits_arc(r, h, from->arc);
        hits_arc(r, h, from->twin);
        return;
    }
    if (best == GRAPH_COST_INF || best > MAX_COST_US)
        return;
    if (from->arc != GRAPH_NONE)
        hits_arc(r, h, bi == 0 ? from->arc : from->twin);
    uint32_t v = dep[bi].vertex;
    for (uint32_t steps = 0; steps < g->n_vertices; steps++) {
        uint32_t a = route_ws_parent_arc(ws, v);
        if (a == GRAPH_NONE)
            break;
        hits_arc(r, h, a);
        v = g->arc_head[a];
    }
    if (target->arc == GRAPH_NONE)
        return;
    if (v == g->arc_tail[target->arc])
        hits_arc(r, h, target->arc);
    else if (target->twin != GRAPH_NONE && v == g->arc_tail[target->twin])
        hits_arc(r, h, target->twin);
}

/* One reverse search over `g` towards `target`, stopping once every unit's start is settled,
 * then each unit's route walked. */
static int explain_on(roads_t *r, const graph_t *g, route_ws_t *ws, const route_pos_t *target,
                      const uint32_t *slots, size_t n, roads_closure_hits_t *out, int usable)
{
    uint32_t stop[2 * ROADS_EXPLAIN_MAX_UNITS];
    size_t nstop = 0;
    route_pos_t from[ROADS_EXPLAIN_MAX_UNITS];
    for (size_t i = 0; i < n && i < ROADS_EXPLAIN_MAX_UNITS; i++) {
        if (!roads_unit_placed(r, slots[i]))
            continue;
        from[i] = usable ? usable_pos(r, &r->units[slots[i]].pos) : r->units[slots[i]].pos;
        route_seed_t dep[2];
        size_t nd = route_pos_departures(g, &from[i], dep);
        for (size_t k = 0; k < nd; k++)
            stop[nstop++] = dep[k].vertex;
    }
    if (nstop == 0)
        return 0;
    route_seed_t arr[2];
    size_t na = route_pos_arrivals(g, target, arr);
    int rc = route_search(ws, 1, arr, na, MAX_COST_US, stop, nstop);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && i < ROADS_EXPLAIN_MAX_UNITS; i++)
        if (roads_unit_placed(r, slots[i]))
            walk_route(r, g, ws, &from[i], target, &out[i]);
    return 0;
}

int roads_route_closures(roads_t *r, double lat, double lon, const uint32_t *slots, size_t n,
                         roads_closure_hits_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i].n = 0;
    if (!r->og || closures_count(r->closures) == 0)
        return 0;
    snap_hit_t hit;
    if (snap_point(r->snap, lat, lon, ROADS_SNAP_M, &hit) != 0)
        return GL_ENOENT;
    route_pos_t target = usable_pos(r, &hit.pos);
    int rc = explain_on(r, r->og, r->ows, &target, slots, n, out, 1);
    if (rc == 0)
        rc = explain_on(r, r->g, r->bws, &hit.pos, slots, n, out, 0);
    return rc;
}

/* ---- one route's geometry ----------------------------------------------------------------- */

static void pos_point(const graph_t *g, const route_pos_t *p, double *lat, double *lon)
{
    if (p->arc == GRAPH_NONE) {
        *lat = g->lat[p->vertex];
        *lon = g->lon[p->vertex];
        return;
    }
    uint32_t t = g->arc_tail[p->arc], h = g->arc_head[p->arc];
    *lat = g->lat[t] + (g->lat[h] - g->lat[t]) * p->frac;
    *lon = g->lon[t] + (g->lon[h] - g->lon[t]) * p->frac;
}

/* Length of the part of the position's arc between the position and one end. */
static double part_length(const graph_t *g, const route_pos_t *p, int to_head)
{
    if (p->arc == GRAPH_NONE)
        return 0;
    return g->arc_length_m[p->arc] * (to_head ? 1 - p->frac : p->frac);
}

int roads_path(roads_t *r, double lat1, double lon1, double lat2, double lon2, double *travel_s,
               double *length_m, double **pts, size_t *npts)
{
    snap_hit_t a, b;
    if (snap_point(r->snap, lat1, lon1, ROADS_SNAP_M, &a) != 0 ||
        snap_point(r->snap, lat2, lon2, ROADS_SNAP_M, &b) != 0)
        return GL_ENOENT;
    const graph_t *g = cost_graph(r);
    route_pos_t pa = usable_pos(r, &a.pos), pb = usable_pos(r, &b.pos);
    double *out = malloc(2 * sizeof *out * 2);
    if (!out)
        return GL_ENOMEM;
    int64_t direct = route_pos_direct(g, &pa, &pb);
    route_ws_t *ws = route_ws_new(g);
    if (!ws) {
        free(out);
        return GL_ENOMEM;
    }
    route_seed_t dep[2], arr[2];
    size_t nd = route_pos_departures(g, &pa, dep), na = route_pos_arrivals(g, &pb, arr);
    uint32_t stop[2];
    for (size_t i = 0; i < na; i++)
        stop[i] = arr[i].vertex;
    int rc = route_search(ws, 0, dep, nd, MAX_COST_US, stop, na);
    int64_t best = GRAPH_COST_INF;
    size_t bi = 0;
    for (size_t i = 0; rc == 0 && i < na; i++) {
        int64_t c = route_ws_cost(ws, arr[i].vertex);
        if (c != GRAPH_COST_INF && c + arr[i].cost < best) {
            best = c + arr[i].cost;
            bi = i;
        }
    }
    if (direct != GRAPH_COST_INF && direct <= best && direct <= MAX_COST_US) {
        /* along one road segment: from the one point to the other */
        pos_point(g, &pa, &out[0], &out[1]);
        pos_point(g, &pb, &out[2], &out[3]);
        *npts = 2;
        *travel_s = (double)direct / 1e6;
        *length_m = fabs(part_length(g, &pa, 1) - part_length(g, &pb, 1));
        route_ws_free(ws);
        *pts = out;
        return 0;
    }
    if (rc || best == GRAPH_COST_INF || best > MAX_COST_US) {
        route_ws_free(ws);
        free(out);
        return GL_ENOENT;
    }
    /* Walk the parents back from the arrival vertex, then reverse. */
    size_t cap = 64, n = 0;
    double *v = malloc(cap * 2 * sizeof *v);
    double len = 0;
    uint32_t at = arr[bi].vertex;
    while (v) {
        if (n == cap) {
            double *nv = realloc(v, (cap *= 2) * 2 * sizeof *nv);
            if (!nv) {
                free(v);
                v = NULL;
                break;
            }
            v = nv;
        }
        v[2 * n] = g->lat[at];
        v[2 * n + 1] = g->lon[at];
        n++;
        uint32_t pa_arc = route_ws_parent_arc(ws, at);
        if (pa_arc == GRAPH_NONE)
            break;
        len += g->arc_length_m[pa_arc];
        at = g->arc_tail[pa_arc];
    }
    route_ws_free(ws);
    free(out);
    if (!v)
        return GL_ENOMEM;
    double *path = malloc((n + 2) * 2 * sizeof *path);
    if (!path) {
        free(v);
        return GL_ENOMEM;
    }
    size_t k = 0;
    pos_point(g, &pa, &path[0], &path[1]);
    k++;
    for (size_t i = n; i-- > 0; k++) {
        path[2 * k] = v[2 * i];
        path[2 * k + 1] = v[2 * i + 1];
    }
    pos_point(g, &pb, &path[2 * k], &path[2 * k + 1]);
    k++;
    free(v);
    /* the partial arcs at both ends: from pa to the first vertex, from the last vertex to pb */
    if (pa.arc != GRAPH_NONE)
        len += part_length(g, &pa, at == g->arc_head[pa.arc]);
    if (pb.arc != GRAPH_NONE)
        len += part_length(g, &pb, arr[bi].vertex != g->arc_tail[pb.arc]);
    *pts = path;
    *npts = k;
    *travel_s = (double)best / 1e6;
    *length_m = len;
    return 0;
}
