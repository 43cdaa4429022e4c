/*
 * Road closures and slowdowns on the websocket API (docs/api.md: road.close, road.slow,
 * road.open, roads.closures) and on the journal (op "closure"), the glue between the API, the
 * core's one mutation path and the closure table that roads.c turns into costs.
 *
 * A closure is journaled as what the dispatcher marked, not as arc ids: {"t":"closure",
 * "action":"set","id","factor","reason","created_by","at","expires_at" (ms, 0: none), and
 * "way":[osm way ids] or "line":[[lat,lon],..] with "direction" ("both" or "forward")}, or
 * {"t":"closure","action":"remove","id","by","at"}. Applying it (live, or replayed after a
 * restart) selects the arcs on the road graph loaded then, so a re-import that renumbers the
 * arcs does not move a closure. A closure whose expiry has passed is not applied.
 */
#ifndef GL_API_ROADS_H
#define GL_API_ROADS_H

#include "api.h"
#include "closures.h"
#include "dispatch.h"

#include <jansson.h>

/*
 * Registers the "closure" op type with the core (call before the journal is replayed) and gives
 * the road graph, if any, the loop on whose thread pool hierarchies are rebuilt (borrowed).
 * Returns 0 or GL_ENOSPC.
 */
int api_roads_attach(dispatch_t *d, struct uv_loop_s *loop);

/*
 * Applies one "closure" op kept in PostGIS (its JSON text; table road_closures, written from the
 * journal by db_writer.c) at start, before the journal tail is replayed: the closures copied to
 * PostGIS are no longer in the journal. Returns 0, GL_EPROTO (unreadable) or GL_ENOMEM.
 */
int api_roads_restore(dispatch_t *d, const char *op_json);

/*
 * Handles ops road.close, road.slow, road.open and roads.closures from `actor` (recorded as the
 * closure's creator) and returns the reply (new reference); NULL when `op` is none of these.
 */
json_t *api_roads_handle(api_t *a, const char *op, json_t *req, json_t *id, const char *actor);

/* The JSON shape of a closure (as listed and as replied). */
json_t *api_closure_json(const closure_t *c);

#endif
