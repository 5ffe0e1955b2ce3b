/* Dispatch and whole-engine agreement for one ISA (argv[1], also in MOEM_ISA):
 *  - MOEM_ISA forcing takes effect, an unsupported request is a clear error;
 *  - objective, responsibilities, gradient and EM / Gradient EM / GD trajectories agree with
 *    the scalar table: |got - scalar| <= 1e-9 (1 + |scalar|);
 *  - the threaded pass is bit-for-bit repeatable and agrees with one thread. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "internal.h"
#include "synth.h"

static const char *isa_name;
#define TOL 1e-9

typedef struct { moem_family fam; int sym; size_t K, d, C; } model_case;
static const model_case CASES[] = {
    {MOEM_LINEAR, 0, 3, 5, 1}, {MOEM_LOGISTIC, 0, 2, 4, 2}, {MOEM_SOFTMAX, 0, 2, 6, 4},
    {MOEM_LINEAR, 1, 2, 10, 1}, {MOEM_LOGISTIC, 1, 2, 3, 2},
};
#define NCASES (sizeof CASES / sizeof CASES[0])
#define MAXV 4096

/* Everything compared across ISAs, for one case, appended to v. */
static size_t run_case(const model_case *c, double *v)
{
    char err[256];
    moem_rng r;
    moem_model truth, m;
    moem_data data;
    size_t nv = 0;
    moem_rng_seed(&r, 7 + (uint64_t)c->fam * 3 + (uint64_t)c->sym);
    assert_int_equal(moem_synth_truth(&truth, c->fam, c->sym, c->K, c->d, c->C, 2.0, 2.0, &r, err, sizeof err), 0);
    assert_int_equal(moem_synth_sample(&truth, 403, &r, &data, err, sizeof err), 0);
    for (int algo = 0; algo < 3; algo++) {
        assert_int_equal(moem_model_copy(&m, &truth, err, sizeof err), 0);
        for (size_t i = 0; i < m.K * m.d; i++) if (i < (m.K - 1) * m.d) m.W[i] *= 0.5;
        moem_params p;
        moem_params_default(&p);
        p.algo = algo == 0 ? MOEM_ALGO_EM : algo == 1 ? MOEM_ALGO_GEM : MOEM_ALGO_GD;
        p.iters = 4;
        p.lr = 0.5;
        moem_trace tr;
        assert_int_equal(moem_fit(&data, &m, &p, &tr, err, sizeof err), 0);
        for (int t = 0; t <= tr.iters; t++) v[nv++] = tr.objective[t];
        size_t P = moem_expert_rows(&m);
        for (size_t i = 0; i < m.K * m.d; i++) v[nv++] = m.W[i];
        for (size_t i = 0; i < m.K * P * m.d; i++) v[nv++] = m.B[i];
        moem_trace_free(&tr);
        moem_model_free(&m);
    }
    size_t K = truth.K, P = moem_expert_rows(&truth), d = truth.d;
    double *R = malloc(data.n * K * sizeof(double)), *PI = malloc(data.n * K * sizeof(double));
    double *gW = malloc(K * d * sizeof(double)), *gB = malloc(K * P * d * sizeof(double)), gs2[8];
    assert_true(R && PI && gW && gB);
    v[nv++] = moem_responsibilities(&data, &truth, R, PI);
    for (size_t i = 0; i < 40 * K; i++) { v[nv++] = R[i]; v[nv++] = PI[i]; }
    v[nv++] = moem_gradient(&data, &truth, gW, gB, c->fam == MOEM_LINEAR ? gs2 : NULL);
    for (size_t i = 0; i < K * d; i++) v[nv++] = gW[i];
    for (size_t i = 0; i < K * P * d; i++) v[nv++] = gB[i];
    if (c->fam == MOEM_LINEAR) for (size_t k = 0; k < K; k++) v[nv++] = gs2[k];
    free(R); free(PI); free(gW); free(gB);
    moem_model_free(&truth);
    moem_data_free(&data);
    assert_true(nv <= MAXV);
    return nv;
}

