/*
 * The live vitals relay's building blocks: the per-client queue that drops the oldest waveform
 * into gap markers and never drops text (dispatcher/outq.c), and the per-incident streams that
 * encode the ED's binary ECG messages and keep the last 10 s (dispatcher/relay.c), and the
 * bounded id sets of each screen's subscriptions (dispatcher/idlist.c).
 */
#include "err.h"
#include "goldline.pb-c.h"
#include "idlist.h"
#include "outq.h"
#include "relay.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static outq_buf_t *text_buf(const char *s)
{
    return outq_buf_new(s, strlen(s));
}

static outq_wave_id_t wave_id(const char *incident, uint64_t index, uint32_t samples)
{
    outq_wave_id_t id;
    memset(&id, 0, sizeof id);
    snprintf(id.incident, sizeof id.incident, "%s", incident);
    snprintf(id.vehicle, sizeof id.vehicle, "GX-01");
    id.first_index = index;
    id.first_ms = (int64_t)index * 2; /* 500 Hz */
    id.samples = samples;
    return id;
}

/* Pushes frame k (50 samples) of `incident` with a 1-byte payload k. */
static void push_frame(outq_t *q, const char *incident, int k)
{
    unsigned char byte = (unsigned char)k;
    outq_buf_t *b = outq_buf_new(&byte, 1);
    outq_wave_id_t id = wave_id(incident, (uint64_t)k * 50, 50);
    ck_assert_int_eq(outq_push_wave(q, b, &id), 0);
    outq_buf_unref(b);
}

START_TEST(test_queue_keeps_order_and_counts)
{
    outq_t q;
    outq_init(&q, 10, 10);
    outq_buf_t *t = text_buf("{\"a\":1}");
    ck_assert_int_eq(outq_push_text(&q, t), 0);
    push_frame(&q, "I1", 0);
    ck_assert_int_eq(outq_push_text(&q, t), 0);
    outq_buf_unref(t);
    ck_assert_uint_eq(q.texts, 2);
    ck_assert_uint_eq(q.waves, 1);
    ck_assert_uint_eq(q.bytes, 7 + 1 + 7);
    ck_assert_int_eq(outq_peek(&q)->kind, OUTQ_TEXT);
    outq_pop(&q);
    ck_assert_int_eq(outq_peek(&q)->kind, OUTQ_WAVE);
    ck_assert_uint_eq(outq_peek(&q)->wave.first_index, 0);
    outq_pop(&q);
    ck_assert_int_eq(outq_peek(&q)->kind, OUTQ_TEXT);
    outq_pop(&q);
    ck_assert_ptr_null(outq_peek(&q));
    ck_assert_uint_eq(q.count.texts_sent, 2);
    ck_assert_uint_eq(q.count.frames_sent, 1);
    ck_assert_uint_eq(q.bytes, 0);
    outq_clear(&q);
}
END_TEST

START_TEST(test_text_is_never_dropped_but_bounded)
{
    outq_t q;
    outq_init(&q, 3, 2);
    outq_buf_t *t = text_buf("x");
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(outq_push_text(&q, t), 0);
    for (int k = 0; k < 10; k++)
        push_frame(&q, "I1", k); /* waveform pressure never evicts text */
    ck_assert_int_eq(outq_push_text(&q, t), GL_ENOSPC);
    ck_assert_uint_eq(q.texts, 3);
    outq_buf_unref(t);
    outq_clear(&q);
    ck_assert_uint_eq(q.texts + q.waves + q.gaps, 0);
}
END_TEST

/* A stalled client: 4 frames fit; the 6 oldest of 10 become ONE gap marker of 300 samples
 * from sample 0, followed by frames 6..9 in order. */
