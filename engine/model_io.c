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

/*@ // the parameter arrays of a model of K experts of P rows, d features (run model_arrays)
    predicate io_arrays(moem_model *m, integer K, integer P, integer d) =
      1 <= K && 1 <= P && 1 <= d && K * (P * d) <= SIZE_MAX / sizeof(double) &&
      \valid(m->W + (0 .. K * d - 1)) && \valid(m->B + (0 .. K * (P * d) - 1)) &&
      \valid(m->sigma2 + (0 .. K - 1));
*/

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

static json_t *get_field(const io_ctx *c, json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!v) io_fail(c, key, "missing");
    return v;
}

/* a positive integer size field */
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

/* shape checks that need no allocation, so that a huge K or d in a small file fails here */
static int check_shape(const io_ctx *c, json_t *gate, json_t *experts, moem_family fam, size_t K,
                       size_t d, size_t C)
{
    char name[160];
    if (check_array(c, "gate", gate, K) || check_array(c, "experts", experts, K)) return -1;
    for (size_t k = 0; k < K; k++) {
        snprintf(name, sizeof name, "gate[%zu]", k);
        if (check_array(c, name, json_array_get(gate, k), d)) return -1;
        json_t *e = json_array_get(experts, k);
        snprintf(name, sizeof name, "experts[%zu]", k);
        if (!json_is_object(e)) return io_fail(c, name, "not an object");
        const char *want = fam == MOEM_SOFTMAX ? "B" : "beta";
        json_t *b = json_object_get(e, want);
        snprintf(name, sizeof name, "experts[%zu].%s", k, want);
        if (!b) return io_fail(c, name, "missing");
        if (check_array(c, name, b, fam == MOEM_SOFTMAX ? C : d)) return -1;
        if (fam == MOEM_SOFTMAX)
            for (size_t p = 0; p < C; p++) {
                snprintf(name, sizeof name, "experts[%zu].B[%zu]", k, p);
                if (check_array(c, name, json_array_get(b, p), d)) return -1;
            }
        if (fam == MOEM_LINEAR && !json_object_get(e, "sigma2")) {
            snprintf(name, sizeof name, "experts[%zu].sigma2", k);
            return io_fail(c, name, "missing");
        }
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
    requires arrays: io_arrays(m, K, P, d);
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

static int read_root(const io_ctx *c, json_t *root, moem_model *m)
{
    char name[160];
    if (!json_is_object(root)) return io_fail(c, NULL, "not a JSON object");
    json_t *v = get_field(c, root, "format");
    if (!v) return -1;
    if (!json_is_string(v) || strcmp(json_string_value(v), "moem-model"))
        return io_fail(c, "format", "expected \"moem-model\"");
    if (!(v = get_field(c, root, "version"))) return -1;
    if (!json_is_integer(v) || json_integer_value(v) != 1)
        return io_fail(c, "version", "unsupported (this build reads version 1)");
    moem_family fam;
    if (!(v = get_field(c, root, "family"))) return -1;
    if (!json_is_string(v) || moem_family_parse(json_string_value(v), &fam))
        return io_fail(c, "family", "expected \"linear\", \"logistic\" or \"softmax\"");
    if (!(v = get_field(c, root, "symmetric"))) return -1;
    if (!json_is_boolean(v)) return io_fail(c, "symmetric", "expected true or false");
    int sym = json_is_true(v);
    size_t K = 0, d = 0, C = 0, kd, kcd;
    if (get_size(c, root, "K", &K) || get_size(c, root, "d", &d) || get_size(c, root, "C", &C))
        return -1;
    if (fam == MOEM_LINEAR && C != 1) return io_fail(c, "C", "linear experts need C = 1");
    if (fam == MOEM_LOGISTIC && C != 2) return io_fail(c, "C", "logistic experts need C = 2");
    if (fam == MOEM_SOFTMAX && C < 2) return io_fail(c, "C", "softmax experts need C >= 2");
    if (sym && (K != 2 || fam == MOEM_SOFTMAX))
        return io_fail(c, "symmetric", "symmetric models have K = 2 linear or logistic experts");
    if (!moem_mul_size(K, d, &kd) || !moem_mul_size(kd, C, &kcd) || kcd > SIZE_MAX / sizeof(double))
        return io_fail(c, NULL, "model of K = %zu, d = %zu, C = %zu is too large", K, d, C);
    json_t *gate = get_field(c, root, "gate"), *experts = gate ? get_field(c, root, "experts") : NULL;
    if (!experts || check_shape(c, gate, experts, fam, K, d, C)) return -1;

    char aerr[200];
    if (moem_model_alloc(m, fam, sym, K, d, C, aerr, sizeof aerr)) return io_fail(c, NULL, "%s", aerr);
    if (read_params(c, gate, experts, m, K, moem_expert_rows(m), d)) return -1;
    for (size_t j = 0; j < d; j++)
        if (m->W[(K - 1) * d + j] != 0.0) {
            snprintf(name, sizeof name, "gate[%zu][%zu]", K - 1, j);
            return io_fail(c, name, "the last gate row is pinned to zero");
        }
    if (sym) {
        for (size_t j = 0; j < d; j++)
            if (m->B[d + j] != -m->B[j]) {
                snprintf(name, sizeof name, "experts[1].beta[%zu]", j);
                return io_fail(c, name, "a symmetric model needs expert 2 = -expert 1");
            }
        if (m->sigma2[0] != m->sigma2[1])
            return io_fail(c, "experts[1].sigma2", "a symmetric model needs equal variances");
    }
    const char *bad = moem_model_validate(m);
    if (bad) return io_fail(c, NULL, "%s", bad);
    return 0;
}

int moem_model_read(const char *path, moem_model *m, char *err, size_t errlen)
{
    io_ctx c = {path, err, errlen};
    memset(m, 0, sizeof *m);
    FILE *f = fopen(path, "rb");
    if (!f) return io_fail(&c, NULL, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return io_fail(&c, NULL, "cannot open: it is a directory");
    }
    json_error_t je;
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
    fclose(f);
    if (!root) {
        for (char *q = je.text; *q; q++)   /* the quoted token stays on one line */
            if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f) *q = '?';
        if (je.line < 1) return io_fail(&c, NULL, "%s", je.text);
        return io_fail(&c, NULL, "%d:%d: %s", je.line, je.column, je.text);
    }
    int rc = read_root(&c, root, m);
    json_decref(root);
    if (rc) moem_model_free(m);
    return rc;
}

/* ---- writing ---------------------------------------------------------------------------- */

static json_t *number_array(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t j = 0; a && j < n; j++)
        if (json_array_append_new(a, json_real(v[j]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* 0 on success; json_object_set_new steals val (also when it is NULL: then it fails) */
static int set(json_t *obj, const char *key, json_t *val) { return json_object_set_new(obj, key, val); }

static json_t *model_to_json(const moem_model *m)
{
    size_t K = m->K, d = m->d, P = moem_expert_rows(m);
    json_t *root = json_object(), *gate = json_array(), *experts = json_array();
    int bad = !root || !gate || !experts;
    bad |= set(root, "format", json_string("moem-model"));
    bad |= set(root, "version", json_integer(1));
    bad |= set(root, "family", json_string(moem_family_name(m->family)));
    bad |= set(root, "symmetric", json_boolean(m->symmetric));
    bad |= set(root, "K", json_integer((json_int_t)K));
    bad |= set(root, "d", json_integer((json_int_t)d));
    bad |= set(root, "C", json_integer((json_int_t)m->C));
    for (size_t k = 0; !bad && k < K; k++) {
        bad |= json_array_append_new(gate, number_array(m->W + k * d, d));
        json_t *e = json_object();
        if (m->family == MOEM_SOFTMAX) {
            json_t *B = json_array();
            for (size_t p = 0; B && p < P; p++)
                bad |= json_array_append_new(B, number_array(m->B + (k * P + p) * d, d));
            bad |= set(e, "B", B);
        } else {
            bad |= set(e, "beta", number_array(m->B + k * d, d));
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
    io_ctx c = {path, err, errlen};
    const char *bad = moem_model_validate(m);
    if (bad) return io_fail(&c, NULL, "refusing to write an invalid model: %s", bad);
    json_t *root = model_to_json(m);
    if (!root) return io_fail(&c, NULL, "out of memory");
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
