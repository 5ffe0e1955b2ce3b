/* Model and data structs: allocation, validation, names; parameter defaults and checks. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "internal.h"
#include "rng.h"

void moem_data_free(moem_data *data)
{
    if (!data) return;
    free(data->X);
    free(data->Xf);
    free(data->y);
    memset(data, 0, sizeof *data);
}

int moem_data_to_f32(moem_data *data, char *err, size_t errlen)
{
    if (data->Xf) return 0;
    size_t nd;
    if (!data->X || !moem_mul_size(data->n, data->d, &nd) || nd == 0) {
        MOEM_ERR(err, errlen, "no data to store in float32");
        return -1;
    }
    for (size_t i = 0; i < nd; i++)
        if (!(fabs(data->X[i]) <= FLT_MAX)) {
            MOEM_ERR(err, errlen, "sample %zu, feature %zu: %g cannot be stored in float32 (finite, |x| <= %g)",
                     i / data->d + 1, i % data->d + 1, data->X[i], (double)FLT_MAX);
            return -1;
        }
    float *Xf = nd <= SIZE_MAX / sizeof(float) ? malloc(nd * sizeof(float)) : NULL;
    if (!Xf) {
        MOEM_ERR(err, errlen, "out of memory for %zu x %zu float32 data", data->n, data->d);
        return -1;
    }
    for (size_t i = 0; i < nd; i++) Xf[i] = (float)data->X[i];
    free(data->X);
    data->X = NULL;
    data->Xf = Xf;
    return 0;
}

/* plain C; the simd pragma lets gcc -O2 vectorize it (cvtps2pd) without an alias check */
static void widen_f32(size_t len, const float *restrict src, double *restrict dst)
{
#ifdef _OPENMP
#pragma omp simd
#endif
    for (size_t i = 0; i < len; i++) dst[i] = (double)src[i];
}

const double *moem_rows_f32(const moem_data *data, size_t i0, size_t nb, double *scratch)
{
    widen_f32(nb * data->d, data->Xf + i0 * data->d, scratch);
    return scratch;
}

int moem_data_alloc(moem_data *data, size_t n, size_t d, char *err, size_t errlen)
{
    size_t nd;
    memset(data, 0, sizeof *data);
    if (n == 0 || d == 0) { MOEM_ERR(err, errlen, "data needs n >= 1 and d >= 1"); return -1; }
    if (!moem_mul_size(n, d, &nd) || nd > SIZE_MAX / sizeof(double)) {
        MOEM_ERR(err, errlen, "data of %zu x %zu values is too large", n, d);
        return -1;
    }
    data->X = moem_alloc_doubles(nd);
    data->y = moem_alloc_doubles(n);
    if (!data->X || !data->y) {
        moem_data_free(data);
        MOEM_ERR(err, errlen, "out of memory for %zu x %zu data", n, d);
        return -1;
    }
    data->n = n;
    data->d = d;
    return 0;
}

const char *moem_version(void) { return MOEM_VERSION; }

size_t moem_expert_rows(const moem_model *m) { return m->family == MOEM_SOFTMAX ? m->C : 1; }

const char *moem_family_name(moem_family f)
{
    switch (f) {
    case MOEM_LINEAR: return "linear";
    case MOEM_LOGISTIC: return "logistic";
    case MOEM_SOFTMAX: return "softmax";
    }
    return "?";
}

int moem_family_parse(const char *s, moem_family *f)
{
    if (!strcmp(s, "linear")) *f = MOEM_LINEAR;
    else if (!strcmp(s, "logistic")) *f = MOEM_LOGISTIC;
    else if (!strcmp(s, "softmax")) *f = MOEM_SOFTMAX;
    else return -1;
    return 0;
}

const char *moem_algo_name(moem_algo a)
{
    switch (a) {
    case MOEM_ALGO_EM: return "em";
    case MOEM_ALGO_GEM: return "gem";
    case MOEM_ALGO_GD: return "gd";
    case MOEM_ALGO_MD: return "md";
    }
    return "?";
}

