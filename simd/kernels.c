/* The kernels, written once over the vector vocabulary and compiled once per ISA
 * (simd/CMakeLists.txt defines MOEM_KERNEL_<ISA> and that ISA's flags). Every name gets the
 * ISA's suffix through MOEM_SFX; no intrinsic appears here. Where OpenBLAS is built in, the
 * SIMD tables hand wide-row products (d >= MOEM_BLAS_MIN_D) to dgemm (simd/blas.h); the
 * scalar table never does, so the oracle stays plain C. */
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

static const double lane_ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};

/*@ assigns \nothing; ensures \result == \min(a, b); */
static inline size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }
/*@ requires d < SIZE_MAX; assigns \nothing; ensures 8 <= \result <= 16392; */
static inline size_t row_block(size_t d) { return 16384 / (d + 1) + 8; }   /* ~128 KiB of X */
/*@ assigns \nothing;
    ensures \result <= VD_W;
    ensures c >= d ==> \result == 0;
    ensures c < d ==> \result == \min(d - c, VD_W); */
static inline size_t lanes_left(size_t d, size_t c) { return c >= d ? 0 : min_sz(d - c, VD_W); }

/* Z[a*rs + b*cs] (+)= the lanes of acc[b][0 .. VD_W-1] summed (vd_hsum_x), for a < ni, b < nj:
 * the stores of dot_tile */
/*@ requires ni: 1 <= ni <= VD_W;
    requires nj: 1 <= nj <= tj <= TJMAX;
    requires span: (ni - 1) * rs + (nj - 1) * cs <= moem_max_elems;
    requires valid_acc: \valid_read(acc + (0 .. TJMAX - 1));
    requires valid_Z: \valid(Z + (0 .. (ni - 1) * rs + (nj - 1) * cs));
    requires sep: \separated(Z + (0 .. (ni - 1) * rs + (nj - 1) * cs), acc + (0 .. TJMAX - 1));
    assigns Z[0 .. (ni - 1) * rs + (nj - 1) * cs]; */
MOEM_TILE void dot_put(size_t ni, size_t nj, size_t tj, vd (*acc)[VD_W], double *Z,
                       size_t rs, size_t cs, int add)
{
    /*@ loop invariant 0 <= b <= tj;
        loop assigns b, Z[0 .. (ni - 1) * rs + (nj - 1) * cs];
        loop variant tj - b; */
    for (size_t b = 0; b < tj; b++) {
        if (b >= nj) break;
        //@ ghost moem_mul_le(b, nj - 1, cs);
        vd s = vd_hsum_x(acc[b]);
        if (rs == 1 && ni == VD_W) {
            vd_store(Z + b * cs, add ? vd_add(vd_load(Z + b * cs), s) : s);
        } else {
            double tmp[VD_W];
            vd_store(tmp, s);
            /*@ loop invariant 0 <= a <= ni;
                loop assigns a, Z[0 .. (ni - 1) * rs + (nj - 1) * cs];
                loop variant ni - a; */
            for (size_t a = 0; a < ni; a++) Z[a * rs + b * cs] = add ? Z[a * rs + b * cs] + tmp[a] : tmp[a];
        }
    }
}

/* Z[a*rs + b*cs] (+)= sum_{c0 <= c < c1} X[a*d + c] M[b*d + c] for a < ni <= VD_W, b < nj <= tj
 * (add: accumulate into Z). Rows and outputs past the edge repeat the last one (computed,
 * never stored) so that the tile stays in registers. With rs == 1 (column-major Z) and
 * ni == VD_W the VD_W rows of an output are one store. */
/*@ requires ni: 1 <= ni <= VD_W;
    requires nj: 1 <= nj <= tj <= TJMAX;
    requires cols: c0 <= c1 <= d;
    requires dims: moem_dims(ni, d) && moem_dims(nj, d);
    requires span: (ni - 1) * rs + (nj - 1) * cs <= moem_max_elems;
    requires valid_X: \valid_read(X + (0 .. ni * d - 1));
    requires valid_M: \valid_read(M + (0 .. nj * d - 1));
    requires valid_Z: \valid(Z + (0 .. (ni - 1) * rs + (nj - 1) * cs));
    requires sep: \separated(Z + (0 .. (ni - 1) * rs + (nj - 1) * cs),
                             X + (0 .. ni * d - 1), M + (0 .. nj * d - 1));
    assigns Z[0 .. (ni - 1) * rs + (nj - 1) * cs]; */
MOEM_TILE void dot_tile(size_t ni, size_t nj, size_t tj, size_t d, const double *X,
                        const double *M, double *Z, size_t rs, size_t cs, size_t c0, size_t c1,
                        int add)
{
    const double *xp[VD_W], *mp[TJMAX];
    vd acc[TJMAX][VD_W];
    /*@ loop invariant 0 <= a <= VD_W;
        loop invariant \forall integer r; 0 <= r < a ==> \valid_read(xp[r] + (0 .. d - 1));
        loop assigns a, xp[0 .. VD_W - 1];
        loop variant VD_W - a; */
    for (size_t a = 0; a < VD_W; a++) xp[a] = X + min_sz(a, ni - 1) * d;
    /*@ loop invariant 0 <= b <= tj;
        loop invariant \forall integer r; 0 <= r < b ==> \valid_read(mp[r] + (0 .. d - 1));
        loop assigns b, mp[0 .. TJMAX - 1];
        loop variant tj - b; */
    for (size_t b = 0; b < tj; b++) mp[b] = M + min_sz(b, nj - 1) * d;
    /*@ loop invariant 0 <= b <= tj;
        loop assigns b, acc[0 .. TJMAX - 1][0 .. VD_W - 1];
        loop variant tj - b; */
    for (size_t b = 0; b < tj; b++)
        /*@ loop invariant 0 <= a <= VD_W;
            loop assigns a, acc[b][0 .. VD_W - 1];
            loop variant VD_W - a; */
        for (size_t a = 0; a < VD_W; a++) acc[b][a] = vd_zero();
    size_t c = c0;
    /*@ loop invariant c0 <= c <= c1;
        loop assigns c, acc[0 .. TJMAX - 1][0 .. VD_W - 1];
        loop variant c1 - c; */
    for (; c + VD_W <= c1; c += VD_W) {
        vd x[VD_W];
        /*@ loop invariant 0 <= a <= VD_W;
            loop assigns a, x[0 .. VD_W - 1];
            loop variant VD_W - a; */
        for (size_t a = 0; a < VD_W; a++) x[a] = vd_load(xp[a] + c);
        /*@ loop invariant 0 <= b <= tj;
            loop assigns b, acc[0 .. TJMAX - 1][0 .. VD_W - 1];
            loop variant tj - b; */
        for (size_t b = 0; b < tj; b++) {
            vd w = vd_load(mp[b] + c);
            /*@ loop invariant 0 <= a <= VD_W;
                loop assigns a, acc[b][0 .. VD_W - 1];
                loop variant VD_W - a; */
            for (size_t a = 0; a < VD_W; a++) acc[b][a] = vd_fma(x[a], w, acc[b][a]);
        }
    }
    if (c < c1) {
        size_t k = c1 - c;
        vd x[VD_W];
        /*@ loop invariant 0 <= a <= VD_W;
            loop assigns a, x[0 .. VD_W - 1];
            loop variant VD_W - a; */
        for (size_t a = 0; a < VD_W; a++) x[a] = vd_load_n(xp[a] + c, k);
        /*@ loop invariant 0 <= b <= tj;
            loop assigns b, acc[0 .. TJMAX - 1][0 .. VD_W - 1];
            loop variant tj - b; */
        for (size_t b = 0; b < tj; b++) {
            vd w = vd_load_n(mp[b] + c, k);
            /*@ loop invariant 0 <= a <= VD_W;
                loop assigns a, acc[b][0 .. VD_W - 1];
                loop variant VD_W - a; */
            for (size_t a = 0; a < VD_W; a++) acc[b][a] = vd_fma(x[a], w, acc[b][a]);
        }
    }
    dot_put(ni, nj, tj, acc, Z, rs, cs, add);
}

/* dot_tile, with constant sizes for the whole tiles (ni == VD_W and nj the tile's width): the
 * compiler then keeps the tile in registers */
