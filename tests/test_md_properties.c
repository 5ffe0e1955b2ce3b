/* Properties of EM seen as mirror descent (MATH.md T6, T8-T11), each over MD_INSTANCES random
 * instances: fixed points and the O(1/T) bound, Bregman = KL, missing information and the
 * linear rate, invariance under feature maps and relabelling, Gradient EM == GD. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "mirror.h"
#include "test_md_util.h"

static void copy(moem_model *dst, const moem_model *src)
{
    char err[128];
    assert_int_equal(moem_model_copy(dst, src, err, sizeof err), 0);
}

static double vmax(const double *v, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(v[i]));
    return m;
}

static double softplus(double u) { return u > 0 ? u + log1p(exp(-u)) : log1p(exp(u)); }
static double sigm(double u) { return 1.0 / (1.0 + exp(-u)); }
static double kl_bern(double p, double q)
{
    return (p > 0 ? p * log(p / q) : 0.0) + (p < 1 ? (1 - p) * log((1 - p) / (1 - q)) : 0.0);
}

/* To a stationary point by the mirror-descent reference (unit steps, equal to EM by T1):
 * |grad L|_inf <= 1e-11 within the cap at bounded parameters (a saturated gate drifting to
 * infinity has a vanishing gradient but no fixed point); 1 when reached */
static int converge(const moem_data *data, moem_model *m, int cap)
{
    size_t D = moem_md_dim(m);
    double *g = malloc(D * sizeof(double)), *t = malloc(D * sizeof(double));
    int ok = 0;
    for (int it = 0; it < cap && !ok; it++) {
        md_md_step(data, m);
        moem_md_objective(data, m, g, NULL);
        moem_md_pack(m, t);
        if (vmax(t, D) > 100) break;
        ok = vmax(g, D) <= 1e-11;
    }
    free(g);
    free(t);
    return ok;
}

/* T6: a stationary point is a fixed point of EM, and min_t D_A(theta_t, theta_t+1) <= (L_1 - L_T+1)/T */
static void t6_fixed_point(void **state)
{
    (void)state;
    MD_ISA_GUARD();
    const moem_family fam[] = {MOEM_LINEAR, MOEM_LOGISTIC};
    for (int s = 0; s < 2; s++) {
        int fixed = 0;
        for (unsigned i = 0; i < MD_INSTANCES; i++) {
            md_inst in;
            moem_model m, prev;
            md_inst_make(&in, fam[s], 1, 2, 2, i);
            copy(&m, &in.start);
            const int T = 10;
            double L1 = moem_md_objective(&in.data, &m, NULL, NULL), dmin = INFINITY;
            for (int t = 0; t < T; t++) {
                copy(&prev, &m);
                md_em_step(&in.data, &m);
                dmin = fmin(dmin, moem_md_bregman(&in.data, &prev, &m));
                moem_model_free(&prev);
            }
            double LT = moem_md_objective(&in.data, &m, NULL, NULL);
            assert_true(dmin <= (L1 - LT) / T + 1e-12);
            if (converge(&in.data, &m, 400)) {
                size_t D = moem_md_dim(&m);
                double *a = malloc(D * sizeof(double)), *b = malloc(D * sizeof(double));
                moem_md_pack(&m, a);
                md_em_step(&in.data, &m);
                moem_md_pack(&m, b);
                for (size_t c = 0; c < D; c++) {
                    if (!(fabs(a[c] - b[c]) <= 1e-8 * (1 + fabs(a[c])))) {
                        double lam = -1; char err[128];
                        moem_md_missing_info(&in.data, &m, &lam, NULL, err, sizeof err);
                        print_error("instance %u coord %zu: %.17g -> %.17g lambda %.6g\n", i, c, a[c], b[c], lam);
                    }
                    assert_true(fabs(a[c] - b[c]) <= 1e-8 * (1 + fabs(a[c])));
                }
                free(a);
                free(b);
                fixed++;
            }
            moem_model_free(&m);
            md_inst_free(&in);
        }
        print_message("T6 %s: %d of %d instances reached a stationary point and stayed there\n",
                      fam[s] == MOEM_LINEAR ? "symlin" : "symlog", fixed, MD_INSTANCES);
        assert_true(fixed > 0);
    }
}

