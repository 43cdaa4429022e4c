/*
 * Unit tests of the fleet simulator: the unit state machine driven by simulated time (assignment
 * to available, positions moving toward the scene at the configured average speed, cancel,
 * refusals while busy), GPS output, and the fleet input (CSV lines and files, random placement,
 * the seeding SQL).
 */
#include "err.h"
#include "fleet_input.h"
#include "fleet_sim.h"
#include "geo.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOME_LAT 26.2670
#define HOME_LON 116.6540

static struct {
    unit_status_t st[32];
    char inc[32][UNIT_INCIDENT_MAX];
    double lat[32], lon[32];
    int n;
} rec;

static void on_status(sim_unit_t *u, unit_status_t st, const char *incident_id, void *ctx)
{
    ck_assert_int_lt(rec.n, 32);
    rec.st[rec.n] = st;
    snprintf(rec.inc[rec.n], sizeof rec.inc[0], "%s", incident_id);
    rec.lat[rec.n] = u->lat;
    rec.lon[rec.n] = u->lon;
    rec.n++;
}

static void setup(void)
{
    memset(&rec, 0, sizeof rec);
}

static fleet_sim_t *new_sim(double kmh, double scene_s, double hospital_s, sim_unit_t **u)
{
    fleet_sim_params_t p = {kmh, scene_s, hospital_s, 3.0, 42};
    fleet_sim_t *sim = fleet_sim_new(&p, on_status, NULL);
    ck_assert_ptr_nonnull(sim);
    sim_unit_spec_t spec = {0};
    snprintf(spec.id, sizeof spec.id, "U1");
    spec.lat = HOME_LAT;
    spec.lon = HOME_LON;
    memcpy(spec.kind, "ALS", 4);
    ck_assert_int_eq(fleet_sim_add_unit(sim, &spec, u), 0);
    return sim;
}

/* Advances in 1 s steps until the unit's status count reaches `n` or `limit_s` passes; returns
 * the simulated seconds taken. */
static double run_until(fleet_sim_t *sim, int n, double limit_s)
{
    double t = 0;
    while (rec.n < n && t < limit_s) {
        fleet_sim_advance(sim, 1.0);
        t += 1.0;
    }
    ck_assert_msg(rec.n >= n, "only %d statuses after %.0f s", rec.n, t);
    return t;
}