START_TEST(test_oldest_frames_become_one_gap)
{
    outq_t q;
    outq_init(&q, 100, 4);
    for (int k = 0; k < 10; k++)
        push_frame(&q, "I1", k);
    ck_assert_uint_eq(q.waves, 4);
    ck_assert_uint_eq(q.gaps, 1);
    ck_assert_uint_eq(q.count.frames_dropped, 6);
    const outq_item_t *it = outq_peek(&q);
    ck_assert_int_eq(it->kind, OUTQ_GAP);
    ck_assert_str_eq(it->wave.incident, "I1");
    ck_assert_uint_eq(it->wave.first_index, 0);
    ck_assert_uint_eq(it->wave.samples, 300);
    ck_assert_ptr_null(it->buf);
    outq_pop(&q);
    for (int k = 6; k < 10; k++) {
        it = outq_peek(&q);
        ck_assert_int_eq(it->kind, OUTQ_WAVE);
        ck_assert_uint_eq(it->wave.first_index, (uint64_t)k * 50);
        ck_assert_int_eq(outq_buf_payload(it->buf)[0], k);
        outq_pop(&q);
    }
    ck_assert_ptr_null(outq_peek(&q));
    ck_assert_uint_eq(q.count.gaps_sent, 1);
    ck_assert_uint_eq(q.count.frames_sent, 4);
    ck_assert_uint_eq(q.bytes, 0);
}
END_TEST

/* Two patients interleaved: each stream's drops merge into its own marker; a text message
 * between the frames stays where it was. */
START_TEST(test_gaps_per_stream)
{
    outq_t q;
    outq_init(&q, 100, 2);
    outq_buf_t *t = text_buf("{\"event\":\"vitals\"}");
    for (int k = 0; k < 4; k++) {
        push_frame(&q, "A", k);
        push_frame(&q, "B", k);
        if (k == 0)
            ck_assert_int_eq(outq_push_text(&q, t), 0);
    }
    outq_buf_unref(t);
    /* dropped: A0 B0 A1 B1 A2 B2 -> markers A[0,150) and B[0,150); left: A3 B3 */
    ck_assert_uint_eq(q.count.frames_dropped, 6);
    ck_assert_uint_eq(q.gaps, 2);
    const outq_item_t *it = outq_peek(&q);
    ck_assert_int_eq(it->kind, OUTQ_GAP);
    ck_assert_str_eq(it->wave.incident, "A");
    ck_assert_uint_eq(it->wave.samples, 150);
    outq_pop(&q);
    it = outq_peek(&q);
    ck_assert_int_eq(it->kind, OUTQ_GAP);
    ck_assert_str_eq(it->wave.incident, "B");
    ck_assert_uint_eq(it->wave.first_index, 0);
    ck_assert_uint_eq(it->wave.samples, 150);
    outq_pop(&q);
    ck_assert_int_eq(outq_peek(&q)->kind, OUTQ_TEXT);
    outq_pop(&q);
    ck_assert_str_eq(outq_peek(&q)->wave.incident, "A");
    ck_assert_uint_eq(outq_peek(&q)->wave.first_index, 150);
    outq_pop(&q);
    ck_assert_str_eq(outq_peek(&q)->wave.incident, "B");
    outq_pop(&q);
    ck_assert_ptr_null(outq_peek(&q));
}
END_TEST

/* A marker already written is not reopened: later drops make a new one, from where they start. */
START_TEST(test_gap_after_sent_gap_is_new)
{
    outq_t q;
    outq_init(&q, 100, 1);
    push_frame(&q, "A", 0);
    push_frame(&q, "A", 1); /* A0 -> gap */
    outq_pop(&q);           /* the gap goes out */
    push_frame(&q, "A", 2); /* A1 -> new gap from 50 */
    const outq_item_t *it = outq_peek(&q);
    ck_assert_int_eq(it->kind, OUTQ_GAP);
    ck_assert_uint_eq(it->wave.first_index, 50);
    ck_assert_uint_eq(it->wave.samples, 50);
    outq_clear(&q);
}
END_TEST

/* A stream that leaves a client takes its queued frames and gap markers with it; text stays. */
START_TEST(test_drop_stream)
{
    outq_t q;
    outq_init(&q, 100, 3);
    outq_buf_t *t = text_buf("{\"event\":\"incident\"}");
    push_frame(&q, "A", 0);
    push_frame(&q, "B", 0);
    ck_assert_int_eq(outq_push_text(&q, t), 0);
    push_frame(&q, "A", 1);
    push_frame(&q, "A", 2); /* A0 dropped into a gap */
    outq_buf_unref(t);
    ck_assert_uint_eq(q.gaps, 1);
    ck_assert_uint_eq(outq_drop_stream(&q, "A"), 3); /* the gap and A1, A2 */
    ck_assert_uint_eq(q.waves, 1);
    ck_assert_uint_eq(q.gaps, 0);
    ck_assert_uint_eq(q.texts, 1);
    ck_assert_str_eq(outq_peek(&q)->wave.incident, "B");
    outq_pop(&q);
    ck_assert_int_eq(outq_peek(&q)->kind, OUTQ_TEXT);
    outq_pop(&q);
    ck_assert_ptr_null(outq_peek(&q));
    ck_assert_ptr_null(q.tail);
    ck_assert_uint_eq(q.bytes, 0);
    ck_assert_uint_eq(outq_drop_stream(&q, "A"), 0);
    push_frame(&q, "B", 1); /* the queue still works after a drop emptied its tail */
    ck_assert_str_eq(outq_peek(&q)->wave.incident, "B");
    outq_clear(&q);
}
END_TEST