/* T8: D_A((w', b'), (w, b)) = (1/N) sum KL_Bern(sigma(x.w) || sigma(x.w')) + expert term */
static void t8_bregman_kl(void **state)
{
    (void)state;
    MD_ISA_GUARD();
    const moem_family fam[] = {MOEM_LINEAR, MOEM_LOGISTIC};
    for (int s = 0; s < 2; s++)
        for (unsigned i = 0; i < MD_INSTANCES; i++) {
            md_inst in;
            moem_model a;
            md_inst_make(&in, fam[s], 1, 2, 2, i);
            copy(&a, &in.start);
            moem_md_perturb(&a, &in.rng, i % 3 == 0 ? 1e-3 : 0.5);
            const moem_model *b = &in.start;     /* D_A(a, b) */
            size_t n = in.data.n, d = a.d;
            double kl = 0.0, s2 = a.sigma2[0], scale = 0.0;
            for (size_t j = 0; j < n; j++) {
                const double *x = in.data.X + j * d;
                double ua = 0, ub = 0, va = 0, vb = 0;
                for (size_t c = 0; c < d; c++) {
                    ua += a.W[c] * x[c]; ub += b->W[c] * x[c];
                    va += a.B[c] * x[c]; vb += b->B[c] * x[c];
                }
                kl += kl_bern(sigm(ub), sigm(ua));
                kl += fam[s] == MOEM_LINEAR ? (va - vb) * (va - vb) / (2 * s2) : kl_bern(sigm(vb), sigm(va));
                scale += softplus(ua) + softplus(ub) + fabs(va) + fabs(vb) + (va * va + vb * vb) / s2;
            }
            kl /= (double)n;
            scale /= (double)n;
            double da = moem_md_bregman(&in.data, &a, b);
            if (!(fabs(da - kl) <= 1e-13 * scale)) print_error("instance %u: D_A %.17g KL %.17g\n", i, da, kl);
            assert_true(fabs(da - kl) <= 1e-13 * scale);
            moem_model_free(&a);
            md_inst_free(&in);
        }
}

/* T9: grad^2 L = grad^2 A - I_miss; near the fixed point EM contracts by lambda_max(M) along
 * the top eigenvector of M = (grad^2 A)^-1 I_miss; alpha = 1 - lambda_max in (0, 1]. */
