/*
 * The incident state machine, the timeline and the incident table.
 */
#include "incident.h"

#include "err.h"
#include "text.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *incident_state_name(incident_state_t st)
{
    switch (st) {
#define XX(name, text)                                                                            \
    case INCIDENT_STATE_##name:                                                                   \
        return text;
        INCIDENT_STATE_MAP(XX)
#undef XX
    }
    return "unknown";
}

int incident_state_parse(const char *text, incident_state_t *out)
{
#define XX(name, t)                                                                               \
    if (strcmp(text, t) == 0) {                                                                   \
        *out = INCIDENT_STATE_##name;                                                             \
        return 0;                                                                                 \
    }
    INCIDENT_STATE_MAP(XX)
#undef XX
    return GL_EINVAL;
}

const char *complaint_name(complaint_t c)
{
    switch (c) {
#define XX(name, text)                                                                            \
    case COMPLAINT_##name:                                                                        \
        return text;
        COMPLAINT_MAP(XX)
#undef XX
    }
    return "unknown";
}

int complaint_parse(const char *text, complaint_t *out)
{
#define XX(name, t)                                                                               \
    if (strcmp(text, t) == 0) {                                                                   \
        *out = COMPLAINT_##name;                                                                  \
        return 0;                                                                                 \
    }
    COMPLAINT_MAP(XX)
#undef XX
    return GL_EINVAL;
}

int incident_is_open(incident_state_t st)
{
    return st != INCIDENT_STATE_CLOSED && st != INCIDENT_STATE_CANCELLED;
}

/* The unit's status mapped onto the incident. RETURNING or AVAILABLE after the scene ends the
 * incident (treated on scene, or handed over at hospital); before the scene they mean the unit
 * was stood down, which only the operator may decide (cancel), so they are refused here. */
static int next_on_unit_status(incident_state_t cur, vehicle_status_t st, incident_state_t *next)
{
    switch (st) {
    case VEHICLE_STATUS_EN_ROUTE:
        if (cur == INCIDENT_STATE_DISPATCHED || cur == INCIDENT_STATE_EN_ROUTE) {
            *next = INCIDENT_STATE_EN_ROUTE;
            return 0;
        }
        break;
    case VEHICLE_STATUS_ON_SCENE:
        if (cur == INCIDENT_STATE_DISPATCHED || cur == INCIDENT_STATE_EN_ROUTE ||
            cur == INCIDENT_STATE_ON_SCENE) {
            *next = INCIDENT_STATE_ON_SCENE;
            return 0;
        }
        break;
    case VEHICLE_STATUS_TRANSPORTING:
        if (cur == INCIDENT_STATE_ON_SCENE || cur == INCIDENT_STATE_TRANSPORTING) {
            *next = INCIDENT_STATE_TRANSPORTING;
            return 0;
        }
        break;
    case VEHICLE_STATUS_AT_HOSPITAL:
        if (cur == INCIDENT_STATE_TRANSPORTING || cur == INCIDENT_STATE_AT_HOSPITAL) {
            *next = INCIDENT_STATE_AT_HOSPITAL;
            return 0;
        }
        break;
    case VEHICLE_STATUS_RETURNING:
    case VEHICLE_STATUS_AVAILABLE:
        if (cur == INCIDENT_STATE_ON_SCENE || cur == INCIDENT_STATE_AT_HOSPITAL) {
            *next = INCIDENT_STATE_CLOSED;
            return 0;
        }
        break;
    default:
        break;
    }
    return GL_ESTATE;
}

int incident_next_state(const incident_t *inc, incident_input_t in, vehicle_status_t status,
                        incident_state_t *next)
{
    incident_state_t cur = inc->state;
    switch (in) {
    case INCIDENT_IN_ASSIGN:
        /* a first assignment, or a reassignment before the first unit reached the scene */
        if (cur == INCIDENT_STATE_NEW || cur == INCIDENT_STATE_DISPATCHED ||
            cur == INCIDENT_STATE_EN_ROUTE) {
            *next = INCIDENT_STATE_DISPATCHED;
            return 0;
        }
        return GL_ESTATE;
    case INCIDENT_IN_UNIT_STATUS:
        return next_on_unit_status(cur, status, next);
    case INCIDENT_IN_CANCEL:
        if (incident_is_open(cur)) {
            *next = INCIDENT_STATE_CANCELLED;
            return 0;
        }
        return GL_ESTATE;
    }
    return GL_ESTATE;
}

