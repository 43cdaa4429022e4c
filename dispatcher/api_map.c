/*
 * What the consoles draw and search (docs/api.md): map.layers (hospitals with their live status,
 * stations), map.roads (the loaded road graph as segments, by box), route (a unit's road to its
 * scene or its patient's hospital) and places.search (the gazetteer of places.h).
 *
 * Everything is answered from memory: the map and the search keep working while PostGIS is
 * down, and a county's whole graph (~100k segments) is cheap to walk.
 */
#include "api.h"

#include "err.h"
#include "geo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ROADS_DEFAULT_MAX 50000
#define ROADS_HARD_MAX 400000
#define SEARCH_MAX 50

static json_t *ok(json_t *id, json_t *result)
{
    return json_pack("{s:O,s:b,s:o}", "id", id ? id : json_null(), "ok", 1, "result", result);
}

static json_t *op_layers(api_t *a, json_t *id)
{
    size_t nh;
    const hospital_t *h = dispatch_hospitals(a->d, &nh);
    json_t *hs = json_array();
    for (size_t i = 0; i < nh; i++) {
        json_t *caps = json_array();
#define XX(name, text)                                                                             \
    if (h[i].caps & HOSPITAL_CAP(name))                                                            \
        json_array_append_new(caps, json_string(text));
        HOSPITAL_CAP_MAP(XX)
#undef XX
        json_array_append_new(hs, json_pack("{s:s,s:s,s:f,s:f,s:o,s:b,s:b,s:b}", "id", h[i].id,
                                            "name", h[i].name, "lat", h[i].lat, "lon", h[i].lon,
                                            "capabilities", caps, "cath_lab_ready",
                                            h[i].cath_lab_ready, "ct_ready", h[i].ct_ready,
                                            "on_diversion", h[i].on_diversion));
    }
    json_t *st = json_array();
    const places_t *pl = dispatch_places(a->d);
    for (size_t i = 0; i < places_count(pl); i++) {
        const place_t *p = places_at(pl, i);
        if (!strcmp(p->kind, "station"))
            json_array_append_new(st, json_pack("{s:s,s:s,s:f,s:f}", "id", p->id, "name", p->name,
                                                "lat", p->lat, "lon", p->lon));
    }
    json_t *res = json_pack("{s:o,s:o}", "hospitals", hs, "stations", st);
    roads_t *roads = dispatch_params(a->d)->match.roads;
    const graph_t *g = roads ? roads_graph(roads) : NULL;
    if (g && g->lat && g->n_vertices) {
        double s = 90, w = 180, n = -90, e = -180;
        for (uint32_t v = 0; v < g->n_vertices; v++) {
            s = fmin(s, g->lat[v]);
            n = fmax(n, g->lat[v]);
            w = fmin(w, g->lon[v]);
            e = fmax(e, g->lon[v]);
        }
        json_object_set_new(res, "bounds", json_pack("[f,f,f,f]", s, w, n, e));
    }
    return ok(id, res);
}

/* A box [south, west, north, east] from the request, or the whole globe. */
static int parse_bbox(json_t *req, double box[4])
{
    json_t *b = json_object_get(req, "bbox");
    box[0] = -90, box[1] = -180, box[2] = 90, box[3] = 180;
    if (!b)
        return 0;
    if (!json_is_array(b) || json_array_size(b) != 4)
        return GL_EINVAL;
    for (size_t i = 0; i < 4; i++) {
        if (!json_is_number(json_array_get(b, i)))
            return GL_EINVAL;
        box[i] = json_number_value(json_array_get(b, i));
    }
    return box[0] <= box[2] && box[1] <= box[3] ? 0 : GL_EINVAL;
}

static int in_box(const double box[4], double lat, double lon)
{
    return lat >= box[0] && lat <= box[2] && lon >= box[1] && lon <= box[3];
}

static json_t *op_roads(api_t *a, json_t *req, json_t *id)
{
    roads_t *roads = dispatch_params(a->d)->match.roads;
    const graph_t *g = roads ? roads_graph(roads) : NULL;
    if (!g || !g->lat)
        return api_error(id, GL_EUNAVAILABLE, "no road graph is loaded (deploy/import-osm.sh)");
    double box[4];
    if (parse_bbox(req, box) != 0)
        return api_error(id, GL_EINVAL, "\"bbox\" must be [south, west, north, east]");
    json_t *jmax = json_object_get(req, "max");
    json_int_t max = json_is_integer(jmax) ? json_integer_value(jmax) : ROADS_DEFAULT_MAX;
    if (max < 1 || max > ROADS_HARD_MAX)
        return api_error(id, GL_EINVAL, "\"max\" must be 1 to 400000");
    json_t *segs = json_array();
    size_t total = 0, sent = 0;
    for (uint32_t arc = 0; arc < g->n_arcs; arc++) {
        uint32_t t = g->arc_tail[arc], h = g->arc_head[arc];
        if (!in_box(box, g->lat[t], g->lon[t]) && !in_box(box, g->lat[h], g->lon[h]))
            continue;
        /* a two-way road once: skip the arc whose reverse exists with the lower id */
        uint32_t back = graph_find_arc(g, h, t);
        if (back != GRAPH_NONE && back < arc)
            continue;
        total++;
        if ((json_int_t)sent >= max)
            continue;
        json_array_append_new(segs, json_pack("[f,f,f,f]", g->lat[t], g->lon[t], g->lat[h],
                                              g->lon[h]));
        sent++;
    }
    return ok(id, json_pack("{s:o,s:b,s:I}", "segments", segs, "truncated", sent < total,
                            "total", (json_int_t)total));
}

