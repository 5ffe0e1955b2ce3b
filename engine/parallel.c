/* Whole-data drivers over the kernel table, parallel across rows with OpenMP: static row
 * ranges, one per thread, per-thread partial sums merged in thread order (no reduction on
 * floats), a serial path for one thread or small problems. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "internal.h"
#ifdef MOEM_HAVE_OPENBLAS
#include <limits.h>
#include <pthread.h>
#include <cblas.h>
#endif

/* The one thread-count rule: a call's own count (moem_params.threads > 0, set by the public
 * entry points for the duration of the call on the calling thread), else the process setting
 * (moem_set_threads), else the OpenMP default (OMP_NUM_THREADS or every core). */
static int threads_wanted;                /* moem_set_threads; 0 = the OpenMP default */
static _Thread_local int call_threads;    /* moem_threads_begin; 0 = none */

void moem_set_threads(int n) { threads_wanted = n > 0 ? n : 0; }

int moem_threads_begin(int n)
{
    int outer = call_threads;
    if (n > 0) call_threads = n;
    return outer;
}

void moem_threads_end(int outer) { call_threads = outer; }

size_t moem_threads(void)
{
#ifdef _OPENMP
    int t = call_threads > 0 ? call_threads : threads_wanted > 0 ? threads_wanted : omp_get_max_threads();
    return t > 1 ? (size_t)t : 1;
#else
    return 1;
#endif
}

size_t moem_pass_threads(size_t n, size_t work_per_row)
{
#ifdef _OPENMP
    size_t t = moem_threads();
    /* below about 2e5 multiply-adds a thread costs more than it saves */
    if (t <= 1 || n * (work_per_row + 16) < 200000) return 1;
    size_t maxt = n / 64;                 /* at least 64 rows per thread */
    return t > maxt ? (maxt ? maxt : 1) : t;
#else
    (void)n; (void)work_per_row;
    return 1;
#endif
}

void moem_thread_rows(size_t n, size_t T, size_t t, size_t *lo, size_t *hi)
{
    size_t per = (n / 8 + T - 1) / T * 8;     /* rows per thread, a multiple of 8 */
    *lo = t * per < n ? t * per : n;
    *hi = (t + 1) * per < n && t + 1 < T ? (t + 1) * per : n;
}

size_t moem_block_rows(size_t d)
{
    size_t nb = 32768 / (d + 1) / 8 * 8;      /* about 256 KiB of X per block */
    return nb < 8 ? 8 : nb > 512 ? 512 : nb;
}

/* moem_rows_ws_init, moem_run_rows_ws, moem_run_rows: see internal.h */
int moem_rows_ws_init(moem_rows_ws *ws, size_t T, size_t len, size_t slen)
{
    memset(ws, 0, sizeof *ws);
    if (T < 1) T = 1;
    size_t ld = (len + 7) / 8 * 8, plen = 0, stot = 0;   /* whole cache lines per thread */
    if (T > 1 && len && (!moem_mul_size(T - 1, ld, &plen) || !(ws->part = moem_alloc_doubles(plen))))
        T = 1;                                /* out of memory: the serial path */
    if (slen && (!moem_mul_size(T, slen, &stot) || !(ws->scr = moem_alloc_doubles(stot)))) {
        moem_free(ws->part);
        ws->part = NULL;
        return -1;
    }
    ws->T = T;
    ws->len = len;
    ws->ld = ld;
    ws->slen = slen;
    return 0;
}

void moem_rows_ws_free(moem_rows_ws *ws)
{
    moem_free(ws->part);
    moem_free(ws->scr);
    memset(ws, 0, sizeof *ws);
}

int moem_run_rows_ws(size_t n, const moem_rows_ws *ws, size_t len, double *out, moem_rows_fn body,
                     const void *ctx)
{
    size_t T = ws->T, ld = ws->ld;
    if (len > ws->len || T < 1) return -1;
    if (ws->part && len)
        for (size_t t = 1; t < T; t++) memset(ws->part + (t - 1) * ld, 0, len * sizeof(double));
    int fail = 0;
    long nt = (long)T;
    /* a loop over the ranges rather than one range per team member: a smaller team than asked
     * for (a nested region, a thread limit) still runs every range, each with its own buffers */
#ifdef _OPENMP
#pragma omp parallel for num_threads((int)T) schedule(static) reduction(|| : fail) if (T > 1)
#endif
    for (long t = 0; t < nt; t++) {
        size_t lo, hi;
        moem_thread_rows(n, T, (size_t)t, &lo, &hi);
        double *o = t == 0 ? out : ws->part ? ws->part + (size_t)(t - 1) * ld : NULL;
        if (body(ctx, lo, hi, o, ws->scr ? ws->scr + (size_t)t * ws->slen : NULL)) fail = 1;
    }
    if (fail) return -1;
    for (size_t t = 1; t < T; t++)            /* merged in thread order */
        for (size_t i = 0; i < len; i++) out[i] += ws->part[(t - 1) * ld + i];
    return 0;
}

