/*
 * Edge-cost overlay and line-to-arcs selection (see overlay.h).
 *
 * The drawn line is projected onto a local plane (equirectangular, centred on its first point:
 * exact enough over the few kilometres a closure spans). An arc "lies along" the line when most
 * of nine points sampled along it (at tenths 1..9, so its end points, shared with the crossing
 * streets, do not decide) are within the radius of a piece of the line it is parallel to; an arc
 * much longer than the line is caught the other way round, by most of the line's own samples
 * lying within the radius of the arc.
 */
#include "overlay.h"
#include "err.h"
#include "geo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEG_M (GEO_EARTH_RADIUS_M * M_PI / 180.0)
#define SAMPLES 9

int64_t overlay_cost(int64_t cost, double factor)
{
    if (factor == 0)
        return OVERLAY_CLOSED_COST;
    if (!(factor > 0) || factor == 1)
        return cost;
    double c = (double)cost * factor;
    return c >= (double)OVERLAY_CLOSED_COST ? OVERLAY_CLOSED_COST : llround(c);
}

static void *dup_array(const void *src, size_t n, size_t size)
{
    void *p = malloc(n ? n * size : 1);
    if (p && n)
        memcpy(p, src, n * size);
    return p;
}

int overlay_graph_new(const graph_t *base, const double *factor, graph_t **out)
{
    if (!base || !out)
        return GL_EINVAL;
    graph_t *g = calloc(1, sizeof *g);
    if (!g)
        return GL_ENOMEM;
    size_t nv = base->n_vertices, na = base->n_arcs;
    g->n_vertices = base->n_vertices;
    g->n_arcs = base->n_arcs;
    g->out_first = dup_array(base->out_first, nv + 1, sizeof(uint32_t));
    g->in_first = dup_array(base->in_first, nv + 1, sizeof(uint32_t));
    g->arc_tail = dup_array(base->arc_tail, na, sizeof(uint32_t));
    g->arc_head = dup_array(base->arc_head, na, sizeof(uint32_t));
    g->arc_cost = dup_array(base->arc_cost, na, sizeof(int64_t));
    g->arc_length_m = dup_array(base->arc_length_m, na, sizeof(double));
    g->in_tail = dup_array(base->in_tail, na, sizeof(uint32_t));
    g->in_cost = dup_array(base->in_cost, na, sizeof(int64_t));
    g->in_arc = dup_array(base->in_arc, na, sizeof(uint32_t));
    if (base->lat) {
        g->lat = dup_array(base->lat, nv, sizeof(double));
        g->lon = dup_array(base->lon, nv, sizeof(double));
    }
    if (!g->out_first || !g->in_first || !g->arc_tail || !g->arc_head || !g->arc_cost ||
        !g->arc_length_m || !g->in_tail || !g->in_cost || !g->in_arc ||
        (base->lat && (!g->lat || !g->lon))) {
        graph_free(g);
        return GL_ENOMEM;
    }
    if (factor) {
        for (size_t a = 0; a < na; a++)
            g->arc_cost[a] = overlay_cost(base->arc_cost[a], factor[a]);
        for (size_t s = 0; s < na; s++)
            g->in_cost[s] = g->arc_cost[g->in_arc[s]];
    }
    *out = g;
    return 0;
}

/* ---- a line drawn on the map ---------------------------------------------------------------- */

typedef struct pt {
    double x, y; /* metres on the local plane */
} pt_t;

static double dist_to_segment(pt_t p, pt_t a, pt_t b)
{
    double dx = b.x - a.x, dy = b.y - a.y, len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double ex = a.x + t * dx - p.x, ey = a.y + t * dy - p.y;
    return sqrt(ex * ex + ey * ey);
}

/* 1 if segments a0a1 and b0b1 are within the angle (cos_min), either way when `both`. */
static int aligned(pt_t a0, pt_t a1, pt_t b0, pt_t b1, double cos_min, int both)
{
    double ax = a1.x - a0.x, ay = a1.y - a0.y, bx = b1.x - b0.x, by = b1.y - b0.y;
    double la = sqrt(ax * ax + ay * ay), lb = sqrt(bx * bx + by * by);
    if (la < 1e-6 || lb < 1e-6)
        return 0;
    double c = (ax * bx + ay * by) / (la * lb);
    return (both ? fabs(c) : c) >= cos_min;
}

