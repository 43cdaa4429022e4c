/*
 * Unit tests of common/: error names, time parsing and formatting, the configuration loader and
 * the log burst limiter, the binary PostgreSQL arrays of the batches.
 */
#include "config.h"
#include "err.h"
#include "log.h"
#include "pgarr.h"
#include "timeutil.h"

#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_err_names)
{
    ck_assert_str_eq(gl_err_name(GL_ESTATE), "ESTATE");
    ck_assert_str_eq(gl_strerror(GL_ESTATE), "illegal state transition");
    ck_assert_str_eq(gl_err_name(GL_EINVAL), "EINVAL");
    ck_assert_str_eq(gl_err_name(-99999), "EUNKNOWN");
}
END_TEST

START_TEST(test_time_parse_utc_and_offsets)
{
    int64_t ms;
    ck_assert_int_eq(gl_time_parse("2026-11-25T00:00:00Z", &ms), 0);
    ck_assert_int_eq(ms, 1795564800000LL);
    ck_assert_int_eq(gl_time_parse("2026-11-25T08:00:00+08:00", &ms), 0);
    ck_assert_int_eq(ms, 1795564800000LL);
    ck_assert_int_eq(gl_time_parse("2026-11-25 08:00:00.250+0800", &ms), 0);
    ck_assert_int_eq(ms, 1795564800250LL);
    char buf[40];
    ck_assert_str_eq(gl_time_format_utc(1795564800250LL, buf, sizeof buf),
                     "2026-11-25T00:00:00.250Z");
}
END_TEST

START_TEST(test_time_local_zone)
{
    int64_t ms;
    gl_time_set_zone("Asia/Shanghai");
    /* A time without an offset is the county's local time. */
    ck_assert_int_eq(gl_time_parse("2026-11-25T08:00:00", &ms), 0);
    ck_assert_int_eq(ms, 1795564800000LL);
    char buf[40];
    ck_assert_str_eq(gl_time_format_local(ms, buf, sizeof buf), "2026-11-25T08:00:00+08:00");
    /* 23:30 UTC on the 24th is already the 25th in Shanghai. */
    ck_assert_int_eq(gl_local_yyyymmdd(1795564800000LL - 30 * 60 * 1000), 20261125);
}
END_TEST

