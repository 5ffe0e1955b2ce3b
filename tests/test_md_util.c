/* Random instances for the mirror-descent property tests (own sampler, seeded). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "mirror.h"
#include "test_md_util.h"

static void unit_rows(moem_rng *r, double *v, size_t rows, size_t d, double norm)
{
    for (size_t k = 0; k < rows; k++) {
        double s = 0.0;
        for (size_t c = 0; c < d; c++) { v[k * d + c] = moem_rng_normal(r); s += v[k * d + c] * v[k * d + c]; }
        for (size_t c = 0; c < d; c++) v[k * d + c] *= norm / sqrt(s);
    }
}

void md_inst_make(md_inst *in, moem_family f, int sym, size_t K, size_t C, unsigned i)
{
    /* discrete experts get more samples so that no M-step is separable (minimiser at infinity) */
    static const size_t Ns[] = {60, 150, 400}, Nd[] = {200, 400, 800}, ds[] = {2, 3, 5};
    static const double s2s[] = {0.25, 1.0, 2.0}, norms[] = {1.0, 2.0, 4.0};
    char err[256];
    memset(in, 0, sizeof *in);
    moem_rng_seed(&in->rng, 0x5eed0000u + 7919u * i + 31u * (unsigned)f + (unsigned)sym * 1000003u + K);
    size_t n = f == MOEM_LINEAR ? Ns[i % 3] : Nd[i % 3], d = ds[(i / 3) % 3];
    double s2 = s2s[(i / 9) % 3], gn = norms[i % 3], en = norms[(i / 3) % 3];
    if (sym) K = 2;
    assert_int_equal(moem_model_alloc(&in->truth, f, sym, K, d, C, err, sizeof err), 0);
    unit_rows(&in->rng, in->truth.W, K - 1, d, gn);
    unit_rows(&in->rng, in->truth.B, K * moem_expert_rows(&in->truth), d, en);
    if (sym) for (size_t c = 0; c < d; c++) in->truth.B[d + c] = -in->truth.B[c];
    if (f == MOEM_LINEAR) for (size_t k = 0; k < K; k++) in->truth.sigma2[k] = s2;
    assert_null(moem_model_validate(&in->truth));
    assert_int_equal(moem_data_alloc(&in->data, n, d, err, sizeof err), 0);
    moem_model *t = &in->truth;
    size_t P = moem_expert_rows(t);
    double g[16], p[16];
    for (size_t j = 0; j < n; j++) {
        double *x = in->data.X + j * d, mx = -INFINITY, s = 0.0, u;
        for (size_t c = 0; c < d; c++) x[c] = moem_rng_normal(&in->rng);
        for (size_t k = 0; k < K; k++) {
            g[k] = 0.0;
            for (size_t c = 0; c < d; c++) g[k] += t->W[k * d + c] * x[c];
            mx = fmax(mx, g[k]);
        }
        for (size_t k = 0; k < K; k++) s += exp(g[k] - mx);
        u = moem_rng_uniform(&in->rng) * s;
        size_t z = 0;
        for (double acc = exp(g[0] - mx); acc < u && z + 1 < K; acc += exp(g[++z] - mx)) {}
        const double *b = t->B + z * P * d;
        if (f == MOEM_LINEAR) {
            double m = 0.0;
            for (size_t c = 0; c < d; c++) m += b[c] * x[c];
            in->data.y[j] = m + sqrt(t->sigma2[z]) * moem_rng_normal(&in->rng);
        } else {
            size_t cls = P == 1 ? 2 : P;
            mx = -INFINITY; s = 0.0;
            for (size_t c = 0; c < cls; c++) {
                p[c] = 0.0;
                if (P == 1 && c == 0) { mx = fmax(mx, 0.0); continue; }
                const double *row = b + (P == 1 ? 0 : c) * d;
                for (size_t a = 0; a < d; a++) p[c] += row[a] * x[a];
                mx = fmax(mx, p[c]);
            }
            for (size_t c = 0; c < cls; c++) s += exp(p[c] - mx);
            u = moem_rng_uniform(&in->rng) * s;
            size_t y = 0;
            for (double acc = exp(p[0] - mx); acc < u && y + 1 < cls; acc += exp(p[++y] - mx)) {}
            in->data.y[j] = (double)y;
        }
    }
    assert_int_equal(moem_model_copy(&in->start, t, err, sizeof err), 0);
    moem_md_perturb(&in->start, &in->rng, i % 4 == 3 ? 2.0 : 0.3);   /* far / near the truth */
}

void md_inst_free(md_inst *in)
{
    moem_data_free(&in->data);
    moem_model_free(&in->truth);
    moem_model_free(&in->start);
}

void md_em_step(const moem_data *data, moem_model *m)
{
    moem_params p;
    char err[256] = "";
    moem_params_default(&p);
    p.newton_tol = 1e-20;
    p.newton_max = 200;
    int rc = moem_em_step(data, m, &p, err, sizeof err);
    if (rc) print_error("em step: %s\n", err);
    assert_int_equal(rc, 0);
}

void md_md_step(const moem_data *data, moem_model *m)
{
    moem_params p;
    char err[256] = "";
    moem_params_default(&p);
    p.algo = MOEM_ALGO_MD;
    int rc = moem_md_step(data, m, &p, err, sizeof err);
    if (rc) print_error("md step: %s\n", err);
    assert_int_equal(rc, 0);
}

int md_isa_mismatch(void)
{
    const char *want = getenv("MOEM_ISA");
    if (want && *want && strcmp(want, moem_isa_name()) != 0) {
        print_message("MOEM_ISA=%s not available (active: %s): skipped\n", want, moem_isa_name());
        return 1;
    }
    return 0;
}
