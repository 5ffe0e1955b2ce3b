/* What the experiments share: text buffer, mean / sd, the log callback, gnuplot. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base.h"
#include "exp_common.h"
#include "output.h"

const char *moem_exp_method_name(int method)
{
    static const char *const name[MOEM_EXP_METHODS] = {"EM", "Gradient EM", "GD"};
    return method >= 0 && method < MOEM_EXP_METHODS ? name[method] : NULL;
}

void moem_sb_printf(moem_sbuf *b, const char *fmt, ...)
{
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) { b->oom = 1; return; }
        if (b->s && b->len + (size_t)n < b->cap) { b->len += (size_t)n; return; }
        size_t nc = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
        char *p = realloc(b->s, nc);
        if (!p) { b->oom = 1; return; }
        b->s = p;
        b->cap = nc;
    }
}

void moem_exp_mean_sd(const double *x, size_t n, size_t stride, double *mean, double *sd)
{
    double s = 0.0, q = 0.0;
    for (size_t i = 0; i < n; i++) s += x[i * stride];
    *mean = s / (double)n;
    for (size_t i = 0; i < n; i++) q += (x[i * stride] - *mean) * (x[i * stride] - *mean);
    *sd = n > 1 ? sqrt(q / (double)(n - 1)) : 0.0;
}

void moem_exp_logf(moem_exp_log log, void *ctx, const char *fmt, ...)
{
    if (!log) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log(ctx, line);
}

int moem_exp_gnuplot(const char *dir, const char *script, const char *text,
                     const char *const *outputs, size_t nout, char *err, size_t errlen)
{
    if (strchr(dir, '\'') || strchr(dir, '\\')) {
        MOEM_ERR(err, errlen, "%s: quotes or backslashes in the output path", dir);
        return -1;
    }
    char path[4200], log[4200], cmd[9000];
    snprintf(path, sizeof path, "%s/%s", dir, script);
    snprintf(log, sizeof log, "%s/gnuplot.log", dir);
    if (moem_write_text(path, text, err, errlen)) return -1;
    snprintf(cmd, sizeof cmd, "gnuplot '%s' 2>'%s'", path, log);
    int rc = system(cmd);
    if (rc != 0) {
        MOEM_ERR(err, errlen, "gnuplot failed (exit %d; is gnuplot installed? see %s)", rc, log);
        return -1;
    }
    for (size_t i = 0; i < nout; i++) {
        char from[4200], to[4200];
        snprintf(from, sizeof from, "%s/.%s.tmp", dir, outputs[i]);
        snprintf(to, sizeof to, "%s/%s", dir, outputs[i]);
        if (moem_output_place(from, to, err, errlen)) return -1;
    }
    remove(log);
    return 0;
}
