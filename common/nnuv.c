/*
 * The nanomsg adapter (see nnuv.h for the design).
 */
#include "nnuv.h"

#include "err.h"
#include "log.h"

#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>
#include <nanomsg/pubsub.h>
#include <nanomsg/tcp.h>
#include <stdlib.h>
#include <string.h>

struct queued_msg {
    struct queued_msg *next;
    size_t len;
    unsigned char data[]; /* the copied message */
};

struct nnuv_sock {
    uv_loop_t *loop;
    int sock;              /* nanomsg socket, -1 once closed */
    nnuv_proto_t proto;
    uv_poll_t rpoll;       /* on NN_RCVFD, receiving kinds only */
    uv_poll_t spoll;       /* on NN_SNDFD, sending kinds only; active while the queue is not empty */
    int has_rpoll, has_spoll, spoll_active, receiving, closing;
    int pending_closes;    /* uv_close callbacks still to come */
    nnuv_on_msg on_msg;
    void *ctx;
    nnuv_on_closed on_closed;
    void *closed_ctx;
    struct queued_msg *qhead, *qtail;
    size_t qlen;
    nnuv_stats_t stats;
};

static int can_send(nnuv_proto_t p)
{
    return p == NNUV_PUSH || p == NNUV_PUB;
}

int nnuv_open(uv_loop_t *loop, nnuv_proto_t proto, nnuv_sock_t **out)
{
    static const int protos[] = {NN_PUSH, NN_PULL, NN_PUB, NN_SUB};
    nnuv_sock_t *s = calloc(1, sizeof *s);
    if (!s)
        return GL_ENOMEM;
    s->loop = loop;
    s->proto = proto;
    s->sock = nn_socket(AF_SP, protos[proto]);
    if (s->sock < 0) {
        LOG_ERR("nnuv", "nn_socket: %s", nn_strerror(nn_errno()));
        free(s);
        return GL_EIO;
    }
    /* Small messages go out now: with Nagle a GPS fix or the numerics sent right after an ECG
     * frame waited up to 40 ms for its ACK (measured by bench/run vitals). */
    int one = 1;
    if (nn_setsockopt(s->sock, NN_TCP, NN_TCP_NODELAY, &one, sizeof one) < 0)
        LOG_WARN("nnuv", "TCP_NODELAY: %s", nn_strerror(nn_errno()));
    int fd;
    size_t sz = sizeof fd;
    int opt = can_send(proto) ? NN_SNDFD : NN_RCVFD;
    uv_poll_t *poll = can_send(proto) ? &s->spoll : &s->rpoll;
    if (nn_getsockopt(s->sock, NN_SOL_SOCKET, opt, &fd, &sz) < 0) {
        LOG_ERR("nnuv", "nn_getsockopt(%s): %s", can_send(proto) ? "SNDFD" : "RCVFD",
                nn_strerror(nn_errno()));
        goto fail_fd;
    }
    int rc = uv_poll_init(loop, poll, fd);
    if (rc < 0) {
        LOG_ERR("nnuv", "uv_poll_init: %s", uv_strerror(rc));
        goto fail_fd;
    }
    poll->data = s;
    if (can_send(proto))
        s->has_spoll = 1;
    else
        s->has_rpoll = 1;
    *out = s;
    return 0;

fail_fd:
    nn_close(s->sock);
    free(s);
    return GL_EIO;
}

int nnuv_bind(nnuv_sock_t *s, const char *url)
{
    if (nn_bind(s->sock, url) < 0) {
        LOG_ERR("nnuv", "nn_bind %s: %s", url, nn_strerror(nn_errno()));
        return GL_EIO;
    }
    return 0;
}

int nnuv_connect(nnuv_sock_t *s, const char *url)
{
    if (nn_connect(s->sock, url) < 0) {
        LOG_ERR("nnuv", "nn_connect %s: %s", url, nn_strerror(nn_errno()));
        return GL_EIO;
    }
    return 0;
}

int nnuv_subscribe(nnuv_sock_t *s, const void *topic, size_t len)
{
    if (s->proto != NNUV_SUB)
        return GL_EINVAL;
    if (nn_setsockopt(s->sock, NN_SUB, NN_SUB_SUBSCRIBE, topic, len) < 0) {
        LOG_ERR("nnuv", "subscribe: %s", nn_strerror(nn_errno()));
        return GL_EIO;
    }
    return 0;
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    nnuv_sock_t *s = h->data;
    if (status < 0) {
        LOG_ERR("nnuv", "receive poll: %s", uv_strerror(status));
        uv_poll_stop(h);
        return;
    }
    for (int budget = NNUV_RECV_BUDGET; budget > 0 && !s->closing && s->receiving; budget--) {
        void *msg = NULL;
        int n = nn_recv(s->sock, &msg, NN_MSG, NN_DONTWAIT);
        if (n < 0) {
            int e = nn_errno();
            if (e == EAGAIN)
                break;
            if (e == EINTR)
                continue;
            s->stats.recv_errors++;
            LOG_WARN("nnuv", "nn_recv: %s", nn_strerror(e));
            break;
        }
        s->stats.received++;
        s->on_msg(s, msg, (size_t)n, s->ctx);
        nn_freemsg(msg);
    }
}

