/*
 * The live-position index: a uniform latitude/longitude grid whose occupied cells live in a hash
 * table (open addressing, linear probing, backward-shift deletion), so any point on Earth fits
 * and memory follows the occupied area, not the grid's size.
 *
 * Each occupied cell holds an array of items {lat, lon, cos(lat), id}, with the coordinates in
 * radians, so a query scans coordinates sequentially and never chases per-entry pointers. Each id
 * has a record {cell key, slot in that cell's array}. A move inside the same cell rewrites one
 * item; a move to another cell appends to the new cell and swap-removes from the old one; a cell
 * left empty is freed. Everything that can fail (growing the id table, the hash table or a cell)
 * happens before anything is changed, so GL_ENOMEM leaves the index as it was.
 *
 * k-nearest scans rings of cells around the query cell. After each ring it computes a lower bound
 * on the great-circle distance of every point outside the scanned block: the latitude gap to the
 * block's top and bottom edges, and for the longitude edges the distance to the meridian at
 * longitude offset d, asin(cos(lat) sin(d)) (or 90 deg - |lat| once d >= 90 deg, the pole being
 * the nearest point of such meridians). A degree of longitude shrinks with latitude, so rings
 * are stretched in longitude by 1/cos(lat) to keep both bounds growing together. The search stops
 * when the k-th best is strictly nearer than the bound. If the next ring would probe more cells
 * than there are occupied cells (sparse data, a query near a pole, k above the count), it scans
 * all occupied cells instead, which is then cheaper and trivially correct.
 *
 * Results are kept in the caller's `out` array used as a max-heap on (haversine term, id), so
 * queries never allocate.
 */
#include "geo_index.h"
#include "err.h"
#include "geo.h"
#include "geo_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CELL_DEG 0.01 /* about 1.1 km north-south */
#define MIN_CELL_DEG 1e-5
#define MAX_CELL_DEG 90.0
#define NO_CELL UINT64_MAX
#define FIRST_CELL_CAP 4
/* Cells are found in ring search through the hash; keep it at most half full for fast misses. */
#define MIN_TABLE_CAP 64
/* Slack on the stopping bound (radians, about 0.6 mm) against rounding in cell edges. */
#define BOUND_SLACK 1e-10

struct item {
    double lat;     /* radians */
    double lon;     /* radians */
    double cos_lat; /* cos(lat), precomputed for the haversine */
    uint32_t id;    /* caller's id */
};

struct cell {
    uint64_t key;       /* row * ncols + col, NO_CELL for a free slot */
    uint32_t n;         /* items in use */
    uint32_t cap;       /* items allocated */
    struct item *items; /* n items, unordered */
};

struct entry {
    uint64_t key;  /* cell holding this id, NO_CELL when the id is not in the index */
    uint32_t slot; /* position in that cell's items */
};

struct geo_index {
    double cell_lat;    /* cell height in degrees: 180 / nrows */
    double cell_lon;    /* cell width in degrees: 360 / ncols */
    int64_t nrows;      /* rows from -90 (row 0) to +90 (the last row includes the pole) */
    int64_t ncols;      /* columns from -180 (col 0); 180 is the same column as -180 */
    struct cell *tab;   /* hash table of occupied cells */
    size_t tab_cap;     /* power of two */
    size_t ncells;      /* occupied cells */
    struct entry *ents; /* one record per id below nents */
    size_t nents;       /* records allocated (ids 0 .. nents - 1) */
    size_t count;       /* entries in the index */
};

/* ---- cells and the hash table ---------------------------------------------------------------- */

static size_t hash_key(uint64_t key, size_t cap)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 17) & (cap - 1);
}

static int64_t row_of(const geo_index_t *idx, double lat)
{
    int64_t r = (int64_t)floor((lat + 90.0) / idx->cell_lat);
    if (r < 0)
        r = 0;
    if (r >= idx->nrows)
        r = idx->nrows - 1;
    return r;
}

