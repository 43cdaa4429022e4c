/*
 * The unit's crash-safe spool (see spool.h for the file layout, the drop policy and the
 * durability rules). An append-only log of records replayed into an in-memory array of entries
 * at open; a torn tail is cut, and the log is rewritten without its dead records when they
 * outgrow the live ones.
 */
#include "spool.h"

#include "err.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "GLSPOOL1"
#define ID_FIELD 32

enum rec_type { REC_ENTRY = 1, REC_ACK = 2, REC_SEQ = 3, REC_DROP = 4 };

struct spool {
    char *path;
    char id[ID_FIELD];
    int fd;                  /* the log, opened for appending */
    spool_opts_t opt;
    uplink_entry_t **e;      /* live entries in seq order, e[0] the oldest */
    size_t count, cap;
    uint64_t next_seq;       /* above every seq seen; 0 while none */
    size_t file_bytes;       /* bytes in the file */
    int64_t last_sync_ms;
    spool_stats_t st;
};

/* ---- CRC-32 (IEEE 802.3, as zlib), table built on first use ---- */

static uint32_t crc_table[256];
static int crc_ready;

/* Continues a CRC-32 over more bytes: start with crc 0, feed the parts in order. */
static uint32_t crc32_update(uint32_t crc, const void *buf, size_t len)
{
    if (!crc_ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            crc_table[i] = c;
        }
        crc_ready = 1;
    }
    const unsigned char *p = buf;
    uint32_t c = crc ^ 0xFFFFFFFFu;
    while (len--)
        c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static uint32_t crc32_of(const void *buf, size_t len)
{
    return crc32_update(0, buf, len);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static size_t entry_record_bytes(const uplink_entry_t *e)
{
    return SPOOL_ENTRY_OVERHEAD + e->len;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return GL_EIO;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Writes one record whose body is `prefix` followed by `payload` (may be empty) to fd. */
static int write_record(int fd, const unsigned char *prefix, size_t plen, const void *payload,
                        size_t len)
{
    unsigned char hdr[SPOOL_RECORD_OVERHEAD];
    put_u32(hdr, (uint32_t)(plen + len));
    put_u32(hdr + 4, crc32_update(crc32_update(0, prefix, plen), payload, len));
    int rc = write_all(fd, hdr, sizeof hdr);
    if (rc == 0)
        rc = write_all(fd, prefix, plen);
    if (rc == 0 && len)
        rc = write_all(fd, payload, len);
    return rc;
}

static void entry_prefix(const uplink_entry_t *e, unsigned char p[18])
{
    p[0] = REC_ENTRY;
    p[1] = (unsigned char)e->kind;
    put_u64(p + 2, e->seq);
    put_u64(p + 10, (uint64_t)e->sent_at_ms);
}

static void make_header(const char *id, unsigned char h[SPOOL_HEADER_BYTES])
{
    memset(h, 0, SPOOL_HEADER_BYTES);
    memcpy(h, MAGIC, 8);
    memcpy(h + 8, id, strlen(id));
    put_u32(h + 40, crc32_of(h, 40));
}

/* Appends a small bookkeeping record (ACK, SEQ, DROP) to the live file. */
static int append_u64(spool_t *sp, enum rec_type type, uint64_t v)
{
    unsigned char b[9];
    b[0] = (unsigned char)type;
    put_u64(b + 1, v);
    int rc = write_record(sp->fd, b, sizeof b, NULL, 0);
    if (rc < 0) {
        sp->st.io_errors++;
        if (ftruncate(sp->fd, (off_t)sp->file_bytes) < 0)
            LOG_ERR("spool", "veh=%s %s: cannot remove a partial record", sp->id, sp->path);
        return rc;
    }
    sp->file_bytes += SPOOL_RECORD_OVERHEAD + sizeof b;
    return 0;
}

static void fsync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return;
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(copy);
}

static int errno_code(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return GL_ENOENT;
    case EACCES:
    case EPERM:
    case EROFS:
        return GL_EACCES;
    case ENOSPC:
        return GL_ENOSPC;
    default:
        return GL_EIO;
    }
}

/* ---- in-memory entries ---- */