/* A shared buffer lives as long as its last queue holds it (ASan checks the frees). */
START_TEST(test_shared_buffer_refcount)
{
    outq_t q1, q2;
    outq_init(&q1, 4, 4);
    outq_init(&q2, 4, 4);
    outq_buf_t *b = text_buf("shared");
    ck_assert_int_eq(outq_push_text(&q1, b), 0);
    ck_assert_int_eq(outq_push_text(&q2, b), 0);
    ck_assert_uint_eq(b->refs, 3);
    outq_buf_unref(b);
    outq_pop(&q1);
    ck_assert_uint_eq(outq_peek(&q2)->buf->refs, 1);
    ck_assert_mem_eq(outq_buf_payload(outq_peek(&q2)->buf), "shared", 6);
    outq_clear(&q2);
}
END_TEST

/* ---- relay -------------------------------------------------------------------------------- */

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static double lef64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

/* A 2-lead frame of `spl` samples per lead; lead l sample i = (l ? -1 : 1) * (i * 37 - 500),
 * delta coded as proto/goldline.proto says. */
typedef struct test_frame {
    Goldline__EcgFrame f;
    uint32_t codes[2];
    char *names[2];
    int32_t *deltas;
} test_frame_t;

static int16_t sample_of(int lead, uint32_t i)
{
    return (int16_t)((lead ? -1 : 1) * ((int)i * 37 - 500));
}

static void make_frame(test_frame_t *t, uint64_t index, uint32_t spl)
{
    goldline__ecg_frame__init(&t->f);
    t->codes[0] = 131329;
    t->codes[1] = 131330;
    t->names[0] = "I";
    t->names[1] = "II";
    t->deltas = malloc(2 * spl * sizeof *t->deltas);
    for (int l = 0; l < 2; l++)
        for (uint32_t i = 0; i < spl; i++)
            t->deltas[l * spl + i] =
                i ? sample_of(l, i) - sample_of(l, i - 1) : sample_of(l, 0);
    t->f.n_lead_codes = 2;
    t->f.lead_codes = t->codes;
    t->f.n_lead_names = 2;
    t->f.lead_names = t->names;
    t->f.sample_rate_hz = 500;
    t->f.uv_per_lsb = 5.0f;
    t->f.first_sample_ms = 1795564800000LL + (int64_t)index * 2;
    t->f.samples_per_lead = spl;
    t->f.n_samples = 2 * spl;
    t->f.samples = t->deltas;
    t->f.has_first_sample_index = 1;
    t->f.first_sample_index = index;
}