/*@ requires ni: 1 <= ni <= VD_W;
    requires nj: 1 <= nj <= TJMAX;
    requires cols: c0 <= c1 <= d;
    requires dims: moem_dims(ni, d) && moem_dims(nj, d);
    requires span: (ni - 1) * rs + (nj - 1) * cs <= moem_max_elems;
    requires valid_X: \valid_read(X + (0 .. ni * d - 1));
    requires valid_M: \valid_read(M + (0 .. nj * d - 1));
    requires valid_Z: \valid(Z + (0 .. (ni - 1) * rs + (nj - 1) * cs));
    requires sep: \separated(Z + (0 .. (ni - 1) * rs + (nj - 1) * cs),
                             X + (0 .. ni * d - 1), M + (0 .. nj * d - 1));
    assigns Z[0 .. (ni - 1) * rs + (nj - 1) * cs]; */
MOEM_TILE void dot_tile_at(size_t ni, size_t nj, int wide, size_t d, const double *X,
                           const double *M, double *Z, size_t rs, size_t cs, size_t c0,
                           size_t c1, int add)
{
    if (ni == VD_W && nj == TJW && wide)
        dot_tile(VD_W, TJW, TJW, d, X, M, Z, rs, cs, c0, c1, add);
    else if (ni == VD_W && nj == TJ && !wide)
        dot_tile(VD_W, TJ, TJ, d, X, M, Z, rs, cs, c0, c1, add);
    else
        dot_tile(ni, nj, nj, d, X, M, Z, rs, cs, c0, c1, add);
}

#if COLS_D > 0
/* Small d, column-major Z: Z[b*cs + a] = sum_{c < d} X[a*d + c] M[b*d + c] for rows a < ni <=
 * VD_W and outputs b < nj <= tj. Each VD_W x VD_W block of the rows is transposed in
 * registers, so that the lanes run across rows and no horizontal sums are needed. Rows and
 * outputs past the edge repeat the last one (computed, never stored). With room (VD_W - 1
 * readable doubles after the rows), the last block of columns is read whole, past the end of
 * each row, and its extra columns are never used: no masked loads. */
/*@ requires ni: 1 <= ni <= VD_W;
    requires nj: 1 <= nj <= tj <= TS;
    requires dims: 1 <= d && moem_dims(ni + 1, d) && moem_dims(nj, d);
    requires span: (nj - 1) * cs + ni - 1 <= moem_max_elems;
    requires valid_X: \valid_read(X + (0 .. ni * d - 1));
    requires room: room != 0 ==> \valid_read(X + (0 .. ni * d + VD_W - 2));
    requires valid_M: \valid_read(M + (0 .. nj * d - 1));
    requires valid_Z: \valid(Z + (0 .. (nj - 1) * cs + ni - 1));
    requires sep: \separated(Z + (0 .. (nj - 1) * cs + ni - 1),
                             X + (0 .. ni * d - 1), M + (0 .. nj * d - 1));
    requires sep_room: room != 0 ==>
        \separated(Z + (0 .. (nj - 1) * cs + ni - 1), X + (0 .. ni * d + VD_W - 2));
    assigns Z[0 .. (nj - 1) * cs + ni - 1]; */
MOEM_TILE void cols_tile(size_t ni, size_t nj, size_t tj, size_t d, const double *X,
                         const double *M, double *Z, size_t cs, int room)
{
    const double *xp[VD_W], *mp[TS];
    vd acc[TS];
    /*@ loop invariant 0 <= a <= VD_W;
        loop invariant \forall integer r; 0 <= r < a ==> \valid_read(xp[r] + (0 .. d - 1));
        loop invariant \forall integer r; 0 <= r < a ==>
            room != 0 ==> \valid_read(xp[r] + (0 .. d + VD_W - 2));
        loop assigns a, xp[0 .. VD_W - 1];
        loop variant VD_W - a; */
    for (size_t a = 0; a < VD_W; a++) xp[a] = X + min_sz(a, ni - 1) * d;
    /*@ loop invariant 0 <= b <= tj;
        loop invariant \forall integer r; 0 <= r < b ==> \valid_read(mp[r] + (0 .. d - 1));
        loop assigns b, mp[0 .. TS - 1], acc[0 .. TS - 1];
        loop variant tj - b; */
    for (size_t b = 0; b < tj; b++) {
        mp[b] = M + min_sz(b, nj - 1) * d;
        acc[b] = vd_zero();
    }
    /*@ loop invariant 0 <= c < d + VD_W;
        loop assigns c, acc[0 .. TS - 1];
        loop variant d - c; */
    for (size_t c = 0; c < d; c += VD_W) {
        const size_t k = min_sz(VD_W, d - c);
        vd x[VD_W];
        /*@ loop invariant 0 <= a <= VD_W;
            loop assigns a, x[0 .. VD_W - 1];
            loop variant VD_W - a; */
        for (size_t a = 0; a < VD_W; a++)
            x[a] = k == VD_W || room ? vd_load(xp[a] + c) : vd_load_n(xp[a] + c, k);
        vd_transpose(x);                                /* x[t]: column c + t of the rows */
        /*@ loop invariant 0 <= t <= VD_W;
            loop assigns t, acc[0 .. TS - 1];
            loop variant VD_W - t; */
        for (size_t t = 0; t < VD_W; t++) {
            if (t >= k) break;
            /*@ loop invariant 0 <= b <= tj;
                loop assigns b, acc[0 .. TS - 1];
                loop variant tj - b; */
            for (size_t b = 0; b < tj; b++) acc[b] = vd_fma(x[t], vd_set1(mp[b][c + t]), acc[b]);
        }
    }
    /*@ loop invariant 0 <= b <= tj;
        loop assigns b, Z[0 .. (nj - 1) * cs + ni - 1];
        loop variant tj - b; */
    for (size_t b = 0; b < tj; b++) {
        if (b >= nj) break;
        //@ ghost moem_mul_le(b, nj - 1, cs);
        if (ni == VD_W) vd_store(Z + b * cs, acc[b]);
        else vd_store_n(Z + b * cs, acc[b], ni);
    }
}

/* Z = X M^T into column-major Z (Z[i + j*cs]) for d <= COLS_D, by cols_tile. The rows of X
 * are prefetched PF_AHEAD doubles (4 KiB) ahead: at this d the tiles finish a cache line
 * faster than the hardware prefetcher brings the next one from memory. */
#define PF_AHEAD 512
/*@ requires dims: 1 <= d <= COLS_D && moem_dims(n, d) && moem_dims(m, d);
    requires span: (n - 1) + (m - 1) * cs <= moem_max_elems;
    requires valid_X: \valid_read(X + (0 .. n * d - 1));
    requires valid_M: \valid_read(M + (0 .. m * d - 1));
    requires valid_Z: \valid(Z + (0 .. (n - 1) + (m - 1) * cs));
    requires sep: \separated(Z + (0 .. (n - 1) + (m - 1) * cs),
                             X + (0 .. n * d - 1), M + (0 .. m * d - 1));
    assigns Z[0 .. (n - 1) + (m - 1) * cs]; */
static void dots_cols(size_t n, size_t d, const double *X, size_t m, const double *M, double *Z,
                      size_t cs)
{
    /*@ loop invariant 0 <= i < n + VD_W;
        loop assigns i, Z[0 .. (n - 1) + (m - 1) * cs];
        loop variant n - i; */
    for (size_t i = 0; i < n; i += VD_W) {
        const size_t ni = min_sz(VD_W, n - i);
        //@ ghost moem_mul_le(i + ni, n, d);
        const double *Xi = X + i * d;
        const size_t rest = (n - i) * d;            /* doubles from Xi to the end of X */
        /*@ loop invariant 0 <= o <= ni * d + 7;
            loop assigns o;
            loop variant ni * d - o; */
        for (size_t o = 0; o < ni * d; o += 8)
            if (o + PF_AHEAD < rest) vd_prefetch(Xi + o + PF_AHEAD);
        const int room = rest - ni * d >= VD_W - 1;
        //@ assert rest: rest == n * d - i * d;
        /*@ loop invariant 0 <= j < m + TS;
            loop assigns j, Z[0 .. (n - 1) + (m - 1) * cs];
            loop variant m - j; */
        for (size_t j = 0; j < m; j += TS) {
            const size_t nj = min_sz(TS, m - j);
            //@ ghost moem_mul_le(j + nj, m, d);
            //@ ghost moem_mul_le(j + nj - 1, m - 1, cs);
            //@ ghost moem_mul_le(nj - 1, j + nj - 1, cs);
            if (m <= TS / 2)
                cols_tile(ni, nj, TS / 2, d, Xi, M + j * d, Z + i + j * cs, cs, room);
            else
                cols_tile(ni, nj, TS, d, Xi, M + j * d, Z + i + j * cs, cs, room);
        }
    }
}
#endif

