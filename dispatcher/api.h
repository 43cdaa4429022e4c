/*
 * The dispatcher's JSON API (docs/api.md), independent of the transport: a request object in,
 * a reply object out. ws.c carries it over websockets; tests call it directly.
 *
 * Also the JSON shapes of incidents, vehicles, timeline entries and candidates, which the
 * pushed events use too, so a client sees one shape for each thing.
 */
#ifndef GL_API_H
#define GL_API_H

#include "auth.h"
#include "bus.h"
#include "db.h"
#include "dispatch.h"

#include <jansson.h>

typedef struct api {
    dispatch_t *d;
    bus_t *bus;             /* may be NULL (tests) */
    db_writer_t *db;        /* may be NULL (tests) */
    const char *tz;         /* the county's time zone, e.g. "Asia/Shanghai" */
    auth_t *auth;           /* users and sessions; NULL: only the operator token (tests) */
    double coverage_alert;  /* below this coverage share, `coverage` gives move-up advice */
} api_t;

json_t *api_incident_json(const incident_t *inc);
json_t *api_vehicle_json(const api_t *a, const vehicle_t *v, int64_t now_ms);
json_t *api_event_json(const incident_event_t *e);
json_t *api_candidate_json(const candidate_t *c);
/* The golden-time clocks that apply to `inc` at `now_ms` (docs/golden-time.md). */
json_t *api_clocks_json(const api_t *a, const incident_t *inc, int64_t now_ms);

/*
 * Handles one request (already authenticated) from client `actor` (for the audit lines) and
 * returns the reply (new reference). `*subscribe` is set to 1 when the client asked for pushed
 * events.
 */
json_t *api_handle(api_t *a, json_t *req, const char *actor, int *subscribe);

/*
 * The `inbound` reply (api_inbound.c): the open incidents bound for `hospital`, with the unit's
 * travel time to it from its newest fix computed now, and what the receiving team needs to know
 * before the door (patient, scales, pre-alerts, activations).
 */
json_t *api_inbound(api_t *a, const char *hospital, json_t *id, int64_t now_ms);

/* map.layers, map.roads, route and places.search (api_map.c); NULL for any other op. */
json_t *api_map_handle(api_t *a, const char *op, json_t *req, json_t *id);

/* An error reply {"id":id,"ok":false,"error":{"code":..,"message":..}}. */
json_t *api_error(json_t *id, int code, const char *message);

#endif
