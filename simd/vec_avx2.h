/* Vector vocabulary, AVX2 + FMA: 4 doubles per vector, SLEEF for exp / log / log1p.
 * Included only by kernels compiled with -mavx2 -mfma. */
#ifndef MOEM_VEC_AVX2_H
#define MOEM_VEC_AVX2_H
#if !defined(__AVX2__) || !defined(__FMA__)
#error "vec_avx2.h needs -mavx2 -mfma"
#endif
#include <immintrin.h>
#include <sleef.h>

#define VD_W 4
#define MOEM_SFX(name) name##_avx2
typedef __m256d vd;
typedef __m256d vm;

static inline __m256i vd_tail_(size_t k)
{
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)k), _mm256_setr_epi64x(0, 1, 2, 3));
}
static inline vd vd_load(const double *p) { return _mm256_loadu_pd(p); }
/* the first k <= VD_W lanes of p, the others zero (nothing past p + k is read) */
static inline vd vd_load_n(const double *p, size_t k) { return _mm256_maskload_pd(p, vd_tail_(k)); }
static inline void vd_store(double *p, vd x) { _mm256_storeu_pd(p, x); }
static inline void vd_store_n(double *p, vd x, size_t k) { _mm256_maskstore_pd(p, vd_tail_(k), x); }
static inline vd vd_set1(double a) { return _mm256_set1_pd(a); }
static inline vd vd_zero(void) { return _mm256_setzero_pd(); }
static inline vd vd_add(vd a, vd b) { return _mm256_add_pd(a, b); }
static inline vd vd_sub(vd a, vd b) { return _mm256_sub_pd(a, b); }
static inline vd vd_mul(vd a, vd b) { return _mm256_mul_pd(a, b); }
static inline vd vd_div(vd a, vd b) { return _mm256_div_pd(a, b); }
static inline vd vd_fma(vd a, vd b, vd c) { return _mm256_fmadd_pd(a, b, c); }     /* a*b + c */
static inline vd vd_max(vd a, vd b) { return _mm256_max_pd(a, b); }
static inline vd vd_abs(vd a) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), a); }
static inline vd vd_exp(vd a) { return Sleef_expd4_u10avx2(a); }
static inline vd vd_log(vd a) { return Sleef_logd4_u10avx2(a); }
static inline vd vd_log1p(vd a) { return Sleef_log1pd4_u10avx2(a); }
static inline double vd_hsum(vd a)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}
static inline double vd_hmax(vd a)
{
    __m128d s = _mm_max_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    return _mm_cvtsd_f64(_mm_max_sd(s, _mm_unpackhi_pd(s, s)));
}
/* lane l of the result = horizontal sum of a[l] (a transposing reduction of VD_W vectors) */
static inline vd vd_hsum_x(const vd *a)
{
    vd h01 = _mm256_hadd_pd(a[0], a[1]), h23 = _mm256_hadd_pd(a[2], a[3]);
    return _mm256_add_pd(_mm256_permute2f128_pd(h01, h23, 0x20), _mm256_permute2f128_pd(h01, h23, 0x31));
}
/* p[0 .. 2 VD_W - 1] = a0 b0 a1 b1 ... (two columns into rows of two) */
static inline void vd_interleave(vd a, vd b, double *p)
{
    vd u0 = _mm256_unpacklo_pd(a, b), u1 = _mm256_unpackhi_pd(a, b);
    _mm256_storeu_pd(p, _mm256_permute2f128_pd(u0, u1, 0x20));
    _mm256_storeu_pd(p + 4, _mm256_permute2f128_pd(u0, u1, 0x31));
}
static inline vm vd_eq(vd a, vd b) { return _mm256_cmp_pd(a, b, _CMP_EQ_OQ); }
static inline vm vd_ge(vd a, vd b) { return _mm256_cmp_pd(a, b, _CMP_GE_OQ); }
static inline vd vd_select(vm m, vd a, vd b) { return _mm256_blendv_pd(b, a, m); }     /* m ? a : b */
#endif
