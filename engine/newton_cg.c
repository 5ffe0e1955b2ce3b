/* Hessian-free Newton-CG (truncated Newton) for the multinomial M-step when J*d is large or
 * the rows are wide (moem_cg_wide):
 *   min_V f(V) = (1/N) sum_n w_n [LSE(V x_n, 0) - T_n . V x_n] + ridge/2 |V|^2
 * Hessian-vector products H D = (1/N) sum_n w_n x_n (p_n o u_n - p_n (p_n . u_n))^T + ridge D,
 * u_n = D x_n, through the kernel table (xm, atx) over row chunks; CG from 0 to the relative
 * residual min(0.5, sqrt(|g| / |g0|)) (Eisenstat-Walker forcing, g0 the first gradient of the
 * solve) or moem_cg_cap(J d) products, Armijo backtracking. Preconditioner: on rows of d >= 64
 * features with LAPACK, the Kronecker one (kron_build: the features' Gram matrix from every
 * moem_cg_stride(n)-th row, built once per solve) and the products over every row; otherwise
 * the Hessian's diagonal (Jacobi) and, on large data, the products and the diagonal over every
 * moem_cg_stride(n)-th row only. The gradient and the objective always use every row.
 * Stopping rule (internal.h, README):
 * half the squared Newton decrement g . s / 2 <= max(newton_tol, newton_rtol (f0 - f)), then
 * the computed step is taken if it does not raise f; newton_max Newton steps without meeting the
 * rule is reported (MOEM_NEWTON_CAPPED). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

typedef struct cg_ws {
    const moem_data *data;
    const double *w, *T;
    size_t J;
    size_t stride;  /* the Hessian on rows 0, stride, 2 stride, ... (moem_cg_stride) */
    double ridge;
    double *Z;      /* n x J: scores, then the free-class probabilities */
    double *U;      /* n x J: D x_n, then the Hessian coefficients */
    moem_rows_ws rows;  /* every pass's per-thread buffers (moem_run_rows_ws), allocated once
                         * per solve: J x d partial sums; scratch (cg_scratch) */
    size_t nb;      /* rows per block */
    size_t oq, ou;  /* offsets in a thread's scratch: Xq, Ug (Xs at 0) */
    double *Xsub;   /* every kstride-th row, gathered (and widened) once per solve: the rows of
                     * the Kronecker preconditioner, or (stride > 1) of the sampled Hessian */
    size_t kstride; /* Xsub's rows: every kstride-th (moem_cg_stride); stride is 1 or kstride */
    double *Gi;     /* d x d: (G + delta I)^-1, the shared factor of the Kronecker preconditioner */
    double *cw;     /* Xsub's rows: their weights in G */
    double gtr;     /* trace of G + delta I */
    double sc[64];  /* per class: the scale of the preconditioner's block (J <= 64) */
    double *xn2;    /* Xsub's rows: squared norms */
} cg_ws;

static size_t nthreads(size_t n)
{
    size_t t = moem_threads(), maxt = n / MOEM_BLOCK + 1;   /* no chunk smaller than a block */
    return t > maxt ? maxt : t;
}

/* A pass's arguments (the bodies' ctx) */
typedef struct cg_pass {
    const cg_ws *s;
    const double *in;   /* V, A, D */
    double *out;        /* xm_rows: OUT */
} cg_pass;

/* A thread's scratch: Xs (float32 data: nb x d, its rows widened block by block), then with
 * the Hessian (hess) Xq (nb x d: squared rows, the Hessian's diagonal) and Ug (nb x J: the
 * Hessian's coefficients of one block of sampled rows); sets s->oq and s->ou */
static size_t cg_scratch(cg_ws *s, int hess)
{
    size_t d = s->data->d, xs = s->data->Xf ? s->nb * d : 0;
    s->oq = xs;
    s->ou = xs + (hess ? s->nb * d : 0);
    return s->ou + (hess ? s->nb * s->J : 0);
}

