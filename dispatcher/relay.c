/*
 * Live patient streams: encoding of the ED's websocket messages and the 10 s backlog per
 * incident (see relay.h).
 */
#include "relay.h"

#include "err.h"
#include "goldline.pb-c.h"
#include "text.h"
#include "timeutil.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct backlog_frame {
    outq_buf_t *buf;
    outq_wave_id_t id;
    uint32_t rate_hz;
} backlog_frame_t;

typedef struct stream {
    char incident[40];
    outq_buf_t *numerics;       /* a "vitals" event of the newest value of every code, or NULL */
    vital_reading_t latest[RELAY_MAX_CODES]; /* those values, one per code */
    size_t nlatest;
    int has_next;               /* the stream's ECG relayed so far ends at... */
    uint64_t next_index;        /* ...this sample index */
    int64_t last_ms;            /* the newest frame's first sample time */
    backlog_frame_t *frames;    /* a ring, oldest at `first` */
    size_t first, count, cap;
} stream_t;

struct relay {
    stream_t *streams;
    size_t n, cap;
};

relay_t *relay_new(void)
{
    return calloc(1, sizeof(relay_t));
}

static void stream_clear(stream_t *s)
{
    outq_buf_unref(s->numerics);
    for (size_t i = 0; i < s->count; i++)
        outq_buf_unref(s->frames[(s->first + i) % s->cap].buf);
    free(s->frames);
}

void relay_free(relay_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        stream_clear(&r->streams[i]);
    free(r->streams);
    free(r);
}

static stream_t *find(const relay_t *r, const char *incident)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->streams[i].incident, incident))
            return &r->streams[i];
    return NULL;
}

static stream_t *find_or_add(relay_t *r, const char *incident)
{
    stream_t *s = find(r, incident);
    if (s)
        return s;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        stream_t *ns = realloc(r->streams, cap * sizeof *ns);
        if (!ns)
            return NULL;
        r->streams = ns;
        r->cap = cap;
    }
    s = &r->streams[r->n++];
    memset(s, 0, sizeof *s);
    gl_utf8_copy(s->incident, sizeof s->incident, incident);
    return s;
}

void relay_forget(relay_t *r, const char *incident)
{
    stream_t *s = find(r, incident);
    if (!s)
        return;
    stream_clear(s);
    *s = r->streams[--r->n];
}

size_t relay_stream_count(const relay_t *r)
{
    return r->n;
}

size_t relay_backlog_frames(const relay_t *r, const char *incident)
{
    const stream_t *s = find(r, incident);
    return s ? s->count : 0;
}

/* ---- encoding ----------------------------------------------------------------------------- */

static unsigned char *put_u16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    return p + 2;
}

static unsigned char *put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
    return p + 4;
}

static unsigned char *put_f64(unsigned char *p, double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
    return p + 8;
}

static unsigned char *put_str(unsigned char *p, const char *s, size_t n)
{
    *p++ = (unsigned char)n;
    memcpy(p, s, n);
    return p + n;
}

