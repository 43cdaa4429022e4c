/*
 * nanomsg uplink/downlink and the protobuf envelopes (see bus.h).
 */
#include "bus.h"

#include "err.h"
#include "goldline.pb-c.h"
#include "log.h"
#include "nnuv.h"
#include "seal.h"
#include "timeutil.h"

#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct bus {
    uv_loop_t *loop;
    dispatch_t *d;
    nnuv_sock_t *up, *down;
    bus_stats_t stats;
    int allow_unsealed;
    gl_log_burst_t reject_burst;
    int pending_closes;
    void (*on_closed)(void *);
    void *closed_ctx;
};

const char *bus_reject_name(bus_reject_t r)
{
    switch (r) {
#define XX(name, text)                                                                            \
    case BUS_REJECT_##name:                                                                       \
        return text;
        BUS_REJECT_MAP(XX)
#undef XX
    default:
        return "unknown";
    }
}

static void reject(bus_t *b, bus_reject_t why, const char *vehicle, uint64_t seq, int64_t now_ms)
{
    b->stats.rejected[why]++;
    if (why == BUS_REJECT_DUPLICATE)
        return; /* resends are normal after a dropped link: counted, not logged */
    unsigned long suppressed = 0;
    if (gl_log_burst_allow(&b->reject_burst, now_ms, 10000, &suppressed))
        LOG_WARN("bus", "uplink refused: %s (veh=%.32s seq=%" PRIu64 "; %lu more refused since "
                 "the last line)", bus_reject_name(why), vehicle ? vehicle : "?", seq, suppressed);
}

/* An optional measurement, NaN when absent or not a finite number. */
static float optional_float(protobuf_c_boolean has, float v)
{
    return has && isfinite(v) ? v : NAN;
}

#define VITALS_MAX_READINGS 64
#define ECG_MAX_LEADS 16
#define ECG_MAX_SAMPLES_PER_LEAD 5000 /* 5 s at 1 kHz: a frame is a fraction of a second */

static void mark_refused(vehicle_t *v, uint64_t seq)
{
    vehicle_seq_mark(v, seq); /* processed: refused */
}

/* A plausible measurement time: after 2000 and not more than a minute ahead. */
static int plausible_time(int64_t ms, int64_t now_ms)
{
    return ms >= GPS_MIN_TIME_MS && ms <= now_ms + 60000;
}

/* Checks and passes on a VitalsNumerics body. Returns 0, or -1 when malformed (refused). */
static int handle_vitals(bus_t *b, vehicle_t *v, const Goldline__Uplink *up, int64_t now_ms)
{
    const Goldline__VitalsNumerics *m = up->vitals;
    vital_reading_t r[VITALS_MAX_READINGS];
    if (m->n_numerics == 0 || m->n_numerics > VITALS_MAX_READINGS) {
        mark_refused(v, up->seq);
        return -1;
    }
    for (size_t i = 0; i < m->n_numerics; i++) {
        const Goldline__VitalsNumerics__Numeric *n = m->numerics[i];
        /* codes as PostgreSQL integers: 11073 codes are partition << 16 | term, far below */
        if (!plausible_time(n->measured_at_ms, now_ms) || n->mdc_code == 0 ||
            n->mdc_code > INT32_MAX || (n->has_unit_code && n->unit_code > INT32_MAX)) {
            mark_refused(v, up->seq);
            return -1;
        }
        r[i].mdc_code = n->mdc_code;
        r[i].value = optional_float(n->has_value, n->value);
        r[i].unit_code = n->has_unit_code ? n->unit_code : 0;
        r[i].measured_ms = n->measured_at_ms;
    }
    dispatch_uplink_vitals(b->d, v, up->seq, m->incident_id, r, m->n_numerics, now_ms);
    return 0;
}

