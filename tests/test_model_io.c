/* Model JSON files: the golden models, round trip bit for bit, error messages naming the file
 * and the field, atomic writes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "moem.h"
#include "rng.h"

static char *tmp_path(const char *name)
{
    static char buf[4][1024];
    static int slot;
    char *p = buf[slot++ % 4];
    snprintf(p, 1024, "%s/io_model_%ld_%s", MOEM_TEST_TMP, (long)getpid(), name);
    return p;
}

static const char *write_text(const char *name, const char *text)
{
    const char *p = tmp_path(name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    return p;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return s;
}

static void read_ok(const char *path, moem_model *m)
{
    char err[512];
    if (moem_model_read(path, m, err, sizeof err)) fail_msg("%s", err);
    assert_null(moem_model_validate(m));
}

static void test_golden(void **s)
{
    (void)s;
    moem_model m;
    read_ok(MOEM_TESTS_DIR "/golden/symlin_truth.json", &m);   /* compact */
    assert_int_equal(m.family, MOEM_LINEAR);
    assert_true(m.symmetric);
    assert_int_equal(m.K, 2);
    assert_int_equal(m.d, 5);
    assert_true(m.W[0] == 1.4412052218610625);
    assert_true(m.B[4] == 2.152822674598062);
    assert_true(m.B[5 + 4] == -2.152822674598062);
    assert_true(m.sigma2[0] == 1.0 && m.sigma2[1] == 1.0);
    moem_model_free(&m);
    read_ok(MOEM_TESTS_DIR "/golden/symlin_init.json", &m);    /* indented */
    assert_true(m.symmetric);
    assert_true(m.W[4] == -0.40028640466215093);
    moem_model_free(&m);
    read_ok(MOEM_TESTS_DIR "/golden/symlin_em_after10.json", &m);
    assert_true(m.symmetric);
    moem_model_free(&m);
    read_ok(MOEM_TESTS_DIR "/golden/linear3_truth.json", &m);
    assert_int_equal(m.K, 3);
    assert_int_equal(m.d, 4);
    assert_false(m.symmetric);
    moem_model_free(&m);
    read_ok(MOEM_TESTS_DIR "/golden/linear3_em_after10_fixedvar.json", &m);
    moem_model_free(&m);
    read_ok(MOEM_TESTS_DIR "/golden/linear3_em_after10_learnedvar.json", &m);
    assert_int_equal(m.K, 3);
    assert_true(m.W[0] == -0.035671393255064486);
    assert_true(m.sigma2[0] == 0.960585550583555);
    moem_model_free(&m);
}

/* a model with values spread over the whole double range */
static void random_model(moem_model *m, moem_family fam, int sym, size_t K, size_t d, size_t C,
                         uint64_t seed)
{
    moem_rng r;
    moem_rng_seed(&r, seed);
    assert_int_equal(moem_model_alloc(m, fam, sym, K, d, C, NULL, 0), 0);
    size_t P = moem_expert_rows(m);
    for (size_t i = 0; i + 1 < K; i++)
        for (size_t j = 0; j < d; j++)
            m->W[i * d + j] = ldexp(moem_rng_uniform(&r) - 0.5, (int)(moem_rng_next(&r) % 1000) - 500);
    for (size_t i = 0; i < K * P * d; i++)
        m->B[i] = ldexp(moem_rng_uniform(&r) - 0.5, (int)(moem_rng_next(&r) % 2000) - 1000);
    if (sym)
        for (size_t j = 0; j < d; j++) m->B[d + j] = -m->B[j];
    if (fam == MOEM_LINEAR)
        for (size_t k = 0; k < K; k++) m->sigma2[k] = sym ? 0.7 : ldexp(moem_rng_uniform(&r) + 0.5, (int)k - 2);
    m->B[0] = -0.0;
    if (K * P * d > 3) {
        m->B[1] = DBL_MAX;
        m->B[2] = 4.9406564584124654e-324;
        m->B[3] = 0.1;
    }
    if (sym) m->B[d] = 0.0, m->B[d + 1] = -DBL_MAX, m->B[d + 2] = -4.9406564584124654e-324, m->B[d + 3] = -0.1;
    assert_null(moem_model_validate(m));
}

