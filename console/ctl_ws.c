/*
 * The libwebsockets client behind goldlinectl (see ctl_ws.h). One session per run, driven by an
 * explicit state machine:
 *
 *   CONNECTING --established--> AWAIT_HELLO --hello ok--> AWAIT_REPLY --reply--> DONE
 *                                                              | (subscribe)
 *                                                              +--> WATCHING --count/close--> DONE
 *
 * Any state can end in DONE on a connection error, a close, a timeout or an interrupt; the
 * status says which. One timer (an lws sul) guards connecting and each awaited reply; it is
 * armed and disarmed only in set_state(). Writes follow lws' rule of one lws_write() per
 * WRITEABLE callback; we never have more than one message queued because the protocol here is
 * strictly request/reply. Incoming messages are reassembled from fragments before parsing.
 */
#include "ctl_ws.h"

#include "err.h"
#include "log.h"

#include <libwebsockets.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROTOCOL_NAME "goldline.v1"
#define MAX_MESSAGE_BYTES (16u << 20) /* a fleet of thousands still fits; garbage does not */
#define HELLO_ID 1
#define REQUEST_ID 2

#define SESSION_STATE_MAP(XX)                                                                      \
    XX(CONNECTING)                                                                                 \
    XX(AWAIT_HELLO)                                                                                \
    XX(AWAIT_REPLY)                                                                                \
    XX(WATCHING)                                                                                   \
    XX(DONE)

enum session_state {
#define XX(name) SESSION_##name,
    SESSION_STATE_MAP(XX)
#undef XX
};

static const char *session_state_name(enum session_state st)
{
    switch (st) {
#define XX(name)                                                                                   \
    case SESSION_##name:                                                                           \
        return #name;
        SESSION_STATE_MAP(XX)
#undef XX
    }
    return "?";
}

struct session {
    enum session_state state;     /* see the diagram on top */
    const ctl_ws_request_t *req;  /* borrowed from the caller */
    ctl_ws_result_t *res;         /* filled as we go */
    struct lws_context *ctx;      /* the lws context of this run */
    struct lws *wsi;              /* the connection, NULL once closed */
    lws_sorted_usec_list_t timer; /* connect/reply timeout */
    unsigned char *out;           /* queued message with LWS_PRE headroom, or NULL; malloc'd */
    size_t out_len;               /* its payload length */
    char *in;                     /* reassembly buffer for the message being received; malloc'd */
    size_t in_len, in_cap;        /* bytes in it, bytes allocated */
};

static volatile sig_atomic_t interrupted;
static struct lws_context *volatile running_ctx; /* for ctl_ws_interrupt() */

const char *ctl_ws_status_name(ctl_ws_status_t st)
{
    switch (st) {
#define XX(name, text)                                                                             \
    case CTL_WS_##name:                                                                            \
        return text;
        CTL_WS_STATUS_MAP(XX)
#undef XX
    }
    return "?";
}

void ctl_ws_interrupt(void)
{
    interrupted = 1;
    /* lws_cancel_service() only writes a byte to lws' event pipe (its log line is filtered). */
    struct lws_context *ctx = running_ctx;
    if (ctx)
        lws_cancel_service(ctx);
}

static void on_timeout(lws_sorted_usec_list_t *sul);

/* The single place where the state changes and the timer is armed or disarmed. */
static void set_state(struct session *s, enum session_state to)
{
    LOG_DEBUG("ctl", "session %s -> %s", session_state_name(s->state), session_state_name(to));
    s->state = to;
    switch (to) {
    case SESSION_CONNECTING:
    case SESSION_AWAIT_HELLO:
    case SESSION_AWAIT_REPLY:
        lws_sul_schedule(s->ctx, 0, &s->timer, on_timeout,
                         (lws_usec_t)s->req->timeout_ms * LWS_US_PER_MS);
        break;
    case SESSION_WATCHING:
    case SESSION_DONE:
        lws_sul_cancel(&s->timer);
        break;
    }
}

/* Ends the session with a status and a printf-style message (empty for OK). */
static void finish(struct session *s, ctl_ws_status_t st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void finish(struct session *s, ctl_ws_status_t st, const char *fmt, ...)
{
    if (s->state == SESSION_DONE)
        return;
    s->res->status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->res->message, sizeof s->res->message, fmt, ap);
    va_end(ap);
    set_state(s, SESSION_DONE);
    /* When called from a timer, lws_service() would go on to poll until the next event:
     * wake it so the run loop sees DONE now. */
    if (s->ctx)
        lws_cancel_service(s->ctx);
}

static void on_timeout(lws_sorted_usec_list_t *sul)
{
    struct session *s = lws_container_of(sul, struct session, timer);
    double secs = (double)s->req->timeout_ms / 1000.0;
    const char *op = json_string_value(json_object_get(s->req->request, "op"));
    switch (s->state) {
    case SESSION_CONNECTING:
        finish(s, CTL_WS_TIMEOUT, "could not connect to ws://%s:%d%s within %g s", s->req->host,
               s->req->port, s->req->path, secs);
        break;
    case SESSION_AWAIT_HELLO:
        finish(s, CTL_WS_TIMEOUT, "no reply to hello within %g s", secs);
        break;
    case SESSION_AWAIT_REPLY:
        finish(s, CTL_WS_TIMEOUT,
               "no reply to %s within %g s; the dispatcher may still have carried it out", op,
               secs);
        break;
    case SESSION_WATCHING:
    case SESSION_DONE:
        break;
    }
}