static int usable(void) { return moem_ops_by_name(isa_name) != NULL; }

static void test_forcing(void **state)
{
    (void)state;
    if (!usable()) {
        assert_non_null(moem_ops_error());        /* refused with a message, not a crash */
        assert_string_equal(moem_isa_name(), "scalar");
        skip();
    }
    assert_null(moem_ops_error());
    assert_string_equal(moem_isa_name(), isa_name);
    assert_string_equal(moem_ops_get()->name, isa_name);
}

/* Run as `test_isa bogus` with MOEM_ISA naming no ISA: a clear error and the scalar table. */
static void test_bogus_request(void **state)
{
    (void)state;
    assert_non_null(moem_ops_error());
    assert_string_equal(moem_isa_name(), "scalar");
}

static size_t all_cases(double *v)
{
    size_t n = 0;
    for (size_t c = 0; c < NCASES; c++) n += run_case(&CASES[c], v + n);
    return n;
}

static void test_engine_agrees(void **state)
{
    (void)state;
    if (!usable()) skip();
    double *want = malloc(NCASES * MAXV * sizeof(double)), *got = malloc(NCASES * MAXV * sizeof(double));
    assert_true(want && got);
    assert_int_equal(moem_ops_force("scalar"), 0);
    size_t n = all_cases(want);
    assert_int_equal(moem_ops_force(isa_name), 0);
    assert_string_equal(moem_isa_name(), isa_name);
    assert_int_equal(all_cases(got), n);
    for (size_t i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= TOL * (1.0 + fabs(want[i]))))
            fail_msg("value %zu: %s %.17g, scalar %.17g", i, isa_name, got[i], want[i]);
    free(want); free(got);
}

static void test_threads_repeatable(void **state)
{
    (void)state;
    if (!usable()) skip();
#ifdef _OPENMP
    if (omp_get_max_threads() < 2) skip();     /* qemu-user: OMP_NUM_THREADS=1 */
#else
    skip();
#endif
    char err[256];
    moem_rng r;
    moem_model m;
    moem_data data;
    moem_rng_seed(&r, 99);
    assert_int_equal(moem_synth_truth(&m, MOEM_LINEAR, 0, 3, 12, 1, 2.0, 2.0, &r, err, sizeof err), 0);
    assert_int_equal(moem_synth_sample(&m, 30011, &r, &data, err, sizeof err), 0);
    size_t K = m.K, d = m.d;
    double gW[3][36], gB[3][36], L[3], *R[3];
    int threads[3] = {1, 2, 2};
    for (int t = 0; t < 3; t++) {
        moem_set_threads(threads[t]);
        R[t] = malloc(data.n * K * sizeof(double));
        assert_non_null(R[t]);
        moem_pass(&data, &m, R[t], NULL, NULL);
        L[t] = moem_gradient(&data, &m, gW[t], gB[t], NULL);
    }
    moem_set_threads(0);
    assert_memory_equal(gW[1], gW[2], K * d * sizeof(double));     /* same thread count: same bits */
    assert_memory_equal(gB[1], gB[2], K * d * sizeof(double));
    assert_memory_equal(R[1], R[2], data.n * K * sizeof(double));
    assert_true(L[1] == L[2]);
    assert_true(fabs(L[0] - L[1]) <= TOL * (1.0 + fabs(L[0])));
    for (size_t i = 0; i < K * d; i++) {
        assert_true(fabs(gW[0][i] - gW[1][i]) <= TOL * (1.0 + fabs(gW[0][i])));
        assert_true(fabs(gB[0][i] - gB[1][i]) <= TOL * (1.0 + fabs(gB[0][i])));
    }
    assert_memory_equal(R[0], R[1], data.n * K * sizeof(double));   /* row-wise: no sums */
    for (int t = 0; t < 3; t++) free(R[t]);
    moem_model_free(&m);
    moem_data_free(&data);
}

/* moem_wgram_multi == moem_wgram_all per weight vector (bit for bit), symmetric, and close to
 * the scalar kernel on the whole data; moem_atx_all close to the scalar kernel; the fused
 * moem_atx_wgram close to both. */
