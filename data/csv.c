/* CSV data files (the atomic output they use is data/output.c).
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
#include "base.h"

#define CSV_CHUNK ((size_t)1 << 22)

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
    predicate csv_rows_at(integer ncol, integer n, integer cap, double *X, double *y) =
      2 <= ncol && n <= cap && cap * (ncol - 1) <= SIZE_MAX / sizeof(double) &&
      \valid(X + (0 .. cap * (ncol - 1) - 1)) && \valid(y + (0 .. cap - 1));
    predicate csv_rows(csv_reader *r) = csv_rows_at(r->ncol, r->n, r->cap, r->X, r->y);
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

/* ---- decimal to double ------------------------------------------------------------------
 * strtod costs about 150 ns for a 17-digit number. Most fields (%.17g of data of moderate
 * magnitude) have at most 19 significant digits and a decimal exponent within +-19; for those
 * the value w 10^e is computed exactly in 128-bit integers (a product, or a quotient and its
 * remainder) and rounded once to nearest-even, which is the correctly rounded result strtod
 * gives. Everything else goes to strtod.
 *
 * The scanner (csv_digits, csv_mantissa, csv_exponent, csv_scan) is proved in run csv_scan; the
 * 128-bit conversion (csv_value) and the eight-digit SWAR helpers are bit arithmetic that the
 * proof takes through their contracts (Frama-C does not parse __int128), and tests/test_csv.c
 * compares the result with strtod on many spellings. */

/* a string of n characters at p, and the NUL after them (the line it lies in may hold other
 * NULs before) */
/*@ predicate csv_str(char *p, integer n) =
      0 <= n <= SIZE_MAX / 4 && \valid_read(p + (0 .. n)) && p[n] == '\0';
*/

/*@ assigns \nothing;
    ensures \result <==> (c == ' ' || c == '\t'); */
static int is_blank(char c) { return c == ' ' || c == '\t'; }

/*@ assigns \nothing;
    ensures \result <==> ('0' <= c <= '9'); */
static int is_digit(char c) { return c >= '0' && c <= '9'; }

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* eight ASCII digits at once (SWAR, as in simdjson and fast_float) */
/*@ requires valid: \valid_read(s + (0 .. 7));
    assigns \result \from s[0 .. 7]; */
static uint64_t csv_load8(const char *s)
{
    uint64_t v;
    memcpy(&v, s, 8);
    return v;
}

