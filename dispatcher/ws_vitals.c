/*
 * Live vitals and 12-lead ECG to the receiving emergency department ("上车即入院": the hospital
 * sees the patient before the patient arrives), over the sessions of ws.c.
 *
 * A session asks with vitals.subscribe, for one incident or for every patient it may see. Who
 * may see a patient is decided here, on every frame, from the incident as it is now: an ED user
 * the patients whose destination is its hospital, a supervisor or admin every patient, nobody
 * else. So when the destination changes the stream moves by itself: the old hospital's sessions
 * get "vitals.stop", the new one's start with the last 10 s (relay.h). A session that starts
 * receiving a patient writes an audit row. Frames go to each session's bounded queue (outq.h):
 * a slow screen loses its oldest waveform, marked as a gap, and nothing else.
 *
 * Nothing here logs a value or a name: only incident ids and counts.
 */
#include "ws_internal.h"

#include "err.h"
#include "idlist.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>

/* Patients one session may name or receive at once. A county has tens of patients on the road
 * at the busiest; the bound keeps a misbehaving client from growing the lists without end. */
#define VITALS_MAX_PER_SESSION 4096

struct vitals_sub {
    int all;                         /* every patient the session may see... */
    idlist_t skip;                   /* ...but these (unsubscribed one by one, or refused) */
    idlist_t want;                   /* or these */
    idlist_t live;                   /* what it receives now */
    unsigned long long numerics_sent;
    unsigned long long refused;      /* streams not started: the session had too many */
};

static struct vitals_sub *sub_of(struct session *s)
{
    if (!s->vitals && (s->vitals = calloc(1, sizeof *s->vitals))) {
        idlist_init(&s->vitals->skip, VITALS_MAX_PER_SESSION);
        idlist_init(&s->vitals->want, VITALS_MAX_PER_SESSION);
        idlist_init(&s->vitals->live, VITALS_MAX_PER_SESSION);
    }
    return s->vitals;
}

void ws_vitals_session_end(struct session *s)
{
    if (!s->vitals)
        return;
    idlist_free(&s->vitals->want);
    idlist_free(&s->vitals->live);
    idlist_free(&s->vitals->skip);
    free(s->vitals);
    s->vitals = NULL;
}

/* Whether the session's user may see this patient's data now. */
static int may_see(const struct session *s, const incident_t *inc)
{
    if (!incident_is_open(inc->state))
        return 0;
    switch (s->who.role) {
    case AUTH_ROLE_ED:
        return inc->destination[0] && s->who.hospital[0] &&
               !strcmp(inc->destination, s->who.hospital);
    case AUTH_ROLE_SUPERVISOR:
    case AUTH_ROLE_ADMIN:
        return 1;
    default:
        return 0;
    }
}

static int wants(const struct session *s, const incident_t *inc)
{
    const struct vitals_sub *v = s->vitals;
    return v && !s->close_after_write &&
           ((v->all && idlist_find(&v->skip, inc->id) < 0) ||
            idlist_find(&v->want, inc->id) >= 0) &&
           may_see(s, inc);
}

static void push_backlog(void *ctx, outq_buf_t *b, const outq_wave_id_t *id)
{
    struct session *s = ctx;
    if (id) {
        if (outq_push_wave(&s->q, b, id) == 0)
            lws_callback_on_writable(s->wsi);
    } else if (ws_send_text(s, b) == 0) {
        s->vitals->numerics_sent++;
    }
}

/* The session starts receiving `inc`: audit row, then the latest numerics and the last 10 s.
 * A session that already receives as many patients as it may is told so, once per patient (the
 * patient is put on its skip list, so it is not asked again at every frame). */
static void start(ws_t *w, struct session *s, const incident_t *inc)
{
    struct vitals_sub *v = s->vitals;
    int rc = idlist_add(&v->live, inc->id);
    if (rc == GL_ENOMEM)
        return; /* tried again with the next message; the session's lists stay as they are */
    if (rc != 0) {
        v->refused++;
        idlist_remove(&v->want, inc->id);
        if (idlist_find(&v->skip, inc->id) < 0) /* (if that is full too: refused again later) */
            (void)idlist_add(&v->skip, inc->id);
        LOG_WARN("ws", "session %u: receives %zu patients: the stream of %s is not started",
                 s->id, v->live.n, inc->id);
        json_t *ev = json_pack("{s:s,s:s,s:s}", "event", "vitals.refused", "incident", inc->id,
                               "reason", "too_many_patients");
        if (ev)
            ws_send_json(s, ev);
        json_decref(ev);
        return;
    }
    w->relay_stats.streams_started++;
    LOG_INFO("audit", "session %u: %s receives the live data of %s", s->id, ws_actor_of(s),
             inc->id);
    ws_audit(w, s, ws_actor_of(s), "vitals.stream", inc->id, NULL);
    relay_backlog(w->relay, inc->id, push_backlog, s);
}