static int64_t col_of(const geo_index_t *idx, double lon)
{
    int64_t c = (int64_t)floor((lon + 180.0) / idx->cell_lon);
    if (c < 0)
        c = 0;
    if (c >= idx->ncols)
        c = 0; /* lon = 180 is lon = -180 */
    return c;
}

static uint64_t key_of(const geo_index_t *idx, int64_t row, int64_t col)
{
    return (uint64_t)row * (uint64_t)idx->ncols + (uint64_t)col;
}

static struct cell *cell_find(const geo_index_t *idx, uint64_t key)
{
    size_t mask = idx->tab_cap - 1;
    for (size_t i = hash_key(key, idx->tab_cap);; i = (i + 1) & mask) {
        struct cell *c = &idx->tab[i];
        if (c->key == key)
            return c;
        if (c->key == NO_CELL)
            return NULL;
    }
}

/* Slot where `key` goes (the table has a free slot: load factor <= 1/2). */
static struct cell *cell_slot(struct cell *tab, size_t cap, uint64_t key)
{
    size_t mask = cap - 1;
    size_t i = hash_key(key, cap);
    while (tab[i].key != NO_CELL && tab[i].key != key)
        i = (i + 1) & mask;
    return &tab[i];
}

static int table_resize(geo_index_t *idx, size_t cap)
{
    struct cell *tab = malloc(cap * sizeof *tab);
    if (tab == NULL)
        return GL_ENOMEM;
    for (size_t i = 0; i < cap; i++)
        tab[i].key = NO_CELL;
    for (size_t i = 0; i < idx->tab_cap; i++)
        if (idx->tab[i].key != NO_CELL)
            *cell_slot(tab, cap, idx->tab[i].key) = idx->tab[i];
    free(idx->tab);
    idx->tab = tab;
    idx->tab_cap = cap;
    return 0;
}

/* Removes the (empty) cell at `c` and closes the probe gap by shifting later cells back. */
static void cell_delete(geo_index_t *idx, struct cell *c)
{
    size_t mask = idx->tab_cap - 1;
    size_t hole = (size_t)(c - idx->tab);
    free(c->items);
    idx->tab[hole].key = NO_CELL;
    idx->ncells--;
    for (size_t i = (hole + 1) & mask; idx->tab[i].key != NO_CELL; i = (i + 1) & mask) {
        size_t home = hash_key(idx->tab[i].key, idx->tab_cap);
        /* Move it into the hole unless its home lies cyclically in (hole, i]. */
        int stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!stays) {
            idx->tab[hole] = idx->tab[i];
            idx->tab[i].key = NO_CELL;
            hole = i;
        }
    }
}

/* ---- construction ---------------------------------------------------------------------------- */

geo_index_t *geo_index_new(double cell_deg)
{
    if (cell_deg == 0.0)
        cell_deg = DEFAULT_CELL_DEG;
    if (!isfinite(cell_deg) || cell_deg < MIN_CELL_DEG || cell_deg > MAX_CELL_DEG)
        return NULL;
    geo_index_t *idx = calloc(1, sizeof *idx);
    if (idx == NULL)
        return NULL;
    /* Whole numbers of rows and columns, so the grid wraps exactly at the antimeridian. */
    idx->nrows = (int64_t)llround(180.0 / cell_deg);
    idx->ncols = (int64_t)llround(360.0 / cell_deg);
    if (idx->nrows < 1)
        idx->nrows = 1;
    idx->cell_lat = 180.0 / (double)idx->nrows;
    idx->cell_lon = 360.0 / (double)idx->ncols;
    if (table_resize(idx, MIN_TABLE_CAP) != 0) {
        free(idx);
        return NULL;
    }
    return idx;
}

void geo_index_free(geo_index_t *idx)
{
    if (idx == NULL)
        return;
    for (size_t i = 0; i < idx->tab_cap; i++)
        if (idx->tab[i].key != NO_CELL)
            free(idx->tab[i].items);
    free(idx->tab);
    free(idx->ents);
    free(idx);
}

size_t geo_index_count(const geo_index_t *idx)
{
    return idx->count;
}

