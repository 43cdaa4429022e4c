/*
 * libwebsockets server: sessions, authentication, request/reply and pushed events (see ws.h).
 */
#include "ws.h"

#include "err.h"
#include "log.h"

#include <libwebsockets.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SESSION_QUEUE_MAX 4096       /* messages waiting for one client */
#define RX_MAX (1024 * 1024)         /* largest request we reassemble */
#define RX_MAX_UNAUTHENTICATED 4096  /* before hello: a token fits, a flood does not */
#define TOKEN_MAX 128

struct out_msg {
    struct out_msg *next;
    size_t len;
    unsigned char buf[]; /* LWS_PRE bytes of headroom, then the message */
};

/* Per connection; allocated and freed by lws (HTTP and websocket alike). */
struct session {
    struct session *next;            /* in ws->sessions, websocket sessions only */
    struct lws *wsi;
    unsigned id;
    int authed, subscribed, close_after_write;
    struct out_msg *qhead, *qtail;
    size_t qlen;
    char *rx;                        /* reassembly of a fragmented message (malloc'd) */
    size_t rx_len;
    char http_body[256];             /* /healthz reply */
    size_t http_len;
};

struct ws {
    struct lws_context *ctx;
    api_t *api;
    char token[TOKEN_MAX];
    struct session *sessions;
    int nsessions;
    unsigned next_id;
};

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

static int enqueue(struct session *s, const char *text, size_t len)
{
    if (s->qlen >= SESSION_QUEUE_MAX)
        return GL_ENOSPC;
    struct out_msg *m = malloc(sizeof *m + LWS_PRE + len);
    if (!m)
        return GL_ENOMEM;
    m->next = NULL;
    m->len = len;
    memcpy(m->buf + LWS_PRE, text, len);
    if (s->qtail)
        s->qtail->next = m;
    else
        s->qhead = m;
    s->qtail = m;
    s->qlen++;
    lws_callback_on_writable(s->wsi);
    return 0;
}

static void send_json(struct session *s, json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12));
    if (text && enqueue(s, text, strlen(text)) != 0) {
        LOG_WARN("ws", "session %u: outgoing queue full: closing it", s->id);
        s->close_after_write = 1;
    }
    free(text);
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
    while (s->qhead) {
        struct out_msg *m = s->qhead;
        s->qhead = m->next;
        free(m);
    }
    s->qtail = NULL;
    free(s->rx);
    s->rx = NULL;
}

static void handle_hello(ws_t *w, struct session *s, json_t *req)
{
    json_t *id = json_object_get(req, "id");
    const char *op = json_string_value(json_object_get(req, "op"));
    const char *token = json_string_value(json_object_get(req, "token"));
    size_t tlen = token ? strlen(token) : 0;
    if (!op || strcmp(op, "hello") != 0) {
        json_t *r = api_error(id, GL_EACCES, "the first message must be hello with a token");
        send_json(s, r);
        json_decref(r);
        s->close_after_write = 1;
        LOG_WARN("audit", "session %u refused: no hello", s->id);
        return;
    }
    if (tlen != strlen(w->token) || sodium_memcmp(token, w->token, tlen) != 0) {
        json_t *r = api_error(id, GL_EACCES, "bad token");
        send_json(s, r);
        json_decref(r);
        s->close_after_write = 1;
        LOG_WARN("audit", "session %u refused: bad token", s->id);
        return;
    }
    s->authed = 1;
    LOG_INFO("audit", "session %u authenticated as operator", s->id);
    json_t *r = json_pack("{s:O,s:b,s:{s:s,s:s,s:s,s:s}}", "id", id ? id : json_null(), "ok", 1,
                          "result", "server", "goldline-dispatcher", "version", "0.1.0", "role",
                          "operator", "tz", w->api->tz);
    send_json(s, r);
    json_decref(r);
}

static void handle_message(ws_t *w, struct session *s, const char *text, size_t len)
{
    json_error_t jerr;
    json_t *req = json_loadb(text, len, 0, &jerr);
    if (!json_is_object(req)) {
        json_t *r = api_error(NULL, GL_EPROTO, "not a JSON object");
        send_json(s, r);
        json_decref(r);
        json_decref(req);
        if (!s->authed)
            s->close_after_write = 1;
        return;
    }
    if (!s->authed) {
        handle_hello(w, s, req);
    } else {
        char actor[32];
        snprintf(actor, sizeof actor, "session %u", s->id);
        int subscribe = 0;
        json_t *r = api_handle(w->api, req, actor, &subscribe);
        send_json(s, r);
        json_decref(r);
        if (subscribe)
            s->subscribed = 1;
    }
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
        s->wsi = wsi;
        s->id = ++w->next_id;
        s->next = w->sessions;
        w->sessions = s;
        w->nsessions++;
        return 0;
    case LWS_CALLBACK_CLOSED:
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
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        struct out_msg *m = s->qhead;
        if (!m)
            return s->close_after_write ? -1 : 0;
        int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
        if (n < (int)m->len)
            return -1;
        s->qhead = m->next;
        if (!s->qhead)
            s->qtail = NULL;
        s->qlen--;
        free(m);
        if (s->qhead || s->close_after_write)
            lws_callback_on_writable(wsi);
        return 0;
    }
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

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
    w->api = api;
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
        free(w);
        return GL_EIO;
    }
    info.port = port;
    info.iface = iface && iface[0] ? iface : NULL;
    info.vhost_name = "goldline";
    info.user = w;
    if (!lws_create_vhost(w->ctx, &info)) {
        LOG_ERR("ws", "cannot listen on %s port %d", iface && iface[0] ? iface : "*", port);
        lws_context_destroy(w->ctx);
        w->ctx = NULL;
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
    char *text = NULL;
    for (struct session *s = w->sessions; s; s = s->next) {
        if (!s->subscribed || s->close_after_write)
            continue;
        if (!text && !(text = json_dumps(event, JSON_COMPACT | JSON_REAL_PRECISION(12))))
            return;
        if (enqueue(s, text, strlen(text)) != 0) {
            LOG_WARN("ws", "session %u does not keep up with events: closing it", s->id);
            s->close_after_write = 1;
            lws_callback_on_writable(s->wsi);
        }
    }
    free(text);
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
    free(w);
}
