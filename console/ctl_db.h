/*
 * goldlinectl's direct PostGIS access, for the commands that work on history rather than on
 * the live dispatcher: `report` reads golden_metrics, incidents and incident_events, and
 * `import-calls` writes imported incidents (migration 008). The only console file that
 * includes libpq-fe.h; blocking libpq on purpose (a command-line tool, one query at a time).
 */
#ifndef GL_CTL_DB_H
#define GL_CTL_DB_H

#include "ctl_import.h"
#include "ctl_report.h"

#include <stddef.h>

typedef struct ctl_db ctl_db_t;

/*
 * The connection string to use, into buf: `opt` (--pg) if given, else the environment's
 * GOLDLINE_PG, else GOLDLINE_PG_URL, else the private cluster of deploy/pg.sh when its password
 * file exists (GOLDLINE_VAR_DIR or ./var, then pg.password; database GOLDLINE_PG_DB or goldline,
 * port GOLDLINE_PG_PORT or 5433), else "" (libpq's own PGHOST, PGDATABASE, ... and defaults).
 * Returns 0, or GL_ERANGE when it does not fit.
 */
int ctl_db_conninfo(const char *opt, char *buf, size_t len);

/* Connects (see ctl_db_conninfo). Returns 0 with *db set, or GL_EDB with a message in msg (no
 * password in it). */
int ctl_db_open(const char *opt, ctl_db_t **db, char *msg, size_t msglen);

/* Closes the connection; NULL is a no-op. */
void ctl_db_close(ctl_db_t *db);

/*
 * The active golden metrics (all, or only `only` when not NULL), in name order, into a
 * malloc'd array. Returns 0 or GL_EDB / GL_ENOMEM (message in msg).
 */
int ctl_db_metrics(ctl_db_t *db, const char *only, rep_metric_t **out, size_t *n, char *msg,
                   size_t msglen);

/*
 * The closed or cancelled incidents whose day (the county's local date, for an import the
 * source's) lies in [from_day, to_day], optionally only those whose latest `destination` event
 * names `hospital`, sorted by incident number, each with its timeline. *incs and *events are
 * malloc'd (the incidents point into *events); the caller frees both. *open_excluded counts the
 * still-open incidents of the period. Returns 0 or GL_EDB / GL_ENOMEM.
 */
int ctl_db_incidents(ctl_db_t *db, int from_day, int to_day, const char *hospital,
                     rep_incident_t **incs, size_t *n, rep_event_t **events, size_t *open_excluded,
                     char *msg, size_t msglen);

/*
 * Writes calls[0..n-1] in one transaction: each call whose import_key is not there yet becomes
 * a closed incident numbered in its day (YYYYMMDD-NNNN, after the day's highest number) with its
 * events (source 'import'); a call already imported is left alone. Adds the incidents and
 * events written to *inserted and *events. Returns 0, or GL_EDB with the transaction rolled back.
 */
int ctl_db_import(ctl_db_t *db, const imp_call_t *calls, size_t n, size_t *inserted, size_t *events,
                  char *msg, size_t msglen);

#endif