/* OUT (n x J) = X V^T over rows [lo, hi) (moem_run_rows' body, no sums) */
static int xm_rows(const void *vc, size_t lo, size_t hi, double *sums, double *scr)
{
    const cg_pass *c = vc;
    const cg_ws *s = c->s;
    const moem_ops *ops = moem_ops_get();
    size_t d = s->data->d, J = s->J;
    (void)sums;
    if (!s->data->Xf) {
        if (hi > lo) ops->xm(hi - lo, d, s->data->X + lo * d, J, c->in, c->out + lo * J);
        return 0;
    }
    for (size_t i0 = lo; i0 < hi; i0 += s->nb) {
        size_t k = hi - i0 < s->nb ? hi - i0 : s->nb;
        ops->xm(k, d, moem_rows(s->data, i0, k, scr), J, c->in, c->out + i0 * J);
    }
    return 0;
}

/* OUT (n x J) = X V^T */
static void xm_all(const cg_ws *s, const double *V, double *OUT)
{
    cg_pass c = {.s = s, .in = V, .out = OUT};
    moem_run_rows_ws(s->data->n, &s->rows, 0, NULL, xm_rows, &c);   /* cannot fail */
}

/* G (J x d) += sum over rows [lo, hi) of A[n*J + j] x_n */
static int atx_rows(const void *vc, size_t lo, size_t hi, double *G, double *scr)
{
    const cg_pass *c = vc;
    const cg_ws *s = c->s;
    const moem_ops *ops = moem_ops_get();
    size_t d = s->data->d, J = s->J;
    if (!s->data->Xf) {
        if (hi > lo) ops->atx(hi - lo, d, s->data->X + lo * d, J, c->in + lo * J, G);
        return 0;
    }
    for (size_t i0 = lo; i0 < hi; i0 += s->nb) {
        size_t k = hi - i0 < s->nb ? hi - i0 : s->nb;
        ops->atx(k, d, moem_rows(s->data, i0, k, scr), J, c->in + i0 * J, G);
    }
    return 0;
}

/* G (J x d) = sum_n A[n*J + j] x_n: per-thread partial sums added in thread order, so the
 * result depends on the thread count only */
static void atx_all(const cg_ws *s, const double *A, double *G)
{
    cg_pass c = {.s = s, .in = A};
    memset(G, 0, s->J * s->data->d * sizeof(double));
    moem_run_rows_ws(s->data->n, &s->rows, s->J * s->data->d, G, atx_rows, &c);   /* cannot fail */
}

/* The rows the Hessian uses, block by block: from *i (a multiple of s->stride) up to b, at
 * most s->nb of them; every row when stride is 1 (then X itself, or its float32 rows widened
 * into Xg), else every stride-th row, read in place from the solve's gathered copy Xsub (row
 * i is its row i / stride). They are rows *r0, *r0 + stride, *r0 + 2 stride, ... */
static size_t sampled_rows(const cg_ws *s, size_t *i, size_t b, double *Xg, size_t *r0,
                           const double **Xb)
{
    size_t d = s->data->d, k = 0;
    *r0 = *i;
    if (s->stride == 1) {
        k = b - *i < s->nb ? b - *i : s->nb;
        *Xb = moem_rows(s->data, *i, k, Xg);
        *i += k;
        return k;
    }
    *Xb = s->Xsub + *i / s->stride * d;
    for (; k < s->nb && *i < b; k++) *i += s->stride;
    return k;
}

/* Xsub = rows 0, kstride, 2 kstride, ... of X (float32 rows widened) and xn2 their squared
 * norms, once per solve */
static void gather_rows(cg_ws *s)
{
    size_t n = s->data->n, d = s->data->d;
    for (size_t i = 0, k = 0; i < n; i += s->kstride, k++) {
        double *x = s->Xsub + k * d, q = 0.0;
        if (s->data->Xf) moem_rows_f32(s->data, i, 1, x);   /* widened into place */
        else memcpy(x, s->data->X + i * d, d * sizeof(double));
        for (size_t c = 0; c < d; c++) q += x[c] * x[c];
        s->xn2[k] = q;
    }
}

