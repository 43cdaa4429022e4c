/*
 * The sealed envelope (see seal.h for the byte layout and the replay rule): XChaCha20-Poly1305-IETF
 * from libsodium over the packed protobuf envelope, the clear header as associated data, and the
 * key files units and the dispatcher keep. Nothing here logs: callers log once, with context, and
 * key material never reaches a log line or an error reason.
 */
#include "seal.h"

#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HDR_FIXED 4 /* magic, version, direction, id_len */
#define KEY_FILE_MAX 256

_Static_assert(SEAL_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key size");
_Static_assert(SEAL_NONCE_BYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce size");
_Static_assert(SEAL_TAG_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag size");

__attribute__((format(printf, 3, 4))) static void reason(char *why, size_t why_len,
                                                         const char *fmt, ...)
{
    if (!why || !why_len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
}

int seal_init(void)
{
    return sodium_init() < 0 ? GL_EIO : 0;
}

int seal_key_generate(seal_key_t *key)
{
    if (seal_init() < 0)
        return GL_EIO;
    crypto_aead_xchacha20poly1305_ietf_keygen(key->k);
    return 0;
}

void seal_key_to_hex(const seal_key_t *key, char *hex)
{
    sodium_bin2hex(hex, SEAL_KEY_HEX_LEN + 1, key->k, SEAL_KEY_BYTES);
}

int seal_key_from_hex(const char *hex, seal_key_t *key)
{
    size_t n = strlen(hex);
    while (n > 0 && (hex[n - 1] == '\n' || hex[n - 1] == '\r' || hex[n - 1] == ' ' ||
                     hex[n - 1] == '\t'))
        n--;
    if (n != SEAL_KEY_HEX_LEN)
        return GL_EPROTO;
    size_t bin_len = 0;
    const char *end = NULL;
    seal_key_t k;
    if (sodium_hex2bin(k.k, sizeof k.k, hex, n, NULL, &bin_len, &end) != 0 ||
        bin_len != SEAL_KEY_BYTES || end != hex + n) {
        sodium_memzero(&k, sizeof k);
        return GL_EPROTO;
    }
    *key = k;
    sodium_memzero(&k, sizeof k);
    return 0;
}

static int errno_code(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return GL_ENOENT;
    case EEXIST:
        return GL_EEXIST;
    case EACCES:
    case EPERM:
    case EROFS:
        return GL_EACCES;
    default:
        return GL_EIO;
    }
}

static int write_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int seal_key_write_file(const char *path, const seal_key_t *key, seal_key_format_t fmt,
                        char *why, size_t why_len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        reason(why, why_len, e == EEXIST ? "key file %s exists already (not overwritten)"
                                         : "cannot create key file %s", path);
        return errno_code(e);
    }
    char hex[SEAL_KEY_HEX_LEN + 2];
    int rc = 0;
    /* The umask may only have removed bits; fchmod makes the mode exactly 0600. */
    if (fchmod(fd, 0600) < 0) {
        rc = GL_EIO;
        goto fail;
    }
    if (fmt == SEAL_KEY_RAW) {
        rc = write_all(fd, key->k, SEAL_KEY_BYTES) < 0 ? GL_EIO : 0;
    } else {
        seal_key_to_hex(key, hex);
        hex[SEAL_KEY_HEX_LEN] = '\n';
        rc = write_all(fd, hex, SEAL_KEY_HEX_LEN + 1) < 0 ? GL_EIO : 0;
        sodium_memzero(hex, sizeof hex);
    }
    if (rc == 0 && fsync(fd) < 0)
        rc = GL_EIO;
    if (rc < 0)
        goto fail;
    if (close(fd) < 0) {
        fd = -1;
        rc = GL_EIO;
        goto fail;
    }
    return 0;

fail:
    reason(why, why_len, "cannot write key file %s", path);
    if (fd >= 0)
        close(fd);
    unlink(path);
    return rc;
}

int seal_key_read_file(const char *path, seal_key_t *key, char *why, size_t why_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        reason(why, why_len, e == ENOENT ? "key file %s does not exist"
                                         : "cannot open key file %s", path);
        return errno_code(e);
    }
    struct stat st;
    unsigned char buf[KEY_FILE_MAX + 1];
    size_t n = 0;
    int rc = 0;
    if (fstat(fd, &st) < 0) {
        reason(why, why_len, "cannot stat key file %s", path);
        rc = GL_EIO;
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        reason(why, why_len, "key file %s is not a regular file", path);
        rc = GL_EACCES;
        goto done;
    }
    if (st.st_mode & 077) {
        reason(why, why_len, "key file %s is open to group or others (mode %04o): chmod 600 it",
               path, (unsigned)(st.st_mode & 07777));
        rc = GL_EACCES;
        goto done;
    }
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof buf - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            reason(why, why_len, "cannot read key file %s", path);
            rc = GL_EIO;
            goto done;
        }
        if (r == 0 || (n += (size_t)r) == sizeof buf)
            break;
    }
    if (n == SEAL_KEY_BYTES) {
        memcpy(key->k, buf, SEAL_KEY_BYTES);
    } else if (n > KEY_FILE_MAX) {
        rc = GL_EPROTO;
    } else {
        buf[n] = '\0';
        rc = memchr(buf, '\0', n) ? GL_EPROTO : seal_key_from_hex((const char *)buf, key);
    }
    if (rc < 0)
        reason(why, why_len,
               "key file %s is malformed: want 64 hex digits or 32 raw bytes (%u bytes read)",
               path, (unsigned)n);
