/* EM with inner gradient steps is a descent method (engine/mstep_inner.c): every M-step lowers
 * its sub-problems, so the objective L never rises, whatever the step it is given, on the
 * synthetic models and on a Fashion-MNIST subset; and a step that does not descend is caught. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fmnist.h"
#include "internal.h"
#include "rng.h"
#include "synth.h"

/* L(theta_t+1) <= L(theta_t) to rounding, for every t of the trace; and moem_fit saw no rise */
static void assert_monotone(const moem_trace *tr, const char *what)
{
    for (int t = 0; t < tr->iters; t++) {
        double a = tr->objective[t], b = tr->objective[t + 1];
        if (!(b <= a + 1e-12 * fabs(a))) {
            print_error("%s: L rose at iteration %d: %.17g -> %.17g\n", what, t + 1, a, b);
            fail();
        }
    }
    assert_int_equal(tr->rises, 0);
}

typedef struct synth_case { moem_family fam; int sym; size_t K, d, C; } synth_case;

static const synth_case cases[] = {
    {MOEM_LOGISTIC, 0, 3, 5, 2},
    {MOEM_SOFTMAX, 0, 2, 4, 4},
    {MOEM_LOGISTIC, 1, 2, 6, 2},
    {MOEM_LINEAR, 0, 3, 4, 1},
};

static void make(const synth_case *c, uint64_t seed, moem_data *data, moem_model *start)
{
    char err[256];
    moem_rng r;
    moem_model truth = {0};
    moem_rng_seed(&r, seed);
    assert_int_equal(moem_synth_truth(&truth, c->fam, c->sym, c->K, c->d, c->C, 3.0, 3.0, &r, err,
                                      sizeof err), 0);
    assert_int_equal(moem_synth_sample(&truth, 600, &r, data, err, sizeof err), 0);
    assert_int_equal(moem_synth_truth(start, c->fam, c->sym, c->K, c->d, c->C, 1.0, 1.0, &r, err,
                                      sizeof err), 0);
    moem_model_free(&truth);
}

/* Several models, seeds, inner step counts and given steps from tiny to far too large (the
 * automatic step, 0, included). For the too-large steps the test also shows that a plain
 * gradient step of that size raises L, so that the descent comes from the rule. */
static void test_synthetic_never_rises(void **state)
{
    (void)state;
    static const double lrs[] = {0, 0.01, 1, 50, 1e4};
    static const int steps[] = {1, 5};
    char err[512], what[160];
    int raised_by_plain_step = 0;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++)
        for (uint64_t seed = 1; seed <= 3; seed++) {
            moem_data data = {0};
            moem_model start = {0}, m = {0};
            make(&cases[ci], seed, &data, &start);
            for (size_t li = 0; li < sizeof lrs / sizeof lrs[0]; li++)
                for (size_t si = 0; si < 2; si++) {
                    moem_params p;
                    moem_trace tr;
                    moem_params_default(&p);
                    p.algo = MOEM_ALGO_EM;
                    p.iters = 8;
                    p.inner_steps = steps[si];
                    p.inner_lr = lrs[li];
                    p.threads = 2;
                    assert_int_equal(moem_model_copy(&m, &start, err, sizeof err), 0);
                    snprintf(what, sizeof what, "family %d sym %d, seed %d, inner %d, inner_lr %g",
                             (int)cases[ci].fam, cases[ci].sym, (int)seed, steps[si], lrs[li]);
                    if (moem_fit(&data, &m, &p, &tr, err, sizeof err)) {
                        print_error("%s: %s\n", what, err);
                        fail();
                    }
                    assert_monotone(&tr, what);
                    moem_trace_free(&tr);
                    moem_model_free(&m);
                }
            /* the largest step, taken plainly (Gradient EM: one gradient step on Q), raises L */
            if (cases[ci].fam != MOEM_LINEAR) {
                moem_params p;
                moem_params_default(&p);
                p.lr = 1e4;
                assert_int_equal(moem_model_copy(&m, &start, err, sizeof err), 0);
                double L0 = moem_objective(&data, &m);
                assert_int_equal(moem_gem_step(&data, &m, &p, err, sizeof err), 0);
                double L1 = moem_objective(&data, &m);
                raised_by_plain_step += !(L1 <= L0);
                moem_model_free(&m);
            }
            moem_model_free(&start);
            moem_data_free(&data);
        }
    /* every non-linear case and seed: the unchecked step of 1e4 goes up */
    assert_int_equal(raised_by_plain_step, 9);
}

/* the start of `moem experiment fmnist`: unit-norm rows, the gate stored as (w1 - w2, 0) */
static void fmnist_start(moem_model *m, moem_rng *r)
{
    size_t d = m->d;
    double *W2 = malloc(d * sizeof(double));
    assert_non_null(W2);
    for (size_t k = 0; k < 2 + 2 * m->C; k++) {
        double *v = k == 0 ? m->W : k == 1 ? W2 : m->B + (k - 2) * d;
        double s = 0.0;
        for (size_t c = 0; c < d; c++) { v[c] = moem_rng_normal(r); s += v[c] * v[c]; }
        s = 1.0 / sqrt(s);
        for (size_t c = 0; c < d; c++) v[c] *= s;
    }
    for (size_t c = 0; c < d; c++) { m->W[c] -= W2[c]; m->W[d + c] = 0.0; }
    free(W2);
}

