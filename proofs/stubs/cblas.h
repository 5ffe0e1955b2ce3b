/* Stands for OpenBLAS's <cblas.h> in the proof of simd/blas.c (run blas; the option parsers
 * puts proofs/stubs first on the include path): the two calls blas.c makes, with the memory
 * that the reference BLAS documents for them. dgemm in row-major order computes
 * C (M x N, leading dimension ldc) = alpha op(A) op(B) + beta C, where op(A) is M x K and is
 * stored M x K (NoTrans) or K x M (Trans) with leading dimension lda, and op(B) is K x N and
 * is stored K x N or N x K with leading dimension ldb. BLAS rejects a leading dimension below
 * max(1, stored row length); this contract also asks for M, N, K >= 1 (blas.c never calls it
 * with an empty product), so that each matrix's footprint is the plain range below. */
#ifndef MOEM_PROOF_CBLAS_H
#define MOEM_PROOF_CBLAS_H

typedef enum CBLAS_ORDER { CblasRowMajor = 101, CblasColMajor = 102 } CBLAS_ORDER;
typedef enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112 } CBLAS_TRANSPOSE;

/*@ // the last element of a row-major rows x cols matrix with leading dimension ld
    logic integer cblas_last(integer rows, integer cols, integer ld) = (rows - 1) * ld + cols - 1;
    // the stored rows and columns of op(X) = rows x cols, transposed or not
    logic integer cblas_rows(integer t, integer rows, integer cols) = t == CblasNoTrans ? rows : cols;
    logic integer cblas_cols(integer t, integer rows, integer cols) = t == CblasNoTrans ? cols : rows;
*/

/*@ requires row_major: Order == CblasRowMajor;
    requires trans: (TransA == CblasNoTrans || TransA == CblasTrans) &&
                    (TransB == CblasNoTrans || TransB == CblasTrans);
    requires sizes: M >= 1 && N >= 1 && K >= 1;
    requires lda: lda >= cblas_cols(TransA, M, K);
    requires ldb: ldb >= cblas_cols(TransB, K, N);
    requires ldc: ldc >= N;
    requires valid_A: \valid_read(A + (0 .. cblas_last(cblas_rows(TransA, M, K),
                                                       cblas_cols(TransA, M, K), lda)));
    requires valid_B: \valid_read(B + (0 .. cblas_last(cblas_rows(TransB, K, N),
                                                       cblas_cols(TransB, K, N), ldb)));
    requires valid_C: \valid(C + (0 .. cblas_last(M, N, ldc)));
    requires sep: \separated(C + (0 .. cblas_last(M, N, ldc)),
        A + (0 .. cblas_last(cblas_rows(TransA, M, K), cblas_cols(TransA, M, K), lda)),
        B + (0 .. cblas_last(cblas_rows(TransB, K, N), cblas_cols(TransB, K, N), ldb)));
    assigns C[0 .. cblas_last(M, N, ldc)]; */
void cblas_dgemm(const enum CBLAS_ORDER Order, const enum CBLAS_TRANSPOSE TransA,
                 const enum CBLAS_TRANSPOSE TransB, const int M, const int N, const int K,
                 const double alpha, const double *A, const int lda, const double *B,
                 const int ldb, const double beta, double *C, const int ldc);

/*@ assigns \nothing; */
void openblas_set_num_threads(int num_threads);
#endif
