/* The EM side of the identities the mirror-descent reference is checked against (moem verify
 * and the tests of MATH.md T2), and the perturbation both use. Unlike mirror.c and
 * mirror_diag.c this file deliberately goes through the EM path (moem_responsibilities): the
 * point of T2 is that two independent computations agree. */
#include <math.h>
#include <stdlib.h>
#include "base.h"
#include "mirror.h"

double moem_em_q_gap(const moem_data *data, const moem_model *theta, const moem_model *theta_t)
{
    size_t n = data->n, K = theta_t->K, nK;
    if (n == 0 || theta->K != K || !moem_mul_size(n, K, &nK)) return NAN;
    double *R0 = malloc(nK * sizeof(double)), *R1 = malloc(nK * sizeof(double)), q = NAN;
    if (R0 && R1) {
        double L0 = moem_responsibilities(data, theta_t, R0, NULL);
        double L1 = moem_responsibilities(data, theta, R1, NULL), kl = 0.0;
        for (size_t i = 0; i < nK; i++)
            if (R0[i] > 1e-200 || (R0[i] > 0 && R1[i] > 0)) kl += R0[i] * (log(R0[i]) - log(R1[i]));
        q = L1 - L0 + kl / (double)n;
    }
    free(R0);
    free(R1);
    return q;
}

void moem_md_perturb(moem_model *m, moem_rng *r, double s)
{
    size_t K = m->K, d = m->d, P = moem_expert_rows(m);
    for (size_t i = 0; i < (K - 1) * d; i++) m->W[i] += s * moem_rng_normal(r);
    for (size_t i = 0; i < K * P * d; i++) m->B[i] += s * moem_rng_normal(r);
    if (m->symmetric) for (size_t c = 0; c < d; c++) m->B[d + c] = -m->B[c];
}