static int add_entry(spool_t *sp, uplink_entry_t *m)
{
    if (sp->count == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 64;
        uplink_entry_t **e = realloc(sp->e, cap * sizeof *e);
        if (!e)
            return GL_ENOMEM;
        sp->e = e;
        sp->cap = cap;
    }
    sp->e[sp->count++] = m;
    sp->st.live_bytes += entry_record_bytes(m);
    return 0;
}

static void remove_at(spool_t *sp, size_t i)
{
    sp->st.live_bytes -= entry_record_bytes(sp->e[i]);
    free(sp->e[i]);
    memmove(&sp->e[i], &sp->e[i + 1], (sp->count - i - 1) * sizeof *sp->e);
    sp->count--;
}

static size_t remove_prefix(spool_t *sp, uint64_t up_to)
{
    size_t n = 0;
    while (n < sp->count && sp->e[n]->seq <= up_to) {
        sp->st.live_bytes -= entry_record_bytes(sp->e[n]);
        free(sp->e[n++]);
    }
    memmove(sp->e, sp->e + n, (sp->count - n) * sizeof *sp->e);
    sp->count -= n;
    return n;
}

static void remove_seq(spool_t *sp, uint64_t seq)
{
    for (size_t i = 0; i < sp->count; i++)
        if (sp->e[i]->seq == seq) {
            remove_at(sp, i);
            return;
        }
}

static uplink_entry_t *new_entry(uint64_t seq, int64_t sent_at, int64_t now, uplink_kind_t kind,
                                 const void *buf, size_t len)
{
    uplink_entry_t *m = malloc(sizeof *m + len);
    if (!m)
        return NULL;
    m->seq = seq;
    m->sent_at_ms = sent_at;
    m->last_tx_ms = now;
    m->tx_count = 1;
    m->kind = kind;
    m->len = len;
    memcpy(m->data, buf, len);
    return m;
}

static void see_seq(spool_t *sp, uint64_t next)
{
    if (next > sp->next_seq)
        sp->next_seq = next;
}

/* ---- open: replay ---- */

/* Applies one record body; returns 0, GL_ENOMEM, or GL_EPROTO for a body that makes no sense. */
static int apply(spool_t *sp, const unsigned char *b, size_t n)
{
    switch (b[0]) {
    case REC_ENTRY: {
        if (n < 18 || b[1] > UPLINK_KIND_ECG)
            return GL_EPROTO;
        uint64_t seq = get_u64(b + 2);
        if (seq == 0 || seq < sp->next_seq)
            return GL_EPROTO;
        /* Restored entries are due at once: last_tx_ms 0 (see unit_session_tick). */
        uplink_entry_t *m =
            new_entry(seq, (int64_t)get_u64(b + 10), 0, (uplink_kind_t)b[1], b + 18, n - 18);
        if (!m || add_entry(sp, m) < 0) {
            free(m);
            return GL_ENOMEM;
        }
        see_seq(sp, seq + 1);
        return 0;
    }
    case REC_ACK:
    case REC_SEQ:
    case REC_DROP: {
        if (n != 9)
            return GL_EPROTO;
        uint64_t v = get_u64(b + 1);
        if (b[0] == REC_ACK) {
            remove_prefix(sp, v);
            see_seq(sp, v + 1);
        } else if (b[0] == REC_SEQ) {
            see_seq(sp, v);
        } else {
            remove_seq(sp, v);
        }
        return 0;
    }
    default:
        return GL_EPROTO;
    }
}

