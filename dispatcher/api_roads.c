/*
 * Road closure ops and the "closure" journal op (see api_roads.h).
 */
#include "api_roads.h"

#include "err.h"
#include "log.h"
#include "overlay.h"
#include "text.h"
#include "timeutil.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE_POINTS 500
#define MAX_WAYS 100
#define MAX_MINUTES (30 * 24 * 60) /* a month: longer works are entered again */

static const char *get_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static roads_t *roads_of(dispatch_t *d)
{
    return dispatch_params(d)->match.roads;
}

/*
 * The arcs a selector names: "way" (an OSM way id or an array of them; both directions of a
 * two-way road) or "line" (an array of [lat, lon]; "direction" "forward" keeps only the arcs
 * running the way it was drawn). On success *arcs is a new array (free() it). Returns 0,
 * GL_EINVAL (malformed; message in err), GL_ENOENT (nothing on the graph; message) or GL_ENOMEM.
 */
static int select_arcs(roads_t *r, json_t *sel, uint32_t **arcs, size_t *n, char *err,
                       size_t errlen)
{
    json_t *way = json_object_get(sel, "way"), *line = json_object_get(sel, "line");
    *arcs = NULL;
    *n = 0;
    if (!way == !line) {
        snprintf(err, errlen,
                 "give one of \"way\" (OSM way id or ids) and \"line\" "
                 "([[lat,lon],...])");
        return GL_EINVAL;
    }
    if (way) {
        json_t *one = json_is_array(way) ? NULL : way;
        size_t nw = one ? 1 : json_array_size(way);
        if (nw == 0 || nw > MAX_WAYS) {
            snprintf(err, errlen, "\"way\": an OSM way id or 1-%d of them", MAX_WAYS);
            return GL_EINVAL;
        }
        uint32_t *all = NULL;
        size_t total = 0;
        for (size_t i = 0; i < nw; i++) {
            json_t *w = one ? one : json_array_get(way, i);
            if (!json_is_integer(w) || json_integer_value(w) <= 0) {
                free(all);
                snprintf(err, errlen, "\"way\": OSM way ids are positive integers");
                return GL_EINVAL;
            }
            uint32_t *a;
            size_t na;
            int rc = roads_way_arcs(r, (int64_t)json_integer_value(w), &a, &na);
            if (rc == GL_ENOENT) {
                free(all);
                snprintf(err, errlen, "way %" PRId64 " is not in the road graph",
                         (int64_t)json_integer_value(w));
                return rc;
            }
            uint32_t *na_all = rc ? NULL : realloc(all, (total + na) * sizeof *all);
            if (!na_all) {
                free(a);
                free(all);
                snprintf(err, errlen, "out of memory");
                return GL_ENOMEM;
            }
            all = na_all;
            memcpy(all + total, a, na * sizeof *a);
            total += na;
            free(a);
        }
        *arcs = all;
        *n = total;
        return 0;
    }
    size_t np = json_array_size(line);
    const char *dir = get_str(sel, "direction");
    if (!json_is_array(line) || np < 2 || np > MAX_LINE_POINTS) {
        snprintf(err, errlen, "\"line\": 2-%d points [lat, lon]", MAX_LINE_POINTS);
        return GL_EINVAL;
    }
    if (dir && strcmp(dir, "both") && strcmp(dir, "forward")) {
        snprintf(err, errlen, "\"direction\" must be both or forward");
        return GL_EINVAL;
    }
    double *lat = malloc(np * sizeof *lat), *lon = malloc(np * sizeof *lon);
    int rc = lat && lon ? 0 : GL_ENOMEM;
    for (size_t i = 0; rc == 0 && i < np; i++) {
        json_t *pt = json_array_get(line, i);
        if (json_array_size(pt) != 2 || !json_is_number(json_array_get(pt, 0)) ||
            !json_is_number(json_array_get(pt, 1))) {
            rc = GL_EINVAL;
            break;
        }
        lat[i] = json_number_value(json_array_get(pt, 0));
        lon[i] = json_number_value(json_array_get(pt, 1));
    }
    if (rc == 0)
        rc = overlay_arcs_near_line(roads_graph(r), lat, lon, np, OVERLAY_LINE_RADIUS_M,
                                    OVERLAY_LINE_ANGLE_DEG, !dir || !strcmp(dir, "both"), arcs, n);
    free(lat);
    free(lon);
    if (rc == GL_EINVAL)
        snprintf(err, errlen, "\"line\": points are [lat, lon] in degrees");
    else if (rc)
        snprintf(err, errlen, "out of memory");
    else if (*n == 0) {
        snprintf(err, errlen, "no road of the graph runs along that line (within %.0f m)",
                 OVERLAY_LINE_RADIUS_M);
        rc = GL_ENOENT;
    }
    return rc;
}

