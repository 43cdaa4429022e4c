/*
 * `inbound`: what the emergency department's arrivals board lists (docs/api.md). One entry per
 * open incident whose latest destination is the hospital, built from the incident's timeline:
 * the newest "patient" event (age, sex, triage as the crew recorded them), every stroke scale,
 * the STEMI / LVO pre-alerts and whether the team was already activated, and the door time.
 * The ETA is the assigned unit's travel time to the hospital from its newest fix, by road when
 * the graph allows, computed at the time of the request (`eta_at`), so a board that polls every
 * few seconds counts down from a fresh figure.
 */
#include "api.h"

#include "err.h"
#include "timeutil.h"

#include <string.h>

static void set_time(json_t *o, const char *key, int64_t ms)
{
    char buf[40];
    json_object_set_new(o, key, json_string(gl_time_format_utc(ms, buf, sizeof buf)));
}

static json_t *detail_of(const incident_event_t *e)
{
    json_error_t jerr;
    json_t *d = e->detail ? json_loads(e->detail, 0, &jerr) : NULL;
    return d ? d : json_object();
}

/* The timeline's facts for the receiving team. */
static void add_case_facts(json_t *o, const incident_t *inc)
{
    json_t *scales = json_array();
    int stemi = 0, lvo = 0;
    for (size_t i = 0; i < inc->nevents; i++) {
        const incident_event_t *e = &inc->events[i];
        if (!strcmp(e->kind, "patient")) {
            json_object_set_new(o, "patient", detail_of(e)); /* the newest wins */
        } else if (!strcmp(e->kind, "stroke_scale") || !strcmp(e->kind, "lvo_suspected")) {
            json_t *sc = json_pack("{s:s,s:o}", "kind", e->kind, "detail", detail_of(e));
            set_time(sc, "at", e->at_ms);
            json_array_append_new(scales, sc);
            lvo |= !strcmp(e->kind, "lvo_suspected");
        } else if (!strcmp(e->kind, "stemi_confirmed")) {
            stemi = 1;
        } else if (!strcmp(e->kind, "cath_lab_activated") ||
                   !strcmp(e->kind, "stroke_team_activated") || !strcmp(e->kind, "door")) {
            if (!json_object_get(o, e->kind))
                set_time(o, e->kind, e->at_ms);
        }
    }
    json_object_set_new(o, "scales", scales);
    json_object_set_new(o, "stemi", json_boolean(stemi));
    json_object_set_new(o, "lvo", json_boolean(lvo));
}

static const hospital_t *find_hospital(dispatch_t *d, const char *id)
{
    size_t n;
    const hospital_t *h = dispatch_hospitals(d, &n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(h[i].id, id))
            return &h[i];
    return NULL;
}

json_t *api_inbound(api_t *a, const char *hospital, json_t *id, int64_t now_ms)
{
    if (!hospital || !hospital[0])
        return api_error(id, GL_EINVAL, "hospital is required");
    const hospital_t *h = find_hospital(a->d, hospital);
    if (!h)
        return api_error(id, GL_ENOENT, "no such hospital");
    json_t *patients = json_array();
    incident_table_t *t = dispatch_incidents(a->d);
    for (size_t i = 0; i < incident_table_count(t); i++) {
        const incident_t *inc = incident_table_at(t, i);
        if (!incident_is_open(inc->state) || strcmp(inc->destination, hospital))
            continue;
        json_t *o = json_pack("{s:o}", "incident", api_incident_json(inc));
        const vehicle_t *v = inc->vehicle[0] ? fleet_find(dispatch_fleet(a->d), inc->vehicle)
                                             : NULL;
        if (v) {
            json_object_set_new(o, "vehicle", api_vehicle_json(a, v, now_ms));
            double eta;
            int by_road;
            if (v->has_fix && inc->state != INCIDENT_STATE_AT_HOSPITAL &&
                dispatch_travel_s(a->d, v->lat, v->lon, h->lat, h->lon, &eta, &by_road) == 0) {
                json_object_set_new(o, "eta_s", json_real(eta));
                json_object_set_new(o, "eta_method",
                                    json_string(by_road ? "road" : "straight_line"));
                set_time(o, "eta_at", now_ms);
            }
        }
        add_case_facts(o, inc);
        json_array_append_new(patients, o);
    }
    return json_pack("{s:O,s:b,s:{s:s,s:s,s:o}}", "id", id ? id : json_null(), "ok", 1,
                     "result", "hospital", h->id, "name", h->name, "patients", patients);
}
