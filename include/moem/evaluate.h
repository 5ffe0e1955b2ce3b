/* moem/evaluate.h: what a model says about data: the objective, its gradient, the
 * responsibilities, predictions and scores. Each is one pass over the data through the active
 * kernel table, on the process's threads (moem_set_threads). */
#ifndef MOEM_EVALUATE_H
#define MOEM_EVALUATE_H

#include "core.h"
#include "data.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* L(theta) = -(1/N) sum_n log sum_k pi_nk e_nk, all constants included, in log space.
 * NAN when memory runs out. */
MOEM_API double moem_objective(const moem_data *data, const moem_model *m);

/* Gradient of L. gW: K x d (row K-1 is zero), gB: like B, gs2: K (linear with learned
 * variance; may be NULL). For symmetric models gW row 0 holds d/dw and gB row 0 d/dbeta
 * (row 1 is set to -row 0 so that the parameter vector stays symmetric). Returns L. */
MOEM_API double moem_gradient(const moem_data *data, const moem_model *m, double *gW, double *gB,
                              double *gs2);

/* Responsibilities r_nk (n x K) and gate probabilities pi_nk (n x K, may be NULL).
 * Returns L. */
MOEM_API double moem_responsibilities(const moem_data *data, const moem_model *m, double *R,
                                      double *PI);

/* ---- using a fitted model ------------------------------------------------------------- */

/* What moem_predict writes for each row x (columns per row: moem_predict_cols):
 *   MEAN       linear experts: the mixture's mean sum_k pi_k(x) b_k.x (1)
 *   PROBA      logistic / softmax experts: p(c | x) = sum_k pi_k(x) p_k(c | x), c = 0..C-1 (C)
 *   CLASS      logistic / softmax experts: argmax_c p(c | x) (1, as a double)
 *   GATE       the gate probabilities pi_k(x) (K)
 *   EXPERTS    each expert's output: b_k.x (linear), sigma(b_k.x) (logistic), softmax(B_k x)
 *              (softmax: K x C, expert by expert)
 *   POSTERIOR  the responsibilities r_k(x, y) = p(expert k | x, y) (K; needs y)
 *   CLUSTER    argmax_k r_k(x, y) (1; needs y) */
typedef enum moem_predict_what {
    MOEM_PREDICT_MEAN = 0, MOEM_PREDICT_PROBA = 1, MOEM_PREDICT_CLASS = 2, MOEM_PREDICT_GATE = 3,
    MOEM_PREDICT_EXPERTS = 4, MOEM_PREDICT_POSTERIOR = 5, MOEM_PREDICT_CLUSTER = 6
} moem_predict_what;

/* Columns per row of moem_predict's output; 0 when the model's family has no such output
 * (MEAN for classifiers, PROBA and CLASS for linear experts). */
MOEM_API size_t moem_predict_cols(const moem_model *m, moem_predict_what what);

/* Fills out (data->n x moem_predict_cols, row-major). data->y is read only for POSTERIOR and
 * CLUSTER (it may be NULL otherwise). The same passes as the E-step (every thread, the active
 * kernel table), blocks of rows at a time. 0, or -1 with err (an invalid model, d differs,
 * an output the family does not have, responses missing or out of range, out of memory). */
MOEM_API int moem_predict(const moem_data *data, const moem_model *m, moem_predict_what what,
                          double *out, char *err, size_t errlen);

/* The responsibilities r_nk = p(expert k | x_n, y_n) (n x K): moem_predict's POSTERIOR, with
 * the same checks (data->y needed and in range). */
MOEM_API int moem_posterior(const moem_data *data, const moem_model *m, double *R, char *err,
                            size_t errlen);

/* Free parameters: (K - 1) d for the gate (its last row is pinned to zero), d per linear or
 * logistic expert, (C - 1) d per softmax expert (adding one vector to every class row leaves
 * its probabilities unchanged), K variances when they are learned (linear only); symmetric
 * models: 2 d (w and beta). */
MOEM_API size_t moem_param_count(const moem_model *m, int learn_sigma2);

/* How well a model explains data (with responses). */
typedef struct moem_scores {
    size_t n;               /* samples */
    double objective;       /* L: the average negative log-likelihood, constants included */
    double accuracy;        /* classifiers: the fraction of rows whose CLASS is y (NAN for linear) */
    double cross_entropy;   /* classifiers: -(1/N) sum log p(y | x), which is L (NAN for linear) */
    double rmse;            /* linear: root mean square of y - MEAN (NAN for classifiers) */
    size_t params;          /* moem_param_count */
    double aic, bic;        /* 2 N L + 2 params, 2 N L + params log N */
} moem_scores;

/* Fills s; 0, or -1 with err (invalid model, data that do not fit it, out of memory).
 * learn_sigma2: whether the variances were fitted (they count as parameters). */
MOEM_API int moem_score(const moem_data *data, const moem_model *m, int learn_sigma2, moem_scores *s,
                        char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