static void t9_missing_information(void **state)
{
    (void)state;
    MD_ISA_GUARD();
    const moem_family fam[] = {MOEM_LINEAR, MOEM_LOGISTIC};
    for (int s = 0; s < 2; s++) {
        int checked = 0;
        double worst = 0.0;
        for (unsigned i = 0; i < MD_INSTANCES; i++) {
            md_inst in;
            moem_model m, q;
            char err[256];
            md_inst_make(&in, fam[s], 1, 2, 2, i);
            copy(&m, &in.start);
            if (!converge(&in.data, &m, 400)) { moem_model_free(&m); md_inst_free(&in); continue; }
            size_t D = moem_md_dim(&m), d = m.d, K = 2;
            double lam, *v = malloc(D * sizeof(double)), *th = malloc(D * sizeof(double));
            double *HA = malloc(D * D * sizeof(double)), *gp = malloc(D * sizeof(double)), *gm = malloc(D * sizeof(double));
            double gW[2 * 8], gB[2 * 8];
            assert_int_equal(moem_md_missing_info(&in.data, &m, &lam, v, err, sizeof err), 0);
            assert_true(lam >= -1e-12 && lam < 1.0);
            moem_md_sym_mirror(&in.data, &m, NULL, HA);
            moem_md_pack(&m, th);
            /* grad^2 L v by central differences of the EM path's gradient == (1 - lambda) grad^2 A v */
            copy(&q, &m);
            double h = 1e-5;
            for (int sign = 1; sign >= -1; sign -= 2) {
                double *t = malloc(D * sizeof(double));
                for (size_t c = 0; c < D; c++) t[c] = th[c] + sign * h * v[c];
                moem_md_unpack(&q, t);
                moem_gradient(&in.data, &q, gW, gB, NULL);
                double *g = sign > 0 ? gp : gm;
                for (size_t c = 0; c < d; c++) { g[c] = gW[c]; g[d + c] = gB[c]; }
                free(t);
            }
            (void)K;
            for (size_t r = 0; r < D; r++) {
                double hv = (gp[r] - gm[r]) / (2 * h), av = 0.0;
                for (size_t c = 0; c < D; c++) av += HA[r * D + c] * v[c];
                assert_true(fabs(hv - (1 - lam) * av) <= 1e-6 * (1 + fabs(av)));
            }
            /* one EM step from theta_hat + eps v lands at theta_hat + lambda eps v (to O(eps^2)) */
            double eps = 1e-5, *t = malloc(D * sizeof(double)), dev = 0.0;
            for (size_t c = 0; c < D; c++) t[c] = th[c] + eps * v[c];
            moem_md_unpack(&q, t);
            md_em_step(&in.data, &q);
            moem_md_pack(&q, t);
            for (size_t c = 0; c < D; c++) dev = fmax(dev, fabs(t[c] - th[c] - lam * eps * v[c]));
            worst = fmax(worst, dev / eps);
            if (!(dev <= 1e-3 * eps)) print_error("instance %u: lambda %.6g dev/eps %.3g |v| %.3g\n", i, lam, dev / eps, vmax(v, D));
            assert_true(dev <= 1e-3 * eps);
            checked++;
            free(v); free(th); free(HA); free(gp); free(gm); free(t);
            moem_model_free(&q);
            moem_model_free(&m);
            md_inst_free(&in);
        }
        print_message("T9 %s: %d instances at a fixed point, max |EM(theta_hat + eps v) - theta_hat - lambda eps v| / eps = %.3g\n",
                      fam[s] == MOEM_LINEAR ? "symlin" : "symlog", checked, worst);
        assert_true(checked > 0);
    }
}

/* apply x -> P x to the data and v -> P^-T v to every parameter row (Pinv_T: P^-T) */
static void map_rows(double *rows, size_t nrows, size_t d, const double *M)
{
    double t[16];
    for (size_t r = 0; r < nrows; r++) {
        for (size_t a = 0; a < d; a++) {
            t[a] = 0.0;
            for (size_t c = 0; c < d; c++) t[a] += M[a * d + c] * rows[r * d + c];
        }
        memcpy(rows + r * d, t, d * sizeof(double));
    }
}

/* inverse of a small matrix by Gauss-Jordan with partial pivoting */
static void invert(size_t d, const double *A, double *Ai)
{
    double M[16 * 32];
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < 2 * d; j++) M[i * 2 * d + j] = j < d ? A[i * d + j] : (j - d == i);
    for (size_t c = 0; c < d; c++) {
        size_t p = c;
        for (size_t i = c + 1; i < d; i++) if (fabs(M[i * 2 * d + c]) > fabs(M[p * 2 * d + c])) p = i;
        for (size_t j = 0; j < 2 * d; j++) { double x = M[c * 2 * d + j]; M[c * 2 * d + j] = M[p * 2 * d + j]; M[p * 2 * d + j] = x; }
        double piv = M[c * 2 * d + c];
        for (size_t j = 0; j < 2 * d; j++) M[c * 2 * d + j] /= piv;
        for (size_t i = 0; i < d; i++)
            if (i != c) {
                double f = M[i * 2 * d + c];
                for (size_t j = 0; j < 2 * d; j++) M[i * 2 * d + j] -= f * M[c * 2 * d + j];
            }
    }
    for (size_t i = 0; i < d; i++) for (size_t j = 0; j < d; j++) Ai[i * d + j] = M[i * 2 * d + d + j];
}