START_TEST(test_time_parse_rejects_garbage)
{
    int64_t ms;
    const char *bad[] = {"", "2026", "2026-13-01T00:00:00Z", "2026-11-25T25:00:00Z",
                         "2026-11-25T00:00:00Q", "2026-11-25T00:00:00+99:00", "yesterday",
                         "2026-11-25T00:00:00.Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(gl_time_parse(bad[i], &ms) == GL_EINVAL, "accepted '%s'", bad[i]);
}
END_TEST

struct test_cfg {
    char name[16];
    long long port;
    double factor;
    int flag;
};

static const gl_cfg_option_t test_opts[] = {
    {"name", GL_CFG_STR, "dflt", 0, 0, offsetof(struct test_cfg, name), 16, 0, "a name"},
    {"port", GL_CFG_INT, "8080", 1, 65535, offsetof(struct test_cfg, port), 0, 0, "a port"},
    {"factor", GL_CFG_DOUBLE, "1.4", 1, 3, offsetof(struct test_cfg, factor), 0, 0, "factor"},
    {"flag", GL_CFG_BOOL, "false", 0, 0, offsetof(struct test_cfg, flag), 0, 0, "a flag"},
    {NULL, 0, NULL, 0, 0, 0, 0, 0, NULL},
};

START_TEST(test_config_sources_in_order)
{
    struct test_cfg cfg;
    char err[256];
    setenv("GOLDLINE_PORT", "9000", 1);
    setenv("GOLDLINE_FACTOR", "2.5", 1);
    char *argv[] = {"prog", "--factor=1.5", "pos1", "--flag", "--name", "x", "pos2", NULL};
    int argc = 7;
    ck_assert_int_eq(gl_cfg_load(test_opts, &cfg, &argc, argv, err, sizeof err), 0);
    ck_assert_str_eq(cfg.name, "x");
    ck_assert_int_eq(cfg.port, 9000);            /* from the environment */
    ck_assert(cfg.factor == 1.5);                /* the command line wins over the environment */
    ck_assert_int_eq(cfg.flag, 1);
    ck_assert_int_eq(argc, 3);                   /* positionals kept, in order */
    ck_assert_str_eq(argv[1], "pos1");
    ck_assert_str_eq(argv[2], "pos2");
    unsetenv("GOLDLINE_PORT");
    unsetenv("GOLDLINE_FACTOR");
    /* a bare boolean flag before a positional word leaves the word alone */
    char *b[] = {"prog", "--flag", "status", "--flag", "no", NULL};
    argc = 5;
    ck_assert_int_eq(gl_cfg_load(test_opts, &cfg, &argc, b, err, sizeof err), 0);
    ck_assert_int_eq(cfg.flag, 0); /* the second --flag took "no" */
    ck_assert_int_eq(argc, 2);
    ck_assert_str_eq(b[1], "status");
}
END_TEST

START_TEST(test_config_rejects_bad_values)
{
    struct test_cfg cfg;
    char err[256];
    char *a1[] = {"prog", "--port=70000", NULL};
    int argc = 2;
    ck_assert_int_eq(gl_cfg_load(test_opts, &cfg, &argc, a1, err, sizeof err), GL_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "port"));
    char *a2[] = {"prog", "--nosuch=1", NULL};
    argc = 2;
    ck_assert_int_eq(gl_cfg_load(test_opts, &cfg, &argc, a2, err, sizeof err), GL_EINVAL);
    char *a3[] = {"prog", "--name=waytoolongforsixteen", NULL};
    argc = 2;
    ck_assert_int_eq(gl_cfg_load(test_opts, &cfg, &argc, a3, err, sizeof err), GL_EINVAL);
    char *a4[] = {"prog", "--factor=abc", NULL};
    argc = 2;
    ck_assert_int_eq(gl_cfg_load(test_opts, &cfg, &argc, a4, err, sizeof err), GL_EINVAL);
}
END_TEST

START_TEST(test_log_burst)
{
    gl_log_burst_t b = {0, 0};
    unsigned long sup = 99;
    ck_assert_int_eq(gl_log_burst_allow(&b, 1000, 5000, &sup), 1);
    ck_assert_int_eq(sup, 0);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(gl_log_burst_allow(&b, 1000 + i * 100, 5000, &sup), 0);
    ck_assert_int_eq(gl_log_burst_allow(&b, 7000, 5000, &sup), 1);
    ck_assert_int_eq(sup, 10);
}
END_TEST

/* The expected bytes are written out from PostgreSQL's array_send layout (src/backend/utils/
 * adt/arrayfuncs.c): ndim, has-null flag, element OID, length, lower bound, then per element its
 * length (-1 for NULL) and big-endian value. */