/* A string's length as one length byte allows, cut at a character boundary. */
static size_t short_len(const char *s)
{
    size_t n = strlen(s);
    if (n <= 255)
        return n;
    n = 255;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* Where a frame's first sample is in its stream: the unit's index, or (a unit that does not
 * number its samples) the sample that its time falls on. */
static uint64_t frame_index(const Goldline__EcgFrame *f)
{
    if (f->has_first_sample_index)
        return f->first_sample_index;
    return (uint64_t)llround((double)f->first_sample_ms * f->sample_rate_hz / 1000.0);
}

static int encode_ecg(const Goldline__EcgFrame *f, const char *incident, const char *vehicle,
                      int64_t sent_at_ms, outq_buf_t **out)
{
    size_t leads = f->n_lead_codes ? f->n_lead_codes : f->n_lead_names;
    size_t spl = f->samples_per_lead;
    if (leads == 0 || leads > 64 || spl == 0 || spl > 65535 || f->n_samples != leads * spl ||
        f->sample_rate_hz == 0 || f->sample_rate_hz > 65535 ||
        (f->n_lead_names && f->n_lead_names != leads) ||
        (f->n_lead_codes && f->n_lead_codes != leads))
        return GL_EPROTO;
    size_t ia = short_len(incident), vb = short_len(vehicle);
    size_t header = RELAY_ECG_FIXED + 1 + ia + 1 + vb + 4 * leads;
    for (size_t l = 0; l < leads; l++)
        header += 1 + (f->n_lead_names ? short_len(f->lead_names[l]) : 0);
    header += header & 1; /* samples start at an even offset */
    if (header > 65535)
        return GL_EPROTO;
    outq_buf_t *b = outq_buf_new(NULL, header + 2 * leads * spl);
    if (!b)
        return GL_ENOMEM;
    unsigned char *p = outq_buf_payload(b);
    memcpy(p, RELAY_ECG_MAGIC, 4);
    p = put_u16(p + 4, (uint16_t)header);
    p = put_u16(p, (uint16_t)leads);
    p = put_u32(p, f->sample_rate_hz);
    p = put_u32(p, (uint32_t)spl);
    float uv = f->uv_per_lsb;
    uint32_t uvbits;
    memcpy(&uvbits, &uv, sizeof uvbits);
    p = put_u32(p, uvbits);
    p = put_f64(p, (double)f->first_sample_ms);
    p = put_f64(p, (double)frame_index(f));
    p = put_f64(p, (double)sent_at_ms);
    p = put_str(p, incident, ia);
    p = put_str(p, vehicle, vb);
    for (size_t l = 0; l < leads; l++)
        p = put_u32(p, f->n_lead_codes ? f->lead_codes[l] : 0);
    for (size_t l = 0; l < leads; l++) {
        const char *name = f->n_lead_names ? f->lead_names[l] : "";
        p = put_str(p, name, short_len(name));
    }
    unsigned char *samples = outq_buf_payload(b) + header;
    if (p < samples)
        *p = 0; /* the padding byte */
    /* Undo the per-lead delta coding (proto/goldline.proto): running sums, each an int16. */
    for (size_t l = 0; l < leads; l++) {
        int64_t v = 0;
        for (size_t i = 0; i < spl; i++) {
            v = i ? v + f->samples[l * spl + i] : f->samples[l * spl];
            if (v < INT16_MIN || v > INT16_MAX) {
                outq_buf_unref(b);
                return GL_EPROTO;
            }
            put_u16(samples + 2 * (l * spl + i), (uint16_t)(int16_t)v);
        }
    }
    *out = b;
    return 0;
}

/* Drops backlog frames that end more than RELAY_BACKLOG_MS of samples before the newest. */
static void trim(stream_t *s)
{
    if (!s->count)
        return;
    const backlog_frame_t *last = &s->frames[(s->first + s->count - 1) % s->cap];
    uint64_t end = last->id.first_index + last->id.samples;
    uint64_t keep = (uint64_t)last->rate_hz * RELAY_BACKLOG_MS / 1000;
    while (s->count > 1) {
        backlog_frame_t *f = &s->frames[s->first];
        if (f->id.first_index + f->id.samples + keep > end && f->id.first_index <= end)
            break;
        outq_buf_unref(f->buf);
        s->first = (s->first + 1) % s->cap;
        s->count--;
    }
}

static int backlog_add(stream_t *s, outq_buf_t *b, const outq_wave_id_t *id, uint32_t rate)
{
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 128;
        backlog_frame_t *nf = malloc(cap * sizeof *nf);
        if (!nf)
            return GL_ENOMEM;
        for (size_t i = 0; i < s->count; i++)
            nf[i] = s->frames[(s->first + i) % s->cap];
        free(s->frames);
        s->frames = nf;
        s->first = 0;
        s->cap = cap;
    }
    backlog_frame_t *f = &s->frames[(s->first + s->count) % s->cap];
    f->buf = outq_buf_ref(b);
    f->id = *id;
    f->rate_hz = rate;
    s->count++;
    trim(s);
    return 0;
}

