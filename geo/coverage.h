/*
 * The golden rescue circle as a number: the population share of the demand points (places,
 * weighted by population) that at least one available unit reaches by road within the point's
 * time limit (15 min in town, 30 min in the countryside, configurable), kept up to date as units
 * become available, unavailable or move, plus what-if and move-up advice.
 *
 * Model. Demand points are snapped once onto the graph. Each placed (available) unit owns the
 * result of one forward Dijkstra from its position bounded by the largest limit: the list of
 * demand points it reaches within that bound, with the travel time. Each demand point keeps the
 * mirror list (unit, time), from which its best and second-best unit and the number of units
 * covering it within its own limit follow; covered population is kept as running integer sums.
 *
 * Why per-unit searches rather than one multi-source search: a unit that becomes unavailable
 * then costs no search at all (its list is subtracted), and a unit that becomes available or
 * moves costs one bounded search from that one unit instead of a search from all of them; the
 * what-if of removing a unit is a scan of its own list ("points it covers alone"), and the best
 * move-up is one search per candidate station plus list scans. A multi-source search would give
 * only the best unit per point, so a removal would need a new search from everyone.
 *
 * Exactness. Travel times are the integer microseconds of route.h with the same position rule
 * (route_pos_arrivals and route_pos_direct), so a unit's time to a point equals
 * route_one_to_many() from the unit bit for bit, and population sums are integers: the
 * incrementally maintained state equals a fresh computation exactly, which the tests check.
 *
 * Pure: no I/O, no logging of places. A coverage_t borrows its graph (which must outlive it and
 * not change) and owns one route workspace: one thread at a time.
 */
#ifndef GL_COVERAGE_H
#define GL_COVERAGE_H

#include "graph.h"
#include "route.h"
#include "snap.h"

#include <stddef.h>
#include <stdint.h>

/* Area class of a demand point; it selects the time limit. */
typedef enum coverage_area {
    COVERAGE_AREA_TOWN = 0,
    COVERAGE_AREA_COUNTRYSIDE = 1,
    COVERAGE_AREA_COUNT
} coverage_area_t;

#define COVERAGE_TOWN_LIMIT_US ((int64_t)15 * 60 * GRAPH_COST_US_PER_S)
#define COVERAGE_COUNTRYSIDE_LIMIT_US ((int64_t)30 * 60 * GRAPH_COST_US_PER_S)
#define COVERAGE_MAX_UNITS (1u << 24) /* unit ids are below this */

/* One demand point, as the dispatcher reads it from the places table. */
typedef struct coverage_demand {
    double lat; /* degrees */
    double lon;
    uint64_t population; /* weight; 0 counts as a point but adds nothing to the share */
    coverage_area_t area;
} coverage_demand_t;

typedef struct coverage_config {
    int64_t limit_us[COVERAGE_AREA_COUNT]; /* time limit per area class, > 0, microseconds */
    double snap_max_m; /* demand points farther from every road are never covered; 0: default */
} coverage_config_t;

/* The coverage now. Shares are covered / total, 0 when total is 0. */
typedef struct coverage_result {
    uint64_t covered;                           /* population covered */
    uint64_t total;                             /* population of all demand points */
    double share;                               /* covered / total */
    uint64_t area_covered[COVERAGE_AREA_COUNT]; /* the same per area class */
    uint64_t area_total[COVERAGE_AREA_COUNT];
    double area_share[COVERAGE_AREA_COUNT];
    uint32_t n_points;    /* demand points */
    uint32_t n_covered;   /* of which covered */
    uint32_t n_unsnapped; /* of which not on the road graph (never covered) */
    uint32_t n_units;     /* units placed (available) */
} coverage_result_t;

