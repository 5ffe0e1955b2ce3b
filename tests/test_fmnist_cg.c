/* Newton-CG for the multinomial M-step (engine/newton_cg.c) against dense Newton and against
 * the optimality condition computed here, independently of the engine. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "rng.h"

typedef struct prob {
    moem_data data;
    double *w, *T;
    size_t J;
} prob;

/* x_n: d-1 normals and a 1; soft targets over J+1 classes from random positives; weights in (0, 1] */
static void make_prob(prob *pr, size_t n, size_t d, size_t J, int weighted, uint64_t seed)
{
    char err[256];
    moem_rng r;
    moem_rng_seed(&r, seed);
    assert_int_equal(moem_data_alloc(&pr->data, n, d, err, sizeof err), 0);
    pr->J = J;
    pr->T = malloc(n * J * sizeof(double));
    pr->w = weighted ? malloc(n * sizeof(double)) : NULL;
    for (size_t i = 0; i < n; i++) {
        for (size_t c = 0; c + 1 < d; c++) pr->data.X[i * d + c] = moem_rng_normal(&r);
        pr->data.X[i * d + d - 1] = 1.0;
        pr->data.y[i] = 0;
        double s = 0.0, e[64];
        for (size_t j = 0; j <= J; j++) { e[j] = -(double)(j + 1) * log(1.0 - moem_rng_uniform(&r)); s += e[j]; }
        for (size_t j = 0; j < J; j++) pr->T[i * J + j] = e[j] / s;
        if (weighted) pr->w[i] = 0.05 + 0.95 * moem_rng_uniform(&r);
    }
}

static void free_prob(prob *pr)
{
    moem_data_free(&pr->data);
    free(pr->w);
    free(pr->T);
}

/* max |grad f(V)|, f with the ridge term, computed directly */
static double grad_inf(const prob *pr, const double *V, double ridge)
{
    size_t n = pr->data.n, d = pr->data.d, J = pr->J;
    double *g = calloc(J * d, sizeof(double));
    for (size_t i = 0; i < n; i++) {
        const double *x = pr->data.X + i * d;
        double z[64], mx = 0.0, s;
        for (size_t j = 0; j < J; j++) {
            z[j] = 0.0;
            for (size_t c = 0; c < d; c++) z[j] += V[j * d + c] * x[c];
            if (z[j] > mx) mx = z[j];
        }
        s = exp(-mx);
        for (size_t j = 0; j < J; j++) s += exp(z[j] - mx);
        double wi = pr->w ? pr->w[i] : 1.0;
        for (size_t j = 0; j < J; j++) {
            double a = wi * (exp(z[j] - mx) / s - pr->T[i * J + j]) / (double)n;
            for (size_t c = 0; c < d; c++) g[j * d + c] += a * x[c];
        }
    }
    double m = 0.0;
    for (size_t k = 0; k < J * d; k++) {
        double v = fabs(g[k] + ridge * V[k]);
        if (v > m) m = v;
    }
    free(g);
    return m;
}

static void params(moem_params *p, double ridge, int threads)
{
    moem_params_default(p);
    p->newton_tol = 1e-30;
    p->newton_max = 100;
    p->ridge = ridge;
    p->threads = threads;
}

static void test_against_dense_newton(void **state)
{
    (void)state;
    char err[256];
    for (int weighted = 0; weighted < 2; weighted++) {
        prob pr;
        make_prob(&pr, 400, 5, 3, weighted, 7 + (uint64_t)weighted);
        size_t Jd = 15;
        double Vc[15] = {0}, Vd[15] = {0};
        moem_params p;
        params(&p, 0.0, 0);
        assert_int_equal(moem_multinomial_fit_cg(&pr.data, pr.w, pr.T, 3, Vc, &p, err, sizeof err), 0);
        assert_int_equal(moem_multinomial_fit(&pr.data, pr.w, pr.T, 3, Vd, &p, err, sizeof err), 0);
        double g0 = grad_inf(&pr, (double[15]){0}, 0.0);
        assert_true(g0 > 1e-2);                         /* the start is far from optimal */
        assert_true(grad_inf(&pr, Vc, 0.0) <= 1e-12);
        for (size_t k = 0; k < Jd; k++) assert_true(fabs(Vc[k] - Vd[k]) <= 1e-7 * (1.0 + fabs(Vd[k])));
        free_prob(&pr);
    }
}

