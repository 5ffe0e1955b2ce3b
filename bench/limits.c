/* Triad, exp and FMA throughput loops and their calibration (see limits.h). */
#include "limits.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static const char *const names[BL_NISA] = {"scalar", "avx2", "avx512"};

const char *bl_isa_name(bl_isa isa) { return isa < BL_NISA ? names[isa] : "?"; }

int bl_isa_parse(const char *name, bl_isa *isa)
{
    for (int i = 0; i < BL_NISA; i++)
        if (strcmp(name, names[i]) == 0) { *isa = (bl_isa)i; return 0; }
    return -1;
}

int bl_isa_supported(bl_isa isa)
{
    switch (isa) {
    case BL_SCALAR: return 1;
#if defined(MOEM_BENCH_X86)
    case BL_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case BL_AVX512: return __builtin_cpu_supports("avx512f");
#endif
    default: return 0;
    }
}

double bl_triad(size_t n, double *a, const double *b, const double *c, double s)
{
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) a[i] = b[i] + s * c[i];
    return 24.0 * (double)n;
}

static double exp_scalar(const double *x, size_t reps)
{
    double acc0 = 0, acc1 = 0;
    for (size_t r = 0; r < reps; r++)
        for (size_t i = 0; i < BL_EXP_LEN; i += 2) {
            acc0 += exp(x[i]);
            acc1 += exp(x[i + 1]);
        }
    return acc0 + acc1;
}

static double fma_scalar(size_t reps)
{
    double a0 = 1, a1 = 1, a2 = 1, a3 = 1, a4 = 1, a5 = 1, a6 = 1, a7 = 1;
    const double m = 0.999999, c = 1e-7;
    for (size_t r = 0; r < reps; r++)
        for (int i = 0; i < BL_FMA_BLOCK; i++) {
            a0 = a0 * m + c; a1 = a1 * m + c; a2 = a2 * m + c; a3 = a3 * m + c;
            a4 = a4 * m + c; a5 = a5 * m + c; a6 = a6 * m + c; a7 = a7 * m + c;
        }
    return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}

volatile double bl_sink;

static int nthreads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

double bl_exp(bl_isa isa, size_t reps)
{
    double total = 0;
    #pragma omp parallel reduction(+ : total)
    {
        double x[BL_EXP_LEN];
        for (size_t i = 0; i < BL_EXP_LEN; i++) x[i] = -2.0 + 4.0 * (double)i / BL_EXP_LEN;
        double s = 0;
        switch (isa) {
#if defined(MOEM_BENCH_X86)
        case BL_AVX2: s = bl_exp_avx2(x, reps); break;
        case BL_AVX512: s = bl_exp_avx512(x, reps); break;
#endif
        default: s = exp_scalar(x, reps); break;
        }
        total += s;
    }
    bl_sink = total;
    return (double)nthreads() * (double)reps * BL_EXP_LEN;
}

double bl_fma(bl_isa isa, size_t reps)
{
    double total = 0, per = 16.0;    /* flops per rep round: 8 chains x (mul + add) */
#if defined(MOEM_BENCH_X86)
    if (isa == BL_AVX2) per = 12 * 4 * 2;
    if (isa == BL_AVX512) per = 12 * 8 * 2;
#endif
    #pragma omp parallel reduction(+ : total)
    {
        double s;
        switch (isa) {
#if defined(MOEM_BENCH_X86)
        case BL_AVX2: s = bl_fma_avx2(reps); break;
        case BL_AVX512: s = bl_fma_avx512(reps); break;
#endif
        default: s = fma_scalar(reps); break;
        }
        total += s;
    }
    bl_sink = total;
    return (double)nthreads() * (double)reps * BL_FMA_BLOCK * per;
}

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* best wall and CPU rates of a few calls of a work unit grown from reps until one call takes
 * target / 4 seconds */
typedef double (*work_fn)(void *ctx, size_t reps);

static void best_rate(work_fn f, void *ctx, double target, size_t reps, double *wall, double *cpu)
{
    double threads = (double)nthreads();
    int grown = 0;
    *wall = *cpu = 0;
    f(ctx, reps);                        /* warm-up: thread start, page faults */
    for (int i = 0; i < 8;) {
        double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        double w = f(ctx, reps);
        double t = clock_s(CLOCK_MONOTONIC) - t0, c = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
        if (t > 0 && w / t > *wall) *wall = w / t;
        if (c > 0 && w * threads / c > *cpu) *cpu = w * threads / c;
        if (!grown && t < target / 4) reps *= 2;
        else { grown = 1; i++; }
    }
}

typedef struct triad_ctx { size_t n; double *a, *b, *c; } triad_ctx;

static double triad_work(void *ctx, size_t reps)
{
    triad_ctx *t = ctx;
    double bytes = 0;
    for (size_t r = 0; r < reps; r++) bytes += bl_triad(t->n, t->a, t->b, t->c, 3.0);
    return bytes;
}
static double exp_work(void *ctx, size_t reps) { return bl_exp(*(bl_isa *)ctx, reps); }
static double fma_work(void *ctx, size_t reps) { return bl_fma(*(bl_isa *)ctx, reps); }

void bl_calibrate(bl_rates *r, double scale)
{
    memset(r, 0, sizeof *r);
    triad_ctx t = {(size_t)1 << (scale < 1 ? 20 : 26), NULL, NULL, NULL};   /* 3 x 512 MiB */
    t.a = malloc(t.n * sizeof(double));
    t.b = malloc(t.n * sizeof(double));
    t.c = malloc(t.n * sizeof(double));
    if (t.a && t.b && t.c) {
        #pragma omp parallel for schedule(static)
        for (size_t i = 0; i < t.n; i++) { t.a[i] = 0; t.b[i] = 1; t.c[i] = 2; }
        best_rate(triad_work, &t, 0.4 * scale, 1, &r->bytes_per_s, &r->bytes_per_s_cpu);
    }
    free(t.a); free(t.b); free(t.c);
    for (int i = 0; i < BL_NISA; i++) {
        bl_isa isa = (bl_isa)i;
        if (!bl_isa_supported(isa)) continue;
        best_rate(exp_work, &isa, 0.2 * scale, 256, &r->exps_per_s[i], &r->exps_per_s_cpu[i]);
        best_rate(fma_work, &isa, 0.2 * scale, 256, &r->flops_per_s[i], &r->flops_per_s_cpu[i]);
    }
}