/* One demand point's state. Times beyond the largest limit are not tracked (GRAPH_COST_INF). */
typedef struct coverage_point {
    int snapped;          /* 0 when the point is too far from any road */
    int covered;          /* best_us <= limit_us */
    int64_t limit_us;     /* its limit */
    uint32_t n_covering;  /* units reaching it within its limit */
    int64_t best_us;      /* fastest unit's travel time, or GRAPH_COST_INF */
    uint32_t best_unit;   /* its id, or GRAPH_NONE (ties: lower id) */
    int64_t second_us;    /* the next unit's time, or GRAPH_COST_INF */
    uint32_t second_unit; /* its id, or GRAPH_NONE */
} coverage_point_t;

/* A move-up suggestion. */
typedef struct coverage_move {
    uint32_t unit_id;   /* the available unit to relocate */
    size_t station;     /* index into the caller's station array */
    int64_t gain;       /* net population change of the move (may be <= 0: no move helps) */
    uint64_t covered;   /* population covered after the move */
    double share_after; /* covered / total after the move */
} coverage_move_t;

typedef struct coverage coverage_t;

/* "town", "countryside", or "?" for anything else. */
const char *coverage_area_name(coverage_area_t a);

/* Fills `cfg` with 15 min town, 30 min countryside and SNAP_DEFAULT_MAX_M. */
void coverage_config_default(coverage_config_t *cfg);

/*
 * Builds a coverage model over graph `g` (borrowed, must outlive it) for `n` demand points,
 * copied and snapped once with `s` (used only during this call). `cfg` NULL means the defaults.
 * No unit is placed yet: the share is 0. A point that does not snap within cfg->snap_max_m stays
 * in the totals, never covered (n_unsnapped). Returns 0 with *out set (free with coverage_free),
 * GL_EINVAL (NULL graph or snap, a point with an invalid coordinate or area, a limit <= 0, more
 * than 2^32-2 points), GL_ENOMEM.
 */
int coverage_new(const graph_t *g, const snap_t *s, const coverage_demand_t *demand, size_t n,
                 const coverage_config_t *cfg, coverage_t **out);

/* Frees the model; NULL is a no-op. */
void coverage_free(coverage_t *c);

/*
 * Places unit `unit_id` (a small dense integer chosen by the caller, like ch_unit_set) at
 * snapped position `pos` (available), replacing its previous position; `pos` NULL takes it out
 * (unavailable; a no-op if it was not placed). One bounded search when placing, none when
 * taking out. Returns 0, GL_EINVAL (invalid position, id >= COVERAGE_MAX_UNITS), GL_ENOMEM (the
 * model is then unchanged: the unit keeps its previous state).
 */
int coverage_set_unit(coverage_t *c, uint32_t unit_id, const route_pos_t *pos);

/* The current coverage, in O(1). */
void coverage_get(const coverage_t *c, coverage_result_t *r);

/* State of demand point `i` (its index in the array given to coverage_new), or GL_EINVAL. */
int coverage_point(const coverage_t *c, size_t i, coverage_point_t *out);

/*
 * Indices of the uncovered demand points in increasing order, at most `max` written to `out`.
 * Returns how many are uncovered (may exceed `max`). O(number of points).
 */
size_t coverage_uncovered(const coverage_t *c, uint32_t *out, size_t max);

/*
 * What taking unit `unit_id` out would cost: the population of the points it alone covers,
 * written to *lost (and *lost_share = lost / total when not NULL). No search. Returns 0, or
 * GL_ENOENT if the unit is not placed.
 */
int coverage_what_if_remove(const coverage_t *c, uint32_t unit_id, uint64_t *lost,
                            double *lost_share);

/*
 * Move-up advice: over every placed unit and every one of the `n` candidate `stations`, the
 * single relocation "unit -> station" with the largest net population gain (exact for one move:
 * loss of what the unit covers alone, plus what the station would cover that no other unit
 * does). Ties go to the lower station index, then the lower unit id. One bounded search per
 * station; the model is not changed (apply the move with coverage_set_unit, and call again for a
 * greedy sequence). Returns 0 with *out set, GL_ENOENT if no unit is placed or n is 0,
 * GL_EINVAL for an invalid station position.
 */
int coverage_best_move(coverage_t *c, const route_pos_t *stations, size_t n, coverage_move_t *out);

#endif
