/* float32 storage of X (moem_data_to_f32, moem fit --precision f32).
 *
 * Each run on float32 data is compared with the same run on float64 data whose X holds the
 * same numbers (X rounded to float). Both feed identical doubles to the same kernels and
 * accumulate in float64; what may differ is only how rows are grouped: float32 rows are
 * widened and streamed in blocks where the float64 path hands a kernel a whole per-thread
 * row range (moem_atx_all, Newton-CG, the sigma2 M-step). So:
 *   Gradient EM and GD (the E-step/gradient pass, same blocks either way): bit for bit equal;
 *   EM: the M-step sums are re-associated, each to a relative 1e-16 or so, and the M-steps
 *   are solved to tolerance, so trajectories agree to PREC_TOL_EM (relative, objective and
 *   parameters): four orders above the rounding, eight below the float32 rounding of X
 *   (6e-8) that a float32 accumulation would show. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "csv.h"
#include "mirror.h"
#include "moem.h"
#include "rng.h"
#include "synth.h"

#define PREC_TOL_EM 1e-12
#define TMP MOEM_TEST_TMP "/precision"

typedef struct spec { moem_family f; int sym; size_t K, d, C, n; const char *name; } spec;
static const spec specs[] = {
    {MOEM_LINEAR, 0, 3, 5, 1, 5000, "linear K=3"},   {MOEM_LOGISTIC, 0, 2, 5, 2, 5000, "logistic K=2"},
    {MOEM_SOFTMAX, 0, 2, 5, 3, 5000, "softmax K=2 C=3"}, {MOEM_LINEAR, 1, 2, 5, 1, 5000, "symlin"},
    {MOEM_LOGISTIC, 1, 2, 5, 2, 5000, "symlog"},
    /* J d = 9 x 120 > 1024: the Newton-CG M-step */
    {MOEM_SOFTMAX, 0, 2, 120, 10, 1200, "softmax K=2 C=10 d=120 (Newton-CG)"},
};
#define NSPEC (sizeof specs / sizeof specs[0])

/* data from a random truth (X rounded to float), and a start */
static void setup(const spec *s, uint64_t seed, moem_data *data, moem_model *start)
{
    char err[256];
    moem_rng r;
    moem_model truth;
    moem_rng_seed(&r, seed);
    assert_int_equal(moem_synth_truth(&truth, s->f, s->sym, s->K, s->d, s->C, 2.0, 2.0, &r, err, sizeof err), 0);
    assert_int_equal(moem_synth_sample(&truth, s->n, &r, data, err, sizeof err), 0);
    assert_int_equal(moem_synth_truth(start, s->f, s->sym, s->K, s->d, s->C, 1.0, 1.0, &r, err, sizeof err), 0);
    for (size_t i = 0; i < data->n * data->d; i++) data->X[i] = (double)(float)data->X[i];
    moem_model_free(&truth);
}

static void copy_data(moem_data *dst, const moem_data *src)
{
    char err[256];
    assert_int_equal(moem_data_alloc(dst, src->n, src->d, err, sizeof err), 0);
    memcpy(dst->X, src->X, src->n * src->d * sizeof(double));
    memcpy(dst->y, src->y, src->n * sizeof(double));
}

static double rel(double a, double b) { return fabs(a - b) / fmax(1.0, fmax(fabs(a), fabs(b))); }

/* max relative difference of two models' parameters */
static double model_diff(const moem_model *a, const moem_model *b)
{
    size_t P = moem_expert_rows(a), d = a->d;
    double m = 0.0;
    for (size_t i = 0; i < a->K * d; i++) m = fmax(m, rel(a->W[i], b->W[i]));
    for (size_t i = 0; i < a->K * P * d; i++) m = fmax(m, rel(a->B[i], b->B[i]));
    for (size_t k = 0; k < a->K; k++) m = fmax(m, rel(a->sigma2[k], b->sigma2[k]));
    return m;
}