/* A "closure" op, live or replayed. */
static int apply_closure(void *ctx, json_t *op)
{
    roads_t *r = roads_of(ctx);
    const char *action = get_str(op, "action"), *id = get_str(op, "id");
    if (!action || !id)
        return GL_EPROTO;
    if (!r)
        return 0; /* recorded without a road graph: nothing to apply to */
    closures_t *t = roads_closures(r);
    if (!strcmp(action, "remove")) {
        if (closures_remove(t, id) == 0)
            roads_closures_changed(r);
        return 0;
    }
    if (strcmp(action, "set"))
        return GL_EPROTO;
    int64_t expires = (int64_t)json_integer_value(json_object_get(op, "expires_at"));
    if (expires && expires <= gl_now_ms())
        return 0; /* already over (a replay after a long stop) */
    char err[160];
    closure_t c = {.factor = json_number_value(json_object_get(op, "factor")),
                   .created_ms = (int64_t)json_integer_value(json_object_get(op, "at")),
                   .expires_ms = expires};
    gl_utf8_copy(c.id, sizeof c.id, id);
    gl_utf8_copy(c.reason, sizeof c.reason, get_str(op, "reason"));
    gl_utf8_copy(c.created_by, sizeof c.created_by, get_str(op, "created_by"));
    int rc = select_arcs(r, op, &c.arcs, &c.narcs, err, sizeof err);
    if (rc) {
        /* The graph changed since it was recorded: the closure no longer lands anywhere. */
        LOG_WARN("roads", "closure %s not applied: %s", c.id, err);
        return rc == GL_ENOMEM ? rc : 0;
    }
    json_t *sel = json_object();
    json_t *way = json_object_get(op, "way"), *line = json_object_get(op, "line");
    json_object_set(sel, way ? "way" : "line", way ? way : line);
    if (json_object_get(op, "direction"))
        json_object_set(sel, "direction", json_object_get(op, "direction"));
    c.selector = json_dumps(sel, JSON_COMPACT);
    json_decref(sel);
    rc = closures_set(t, &c);
    free(c.arcs);
    free(c.selector);
    if (rc == 0)
        rc = roads_closures_changed(r);
    return rc == GL_EINVAL ? GL_EPROTO : rc;
}

int api_roads_restore(dispatch_t *d, const char *op_json)
{
    json_error_t jerr;
    json_t *op = op_json ? json_loads(op_json, 0, &jerr) : NULL;
    if (!json_is_object(op)) {
        json_decref(op);
        return GL_EPROTO;
    }
    int rc = apply_closure(d, op);
    json_decref(op);
    return rc;
}

int api_roads_attach(dispatch_t *d, struct uv_loop_s *loop)
{
    if (roads_of(d))
        roads_set_loop(roads_of(d), loop);
    return dispatch_register_op(d, "closure", apply_closure, d);
}

json_t *api_closure_json(const closure_t *c)
{
    char at[40];
    json_t *o = json_pack(
        "{s:s,s:s,s:f,s:s,s:s,s:s,s:I}", "id", c->id, "kind", c->factor == 0 ? "closed" : "slow",
        "factor", c->factor, "reason", c->reason, "created_by", c->created_by, "created_at",
        gl_time_format_utc(c->created_ms, at, sizeof at), "arcs", (json_int_t)c->narcs);
    if (c->expires_ms)
        json_object_set_new(o, "expires_at",
                            json_string(gl_time_format_utc(c->expires_ms, at, sizeof at)));
    json_error_t jerr;
    json_t *sel = c->selector ? json_loads(c->selector, 0, &jerr) : NULL;
    if (sel)
        json_object_update(o, sel);
    json_decref(sel);
    return o;
}

static json_t *ok(json_t *id, json_t *result)
{
    return json_pack("{s:O,s:b,s:o}", "id", id, "ok", 1, "result", result);
}

