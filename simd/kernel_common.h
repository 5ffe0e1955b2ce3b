/* What the kernel sources share (simd/kernels_dot.c, kernels_acc.c, kernels_estep.c): the
 * vector vocabulary of the ISA being compiled, the register tile sizes, the small helpers and
 * the fill functions of each family. Each source is compiled once per ISA
 * (simd/CMakeLists.txt defines MOEM_KERNEL_<ISA> and that ISA's flags) and analysed by its own
 * proof runs (proofs/runs: <isa>_dot, <isa>_acc, <isa>_estep). Every name gets the ISA's
 * suffix through MOEM_SFX; no intrinsic appears here. Where OpenBLAS is built in, the SIMD
 * tables hand wide-row products (d >= MOEM_BLAS_MIN_D) to dgemm (simd/blas.h); the scalar
 * table never does, so the oracle stays plain C. Private to simd/. */
#ifndef MOEM_KERNEL_COMMON_H
#define MOEM_KERNEL_COMMON_H
#include <math.h>
#include <stddef.h>
#include "moem_ops.h"
#if defined(MOEM_HAVE_OPENBLAS) && !defined(MOEM_KERNEL_SCALAR)
#include "blas.h"
#define USE_BLAS(d) ((d) >= MOEM_BLAS_MIN_D)
#else
#define USE_BLAS(d) 0
#endif

#if defined(MOEM_KERNEL_AVX512)
#include "vec_avx512.h"
#elif defined(MOEM_KERNEL_AVX2)
#include "vec_avx2.h"
#elif defined(MOEM_KERNEL_NEON)
#include "vec_neon.h"
#elif defined(MOEM_KERNEL_SCALAR)
#include "vec_scalar.h"
#else
#error "define MOEM_KERNEL_SCALAR, _AVX2, _AVX512 or _NEON"
#endif

/* Register tiles: VD_W rows x TJ outputs for the dot products (reduced together by
 * vd_hsum_x; TJW for wide rows), TJA outputs x TC vectors for X^T A, TI rows x TC vectors
 * for the Gram matrices. AVX2 has 16 vector registers, the others 32. The sizes were picked
 * by timing (Fashion-MNIST shape for TJW / TJA). Rows of up to COLS_D columns go to the
 * transposed tiles (cols_tile, TS outputs): on AVX-512 they beat the reduced tiles for every
 * d up to 32 (E-step at N = 1e5: d = 10 by 18 %, d = 32 by 7 %); on AVX2 the gain was 5-15 %
 * on the dot products alone, not worth a second proof run; NEON is untimed here. Only the
 * vocabularies of ISAs with COLS_D > 0 define vd_transpose and vd_prefetch. */
#if defined(MOEM_KERNEL_AVX2)
#define COLS_D 0    /* dot products by transposed blocks up to this d (0: never) */
#define TS 1        /* ... and their outputs per tile */
#define TJ 2        /* dot products: outputs per tile (rows: VD_W) */
#define TJW 2       /* dot products, d >= 64 */
#define TJA 2       /* X^T A: outputs per tile (columns: TC vectors) */
#define TI 4        /* Gram: rows per tile (columns: TC vectors) */
#define TC 2
#elif defined(MOEM_KERNEL_AVX512)
#define COLS_D 32
#define TS 8
#define TJ 2
#define TJW 3       /* dot products, d >= 64 */
#define TJA 6
#define TI 4
#define TC 4
#else
#define COLS_D 0
#define TS 1
#define TJ 4
#define TJW 4
#define TJA 4
#define TI 4
#define TC 4
#endif

#define TJMAX 4
/* the tiles must be inlined with constant sizes to live in registers */
#define MOEM_TILE static inline __attribute__((always_inline))

/*@ assigns \nothing; ensures \result == \min(a, b); */
static inline size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }
/*@ requires d < SIZE_MAX; assigns \nothing; ensures 8 <= \result <= 16392; */
static inline size_t row_block(size_t d) { return 16384 / (d + 1) + 8; }   /* ~128 KiB of X */
/*@ assigns \nothing;
    ensures \result <= VD_W;
    ensures c >= d ==> \result == 0;
    ensures c < d ==> \result == \min(d - c, VD_W); */
static inline size_t lanes_left(size_t d, size_t c) { return c >= d ? 0 : min_sz(d - c, VD_W); }

/* The entries each family fills (moem_ops_fill_<isa> calls the three, simd/kernels_acc.c).
 * The scalar table keeps its reference xm, atx, wgram and softmax0_cols (simd/ops_scalar.c). */
#if defined(MOEM_KERNEL_SCALAR)
#define FILL_DOT o->xm_cols
#define FILL_ACC o->atx_cols
#else
#define FILL_DOT o->xm, o->xm_cols, o->softmax0_cols
#define FILL_ACC o->atx, o->atx_cols, o->wgram
#endif
/*@ requires valid_o: \valid(o);
    assigns FILL_DOT; */
void MOEM_SFX(moem_ops_fill_dot)(moem_ops *o);     /* simd/kernels_dot.c */
/*@ requires valid_o: \valid(o);
    assigns FILL_ACC; */
void MOEM_SFX(moem_ops_fill_acc)(moem_ops *o);     /* simd/kernels_acc.c */
/*@ requires valid_o: \valid(o);
    assigns o->estep, o->to_rows; */
void MOEM_SFX(moem_ops_fill_estep)(moem_ops *o);   /* simd/kernels_estep.c */

#endif
