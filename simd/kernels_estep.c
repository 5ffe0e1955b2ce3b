/* The fused E-step of a block of rows, compiled once per ISA (simd/kernel_common.h): vectors
 * across rows of column-major blocks (the column helpers col_*, then estep_rows and
 * estep_coefs per vector of rows), and the columns back into rows (to_rows). Proof runs
 * <isa>_estep and scalar_estep. */
#include "kernel_common.h"

static const double lane_ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};

/* ---- the fused E-step: one vector of rows (i .. i + VD_W - 1) of column-major blocks ---- */

/* max of lo and the m columns Z[q*ld + i] */
/*@ requires cols: moem_dims(m, ld) && i + VD_W <= ld;
    requires valid_Z: \valid_read(Z + (0 .. m * ld - 1));
    assigns \nothing; */
MOEM_TILE vd col_max(size_t m, const double *Z, size_t ld, size_t i, vd lo)
{
    vd mx = lo;
    /*@ loop invariant 0 <= q <= m;
        loop invariant q < m ==> moem_mul(q, ld) + ld <= moem_mul(m, ld);
        loop assigns q, mx;
        loop variant m - q; */
    for (size_t q = 0; q < m; q++) mx = vd_max(mx, vd_load(Z + q * ld + i));
    return mx;
}

/* E[q*ld + i] = exp(Z[q*ld + i] - sub) for q < m (E may be Z); returns their sum */
/*@ requires cols: moem_dims(m, ld) && i + VD_W <= ld;
    requires valid_Z: \valid_read(Z + (0 .. m * ld - 1));
    requires valid_E: \valid(E + (0 .. m * ld - 1));
    assigns E[0 .. m * ld - 1]; */
MOEM_TILE vd col_exp(size_t m, const double *Z, double *E, size_t ld, size_t i, vd sub)
{
    vd s = vd_zero();
    /*@ loop invariant 0 <= q <= m;
        loop invariant q < m ==> moem_mul(q, ld) + ld <= moem_mul(m, ld);
        loop assigns q, s, E[0 .. m * ld - 1];
        loop variant m - q; */
    for (size_t q = 0; q < m; q++) {
        vd ex = vd_exp(vd_sub(vd_load(Z + q * ld + i), sub));
        vd_store(E + q * ld + i, ex);
        s = vd_add(s, ex);
    }
    return s;
}

/* E[q*ld + i] *= inv for q < m, zero in the lanes of dead */
/*@ requires cols: moem_dims(m, ld) && i + VD_W <= ld;
    requires valid_E: \valid(E + (0 .. m * ld - 1));
    assigns E[0 .. m * ld - 1]; */
MOEM_TILE void col_scale(size_t m, double *E, size_t ld, size_t i, vd inv, vm dead)
{
    /*@ loop invariant 0 <= q <= m;
        loop invariant q < m ==> moem_mul(q, ld) + ld <= moem_mul(m, ld);
        loop assigns q, E[0 .. m * ld - 1];
        loop variant m - q; */
    for (size_t q = 0; q < m; q++)
        vd_store(E + q * ld + i, vd_select(dead, vd_zero(), vd_mul(vd_load(E + q * ld + i), inv)));
}

/* Softmax over m columns (E may be Z): E = exp(Z - max) / sum, zero where every logit is -inf.
 * *mx gets the max (-inf where dead), the result is the sum of the exponentials exp(Z - max)
 * (0 where dead). Two columns (the paper's K = 2) take one exponential instead of two. */
/*@ requires cols: 1 <= m && moem_dims(m, ld) && i + VD_W <= ld;
    requires valid_Z: \valid_read(Z + (0 .. m * ld - 1));
    requires valid_E: \valid(E + (0 .. m * ld - 1));
    requires valid_mx: \valid(mx) && \separated(mx, E + (0 .. m * ld - 1));
    assigns E[0 .. m * ld - 1], *mx; */
