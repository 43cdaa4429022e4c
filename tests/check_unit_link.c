/*
 * Unit tests of the unit side of the wire: the uplink queue, a unit session driven with a fake
 * clock and a fake socket (seqs, resends, acknowledgements, duplicate and malformed downlink),
 * and one round trip over real nanomsg sockets (ipc:// in a temporary directory) between a
 * unit link and a stand-in dispatcher built from nnuv.
 */
#include "err.h"
#include "goldline.pb-c.h"
#include "nnuv.h"
#include "unit_link.h"
#include "unit_session.h"
#include "uplink_queue.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

/* ---------------------------------------------------------------- fake io */

#define MAX_SENT 256
#define T0 1795564800000LL

static struct {
    int64_t now;                      /* the fake clock */
    int fail;                         /* make send refuse */
    int n;                            /* envelopes captured */
    unsigned char *buf[MAX_SENT];
    size_t len[MAX_SENT];
} io_state;

static unit_order_t orders[16];
static char order_incident[16][UNIT_INCIDENT_MAX];
static int norders;

static int fake_send(void *ctx, const void *buf, size_t len)
{
    if (io_state.fail)
        return GL_ENOSPC;
    ck_assert_int_lt(io_state.n, MAX_SENT);
    io_state.buf[io_state.n] = malloc(len);
    memcpy(io_state.buf[io_state.n], buf, len);
    io_state.len[io_state.n++] = len;
    return 0;
}

static int64_t fake_now(void *ctx)
{
    return io_state.now;
}

static void on_order(unit_session_t *s, const unit_order_t *o, void *ctx)
{
    ck_assert_int_lt(norders, 16);
    orders[norders] = *o;
    memcpy(order_incident[norders], o->incident_id, sizeof order_incident[0]);
    norders++;
}

static void io_reset(void)
{
    for (int i = 0; i < io_state.n; i++)
        free(io_state.buf[i]);
    memset(&io_state, 0, sizeof io_state);
    io_state.now = T0;
    norders = 0;
}

static void setup(void)
{
    io_reset();
}

static void teardown(void)
{
    io_reset();
}

/* Decodes captured uplink envelope i (the caller frees it). */
static Goldline__Uplink *sent(int i)
{
    ck_assert_int_lt(i, io_state.n);
    Goldline__Uplink *up = goldline__uplink__unpack(NULL, io_state.len[i], io_state.buf[i]);
    ck_assert_ptr_nonnull(up);
    return up;
}

static unit_session_t *new_session(const char *id, uint64_t first_seq, size_t qmax)
{
    unit_session_io_t io = {fake_send, fake_now, NULL};
    unit_session_limits_t lim = {qmax, 3000, 12000, 0};
    unit_session_t *s = NULL;
    ck_assert_int_eq(unit_session_new(id, first_seq, &lim, &io, on_order, NULL, &s), 0);
    return s;
}

/* Builds a downlink nanomsg message: topic, NUL, packed envelope. Returns its length. */
static size_t downlink(unsigned char *out, size_t cap, const char *topic, Goldline__Downlink *dl)
{
    size_t t = strlen(topic) + 1;
    size_t n = goldline__downlink__get_packed_size(dl);
    ck_assert_uint_le(t + n, cap);
    memcpy(out, topic, t);
    goldline__downlink__pack(dl, out + t);
    return t + n;
}

static size_t assignment(unsigned char *out, size_t cap, const char *topic, const char *veh,
                         uint64_t seq, const char *inc, double lat, double lon)
{
    Goldline__Assignment a = GOLDLINE__ASSIGNMENT__INIT;
    a.incident_id = (char *)inc;
    a.lat = lat;
    a.lon = lon;
    a.complaint = "chest_pain";
    a.priority = 1;
    a.assigned_at_ms = T0;
    a.address = "1 Test Road";
    Goldline__Downlink dl = GOLDLINE__DOWNLINK__INIT;
    dl.vehicle_id = (char *)veh;
    dl.seq = seq;
    dl.sent_at_ms = T0;
    dl.body_case = GOLDLINE__DOWNLINK__BODY_ASSIGNMENT;
    dl.assignment = &a;
    return downlink(out, cap, topic, &dl);
}

static size_t cancel_at(unsigned char *out, size_t cap, const char *veh, uint64_t seq,
                        const char *inc, int64_t sent_at);

static size_t cancel(unsigned char *out, size_t cap, const char *veh, uint64_t seq,
                     const char *inc)
{
    return cancel_at(out, cap, veh, seq, inc, T0);
}

/* A Cancel sent at `sent_at` (a dispatcher that restarted sends later than before). */
static size_t cancel_at(unsigned char *out, size_t cap, const char *veh, uint64_t seq,
                        const char *inc, int64_t sent_at)
{
    Goldline__Cancel c = GOLDLINE__CANCEL__INIT;
    c.incident_id = (char *)inc;
    Goldline__Downlink dl = GOLDLINE__DOWNLINK__INIT;
    dl.vehicle_id = (char *)veh;
    dl.seq = seq;
    dl.sent_at_ms = sent_at;
    dl.body_case = GOLDLINE__DOWNLINK__BODY_CANCEL;
    dl.cancel = &c;
    return downlink(out, cap, veh, &dl);
}

