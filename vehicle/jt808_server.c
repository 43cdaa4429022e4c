/*
 * The JT/T 808 gateway's sockets and per-connection protocol (contract in jt808_server.h).
 *
 * Ownership: the server owns its listener, its sweep timer and every connection; a connection
 * owns its uv_tcp_t and its write requests. Closing is asynchronous: a connection is marked
 * `closing` and freed in its close callback (never while one of its own callbacks is on the
 * stack), and the server is freed when the last of its handles has called back.
 */
#include "jt808_server.h"

#include "err.h"
#include "log.h"
#include "timeutil.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MOD "jt808"
#define BURST_MS 10000
#define READ_CHUNK 4096

/* XX(NAME, text) */
#define CONN_STATE_MAP(XX)                                                                         \
    XX(NEW, "new")                                                                                 \
    XX(AUTHED, "authed")                                                                           \
    XX(CLOSING, "closing")

typedef enum conn_state {
#define XX(name, text) CONN_STATE_##name,
    CONN_STATE_MAP(XX)
#undef XX
} conn_state_t;

static const char *conn_state_name(conn_state_t st)
{
    switch (st) {
#define XX(name, text)                                                                             \
    case CONN_STATE_##name:                                                                        \
        return text;
        CONN_STATE_MAP(XX)
#undef XX
    }
    return "?";
}

struct conn {
    uv_tcp_t tcp;
    jt808_server_t *srv;
    struct conn *prev, *next; /* in srv->conns */
    uint64_t id;              /* for the logs */
    conn_state_t state;
    char phone[JT808_PHONE_MAX]; /* key of the authenticated terminal ("" before) */
    char vehicle_id[UNIT_ID_MAX];
    unit_session_t *unit; /* borrowed from the link */
    uint16_t out_serial;  /* serial of our next message */
    uint32_t last_alarm;  /* alarm word of the last position, to log changes only */
    int64_t last_rx_ms;   /* loop time of the last byte received */
    unsigned pending_writes;
    gl_log_burst_t bad_burst;    /* malformed input */
    gl_log_burst_t refuse_burst; /* messages refused for state */
    /* Subpacket reassembly of one message at a time. */
    jt808_header_t sp_h; /* header of packet 1 */
    uint16_t sp_next;    /* index expected next; 0 = none in progress */
    uint8_t *sp_buf;
    size_t sp_len;
    jt808_stream_t stream;
    uint8_t rbuf[READ_CHUNK];
};

struct jt808_server {
    uv_loop_t *loop;
    unit_link_t *link;
    jt808_server_config_t cfg;
    char host[64];
    uv_tcp_t listener;
    uv_timer_t sweep;
    int listening;
    int closing;
    int pending_closes;
    void (*on_closed)(void *ctx);
    void *closed_ctx;
    struct conn *conns;
    uint64_t next_conn_id;
    jt808_terminal_t *terms; /* sorted by phone key */
    size_t nterms;
    jt808_server_stats_t st;
};

struct wreq {
    uv_write_t req;
    struct conn *c;
    size_t len;
    uint8_t data[];
};

static void conn_close(struct conn *c);

static void conn_set_state(struct conn *c, conn_state_t to)
{
    LOG_DEBUG(MOD, "conn=%" PRIu64 " %s -> %s", c->id, conn_state_name(c->state),
              conn_state_name(to));
    c->state = to;
}

/* ---------------------------------------------------------------- terminals */

static int cmp_term(const void *a, const void *b)
{
    return strcmp(((const jt808_terminal_t *)a)->phone, ((const jt808_terminal_t *)b)->phone);
}

static const jt808_terminal_t *find_term(const jt808_server_t *s, const char *key)
{
    jt808_terminal_t k;
    memset(&k, 0, sizeof k);
    memcpy(k.phone, key, strnlen(key, JT808_PHONE_MAX - 1));
    return s->nterms ? bsearch(&k, s->terms, s->nterms, sizeof k, cmp_term) : NULL;
}

