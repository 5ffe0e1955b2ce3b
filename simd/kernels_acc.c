/* The accumulated products, compiled once per ISA (simd/kernel_common.h): A^T X by register
 * tiles (atx_tile) from row-major A (atx) or column-major blocks (atx_cols), the weighted Gram
 * matrix (wgram), and the table's fill function for this ISA. Proof runs <isa>_acc and
 * scalar_acc. */
#include "kernel_common.h"

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

/*@ requires valid: moem_atx_cols_valid(n, d, X, m, At, ld, G);
    assigns G[0 .. m * d - 1]; */
static void MOEM_SFX(atx_cols)(size_t n, size_t d, const double *X, size_t m, const double *At,
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

void MOEM_SFX(moem_ops_fill_acc)(moem_ops *o)
{
#if !defined(MOEM_KERNEL_SCALAR)
    o->atx = MOEM_SFX(atx);
    o->wgram = MOEM_SFX(wgram);
#else
    (void)MOEM_SFX(atx);
    (void)MOEM_SFX(wgram);
#endif
    o->atx_cols = MOEM_SFX(atx_cols);
}

/* This ISA's entries of the table, family by family (contract in moem_ops.h) */
void MOEM_SFX(moem_ops_fill)(moem_ops *o)
{
    MOEM_SFX(moem_ops_fill_dot)(o);
    MOEM_SFX(moem_ops_fill_acc)(o);
    MOEM_SFX(moem_ops_fill_estep)(o);
}