/* Queues one message (id added to a copy of obj) and asks for a WRITEABLE callback. */
static int queue_message(struct session *s, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text)
        return GL_ENOMEM;
    size_t len = strlen(text);
    free(s->out);
    s->out = malloc(LWS_PRE + len);
    if (!s->out) {
        free(text);
        return GL_ENOMEM;
    }
    memcpy(s->out + LWS_PRE, text, len);
    s->out_len = len;
    free(text);
    lws_callback_on_writable(s->wsi);
    return 0;
}

static int send_hello(struct session *s)
{
    json_t *hello = json_pack("{sissss}", "id", HELLO_ID, "op", "hello", "token", s->req->token);
    if (!hello)
        return GL_ENOMEM;
    int rc = queue_message(s, hello);
    json_decref(hello);
    return rc;
}

static int send_request(struct session *s)
{
    json_t *copy = json_object();
    if (!copy)
        return GL_ENOMEM;
    /* id first, then the caller's fields in order, so the wire text reads naturally. */
    json_object_set_new(copy, "id", json_integer(REQUEST_ID));
    json_object_update(copy, (json_t *)s->req->request);
    int rc = queue_message(s, copy);
    json_decref(copy);
    return rc;
}

/* Returns the id of a reply, or -1 if msg is not a well-formed reply. */
static json_int_t reply_id(const json_t *msg)
{
    const json_t *id = json_object_get(msg, "id"), *ok = json_object_get(msg, "ok");
    if (!json_is_integer(id) || !json_is_boolean(ok))
        return -1;
    if (json_is_true(ok) ? !json_is_object(json_object_get(msg, "result"))
                         : !json_is_object(json_object_get(msg, "error")))
        return -1;
    return json_integer_value(id);
}

/* Takes the reply's result or error object into res->reply. */
static void keep_payload(struct session *s, json_t *msg)
{
    json_decref(s->res->reply);
    s->res->reply = json_incref(
        json_object_get(msg, json_is_true(json_object_get(msg, "ok")) ? "result" : "error"));
}

/* One complete incoming message; returns -1 when the connection should be closed. */
static int handle_message(struct session *s, json_t *msg)
{
    if (s->state == SESSION_WATCHING) {
        if (!json_is_string(json_object_get(msg, "event")))
            return 0; /* a reply or something newer than us: not an event, skip it */
        s->res->events++;
        if (s->req->on_event(msg, s->req->ud) != 0 ||
            (s->req->max_events > 0 && s->res->events >= s->req->max_events)) {
            finish(s, CTL_WS_OK, "%s", "");
            return -1;
        }
        return 0;
    }
    if (json_object_get(msg, "event"))
        return 0; /* an event before our subscription is confirmed: not ours to print */

    json_int_t id = reply_id(msg);
    int ok = json_is_true(json_object_get(msg, "ok"));
    if (s->state == SESSION_AWAIT_HELLO && id == HELLO_ID) {
        if (!ok) {
            keep_payload(s, msg);
            finish(s, CTL_WS_AUTH, "the dispatcher refused the token");
            return -1;
        }
        s->res->hello = json_incref(json_object_get(msg, "result"));
        if (send_request(s) != 0) {
            finish(s, CTL_WS_INTERNAL, "out of memory");
            return -1;
        }
        set_state(s, SESSION_AWAIT_REPLY);
        return 0;
    }
    if (s->state == SESSION_AWAIT_REPLY && id == REQUEST_ID && s->res->request_sent) {
        keep_payload(s, msg);
        if (!ok) {
            finish(s, CTL_WS_REFUSED, "the dispatcher refused the request");
            return -1;
        }
        if (s->req->on_event) {
            set_state(s, SESSION_WATCHING);
            return 0;
        }
        finish(s, CTL_WS_OK, "%s", "");
        return -1;
    }
    finish(s, CTL_WS_PROTO, "unexpected message from the dispatcher (state %s, id %lld)",
           session_state_name(s->state), (long long)id);
    return -1;
}

/* Appends a fragment; at the end of a message parses and handles it. */
static int on_receive(struct session *s, struct lws *wsi, const void *in, size_t len)
{
    if (s->in_len + len > MAX_MESSAGE_BYTES) {
        finish(s, CTL_WS_PROTO, "message from the dispatcher larger than %u bytes",
               MAX_MESSAGE_BYTES);
        return -1;
    }
    if (s->in_len + len + 1 > s->in_cap) {
        size_t cap = s->in_cap ? s->in_cap : 4096;
        while (cap < s->in_len + len + 1)
            cap *= 2;
        char *p = realloc(s->in, cap);
        if (!p) {
            finish(s, CTL_WS_INTERNAL, "out of memory");
            return -1;
        }
        s->in = p;
        s->in_cap = cap;
    }
    memcpy(s->in + s->in_len, in, len);
    s->in_len += len;
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
        return 0;

    json_error_t jerr;
    json_t *msg = json_loadb(s->in, s->in_len, 0, &jerr);
    s->in_len = 0;
    if (!json_is_object(msg)) {
        json_decref(msg);
        finish(s, CTL_WS_PROTO, "the dispatcher sent something that is not a JSON object");
        return -1;
    }
    int rc = handle_message(s, msg);
    json_decref(msg);
    return rc;
}

