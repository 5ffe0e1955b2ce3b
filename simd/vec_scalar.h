/* Vector vocabulary, portable C: one double per "vector". The kernels compiled over it form
 * the scalar table's fused entries; libm supplies exp / log / log1p. */
#ifndef MOEM_VEC_SCALAR_H
#define MOEM_VEC_SCALAR_H
#include <math.h>

#define VD_W 1
#define MOEM_SFX(name) name##_scalar
typedef double vd;
typedef int vm;

static inline vd vd_load(const double *p) { return *p; }
static inline vd vd_load_n(const double *p, size_t k) { return k ? *p : 0.0; }
static inline void vd_store(double *p, vd x) { *p = x; }
static inline void vd_store_n(double *p, vd x, size_t k) { if (k) *p = x; }
static inline vd vd_set1(double a) { return a; }
static inline vd vd_zero(void) { return 0.0; }
static inline vd vd_add(vd a, vd b) { return a + b; }
static inline vd vd_sub(vd a, vd b) { return a - b; }
static inline vd vd_mul(vd a, vd b) { return a * b; }
static inline vd vd_div(vd a, vd b) { return a / b; }
static inline vd vd_fma(vd a, vd b, vd c) { return a * b + c; }
static inline vd vd_max(vd a, vd b) { return a > b ? a : b; }
static inline vd vd_abs(vd a) { return fabs(a); }
static inline vd vd_exp(vd a) { return exp(a); }
static inline vd vd_log(vd a) { return log(a); }
static inline vd vd_log1p(vd a) { return log1p(a); }
static inline double vd_hsum(vd a) { return a; }
static inline double vd_hmax(vd a) { return a; }
static inline vd vd_hsum_x(const vd *a) { return a[0]; }
static inline void vd_interleave(vd a, vd b, double *p) { p[0] = a; p[1] = b; }   /* a0 b0 */
static inline vm vd_eq(vd a, vd b) { return a == b; }
static inline vm vd_ge(vd a, vd b) { return a >= b; }
static inline vd vd_select(vm m, vd a, vd b) { return m ? a : b; }
#endif
