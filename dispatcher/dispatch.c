/*
 * The dispatcher's domain core (see dispatch.h): journal records, their application to memory,
 * and the verbs of calls, assignments and the uplink.
 */
#include "dispatch.h"

#include "err.h"
#include "log.h"
#include "geo.h"
#include "seal.h"
#include "text.h"
#include "timeutil.h"

#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTO_ASSIGN_RETRY_MS 10000 /* no candidate for an auto-assignment: look again after */

struct dispatch {
    dispatch_params_t params;
    dispatch_hooks_t hooks;
    void *ctx;
    journal_t *journal;
    fleet_t *fleet;
    incident_table_t *incidents;
    int last_day, last_day_seq;     /* the newest incident number handed out or seen */
    dispatch_stats_t stats;
    gl_log_burst_t gps_burst, status_burst;
    golden_metric_t *metrics;
    size_t nmetrics;
    hospital_t *hospitals;
    size_t nhospitals;
    places_t *places;               /* the gazetteer; NULL until loaded */
    struct {                        /* journal op types of other modules (dispatch_register_op) */
        char type[16];
        int (*apply)(void *ctx, json_t *op);
        void *ctx;
    } ext[DISPATCH_MAX_OP_TYPES];
    int next;
};

dispatch_t *dispatch_new(const dispatch_params_t *p, const dispatch_hooks_t *hooks, void *ctx,
                         journal_t *j)
{
    dispatch_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->params = *p;
    if (hooks)
        d->hooks = *hooks;
    d->ctx = ctx;
    d->journal = j;
    d->fleet = fleet_new();
    d->incidents = incident_table_new();
    if (!d->fleet || !d->incidents) {
        dispatch_free(d);
        return NULL;
    }
    return d;
}

void dispatch_free(dispatch_t *d)
{
    if (!d)
        return;
    roads_free(d->params.match.roads);
    fleet_free(d->fleet);
    incident_table_free(d->incidents);
    free(d->metrics);
    free(d->hospitals);
    places_free(d->places);
    free(d);
}

void dispatch_set_places(dispatch_t *d, places_t *p)
{
    places_free(d->places);
    d->places = p;
}

const places_t *dispatch_places(const dispatch_t *d)
{
    return d->places;
}

int dispatch_set_hospitals(dispatch_t *d, const hospital_t *h, size_t n)
{
    hospital_t *copy = n ? malloc(n * sizeof *copy) : NULL;
    if (n && !copy)
        return GL_ENOMEM;
    if (n)
        memcpy(copy, h, n * sizeof *copy);
    free(d->hospitals);
    d->hospitals = copy;
    d->nhospitals = n;
    return 0;
}

const hospital_t *dispatch_hospitals(const dispatch_t *d, size_t *n)
{
    *n = d->nhospitals;
    return d->hospitals;
}

void dispatch_set_roads(dispatch_t *d, roads_t *roads)
{
    roads_free(d->params.match.roads);
    d->params.match.roads = roads;
}

void dispatch_set_journal(dispatch_t *d, journal_t *j)
{
    d->journal = j;
}

fleet_t *dispatch_fleet(dispatch_t *d)
{
    return d->fleet;
}

incident_table_t *dispatch_incidents(dispatch_t *d)
{
    return d->incidents;
}

dispatch_stats_t *dispatch_stats(dispatch_t *d)
{
    return &d->stats;
}

const dispatch_params_t *dispatch_params(const dispatch_t *d)
{
    return &d->params;
}

int dispatch_set_metrics(dispatch_t *d, const golden_metric_t *m, size_t n)
{
    golden_metric_t *copy = n ? malloc(n * sizeof *copy) : NULL;
    if (n && !copy)
        return GL_ENOMEM;
    if (n)
        memcpy(copy, m, n * sizeof *copy);
    free(d->metrics);
    d->metrics = copy;
    d->nmetrics = n;
    return 0;
}

const golden_metric_t *dispatch_metrics(const dispatch_t *d, size_t *n)
{
    *n = d->nmetrics;
    return d->metrics;
}

void dispatch_note_incident_number(dispatch_t *d, int day, int seq)
{
    if (day > d->last_day || (day == d->last_day && seq > d->last_day_seq)) {
        d->last_day = day;
        d->last_day_seq = seq;
    }
}

/* ---- journal records: building ------------------------------------------------------------ */

/* Sets a string member. Invalid UTF-8 (which jansson refuses) cannot reach here from the API,
 * but a field cut elsewhere could carry it: it is stored cut at the first bad byte rather than
 * dropped, so a record never loses a member. */
static void set_str(json_t *o, const char *key, const char *s)
{
    json_t *v = s ? json_string(s) : json_null();
    if (!v) {
        char buf[512];
        gl_utf8_copy(buf, sizeof buf, s);
        v = json_string(buf);
    }
    json_object_set_new(o, key, v ? v : json_null());
}

/* Appends an operation to a record; a NULL (out of memory) poisons the record with a null
 * entry, which commit() refuses, instead of silently leaving the operation out. */
static void ops_add(json_t *ops, json_t *op)
{
    json_array_append_new(ops, op ? op : json_null());
}

static json_t *incident_op(const incident_t *inc)
{
    json_t *o = json_object();
    json_object_set_new(o, "t", json_string("incident"));
    set_str(o, "id", inc->id);
    json_object_set_new(o, "day", json_integer(inc->day));
    json_object_set_new(o, "day_seq", json_integer(inc->day_seq));
    json_object_set_new(o, "created", json_integer(inc->created_ms));
    json_object_set_new(o, "lat", json_real(inc->lat));
    json_object_set_new(o, "lon", json_real(inc->lon));
    set_str(o, "complaint", complaint_name(inc->complaint));
    json_object_set_new(o, "priority", json_integer(inc->priority));
    json_object_set_new(o, "onset", json_integer(inc->onset_ms));
    set_str(o, "caller", inc->caller[0] ? inc->caller : NULL);
    set_str(o, "address", inc->address);
    set_str(o, "notes", inc->notes);
    set_str(o, "state", incident_state_name(inc->state));
    set_str(o, "vehicle", inc->vehicle);
    json_object_set_new(o, "updated", json_integer(inc->updated_ms));
    json_object_set_new(o, "auto_assign_at", json_integer(inc->auto_assign_at_ms));
    return o;
}

/* `detail` is a JSON object (stolen) or NULL. */
static json_t *event_op(const incident_t *inc, int seq, int64_t at_ms, const char *kind,
                        const char *source, const char *vehicle, json_t *detail)
{
    json_t *o = json_object();
    json_object_set_new(o, "t", json_string("event"));
    set_str(o, "incident", inc->id);
    json_object_set_new(o, "seq", json_integer(seq));
    json_object_set_new(o, "at", json_integer(at_ms));
    set_str(o, "kind", kind);
    set_str(o, "source", source);
    set_str(o, "vehicle", vehicle && vehicle[0] ? vehicle : NULL);
    json_object_set_new(o, "detail", detail ? detail : json_null());
    return o;
}

static const char *downlink_kind_name(downlink_kind_t k)
{
    return k == DOWNLINK_ASSIGNMENT ? "assignment"
           : k == DOWNLINK_CANCEL   ? "cancel"
                                    : "destination";
}