/* Z = X M^T. Wide rows are cut into chunks of DOT_CHUNK columns so that the VD_W rows of a
 * tile stay in L1 while every output tile passes over them. */
#define DOT_CHUNK 128
/*@ requires dims: moem_dims(n, d) && moem_dims(m, d);
    requires span: (n - 1) * rs + (m - 1) * cs <= moem_max_elems;
    requires valid_X: \valid_read(X + (0 .. n * d - 1));
    requires valid_M: \valid_read(M + (0 .. m * d - 1));
    requires valid_Z: \valid(Z + (0 .. (n - 1) * rs + (m - 1) * cs));
    requires sep: \separated(Z + (0 .. (n - 1) * rs + (m - 1) * cs),
                             X + (0 .. n * d - 1), M + (0 .. m * d - 1));
    assigns Z[0 .. (n - 1) * rs + (m - 1) * cs]; */
static void dots(size_t n, size_t d, const double *X, size_t m, const double *M, double *Z,
                 size_t rs, size_t cs)
{
#if defined(MOEM_HAVE_OPENBLAS) && !defined(MOEM_KERNEL_SCALAR)
    if (USE_BLAS(d) && moem_blas_xm(n, d, X, m, M, Z, rs, cs) == 0) return;
#endif
#if COLS_D > 0
    if (rs == 1 && 1 <= d && d <= COLS_D) {
        dots_cols(n, d, X, m, M, Z, cs);
        return;
    }
#endif
    int wide = d >= 64;
    size_t tj = wide ? TJW : TJ;
    /*@ loop invariant 0 <= i < n + VD_W;
        loop assigns i, Z[0 .. (n - 1) * rs + (m - 1) * cs];
        loop variant n - i; */
    for (size_t i = 0; i < n; i += VD_W) {
        size_t ni = min_sz(VD_W, n - i);
        //@ ghost moem_mul_le(i + ni, n, d);
        //@ ghost moem_mul_le(i + ni - 1, n - 1, rs);
        const double *Xi = X + i * d;
        /*@ loop invariant 0 <= c0 < d + DOT_CHUNK;
            loop assigns c0, Z[0 .. (n - 1) * rs + (m - 1) * cs];
            loop variant d - c0; */
        for (size_t c0 = 0; c0 < d; c0 += DOT_CHUNK) {
            size_t c1 = min_sz(d, c0 + DOT_CHUNK);
            /*@ loop invariant 0 <= j < m + tj;
                loop assigns j, Z[0 .. (n - 1) * rs + (m - 1) * cs];
                loop variant m - j; */
            for (size_t j = 0; j < m; j += tj) {
                size_t nj = min_sz(tj, m - j);
                //@ ghost moem_mul_le(j + nj, m, d);
                //@ ghost moem_mul_le(j + nj - 1, m - 1, cs);
                dot_tile_at(ni, nj, wide, d, Xi, M + j * d, Z + i * rs + j * cs, rs, cs, c0, c1,
                            c0 > 0);
            }
        }
    }
}

/*@ requires sizes: moem_xm_sizes(n, d, m);
    requires valid: moem_xm_valid(n, d, X, m, M, Z);
    requires sep: moem_xm_sep(n, d, X, m, M, Z);
    assigns Z[0 .. n * m - 1]; */
static void MOEM_SFX(xm)(size_t n, size_t d, const double *X, size_t m, const double *M, double *Z)
{
    if (d == 0) { /*@ loop invariant 0 <= i <= n * m; loop assigns i, Z[0 .. n * m - 1];
                      loop variant n * m - i; */ for (size_t i = 0; i < n * m; i++) Z[i] = 0.0; return; }    /*@ assert span: (n - 1) * m + (m - 1) * 1 == n * m - 1; */

    dots(n, d, X, m, M, Z, m, 1);
}

/*@ requires valid: moem_xmt_valid(n, d, X, m, M, Zt, ld);
    assigns Zt[0 .. m * ld - 1]; */
static void MOEM_SFX(xmt)(size_t n, size_t d, const double *X, size_t m, const double *M,
                          double *Zt, size_t ld)
{
    if (d > 0) dots(n, d, X, m, M, Zt, 1, ld);
    /*@ loop invariant 0 <= j <= m;
        loop assigns j, Zt[0 .. m * ld - 1];
        loop variant m - j; */
    for (size_t j = 0; j < m; j++)
        /*@ loop invariant 0 <= i <= ld;
            loop invariant row: moem_mul(j, ld) + ld <= moem_mul(m, ld);
            loop assigns i, Zt[0 .. m * ld - 1];
            loop variant ld - i; */
        for (size_t i = d == 0 ? 0 : n; i < ld; i++) Zt[j * ld + i] = 0.0;
}

/* G[b*d + c0 + t*VD_W + l] += lane l of acc[b][t] for b < nj, t < tc, l < k[t]: the stores
 * of atx_tile */
/*@ requires tc: 1 <= tc <= TC;
    requires outs: 1 <= nj <= TJA && moem_dims(nj, d);
    requires col: c0 < d;
    requires lanes: \valid_read(k + (0 .. TC - 1)) && \forall integer s; 0 <= s < tc ==>
                      k[s] <= VD_W && (k[s] == 0 || c0 + s * VD_W + k[s] <= d);
    requires valid_acc: \valid_read(acc + (0 .. TJA - 1));
    requires valid_G: \valid(G + (0 .. nj * d - 1));
    requires sep: \separated(G + (0 .. nj * d - 1), acc + (0 .. TJA - 1));
    assigns G[0 .. nj * d - 1]; */
MOEM_TILE void atx_put(size_t nj, size_t tc, size_t d, size_t c0, const size_t *k, vd (*acc)[TC],
                       double *G)
{
    /*@ loop invariant 0 <= b <= nj;
        loop assigns b, G[0 .. nj * d - 1];
        loop variant nj - b; */
    for (size_t b = 0; b < nj; b++) {
        //@ ghost moem_mul_le(b + 1, nj, d);
        double *g = G + b * d + c0;
        /*@ loop invariant 0 <= t <= tc;
            loop assigns t, G[0 .. nj * d - 1];
            loop variant tc - t; */
        for (size_t t = 0; t < tc; t++)
            vd_store_n(g + t * VD_W, vd_add(vd_load_n(g + t * VD_W, k[t]), acc[b][t]), k[t]);
    }
}

/* G_{j0+b}[c0 ..] += sum_i A(i, j0+b) x_i[c0 ..] for b < nj, over tc vectors of columns (the
 * last one possibly partial). A(i, j) = A[i*ra + j*ca]. nj and tc are constants at each call,
 * so that the tile stays in registers and does no work for outputs or columns it lacks. */
/*@ requires tc: 1 <= tc <= TC;
    requires rows: 1 <= n && moem_dims(n, d);
    requires outs: 1 <= nj <= TJA && moem_dims(nj, d);
    requires col: c0 < d;
    requires span: (n - 1) * ra + (nj - 1) * ca <= moem_max_elems;
    requires valid_X: \valid_read(X + (0 .. n * d - 1));
    requires valid_A: \valid_read(A + (0 .. (n - 1) * ra + (nj - 1) * ca));
    requires valid_G: \valid(G + (0 .. nj * d - 1));
    requires sep: \separated(G + (0 .. nj * d - 1), X + (0 .. n * d - 1),
                             A + (0 .. (n - 1) * ra + (nj - 1) * ca));
    assigns G[0 .. nj * d - 1]; */
