/* Scalar reference kernels: the oracle for every SIMD table. */
#include <math.h>
#include "moem_ops.h"

/*@ requires sizes: moem_xm_sizes(n, d, m);
    requires valid: moem_xm_valid(n, d, X, m, M, Z);
    requires sep: moem_xm_sep(n, d, X, m, M, Z);
    assigns Z[0 .. n * m - 1]; */
static void xm_scalar(size_t n, size_t d, const double *X, size_t m, const double *M, double *Z)
{
    /*@ loop invariant 0 <= i <= n;
        loop assigns i, Z[0 .. n * m - 1];
        loop variant n - i; */
    for (size_t i = 0; i < n; i++) {
        //@ ghost moem_mul_le(i + 1, n, d);
        //@ ghost moem_mul_le(i + 1, n, m);
        const double *x = X + i * d;
        /*@ loop invariant 0 <= j <= m;
            loop assigns j, Z[0 .. n * m - 1];
            loop variant m - j; */
        for (size_t j = 0; j < m; j++) {
            //@ ghost moem_mul_le(j + 1, m, d);
            const double *w = M + j * d;
            double s = 0.0;
            /*@ loop invariant 0 <= c <= d;
                loop assigns c, s;
                loop variant d - c; */
            for (size_t c = 0; c < d; c++) s += x[c] * w[c];
            Z[i * m + j] = s;
        }
    }
}

/*@ requires sizes: moem_xm_sizes(n, d, m);
    requires valid: moem_atx_valid(n, d, X, m, A, G);
    requires sep: moem_atx_sep(n, d, X, m, A, G);
    assigns G[0 .. m * d - 1]; */
static void atx_scalar(size_t n, size_t d, const double *X, size_t m, const double *A, double *G)
{
    /*@ loop invariant 0 <= i <= n;
        loop assigns i, G[0 .. m * d - 1];
        loop variant n - i; */
    for (size_t i = 0; i < n; i++) {
        //@ ghost moem_mul_le(i + 1, n, d);
        //@ ghost moem_mul_le(i + 1, n, m);
        const double *x = X + i * d;
        /*@ loop invariant 0 <= j <= m;
            loop assigns j, G[0 .. m * d - 1];
            loop variant m - j; */
        for (size_t j = 0; j < m; j++) {
            double a = A[i * m + j];
            if (a == 0.0) continue;
            //@ ghost moem_mul_le(j + 1, m, d);
            double *g = G + j * d;
            /*@ loop invariant 0 <= c <= d;
                loop assigns c, G[0 .. m * d - 1];
                loop variant d - c; */
            for (size_t c = 0; c < d; c++) g[c] += a * x[c];
        }
    }
}

/*@ requires sizes: moem_wgram_sizes(n, d);
    requires valid: moem_wgram_valid(n, d, X, w, G);
    requires sep: moem_wgram_sep(n, d, X, w, G);
    assigns G[0 .. d * d - 1]; */
static void wgram_scalar(size_t n, size_t d, const double *X, const double *w, double *G)
{
    /*@ loop invariant 0 <= i <= n;
        loop assigns i, G[0 .. d * d - 1];
        loop variant n - i; */
    for (size_t i = 0; i < n; i++) {
        //@ ghost moem_mul_le(i + 1, n, d);
        const double *x = X + i * d;
        double wi = w[i];
        if (wi == 0.0) continue;
        /*@ loop invariant 0 <= a <= d;
            loop assigns a, G[0 .. d * d - 1];
            loop variant d - a; */
        for (size_t a = 0; a < d; a++) {
            double wa = wi * x[a];
            //@ ghost moem_mul_le(a + 1, d, d);
            double *g = G + a * d;
            /*@ loop invariant a <= b <= d;
                loop assigns b, G[0 .. d * d - 1];
                loop variant d - b; */
            for (size_t b = a; b < d; b++) g[b] += wa * x[b];
        }
    }
}

/*@ requires valid: n <= ld && moem_dims(J, ld) && \valid(Zt + (0 .. J * ld - 1)) &&
                     \valid(lse + (0 .. n - 1));
    requires sep: \separated(Zt + (0 .. J * ld - 1), lse + (0 .. n - 1));
    assigns Zt[0 .. J * ld - 1], lse[0 .. n - 1], errno; */
static void softmax0_cols_scalar(size_t n, size_t J, double *Zt, size_t ld, double *lse)
{
    /*@ loop invariant 0 <= i <= n;
        loop assigns i, Zt[0 .. J * ld - 1], lse[0 .. n - 1], errno;
        loop variant n - i; */
    for (size_t i = 0; i < n; i++) {
        double mx = 0.0;                               /* the implicit zero logit */
        /*@ loop invariant 0 <= j <= J;
            loop invariant j < J ==> moem_mul(j, ld) + ld <= moem_mul(J, ld);
            loop assigns j, mx;
            loop variant J - j; */
        for (size_t j = 0; j < J; j++) if (Zt[j * ld + i] > mx) mx = Zt[j * ld + i];
        double s = exp(-mx);
        /*@ loop invariant 0 <= j <= J;
            loop invariant j < J ==> moem_mul(j, ld) + ld <= moem_mul(J, ld);
            loop assigns j, s, Zt[0 .. J * ld - 1], errno;
            loop variant J - j; */
        for (size_t j = 0; j < J; j++) { Zt[j * ld + i] = exp(Zt[j * ld + i] - mx); s += Zt[j * ld + i]; }
        /*@ loop invariant 0 <= j <= J;
            loop invariant j < J ==> moem_mul(j, ld) + ld <= moem_mul(J, ld);
            loop assigns j, Zt[0 .. J * ld - 1];
            loop variant J - j; */
        for (size_t j = 0; j < J; j++) Zt[j * ld + i] /= s;
        lse[i] = mx + log(s);
    }
}

/* (its contract is in moem_ops.h) */
void moem_ops_fill_reference(moem_ops *o)
{
    o->name = "scalar";
    o->xm = xm_scalar;
    o->atx = atx_scalar;
    o->wgram = wgram_scalar;
    o->softmax0_cols = softmax0_cols_scalar;
}
