/* Numerical edge cases: none may crash or produce NaN. Gate and expert logits up to +-1e300,
 * perfectly separable labels, an expert whose responsibilities collapse to 0, duplicated and
 * constant features, N = 1, d = 1, K larger than the number of distinct points. EM's objective
 * never increases; a run that cannot go on stops with an error that says why, and leaves a
 * finite model and a finite trace behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "moem.h"
#include "rng.h"

/* allowed rise of an EM objective per iteration: rounding of the sums and the Newton tolerance
 * of the inner sub-problems (1e-10 on the decrement), far below any real increase */
#define EM_SLACK(L) (1e-9 * (1.0 + fabs(L)))

static void data_make(moem_data *dt, size_t n, size_t d)
{
    char err[256];
    if (moem_data_alloc(dt, n, d, err, sizeof err)) fail_msg("%s", err);
}

static void model_make(moem_model *m, moem_family f, int sym, size_t K, size_t d, size_t C)
{
    char err[256];
    if (moem_model_alloc(m, f, sym, K, d, C, err, sizeof err)) fail_msg("%s", err);
}

/* a small random start: N(0, 0.25) entries, pinned row and symmetry respected */
static void model_random(moem_model *m, uint64_t seed)
{
    moem_rng r;
    moem_rng_seed(&r, seed);
    size_t d = m->d, P = moem_expert_rows(m);
    for (size_t i = 0; i < (m->K - 1) * d; i++) m->W[i] = 0.5 * moem_rng_normal(&r);
    for (size_t i = 0; i < m->K * P * d; i++) m->B[i] = 0.5 * moem_rng_normal(&r);
    if (m->symmetric)
        for (size_t c = 0; c < d; c++) m->B[d + c] = -m->B[c];
}

static void no_nan(const char *what, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isnan(v[i])) fail_msg("%s: NaN at %zu", what, i);
}

#define MAX_T 256
typedef struct penalized { double ridge, f[MAX_T]; } penalized;

/* records L + ridge/2 |theta|^2, the objective that (ridge) EM decreases */
static int on_iter(void *ctx, int t, const moem_model *m, double L, double secs)
{
    penalized *p = ctx;
    (void)secs;
    double s = 0.0;
    for (size_t i = 0; i < m->K * m->d; i++) s += m->W[i] * m->W[i];
    for (size_t i = 0; i < m->K * moem_expert_rows(m) * m->d; i++) s += m->B[i] * m->B[i];
    if (t < MAX_T) p->f[t] = L + 0.5 * p->ridge * s;
    return 0;
}

/* Runs p->iters iterations of algo from m. Every objective in the trace must be finite and the
 * model valid (finite) afterwards; EM's objective must not increase. allow_error: the run may
 * stop early with a message, which must contain want (when given). Returns moem_fit's code. */
static int fit_check(const char *name, const moem_data *dt, moem_model *m, moem_algo algo,
                     int iters, double ridge, int allow_error, const char *want)
{
    moem_params p;
    moem_params_default(&p);
    p.algo = algo;
    p.iters = iters;
    p.ridge = ridge;
    p.lr = algo == MOEM_ALGO_EM ? 1.0 : 0.1;
    penalized pen = {ridge, {0}};
    p.on_iter = on_iter;
    p.ctx = &pen;
    moem_trace tr;
    char err[512] = "";
    int rc = moem_fit(dt, m, &p, &tr, err, sizeof err);
    if (rc && !allow_error) fail_msg("%s: stopped at iteration %d: %s", name, tr.iters, err);
    if (rc) {
        if (!err[0]) fail_msg("%s: an error without a message", name);
        if (want && !strstr(err, want)) fail_msg("%s: message '%s' lacks '%s'", name, err, want);
        if (strstr(err, "non-finite")) fail_msg("%s: the objective overflowed: %s", name, err);
        print_message("%s: stopped after %d iterations: %s\n", name, tr.iters, err);
    } else {
        assert_int_equal(tr.iters, iters);
    }
    if (tr.objective)
        for (int t = 0; t <= tr.iters; t++)
            if (!isfinite(tr.objective[t])) fail_msg("%s: objective %g at iteration %d", name, tr.objective[t], t);
    const char *bad = moem_model_validate(m);
    if (bad) fail_msg("%s: model after the run: %s", name, bad);
    /* with a ridge EM is monotone in L + ridge/2 |theta|^2 (from iteration 1 on: the first
     * M-step may move a softmax expert's rows to the pinned parametrisation) */
    if (algo == MOEM_ALGO_EM && tr.objective)
        for (int t = ridge > 0 ? 1 : 0; t < tr.iters && t + 1 < MAX_T; t++)
            if (pen.f[t + 1] > pen.f[t] + EM_SLACK(pen.f[t]))
                fail_msg("%s: EM objective rose from %.17g to %.17g at iteration %d", name,
                         pen.f[t], pen.f[t + 1], t + 1);
    moem_trace_free(&tr);
    return rc;
}

