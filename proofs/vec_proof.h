/* Proof vocabulary: the vector operations of simd/vec_*.h as declared functions with ACSL
 * contracts, so that Frama-C/WP analyses the real kernel sources simd/kernels_dot.c,
 * kernels_acc.c and kernels_estep.c (which cannot be parsed with <immintrin.h> or <arm_neon.h>).
 *
 * ci/proofs force-includes this header (cpp -include) and defines the same MOEM_KERNEL_<ISA>
 * as the build, so simd/kernel_common.h takes its usual #if branch (tile sizes included); this
 * header claims that ISA header's include guard, so the real vocabulary is skipped and the
 * vector width VD_W and the name suffix below stand in for it. A vector is an opaque value: the
 * contracts say which memory each operation reads and writes, nothing about the numbers. */
#ifndef MOEM_VEC_PROOF_H
#define MOEM_VEC_PROOF_H
#include <stddef.h>
#include <stdint.h>

#if defined(MOEM_KERNEL_AVX512)
#define MOEM_VEC_AVX512_H
#define VD_W 8
#define MOEM_SFX(name) name##_avx512
#elif defined(MOEM_KERNEL_AVX2)
#define MOEM_VEC_AVX2_H
#define VD_W 4
#define MOEM_SFX(name) name##_avx2
#elif defined(MOEM_KERNEL_NEON)
#define MOEM_VEC_NEON_H
#define VD_W 2
#define MOEM_SFX(name) name##_neon
#elif defined(MOEM_KERNEL_SCALAR)
#define MOEM_VEC_SCALAR_H
#define VD_W 1
#define MOEM_SFX(name) name##_scalar
#else
#error "vec_proof.h: define MOEM_KERNEL_SCALAR, _AVX2, _AVX512 or _NEON"
#endif

typedef double vd;   /* opaque: only the memory footprint of each operation matters */
typedef int vm;

/*@ requires valid_p: \valid_read(p + (0 .. VD_W - 1));
    assigns \result \from p[0 .. VD_W - 1]; */
vd vd_load(const double *p);

/* the first k lanes of p, the others zero: nothing past p + k is read */
/*@ requires k_le_w: k <= VD_W;
    requires valid_p: \valid_read(p + (0 .. k - 1));
    assigns \result \from p[0 .. k - 1], k; */
vd vd_load_n(const double *p, size_t k);

/* a cache hint; only addresses inside the caller's arrays are prefetched */
/*@ requires valid_p: \valid_read(p);
    assigns \nothing; */
void vd_prefetch(const double *p);

/*@ requires valid_p: \valid(p + (0 .. VD_W - 1));
    assigns p[0 .. VD_W - 1] \from x; */
void vd_store(double *p, vd x);

/*@ requires k_le_w: k <= VD_W;
    requires valid_p: \valid(p + (0 .. k - 1));
    assigns p[0 .. k - 1] \from x, k; */
void vd_store_n(double *p, vd x, size_t k);

/*@ assigns \result \from a; */ vd vd_set1(double a);
/*@ assigns \result \from \nothing; */ vd vd_zero(void);
/*@ assigns \result \from a, b; */ vd vd_add(vd a, vd b);
/*@ assigns \result \from a, b; */ vd vd_sub(vd a, vd b);
/*@ assigns \result \from a, b; */ vd vd_mul(vd a, vd b);
/*@ assigns \result \from a, b; */ vd vd_div(vd a, vd b);
/*@ assigns \result \from a, b, c; */ vd vd_fma(vd a, vd b, vd c);
/*@ assigns \result \from a, b; */ vd vd_max(vd a, vd b);
/*@ assigns \result \from a; */ vd vd_abs(vd a);
/*@ assigns \result \from a; */ vd vd_exp(vd a);
/*@ assigns \result \from a; */ vd vd_log(vd a);
/*@ assigns \result \from a; */ vd vd_log1p(vd a);
/*@ assigns \result \from a; */ double vd_hsum(vd a);
/* lane a of the result: the horizontal sum of a[a] */
/*@ requires valid_a: \valid_read(a + (0 .. VD_W - 1));
    assigns \result \from a[0 .. VD_W - 1]; */
vd vd_hsum_x(const vd *a);
/* p[0 .. 2 VD_W - 1] = a0 b0 a1 b1 ...: two vectors interleaved into memory */
/*@ requires valid_p: \valid(p + (0 .. 2 * VD_W - 1));
    assigns p[0 .. 2 * VD_W - 1] \from a, b; */
void vd_interleave(vd a, vd b, double *p);

/* a[t] <- lane t of every a[l]: a VD_W x VD_W transpose in place */
/*@ requires valid_a: \valid(a + (0 .. VD_W - 1));
    assigns a[0 .. VD_W - 1] \from a[0 .. VD_W - 1]; */
void vd_transpose(vd *a);
/*@ assigns \result \from a; */ double vd_hmax(vd a);
/*@ assigns \result \from a, b; */ vm vd_eq(vd a, vd b);
/*@ assigns \result \from a, b; */ vm vd_ge(vd a, vd b);
/*@ assigns \result \from m, a, b; */ vd vd_select(vm m, vd a, vd b);

#endif
