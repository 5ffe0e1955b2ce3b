/* Checkpoints: a small line-oriented text file with hexadecimal floats (exact round trip),
 * O(model) to write, and its trace in a second file that only grows.
 *
 *   moem-checkpoint 2
 *   model FAMILY SYMMETRIC K d C
 *   data N d HASH PRECISION       (HASH: FNV-1a/64 of the data, 16 hex digits; PRECISION 64 or 32)
 *   algo ALGO iter T
 *   params lr lr_gate learn_sigma2 inner_steps inner_lr newton_tol newton_max ridge
 *   W v ... (K*d values)
 *   B v ... (K*P*d values)
 *   sigma2 v ... (K values)
 *   trace run RUN                 (RUN: 16 hex digits, the same in the trace file)
 *
 * The trace file PATH.trace:
 *
 *   moem-trace 1 run RUN
 *   o_t s_t                       (one line per iteration t = 0, 1, ...; at least T + 1 lines)
 *
 * Each write appends the new iterations' lines to PATH.trace (fsynced), then replaces PATH
 * atomically, so PATH never refers to lines that are not on disk; lines after iteration T (an
 * interrupted write) are ignored by the reader and overwritten by the next write.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "csv.h"
#include "internal.h"

static void put_values(FILE *f, const char *tag, const double *v, size_t n)
{
    fputs(tag, f);
    for (size_t i = 0; i < n; i++) fprintf(f, " %a", v[i]);
    fputc('\n', f);
}

uint64_t moem_data_hash(const moem_data *data)
{
    uint64_t h = 0xcbf29ce484222325ull;
    unsigned char b[8];
#define FNV_BYTES(v) do { memcpy(b, &(v), 8); for (int k_ = 0; k_ < 8; k_++) h = (h ^ b[k_]) * 0x100000001b3ull; } while (0)
    uint64_t n = data->n, d = data->d;
    FNV_BYTES(n);
    FNV_BYTES(d);
    for (size_t i = 0; i < data->n * data->d; i++) {
        double x = data->X ? data->X[i] : (double)data->Xf[i];
        FNV_BYTES(x);
    }
    for (size_t i = 0; i < data->n; i++) FNV_BYTES(data->y[i]);
#undef FNV_BYTES
    return h;
}

/* PATH + ".trace" (malloc'ed), NULL when out of memory. Trusted by the proof through its
 * contract (run checkpoint_read does not analyse its body: WP has no strlen across memcpy). */
/*@ requires path: valid_read_string(path);
    assigns \nothing;
    ensures name: \result == \null || valid_read_string(\result); */
static char *trace_path(const char *path)
{
    static const char suffix[] = ".trace";
    const size_t n = strlen(path);
    char *name = n < SIZE_MAX - sizeof suffix ? malloc(n + sizeof suffix) : NULL;
    if (!name) return NULL;
    memcpy(name, path, n);
    memcpy(name + n, suffix, sizeof suffix);
    return name;
}

/* iterations info->trace_have + 1 .. iter into the trace file: the whole file, atomically,
 * when it has none yet; else written from info->trace_end on, then cut and fsynced */
static int trace_write(const char *tpath, moem_checkpoint_info *info, int iter, const double *o,
                       const double *s, char *err, size_t errlen)
{
    long end;
    if (info->trace_have < 0) {
        moem_atomic_file a;
        if (moem_atomic_open(&a, tpath, err, errlen)) return -1;
        fprintf(a.f, "moem-trace 1 run %016llx\n", (unsigned long long)info->run);
        for (int t = 0; t <= iter; t++) fprintf(a.f, "%a %a\n", o[t], s[t]);
        end = ftell(a.f);
        if (moem_atomic_commit(&a, err, errlen)) return -1;
    } else {
        FILE *f = fopen(tpath, "r+");
        if (!f) { MOEM_ERR(err, errlen, "%s: cannot open: %s", tpath, strerror(errno)); return -1; }
        int bad = fseek(f, info->trace_end, SEEK_SET) != 0;
        for (int t = info->trace_have + 1; t <= iter && !bad; t++) bad = fprintf(f, "%a %a\n", o[t], s[t]) < 0;
        end = ftell(f);
        bad = bad || end < 0 || fflush(f) != 0 || ftruncate(fileno(f), end) != 0 || fsync(fileno(f)) != 0;
        int e = errno;
        if (fclose(f) != 0 && !bad) bad = 1, e = errno;
        if (bad) { MOEM_ERR(err, errlen, "%s: cannot write: %s", tpath, strerror(e)); return -1; }
    }
    info->trace_have = iter;
    info->trace_end = end;
    return 0;
}

