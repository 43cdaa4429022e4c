/*
 * libwebsockets server: sessions, authentication, request/reply and pushed events (see ws.h).
 */
#include "ws_internal.h"

#include "access.h"
#include "err.h"
#include "log.h"
#include "timeutil.h"

#include <libwebsockets.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define RX_MAX (1024 * 1024)         /* largest request we reassemble */
#define RX_MAX_UNAUTHENTICATED 4096  /* before hello: a token fits, a flood does not */
#define LOGINS_IN_FLIGHT_MAX 2       /* password checks at once: each takes 64 MiB for ~0.1 s */

static void on_lws_log(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        n--;
    if (level & LLL_ERR)
        LOG_ERR("lws", "%.*s", (int)n, line);
    else
        LOG_WARN("lws", "%.*s", (int)n, line);
}

int ws_send_text(struct session *s, outq_buf_t *b)
{
    int rc = outq_push_text(&s->q, b);
    if (rc == 0) {
        lws_callback_on_writable(s->wsi);
        return 0;
    }
    if (!s->close_after_write)
        LOG_WARN("ws", "session %u does not keep up (%zu messages waiting): closing it", s->id,
                 s->q.texts);
    s->close_after_write = 1;
    lws_callback_on_writable(s->wsi);
    return rc;
}

void ws_send_json(struct session *s, json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12));
    outq_buf_t *b = text ? outq_buf_new(text, strlen(text)) : NULL;
    free(text);
    if (b)
        ws_send_text(s, b);
    outq_buf_unref(b);
}

static void free_session(ws_t *w, struct session *s)
{
    for (struct session **pp = &w->sessions; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            w->nsessions--;
            break;
        }
    }
    outq_clear(&s->q);
    ws_vitals_session_end(s);
    free(s->rx);
    s->rx = NULL;
}

/* A client-supplied word as it may appear in a log or audit line: short and of harmless
 * characters only, so nobody can forge lines or flood the log. */
static const char *word(const char *t)
{
    size_t n = t ? strlen(t) : 0;
    if (n == 0)
        return NULL;
    if (n > 32)
        return "(too long)";
    for (size_t i = 0; i < n; i++)
        if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
              (t[i] >= '0' && t[i] <= '9') || t[i] == '.' || t[i] == '-' || t[i] == '_'))
            return "(unprintable)";
    return t;
}

const char *ws_actor_of(const struct session *s)
{
    return s->who.user[0] ? s->who.user : "operator";
}

/* One audit_log row through the journal (access.h); `code` is the error's name or NULL. */
void ws_audit(ws_t *w, struct session *s, const char *actor, const char *action,
              const char *target, const char *code)
{
    if (!w->api->d)
        return;
    json_t *detail = json_pack("{s:I,s:s}", "session", (json_int_t)s->id, "addr", s->addr);
    if (detail && s->authed)
        json_object_set_new(detail, "role", json_string(auth_role_name(s->who.role)));
    if (detail && code)
        json_object_set_new(detail, "code", json_string(code));
    access_audit(w->api->d, actor, action, target, code == NULL, detail);
}

static void refuse(struct session *s, json_t *id, int code, const char *message)
{
    json_t *r = api_error(id, code, message);
    ws_send_json(s, r);
    json_decref(r);
    s->close_after_write = 1;
}

static void welcome(ws_t *w, struct session *s, json_t *id, const char *method)
{
    s->authed = 1;
    LOG_INFO("audit", "session %u authenticated as %s (%s, %s) by %s", s->id, ws_actor_of(s),
             auth_role_name(s->who.role), s->addr, method);
    json_t *res = json_pack("{s:s,s:s,s:s,s:s}", "server", "goldline-dispatcher", "version",
                            "0.1.0", "role", auth_role_name(s->who.role), "tz", w->api->tz);
    if (s->who.user[0])
        json_object_set_new(res, "user", json_string(s->who.user));
    if (s->who.hospital[0])
        json_object_set_new(res, "hospital", json_string(s->who.hospital));
    if (s->who.expires_ms) {
        char buf[40];
        json_object_set_new(res, "expires_at",
                            json_string(gl_time_format_utc(s->who.expires_ms, buf, sizeof buf)));
    }
    if (s->by_session && !strcmp(method, "password"))
        json_object_set_new(res, "session", json_string(s->session_token));
    json_t *r = json_pack("{s:O,s:b,s:o}", "id", id ? id : json_null(), "ok", 1, "result", res);
    ws_send_json(s, r);
    json_decref(r);
    ws_audit(w, s, ws_actor_of(s), "login", NULL, NULL);
}

