/*
 * The gazetteer a call-taker searches while the caller is still talking: the county's named
 * places (villages, towns, districts from the OSM import), its hospitals and ambulance stations,
 * held in memory so a search costs microseconds and works while PostGIS is down.
 *
 * A query matches a name that contains it (Chinese substring: "塘" finds 鸿塘镇; Latin letters
 * case-insensitively) or whose pinyin initials start with it ("hts" finds 鸿塘镇 when the import
 * computed its initials). Results rank towns above villages, then larger places first, then the
 * earlier match: what the caller most likely means.
 */
#ifndef GL_PLACES_H
#define GL_PLACES_H

#include <stddef.h>
#include <stdint.h>

typedef struct place {
    char id[48];
    char name[96];
    char kind[16];         /* OSM place type (city, town, village, ...), "hospital", "station" */
    char initials[32];     /* pinyin initials, lowercase; "" when unknown */
    double lat, lon;
    int64_t population;    /* -1 when not tagged */
} place_t;

typedef struct places places_t;

places_t *places_new(void);
void places_free(places_t *p);

/* Adds one (copied). Returns 0, GL_EINVAL (no name, bad coordinates) or GL_ENOMEM. */
int places_add(places_t *p, const place_t *pl);
size_t places_count(const places_t *p);
const place_t *places_at(const places_t *p, size_t i);

/*
 * Up to `max` places matching `q` (see above), best first, into out[]; returns how many. A query
 * shorter than one character, or longer than 64 bytes, matches nothing.
 */
size_t places_search(const places_t *p, const char *q, const place_t **out, size_t max);

#endif
