/* Every kernel of one ISA's table (argv[1]) against the scalar oracle on random data:
 * lengths 0, 1, lanes-1, lanes+1, odd tails, unaligned pointers, extreme logits.
 * Bounds (eps = DBL_EPSILON):
 *   sums of n products (xm, xm_cols, atx, atx_cols, wgram): |got - ref| <= 4 n eps sum |terms| + 1e-300
 *   softmax / E-step: |got - ref| <= 64 eps (1 + s) max(|ref|, 1e-300) elementwise, where s is
 *   the row's largest |log-space quantity| (exp of a log value x carries x eps of absolute
 *   error); objective sums: 64 eps sum_i (1 + s_i). */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "internal.h"
#include "moem_ops.h"
#include "rng.h"

static const moem_ops *isa, *ref;
static moem_rng rng;
static const double TWO_PI = 6.283185307179586476925286766559;
static const size_t LENS[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 15, 17, 20, 33};
#define NLENS (sizeof LENS / sizeof LENS[0])

static double *rnd(size_t n, double scale)
{
    /* one extra double in front so that callers can pass an unaligned pointer (p + 1) */
    double *p = malloc((n + 2) * sizeof(double));
    assert_non_null(p);
    for (size_t i = 0; i < n + 2; i++) p[i] = scale * (2.0 * moem_rng_uniform(&rng) - 1.0);
    return p;
}

static void near(double got, double want, double tol, const char *what, size_t i)
{
    if (!(fabs(got - want) <= tol) && !(got == want)) {
        fail_msg("%s[%zu]: %s %.17g, scalar %.17g, bound %.3g", what, i, isa->name, got, want, tol);
    }
}

static void skip_if_missing(void **state)
{
    (void)state;
    if (!isa) skip();
}

static void test_xm_xm_cols(void **state)
{
    skip_if_missing(state);
    static const size_t ms[] = {1, 2, 3, 4, 5, 8, 9, 22};
    /* 32: the widest rows of the transposed small-d tiles; 64 ...: wide rows, chunked tiles */
    size_t ds[NLENS + 4] = {32, 64, 300, 785};
    for (size_t b = 0; b < NLENS; b++) ds[4 + b] = LENS[b];
    for (size_t a = 0; a < NLENS; a++)
        for (size_t b = 0; b < NLENS + 4; b++)
            for (size_t q = 0; q < sizeof ms / sizeof ms[0]; q++) {
                size_t n = LENS[a], d = ds[b], m = ms[q], ld = (n + 7) / 8 * 8 + 8;
                double *X = rnd(n * d, 3.0), *M = rnd(m * d, 2.0);
                double *Z = rnd(n * m, 1.0), *Zr = rnd(n * m, 1.0), *Zt = rnd(m * ld, 1.0);
                ref->xm(n, d, X + 1, m, M + 1, Zr);
                isa->xm(n, d, X + 1, m, M + 1, Z + 1);
                isa->xm_cols(n, d, X + 1, m, M + 1, Zt, ld);
                for (size_t i = 0; i < n; i++)
                    for (size_t j = 0; j < m; j++) {
                        double s = 0.0;
                        for (size_t c = 0; c < d; c++) s += fabs(X[1 + i * d + c] * M[1 + j * d + c]);
                        double tol = 4.0 * (double)d * DBL_EPSILON * s + 1e-300;
                        near(Z[1 + i * m + j], Zr[i * m + j], tol, "xm", i * m + j);
                        near(Zt[j * ld + i], Zr[i * m + j], tol, "xm_cols", i * m + j);
                    }
                for (size_t j = 0; j < m; j++)
                    for (size_t i = n; i < ld; i++) assert_true(Zt[j * ld + i] == 0.0);
                free(X); free(M); free(Z); free(Zr); free(Zt);
            }
}