/* ---- updates --------------------------------------------------------------------------------- */

static void item_set(struct item *it, uint32_t id, double lat, double lon)
{
    it->lat = lat * GEO__DEG2RAD;
    it->lon = lon * GEO__DEG2RAD;
    it->cos_lat = cos(it->lat);
    it->id = id;
}

/* Swap-removes entry `e` from its cell, freeing the cell when it becomes empty. */
static void detach(geo_index_t *idx, struct entry *e)
{
    struct cell *c = cell_find(idx, e->key);
    uint32_t last = --c->n;
    if (e->slot != last) {
        c->items[e->slot] = c->items[last];
        idx->ents[c->items[e->slot].id].slot = e->slot;
    }
    if (c->n == 0)
        cell_delete(idx, c);
    e->key = NO_CELL;
}

int geo_index_update(geo_index_t *idx, uint32_t id, double lat, double lon)
{
    if (!geo_point_valid(lat, lon))
        return GL_EINVAL;
    uint64_t key = key_of(idx, row_of(idx, lat), col_of(idx, lon));

    /* Fast path: a move inside the same cell. */
    if (id < idx->nents && idx->ents[id].key == key) {
        struct cell *c = cell_find(idx, key);
        item_set(&c->items[idx->ents[id].slot], id, lat, lon);
        return 0;
    }

    /* Reserve everything that can fail before changing anything. */
    if (id >= idx->nents) {
        size_t n = idx->nents ? idx->nents : 64;
        while (n <= id) {
            if (n > SIZE_MAX / 2 / sizeof(struct entry))
                return GL_ENOMEM;
            n *= 2;
        }
        struct entry *ents = realloc(idx->ents, n * sizeof *ents);
        if (ents == NULL)
            return GL_ENOMEM;
        for (size_t i = idx->nents; i < n; i++)
            ents[i].key = NO_CELL;
        idx->ents = ents;
        idx->nents = n;
    }
    struct cell *c = cell_find(idx, key);
    if (c == NULL) {
        if ((idx->ncells + 1) * 2 > idx->tab_cap && table_resize(idx, idx->tab_cap * 2) != 0)
            return GL_ENOMEM;
        struct item *items = malloc(FIRST_CELL_CAP * sizeof *items);
        if (items == NULL)
            return GL_ENOMEM;
        c = cell_slot(idx->tab, idx->tab_cap, key);
        c->key = key;
        c->n = 0;
        c->cap = FIRST_CELL_CAP;
        c->items = items;
        idx->ncells++;
    } else if (c->n == c->cap) {
        if (c->cap > UINT32_MAX / 2)
            return GL_ENOMEM;
        struct item *items = realloc(c->items, (size_t)c->cap * 2 * sizeof *items);
        if (items == NULL)
            return GL_ENOMEM;
        c->items = items;
        c->cap *= 2;
    }

    /* Append to the new cell first: removing from the old one may shift cells in the table. */
    struct entry *e = &idx->ents[id];
    uint64_t old = e->key;
    uint32_t slot = c->n++;
    item_set(&c->items[slot], id, lat, lon);
    if (old != NO_CELL) {
        detach(idx, e);
    } else {
        idx->count++;
    }
    e->key = key;
    e->slot = slot;
    return 0;
}

void geo_index_remove(geo_index_t *idx, uint32_t id)
{
    if (id >= idx->nents || idx->ents[id].key == NO_CELL)
        return;
    detach(idx, &idx->ents[id]);
    idx->count--;
}

/* ---- result heap ----------------------------------------------------------------------------- */

/* During a query, out[].distance_m holds the haversine term; the heap's root is the worst hit. */
static int worse(const geo_hit_t *a, const geo_hit_t *b)
{
    return a->distance_m > b->distance_m || (a->distance_m == b->distance_m && a->id > b->id);
}

static void sift_down(geo_hit_t *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && worse(&h[l], &h[w]))
            w = l;
        if (r < n && worse(&h[r], &h[w]))
            w = r;
        if (w == i)
            return;
        geo_hit_t t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