static const hospital_t *find_hospital(dispatch_t *d, const char *hid)
{
    size_t n;
    const hospital_t *h = dispatch_hospitals(d, &n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(h[i].id, hid))
            return &h[i];
    return NULL;
}

static json_t *op_route(api_t *a, json_t *req, json_t *id)
{
    const char *inc_id = json_string_value(json_object_get(req, "incident"));
    incident_t *inc = inc_id ? incident_table_find(dispatch_incidents(a->d), inc_id) : NULL;
    if (!inc)
        return api_error(id, GL_ENOENT, "no such incident");
    const char *vid = json_string_value(json_object_get(req, "vehicle"));
    if (!vid || !vid[0])
        vid = inc->vehicle;
    vehicle_t *v = vid[0] ? fleet_find(dispatch_fleet(a->d), vid) : NULL;
    if (!v)
        return api_error(id, GL_ENOENT, "no unit: the incident has none assigned");
    if (!v->has_fix)
        return api_error(id, GL_EUNAVAILABLE, "the unit has not reported a position");
    /* Once the patient is with the crew the road that matters is the one to the hospital. */
    double to_lat = inc->lat, to_lon = inc->lon;
    const char *to = "scene";
    const hospital_t *h = inc->destination[0] ? find_hospital(a->d, inc->destination) : NULL;
    if (h && !strcmp(v->id, inc->vehicle) &&
        (inc->state == INCIDENT_STATE_ON_SCENE || inc->state == INCIDENT_STATE_TRANSPORTING)) {
        to_lat = h->lat;
        to_lon = h->lon;
        to = "destination";
    }
    json_t *res = json_pack("{s:s,s:s,s:s}", "vehicle", v->id, "incident", inc->id, "to", to);
    roads_t *roads = dispatch_params(a->d)->match.roads;
    double travel, length, *pts = NULL;
    size_t npts = 0;
    json_t *path = json_array();
    if (roads &&
        roads_path(roads, v->lat, v->lon, to_lat, to_lon, &travel, &length, &pts, &npts) == 0) {
        for (size_t i = 0; i < npts; i++)
            json_array_append_new(path, json_pack("[f,f]", pts[2 * i], pts[2 * i + 1]));
        free(pts);
        json_object_set_new(res, "eta_method", json_string("road"));
    } else {
        /* off the network: the straight line, flagged */
        if (dispatch_travel_s(a->d, v->lat, v->lon, to_lat, to_lon, &travel, &(int){0}) != 0)
            travel = -1;
        length = geo_distance_m(v->lat, v->lon, to_lat, to_lon);
        json_array_append_new(path, json_pack("[f,f]", v->lat, v->lon));
        json_array_append_new(path, json_pack("[f,f]", to_lat, to_lon));
        json_object_set_new(res, "eta_method", json_string("straight_line"));
    }
    if (travel >= 0)
        json_object_set_new(res, "eta_s", json_real(travel));
    json_object_set_new(res, "distance_m", json_real(length));
    json_object_set_new(res, "path", path);
    return ok(id, res);
}

static json_t *op_search(api_t *a, json_t *req, json_t *id)
{
    const char *q = json_string_value(json_object_get(req, "q"));
    json_t *jl = json_object_get(req, "limit");
    json_int_t limit = json_is_integer(jl) ? json_integer_value(jl) : 10;
    if (!q || !q[0] || strlen(q) > 64)
        return api_error(id, GL_EINVAL, "\"q\" must be 1 to 64 bytes of text");
    if (limit < 1 || limit > SEARCH_MAX)
        return api_error(id, GL_EINVAL, "\"limit\" must be 1 to 50");
    const place_t *found[SEARCH_MAX];
    size_t n = places_search(dispatch_places(a->d), q, found, (size_t)limit);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const place_t *p = found[i];
        json_t *o = json_pack("{s:s,s:s,s:f,s:f}", "name", p->name, "kind", p->kind, "lat",
                              p->lat, "lon", p->lon);
        if (p->population >= 0)
            json_object_set_new(o, "population", json_integer((json_int_t)p->population));
        if (p->initials[0])
            json_object_set_new(o, "initials", json_string(p->initials));
        json_array_append_new(arr, o);
    }
    return ok(id, json_pack("{s:o}", "places", arr));
}

json_t *api_map_handle(api_t *a, const char *op, json_t *req, json_t *id)
{
    if (!strcmp(op, "map.layers"))
        return op_layers(a, id);
    if (!strcmp(op, "map.roads"))
        return op_roads(a, req, id);
    if (!strcmp(op, "route"))
        return op_route(a, req, id);
    if (!strcmp(op, "places.search"))
        return op_search(a, req, id);
    return NULL;
}