START_TEST(test_full_cycle_with_hospital)
{
    sim_unit_t *u;
    fleet_sim_t *sim = new_sim(36.0, 600, 300, &u); /* 10 m/s */
    /* Scene 6 km north-east; two hospitals, the nearer to the scene must be chosen. */
    double slat, slon, near_lat, near_lon, far_lat, far_lon;
    geo_destination(HOME_LAT, HOME_LON, 45, 6000, &slat, &slon);
    geo_destination(slat, slon, 90, 3000, &near_lat, &near_lon);
    geo_destination(HOME_LAT, HOME_LON, 225, 2000, &far_lat, &far_lon);
    sim_hospital_t far = {"H-FAR", far_lat, far_lon, "Far"};
    sim_hospital_t near = {"H-NEAR", near_lat, near_lon, "Near"};
    ck_assert_int_eq(fleet_sim_add_hospital(sim, &far), 0);
    ck_assert_int_eq(fleet_sim_add_hospital(sim, &near), 0);
    ck_assert_str_eq(fleet_sim_nearest_hospital(sim, slat, slon)->id, "H-NEAR");

    ck_assert_int_eq(fleet_sim_assign(sim, u, "INC-1", slat, slon), 0);
    ck_assert_int_eq(rec.n, 1);
    ck_assert_int_eq(rec.st[0], UNIT_STATUS_EN_ROUTE);
    ck_assert_str_eq(rec.inc[0], "INC-1");
    ck_assert_int_eq(u->state, SIM_STATE_TO_SCENE);

    /* Every simulated second brings it closer to the scene, at the profile's speed. */
    double prev = geo_distance_m(u->lat, u->lon, slat, slon);
    for (int i = 0; i < 120; i++) {
        double expect = 0;
        for (int k = 0; k < 10; k++) /* the profile's mean speed over this second */
            expect += fleet_sim_speed(sim, i + (k + 0.5) / 10, u->phase) / 10;
        fleet_sim_advance(sim, 1.0);
        double d = geo_distance_m(u->lat, u->lon, slat, slon);
        ck_assert_msg(fabs((prev - d) - expect) < 0.05, "second %d: moved %.3f m, expected %.3f",
                      i, prev - d, expect);
        ck_assert(u->speed_mps > 0);
        prev = d;
    }
    /* One full period of the profile covers exactly the average speed times the period. */
    ck_assert_msg(fabs((6000 - prev) - 1200) < 1.0, "120 s covered %.2f m", 6000 - prev);
    /* It drives a straight line: still on the bearing from home to the scene. */
    ck_assert(fabs(geo_bearing_deg(HOME_LAT, HOME_LON, u->lat, u->lon) -
                   geo_bearing_deg(HOME_LAT, HOME_LON, slat, slon)) < 0.01);

    /* 6 km at an average 10 m/s: on scene after about 600 s (the profile shifts it slightly). */
    double t = 120 + run_until(sim, 2, 2000);
    ck_assert_msg(fabs(t - 600) <= 40, "on scene after %.0f s", t);
    ck_assert_int_eq(rec.st[1], UNIT_STATUS_ON_SCENE);
    ck_assert_str_eq(rec.inc[1], "INC-1");
    ck_assert(geo_distance_m(rec.lat[1], rec.lon[1], slat, slon) < 1.0);

    /* It stays the configured time on scene. */
    t = run_until(sim, 3, 2000);
    ck_assert_msg(fabs(t - 600) <= 1, "left the scene after %.0f s", t);
    ck_assert_int_eq(rec.st[2], UNIT_STATUS_TRANSPORTING);
    ck_assert_str_eq(rec.inc[2], "INC-1");

    run_until(sim, 4, 2000);
    ck_assert_int_eq(rec.st[3], UNIT_STATUS_AT_HOSPITAL);
    ck_assert(geo_distance_m(rec.lat[3], rec.lon[3], near_lat, near_lon) < 1.0);

    t = run_until(sim, 5, 2000);
    ck_assert_msg(fabs(t - 300) <= 1, "handover took %.0f s", t);
    ck_assert_int_eq(rec.st[4], UNIT_STATUS_RETURNING);
    ck_assert_str_eq(rec.inc[4], "INC-1");

    run_until(sim, 6, 5000);
    ck_assert_int_eq(rec.st[5], UNIT_STATUS_AVAILABLE);
    ck_assert_str_eq(rec.inc[5], "");
    ck_assert_int_eq(u->state, SIM_STATE_PARKED);
    ck_assert(geo_distance_m(u->lat, u->lon, HOME_LAT, HOME_LON) < 1.0);
    ck_assert_str_eq(u->incident, "");

    /* Parked: nothing more happens. */
    fleet_sim_advance(sim, 3600);
    ck_assert_int_eq(rec.n, 6);
    fleet_sim_free(sim);
}
END_TEST

/* The dispatcher names the hospital: the unit goes there rather than to the nearest one, and a
 * change while transporting (diversion) turns it at once; orders for another incident or after
 * the handover are refused. */
START_TEST(test_destination_from_the_dispatcher)
{
    sim_unit_t *u;
    fleet_sim_t *sim = new_sim(36.0, 60, 60, &u); /* 10 m/s */
    double slat, slon, near_lat, near_lon, named_lat, named_lon, div_lat, div_lon;
    geo_destination(HOME_LAT, HOME_LON, 0, 2000, &slat, &slon);
    geo_destination(slat, slon, 90, 1000, &near_lat, &near_lon);
    geo_destination(slat, slon, 0, 8000, &named_lat, &named_lon);
    geo_destination(slat, slon, 270, 3000, &div_lat, &div_lon);
    sim_hospital_t near = {"H-NEAR", near_lat, near_lon, "Near"};
    ck_assert_int_eq(fleet_sim_add_hospital(sim, &near), 0);
    ck_assert_int_eq(fleet_sim_assign(sim, u, "INC-9", slat, slon), 0);
    ck_assert_int_eq(fleet_sim_set_destination(sim, u, "INC-8", named_lat, named_lon), GL_ENOENT);
    ck_assert_int_eq(fleet_sim_set_destination(sim, u, "INC-9", named_lat, named_lon), 0);
    run_until(sim, 3, 2000); /* en route, on scene, transporting */
    ck_assert_int_eq(rec.st[2], UNIT_STATUS_TRANSPORTING);
    ck_assert(u->dest_lat == named_lat && u->dest_lon == named_lon);
    fleet_sim_advance(sim, 100); /* 1 km towards the named hospital */
    double before = geo_distance_m(u->lat, u->lon, div_lat, div_lon);
    ck_assert_int_eq(fleet_sim_set_destination(sim, u, "INC-9", div_lat, div_lon), 0);
    fleet_sim_advance(sim, 10);
    ck_assert(geo_distance_m(u->lat, u->lon, div_lat, div_lon) < before - 50); /* turned */
    run_until(sim, 4, 3000);
    ck_assert_int_eq(rec.st[3], UNIT_STATUS_AT_HOSPITAL);
    ck_assert(geo_distance_m(rec.lat[3], rec.lon[3], div_lat, div_lon) < 1.0);
    ck_assert_int_eq(fleet_sim_set_destination(sim, u, "INC-9", near_lat, near_lon), GL_ENOENT);
    fleet_sim_free(sim);
}
END_TEST

