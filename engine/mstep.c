/* Exact M-steps: weighted least squares (Cholesky) for linear experts and multinomial
 * Newton/IRLS with backtracking for the gate and for logistic / softmax experts; or the
 * paper's "k inner gradient steps" (p->inner_steps = k). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

/* f(V) = (1/N) sum_n w_n [LSE(V x_n, 0) - T_n . V x_n] + ridge/2 |V|^2. P (J x n, column j
 * holds p_nj) receives the probabilities of the free classes. One streaming pass on the pass's
 * threads (moem_run_rows: per-thread sums added in thread order), vectors across rows; each
 * thread's scratch: Zb (J x MOEM_BLOCK), lse and dots (MOEM_BLOCK each), Xs (MOEM_BLOCK x d,
 * float32 data only). NAN when the scratch cannot be allocated. */
/* Rows i < m of a block: A (m x J) = inv w_i (p_ij - T_ij), the gradient's row coefficients,
 * with p_ij = P[j*ldp + i] (inv = 1/N of the whole data) */
static void mn_grad_coef(size_t m, const double *w, const double *T, size_t J, const double *P,
                         size_t ldp, double inv, double *A)
{
    for (size_t i = 0; i < m; i++) {
        double wi = (w ? w[i] : 1.0) * inv;
        for (size_t j = 0; j < J; j++) A[i * J + j] = wi * (P[j * ldp + i] - T[i * J + j]);
    }
}

/* The Hessian's J(J+1)/2 weight vectors on rows i < m: W[q*ldw + i] = inv w_i p_ia
 * (delta_ab - p_ib) for the pairs a <= b in order */
static void mn_hess_weights(size_t m, const double *w, size_t J, const double *P, size_t ldp,
                            double inv, double *W, size_t ldw)
{
    size_t q = 0;
    for (size_t a = 0; a < J; a++)
        for (size_t b = a; b < J; b++, q++)
            for (size_t i = 0; i < m; i++)
                W[q * ldw + i] = (w ? w[i] : 1.0) * inv * P[a * ldp + i] *
                                 ((a == b ? 1.0 : 0.0) - P[b * ldp + i]);
}

typedef struct eval_ctx {
    const moem_data *data;
    const double *w, *T, *V;
    size_t J;
    double *P;
    int gh;         /* also the gradient and the Hessian's Gram matrices (mn_eval_gh) */
} eval_ctx;

static int eval_rows(const void *vc, size_t lo, size_t hi, double *out, double *scr)
{
    const eval_ctx *c = vc;
    const moem_ops *ops = moem_ops_get();
    const moem_data *data = c->data;
    size_t n = data->n, d = data->d, J = c->J;
    size_t nw = J * (J + 1) / 2;
    double *Zb = scr, *lse = Zb + J * MOEM_BLOCK, *dots = lse + MOEM_BLOCK, *Ab = dots + MOEM_BLOCK;
    double *Wb = Ab + (c->gh ? J * MOEM_BLOCK : 0), *Xs = Wb + (c->gh ? nw * MOEM_BLOCK : 0);
    double f = 0.0, inv = 1.0 / (double)n;
    for (size_t i0 = lo; i0 < hi; i0 += MOEM_BLOCK) {
        size_t nb = hi - i0 < MOEM_BLOCK ? hi - i0 : MOEM_BLOCK;
        const double *Xb = moem_rows(data, i0, nb, Xs);
        ops->xm_cols(nb, d, Xb, J, c->V, Zb, MOEM_BLOCK);
        for (size_t i = 0; i < nb; i++) dots[i] = 0.0;
        for (size_t j = 0; j < J; j++)
            for (size_t i = 0; i < nb; i++) dots[i] += c->T[(i0 + i) * J + j] * Zb[j * MOEM_BLOCK + i];
        ops->softmax0_cols(nb, J, Zb, MOEM_BLOCK, lse);
        for (size_t i = 0; i < nb; i++) f += (c->w ? c->w[i0 + i] : 1.0) * (lse[i] - dots[i]);
        for (size_t j = 0; j < J; j++) memcpy(c->P + j * n + i0, Zb + j * MOEM_BLOCK, nb * sizeof(double));
        if (!c->gh) continue;
        /* while the block is in cache: the gradient's coefficients and the Hessian's weights,
         * then A^T X and the Gram matrices */
        const double *wb = c->w ? c->w + i0 : NULL;
        mn_grad_coef(nb, wb, c->T + i0 * J, J, Zb, MOEM_BLOCK, inv, Ab);
        mn_hess_weights(nb, wb, J, Zb, MOEM_BLOCK, inv, Wb, MOEM_BLOCK);
        ops->atx(nb, d, Xb, J, Ab, out + 1);
        for (size_t q = 0; q < nw; q++)
            ops->wgram(nb, d, Xb, Wb + q * MOEM_BLOCK, out + 1 + J * d + q * d * d);
    }
    out[0] += f;
    return 0;
}