int jt808_server_set_terminals(jt808_server_t *s, const jt808_terminal_t *t, size_t n)
{
    jt808_terminal_t *tab = calloc(n ? n : 1, sizeof *tab);
    if (!tab)
        return GL_ENOMEM;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        jt808_terminal_t *o = &tab[kept];
        char phone[JT808_PHONE_MAX];
        memcpy(phone, t[i].phone, sizeof phone);
        phone[sizeof phone - 1] = '\0';
        if (jt808_phone_key(phone, o->phone) < 0 || !t[i].vehicle_id[0] ||
            memchr(t[i].vehicle_id, 0, UNIT_ID_MAX) == NULL || !t[i].auth_code[0] ||
            memchr(t[i].auth_code, 0, JT808_AUTH_MAX) == NULL) {
            LOG_WARN(MOD, "terminal row %zu (veh=%.31s) skipped: bad phone, vehicle or code", i,
                     t[i].vehicle_id);
            continue;
        }
        memcpy(o->vehicle_id, t[i].vehicle_id, UNIT_ID_MAX);
        memcpy(o->auth_code, t[i].auth_code, JT808_AUTH_MAX);
        kept++;
    }
    qsort(tab, kept, sizeof *tab, cmp_term);
    for (size_t i = 1; i < kept; i++)
        if (strcmp(tab[i - 1].phone, tab[i].phone) == 0)
            LOG_WARN(MOD, "phone=%s provisioned twice; veh=%s wins", tab[i].phone,
                     tab[i - 1].vehicle_id);
    free(s->terms);
    s->terms = tab;
    s->nterms = kept;
    return (int)kept;
}

/* ---------------------------------------------------------------- writing */

static void on_write(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    struct conn *c = w->c;
    c->pending_writes--;
    if (status < 0 && status != UV_ECANCELED) {
        LOG_INFO(MOD, "conn=%" PRIu64 " phone=%s write failed: %s", c->id,
                 c->phone[0] ? c->phone : "-", uv_strerror(status));
        conn_close(c);
    }
    free(w);
}

/* Encodes and queues one message to the terminal, answering `like`'s version and phone. */
static void send_msg(struct conn *c, const jt808_header_t *like, uint16_t msg_id,
                     const uint8_t *body, size_t body_len)
{
    if (c->state == CONN_STATE_CLOSING)
        return;
    if (c->pending_writes >= c->srv->cfg.max_pending_writes) {
        LOG_WARN(MOD, "conn=%" PRIu64 " phone=%s does not read its replies (%u pending): closing",
                 c->id, c->phone[0] ? c->phone : "-", c->pending_writes);
        conn_close(c);
        return;
    }
    struct wreq *w = malloc(sizeof *w + JT808_FRAME_MAX);
    if (!w) {
        LOG_ERR(MOD, "conn=%" PRIu64 " reply dropped: out of memory", c->id);
        return;
    }
    jt808_header_t h;
    jt808_header_reply(&h, like, msg_id, c->out_serial++);
    if (jt808_encode(&h, body, body_len, w->data, JT808_FRAME_MAX, &w->len) < 0) {
        /* Cannot happen for the bodies built here; a bad phone was refused at decode. */
        LOG_ERR(MOD, "conn=%" PRIu64 " reply 0x%04x not encodable", c->id, msg_id);
        free(w);
        return;
    }
    w->c = c;
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc < 0) {
        LOG_INFO(MOD, "conn=%" PRIu64 " write refused: %s", c->id, uv_strerror(rc));
        free(w);
        conn_close(c);
        return;
    }
    c->pending_writes++;
}

static void send_ack(struct conn *c, const jt808_header_t *h, uint8_t result)
{
    jt808_platform_ack_t a = {h->serial, h->msg_id, result};
    uint8_t body[5];
    jt808_build_platform_ack(&a, body, sizeof body);
    send_msg(c, h, JT808_MSG_PLATFORM_ACK, body, sizeof body);
}

/* ---------------------------------------------------------------- refusals, once per burst */

static void malformed(struct conn *c, jt808_fault_t f, size_t len, const jt808_header_t *h)
{
    unsigned long swallowed = 0;
    c->srv->st.malformed++;
    if (!gl_log_burst_allow(&c->bad_burst, gl_now_ms(), BURST_MS, &swallowed))
        return;
    char more[64] = "";
    if (swallowed)
        snprintf(more, sizeof more, " (%lu more since the last line)", swallowed);
    if (h)
        LOG_WARN(MOD, "conn=%" PRIu64 " phone=%s malformed msg 0x%04x serial %u: %s%s", c->id,
                 h->phone, h->msg_id, h->serial, jt808_fault_text(f), more);
    else
        LOG_WARN(MOD, "conn=%" PRIu64 " phone=%s malformed frame of %zu bytes: %s%s", c->id,
                 c->phone[0] ? c->phone : "-", len, jt808_fault_text(f), more);
}