static void on_login_work(uv_work_t *req)
{
    struct login *l = req->data;
    l->verified = auth_verify(l->hash, l->password);
    sodium_memzero(l->password, sizeof l->password);
}

static void on_login_done(uv_work_t *req, int status)
{
    struct login *l = req->data;
    ws_t *w = l->w;
    struct session *s = l->s;
    w->logins_in_flight--;
    if (s && status == 0) {
        s->login = NULL;
        int64_t now = gl_now_ms();
        int rc = auth_login_finish(w->api->auth, l->user, s->addr, l->verified, now,
                                   s->session_token, &s->who);
        const char *name = auth_name_valid(l->user) ? l->user : "(invalid)";
        if (rc == 0) {
            s->by_session = 1;
            welcome(w, s, l->id, "password");
        } else {
            refuse(s, l->id, GL_EACCES, "bad user name or password");
            LOG_WARN("audit", "session %u refused: bad password for %s from %s", s->id, name,
                     s->addr);
            ws_audit(w, s, name, "login", NULL, gl_err_name(rc));
        }
    } else if (s) {
        s->login = NULL;
        refuse(s, l->id, GL_EAGAIN, "the login could not be checked: try again");
    }
    json_decref(l->id);
    sodium_memzero(l, sizeof *l);
    free(l);
}

/* hello with {username, password}: the check runs on the thread pool (auth.h). */
static void hello_password(ws_t *w, struct session *s, json_t *id, const char *user,
                           const char *password)
{
    auth_t *a = w->api->auth;
    int64_t now = gl_now_ms();
    auth_prune(a, now);
    struct login *l = NULL;
    if (strlen(password) > PASSWORD_MAX || strlen(user) >= sizeof l->user) {
        refuse(s, id, GL_EACCES, "bad user name or password");
        return;
    }
    if (w->logins_in_flight >= LOGINS_IN_FLIGHT_MAX) {
        refuse(s, id, GL_EAGAIN, "busy: try again in a moment");
        return;
    }
    char hash[AUTH_HASH_LEN];
    if (auth_login_begin(a, user, s->addr, now, hash) != 0) {
        unsigned long suppressed = 0;
        if (gl_log_burst_allow(&w->limit_burst, now, 60000, &suppressed))
            LOG_WARN("audit", "session %u refused: too many failed logins (%s from %s; %lu "
                     "more refused since the last line)", s->id,
                     auth_name_valid(user) ? user : "(invalid)", s->addr, suppressed);
        refuse(s, id, GL_EAGAIN, "too many failed logins: try again later");
        return;
    }
    l = calloc(1, sizeof *l);
    if (!l) {
        refuse(s, id, GL_ENOMEM, "out of memory");
        return;
    }
    l->req.data = l;
    l->w = w;
    l->s = s;
    l->id = json_incref(id);
    snprintf(l->user, sizeof l->user, "%s", user);
    snprintf(l->password, sizeof l->password, "%s", password);
    memcpy(l->hash, hash, sizeof l->hash);
    if (uv_queue_work(w->loop, &l->req, on_login_work, on_login_done) != 0) {
        json_decref(l->id);
        sodium_memzero(l, sizeof *l);
        free(l);
        refuse(s, id, GL_EAGAIN, "the login could not be checked: try again");
        return;
    }
    w->logins_in_flight++;
    s->login = l;
}

/*
 * The first message. Three ways in: the operator token of var/api-token (role admin), a
 * session token from an earlier login ("session", or in "token" so that goldlinectl --token
 * takes one), or "username" and "password". Anything else is refused and the connection closed.
 */
