/* Wide rows (d >= MOEM_BLAS_MIN_D) through OpenBLAS dgemm. Each returns 0 when it did
 * the work, -1 when it did not (the caller then uses its tiles): d == 0, sizes that do not fit
 * BLAS's int, or a leading dimension dgemm would reject (strides below the row length). The
 * contracts (proved in run blas of ci/proofs against the dgemm contract of
 * proofs/stubs/cblas.h) give the memory each reads and writes: that of its caller in
 * simd/kernels_dot.c (dots) and simd/kernels_acc.c (atx_any). */
#ifndef MOEM_BLAS_H
#define MOEM_BLAS_H
#include <stddef.h>

/* Off by default: with OPENBLAS_CORETYPE=Haswell (set on the development machine, whose
 * OpenBLAS misbehaves otherwise) dgemm packs X on every call and runs AVX2 kernels, and the
 * tiles of the kernels (simd/kernels_dot.c, kernels_acc.c) are faster on every shape measured (README, "Performance"). cmake
 * -DMOEM_BLAS_PRODUCTS=ON sends rows of d >= 64 to dgemm again. */
#ifndef MOEM_BLAS_MIN_D
#define MOEM_BLAS_MIN_D ((size_t)-1)
#endif

/* Z (n x m, row stride rs, column stride cs; one of them 1) = X M^T */
/*@ requires valid_X: \valid_read(X + (0 .. n * d - 1));
    requires valid_M: \valid_read(M + (0 .. m * d - 1));
    requires valid_Z: \valid(Z + (0 .. (n - 1) * rs + (m - 1) * cs));
    requires sep: \separated(Z + (0 .. (n - 1) * rs + (m - 1) * cs),
                             X + (0 .. n * d - 1), M + (0 .. m * d - 1));
    assigns Z[0 .. (n - 1) * rs + (m - 1) * cs]; */
int moem_blas_xm(size_t n, size_t d, const double *X, size_t m, const double *M, double *Z,
                 size_t rs, size_t cs);
/* G (m x d) += A^T X with A(i, j) = A[i*ra + j*ca] (one of ra, ca is 1) */
/*@ requires valid_X: \valid_read(X + (0 .. n * d - 1));
    requires valid_A: \valid_read(A + (0 .. (n - 1) * ra + (m - 1) * ca));
    requires valid_G: \valid(G + (0 .. m * d - 1));
    requires sep: \separated(G + (0 .. m * d - 1), X + (0 .. n * d - 1),
                             A + (0 .. (n - 1) * ra + (m - 1) * ca));
    assigns G[0 .. m * d - 1]; */
int moem_blas_atx(size_t n, size_t d, const double *X, size_t m, const double *A, size_t ra,
                  size_t ca, double *G);
#endif
