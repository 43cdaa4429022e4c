/*
 * Fleet storage, lookup by id, live positions and the vehicle status transition table.
 */
#include "fleet.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK 256 /* vehicles are allocated in chunks so that pointers stay valid as it grows */

struct fleet {
    vehicle_t **chunks;
    size_t nchunks, count;
    uint32_t *table; /* open addressing: slot + 1, 0 = empty */
    size_t table_size;
    geo_index_t *index;
};

const char *vehicle_status_name(vehicle_status_t st)
{
    switch (st) {
#define XX(name, value, text)                                                                     \
    case VEHICLE_STATUS_##name:                                                                   \
        return text;
        VEHICLE_STATUS_MAP(XX)
#undef XX
    default:
        return "unknown";
    }
}

int vehicle_status_parse(const char *text, vehicle_status_t *out)
{
#define XX(name, value, t)                                                                        \
    if (strcmp(text, t) == 0) {                                                                   \
        *out = VEHICLE_STATUS_##name;                                                             \
        return 0;                                                                                 \
    }
    VEHICLE_STATUS_MAP(XX)
#undef XX
    return GL_EINVAL;
}

int vehicle_status_transition_ok(vehicle_status_t from, vehicle_status_t to)
{
    if (to == VEHICLE_STATUS_OUT_OF_SERVICE)
        return from != VEHICLE_STATUS_UNKNOWN; /* the crew can always stand down */
    switch (from) {
    case VEHICLE_STATUS_AVAILABLE:
        return to == VEHICLE_STATUS_DISPATCHED;
    case VEHICLE_STATUS_DISPATCHED:
        /* crews forget the "en route" button: arriving straight from dispatched is accepted */
        return to == VEHICLE_STATUS_EN_ROUTE || to == VEHICLE_STATUS_ON_SCENE ||
               to == VEHICLE_STATUS_RETURNING || to == VEHICLE_STATUS_AVAILABLE;
    case VEHICLE_STATUS_EN_ROUTE:
        return to == VEHICLE_STATUS_ON_SCENE || to == VEHICLE_STATUS_RETURNING ||
               to == VEHICLE_STATUS_AVAILABLE;
    case VEHICLE_STATUS_ON_SCENE:
        return to == VEHICLE_STATUS_TRANSPORTING || to == VEHICLE_STATUS_RETURNING ||
               to == VEHICLE_STATUS_AVAILABLE;
    case VEHICLE_STATUS_TRANSPORTING:
        return to == VEHICLE_STATUS_AT_HOSPITAL;
    case VEHICLE_STATUS_AT_HOSPITAL:
        return to == VEHICLE_STATUS_RETURNING || to == VEHICLE_STATUS_AVAILABLE;
    case VEHICLE_STATUS_RETURNING:
        return to == VEHICLE_STATUS_AVAILABLE || to == VEHICLE_STATUS_DISPATCHED;
    case VEHICLE_STATUS_OUT_OF_SERVICE:
        return to == VEHICLE_STATUS_AVAILABLE;
    default:
        return 0;
    }
}

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

fleet_t *fleet_new(void)
{
    fleet_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->table_size = 1024;
    f->table = calloc(f->table_size, sizeof *f->table);
    f->index = geo_index_new(0);
    if (!f->table || !f->index) {
        fleet_free(f);
        return NULL;
    }
    return f;
}

void fleet_free(fleet_t *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nchunks; i++)
        free(f->chunks[i]);
    free(f->chunks);
    free(f->table);
    geo_index_free(f->index);
    free(f);
}

vehicle_t *fleet_at(const fleet_t *f, uint32_t slot)
{
    if (slot >= f->count)
        return NULL;
    return &f->chunks[slot / CHUNK][slot % CHUNK];
}

size_t fleet_count(const fleet_t *f)
{
    return f->count;
}

vehicle_t *fleet_find(const fleet_t *f, const char *id)
{
    size_t mask = f->table_size - 1;
    for (size_t i = hash_id(id) & mask;; i = (i + 1) & mask) {
        uint32_t e = f->table[i];
        if (e == 0)
            return NULL;
        vehicle_t *v = fleet_at(f, e - 1);
        if (strcmp(v->id, id) == 0)
            return v;
    }
}

static void table_insert(uint32_t *table, size_t size, const char *id, uint32_t slot)
{
    size_t mask = size - 1;
    size_t i = hash_id(id) & mask;
    while (table[i])
        i = (i + 1) & mask;
    table[i] = slot + 1;
}

static int grow_table(fleet_t *f)
{
    size_t size = f->table_size * 2;
    uint32_t *t = calloc(size, sizeof *t);
    if (!t)
        return GL_ENOMEM;
    for (uint32_t s = 0; s < f->count; s++)
        table_insert(t, size, fleet_at(f, s)->id, s);
    free(f->table);
    f->table = t;
    f->table_size = size;
    return 0;
}