static json_t *vehicle_op(const vehicle_t *v)
{
    json_t *o = json_object();
    json_object_set_new(o, "t", json_string("vehicle"));
    set_str(o, "id", v->id);
    set_str(o, "status", vehicle_status_name(v->status));
    json_object_set_new(o, "status_at", json_integer(v->status_at_ms));
    set_str(o, "incident", v->incident);
    json_object_set_new(o, "uplink_seq", json_integer((json_int_t)v->uplink_seq));
    json_object_set_new(o, "downlink_seq", json_integer((json_int_t)v->downlink_seq));
    json_t *pend = json_array();
    for (int i = 0; i < v->npending; i++) {
        const downlink_msg_t *m = &v->pending[i];
        json_t *pm = json_pack("{s:I,s:s,s:s,s:s,s:I}", "seq", (json_int_t)m->seq, "kind",
                               downlink_kind_name(m->kind), "incident", m->incident, "reason",
                               m->reason, "at", (json_int_t)m->at_ms);
        if (m->kind == DOWNLINK_DESTINATION)
            json_object_set_new(pm, "hospital", json_string(m->hospital));
        ops_add(pend, pm);
    }
    json_object_set_new(o, "pending", pend);
    return o;
}

/* Journals `ops` (stolen), then applies it to memory. Returns 0 or GL_EIO/GL_ENOMEM; on failure
 * memory is unchanged. */
/* 1 if every operation of a record (and every pending downlink of a vehicle op) was built. */
static int record_complete(json_t *ops)
{
    size_t i, k;
    json_t *op, *m;
    json_array_foreach(ops, i, op)
    {
        if (!json_is_object(op))
            return 0;
        json_array_foreach(json_object_get(op, "pending"), k, m) if (!json_is_object(m)) return 0;
    }
    return 1;
}

static int commit(dispatch_t *d, json_t *ops)
{
    if (!ops || !record_complete(ops)) {
        json_decref(ops);
        return GL_ENOMEM;
    }
    json_t *rec = json_pack("{s:o}", "ops", ops);
    char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    json_decref(rec);
    if (!text)
        return GL_ENOMEM;
    size_t len = strlen(text);
    uint64_t lsn = 0;
    int rc = d->journal ? journal_append(d->journal, text, len, &lsn) : 0;
    if (rc != 0) {
        d->stats.journal_errors++;
        free(text);
        return GL_EIO;
    }
    rc = dispatch_apply_record(d, text, len);
    if (rc != 0)
        LOG_ERR("dispatch", "lsn=%" PRIu64 ": a record we wrote does not apply (%s)", lsn,
                gl_strerror(rc));
    if (d->hooks.record_appended)
        d->hooks.record_appended(d->ctx, lsn, text, len);
    free(text);
    return 0;
}

int dispatch_register_op(dispatch_t *d, const char *type, int (*apply)(void *ctx, json_t *op),
                         void *ctx)
{
    if (d->next == DISPATCH_MAX_OP_TYPES || strlen(type) >= sizeof d->ext[0].type)
        return GL_ENOSPC;
    snprintf(d->ext[d->next].type, sizeof d->ext[0].type, "%s", type);
    d->ext[d->next].apply = apply;
    d->ext[d->next].ctx = ctx;
    d->next++;
    return 0;
}

int dispatch_commit_ops(dispatch_t *d, json_t *ops)
{
    return commit(d, ops);
}

/* An op of a registered type: handed to its module (none registered: refused). */
static int apply_ext(dispatch_t *d, const char *type, json_t *op)
{
    for (int i = 0; i < d->next; i++)
        if (!strcmp(d->ext[i].type, type))
            return d->ext[i].apply ? d->ext[i].apply(d->ext[i].ctx, op) : 0;
    return GL_EPROTO;
}

/* ---- journal records: applying ------------------------------------------------------------ */

static const char *get_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int64_t get_int(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int apply_incident(dispatch_t *d, json_t *o)
{
    const char *id = get_str(o, "id"), *complaint = get_str(o, "complaint"),
               *state = get_str(o, "state");
    complaint_t c;
    incident_state_t st;
    if (!id || !complaint || !state || complaint_parse(complaint, &c) ||
        incident_state_parse(state, &st))
        return GL_EPROTO;
    incident_t *inc = incident_table_find(d->incidents, id);
    if (!inc && !(inc = incident_table_add(d->incidents, id)))
        return GL_ENOMEM;
    inc->day = (int)get_int(o, "day");
    inc->day_seq = (int)get_int(o, "day_seq");
    inc->created_ms = get_int(o, "created");
    inc->lat = json_number_value(json_object_get(o, "lat"));
    inc->lon = json_number_value(json_object_get(o, "lon"));
    inc->complaint = c;
    inc->priority = (int)get_int(o, "priority");
    inc->onset_ms = get_int(o, "onset");
    gl_utf8_copy(inc->caller, sizeof inc->caller, get_str(o, "caller"));
    free(inc->address);
    free(inc->notes);
    inc->address = dup_or_null(get_str(o, "address"));
    inc->notes = dup_or_null(get_str(o, "notes"));
    inc->state = st;
    gl_utf8_copy(inc->vehicle, sizeof inc->vehicle, get_str(o, "vehicle"));
    inc->updated_ms = get_int(o, "updated");
    inc->auto_assign_at_ms = get_int(o, "auto_assign_at");
    dispatch_note_incident_number(d, inc->day, inc->day_seq);
    return 0;
}

static int apply_event(dispatch_t *d, json_t *o)
{
    const char *id = get_str(o, "incident"), *kind = get_str(o, "kind"),
               *source = get_str(o, "source");
    incident_t *inc = id ? incident_table_find(d->incidents, id) : NULL;
    if (!inc || !kind || !source)
        return GL_EPROTO;
    int seq = (int)get_int(o, "seq");
    if (seq <= (int)inc->nevents)
        return 0; /* already there: replaying what memory (or PostGIS) already has */
    if (seq != (int)inc->nevents + 1) {
        LOG_ERR("dispatch", "inc=%s: event %d follows %zu: gap in the timeline", inc->id, seq,
                inc->nevents);
        return GL_EPROTO;
    }
    json_t *detail = json_object_get(o, "detail");
    char *dtext = json_is_object(detail) ? json_dumps(detail, JSON_COMPACT) : NULL;
    incident_event_t *e = incident_add_event(inc, get_int(o, "at"), kind, source,
                                             get_str(o, "vehicle"), dtext);
    free(dtext);
    return e ? 0 : GL_ENOMEM;
}

static int apply_vehicle(dispatch_t *d, json_t *o)
{
    const char *id = get_str(o, "id"), *status = get_str(o, "status");
    vehicle_t *v = id ? fleet_find(d->fleet, id) : NULL;
    vehicle_status_t st;
    if (!status || vehicle_status_parse(status, &st))
        return GL_EPROTO;
    if (!v) {
        /* A unit taken out of the fleet (vehicles.active = false) since the record was
         * written: its incident records still apply, its own state has no one to go to. */
        LOG_WARN("dispatch", "journal names vehicle %.32s, no longer in the fleet: skipped",
                 id ? id : "?");
        return 0;
    }
    v->status = st;
    v->status_at_ms = get_int(o, "status_at");
    gl_utf8_copy(v->incident, sizeof v->incident, get_str(o, "incident"));
    uint64_t up = (uint64_t)get_int(o, "uplink_seq"), down = (uint64_t)get_int(o, "downlink_seq");
    vehicle_seq_raise(v, up);
    if (down > v->downlink_seq)
        v->downlink_seq = down;
    json_t *pend = json_object_get(o, "pending");
    v->npending = 0;
    size_t i;
    json_t *m;
    json_array_foreach(pend, i, m)
    {
        if (v->npending == VEHICLE_MAX_PENDING_DOWNLINK)
            break;
        downlink_msg_t *p = &v->pending[v->npending];
        const char *kind = get_str(m, "kind");
        memset(p, 0, sizeof *p);
        p->seq = (uint64_t)get_int(m, "seq");
        p->kind = kind && !strcmp(kind, "cancel")        ? DOWNLINK_CANCEL
                  : kind && !strcmp(kind, "destination") ? DOWNLINK_DESTINATION
                                                         : DOWNLINK_ASSIGNMENT;
        gl_utf8_copy(p->incident, sizeof p->incident, get_str(m, "incident"));
        gl_utf8_copy(p->hospital, sizeof p->hospital, get_str(m, "hospital"));
        gl_utf8_copy(p->reason, sizeof p->reason, get_str(m, "reason"));
        p->at_ms = get_int(m, "at");
        if (p->seq > v->downlink_acked)
            v->npending++;
    }
    return 0;
}

/* A vehicle provisioned (or re-keyed) through the API: its fixed data and its key. */
static int apply_vehicle_def(dispatch_t *d, json_t *o)
{
    const char *id = get_str(o, "id"), *kind = get_str(o, "kind"), *key = get_str(o, "seal_key");
    seal_key_t k;
    if (!id || !id[0] || strlen(id) >= FLEET_ID_LEN || !kind || !key ||
        seal_key_from_hex(key, &k) != 0)
        return GL_EPROTO;
    vehicle_t *v = fleet_find(d->fleet, id);
    if (!v) {
        vehicle_t t;
        memset(&t, 0, sizeof t);
        snprintf(t.id, sizeof t.id, "%s", id);
        t.status = VEHICLE_STATUS_AVAILABLE;
        t.stale = 1;
        int rc = fleet_add(d->fleet, &t, &v);
        if (rc)
            return rc;
    }
    gl_utf8_copy(v->call_sign, sizeof v->call_sign, get_str(o, "call_sign"));
    gl_utf8_copy(v->kind, sizeof v->kind, kind);
    gl_utf8_copy(v->station, sizeof v->station, get_str(o, "station"));
    v->ncaps = 0;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(o, "capabilities"), i, c)
    {
        if (v->ncaps < FLEET_MAX_CAPS && json_is_string(c))
            gl_utf8_copy(v->caps[v->ncaps++], sizeof v->caps[0], json_string_value(c));
    }
    memcpy(v->seal_key, k.k, sizeof v->seal_key);
    v->sealed = 1;
    sodium_memzero(k.k, sizeof k.k);
    return 0;
}

