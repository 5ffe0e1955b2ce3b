/* Engine internals shared by the EM path (not by the mirror-descent reference). */
#ifndef MOEM_INTERNAL_H
#define MOEM_INTERNAL_H

#include <stdio.h>
#include "base.h"
#include "moem.h"
#include "../simd/moem_ops.h"

#define MOEM_BLOCK 256   /* rows per streaming block */

/*@ // the parameter arrays of a model of K experts of P rows, d features: what the model and
    // checkpoint readers prove their writes against (runs model_arrays, checkpoint_read)
    predicate moem_model_arrays(moem_model *m, integer K, integer P, integer d) =
      1 <= K && 1 <= P && 1 <= d && K * (P * d) <= SIZE_MAX / sizeof(double) &&
      \valid(m->W + (0 .. K * d - 1)) && \valid(m->B + (0 .. K * (P * d) - 1)) &&
      \valid(m->sigma2 + (0 .. K - 1));
*/

/* n doubles (checked, 64-byte aligned, whole cache lines), NULL on overflow or failure; from
 * the calling thread's pool when one is open (engine/pool.c). Free with moem_free (or free). */
double *moem_alloc_doubles(size_t n);
void moem_free(void *block);   /* back to the open pool when it came from there, else free */
/* The scratch of one fit: between begin and end (same thread, nested pools allowed), blocks of
 * 64 KiB or more that moem_free returns are kept and handed back by moem_alloc_doubles instead
 * of being unmapped and faulted in again each iteration. End frees what it keeps. */
#define MOEM_POOL_BLOCKS 64
typedef struct moem_pool {
    void *block[MOEM_POOL_BLOCKS];
    size_t bytes[MOEM_POOL_BLOCKS];
    unsigned char used[MOEM_POOL_BLOCKS];
    size_t n;
    struct moem_pool *outer;
} moem_pool;
void moem_pool_begin(moem_pool *pool);
void moem_pool_end(moem_pool *pool);
/* pause: the pool stops serving (its blocks kept); resume: it serves this thread again. For a
 * caller that runs a fit's iterations one call at a time (the benchmarks). */
void moem_pool_pause(moem_pool *pool);
void moem_pool_resume(moem_pool *pool);

/* Rows i0 .. i0+nb-1 of X as doubles: float64 data is read in place (data->X + i0*d); the
 * rows of float32 data are widened into scratch (nb*d doubles), which is returned. Every
 * block loop over X goes through this, with a scratch buffer of one block per thread when
 * data->Xf is set (NULL is fine for float64 data); loops that hand a kernel a whole row range
 * keep doing so for float64 data and cut it into blocks for float32 data. */
const double *moem_rows_f32(const moem_data *data, size_t i0, size_t nb, double *scratch);
static inline const double *moem_rows(const moem_data *data, size_t i0, size_t nb, double *scratch)
{
    return data->Xf ? moem_rows_f32(data, i0, nb, scratch) : data->X + i0 * data->d;
}

/* Per-sample pass over all rows at the model's parameters.
 *   R   (n x K, may be NULL): responsibilities
 *   PI  (n x K, may be NULL): gate probabilities
 *   S   (n x K*P, may be NULL): expert scores b_kp . x_n
 * returns L (average negative log-likelihood). */
double moem_pass(const moem_data *data, const moem_model *m, double *R, double *PI, double *S);
/* The E-step pass of EM with inner gradient steps: responsibilities R (n x K), every score
 * Z (n x mtot, mtot = K + K*P: the gate logits, then the expert scores) and G (mtot x d,
 * overwritten) = N times the gradient of L in the full parametrisation (no pinned row zeroed,
 * no symmetric fold), which by the Fisher identity is the first inner gradient of every
 * M-step sub-problem. Returns L (NAN when memory runs out). */
double moem_pass_em(const moem_data *data, const moem_model *m, double *R, double *Z, double *G);

/* Whole-data drivers of the kernel table (engine/parallel.c): row blocks, per-thread partial
 * sums merged in a fixed order (bit-for-bit repeatable for a given thread count).
 *   G (d x d, full symmetric) = sum_i w[i] x_i x_i^T          (w: n; G is overwritten)
 *   G (m x d) = sum_i A[i*m + j] x_i                           (A: n x m; G is overwritten)
 * Each returns 0, or -1 when the row scratch of float32 data cannot be allocated (float64
 * data needs none). */
int moem_wgram_all(const moem_data *data, const double *w, double *G);
/* The same for weights w >= 0 by BLAS dsyrk on blocks of scaled rows (the gate's Hessian on
 * wide rows); -1 without OpenBLAS, with a negative weight or when memory runs out (then use
 * moem_wgram_all). */
int moem_wgram_syrk(const moem_data *data, const double *w, double *G);
int moem_atx_all(const moem_data *data, size_t m, const double *A, double *G);
/* A (d x d, SPD) replaced by its inverse (LAPACK dpotrf + dpotri); Z (m x d) = R S for a
 * symmetric S (d x d). -1 without OpenBLAS, or (inverse) when A is not positive definite. */