static void handle_hello(ws_t *w, struct session *s, json_t *req)
{
    json_t *id = json_object_get(req, "id");
    const char *op = json_string_value(json_object_get(req, "op"));
    const char *token = json_string_value(json_object_get(req, "token"));
    const char *session = json_string_value(json_object_get(req, "session"));
    const char *user = json_string_value(json_object_get(req, "username"));
    const char *password = json_string_value(json_object_get(req, "password"));
    auth_t *a = w->api->auth;
    int64_t now = gl_now_ms();
    if (s->login) {
        refuse(s, id, GL_EPROTO, "wait for the reply to hello");
        return;
    }
    if (!op || strcmp(op, "hello") != 0) {
        refuse(s, id, GL_EACCES, "the first message must be hello with a token");
        LOG_WARN("audit", "session %u refused: no hello", s->id);
        return;
    }
    if (user && password && a) {
        hello_password(w, s, id, user, password);
        return;
    }
    if (a && auth_addr_blocked(a, s->addr, now)) {
        refuse(s, id, GL_EAGAIN, "too many failed logins: try again later");
        return;
    }
    size_t tlen = token ? strlen(token) : 0;
    if (token && tlen == strlen(w->token) && sodium_memcmp(token, w->token, tlen) == 0) {
        memset(&s->who, 0, sizeof s->who);
        s->who.role = AUTH_ROLE_ADMIN;
        welcome(w, s, id, "operator token");
        return;
    }
    if (!session)
        session = token;
    if (a && session && auth_session_check(a, session, now, &s->who) == 0) {
        s->by_session = 1;
        snprintf(s->session_token, sizeof s->session_token, "%s", session);
        welcome(w, s, id, "session");
        return;
    }
    if (a)
        auth_addr_failed(a, s->addr, now);
    refuse(s, id, GL_EACCES, token ? "bad token" : session ? "session expired or unknown"
                                                           : "hello needs a token, a session or "
                                                             "a username and password");
    LOG_WARN("audit", "session %u refused from %s: bad token or session", s->id, s->addr);
    ws_audit(w, s, "(unknown)", "login", NULL, "EACCES");
}

/* The destination hospital in an incident object ("destination", once the routing issue sets
 * it) is `hospital`: what an ED user may see. */
static int bound_for(json_t *incident, const char *hospital)
{
    const char *dest = json_string_value(json_object_get(incident, "destination"));
    return dest && hospital[0] && !strcmp(dest, hospital);
}

static int ed_sees_id(ws_t *w, const struct session *s, const char *incident_id)
{
    incident_t *inc = incident_table_find(dispatch_incidents(w->api->d), incident_id);
    if (!inc)
        return 1; /* the API answers "no such incident" itself */
    /* the incident keeps its destination (incident.h): no JSON built per request */
    return inc->destination[0] && s->who.hospital[0] &&
           !strcmp(inc->destination, s->who.hospital);
}

/* An ED user's pushed events: units, and incidents bound for its hospital only. */
static int ed_sees_event(ws_t *w, const struct session *s, json_t *event)
{
    const char *kind = json_string_value(json_object_get(event, "event"));
    json_t *inc = json_object_get(event, "incident");
    if (kind && !strcmp(kind, "vehicle"))
        return 1;
    if (json_is_object(inc))
        return bound_for(inc, s->who.hospital);
    if (json_is_string(inc))
        return ed_sees_id(w, s, json_string_value(inc));
    return 0;
}

/* Drops from an "incidents" reply what an ED user may not see. */
static void ed_filter_incidents(json_t *reply, const char *hospital)
{
    json_t *arr = json_object_get(json_object_get(reply, "result"), "incidents");
    for (size_t i = json_array_size(arr); i-- > 0;)
        if (!bound_for(json_array_get(arr, i), hospital))
            json_array_remove(arr, i);
}

/* The reads screens poll (a board refreshing its clocks every few seconds). */
static int is_polling_read(const char *op)
{
    static const char *const reads[] = {"clocks",     "inbound",   "incident",      "incidents",
                                        "timeline",   "map.layers", "map.roads",    "route",
                                        "places.search", "vitals.stats", "coverage", NULL};
    for (int i = 0; reads[i]; i++)
        if (!strcmp(op, reads[i]))
            return 1;
    return 0;
}

