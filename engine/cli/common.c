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

int moem_outfile_open(moem_outfile *o, const char *path, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    size_t len = strlen(path);
    o->path = strdup(path);
    o->tmp = malloc(len + 16);
    if (!o->path || !o->tmp) { snprintf(err, errlen, "%s: out of memory", path); goto fail; }
    snprintf(o->tmp, len + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(o->tmp);
    if (fd < 0) { snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno)); goto fail; }
    o->f = fdopen(fd, "w");
    if (!o->f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
        unlink(o->tmp);
        goto fail;
    }
    return 0;
fail:
    free(o->path);
    free(o->tmp);
    memset(o, 0, sizeof *o);
    return -1;
}

int moem_outfile_commit(moem_outfile *o, char *err, size_t errlen)
{
    int bad = ferror(o->f) != 0;
    bad |= fflush(o->f) != 0;
    bad |= fsync(fileno(o->f)) != 0;
    bad |= fclose(o->f) != 0;
    o->f = NULL;
    if (!bad) {
        struct stat st;
        if (stat(o->path, &st) == 0 && S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "%s: is a directory", o->path);
            bad = 1;
        } else if (rename(o->tmp, o->path) != 0) {
            snprintf(err, errlen, "%s: cannot write: %s", o->path, strerror(errno));
            bad = 1;
        }
    } else {
        snprintf(err, errlen, "%s: write failed: %s", o->path, strerror(errno));
    }
    if (bad) unlink(o->tmp);
    free(o->path);
    free(o->tmp);
    memset(o, 0, sizeof *o);
    return bad ? -1 : 0;
}

void moem_outfile_abort(moem_outfile *o)
{
    if (o->f) fclose(o->f);
    if (o->tmp) unlink(o->tmp);
    free(o->path);
    free(o->tmp);
    memset(o, 0, sizeof *o);
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