START_TEST(test_pgarr_int8_with_null)
{
    pgarr_t a;
    pgarr_init(&a, PGARR_INT8);
    pgarr_int8(&a, 1);
    pgarr_null(&a);
    pgarr_int8(&a, -2);
    int len = 0;
    const char *p = pgarr_finish(&a, &len);
    static const unsigned char want[] = {
        0, 0, 0, 1,  0, 0, 0, 1,  0, 0, 0, 20,  0, 0, 0, 3,  0, 0, 0, 1,
        0, 0, 0, 8,  0, 0, 0, 0, 0, 0, 0, 1,
        0xff, 0xff, 0xff, 0xff,
        0, 0, 0, 8,  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(len, (int)sizeof want);
    ck_assert_mem_eq(p, want, sizeof want);
    pgarr_free(&a);
}
END_TEST

START_TEST(test_pgarr_text_bytea_float)
{
    pgarr_t t, b, f;
    pgarr_init(&t, PGARR_TEXT);
    pgarr_init(&b, PGARR_BYTEA);
    pgarr_init(&f, PGARR_FLOAT4);
    pgarr_text(&t, "\xe6\x95\x91"); /* bytes as they are: no quoting, no escaping */
    pgarr_bytes(&b, "\0\x01\"", 3);
    pgarr_float4(&f, 1.5f);
    pgarr_float4(&f, NAN); /* not a number is stored as NULL */
    int lt = 0, lb = 0, lf = 0;
    const char *pt = pgarr_finish(&t, &lt), *pb = pgarr_finish(&b, &lb),
               *pf = pgarr_finish(&f, &lf);
    static const unsigned char want_t[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 25, 0, 0, 0, 1,
                                           0, 0, 0, 1, 0, 0, 0, 3, 0xe6, 0x95, 0x91};
    static const unsigned char want_b[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0, 1,
                                           0, 0, 0, 1, 0, 0, 0, 3, 0, 1, '"'};
    static const unsigned char want_f[] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0x02, 0xbc, 0, 0, 0, 2,
                                           0, 0, 0, 1, 0, 0, 0, 4, 0x3f, 0xc0, 0, 0,
                                           0xff, 0xff, 0xff, 0xff};
    ck_assert_int_eq(lt, (int)sizeof want_t);
    ck_assert_mem_eq(pt, want_t, sizeof want_t);
    ck_assert_int_eq(lb, (int)sizeof want_b);
    ck_assert_mem_eq(pb, want_b, sizeof want_b);
    ck_assert_int_eq(lf, (int)sizeof want_f);
    ck_assert_mem_eq(pf, want_f, sizeof want_f);
    pgarr_free(&t);
    pgarr_free(&b);
    pgarr_free(&f);
}
END_TEST

/* A reset array is a new one of the given type that keeps its buffer. */
START_TEST(test_pgarr_reset_reuses)
{
    pgarr_t a;
    pgarr_init(&a, PGARR_TEXT);
    for (int i = 0; i < 1000; i++)
        pgarr_text(&a, "a long enough element to grow the buffer a few times over");
    pgarr_null(&a);
    int len = 0;
    ck_assert_ptr_nonnull(pgarr_finish(&a, &len));
    const unsigned char *buf = a.buf;
    size_t cap = a.cap;
    pgarr_reset(&a, PGARR_INT4);
    pgarr_int4(&a, -1);
    const char *p = pgarr_finish(&a, &len);
    static const unsigned char want[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 1,
                                         0, 0, 0, 1, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff};
    ck_assert_int_eq(len, (int)sizeof want);
    ck_assert_mem_eq(p, want, sizeof want); /* no null flag left from before */
    ck_assert_ptr_eq(a.buf, buf);
    ck_assert_uint_eq(a.cap, cap);
    pgarr_free(&a);
}
END_TEST

/* An array without elements has no dimensions (ndim 0), as array_send writes '{}'. */
START_TEST(test_pgarr_empty)
{
    pgarr_t a;
    pgarr_init(&a, PGARR_BOOL);
    int len = 0;
    const char *p = pgarr_finish(&a, &len);
    static const unsigned char want[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16};
    ck_assert_int_eq(len, (int)sizeof want);
    ck_assert_mem_eq(p, want, sizeof want);
    pgarr_free(&a);
}
END_TEST

static Suite *common_suite(void)
{
    Suite *s = suite_create("common");
    TCase *core = tcase_create("Core");
    tcase_add_test(core, test_err_names);
    tcase_add_test(core, test_time_parse_utc_and_offsets);
    tcase_add_test(core, test_time_local_zone);
    tcase_add_test(core, test_config_sources_in_order);
    tcase_add_test(core, test_log_burst);
    tcase_add_test(core, test_pgarr_int8_with_null);
    tcase_add_test(core, test_pgarr_text_bytea_float);
    tcase_add_test(core, test_pgarr_empty);
    tcase_add_test(core, test_pgarr_reset_reuses);
    suite_add_tcase(s, core);
    TCase *errors = tcase_create("Errors");
    tcase_add_test(errors, test_time_parse_rejects_garbage);
    tcase_add_test(errors, test_config_rejects_bad_values);
    suite_add_tcase(s, errors);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(common_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
