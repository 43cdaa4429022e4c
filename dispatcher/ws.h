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
#include "dispatch.h"

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

/* ---- live vitals and ECG to the receiving emergency department (ws_vitals.c) ------------- */

typedef struct ws_relay_stats {
    unsigned long long frames_in, numerics_in;
    unsigned long long not_relayed;  /* no such incident, or the unit is not the one assigned */
    unsigned long long malformed;
    unsigned long long resent;       /* already relayed (a resend): stored, not sent again */
    unsigned long long streams_started, streams_stopped;
} ws_relay_stats_t;

/* An accepted ECG frame (m->decoded set) of `inc` from `v`: into the incident's backlog and to
 * every session that watches the patient. Frames from a unit that is not the one assigned to
 * `inc` are not relayed. */
void ws_vitals_ecg(ws_t *w, const vehicle_t *v, const incident_t *inc, const ecg_meta_t *m);
/* Accepted numerics, likewise. */
void ws_vitals_numerics(ws_t *w, const vehicle_t *v, const incident_t *inc,
                        const vital_reading_t *r, size_t n);
/* `inc` changed (destination, state): streams move to the sessions that may see it now; a
 * closed or cancelled incident's stream ends. */
void ws_vitals_incident(ws_t *w, const incident_t *inc);
/* Once a second: sessions whose login expired or was logged out stop receiving patient data
 * and pushed events, and are closed. */
void ws_vitals_check_sessions(ws_t *w, int64_t now_ms);
void ws_relay_get_stats(const ws_t *w, ws_relay_stats_t *out);
void ws_free(ws_t *w);

#endif