/* the first sampled row of chunk [a, b) */
static size_t first_row(const cg_ws *s, size_t a)
{
    return (a + s->stride - 1) / s->stride * s->stride;
}

/* the number of sampled rows */
static double n_sampled(const cg_ws *s)
{
    return (double)((s->data->n + s->stride - 1) / s->stride);
}

/* hess_diag's sums over the sampled rows in [lo, hi) */
static int diag_rows(const void *vc, size_t lo, size_t hi, double *G, double *scr)
{
    const cg_pass *c = vc;
    const cg_ws *s = c->s;
    const moem_ops *ops = moem_ops_get();
    size_t d = s->data->d, J = s->J, i = first_row(s, lo), k, r0;
    double inv = 1.0 / n_sampled(s), *Xq = scr + s->oq, *Ug = scr + s->ou;
    const double *Xb;
    while ((k = sampled_rows(s, &i, hi, scr, &r0, &Xb)) > 0) {
        for (size_t e = 0; e < k * d; e++) Xq[e] = Xb[e] * Xb[e];
        for (size_t q = 0; q < k; q++) {
            size_t row = r0 + q * s->stride;
            const double *p = s->Z + row * J;
            double wi = (s->w ? s->w[row] : 1.0) * inv;
            for (size_t j = 0; j < J; j++) Ug[q * J + j] = wi * p[j] * (1.0 - p[j]);
        }
        ops->atx(k, d, Xq, J, Ug, G);
    }
    return 0;
}

/* Dg (J x d) = the diagonal of H at the probabilities in s->Z:
 * (1/N') sum_n w_n p_nj (1 - p_nj) x_nc^2 + ridge over the N' sampled rows, one pass (squared
 * rows block by block, per-thread partial sums added in thread order). It preconditions CG
 * (Jacobi). */
static void hess_diag(cg_ws *s, double *Dg)
{
    size_t Jd = s->J * s->data->d;
    cg_pass c = {.s = s};
    memset(Dg, 0, Jd * sizeof(double));
    moem_run_rows_ws(s->data->n, &s->rows, Jd, Dg, diag_rows, &c);   /* cannot fail */
    double mx = 0.0;
    for (size_t i = 0; i < Jd; i++) {
        Dg[i] += s->ridge;
        if (Dg[i] > mx) mx = Dg[i];
    }
    /* a feature that is zero on every weighted row has no curvature: any positive scale will do */
    for (size_t i = 0; i < Jd; i++) if (!(Dg[i] > 1e-12 * mx)) Dg[i] = mx > 0 ? mx : 1.0;
}

/* f(V); leaves the free-class probabilities in s->Z */
static double eval_f(cg_ws *s, const double *V)
{
    size_t n = s->data->n, J = s->J, Jd = J * s->data->d;
    xm_all(s, V, s->Z);
    double f = 0.0;
    for (size_t i = 0; i < n; i++) {
        double *z = s->Z + i * J, mx = 0.0, dot = 0.0, sum;
        const double *t = s->T + i * J;
        for (size_t j = 0; j < J; j++) { dot += t[j] * z[j]; if (z[j] > mx) mx = z[j]; }
        sum = exp(-mx);                              /* the pinned class */
        for (size_t j = 0; j < J; j++) { z[j] = exp(z[j] - mx); sum += z[j]; }
        double inv = 1.0 / sum;
        for (size_t j = 0; j < J; j++) z[j] *= inv;
        f += (s->w ? s->w[i] : 1.0) * (mx + log(sum) - dot);
    }
    f /= (double)n;
    if (s->ridge > 0) {
        double q = 0.0;
        for (size_t i = 0; i < Jd; i++) q += V[i] * V[i];
        f += 0.5 * s->ridge * q;
    }
    return f;
}

