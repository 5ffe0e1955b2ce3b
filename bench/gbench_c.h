/* A thin C API over Google Benchmark (C++): register named benchmarks with integer
 * arguments, run the timed loop, keep values alive, report bytes, items and counters.
 * Implemented in gbench_c.cc. Times are wall clock (UseRealTime): the engine runs OpenMP; the
 * report's cpu_time is the whole process's CPU time (all threads). */
#ifndef MOEM_GBENCH_C_H
#define MOEM_GBENCH_C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gbc_state gbc_state;                 /* wraps benchmark::State */
typedef void (*gbc_fn)(gbc_state *st, void *ctx);

/* counter flags (same meaning as benchmark::Counter::Flags) */
enum {
    GBC_COUNT = 0,          /* the value as given */
    GBC_RATE = 1,           /* value / elapsed seconds */
    GBC_PER_ITER = 2,       /* value / iterations */
    GBC_INVERT = 4          /* 1 / result (with GBC_RATE: seconds per unit) */
};
enum { GBC_NS = 0, GBC_US = 1, GBC_MS = 2, GBC_S = 3 };

/* Registers name/args[0]/args[1]/... (nargs may be 0); ctx is passed to fn unchanged and must
 * outlive the run. unit: GBC_NS .. GBC_S for the report. Returns 0, or -1 on bad input. */
int gbc_register(const char *name, gbc_fn fn, void *ctx, const int64_t *args, size_t nargs,
                 int unit);

int gbc_keep_running(gbc_state *st);                /* while (gbc_keep_running(st)) { ... } */
int64_t gbc_arg(const gbc_state *st, size_t i);
int64_t gbc_iterations(const gbc_state *st);
void gbc_do_not_optimize(const void *p);            /* p (and what it points to) is observed */
void gbc_do_not_optimize_double(double v);
void gbc_clobber_memory(void);
void gbc_pause(gbc_state *st);
void gbc_resume(gbc_state *st);
void gbc_set_bytes_processed(gbc_state *st, int64_t bytes);   /* totals over all iterations */
void gbc_set_items_processed(gbc_state *st, int64_t items);
void gbc_counter(gbc_state *st, const char *name, double value, int flags);
void gbc_set_label(gbc_state *st, const char *label);
void gbc_skip_with_error(gbc_state *st, const char *msg);
/* a key: value pair in the report's context (before gbc_run) */
void gbc_add_context(const char *key, const char *value);

/* main: gbc_initialize (consumes --benchmark_* flags), then 0 if every other argument was
 * recognised; gbc_run returns the number of benchmarks run. */
int gbc_initialize(int *argc, char **argv);
size_t gbc_run(void);
void gbc_shutdown(void);

#ifdef __cplusplus
}
#endif
#endif
