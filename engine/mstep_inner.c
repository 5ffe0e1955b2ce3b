/* The EM M-step by inner gradient steps (p->inner_steps = k > 0), every multinomial
 * sub-problem at once: the gate (K - 1 free rows) and each logistic or softmax expert (1 or
 * C - 1 free rows). Each sub-problem is
 *   f_s(V) = (1/N) sum_n w_n [LSE(V x_n, 0) - T_n . V x_n] + ridge/2 |V|^2
 * (gate: w = 1, T = r; softmax expert k: w = r_k, T = e_y; logistic expert k: w = r_k, T = y;
 * SymMoLogE's expert: w = 1, T = r y + (1 - r)(1 - y)).
 *
 * Costs, in passes over X: the E-step pass (moem_pass_em) already gives each sub-problem's
 * first gradient (by the Fisher identity it is grad L at theta_t) and, from the scores it
 * keeps, each f_s(theta_t). Then one fused pass per round: the trial rows of every active
 * sub-problem stacked into one product X V^T, all softmaxes and values, and one product
 * X^T A for the gradients of those whose next step needs one; the last round of the last step
 * is a forward product only. With k steps and no rejected trial: k passes after the E-step.
 *
 * The step rule (a descent method: every accepted step lowers its sub-problem, so L never
 * rises): a trial V - t g is accepted when f(V - t g) <= f(V) - 1e-4 t |g|^2 (Armijo).
 * On rejection t shrinks to the minimiser of the quadratic through f(V), its slope -|g|^2 and
 * f(V - t g), kept in [t/10, t/2], and the sub-problem retries in the next round; an accepted
 * step is kept for the next one (growing it after each success makes the following trial
 * overshoot along the steep directions: measured on Fashion-MNIST, a rejection every other
 * step). With a given step (p->inner_lr > 0) every M-step starts at it (the paper's k steps
 * of that size whenever they descend); with the automatic step (p->inner_lr = 0) the first
 * M-step starts at 1 and each next one at 1.25 times where the last one ended. A sub-problem whose possible decrease
 * t |g|^2 is below the rounding of f (1e-13 |f|), or that has been rejected 40 times in a row,
 * is at its optimum to machine precision and takes no further steps. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

enum { SUB_GATE, SUB_SOFTMAX, SUB_LOGISTIC, SUB_SYMLOG };

typedef struct sub {
    int kind;
    size_t k;          /* expert */
    size_t J, row;     /* free rows; first row in the stacked parameters */
    double f, gg, t;   /* f at the current V, |g|^2, the next trial step */
    int taken, fails;  /* accepted steps; rejections in a row */
    int done;
} sub;

typedef struct inner {
    const moem_data *data;
    const double *R;
    size_t K, P, d, nsub;
    sub *s;                             /* nsub <= K + 1 */
    /* one round: the active sub-problems in stacking order (those wanting a gradient first) */
    size_t nact, ngrad, *act, *col;
    size_t mact, mgrad;                 /* stacked rows, rows wanting a gradient */
    const double *M;                    /* mact x d trial rows */
    const double *Mt;                   /* M packed for moem_fwd_block (d x mp), NULL: xm_cols */
    size_t mp;
    size_t ld;                          /* block rows (leading dimension) */
} inner;

/* target T_ij and weight w_i of sub-problem s at row i */
static inline double target(const inner *c, const sub *s, size_t i, size_t j)
{
    const double *y = c->data->y;
    switch (s->kind) {
    case SUB_GATE: return c->R[i * c->K + j];
    case SUB_SOFTMAX: return (size_t)y[i] == j ? 1.0 : 0.0;
    case SUB_LOGISTIC: return y[i];
    default: { double r = c->R[i * 2]; return r * y[i] + (1.0 - r) * (1.0 - y[i]); }
    }
}

static inline double weight(const inner *c, const sub *s, size_t i)
{
    return s->kind == SUB_SOFTMAX || s->kind == SUB_LOGISTIC ? c->R[i * c->K + s->k] : 1.0;
}

/* one round over rows [lo, hi): out[a] += N f of active sub-problem a (without the ridge),
 * out[nact + ...] += N times the gradient rows of those wanting one (mgrad x d) */