int moem_run_rows(size_t n, size_t T, size_t len, double *out, moem_rows_fn body, const void *ctx,
                  size_t slen)
{
    moem_rows_ws ws;
    if (moem_rows_ws_init(&ws, T, len, slen)) return -1;
    int rc = moem_run_rows_ws(n, &ws, len, out, body, ctx);
    moem_rows_ws_free(&ws);
    return rc;
}

/* doubles of row scratch per thread: one block of float32 rows, none for float64 data */
static size_t scratch_len(const moem_data *data)
{
    return data->Xf ? moem_block_rows(data->d) * data->d : 0;
}

typedef struct { const moem_data *data; size_t nw; const double *const *w; size_t m; const double *A; } rows_ctx;

static int wgram_rows(const void *vctx, size_t lo, size_t hi, double *G, double *scratch)
{
    const rows_ctx *c = vctx;
    const moem_ops *ops = moem_ops_get();
    size_t d = c->data->d, nb = moem_block_rows(d);
    for (size_t i0 = lo; i0 < hi; i0 += nb) {       /* each block serves every weight vector */
        size_t k = hi - i0 < nb ? hi - i0 : nb;
        const double *Xb = moem_rows(c->data, i0, k, scratch);
        for (size_t q = 0; q < c->nw; q++)
            ops->wgram(k, d, Xb, c->w[q] + i0, G + q * d * d);
    }
    return 0;
}

int moem_wgram_multi(const moem_data *data, size_t nw, const double *const *w, double *G)
{
    size_t d = data->d;
    memset(G, 0, nw * d * d * sizeof(double));
    rows_ctx c = {.data = data, .nw = nw, .w = w};
    if (moem_run_rows(data->n, moem_pass_threads(data->n, nw * d * d / 2), nw * d * d, G, wgram_rows, &c,
                 scratch_len(data)))
        return -1;
    for (size_t q = 0; q < nw; q++) {
        double *g = G + q * d * d;
        for (size_t a = 0; a < d; a++)
            for (size_t b = 0; b < a; b++) g[a * d + b] = g[b * d + a];
    }
    return 0;
}

int moem_wgram_all(const moem_data *data, const double *w, double *G)
{
    return moem_wgram_multi(data, 1, &w, G);
}

static int atx_rows(const void *vctx, size_t lo, size_t hi, double *G, double *scratch)
{
    const rows_ctx *c = vctx;
    const moem_ops *ops = moem_ops_get();
    size_t d = c->data->d;
    if (!c->data->Xf) {                              /* float64: the whole range at once */
        if (hi > lo) ops->atx(hi - lo, d, c->data->X + lo * d, c->m, c->A + lo * c->m, G);
        return 0;
    }
    size_t nb = moem_block_rows(d);
    for (size_t i0 = lo; i0 < hi; i0 += nb) {
        size_t k = hi - i0 < nb ? hi - i0 : nb;
        ops->atx(k, d, moem_rows(c->data, i0, k, scratch), c->m, c->A + i0 * c->m, G);
    }
    return 0;
}

/* moem_atx_wgram's rows: each block of X serves the products and every weight vector while it
 * is in cache; out: g (m x d) then the nw Gram matrices (upper triangles) */
static int atx_wgram_rows(const void *vctx, size_t lo, size_t hi, double *out, double *scratch)
{
    const rows_ctx *c = vctx;
    const moem_ops *ops = moem_ops_get();
    size_t d = c->data->d, nb = moem_block_rows(d);
    double *G = out + c->m * d;
    for (size_t i0 = lo; i0 < hi; i0 += nb) {
        size_t k = hi - i0 < nb ? hi - i0 : nb;
        const double *Xb = moem_rows(c->data, i0, k, scratch);
        ops->atx(k, d, Xb, c->m, c->A + i0 * c->m, out);
        for (size_t q = 0; q < c->nw; q++)
            ops->wgram(k, d, Xb, c->w[q] + i0, G + q * d * d);
    }
    return 0;
}

int moem_atx_wgram(const moem_data *data, size_t m, const double *A, double *g, size_t nw,
                   const double *const *w, double *G)
{
    size_t d = data->d, len = m * d + nw * d * d;
    double *out = moem_alloc_doubles(len);
    if (!out) return -1;
    memset(out, 0, len * sizeof(double));
    rows_ctx c = {.data = data, .nw = nw, .w = w, .m = m, .A = A};
    if (moem_run_rows(data->n, moem_pass_threads(data->n, m * d + nw * d * d / 2), len, out,
                      atx_wgram_rows, &c, scratch_len(data))) {
        moem_free(out);
        return -1;
    }
    memcpy(g, out, m * d * sizeof(double));
    for (size_t q = 0; q < nw; q++) {
        const double *u = out + m * d + q * d * d;
        double *gq = G + q * d * d;
        for (size_t a = 0; a < d; a++)
            for (size_t b = a; b < d; b++) gq[a * d + b] = gq[b * d + a] = u[a * d + b];
    }
    moem_free(out);
    return 0;
}