static void test_atx_atx_cols(void **state)
{
    skip_if_missing(state);
    static const size_t ms[] = {1, 3, 5, 22};
    size_t ds[NLENS + 3] = {64, 300, 785};                      /* wide rows */
    for (size_t b = 0; b < NLENS; b++) ds[3 + b] = LENS[b];
    for (size_t a = 0; a < NLENS; a++)
        for (size_t b = 0; b < NLENS + 3; b++)
            for (size_t q = 0; q < 4; q++) {
                size_t n = LENS[a] * 3, d = ds[b], m = ms[q], ld = n + 3;
                double *X = rnd(n * d, 3.0), *A = rnd(n * m, 2.0), *At = rnd(m * ld, 1.0);
                double *G0 = rnd(m * d, 1.0), *G = malloc((m * d + 1) * sizeof(double));
                double *Gt = malloc(m * d * sizeof(double)), *Gr = malloc(m * d * sizeof(double));
                assert_true(G && Gt && Gr);
                for (size_t i = 0; i < n; i++)
                    for (size_t j = 0; j < m; j++) At[j * ld + i] = A[1 + i * m + j];
                memcpy(G + 1, G0, m * d * sizeof(double));
                memcpy(Gt, G0, m * d * sizeof(double));
                memcpy(Gr, G0, m * d * sizeof(double));
                ref->atx(n, d, X + 1, m, A + 1, Gr);
                isa->atx(n, d, X + 1, m, A + 1, G + 1);
                isa->atx_cols(n, d, X + 1, m, At, ld, Gt);
                for (size_t j = 0; j < m; j++)
                    for (size_t c = 0; c < d; c++) {
                        double s = fabs(G0[j * d + c]);
                        for (size_t i = 0; i < n; i++) s += fabs(A[1 + i * m + j] * X[1 + i * d + c]);
                        double tol = 4.0 * (double)(n + 1) * DBL_EPSILON * s + 1e-300;
                        near(G[1 + j * d + c], Gr[j * d + c], tol, "atx", j * d + c);
                        near(Gt[j * d + c], Gr[j * d + c], tol, "atx_cols", j * d + c);
                    }
                free(X); free(A); free(At); free(G0); free(G); free(Gt); free(Gr);
            }
}

/* The engine's forward product of wide rows (engine/forward.c: atx_cols on M packed transposed)
 * writes what xm_cols writes, for every row count, output count it takes and unaligned X. */
static void test_fwd_block(void **state)
{
    skip_if_missing(state);
    static const size_t ms[] = {8, 9, 19, 22, 64}, ds[] = {64, 65, 300, 785};
    assert_int_equal(moem_fwd_width(785, 7), 0);     /* too few outputs: xm_cols */
    assert_int_equal(moem_fwd_width(63, 22), 0);     /* narrow rows: xm_cols */
    assert_int_equal(moem_fwd_width(785, 65), 0);
    for (size_t a = 0; a < NLENS; a++)
        for (size_t b = 0; b < sizeof ds / sizeof ds[0]; b++)
            for (size_t q = 0; q < sizeof ms / sizeof ms[0]; q++) {
                size_t n = LENS[a], d = ds[b], m = ms[q], ld = (n + 7) / 8 * 8 + 8;
                size_t mp = moem_fwd_width(d, m);
                assert_true(mp >= m && mp % 8 == 0 && mp < m + 8);
                double *X = rnd(n * d, 3.0), *M = rnd(m * d, 2.0), *Zref = rnd(n * m, 1.0);
                double *Zt = rnd(m * ld, 1.0), *Mt = moem_alloc_doubles(mp * d);
                double *Zr = moem_alloc_doubles(n * mp);
                assert_true(Mt && Zr);
                ref->xm(n, d, X + 1, m, M + 1, Zref);
                moem_fwd_pack(m, d, M + 1, mp, Mt);
                moem_fwd_block(isa, n, d, X + 1, m, Mt, mp, Zt, ld, Zr);
                for (size_t i = 0; i < n; i++)
                    for (size_t j = 0; j < m; j++) {
                        double s = 0.0;
                        for (size_t c = 0; c < d; c++) s += fabs(X[1 + i * d + c] * M[1 + j * d + c]);
                        near(Zt[j * ld + i], Zref[i * m + j], 4.0 * (double)d * DBL_EPSILON * s + 1e-300,
                             "fwd_block", i * m + j);
                    }
                for (size_t j = 0; j < m; j++)
                    for (size_t i = n; i < ld; i++) assert_true(Zt[j * ld + i] == 0.0);
                free(X); free(M); free(Zref); free(Zt); moem_free(Mt); moem_free(Zr);
            }
}

