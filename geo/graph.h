/*
 * The road graph in memory: a directed graph in compressed sparse row (CSR) arrays, with a
 * forward adjacency (out-arcs of each vertex) and a reverse one (in-arcs), vertex coordinates and
 * per-arc cost and length. Built once from a plain array of arcs (the file loaders in
 * roads_file.c and, later, the database code feed the same builder), then read-only: every search
 * structure (route.h, snap.h, ch.h) borrows it.
 *
 * Costs are 64-bit integers. For travel times the unit is the microsecond: the OSM city graphs
 * give seconds with exactly 6 decimals, so reading them as integer microseconds is exact, sums
 * are exact and associative, and a search reproduces the published reference costs to the last
 * digit (a double would too for these sums, but integer sums make Dijkstra, a bidirectional
 * search and a contraction hierarchy agree bit for bit whatever the order of additions, which is
 * what lets the tests compare them with ==). int64 microseconds overflow after 292,000 years. A
 * graph whose costs are not times (the DIMACS graphs) keeps its own integer unit; the graph does
 * not care. GRAPH_COST_INF marks "unreachable".
 *
 * Arc ids are positions in the forward CSR (arcs sorted by tail, then input order), so an arc's
 * data is graph->arc_*[id]; graph_new() can report the id given to each input arc.
 */
#ifndef GL_GRAPH_H
#define GL_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#define GRAPH_COST_INF INT64_MAX
#define GRAPH_COST_US_PER_S 1000000 /* time costs are microseconds */
#define GRAPH_NONE UINT32_MAX       /* "no vertex" / "no arc" */

/* One input arc, as a loader or the database hands it to graph_new(). */
typedef struct graph_edge {
    uint32_t from;   /* tail vertex, 0..n_vertices-1 */
    uint32_t to;     /* head vertex */
    int64_t cost;    /* >= 0: microseconds for travel times (see the file comment) */
    double length_m; /* >= 0, metres; informational (not used by searches) */
} graph_edge_t;

typedef struct graph {
    uint32_t n_vertices;
    uint32_t n_arcs;
    double *lat;          /* [n_vertices] degrees; NULL when the graph has no coordinates */
    double *lon;          /* [n_vertices] degrees; NULL likewise */
    uint32_t *out_first;  /* [n_vertices + 1] forward CSR: arcs out_first[v]..out_first[v+1]-1 */
    uint32_t *arc_tail;   /* [n_arcs] tail of arc id */
    uint32_t *arc_head;   /* [n_arcs] head of arc id */
    int64_t *arc_cost;    /* [n_arcs] cost of arc id */
    double *arc_length_m; /* [n_arcs] length of arc id */
    uint32_t *in_first;   /* [n_vertices + 1] reverse CSR: slots in_first[v]..in_first[v+1]-1 */
    uint32_t *in_tail;    /* [n_arcs] tail of the in-arc in that slot (copied for locality) */
    int64_t *in_cost;     /* [n_arcs] its cost (copied for locality) */
    uint32_t *in_arc;     /* [n_arcs] its arc id */
} graph_t;

/*
 * Builds a graph of `n_vertices` vertices from `n_edges` arcs. `lat` and `lon` (degrees, n_vertices
 * each) are copied; pass both NULL for a graph without coordinates (no snapping then). If
 * `arc_id_out` is not NULL it receives, for each input arc i, the arc id it was given.
 * Parallel arcs and zero costs are kept. On success stores a new graph in *out (free it with
 * graph_free) and returns 0. Returns GL_EINVAL for a vertex id out of range, a negative cost, an
 * invalid coordinate or more than 2^32-2 vertices or arcs; GL_ENOMEM when out of memory.
 */
int graph_new(uint32_t n_vertices, const double *lat, const double *lon, const graph_edge_t *edges,
              size_t n_edges, uint32_t *arc_id_out, graph_t **out);

/* Frees a graph; NULL is a no-op. The caller frees every structure borrowing it first. */
void graph_free(graph_t *g);

/*
 * The arc from `u` to `v` of least cost (lowest id on ties), or GRAPH_NONE if there is none.
 * O(out-degree of u).
 */
uint32_t graph_find_arc(const graph_t *g, uint32_t u, uint32_t v);

#endif
