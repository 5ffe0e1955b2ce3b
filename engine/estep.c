/* The E-step pass: one stream over the rows. Per block of rows (while it sits in cache):
 * gate logits and expert scores (xm_cols), then gate probabilities, expert log-likelihoods,
 * log-sum-exp, responsibilities, the objective and the gradient coefficients (estep), then
 * the block's share of the gradient (atx_cols). Parallel across rows (engine/parallel.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

static const double LOG_2PI = 1.8378770664093454835606594728112;

typedef struct pass_ctx {
    const moem_data *data;
    const moem_model *m;
    const moem_ops *ops;
    moem_estep_args args;
    const double *M;          /* (K + K*P) x d: gate rows, then expert rows */
    const double *Mt;         /* M packed for moem_fwd_block (d x mp), NULL: xm_cols */
    size_t mtot, nb, mp;      /* outputs, rows per block (= leading dimension), Mt's width */
    double *R, *PI, *S, *Z;
    int want_g;               /* the gradient too */
} pass_ctx;

/* doubles of scratch per thread: the block's scores, probabilities, responsibilities and
 * (want_g) coefficients, column-major of leading dimension nb; moem_fwd_block's rows; float32
 * data: the block's rows widened */
static size_t pass_scratch(const pass_ctx *c)
{
    size_t K = c->m->K, d = c->data->d, ld = c->nb;
    return (2 * K + (c->want_g ? 2 : 1) * c->mtot) * ld + c->mp * ld + (c->data->Xf ? ld * d : 0);
}

/* Rows [lo, hi) into the thread's partial sums: out[0] = sum LSE, out[1 .. K] = gs2 (N times),
 * out[1 + K ..] = N times the gradient (mtot x d), when G is wanted (moem_run_rows' body). */
static int pass_rows(const void *vc, size_t lo, size_t hi, double *out, double *scr)
{
    const pass_ctx *c = vc;
    const moem_data *data = c->data;
    size_t d = data->d, K = c->m->K, P = c->args.P, mtot = c->mtot, ld = c->nb;
    int want_g = c->want_g;
    double *Zt = scr;
    double *Pt = Zt + mtot * ld, *Rt = Pt + K * ld, *At = want_g ? Rt + K * ld : NULL;
    double *gs2 = want_g ? out + 1 : NULL, *G = out + 1 + K;
    double *Zr = Zt + (2 * K + (want_g ? 2 : 1) * mtot) * ld;
    double *Xs = data->Xf ? Zr + c->mp * ld : NULL;              /* float32 rows, widened */
    for (size_t i0 = lo; i0 < hi; i0 += c->nb) {
        size_t nb = hi - i0 < c->nb ? hi - i0 : c->nb;
        const double *Xb = moem_rows(data, i0, nb, Xs);
        if (c->Mt) moem_fwd_block(c->ops, nb, d, Xb, mtot, c->Mt, c->mp, Zt, ld, Zr);
        else c->ops->xm_cols(nb, d, Xb, mtot, c->M, Zt, ld);
        if (c->S) c->ops->to_rows(nb, K * P, Zt + K * ld, ld, c->S + i0 * K * P);
        if (c->Z) c->ops->to_rows(nb, mtot, Zt, ld, c->Z + i0 * mtot);
        out[0] += c->ops->estep(&c->args, nb, data->y + i0, Zt, ld, c->PI || want_g ? Pt : NULL,
                                Rt, At, gs2);
        if (c->R) c->ops->to_rows(nb, K, Rt, ld, c->R + i0 * K);
        if (c->PI) c->ops->to_rows(nb, K, Pt, ld, c->PI + i0 * K);
        if (want_g) c->ops->atx_cols(nb, d, Xb, mtot, At, ld, G);
    }
    return 0;
}

/* The pass behind moem_pass, moem_pass_em and moem_gradient. Z (n x mtot, may be NULL): every
 * score (gate logits, then expert scores) row by row. G (mtot x d) receives N times the gradient
 * when non-NULL; gs2 (K) N times the sigma2 gradient. Returns L, or NAN when memory runs out. */
