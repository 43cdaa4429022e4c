/*
 * Binary PostgreSQL arrays (see pgarr.h).
 */
#include "pgarr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ndim, flags, element OID, length, lower bound: room is kept for them at the front. */
#define HEADER 20
#define MAX_BYTES (1u << 30)

void pgarr_init(pgarr_t *a, uint32_t elem_oid)
{
    memset(a, 0, sizeof *a);
    a->oid = elem_oid;
    a->len = HEADER;
}

void pgarr_free(pgarr_t *a)
{
    free(a->buf);
    memset(a, 0, sizeof *a);
}

void pgarr_reset(pgarr_t *a, uint32_t elem_oid)
{
    a->len = HEADER;
    a->n = 0;
    a->oid = elem_oid;
    a->has_null = 0;
    a->oom = 0;
}

static unsigned char *room(pgarr_t *a, size_t n)
{
    if (a->oom)
        return NULL;
    if (a->len + n > a->cap) {
        size_t cap = a->cap ? a->cap : 256;
        while (cap < a->len + n)
            cap *= 2;
        unsigned char *nb = realloc(a->buf, cap);
        if (!nb) {
            a->oom = 1;
            return NULL;
        }
        a->buf = nb;
        a->cap = cap;
    }
    unsigned char *p = a->buf + a->len;
    a->len += n;
    return p;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

/* One element: its length word, then `n` bytes that the caller fills at the returned pointer. */
static unsigned char *element(pgarr_t *a, size_t n)
{
    unsigned char *p = room(a, 4 + n);
    if (!p)
        return NULL;
    put32(p, (uint32_t)n);
    a->n++;
    return p + 4;
}

void pgarr_null(pgarr_t *a)
{
    unsigned char *p = room(a, 4);
    if (!p)
        return;
    put32(p, 0xffffffffu); /* -1 */
    a->n++;
    a->has_null = 1;
}

void pgarr_bool(pgarr_t *a, int v)
{
    unsigned char *p = element(a, 1);
    if (p)
        *p = v ? 1 : 0;
}

void pgarr_int2(pgarr_t *a, int16_t v)
{
    unsigned char *p = element(a, 2);
    if (p) {
        p[0] = (unsigned char)((uint16_t)v >> 8);
        p[1] = (unsigned char)v;
    }
}

void pgarr_int4(pgarr_t *a, int32_t v)
{
    unsigned char *p = element(a, 4);
    if (p)
        put32(p, (uint32_t)v);
}

void pgarr_int8(pgarr_t *a, int64_t v)
{
    unsigned char *p = element(a, 8);
    if (p)
        put64(p, (uint64_t)v);
}

void pgarr_float4(pgarr_t *a, float v)
{
    if (!isfinite(v)) {
        pgarr_null(a);
        return;
    }
    uint32_t bits;
    memcpy(&bits, &v, 4);
    unsigned char *p = element(a, 4);
    if (p)
        put32(p, bits);
}

void pgarr_float8(pgarr_t *a, double v)
{
    if (!isfinite(v)) {
        pgarr_null(a);
        return;
    }
    uint64_t bits;
    memcpy(&bits, &v, 8);
    unsigned char *p = element(a, 8);
    if (p)
        put64(p, bits);
}

void pgarr_bytes(pgarr_t *a, const void *src, size_t n)
{
    if (n >= MAX_BYTES) {
        a->oom = 1;
        return;
    }
    unsigned char *p = element(a, n);
    if (p && n)
        memcpy(p, src, n);
}

void pgarr_text(pgarr_t *a, const char *s)
{
    if (!s)
        pgarr_null(a);
    else
        pgarr_bytes(a, s, strlen(s));
}

const char *pgarr_finish(pgarr_t *a, int *len)
{
    /* room() also makes the buffer of an array without elements (len is HEADER from init). */
    if (!room(a, 0) || a->len >= MAX_BYTES)
        return NULL;
    if (a->n == 0) {
        /* An empty array has no dimensions: ndim 0, no length and lower bound. */
        unsigned char *h = a->buf + 8;
        put32(h, 0);
        put32(h + 4, 0);
        put32(h + 8, a->oid);
        *len = 12;
        return (const char *)h;
    }
    unsigned char *h = a->buf;
    put32(h, 1);
    put32(h + 4, a->has_null ? 1 : 0);
    put32(h + 8, a->oid);
    put32(h + 12, a->n);
    put32(h + 16, 1);
    *len = (int)a->len;
    return (const char *)h;
}
