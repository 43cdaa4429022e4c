/*
 * The closure table (see closures.h): a small array in creation order. A county has a handful
 * of closures at a time, so every lookup is a linear scan; an arc test is a binary search in
 * the closure's sorted arcs.
 */
#include "closures.h"

#include "err.h"
#include "text.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct closures {
    closure_t *items;
    size_t n, cap;
    uint64_t generation;
};

closures_t *closures_new(void)
{
    return calloc(1, sizeof(closures_t));
}

static void clear_item(closure_t *c)
{
    free(c->arcs);
    free(c->selector);
}

void closures_free(closures_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        clear_item(&t->items[i]);
    free(t->items);
    free(t);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static closure_t *find(const closures_t *t, const char *id)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->items[i].id, id))
            return &t->items[i];
    return NULL;
}

int closures_set(closures_t *t, const closure_t *c)
{
    if (!t || !c || !c->id[0] || !c->arcs || c->narcs == 0 ||
        !(c->factor == 0 || (c->factor > 1 && c->factor <= CLOSURE_MAX_FACTOR)))
        return GL_EINVAL;
    closure_t copy = *c;
    copy.arcs = malloc(c->narcs * sizeof *copy.arcs);
    copy.selector = c->selector ? strdup(c->selector) : NULL;
    if (!copy.arcs || (c->selector && !copy.selector)) {
        clear_item(&copy);
        return GL_ENOMEM;
    }
    memcpy(copy.arcs, c->arcs, c->narcs * sizeof *copy.arcs);
    qsort(copy.arcs, c->narcs, sizeof *copy.arcs, cmp_u32);
    size_t k = 0;
    for (size_t i = 0; i < c->narcs; i++)
        if (k == 0 || copy.arcs[k - 1] != copy.arcs[i])
            copy.arcs[k++] = copy.arcs[i];
    copy.narcs = k;
    gl_utf8_copy(copy.reason, sizeof copy.reason, c->reason);
    gl_utf8_copy(copy.created_by, sizeof copy.created_by, c->created_by);
    closure_t *old = find(t, c->id);
    if (old) {
        clear_item(old);
        *old = copy;
    } else {
        if (t->n == t->cap) {
            size_t ncap = t->cap ? t->cap * 2 : 8;
            closure_t *ni = realloc(t->items, ncap * sizeof *ni);
            if (!ni) {
                clear_item(&copy);
                return GL_ENOMEM;
            }
            t->items = ni;
            t->cap = ncap;
        }
        t->items[t->n++] = copy;
    }
    t->generation++;
    return 0;
}

static void remove_at(closures_t *t, size_t i)
{
    clear_item(&t->items[i]);
    memmove(&t->items[i], &t->items[i + 1], (t->n - i - 1) * sizeof t->items[0]);
    t->n--;
    t->generation++;
}

int closures_remove(closures_t *t, const char *id)
{
    closure_t *c = id ? find(t, id) : NULL;
    if (!c)
        return GL_ENOENT;
    remove_at(t, (size_t)(c - t->items));
    return 0;
}

size_t closures_expire(closures_t *t, int64_t now_ms)
{
    size_t dropped = 0;
    for (size_t i = 0; i < t->n;) {
        if (t->items[i].expires_ms && t->items[i].expires_ms <= now_ms) {
            remove_at(t, i);
            dropped++;
        } else {
            i++;
        }
    }
    return dropped;
}

int64_t closures_next_expiry(const closures_t *t)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < t->n; i++)
        if (t->items[i].expires_ms && t->items[i].expires_ms < next)
            next = t->items[i].expires_ms;
    return next;
}

size_t closures_count(const closures_t *t)
{
    return t ? t->n : 0;
}

const closure_t *closures_at(const closures_t *t, size_t i)
{
    return t && i < t->n ? &t->items[i] : NULL;
}

const closure_t *closures_find(const closures_t *t, const char *id)
{
    return t && id ? find(t, id) : NULL;
}

uint64_t closures_generation(const closures_t *t)
{
    return t->generation;
}

size_t closures_factors(const closures_t *t, double *factor, uint32_t n_arcs)
{
    for (uint32_t a = 0; a < n_arcs; a++)
        factor[a] = 1.0;
    size_t affected = 0;
    for (size_t i = 0; i < t->n; i++) {
        const closure_t *c = &t->items[i];
        for (size_t k = 0; k < c->narcs; k++) {
            uint32_t a = c->arcs[k];
            if (a >= n_arcs)
                continue;
            if (factor[a] == 1.0)
                affected++;
            if (c->factor == 0 || factor[a] == 0)
                factor[a] = 0;
            else if (c->factor > factor[a])
                factor[a] = c->factor;
        }
    }
    return affected;
}

int closures_covers(const closure_t *c, uint32_t arc)
{
    return bsearch(&arc, c->arcs, c->narcs, sizeof arc, cmp_u32) != NULL;
}

void closures_new_id(const closures_t *t, int64_t now_ms, char id[CLOSURE_ID_LEN])
{
    for (int64_t n = now_ms;; n++) {
        snprintf(id, CLOSURE_ID_LEN, "RC%" PRId64, n);
        if (!find(t, id))
            return;
    }
}
