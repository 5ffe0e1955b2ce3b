/* Force-included before engine/checkpoint.c (run checkpoint_read): the contracts of the model
 * functions of engine/model.c that the checkpoint reader calls. Trusted: model.c is not in the
 * proof runs (moem_model_alloc's size checks use moem_mul_size, proved in run size_check; the
 * tests check the rest). */
#ifndef MOEM_PROOF_CHECKPOINT_H
#define MOEM_PROOF_CHECKPOINT_H
#include <stddef.h>
#include <stdint.h>
#include "moem.h"

/* on success the arrays of m hold K x d, K x P x d and K doubles, P = moem_expert_rows(m) */
/*@ requires valid: \valid(m);
    requires message: errlen == 0 || \valid(err + (0 .. errlen - 1));
    assigns *m, err[0 .. errlen - 1];
    ensures allocated: \result == 0 ==>
      m->family == family && m->K == K && m->d == d && 1 <= K && 1 <= d &&
      (family == MOEM_SOFTMAX ==> m->C == C && 2 <= C) &&
      K * ((family == MOEM_SOFTMAX ? C : 1) * d) <= SIZE_MAX / sizeof(double) &&
      \valid(m->W + (0 .. K * d - 1)) &&
      \valid(m->B + (0 .. K * ((family == MOEM_SOFTMAX ? C : 1) * d) - 1)) &&
      \valid(m->sigma2 + (0 .. K - 1)); */
int moem_model_alloc(moem_model *m, moem_family family, int symmetric, size_t K, size_t d,
                     size_t C, char *err, size_t errlen);

/*@ requires valid: \valid_read(m);
    assigns \nothing;
    ensures rows: \result == (m->family == MOEM_SOFTMAX ? m->C : 1); */
size_t moem_expert_rows(const moem_model *m);

/*@ requires valid: valid_read_string(s) && \valid(f);
    assigns *f; */
int moem_family_parse(const char *s, moem_family *f);

/*@ requires valid: valid_read_string(s) && \valid(a);
    assigns *a; */
int moem_algo_parse(const char *s, moem_algo *a);

/*@ requires valid: \valid_read(m);
    assigns \nothing; */
const char *moem_model_validate(const moem_model *m);

/* NULL, or n doubles */
/*@ assigns \nothing;
    ensures valid_or_null: \result == \null || \valid(\result + (0 .. n - 1)); */
double *moem_alloc_doubles(size_t n);

/*@ assigns *m; */
void moem_model_free(moem_model *m);
#endif
