/*
 * The dispatcher's road ETAs (see roads.h).
 */
#include "roads.h"

#include "err.h"
#include "geo.h"

#include <stdlib.h>
#include <string.h>

struct placed {
    int placed;             /* in the hierarchy's buckets */
    double lat, lon;        /* where it was placed */
    int64_t at_ms;
};

struct roads {
    graph_t *g;
    snap_t *snap;
    ch_t *ch;
    struct placed *units;   /* per fleet slot */
    size_t nunits;
    int64_t *eta;           /* scratch for ch_eta_to, per slot */
    size_t neta;
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
        return;
    }
    p->placed = 1;
    p->lat = lat;
    p->lon = lon;
    p->at_ms = now_ms;
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
