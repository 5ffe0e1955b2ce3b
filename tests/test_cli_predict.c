/* moem predict and moem score end to end: against the library on the same files, a file
 * without y, and their errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "moem.h"

#define TMP MOEM_TEST_TMP "/cli_predict"

/* a shell command; its exit status, its output (stdout + stderr) in out */
static int run(char *out, size_t outlen, const char *fmt, ...)
{
    char cmd[4096], full[4200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(full, sizeof full, "{ %s ; } 2>&1", cmd);
    FILE *p = popen(full, "r");
    assert_non_null(p);
    size_t len = 0, r;
    char buf[4096];
    out[0] = 0;
    while ((r = fread(buf, 1, sizeof buf, p)) > 0)
        if (len + r < outlen) { memcpy(out + len, buf, r); len += r; out[len] = 0; }
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int setup(void **state)
{
    (void)state;
    char out[4096];
    if (run(out, sizeof out, "mkdir -p %s && cd %s && %s generate --model linear --experts 3 --n 400 --d 3 --seed 4 "
            "--out lin.csv && %s fit --data lin.csv --model linear --experts 3 --algo em --iters 15 --quiet "
            "--learn-variance --out lin.json --trace lin_trace.csv && %s generate --model softmax --classes 3 --n 300 "
            "--d 4 --seed 2 --out soft.csv && %s fit --data soft.csv --model softmax --classes 3 --algo em --iters 5 --quiet "
            "--out soft.json && cut -d, -f2- lin.csv > lin_x.csv",
            TMP, TMP, MOEM_BIN, MOEM_BIN, MOEM_BIN, MOEM_BIN)) {
        fprintf(stderr, "%s\n", out);
        return -1;
    }
    return 0;
}

/* the numbers of a CSV file after its header, row-major */
static size_t read_numbers(const char *path, double *v, size_t max)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[4096];
    assert_non_null(fgets(line, sizeof line, f));
    size_t n = 0;
    while (fgets(line, sizeof line, f))
        for (char *s = line, *end; n < max; s = end + (*end == ',')) {
            double x = strtod(s, &end);
            if (end == s) break;
            v[n++] = x;
        }
    fclose(f);
    return n;
}

/* every kind of output equals the library's on the same files; without y, the same text */
static void predict_matches_library(void **state)
{
    (void)state;
    static const struct { const char *model, *data, *what; moem_predict_what w; } cases[] = {
        {"lin", "lin", "mean", MOEM_PREDICT_MEAN},           {"lin", "lin", "gate", MOEM_PREDICT_GATE},
        {"lin", "lin", "experts", MOEM_PREDICT_EXPERTS},     {"lin", "lin", "posterior", MOEM_PREDICT_POSTERIOR},
        {"lin", "lin", "cluster", MOEM_PREDICT_CLUSTER},     {"soft", "soft", "proba", MOEM_PREDICT_PROBA},
        {"soft", "soft", "class", MOEM_PREDICT_CLASS},       {"soft", "soft", "experts", MOEM_PREDICT_EXPERTS},
    };
    char out[8192], err[256];
    static double got[20000], want[20000];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int rc = run(out, sizeof out, "cd %s && %s predict --model %s.json --data %s.csv --what %s --out p.csv",
                     TMP, MOEM_BIN, cases[c].model, cases[c].data, cases[c].what);
        if (rc) fail_msg("predict --what %s: %s", cases[c].what, out);
        moem_model m;
        moem_data d;
        char path[512];
        snprintf(path, sizeof path, "%s/%s.json", TMP, cases[c].model);
        assert_int_equal(moem_model_read(path, &m, err, sizeof err), 0);
        snprintf(path, sizeof path, "%s/%s.csv", TMP, cases[c].data);
        assert_int_equal(moem_csv_read(path, &d, err, sizeof err), 0);
        size_t cols = moem_predict_cols(&m, cases[c].w), n = d.n * cols;
        assert_true(n <= 20000 && cols > 0);
        assert_int_equal(moem_predict(&d, &m, cases[c].w, want, err, sizeof err), 0);
        assert_int_equal(read_numbers(TMP "/p.csv", got, 20000), n);
        for (size_t i = 0; i < n; i++) assert_true(got[i] == want[i]);   /* %.17g: exact */
        moem_model_free(&m);
        moem_data_free(&d);
    }
    /* the default output is the mean for linear experts; a file without y gives the same text */
    assert_int_equal(run(out, sizeof out, "cd %s && %s predict --model lin.json --data lin.csv > a.csv && "
                         "%s predict --model lin.json --data lin_x.csv --what mean > b.csv && cmp a.csv b.csv && "
                         "head -n 1 a.csv", TMP, MOEM_BIN, MOEM_BIN), 0);
    assert_string_equal(out, "mean\n");
    assert_int_equal(run(out, sizeof out, "cd %s && %s predict --model soft.json --data soft.csv | head -n 1", TMP,
                         MOEM_BIN), 0);
    assert_string_equal(out, "class\n");
}