/* Keeps what is looked up often of an event's detail (incident_event_t, incident_t). */
static void read_event_detail(incident_t *inc, incident_event_t *e, const char *detail)
{
    json_error_t jerr;
    json_t *d = json_loads(detail, 0, &jerr);
    const char *status = json_string_value(json_object_get(d, "status"));
    const char *metric = json_string_value(json_object_get(d, "metric"));
    const char *level = json_string_value(json_object_get(d, "level"));
    const char *hospital = json_string_value(json_object_get(d, "hospital"));
    if (!strcmp(e->kind, "status") && status && strlen(status) < sizeof e->status)
        memcpy(e->status, status, strlen(status) + 1);
    if (!strcmp(e->kind, "golden_alert") && metric && level &&
        strlen(metric) < sizeof e->alert_metric) {
        memcpy(e->alert_metric, metric, strlen(metric) + 1);
        e->alert_level = !strcmp(level, "breach") ? 2 : !strcmp(level, "warning") ? 1 : 0;
    }
    if (!strcmp(e->kind, "destination") && hospital)
        gl_utf8_copy(inc->destination, sizeof inc->destination, hospital);
    json_decref(d);
}

incident_event_t *incident_add_event(incident_t *inc, int64_t at_ms, const char *kind,
                                     const char *source, const char *vehicle, const char *detail)
{
    if (inc->nevents == inc->cap_events) {
        size_t cap = inc->cap_events ? inc->cap_events * 2 : 8;
        incident_event_t *ev = realloc(inc->events, cap * sizeof *ev);
        if (!ev)
            return NULL;
        inc->events = ev;
        inc->cap_events = cap;
    }
    incident_event_t *e = &inc->events[inc->nevents];
    memset(e, 0, sizeof *e);
    if (detail && !(e->detail = strdup(detail)))
        return NULL;
    e->seq = (int)inc->nevents + 1;
    e->at_ms = at_ms;
    snprintf(e->kind, sizeof e->kind, "%s", kind);
    snprintf(e->source, sizeof e->source, "%s", source);
    snprintf(e->vehicle, sizeof e->vehicle, "%s", vehicle ? vehicle : "");
    inc->nevents++;
    if (detail && (!strcmp(kind, "status") || !strcmp(kind, "golden_alert") ||
                   !strcmp(kind, "destination")))
        read_event_detail(inc, e, detail);
    return e;
}

void incident_clear(incident_t *inc)
{
    for (size_t i = 0; i < inc->nevents; i++)
        free(inc->events[i].detail);
    free(inc->events);
    free(inc->address);
    free(inc->notes);
    inc->events = NULL;
    inc->address = inc->notes = NULL;
    inc->nevents = inc->cap_events = 0;
}

struct incident_table {
    incident_t **items; /* each allocated on its own, so pointers stay valid */
    size_t count, cap;
};

incident_table_t *incident_table_new(void)
{
    return calloc(1, sizeof(incident_table_t));
}

void incident_table_free(incident_table_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->count; i++) {
        incident_clear(t->items[i]);
        free(t->items[i]);
    }
    free(t->items);
    free(t);
}

incident_t *incident_table_find(const incident_table_t *t, const char *id)
{
    /* Newest first: lookups are almost always for today's calls. A county centre takes a few
     * hundred calls a day, so a scan is cheap; an index can come when closed incidents are
     * evicted from memory. */
    for (size_t i = t->count; i-- > 0;)
        if (strcmp(t->items[i]->id, id) == 0)
            return t->items[i];
    return NULL;
}

incident_t *incident_table_add(incident_table_t *t, const char *id)
{
    if (strlen(id) >= INCIDENT_ID_LEN || incident_table_find(t, id))
        return NULL;
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        incident_t **items = realloc(t->items, cap * sizeof *items);
        if (!items)
            return NULL;
        t->items = items;
        t->cap = cap;
    }
    incident_t *inc = calloc(1, sizeof *inc);
    if (!inc)
        return NULL;
    snprintf(inc->id, sizeof inc->id, "%s", id);
    t->items[t->count++] = inc;
    return inc;
}

size_t incident_table_count(const incident_table_t *t)
{
    return t->count;
}

incident_t *incident_table_at(const incident_table_t *t, size_t i)
{
    return i < t->count ? t->items[i] : NULL;
}
