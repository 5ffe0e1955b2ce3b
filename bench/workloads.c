/* Benchmark problems and operations (see workloads.h). */
#include "workloads.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "rng.h"
#include "synth.h"

static const char *const op_names[BW_NOPS] = {"estep", "grad", "suffstat", "em", "gem", "gd", "md", "emx",
                                                     "fit10", "predict"};

const char *bw_op_name(bw_op op) { return op < BW_NOPS ? op_names[op] : "?"; }

void bw_problem_free(bw_problem *p)
{
    if (p->pool) {
        moem_pool_resume(p->pool);
        moem_pool_end(p->pool);
        free(p->pool);
    }
    moem_data_free(&p->data);
    moem_model_free(&p->start);
    moem_model_free(&p->work);
    free(p->R); free(p->w); free(p->A); free(p->G);
    free(p->gW); free(p->gB); free(p->gs2);
    memset(p, 0, sizeof *p);
}

static size_t mtot_of(const moem_model *m) { return m->K + m->K * moem_expert_rows(m); }

int bw_problem_make(bw_problem *p, const char *tag, size_t n, size_t d, size_t K, size_t C,
                    uint64_t seed, char *err, size_t errlen)
{
    moem_family fam;
    int sym = 0;
    double norm = 1.0;
    memset(p, 0, sizeof *p);
    if (strcmp(tag, "symlin") == 0) { fam = MOEM_LINEAR; sym = 1; K = 2; norm = 4.0; }
    else if (strcmp(tag, "lin") == 0) fam = MOEM_LINEAR;
    else if (strcmp(tag, "logit") == 0) fam = MOEM_LOGISTIC;
    else if (strcmp(tag, "soft") == 0 || strcmp(tag, "fmnist") == 0) fam = MOEM_SOFTMAX;
    else { snprintf(err, errlen, "unknown problem '%s'", tag); return -1; }
    if (fam == MOEM_LINEAR) C = 1;
    if (fam == MOEM_LOGISTIC) C = 2;
    snprintf(p->tag, sizeof p->tag, "%s", tag);
    if (!(p->pool = malloc(sizeof *p->pool))) { snprintf(err, errlen, "out of memory"); return -1; }
    moem_pool_begin(p->pool);
    moem_pool_pause(p->pool);

    moem_model truth = {0};
    moem_rng r;
    moem_rng_seed(&r, seed);
    if (moem_synth_truth(&truth, fam, sym, K, d, C, norm, norm, &r, err, errlen) ||
        moem_synth_sample(&truth, n, &r, &p->data, err, errlen) ||
        moem_synth_truth(&p->start, fam, sym, K, d, C, 0.5, 0.5, &r, err, errlen) ||
        moem_model_copy(&p->work, &p->start, err, errlen)) {
        moem_model_free(&truth);
        bw_problem_free(p);
        return -1;
    }
    moem_model_free(&truth);

    moem_params_default(&p->params);
    p->params.iters = 1;
    p->params.lr = 0.5;
    /* Softmax experts: EM (op em) takes the Fashion-MNIST experiment's default M-step, 5 inner
     * gradient steps per sub-problem (a generalised EM step); op emx the exact one. */
    if (fam == MOEM_SOFTMAX) p->params.inner_steps = 5;

    size_t mt = mtot_of(&p->start), P = moem_expert_rows(&p->start);
    size_t gsz = d * d > mt * d ? d * d : mt * d;
    p->R = moem_alloc_doubles(n * K);
    p->w = moem_alloc_doubles(n);
    p->A = moem_alloc_doubles(n * mt);
    p->G = moem_alloc_doubles(gsz);
    p->gW = moem_alloc_doubles(K * d);
    p->gB = moem_alloc_doubles(K * P * d);
    p->gs2 = moem_alloc_doubles(K);
    if (!p->R || !p->w || !p->A || !p->G || !p->gW || !p->gB || !p->gs2) {
        bw_problem_free(p);
        snprintf(err, errlen, "out of memory for problem %s", tag);
        return -1;
    }
    double L = moem_pass(&p->data, &p->start, p->R, NULL, NULL);
    if (!isfinite(L)) {
        bw_problem_free(p);
        snprintf(err, errlen, "problem %s: the E-step pass failed at the start", tag);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        p->w[i] = p->R[i * K];
        for (size_t j = 0; j < mt; j++) p->A[i * mt + j] = p->R[i * K + j % K] * p->data.y[i];
    }
    return 0;
}

