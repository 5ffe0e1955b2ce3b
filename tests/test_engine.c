/* Engine tests: gradients against finite differences, EM monotonicity, weighted least squares
 * against a direct solve, recovery of the truth, and the golden EM trajectories. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "csv.h"
#include "internal.h"
#include "moem.h"
#include "rng.h"
#include "synth.h"

typedef struct spec { moem_family f; int sym; size_t K, C; const char *name; } spec;
static const spec specs[] = {
    {MOEM_LINEAR, 0, 3, 1, "linear K=3"}, {MOEM_LOGISTIC, 0, 2, 2, "logistic K=2"},
    {MOEM_SOFTMAX, 0, 2, 3, "softmax K=2 C=3"}, {MOEM_LINEAR, 1, 2, 1, "symlin"},
    {MOEM_LOGISTIC, 1, 2, 2, "symlog"}, {MOEM_LOGISTIC, 0, 3, 2, "logistic K=3"},
};
#define NSPEC (sizeof specs / sizeof specs[0])

/* data from a random truth, and a different random model to evaluate at */
static void setup(const spec *s, size_t n, size_t d, uint64_t seed, moem_data *data, moem_model *truth,
                  moem_model *m)
{
    char err[256];
    moem_rng r;
    moem_rng_seed(&r, seed);
    assert_int_equal(moem_synth_truth(truth, s->f, s->sym, s->K, d, s->C, 2.0, 2.0, &r, err, sizeof err), 0);
    assert_int_equal(moem_synth_sample(truth, n, &r, data, err, sizeof err), 0);
    assert_int_equal(moem_synth_truth(m, s->f, s->sym, s->K, d, s->C, 1.0, 1.0, &r, err, sizeof err), 0);
    if (s->f == MOEM_LINEAR && !s->sym)
        for (size_t k = 0; k < s->K; k++) m->sigma2[k] = 0.5 + (double)k;
}

static void test_gradient_fd(void **state)
{
    (void)state;
    for (size_t si = 0; si < NSPEC; si++) {
        const spec *s = &specs[si];
        moem_data data;
        moem_model truth, m;
        size_t d = 3;
        setup(s, 60, d, 11 + si, &data, &truth, &m);
        size_t K = m.K, P = moem_expert_rows(&m), nW = K * d, nB = K * P * d;
        double *gW = malloc(nW * sizeof *gW), *gB = malloc(nB * sizeof *gB), gs2[8];
        double L = moem_gradient(&data, &m, gW, gB, gs2);
        assert_true(fabs(L - moem_objective(&data, &m)) <= 1e-14 * fabs(L));
        const double h = 1e-5;
        /* gate rows except the pinned one */
        for (size_t i = 0; i < (K - 1) * d; i++) {
            double v = m.W[i];
            m.W[i] = v + h; double Lp = moem_objective(&data, &m);
            m.W[i] = v - h; double Lm = moem_objective(&data, &m);
            m.W[i] = v;
            double fd = (Lp - Lm) / (2 * h);
            if (fabs(fd - gW[i]) > 1e-7 * (1 + fabs(fd))) fail_msg("%s: gate %zu: fd %.12g grad %.12g", s->name, i, fd, gW[i]);
        }
        for (size_t c = 0; c < d; c++) assert_true(gW[(K - 1) * d + c] == 0.0);
        size_t nfree = s->sym ? d : nB;
        for (size_t i = 0; i < nfree; i++) {
            double v = m.B[i];
            m.B[i] = v + h; if (s->sym) m.B[d + i] = -(v + h);
            double Lp = moem_objective(&data, &m);
            m.B[i] = v - h; if (s->sym) m.B[d + i] = -(v - h);
            double Lm = moem_objective(&data, &m);
            m.B[i] = v; if (s->sym) m.B[d + i] = -v;
            double fd = (Lp - Lm) / (2 * h);
            if (fabs(fd - gB[i]) > 1e-7 * (1 + fabs(fd))) fail_msg("%s: expert %zu: fd %.12g grad %.12g", s->name, i, fd, gB[i]);
        }
        if (s->f == MOEM_LINEAR && !s->sym)
            for (size_t k = 0; k < K; k++) {
                double v = m.sigma2[k];
                m.sigma2[k] = v + h; double Lp = moem_objective(&data, &m);
                m.sigma2[k] = v - h; double Lm = moem_objective(&data, &m);
                m.sigma2[k] = v;
                double fd = (Lp - Lm) / (2 * h);
                if (fabs(fd - gs2[k]) > 1e-7 * (1 + fabs(fd))) fail_msg("%s: sigma2 %zu: fd %.12g grad %.12g", s->name, k, fd, gs2[k]);
            }
        free(gW); free(gB);
        moem_data_free(&data); moem_model_free(&truth); moem_model_free(&m);
    }
}