/* g = grad f at the V of the last eval_f (probabilities in s->Z) */
static void eval_g(cg_ws *s, const double *V, double *g)
{
    size_t n = s->data->n, J = s->J, Jd = J * s->data->d;
    double inv = 1.0 / (double)n;
    for (size_t i = 0; i < n; i++) {
        double wi = (s->w ? s->w[i] : 1.0) * inv;
        for (size_t j = 0; j < J; j++) s->U[i * J + j] = wi * (s->Z[i * J + j] - s->T[i * J + j]);
    }
    atx_all(s, s->U, g);
    if (s->ridge > 0) for (size_t i = 0; i < Jd; i++) g[i] += s->ridge * V[i];
}

/* hess_vec's sums over the sampled rows in [lo, hi) */
static int hv_rows(const void *vc, size_t lo, size_t hi, double *HD, double *scr)
{
    const cg_pass *c = vc;
    const cg_ws *s = c->s;
    const moem_ops *ops = moem_ops_get();
    size_t d = s->data->d, J = s->J, i = first_row(s, lo), k, r0;
    double inv = 1.0 / n_sampled(s), *Ug = scr + s->ou;
    const double *Xb;
    while ((k = sampled_rows(s, &i, hi, scr, &r0, &Xb)) > 0) {
        ops->xm(k, d, Xb, J, c->in, Ug);
        for (size_t q = 0; q < k; q++) {
            size_t row = r0 + q * s->stride;
            const double *p = s->Z + row * J;
            double *u = Ug + q * J, pu = 0.0, wi = (s->w ? s->w[row] : 1.0) * inv;
            for (size_t j = 0; j < J; j++) pu += p[j] * u[j];
            for (size_t j = 0; j < J; j++) u[j] = wi * p[j] * (u[j] - pu);
        }
        ops->atx(k, d, Xb, J, Ug, HD);
    }
    return 0;
}

/* HD = H D at the probabilities in s->Z, H over the sampled rows: forward, coefficients and
 * backward while each block is in cache (one read of those rows per product) */
static void hess_vec(cg_ws *s, const double *D, double *HD)
{
    size_t Jd = s->J * s->data->d;
    cg_pass c = {.s = s, .in = D};
    memset(HD, 0, Jd * sizeof(double));
    moem_run_rows_ws(s->data->n, &s->rows, Jd, HD, hv_rows, &c);   /* cannot fail */
    if (s->ridge > 0) for (size_t i = 0; i < Jd; i++) HD[i] += s->ridge * D[i];
}

static double dot(size_t m, const double *a, const double *b)
{
    double s = 0.0;
    for (size_t i = 0; i < m; i++) s += a[i] * b[i];
    return s;
}

/* The Kronecker preconditioner: block j of H is sum_n w_n p_nj (1 - p_nj) x_n x_n^T (+ ridge
 * I), which it approximates by s_j (G + delta I), G = (1/N') sum_n w_n c_n x_n x_n^T with
 * c_n = sum_j p_nj (1 - p_nj) at the solve's start, over the rows of Xsub, delta = 1e-3 of
 * G's mean diagonal (that sample leaves some pixel directions without curvature); s_j matches
 * the block's trace on those rows at every Newton step. It captures the correlation of the
 * features (the pixels of an image), which a diagonal cannot: on the Fashion-MNIST experts
 * CG needs 3-6 products per Newton step instead of the cap. Built once per solve (one dsyrk
 * over Xsub and a d x d inverse); -1 (then Jacobi) without BLAS/LAPACK or when G is singular. */
static int kron_build(cg_ws *s)
{
    size_t n = s->data->n, d = s->data->d, J = s->J, k = 0;
    double inv = 1.0 / (double)((n + s->kstride - 1) / s->kstride);
    for (size_t i = 0; i < n; i += s->kstride, k++) {
        const double *p = s->Z + i * J;
        double c = 0.0;
        for (size_t j = 0; j < J; j++) c += p[j] * (1.0 - p[j]);
        s->cw[k] = (s->w ? s->w[i] : 1.0) * inv * c;
    }
    moem_data sub = {.n = k, .d = d, .X = s->Xsub};
    if (moem_wgram_syrk(&sub, s->cw, s->Gi)) return -1;
    double tr = 0.0;
    for (size_t c = 0; c < d; c++) tr += s->Gi[c * d + c];
    if (!(tr > 0) || !isfinite(tr)) return -1;
    double delta = 1e-3 * tr / (double)d;
    for (size_t c = 0; c < d; c++) s->Gi[c * d + c] += delta;
    s->gtr = tr + (double)d * delta;
    return moem_spd_inverse(d, s->Gi);
}