static double mn_eval(const moem_data *data, const double *w, const double *T, size_t J,
                      const double *V, double ridge, double *P)
{
    size_t n = data->n, d = data->d;
    eval_ctx c = {.data = data, .w = w, .T = T, .V = V, .J = J, .P = P};
    double f = 0.0;
    size_t slen = (J + 2) * MOEM_BLOCK + (data->Xf ? MOEM_BLOCK * d : 0);
    if (moem_run_rows(n, moem_pass_threads(n, J * (d + 8)), 1, &f, eval_rows, &c, slen)) return NAN;
    f /= (double)n;
    if (ridge > 0) {
        double s = 0.0;
        for (size_t i = 0; i < J * d; i++) s += V[i] * V[i];
        f += 0.5 * ridge * s;
    }
    return f;
}

/* H from the J(J+1)/2 Gram matrices Gab (block (a, b) = Gab[q], each full symmetric) + ridge I */
static void mn_hess_blocks(size_t J, size_t d, const double *Gab, double ridge, double *H)
{
    size_t Jd = J * d, q = 0;
    for (size_t a = 0; a < J; a++)
        for (size_t b = a; b < J; b++, q++) {
            const double *G = Gab + q * d * d;
            for (size_t r = 0; r < d; r++)
                for (size_t c = 0; c < d; c++) {
                    H[(a * d + r) * Jd + b * d + c] = G[r * d + c];
                    H[(b * d + c) * Jd + a * d + r] = G[r * d + c];
                }
        }
    for (size_t i = 0; i < Jd; i++) H[i * Jd + i] += ridge;
}

/* mn_eval and, in the same pass over X, the gradient g (J x d) and the Hessian H at V (what
 * mn_grad_coef + mn_hess give): a Newton step's trial point evaluated together with the next
 * step's derivatives. Gab: scratch of J(J+1)/2 d x d. NAN when memory runs out. */
static double mn_eval_gh(const moem_data *data, const double *w, const double *T, size_t J,
                         const double *V, double ridge, double *P, double *g, double *Gab,
                         double *H)
{
    size_t n = data->n, d = data->d, nw = J * (J + 1) / 2, len = 1 + J * d + nw * d * d;
    eval_ctx c = {.data = data, .w = w, .T = T, .V = V, .J = J, .P = P, .gh = 1};
    double *out = moem_alloc_doubles(len);
    if (!out) return NAN;
    memset(out, 0, len * sizeof(double));
    size_t slen = (2 * J + 2 + nw) * MOEM_BLOCK + (data->Xf ? MOEM_BLOCK * d : 0);
    if (moem_run_rows(n, moem_pass_threads(n, J * d + nw * d * d / 2), len, out, eval_rows, &c, slen)) {
        moem_free(out);
        return NAN;
    }
    double f = out[0] / (double)n;
    memcpy(g, out + 1, J * d * sizeof(double));
    for (size_t q = 0; q < nw; q++) {              /* the kernel fills upper triangles */
        double *G = Gab + q * d * d;
        memcpy(G, out + 1 + J * d + q * d * d, d * d * sizeof(double));
        for (size_t a = 0; a < d; a++)
            for (size_t b = 0; b < a; b++) G[a * d + b] = G[b * d + a];
    }
    moem_free(out);
    if (ridge > 0) {
        double s = 0.0;
        for (size_t i = 0; i < J * d; i++) { s += V[i] * V[i]; g[i] += ridge * V[i]; }
        f += 0.5 * ridge * s;
    }
    mn_hess_blocks(J, d, Gab, ridge, H);
    return f;
}

