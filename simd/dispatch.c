/* Runtime dispatch: build the tables once, detect the CPU once, pick the best table or the
 * one MOEM_ISA names. Each SIMD table starts as a copy of the scalar table. The choice is made
 * once (pthread_once) and the active table is published through an atomic pointer, so that
 * concurrent first calls and a moem_ops_force beside readers all see a whole table. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "moem_ops.h"
#include "moem.h"

/* The names are const arrays of one size rather than string literals so that the proof (run
 * dispatch) knows their contents and extent: WP does not export those of literals. */
#define ISA_NAME_MAX 8
static const char name_scalar[ISA_NAME_MAX] = "scalar", name_avx2[ISA_NAME_MAX] = "avx2",
                  name_avx512[ISA_NAME_MAX] = "avx512", name_neon[ISA_NAME_MAX] = "neon",
                  isa_variable[] = "MOEM_ISA", list_sep[] = ", ";
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
static const char *active_error;
static pthread_once_t tables_once = PTHREAD_ONCE_INIT, choose_once = PTHREAD_ONCE_INIT;

/* The active table: written by choose (once) and moem_ops_force, read by moem_ops_get. The
 * build publishes it with a release store and reads it with an acquire load (<stdatomic.h>).
 * Frama-C ignores _Atomic and models the <stdatomic.h> operations on unsigned long long, which
 * WP cannot follow back to a pointer: the proof runs (dispatch, dispatch_neon) define
 * MOEM_PROOF_PLAIN_PUBLISH in proofs/stubs/dispatch_proof.h, and there active is a plain
 * pointer and the two operations are a plain load and store. */
#if defined(MOEM_PROOF_PLAIN_PUBLISH)
static const moem_ops *active;
#define active_load() (active)
#define active_store(o) (active = (o))
#else
#include <stdatomic.h>
static _Atomic(const moem_ops *) active;
#define active_load() atomic_load_explicit(&active, memory_order_acquire)
#define active_store(o) atomic_store_explicit(&active, (o), memory_order_release)
#endif

/* A table's fill function is compiled with its ISA's flags and may itself use that ISA's
 * instructions: call it only on a CPU that has the ISA. */
