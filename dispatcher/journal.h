/*
 * The dispatcher's local journal: the durability point of every state change.
 *
 * A state change (incident created, event appended, assignment, unit status) is appended here
 * and made durable with fdatasync before whoever asked is told "accepted"; a writer then copies
 * it into PostGIS at its own pace (db.c). So a kill -9 loses nothing acknowledged, and a
 * database outage only delays the copy (DESIGN.md, "Durability").
 *
 * The file is text, one record per line: "<lsn> <checksum> <payload>\n", where lsn is a
 * strictly increasing 64-bit number, checksum the first 16 hex digits of BLAKE2b (libsodium) of
 * the payload, and payload one line of JSON written by the caller. A torn last line (a crash in
 * the middle of a write) is cut off: nothing in it was acknowledged. A damaged line with whole
 * lines after it cannot come from a crash: opening fails then, rather than lose acknowledged
 * records.
 *
 * Once PostGIS has confirmed every record, journal_truncate() empties the file; lsns go on
 * from where they were (the caller passes the last applied lsn back at open).
 */
#ifndef GL_JOURNAL_H
#define GL_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct journal journal_t;

/* Called by journal_open() for each intact record with lsn > `after`, oldest first; `payload`
 * is NUL-terminated and borrowed for the call. A non-zero return stops the replay with it. */
typedef int (*journal_on_record)(uint64_t lsn, const char *payload, size_t len, void *ctx);

/*
 * Opens (creating if needed) the journal file at `path` and replays every intact record whose
 * lsn is greater than `after` through `cb`. A torn tail is cut off (and logged). The next lsn
 * handed out is one more than the greatest of `after` and every lsn in the file.
 * Returns 0 and sets *out, GL_EIO (message logged), GL_EPROTO (damage before the end: logged),
 * GL_ENOMEM, or what `cb` returned.
 */
int journal_open(const char *path, uint64_t after, journal_on_record cb, void *ctx,
                 journal_t **out);

/*
 * Appends one record and waits until it is on disk (fdatasync). `payload` must not contain a
 * newline. Returns 0 and the record's lsn in *lsn, or GL_EINVAL / GL_EIO (nothing is appended
 * then: a partial line is cut off again).
 */
int journal_append(journal_t *j, const char *payload, size_t len, uint64_t *lsn);

/* The lsn of the newest record appended or replayed (0 if none ever). */
uint64_t journal_last_lsn(const journal_t *j);

/* Bytes in the file now. */
uint64_t journal_size(const journal_t *j);

/* Empties the file (every record in it is confirmed elsewhere). lsns continue. Returns 0/GL_EIO. */
int journal_truncate(journal_t *j);

/* Closes the file; journal_close(NULL) is a no-op. */
void journal_close(journal_t *j);

#endif