/* Checks an EcgFrame body and passes it on as the bytes the unit sent (stored as they are). */
static int handle_ecg(bus_t *b, vehicle_t *v, const Goldline__Uplink *up, int64_t now_ms)
{
    const Goldline__EcgFrame *f = up->ecg;
    size_t leads = f->n_lead_codes ? f->n_lead_codes : f->n_lead_names;
    if (leads == 0 || leads > ECG_MAX_LEADS ||
        (f->n_lead_codes && f->n_lead_names && f->n_lead_codes != f->n_lead_names) ||
        f->sample_rate_hz == 0 || f->sample_rate_hz > 10000 || f->samples_per_lead == 0 ||
        f->samples_per_lead > ECG_MAX_SAMPLES_PER_LEAD ||
        f->n_samples != leads * f->samples_per_lead || !isfinite(f->uv_per_lsb) ||
        f->uv_per_lsb <= 0 || !plausible_time(f->first_sample_ms, now_ms) ||
        (f->has_first_sample_index && f->first_sample_index > INT64_MAX)) {
        mark_refused(v, up->seq);
        return -1;
    }
    size_t len = goldline__ecg_frame__get_packed_size(f);
    uint8_t *bytes = malloc(len);
    if (!bytes)
        return 0; /* not processed: the unit sends it again */
    goldline__ecg_frame__pack(f, bytes);
    ecg_meta_t meta = {f->first_sample_ms, f->first_sample_index, f->has_first_sample_index,
                       f->sample_rate_hz, (uint32_t)leads, f->samples_per_lead,
                       up->sent_at_ms, f};
    dispatch_uplink_ecg(b->d, v, up->seq, f->incident_id, &meta, bytes, len, now_ms);
    free(bytes);
    return 0;
}

void bus_handle_uplink(bus_t *b, const void *buf, size_t len, int64_t now_ms)
{
    b->stats.received++;
    /* A sealed envelope is opened with the key of the vehicle its header names; a unit with a
     * key must seal, and a unit without one may speak plainly only if the dispatcher allows
     * it (--allow-unsealed, for the simulator and units not provisioned yet). */
    unsigned char *plain = NULL;
    char id[SEAL_ID_MAX + 1] = "";
    if (seal_is_sealed(SEAL_UPLINK, buf, len)) {
        vehicle_t *sv = seal_peek(SEAL_UPLINK, buf, len, id) == 0
                            ? fleet_find(dispatch_fleet(b->d), id)
                            : NULL;
        size_t plain_len = 0;
        int rc = GL_EPROTO;
        if (sv && sv->sealed && (plain = malloc(len ? len : 1))) {
            seal_key_t key;
            memcpy(key.k, sv->seal_key, sizeof key.k);
            rc = seal_open(&key, SEAL_UPLINK, buf, len, plain, len, &plain_len);
            sodium_memzero(key.k, sizeof key.k);
        }
        if (rc != 0) {
            free(plain);
            reject(b, !sv          ? BUS_REJECT_UNKNOWN_VEHICLE
                      : rc == GL_EACCES || !sv->sealed ? BUS_REJECT_FORGED
                                                       : BUS_REJECT_MALFORMED,
                   sv ? sv->id : NULL, 0, now_ms);
            return;
        }
        buf = plain;
        len = plain_len;
    }
    Goldline__Uplink *up = goldline__uplink__unpack(NULL, len, buf);
    if (!up) {
        free(plain);
        reject(b, BUS_REJECT_MALFORMED, NULL, 0, now_ms);
        return;
    }
    vehicle_t *v = NULL;
    vehicle_t *named = fleet_find(dispatch_fleet(b->d), up->vehicle_id);
    if (!plain && named && (named->sealed || !b->allow_unsealed)) {
        reject(b, BUS_REJECT_UNSEALED, up->vehicle_id, up->seq, now_ms);
        goto done;
    }
    if (plain && strcmp(up->vehicle_id, id) != 0) {
        /* sealed with one vehicle's key, speaking for another: forged */
        reject(b, BUS_REJECT_FORGED, id, up->seq, now_ms);
        goto done;
    }
    if (up->body_case == GOLDLINE__UPLINK__BODY__NOT_SET) {
        reject(b, BUS_REJECT_NO_BODY, up->vehicle_id, up->seq, now_ms);
        goto done;
    }
    if (up->seq == 0 || up->seq > (uint64_t)INT64_MAX) {
        /* PostgreSQL keeps seqs in bigint; no unit counts that far. */
        reject(b, BUS_REJECT_MALFORMED, up->vehicle_id, up->seq, now_ms);
        goto done;
    }
    /* Fixes, vitals and ECG are buffered for PostGIS, not journaled: what is not durable
     * yet may come again after a crash (see dispatch_uplink_begin). */
    int buffered = up->body_case == GOLDLINE__UPLINK__BODY_GPS ||
                   up->body_case == GOLDLINE__UPLINK__BODY_VITALS ||
                   up->body_case == GOLDLINE__UPLINK__BODY_ECG;
    int rc = dispatch_uplink_begin(b->d, up->vehicle_id, up->seq, buffered, &v);
    if (rc == GL_EAGAIN)
        goto done; /* deferred: the unit sends it again, in order */
    if (rc == GL_ENOENT) {
        reject(b, BUS_REJECT_UNKNOWN_VEHICLE, up->vehicle_id, up->seq, now_ms);
        goto done;
    }
    if (rc == GL_EDUP) {
        reject(b, BUS_REJECT_DUPLICATE, up->vehicle_id, up->seq, now_ms);
        /* The unit did not hear our Ack: say again how far it is durable. */
        if (v->durable_seq > 0)
            bus_send_ack(b, v);
        goto done;
    }
    switch (up->body_case) {
    case GOLDLINE__UPLINK__BODY_GPS: {
        const Goldline__GpsFix *f = up->gps;
        dispatch_uplink_fix(b->d, v, up->seq, f->lat, f->lon, f->fix_time_ms,
                            optional_float(f->has_speed_mps, f->speed_mps),
                            optional_float(f->has_heading_deg, f->heading_deg),
                            optional_float(f->has_hdop, f->hdop), now_ms);
        break;
    }
    case GOLDLINE__UPLINK__BODY_STATUS: {
        const Goldline__StatusChange *s = up->status;
        vehicle_status_t st = (vehicle_status_t)s->status;
        if (st < VEHICLE_STATUS_AVAILABLE || st > VEHICLE_STATUS_OUT_OF_SERVICE) {
            vehicle_seq_mark(v, up->seq); /* processed: refused */
            reject(b, BUS_REJECT_MALFORMED, up->vehicle_id, up->seq, now_ms);
            break;
        }
        dispatch_uplink_status(b->d, v, up->seq, st, s->incident_id, s->at_ms, now_ms);
        break;
    }
    case GOLDLINE__UPLINK__BODY_VITALS:
        if (handle_vitals(b, v, up, now_ms))
            reject(b, BUS_REJECT_MALFORMED, up->vehicle_id, up->seq, now_ms);
        break;
    case GOLDLINE__UPLINK__BODY_ECG:
        if (handle_ecg(b, v, up, now_ms))
            reject(b, BUS_REJECT_MALFORMED, up->vehicle_id, up->seq, now_ms);
        break;
    case GOLDLINE__UPLINK__BODY_ACK:
        dispatch_uplink_ack(b->d, v, up->seq, up->ack->up_to_seq);
        break;
    default:
        vehicle_seq_mark(v, up->seq);
        reject(b, BUS_REJECT_NO_BODY, up->vehicle_id, up->seq, now_ms);
        break;
    }
done:
    goldline__uplink__free_unpacked(up, NULL);
    free(plain);
}