/* s_j = the trace of H's block j on Xsub's rows at the probabilities in s->Z / trace(G + delta I) */
static void kron_scale(cg_ws *s)
{
    size_t n = s->data->n, d = s->data->d, J = s->J;
    double inv = 1.0 / (double)((n + s->kstride - 1) / s->kstride);
    for (size_t j = 0; j < J; j++) s->sc[j] = 0.0;
    for (size_t i = 0, k = 0; i < n; i += s->kstride, k++) {
        const double *p = s->Z + i * J;
        double c = (s->w ? s->w[i] : 1.0) * inv * s->xn2[k];
        for (size_t j = 0; j < J; j++) s->sc[j] += c * p[j] * (1.0 - p[j]);
    }
    for (size_t j = 0; j < J; j++) {
        s->sc[j] = (s->sc[j] + s->ridge * (double)d) / s->gtr;
        if (!(s->sc[j] > 1e-12)) s->sc[j] = 1e-12;     /* a class without curvature on the sample */
    }
}

/* z = M^-1 r: the Kronecker preconditioner when built, else the diagonal Dg (Jacobi) */
static void precond(const cg_ws *s, const double *Dg, const double *r, double *z)
{
    size_t d = s->data->d, Jd = s->J * d;
    if (s->Gi && moem_mul_sym(s->J, d, r, s->Gi, z) == 0) {
        for (size_t j = 0; j < s->J; j++)
            for (size_t c = 0; c < d; c++) z[j * d + c] /= s->sc[j];
        return;
    }
    for (size_t i = 0; i < Jd; i++) z[i] = r[i] / Dg[i];
}

/* step ~ H^-1 g by CG from 0, preconditioned by precond (Kronecker, or the diagonal Dg), to
 * |H step - g| <= eta |g| or maxit products; z: scratch. Returns the iterations. */
static int cg_solve(cg_ws *s, const double *g, const double *Dg, double eta, int maxit,
                    double *step, double *r, double *z, double *q, double *Hq, int *hv)
{
    size_t Jd = s->J * s->data->d;
    memset(step, 0, Jd * sizeof(double));
    memcpy(r, g, Jd * sizeof(double));
    precond(s, Dg, r, z);
    memcpy(q, z, Jd * sizeof(double));
    double rr = dot(Jd, r, r), rz = dot(Jd, r, z), stop = eta * eta * rr;
    int it = 0;
    while (it < maxit && rr > stop) {
        hess_vec(s, q, Hq);
        (*hv)++;
        double qHq = dot(Jd, q, Hq);
        if (!(qHq > 0)) {                        /* no curvature along q (saturated or separable) */
            if (it == 0) memcpy(step, z, Jd * sizeof(double));
            break;
        }
        double alpha = rz / qHq;
        for (size_t i = 0; i < Jd; i++) { step[i] += alpha * q[i]; r[i] -= alpha * Hq[i]; }
        precond(s, Dg, r, z);
        double rz1 = dot(Jd, r, z);
        for (size_t i = 0; i < Jd; i++) q[i] = z[i] + (rz1 / rz) * q[i];
        rz = rz1;
        rr = dot(Jd, r, r);
        it++;
    }
    return it;
}

/* CG products per Newton step: the forcing sequence ends most solves sooner; the cap bounds
 * the first, ill-conditioned ones of nearly separable weighted problems, where a full solve
 * buys little. It grows like sqrt(J d): 16 for J d <= 64, 84 at the Fashion-MNIST experts
 * (J d = 7065). */
/* The Hessian's rows: all of them up to 16384, every 8th row from 16384 on (at least 2048
 * rows). The gradient and the objective always use every row, so the solution is the same
 * minimiser; the sampled Hessian only shapes the steps toward it (subsampled Newton-CG), at
 * an eighth of the cost per product on large data. */
