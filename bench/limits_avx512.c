/* AVX-512 bodies of the exp and FMA throughput loops (compiled with -mavx512f). */
#include <immintrin.h>
#include <sleef.h>
#include "limits.h"

double bl_exp_avx512(const double *x, size_t reps)
{
    __m512d a0 = _mm512_setzero_pd(), a1 = _mm512_setzero_pd();
    for (size_t r = 0; r < reps; r++)
        for (size_t i = 0; i < BL_EXP_LEN; i += 16) {
            a0 = _mm512_add_pd(a0, Sleef_expd8_u10avx512f(_mm512_loadu_pd(x + i)));
            a1 = _mm512_add_pd(a1, Sleef_expd8_u10avx512f(_mm512_loadu_pd(x + i + 8)));
        }
    double o[8];
    _mm512_storeu_pd(o, _mm512_add_pd(a0, a1));
    return o[0] + o[1] + o[2] + o[3] + o[4] + o[5] + o[6] + o[7];
}

double bl_fma_avx512(size_t reps)
{
    __m512d a[12], m = _mm512_set1_pd(0.999999), c = _mm512_set1_pd(1e-7);
    for (int j = 0; j < 12; j++) a[j] = _mm512_set1_pd(1.0 + j);
    for (size_t r = 0; r < reps; r++)
        for (int i = 0; i < BL_FMA_BLOCK; i++)
            for (int j = 0; j < 12; j++) a[j] = _mm512_fmadd_pd(a[j], m, c);
    for (int j = 1; j < 12; j++) a[0] = _mm512_add_pd(a[0], a[j]);
    double o[8];
    _mm512_storeu_pd(o, a[0]);
    return o[0] + o[1] + o[2] + o[3] + o[4] + o[5] + o[6] + o[7];
}