MOEM_TILE void atx_tile(size_t n, size_t d, const double *X, size_t nj, size_t tc, const double *A,
                        size_t ra, size_t ca, double *G, size_t c0)
{
    vd acc[TJA][TC];
    size_t k[TC];
    int full = c0 + tc * VD_W <= d;
    /*@ loop invariant 0 <= t <= tc;
        loop invariant \forall integer s; 0 <= s < t ==> k[s] <= VD_W && (k[s] == 0 || c0 + s * VD_W + k[s] <= d);
        loop assigns t, k[0 .. TC - 1];
        loop variant tc - t; */
    for (size_t t = 0; t < tc; t++) k[t] = lanes_left(d, c0 + t * VD_W);
    /*@ loop invariant 0 <= b <= nj;
        loop assigns b, acc[0 .. TJA - 1][0 .. TC - 1];
        loop variant nj - b; */
    for (size_t b = 0; b < nj; b++)
        /*@ loop invariant 0 <= t <= tc;
            loop assigns t, acc[b][0 .. TC - 1];
            loop variant tc - t; */
        for (size_t t = 0; t < tc; t++) acc[b][t] = vd_zero();
    const double *ap[TJA];
    /*@ loop invariant 0 <= b <= nj;
        loop invariant \forall integer s; 0 <= s < b ==> \valid_read(ap[s] + (0 .. (n - 1) * ra));
        loop assigns b, ap[0 .. TJA - 1];
        loop variant nj - b; */
    for (size_t b = 0; b < nj; b++) {
        //@ ghost moem_mul_le(b, nj - 1, ca);
        ap[b] = A + b * ca;
    }
    /*@ loop invariant 0 <= i <= n;
        loop assigns i, acc[0 .. TJA - 1][0 .. TC - 1];
        loop variant n - i; */
    for (size_t i = 0; i < n; i++) {
        //@ ghost moem_mul_le(i + 1, n, d);
        //@ ghost moem_mul_le(i, n - 1, ra);
        const double *x = X + i * d + c0;
        vd xv[TC];
        if (full) /*@ loop invariant 0 <= t <= tc; loop assigns t, xv[0 .. TC - 1];
                      loop variant tc - t; */ for (size_t t = 0; t < tc; t++) xv[t] = vd_load(x + t * VD_W);
        else /*@ loop invariant 0 <= t <= tc; loop assigns t, xv[0 .. TC - 1];
                  loop variant tc - t; */ for (size_t t = 0; t < tc; t++) xv[t] = vd_load_n(x + t * VD_W, k[t]);
        /*@ loop invariant 0 <= b <= nj;
            loop assigns b, acc[0 .. TJA - 1][0 .. TC - 1];
            loop variant nj - b; */
        for (size_t b = 0; b < nj; b++) {
            vd av = vd_set1(ap[b][i * ra]);
            /*@ loop invariant 0 <= t <= tc;
                loop assigns t, acc[b][0 .. TC - 1];
                loop variant tc - t; */
            for (size_t t = 0; t < tc; t++) acc[b][t] = vd_fma(av, xv[t], acc[b][t]);
        }
    }
    atx_put(nj, tc, d, c0, k, acc, G);
}

/* atx_tile with its nj outputs and its tc column vectors (the full TC, or the last one, two or
 * three of a row) as constants: a variable tc does not stay in registers. */
#define ATX_TILE(NJ, TCC) atx_tile(n, d, X, NJ, TCC, A, ra, ca, G, c0)
#define ATX_TILE_TC(NJ)                                                      \
    do {                                                                     \
        if (tc >= TC) ATX_TILE(NJ, TC);                                      \
        else if (tc == 1) ATX_TILE(NJ, 1);                                   \
        else if (tc == 2) ATX_TILE(NJ, 2);                                   \
        else if (TC > 3 && tc == 3) ATX_TILE(NJ, 3);                         \
        else ATX_TILE(NJ, tc);                                               \
    } while (0)
/*@ requires rows: 1 <= n && moem_dims(n, d);
    requires outs: 1 <= nj <= TJA && moem_dims(nj, d);
    requires col: c0 < d;
    requires span: (n - 1) * ra + (nj - 1) * ca <= moem_max_elems;
    requires valid_X: \valid_read(X + (0 .. n * d - 1));
    requires valid_A: \valid_read(A + (0 .. (n - 1) * ra + (nj - 1) * ca));
    requires valid_G: \valid(G + (0 .. nj * d - 1));
    requires sep: \separated(G + (0 .. nj * d - 1), X + (0 .. n * d - 1),
                             A + (0 .. (n - 1) * ra + (nj - 1) * ca));
    assigns G[0 .. nj * d - 1]; */
MOEM_TILE void atx_tile_at(size_t n, size_t d, const double *X, size_t nj, const double *A,
                           size_t ra, size_t ca, double *G, size_t c0)
{
    size_t left = (d - c0 + VD_W - 1) / VD_W, tc = left < TC ? left : TC;
    switch (nj) {
    case 1: ATX_TILE_TC(1); break;
    case 2: ATX_TILE_TC(2); break;
#if TJA > 2
    case 3: ATX_TILE_TC(3); break;
    case 4: ATX_TILE_TC(4); break;
#endif
#if TJA > 4
    case 5: ATX_TILE_TC(5); break;
    case 6: ATX_TILE_TC(6); break;
#endif
    default: atx_tile(n, d, X, nj, tc, A, ra, ca, G, c0); break;
    }
}
#undef ATX_TILE_TC
#undef ATX_TILE

/*@ requires dims: moem_dims(n, d) && moem_dims(m, d);
    requires span: (n - 1) * ra + (m - 1) * ca <= moem_max_elems;
    requires valid_X: \valid_read(X + (0 .. n * d - 1));
    requires valid_A: \valid_read(A + (0 .. (n - 1) * ra + (m - 1) * ca));
    requires valid_G: \valid(G + (0 .. m * d - 1));
    requires sep: \separated(G + (0 .. m * d - 1), X + (0 .. n * d - 1),
                             A + (0 .. (n - 1) * ra + (m - 1) * ca));
    assigns G[0 .. m * d - 1]; */
static void atx_any(size_t n, size_t d, const double *X, size_t m, const double *A, size_t ra,
                    size_t ca, double *G)
{
#if defined(MOEM_HAVE_OPENBLAS) && !defined(MOEM_KERNEL_SCALAR)
    if (USE_BLAS(d) && moem_blas_atx(n, d, X, m, A, ra, ca, G) == 0) return;
#endif
    size_t rb = row_block(d);
    /*@ loop invariant 0 <= i < n + rb;
        loop assigns i, G[0 .. m * d - 1];
        loop variant n - i; */
    for (size_t i = 0; i < n; i += rb) {          /* rows stay in cache across the tiles */
        size_t ni = min_sz(rb, n - i);
        //@ ghost moem_mul_le(i + ni, n, d);
        //@ ghost moem_mul_le(i + ni - 1, n - 1, ra);
        /*@ loop invariant 0 <= j < m + TJA;
            loop assigns j, G[0 .. m * d - 1];
            loop variant m - j; */
        for (size_t j = 0; j < m; j += TJA)
            /*@ loop invariant 0 <= c < d + TC * VD_W;
                loop assigns c, G[0 .. m * d - 1];
                loop variant d - c; */
            for (size_t c = 0; c < d; c += TC * VD_W) {
                const size_t nj = min_sz(TJA, m - j);
                //@ ghost moem_mul_le(j + nj, m, d);
                //@ ghost moem_mul_le(j + nj - 1, m - 1, ca);
                atx_tile_at(ni, d, X + i * d, nj, A + i * ra + j * ca, ra, ca, G + j * d, c);
            }
    }
}

/*@ requires sizes: moem_xm_sizes(n, d, m);
    requires valid: moem_atx_valid(n, d, X, m, A, G);
    requires sep: moem_atx_sep(n, d, X, m, A, G);
    assigns G[0 .. m * d - 1]; */
static void MOEM_SFX(atx)(size_t n, size_t d, const double *X, size_t m, const double *A, double *G)
{
    atx_any(n, d, X, m, A, m, 1, G);
}

/*@ requires valid: moem_atxt_valid(n, d, X, m, At, ld, G);
    assigns G[0 .. m * d - 1]; */
static void MOEM_SFX(atxt)(size_t n, size_t d, const double *X, size_t m, const double *At,
                           size_t ld, double *G)
{
    atx_any(n, d, X, m, At, 1, ld, G);
}

/* G[(a0+a)*d + c0 + t*VD_W + l] += lane l of acc[a][t] for a < na, t < tc, l < k[t], where the
 * column is on or above the diagonal: the stores of wgram_tile */
