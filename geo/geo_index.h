/*
 * A spatial index of live vehicle positions: k-nearest and within-radius queries by great-circle
 * distance, and cheap position updates (a unit moves every second).
 *
 * Entries are identified by a small integer id chosen by the caller (the fleet's slot number),
 * so the index never copies or owns vehicle data. Ids are dense: the index keeps one record per
 * id from 0 to the largest id ever inserted.
 */
#ifndef GL_GEO_INDEX_H
#define GL_GEO_INDEX_H

#include <stddef.h>
#include <stdint.h>

typedef struct geo_index geo_index_t;

typedef struct geo_hit {
    uint32_t id;       /* the caller's id */
    double distance_m; /* great-circle distance from the query point */
} geo_hit_t;

/* Decides whether entry `id` may be returned (capability, status...); 1 = yes. */
typedef int (*geo_index_filter)(uint32_t id, void *ctx);

/*
 * Creates an empty index. `cell_deg` is the grid cell size in degrees; 0 picks the default
 * (about 1 km). Returns NULL when out of memory. geo_index_free(NULL) is a no-op.
 */
geo_index_t *geo_index_new(double cell_deg);
void geo_index_free(geo_index_t *idx);

/* Inserts entry `id` at (lat, lon), or moves it there. Returns 0, GL_EINVAL (invalid point) or
 * GL_ENOMEM (the index is unchanged then). */
int geo_index_update(geo_index_t *idx, uint32_t id, double lat, double lon);

/* Removes entry `id`; a no-op if it is not in the index. */
void geo_index_remove(geo_index_t *idx, uint32_t id);

/* Entries currently in the index. */
size_t geo_index_count(const geo_index_t *idx);

/*
 * The k entries nearest to (lat, lon) that pass `filter` (NULL: all), nearest first, written to
 * `out` (room for k). Ties are broken by id, so results are deterministic. Returns how many.
 */
size_t geo_index_nearest(const geo_index_t *idx, double lat, double lon, size_t k,
                         geo_index_filter filter, void *ctx, geo_hit_t *out);

/*
 * Every entry within `radius_m` of (lat, lon) that passes `filter`, nearest first, at most `max`
 * written to `out`. Returns how many were found in all (may exceed max: only max are written).
 */
size_t geo_index_within(const geo_index_t *idx, double lat, double lon, double radius_m,
                        geo_index_filter filter, void *ctx, geo_hit_t *out, size_t max);

#endif
