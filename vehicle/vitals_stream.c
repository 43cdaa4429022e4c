/*
 * The timed vitals stream (see vitals_stream.h): a frame counter and a numerics counter, both
 * anchored at the stream's start time, and one reusable EcgFrame / VitalsNumerics whose arrays
 * live in the stream, so polling allocates nothing.
 */
#include "vitals_stream.h"

#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum source_kind { SOURCE_GEN, SOURCE_WFDB };

struct vitals_stream {
    vitals_stream_config_t cfg;
    enum source_kind kind;
    vitals_gen_t *gen;     /* the ECG (SOURCE_GEN) and always the numerics */
    wfdb_replay_t *replay; /* SOURCE_WFDB */
    int n_leads;
    unsigned spf; /* samples per lead per frame */
    int64_t start_ms;
    uint64_t next_frame; /* index of the next ECG frame */
    uint64_t next_tick;  /* index of the next numerics message (due at (tick + 1) * period) */
    char incident[VITALS_INCIDENT_MAX];

    int16_t *samples; /* one frame, lead after lead */
    int32_t *deltas;  /* the same, delta coded */
    uint32_t lead_codes[VITALS_STREAM_MAX_LEADS];
    char lead_name_buf[VITALS_STREAM_MAX_LEADS][WFDB_MAX_DESC];
    char *lead_names[VITALS_STREAM_MAX_LEADS];

    int64_t last_measured[VITALS_COUNT]; /* measured_at_ms of each numeric last sent */
    vitals_stream_stats_t stats;
};

void vitals_stream_config_default(vitals_stream_config_t *c)
{
    c->fs = 500;
    c->uv_per_lsb = 2.5;
    c->frame_ms = 100;
    c->numerics_ms = 1000;
    c->max_lag_ms = 10000;
    c->max_frames_per_poll = 50;
}

static int check_config(const vitals_stream_config_t *c)
{
    if (c->fs == 0 || c->fs > 10000 || !(c->uv_per_lsb > 0) || c->frame_ms == 0 ||
        c->frame_ms > 10000 || c->numerics_ms == 0 || c->max_lag_ms <= 0 ||
        c->max_frames_per_poll == 0)
        return GL_EINVAL;
    if ((uint64_t)c->fs * c->frame_ms % 1000 != 0) /* whole samples per frame */
        return GL_EINVAL;
    return 0;
}

/* Allocates the stream with everything but the source. */
static int stream_alloc(const vitals_stream_config_t *cfg, int n_leads, int64_t start_ms,
                        vitals_stream_t **out)
{
    vitals_stream_config_t c;
    if (cfg)
        c = *cfg;
    else
        vitals_stream_config_default(&c);
    if (check_config(&c) < 0 || n_leads <= 0 || n_leads > VITALS_STREAM_MAX_LEADS)
        return GL_EINVAL;
    vitals_stream_t *s = calloc(1, sizeof *s);
    if (!s)
        return GL_ENOMEM;
    s->cfg = c;
    s->n_leads = n_leads;
    s->spf = (unsigned)((uint64_t)c.fs * c.frame_ms / 1000);
    s->start_ms = start_ms;
    size_t n = (size_t)n_leads * s->spf;
    s->samples = malloc(n * sizeof *s->samples);
    s->deltas = malloc(n * sizeof *s->deltas);
    if (!s->samples || !s->deltas) {
        vitals_stream_free(s);
        return GL_ENOMEM;
    }
    for (int i = 0; i < VITALS_COUNT; i++)
        s->last_measured[i] = INT64_MIN;
    for (int i = 0; i < VITALS_STREAM_MAX_LEADS; i++)
        s->lead_names[i] = s->lead_name_buf[i];
    *out = s;
    return 0;
}

int vitals_stream_new_gen(const vitals_stream_config_t *cfg, const vitals_gen_params_t *gp,
                          int64_t start_ms, vitals_stream_t **out)
{
    if (!gp)
        return GL_EINVAL;
    vitals_stream_t *s;
    int rc = stream_alloc(cfg, VITALS_ECG_LEADS, start_ms, &s);
    if (rc < 0)
        return rc;
    s->kind = SOURCE_GEN;
    s->gen = vitals_gen_new(gp, start_ms);
    if (!s->gen) {
        vitals_stream_free(s);
        return GL_ENOMEM;
    }
    for (int i = 0; i < VITALS_ECG_LEADS; i++) {
        s->lead_codes[i] = vitals_ecg_lead_codes[i];
        snprintf(s->lead_name_buf[i], WFDB_MAX_DESC, "%s", vitals_ecg_lead_names[i]);
    }
    *out = s;
    return 0;
}

int vitals_stream_pick_leads(const wfdb_header_t *h, int sigs[VITALS_STREAM_MAX_LEADS])
{
    int n = 0;
    for (int i = 0; i < h->n_signals && n < VITALS_STREAM_MAX_LEADS; i++)
        if (h->sig[i].uv_scale > 0 && wfdb_lead_mdc_code(h->sig[i].description) != 0)
            sigs[n++] = i;
    if (n > 0)
        return n;
    for (int i = 0; i < h->n_signals && n < VITALS_STREAM_MAX_LEADS; i++)
        if (h->sig[i].uv_scale > 0)
            sigs[n++] = i;
    return n;
}