size_t moem_cg_stride(size_t n)
{
    return n >= 16384 ? 8 : 1;
}

int moem_cg_wide(size_t J, size_t d)
{
    return J * d > 1024 || (d >= 256 && J <= 64 && moem_have_lapack());
}

int moem_cg_cap(size_t Jd)
{
    double c = ceil(sqrt((double)Jd));
    if (c < 16) c = 16;
    return Jd < (size_t)c ? (int)Jd : (int)c;
}

static int fit_cg(const moem_data *data, const double *w, const double *T, size_t J, double *V,
                  const moem_params *p, moem_newton_info *info, char *err, size_t errlen);

int moem_multinomial_fit_cg(const moem_data *data, const double *w, const double *T, size_t J,
                            double *V, const moem_params *p, char *err, size_t errlen)
{
    return fit_cg(data, w, T, J, V, p, NULL, err, errlen);
}

int moem_multinomial_newton_cg(const moem_data *data, const double *w, const double *T, size_t J,
                               double *V, const moem_params *p, moem_newton_info *info, char *err,
                               size_t errlen)
{
    moem_params q = *p;
    q.inner_steps = 0;
    return fit_cg(data, w, T, J, V, &q, info, err, errlen);
}

static int fit_cg(const moem_data *data, const double *w, const double *T, size_t J, double *V,
                  const moem_params *p, moem_newton_info *info, char *err, size_t errlen)
{
    moem_newton_info dummy;
    if (!info) info = &dummy;
    memset(info, 0, sizeof *info);
    size_t n = data->n, d = data->d, Jd, nJ;
    if (!moem_mul_size(J, d, &Jd) || !moem_mul_size(n, J, &nJ) || J == 0) {
        MOEM_ERR(err, errlen, "Newton-CG: %zu x %zu parameters do not fit", J, d);
        return -1;
    }
    cg_ws s = {.data = data, .w = w, .T = T, .J = J, .ridge = p->ridge,
               .nb = moem_block_rows(d), .stride = moem_cg_stride(n), .kstride = moem_cg_stride(n)};
    int rc = -1, kron = d >= 64 && J <= 64 && moem_have_lapack();
    s.Z = moem_alloc_doubles(nJ);
    s.U = moem_alloc_doubles(nJ);
    int rows_ok = moem_rows_ws_init(&s.rows, nthreads(n), Jd, cg_scratch(&s, p->inner_steps == 0)) == 0;
    double *g = moem_alloc_doubles(Jd), *step = moem_alloc_doubles(Jd), *Vn = moem_alloc_doubles(Jd);
    double *r = moem_alloc_doubles(Jd), *q = moem_alloc_doubles(Jd), *Hq = moem_alloc_doubles(Jd);
    double *z = NULL, *Dg = NULL;
    if (p->inner_steps == 0) {
        z = moem_alloc_doubles(Jd);
        Dg = moem_alloc_doubles(Jd);
        size_t ns = (n + s.kstride - 1) / s.kstride;
        if (s.kstride > 1 || kron) {
            s.Xsub = moem_alloc_doubles(ns * d);
            s.xn2 = moem_alloc_doubles(ns);
        }
        if (kron) {
            /* the Kronecker preconditioner (optional: Jacobi without it) */
            s.Gi = moem_alloc_doubles(d * d);
            s.cw = moem_alloc_doubles(ns);
            if (!s.Gi || !s.cw) { moem_free(s.Gi); moem_free(s.cw); s.Gi = s.cw = NULL; }
        }
    }
    if (!s.Z || !s.U || !rows_ok || !g || !step || !Vn || !r || !q || !Hq ||
        (p->inner_steps == 0 && (!z || !Dg || ((s.kstride > 1 || kron) && (!s.Xsub || !s.xn2))))) {
        MOEM_ERR(err, errlen, "out of memory in the Newton-CG M-step (n = %zu, J = %zu, d = %zu)", n, J, d);
        goto out;
    }
    double f = eval_f(&s, V);
    if (!isfinite(f)) { MOEM_ERR(err, errlen, "Newton-CG: the M-step objective is not finite"); goto out; }
    if (p->inner_steps > 0) {                   /* the paper's k inner gradient steps */
        for (int k = 0; k < p->inner_steps; k++) {
            if (k > 0) eval_f(&s, V);
            eval_g(&s, V, g);
            for (size_t i = 0; i < Jd; i++) V[i] -= p->inner_lr * g[i];
        }
        rc = 0;
        goto out;
    }
    if (s.Xsub) gather_rows(&s);
    if (s.Gi && kron_build(&s)) { moem_free(s.Gi); s.Gi = NULL; }
    if (s.Gi) s.stride = 1;     /* the preconditioned steps need the whole Hessian (README) */
    int cg_max = moem_cg_cap(Jd);
    double f0 = f, g0 = 0.0, tol = p->newton_tol;
    info->evals = 1;
    rc = MOEM_NEWTON_CAPPED;
    for (int it = 0; it < p->newton_max; it++) {
        eval_g(&s, V, g);
        double gn = sqrt(dot(Jd, g, g));
        if (!(gn > 0)) { rc = 0; break; }            /* stationary */
        if (it == 0) g0 = gn;
        double eta = sqrt(gn / g0) < 0.5 ? sqrt(gn / g0) : 0.5;
        if (s.Gi) kron_scale(&s);
        else hess_diag(&s, Dg);
        cg_solve(&s, g, Dg, eta, cg_max, step, r, z, q, Hq, &info->hv);
        double dec = dot(Jd, g, step);            /* g . H^-1 g, the squared Newton decrement */
        info->half_dec = 0.5 * dec;
        if (!(dec > 0)) { rc = 0; break; }
        tol = p->newton_rtol * (f0 - f) > p->newton_tol ? p->newton_rtol * (f0 - f) : p->newton_tol;
        if (0.5 * dec <= tol) {
            /* the rule is met: the step at hand costs one evaluation; keep it if f does not rise */
            for (size_t i = 0; i < Jd; i++) Vn[i] = V[i] - step[i];
            double fn = eval_f(&s, Vn);
            info->evals++;
            if (fn <= f) {
                memcpy(V, Vn, Jd * sizeof(double));
                f = fn;
                info->steps++;
            }
            rc = 0;
            break;
        }
        double t = 1.0, fn = f;
        int ok = 0;
        for (int ls = 0; ls < 60; ls++, t *= 0.5) {
            for (size_t i = 0; i < Jd; i++) Vn[i] = V[i] - t * step[i];
            fn = eval_f(&s, Vn);
            info->evals++;
            if (fn <= f - 0.25 * t * dec) { ok = 1; break; }
            if (ls == 0 && fn <= f + 1e-14 * fabs(f)) {
                /* the decrease is below the rounding of f: take the full step if it lowers |g| */
                eval_g(&s, Vn, Hq);
                if (dot(Jd, Hq, Hq) < gn * gn) { ok = 1; break; }
            }
        }
        if (!ok) { rc = 0; break; }               /* no representable decrease: at the optimum */
        memcpy(V, Vn, Jd * sizeof(double));
        f = fn;
        info->steps++;
    }
    info->decrease = f0 - f;
    info->converged = rc == 0;
    if (rc == MOEM_NEWTON_CAPPED)
        MOEM_ERR(err, errlen, "Newton-CG reached its cap of %d Newton steps (%d Hessian-vector "
                 "products) with half the squared decrement %.3g above the tolerance %.3g; the "
                 "iterate is kept", p->newton_max, info->hv, info->half_dec, tol);
out:
    moem_free(s.Z); moem_free(s.U); moem_rows_ws_free(&s.rows);
    moem_free(g); moem_free(step); moem_free(Vn); moem_free(r); moem_free(q); moem_free(Hq);
    moem_free(z); moem_free(Dg); moem_free(s.Xsub); moem_free(s.Gi); moem_free(s.cw); moem_free(s.xn2);
    return rc;
}