static double pass(const moem_data *data, const moem_model *m, double *R, double *PI,
                   double *S, double *Z, double *G, double *gs2)
{
    size_t n = data->n, d = data->d, K = m->K, P = moem_expert_rows(m), mtot = K + K * P;
    size_t len = 1 + K + (G ? mtot * d : 0);  /* sum LSE, gs2, G (moem_run_rows' sums) */
    size_t T = moem_pass_threads(n, mtot * (d + 4));
    size_t mp = moem_fwd_width(d, mtot);
    double *M = moem_alloc_doubles(mtot * d), *logc = moem_alloc_doubles(K);
    double *Mt = mp ? moem_alloc_doubles(mp * d) : NULL;
    double *sums = moem_alloc_doubles(len);
    double L = NAN;
    if (!M || !logc || !sums || (mp && !Mt)) goto out;
    memset(sums, 0, len * sizeof(double));
    memcpy(M, m->W, K * d * sizeof(double));
    memcpy(M + K * d, m->B, K * P * d * sizeof(double));
    if (Mt) moem_fwd_pack(mtot, d, M, mp, Mt);
    for (size_t k = 0; k < K; k++) logc[k] = 0.5 * (LOG_2PI + log(m->sigma2[k]));
    pass_ctx c = {.data = data, .m = m, .ops = moem_ops_get(), .M = M, .Mt = Mt, .mp = mp, .mtot = mtot,
                  .nb = moem_block_rows(d), .R = R, .PI = PI, .S = S, .Z = Z, .want_g = G != NULL,
                  .args = {.family = (int)m->family, .K = K, .P = P, .s2 = m->sigma2, .logc = logc}};
    if (moem_run_rows(n, T, len, sums, pass_rows, &c, pass_scratch(&c))) goto out;
    if (gs2)
        for (size_t k = 0; k < K; k++) gs2[k] += sums[1 + k];
    if (G)
        for (size_t i = 0; i < mtot * d; i++) G[i] += sums[1 + K + i];
    L = -sums[0] / (double)n;
out:
    moem_free(M); moem_free(Mt); moem_free(logc); moem_free(sums);
    return L;
}

double moem_pass(const moem_data *data, const moem_model *m, double *R, double *PI, double *S)
{
    return pass(data, m, R, PI, S, NULL, NULL, NULL);
}

double moem_objective(const moem_data *data, const moem_model *m)
{
    return pass(data, m, NULL, NULL, NULL, NULL, NULL, NULL);
}

double moem_responsibilities(const moem_data *data, const moem_model *m, double *R, double *PI)
{
    return pass(data, m, R, PI, NULL, NULL, NULL, NULL);
}

double moem_pass_em(const moem_data *data, const moem_model *m, double *R, double *Z, double *G)
{
    memset(G, 0, (m->K + m->K * moem_expert_rows(m)) * m->d * sizeof(double));
    return pass(data, m, R, NULL, NULL, Z, G, NULL);
}

double moem_gradient(const moem_data *data, const moem_model *m, double *gW, double *gB,
                     double *gs2)
{
    size_t K = m->K, d = m->d, P = moem_expert_rows(m), mtot = K + K * P;
    double *G = calloc(mtot * d, sizeof(double));
    if (!G) return NAN;
    if (gs2) memset(gs2, 0, K * sizeof(double));
    double L = pass(data, m, NULL, NULL, NULL, NULL, G, gs2);
    double inv = 1.0 / (double)data->n;
    for (size_t i = 0; i < mtot * d; i++) G[i] *= inv;
    memcpy(gW, G, K * d * sizeof(double));
    memset(gW + (K - 1) * d, 0, d * sizeof(double));        /* the pinned row */
    memcpy(gB, G + K * d, K * P * d * sizeof(double));
    if (gs2) for (size_t k = 0; k < K; k++) gs2[k] *= inv;
    if (m->symmetric) {                                      /* d/dbeta = g_1 - g_2 */
        for (size_t c = 0; c < d; c++) {
            gB[c] -= gB[d + c];
            gB[d + c] = -gB[c];
        }
        if (gs2) gs2[0] = gs2[1] = 0.5 * (gs2[0] + gs2[1]);
    }
    free(G);
    return L;
}
