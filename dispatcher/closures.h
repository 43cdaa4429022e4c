/*
 * Road closures and slowdowns as data: the table of what the dispatchers marked on the road
 * network (a flooded road, a blocked bridge, road works), each a set of graph arcs with a factor
 * (0 = closed, > 1 = the travel time is multiplied), a reason, an expiry and who created it.
 *
 * Pure bookkeeping: no graph search, no journal, no clock of its own. roads.c owns one table and
 * turns it into the per-arc cost factors of geo/overlay.h; api_roads.c fills it through the
 * journal op "closure" (so a restart rebuilds it). Several closures may cover one arc: a closure
 * wins over any slowdown, and of several slowdowns the largest factor applies.
 */
#ifndef GL_CLOSURES_H
#define GL_CLOSURES_H

#include <stddef.h>
#include <stdint.h>

#define CLOSURE_ID_LEN 24
#define CLOSURE_REASON_LEN 128
#define CLOSURE_ACTOR_LEN 40
#define CLOSURE_MAX_FACTOR 100.0 /* a slowdown beyond x100 is a closure: say so */

typedef struct closure {
    char id[CLOSURE_ID_LEN]; /* "RC" and digits, unique */
    uint32_t *arcs;          /* sorted arc ids of the road graph */
    size_t narcs;
    double factor;                   /* 0 closed, else a travel-time multiplier > 1 */
    char reason[CLOSURE_REASON_LEN]; /* what the dispatcher wrote: "flooding", ... */
    int64_t created_ms;
    int64_t expires_ms; /* 0: until reopened */
    char created_by[CLOSURE_ACTOR_LEN];
    char *selector; /* JSON text of what was marked ({"way":[..]} or
                       {"line":[[lat,lon],..]}), for listing; may be NULL */
} closure_t;

typedef struct closures closures_t;

closures_t *closures_new(void);
void closures_free(closures_t *t);

/*
 * Adds closure `c` (copied: arcs sorted and deduplicated, selector duplicated), replacing one
 * with the same id. Returns 0, GL_EINVAL (empty id, no arc, factor neither 0 nor in
 * (1, CLOSURE_MAX_FACTOR]) or GL_ENOMEM.
 */
int closures_set(closures_t *t, const closure_t *c);

/* Removes closure `id`. Returns 0 or GL_ENOENT. */
int closures_remove(closures_t *t, const char *id);

/* Drops every closure whose expiry is at or before `now_ms`; returns how many. */
size_t closures_expire(closures_t *t, int64_t now_ms);

/* The earliest expiry of any closure, INT64_MAX when none expires. */
int64_t closures_next_expiry(const closures_t *t);

size_t closures_count(const closures_t *t);
/* Closure i (0..count-1, in creation order), borrowed until the table next changes. */
const closure_t *closures_at(const closures_t *t, size_t i);
const closure_t *closures_find(const closures_t *t, const char *id);

/* Bumped on every change: a cheap way to see that the overlay must be recomputed. */
uint64_t closures_generation(const closures_t *t);

/*
 * The per-arc factors for geo/overlay.h: writes factor[a] for a in 0..n_arcs-1 (1 where no
 * closure applies; arcs >= n_arcs are ignored). Returns the number of arcs affected.
 */
size_t closures_factors(const closures_t *t, double *factor, uint32_t n_arcs);

/* 1 if closure `c` covers arc `arc`. */
int closures_covers(const closure_t *c, uint32_t arc);

/* A fresh id for a closure created at `now_ms` ("RC" + a number never used in this table). */
void closures_new_id(const closures_t *t, int64_t now_ms, char id[CLOSURE_ID_LEN]);

#endif
