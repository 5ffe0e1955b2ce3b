/* moem/evaluate.h: what a model says about data: the objective, its gradient, the
 * responsibilities. Each is one pass over the data through the active kernel table, on the
 * process's threads (moem_set_threads). */
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

#ifdef __cplusplus
}
#endif
#endif
