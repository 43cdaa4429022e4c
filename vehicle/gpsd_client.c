/*
 * The gpsd client (see gpsd_client.h): a TPV parser on jansson, and a libuv TCP connection
 * with a small state machine, CONNECTING -> WATCHING -> (closed) -> WAITING -> CONNECTING,
 * whose only timer is the reconnect backoff.
 */
#include "gpsd_client.h"

#include "err.h"
#include "log.h"
#include "timeutil.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "gpsd"

/* ---- TPV parsing ---------------------------------------------------------------------- */

/* An optional number field: 0 absent, 1 present (in *v), -1 present with another type. */
static int opt_number(json_t *o, const char *key, double *v)
{
    json_t *j = json_object_get(o, key);
    if (!j || json_is_null(j))
        return 0;
    if (!json_is_number(j))
        return -1;
    *v = json_number_value(j);
    return 1;
}

int gpsd_parse_tpv(const char *json, size_t len, nmea_fix_t *out)
{
    json_error_t jerr;
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o)
        return GL_EPROTO;
    int rc = GL_EPROTO;
    if (!json_is_object(o))
        goto done;
    const char *cls = json_string_value(json_object_get(o, "class"));
    if (!cls)
        goto done;
    if (strcmp(cls, "TPV") != 0) {
        rc = GL_EAGAIN;
        goto done;
    }
    json_t *mode = json_object_get(o, "mode");
    if (mode && !json_is_integer(mode))
        goto done;
    if (!mode || json_integer_value(mode) < 2) {
        rc = GL_ENOENT;
        goto done;
    }
    if (json_integer_value(mode) > 3)
        goto done;
    json_t *tj = json_object_get(o, "time");
    double lat = 0, lon = 0, speed = 0, track = 0, alt = 0; /* set when has_* says so */
    int has_lat = opt_number(o, "lat", &lat), has_lon = opt_number(o, "lon", &lon);
    int has_speed = opt_number(o, "speed", &speed), has_track = opt_number(o, "track", &track);
    int has_alt = opt_number(o, "altMSL", &alt);
    if (has_alt == 0)
        has_alt = opt_number(o, "alt", &alt);
    if (has_lat < 0 || has_lon < 0 || has_speed < 0 || has_track < 0 || has_alt < 0 ||
        (tj && !json_is_string(tj)))
        goto done;
    if (!tj || !has_lat || !has_lon) {
        rc = GL_ENOENT;
        goto done;
    }
    int64_t t;
    if (gl_time_parse(json_string_value(tj), &t) < 0 || t <= 0)
        goto done;
    if (!(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) ||
        (has_speed && !(speed >= 0 && speed < 1000)) ||
        (has_track && !(track >= 0 && track <= 360)) || (has_alt && !(alt > -1000 && alt < 100000)))
        goto done;
    memset(out, 0, sizeof *out);
    out->time_ms = t;
    out->tod_ms = (int32_t)(t % 86400000);
    out->lat = lat;
    out->lon = lon;
    out->flags = NMEA_FIX_DATE;
    if (has_speed) {
        out->speed_mps = speed;
        out->flags |= NMEA_FIX_SPEED;
    }
    if (has_track) {
        out->course_deg = track >= 360 ? 0 : track;
        out->flags |= NMEA_FIX_COURSE;
    }
    if (has_alt) {
        out->alt_m = alt;
        out->flags |= NMEA_FIX_ALT;
    }
    memcpy(out->talker, "GD", 3); /* not NMEA: "from gpsd" */
    rc = 0;
done:
    json_decref(o);
    return rc;
}

int gpsd_parse_address(const char *text, struct sockaddr_storage *out)
{
    char host[64];
    long port = GPSD_DEFAULT_PORT;
    const char *port_text = NULL;
    memset(out, 0, sizeof *out);
    if (!text)
        text = "";
    if (text[0] == '[') {
        const char *end = strchr(text, ']');
        if (!end || (size_t)(end - text - 1) >= sizeof host)
            return GL_EINVAL;
        memcpy(host, text + 1, (size_t)(end - text - 1));
        host[end - text - 1] = '\0';
        if (end[1] == ':')
            port_text = end + 2;
        else if (end[1] != '\0')
            return GL_EINVAL;
    } else {
        const char *colon = strchr(text, ':');
        size_t hl = colon ? (size_t)(colon - text) : strlen(text);
        if (hl >= sizeof host)
            return GL_EINVAL;
        memcpy(host, text, hl);
        host[hl] = '\0';
        if (colon)
            port_text = colon + 1;
    }
    if (port_text) {
        char *end;
        if (*port_text < '0' || *port_text > '9')
            return GL_EINVAL;
        port = strtol(port_text, &end, 10);
        if (*end || port < 1 || port > 65535)
            return GL_EINVAL;
    }
    if (host[0] == '\0' || strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)out) == 0)
        return 0;
    if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)out) == 0)
        return 0;
    return GL_EINVAL;
}