/*@ assigns \nothing; */
static int csv_all8digits(uint64_t v)
{
    return ((v & 0xF0F0F0F0F0F0F0F0ULL) | (((v + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4))
           == 0x3333333333333333ULL;
}

/* the number written by eight ASCII digits (v passed csv_all8digits) */
/*@ assigns \nothing;
    ensures below: \result < 100000000; */
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

/* appends the digits at s to w, counting them in *nd (at most 19): the number of digits read,
 * CSV_MORE when there are more. The tests of w repeat those of *nd (a first digit is never 0,
 * so nd digits give w >= 10^(nd-1)); they are the bounds that keep w * 10^k from wrapping. */
#define CSV_MORE SIZE_MAX
/*@ requires str: csv_str(s, n);
    requires valid: \valid(w) && \valid(nd) && \separated(w, nd);
    requires counts: 0 <= *nd <= 19;
    assigns *w, *nd;
    ensures read: \result == CSV_MORE || \result <= n;
    ensures counts: 0 <= *nd <= 19 && (\result != CSV_MORE ==> *nd - \old(*nd) == \result); */
static size_t csv_digits(const char *s, size_t n, uint64_t *w, int *nd)
{
    size_t i = 0;
#if CSV_SWAR
    /*@ loop invariant 0 <= i <= n && 0 <= *nd <= 19 && *nd - \at(*nd, Pre) == i;
        loop assigns i, *w, *nd;
        loop variant n - i; */
    while (n - i >= 8 && *nd <= 11 && *w < 100000000000ULL && csv_all8digits(csv_load8(s + i))) {
        *w = *w * 100000000 + csv_parse8(csv_load8(s + i));
        i += 8;
        *nd += 8;
    }
#endif
    /*@ loop invariant 0 <= i <= n && 0 <= *nd <= 19 && *nd - \at(*nd, Pre) == i;
        loop assigns i, *w, *nd;
        loop variant n - i; */
    for (; is_digit(s[i]); i++, ++*nd) {
        if (*nd == 19 || *w >= 1000000000000000000ULL) return CSV_MORE;
        *w = *w * 10 + (uint64_t)(s[i] - '0');
    }
    return i;
}

/* w 10^e10 correctly rounded (1 <= w < 2^64); defined below where 128-bit integers exist */
/*@ requires exponent: -19 <= e10 <= 19;
    assigns \nothing; */
static double csv_value(uint64_t w, int e10);

/* the digits of a number, with at most one point, at p: their length, w and e10 such that
 * they read w 10^e10; 0 when there is no digit or more than this path reads exactly */
/*@ requires str: csv_str(p, n);
    requires valid: \valid(w) && \valid(e10) && \separated(w, e10);
    assigns *w, *e10;
    ensures read: \result <= n && -419 <= *e10 <= 0; */
static size_t csv_mantissa(const char *p, size_t n, uint64_t *w, int *e10)
{
    size_t i = 0, k;
    int nd = 0, any = 0;
    *w = 0;
    *e10 = 0;
    /*@ loop invariant 0 <= i <= n;
        loop assigns i, any;
        loop variant n - i; */
    while (p[i] == '0') i++, any = 1;
    if ((k = csv_digits(p + i, n - i, w, &nd)) == CSV_MORE) return 0;
    any |= k != 0;
    i += k;
    if (p[i] == '.') {
        i++;
        if (nd == 0)
            /*@ loop invariant 0 <= i <= n && -400 <= *e10 <= 0;
                loop assigns i, any, *e10;
                loop variant n - i; */
            for (; p[i] == '0'; i++, any = 1)
                if (--*e10 < -400) return 0;
        if ((k = csv_digits(p + i, n - i, w, &nd)) == CSV_MORE) return 0;
        any |= k != 0;
        *e10 -= (int)k;   /* k <= 19 */
        i += k;
    }
    return any ? i : 0;
}

/* the exponent 'e' or 'E', a sign and digits at p: their length and value; 0 when there are no
 * digits or the value is beyond +-100000 */
/*@ requires str: csv_str(p, n);
    requires valid: \valid(ex);
    assigns *ex;
    ensures read: \result <= n && -1000009 <= *ex <= 1000009; */
static size_t csv_exponent(const char *p, size_t n, int *ex)
{
    size_t t = 1;
    int neg = 0, v = 0;
    *ex = 0;
    if (n == 0) return 0;
    if (p[t] == '-' || p[t] == '+') neg = p[t++] == '-';
    if (!is_digit(p[t])) return 0;
    /*@ loop invariant 1 <= t <= n && 0 <= v <= 1000009;
        loop assigns t, v;
        loop variant n - t; */
    for (; is_digit(p[t]); t++) {
        if (v > 100000) return 0;
        v = v * 10 + (p[t] - '0');
    }
    *ex = neg ? -v : v;
    return t;
}

/* the length of the number at p when this path reads it exactly (its value in *out); 0: use
 * strtod */
/*@ requires str: csv_str(p, n);
    requires valid: \valid(out);
    assigns *out;
    ensures read: \result <= n; */
static size_t csv_scan(const char *p, size_t n, double *out)
{
#if defined(__SIZEOF_INT128__)
    size_t i = p[0] == '-' || p[0] == '+', k;
    uint64_t w;
    int e10, ex;
    if (i > n || !(k = csv_mantissa(p + i, n - i, &w, &e10))) return 0;
    i += k;
    if (p[i] == 'e' || p[i] == 'E') {
        if (!(k = csv_exponent(p + i, n - i, &ex))) return 0;
        e10 += ex;
        i += k;
    }
    double v;
    if (w == 0) v = 0.0;
    else if (e10 < -19 || e10 > 19) return 0;
    else v = csv_value(w, e10);
    *out = p[0] == '-' ? -v : v;
    return i;
#else
    (void)p, (void)n, (void)out;
    return 0;
#endif
}

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

static double csv_value(uint64_t w, int e10)
{
    if (e10 == 0) return (double)w;   /* one correctly rounded conversion */
    if (e10 > 0) return csv_round((csv_u128)w * csv_pow10[e10], 0, 0);
    /* w / 10^k: normalise w to 64 bits so that the quotient has >= 64 bits */
    int sh = __builtin_clzll(w);
    uint64_t den = csv_pow10[-e10];
    csv_u128 num = (csv_u128)(w << sh) << 64, q = num / den;
    return csv_round(q, num - q * den != 0, -64 - sh);
}
#endif

/* length of the field starting at p (up to ',' or the end of the line, at most 40), for
 * messages */
/*@ requires str: csv_str(p, n);
    assigns \nothing;
    ensures 0 <= \result <= 40 && \result <= n; */
static int field_len(const char *p, size_t n)
{
    (void)n;   /* the bound of the contract */
    int k = 0;
    /*@ loop invariant 0 <= k <= 40 && k <= n;
        loop assigns k;
        loop variant 40 - k; */
    while (k < 40 && p[k] && p[k] != ',') k++;
    return k;
}

/* the fields from p to the end of the string: one more than its commas */
/*@ requires str: csv_str(p, n);
    assigns \nothing;
    ensures 1 <= \result <= n + 1; */
static size_t count_fields(const char *p, size_t n)
{
    (void)n;   /* the bound of the contract */
    size_t k = 1;
    /*@ loop invariant 0 <= i <= n && 1 <= k <= i + 1;
        loop assigns i, k;
        loop variant n - i; */
    for (size_t i = 0; p[i]; i++) k += p[i] == ',';
    return k;
}

/*@ predicate csv_line_ok(char *s, integer len) = csv_str(s, len) && \valid(s + (0 .. len));
    // before the header, or after it with room for the next row (run csv_rows); stated over
    // the values of the fields, so that WP keeps it across a write to another field
    predicate csv_state_at(integer ncol, integer n, integer cap, double *X, double *y) =
      ncol <= SIZE_MAX / 4 + 1 &&
      ((ncol == 0 && n == 0 && cap == 0) || (csv_rows_at(ncol, n, cap, X, y) && n < cap));
    predicate csv_state(csv_reader *r) = csv_state_at(r->ncol, r->n, r->cap, r->X, r->y);
*/

/*@ requires valid_r: \valid(r);
    requires line: csv_line_ok(s, len);
    requires state: r->ncol == 0 && r->n == 0 && r->cap == 0;
    assigns r->ncol, r->err[0 .. r->errlen - 1];
    ensures state: \result == 0 ==> 2 <= r->ncol <= len + 1 && r->n == 0 && r->cap == 0; */
static int csv_header(csv_reader *r, char *s, size_t len)
{
    if (len >= 3 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
        (unsigned char)s[2] == 0xBF)
        s += 3, len -= 3;   /* UTF-8 byte order mark */
    if (memchr(s, '\0', len)) return csv_fail(r, 1, "NUL byte in the header");
    if (len == 0)
        return csv_fail(r, 1, "missing header: the first line is empty (expected y,x1,...,xd)");
    size_t ncol = 0, numeric = 0;
    /*@ loop invariant 0 <= i <= len && numeric <= ncol <= i;
        loop assigns i, ncol, numeric;
        loop variant len - i; */
    for (size_t i = 0;;) {   /* the column name from i up to the next ',' (at q) */
        size_t q = i, a = i, b;
        /*@ loop invariant i <= q <= len;
            loop assigns q;
            loop variant len - q; */
        while (s[q] && s[q] != ',') q++;
        /*@ loop invariant i <= a <= q;
            loop assigns a;
            loop variant q - a; */
        while (a < q && is_blank(s[a])) a++;
        /*@ loop invariant a <= b <= q;
            loop assigns b;
            loop variant b - a; */
        for (b = q; b > a && is_blank(s[b - 1]); b--) {}
        if (a == b) return csv_fail(r, i + 1, "empty column name in the header");
        char *end;
        (void)strtod(s + a, &end);
        if (end == s + b) numeric++;
        ncol++;
        if (!s[q]) break;
        i = q + 1;
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

/* doubles the row capacity (1024 rows at first); -1 when rows x features would overflow the
 * address space, -2 out of memory (X and y keep their blocks) */
/*@ requires valid_r: \valid(r);
    requires rows: csv_rows(r) || (2 <= r->ncol && r->n == 0 && r->cap == 0);
    requires full: r->n == r->cap;
    assigns r->X, r->y, r->cap;
    ensures grown: \result == 0 ==> csv_rows(r) && r->n < r->cap;
    ensures kept: r->n == \old(r->n) && r->ncol == \old(r->ncol); */
static int csv_grow(csv_reader *r)
{
    size_t d = r->ncol - 1, cap = r->cap ? r->cap * 2 : 1024, xs;
    if (!moem_mul_size(cap, d, &xs) || xs > SIZE_MAX / sizeof(double)) return -1;
    double *X = realloc_doubles(r->X, xs);
    if (!X) return -2;
    r->X = X;
    //@ ghost moem_mul_le(1, d, cap);
    double *y = realloc_doubles(r->y, cap);
    if (!y) return -2;
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

/* the fields of a data line into row r->n: their number (at most r->ncol), 0 after an error */
/*@ requires valid_r: \valid(r);
    requires line: csv_str(s, len);
    requires rows: csv_rows(r) && r->n < r->cap && r->ncol <= SIZE_MAX / 4 + 1;
    assigns errno, r->y[r->n], r->X[r->n * (r->ncol - 1) .. r->n * (r->ncol - 1) + r->ncol - 2],
            r->err[0 .. r->errlen - 1];
    ensures fields: \result <= r->ncol; */
static size_t csv_fields(csv_reader *r, const char *s, size_t len)
{
    size_t c = 0;
    /*@ loop invariant 0 <= i <= len && c < r->ncol;
        loop assigns i, c, errno, r->y[r->n],
                     r->X[r->n * (r->ncol - 1) .. r->n * (r->ncol - 1) + r->ncol - 2];
        loop variant len - i; */
    for (size_t i = 0;; c++) {   /* field c starts at i */
        const char *p = s + i;
        size_t q = i;
        /*@ loop invariant i <= q <= len;
            loop assigns q;
            loop variant len - q; */
        while (is_blank(s[q])) q++;
        if (s[q] == ',' || s[q] == '\0') return csv_fail(r, i + 1, "empty field"), 0;
        double v;
        size_t k = csv_scan(s + q, len - q, &v), e = q + k;
        if (k == 0) {
            char *end;
            errno = 0;
            v = strtod(s + q, &end);
            /* strtod stops at the line's NUL: an end beyond it cannot happen, the test states it */
            ptrdiff_t at = end - s;
            if (at <= (ptrdiff_t)q || at > (ptrdiff_t)len)
                return csv_fail(r, i + 1, "not a number: '%.*s'", field_len(p, len - i), p), 0;
            e = (size_t)at;
        }
        /*@ loop invariant q < e <= len;
            loop assigns e;
            loop variant len - e; */
        while (is_blank(s[e])) e++;
        if (s[e] != ',' && s[e] != '\0')
            return csv_fail(r, i + 1, "not a number: '%.*s'", field_len(p, len - i), p), 0;
        if (!isfinite(v)) {
            if (k == 0 && errno == ERANGE)
                return csv_fail(r, i + 1, "number out of range: '%.*s'", field_len(p, len - i), p), 0;
            return csv_fail(r, i + 1, "NaN or Inf is not allowed: '%.*s'", field_len(p, len - i), p), 0;
        }
        csv_store(r, c, v);
        if (s[e] == '\0') {
            if (e != len) return csv_fail(r, e + 1, "NUL byte in the line"), 0;
            return c + 1;
        }
        if (c + 1 == r->ncol)
            return csv_fail(r, e + 2, "expected %zu columns, found %zu", r->ncol,
                            r->ncol + count_fields(s + e + 1, len - e - 1)), 0;
        i = e + 1;
    }
}

/* grows the rows when they are full: there is always room for the next row */
/*@ requires valid_r: \valid(r);
    requires rows: csv_rows(r) || (2 <= r->ncol && r->n == 0 && r->cap == 0);
    requires full: r->n == r->cap;
    assigns r->X, r->y, r->cap, r->err[0 .. r->errlen - 1];
    ensures grown: \result == 0 ==> csv_rows(r) && r->n < r->cap;
    ensures kept: r->n == \old(r->n) && r->ncol == \old(r->ncol); */
static int csv_reserve(csv_reader *r)
{
    size_t want = r->cap ? 2 * r->cap : 1024;
    //@ ghost moem_mul_le(1, r->ncol - 1, r->cap);
    int g = csv_grow(r);
    if (g == -1)
        return csv_fail(r, 1, "too many values: %zu rows x %zu features overflow the address space",
                        want, r->ncol - 1);
    if (g) return csv_fail(r, 1, "out of memory for %zu rows x %zu features", want, r->ncol - 1);
    return 0;
}

/* one line, NUL-terminated at s[len] with the line break removed */
/*@ requires valid_r: \valid(r);
    requires line: csv_line_ok(s, len);
    requires state: csv_state(r);
    assigns r->ncol, r->n, r->cap, r->X, r->y, r->empty_line, r->line, s[0 .. len],
            r->y[r->n], r->X[r->n * (r->ncol - 1) .. r->n * (r->ncol - 1) + r->ncol - 2],
            r->err[0 .. r->errlen - 1], errno;
    ensures state: \result == 0 ==> csv_state(r) && r->line == \old(r->line);
    ensures kept: r->err == \old(r->err) && r->errlen == \old(r->errlen); */
static int csv_line(csv_reader *r, char *s, size_t len)
{
    if (len && s[len - 1] == '\r') s[--len] = '\0';
    if (r->ncol == 0) return csv_header(r, s, len) ? -1 : csv_reserve(r);
    if (len == 0) {
        if (!r->empty_line) r->empty_line = r->line;
        return 0;
    }
    if (r->empty_line) {
        r->line = r->empty_line;
        return csv_fail(r, 1, "empty line (expected %zu columns)", r->ncol);
    }
    //@ ghost moem_mul_le(r->n + 1, r->cap, r->ncol - 1);
    size_t c = csv_fields(r, s, len);
    if (c == 0) return -1;
    if (c < r->ncol)
        return csv_fail(r, len + 1, "expected %zu columns, found %zu", r->ncol, c);
    r->n++;
    return r->n == r->cap ? csv_reserve(r) : 0;
}

/* the offset of the first line break in s[0 .. n-1], n if none */
/*@ requires valid: \valid_read(s + (0 .. n - 1));
    assigns \nothing;
    ensures found: \result <= n && (\result < n ==> s[\result] == '\n'); */
static size_t csv_find_nl(const char *s, size_t n)
{
    const char *nl = memchr(s, '\n', n);
    return nl ? (size_t)(nl - s) : n;
}

/* csv_line, for the loop of csv_lines. Trusted through its contract, not proved (csv_line is,
 * in run csv_text): the contract leaves out the row written into r->X and r->y. After a row
 * fills them csv_line moves them to a block realloc has just returned, and the loop's next row
 * goes there: fresh memory that no loop assigns clause can name (WP evaluates it in the state
 * before the loop), separate from the line buffer. */
/*@ requires valid_r: \valid(r);
    requires line: csv_line_ok(s, len);
    requires state: csv_state(r);
    assigns r->ncol, r->n, r->cap, r->X, r->y, r->empty_line, r->line, s[0 .. len],
            r->err[0 .. r->errlen - 1], errno;
    ensures state: \result == 0 ==> csv_state(r) && r->line == \old(r->line);
    ensures kept: r->err == \old(r->err) && r->errlen == \old(r->errlen); */
static int csv_take_line(csv_reader *r, char *s, size_t len) { return csv_line(r, s, len); }

/* csv_state read as the values of the fields (a lemma for csv_lines) */
/*@ ghost
  /@ requires csv_state(r);
     assigns \nothing;
     ensures csv_state_at(r->ncol, r->n, r->cap, r->X, r->y); @/
  static void csv_state_fields(csv_reader *r) {}
*/

/* the complete lines of buf[0 .. have-1] (the first line starts at 0, its break is not before
 * from) to csv_line, and r->line past them: the bytes of those lines, or CSV_MORE after an
 * error */
/*@ requires valid_r: \valid(r) && csv_state(r) && 1 <= r->line;
    requires buf: \valid(buf + (0 .. have - 1)) && from <= have <= SIZE_MAX / 4;
    assigns buf[0 .. have - 1], r->ncol, r->n, r->cap, r->X, r->y, r->empty_line, r->line,
            r->err[0 .. r->errlen - 1], errno;
    ensures used: \result == CSV_MORE || (\result <= have && csv_state(r) && 1 <= r->line);
    ensures kept: r->err == \old(r->err) && r->errlen == \old(r->errlen); */
static size_t csv_lines(csv_reader *r, char *buf, size_t from, size_t have)
{
    size_t p = 0, nl;   /* the line from p */
    /*@ loop invariant lines: 0 <= p <= from <= have;
        loop invariant reader: csv_state_at(r->ncol, r->n, r->cap, r->X, r->y) && 1 <= r->line;
        loop invariant kept: r->err == \at(r->err, Pre) && r->errlen == \at(r->errlen, Pre);
        loop assigns p, from, nl, errno, buf[0 .. have - 1], r->ncol, r->n, r->cap, r->X, r->y,
                     r->empty_line, r->line, r->err[0 .. r->errlen - 1];
        loop variant have - from; */
    while ((nl = from + csv_find_nl(buf + from, have - from)) < have) {
        buf[nl] = '\0';
        if (csv_take_line(r, buf + p, nl - p)) return CSV_MORE;
        //@ ghost csv_state_fields(r);
        if (r->line < SIZE_MAX) r->line++;   /* line numbers stop at SIZE_MAX */
        p = from = nl + 1;
    }
    return p;
}

/* read(2) of up to n bytes into p, again after EINTR: the bytes read (0 at the end of the
 * file), CSV_MORE after an error (errno says which) */
/*@ requires fd: 0 <= fd < __FC_MAX_OPEN_FILES;
    requires buf: 1 <= n <= SIZE_MAX / 4 && \valid(p + (0 .. n - 1));
    assigns p[0 .. n - 1], errno, __fc_fds[fd];
    ensures got: \result == CSV_MORE || \result <= n; */
static size_t csv_read_some(int fd, char *p, size_t n)
{
    /*@ loop assigns p[0 .. n - 1], errno, __fc_fds[fd]; */
    for (;;) {
        ssize_t got = read(fd, p, n);
        if (got >= 0) return (size_t)got <= n ? (size_t)got : CSV_MORE;   /* more: not read(2) */
        if (errno != EINTR) return CSV_MORE;
    }
}

/* after the last chunk: the last line (have bytes at buf, without a final line break), the
 * checks of a whole file, and the rows, shrunk to fit, moved to data */
/*@ requires valid_r: \valid(r) && csv_state(r) && 1 <= r->line;
    requires buf: have <= SIZE_MAX / 4 && \valid(buf + (0 .. have));
    requires data: \valid(data) && \separated(data, r);
    assigns buf[0 .. have], r->ncol, r->n, r->cap, r->X, r->y, r->empty_line, r->line,
            r->y[r->n], r->X[r->n * (r->ncol - 1) .. r->n * (r->ncol - 1) + r->ncol - 2],
            r->err[0 .. r->errlen - 1], errno, *data; */
static int csv_finish(csv_reader *r, char *buf, size_t have, moem_data *data)
{
    if (have) {   /* last line without a final newline */
        buf[have] = '\0';
        if (csv_line(r, buf, have)) return -1;
    } else {
        r->line--;   /* the file ended with a line break: no further line */
    }
    if (r->ncol == 0) return csv_fail(r, 1, "missing header");
    if (r->n == 0) {
        r->line = 2;
        return csv_fail(r, 1, "no data rows after the header");
    }
    /* shrink to fit; a failing shrink keeps the larger block */
    //@ ghost moem_mul_le(r->n, r->cap, r->ncol - 1);
    double *X = realloc_doubles(r->X, r->n * (r->ncol - 1));
    if (X) r->X = X;
    double *y = realloc_doubles(r->y, r->n);
    if (y) r->y = y;
    data->n = r->n;
    data->d = r->ncol - 1;
    data->X = r->X;
    data->y = r->y;
    r->X = r->y = NULL;
    return 0;
}

/* No assigns clause: the rows go to blocks the function allocates, which an assigns clause
 * (read before the call) cannot name, and so does the read loop, which has invariants but no
 * loop assigns. WP then lets the loop change anything and keeps only what the invariants state:
 * sound, and every access in the loop is still checked against them (run csv_read). */
/*@ requires path: valid_read_string(path);
    requires data: \valid(data);
    requires err: errlen == 0 || \valid(err + (0 .. errlen - 1)); */
int moem_csv_read(const char *path, moem_data *data, char *err, size_t errlen)
{
    csv_reader r = {.path = path, .err = err, .errlen = errlen, .line = 1};
    *data = (moem_data){0};
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
    size_t bufcap = CSV_CHUNK, have = 0, scan = 0;
    int any = 0;
    char *buf = malloc(bufcap + 1);   /* + 1: the NUL after the last line */
    int rc = -1;
    if (!buf) { csv_fail(&r, 1, "out of memory"); goto done; }
    /*@ loop invariant buf: CSV_CHUNK <= bufcap <= SIZE_MAX / 4 && \valid(buf + (0 .. bufcap));
        loop invariant have: scan <= have <= bufcap;
        loop invariant reader: csv_state(&r) && 1 <= r.line;
        loop invariant kept: r.err == err && r.errlen == errlen && r.path == path;
        loop invariant fd: 0 <= fd < __FC_MAX_OPEN_FILES;
        loop invariant data: \valid(data) && \separated(data, &r); */
    for (;;) {
        if (have == bufcap) {   /* a line longer than the buffer */
            char *nb = bufcap < SIZE_MAX / 8 ? realloc(buf, 2 * bufcap + 1) : NULL;
            if (!nb) { csv_fail(&r, 1, "out of memory for a line of %zu bytes", have); goto done; }
            buf = nb;
            bufcap *= 2;
        }
        size_t got = csv_read_some(fd, buf + have, bufcap - have);
        if (got == CSV_MORE) {
            csv_fail(&r, 1, "read error: %s", strerror(errno));
            goto done;
        }
        if (got == 0) break;
        have += got;
        any = 1;
        size_t p = csv_lines(&r, buf, scan, have);
        if (p == CSV_MORE) goto done;
        have -= p;
        memmove(buf, buf + p, have);
        scan = have;
    }
    if (!any) { csv_fail(&r, 1, "empty file"); goto done; }
    rc = csv_finish(&r, buf, have, data);
done:
    free(buf);
    free(r.X);
    free(r.y);
    close(fd);
    return rc;
}

/* ---- CSV output ------------------------------------------------------------------------- */

/* moem_csv_read_features: see moem/io.h. The proved reader takes the first column as y; a
 * file of features only has one column fewer, and that column is x1: the rows are rebuilt
 * with it in front. */
int moem_csv_read_features(const char *path, size_t d, moem_data *data, char *err, size_t errlen)
{
    if (moem_csv_read(path, data, err, errlen)) return -1;
    if (data->d == d) return 0;
    if (data->d + 1 != d) {
        if (err && errlen)
            snprintf(err, errlen, "%s: %zu columns: expected %zu (y and %zu features) or %zu (the features only)",
                     path, data->d + 1, d + 1, d, d);
        moem_data_free(data);
        return -1;
    }
    size_t n = data->n, nd;
    double *X = NULL;
    if (moem_mul_size(n, d, &nd) && nd <= SIZE_MAX / sizeof(double)) X = malloc(nd * sizeof(double));
    if (!X) {
        if (err && errlen) snprintf(err, errlen, "%s: out of memory for %zu rows x %zu features", path, n, d);
        moem_data_free(data);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        X[i * d] = data->y[i];
        memcpy(X + i * d + 1, data->X + i * (d - 1), (d - 1) * sizeof(double));
    }
    free(data->X);
    free(data->y);
    data->X = X;
    data->y = NULL;
    data->d = d;
    return 0;
}


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