MOEM_TILE vd col_softmax(size_t m, const double *Z, double *E, size_t ld, size_t i, vd *mx)
{
    const vd ninf = vd_set1(-INFINITY), zero = vd_zero(), one = vd_set1(1.0);
    if (m == 2) {   /* one exponential: exp(min - max) = exp(-|a - b|) */
        const vd a = vd_load(Z + i), b = vd_load(Z + ld + i), x = vd_max(a, b);
        const vm dead = vd_eq(x, ninf), a_max = vd_ge(a, b);
        const vd e = vd_exp(vd_sub(zero, vd_abs(vd_sub(a, b))));
        const vd s = vd_select(dead, zero, vd_add(one, e)), inv = vd_div(one, s);
        vd_store(E + i, vd_select(dead, zero, vd_mul(vd_select(a_max, one, e), inv)));
        vd_store(E + ld + i, vd_select(dead, zero, vd_mul(vd_select(a_max, e, one), inv)));
        *mx = x;
        return s;
    }
    vd x = col_max(m, Z, ld, i, ninf);
    vm dead = vd_eq(x, ninf);
    vd s = col_exp(m, Z, E, ld, i, vd_select(dead, zero, x));
    col_scale(m, E, ld, i, vd_div(one, s), dead);
    *mx = x;
    return s;
}

/* The sum of a softmax's exponentials without the probabilities: what col_softmax returns,
 * computed the same way (so the objective does not depend on whether they are kept). */
/*@ requires cols: 1 <= m && moem_dims(m, ld) && i + VD_W <= ld;
    requires valid_Z: \valid_read(Z + (0 .. m * ld - 1));
    requires valid_mx: \valid(mx) && \separated(mx, Z + (0 .. m * ld - 1));
    assigns *mx; */
MOEM_TILE vd col_sumexp(size_t m, const double *Z, size_t ld, size_t i, vd *mx)
{
    const vd ninf = vd_set1(-INFINITY), zero = vd_zero(), one = vd_set1(1.0);
    if (m == 2) {
        const vd a = vd_load(Z + i), b = vd_load(Z + ld + i), x = vd_max(a, b);
        const vd e = vd_exp(vd_sub(zero, vd_abs(vd_sub(a, b))));
        *mx = x;
        return vd_select(vd_eq(x, ninf), zero, vd_add(one, e));
    }
    const vd x = col_max(m, Z, ld, i, ninf), sub = vd_select(vd_eq(x, ninf), zero, x);
    vd s = zero;
    /*@ loop invariant 0 <= q <= m;
        loop invariant q < m ==> moem_mul(q, ld) + ld <= moem_mul(m, ld);
        loop assigns q, s;
        loop variant m - q; */
    for (size_t q = 0; q < m; q++) s = vd_add(s, vd_exp(vd_sub(vd_load(Z + q * ld + i), sub)));
    *mx = x;
    return s;
}

/* Log-likelihood of a softmax expert (P class scores z[c*ld + i]) at labels yv; with keep,
 * the scores are replaced by the class probabilities. */
/*@ requires cols: 1 <= P && moem_dims(P, ld) && i + VD_W <= ld;
    requires valid_z: \valid(z + (0 .. P * ld - 1));
    assigns z[0 .. P * ld - 1]; */
MOEM_TILE vd softmax_loglik(size_t P, double *z, size_t ld, size_t i, vd yv, int keep)
{
    vd sy = vd_zero(), mc, sc;
    /*@ loop invariant 0 <= c <= P;
        loop invariant c < P ==> moem_mul(c, ld) + ld <= moem_mul(P, ld);
        loop assigns c, sy;
        loop variant P - c; */
    for (size_t c = 0; c < P; c++) sy = vd_select(vd_eq(yv, vd_set1((double)c)), vd_load(z + c * ld + i), sy);
    if (keep) {
        sc = col_softmax(P, z, z, ld, i, &mc);
    } else {
        mc = col_max(P, z, ld, i, vd_set1(-INFINITY));
        sc = vd_zero();
        /*@ loop invariant 0 <= c <= P;
            loop invariant c < P ==> moem_mul(c, ld) + ld <= moem_mul(P, ld);
            loop assigns c, sc;
            loop variant P - c; */
        for (size_t c = 0; c < P; c++) sc = vd_add(sc, vd_exp(vd_sub(vd_load(z + c * ld + i), mc)));
    }
    return vd_sub(vd_sub(sy, mc), vd_log(sc));
}

/* a[c*ld + i] = r (p_c - [y == c]) from the class probabilities p in z */
/*@ requires cols: 1 <= P && moem_dims(P, ld) && i + VD_W <= ld;
    requires valid_z: \valid_read(z + (0 .. P * ld - 1));
    requires valid_a: \valid(a + (0 .. P * ld - 1));
    assigns a[0 .. P * ld - 1]; */