/* 1 if this session already made (and was audited for) this read of this target; otherwise
 * remembers it and returns 0. A session that reads more distinct things than it can remember
 * is audited every time. */
static int polled_before(struct session *s, const char *op, const char *target)
{
    if (!is_polling_read(op))
        return 0;
    uint32_t h = 2166136261u; /* FNV-1a of "op target" */
    for (const char *p = op; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    h = (h ^ ' ') * 16777619u;
    for (const char *p = target ? target : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    for (int i = 0; i < s->npolled; i++)
        if (s->polled[i] == h)
            return 1;
    if (s->npolled < SESSION_POLLED_MAX)
        s->polled[s->npolled++] = h;
    return 0;
}

/* An authenticated request: session still valid, role allowed, ED narrowed, then the API. */
static void handle_request(ws_t *w, struct session *s, json_t *req)
{
    json_t *id = json_object_get(req, "id");
    const char *op = json_string_value(json_object_get(req, "op"));
    const char *inc_id = json_string_value(json_object_get(req, "incident"));
    const char *target = word(inc_id);
    int64_t now = gl_now_ms();
    if (s->by_session &&
        (!w->api->auth || auth_session_check(w->api->auth, s->session_token, now, &s->who))) {
        refuse(s, id, GL_EACCES, "session expired: log in again");
        LOG_INFO("audit", "session %u: %s's session expired", s->id, ws_actor_of(s));
        ws_audit(w, s, ws_actor_of(s), "session_expired", NULL, "EACCES");
        return;
    }
    if (op && !auth_permits(s->who.role, op)) {
        json_t *r = api_error(id, GL_EACCES, "not permitted for your role");
        ws_send_json(s, r);
        json_decref(r);
        LOG_WARN("audit", "session %u: %s (%s) denied %s", s->id, ws_actor_of(s),
                 auth_role_name(s->who.role), word(op) ? word(op) : "?");
        ws_audit(w, s, ws_actor_of(s), word(op) ? word(op) : "?", target, "EACCES");
        return;
    }
    char actor[64];
    snprintf(actor, sizeof actor, "%s session %u", ws_actor_of(s), s->id);
    int subscribe = 0, start_streams = 0, ed = s->who.role == AUTH_ROLE_ED;
    json_t *r;
    const char *hosp = json_string_value(json_object_get(req, "hospital"));
    if (ed && inc_id && !ed_sees_id(w, s, inc_id)) {
        r = api_error(id, GL_ENOENT, "no such incident"); /* not even whether it exists */
    } else if (ed && op && !strcmp(op, "hospital.status") &&
               (!hosp || strcmp(hosp, s->who.hospital))) {
        r = api_error(id, GL_EACCES, "an ED user sets its own hospital's status only");
    } else if (op && !strcmp(op, "user.add")) {
        r = w->api->auth ? access_user_add(w->api->d, w->api->auth, req, id)
                         : api_error(id, GL_EINVAL, "no user table");
        target = word(json_string_value(json_object_get(req, "username")));
    } else if (op && !strncmp(op, "vitals.", 7)) {
        r = ws_vitals_request(w, s, op, req, id);
        start_streams = !strcmp(op, "vitals.subscribe");
    } else if (op && !strcmp(op, "inbound")) {
        const char *h = ed ? s->who.hospital : json_string_value(json_object_get(req, "hospital"));
        r = api_inbound(w->api, h, id, now);
        target = word(h); /* audited per hospital read */
    } else if (op && !strcmp(op, "logout")) {
        if (s->by_session && w->api->auth)
            auth_session_end(w->api->auth, s->session_token);
        r = json_pack("{s:O,s:b,s:{}}", "id", id ? id : json_null(), "ok", 1, "result");
        s->close_after_write = 1;
    } else {
        r = api_handle(w->api, req, actor, &subscribe);
        if (ed && op && !strcmp(op, "incidents"))
            ed_filter_incidents(r, s->who.hospital);
        json_t *res = json_object_get(r, "result");
        if (op && !strcmp(op, "stats") && json_is_object(res)) {
            const ws_relay_stats_t *rs = &w->relay_stats;
            json_object_set_new(res, "relay",
                                json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i}", "frames_in",
                                          (json_int_t)rs->frames_in, "numerics_in",
                                          (json_int_t)rs->numerics_in, "not_relayed",
                                          (json_int_t)rs->not_relayed, "malformed",
                                          (json_int_t)rs->malformed, "resent",
                                          (json_int_t)rs->resent, "streams_started",
                                          (json_int_t)rs->streams_started, "streams_stopped",
                                          (json_int_t)rs->streams_stopped, "streams",
                                          (int)relay_stream_count(w->relay)));
        }
    }
    int ok = json_is_true(json_object_get(r, "ok"));
    const char *c = json_string_value(json_object_get(json_object_get(r, "error"), "code"));
    char code[24], made[40]; /* copied: the reply goes before the audit line is written */
    snprintf(code, sizeof code, "%s", c ? c : "EINVAL");
    if (!target && ok) { /* call.new: the incident it made */
        const char *mid = json_string_value(
            json_object_get(json_object_get(json_object_get(r, "result"), "incident"), "id"));
        if (word(mid)) {
            snprintf(made, sizeof made, "%s", mid);
            target = made;
        }
    }
    ws_send_json(s, r);
    json_decref(r);
    if (subscribe)
        s->subscribed = 1;
    if (start_streams && ok)
        ws_vitals_start_eligible(w, s);
    /* Polling for counters and unit positions is not an action on anyone's data; a screen
     * that re-reads the same thing every few seconds is audited the first time it reads it. */
    if (op && strcmp(op, "stats") && strcmp(op, "fleet") &&
        !(ok && polled_before(s, op, target)))
        ws_audit(w, s, ws_actor_of(s), word(op) ? word(op) : "?", target, ok ? NULL : code);
}

