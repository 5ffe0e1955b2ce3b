/* moem: mixtures of experts trained by EM, Gradient EM, gradient descent and mirror descent.
 *
 * Public C API (liblinear style): a problem (moem_data), a model (moem_model), parameters
 * (moem_params) checked by moem_check_params, and moem_fit, which fills a trace.
 * Library functions never print and never exit: they return 0 / NULL on success and write a
 * one-line message into a caller-provided buffer (err, errlen) otherwise.
 *
 * Installed as <moem/moem.h>; link with libmoem (pkg-config moem, or CMake
 * find_package(moem) and the target moem::moem). Only the functions marked MOEM_API are
 * exported by the shared library. */
#ifndef MOEM_H
#define MOEM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MOEM_VERSION "0.1.0"   /* the release this header belongs to (CMakeLists.txt checks it) */

#if defined(__GNUC__) && !defined(MOEM_NO_VISIBILITY)
#define MOEM_API __attribute__((visibility("default")))
#else
#define MOEM_API
#endif

/* the library's release ("0.1.0"): compare with MOEM_VERSION to catch a header / library
 * mismatch */
MOEM_API const char *moem_version(void);

/* ---- data ------------------------------------------------------------------------------- */

/* n samples of d features, row-major X (n x d), responses y (n).
 * linear: y real; logistic: y in {0, 1}; softmax: y in {0, .., C-1} stored as doubles.
 * Storage precision: X (float64, the default) or, after moem_data_to_f32, Xf (float32, n x d)
 * with X NULL. Every computation accumulates in float64 either way: rows of Xf are widened
 * to double block by block as they are streamed. */
typedef struct moem_data {
    size_t n, d;
    double *X;
    double *y;
    float *Xf;
} moem_data;

MOEM_API void moem_data_free(moem_data *data);             /* frees X, Xf and y, zeroes the struct */
/* allocate n x d (checked for overflow); 0 on success */
MOEM_API int moem_data_alloc(moem_data *data, size_t n, size_t d, char *err, size_t errlen);
/* Store X in float32 (halves the bytes each pass streams): X is rounded to nearest into Xf
 * and freed. Fails, leaving the data unchanged, when a value is NaN or outside the float
 * range (|x| > FLT_MAX) or memory runs out. Data already in float32 is left as it is. */
MOEM_API int moem_data_to_f32(moem_data *data, char *err, size_t errlen);

/* ---- model ------------------------------------------------------------------------------ */

typedef enum moem_family { MOEM_LINEAR = 0, MOEM_LOGISTIC = 1, MOEM_SOFTMAX = 2 } moem_family;

/* Softmax gate over K experts: pi_k(x) = softmax_k(W x); row K-1 of W is pinned to zero.
 * Expert k has P rows of d parameters at B + k*P*d, P = moem_expert_rows(m):
 *   linear:   P = 1, y ~ N(b_k.x, sigma2[k])
 *   logistic: P = 1, P(y = 1) = sigma(b_k.x)
 *   softmax:  P = C, P(y = c) = softmax_c(B_k x)
 * symmetric (K = 2 only, linear or logistic): experts +beta and -beta (B row 1 = -B row 0),
 * gate sigma(w.x) with w = W row 0 (the paper's SymMoLinE / SymMoLogE). */
typedef struct moem_model {
    moem_family family;
    int symmetric;
    size_t K, d, C;      /* C: classes (softmax), 2 (logistic), 1 (linear) */
    double *W;           /* K x d */
    double *B;           /* K x P x d */
    double *sigma2;      /* K (linear; 1.0 otherwise) */
} moem_model;

MOEM_API size_t moem_expert_rows(const moem_model *m);       /* P */
/* allocate a zero model (sigma2 = 1); checks sizes; 0 on success */
MOEM_API int moem_model_alloc(moem_model *m, moem_family family, int symmetric, size_t K, size_t d,
                     size_t C, char *err, size_t errlen);
MOEM_API void moem_model_free(moem_model *m);
MOEM_API int moem_model_copy(moem_model *dst, const moem_model *src, char *err, size_t errlen);
/* executable validity check (sizes, pinned gate row, symmetry, finite values, sigma2 > 0);
 * NULL when valid, else a static message */
