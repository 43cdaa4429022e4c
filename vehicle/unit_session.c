/*
 * One unit's protocol state: seqs, the resend queue, downlink de-duplication and decoding (see
 * unit_session.h for the rules). Everything here is synchronous and socket-free; time comes from
 * the io clock, bytes leave through the io send function. Unacknowledged envelopes live either in
 * the in-memory uplink_queue or in an on-disk spool (spool.h); the q_* helpers below hide which.
 */
#include "unit_session.h"

#include "err.h"
#include "geo.h"
#include "goldline.pb-c.h"
#include "log.h"
#include "uplink_queue.h"

#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BURST_MS 10000      /* one log line per burst of bad input, then one per 10 s */
#define DOWN_WINDOW 64      /* downlink seqs below the highest one remembered */
#define STACK_ENVELOPE 512 /* GpsFix, StatusChange and Ack envelopes (sealed) fit on the stack */

#define XX(name, value, text)                                                                     \
    _Static_assert((int)UNIT_STATUS_##name == (int)GOLDLINE__VEHICLE_STATUS__##name,             \
                   "unit_status_t follows the proto");
UNIT_STATUS_MAP(XX)
#undef XX

struct unit_session {
    char id[UNIT_ID_MAX];
    size_t id_len;
    uint64_t next_seq;          /* seq of the next uplink envelope */
    uplink_queue_t q;           /* sent, not yet acknowledged (no spool) */
    spool_t *spool;             /* the on-disk spool, or NULL */
    int sealed;                 /* 1: key below seals every envelope */
    seal_key_t key;
    int64_t last_ack_rx_ms;     /* when the last dispatcher Ack arrived; 0: never */
    int64_t down_max_sent_at;   /* sent_at of the order with seq down_max */
    unit_session_limits_t lim;
    uint64_t down_max;          /* highest Assignment/Cancel seq received, 0 if none */
    uint64_t down_window;       /* bit i set: seq down_max - i was received */
    unit_session_io_t io;
    unit_on_order on_order;
    void *ctx;
    gl_log_burst_t bad_burst;   /* malformed downlink */
    gl_log_burst_t drop_burst;  /* queue overflow */
    gl_log_burst_t send_burst;  /* socket refused */
    gl_log_burst_t forged_burst; /* downlink that did not authenticate, or replayed */
    gl_log_burst_t spool_burst; /* spool write failures */
    unit_session_stats_t st;
};

const char *unit_status_name(unit_status_t st)
{
    switch (st) {
#define XX(name, value, text)                                                                     \
    case UNIT_STATUS_##name:                                                                      \
        return text;
        UNIT_STATUS_MAP(XX)
#undef XX
    case UNIT_STATUS_UNKNOWN:
        break;
    }
    return "unknown";
}

void unit_fix_init(unit_fix_t *f, double lat, double lon, int64_t fix_time_ms)
{
    f->lat = lat;
    f->lon = lon;
    f->fix_time_ms = fix_time_ms;
    f->speed_mps = f->heading_deg = f->hdop = f->alt_m = NAN;
    f->satellites = -1;
}

int unit_session_new_opts(const char *id, const unit_session_opts_t *opts,
                          const unit_session_io_t *io, unit_on_order on_order, void *ctx,
                          unit_session_t **out)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n >= UNIT_ID_MAX || !io || !io->send || !io->now_ms)
        return GL_EINVAL;
    unit_session_t *s = calloc(1, sizeof *s);
    if (!s)
        return GL_ENOMEM;
    memcpy(s->id, id, n + 1);
    s->id_len = n;
    s->next_seq = opts && opts->first_seq ? opts->first_seq : 1;
    if (opts && opts->limits)
        s->lim = *opts->limits;
    if (!s->lim.queue_max)
        s->lim.queue_max = UNIT_QUEUE_MAX_DEFAULT;
    if (s->lim.resend_ms <= 0)
        s->lim.resend_ms = UNIT_RESEND_MS_DEFAULT;
    if (s->lim.resend_max_ms < s->lim.resend_ms)
        s->lim.resend_max_ms = s->lim.resend_ms > UNIT_RESEND_MAX_MS_DEFAULT
                                   ? s->lim.resend_ms
                                   : UNIT_RESEND_MAX_MS_DEFAULT;
    if (!s->lim.resend_batch)
        s->lim.resend_batch = UNIT_RESEND_BATCH_DEFAULT;
    if (opts && opts->key) {
        s->key = *opts->key;
        s->sealed = 1;
    }
    int rc;
    if (opts && opts->spool_path) {
        rc = spool_open(opts->spool_path, id, &opts->spool, &s->spool);
        if (rc < 0)
            goto fail;
        /* A brand-new spool starts at first_seq; an old one continues above what it used. */
        if (spool_next_seq(s->spool) > s->next_seq)
            s->next_seq = spool_next_seq(s->spool);
    } else if ((rc = uplink_queue_init(&s->q, s->lim.queue_max)) < 0) {
        goto fail;
    }
    s->io = *io;
    s->on_order = on_order;
    s->ctx = ctx;
    *out = s;
    return 0;

