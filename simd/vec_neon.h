/* Vector vocabulary, AArch64 AdvSIMD (NEON): 2 doubles per vector, SLEEF for exp / log / log1p. */
#ifndef MOEM_VEC_NEON_H
#define MOEM_VEC_NEON_H
#if !defined(__aarch64__) || !defined(__ARM_NEON)
#error "vec_neon.h needs an AArch64 target with AdvSIMD"
#endif
#include <arm_neon.h>
#include <sleef.h>

#define VD_W 2
#define MOEM_SFX(name) name##_neon
typedef float64x2_t vd;
typedef uint64x2_t vm;

static inline vd vd_load(const double *p) { return vld1q_f64(p); }
/* the first k <= VD_W lanes of p, the others zero (nothing past p + k is read) */
static inline vd vd_load_n(const double *p, size_t k)
{
    if (k >= 2) return vld1q_f64(p);
    return k ? vsetq_lane_f64(p[0], vdupq_n_f64(0.0), 0) : vdupq_n_f64(0.0);
}
static inline void vd_store(double *p, vd x) { vst1q_f64(p, x); }
static inline void vd_store_n(double *p, vd x, size_t k)
{
    if (k >= 2) vst1q_f64(p, x);
    else if (k) p[0] = vgetq_lane_f64(x, 0);
}
static inline vd vd_set1(double a) { return vdupq_n_f64(a); }
static inline vd vd_zero(void) { return vdupq_n_f64(0.0); }
static inline vd vd_add(vd a, vd b) { return vaddq_f64(a, b); }
static inline vd vd_sub(vd a, vd b) { return vsubq_f64(a, b); }
static inline vd vd_mul(vd a, vd b) { return vmulq_f64(a, b); }
static inline vd vd_div(vd a, vd b) { return vdivq_f64(a, b); }
static inline vd vd_fma(vd a, vd b, vd c) { return vfmaq_f64(c, a, b); }           /* a*b + c */
static inline vd vd_max(vd a, vd b) { return vmaxq_f64(a, b); }
static inline vd vd_abs(vd a) { return vabsq_f64(a); }
static inline vd vd_exp(vd a) { return Sleef_expd2_u10advsimd(a); }
static inline vd vd_log(vd a) { return Sleef_logd2_u10advsimd(a); }
static inline vd vd_log1p(vd a) { return Sleef_log1pd2_u10advsimd(a); }
static inline double vd_hsum(vd a) { return vaddvq_f64(a); }
static inline double vd_hmax(vd a) { return vmaxvq_f64(a); }
/* lane l of the result = horizontal sum of a[l] (a transposing reduction of VD_W vectors) */
static inline vd vd_hsum_x(const vd *a) { return vpaddq_f64(a[0], a[1]); }
/* p[0 .. 2 VD_W - 1] = a0 b0 a1 b1 (two columns into rows of two) */
static inline void vd_interleave(vd a, vd b, double *p)
{
    float64x2x2_t ab = {{a, b}};
    vst2q_f64(p, ab);
}
static inline vm vd_eq(vd a, vd b) { return vceqq_f64(a, b); }
static inline vm vd_ge(vd a, vd b) { return vcgeq_f64(a, b); }
static inline vd vd_select(vm m, vd a, vd b) { return vbslq_f64(m, a, b); }         /* m ? a : b */
#endif