static void refuse(struct conn *c, const jt808_header_t *h, const char *why)
{
    unsigned long swallowed = 0;
    if (gl_log_burst_allow(&c->refuse_burst, gl_now_ms(), BURST_MS, &swallowed)) {
        char more[64] = "";
        if (swallowed)
            snprintf(more, sizeof more, " (%lu more since the last line)", swallowed);
        LOG_WARN(MOD, "conn=%" PRIu64 " phone=%s msg 0x%04x refused: %s%s", c->id, h->phone,
                 h->msg_id, why, more);
    }
    send_ack(c, h, JT808_ACK_FAILURE);
}

/* ---------------------------------------------------------------- positions */

static void on_order(unit_session_t *u, const unit_order_t *o, void *ctx)
{
    /* A JT/T 808 terminal has no crew screen we drive: the order is acknowledged on the wire
     * by the session and left to the crew's other means (radio, the console). */
    LOG_INFO(MOD, "veh=%s inc=%s %s received; JT/T 808 terminals do not display orders",
             unit_session_id(u), o->incident_id,
             unit_order_kind_name(o->kind));
}

/* Hands one position to the unit; returns 1 if forwarded. */
static int forward(struct conn *c, const jt808_location_t *loc)
{
    jt808_server_t *s = c->srv;
    if ((loc->alarm & JT808_ALARM_EMERGENCY) && !(c->last_alarm & JT808_ALARM_EMERGENCY))
        LOG_WARN(MOD, "veh=%s phone=%s emergency alarm raised on the terminal", c->vehicle_id,
                 c->phone);
    if (loc->alarm != c->last_alarm)
        LOG_INFO(MOD, "veh=%s alarm word 0x%08" PRIx32 " -> 0x%08" PRIx32, c->vehicle_id,
                 c->last_alarm, loc->alarm);
    c->last_alarm = loc->alarm;
    int64_t t = loc->time_ms;
    if (loc->time_valid && s->cfg.tz_offset_min != JT808_TZ_OFFSET_MIN &&
        jt808_bcd_time_to_ms(loc->time_bcd, s->cfg.tz_offset_min, &t) < 0)
        t = 0;
    if (!(loc->status & JT808_STATUS_FIXED) || !loc->time_valid || t <= 0 ||
        loc->lat_1e6 < -90000000 || loc->lat_1e6 > 90000000 || loc->lon_1e6 < -180000000 ||
        loc->lon_1e6 > 180000000) {
        s->st.no_fix++;
        LOG_DEBUG(MOD, "veh=%s position not forwarded (status 0x%08" PRIx32 ")", c->vehicle_id,
                  loc->status);
        return 0;
    }
    unit_fix_t fix;
    unit_fix_init(&fix, loc->lat_1e6 / 1e6, loc->lon_1e6 / 1e6, t);
    fix.speed_mps = (float)(loc->speed_01kmh / 36.0);
    if (loc->direction < 360)
        fix.heading_deg = (float)loc->direction;
    fix.alt_m = (float)loc->alt_m;
    if (loc->have & JT808_LOC_SATS)
        fix.satellites = loc->sats;
    int rc = unit_session_send_fix(c->unit, &fix);
    if (rc < 0) {
        LOG_WARN(MOD, "veh=%s fix not sent: %s", c->vehicle_id, gl_strerror(rc));
        return 0;
    }
    s->st.fixes++;
    return 1;
}

static void handle_location(struct conn *c, const jt808_header_t *h, const uint8_t *body,
                            size_t len)
{
    jt808_location_t loc;
    jt808_fault_t f;
    if (jt808_parse_location(body, len, &loc, &f) < 0) {
        malformed(c, f, len, h);
        send_ack(c, h, JT808_ACK_MSG_ERROR);
        return;
    }
    forward(c, &loc);
    send_ack(c, h, JT808_ACK_OK);
}

