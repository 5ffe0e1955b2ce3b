/* A program that uses libmoem as an installed library (README "Using the library"):
 * draws N samples from a mixture of two linear experts with a softmax gate, fits the
 * mixture by EM from a small start, prints the objective and the fitted experts, writes
 * the model to a JSON file and reads it back.
 *   cc fit_mixture.c $(pkg-config --cflags --libs moem)      or CMake: find_package(moem)
 * usage: fit_mixture [MODEL.json]   (default: no file written)
 * Exit status 0 when the fit and the file round trip succeed, 1 otherwise. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <moem/moem.h>

/* a small deterministic generator (xorshift64*), uniform in (0, 1) */
static double uniform(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return ((double)((*s * 2685821657736338717ULL) >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(uint64_t *s)
{
    return sqrt(-2.0 * log(uniform(s))) * cos(6.283185307179586 * uniform(s));
}

int main(int argc, char **argv)
{
    const size_t n = 2000, d = 3, K = 2;
    const double gate[3] = {0.0, 3.0, -1.0}, beta[2][3] = {{1.0, 2.0, 0.0}, {-1.0, -2.0, 1.0}};
    char err[256];
    moem_data data = {0};
    moem_model m = {0}, back = {0};
    moem_trace tr = {0};
    int rc = 1;
    if (strcmp(moem_version(), MOEM_VERSION) != 0) {
        fprintf(stderr, "fit_mixture: header %s, library %s\n", MOEM_VERSION, moem_version());
        return 1;
    }
    if (moem_data_alloc(&data, n, d, err, sizeof err) ||
        moem_model_alloc(&m, MOEM_LINEAR, 0, K, d, 1, err, sizeof err)) {
        fprintf(stderr, "fit_mixture: %s\n", err);
        goto out;
    }
    uint64_t s = 88172645463325252ULL;
    for (size_t i = 0; i < n; i++) {
        double *x = data.X + i * d, g = 0.0;
        x[0] = 1.0;                                   /* intercept */
        for (size_t c = 1; c < d; c++) x[c] = normal(&s);
        for (size_t c = 0; c < d; c++) g += gate[c] * x[c];
        size_t k = uniform(&s) < 1.0 / (1.0 + exp(-g)) ? 0 : 1;
        double mean = 0.0;
        for (size_t c = 0; c < d; c++) mean += beta[k][c] * x[c];
        data.y[i] = mean + 0.5 * normal(&s);
    }
    /* a start that tells the experts apart; the gate starts at zero */
    for (size_t c = 0; c < d; c++) { m.B[c] = 0.1 * (double)(c + 1); m.B[d + c] = -0.1 * (double)(c + 1); }

    moem_params p;
    moem_params_default(&p);
    p.algo = MOEM_ALGO_EM;
    p.iters = 50;
    p.learn_sigma2 = 1;
    const char *why = moem_check_params(&data, &m, &p);
    if (why) { fprintf(stderr, "fit_mixture: %s\n", why); goto out; }
    if (moem_fit(&data, &m, &p, &tr, err, sizeof err)) {
        fprintf(stderr, "fit_mixture: %s\n", err);
        goto out;
    }
    printf("libmoem %s, kernels %s: EM objective %.6f -> %.6f in %d iterations\n", moem_version(),
           moem_isa_name(), tr.objective[0], tr.objective[tr.iters], tr.iters);
    for (size_t k = 0; k < K; k++)
        printf("expert %zu: beta = (%.3f, %.3f, %.3f), sigma2 = %.3f\n", k + 1, m.B[k * d],
               m.B[k * d + 1], m.B[k * d + 2], m.sigma2[k]);
    if (!(tr.objective[tr.iters] < tr.objective[0])) {
        fprintf(stderr, "fit_mixture: EM did not lower the objective\n");
        goto out;
    }
    if (argc > 1) {
        if (moem_model_write(argv[1], &m, err, sizeof err) || moem_model_read(argv[1], &back, err, sizeof err)) {
            fprintf(stderr, "fit_mixture: %s\n", err);
            goto out;
        }
        if (memcmp(back.B, m.B, K * d * sizeof(double)) != 0 ||
            memcmp(back.W, m.W, K * d * sizeof(double)) != 0) {
            fprintf(stderr, "fit_mixture: %s does not read back the model written\n", argv[1]);
            goto out;
        }
        printf("model written to %s and read back\n", argv[1]);
    }
    rc = 0;
out:
    moem_trace_free(&tr);
    moem_model_free(&m);
    moem_model_free(&back);
    moem_data_free(&data);
    return rc;
}