static void predict_errors(void **state)
{
    (void)state;
    char out[4096];
    static const struct { const char *args, *msg; int rc; } cases[] = {
        {"--model lin.json --data lin_x.csv --what posterior", "needs a y column", 1},
        {"--model lin.json --data lin.csv --what proba", "linear experts have no such output", 1},
        {"--model soft.json --data soft.csv --what mean", "softmax experts have no such output", 1},
        {"--model lin.json --data soft.csv", "expected 4 (y and 3 features) or 3", 1},
        {"--model lin.json --data lin.csv --what probs", "--what must be", 2},
        {"--model lin.json --data lin.csv --out lin.csv", "refusing to overwrite an input", 1},
        {"--model nothere.json --data lin.csv", "nothere.json", 1},
        {"--data lin.csv", "--model is required", 2},
        {"--model lin.json --data lin.csv --wha mean", "--wha", 2},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int rc = run(out, sizeof out, "cd %s && %s predict %s", TMP, MOEM_BIN, cases[c].args);
        if (rc != cases[c].rc || !strstr(out, cases[c].msg))
            fail_msg("predict %s: exit %d (want %d), output: %s", cases[c].args, rc, cases[c].rc, out);
    }
    /* the input named as --out is intact */
    assert_int_equal(run(out, sizeof out, "cd %s && head -c 2 lin.csv", TMP), 0);
    assert_string_equal(out, "y,");
}

/* the score of the training data is the fit's final objective; AIC and BIC from it */
static void score_training_data(void **state)
{
    (void)state;
    char out[4096];
    assert_int_equal(run(out, sizeof out, "cd %s && %s score --model lin.json --data lin.csv --json", TMP, MOEM_BIN), 0);
    double L = NAN, aic = NAN, bic = NAN, rmse = NAN;
    long params = -1, n = -1;
    const char *p;
    assert_non_null(p = strstr(out, "\"objective\": "));
    L = strtod(p + 13, NULL);
    assert_non_null(p = strstr(out, "\"aic\": "));
    aic = strtod(p + 7, NULL);
    assert_non_null(p = strstr(out, "\"bic\": "));
    bic = strtod(p + 7, NULL);
    assert_non_null(p = strstr(out, "\"rmse\": "));
    rmse = strtod(p + 8, NULL);
    assert_non_null(p = strstr(out, "\"params\": "));
    params = strtol(p + 10, NULL, 10);
    assert_non_null(p = strstr(out, "\"n\": "));
    n = strtol(p + 5, NULL, 10);
    assert_null(strstr(out, "accuracy"));
    /* K = 3, d = 3: gate 2 x 3, experts 3 x 3, three learned variances */
    assert_int_equal(params, 6 + 9 + 3);
    assert_int_equal(n, 400);
    assert_true(rmse > 0);
    char last[4096];
    assert_int_equal(run(last, sizeof last, "tail -n 1 %s/lin_trace.csv", TMP), 0);
    double Lfit = strtod(strchr(last, ',') + 1, NULL);
    assert_true(fabs(L - Lfit) <= 1e-12 * fabs(Lfit));
    assert_true(fabs(aic - (800 * L + 36)) <= 1e-9 * fabs(aic));
    assert_true(fabs(bic - (800 * L + 18 * log(400.0))) <= 1e-9 * fabs(bic));
    /* classifiers: accuracy and cross-entropy; the line form */
    assert_int_equal(run(out, sizeof out, "cd %s && %s score --model soft.json --data soft.csv", TMP, MOEM_BIN), 0);
    assert_non_null(strstr(out, "accuracy "));
    assert_non_null(strstr(out, "cross_entropy "));
    /* bad inputs: a label out of range names the file and line; no y; a missing option */
    assert_int_equal(run(out, sizeof out, "cd %s && sed '3s/^[0-9]*,/7,/' soft.csv > bad.csv && %s score --model soft.json "
                         "--data bad.csv", TMP, MOEM_BIN), 1);
    assert_non_null(strstr(out, "bad.csv:3:"));
    assert_int_equal(run(out, sizeof out, "cd %s && %s score --model lin.json --data lin_x.csv", TMP, MOEM_BIN), 1);
    assert_non_null(strstr(out, "lin_x.csv"));
    assert_int_equal(run(out, sizeof out, "%s score --model x.json", MOEM_BIN), 2);
}

static double json_number(const char *text, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "\"%s\": ", name);
    const char *p = strstr(text, key);
    assert_non_null(p);
    return strtod(p + strlen(key), NULL);
}