/* g (J x d) = (1/N) sum_n w_n (p_nj - T_nj) x_n + ridge V; A: scratch n x J. -1: no memory */
static int mn_grad(const moem_data *data, const double *w, const double *T, size_t J,
                    const double *V, double ridge, const double *P, double *A, double *g)
{
    mn_grad_coef(data->n, w, T, J, P, data->n, 1.0 / (double)data->n, A);
    if (moem_atx_all(data, J, A, g)) return -1;
    if (ridge > 0) for (size_t i = 0; i < J * data->d; i++) g[i] += ridge * V[i];
    return 0;
}

/* H ((J d) x (J d)): block (a, b) = (1/N) sum_n w_n p_a (delta_ab - p_b) x x^T + ridge I.
 * wab: J(J+1)/2 weight vectors of n; Gab: J(J+1)/2 Gram matrices of d x d (one pass over X).
 * And g = A^T X + ridge V (A from mn_grad_coef) in the same pass. -1 when memory runs out. */
static int mn_hess(const moem_data *data, const double *w, size_t J, const double *P,
                    double ridge, double *wab, double *Gab, double *H,
                    const double *A, const double *V, double *g)
{
    size_t n = data->n, d = data->d, Jd = J * d, nw = J * (J + 1) / 2;
    double inv = 1.0 / (double)n;
    const double *wv[64];
    const double **wp = nw <= 64 ? wv : malloc(nw * sizeof *wp);
    if (!wp) return -1;
    mn_hess_weights(n, w, J, P, n, inv, wab, n);
    for (size_t q = 0; q < nw; q++) wp[q] = wab + q * n;
    /* one free row on rows of 64-255 features (wider ones take Newton-CG): BLAS dsyrk, 3-4x the
     * wgram kernel there; otherwise, or if it is unavailable, the kernel */
    int syrk = J == 1 && d >= 64 && moem_wgram_syrk(data, wab, Gab) == 0;
    if (syrk ? moem_atx_all(data, J, A, g) : moem_atx_wgram(data, J, A, g, nw, wp, Gab)) {
        if (wp != wv) free(wp);
        return -1;
    }
    if (ridge > 0) for (size_t i = 0; i < Jd; i++) g[i] += ridge * V[i];
    mn_hess_blocks(J, d, Gab, ridge, H);
    if (wp != wv) free(wp);
    return 0;
}

int moem_multinomial_fit(const moem_data *data, const double *w, const double *T, size_t J,
                         double *V, const moem_params *p, char *err, size_t errlen)
{
    return moem_multinomial_fit_from(data, w, T, J, V, NULL, 0, p, err, errlen);
}

static int mn_fit(const moem_data *data, const double *w, const double *T, size_t J, double *V,
                  const double *P0, size_t ldp, const moem_params *p, moem_newton_info *info,
                  char *err, size_t errlen);

int moem_multinomial_fit_from(const moem_data *data, const double *w, const double *T, size_t J,
                              double *V, const double *P0, size_t ldp, const moem_params *p,
                              char *err, size_t errlen)
{
    return mn_fit(data, w, T, J, V, P0, ldp, p, NULL, err, errlen);
}

int moem_multinomial_newton(const moem_data *data, const double *w, const double *T, size_t J,
                            double *V, const double *P0, size_t ldp, const moem_params *p,
                            moem_newton_info *info, char *err, size_t errlen)
{
    moem_params q = *p;
    q.inner_steps = 0;
    return mn_fit(data, w, T, J, V, P0, ldp, &q, info, err, errlen);
}

/* The M-step solve: the paper's inner gradient steps (p->inner_steps > 0) or Newton to the
 * stopping rule of internal.h (dense Newton/IRLS; Newton-CG where moem_cg_wide says). */