fail:
    sodium_memzero(&s->key, sizeof s->key);
    free(s);
    return rc;
}

int unit_session_new(const char *id, uint64_t first_seq, const unit_session_limits_t *limits,
                     const unit_session_io_t *io, unit_on_order on_order, void *ctx,
                     unit_session_t **out)
{
    if (first_seq == 0)
        return GL_EINVAL;
    unit_session_opts_t o = {.first_seq = first_seq, .limits = limits};
    return unit_session_new_opts(id, &o, io, on_order, ctx, out);
}

void unit_session_free(unit_session_t *s)
{
    if (!s)
        return;
    if (s->spool)
        spool_close(s->spool);
    else
        uplink_queue_close(&s->q);
    sodium_memzero(&s->key, sizeof s->key);
    free(s);
}

int unit_session_sealed(const unit_session_t *s)
{
    return s->sealed;
}

/* ---- the queue of unacknowledged envelopes: in memory or spooled ---- */

static size_t q_count(const unit_session_t *s)
{
    return s->spool ? spool_count(s->spool) : uplink_queue_count(&s->q);
}

static uplink_entry_t *q_at(const unit_session_t *s, size_t i)
{
    return s->spool ? spool_at(s->spool, i) : uplink_queue_at(&s->q, i);
}

static size_t q_ack(unit_session_t *s, uint64_t up_to)
{
    return s->spool ? spool_ack(s->spool, up_to) : uplink_queue_ack(&s->q, up_to);
}

/* Records that seqs below next_seq are used, for a restart (spool only). */
static void q_note_seq(unit_session_t *s)
{
    if (s->spool && spool_note_seq(s->spool, s->next_seq) < 0)
        s->st.spool_errors++;
}

const char *unit_session_id(const unit_session_t *s)
{
    return s->id;
}

uint64_t unit_session_next_seq(const unit_session_t *s)
{
    return s->next_seq;
}

uint64_t unit_session_downlink_seq(const unit_session_t *s)
{
    return s->down_max;
}

void unit_session_get_stats(const unit_session_t *s, unit_session_stats_t *out)
{
    *out = s->st;
    out->queued = q_count(s);
}

/* Hands bytes to the socket, counting (and logging once per burst) a refusal. */
static void transmit(unit_session_t *s, const void *buf, size_t len, int64_t now)
{
    int rc = s->io.send(s->io.ctx, buf, len);
    if (rc == 0)
        return;
    s->st.send_errors++;
    unsigned long swallowed;
    if (gl_log_burst_allow(&s->send_burst, now, BURST_MS, &swallowed))
        LOG_WARN("unit", "veh=%s uplink send refused: %s (%lu more since last line)", s->id,
                 gl_strerror(rc), swallowed);
}

/*
 * Packs `up` (stamped by the caller) and seals it when the session has a key. The bytes are in
 * *out (*out_len): `stack` (STACK_ENVELOPE bytes) when they fit, else a buffer to free in *heap.
 */