int moem_checkpoint_write(const char *path, const moem_model *m, const moem_params *p,
                          moem_checkpoint_info *info, int iter, const double *objective,
                          const double *seconds, char *err, size_t errlen)
{
    char *tpath = trace_path(path);
    if (!tpath) { MOEM_ERR(err, errlen, "%s: out of memory for the trace file's name", path); return -1; }
    int rc = trace_write(tpath, info, iter, objective, seconds, err, errlen);
    free(tpath);
    if (rc) return -1;
    moem_atomic_file a;
    if (moem_atomic_open(&a, path, err, errlen)) return -1;
    FILE *f = a.f;
    size_t P = moem_expert_rows(m);
    fprintf(f, "moem-checkpoint 2\nmodel %s %d %zu %zu %zu\n", moem_family_name(m->family), m->symmetric,
            m->K, m->d, m->C);
    fprintf(f, "data %zu %zu %016llx %d\nalgo %s iter %d\n", info->n, info->d,
            (unsigned long long)info->data_hash, info->precision, moem_algo_name(p->algo), iter);
    fprintf(f, "params %a %a %d %d %a %a %d %a\n", p->lr, p->lr_gate, p->learn_sigma2, p->inner_steps,
            p->inner_lr, p->newton_tol, p->newton_max, p->ridge);
    put_values(f, "W", m->W, m->K * m->d);
    put_values(f, "B", m->B, m->K * P * m->d);
    put_values(f, "sigma2", m->sigma2, m->K);
    fprintf(f, "trace run %016llx\n", (unsigned long long)info->run);
    return moem_atomic_commit(&a, err, errlen);
}

/* reader state: the whole file in memory (len bytes and a NUL, none before it), the cursor at,
 * and the line for messages */
typedef struct rd { const char *path; char *buf; size_t at, len; int line; char *err; size_t errlen; } rd;

/*@ // the cursor inside the file's text, which ends in a NUL, and the message buffer
    // (run checkpoint_read)
    predicate rd_err(rd *r) = r->errlen == 0 || \valid(r->err + (0 .. r->errlen - 1));
    predicate rd_ok(rd *r) = r->at <= r->len <= SIZE_MAX / 2 && \valid(r->buf + (0 .. r->len)) &&
                             r->buf[r->len] == '\0' && rd_err(r);
*/

/*@ requires valid: \valid(r) && rd_err(r);
    assigns r->err[0 .. r->errlen - 1];
    ensures failed: \result == -1; */
static int fail(rd *r, const char *what)
{
    MOEM_ERR(r->err, r->errlen, "%s:%d: %s", r->path, r->line, what);
    return -1;
}

/* the cursor past the blanks */
/*@ requires valid: \valid(r) && rd_ok(r);
    assigns r->at;
    ensures ok: rd_ok(r) && \old(r->at) <= r->at; */
static void skip_blanks(rd *r)
{
    /*@ loop invariant rd_ok(r) && \at(r->at, Pre) <= r->at;
        loop assigns r->at;
        loop variant r->len - r->at; */
    while (r->buf[r->at] == ' ') r->at++;
}

/* the word w (n characters, none of them NUL) at the cursor, ended by a blank or a line break:
 * 0 and the cursor past it, else -1 */
/*@ requires valid: \valid(r) && rd_ok(r) && \valid_read(w + (0 .. n - 1));
    assigns r->at;
    ensures ok: rd_ok(r); */
static int expect_word(rd *r, const char *w, size_t n)
{
    skip_blanks(r);
    /*@ loop invariant 0 <= j <= n && r->at + j <= r->len;
        loop assigns j;
        loop variant n - j; */
    for (size_t j = 0; j < n; j++)
        if (r->buf[r->at + j] == '\0' || r->buf[r->at + j] != w[j]) return -1;
    if (r->buf[r->at + n] != ' ' && r->buf[r->at + n] != '\n') return -1;
    r->at += n;
    return 0;
}
#define EXPECT(r, w) expect_word(r, w, sizeof w - 1)