static hospital_t *find_hospital(dispatch_t *d, const char *id)
{
    for (size_t i = 0; id && i < d->nhospitals; i++)
        if (!strcmp(d->hospitals[i].id, id))
            return &d->hospitals[i];
    return NULL;
}

/* A hospital's live status (the fixed data comes from the database at start). */
static int apply_hospital(dispatch_t *d, json_t *o)
{
    hospital_t *h = find_hospital(d, get_str(o, "id"));
    if (!h)
        return 0; /* removed from the table since: nothing to update */
    h->cath_lab_ready = json_is_true(json_object_get(o, "cath_lab_ready"));
    h->ct_ready = json_is_true(json_object_get(o, "ct_ready"));
    h->on_diversion = json_is_true(json_object_get(o, "on_diversion"));
    return 0;
}

int dispatch_apply_record(dispatch_t *d, const char *payload, size_t len)
{
    json_error_t jerr;
    json_t *rec = json_loadb(payload, len, 0, &jerr);
    json_t *ops = json_object_get(rec, "ops");
    if (!json_is_array(ops)) {
        json_decref(rec);
        return GL_EPROTO;
    }
    int rc = 0;
    size_t i;
    json_t *op;
    json_array_foreach(ops, i, op)
    {
        const char *t = get_str(op, "t");
        if (!t)
            rc = GL_EPROTO;
        else if (!strcmp(t, "incident"))
            rc = apply_incident(d, op);
        else if (!strcmp(t, "event"))
            rc = apply_event(d, op);
        else if (!strcmp(t, "vehicle"))
            rc = apply_vehicle(d, op);
        else if (!strcmp(t, "vehicle_def"))
            rc = apply_vehicle_def(d, op);
        else if (!strcmp(t, "hospital"))
            rc = apply_hospital(d, op);
        else
            rc = apply_ext(d, t, op);
        if (rc)
            break;
    }
    json_decref(rec);
    return rc;
}

/* ---- notifications ------------------------------------------------------------------------ */

static void notify_incident(dispatch_t *d, const incident_t *inc, size_t events_before)
{
    if (d->hooks.timeline_added)
        for (size_t i = events_before; i < inc->nevents; i++)
            d->hooks.timeline_added(d->ctx, inc, &inc->events[i]);
    if (d->hooks.incident_changed)
        d->hooks.incident_changed(d->ctx, inc);
}

/* Keeps the unit's place in the road hierarchy in step: placed while available. */
static void place_on_roads(dispatch_t *d, const vehicle_t *v, int64_t now_ms)
{
    if (d->params.match.roads && v->has_fix)
        roads_unit_update(d->params.match.roads, v->slot,
                          v->status == VEHICLE_STATUS_AVAILABLE, v->lat, v->lon, now_ms);
}

static void notify_vehicle(dispatch_t *d, const vehicle_t *v)
{
    place_on_roads(d, v, gl_now_ms());
    if (d->hooks.vehicle_changed)
        d->hooks.vehicle_changed(d->ctx, v);
}

static void send_pending(dispatch_t *d, vehicle_t *v, int64_t now_ms)
{
    for (int i = 0; i < v->npending; i++) {
        const downlink_msg_t *m = &v->pending[i];
        if (d->hooks.send_downlink)
            d->hooks.send_downlink(d->ctx, v, m, incident_table_find(d->incidents, m->incident));
    }
    v->downlink_sent_ms = now_ms;
}

/* Queues a downlink message on the vehicle copy `nv` (written to the journal with it). */
static void queue_downlink(vehicle_t *nv, downlink_kind_t kind, const char *incident,
                           const char *reason, int64_t now_ms)
{
    if (nv->npending == VEHICLE_MAX_PENDING_DOWNLINK) {
        /* The unit has not acknowledged anything for a while; the oldest is superseded. */
        memmove(&nv->pending[0], &nv->pending[1], sizeof nv->pending[0] * (size_t)(nv->npending - 1));
        nv->npending--;
    }
    downlink_msg_t *m = &nv->pending[nv->npending++];
    memset(m, 0, sizeof *m);
    m->seq = ++nv->downlink_seq;
    m->kind = kind;
    m->at_ms = now_ms;
    gl_utf8_copy(m->incident, sizeof m->incident, incident);
    gl_utf8_copy(m->reason, sizeof m->reason, reason); /* the whole reason is in the event */
}

/* ---- calls and assignments ---------------------------------------------------------------- */

