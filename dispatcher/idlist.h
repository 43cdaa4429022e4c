/*
 * A small unordered set of incident ids (what a screen asked for, left out or receives: see
 * ws_vitals.c), scanned rather than hashed: a session names tens of patients, not thousands.
 * It grows on demand up to a bound given at its start, so that a client cannot grow it without
 * end.
 */
#ifndef GL_IDLIST_H
#define GL_IDLIST_H

#include <stddef.h>

#define IDLIST_ID_LEN 40

typedef struct idlist {
    char (*a)[IDLIST_ID_LEN];
    size_t n, cap;
    size_t max;                 /* at most this many ids */
} idlist_t;

void idlist_init(idlist_t *l, size_t max);
void idlist_free(idlist_t *l);

/* The index of `id`, or -1. */
int idlist_find(const idlist_t *l, const char *id);

/* Adds `id` (the caller checked it is not there; a longer id is cut on a UTF-8 boundary):
 * 0, GL_ENOSPC when the list holds `max` ids, or GL_ENOMEM. */
int idlist_add(idlist_t *l, const char *id);

/* Removes the id at `i` (the last id takes its place) or `id` if there. */
void idlist_remove_at(idlist_t *l, int i);
void idlist_remove(idlist_t *l, const char *id);

#endif
