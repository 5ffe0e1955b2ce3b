/* Model files (JSON through jansson):
 *   {"format": "moem-model", "version": 1, "family": "linear" | "logistic" | "softmax",
 *    "symmetric": bool, "K": int, "d": int, "C": int,
 *    "gate": [[d numbers] x K]   (the last row is the pinned zero row),
 *    "experts": [{"beta": [d], "sigma2": x}   linear
 *              | {"beta": [d]}                logistic
 *              | {"B": [[d] x C]}             softmax        ] x K}
 * Numbers are written with 17 significant digits, so a model reads back bit for bit.
 * Read errors name the file and the field: "model.json: experts[1].beta[3]: not a number". */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <jansson.h>
#include "internal.h"
#include "csv.h"

typedef struct io_ctx {
    const char *path;
    char *err;
    size_t errlen;
} io_ctx;

/* the "format" of a model file (a const array, not a string literal: the proof of check_format
 * reads its contents) */
static const char model_format[] = "moem-model";

/* "PATH: FIELD: message" */
/*@ requires valid_c: \valid_read(c);
    assigns c->err[0 .. c->errlen - 1];
    ensures failed: \result == -1; */
static int io_fail(const io_ctx *c, const char *field, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        int k = field ? snprintf(c->err, c->errlen, "%s: %s: ", c->path, field)
                      : snprintf(c->err, c->errlen, "%s: ", c->path);
        if (k >= 0 && (size_t)k < c->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->err + k, c->errlen - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

/*@ requires valid_c: \valid_read(c);
    assigns c->err[0 .. c->errlen - 1]; */
static json_t *get_field(const io_ctx *c, json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!v) io_fail(c, key, "missing");
    return v;
}

/* a positive integer size field */
/*@ requires valid: \valid_read(c) && \valid(out) && \separated(out, c);
    assigns *out, c->err[0 .. c->errlen - 1];
    ensures positive: \result == 0 ==> *out >= 1; */
static int get_size(const io_ctx *c, json_t *root, const char *key, size_t *out)
{
    json_t *v = get_field(c, root, key);
    if (!v) return -1;
    if (!json_is_integer(v)) return io_fail(c, key, "not an integer");
    json_int_t i = json_integer_value(v);
    if (i < 1) return io_fail(c, key, "must be at least 1, found %lld", (long long)i);
    if ((unsigned long long)i > SIZE_MAX) return io_fail(c, key, "too large");
    *out = (size_t)i;
    return 0;
}

/* arr must be an array of exactly len items */
/*@ requires valid_c: \valid_read(c);
    assigns c->err[0 .. c->errlen - 1]; */
static int check_array(const io_ctx *c, const char *field, json_t *arr, size_t len)
{
    if (!json_is_array(arr)) return io_fail(c, field, "not an array");
    if (json_array_size(arr) != len)
        return io_fail(c, field, "expected %zu entries, found %zu", len, json_array_size(arr));
    return 0;
}

/* arr (checked to hold len entries) -> out, finite numbers only */
/*@ requires valid_c: \valid_read(c);
    requires valid_out: \valid(out + (0 .. len - 1));
    assigns out[0 .. len - 1], c->err[0 .. c->errlen - 1]; */
static int get_numbers(const io_ctx *c, const char *field, json_t *arr, size_t len, double *out)
{
    char name[160];
    if (check_array(c, field, arr, len)) return -1;
    /*@ loop invariant 0 <= j <= len;
        loop assigns j, out[0 .. len - 1], name[0 .. 159], c->err[0 .. c->errlen - 1];
        loop variant len - j; */
    for (size_t j = 0; j < len; j++) {
        json_t *v = json_array_get(arr, j);
        if (!json_is_number(v)) {
            snprintf(name, sizeof name, "%s[%zu]", field, j);
            return io_fail(c, name, "not a number");
        }
        out[j] = json_number_value(v);
        if (!isfinite(out[j])) {
            snprintf(name, sizeof name, "%s[%zu]", field, j);
            return io_fail(c, name, "not a finite number");
        }
    }
    return 0;
}

/* the shape of expert k: an object with "B" (C rows of d numbers) or "beta" (d numbers), and
 * "sigma2" for a linear expert */
/*@ requires valid_c: \valid_read(c);
    assigns c->err[0 .. c->errlen - 1]; */
static int check_expert(const io_ctx *c, json_t *e, size_t k, moem_family fam, size_t d, size_t C)
{
    char name[160];
    snprintf(name, sizeof name, "experts[%zu]", k);
    if (!json_is_object(e)) return io_fail(c, name, "not an object");
    const char *want = fam == MOEM_SOFTMAX ? "B" : "beta";
    json_t *b = json_object_get(e, want);
    snprintf(name, sizeof name, "experts[%zu].%s", k, want);
    if (!b) return io_fail(c, name, "missing");
    if (check_array(c, name, b, fam == MOEM_SOFTMAX ? C : d)) return -1;
    if (fam == MOEM_SOFTMAX)
        /*@ loop invariant 0 <= p <= C;
            loop assigns p, name[0 .. 159], c->err[0 .. c->errlen - 1];
            loop variant C - p; */
        for (size_t p = 0; p < C; p++) {
            snprintf(name, sizeof name, "experts[%zu].B[%zu]", k, p);
            if (check_array(c, name, json_array_get(b, p), d)) return -1;
        }
    if (fam == MOEM_LINEAR && !json_object_get(e, "sigma2")) {
        snprintf(name, sizeof name, "experts[%zu].sigma2", k);
        return io_fail(c, name, "missing");
    }
    return 0;
}

/* shape checks that need no allocation, so that a huge K or d in a small file fails here */
/*@ requires valid_c: \valid_read(c);
    assigns c->err[0 .. c->errlen - 1]; */
static int check_shape(const io_ctx *c, json_t *gate, json_t *experts, moem_family fam, size_t K,
                       size_t d, size_t C)
{
    char name[160];
    if (check_array(c, "gate", gate, K) || check_array(c, "experts", experts, K)) return -1;
    /*@ loop invariant 0 <= k <= K;
        loop assigns k, name[0 .. 159], c->err[0 .. c->errlen - 1];
        loop variant K - k; */
    for (size_t k = 0; k < K; k++) {
        snprintf(name, sizeof name, "gate[%zu]", k);
        if (check_array(c, name, json_array_get(gate, k), d) ||
            check_expert(c, json_array_get(experts, k), k, fam, d, C))
            return -1;
    }
    return 0;
}

/* the numbers of expert k (its shape checked by check_shape): P rows of d into B, sigma2 */
/*@ requires valid: \valid_read(c) && \valid(B + (0 .. P * d - 1)) && \valid(s2);
    requires sizes: 1 <= P && 1 <= d && P * d <= SIZE_MAX / sizeof(double);
    requires rows: fam == MOEM_SOFTMAX || P == 1;
    assigns B[0 .. P * d - 1], *s2, c->err[0 .. c->errlen - 1]; */
static int read_expert(const io_ctx *c, json_t *e, size_t k, moem_family fam, size_t P, size_t d,
                       double *B, double *s2)
{
    char name[160];
    if (fam == MOEM_SOFTMAX) {
        json_t *b = json_object_get(e, "B");
        /*@ loop invariant 0 <= p <= P;
            loop assigns p, name[0 .. 159], B[0 .. P * d - 1], c->err[0 .. c->errlen - 1];
            loop variant P - p; */
        for (size_t p = 0; p < P; p++) {
            //@ ghost moem_mul_le(p + 1, P, d);
            snprintf(name, sizeof name, "experts[%zu].B[%zu]", k, p);
            if (get_numbers(c, name, json_array_get(b, p), d, B + p * d)) return -1;
        }
    } else {
        snprintf(name, sizeof name, "experts[%zu].beta", k);
        if (get_numbers(c, name, json_object_get(e, "beta"), d, B)) return -1;
    }
    json_t *v = json_object_get(e, "sigma2");
    if (v && fam == MOEM_LINEAR) {
        snprintf(name, sizeof name, "experts[%zu].sigma2", k);
        if (!json_is_number(v)) return io_fail(c, name, "not a number");
        *s2 = json_number_value(v);
        if (!(*s2 > 0.0) || !isfinite(*s2)) return io_fail(c, name, "must be positive and finite");
    }
    return 0;
}

/* the numbers of gate and experts (their shapes checked by check_shape) into the arrays of m,
 * a model of K experts of P rows of d features */
/*@ requires valid: \valid_read(c) && \valid(m);
    requires arrays: moem_model_arrays(m, K, P, d);
    requires rows: m->family == MOEM_SOFTMAX || P == 1;
    assigns m->W[0 .. K * d - 1], m->B[0 .. K * (P * d) - 1], m->sigma2[0 .. K - 1],
            c->err[0 .. c->errlen - 1]; */
static int read_params(const io_ctx *c, json_t *gate, json_t *experts, moem_model *m, size_t K,
                       size_t P, size_t d)
{
    char name[160];
    //@ ghost moem_mul_le(1, K, P * d);
    /*@ loop invariant 0 <= k <= K;
        loop assigns k, name[0 .. 159], m->W[0 .. K * d - 1], m->B[0 .. K * (P * d) - 1],
                     m->sigma2[0 .. K - 1], c->err[0 .. c->errlen - 1];
        loop variant K - k; */
    for (size_t k = 0; k < K; k++) {
        //@ ghost moem_mul_le(k + 1, K, d);
        //@ ghost moem_mul_le(k + 1, K, P * d);
        snprintf(name, sizeof name, "gate[%zu]", k);
        if (get_numbers(c, name, json_array_get(gate, k), d, m->W + k * d)) return -1;
        if (read_expert(c, json_array_get(experts, k), k, m->family, P, d, m->B + k * (P * d),
                        m->sigma2 + k))
            return -1;
    }
    return 0;
}

/* moem_model_alloc for the sizes read_root has checked; *P = moem_expert_rows(m). Trusted through
 * its contract (engine/model.c is not in the proof runs): on success the arrays of m hold
 * K x d, K x P x d and K doubles. */
/*@ requires valid: \valid_read(c) && \valid(m) && \valid(P);
    requires sep: \separated(m, c) && \separated(P, c);
    requires sizes: 1 <= K && 1 <= d && 1 <= C && K * d * C <= SIZE_MAX / sizeof(double);
    assigns *m, *P, c->err[0 .. c->errlen - 1];
    ensures allocated: \result == 0 ==> m->family == fam && moem_model_arrays(m, K, *P, d) &&
                                        (fam == MOEM_SOFTMAX ? *P == C : *P == 1); */
static int io_alloc(const io_ctx *c, moem_model *m, moem_family fam, int sym, size_t K, size_t d,
                    size_t C, size_t *P)
{
    char aerr[200];
    if (moem_model_alloc(m, fam, sym, K, d, C, aerr, sizeof aerr)) return io_fail(c, NULL, "%s", aerr);
    *P = moem_expert_rows(m);
    return 0;
}

/* the header fields of a model file */
typedef struct io_shape {
    moem_family fam;
    int sym;
    size_t K, d, C;
} io_shape;

/* a JSON object of this format and version */
/*@ requires valid: \valid_read(c);
    requires sep: \separated(c->err + (0 .. c->errlen - 1),
                             model_format + (0 .. sizeof(model_format) - 1));
    assigns c->err[0 .. c->errlen - 1]; */
static int check_format(const io_ctx *c, json_t *root)
{
    if (!json_is_object(root)) return io_fail(c, NULL, "not a JSON object");
    json_t *v = get_field(c, root, "format");
    if (!v) return -1;
    if (!json_is_string(v) || strcmp(json_string_value(v), model_format))
        return io_fail(c, "format", "expected \"moem-model\"");
    if (!(v = get_field(c, root, "version"))) return -1;
    if (!json_is_integer(v) || json_integer_value(v) != 1)
        return io_fail(c, "version", "unsupported (this build reads version 1)");
    return 0;
}

/* family, symmetric */
/*@ requires valid: \valid_read(c) && \valid(s) && \separated(s, c);
    assigns s->fam, s->sym, c->err[0 .. c->errlen - 1]; */
static int read_family(const io_ctx *c, json_t *root, io_shape *s)
{
    json_t *v;
    if (!(v = get_field(c, root, "family"))) return -1;
    if (!json_is_string(v) || moem_family_parse(json_string_value(v), &s->fam))
        return io_fail(c, "family", "expected \"linear\", \"logistic\" or \"softmax\"");
    if (!(v = get_field(c, root, "symmetric"))) return -1;
    if (!json_is_boolean(v)) return io_fail(c, "symmetric", "expected true or false");
    s->sym = json_is_true(v);
    return 0;
}

/* K, d, C */
/*@ requires valid: \valid_read(c) && \valid(s) && \separated(s, c);
    assigns s->K, s->d, s->C, c->err[0 .. c->errlen - 1];
    ensures positive: \result == 0 ==> 1 <= s->K && 1 <= s->d && 1 <= s->C; */
static int read_sizes(const io_ctx *c, json_t *root, io_shape *s)
{
    return get_size(c, root, "K", &s->K) || get_size(c, root, "d", &s->d) ||
           get_size(c, root, "C", &s->C) ? -1 : 0;
}

/* the sizes agree with the family and the model's arrays fit */
/*@ requires valid: \valid_read(c);
    requires positive: 1 <= K && 1 <= d && 1 <= C;
    assigns c->err[0 .. c->errlen - 1];
    ensures shape: \result == 0 ==> K * d * C <= SIZE_MAX / sizeof(double) &&
                                    (sym != 0 ==> K == 2 && fam != MOEM_SOFTMAX); */
static int check_sizes(const io_ctx *c, moem_family fam, int sym, size_t K, size_t d, size_t C)
{
    size_t kd, kcd;
    if (fam == MOEM_LINEAR && C != 1) return io_fail(c, "C", "linear experts need C = 1");
    if (fam == MOEM_LOGISTIC && C != 2) return io_fail(c, "C", "logistic experts need C = 2");
    if (fam == MOEM_SOFTMAX && C < 2) return io_fail(c, "C", "softmax experts need C >= 2");
    if (sym && (K != 2 || fam == MOEM_SOFTMAX))
        return io_fail(c, "symmetric", "symmetric models have K = 2 linear or logistic experts");
    if (!moem_mul_size(K, d, &kd) || !moem_mul_size(kd, C, &kcd) || kcd > SIZE_MAX / sizeof(double))
        return io_fail(c, NULL, "model of K = %zu, d = %zu, C = %zu is too large", K, d, C);
    return 0;
}

/* the last gate row (row K-1 of W, K x d) is pinned to zero */
/*@ requires valid: \valid_read(c) && \valid_read(W + (0 .. K * d - 1));
    requires sizes: 1 <= K && K * d <= SIZE_MAX;
    assigns c->err[0 .. c->errlen - 1]; */
static int check_pinned(const io_ctx *c, const double *W, size_t K, size_t d)
{
    char name[160];
    //@ ghost moem_mul_le(K - 1, K, d);
    //@ assert last_row: (K - 1) * d + d == K * d;
    /*@ loop invariant 0 <= j <= d;
        loop assigns j;
        loop variant d - j; */
    for (size_t j = 0; j < d; j++)
        if (W[(K - 1) * d + j] != 0.0) {
            snprintf(name, sizeof name, "gate[%zu][%zu]", K - 1, j);
            return io_fail(c, name, "the last gate row is pinned to zero");
        }
    return 0;
}

/* a symmetric model (K = 2, one row of d per expert): expert 2 = -expert 1, equal variances */
/*@ requires valid: \valid_read(c) && \valid_read(B + (0 .. 2 * d - 1));
    requires valid_s2: \valid_read(s2 + (0 .. 1));
    requires sizes: 2 * d <= SIZE_MAX;
    assigns c->err[0 .. c->errlen - 1]; */
static int check_symmetric(const io_ctx *c, const double *B, const double *s2, size_t d)
{
    char name[160];
    /*@ loop invariant 0 <= j <= d;
        loop assigns j;
        loop variant d - j; */
    for (size_t j = 0; j < d; j++)
        if (B[d + j] != -B[j]) {
            snprintf(name, sizeof name, "experts[1].beta[%zu]", j);
            return io_fail(c, name, "a symmetric model needs expert 2 = -expert 1");
        }
    if (s2[0] != s2[1])
        return io_fail(c, "experts[1].sigma2", "a symmetric model needs equal variances");
    return 0;
}

/*@ requires valid: \valid_read(c) && \valid(m) && \separated(m, c);
    requires sep: \separated(c->err + (0 .. c->errlen - 1),
                             model_format + (0 .. sizeof(model_format) - 1)); */
static int read_root(const io_ctx *c, json_t *root, moem_model *m)
{
    io_shape s;
    size_t P = 1;
    if (check_format(c, root) || read_family(c, root, &s) || read_sizes(c, root, &s) ||
        check_sizes(c, s.fam, s.sym, s.K, s.d, s.C))
        return -1;
    json_t *gate = get_field(c, root, "gate"), *experts = gate ? get_field(c, root, "experts") : NULL;
    if (!experts || check_shape(c, gate, experts, s.fam, s.K, s.d, s.C)) return -1;
    //@ ghost moem_mul_le(1, s.C, s.K * s.d);
    if (io_alloc(c, m, s.fam, s.sym, s.K, s.d, s.C, &P) ||
        read_params(c, gate, experts, m, s.K, P, s.d) || check_pinned(c, m->W, s.K, s.d) ||
        (s.sym && check_symmetric(c, m->B, m->sigma2, s.d)))
        return -1;
    const char *bad = moem_model_validate(m);
    if (bad) return io_fail(c, NULL, "%s", bad);
    return 0;
}

/* the JSON tree of the file c->path, NULL after an error (written to c->err) */
/*@ requires valid: \valid_read(c) && valid_read_string(c->path);
    assigns c->err[0 .. c->errlen - 1], errno; */
static json_t *io_load(const io_ctx *c)
{
    static const char mode[] = "rb";   /* an array: the proof reads its contents */
    FILE *f = fopen(c->path, mode);
    if (!f) return io_fail(c, NULL, "cannot open: %s", strerror(errno)), NULL;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return io_fail(c, NULL, "cannot open: it is a directory"), NULL;
    }
    json_error_t je;
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
    fclose(f);
    if (root) return root;
    /*@ loop invariant 0 <= i <= JSON_ERROR_TEXT_LENGTH;
        loop assigns i, je.text[0 .. JSON_ERROR_TEXT_LENGTH - 1];
        loop variant JSON_ERROR_TEXT_LENGTH - i; */
    for (size_t i = 0; i < JSON_ERROR_TEXT_LENGTH && je.text[i]; i++) {   /* the quoted token stays on one line */
        const unsigned char q = (unsigned char)je.text[i];
        if ((q < 0x20 && q != '\t') || q == 0x7f) je.text[i] = '?';
    }
    je.text[JSON_ERROR_TEXT_LENGTH - 1] = '\0';
    if (je.line < 1) return io_fail(c, NULL, "%s", je.text), NULL;
    return io_fail(c, NULL, "%d:%d: %s", je.line, je.column, je.text), NULL;
}

