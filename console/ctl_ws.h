/*
 * goldlinectl's websocket client: one blocking exchange with the dispatcher's API (docs/api.md).
 * It connects with subprotocol goldline.v1, sends `hello` with the token (id 1), then the one
 * request (id 2), waits for its reply and, for `subscribe`, keeps passing pushed events to a
 * callback. It runs libwebsockets' own poll loop, since a short-lived command needs no libuv.
 * This is the only file of console/ that includes libwebsockets.h.
 */
#ifndef GL_CTL_WS_H
#define GL_CTL_WS_H

#include <jansson.h>

/* How an exchange ended. */
#define CTL_WS_STATUS_MAP(XX)                                                                      \
    XX(OK, "ok")                                                                                   \
    XX(REFUSED, "the dispatcher refused the request")                                              \
    XX(CONNECT, "cannot connect")                                                                  \
    XX(AUTH, "authentication failed")                                                              \
    XX(CLOSED, "connection closed")                                                                \
    XX(TIMEOUT, "timed out")                                                                       \
    XX(PROTO, "malformed reply")                                                                   \
    XX(INTERRUPTED, "interrupted")                                                                 \
    XX(INTERNAL, "internal error")

typedef enum ctl_ws_status {
#define XX(name, text) CTL_WS_##name,
    CTL_WS_STATUS_MAP(XX)
#undef XX
} ctl_ws_status_t;

/* Returns a static description of a status. */
const char *ctl_ws_status_name(ctl_ws_status_t st);

/*
 * Called for each pushed event (a message with an "event" key) after a successful subscribe.
 * `event` is borrowed for the call. Return 0 to go on, non-zero to stop (status stays OK).
 */
typedef int (*ctl_ws_on_event)(const json_t *event, void *ud);

typedef struct ctl_ws_request {
    const char *host;         /* dispatcher host or IP literal */
    int port;                 /* TCP port */
    const char *path;         /* "/api" */
    const char *token;        /* API token for hello */
    long timeout_ms;          /* limit for connecting and for each reply */
    int verbose;              /* let libwebsockets log errors and warnings */
    const json_t *request;    /* {"op":..., args}; borrowed, the id is added to a copy */
    ctl_ws_on_event on_event; /* non-NULL: stay subscribed and deliver events */
    void *ud;                 /* passed to on_event */
    long max_events;          /* stop after this many events; 0 = until interrupted or closed */
} ctl_ws_request_t;

typedef struct ctl_ws_result {
    ctl_ws_status_t status; /* how it ended */
    int request_sent;       /* 1 once the request (id 2) has been written to the socket */
    json_t *hello;          /* the hello result (has "tz"), or NULL; owned */
    json_t *reply;          /* OK: the result; REFUSED/AUTH: the error object; else NULL; owned */
    long events;            /* events delivered to on_event */
    char message[320];      /* on failure, one line for the operator */
} ctl_ws_result_t;

/*
 * Runs one exchange and fills *res (always, also on failure). Returns 0 when res->status is
 * CTL_WS_OK, else -1. The caller frees res with ctl_ws_result_free().
 */
int ctl_ws_run(const ctl_ws_request_t *req, ctl_ws_result_t *res);

/* Frees the JSON held by res; safe on a zeroed struct. */
void ctl_ws_result_free(ctl_ws_result_t *res);

/*
 * Asks a running ctl_ws_run() to stop (status INTERRUPTED, or OK while watching). Safe to call
 * from a signal handler: it sets a flag and wakes the poll loop through lws' event pipe.
 */
void ctl_ws_interrupt(void);

#endif