static void on_uplink(nnuv_sock_t *s, const void *buf, size_t len, void *ctx)
{
    bus_handle_uplink(ctx, buf, len, gl_now_ms());
}

/* Publishes `dl` under the unit's topic "<id>\0". */
static void publish(bus_t *b, const vehicle_t *v, Goldline__Downlink *dl)
{
    if (!b->down)
        return;
    size_t idlen = strlen(v->id) + 1;
    size_t len = goldline__downlink__get_packed_size(dl);
    uint8_t *buf = malloc(idlen + len);
    if (!buf) {
        b->stats.downlink_dropped++;
        return;
    }
    memcpy(buf, v->id, idlen);
    goldline__downlink__pack(dl, buf + idlen);
    size_t total = idlen + len;
    if (v->sealed) {
        /* the whole message, topic included, sealed with the unit's key */
        size_t cap = len + seal_overhead(SEAL_DOWNLINK, idlen - 1);
        uint8_t *sealed = malloc(cap);
        seal_key_t key;
        memcpy(key.k, v->seal_key, sizeof key.k);
        int rc = sealed ? seal_seal(&key, SEAL_DOWNLINK, v->id, buf + idlen, len, sealed, cap,
                                    &total)
                        : GL_ENOMEM;
        sodium_memzero(key.k, sizeof key.k);
        free(buf);
        if (rc != 0) {
            free(sealed);
            b->stats.downlink_dropped++;
            return;
        }
        buf = sealed;
    }
    if (nnuv_send(b->down, buf, total) == 0)
        b->stats.downlink_sent++;
    else
        b->stats.downlink_dropped++;
    free(buf);
}

static const hospital_t *find_hospital(bus_t *b, const char *id)
{
    size_t n;
    const hospital_t *h = dispatch_hospitals(b->d, &n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(h[i].id, id))
            return &h[i];
    return NULL;
}