/* Reads the records after the header; sets *good_end to the end of the last whole record. */
static int replay(spool_t *sp, FILE *f, size_t *good_end)
{
    unsigned char hdr[SPOOL_RECORD_OVERHEAD];
    unsigned char *body = NULL;
    size_t body_cap = 0;
    size_t off = SPOOL_HEADER_BYTES;
    int rc = 0;
    for (;;) {
        if (fread(hdr, 1, sizeof hdr, f) != sizeof hdr)
            break;
        uint32_t n = get_u32(hdr);
        if (n == 0 || n > SPOOL_RECORD_MAX)
            break;
        if (n > body_cap) {
            unsigned char *nb = realloc(body, n);
            if (!nb) {
                rc = GL_ENOMEM;
                break;
            }
            body = nb;
            body_cap = n;
        }
        if (fread(body, 1, n, f) != n || crc32_of(body, n) != get_u32(hdr + 4))
            break;
        rc = apply(sp, body, n);
        if (rc == GL_EPROTO) {
            /* Whole and checksummed, but meaningless (an unknown type from a newer version, an
             * entry out of order): skip it rather than cut what follows. */
            LOG_WARN("spool", "veh=%s %s: record at offset %zu skipped (type %u)", sp->id,
                     sp->path, off, body[0]);
            rc = 0;
        }
        if (rc < 0)
            break;
        off += sizeof hdr + n;
    }
    free(body);
    *good_end = off;
    return rc;
}

/* ---- compaction ---- */

