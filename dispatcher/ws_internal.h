/*
 * What ws.c (sessions, authentication, requests) and ws_vitals.c (the live patient streams)
 * share about a websocket session. Private to those two files.
 */
#ifndef GL_WS_INTERNAL_H
#define GL_WS_INTERNAL_H

#include "api.h"
#include "auth.h"
#include "log.h"
#include "outq.h"
#include "relay.h"
#include "ws.h"

#include <libwebsockets.h>
#include <uv.h>

_Static_assert(OUTQ_PRE == LWS_PRE, "outq's headroom must be what libwebsockets writes into");

#define SESSION_TEXT_MAX 4096        /* text messages waiting for one client */
#define SESSION_WAVE_MAX 2048        /* ECG frames waiting for one client (dropped beyond) */
#define PASSWORD_MAX 1024
#define SESSION_POLLED_MAX 128       /* distinct reads a session polls, audited the first time */
#define TOKEN_MAX 128

struct vitals_sub;

struct login;

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
    outq_t q;                        /* what waits to be written */
    struct vitals_sub *vitals;       /* live patient streams (ws_vitals.c), NULL if none */
    char *rx;                        /* reassembly of a fragmented message (malloc'd) */
    size_t rx_len;
    char http_body[256];             /* /healthz reply */
    size_t http_len;
    auth_identity_t who;             /* who hello authenticated (operator token: admin) */
    int by_session;                  /* via a session token: checked again on each request */
    char session_token[AUTH_TOKEN_HEX_LEN + 1];
    char addr[48];                   /* the peer's address: rate limits and audit lines */
    struct login *login;             /* a password check on the thread pool, or NULL */
    uint32_t polled[SESSION_POLLED_MAX]; /* hashes of the (read op, target) pairs audited once */
    int npolled;
};

/* A password check running on libuv's thread pool; outlives its session if that closes. */
struct login {
    uv_work_t req;
    ws_t *w;
    struct session *s;               /* NULL once the session closed */
    json_t *id;                      /* the hello's id */
    char user[72];
    char password[PASSWORD_MAX + 1]; /* wiped once checked */
    char hash[AUTH_HASH_LEN];
    int verified;
};

struct ws {
    struct lws_context *ctx;
    uv_loop_t *loop;
    int logins_in_flight;
    gl_log_burst_t limit_burst;      /* "too many failed logins" lines */
    api_t *api;
    char token[TOKEN_MAX];
    struct session *sessions;
    int nsessions;
    unsigned next_id;
    relay_t *relay;                  /* the live patient streams (ws_vitals.c) */
    ws_relay_stats_t relay_stats;
};

/* Queues a JSON message; a client too far behind is closed. */
void ws_send_json(struct session *s, json_t *o);
/* Queues a text buffer (reference taken); returns 0 or, for a client too far behind, closes
 * it and returns GL_ENOSPC. */
int ws_send_text(struct session *s, outq_buf_t *b);
/* One audit_log row; `code` is the error's name or NULL. */
void ws_audit(ws_t *w, struct session *s, const char *actor, const char *action,
              const char *target, const char *code);
const char *ws_actor_of(const struct session *s);

/* ---- ws_vitals.c -------------------------------------------------------------------------- */
/* Handles vitals.subscribe, vitals.unsubscribe and vitals.stats; returns the reply. */
json_t *ws_vitals_request(ws_t *w, struct session *s, const char *op, json_t *req, json_t *id);
/* After the reply to vitals.subscribe went out: starts the streams the session may see. */
void ws_vitals_start_eligible(ws_t *w, struct session *s);
/* The session closes. */
void ws_vitals_session_end(struct session *s);

#endif
