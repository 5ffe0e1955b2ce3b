/* Runtime dispatch: build the tables once, detect the CPU once, pick the best table or the
 * one MOEM_ISA names. Each SIMD table starts as a copy of the scalar table. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "moem_ops.h"
#include "moem.h"

static moem_ops t_scalar;
#if defined(MOEM_HAVE_AVX2)
static moem_ops t_avx2;
#endif
#if defined(MOEM_HAVE_AVX512)
static moem_ops t_avx512;
#endif
#if defined(MOEM_HAVE_NEON)
static moem_ops t_neon;
#endif
static const moem_ops *active;
static const char *active_error;
static pthread_once_t tables_once = PTHREAD_ONCE_INIT, choose_once = PTHREAD_ONCE_INIT;

/* A table's fill function is compiled with its ISA's flags and may itself use that ISA's
 * instructions: call it only on a CPU that has the ISA. */
#if defined(MOEM_HAVE_AVX2) || defined(MOEM_HAVE_AVX512)
static int cpu_has_avx2(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
static int cpu_has_avx512(void)
{
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && cpu_has_avx2();
}
#endif

static void build_tables(void)
{
    moem_ops_fill_reference(&t_scalar);
    moem_ops_fill_scalar(&t_scalar);
#if defined(MOEM_HAVE_AVX2)
    t_avx2 = t_scalar;
    t_avx2.name = "avx2";
    if (cpu_has_avx2()) moem_ops_fill_avx2(&t_avx2);
#endif
#if defined(MOEM_HAVE_AVX512)
    t_avx512 = t_scalar;
    t_avx512.name = "avx512";
    if (cpu_has_avx512()) moem_ops_fill_avx512(&t_avx512);
#endif
#if defined(MOEM_HAVE_NEON)
    t_neon = t_scalar;
    t_neon.name = "neon";
    moem_ops_fill_neon(&t_neon);
#endif
}

const moem_ops *moem_ops_scalar(void)
{
    pthread_once(&tables_once, build_tables);
    return &t_scalar;
}

/* The table for an ISA name, NULL when this build or this CPU lacks it. */
const moem_ops *moem_ops_by_name(const char *name)
{
    pthread_once(&tables_once, build_tables);
    if (strcmp(name, "scalar") == 0) return &t_scalar;
#if defined(MOEM_HAVE_AVX512)
    if (strcmp(name, "avx512") == 0)
        return cpu_has_avx512() ? &t_avx512 : NULL;
#endif
#if defined(MOEM_HAVE_AVX2)
    if (strcmp(name, "avx2") == 0)
        return cpu_has_avx2() ? &t_avx2 : NULL;
#endif
#if defined(MOEM_HAVE_NEON)
    if (strcmp(name, "neon") == 0) return &t_neon;   /* AdvSIMD is part of every AArch64 CPU */
#endif
    return NULL;
}

static const char *const best_first[] = {"avx512", "avx2", "neon", "scalar"};
static char error_text[160];

static void choose(void)
{
    const char *want = getenv("MOEM_ISA");
    if (want && *want) {
        active = moem_ops_by_name(want);
        if (!active) {                       /* the scalar table, and an error to report */
            char have[64] = "";
            for (size_t i = 0; i < sizeof best_first / sizeof best_first[0]; i++)
                if (moem_ops_by_name(best_first[i])) {
                    strcat(have, *have ? ", " : "");
                    strcat(have, best_first[i]);
                }
            snprintf(error_text, sizeof error_text,
                     "MOEM_ISA=%.40s is not supported by this build or CPU (available: %s)", want, have);
            active = moem_ops_scalar();
            active_error = error_text;
        }
        return;
    }
    for (size_t i = 0; !active && i < sizeof best_first / sizeof best_first[0]; i++)
        active = moem_ops_by_name(best_first[i]);
    if (!active) active = moem_ops_scalar();
}

const moem_ops *moem_ops_get(void)
{
    pthread_once(&choose_once, choose);
    return active;
}

int moem_ops_force(const char *name)
{
    const moem_ops *o = moem_ops_by_name(name);
    pthread_once(&choose_once, choose);
    if (!o) return -1;
    active = o;
    return 0;
}

const char *moem_ops_error(void)
{
    pthread_once(&choose_once, choose);
    return active_error;
}

const char *moem_isa_name(void) { return moem_ops_get()->name; }