START_TEST(test_one_long_step_runs_every_state_in_order)
{
    sim_unit_t *u;
    fleet_sim_t *sim = new_sim(60.0, 60, 60, &u);
    double slat, slon;
    geo_destination(HOME_LAT, HOME_LON, 180, 1000, &slat, &slon);
    ck_assert_int_eq(fleet_sim_assign(sim, u, "INC-2", slat, slon), 0);
    /* No hospitals: transport goes back to the start point. A day in one call. */
    fleet_sim_advance(sim, 86400);
    unit_status_t want[] = {UNIT_STATUS_EN_ROUTE,    UNIT_STATUS_ON_SCENE,
                            UNIT_STATUS_TRANSPORTING, UNIT_STATUS_AT_HOSPITAL,
                            UNIT_STATUS_RETURNING,    UNIT_STATUS_AVAILABLE};
    ck_assert_int_eq(rec.n, 6);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(rec.st[i], want[i]);
    ck_assert(geo_distance_m(rec.lat[3], rec.lon[3], HOME_LAT, HOME_LON) < 1.0);
    ck_assert(geo_distance_m(u->lat, u->lon, HOME_LAT, HOME_LON) < 1.0);
    fleet_sim_free(sim);
}
END_TEST

START_TEST(test_cancel_returns_home)
{
    sim_unit_t *u;
    fleet_sim_t *sim = new_sim(36.0, 600, 300, &u);
    double slat, slon;
    geo_destination(HOME_LAT, HOME_LON, 0, 5000, &slat, &slon);
    ck_assert_int_eq(fleet_sim_assign(sim, u, "INC-3", slat, slon), 0);
    for (int i = 0; i < 100; i++)
        fleet_sim_advance(sim, 1.0);
    double out = geo_distance_m(u->lat, u->lon, HOME_LAT, HOME_LON);
    ck_assert(out > 500);
    ck_assert_int_eq(fleet_sim_cancel(sim, u, "INC-OTHER"), GL_ENOENT);
    ck_assert_int_eq(fleet_sim_cancel(sim, u, "INC-3"), 0);
    ck_assert_int_eq(rec.n, 2);
    ck_assert_int_eq(rec.st[1], UNIT_STATUS_RETURNING);
    ck_assert_str_eq(rec.inc[1], "INC-3");
    ck_assert_int_eq(fleet_sim_cancel(sim, u, "INC-3"), GL_ENOENT); /* already returning */
    fleet_sim_advance(sim, 10);
    ck_assert(geo_distance_m(u->lat, u->lon, HOME_LAT, HOME_LON) < out);
    run_until(sim, 3, 2000);
    ck_assert_int_eq(rec.st[2], UNIT_STATUS_AVAILABLE);
    ck_assert(geo_distance_m(u->lat, u->lon, HOME_LAT, HOME_LON) < 1.0);
    /* It never reached the scene. */
    for (int i = 0; i < rec.n; i++)
        ck_assert_int_ne(rec.st[i], UNIT_STATUS_ON_SCENE);
    fleet_sim_free(sim);
}
END_TEST