static int frame(unit_session_t *s, const Goldline__Uplink *up, unsigned char *stack,
                 unsigned char **out, size_t *out_len, unsigned char **heap)
{
    *heap = NULL;
    size_t len = goldline__uplink__get_packed_size(up);
    if (len > UNIT_ENVELOPE_MAX)
        return GL_EINVAL;
    size_t extra = s->sealed ? seal_overhead(SEAL_UPLINK, s->id_len) : 0;
    /* Sealed: the plain envelope goes first in the buffer, the sealed one after it. */
    size_t need = s->sealed ? 2 * len + extra : len;
    unsigned char *buf = stack;
    if (need > STACK_ENVELOPE && !(buf = *heap = malloc(need)))
        return GL_ENOMEM;
    goldline__uplink__pack(up, buf);
    if (!s->sealed) {
        *out = buf;
        *out_len = len;
        return 0;
    }
    int rc = seal_seal(&s->key, SEAL_UPLINK, s->id, buf, len, buf + len, len + extra, out_len);
    if (rc < 0) {
        free(*heap);
        *heap = NULL;
        return rc;
    }
    *out = buf + len;
    return 0;
}

/* Stamps, packs, seals, queues (or spools) and sends an envelope that waits for an Ack. */
static int send_queued(unit_session_t *s, Goldline__Uplink *up, uplink_kind_t kind)
{
    int64_t now = s->io.now_ms(s->io.ctx);
    unsigned char stack[STACK_ENVELOPE];
    unsigned char *buf, *heap;
    size_t len;
    up->vehicle_id = s->id;
    up->seq = s->next_seq;
    up->sent_at_ms = now;
    int rc = frame(s, up, stack, &buf, &len, &heap);
    if (rc < 0)
        return rc;
    uint64_t dropped = 0;
    if (s->spool)
        rc = spool_push(s->spool, up->seq, now, now, kind, buf, len, &dropped, NULL);
    else
        rc = uplink_queue_push(&s->q, up->seq, now, now, kind, buf, len, &dropped, NULL);
    unsigned long swallowed;
    if (rc == GL_ENOSPC) {
        /* Nothing may be dropped for it (a spool full of status changes): send it once. */
        s->next_seq++;
        q_note_seq(s);
        s->st.dropped++;
        if (gl_log_burst_allow(&s->drop_burst, now, BURST_MS, &swallowed))
            LOG_ERR("unit", "veh=%s spool full of status changes: seq=%" PRIu64
                    " sent once, not kept (%lu more since last line)", s->id, up->seq,
                    swallowed);
        transmit(s, buf, len, now);
        free(heap);
        return GL_ENOSPC;
    }
    if (rc == GL_EIO) {
        /* The spool kept it in memory; it is resent until acknowledged, but a restart loses it. */
        s->st.spool_errors++;
        if (gl_log_burst_allow(&s->spool_burst, now, BURST_MS, &swallowed))
            LOG_ERR("unit", "veh=%s spool write failed: seq=%" PRIu64
                    " kept in memory only (%lu more since last line)", s->id, up->seq,
                    swallowed);
        rc = 0;
    }
    if (rc < 0) {
        free(heap);
        return rc;
    }
    s->next_seq++;
    if (rc > 0) {
        s->st.dropped += (uint64_t)rc;
        if (gl_log_burst_allow(&s->drop_burst, now, BURST_MS, &swallowed))
            LOG_WARN("unit", "veh=%s uplink %s full: dropped %d unacknowledged, last seq=%" PRIu64
                     " (%lu more since last line)",
                     s->id, s->spool ? "spool" : "queue", rc, dropped, swallowed);
    }
    s->st.sent++;
    transmit(s, buf, len, now);
    free(heap);
    return 0;
}

int unit_session_send_fix(unit_session_t *s, const unit_fix_t *f)
{
    if (!geo_point_valid(f->lat, f->lon))
        return GL_EINVAL;
    Goldline__GpsFix g = GOLDLINE__GPS_FIX__INIT;
    g.lat = f->lat;
    g.lon = f->lon;
    g.fix_time_ms = f->fix_time_ms;
    if (isfinite(f->speed_mps)) {
        g.has_speed_mps = 1;
        g.speed_mps = f->speed_mps;
    }
    if (isfinite(f->heading_deg)) {
        g.has_heading_deg = 1;
        g.heading_deg = f->heading_deg;
    }
    if (isfinite(f->hdop)) {
        g.has_hdop = 1;
        g.hdop = f->hdop;
    }
    if (isfinite(f->alt_m)) {
        g.has_alt_m = 1;
        g.alt_m = f->alt_m;
    }
    if (f->satellites >= 0) {
        g.has_satellites = 1;
        g.satellites = (uint32_t)f->satellites;
    }
    Goldline__Uplink up = GOLDLINE__UPLINK__INIT;
    up.body_case = GOLDLINE__UPLINK__BODY_GPS;
    up.gps = &g;
    return send_queued(s, &up, UPLINK_KIND_GPS);
}