static void test_wgram(void **state)
{
    skip_if_missing(state);
    static const size_t ds[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 15, 17, 20, 33, 47};
    for (size_t a = 0; a < NLENS; a++)
        for (size_t b = 0; b < sizeof ds / sizeof ds[0]; b++) {
            size_t n = LENS[a] * 3, d = ds[b];
            double *X = rnd(n * d, 3.0), *w = rnd(n, 1.0), *G0 = rnd(d * d, 1.0);
            double *G = malloc((d * d + 1) * sizeof(double)), *Gr = malloc(d * d * sizeof(double));
            assert_true(G && Gr);
            memcpy(G + 1, G0, d * d * sizeof(double));
            memcpy(Gr, G0, d * d * sizeof(double));
            ref->wgram(n, d, X + 1, w + 1, Gr);
            isa->wgram(n, d, X + 1, w + 1, G + 1);
            for (size_t r = 0; r < d; r++)
                for (size_t c = 0; c < d; c++) {
                    if (c < r) {            /* the lower triangle is not touched */
                        assert_true(G[1 + r * d + c] == G0[r * d + c]);
                        continue;
                    }
                    double s = fabs(G0[r * d + c]);
                    for (size_t i = 0; i < n; i++) s += fabs(w[1 + i] * X[1 + i * d + r] * X[1 + i * d + c]);
                    near(G[1 + r * d + c], Gr[r * d + c], 4.0 * (double)(n + 1) * DBL_EPSILON * s + 1e-300,
                         "wgram", r * d + c);
                }
            free(X); free(w); free(G0); free(G); free(Gr);
        }
}

static void test_softmax0_cols(void **state)
{
    skip_if_missing(state);
    static const double scales[] = {1.0, 50.0, 700.0, 1e4};
    static const size_t Js[] = {1, 2, 3, 9};
    for (size_t a = 0; a < NLENS; a++)
        for (size_t b = 0; b < 4; b++)
            for (size_t q = 0; q < 4; q++) {
                size_t n = LENS[a], J = Js[b], ld = (n + 7) / 8 * 8;
                double *Z = rnd(J * ld, scales[q]), *Zr = malloc((J * ld + 1) * sizeof(double));
                double *l = malloc((ld + 1) * sizeof(double)), *lr = malloc((ld + 1) * sizeof(double));
                assert_true(Zr && l && lr);
                memcpy(Zr, Z + 1, J * ld * sizeof(double));
                ref->softmax0_cols(n, J, Zr, ld, lr);
                isa->softmax0_cols(n, J, Z + 1, ld, l + 1);     /* unaligned */
                for (size_t i = 0; i < n; i++) {
                    double tol = 64.0 * DBL_EPSILON * (1.0 + 2.0 * scales[q]);
                    near(l[1 + i], lr[i], tol * fmax(fabs(lr[i]), 1.0), "softmax0 lse", i);
                    for (size_t j = 0; j < J; j++)
                        near(Z[1 + j * ld + i], Zr[j * ld + i], tol * fmax(Zr[j * ld + i], 1e-300), "softmax0 p", j * ld + i);
                }
                free(Z); free(Zr); free(l); free(lr);
            }
    /* the implicit zero logit: z = 0 gives p = 1/2, lse = log 2 */
    double z[8] = {0}, l[8];
    isa->softmax0_cols(1, 1, z, 8, l);
    assert_true(fabs(z[0] - 0.5) < 1e-15 && fabs(l[0] - log(2.0)) < 1e-15);
}

/* ---- E-step block: against a plain libm reference of MATH.md section 2 ------------------ */

static double softplus(double s) { return s > 0 ? s + log1p(exp(-s)) : log1p(exp(s)); }
static double sigmoid(double s) { return s >= 0 ? 1.0 / (1.0 + exp(-s)) : exp(s) / (1.0 + exp(s)); }

