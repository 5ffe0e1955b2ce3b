/* Checks built on the mirror-descent reference: one step compared with it (T1, T4, T5, T7)
 * and the missing-information matrix of the symmetric models (T9). Uses only mirror.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mirror.h"

#define ERR(...) do { if (err && errlen) snprintf(err, errlen, __VA_ARGS__); } while (0)

/* solve L x = b in place, L lower triangular (row-major n x n) */
static void lower_solve(size_t n, const double *Lc, double *b)
{
    for (size_t i = 0; i < n; i++) {
        double s = b[i];
        for (size_t k = 0; k < i; k++) s -= Lc[i * n + k] * b[k];
        b[i] = s / Lc[i * n + i];
    }
}

/* solve L^T x = b in place */
static void upper_solve(size_t n, const double *Lc, double *b)
{
    for (size_t i = n; i-- > 0;) {
        double s = b[i];
        for (size_t k = i + 1; k < n; k++) s -= Lc[k * n + i] * b[k];
        b[i] = s / Lc[i * n + i];
    }
}

int moem_md_missing_info(const moem_data *data, const moem_model *m, double *lambda_max,
                         double *vec, char *err, size_t errlen)
{
    if (!m->symmetric) { ERR("missing information: symmetric models only"); return -1; }
    if (!data->X) { ERR("missing information: the reference needs float64 data (X is stored in float32)"); return -1; }
    size_t n = data->n, d = m->d, D = 2 * d;
    double *HA = malloc(D * D * sizeof(double)), *I = calloc(D * D, sizeof(double));
    double *R = malloc(n * 2 * sizeof(double)), *u = malloc(D * sizeof(double));
    double *eig = malloc(D * sizeof(double)), *V = malloc(D * D * sizeof(double));
    int rc = -1;
    if (!HA || !I || !R || !u || !eig || !V) { ERR("missing information: out of memory"); goto out; }
    if (isnan(moem_md_objective(data, m, NULL, R))) { ERR("missing information: out of memory"); goto out; }
    moem_md_sym_mirror(data, m, NULL, HA);
    /* I_miss = (1/N) sum_n Var_{z | x_n, y_n} T(y_n, z) = (1/N) sum r(1-r) u u^T, where the
     * complete-data statistic T moves by u when z switches from expert 2 to expert 1 */
    for (size_t i = 0; i < n; i++) {
        const double *x = data->X + i * d;
        double y = data->y[i], r = exp(R[2 * i]), v = r * (1 - r) / (double)n;
        double f = m->family == MOEM_LINEAR ? 2 * y / m->sigma2[0] : 2 * y - 1;
        for (size_t c = 0; c < d; c++) { u[c] = x[c]; u[d + c] = f * x[c]; }
        for (size_t a = 0; a < D; a++)
            for (size_t c = 0; c < D; c++) I[a * D + c] += v * u[a] * u[c];
    }
    if (moem_md_chol(D, HA)) { ERR("missing information: grad^2 A is singular"); goto out; }
    /* S = L^-1 I L^-T (symmetric, same eigenvalues as M = (L L^T)^-1 I) */
    for (size_t c = 0; c < D; c++) {                /* columns of I -> L^-1 I, stored as rows */
        for (size_t a = 0; a < D; a++) u[a] = I[a * D + c];
        lower_solve(D, HA, u);
        for (size_t a = 0; a < D; a++) V[c * D + a] = u[a];   /* V = (L^-1 I)^T */
    }
    for (size_t c = 0; c < D; c++) {                /* S column c = L^-1 (V column c) */
        for (size_t a = 0; a < D; a++) u[a] = V[a * D + c];
        lower_solve(D, HA, u);
        for (size_t a = 0; a < D; a++) I[a * D + c] = u[a];
    }
    for (size_t a = 0; a < D; a++)
        for (size_t c = a + 1; c < D; c++) I[a * D + c] = I[c * D + a] = 0.5 * (I[a * D + c] + I[c * D + a]);
    moem_md_jacobi(D, I, eig, V);
    size_t best = 0;
    for (size_t a = 1; a < D; a++) if (eig[a] > eig[best]) best = a;
    *lambda_max = eig[best];
    if (vec) {
        double mx = 0.0;
        for (size_t a = 0; a < D; a++) vec[a] = V[a * D + best];
        upper_solve(D, HA, vec);                    /* eigenvector of M: L^-T u */
        for (size_t a = 0; a < D; a++) mx = fmax(mx, fabs(vec[a]));
        for (size_t a = 0; a < D; a++) vec[a] /= mx;
    }
    rc = 0;
out:
    free(HA); free(I); free(R); free(u); free(eig); free(V);
    return rc;
}