static int mn_fit(const moem_data *data, const double *w, const double *T, size_t J, double *V,
                  const double *P0, size_t ldp, const moem_params *p, moem_newton_info *info,
                  char *err, size_t errlen)
{
    size_t n = data->n, d = data->d, Jd = J * d;
    if (p->inner_steps == 0 && moem_cg_wide(J, d))
        return moem_multinomial_newton_cg(data, w, T, J, V, p, info, err, errlen);
    moem_newton_info dummy;
    if (!info) info = &dummy;
    memset(info, 0, sizeof *info);
    int rc = -1;
    double *P = moem_alloc_doubles(n * J), *A = moem_alloc_doubles(n * J);
    double *g = moem_alloc_doubles(Jd);
    double *Vn = moem_alloc_doubles(Jd), *step = moem_alloc_doubles(Jd);
    double *H = NULL, *wab = NULL, *Gab = NULL;
    if (p->inner_steps == 0) {
        size_t nw = J * (J + 1) / 2;
        H = moem_alloc_doubles(Jd * Jd);
        wab = moem_alloc_doubles(nw * n);
        Gab = moem_alloc_doubles(nw * d * d);
    }
    if (!P || !A || !g || !Vn || !step || (p->inner_steps == 0 && (!H || !wab || !Gab))) {
        MOEM_ERR(err, errlen, "out of memory in the M-step (n = %zu, J = %zu, d = %zu)", n, J, d);
        goto out;
    }
    /* the class probabilities at the start: given (the E-step's gate), or one pass; f only
     * when a line search needs it */
    double f = 0.0;
    int have_f = 0;
    if (P0) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < J; j++) P[j * n + i] = P0[i * ldp + j];
    } else {
        f = mn_eval(data, w, T, J, V, p->ridge, P);
        have_f = 1;
    }
    if (p->inner_steps > 0) {                 /* the paper's k inner gradient steps */
        for (int s = 0; s < p->inner_steps; s++) {
            if (mn_grad(data, w, T, J, V, p->ridge, P, A, g)) goto oom;
            for (size_t i = 0; i < Jd; i++) V[i] -= p->inner_lr * g[i];
            if (s + 1 < p->inner_steps) f = mn_eval(data, w, T, J, V, p->ridge, P);
        }
        rc = 0;
        goto out;
    }
    /* One pass per Newton step: each trial point's pass also gives the gradient and the Hessian
     * there, which the next step uses when the trial is accepted (fresh). Not where the Hessian
     * goes to BLAS dsyrk (one free row on rows of 64 features and more): that pass is separate. */
    int fuse = !(J == 1 && d >= 64), fresh = 0;
    if (fuse) {
        /* f0, the objective at the start (for the relative rule), with g and H there */
        f = mn_eval_gh(data, w, T, J, V, p->ridge, P, g, Gab, H);
        if (isnan(f)) goto oom;
        fresh = 1;
    } else if (!have_f) {
        /* f0 into A, which mn_grad overwrites, so that the given probabilities P stay */
        f = mn_eval(data, w, T, J, V, p->ridge, A);
    }
    info->evals = 1;
    double f0 = f, tol = p->newton_tol;
    rc = MOEM_NEWTON_CAPPED;
    for (int it = 0; it < p->newton_max; it++) {
        /* the gradient and the Hessian in one pass over X, unless the last trial gave them */
        if (!fresh) {
            mn_grad_coef(n, w, T, J, P, n, 1.0 / (double)n, A);
            if (mn_hess(data, w, J, P, p->ridge, wab, Gab, H, A, V, g)) goto oom;
        }
        fresh = 0;
        memcpy(step, g, Jd * sizeof(double));
        int newton = moem_chol_solve(Jd, H, step) == 0;
        if (!newton) {
            /* singular Hessian (separable data, saturated probabilities, collinear features):
             * gradient direction, always with the line search (a unit step may overshoot) */
            memcpy(step, g, Jd * sizeof(double));
        }
        double dec = 0.0;
        for (size_t i = 0; i < Jd; i++) dec += g[i] * step[i];
        info->half_dec = 0.5 * dec;
        if (!(dec > 0)) { rc = 0; break; }
        tol = p->newton_rtol * (f0 - f) > p->newton_tol ? p->newton_rtol * (f0 - f) : p->newton_tol;
        if (0.5 * dec <= tol) {
            /* converged; the last full Newton step is free and squares the remaining error */
            if (newton) {
                for (size_t i = 0; i < Jd; i++) V[i] -= step[i];
                info->steps++;
            }
            rc = 0;
            break;
        }
        if (newton && 0.5 * dec < 1e-6) {
            /* quadratic-convergence region: the decrease is below the rounding of f, so Armijo
             * cannot judge it; full Newton steps are safe here */
            for (size_t i = 0; i < Jd; i++) V[i] -= step[i];
            f = fuse ? mn_eval_gh(data, w, T, J, V, p->ridge, P, g, Gab, H)
                     : mn_eval(data, w, T, J, V, p->ridge, P);
            if (isnan(f)) goto oom;
            fresh = fuse;
            info->evals++;
            info->steps++;
            continue;
        }
        double t = 1.0, fn = f;
        int ok = 0;
        for (int ls = 0; ls < 60; ls++, t *= 0.5) {
            for (size_t i = 0; i < Jd; i++) Vn[i] = V[i] - t * step[i];
            fn = fuse ? mn_eval_gh(data, w, T, J, Vn, p->ridge, P, g, Gab, H)
                      : mn_eval(data, w, T, J, Vn, p->ridge, P);
            info->evals++;
            if (fn <= f - 0.25 * t * dec) { ok = 1; break; }
        }
        if (!ok) {  /* no decrease representable: at the optimum to machine precision */
            mn_eval(data, w, T, J, V, p->ridge, P);
            rc = 0;
            break;
        }
        memcpy(V, Vn, Jd * sizeof(double));
        f = fn;
        fresh = fuse;
        info->steps++;
    }
    info->decrease = f0 - f;
    info->converged = rc == 0;
    if (rc == MOEM_NEWTON_CAPPED)
        MOEM_ERR(err, errlen, "Newton reached its cap of %d steps with half the squared decrement "
                 "%.3g above the tolerance %.3g; the iterate is kept", p->newton_max, info->half_dec, tol);
    goto out;