int moem_spd_inverse(size_t d, double *A);
int moem_have_lapack(void);                         /* 1 when the two above can succeed */
int moem_mul_sym(size_t m, size_t d, const double *R, const double *S, double *Z);

/* ---- parallel row passes (engine/parallel.c) ----------------------------------------------
 * Rows are cut into one contiguous range per thread (static, boundaries on multiples of 8) and
 * streamed in blocks of moem_block_rows(d) rows; per-thread partial sums are merged in thread
 * order, so a result is bit-for-bit repeatable for a given thread count. */
/* Threads: moem_threads() is the count every pass of the current call uses (the call's own
 * moem_params.threads when > 0, else moem_set_threads' setting, else the OpenMP default).
 * The public entry points bracket their work with moem_threads_begin(p->threads) ...
 * moem_threads_end(outer) (nested calls restore the outer count). */
int moem_threads_begin(int n);
void moem_threads_end(int outer);
size_t moem_threads(void);
size_t moem_pass_threads(size_t n, size_t work_per_row);   /* 1 below the serial threshold */
void moem_thread_rows(size_t n, size_t T, size_t t, size_t *lo, size_t *hi);
size_t moem_block_rows(size_t d);                           /* a multiple of 8 */
/* G (nw x d x d, each full symmetric) = sum_i w[q][i] x_i x_i^T for q < nw, in one pass over
 * the rows (X is read once for all weight vectors); G is overwritten. */
int moem_wgram_multi(const moem_data *data, size_t nw, const double *const *w, double *G);
/* g (m x d) = A^T X (A: n x m) and the nw Gram matrices of moem_wgram_multi, in one pass over
 * the rows (a Newton step's gradient and Hessian, the least squares' right-hand sides and
 * matrices). -1 when memory runs out. */
int moem_atx_wgram(const moem_data *data, size_t m, const double *A, double *g, size_t nw,
                   const double *const *w, double *G);
/* The one driver of every per-sample pass: run body(ctx, lo, hi, out_t, scratch_t) for
 * t < T, on T threads, each call on its moem_thread_rows range; out_t is out for t = 0 and a
 * zeroed private buffer of len doubles otherwise, added into out in thread order afterwards
 * (out accumulates: zero it first; with len 0 no sums are made and the bodies for t > 0 get
 * NULL). scratch_t: slen doubles per thread (NULL when slen is 0). A body returns 0, or -1
 * (say, memory ran out): then the call returns -1 and out is unspecified. -1 also when the
 * buffers cannot be allocated. */
typedef int (*moem_rows_fn)(const void *ctx, size_t lo, size_t hi, double *out, double *scratch);
int moem_run_rows(size_t n, size_t T, size_t len, double *out, moem_rows_fn body, const void *ctx,
                  size_t slen);
/* The same with the per-thread buffers allocated once by the caller, for many passes of one
 * shape (Newton-CG's products): moem_rows_ws_init allocates, for T threads, the partial sums
 * (len doubles, T - 1 of them; T becomes 1 when they do not fit, as in moem_run_rows) and
 * slen doubles of scratch per thread (-1 when that does not fit; ws then holds nothing);
 * moem_run_rows_ws runs a pass of ws->T threads with up to ws->len sums. */
typedef struct moem_rows_ws {
    size_t T, len, ld, slen;  /* threads, sums per thread (stride ld), scratch per thread */
    double *part, *scr;       /* (T - 1) x ld partial sums, T x slen scratch */
} moem_rows_ws;
int moem_rows_ws_init(moem_rows_ws *ws, size_t T, size_t len, size_t slen);
void moem_rows_ws_free(moem_rows_ws *ws);
int moem_run_rows_ws(size_t n, const moem_rows_ws *ws, size_t len, double *out, moem_rows_fn body,
                     const void *ctx);
/* Scores of wide rows through atx_cols on M packed transposed (engine/forward.c): moem_fwd_width
 * gives the padded output count mp (a multiple of 8), or 0 when xm_cols is the better shape;
 * moem_fwd_pack writes Mt (d x mp) from M (m x d); moem_fwd_block writes what xm_cols would
 * (Zt: m x ld, column-major, zero past n) for n rows of X, with Zr (n x mp) as scratch. */
size_t moem_fwd_width(size_t d, size_t m);
void moem_fwd_pack(size_t m, size_t d, const double *M, size_t mp, double *Mt);
void moem_fwd_block(const moem_ops *ops, size_t n, size_t d, const double *X, size_t m,
                    const double *Mt, size_t mp, double *Zt, size_t ld, double *Zr);
/* ---- end of parallel row passes ---------------------------------------------------------- */

/* Cholesky solve of the SPD system A x = b in place (A: n x n, full or upper triangle);
 * A is overwritten by its factor, b by x. 0 on success, -1 if A is not positive definite. */
