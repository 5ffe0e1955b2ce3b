/* Scalar reference kernels: the oracle for every SIMD table. */
#include <math.h>
#include "moem_ops.h"

static void xm_scalar(size_t n, size_t d, const double *X, size_t m, const double *M, double *Z)
{
    for (size_t i = 0; i < n; i++) {
        const double *x = X + i * d;
        for (size_t j = 0; j < m; j++) {
            const double *w = M + j * d;
            double s = 0.0;
            for (size_t c = 0; c < d; c++) s += x[c] * w[c];
            Z[i * m + j] = s;
        }
    }
}

static void atx_scalar(size_t n, size_t d, const double *X, size_t m, const double *A, double *G)
{
    for (size_t i = 0; i < n; i++) {
        const double *x = X + i * d;
        for (size_t j = 0; j < m; j++) {
            double a = A[i * m + j];
            if (a == 0.0) continue;
            double *g = G + j * d;
            for (size_t c = 0; c < d; c++) g[c] += a * x[c];
        }
    }
}

static void wgram_scalar(size_t n, size_t d, const double *X, const double *w, double *G)
{
    for (size_t i = 0; i < n; i++) {
        const double *x = X + i * d;
        double wi = w[i];
        if (wi == 0.0) continue;
        for (size_t a = 0; a < d; a++) {
            double wa = wi * x[a];
            double *g = G + a * d;
            for (size_t b = a; b < d; b++) g[b] += wa * x[b];
        }
    }
}

static void softmax_rows_scalar(size_t n, size_t m, double *Z, double *lse)
{
    for (size_t i = 0; i < n; i++) {
        double *z = Z + i * m;
        double mx = -INFINITY;
        for (size_t j = 0; j < m; j++) if (z[j] > mx) mx = z[j];
        if (mx == -INFINITY) {           /* every term is zero: lse = -inf, uniform is undefined */
            for (size_t j = 0; j < m; j++) z[j] = 0.0;
            lse[i] = -INFINITY;
            continue;
        }
        double s = 0.0;
        for (size_t j = 0; j < m; j++) { z[j] = exp(z[j] - mx); s += z[j]; }
        double inv = 1.0 / s;
        for (size_t j = 0; j < m; j++) z[j] *= inv;
        lse[i] = mx + log(s);
    }
}

static void softmax0_cols_scalar(size_t n, size_t J, double *Zt, size_t ld, double *lse)
{
    for (size_t i = 0; i < n; i++) {
        double mx = 0.0;                               /* the implicit zero logit */
        for (size_t j = 0; j < J; j++) if (Zt[j * ld + i] > mx) mx = Zt[j * ld + i];
        double s = exp(-mx);
        for (size_t j = 0; j < J; j++) { Zt[j * ld + i] = exp(Zt[j * ld + i] - mx); s += Zt[j * ld + i]; }
        for (size_t j = 0; j < J; j++) Zt[j * ld + i] /= s;
        lse[i] = mx + log(s);
    }
}

void moem_ops_fill_reference(moem_ops *o)
{
    o->name = "scalar";
    o->xm = xm_scalar;
    o->atx = atx_scalar;
    o->wgram = wgram_scalar;
    o->softmax_rows = softmax_rows_scalar;
    o->softmax0_cols = softmax0_cols_scalar;
}