/* the word at the cursor (up to a blank, a line break or the end) into out[0 .. outlen-1] with
 * its NUL: its length, else 0 (no word, or one of outlen characters or more) */
/*@ requires valid: \valid(r) && rd_ok(r);
    requires out: 1 <= outlen && \valid(out + (0 .. outlen - 1)) &&
                  \separated(out + (0 .. outlen - 1), r->buf + (0 .. r->len));
    assigns r->at, out[0 .. outlen - 1];
    ensures ok: rd_ok(r);
    ensures word: \result < outlen && (\result != 0 ==> out[\result] == '\0'); */
static size_t get_word(rd *r, char *out, size_t outlen)
{
    skip_blanks(r);
    size_t n = 0;
    /*@ loop invariant 0 <= n < outlen && r->at + n <= r->len;
        loop assigns n, out[0 .. outlen - 1];
        loop variant r->len - (r->at + n); */
    for (;;) {
        const char ch = r->buf[r->at + n];
        if (ch == ' ' || ch == '\n' || ch == '\0') break;
        if (n + 1 >= outlen) return 0;
        out[n++] = ch;
    }
    out[n] = '\0';
    r->at += n;
    return n;
}

/*@ requires valid: \valid(r) && rd_ok(r) && \valid(v) && \separated(v, r);
    assigns r->at, *v, errno;
    ensures ok: rd_ok(r); */
static int get_size(rd *r, size_t *v)
{
    char w[32], *end;
    const size_t n = get_word(r, w, sizeof w);
    if (n == 0 || w[0] == '-') return -1;
    errno = 0;
    unsigned long long x = strtoull(w, &end, 10);
    if (errno || end != w + n) return -1;   /* the whole word */
    *v = (size_t)x;
    return 0;
}

/* a word of hexadecimal digits (the data's hash, the run) */
/*@ requires valid: \valid(r) && rd_ok(r) && \valid(v) && \separated(v, r);
    assigns r->at, *v, errno;
    ensures ok: rd_ok(r); */
static int get_hex(rd *r, uint64_t *v)
{
    char w[32], *end;
    const size_t n = get_word(r, w, sizeof w);
    if (n == 0 || w[0] == '-' || w[0] == '+') return -1;
    errno = 0;
    unsigned long long x = strtoull(w, &end, 16);
    if (errno || end != w + n) return -1;
    *v = (uint64_t)x;
    return 0;
}

/*@ requires valid: \valid(r) && rd_ok(r) && \valid(v);
    assigns r->at, *v, errno;
    ensures ok: rd_ok(r);
    ensures range: \result == 0 ==> -1000000000 <= *v <= 1000000000; */
static int get_int(rd *r, int *v)
{
    char w[32], *end;
    const size_t n = get_word(r, w, sizeof w);
    if (n == 0) return -1;
    errno = 0;
    long x = strtol(w, &end, 10);
    if (errno || end != w + n || x < -1000000000L || x > 1000000000L) return -1;
    *v = (int)x;
    return 0;
}

/*@ requires valid: \valid(r) && rd_ok(r) && \valid(v);
    assigns r->at, *v, errno;
    ensures ok: rd_ok(r); */
static int get_double(rd *r, double *v)
{
    char w[64], *end;
    const size_t n = get_word(r, w, sizeof w);
    if (n == 0) return -1;
    errno = 0;
    *v = strtod(w, &end);
    if (errno || end != w + n) return -1;
    return 0;
}

/*@ requires valid: \valid(r) && rd_ok(r);
    assigns r->at, r->line;
    ensures ok: rd_ok(r); */
static int end_line(rd *r)
{
    skip_blanks(r);
    if (r->buf[r->at] != '\n') return -1;
    r->at++;
    if (r->line < INT_MAX) r->line++;
    return 0;
}

/* the line "TAG v_0 ... v_{n-1}" into v[0 .. n-1] */
/*@ requires valid: \valid(r) && rd_ok(r) && \valid_read(tag + (0 .. tn - 1));
    requires values: \valid(v + (0 .. n - 1));
    assigns r->at, r->line, v[0 .. n - 1], errno, r->err[0 .. r->errlen - 1];
    ensures ok: \result == 0 ==> rd_ok(r); */
