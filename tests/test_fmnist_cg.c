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
    p->newton_rtol = 0.0;       /* to the optimum: the absolute rule alone */
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
    p.newton_tol = 1e-24;         /* met within the 8 steps (1e-30 is not: that is reported) */
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

/* Large data: the Hessian on every 8th row only (moem_cg_stride), the gradient on every row,
 * so Newton-CG still reaches the minimiser of the whole data (its gradient 0), and the same
 * one as dense Newton on all rows; on 2 threads too. A subsample that scaled the Hessian
 * wrongly would still converge (the line search), so the step count is checked as well. */
static void test_sampled_hessian(void **state)
{
    (void)state;
    char err[256];
    prob pr;
    size_t n = 20000, J = 3, d = 8, Jd = J * d;
    assert_int_equal((int)moem_cg_stride(n), 8);
    assert_int_equal((int)moem_cg_stride(16383), 1);
    make_prob(&pr, n, d, J, 1, 29);
    double Vc[24] = {0}, Vd[24] = {0}, V2[24] = {0};
    moem_params p;
    params(&p, 0.0, 1);
    p.newton_tol = 1e-24;
    moem_newton_info info;
    assert_int_equal(moem_multinomial_newton_cg(&pr.data, pr.w, pr.T, J, Vc, &p, &info, err, sizeof err), 0);
    assert_true(info.steps <= 20);   /* 13 here; a Hessian scaled 8x off needs hundreds */
    assert_true(grad_inf(&pr, Vc, 0.0) <= 1e-10);
    assert_int_equal(moem_multinomial_fit(&pr.data, pr.w, pr.T, J, Vd, &p, err, sizeof err), 0);
    for (size_t k = 0; k < Jd; k++) assert_true(fabs(Vc[k] - Vd[k]) <= 1e-7 * (1.0 + fabs(Vd[k])));
    params(&p, 0.0, 2);
    p.newton_tol = 1e-24;
    assert_int_equal(moem_multinomial_newton_cg(&pr.data, pr.w, pr.T, J, V2, &p, NULL, err, sizeof err), 0);
    for (size_t k = 0; k < Jd; k++) assert_true(fabs(V2[k] - Vd[k]) <= 1e-7 * (1.0 + fabs(Vd[k])));
    free_prob(&pr);
}

/* Rows of strongly correlated features (neighbours correlated 0.995, as pixels are): the
 * Kronecker preconditioner (a Gram matrix of the rows, from every 8th row on large data) gives
 * CG the features' correlation: 8 Newton steps and 30 (3000 rows) or 38 (20000 rows) products
 * to the optimum here, where the diagonal (Jacobi) took 71 steps and 1104 products; and the
 * same minimiser as dense Newton, on the whole data's gradient. */
static void test_kron_preconditioner(void **state)
{
    (void)state;
    char err[256];
    size_t J = 2, d = 72, Jd = J * d;
    for (int big = 0; big < 2; big++) {
        size_t n = big ? 20000 : 3000;
        prob pr;
        make_prob(&pr, n, d, J, 1, 41 + (uint64_t)big);
        for (size_t i = 0; i < n; i++) {      /* neighbouring features correlated 0.995 */
            double *x = pr.data.X + i * d;
            for (size_t a = 1; a + 1 < d; a++) x[a] = 0.995 * x[a - 1] + sqrt(1.0 - 0.995 * 0.995) * x[a];
        }
        double *Vc = calloc(Jd, sizeof(double)), *Vd = calloc(Jd, sizeof(double));
        moem_params p;
        params(&p, 0.0, 1);
        p.newton_tol = 1e-22;
        moem_newton_info info;
        assert_int_equal(moem_multinomial_newton_cg(&pr.data, pr.w, pr.T, J, Vc, &p, &info, err, sizeof err), 0);
        if (moem_have_lapack()) assert_true(info.steps <= 15 && info.hv <= 8 * info.steps);
        assert_true(grad_inf(&pr, Vc, 0.0) <= 1e-10);
        assert_int_equal(moem_multinomial_newton(&pr.data, pr.w, pr.T, J, Vd, NULL, 0, &p, NULL, err, sizeof err), 0);
        for (size_t k = 0; k < Jd; k++) assert_true(fabs(Vc[k] - Vd[k]) <= 1e-7 * (1.0 + fabs(Vd[k])));
        free(Vc); free(Vd);
        free_prob(&pr);
    }
}

/* Wide rows: Newton-CG from d = 256 features on when the preconditioner is there (the gate of
 * two experts on images), from J d > 1024 otherwise */