static void roundtrip(moem_family fam, int sym, size_t K, size_t d, size_t C)
{
    moem_model a, b;
    char err[512];
    random_model(&a, fam, sym, K, d, C, 77 + K + d + C);
    const char *p = tmp_path("rt.json"), *q = tmp_path("rt2.json");
    if (moem_model_write(p, &a, err, sizeof err)) fail_msg("%s", err);
    read_ok(p, &b);
    assert_int_equal(b.family, fam);
    assert_int_equal(b.symmetric, sym);
    assert_int_equal(b.K, K);
    assert_int_equal(b.d, d);
    assert_int_equal(b.C, a.C);
    size_t P = moem_expert_rows(&a);
    assert_memory_equal(a.W, b.W, K * d * sizeof(double));
    assert_memory_equal(a.B, b.B, K * P * d * sizeof(double));
    assert_memory_equal(a.sigma2, b.sigma2, K * sizeof(double));
    /* writing what was read gives the same file */
    if (moem_model_write(q, &b, err, sizeof err)) fail_msg("%s", err);
    size_t n1, n2;
    char *t1 = slurp(p, &n1), *t2 = slurp(q, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(t1, t2, n1);
    free(t1);
    free(t2);
    unlink(p);
    unlink(q);
    moem_model_free(&a);
    moem_model_free(&b);
}

static void test_roundtrip(void **s)
{
    (void)s;
    roundtrip(MOEM_LINEAR, 0, 3, 6, 1);
    roundtrip(MOEM_LINEAR, 1, 2, 5, 1);
    roundtrip(MOEM_LOGISTIC, 0, 4, 4, 2);
    roundtrip(MOEM_LOGISTIC, 1, 2, 7, 2);
    roundtrip(MOEM_SOFTMAX, 0, 2, 5, 10);
    roundtrip(MOEM_LINEAR, 0, 1, 1, 1);
}

/* A K = 2, d = 2 model; each %s is filled from the arguments:
 * format, version, family, symmetric, K, d, C, gate, experts */
static const char *model_text(const char *format, const char *version, const char *family,
                              const char *sym, const char *K, const char *d, const char *C,
                              const char *gate, const char *experts)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"format\": %s, \"version\": %s, \"family\": %s, \"symmetric\": %s, %s%s%s"
             "\"gate\": %s, \"experts\": %s}",
             format, version, family, sym, K, d, C, gate, experts);
    return buf;
}

#define FMT "\"moem-model\""
#define GATE "[[0.5, -1.5], [0, 0]]"
#define EXPERTS "[{\"beta\": [1, 2], \"sigma2\": 1.0}, {\"beta\": [-1, -2], \"sigma2\": 1.0}]"
#define GOOD() model_text(FMT, "1", "\"linear\"", "true", "\"K\": 2, ", "\"d\": 2, ", "\"C\": 1, ", GATE, EXPERTS)

/* reading text fails; the message holds the path and every one of the given pieces */
static void expect_error(const char *text, const char *what1, const char *what2)
{
    const char *p = write_text("bad.json", text);
    moem_model m;
    char err[512];
    assert_int_equal(moem_model_read(p, &m, err, sizeof err), -1);
    assert_null(m.W);
    if (strncmp(err, p, strlen(p)) || !strstr(err, what1) || (what2 && !strstr(err, what2)))
        fail_msg("input %s: got '%s', want '%s' and '%s'", text, err, what1, what2 ? what2 : "");
    assert_null(strchr(err, '\n'));
    unlink(p);
}

static void test_good_template_reads(void **s)
{
    (void)s;
    const char *p = write_text("good.json", GOOD());
    moem_model m;
    read_ok(p, &m);
    assert_true(m.symmetric);
    assert_true(m.W[1] == -1.5);
    moem_model_free(&m);
    unlink(p);
}