/*@ requires path: valid_read_string(path);
    requires model: \valid(m);
    requires err: errlen == 0 || \valid(err + (0 .. errlen - 1));
    requires sep: \separated(err + (0 .. errlen - 1), m,
                             model_format + (0 .. sizeof(model_format) - 1)); */
int moem_model_read(const char *path, moem_model *m, char *err, size_t errlen)
{
    io_ctx c = {path, err, errlen};
    *m = (moem_model){0};
    json_t *root = io_load(&c);
    if (!root) return -1;
    int rc = read_root(&c, root, m);
    json_decref(root);
    if (rc) moem_model_free(m);
    return rc;
}

/* ---- writing ---------------------------------------------------------------------------- */

/* a JSON array of the n numbers v[0 .. n-1] (NULL when out of memory) */
/*@ requires valid: \valid_read(v + (0 .. n - 1));
    assigns \nothing; */
static json_t *number_array(const double *v, size_t n)
{
    json_t *a = json_array();
    /*@ loop invariant 0 <= j <= n;
        loop assigns j, a;
        loop variant n - j; */
    for (size_t j = 0; a && j < n; j++)
        if (json_array_append_new(a, json_real(v[j]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* 0 on success; json_object_set_new steals val (also when it is NULL: then it fails) */
/*@ assigns \nothing; */
static int set(json_t *obj, const char *key, json_t *val) { return json_object_set_new(obj, key, val); }

/* The model as a JSON tree (NULL when out of memory): K experts of P rows of d features. Only
 * reads the model (run model_write: every number read lies inside W, B and sigma2). */
/*@ requires valid: \valid_read(m);
    requires arrays: moem_model_arrays(m, K, P, d);
    requires rows: m->family == MOEM_SOFTMAX || P == 1;
    assigns \nothing; */
static json_t *model_to_json(const moem_model *m, size_t K, size_t P, size_t d)
{
    //@ ghost moem_mul_le(1, K, P * d);
    //@ ghost moem_mul_le(1, P, d);
    //@ ghost moem_mul_le(d, P * d, K);
    const size_t Pd = P * d;                  /* doubles per expert */
    json_t *root = json_object(), *gate = json_array(), *experts = json_array();
    int bad = !root || !gate || !experts;
    bad |= set(root, "format", json_string(model_format));
    bad |= set(root, "version", json_integer(1));
    bad |= set(root, "family", json_string(moem_family_name(m->family)));
    bad |= set(root, "symmetric", json_boolean(m->symmetric));
    bad |= set(root, "K", json_integer((json_int_t)K));
    bad |= set(root, "d", json_integer((json_int_t)d));
    bad |= set(root, "C", json_integer((json_int_t)m->C));
    /*@ loop invariant 0 <= k <= K;
        loop invariant sizes: Pd == P * d && Pd <= SIZE_MAX / 8 && d * K <= SIZE_MAX / 8;
        loop assigns k, bad;
        loop variant K - k; */
    for (size_t k = 0; !bad && k < K; k++) {
        //@ ghost moem_mul_le(k + 1, K, d);
        //@ ghost moem_mul_le(k + 1, K, Pd);
        //@ ghost moem_mul_le(0, k, d);
        //@ ghost moem_mul_le(0, k, Pd);
        //@ assert expert: k * Pd + Pd <= K * (P * d);
        bad |= json_array_append_new(gate, number_array(m->W + k * d, d));
        json_t *e = json_object();
        const double *Bk = m->B + k * Pd;
        if (m->family == MOEM_SOFTMAX) {
            json_t *B = json_array();
            /*@ loop invariant 0 <= p <= P;
                loop invariant expert: k * Pd + Pd <= K * (P * d);
                loop assigns p, bad;
                loop variant P - p; */
            for (size_t p = 0; B && p < P; p++) {
                //@ ghost moem_mul_le(p + 1, P, d);
                //@ ghost moem_mul_le(0, p, d);
                //@ assert row: p * d + d <= P * d;
                bad |= json_array_append_new(B, number_array(Bk + p * d, d));
            }
            bad |= set(e, "B", B);
        } else {
            bad |= set(e, "beta", number_array(Bk, d));
            if (m->family == MOEM_LINEAR) bad |= set(e, "sigma2", json_real(m->sigma2[k]));
        }
        bad |= json_array_append_new(experts, e);
    }
    bad |= set(root, "gate", gate);
    bad |= set(root, "experts", experts);
    if (bad) {
        json_decref(root);
        return NULL;
    }
    return root;
}

int moem_model_write(const char *path, const moem_model *m, char *err, size_t errlen)
{
    return moem_model_write_fit(path, m, NULL, err, errlen);
}

int moem_model_write_fit(const char *path, const moem_model *m, const char *fit_json, char *err,
                         size_t errlen)
{
    io_ctx c = {path, err, errlen};
    const char *bad = moem_model_validate(m);
    if (bad) return io_fail(&c, NULL, "refusing to write an invalid model: %s", bad);
    json_t *fit = NULL;
    if (fit_json) {
        json_error_t je;
        fit = json_loads(fit_json, JSON_REJECT_DUPLICATES, &je);
        if (!fit || !json_is_object(fit)) {
            json_decref(fit);
            return io_fail(&c, "fit", "the fit record is not a JSON object (%s)", fit ? "another value" : je.text);
        }
    }
    json_t *root = model_to_json(m, m->K, moem_expert_rows(m), m->d);
    if (!root || (fit && json_object_set_new(root, "fit", fit))) {
        if (!root) json_decref(fit);
        json_decref(root);
        return io_fail(&c, NULL, "out of memory");
    }
    moem_atomic_file a;
    if (moem_atomic_open(&a, path, err, errlen)) {
        json_decref(root);
        return -1;
    }
    int rc = json_dumpf(root, a.f, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (rc || fputc('\n', a.f) == EOF) {
        moem_atomic_abort(&a);
        return io_fail(&c, NULL, "cannot write: %s", strerror(errno ? errno : EIO));
    }
    return moem_atomic_commit(&a, err, errlen);
}
