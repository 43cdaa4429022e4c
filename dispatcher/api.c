/*
 * Request handling and JSON shapes of the websocket API (see api.h and docs/api.md).
 */
#include "api.h"

#include "api_roads.h"
#include "err.h"
#include "log.h"
#include "seal.h"
#include "text.h"
#include "timeutil.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_time(json_t *o, const char *key, int64_t ms)
{
    char buf[40];
    if (ms)
        json_object_set_new(o, key, json_string(gl_time_format_utc(ms, buf, sizeof buf)));
}

static void set_opt_str(json_t *o, const char *key, const char *s)
{
    if (s && s[0])
        json_object_set_new(o, key, json_string(s));
}

json_t *api_incident_json(const incident_t *inc)
{
    json_t *o = json_pack("{s:s,s:s,s:f,s:f,s:s,s:i}", "id", inc->id, "state",
                          incident_state_name(inc->state), "lat", inc->lat, "lon", inc->lon,
                          "complaint", complaint_name(inc->complaint), "priority", inc->priority);
    set_time(o, "onset", inc->onset_ms);
    set_opt_str(o, "caller", inc->caller);
    set_opt_str(o, "address", inc->address);
    set_opt_str(o, "notes", inc->notes);
    set_time(o, "created_at", inc->created_ms);
    set_time(o, "updated_at", inc->updated_ms);
    set_opt_str(o, "vehicle", inc->vehicle);
    if (inc->state == INCIDENT_STATE_NEW)
        set_time(o, "auto_assign_at", inc->auto_assign_at_ms);
    /* the latest destination chosen (an ED user sees only incidents bound for its hospital) */
    for (size_t i = inc->nevents; i-- > 0;) {
        if (strcmp(inc->events[i].kind, "destination") || !inc->events[i].detail)
            continue;
        json_error_t jerr;
        json_t *dd = json_loads(inc->events[i].detail, 0, &jerr);
        json_t *hid = json_object_get(dd, "hospital");
        if (json_is_string(hid)) {
            json_object_set(o, "destination", hid);
            json_object_set(o, "destination_name", json_object_get(dd, "name"));
        }
        json_decref(dd);
        break;
    }
    return o;
}

json_t *api_vehicle_json(const api_t *a, const vehicle_t *v, int64_t now_ms)
{
    json_t *caps = json_array();
    for (int i = 0; i < v->ncaps; i++)
        json_array_append_new(caps, json_string(v->caps[i]));
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:b}", "id", v->id, "call_sign", v->call_sign,
                          "kind", v->kind, "station", v->station, "capabilities", caps, "status",
                          vehicle_status_name(v->status), "stale",
                          fleet_is_stale(v, now_ms, dispatch_params(a->d)->match.stale_ms));
    set_opt_str(o, "incident", v->incident);
    if (v->has_fix) {
        json_object_set_new(o, "lat", json_real(v->lat));
        json_object_set_new(o, "lon", json_real(v->lon));
        set_time(o, "fix_at", v->fix_at_ms);
    }
    set_time(o, "status_at", v->status_at_ms);
    return o;
}

json_t *api_event_json(const incident_event_t *e)
{
    char at[40];
    json_t *o = json_pack("{s:i,s:s,s:s,s:s}", "seq", e->seq, "at",
                          gl_time_format_utc(e->at_ms, at, sizeof at), "kind", e->kind, "source",
                          e->source);
    set_opt_str(o, "vehicle", e->vehicle);
    if (e->detail) {
        json_error_t jerr;
        json_t *d = json_loads(e->detail, 0, &jerr);
        if (d)
            json_object_set_new(o, "detail", d);
    }
    return o;
}