/*@ requires tc: 1 <= tc <= TC;
    requires dims: moem_dims(d, d);
    requires diag: 1 <= na <= TI && a0 + na <= d;
    requires col: c0 < d;
    requires lanes: \valid_read(k + (0 .. TC - 1)) && \forall integer s; 0 <= s < tc ==>
                      k[s] <= VD_W && (k[s] == 0 || c0 + s * VD_W + k[s] <= d);
    requires valid_acc: \valid_read(acc + (0 .. TI - 1));
    requires valid_G: \valid(G + (0 .. d * d - 1));
    requires sep: \separated(G + (0 .. d * d - 1), acc + (0 .. TI - 1));
    assigns G[0 .. d * d - 1]; */
MOEM_TILE void wgram_put(size_t d, size_t a0, size_t na, size_t c0, size_t tc, const size_t *k,
                         vd (*acc)[TC], double *G)
{
    /*@ loop invariant 0 <= a <= na;
        loop assigns a, G[0 .. d * d - 1];
        loop variant na - a; */
    for (size_t a = 0; a < na; a++) {
        //@ ghost moem_mul_le(a0 + a + 1, d, d);
        double *g = G + (a0 + a) * d;
        /*@ loop invariant 0 <= t <= tc;
            loop assigns t, G[0 .. d * d - 1];
            loop variant tc - t; */
        for (size_t t = 0; t < tc; t++) {
            size_t c = c0 + t * VD_W;
            if (c >= a0 + a && k[t] == VD_W) {
                vd_store(g + c, vd_add(vd_load(g + c), acc[a][t]));
            } else {
                double tmp[VD_W];
                vd_store(tmp, acc[a][t]);
                /*@ loop invariant 0 <= l <= k[t];
                    loop assigns l, G[0 .. d * d - 1];
                    loop variant k[t] - l; */
                for (size_t l = 0; l < k[t]; l++)
                    if (c + l >= a0 + a) g[c + l] += tmp[l];
            }
        }
    }
}

/* Upper-triangle tile of the weighted Gram matrix: rows a0 .. a0+na-1 (na <= TI), columns
 * c0 .. c0 + tc*VD_W - 1 (tc <= TC, a constant at each call so that the tile stays in
 * registers); only entries with b >= a and b < d are updated. */
/*@ requires tc: 1 <= tc <= TC;
    requires rows: 1 <= n && moem_dims(n, d) && moem_dims(d, d);
    requires diag: 1 <= na <= TI && a0 + na <= d;
    requires col: c0 < d;
    requires valid_X: \valid_read(X + (0 .. n * d - 1));
    requires valid_w: \valid_read(w + (0 .. n - 1));
    requires valid_G: \valid(G + (0 .. d * d - 1));
    requires sep: \separated(G + (0 .. d * d - 1), X + (0 .. n * d - 1), w + (0 .. n - 1));
    assigns G[0 .. d * d - 1]; */
MOEM_TILE void wgram_tile(size_t n, size_t d, const double *X, const double *w, size_t a0,
                          size_t na, size_t c0, size_t tc, double *G)
{
    vd acc[TI][TC];
    size_t k[TC], ar[TI];
    int full = c0 + tc * VD_W <= d;
    /*@ loop invariant 0 <= t <= tc;
        loop invariant \forall integer s; 0 <= s < t ==> k[s] <= VD_W && (k[s] == 0 || c0 + s * VD_W + k[s] <= d);
        loop assigns t, k[0 .. TC - 1];
        loop variant tc - t; */
    for (size_t t = 0; t < tc; t++) k[t] = lanes_left(d, c0 + t * VD_W);
    /*@ loop invariant 0 <= a <= TI;
        loop invariant \forall integer s; 0 <= s < a ==> a0 <= ar[s] < a0 + na;
        loop assigns a, ar[0 .. TI - 1];
        loop variant TI - a; */
    for (size_t a = 0; a < TI; a++) ar[a] = a0 + min_sz(a, na - 1);
    /*@ loop invariant 0 <= a <= TI;
        loop assigns a, acc[0 .. TI - 1][0 .. TC - 1];
        loop variant TI - a; */
    for (size_t a = 0; a < TI; a++)
        /*@ loop invariant 0 <= t <= tc;
            loop assigns t, acc[a][0 .. TC - 1];
            loop variant tc - t; */
        for (size_t t = 0; t < tc; t++) acc[a][t] = vd_zero();
    /*@ loop invariant 0 <= i <= n;
        loop assigns i, acc[0 .. TI - 1][0 .. TC - 1];
        loop variant n - i; */
    for (size_t i = 0; i < n; i++) {
        //@ ghost moem_mul_le(i + 1, n, d);
        const double *x = X + i * d;
        double wi = w[i];
        vd xv[TC];
        if (full) /*@ loop invariant 0 <= t <= tc; loop assigns t, xv[0 .. TC - 1];
                      loop variant tc - t; */ for (size_t t = 0; t < tc; t++) xv[t] = vd_load(x + c0 + t * VD_W);
        else /*@ loop invariant 0 <= t <= tc; loop assigns t, xv[0 .. TC - 1];
                  loop variant tc - t; */ for (size_t t = 0; t < tc; t++) xv[t] = vd_load_n(x + c0 + t * VD_W, k[t]);
        /*@ loop invariant 0 <= a <= TI;
            loop assigns a, acc[0 .. TI - 1][0 .. TC - 1];
            loop variant TI - a; */
        for (size_t a = 0; a < TI; a++) {
            vd xa = vd_set1(wi * x[ar[a]]);
            /*@ loop invariant 0 <= t <= tc;
                loop assigns t, acc[a][0 .. TC - 1];
                loop variant tc - t; */
            for (size_t t = 0; t < tc; t++) acc[a][t] = vd_fma(xa, xv[t], acc[a][t]);
        }
    }
    wgram_put(d, a0, na, c0, tc, k, acc, G);
}

/* One tile with tc = the column vectors left (at most TC), each size a separate constant. */
/*@ requires rows: 1 <= n && moem_dims(n, d) && moem_dims(d, d);
    requires diag: 1 <= na <= TI && a0 + na <= d;
    requires col: c0 < d;
    requires valid_X: \valid_read(X + (0 .. n * d - 1));
    requires valid_w: \valid_read(w + (0 .. n - 1));
    requires valid_G: \valid(G + (0 .. d * d - 1));
    requires sep: \separated(G + (0 .. d * d - 1), X + (0 .. n * d - 1), w + (0 .. n - 1));
    assigns G[0 .. d * d - 1]; */
MOEM_TILE void wgram_tile_at(size_t n, size_t d, const double *X, const double *w, size_t a0,
                             size_t na, size_t c0, double *G)
{
    size_t left = (d - c0 + VD_W - 1) / VD_W;
    if (left >= TC) wgram_tile(n, d, X, w, a0, na, c0, TC, G);
#if TC > 2
    else if (left == 2) wgram_tile(n, d, X, w, a0, na, c0, 2, G);
#endif
#if TC > 1
    else if (left == 1) wgram_tile(n, d, X, w, a0, na, c0, 1, G);
#endif
    else wgram_tile(n, d, X, w, a0, na, c0, left, G);
}

/*@ requires sizes: moem_wgram_sizes(n, d);
    requires valid: moem_wgram_valid(n, d, X, w, G);
    requires sep: moem_wgram_sep(n, d, X, w, G);
    assigns G[0 .. d * d - 1]; */
static void MOEM_SFX(wgram)(size_t n, size_t d, const double *X, const double *w, double *G)
{
    size_t rb = row_block(d);
    /*@ loop invariant 0 <= i < n + rb;
        loop assigns i, G[0 .. d * d - 1];
        loop variant n - i; */
    for (size_t i = 0; i < n; i += rb) {          /* rows stay in cache across the tiles */
        size_t ni = min_sz(rb, n - i);
        //@ ghost moem_mul_le(i + ni, n, d);
        /*@ loop invariant 0 <= a < d + TI;
            loop assigns a, G[0 .. d * d - 1];
            loop variant d - a; */
        for (size_t a = 0; a < d; a += TI) {
            size_t na = min_sz(TI, d - a);
            size_t c0 = a / VD_W * VD_W;          /* first vector touching the diagonal */
            /*@ loop invariant c0 <= c < d + TC * VD_W;
                loop assigns c, G[0 .. d * d - 1];
                loop variant d - c; */
            for (size_t c = c0; c < d; c += TC * VD_W) {
                if (na == TI) wgram_tile_at(ni, d, X + i * d, w + i, a, TI, c, G);
                else wgram_tile_at(ni, d, X + i * d, w + i, a, na, c, G);
            }
        }
    }
}