static void test_to_f32(void **state)
{
    (void)state;
    char err[256];
    moem_data data;
    assert_int_equal(moem_data_alloc(&data, 3, 2, err, sizeof err), 0);
    const double v[6] = {0.1, -1.5, 1e-30, (double)FLT_MAX, -(double)FLT_MAX, 3.0};
    memcpy(data.X, v, sizeof v);
    for (int i = 0; i < 3; i++) data.y[i] = i;
    assert_int_equal(moem_data_to_f32(&data, err, sizeof err), 0);
    assert_null(data.X);
    assert_non_null(data.Xf);
    for (int i = 0; i < 6; i++) assert_true(data.Xf[i] == (float)v[i]);
    for (int i = 0; i < 3; i++) assert_true(data.y[i] == i);
    assert_int_equal(moem_data_to_f32(&data, err, sizeof err), 0);   /* already float32 */
    assert_true(data.Xf[1] == -1.5f);
    moem_data_free(&data);
    assert_null(data.Xf);
}

/* values outside the float range (and NaN) are errors, and the data stay float64 as they were */
static void test_to_f32_range(void **state)
{
    (void)state;
    const double bad[] = {1e39, -1e39, (double)FLT_MAX * 1.0000001, INFINITY, -INFINITY, NAN};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        char err[256] = "";
        moem_data data;
        assert_int_equal(moem_data_alloc(&data, 4, 3, err, sizeof err), 0);
        for (size_t i = 0; i < 12; i++) data.X[i] = 0.25 * (double)i;
        for (size_t i = 0; i < 4; i++) data.y[i] = 0.0;
        data.X[7] = bad[b];
        assert_int_equal(moem_data_to_f32(&data, err, sizeof err), -1);
        if (!strstr(err, "float32") || !strstr(err, "sample 3")) fail_msg("message: %s", err);
        assert_non_null(data.X);
        assert_null(data.Xf);
        for (size_t i = 0; i < 12; i++)
            if (i != 7) assert_true(data.X[i] == 0.25 * (double)i);
        moem_data_free(&data);
    }
}

/* one algorithm from the same start on the float64 copy and on the float32 data */
static void compare(const spec *s, moem_algo algo, const moem_data *d64, const moem_data *d32,
                    const moem_model *start, int threads)
{
    char err[256];
    moem_params p;
    moem_params_default(&p);
    p.algo = algo;
    p.iters = s->d > 20 ? 2 : 6;
    p.threads = threads;
    p.lr = algo == MOEM_ALGO_EM ? 1.0 : 0.5;
    if (s->d > 20) p.newton_max = 3;
    if (algo == MOEM_ALGO_EM && s->f == MOEM_LINEAR && !s->sym) p.learn_sigma2 = 1;
    moem_model a, b;
    moem_trace ta, tb;
    assert_int_equal(moem_model_copy(&a, start, err, sizeof err), 0);
    assert_int_equal(moem_model_copy(&b, start, err, sizeof err), 0);
    if (moem_fit(d64, &a, &p, &ta, err, sizeof err)) fail_msg("%s %s f64: %s", s->name, moem_algo_name(algo), err);
    if (moem_fit(d32, &b, &p, &tb, err, sizeof err)) fail_msg("%s %s f32: %s", s->name, moem_algo_name(algo), err);
    assert_int_equal(ta.iters, tb.iters);
    double dobj = 0.0, dpar = model_diff(&a, &b);
    for (int t = 0; t <= ta.iters; t++) dobj = fmax(dobj, rel(ta.objective[t], tb.objective[t]));
    if (algo == MOEM_ALGO_EM) {
        if (dobj > PREC_TOL_EM || dpar > PREC_TOL_EM)
            fail_msg("%s em, %d threads: objective %.3g, parameters %.3g apart (bound %g)", s->name,
                     threads, dobj, dpar, PREC_TOL_EM);
    } else if (dobj != 0.0 || dpar != 0.0) {
        fail_msg("%s %s, %d threads: not bit for bit (objective %.3g, parameters %.3g)", s->name,
                 moem_algo_name(algo), threads, dobj, dpar);
    }
    moem_trace_free(&ta);
    moem_trace_free(&tb);
    moem_model_free(&a);
    moem_model_free(&b);
}

static void test_trajectories(void **state)
{
    (void)state;
    char err[256];
    const moem_algo algos[] = {MOEM_ALGO_EM, MOEM_ALGO_GEM, MOEM_ALGO_GD};
    for (size_t si = 0; si < NSPEC; si++) {
        const spec *s = &specs[si];
        moem_data d64, d32;
        moem_model start;
        setup(s, 100 + si, &d64, &start);
        copy_data(&d32, &d64);
        assert_int_equal(moem_data_to_f32(&d32, err, sizeof err), 0);
        for (int threads = 1; threads <= 2; threads++)
            for (size_t a = 0; a < 3; a++) compare(s, algos[a], &d64, &d32, &start, threads);
        moem_model_free(&start);
        moem_data_free(&d64);
        moem_data_free(&d32);
    }
    moem_set_threads(0);
}

