/*
 * Where the simulated fleet comes from and how it is announced to the database.
 *
 * Units come from a placement CSV, one unit a line: `id,lat,lon,kind[,caps][,call_sign]`, with
 * caps separated by '|' (e.g. `A1,29.56,103.76,ALS,ecg12|ventilator,Leshan 1`); or they are made
 * up around a centre (--random N --center LAT,LON --radius-km R), uniformly over the disc.
 * Hospitals come from `id,lat,lon[,name]`. In both files a first line that does not parse as data
 * is a header, blank lines and lines starting with '#' are skipped, and a field may be
 * double-quoted the way spreadsheets and Python's csv module write one holding a comma. Names
 * and call signs longer than their fields are cut at a UTF-8 character boundary.
 *
 * Ids are 1..FLEET_INPUT_ID_MAX characters of [A-Za-z0-9._-] (they become nanomsg topics and SQL
 * keys, and the unit's station is "st-<id>", which must fit the dispatcher's 31-character ids).
 */
#ifndef GL_FLEET_INPUT_H
#define GL_FLEET_INPUT_H

#include "fleet_sim.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FLEET_INPUT_ID_MAX 28

/*
 * Parses one unit line into *out. Returns 0, 1 when the line carries no unit (blank, comment), or
 * GL_EINVAL with a message in err.
 */
int fleet_input_parse_unit(const char *line, sim_unit_spec_t *out, char *err, size_t errlen);

/* Parses one hospital line; same returns as fleet_input_parse_unit. */
int fleet_input_parse_hospital(const char *line, sim_hospital_t *out, char *err, size_t errlen);

/*
 * Reads a whole placement / hospital file. On success *out is a malloc'd array of *n entries
 * (the caller frees it) and 0 is returned; GL_EINVAL (message with file and line in err, also
 * for a file without any entry or with a duplicate id) or GL_ENOMEM otherwise.
 */
int fleet_input_load_units(const char *path, sim_unit_spec_t **out, size_t *n, char *err,
                           size_t errlen);
int fleet_input_load_hospitals(const char *path, sim_hospital_t **out, size_t *n, char *err,
                               size_t errlen);

/*
 * Makes `n` units "SIM-001".. uniformly over the disc of `radius_km` around (lat, lon), two in
 * three ALS with ecg12, reproducibly from `seed`. Returns 0 and a malloc'd array in *out,
 * GL_EINVAL or GL_ENOMEM.
 */
int fleet_input_random_units(size_t n, double lat, double lon, double radius_km, uint64_t seed,
                             sim_unit_spec_t **out);

/* Parses "LAT,LON". Returns 0 or GL_EINVAL. */
int fleet_input_parse_center(const char *text, double *lat, double *lon);

/*
 * Writes SQL that seeds the database with these units: in one transaction, per unit a station
 * "st-<id>" at its start point named after the unit and the vehicle itself, each INSERT ... ON
 * CONFLICT DO NOTHING so that seeding twice changes nothing (deploy/schema/001_core.sql).
 */
void fleet_input_print_sql(FILE *f, const sim_unit_spec_t *units, size_t n);

#endif
