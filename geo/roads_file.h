/*
 * Loaders for the road graphs kept as files in ../shared/data/roads (see each SOURCE.txt there):
 * the OSM city graphs of cn-osm-cities-2021 (Nanjing, Xian, Haikou: <City>.road-t / .road-d /
 * .co, each a one-member .tar.gz) and the DIMACS challenge graphs (.gr and .co, gzip). The only
 * I/O in geo/: compressed files are read through `tar -xOzf` / `gzip -dc` pipes, so nothing is
 * extracted to disk.
 *
 * Weights are read as exact integers: the city files carry exactly 6 decimals, so "58.810622" is
 * read as 58810622 (microseconds of travel time, or micrometres of length), and DIMACS weights are
 * integers already. The graph's costs thus reproduce the published reference costs exactly.
 */
#ifndef GL_ROADS_FILE_H
#define GL_ROADS_FILE_H

#include "graph.h"

typedef enum roads_metric {
    ROADS_COST_TIME = 0, /* cost = travel time in microseconds (city .road-t) */
    ROADS_COST_LENGTH,   /* cost = length in micrometres (city .road-d) */
} roads_metric_t;

/*
 * Loads city `city` ("Nanjing", "Xian", "Haikou") from directory `dir` (holding
 * <city>.road-t.tar.gz, <city>.road-d.tar.gz and <city>.co.tar.gz). Arcs get the chosen metric
 * as cost and the road-d length in metres as length_m; vertices get their coordinates.
 * Returns 0 with *out set (free with graph_free), GL_ENOENT if a file is missing, GL_EPROTO for
 * malformed content (logged with the file and line), GL_EINVAL, GL_ENOMEM, GL_EIO.
 */
int roads_load_city(const char *dir, const char *city, roads_metric_t metric, graph_t **out);

/*
 * Loads a DIMACS graph: arcs and costs from `gr_path` (.gr or .gr.gz; cost = the integer weight,
 * ids shifted to 0-based), lengths from `length_gr_path` (the matching -d graph, weights in
 * decimetres, same arc order; NULL: length_m = 0) and coordinates from `co_path` (.co or .co.gz;
 * NULL: no coordinates). Returns as roads_load_city().
 */
int roads_load_dimacs(const char *gr_path, const char *length_gr_path, const char *co_path,
                      graph_t **out);

/*
 * Parses a non-negative decimal with at most 6 fraction digits ("58.810622", "0", "12.5") into
 * millionths (58810622, 0, 12500000), exactly. Returns 0, or GL_EPROTO. *end is set after the
 * number. Exposed for the tests.
 */
int roads_parse_micro(const char *s, const char **end, int64_t *out);

#endif
