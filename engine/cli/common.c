/* Small helpers shared by the subcommands: error lines and strict number parsing. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "rng.h"

void moem_cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "moem %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int moem_cli_parse_int(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) return -1;
    *out = v;
    return 0;
}

int moem_cli_parse_size(const char *s, size_t min, size_t max, size_t *out)
{
    char *end;
    if (*s == '-' || *s == '+') return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) return -1;
    *out = (size_t)v;
    return 0;
}

int moem_cli_parse_u64(const char *s, unsigned long long *out)
{
    char *end;
    if (*s == '-' || *s == '+') return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end) return -1;
    *out = v;
    return 0;
}

int moem_cli_parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int moem_cli_parse_precision(const char *s, int *f32)
{
    if (!strcmp(s, "f64")) *f32 = 0;
    else if (!strcmp(s, "f32")) *f32 = 1;
    else return -1;
    return 0;
}

int moem_cli_random_model(moem_model *m, moem_family f, int symmetric, size_t K, size_t d,
                          size_t C, unsigned long long seed, char *err, size_t errlen)
{
    if (moem_model_alloc(m, f, symmetric, K, d, C, err, errlen)) return -1;
    moem_rng r;
    moem_rng_seed(&r, seed);
    double s = 1.0 / sqrt((double)d);
    size_t P = moem_expert_rows(m);
    for (size_t i = 0; i + 1 < K; i++)
        for (size_t c = 0; c < d; c++) m->W[i * d + c] = s * moem_rng_normal(&r);
    for (size_t i = 0; i < K * P * d; i++) m->B[i] = s * moem_rng_normal(&r);
    if (symmetric)
        for (size_t c = 0; c < d; c++) m->B[d + c] = -m->B[c];
    return 0;
}

int moem_model_spec_parse(const char *s, moem_family *f, int *symmetric)
{
    *symmetric = 0;
    if (!strcmp(s, "symlin")) { *f = MOEM_LINEAR; *symmetric = 1; return 0; }
    if (!strcmp(s, "symlog")) { *f = MOEM_LOGISTIC; *symmetric = 1; return 0; }
    return moem_family_parse(s, f);
}
