/* The experiments and the random start as library calls (moem/experiment.h, moem/model.h):
 * what the command prints and writes comes from these, so they are tested here without it. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "moem.h"

static moem_synthetic_config small_config(void)
{
    moem_synthetic_config c;
    moem_synthetic_config_default(&c);
    c.instances = 3;
    c.iters = 6;
    c.n = 300;
    c.d = 3;
    c.lr_gd = 1.0;              /* no grid search: both steps given */
    c.lr_gem = 1.0;
    c.lr_gem_gate = 2.0;
    return c;
}

static size_t at(const moem_synthetic_result *r, int m, size_t i, size_t t, int q)
{
    return (((size_t)m * r->instances + i) * ((size_t)r->iters + 1) + t) * MOEM_SYN_QUANTITIES + (size_t)q;
}

/* the same start for every method, EM never rises, the summary is the mean / sd of the values */
static void synthetic_runs(void **state)
{
    (void)state;
    moem_synthetic_config c = small_config();
    moem_synthetic_result r, r2;
    char err[256] = "";
    assert_int_equal(moem_experiment_synthetic(&c, &r, err, sizeof err), 0);
    assert_int_equal(r.instances, 3);
    assert_int_equal(r.iters, 6);
    assert_true(r.lr_gd == 1.0 && r.lr_gem == 1.0 && r.lr_gem_gate == 2.0);
    size_t T1 = 7;
    for (size_t i = 0; i < 3; i++) {
        for (int q = 0; q < MOEM_SYN_QUANTITIES; q++)
            for (int m = 1; m < MOEM_EXP_METHODS; m++)
                assert_true(r.value[at(&r, m, i, 0, q)] == r.value[at(&r, 0, i, 0, q)]);
        assert_true(r.value[at(&r, 0, i, 0, MOEM_SYN_BETA)] > 0.4);   /* radius 0.5 from the truth */
        for (size_t t = 1; t < T1; t++) {
            double a = r.value[at(&r, 0, i, t - 1, MOEM_SYN_GAP)], b = r.value[at(&r, 0, i, t, MOEM_SYN_GAP)];
            assert_true(b <= a + 1e-12 * (1 + fabs(a)));
        }
    }
    for (int m = 0; m < MOEM_EXP_METHODS; m++)
        for (size_t t = 0; t < T1; t++)
            for (int q = 0; q < MOEM_SYN_QUANTITIES; q++) {
                double s = 0, ss = 0;
                for (size_t i = 0; i < 3; i++) s += r.value[at(&r, m, i, t, q)];
                double mean = s / 3;
                for (size_t i = 0; i < 3; i++) ss += pow(r.value[at(&r, m, i, t, q)] - mean, 2);
                size_t o = ((size_t)m * T1 + t) * MOEM_SYN_QUANTITIES + (size_t)q;
                assert_true(fabs(r.mean[o] - mean) <= 1e-14 * (1 + fabs(mean)));
                assert_true(fabs(r.sd[o] - sqrt(ss / 2)) <= 1e-12 * (1 + sqrt(ss / 2)));
                if (q == MOEM_SYN_GAP) assert_true(r.gap_to_best[(size_t)m * T1 + t] >= 1e-16);
            }
    /* deterministic: a second run gives the same values, bit for bit */
    assert_int_equal(moem_experiment_synthetic(&c, &r2, err, sizeof err), 0);
    assert_memory_equal(r.value, r2.value, 3 * 3 * T1 * MOEM_SYN_QUANTITIES * sizeof(double));
    moem_synthetic_result_free(&r2);

    /* the files: every value in runs.csv, one summary row per method and iteration */
    char dir[512], path[600], line[512];
    snprintf(dir, sizeof dir, "%s/experiments_out", MOEM_TEST_TMP);
    assert_int_equal(moem_synthetic_write(dir, &r, 0, err, sizeof err), 0);
    const char *const *names;
    assert_int_equal(moem_synthetic_outputs(0, &names), 2);
    size_t want[2] = {1 + 3 * 3 * T1, 1 + 3 * T1};
    for (int f = 0; f < 2; f++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[f]);
        FILE *fp = fopen(path, "r");
        assert_non_null(fp);
        size_t lines = 0;
        while (fgets(line, sizeof line, fp)) lines++;
        fclose(fp);
        assert_int_equal(lines, want[f]);
        remove(path);
    }
    moem_synthetic_result_free(&r);
    assert_null(r.value);
}