int vitals_stream_new_record(const vitals_stream_config_t *cfg, const wfdb_record_t *rec,
                             uint64_t seed, int64_t start_ms, vitals_stream_t **out, char *err,
                             size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    const wfdb_header_t *h = wfdb_record_header(rec);
    int sigs[VITALS_STREAM_MAX_LEADS];
    int n = vitals_stream_pick_leads(h, sigs);
    if (n == 0) {
        snprintf(err, errlen, "record %s: no ECG signal in volts", h->record_name);
        return GL_EINVAL;
    }
    vitals_stream_t *s;
    int rc = stream_alloc(cfg, n, start_ms, &s);
    if (rc < 0) {
        snprintf(err, errlen, rc == GL_ENOMEM ? "out of memory" : "bad stream configuration");
        return rc;
    }
    s->kind = SOURCE_WFDB;
    for (int i = 0; i < n; i++) {
        s->lead_codes[i] = wfdb_lead_mdc_code(h->sig[sigs[i]].description);
        snprintf(s->lead_name_buf[i], WFDB_MAX_DESC, "%s", h->sig[sigs[i]].description);
    }
    rc = wfdb_replay_new(rec, sigs, n, s->cfg.fs, s->cfg.uv_per_lsb, &s->replay);
    if (rc < 0) {
        snprintf(err, errlen, "record %s: cannot prepare the replay: %s", h->record_name,
                 gl_strerror(rc));
        vitals_stream_free(s);
        return rc;
    }
    vitals_gen_params_t gp;
    vitals_gen_params_default(&gp);
    gp.seed = seed;
    s->gen = vitals_gen_new(&gp, start_ms);
    if (!s->gen) {
        snprintf(err, errlen, "out of memory");
        vitals_stream_free(s);
        return GL_ENOMEM;
    }
    *out = s;
    return 0;
}

int vitals_stream_open_record(const char *path, wfdb_record_t **out, char *err, size_t errlen)
{
    char hea[1024];
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = '\0';
    size_t len = path ? strlen(path) : 0;
    if (len == 0) {
        snprintf(err, errlen, "no record path");
        return GL_EINVAL;
    }
    int w = snprintf(hea, sizeof hea, "%s%s", path,
                     len > 4 && strcmp(path + len - 4, ".hea") == 0 ? "" : ".hea");
    if (w < 0 || (size_t)w >= sizeof hea) {
        snprintf(err, errlen, "record path too long");
        return GL_EINVAL;
    }
    return wfdb_record_open(hea, out, err, errlen);
}

int vitals_stream_new_wfdb(const vitals_stream_config_t *cfg, const char *path, uint64_t seed,
                           int64_t start_ms, vitals_stream_t **out, char *err, size_t errlen)
{
    wfdb_record_t *rec;
    int rc = vitals_stream_open_record(path, &rec, err, errlen);
    if (rc < 0)
        return rc;
    rc = vitals_stream_new_record(cfg, rec, seed, start_ms, out, err, errlen);
    wfdb_record_free(rec);
    return rc;
}

void vitals_stream_free(vitals_stream_t *s)
{
    if (!s)
        return;
    vitals_gen_free(s->gen);
    wfdb_replay_free(s->replay);
    free(s->samples);
    free(s->deltas);
    free(s);
}

int vitals_stream_set_incident(vitals_stream_t *s, const char *incident_id)
{
    if (!incident_id)
        incident_id = "";
    if (strlen(incident_id) >= sizeof s->incident)
        return GL_EINVAL;
    memcpy(s->incident, incident_id, strlen(incident_id) + 1);
    return 0;
}

int vitals_stream_lead_count(const vitals_stream_t *s)
{
    return s->n_leads;
}

unsigned vitals_stream_frame_samples(const vitals_stream_t *s)
{
    return s->spf;
}

void vitals_stream_get_stats(const vitals_stream_t *s, vitals_stream_stats_t *out)
{
    *out = s->stats;
}

void vitals_ecg_encode(const int16_t *samples, size_t n_leads, size_t per_lead, int32_t *deltas)
{
    for (size_t l = 0; l < n_leads; l++) {
        const int16_t *in = samples + l * per_lead;
        int32_t *out = deltas + l * per_lead;
        int32_t prev = 0;
        for (size_t i = 0; i < per_lead; i++) {
            out[i] = (int32_t)in[i] - prev;
            prev = in[i];
        }
    }
}

int vitals_ecg_decode(const int32_t *deltas, size_t n_leads, size_t per_lead, int16_t *samples)
{
    for (size_t l = 0; l < n_leads; l++) {
        int64_t acc = 0;
        for (size_t i = 0; i < per_lead; i++) {
            acc += deltas[l * per_lead + i];
            if (acc < INT16_MIN || acc > INT16_MAX)
                return GL_ERANGE;
            samples[l * per_lead + i] = (int16_t)acc;
        }
    }
    return 0;
}