typedef int (*step_fn)(const moem_data *, moem_model *, const moem_params *, char *, size_t);

/* T10: EM (and the MD reference) commute with x -> P x, theta -> P^-T theta; GD does not.
 * Relabelling the experts permutes the EM iterate. */
static void t10_invariance(void **state)
{
    (void)state;
    MD_ISA_GUARD();
    const struct { moem_family f; int sym; size_t K, C; } sh[] = {
        {MOEM_LINEAR, 1, 2, 1}, {MOEM_LINEAR, 0, 3, 1}, {MOEM_SOFTMAX, 0, 2, 3}};
    for (int s = 0; s < 3; s++)
        for (unsigned i = 0; i < MD_INSTANCES; i++) {
            md_inst in;
            moem_data dx;
            char err[256];
            md_inst_make(&in, sh[s].f, sh[s].sym, sh[s].K, sh[s].C, i);
            size_t n = in.data.n, d = in.data.d, K = in.start.K, P = moem_expert_rows(&in.start);
            double Pm[64], Pi[64], PiT[64], PT[64];
            for (size_t a = 0; a < d; a++)
                for (size_t c = 0; c < d; c++) Pm[a * d + c] = (a == c) + 0.3 * moem_rng_normal(&in.rng);
            invert(d, Pm, Pi);
            for (size_t a = 0; a < d; a++)
                for (size_t c = 0; c < d; c++) { PiT[a * d + c] = Pi[c * d + a]; PT[a * d + c] = Pm[c * d + a]; }
            assert_int_equal(moem_data_alloc(&dx, n, d, err, sizeof err), 0);
            memcpy(dx.X, in.data.X, n * d * sizeof(double));
            memcpy(dx.y, in.data.y, n * sizeof(double));
            map_rows(dx.X, n, d, Pm);
            moem_params p;
            moem_params_default(&p);
            p.newton_tol = 1e-20;
            p.newton_max = 200;
            p.lr = p.lr_gate = 0.1;
            step_fn steps[] = {moem_em_step, moem_md_step, moem_gd_step};
            for (int k = 0; k < 3; k++) {
                moem_model a, b;
                copy(&a, &in.start);
                copy(&b, &in.start);
                map_rows(b.W, K, d, PiT);
                map_rows(b.B, K * P, d, PiT);
                assert_int_equal(steps[k](&in.data, &a, &p, err, sizeof err), 0);
                assert_int_equal(steps[k](&dx, &b, &p, err, sizeof err), 0);
                map_rows(b.W, K, d, PT);                  /* back: v = P^T v' */
                map_rows(b.B, K * P, d, PT);
                double diff = moem_md_param_diff(&a, &b), sc = 1.0;
                for (size_t c = 0; c < K * P * d; c++) sc = fmax(sc, fabs(a.B[c]));
                for (size_t c = 0; c < K * d; c++) sc = fmax(sc, fabs(a.W[c]));
                if (k < 2) assert_true(diff <= 1e-8 * sc);
                else assert_true(diff > 1e-6);
                moem_model_free(&a);
                moem_model_free(&b);
            }
            if (!sh[s].sym) {                             /* relabel: expert k -> perm[k] */
                moem_model a, b;
                size_t perm[3] = {K - 1, 0, 1};
                if (K == 2) perm[1] = 0;
                copy(&a, &in.start);
                copy(&b, &in.start);
                for (size_t k = 0; k < K; k++) {
                    memcpy(b.W + perm[k] * d, a.W + k * d, d * sizeof(double));
                    memcpy(b.B + perm[k] * P * d, a.B + k * P * d, P * d * sizeof(double));
                }
                double last[16];                          /* re-pin the last gate row */
                for (size_t c = 0; c < d; c++) last[c] = b.W[(K - 1) * d + c];
                for (size_t k = 0; k < K; k++)
                    for (size_t c = 0; c < d; c++) b.W[k * d + c] -= last[c];
                md_em_step(&in.data, &a);
                md_em_step(&in.data, &b);
                /* compare gate differences W_k - W_l (pin-free) and expert rows */
                double diff = 0.0;
                for (size_t k = 0; k < K; k++)
                    for (size_t l = 0; l < K; l++)
                        for (size_t c = 0; c < d; c++)
                            diff = fmax(diff, fabs((a.W[k * d + c] - a.W[l * d + c]) -
                                                   (b.W[perm[k] * d + c] - b.W[perm[l] * d + c])));
                for (size_t k = 0; k < K; k++)
                    for (size_t r = 0; r < P; r++)
                        for (size_t c = 0; c < d; c++) {
                            double va = a.B[(k * P + r) * d + c] - (P > 1 ? a.B[(k * P + P - 1) * d + c] : 0);
                            double vb = b.B[(perm[k] * P + r) * d + c] - (P > 1 ? b.B[(perm[k] * P + P - 1) * d + c] : 0);
                            diff = fmax(diff, fabs(va - vb));
                        }
                assert_true(diff <= 1e-8);
                moem_model_free(&a);
                moem_model_free(&b);
            }
            moem_data_free(&dx);
            md_inst_free(&in);
        }
}