/* the float32 data work through every public pass; the mirror-descent reference refuses them */
static void test_passes_and_reference(void **state)
{
    (void)state;
    char err[256] = "";
    const spec *s = &specs[0];
    moem_data d64, d32;
    moem_model m;
    setup(s, 7, &d64, &m);
    copy_data(&d32, &d64);
    assert_int_equal(moem_data_to_f32(&d32, err, sizeof err), 0);
    size_t n = d64.n, K = m.K, d = m.d;
    double *R = malloc(2 * n * K * sizeof(double)), *g = malloc(4 * K * d * sizeof(double));
    assert_non_null(R);
    assert_non_null(g);
    assert_true(moem_objective(&d32, &m) == moem_objective(&d64, &m));
    assert_true(moem_responsibilities(&d32, &m, R, NULL) == moem_responsibilities(&d64, &m, R + n * K, NULL));
    assert_memory_equal(R, R + n * K, n * K * sizeof(double));
    double s2a[3], s2b[3];
    assert_true(moem_gradient(&d32, &m, g, g + K * d, s2a) == moem_gradient(&d64, &m, g + 2 * K * d, g + 3 * K * d, s2b));
    assert_memory_equal(g, g + 2 * K * d, 2 * K * d * sizeof(double));
    assert_memory_equal(s2a, s2b, K * sizeof(double));

    moem_params p;
    moem_params_default(&p);
    p.algo = MOEM_ALGO_MD;
    assert_null(moem_check_params(&d64, &m, &p));
    const char *why = moem_check_params(&d32, &m, &p);
    assert_non_null(why);
    assert_non_null(strstr(why, "float64"));
    moem_trace tr;
    assert_int_equal(moem_fit(&d32, &m, &p, &tr, err, sizeof err), -1);
    assert_non_null(strstr(err, "float64"));
    moem_trace_free(&tr);
    err[0] = 0;
    assert_int_equal(moem_md_step(&d32, &m, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "float64"));
    assert_true(isnan(moem_md_objective(&d32, &m, NULL, NULL)));
    assert_true(isnan(moem_md_bregman(&d32, &m, &m)));
    assert_true(isnan(moem_md_surrogate(&d32, &m, &m)));
    moem_md_check chk;
    err[0] = 0;
    assert_int_equal(moem_md_check_step(&d32, &m, &m, NULL, &chk, err, sizeof err), -1);
    assert_non_null(strstr(err, "float64"));
    free(R);
    free(g);
    moem_model_free(&m);
    moem_data_free(&d64);
    moem_data_free(&d32);
}

/* ---- the command ------------------------------------------------------------------------- */

static int run(char *out, size_t outlen, const char *fmt, ...)
{
    char cmd[4096], full[4200], buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(full, sizeof full, "{ %s ; } 2>&1", cmd);
    FILE *p = popen(full, "r");
    assert_non_null(p);
    size_t len = 0, r;
    out[0] = 0;
    while ((r = fread(buf, 1, sizeof buf, p)) > 0)
        if (len + r < outlen) { memcpy(out + len, buf, r); len += r; out[len] = 0; }
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* the trace's header line and objectives; returns the number of rows */
static int read_trace(const char *path, char *head, size_t headlen, double *obj, int max)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    assert_non_null(fgets(head, (int)headlen, f));
    assert_non_null(fgets(line, sizeof line, f));
    int it, rows = 0;
    double o, secs;
    while (rows < max && fgets(line, sizeof line, f) && sscanf(line, "%d,%lf,%lf", &it, &o, &secs) == 3)
        obj[rows++] = o;
    fclose(f);
    return rows;
}