static void handle_message(ws_t *w, struct session *s, const char *text, size_t len)
{
    json_error_t jerr;
    json_t *req = json_loadb(text, len, 0, &jerr);
    if (!json_is_object(req)) {
        json_t *r = api_error(NULL, GL_EPROTO, "not a JSON object");
        ws_send_json(s, r);
        json_decref(r);
        json_decref(req);
        if (!s->authed)
            s->close_after_write = 1;
        return;
    }
    if (!s->authed)
        handle_hello(w, s, req);
    else
        handle_request(w, s, req);
    json_decref(req);
}

static int http_healthz(ws_t *w, struct lws *wsi, struct session *s)
{
    int db_up = 1;
    if (w->api->db) {
        db_writer_stats_t st;
        db_writer_get_stats(w->api->db, &st);
        db_up = st.connected;
    }
    s->http_len = (size_t)snprintf(s->http_body, sizeof s->http_body,
                                   "{\"status\":\"ok\",\"database\":\"%s\"}\n",
                                   db_up ? "up" : "down");
    unsigned char buf[LWS_PRE + 512], *start = &buf[LWS_PRE], *p = start,
                                      *end = &buf[sizeof buf - 1];
    if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "application/json", s->http_len, &p,
                                    end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return 1;
    lws_callback_on_writable(wsi);
    return 0;
}

/* A gap marker as the client reads it (docs/api.md). */
static outq_buf_t *gap_message(const outq_wave_id_t *g)
{
    char at[40];
    json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:I}", "event", "ecg.gap", "incident",
                          g->incident, "vehicle", g->vehicle, "first_sample_index",
                          (json_int_t)g->first_index, "first_sample_ms", (json_int_t)g->first_ms,
                          "first_sample_at", gl_time_format_utc(g->first_ms, at, sizeof at),
                          "samples", (json_int_t)g->samples);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    outq_buf_t *b = text ? outq_buf_new(text, strlen(text)) : NULL;
    free(text);
    return b;
}

/* Messages written in one writeable callback at most, so that one screen's backlog does not hold
 * up the loop (a 12-lead frame is ~1.3 kB: 32 of them fit a socket buffer easily). */
#define WRITE_BURST 32

