/* CSV data files and atomic file output.
 *
 * The reader streams the file through a large buffer (read(2) in 4 MiB chunks), cuts it into
 * lines in place and parses each field straight into the growing X and y arrays (an exact
 * integer fast path for the common numbers, strtod for the rest).
 * Every error names FILE:LINE:COL (1-based; COL is the byte column where the field starts). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "csv.h"
#include "internal.h"

#define CSV_CHUNK ((size_t)1 << 22)
#define CSV_PAD 16   /* bytes after the buffer's end: a line's NUL and 8-byte loads */

typedef struct csv_reader {
    const char *path;
    char *err;
    size_t errlen;
    size_t line;          /* current line, 1-based */
    size_t ncol;          /* columns from the header (0 before it) */
    size_t n, cap;        /* rows read, rows allocated */
    size_t empty_line;    /* first of a run of empty lines, 0 if none */
    double *X, *y;
} csv_reader;

/*@ // the rows read so far fit their arrays, and no count of values can wrap (run csv_rows)
    predicate csv_rows(csv_reader *r) =
      2 <= r->ncol && r->n <= r->cap && r->cap * (r->ncol - 1) <= SIZE_MAX / sizeof(double) &&
      \valid(r->X + (0 .. r->cap * (r->ncol - 1) - 1)) && \valid(r->y + (0 .. r->cap - 1));
*/

/*@ requires valid_r: \valid(r);
    assigns r->err[0 .. r->errlen - 1];
    ensures failed: \result == -1; */
static int csv_fail(csv_reader *r, size_t col, const char *fmt, ...)
{
    if (r->err && r->errlen) {
        int k = snprintf(r->err, r->errlen, "%s:%zu:%zu: ", r->path, r->line, col);
        if (k >= 0 && (size_t)k < r->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(r->err + k, r->errlen - (size_t)k, fmt, ap);
            va_end(ap);
        }
        for (char *q = r->err; *q; q++)   /* quoted input stays on one line */
            if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f) *q = '?';
    }
    return -1;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* ---- decimal to double ------------------------------------------------------------------
 * strtod costs about 150 ns for a 17-digit number. Most fields (%.17g of data of moderate
 * magnitude) have at most 19 significant digits and a decimal exponent within +-19; for those
 * the value w 10^e is computed exactly in 128-bit integers (a product, or a quotient and its
 * remainder) and rounded once to nearest-even, which is the correctly rounded result strtod
 * gives. Everything else goes to strtod. */
#if defined(__SIZEOF_INT128__) && !defined(__FRAMAC__)   /* Frama-C does not parse __int128 */
__extension__ typedef unsigned __int128 csv_u128;

static const uint64_t csv_pow10[20] = {
    1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL, 100000000ULL,
    1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL, 10000000000000ULL,
    100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,
    1000000000000000000ULL, 10000000000000000000ULL};