/* T11: one gradient step on Q(. | theta_t) with step eta (Gradient EM, equal block steps) == the GD
 * step with step eta == theta_t - eta grad L(theta_t) from the reference's own gradient */
static void t11_gradient_em_is_gd(void **state)
{
    (void)state;
    MD_ISA_GUARD();
    const struct { moem_family f; int sym; size_t K, C; } sh[] = {
        {MOEM_LINEAR, 1, 2, 1}, {MOEM_LOGISTIC, 1, 2, 2}, {MOEM_LINEAR, 0, 3, 1}, {MOEM_SOFTMAX, 0, 2, 3}};
    for (int s = 0; s < 4; s++)
        for (unsigned i = 0; i < MD_INSTANCES; i++) {
            md_inst in;
            moem_model a, b;
            char err[256];
            md_inst_make(&in, sh[s].f, sh[s].sym, sh[s].K, sh[s].C, i);
            moem_params p;
            moem_params_default(&p);
            p.lr = p.lr_gate = 0.05 * (1 + i % 5);
            copy(&a, &in.start);
            copy(&b, &in.start);
            assert_int_equal(moem_gem_step(&in.data, &a, &p, err, sizeof err), 0);
            assert_int_equal(moem_gd_step(&in.data, &b, &p, err, sizeof err), 0);
            size_t D = moem_md_dim(&a);
            double *g = malloc(D * sizeof(double)), *t = malloc(D * sizeof(double)), *ta = malloc(D * sizeof(double));
            moem_md_objective(&in.data, &in.start, g, NULL);
            moem_md_pack(&in.start, t);
            moem_md_pack(&a, ta);
            for (size_t c = 0; c < D; c++) {
                double ref = t[c] - p.lr * g[c];
                assert_true(fabs(ta[c] - ref) <= 1e-12 * (1 + fabs(ref)));
            }
            assert_true(moem_md_param_diff(&a, &b) == 0.0 || moem_md_param_diff(&a, &b) <= 1e-14);
            free(g); free(t); free(ta);
            moem_model_free(&a);
            moem_model_free(&b);
            md_inst_free(&in);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t6_fixed_point),
        cmocka_unit_test(t8_bregman_kl),
        cmocka_unit_test(t9_missing_information),
        cmocka_unit_test(t10_invariance),
        cmocka_unit_test(t11_gradient_em_is_gd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