static int compact(spool_t *sp)
{
    size_t plen = strlen(sp->path);
    char *tmp = malloc(plen + 5);
    if (!tmp)
        return GL_ENOMEM;
    memcpy(tmp, sp->path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = fd < 0 ? errno_code(errno) : 0;
    unsigned char h[SPOOL_HEADER_BYTES];
    make_header(sp->id, h);
    size_t bytes = SPOOL_HEADER_BYTES;
    if (rc == 0)
        rc = write_all(fd, h, sizeof h);
    for (size_t i = 0; rc == 0 && i < sp->count; i++) {
        unsigned char p[18];
        entry_prefix(sp->e[i], p);
        rc = write_record(fd, p, sizeof p, sp->e[i]->data, sp->e[i]->len);
        bytes += entry_record_bytes(sp->e[i]);
    }
    /* After the entries: replay refuses an entry below a seq already seen. */
    if (rc == 0 && sp->next_seq) {
        unsigned char b[9];
        b[0] = REC_SEQ;
        put_u64(b + 1, sp->next_seq);
        rc = write_record(fd, b, sizeof b, NULL, 0);
        bytes += SPOOL_RECORD_OVERHEAD + sizeof b;
    }
    if (rc == 0 && fdatasync(fd) < 0)
        rc = GL_EIO;
    if (rc == 0 && rename(tmp, sp->path) < 0)
        rc = errno_code(errno);
    if (rc < 0) {
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        free(tmp);
        sp->st.io_errors++;
        LOG_WARN("spool", "veh=%s compaction of %s failed: %s (the old file stays)", sp->id,
                 sp->path, gl_strerror(rc));
        return rc;
    }
    free(tmp);
    fsync_dir(sp->path);
    /* The new file is complete and in place: append to it from now on. */
    close(sp->fd);
    close(fd);
    sp->fd = open(sp->path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (sp->fd < 0) {
        sp->st.io_errors++;
        LOG_ERR("spool", "veh=%s cannot reopen %s after compaction: %s", sp->id, sp->path,
                strerror(errno));
        return GL_EIO;
    }
    sp->file_bytes = bytes;
    sp->st.compactions++;
    LOG_DEBUG("spool", "veh=%s compacted to %zu bytes (%zu entries)", sp->id, bytes, sp->count);
    return 0;
}

static void maybe_compact(spool_t *sp)
{
    size_t dead = sp->file_bytes - SPOOL_HEADER_BYTES - sp->st.live_bytes;
    if (dead > sp->opt.compact_min_bytes && dead > sp->st.live_bytes)
        compact(sp);
}

/* ---- public ---- */

int spool_open(const char *path, const char *vehicle_id, const spool_opts_t *opts,
               spool_t **out)
{
    size_t idn = vehicle_id ? strlen(vehicle_id) : 0;
    if (!path || idn == 0 || idn >= ID_FIELD)
        return GL_EINVAL;
    spool_t *sp = calloc(1, sizeof *sp);
    if (!sp || !(sp->path = strdup(path))) {
        free(sp);
        return GL_ENOMEM;
    }
    memcpy(sp->id, vehicle_id, idn + 1);
    sp->fd = -1;
    if (opts)
        sp->opt = *opts;
    if (!sp->opt.max_bytes)
        sp->opt.max_bytes = SPOOL_MAX_BYTES_DEFAULT;
    if (!sp->opt.compact_min_bytes)
        sp->opt.compact_min_bytes = SPOOL_COMPACT_MIN_DEFAULT;
    if (sp->opt.sync_ms == 0)
        sp->opt.sync_ms = SPOOL_SYNC_MS_DEFAULT;

    int rc = 0;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = errno_code(errno);
        LOG_ERR("spool", "veh=%s cannot open spool %s: %s", sp->id, path, strerror(errno));
        goto fail;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        rc = GL_EIO;
        LOG_ERR("spool", "veh=%s spool %s is not a regular file", sp->id, path);
        goto fail_fd;
    }
    unsigned char want[SPOOL_HEADER_BYTES];
    make_header(vehicle_id, want);
    if ((size_t)st.st_size < SPOOL_HEADER_BYTES) {
        /* New, or its creation was cut short before the header was whole: start it (again). */
        if (ftruncate(fd, 0) < 0 || (rc = write_all(fd, want, sizeof want)) < 0 ||
            fdatasync(fd) < 0) {
            rc = GL_EIO;
            LOG_ERR("spool", "veh=%s cannot write spool %s", sp->id, path);
            goto fail_fd;
        }
        fsync_dir(path);
        sp->file_bytes = SPOOL_HEADER_BYTES;
        if (st.st_size > 0)
            sp->st.torn_bytes = (uint64_t)st.st_size;
    } else {
        FILE *f = fdopen(dup(fd), "rb");
        unsigned char h[SPOOL_HEADER_BYTES];
        if (!f) {
            rc = GL_EIO;
            goto fail_fd;
        }
        if (fread(h, 1, sizeof h, f) != sizeof h || memcmp(h, MAGIC, 8) != 0 ||
            get_u32(h + 40) != crc32_of(h, 40)) {
            fclose(f);
            rc = GL_EPROTO;
            LOG_ERR("spool", "veh=%s %s is not a goldline spool file (left untouched)", sp->id,
                    path);
            goto fail_fd;
        }
        if (memcmp(h, want, SPOOL_HEADER_BYTES) != 0) {
            fclose(f);
            rc = GL_EINVAL;
            LOG_ERR("spool", "veh=%s spool %s belongs to vehicle %.32s (left untouched)", sp->id,
                    path, (const char *)h + 8);
            goto fail_fd;
        }
        size_t good_end = SPOOL_HEADER_BYTES;
        rc = replay(sp, f, &good_end);
        fclose(f);
        if (rc < 0)
            goto fail_fd;
        if (good_end < (size_t)st.st_size) {
            sp->st.torn_bytes = (uint64_t)st.st_size - good_end;
            if (ftruncate(fd, (off_t)good_end) < 0 || fdatasync(fd) < 0) {
                rc = GL_EIO;
                LOG_ERR("spool", "veh=%s cannot cut the torn tail of %s", sp->id, path);
                goto fail_fd;
            }
            LOG_WARN("spool", "veh=%s %s: cut %" PRIu64 " bytes of a torn or damaged tail",
                     sp->id, path, sp->st.torn_bytes);
        }
        sp->file_bytes = good_end;
    }
    close(fd);
    sp->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (sp->fd < 0) {
        rc = errno_code(errno);
        goto fail;
    }
    sp->st.restored = sp->count;
    maybe_compact(sp);
    LOG_INFO("spool", "veh=%s spool %s: %zu unacknowledged entries, next seq %" PRIu64, sp->id,
             path, sp->count, sp->next_seq);
    *out = sp;
    return 0;

fail_fd:
    close(fd);
fail:
    spool_close(sp);
    return rc;
}

void spool_close(spool_t *sp)
{
    if (!sp)
        return;
    if (sp->fd >= 0)
        close(sp->fd);
    for (size_t i = 0; i < sp->count; i++)
        free(sp->e[i]);
    free(sp->e);
    free(sp->path);
    free(sp);
}

uint64_t spool_next_seq(const spool_t *sp)
{
    return sp->next_seq;
}

/* The entry the bound gives up: the oldest GPS fix, ECG frame, vitals; -1 if none (statuses). */
static long victim(const spool_t *sp)
{
    static const uplink_kind_t order[] = {UPLINK_KIND_GPS, UPLINK_KIND_ECG, UPLINK_KIND_VITALS};
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
        for (size_t i = 0; i < sp->count; i++)
            if (sp->e[i]->kind == order[k])
                return (long)i;
    return -1;
}

int spool_push(spool_t *sp, uint64_t seq, int64_t sent_at_ms, int64_t now_ms, uplink_kind_t kind,
               const void *buf, size_t len, uint64_t *dropped_seq, uplink_entry_t **out)
{
    if (seq == 0 || seq < sp->next_seq)
        return GL_EINVAL;
    size_t need = SPOOL_ENTRY_OVERHEAD + len;
    if (len > SPOOL_RECORD_MAX - 18 || need > sp->opt.max_bytes) {
        sp->st.refused++;
        return GL_ENOSPC;
    }
    /* Check that enough can be dropped before dropping anything. */
    size_t freeable = 0;
    for (size_t i = 0; i < sp->count; i++)
        if (sp->e[i]->kind != UPLINK_KIND_STATUS)
            freeable += entry_record_bytes(sp->e[i]);
    if (sp->st.live_bytes - freeable + need > sp->opt.max_bytes) {
        sp->st.refused++;
        return GL_ENOSPC;
    }
    uplink_entry_t *m = new_entry(seq, sent_at_ms, now_ms, kind, buf, len);
    if (!m)
        return GL_ENOMEM;
    int dropped = 0;
    int io_failed = 0;
    while (sp->st.live_bytes + need > sp->opt.max_bytes) {
        long v = victim(sp);
        uint64_t vseq = sp->e[v]->seq;
        remove_at(sp, (size_t)v);
        if (append_u64(sp, REC_DROP, vseq) < 0)
            io_failed = 1;
        if (dropped_seq)
            *dropped_seq = vseq;
        dropped++;
        sp->st.dropped++;
    }
    if (add_entry(sp, m) < 0) {
        free(m);
        return GL_ENOMEM;
    }
    see_seq(sp, seq + 1);
    sp->st.appended++;
    unsigned char p[18];
    entry_prefix(m, p);
    if (write_record(sp->fd, p, sizeof p, buf, len) < 0) {
        io_failed = 1;
        /* Remove a partial record, or every later append would be cut with it at the next open. */
        if (ftruncate(sp->fd, (off_t)sp->file_bytes) < 0)
            LOG_ERR("spool", "veh=%s %s: cannot remove a partial record", sp->id, sp->path);
    } else {
        sp->file_bytes += need;
        if (sp->opt.sync_ms < 0 || kind == UPLINK_KIND_STATUS ||
            now_ms - sp->last_sync_ms >= sp->opt.sync_ms) {
            if (fdatasync(sp->fd) < 0)
                io_failed = 1;
            sp->last_sync_ms = now_ms;
        }
    }
    if (out)
        *out = m;
    if (io_failed) {
        sp->st.io_errors++;
        return GL_EIO;
    }
    if (dropped)
        maybe_compact(sp);
    return dropped;
}

int spool_note_seq(spool_t *sp, uint64_t next_seq)
{
    if (next_seq <= sp->next_seq)
        return 0;
    see_seq(sp, next_seq);
    return append_u64(sp, REC_SEQ, next_seq);
}

size_t spool_ack(spool_t *sp, uint64_t up_to_seq)
{
    size_t n = remove_prefix(sp, up_to_seq);
    if (n == 0)
        return 0;
    sp->st.acked += n;
    append_u64(sp, REC_ACK, up_to_seq);
    maybe_compact(sp);
    return n;
}

size_t spool_count(const spool_t *sp)
{
    return sp->count;
}

uplink_entry_t *spool_at(const spool_t *sp, size_t i)
{
    return i < sp->count ? sp->e[i] : NULL;
}

void spool_get_stats(const spool_t *sp, spool_stats_t *out)
{
    *out = sp->st;
    out->file_bytes = sp->file_bytes;
}
