/*
 * The bounded queue of unacknowledged uplink envelopes (see uplink_queue.h). A plain array kept
 * in seq order: acknowledgements remove a prefix and the drop policy may remove one entry from
 * the middle, both with memmove. The bound is a few hundred entries per unit, so linear work is
 * cheaper than any cleverer structure.
 */
#include "uplink_queue.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>

int uplink_queue_init(uplink_queue_t *q, size_t cap)
{
    if (cap == 0)
        return GL_EINVAL;
    q->e = calloc(cap, sizeof *q->e);
    if (!q->e)
        return GL_ENOMEM;
    q->count = 0;
    q->cap = cap;
    return 0;
}

void uplink_queue_close(uplink_queue_t *q)
{
    for (size_t i = 0; i < q->count; i++)
        free(q->e[i]);
    free(q->e);
    q->e = NULL;
    q->count = q->cap = 0;
}

static void remove_at(uplink_queue_t *q, size_t i)
{
    free(q->e[i]);
    memmove(&q->e[i], &q->e[i + 1], (q->count - i - 1) * sizeof *q->e);
    q->count--;
}

/* The entry the drop policy gives up: the oldest GPS fix, ECG frame, vitals, else the oldest. */
static size_t victim(const uplink_queue_t *q)
{
    static const uplink_kind_t order[] = {UPLINK_KIND_GPS, UPLINK_KIND_ECG, UPLINK_KIND_VITALS};
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
        for (size_t i = 0; i < q->count; i++)
            if (q->e[i]->kind == order[k])
                return i;
    return 0;
}

int uplink_queue_push(uplink_queue_t *q, uint64_t seq, int64_t sent_at_ms, int64_t now_ms,
                      uplink_kind_t kind, const void *buf, size_t len, uint64_t *dropped_seq,
                      uplink_entry_t **out)
{
    if (q->count > 0 && seq <= q->e[q->count - 1]->seq)
        return GL_EINVAL;
    uplink_entry_t *m = malloc(sizeof *m + len);
    if (!m)
        return GL_ENOMEM;
    m->seq = seq;
    m->sent_at_ms = sent_at_ms;
    m->last_tx_ms = now_ms;
    m->tx_count = 1;
    m->kind = kind;
    m->len = len;
    memcpy(m->data, buf, len);
    int dropped = 0;
    if (q->count == q->cap) {
        size_t v = victim(q);
        if (dropped_seq)
            *dropped_seq = q->e[v]->seq;
        remove_at(q, v);
        dropped = 1;
    }
    q->e[q->count++] = m;
    if (out)
        *out = m;
    return dropped;
}

size_t uplink_queue_ack(uplink_queue_t *q, uint64_t up_to_seq)
{
    size_t n = 0;
    while (n < q->count && q->e[n]->seq <= up_to_seq)
        free(q->e[n++]);
    memmove(q->e, q->e + n, (q->count - n) * sizeof *q->e);
    q->count -= n;
    return n;
}

size_t uplink_queue_count(const uplink_queue_t *q)
{
    return q->count;
}

uplink_entry_t *uplink_queue_at(const uplink_queue_t *q, size_t i)
{
    return i < q->count ? q->e[i] : NULL;
}