/* Column-major softmax with an implicit zero logit, vectors across rows (moem_ops.h). */
/*@ requires block: moem_block(n, J, ld);
    requires valid_Zt: \valid(Zt + (0 .. J * ld - 1));
    requires valid_lse: \valid(lse + (0 .. (n + 7) / 8 * 8 - 1));
    requires sep: \separated(Zt + (0 .. J * ld - 1), lse + (0 .. (n + 7) / 8 * 8 - 1));
    assigns Zt[0 .. J * ld - 1], lse[0 .. (n + 7) / 8 * 8 - 1]; */
static void MOEM_SFX(softmax0_cols)(size_t n, size_t J, double *Zt, size_t ld, double *lse)
{
    const vd zero = vd_zero(), one = vd_set1(1.0);
    /*@ loop invariant 0 <= i < n + VD_W;
        loop invariant i % VD_W == 0;
        loop assigns i, Zt[0 .. J * ld - 1], lse[0 .. (n + 7) / 8 * 8 - 1];
        loop variant n - i; */
    for (size_t i = 0; i < n; i += VD_W) {
        vd mx = zero;
        /*@ loop invariant 0 <= q <= J;
            loop invariant q < J ==> moem_mul(q, ld) + ld <= moem_mul(J, ld);
            loop assigns q, mx;
            loop variant J - q; */
        for (size_t q = 0; q < J; q++) mx = vd_max(mx, vd_load(Zt + q * ld + i));
        vd s = vd_exp(vd_sub(zero, mx));
        /*@ loop invariant 0 <= q <= J;
            loop invariant q < J ==> moem_mul(q, ld) + ld <= moem_mul(J, ld);
            loop assigns q, s, Zt[0 .. J * ld - 1];
            loop variant J - q; */
        for (size_t q = 0; q < J; q++) {
            vd ex = vd_exp(vd_sub(vd_load(Zt + q * ld + i), mx));
            vd_store(Zt + q * ld + i, ex);
            s = vd_add(s, ex);
        }
        vd inv = vd_div(one, s);
        /*@ loop invariant 0 <= q <= J;
            loop invariant q < J ==> moem_mul(q, ld) + ld <= moem_mul(J, ld);
            loop assigns q, Zt[0 .. J * ld - 1];
            loop variant J - q; */
        for (size_t q = 0; q < J; q++) vd_store(Zt + q * ld + i, vd_mul(vd_load(Zt + q * ld + i), inv));
        vd_store(lse + i, vd_add(mx, vd_log(s)));
    }
}

/* ---- the fused E-step: one vector of rows (i .. i + VD_W - 1) of column-major blocks ---- */

/* max of lo and the m columns Z[q*ld + i] */
/*@ requires cols: moem_dims(m, ld) && i + VD_W <= ld;
    requires valid_Z: \valid_read(Z + (0 .. m * ld - 1));
    assigns \nothing; */
MOEM_TILE vd col_max(size_t m, const double *Z, size_t ld, size_t i, vd lo)
{
    vd mx = lo;
    /*@ loop invariant 0 <= q <= m;
        loop invariant q < m ==> moem_mul(q, ld) + ld <= moem_mul(m, ld);
        loop assigns q, mx;
        loop variant m - q; */
    for (size_t q = 0; q < m; q++) mx = vd_max(mx, vd_load(Z + q * ld + i));
    return mx;
}

/* E[q*ld + i] = exp(Z[q*ld + i] - sub) for q < m (E may be Z); returns their sum */
/*@ requires cols: moem_dims(m, ld) && i + VD_W <= ld;
    requires valid_Z: \valid_read(Z + (0 .. m * ld - 1));
    requires valid_E: \valid(E + (0 .. m * ld - 1));
    assigns E[0 .. m * ld - 1]; */
MOEM_TILE vd col_exp(size_t m, const double *Z, double *E, size_t ld, size_t i, vd sub)
{
    vd s = vd_zero();
    /*@ loop invariant 0 <= q <= m;
        loop invariant q < m ==> moem_mul(q, ld) + ld <= moem_mul(m, ld);
        loop assigns q, s, E[0 .. m * ld - 1];
        loop variant m - q; */
    for (size_t q = 0; q < m; q++) {
        vd ex = vd_exp(vd_sub(vd_load(Z + q * ld + i), sub));
        vd_store(E + q * ld + i, ex);
        s = vd_add(s, ex);
    }
    return s;
}

/* E[q*ld + i] *= inv for q < m, zero in the lanes of dead */
/*@ requires cols: moem_dims(m, ld) && i + VD_W <= ld;
    requires valid_E: \valid(E + (0 .. m * ld - 1));
    assigns E[0 .. m * ld - 1]; */
MOEM_TILE void col_scale(size_t m, double *E, size_t ld, size_t i, vd inv, vm dead)
{
    /*@ loop invariant 0 <= q <= m;
        loop invariant q < m ==> moem_mul(q, ld) + ld <= moem_mul(m, ld);
        loop assigns q, E[0 .. m * ld - 1];
        loop variant m - q; */
    for (size_t q = 0; q < m; q++)
        vd_store(E + q * ld + i, vd_select(dead, vd_zero(), vd_mul(vd_load(E + q * ld + i), inv)));
}

/* Softmax over m columns (E may be Z): E = exp(Z - max) / sum, zero where every logit is -inf.
 * *mx gets the max (-inf where dead), the result is the sum of the exponentials exp(Z - max)
 * (0 where dead). Two columns (the paper's K = 2) take one exponential instead of two. */
/*@ requires cols: 1 <= m && moem_dims(m, ld) && i + VD_W <= ld;
    requires valid_Z: \valid_read(Z + (0 .. m * ld - 1));
    requires valid_E: \valid(E + (0 .. m * ld - 1));
    requires valid_mx: \valid(mx) && \separated(mx, E + (0 .. m * ld - 1));
    assigns E[0 .. m * ld - 1], *mx; */
MOEM_TILE vd col_softmax(size_t m, const double *Z, double *E, size_t ld, size_t i, vd *mx)
{
    const vd ninf = vd_set1(-INFINITY), zero = vd_zero(), one = vd_set1(1.0);
    if (m == 2) {   /* one exponential: exp(min - max) = exp(-|a - b|) */
        const vd a = vd_load(Z + i), b = vd_load(Z + ld + i), x = vd_max(a, b);
        const vm dead = vd_eq(x, ninf), a_max = vd_ge(a, b);
        const vd e = vd_exp(vd_sub(zero, vd_abs(vd_sub(a, b))));
        const vd s = vd_select(dead, zero, vd_add(one, e)), inv = vd_div(one, s);
        vd_store(E + i, vd_select(dead, zero, vd_mul(vd_select(a_max, one, e), inv)));
        vd_store(E + ld + i, vd_select(dead, zero, vd_mul(vd_select(a_max, e, one), inv)));
        *mx = x;
        return s;
    }
    vd x = col_max(m, Z, ld, i, ninf);
    vm dead = vd_eq(x, ninf);
    vd s = col_exp(m, Z, E, ld, i, vd_select(dead, zero, x));
    col_scale(m, E, ld, i, vd_div(one, s), dead);
    *mx = x;
    return s;
}

/* The sum of a softmax's exponentials without the probabilities: what col_softmax returns,
 * computed the same way (so the objective does not depend on whether they are kept). */
/*@ requires cols: 1 <= m && moem_dims(m, ld) && i + VD_W <= ld;
    requires valid_Z: \valid_read(Z + (0 .. m * ld - 1));
    requires valid_mx: \valid(mx) && \separated(mx, Z + (0 .. m * ld - 1));
    assigns *mx; */