START_TEST(test_relay_encodes_the_documented_layout)
{
    relay_t *r = relay_new();
    test_frame_t t;
    make_frame(&t, 1000, 50);
    outq_buf_t *b;
    outq_wave_id_t id;
    ck_assert_int_eq(relay_ecg(r, "20261128-0001", "GX-01", &t.f, 1795564800123LL, &b, &id), 0);
    const unsigned char *p = outq_buf_payload(b);
    ck_assert_mem_eq(p, "GLE1", 4);
    unsigned header = p[4] | p[5] << 8;
    ck_assert_uint_eq(p[6] | p[7] << 8, 2);
    ck_assert_uint_eq(le32(p + 8), 500);
    ck_assert_uint_eq(le32(p + 12), 50);
    float uv;
    uint32_t bits = le32(p + 16);
    memcpy(&uv, &bits, sizeof uv);
    ck_assert(uv == 5.0f);
    ck_assert(lef64(p + 20) == (double)t.f.first_sample_ms);
    ck_assert(lef64(p + 28) == 1000.0);
    ck_assert(lef64(p + 36) == 1795564800123.0);
    const unsigned char *q = p + 44;
    ck_assert_uint_eq(q[0], 13);
    ck_assert_mem_eq(q + 1, "20261128-0001", 13);
    q += 14;
    ck_assert_uint_eq(q[0], 5);
    ck_assert_mem_eq(q + 1, "GX-01", 5);
    q += 6;
    ck_assert_uint_eq(le32(q), 131329);
    ck_assert_uint_eq(le32(q + 4), 131330);
    q += 8;
    ck_assert_uint_eq(q[0], 1);
    ck_assert_int_eq(q[1], 'I');
    ck_assert_uint_eq(q[2], 2);
    ck_assert_mem_eq(q + 3, "II", 2);
    q += 5;
    ck_assert_uint_eq(header % 2, 0);
    ck_assert_uint_eq(header, (unsigned)(q - p) + ((q - p) & 1));
    ck_assert_uint_eq(b->len, header + 2 * 2 * 50);
    /* the samples are the values, not the deltas */
    for (int l = 0; l < 2; l++)
        for (uint32_t i = 0; i < 50; i++) {
            const unsigned char *s = p + header + 2 * (l * 50 + i);
            ck_assert_int_eq((int16_t)(s[0] | s[1] << 8), sample_of(l, i));
        }
    ck_assert_str_eq(id.incident, "20261128-0001");
    ck_assert_uint_eq(id.first_index, 1000);
    ck_assert_uint_eq(id.samples, 50);
    outq_buf_unref(b);
    free(t.deltas);
    relay_free(r);
}
END_TEST

START_TEST(test_relay_refuses_bad_frames)
{
    relay_t *r = relay_new();
    test_frame_t t;
    make_frame(&t, 0, 50);
    outq_buf_t *b;
    outq_wave_id_t id;
    t.deltas[1] = 40000; /* the running sum leaves int16 */
    ck_assert_int_eq(relay_ecg(r, "I", "V", &t.f, 0, &b, &id), GL_EPROTO);
    t.deltas[1] = 1;
    t.f.n_samples = 99; /* not leads x samples per lead */
    ck_assert_int_eq(relay_ecg(r, "I", "V", &t.f, 0, &b, &id), GL_EPROTO);
    ck_assert_uint_eq(relay_stream_count(r), 0);
    free(t.deltas);
    relay_free(r);
}
END_TEST

static int contains(outq_buf_t *b, const char *s)
{
    return memmem(outq_buf_payload(b), b->len, s, strlen(s)) != NULL;
}

struct collected {
    int texts, frames;
    uint64_t first_index, last_index;
};

static void collect(void *ctx, outq_buf_t *b, const outq_wave_id_t *id)
{
    struct collected *c = ctx;
    ck_assert_ptr_nonnull(b);
    if (!id) {
        ck_assert_int_eq(c->frames, 0); /* numerics come first */
        c->texts++;
        return;
    }
    if (c->frames++ == 0)
        c->first_index = id->first_index;
    else
        ck_assert_uint_eq(id->first_index, c->last_index + 50); /* in order, none missing */
    c->last_index = id->first_index;
}

/* 30 s of 100 ms frames: the backlog holds the last 10 s (100 frames), numerics first. */
START_TEST(test_relay_backlog_is_last_10_s)
{
    relay_t *r = relay_new();
    for (int k = 0; k < 300; k++) {
        test_frame_t t;
        make_frame(&t, (uint64_t)k * 50, 50);
        outq_buf_t *b;
        outq_wave_id_t id;
        ck_assert_int_eq(relay_ecg(r, "I1", "GX-01", &t.f, 0, &b, &id), 0);
        outq_buf_unref(b);
        free(t.deltas);
    }
    vital_reading_t hr = {147842, 88.0f, 0, 1795564800000LL};
    vital_reading_t spo2 = {150456, NAN, 0, 1795564800000LL};
    vital_reading_t rd[2] = {hr, spo2};
    outq_buf_t *nb;
    ck_assert_int_eq(relay_numerics(r, "I1", "GX-01", rd, 2, &nb), 0);
    /* SpO2 "not available" goes as null, HR as its value */
    ck_assert(contains(nb, "{\"code\":150456,\"unit_code\":0,"));
    ck_assert(contains(nb, "\"value\":null}"));
    ck_assert(contains(nb, "\"value\":88.0}"));
    outq_buf_unref(nb);
    ck_assert_uint_eq(relay_backlog_frames(r, "I1"), 100);
    struct collected c = {0};
    relay_backlog(r, "I1", collect, &c);
    ck_assert_int_eq(c.texts, 1);
    ck_assert_int_eq(c.frames, 100);
    ck_assert_uint_eq(c.first_index, 200 * 50);
    ck_assert_uint_eq(c.last_index, 299 * 50);
    ck_assert_uint_eq(relay_backlog_frames(r, "other"), 0);
    relay_forget(r, "I1");
    ck_assert_uint_eq(relay_stream_count(r), 0);
    relay_free(r);
}
END_TEST