oom:
    MOEM_ERR(err, errlen, "out of memory in the M-step (n = %zu, J = %zu, d = %zu)", n, J, d);
out:
    moem_free(P); moem_free(A); moem_free(g); moem_free(Vn); moem_free(step); moem_free(H);
    moem_free(wab); moem_free(Gab);
    return rc;
}

/* Z (n x m) = X M^T: float64 data in one call, float32 data block by block through Xs
 * (MOEM_BLOCK x d). */
static void xm_rows(const moem_data *data, size_t m, const double *M, double *Z, double *Xs)
{
    const moem_ops *ops = moem_ops_get();
    size_t n = data->n, d = data->d;
    if (!data->Xf) {
        ops->xm(n, d, data->X, m, M, Z);
        return;
    }
    for (size_t i0 = 0; i0 < n; i0 += MOEM_BLOCK) {
        size_t nb = n - i0 < MOEM_BLOCK ? n - i0 : MOEM_BLOCK;
        ops->xm(nb, d, moem_rows(data, i0, nb, Xs), m, M, Z + i0 * m);
    }
}

/* Weighted least squares for all K linear experts at once:
 * b_k = ((1/N) X^T R_k X + ridge I)^{-1} (1/N) X^T R_k y; optionally sigma2_k (MLE). */