int unit_session_send_status(unit_session_t *s, unit_status_t st, const char *incident_id,
                             int64_t at_ms)
{
    if (st < UNIT_STATUS_AVAILABLE || st > UNIT_STATUS_OUT_OF_SERVICE)
        return GL_EINVAL;
    if (incident_id && strlen(incident_id) >= UNIT_INCIDENT_MAX)
        return GL_EINVAL;
    Goldline__StatusChange sc = GOLDLINE__STATUS_CHANGE__INIT;
    sc.status = (Goldline__VehicleStatus)st;
    sc.incident_id = incident_id && *incident_id ? (char *)incident_id : NULL;
    sc.at_ms = at_ms;
    Goldline__Uplink up = GOLDLINE__UPLINK__INIT;
    up.body_case = GOLDLINE__UPLINK__BODY_STATUS;
    up.status = &sc;
    int rc = send_queued(s, &up, UPLINK_KIND_STATUS);
    if (rc == 0)
        LOG_DEBUG("unit", "veh=%s status=%s inc=%s seq=%" PRIu64, s->id, unit_status_name(st),
                  sc.incident_id ? sc.incident_id : "-", s->next_seq - 1);
    return rc;
}

int unit_session_send_vitals(unit_session_t *s, const Goldline__VitalsNumerics *v)
{
    if (!v || v->n_numerics == 0)
        return GL_EINVAL;
    if (v->incident_id && strlen(v->incident_id) >= UNIT_INCIDENT_MAX)
        return GL_EINVAL;
    Goldline__Uplink up = GOLDLINE__UPLINK__INIT;
    up.body_case = GOLDLINE__UPLINK__BODY_VITALS;
    up.vitals = (Goldline__VitalsNumerics *)v; /* only read by the packer */
    return send_queued(s, &up, UPLINK_KIND_VITALS);
}

int unit_session_send_ecg(unit_session_t *s, const Goldline__EcgFrame *ecg)
{
    if (!ecg || ecg->n_lead_codes == 0 || ecg->sample_rate_hz == 0)
        return GL_EINVAL;
    if (ecg->n_lead_names != 0 && ecg->n_lead_names != ecg->n_lead_codes)
        return GL_EINVAL;
    if ((uint64_t)ecg->n_lead_codes * ecg->samples_per_lead != ecg->n_samples)
        return GL_EINVAL;
    if (ecg->incident_id && strlen(ecg->incident_id) >= UNIT_INCIDENT_MAX)
        return GL_EINVAL;
    Goldline__Uplink up = GOLDLINE__UPLINK__INIT;
    up.body_case = GOLDLINE__UPLINK__BODY_ECG;
    up.ecg = (Goldline__EcgFrame *)ecg; /* only read by the packer */
    return send_queued(s, &up, UPLINK_KIND_ECG);
}

/* Acknowledges every Assignment/Cancel received so far. Acks are not queued (see the header). */
static void send_ack(unit_session_t *s)
{
    int64_t now = s->io.now_ms(s->io.ctx);
    Goldline__Ack ack = GOLDLINE__ACK__INIT;
    ack.up_to_seq = s->down_max;
    Goldline__Uplink up = GOLDLINE__UPLINK__INIT;
    up.vehicle_id = s->id;
    up.seq = s->next_seq++;
    up.sent_at_ms = now;
    up.body_case = GOLDLINE__UPLINK__BODY_ACK;
    up.ack = &ack;
    q_note_seq(s);
    unsigned char stack[STACK_ENVELOPE];
    unsigned char *buf, *heap;
    size_t len;
    if (frame(s, &up, stack, &buf, &len, &heap) < 0)
        return; /* cannot happen: the id is bounded, so the Ack fits on the stack */
    s->st.acks_sent++;
    transmit(s, buf, len, now);
    free(heap);
}

