/*
 * A unit's on-disk spool of uplink envelopes: every envelope is appended to a file before it is
 * sent and stays there until the dispatcher's cumulative Ack covers its seq, so neither a
 * dropping mobile link, nor kill -9 of the unit, nor a torn last write loses what the unit
 * accepted. The uplink seq is persisted too, so a restarted unit continues above it.
 *
 * The spool keeps its live entries in memory as well (the same uplink_entry_t as the in-memory
 * queue, uplink_queue.h), so resends never read the disk; the file is only appended to, replayed
 * at open and compacted.
 *
 * File layout (all integers little-endian):
 *   header  44 bytes: "GLSPOOL1", the vehicle id NUL-padded to 32 bytes, CRC-32 of those 40.
 *   records u32 body length, u32 CRC-32 (IEEE) of the body, then the body, whose first byte is
 *           its type:
 *           1 ENTRY  u8 kind, u64 seq, i64 sent_at_ms, the envelope bytes (sealed or plain)
 *           2 ACK    u64 up_to_seq: every entry with seq <= up_to_seq is acknowledged
 *           3 SEQ    u64 next_seq: seqs below were used (an uplink Ack is sent, not spooled)
 *           4 DROP   u64 seq: the entry was dropped unacknowledged to stay within the bound
 * At open the records are replayed in order (a whole record that makes no sense is skipped with
 * a warning). The first record that is cut short, longer than SPOOL_RECORD_MAX or fails its CRC
 * ends the log: it and everything after it are cut off (a torn last write), logged once with
 * the byte count.
 *
 * Durability: a record is written with write(2) before spool_push() returns, so it survives the
 * death of the process; it is also fdatasync'd when it is a status change, or when `sync_ms`
 * has passed since the last sync (sync_ms < 0: every record), which bounds what a power loss can take.
 *
 * Bound: the live entries' record bytes stay within max_bytes. To make room the oldest GPS fix
 * is dropped first, then the oldest ECG frame, then the oldest vitals numerics; a status change
 * is never dropped (an envelope that cannot fit is refused with GL_ENOSPC instead). Drops are
 * counted. Compaction rewrites the file with only the live entries (temporary file, fdatasync,
 * rename, directory fsync) once the dead bytes (acknowledged, dropped, bookkeeping) exceed both
 * compact_min_bytes and the live bytes, so the file stays below about twice max_bytes.
 */
#ifndef GL_SPOOL_H
#define GL_SPOOL_H

#include "uplink_queue.h"

#include <stddef.h>
#include <stdint.h>

#define SPOOL_MAX_BYTES_DEFAULT (32u << 20)  /* 32 MiB: about 80 min of 12-lead 500 Hz ECG */
#define SPOOL_COMPACT_MIN_DEFAULT (1u << 20) /* 1 MiB */
#define SPOOL_SYNC_MS_DEFAULT 1000
#define SPOOL_RECORD_MAX (4u << 20)          /* a record body above this is damage */
#define SPOOL_HEADER_BYTES 44
#define SPOOL_RECORD_OVERHEAD 8              /* length and CRC before each body */
#define SPOOL_ENTRY_OVERHEAD (SPOOL_RECORD_OVERHEAD + 18) /* ... plus type, kind, seq, sent_at */

typedef struct spool spool_t;

typedef struct spool_opts {
    size_t max_bytes;         /* bound of the live entries' records; 0: the default */
    size_t compact_min_bytes; /* dead bytes tolerated before compaction; 0: the default */
    int64_t sync_ms;          /* fdatasync period for non-status records; 0: the default,
                                 < 0: every record */
} spool_opts_t;

typedef struct spool_stats {
    uint64_t appended;        /* entries appended */
    uint64_t acked;           /* entries removed by Acks */
    uint64_t dropped;         /* entries dropped unacknowledged to stay within the bound */
    uint64_t refused;         /* envelopes refused: nothing droppable left (GL_ENOSPC) */
    uint64_t io_errors;       /* failed writes/syncs (the entry stays in memory) */
    uint64_t compactions;
    uint64_t restored;        /* entries found at open */
    uint64_t torn_bytes;      /* bytes cut off at open */
    size_t live_bytes;        /* record bytes of the live entries */
    size_t file_bytes;        /* size of the file */
} spool_stats_t;

/*
 * Opens (or creates) the spool file `path` of vehicle `vehicle_id` (1..31 bytes), replays it and
 * cuts a torn tail. `opts` may be NULL. Returns 0 and the spool in *out, or GL_EINVAL (bad id,
 * or the file belongs to another vehicle), GL_EPROTO (not a spool file: nothing is changed),
 * GL_EACCES, GL_ENOENT (no such directory), GL_EIO or GL_ENOMEM; logged once with the path.
 */
int spool_open(const char *path, const char *vehicle_id, const spool_opts_t *opts,
               spool_t **out);

/* Closes the file and frees the entries (they stay on disk). NULL is a no-op. */
void spool_close(spool_t *sp);

/* The seq after every seq this spool has seen used (entries, acks, SEQ records); 0 for a brand
 * new spool. */
uint64_t spool_next_seq(const spool_t *sp);

/*
 * Appends the envelope `buf` (len bytes, copied) as the newest entry; `seq` must be above every
 * seq the spool has seen. Entries are dropped first when needed to stay within the bound (their
 * count is returned, the last one's seq in *dropped_seq, may be NULL). On success *out (may be
 * NULL) is the stored entry (tx_count 1, last_tx_ms now_ms), owned by the spool. Returns the
 * number of entries dropped (>= 0), GL_EINVAL (seq not increasing), GL_ENOSPC (the envelope
 * does not fit even after every droppable entry went: not stored, nothing dropped), GL_ENOMEM,
 * or GL_EIO: the write failed, the entry is kept in memory only (and *out is set).
 */
int spool_push(spool_t *sp, uint64_t seq, int64_t sent_at_ms, int64_t now_ms, uplink_kind_t kind,
               const void *buf, size_t len, uint64_t *dropped_seq, uplink_entry_t **out);

/* Records that seqs below `next_seq` are used (for envelopes that are not spooled). Returns 0
 * or GL_EIO. */
int spool_note_seq(spool_t *sp, uint64_t next_seq);

/* Removes every entry with seq <= up_to_seq, records the Ack and compacts when due. Returns how
 * many entries were removed. */
size_t spool_ack(spool_t *sp, uint64_t up_to_seq);

/* Entries held, and the i-th oldest (i < count; borrowed until the next push or ack). */
size_t spool_count(const spool_t *sp);
uplink_entry_t *spool_at(const spool_t *sp, size_t i);

void spool_get_stats(const spool_t *sp, spool_stats_t *out);

#endif