static void handle_batch(struct conn *c, const jt808_header_t *h, const uint8_t *body, size_t len)
{
    jt808_batch_t b;
    jt808_location_t loc;
    jt808_fault_t f;
    int rc = jt808_batch_begin(&b, body, len, &f);
    while (rc == 0 && (rc = jt808_batch_next(&b, &loc, &f)) == 1) {
        forward(c, &loc);
        rc = 0;
    }
    if (rc < 0) {
        /* Positions before the fault were forwarded; the terminal is told the message erred. */
        malformed(c, f, len, h);
        send_ack(c, h, JT808_ACK_MSG_ERROR);
        return;
    }
    LOG_DEBUG(MOD, "veh=%s batch of %u (%s)", c->vehicle_id, b.count,
              b.type ? "blind-area supplement" : "normal");
    send_ack(c, h, JT808_ACK_OK);
}

/* ---------------------------------------------------------------- registration, auth */

static void handle_register(struct conn *c, const jt808_header_t *h, const uint8_t *body,
                            size_t len)
{
    jt808_server_t *s = c->srv;
    jt808_register_t r;
    jt808_fault_t f;
    char key[JT808_PHONE_MAX];
    jt808_register_reply_t reply;
    memset(&reply, 0, sizeof reply);
    reply.ack_serial = h->serial;
    if (jt808_parse_register(body, len, h->version, &r, &f) < 0) {
        malformed(c, f, len, h);
        send_ack(c, h, JT808_ACK_MSG_ERROR);
        return;
    }
    const jt808_terminal_t *t = jt808_phone_key(h->phone, key) == 0 ? find_term(s, key) : NULL;
    if (!t) {
        reply.result = JT808_REG_NO_TERMINAL;
        s->st.register_refused++;
        LOG_WARN(MOD,
                 "conn=%" PRIu64 " phone=%s registration refused: not provisioned "
                 "(model %.20s, terminal id %.30s)",
                 c->id, h->phone, r.model, r.terminal_id);
    } else {
        reply.result = JT808_REG_OK;
        memcpy(reply.auth_code, t->auth_code, sizeof reply.auth_code);
        s->st.registered++;
        LOG_INFO(MOD, "conn=%" PRIu64 " phone=%s veh=%s registered (%d layout, model %.20s)", c->id,
                 key, t->vehicle_id, r.layout, r.model);
        if (s->cfg.on_registered)
            s->cfg.on_registered(s->cfg.ctx, key, t->vehicle_id);
    }
    uint8_t out[3 + JT808_AUTH_MAX];
    size_t n = jt808_build_register_reply(&reply, out, sizeof out);
    send_msg(c, h, JT808_MSG_REGISTER_REPLY, out, n);
}

static void handle_auth(struct conn *c, const jt808_header_t *h, const uint8_t *body, size_t len)
{
    jt808_server_t *s = c->srv;
    jt808_auth_t a;
    jt808_fault_t f;
    char key[JT808_PHONE_MAX];
    if (jt808_parse_auth(body, len, h->version, &a, &f) < 0) {
        malformed(c, f, len, h);
        send_ack(c, h, JT808_ACK_MSG_ERROR);
        return;
    }
    const jt808_terminal_t *t = jt808_phone_key(h->phone, key) == 0 ? find_term(s, key) : NULL;
    if (!t || strcmp(t->auth_code, a.code) != 0) {
        s->st.auth_refused++;
        LOG_WARN(MOD, "conn=%" PRIu64 " phone=%s authentication refused: %s", c->id, h->phone,
                 t ? "wrong code" : "not provisioned");
        send_ack(c, h, JT808_ACK_FAILURE);
        return;
    }
    unit_session_t *u = unit_link_find(s->link, t->vehicle_id);
    if (!u) {
        int rc = unit_link_add_unit(s->link, t->vehicle_id, (uint64_t)gl_now_ms(), on_order, s, &u);
        if (rc < 0) {
            LOG_ERR(MOD, "veh=%s cannot be added to the link: %s", t->vehicle_id, gl_strerror(rc));
            send_ack(c, h, JT808_ACK_FAILURE);
            return;
        }
    }
    c->unit = u;
    memcpy(c->phone, key, sizeof c->phone);
    memcpy(c->vehicle_id, t->vehicle_id, sizeof c->vehicle_id);
    s->st.authenticated++;
    LOG_INFO(MOD, "conn=%" PRIu64 " phone=%s veh=%s authenticated", c->id, key, c->vehicle_id);
    conn_set_state(c, CONN_STATE_AUTHED);
    send_ack(c, h, JT808_ACK_OK);
}

/* ---------------------------------------------------------------- dispatch */