/* one row: z (mtot scores) -> pi, r, a (mtot), gs2 (K, added), returns LSE_k l_k; *mag: scale */
static double estep_row(int fam, size_t K, size_t P, const double *s2, double y, const double *z,
                        double *pi, double *r, double *a, double *gs2, double *mag)
{
    double mg = -INFINITY, sg = 0.0, l[16], ml = -INFINITY, sl = 0.0;
    *mag = 1.0;
    for (size_t k = 0; k < K; k++) mg = fmax(mg, z[k]);
    for (size_t k = 0; k < K; k++) sg += exp(z[k] - mg);
    double lseg = mg + log(sg);
    for (size_t k = 0; k < K; k++) {
        pi[k] = exp(z[k] - lseg);
        const double *s = z + K + k * P;
        double le;
        if (fam == 0) le = -(y - s[0]) * (y - s[0]) / (2 * s2[k]) - 0.5 * log(TWO_PI * s2[k]);
        else if (fam == 1) le = y * s[0] - softplus(s[0]);
        else {
            double mc = -INFINITY, sc = 0.0;
            for (size_t c = 0; c < P; c++) mc = fmax(mc, s[c]);
            for (size_t c = 0; c < P; c++) sc += exp(s[c] - mc);
            le = s[(size_t)y] - mc - log(sc);
            for (size_t c = 0; c < P; c++) *mag = fmax(*mag, fabs(s[c]));
        }
        l[k] = z[k] - lseg + le;
        *mag = fmax(*mag, fabs(l[k]) + fabs(z[k]) + fabs(s[0]));
        ml = fmax(ml, l[k]);
    }
    for (size_t k = 0; k < K; k++) sl += exp(l[k] - ml);
    double lse = ml + log(sl);
    for (size_t k = 0; k < K; k++) {
        r[k] = exp(l[k] - lse);
        a[k] = pi[k] - r[k];
        const double *s = z + K + k * P;
        double *ak = a + K + k * P;
        if (fam == 0) {
            double res = y - s[0];
            ak[0] = -r[k] * res / s2[k];
            gs2[k] += r[k] * (0.5 / s2[k] - res * res / (2 * s2[k] * s2[k]));
        } else if (fam == 1) {
            ak[0] = r[k] * (sigmoid(s[0]) - y);
        } else {
            double mc = -INFINITY, sc = 0.0;
            for (size_t c = 0; c < P; c++) mc = fmax(mc, s[c]);
            for (size_t c = 0; c < P; c++) sc += exp(s[c] - mc);
            for (size_t c = 0; c < P; c++)
                ak[c] = r[k] * (exp(s[c] - mc) / sc - (c == (size_t)y ? 1.0 : 0.0));
        }
    }
    return lse;
}

static void check_estep(int fam, size_t K, size_t P, size_t n, double scale)
{
    size_t mtot = K + K * P, ld = (n + 7) / 8 * 8 + 8;
    double s2[4], logc[4];
    for (size_t k = 0; k < K; k++) {
        s2[k] = 0.5 + moem_rng_uniform(&rng);
        logc[k] = 0.5 * log(TWO_PI * s2[k]);
    }
    moem_estep_args args = {.family = fam, .K = K, .P = P, .s2 = s2, .logc = logc};
    double *Zt = calloc(mtot * ld, sizeof(double)), *Z0 = malloc(mtot * ld * sizeof(double));
    double *Pt = calloc(K * ld, sizeof(double)), *Rt = calloc(K * ld, sizeof(double));
    double *At = calloc(mtot * ld, sizeof(double)), *y = rnd(n, 2.0);
    double *Pt2 = calloc(K * ld, sizeof(double)), *Rt2 = calloc(K * ld, sizeof(double));
    double *Rt3 = calloc(K * ld, sizeof(double));
    double gs2[4] = {0}, gs2r[4] = {0}, z[64], pi[4], r[4], a[64];
    assert_true(Zt && Z0 && Pt && Rt && At && Pt2 && Rt2 && Rt3);
    for (size_t i = 0; i < n; i++) {
        if (fam == 1) y[1 + i] = moem_rng_uniform(&rng) < 0.5 ? 0.0 : 1.0;
        if (fam == 2) y[1 + i] = (double)(moem_rng_next(&rng) % P);
        for (size_t j = 0; j < mtot; j++) Zt[j * ld + i] = scale * (2.0 * moem_rng_uniform(&rng) - 1.0);
    }
    memcpy(Z0, Zt, mtot * ld * sizeof(double));
    double tot = isa->estep(&args, n, y + 1, Zt, ld, Pt, Rt, At, gs2);
    double tot2 = isa->estep(&args, n, y + 1, Z0, ld, Pt2, Rt2, NULL, NULL);   /* no gradient */
    double tot3 = isa->estep(&args, n, y + 1, Z0, ld, NULL, Rt3, NULL, NULL);  /* no pi either */
    /* without pi the gate's sums are computed the same way: the same objective, bit for bit */
    assert_true(tot3 == tot2 || (isnan(tot3) && isnan(tot2)));
    double totr = 0.0, totb = 0.0;
    for (size_t i = 0; i < n; i++) {
        double mag;
        for (size_t j = 0; j < mtot; j++) z[j] = Z0[j * ld + i];
        double lse = estep_row(fam, K, P, s2, y[1 + i], z, pi, r, a, gs2r, &mag);
        double tol = 64.0 * DBL_EPSILON * (1.0 + mag);
        totr += lse;
        totb += 64.0 * DBL_EPSILON * (1.0 + mag + fabs(lse));
        for (size_t k = 0; k < K; k++) {
            near(Pt[k * ld + i], pi[k], tol * fmax(pi[k], 1e-300), "estep pi", i * K + k);
            near(Rt[k * ld + i], r[k], tol * fmax(r[k], 1e-300), "estep r", i * K + k);
            near(Pt2[k * ld + i], pi[k], tol * fmax(pi[k], 1e-300), "estep pi (no grad)", i * K + k);
            near(Rt2[k * ld + i], r[k], tol * fmax(r[k], 1e-300), "estep r (no grad)", i * K + k);
            assert_true(Rt3[k * ld + i] == Rt2[k * ld + i]);
        }
        for (size_t j = 0; j < mtot; j++) {
            double sc = j < K ? 1.0 : fam == 0 ? (1.0 + fabs(y[1 + i]) + fabs(z[j])) / s2[(j - K) / P] : 1.0;
            near(At[j * ld + i], a[j], tol * sc, "estep a", i * mtot + j);
        }
    }
    near(tot, totr, totb + 1e-300, "estep objective", 0);
    near(tot2, totr, totb + 1e-300, "estep objective (no grad)", 0);
    if (fam == 0)
        for (size_t k = 0; k < K; k++) {
            double b = 0.0;
            for (size_t i = 0; i < n; i++) {
                double res = y[1 + i] - Z0[(K + k) * ld + i];
                b += (1.0 + res * res) / (s2[k] * s2[k]);
            }
            near(gs2[k], gs2r[k], 64.0 * DBL_EPSILON * (1.0 + scale) * b + 1e-300, "estep gs2", k);
        }
    free(Zt); free(Z0); free(Pt); free(Rt); free(At); free(y); free(Pt2); free(Rt2); free(Rt3);
}

