/* cmocka tests of the C shim over Google Benchmark (gbench_c.h): a registered benchmark runs
 * with its arguments, its loop iterates, counters and bytes reach the JSON report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "gbench_c.h"

typedef struct seen { int calls; int64_t a0, a1, iters, loops; } seen;

static void bm_probe(gbc_state *st, void *ctx)
{
    seen *s = ctx;
    double acc = 0;
    s->calls++;
    s->a0 = gbc_arg(st, 0);
    s->a1 = gbc_arg(st, 1);
    while (gbc_keep_running(st)) {
        acc += 1.0;
        gbc_do_not_optimize_double(acc);
        s->loops++;
    }
    s->iters = gbc_iterations(st);
    gbc_set_bytes_processed(st, s->iters * 1000);
    gbc_counter(st, "probe_count", 42.0, GBC_COUNT);
}

static void bm_failing(gbc_state *st, void *ctx)
{
    (void)ctx;
    gbc_skip_with_error(st, "probe error");
    while (gbc_keep_running(st)) {}
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

static void test_register_run_report(void **state)
{
    (void)state;
    static seen s;
    int64_t args[2] = {3, 5};
    char out[512], outflag[600];
    snprintf(out, sizeof out, "%s/bench_shim_test.json", MOEM_TEST_TMP);
    snprintf(outflag, sizeof outflag, "--benchmark_out=%s", out);
    char *argv[] = {"test", "--benchmark_min_time=0.001", outflag, "--benchmark_out_format=json",
                    "--benchmark_format=json", NULL};
    int argc = 5;
    assert_int_equal(gbc_register("BM_probe/shim", bm_probe, &s, args, 2, GBC_NS), 0);
    assert_int_equal(gbc_register("BM_fail/shim", bm_failing, NULL, NULL, 0, GBC_NS), 0);
    assert_int_equal(gbc_register(NULL, bm_probe, &s, args, 2, GBC_NS), -1);
    gbc_add_context("probe_key", "probe_value");
    assert_int_equal(gbc_initialize(&argc, argv), 0);
    assert_int_equal(argc, 1);
    assert_int_equal(gbc_run(), 2);
    assert_true(s.calls >= 1);
    assert_int_equal(s.a0, 3);
    assert_int_equal(s.a1, 5);
    assert_true(s.iters >= 1);
    const char *j = slurp(out);
    assert_non_null(j);
    assert_non_null(strstr(j, "\"BM_probe/shim/3/5/process_time/real_time\""));
    assert_non_null(strstr(j, "\"probe_count\": 4.2000000000000000e+01"));
    assert_non_null(strstr(j, "\"bytes_per_second\""));
    assert_non_null(strstr(j, "\"probe_key\": \"probe_value\""));
    assert_non_null(strstr(j, "\"error_message\": \"probe error\""));
    gbc_shutdown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_register_run_report)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