static int round_rows(const void *vc, size_t lo, size_t hi, double *out, double *scr)
{
    const inner *c = vc;
    const moem_data *data = c->data;
    const moem_ops *ops = moem_ops_get();
    size_t d = c->d, ld = c->ld, K = c->K;
    double *Zt = scr, *At = Zt + c->mact * ld, *lse = At + c->mgrad * ld, *tz = lse + ld;
    double *w = tz + ld, *Xs = w + ld, *Zr = Xs + (data->Xf ? ld * d : 0), *G = out + c->nact;
    for (size_t i0 = lo; i0 < hi; i0 += ld) {
        size_t nb = hi - i0 < ld ? hi - i0 : ld;
        const double *Xb = moem_rows(data, i0, nb, Xs), *R = c->R + i0 * K, *y = data->y + i0;
        if (c->Mt) moem_fwd_block(ops, nb, d, Xb, c->mact, c->Mt, c->mp, Zt, ld, Zr);
        else ops->xm_cols(nb, d, Xb, c->mact, c->M, Zt, ld);
        for (size_t a = 0; a < c->nact; a++) {
            const sub *s = &c->s[c->act[a]];
            size_t J = s->J;
            double *Z = Zt + c->col[a] * ld, f = 0.0;
            /* the weights w_i and tz_i = T_i . z_i (the targets' share of the value) */
            switch (s->kind) {
            case SUB_GATE:
                for (size_t i = 0; i < nb; i++) {
                    double t = 0.0;
                    for (size_t j = 0; j < J; j++) t += R[i * K + j] * Z[j * ld + i];
                    w[i] = 1.0;
                    tz[i] = t;
                }
                break;
            case SUB_SOFTMAX:
                for (size_t i = 0; i < nb; i++) {
                    size_t cls = (size_t)y[i];
                    w[i] = R[i * K + s->k];
                    tz[i] = cls < J ? Z[cls * ld + i] : 0.0;
                }
                break;
            default:
                for (size_t i = 0; i < nb; i++) {
                    w[i] = weight(c, s, i0 + i);
                    tz[i] = target(c, s, i0 + i, 0) * Z[i];
                }
                break;
            }
            ops->softmax0_cols(nb, J, Z, ld, lse);          /* Z: the class probabilities */
            for (size_t i = 0; i < nb; i++) f += w[i] * (lse[i] - tz[i]);
            out[a] += f;
            if (a >= c->ngrad) continue;
            /* the gradient's coefficients w_i (p_ij - T_ij) */
            double *Aa = At + c->col[a] * ld;
            for (size_t j = 0; j < J; j++)
                for (size_t i = 0; i < nb; i++) Aa[j * ld + i] = w[i] * Z[j * ld + i];
            switch (s->kind) {
            case SUB_GATE:
                for (size_t j = 0; j < J; j++)
                    for (size_t i = 0; i < nb; i++) Aa[j * ld + i] -= R[i * K + j];
                break;
            case SUB_SOFTMAX:
                for (size_t i = 0; i < nb; i++) {
                    size_t cls = (size_t)y[i];
                    if (cls < J) Aa[cls * ld + i] -= w[i];
                }
                break;
            default:
                for (size_t i = 0; i < nb; i++) Aa[i] -= w[i] * target(c, s, i0 + i, 0);
                break;
            }
        }
        if (c->mgrad) ops->atx_cols(nb, d, Xb, c->mgrad, At, ld, G);
    }
    return 0;
}

/* f_s at theta_t from the scores Z of the E-step pass, rows [lo, hi): out[s] += N f_s. Per
 * block of rows, each sub-problem's free logits are copied into columns for softmax0_cols
 * (scratch: (maximum J + 3) x ld), the kernel the rounds evaluate their trials with. */
typedef struct f0_ctx { const inner *c; const double *Z; size_t mtot; } f0_ctx;

static int f0_rows(const void *vc, size_t lo, size_t hi, double *out, double *scr)
{
    const f0_ctx *x = vc;
    const inner *c = x->c;
    const moem_ops *ops = moem_ops_get();
    size_t K = c->K, P = c->P, ld = c->ld, mtot = x->mtot;
    double *lse = scr, *tz = lse + ld, *w = tz + ld, *Zc = w + ld;
    for (size_t i0 = lo; i0 < hi; i0 += ld) {
        size_t nb = hi - i0 < ld ? hi - i0 : ld;
        const double *Z = x->Z + i0 * mtot, *R = c->R + i0 * K, *y = c->data->y + i0;
        for (size_t q = 0; q < c->nsub; q++) {
            const sub *s = &c->s[q];
            size_t J = s->J;
            double f = 0.0;
            if (s->kind == SUB_GATE) {
                for (size_t i = 0; i < nb; i++) {
                    double t = 0.0;
                    for (size_t j = 0; j < J; j++) {
                        Zc[j * ld + i] = Z[i * mtot + j];
                        t += R[i * K + j] * Z[i * mtot + j];
                    }
                    w[i] = 1.0;
                    tz[i] = t;
                }
            } else if (s->kind == SUB_SOFTMAX) {
                /* the expert's C scores, shifted by the last (the free rows' logits) */
                for (size_t i = 0; i < nb; i++) {
                    const double *e = Z + i * mtot + K + s->k * P;
                    size_t cls = (size_t)y[i];
                    for (size_t j = 0; j < J; j++) Zc[j * ld + i] = e[j] - e[P - 1];
                    w[i] = R[i * K + s->k];
                    tz[i] = cls < J ? e[cls] - e[P - 1] : 0.0;
                }
            } else {
                for (size_t i = 0; i < nb; i++) {
                    double sc = Z[i * mtot + K + s->k];
                    Zc[i] = sc;
                    w[i] = weight(c, s, i0 + i);
                    tz[i] = target(c, s, i0 + i, 0) * sc;
                }
            }
            ops->softmax0_cols(nb, J, Zc, ld, lse);
            for (size_t i = 0; i < nb; i++) f += w[i] * (lse[i] - tz[i]);
            out[q] += f;
        }
    }
    return 0;
}

