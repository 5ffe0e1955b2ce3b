/* The command end to end: fit, experiment synthetic, and their errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "csv.h"
#include "moem.h"
#include "rng.h"
#include "synth.h"

#define TMP MOEM_TEST_TMP "/cli"

/* run a shell command; returns the exit status, output (stdout+stderr) in out */
static int run(char *out, size_t outlen, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[4200];
    snprintf(full, sizeof full, "{ %s ; } 2>&1", cmd);
    FILE *p = popen(full, "r");
    assert_non_null(p);
    size_t len = 0;
    if (out) out[0] = 0;
    char buf[4096];
    size_t r;
    while ((r = fread(buf, 1, sizeof buf, p)) > 0)
        if (out && len + r < outlen) { memcpy(out + len, buf, r); len += r; out[len] = 0; }
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int exists(const char *path) { struct stat st; return stat(path, &st) == 0; }

static int setup(void **state)
{
    (void)state;
    char err[256];
    mkdir(MOEM_TEST_TMP, 0777);
    mkdir(TMP, 0777);
    moem_rng r;
    moem_model truth;
    moem_data data;
    moem_rng_seed(&r, 5);
    if (moem_synth_truth(&truth, MOEM_LINEAR, 1, 2, 4, 1, 4, 4, &r, err, sizeof err)) return -1;
    if (moem_synth_sample(&truth, 500, &r, &data, err, sizeof err)) return -1;
    if (moem_csv_write(TMP "/symlin.csv", &data, err, sizeof err)) return -1;
    moem_data_free(&data);
    moem_model_free(&truth);
    return 0;
}

static void test_help_version(void **state)
{
    (void)state;
    char out[8192];
    assert_int_equal(run(out, sizeof out, "%s --help", MOEM_BIN), 0);
    assert_non_null(strstr(out, "fit"));
    assert_int_equal(run(out, sizeof out, "%s --version", MOEM_BIN), 0);
    assert_non_null(strstr(out, "isa "));
    const char *cmds[] = {"fit", "generate", "predict", "score", "verify", "experiment", "experiment synthetic", "experiment fmnist"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (run(out, sizeof out, "%s %s --help", MOEM_BIN, cmds[i]) != 0) fail_msg("moem %s --help: %s", cmds[i], out);
        assert_non_null(strstr(out, "usage"));
    }
    assert_int_equal(run(out, sizeof out, "%s frobnicate", MOEM_BIN), 2);
}

static void test_fit_em(void **state)
{
    (void)state;
    char out[8192];
    remove(TMP "/m.json");
    remove(TMP "/trace.csv");
    int rc = run(out, sizeof out, "%s fit --data %s/symlin.csv --model symlin --algo em --iters 20 --out %s/m.json --trace %s/trace.csv",
                 MOEM_BIN, TMP, TMP, TMP);
    if (rc) fail_msg("fit: %s", out);
    assert_true(exists(TMP "/m.json"));
    FILE *f = fopen(TMP "/trace.csv", "r");
    assert_non_null(f);
    char line[256];
    assert_non_null(fgets(line, sizeof line, f));
    assert_int_equal(line[0], '#');
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "iter,objective,seconds\n");
    int it, rows = 0;
    double obj, secs, prev = INFINITY;
    while (fgets(line, sizeof line, f) && sscanf(line, "%d,%lf,%lf", &it, &obj, &secs) == 3) {
        assert_int_equal(it, rows);
        assert_true(obj <= prev + 1e-12);
        prev = obj;
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, 21);
    /* the written model reads back and starts a further run */
    rc = run(out, sizeof out, "%s fit --data %s/symlin.csv --model symlin --algo gd --lr 0.5 --iters 3 --init %s/m.json --out %s/m2.json",
             MOEM_BIN, TMP, TMP, TMP);
    if (rc) fail_msg("fit --init: %s", out);
}

/* End to end against the golden EM trajectory. */
static void test_fit_golden(void **state)
{
    (void)state;
    char out[8192], err[256];
    int rc = run(out, sizeof out, "%s fit --data %s/golden/symlin_n300_d5.csv --model symlin --algo em --iters 10 --newton-tol 1e-26 "
                 "--init %s/golden/symlin_init.json --out %s/g.json", MOEM_BIN, MOEM_TESTS_DIR, MOEM_TESTS_DIR, TMP);
    if (rc) fail_msg("fit: %s", out);
    moem_model got, want;
    assert_int_equal(moem_model_read(TMP "/g.json", &got, err, sizeof err), 0);
    assert_int_equal(moem_model_read(MOEM_TESTS_DIR "/golden/symlin_em_after10.json", &want, err, sizeof err), 0);
    for (size_t i = 0; i < 2 * got.d; i++) {
        assert_true(fabs(got.W[i] - want.W[i]) <= 1e-8);
        assert_true(fabs(got.B[i] - want.B[i]) <= 1e-8);
    }
    moem_model_free(&got);
    moem_model_free(&want);
}