/* ---- polling -------------------------------------------------------------------------- */

static int64_t frame_due(const vitals_stream_t *s, uint64_t k)
{
    return s->start_ms + (int64_t)(k + 1) * s->cfg.frame_ms;
}

static int64_t tick_due(const vitals_stream_t *s, uint64_t j)
{
    return s->start_ms + (int64_t)(j + 1) * s->cfg.numerics_ms;
}

static int emit_frame(vitals_stream_t *s, const vitals_stream_sink_t *sink)
{
    uint64_t k = s->next_frame++;
    if (s->kind == SOURCE_WFDB)
        wfdb_replay_read(s->replay, s->spf, s->samples);
    else
        vitals_gen_ecg(s->gen, s->cfg.fs, s->cfg.uv_per_lsb, s->spf, s->samples);
    vitals_ecg_encode(s->samples, (size_t)s->n_leads, s->spf, s->deltas);
    Goldline__EcgFrame f = GOLDLINE__ECG_FRAME__INIT;
    f.incident_id = s->incident[0] ? s->incident : NULL;
    f.n_lead_codes = f.n_lead_names = (size_t)s->n_leads;
    f.lead_codes = s->lead_codes;
    f.lead_names = s->lead_names;
    f.sample_rate_hz = s->cfg.fs;
    f.uv_per_lsb = (float)s->cfg.uv_per_lsb;
    f.first_sample_ms = s->start_ms + (int64_t)k * s->cfg.frame_ms;
    f.samples_per_lead = s->spf;
    f.n_samples = (size_t)s->n_leads * s->spf;
    f.samples = s->deltas;
    f.has_first_sample_index = 1;
    f.first_sample_index = k * s->spf;
    s->stats.ecg_frames++;
    s->stats.ecg_samples += s->spf;
    return sink && sink->on_ecg ? sink->on_ecg(&f, sink->ctx) : 0;
}

static int emit_numerics(vitals_stream_t *s, const vitals_stream_sink_t *sink)
{
    int64_t at = tick_due(s, s->next_tick++);
    vitals_numeric_t v[VITALS_COUNT];
    vitals_gen_step(s->gen, at, v);
    Goldline__VitalsNumerics__Numeric num[VITALS_COUNT];
    Goldline__VitalsNumerics__Numeric *ptr[VITALS_COUNT];
    size_t n = 0;
    for (int i = 0; i < VITALS_COUNT; i++) {
        if (v[i].measured_at_ms <= s->last_measured[i])
            continue; /* nothing new since the last message */
        s->last_measured[i] = v[i].measured_at_ms;
        Goldline__VitalsNumerics__Numeric one = GOLDLINE__VITALS_NUMERICS__NUMERIC__INIT;
        one.mdc_code = v[i].mdc_code;
        one.measured_at_ms = v[i].measured_at_ms;
        one.has_value = 1;
        one.value = (float)v[i].value;
        if (v[i].unit_code) {
            one.has_unit_code = 1;
            one.unit_code = v[i].unit_code;
        }
        num[n] = one;
        ptr[n] = &num[n];
        n++;
    }
    Goldline__VitalsNumerics m = GOLDLINE__VITALS_NUMERICS__INIT;
    m.incident_id = s->incident[0] ? s->incident : NULL;
    m.n_numerics = n;
    m.numerics = ptr;
    s->stats.numerics_msgs++;
    return sink && sink->on_numerics ? sink->on_numerics(&m, sink->ctx) : 0;
}

int vitals_stream_poll(vitals_stream_t *s, int64_t now_ms, const vitals_stream_sink_t *sink)
{
    /* Far behind: jump to the present instead of bursting (see the header). */
    if (now_ms - frame_due(s, s->next_frame) > s->cfg.max_lag_ms) {
        uint64_t k = (uint64_t)((now_ms - s->start_ms) / s->cfg.frame_ms) - 1;
        s->stats.skipped += (k - s->next_frame) * s->spf;
        s->next_frame = k;
    }
    if (now_ms - tick_due(s, s->next_tick) > s->cfg.max_lag_ms)
        s->next_tick = (uint64_t)((now_ms - s->start_ms) / s->cfg.numerics_ms) - 1;

    int emitted = 0;
    unsigned frames = 0;
    for (;;) {
        int64_t fd = frame_due(s, s->next_frame), td = tick_due(s, s->next_tick);
        int rc;
        if (td <= now_ms && (fd > now_ms || td <= fd)) {
            rc = emit_numerics(s, sink); /* first on a tie: the ECG follows the new HR */
        } else if (fd <= now_ms) {
            if (frames >= s->cfg.max_frames_per_poll)
                break; /* the rest next time, still in time order */
            rc = emit_frame(s, sink);
            frames++;
        } else {
            break;
        }
        emitted++;
        if (rc != 0)
            break;
    }
    return emitted;
}
