/* Hostile inputs: a table of broken CSV, model JSON, IDX and CIFAR-10 files and bad command
 * options. Every case must end with a non-zero exit, exactly one error line on stderr that
 * starts with "moem " and names the file and the place, and no output file left behind: the
 * output directory stays empty and an existing output file keeps its old content.
 * (CIFAR-10 has no command yet: its cases call the reader and check the same line.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include "cifar.h"

#define ROOT MOEM_TEST_TMP "/bad_inputs"

/* ---- files -------------------------------------------------------------------------------- */

static void put(const char *dir, const char *name, const void *bytes, size_t len)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    if (len) assert_int_equal(fwrite(bytes, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void put_text(const char *dir, const char *name, const char *text) { put(dir, name, text, strlen(text)); }

/* an IDX file of unsigned bytes: header with ndim dims, then len payload bytes (value i % 251) */
static void put_idx(const char *dir, const char *name, unsigned ndim, const uint32_t *dims,
                    size_t len, int label_max)
{
    unsigned char *b = malloc(4 + 4 * ndim + len + 1);
    assert_non_null(b);
    b[0] = b[1] = 0, b[2] = 8, b[3] = (unsigned char)ndim;
    for (unsigned i = 0; i < ndim; i++)
        for (int s = 0; s < 4; s++) b[4 + 4 * i + s] = (unsigned char)(dims[i] >> (24 - 8 * s));
    for (size_t i = 0; i < len; i++)
        b[4 + 4 * ndim + i] = (unsigned char)(label_max ? i % (size_t)(label_max + 1) : i % 251);
    put(dir, name, b, 4 + 4 * ndim + len);
    free(b);
}

/* a good Fashion-MNIST directory: 3 training and 2 test images of 2 x 2 pixels */
static void fmnist_ok(const char *dir)
{
    const uint32_t tr[3] = {3, 2, 2}, te[3] = {2, 2, 2}, ltr[1] = {3}, lte[1] = {2};
    put_idx(dir, "train-images-idx3-ubyte.gz", 3, tr, 12, 0);
    put_idx(dir, "train-labels-idx1-ubyte.gz", 1, ltr, 3, 9);
    put_idx(dir, "t10k-images-idx3-ubyte.gz", 3, te, 8, 0);
    put_idx(dir, "t10k-labels-idx1-ubyte.gz", 1, lte, 2, 9);
}

#define TRI "train-images-idx3-ubyte.gz"
#define TRL "train-labels-idx1-ubyte.gz"

static void idx_empty(const char *d) { fmnist_ok(d); put(d, TRI, "", 0); }
static void idx_magic(const char *d) { fmnist_ok(d); put(d, TRI, "\x01\x02\x08\x03\0\0\0\1", 8); }
static void idx_type(const char *d) { fmnist_ok(d); put(d, TRI, "\0\0\x0d\x03\0\0\0\1\0\0\0\1\0\0\0\1\0\0\0\0", 20); }
static void idx_ndim0(const char *d) { fmnist_ok(d); put(d, TRI, "\0\0\x08\0", 4); }
static void idx_ndim9(const char *d) { fmnist_ok(d); put(d, TRI, "\0\0\x08\x09\0\0\0\1", 8); }
static void idx_short_header(const char *d) { fmnist_ok(d); put(d, TRI, "\0\0\x08\x03\0\0\0\3\0\0", 10); }
static void idx_dim0(const char *d) { const uint32_t x[3] = {3, 0, 2}; fmnist_ok(d); put_idx(d, TRI, 3, x, 0, 0); }
static void idx_truncated(const char *d) { const uint32_t x[3] = {3, 2, 2}; fmnist_ok(d); put_idx(d, TRI, 3, x, 11, 0); }
static void idx_extra(const char *d) { const uint32_t x[3] = {3, 2, 2}; fmnist_ok(d); put_idx(d, TRI, 3, x, 13, 0); }
static void idx_overflow(const char *d)
{
    const uint32_t x[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 2};
    fmnist_ok(d);
    put_idx(d, TRI, 4, x, 16, 0);
}
/* a 28-byte file whose header claims 4 * 2^62 bytes: must fail without trusting the header */
static void idx_huge(const char *d) { const uint32_t x[3] = {0x7fffffffu, 0x7fffffffu, 3}; fmnist_ok(d); put_idx(d, TRI, 3, x, 16, 0); }
static void idx_label10(const char *d) { fmnist_ok(d); put(d, TRL, "\0\0\x08\x01\0\0\0\x03\x01\x0a\x02", 11); }
static void idx_count(const char *d) { const uint32_t x[1] = {2}; fmnist_ok(d); put_idx(d, TRL, 1, x, 2, 9); }
static void idx_images_1d(const char *d) { const uint32_t x[1] = {3}; fmnist_ok(d); put_idx(d, TRI, 1, x, 3, 0); }
static void idx_missing(const char *d) { fmnist_ok(d); char p[1024]; snprintf(p, sizeof p, "%s/%s", d, TRL); unlink(p); }
static void idx_gz_cut(const char *d)
{
    unsigned char raw[4 + 12 + 12], gz[128];
    const unsigned char h[16] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2};
    memcpy(raw, h, 16);
    memset(raw + 16, 7, 12);
    z_stream z = {0};
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = raw, z.avail_in = sizeof raw, z.next_out = gz, z.avail_out = sizeof gz;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t len = sizeof gz - z.avail_out;
    deflateEnd(&z);
    fmnist_ok(d);
    put(d, TRI, gz, len / 2);   /* the gzip stream cut in half */
}

/* ---- model and data texts ------------------------------------------------------------------ */

static const char GOOD_CSV[] = "y,x1,x2\n0.5,1,2\n-1,0.25,3\n2,-1,0\n0,1,1\n1.5,2,-2\n-0.5,0,1\n";
static const char GOOD_LOGIT_CSV[] = "y,x1,x2\n0,1,2\n1,0.25,3\n1,-1,0\n0,1,1\n";
#define MODEL_HEAD "{\"format\": \"moem-model\", \"version\": 1, \"family\": \"linear\", \"symmetric\": false, "
#define GOOD_MODEL MODEL_HEAD "\"K\": 2, \"d\": 2, \"C\": 1, \"gate\": [[0.5, -0.5], [0, 0]], " \
    "\"experts\": [{\"beta\": [1, 2], \"sigma2\": 1}, {\"beta\": [-1, 0], \"sigma2\": 2}]}\n"

static void data_ok(const char *d) { put_text(d, "good.csv", GOOD_CSV); }
static void logit_linear_init(const char *d) { put_text(d, "good.csv", GOOD_LOGIT_CSV); put_text(d, "m.json", GOOD_MODEL); }
static void nul_byte(const char *d) { put(d, "data.csv", "y,x1\n1,2\0\n", 10); }
static void model_d3(const char *d)
{
    data_ok(d);
    put_text(d, "m.json", MODEL_HEAD "\"K\": 2, \"d\": 3, \"C\": 1, \"gate\": [[1, 0, 0], [0, 0, 0]], "
             "\"experts\": [{\"beta\": [1, 2, 3], \"sigma2\": 1}, {\"beta\": [0, 0, 0], \"sigma2\": 1}]}");
}
static void model_truncated(const char *d) { data_ok(d); put(d, "m.json", GOOD_MODEL, strlen(GOOD_MODEL) / 2); }
static void model_empty(const char *d) { data_ok(d); put(d, "m.json", "", 0); }
static void make_dir(const char *d, const char *name)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", d, name);
    assert_int_equal(mkdir(p, 0777), 0);
}
static void model_dir(const char *d) { data_ok(d); make_dir(d, "m.json"); }
static void data_dir(const char *d) { make_dir(d, "data.csv"); }
static void old_output(const char *d) { put_text(d, "out/model.json", "OLD\n"); }
/* unreadable for anyone but root (the case is skipped when the tests run as root) */
static void unreadable(const char *d)
{
    char p[1024];
    put_text(d, "data.csv", GOOD_CSV);
    snprintf(p, sizeof p, "%s/data.csv", d);
    assert_int_equal(chmod(p, 0), 0);
}