START_TEST(test_assignments_while_busy)
{
    sim_unit_t *u;
    fleet_sim_t *sim = new_sim(36.0, 600, 300, &u);
    double alat, alon, blat, blon;
    geo_destination(HOME_LAT, HOME_LON, 90, 3000, &alat, &alon);
    geo_destination(HOME_LAT, HOME_LON, 270, 3000, &blat, &blon);
    sim_hospital_t h = {"H1", 0, 0, "H1"};
    geo_destination(HOME_LAT, HOME_LON, 0, 5000, &h.lat, &h.lon);
    ck_assert_int_eq(fleet_sim_add_hospital(sim, &h), 0);
    ck_assert_int_eq(fleet_sim_assign(sim, u, "INC-A", alat, alon), 0);
    ck_assert_int_eq(fleet_sim_assign(sim, u, "INC-A", alat, alon), GL_EDUP);
    fleet_sim_advance(sim, 60);
    /* Diverted while en route: it heads for the new scene, reporting en_route for it. */
    ck_assert_int_eq(fleet_sim_assign(sim, u, "INC-B", blat, blon), 0);
    ck_assert_int_eq(rec.n, 2);
    ck_assert_int_eq(rec.st[1], UNIT_STATUS_EN_ROUTE);
    ck_assert_str_eq(rec.inc[1], "INC-B");
    double before = geo_distance_m(u->lat, u->lon, blat, blon);
    fleet_sim_advance(sim, 30);
    ck_assert(geo_distance_m(u->lat, u->lon, blat, blon) < before - 200);
    run_until(sim, 3, 2000);
    ck_assert_int_eq(rec.st[2], UNIT_STATUS_ON_SCENE);
    /* With a patient it refuses another incident. */
    ck_assert_int_eq(fleet_sim_assign(sim, u, "INC-C", alat, alon), GL_EUNAVAILABLE);
    ck_assert_int_eq(fleet_sim_assign(sim, u, "INC-B", blat, blon), GL_EDUP);
    ck_assert_int_eq(fleet_sim_assign(sim, u, "", alat, alon), GL_EINVAL);
    ck_assert_int_eq(rec.n, 3);
    /* Returning units are free again. */
    run_until(sim, 5, 5000);
    ck_assert_int_eq(rec.st[4], UNIT_STATUS_AT_HOSPITAL);
    run_until(sim, 6, 5000);
    ck_assert_int_eq(rec.st[5], UNIT_STATUS_RETURNING);
    ck_assert_int_eq(fleet_sim_assign(sim, u, "INC-C", alat, alon), 0);
    ck_assert_int_eq(rec.st[6], UNIT_STATUS_EN_ROUTE);
    ck_assert_str_eq(rec.inc[6], "INC-C");
    fleet_sim_free(sim);
}
END_TEST

START_TEST(test_fixes_jitter_when_parked_and_head_when_driving)
{
    sim_unit_t *u;
    fleet_sim_t *sim = new_sim(36.0, 600, 300, &u);
    unit_fix_t a, b;
    fleet_sim_fix(sim, u, 1000, &a);
    fleet_sim_fix(sim, u, 2000, &b);
    ck_assert_int_eq(a.fix_time_ms, 1000);
    ck_assert(geo_distance_m(a.lat, a.lon, HOME_LAT, HOME_LON) <= 3.0 + 1e-6);
    ck_assert(geo_distance_m(b.lat, b.lon, HOME_LAT, HOME_LON) <= 3.0 + 1e-6);
    ck_assert(a.lat != b.lat || a.lon != b.lon);
    ck_assert(a.speed_mps == 0);
    double slat, slon;
    geo_destination(HOME_LAT, HOME_LON, 135, 4000, &slat, &slon);
    fleet_sim_assign(sim, u, "INC-4", slat, slon);
    fleet_sim_advance(sim, 5);
    fleet_sim_fix(sim, u, 3000, &a);
    ck_assert(a.lat == u->lat && a.lon == u->lon); /* no jitter while moving */
    ck_assert(a.speed_mps > 7 && a.speed_mps < 13);
    ck_assert(fabs(a.heading_deg - 135) < 0.5);
    fleet_sim_free(sim);
}
END_TEST

/* ---------------------------------------------------------------- input */

