/* Checkpoints: a small line-oriented text file with hexadecimal floats (exact round trip).
 *
 *   moem-checkpoint 1
 *   model FAMILY SYMMETRIC K d C
 *   algo ALGO iter T
 *   params lr lr_gate learn_sigma2 inner_steps inner_lr newton_tol newton_max ridge
 *   W v ... (K*d values)
 *   B v ... (K*P*d values)
 *   sigma2 v ... (K values)
 *   trace o_0 s_0 o_1 s_1 ... (T+1 pairs)
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "csv.h"
#include "internal.h"

static void put_values(FILE *f, const char *tag, const double *v, size_t n)
{
    fputs(tag, f);
    for (size_t i = 0; i < n; i++) fprintf(f, " %a", v[i]);
    fputc('\n', f);
}

int moem_checkpoint_write(const char *path, const moem_model *m, const moem_params *p, int iter,
                          const double *objective, const double *seconds, char *err, size_t errlen)
{
    moem_atomic_file a;
    if (moem_atomic_open(&a, path, err, errlen)) return -1;
    FILE *f = a.f;
    size_t P = moem_expert_rows(m);
    fprintf(f, "moem-checkpoint 1\nmodel %s %d %zu %zu %zu\nalgo %s iter %d\n", moem_family_name(m->family),
            m->symmetric, m->K, m->d, m->C, moem_algo_name(p->algo), iter);
    fprintf(f, "params %a %a %d %d %a %a %d %a\n", p->lr, p->lr_gate, p->learn_sigma2, p->inner_steps,
            p->inner_lr, p->newton_tol, p->newton_max, p->ridge);
    put_values(f, "W", m->W, m->K * m->d);
    put_values(f, "B", m->B, m->K * P * m->d);
    put_values(f, "sigma2", m->sigma2, m->K);
    fputs("trace", f);
    for (int t = 0; t <= iter; t++) fprintf(f, " %a %a", objective[t], seconds[t]);
    fputc('\n', f);
    return moem_atomic_commit(&a, err, errlen);
}

/* reader state: the whole file in memory, a cursor, and the line for messages */
typedef struct rd { const char *path; char *buf, *p; int line; char *err; size_t errlen; } rd;

static int fail(rd *r, const char *what)
{
    MOEM_ERR(r->err, r->errlen, "%s:%d: %s", r->path, r->line, what);
    return -1;
}

static int expect_word(rd *r, const char *w)
{
    while (*r->p == ' ') r->p++;
    size_t n = strlen(w);
    if (strncmp(r->p, w, n) || (r->p[n] != ' ' && r->p[n] != '\n')) return -1;
    r->p += n;
    return 0;
}

static int get_word(rd *r, char *out, size_t outlen)
{
    while (*r->p == ' ') r->p++;
    size_t n = strcspn(r->p, " \n");
    if (n == 0 || n >= outlen) return -1;
    memcpy(out, r->p, n);
    out[n] = 0;
    r->p += n;
    return 0;
}

static int get_size(rd *r, size_t *v)
{
    char w[32], *end;
    if (get_word(r, w, sizeof w) || w[0] == '-') return -1;
    errno = 0;
    unsigned long long x = strtoull(w, &end, 10);
    if (errno || *end) return -1;
    *v = (size_t)x;
    return 0;
}

static int get_int(rd *r, int *v)
{
    char w[32], *end;
    if (get_word(r, w, sizeof w)) return -1;
    errno = 0;
    long x = strtol(w, &end, 10);
    if (errno || *end || x < -1000000000L || x > 1000000000L) return -1;
    *v = (int)x;
    return 0;
}

static int get_double(rd *r, double *v)
{
    char w[64], *end;
    if (get_word(r, w, sizeof w)) return -1;
    errno = 0;
    *v = strtod(w, &end);
    if (errno || *end) return -1;
    return 0;
}

static int end_line(rd *r)
{
    while (*r->p == ' ') r->p++;
    if (*r->p != '\n') return -1;
    r->p++;
    r->line++;
    return 0;
}