/* 2000 Fashion-MNIST training images (half inverted), K = 2 softmax experts of 10 classes: the
 * automatic step, the experiment's old default (the GD step 0.1) and a too-large step. */
static void test_fmnist_subset_never_rises(void **state)
{
    (void)state;
    static const double lrs[] = {0, 0.1, 20};
    char err[512], what[128];
    for (uint64_t seed = 1; seed <= 2; seed++) {
        moem_images im = {0};
        moem_data data = {0};
        moem_model start = {0}, m = {0};
        moem_rng r;
        if (moem_fmnist_read(MOEM_FMNIST_DIR, 0, 2000, &im, err, sizeof err)) {
            print_error("%s (install dataset-fashion-mnist: ci/install-deps)\n", err);
            fail();
        }
        assert_int_equal(moem_data_alloc(&data, im.n, im.pixels + 1, err, sizeof err), 0);
        assert_int_equal(moem_model_alloc(&start, MOEM_SOFTMAX, 0, 2, im.pixels + 1,
                                          MOEM_FMNIST_CLASSES, err, sizeof err), 0);
        moem_rng_seed(&r, seed);
        assert_int_equal(moem_images_random_invert(&im, 0.5, &r, &data, NULL), 0);
        fmnist_start(&start, &r);
        for (size_t li = 0; li < sizeof lrs / sizeof lrs[0]; li++) {
            moem_params p;
            moem_trace tr;
            moem_params_default(&p);
            p.algo = MOEM_ALGO_EM;
            p.iters = 6;
            p.inner_steps = 5;
            p.inner_lr = lrs[li];
            p.threads = 2;
            assert_int_equal(moem_model_copy(&m, &start, err, sizeof err), 0);
            snprintf(what, sizeof what, "fmnist subset, seed %d, inner_lr %g", (int)seed, lrs[li]);
            if (moem_fit(&data, &m, &p, &tr, err, sizeof err)) {
                print_error("%s: %s\n", what, err);
                fail();
            }
            assert_monotone(&tr, what);
            /* and it moved: the M-steps are not all rejected */
            assert_true(tr.objective[tr.iters] < tr.objective[0] - 1e-3);
            moem_trace_free(&tr);
            moem_model_free(&m);
        }
        moem_model_free(&start);
        moem_data_free(&data);
        moem_images_free(&im);
    }
}

/* The rule catches a direction that does not descend: the M-step is handed the negated
 * gradient for its step (every trial goes uphill), rejects every trial and leaves L where it was,
 * while the same direction taken without the check raises L. */
static void test_non_descending_step_caught(void **state)
{
    (void)state;
    char err[512];
    const synth_case c = {MOEM_LOGISTIC, 0, 2, 5, 2};
    moem_data data = {0};
    moem_model m = {0}, plain = {0};
    make(&c, 11, &data, &m);
    size_t n = data.n, d = data.d, K = m.K, P = moem_expert_rows(&m), mtot = K + K * P;
    double *R = malloc(n * K * sizeof(double)), *Z = malloc(n * mtot * sizeof(double));
    double *G = malloc(mtot * d * sizeof(double));
    assert_true(R && Z && G);
    double L0 = moem_pass_em(&data, &m, R, Z, G);
    assert_true(isfinite(L0));
    for (size_t i = 0; i < mtot * d; i++) G[i] = -G[i];

    /* uphill, unchecked: theta + 0.01 grad L raises L */
    assert_int_equal(moem_model_copy(&plain, &m, err, sizeof err), 0);
    for (size_t i = 0; i < (K - 1) * d; i++) plain.W[i] -= 0.01 * G[i] / (double)n;
    for (size_t k = 0; k < K; k++)
        for (size_t i = 0; i < d; i++) plain.B[k * P * d + i] -= 0.01 * G[(K + k * P) * d + i] / (double)n;
    assert_true(moem_objective(&data, &plain) > L0);

    moem_params p;
    moem_params_default(&p);
    p.inner_steps = 1;      /* one step: the direction handed over is the one tried */
    p.inner_lr = 0.01;
    assert_int_equal(moem_mstep_inner(&data, &m, R, Z, G, &p, NULL, err, sizeof err), 0);
    double L1 = moem_objective(&data, &m);
    assert_true(L1 <= L0 + 1e-12 * fabs(L0));
    free(R); free(Z); free(G);
    moem_model_free(&plain);
    moem_model_free(&m);
    moem_data_free(&data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synthetic_never_rises),
        cmocka_unit_test(test_fmnist_subset_never_rises),
        cmocka_unit_test(test_non_descending_step_caught),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