static size_t dispatcher_ack(unsigned char *out, size_t cap, const char *veh, uint64_t up_to)
{
    Goldline__Ack ack = GOLDLINE__ACK__INIT;
    ack.up_to_seq = up_to;
    Goldline__Downlink dl = GOLDLINE__DOWNLINK__INIT;
    dl.vehicle_id = (char *)veh;
    dl.seq = 1000; /* the unit must not care: Acks are not de-duplicated or acknowledged */
    dl.sent_at_ms = T0;
    dl.body_case = GOLDLINE__DOWNLINK__BODY_ACK;
    dl.ack = &ack;
    return downlink(out, cap, veh, &dl);
}

/* ---------------------------------------------------------------- uplink queue */

START_TEST(test_queue_drops_oldest_fix_first)
{
    uplink_queue_t q;
    ck_assert_int_eq(uplink_queue_init(&q, 3), 0);
    uint64_t dropped = 0;
    ck_assert_int_eq(uplink_queue_push(&q, 1, T0, T0, UPLINK_KIND_STATUS, "a", 1, &dropped, NULL),
                     0);
    ck_assert_int_eq(uplink_queue_push(&q, 2, T0, T0, UPLINK_KIND_GPS, "b", 1, &dropped, NULL), 0);
    ck_assert_int_eq(uplink_queue_push(&q, 3, T0, T0, UPLINK_KIND_GPS, "c", 1, &dropped, NULL), 0);
    /* Full: the oldest fix (2) goes, the older status (1) stays. */
    ck_assert_int_eq(uplink_queue_push(&q, 4, T0, T0, UPLINK_KIND_STATUS, "d", 1, &dropped, NULL),
                     1);
    ck_assert_uint_eq(dropped, 2);
    ck_assert_uint_eq(uplink_queue_at(&q, 0)->seq, 1);
    ck_assert_uint_eq(uplink_queue_at(&q, 1)->seq, 3);
    ck_assert_uint_eq(uplink_queue_at(&q, 2)->seq, 4);
    /* Nothing but statuses left to drop after the next push: then the oldest status goes. */
    ck_assert_int_eq(uplink_queue_push(&q, 5, T0, T0, UPLINK_KIND_STATUS, "e", 1, &dropped, NULL),
                     1);
    ck_assert_uint_eq(dropped, 3);
    ck_assert_int_eq(uplink_queue_push(&q, 6, T0, T0, UPLINK_KIND_STATUS, "f", 1, &dropped, NULL),
                     1);
    ck_assert_uint_eq(dropped, 1);
    /* Seqs must increase. */
    ck_assert_int_eq(uplink_queue_push(&q, 6, T0, T0, UPLINK_KIND_GPS, "g", 1, NULL, NULL),
                     GL_EINVAL);
    ck_assert_uint_eq(uplink_queue_ack(&q, 5), 2);
    ck_assert_uint_eq(uplink_queue_count(&q), 1);
    ck_assert_int_eq(memcmp(uplink_queue_at(&q, 0)->data, "f", 1), 0);
    ck_assert_uint_eq(uplink_queue_ack(&q, 5), 0);
    ck_assert_ptr_null(uplink_queue_at(&q, 1));
    uplink_queue_close(&q);
}
END_TEST

/* ---------------------------------------------------------------- session: uplink */

START_TEST(test_seq_starts_at_first_and_increases)
{
    unit_session_t *s = new_session("A1", 1, 0);
    unit_fix_t fix;
    unit_fix_init(&fix, 26.267, 116.654, T0 - 500);
    fix.speed_mps = 12.5f;
    ck_assert_int_eq(unit_session_send_fix(s, &fix), 0);
    io_state.now += 10;
    ck_assert_int_eq(unit_session_send_status(s, UNIT_STATUS_EN_ROUTE, "20261125-0001", T0 + 7),
                     0);
    io_state.now += 10;
    ck_assert_int_eq(unit_session_send_status(s, UNIT_STATUS_AVAILABLE, NULL, T0 + 20), 0);
    ck_assert_int_eq(io_state.n, 3);

    Goldline__Uplink *u0 = sent(0), *u1 = sent(1), *u2 = sent(2);
    ck_assert_str_eq(u0->vehicle_id, "A1");
    ck_assert_uint_eq(u0->seq, 1);
    ck_assert_int_eq(u0->sent_at_ms, T0);
    ck_assert_int_eq(u0->body_case, GOLDLINE__UPLINK__BODY_GPS);
    ck_assert(fabs(u0->gps->lat - 26.267) < 1e-12 && fabs(u0->gps->lon - 116.654) < 1e-12);
    ck_assert_int_eq(u0->gps->fix_time_ms, T0 - 500);
    ck_assert(u0->gps->has_speed_mps && u0->gps->speed_mps == 12.5f);
    ck_assert(!u0->gps->has_heading_deg && !u0->gps->has_hdop && !u0->gps->has_satellites);
    ck_assert_uint_eq(u1->seq, 2);
    ck_assert_int_eq(u1->sent_at_ms, T0 + 10);
    ck_assert_int_eq(u1->body_case, GOLDLINE__UPLINK__BODY_STATUS);
    ck_assert_int_eq(u1->status->status, GOLDLINE__VEHICLE_STATUS__EN_ROUTE);
    ck_assert_str_eq(u1->status->incident_id, "20261125-0001");
    ck_assert_int_eq(u1->status->at_ms, T0 + 7);
    ck_assert_uint_eq(u2->seq, 3);
    ck_assert_ptr_null(u2->status->incident_id);
    ck_assert_uint_eq(unit_session_next_seq(s), 4);

    unit_session_stats_t st;
    unit_session_get_stats(s, &st);
    ck_assert_uint_eq(st.sent, 3);
    ck_assert_uint_eq(st.queued, 3);
    goldline__uplink__free_unpacked(u0, NULL);
    goldline__uplink__free_unpacked(u1, NULL);
    goldline__uplink__free_unpacked(u2, NULL);

    /* Refused input leaves the seq alone. */
    unit_fix_init(&fix, 91, 0, T0);
    ck_assert_int_eq(unit_session_send_fix(s, &fix), GL_EINVAL);
    ck_assert_int_eq(unit_session_send_status(s, UNIT_STATUS_UNKNOWN, NULL, T0), GL_EINVAL);
    ck_assert_int_eq(unit_session_send_status(s, UNIT_STATUS_ON_SCENE,
                                              "an-incident-id-that-is-far-too-long", T0),
                     GL_EINVAL);
    ck_assert_uint_eq(unit_session_next_seq(s), 4);
    unit_session_free(s);

    /* A unit restored from a spool continues from its own seq. */
    unit_session_t *r = new_session("A1", 500, 0);
    ck_assert_int_eq(unit_session_send_status(r, UNIT_STATUS_AVAILABLE, NULL, T0), 0);
    Goldline__Uplink *ur = sent(3);
    ck_assert_uint_eq(ur->seq, 500);
    goldline__uplink__free_unpacked(ur, NULL);
    unit_session_free(r);
}
END_TEST

