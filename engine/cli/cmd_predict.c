/* moem predict: a fitted model's outputs on new data, as CSV. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "base.h"
#include "moem.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: moem predict --model MODEL.json --data DATA.csv [--what W] [--out PRED.csv]\n"
        "\n"
        "Writes what a fitted model says about each row of DATA.csv, as CSV with a header. DATA.csv\n"
        "holds the model's d features per row, with or without a leading y column (d + 1 or d\n"
        "columns; the header's names are not read).\n"
        "\n"
        "  --model FILE   the model (moem fit --out)\n"
        "  --data FILE    the rows to predict\n"
        "  --what W       mean       linear experts: sum_k pi_k(x) b_k.x (the default for them)\n"
        "                 class      logistic / softmax experts: the most probable class (their default)\n"
        "                 proba      logistic / softmax experts: p(c | x) for every class c\n"
        "                 gate       the gate probabilities pi_k(x)\n"
        "                 experts    each expert's output (linear: b_k.x; logistic: P(y = 1);\n"
        "                            softmax: its class probabilities)\n"
        "                 posterior  p(expert k | x, y) (needs y)\n"
        "                 cluster    the expert of highest posterior (needs y)\n"
        "  --out FILE     write there (atomically) instead of standard output\n"
        "  -h, --help     this text\n"
        "\n"
        "Indices (classes, experts) start at 0. Exit status: 0 written; 1 bad input or a failed\n"
        "write; 2 usage.\n");
}

static const struct { const char *name; moem_predict_what what; const char *col; } kinds[] = {
    {"mean", MOEM_PREDICT_MEAN, "mean"},           {"class", MOEM_PREDICT_CLASS, "class"},
    {"proba", MOEM_PREDICT_PROBA, "p"},            {"gate", MOEM_PREDICT_GATE, "pi"},
    {"experts", MOEM_PREDICT_EXPERTS, "expert"},   {"posterior", MOEM_PREDICT_POSTERIOR, "r"},
    {"cluster", MOEM_PREDICT_CLUSTER, "cluster"},
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

/* the header's column names: one column: its name; else NAME0, NAME1, ...; softmax experts'
 * outputs: expertK_cC */
static void header(FILE *f, const moem_model *m, size_t kind, size_t cols)
{
    if (cols == 1) { fprintf(f, "%s\n", kinds[kind].col); return; }
    for (size_t j = 0; j < cols; j++) {
        if (kinds[kind].what == MOEM_PREDICT_EXPERTS && m->family == MOEM_SOFTMAX)
            fprintf(f, "%sexpert%zu_c%zu", j ? "," : "", j / m->C, j % m->C);
        else
            fprintf(f, "%s%s%zu", j ? "," : "", kinds[kind].col, j);
    }
    fputc('\n', f);
}

#define FAIL(...) do { moem_cli_error("predict", __VA_ARGS__); goto done; } while (0)
#define USAGE(...) do { rc = MOEM_EXIT_USAGE; FAIL(__VA_ARGS__); } while (0)

int moem_cmd_predict(int argc, char **argv)
{
    enum { O_MODEL = 256, O_DATA, O_WHAT, O_OUT };
    static const struct option opts[] = {
        {"model", required_argument, NULL, O_MODEL}, {"data", required_argument, NULL, O_DATA},
        {"what", required_argument, NULL, O_WHAT},   {"out", required_argument, NULL, O_OUT},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    const char *model_path = NULL, *data_path = NULL, *what = NULL, *out = NULL;
    moem_model m = {0};
    moem_data data = {0};
    double *pred = NULL;
    char err[1024];
    int rc = MOEM_EXIT_USAGE, c;
    size_t kind = NKINDS;

    if (moem_cli_exact_options("predict", argc, argv, opts)) return MOEM_EXIT_USAGE;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return 0;
        case O_MODEL: model_path = optarg; break;
        case O_DATA: data_path = optarg; break;
        case O_WHAT: what = optarg; break;
        case O_OUT: out = optarg; break;
        case ':': USAGE("option %s needs a value (--help)", argv[optind - 1]);
        default: USAGE("unknown option '%s' (--help)", argv[optind - 1]);
        }
    }
    if (optind < argc) USAGE("unexpected argument '%s'", argv[optind]);
    if (!model_path) USAGE("--model is required (--help)");
    if (!data_path) USAGE("--data is required (--help)");
    if (what) {
        for (kind = 0; kind < NKINDS && strcmp(what, kinds[kind].name); kind++) {}
        if (kind == NKINDS)
            USAGE("--what must be mean, class, proba, gate, experts, posterior or cluster, got '%s'", what);
    }
    if (moem_cli_isa_ok("predict")) return MOEM_EXIT_USAGE;
    rc = MOEM_EXIT_FAIL;
    const moem_file_arg files[] = {{model_path, "--model", 0, 0}, {data_path, "--data", 0, 0}, {out, "--out", 1, 0}};
    if (moem_files_check(files, 3, err, sizeof err)) FAIL("%s", err);
    if (moem_model_read(model_path, &m, err, sizeof err)) FAIL("%s", err);
    if (kind == NKINDS) kind = m.family == MOEM_LINEAR ? 0 : 1;   /* mean, or class */
    if (moem_csv_read_features(data_path, m.d, &data, err, sizeof err)) FAIL("%s", err);
    size_t cols = moem_predict_cols(&m, kinds[kind].what);
    if (!cols)
        FAIL("--what %s: %s experts have no such output (--help)", kinds[kind].name, moem_family_name(m.family));
    if (!data.y && (kinds[kind].what == MOEM_PREDICT_POSTERIOR || kinds[kind].what == MOEM_PREDICT_CLUSTER))
        FAIL("%s: --what %s needs a y column (the file has %zu columns, the model %zu features)", data_path,
             kinds[kind].name, data.d, m.d);
    if (data.y) {
        const char *why = moem_model_data_check(&m, &data);
        if (why && (kinds[kind].what == MOEM_PREDICT_POSTERIOR || kinds[kind].what == MOEM_PREDICT_CLUSTER)) {
            moem_cli_data_error("predict", data_path, &data, &m, why);
            goto done;
        }
    }
    size_t total;
    if (!moem_mul_size(data.n, cols, &total) || !(pred = malloc(total * sizeof(double)))) FAIL("out of memory");
    if (moem_predict(&data, &m, kinds[kind].what, pred, err, sizeof err)) FAIL("%s", err);

    moem_atomic_file a = {0};
    FILE *f = stdout;
    if (out) {
        if (moem_atomic_open(&a, out, err, sizeof err)) FAIL("%s", err);
        f = a.f;
    }
    int integer = kinds[kind].what == MOEM_PREDICT_CLASS || kinds[kind].what == MOEM_PREDICT_CLUSTER;
    header(f, &m, kind, cols);     /* (a failed write shows at the commit or the flush) */
    for (size_t i = 0; i < data.n; i++) {
        for (size_t j = 0; j < cols; j++) {
            if (integer) fprintf(f, "%s%.0f", j ? "," : "", pred[i * cols + j]);
            else fprintf(f, "%s%.17g", j ? "," : "", pred[i * cols + j]);
        }
        fputc('\n', f);
    }
    if (out) {
        if (moem_atomic_commit(&a, err, sizeof err)) FAIL("%s", err);
    } else if (fflush(stdout) || ferror(stdout)) {
        FAIL("writing to standard output failed");
    }
    rc = MOEM_EXIT_OK;
done:
    free(pred);
    moem_model_free(&m);
    moem_data_free(&data);
    return rc;
}