json_t *api_candidate_json(const candidate_t *c)
{
    json_t *closures = json_array(); /* road closures and slowdowns on its road (roads.h) */
    for (int i = 0; i < c->nclosures; i++)
        json_array_append_new(closures, json_pack("{s:s,s:s,s:s,s:f}", "id", c->closures[i].id,
                                                  "reason", c->closures[i].reason, "kind",
                                                  c->closures[i].factor == 0 ? "closed" : "slow",
                                                  "factor", c->closures[i].factor));
    return json_pack("{s:s,s:s,s:s,s:f,s:f,s:s,s:I,s:o}", "vehicle", c->vehicle->id, "call_sign",
                     c->vehicle->call_sign, "kind", c->vehicle->kind, "eta_s",
                     (double)(long long)(c->eta_s * 10 + 0.5) / 10, "distance_m",
                     (double)(long long)(c->distance_m * 10 + 0.5) / 10, "eta_method",
                     c->eta_method, "coverage_loss", (json_int_t)c->coverage_loss, "closures",
                     closures);
}

json_t *api_error(json_t *id, int code, const char *message)
{
    char safe[256]; /* a message cut mid-character would make the whole reply unencodable */
    gl_utf8_copy(safe, sizeof safe, message);
    return json_pack("{s:O,s:b,s:{s:s,s:s}}", "id", id ? id : json_null(), "ok", 0, "error",
                     "code", gl_err_name(code), "message", safe);
}

static json_t *ok(json_t *id, json_t *result)
{
    return json_pack("{s:O,s:b,s:o}", "id", id, "ok", 1, "result", result);
}

/* Looks up the "incident" argument; replies with the error itself when it is missing. */
static incident_t *incident_arg_or_reply(api_t *a, json_t *req, json_t **reply)
{
    json_t *id = json_object_get(req, "id");
    const char *inc_id = json_string_value(json_object_get(req, "incident"));
    if (!inc_id) {
        *reply = api_error(id, GL_EINVAL, "\"incident\" (string) is required");
        return NULL;
    }
    incident_t *inc = incident_table_find(dispatch_incidents(a->d), inc_id);
    if (!inc)
        *reply = api_error(id, GL_ENOENT, "no such incident");
    return inc;
}

static json_t *candidates_json(api_t *a, const incident_t *inc, int64_t now_ms)
{
    candidate_t c[MATCH_MAX_CANDIDATES];
    int n = dispatch_candidates(a->d, inc, now_ms, c);
    json_t *arr = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(arr, api_candidate_json(&c[i]));
    return arr;
}

static json_t *op_call_new(api_t *a, json_t *req, json_t *id, int64_t now)
{
    json_t *lat = json_object_get(req, "lat"), *lon = json_object_get(req, "lon");
    const char *complaint = json_string_value(json_object_get(req, "complaint"));
    json_t *prio = json_object_get(req, "priority");
    json_t *onset = json_object_get(req, "onset");
    call_input_t in;
    memset(&in, 0, sizeof in);
    if (!json_is_number(lat) || !json_is_number(lon))
        return api_error(id, GL_EINVAL, "\"lat\" and \"lon\" (numbers) are required");
    if (!complaint || complaint_parse(complaint, &in.complaint))
        return api_error(id, GL_EINVAL, "\"complaint\" must be chest_pain, stroke, trauma, "
                                        "obstetric, newborn or other");
    if (prio && !json_is_integer(prio))
        return api_error(id, GL_EINVAL, "\"priority\" must be an integer 1-4");
    if (onset && (!json_is_string(onset) ||
                  gl_time_parse(json_string_value(onset), &in.onset_ms) != 0))
        return api_error(id, GL_EINVAL, "\"onset\" must be an ISO 8601 date-time");
    if (in.onset_ms > now + 60000)
        return api_error(id, GL_EINVAL, "\"onset\" is in the future");
    json_t *ringing = json_object_get(req, "ringing");
    if (ringing && (!json_is_string(ringing) ||
                    gl_time_parse(json_string_value(ringing), &in.ringing_ms) != 0))
        return api_error(id, GL_EINVAL, "\"ringing\" must be an ISO 8601 date-time");
    in.lat = json_number_value(lat);
    in.lon = json_number_value(lon);
    if (prio && (json_integer_value(prio) < 1 || json_integer_value(prio) > 4))
        return api_error(id, GL_EINVAL, "\"priority\" must be an integer 1-4");
    in.priority = prio ? (int)json_integer_value(prio) : 2;
    in.caller = json_string_value(json_object_get(req, "caller"));
    in.address = json_string_value(json_object_get(req, "address"));
    in.notes = json_string_value(json_object_get(req, "notes"));
    in.triage = json_object_get(req, "triage");
    if (in.triage) {
        char *text = json_is_object(in.triage) ? json_dumps(in.triage, JSON_COMPACT) : NULL;
        size_t len = text ? strlen(text) : 0;
        free(text);
        if (!json_is_object(in.triage) || len > 4000)
            return api_error(id, GL_EINVAL, "\"triage\" must be a JSON object of at most 4000 "
                                            "bytes");
    }
    incident_t *inc;
    char err[160];
    int rc = dispatch_call_new(a->d, &in, now, &inc, err, sizeof err);
    if (rc)
        return api_error(id, rc, err);
    return ok(id, json_pack("{s:o,s:o}", "incident", api_incident_json(inc), "candidates",
                            candidates_json(a, inc, now)));
}