/* the objective, responsibilities, gate probabilities and gradient at m: no NaN; R and PI rows
 * sum to 1; the objective finite */
static void pass_check(const char *name, const moem_data *dt, const moem_model *m)
{
    size_t n = dt->n, K = m->K, d = m->d, P = moem_expert_rows(m);
    double *R = malloc(n * K * sizeof(double)), *PI = malloc(n * K * sizeof(double));
    double *gW = malloc(K * d * sizeof(double)), *gB = malloc(K * P * d * sizeof(double));
    double gs2[8];
    assert_true(R && PI && gW && gB && K <= 8);
    double L = moem_objective(dt, m);
    if (!isfinite(L)) fail_msg("%s: objective %g", name, L);
    double L2 = moem_responsibilities(dt, m, R, PI);
    assert_true(L2 == L);
    no_nan(name, R, n * K);
    no_nan(name, PI, n * K);
    for (size_t i = 0; i < n; i++) {
        double sr = 0, sp = 0;
        for (size_t k = 0; k < K; k++) sr += R[i * K + k], sp += PI[i * K + k];
        if (fabs(sr - 1) > 1e-12 || fabs(sp - 1) > 1e-12) fail_msg("%s: row %zu sums %g %g", name, i, sr, sp);
    }
    double L3 = moem_gradient(dt, m, gW, gB, m->family == MOEM_LINEAR ? gs2 : NULL);
    assert_true(L3 == L);
    no_nan(name, gW, K * d);
    no_nan(name, gB, K * P * d);
    free(R); free(PI); free(gW); free(gB);
}

/* x_i = (u_i, 1) with u_i spread over [-1, 1]; y from the family */
static void data_line(moem_data *dt, size_t n, moem_family f, size_t C)
{
    data_make(dt, n, 2);
    for (size_t i = 0; i < n; i++) {
        double u = n > 1 ? -1.0 + 2.0 * (double)i / (double)(n - 1) : 0.5;
        dt->X[2 * i] = u;
        dt->X[2 * i + 1] = 1.0;
        dt->y[i] = f == MOEM_LINEAR ? 3.0 * fabs(u) - 1.0 + 0.1 * sin(7.0 * (double)i)
                 : f == MOEM_LOGISTIC ? (double)(u > 0) : (double)((size_t)(i * 7 % 11) % C);
    }
}

/* ---- logits up to +-1e300 ------------------------------------------------------------------ */

static void test_huge_logits(void **s)
{
    (void)s;
    static const moem_family fams[3] = {MOEM_LINEAR, MOEM_LOGISTIC, MOEM_SOFTMAX};
    for (int fi = 0; fi < 3; fi++)
        for (int sign = -1; sign <= 1; sign += 2) {
            moem_family f = fams[fi];
            size_t C = f == MOEM_SOFTMAX ? 3 : 1;
            moem_data dt;
            moem_model m;
            data_line(&dt, 40, f, C);
            model_make(&m, f, 0, 3, 2, C);
            model_random(&m, 3);
            m.W[0] = sign * 1e300;            /* gate logits +-1e300 (times u in [-1, 1]) */
            m.W[3] = -sign * 5e299;
            if (f != MOEM_LINEAR) {           /* expert logits +-1e300 too */
                m.B[0] = sign * 1e300;
                m.B[1] = -sign * 1e300;
            }
            char name[64];
            snprintf(name, sizeof name, "huge logits, %s, sign %d", moem_family_name(f), sign);
            pass_check(name, &dt, &m);
            moem_model start;
            assert_int_equal(moem_model_copy(&start, &m, NULL, 0), 0);
            fit_check(name, &dt, &m, MOEM_ALGO_EM, 5, 0.0, f == MOEM_LINEAR, "singular");
            fit_check(name, &dt, &start, MOEM_ALGO_EM, 5, 1e-6, 0, NULL);   /* a ridge carries on */
            moem_model_free(&start);
            moem_data_free(&dt);
            moem_model_free(&m);
        }
}

