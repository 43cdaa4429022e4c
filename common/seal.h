/*
 * The sealed envelope: authenticated encryption of every uplink and downlink message with the
 * vehicle's own 32-byte key (libsodium XChaCha20-Poly1305-IETF), so that no one without the key
 * can speak for a unit, read what it says, or give it orders (a nanomsg topic is no access
 * control: any subscriber can subscribe to every topic).
 *
 * Byte layout of a sealed message (all of it is one nanomsg message):
 *
 *   downlink only:  topic     "<vehicle_id>\0"  (routing for NN_SUB; checked equal to the id below)
 *   offset 0        magic     0x47 ('G')   an invalid protobuf tag (field 8, wire type 7), so a
 *                                          receiver tells sealed from plain envelopes by byte 0
 *          1        version   0x01
 *          2        direction 0x01 uplink (unit -> dispatcher), 0x02 downlink
 *          3        id_len    1..SEAL_ID_MAX
 *          4        vehicle id, id_len bytes, no NUL
 *   4+id_len        nonce     24 random bytes (randombytes_buf; random nonces are safe with
 *                             XChaCha20's 192-bit nonce)
 *   28+id_len       ciphertext of the packed protobuf Uplink / Downlink envelope, followed by the
 *                             16-byte Poly1305 tag
 *
 * The associated data is the header, bytes 0 .. 4+id_len (magic, version, direction, id_len and
 * the id): the id travels in clear so the receiver can look up the key before decrypting
 * (seal_peek), and a flipped bit in it, in the direction (a downlink reflected back as an
 * uplink), in the nonce or in the ciphertext makes seal_open fail with GL_EACCES.
 *
 * Replay: a sealed envelope recorded and sent again opens fine, byte for byte. Replay protection
 * is the receiver's seq check, which lives outside this module: the dispatcher accepts an uplink
 * only with a seq above the last it accepted from that vehicle, and the unit hands on a downlink
 * Assignment/Cancel once per seq (vehicle/unit_session.c). The seq is inside the ciphertext, so
 * it cannot be changed without the key.
 *
 * Keys: seal_key_generate() draws one; key files hold it as 64 hex digits (plus an optional
 * newline) or as 32 raw bytes, and must be regular files of mode 0600 or stricter (nothing for
 * group or others): seal_key_read_file() refuses anything else with a one-line reason.
 */
#ifndef GL_SEAL_H
#define GL_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_KEY_BYTES 32
#define SEAL_NONCE_BYTES 24
#define SEAL_TAG_BYTES 16
#define SEAL_ID_MAX 31      /* vehicle id bytes at most (the unit's UNIT_ID_MAX - 1) */
#define SEAL_MAGIC 0x47
#define SEAL_VERSION 1
#define SEAL_KEY_HEX_LEN (2 * SEAL_KEY_BYTES)

typedef enum seal_dir { SEAL_UPLINK = 1, SEAL_DOWNLINK = 2 } seal_dir_t;

typedef enum seal_key_format { SEAL_KEY_HEX, SEAL_KEY_RAW } seal_key_format_t;

typedef struct seal_key {
    unsigned char k[SEAL_KEY_BYTES];
} seal_key_t;

/*
 * Initialises libsodium (idempotent, thread-safe). The other functions call it themselves; a
 * program may call it early to fail fast. Returns 0 or GL_EIO.
 */
int seal_init(void);

/* Fills *key with 32 random bytes. Returns 0 or GL_EIO (libsodium could not initialise). */
int seal_key_generate(seal_key_t *key);

/* Writes the key as 64 lower-case hex digits and a NUL into hex (at least 65 bytes). */
void seal_key_to_hex(const seal_key_t *key, char *hex);

/*
 * Parses exactly 64 hex digits (either case; nothing else, except trailing whitespace) into
 * *key. Returns 0 or GL_EPROTO.
 */
int seal_key_from_hex(const char *hex, seal_key_t *key);

/*
 * Creates the key file `path` (it must not exist: GL_EEXIST, so a provisioned key is never
 * overwritten by mistake) with mode 0600 whatever the umask, writes the key in `fmt` and
 * fsyncs it. On failure nothing is left behind. Returns 0, GL_EEXIST, GL_EACCES, GL_ENOENT or
 * GL_EIO, with a one-line reason in why (may be NULL, why_len bytes).
 */
int seal_key_write_file(const char *path, const seal_key_t *key, seal_key_format_t fmt,
                        char *why, size_t why_len);

/*
 * Reads the key file `path`: 32 raw bytes, or 64 hex digits followed by optional whitespace.
 * Returns 0 and *key, or an error with a one-line reason in why (may be NULL):
 *   GL_ENOENT  no such file;
 *   GL_EACCES  not a regular file, or readable/writable/executable by group or others (the
 *              reason gives the mode: "chmod 600" it), or not readable by us;
 *   GL_EPROTO  neither 32 raw bytes nor 64 hex digits;
 *   GL_EIO     a read error.
 */
int seal_key_read_file(const char *path, seal_key_t *key, char *why, size_t why_len);

/* Bytes a sealed message adds to a plain envelope of vehicle `id_len` bytes (topic included). */
size_t seal_overhead(seal_dir_t dir, size_t id_len);

/*
 * Seals the packed envelope `plain` (plain_len bytes) of vehicle `vehicle_id` (1..SEAL_ID_MAX
 * bytes) with `key` into out (cap bytes; plain_len + seal_overhead() are needed). For
 * SEAL_DOWNLINK the output starts with the topic "<vehicle_id>\0" and is the whole nanomsg
 * message to publish. A fresh random nonce is drawn every call. Returns 0 and *out_len,
 * GL_EINVAL (bad id or direction), GL_ENOSPC (cap too small) or GL_EIO (libsodium).
 */
int seal_seal(const seal_key_t *key, seal_dir_t dir, const char *vehicle_id, const void *plain,
              size_t plain_len, void *out, size_t cap, size_t *out_len);

/* Returns 1 when `buf` looks like a sealed message of direction `dir` (topic skipped for a
 * downlink), 0 for anything else (a plain envelope starts with a valid protobuf tag). */
int seal_is_sealed(seal_dir_t dir, const void *buf, size_t len);

/*
 * Reads the vehicle id of a sealed message without decrypting it, so the receiver can look up
 * the key: copies it NUL-terminated into id (at least SEAL_ID_MAX + 1 bytes). For a downlink
 * the topic must equal the header's id. Returns 0, or GL_EPROTO (not a sealed message of this
 * direction, unknown version, bad id length, a topic that differs, or too short to hold the
 * nonce and the tag).
 */
int seal_peek(seal_dir_t dir, const void *buf, size_t len, char *id);

/*
 * Opens a sealed message with `key`: checks the header as seal_peek() does, then authenticates
 * and decrypts into out (cap bytes; len - seal_overhead() are needed, never more than len).
 * Returns 0 and *out_len, GL_EPROTO (malformed, see seal_peek), GL_ENOSPC (cap too small) or
 * GL_EACCES (forged or tampered: wrong key, or any bit of header, id, nonce, ciphertext or tag
 * changed). On failure out holds nothing of the plaintext. A replayed message opens: see the
 * top of this file.
 */
int seal_open(const seal_key_t *key, seal_dir_t dir, const void *buf, size_t len, void *out,
              size_t cap, size_t *out_len);

#endif
