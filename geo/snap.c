/*
 * The segment grid: a dense latitude/longitude grid over the graph's bounding box, stored as CSR
 * (cell -> segment arc ids). Each segment is entered in every cell its bounding box overlaps, so a
 * query only needs to look at cells near the point. One arc per segment is entered (for a two-way
 * road the lower-id one of the pair; parallel arcs are represented by their cheapest).
 *
 * A query scans square rings of cells around the point's cell and stops once the best distance
 * found is no greater than the distance from the point to anything outside the scanned block, or
 * that distance exceeds the caller's limit. Distances to segments are computed in a local
 * equirectangular projection centred on the query point (exact enough at the scale of a road
 * segment: relative error well under 0.1 % within a few km); the reported distance is then the
 * great-circle distance to the snapped point.
 */
#include "snap.h"
#include "err.h"
#include "geo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CELL_DEG 0.005
#define MAX_CELLS (1u << 24) /* grows the cell when the box is huge */
#define DEG_M (GEO_EARTH_RADIUS_M * M_PI / 180.0)

struct snap {
    const graph_t *g;
    uint32_t *twin;      /* [n_arcs] opposite arc or GRAPH_NONE */
    double cell_deg;     /* cell size */
    double lat0, lon0;   /* south-west corner of the grid */
    uint32_t rows, cols; /* grid size */
    uint32_t *first;     /* [rows * cols + 1] CSR starts */
    uint32_t *arcs;      /* segment arcs by cell */
};

void snap_free(snap_t *s)
{
    if (!s)
        return;
    free(s->twin);
    free(s->first);
    free(s->arcs);
    free(s);
}

uint32_t snap_twin(const snap_t *s, uint32_t arc)
{
    return arc < s->g->n_arcs ? s->twin[arc] : GRAPH_NONE;
}

route_pos_t snap_pos_on_arc(const snap_t *s, uint32_t arc, double frac)
{
    route_pos_t p = {.vertex = s->g->arc_tail[arc],
                     .arc = arc,
                     .twin = s->twin[arc],
                     .frac = frac < 0   ? 0
                             : frac > 1 ? 1
                                        : frac};
    return p;
}

/* 1 if `a` is the arc that represents its segment in the grid. */
static int is_representative(const graph_t *g, const uint32_t *twin, uint32_t a)
{
    if (graph_find_arc(g, g->arc_tail[a], g->arc_head[a]) != a)
        return 0;
    return twin[a] == GRAPH_NONE || a < twin[a];
}

static int32_t cell_row(const snap_t *s, double lat)
{
    return (int32_t)floor((lat - s->lat0) / s->cell_deg);
}

static int32_t cell_col(const snap_t *s, double lon)
{
    return (int32_t)floor((lon - s->lon0) / s->cell_deg);
}

static uint32_t clampi(int32_t v, uint32_t n)
{
    return v < 0 ? 0 : (uint32_t)v >= n ? n - 1 : (uint32_t)v;
}

/* Calls the cell-range of arc `a`: rows r0..r1, cols c0..c1. */
static void arc_cells(const snap_t *s, uint32_t a, uint32_t *r0, uint32_t *r1, uint32_t *c0,
                      uint32_t *c1)
{
    const graph_t *g = s->g;
    uint32_t u = g->arc_tail[a], v = g->arc_head[a];
    *r0 = clampi(cell_row(s, fmin(g->lat[u], g->lat[v])), s->rows);
    *r1 = clampi(cell_row(s, fmax(g->lat[u], g->lat[v])), s->rows);
    *c0 = clampi(cell_col(s, fmin(g->lon[u], g->lon[v])), s->cols);
    *c1 = clampi(cell_col(s, fmax(g->lon[u], g->lon[v])), s->cols);
}

int snap_new(const graph_t *g, double cell_deg, snap_t **out)
{
    if (!g || !out || !g->lat || cell_deg < 0 || g->n_vertices == 0)
        return GL_EINVAL;
    snap_t *s = calloc(1, sizeof(*s));
    if (!s)
        return GL_ENOMEM;
    s->g = g;
    s->twin = malloc(((size_t)g->n_arcs + 1) * sizeof(uint32_t));
    if (!s->twin)
        goto fail;
    for (uint32_t a = 0; a < g->n_arcs; a++)
        s->twin[a] = graph_find_arc(g, g->arc_head[a], g->arc_tail[a]);

    double la0 = 90, la1 = -90, lo0 = 180, lo1 = -180;
    for (uint32_t v = 0; v < g->n_vertices; v++) {
        la0 = fmin(la0, g->lat[v]);
        la1 = fmax(la1, g->lat[v]);
        lo0 = fmin(lo0, g->lon[v]);
        lo1 = fmax(lo1, g->lon[v]);
    }
    s->cell_deg = cell_deg > 0 ? cell_deg : DEFAULT_CELL_DEG;
    for (;;) {
        double rows = floor((la1 - la0) / s->cell_deg) + 1;
        double cols = floor((lo1 - lo0) / s->cell_deg) + 1;
        if (rows * cols <= MAX_CELLS) {
            s->rows = (uint32_t)rows;
            s->cols = (uint32_t)cols;
            break;
        }
        s->cell_deg *= 2;
    }
    s->lat0 = la0;
    s->lon0 = lo0;
    size_t n_cells = (size_t)s->rows * s->cols;
    s->first = calloc(n_cells + 1, sizeof(uint32_t));
    if (!s->first)
        goto fail;

    /* Two passes: count entries per cell, then fill. */
    size_t total = 0;
    for (uint32_t a = 0; a < g->n_arcs; a++) {
        if (!is_representative(g, s->twin, a))
            continue;
        uint32_t r0, r1, c0, c1;
        arc_cells(s, a, &r0, &r1, &c0, &c1);
        for (uint32_t r = r0; r <= r1; r++)
            for (uint32_t c = c0; c <= c1; c++)
                s->first[(size_t)r * s->cols + c + 1]++;
        total += (size_t)(r1 - r0 + 1) * (c1 - c0 + 1);
    }
    if (total >= UINT32_MAX)
        goto fail;
    for (size_t i = 0; i < n_cells; i++)
        s->first[i + 1] += s->first[i];
    s->arcs = malloc((total + 1) * sizeof(uint32_t));
    uint32_t *cursor = malloc(n_cells * sizeof(uint32_t));
    if (!s->arcs || !cursor) {
        free(cursor);
        goto fail;
    }
    memcpy(cursor, s->first, n_cells * sizeof(uint32_t));
    for (uint32_t a = 0; a < g->n_arcs; a++) {
        if (!is_representative(g, s->twin, a))
            continue;
        uint32_t r0, r1, c0, c1;
        arc_cells(s, a, &r0, &r1, &c0, &c1);
        for (uint32_t r = r0; r <= r1; r++)
            for (uint32_t c = c0; c <= c1; c++)
                s->arcs[cursor[(size_t)r * s->cols + c]++] = a;
    }
    free(cursor);
    *out = s;
    return 0;

fail:
    snap_free(s);
    return GL_ENOMEM;
}