static void test_errors(void **s)
{
    (void)s;
    const char *S = "\"linear\"";
    expect_error(model_text("\"moem-modle\"", "1", S, "true", "\"K\": 2, ", "\"d\": 2, ", "\"C\": 1, ", GATE, EXPERTS),
                 ": format: ", "moem-model");
    expect_error(model_text("3", "1", S, "true", "\"K\": 2, ", "\"d\": 2, ", "\"C\": 1, ", GATE, EXPERTS),
                 ": format: ", NULL);
    expect_error(model_text(FMT, "2", S, "true", "\"K\": 2, ", "\"d\": 2, ", "\"C\": 1, ", GATE, EXPERTS),
                 ": version: ", "unsupported");
    expect_error(model_text(FMT, "\"1\"", S, "true", "\"K\": 2, ", "\"d\": 2, ", "\"C\": 1, ", GATE, EXPERTS),
                 ": version: ", NULL);
    expect_error(model_text(FMT, "1", "\"poisson\"", "true", "\"K\": 2, ", "\"d\": 2, ", "\"C\": 1, ", GATE, EXPERTS),
                 ": family: ", NULL);
    expect_error(model_text(FMT, "1", S, "1", "\"K\": 2, ", "\"d\": 2, ", "\"C\": 1, ", GATE, EXPERTS),
                 ": symmetric: ", NULL);
    expect_error(model_text(FMT, "1", S, "true", "", "\"d\": 2, ", "\"C\": 1, ", GATE, EXPERTS),
                 ": K: missing", NULL);
    expect_error(model_text(FMT, "1", S, "true", "\"K\": 2, ", "\"d\": 2, ", "", GATE, EXPERTS),
                 ": C: missing", NULL);
    expect_error(model_text(FMT, "1", S, "true", "\"K\": 0, ", "\"d\": 2, ", "\"C\": 1, ", GATE, EXPERTS),
                 ": K: ", "at least 1");
    expect_error(model_text(FMT, "1", S, "true", "\"K\": 2.5, ", "\"d\": 2, ", "\"C\": 1, ", GATE, EXPERTS),
                 ": K: ", "integer");
    expect_error(model_text(FMT, "1", S, "true", "\"K\": 2, ", "\"d\": -3, ", "\"C\": 1, ", GATE, EXPERTS),
                 ": d: ", "at least 1");
    expect_error(model_text(FMT, "1", S, "true", "\"K\": 2, ", "\"d\": 2, ", "\"C\": 3, ", GATE, EXPERTS),
                 ": C: ", NULL);
    /* a huge d in a small file: the array lengths fail, nothing is allocated */
    expect_error(model_text(FMT, "1", S, "true", "\"K\": 2, ", "\"d\": 1000000000000000, ", "\"C\": 1, ", GATE, EXPERTS),
                 ": gate[0]: ", "expected 1000000000000000 entries, found 2");
    /* K d overflows */
    expect_error(model_text(FMT, "1", "\"softmax\"", "false", "\"K\": 4000000000, ", "\"d\": 9000000000000000000, ",
                            "\"C\": 10, ", GATE, EXPERTS),
                 "too large", NULL);
    expect_error(model_text(FMT, "1", S, "true", "\"K\": 2, ", "\"d\": 2, ", "\"C\": 1, ", "[[0.5, -1.5]]", EXPERTS),
                 ": gate: ", "expected 2 entries, found 1");
    expect_error(model_text(FMT, "1", S, "true", "\"K\": 2, ", "\"d\": 2, ", "\"C\": 1, ", "[[0.5, -1.5, 3], [0, 0]]", EXPERTS),
                 ": gate[0]: ", "expected 2 entries, found 3");
    expect_error(model_text(FMT, "1", S, "true", "\"K\": 2, ", "\"d\": 2, ", "\"C\": 1, ", "[[0.5, \"x\"], [0, 0]]", EXPERTS),
                 ": gate[0][1]: not a number", NULL);
    expect_error(model_text(FMT, "1", S, "true", "\"K\": 2, ", "\"d\": 2, ", "\"C\": 1, ", "[[0.5, -1.5], [0, 1e-300]]", EXPERTS),
                 ": gate[1][1]: ", "pinned");
    expect_error(model_text(FMT, "1", S, "true", "\"K\": 2, ", "\"d\": 2, ", "\"C\": 1, ", GATE,
                            "[{\"beta\": [1, 2], \"sigma2\": 1.0}, {\"beta\": [-1, null], \"sigma2\": 1.0}]"),
                 ": experts[1].beta[1]: not a number", NULL);
    expect_error(model_text(FMT, "1", S, "true", "\"K\": 2, ", "\"d\": 2, ", "\"C\": 1, ", GATE,
                            "[{\"beta\": [1, 2], \"sigma2\": 1.0}, {\"beta\": [-1, -2.0000000000000004], \"sigma2\": 1.0}]"),
                 ": experts[1].beta[1]: ", "symmetric");
    expect_error(model_text(FMT, "1", S, "true", "\"K\": 2, ", "\"d\": 2, ", "\"C\": 1, ", GATE,
                            "[{\"beta\": [1, 2], \"sigma2\": 1.0}, {\"beta\": [-1, -2], \"sigma2\": 2.0}]"),
                 ": experts[1].sigma2: ", "symmetric");
    expect_error(model_text(FMT, "1", S, "true", "\"K\": 2, ", "\"d\": 2, ", "\"C\": 1, ", GATE,
                            "[{\"beta\": [1, 2], \"sigma2\": 1.0}, {\"beta\": [-1, -2]}]"),
                 ": experts[1].sigma2: missing", NULL);
    expect_error(model_text(FMT, "1", S, "false", "\"K\": 2, ", "\"d\": 2, ", "\"C\": 1, ", GATE,
                            "[{\"beta\": [1, 2], \"sigma2\": 0}, {\"beta\": [-1, -2], \"sigma2\": 1}]"),
                 ": experts[0].sigma2: ", "positive");
    expect_error(model_text(FMT, "1", S, "true", "\"K\": 2, ", "\"d\": 2, ", "\"C\": 1, ", GATE,
                            "[{\"beta\": [1, 2], \"sigma2\": 1.0}, {\"b\": [-1, -2], \"sigma2\": 1.0}]"),
                 ": experts[1].beta: missing", NULL);
    expect_error(model_text(FMT, "1", S, "true", "\"K\": 2, ", "\"d\": 2, ", "\"C\": 1, ", GATE,
                            "[{\"beta\": [1, 2], \"sigma2\": 1.0}]"),
                 ": experts: ", "expected 2 entries, found 1");
    expect_error(model_text(FMT, "1", "\"softmax\"", "false", "\"K\": 2, ", "\"d\": 2, ", "\"C\": 3, ", GATE,
                            "[{\"B\": [[1, 2], [3, 4], [5, 6]]}, {\"B\": [[1, 2], [3, 4]]}]"),
                 ": experts[1].B: ", "expected 3 entries, found 2");
    expect_error(model_text(FMT, "1", "\"softmax\"", "true", "\"K\": 2, ", "\"d\": 2, ", "\"C\": 3, ", GATE,
                            "[{\"B\": [[1, 2], [3, 4], [5, 6]]}, {\"B\": [[1, 2], [3, 4], [5, 6]]}]"),
                 ": symmetric: ", NULL);
    expect_error(model_text(FMT, "1", "\"logistic\"", "true", "\"K\": 3, ", "\"d\": 2, ", "\"C\": 2, ", GATE, EXPERTS),
                 ": symmetric: ", NULL);
    expect_error("[1, 2]", "not a JSON object", NULL);
    expect_error("{\"format\": \"moem-model\",", "1:", NULL);   /* syntax error with its position */
    expect_error("{\"format\": \"moem-model\", \"format\": \"moem-model\"}", "duplicate", NULL);
    expect_error("", "", NULL);

    moem_model m;
    char err[512];
    const char *p = tmp_path("missing.json");
    assert_int_equal(moem_model_read(p, &m, err, sizeof err), -1);
    assert_non_null(strstr(err, p));
    assert_non_null(strstr(err, "cannot open"));
    assert_int_equal(moem_model_read(MOEM_TEST_TMP, &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "directory"));
}

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
    moem_model a, b;
    char err[512], prefix[256];
    struct stat st;
    random_model(&a, MOEM_LINEAR, 0, 3, 4, 1, 3);
    const char *p = tmp_path("no_such_dir/m.json");
    assert_int_equal(moem_model_write(p, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, p));
    assert_int_equal(stat(p, &st), -1);

    const char *dir = tmp_path("model_dir");
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(moem_model_write(dir, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "directory"));
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(rmdir(dir), 0);

    /* an invalid model is refused and the existing file stays as it was */
    p = tmp_path("keep.json");
    if (moem_model_write(p, &a, err, sizeof err)) fail_msg("%s", err);
    a.W[(a.K - 1) * a.d] = 1.0;
    assert_int_equal(moem_model_write(p, &a, err, sizeof err), -1);
    a.W[(a.K - 1) * a.d] = 0.0;
    read_ok(p, &b);
    assert_memory_equal(a.B, b.B, a.K * a.d * sizeof(double));
    snprintf(prefix, sizeof prefix, ".io_model_%ld_", (long)getpid());
    assert_int_equal(count_prefixed(MOEM_TEST_TMP, prefix), 0);
    unlink(p);
    moem_model_free(&a);
    moem_model_free(&b);
}

