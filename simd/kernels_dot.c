/* The forward products, compiled once per ISA (simd/kernel_common.h): X M^T by register tiles
 * (dot_tile; cols_tile for narrow rows where COLS_D > 0) into row-major Z (xm) or column-major
 * blocks (xm_cols), and the column-major softmax with an implicit zero logit (softmax0_cols).
 * Proof runs <isa>_dot and scalar_dot. */
#include "kernel_common.h"

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

/*@ requires valid: moem_xm_cols_valid(n, d, X, m, M, Zt, ld);
    assigns Zt[0 .. m * ld - 1]; */
static void MOEM_SFX(xm_cols)(size_t n, size_t d, const double *X, size_t m, const double *M,
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

void MOEM_SFX(moem_ops_fill_dot)(moem_ops *o)
{
#if !defined(MOEM_KERNEL_SCALAR)
    o->xm = MOEM_SFX(xm);
    o->softmax0_cols = MOEM_SFX(softmax0_cols);
#else
    (void)MOEM_SFX(xm);
    (void)MOEM_SFX(softmax0_cols);
#endif
    o->xm_cols = MOEM_SFX(xm_cols);
}
