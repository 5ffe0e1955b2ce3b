/* Small dense linear algebra for the M-steps. */
#include <math.h>
#include "internal.h"

int moem_chol_factor(size_t n, double *A)
{
    /* A = U^T U with U upper triangular, stored in A's upper triangle. */
    for (size_t j = 0; j < n; j++) {
        double s = A[j * n + j], diag = s;
        for (size_t k = 0; k < j; k++) s -= A[k * n + j] * A[k * n + j];
        if (!(s > 1e-13 * diag) || !isfinite(s)) return -1;   /* not (numerically) positive definite */
        double ujj = sqrt(s);
        A[j * n + j] = ujj;
        for (size_t i = j + 1; i < n; i++) {
            double t = A[j * n + i];
            for (size_t k = 0; k < j; k++) t -= A[k * n + j] * A[k * n + i];
            A[j * n + i] = t / ujj;
        }
    }
    return 0;
}

void moem_chol_back(size_t n, const double *U, double *b)
{
    for (size_t i = 0; i < n; i++) {                 /* U^T z = b */
        double t = b[i];
        for (size_t k = 0; k < i; k++) t -= U[k * n + i] * b[k];
        b[i] = t / U[i * n + i];
    }
    for (size_t i = n; i-- > 0;) {                   /* U x = z */
        double t = b[i];
        for (size_t k = i + 1; k < n; k++) t -= U[i * n + k] * b[k];
        b[i] = t / U[i * n + i];
    }
}

int moem_chol_solve(size_t n, double *A, double *b)
{
    if (moem_chol_factor(n, A)) return -1;
    moem_chol_back(n, A, b);
    return 0;
}