/* --tol stops EM on the paper's synthetic data early; --summary says so */
static void fit_tol_summary(void **state)
{
    (void)state;
    char out[8192];
    int rc = run(out, sizeof out, "cd %s && %s generate --model symlin --n 1000 --d 10 --seed 7 --out sym.csv && "
                 "%s fit --data sym.csv --model symlin --algo em --iters 100 --tol 1e-10 --quiet --out s.json "
                 "--summary s.sum.json --trace s.trace.csv && cat s.sum.json", TMP, MOEM_BIN, MOEM_BIN);
    if (rc) fail_msg("%s", out);
    double iters = json_number(out, "iterations");
    /* the model file holds the same record as its "fit" member, and still loads */
    char mf[8192];
    assert_int_equal(run(mf, sizeof mf, "cat %s/s.json", TMP), 0);
    assert_non_null(strstr(mf, "\"fit\": {"));
    assert_true(json_number(mf, "iterations") == iters);
    assert_true(iters >= 2 && iters < 30);
    assert_non_null(strstr(out, "\"converged\": true"));
    assert_true(json_number(out, "params") == 20);
    double L = json_number(out, "objective"), bic = json_number(out, "bic");
    assert_true(fabs(bic - (2000 * L + 20 * log(1000.0))) <= 1e-9 * bic);
    /* without --tol every iteration runs and the summary says not converged */
    rc = run(out, sizeof out, "cd %s && %s fit --data sym.csv --model symlin --algo em --iters 40 --quiet --out s2.json "
             "--summary s2.sum.json && cat s2.sum.json", TMP, MOEM_BIN);
    assert_int_equal(rc, 0);
    assert_true(json_number(out, "iterations") == 40);
    assert_non_null(strstr(out, "\"converged\": false"));
    assert_int_equal(run(out, sizeof out, "%s fit --data %s/sym.csv --model symlin --algo em --tol -1 --out %s/x.json",
                         MOEM_BIN, TMP, TMP), 2);
}

/* --restarts R keeps the best of R separate fits (seeds S .. S + R - 1) */
static void fit_restarts(void **state)
{
    (void)state;
    char out[8192];
    int rc = run(out, sizeof out, "cd %s && %s fit --data lin.csv --model linear --experts 3 --algo em --iters 8 "
                 "--seed 3 --restarts 5 --out best.json", TMP, MOEM_BIN);
    if (rc) fail_msg("%s", out);
    for (int r = 1; r <= 5; r++) {
        char want[64];
        snprintf(want, sizeof want, "start %d/5 (seed %d)", r, 2 + r);
        assert_non_null(strstr(out, want));
    }
    double best = INFINITY;
    int best_seed = -1;
    for (int s = 3; s < 8; s++) {
        assert_int_equal(run(out, sizeof out, "cd %s && %s fit --data lin.csv --model linear --experts 3 --algo em "
                             "--iters 8 --seed %d --quiet --out one%d.json --summary one%d.sum.json && cat one%d.sum.json",
                             TMP, MOEM_BIN, s, s, s, s), 0);
        double L = json_number(out, "objective");
        if (L < best) { best = L; best_seed = s; }
    }
    /* the same parameters, bit for bit (the files' "fit" members differ: seconds, restarts) */
    moem_model a, b;
    char err[256], pa[512], pb[512];
    snprintf(pa, sizeof pa, "%s/best.json", TMP);
    snprintf(pb, sizeof pb, "%s/one%d.json", TMP, best_seed);
    assert_int_equal(moem_model_read(pa, &a, err, sizeof err), 0);
    assert_int_equal(moem_model_read(pb, &b, err, sizeof err), 0);
    assert_memory_equal(a.W, b.W, a.K * a.d * sizeof(double));
    assert_memory_equal(a.B, b.B, a.K * a.d * sizeof(double));
    assert_memory_equal(a.sigma2, b.sigma2, a.K * sizeof(double));
    moem_model_free(&a);
    moem_model_free(&b);
    assert_int_equal(run(out, sizeof out, "cd %s && %s fit --data lin.csv --model linear --algo em --restarts 2 "
                         "--init lin.json --out x.json", TMP, MOEM_BIN), 2);
    assert_non_null(strstr(out, "--restarts"));
}

/* BIC picks K = 2 over K = 1 and K = 3 on SymMoLinE data */
static void bic_picks_k(void **state)
{
    (void)state;
    char out[8192];
    double bic[4];
    for (int K = 1; K <= 3; K++) {
        int rc = run(out, sizeof out, "cd %s && %s fit --data sym.csv --model linear --experts %d --algo em --iters 200 "
                     "--tol 1e-10 --restarts 3 --quiet --out k%d.json && %s score --model k%d.json --data sym.csv --json",
                     TMP, MOEM_BIN, K, K, MOEM_BIN, K);
        if (rc) fail_msg("K = %d: %s", K, out);
        bic[K] = json_number(out, "bic");
    }
    assert_true(bic[2] < bic[1] && bic[2] < bic[3]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(predict_matches_library),
        cmocka_unit_test(predict_errors),
        cmocka_unit_test(score_training_data),
        cmocka_unit_test(fit_tol_summary),
        cmocka_unit_test(fit_restarts),
        cmocka_unit_test(bic_picks_k),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