static void stop(ws_t *w, struct session *s, int i, const char *incident, const char *reason)
{
    struct vitals_sub *v = s->vitals;
    /* what was queued for a slow screen is withdrawn too: the patient's data stops here now */
    outq_drop_stream(&s->q, incident);
    json_t *ev = json_pack("{s:s,s:s,s:s}", "event", "vitals.stop", "incident", incident,
                           "reason", reason);
    if (ev)
        ws_send_json(s, ev);
    json_decref(ev);
    idlist_remove_at(&v->live, i);
    w->relay_stats.streams_stopped++;
}

static const char *stop_reason(const incident_t *inc)
{
    return incident_is_open(inc->state) ? "destination_changed" : "closed";
}

/* The unit that sends is the one assigned: another unit cannot push data into this patient. */
static int from_assigned_unit(const vehicle_t *v, const incident_t *inc)
{
    return inc && v && !strcmp(inc->vehicle, v->id);
}

/*
 * One relayed message of `inc` (a frame with its `id`, or numerics: id NULL) to every session
 * that watches the patient; a session that may no longer see it is told the stream stopped, one
 * that may now see it starts with the backlog (which already ends with this message).
 */
static void fan_out(ws_t *w, const incident_t *inc, outq_buf_t *b, const outq_wave_id_t *id)
{
    for (struct session *s = w->sessions; s; s = s->next) {
        if (!s->vitals)
            continue;
        int live = idlist_find(&s->vitals->live, inc->id);
        if (!wants(s, inc)) {
            if (live >= 0)
                stop(w, s, live, inc->id, stop_reason(inc));
        } else if (live < 0) {
            start(w, s, inc);
        } else if (id) {
            if (outq_push_wave(&s->q, b, id) == 0)
                lws_callback_on_writable(s->wsi);
        } else if (ws_send_text(s, b) == 0) {
            s->vitals->numerics_sent++;
        }
    }
}

void ws_vitals_ecg(ws_t *w, const vehicle_t *v, const incident_t *inc, const ecg_meta_t *m)
{
    if (!w)
        return;
    w->relay_stats.frames_in++;
    /* (a closed incident's stream was forgotten: late frames must not bring it back) */
    if (!from_assigned_unit(v, inc) || !incident_is_open(inc->state) || !m->decoded) {
        w->relay_stats.not_relayed++;
        return;
    }
    outq_buf_t *b;
    outq_wave_id_t id;
    int rc = relay_ecg(w->relay, inc->id, v->id, m->decoded, m->sent_at_ms, &b, &id);
    if (rc) {
        w->relay_stats.malformed += rc == GL_EPROTO;
        w->relay_stats.resent += rc == GL_EDUP;
        return;
    }
    fan_out(w, inc, b, &id);
    outq_buf_unref(b);
}

void ws_vitals_numerics(ws_t *w, const vehicle_t *v, const incident_t *inc,
                        const vital_reading_t *r, size_t n)
{
    if (!w)
        return;
    w->relay_stats.numerics_in++;
    if (!from_assigned_unit(v, inc) || !incident_is_open(inc->state)) {
        w->relay_stats.not_relayed++;
        return;
    }
    outq_buf_t *b;
    int rc = relay_numerics(w->relay, inc->id, v->id, r, n, &b);
    if (rc) {
        w->relay_stats.resent += rc == GL_EDUP;
        return;
    }
    fan_out(w, inc, b, NULL);
    outq_buf_unref(b);
}

void ws_vitals_incident(ws_t *w, const incident_t *inc)
{
    if (!w)
        return;
    int has_stream = relay_backlog_frames(w->relay, inc->id) > 0;
    for (struct session *s = w->sessions; s; s = s->next) {
        if (!s->vitals)
            continue;
        int live = idlist_find(&s->vitals->live, inc->id);
        int ok = wants(s, inc);
        if (live >= 0 && !ok)
            stop(w, s, live, inc->id, stop_reason(inc));
        else if (live < 0 && ok && has_stream)
            start(w, s, inc);
        if (!incident_is_open(inc->state)) { /* a closed incident never streams again */
            idlist_remove(&s->vitals->want, inc->id);
            idlist_remove(&s->vitals->skip, inc->id);
        }
    }
    if (!incident_is_open(inc->state))
        relay_forget(w->relay, inc->id);
}

/* Starts every stream there is that the session may see and asked for. */
void ws_vitals_start_eligible(ws_t *w, struct session *s)
{
    incident_table_t *t = dispatch_incidents(w->api->d);
    for (size_t i = incident_table_count(t); i-- > 0;) {
        const incident_t *inc = incident_table_at(t, i);
        if (s->vitals && idlist_find(&s->vitals->live, inc->id) < 0 &&
            wants(s, inc) && relay_backlog_frames(w->relay, inc->id) > 0)
            start(w, s, inc);
    }
}

static json_t *live_list(const struct session *s)
{
    json_t *arr = json_array();
    for (size_t i = 0; s->vitals && i < s->vitals->live.n; i++)
        json_array_append_new(arr, json_string(s->vitals->live.a[i]));
    return arr;
}