static int get_values(rd *r, const char *tag, size_t tn, double *v, size_t n)
{
    if (expect_word(r, tag, tn)) return fail(r, "expected the values line");
    /*@ loop invariant 0 <= i <= n && rd_ok(r);
        loop assigns i, r->at, v[0 .. n - 1], errno;
        loop variant n - i; */
    for (size_t i = 0; i < n; i++) {
        double x;
        if (get_double(r, &x) || !isfinite(x)) return fail(r, "missing or invalid value");
        v[i] = x;
    }
    if (end_line(r)) return fail(r, "too many values");
    return 0;
}
#define GET_VALUES(r, tag, v, n) get_values(r, tag, sizeof tag - 1, v, n)

/*@ requires valid: \valid(r) && rd_ok(r) && \valid(f);
    assigns r->at, *f;
    ensures ok: rd_ok(r); */
static int get_family(rd *r, moem_family *f)
{
    char w[32];
    if (get_word(r, w, sizeof w) == 0) return -1;
    //@ assert word: valid_read_string(&w[0]);
    return moem_family_parse(w, f) ? -1 : 0;
}

/*@ requires valid: \valid(r) && rd_ok(r) && \valid(a);
    assigns r->at, *a;
    ensures ok: rd_ok(r); */
static int get_algo(rd *r, moem_algo *a)
{
    char w[32];
    if (get_word(r, w, sizeof w) == 0) return -1;
    //@ assert word: valid_read_string(&w[0]);
    return moem_algo_parse(w, a) ? -1 : 0;
}

/* the first two lines, and the model they describe allocated: its sizes in *K, *P, *d (msg:
 * room for moem_model_alloc's message, apart from the file's text) */
/*@ requires valid: \valid(r) && rd_ok(r) && \valid(m) && \valid(K) && \valid(P) && \valid(d);
    requires sep: \separated(K, P, d, r, m);
    requires msg: \valid(msg + (0 .. 199)) && \separated(msg + (0 .. 199), r->buf + (0 .. r->len));
    assigns *m, *K, *P, *d, r->at, r->line, errno, r->err[0 .. r->errlen - 1], msg[0 .. 199];
    ensures ok: \result == 0 ==> rd_ok(r);
    ensures model: \result == 0 ==> moem_model_arrays(m, *K, *P, *d); */
static int ckpt_model(rd *r, moem_model *m, size_t *K, size_t *P, size_t *d, char *msg)
{
    moem_family family;
    size_t C;
    int sym;
    if (EXPECT(r, "moem-checkpoint") || EXPECT(r, "2") || end_line(r))
        return fail(r, "not a moem checkpoint (version 2)");
    if (EXPECT(r, "model") || get_family(r, &family) || get_int(r, &sym) || (sym != 0 && sym != 1) ||
        get_size(r, K) || get_size(r, d) || get_size(r, &C) || end_line(r))
        return fail(r, "bad model line");
    if (moem_model_alloc(m, family, sym, *K, *d, C, msg, 200)) {
        MOEM_ERR(r->err, r->errlen, "%s: %s", r->path, msg);
        return -1;
    }
    const size_t rows = moem_expert_rows(m);
    //@ assert rows: rows == (family == MOEM_SOFTMAX ? C : 1);
    //@ assert arrays: moem_model_arrays(m, *K, rows, *d);
    *P = rows;
    return 0;
}

/* the data line: the fingerprint of the data the run was on */
/*@ requires valid: \valid(r) && rd_ok(r) && \valid(info) && \separated(info, r);
    assigns info->n, info->d, info->data_hash, info->precision, r->at, r->line, errno,
            r->err[0 .. r->errlen - 1];
    ensures ok: \result == 0 ==> rd_ok(r); */
static int ckpt_data(rd *r, moem_checkpoint_info *info)
{
    if (EXPECT(r, "data") || get_size(r, &info->n) || get_size(r, &info->d) ||
        get_hex(r, &info->data_hash) || get_int(r, &info->precision) ||
        (info->precision != 64 && info->precision != 32) || end_line(r))
        return fail(r, "bad data line");
    return 0;
}

/* the algo and params lines */
/*@ requires valid: \valid(r) && rd_ok(r) && \valid(p) && \valid(iter) && \separated(iter, p, r);
    assigns *p, *iter, r->at, r->line, errno, r->err[0 .. r->errlen - 1];
    ensures params: \result == 0 ==> rd_ok(r) && 0 <= *iter <= 1000000000; */
