/* What the experiments (engine/experiments/) share: a growing text buffer, mean and sd over
 * instances, and gnuplot. Private to this layer. */
#ifndef MOEM_EXP_COMMON_H
#define MOEM_EXP_COMMON_H

#include <stddef.h>
#include "moem.h"

/* A text buffer that grows as it is written; oom is set (and later writes ignored) when
 * memory runs out. Start from {0}; free s. */
typedef struct moem_sbuf { char *s; size_t len, cap; int oom; } moem_sbuf;
void moem_sb_printf(moem_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* mean and sample standard deviation (n - 1; 0 when n = 1) of x[i*stride], i < n (n >= 1) */
void moem_exp_mean_sd(const double *x, size_t n, size_t stride, double *mean, double *sd);

/* The log callback with a formatted line (nothing when log is NULL). */
void moem_exp_logf(moem_exp_log log, void *ctx, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Writes the script DIR/SCRIPT atomically and runs gnuplot on it; the script writes each
 * output NAME as DIR/.NAME.tmp, and each is then moved into place, so that a figure is whole
 * or absent. gnuplot's messages go to DIR/gnuplot.log (removed on success). */
int moem_exp_gnuplot(const char *dir, const char *script, const char *text,
                     const char *const *outputs, size_t nout, char *err, size_t errlen);

#endif