static void test_fit_errors(void **state)
{
    (void)state;
    char out[8192];
    remove(TMP "/e.json");
    /* each: non-zero exit, one line on stderr naming the problem, no output file */
    struct { const char *args, *needle; int code; } cases[] = {
        {"--model symlin --algo em --out " TMP "/e.json", "required", 2},
        {"--data " TMP "/nonexistent.csv --model symlin --algo em --out " TMP "/e.json", "nonexistent.csv", 1},
        {"--data " TMP "/symlin.csv --model cubic --algo em --out " TMP "/e.json", "cubic", 2},
        {"--data " TMP "/symlin.csv --model symlin --algo newton --out " TMP "/e.json", "newton", 2},
        {"--data " TMP "/symlin.csv --model symlin --algo em --iters -3 --out " TMP "/e.json", "-3", 2},
        {"--data " TMP "/symlin.csv --model symlin --algo gd --lr 0 --out " TMP "/e.json", "--lr", 2},
        {"--data " TMP "/symlin.csv --model symlin --experts 3 --algo em --out " TMP "/e.json", "2 experts", 2},
        {"--data " TMP "/symlin.csv --model logistic --algo em --out " TMP "/e.json", "0 or 1", 1},
        {"--data " TMP "/symlin.csv --model symlin --algo em --init " MOEM_TESTS_DIR "/golden/symlin_init.json --out " TMP "/e.json", "d", 1},
        {"--data " TMP "/symlin.csv --model symlin --algo gd --lr 1e6 --iters 50 --out " TMP "/e.json", "non-finite", 1},
        {"--data " TMP "/symlin.csv --model symlin --algo em --bogus --out " TMP "/e.json", "bogus", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = run(out, sizeof out, "%s fit %s", MOEM_BIN, cases[i].args);
        if (rc != cases[i].code) fail_msg("case %zu: exit %d, want %d: %s", i, rc, cases[i].code, out);
        if (!strstr(out, cases[i].needle)) fail_msg("case %zu: message lacks '%s': %s", i, cases[i].needle, out);
        if (strncmp(out, "moem fit: ", 10) || strchr(out, '\n') != out + strlen(out) - 1)
            fail_msg("case %zu: not one 'moem fit:' line: %s", i, out);
        assert_false(exists(TMP "/e.json"));
    }
    /* output into a missing directory: an error and nothing written */
    assert_int_equal(run(out, sizeof out, "%s fit --data %s/symlin.csv --model symlin --algo em --iters 2 --out %s/no/such/dir/m.json",
                         MOEM_BIN, TMP, TMP), 1);
    assert_false(exists(TMP "/no"));
}

static void test_experiment_synthetic(void **state)
{
    (void)state;
    char out[16384];
    int rc = run(out, sizeof out, "%s experiment synthetic --instances 2 --iters 10 --tune 1 --n 300 --d 4 --out %s/exp",
                 MOEM_BIN, TMP);
    if (rc) fail_msg("experiment: %s", out);
    assert_non_null(strstr(out, "Gradient EM"));
    assert_non_null(strstr(out, "|w - w*| / |w*|"));
    const char *files[] = {"runs.csv", "summary.csv", "figure1.png", "figure1.svg", "figure2.png", "figure2.svg"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/exp/%s", TMP, files[i]);
        if (!exists(p)) fail_msg("missing %s", p);
    }
    /* runs.csv: 3 methods x 2 instances x 11 iterations + header */
    FILE *f = fopen(TMP "/exp/runs.csv", "r");
    assert_non_null(f);
    int lines = 0, c;
    while ((c = fgetc(f)) != EOF) lines += c == '\n';
    fclose(f);
    assert_int_equal(lines, 1 + 3 * 2 * 11);
    /* EM's objective at iteration 10 is not above GD's (from the table's first block) */
    rc = run(out, sizeof out, "%s experiment synthetic --instances 0 --out %s/exp2", MOEM_BIN, TMP);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "--instances"));
}

static int same_file(const char *a, const char *b)
{
    char out[256];
    return run(out, sizeof out, "cmp -s '%s' '%s'", a, b) == 0;
}

/* the iter and objective columns of two trace files are identical (seconds may differ) */
static int same_objectives(const char *a, const char *b)
{
    FILE *fa = fopen(a, "r"), *fb = fopen(b, "r");
    assert_non_null(fa);
    assert_non_null(fb);
    char la[256], lb[256];
    int same = 1, rows = 0;
    for (;;) {
        char *ra = fgets(la, sizeof la, fa), *rb = fgets(lb, sizeof lb, fb);
        if (!ra || !rb) { same &= !ra && !rb; break; }
        if (la[0] == '#') continue;
        char *ca = strrchr(la, ','), *cb = strrchr(lb, ',');
        if (!ca || !cb || ca - la != cb - lb || strncmp(la, lb, (size_t)(ca - la))) same = 0;
        rows++;
    }
    fclose(fa);
    fclose(fb);
    return same && rows > 2;
}

