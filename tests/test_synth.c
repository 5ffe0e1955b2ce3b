/* Random numbers and synthetic data: reference values of the generators, determinism, the
 * truths' norms and constraints, and sample statistics checked against exact expectations. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "synth.h"

/* |stat| <= 5 standard errors */
#define WITHIN_5SD(stat, expect, sd)                                                           \
    do {                                                                                       \
        double s_ = (stat), e_ = (expect), sd_ = (sd);                                         \
        if (!(fabs(s_ - e_) <= 5 * sd_)) fail_msg("%s = %g, expected %g +- 5 x %g", #stat, s_, e_, sd_); \
    } while (0)

static void test_rng_reference(void **s)
{
    (void)s;
    /* splitmix64 from 0 and xoshiro256** from {1, 2, 3, 4}: the values of the authors'
     * reference implementations */
    moem_rng r;
    moem_rng_seed(&r, 0);
    assert_true(r.s[0] == 0xe220a8397b1dcdafULL);
    assert_true(r.s[1] == 0x6e789e6aa1b965f4ULL);
    assert_true(r.s[2] == 0x06c45d188009454fULL);
    assert_true(r.s[3] == 0xf88bb8a8724c81ecULL);
    r = (moem_rng){{1, 2, 3, 4}};
    assert_true(moem_rng_next(&r) == 11520ULL);
    assert_true(moem_rng_next(&r) == 0ULL);
    assert_true(moem_rng_next(&r) == 1509978240ULL);
    assert_true(moem_rng_next(&r) == 1215971899390074240ULL);
}

static void test_rng_streams(void **s)
{
    (void)s;
    moem_rng a, b, c;
    moem_rng_seed(&a, 42);
    moem_rng_seed(&b, 42);
    moem_rng_seed(&c, 43);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = moem_rng_next(&a), y = moem_rng_next(&b), z = moem_rng_next(&c);
        assert_true(x == y);
        differ += x != z;
    }
    assert_true(differ > 990);
    /* uniform: [0, 1), multiples of 2^-53, mean 1/2 and variance 1/12 */
    const int n = 200000;
    double m = 0, v = 0;
    for (int i = 0; i < n; i++) {
        double u = moem_rng_uniform(&a);
        assert_true(u >= 0.0 && u < 1.0);
        assert_true(ldexp(u, 53) == floor(ldexp(u, 53)));
        m += u;
        v += (u - 0.5) * (u - 0.5);
    }
    WITHIN_5SD(m / n, 0.5, sqrt(1.0 / 12 / n));
    WITHIN_5SD(v / n, 1.0 / 12, sqrt(1.0 / 180 / n));   /* Var((u-1/2)^2) = 1/80 - 1/144 */
    /* normal: mean 0, variance 1, E x^4 = 3, P(x > 1.96) = 0.025 */
    double m1 = 0, m2 = 0, m4 = 0, tail = 0;
    for (int i = 0; i < n; i++) {
        double x = moem_rng_normal(&a);
        assert_true(isfinite(x));
        m1 += x;
        m2 += x * x;
        m4 += x * x * x * x;
        tail += x > 1.959963984540054;
    }
    WITHIN_5SD(m1 / n, 0.0, sqrt(1.0 / n));
    WITHIN_5SD(m2 / n, 1.0, sqrt(2.0 / n));
    WITHIN_5SD(m4 / n, 3.0, sqrt(96.0 / n));   /* Var(x^4) = 105 - 9 */
    WITHIN_5SD(tail / n, 0.025, sqrt(0.025 * 0.975 / n));
}

static double norm(const double *v, size_t d)
{
    double s = 0;
    for (size_t j = 0; j < d; j++) s += v[j] * v[j];
    return sqrt(s);
}