/* A resend is stored but not relayed twice; a unit whose numbering starts over (a newer frame
 * with a lower index) is relayed again; older numerics do not replace newer ones. */
START_TEST(test_relay_each_sample_once)
{
    relay_t *r = relay_new();
    test_frame_t t;
    outq_buf_t *b;
    outq_wave_id_t id;
    make_frame(&t, 1000, 50);
    ck_assert_int_eq(relay_ecg(r, "I1", "V", &t.f, 0, &b, &id), 0);
    outq_buf_unref(b);
    ck_assert_int_eq(relay_ecg(r, "I1", "V", &t.f, 0, &b, &id), GL_EDUP); /* the same again */
    free(t.deltas);
    make_frame(&t, 1050, 50);
    ck_assert_int_eq(relay_ecg(r, "I1", "V", &t.f, 0, &b, &id), 0);
    outq_buf_unref(b);
    free(t.deltas);
    make_frame(&t, 1000, 50); /* an older frame, late */
    ck_assert_int_eq(relay_ecg(r, "I1", "V", &t.f, 0, &b, &id), GL_EDUP);
    free(t.deltas);
    ck_assert_uint_eq(relay_backlog_frames(r, "I1"), 2);
    make_frame(&t, 0, 50); /* numbering started over: a newer time with index 0 */
    t.f.first_sample_ms = 1795564800000LL + 60000;
    ck_assert_int_eq(relay_ecg(r, "I1", "V", &t.f, 0, &b, &id), 0);
    ck_assert_uint_eq(id.first_index, 0);
    outq_buf_unref(b);
    free(t.deltas);
    vital_reading_t newer = {147842, 90.0f, 0, 1795564802000LL};
    vital_reading_t older = {147842, 80.0f, 0, 1795564801000LL};
    ck_assert_int_eq(relay_numerics(r, "I1", "V", &newer, 1, &b), 0);
    outq_buf_unref(b);
    ck_assert_int_eq(relay_numerics(r, "I1", "V", &older, 1, &b), GL_EDUP);
    ck_assert_int_eq(relay_numerics(r, "I1", "V", &newer, 1, &b), GL_EDUP);
    relay_free(r);
}
END_TEST

struct texts {
    outq_buf_t *last;
    int n;
};

static void keep_text(void *ctx, outq_buf_t *b, const outq_wave_id_t *id)
{
    struct texts *t = ctx;
    if (id)
        return;
    outq_buf_unref(t->last);
    t->last = outq_buf_ref(b);
    t->n++;
}

/* A monitor sends what changed: a late screen still gets the cuff's pressure from minutes ago
 * with the heart rate of a second ago, and an old reading never replaces a newer one. */
START_TEST(test_relay_numerics_newest_per_code)
{
    relay_t *r = relay_new();
    outq_buf_t *b;
    vital_reading_t first[2] = {{147842, 80.0f, 0, 1000}, {150021, 135.0f, 0, 1000}};
    vital_reading_t hr[1] = {{147842, 84.0f, 0, 2000}};
    vital_reading_t old_bp[1] = {{150021, 150.0f, 0, 500}};
    vital_reading_t mixed[2] = {{147842, 86.0f, 0, 3000}, {150021, 160.0f, 0, 900}};
    ck_assert_int_eq(relay_numerics(r, "I1", "V", first, 2, &b), 0);
    outq_buf_unref(b);
    ck_assert_int_eq(relay_numerics(r, "I1", "V", hr, 1, &b), 0);
    ck_assert(contains(b, "\"value\":84.0") && !contains(b, "150021")); /* only what changed */
    outq_buf_unref(b);
    ck_assert_int_eq(relay_numerics(r, "I1", "V", old_bp, 1, &b), GL_EDUP);
    ck_assert_int_eq(relay_numerics(r, "I1", "V", mixed, 2, &b), 0);
    outq_buf_unref(b);
    struct texts t = {NULL, 0};
    relay_backlog(r, "I1", keep_text, &t);
    ck_assert_int_eq(t.n, 1);
    ck_assert(contains(t.last, "\"value\":86.0"));  /* the newest HR */
    ck_assert(contains(t.last, "\"value\":135.0")); /* the pressure kept, not the older 160 */
    ck_assert(!contains(t.last, "\"value\":160.0") && !contains(t.last, "\"value\":150.0"));
    outq_buf_unref(t.last);
    relay_free(r);
}
END_TEST