/* Newton's local quadratic convergence: a handful of steps reach the optimum to 1e-10, which a
 * wrong Hessian-vector product (a descent method without the right curvature) cannot */
static void test_newton_step_count(void **state)
{
    (void)state;
    char err[256];
    prob pr;
    make_prob(&pr, 400, 6, 4, 1, 21);
    double V[24] = {0};
    moem_params p;
    params(&p, 0.0, 0);
    p.newton_max = 8;
    assert_int_equal(moem_multinomial_fit_cg(&pr.data, pr.w, pr.T, 4, V, &p, err, sizeof err), 0);
    assert_true(grad_inf(&pr, V, 0.0) <= 1e-10);
    free_prob(&pr);
}

/* J*d above the dense threshold: moem_multinomial_fit hands over to Newton-CG; ridge keeps the
 * problem bounded (n < J*d) */
static void test_large_dispatch_ridge(void **state)
{
    (void)state;
    char err[256];
    prob pr;
    size_t J = 9, d = 130, Jd = J * d;
    make_prob(&pr, 300, d, J, 1, 3);
    double *V1 = calloc(Jd, sizeof(double)), *V2 = calloc(Jd, sizeof(double));
    double *V3 = calloc(Jd, sizeof(double));
    moem_params p;
    params(&p, 0.05, 1);
    assert_int_equal(moem_multinomial_fit(&pr.data, pr.w, pr.T, J, V1, &p, err, sizeof err), 0);
    assert_int_equal(moem_multinomial_fit_cg(&pr.data, pr.w, pr.T, J, V2, &p, err, sizeof err), 0);
    assert_memory_equal(V1, V2, Jd * sizeof(double));    /* the dispatch took the CG path */
    assert_true(grad_inf(&pr, V1, 0.05) <= 1e-9);
    params(&p, 0.05, 2);                                   /* two row chunks: same optimum */
    assert_int_equal(moem_multinomial_fit_cg(&pr.data, pr.w, pr.T, J, V3, &p, err, sizeof err), 0);
    for (size_t k = 0; k < Jd; k++) assert_true(fabs(V3[k] - V1[k]) <= 1e-8);
    free(V1); free(V2); free(V3);
    free_prob(&pr);
}

/* inner_steps = k: exactly k gradient steps of size inner_lr */
static void test_inner_gradient_steps(void **state)
{
    (void)state;
    char err[256];
    prob pr;
    make_prob(&pr, 200, 4, 2, 1, 5);
    double V[8] = {0}, Vref[8] = {0};
    moem_params p;
    params(&p, 0.0, 0);
    p.inner_steps = 2;
    p.inner_lr = 0.7;
    assert_int_equal(moem_multinomial_fit_cg(&pr.data, pr.w, pr.T, 2, V, &p, err, sizeof err), 0);
    /* the reference: two steps with the gradient computed by finite differences of f */
    for (int s = 0; s < 2; s++) {
        double g[8];
        for (size_t k = 0; k < 8; k++) {
            double h = 1e-5, fp = 0.0, fm = 0.0;
            for (int sign = -1; sign <= 1; sign += 2) {
                double Vh[8];
                memcpy(Vh, Vref, sizeof Vh);
                Vh[k] += sign * h;
                double f = 0.0;
                for (size_t i = 0; i < 200; i++) {
                    const double *x = pr.data.X + i * 4;
                    double z[2], lse;
                    for (size_t j = 0; j < 2; j++) z[j] = Vh[j * 4] * x[0] + Vh[j * 4 + 1] * x[1] + Vh[j * 4 + 2] * x[2] + Vh[j * 4 + 3] * x[3];
                    lse = log(1.0 + exp(z[0]) + exp(z[1]));
                    f += pr.w[i] * (lse - pr.T[i * 2] * z[0] - pr.T[i * 2 + 1] * z[1]);
                }
                if (sign < 0) fm = f / 200; else fp = f / 200;
            }
            g[k] = (fp - fm) / (2 * h);
        }
        for (size_t k = 0; k < 8; k++) Vref[k] -= 0.7 * g[k];
    }
    for (size_t k = 0; k < 8; k++) assert_true(fabs(V[k] - Vref[k]) <= 1e-7);
    free_prob(&pr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_dense_newton),
        cmocka_unit_test(test_newton_step_count),
        cmocka_unit_test(test_large_dispatch_ridge),
        cmocka_unit_test(test_inner_gradient_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