int moem_mstep_linear(const moem_data *data, moem_model *m, const double *R, int learn_sigma2,
                      double ridge, char *err, size_t errlen)
{
    size_t n = data->n, d = data->d, K = m->K;
    int rc = -1;
    double *A = moem_alloc_doubles(n * K), *rhs = moem_alloc_doubles(K * d);
    double *w = moem_alloc_doubles(n * K), *G = moem_alloc_doubles(K * d * d);
    double *Z = moem_alloc_doubles(n * K);
    double *Xs = data->Xf && learn_sigma2 ? moem_alloc_doubles(MOEM_BLOCK * d) : NULL;
    const double *wv[64];
    const double **wp = K <= 64 ? wv : malloc(K * sizeof *wp);
    if (!A || !rhs || !w || !G || !Z || !wp || (data->Xf && learn_sigma2 && !Xs)) goto oom;
    double inv = 1.0 / (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < K; k++) {
            A[i * K + k] = R[i * K + k] * data->y[i] * inv;
            w[k * n + i] = R[i * K + k] * inv;
        }
    for (size_t k = 0; k < K; k++) wp[k] = w + k * n;
    if (moem_atx_wgram(data, K, A, rhs, K, wp, G)) goto oom;   /* one pass over X */
    for (size_t k = 0; k < K; k++) {
        double *Gk = G + k * d * d, rsum = 0.0;
        for (size_t i = 0; i < n; i++) rsum += R[i * K + k];
        for (size_t a = 0; a < d; a++) Gk[a * d + a] += ridge;
        if (moem_chol_solve(d, Gk, rhs + k * d)) {
            MOEM_ERR(err, errlen, "weighted least squares for expert %zu is singular (its "
                     "responsibilities sum to %.3g; collapsed expert or collinear features): "
                     "use a ridge", k + 1, rsum);
            goto out;
        }
    }
    memcpy(m->B, rhs, K * d * sizeof(double));
    if (learn_sigma2) {
        xm_rows(data, K, m->B, Z, Xs);
        for (size_t k = 0; k < K; k++) {
            double num = 0.0, den = 0.0;
            for (size_t i = 0; i < n; i++) {
                double r = data->y[i] - Z[i * K + k];
                num += R[i * K + k] * r * r;
                den += R[i * K + k];
            }
            double s2 = num / den;
            if (!(s2 > 0) || !isfinite(s2)) {
                MOEM_ERR(err, errlen, "variance of expert %zu collapsed to %.3g (responsibility "
                         "mass %.3g)", k + 1, s2, den);
                goto out;
            }
            m->sigma2[k] = s2;
        }
    }
    rc = 0;
    goto out;
oom:
    MOEM_ERR(err, errlen, "out of memory in the M-step");
out:
    moem_free(A); moem_free(rhs); moem_free(w); moem_free(G); moem_free(Z); moem_free(Xs);
    if (wp && wp != wv) free(wp);
    return rc;
}

/* SymMoLinE: beta = ((1/N) X^T X + ridge I)^{-1} (1/N) X^T ((2r - 1) o y), r = R[:, 0]. */
int moem_mstep_symlin(const moem_data *data, moem_model *m, const double *R, double ridge,
                      double *U, int *have_U, char *err, size_t errlen)
{
    size_t n = data->n, d = data->d;
    int rc = -1, local = !U || !have_U || !*have_U;
    double *A = moem_alloc_doubles(n), *rhs = moem_alloc_doubles(d);
    double *w = local ? moem_alloc_doubles(n) : NULL;
    double *G = local ? (U ? U : moem_alloc_doubles(d * d)) : U;
    if (!A || !rhs || (local && (!w || !G))) { MOEM_ERR(err, errlen, "out of memory in the M-step"); goto out; }
    double inv = 1.0 / (double)n;
    for (size_t i = 0; i < n; i++) A[i] = (2.0 * R[i * 2] - 1.0) * data->y[i] * inv;
    if (moem_atx_all(data, 1, A, rhs)) { MOEM_ERR(err, errlen, "out of memory in the M-step"); goto out; }
    if (local) {
        for (size_t i = 0; i < n; i++) w[i] = inv;
        if (moem_wgram_all(data, w, G)) { MOEM_ERR(err, errlen, "out of memory in the M-step"); goto out; }
        for (size_t a = 0; a < d; a++) G[a * d + a] += ridge;
        if (moem_chol_factor(d, G)) {
            MOEM_ERR(err, errlen, "X^T X is singular (collinear or constant features): use a ridge");
            goto out;
        }
        if (U && have_U) *have_U = 1;
    }
    moem_chol_back(d, G, rhs);
    for (size_t c = 0; c < d; c++) { m->B[c] = rhs[c]; m->B[d + c] = -rhs[c]; }
    rc = 0;
out:
    moem_free(A); moem_free(w); moem_free(rhs);
    if (G != U) moem_free(G);
    return rc;
}
