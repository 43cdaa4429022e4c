/*
 * Routino (Debian package routino: planetsplitter and routino-router) driven from bench/route.c,
 * for the one-to-one side by side of issue 4 on the same graph and the same queries.
 *
 * Routino reads OpenStreetMap data, so the graph is written out as OSM XML: one node per vertex
 * (OSM id = vertex + 1, the vertex's own coordinates) and one way per road segment between two
 * vertices (a two-way way when both arcs exist with the same cost, else a oneway=yes way per
 * arc), every way named (Routino trips on unnamed ways) and tagged highway=unclassified with
 * maxspeed = the arc's own speed (great-circle length / travel time, in km/h, rounded to the
 * integer Routino stores; the city graphs' speeds are whole km/h already). The router runs with
 * --quickest, the profile speed of unclassified raised to 255 km/h so that maxspeed alone sets
 * each way's speed, and --exact-nodes-only so a query starts and ends at the vertex under the
 * coordinates. The database is built with --prune-none: Routino's default pruning would delete
 * short segments and isolated groups, i.e. change the graph.
 *
 * Routino rounds (lengths to metres from its own coordinates, speeds to km/h), so its route is
 * re-costed on our graph (routino_recost) rather than its printed duration compared.
 *
 * Routino is a process per query. routino_route() measures both the wall time of the process
 * (spawn to exit, what a caller pays) and Routino's own elapsed time as it prints it with
 * --logtime ("Finish Program", from its start to its end: mapping the database files, finding
 * the points, routing, writing the output), so the per-query cost is reported honestly.
 *
 * Bench code: plain stdio and posix_spawn, no logging framework; errors go to stderr once.
 */
#ifndef GL_BENCH_ROUTINO_H
#define GL_BENCH_ROUTINO_H

#include "graph.h"

#include <stddef.h>
#include <stdint.h>

/* 1 when both planetsplitter and routino-router are on PATH. */
int routino_available(void);

/*
 * Writes graph `g` (with coordinates) as OSM XML into directory `dir` (which must exist) and
 * builds Routino's database there with planetsplitter (its log in dir/planetsplitter.log); the
 * XML file is deleted afterwards. *xml_ms and *split_ms receive the two wall times. Returns 0,
 * or -1 (message on stderr).
 */
int routino_prepare(const graph_t *g, const char *dir, double *xml_ms, double *split_ms);

/* One router run. */
typedef struct routino_run {
    double wall_ms; /* process spawn to exit */
    double own_ms;  /* Routino's own "Finish Program" elapsed time (--logtime); NAN if absent */
    int routed;     /* 1 when it printed "Routed OK" or a route */
    double *lat;    /* with a path: the route's points (--output-text-all), malloc'd */
    double *lon;
    size_t n_points;
    double total_min; /* with a path: Routino's own total duration, minutes (0.1 min steps) */
} routino_run_t;

/*
 * Runs routino-router on the database in `dir` from (lat1, lon1) to (lat2, lon2). With
 * `want_path` 0 it writes no output file (--output-none) and only times; with 1 it reads the
 * route's points from --output-text-all on stdout into r->lat/lon (free with routino_run_free).
 * Returns 0 (r->routed tells whether a route was found), or -1 when the process could not run.
 */
int routino_route(const char *dir, double lat1, double lon1, double lat2, double lon2,
                  int want_path, routino_run_t *r);
void routino_run_free(routino_run_t *r);

/*
 * Re-costs a route given as points on graph `g`, starting at vertex `from`: each next point must
 * be the head of an out-arc of the current vertex (coordinates within 2e-6 degrees, Routino's
 * printing precision; the cheapest such arc is taken). Returns the cost (sum of our integer arc
 * costs) with *end set to the last vertex, or -1 when a point matches no out-arc.
 */
int64_t routino_recost(const graph_t *g, uint32_t from, const double *lat, const double *lon,
                       size_t n, uint32_t *end);

/* Removes the directory made for the database (its files, then the directory). */
void routino_cleanup(const char *dir);

#endif