/* a linear expert predicting 1e300 for every row: its likelihood underflows to exactly 0 while
 * the other expert explains the data: finite objective, that expert gets responsibility 0 */
static void test_huge_linear_prediction(void **s)
{
    (void)s;
    moem_data dt;
    moem_model m;
    data_line(&dt, 30, MOEM_LINEAR, 1);
    model_make(&m, MOEM_LINEAR, 0, 2, 2, 1);
    m.B[1] = 1e300;    /* expert 1: 1e300 * 1 */
    m.B[2] = 1.0;      /* expert 2: y ~ u */
    pass_check("huge linear prediction", &dt, &m);
    double R[60];
    moem_responsibilities(&dt, &m, R, NULL);
    for (size_t i = 0; i < 30; i++) assert_true(R[2 * i] == 0.0 && R[2 * i + 1] == 1.0);
    moem_data_free(&dt);
    moem_model_free(&m);
}

/* ---- separable labels ---------------------------------------------------------------------- */

static void test_separable(void **s)
{
    (void)s;
    for (int soft = 0; soft <= 1; soft++) {
        moem_family f = soft ? MOEM_SOFTMAX : MOEM_LOGISTIC;
        size_t C = soft ? 3 : 2;
        moem_data dt;
        moem_model m;
        data_make(&dt, 60, 2);
        for (size_t i = 0; i < 60; i++) {
            double u = -1.0 + 2.0 * (double)i / 59.0;
            dt.X[2 * i] = u;
            dt.X[2 * i + 1] = 1.0;
            dt.y[i] = soft ? (double)(u < -0.34 ? 0 : u < 0.34 ? 1 : 2) : (double)(u > 0.05);
        }
        for (int algo = 0; algo < 3; algo++) {
            model_make(&m, f, 0, 2, 2, C);
            model_random(&m, 11);
            char name[64];
            snprintf(name, sizeof name, "separable %s, %s", moem_family_name(f), moem_algo_name((moem_algo)algo));
            fit_check(name, &dt, &m, (moem_algo)algo, algo == MOEM_ALGO_EM ? 40 : 200, 0.0, 0, NULL);
            pass_check(name, &dt, &m);
            if (algo == MOEM_ALGO_EM) assert_true(moem_objective(&dt, &m) < 0.05);   /* it separates */
            moem_model_free(&m);
        }
        moem_data_free(&dt);
    }
    /* symmetric logistic experts on separable labels */
    moem_data dt;
    moem_model m;
    data_line(&dt, 50, MOEM_LOGISTIC, 2);
    model_make(&m, MOEM_LOGISTIC, 1, 2, 2, 2);
    model_random(&m, 4);
    fit_check("separable symlog", &dt, &m, MOEM_ALGO_EM, 40, 0.0, 0, NULL);
    moem_model_free(&m);
    moem_data_free(&dt);
}

/* ---- an expert whose responsibilities collapse to 0 ----------------------------------------- */