int moem_atx_all(const moem_data *data, size_t m, const double *A, double *G)
{
    memset(G, 0, m * data->d * sizeof(double));
    rows_ctx c = {.data = data, .m = m, .A = A};
    return moem_run_rows(data->n, moem_pass_threads(data->n, m * data->d), m * data->d, G, atx_rows, &c,
                    scratch_len(data));
}

#ifdef MOEM_HAVE_OPENBLAS
/* the engine's threads call BLAS, so OpenBLAS itself runs on one thread (as in simd/blas.c) */
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static void blas_one(void) { openblas_set_num_threads(1); }

#define SYRK_ROWS 256

typedef struct { const moem_data *data; const double *w; } syrk_ctx;

/* G (upper triangle) += sum over rows lo..hi-1 of (sqrt(w_i) x_i)(sqrt(w_i) x_i)^T, by dsyrk on
 * blocks of SYRK_ROWS scaled rows; scratch: SYRK_ROWS x d scaled rows, then (float32 data) one
 * block of widened rows */
static int syrk_rows(const void *vctx, size_t lo, size_t hi, double *G, double *scratch)
{
    const syrk_ctx *c = vctx;
    size_t d = c->data->d;
    double *Y = scratch, *Xs = c->data->Xf ? scratch + SYRK_ROWS * d : NULL;
    for (size_t i0 = lo; i0 < hi; i0 += SYRK_ROWS) {
        size_t k = hi - i0 < SYRK_ROWS ? hi - i0 : SYRK_ROWS;
        const double *Xb = moem_rows(c->data, i0, k, Xs);
        for (size_t r = 0; r < k; r++) {
            double s = sqrt(c->w[i0 + r]);
            for (size_t a = 0; a < d; a++) Y[r * d + a] = s * Xb[r * d + a];
        }
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)k, 1.0, Y, (int)d, 1.0, G,
                    (int)d);
    }
    return 0;
}
#endif

int moem_wgram_syrk(const moem_data *data, const double *w, double *G)
{
#ifdef MOEM_HAVE_OPENBLAS
    size_t n = data->n, d = data->d;
    if (d >= INT_MAX / SYRK_ROWS) return -1;
    for (size_t i = 0; i < n; i++) if (!(w[i] >= 0)) return -1;
    pthread_once(&blas_once, blas_one);
    memset(G, 0, d * d * sizeof(double));
    syrk_ctx c = {.data = data, .w = w};
    if (moem_run_rows(n, moem_pass_threads(n, d * d / 2), d * d, G, syrk_rows, &c,
                 (size_t)SYRK_ROWS * d + scratch_len(data)))
        return -1;
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b < a; b++) G[a * d + b] = G[b * d + a];
    return 0;
#else
    (void)data; (void)w; (void)G;
    return -1;
#endif
}

#ifdef MOEM_HAVE_OPENBLAS
/* LAPACK in OpenBLAS (Fortran interface) */
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dpotri_(const char *uplo, const int *n, double *a, const int *lda, int *info);
#endif

int moem_have_lapack(void)
{
#ifdef MOEM_HAVE_OPENBLAS
    return 1;
#else
    return 0;
#endif
}

int moem_spd_inverse(size_t d, double *A)
{
#ifdef MOEM_HAVE_OPENBLAS
    if (d == 0 || d >= INT_MAX) return -1;
    pthread_once(&blas_once, blas_one);
    int nn = (int)d, info = 0;
    dpotrf_("L", &nn, A, &nn, &info);                   /* column-major "L" = row-major upper */
    if (info != 0) return -1;
    dpotri_("L", &nn, A, &nn, &info);
    if (info != 0) return -1;
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b < a; b++) A[a * d + b] = A[b * d + a];
    return 0;
#else
    (void)d; (void)A;
    return -1;
#endif
}

int moem_mul_sym(size_t m, size_t d, const double *R, const double *S, double *Z)
{
#ifdef MOEM_HAVE_OPENBLAS
    if (d >= INT_MAX || m >= INT_MAX) return -1;
    pthread_once(&blas_once, blas_one);
    cblas_dsymm(CblasRowMajor, CblasRight, CblasUpper, (int)m, (int)d, 1.0, S, (int)d, R, (int)d,
                0.0, Z, (int)d);
    return 0;
#else
    (void)m; (void)d; (void)R; (void)S; (void)Z;
    return -1;
#endif
}