static void test_cg_wide(void **state)
{
    (void)state;
    assert_true(moem_cg_wide(9, 785));
    assert_true(moem_cg_wide(2, 513));
    assert_false(moem_cg_wide(4, 255));
    assert_false(moem_cg_wide(1, 255));
    assert_int_equal(moem_cg_wide(1, 785), moem_have_lapack());
    assert_int_equal(moem_cg_wide(1, 256), moem_have_lapack());
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

/* Nearly separable weighted problem (hard labels from a linear rule of large norm, weights of a
 * gate in (0, 1)), the shape of the Fashion-MNIST experts: the minimiser lies at infinity, so
 * the absolute rule alone never stops (its cap is reported); the relative rule stops, with a
 * bounded number of Hessian-vector products, at most newton_rtol of the decrease short of what
 * the capped run reaches. */
static void make_separable(prob *pr, size_t n, size_t d, size_t J, uint64_t seed)
{
    char err[256];
    moem_rng r;
    moem_rng_seed(&r, seed);
    assert_int_equal(moem_data_alloc(&pr->data, n, d, err, sizeof err), 0);
    pr->J = J;
    pr->T = calloc(n * J, sizeof(double));
    pr->w = malloc(n * sizeof(double));
    double *B = malloc((J + 1) * d * sizeof(double)), *u = malloc(d * sizeof(double));
    for (size_t k = 0; k < (J + 1) * d; k++) B[k] = 3.0 * moem_rng_normal(&r);
    for (size_t c = 0; c < d; c++) u[c] = moem_rng_normal(&r);
    for (size_t i = 0; i < n; i++) {
        double *x = pr->data.X + i * d, best = -INFINITY, gz = 0.0;
        for (size_t c = 0; c + 1 < d; c++) x[c] = moem_rng_normal(&r);
        x[d - 1] = 1.0;
        size_t y = 0;
        for (size_t j = 0; j <= J; j++) {
            double z = 0.0;
            for (size_t c = 0; c < d; c++) z += B[j * d + c] * x[c];
            if (z > best) { best = z; y = j; }
        }
        if (y < J) pr->T[i * J + y] = 1.0;
        pr->data.y[i] = (double)y;
        for (size_t c = 0; c < d; c++) gz += u[c] * x[c];
        pr->w[i] = 1.0 / (1.0 + exp(-gz / sqrt((double)d)));
    }
    free(B);
    free(u);
}

static double objective(const prob *pr, const double *V)
{
    size_t n = pr->data.n, d = pr->data.d, J = pr->J;
    double f = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double *x = pr->data.X + i * d;
        double z[64], mx = 0.0, s, dot = 0.0;
        for (size_t j = 0; j < J; j++) {
            z[j] = 0.0;
            for (size_t c = 0; c < d; c++) z[j] += V[j * d + c] * x[c];
            if (z[j] > mx) mx = z[j];
            dot += pr->T[i * J + j] * z[j];
        }
        s = exp(-mx);
        for (size_t j = 0; j < J; j++) s += exp(z[j] - mx);
        f += pr->w[i] * (mx + log(s) - dot);
    }
    return f / (double)n;
}