static int ckpt_params(rd *r, moem_params *p, int *iter)
{
    if (EXPECT(r, "algo") || get_algo(r, &p->algo) || EXPECT(r, "iter") || get_int(r, iter) ||
        *iter < 0 || end_line(r))
        return fail(r, "bad algo line");
    if (EXPECT(r, "params") || get_double(r, &p->lr) || get_double(r, &p->lr_gate) ||
        get_int(r, &p->learn_sigma2) || get_int(r, &p->inner_steps) || get_double(r, &p->inner_lr) ||
        get_double(r, &p->newton_tol) || get_int(r, &p->newton_max) || get_double(r, &p->ridge) ||
        end_line(r))
        return fail(r, "bad params line");
    return 0;
}

/* the W, B and sigma2 lines into the model's arrays */
/*@ requires valid: \valid(r) && rd_ok(r) && \valid(m) && moem_model_arrays(m, K, P, d);
    assigns r->at, r->line, errno, r->err[0 .. r->errlen - 1], m->W[0 .. K * d - 1],
            m->B[0 .. K * (P * d) - 1], m->sigma2[0 .. K - 1];
    ensures values: \result == 0 ==> rd_ok(r); */
static int ckpt_values(rd *r, moem_model *m, size_t K, size_t P, size_t d)
{
    //@ ghost moem_mul_le(1, K, P * d);
    //@ ghost moem_mul_le(1, P, d);
    //@ ghost moem_mul_le(d, P * d, K);
    if (GET_VALUES(r, "W", m->W, K * d) || GET_VALUES(r, "B", m->B, K * (P * d)) ||
        GET_VALUES(r, "sigma2", m->sigma2, K))
        return -1;
    return 0;
}

/* the last line: the run, which the trace file names too, and the end of the file */
/*@ requires valid: \valid(r) && rd_ok(r) && \valid(run) && \separated(run, r);
    assigns r->at, r->line, errno, *run, r->err[0 .. r->errlen - 1]; */
static int ckpt_run(rd *r, uint64_t *run)
{
    if (EXPECT(r, "trace") || EXPECT(r, "run") || get_hex(r, run) || end_line(r))
        return fail(r, "bad trace line");
    if (r->buf[r->at]) return fail(r, "trailing data");
    return 0;
}

/* the trace file: its header, which names the checkpoint's run, then T lines "o s" into
 * o[0 .. T-1] and s[0 .. T-1]; lines after them are ignored (an interrupted write); where they
 * end into *have and *end */
/*@ requires valid: \valid(r) && rd_ok(r) && \valid(o + (0 .. T - 1)) && \valid(s + (0 .. T - 1));
    requires ends: \valid(have) && \valid(end) && \separated(have, end, r) && 1 <= T <= 1000000001;
    assigns r->at, r->line, errno, r->err[0 .. r->errlen - 1], o[0 .. T - 1], s[0 .. T - 1],
            *have, *end; */
static int ckpt_trace(rd *r, uint64_t run, size_t T, double *o, double *s, int *have, long *end)
{
    uint64_t id;
    if (EXPECT(r, "moem-trace") || EXPECT(r, "1") || EXPECT(r, "run") || get_hex(r, &id) || end_line(r))
        return fail(r, "not a moem trace file (version 1)");
    if (id != run) return fail(r, "the trace file is not the one of its checkpoint (another run)");
    /*@ loop invariant 0 <= t <= T && rd_ok(r);
        loop assigns t, r->at, r->line, errno, o[0 .. T - 1], s[0 .. T - 1];
        loop variant T - t; */
    for (size_t t = 0; t < T; t++)
        if (get_double(r, &o[t]) || get_double(r, &s[t]) || end_line(r)) return fail(r, "trace too short");
    if (r->at > LONG_MAX) return fail(r, "trace file too long");
    *have = (int)(T - 1);
    *end = (long)r->at;
    return 0;
}

/* what the reader fills; T: the trace's points once the checkpoint is read (0 before), o and s
 * the traces then allocated, po and ps where they go; tf: the trace file, opened first (NULL
 * when it cannot be opened) */