static double sqnorm(const double *v, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += v[i] * v[i];
    return s;
}

int moem_mstep_inner(const moem_data *data, moem_model *m, const double *R, const double *Z,
                     const double *G, const moem_params *p, double *steps, char *err,
                     size_t errlen)
{
    size_t n = data->n, d = data->d, K = m->K, P = moem_expert_rows(m), mtot = K + K * P;
    double invn = 1.0 / (double)n, ridge = p->ridge;
    inner c = {.data = data, .R = R, .K = K, .P = P, .d = d, .ld = moem_block_rows(d)};
    c.s = calloc(K + 1, sizeof *c.s);
    c.act = calloc(2 * (K + 1), sizeof *c.act);
    if (!c.s || !c.act) {
        free(c.s); free(c.act);
        MOEM_ERR(err, errlen, "out of memory in the M-step (%zu sub-problems)", K + 1);
        return -1;
    }
    c.col = c.act + K + 1;

    /* the sub-problems, their rows stacked: the gate, then the experts */
    size_t rows = 0;
    if (K > 1) c.s[c.nsub++] = (sub){.kind = SUB_GATE, .J = K - 1};
    if (m->family == MOEM_LOGISTIC && m->symmetric) c.s[c.nsub++] = (sub){.kind = SUB_SYMLOG, .J = 1};
    else if (m->family != MOEM_LINEAR)
        for (size_t k = 0; k < K; k++)
            c.s[c.nsub++] = (sub){.kind = m->family == MOEM_SOFTMAX ? SUB_SOFTMAX : SUB_LOGISTIC,
                                  .k = k, .J = m->family == MOEM_SOFTMAX ? P - 1 : 1};
    for (size_t q = 0; q < c.nsub; q++) { c.s[q].row = rows; rows += c.s[q].J; }
    if (!c.nsub) { free(c.s); free(c.act); return 0; }

    int rc = -1;
    size_t mpmax = moem_fwd_width(d, rows);   /* Mt's widest: the rounds stack at most rows */
    size_t scr_len = rows * 2 * c.ld + 3 * c.ld + (data->Xf ? c.ld * d : 0) + mpmax * c.ld;
    double *V = moem_alloc_doubles(rows * d), *g = moem_alloc_doubles(rows * d);
    double *M = moem_alloc_doubles(rows * d), *out = moem_alloc_doubles(rows * d + c.nsub);
    double *Mt = mpmax ? moem_alloc_doubles(mpmax * d) : NULL;
    if (!V || !g || !M || !out || (mpmax && !Mt)) {
        MOEM_ERR(err, errlen, "out of memory in the M-step (%zu x %zu parameters)", rows, d);
        goto out;
    }

    /* the start theta_t and its gradients (G holds N grad L, full parametrisation) */
    for (size_t q = 0; q < c.nsub; q++) {
        sub *s = &c.s[q];
        double *Vs = V + s->row * d, *gs = g + s->row * d;
        if (s->kind == SUB_GATE) {
            memcpy(Vs, m->W, s->J * d * sizeof(double));
            memcpy(gs, G, s->J * d * sizeof(double));
        } else if (s->kind == SUB_SYMLOG) {
            memcpy(Vs, m->B, d * sizeof(double));
            for (size_t j = 0; j < d; j++) gs[j] = G[K * d + j] - G[(K + 1) * d + j];
        } else {
            /* softmax: the class rows shifted by the last one (the likelihood is unchanged) */
            const double *Bk = m->B + s->k * P * d, *last = Bk + (P - 1) * d;
            for (size_t j = 0; j < s->J; j++)
                for (size_t e = 0; e < d; e++)
                    Vs[j * d + e] = Bk[j * d + e] - (s->kind == SUB_SOFTMAX ? last[e] : 0.0);
            memcpy(gs, G + (K + s->k * P) * d, s->J * d * sizeof(double));
        }
        for (size_t i = 0; i < s->J * d; i++) gs[i] = gs[i] * invn + ridge * Vs[i];
        s->gg = sqnorm(gs, s->J * d);
        s->t = p->inner_lr > 0 ? p->inner_lr : steps && steps[q] > 0 ? 1.25 * steps[q] : 1.0;
    }
    memset(out, 0, c.nsub * sizeof(double));
    f0_ctx f0 = {.c = &c, .Z = Z, .mtot = mtot};
    if (moem_run_rows(n, moem_pass_threads(n, mtot * 8), c.nsub, out, f0_rows, &f0,
                      (rows + 3) * c.ld))
        goto oom;
    for (size_t q = 0; q < c.nsub; q++)
        c.s[q].f = out[q] * invn + 0.5 * ridge * sqnorm(V + c.s[q].row * d, c.s[q].J * d);

    for (;;) {
        /* this round's trials: those wanting a gradient (a step after this one) first */
        c.nact = c.ngrad = c.mact = c.mgrad = 0;
        for (int want = 1; want >= 0; want--)
            for (size_t q = 0; q < c.nsub; q++) {
                sub *s = &c.s[q];
                if (s->done || (s->taken + 1 < p->inner_steps) != want) continue;
                c.act[c.nact] = q;
                c.col[c.nact++] = c.mact;
                for (size_t i = 0; i < s->J * d; i++)
                    M[c.mact * d + i] = V[s->row * d + i] - s->t * g[s->row * d + i];
                c.mact += s->J;
                if (want) { c.ngrad++; c.mgrad += s->J; }
            }
        if (!c.nact) break;
        c.M = M;
        c.mp = mpmax ? moem_fwd_width(d, c.mact) : 0;
        c.Mt = c.mp ? Mt : NULL;
        if (c.mp) moem_fwd_pack(c.mact, d, M, c.mp, Mt);
        memset(out, 0, (c.nact + c.mgrad * d) * sizeof(double));
        size_t T = moem_pass_threads(n, c.mact * (d + 8) + c.mgrad * d);
        if (moem_run_rows(n, T, c.nact + c.mgrad * d, out, round_rows, &c, scr_len)) goto oom;
        for (size_t a = 0; a < c.nact; a++) {
            sub *s = &c.s[c.act[a]];
            const double *Ma = M + c.col[a] * d;
            double fn = out[a] * invn + 0.5 * ridge * sqnorm(Ma, s->J * d);
            double dec = s->t * s->gg;                 /* the first-order decrease */
            /* minimiser of the quadratic through f, slope -|g|^2 and fn along the step */
            double curv = fn - s->f + dec, tq = curv > 0 ? s->t * dec / (2.0 * curv) : s->t;
            if (isfinite(fn) && fn <= s->f - 1e-4 * dec) {
                memcpy(V + s->row * d, Ma, s->J * d * sizeof(double));
                s->f = fn;
                s->taken++;
                s->fails = 0;
                if (a < c.ngrad) {
                    double *gs = g + s->row * d;
                    const double *Gn = out + c.nact + c.col[a] * d;
                    for (size_t i = 0; i < s->J * d; i++) gs[i] = Gn[i] * invn + ridge * Ma[i];
                    s->gg = sqnorm(gs, s->J * d);
                }
            } else {
                s->fails++;
                s->t = isfinite(tq) && tq < 0.5 * s->t ? (tq > 0.1 * s->t ? tq : 0.1 * s->t) : 0.5 * s->t;
            }
            if (s->taken >= p->inner_steps || s->fails >= 40 || !(s->gg > 0) ||
                s->t * s->gg < 1e-13 * fabs(s->f))
                s->done = 1;
        }
    }

    /* back into the model */
    for (size_t q = 0; q < c.nsub; q++) {
        sub *s = &c.s[q];
        const double *Vs = V + s->row * d;
        if (steps && p->inner_lr == 0) steps[q] = s->t;
        if (s->kind == SUB_GATE) memcpy(m->W, Vs, s->J * d * sizeof(double));
        else if (s->kind == SUB_SYMLOG)
            for (size_t e = 0; e < d; e++) { m->B[e] = Vs[e]; m->B[d + e] = -Vs[e]; }
        else {
            double *Bk = m->B + s->k * P * d;
            memcpy(Bk, Vs, s->J * d * sizeof(double));
            if (s->kind == SUB_SOFTMAX) memset(Bk + (P - 1) * d, 0, d * sizeof(double));
        }
    }
    rc = 0;
    goto out;
oom:
    MOEM_ERR(err, errlen, "out of memory in the M-step (row scratch for %zu x %zu parameters)", rows, d);
out:
    moem_free(V); moem_free(g); moem_free(M); moem_free(Mt); moem_free(out); free(c.s);
    free(c.act);
    return rc;
}