/* A resumed run equals the uninterrupted one bit for bit (model file and objective trace). */
static void test_checkpoint_resume(void **state)
{
    (void)state;
    char out[8192];
    const char *algos[] = {"--algo em", "--algo gd --lr 0.5", "--algo gem --lr 0.5 --lr-gate 2"};
    for (size_t a = 0; a < 3; a++) {
        assert_int_equal(run(out, sizeof out, "%s fit --data %s/symlin.csv --model symlin %s --iters 12 --quiet --out %s/full.json --trace %s/full.csv",
                             MOEM_BIN, TMP, algos[a], TMP, TMP), 0);
        assert_int_equal(run(out, sizeof out, "%s fit --data %s/symlin.csv --model symlin %s --iters 7 --quiet --checkpoint %s/ck --checkpoint-every 3 --out %s/part.json",
                             MOEM_BIN, TMP, algos[a], TMP, TMP), 0);
        int rc = run(out, sizeof out, "%s fit --data %s/symlin.csv --model symlin --iters 12 --quiet --resume %s/ck --out %s/resumed.json --trace %s/resumed.csv",
                     MOEM_BIN, TMP, TMP, TMP, TMP);
        if (rc) fail_msg("resume: %s", out);
        assert_true(same_file(TMP "/full.json", TMP "/resumed.json"));
        assert_true(same_objectives(TMP "/full.csv", TMP "/resumed.csv"));
        /* and a different start does differ (the comparison can fail) */
        assert_int_equal(run(out, sizeof out, "%s fit --data %s/symlin.csv --model symlin %s --iters 12 --seed 2 --quiet --out %s/other.json",
                             MOEM_BIN, TMP, algos[a], TMP), 0);
        assert_false(same_file(TMP "/full.json", TMP "/other.json"));
    }
    /* a damaged checkpoint is a clear error */
    FILE *f = fopen(TMP "/bad.ck", "w");
    fputs("moem-checkpoint 2\nmodel linear 1 2 4 1\ndata 500 4 0 64\nalgo em iter 3\n", f);
    fclose(f);
    assert_int_equal(run(out, sizeof out, "%s fit --data %s/symlin.csv --model symlin --iters 12 --resume %s/bad.ck --out %s/e.json",
                         MOEM_BIN, TMP, TMP, TMP), 1);
    assert_non_null(strstr(out, "bad.ck:5"));
    assert_false(exists(TMP "/e.json"));
}

/* SIGINT during a long run writes the last checkpoint and exits 130; resuming continues it. */
static void test_interrupt(void **state)
{
    (void)state;
    char out[8192];
    remove(TMP "/int.ck");
    remove(TMP "/int.json");
    /* SIGINT once the first periodic checkpoint exists (so that iterations are under way) */
    int rc = run(out, sizeof out, "%s fit --data %s/symlin.csv --model symlin --algo gd --lr 0.1 --iters 3000000 --quiet "
                 "--checkpoint %s/int.ck --checkpoint-every 1000 --out %s/int.json & pid=$!; "
                 "n=0; while [ ! -e %s/int.ck ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n+1)); done; "
                 "sleep 0.2; kill -INT $pid; wait $pid",
                 MOEM_BIN, TMP, TMP, TMP, TMP);
    assert_int_equal(rc, 130);
    assert_non_null(strstr(out, "interrupted at iteration"));
    assert_true(exists(TMP "/int.ck"));
    assert_false(exists(TMP "/int.json"));
    FILE *f = fopen(TMP "/int.ck", "r");
    char line[256];
    int iter = -1;
    while (fgets(line, sizeof line, f)) if (sscanf(line, "algo gd iter %d", &iter) == 1) break;
    fclose(f);
    assert_true(iter > 0);
    rc = run(out, sizeof out, "%s fit --data %s/symlin.csv --model symlin --iters %d --quiet --resume %s/int.ck --out %s/int.json",
             MOEM_BIN, TMP, iter + 3, TMP, TMP);
    if (rc) fail_msg("resume after interrupt: %s", out);
    assert_true(exists(TMP "/int.json"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_version),
        cmocka_unit_test(test_fit_em),
        cmocka_unit_test(test_fit_golden),
        cmocka_unit_test(test_fit_errors),
        cmocka_unit_test(test_experiment_synthetic),
        cmocka_unit_test(test_checkpoint_resume),
        cmocka_unit_test(test_interrupt),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