int dispatch_call_new(dispatch_t *d, const call_input_t *in, int64_t now_ms, incident_t **out,
                      char *err, size_t errlen)
{
    if (!geo_point_valid(in->lat, in->lon)) {
        snprintf(err, errlen, "lat/lon out of range");
        return GL_EINVAL;
    }
    if (in->priority < 1 || in->priority > 4) {
        snprintf(err, errlen, "priority must be 1 to 4");
        return GL_EINVAL;
    }
    if (in->caller && strlen(in->caller) >= sizeof((incident_t *)0)->caller) {
        snprintf(err, errlen, "caller number too long");
        return GL_EINVAL;
    }
    incident_t tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.day = gl_local_yyyymmdd(now_ms);
    tmp.day_seq = tmp.day == d->last_day ? d->last_day_seq + 1 : 1;
    if (tmp.day < d->last_day) /* the clock went back over midnight: keep numbers unique */
        tmp.day = d->last_day, tmp.day_seq = d->last_day_seq + 1;
    snprintf(tmp.id, sizeof tmp.id, "%08d-%04d", tmp.day, tmp.day_seq);
    tmp.created_ms = tmp.updated_ms = now_ms;
    tmp.lat = in->lat;
    tmp.lon = in->lon;
    tmp.complaint = in->complaint;
    tmp.priority = in->priority;
    tmp.onset_ms = in->onset_ms;
    gl_utf8_copy(tmp.caller, sizeof tmp.caller, in->caller);
    tmp.address = (char *)in->address;
    tmp.notes = (char *)in->notes;
    tmp.state = INCIDENT_STATE_NEW;
    if (in->priority == 1 && d->params.auto_assign_ms > 0)
        tmp.auto_assign_at_ms = now_ms + d->params.auto_assign_ms;
    if (in->ringing_ms && (in->ringing_ms > now_ms || now_ms - in->ringing_ms > 3600000)) {
        snprintf(err, errlen, "the phone cannot have rung after the call or an hour before it");
        return GL_EINVAL;
    }
    json_t *ops = json_array();
    ops_add(ops, incident_op(&tmp));
    int seq = 1;
    if (in->ringing_ms)
        ops_add(ops, event_op(&tmp, seq++, in->ringing_ms, "call_ringing",
                                            "operator", NULL, NULL));
    json_t *received = json_pack("{s:s,s:i}", "complaint", complaint_name(in->complaint),
                                 "priority", in->priority);
    if (in->triage)
        json_object_set(received, "triage", in->triage);
    ops_add(ops, event_op(&tmp, seq, now_ms, "call_received", "operator", NULL, received));
    int rc = commit(d, ops);
    if (rc) {
        snprintf(err, errlen, "cannot record the call: %s", gl_strerror(rc));
        return rc;
    }
    incident_t *inc = incident_table_find(d->incidents, tmp.id);
    LOG_INFO("dispatch", "inc=%s new call, %s priority %d", inc->id, complaint_name(inc->complaint),
             inc->priority);
    notify_incident(d, inc, 0);
    *out = inc;
    return 0;
}

int dispatch_candidates(dispatch_t *d, const incident_t *inc, int64_t now_ms, candidate_t *out)
{
    return match_rank(d->fleet, &d->params.match, inc->complaint, inc->lat, inc->lon, now_ms, out);
}

int dispatch_assign(dispatch_t *d, incident_t *inc, const char *vehicle_id, const char *source,
                    int automatic, int64_t now_ms, char *err, size_t errlen)
{
    vehicle_t *v = fleet_find(d->fleet, vehicle_id);
    if (!v) {
        snprintf(err, errlen, "no such vehicle");
        return GL_ENOENT;
    }
    incident_state_t next;
    if (incident_next_state(inc, INCIDENT_IN_ASSIGN, 0, &next)) {
        snprintf(err, errlen, "incident %s is %s: it can no longer be assigned", inc->id,
                 incident_state_name(inc->state));
        return GL_ESTATE;
    }
    if (!strcmp(inc->vehicle, v->id)) {
        snprintf(err, errlen, "%s is already assigned to %s", v->id, inc->id);
        return GL_ESTATE;
    }
    if (v->status != VEHICLE_STATUS_AVAILABLE && v->status != VEHICLE_STATUS_RETURNING) {
        snprintf(err, errlen, "%s is %s", v->id, vehicle_status_name(v->status));
        return GL_EUNAVAILABLE;
    }
    if (!match_capable(v, inc->complaint)) {
        snprintf(err, errlen, "%s lacks what %s needs (%s)", v->id, complaint_name(inc->complaint),
                 match_requirement(inc->complaint));
        return GL_ECAPABILITY;
    }
    /* The unit assigned before is stood down only if it still serves this call: it may be out
     * of service since, or already on another call. */
    vehicle_t *old = inc->vehicle[0] ? fleet_find(d->fleet, inc->vehicle) : NULL;
    if (old && strcmp(old->incident, inc->id) != 0)
        old = NULL;
    incident_t ni = *inc;
    vehicle_t nv = *v;
    ni.state = next;
    snprintf(ni.vehicle, sizeof ni.vehicle, "%s", v->id);
    ni.updated_ms = now_ms;
    ni.auto_assign_at_ms = 0;
    nv.status = VEHICLE_STATUS_DISPATCHED;
    nv.status_at_ms = now_ms;
    snprintf(nv.incident, sizeof nv.incident, "%s", inc->id);
    queue_downlink(&nv, DOWNLINK_ASSIGNMENT, inc->id, NULL, now_ms);

    json_t *ops = json_array();
    ops_add(ops, incident_op(&ni));
    json_t *detail = json_pack("{s:s}", "status", vehicle_status_name(nv.status));
    if (old)
        json_object_set_new(detail, "replaces", json_string(old->id));
    ops_add(ops, event_op(inc, (int)inc->nevents + 1, now_ms,
                                        automatic ? "auto_assigned" : "assigned", source, v->id,
                                        detail));
    ops_add(ops, vehicle_op(&nv));
    vehicle_t ov;
    if (old) {
        ov = *old;
        ov.status = VEHICLE_STATUS_AVAILABLE;
        ov.status_at_ms = now_ms;
        ov.incident[0] = '\0';
        queue_downlink(&ov, DOWNLINK_CANCEL, inc->id, "reassigned", now_ms);
        ops_add(ops, vehicle_op(&ov));
    }
    size_t before = inc->nevents;
    int rc = commit(d, ops);
    if (rc) {
        snprintf(err, errlen, "cannot record the assignment: %s", gl_strerror(rc));
        return rc;
    }
    LOG_INFO("dispatch", "inc=%s %s to veh=%s by %s", inc->id,
             automatic ? "auto-assigned" : "assigned", v->id, source);
    notify_incident(d, inc, before);
    send_pending(d, v, now_ms);
    notify_vehicle(d, v);
    if (old) {
        send_pending(d, old, now_ms);
        notify_vehicle(d, old);
    }
    return 0;
}

int dispatch_cancel(dispatch_t *d, incident_t *inc, const char *reason, const char *source,
                    int64_t now_ms, char *err, size_t errlen)
{
    incident_state_t next;
    if (incident_next_state(inc, INCIDENT_IN_CANCEL, 0, &next)) {
        snprintf(err, errlen, "incident %s is already %s", inc->id,
                 incident_state_name(inc->state));
        return GL_ESTATE;
    }
    if (inc->state == INCIDENT_STATE_ON_SCENE || inc->state == INCIDENT_STATE_TRANSPORTING ||
        inc->state == INCIDENT_STATE_AT_HOSPITAL) {
        /* Standing the unit down now would free an ambulance with a patient on board: the
         * incident closes when the crew reports back. */
        snprintf(err, errlen, "incident %s is %s: the crew is with the patient; it closes when "
                 "the unit reports back", inc->id, incident_state_name(inc->state));
        return GL_ESTATE;
    }
    vehicle_t *v = inc->vehicle[0] ? fleet_find(d->fleet, inc->vehicle) : NULL;
    incident_t ni = *inc;
    ni.state = next;
    ni.updated_ms = now_ms;
    ni.auto_assign_at_ms = 0;
    json_t *ops = json_array();
    ops_add(ops, incident_op(&ni));
    ops_add(ops, event_op(inc, (int)inc->nevents + 1, now_ms, "cancelled", source,
                                        v ? v->id : NULL,
                                        reason ? json_pack("{s:s}", "reason", reason) : NULL));
    /* The unit is stood down only if it still serves this incident (not if it has moved on). */
    int release = v && !strcmp(v->incident, inc->id);
    if (release) {
        vehicle_t nv = *v;
        nv.status = VEHICLE_STATUS_AVAILABLE;
        nv.status_at_ms = now_ms;
        nv.incident[0] = '\0';
        queue_downlink(&nv, DOWNLINK_CANCEL, inc->id, reason ? reason : "cancelled", now_ms);
        ops_add(ops, vehicle_op(&nv));
    }
    size_t before = inc->nevents;
    int rc = commit(d, ops);
    if (rc) {
        snprintf(err, errlen, "cannot record the cancel: %s", gl_strerror(rc));
        return rc;
    }
    LOG_INFO("dispatch", "inc=%s cancelled by %s", inc->id, source);
    notify_incident(d, inc, before);
    if (release) {
        send_pending(d, v, now_ms);
        notify_vehicle(d, v);
    }
    return 0;
}