static json_t *op_stats(api_t *a, json_t *id)
{
    dispatch_stats_t *ds = dispatch_stats(a->d);
    json_t *fixes = json_object();
    for (int i = 0; i < GPS_VERDICT_COUNT; i++)
        json_object_set_new(fixes, gps_verdict_name(i), json_integer((json_int_t)ds->fixes[i]));
    json_t *uplink = json_pack("{s:I,s:I,s:I,s:I,s:I}", "accepted",
                               (json_int_t)ds->uplink_accepted, "status_refused",
                               (json_int_t)ds->status_refused, "deferred",
                               (json_int_t)ds->uplink_deferred, "vitals",
                               (json_int_t)ds->vitals_received, "ecg_frames",
                               (json_int_t)ds->ecg_frames_received);
    if (a->bus) {
        bus_stats_t bs;
        bus_get_stats(a->bus, &bs);
        json_object_set_new(uplink, "received", json_integer((json_int_t)bs.received));
        json_t *rej = json_object();
        for (int i = 0; i < BUS_REJECT_COUNT; i++)
            json_object_set_new(rej, bus_reject_name(i), json_integer((json_int_t)bs.rejected[i]));
        json_object_set_new(uplink, "rejected", rej);
        json_object_set_new(uplink, "downlink_sent", json_integer((json_int_t)bs.downlink_sent));
    }
    json_t *db = NULL;
    if (!a->db) {
        db = json_object();
    } else {
        db_writer_stats_t s;
        db_writer_get_stats(a->db, &s);
        db = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "state", s.connected ? "up" : "down",
                       "records_pending", (json_int_t)s.records_pending, "applied_lsn",
                       (json_int_t)s.applied_lsn, "positions_pending",
                       (json_int_t)s.positions_pending, "positions_written",
                       (json_int_t)s.positions_written, "positions_dropped",
                       (json_int_t)s.positions_dropped);
        json_object_set_new(db, "positions_deferred", json_integer((json_int_t)s.positions_deferred));
        json_object_set_new(db, "vitals_pending", json_integer((json_int_t)s.vitals_pending));
        json_object_set_new(db, "vitals_written", json_integer((json_int_t)s.vitals_written));
        json_object_set_new(db, "ecg_pending", json_integer((json_int_t)s.ecg_pending));
        json_object_set_new(db, "ecg_written", json_integer((json_int_t)s.ecg_written));
        json_object_set_new(db, "records_dead_lettered",
                            json_integer((json_int_t)s.records_dead_lettered));
    }
    json_object_set_new(db, "journal_errors", json_integer((json_int_t)ds->journal_errors));
    return ok(id, json_pack("{s:o,s:o,s:o,s:I,s:I}", "uplink", uplink, "fixes", fixes,
                            "database", db, "vehicles",
                            (json_int_t)fleet_count(dispatch_fleet(a->d)), "incidents",
                            (json_int_t)incident_table_count(dispatch_incidents(a->d))));
}

