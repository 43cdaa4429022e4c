/*
 * nanomsg sockets on a libuv loop.
 *
 * nanomsg exposes two level-signalled notification fds per socket: NN_RCVFD is readable while a
 * message can be received, NN_SNDFD is readable while one can be sent. Each gets its own uv_poll
 * handle. Receiving drains at most NNUV_RECV_BUDGET messages per wake-up so that a burst from
 * thousands of units cannot hold the loop; the level-triggered poll calls us again for the rest.
 * Sending never blocks: a message nanomsg cannot take now is copied into a bounded queue that is
 * flushed when NN_SNDFD signals, and the send poll runs only while that queue is non-empty (a
 * level-triggered poll on an always-ready fd would spin).
 *
 * Nothing outside nnuv.c includes <nanomsg/nn.h>; callers use the NNUV_* protocol names.
 */
#ifndef GL_NNUV_H
#define GL_NNUV_H

#include <stddef.h>
#include <uv.h>

#define NNUV_RECV_BUDGET 64
#define NNUV_SENDQ_MAX 4096

typedef enum nnuv_proto { NNUV_PUSH, NNUV_PULL, NNUV_PUB, NNUV_SUB } nnuv_proto_t;

typedef struct nnuv_sock nnuv_sock_t;

/* Called once per received message; `buf` is borrowed for the duration of the call. */
typedef void (*nnuv_on_msg)(nnuv_sock_t *s, const void *buf, size_t len, void *ctx);

/* Called when nnuv_close() has released everything; the socket pointer is then invalid. */
typedef void (*nnuv_on_closed)(void *ctx);

/*
 * Opens a socket of the given kind on `loop`. On success *out owns a socket that must be released
 * with nnuv_close(). Returns 0, GL_ENOMEM, or GL_EIO (nanomsg refused; logged).
 */
int nnuv_open(uv_loop_t *loop, nnuv_proto_t proto, nnuv_sock_t **out);

/* Binds or connects to a nanomsg URL ("tcp://127.0.0.1:7401"). May be called several times. */
int nnuv_bind(nnuv_sock_t *s, const char *url);
int nnuv_connect(nnuv_sock_t *s, const char *url);

/* SUB only: receive messages whose bytes start with `topic` (len bytes; len 0 = everything). */
int nnuv_subscribe(nnuv_sock_t *s, const void *topic, size_t len);

/* Starts delivering received messages to `cb` (PULL and SUB sockets). */
int nnuv_start_recv(nnuv_sock_t *s, nnuv_on_msg cb, void *ctx);

/*
 * Sends a copy of `buf` (the caller keeps ownership). If nanomsg cannot take it now it is queued
 * and sent in order later. Returns 0, or GL_ENOSPC when NNUV_SENDQ_MAX messages are already
 * waiting (the message is not sent; the caller decides what to drop).
 */
int nnuv_send(nnuv_sock_t *s, const void *buf, size_t len);

/* Messages waiting in the send queue. */
size_t nnuv_queued(const nnuv_sock_t *s);

/* Counters since open: messages received, sent, receive errors. */
typedef struct nnuv_stats {
    unsigned long long received, sent, recv_errors;
} nnuv_stats_t;
void nnuv_get_stats(const nnuv_sock_t *s, nnuv_stats_t *out);

/*
 * Stops polling, closes the nanomsg socket (queued messages are dropped) and releases the
 * handles; `cb` (may be NULL) runs when the last uv handle is closed. Safe to call from inside
 * the socket's own receive callback: the memory is freed only in the close callback.
 */
void nnuv_close(nnuv_sock_t *s, nnuv_on_closed cb, void *ctx);

#endif