/* road.close and road.slow. */
static json_t *op_mark(api_t *a, roads_t *r, json_t *req, json_t *id, const char *actor,
                       double factor)
{
    const char *reason = get_str(req, "reason");
    json_t *exp = json_object_get(req, "expires_at"), *min = json_object_get(req, "minutes");
    int64_t now = gl_now_ms(), expires = 0;
    if (!reason || !reason[0] || strlen(reason) >= CLOSURE_REASON_LEN || !gl_utf8_valid(reason))
        return api_error(id, GL_EINVAL, "\"reason\" (text, 1-127 bytes) is required");
    if (exp && min)
        return api_error(id, GL_EINVAL, "give \"expires_at\" or \"minutes\", not both");
    if (exp && (!json_is_string(exp) || gl_time_parse(json_string_value(exp), &expires) != 0 ||
                expires <= now))
        return api_error(id, GL_EINVAL, "\"expires_at\" must be an ISO 8601 time in the future");
    if (min && (!json_is_number(min) || !(json_number_value(min) > 0) ||
                json_number_value(min) > MAX_MINUTES))
        return api_error(id, GL_EINVAL, "\"minutes\" must be a number above 0, at most a month");
    if (min)
        expires = now + (int64_t)(json_number_value(min) * 60000.0);
    uint32_t *arcs;
    size_t narcs;
    char err[160];
    int rc = select_arcs(r, req, &arcs, &narcs, err, sizeof err);
    if (rc)
        return api_error(id, rc, err);
    free(arcs);
    char cid[CLOSURE_ID_LEN];
    closures_new_id(roads_closures(r), now, cid);
    json_t *op =
        json_pack("{s:s,s:s,s:s,s:f,s:s,s:s,s:I,s:I}", "t", "closure", "action", "set", "id", cid,
                  "factor", factor, "reason", reason, "created_by", actor ? actor : "operator",
                  "at", (json_int_t)now, "expires_at", (json_int_t)expires);
    if (!op)
        return api_error(id, GL_ENOMEM, "out of memory");
    const char *keys[] = {"way", "line", "direction"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (json_object_get(req, keys[i]))
            json_object_set(op, keys[i], json_object_get(req, keys[i]));
    rc = dispatch_commit_ops(a->d, json_pack("[o]", op));
    if (rc)
        return api_error(id, rc, "the closure could not be recorded");
    const closure_t *c = closures_find(roads_closures(r), cid);
    if (!c)
        return api_error(id, GL_EIO, "the closure was recorded but did not apply");
    LOG_INFO("roads", "closure %s by %s: %s, %zu arcs%s", cid, actor ? actor : "operator",
             factor == 0 ? "closed" : "slowed", c->narcs, expires ? ", expires" : "");
    return ok(id, json_pack("{s:o,s:b}", "closure", api_closure_json(c), "hierarchy_current",
                            roads_hierarchy_current(r)));
}

static json_t *op_open(api_t *a, roads_t *r, json_t *req, json_t *id, const char *actor)
{
    const char *cid = get_str(req, "closure"); /* "id" is the request's own */
    if (!cid)
        return api_error(id, GL_EINVAL, "\"closure\" (the closure id) is required");
    const closure_t *c = closures_find(roads_closures(r), cid);
    if (!c)
        return api_error(id, GL_ENOENT, "no such closure (reopened or expired already?)");
    json_t *was = api_closure_json(c);
    json_t *op = json_pack("{s:s,s:s,s:s,s:s,s:I}", "t", "closure", "action", "remove", "id", cid,
                           "by", actor ? actor : "operator", "at", (json_int_t)gl_now_ms());
    int rc = op ? dispatch_commit_ops(a->d, json_pack("[o]", op)) : GL_ENOMEM;
    if (rc) {
        json_decref(was);
        return api_error(id, rc, "the reopening could not be recorded");
    }
    LOG_INFO("roads", "closure %s reopened by %s", json_string_value(json_object_get(was, "id")),
             actor ? actor : "operator");
    return ok(id, json_pack("{s:o}", "reopened", was));
}

json_t *api_roads_handle(api_t *a, const char *op, json_t *req, json_t *id, const char *actor)
{
    int close = !strcmp(op, "road.close"), slow = !strcmp(op, "road.slow");
    int open = !strcmp(op, "road.open"), list = !strcmp(op, "roads.closures");
    if (!close && !slow && !open && !list)
        return NULL;
    roads_t *r = roads_of(a->d);
    if (!r)
        return api_error(id, GL_EUNAVAILABLE,
                         "no road graph (deploy/import-osm.sh): closures "
                         "need one");
    roads_expire(r, gl_now_ms());
    if (close)
        return op_mark(a, r, req, id, actor, 0);
    if (slow) {
        json_t *f = json_object_get(req, "factor");
        if (!json_is_number(f) || !(json_number_value(f) > 1) ||
            json_number_value(f) > CLOSURE_MAX_FACTOR)
            return api_error(id, GL_EINVAL,
                             "\"factor\" must be a number above 1 (travel time "
                             "multiplier), at most 100");
        return op_mark(a, r, req, id, actor, json_number_value(f));
    }
    if (open)
        return op_open(a, r, req, id, actor);
    closures_t *t = roads_closures(r);
    json_t *arr = json_array();
    for (size_t i = 0; i < closures_count(t); i++)
        json_array_append_new(arr, api_closure_json(closures_at(t, i)));
    return ok(id, json_pack("{s:o,s:b}", "closures", arr, "hierarchy_current",
                            roads_hierarchy_current(r)));
}