static void test_collapsed_expert(void **s)
{
    (void)s;
    static const moem_family fams[3] = {MOEM_LINEAR, MOEM_LOGISTIC, MOEM_SOFTMAX};
    for (int fi = 0; fi < 3; fi++) {
        moem_family f = fams[fi];
        size_t C = f == MOEM_SOFTMAX ? 3 : 1;
        moem_data dt;
        moem_model m;
        data_line(&dt, 50, f, C);
        for (int ridge = 0; ridge <= 1; ridge++) {
            model_make(&m, f, 0, 3, 2, C);
            model_random(&m, 5);
            m.W[0] = 0.0;
            m.W[1] = -1000.0;   /* expert 1: gate probability e^-1000 = 0 in double */
            char name[64];
            snprintf(name, sizeof name, "collapsed expert, %s, ridge %d", moem_family_name(f), ridge);
            double R[150];
            moem_responsibilities(&dt, &m, R, NULL);
            for (size_t i = 0; i < 50; i++) assert_true(R[3 * i] == 0.0);
            /* without a ridge the linear expert's least squares is singular: a clear stop */
            int rc = fit_check(name, &dt, &m, MOEM_ALGO_EM, 10, ridge ? 1e-6 : 0.0,
                               f == MOEM_LINEAR && !ridge, "expert 1");
            if (ridge || f != MOEM_LINEAR) assert_int_equal(rc, 0);
            pass_check(name, &dt, &m);
            moem_model_free(&m);
        }
        moem_data_free(&dt);
    }
}

/* ---- duplicated and constant features ------------------------------------------------------- */

static void test_duplicate_constant_features(void **s)
{
    (void)s;
    static const moem_family fams[3] = {MOEM_LINEAR, MOEM_LOGISTIC, MOEM_SOFTMAX};
    for (int fi = 0; fi < 3; fi++) {
        moem_family f = fams[fi];
        size_t C = f == MOEM_SOFTMAX ? 3 : 1;
        moem_data base, dt;
        data_line(&base, 60, f, C);
        data_make(&dt, 60, 5);                  /* (u, u, 1, 1, 0) */
        for (size_t i = 0; i < 60; i++) {
            double *x = dt.X + 5 * i;
            x[0] = x[1] = base.X[2 * i];
            x[2] = x[3] = 1.0;
            x[4] = 0.0;
            dt.y[i] = base.y[i];
        }
        for (int algo = 0; algo < 3; algo++)
            for (int ridge = 0; ridge <= 1; ridge++) {
                moem_model m;
                model_make(&m, f, 0, 2, 5, C);
                model_random(&m, 6);
                char name[80];
                snprintf(name, sizeof name, "duplicated features, %s, %s, ridge %d", moem_family_name(f),
                         moem_algo_name((moem_algo)algo), ridge);
                fit_check(name, &dt, &m, (moem_algo)algo, 15, ridge ? 1e-6 : 0.0,
                          algo == MOEM_ALGO_EM && f == MOEM_LINEAR && !ridge, "singular");
                pass_check(name, &dt, &m);
                moem_model_free(&m);
            }
        moem_data_free(&base);
        moem_data_free(&dt);
    }
    /* every feature constant */
    moem_data dt;
    moem_model m;
    data_make(&dt, 20, 3);
    for (size_t i = 0; i < 20; i++) {
        dt.X[3 * i] = dt.X[3 * i + 1] = dt.X[3 * i + 2] = 2.0;
        dt.y[i] = (double)(i % 2);
    }
    model_make(&m, MOEM_LOGISTIC, 0, 2, 3, 2);
    model_random(&m, 8);
    fit_check("constant features, logistic", &dt, &m, MOEM_ALGO_EM, 10, 0.0, 0, NULL);
    pass_check("constant features, logistic", &dt, &m);
    moem_model_free(&m);
    moem_data_free(&dt);
}

/* ---- N = 1, d = 1 --------------------------------------------------------------------------- */

