/* Benchmark problems and operations, shared by the timed suite (suite.c) and the
 * instruction-count gate (gate.c) so that both measure the same code paths. */
#ifndef MOEM_BENCH_WORKLOADS_H
#define MOEM_BENCH_WORKLOADS_H

#include <stddef.h>
#include <stdint.h>
#include "moem.h"

/* What one benchmark iteration does. */
typedef enum bw_op {
    BW_ESTEP,      /* fused E-step pass: moem_pass with responsibilities out */
    BW_GRAD,       /* gradient pass: moem_gradient */
    BW_SUFFSTAT,   /* sufficient statistics: one weighted Gram X^T diag(r_1) X and
                      A^T X for A of the pass's K + K*P columns */
    BW_EM, BW_GEM, BW_GD, BW_MD,    /* one iteration of the algorithm from the start point */
    BW_EMX,        /* one EM iteration with exact M-steps (inner_steps = 0, newton_rtol 1e-2:
                      the Fashion-MNIST experiment's `--inner exact`) */
    BW_FIT10,      /* ten EM iterations of moem_fit from the start: what a fit's iteration
                      costs with its caches (X^T X of SymMoLinE) and scratch kept */
    BW_PREDICT,    /* moem_predict at the start: the mixture's mean (linear) or its most
                      probable class (classifiers), one value per row */
    BW_NOPS
} bw_op;

const char *bw_op_name(bw_op op);      /* estep, grad, suffstat, em, gem, gd, md, emx, fit10, predict */

/* A problem: synthetic data from a random true model, a fixed start, work buffers. */
typedef struct bw_problem {
    char tag[16];          /* symlin, lin, logit, soft, fmnist */
    moem_data data;
    moem_model start, work;
    moem_params params;
    double *R;             /* n x K responsibilities at the start (filled by bw_problem_make) */
    double *w;             /* n: column 0 of R (the suffstat weights) */
    double *A;             /* n x (K + K*P): the suffstat right-hand sides */
    double *G;             /* max(d*d, (K + K*P)*d): outputs */
    double *gW, *gB, *gs2;
    struct moem_pool *pool; /* the algorithm steps' scratch, kept from one step to the next as
                               moem_fit keeps it between iterations (engine/pool.c) */
} bw_problem;

/* tag: symlin (SymMoLinE, K = 2), lin, logit (K logistic experts), soft (K softmax experts of
 * C classes), fmnist (soft with the Fashion-MNIST shape; same as soft). Deterministic in seed. */
int bw_problem_make(bw_problem *p, const char *tag, size_t n, size_t d, size_t K, size_t C,
                    uint64_t seed, char *err, size_t errlen);
void bw_problem_free(bw_problem *p);

/* One iteration of op on p (algorithms restart from p->start each time). 0 or writes err. */
int bw_run(bw_problem *p, bw_op op, double *sink, char *err, size_t errlen);

/* Model of the work one iteration of a kernel op does (0 for algorithm ops): bytes moved to
 * and from memory, floating-point operations, and exp/log evaluations. */
typedef struct bw_cost { double bytes, flops, exps; } bw_cost;
bw_cost bw_op_cost(const bw_problem *p, bw_op op);

#endif
