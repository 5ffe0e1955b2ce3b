/* CSV reader and writer: round trip bit for bit, the golden files, every error with its
 * line and column, atomic writes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "csv.h"
#include "rng.h"

static char *tmp_path(const char *name)
{
    static char buf[4][1024];
    static int slot;
    char *p = buf[slot++ % 4];
    snprintf(p, 1024, "%s/io_csv_%ld_%s", MOEM_TEST_TMP, (long)getpid(), name);
    return p;
}

static const char *write_text(const char *name, const char *text, size_t len)
{
    const char *p = tmp_path(name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return p;
}

static void same_bits(const double *a, const double *b, size_t n)
{
    assert_memory_equal(a, b, n * sizeof(double));
}

/* reading text fails with "PATH:LINE:COL: ..." and the message contains what */
static void expect_error(const char *text, size_t line, size_t col, const char *what)
{
    const char *p = write_text("bad.csv", text, strlen(text));
    moem_data d;
    char err[512], want[1200];
    assert_int_equal(moem_csv_read(p, &d, err, sizeof err), -1);
    assert_null(d.X);
    snprintf(want, sizeof want, "%s:%zu:%zu: ", p, line, col);
    if (strncmp(err, want, strlen(want)) || !strstr(err, what))
        fail_msg("input %s: got '%s', want prefix '%s' and '%s'", text, err, want, what);
    assert_null(strchr(err, '\n'));
    assert_null(strchr(err, '\r'));
    unlink(p);
}

static void random_data(moem_data *d, size_t n, size_t dim, uint64_t seed)
{
    moem_rng r;
    moem_rng_seed(&r, seed);
    assert_int_equal(moem_data_alloc(d, n, dim, NULL, 0), 0);
    for (size_t i = 0; i < n * dim; i++) {
        /* varied magnitudes: mantissas with all 53 bits, exponents over the whole range */
        double m = moem_rng_uniform(&r) * 2 - 1;
        int e = (int)(moem_rng_next(&r) % 2000) - 1000;
        d->X[i] = ldexp(m, e);
    }
    for (size_t i = 0; i < n; i++) d->y[i] = moem_rng_normal(&r);
    /* specials at fixed places */
    d->X[0] = -0.0;
    if (n * dim > 4) {
        d->X[1] = DBL_MAX;
        d->X[2] = -DBL_MIN;
        d->X[3] = 4.9406564584124654e-324;   /* smallest subnormal */
        d->X[4] = 0.1;
    }
}