START_TEST(test_parse_unit_lines)
{
    sim_unit_spec_t u;
    char err[256];
    ck_assert_int_eq(fleet_input_parse_unit("A1, 26.26, 116.65, als, ecg12|ventilator, Ninghua 1\n",
                                            &u, err, sizeof err),
                     0);
    ck_assert_str_eq(u.id, "A1");
    ck_assert(u.lat == 26.26 && u.lon == 116.65);
    ck_assert_str_eq(u.kind, "ALS");
    ck_assert_int_eq(u.ncaps, 2);
    ck_assert_str_eq(u.caps[1], "ventilator");
    ck_assert_str_eq(u.call_sign, "Ninghua 1");
    ck_assert_int_eq(fleet_input_parse_unit("B2,26.1,116.2,BLS", &u, err, sizeof err), 0);
    ck_assert_int_eq(u.ncaps, 0);
    ck_assert_str_eq(u.call_sign, "B2");
    ck_assert_int_eq(fleet_input_parse_unit("   \n", &u, err, sizeof err), 1);
    ck_assert_int_eq(fleet_input_parse_unit("# comment", &u, err, sizeof err), 1);
    const char *bad[] = {"A1,26.1", "A1,x,116,ALS", "A1,95,116,ALS", "A1,26,116,XLS",
                         "A 1,26,116,ALS", "A1,26,116,ALS,ECG", "A1,26,116,ALS,a|b,c,d",
                         "an-id-that-is-longer-than-28-chars,26,116,ALS"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        ck_assert_msg(fleet_input_parse_unit(bad[i], &u, err, sizeof err) == GL_EINVAL,
                      "accepted '%s'", bad[i]);
        ck_assert(err[0] != '\0');
    }
    sim_hospital_t h;
    ck_assert_int_eq(fleet_input_parse_hospital("H1,26.3,116.7,County Hospital", &h, err,
                                                sizeof err),
                     0);
    ck_assert_str_eq(h.name, "County Hospital");
    ck_assert_int_eq(fleet_input_parse_hospital("H1,26.3,116.7,a,b", &h, err, sizeof err),
                     GL_EINVAL);
    /* Quoted fields as Python's csv module writes them. */
    ck_assert_int_eq(fleet_input_parse_hospital("H2, 26.3 ,116.7,\"Hospital, \"\"North\"\"\"\r\n",
                                                &h, err, sizeof err),
                     0);
    ck_assert_str_eq(h.name, "Hospital, \"North\"");
    ck_assert(h.lat == 26.3);
    ck_assert_int_eq(fleet_input_parse_hospital("H2,26.3,116.7,\"open", &h, err, sizeof err),
                     GL_EINVAL);
    /* A long UTF-8 name is cut at a character boundary: 21 three-byte characters fit 63 bytes. */
    char line[256] = "H3,26.3,116.7,";
    for (int i = 0; i < 30; i++)
        strcat(line, "\xe9\x99\xa2");
    ck_assert_int_eq(fleet_input_parse_hospital(line, &h, err, sizeof err), 0);
    ck_assert_uint_eq(strlen(h.name), 63);
    ck_assert_int_eq(memcmp(h.name + 60, "\xe9\x99\xa2", 3), 0);
    sim_unit_spec_t v;
    strcpy(line, "V1,26.3,116.7,ALS,,");
    for (int i = 0; i < 30; i++)
        strcat(line, "\xe9\x99\xa2");
    ck_assert_int_eq(fleet_input_parse_unit(line, &v, err, sizeof err), 0);
    ck_assert_uint_eq(strlen(v.call_sign), 63);
    double lat, lon;
    ck_assert_int_eq(fleet_input_parse_center("26.5, 116.1", &lat, &lon), 0);
    ck_assert(lat == 26.5 && lon == 116.1);
    ck_assert_int_eq(fleet_input_parse_center("26.5", &lat, &lon), GL_EINVAL);
}
END_TEST