/* ---- the connection ------------------------------------------------------------------- */

struct gpsd_client {
    uv_loop_t *loop;
    struct sockaddr_storage addr;
    char addr_text[80];
    int64_t backoff_min, backoff_max, backoff;
    gpsd_on_fix on_fix;
    void *ctx;

    uv_tcp_t tcp;
    int tcp_open; /* tcp initialised and not yet closed */
    int tcp_closing;
    int connected; /* the connect completed */
    uv_connect_t connect_req;
    uv_write_t write_req;
    uv_timer_t timer;  /* reconnect backoff */
    int outage_logged; /* one WARN per outage */

    char buf[GPSD_LINE_MAX];
    size_t len;
    int skipping; /* inside a line that overflowed */

    gpsd_client_stats_t stats;
    int closing;
    int pending;
    void (*on_closed)(void *ctx);
    void *closed_ctx;
};

static void start_connect(gpsd_client_t *c);

static void maybe_free(gpsd_client_t *c)
{
    if (!c->closing || c->pending > 0)
        return;
    void (*cb)(void *) = c->on_closed;
    void *ctx = c->closed_ctx;
    free(c);
    if (cb)
        cb(ctx);
}

static void on_timer(uv_timer_t *t)
{
    start_connect(t->data);
}

static void on_tcp_closed(uv_handle_t *h)
{
    gpsd_client_t *c = h->data;
    c->tcp_open = c->tcp_closing = c->connected = 0;
    c->pending--;
    if (c->closing) {
        maybe_free(c);
        return;
    }
    LOG_DEBUG(MOD, "gpsd %s: reconnecting in %" PRId64 " ms", c->addr_text, c->backoff);
    uv_timer_start(&c->timer, on_timer, (uint64_t)c->backoff, 0);
    c->backoff = c->backoff * 2 > c->backoff_max ? c->backoff_max : c->backoff * 2;
}

static void drop(gpsd_client_t *c)
{
    if (!c->tcp_open || c->tcp_closing)
        return;
    c->tcp_closing = 1;
    c->pending++;
    uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
}