START_TEST(test_resend_until_acked_with_same_bytes)
{
    unit_session_t *s = new_session("A1", 1, 0);
    unsigned char msg[512];
    for (int i = 0; i < 3; i++) {
        unit_fix_t fix;
        unit_fix_init(&fix, 26.0 + i * 0.001, 116.0, io_state.now);
        ck_assert_int_eq(unit_session_send_fix(s, &fix), 0);
        io_state.now += 100;
    }
    /* now = T0 + 300. Nothing is due before 3 s after its own transmission. */
    io_state.now = T0 + 2999;
    unit_session_tick(s);
    ck_assert_int_eq(io_state.n, 3);
    io_state.now = T0 + 3000;
    unit_session_tick(s);
    ck_assert_int_eq(io_state.n, 4); /* only seq 1 is due yet */
    ck_assert_uint_eq(io_state.len[3], io_state.len[0]);
    ck_assert_int_eq(memcmp(io_state.buf[3], io_state.buf[0], io_state.len[0]), 0);
    io_state.now = T0 + 3200;
    unit_session_tick(s);
    /* seqs 2 and 3, byte for byte (same seq and sent_at), the newest position first */
    ck_assert_int_eq(io_state.n, 6);
    ck_assert_int_eq(memcmp(io_state.buf[4], io_state.buf[2], io_state.len[2]), 0);
    ck_assert_int_eq(memcmp(io_state.buf[5], io_state.buf[1], io_state.len[1]), 0);

    /* No Ack came: each resent envelope now waits twice as long (6 s, then 12 s at most). */
    io_state.now = T0 + 8999;
    unit_session_tick(s);
    ck_assert_int_eq(io_state.n, 6);
    io_state.now = T0 + 9000;
    unit_session_tick(s);
    ck_assert_int_eq(io_state.n, 7);
    ck_assert_int_eq(memcmp(io_state.buf[6], io_state.buf[0], io_state.len[0]), 0);

    /* The dispatcher acknowledges up to 2, its first Ack after 9 s of silence (the link is
     * back): they are dropped and 3 goes again at once, its backoff started over. */
    size_t n = dispatcher_ack(msg, sizeof msg, "A1", 2);
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), 0);
    unit_session_stats_t st;
    unit_session_get_stats(s, &st);
    ck_assert_uint_eq(st.acked, 2);
    ck_assert_uint_eq(st.queued, 1);
    ck_assert_uint_eq(st.acks_sent, 0); /* a downlink Ack is not acknowledged */
    ck_assert_uint_eq(st.reconnects, 1);
    ck_assert_int_eq(io_state.n, 8);
    Goldline__Uplink *u = sent(7);
    ck_assert_uint_eq(u->seq, 3);
    ck_assert_int_eq(u->sent_at_ms, T0 + 200);
    goldline__uplink__free_unpacked(u, NULL);
    /* A repeated, older Ack soon after is no silence and changes nothing. */
    io_state.now = T0 + 9100;
    n = dispatcher_ack(msg, sizeof msg, "A1", 1);
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), 0);
    unit_session_get_stats(s, &st);
    ck_assert_uint_eq(st.queued, 1);
    ck_assert_uint_eq(st.reconnects, 1);
    ck_assert_int_eq(io_state.n, 8);
    /* Its next wait is 6 s, then capped at 12 s. */
    io_state.now = T0 + 9000 + 5999;
    unit_session_tick(s);
    ck_assert_int_eq(io_state.n, 8);
    io_state.now = T0 + 9000 + 6000;
    unit_session_tick(s);
    ck_assert_int_eq(io_state.n, 9);
    io_state.now = T0 + 15000 + 11999;
    unit_session_tick(s);
    ck_assert_int_eq(io_state.n, 9);
    io_state.now = T0 + 15000 + 12000;
    unit_session_tick(s);
    ck_assert_int_eq(io_state.n, 10);

    /* The Ack covering 3 empties the queue: nothing is left to resend. */
    n = dispatcher_ack(msg, sizeof msg, "A1", 3);
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), 0);
    unit_session_get_stats(s, &st);
    ck_assert_uint_eq(st.queued, 0);
    ck_assert_uint_eq(st.acked, 3);
    ck_assert_uint_eq(st.resent, 7);
    io_state.now += 60000;
    unit_session_tick(s);
    ck_assert_int_eq(io_state.n, 10);
    unit_session_free(s);
}
END_TEST

