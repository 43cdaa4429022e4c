/*
 * Sets of incident ids (see idlist.h).
 */
#include "idlist.h"

#include "err.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>

void idlist_init(idlist_t *l, size_t max)
{
    memset(l, 0, sizeof *l);
    l->max = max;
}

void idlist_free(idlist_t *l)
{
    free(l->a);
    l->a = NULL;
    l->n = l->cap = 0;
}

int idlist_find(const idlist_t *l, const char *id)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->a[i], id))
            return (int)i;
    return -1;
}

int idlist_add(idlist_t *l, const char *id)
{
    if (l->n == l->cap) {
        if (l->cap >= l->max)
            return GL_ENOSPC;
        size_t cap = l->cap ? l->cap * 2 : 16;
        if (cap > l->max)
            cap = l->max;
        char(*na)[IDLIST_ID_LEN] = realloc(l->a, cap * sizeof *na);
        if (!na)
            return GL_ENOMEM;
        l->a = na;
        l->cap = cap;
    }
    gl_utf8_copy(l->a[l->n++], IDLIST_ID_LEN, id);
    return 0;
}

void idlist_remove_at(idlist_t *l, int i)
{
    if (i < 0 || (size_t)i >= l->n)
        return;
    if ((size_t)i != l->n - 1)
        memcpy(l->a[i], l->a[l->n - 1], IDLIST_ID_LEN);
    l->n--;
}

void idlist_remove(idlist_t *l, const char *id)
{
    idlist_remove_at(l, idlist_find(l, id));
}
