/*
 * PostgreSQL on a libuv loop: libpq's asynchronous API in pipeline mode, with reconnection.
 *
 * One connection, many requests in flight. A request is one or more SQL statements sent with
 * PQsendQueryParams and closed by one PQpipelineSync, so the statements of a request run in one
 * implicit transaction: all of them commit or none does (this is how "incident + its first
 * event" is made atomic). Requests complete in the order they were sent; the callback receives
 * the result of the request's last statement, borrowed for the duration of the call.
 *
 * When the server goes away every request in flight fails with GL_EDB and the connection is
 * retried with backoff (1 s doubling to 15 s); requests made while disconnected fail at once
 * with GL_EDB. Callers that must not lose a write keep it and send it again after the
 * on_state callback reports PGUV_READY (see dispatcher/db_writer.c).
 *
 * Nothing outside pguv.c includes <libpq-fe.h>; results are read through pguv_res_* accessors.
 * Pitfalls handled (research/style.md section 7): connect_timeout is ignored by PQconnectPoll,
 * so a uv timer bounds connecting; the socket may change after every PQconnectPoll, so polling
 * is restarted each time; after a sync, results are counted rather than read until NULL.
 */
#ifndef GL_PGUV_H
#define GL_PGUV_H

#include <stddef.h>
#include <uv.h>

typedef struct pguv pguv_t;
typedef struct pguv_res pguv_res_t; /* a borrowed query result */

typedef enum pguv_state { PGUV_DOWN, PGUV_CONNECTING, PGUV_READY, PGUV_CLOSING } pguv_state_t;

const char *pguv_state_name(pguv_state_t st);

/* Called on every change of connection state (READY after a (re)connect, DOWN after a loss). */
typedef void (*pguv_on_state)(pguv_t *pg, pguv_state_t st, void *ctx);

/*
 * Called once per request. `err` is 0 on success, else GL_EDB, and then `errmsg` holds the
 * server's or libpq's message (with the SQLSTATE in `sqlstate` when the server sent one) and
 * `res` may be NULL. `res` and the strings are borrowed for the call.
 */
typedef void (*pguv_on_result)(void *ctx, int err, const pguv_res_t *res, const char *sqlstate,
                               const char *errmsg);

typedef struct pguv_stmt {
    const char *sql;                  /* one statement, $1.. placeholders */
    int nparams;
    const char *const *params;        /* values; NULL entries are SQL NULL */
    /* Optional, both NULL for text parameters: per parameter 1 for the binary format (e.g. an
     * array built with pgarr.h) with its byte count in lengths, 0 for text (length unused). */
    const int *lengths;
    const int *formats;
} pguv_stmt_t;

/*
 * Creates a connection manager on `loop` and starts connecting to `conninfo` (copied). Use a
 * numeric host (hostaddr=127.0.0.1) — a host name would be resolved with a blocking call.
 * Returns 0 and sets *out, or GL_ENOMEM.
 */
int pguv_new(uv_loop_t *loop, const char *conninfo, pguv_on_state on_state, void *ctx,
             pguv_t **out);

pguv_state_t pguv_state(const pguv_t *pg);

/*
 * Sends a request of `n` statements (1..64) to run in one transaction; `cb` runs when it
 * completes or fails. The strings are copied into libpq's buffer before return. Returns 0, or
 * GL_EDB (not connected: nothing was sent and `cb` will not run) or GL_EINVAL.
 */
int pguv_exec(pguv_t *pg, const pguv_stmt_t *stmts, int n, pguv_on_result cb, void *ctx);

/* Requests sent and not yet completed. */
size_t pguv_in_flight(const pguv_t *pg);

/* Result accessors (the rows of a request's last statement). */
int pguv_res_rows(const pguv_res_t *res);
int pguv_res_cols(const pguv_res_t *res);
const char *pguv_res_value(const pguv_res_t *res, int row, int col); /* "" for NULL */
int pguv_res_is_null(const pguv_res_t *res, int row, int col);

/*
 * Fails every request in flight with GL_EDB (their callbacks run now), closes the connection and
 * frees everything once libuv has closed the handles; `cb` (may be NULL) runs then.
 */
void pguv_close(pguv_t *pg, void (*cb)(void *ctx), void *ctx);

#endif