START_TEST(test_refused_send_stays_queued_and_bounded)
{
    unit_session_t *s = new_session("A1", 1, 4);
    io_state.fail = 1;
    ck_assert_int_eq(unit_session_send_status(s, UNIT_STATUS_EN_ROUTE, "I1", T0), 0);
    for (int i = 0; i < 5; i++) {
        unit_fix_t fix;
        unit_fix_init(&fix, 26.0, 116.0, T0);
        ck_assert_int_eq(unit_session_send_fix(s, &fix), 0);
    }
    unit_session_stats_t st;
    unit_session_get_stats(s, &st);
    ck_assert_uint_eq(st.send_errors, 6);
    ck_assert_uint_eq(st.queued, 4);
    ck_assert_uint_eq(st.dropped, 2);
    /* The socket is back: the newest fix (6) first, then the status (seq 1) and fixes 4, 5. */
    io_state.fail = 0;
    io_state.now += 3000;
    unit_session_tick(s);
    ck_assert_int_eq(io_state.n, 4);
    uint64_t want[] = {6, 1, 4, 5};
    for (int i = 0; i < 4; i++) {
        Goldline__Uplink *u = sent(i);
        ck_assert_uint_eq(u->seq, want[i]);
        goldline__uplink__free_unpacked(u, NULL);
    }
    unit_session_free(s);
}
END_TEST

/* ---------------------------------------------------------------- session: sealed */

START_TEST(test_sealed_session)
{
    seal_key_t key, other;
    ck_assert_int_eq(seal_key_generate(&key), 0);
    ck_assert_int_eq(seal_key_generate(&other), 0);
    unit_session_io_t io = {fake_send, fake_now, NULL};
    unit_session_opts_t o = {.first_seq = 1, .key = &key};
    unit_session_t *s = NULL;
    ck_assert_int_eq(unit_session_new_opts("A1", &o, &io, on_order, NULL, &s), 0);
    ck_assert_int_eq(unit_session_sealed(s), 1);

    /* Uplink: sealed, opens with the key to the envelope; vitals and ECG go the same way. */
    unit_fix_t fix;
    unit_fix_init(&fix, 26.0, 116.0, T0);
    ck_assert_int_eq(unit_session_send_fix(s, &fix), 0);
    Goldline__EcgFrame ecg = GOLDLINE__ECG_FRAME__INIT;
    uint32_t codes[2] = {131329, 131330};
    int32_t samples[6] = {10, 1, -1, 20, 2, -2};
    ecg.n_lead_codes = 2;
    ecg.lead_codes = codes;
    ecg.sample_rate_hz = 500;
    ecg.uv_per_lsb = 5;
    ecg.first_sample_ms = T0;
    ecg.samples_per_lead = 3;
    ecg.n_samples = 6;
    ecg.samples = samples;
    ck_assert_int_eq(unit_session_send_ecg(s, &ecg), 0);
    ecg.n_samples = 5; /* not lead count x samples_per_lead */
    ck_assert_int_eq(unit_session_send_ecg(s, &ecg), GL_EINVAL);
    Goldline__VitalsNumerics v = GOLDLINE__VITALS_NUMERICS__INIT;
    ck_assert_int_eq(unit_session_send_vitals(s, &v), GL_EINVAL); /* no numeric */
    ck_assert_int_eq(io_state.n, 2);
    unsigned char plain[512];
    size_t plen;
    ck_assert_int_eq(seal_is_sealed(SEAL_UPLINK, io_state.buf[0], io_state.len[0]), 1);
    ck_assert_int_eq(seal_open(&other, SEAL_UPLINK, io_state.buf[0], io_state.len[0], plain,
                               sizeof plain, &plen),
                     GL_EACCES);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(seal_open(&key, SEAL_UPLINK, io_state.buf[i], io_state.len[i], plain,
                                   sizeof plain, &plen),
                         0);
        Goldline__Uplink *u = goldline__uplink__unpack(NULL, plen, plain);
        ck_assert_ptr_nonnull(u);
        ck_assert_uint_eq(u->seq, (uint64_t)i + 1);
        ck_assert_int_eq(u->body_case,
                         i == 0 ? GOLDLINE__UPLINK__BODY_GPS : GOLDLINE__UPLINK__BODY_ECG);
        if (i == 1) {
            ck_assert_uint_eq(u->ecg->n_samples, 6);
            ck_assert_int_eq(u->ecg->samples[5], -2);
        }
        goldline__uplink__free_unpacked(u, NULL);
    }

    /* Downlink: a sealed Assignment is handed on once and acknowledged (sealed). */
    unsigned char clear[512], msg[600], bad[600];
    size_t cn = assignment(clear, sizeof clear, "A1", "A1", 5, "I-5", 26.1, 116.1);
    size_t n;
    ck_assert_int_eq(seal_seal(&key, SEAL_DOWNLINK, "A1", clear + 3, cn - 3, msg, sizeof msg, &n),
                     0);
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), 0);
    ck_assert_int_eq(norders, 1);
    ck_assert_str_eq(order_incident[0], "I-5");
    ck_assert_int_eq(io_state.n, 3);
    ck_assert_int_eq(seal_open(&key, SEAL_UPLINK, io_state.buf[2], io_state.len[2], plain,
                               sizeof plain, &plen),
                     0);
    /* Replayed byte for byte: it opens, and the seq check refuses it (not handed on). */
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), GL_EDUP);
    ck_assert_int_eq(norders, 1);
    /* Forged (another key) and tampered (any flipped bit after the topic): refused, counted. */
    size_t f;
    ck_assert_int_eq(seal_seal(&other, SEAL_DOWNLINK, "A1", clear + 3, cn - 3, bad, sizeof bad,
                               &f),
                     0);
    ck_assert_int_eq(unit_session_on_downlink(s, bad, f), GL_EACCES);
    int refused = 0;
    for (size_t i = 3 + 6; i < n; i += 7) {
        memcpy(bad, msg, n);
        bad[i] ^= 0x20;
        ck_assert_int_eq(unit_session_on_downlink(s, bad, n), GL_EACCES);
        refused++;
    }
    /* An unsealed envelope is refused by a sealed unit. */
    ck_assert_int_eq(unit_session_on_downlink(s, clear, cn), GL_EPROTO);
    ck_assert_int_eq(norders, 1);
    unit_session_stats_t st;
    unit_session_get_stats(s, &st);
    ck_assert_uint_eq(st.forged, (uint64_t)refused + 1);
    ck_assert_uint_eq(st.malformed, 1);
    ck_assert_uint_eq(st.duplicates, 1);
    unit_session_free(s);

    /* An unsealed unit refuses sealed downlink (it has no key to open it). */
    s = new_session("A1", 1, 0);
    ck_assert_int_eq(unit_session_sealed(s), 0);
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), GL_EPROTO);
    unit_session_free(s);
}
END_TEST

