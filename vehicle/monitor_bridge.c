/*
 * The monitor-bridge socket (see monitor_bridge.h): a strict hand-written parser for the three
 * commands, and a libuv unix-socket server that feeds it one line at a time and answers each.
 * Numbers are parsed with strtol/strtod and then checked for trailing bytes, range and
 * finiteness; nothing is guessed.
 */
#include "monitor_bridge.h"

#include "err.h"
#include "log.h"
#include "wfdb.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MOD "monitor"
#define REPLY_MAX 256

/* ---- parser --------------------------------------------------------------------------- */

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return GL_EINVAL;
}

static int parse_i64(const char *s, long long lo, long long hi, long long *out)
{
    if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    if (!s || !*s || strchr(s, 'x') || strchr(s, 'X') || strchr(s, 'n') || strchr(s, 'N') ||
        strchr(s, 'i') || strchr(s, 'I'))
        return -1; /* no hex, nan or inf spellings */
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* Epoch ms: 1 .. year 9999; "-" leaves 0 (not given). */
static int parse_time(const char *s, int64_t *out)
{
    long long v;
    if (strcmp(s, "-") == 0) {
        *out = 0;
        return 0;
    }
    if (parse_i64(s, 1, 253402300799999LL, &v) < 0)
        return -1;
    *out = v;
    return 0;
}

static int parse_num(char **f, int nf, monitor_msg_t *m, char *err, size_t errlen)
{
    long long code;
    if (nf < 3 || nf > 4)
        return fail(err, errlen, "NUM: usage NUM <mdc_code> <value>|- [<epoch_ms>|-]");
    if (parse_i64(f[1], 1, UINT32_MAX, &code) < 0)
        return fail(err, errlen, "NUM: code '%.32s' is not an unsigned 32-bit number", f[1]);
    m->mdc_code = (uint32_t)code;
    if (strcmp(f[2], "-") == 0) {
        m->has_value = 0;
    } else if (parse_double(f[2], &m->value) < 0) {
        return fail(err, errlen, "NUM: value '%.32s' is not a number", f[2]);
    } else {
        m->has_value = 1;
    }
    if (nf == 4 && parse_time(f[3], &m->at_ms) < 0)
        return fail(err, errlen, "NUM: time '%.32s' is not ms since the epoch or -", f[3]);
    return 0;
}

static int parse_ecg(char **f, int nf, monitor_msg_t *m, char *err, size_t errlen)
{
    long long rate;
    if (nf != 6)
        return fail(err, errlen,
                    "ECG: usage ECG <rate_hz> <uv_per_lsb> <epoch_ms>|- <leads> <samples>");
    if (parse_i64(f[1], 1, 10000, &rate) < 0)
        return fail(err, errlen, "ECG: rate '%.32s' is not 1..10000", f[1]);
    m->rate_hz = (unsigned)rate;
    if (parse_double(f[2], &m->uv_per_lsb) < 0 || !(m->uv_per_lsb > 0) || m->uv_per_lsb > 1e6)
        return fail(err, errlen, "ECG: uv_per_lsb '%.32s' is not a positive number", f[2]);
    if (parse_time(f[3], &m->at_ms) < 0)
        return fail(err, errlen, "ECG: time '%.32s' is not ms since the epoch or -", f[3]);

    m->n_leads = 0;
    for (char *rest = f[4], *name; (name = strsep(&rest, ",")) != NULL;) {
        if (*name == '\0')
            return fail(err, errlen, "ECG: empty lead name");
        if (m->n_leads == MONITOR_ECG_MAX_LEADS)
            return fail(err, errlen, "ECG: more than %d leads", MONITOR_ECG_MAX_LEADS);
        if (strlen(name) >= MONITOR_LEAD_NAME_MAX)
            return fail(err, errlen, "ECG: lead name '%.20s' too long", name);
        snprintf(m->lead_names[m->n_leads], MONITOR_LEAD_NAME_MAX, "%s", name);
        m->lead_codes[m->n_leads] = wfdb_lead_mdc_code(name);
        m->n_leads++;
    }

    /* Samples: leads separated by '/', values by ','. Each lead is stored at its own offset
     * of per_lead, known only after the first lead: store at l * MAX and compact afterwards. */
    int lead = 0;
    for (char *lrest = f[5], *part; (part = strsep(&lrest, "/")) != NULL;) {
        if (lead == m->n_leads)
            return fail(err, errlen, "ECG: more sample lists than the %d leads named", m->n_leads);
        unsigned n = 0;
        for (char *vrest = part, *v; (v = strsep(&vrest, ",")) != NULL;) {
            long long x;
            if (*v == '\0')
                return fail(err, errlen, "ECG: empty sample in lead %s", m->lead_names[lead]);
            if (n == MONITOR_ECG_MAX_SAMPLES)
                return fail(err, errlen, "ECG: more than %d samples in lead %s",
                            MONITOR_ECG_MAX_SAMPLES, m->lead_names[lead]);
            if (parse_i64(v, INT16_MIN, INT16_MAX, &x) < 0)
                return fail(err, errlen, "ECG: sample '%.16s' of lead %s is not an int16", v,
                            m->lead_names[lead]);
            m->samples[(size_t)lead * MONITOR_ECG_MAX_SAMPLES + n++] = (int16_t)x;
        }
        if (lead == 0)
            m->per_lead = n;
        else if (n != m->per_lead)
            return fail(err, errlen, "ECG: lead %s has %u samples, lead %s has %u",
                        m->lead_names[lead], n, m->lead_names[0], m->per_lead);
        lead++;
    }
    if (lead != m->n_leads)
        return fail(err, errlen, "ECG: %d leads named, %d sample lists given", m->n_leads, lead);
    for (int l = 1; l < m->n_leads; l++)
        memmove(m->samples + (size_t)l * m->per_lead,
                m->samples + (size_t)l * MONITOR_ECG_MAX_SAMPLES,
                m->per_lead * sizeof m->samples[0]);
    return 0;
}

int monitor_line_parse(char *line, monitor_msg_t *out, char *err, size_t errlen)
{
    size_t len = strlen(line);
    if (len > 0 && line[len - 1] == '\r')
        line[--len] = '\0';
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e)
            return fail(err, errlen, "byte 0x%02x at column %zu is not printable ASCII",
                        (unsigned char)line[i], i + 1);
    char *f[8];
    int nf = 0;
    char *save = NULL;
    for (char *w = strtok_r(line, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (nf == 8)
            return fail(err, errlen, "too many fields");
        f[nf++] = w;
    }
    if (nf == 0)
        return fail(err, errlen, "empty line (commands: NUM, ECG, PING)");
    memset(out, 0, offsetof(monitor_msg_t, samples));
    if (strcmp(f[0], "NUM") == 0) {
        out->kind = MONITOR_MSG_NUM;
        return parse_num(f, nf, out, err, errlen);
    }
    if (strcmp(f[0], "ECG") == 0) {
        out->kind = MONITOR_MSG_ECG;
        return parse_ecg(f, nf, out, err, errlen);
    }
    if (strcmp(f[0], "PING") == 0) {
        out->kind = MONITOR_MSG_PING;
        return nf == 1 ? 0 : fail(err, errlen, "PING takes no fields");
    }
    return fail(err, errlen, "unknown command '%.16s' (commands: NUM, ECG, PING)", f[0]);
}

/* ---- server --------------------------------------------------------------------------- */

struct client {
    uv_pipe_t pipe;
    monitor_bridge_t *b;
    char *buf; /* MONITOR_LINE_MAX bytes: a partial line */
    size_t len;
    int closing;
    struct client *next;
};

struct monitor_bridge {
    uv_loop_t *loop;
    uv_pipe_t server;
    char path[108];
    monitor_on_msg cb;
    void *ctx;
    struct client *clients;
    monitor_msg_t msg; /* the line being handled (too large for the stack) */
    monitor_bridge_stats_t stats;
    int closing;
    int pending; /* handles still closing */
    void (*on_closed)(void *ctx);
    void *closed_ctx;
};

static void finish_close(monitor_bridge_t *b)
{
    if (b->pending > 0)
        return;
    void (*cb)(void *) = b->on_closed;
    void *ctx = b->closed_ctx;
    free(b);
    if (cb)
        cb(ctx);
}

static void on_write(uv_write_t *req, int status)
{
    free(req);
}

static void reply(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void reply(struct client *c, const char *fmt, ...)
{
    if (c->closing)
        return;
    uv_write_t *req = malloc(sizeof *req + REPLY_MAX);
    if (!req)
        return;
    char *text = (char *)(req + 1);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, REPLY_MAX - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if (n > REPLY_MAX - 2)
        n = REPLY_MAX - 2;
    text[n++] = '\n';
    uv_buf_t buf = uv_buf_init(text, (unsigned)n);
    if (uv_write(req, (uv_stream_t *)&c->pipe, &buf, 1, on_write) < 0)
        free(req);
}

static void on_client_closed(uv_handle_t *h)
{
    struct client *c = h->data;
    monitor_bridge_t *b = c->b;
    for (struct client **pp = &b->clients; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    free(c->buf);
    free(c);
    b->pending--;
    if (b->closing)
        finish_close(b);
}

static void client_close(struct client *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    c->b->pending++;
    uv_close((uv_handle_t *)&c->pipe, on_client_closed);
}

static void handle_line(struct client *c, char *line)
{
    monitor_bridge_t *b = c->b;
    char err[200];
    int rc = monitor_line_parse(line, &b->msg, err, sizeof err);
    if (rc < 0) {
        b->stats.refused++;
        reply(c, "err %s %s", gl_err_name(rc), err);
        return;
    }
    if (b->msg.kind == MONITOR_MSG_PING) {
        b->stats.lines++;
        reply(c, "ok pong");
        return;
    }
    rc = b->cb ? b->cb(&b->msg, b->ctx) : 0;
    if (rc < 0) {
        b->stats.refused++;
        reply(c, "err %s %s", gl_err_name(rc), gl_strerror(rc));
        return;
    }
    b->stats.lines++;
    reply(c, "ok");
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct client *c = h->data;
    buf->base = c->buf + c->len;
    buf->len = MONITOR_LINE_MAX - c->len;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct client *c = s->data;
    if (nread < 0) {
        client_close(c);
        return;
    }
    size_t scan = c->len;
    c->len += (size_t)nread;
    char *nl;
    while (!c->closing && (nl = memchr(c->buf + scan, '\n', c->len - scan)) != NULL) {
        *nl = '\0';
        size_t used = (size_t)(nl - c->buf) + 1;
        handle_line(c, c->buf);
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
        scan = 0;
    }
    if (!c->closing && c->len == MONITOR_LINE_MAX) {
        c->b->stats.refused++;
        reply(c, "err ERANGE line too long (limit %d bytes)", MONITOR_LINE_MAX);
        client_close(c);
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    monitor_bridge_t *b = server->data;
    if (status < 0) {
        LOG_WARN(MOD, "bridge %s accept: %s", b->path, uv_strerror(status));
        return;
    }
    struct client *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->buf = malloc(MONITOR_LINE_MAX);
    c->b = b;
    uv_pipe_init(b->loop, &c->pipe, 0);
    c->pipe.data = c;
    c->next = b->clients;
    b->clients = c;
    b->stats.clients++;
    if (!c->buf || uv_accept(server, (uv_stream_t *)&c->pipe) < 0 ||
        uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) < 0)
        client_close(c);
}

static void on_server_closed(uv_handle_t *h)
{
    monitor_bridge_t *b = h->data;
    b->pending--;
    finish_close(b);
}

int monitor_bridge_new(uv_loop_t *loop, const char *path, monitor_on_msg cb, void *ctx,
                       monitor_bridge_t **out)
{
    if (!path || strlen(path) == 0 || strlen(path) >= sizeof((monitor_bridge_t *)0)->path)
        return GL_EINVAL;
    struct stat sb;
    if (stat(path, &sb) == 0) {
        if (!S_ISSOCK(sb.st_mode)) {
            LOG_ERR(MOD, "bridge %s exists and is not a socket", path);
            return GL_EEXIST;
        }
        unlink(path); /* a stale socket of an earlier run */
    }
    monitor_bridge_t *b = calloc(1, sizeof *b);
    if (!b)
        return GL_ENOMEM;
    b->loop = loop;
    b->cb = cb;
    b->ctx = ctx;
    snprintf(b->path, sizeof b->path, "%s", path);
    int rc = uv_pipe_init(loop, &b->server, 0);
    if (rc < 0) {
        free(b);
        return rc;
    }
    b->server.data = b;
    if ((rc = uv_pipe_bind(&b->server, path)) < 0 ||
        (rc = uv_listen((uv_stream_t *)&b->server, 8, on_connection)) < 0) {
        LOG_ERR(MOD, "bridge cannot listen on %s: %s", path, uv_strerror(rc));
        b->closing = 1;
        b->pending = 1;
        uv_close((uv_handle_t *)&b->server, on_server_closed); /* frees b on the loop */
        return rc;
    }
    LOG_INFO(MOD, "monitor bridge socket %s", path);
    *out = b;
    return 0;
}

void monitor_bridge_get_stats(const monitor_bridge_t *b, monitor_bridge_stats_t *out)
{
    *out = b->stats;
}

void monitor_bridge_close(monitor_bridge_t *b, void (*cb)(void *ctx), void *ctx)
{
    if (!b || b->closing)
        return;
    b->closing = 1;
    b->on_closed = cb;
    b->closed_ctx = ctx;
    b->pending++;
    uv_close((uv_handle_t *)&b->server, on_server_closed);
    unlink(b->path);
    for (struct client *c = b->clients; c; c = c->next)
        client_close(c);
}
