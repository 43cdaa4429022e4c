/*
 * The libpq adapter (see pguv.h for the design and the pitfalls it handles).
 */
#include "pguv.h"

#include "err.h"
#include "log.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#define CONNECT_TIMEOUT_MS 5000
#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 15000

struct pguv_res {
    PGresult *r;
};

struct request {
    struct request *next;
    pguv_on_result cb;
    void *ctx;
    int failed;          /* a statement failed: the transaction rolled back */
    PGresult *last;      /* result of the latest successful statement */
    char sqlstate[6];
    char errmsg[512];
};

/* A poll handle on libpq's socket. Heap-allocated because the socket may change while an old
 * handle is still closing, and a uv_poll_t cannot be re-initialised before its close callback. */
struct watcher {
    uv_poll_t poll;
    pguv_t *pg;
    int fd;
};

struct pguv {
    uv_loop_t *loop;
    char *conninfo;
    PGconn *conn;
    pguv_state_t state;
    struct watcher *w;
    uv_timer_t timer;            /* connect timeout and retry backoff */
    int retry_ms;
    int want_write;              /* PQflush said there is more to send */
    struct request *head, *tail; /* requests in flight, oldest first */
    size_t in_flight;
    pguv_on_state on_state;
    void *ctx;
    int closing_handles;         /* uv_close callbacks still to come (watchers and the timer) */
    void (*on_closed)(void *);
    void *closed_ctx;
};

static void connect_start(pguv_t *pg);
static void on_io(uv_poll_t *h, int status, int events);
static void on_connect_io(uv_poll_t *h, int status, int events);

const char *pguv_state_name(pguv_state_t st)
{
    static const char *const names[] = {"down", "connecting", "ready", "closing"};
    return names[st];
}

static void set_state(pguv_t *pg, pguv_state_t st)
{
    if (pg->state == st)
        return;
    LOG_DEBUG("pg", "state %s -> %s", pguv_state_name(pg->state), pguv_state_name(st));
    pg->state = st;
    if (pg->on_state && st != PGUV_CLOSING)
        pg->on_state(pg, st, pg->ctx);
}

/* Frees the manager once pguv_close() has run and libuv has closed every handle. */
static void maybe_free(pguv_t *pg)
{
    if (pg->state != PGUV_CLOSING || pg->closing_handles > 0)
        return;
    void (*cb)(void *) = pg->on_closed;
    void *ctx = pg->closed_ctx;
    free(pg->conninfo);
    free(pg);
    if (cb)
        cb(ctx);
}

static void on_watcher_closed(uv_handle_t *h)
{
    struct watcher *w = h->data;
    pguv_t *pg = w->pg;
    free(w);
    pg->closing_handles--;
    maybe_free(pg);
}

static void drop_watcher(pguv_t *pg)
{
    if (!pg->w)
        return;
    uv_poll_stop(&pg->w->poll);
    uv_close((uv_handle_t *)&pg->w->poll, on_watcher_closed);
    pg->closing_handles++;
    pg->w = NULL;
}

/* Polls libpq's current socket for `events`, restarting the poll afresh every time (libpq may
 * have replaced the socket, even under the same fd number). Returns 0 or a libuv error. */
static int watch(pguv_t *pg, int events, uv_poll_cb cb)
{
    int fd = PQsocket(pg->conn);
    if (fd < 0)
        return UV_EBADF;
    if (pg->w && pg->w->fd != fd)
        drop_watcher(pg);
    if (pg->w) {
        uv_poll_stop(&pg->w->poll);
    } else {
        struct watcher *w = calloc(1, sizeof *w);
        if (!w)
            return UV_ENOMEM;
        int rc = uv_poll_init(pg->loop, &w->poll, fd);
        if (rc < 0) {
            free(w);
            return rc;
        }
        w->poll.data = w;
        w->pg = pg;
        w->fd = fd;
        pg->w = w;
    }
    return uv_poll_start(&pg->w->poll, events, cb);
}

static void fail_all(pguv_t *pg, const char *why)
{
    while (pg->head) {
        struct request *r = pg->head;
        pg->head = r->next;
        if (!pg->head)
            pg->tail = NULL;
        pg->in_flight--;
        PQclear(r->last);
        r->cb(r->ctx, GL_EDB, NULL, "", why);
        free(r);
    }
}

static void on_retry_timer(uv_timer_t *t)
{
    pguv_t *pg = t->data;
    if (pg->state == PGUV_DOWN)
        connect_start(pg);
}

