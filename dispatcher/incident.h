/*
 * Incidents: a call's record, its state machine and its in-memory timeline.
 *
 * The state follows what the assigned unit reports, and every change becomes an event in the
 * incident's timeline (mirrored to incident_events in PostGIS by db.c). Transitions go through
 * incident_apply() only, which refuses illegal ones with GL_ESTATE and changes nothing then.
 */
#ifndef GL_INCIDENT_H
#define GL_INCIDENT_H

#include "fleet.h"

#include <stddef.h>
#include <stdint.h>

#define INCIDENT_ID_LEN 24

/* XX(NAME, text) */
#define INCIDENT_STATE_MAP(XX)                                                                    \
    XX(NEW, "new")                                                                                \
    XX(DISPATCHED, "dispatched")                                                                  \
    XX(EN_ROUTE, "en_route")                                                                      \
    XX(ON_SCENE, "on_scene")                                                                      \
    XX(TRANSPORTING, "transporting")                                                              \
    XX(AT_HOSPITAL, "at_hospital")                                                                \
    XX(CLOSED, "closed")                                                                          \
    XX(CANCELLED, "cancelled")

typedef enum incident_state {
#define XX(name, text) INCIDENT_STATE_##name,
    INCIDENT_STATE_MAP(XX)
#undef XX
} incident_state_t;

/* XX(NAME, text) */
#define COMPLAINT_MAP(XX)                                                                         \
    XX(CHEST_PAIN, "chest_pain")                                                                  \
    XX(STROKE, "stroke")                                                                          \
    XX(TRAUMA, "trauma")                                                                          \
    XX(OBSTETRIC, "obstetric")                                                                    \
    XX(NEWBORN, "newborn")                                                                        \
    XX(OTHER, "other")

typedef enum complaint {
#define XX(name, text) COMPLAINT_##name,
    COMPLAINT_MAP(XX)
#undef XX
} complaint_t;

const char *incident_state_name(incident_state_t st);
int incident_state_parse(const char *text, incident_state_t *out);
const char *complaint_name(complaint_t c);
int complaint_parse(const char *text, complaint_t *out);
int incident_is_open(incident_state_t st);

typedef struct incident_event {
    int seq;                   /* 1, 2, ... within the incident */
    int64_t at_ms;             /* when it happened */
    char kind[24];             /* call_received, assigned, auto_assigned, status, cancelled ... */
    char source[12];           /* operator | unit | dispatcher */
    char vehicle[FLEET_ID_LEN];
    char *detail;              /* JSON object text or NULL; owned by the incident */
    /* What the golden clocks look up, read from the detail once when the event is added (the
     * clocks of every open incident are checked each second and must not parse JSON to do it):
     * a status event's status; a golden_alert's metric and level (1 warning, 2 breach). Empty
     * and 0 for other kinds. */
    char status[24];
    char alert_metric[48];
    int alert_level;
} incident_event_t;

typedef struct incident {
    char id[INCIDENT_ID_LEN];  /* "20261125-0001" */
    int day, day_seq;
    int64_t created_ms;
    double lat, lon;
    complaint_t complaint;
    int priority;              /* 1..4 */
    int64_t onset_ms;          /* 0 = unknown */
    char caller[32];
    char *address, *notes;     /* owned; may be NULL */
    incident_state_t state;
    char vehicle[FLEET_ID_LEN];/* assigned unit, "" if none */
    int64_t updated_ms;
    int64_t auto_assign_at_ms; /* 0 = no automatic assignment pending */
    char destination[40];      /* hospital of the latest "destination" event, "" if none: who
                                  may see the patient's data (kept by incident_add_event) */
    incident_event_t *events;  /* the timeline, oldest first */
    size_t nevents, cap_events;
} incident_t;

/* What can happen to an incident. */
typedef enum incident_input {
    INCIDENT_IN_ASSIGN,        /* a unit is assigned (or reassigned) */
    INCIDENT_IN_UNIT_STATUS,   /* the assigned unit reported a status */
    INCIDENT_IN_CANCEL,
} incident_input_t;

/*
 * Computes the state that `in` leads to (with `status` for UNIT_STATUS) without changing
 * anything. Returns 0 and sets *next (which may equal the current state: a no-op), or GL_ESTATE.
 */
int incident_next_state(const incident_t *inc, incident_input_t in, vehicle_status_t status,
                        incident_state_t *next);

/*
 * Appends an event to the timeline (seq = nevents + 1); `detail` (JSON text, may be NULL) is
 * copied. A "destination" event with {"hospital": ID} also sets inc->destination. Returns the
 * stored event or NULL on out of memory.
 */
incident_event_t *incident_add_event(incident_t *inc, int64_t at_ms, const char *kind,
                                     const char *source, const char *vehicle, const char *detail);

/* Frees what the incident owns (not the struct itself). */
void incident_clear(incident_t *inc);

/* A set of incidents by id, growing as needed; pointers to incidents stay valid. */
typedef struct incident_table incident_table_t;
incident_table_t *incident_table_new(void);
void incident_table_free(incident_table_t *t);
/* Adds a zeroed incident with `id`; returns it, or NULL (duplicate id or out of memory). */
incident_t *incident_table_add(incident_table_t *t, const char *id);
incident_t *incident_table_find(const incident_table_t *t, const char *id);
size_t incident_table_count(const incident_table_t *t);
incident_t *incident_table_at(const incident_table_t *t, size_t i); /* creation order */

#endif