static void sift_up(geo_hit_t *h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!worse(&h[i], &h[p]))
            return;
        geo_hit_t t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

struct query {
    double lat, lon, cos_lat; /* query point, radians */
    geo_index_filter filter;
    void *ctx;
    geo_hit_t *heap; /* the caller's out */
    size_t cap;      /* heap capacity (k or max) */
    size_t n;        /* hits in the heap */
    double limit;    /* within: haversine term of the radius; nearest: 1 */
    double radius_m; /* within: the radius; nearest: unused */
    size_t total;    /* within: hits in all */
};

/* Offers one item: nearest mode keeps the k best. */
static void offer_nearest(struct query *q, const struct item *it)
{
    double a = geo__hav(q->lat, q->lon, q->cos_lat, it->lat, it->lon, it->cos_lat);
    geo_hit_t hit = {it->id, a};
    if (q->n == q->cap && !worse(&q->heap[0], &hit))
        return;
    if (q->filter != NULL && !q->filter(it->id, q->ctx))
        return;
    if (q->n < q->cap) {
        q->heap[q->n] = hit;
        sift_up(q->heap, q->n++);
    } else {
        q->heap[0] = hit;
        sift_down(q->heap, q->n, 0);
    }
}

/* Offers one item: within mode counts every hit and keeps the `cap` nearest. */
static void offer_within(struct query *q, const struct item *it)
{
    double a = geo__hav(q->lat, q->lon, q->cos_lat, it->lat, it->lon, it->cos_lat);
    if (a > q->limit * (1.0 + 1e-9) + 1e-300)
        return;
    /* Decide on metres exactly as geo_distance_m() would, near the edge included. */
    if (geo__hav_to_m(a) > q->radius_m)
        return;
    if (q->filter != NULL && !q->filter(it->id, q->ctx))
        return;
    q->total++;
    if (q->cap == 0)
        return;
    geo_hit_t hit = {it->id, a};
    if (q->n < q->cap) {
        q->heap[q->n] = hit;
        sift_up(q->heap, q->n++);
    } else if (worse(&q->heap[0], &hit)) {
        q->heap[0] = hit;
        sift_down(q->heap, q->n, 0);
    }
}

typedef void (*offer_fn)(struct query *q, const struct item *it);

static void scan_cell(const geo_index_t *idx, struct query *q, offer_fn offer, int64_t row,
                      int64_t col)
{
    const struct cell *c = cell_find(idx, key_of(idx, row, col));
    if (c == NULL)
        return;
    for (uint32_t i = 0; i < c->n; i++)
        offer(q, &c->items[i]);
}

/* Scans `n` consecutive columns of `row` from `col` (any integer; wraps around). */
static void scan_run(const geo_index_t *idx, struct query *q, offer_fn offer, int64_t row,
                     int64_t col, int64_t n)
{
    if (row < 0 || row >= idx->nrows)
        return;
    int64_t c = ((col % idx->ncols) + idx->ncols) % idx->ncols;
    for (int64_t i = 0; i < n; i++) {
        scan_cell(idx, q, offer, row, c);
        if (++c == idx->ncols)
            c = 0;
    }
}

static void scan_all(const geo_index_t *idx, struct query *q, offer_fn offer)
{
    for (size_t i = 0; i < idx->tab_cap; i++) {
        const struct cell *c = &idx->tab[i];
        if (c->key == NO_CELL)
            continue;
        for (uint32_t j = 0; j < c->n; j++)
            offer(q, &c->items[j]);
    }
}

/* Heap-sorts the hits nearest first, converting haversine terms to metres, ties by id. */
static void finish(geo_hit_t *h, size_t n)
{
    for (size_t m = n; m > 1; m--) {
        geo_hit_t t = h[0];
        h[0] = h[m - 1];
        h[m - 1] = t;
        sift_down(h, m - 1, 0);
    }
    for (size_t i = 0; i < n; i++)
        h[i].distance_m = geo__hav_to_m(h[i].distance_m);
    /* Distinct terms can round to one distance in metres: restore the id order among those. */
    for (size_t i = 1; i < n; i++) {
        geo_hit_t t = h[i];
        size_t j = i;
        while (j > 0 && h[j - 1].distance_m == t.distance_m && h[j - 1].id > t.id) {
            h[j] = h[j - 1];
            j--;
        }
        h[j] = t;
    }
}