/* Writes the message at the head of the queue. */
static int write_next(struct session *s)
{
    const outq_item_t *it = outq_peek(&s->q);
    outq_buf_t *b = it->buf;
    outq_buf_t *gap = NULL;
    if (it->kind == OUTQ_GAP && !(b = gap = gap_message(&it->wave)))
        return -1;
    enum lws_write_protocol how = it->kind == OUTQ_WAVE ? LWS_WRITE_BINARY : LWS_WRITE_TEXT;
    int n = lws_write(s->wsi, outq_buf_payload(b), b->len, how);
    outq_buf_unref(gap);
    if (n < (int)b->len)
        return -1;
    outq_pop(&s->q);
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct session *s = user;
    struct lws_vhost *vh = lws_get_vhost(wsi);
    ws_t *w = vh ? lws_get_vhost_user(vh) : NULL;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        if (!w || strcmp((const char *)in, "/healthz") != 0) {
            if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL))
                return -1;
            return lws_http_transaction_completed(wsi) ? -1 : 0;
        }
        return http_healthz(w, wsi, s);
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        unsigned char buf[LWS_PRE + sizeof s->http_body];
        memcpy(buf + LWS_PRE, s->http_body, s->http_len);
        if (lws_write(wsi, buf + LWS_PRE, s->http_len, LWS_WRITE_HTTP_FINAL) !=
            (int)s->http_len)
            return 1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        char uri[64];
        if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, "/api"))
            return 1; /* only /api speaks websocket */
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED:
        memset(s, 0, sizeof *s);
        outq_init(&s->q, SESSION_TEXT_MAX, SESSION_WAVE_MAX);
        s->wsi = wsi;
        s->id = ++w->next_id;
        if (!lws_get_peer_simple(wsi, s->addr, sizeof s->addr))
            snprintf(s->addr, sizeof s->addr, "?");
        s->next = w->sessions;
        w->sessions = s;
        w->nsessions++;
        return 0;
    case LWS_CALLBACK_CLOSED:
        if (s->login)
            s->login->s = NULL; /* the check finishes and is thrown away */
        s->login = NULL;
        sodium_memzero(s->session_token, sizeof s->session_token);
        if (w)
            free_session(w, s);
        return 0;
    case LWS_CALLBACK_RECEIVE: {
        if (s->close_after_write)
            return 0; /* refused or closing: nothing more is read */
        if (s->rx_len + len > (s->authed ? RX_MAX : RX_MAX_UNAUTHENTICATED)) {
            LOG_WARN("ws", "session %u: message larger than %d bytes: closing", s->id, RX_MAX);
            return -1;
        }
        int whole = lws_is_first_fragment(wsi) && lws_is_final_fragment(wsi) &&
                    !lws_remaining_packet_payload(wsi) && !s->rx;
        if (whole) {
            handle_message(w, s, in, len);
            return 0;
        }
        char *nb = realloc(s->rx, s->rx_len + len + 1);
        if (!nb)
            return -1;
        s->rx = nb;
        memcpy(s->rx + s->rx_len, in, len);
        s->rx_len += len;
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            handle_message(w, s, s->rx, s->rx_len);
            free(s->rx);
            s->rx = NULL;
            s->rx_len = 0;
        }
        return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (!outq_peek(&s->q))
            return s->close_after_write ? -1 : 0;
        /* More than one message while the socket takes them (lws_send_pipe_choked: nothing
         * left of a partial write and POLLOUT, the check lws asks for before a second write in
         * one callback): a screen that fell behind while the loop was busy catches up in one
         * turn of the loop instead of one message a turn. */
        for (int i = 0; i < WRITE_BURST && outq_peek(&s->q); i++) {
            if (i > 0 && lws_send_pipe_choked(wsi))
                break;
            if (write_next(s) != 0)
                return -1;
        }
        if (outq_peek(&s->q) || s->close_after_write)
            lws_callback_on_writable(wsi);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

#ifndef GL_WEB_DIR
#define GL_WEB_DIR "console/web"
#endif

/*
 * The browser pages (console/web: the operator console) under /console/. Only what a page needs
 * is mounted — pages/, js/, css/ and the vendored libraries — never the folder itself, which
 * also holds the build's node_modules. The pages hold no data: everything comes over the
 * authenticated /api websocket.
 */
