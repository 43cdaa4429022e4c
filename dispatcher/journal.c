/*
 * The journal file (see journal.h): append with fdatasync, replay, truncate.
 */
#include "journal.h"

#include "err.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECKSUM_HEX 16

struct journal {
    int fd;
    char *path;
    uint64_t last_lsn;
    uint64_t size; /* bytes of intact records */
};

static void checksum(const char *payload, size_t len, char out[CHECKSUM_HEX + 1])
{
    unsigned char h[CHECKSUM_HEX / 2];
    crypto_generichash(h, sizeof h, (const unsigned char *)payload, len, NULL, 0);
    sodium_bin2hex(out, CHECKSUM_HEX + 1, h, sizeof h);
}

/* Parses one line (without its newline). Returns 0 and the payload position, or -1 if the
 * line is not an intact record. */
static int parse_line(char *line, size_t len, uint64_t *lsn, char **payload, size_t *plen)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(line, &end, 10);
    if (errno || end == line || *end != ' ')
        return -1;
    char *sum = end + 1;
    if ((size_t)(sum - line) + CHECKSUM_HEX + 1 > len || sum[CHECKSUM_HEX] != ' ')
        return -1;
    char *p = sum + CHECKSUM_HEX + 1;
    size_t n = len - (size_t)(p - line);
    char want[CHECKSUM_HEX + 1];
    checksum(p, n, want);
    if (memcmp(want, sum, CHECKSUM_HEX) != 0)
        return -1;
    *lsn = v;
    *payload = p;
    *plen = n;
    return 0;
}

/* Reads the whole file and replays it. Sets j->size to the length of the intact prefix. */
static int replay(journal_t *j, uint64_t after, journal_on_record cb, void *ctx)
{
    struct stat st;
    if (fstat(j->fd, &st) < 0)
        return GL_EIO;
    size_t total = (size_t)st.st_size;
    char *buf = malloc(total + 1);
    if (!buf)
        return GL_ENOMEM;
    size_t got = 0;
    while (got < total) {
        ssize_t r = pread(j->fd, buf + got, total - got, (off_t)got);
        if (r <= 0) {
            free(buf);
            return GL_EIO;
        }
        got += (size_t)r;
    }
    buf[total] = '\0';
    size_t pos = 0;
    int rc = 0;
    while (pos < total) {
        char *nl = memchr(buf + pos, '\n', total - pos);
        if (!nl)
            break; /* torn last line */
        *nl = '\0';
        uint64_t lsn;
        char *payload;
        size_t plen;
        if (parse_line(buf + pos, (size_t)(nl - (buf + pos)), &lsn, &payload, &plen) < 0 ||
            lsn <= j->last_lsn) {
            /* A crash can only tear the last write. A bad record with whole lines after it is
             * damage to acknowledged records: cutting it would lose them, so refuse to go on. */
            if (memchr(nl + 1, '\n', total - (size_t)(nl + 1 - buf))) {
                LOG_ERR("journal", "%s: damaged record at byte %zu with records after it: "
                        "not starting (copy the file aside, then move the damaged line out by hand)",
                        j->path, pos);
                free(buf);
                return GL_EPROTO;
            }
            LOG_WARN("journal", "%s: torn last record at byte %zu: cut off", j->path, pos);
            break;
        }
        j->last_lsn = lsn;
        if (lsn > after && cb && (rc = cb(lsn, payload, plen, ctx)) != 0)
            break;
        pos = (size_t)(nl - buf) + 1;
    }
    free(buf);
    j->size = pos;
    if (rc == 0 && pos < total) {
        LOG_WARN("journal", "%s: cutting %zu bytes of torn tail", j->path, total - pos);
        if (ftruncate(j->fd, (off_t)pos) < 0)
            return GL_EIO;
    }
    return rc;
}

static void sync_dir(const char *path)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int journal_open(const char *path, uint64_t after, journal_on_record cb, void *ctx,
                 journal_t **out)
{
    journal_t *j = calloc(1, sizeof *j);
    if (!j || !(j->path = strdup(path))) {
        free(j);
        return GL_ENOMEM;
    }
    int existed = access(path, F_OK) == 0;
    j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (j->fd >= 0 && !existed)
        sync_dir(path); /* the new file's name must survive a power cut too */
    if (j->fd < 0) {
        LOG_ERR("journal", "cannot open %s: %s", path, strerror(errno));
        free(j->path);
        free(j);
        return GL_EIO;
    }
    int rc = replay(j, after, cb, ctx);
    if (rc != 0) {
        if (rc == GL_EIO)
            LOG_ERR("journal", "cannot read %s: %s", path, strerror(errno));
        journal_close(j);
        return rc;
    }
    if (j->last_lsn < after)
        j->last_lsn = after;
    *out = j;
    return 0;
}

int journal_append(journal_t *j, const char *payload, size_t len, uint64_t *lsn)
{
    if (memchr(payload, '\n', len))
        return GL_EINVAL;
    char head[48], sum[CHECKSUM_HEX + 1];
    uint64_t next = j->last_lsn + 1;
    checksum(payload, len, sum);
    int hn = snprintf(head, sizeof head, "%" PRIu64 " %s ", next, sum);
    size_t total = (size_t)hn + len + 1;
    char *line = malloc(total);
    if (!line)
        return GL_ENOMEM;
    memcpy(line, head, (size_t)hn);
    memcpy(line + hn, payload, len);
    line[total - 1] = '\n';
    size_t done = 0;
    int rc = 0;
    while (done < total) {
        ssize_t w = pwrite(j->fd, line + done, total - done, (off_t)(j->size + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = GL_EIO;
            break;
        }
        done += (size_t)w;
    }
    free(line);
    if (rc == 0 && fdatasync(j->fd) < 0)
        rc = GL_EIO;
    if (rc != 0) {
        LOG_ERR("journal", "cannot append to %s: %s", j->path, strerror(errno));
        if (ftruncate(j->fd, (off_t)j->size) < 0)
            LOG_ERR("journal", "cannot cut a partial record: %s", strerror(errno));
        return rc;
    }
    j->size += total;
    j->last_lsn = next;
    *lsn = next;
    return 0;
}

uint64_t journal_last_lsn(const journal_t *j)
{
    return j->last_lsn;
}

uint64_t journal_size(const journal_t *j)
{
    return j->size;
}

int journal_truncate(journal_t *j)
{
    if (ftruncate(j->fd, 0) < 0 || fdatasync(j->fd) < 0) {
        LOG_ERR("journal", "cannot truncate %s: %s", j->path, strerror(errno));
        return GL_EIO;
    }
    j->size = 0;
    return 0;
}

void journal_close(journal_t *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd);
    free(j->path);
    free(j);
}