/* Drops the connection, fails what was in flight, and schedules a reconnect. */
static void connection_lost(pguv_t *pg, const char *why)
{
    LOG_WARN("pg", "database connection lost: %s (retry in %d ms)", why, pg->retry_ms);
    drop_watcher(pg);
    if (pg->conn) {
        PQfinish(pg->conn);
        pg->conn = NULL;
    }
    pg->want_write = 0;
    set_state(pg, PGUV_DOWN);
    fail_all(pg, why);
    if (pg->state == PGUV_DOWN) {
        uv_timer_start(&pg->timer, on_retry_timer, (uint64_t)pg->retry_ms, 0);
        pg->retry_ms = pg->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : pg->retry_ms * 2;
    }
}

static void trim_message(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
}

/* connection_lost() with libpq's message, copied first: PQfinish frees the original. */
static void lose_with_libpq_message(pguv_t *pg)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s", pg->conn ? PQerrorMessage(pg->conn) : "no connection");
    trim_message(msg);
    connection_lost(pg, msg);
}

static void on_connect_timeout(uv_timer_t *t)
{
    pguv_t *pg = t->data;
    if (pg->state == PGUV_CONNECTING)
        connection_lost(pg, "connect timed out");
}

static void connect_start(pguv_t *pg)
{
    set_state(pg, PGUV_CONNECTING);
    pg->conn = PQconnectStart(pg->conninfo);
    if (!pg->conn || PQstatus(pg->conn) == CONNECTION_BAD) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", pg->conn ? PQerrorMessage(pg->conn) : "out of memory");
        trim_message(msg);
        connection_lost(pg, msg);
        return;
    }
    uv_timer_start(&pg->timer, on_connect_timeout, CONNECT_TIMEOUT_MS, 0);
    int rc = watch(pg, UV_WRITABLE, on_connect_io); /* as if PQconnectPoll said WRITING */
    if (rc < 0)
        connection_lost(pg, uv_strerror(rc));
}

static void on_connect_io(uv_poll_t *h, int status, int events)
{
    struct watcher *w = h->data;
    pguv_t *pg = w->pg;
    if (pg->state != PGUV_CONNECTING)
        return;
    PostgresPollingStatusType st = PQconnectPoll(pg->conn);
    int rc = 0;
    switch (st) {
    case PGRES_POLLING_READING:
        rc = watch(pg, UV_READABLE, on_connect_io);
        break;
    case PGRES_POLLING_WRITING:
        rc = watch(pg, UV_WRITABLE, on_connect_io);
        break;
    case PGRES_POLLING_OK:
        uv_timer_stop(&pg->timer);
        if (PQsetnonblocking(pg->conn, 1) != 0 || PQenterPipelineMode(pg->conn) != 1) {
            lose_with_libpq_message(pg);
            return;
        }
        rc = watch(pg, UV_READABLE, on_io);
        if (rc == 0) {
            LOG_INFO("pg", "connected to the database (server %d)", PQserverVersion(pg->conn));
            pg->retry_ms = RETRY_MIN_MS;
            set_state(pg, PGUV_READY);
            return;
        }
        break;
    default: {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(pg->conn));
        trim_message(msg);
        connection_lost(pg, msg);
        return;
    }
    }
    if (rc < 0)
        connection_lost(pg, uv_strerror(rc));
}

int pguv_new(uv_loop_t *loop, const char *conninfo, pguv_on_state on_state, void *ctx,
             pguv_t **out)
{
    pguv_t *pg = calloc(1, sizeof *pg);
    if (!pg || !(pg->conninfo = strdup(conninfo))) {
        free(pg);
        return GL_ENOMEM;
    }
    pg->loop = loop;
    pg->on_state = on_state;
    pg->ctx = ctx;
    pg->retry_ms = RETRY_MIN_MS;
    uv_timer_init(loop, &pg->timer);
    pg->timer.data = pg;
    *out = pg;
    connect_start(pg);
    return 0;
}

pguv_state_t pguv_state(const pguv_t *pg)
{
    return pg->state;
}

size_t pguv_in_flight(const pguv_t *pg)
{
    return pg->in_flight;
}

/* Pushes buffered output to the server; polls for writability only while some remains. */
static void flush_output(pguv_t *pg)
{
    int r = PQflush(pg->conn);
    if (r < 0) {
        connection_lost(pg, "flush failed");
        return;
    }
    int want = r == 1;
    if (want != pg->want_write) {
        pg->want_write = want;
        int rc = watch(pg, UV_READABLE | (want ? UV_WRITABLE : 0), on_io);
        if (rc < 0)
            connection_lost(pg, uv_strerror(rc));
    }
}