/* checkpoints: a round trip, then damaged files, each a clear error that names the file */
#define CK_HEAD "moem-checkpoint 2\nmodel linear 0 2 2 1\ndata 3 2 00000000000000ab 64\n"
#define CK_TAIL "trace run 00000000000000c1\n"
#define CK_TRACE "moem-trace 1 run 00000000000000c1\n5 0\n"
static void ck_error(const char *name, const char *text, const char *trace, const char *want)
{
    moem_model m;
    moem_params p;
    moem_checkpoint_info info;
    int iter = -1;
    double *o = NULL, *t = NULL;
    char err[512], tname[64];
    const char *path = write_text(name, text);
    snprintf(tname, sizeof tname, "%s.trace", name);
    const char *tpath = trace ? write_text(tname, trace) : NULL;
    moem_params_default(&p);
    assert_int_equal(moem_checkpoint_read(path, &m, &p, &info, &iter, &o, &t, err, sizeof err), -1);
    if (!strstr(err, path) || !strstr(err, want)) fail_msg("%s: '%s' lacks '%s'", name, err, want);
    assert_null(o);
    assert_null(t);
    assert_null(m.W);
    unlink(path);
    if (tpath) unlink(tpath);
}

static void test_checkpoint(void **s)
{
    (void)s;
    moem_model a, b;
    moem_params p, q;
    moem_checkpoint_info wi = {.n = 7, .d = 4, .data_hash = 0x0123456789abcdefull, .precision = 32,
                               .run = 0xfeedull, .trace_have = -1}, ri;
    char err[512];
    random_model(&a, MOEM_SOFTMAX, 0, 3, 4, 5, 11);
    moem_params_default(&p);
    p.algo = MOEM_ALGO_GEM;
    p.lr = 0.25;
    const double obj[4] = {1.5, -2.25, 0x1.fffffffffffffp-3, 0.125}, sec[4] = {0, 1e-3, 2e-3, 3e-3};
    const char *path = tmp_path("ck");
    char tpath[1100];
    snprintf(tpath, sizeof tpath, "%s.trace", path);
    /* the first write creates the trace file, the second appends iteration 3 to it */
    if (moem_checkpoint_write(path, &a, &p, &wi, 2, obj, sec, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(wi.trace_have, 2);
    struct stat st;
    assert_int_equal(stat(tpath, &st), 0);
    const off_t size2 = st.st_size;
    if (moem_checkpoint_write(path, &a, &p, &wi, 3, obj, sec, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(stat(tpath, &st), 0);
    assert_true(st.st_size > size2 && st.st_size < size2 + 64);   /* one line more, not a rewrite */
    int iter = -1;
    double *o, *t;
    moem_params_default(&q);
    if (moem_checkpoint_read(path, &b, &q, &ri, &iter, &o, &t, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(iter, 3);
    assert_int_equal(q.algo, MOEM_ALGO_GEM);
    assert_true(q.lr == 0.25);
    assert_true(ri.n == 7 && ri.d == 4 && ri.data_hash == 0x0123456789abcdefull && ri.precision == 32);
    assert_true(ri.run == 0xfeedull && ri.trace_have == 3 && ri.trace_end == (long)st.st_size);
    assert_memory_equal(a.W, b.W, a.K * a.d * sizeof(double));
    assert_memory_equal(a.B, b.B, a.K * a.C * a.d * sizeof(double));
    assert_memory_equal(obj, o, sizeof obj);
    assert_memory_equal(sec, t, sizeof sec);
    free(o);
    free(t);
    moem_model_free(&b);
    moem_model_free(&a);
    unlink(path);
    unlink(tpath);

    const char *good = CK_HEAD "algo em iter 0\nparams 1 1 0 1 1 1e-10 50 0\nW 1 2 0 0\nB 1 2 3 4\nsigma2 1 1\n" CK_TAIL;
    /* the good file reads (the damaged ones below differ from it in one place) */
    path = write_text("ck_good", good);
    const char *gt = write_text("ck_good.trace", CK_TRACE);
    if (moem_checkpoint_read(path, &b, &q, &ri, &iter, &o, &t, err, sizeof err)) fail_msg("%s", err);
    assert_true(o[0] == 5.0);
    assert_true(ri.n == 3 && ri.d == 2 && ri.data_hash == 0xab && ri.precision == 64 && ri.run == 0xc1);
    free(o);
    free(t);
    moem_model_free(&b);
    unlink(path);
    unlink(gt);
    ck_error("ck_k0", "moem-checkpoint 2\nmodel linear 0 0 2 1\n", NULL, "at least 1");
    ck_error("ck_long", "moem-checkpoint 2\nmodel linearlinearlinearlinearlinearlinear 0 2 2 1\n", NULL,
             ":2: bad model line");
    ck_error("ck_version", "moem-checkpoint 1\n", NULL, ":1: not a moem checkpoint");
    ck_error("ck_empty", "", NULL, ":1: not a moem checkpoint");
    ck_error("ck_data", "moem-checkpoint 2\nmodel linear 0 2 2 1\ndata 3 2 xyz 64\n", NULL, ":3: bad data line");
    ck_error("ck_prec", "moem-checkpoint 2\nmodel linear 0 2 2 1\ndata 3 2 ab 16\n", NULL, ":3: bad data line");
    ck_error("ck_short_w", CK_HEAD "algo em iter 0\nparams 1 1 0 1 1 1e-10 50 0\nW 1 2 0\nB 1 2 3 4\nsigma2 1 1\n" CK_TAIL,
             CK_TRACE, ":6: missing or invalid value");
    ck_error("ck_nan", CK_HEAD "algo em iter 0\nparams 1 1 0 1 1 1e-10 50 0\nW 1 2 0 0\nB 1 nan 3 4\nsigma2 1 1\n" CK_TAIL,
             CK_TRACE, ":7: missing or invalid value");
    ck_error("ck_params", CK_HEAD "algo em iter 0\nparams 1 1 0\n", NULL, ":5: bad params line");
    ck_error("ck_trace", CK_HEAD "algo em iter 1\nparams 1 1 0 1 1 1e-10 50 0\nW 1 2 0 0\nB 1 2 3 4\nsigma2 1 1\n" CK_TAIL,
             CK_TRACE, "trace too short");
    ck_error("ck_notrace", CK_HEAD "algo em iter 0\nparams 1 1 0 1 1 1e-10 50 0\nW 1 2 0 0\nB 1 2 3 4\nsigma2 1 1\n" CK_TAIL,
             NULL, "cannot open");
    ck_error("ck_otherrun", CK_HEAD "algo em iter 0\nparams 1 1 0 1 1 1e-10 50 0\nW 1 2 0 0\nB 1 2 3 4\nsigma2 1 1\n" CK_TAIL,
             "moem-trace 1 run 00000000000000c2\n5 0\n", "another run");
    ck_error("ck_trailing", CK_HEAD "algo em iter 0\nparams 1 1 0 1 1 1e-10 50 0\nW 1 2 0 0\nB 1 2 3 4\nsigma2 1 1\n" CK_TAIL "x\n",
             CK_TRACE, "trailing data");
    ck_error("ck_pinned", CK_HEAD "algo em iter 0\nparams 1 1 0 1 1 1e-10 50 0\nW 1 2 0 7\nB 1 2 3 4\nsigma2 1 1\n" CK_TAIL,
             CK_TRACE, "last gate row");
    /* a NUL byte inside the file */
    path = tmp_path("ck_nul");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite("moem-checkpoint 2\n\0model", 1, 24, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(moem_checkpoint_read(path, &b, &q, &ri, &iter, &o, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a moem checkpoint"));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_good_template_reads),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_atomic_write),
        cmocka_unit_test(test_checkpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