MOEM_TILE vd col_sumexp(size_t m, const double *Z, size_t ld, size_t i, vd *mx)
{
    const vd ninf = vd_set1(-INFINITY), zero = vd_zero(), one = vd_set1(1.0);
    if (m == 2) {
        const vd a = vd_load(Z + i), b = vd_load(Z + ld + i), x = vd_max(a, b);
        const vd e = vd_exp(vd_sub(zero, vd_abs(vd_sub(a, b))));
        *mx = x;
        return vd_select(vd_eq(x, ninf), zero, vd_add(one, e));
    }
    const vd x = col_max(m, Z, ld, i, ninf), sub = vd_select(vd_eq(x, ninf), zero, x);
    vd s = zero;
    /*@ loop invariant 0 <= q <= m;
        loop invariant q < m ==> moem_mul(q, ld) + ld <= moem_mul(m, ld);
        loop assigns q, s;
        loop variant m - q; */
    for (size_t q = 0; q < m; q++) s = vd_add(s, vd_exp(vd_sub(vd_load(Z + q * ld + i), sub)));
    *mx = x;
    return s;
}

/* Log-likelihood of a softmax expert (P class scores z[c*ld + i]) at labels yv; with keep,
 * the scores are replaced by the class probabilities. */
/*@ requires cols: 1 <= P && moem_dims(P, ld) && i + VD_W <= ld;
    requires valid_z: \valid(z + (0 .. P * ld - 1));
    assigns z[0 .. P * ld - 1]; */
MOEM_TILE vd softmax_loglik(size_t P, double *z, size_t ld, size_t i, vd yv, int keep)
{
    vd sy = vd_zero(), mc, sc;
    /*@ loop invariant 0 <= c <= P;
        loop invariant c < P ==> moem_mul(c, ld) + ld <= moem_mul(P, ld);
        loop assigns c, sy;
        loop variant P - c; */
    for (size_t c = 0; c < P; c++) sy = vd_select(vd_eq(yv, vd_set1((double)c)), vd_load(z + c * ld + i), sy);
    if (keep) {
        sc = col_softmax(P, z, z, ld, i, &mc);
    } else {
        mc = col_max(P, z, ld, i, vd_set1(-INFINITY));
        sc = vd_zero();
        /*@ loop invariant 0 <= c <= P;
            loop invariant c < P ==> moem_mul(c, ld) + ld <= moem_mul(P, ld);
            loop assigns c, sc;
            loop variant P - c; */
        for (size_t c = 0; c < P; c++) sc = vd_add(sc, vd_exp(vd_sub(vd_load(z + c * ld + i), mc)));
    }
    return vd_sub(vd_sub(sy, mc), vd_log(sc));
}

/* a[c*ld + i] = r (p_c - [y == c]) from the class probabilities p in z */
/*@ requires cols: 1 <= P && moem_dims(P, ld) && i + VD_W <= ld;
    requires valid_z: \valid_read(z + (0 .. P * ld - 1));
    requires valid_a: \valid(a + (0 .. P * ld - 1));
    assigns a[0 .. P * ld - 1]; */
MOEM_TILE void softmax_coef(size_t P, const double *z, double *a, size_t ld, size_t i, vd r, vd yv)
{
    /*@ loop invariant 0 <= c <= P;
        loop invariant c < P ==> moem_mul(c, ld) + ld <= moem_mul(P, ld);
        loop assigns c, a[0 .. P * ld - 1];
        loop variant P - c; */
    for (size_t c = 0; c < P; c++) {
        vd t = vd_select(vd_eq(yv, vd_set1((double)c)), vd_set1(1.0), vd_zero());
        vd_store(a + c * ld + i, vd_mul(r, vd_sub(vd_load(z + c * ld + i), t)));
    }
}

/* Log-likelihood of expert q from its P score columns z: linear (variance s2, constant logc),
 * logistic (with a, a[i..] keeps exp(-|s|) for the gradient), softmax (with keep, the scores
 * become the class probabilities). */
/*@ requires cols: 1 <= P && moem_dims(P, ld) && i + VD_W <= ld;
    requires valid_z: \valid(z + (0 .. P * ld - 1));
    requires valid_a: a == \null || \valid(a + (0 .. P * ld - 1));
    assigns z[0 .. P * ld - 1], a[0 .. P * ld - 1]; */
MOEM_TILE vd expert_loglik(int fam, double s2, double logc, size_t P, double *z, double *a,
                           size_t ld, size_t i, vd yv)
{
    const vd sc = vd_load(z + i), zero = vd_zero();
    if (fam == 0) {
        vd r = vd_sub(yv, sc);
        return vd_sub(vd_mul(vd_mul(r, r), vd_set1(-0.5 / s2)), vd_set1(logc));
    }
    if (fam == 1) {
        vd ex = vd_exp(vd_sub(zero, vd_abs(sc)));
        if (a) vd_store(a + i, ex);
        return vd_sub(vd_mul(yv, sc), vd_add(vd_max(sc, zero), vd_log1p(ex)));
    }
    return softmax_loglik(P, z, ld, i, yv, a != 0);
}

/* Gradient coefficients of expert q with responsibilities r into its P columns a (see
 * moem_ops.h); linear experts with gs2 add their sigma^2 gradient over the live lanes. */
/*@ requires cols: 1 <= P && moem_dims(P, ld) && i + VD_W <= ld;
    requires valid_z: \valid_read(z + (0 .. P * ld - 1));
    requires valid_a: \valid(a + (0 .. P * ld - 1));
    requires valid_gs2: gs2 == \null || (\valid(gs2) && \separated(gs2, a + (0 .. P * ld - 1)));
    assigns a[0 .. P * ld - 1], *gs2; */
MOEM_TILE void expert_coef(int fam, double s2v, size_t P, const double *z, double *a, size_t ld,
                           size_t i, vd r, vd yv, vm live, double *gs2)
{
    const vd sc = vd_load(z + i), zero = vd_zero(), one = vd_set1(1.0);
    if (fam == 0) {
        const vd res = vd_sub(yv, sc), s2 = vd_set1(s2v);
        vd_store(a + i, vd_div(vd_sub(zero, vd_mul(r, res)), s2));
        if (gs2) {
            vd h = vd_sub(vd_set1(0.5 / s2v), vd_div(vd_mul(res, res), vd_mul(vd_set1(2.0), vd_mul(s2, s2))));
            *gs2 += vd_hsum(vd_select(live, vd_mul(r, h), zero));
        }
    } else if (fam == 1) {
        const vd ex = vd_load(a + i), den = vd_add(one, ex);
        const vd sig = vd_select(vd_ge(sc, zero), vd_div(one, den), vd_div(ex, den));
        vd_store(a + i, vd_mul(r, vd_sub(sig, yv)));
    } else {
        softmax_coef(P, z, a, ld, i, r, yv);
    }
}

/* What a vector of rows adds to the objective, LSE_k l_k = d + log(s / sg): d = max_k l_k -
 * max_k g_k and the sums s, sg of the responsibilities' and the gate's softmaxes (0, 1, 1 in
 * the lanes past the block's rows). */
typedef struct lse_parts { vd d, s, sg; } lse_parts;

/* Rows i .. i + VD_W - 1 of the fused E-step (live: the block's rows among them; yv: their
 * labels or responses): gate probabilities into Pt (without Pt, only their sum), expert
 * log-likelihoods, responsibilities into Rt. */
/*@ requires cols: moem_estep_cols(e, ld, Zt, Pt, Rt, At) && 1 <= e->K;
    requires sep: moem_estep_cols_sep(e, ld, Zt, Pt, Rt, At);
    requires row: i + VD_W <= ld;
    assigns Zt[0 .. (e->K + e->K * e->P) * ld - 1], Pt[0 .. e->K * ld - 1],
            Rt[0 .. e->K * ld - 1], At[0 .. (e->K + e->K * e->P) * ld - 1]; */