/* Hands completed results to their requests, oldest first. */
static void drain_results(pguv_t *pg)
{
    while (pg->state == PGUV_READY && pg->head && !PQisBusy(pg->conn)) {
        PGresult *res = PQgetResult(pg->conn);
        struct request *r = pg->head;
        if (!res)
            continue; /* end of one statement's results */
        switch (PQresultStatus(res)) {
        case PGRES_PIPELINE_SYNC:
            PQclear(res);
            pg->head = r->next;
            if (!pg->head)
                pg->tail = NULL;
            pg->in_flight--;
            {
                struct pguv_res wrapped = {r->last};
                r->cb(r->ctx, r->failed ? GL_EDB : 0, r->failed ? NULL : &wrapped, r->sqlstate,
                      r->errmsg);
            }
            PQclear(r->last);
            free(r);
            continue;
        case PGRES_TUPLES_OK:
        case PGRES_COMMAND_OK:
            PQclear(r->last);
            r->last = res;
            continue;
        case PGRES_PIPELINE_ABORTED:
            r->failed = 1;
            break;
        default:
            if (!r->failed) {
                const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
                snprintf(r->sqlstate, sizeof r->sqlstate, "%s", state ? state : "");
                snprintf(r->errmsg, sizeof r->errmsg, "%s", PQresultErrorMessage(res));
                trim_message(r->errmsg);
            }
            r->failed = 1;
            break;
        }
        PQclear(res);
    }
}

static void on_io(uv_poll_t *h, int status, int events)
{
    struct watcher *w = h->data;
    pguv_t *pg = w->pg;
    if (pg->state != PGUV_READY)
        return;
    if (status < 0) {
        connection_lost(pg, uv_strerror(status));
        return;
    }
    if (events & UV_READABLE) {
        if (!PQconsumeInput(pg->conn)) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s", PQerrorMessage(pg->conn));
            trim_message(msg);
            connection_lost(pg, msg);
            return;
        }
        /* The server sent something while we expected nothing: a closed connection shows up
         * here as a bad status after consuming input. */
        if (PQstatus(pg->conn) == CONNECTION_BAD) {
            connection_lost(pg, "server closed the connection");
            return;
        }
    }
    if (pg->state == PGUV_READY && (events & UV_WRITABLE || pg->want_write))
        flush_output(pg);
    drain_results(pg);
}

int pguv_exec(pguv_t *pg, const pguv_stmt_t *stmts, int n, pguv_on_result cb, void *ctx)
{
    if (n < 1 || n > 64 || !cb)
        return GL_EINVAL;
    if (pg->state != PGUV_READY)
        return GL_EDB;
    struct request *r = calloc(1, sizeof *r);
    if (!r)
        return GL_ENOMEM;
    for (int i = 0; i < n; i++) {
        if (!PQsendQueryParams(pg->conn, stmts[i].sql, stmts[i].nparams, NULL, stmts[i].params,
                               stmts[i].lengths, stmts[i].formats, 0)) {
            /* libpq refused to queue it (connection broken): nothing of this request is synced,
             * so it is failed together with everything else in flight. */
            free(r);
            lose_with_libpq_message(pg);
            return GL_EDB;
        }
    }
    if (!PQpipelineSync(pg->conn)) {
        free(r);
        lose_with_libpq_message(pg);
        return GL_EDB;
    }
    r->cb = cb;
    r->ctx = ctx;
    if (pg->tail)
        pg->tail->next = r;
    else
        pg->head = r;
    pg->tail = r;
    pg->in_flight++;
    flush_output(pg);
    return 0;
}

int pguv_res_rows(const pguv_res_t *res)
{
    return res && res->r ? PQntuples(res->r) : 0;
}

int pguv_res_cols(const pguv_res_t *res)
{
    return res && res->r ? PQnfields(res->r) : 0;
}

const char *pguv_res_value(const pguv_res_t *res, int row, int col)
{
    return PQgetvalue(res->r, row, col);
}

int pguv_res_is_null(const pguv_res_t *res, int row, int col)
{
    return PQgetisnull(res->r, row, col);
}

static void on_timer_closed(uv_handle_t *h)
{
    pguv_t *pg = h->data;
    pg->closing_handles--;
    maybe_free(pg);
}

void pguv_close(pguv_t *pg, void (*cb)(void *ctx), void *ctx)
{
    if (!pg || pg->state == PGUV_CLOSING)
        return;
    pg->state = PGUV_CLOSING;
    pg->on_closed = cb;
    pg->closed_ctx = ctx;
    fail_all(pg, "shutting down");
    drop_watcher(pg);
    if (pg->conn) {
        PQfinish(pg->conn);
        pg->conn = NULL;
    }
    uv_timer_stop(&pg->timer);
    pg->closing_handles++;
    uv_close((uv_handle_t *)&pg->timer, on_timer_closed);
}