/* The objective against a direct evaluation of -(1/N) sum log sum_k pi_k e_k (no log space). */
static void test_objective_direct(void **state)
{
    (void)state;
    for (size_t si = 0; si < NSPEC; si++) {
        const spec *s = &specs[si];
        moem_data data;
        moem_model truth, m;
        size_t d = 4;
        setup(s, 40, d, 101 + si, &data, &truth, &m);
        size_t K = m.K, P = moem_expert_rows(&m);
        double total = 0;
        for (size_t i = 0; i < data.n; i++) {
            const double *x = data.X + i * d;
            double g[8], gs = 0, lik = 0;
            for (size_t k = 0; k < K; k++) { g[k] = 0; for (size_t c = 0; c < d; c++) g[k] += m.W[k * d + c] * x[c]; gs += exp(g[k]); }
            for (size_t k = 0; k < K; k++) {
                double e, sc[8];
                for (size_t p = 0; p < P; p++) { sc[p] = 0; for (size_t c = 0; c < d; c++) sc[p] += m.B[(k * P + p) * d + c] * x[c]; }
                double y = data.y[i];
                if (s->f == MOEM_LINEAR) e = exp(-(y - sc[0]) * (y - sc[0]) / (2 * m.sigma2[k])) / sqrt(2 * 3.14159265358979323846 * m.sigma2[k]);
                else if (s->f == MOEM_LOGISTIC) { double p1 = 1 / (1 + exp(-sc[0])); e = y == 1 ? p1 : 1 - p1; }
                else { double z = 0; for (size_t p = 0; p < P; p++) z += exp(sc[p]); e = exp(sc[(size_t)y]) / z; }
                lik += exp(g[k]) / gs * e;
            }
            total -= log(lik);
        }
        total /= (double)data.n;
        double L = moem_objective(&data, &m);
        if (fabs(L - total) > 1e-12 * fabs(total)) fail_msg("%s: objective %.17g direct %.17g", s->name, L, total);
        moem_data_free(&data); moem_model_free(&truth); moem_model_free(&m);
    }
}

static void test_em_monotone(void **state)
{
    (void)state;
    char err[256];
    for (size_t si = 0; si < NSPEC; si++) {
        const spec *s = &specs[si];
        for (int learn = 0; learn <= (s->f == MOEM_LINEAR && !s->sym); learn++) {
            moem_data data;
            moem_model truth, m;
            setup(s, 400, 3, 300 + si, &data, &truth, &m);
            moem_params p;
            moem_params_default(&p);
            p.learn_sigma2 = learn;
            double L = moem_objective(&data, &m);
            for (int t = 0; t < 15; t++) {
                if (moem_em_step(&data, &m, &p, err, sizeof err)) fail_msg("%s: %s", s->name, err);
                assert_null(moem_model_validate(&m));
                double Ln = moem_objective(&data, &m);
                if (!(Ln <= L + 1e-12 * fabs(L))) fail_msg("%s: EM increased L at %d: %.17g -> %.17g", s->name, t, L, Ln);
                L = Ln;
            }
            moem_data_free(&data); moem_model_free(&truth); moem_model_free(&m);
        }
    }
}

/* Gaussian elimination with partial pivoting: an independent direct solve. */
static void gauss(size_t n, double *A, double *b)
{
    for (size_t c = 0; c < n; c++) {
        size_t piv = c;
        for (size_t r = c + 1; r < n; r++) if (fabs(A[r * n + c]) > fabs(A[piv * n + c])) piv = r;
        for (size_t j = 0; j < n; j++) { double t = A[c * n + j]; A[c * n + j] = A[piv * n + j]; A[piv * n + j] = t; }
        double t = b[c]; b[c] = b[piv]; b[piv] = t;
        for (size_t r = c + 1; r < n; r++) {
            double f = A[r * n + c] / A[c * n + c];
            for (size_t j = c; j < n; j++) A[r * n + j] -= f * A[c * n + j];
            b[r] -= f * b[c];
        }
    }
    for (size_t c = n; c-- > 0;) {
        for (size_t j = c + 1; j < n; j++) b[c] -= A[c * n + j] * b[j];
        b[c] /= A[c * n + c];
    }
}