int dispatch_add_event(dispatch_t *d, incident_t *inc, const char *kind, int64_t at_ms,
                       const char *source, json_t *detail, int64_t now_ms, char *err,
                       size_t errlen)
{
    if (!golden_event_kind_ok(kind)) {
        snprintf(err, errlen, "unknown event kind '%.40s' (see docs/golden-time.md)", kind);
        json_decref(detail);
        return GL_EINVAL;
    }
    if (at_ms > now_ms + 60000 || at_ms < inc->created_ms - 48LL * 3600 * 1000) {
        snprintf(err, errlen, "the event time is in the future or long before the call");
        json_decref(detail);
        return GL_EINVAL;
    }
    json_t *ops = json_array();
    ops_add(ops, event_op(inc, (int)inc->nevents + 1, at_ms, kind, source, NULL,
                                        detail));
    size_t before = inc->nevents;
    int rc = commit(d, ops);
    if (rc) {
        snprintf(err, errlen, "cannot record the event: %s", gl_strerror(rc));
        return rc;
    }
    LOG_INFO("dispatch", "inc=%s event %s by %s", inc->id, kind, source);
    notify_incident(d, inc, before);
    return 0;
}

int dispatch_ack_alert(dispatch_t *d, incident_t *inc, int alert_seq, const char *by,
                       int64_t now_ms, char *err, size_t errlen)
{
    if (alert_seq < 1 || (size_t)alert_seq > inc->nevents ||
        strcmp(inc->events[alert_seq - 1].kind, "golden_alert") != 0) {
        snprintf(err, errlen, "event %d of %s is not a golden-time alert", alert_seq, inc->id);
        return GL_ENOENT;
    }
    for (size_t i = 0; i < inc->nevents; i++) {
        if (strcmp(inc->events[i].kind, "alert_ack") || !inc->events[i].detail)
            continue;
        json_error_t jerr;
        json_t *dd = json_loads(inc->events[i].detail, 0, &jerr);
        int same = json_integer_value(json_object_get(dd, "alert")) == alert_seq;
        json_decref(dd);
        if (same) {
            snprintf(err, errlen, "alert %d was already acknowledged", alert_seq);
            return GL_EDUP;
        }
    }
    json_t *detail = json_pack("{s:i,s:s}", "alert", alert_seq, "by", by);
    if (!detail) {
        snprintf(err, errlen, "cannot describe the acknowledgement");
        return GL_EINVAL;
    }
    json_t *ops = json_array();
    ops_add(ops, event_op(inc, (int)inc->nevents + 1, now_ms, "alert_ack", "operator", NULL,
                          detail));
    size_t before = inc->nevents;
    int rc = commit(d, ops);
    if (rc) {
        snprintf(err, errlen, "cannot record the acknowledgement: %s", gl_strerror(rc));
        return rc;
    }
    LOG_INFO("dispatch", "inc=%s alert %d acknowledged by %s", inc->id, alert_seq, by);
    notify_incident(d, inc, before);
    return 0;
}

int dispatch_travel_s(dispatch_t *d, double lat1, double lon1, double lat2, double lon2,
                      double *out_s, int *by_road)
{
    *out_s = d->params.match.roads
                 ? roads_travel_s(d->params.match.roads, lat1, lon1, lat2, lon2)
                 : -1;
    *by_road = *out_s >= 0;
    double dist;
    if (*out_s < 0 &&
        geo_eta_seconds(&d->params.match.eta, lat1, lon1, lat2, lon2, out_s, &dist) != 0)
        return GL_EINVAL;
    return 0;
}

/* What destination.c would choose for `inc` now: 0 and *c, *road, or GL_ENOENT/GL_ENOMEM. */
static int compute_destination(dispatch_t *d, const incident_t *inc, int64_t now_ms,
                               destination_choice_t *c, int *road, char *err, size_t errlen)
{
    if (d->nhospitals == 0) {
        snprintf(err, errlen, "no hospital is known (hospitals table)");
        return GL_ENOENT;
    }
    double *t = malloc(d->nhospitals * sizeof *t);
    int *by_road = calloc(d->nhospitals, sizeof *by_road);
    if (!t || !by_road) {
        free(t);
        free(by_road);
        return GL_ENOMEM;
    }
    for (size_t i = 0; i < d->nhospitals; i++) {
        const hospital_t *h = &d->hospitals[i];
        if (dispatch_travel_s(d, inc->lat, inc->lon, h->lat, h->lon, &t[i], &by_road[i]) != 0)
            t[i] = -1;
    }
    *c = destination_choose(inc, d->hospitals, d->nhospitals, t, now_ms);
    *road = c->hospital >= 0 && by_road[c->hospital];
    free(t);
    free(by_road);
    if (c->hospital < 0) {
        snprintf(err, errlen, "%s", c->reason);
        return GL_ENOENT;
    }
    return 0;
}

/*
 * Records `h` as the destination of `inc` (event detail `detail`, stolen) and, when a unit
 * serves the incident, queues the Destination downlink for it in the same journal record, so
 * the crew is told exactly what the console shows, and told again until it acknowledges.
 */
static int record_destination(dispatch_t *d, incident_t *inc, const hospital_t *h,
                              const char *reason, json_t *detail, const char *source,
                              int64_t now_ms, char *err, size_t errlen)
{
    if (!detail) { /* the record would say nothing of where the patient goes */
        snprintf(err, errlen, "cannot describe the destination (out of memory, or bad text)");
        return GL_EINVAL;
    }
    int is_override = json_is_true(json_object_get(detail, "override")); /* (detail goes below) */
    vehicle_t *v = inc->vehicle[0] ? fleet_find(d->fleet, inc->vehicle) : NULL;
    if (v && strcmp(v->incident, inc->id) != 0)
        v = NULL; /* the unit has moved on (stood down, or already on another call) */
    json_t *ops = json_array();
    ops_add(ops, event_op(inc, (int)inc->nevents + 1, now_ms, "destination", source, inc->vehicle,
                          detail));
    if (v) {
        vehicle_t nv = *v;
        queue_downlink(&nv, DOWNLINK_DESTINATION, inc->id, reason, now_ms);
        gl_utf8_copy(nv.pending[nv.npending - 1].hospital,
                     sizeof nv.pending[nv.npending - 1].hospital, h->id);
        ops_add(ops, vehicle_op(&nv));
    }
    size_t before = inc->nevents;
    int rc = commit(d, ops);
    if (rc) {
        snprintf(err, errlen, "cannot record the destination: %s", gl_strerror(rc));
        return rc;
    }
    /* The reason is in the event; an operator's free text is not copied into the log. */
    LOG_INFO("dispatch", "inc=%s destination %s by %s%s", inc->id, h->id, source,
             is_override ? " (override)" : "");
    notify_incident(d, inc, before);
    if (v) {
        send_pending(d, v, now_ms);
        notify_vehicle(d, v);
    }
    return 0;
}

int dispatch_choose_destination(dispatch_t *d, incident_t *inc, const char *source,
                                int64_t now_ms, char *err, size_t errlen)
{
    destination_choice_t c;
    int road;
    int rc = compute_destination(d, inc, now_ms, &c, &road, err, errlen);
    if (rc)
        return rc;
    const hospital_t *h = &d->hospitals[c.hospital];
    return record_destination(d, inc, h, c.reason,
                              json_pack("{s:s,s:s,s:s,s:f,s:s}", "hospital", h->id, "name",
                                        h->name, "reason", c.reason, "eta_s", c.travel_s,
                                        "eta_method", road ? "road" : "straight_line"),
                              source, now_ms, err, errlen);
}