/* ---------------------------------------------------------------- session: downlink */

static void assert_ack(int i, uint64_t up_to, uint64_t seq)
{
    Goldline__Uplink *u = sent(i);
    ck_assert_int_eq(u->body_case, GOLDLINE__UPLINK__BODY_ACK);
    ck_assert_uint_eq(u->ack->up_to_seq, up_to);
    ck_assert_uint_eq(u->seq, seq);
    goldline__uplink__free_unpacked(u, NULL);
}

START_TEST(test_assignment_handled_once_and_reacked)
{
    unit_session_t *s = new_session("A1", 1, 0);
    unsigned char msg[512];
    size_t n = assignment(msg, sizeof msg, "A1", "A1", 7, "20261125-0003", 26.27, 116.66);
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), 0);
    ck_assert_int_eq(norders, 1);
    ck_assert_int_eq(orders[0].kind, UNIT_ORDER_ASSIGN);
    ck_assert_uint_eq(orders[0].seq, 7);
    ck_assert_str_eq(order_incident[0], "20261125-0003");
    ck_assert(orders[0].lat == 26.27 && orders[0].lon == 116.66);
    ck_assert_str_eq(orders[0].complaint, "chest_pain");
    ck_assert_uint_eq(orders[0].priority, 1);
    ck_assert_int_eq(orders[0].assigned_at_ms, T0);
    ck_assert_int_eq(io_state.n, 1);
    assert_ack(0, 7, 1); /* the Ack takes uplink seq 1 */

    /* The dispatcher did not see the Ack and repeats: acknowledged again, not handled again. */
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), GL_EDUP);
    ck_assert_int_eq(norders, 1);
    ck_assert_int_eq(io_state.n, 2);
    assert_ack(1, 7, 2);

    /* Acks are not queued for resend. */
    io_state.now += 60000;
    unit_session_tick(s);
    ck_assert_int_eq(io_state.n, 2);

    /* A cancel with the next seq is new. */
    n = cancel(msg, sizeof msg, "A1", 8, "20261125-0003");
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), 0);
    ck_assert_int_eq(norders, 2);
    ck_assert_int_eq(orders[1].kind, UNIT_ORDER_CANCEL);
    ck_assert_str_eq(order_incident[1], "20261125-0003");
    assert_ack(2, 8, 3);

    unit_session_stats_t st;
    unit_session_get_stats(s, &st);
    ck_assert_uint_eq(st.orders, 2);
    ck_assert_uint_eq(st.duplicates, 1);
    ck_assert_uint_eq(st.acks_sent, 3);
    ck_assert_uint_eq(unit_session_downlink_seq(s), 8);
    unit_session_free(s);
}
END_TEST