typedef struct ck_out {
    moem_model *m;
    moem_params *p;
    moem_checkpoint_info *info;
    int *iter;
    double **po, **ps;
    FILE *tf;
    double *o, *s;
    size_t T;
    char *err;         /* the caller's message buffer, for the trace file's reader */
    size_t errlen;
} ck_out;

/*@ // the reader's outputs: valid, apart, and the traces T values each (run checkpoint_read)
    predicate ck_out_ok(ck_out *c) = \valid(c) && \valid(c->m) && \valid(c->p) && \valid(c->info) &&
      \valid(c->iter) && \valid(c->po) && \valid(c->ps) && (c->tf == \null || \valid(c->tf)) &&
      (c->errlen == 0 || \valid(c->err + (0 .. c->errlen - 1))) &&
      \separated(c, c->m, c->p, c->info, c->iter, c->po, c->ps) &&
      (c->T > 0 ==> \valid(c->o + (0 .. c->T - 1)) && \valid(c->s + (0 .. c->T - 1)));
    // the cursor's record apart from the outputs
    predicate ck_apart(rd *r, ck_out *c) = \separated(r, c, c->m, c->p, c->info, c->iter, c->po, c->ps);
    // the outputs' addresses unchanged between two points
    predicate ck_same{L1, L2}(ck_out *c) =
      \at(c->m, L1) == \at(c->m, L2) && \at(c->p, L1) == \at(c->p, L2) &&
      \at(c->info, L1) == \at(c->info, L2) && \at(c->iter, L1) == \at(c->iter, L2) &&
      \at(c->po, L1) == \at(c->po, L2) && \at(c->ps, L1) == \at(c->ps, L2) && \at(c->tf, L1) == \at(c->tf, L2);
*/

/* the checkpoint's lines into c: the model and the settings (the caller then allocates the
 * traces). No assigns clause: the model goes to blocks the function allocates, which an assigns
 * clause (read before the call) cannot name; its caller then knows only what the ensures
 * clause states. */
/*@ requires valid: \valid(r) && rd_ok(r) && ck_out_ok(c) && c->T == 0 && ck_apart(r, c);
    ensures kept_same: ck_same{Old, Here}(c) && c->T == 0;
    ensures kept_apart: ck_apart(r, c);
    ensures kept_out: ck_out_ok(c);
    ensures read: \result == 0 ==> 0 <= *c->iter <= 1000000000; */
static int ckpt_fields(rd *r, ck_out *c)
{
    size_t K, P, d;
    char msg[200];   /* not r->err: the proof keeps the file's text apart from it */
    /* the outputs' addresses read once, before any call (the proof then need not show that
     * each call left them alone) */
    moem_model *m = c->m;
    moem_checkpoint_info *info = c->info;
    moem_params *p = c->p;
    int *iter = c->iter;
    if (ckpt_model(r, m, &K, &P, &d, msg) || ckpt_data(r, info) || ckpt_params(r, p, iter) ||
        ckpt_values(r, m, K, P, d) || ckpt_run(r, &info->run))
        return -1;
    const char *bad = moem_model_validate(m);
    if (bad) { MOEM_ERR(r->err, r->errlen, "%s: %s", r->path, bad); return -1; }
    return 0;
}

/* "PATH: what" */
/*@ requires valid: \valid(r) && rd_err(r);
    assigns r->err[0 .. r->errlen - 1];
    ensures failed: \result == -1; */
static int load_fail(rd *r, const char *what)
{
    MOEM_ERR(r->err, r->errlen, "%s: %s", r->path, what);
    return -1;
}

/* the checkpoint path, then its trace file path.trace (both opened first) */
/*@ requires path: valid_read_string(path);
    requires out: \valid(m) && \valid(p) && \valid(info) && \valid(iter) && \valid(objective) &&
                  \valid(seconds) && \separated(objective, seconds, m, p, info, iter);
    requires err: errlen == 0 || \valid(err + (0 .. errlen - 1)); */