MOEM_TILE void softmax_coef(size_t P, const double *z, double *a, size_t ld, size_t i, vd r, vd yv)
{
    /*@ loop invariant 0 <= c <= P;
        loop invariant c < P ==> moem_mul(c, ld) + ld <= moem_mul(P, ld);
        loop assigns c, a[0 .. P * ld - 1];
        loop variant P - c; */
    for (size_t c = 0; c < P; c++) {
        vd t = vd_select(vd_eq(yv, vd_set1((double)c)), vd_set1(1.0), vd_zero());
        vd_store(a + c * ld + i, vd_mul(r, vd_sub(vd_load(z + c * ld + i), t)));
    }
}

/* Log-likelihood of expert q from its P score columns z: linear (variance s2, constant logc),
 * logistic (with a, a[i..] keeps exp(-|s|) for the gradient), softmax (with keep, the scores
 * become the class probabilities). */
/*@ requires cols: 1 <= P && moem_dims(P, ld) && i + VD_W <= ld;
    requires valid_z: \valid(z + (0 .. P * ld - 1));
    requires valid_a: a == \null || \valid(a + (0 .. P * ld - 1));
    assigns z[0 .. P * ld - 1], a[0 .. P * ld - 1]; */
MOEM_TILE vd expert_loglik(int fam, double s2, double logc, size_t P, double *z, double *a,
                           size_t ld, size_t i, vd yv)
{
    const vd sc = vd_load(z + i), zero = vd_zero();
    if (fam == 0) {
        vd r = vd_sub(yv, sc);
        return vd_sub(vd_mul(vd_mul(r, r), vd_set1(-0.5 / s2)), vd_set1(logc));
    }
    if (fam == 1) {
        vd ex = vd_exp(vd_sub(zero, vd_abs(sc)));
        if (a) vd_store(a + i, ex);
        return vd_sub(vd_mul(yv, sc), vd_add(vd_max(sc, zero), vd_log1p(ex)));
    }
    return softmax_loglik(P, z, ld, i, yv, a != 0);
}

/* Gradient coefficients of expert q with responsibilities r into its P columns a (see
 * moem_ops.h); linear experts with gs2 add their sigma^2 gradient over the live lanes. */
/*@ requires cols: 1 <= P && moem_dims(P, ld) && i + VD_W <= ld;
    requires valid_z: \valid_read(z + (0 .. P * ld - 1));
    requires valid_a: \valid(a + (0 .. P * ld - 1));
    requires valid_gs2: gs2 == \null || (\valid(gs2) && \separated(gs2, a + (0 .. P * ld - 1)));
    assigns a[0 .. P * ld - 1], *gs2; */
MOEM_TILE void expert_coef(int fam, double s2v, size_t P, const double *z, double *a, size_t ld,
                           size_t i, vd r, vd yv, vm live, double *gs2)
{
    const vd sc = vd_load(z + i), zero = vd_zero(), one = vd_set1(1.0);
    if (fam == 0) {
        const vd res = vd_sub(yv, sc), s2 = vd_set1(s2v);
        vd_store(a + i, vd_div(vd_sub(zero, vd_mul(r, res)), s2));
        if (gs2) {
            vd h = vd_sub(vd_set1(0.5 / s2v), vd_div(vd_mul(res, res), vd_mul(vd_set1(2.0), vd_mul(s2, s2))));
            *gs2 += vd_hsum(vd_select(live, vd_mul(r, h), zero));
        }
    } else if (fam == 1) {
        const vd ex = vd_load(a + i), den = vd_add(one, ex);
        const vd sig = vd_select(vd_ge(sc, zero), vd_div(one, den), vd_div(ex, den));
        vd_store(a + i, vd_mul(r, vd_sub(sig, yv)));
    } else {
        softmax_coef(P, z, a, ld, i, r, yv);
    }
}

/* What a vector of rows adds to the objective, LSE_k l_k = d + log(s / sg): d = max_k l_k -
 * max_k g_k and the sums s, sg of the responsibilities' and the gate's softmaxes (0, 1, 1 in
 * the lanes past the block's rows). */
typedef struct lse_parts { vd d, s, sg; } lse_parts;

/* Rows i .. i + VD_W - 1 of the fused E-step (live: the block's rows among them; yv: their
 * labels or responses): gate probabilities into Pt (without Pt, only their sum), expert
 * log-likelihoods, responsibilities into Rt. */