MOEM_API const char *moem_model_validate(const moem_model *m);
/* NULL when model and data agree (d, labels in range for the family) */
MOEM_API const char *moem_model_data_check(const moem_model *m, const moem_data *data);
MOEM_API const char *moem_family_name(moem_family f);
MOEM_API int moem_family_parse(const char *s, moem_family *f);

/* ---- objective and gradients -------------------------------------------------------------- */

/* L(theta) = -(1/N) sum_n log sum_k pi_nk e_nk, all constants included, in log space. */
MOEM_API double moem_objective(const moem_data *data, const moem_model *m);

/* Gradient of L. gW: K x d (row K-1 is zero), gB: like B, gs2: K (linear with learned
 * variance; may be NULL). For symmetric models gW row 0 holds d/dw and gB row 0 d/dbeta
 * (row 1 is set to -row 0 so that the parameter vector stays symmetric). Returns L. */
MOEM_API double moem_gradient(const moem_data *data, const moem_model *m, double *gW, double *gB,
                     double *gs2);

/* Responsibilities r_nk (n x K) and gate probabilities pi_nk (n x K, may be NULL).
 * Returns L. */
MOEM_API double moem_responsibilities(const moem_data *data, const moem_model *m, double *R, double *PI);

/* ---- algorithms ------------------------------------------------------------------------- */

typedef enum moem_algo { MOEM_ALGO_EM = 0, MOEM_ALGO_GEM = 1, MOEM_ALGO_GD = 2, MOEM_ALGO_MD = 3 } moem_algo;
MOEM_API const char *moem_algo_name(moem_algo a);
MOEM_API int moem_algo_parse(const char *s, moem_algo *a);

typedef struct moem_params {
    moem_algo algo;
    int iters;              /* outer iterations (default 100) */
    double lr;              /* GD step; Gradient EM expert step (default 1) */
    double lr_gate;         /* Gradient EM gate step (default: lr) */
    int learn_sigma2;       /* linear, non-symmetric: M-step for sigma_k^2 (default 0: fixed) */
    int inner_steps;        /* EM M-steps: 0 = Newton/IRLS to newton_tol; k > 0 = k gradient steps,
                             * each checked to lower its sub-problem (backtracking) */
    double inner_lr;        /* first trial step of the inner gradient steps; 0 (default) = automatic */
    double newton_tol;      /* Newton decrement^2/2 tolerance (default 1e-10) */
    int newton_max;         /* Newton iteration cap (default 50) */
    double newton_rtol;     /* relative rule: an exact M-step sub-problem stops once decrement^2/2
                             * <= max(newton_tol, newton_rtol x the decrease of its objective
                             * achieved so far) (default 1e-10; README "Choices the paper leaves
                             * open") */
    double ridge;           /* Tikhonov term added to WLS / Newton systems (default 0) */
    int threads;            /* threads of this call's passes (moem_fit and the steps); 0 = the
                             * process setting (moem_set_threads; by default OMP_NUM_THREADS, or
                             * every core) */
    /* called after every iteration t >= 0 (t = 0: the start); a non-zero return stops the run */
    int (*on_iter)(void *ctx, int t, const moem_model *m, double objective, double seconds);
    void *ctx;
} moem_params;

MOEM_API void moem_params_default(moem_params *p);
/* NULL when the parameters make sense for this data and model, else a static message */
MOEM_API const char *moem_check_params(const moem_data *data, const moem_model *m, const moem_params *p);

typedef struct moem_trace {
    int iters;              /* completed iterations */
    double *objective;      /* iters + 1 values (index 0: the start) */
    double *seconds;        /* cumulative wall time */
    int stopped;            /* 1 if on_iter asked to stop */
    int capped;             /* EM M-step sub-problems whose Newton solver reached newton_max
                             * without meeting its stopping rule (moem_fit then leaves the last
                             * such message in err and still returns 0) */
    int rises;              /* EM iterations whose objective rose above the previous one by more
                             * than rounding (relative 1e-12): EM's M-steps are descent steps on
                             * their sub-problems, so any rise is a defect or a caller's choice
                             * (see moem_params.inner_lr) worth reporting */
} moem_trace;
MOEM_API void moem_trace_free(moem_trace *t);

/* Run p->iters iterations from the model's current parameters (updated in place). */
MOEM_API int moem_fit(const moem_data *data, moem_model *m, const moem_params *p, moem_trace *trace,
             char *err, size_t errlen);

/* Single steps (the model is updated in place); each returns 0 or writes err and returns -1.
 * moem_em_step returns 1 (model updated, err names the sub-problem) when an exact M-step's Newton
 * solver reached newton_max without meeting its stopping rule. */