static void test_to_rows(void **state)
{
    skip_if_missing(state);
    static const size_t Ks[] = {1, 2, 3, 5};
    for (size_t a = 0; a < NLENS; a++)
        for (size_t q = 0; q < 4; q++) {
            size_t n = LENS[a], K = Ks[q], ld = (n + 7) / 8 * 8 + 8;
            double *Rt = rnd(K * ld, 1.0), *R = rnd(n * K + 2, 1.0);
            double guard = R[1 + n * K];
            isa->to_rows(n, K, Rt, ld, R + 1);
            for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < K; k++) assert_true(R[1 + i * K + k] == Rt[k * ld + i]);
            assert_true(R[1 + n * K] == guard);                /* nothing past the rows */
            free(Rt); free(R);
        }
}

static void test_estep(void **state)
{
    skip_if_missing(state);
    static const double scales[] = {1.0, 30.0, 700.0, 1000.0};
    for (int fam = 0; fam < 3; fam++)
        for (size_t K = 1; K <= 3; K++)
            for (size_t a = 0; a < NLENS; a++)
                for (size_t q = 0; q < 4; q++) {
                    if (fam == 0 && q == 3) continue;   /* (y - s)^2 / 2 beyond 1e5 gives r in {0, 1} only */
                    check_estep(fam, K, fam == 2 ? (a % 2 ? 10 : 3) : 1, LENS[a], scales[q]);
                }
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "scalar";
    moem_rng_seed(&rng, 20250713);
    ref = moem_ops_scalar();
    isa = moem_ops_by_name(name);
    if (!isa) printf("ISA %s not supported by this build or CPU: skipping\n", name);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xm_xm_cols),
        cmocka_unit_test(test_to_rows),
        cmocka_unit_test(test_atx_atx_cols),
        cmocka_unit_test(test_fwd_block),
        cmocka_unit_test(test_wgram),
        cmocka_unit_test(test_softmax0_cols),
        cmocka_unit_test(test_estep),
    };
    return cmocka_run_group_tests_name(name, tests, NULL, NULL);
}