static int malformed(unit_session_t *s, const char *why)
{
    s->st.malformed++;
    unsigned long swallowed;
    if (gl_log_burst_allow(&s->bad_burst, s->io.now_ms(s->io.ctx), BURST_MS, &swallowed))
        LOG_WARN("unit", "veh=%s malformed downlink refused: %s (%lu more since last line)",
                 s->id, why, swallowed);
    return GL_EPROTO;
}

/* Records downlink seq `seq` sent at `sent_at`; returns 1 if it had been received before, 2 if
 * it is too old for the window and not newer than the newest order (a replay), else 0. */
static int downlink_seen(unit_session_t *s, uint64_t seq, int64_t sent_at)
{
    if (seq + DOWN_WINDOW <= s->down_max) {
        /* A dispatcher that started over sends later than the orders it forgot; a recorded
         * message replayed (sealed or not) carries its old sent_at. */
        if (sent_at <= s->down_max_sent_at)
            return 2;
        /* Far below anything the window remembers: the dispatcher does not repeat what was
         * acknowledged that long ago, so its seqs started over (it lost them in a restart).
         * Ignoring the order for ever would be worse than starting over with it. */
        LOG_WARN("unit", "veh=%s downlink seq went back from %" PRIu64 " to %" PRIu64
                 ": dispatcher seqs started over",
                 s->id, s->down_max, seq);
        s->down_max = seq;
        s->down_max_sent_at = sent_at;
        s->down_window = 1;
        return 0;
    }
    if (seq > s->down_max) {
        uint64_t shift = seq - s->down_max;
        s->down_window = shift >= DOWN_WINDOW ? 0 : s->down_window << shift;
        s->down_window |= 1;
        s->down_max = seq;
        s->down_max_sent_at = sent_at;
        return 0;
    }
    uint64_t d = s->down_max - seq;
    if (s->down_window & (1ULL << d))
        return 1;
    s->down_window |= 1ULL << d;
    return 0;
}

static void on_dispatcher_ack(unit_session_t *s, uint64_t up_to)
{
    int64_t now = s->io.now_ms(s->io.ctx);
    if (up_to >= s->next_seq) {
        /* The dispatcher holds seqs this session never sent: an earlier run (or a spool that was
         * lost) used them. Jump above them, or everything that follows is taken for resends. */
        unsigned long swallowed;
        if (gl_log_burst_allow(&s->bad_burst, now, BURST_MS, &swallowed))
            LOG_WARN("unit", "veh=%s dispatcher acks seq=%" PRIu64 " but next seq is %" PRIu64
                     ": seqs of an earlier run; continuing at %" PRIu64,
                     s->id, up_to, s->next_seq, up_to + 1);
        s->next_seq = up_to + 1;
        q_note_seq(s);
    }
    size_t n = q_ack(s, up_to);
    s->st.acked += n;
    int after_silence = s->last_ack_rx_ms == 0 || now - s->last_ack_rx_ms >= s->lim.resend_ms;
    s->last_ack_rx_ms = now;
    size_t left = q_count(s);
    if (!after_silence || left == 0)
        return;
    /* The link is back: what waited through the silence is due now, not after its backoff. */
    s->st.reconnects++;
    for (size_t i = 0; i < left; i++) {
        uplink_entry_t *e = q_at(s, i);
        e->tx_count = 1;
        if (e->last_tx_ms > now - s->lim.resend_ms)
            e->last_tx_ms = now - s->lim.resend_ms;
    }
    LOG_DEBUG("unit", "veh=%s first Ack after a silence: resending %zu unacknowledged", s->id,
              left);
    unit_session_tick(s);
}

/* Copies `src` into a bounded field; 0, or -1 when it is missing, empty or too long. */
static int copy_id(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n == 0 || n >= cap)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

const char *unit_order_kind_name(unit_order_kind_t k)
{
    return k == UNIT_ORDER_ASSIGN ? "assignment" : k == UNIT_ORDER_CANCEL ? "cancel" : "destination";
}

/* Decodes an Assignment/Cancel/Destination into `o`; returns NULL or the reason it is
 * malformed. */