int dispatch_override_destination(dispatch_t *d, incident_t *inc, const char *hospital_id,
                                  const char *reason, const char *source, int64_t now_ms,
                                  char *err, size_t errlen)
{
    if (!reason || !reason[0]) {
        snprintf(err, errlen, "an override needs a reason");
        return GL_EINVAL;
    }
    if (strlen(reason) > DISPATCH_OVERRIDE_REASON_MAX) {
        snprintf(err, errlen, "the reason is longer than %d bytes", DISPATCH_OVERRIDE_REASON_MAX);
        return GL_EINVAL;
    }
    if (!incident_is_open(inc->state)) {
        snprintf(err, errlen, "the incident is %s", incident_state_name(inc->state));
        return GL_ESTATE;
    }
    const hospital_t *h = NULL;
    for (size_t i = 0; i < d->nhospitals && !h; i++)
        if (!strcmp(d->hospitals[i].id, hospital_id))
            h = &d->hospitals[i];
    if (!h) {
        snprintf(err, errlen, "no such hospital");
        return GL_ENOENT;
    }
    double eta;
    int road = 0;
    if (dispatch_travel_s(d, inc->lat, inc->lon, h->lat, h->lon, &eta, &road) != 0)
        eta = -1;
    char why[DISPATCH_OVERRIDE_REASON_MAX + 32];
    snprintf(why, sizeof why, "operator override: ");
    gl_utf8_copy(why + strlen(why), sizeof why - strlen(why), reason);
    json_t *detail = json_pack("{s:s,s:s,s:s,s:b,s:s}", "hospital", h->id, "name", h->name,
                               "reason", why, "override", 1, "eta_method",
                               road ? "road" : "straight_line");
    if (eta >= 0)
        json_object_set_new(detail, "eta_s", json_real(eta));
    /* What the rules would have chosen, for the record and the review afterwards. */
    destination_choice_t c;
    char e2[160];
    if (compute_destination(d, inc, now_ms, &c, &road, e2, sizeof e2) == 0)
        json_object_set_new(detail, "recommended", json_string(d->hospitals[c.hospital].id));
    if (h->on_diversion)
        json_object_set_new(detail, "on_diversion", json_true());
    return record_destination(d, inc, h, why, detail, source, now_ms, err, errlen);
}

/* The hospital of the latest destination event of `inc` into buf ("" if none); *override is
 * set when an operator chose it. */
static void current_destination(const incident_t *inc, char *buf, size_t len, int *override)
{
    buf[0] = '\0';
    *override = 0;
    for (size_t i = inc->nevents; i-- > 0;) {
        if (strcmp(inc->events[i].kind, "destination") || !inc->events[i].detail)
            continue;
        json_error_t jerr;
        json_t *dd = json_loads(inc->events[i].detail, 0, &jerr);
        gl_utf8_copy(buf, len, json_string_value(json_object_get(dd, "hospital")));
        *override = json_is_true(json_object_get(dd, "override"));
        json_decref(dd);
        return;
    }
}

int dispatch_hospital_status(dispatch_t *d, const char *hospital_id, int cath_lab_ready,
                             int ct_ready, int on_diversion, const char *source, int64_t now_ms,
                             char *err, size_t errlen)
{
    hospital_t *h = find_hospital(d, hospital_id);
    if (!h) {
        snprintf(err, errlen, "no such hospital");
        return GL_ENOENT;
    }
    hospital_t n = *h;
    int was_on_diversion = h->on_diversion;
    if (cath_lab_ready >= 0)
        n.cath_lab_ready = cath_lab_ready;
    if (ct_ready >= 0)
        n.ct_ready = ct_ready;
    if (on_diversion >= 0)
        n.on_diversion = on_diversion;
    json_t *ops = json_array();
    ops_add(ops, json_pack("{s:s,s:s,s:b,s:b,s:b,s:s}", "t", "hospital", "id", n.id,
                           "cath_lab_ready", n.cath_lab_ready, "ct_ready", n.ct_ready,
                           "on_diversion", n.on_diversion, "source", source));
    int rc = commit(d, ops);
    if (rc) {
        snprintf(err, errlen, "cannot record the status: %s", gl_strerror(rc));
        return rc;
    }
    LOG_INFO("dispatch", "hospital %s: cath lab %s, CT %s, %s", n.id,
             n.cath_lab_ready ? "ready" : "not ready", n.ct_ready ? "ready" : "not ready",
             n.on_diversion ? "ON DIVERSION" : "open");
    /* Patients on their way there: choose again if the choice changes. An operator's choice
     * stands unless the hospital goes on diversion. */
    for (size_t i = 0; i < incident_table_count(d->incidents); i++) {
        incident_t *inc = incident_table_at(d->incidents, i);
        char dest[40], e2[200];
        int override;
        if (!incident_is_open(inc->state) || inc->state == INCIDENT_STATE_AT_HOSPITAL)
            continue;
        current_destination(inc, dest, sizeof dest, &override);
        /* (an operator may have chosen it knowing it was on diversion: only going on
         * diversion now undoes that) */
        if (strcmp(dest, n.id) != 0 || (override && !(n.on_diversion && !was_on_diversion)))
            continue;
        destination_choice_t c;
        int road;
        if (compute_destination(d, inc, now_ms, &c, &road, e2, sizeof e2) != 0) {
            LOG_WARN("dispatch", "inc=%s destination %s changed status; none other: %s",
                     inc->id, n.id, e2);
            continue;
        }
        if (!strcmp(d->hospitals[c.hospital].id, n.id))
            continue; /* still the right place */
        if (dispatch_choose_destination(d, inc, "dispatcher", now_ms, e2, sizeof e2) != 0)
            LOG_WARN("dispatch", "inc=%s new destination not recorded: %s", inc->id, e2);
    }
    return 0;
}

/* Raises the golden-time alerts that are due for `inc`, each once (as a timeline event). */
static void golden_alerts(dispatch_t *d, incident_t *inc, int64_t now_ms)
{
    for (size_t i = 0; i < d->nmetrics; i++) {
        const golden_metric_t *m = &d->metrics[i];
        golden_clock_t c = golden_evaluate(m, inc, now_ms);
        int level = golden_alert_due(m, inc, &c);
        if (!level)
            continue;
        json_t *ops = json_array();
        ops_add(
            ops, event_op(inc, (int)inc->nevents + 1, now_ms, "golden_alert", "dispatcher", NULL,
                          json_pack("{s:s,s:s,s:I,s:I}", "metric", m->name, "level",
                                    level == 2 ? "breach" : "warning", "elapsed_s",
                                    (json_int_t)(c.elapsed_ms / 1000), "target_s",
                                    (json_int_t)(m->target_ms / 1000))));
        size_t before = inc->nevents;
        if (commit(d, ops) != 0)
            return;
        LOG_WARN("golden", "inc=%s %s %s: %" PRId64 " s of %" PRId64, inc->id, m->name,
                 level == 2 ? "breached" : "warning", c.elapsed_ms / 1000, m->target_ms / 1000);
        notify_incident(d, inc, before);
    }
}

