/*
 * The websocket and HTTP server of the consoles, libwebsockets on the dispatcher's libuv loop
 * (a "foreign" loop: lws adds its handles to ours and never stops it).
 *
 * ws://HOST:PORT/api with subprotocol goldline.v1 carries the JSON API of docs/api.md: the
 * first message must be a `hello` with the right token, or the connection is refused and
 * closed. GET /healthz answers without a token and says only whether the service and its
 * database are up. Each session has a bounded queue of outgoing messages; a subscriber that
 * does not keep up is disconnected rather than allowed to grow the dispatcher's memory.
 *
 * Nothing outside ws.c includes <libwebsockets.h>.
 */
#ifndef GL_WS_H
#define GL_WS_H

#include "api.h"

#include <jansson.h>
#include <uv.h>

typedef struct ws ws_t;

/*
 * Starts serving on `iface`:`port` ("lo" or "" for every interface) on `loop`. `token` (copied)
 * is the operator token; `api` is borrowed and must outlive the server. Returns 0 and *out, or
 * GL_EIO (logged: e.g. the port is taken).
 */
int ws_open(uv_loop_t *loop, const char *iface, int port, const char *token, api_t *api,
            ws_t **out);

/* Sends `event` (borrowed) to every subscribed session. */
void ws_broadcast(ws_t *w, json_t *event);

/* 1 if any session asked for pushed events (so there is someone to build them for). */
int ws_has_subscribers(const ws_t *w);

/* Sessions now open (authenticated or not). */
int ws_session_count(const ws_t *w);

/*
 * Phase one of shutdown, called while the loop runs (not from inside an lws callback): closes
 * the sessions and asks lws to let go of the loop. After uv_run() has returned, call
 * ws_free() to finish (libwebsockets 4.1 needs both, research/style.md section 7).
 */
void ws_shutdown(ws_t *w);
void ws_free(ws_t *w);

#endif
