/*
 * PostGIS, the system of record, as the dispatcher sees it.
 *
 * At start (db_load.c, blocking: nothing is served yet) the schema migrations in deploy/schema/
 * are applied and the fleet, the open incidents with their timelines and the journal's applied
 * lsn are read back into the core. While running (db_writer.c, asynchronous on the loop through
 * common/pguv) journal records are copied in order, each in one transaction with the advance of
 * journal_state.applied_lsn, and position fixes, vital signs and ECG frames are written in
 * batches five times a second (binary array parameters, common/pgarr.h), batch after batch only
 * while a backlog lasts; when a batch commits, the units are told their uplink is durable. While the database is down both
 * wait in memory (positions in a bounded buffer) and go in when it returns.
 *
 * db_load.c and db_writer.c are the only dispatcher files that see SQL.
 */
#ifndef GL_DB_H
#define GL_DB_H

#include "dispatch.h"

#include <stdint.h>
#include <uv.h>

/*
 * Connects to `conninfo`, waiting for the server up to `wait_s` seconds (logging while it
 * waits), applies the *.sql migrations of `schema_dir` not yet applied (each in one
 * transaction, recorded in schema_migrations), and loads the fleet, the open incidents with
 * their events and the incident numbering into `d`. Sets *applied_lsn to what PostGIS holds of
 * the journal. Returns 0, GL_EDB (message logged) or GL_ENOMEM.
 */
int db_load(const char *conninfo, const char *schema_dir, int wait_s, dispatch_t *d,
            uint64_t *applied_lsn);

typedef struct db_writer db_writer_t;

typedef struct db_writer_stats {
    int connected;
    unsigned long long records_pending;   /* journal records not yet confirmed by PostGIS */
    uint64_t applied_lsn;
    unsigned long long positions_pending; /* fixes waiting for the next batch */
    unsigned long long positions_written;
    unsigned long long positions_deferred; /* buffer full during a long outage: sent again */
    unsigned long long positions_dropped;  /* refused by the database for their data */
    unsigned long long records_dead_lettered; /* journal records PostGIS refused for their data */
    unsigned long long vitals_pending, vitals_written, vitals_deferred;
    unsigned long long ecg_pending, ecg_written, ecg_deferred;
    unsigned long long batches_failed;
} db_writer_stats_t;

/*
 * Starts the writer on `loop`: connects (and reconnects) to `conninfo`. `j` is the journal
 * (borrowed): once everything in it is confirmed and it holds more than `truncate_bytes`, it is
 * emptied. Records with lsn > applied_lsn that the caller replayed from the journal must be
 * queued with db_writer_add_record() before the loop runs. Returns 0 and *out, or GL_ENOMEM.
 */
int db_writer_new(uv_loop_t *loop, const char *conninfo, dispatch_t *d, journal_t *j,
                  uint64_t applied_lsn, uint64_t truncate_bytes, db_writer_t **out);

/* Sets the journal to truncate once it is fully confirmed (borrowed; may stay NULL) and the
 * file that records PostGIS refuses for their data go to (copied; NULL: none). */
void db_writer_set_journal(db_writer_t *w, journal_t *j, const char *dead_letter_path);

/* Queues a journal record (copied) for PostGIS. */
int db_writer_add_record(db_writer_t *w, uint64_t lsn, const char *payload, size_t len);

/* Queues a position fix for the next batch. Returns 0, or GL_ENOSPC when the buffer is full
 * (a long outage): the caller defers the fix. */
int db_writer_add_position(db_writer_t *w, const vehicle_t *v, uint64_t seq, double lat,
                           double lon, int64_t fix_ms, int64_t rx_ms, float speed, float heading,
                           float hdop, int late);

/* Queues vital-sign readings / an ECG frame (bytes copied) for the next batch. Return 0, or
 * GL_ENOSPC / GL_ENOMEM when there is no room: the caller defers the envelope. */
int db_writer_add_vitals(db_writer_t *w, const vehicle_t *v, uint64_t seq, const char *incident,
                         const vital_reading_t *r, size_t n, int64_t rx_ms);
int db_writer_add_ecg(db_writer_t *w, const vehicle_t *v, uint64_t seq, const char *incident,
                      const ecg_meta_t *m, const void *frame, size_t len, int64_t rx_ms);

void db_writer_get_stats(const db_writer_t *w, db_writer_stats_t *out);

/* Writes what is buffered now if connected (also done by the writer's own 1 s timer). */
void db_writer_flush(db_writer_t *w);

/* Stops, closes the connection and frees the writer once libuv has closed its handles; `cb`
 * runs then (may be NULL). Unwritten positions are dropped (the units still hold them:
 * they were never acknowledged); unconfirmed journal records stay in the journal. */
void db_writer_close(db_writer_t *w, void (*cb)(void *ctx), void *ctx);

#endif