/*@ requires cols: moem_estep_cols(e, ld, Zt, Pt, Rt, At) && 1 <= e->K;
    requires sep: moem_estep_cols_sep(e, ld, Zt, Pt, Rt, At);
    requires row: i + VD_W <= ld;
    assigns Zt[0 .. (e->K + e->K * e->P) * ld - 1], Pt[0 .. e->K * ld - 1],
            Rt[0 .. e->K * ld - 1], At[0 .. (e->K + e->K * e->P) * ld - 1]; */
MOEM_TILE lse_parts estep_rows(const moem_estep_args *e, double *Zt, size_t ld, double *Pt,
                               double *Rt, double *At, size_t i, vm live, vd yv)
{
    const size_t K = e->K, P = e->P;
    const int fam = e->family;
    //@ ghost moem_mul_le(1, P, K);
    //@ ghost moem_mul_le(K, K + K * P, ld);
    vd mxg, mx;
    const vd sg = Pt ? col_softmax(K, Zt, Pt, ld, i, &mxg)      /* gate: pi = softmax(g) */
                     : col_sumexp(K, Zt, ld, i, &mxg);
    /* l_k + LSE_j g_j = g_k + log e_k: the gate's LSE cancels from r, enters the objective once */
    /*@ loop invariant 0 <= q <= K;
        loop assigns q, Rt[0 .. K * ld - 1], Zt[0 .. (K + K * P) * ld - 1],
                     At[0 .. (K + K * P) * ld - 1];
        loop variant K - q; */
    for (size_t q = 0; q < K; q++) {
        //@ ghost moem_mul_le(q + 1, K, P);
        //@ ghost moem_mul_le(K + q * P + P, K + K * P, ld);
        //@ ghost moem_mul_le(q + 1, K, ld);
        const size_t c = (K + q * P) * ld;
        vd le = expert_loglik(fam, fam == 0 ? e->s2[q] : 0.0, fam == 0 ? e->logc[q] : 0.0, P,
                              Zt + c, At ? At + c : 0, ld, i, yv);
        vd_store(Rt + q * ld + i, vd_add(vd_load(Zt + q * ld + i), le));
    }
    /* responsibilities r = softmax(l); LSE_k l_k = (mx - mxg) + log(s / sg) */
    const vd s = col_softmax(K, Rt, Rt, ld, i, &mx);
    const vd zero = vd_zero(), one = vd_set1(1.0);
    lse_parts r = {vd_select(live, vd_sub(mx, mxg), zero), vd_select(live, s, one),
                   vd_select(live, sg, one)};
    return r;
}

/* The gradient coefficients of rows i .. i + VD_W - 1: gate pi - r, then the experts' */
/*@ requires cols: moem_estep_cols(e, ld, Zt, Pt, Rt, At) && 1 <= e->K;
    requires grad: Pt != \null && At != \null;
    requires sep: moem_estep_cols_sep(e, ld, Zt, Pt, Rt, At) &&
                  moem_estep_gs2(e, ld, Zt, Pt, Rt, At, gs2);
    requires row: i + VD_W <= ld;
    assigns At[0 .. (e->K + e->K * e->P) * ld - 1], gs2[0 .. e->K - 1]; */
MOEM_TILE void estep_coefs(const moem_estep_args *e, double *Zt, size_t ld, double *Pt,
                           double *Rt, double *At, double *gs2, size_t i, vm live, vd yv)
{
    const size_t K = e->K, P = e->P;
    const int fam = e->family;
    //@ ghost moem_mul_le(1, P, K);
    //@ ghost moem_mul_le(K, K + K * P, ld);
    /*@ loop invariant 0 <= q <= K;
        loop assigns q, At[0 .. (K + K * P) * ld - 1], gs2[0 .. K - 1];
        loop variant K - q; */
    for (size_t q = 0; q < K; q++) {
        //@ ghost moem_mul_le(q + 1, K, P);
        //@ ghost moem_mul_le(K + q * P + P, K + K * P, ld);
        //@ ghost moem_mul_le(q + 1, K, ld);
        const size_t c = (K + q * P) * ld;
        const vd r = vd_load(Rt + q * ld + i);
        vd_store(At + q * ld + i, vd_sub(vd_load(Pt + q * ld + i), r));
        expert_coef(fam, fam == 0 ? e->s2[q] : 0.0, P, Zt + c, At + c, ld, i, r, yv, live,
                    gs2 ? gs2 + q : 0);
    }
}

