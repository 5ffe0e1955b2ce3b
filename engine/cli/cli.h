/* The moem command: one function per subcommand, each with its own getopt_long and --help. */
#ifndef MOEM_CLI_H
#define MOEM_CLI_H

#include <stddef.h>
#include <stdio.h>
#include "moem.h"

int moem_cmd_generate(int argc, char **argv);
int moem_cmd_fit(int argc, char **argv);
int moem_cmd_verify(int argc, char **argv);
int moem_cmd_experiment(int argc, char **argv);            /* dispatches on its first word */
int moem_cmd_experiment_synthetic(int argc, char **argv);
int moem_cmd_experiment_fmnist(int argc, char **argv);

/* Shared helpers (cli/common.c) */
void moem_cli_error(const char *cmd, const char *fmt, ...);   /* "moem CMD: ..." on stderr */
int moem_cli_parse_size(const char *s, size_t min, size_t max, size_t *out);
int moem_cli_parse_int(const char *s, long min, long max, long *out);
int moem_cli_parse_double(const char *s, double *out);        /* finite only */
int moem_cli_parse_u64(const char *s, unsigned long long *out);
/* --precision: "f64" (0) or "f32" (1); -1 for anything else */
int moem_cli_parse_precision(const char *s, int *f32);
/* symlin, symlog, linear, logistic, softmax */
int moem_model_spec_parse(const char *s, moem_family *family, int *symmetric);

/* A random start for fit: gate rows and expert rows with i.i.d. N(0, 1/d) entries. */
int moem_cli_random_model(moem_model *m, moem_family f, int symmetric, size_t K, size_t d,
                          size_t C, unsigned long long seed, char *err, size_t errlen);
#endif
