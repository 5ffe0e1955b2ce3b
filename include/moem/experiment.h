/* moem/experiment.h: the paper's experiments as library calls (the `moem experiment` command
 * parses options, calls these and prints). Both compare the same three methods from the same
 * start on every instance: EM, Gradient EM and gradient descent, with the step sizes of the
 * last two chosen by a grid search unless given. */
#ifndef MOEM_EXPERIMENT_H
#define MOEM_EXPERIMENT_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The methods, in the order of every per-method array below. */
enum { MOEM_EXP_EM = 0, MOEM_EXP_GEM = 1, MOEM_EXP_GD = 2, MOEM_EXP_METHODS = 3 };
/* "EM", "Gradient EM", "GD" (and NULL for another index) */
MOEM_API const char *moem_exp_method_name(int method);

/* Progress of a long run: one line of text (no newline), for the caller to show or not. */
typedef void (*moem_exp_log)(void *ctx, const char *line);

/* ---- the synthetic SymMoLinE experiment (the paper's Figures 1-2; docs/MATH.md) -------- */

typedef struct moem_synthetic_config {
    size_t instances;         /* instances: truth, data and start re-drawn (default 50) */
    int iters;                /* iterations per method (default 100) */
    size_t n, d;              /* samples, features (default 1000, 10) */
    double radius;            /* start at |theta0 - theta*| = radius |theta*|, per block (0.5) */
    size_t tune;              /* instances of the step-size grid search, own seeds (default 5) */
    double lr_gd;             /* > 0: GD's step, no grid search (default 0: search) */
    double lr_gem, lr_gem_gate;   /* both > 0: Gradient EM's expert and gate steps (default 0) */
    unsigned long long seed;  /* default 1 */
    int f32;                  /* store X in float32 (default 0) */
    moem_exp_log log;         /* progress (may be NULL, the default) */
    void *ctx;
} moem_synthetic_config;

/* What the runs give: per method, instance and iteration t = 0..iters, the objective gap
 * L(theta_t) - L(theta*), |beta_t - beta*| / |beta*| and |w_t - w*| / |w*|. */
enum { MOEM_SYN_GAP = 0, MOEM_SYN_BETA = 1, MOEM_SYN_W = 2, MOEM_SYN_QUANTITIES = 3 };
typedef struct moem_synthetic_result {
    size_t instances;
    int iters;
    double lr_gd, lr_gem, lr_gem_gate;     /* the steps used */
    double seconds_grid, seconds_runs;
    /* value[((method * instances + i) * (iters + 1) + t) * MOEM_SYN_QUANTITIES + q] */
    double *value;
    /* mean and sample sd over the instances: [(method * (iters + 1) + t) * QUANTITIES + q] */
    double *mean, *sd;
    /* mean over the instances of L(theta_t) - L(theta_best), theta_best the lowest point any
     * method reached on that instance (floored at 1e-16): [method * (iters + 1) + t] */
    double *gap_to_best;
} moem_synthetic_result;

/* Fills c with the defaults above. */
MOEM_API void moem_synthetic_config_default(moem_synthetic_config *c);
/* Runs the grid search (unless both step sizes are given) and every instance; fills r (free
 * it with moem_synthetic_result_free, also after a failure). -1 with err on bad settings, out
 * of memory, a method that failed or diverged, or a grid on which every step diverged. */
MOEM_API int moem_experiment_synthetic(const moem_synthetic_config *c, moem_synthetic_result *r,
                                       char *err, size_t errlen);
/* Writes DIR/runs.csv (every value), DIR/summary.csv (means, sds, gap to best) and, when plots
 * is set, DIR/figures.gp and the figures DIR/figure{1,2}.{png,svg} through gnuplot. Each
 * file is replaced atomically; DIR is created. */
MOEM_API int moem_synthetic_write(const char *dir, const moem_synthetic_result *r, int plots,
                                  char *err, size_t errlen);
MOEM_API void moem_synthetic_result_free(moem_synthetic_result *r);
/* The file names moem_synthetic_write writes in its directory (plots: with the figures'). */
MOEM_API size_t moem_synthetic_outputs(int plots, const char *const **names);

/* ---- the Random Invert Fashion-MNIST experiment (the paper's Table 2, Figure 3) -------- */

typedef struct moem_fmnist_config {
    size_t instances;         /* instances: inversion draw and start (default 25) */
    int iters;                /* iterations per method (default 100) */
    int grid_iters;           /* iterations of each grid-search run (default 0: iters) */
    int inner;                /* EM M-steps: k > 0 inner gradient steps (default 5), 0 exact */
    double inner_lr;          /* first trial step of the inner steps (default 0: automatic) */
    int newton_max;           /* exact M-steps: Newton steps per sub-problem (default 50) */
    double newton_tol;        /* exact M-steps: decrement tolerance (default 1e-10) */
    double ridge;             /* ridge/2 |V|^2 added to every EM sub-problem (default 0) */
    double lr_gd;             /* > 0: GD's step (default 0: grid search) */
    double lr_gem, lr_gem_gate;   /* both > 0: Gradient EM's steps (default 0: grid search) */
    double invert_fraction;   /* fraction of images inverted (default 0.5) */
    size_t train_subset, test_subset;   /* the first N images (default 0: all) */
    const char *fmnist_dir;   /* the IDX files (default: Debian's dataset-fashion-mnist) */
    unsigned long long seed;  /* default 1 */
    int threads;              /* threads of every fit (default 0: the process setting) */
    int f32;                  /* store the training X in float32 (default 0) */
    int plots;                /* write Figure 3 through gnuplot (default 1) */
    moem_exp_log log;         /* progress: grid runs, every iteration (may be NULL) */
    void *ctx;
} moem_fmnist_config;

/* Fills c with the defaults above. */
MOEM_API void moem_fmnist_config_default(moem_fmnist_config *c);
/* The step sizes the grid search tries (for every method it searches). */
MOEM_API size_t moem_fmnist_grid(const double **steps);
/* The file names the experiment writes in its output directory (plots: with the figure's). */
MOEM_API size_t moem_fmnist_outputs(int plots, const char *const **names);
/* Runs the experiment and writes, in DIR (created), fmnist.csv (every run and iteration:
 * training objective, test accuracy and cross-entropy, seconds), fmnist-mean.csv,
 * fmnist-grid.csv, fmnist-table.md (rewritten after every instance, so that a run cut short
 * leaves its results so far) and, with plots, fmnist-figure3.{gp,png,svg}. *table receives the
 * final table (markdown, malloc'ed; NULL on failure). */
MOEM_API int moem_experiment_fmnist(const moem_fmnist_config *c, const char *dir, char **table,
                                    char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