/* ---- the table ----------------------------------------------------------------------------- */

typedef struct bad_case {
    const char *name;
    const char *file, *text;          /* a text input file and its content (NULL: none) */
    void (*setup)(const char *dir);   /* or a setup writing binary files */
    const char *args;                 /* after "moem"; {d} is the case's directory */
    const char *want1, *want2;        /* must appear in the error line (file, place) */
} bad_case;

#define FIT_LIN "fit --model linear --algo em --iters 2 --quiet --out {d}/out/model.json --data "
#define FIT_INIT "fit --data {d}/good.csv --model linear --algo em --iters 2 --quiet --out {d}/out/model.json --init {d}/m.json"
#define MODEL_CASE(nm, body, w1, w2) {nm, "m.json", MODEL_HEAD body, data_ok, FIT_INIT, w1, w2}
#define FMNIST "experiment fmnist --instances 1 --iters 1 --grid-iters 1 --lr-gd 0.1 --lr-gem 0.1,0.1 " \
    "--no-plots --out {d}/out/res --fmnist-dir {d}"
#define CSV_CASE(nm, text, w1, w2) {nm, "data.csv", text, NULL, FIT_LIN "{d}/data.csv", w1, w2}
#define GEN "generate --model linear --out {d}/out/data.csv "

static const bad_case cases[] = {
    /* CSV data */
    CSV_CASE("csv_empty", "", "data.csv:1:1", "empty file"),
    CSV_CASE("csv_header_only", "y,x1\n", "data.csv:2:", "no data rows"),
    CSV_CASE("csv_no_header", "1,2\n3,4\n", "data.csv:1:", "missing header"),
    CSV_CASE("csv_header_one_column", "y\n1\n", "data.csv:1:", "2 columns"),
    CSV_CASE("csv_header_empty_name", "y,,x2\n1,2,3\n", "data.csv:1:3", "empty column name"),
    CSV_CASE("csv_ragged_short", "y,x1,x2\n1,2,3\n4,5\n", "data.csv:3:", "expected 3 columns, found 2"),
    CSV_CASE("csv_ragged_long", "y,x1\n1,2\n3,4,5\n", "data.csv:3:", "expected 2 columns"),
    CSV_CASE("csv_truncated_row", "y,x1,x2\n1,2,3\n4,5,", "data.csv:3:", "empty field"),
    CSV_CASE("csv_non_numeric", "y,x1\n1,2\n1,abc\n", "data.csv:3:3", "not a number"),
    CSV_CASE("csv_trailing_junk", "y,x1\n1,2x\n", "data.csv:2:3", "not a number"),
    CSV_CASE("csv_nan", "y,x1\n1,nan\n", "data.csv:2:3", "NaN"),
    CSV_CASE("csv_inf", "y,x1\n-inf,1\n", "data.csv:2:1", "Inf"),
    CSV_CASE("csv_overflow", "y,x1\n1,1e999\n", "data.csv:2:3", "out of range"),
    CSV_CASE("csv_carriage_return_in_field", "y,x1\n1,2\r3\n", "data.csv:2:3", "not a number"),
    CSV_CASE("csv_empty_line", "y,x1\n1,2\n\n3,4\n", "data.csv:3:1", "empty line"),
    {"csv_nul_byte", NULL, NULL, nul_byte, FIT_LIN "{d}/data.csv", "data.csv:2:", "NUL"},
    {"csv_missing", NULL, NULL, NULL, FIT_LIN "{d}/nothing.csv", "nothing.csv", "cannot open"},
    {"csv_directory", NULL, NULL, data_dir, FIT_LIN "{d}/data.csv", "data.csv", "directory"},
    {"csv_unreadable", NULL, NULL, unreadable, FIT_LIN "{d}/data.csv", "data.csv", "Permission denied"},
    {"csv_path_through_file", "data.csv", GOOD_CSV, NULL, FIT_LIN "{d}/data.csv/x.csv", "data.csv/x.csv", "cannot open"},
    /* labels and sizes against the model */
    {"labels_logistic_2", "data.csv", "y,x1\n0,1\n2,1\n1,3\n", NULL,
     "fit --model logistic --algo em --iters 2 --quiet --out {d}/out/model.json --data {d}/data.csv", "data.csv:3:1", "0 or 1"},
    {"labels_softmax_negative", "data.csv", "y,x1\n0,1\n-1,2\n1,0\n", NULL,
     "fit --model softmax --algo em --iters 2 --quiet --out {d}/out/model.json --data {d}/data.csv", "data.csv:3:1", "class labels"},
    {"labels_softmax_fraction", "data.csv", "y,x1\n0,1\n0.5,2\n1,0\n", NULL,
     "fit --model softmax --algo em --iters 2 --quiet --out {d}/out/model.json --data {d}/data.csv", "data.csv:3:1", "class labels"},
    {"labels_softmax_above_C", "data.csv", "y,x1\n0,1\n5,2\n1,0\n", NULL,
     "fit --model softmax --classes 3 --algo em --iters 2 --quiet --out {d}/out/model.json --data {d}/data.csv", "data.csv:3:1", "class labels"},
    {"labels_softmax_1e300", "data.csv", "y,x1\n0,1\n1e300,2\n1,0\n", NULL,
     "fit --model softmax --algo em --iters 2 --quiet --out {d}/out/model.json --data {d}/data.csv", "data.csv:3:1", "1e+300"},
    {"experts_more_than_samples", "data.csv", "y,x1\n1,2\n3,4\n", NULL,
     "fit --model linear --experts 3 --algo em --iters 2 --quiet --out {d}/out/model.json --data {d}/data.csv", "data.csv", "K > N"},
    /* model files (--init) */
    MODEL_CASE("model_unterminated", "", "m.json: 1:", "end of file"),
    {"model_not_object", "m.json", "[1, 2]", data_ok, FIT_INIT, "m.json", "not a JSON object"},
    {"model_empty", NULL, NULL, model_empty, FIT_INIT, "m.json", ""},
    {"model_truncated", NULL, NULL, model_truncated, FIT_INIT, "m.json: 1:", "end of"},
    /* jansson quotes the bad token, here one holding a line break: still one line */
    {"model_token_with_newline", "m.json", "{\"format\": \"moem-model\",\n\"symme \\\n}\n", data_ok, FIT_INIT,
     "m.json: 3:", "invalid escape"},
    {"model_directory", NULL, NULL, model_dir, FIT_INIT, "m.json", "directory"},
    {"model_wrong_format", "m.json", "{\"format\": \"pickle\"}", data_ok, FIT_INIT, "m.json", "format"},
    MODEL_CASE("model_K_zero", "\"K\": 0, \"d\": 2, \"C\": 1, \"gate\": [], \"experts\": []}", "m.json", "K: must be at least 1"),
    MODEL_CASE("model_d_negative", "\"K\": 2, \"d\": -3, \"C\": 1, \"gate\": [], \"experts\": []}", "m.json", "d: must be at least 1"),
    MODEL_CASE("model_K_huge", "\"K\": 1000000000000000000, \"d\": 2, \"C\": 1, \"gate\": [], \"experts\": []}", "m.json", "gate"),
    MODEL_CASE("model_size_overflow", "\"K\": 4611686018427387904, \"d\": 4611686018427387904, \"C\": 1, "
               "\"gate\": [], \"experts\": []}", "m.json", "too large"),
    MODEL_CASE("model_K_float", "\"K\": 2.5, \"d\": 2, \"C\": 1, \"gate\": [], \"experts\": []}", "m.json", "K: not an integer"),
    MODEL_CASE("model_gate_ragged", "\"K\": 2, \"d\": 2, \"C\": 1, \"gate\": [[1], [0, 0]], "
               "\"experts\": [{\"beta\": [1, 2], \"sigma2\": 1}, {\"beta\": [0, 0], \"sigma2\": 1}]}", "m.json", "gate[0]"),
    MODEL_CASE("model_beta_string", "\"K\": 2, \"d\": 2, \"C\": 1, \"gate\": [[1, 0], [0, 0]], "
               "\"experts\": [{\"beta\": [1, \"x\"], \"sigma2\": 1}, {\"beta\": [0, 0], \"sigma2\": 1}]}",
               "m.json", "experts[0].beta[1]"),
    MODEL_CASE("model_number_overflow", "\"K\": 2, \"d\": 2, \"C\": 1, \"gate\": [[1e999, 0], [0, 0]], "
               "\"experts\": [{\"beta\": [1, 2], \"sigma2\": 1}, {\"beta\": [0, 0], \"sigma2\": 1}]}", "m.json: 1:", "overflow"),
    MODEL_CASE("model_sigma2_negative", "\"K\": 2, \"d\": 2, \"C\": 1, \"gate\": [[1, 0], [0, 0]], "
               "\"experts\": [{\"beta\": [1, 2], \"sigma2\": -1}, {\"beta\": [0, 0], \"sigma2\": 1}]}",
               "m.json", "experts[0].sigma2"),
    MODEL_CASE("model_pinned_row", "\"K\": 2, \"d\": 2, \"C\": 1, \"gate\": [[1, 0], [0, 3]], "
               "\"experts\": [{\"beta\": [1, 2], \"sigma2\": 1}, {\"beta\": [0, 0], \"sigma2\": 1}]}", "m.json", "gate[1][1]"),
    MODEL_CASE("model_expert_missing", "\"K\": 2, \"d\": 2, \"C\": 1, \"gate\": [[1, 0], [0, 0]], "
               "\"experts\": [{\"beta\": [1, 2], \"sigma2\": 1}]}", "m.json", "experts"),
    {"model_d_differs", NULL, NULL, model_d3, FIT_INIT, "good.csv", "model d = 3, data d = 2"},
    /* IDX (Fashion-MNIST) */
    {"idx_empty", NULL, NULL, idx_empty, FMNIST, TRI, "truncated IDX header"},
    {"idx_bad_magic", NULL, NULL, idx_magic, FMNIST, TRI, "magic"},
    {"idx_float_type", NULL, NULL, idx_type, FMNIST, TRI, "type 0x0d"},
    {"idx_zero_dims", NULL, NULL, idx_ndim0, FMNIST, TRI, "0 dimensions"},
    {"idx_nine_dims", NULL, NULL, idx_ndim9, FMNIST, TRI, "9 dimensions"},
    {"idx_short_header", NULL, NULL, idx_short_header, FMNIST, TRI, "truncated IDX header"},
    {"idx_zero_dimension", NULL, NULL, idx_dim0, FMNIST, TRI, "dimension 1 is zero"},
    {"idx_truncated_payload", NULL, NULL, idx_truncated, FMNIST, TRI, "truncated IDX data"},
    {"idx_extra_bytes", NULL, NULL, idx_extra, FMNIST, TRI, "bytes after"},
    {"idx_dims_overflow_size_t", NULL, NULL, idx_overflow, FMNIST, TRI, "overflow"},
    {"idx_huge_dims_tiny_file", NULL, NULL, idx_huge, FMNIST, TRI, "truncated IDX data"},
    {"idx_label_10", NULL, NULL, idx_label10, FMNIST, TRL, "label 10 of image 1"},
    {"idx_count_mismatch", NULL, NULL, idx_count, FMNIST, TRL, "2 labels for 3 images"},
    {"idx_images_1d", NULL, NULL, idx_images_1d, FMNIST, TRI, "1 dimensions"},
    {"idx_missing_labels", NULL, NULL, idx_missing, FMNIST, TRL, "cannot open"},
    {"idx_gzip_cut", NULL, NULL, idx_gz_cut, FMNIST, TRI, ""},
    /* options and output paths */
    {"opt_experts_zero", NULL, NULL, data_ok, FIT_LIN "{d}/good.csv --experts 0", "--experts", "'0'"},
    {"opt_iters_negative", NULL, NULL, data_ok, FIT_LIN "{d}/good.csv --iters -1", "--iters", "'-1'"},
    {"opt_lr_nan", NULL, NULL, data_ok, FIT_LIN "{d}/good.csv --lr nan", "--lr", "'nan'"},
    {"opt_threads_zero", NULL, NULL, data_ok, FIT_LIN "{d}/good.csv --threads 0", "--threads", "'0'"},
    {"opt_unknown", NULL, NULL, data_ok, FIT_LIN "{d}/good.csv --frobnicate", "frobnicate", "unknown"},
    {"opt_symlin_three_experts", NULL, NULL, data_ok,
     "fit --model symlin --experts 3 --algo em --quiet --out {d}/out/model.json --data {d}/good.csv", "experts", "2"},
    {"out_is_directory", NULL, NULL, data_ok,
     "fit --model linear --algo em --iters 2 --quiet --out {d}/out --data {d}/good.csv", "out", "directory"},
    {"out_dir_missing", NULL, NULL, data_ok,
     "fit --model linear --algo em --iters 2 --quiet --out {d}/nodir/model.json --data {d}/good.csv", "nodir/model.json", "cannot"},
    {"trace_is_directory", NULL, NULL, data_ok, FIT_LIN "{d}/good.csv --trace {d}/out", "out", "directory"},
    {"out_kept_on_failure", "data.csv", "y,x1\n1,zz\n", old_output, FIT_LIN "{d}/data.csv", "data.csv:2:3", "not a number"},
    {"logistic_init_differs", NULL, NULL, logit_linear_init,
     "fit --model logistic --algo em --iters 2 --quiet --out {d}/out/model.json --data {d}/good.csv --init {d}/m.json",
     "m.json", "differs"},
    {"gen_n_zero", NULL, NULL, NULL, GEN "--n 0 --d 2", "--n", "'0'"},
    {"gen_d_beyond_u64", NULL, NULL, NULL, GEN "--n 5 --d 99999999999999999999999", "--d", "99999999999999999999999"},
    {"gen_size_overflow", NULL, NULL, NULL, GEN "--n 4611686018427387904 --d 4", "4611686018427387904 x 4", "too large"},
    {"gen_d_max", NULL, NULL, NULL, GEN "--n 2 --d 18446744073709551615", "18446744073709551615", "too large"},
    {"gen_d_negative", NULL, NULL, NULL, GEN "--n 5 --d -3", "--d", "'-3'"},
    {"gen_gate_norm_inf", NULL, NULL, NULL, GEN "--n 5 --d 2 --gate-norm inf", "--gate-norm", "'inf'"},
    {"gen_seed_negative", NULL, NULL, NULL, GEN "--n 5 --d 2 --seed -1", "--seed", "'-1'"},
    {"gen_experts_zero", NULL, NULL, NULL, GEN "--n 5 --d 2 --experts 0", "--experts", "'0'"},
    {"gen_out_directory", NULL, NULL, NULL, "generate --model linear --n 5 --d 2 --out {d}/out", "out", "directory"},
    {"gen_truth_unwritable", NULL, NULL, NULL, GEN "--n 5 --d 2 --truth {d}/nodir/t.json", "nodir/t.json", "cannot"},
};
#define NCASES (sizeof cases / sizeof cases[0])