/* The state machine proper: one complete (reassembled) message in the connection's state. */
static void handle_msg(struct conn *c, const jt808_header_t *h, const uint8_t *body, size_t len)
{
    jt808_server_t *s = c->srv;
    char key[JT808_PHONE_MAX];
    switch (c->state) {
    case CONN_STATE_NEW:
        switch (h->msg_id) {
        case JT808_MSG_REGISTER:
            handle_register(c, h, body, len);
            return;
        case JT808_MSG_AUTH:
            handle_auth(c, h, body, len);
            return;
        case JT808_MSG_TERMINAL_ACK:
            return;
        default:
            s->st.unauthenticated++;
            refuse(c, h, "not authenticated");
            return;
        }
    case CONN_STATE_AUTHED:
        if (jt808_phone_key(h->phone, key) < 0 || strcmp(key, c->phone) != 0) {
            s->st.unauthenticated++;
            refuse(c, h, "phone number differs from the authenticated one");
            return;
        }
        switch (h->msg_id) {
        case JT808_MSG_LOCATION:
            handle_location(c, h, body, len);
            return;
        case JT808_MSG_BATCH:
            handle_batch(c, h, body, len);
            return;
        case JT808_MSG_HEARTBEAT:
            send_ack(c, h, JT808_ACK_OK);
            return;
        case JT808_MSG_REGISTER:
            handle_register(c, h, body, len);
            return;
        case JT808_MSG_AUTH:
            handle_auth(c, h, body, len);
            return;
        case JT808_MSG_LOGOUT:
            LOG_INFO(MOD, "conn=%" PRIu64 " phone=%s veh=%s logged out", c->id, c->phone,
                     c->vehicle_id);
            send_ack(c, h, JT808_ACK_OK);
            c->phone[0] = c->vehicle_id[0] = '\0';
            c->unit = NULL;
            conn_set_state(c, CONN_STATE_NEW);
            return;
        case JT808_MSG_TERMINAL_ACK:
            return;
        default:
            s->st.unsupported++;
            LOG_DEBUG(MOD, "conn=%" PRIu64 " msg 0x%04x not supported", c->id, h->msg_id);
            send_ack(c, h, JT808_ACK_UNSUPPORTED);
            return;
        }
    case CONN_STATE_CLOSING:
        return;
    }
}

static void subpacket_reset(struct conn *c)
{
    free(c->sp_buf);
    c->sp_buf = NULL;
    c->sp_len = 0;
    c->sp_next = 0;
}

/* One packet of a subpacketed message: append in order, hand the whole on after the last. */
static void handle_subpacket(struct conn *c, const jt808_msg_t *m)
{
    const jt808_header_t *h = &m->h;
    if (h->pkt_total == 0 || h->pkt_index == 0 || h->pkt_index > h->pkt_total) {
        malformed(c, JT808_FAULT_BODY, m->body_len, h);
        send_ack(c, h, JT808_ACK_MSG_ERROR);
        return;
    }
    if (h->pkt_index == 1) {
        subpacket_reset(c);
        c->sp_h = *h;
        c->sp_next = 1;
    } else if (c->sp_next != h->pkt_index || c->sp_h.msg_id != h->msg_id ||
               c->sp_h.pkt_total != h->pkt_total) {
        subpacket_reset(c);
        malformed(c, JT808_FAULT_COUNT, m->body_len, h);
        send_ack(c, h, JT808_ACK_MSG_ERROR);
        return;
    }
    if (c->sp_len + m->body_len > JT808_SERVER_REASSEMBLY_MAX) {
        subpacket_reset(c);
        malformed(c, JT808_FAULT_TOO_BIG, m->body_len, h);
        send_ack(c, h, JT808_ACK_MSG_ERROR);
        return;
    }
    uint8_t *nb = realloc(c->sp_buf, c->sp_len + m->body_len + 1);
    if (!nb) {
        subpacket_reset(c);
        send_ack(c, h, JT808_ACK_FAILURE);
        return;
    }
    c->sp_buf = nb;
    memcpy(c->sp_buf + c->sp_len, m->body, m->body_len);
    c->sp_len += m->body_len;
    if (h->pkt_index < h->pkt_total) {
        c->sp_next++;
        send_ack(c, h, JT808_ACK_OK);
        return;
    }
    /* The whole message answers under the serial of its first packet. */
    jt808_header_t whole = c->sp_h;
    whole.subpacket = 0;
    uint8_t *buf = c->sp_buf;
    size_t len = c->sp_len;
    c->sp_buf = NULL;
    subpacket_reset(c);
    handle_msg(c, &whole, buf, len);
    free(buf);
}