static void test_one_sample(void **s)
{
    (void)s;
    moem_data dt;
    moem_model m;
    data_make(&dt, 1, 1);
    dt.X[0] = 0.7;
    dt.y[0] = 1.0;
    static const moem_family fams[3] = {MOEM_LINEAR, MOEM_LOGISTIC, MOEM_SOFTMAX};
    for (int fi = 0; fi < 3; fi++)
        for (int algo = 0; algo < 3; algo++) {
            moem_family f = fams[fi];
            model_make(&m, f, 0, 1, 1, f == MOEM_SOFTMAX ? 2 : 1);
            model_random(&m, 9);
            char name[64];
            snprintf(name, sizeof name, "N = 1, %s, %s", moem_family_name(f), moem_algo_name((moem_algo)algo));
            fit_check(name, &dt, &m, (moem_algo)algo, 20, 0.0, 0, NULL);
            pass_check(name, &dt, &m);
            if (f == MOEM_LINEAR && algo == MOEM_ALGO_EM) assert_true(fabs(m.B[0] * 0.7 - 1.0) < 1e-12);
            moem_model_free(&m);
        }
    /* K = 2 > N = 1 is refused with a reason */
    model_make(&m, MOEM_LINEAR, 0, 2, 1, 1);
    moem_params p;
    moem_params_default(&p);
    const char *why = moem_check_params(&dt, &m, &p);
    assert_non_null(why);
    assert_non_null(strstr(why, "K > N"));
    moem_trace tr;
    char err[256];
    assert_int_not_equal(moem_fit(&dt, &m, &p, &tr, err, sizeof err), 0);
    assert_non_null(strstr(err, "K > N"));
    moem_trace_free(&tr);
    moem_model_free(&m);
    moem_data_free(&dt);
}

static void test_one_feature(void **s)
{
    (void)s;
    moem_data dt;
    data_make(&dt, 80, 1);
    moem_rng r;
    moem_rng_seed(&r, 12);
    for (size_t i = 0; i < 80; i++) {
        double x = moem_rng_normal(&r);
        dt.X[i] = x;
        dt.y[i] = (x > 0 ? 2.0 : -1.0) * x + 0.1 * moem_rng_normal(&r);
    }
    for (int sym = 0; sym <= 1; sym++)
        for (int algo = 0; algo < 3; algo++) {
            moem_model m;
            model_make(&m, MOEM_LINEAR, sym, 2, 1, 1);
            model_random(&m, 13);
            char name[64];
            snprintf(name, sizeof name, "d = 1, %s, %s", sym ? "symlin" : "linear", moem_algo_name((moem_algo)algo));
            fit_check(name, &dt, &m, (moem_algo)algo, 30, 0.0, 0, NULL);
            pass_check(name, &dt, &m);
            moem_model_free(&m);
        }
    moem_data_free(&dt);
}

/* ---- K larger than the number of distinct points -------------------------------------------- */

static void test_more_experts_than_points(void **s)
{
    (void)s;
    static const moem_family fams[3] = {MOEM_LINEAR, MOEM_LOGISTIC, MOEM_SOFTMAX};
    for (int fi = 0; fi < 3; fi++) {
        moem_family f = fams[fi];
        size_t C = f == MOEM_SOFTMAX ? 3 : 1;
        moem_data dt;
        data_make(&dt, 8, 2);   /* two distinct points, four copies each */
        for (size_t i = 0; i < 8; i++) {
            dt.X[2 * i] = i % 2 ? 1.5 : -0.5;
            dt.X[2 * i + 1] = 1.0;
            dt.y[i] = f == MOEM_LINEAR ? (i % 2 ? 2.0 : -1.0) : (double)(i % 2);
        }
        for (int algo = 0; algo < 3; algo++) {
            moem_model m;
            model_make(&m, f, 0, 5, 2, C);
            model_random(&m, 14);
            char name[64];
            snprintf(name, sizeof name, "K = 5 > 2 points, %s, %s", moem_family_name(f), moem_algo_name((moem_algo)algo));
            fit_check(name, &dt, &m, (moem_algo)algo, 20, 0.0, algo == MOEM_ALGO_EM && f == MOEM_LINEAR, "singular");
            pass_check(name, &dt, &m);
            moem_model_free(&m);
        }
        moem_data_free(&dt);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_huge_logits),
        cmocka_unit_test(test_huge_linear_prediction),
        cmocka_unit_test(test_separable),
        cmocka_unit_test(test_collapsed_expert),
        cmocka_unit_test(test_duplicate_constant_features),
        cmocka_unit_test(test_one_sample),
        cmocka_unit_test(test_one_feature),
        cmocka_unit_test(test_more_experts_than_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