int fleet_add(fleet_t *f, const vehicle_t *tmpl, vehicle_t **out)
{
    if (!tmpl->id[0])
        return GL_EINVAL;
    if (fleet_find(f, tmpl->id))
        return GL_EEXIST;
    if ((f->count + 1) * 2 > f->table_size && grow_table(f))
        return GL_ENOMEM;
    if (f->count == f->nchunks * CHUNK) {
        vehicle_t **chunks = realloc(f->chunks, (f->nchunks + 1) * sizeof *chunks);
        if (!chunks)
            return GL_ENOMEM;
        f->chunks = chunks;
        if (!(f->chunks[f->nchunks] = calloc(CHUNK, sizeof(vehicle_t))))
            return GL_ENOMEM;
        f->nchunks++;
    }
    uint32_t slot = (uint32_t)f->count;
    vehicle_t *v = &f->chunks[slot / CHUNK][slot % CHUNK];
    *v = *tmpl;
    v->slot = slot;
    f->count++;
    table_insert(f->table, f->table_size, v->id, slot);
    if (v->has_fix)
        geo_index_update(f->index, slot, v->lat, v->lon);
    if (out)
        *out = v;
    return 0;
}

int fleet_set_position(fleet_t *f, vehicle_t *v, double lat, double lon, int64_t fix_at_ms,
                       int64_t rx_ms, float speed_mps, float heading_deg)
{
    int rc = geo_index_update(f->index, v->slot, lat, lon);
    if (rc < 0)
        return rc;
    v->has_fix = 1;
    v->lat = lat;
    v->lon = lon;
    v->fix_at_ms = fix_at_ms;
    v->fix_rx_ms = rx_ms;
    v->speed_mps = speed_mps;
    v->heading_deg = heading_deg;
    return 0;
}

int fleet_is_stale(const vehicle_t *v, int64_t now_ms, int64_t stale_ms)
{
    return !v->has_fix || v->fix_rx_ms == 0 || now_ms - v->fix_rx_ms > stale_ms;
}

int vehicle_has_cap(const vehicle_t *v, const char *cap)
{
    for (int i = 0; i < v->ncaps; i++)
        if (strcmp(v->caps[i], cap) == 0)
            return 1;
    return 0;
}

const geo_index_t *fleet_index(const fleet_t *f)
{
    return f->index;
}

/* ---- processed uplink seqs (see fleet.h) ------------------------------------------------- */

static int bit_get(const vehicle_t *v, uint64_t seq)
{
    uint64_t i = seq % VEHICLE_SEQ_WINDOW;
    return (int)((v->seen[i / 64] >> (i % 64)) & 1u);
}

static void bit_set(vehicle_t *v, uint64_t seq, int on)
{
    uint64_t i = seq % VEHICLE_SEQ_WINDOW;
    if (on)
        v->seen[i / 64] |= 1ULL << (i % 64);
    else
        v->seen[i / 64] &= ~(1ULL << (i % 64));
}

int vehicle_seq_seen(const vehicle_t *v, uint64_t seq)
{
    if (seq <= v->uplink_seq)
        return 1;
    return seq - v->uplink_seq <= VEHICLE_SEQ_WINDOW && bit_get(v, seq);
}

int vehicle_seq_fits(const vehicle_t *v, uint64_t seq)
{
    return v->uplink_seq == 0 || seq - v->uplink_seq <= VEHICLE_SEQ_WINDOW ||
           seq - v->uplink_seq > VEHICLE_SEQ_JUMP;
}

void vehicle_seq_raise(vehicle_t *v, uint64_t seq)
{
    if (seq <= v->uplink_seq)
        return;
    if (seq - v->uplink_seq >= VEHICLE_SEQ_WINDOW) {
        memset(v->seen, 0, sizeof v->seen);
        v->uplink_seq = seq;
    } else {
        while (v->uplink_seq < seq)
            bit_set(v, ++v->uplink_seq, 0);
    }
    while (bit_get(v, v->uplink_seq + 1)) { /* seqs seen above it are contiguous now */
        bit_set(v, v->uplink_seq + 1, 0);
        v->uplink_seq++;
    }
}

void vehicle_seq_mark(vehicle_t *v, uint64_t seq)
{
    if (seq <= v->uplink_seq)
        return;
    if (v->uplink_seq == 0 || seq - v->uplink_seq > VEHICLE_SEQ_JUMP) {
        /* the unit's first message, or it restarted without its spool: start from here */
        memset(v->seen, 0, sizeof v->seen);
        v->uplink_seq = seq - 1;
    }
    if (seq - v->uplink_seq > VEHICLE_SEQ_WINDOW)
        return; /* cannot be recorded: the caller deferred it (vehicle_seq_fits) */
    bit_set(v, seq, 1);
    while (bit_get(v, v->uplink_seq + 1)) {
        bit_set(v, v->uplink_seq + 1, 0);
        v->uplink_seq++;
    }
}
