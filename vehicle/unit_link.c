/*
 * The unit link: two nanomsg sockets and a timer shared by many unit sessions (see unit_link.h).
 * Sessions are found by topic through a small chained hash table, so a downlink burst to a fleet
 * of hundreds costs one lookup per message.
 */
#include "unit_link.h"

#include "err.h"
#include "log.h"
#include "nnuv.h"
#include "timeutil.h"

#include <stdlib.h>
#include <string.h>

#define BUCKETS 1024  /* power of two; chains stay short for fleets of a few thousand */
#define BURST_MS 10000

struct link_unit {
    unit_session_t *s;
    struct link_unit *next;   /* in its bucket */
};

struct unit_link {
    uv_loop_t *loop;
    nnuv_sock_t *push;        /* uplink, PUSH */
    nnuv_sock_t *sub;         /* downlink, SUB */
    uv_timer_t tick;
    int has_tick;
    int closing;
    int pending_closes;       /* close callbacks still to come */
    void (*on_closed)(void *ctx);
    void *closed_ctx;
    unit_session_limits_t limits;
    struct link_unit *buckets[BUCKETS];
    unit_session_t **all;     /* every session, in the order added */
    size_t count, cap;
    uint64_t unroutable;
    gl_log_burst_t bad_burst;
};

static uint32_t hash_id(const char *p, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 16777619u;
    return h & (BUCKETS - 1);
}

static unit_session_t *find(const unit_link_t *l, const char *id, size_t n)
{
    for (struct link_unit *u = l->buckets[hash_id(id, n)]; u; u = u->next) {
        const char *uid = unit_session_id(u->s);
        if (strlen(uid) == n && memcmp(uid, id, n) == 0)
            return u->s;
    }
    return NULL;
}

unit_session_t *unit_link_find(const unit_link_t *l, const char *id)
{
    return find(l, id, strlen(id));
}

static int io_send(void *ctx, const void *buf, size_t len)
{
    unit_link_t *l = ctx;
    if (l->closing)
        return GL_EAGAIN;
    return nnuv_send(l->push, buf, len);
}

static int64_t io_now(void *ctx)
{
    return gl_now_ms();
}

static void on_downlink(nnuv_sock_t *sock, const void *buf, size_t len, void *ctx)
{
    unit_link_t *l = ctx;
    const char *topic;
    size_t tlen;
    unit_session_t *s = NULL;
    if (unit_downlink_topic(buf, len, &topic, &tlen) == 0)
        s = find(l, topic, tlen);
    if (s) {
        unit_session_on_downlink(s, buf, len);
        return;
    }
    l->unroutable++;
    unsigned long swallowed;
    if (gl_log_burst_allow(&l->bad_burst, gl_now_ms(), BURST_MS, &swallowed))
        LOG_WARN("link", "downlink message of %zu bytes for no unit here refused (%lu more since "
                 "last line)", len, swallowed);
}

static void on_tick(uv_timer_t *t)
{
    unit_link_t *l = t->data;
    for (size_t i = 0; i < l->count && !l->closing; i++)
        unit_session_tick(l->all[i]);
}

int unit_link_new(uv_loop_t *loop, const unit_link_config_t *cfg, unit_link_t **out)
{
    const char *up = cfg && cfg->uplink_url ? cfg->uplink_url : UNIT_LINK_UPLINK_URL;
    const char *down = cfg && cfg->downlink_url ? cfg->downlink_url : UNIT_LINK_DOWNLINK_URL;
    uint64_t tick_ms = cfg && cfg->tick_ms ? cfg->tick_ms : UNIT_LINK_TICK_MS;
    unit_link_t *l = calloc(1, sizeof *l);
    if (!l)
        return GL_ENOMEM;
    l->loop = loop;
    if (cfg)
        l->limits = cfg->limits;
    int rc = nnuv_open(loop, NNUV_PUSH, &l->push);
    if (rc < 0)
        goto fail_push;
    rc = nnuv_open(loop, NNUV_SUB, &l->sub);
    if (rc < 0)
        goto fail_sub;
    if ((rc = nnuv_connect(l->push, up)) < 0 || (rc = nnuv_connect(l->sub, down)) < 0 ||
        (rc = nnuv_start_recv(l->sub, on_downlink, l)) < 0)
        goto fail_connect;
    uv_timer_init(loop, &l->tick);
    l->tick.data = l;
    l->has_tick = 1;
    uv_timer_start(&l->tick, on_tick, tick_ms, tick_ms);
    LOG_INFO("link", "uplink %s, downlink %s", up, down);
    *out = l;
    return 0;

fail_connect:
    /* Nothing else is attached yet: release the link once both sockets are closed. */
    unit_link_close(l, NULL, NULL);
    return rc;
fail_sub:
    nnuv_close(l->push, free, l);
    return rc;
fail_push:
    free(l);
    return rc;
}

