/* Synthetic data from the paper's models. x_n ~ N(0, I_d). */
#ifndef MOEM_SYNTH_H
#define MOEM_SYNTH_H
#include <stddef.h>
#include "moem.h"
#include "rng.h"

/* A random true model: gate rows (all but the pinned last) with Euclidean norm gate_norm,
 * expert rows with norm expert_norm, uniformly random directions; sigma2 = 1.
 * symmetric: K = 2, expert 2 = -expert 1 (the paper: ||beta*|| = ||w*|| = 4). */
int moem_synth_truth(moem_model *m, moem_family family, int symmetric, size_t K, size_t d,
                     size_t C, double gate_norm, double expert_norm, moem_rng *r,
                     char *err, size_t errlen);

/* n samples from the model: x ~ N(0, I), z ~ gate(x), y ~ expert z (linear: b.x + N(0, sigma2);
 * logistic: Bernoulli(sigma(b.x)); softmax: Categorical(softmax(B x))). Allocates data. */
int moem_synth_sample(const moem_model *truth, size_t n, moem_rng *r, moem_data *data,
                      char *err, size_t errlen);
#endif
