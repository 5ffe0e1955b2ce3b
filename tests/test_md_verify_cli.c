/* moem verify end to end: every model passes its checks on synthetic data; usage errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "moem.h"

/* runs `moem verify ARGS`, returns its exit status; out receives stdout + stderr */
static int run(const char *args, char *out, size_t outlen)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s verify %s 2>&1", MOEM_BIN, args);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t len = fread(out, 1, outlen - 1, f);
    out[len] = '\0';
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void all_models_hold(void **state)
{
    (void)state;
    static const char *args[] = {
        "--model symlin --n 400 --d 4 --iters 6",
        "--model symlog --n 400 --d 4 --iters 6 --seed 3",
        "--model linear --experts 3 --n 400 --d 4 --iters 4",
        "--model softmax --experts 2 --classes 3 --n 600 --d 3 --iters 4",
        "--model logistic --experts 2 --n 600 --d 3 --iters 4",
    };
    static char out[1 << 16];
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++) {
        int rc = run(args[i], out, sizeof out);
        if (rc != 0) print_error("moem verify %s:\n%s\n", args[i], out);
        assert_int_equal(rc, 0);
        assert_non_null(strstr(out, "all checks held"));
        assert_non_null(strstr(out, moem_isa_name()));
        if (i < 2) assert_non_null(strstr(out, "lambda_max(M)"));
    }
}

static void usage_errors(void **state)
{
    (void)state;
    static char out[1 << 14];
    assert_int_equal(run("--help", out, sizeof out), 0);
    assert_non_null(strstr(out, "usage: moem verify"));
    assert_int_equal(run("", out, sizeof out), 2);
    assert_non_null(strstr(out, "moem verify: --model is required"));
    assert_int_equal(run("--model nope", out, sizeof out), 2);
    assert_int_equal(run("--model symlin --experts 3", out, sizeof out), 2);
    assert_int_equal(run("--model linear --classes 4", out, sizeof out), 2);
    assert_int_equal(run("--model symlin --iters -1", out, sizeof out), 2);
    assert_int_equal(run("--model symlin --data /nonexistent/file.csv", out, sizeof out), 1);   /* bad input */
    assert_non_null(strstr(out, "moem verify: "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(all_models_hold),
        cmocka_unit_test(usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
