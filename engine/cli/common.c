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
#include "moem_ops.h"

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

int moem_model_spec_parse(const char *s, moem_family *f, int *symmetric)
{
    *symmetric = 0;
    if (!strcmp(s, "symlin")) { *f = MOEM_LINEAR; *symmetric = 1; return 0; }
    if (!strcmp(s, "symlog")) { *f = MOEM_LOGISTIC; *symmetric = 1; return 0; }
    return moem_family_parse(s, f);
}

int moem_cli_exact_options(const char *cmd, int argc, char **argv, const struct option *opts)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) break;
        if (strncmp(a, "--", 2)) continue;
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct option *o = opts;
        while (o->name && (strlen(o->name) != len || strncmp(o->name, name, len))) o++;
        if (!o->name) {
            moem_cli_error(cmd, "unknown option '%.*s' (moem %s --help; options are never abbreviated)",
                           (int)(len + 2), a, cmd);
            return 2;
        }
        if (o->has_arg == required_argument && !eq) i++;   /* its value */
    }
    return 0;
}

int moem_cli_isa_ok(const char *cmd)
{
    if (!moem_ops_error()) return 0;
    moem_cli_error(cmd, "MOEM_ISA: %s", moem_ops_error());
    return 2;
}

/* a carriage return that is not followed by a line feed in the file's first 64 KiB */
static int bare_cr(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    for (size_t i = 0; i + 1 < n; i++)
        if (buf[i] == '\r' && buf[i + 1] != '\n') return 1;
    return 0;
}

int moem_cli_read_data(const char *cmd, const char *path, moem_data *data)
{
    char err[512];
    if (!moem_csv_read(path, data, err, sizeof err)) return 0;
    if (bare_cr(path))
        moem_cli_error(cmd, "%s: lines end in a carriage return alone (old Mac line endings); "
                       "convert them to line feeds, e.g. tr '\\r' '\\n' (the reader said: %s)", path, err);
    else moem_cli_error(cmd, "%s", err);
    return -1;
}

void moem_cli_data_error(const char *cmd, const char *path, const moem_data *d, const moem_model *m,
                         const char *why)
{
    if (d->d != m->d) {
        moem_cli_error(cmd, "%s: %s (model d = %zu, data d = %zu)", path, why, m->d, d->d);
        return;
    }
    for (size_t i = 0; i < d->n; i++) {
        double y = d->y[i];
        if ((m->family == MOEM_LOGISTIC && y != 0.0 && y != 1.0) ||
            (m->family == MOEM_SOFTMAX && (y < 0 || y >= (double)m->C || y != floor(y)))) {
            moem_cli_error(cmd, "%s:%zu:1: %s (found %g)", path, i + 2, why, y);
            return;
        }
    }
    moem_cli_error(cmd, "%s: %s", path, why);
}

int moem_cli_check_dir_outputs(const char *cmd, const char *dir, const char *const *names, size_t n)
{
    char path[4200], err[600];
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (moem_output_usable(path, err, sizeof err)) { moem_cli_error(cmd, "%s", err); return -1; }
    }
    return 0;
}