/* 2^e for -1022 <= e <= 1023 */
static double csv_pow2(int e)
{
    uint64_t bits = (uint64_t)(e + 1023) << 52;
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* (x + a fraction in (0, 1) if sticky) * 2^e2, rounded to nearest-even; x >= 2^54 or !sticky.
 * The callers keep e2 and the result far inside the normal range. */
static double csv_round(csv_u128 x, int sticky, int e2)
{
    uint64_t hi = (uint64_t)(x >> 64);
    int len = hi ? 128 - __builtin_clzll(hi) : 64 - __builtin_clzll((uint64_t)x);
    if (len <= 53) return (double)(uint64_t)x * csv_pow2(e2);   /* exact (sticky is 0 here) */
    int sh = len - 54;
    uint64_t t = (uint64_t)(x >> sh), m = t >> 1;
    sticky |= (x & (((csv_u128)1 << sh) - 1)) != 0;
    if ((t & 1) && (sticky || (m & 1))) m++;
    return (double)m * csv_pow2(e2 + sh + 1);   /* m <= 2^53: exact */
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* eight ASCII digits at once (SWAR, as in simdjson and fast_float); the buffer is padded so
 * that reading 8 bytes from any position of a line stays inside it */
static uint64_t csv_load8(const char *s)
{
    uint64_t v;
    memcpy(&v, s, 8);
    return v;
}

static int csv_all8digits(uint64_t v)
{
    return ((v & 0xF0F0F0F0F0F0F0F0ULL) | (((v + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4))
           == 0x3333333333333333ULL;
}

static uint64_t csv_parse8(uint64_t v)
{
    v -= 0x3030303030303030ULL;
    v = v * 10 + (v >> 8);
    return ((v & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32)) +
            ((v >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32))) >> 32;
}
#define CSV_SWAR 1
#else
#define CSV_SWAR 0
#endif

/* appends the digits at s to w (nd digits so far, at most 19); NULL when there are more */
static const char *csv_digits(const char *s, uint64_t *w, int *nd)
{
#if CSV_SWAR
    while (*nd <= 11 && csv_all8digits(csv_load8(s))) {
        *w = *w * 100000000 + csv_parse8(csv_load8(s));
        s += 8;
        *nd += 8;
    }
#endif
    for (; is_digit(*s); s++, ++*nd) {
        if (*nd == 19) return NULL;
        *w = *w * 10 + (uint64_t)(*s - '0');
    }
    return s;
}

/* 1 and *out, *endp when p starts with a number this path handles exactly; 0: use strtod */
static int csv_parse_fast(const char *p, double *out, char **endp)
{
    const char *s = p, *t;
    int neg = 0, nd = 0, e10 = 0, any = 0;
    uint64_t w = 0;
    if (*s == '-' || *s == '+') neg = *s++ == '-';
    while (*s == '0') s++, any = 1;
    if (!(t = csv_digits(s, &w, &nd))) return 0;
    any |= t != s;
    s = t;
    if (*s == '.') {
        s++;
        if (nd == 0)
            for (; *s == '0'; s++, any = 1)
                if (--e10 < -400) return 0;
        if (!(t = csv_digits(s, &w, &nd))) return 0;
        any |= t != s;
        e10 -= (int)(t - s);
        s = t;
    }
    if (!any) return 0;
    if (*s == 'e' || *s == 'E') {
        const char *t = s + 1;
        int eneg = 0, ex = 0;
        if (*t == '-' || *t == '+') eneg = *t++ == '-';
        if (!is_digit(*t)) return 0;
        for (; is_digit(*t); t++) {
            if (ex > 100000) return 0;
            ex = ex * 10 + (*t - '0');
        }
        e10 += eneg ? -ex : ex;
        s = t;
    }
    double v;
    if (w == 0) v = 0.0;
    else if (e10 < -19 || e10 > 19) return 0;
    else if (e10 == 0) v = (double)w;   /* one correctly rounded conversion */
    else if (e10 > 0) v = csv_round((csv_u128)w * csv_pow10[e10], 0, 0);
    else {   /* w / 10^k: normalise w to 64 bits so that the quotient has >= 64 bits */
        int sh = __builtin_clzll(w);
        uint64_t den = csv_pow10[-e10];
        csv_u128 num = (csv_u128)(w << sh) << 64, q = num / den;
        v = csv_round(q, num - q * den != 0, -64 - sh);
    }
    *out = neg ? -v : v;
    *endp = (char *)s;
    return 1;
}
#else
static int csv_parse_fast(const char *p, double *out, char **endp)
{
    (void)p, (void)out, (void)endp;
    return 0;
}
#endif

/* length of the field starting at p (up to ',' or the end of the line), for messages */
static int field_len(const char *p)
{
    size_t k = strcspn(p, ",");
    return k > 40 ? 40 : (int)k;
}

static size_t count_fields(const char *p)
{
    size_t k = 1;
    for (; *p; p++) k += *p == ',';
    return k;
}

static int csv_header(csv_reader *r, char *s, size_t len)
{
    if (len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) s += 3, len -= 3;   /* UTF-8 byte order mark */
    if (memchr(s, '\0', len)) return csv_fail(r, 1, "NUL byte in the header");
    if (len == 0)
        return csv_fail(r, 1, "missing header: the first line is empty (expected y,x1,...,xd)");
    size_t ncol = 0, numeric = 0;
    for (char *p = s;;) {
        char *q = p + strcspn(p, ",");
        const char *a = p, *b = q;
        while (a < b && is_blank(*a)) a++;
        while (b > a && is_blank(b[-1])) b--;
        if (a == b) return csv_fail(r, (size_t)(p - s) + 1, "empty column name in the header");
        char *end;
        (void)strtod(a, &end);
        if (end == b) numeric++;
        ncol++;
        if (!*q) break;
        p = q + 1;
    }
    if (numeric == ncol)
        return csv_fail(r, 1, "missing header: the first line holds numbers (expected y,x1,...,xd)");
    if (ncol < 2)
        return csv_fail(r, 1, "the header needs at least 2 columns (y and one feature), found 1");
    r->ncol = ncol;
    return 0;
}

/* realloc to n doubles (n * sizeof(double) does not wrap); NULL and p kept on failure */
/*@ requires fits: n <= SIZE_MAX / sizeof(double);
    assigns \nothing;
    ensures valid_or_null: \result == \null || \valid(\result + (0 .. n - 1)); */
static double *realloc_doubles(double *p, size_t n) { return realloc(p, n * sizeof(double)); }

/* doubles the row capacity (1024 rows at first) */
/*@ requires valid_r: \valid(r);
    requires rows: csv_rows(r) || (2 <= r->ncol && r->n == 0 && r->cap == 0);
    requires full: r->n == r->cap;
    assigns r->X, r->y, r->cap, r->err[0 .. r->errlen - 1];
    ensures grown: \result == 0 ==> csv_rows(r) && r->n < r->cap;
    ensures kept: r->n == \old(r->n) && r->ncol == \old(r->ncol); */
static int csv_grow(csv_reader *r)
{
    size_t d = r->ncol - 1, cap = r->cap ? r->cap * 2 : 1024, xs;
    if (!moem_mul_size(cap, d, &xs) || xs > SIZE_MAX / sizeof(double))
        return csv_fail(r, 1, "too many values: %zu rows x %zu features overflow the address space",
                        r->n + 1, d);
    double *X = realloc_doubles(r->X, xs);
    if (!X) return csv_fail(r, 1, "out of memory for %zu rows x %zu features", cap, d);
    r->X = X;
    //@ ghost moem_mul_le(1, d, cap);
    double *y = realloc_doubles(r->y, cap);
    if (!y) return csv_fail(r, 1, "out of memory for %zu rows", cap);
    r->y = y;
    r->cap = cap;
    return 0;
}

/* stores field c (0: the response, else feature c) of the row being read */
/*@ requires valid_r: \valid(r);
    requires rows: csv_rows(r) && r->n < r->cap;
    requires field: c < r->ncol;
    assigns r->y[r->n], r->X[r->n * (r->ncol - 1) .. r->n * (r->ncol - 1) + r->ncol - 2]; */
static void csv_store(csv_reader *r, size_t c, double v)
{
    size_t d = r->ncol - 1;
    //@ ghost moem_mul_le(r->n + 1, r->cap, d);
    if (c == 0) r->y[r->n] = v;
    else r->X[r->n * d + (c - 1)] = v;
}

/* one line, NUL-terminated at s[len] with the line break removed */
static int csv_line(csv_reader *r, char *s, size_t len)
{
    if (len && s[len - 1] == '\r') s[--len] = '\0';
    if (r->ncol == 0) return csv_header(r, s, len);
    if (len == 0) {
        if (!r->empty_line) r->empty_line = r->line;
        return 0;
    }
    if (r->empty_line) {
        r->line = r->empty_line;
        return csv_fail(r, 1, "empty line (expected %zu columns)", r->ncol);
    }
    if (r->n == r->cap && csv_grow(r)) return -1;
    char *p = s;
    size_t c = 0;
    for (;;) {
        size_t col = (size_t)(p - s) + 1;
        if (c == r->ncol)
            return csv_fail(r, col, "expected %zu columns, found %zu", r->ncol, r->ncol + count_fields(p));
        char *q = p;
        while (is_blank(*q)) q++;
        if (*q == ',' || *q == '\0') return csv_fail(r, col, "empty field");
        char *end;
        double v;
        errno = 0;
        if (!csv_parse_fast(q, &v, &end)) v = strtod(q, &end);
        if (end == q) return csv_fail(r, col, "not a number: '%.*s'", field_len(p), p);
        while (is_blank(*end)) end++;
        if (*end != ',' && *end != '\0')
            return csv_fail(r, col, "not a number: '%.*s'", field_len(p), p);
        if (!isfinite(v)) {
            if (errno == ERANGE)
                return csv_fail(r, col, "number out of range: '%.*s'", field_len(p), p);
            return csv_fail(r, col, "NaN or Inf is not allowed: '%.*s'", field_len(p), p);
        }
        csv_store(r, c, v);
        c++;
        if (*end == '\0') {
            if (end != s + len) return csv_fail(r, (size_t)(end - s) + 1, "NUL byte in the line");
            break;
        }
        p = end + 1;
    }
    if (c < r->ncol)
        return csv_fail(r, len + 1, "expected %zu columns, found %zu", r->ncol, c);
    r->n++;
    return 0;
}

int moem_csv_read(const char *path, moem_data *data, char *err, size_t errlen)
{
    csv_reader r = {.path = path, .err = err, .errlen = errlen, .line = 1};
    memset(data, 0, sizeof *data);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        if (err && errlen) snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        if (err && errlen) snprintf(err, errlen, "%s: cannot open: it is a directory", path);
        return -1;
    }
    size_t bufcap = CSV_CHUNK, have = 0, scan = 0, total = 0;
    char *buf = malloc(bufcap + CSV_PAD);
    int rc = -1;
    if (!buf) { csv_fail(&r, 1, "out of memory"); goto done; }
    for (;;) {
        if (have == bufcap) {   /* a line longer than the buffer */
            char *nb = bufcap < SIZE_MAX / 4 ? realloc(buf, 2 * bufcap + CSV_PAD) : NULL;
            if (!nb) { csv_fail(&r, 1, "out of memory for a line of %zu bytes", have); goto done; }
            buf = nb;
            bufcap *= 2;
        }
        ssize_t got = read(fd, buf + have, bufcap - have);
        if (got < 0) {
            if (errno == EINTR) continue;
            csv_fail(&r, 1, "read error: %s", strerror(errno));
            goto done;
        }
        if (got == 0) break;
        have += (size_t)got;
        memset(buf + have, 0, CSV_PAD);
        total += (size_t)got;
        char *p = buf, *end = buf + have, *nl;
        char *from = buf + scan;
        while ((nl = memchr(from, '\n', (size_t)(end - from)))) {
            *nl = '\0';
            if (csv_line(&r, p, (size_t)(nl - p))) goto done;
            r.line++;
            p = from = nl + 1;
        }
        have = (size_t)(end - p);
        memmove(buf, p, have);
        scan = have;
    }
    if (total == 0) { csv_fail(&r, 1, "empty file"); goto done; }
    if (have) {   /* last line without a final newline */
        buf[have] = '\0';
        if (csv_line(&r, buf, have)) goto done;
    } else {
        r.line--;   /* the file ended with a line break: no further line */
    }
    if (r.ncol == 0) { csv_fail(&r, 1, "missing header"); goto done; }
    if (r.n == 0) {
        r.line = 2;
        csv_fail(&r, 1, "no data rows after the header");
        goto done;
    }
    /* shrink to fit; a failing shrink keeps the larger block */
    double *X = realloc(r.X, r.n * (r.ncol - 1) * sizeof(double));
    if (X) r.X = X;
    double *y = realloc(r.y, r.n * sizeof(double));
    if (y) r.y = y;
    data->n = r.n;
    data->d = r.ncol - 1;
    data->X = r.X;
    data->y = r.y;
    r.X = r.y = NULL;
    rc = 0;
done:
    free(buf);
    free(r.X);
    free(r.y);
    close(fd);
    return rc;
}

/* ---- atomic output ---------------------------------------------------------------------- */

static char *str_dup(const char *s)
{
    size_t k = strlen(s) + 1;
    char *c = malloc(k);
    if (c) memcpy(c, s, k);
    return c;
}

static void atomic_free(moem_atomic_file *a)
{
    free(a->tmp);
    free(a->path);
    free(a->dir);
    memset(a, 0, sizeof *a);
}

int moem_atomic_open(moem_atomic_file *a, const char *path, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    struct stat st;
    if (!path || !*path) {
        if (err && errlen) snprintf(err, errlen, "empty output path");
        return -1;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (err && errlen) snprintf(err, errlen, "%s: cannot write: it is a directory", path);
        return -1;
    }
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) : 0;
    const char *base = slash ? slash + 1 : path;
    if (!*base) {
        if (err && errlen) snprintf(err, errlen, "%s: cannot write: it names a directory", path);
        return -1;
    }
    a->path = str_dup(path);
    a->dir = slash ? malloc(dlen + 2) : str_dup(".");
    a->tmp = malloc(strlen(path) + 16);
    if (!a->path || !a->dir || !a->tmp) {
        atomic_free(a);
        if (err && errlen) snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    if (slash) {
        memcpy(a->dir, path, dlen ? dlen : 1);   /* "/name": the directory is "/" */
        a->dir[dlen ? dlen : 1] = '\0';
    }
    sprintf(a->tmp, "%.*s.%s.XXXXXX", (int)(base - path), path, base);
    int fd = mkstemp(a->tmp);
    if (fd < 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot create a file in %s: %s", path, a->dir, strerror(errno));
        atomic_free(a);
        return -1;
    }
    mode_t mask = umask(022);   /* mkstemp makes 0600; give the file the usual permissions */
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    a->f = fdopen(fd, "w");
    if (!a->f) {
        if (err && errlen) snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        unlink(a->tmp);
        atomic_free(a);
        return -1;
    }
    return 0;
}

void moem_atomic_abort(moem_atomic_file *a)
{
    if (a->f) fclose(a->f);
    if (a->tmp) unlink(a->tmp);
    atomic_free(a);
}

int moem_atomic_commit(moem_atomic_file *a, char *err, size_t errlen)
{
    int e = 0;
    if (fflush(a->f) != 0 || ferror(a->f)) e = errno ? errno : EIO;
    if (!e && fsync(fileno(a->f)) != 0 && errno != EINVAL) e = errno;
    if (fclose(a->f) != 0 && !e) e = errno;
    a->f = NULL;
    if (!e && rename(a->tmp, a->path) != 0) e = errno;
    if (e) {
        if (err && errlen) snprintf(err, errlen, "%s: cannot write: %s", a->path, strerror(e));
        moem_atomic_abort(a);
        return -1;
    }
    int dfd = open(a->dir, O_RDONLY);   /* make the rename durable; best effort */
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    atomic_free(a);
    return 0;
}

/* ---- CSV output ------------------------------------------------------------------------- */

int moem_csv_write(const char *path, const moem_data *data, char *err, size_t errlen)
{
    if (!data || !data->X || !data->y || data->n < 1 || data->d < 1) {
        if (err && errlen) snprintf(err, errlen, "%s: no data to write", path);
        return -1;
    }
    for (size_t i = 0; i < data->n; i++) {   /* the reader would refuse these */
        int bad = !isfinite(data->y[i]);
        for (size_t j = 0; j < data->d && !bad; j++) bad = !isfinite(data->X[i * data->d + j]);
        if (bad) {
            if (err && errlen) snprintf(err, errlen, "%s: sample %zu holds NaN or Inf", path, i + 1);
            return -1;
        }
    }
    moem_atomic_file a;
    if (moem_atomic_open(&a, path, err, errlen)) return -1;
    setvbuf(a.f, NULL, _IOFBF, (size_t)1 << 20);
    fputc('y', a.f);
    for (size_t j = 1; j <= data->d; j++) fprintf(a.f, ",x%zu", j);
    fputc('\n', a.f);
    for (size_t i = 0; i < data->n; i++) {
        const double *x = data->X + i * data->d;
        fprintf(a.f, "%.17g", data->y[i]);
        for (size_t j = 0; j < data->d; j++) fprintf(a.f, ",%.17g", x[j]);
        if (fputc('\n', a.f) == EOF) break;
    }
    return moem_atomic_commit(&a, err, errlen);
}
