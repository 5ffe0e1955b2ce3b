/* moem/fit.h: the algorithms (EM, Gradient EM, gradient descent, the mirror-descent
 * reference), their parameters, a whole fit with its trace, and single steps. */
#ifndef MOEM_FIT_H
#define MOEM_FIT_H

#include "core.h"
#include "data.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum moem_algo { MOEM_ALGO_EM = 0, MOEM_ALGO_GEM = 1, MOEM_ALGO_GD = 2, MOEM_ALGO_MD = 3 } moem_algo;
/* "em", "gem", "gd", "md" and back; parse returns 0, or -1 for another word. */
MOEM_API const char *moem_algo_name(moem_algo a);
MOEM_API int moem_algo_parse(const char *s, moem_algo *a);

typedef struct moem_params {
    moem_algo algo;
    int iters;              /* outer iterations (default 100): the most a fit runs */
    double tol;             /* stop once an iteration lowers the objective by at most tol times
                             * its value: 0 <= L_{t-1} - L_t <= tol |L_{t-1}| (default 0: run
                             * every iteration); moem_trace.converged says it stopped so */
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

/* The defaults given above, every field set (on_iter and ctx NULL). */
MOEM_API void moem_params_default(moem_params *p);
/* NULL when the parameters make sense for this data and model, else a static message */
MOEM_API const char *moem_check_params(const moem_data *data, const moem_model *m, const moem_params *p);

typedef struct moem_trace {
    int iters;              /* completed iterations */
    double *objective;      /* iters + 1 values (index 0: the start) */
    double *seconds;        /* cumulative wall time */
    int stopped;            /* 1 if on_iter asked to stop */
    int converged;          /* 1 if the run stopped by moem_params.tol */
    int capped;             /* EM M-step sub-problems whose Newton solver reached newton_max
                             * without meeting its stopping rule (moem_fit then leaves the last
                             * such message in err and still returns 0) */
    int rises;              /* EM iterations whose objective rose above the previous one by more
                             * than rounding (relative 1e-12): EM's M-steps are descent steps on
                             * their sub-problems, so any rise is a defect or a caller's choice
                             * (see moem_params.inner_lr) worth reporting */
} moem_trace;
/* Frees the trace's arrays and zeroes it. */
MOEM_API void moem_trace_free(moem_trace *t);

/* Runs p->iters iterations of p->algo from the model's current parameters (updated in place),
 * calling p->on_iter after each. The trace is always initialised (free it with
 * moem_trace_free): on success it holds every iteration; on failure (-1: bad parameters, out
 * of memory, an objective that became non-finite) the iterations completed before it, and err
 * says why. 0 also when some exact M-step hit newton_max (trace->capped counts them; err holds
 * the last message). */
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

#ifdef __cplusplus
}
#endif
#endif