/* A screen's id set grows past its first allocation, finds and removes by swapping the last in,
 * and refuses (GL_ENOSPC) past its bound instead of growing for ever. */
START_TEST(test_idlist_grows_to_its_bound)
{
    idlist_t l;
    idlist_init(&l, 40);
    char id[IDLIST_ID_LEN];
    for (int i = 0; i < 40; i++) {
        snprintf(id, sizeof id, "20261128-%04d", i);
        ck_assert_int_eq(idlist_find(&l, id), -1);
        ck_assert_int_eq(idlist_add(&l, id), 0);
    }
    ck_assert_uint_eq(l.n, 40);
    ck_assert_int_eq(idlist_add(&l, "20261128-9999"), GL_ENOSPC);
    ck_assert_int_eq(idlist_find(&l, "20261128-9999"), -1);
    ck_assert_int_eq(idlist_find(&l, "20261128-0017"), 17);
    idlist_remove(&l, "20261128-0017");
    ck_assert_uint_eq(l.n, 39);
    ck_assert_int_eq(idlist_find(&l, "20261128-0017"), -1);
    ck_assert_int_eq(idlist_find(&l, "20261128-0039"), 17); /* the last took its place */
    idlist_remove(&l, "not there");                          /* nothing happens */
    ck_assert_uint_eq(l.n, 39);
    ck_assert_int_eq(idlist_add(&l, "20261128-9999"), 0);    /* room again */
    idlist_remove_at(&l, (int)l.n - 1);
    ck_assert_int_eq(idlist_find(&l, "20261128-9999"), -1);
    idlist_free(&l);
    ck_assert_uint_eq(l.n, 0);
}
END_TEST

/* An id longer than the field is cut on a character boundary, never mid-character. */
START_TEST(test_idlist_cuts_long_ids_whole_characters)
{
    idlist_t l;
    idlist_init(&l, 4);
    char longid[80];
    memset(longid, 0, sizeof longid);
    for (int i = 0; i < 20; i++)
        memcpy(longid + 3 * i, "\xe6\x95\x91", 3); /* 救 x 20, 60 bytes */
    ck_assert_int_eq(idlist_add(&l, longid), 0);
    size_t n = strlen(l.a[0]);
    ck_assert_uint_lt(n, IDLIST_ID_LEN);
    ck_assert_uint_eq(n % 3, 0);
    idlist_free(&l);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("relay");
    TCase *q = tcase_create("outq");
    tcase_add_test(q, test_queue_keeps_order_and_counts);
    tcase_add_test(q, test_text_is_never_dropped_but_bounded);
    tcase_add_test(q, test_oldest_frames_become_one_gap);
    tcase_add_test(q, test_gaps_per_stream);
    tcase_add_test(q, test_gap_after_sent_gap_is_new);
    tcase_add_test(q, test_shared_buffer_refcount);
    tcase_add_test(q, test_drop_stream);
    suite_add_tcase(s, q);
    TCase *r = tcase_create("relay");
    tcase_add_test(r, test_relay_encodes_the_documented_layout);
    tcase_add_test(r, test_relay_refuses_bad_frames);
    tcase_add_test(r, test_relay_backlog_is_last_10_s);
    tcase_add_test(r, test_relay_each_sample_once);
    tcase_add_test(r, test_relay_numerics_newest_per_code);
    suite_add_tcase(s, r);
    TCase *ids = tcase_create("idlist");
    tcase_add_test(ids, test_idlist_grows_to_its_bound);
    tcase_add_test(ids, test_idlist_cuts_long_ids_whole_characters);
    suite_add_tcase(s, ids);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
