/* Wide rows (d >= MOEM_BLAS_MIN_D) through OpenBLAS dgemm: on the Fashion-MNIST shape
 * (d = 785, 22 outputs) it beat the register tiles of kernels.c. Each returns 0 when it did
 * the work, -1 when the sizes do not fit BLAS's int (the caller then uses its tiles). */
#ifndef MOEM_BLAS_H
#define MOEM_BLAS_H
#include <stddef.h>

#define MOEM_BLAS_MIN_D 64

/* Z (n x m, row stride rs, column stride cs; one of them 1) = X M^T */
int moem_blas_xm(size_t n, size_t d, const double *X, size_t m, const double *M, double *Z,
                 size_t rs, size_t cs);
/* G (m x d) += A^T X with A(i, j) = A[i*ra + j*ca] (one of ra, ca is 1) */
int moem_blas_atx(size_t n, size_t d, const double *X, size_t m, const double *A, size_t ra,
                  size_t ca, double *G);
#endif