/* Majority of SAMPLES points along s0s1 within `radius` of segment t0t1. */
static int mostly_near(pt_t s0, pt_t s1, pt_t t0, pt_t t1, double radius)
{
    int near = 0;
    for (int k = 1; k <= SAMPLES; k++) {
        double f = k / (double)(SAMPLES + 1);
        pt_t p = {s0.x + f * (s1.x - s0.x), s0.y + f * (s1.y - s0.y)};
        near += dist_to_segment(p, t0, t1) <= radius;
    }
    return near * 2 > SAMPLES;
}

int overlay_arcs_near_line(const graph_t *g, const double *lat, const double *lon, size_t n,
                           double radius_m, double max_angle_deg, int both_ways, uint32_t **arcs,
                           size_t *n_arcs)
{
    if (!g || !g->lat || !lat || !lon || n < 2 || !arcs || !n_arcs || !(radius_m >= 0) ||
        !(max_angle_deg >= 0 && max_angle_deg <= 90))
        return GL_EINVAL;
    *arcs = NULL;
    *n_arcs = 0;
    double la0 = 90, la1 = -90, lo0 = 180, lo1 = -180;
    for (size_t i = 0; i < n; i++) {
        if (!geo_point_valid(lat[i], lon[i]))
            return GL_EINVAL;
        la0 = fmin(la0, lat[i]);
        la1 = fmax(la1, lat[i]);
        lo0 = fmin(lo0, lon[i]);
        lo1 = fmax(lo1, lon[i]);
    }
    double kx = DEG_M * cos(lat[0] * M_PI / 180.0);
    double pad_lat = radius_m / DEG_M, pad_lon = radius_m / (kx > 1 ? kx : 1);
    pt_t *line = malloc(n * sizeof *line);
    if (!line)
        return GL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        line[i] = (pt_t){(lon[i] - lon[0]) * kx, (lat[i] - lat[0]) * DEG_M};
    double cos_min = cos(max_angle_deg * M_PI / 180.0);
    size_t cap = 0, count = 0;
    uint32_t *found = NULL;
    int rc = 0;
    for (uint32_t a = 0; a < g->n_arcs; a++) {
        uint32_t u = g->arc_tail[a], v = g->arc_head[a];
        if (fmax(g->lat[u], g->lat[v]) < la0 - pad_lat ||
            fmin(g->lat[u], g->lat[v]) > la1 + pad_lat ||
            fmax(g->lon[u], g->lon[v]) < lo0 - pad_lon ||
            fmin(g->lon[u], g->lon[v]) > lo1 + pad_lon)
            continue;
        pt_t p = {(g->lon[u] - lon[0]) * kx, (g->lat[u] - lat[0]) * DEG_M};
        pt_t q = {(g->lon[v] - lon[0]) * kx, (g->lat[v] - lat[0]) * DEG_M};
        int hit = 0;
        /* The arc's own samples, each against any parallel piece of the line. */
        int near = 0;
        for (int k = 1; k <= SAMPLES; k++) {
            double f = k / (double)(SAMPLES + 1);
            pt_t s = {p.x + f * (q.x - p.x), p.y + f * (q.y - p.y)};
            for (size_t j = 0; j + 1 < n; j++)
                if (aligned(p, q, line[j], line[j + 1], cos_min, both_ways) &&
                    dist_to_segment(s, line[j], line[j + 1]) <= radius_m) {
                    near++;
                    break;
                }
        }
        hit = near * 2 > SAMPLES;
        for (size_t j = 0; !hit && j + 1 < n; j++)
            hit = aligned(p, q, line[j], line[j + 1], cos_min, both_ways) &&
                  mostly_near(line[j], line[j + 1], p, q, radius_m);
        if (!hit)
            continue;
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            uint32_t *nf = realloc(found, ncap * sizeof *nf);
            if (!nf) {
                rc = GL_ENOMEM;
                break;
            }
            found = nf;
            cap = ncap;
        }
        found[count++] = a;
    }
    free(line);
    if (rc) {
        free(found);
        return rc;
    }
    *arcs = found;
    *n_arcs = count;
    return 0;
}