static void restart(bw_problem *p)
{
    const moem_model *s = &p->start;
    size_t P = moem_expert_rows(s);
    memcpy(p->work.W, s->W, s->K * s->d * sizeof(double));
    memcpy(p->work.B, s->B, s->K * P * s->d * sizeof(double));
    memcpy(p->work.sigma2, s->sigma2, s->K * sizeof(double));
}

int bw_run(bw_problem *p, bw_op op, double *sink, char *err, size_t errlen)
{
    const moem_data *D = &p->data;
    moem_model *m = &p->work;
    int rc = 0;
    moem_pool_resume(p->pool);
    switch (op) {
    case BW_ESTEP: *sink = moem_pass(D, &p->start, p->R, NULL, NULL); break;
    case BW_GRAD: *sink = moem_gradient(D, &p->start, p->gW, p->gB, NULL); break;
    case BW_SUFFSTAT:
        moem_wgram_all(D, p->w, p->G);
        *sink = p->G[0];
        moem_atx_all(D, mtot_of(&p->start), p->A, p->G);
        *sink += p->G[0];
        break;
    case BW_EM: restart(p); rc = moem_em_step(D, m, &p->params, err, errlen); *sink = m->B[0]; break;
    case BW_GEM: restart(p); rc = moem_gem_step(D, m, &p->params, err, errlen); *sink = m->B[0]; break;
    case BW_GD: restart(p); rc = moem_gd_step(D, m, &p->params, err, errlen); *sink = m->B[0]; break;
    case BW_MD: restart(p); rc = moem_md_step(D, m, &p->params, err, errlen); *sink = m->B[0]; break;
    case BW_EMX: {
        moem_params q = p->params;
        q.inner_steps = 0;
        q.newton_rtol = 1e-2;
        restart(p);
        rc = moem_em_step(D, m, &q, err, errlen);
        if (rc > 0) rc = 0;            /* a capped Newton solve is still a complete iteration */
        *sink = m->B[0];
        break;
    }
    case BW_FIT10: {
        moem_params q = p->params;
        q.algo = MOEM_ALGO_EM;
        q.iters = 10;
        moem_trace tr = {0};
        restart(p);
        rc = moem_fit(D, m, &q, &tr, err, errlen);
        *sink = m->B[0];
        moem_trace_free(&tr);
        break;
    }
    case BW_PREDICT:
        rc = moem_predict(D, &p->start, p->start.family == MOEM_LINEAR ? MOEM_PREDICT_MEAN : MOEM_PREDICT_CLASS,
                          p->R, err, errlen);   /* one value per row: R (n x K) has room */
        *sink = p->R[0];
        break;
    default: snprintf(err, errlen, "unknown operation"); rc = -1; break;
    }
    moem_pool_pause(p->pool);
    if (op >= BW_NOPS) return -1;
    if (rc == 0 && op <= BW_GRAD && !isfinite(*sink)) {
        snprintf(err, errlen, "%s on %s returned a non-finite objective", bw_op_name(op), p->tag);
        return -1;
    }
    return rc;
}

bw_cost bw_op_cost(const bw_problem *p, bw_op op)
{
    const moem_model *m = &p->start;
    double n = (double)p->data.n, d = (double)p->data.d, K = (double)m->K;
    double P = (double)moem_expert_rows(m), mt = (double)mtot_of(m);
    double xb = p->data.Xf ? 4 : 8;                         /* bytes per entry of X */
    bw_cost c = {0, 0, 0};
    /* per row: gate softmax and responsibility softmax (K exp + 1 log each) */
    double exps = 2 * K + 2;
    if (m->family == MOEM_LOGISTIC) exps += 2 * K;          /* softplus: exp + log1p */
    if (m->family == MOEM_SOFTMAX) exps += K * (P + 1);     /* per expert class softmax */
    switch (op) {
    case BW_ESTEP:
        c.bytes = n * (xb * d + 8 * (1 + K));               /* X, y in; R out */
        c.flops = 2 * n * d * mt;                           /* X M^T */
        c.exps = n * exps;
        break;
    case BW_GRAD:
        c.bytes = n * (xb * d + 8);
        c.flops = 4 * n * d * mt;                           /* X M^T and A^T X */
        c.exps = n * (exps + (m->family == MOEM_LOGISTIC ? K : 0));
        break;
    case BW_SUFFSTAT:
        c.bytes = n * (2 * xb * d + 8 * (1 + mt));          /* two streams over X, w, A */
        c.flops = n * d * (d + 1) + 2 * n * d * mt;
        break;
    default: break;
    }
    return c;
}