static void test_wls_direct(void **state)
{
    (void)state;
    char err[256];
    moem_data data;
    moem_model truth, m;
    setup(&specs[0], 200, 5, 7, &data, &truth, &m);
    size_t n = data.n, d = data.d, K = m.K;
    double *R = malloc(n * K * sizeof *R);
    moem_rng r;
    moem_rng_seed(&r, 99);
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t k = 0; k < K; k++) { R[i * K + k] = moem_rng_uniform(&r) + 1e-3; s += R[i * K + k]; }
        for (size_t k = 0; k < K; k++) R[i * K + k] /= s;
    }
    assert_int_equal(moem_mstep_linear(&data, &m, R, 1, 0.0, err, sizeof err), 0);
    for (size_t k = 0; k < K; k++) {
        double A[25] = {0}, b[5] = {0}, rs = 0, ss = 0;
        for (size_t i = 0; i < n; i++) {
            const double *x = data.X + i * d;
            for (size_t a = 0; a < d; a++) {
                b[a] += R[i * K + k] * x[a] * data.y[i];
                for (size_t c = 0; c < d; c++) A[a * d + c] += R[i * K + k] * x[a] * x[c];
            }
        }
        gauss(d, A, b);
        for (size_t a = 0; a < d; a++)
            if (fabs(b[a] - m.B[k * d + a]) > 1e-10 * (1 + fabs(b[a]))) fail_msg("expert %zu coef %zu: %.17g vs %.17g", k, a, m.B[k * d + a], b[a]);
        for (size_t i = 0; i < n; i++) {
            double pr = 0;
            for (size_t a = 0; a < d; a++) pr += b[a] * data.X[i * d + a];
            ss += R[i * K + k] * (data.y[i] - pr) * (data.y[i] - pr);
            rs += R[i * K + k];
        }
        assert_true(fabs(m.sigma2[k] - ss / rs) <= 1e-10 * ss / rs);
    }
    /* a singular system is a clear error, not a silent answer */
    for (size_t i = 0; i < n; i++) { R[i * K] = 0; R[i * K + 1] = 0.5; R[i * K + 2] = 0.5; }
    assert_int_equal(moem_mstep_linear(&data, &m, R, 0, 0.0, err, sizeof err), -1);
    assert_non_null(strstr(err, "singular"));
    free(R);
    moem_data_free(&data); moem_model_free(&truth); moem_model_free(&m);
}

static double reldist(const double *a, const double *b, size_t n)
{
    double s = 0, t = 0;
    for (size_t i = 0; i < n; i++) { s += (a[i] - b[i]) * (a[i] - b[i]); t += b[i] * b[i]; }
    return sqrt(s / t);
}

static void test_recovery(void **state)
{
    (void)state;
    char err[256];
    const spec rs[] = {{MOEM_LINEAR, 1, 2, 1, "symlin"}, {MOEM_LINEAR, 0, 3, 1, "linear K=3"},
                       {MOEM_LOGISTIC, 1, 2, 2, "symlog"}};
    const double tol[] = {0.05, 0.08, 0.15};
    for (size_t si = 0; si < 3; si++) {
        moem_rng r;
        moem_model truth, m;
        moem_data data;
        size_t d = 3;
        moem_rng_seed(&r, 1234 + si);
        assert_int_equal(moem_synth_truth(&truth, rs[si].f, rs[si].sym, rs[si].K, d, 1, 3.0, 4.0, &r, err, sizeof err), 0);
        assert_int_equal(moem_synth_sample(&truth, 30000, &r, &data, err, sizeof err), 0);
        assert_int_equal(moem_model_copy(&m, &truth, err, sizeof err), 0);
        for (size_t i = 0; i < (m.K - 1) * d; i++) m.W[i] += 0.5 * moem_rng_normal(&r);
        for (size_t i = 0; i < m.K * d; i++) m.B[i] += 0.5 * moem_rng_normal(&r);
        if (m.symmetric) for (size_t c = 0; c < d; c++) m.B[d + c] = -m.B[c];
        moem_params p;
        moem_params_default(&p);
        p.iters = 60;
        moem_trace tr;
        assert_int_equal(moem_fit(&data, &m, &p, &tr, err, sizeof err), 0);
        double eb = reldist(m.B, truth.B, m.K * d), ew = reldist(m.W, truth.W, m.K * d);
        if (eb > tol[si] || ew > 2 * tol[si]) fail_msg("%s: relative errors beta %.3g gate %.3g", rs[si].name, eb, ew);
        moem_trace_free(&tr);
        moem_data_free(&data); moem_model_free(&truth); moem_model_free(&m);
    }
}

