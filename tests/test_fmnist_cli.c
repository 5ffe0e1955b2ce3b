/* The small Fashion-MNIST experiment end to end: 2 instances, 5 iterations, image subsets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fmnist.h"

#define OUT MOEM_TEST_TMP "/fmnist_small"

static size_t count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

static void test_small_run(void **state)
{
    (void)state;
    if (access(MOEM_FMNIST_DIR "/train-images-idx3-ubyte.gz", R_OK) != 0) skip();
    const char *cmd = "'" MOEM_BIN "' experiment fmnist --instances 2 --iters 5 --train-subset 1000 "
                      "--test-subset 300 --grid-iters 3 --inner 2 --threads 1 --out '" OUT "' > '" OUT ".stdout' 2> '" OUT ".stderr'";
    assert_int_equal(system(cmd), 0);
    /* header + 2 instances x 3 methods x (5 + 1) iterations */
    assert_int_equal(count_lines(OUT "/fmnist.csv"), 1 + 2 * 3 * 6);
    assert_int_equal(count_lines(OUT "/fmnist-mean.csv"), 1 + 3 * 6);
    /* the grid: GD's steps, then Gradient EM's gate steps and expert steps over the same grid */
    char line[1024];
    size_t gd = 0, gem = 0;
    FILE *f = fopen(OUT "/fmnist-grid.csv", "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f)) { gd += !strncmp(line, "gd,", 3); gem += !strncmp(line, "gem,", 4); }
    fclose(f);
    assert_true(gd >= 3);
    assert_int_equal(gem, 2 * gd);
    /* one progress line per iteration and run */
    size_t progress = 0;
    f = fopen(OUT ".stderr", "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f)) progress += strstr(line, "remaining") != NULL;
    fclose(f);
    assert_int_equal(progress, 2 * 3 * 6);
    /* the table names the paper's numbers; every run's metrics are finite, EM lowers its
     * training objective */
    f = fopen(OUT "/fmnist-table.md", "r");
    assert_non_null(f);
    size_t got = fread(line, 1, sizeof line - 1, f);
    line[got] = 0;
    fclose(f);
    assert_non_null(strstr(line, "| EM |"));
    assert_non_null(strstr(line, "78.5"));
    f = fopen(OUT "/fmnist.csv", "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    double em0 = NAN;
    while (fgets(line, sizeof line, f)) {
        char meth[16];
        int inst, it;
        double obj, acc, ce, sec;
        assert_int_equal(sscanf(line, "%15[^,],%d,%d,%lf,%lf,%lf,%lf", meth, &inst, &it, &obj, &acc, &ce, &sec), 7);
        assert_true(isfinite(obj) && isfinite(ce) && acc >= 0 && acc <= 100);
        if (!strcmp(meth, "em") && inst == 1 && it == 0) em0 = obj;
        if (!strcmp(meth, "em") && inst == 1 && it == 5) assert_true(obj < em0);
    }
    fclose(f);
    if (system("command -v gnuplot > /dev/null 2>&1") == 0) {
        assert_int_equal(access(OUT "/fmnist-figure3.png", R_OK), 0);
        assert_int_equal(access(OUT "/fmnist-figure3.svg", R_OK), 0);
    }
}

static void test_errors(void **state)
{
    (void)state;
    assert_int_not_equal(system("'" MOEM_BIN "' experiment fmnist --fmnist-dir /nonexistent --out '" OUT "_x' 2> '" OUT ".err'"), 0);
    FILE *f = fopen(OUT ".err", "r");
    assert_non_null(f);
    char line[1024] = {0};
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_non_null(strstr(line, "moem fmnist: /nonexistent/train-images-idx3-ubyte.gz"));
    assert_int_not_equal(system("'" MOEM_BIN "' experiment fmnist --iters x 2> /dev/null"), 0);
    assert_int_not_equal(system("'" MOEM_BIN "' experiment fmnist --invert-fraction 2 2> /dev/null"), 0);
    assert_int_equal(system("'" MOEM_BIN "' experiment fmnist --help > /dev/null"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_small_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