int dispatch_vehicle_define(dispatch_t *d, const vehicle_def_t *def, char *key_hex, char *err,
                            size_t errlen)
{
    if (!def->id || !def->id[0] || strlen(def->id) > SEAL_ID_MAX) {
        snprintf(err, errlen, "a vehicle id is 1 to %d bytes", SEAL_ID_MAX);
        return GL_EINVAL;
    }
    for (const char *p = def->id; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_')) {
            snprintf(err, errlen, "a vehicle id is letters, digits, '-' and '_'");
            return GL_EINVAL;
        }
    if (!def->kind || (strcmp(def->kind, "ALS") && strcmp(def->kind, "BLS"))) {
        snprintf(err, errlen, "kind must be ALS or BLS");
        return GL_EINVAL;
    }
    if (def->ncaps > FLEET_MAX_CAPS) {
        snprintf(err, errlen, "at most %d capabilities", FLEET_MAX_CAPS);
        return GL_EINVAL;
    }
    seal_key_t k;
    if (seal_key_generate(&k) != 0) {
        snprintf(err, errlen, "no random key could be drawn");
        return GL_EIO;
    }
    seal_key_to_hex(&k, key_hex);
    sodium_memzero(k.k, sizeof k.k);
    json_t *caps = json_array();
    for (size_t i = 0; i < def->ncaps; i++)
        json_array_append_new(caps, json_string(def->caps[i]));
    json_t *op = json_pack("{s:s,s:s,s:s,s:s?,s:s?,s:o,s:s}", "t", "vehicle_def", "id", def->id,
                           "kind", def->kind, "call_sign", def->call_sign, "station",
                           def->station, "capabilities", caps, "seal_key", key_hex);
    json_t *ops = json_array();
    ops_add(ops, op);
    int rc = commit(d, ops);
    if (rc) {
        sodium_memzero(key_hex, SEAL_KEY_HEX_LEN);
        snprintf(err, errlen, "cannot record the vehicle: %s", gl_strerror(rc));
        return rc;
    }
    vehicle_t *v = fleet_find(d->fleet, def->id);
    LOG_INFO("dispatch", "veh=%s provisioned with a new key", def->id);
    if (v)
        notify_vehicle(d, v);
    return 0;
}

/* ---- the uplink --------------------------------------------------------------------------- */

int dispatch_uplink_begin(dispatch_t *d, const char *vehicle_id, uint64_t seq, int is_fix,
                          vehicle_t **out)
{
    vehicle_t *v = fleet_find(d->fleet, vehicle_id);
    if (!v) {
        d->stats.uplink_unknown_vehicle++;
        return GL_ENOENT;
    }
    *out = v;
    /* A fix not yet durable may come again after a crash that lost it from memory while a
     * later status was journaled: history takes it (PostGIS stores a fix once). Only those:
     * anything this process has taken itself is a duplicate, or a replay. */
    int maybe_lost = is_fix && seq > v->durable_seq && seq <= v->restored_seq;
    if (vehicle_seq_seen(v, seq) && !maybe_lost) {
        d->stats.uplink_duplicate++;
        return GL_EDUP;
    }
    if (!vehicle_seq_fits(v, seq)) {
        d->stats.uplink_deferred++; /* too far ahead of a hole: the unit sends it again */
        return GL_EAGAIN;
    }
    d->stats.uplink_accepted++;
    return 0;
}

static void mark_processed(vehicle_t *v, uint64_t seq)
{
    vehicle_seq_mark(v, seq);
}

gps_verdict_t dispatch_uplink_fix(dispatch_t *d, vehicle_t *v, uint64_t seq, double lat,
                                  double lon, int64_t fix_ms, float speed, float heading,
                                  float hdop, int64_t now_ms)
{
    gps_verdict_t verdict = gps_check(&v->gps, lat, lon, fix_ms, now_ms);
    d->stats.fixes[verdict]++;
    switch (verdict) {
    case GPS_OK:
        fleet_set_position(d->fleet, v, lat, lon, fix_ms, now_ms, speed, heading);
        place_on_roads(d, v, now_ms);
        if (v->stale) {
            v->stale = 0;
            notify_vehicle(d, v);
        }
        /* good and late fixes both belong in the history */
        __attribute__((fallthrough));
    case GPS_LATE:
        if (d->hooks.position && d->hooks.position(d->ctx, v, seq, lat, lon, fix_ms, now_ms,
                                                   speed, heading, hdop, verdict == GPS_LATE)) {
            /* No room for the history (a long database outage): not processed, so the
             * acknowledgement stops below it and the unit sends it again. */
            d->stats.uplink_deferred++;
            return verdict;
        }
        break;
    default: {
        unsigned long suppressed = 0;
        if (gl_log_burst_allow(&d->gps_burst, now_ms, 10000, &suppressed))
            LOG_WARN("gps", "veh=%s seq=%" PRIu64 " fix refused: %s (%lu more refused fixes "
                     "since the last line)",
                     v->id, seq, gps_verdict_name(verdict), suppressed);
        break;
    }
    }
    mark_processed(v, seq);
    return verdict;
}

int dispatch_uplink_status(dispatch_t *d, vehicle_t *v, uint64_t seq, vehicle_status_t st,
                           const char *incident_id, int64_t at_ms, int64_t now_ms)
{
    const char *why = NULL;
    incident_t *inc = v->incident[0] ? incident_table_find(d->incidents, v->incident) : NULL;
    incident_state_t next = 0;
    if (st == v->status) {
        mark_processed(v, seq);
        return 0; /* the crew pressed the same button twice: nothing changes */
    }
    if (!vehicle_status_transition_ok(v->status, st))
        why = "illegal for the unit";
    else if (incident_id && incident_id[0] && (!inc || strcmp(incident_id, inc->id) != 0))
        why = "about an incident the unit no longer serves";
    else if (inc && incident_is_open(inc->state) &&
             incident_next_state(inc, INCIDENT_IN_UNIT_STATUS, st, &next) &&
             st != VEHICLE_STATUS_OUT_OF_SERVICE)
        why = "illegal for the incident";
    if (why) {
        mark_processed(v, seq);
        d->stats.status_refused++;
        unsigned long suppressed = 0;
        if (gl_log_burst_allow(&d->status_burst, now_ms, 10000, &suppressed))
            LOG_WARN("dispatch", "veh=%s seq=%" PRIu64 " status %s -> %s refused: %s", v->id, seq,
                     vehicle_status_name(v->status), vehicle_status_name(st), why);
        return GL_ESTATE;
    }
    /* A unit clock far off the dispatcher's is not trusted with the golden-time record. */
    int64_t skew = 0;
    if (at_ms > now_ms + DISPATCH_MAX_CLOCK_SKEW_MS || at_ms < now_ms - DISPATCH_MAX_CLOCK_SKEW_MS) {
        /* saturated: a unit may send any 64-bit value */
        skew = at_ms > now_ms ? (at_ms - now_ms > INT64_MAX / 2 ? INT64_MAX / 2 : at_ms - now_ms)
                              : (now_ms - at_ms > INT64_MAX / 2 ? -(INT64_MAX / 2) : at_ms - now_ms);
        LOG_WARN("dispatch", "veh=%s clock off by %" PRId64 " s: status time replaced by the "
                 "receive time", v->id, skew / 1000);
        at_ms = now_ms;
    }
    vehicle_t nv = *v;
    nv.status = st;
    nv.status_at_ms = at_ms;
    vehicle_seq_mark(&nv, seq); /* journaled with the change: a resend after a restart is a dup */
    json_t *ops = json_array();
    int open = inc && incident_is_open(inc->state);
    int touches_incident = open && st != VEHICLE_STATUS_OUT_OF_SERVICE;
    size_t before = inc ? inc->nevents : 0;
    if (open && st == VEHICLE_STATUS_OUT_OF_SERVICE) {
        json_t *detail = json_pack("{s:s}", "status", vehicle_status_name(st));
        if (inc->state == INCIDENT_STATE_DISPATCHED || inc->state == INCIDENT_STATE_EN_ROUTE) {
            /* The unit stood down before reaching the patient: the call needs another unit
             * now, and a priority-1 call is auto-assigned again at once. */
            incident_t ni = *inc;
            ni.state = INCIDENT_STATE_NEW;
            ni.vehicle[0] = '\0';
            ni.updated_ms = now_ms;
            ni.auto_assign_at_ms = inc->priority == 1 && d->params.auto_assign_ms > 0 ? now_ms : 0;
            ops_add(ops, event_op(inc, (int)inc->nevents + 1, at_ms, "unit_withdrawn", "unit",
                                  v->id, detail));
            ops_add(ops, incident_op(&ni));
            nv.incident[0] = '\0';
            LOG_WARN("dispatch", "inc=%s veh=%s went out of service before the scene: the call "
                     "is open again", inc->id, v->id);
        } else {
            /* With the patient (a breakdown in transport, say): the timeline says so, the
             * unit keeps its patient and its incident. */
            ops_add(ops, event_op(inc, (int)inc->nevents + 1, at_ms, "status", "unit", v->id,
                                  detail));
        }
    }
    if (touches_incident) {
        incident_t ni = *inc;
        ni.state = next;
        ni.updated_ms = now_ms;
        json_t *detail = json_pack("{s:s}", "status", vehicle_status_name(st));
        if (skew)
            json_object_set_new(detail, "clock_skew_ms", json_integer(skew));
        ops_add(ops, event_op(inc, (int)inc->nevents + 1, at_ms, "status", "unit",
                                            v->id, detail));
        if (next == INCIDENT_STATE_CLOSED)
            ops_add(ops, event_op(inc, (int)inc->nevents + 2, at_ms, "closed",
                                                "dispatcher", v->id, NULL));
        ops_add(ops, incident_op(&ni));
    }
    if (st == VEHICLE_STATUS_AVAILABLE ||
        (inc && (!incident_is_open(inc->state) || next == INCIDENT_STATE_CLOSED)))
        nv.incident[0] = '\0';
    ops_add(ops, vehicle_op(&nv));
    int rc = commit(d, ops);
    if (rc)
        return rc; /* not processed: the unit sends it again */
    mark_processed(v, seq);
    LOG_INFO("dispatch", "veh=%s status %s", v->id, vehicle_status_name(st));
    int64_t at;
    if (touches_incident && st == VEHICLE_STATUS_ON_SCENE && d->nhospitals &&
        !golden_find_event(inc, "destination", &at)) {
        char err[200]; /* the crew reached the patient: where they go next */
        if (dispatch_choose_destination(d, inc, "dispatcher", now_ms, err, sizeof err) != 0)
            LOG_WARN("dispatch", "inc=%s no destination: %s", inc->id, err);
    }
    if (inc && inc->nevents > before)
        notify_incident(d, inc, before);
    notify_vehicle(d, v);
    return 0;
}