done:
    sodium_memzero(buf, sizeof buf);
    close(fd);
    return rc;
}

size_t seal_overhead(seal_dir_t dir, size_t id_len)
{
    size_t topic = dir == SEAL_DOWNLINK ? id_len + 1 : 0;
    return topic + HDR_FIXED + id_len + SEAL_NONCE_BYTES + SEAL_TAG_BYTES;
}

int seal_seal(const seal_key_t *key, seal_dir_t dir, const char *vehicle_id, const void *plain,
              size_t plain_len, void *out, size_t cap, size_t *out_len)
{
    size_t id_len = vehicle_id ? strlen(vehicle_id) : 0;
    if (id_len == 0 || id_len > SEAL_ID_MAX || (dir != SEAL_UPLINK && dir != SEAL_DOWNLINK))
        return GL_EINVAL;
    size_t need = plain_len + seal_overhead(dir, id_len);
    if (need < plain_len || cap < need)
        return GL_ENOSPC;
    if (seal_init() < 0)
        return GL_EIO;
    unsigned char *p = out;
    if (dir == SEAL_DOWNLINK) {
        memcpy(p, vehicle_id, id_len + 1);
        p += id_len + 1;
    }
    unsigned char *hdr = p;
    hdr[0] = SEAL_MAGIC;
    hdr[1] = SEAL_VERSION;
    hdr[2] = (unsigned char)dir;
    hdr[3] = (unsigned char)id_len;
    memcpy(hdr + HDR_FIXED, vehicle_id, id_len);
    size_t hdr_len = HDR_FIXED + id_len;
    unsigned char *nonce = hdr + hdr_len;
    randombytes_buf(nonce, SEAL_NONCE_BYTES);
    unsigned long long clen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + SEAL_NONCE_BYTES, &clen, plain,
                                                   plain_len, hdr, hdr_len, NULL, nonce,
                                                   key->k) != 0)
        return GL_EIO;
    *out_len = (size_t)(nonce + SEAL_NONCE_BYTES + clen - (unsigned char *)out);
    return 0;
}

/* Finds the header of a sealed message: sets *hdr (and *id_len); 0 or GL_EPROTO. */
static int locate(seal_dir_t dir, const void *buf, size_t len, const unsigned char **hdr,
                  size_t *id_len)
{
    const unsigned char *p = buf;
    size_t topic_len = 0;
    if (dir == SEAL_DOWNLINK) {
        const unsigned char *nul = len ? memchr(p, '\0', len < SEAL_ID_MAX + 1 ? len
                                                                               : SEAL_ID_MAX + 1)
                                       : NULL;
        if (!nul || nul == p)
            return GL_EPROTO;
        topic_len = (size_t)(nul - p);
        p = nul + 1;
        len -= topic_len + 1;
    } else if (dir != SEAL_UPLINK) {
        return GL_EPROTO;
    }
    if (len < HDR_FIXED || p[0] != SEAL_MAGIC || p[1] != SEAL_VERSION || p[2] != dir)
        return GL_EPROTO;
    size_t n = p[3];
    if (n == 0 || n > SEAL_ID_MAX || len < HDR_FIXED + n + SEAL_NONCE_BYTES + SEAL_TAG_BYTES)
        return GL_EPROTO;
    if (memchr(p + HDR_FIXED, '\0', n))
        return GL_EPROTO;
    if (dir == SEAL_DOWNLINK &&
        (topic_len != n || memcmp(p + HDR_FIXED, (const unsigned char *)buf, n) != 0))
        return GL_EPROTO;
    *hdr = p;
    *id_len = n;
    return 0;
}

int seal_is_sealed(seal_dir_t dir, const void *buf, size_t len)
{
    const unsigned char *hdr;
    size_t n;
    return locate(dir, buf, len, &hdr, &n) == 0;
}

int seal_peek(seal_dir_t dir, const void *buf, size_t len, char *id)
{
    const unsigned char *hdr;
    size_t n;
    int rc = locate(dir, buf, len, &hdr, &n);
    if (rc < 0)
        return rc;
    memcpy(id, hdr + HDR_FIXED, n);
    id[n] = '\0';
    return 0;
}

int seal_open(const seal_key_t *key, seal_dir_t dir, const void *buf, size_t len, void *out,
              size_t cap, size_t *out_len)
{
    const unsigned char *hdr;
    size_t n;
    int rc = locate(dir, buf, len, &hdr, &n);
    if (rc < 0)
        return rc;
    if (seal_init() < 0)
        return GL_EIO;
    size_t hdr_len = HDR_FIXED + n;
    const unsigned char *nonce = hdr + hdr_len;
    const unsigned char *ct = nonce + SEAL_NONCE_BYTES;
    size_t ct_len = len - (size_t)(ct - (const unsigned char *)buf);
    if (cap < ct_len - SEAL_TAG_BYTES)
        return GL_ENOSPC;
    unsigned long long plen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &plen, NULL, ct, ct_len, hdr, hdr_len,
                                                   nonce, key->k) != 0)
        return GL_EACCES;
    *out_len = (size_t)plen;
    return 0;
}
