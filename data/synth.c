/* Synthetic truths and samples from the paper's models. Every random draw comes from the caller's
 * moem_rng in a fixed order, so a seed fixes the result. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "synth.h"

#define SYNTH_ERR(...) do { if (err && errlen) snprintf(err, errlen, __VA_ARGS__); } while (0)

/* v (d) = norm * a uniformly random unit direction */
static void random_direction(double *v, size_t d, double norm, moem_rng *r)
{
    double ss;
    do {
        ss = 0.0;
        for (size_t j = 0; j < d; j++) {
            v[j] = moem_rng_normal(r);
            ss += v[j] * v[j];
        }
    } while (!(ss > 0.0));
    double s = norm / sqrt(ss);
    for (size_t j = 0; j < d; j++) v[j] *= s;
}

int moem_synth_truth(moem_model *m, moem_family family, int symmetric, size_t K, size_t d,
                     size_t C, double gate_norm, double expert_norm, moem_rng *r,
                     char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    if (!(gate_norm >= 0.0) || !isfinite(gate_norm) || !(expert_norm >= 0.0) || !isfinite(expert_norm)) {
        SYNTH_ERR("the gate and expert norms must be finite and >= 0");
        return -1;
    }
    if (moem_model_alloc(m, family, symmetric, K, d, C, err, errlen)) return -1;
    for (size_t k = 0; k + 1 < K; k++) random_direction(m->W + k * d, d, gate_norm, r);
    size_t P = moem_expert_rows(m);
    if (symmetric) {
        random_direction(m->B, d, expert_norm, r);
        for (size_t j = 0; j < d; j++) m->B[d + j] = -m->B[j];
    } else {
        for (size_t i = 0; i < K * P; i++) random_direction(m->B + i * d, d, expert_norm, r);
    }
    return 0;
}

/* in place: p (n) <- softmax(p); max-shifted */
static void softmax_inplace(double *p, size_t n)
{
    double mx = p[0], s = 0.0;
    for (size_t i = 1; i < n; i++) mx = p[i] > mx ? p[i] : mx;
    for (size_t i = 0; i < n; i++) s += (p[i] = exp(p[i] - mx));
    for (size_t i = 0; i < n; i++) p[i] /= s;
}

/* index drawn from the probabilities p (n), summing to 1 */
static size_t draw_index(const double *p, size_t n, moem_rng *r)
{
    double u = moem_rng_uniform(r), c = 0.0;
    for (size_t i = 0; i + 1 < n; i++) {
        c += p[i];
        if (u < c) return i;
    }
    return n - 1;
}

static double dot(const double *a, const double *b, size_t d)
{
    double s = 0.0;
    for (size_t j = 0; j < d; j++) s += a[j] * b[j];
    return s;
}

int moem_synth_sample(const moem_model *truth, size_t n, moem_rng *r, moem_data *data,
                      char *err, size_t errlen)
{
    memset(data, 0, sizeof *data);
    const char *bad = moem_model_validate(truth);
    if (bad) { SYNTH_ERR("invalid model: %s", bad); return -1; }
    if (moem_data_alloc(data, n, truth->d, err, errlen)) return -1;
    size_t K = truth->K, d = truth->d, P = moem_expert_rows(truth);
    double *pk = malloc(K * sizeof(double)), *pc = malloc(P * sizeof(double));
    if (!pk || !pc) {
        free(pk);
        free(pc);
        moem_data_free(data);
        SYNTH_ERR("out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        double *x = data->X + i * d;
        for (size_t j = 0; j < d; j++) x[j] = moem_rng_normal(r);
        for (size_t k = 0; k < K; k++) pk[k] = dot(truth->W + k * d, x, d);
        softmax_inplace(pk, K);
        size_t z = draw_index(pk, K, r);
        const double *b = truth->B + z * P * d;
        double y;
        switch (truth->family) {
        case MOEM_LINEAR:
            y = dot(b, x, d) + sqrt(truth->sigma2[z]) * moem_rng_normal(r);
            break;
        case MOEM_LOGISTIC:
            y = moem_rng_uniform(r) < 1.0 / (1.0 + exp(-dot(b, x, d))) ? 1.0 : 0.0;
            break;
        default:
            for (size_t c = 0; c < P; c++) pc[c] = dot(b + c * d, x, d);
            softmax_inplace(pc, P);
            y = (double)draw_index(pc, P, r);
            break;
        }
        data->y[i] = y;
    }
    free(pk);
    free(pc);
    return 0;
}