json_t *ws_vitals_request(ws_t *w, struct session *s, const char *op, json_t *req, json_t *id)
{
    const char *inc_id = json_string_value(json_object_get(req, "incident"));
    json_t *jid = id ? id : json_null();
    if (!strcmp(op, "vitals.stats")) {
        const outq_t *q = &s->q;
        const struct vitals_sub *v = s->vitals;
        return json_pack("{s:O,s:b,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:I,s:I,s:I}}", "id", jid,
                         "ok", 1, "result", "frames_sent", (json_int_t)q->count.frames_sent,
                         "frames_dropped", (json_int_t)q->count.frames_dropped, "gaps_sent",
                         (json_int_t)q->count.gaps_sent, "numerics_sent",
                         (json_int_t)(v ? v->numerics_sent : 0), "queued_frames",
                         (json_int_t)q->waves, "queued_bytes", (json_int_t)q->bytes, "incidents",
                         live_list(s), "named", (json_int_t)(v ? v->want.n : 0), "left_out",
                         (json_int_t)(v ? v->skip.n : 0), "refused",
                         (json_int_t)(v ? v->refused : 0));
    }
    if (!strcmp(op, "vitals.unsubscribe")) {
        struct vitals_sub *v = s->vitals;
        /* Watching everyone, a patient unsubscribed by name is left out until subscribed again
         * by name: only a patient this user may see now, and only if there is room, checked
         * before anything is stopped. */
        int leave_out = 0;
        if (v && inc_id && v->all && idlist_find(&v->skip, inc_id) < 0) {
            const incident_t *inc = incident_table_find(dispatch_incidents(w->api->d), inc_id);
            if (inc && may_see(s, inc)) {
                if (v->skip.n >= VITALS_MAX_PER_SESSION)
                    return api_error(id, GL_ENOSPC, "too many patients left out");
                leave_out = 1;
            }
        }
        for (size_t i = v ? v->live.n : 0; i-- > 0;)
            if (!inc_id || !strcmp(v->live.a[i], inc_id)) {
                char gone[40];
                gl_utf8_copy(gone, sizeof gone, v->live.a[i]);
                stop(w, s, (int)i, gone, "unsubscribed");
            }
        if (v && !inc_id) {
            v->all = 0;
            v->want.n = v->skip.n = 0;
        } else if (v) {
            idlist_remove(&v->want, inc_id);
            if (leave_out && idlist_add(&v->skip, inc_id) != 0)
                return api_error(id, GL_ENOMEM, "out of memory");
        }
        return json_pack("{s:O,s:b,s:{}}", "id", jid, "ok", 1, "result");
    }
    if (!strcmp(op, "vitals.subscribe")) {
        if (s->who.role != AUTH_ROLE_ED && s->who.role != AUTH_ROLE_SUPERVISOR &&
            s->who.role != AUTH_ROLE_ADMIN)
            return api_error(id, GL_EACCES, "not permitted for your role");
        struct vitals_sub *v = sub_of(s);
        if (!v)
            return api_error(id, GL_ENOMEM, "out of memory");
        if (inc_id) {
            const incident_t *inc = incident_table_find(dispatch_incidents(w->api->d), inc_id);
            if (!inc || !may_see(s, inc))
                return api_error(id, GL_ENOENT, "no such incident");
            idlist_remove(&v->skip, inc_id);
            if (idlist_find(&v->want, inc_id) < 0 && idlist_add(&v->want, inc_id) != 0)
                return api_error(id, GL_ENOSPC, "watching too many patients");
        } else {
            v->all = 1;
            v->skip.n = 0;
        }
        /* What streams now; vitals.subscribe's reply goes first, then ws.c starts them. */
        json_t *arr = json_array();
        incident_table_t *t = dispatch_incidents(w->api->d);
        for (size_t i = 0; i < incident_table_count(t); i++) {
            const incident_t *inc = incident_table_at(t, i);
            if (wants(s, inc) && relay_backlog_frames(w->relay, inc->id) > 0)
                json_array_append_new(arr, json_string(inc->id));
        }
        return json_pack("{s:O,s:b,s:{s:o}}", "id", jid, "ok", 1, "result", "incidents", arr);
    }
    return api_error(id, GL_EINVAL, "unknown op");
}

void ws_vitals_check_sessions(ws_t *w, int64_t now_ms)
{
    if (!w || !w->api->auth)
        return;
    for (struct session *s = w->sessions; s; s = s->next) {
        if (!(s->vitals || s->subscribed) || !s->by_session || s->close_after_write)
            continue;
        if (!auth_session_alive(w->api->auth, s->session_token, now_ms)) {
            LOG_INFO("audit", "session %u: %s's session expired: patient data stops", s->id,
                     ws_actor_of(s));
            ws_vitals_session_end(s);
            s->subscribed = 0;
            s->close_after_write = 1;
            lws_callback_on_writable(s->wsi);
        }
    }
}

void ws_relay_get_stats(const ws_t *w, ws_relay_stats_t *out)
{
    memset(out, 0, sizeof *out);
    if (w)
        *out = w->relay_stats;
}