#if defined(MOEM_HAVE_AVX2) || defined(MOEM_HAVE_AVX512)
/*@ assigns \nothing; */
static int cpu_has_avx2(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
/*@ assigns \nothing; */
static int cpu_has_avx512(void)
{
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && cpu_has_avx2();
}
#endif

/* The tables of this build, for the assigns clause of build_tables */
#if defined(MOEM_HAVE_AVX2)
#define TABLE_AVX2 , t_avx2
#else
#define TABLE_AVX2
#endif
#if defined(MOEM_HAVE_AVX512)
#define TABLE_AVX512 , t_avx512
#else
#define TABLE_AVX512
#endif
#if defined(MOEM_HAVE_NEON)
#define TABLE_NEON , t_neon
#else
#define TABLE_NEON
#endif

/*@ assigns t_scalar TABLE_AVX2 TABLE_AVX512 TABLE_NEON; */
static void build_tables(void)
{
    moem_ops_fill_reference(&t_scalar);
    moem_ops_fill_scalar(&t_scalar);
#if defined(MOEM_HAVE_AVX2)
    t_avx2 = t_scalar;
    t_avx2.name = name_avx2;
    if (cpu_has_avx2()) moem_ops_fill_avx2(&t_avx2);
#endif
#if defined(MOEM_HAVE_AVX512)
    t_avx512 = t_scalar;
    t_avx512.name = name_avx512;
    if (cpu_has_avx512()) moem_ops_fill_avx512(&t_avx512);
#endif
#if defined(MOEM_HAVE_NEON)
    t_neon = t_scalar;
    t_neon.name = name_neon;
    moem_ops_fill_neon(&t_neon);
#endif
}

/*@ assigns tables_once, moem_once_effects; */
const moem_ops *moem_ops_scalar(void)
{
    pthread_once(&tables_once, build_tables);
    return &t_scalar;
}

/* The table for an ISA name, NULL when this build or this CPU lacks it. */
/*@ requires valid_name: valid_read_string(name);
    assigns tables_once, moem_once_effects; */
const moem_ops *moem_ops_by_name(const char *name)
{
    pthread_once(&tables_once, build_tables);
    if (strcmp(name, name_scalar) == 0) return &t_scalar;
#if defined(MOEM_HAVE_AVX512)
    if (strcmp(name, name_avx512) == 0)
        return cpu_has_avx512() ? &t_avx512 : NULL;
#endif
#if defined(MOEM_HAVE_AVX2)
    if (strcmp(name, name_avx2) == 0)
        return cpu_has_avx2() ? &t_avx2 : NULL;
#endif
#if defined(MOEM_HAVE_NEON)
    if (strcmp(name, name_neon) == 0) return &t_neon;   /* AdvSIMD is part of every AArch64 CPU */
#endif
    return NULL;
}

#define ISAS 4
static const char *const best_first[ISAS] = {name_avx512, name_avx2, name_neon, name_scalar};
static char error_text[160];

/* the length of an ISA name */
/*@ requires valid: \valid_read(s + (0 .. ISA_NAME_MAX - 1));
    assigns \nothing;
    ensures short: \result < ISA_NAME_MAX; */
static size_t name_len(const char *s)
{
    size_t k = 0;
    /*@ loop invariant 0 <= k < ISA_NAME_MAX;
        loop assigns k;
        loop variant ISA_NAME_MAX - k; */
    while (k + 1 < ISA_NAME_MAX && s[k]) k++;
    return k;
}

/* error_text for a MOEM_ISA this build or CPU lacks, with the list of the ISAs it has. The
 * names are found first and copied after, so that the proof (run dispatch) sees each name
 * read before the list buffer is written. */
/*@ requires valid_want: valid_read_string(want);
    assigns error_text[0 .. 159], tables_once, moem_once_effects; */
static void write_unsupported(const char *want)
{
    const char *names[ISAS];
    size_t lens[ISAS], n = 0;
    char have[ISAS * (ISA_NAME_MAX + 2)];   /* "avx512, avx2, neon, scalar" */
    /*@ loop invariant 0 <= n <= i <= ISAS;
        loop invariant names: \forall integer j; 0 <= j < n ==>
          lens[j] < ISA_NAME_MAX && \valid_read(names[j] + (0 .. ISA_NAME_MAX - 1)) &&
          \separated(names[j] + (0 .. ISA_NAME_MAX - 1), &have[0] + (0 .. ISAS * (ISA_NAME_MAX + 2) - 1));
        loop assigns i, n, names[0 .. ISAS - 1], lens[0 .. ISAS - 1], tables_once, moem_once_effects;
        loop variant ISAS - i; */
    for (size_t i = 0; i < ISAS; i++)
        if (moem_ops_by_name(best_first[i])) {
            names[n] = best_first[i];
            lens[n++] = name_len(best_first[i]);
        }
    size_t len = 0;
    /*@ loop invariant 0 <= j <= n && len <= (ISA_NAME_MAX + 1) * j;
        loop invariant names: \forall integer k; 0 <= k < n ==>
          lens[k] < ISA_NAME_MAX && \valid_read(names[k] + (0 .. ISA_NAME_MAX - 1)) &&
          \separated(names[k] + (0 .. ISA_NAME_MAX - 1), &have[0] + (0 .. ISAS * (ISA_NAME_MAX + 2) - 1));
        loop assigns j, len, have[0 .. ISAS * (ISA_NAME_MAX + 2) - 1];
        loop variant n - j; */
    for (size_t j = 0; j < n; j++) {
        if (j) {
            memcpy(have + len, list_sep, 2);
            len += 2;
        }
        memcpy(have + len, names[j], lens[j]);
        len += lens[j];
    }
    have[len] = '\0';
    snprintf(error_text, sizeof error_text,
             "MOEM_ISA=%.40s is not supported by this build or CPU (available: %s)", want, have);
}

/*@ assigns active, active_error, error_text[0 .. 159], tables_once, moem_once_effects; */
static void choose(void)
{
    const moem_ops *o = NULL;
    const char *want = getenv(isa_variable);
    if (want && *want) {
        o = moem_ops_by_name(want);
        if (!o) {                            /* the scalar table, and an error to report */
            write_unsupported(want);
            o = moem_ops_scalar();
            active_error = error_text;
        }
    } else {
        /*@ loop invariant 0 <= i <= ISAS;
            loop assigns i, o, tables_once, moem_once_effects;
            loop variant ISAS - i; */
        for (size_t i = 0; !o && i < ISAS; i++)
            o = moem_ops_by_name(best_first[i]);
        if (!o) o = moem_ops_scalar();
    }
    active_store(o);
}

const moem_ops *moem_ops_get(void)
{
    pthread_once(&choose_once, choose);
    return active_load();
}

/*@ requires valid_name: valid_read_string(name);
    assigns active, tables_once, choose_once, moem_once_effects; */
int moem_ops_force(const char *name)
{
    const moem_ops *o = moem_ops_by_name(name);
    pthread_once(&choose_once, choose);
    if (!o) return -1;
    active_store(o);
    return 0;
}

const char *moem_ops_error(void)
{
    pthread_once(&choose_once, choose);
    return active_error;
}

const char *moem_isa_name(void) { return moem_ops_get()->name; }