static void read_objective_csv(const char *path, double *obj, int *count)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    *count = 0;
    assert_non_null(fgets(line, sizeof line, f));
    int it;
    double v;
    while (fgets(line, sizeof line, f) && sscanf(line, "%d,%lf", &it, &v) == 2) obj[(*count)++] = v;
    fclose(f);
}

static void golden(const char *data_file, const char *init_file, const char *obj_file, const char *after_file, int learn)
{
    char err[512], path[1024];
    moem_data data;
    moem_model m, want;
    snprintf(path, sizeof path, "%s/golden/%s", MOEM_TESTS_DIR, data_file);
    if (moem_csv_read(path, &data, err, sizeof err)) fail_msg("%s", err);
    snprintf(path, sizeof path, "%s/golden/%s", MOEM_TESTS_DIR, init_file);
    if (moem_model_read(path, &m, err, sizeof err)) fail_msg("%s", err);
    snprintf(path, sizeof path, "%s/golden/%s", MOEM_TESTS_DIR, after_file);
    if (moem_model_read(path, &want, err, sizeof err)) fail_msg("%s", err);
    double obj[64];
    int cnt;
    snprintf(path, sizeof path, "%s/golden/%s", MOEM_TESTS_DIR, obj_file);
    read_objective_csv(path, obj, &cnt);
    assert_true(cnt >= 11);
    moem_params p;
    moem_params_default(&p);
    p.iters = 10;
    p.newton_tol = 1e-26;
    p.learn_sigma2 = learn;
    moem_trace tr;
    if (moem_fit(&data, &m, &p, &tr, err, sizeof err)) fail_msg("%s", err);
    for (int t = 0; t <= 10; t++)
        if (fabs(tr.objective[t] - obj[t]) > 1e-10 * fabs(obj[t]))
            fail_msg("%s: iteration %d objective %.17g, golden %.17g", obj_file, t, tr.objective[t], obj[t]);
    size_t d = m.d;
    for (size_t i = 0; i < m.K * d; i++) {
        if (fabs(m.W[i] - want.W[i]) > 1e-8) fail_msg("%s: gate[%zu] %.17g, golden %.17g", after_file, i, m.W[i], want.W[i]);
        if (fabs(m.B[i] - want.B[i]) > 1e-8) fail_msg("%s: beta[%zu] %.17g, golden %.17g", after_file, i, m.B[i], want.B[i]);
    }
    for (size_t k = 0; k < m.K; k++)
        if (fabs(m.sigma2[k] - want.sigma2[k]) > 1e-8) fail_msg("%s: sigma2[%zu]", after_file, k);
    moem_trace_free(&tr);
    moem_data_free(&data); moem_model_free(&m); moem_model_free(&want);
}

static void test_golden_symlin(void **state)
{
    (void)state;
    golden("symlin_n300_d5.csv", "symlin_init.json", "symlin_em_objective.csv", "symlin_em_after10.json", 0);
}
static void test_golden_linear3_fixed(void **state)
{
    (void)state;
    golden("linear3_n400_d4.csv", "linear3_truth.json", "linear3_em_objective_fixedvar.csv", "linear3_em_after10_fixedvar.json", 0);
}
static void test_golden_linear3_learned(void **state)
{
    (void)state;
    golden("linear3_n400_d4.csv", "linear3_truth.json", "linear3_em_objective_learnedvar.csv", "linear3_em_after10_learnedvar.json", 1);
}