static void query_init(struct query *q, double lat, double lon, geo_index_filter filter, void *ctx,
                       geo_hit_t *out, size_t cap)
{
    memset(q, 0, sizeof *q);
    q->lat = lat * GEO__DEG2RAD;
    q->lon = lon * GEO__DEG2RAD;
    q->cos_lat = cos(q->lat);
    q->filter = filter;
    q->ctx = ctx;
    q->heap = out;
    q->cap = cap;
    q->limit = 1.0;
}

/* Probing more cells than this costs more than scanning every occupied cell. */
static size_t probe_budget(const geo_index_t *idx)
{
    return 2 * idx->ncells + 64;
}

/* Half-width in columns of ring r: r stretched by 1/cos(lat) (rounded, so that a ring is about
 * as wide as it is tall on the ground), saturating at the whole circle. */
static int64_t ring_width(const geo_index_t *idx, double stretch, int64_t r)
{
    double w = floor((double)r * stretch + 0.5);
    return w >= (double)idx->ncols ? idx->ncols : (int64_t)w;
}

/* ---- queries --------------------------------------------------------------------------------- */

size_t geo_index_nearest(const geo_index_t *idx, double lat, double lon, size_t k,
                         geo_index_filter filter, void *ctx, geo_hit_t *out)
{
    if (k == 0 || idx->count == 0 || !geo_point_valid(lat, lon))
        return 0;
    struct query q;
    query_init(&q, lat, lon, filter, ctx, out, k);
    /* Distances use lon as given (bit-identical to geo_distance_m); cell edges use [-180, 180). */
    double lon_w = lon >= 180.0 ? -180.0 : lon;

    const int64_t ncols = idx->ncols;
    const int64_t r0 = row_of(idx, lat), c0 = col_of(idx, lon);
    const double cos_q = q.cos_lat;
    /* Columns per row step so that a ring is about as wide as it is tall on the ground. */
    double stretch = idx->cell_lat / idx->cell_lon / (cos_q > 1e-12 ? cos_q : 1e-12);
    if (stretch < 1.0)
        stretch = 1.0;
    if (stretch > (double)ncols)
        stretch = (double)ncols;
    const size_t budget = probe_budget(idx);
    size_t probes = 0;
    int64_t w_prev = -1; /* half-width of the block already scanned; -1: nothing yet */

    for (int64_t r = 0;; r++) {
        int64_t w = ring_width(idx, stretch, r);
        int full = 2 * w + 1 >= ncols;           /* this ring spans every column */
        int64_t span = full ? ncols : 2 * w + 1; /* columns in the block after ring r */
        int64_t prev_span = w_prev < 0 ? 0 : (2 * w_prev + 1 >= ncols ? ncols : 2 * w_prev + 1);
        /* Cells this ring probes: its top and bottom rows, and the widening of the rows between. */
        int64_t new_cells = 1;
        if (r > 0) {
            int64_t lo = r0 - r + 1 > 0 ? r0 - r + 1 : 0;
            int64_t hi = r0 + r - 1 < idx->nrows - 1 ? r0 + r - 1 : idx->nrows - 1;
            int64_t ends = (r0 - r >= 0) + (r0 + r < idx->nrows);
            new_cells = ends * span + (hi - lo + 1) * (span - prev_span);
        }
        if (probes + (size_t)new_cells > budget) {
            q.n = 0;
            scan_all(idx, &q, offer_nearest);
            break;
        }
        probes += (size_t)new_cells;

        if (r == 0) {
            scan_cell(idx, &q, offer_nearest, r0, c0);
        } else {
            /* Top and bottom rows across the whole new width. */
            scan_run(idx, &q, offer_nearest, r0 - r, c0 - (full ? 0 : w), span);
            scan_run(idx, &q, offer_nearest, r0 + r, c0 - (full ? 0 : w), span);
            /* The rows in between gain the columns beyond the previous width. */
            if (span > prev_span) {
                for (int64_t row = r0 - r + 1; row <= r0 + r - 1; row++) {
                    if (full) {
                        scan_run(idx, &q, offer_nearest, row, c0 + w_prev + 1, span - prev_span);
                    } else {
                        scan_run(idx, &q, offer_nearest, row, c0 - w, w - w_prev);
                        scan_run(idx, &q, offer_nearest, row, c0 + w_prev + 1, w - w_prev);
                    }
                }
            }
        }
        w_prev = w;

        /* Lower bound (radians) on the distance of anything outside the scanned block. */
        double bound = INFINITY;
        if (r0 - r > 0) {
            double edge = (double)(r0 - r) * idx->cell_lat - 90.0;
            bound = fmin(bound, (lat - edge) * GEO__DEG2RAD);
        }
        if (r0 + r < idx->nrows - 1) {
            double edge = (double)(r0 + r + 1) * idx->cell_lat - 90.0;
            bound = fmin(bound, (edge - lat) * GEO__DEG2RAD);
        }
        if (!full) {
            double west = (double)(c0 - w) * idx->cell_lon - 180.0;
            double east = (double)(c0 + w + 1) * idx->cell_lon - 180.0;
            double d = fmin(lon_w - west, east - lon_w) * GEO__DEG2RAD;
            if (d > M_PI_2)
                d = M_PI_2;
            double s = cos_q * sin(d);
            bound = fmin(bound, asin(s > 1.0 ? 1.0 : s));
        }
        if (bound == INFINITY)
            break; /* the block is the whole sphere */
        bound -= BOUND_SLACK;
        if (q.n == k && bound > 0 && q.heap[0].distance_m < geo__angle_to_hav(bound))
            break;
    }
    finish(out, q.n);
    return q.n;
}

