/* Determinism: a fixed seed and thread count give identical output files on repeated runs
 * (moem generate, moem fit: model file byte for byte, trace objectives byte for byte; only the
 * trace's wall-clock column may differ), and moem_fit gives identical bits in one process. The
 * data are large enough for the row passes to run on several threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "csv.h"
#include "moem.h"
#include "rng.h"
#include "synth.h"

#define DIR MOEM_TEST_TMP "/determinism"
#define N_ROWS "6000"

static void sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail_msg("failed: %s", cmd);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    size_t cap = 1 << 16, n = 0, r;
    char *s = malloc(cap + 1);
    assert_non_null(s);
    while ((r = fread(s + n, 1, cap - n, f)) > 0)
        if ((n += r) == cap) {
            s = realloc(s, 2 * cap + 1);
            assert_non_null(s);
            cap *= 2;
        }
    fclose(f);
    s[n] = 0;
    *len = n;
    return s;
}

static void same_file(const char *a, const char *b)
{
    size_t la, lb;
    char *x = slurp(a, &la), *y = slurp(b, &lb);
    if (la != lb || memcmp(x, y, la)) fail_msg("%s and %s differ", a, b);
    assert_true(la > 0);
    free(x);
    free(y);
}

/* trace files: everything but the last (seconds) column of each data line must agree */
static void same_trace(const char *a, const char *b)
{
    size_t la, lb;
    char *x = slurp(a, &la), *y = slurp(b, &lb);
    char *sx, *sy, *lx = strtok_r(x, "\n", &sx), *ly = strtok_r(y, "\n", &sy);
    int lines = 0;
    for (; lx && ly; lx = strtok_r(NULL, "\n", &sx), ly = strtok_r(NULL, "\n", &sy), lines++) {
        char *cx = strrchr(lx, ','), *cy = strrchr(ly, ',');
        if (lx[0] == '#' || !cx || !cy) continue;
        if (cx - lx != cy - ly || memcmp(lx, ly, (size_t)(cx - lx)))
            fail_msg("%s and %s differ: '%s' vs '%s'", a, b, lx, ly);
    }
    assert_true(!lx && !ly);
    assert_true(lines > 10);
    free(x);
    free(y);
}

static void test_generate(void **s)
{
    (void)s;
    for (int r = 0; r < 2; r++)
        sh("%s generate --model softmax --experts 3 --classes 4 --n 3000 --d 6 --seed 42 "
           "--out %s/gen%d.csv --truth %s/gen%d.json", MOEM_BIN, DIR, r, DIR, r);
    same_file(DIR "/gen0.csv", DIR "/gen1.csv");
    same_file(DIR "/gen0.json", DIR "/gen1.json");
}

static void test_fit(void **s)
{
    (void)s;
    static const char *const runs[] = {
        "--model linear --experts 3 --algo em --learn-variance",
        "--model symlin --algo em",
        "--model linear --experts 3 --algo gd --lr 0.5",
        "--model linear --experts 3 --algo gem --lr 0.5 --lr-gate 0.2",
    };
    sh("%s generate --model linear --experts 3 --n " N_ROWS " --d 5 --seed 9 --out %s/fit.csv",
       MOEM_BIN, DIR);
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++)
        for (int threads = 1; threads <= 2; threads++) {
            char a[512], b[512], ta[512], tb[512];
            for (int r = 0; r < 2; r++)
                sh("%s fit --data %s/fit.csv %s --iters 15 --seed 7 --threads %d --quiet "
                   "--out %s/fit_%zu_%d_%d.json --trace %s/trace_%zu_%d_%d.csv", MOEM_BIN, DIR,
                   runs[k], threads, DIR, k, threads, r, DIR, k, threads, r);
            snprintf(a, sizeof a, "%s/fit_%zu_%d_0.json", DIR, k, threads);
            snprintf(b, sizeof b, "%s/fit_%zu_%d_1.json", DIR, k, threads);
            snprintf(ta, sizeof ta, "%s/trace_%zu_%d_0.csv", DIR, k, threads);
            snprintf(tb, sizeof tb, "%s/trace_%zu_%d_1.csv", DIR, k, threads);
            same_file(a, b);
            same_trace(ta, tb);
        }
}

/* softmax experts (Newton M-steps on the gate and the experts) in one process, 2 threads */
static void test_fit_in_process(void **s)
{
    (void)s;
    char err[256];
    moem_rng r;
    moem_model truth, m[2];
    moem_data data;
    moem_rng_seed(&r, 3);
    assert_int_equal(moem_synth_truth(&truth, MOEM_SOFTMAX, 0, 2, 8, 3, 4, 4, &r, err, sizeof err), 0);
    assert_int_equal(moem_synth_sample(&truth, 5000, &r, &data, err, sizeof err), 0);
    moem_set_threads(2);
    for (int k = 0; k < 2; k++) {
        moem_params p;
        moem_params_default(&p);
        p.iters = 8;
        moem_trace tr;
        assert_int_equal(moem_model_alloc(&m[k], MOEM_SOFTMAX, 0, 2, 8, 3, err, sizeof err), 0);
        moem_rng_seed(&r, 77);
        for (size_t i = 0; i < 8; i++) m[k].W[i] = 0.3 * moem_rng_normal(&r);
        for (size_t i = 0; i < 2 * 3 * 8; i++) m[k].B[i] = 0.3 * moem_rng_normal(&r);
        if (moem_fit(&data, &m[k], &p, &tr, err, sizeof err)) fail_msg("%s", err);
        moem_trace_free(&tr);
    }
    moem_set_threads(0);
    assert_memory_equal(m[0].W, m[1].W, 2 * 8 * sizeof(double));
    assert_memory_equal(m[0].B, m[1].B, 2 * 3 * 8 * sizeof(double));
    moem_model_free(&m[0]);
    moem_model_free(&m[1]);
    moem_model_free(&truth);
    moem_data_free(&data);
}

int main(void)
{
    mkdir(MOEM_TEST_TMP, 0777);
    mkdir(DIR, 0777);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_fit),
        cmocka_unit_test(test_fit_in_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