/* Gradient EM with equal steps is gradient descent (T11, bit for bit); with different steps it is not. */
static void test_gem_equals_gd(void **state)
{
    (void)state;
    char err[256];
    for (size_t si = 0; si < NSPEC; si++) {
        moem_data data;
        moem_model truth, a, b;
        setup(&specs[si], 100, 3, 500 + si, &data, &truth, &a);
        assert_int_equal(moem_model_copy(&b, &a, err, sizeof err), 0);
        moem_params p;
        moem_params_default(&p);
        p.lr = p.lr_gate = 0.3;
        for (int t = 0; t < 5; t++) {
            assert_int_equal(moem_gem_step(&data, &a, &p, err, sizeof err), 0);
            assert_int_equal(moem_gd_step(&data, &b, &p, err, sizeof err), 0);
        }
        assert_memory_equal(a.W, b.W, a.K * a.d * sizeof(double));
        assert_memory_equal(a.B, b.B, a.K * moem_expert_rows(&a) * a.d * sizeof(double));
        p.lr_gate = 0.6;
        assert_int_equal(moem_gem_step(&data, &a, &p, err, sizeof err), 0);
        assert_int_equal(moem_gd_step(&data, &b, &p, err, sizeof err), 0);
        assert_true(memcmp(a.W, b.W, a.K * a.d * sizeof(double)) != 0);
        moem_data_free(&data); moem_model_free(&truth); moem_model_free(&a); moem_model_free(&b);
    }
}

/* The inner-gradient-steps mode moves towards the Newton solution and is a generalised EM. */
static void test_inner_steps(void **state)
{
    (void)state;
    char err[256];
    moem_data data;
    moem_model truth, m;
    setup(&specs[2], 300, 3, 77, &data, &truth, &m);
    moem_params p;
    moem_params_default(&p);
    p.inner_steps = 5;
    double L = moem_objective(&data, &m);
    for (int t = 0; t < 10; t++) {
        assert_int_equal(moem_em_step(&data, &m, &p, err, sizeof err), 0);
        double Ln = moem_objective(&data, &m);
        assert_true(Ln <= L + 1e-12);
        L = Ln;
    }
    moem_data_free(&data); moem_model_free(&truth); moem_model_free(&m);
}

/* One thread-count rule: a call's moem_params.threads (> 0) holds for that call only; 0 takes
 * the process setting (moem_set_threads); nested calls restore the outer count. */
static int record_threads(void *ctx, int t, const moem_model *m, double objective, double seconds)
{
    (void)t; (void)m; (void)objective; (void)seconds;
    *(size_t *)ctx = moem_threads();
    return 0;
}

static void test_thread_rule(void **state)
{
    (void)state;
    char err[256];
    moem_data data;
    moem_model truth, m;
    setup(&specs[0], 200, 3, 77, &data, &truth, &m);
    moem_params p;
    moem_params_default(&p);
    p.iters = 2;
    size_t seen = 0;
    p.on_iter = record_threads;
    p.ctx = &seen;
    moem_trace tr;
    moem_set_threads(1);
    p.threads = 3;
    assert_int_equal(moem_fit(&data, &m, &p, &tr, err, sizeof err), 0);
    moem_trace_free(&tr);
#ifdef _OPENMP
    assert_int_equal(seen, 3);                 /* the call's own count */
#endif
    assert_int_equal(moem_threads(), 1);       /* the process setting is left as it was */
    p.threads = 0;
    assert_int_equal(moem_fit(&data, &m, &p, &tr, err, sizeof err), 0);
    moem_trace_free(&tr);
    assert_int_equal(seen, 1);                 /* 0: the process setting */
    int outer = moem_threads_begin(2), inner = moem_threads_begin(0);
#ifdef _OPENMP
    assert_int_equal(moem_threads(), 2);       /* 0 inside keeps the outer call's count */
#endif
    moem_threads_end(inner);
    moem_threads_end(outer);
    assert_int_equal(moem_threads(), 1);
    moem_set_threads(0);
    moem_data_free(&data); moem_model_free(&truth); moem_model_free(&m);
}

/* moem_run_rows' body for test_run_rows: out[0] += rows, out[1] += their indices; -1 on the
 * range holding row *fail_at; the scratch must be the thread's own (filled, then checked) */
static int count_rows(const void *vc, size_t lo, size_t hi, double *out, double *scr)
{
    const size_t *fail_at = vc;
    if (*fail_at >= lo && *fail_at < hi) return -1;
    for (size_t k = 0; k < 4; k++) scr[k] = (double)lo;
    out[0] += (double)(hi - lo);
    for (size_t i = lo; i < hi; i++) out[1] += (double)i;
    for (size_t k = 0; k < 4; k++) if (scr[k] != (double)lo) return -1;
    return 0;
}