/* bad settings: -1 and a message, nothing to free but the (zeroed) result */
static void synthetic_bad_config(void **state)
{
    (void)state;
    moem_synthetic_config c = small_config();
    moem_synthetic_result r;
    char err[256] = "";
    c.instances = 0;
    assert_int_equal(moem_experiment_synthetic(&c, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "instances"));
    moem_synthetic_result_free(&r);
    c = small_config();
    c.n = 1;
    err[0] = 0;
    assert_int_equal(moem_experiment_synthetic(&c, &r, err, sizeof err), -1);
    assert_true(err[0] != 0);
    moem_synthetic_result_free(&r);
}

/* the Fashion-MNIST experiment without its files: one line naming the missing file, no table */
static void fmnist_missing_data(void **state)
{
    (void)state;
    moem_fmnist_config c;
    moem_fmnist_config_default(&c);
    c.fmnist_dir = "/nonexistent";
    c.instances = 1;
    c.iters = 1;
    char err[512] = "", *table = (char *)"x";
    char dir[512];
    snprintf(dir, sizeof dir, "%s/experiments_fmnist", MOEM_TEST_TMP);
    assert_int_equal(moem_experiment_fmnist(&c, dir, &table, err, sizeof err), -1);
    assert_null(table);
    assert_non_null(strstr(err, "/nonexistent/"));
    c.invert_fraction = 2;
    assert_int_equal(moem_experiment_fmnist(&c, dir, &table, err, sizeof err), -1);
    assert_non_null(strstr(err, "invert_fraction"));
    const double *grid;
    size_t ng = moem_fmnist_grid(&grid);
    assert_true(ng >= 2);
    for (size_t g = 1; g < ng; g++) assert_true(grid[g] > grid[g - 1]);
}

/* the random start: seeded, pinned gate row, symmetric experts, N(0, 1/d) scale */
static void random_start(void **state)
{
    (void)state;
    moem_model a, b;
    char err[256];
    assert_int_equal(moem_model_init_random(&a, MOEM_SOFTMAX, 0, 3, 50, 4, 7, err, sizeof err), 0);
    assert_int_equal(moem_model_init_random(&b, MOEM_SOFTMAX, 0, 3, 50, 4, 7, err, sizeof err), 0);
    assert_null(moem_model_validate(&a));
    assert_memory_equal(a.W, b.W, 3 * 50 * sizeof(double));
    assert_memory_equal(a.B, b.B, 3 * 4 * 50 * sizeof(double));
    double ss = 0;
    for (size_t c = 0; c < 50; c++) {
        assert_true(a.W[2 * 50 + c] == 0.0);
        ss += a.B[c] * a.B[c];
    }
    assert_true(ss > 0.3 && ss < 3.0);        /* |row|^2 ~ chi2_50 / 50 */
    moem_model_free(&b);
    assert_int_equal(moem_model_init_random(&b, MOEM_SOFTMAX, 0, 3, 50, 4, 8, err, sizeof err), 0);
    assert_memory_not_equal(a.B, b.B, 3 * 4 * 50 * sizeof(double));
    moem_model_free(&a);
    moem_model_free(&b);
    assert_int_equal(moem_model_init_random(&a, MOEM_LINEAR, 1, 2, 5, 1, 3, err, sizeof err), 0);
    assert_null(moem_model_validate(&a));
    for (size_t c = 0; c < 5; c++) assert_true(a.B[5 + c] == -a.B[c]);
    moem_model_free(&a);
    assert_int_equal(moem_model_init_random(&a, MOEM_LINEAR, 1, 3, 5, 1, 3, err, sizeof err), -1);
    assert_non_null(strstr(err, "symmetric"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(synthetic_runs),
        cmocka_unit_test(synthetic_bad_config),
        cmocka_unit_test(fmnist_missing_data),
        cmocka_unit_test(random_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