static void check_truth(moem_family fam, int sym, size_t K, size_t d, size_t C, double gn, double en)
{
    moem_rng r;
    moem_model m;
    char err[256];
    moem_rng_seed(&r, 7);
    if (moem_synth_truth(&m, fam, sym, K, d, C, gn, en, &r, err, sizeof err)) fail_msg("%s", err);
    assert_null(moem_model_validate(&m));
    assert_int_equal(m.family, fam);
    assert_int_equal(m.symmetric, sym);
    assert_int_equal(m.K, K);
    assert_int_equal(m.d, d);
    size_t P = moem_expert_rows(&m);
    for (size_t k = 0; k + 1 < K; k++) assert_true(fabs(norm(m.W + k * d, d) - gn) <= 1e-14 * (1 + gn));
    assert_true(norm(m.W + (K - 1) * d, d) == 0.0);
    for (size_t i = 0; i < K * P; i++) assert_true(fabs(norm(m.B + i * d, d) - en) <= 1e-14 * (1 + en));
    for (size_t k = 0; k < K; k++) assert_true(m.sigma2[k] == 1.0);
    if (sym)
        for (size_t j = 0; j < d; j++) assert_true(m.B[d + j] == -m.B[j]);
    else if (K * P > 1 && en > 0)   /* distinct random directions */
        assert_true(memcmp(m.B, m.B + d, d * sizeof(double)) != 0);
    moem_model_free(&m);
}

static void test_truth(void **s)
{
    (void)s;
    check_truth(MOEM_LINEAR, 1, 2, 10, 1, 4, 4);
    check_truth(MOEM_LOGISTIC, 1, 2, 3, 2, 4, 4);
    check_truth(MOEM_LINEAR, 0, 5, 4, 1, 2.5, 3);
    check_truth(MOEM_LOGISTIC, 0, 3, 1, 2, 4, 4);
    check_truth(MOEM_SOFTMAX, 0, 2, 6, 10, 4, 4);
    check_truth(MOEM_LINEAR, 0, 1, 3, 1, 4, 4);
    check_truth(MOEM_LINEAR, 0, 3, 3, 1, 0, 0);

    moem_rng r;
    moem_model m;
    char err[256];
    moem_rng_seed(&r, 1);
    assert_int_equal(moem_synth_truth(&m, MOEM_LINEAR, 0, 2, 3, 1, -1, 4, &r, err, sizeof err), -1);
    assert_int_equal(moem_synth_truth(&m, MOEM_LINEAR, 0, 2, 3, 1, 4, NAN, &r, err, sizeof err), -1);
    assert_int_equal(moem_synth_truth(&m, MOEM_LINEAR, 1, 3, 3, 1, 4, 4, &r, err, sizeof err), -1);
    assert_int_equal(moem_synth_truth(&m, MOEM_SOFTMAX, 0, 2, 3, 1, 4, 4, &r, err, sizeof err), -1);
    assert_int_equal(moem_synth_truth(&m, MOEM_LINEAR, 0, 0, 3, 1, 4, 4, &r, err, sizeof err), -1);
    assert_int_equal(moem_synth_truth(&m, MOEM_LINEAR, 0, 2, 0, 1, 4, 4, &r, err, sizeof err), -1);
    assert_null(m.W);
}