static void handle_line(gpsd_client_t *c, const char *line, size_t len)
{
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
        len--;
    if (len == 0)
        return;
    c->backoff = c->backoff_min; /* the daemon talks: the outage is over */
    c->outage_logged = 0;
    nmea_fix_t fix;
    int rc = gpsd_parse_tpv(line, len, &fix);
    if (rc == 0) {
        c->stats.fixes++;
        if (c->on_fix)
            c->on_fix(&fix, c->ctx);
    } else if (rc == GL_EAGAIN) {
        c->stats.ignored++;
    } else if (rc == GL_ENOENT) {
        c->stats.no_fix++;
    } else {
        c->stats.malformed++;
        LOG_DEBUG(MOD, "gpsd %s: malformed line of %zu bytes", c->addr_text, len);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    gpsd_client_t *c = h->data;
    buf->base = c->buf + c->len;
    buf->len = sizeof c->buf - c->len;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    gpsd_client_t *c = s->data;
    if (n < 0) {
        c->stats.disconnects++;
        LOG_WARN(MOD, "gpsd %s: connection lost: %s", c->addr_text,
                 n == UV_EOF ? "closed by gpsd" : uv_strerror((int)n));
        c->outage_logged = 1;
        drop(c);
        return;
    }
    size_t start = 0, scan = c->len;
    c->len += (size_t)n;
    for (;;) {
        char *nl = memchr(c->buf + scan, '\n', c->len - scan);
        if (!nl)
            break;
        size_t end = (size_t)(nl - c->buf);
        if (c->skipping)
            c->skipping = 0; /* the tail of an over-long line */
        else
            handle_line(c, c->buf + start, end - start);
        start = scan = end + 1;
        if (c->closing || c->tcp_closing)
            return;
    }
    memmove(c->buf, c->buf + start, c->len - start);
    c->len -= start;
    if (c->len == sizeof c->buf) {
        if (!c->skipping)
            c->stats.malformed++;
        c->skipping = 1;
        c->len = 0;
    }
}

static void on_written(uv_write_t *req, int status)
{
    gpsd_client_t *c = req->data;
    if (status < 0 && status != UV_ECANCELED) {
        LOG_WARN(MOD, "gpsd %s: WATCH not sent: %s", c->addr_text, uv_strerror(status));
        drop(c);
    }
}

static void on_connect(uv_connect_t *req, int status)
{
    gpsd_client_t *c = req->data;
    if (status < 0) {
        c->stats.failures++;
        if (status != UV_ECANCELED && !c->outage_logged) {
            LOG_WARN(MOD, "gpsd %s: cannot connect: %s (retrying with backoff)", c->addr_text,
                     uv_strerror(status));
            c->outage_logged = 1;
        }
        drop(c);
        return;
    }
    c->connected = 1;
    c->stats.connects++;
    c->len = 0;
    c->skipping = 0;
    LOG_INFO(MOD, "gpsd %s: connected, watching", c->addr_text);
    static char watch[] = GPSD_WATCH_REQUEST;
    uv_buf_t b = uv_buf_init(watch, sizeof watch - 1);
    c->write_req.data = c;
    int rc = uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (rc == 0)
        rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc < 0) {
        LOG_WARN(MOD, "gpsd %s: %s", c->addr_text, uv_strerror(rc));
        drop(c);
    }
}

static void start_connect(gpsd_client_t *c)
{
    if (c->closing || c->tcp_open)
        return;
    int rc = uv_tcp_init(c->loop, &c->tcp);
    if (rc < 0) {
        LOG_ERR(MOD, "gpsd %s: %s", c->addr_text, uv_strerror(rc));
        uv_timer_start(&c->timer, on_timer, (uint64_t)c->backoff_max, 0);
        return;
    }
    c->tcp.data = c;
    c->tcp_open = 1;
    c->connect_req.data = c;
    rc = uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&c->addr, on_connect);
    if (rc < 0) {
        c->stats.failures++;
        if (!c->outage_logged)
            LOG_WARN(MOD, "gpsd %s: cannot connect: %s", c->addr_text, uv_strerror(rc));
        c->outage_logged = 1;
        drop(c);
    }
}

int gpsd_client_new(uv_loop_t *loop, const gpsd_client_config_t *cfg, gpsd_on_fix on_fix, void *ctx,
                    gpsd_client_t **out)
{
    gpsd_client_t *c = calloc(1, sizeof *c);
    if (!c)
        return GL_ENOMEM;
    if (gpsd_parse_address(cfg->address, &c->addr) < 0) {
        free(c);
        return GL_EINVAL;
    }
    snprintf(c->addr_text, sizeof c->addr_text, "%s",
             cfg->address && cfg->address[0] ? cfg->address : "localhost:2947");
    c->loop = loop;
    c->on_fix = on_fix;
    c->ctx = ctx;
    c->backoff_min = cfg->backoff_min_ms > 0 ? cfg->backoff_min_ms : 1000;
    c->backoff_max = cfg->backoff_max_ms > 0 ? cfg->backoff_max_ms : 30000;
    if (c->backoff_max < c->backoff_min)
        c->backoff_max = c->backoff_min;
    c->backoff = c->backoff_min;
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    start_connect(c);
    *out = c;
    return 0;
}

void gpsd_client_get_stats(const gpsd_client_t *c, gpsd_client_stats_t *out)
{
    *out = c->stats;
}

static void on_timer_closed(uv_handle_t *h)
{
    gpsd_client_t *c = h->data;
    c->pending--;
    maybe_free(c);
}

void gpsd_client_close(gpsd_client_t *c, void (*cb)(void *ctx), void *ctx)
{
    if (!c || c->closing)
        return;
    c->closing = 1;
    c->on_closed = cb;
    c->closed_ctx = ctx;
    c->pending++;
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
    drop(c);
}