int moem_algo_parse(const char *s, moem_algo *a)
{
    if (!strcmp(s, "em")) *a = MOEM_ALGO_EM;
    else if (!strcmp(s, "gem")) *a = MOEM_ALGO_GEM;
    else if (!strcmp(s, "gd")) *a = MOEM_ALGO_GD;
    else if (!strcmp(s, "md")) *a = MOEM_ALGO_MD;
    else return -1;
    return 0;
}

int moem_model_alloc(moem_model *m, moem_family family, int symmetric, size_t K, size_t d,
                     size_t C, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    if (K < 1) { MOEM_ERR(err, errlen, "the number of experts must be at least 1"); return -1; }
    if (d < 1) { MOEM_ERR(err, errlen, "the number of features must be at least 1"); return -1; }
    if (family == MOEM_LINEAR) C = 1;
    if (family == MOEM_LOGISTIC) C = 2;
    if (family == MOEM_SOFTMAX && C < 2) { MOEM_ERR(err, errlen, "softmax experts need at least 2 classes"); return -1; }
    if (symmetric && (K != 2 || family == MOEM_SOFTMAX)) {
        MOEM_ERR(err, errlen, "symmetric models have K = 2 linear or logistic experts");
        return -1;
    }
    size_t P = family == MOEM_SOFTMAX ? C : 1, kd, kpd;
    if (!moem_mul_size(K, d, &kd) || !moem_mul_size(kd, P, &kpd) || kpd > SIZE_MAX / sizeof(double)) {
        MOEM_ERR(err, errlen, "model of K = %zu, d = %zu, C = %zu is too large", K, d, C);
        return -1;
    }
    m->W = calloc(kd, sizeof(double));
    m->B = calloc(kpd, sizeof(double));
    m->sigma2 = calloc(K, sizeof(double));
    if (!m->W || !m->B || !m->sigma2) {
        moem_model_free(m);
        MOEM_ERR(err, errlen, "out of memory for the model");
        return -1;
    }
    for (size_t k = 0; k < K; k++) m->sigma2[k] = 1.0;
    m->family = family;
    m->symmetric = symmetric;
    m->K = K;
    m->d = d;
    m->C = C;
    return 0;
}

void moem_model_free(moem_model *m)
{
    if (!m) return;
    free(m->W);
    free(m->B);
    free(m->sigma2);
    memset(m, 0, sizeof *m);
}

/* moem_model_init_random: see moem/model.h */
int moem_model_init_random(moem_model *m, moem_family f, int symmetric, size_t K, size_t d,
                           size_t C, unsigned long long seed, char *err, size_t errlen)
{
    if (moem_model_alloc(m, f, symmetric, K, d, C, err, errlen)) return -1;
    moem_rng r;
    moem_rng_seed(&r, seed);
    double s = 1.0 / sqrt((double)d);
    size_t P = moem_expert_rows(m);
    for (size_t i = 0; i + 1 < K; i++)
        for (size_t c = 0; c < d; c++) m->W[i * d + c] = s * moem_rng_normal(&r);
    for (size_t i = 0; i < K * P * d; i++) m->B[i] = s * moem_rng_normal(&r);
    if (symmetric)
        for (size_t c = 0; c < d; c++) m->B[d + c] = -m->B[c];
    return 0;
}

int moem_model_copy(moem_model *dst, const moem_model *src, char *err, size_t errlen)
{
    if (moem_model_alloc(dst, src->family, src->symmetric, src->K, src->d, src->C, err, errlen))
        return -1;
    size_t P = moem_expert_rows(src);
    memcpy(dst->W, src->W, src->K * src->d * sizeof(double));
    memcpy(dst->B, src->B, src->K * P * src->d * sizeof(double));
    memcpy(dst->sigma2, src->sigma2, src->K * sizeof(double));
    return 0;
}