int moem_md_check_step(const moem_data *data, const moem_model *tt, const moem_model *te,
                       const moem_model *tm, moem_md_check *out, char *err, size_t errlen)
{
    size_t n = data->n, K = tt->K, D = moem_md_dim(tt);
    double *g = malloc(D * sizeof(double)), *a = malloc(D * sizeof(double)), *b = malloc(D * sizeof(double));
    double *R0 = malloc(n * K * sizeof(double)), *R1 = malloc(n * K * sizeof(double));
    int rc = -1;
    memset(out, 0, sizeof *out);
    if (!data->X) { ERR("check: the reference needs float64 data (X is stored in float32)"); goto out; }
    if (!g || !a || !b || !R0 || !R1) { ERR("check: out of memory"); goto out; }
    out->diff = tm ? moem_md_param_diff(te, tm) : 0.0;
    out->L0 = moem_md_objective(data, tt, g, R0);
    out->L1 = moem_md_objective(data, te, NULL, R1);
    out->breg = moem_md_bregman(data, tt, te);
    double Ft = moem_md_surrogate(data, te, tt);
    if (isnan(out->L0) || isnan(out->L1) || isnan(out->breg) || isnan(Ft)) { ERR("check: out of memory"); goto out; }
    double tol = MOEM_MD_TOL_SLACK * (1 + fabs(out->L0));

    /* T5: L(theta+) <= L(theta_t) - D_A(theta_t, theta+). In the curved (non-symmetric) families
     * the three-point identity F_t(theta_t) - F_t(theta+) = D_A(theta_t, theta+) fails, and so
     * can this bound; there the sufficient decrease is by the surrogate's own decrease:
     * L(theta+) <= L(theta_t) - (F_t(theta_t) - F_t(theta+)) with F_t(theta+) <= F_t(theta_t) = 0. */
    if (tt->symmetric) out->t5 = out->L0 - out->breg - out->L1;
    else out->t5 = fmin(out->L0 + Ft - out->L1, -Ft);
    /* T4: F_t(theta+) = Q(theta+|theta_t) - Q(theta_t|theta_t) = L(theta+) - L(theta_t) + KL(r^t || r(theta+)) >= L(theta+) - L(theta_t);
     * the slack is the smaller of the inequality's margin and minus the identity's error */
    double kl = 0.0;
    for (size_t i = 0; i < n * K; i++) kl += exp(R0[i]) * (R0[i] - R1[i]);
    kl /= (double)n;
    double ident = fabs(Ft - (out->L1 - out->L0 + kl));
    out->t4 = fmin(Ft - (out->L1 - out->L0), -ident);
    /* T7: L(theta+) <= L(theta_t) + <grad L(theta_t), theta+ - theta_t> + D_A(theta+, theta_t);
     * for the curved (non-symmetric) families the pairing and D_A are taken in natural parameters */
    double rhs;
    if (tt->symmetric) {
        moem_md_pack(te, a);
        moem_md_pack(tt, b);
        rhs = out->L0 + moem_md_bregman(data, te, tt);
        for (size_t c = 0; c < D; c++) rhs += g[c] * (a[c] - b[c]);
    } else rhs = out->L0 + Ft;
    out->t7 = rhs - out->L1;
    out->ok_match = !tm || out->diff <= MOEM_MD_TOL_MATCH;
    out->ok_t5 = out->t5 >= -tol;
    out->ok_t4 = out->t4 >= -tol;
    out->ok_t7 = out->t7 >= -tol;
    rc = 0;
out:
    free(g); free(a); free(b); free(R0); free(R1);
    return rc;
}
