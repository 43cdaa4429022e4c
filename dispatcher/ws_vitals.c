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
#include "text.h"

#include <stdlib.h>
#include <string.h>

#define VITALS_MAX_PER_SESSION 256   /* patients one session watches at most */

typedef char incident_id_t[40];

struct vitals_sub {
    int all;                         /* every patient the session may see... */
    incident_id_t *skip;             /* ...but these (unsubscribed one by one) */
    size_t nskip;
    incident_id_t *want;             /* or these */
    size_t nwant;
    incident_id_t *live;             /* what it receives now */
    size_t nlive;
    unsigned long long numerics_sent;
};

static struct vitals_sub *sub_of(struct session *s)
{
    if (!s->vitals) {
        struct vitals_sub *v = calloc(1, sizeof *v);
        if (!v)
            return NULL;
        v->want = calloc(VITALS_MAX_PER_SESSION, sizeof *v->want);
        v->live = calloc(VITALS_MAX_PER_SESSION, sizeof *v->live);
        v->skip = calloc(VITALS_MAX_PER_SESSION, sizeof *v->skip);
        if (!v->want || !v->live || !v->skip) {
            free(v->want);
            free(v->live);
            free(v->skip);
            free(v);
            return NULL;
        }
        s->vitals = v;
    }
    return s->vitals;
}

void ws_vitals_session_end(struct session *s)
{
    if (!s->vitals)
        return;
    free(s->vitals->want);
    free(s->vitals->live);
    free(s->vitals->skip);
    free(s->vitals);
    s->vitals = NULL;
}

static int find_id(const incident_id_t *ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ids[i], id))
            return (int)i;
    return -1;
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
           ((v->all && find_id(v->skip, v->nskip, inc->id) < 0) ||
            find_id(v->want, v->nwant, inc->id) >= 0) &&
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

/* The session starts receiving `inc`: audit row, then the latest numerics and the last 10 s. */
static void start(ws_t *w, struct session *s, const incident_t *inc)
{
    struct vitals_sub *v = s->vitals;
    if (v->nlive == VITALS_MAX_PER_SESSION)
        return;
    gl_utf8_copy(v->live[v->nlive++], sizeof(incident_id_t), inc->id);
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
    memcpy(v->live[i], v->live[--v->nlive], sizeof(incident_id_t));
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
        int live = find_id(s->vitals->live, s->vitals->nlive, inc->id);
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
        int live = find_id(s->vitals->live, s->vitals->nlive, inc->id);
        int ok = wants(s, inc);
        if (live >= 0 && !ok)
            stop(w, s, live, inc->id, stop_reason(inc));
        else if (live < 0 && ok && has_stream)
            start(w, s, inc);
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
        if (s->vitals && find_id(s->vitals->live, s->vitals->nlive, inc->id) < 0 &&
            wants(s, inc) && relay_backlog_frames(w->relay, inc->id) > 0)
            start(w, s, inc);
    }
}

static json_t *live_list(const struct session *s)
{
    json_t *arr = json_array();
    for (size_t i = 0; s->vitals && i < s->vitals->nlive; i++)
        json_array_append_new(arr, json_string(s->vitals->live[i]));
    return arr;
}

json_t *ws_vitals_request(ws_t *w, struct session *s, const char *op, json_t *req, json_t *id)
{
    const char *inc_id = json_string_value(json_object_get(req, "incident"));
    json_t *jid = id ? id : json_null();
    if (!strcmp(op, "vitals.stats")) {
        const outq_t *q = &s->q;
        return json_pack("{s:O,s:b,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:o}}", "id", jid, "ok", 1,
                         "result", "frames_sent", (json_int_t)q->count.frames_sent,
                         "frames_dropped", (json_int_t)q->count.frames_dropped, "gaps_sent",
                         (json_int_t)q->count.gaps_sent, "numerics_sent",
                         (json_int_t)(s->vitals ? s->vitals->numerics_sent : 0),
                         "queued_frames", (json_int_t)q->waves, "queued_bytes",
                         (json_int_t)q->bytes, "incidents", live_list(s));
    }
    if (!strcmp(op, "vitals.unsubscribe")) {
        struct vitals_sub *v = s->vitals;
        for (size_t i = v ? v->nlive : 0; i-- > 0;)
            if (!inc_id || !strcmp(v->live[i], inc_id)) {
                char gone[40];
                gl_utf8_copy(gone, sizeof gone, v->live[i]);
                stop(w, s, (int)i, gone, "unsubscribed");
            }
        if (v && !inc_id) {
            v->all = 0;
            v->nwant = v->nskip = 0;
        } else if (v) {
            int i = find_id(v->want, v->nwant, inc_id);
            if (i >= 0)
                memcpy(v->want[i], v->want[--v->nwant], sizeof(incident_id_t));
            /* watching everyone: this one stays off until subscribed again by name */
            if (v->all && find_id(v->skip, v->nskip, inc_id) < 0 &&
                v->nskip < VITALS_MAX_PER_SESSION)
                gl_utf8_copy(v->skip[v->nskip++], sizeof(incident_id_t), inc_id);
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
            int k = find_id(v->skip, v->nskip, inc_id);
            if (k >= 0)
                memcpy(v->skip[k], v->skip[--v->nskip], sizeof(incident_id_t));
            if (find_id(v->want, v->nwant, inc_id) < 0) {
                if (v->nwant == VITALS_MAX_PER_SESSION)
                    return api_error(id, GL_ENOSPC, "watching too many patients");
                gl_utf8_copy(v->want[v->nwant++], sizeof(incident_id_t), inc_id);
            }
        } else {
            v->all = 1;
            v->nskip = 0;
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