MOEM_API int moem_em_step(const moem_data *data, moem_model *m, const moem_params *p, char *err, size_t errlen);
MOEM_API int moem_gem_step(const moem_data *data, moem_model *m, const moem_params *p, char *err, size_t errlen);
MOEM_API int moem_gd_step(const moem_data *data, moem_model *m, const moem_params *p, char *err, size_t errlen);

/* Unit-step mirror descent reference (engine/mirror.c): independent of the EM code. */
MOEM_API int moem_md_step(const moem_data *data, moem_model *m, const moem_params *p, char *err, size_t errlen);

/* ---- data files (CSV, data/csv.c) --------------------------------------------------------- */

/* A header row `y,x1,...,xd`, then one sample per line. Reads path into data (allocated; free
 * with moem_data_free). On error returns -1 and writes one line naming the file, line and
 * column into err. Rejects empty files, a missing or malformed header, ragged rows,
 * non-numbers, NaN and Inf. */
MOEM_API int moem_csv_read(const char *path, moem_data *data, char *err, size_t errlen);

/* Writes data with the header row, atomically (temporary file in the same directory, then
 * rename); values printed with %.17g so that they read back bit for bit. */
MOEM_API int moem_csv_write(const char *path, const moem_data *data, char *err, size_t errlen);

/* ---- model files (JSON, engine/model_io.c) ---------------------------------------------- */

MOEM_API int moem_model_read(const char *path, moem_model *m, char *err, size_t errlen);
/* atomic: temporary file in the same directory, then rename */
MOEM_API int moem_model_write(const char *path, const moem_model *m, char *err, size_t errlen);

/* ---- checkpoints (engine/checkpoint.c) ------------------------------------------------ */

/* What a checkpoint records besides the model and the algorithm's settings: a fingerprint of
 * the data the run is on, and the state of its trace file PATH.trace. */
typedef struct moem_checkpoint_info {
    size_t n, d;            /* the data's size */
    uint64_t data_hash;     /* moem_data_hash of the data */
    int precision;          /* the storage of X: 64 or 32 (bits) */
    uint64_t run;           /* names the run in both files, so that a stray trace file is refused */
    int trace_have;         /* the last iteration PATH.trace holds (-1: no file yet: written whole) */
    long trace_end;         /* the byte offset after that iteration's line */
} moem_checkpoint_info;

/* FNV-1a/64 over N, d, the values of X (as float64, row-major) and of y, as bytes */
MOEM_API uint64_t moem_data_hash(const moem_data *data);

/* A checkpoint holds the model after `iter` iterations of algorithm p->algo (with its step sizes
 * and inner-solver settings) and info's data fingerprint; its trace file PATH.trace holds the
 * objective / seconds of iterations 0 .. iter. Values are written as hexadecimal floats, so a
 * resumed run continues bit for bit. A write appends iterations info->trace_have + 1 .. iter to
 * PATH.trace (and updates info), then replaces PATH atomically: it costs O(model) plus the new
 * iterations, never the whole trace. */
MOEM_API int moem_checkpoint_write(const char *path, const moem_model *m, const moem_params *p,
                          moem_checkpoint_info *info, int iter, const double *objective,
                          const double *seconds, char *err, size_t errlen);
/* Reads a checkpoint and its trace file: allocates m, fills the algorithm settings of p (algo,
 * lr, lr_gate, learn_sigma2, inner_steps, inner_lr, newton_tol, newton_max, ridge), info (the
 * data fingerprint, the run, trace_have = iter and trace_end), iter, and the trace (*objective,
 * *seconds: iter + 1 values each, malloc'ed). */
MOEM_API int moem_checkpoint_read(const char *path, moem_model *m, moem_params *p, moem_checkpoint_info *info,
                         int *iter, double **objective, double **seconds, char *err, size_t errlen);

/* ---- misc ------------------------------------------------------------------------------- */

MOEM_API const char *moem_isa_name(void);     /* the active kernel table: scalar, avx2, avx512, neon */
/* the process setting for the per-sample passes of calls whose moem_params.threads is 0 (and of
 * the functions without parameters, such as moem_objective); 0 = OMP_NUM_THREADS / every core */
MOEM_API void moem_set_threads(int n);

#ifdef __cplusplus
}
#endif
#endif
