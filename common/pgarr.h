/*
 * One-dimensional PostgreSQL arrays in the binary wire format, for batch parameters.
 *
 * The dispatcher stores its batches (positions, vital signs, ECG frames) as one INSERT ...
 * SELECT FROM unnest($1::text[], $2::bigint[], ...) per table. Sent as text, every number went
 * through printf and every ECG frame through hex digits, megabytes a second built on the event
 * loop and parsed again by the server; in binary an element is its big-endian bytes, and a frame
 * is copied as it is. Format (PostgreSQL's array_send/array_recv): int32 ndim, int32 has-null
 * flag, uint32 element type OID, then per dimension int32 length and int32 lower bound, then per
 * element int32 byte length (-1 for NULL) and the element's binary form.
 *
 * The element type must be the one the statement casts the parameter to (e.g. PGARR_INT8 for
 * $2::bigint[]): the server refuses an array of another element type.
 *
 *     pgarr_t a;
 *     pgarr_init(&a, PGARR_INT8);
 *     pgarr_int8(&a, 42);
 *     ... params[1] = pgarr_finish(&a, &lengths[1]); formats[1] = 1;
 *     ... (send) ... pgarr_free(&a);
 */
#ifndef GL_PGARR_H
#define GL_PGARR_H

#include <stddef.h>
#include <stdint.h>

/* Element type OIDs (pg_type.h), fixed since PostgreSQL's first releases. */
enum {
    PGARR_BOOL = 16,
    PGARR_BYTEA = 17,
    PGARR_INT8 = 20,
    PGARR_INT2 = 21,
    PGARR_INT4 = 23,
    PGARR_TEXT = 25,
    PGARR_FLOAT4 = 700,
    PGARR_FLOAT8 = 701,
};

typedef struct pgarr {
    unsigned char *buf;
    size_t len, cap;
    uint32_t n;        /* elements so far */
    uint32_t oid;
    int has_null;
    int oom;           /* an allocation failed: pgarr_finish returns NULL */
} pgarr_t;

void pgarr_init(pgarr_t *a, uint32_t elem_oid);
void pgarr_free(pgarr_t *a);

/* Empties the array for reuse, keeping its buffer (a batch a fifth of a second reuses the same
 * few hundred kilobytes instead of growing and faulting in new ones every time). */
void pgarr_reset(pgarr_t *a, uint32_t elem_oid);

/* Appending: the caller uses the function of the array's element type. */
void pgarr_null(pgarr_t *a);
void pgarr_bool(pgarr_t *a, int v);
void pgarr_int2(pgarr_t *a, int16_t v);
void pgarr_int4(pgarr_t *a, int32_t v);
void pgarr_int8(pgarr_t *a, int64_t v);
void pgarr_float4(pgarr_t *a, float v); /* NaN and infinities are stored as NULL */
void pgarr_float8(pgarr_t *a, double v); /* likewise */
void pgarr_text(pgarr_t *a, const char *s); /* NULL is SQL NULL; UTF-8, no NUL inside */
void pgarr_bytes(pgarr_t *a, const void *p, size_t n); /* a bytea element */

/*
 * Writes the header and returns the array's bytes (valid until pgarr_free) with their count in
 * *len, or NULL after an allocation failure or an array over 1 GB (PostgreSQL's limit).
 */
const char *pgarr_finish(pgarr_t *a, int *len);

#endif