void bus_send_downlink(bus_t *b, const vehicle_t *v, const downlink_msg_t *m,
                       const incident_t *inc)
{
    Goldline__Downlink dl = GOLDLINE__DOWNLINK__INIT;
    Goldline__Assignment as = GOLDLINE__ASSIGNMENT__INIT;
    Goldline__Cancel cancel = GOLDLINE__CANCEL__INIT;
    Goldline__Destination dest = GOLDLINE__DESTINATION__INIT;
    dl.vehicle_id = (char *)v->id;
    dl.seq = m->seq;
    dl.sent_at_ms = gl_now_ms();
    if (m->kind == DOWNLINK_ASSIGNMENT) {
        if (!inc) {
            LOG_ERR("bus", "veh=%s assignment for unknown incident %s not sent", v->id,
                    m->incident);
            return;
        }
        as.incident_id = (char *)inc->id;
        as.lat = inc->lat;
        as.lon = inc->lon;
        as.complaint = (char *)complaint_name(inc->complaint);
        as.priority = (uint32_t)inc->priority;
        as.assigned_at_ms = m->at_ms;
        as.address = inc->address;
        dl.body_case = GOLDLINE__DOWNLINK__BODY_ASSIGNMENT;
        dl.assignment = &as;
    } else if (m->kind == DOWNLINK_DESTINATION) {
        const hospital_t *h = find_hospital(b, m->hospital);
        if (!h) {
            LOG_ERR("bus", "veh=%s destination %s is not a known hospital: not sent", v->id,
                    m->hospital);
            return;
        }
        dest.incident_id = (char *)m->incident;
        dest.hospital_id = (char *)h->id;
        dest.name = (char *)h->name;
        dest.lat = h->lat;
        dest.lon = h->lon;
        dest.reason = (char *)m->reason;
        dest.decided_at_ms = m->at_ms;
        dl.body_case = GOLDLINE__DOWNLINK__BODY_DESTINATION;
        dl.destination = &dest;
    } else {
        cancel.incident_id = (char *)m->incident;
        cancel.reason = (char *)m->reason;
        dl.body_case = GOLDLINE__DOWNLINK__BODY_CANCEL;
        dl.cancel = &cancel;
    }
    publish(b, v, &dl);
}

void bus_send_ack(bus_t *b, const vehicle_t *v)
{
    Goldline__Downlink dl = GOLDLINE__DOWNLINK__INIT;
    Goldline__Ack ack = GOLDLINE__ACK__INIT;
    dl.vehicle_id = (char *)v->id;
    dl.seq = 0; /* acks are not numbered: the unit never acknowledges an acknowledgement */
    dl.sent_at_ms = gl_now_ms();
    ack.up_to_seq = v->durable_seq;
    dl.body_case = GOLDLINE__DOWNLINK__BODY_ACK;
    dl.ack = &ack;
    publish(b, v, &dl);
}

int bus_open(uv_loop_t *loop, const char *uplink_url, const char *downlink_url, dispatch_t *d,
             int allow_unsealed, bus_t **out)
{
    bus_t *b = calloc(1, sizeof *b);
    if (!b)
        return GL_ENOMEM;
    b->allow_unsealed = allow_unsealed;
    b->loop = loop;
    b->d = d;
    int rc = nnuv_open(loop, NNUV_PULL, &b->up);
    if (!rc && (rc = nnuv_bind(b->up, uplink_url)) != 0)
        LOG_ERR("bus", "cannot bind the uplink to %s", uplink_url);
    if (!rc)
        rc = nnuv_open(loop, NNUV_PUB, &b->down);
    if (!rc && (rc = nnuv_bind(b->down, downlink_url)) != 0)
        LOG_ERR("bus", "cannot bind the downlink to %s", downlink_url);
    if (!rc)
        rc = nnuv_start_recv(b->up, on_uplink, b);
    if (rc) {
        bus_close(b, NULL, NULL);
        return rc;
    }
    LOG_INFO("bus", "uplink %s, downlink %s", uplink_url, downlink_url);
    *out = b;
    return 0;
}

void bus_get_stats(const bus_t *b, bus_stats_t *out)
{
    *out = b->stats;
}

static void on_sock_closed(void *ctx)
{
    bus_t *b = ctx;
    if (--b->pending_closes > 0)
        return;
    void (*cb)(void *) = b->on_closed;
    void *cctx = b->closed_ctx;
    free(b);
    if (cb)
        cb(cctx);
}

void bus_close(bus_t *b, void (*cb)(void *ctx), void *ctx)
{
    if (!b)
        return;
    b->on_closed = cb;
    b->closed_ctx = ctx;
    b->pending_closes = 1; /* held until both closes are requested */
    nnuv_sock_t *up = b->up, *down = b->down;
    b->up = b->down = NULL;
    if (up) {
        b->pending_closes++;
        nnuv_close(up, on_sock_closed, b);
    }
    if (down) {
        b->pending_closes++;
        nnuv_close(down, on_sock_closed, b);
    }
    on_sock_closed(b);
}