static void generate(moem_family fam, int sym, size_t K, size_t d, size_t C, size_t n, uint64_t seed,
                     moem_model *m, moem_data *data)
{
    moem_rng r;
    char err[256];
    moem_rng_seed(&r, seed);
    if (moem_synth_truth(m, fam, sym, K, d, C, 4, 4, &r, err, sizeof err)) fail_msg("%s", err);
    if (moem_synth_sample(m, n, &r, data, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(data->n, n);
    assert_int_equal(data->d, d);
}

static void test_determinism(void **s)
{
    (void)s;
    moem_model a, b, c;
    moem_data x, y, z;
    generate(MOEM_SOFTMAX, 0, 3, 4, 5, 500, 11, &a, &x);
    generate(MOEM_SOFTMAX, 0, 3, 4, 5, 500, 11, &b, &y);
    generate(MOEM_SOFTMAX, 0, 3, 4, 5, 500, 12, &c, &z);
    assert_memory_equal(a.W, b.W, 3 * 4 * sizeof(double));
    assert_memory_equal(a.B, b.B, 3 * 5 * 4 * sizeof(double));
    assert_memory_equal(x.X, y.X, 500 * 4 * sizeof(double));
    assert_memory_equal(x.y, y.y, 500 * sizeof(double));
    assert_true(memcmp(a.W, c.W, 4 * sizeof(double)) != 0);
    assert_true(memcmp(x.X, z.X, 500 * 4 * sizeof(double)) != 0);
    assert_true(memcmp(x.y, z.y, 500 * sizeof(double)) != 0);
    moem_model_free(&a), moem_model_free(&b), moem_model_free(&c);
    moem_data_free(&x), moem_data_free(&y), moem_data_free(&z);
}

/* x ~ N(0, I): per-coordinate mean and variance, and one cross moment */
static void check_x_moments(const moem_data *data)
{
    size_t n = data->n, d = data->d;
    for (size_t j = 0; j < d; j++) {
        double m = 0, v = 0, cross = 0;
        for (size_t i = 0; i < n; i++) {
            double x = data->X[i * d + j];
            m += x;
            v += x * x;
            cross += x * data->X[i * d + (j + 1) % d];
        }
        WITHIN_5SD(m / n, 0.0, sqrt(1.0 / n));
        WITHIN_5SD(v / n, 1.0, sqrt(2.0 / n));
        if (d > 1) WITHIN_5SD(cross / n, 0.0, sqrt(1.0 / n));
    }
}

/* independent reference: gate probabilities pi (K) at x */
static void gate_probs(const moem_model *m, const double *x, double *pi)
{
    double mx = -INFINITY, sum = 0;
    for (size_t k = 0; k < m->K; k++) {
        double g = 0;
        for (size_t j = 0; j < m->d; j++) g += m->W[k * m->d + j] * x[j];
        pi[k] = g;
        mx = g > mx ? g : mx;
    }
    for (size_t k = 0; k < m->K; k++) sum += pi[k] = exp(pi[k] - mx);
    for (size_t k = 0; k < m->K; k++) pi[k] /= sum;
}

static double score(const moem_model *m, size_t k, size_t p, const double *x)
{
    const double *b = m->B + (k * moem_expert_rows(m) + p) * m->d;
    double s = 0;
    for (size_t j = 0; j < m->d; j++) s += b[j] * x[j];
    return s;
}

/* Given x, the statistic t(x, y) has conditional mean 0 under the model; its sample mean must be
 * within 5 standard errors (estimated from the samples) of 0. */
static void check_zero_mean(const double *t, size_t n, const char *what)
{
    double m = 0, v = 0;
    for (size_t i = 0; i < n; i++) m += t[i];
    m /= n;
    for (size_t i = 0; i < n; i++) v += (t[i] - m) * (t[i] - m);
    double se = sqrt(v / (n - 1) / n);
    if (!(fabs(m) <= 5 * se)) fail_msg("%s: mean %g, standard error %g", what, m, se);
}

static void test_linear_moments(void **s)
{
    (void)s;
    const size_t n = 20000;
    moem_model m;
    moem_data data;
    generate(MOEM_LINEAR, 0, 3, 4, 1, n, 5, &m, &data);
    check_x_moments(&data);
    /* E[y | x] = sum_k pi_k b_k.x and E[(y - b_z.x)^2] = 1: the residual y - E[y|x] has mean 0
     * given x, and so does (y - E[y|x])^2 - Var(y|x) with Var(y|x) = 1 + sum pi_k (b_k.x)^2 - E[y|x]^2 */
    double *t1 = malloc(n * sizeof(double)), *t2 = malloc(n * sizeof(double)), pi[3];
    for (size_t i = 0; i < n; i++) {
        const double *x = data.X + i * 4;
        gate_probs(&m, x, pi);
        double mu = 0, s2 = 0;
        for (size_t k = 0; k < 3; k++) {
            double b = score(&m, k, 0, x);
            mu += pi[k] * b;
            s2 += pi[k] * b * b;
        }
        double var = 1 + s2 - mu * mu;
        t1[i] = data.y[i] - mu;
        t2[i] = t1[i] * t1[i] - var;
    }
    check_zero_mean(t1, n, "linear E[y|x]");
    check_zero_mean(t2, n, "linear Var(y|x)");
    free(t1);
    free(t2);
    moem_model_free(&m);
    moem_data_free(&data);
}

static void test_symlin_moments(void **s)
{
    (void)s;
    const size_t n = 20000;
    moem_model m;
    moem_data data;
    generate(MOEM_LINEAR, 1, 2, 5, 1, n, 9, &m, &data);
    check_x_moments(&data);
    /* E[y^2] = ||beta||^2 + 1 = 17, Var(y^2) = 2 x 17^2 */
    double y2 = 0;
    for (size_t i = 0; i < n; i++) y2 += data.y[i] * data.y[i];
    WITHIN_5SD(y2 / n, 17.0, sqrt(2 * 17.0 * 17.0 / n));
    /* the gate picks the sign: E[y beta.x | x] = q (beta.x)^2 with q = 2 sigma(w.x) - 1; the
     * residual is weighted by q, so that a gate that is ignored or flipped shows */
    double *t = malloc(n * sizeof(double)), pi[2];
    for (size_t i = 0; i < n; i++) {
        const double *x = data.X + i * 5;
        gate_probs(&m, x, pi);
        double u = score(&m, 0, 0, x), q = pi[0] - pi[1];
        t[i] = q * (data.y[i] * u - q * u * u);
    }
    check_zero_mean(t, n, "symlin sign");
    free(t);
    moem_model_free(&m);
    moem_data_free(&data);
}

static void test_logistic_and_softmax(void **s)
{
    (void)s;
    const size_t n = 20000;
    moem_model m;
    moem_data data;
    double *t = malloc(n * sizeof(double)), pi[3];

    generate(MOEM_LOGISTIC, 0, 3, 3, 2, n, 21, &m, &data);
    check_x_moments(&data);
    for (size_t i = 0; i < n; i++) {   /* E[y | x] = sum_k pi_k sigma(b_k.x) */
        const double *x = data.X + i * 3;
        assert_true(data.y[i] == 0.0 || data.y[i] == 1.0);
        gate_probs(&m, x, pi);
        double p = 0;
        for (size_t k = 0; k < 3; k++) p += pi[k] / (1 + exp(-score(&m, k, 0, x)));
        t[i] = data.y[i] - p;
    }
    check_zero_mean(t, n, "logistic E[y|x]");
    moem_model_free(&m);
    moem_data_free(&data);

    generate(MOEM_LOGISTIC, 1, 2, 3, 2, n, 22, &m, &data);
    for (size_t i = 0; i < n; i++) {
        const double *x = data.X + i * 3;
        gate_probs(&m, x, pi);
        double u = score(&m, 0, 0, x), su = 1 / (1 + exp(-u));
        /* E[y | x] = pi_1 sigma(u) + pi_2 sigma(-u); weighted as above */
        t[i] = (pi[0] - pi[1]) * (2 * su - 1) * (data.y[i] - (pi[0] * su + pi[1] * (1 - su)));
    }
    check_zero_mean(t, n, "symlog E[y|x]");
    moem_model_free(&m);
    moem_data_free(&data);

    const size_t C = 4;
    generate(MOEM_SOFTMAX, 0, 2, 3, C, n, 23, &m, &data);
    for (size_t c = 0; c < C; c++) {   /* P(y = c | x) = sum_k pi_k softmax_c(B_k x) */
        for (size_t i = 0; i < n; i++) {
            const double *x = data.X + i * 3;
            double y = data.y[i];
            assert_true(y >= 0 && y < C && y == floor(y));
            gate_probs(&m, x, pi);
            double p = 0;
            for (size_t k = 0; k < 2; k++) {
                double z = 0, sc[4];
                for (size_t q = 0; q < C; q++) z += exp(sc[q] = score(&m, k, q, x));
                p += pi[k] * exp(sc[c]) / z;
            }
            t[i] = (y == (double)c) - p;
        }
        check_zero_mean(t, n, "softmax P(y=c|x)");
    }
    free(t);
    moem_model_free(&m);
    moem_data_free(&data);
}

static void test_sample_errors(void **s)
{
    (void)s;
    moem_model m;
    moem_data data;
    moem_rng r;
    char err[256];
    moem_rng_seed(&r, 3);
    assert_int_equal(moem_synth_truth(&m, MOEM_LINEAR, 0, 2, 3, 1, 4, 4, &r, err, sizeof err), 0);
    assert_int_equal(moem_synth_sample(&m, 0, &r, &data, err, sizeof err), -1);
    assert_null(data.X);
    m.W[3] = 1.0;   /* the pinned row */
    assert_int_equal(moem_synth_sample(&m, 10, &r, &data, err, sizeof err), -1);
    assert_non_null(strstr(err, "gate"));
    moem_model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_reference),
        cmocka_unit_test(test_rng_streams),
        cmocka_unit_test(test_truth),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_linear_moments),
        cmocka_unit_test(test_symlin_moments),
        cmocka_unit_test(test_logistic_and_softmax),
        cmocka_unit_test(test_sample_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