const char *moem_model_validate(const moem_model *m)
{
    if (!m || !m->W || !m->B || !m->sigma2) return "model is not allocated";
    if (m->K < 1 || m->d < 1) return "model needs K >= 1 and d >= 1";
    if (m->family != MOEM_LINEAR && m->family != MOEM_LOGISTIC && m->family != MOEM_SOFTMAX)
        return "unknown expert family";
    if (m->family == MOEM_SOFTMAX && m->C < 2) return "softmax experts need C >= 2";
    if (m->symmetric && (m->K != 2 || m->family == MOEM_SOFTMAX))
        return "symmetric models have K = 2 linear or logistic experts";
    size_t P = moem_expert_rows(m), d = m->d;
    for (size_t c = 0; c < d; c++)
        if (m->W[(m->K - 1) * d + c] != 0.0) return "the last gate row must be zero";
    for (size_t i = 0; i < m->K * d; i++)
        if (!isfinite(m->W[i])) return "gate parameters must be finite";
    for (size_t i = 0; i < m->K * P * d; i++)
        if (!isfinite(m->B[i])) return "expert parameters must be finite";
    for (size_t k = 0; k < m->K; k++)
        if (!(m->sigma2[k] > 0.0) || !isfinite(m->sigma2[k])) return "sigma2 must be positive and finite";
    if (m->symmetric) {
        for (size_t c = 0; c < d; c++)
            if (m->B[d + c] != -m->B[c]) return "symmetric model: expert 2 must be minus expert 1";
        if (m->sigma2[0] != m->sigma2[1]) return "symmetric model: both experts share sigma2";
    }
    return NULL;
}

const char *moem_model_data_check(const moem_model *m, const moem_data *data)
{
    if (!data || !(data->X || data->Xf) || !data->y || data->n < 1) return "data is empty";
    if (data->d != m->d) return "the model's d differs from the data's number of features";
    for (size_t i = 0; i < data->n; i++) {
        double y = data->y[i];
        if (!isfinite(y)) return "responses must be finite";
        if (m->family == MOEM_LOGISTIC && y != 0.0 && y != 1.0)
            return "logistic experts need responses 0 or 1";
        if (m->family == MOEM_SOFTMAX && (y < 0 || y >= (double)m->C || y != floor(y)))
            return "softmax experts need integer class labels in 0 .. C-1";
    }
    return NULL;
}

void moem_params_default(moem_params *p)
{
    memset(p, 0, sizeof *p);
    p->algo = MOEM_ALGO_EM;
    p->iters = 100;
    p->lr = 1.0;
    p->lr_gate = 0.0;   /* 0: same as lr */
    p->inner_lr = 0.0;   /* 0: the automatic step (engine/mstep_inner.c) */
    p->newton_tol = 1e-10;
    p->newton_max = 50;
    p->newton_rtol = 1e-10;
}

const char *moem_check_params(const moem_data *data, const moem_model *m, const moem_params *p)
{
    const char *e;
    if ((e = moem_model_validate(m))) return e;
    if ((e = moem_model_data_check(m, data))) return e;
    if (m->K > data->n) return "more experts than samples (K > N)";
    if (p->iters < 0) return "iterations must be >= 0";
    if (!(p->tol >= 0) || !isfinite(p->tol)) return "the tolerance must be >= 0 and finite";
    if (!(p->lr > 0) || !isfinite(p->lr)) return "the step size must be positive and finite";
    if (p->lr_gate < 0 || !isfinite(p->lr_gate)) return "the gate step size must be positive and finite";
    if (p->inner_steps < 0) return "inner steps must be >= 0";
    if (!(p->inner_lr >= 0) || !isfinite(p->inner_lr))
        return "the inner step size must be positive and finite (or 0: automatic)";
    if (!(p->newton_tol > 0)) return "the Newton tolerance must be positive";
    if (p->newton_max < 1) return "the Newton iteration cap must be >= 1";
    if (!(p->newton_rtol >= 0) || !isfinite(p->newton_rtol)) return "the relative Newton tolerance must be >= 0 and finite";
    if (p->ridge < 0 || !isfinite(p->ridge)) return "the ridge must be >= 0";
    if (p->learn_sigma2 && (m->family != MOEM_LINEAR || m->symmetric))
        return "learned variances need non-symmetric linear experts";
    if (p->learn_sigma2 && p->algo != MOEM_ALGO_EM)
        return "learned variances are available with EM only";
    if (p->threads < 0) return "threads must be >= 0";
    if (p->algo == MOEM_ALGO_MD && !data->X)
        return "mirror descent (the reference) needs float64 data, not float32";
    return NULL;
}

void moem_trace_free(moem_trace *t)
{
    if (!t) return;
    free(t->objective);
    free(t->seconds);
    memset(t, 0, sizeof *t);
}
