/* moem/model.h: a mixture of experts (moem_model): families, allocation, checks, a random
 * start. */
#ifndef MOEM_MODEL_H
#define MOEM_MODEL_H

#include "core.h"
#include "data.h"

#ifdef __cplusplus
extern "C" {
#endif

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

/* P, the rows of one expert: C for softmax experts, 1 otherwise. */
MOEM_API size_t moem_expert_rows(const moem_model *m);

/* Allocates a zero model (sigma2 = 1) after checking the sizes (K >= 1, d >= 1, C as the
 * family needs, K = 2 for symmetric models, no overflow). 0 on success. */
MOEM_API int moem_model_alloc(moem_model *m, moem_family family, int symmetric, size_t K, size_t d,
                              size_t C, char *err, size_t errlen);

/* Allocates m as moem_model_alloc does, then draws the start the command uses: every free gate
 * row and every expert row with i.i.d. N(0, 1/d) entries from the seeded generator (symmetric
 * models: expert 1 = -expert 0). The same seed gives the same model on every machine. */
MOEM_API int moem_model_init_random(moem_model *m, moem_family family, int symmetric, size_t K,
                                    size_t d, size_t C, unsigned long long seed, char *err,
                                    size_t errlen);

/* Frees the arrays and zeroes the struct (NULL is allowed). */
MOEM_API void moem_model_free(moem_model *m);

/* Allocates dst as a deep copy of src. */
MOEM_API int moem_model_copy(moem_model *dst, const moem_model *src, char *err, size_t errlen);

/* Executable validity check (sizes, pinned gate row, symmetry, finite values, sigma2 > 0):
 * NULL when valid, else a static message. */
MOEM_API const char *moem_model_validate(const moem_model *m);

/* NULL when model and data agree (d, responses in range for the family), else a static
 * message. */
MOEM_API const char *moem_model_data_check(const moem_model *m, const moem_data *data);

/* "linear", "logistic", "softmax" and back; parse returns 0, or -1 for another word. */
MOEM_API const char *moem_family_name(moem_family f);
MOEM_API int moem_family_parse(const char *s, moem_family *f);

#ifdef __cplusplus
}
#endif
#endif
