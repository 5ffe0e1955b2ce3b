/* The machine's own limits, measured in the benchmark binary: streaming bandwidth (a STREAM
 * triad), vector exp throughput and FMA throughput per ISA, all on every OpenMP thread. */
#ifndef MOEM_BENCH_LIMITS_H
#define MOEM_BENCH_LIMITS_H

#include <stddef.h>

typedef enum bl_isa { BL_SCALAR, BL_AVX2, BL_AVX512, BL_NISA } bl_isa;

const char *bl_isa_name(bl_isa isa);
int bl_isa_parse(const char *name, bl_isa *isa);    /* 0 on success */
int bl_isa_supported(bl_isa isa);                   /* this build and CPU */

/* a[i] = b[i] + s c[i] over n doubles; returns the bytes counted (STREAM: 24 n) */
double bl_triad(size_t n, double *a, const double *b, const double *c, double s);
/* every thread evaluates exp on a private L1-resident buffer reps times; returns exp count */
double bl_exp(bl_isa isa, size_t reps);
/* every thread runs reps blocks of independent FMAs; returns the floating-point operations */
double bl_fma(bl_isa isa, size_t reps);

/* Measured rates (calibrated once by bl_calibrate: about scale seconds per ISA). The *_cpu
 * variants divide by process CPU time per thread instead of wall time: on a machine shared
 * with other work they estimate what the threads reach while they actually run. */
typedef struct bl_rates {
    double bytes_per_s, bytes_per_s_cpu;
    double exps_per_s[BL_NISA], exps_per_s_cpu[BL_NISA];     /* 0 where unsupported */
    double flops_per_s[BL_NISA], flops_per_s_cpu[BL_NISA];
} bl_rates;
void bl_calibrate(bl_rates *r, double scale);

/* per-ISA bodies (limits_avx2.c, limits_avx512.c); x holds BL_EXP_LEN doubles */
#define BL_EXP_LEN 2048
double bl_exp_avx2(const double *x, size_t reps);
double bl_exp_avx512(const double *x, size_t reps);
double bl_fma_avx2(size_t reps);
double bl_fma_avx512(size_t reps);
#define BL_FMA_BLOCK 1024           /* FMA rounds per rep */

#endif