static void test_drivers(void **state)
{
    (void)state;
    if (!usable()) skip();
    assert_int_equal(moem_ops_force(isa_name), 0);
    moem_rng r;
    moem_data data;
    char err[256];
    size_t n = 5003, d = 13, m = 3;
    moem_rng_seed(&r, 5);
    assert_int_equal(moem_data_alloc(&data, n, d, err, sizeof err), 0);
    double *w0 = malloc(n * sizeof(double)), *w1 = malloc(n * sizeof(double)), *A = malloc(n * m * sizeof(double));
    double *G = malloc(2 * d * d * sizeof(double)), *G1 = malloc(d * d * sizeof(double));
    double *Gs = calloc(d * d, sizeof(double)), *H = malloc(m * d * sizeof(double)), *Hs = calloc(m * d, sizeof(double));
    assert_true(w0 && w1 && A && G && G1 && Gs && H && Hs);
    for (size_t i = 0; i < n * d; i++) data.X[i] = moem_rng_normal(&r);
    for (size_t i = 0; i < n; i++) { w0[i] = moem_rng_uniform(&r); w1[i] = moem_rng_normal(&r); }
    for (size_t i = 0; i < n * m; i++) A[i] = moem_rng_normal(&r);
    const double *ws[2] = {w0, w1};
    moem_wgram_multi(&data, 2, ws, G);
    moem_wgram_all(&data, w1, G1);
    assert_memory_equal(G + d * d, G1, d * d * sizeof(double));
    moem_ops_scalar()->wgram(n, d, data.X, w0, Gs);
    for (size_t a = 0; a < d; a++)
        for (size_t b = a; b < d; b++) {
            assert_true(G[a * d + b] == G[b * d + a]);
            assert_true(fabs(G[a * d + b] - Gs[a * d + b]) <= TOL * (1.0 + fabs(Gs[a * d + b])));
        }
    moem_atx_all(&data, m, A, H);
    moem_ops_scalar()->atx(n, d, data.X, m, A, Hs);
    for (size_t i = 0; i < m * d; i++) assert_true(fabs(H[i] - Hs[i]) <= TOL * (1.0 + fabs(Hs[i])));
    /* the fused pass: the same products and Gram matrices (symmetric), close to the two passes */
    double *Hf = malloc(m * d * sizeof(double)), *Gf = malloc(2 * d * d * sizeof(double));
    assert_true(Hf && Gf);
    assert_int_equal(moem_atx_wgram(&data, m, A, Hf, 2, ws, Gf), 0);
    for (size_t i = 0; i < m * d; i++) assert_true(fabs(Hf[i] - H[i]) <= TOL * (1.0 + fabs(H[i])));
    for (size_t q = 0; q < 2; q++)
        for (size_t a = 0; a < d; a++)
            for (size_t b = 0; b < d; b++) {
                double f = Gf[q * d * d + a * d + b], e = G[q * d * d + a * d + b];
                assert_true(f == Gf[q * d * d + b * d + a]);
                assert_true(fabs(f - e) <= TOL * (1.0 + fabs(e)));
            }
    free(Hf); free(Gf);
    free(w0); free(w1); free(A); free(G); free(G1); free(Gs); free(H); free(Hs);
    moem_data_free(&data);
}

int main(int argc, char **argv)
{
    isa_name = argc > 1 ? argv[1] : "scalar";
    if (strcmp(isa_name, "bogus") == 0) {
        const struct CMUnitTest bogus[] = {cmocka_unit_test(test_bogus_request)};
        return cmocka_run_group_tests_name("bogus", bogus, NULL, NULL);
    }
    if (!moem_ops_by_name(isa_name)) printf("ISA %s not supported by this build or CPU\n", isa_name);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forcing),          /* first: before any table is forced */
        cmocka_unit_test(test_engine_agrees),
        cmocka_unit_test(test_threads_repeatable),
        cmocka_unit_test(test_drivers),
    };
    return cmocka_run_group_tests_name(isa_name, tests, NULL, NULL);
}