START_TEST(test_late_repeat_below_highest_is_handled_once)
{
    unit_session_t *s = new_session("A1", 1, 0);
    unsigned char msg[512];
    /* seq 10 was lost, 11 arrived; the repeat of 10 comes afterwards. */
    size_t n = cancel(msg, sizeof msg, "A1", 11, "I-11");
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), 0);
    n = assignment(msg, sizeof msg, "A1", "A1", 10, "I-10", 26.0, 116.0);
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), 0);
    ck_assert_int_eq(norders, 2);
    ck_assert_str_eq(order_incident[1], "I-10");
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), GL_EDUP);
    ck_assert_int_eq(norders, 2);
    assert_ack(1, 11, 2); /* the Ack stays cumulative at the highest seq */
    /* 63 below the highest is still remembered; 64 below means the dispatcher started over. */
    n = cancel(msg, sizeof msg, "A1", 200, "I-200");
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), 0);
    n = cancel(msg, sizeof msg, "A1", 137, "I-137");
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), 0);
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), GL_EDUP);
    ck_assert_int_eq(norders, 4);
    /* 64 below, sent no later than seq 200: a replay of an old message, refused unacknowledged. */
    int acks = io_state.n;
    n = cancel(msg, sizeof msg, "A1", 136, "I-136");
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), GL_EDUP);
    ck_assert_int_eq(norders, 4);
    ck_assert_int_eq(io_state.n, acks);
    unit_session_stats_t st;
    unit_session_get_stats(s, &st);
    ck_assert_uint_eq(st.replayed, 1);
    /* The same seq sent later than seq 200 was: the dispatcher started over. */
    n = cancel_at(msg, sizeof msg, "A1", 136, "I-136", T0 + 1);
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), 0);
    ck_assert_int_eq(norders, 5);
    ck_assert_uint_eq(unit_session_downlink_seq(s), 136);
    n = cancel_at(msg, sizeof msg, "A1", 1, "I-1", T0 + 2);
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), 0);
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), GL_EDUP);
    ck_assert_int_eq(norders, 6);
    assert_ack(io_state.n - 1, 1, unit_session_next_seq(s) - 1);
    unit_session_free(s);
}
END_TEST

START_TEST(test_malformed_downlink_is_refused)
{
    unit_session_t *s = new_session("A1", 1, 0);
    unsigned char good[512], bad[512];
    size_t n = assignment(good, sizeof good, "A1", "A1", 3, "I-3", 26.0, 116.0);
    int expected = 0;

    /* No NUL in the first 32 bytes, an empty topic, nothing at all. */
    memset(bad, 'A', sizeof bad);
    ck_assert_int_eq(unit_session_on_downlink(s, bad, sizeof bad), GL_EPROTO);
    expected++;
    ck_assert_int_eq(unit_session_on_downlink(s, "\0xyz", 4), GL_EPROTO);
    expected++;
    ck_assert_int_eq(unit_session_on_downlink(s, "", 0), GL_EPROTO);
    expected++;
    /* Another vehicle's topic, including one that merely starts with ours. */
    size_t m = assignment(bad, sizeof bad, "A12", "A12", 3, "I-3", 26.0, 116.0);
    ck_assert_int_eq(unit_session_on_downlink(s, bad, m), GL_EPROTO);
    expected++;
    /* Topic ours, envelope for someone else. */
    m = assignment(bad, sizeof bad, "A1", "B7", 3, "I-3", 26.0, 116.0);
    ck_assert_int_eq(unit_session_on_downlink(s, bad, m), GL_EPROTO);
    expected++;
    /* Every truncation of a good message. */
    for (size_t cut = 3; cut < n; cut++) {
        ck_assert_msg(unit_session_on_downlink(s, good, cut) == GL_EPROTO, "cut at %zu", cut);
        expected++;
    }
    /* Garbage after a good topic. */
    memcpy(bad, "A1\0\xff\xff\xff\xff\x0f\x01", 10);
    ck_assert_int_eq(unit_session_on_downlink(s, bad, 10), GL_EPROTO);
    expected++;
    /* Well-formed protobuf, unusable values. */
    m = assignment(bad, sizeof bad, "A1", "A1", 3, "I-3", 95.0, 116.0);
    ck_assert_int_eq(unit_session_on_downlink(s, bad, m), GL_EPROTO);
    expected++;
    m = assignment(bad, sizeof bad, "A1", "A1", 3, "", 26.0, 116.0);
    ck_assert_int_eq(unit_session_on_downlink(s, bad, m), GL_EPROTO);
    expected++;
    m = assignment(bad, sizeof bad, "A1", "A1", 0, "I-0", 26.0, 116.0);
    ck_assert_int_eq(unit_session_on_downlink(s, bad, m), GL_EPROTO);
    expected++;

    unit_session_stats_t st;
    unit_session_get_stats(s, &st);
    ck_assert_uint_eq(st.malformed, (uint64_t)expected);
    ck_assert_int_eq(norders, 0);
    ck_assert_int_eq(io_state.n, 0); /* nothing was acknowledged */
    ck_assert_uint_eq(unit_session_downlink_seq(s), 0);

    /* The session is unharmed: the good message still works. */
    ck_assert_int_eq(unit_session_on_downlink(s, good, n), 0);
    ck_assert_int_eq(norders, 1);
    unit_session_free(s);
}
END_TEST

/* The receiving hospital: decoded for the crew (and the simulator), acknowledged like an order;
 * one with impossible coordinates or no hospital is refused, unacknowledged. */