MOEM_TILE lse_parts estep_rows(const moem_estep_args *e, double *Zt, size_t ld, double *Pt,
                               double *Rt, double *At, size_t i, vm live, vd yv)
{
    const size_t K = e->K, P = e->P;
    const int fam = e->family;
    //@ ghost moem_mul_le(1, P, K);
    //@ ghost moem_mul_le(K, K + K * P, ld);
    vd mxg, mx;
    const vd sg = Pt ? col_softmax(K, Zt, Pt, ld, i, &mxg)      /* gate: pi = softmax(g) */
                     : col_sumexp(K, Zt, ld, i, &mxg);
    /* l_k + LSE_j g_j = g_k + log e_k: the gate's LSE cancels from r, enters the objective once */
    /*@ loop invariant 0 <= q <= K;
        loop assigns q, Rt[0 .. K * ld - 1], Zt[0 .. (K + K * P) * ld - 1],
                     At[0 .. (K + K * P) * ld - 1];
        loop variant K - q; */
    for (size_t q = 0; q < K; q++) {
        //@ ghost moem_mul_le(q + 1, K, P);
        //@ ghost moem_mul_le(K + q * P + P, K + K * P, ld);
        //@ ghost moem_mul_le(q + 1, K, ld);
        const size_t c = (K + q * P) * ld;
        vd le = expert_loglik(fam, fam == 0 ? e->s2[q] : 0.0, fam == 0 ? e->logc[q] : 0.0, P,
                              Zt + c, At ? At + c : 0, ld, i, yv);
        vd_store(Rt + q * ld + i, vd_add(vd_load(Zt + q * ld + i), le));
    }
    /* responsibilities r = softmax(l); LSE_k l_k = (mx - mxg) + log(s / sg) */
    const vd s = col_softmax(K, Rt, Rt, ld, i, &mx);
    const vd zero = vd_zero(), one = vd_set1(1.0);
    lse_parts r = {vd_select(live, vd_sub(mx, mxg), zero), vd_select(live, s, one),
                   vd_select(live, sg, one)};
    return r;
}

/* The gradient coefficients of rows i .. i + VD_W - 1: gate pi - r, then the experts' */
/*@ requires cols: moem_estep_cols(e, ld, Zt, Pt, Rt, At) && 1 <= e->K;
    requires grad: Pt != \null && At != \null;
    requires sep: moem_estep_cols_sep(e, ld, Zt, Pt, Rt, At) &&
                  moem_estep_gs2(e, ld, Zt, Pt, Rt, At, gs2);
    requires row: i + VD_W <= ld;
    assigns At[0 .. (e->K + e->K * e->P) * ld - 1], gs2[0 .. e->K - 1]; */
MOEM_TILE void estep_coefs(const moem_estep_args *e, double *Zt, size_t ld, double *Pt,
                           double *Rt, double *At, double *gs2, size_t i, vm live, vd yv)
{
    const size_t K = e->K, P = e->P;
    const int fam = e->family;
    //@ ghost moem_mul_le(1, P, K);
    //@ ghost moem_mul_le(K, K + K * P, ld);
    /*@ loop invariant 0 <= q <= K;
        loop assigns q, At[0 .. (K + K * P) * ld - 1], gs2[0 .. K - 1];
        loop variant K - q; */
    for (size_t q = 0; q < K; q++) {
        //@ ghost moem_mul_le(q + 1, K, P);
        //@ ghost moem_mul_le(K + q * P + P, K + K * P, ld);
        //@ ghost moem_mul_le(q + 1, K, ld);
        const size_t c = (K + q * P) * ld;
        const vd r = vd_load(Rt + q * ld + i);
        vd_store(At + q * ld + i, vd_sub(vd_load(Pt + q * ld + i), r));
        expert_coef(fam, fam == 0 ? e->s2[q] : 0.0, P, Zt + c, At + c, ld, i, r, yv, live,
                    gs2 ? gs2 + q : 0);
    }
}

/* The fused E-step of one block, vectors across rows (contract in moem_ops.h): per vector of
 * rows estep_rows, then with At estep_coefs. The objective's logs are taken once per
 * LOG_EVERY vectors of rows, log(prod s / prod sg): the sums s and sg lie in [1, K] for live
 * rows and K <= SIZE_MAX / 8 < 2^61 (K x d doubles fit in memory), so a product of 16 stays
 * below 2^976 and one division and one log serve 16 vectors. */
#define LOG_EVERY 16
/*@ requires valid: moem_estep_valid(e, n, y, Zt, ld, Pt, Rt, At, gs2);
    requires sep: moem_estep_sep(e, n, y, Zt, ld, Pt, Rt, At, gs2);
    assigns Zt[0 .. (e->K + e->K * e->P) * ld - 1], Pt[0 .. e->K * ld - 1],
            Rt[0 .. e->K * ld - 1], At[0 .. (e->K + e->K * e->P) * ld - 1], gs2[0 .. e->K - 1]; */
static double MOEM_SFX(estep)(const moem_estep_args *e, size_t n, const double *y, double *Zt,
                              size_t ld, double *Pt, double *Rt, double *At, double *gs2)
{
    if (e->K == 0) return 0.0;
    const vd one = vd_set1(1.0);
    vd tot = vd_zero(), prod = one, prodg = one;
    unsigned nprod = 0;
    /*@ loop invariant 0 <= i < n + VD_W;
        loop invariant i % VD_W == 0;
        loop invariant nprod < LOG_EVERY;
        loop assigns i, tot, prod, prodg, nprod, Zt[0 .. (e->K + e->K * e->P) * ld - 1],
                     Pt[0 .. e->K * ld - 1], Rt[0 .. e->K * ld - 1],
                     At[0 .. (e->K + e->K * e->P) * ld - 1], gs2[0 .. e->K - 1];
        loop variant n - i; */
    for (size_t i = 0; i < n; i += VD_W) {
        //@ assert lanes: i + VD_W <= ld;
        const size_t k = min_sz(VD_W, n - i);
        const vm live = vd_ge(vd_load_n(lane_ones, k), one);      /* lanes of real rows */
        const vd yv = vd_load_n(y + i, k);
        const lse_parts p = estep_rows(e, Zt, ld, Pt, Rt, At, i, live, yv);
        tot = vd_add(tot, p.d);
        prod = vd_mul(prod, p.s);
        prodg = vd_mul(prodg, p.sg);
        if (++nprod == LOG_EVERY) {
            tot = vd_add(tot, vd_log(vd_div(prod, prodg)));
            prod = prodg = one;
            nprod = 0;
        }
        if (At) estep_coefs(e, Zt, ld, Pt, Rt, At, gs2, i, live, yv);
    }
    return vd_hsum(vd_add(tot, vd_log(vd_div(prod, prodg))));
}

/* Rows from columns (contract in moem_ops.h); two columns (the paper's K) are interleaved a
 * vector of rows at a time. */
/*@ requires valid: moem_rows_valid(n, K, Rt, ld, R);
    assigns R[0 .. n * K - 1]; */
static void MOEM_SFX(to_rows)(size_t n, size_t K, const double *Rt, size_t ld, double *R)
{
    size_t i = 0;
    if (K == 2)
        /*@ loop invariant 0 <= i <= n && i % VD_W == 0;
            loop assigns i, R[0 .. n * K - 1];
            loop variant n - i; */
        for (; i + VD_W <= n; i += VD_W) vd_interleave(vd_load(Rt + i), vd_load(Rt + ld + i), R + 2 * i);
    /*@ loop invariant i0: 0 <= i <= n;
        loop assigns i, R[0 .. n * K - 1];
        loop variant n - i; */
    for (; i < n; i++)
        /*@ loop invariant 0 <= k <= K;
            loop assigns k, R[0 .. n * K - 1];
            loop variant K - k; */
        for (size_t k = 0; k < K; k++) {
            //@ ghost moem_mul_le(i + 1, n, K);
            //@ ghost moem_mul_le(k + 1, K, ld);
            R[i * K + k] = Rt[k * ld + i];
        }
}

void MOEM_SFX(moem_ops_fill)(moem_ops *o)
{
#if !defined(MOEM_KERNEL_SCALAR)
    /* the scalar table keeps its reference xm / atx / wgram / softmax0_cols */
    o->xm = MOEM_SFX(xm);
    o->atx = MOEM_SFX(atx);
    o->wgram = MOEM_SFX(wgram);
    o->softmax0_cols = MOEM_SFX(softmax0_cols);
#else
    (void)MOEM_SFX(xm); (void)MOEM_SFX(atx); (void)MOEM_SFX(wgram);
    (void)MOEM_SFX(softmax0_cols);
#endif
    o->xmt = MOEM_SFX(xmt);
    o->atxt = MOEM_SFX(atxt);
    o->estep = MOEM_SFX(estep);
    o->to_rows = MOEM_SFX(to_rows);
}