static void roundtrip(size_t n, size_t dim)
{
    moem_data a, b;
    char err[512];
    random_data(&a, n, dim, 1234 + n + dim);
    const char *p = tmp_path("rt.csv");
    assert_int_equal(moem_csv_write(p, &a, err, sizeof err), 0);
    if (moem_csv_read(p, &b, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(b.n, n);
    assert_int_equal(b.d, dim);
    same_bits(a.X, b.X, n * dim);
    same_bits(a.y, b.y, n);
    unlink(p);
    moem_data_free(&a);
    moem_data_free(&b);
}

static void test_roundtrip_small(void **s) { (void)s; roundtrip(1, 1); roundtrip(7, 5); }

/* about 15 MB: crosses the reader's 4 MiB chunks many times */
static void test_roundtrip_chunks(void **s) { (void)s; roundtrip(100000, 6); }

/* one line much longer than the read buffer */
static void test_roundtrip_long_line(void **s) { (void)s; roundtrip(2, 400000); }

static void test_golden(void **s)
{
    (void)s;
    moem_data d;
    char err[512];
    if (moem_csv_read(MOEM_TESTS_DIR "/golden/symlin_n300_d5.csv", &d, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(d.n, 300);
    assert_int_equal(d.d, 5);
    /* first row and last field of the file, compared with the compiler's own conversion */
    assert_true(d.y[0] == 5.4120887976606165);
    assert_true(d.X[0] == -0.79015249996301462);
    assert_true(d.X[4] == -0.30968679986627135);
    assert_true(d.X[300 * 5 - 1] == 2.1065352635665948);
    moem_data_free(&d);
    if (moem_csv_read(MOEM_TESTS_DIR "/golden/linear3_n400_d4.csv", &d, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(d.n, 400);
    assert_int_equal(d.d, 4);
    moem_data_free(&d);
}

/* numbers in many spellings read exactly as strtod reads them: %.17g, %.Ng, %.Ne, %.Nf, random
 * digit strings with signs, leading zeros and exponents, and decimal midpoints between adjacent
 * doubles (ties to even) */
static void test_number_spellings(void **s)
{
    (void)s;
    enum { N = 60000, W = 4 };
    moem_rng r;
    moem_rng_seed(&r, 2024);
    char(*txt)[64] = malloc(sizeof(char[64]) * N * W);
    assert_non_null(txt);
    for (size_t i = 0; i < N; i++) {
        char *t = txt[i * W];
        double x = (moem_rng_uniform(&r) * 2 - 1) * pow(10, (int)(moem_rng_next(&r) % 60) / 2.0 - 15);
        int prec = 1 + (int)(moem_rng_next(&r) % 19);
        switch (i % 4) {
        case 0: snprintf(t, 64, "%.17g", x); break;
        case 1: snprintf(t, 64, "%.*g", prec, x); break;
        case 2: snprintf(t, 64, "%.*e", prec, x); break;
        default: snprintf(t, 64, "%.*f", prec % 12, x); break;
        }
        char *p = txt[i * W + 1];
        if (moem_rng_next(&r) % 2) *p++ = "-+"[moem_rng_next(&r) % 2];
        int k = (int)(moem_rng_next(&r) % 21);
        for (int j = 0; j < k; j++) *p++ = (char)('0' + (j < 2 && moem_rng_next(&r) % 3 == 0 ? 0 : moem_rng_next(&r) % 10));
        if (k == 0 || moem_rng_next(&r) % 2) {
            *p++ = '.';
            k = 1 + (int)(moem_rng_next(&r) % 20);
            for (int j = 0; j < k; j++) *p++ = (char)('0' + moem_rng_next(&r) % 10);
        }
        if (moem_rng_next(&r) % 2) {
            *p++ = "eE"[moem_rng_next(&r) % 2];
            if (moem_rng_next(&r) % 2) *p++ = "-+"[moem_rng_next(&r) % 2];
            p += sprintf(p, "%d", (int)(moem_rng_next(&r) % 30));
        }
        *p = 0;
        /* the midpoint between the doubles m and m + 1 (2^52 <= m < 2^53), scaled by 10^-k,
         * and the decimal just above it */
        unsigned long long m = (1ULL << 52) | (moem_rng_next(&r) & ((1ULL << 52) - 1));
        int e = (int)(moem_rng_next(&r) % 20);
        snprintf(txt[i * W + 2], 64, "%llu5e-%d", m, e + 1);
        snprintf(txt[i * W + 3], 64, "%llu6e-%d", m, e + 1);
    }
    const char *path = tmp_path("spellings.csv");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("y,a,b,c\n", f);
    for (size_t i = 0; i < N; i++)
        fprintf(f, "%s,%s,%s,%s\n", txt[i * W], txt[i * W + 1], txt[i * W + 2], txt[i * W + 3]);
    assert_int_equal(fclose(f), 0);
    moem_data d;
    char err[512];
    if (moem_csv_read(path, &d, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(d.n, N);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < W; j++) {
            double got = j ? d.X[i * (W - 1) + j - 1] : d.y[i], want = strtod(txt[i * W + j], NULL);
            if (memcmp(&got, &want, sizeof got))
                fail_msg("'%s' read as %.17g, strtod gives %.17g", txt[i * W + j], got, want);
        }
    moem_data_free(&d);
    free(txt);
    unlink(path);
}

static void expect_ok(const char *text, size_t n, size_t dim, const double *y, const double *X)
{
    const char *p = write_text("ok.csv", text, strlen(text));
    moem_data d;
    char err[512];
    if (moem_csv_read(p, &d, err, sizeof err)) fail_msg("input %s: %s", text, err);
    assert_int_equal(d.n, n);
    assert_int_equal(d.d, dim);
    same_bits(d.y, y, n);
    same_bits(d.X, X, n * dim);
    moem_data_free(&d);
    unlink(p);
}

static void test_accepted_forms(void **s)
{
    (void)s;
    const double y[] = {1, 3}, X[] = {2, -0.5, 4, 1e-3};
    expect_ok("y,x1,x2\n1,2,-0.5\n3,4,1e-3\n", 2, 2, y, X);
    expect_ok("y,x1,x2\r\n1,2,-0.5\r\n3,4,1e-3\r\n", 2, 2, y, X);       /* CRLF */
    expect_ok("y,x1,x2\n1,2,-0.5\n3,4,1e-3", 2, 2, y, X);               /* no final newline */
    expect_ok("y,x1,x2\n1,2,-0.5\n3,4,1e-3\r", 2, 2, y, X);
    expect_ok("y,x1,x2\n1,2,-0.5\n3,4,1e-3\n\n", 2, 2, y, X);           /* trailing empty line */
    expect_ok("y,x1,x2\r\n1,2,-0.5\r\n3,4,1e-3\r\n\r\n", 2, 2, y, X);
    expect_ok("label,a,b\n1, 2 ,-0.5\n3,4,\t1e-3\n", 2, 2, y, X);       /* any names, blanks */
    expect_ok("\xEF\xBB\xBFy,x1,x2\n1,2,-0.5\n3,4,1e-3\n", 2, 2, y, X); /* UTF-8 BOM */
}

static void test_errors(void **s)
{
    (void)s;
    expect_error("", 1, 1, "empty file");
    expect_error("\n1,2\n", 1, 1, "missing header");
    expect_error("1,2\n3,4\n", 1, 1, "missing header");
    expect_error("y\n1\n", 1, 1, "at least 2 columns");
    expect_error("y,,x2\n1,2,3\n", 1, 3, "empty column name");
    expect_error("y,x1\n", 2, 1, "no data rows");
    expect_error("y,x1\n\n", 2, 1, "no data rows");
    expect_error("y,x1,x2\n1,2,3\n4,5\n", 3, 4, "expected 3 columns, found 2");
    expect_error("y,x1,x2\r\n1,2,3\r\n4,5\r\n", 3, 4, "expected 3 columns, found 2");
    expect_error("y,x1\n1,2,3,4\n", 2, 5, "expected 2 columns, found 4");
    expect_error("y,x1\n1,2\n5,abc\n", 3, 3, "not a number: 'abc'");
    expect_error("y,x1\n1,2x\n", 2, 3, "not a number: '2x'");
    expect_error("y,x1\n1,2 3\n", 2, 3, "not a number");
    expect_error("y,x1\n\"1\",2\n", 2, 1, "not a number");
    expect_error("y,x1\n1,2\nnan,3\n", 3, 1, "NaN or Inf");
    expect_error("y,x1\n1,-inf\n", 2, 3, "NaN or Inf");
    expect_error("y,x1\n1,Infinity\n", 2, 3, "NaN or Inf");
    expect_error("y,x1\n1,1e999\n", 2, 3, "out of range");
    expect_error("y,x1,x2\n1,,3\n", 2, 3, "empty field");
    expect_error("y,x1,x2\n1,2,\n", 2, 5, "empty field");
    expect_error("y,x1,x2\n,1,2\n", 2, 1, "empty field");
    expect_error("y,x1,x2\n1, ,2\n", 2, 3, "empty field");
    expect_error("y,x1\n1,2\n\n3,4\n", 3, 1, "empty line");
    {   /* a NUL byte inside a field */
        static const char text[] = "y,x1\n1,2\0\n";
        const char *p = write_text("nul.csv", text, sizeof text - 1);
        moem_data d;
        char err[512];
        assert_int_equal(moem_csv_read(p, &d, err, sizeof err), -1);
        assert_non_null(strstr(err, ":2:"));
        unlink(p);
    }
}

/* the line number stays right after many chunks */
static void test_error_line_after_chunks(void **s)
{
    (void)s;
    moem_data a, b;
    char err[512], want[1200];
    random_data(&a, 60000, 7, 99);
    const char *p = tmp_path("late.csv");
    assert_int_equal(moem_csv_write(p, &a, err, sizeof err), 0);
    FILE *f = fopen(p, "a");
    assert_non_null(f);
    fputs("1,2,3,4,5,6,7,oops\n", f);
    fclose(f);
    assert_int_equal(moem_csv_read(p, &b, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:%d:15: not a number: 'oops'", p, 60000 + 2);
    assert_string_equal(err, want);
    unlink(p);
    moem_data_free(&a);
}

static void test_open_errors(void **s)
{
    (void)s;
    moem_data d;
    char err[512];
    const char *p = tmp_path("does_not_exist.csv");
    assert_int_equal(moem_csv_read(p, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, p));
    assert_non_null(strstr(err, "cannot open"));
    assert_int_equal(moem_csv_read(MOEM_TEST_TMP, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "directory"));
}

/* no entry of dir starts with prefix */
static int count_prefixed(const char *dir, const char *prefix)
{
    DIR *dd = opendir(dir);
    assert_non_null(dd);
    struct dirent *e;
    int k = 0;
    while ((e = readdir(dd))) k += !strncmp(e->d_name, prefix, strlen(prefix));
    closedir(dd);
    return k;
}

static void test_atomic_write(void **s)
{
    (void)s;
    moem_data a, b;
    char err[512], prefix[256];
    struct stat st;
    random_data(&a, 10, 3, 5);
    /* a missing directory: an error, no file */
    const char *p = tmp_path("no_such_dir/out.csv");
    assert_int_equal(moem_csv_write(p, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, p));
    assert_int_equal(stat(p, &st), -1);
    /* onto a directory: an error, the directory untouched, no temporary file */
    const char *dir = tmp_path("a_dir");
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(moem_csv_write(dir, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "directory"));
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    snprintf(prefix, sizeof prefix, ".io_csv_%ld_a_dir", (long)getpid());
    assert_int_equal(count_prefixed(MOEM_TEST_TMP, prefix), 0);
    assert_int_equal(rmdir(dir), 0);
    /* a good write replaces the old file whole and leaves no temporary file */
    p = tmp_path("replace.csv");
    write_text("replace.csv", "old\n", 4);
    assert_int_equal(moem_csv_write(p, &a, err, sizeof err), 0);
    if (moem_csv_read(p, &b, err, sizeof err)) fail_msg("%s", err);
    same_bits(a.X, b.X, 30);
    snprintf(prefix, sizeof prefix, ".io_csv_%ld_replace.csv", (long)getpid());
    assert_int_equal(count_prefixed(MOEM_TEST_TMP, prefix), 0);
    /* empty data and NaN are refused and the file stays */
    moem_data empty = {0};
    assert_int_equal(moem_csv_write(p, &empty, err, sizeof err), -1);
    a.X[7] = NAN;
    assert_int_equal(moem_csv_write(p, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "sample 3"));
    moem_data_free(&b);
    if (moem_csv_read(p, &b, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(b.n, 10);
    unlink(p);
    moem_data_free(&a);
    moem_data_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_small),
        cmocka_unit_test(test_roundtrip_chunks),
        cmocka_unit_test(test_roundtrip_long_line),
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_number_spellings),
        cmocka_unit_test(test_accepted_forms),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_line_after_chunks),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_atomic_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
