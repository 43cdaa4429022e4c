/*
 * The in-memory gazetteer (see places.h).
 */
#include "places.h"

#include "err.h"
#include "geo.h"

#include <stdlib.h>
#include <string.h>

struct places {
    place_t *items;
    size_t n, cap;
};

places_t *places_new(void)
{
    return calloc(1, sizeof(places_t));
}

void places_free(places_t *p)
{
    if (!p)
        return;
    free(p->items);
    free(p);
}

int places_add(places_t *p, const place_t *pl)
{
    if (!pl->name[0] || !geo_point_valid(pl->lat, pl->lon))
        return GL_EINVAL;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        place_t *ni = realloc(p->items, cap * sizeof *ni);
        if (!ni)
            return GL_ENOMEM;
        p->items = ni;
        p->cap = cap;
    }
    p->items[p->n++] = *pl;
    return 0;
}

size_t places_count(const places_t *p)
{
    return p ? p->n : 0;
}

const place_t *places_at(const places_t *p, size_t i)
{
    return i < p->n ? &p->items[i] : NULL;
}

/* Lower rank = more likely what a caller names: a town before the village of the same name. */
static int kind_rank(const char *kind)
{
    static const char *const order[] = {"city",    "town",     "district", "county", "suburb",
                                        "borough", "quarter",  "hospital", "station", "village",
                                        "neighbourhood", "hamlet", "isolated_dwelling", NULL};
    for (int i = 0; order[i]; i++)
        if (!strcmp(kind, order[i]))
            return i;
    return 20;
}

static void ascii_lower(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < cap; i++)
        dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char)(src[i] - 'A' + 'a') : src[i];
    dst[i] = '\0';
}

static int only_letters(const char *q)
{
    for (; *q; q++)
        if (!(*q >= 'a' && *q <= 'z'))
            return 0;
    return 1;
}

struct hit {
    const place_t *pl;
    int rank;
    size_t order;
};

static int by_rank(const void *a, const void *b)
{
    const struct hit *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank - y->rank;
    if (x->pl->population != y->pl->population)
        return x->pl->population > y->pl->population ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

size_t places_search(const places_t *p, const char *q, const place_t **out, size_t max)
{
    size_t qlen = q ? strlen(q) : 0;
    if (!p || qlen == 0 || qlen > 64 || max == 0)
        return 0;
    char lq[72], lname[sizeof p->items[0].name];
    ascii_lower(lq, sizeof lq, q);
    int letters = only_letters(lq);
    struct hit *hits = malloc(p->n * sizeof *hits);
    if (!hits)
        return 0;
    size_t nh = 0;
    for (size_t i = 0; i < p->n; i++) {
        const place_t *pl = &p->items[i];
        ascii_lower(lname, sizeof lname, pl->name);
        int by_name = strstr(lname, lq) != NULL;
        int by_initials = letters && pl->initials[0] && !strncmp(pl->initials, lq, qlen);
        if (!by_name && !by_initials)
            continue;
        /* an exact name or exact initials first, then by kind */
        int exact = !strcmp(lname, lq) || (by_initials && !pl->initials[qlen]);
        hits[nh++] = (struct hit){pl, kind_rank(pl->kind) - (exact ? 100 : 0), i};
    }
    qsort(hits, nh, sizeof *hits, by_rank);
    size_t k = nh < max ? nh : max;
    for (size_t i = 0; i < k; i++)
        out[i] = hits[i].pl;
    free(hits);
    return k;
}
