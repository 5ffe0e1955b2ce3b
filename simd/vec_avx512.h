/* Vector vocabulary, AVX-512F/DQ: 8 doubles per vector, SLEEF for exp / log / log1p.
 * Included only by kernels compiled with -mavx512f -mavx512dq -mfma. */
#ifndef MOEM_VEC_AVX512_H
#define MOEM_VEC_AVX512_H
#if !defined(__AVX512F__) || !defined(__AVX512DQ__) || !defined(__FMA__)
#error "vec_avx512.h needs -mavx512f -mavx512dq -mfma"
#endif
#include <immintrin.h>
#include <sleef.h>

#define VD_W 8
#define MOEM_SFX(name) name##_avx512
typedef __m512d vd;
typedef __mmask8 vm;

static inline __mmask8 vd_tail_(size_t k) { return (__mmask8)((1u << k) - 1u); }
static inline vd vd_load(const double *p) { return _mm512_loadu_pd(p); }
/* the first k <= VD_W lanes of p, the others zero (nothing past p + k is read) */
static inline vd vd_load_n(const double *p, size_t k) { return _mm512_maskz_loadu_pd(vd_tail_(k), p); }
/* a hint: bring the cache line of p into L1 (no effect on values) */
static inline void vd_prefetch(const double *p) { _mm_prefetch((const char *)p, _MM_HINT_T0); }
static inline void vd_store(double *p, vd x) { _mm512_storeu_pd(p, x); }
static inline void vd_store_n(double *p, vd x, size_t k) { _mm512_mask_storeu_pd(p, vd_tail_(k), x); }
static inline vd vd_set1(double a) { return _mm512_set1_pd(a); }
static inline vd vd_zero(void) { return _mm512_setzero_pd(); }
static inline vd vd_add(vd a, vd b) { return _mm512_add_pd(a, b); }
static inline vd vd_sub(vd a, vd b) { return _mm512_sub_pd(a, b); }
static inline vd vd_mul(vd a, vd b) { return _mm512_mul_pd(a, b); }
static inline vd vd_div(vd a, vd b) { return _mm512_div_pd(a, b); }
static inline vd vd_fma(vd a, vd b, vd c) { return _mm512_fmadd_pd(a, b, c); }     /* a*b + c */
static inline vd vd_max(vd a, vd b) { return _mm512_max_pd(a, b); }
static inline vd vd_abs(vd a) { return _mm512_abs_pd(a); }
static inline vd vd_exp(vd a) { return Sleef_expd8_u10avx512f(a); }
static inline vd vd_log(vd a) { return Sleef_logd8_u10avx512f(a); }
static inline vd vd_log1p(vd a) { return Sleef_log1pd8_u10avx512f(a); }
static inline double vd_hsum(vd a) { return _mm512_reduce_add_pd(a); }
static inline double vd_hmax(vd a) { return _mm512_reduce_max_pd(a); }
/* lane l of the result = horizontal sum of a[l] (a transposing reduction of VD_W vectors) */
static inline vd vd_hsum_x(const vd *a)
{
    vd p[4], q[2];
    for (int k = 0; k < 4; k++)
        p[k] = _mm512_add_pd(_mm512_unpacklo_pd(a[2 * k], a[2 * k + 1]),
                             _mm512_unpackhi_pd(a[2 * k], a[2 * k + 1]));
    for (int k = 0; k < 2; k++)
        q[k] = _mm512_add_pd(_mm512_shuffle_f64x2(p[2 * k], p[2 * k + 1], 0x88),
                             _mm512_shuffle_f64x2(p[2 * k], p[2 * k + 1], 0xDD));
    return _mm512_add_pd(_mm512_shuffle_f64x2(q[0], q[1], 0x88), _mm512_shuffle_f64x2(q[0], q[1], 0xDD));
}
/* a[t] <- lane t of every a[l] (an 8 x 8 transpose: the rows of a become its columns) */
static inline void vd_transpose(vd *a)
{
    vd u[8], s[4];
    for (int k = 0; k < 4; k++) {
        u[2 * k] = _mm512_unpacklo_pd(a[2 * k], a[2 * k + 1]);
        u[2 * k + 1] = _mm512_unpackhi_pd(a[2 * k], a[2 * k + 1]);
    }
    for (int h = 0; h < 2; h++) {          /* h = 0: even columns, 1: odd columns */
        s[0] = _mm512_shuffle_f64x2(u[h], u[2 + h], 0x44);
        s[1] = _mm512_shuffle_f64x2(u[h], u[2 + h], 0xEE);
        s[2] = _mm512_shuffle_f64x2(u[4 + h], u[6 + h], 0x44);
        s[3] = _mm512_shuffle_f64x2(u[4 + h], u[6 + h], 0xEE);
        a[h] = _mm512_shuffle_f64x2(s[0], s[2], 0x88);
        a[2 + h] = _mm512_shuffle_f64x2(s[0], s[2], 0xDD);
        a[4 + h] = _mm512_shuffle_f64x2(s[1], s[3], 0x88);
        a[6 + h] = _mm512_shuffle_f64x2(s[1], s[3], 0xDD);
    }
}
/* p[0 .. 2 VD_W - 1] = a0 b0 a1 b1 ... (two columns into rows of two) */
static inline void vd_interleave(vd a, vd b, double *p)
{
    const __m512i lo = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);
    const __m512i hi = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
    _mm512_storeu_pd(p, _mm512_permutex2var_pd(a, lo, b));
    _mm512_storeu_pd(p + 8, _mm512_permutex2var_pd(a, hi, b));
}
static inline vm vd_eq(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ); }
static inline vm vd_ge(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_GE_OQ); }
static inline vd vd_select(vm m, vd a, vd b) { return _mm512_mask_blend_pd(m, b, a); }  /* m ? a : b */
#endif
