/* The scores of a block of wide rows (X M^T, many features, a few dozen outputs) through the
 * broadcast-shaped kernel atx_cols.
 *
 * xm_cols's tiles (simd/kernels_dot.c, dots) load VD_W rows of X and the rows of M as vectors
 * along the features. When d is not a multiple of 8, the rows of X and of M start at every
 * offset within a cache line and most of those loads cross a line: on the Fashion-MNIST shape
 * a GD iteration took 55 ms at d = 785 and 36 ms at d = 784. Here M is packed once per pass as Mt (d x mp:
 * feature-major, the outputs padded to whole vectors with zeros, 64-byte aligned) and a
 * block's scores come from atx_cols with Mt as its matrix and the block's rows as its broadcast
 * coefficients: every vector load is aligned and X is read by scalars. */
#include <string.h>
#include "internal.h"

size_t moem_fwd_width(size_t d, size_t m)
{
    /* on narrow rows xm_cols's tiles (transposed for d <= 32) are the better shape, and for a
     * handful of outputs the padding would cost more than the unaligned loads */
    if (d < 64 || m < 8 || m > 64) return 0;
    return (m + 7) / 8 * 8;
}

void moem_fwd_pack(size_t m, size_t d, const double *M, size_t mp, double *Mt)
{
    for (size_t c = 0; c < d; c++) {
        double *t = Mt + c * mp;
        for (size_t j = 0; j < m; j++) t[j] = M[j * d + c];
        for (size_t j = m; j < mp; j++) t[j] = 0.0;
    }
}

void moem_fwd_block(const moem_ops *ops, size_t n, size_t d, const double *X, size_t m,
                    const double *Mt, size_t mp, double *Zt, size_t ld, double *Zr)
{
    memset(Zr, 0, n * mp * sizeof(double));
    ops->atx_cols(d, mp, Mt, n, X, d, Zr);       /* Zr[i*mp + j] = sum_c X[i*d + c] Mt[c*mp + j] */
    for (size_t j = 0; j < m; j++) {
        double *z = Zt + j * ld;
        for (size_t i = 0; i < n; i++) z[i] = Zr[i * mp + j];
        for (size_t i = n; i < ld; i++) z[i] = 0.0;
    }
}
