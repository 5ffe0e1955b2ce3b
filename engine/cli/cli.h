/* The moem command: one function per subcommand, each with its own getopt_long and --help. */
#ifndef MOEM_CLI_H
#define MOEM_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include "moem.h"
#include "output.h"

int moem_cmd_generate(int argc, char **argv);
int moem_cmd_fit(int argc, char **argv);
int moem_cmd_predict(int argc, char **argv);
int moem_cmd_score(int argc, char **argv);
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

/* Exit codes of every subcommand (README "Exit status") */
enum { MOEM_EXIT_OK = 0, MOEM_EXIT_FAIL = 1, MOEM_EXIT_USAGE = 2 };
/* 0, or MOEM_EXIT_USAGE after an error line when a "--name" in argv is not one of opts spelled
 * out in full (getopt_long would take an unambiguous prefix; moem never does) */
int moem_cli_exact_options(const char *cmd, int argc, char **argv, const struct option *opts);
/* 0, or MOEM_EXIT_USAGE after an error line when MOEM_ISA asks for kernels that are not there.
 * Called after the options are parsed, so that --help never depends on it. */
int moem_cli_isa_ok(const char *cmd);
/* moem_csv_read with its error printed (a file with CR-only line endings is named as such) */
int moem_cli_read_data(const char *cmd, const char *path, moem_data *data);
/* "FILE:LINE:1: why (found y)" for the first response the model rejects (CSV row i is line
 * i + 2), the two sizes when d differs, else "FILE: why" */
void moem_cli_data_error(const char *cmd, const char *path, const moem_data *d, const moem_model *m,
                         const char *why);
/* moem_output_usable for DIR/NAME, each name: 0, or -1 after an error line */
int moem_cli_check_dir_outputs(const char *cmd, const char *dir, const char *const *names, size_t n);
#endif
