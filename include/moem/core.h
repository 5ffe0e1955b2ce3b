/* moem/core.h: what every other public header builds on: the export macro, the release, the
 * kernel table in use and the process's thread setting. */
#ifndef MOEM_CORE_H
#define MOEM_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MOEM_VERSION "0.1.0"   /* the release this header belongs to (CMakeLists.txt checks it) */

/* Marks the functions libmoem.so exports; everything else in the library is hidden. */
#if defined(__GNUC__) && !defined(MOEM_NO_VISIBILITY)
#define MOEM_API __attribute__((visibility("default")))
#else
#define MOEM_API
#endif

/* The library's release ("0.1.0"): compare with MOEM_VERSION to catch a header / library
 * mismatch. */
MOEM_API const char *moem_version(void);

/* The active kernel table: "scalar", "avx2", "avx512" or "neon" (chosen from the CPU on first
 * use, or by the environment variable MOEM_ISA). */
MOEM_API const char *moem_isa_name(void);

/* The process setting for the per-sample passes of calls whose moem_params.threads is 0 (and
 * of the functions without parameters, such as moem_objective); 0 = OMP_NUM_THREADS, or every
 * core. */
MOEM_API void moem_set_threads(int n);

#ifdef __cplusplus
}
#endif
#endif