START_TEST(test_destination_is_an_order)
{
    unit_session_t *s = new_session("A1", 1, 0);
    unsigned char msg[512];
    Goldline__Downlink dl = GOLDLINE__DOWNLINK__INIT;
    Goldline__Destination d = GOLDLINE__DESTINATION__INIT;
    dl.vehicle_id = "A1";
    dl.seq = 7;
    dl.sent_at_ms = T0;
    dl.body_case = GOLDLINE__DOWNLINK__BODY_DESTINATION;
    dl.destination = &d;
    d.incident_id = "I-7";
    d.hospital_id = "H-county";
    d.name = "贵溪市人民医院";
    d.lat = 28.2990;
    d.lon = 117.2350;
    d.reason = "STEMI: nearest PCI centre with the cath lab ready";
    d.decided_at_ms = T0 - 1000;
    size_t n = downlink(msg, sizeof msg, "A1", &dl);
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), 0);
    ck_assert_int_eq(norders, 1);
    ck_assert_int_eq(orders[0].kind, UNIT_ORDER_DESTINATION);
    ck_assert_str_eq(order_incident[0], "I-7");
    ck_assert_str_eq(orders[0].hospital_id, "H-county");
    ck_assert(orders[0].lat == 28.2990 && orders[0].lon == 117.2350);
    ck_assert_int_eq(io_state.n, 1); /* acknowledged */
    assert_ack(0, 7, 1);
    ck_assert_str_eq(unit_order_kind_name(orders[0].kind), "destination");
    /* refused: off the globe, or no hospital */
    dl.seq = 8;
    d.lat = 123;
    n = downlink(msg, sizeof msg, "A1", &dl);
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), GL_EPROTO);
    d.lat = 28.2990;
    d.hospital_id = "";
    n = downlink(msg, sizeof msg, "A1", &dl);
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), GL_EPROTO);
    ck_assert_int_eq(norders, 1);
    ck_assert_int_eq(io_state.n, 1);
    unit_session_free(s);
}
END_TEST

START_TEST(test_unknown_body_is_ignored_not_acked)
{
    unit_session_t *s = new_session("A1", 1, 0);
    unsigned char msg[512];
    Goldline__Downlink dl = GOLDLINE__DOWNLINK__INIT;
    dl.vehicle_id = "A1";
    dl.seq = 4;
    dl.sent_at_ms = T0;
    size_t n = downlink(msg, sizeof msg, "A1", &dl);
    /* Without any body it is a truncated message. */
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), GL_EPROTO);
    /* With a body from a newer protocol (field 20, empty message) it is ignored. */
    memcpy(msg + n, "\xa2\x01\x00", 3);
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n + 3), 0);
    unit_session_stats_t st;
    unit_session_get_stats(s, &st);
    ck_assert_uint_eq(st.ignored, 1);
    ck_assert_uint_eq(st.malformed, 1);
    ck_assert_int_eq(io_state.n, 0);
    ck_assert_int_eq(norders, 0);
    unit_session_free(s);
}
END_TEST

