/* moem_fmnist_iter: EM and GD iteration times side by side on the Fashion-MNIST shape (the real
 * training set, N = 60000, d = 785, K = 2 softmax experts, C = 10), from the start and data of
 * `moem experiment fmnist` instance 1 (seed 1).
 *
 *   moem_fmnist_iter [--threads T] [--em-iters E] [--gd-iters G] [--inner K] [--newton-rtol X]
 *                    [--newton-max N] [--train-subset N] [--fmnist-dir DIR]
 *
 * Prints each timed iteration, then the medians and their ratio. An EM iteration is one
 * iteration of moem_fit (the E-step pass and the M-step: exact with --inner 0, the default, or
 * K inner gradient steps per sub-problem); a GD iteration is moem_gd_step (the gradient pass
 * and the update), both on the same data. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fmnist.h"
#include "internal.h"
#include "rng.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* the start of cmd_fmnist.c's init_model: unit-norm rows, gate stored as (w1 - w2, 0) */
static void init_model(moem_model *m, moem_rng *r)
{
    size_t d = m->d;
    double *W2 = malloc(d * sizeof(double));
    for (size_t k = 0; k < 2 + 2 * m->C; k++) {
        double *v = k == 0 ? m->W : k == 1 ? W2 : m->B + (k - 2) * d;
        double s = 0.0;
        for (size_t c = 0; c < d; c++) { v[c] = moem_rng_normal(r); s += v[c] * v[c]; }
        s = 1.0 / sqrt(s);
        for (size_t c = 0; c < d; c++) v[c] *= s;
    }
    for (size_t c = 0; c < d; c++) { m->W[c] -= W2[c]; m->W[d + c] = 0.0; }
    free(W2);
}

int main(int argc, char **argv)
{
    int threads = 2, em_iters = 3, gd_iters = 7, newton_max = 50, inner = 0;
    double rtol = -1;
    size_t subset = 0;
    const char *dir = MOEM_FMNIST_DIR;
    static const char usage[] =
        "usage: moem_fmnist_iter [--threads T] [--em-iters E] [--gd-iters G] [--inner K]\n"
        "                        [--newton-rtol X] [--newton-max N] [--train-subset N] [--fmnist-dir DIR]\n"
        "EM and GD iteration times side by side on the Fashion-MNIST training set (N = 60000,\n"
        "d = 785, K = 2, C = 10): each timed iteration, then the medians and their ratio.\n"
        "Defaults: 2 threads, 3 EM and 7 GD iterations, exact M-steps (--inner 0).\n";
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { fputs(usage, stdout); return 0; }
    if (argc % 2 == 0) { fprintf(stderr, "moem_fmnist_iter: %s needs a value\n%s", argv[argc - 1], usage); return 2; }
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--em-iters")) em_iters = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--gd-iters")) gd_iters = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--newton-rtol")) rtol = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--newton-max")) newton_max = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--inner")) inner = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--train-subset")) subset = (size_t)atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--fmnist-dir")) dir = argv[i + 1];
        else { fprintf(stderr, "moem_fmnist_iter: unknown option %s\n%s", argv[i], usage); return 2; }
    }
    if (em_iters < 1 || gd_iters < 1 || em_iters > 100 || gd_iters > 100 || inner < 0 || threads < 1) {
        fprintf(stderr, "moem_fmnist_iter: iteration counts must be 1..100, --inner >= 0, --threads >= 1\n");
        return 2;
    }
    char err[512] = "";
    moem_images im = {0};
    moem_data data = {0};
    moem_model m0 = {0}, m = {0};
    if (moem_fmnist_read(dir, 0, subset, &im, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    if (moem_data_alloc(&data, im.n, im.pixels + 1, err, sizeof err) ||
        moem_model_alloc(&m0, MOEM_SOFTMAX, 0, 2, im.pixels + 1, MOEM_FMNIST_CLASSES, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    moem_rng r;
    moem_rng_seed(&r, 1ULL * 1000003ULL + 0);
    if (moem_images_random_invert(&im, 0.5, &r, &data, NULL)) return 1;
    init_model(&m0, &r);
    moem_set_threads(threads);

    moem_params p;
    moem_params_default(&p);
    p.threads = threads;
    p.newton_max = newton_max;
    if (rtol >= 0) p.newton_rtol = rtol;
    p.lr = 0.1;
    printf("moem_fmnist_iter: N = %zu, d = %zu, K = 2, C = 10, isa %s, %d threads, ", data.n, data.d,
           moem_isa_name(), threads);
    if (inner) printf("EM with %d inner gradient steps (automatic step)\n", inner);
    else printf("exact EM: newton_rtol %g, newton_tol %g, newton_max %d\n", p.newton_rtol,
                p.newton_tol, p.newton_max);
    double gd[100], em[100];
    if (moem_model_copy(&m, &m0, err, sizeof err)) return 1;
    for (int t = 0; t < gd_iters; t++) {
        double t0 = moem_now();
        if (moem_gd_step(&data, &m, &p, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
        gd[t] = moem_now() - t0;
        printf("GD iteration %d: %.3f s\n", t + 1, gd[t]);
        fflush(stdout);
    }
    moem_model_free(&m);
    if (moem_model_copy(&m, &m0, err, sizeof err)) return 1;
    /* EM through moem_fit, so that what one M-step leaves for the next (the automatic inner
     * step) is carried as in a real run; trace.seconds is the cumulative time of the iterations */
    printf("start: L = %.6f\n", moem_objective(&data, &m));
    p.algo = MOEM_ALGO_EM;
    p.inner_steps = inner;
    p.iters = em_iters;
    moem_trace tr;
    int rc = moem_fit(&data, &m, &p, &tr, err, sizeof err);
    if (rc) { fprintf(stderr, "%s\n", err); moem_trace_free(&tr); return 1; }
    for (int t = 0; t < em_iters; t++) {
        em[t] = tr.seconds[t + 1] - tr.seconds[t];
        printf("EM iteration %d: %.3f s, L = %.6f\n", t + 1, em[t], tr.objective[t + 1]);
    }
    if (tr.capped) printf("%d M-steps capped by newton_max (last: %s)\n", tr.capped, err);
    moem_trace_free(&tr);
    double mg = median(gd, gd_iters), me = median(em, em_iters);
    printf("median GD iteration %.4f s (%d), median %s EM iteration %.3f s (%d): ratio %.1f\n", mg,
           gd_iters, inner ? "inner-step" : "exact", me, em_iters, me / mg);
    moem_model_free(&m);
    moem_model_free(&m0);
    moem_data_free(&data);
    moem_images_free(&im);
    return 0;
}