int nnuv_start_recv(nnuv_sock_t *s, nnuv_on_msg cb, void *ctx)
{
    if (!s->has_rpoll)
        return GL_EINVAL;
    s->on_msg = cb;
    s->ctx = ctx;
    s->receiving = 1;
    int rc = uv_poll_start(&s->rpoll, UV_READABLE, on_readable);
    return rc < 0 ? rc : 0;
}

/* Tries to hand one message to nanomsg without blocking: 1 sent, 0 would block, <0 error. */
static int try_send(nnuv_sock_t *s, const void *buf, size_t len)
{
    for (;;) {
        int n = nn_send(s->sock, buf, len, NN_DONTWAIT);
        if (n >= 0) {
            s->stats.sent++;
            return 1;
        }
        int e = nn_errno();
        if (e == EAGAIN)
            return 0;
        if (e != EINTR) {
            LOG_WARN("nnuv", "nn_send: %s", nn_strerror(e));
            return GL_EIO;
        }
    }
}

static void on_writable(uv_poll_t *h, int status, int events)
{
    nnuv_sock_t *s = h->data;
    if (status < 0) {
        LOG_ERR("nnuv", "send poll: %s", uv_strerror(status));
        uv_poll_stop(h);
        s->spoll_active = 0;
        return;
    }
    while (s->qhead) {
        struct queued_msg *m = s->qhead;
        int rc = try_send(s, m->data, m->len);
        if (rc == 0)
            return; /* still full: wait for the next signal */
        s->qhead = m->next;
        if (!s->qhead)
            s->qtail = NULL;
        s->qlen--;
        free(m); /* sent, or refused for good (logged): either way it leaves the queue */
    }
    uv_poll_stop(h);
    s->spoll_active = 0;
}

int nnuv_send(nnuv_sock_t *s, const void *buf, size_t len)
{
    if (!can_send(s->proto) || s->closing)
        return GL_EINVAL;
    if (!s->qhead) {
        int rc = try_send(s, buf, len);
        if (rc != 0)
            return rc < 0 ? rc : 0;
    }
    if (s->qlen >= NNUV_SENDQ_MAX)
        return GL_ENOSPC;
    struct queued_msg *m = malloc(sizeof *m + len);
    if (!m)
        return GL_ENOMEM;
    m->next = NULL;
    m->len = len;
    memcpy(m->data, buf, len);
    if (s->qtail)
        s->qtail->next = m;
    else
        s->qhead = m;
    s->qtail = m;
    s->qlen++;
    if (!s->spoll_active) {
        int rc = uv_poll_start(&s->spoll, UV_READABLE, on_writable); /* READABLE on purpose */
        if (rc < 0)
            return rc;
        s->spoll_active = 1;
    }
    return 0;
}

size_t nnuv_queued(const nnuv_sock_t *s)
{
    return s->qlen;
}

void nnuv_get_stats(const nnuv_sock_t *s, nnuv_stats_t *out)
{
    *out = s->stats;
}

static void on_handle_closed(uv_handle_t *h)
{
    nnuv_sock_t *s = h->data;
    if (--s->pending_closes > 0)
        return;
    nnuv_on_closed cb = s->on_closed;
    void *ctx = s->closed_ctx;
    free(s);
    if (cb)
        cb(ctx);
}

void nnuv_close(nnuv_sock_t *s, nnuv_on_closed cb, void *ctx)
{
    if (!s || s->closing)
        return;
    s->closing = 1;
    s->receiving = 0;
    s->on_closed = cb;
    s->closed_ctx = ctx;
    while (s->qhead) {
        struct queued_msg *m = s->qhead;
        s->qhead = m->next;
        free(m);
    }
    s->qtail = NULL;
    s->qlen = 0;
    /* Stop polling before nn_close invalidates the notification fds. */
    if (s->has_rpoll)
        uv_poll_stop(&s->rpoll);
    if (s->has_spoll)
        uv_poll_stop(&s->spoll);
    nn_close(s->sock);
    s->sock = -1;
    s->pending_closes = s->has_rpoll + s->has_spoll;
    if (s->has_rpoll)
        uv_close((uv_handle_t *)&s->rpoll, on_handle_closed);
    if (s->has_spoll)
        uv_close((uv_handle_t *)&s->spoll, on_handle_closed);
}