static void test_relative_rule_stops(void **state)
{
    (void)state;
    char err[512];
    /* J d = 9 x 130 > 1024: Newton-CG; J d = 2 x 20: dense Newton */
    const size_t shapes[2][3] = {{3000, 130, 9}, {1500, 20, 2}};
    for (int sh = 0; sh < 2; sh++) {
        size_t n = shapes[sh][0], d = shapes[sh][1], J = shapes[sh][2], Jd = J * d;
        prob pr;
        make_separable(&pr, n, d, J, 99 + (uint64_t)sh);
        double *V0 = calloc(Jd, sizeof(double)), *Va = calloc(Jd, sizeof(double));
        double *Vr = calloc(Jd, sizeof(double));
        double f0 = objective(&pr, V0);
        moem_params p;
        moem_newton_info ia, ir;
        moem_params_default(&p);
        p.threads = 1;
        p.newton_rtol = 0.0;                           /* the absolute rule alone */
        p.newton_max = 10;                             /* not enough for it: reported */
        double *Vc = calloc(Jd, sizeof(double));
        int rc = moem_multinomial_newton(&pr.data, pr.w, pr.T, J, Vc, NULL, 0, &p, &ia, err, sizeof err);
        assert_int_equal(rc, MOEM_NEWTON_CAPPED);
        assert_non_null(strstr(err, "cap of 10"));
        assert_int_equal(ia.steps, 10);
        assert_false(ia.converged);
        assert_true(objective(&pr, Vc) < f0);          /* the kept iterate is a descent */
        free(Vc);
        p.newton_max = 200;
        rc = moem_multinomial_newton(&pr.data, pr.w, pr.T, J, Va, NULL, 0, &p, &ia, err, sizeof err);
        assert_int_equal(rc, 0);
        p.newton_rtol = 1e-2;
        rc = moem_multinomial_newton(&pr.data, pr.w, pr.T, J, Vr, NULL, 0, &p, &ir, err, sizeof err);
        print_message("%s: absolute rule %d steps %d products; relative rule %d steps %d products, "
                      "decrease %.6g of %.6g\n", sh ? "dense" : "Newton-CG", ia.steps, ia.hv, ir.steps,
                      ir.hv, ir.decrease, ia.decrease);
        assert_int_equal(rc, 0);
        assert_true(ir.converged);
        assert_true(ir.steps * 2 <= ia.steps);
        if (sh == 0) assert_true(ir.hv <= ir.steps * moem_cg_cap(Jd) && ir.hv * 3 <= ia.hv);
        double fr = objective(&pr, Vr), fa = objective(&pr, Va);
        /* the reported decrease is f0 - f (dense Newton: before its final unchecked full step) */
        if (sh == 0) assert_true(fabs((f0 - fr) - ir.decrease) <= 1e-9);
        else assert_true(f0 - fr >= ir.decrease - 1e-12);
        assert_true(fr - fa <= 2e-2 * (f0 - fr));             /* within the rule's 1 % (x 2) */
        free(V0); free(Va); free(Vr);
        free_prob(&pr);
    }
}

/* An EM step whose exact M-step solves reach newton_max is reported, not accepted silently:
 * moem_em_step returns MOEM_NEWTON_CAPPED naming the sub-problem; moem_fit counts such M-steps
 * in trace.capped, leaves the message in err and goes on. Enough Newton steps: neither. */
static void test_capped_mstep_reported(void **state)
{
    (void)state;
    char err[512];
    prob pr;
    make_separable(&pr, 600, 6, 2, 5);                 /* labels 0..2 */
    moem_model m0, m;
    assert_int_equal(moem_model_alloc(&m0, MOEM_SOFTMAX, 0, 2, 6, 3, err, sizeof err), 0);
    moem_rng r;
    moem_rng_seed(&r, 17);
    for (size_t k = 0; k < 6; k++) m0.W[k] = 0.3 * moem_rng_normal(&r);
    for (size_t k = 0; k < 2 * 3 * 6; k++) m0.B[k] = 0.3 * moem_rng_normal(&r);
    moem_params p;
    moem_params_default(&p);
    p.newton_max = 1;
    p.newton_rtol = 0.0;
    assert_int_equal(moem_model_copy(&m, &m0, err, sizeof err), 0);
    err[0] = 0;
    assert_int_equal(moem_em_step(&pr.data, &m, &p, err, sizeof err), MOEM_NEWTON_CAPPED);
    assert_non_null(strstr(err, "gate: Newton reached its cap of 1 steps"));
    assert_null(moem_model_validate(&m));
    moem_model_free(&m);
    moem_trace tr;
    p.iters = 2;
    assert_int_equal(moem_model_copy(&m, &m0, err, sizeof err), 0);
    err[0] = 0;
    assert_int_equal(moem_fit(&pr.data, &m, &p, &tr, err, sizeof err), 0);
    assert_int_equal(tr.iters, 2);
    assert_int_equal(tr.capped, 2);
    assert_non_null(strstr(err, "iteration 2: gate: Newton reached its cap"));
    moem_trace_free(&tr);
    moem_model_free(&m);
    p.newton_max = 50;
    p.newton_rtol = 1e-2;
    assert_int_equal(moem_model_copy(&m, &m0, err, sizeof err), 0);
    assert_int_equal(moem_em_step(&pr.data, &m, &p, err, sizeof err), 0);
    assert_int_equal(moem_fit(&pr.data, &m, &p, &tr, err, sizeof err), 0);
    assert_int_equal(tr.capped, 0);
    moem_trace_free(&tr);
    moem_model_free(&m);
    moem_model_free(&m0);
    free_prob(&pr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_dense_newton),
        cmocka_unit_test(test_newton_step_count),
        cmocka_unit_test(test_large_dispatch_ridge),
        cmocka_unit_test(test_sampled_hessian),
        cmocka_unit_test(test_kron_preconditioner),
        cmocka_unit_test(test_cg_wide),
        cmocka_unit_test(test_inner_gradient_steps),
        cmocka_unit_test(test_relative_rule_stops),
        cmocka_unit_test(test_capped_mstep_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