static int on_frame(void *ctx, const uint8_t *msg, size_t len, jt808_fault_t fault)
{
    struct conn *c = ctx;
    jt808_msg_t m;
    if (fault != JT808_FAULT_NONE) {
        malformed(c, fault, len, NULL);
    } else if (jt808_decode(msg, len, &m, &fault) < 0) {
        malformed(c, fault, len, NULL);
    } else {
        c->srv->st.frames++;
        if (m.h.encryption) {
            c->srv->st.unsupported++;
            send_ack(c, &m.h, JT808_ACK_UNSUPPORTED);
        } else if (m.h.subpacket) {
            handle_subpacket(c, &m);
        } else {
            handle_msg(c, &m.h, m.body, m.body_len);
        }
    }
    return c->state == CONN_STATE_CLOSING;
}

/* ---------------------------------------------------------------- connections */

static void on_conn_closed(uv_handle_t *hd)
{
    struct conn *c = hd->data;
    jt808_server_t *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->st.conns--;
    free(c->sp_buf);
    free(c);
    if (s->closing && --s->pending_closes == 0) {
        void (*cb)(void *) = s->on_closed;
        void *ctx = s->closed_ctx;
        free(s->terms);
        free(s);
        if (cb)
            cb(ctx);
    }
}

static void conn_close(struct conn *c)
{
    if (c->state == CONN_STATE_CLOSING)
        return;
    LOG_DEBUG(MOD, "conn=%" PRIu64 " phone=%s closing", c->id, c->phone[0] ? c->phone : "-");
    conn_set_state(c, CONN_STATE_CLOSING);
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = hd->data;
    *buf = uv_buf_init((char *)c->rbuf, sizeof c->rbuf);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = st->data;
    if (nread < 0) {
        if (nread != UV_EOF)
            LOG_INFO(MOD, "conn=%" PRIu64 " phone=%s read: %s", c->id, c->phone[0] ? c->phone : "-",
                     uv_strerror((int)nread));
        conn_close(c);
        return;
    }
    if (nread == 0 || c->state == CONN_STATE_CLOSING)
        return;
    c->last_rx_ms = (int64_t)uv_now(c->srv->loop);
    jt808_stream_feed(&c->stream, (const uint8_t *)buf->base, (size_t)nread, on_frame, c);
}

static void on_connection(uv_stream_t *server, int status)
{
    jt808_server_t *s = server->data;
    if (status < 0) {
        LOG_WARN(MOD, "accept: %s", uv_strerror(status));
        return;
    }
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        LOG_ERR(MOD, "connection dropped: out of memory");
        return;
    }
    uv_tcp_init(s->loop, &c->tcp);
    c->tcp.data = c;
    c->srv = s;
    c->id = ++s->next_conn_id;
    c->state = CONN_STATE_NEW;
    c->last_rx_ms = (int64_t)uv_now(s->loop);
    jt808_stream_init(&c->stream);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->st.conns++;
    int rc = uv_accept(server, (uv_stream_t *)&c->tcp);
    if (rc < 0) {
        LOG_WARN(MOD, "accept: %s", uv_strerror(rc));
        conn_close(c);
        return;
    }
    if (s->st.conns > s->cfg.max_conns) {
        s->st.refused_conns++;
        LOG_WARN(MOD, "conn=%" PRIu64 " refused: %zu connections already", c->id, s->cfg.max_conns);
        conn_close(c);
        return;
    }
    s->st.accepted++;
    LOG_DEBUG(MOD, "conn=%" PRIu64 " accepted", c->id);
    if ((rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read)) < 0) {
        LOG_WARN(MOD, "conn=%" PRIu64 " read start: %s", c->id, uv_strerror(rc));
        conn_close(c);
    }
}

static void on_sweep(uv_timer_t *t)
{
    jt808_server_t *s = t->data;
    int64_t now = (int64_t)uv_now(s->loop);
    for (struct conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (c->state != CONN_STATE_CLOSING && now - c->last_rx_ms >= (int64_t)s->cfg.idle_ms) {
            LOG_INFO(MOD, "conn=%" PRIu64 " phone=%s idle for %" PRIu64 " ms: closing", c->id,
                     c->phone[0] ? c->phone : "-", s->cfg.idle_ms);
            conn_close(c);
        }
    }
}