size_t geo_index_within(const geo_index_t *idx, double lat, double lon, double radius_m,
                        geo_index_filter filter, void *ctx, geo_hit_t *out, size_t max)
{
    if (idx->count == 0 || !geo_point_valid(lat, lon) || !(radius_m >= 0.0))
        return 0;
    struct query q;
    query_init(&q, lat, lon, filter, ctx, out, max);
    double rho = radius_m / GEO_EARTH_RADIUS_M;
    q.limit = geo__angle_to_hav(rho);
    q.radius_m = radius_m;

    /* The cap's bounding box in cells (with a hair of margin for rounding). */
    double rho_deg = rho / GEO__DEG2RAD + 1e-9;
    int64_t row_lo = row_of(idx, fmax(lat - rho_deg, -90.0));
    int64_t row_hi = row_of(idx, fmin(lat + rho_deg, 90.0));
    int64_t col_lo = 0, ncol = idx->ncols;
    if (lat + rho_deg < 90.0 && lat - rho_deg > -90.0 && sin(rho) < q.cos_lat) {
        double dlon = asin(sin(rho) / q.cos_lat) / GEO__DEG2RAD + 1e-9;
        col_lo = (int64_t)floor((lon - dlon + 180.0) / idx->cell_lon);
        int64_t col_hi = (int64_t)floor((lon + dlon + 180.0) / idx->cell_lon);
        if (col_hi - col_lo + 1 < idx->ncols)
            ncol = col_hi - col_lo + 1;
        else
            col_lo = 0;
    }
    double cells = (double)(row_hi - row_lo + 1) * (double)ncol;
    if (cells > (double)probe_budget(idx)) {
        scan_all(idx, &q, offer_within);
    } else {
        for (int64_t row = row_lo; row <= row_hi; row++)
            scan_run(idx, &q, offer_within, row, col_lo, ncol);
    }
    finish(out, q.n);
    return q.total;
}