int moem_chol_solve(size_t n, double *A, double *b);
/* The two halves: factor A = U^T U in place (-1 if not positive definite); solve with U. */
int moem_chol_factor(size_t n, double *A);
void moem_chol_back(size_t n, const double *U, double *b);

/* Multinomial Newton/IRLS (engine/mstep.c):
 *   min_V f(V) = (1/N) sum_n w_n [ LSE(V x_n, 0) - sum_j T[n*J + j] v_j.x_n ]
 * over J free rows V (J x d) with an implicit pinned zero row. Weights w (NULL = 1).
 * inner_steps > 0: that many gradient steps of size inner_lr instead of Newton. */
int moem_multinomial_fit(const moem_data *data, const double *w, const double *T, size_t J,
                         double *V, const moem_params *p, char *err, size_t errlen);

/* The same, starting from the class probabilities at V when the caller has them (P0: n rows
 * of stride ldp, the J free classes first; the E-step's gate probabilities), saving a pass. */
int moem_multinomial_fit_from(const moem_data *data, const double *w, const double *T, size_t J,
                              double *V, const double *P0, size_t ldp, const moem_params *p,
                              char *err, size_t errlen);

/* Hessian-free Newton-CG with the same contract, for large J*d (engine/newton_cg.c). */
int moem_multinomial_fit_cg(const moem_data *data, const double *w, const double *T, size_t J,
                            double *V, const moem_params *p, char *err, size_t errlen);

/* The M-step by p->inner_steps gradient steps on the gate and on every logistic or softmax
 * expert at once, each step checked to lower its sub-problem (engine/mstep_inner.c; linear
 * experts are left to their closed form). R (n x K), Z (n x mtot) and G (mtot x d): the
 * responsibilities, scores and N grad L of moem_pass_em at theta_t. steps (K + 1, may be NULL):
 * the automatic step of each sub-problem, carried from one M-step to the next (0: none yet). */
int moem_mstep_inner(const moem_data *data, moem_model *m, const double *R, const double *Z,
                     const double *G, const moem_params *p, double *steps, char *err,
                     size_t errlen);

/* Exact solves (p->inner_steps == 0). The stopping rule of both Newton solvers (README,
 * "Choices the paper leaves open"): with f0 the objective at the start of the solve and f the
 * current one, stop once half the squared Newton decrement g . H^-1 g / 2 is at most
 *     max(newton_tol, newton_rtol * (f0 - f)),
 * then take the step that was computed (kept only if it does not raise f). The Newton-CG solve of
 * H s = g is truncated at the relative residual min(0.5, sqrt(|g| / |g0|)) (Eisenstat-Walker,
 * g0 the first gradient of the solve) and at moem_cg_cap(J*d) products. Every function above
 * returns MOEM_NEWTON_CAPPED (and writes err) when newton_max Newton steps did not meet the rule:
 * V then holds the last iterate, which is a descent from the start. */
#define MOEM_NEWTON_CAPPED 1
/* What one solve did (may be NULL where taken): */
typedef struct moem_newton_info {
    int steps;          /* Newton steps taken (the final step included) */
    int hv;             /* Hessian-vector products (Newton-CG) */
    int evals;          /* objective evaluations (passes over X for f alone) */
    int converged;      /* 1: the stopping rule was met (or the optimum to rounding) */
    double half_dec;    /* the last g . H^-1 g / 2 */
    double decrease;    /* f0 - f at the end (dense Newton: before its final full step) */
} moem_newton_info;
int moem_cg_cap(size_t Jd);
size_t moem_cg_stride(size_t n);   /* the Hessian on every stride-th row (newton_cg.c) */
/* Newton-CG rather than dense Newton: J d > 1024, or rows of d >= 256 features when the
 * Kronecker preconditioner is available (the dense Hessian's pass costs n d^2 J^2 there) */
int moem_cg_wide(size_t J, size_t d);
int moem_multinomial_newton(const moem_data *data, const double *w, const double *T, size_t J,
                            double *V, const double *P0, size_t ldp, const moem_params *p,
                            moem_newton_info *info, char *err, size_t errlen);
int moem_multinomial_newton_cg(const moem_data *data, const double *w, const double *T, size_t J,
                               double *V, const moem_params *p, moem_newton_info *info, char *err,
                               size_t errlen);

/* Closed-form M-steps (engine/mstep.c); R: responsibilities n x K. */
int moem_mstep_linear(const moem_data *data, moem_model *m, const double *R, int learn_sigma2,
                      double ridge, char *err, size_t errlen);
/* U (d x d): the Cholesky factor of X^T X / N + ridge I; it does not depend on theta, so a
 * run computes it once: *have_U = 0 asks for it to be computed into U (U may be NULL: then a
 * local one is used). */
int moem_mstep_symlin(const moem_data *data, moem_model *m, const double *R, double ridge,
                      double *U, int *have_U, char *err, size_t errlen);

#endif