/* The one row driver: every range once, sums merged, a failing body fails the call, buffers
 * reused (moem_rows_ws); and a team smaller than the thread count asked for (a nested region,
 * which OpenMP runs on one thread) still covers every row, with the same bits: a pass depends
 * on the thread count only. */
static void test_run_rows(void **state)
{
    (void)state;
    size_t n = 1001, none = SIZE_MAX, last = n - 1;
    double want[2] = {(double)n, (double)n * (double)(n - 1) / 2};
    for (size_t T = 1; T <= 4; T++) {
        double out[2] = {0, 0};
        assert_int_equal(moem_run_rows(n, T, 2, out, count_rows, &none, 4), 0);
        assert_true(out[0] == want[0] && out[1] == want[1]);
        assert_int_equal(moem_run_rows(n, T, 2, out, count_rows, &last, 4), -1);
        moem_rows_ws ws;
        assert_int_equal(moem_rows_ws_init(&ws, T, 2, 4), 0);
        for (int rep = 0; rep < 2; rep++) {
            double o[2] = {0, 0};
            assert_int_equal(moem_run_rows_ws(n, &ws, 2, o, count_rows, &none), 0);
            assert_true(o[0] == want[0] && o[1] == want[1]);
        }
        assert_int_equal(moem_run_rows_ws(n, &ws, 3, out, count_rows, &none), -1);   /* > len */
        moem_rows_ws_free(&ws);
    }
#ifdef _OPENMP
    moem_data data;
    moem_model truth, m;
    setup(&specs[0], 20000, 3, 5, &data, &truth, &m);
    moem_set_threads(2);
    double L = moem_objective(&data, &m), Ln[2] = {NAN, NAN}, cn[2][2];
    int levels = omp_get_max_active_levels(), team = 0;
    omp_set_max_active_levels(1);
#pragma omp parallel num_threads(2)
    {
        int t = omp_get_thread_num();
        if (t == 0) team = omp_get_num_threads();
        Ln[t] = moem_objective(&data, &m);
        cn[t][0] = cn[t][1] = 0;
        if (moem_run_rows(n, 3, 2, cn[t], count_rows, &none, 4)) cn[t][0] = -1;
    }
    omp_set_max_active_levels(levels);
    moem_set_threads(0);
    assert_true(team >= 1);
    for (int t = 0; t < team; t++) {
        assert_memory_equal(&Ln[t], &L, sizeof L);
        assert_true(cn[t][0] == want[0] && cn[t][1] == want[1]);
    }
    moem_data_free(&data); moem_model_free(&truth); moem_model_free(&m);
#endif
}

static void test_params_check(void **state)
{
    (void)state;
    moem_data data;
    moem_model truth, m;
    setup(&specs[1], 20, 3, 9, &data, &truth, &m);
    moem_params p;
    moem_params_default(&p);
    assert_null(moem_check_params(&data, &m, &p));
    p.lr = -1; assert_non_null(moem_check_params(&data, &m, &p)); p.lr = 1;
    p.learn_sigma2 = 1; assert_non_null(moem_check_params(&data, &m, &p)); p.learn_sigma2 = 0;
    data.y[3] = 0.5; assert_non_null(moem_check_params(&data, &m, &p)); data.y[3] = 1;
    m.W[(m.K - 1) * m.d] = 1; assert_non_null(moem_check_params(&data, &m, &p)); m.W[(m.K - 1) * m.d] = 0;
    data.d = 2; assert_non_null(moem_check_params(&data, &m, &p)); data.d = 3;
    moem_data_free(&data); moem_model_free(&truth); moem_model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_objective_direct),
        cmocka_unit_test(test_gradient_fd),
        cmocka_unit_test(test_em_monotone),
        cmocka_unit_test(test_wls_direct),
        cmocka_unit_test(test_recovery),
        cmocka_unit_test(test_golden_symlin),
        cmocka_unit_test(test_golden_linear3_fixed),
        cmocka_unit_test(test_golden_linear3_learned),
        cmocka_unit_test(test_gem_equals_gd),
        cmocka_unit_test(test_inner_steps),
        cmocka_unit_test(test_params_check),
        cmocka_unit_test(test_thread_rule),
        cmocka_unit_test(test_run_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