/* ---- running ------------------------------------------------------------------------------- */

static void expand(char *out, size_t outlen, const char *tmpl, const char *dir)
{
    size_t k = 0;
    for (const char *p = tmpl; *p && k + 1 < outlen; p++) {
        if (!strncmp(p, "{d}", 3)) {
            k += (size_t)snprintf(out + k, outlen - k, "%s", dir);
            p += 2;
        } else {
            out[k++] = *p;
        }
    }
    out[k < outlen ? k : outlen - 1] = 0;
}

/* names in dir (sorted, one per line) */
static void listing(const char *dir, char *out, size_t outlen)
{
    out[0] = 0;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            strncat(out, e->d_name, outlen - strlen(out) - 1);
            strncat(out, " ", outlen - strlen(out) - 1);
        }
    closedir(d);
}

static int run_capture_stderr(const char *cmd, char *err, size_t errlen)
{
    char full[8300];
    snprintf(full, sizeof full, "%.8192s 2>&1 >/dev/null", cmd);
    FILE *p = popen(full, "r");
    assert_non_null(p);
    size_t n = fread(err, 1, errlen - 1, p);
    err[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* a failing case prints why and returns 1, so that one run lists every failing case */
#define BAD(...) do { print_error(__VA_ARGS__); print_error("\n"); return 1; } while (0)

static int check_one_line(const bad_case *c, const char *err, const char *prefix)
{
    const char *nl = strchr(err, '\n');
    if (!nl || nl[1] != 0) BAD("%s: want exactly one error line, got: '%s'", c->name, err);
    for (const unsigned char *q = (const unsigned char *)err; q < (const unsigned char *)nl; q++)
        if ((*q < 0x20 && *q != '\t') || *q == 0x7f) BAD("%s: control character 0x%02x in: %s", c->name, *q, err);
    if (strncmp(err, prefix, strlen(prefix))) BAD("%s: the line does not start with '%s': %s", c->name, prefix, err);
    if (c->want1 && !strstr(err, c->want1)) BAD("%s: '%s' missing from: %s", c->name, c->want1, err);
    if (c->want2 && !strstr(err, c->want2)) BAD("%s: '%s' missing from: %s", c->name, c->want2, err);
    return 0;
}

static size_t skipped;

static int run_case(const bad_case *c)
{
    if (c->setup == unreadable && geteuid() == 0) { skipped++; return 0; }   /* root reads anything */
    char dir[1024], out[1100], cmd[8192], args[4096], err[4096], before[4096], after[4096];
    snprintf(dir, sizeof dir, "%s/%s", ROOT, c->name);
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", dir, dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(mkdir(dir, 0777), 0);
    snprintf(out, sizeof out, "%s/out", dir);
    assert_int_equal(mkdir(out, 0777), 0);
    if (c->setup) c->setup(dir);
    if (c->file) put_text(dir, c->file, c->text);
    listing(dir, before, sizeof before);
    char outlist[4096];
    listing(out, outlist, sizeof outlist);

    expand(args, sizeof args, c->args, dir);
    snprintf(cmd, sizeof cmd, "%s %s", MOEM_BIN, args);
    int rc = run_capture_stderr(cmd, err, sizeof err);
    if (rc == 0) BAD("%s: exit status 0 (want non-zero): %s", c->name, cmd);
    if (rc >= 128) BAD("%s: killed by a signal or crashed: %s\n%s", c->name, cmd, err);
    if (check_one_line(c, err, "moem ")) return 1;

    /* nothing new beside the inputs, the output directory as it was */
    listing(dir, after, sizeof after);
    if (strcmp(before, after)) BAD("%s: files changed: before '%s' after '%s'", c->name, before, after);
    listing(out, after, sizeof after);
    if (strcmp(outlist, after)) BAD("%s: output directory changed: '%s' -> '%s'", c->name, outlist, after);
    if (c->setup == old_output) {
        char p[1200], buf[16] = "";
        snprintf(p, sizeof p, "%s/model.json", out);
        FILE *f = fopen(p, "r");
        assert_non_null(f);
        assert_non_null(fgets(buf, sizeof buf, f));
        fclose(f);
        if (strcmp(buf, "OLD\n")) BAD("%s: the old output file was replaced", c->name);
    }
    return 0;
}

static void test_table(void **s)
{
    (void)s;
    assert_true(NCASES >= 40);
    size_t failed = 0;
    for (size_t i = 0; i < NCASES; i++) failed += (size_t)run_case(&cases[i]);
    print_message("%zu bad-input cases through the moem command, %zu failed, %zu skipped\n", NCASES,
                  failed, skipped);
    assert_int_equal(failed, 0);
}

/* ---- CIFAR-10 (reader only: no command reads it yet) -------------------------------------- */

typedef struct cifar_case { const char *name; size_t records, cut; int bad_label; const char *want; } cifar_case;

static void test_cifar(void **s)
{
    (void)s;
    static const cifar_case cc[] = {
        {"cifar_empty.bin", 0, 0, -1, "no records"},
        {"cifar_truncated.bin", 2, 100, -1, "truncated record 1"},
        {"cifar_label_10.bin", 3, 0, 2, "label 10 of record 2"},
        {"cifar_one_byte.bin", 0, 0, -2, "truncated record 0"},
        {"cifar_missing.bin", 0, 0, -3, "cannot open"},
    };
    char dir[1024], path[1100], err[512];
    snprintf(dir, sizeof dir, "%s/cifar", ROOT);
    mkdir(dir, 0777);
    for (size_t i = 0; i < sizeof cc / sizeof cc[0]; i++) {
        const cifar_case *c = &cc[i];
        snprintf(path, sizeof path, "%s/%s", dir, c->name);
        unlink(path);
        if (c->bad_label != -3) {
            size_t len = c->records * MOEM_CIFAR_RECORD - c->cut;
            unsigned char *b = calloc(len + 1, 1);
            assert_non_null(b);
            for (size_t r = 0; r < c->records; r++) b[r * MOEM_CIFAR_RECORD] = (unsigned char)(r % 10);
            if (c->bad_label >= 0) b[(size_t)c->bad_label * MOEM_CIFAR_RECORD] = 10;
            if (c->bad_label == -2) len = 1;
            put(dir, c->name, b, len);
            free(b);
        }
        moem_images im = {0};
        err[0] = 0;
        int rc = moem_cifar_read_append(path, &im, err, sizeof err);
        moem_images_free(&im);
        if (rc == 0) fail_msg("%s: accepted", c->name);
        if (!strstr(err, path) || !strstr(err, c->want) || strchr(err, '\n'))
            fail_msg("%s: bad message '%s' (want the path and '%s')", c->name, err, c->want);
    }
    /* a directory whose files hold fewer records than the subset asked */
    put(dir, "test_batch.bin", (unsigned char[MOEM_CIFAR_RECORD]){0}, MOEM_CIFAR_RECORD);
    moem_images im;
    assert_int_not_equal(moem_cifar_read(dir, 1, 5, &im, err, sizeof err), 0);
    assert_non_null(strstr(err, "subset"));
    assert_null(im.pix);
}

int main(void)
{
    mkdir(MOEM_TEST_TMP, 0777);
    mkdir(ROOT, 0777);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_cifar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