static const char *decode_order(const Goldline__Downlink *dl, unit_order_t *o)
{
    memset(o, 0, sizeof *o);
    o->seq = dl->seq;
    if (dl->seq == 0)
        return "seq 0";
    if (dl->body_case == GOLDLINE__DOWNLINK__BODY_ASSIGNMENT) {
        const Goldline__Assignment *a = dl->assignment;
        o->kind = UNIT_ORDER_ASSIGN;
        if (copy_id(o->incident_id, sizeof o->incident_id, a->incident_id) < 0)
            return "assignment incident_id";
        if (!geo_point_valid(a->lat, a->lon))
            return "assignment coordinates";
        /* An unknown or long complaint is still an order to go: keep what fits. */
        snprintf(o->complaint, sizeof o->complaint, "%s", a->complaint ? a->complaint : "");
        o->lat = a->lat;
        o->lon = a->lon;
        o->priority = a->priority;
        o->assigned_at_ms = a->assigned_at_ms;
        o->address = a->address;
        return NULL;
    }
    if (dl->body_case == GOLDLINE__DOWNLINK__BODY_DESTINATION) {
        const Goldline__Destination *d = dl->destination;
        o->kind = UNIT_ORDER_DESTINATION;
        if (copy_id(o->incident_id, sizeof o->incident_id, d->incident_id) < 0)
            return "destination incident_id";
        if (copy_id(o->hospital_id, sizeof o->hospital_id, d->hospital_id) < 0)
            return "destination hospital_id";
        if (!geo_point_valid(d->lat, d->lon))
            return "destination coordinates";
        o->lat = d->lat;
        o->lon = d->lon;
        o->hospital_name = d->name;
        o->reason = d->reason;
        return NULL;
    }
    const Goldline__Cancel *c = dl->cancel;
    o->kind = UNIT_ORDER_CANCEL;
    if (copy_id(o->incident_id, sizeof o->incident_id, c->incident_id) < 0)
        return "cancel incident_id";
    o->reason = c->reason;
    return NULL;
}

int unit_downlink_topic(const void *buf, size_t len, const char **topic, size_t *topic_len)
{
    const char *p = buf;
    const char *nul = len ? memchr(p, '\0', len < UNIT_ID_MAX ? len : UNIT_ID_MAX) : NULL;
    if (!nul || nul == p)
        return GL_EPROTO;
    *topic = p;
    *topic_len = (size_t)(nul - p);
    return 0;
}