int moem_checkpoint_read(const char *path, moem_model *m, moem_params *p, moem_checkpoint_info *info,
                         int *iter, double **objective, double **seconds, char *err, size_t errlen)
{
    static const char mode[] = "rb";   /* an array: the proof reads its contents */
    rd r = {.path = path, .line = 1, .err = err, .errlen = errlen};
    *m = (moem_model){0};
    *objective = *seconds = NULL;
    char *tpath = trace_path(path);
    if (!tpath) return load_fail(&r, "out of memory for the trace file's name");
    FILE *f = fopen(path, mode);
    if (!f) {
        MOEM_ERR(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        free(tpath);
        return -1;
    }
    ck_out c = {.m = m, .p = p, .info = info, .iter = iter, .po = objective, .ps = seconds,
                .tf = fopen(tpath, mode), .o = NULL, .s = NULL, .T = 0, .err = err, .errlen = errlen};
    /* Each file is read whole into a block of its own by the same loop, written out twice so
     * that its reader is a local: WP then knows the reads cannot touch it. No loop assigns:
     * the file goes to a block the loop allocates, which an assigns clause cannot name; WP
     * lets the loop change anything and keeps only what the invariants state (sound, and every
     * access is still checked against them). */
    size_t cap = (size_t)1 << 16, len = 0, got;
    char *buf = malloc(cap + 1);
    /*@ loop invariant buf: buf == \null || (len < cap <= ((size_t)1 << 35) && \valid(buf + (0 .. cap)));
        loop invariant file: \valid(f);
        loop invariant reader: \valid(&r) && rd_err(&r) && r.path == path;
        loop invariant out: ck_out_ok(&c) && ck_apart(&r, &c) && c.T == 0; */
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            char *nb = cap < ((size_t)1 << 34) ? realloc(buf, 2 * cap + 1) : NULL;
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
    }
    int rc = ferror(f);
    fclose(f);
    if (!buf || rc) rc = load_fail(&r, "cannot read");
    else {
        buf[len] = '\0';
        if (memchr(buf, 0, len)) rc = load_fail(&r, "not a moem checkpoint (a NUL byte)");
    }
    if (!rc) {
        r.buf = buf;
        r.len = len;
        r.at = 0;
        rc = ckpt_fields(&r, &c);
    }
    if (!rc) {   /* the traces: the iterations done and the start */
        const size_t T = (size_t)*c.iter + 1;
        c.o = moem_alloc_doubles(T);
        c.s = moem_alloc_doubles(T);
        if (!c.o || !c.s) rc = load_fail(&r, "out of memory for the trace");
        else c.T = T;
    }
    free(buf);
    /* the trace file, through the same reader (its messages then name the trace file) */
    FILE *tf = c.tf;
    r.path = tpath;
    if (rc) {
        if (tf) fclose(tf);   /* the checkpoint failed: its trace file is not read */
    } else if (!tf) rc = load_fail(&r, "cannot open the checkpoint's trace file");
    else {
        cap = (size_t)1 << 16;
        len = 0;
        buf = malloc(cap + 1);
        /*@ loop invariant buf: buf == \null || (len < cap <= ((size_t)1 << 35) && \valid(buf + (0 .. cap)));
            loop invariant file: \valid(tf);
            loop invariant reader: \valid(&r) && rd_err(&r) && r.path == tpath;
            loop invariant out: ck_out_ok(&c) && ck_apart(&r, &c) && 1 <= c.T <= 1000000001; */
        while (buf && (got = fread(buf + len, 1, cap - len, tf)) > 0) {
            len += got;
            if (len == cap) {
                char *nb = cap < ((size_t)1 << 34) ? realloc(buf, 2 * cap + 1) : NULL;
                if (!nb) { free(buf); buf = NULL; break; }
                buf = nb;
                cap *= 2;
            }
        }
        rc = ferror(tf);
        fclose(tf);
        if (!buf || rc) rc = load_fail(&r, "cannot read");
        else {
            buf[len] = '\0';
            if (memchr(buf, 0, len)) rc = load_fail(&r, "not a moem trace file (a NUL byte)");
        }
        if (!rc) {
            int have = 0;
            long end = 0;
            r.buf = buf;
            r.len = len;
            r.at = 0;
            r.line = 1;
            rc = ckpt_trace(&r, c.info->run, c.T, c.o, c.s, &have, &end);
            if (!rc) {
                c.info->trace_have = have;
                c.info->trace_end = end;
            }
        }
        free(buf);
    }
    free(tpath);
    if (rc) {
        moem_model_free(c.m);
        free(c.o);
        free(c.s);
        return -1;
    }
    *c.po = c.o;
    *c.ps = c.s;
    return 0;
}