/* ---------------------------------------------------------------- server */

int jt808_server_new(uv_loop_t *loop, const jt808_server_config_t *cfg, unit_link_t *link,
                     jt808_server_t **out)
{
    *out = NULL;
    if (!loop || !cfg || !link || cfg->port < 0 || cfg->port > 65535 ||
        cfg->tz_offset_min < -14 * 60 || cfg->tz_offset_min > 14 * 60)
        return GL_EINVAL;
    const char *host = cfg->host ? cfg->host : JT808_SERVER_HOST;
    jt808_server_t *s = calloc(1, sizeof *s);
    if (!s)
        return GL_ENOMEM;
    if (strlen(host) >= sizeof s->host) {
        free(s);
        return GL_EINVAL;
    }
    strcpy(s->host, host);
    s->loop = loop;
    s->link = link;
    s->cfg = *cfg;
    s->cfg.host = s->host;
    if (!s->cfg.max_conns)
        s->cfg.max_conns = 1024;
    if (!s->cfg.idle_ms)
        s->cfg.idle_ms = 180000;
    if (!s->cfg.max_pending_writes)
        s->cfg.max_pending_writes = 64;
    *out = s;
    return 0;
}

int jt808_server_listen(jt808_server_t *s)
{
    struct sockaddr_storage addr;
    int rc = uv_ip4_addr(s->host, s->cfg.port, (struct sockaddr_in *)&addr);
    if (rc < 0)
        rc = uv_ip6_addr(s->host, s->cfg.port, (struct sockaddr_in6 *)&addr);
    if (rc < 0) {
        LOG_ERR(MOD, "listen address %s is not a numeric address", s->host);
        return rc;
    }
    if (s->listening)
        return UV_EALREADY;
    uv_tcp_init(s->loop, &s->listener);
    uv_timer_init(s->loop, &s->sweep);
    s->listener.data = s->sweep.data = s;
    s->listening = 1;
    uint64_t every = s->cfg.idle_ms / 4 ? s->cfg.idle_ms / 4 : 1;
    uv_timer_start(&s->sweep, on_sweep, every > 1000 ? 1000 : every, every > 1000 ? 1000 : every);
    if ((rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0)) < 0 ||
        (rc = uv_listen((uv_stream_t *)&s->listener, 128, on_connection)) < 0) {
        LOG_ERR(MOD, "cannot listen on %s:%d: %s", s->host, s->cfg.port, uv_strerror(rc));
        return rc;
    }
    LOG_INFO(MOD, "listening on %s:%d, %zu terminals provisioned", s->host, jt808_server_port(s),
             s->nterms);
    return 0;
}

int jt808_server_port(const jt808_server_t *s)
{
    struct sockaddr_storage addr;
    int len = sizeof addr;
    if (!s->listening || uv_tcp_getsockname(&s->listener, (struct sockaddr *)&addr, &len) < 0)
        return -1;
    if (addr.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
    return ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

void jt808_server_get_stats(const jt808_server_t *s, jt808_server_stats_t *out)
{
    *out = s->st;
}

static void on_server_handle_closed(uv_handle_t *hd)
{
    jt808_server_t *s = hd->data;
    if (--s->pending_closes == 0) {
        void (*cb)(void *) = s->on_closed;
        void *ctx = s->closed_ctx;
        free(s->terms);
        free(s);
        if (cb)
            cb(ctx);
    }
}

void jt808_server_close(jt808_server_t *s, void (*cb)(void *ctx), void *ctx)
{
    if (!s || s->closing)
        return;
    s->closing = 1;
    s->on_closed = cb;
    s->closed_ctx = ctx;
    /* +1 so that nothing completes before every close below is issued. */
    s->pending_closes = 1;
    for (struct conn *c = s->conns; c; c = c->next) {
        s->pending_closes++;
        if (c->state != CONN_STATE_CLOSING)
            conn_close(c);
    }
    if (s->listening) {
        s->pending_closes += 2;
        uv_close((uv_handle_t *)&s->listener, on_server_handle_closed);
        uv_close((uv_handle_t *)&s->sweep, on_server_handle_closed);
    }
    if (--s->pending_closes == 0) {
        free(s->terms);
        free(s);
        if (cb)
            cb(ctx);
    }
}