START_TEST(test_topic_and_session_arguments)
{
    const char *t;
    size_t tl;
    ck_assert_int_eq(unit_downlink_topic("A1\0rest", 7, &t, &tl), 0);
    ck_assert_uint_eq(tl, 2);
    ck_assert_int_eq(unit_downlink_topic("A1", 2, &t, &tl), GL_EPROTO);
    unit_session_io_t io = {fake_send, fake_now, NULL};
    unit_session_t *s = NULL;
    ck_assert_int_eq(unit_session_new("", 1, NULL, &io, NULL, NULL, &s), GL_EINVAL);
    ck_assert_int_eq(unit_session_new("A1", 0, NULL, &io, NULL, NULL, &s), GL_EINVAL);
    ck_assert_int_eq(
        unit_session_new("0123456789012345678901234567890123", 1, NULL, &io, NULL, NULL, &s),
        GL_EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_str_eq(unit_status_name(UNIT_STATUS_AT_HOSPITAL), "at_hospital");
    ck_assert_str_eq(unit_status_name((unit_status_t)42), "unknown");
    unit_session_free(NULL);
}
END_TEST

/* ---------------------------------------------------------------- over real sockets */

static struct {
    uv_loop_t loop;
    nnuv_sock_t *pull, *pub;
    unit_link_t *link;
    unit_session_t *unit;
    uv_timer_t timer, deadline;
    int phase;                 /* 0: wait for status, 1: assignment until acked, 2: wait drain */
    int statuses, acks_seen, orders, closed;
    uint64_t status_seq;
    char dir[64];
} net;

static void net_on_order(unit_session_t *s, const unit_order_t *o, void *ctx)
{
    ck_assert_ptr_eq(s, net.unit);
    ck_assert_int_eq(o->kind, UNIT_ORDER_ASSIGN);
    ck_assert_str_eq(o->incident_id, "NET-1");
    net.orders++;
}

static void net_closed(void *ctx)
{
    net.closed++;
}

static void net_finish(void)
{
    uv_timer_stop(&net.timer);
    uv_close((uv_handle_t *)&net.timer, NULL);
    uv_close((uv_handle_t *)&net.deadline, NULL);
    unit_link_close(net.link, net_closed, NULL);
    nnuv_close(net.pull, net_closed, NULL);
    nnuv_close(net.pub, net_closed, NULL);
}

/* The stand-in dispatcher receives uplink envelopes. */
static void net_on_uplink(nnuv_sock_t *sock, const void *buf, size_t len, void *ctx)
{
    Goldline__Uplink *u = goldline__uplink__unpack(NULL, len, buf);
    ck_assert_ptr_nonnull(u);
    ck_assert_str_eq(u->vehicle_id, "N1");
    if (u->body_case == GOLDLINE__UPLINK__BODY_STATUS) {
        ck_assert_int_eq(u->status->status, GOLDLINE__VEHICLE_STATUS__AVAILABLE);
        net.status_seq = u->seq;
        net.statuses++;
        if (net.phase == 0)
            net.phase = 1;
    } else if (u->body_case == GOLDLINE__UPLINK__BODY_ACK) {
        ck_assert_uint_eq(u->ack->up_to_seq, 5);
        ck_assert_uint_gt(u->seq, net.status_seq);
        net.acks_seen++;
        if (net.phase == 1)
            net.phase = 2;
    }
    goldline__uplink__free_unpacked(u, NULL);
}

/* Every 20 ms: publish whatever the current phase needs (PUB drops until SUB has joined). */
static void net_on_timer(uv_timer_t *t)
{
    unsigned char msg[512];
    size_t n;
    if (net.phase == 1) {
        n = assignment(msg, sizeof msg, "N1", "N1", 5, "NET-1", 26.26, 116.65);
        ck_assert_int_eq(nnuv_send(net.pub, msg, n), 0);
        /* Someone else's traffic on the same PUB must not reach N1. */
        n = assignment(msg, sizeof msg, "N10", "N10", 6, "NET-X", 26.26, 116.65);
        ck_assert_int_eq(nnuv_send(net.pub, msg, n), 0);
    } else if (net.phase == 2) {
        unit_session_stats_t st;
        unit_session_get_stats(net.unit, &st);
        if (st.queued == 0) {
            net_finish();
            return;
        }
        n = dispatcher_ack(msg, sizeof msg, "N1", net.status_seq);
        ck_assert_int_eq(nnuv_send(net.pub, msg, n), 0);
    }
}

static void net_on_deadline(uv_timer_t *t)
{
    ck_abort_msg("round trip did not complete: phase %d statuses %d acks %d orders %d",
                 net.phase, net.statuses, net.acks_seen, net.orders);
}

START_TEST(test_round_trip_over_nanomsg)
{
    memset(&net, 0, sizeof net);
    snprintf(net.dir, sizeof net.dir, "/tmp/gl-unit-link-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(net.dir));
    char up_url[128], down_url[128];
    snprintf(up_url, sizeof up_url, "ipc://%s/up", net.dir);
    snprintf(down_url, sizeof down_url, "ipc://%s/down", net.dir);
    ck_assert_int_eq(uv_loop_init(&net.loop), 0);
    ck_assert_int_eq(nnuv_open(&net.loop, NNUV_PULL, &net.pull), 0);
    ck_assert_int_eq(nnuv_bind(net.pull, up_url), 0);
    ck_assert_int_eq(nnuv_start_recv(net.pull, net_on_uplink, NULL), 0);
    ck_assert_int_eq(nnuv_open(&net.loop, NNUV_PUB, &net.pub), 0);
    ck_assert_int_eq(nnuv_bind(net.pub, down_url), 0);

    unit_link_config_t cfg = {up_url, down_url, {0, 200, 400, 0}, 50};
    ck_assert_int_eq(unit_link_new(&net.loop, &cfg, &net.link), 0);
    ck_assert_int_eq(unit_link_add_unit(net.link, "N1", 1, net_on_order, NULL, &net.unit), 0);
    ck_assert_int_eq(unit_link_add_unit(net.link, "N1", 1, net_on_order, NULL, NULL), GL_EEXIST);
    ck_assert_ptr_eq(unit_link_find(net.link, "N1"), net.unit);
    ck_assert_ptr_null(unit_link_find(net.link, "N10"));
    ck_assert_int_eq(unit_session_send_status(net.unit, UNIT_STATUS_AVAILABLE, NULL, T0), 0);

    uv_timer_init(&net.loop, &net.timer);
    uv_timer_init(&net.loop, &net.deadline);
    uv_timer_start(&net.timer, net_on_timer, 20, 20);
    uv_timer_start(&net.deadline, net_on_deadline, 10000, 0);
    ck_assert_int_eq(uv_run(&net.loop, UV_RUN_DEFAULT), 0);

    ck_assert_int_eq(net.closed, 3);
    ck_assert_int_eq(net.orders, 1);       /* once, however many repeats were published */
    ck_assert_int_ge(net.acks_seen, 1);
    ck_assert_int_ge(net.statuses, 1);     /* more than one if it was resent before the Ack */
    ck_assert_int_eq(uv_loop_close(&net.loop), 0);
    char path[128];
    snprintf(path, sizeof path, "%s/up", net.dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/down", net.dir);
    unlink(path);
    rmdir(net.dir);
}
END_TEST

static Suite *unit_link_suite(void)
{
    Suite *s = suite_create("unit_link");
    TCase *core = tcase_create("Core");
    tcase_add_checked_fixture(core, setup, teardown);
    tcase_add_test(core, test_queue_drops_oldest_fix_first);
    tcase_add_test(core, test_seq_starts_at_first_and_increases);
    tcase_add_test(core, test_resend_until_acked_with_same_bytes);
    tcase_add_test(core, test_refused_send_stays_queued_and_bounded);
    suite_add_tcase(s, core);
    TCase *down = tcase_create("Downlink");
    tcase_add_checked_fixture(down, setup, teardown);
    tcase_add_test(down, test_assignment_handled_once_and_reacked);
    tcase_add_test(down, test_late_repeat_below_highest_is_handled_once);
    tcase_add_test(down, test_unknown_body_is_ignored_not_acked);
    tcase_add_test(down, test_destination_is_an_order);
    tcase_add_test(down, test_sealed_session);
    suite_add_tcase(s, down);
    TCase *errors = tcase_create("Errors");
    tcase_add_checked_fixture(errors, setup, teardown);
    tcase_add_test(errors, test_malformed_downlink_is_refused);
    tcase_add_test(errors, test_topic_and_session_arguments);
    suite_add_tcase(s, errors);
    TCase *net_tc = tcase_create("Socket");
    tcase_set_timeout(net_tc, 20);
    tcase_add_test(net_tc, test_round_trip_over_nanomsg);
    suite_add_tcase(s, net_tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(unit_link_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
