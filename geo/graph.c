/*
 * Building the CSR road graph from an arc list: a counting sort by tail for the forward arrays
 * (stable, so arcs of one vertex keep their input order) and by head for the reverse arrays.
 * Two passes over the input, no per-vertex allocation.
 */
#include "graph.h"
#include "err.h"
#include "geo.h"

#include <stdlib.h>
#include <string.h>

void graph_free(graph_t *g)
{
    if (!g)
        return;
    free(g->lat);
    free(g->lon);
    free(g->out_first);
    free(g->arc_tail);
    free(g->arc_head);
    free(g->arc_cost);
    free(g->arc_length_m);
    free(g->in_first);
    free(g->in_tail);
    free(g->in_cost);
    free(g->in_arc);
    free(g);
}

int graph_new(uint32_t n_vertices, const double *lat, const double *lon, const graph_edge_t *edges,
              size_t n_edges, uint32_t *arc_id_out, graph_t **out)
{
    if (!out || (n_edges && !edges) || (!lat) != (!lon) || n_vertices >= GRAPH_NONE ||
        n_edges >= GRAPH_NONE)
        return GL_EINVAL;
    for (size_t i = 0; i < n_edges; i++)
        if (edges[i].from >= n_vertices || edges[i].to >= n_vertices || edges[i].cost < 0 ||
            !(edges[i].length_m >= 0))
            return GL_EINVAL;
    if (lat)
        for (uint32_t v = 0; v < n_vertices; v++)
            if (!geo_point_valid(lat[v], lon[v]))
                return GL_EINVAL;

    graph_t *g = calloc(1, sizeof(*g));
    if (!g)
        return GL_ENOMEM;
    size_t m = n_edges ? n_edges : 1; /* malloc(0) may return NULL */
    g->n_vertices = n_vertices;
    g->n_arcs = (uint32_t)n_edges;
    g->out_first = calloc((size_t)n_vertices + 1, sizeof(uint32_t));
    g->in_first = calloc((size_t)n_vertices + 1, sizeof(uint32_t));
    g->arc_tail = malloc(m * sizeof(uint32_t));
    g->arc_head = malloc(m * sizeof(uint32_t));
    g->arc_cost = malloc(m * sizeof(int64_t));
    g->arc_length_m = malloc(m * sizeof(double));
    g->in_tail = malloc(m * sizeof(uint32_t));
    g->in_cost = malloc(m * sizeof(int64_t));
    g->in_arc = malloc(m * sizeof(uint32_t));
    if (!g->out_first || !g->in_first || !g->arc_tail || !g->arc_head || !g->arc_cost ||
        !g->arc_length_m || !g->in_tail || !g->in_cost || !g->in_arc)
        goto fail;
    if (lat) {
        g->lat = malloc(((size_t)n_vertices + 1) * sizeof(double));
        g->lon = malloc(((size_t)n_vertices + 1) * sizeof(double));
        if (!g->lat || !g->lon)
            goto fail;
        memcpy(g->lat, lat, n_vertices * sizeof(double));
        memcpy(g->lon, lon, n_vertices * sizeof(double));
    }

    /* Counting sort by tail: out_first[v+1] counts, prefix sums give the starts. */
    for (size_t i = 0; i < n_edges; i++) {
        g->out_first[edges[i].from + 1]++;
        g->in_first[edges[i].to + 1]++;
    }
    for (uint32_t v = 0; v < n_vertices; v++) {
        g->out_first[v + 1] += g->out_first[v];
        g->in_first[v + 1] += g->in_first[v];
    }
    /* Place each arc at its vertex's moving cursor: first the forward arrays in input order,
     * then the reverse arrays in arc-id order. */
    uint32_t *cursor = malloc(((size_t)n_vertices + 1) * sizeof(uint32_t));
    if (!cursor)
        goto fail;
    memcpy(cursor, g->out_first, ((size_t)n_vertices + 1) * sizeof(uint32_t));
    for (size_t i = 0; i < n_edges; i++) {
        uint32_t id = cursor[edges[i].from]++;
        g->arc_tail[id] = edges[i].from;
        g->arc_head[id] = edges[i].to;
        g->arc_cost[id] = edges[i].cost;
        g->arc_length_m[id] = edges[i].length_m;
        if (arc_id_out)
            arc_id_out[i] = id;
    }
    memcpy(cursor, g->in_first, ((size_t)n_vertices + 1) * sizeof(uint32_t));
    for (uint32_t id = 0; id < g->n_arcs; id++) {
        uint32_t slot = cursor[g->arc_head[id]]++;
        g->in_tail[slot] = g->arc_tail[id];
        g->in_cost[slot] = g->arc_cost[id];
        g->in_arc[slot] = id;
    }
    free(cursor);
    *out = g;
    return 0;

fail:
    graph_free(g);
    return GL_ENOMEM;
}

uint32_t graph_find_arc(const graph_t *g, uint32_t u, uint32_t v)
{
    uint32_t best = GRAPH_NONE;
    if (u >= g->n_vertices)
        return best;
    for (uint32_t a = g->out_first[u]; a < g->out_first[u + 1]; a++)
        if (g->arc_head[a] == v && (best == GRAPH_NONE || g->arc_cost[a] < g->arc_cost[best]))
            best = a;
    return best;
}