void dispatch_uplink_ack(dispatch_t *d, vehicle_t *v, uint64_t seq, uint64_t up_to)
{
    mark_processed(v, seq);
    if (up_to > v->downlink_seq)
        return; /* acknowledges something never sent: ignore */
    if (up_to > v->downlink_acked)
        v->downlink_acked = up_to;
    int keep = 0;
    for (int i = 0; i < v->npending; i++)
        if (v->pending[i].seq > up_to)
            v->pending[keep++] = v->pending[i];
    v->npending = keep;
}

void dispatch_uplink_durable(dispatch_t *d, vehicle_t *v, uint64_t seq)
{
    if (seq > v->durable_seq)
        v->durable_seq = seq;
    if (v->durable_seq > v->acked_seq) {
        v->acked_seq = v->durable_seq;
        if (d->hooks.send_ack)
            d->hooks.send_ack(d->ctx, v);
    }
}

/* The incident vitals belong to: the one named, if the unit serves or served it, else the one
 * the unit serves now ("" if none). Vitals are never dropped for a wrong incident id: they
 * are the patient's, whatever the crew's tablet said. */
static const char *vitals_incident(dispatch_t *d, const vehicle_t *v, const char *named)
{
    if (named && named[0] && incident_table_find(d->incidents, named))
        return incident_table_find(d->incidents, named)->id;
    return v->incident;
}

static int deferred(dispatch_t *d, vehicle_t *v, uint64_t seq)
{
    (void)v;
    (void)seq; /* not marked processed: the acknowledgement stops below it */
    d->stats.uplink_deferred++;
    return GL_EAGAIN;
}

int dispatch_uplink_vitals(dispatch_t *d, vehicle_t *v, uint64_t seq, const char *incident_id,
                           const vital_reading_t *r, size_t n, int64_t now_ms)
{
    if (d->hooks.vitals &&
        d->hooks.vitals(d->ctx, v, seq, vitals_incident(d, v, incident_id), r, n, now_ms))
        return deferred(d, v, seq);
    d->stats.vitals_received += n;
    mark_processed(v, seq);
    return 0;
}

int dispatch_uplink_ecg(dispatch_t *d, vehicle_t *v, uint64_t seq, const char *incident_id,
                        const ecg_meta_t *m, const void *frame, size_t len, int64_t now_ms)
{
    if (d->hooks.ecg &&
        d->hooks.ecg(d->ctx, v, seq, vitals_incident(d, v, incident_id), m, frame, len, now_ms))
        return deferred(d, v, seq);
    d->stats.ecg_frames_received++;
    mark_processed(v, seq);
    return 0;
}

/* ---- periodic work ------------------------------------------------------------------------ */

void dispatch_mark_restored(dispatch_t *d)
{
    for (uint32_t s = 0; s < fleet_count(d->fleet); s++) {
        vehicle_t *v = fleet_at(d->fleet, s);
        v->restored_seq = v->uplink_seq;
    }
}

void dispatch_resend_pending(dispatch_t *d, int64_t now_ms)
{
    for (uint32_t s = 0; s < fleet_count(d->fleet); s++) {
        vehicle_t *v = fleet_at(d->fleet, s);
        if (v->npending)
            send_pending(d, v, now_ms);
    }
}

static void auto_assign(dispatch_t *d, incident_t *inc, int64_t now_ms)
{
    candidate_t cands[MATCH_MAX_CANDIDATES];
    int n = dispatch_candidates(d, inc, now_ms, cands);
    char err[160];
    for (int i = 0; i < n; i++)
        if (dispatch_assign(d, inc, cands[i].vehicle->id, "dispatcher", 1, now_ms, err,
                            sizeof err) == 0)
            return;
    LOG_WARN("dispatch", "inc=%s priority 1 unassigned and no unit can be auto-assigned; "
             "retrying in %d s", inc->id, AUTO_ASSIGN_RETRY_MS / 1000);
    inc->auto_assign_at_ms = now_ms + AUTO_ASSIGN_RETRY_MS;
}

void dispatch_tick(dispatch_t *d, int64_t now_ms)
{
    for (size_t i = 0; i < incident_table_count(d->incidents); i++) {
        incident_t *inc = incident_table_at(d->incidents, i);
        if (inc->state == INCIDENT_STATE_NEW && inc->auto_assign_at_ms &&
            inc->auto_assign_at_ms <= now_ms)
            auto_assign(d, inc, now_ms);
        if (incident_is_open(inc->state))
            golden_alerts(d, inc, now_ms);
    }
    int newly_stale = 0;
    const char *first_stale = NULL;
    for (uint32_t s = 0; s < fleet_count(d->fleet); s++) {
        vehicle_t *v = fleet_at(d->fleet, s);
        int stale = fleet_is_stale(v, now_ms, d->params.match.stale_ms);
        if (stale != v->stale) {
            v->stale = stale;
            if (stale && newly_stale++ == 0)
                first_stale = v->id;
            notify_vehicle(d, v);
        }
        if (v->npending && now_ms - v->downlink_sent_ms >= d->params.downlink_resend_ms)
            send_pending(d, v, now_ms);
    }
    /* One line per tick, not one per unit: a network outage makes the whole fleet stale at
     * once. */
    if (newly_stale == 1)
        LOG_WARN("fleet", "veh=%s stale: no fix for %" PRId64 " s", first_stale,
                 d->params.match.stale_ms / 1000);
    else if (newly_stale > 1)
        LOG_WARN("fleet", "%d units stale (veh=%s and others): no fix for %" PRId64 " s",
                 newly_stale, first_stale, d->params.match.stale_ms / 1000);
}