static int get_values(rd *r, const char *tag, double *v, size_t n)
{
    if (expect_word(r, tag)) return fail(r, "expected the values line");
    for (size_t i = 0; i < n; i++)
        if (get_double(r, &v[i]) || !isfinite(v[i])) return fail(r, "missing or invalid value");
    if (end_line(r)) return fail(r, "too many values");
    return 0;
}

int moem_checkpoint_read(const char *path, moem_model *m, moem_params *p, int *iter,
                         double **objective, double **seconds, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    *objective = *seconds = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) { MOEM_ERR(err, errlen, "%s: cannot open: %s", path, strerror(errno)); return -1; }
    rd r = {path, NULL, NULL, 1, err, errlen};
    size_t cap = 1 << 16, len = 0, got;
    r.buf = malloc(cap + 1);
    while (r.buf && (got = fread(r.buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) { char *nb = cap < ((size_t)1 << 34) ? realloc(r.buf, 2 * cap + 1) : NULL; if (!nb) { free(r.buf); r.buf = NULL; break; } r.buf = nb; cap *= 2; }
    }
    int ioerr = ferror(f);
    fclose(f);
    if (!r.buf || ioerr) { free(r.buf); MOEM_ERR(err, errlen, "%s: cannot read", path); return -1; }
    r.buf[len] = 0;
    if (memchr(r.buf, 0, len)) { free(r.buf); MOEM_ERR(err, errlen, "%s: not a moem checkpoint", path); return -1; }
    r.p = r.buf;
    int rc = -1;
    char fam[32], alg[32];
    size_t K, d, C;
    int sym;
    moem_family family;
    if (expect_word(&r, "moem-checkpoint") || expect_word(&r, "1") || end_line(&r)) { fail(&r, "not a moem checkpoint (version 1)"); goto out; }
    if (expect_word(&r, "model") || get_word(&r, fam, sizeof fam) || moem_family_parse(fam, &family) ||
        get_int(&r, &sym) || (sym != 0 && sym != 1) || get_size(&r, &K) || get_size(&r, &d) || get_size(&r, &C) || end_line(&r)) {
        fail(&r, "bad model line"); goto out;
    }
    if (moem_model_alloc(m, family, sym, K, d, C, err, errlen)) goto out;
    if (expect_word(&r, "algo") || get_word(&r, alg, sizeof alg) || moem_algo_parse(alg, &p->algo) ||
        expect_word(&r, "iter") || get_int(&r, iter) || *iter < 0 || end_line(&r)) { fail(&r, "bad algo line"); goto out; }
    if (expect_word(&r, "params") || get_double(&r, &p->lr) || get_double(&r, &p->lr_gate) || get_int(&r, &p->learn_sigma2) ||
        get_int(&r, &p->inner_steps) || get_double(&r, &p->inner_lr) || get_double(&r, &p->newton_tol) ||
        get_int(&r, &p->newton_max) || get_double(&r, &p->ridge) || end_line(&r)) { fail(&r, "bad params line"); goto out; }
    size_t P = moem_expert_rows(m);
    if (get_values(&r, "W", m->W, K * d) || get_values(&r, "B", m->B, K * P * d) || get_values(&r, "sigma2", m->sigma2, K)) goto out;
    *objective = moem_alloc_doubles((size_t)*iter + 1);
    *seconds = moem_alloc_doubles((size_t)*iter + 1);
    if (!*objective || !*seconds) { MOEM_ERR(err, errlen, "%s: out of memory", path); goto out; }
    if (expect_word(&r, "trace")) { fail(&r, "expected the trace line"); goto out; }
    for (int t = 0; t <= *iter; t++)
        if (get_double(&r, &(*objective)[t]) || get_double(&r, &(*seconds)[t])) { fail(&r, "trace too short"); goto out; }
    if (end_line(&r) || *r.p) { fail(&r, "trailing data"); goto out; }
    const char *bad = moem_model_validate(m);
    if (bad) { MOEM_ERR(err, errlen, "%s: %s", path, bad); goto out; }
    rc = 0;
out:
    free(r.buf);
    if (rc) {
        moem_model_free(m);
        free(*objective); free(*seconds);
        *objective = *seconds = NULL;
    }
    return rc;
}