static void test_cli(void **state)
{
    (void)state;
    char err[256], out[8192], head32[256], head64[256];
    mkdir(MOEM_TEST_TMP, 0777);
    mkdir(TMP, 0777);
    const spec s = {MOEM_LINEAR, 1, 2, 4, 1, 800, "symlin"};
    moem_data data;
    moem_model start;
    setup(&s, 3, &data, &start);                 /* X exactly representable in float32 */
    assert_int_equal(moem_csv_write(TMP "/symlin.csv", &data, err, sizeof err), 0);
    data.X[5] = 1e39;
    assert_int_equal(moem_csv_write(TMP "/huge.csv", &data, err, sizeof err), 0);
    moem_data_free(&data);
    moem_model_free(&start);

    const char *algos[] = {"em", "gd"};
    for (int a = 0; a < 2; a++) {
        double o32[32], o64[32];
        int rc = run(out, sizeof out, "%s fit --data %s/symlin.csv --model symlin --algo %s --lr 0.5 --iters 8 "
                     "--precision f32 --quiet --out %s/m32.json --trace %s/t32.csv", MOEM_BIN, TMP, algos[a], TMP, TMP);
        if (rc) fail_msg("fit --precision f32: %s", out);
        rc = run(out, sizeof out, "%s fit --data %s/symlin.csv --model symlin --algo %s --lr 0.5 --iters 8 "
                 "--precision f64 --quiet --out %s/m64.json --trace %s/t64.csv", MOEM_BIN, TMP, algos[a], TMP, TMP);
        if (rc) fail_msg("fit --precision f64: %s", out);
        int r32 = read_trace(TMP "/t32.csv", head32, sizeof head32, o32, 32);
        int r64 = read_trace(TMP "/t64.csv", head64, sizeof head64, o64, 32);
        assert_int_equal(r32, 9);
        assert_int_equal(r64, 9);
        if (!strstr(head32, " precision=f32 ")) fail_msg("trace header: %s", head32);
        if (!strstr(head64, " precision=f64 ")) fail_msg("trace header: %s", head64);
        for (int t = 0; t < 9; t++) {
            double e = rel(o32[t], o64[t]);
            if (a == 1 ? e != 0.0 : e > PREC_TOL_EM)
                fail_msg("%s iteration %d: f32 %.17g f64 %.17g", algos[a], t, o32[t], o64[t]);
        }
    }
    /* the default is f64 */
    assert_int_equal(run(out, sizeof out, "%s fit --data %s/symlin.csv --model symlin --algo gd --iters 1 --quiet "
                         "--out %s/m.json --trace %s/t.csv", MOEM_BIN, TMP, TMP, TMP), 0);
    double o[4];
    assert_int_equal(read_trace(TMP "/t.csv", head64, sizeof head64, o, 4), 2);
    assert_non_null(strstr(head64, " precision=f64 "));

    /* a bad value: exit 2, one line */
    remove(TMP "/bad.json");
    assert_int_equal(run(out, sizeof out, "%s fit --data %s/symlin.csv --model symlin --algo em --precision f16 "
                         "--out %s/bad.json", MOEM_BIN, TMP, TMP), 2);
    assert_non_null(strstr(out, "moem fit: "));
    assert_non_null(strstr(out, "--precision"));
    assert_true(strchr(out, '\n') == out + strlen(out) - 1);
    struct stat st;
    assert_int_not_equal(stat(TMP "/bad.json", &st), 0);
    /* a value outside the float range, and the mirror-descent reference: clear errors */
    assert_int_equal(run(out, sizeof out, "%s fit --data %s/huge.csv --model symlin --algo em --precision f32 "
                         "--out %s/bad.json", MOEM_BIN, TMP, TMP), 1);
    if (!strstr(out, "float32") || !strstr(out, "huge.csv")) fail_msg("out of range: %s", out);
    assert_int_equal(run(out, sizeof out, "%s fit --data %s/symlin.csv --model symlin --algo md --precision f32 "
                         "--out %s/bad.json", MOEM_BIN, TMP, TMP), 1);
    if (!strstr(out, "float64")) fail_msg("md: %s", out);
    assert_int_not_equal(stat(TMP "/bad.json", &st), 0);
    /* the help text names it; the experiment takes it too */
    assert_int_equal(run(out, sizeof out, "%s fit --help", MOEM_BIN), 0);
    assert_non_null(strstr(out, "--precision"));
    assert_int_equal(run(out, sizeof out, "%s experiment synthetic --precision double", MOEM_BIN), 2);
    assert_int_equal(run(out, sizeof out, "%s experiment fmnist --precision 32", MOEM_BIN), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_to_f32),
        cmocka_unit_test(test_to_f32_range),
        cmocka_unit_test(test_trajectories),
        cmocka_unit_test(test_passes_and_reference),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
