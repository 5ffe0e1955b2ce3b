/* AVX2 bodies of the exp and FMA throughput loops (compiled with -mavx2 -mfma). */
#include <immintrin.h>
#include <sleef.h>
#include "limits.h"

double bl_exp_avx2(const double *x, size_t reps)
{
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    for (size_t r = 0; r < reps; r++)
        for (size_t i = 0; i < BL_EXP_LEN; i += 8) {
            a0 = _mm256_add_pd(a0, Sleef_expd4_u10avx2(_mm256_loadu_pd(x + i)));
            a1 = _mm256_add_pd(a1, Sleef_expd4_u10avx2(_mm256_loadu_pd(x + i + 4)));
        }
    double o[4];
    _mm256_storeu_pd(o, _mm256_add_pd(a0, a1));
    return o[0] + o[1] + o[2] + o[3];
}

double bl_fma_avx2(size_t reps)
{
    __m256d a[12], m = _mm256_set1_pd(0.999999), c = _mm256_set1_pd(1e-7);
    for (int j = 0; j < 12; j++) a[j] = _mm256_set1_pd(1.0 + j);
    for (size_t r = 0; r < reps; r++)
        for (int i = 0; i < BL_FMA_BLOCK; i++)
            for (int j = 0; j < 12; j++) a[j] = _mm256_fmadd_pd(a[j], m, c);
    for (int j = 1; j < 12; j++) a[0] = _mm256_add_pd(a[0], a[j]);
    double o[4];
    _mm256_storeu_pd(o, a[0]);
    return o[0] + o[1] + o[2] + o[3];
}
