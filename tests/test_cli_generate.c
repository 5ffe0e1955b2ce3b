/* `moem generate` end to end through the installed command (MOEM_BIN). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "csv.h"
#include "moem.h"

static char out_txt[1024], err_txt[1024];

static char *tmp_path(const char *name)
{
    static char buf[8][1024];
    static int slot;
    char *p = buf[slot++ % 8];
    snprintf(p, 1024, "%s/io_gen_%ld_%s", MOEM_TEST_TMP, (long)getpid(), name);
    return p;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    if (len) *len = (size_t)n;
    return s;
}

/* runs `moem generate ARGS`; returns the exit status; stdout and stderr land in files */
static int run(const char *args)
{
    char cmd[4096];
    snprintf(out_txt, sizeof out_txt, "%s/io_gen_%ld_stdout.txt", MOEM_TEST_TMP, (long)getpid());
    snprintf(err_txt, sizeof err_txt, "%s/io_gen_%ld_stderr.txt", MOEM_TEST_TMP, (long)getpid());
    snprintf(cmd, sizeof cmd, "'%s' generate %s >'%s' 2>'%s'", MOEM_BIN, args, out_txt, err_txt);
    int st = system(cmd);
    assert_true(st != -1 && WIFEXITED(st));
    return WEXITSTATUS(st);
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static void test_help(void **s)
{
    (void)s;
    assert_int_equal(run("--help"), 0);
    char *o = slurp(out_txt, NULL);
    assert_non_null(strstr(o, "usage: moem generate"));
    assert_non_null(strstr(o, "--model"));
    free(o);
    assert_int_equal(run("-h"), 0);
}

static void read_outputs(const char *csv, const char *json, moem_data *d, moem_model *m)
{
    char err[512];
    if (moem_csv_read(csv, d, err, sizeof err)) fail_msg("%s", err);
    if (json && moem_model_read(json, m, err, sizeof err)) fail_msg("%s", err);
}

static void test_symlin(void **s)
{
    (void)s;
    char args[2048];
    const char *csv = tmp_path("symlin.csv"), *json = tmp_path("symlin.json");
    snprintf(args, sizeof args, "--model symlin --n 500 --d 3 --seed 5 --out '%s' --truth '%s'", csv, json);
    assert_int_equal(run(args), 0);
    size_t elen;
    char *e = slurp(err_txt, &elen);
    assert_int_equal(elen, 0);
    free(e);
    moem_data d;
    moem_model m;
    read_outputs(csv, json, &d, &m);
    assert_int_equal(d.n, 500);
    assert_int_equal(d.d, 3);
    assert_int_equal(m.family, MOEM_LINEAR);
    assert_true(m.symmetric);
    assert_int_equal(m.K, 2);
    assert_int_equal(m.d, 3);
    double gn = 0, bn = 0;
    for (size_t j = 0; j < 3; j++) gn += m.W[j] * m.W[j], bn += m.B[j] * m.B[j];
    assert_true(fabs(sqrt(gn) - 4) < 1e-12 && fabs(sqrt(bn) - 4) < 1e-12);   /* the defaults */
    assert_null(moem_model_data_check(&m, &d));
    moem_data_free(&d);
    moem_model_free(&m);

    /* the same seed gives the same files, another seed other data */
    char *a = slurp(csv, NULL), *b;
    assert_int_equal(run(args), 0);
    b = slurp(csv, NULL);
    assert_string_equal(a, b);
    free(b);
    snprintf(args, sizeof args, "--model symlin --n 500 --d 3 --seed 6 --out '%s'", csv);
    assert_int_equal(run(args), 0);
    b = slurp(csv, NULL);
    assert_string_not_equal(a, b);
    free(a);
    free(b);
    unlink(csv);
    unlink(json);
}

static void test_families(void **s)
{
    (void)s;
    char args[2048];
    const char *csv = tmp_path("fam.csv"), *json = tmp_path("fam.json");
    moem_data d;
    moem_model m;
    static const struct { const char *opts; moem_family fam; int sym; size_t K, C; } cases[] = {
        {"--model symlog", MOEM_LOGISTIC, 1, 2, 2},
        {"--model linear --experts 3 --gate-norm 1 --expert-norm 2.5", MOEM_LINEAR, 0, 3, 1},
        {"--model logistic --experts 4", MOEM_LOGISTIC, 0, 4, 2},
        {"--model softmax --experts 3 --classes 5", MOEM_SOFTMAX, 0, 3, 5},
        {"--model softmax", MOEM_SOFTMAX, 0, 2, 10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(args, sizeof args, "%s --n 300 --d 4 --out '%s' --truth '%s'", cases[i].opts, csv, json);
        assert_int_equal(run(args), 0);
        read_outputs(csv, json, &d, &m);
        assert_int_equal(d.n, 300);
        assert_int_equal(m.family, cases[i].fam);
        assert_int_equal(m.symmetric, cases[i].sym);
        assert_int_equal(m.K, cases[i].K);
        assert_int_equal(m.C, cases[i].C);
        assert_null(moem_model_data_check(&m, &d));   /* labels in range */
        moem_data_free(&d);
        moem_model_free(&m);
    }
    unlink(csv);
    unlink(json);
}

/* a failing call: non-zero exit, one line "moem generate: ..." on stderr, no output files */
static void expect_failure(const char *opts, const char *what)
{
    char args[2048];
    const char *csv = tmp_path("never.csv"), *json = tmp_path("never.json");
    size_t k = 0;
    for (const char *p = opts; *p && k + 1100 < sizeof args;) {   /* @O: data path, @T: model path */
        if (p[0] == '@' && (p[1] == 'O' || p[1] == 'T')) {
            k += (size_t)snprintf(args + k, sizeof args - k, "%s", p[1] == 'O' ? csv : json);
            p += 2;
        } else {
            args[k++] = *p++;
        }
    }
    args[k] = '\0';
    int rc = run(args);
    if (rc == 0) fail_msg("'%s' succeeded", args);
    size_t len;
    char *e = slurp(err_txt, &len);
    if (strncmp(e, "moem generate: ", 15) || len < 16 || e[len - 1] != '\n' || strchr(e, '\n') != e + len - 1 ||
        !strstr(e, what))
        fail_msg("'%s': stderr '%s', want one line with '%s'", args, e, what);
    free(e);
    assert_false(exists(csv));
    assert_false(exists(json));
}

static void test_failures(void **s)
{
    (void)s;
    expect_failure("--bogus --model linear --n 10 --d 2 --out '@O' --truth '@T'", "--bogus");
    expect_failure("--model linear --n 10 --d 2 --out '@O' --truth '@T' extra", "extra");
    expect_failure("--model linear --n 0 --d 2 --out '@O' --truth '@T'", "--n");
    expect_failure("--model linear --n 1e3 --d 2 --out '@O' --truth '@T'", "--n");
    expect_failure("--model linear --n -5 --d 2 --out '@O' --truth '@T'", "--n");
    expect_failure("--model linear --n 10 --d 0 --out '@O' --truth '@T'", "--d");
    expect_failure("--model linear --n 10 --out '@O' --truth '@T'", "--d");
    expect_failure("--model poisson --n 10 --d 2 --out '@O' --truth '@T'", "poisson");
    expect_failure("--n 10 --d 2 --out '@O' --truth '@T'", "--model");
    expect_failure("--model symlin --experts 3 --n 10 --d 2 --out '@O' --truth '@T'", "2 experts");
    expect_failure("--model linear --experts 0 --n 10 --d 2 --out '@O' --truth '@T'", "--experts");
    expect_failure("--model softmax --classes 1 --n 10 --d 2 --out '@O' --truth '@T'", "--classes");
    expect_failure("--model linear --classes 3 --n 10 --d 2 --out '@O' --truth '@T'", "--classes");
    expect_failure("--model linear --gate-norm nan --n 10 --d 2 --out '@O' --truth '@T'", "--gate-norm");
    expect_failure("--model linear --expert-norm -1 --n 10 --d 2 --out '@O' --truth '@T'", "--expert-norm");
    expect_failure("--model linear --seed -1 --n 10 --d 2 --out '@O' --truth '@T'", "--seed");
    expect_failure("--model linear --n 10 --d 2 --truth '@T'", "--out");
    expect_failure("--model linear --n 10 --d 2 --out '@O' --truth '@O'", "same file");
    expect_failure("--model linear --n 10 --d 2 --out '@O' --truth '@T' --seed", "--seed");
    /* n x d does not fit in memory */
    expect_failure("--model linear --n 18446744073709551615 --d 4 --out '@O' --truth '@T'", "too large");
    /* the data file can be written, the model file cannot: the data file is removed */
    expect_failure("--model linear --n 10 --d 2 --out '@O' --truth '@T.d/no/such/dir.json'", "dir.json");
}

static void test_unwritable_out(void **s)
{
    (void)s;
    char args[2048];
    const char *dir = tmp_path("outdir");
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(args, sizeof args, "--model linear --n 10 --d 2 --out '%s'", dir);
    assert_true(run(args) != 0);
    char *e = slurp(err_txt, NULL);
    assert_non_null(strstr(e, "directory"));
    free(e);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_symlin),
        cmocka_unit_test(test_families),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_unwritable_out),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(out_txt);
    unlink(err_txt);
    return rc;
}
