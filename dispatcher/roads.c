/*
 * The dispatcher's road ETAs (see roads.h).
 */
#include "roads.h"

#include "err.h"
#include "geo.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>

struct placed {
    int placed;             /* in the hierarchy's buckets */
    double lat, lon;        /* where it was placed */
    int64_t at_ms;
    int counted;            /* in the coverage model */
    double cov_lat, cov_lon;
    int64_t cov_at_ms;
};

struct roads {
    graph_t *g;
    snap_t *snap;
    ch_t *ch;
    struct placed *units;   /* per fleet slot */
    size_t nunits;
    int64_t *eta;           /* scratch for ch_eta_to, per slot */
    size_t neta;
    coverage_t *cov;        /* NULL: no demand points */
    route_pos_t *stations;  /* snapped move-up stations */
    char (*station_ids)[40];
    size_t nstations;
    char (*names)[64];      /* demand point names */
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
    int rc = snap_new(g, 0, &r->snap);
    if (rc == 0)
        rc = ch_build(g, &r->ch, NULL);
    if (rc) {
        roads_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void roads_free(roads_t *r)
{
    if (!r)
        return;
    coverage_free(r->cov);
    free(r->stations);
    free(r->station_ids);
    free(r->names);
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
    if (coverage_set_unit(r->cov, slot, &hit->pos) == 0) {
        p->counted = 1;
        p->cov_lat = lat;
        p->cov_lon = lon;
        p->cov_at_ms = now_ms;
    }
}

void roads_unit_update(roads_t *r, uint32_t slot, int available, double lat, double lon,
                       int64_t now_ms)
{
    if (grow((void **)&r->units, &r->nunits, (size_t)slot + 1, sizeof *r->units))
        return;
    struct placed *p = &r->units[slot];
    if (!available) {
        if (p->placed) {
            ch_unit_remove(r->ch, slot);
            p->placed = 0;
        }
        count_for_coverage(r, slot, p, NULL, lat, lon, now_ms);
        return;
    }
    if (p->placed && now_ms - p->at_ms < ROADS_REPLACE_MS &&
        geo_distance_m(p->lat, p->lon, lat, lon) < ROADS_MOVE_M)
        return;
    snap_hit_t hit;
    if (snap_point(r->snap, lat, lon, ROADS_UNIT_SNAP_M, &hit) != 0 ||
        ch_unit_set(r->ch, slot, &hit.pos) != 0) {
        if (p->placed)
            ch_unit_remove(r->ch, slot);
        p->placed = 0;
        count_for_coverage(r, slot, p, NULL, lat, lon, now_ms);
        return;
    }
    count_for_coverage(r, slot, p, &hit, lat, lon, now_ms);
    p->placed = 1;
    p->lat = lat;
    p->lon = lon;
    p->at_ms = now_ms;
}

double roads_travel_s(roads_t *r, double lat1, double lon1, double lat2, double lon2)
{
    snap_hit_t a, b;
    int64_t cost;
    if (snap_point(r->snap, lat1, lon1, ROADS_SNAP_M, &a) != 0 ||
        snap_point(r->snap, lat2, lon2, ROADS_SNAP_M, &b) != 0 ||
        ch_one_to_one(r->ch, &a.pos, &b.pos, (int64_t)(ROADS_MAX_ETA_S * 1e6), &cost) != 0)
        return -1;
    return (double)cost / 1e6;
}

int roads_unit_placed(const roads_t *r, uint32_t slot)
{
    return slot < r->nunits && r->units[slot].placed;
}

int roads_eta_to(roads_t *r, double lat, double lon, double *out, size_t n)
{
    snap_hit_t hit;
    if (snap_point(r->snap, lat, lon, ROADS_SNAP_M, &hit) != 0)
        return GL_ENOENT;
    if (grow((void **)&r->eta, &r->neta, n ? n : 1, sizeof *r->eta))
        return GL_ENOMEM;
    int rc = ch_eta_to(r->ch, &hit.pos, (int64_t)(ROADS_MAX_ETA_S * 1e6), r->eta, n);
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
    int rc = n ? coverage_new(r->g, r->snap, demand, n, NULL, &cov) : 0;
    if (rc)
        return rc;
    route_pos_t *st = calloc(nstations ? nstations : 1, sizeof *st);
    char(*sid)[40] = calloc(nstations ? nstations : 1, sizeof *sid);
    char(*nm)[64] = calloc(n ? n : 1, sizeof *nm);
    if (!st || !sid || !nm) {
        coverage_free(cov);
        free(st);
        free(sid);
        free(nm);
        return GL_ENOMEM;
    }
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
    return coverage_best_move(r->cov, r->stations, r->nstations, out) == 0 ? 0 : GL_ENOENT;
}
