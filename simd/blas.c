/* OpenBLAS for the wide-row products (see blas.h). The engine's own OpenMP threads call
 * these, so OpenBLAS itself runs on one thread. */
#include <limits.h>
#include <pthread.h>
#include <cblas.h>
#include "blas.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void one_thread(void) { openblas_set_num_threads(1); }
/* Trusted through its contract (run blas does not prove it): the flag and OpenBLAS's thread
 * count are state of blas.c and OpenBLAS, apart from any caller's arrays. */
/*@ assigns \nothing; */
static void blas_one_thread(void) { pthread_once(&once, one_thread); }

/* the three sizes and the leading dimension ld fit BLAS's int; ld covers a stored row of
 * len >= 1 elements (dgemm rejects ld < max(1, len)) */
/*@ assigns \nothing;
    ensures \result != 0 <==> a < INT_MAX && b < INT_MAX && c < INT_MAX && ld < INT_MAX &&
                              1 <= len <= ld; */
static int fits(size_t a, size_t b, size_t c, size_t ld, size_t len)
{
    return a < INT_MAX && b < INT_MAX && c < INT_MAX && ld < INT_MAX && len >= 1 && ld >= len;
}

int moem_blas_xm(size_t n, size_t d, const double *X, size_t m, const double *M, double *Z,
                 size_t rs, size_t cs)
{
    if (rs != 1 && cs != 1) return -1;
    if (n == 0 || m == 0) return 0;
    if (cs == 1) {      /* Z row-major n x m, leading dimension rs */
        if (!fits(n, d, m, rs, m) || d == 0) return -1;
        blas_one_thread();
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)m, (int)d, 1.0, X,
                    (int)d, M, (int)d, 0.0, Z, (int)rs);
    } else {            /* Z^T row-major m x n, leading dimension cs */
        if (!fits(n, d, m, cs, n) || d == 0) return -1;
        blas_one_thread();
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)d, 1.0, M,
                    (int)d, X, (int)d, 0.0, Z, (int)cs);
    }
    return 0;
}

int moem_blas_atx(size_t n, size_t d, const double *X, size_t m, const double *A, size_t ra,
                  size_t ca, double *G)
{
    if (ra != 1 && ca != 1) return -1;
    if (n == 0 || m == 0 || d == 0) return 0;
    if (ca == 1) {      /* A row-major n x m: G += A^T X */
        if (!fits(n, d, m, ra, m)) return -1;
        blas_one_thread();
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)d, (int)n, 1.0, A,
                    (int)ra, X, (int)d, 1.0, G, (int)d);
    } else {            /* A^T row-major m x n (leading dimension ca): G += A^T X */
        if (!fits(n, d, m, ca, n)) return -1;
        blas_one_thread();
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)d, (int)n, 1.0, A,
                    (int)ca, X, (int)d, 1.0, G, (int)d);
    }
    return 0;
}