START_TEST(test_load_files_with_header)
{
    char path[] = "/tmp/gl-fleet-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs("id,lat,lon,kind,caps,call_sign\n\nA1,26.26,116.65,ALS,ecg12,One\r\n# spare\n"
          "A2,26.27,116.66,BLS\n",
          f);
    fclose(f);
    sim_unit_spec_t *units = NULL;
    size_t n = 0;
    char err[256];
    ck_assert_int_eq(fleet_input_load_units(path, &units, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(units[0].call_sign, "One");
    ck_assert_str_eq(units[1].kind, "BLS");
    free(units);

    /* A bad line is reported with its line number; so is a duplicate id. */
    f = fopen(path, "w");
    fputs("A1,26.26,116.65,ALS\nA2,26.27,oops,BLS\n", f);
    fclose(f);
    ck_assert_int_eq(fleet_input_load_units(path, &units, &n, err, sizeof err), GL_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, ":2:"));
    f = fopen(path, "w");
    fputs("A1,26.26,116.65,ALS\nA1,26.27,116.6,BLS\n", f);
    fclose(f);
    ck_assert_int_eq(fleet_input_load_units(path, &units, &n, err, sizeof err), GL_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "duplicate"));
    f = fopen(path, "w");
    fputs("id,lat,lon,name\nH1,26.3,116.7,County\n", f);
    fclose(f);
    sim_hospital_t *h = NULL;
    ck_assert_int_eq(fleet_input_load_hospitals(path, &h, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(h[0].id, "H1");
    free(h);
    unlink(path);
    ck_assert_int_eq(fleet_input_load_units("/nonexistent/units.csv", &units, &n, err, sizeof err),
                     GL_EINVAL);
}
END_TEST

START_TEST(test_random_units_inside_the_disc_and_reproducible)
{
    sim_unit_spec_t *a, *b;
    ck_assert_int_eq(fleet_input_random_units(200, HOME_LAT, HOME_LON, 10, 7, &a), 0);
    ck_assert_int_eq(fleet_input_random_units(200, HOME_LAT, HOME_LON, 10, 7, &b), 0);
    int als = 0, outer = 0;
    for (int i = 0; i < 200; i++) {
        double d = geo_distance_m(HOME_LAT, HOME_LON, a[i].lat, a[i].lon);
        ck_assert(d <= 10000.0 + 1e-3);
        outer += d > 7071; /* outside the half-area radius: about half the units */
        als += strcmp(a[i].kind, "ALS") == 0;
        ck_assert(a[i].lat == b[i].lat && a[i].lon == b[i].lon);
    }
    ck_assert_str_eq(a[0].id, "SIM-001");
    ck_assert_str_eq(a[199].id, "SIM-200");
    ck_assert_int_gt(outer, 70);
    ck_assert_int_lt(outer, 130);
    ck_assert_int_eq(als, 134);
    free(a);
    free(b);
    ck_assert_int_eq(fleet_input_random_units(0, HOME_LAT, HOME_LON, 10, 7, &a), GL_EINVAL);
}
END_TEST

START_TEST(test_print_sql)
{
    sim_unit_spec_t u[2] = {0};
    char err[256];
    ck_assert_int_eq(fleet_input_parse_unit("A1,26.26,116.65,ALS,ecg12|incubator,O'Neil 1", &u[0],
                                            err, sizeof err),
                     0);
    ck_assert_int_eq(fleet_input_parse_unit("B2,26.1,116.2,BLS", &u[1], err, sizeof err), 0);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fleet_input_print_sql(f, u, 2);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "BEGIN;"));
    ck_assert_ptr_nonnull(strstr(text, "COMMIT;"));
    ck_assert_ptr_nonnull(strstr(
        text, "INSERT INTO stations (id, name, geom) VALUES ('st-A1', 'Station O''Neil 1', "
              "ST_SetSRID(ST_MakePoint(116.6500000, 26.2600000), 4326)::geography) ON CONFLICT "
              "DO NOTHING;"));
    ck_assert_ptr_nonnull(strstr(
        text, "VALUES ('A1', 'O''Neil 1', 'st-A1', 'ALS', ARRAY['ecg12', 'incubator']::text[]) "
              "ON CONFLICT DO NOTHING;"));
    ck_assert_ptr_nonnull(strstr(text, "('B2', 'B2', 'st-B2', 'BLS', ARRAY[]::text[])"));
    /* Stations come before the vehicles that reference them. */
    ck_assert(strstr(text, "VALUES ('st-B2'") < strstr(text, "VALUES ('B2'"));
    free(text);
}
END_TEST

static Suite *fleet_sim_suite(void)
{
    Suite *s = suite_create("fleet_sim");
    TCase *tr = tcase_create("Transitions");
    tcase_add_checked_fixture(tr, setup, NULL);
    tcase_add_test(tr, test_full_cycle_with_hospital);
    tcase_add_test(tr, test_one_long_step_runs_every_state_in_order);
    tcase_add_test(tr, test_destination_from_the_dispatcher);
    tcase_add_test(tr, test_cancel_returns_home);
    tcase_add_test(tr, test_assignments_while_busy);
    tcase_add_test(tr, test_fixes_jitter_when_parked_and_head_when_driving);
    suite_add_tcase(s, tr);
    TCase *in = tcase_create("Input");
    tcase_add_test(in, test_parse_unit_lines);
    tcase_add_test(in, test_load_files_with_header);
    tcase_add_test(in, test_random_units_inside_the_disc_and_reproducible);
    tcase_add_test(in, test_print_sql);
    suite_add_tcase(s, in);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(fleet_sim_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