static const struct lws_http_mount mount_vendor = {
    .mountpoint = "/console/vendor",
    .origin = GL_WEB_DIR "/vendor",
    .origin_protocol = LWSMPRO_FILE,
    .mountpoint_len = 15,
};
static const struct lws_http_mount mount_css = {
    .mount_next = &mount_vendor,
    .mountpoint = "/console/css",
    .origin = GL_WEB_DIR "/css",
    .origin_protocol = LWSMPRO_FILE,
    .mountpoint_len = 12,
};
static const struct lws_http_mount mount_js = {
    .mount_next = &mount_css,
    .mountpoint = "/console/js",
    .origin = GL_WEB_DIR "/js",
    .origin_protocol = LWSMPRO_FILE,
    .mountpoint_len = 11,
};
static const struct lws_http_mount web_mount = {
    .mount_next = &mount_js,
    .mountpoint = "/console",
    .origin = GL_WEB_DIR "/pages",
    .def = "index.html",
    .origin_protocol = LWSMPRO_FILE,
    .mountpoint_len = 8,
};

static const struct lws_protocols protocols[] = {
    {"goldline.v1", callback, sizeof(struct session), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int ws_open(uv_loop_t *loop, const char *iface, int port, const char *token, api_t *api,
            ws_t **out)
{
    ws_t *w = calloc(1, sizeof *w);
    if (!w)
        return GL_ENOMEM;
    if (strlen(token) >= sizeof w->token) {
        free(w);
        return GL_EINVAL;
    }
    snprintf(w->token, sizeof w->token, "%s", token);
    if (!(w->relay = relay_new())) {
        free(w);
        return GL_ENOMEM;
    }
    w->api = api;
    w->loop = loop;
    lws_set_log_level(LLL_ERR | LLL_WARN, on_lws_log);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info); /* otherwise uninitialised garbage */
    void *loops[1] = {loop};
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                   LWS_SERVER_OPTION_DISABLE_IPV6;
    info.foreign_loops = loops;
    info.protocols = protocols;
    info.port = CONTEXT_PORT_NO_LISTEN;
    w->ctx = lws_create_context(&info);
    if (!w->ctx) {
        LOG_ERR("ws", "cannot create the websocket context (is libwebsockets-evlib-uv "
                      "installed?)");
        relay_free(w->relay);
        free(w);
        return GL_EIO;
    }
    info.port = port;
    info.iface = iface && iface[0] ? iface : NULL;
    info.vhost_name = "goldline";
    info.user = w;
    info.mounts = &web_mount;
    if (!lws_create_vhost(w->ctx, &info)) {
        LOG_ERR("ws", "cannot listen on %s port %d", iface && iface[0] ? iface : "*", port);
        lws_context_destroy(w->ctx);
        w->ctx = NULL;
        relay_free(w->relay);
        free(w);
        return GL_EIO;
    }
    LOG_INFO("ws", "serving ws://%s:%d/api and /healthz",
             iface && iface[0] ? iface : "0.0.0.0", port);
    *out = w;
    return 0;
}

void ws_broadcast(ws_t *w, json_t *event)
{
    if (!w)
        return;
    outq_buf_t *b = NULL;
    for (struct session *s = w->sessions; s; s = s->next) {
        if (!s->subscribed || s->close_after_write ||
            (s->who.role == AUTH_ROLE_ED && !ed_sees_event(w, s, event)))
            continue;
        if (!b) {
            char *text = json_dumps(event, JSON_COMPACT | JSON_REAL_PRECISION(12));
            b = text ? outq_buf_new(text, strlen(text)) : NULL;
            free(text);
            if (!b)
                return;
        }
        ws_send_text(s, b);
    }
    outq_buf_unref(b);
}

int ws_has_subscribers(const ws_t *w)
{
    for (const struct session *s = w ? w->sessions : NULL; s; s = s->next)
        if (s->subscribed)
            return 1;
    return 0;
}

int ws_session_count(const ws_t *w)
{
    return w ? w->nsessions : 0;
}

void ws_shutdown(ws_t *w)
{
    if (w && w->ctx)
        lws_context_destroy(w->ctx);
}

void ws_free(ws_t *w)
{
    if (!w)
        return;
    if (w->ctx)
        lws_context_destroy(w->ctx);
    relay_free(w->relay);
    free(w);
}