int relay_ecg(relay_t *r, const char *incident, const char *vehicle, const void *frame,
              int64_t sent_at_ms, outq_buf_t **out, outq_wave_id_t *id)
{
    const Goldline__EcgFrame *f = frame;
    /* Live means each sample once, in order: a frame the screens already had (sent again after
     * a lost acknowledgement or a full database buffer) is not relayed twice. A unit whose
     * numbering started over (a newer frame with a lower index, or an index far below any the
     * backlog could hold: a reboot whose clock came up early) starts a new run. */
    stream_t *known = find(r, incident);
    uint64_t index = frame_index(f);
    int restart = 0;
    if (known && known->has_next && index < known->next_index) {
        uint64_t far = (uint64_t)f->sample_rate_hz * RELAY_BACKLOG_MS / 1000 * 3 / 2;
        if (f->first_sample_ms <= known->last_ms && known->next_index - index <= far)
            return GL_EDUP;
        restart = 1;
    }
    outq_buf_t *b;
    int rc = encode_ecg(f, incident, vehicle, sent_at_ms, &b);
    if (rc)
        return rc;
    if (restart)
        known->has_next = 0;
    memset(id, 0, sizeof *id);
    gl_utf8_copy(id->incident, sizeof id->incident, incident);
    gl_utf8_copy(id->vehicle, sizeof id->vehicle, vehicle);
    id->first_index = frame_index(f);
    id->first_ms = f->first_sample_ms;
    id->samples = f->samples_per_lead;
    stream_t *s = find_or_add(r, incident);
    if (!s || backlog_add(s, b, id, f->sample_rate_hz) != 0) {
        outq_buf_unref(b);
        return GL_ENOMEM;
    }
    s->has_next = 1;
    s->next_index = index + f->samples_per_lead;
    s->last_ms = f->first_sample_ms;
    *out = b;
    return 0;
}

/* The "vitals" event of `n` readings. NULL on out of memory. */
static outq_buf_t *numerics_event(const char *incident, const char *vehicle,
                                  const vital_reading_t *rd, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char at[40];
        json_t *o = json_pack("{s:I,s:I,s:s}", "code", (json_int_t)rd[i].mdc_code, "unit_code",
                              (json_int_t)rd[i].unit_code, "measured_at",
                              gl_time_format_utc(rd[i].measured_ms, at, sizeof at));
        json_object_set_new(o, "value",
                            isfinite(rd[i].value) ? json_real(rd[i].value) : json_null());
        json_array_append_new(arr, o);
    }
    json_t *ev = json_pack("{s:s,s:s,s:s,s:o}", "event", "vitals", "incident", incident,
                           "vehicle", vehicle, "numerics", arr);
    char *text = ev ? json_dumps(ev, JSON_COMPACT | JSON_REAL_PRECISION(7)) : NULL;
    json_decref(ev);
    outq_buf_t *b = text ? outq_buf_new(text, strlen(text)) : NULL;
    free(text);
    return b;
}

/* The stream's newest reading of `code`, or NULL. */
static vital_reading_t *latest_of(stream_t *s, uint32_t code)
{
    for (size_t i = 0; i < s->nlatest; i++)
        if (s->latest[i].mdc_code == code)
            return &s->latest[i];
    return NULL;
}

/*
 * Monitors send what changed (vitals_stream.c): HR every second, the cuff's pressure every few
 * minutes. So the stream keeps the newest value of each code, and a screen that opens late gets
 * all of them, not only the last message's. A message with nothing newer than what the stream
 * has for each of its codes is a resend and is not relayed.
 */
int relay_numerics(relay_t *r, const char *incident, const char *vehicle,
                   const vital_reading_t *rd, size_t n, outq_buf_t **out)
{
    stream_t *s = find_or_add(r, incident);
    if (!s)
        return GL_ENOMEM;
    int newer = 0;
    for (size_t i = 0; i < n; i++) {
        vital_reading_t *l = latest_of(s, rd[i].mdc_code);
        if (!l && s->nlatest < RELAY_MAX_CODES)
            l = &s->latest[s->nlatest++], l->measured_ms = INT64_MIN, l->mdc_code = rd[i].mdc_code;
        if (l && rd[i].measured_ms > l->measured_ms) {
            *l = rd[i];
            newer = 1;
        }
    }
    if (!newer)
        return GL_EDUP;
    outq_buf_t *b = numerics_event(incident, vehicle, rd, n);
    outq_buf_t *all = numerics_event(incident, vehicle, s->latest, s->nlatest);
    if (!b || !all) {
        outq_buf_unref(b);
        outq_buf_unref(all);
        return GL_ENOMEM;
    }
    outq_buf_unref(s->numerics);
    s->numerics = all;
    *out = b;
    return 0;
}

void relay_backlog(const relay_t *r, const char *incident, relay_backlog_fn fn, void *ctx)
{
    const stream_t *s = find(r, incident);
    if (!s)
        return;
    if (s->numerics)
        fn(ctx, s->numerics, NULL);
    for (size_t i = 0; i < s->count; i++) {
        const backlog_frame_t *f = &s->frames[(s->first + i) % s->cap];
        fn(ctx, f->buf, &f->id);
    }
}