/* The best candidate so far. */
struct best {
    uint32_t arc;
    double d2;   /* squared projected distance, m^2 */
    double frac; /* along the arc */
};

/* Projects the query (origin of the local plane) onto the segment of arc `a`. */
static void try_arc(const snap_t *s, uint32_t a, double lat, double lon, double kx, struct best *b)
{
    const graph_t *g = s->g;
    uint32_t u = g->arc_tail[a], v = g->arc_head[a];
    double ux = (g->lon[u] - lon) * kx, uy = (g->lat[u] - lat) * DEG_M;
    double vx = (g->lon[v] - lon) * kx, vy = (g->lat[v] - lat) * DEG_M;
    double dx = vx - ux, dy = vy - uy;
    double len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? -(ux * dx + uy * dy) / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double px = ux + t * dx, py = uy + t * dy;
    double d2 = px * px + py * py;
    if (d2 < b->d2 || (d2 == b->d2 && a < b->arc)) {
        b->arc = a;
        b->d2 = d2;
        b->frac = t;
    }
}

int snap_point(const snap_t *s, double lat, double lon, double max_dist_m, snap_hit_t *hit)
{
    if (!s || !hit || !geo_point_valid(lat, lon) || !(max_dist_m >= 0))
        return GL_EINVAL;
    double kx = DEG_M * cos(lat * M_PI / 180.0); /* metres per degree of longitude here */
    double cell_y = s->cell_deg * DEG_M, cell_x = s->cell_deg * kx;
    struct best b = {.arc = GRAPH_NONE, .d2 = INFINITY, .frac = 0};
    int32_t r = cell_row(s, lat), c = cell_col(s, lon);
    /* Offsets of the query inside its cell, to bound the distance to outside a block. */
    double in_y = (lat - s->lat0) / s->cell_deg - r, in_x = (lon - s->lon0) / s->cell_deg - c;
    double limit2 = max_dist_m * max_dist_m;
    for (int32_t k = 0;; k++) {
        /* Ring k: cells with Chebyshev distance k from (r, c), clipped to the grid. */
        for (int32_t i = r - k; i <= r + k; i++) {
            if (i < 0 || (uint32_t)i >= s->rows)
                continue;
            int32_t step = (i == r - k || i == r + k) ? 1 : 2 * k;
            for (int32_t j = c - k; j <= c + k; j += step ? step : 1) {
                if (j < 0 || (uint32_t)j >= s->cols)
                    continue;
                size_t cell = (size_t)i * s->cols + (uint32_t)j;
                for (uint32_t e = s->first[cell]; e < s->first[cell + 1]; e++)
                    try_arc(s, s->arcs[e], lat, lon, kx, &b);
            }
        }
        /* Everything outside the block of rings 0..k is at least this far away. */
        double gap_y = fmin(in_y + k, 1 - in_y + k) * cell_y;
        double gap_x = fmin(in_x + k, 1 - in_x + k) * cell_x;
        double gap = fmin(gap_x, gap_y);
        if (b.d2 <= gap * gap || gap * gap > limit2)
            break;
        /* The block covers the whole grid: nothing left to scan. */
        if (r - k <= 0 && c - k <= 0 && r + k >= (int32_t)s->rows - 1 &&
            c + k >= (int32_t)s->cols - 1)
            break;
    }
    if (b.arc == GRAPH_NONE || b.d2 > limit2 * 1.01 + 1)
        return GL_ENOENT;
    const graph_t *g = s->g;
    uint32_t u = g->arc_tail[b.arc], v = g->arc_head[b.arc];
    hit->pos = snap_pos_on_arc(s, b.arc, b.frac);
    hit->lat = g->lat[u] + b.frac * (g->lat[v] - g->lat[u]);
    hit->lon = g->lon[u] + b.frac * (g->lon[v] - g->lon[u]);
    hit->distance_m = geo_distance_m(lat, lon, hit->lat, hit->lon);
    if (hit->distance_m > max_dist_m)
        return GL_ENOENT;
    return 0;
}