json_t *api_clocks_json(const api_t *a, const incident_t *inc, int64_t now_ms)
{
    size_t n;
    const golden_metric_t *m = dispatch_metrics(a->d, &n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        golden_clock_t c = golden_evaluate(&m[i], inc, now_ms);
        if (c.state == GOLDEN_NOT_APPLICABLE)
            continue;
        json_t *o = json_pack("{s:s,s:s,s:I}", "metric", m[i].name, "state",
                              golden_state_name(c.state), "target_s",
                              (json_int_t)(m[i].target_ms / 1000));
        set_time(o, "start", c.start_ms);
        set_time(o, "end", c.end_ms);
        if (c.start_ms)
            json_object_set_new(o, "elapsed_s", json_real((double)c.elapsed_ms / 1000.0));
        if (c.state == GOLDEN_RUNNING || c.state == GOLDEN_WARNING)
            json_object_set_new(o, "remaining_s",
                                json_real((double)(m[i].target_ms - c.elapsed_ms) / 1000.0));
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *area_json(const coverage_result_t *r, int area)
{
    return json_pack("{s:I,s:I,s:f}", "covered", (json_int_t)r->area_covered[area], "total",
                     (json_int_t)r->area_total[area], "share", r->area_share[area]);
}

/* The golden rescue circle now: who is covered, who is not, what a unit's departure would
 * cost (what_if), and the best move-up when the share is below the alert threshold. */
static json_t *op_coverage(api_t *a, json_t *req, json_t *id)
{
    roads_t *roads = dispatch_params(a->d)->match.roads;
    coverage_t *cov = roads_coverage(roads);
    if (!cov)
        return api_error(id, GL_EUNAVAILABLE, "no coverage: the road network or its places "
                                              "are not imported (deploy/import-osm.sh)");
    coverage_result_t r;
    coverage_get(cov, &r);
    json_t *uncovered = json_array();
    uint32_t idx[200];
    size_t n = coverage_uncovered(cov, idx, 200);
    for (size_t i = 0; i < n && i < 200; i++) {
        coverage_point_t pt;
        if (coverage_point(cov, idx[i], &pt) != 0)
            continue;
        json_array_append_new(uncovered,
                              json_pack("{s:s,s:b,s:o?}", "name", roads_demand_name(roads, idx[i]),
                                        "on_roads", pt.snapped, "best_eta_s",
                                        pt.best_us == GRAPH_COST_INF ? NULL
                                                                     : json_real((double)pt.best_us / 1e6)));
    }
    json_t *detail = json_is_true(json_object_get(req, "points")) ? json_array() : NULL;
    for (size_t i = 0; detail && i < roads_demand_count(roads); i++) {
        coverage_point_t pt;
        const coverage_demand_t *dm = roads_demand_point(roads, i);
        if (coverage_point(cov, i, &pt) != 0)
            continue;
        json_array_append_new(
            detail, json_pack("{s:s,s:f,s:f,s:I,s:s,s:b,s:o?}", "name", roads_demand_name(roads, i),
                              "lat", dm->lat, "lon", dm->lon, "population",
                              (json_int_t)dm->population, "area", coverage_area_name(dm->area),
                              "covered", pt.covered, "best_eta_s",
                              pt.best_us == GRAPH_COST_INF ? NULL
                                                           : json_real((double)pt.best_us / 1e6)));
    }
    json_t *o = json_pack("{s:f,s:I,s:I,s:i,s:i,s:i,s:{s:o,s:o},s:o}", "share", r.share, "covered",
                          (json_int_t)r.covered, "total", (json_int_t)r.total, "points",
                          (int)r.n_points, "points_covered", (int)r.n_covered, "units",
                          (int)r.n_units, "areas", "town", area_json(&r, COVERAGE_AREA_TOWN),
                          "countryside", area_json(&r, COVERAGE_AREA_COUNTRYSIDE), "uncovered",
                          uncovered);
    if (detail)
        json_object_set_new(o, "points_detail", detail);
    const char *what_if = json_string_value(json_object_get(req, "what_if"));
    if (what_if) {
        vehicle_t *v = fleet_find(dispatch_fleet(a->d), what_if);
        if (!v) {
            json_decref(o);
            return api_error(id, GL_ENOENT, "no such vehicle");
        }
        uint64_t lost = roads_coverage_loss(roads, v->slot);
        json_object_set_new(o, "what_if",
                            json_pack("{s:s,s:I,s:f}", "vehicle", v->id, "population_lost",
                                      (json_int_t)lost, "share_after",
                                      r.total ? (double)(r.covered - lost) / (double)r.total
                                              : 0.0));
    }
    coverage_move_t mv;
    if (r.share < a->coverage_alert && roads_best_move(roads, &mv) == 0 && mv.gain > 0) {
        vehicle_t *v = fleet_at(dispatch_fleet(a->d), mv.unit_id);
        json_object_set_new(o, "move_up",
                            json_pack("{s:s,s:s,s:I,s:f}", "vehicle", v ? v->id : "?", "station",
                                      roads_station_id(roads, mv.station), "gain",
                                      (json_int_t)mv.gain, "share_after", mv.share_after));
    }
    return ok(id, o);
}

/* Provisions a unit (or re-keys it) and returns its key, once: the only time it leaves the
 * dispatcher, for `goldlinectl vehicle add` to write the unit's key file. */
static json_t *op_vehicle_add(api_t *a, json_t *req, json_t *id)
{
    const char *caps[FLEET_MAX_CAPS + 1];
    vehicle_def_t def = {json_string_value(json_object_get(req, "vehicle")),
                         json_string_value(json_object_get(req, "call_sign")),
                         json_string_value(json_object_get(req, "kind")),
                         json_string_value(json_object_get(req, "station")), caps, 0};
    json_t *jc = json_object_get(req, "capabilities");
    if (jc && !json_is_array(jc))
        return api_error(id, GL_EINVAL, "\"capabilities\" must be an array of strings");
    size_t i;
    json_t *c;
    json_array_foreach(jc, i, c)
    {
        if (!json_is_string(c) || def.ncaps == FLEET_MAX_CAPS + 1)
            return api_error(id, GL_EINVAL, "\"capabilities\": at most 8 strings");
        caps[def.ncaps++] = json_string_value(c);
    }
    char key[SEAL_KEY_HEX_LEN + 1], err[160];
    int rc = dispatch_vehicle_define(a->d, &def, key, err, sizeof err);
    if (rc)
        return api_error(id, rc, err);
    vehicle_t *v = fleet_find(dispatch_fleet(a->d), def.id);
    json_t *reply = ok(id, json_pack("{s:o,s:s}", "vehicle", api_vehicle_json(a, v, gl_now_ms()),
                                     "key", key));
    sodium_memzero(key, sizeof key);
    return reply;
}

static json_t *op_event_add(api_t *a, json_t *req, json_t *id, const char *actor, int64_t now)
{
    json_t *reply = NULL;
    incident_t *inc = incident_arg_or_reply(a, req, &reply);
    if (!inc)
        return reply;
    const char *kind = json_string_value(json_object_get(req, "kind"));
    json_t *at = json_object_get(req, "at"), *detail = json_object_get(req, "detail");
    int64_t at_ms = now;
    if (!kind)
        return api_error(id, GL_EINVAL, "\"kind\" (string) is required");
    if (at && (!json_is_string(at) || gl_time_parse(json_string_value(at), &at_ms) != 0))
        return api_error(id, GL_EINVAL, "\"at\" must be an ISO 8601 date-time");
    if (detail && !json_is_object(detail))
        return api_error(id, GL_EINVAL, "\"detail\" must be an object");
    char err[160];
    int rc = dispatch_add_event(a->d, inc, kind, at_ms, "operator", json_incref(detail), now, err,
                                sizeof err);
    if (rc)
        return api_error(id, rc, err);
    return ok(id, json_pack("{s:o,s:o}", "incident", api_incident_json(inc), "entry",
                            api_event_json(&inc->events[inc->nevents - 1])));
}

/* A client-supplied word as it may appear in a log line: short and of harmless characters
 * only, so nobody can forge lines (newlines) or flood the log. */
static const char *loggable(const char *s)
{
    size_t n = strlen(s);
    if (n > 32)
        return "(too long)";
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-' || s[i] == '_'))
            return "(unprintable)";
    return s;
}

json_t *api_handle(api_t *a, json_t *req, const char *actor, int *subscribe)
{
    json_t *id = json_object_get(req, "id");
    const char *op = json_string_value(json_object_get(req, "op"));
    int64_t now = gl_now_ms();
    if (!json_is_integer(id) || !op)
        return api_error(id, GL_EINVAL, "a request needs an integer \"id\" and an \"op\"");
    json_t *reply = NULL;
    char err[160];
    if (!strcmp(op, "call.new")) {
        reply = op_call_new(a, req, id, now);
    } else if (!strcmp(op, "candidates") || !strcmp(op, "incident")) {
        incident_t *inc = incident_arg_or_reply(a, req, &reply);
        if (inc && !strcmp(op, "incident"))
            reply = ok(id, json_pack("{s:o}", "incident", api_incident_json(inc)));
        else if (inc)
            reply = ok(id, json_pack("{s:o}", "candidates", candidates_json(a, inc, now)));
    } else if (!strcmp(op, "assign")) {
        incident_t *inc = incident_arg_or_reply(a, req, &reply);
        const char *veh = json_string_value(json_object_get(req, "vehicle"));
        if (inc && !veh)
            reply = api_error(id, GL_EINVAL, "\"vehicle\" (string) is required");
        else if (inc) {
            int rc = dispatch_assign(a->d, inc, veh, "operator", 0, now, err, sizeof err);
            reply = rc ? api_error(id, rc, err)
                       : ok(id, json_pack("{s:o}", "incident", api_incident_json(inc)));
        }
    } else if (!strcmp(op, "cancel")) {
        incident_t *inc = incident_arg_or_reply(a, req, &reply);
        if (inc) {
            const char *reason = json_string_value(json_object_get(req, "reason"));
            int rc = dispatch_cancel(a->d, inc, reason, "operator", now, err, sizeof err);
            reply = rc ? api_error(id, rc, err)
                       : ok(id, json_pack("{s:o}", "incident", api_incident_json(inc)));
        }
    } else if (!strcmp(op, "destination")) {
        incident_t *inc = incident_arg_or_reply(a, req, &reply);
        if (inc) {
            const char *hid = json_string_value(json_object_get(req, "hospital"));
            const char *why = json_string_value(json_object_get(req, "reason"));
            int rc = hid ? dispatch_override_destination(a->d, inc, hid, why, "operator", now, err,
                                                         sizeof err)
                         : dispatch_choose_destination(a->d, inc, "operator", now, err,
                                                       sizeof err);
            reply = rc ? api_error(id, rc, err)
                       : ok(id, json_pack("{s:o,s:o}", "incident", api_incident_json(inc),
                                          "entry", api_event_json(&inc->events[inc->nevents - 1])));
        }
    } else if (!strcmp(op, "hospital.status")) {
        const char *hid = json_string_value(json_object_get(req, "hospital"));
        json_t *cl = json_object_get(req, "cath_lab_ready"), *ct = json_object_get(req, "ct_ready"),
               *dv = json_object_get(req, "on_diversion");
        if (!hid || (cl && !json_is_boolean(cl)) || (ct && !json_is_boolean(ct)) ||
            (dv && !json_is_boolean(dv)))
            reply = api_error(id, GL_EINVAL, "\"hospital\" (string) and booleans "
                                             "cath_lab_ready, ct_ready, on_diversion");
        else {
            int rc = dispatch_hospital_status(a->d, hid, cl ? json_is_true(cl) : -1,
                                              ct ? json_is_true(ct) : -1,
                                              dv ? json_is_true(dv) : -1, actor, now, err,
                                              sizeof err);
            reply = rc ? api_error(id, rc, err) : ok(id, json_pack("{s:s}", "hospital", hid));
        }
    } else if (!strcmp(op, "coverage")) {
        reply = op_coverage(a, req, id);
    } else if (!strcmp(op, "vehicle.add")) {
        reply = op_vehicle_add(a, req, id);
    } else if (!strcmp(op, "event.add")) {
        reply = op_event_add(a, req, id, actor, now);
    } else if (!strcmp(op, "alert.ack")) {
        incident_t *inc = incident_arg_or_reply(a, req, &reply);
        json_t *seq = json_object_get(req, "alert");
        if (inc && !json_is_integer(seq)) {
            reply = api_error(id, GL_EINVAL, "\"alert\" (the alert event's seq) is required");
        } else if (inc) {
            int rc = dispatch_ack_alert(a->d, inc, (int)json_integer_value(seq), actor, now, err,
                                        sizeof err);
            reply = rc ? api_error(id, rc, err)
                       : ok(id, json_pack("{s:o}", "entry",
                                          api_event_json(&inc->events[inc->nevents - 1])));
        }
    } else if (!strcmp(op, "clocks")) {
        incident_t *inc = incident_arg_or_reply(a, req, &reply);
        if (inc)
            reply = ok(id, json_pack("{s:s,s:o}", "incident", inc->id, "clocks",
                                     api_clocks_json(a, inc, now)));
    } else if (!strcmp(op, "incidents")) {
        int all = json_is_true(json_object_get(req, "all"));
        incident_table_t *t = dispatch_incidents(a->d);
        json_t *arr = json_array();
        for (size_t i = 0; i < incident_table_count(t); i++) {
            const incident_t *inc = incident_table_at(t, i);
            if (all || incident_is_open(inc->state))
                json_array_append_new(arr, api_incident_json(inc));
        }
        reply = ok(id, json_pack("{s:o}", "incidents", arr));
    } else if (!strcmp(op, "timeline")) {
        incident_t *inc = incident_arg_or_reply(a, req, &reply);
        if (inc) {
            json_t *arr = json_array();
            for (size_t i = 0; i < inc->nevents; i++)
                json_array_append_new(arr, api_event_json(&inc->events[i]));
            reply = ok(id, json_pack("{s:o,s:o}", "incident", api_incident_json(inc), "events",
                                     arr));
        }
    } else if (!strcmp(op, "fleet")) {
        fleet_t *f = dispatch_fleet(a->d);
        json_t *arr = json_array();
        for (uint32_t s = 0; s < fleet_count(f); s++)
            json_array_append_new(arr, api_vehicle_json(a, fleet_at(f, s), now));
        reply = ok(id, json_pack("{s:o}", "vehicles", arr));
    } else if (!strcmp(op, "stats")) {
        reply = op_stats(a, id);
    } else if (!strcmp(op, "subscribe")) {
        *subscribe = 1;
        reply = ok(id, json_object());
    } else if ((reply = api_roads_handle(a, op, req, id, actor)) != NULL ||
               (reply = api_map_handle(a, op, req, id)) != NULL) {
        /* road.close/slow/open, roads.closures (api_roads.c); map.*, route, places.search
         * (api_map.c) */
    } else {
        reply = api_error(id, GL_EINVAL, "unknown op");
    }
    if (!reply) /* out of memory while building it: the client still gets an answer */
        reply = json_pack("{s:O,s:b,s:{s:s,s:s}}", "id", id, "ok", 0, "error", "code", "ENOMEM",
                          "message", "the reply could not be built");
    if (strcmp(op, "stats") && strcmp(op, "fleet"))
        LOG_INFO("audit", "%s %s%s%s -> %s", actor, loggable(op),
                 json_is_string(json_object_get(req, "incident")) ? " inc=" : "",
                 json_is_string(json_object_get(req, "incident"))
                     ? loggable(json_string_value(json_object_get(req, "incident")))
                     : "",
                 json_is_true(json_object_get(reply, "ok")) ? "ok" : "refused");
    return reply;
}