/* The fused E-step of one block, vectors across rows (contract in moem_ops.h): per vector of
 * rows estep_rows, then with At estep_coefs. The objective's logs are taken once per
 * LOG_EVERY vectors of rows, log(prod s / prod sg): the sums s and sg lie in [1, K] for live
 * rows and K <= SIZE_MAX / 8 < 2^61 (K x d doubles fit in memory), so a product of 16 stays
 * below 2^976 and one division and one log serve 16 vectors. */
#define LOG_EVERY 16
/*@ requires valid: moem_estep_valid(e, n, y, Zt, ld, Pt, Rt, At, gs2);
    requires sep: moem_estep_sep(e, n, y, Zt, ld, Pt, Rt, At, gs2);
    assigns Zt[0 .. (e->K + e->K * e->P) * ld - 1], Pt[0 .. e->K * ld - 1],
            Rt[0 .. e->K * ld - 1], At[0 .. (e->K + e->K * e->P) * ld - 1], gs2[0 .. e->K - 1]; */
static double MOEM_SFX(estep)(const moem_estep_args *e, size_t n, const double *y, double *Zt,
                              size_t ld, double *Pt, double *Rt, double *At, double *gs2)
{
    if (e->K == 0) return 0.0;
    const vd one = vd_set1(1.0);
    vd tot = vd_zero(), prod = one, prodg = one;
    unsigned nprod = 0;
    /*@ loop invariant 0 <= i < n + VD_W;
        loop invariant i % VD_W == 0;
        loop invariant nprod < LOG_EVERY;
        loop assigns i, tot, prod, prodg, nprod, Zt[0 .. (e->K + e->K * e->P) * ld - 1],
                     Pt[0 .. e->K * ld - 1], Rt[0 .. e->K * ld - 1],
                     At[0 .. (e->K + e->K * e->P) * ld - 1], gs2[0 .. e->K - 1];
        loop variant n - i; */
    for (size_t i = 0; i < n; i += VD_W) {
        //@ assert lanes: i + VD_W <= ld;
        const size_t k = min_sz(VD_W, n - i);
        const vm live = vd_ge(vd_load_n(lane_ones, k), one);      /* lanes of real rows */
        const vd yv = vd_load_n(y + i, k);
        const lse_parts p = estep_rows(e, Zt, ld, Pt, Rt, At, i, live, yv);
        tot = vd_add(tot, p.d);
        prod = vd_mul(prod, p.s);
        prodg = vd_mul(prodg, p.sg);
        if (++nprod == LOG_EVERY) {
            tot = vd_add(tot, vd_log(vd_div(prod, prodg)));
            prod = prodg = one;
            nprod = 0;
        }
        if (At) estep_coefs(e, Zt, ld, Pt, Rt, At, gs2, i, live, yv);
    }
    return vd_hsum(vd_add(tot, vd_log(vd_div(prod, prodg))));
}

/* Rows from columns (contract in moem_ops.h); two columns (the paper's K) are interleaved a
 * vector of rows at a time. */
/*@ requires valid: moem_rows_valid(n, K, Rt, ld, R);
    assigns R[0 .. n * K - 1]; */
static void MOEM_SFX(to_rows)(size_t n, size_t K, const double *Rt, size_t ld, double *R)
{
    size_t i = 0;
    if (K == 2)
        /*@ loop invariant 0 <= i <= n && i % VD_W == 0;
            loop assigns i, R[0 .. n * K - 1];
            loop variant n - i; */
        for (; i + VD_W <= n; i += VD_W) vd_interleave(vd_load(Rt + i), vd_load(Rt + ld + i), R + 2 * i);
    /*@ loop invariant i0: 0 <= i <= n;
        loop assigns i, R[0 .. n * K - 1];
        loop variant n - i; */
    for (; i < n; i++)
        /*@ loop invariant 0 <= k <= K;
            loop assigns k, R[0 .. n * K - 1];
            loop variant K - k; */
        for (size_t k = 0; k < K; k++) {
            //@ ghost moem_mul_le(i + 1, n, K);
            //@ ghost moem_mul_le(k + 1, K, ld);
            R[i * K + k] = Rt[k * ld + i];
        }
}

void MOEM_SFX(moem_ops_fill_estep)(moem_ops *o)
{
    o->estep = MOEM_SFX(estep);
    o->to_rows = MOEM_SFX(to_rows);
}