int unit_link_add_unit(unit_link_t *l, const char *id, uint64_t first_seq, unit_on_order on_order,
                       void *ctx, unit_session_t **out)
{
    if (first_seq == 0)
        return GL_EINVAL;
    unit_session_opts_t o = {.first_seq = first_seq};
    return unit_link_add_unit_opts(l, id, &o, on_order, ctx, out);
}

int unit_link_add_unit_opts(unit_link_t *l, const char *id, const unit_session_opts_t *opts,
                            unit_on_order on_order, void *ctx, unit_session_t **out)
{
    if (l->closing || !id)
        return GL_EINVAL;
    size_t n = strlen(id);
    if (find(l, id, n))
        return GL_EEXIST;
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        unit_session_t **all = realloc(l->all, cap * sizeof *all);
        if (!all)
            return GL_ENOMEM;
        l->all = all;
        l->cap = cap;
    }
    struct link_unit *node = malloc(sizeof *node);
    if (!node)
        return GL_ENOMEM;
    unit_session_io_t io = {io_send, io_now, l};
    unit_session_t *s;
    unit_session_opts_t o = {0};
    if (opts)
        o = *opts;
    if (!o.limits)
        o.limits = &l->limits;
    int rc = unit_session_new_opts(id, &o, &io, on_order, ctx, &s);
    if (rc < 0)
        goto fail_session;
    /* The topic includes the NUL, so that "A1" does not also receive "A12"'s messages. */
    rc = nnuv_subscribe(l->sub, id, n + 1);
    if (rc < 0)
        goto fail_subscribe;
    uint32_t b = hash_id(id, n);
    node->s = s;
    node->next = l->buckets[b];
    l->buckets[b] = node;
    l->all[l->count++] = s;
    if (out)
        *out = s;
    return 0;

fail_subscribe:
    unit_session_free(s);
fail_session:
    free(node);
    return rc;
}

void unit_link_get_stats(const unit_link_t *l, unit_link_stats_t *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < l->count; i++) {
        unit_session_stats_t s;
        unit_session_get_stats(l->all[i], &s);
        out->units.sent += s.sent;
        out->units.resent += s.resent;
        out->units.acked += s.acked;
        out->units.dropped += s.dropped;
        out->units.send_errors += s.send_errors;
        out->units.acks_sent += s.acks_sent;
        out->units.orders += s.orders;
        out->units.duplicates += s.duplicates;
        out->units.malformed += s.malformed;
        out->units.ignored += s.ignored;
        out->units.forged += s.forged;
        out->units.replayed += s.replayed;
        out->units.spool_errors += s.spool_errors;
        out->units.reconnects += s.reconnects;
        out->units.queued += s.queued;
    }
    out->unroutable = l->unroutable;
    out->units_count = l->count;
    out->socket_queued = l->push && !l->closing ? nnuv_queued(l->push) : 0;
}

static void release(unit_link_t *l)
{
    for (size_t b = 0; b < BUCKETS; b++) {
        struct link_unit *u = l->buckets[b];
        while (u) {
            struct link_unit *next = u->next;
            free(u);
            u = next;
        }
    }
    for (size_t i = 0; i < l->count; i++)
        unit_session_free(l->all[i]);
    free(l->all);
    void (*cb)(void *) = l->on_closed;
    void *ctx = l->closed_ctx;
    free(l);
    if (cb)
        cb(ctx);
}

static void on_part_closed(void *ctx)
{
    unit_link_t *l = ctx;
    if (--l->pending_closes == 0)
        release(l);
}

static void on_timer_closed(uv_handle_t *h)
{
    on_part_closed(h->data);
}

void unit_link_close(unit_link_t *l, void (*cb)(void *ctx), void *ctx)
{
    if (!l || l->closing)
        return;
    l->closing = 1;
    l->on_closed = cb;
    l->closed_ctx = ctx;
    /* Count every part first: a socket's close callback may not run before the last is started. */
    l->pending_closes = 2 + l->has_tick;
    nnuv_close(l->push, on_part_closed, l);
    nnuv_close(l->sub, on_part_closed, l);
    if (l->has_tick)
        uv_close((uv_handle_t *)&l->tick, on_timer_closed);
}
