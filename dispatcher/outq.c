/*
 * The per-client outgoing queue with waveform dropping and gap markers (see outq.h).
 */
#include "outq.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>

outq_buf_t *outq_buf_new(const void *payload, size_t len)
{
    outq_buf_t *b = malloc(sizeof *b + OUTQ_PRE + len);
    if (!b)
        return NULL;
    b->refs = 1;
    b->len = len;
    if (payload)
        memcpy(b->data + OUTQ_PRE, payload, len);
    return b;
}

outq_buf_t *outq_buf_ref(outq_buf_t *b)
{
    b->refs++;
    return b;
}

void outq_buf_unref(outq_buf_t *b)
{
    if (b && --b->refs == 0)
        free(b);
}

void outq_init(outq_t *q, size_t text_max, size_t wave_max)
{
    memset(q, 0, sizeof *q);
    q->text_max = text_max;
    q->wave_max = wave_max ? wave_max : 1;
}

static void item_free(outq_t *q, outq_item_t *it)
{
    if (it->kind == OUTQ_TEXT)
        q->texts--;
    else if (it->kind == OUTQ_WAVE)
        q->waves--;
    else
        q->gaps--;
    if (it->buf) {
        q->bytes -= it->buf->len;
        outq_buf_unref(it->buf);
    }
    free(it);
}

void outq_clear(outq_t *q)
{
    while (q->head) {
        outq_item_t *it = q->head;
        q->head = it->next;
        item_free(q, it);
    }
    q->tail = NULL;
}

static outq_item_t *append(outq_t *q, outq_kind_t kind, outq_buf_t *b)
{
    outq_item_t *it = calloc(1, sizeof *it);
    if (!it)
        return NULL;
    it->kind = kind;
    it->buf = outq_buf_ref(b);
    q->bytes += b->len;
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    return it;
}

int outq_push_text(outq_t *q, outq_buf_t *b)
{
    if (q->texts >= q->text_max)
        return GL_ENOSPC;
    if (!append(q, OUTQ_TEXT, b))
        return GL_ENOMEM;
    q->texts++;
    return 0;
}

/*
 * Turns the oldest queued frame into a gap marker, or adds its samples to an earlier marker of
 * the same stream that ends where the frame starts: a client that stays behind for a minute gets
 * one marker per patient, not six hundred.
 */
static void drop_oldest_wave(outq_t *q)
{
    outq_item_t *prev = NULL, *it = q->head;
    for (; it && it->kind != OUTQ_WAVE; prev = it, it = it->next)
        ;
    if (!it)
        return;
    outq_item_t *gap = NULL; /* a marker of the same stream that this frame directly continues */
    for (outq_item_t *g = q->head; g != it; g = g->next)
        if (g->kind == OUTQ_GAP && !strcmp(g->wave.incident, it->wave.incident) &&
            !strcmp(g->wave.vehicle, it->wave.vehicle) &&
            g->wave.first_index + g->wave.samples == it->wave.first_index)
            gap = g;
    q->count.frames_dropped++;
    q->bytes -= it->buf->len;
    outq_buf_unref(it->buf);
    it->buf = NULL;
    q->waves--;
    if (gap) {
        gap->wave.samples += it->wave.samples;
        /* unlink the frame: its samples are in the earlier marker now */
        if (prev)
            prev->next = it->next;
        else
            q->head = it->next;
        if (q->tail == it)
            q->tail = prev;
        free(it);
        return;
    }
    it->kind = OUTQ_GAP;
    q->gaps++;
}

int outq_push_wave(outq_t *q, outq_buf_t *b, const outq_wave_id_t *id)
{
    while (q->waves >= q->wave_max)
        drop_oldest_wave(q);
    outq_item_t *it = append(q, OUTQ_WAVE, b);
    if (!it)
        return GL_ENOMEM;
    it->wave = *id;
    q->waves++;
    return 0;
}

size_t outq_drop_stream(outq_t *q, const char *incident)
{
    size_t n = 0;
    outq_item_t *prev = NULL, *it = q->head;
    while (it) {
        outq_item_t *next = it->next;
        if (it->kind != OUTQ_TEXT && !strcmp(it->wave.incident, incident)) {
            if (prev)
                prev->next = next;
            else
                q->head = next;
            if (q->tail == it)
                q->tail = prev;
            if (it->kind == OUTQ_WAVE)
                q->count.frames_dropped++;
            item_free(q, it);
            n++;
        } else {
            prev = it;
        }
        it = next;
    }
    return n;
}

void outq_pop(outq_t *q)
{
    outq_item_t *it = q->head;
    if (!it)
        return;
    if (it->kind == OUTQ_TEXT)
        q->count.texts_sent++;
    else if (it->kind == OUTQ_WAVE)
        q->count.frames_sent++;
    else
        q->count.gaps_sent++;
    q->head = it->next;
    if (!q->head)
        q->tail = NULL;
    item_free(q, it);
}