int unit_session_on_downlink(unit_session_t *s, const void *buf, size_t len)
{
    const char *topic;
    size_t tlen;
    if (unit_downlink_topic(buf, len, &topic, &tlen) < 0)
        return malformed(s, "no topic");
    if (tlen != s->id_len || memcmp(topic, s->id, tlen) != 0)
        return malformed(s, "topic of another vehicle");
    const uint8_t *body = (const uint8_t *)buf + tlen + 1;
    size_t body_len = len - tlen - 1;
    unsigned char *plain = NULL;
    if (s->sealed) {
        int orc;
        if (!(plain = malloc(len)))
            return GL_ENOMEM;
        orc = seal_open(&s->key, SEAL_DOWNLINK, buf, len, plain, len, &body_len);
        if (orc < 0) {
            free(plain);
            if (orc != GL_EACCES)
                return malformed(s, "not a sealed envelope");
            s->st.forged++;
            unsigned long swallowed;
            if (gl_log_burst_allow(&s->forged_burst, s->io.now_ms(s->io.ctx), BURST_MS,
                                   &swallowed))
                LOG_WARN("unit", "veh=%s forged or tampered downlink refused (%lu more since "
                         "last line)", s->id, swallowed);
            return GL_EACCES;
        }
        body = plain;
    } else if (seal_is_sealed(SEAL_DOWNLINK, buf, len)) {
        return malformed(s, "sealed envelope, but this unit has no key");
    }
    Goldline__Downlink *dl = goldline__downlink__unpack(NULL, body_len, body);
    free(plain);
    if (!dl)
        return malformed(s, "envelope does not unpack");
    int rc = 0;
    if (strcmp(dl->vehicle_id, s->id) != 0) {
        rc = malformed(s, "envelope vehicle_id differs from topic");
        goto done;
    }
    switch (dl->body_case) {
    case GOLDLINE__DOWNLINK__BODY_ACK:
        on_dispatcher_ack(s, dl->ack->up_to_seq);
        break;
    case GOLDLINE__DOWNLINK__BODY_ASSIGNMENT:
    case GOLDLINE__DOWNLINK__BODY_CANCEL:
    case GOLDLINE__DOWNLINK__BODY_DESTINATION: {
        unit_order_t o;
        const char *why = decode_order(dl, &o);
        if (why) {
            rc = malformed(s, why);
            break;
        }
        int seen = downlink_seen(s, dl->seq, dl->sent_at_ms);
        if (seen == 2) {
            s->st.replayed++;
            unsigned long swallowed;
            if (gl_log_burst_allow(&s->forged_burst, s->io.now_ms(s->io.ctx), BURST_MS,
                                   &swallowed))
                LOG_WARN("unit", "veh=%s replayed downlink seq=%" PRIu64 " refused (older than "
                         "seq=%" PRIu64 ") (%lu more since last line)",
                         s->id, dl->seq, s->down_max, swallowed);
            rc = GL_EDUP;
            break; /* not acknowledged: a replay must not make the unit talk */
        }
        if (seen) {
            s->st.duplicates++;
            LOG_DEBUG("unit", "veh=%s downlink seq=%" PRIu64 " repeated: acknowledged again",
                      s->id, dl->seq);
            rc = GL_EDUP;
        } else {
            s->st.orders++;
            LOG_DEBUG("unit", "veh=%s %s inc=%s seq=%" PRIu64, s->id,
                      unit_order_kind_name(o.kind), o.incident_id,
                      dl->seq);
            if (s->on_order)
                s->on_order(s, &o, s->ctx);
        }
        send_ack(s);
        break;
    }
    default:
        /* No body we know. With no unknown field either, the body was lost (truncated). */
        if (dl->base.n_unknown_fields == 0) {
            rc = malformed(s, "envelope without a body");
            break;
        }
        s->st.ignored++;
        LOG_DEBUG("unit", "veh=%s downlink seq=%" PRIu64 " has a body this unit does not know",
                  s->id, dl->seq);
        break;
    }
done:
    goldline__downlink__free_unpacked(dl, NULL);
    return rc;
}

/* How long entry `e` waits after its last transmission: resend_ms, doubled per resend. */
static int64_t resend_wait(const unit_session_t *s, const uplink_entry_t *e)
{
    int64_t wait = s->lim.resend_ms;
    for (unsigned r = 1; r < e->tx_count && wait < s->lim.resend_max_ms; r++)
        wait *= 2;
    return wait < s->lim.resend_max_ms ? wait : s->lim.resend_max_ms;
}

static int due(const unit_session_t *s, const uplink_entry_t *e, int64_t now)
{
    return now - e->last_tx_ms >= resend_wait(s, e);
}

static void resend(unit_session_t *s, uplink_entry_t *e, int64_t now)
{
    e->last_tx_ms = now;
    e->tx_count++;
    s->st.resent++;
    transmit(s, e->data, e->len, now);
}

void unit_session_tick(unit_session_t *s)
{
    size_t n = q_count(s);
    if (n == 0)
        return;
    int64_t now = s->io.now_ms(s->io.ctx);
    unsigned resent = 0;
    /* Newest position first: after a silence the dispatcher's live position is what matters;
     * the older fixes follow in order with the rest and go to history. */
    size_t newest_fix = n;
    for (size_t i = n; i-- > 0;)
        if (q_at(s, i)->kind == UPLINK_KIND_GPS) {
            if (due(s, q_at(s, i), now)) {
                newest_fix = i;
                resend(s, q_at(s, i), now);
                resent++;
            }
            break;
        }
    for (size_t i = 0; i < n && resent < s->lim.resend_batch; i++) {
        uplink_entry_t *e = q_at(s, i);
        if (i == newest_fix || !due(s, e, now))
            continue;
        resend(s, e, now);
        resent++;
    }
    if (resent > 0)
        LOG_DEBUG("unit", "veh=%s resent %u unacknowledged (oldest seq=%" PRIu64 ")", s->id,
                  resent, q_at(s, 0)->seq);
}