static int on_writeable(struct session *s, struct lws *wsi)
{
    if (!s->out)
        return 0;
    int n = lws_write(wsi, s->out + LWS_PRE, s->out_len, LWS_WRITE_TEXT);
    free(s->out);
    s->out = NULL;
    if (n < (int)s->out_len) {
        finish(s, CTL_WS_CLOSED, "could not send to the dispatcher");
        return -1;
    }
    if (s->state == SESSION_AWAIT_REPLY)
        s->res->request_sent = 1;
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct session *s = lws_context_user(lws_get_context(wsi));
    if (!s)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        s->wsi = NULL;
        finish(s, CTL_WS_CONNECT, "cannot connect to ws://%s:%d%s: %s", s->req->host, s->req->port,
               s->req->path, in ? (const char *)in : "connection failed");
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (s->state != SESSION_CONNECTING)
            return -1;
        if (send_hello(s) != 0) {
            finish(s, CTL_WS_INTERNAL, "out of memory");
            return -1;
        }
        set_state(s, SESSION_AWAIT_HELLO);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (s->state == SESSION_DONE)
            return -1;
        return on_writeable(s, wsi);
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (s->state == SESSION_DONE)
            return -1;
        return on_receive(s, wsi, in, len);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (s->state == SESSION_WATCHING)
            finish(s, CTL_WS_CLOSED, "the dispatcher ended the event stream");
        else
            finish(s, CTL_WS_CLOSED, "the dispatcher closed the connection before replying");
        if (reason == LWS_CALLBACK_CLIENT_CLOSED)
            s->wsi = NULL;
        break;
    case LWS_CALLBACK_WSI_DESTROY:
        if (wsi == s->wsi)
            s->wsi = NULL; /* whatever closed it, never touch it again */
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {PROTOCOL_NAME, callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int ctl_ws_run(const ctl_ws_request_t *req, ctl_ws_result_t *res)
{
    struct session s;
    struct lws_context_creation_info info;

    memset(res, 0, sizeof *res);
    memset(&s, 0, sizeof s);
    s.req = req;
    s.res = res;
    s.state = SESSION_CONNECTING;
    interrupted = 0;

    lws_set_log_level(req->verbose ? LLL_ERR | LLL_WARN : 0, NULL);
    memset(&info, 0, sizeof info); /* otherwise uninitialised garbage */
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.user = &s;
    info.gid = -1;
    info.uid = -1;
    s.ctx = lws_create_context(&info);
    if (!s.ctx) {
        res->status = CTL_WS_INTERNAL;
        snprintf(res->message, sizeof res->message, "cannot create the websocket context");
        return -1;
    }
    running_ctx = s.ctx;

    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = s.ctx;
    ci.address = req->host;
    ci.port = req->port;
    ci.path = req->path;
    ci.host = req->host;
    ci.origin = req->host;
    ci.protocol = PROTOCOL_NAME;
    ci.pwsi = &s.wsi;
    set_state(&s, SESSION_CONNECTING);
    if (!lws_client_connect_via_info(&ci))
        finish(&s, CTL_WS_CONNECT, "cannot connect to ws://%s:%d%s", req->host, req->port,
               req->path);

    while (s.state != SESSION_DONE) {
        if (interrupted) {
            if (s.state == SESSION_WATCHING)
                finish(&s, CTL_WS_OK, "%s", "");
            else
                finish(&s, CTL_WS_INTERRUPTED, "interrupted");
            break;
        }
        if (lws_service(s.ctx, 0) < 0) {
            finish(&s, CTL_WS_INTERNAL, "websocket service loop failed");
            break;
        }
    }
    /*
     * A connection still open here ended from outside its callbacks (timeout, interrupt).
     * Close it on the next service pass rather than inside lws_context_destroy(), which would
     * wait for the peer's close acknowledgement: a silent peer would hold us for 30 s.
     */
    if (s.wsi) {
        lws_set_timeout(s.wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_SYNC);
        s.wsi = NULL;
    }

    running_ctx = NULL;
    lws_sul_cancel(&s.timer);
    /* Destroying the context closes a connection still open (timeout, interrupt); callbacks
     * that it raises find the session DONE and only record that the wsi went away. */
    lws_context_destroy(s.ctx);
    free(s.out);
    free(s.in);
    return res->status == CTL_WS_OK ? 0 : -1;
}

void ctl_ws_result_free(ctl_ws_result_t *res)
{
    json_decref(res->hello);
    json_decref(res->reply);
    res->hello = res->reply = NULL;
}
