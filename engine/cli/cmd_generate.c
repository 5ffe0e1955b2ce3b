/* moem generate: sample a data set (and optionally write the true model) from one of the
 * paper's models. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "moem.h"
#include "rng.h"
#include "synth.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: moem generate --model MODEL --n N --d D --out DATA.csv [options]\n"
        "\n"
        "Samples x ~ N(0, I_d), a hidden expert z from the softmax gate and y from expert z of a\n"
        "random true model, and writes the CSV file `y,x1,...,xd`.\n"
        "\n"
        "  --model MODEL      symlin (symmetric linear experts), symlog (symmetric logistic),\n"
        "                     linear, logistic or softmax\n"
        "  --n N              number of samples (>= 1)\n"
        "  --d D              number of features (>= 1)\n"
        "  --experts K        number of experts (default 2; symlin and symlog need 2)\n"
        "  --classes C        classes of softmax experts (default 10, >= 2)\n"
        "  --gate-norm G      norm of each free gate row (default 4)\n"
        "  --expert-norm E    norm of each expert row (default 4)\n"
        "  --seed S           random seed, an unsigned 64-bit integer (default 1)\n"
        "  --out DATA.csv     the data file (written atomically)\n"
        "  --truth MODEL.json also write the true model\n"
        "  -h, --help         this help\n"
        "\n"
        "Exit status: 0 written; 1 bad input or a failed write; 2 usage.\n");
}

#define FAIL(...) do { moem_cli_error("generate", __VA_ARGS__); goto done; } while (0)
#define USAGE(...) do { rc = MOEM_EXIT_USAGE; FAIL(__VA_ARGS__); } while (0)

int moem_cmd_generate(int argc, char **argv)
{
    enum { O_MODEL = 256, O_N, O_D, O_EXPERTS, O_CLASSES, O_GNORM, O_ENORM, O_SEED, O_OUT, O_TRUTH };
    static const struct option opts[] = {
        {"model", required_argument, NULL, O_MODEL},
        {"n", required_argument, NULL, O_N},
        {"d", required_argument, NULL, O_D},
        {"experts", required_argument, NULL, O_EXPERTS},
        {"classes", required_argument, NULL, O_CLASSES},
        {"gate-norm", required_argument, NULL, O_GNORM},
        {"expert-norm", required_argument, NULL, O_ENORM},
        {"seed", required_argument, NULL, O_SEED},
        {"out", required_argument, NULL, O_OUT},
        {"truth", required_argument, NULL, O_TRUTH},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *model = NULL, *out = NULL, *truth_path = NULL;
    size_t n = 0, d = 0, K = 2, C = 10;
    int have_c = 0;
    double gnorm = 4.0, enorm = 4.0;
    unsigned long long seed = 1;
    moem_model truth = {0};
    moem_data data = {0};
    char err[512];
    int rc = MOEM_EXIT_USAGE, c;

    if (moem_cli_exact_options("generate", argc, argv, opts)) return MOEM_EXIT_USAGE;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        const char *a = optarg;
        switch (c) {
        case 'h': usage(stdout); return 0;
        case O_MODEL: model = a; break;
        case O_N:
            if (moem_cli_parse_size(a, 1, SIZE_MAX, &n)) USAGE("--n must be an integer >= 1, got '%s'", a);
            break;
        case O_D:
            if (moem_cli_parse_size(a, 1, SIZE_MAX, &d)) USAGE("--d must be an integer >= 1, got '%s'", a);
            break;
        case O_EXPERTS:
            if (moem_cli_parse_size(a, 1, SIZE_MAX, &K)) USAGE("--experts must be an integer >= 1, got '%s'", a);
            break;
        case O_CLASSES:
            if (moem_cli_parse_size(a, 2, SIZE_MAX, &C)) USAGE("--classes must be an integer >= 2, got '%s'", a);
            have_c = 1;
            break;
        case O_GNORM:
            if (moem_cli_parse_double(a, &gnorm) || gnorm < 0)
                USAGE("--gate-norm must be a finite number >= 0, got '%s'", a);
            break;
        case O_ENORM:
            if (moem_cli_parse_double(a, &enorm) || enorm < 0)
                USAGE("--expert-norm must be a finite number >= 0, got '%s'", a);
            break;
        case O_SEED:
            if (moem_cli_parse_u64(a, &seed)) USAGE("--seed must be an unsigned 64-bit integer, got '%s'", a);
            break;
        case O_OUT: out = a; break;
        case O_TRUTH: truth_path = a; break;
        case ':': USAGE("option '%s' needs a value (moem generate --help)", argv[optind - 1]);
        default: USAGE("unknown option '%s' (moem generate --help)", argv[optind - 1]);
        }
    }
    if (optind < argc) USAGE("unexpected argument '%s' (moem generate --help)", argv[optind]);
    if (!model) USAGE("--model is required (moem generate --help)");
    if (!n) USAGE("--n is required");
    if (!d) USAGE("--d is required");
    if (!out || !*out) USAGE("--out is required");
    if (truth_path && !*truth_path) USAGE("--truth needs a file name");

    moem_family fam;
    int sym = 0;
    if (moem_model_spec_parse(model, &fam, &sym))
        USAGE("unknown --model '%s' (symlin, symlog, linear, logistic or softmax)", model);
    if (sym && K != 2) USAGE("--model %s has exactly 2 experts, got --experts %zu", model, K);
    if (have_c && fam != MOEM_SOFTMAX) USAGE("--classes applies to --model softmax only");

    if (moem_cli_isa_ok("generate")) goto done;
    rc = MOEM_EXIT_FAIL;
    const moem_file_arg files[] = {{out, "--out", 1, 0}, {truth_path, "--truth", 1, 0}};
    if (moem_files_check(files, 2, err, sizeof err)) FAIL("%s", err);
    moem_rng rng;
    moem_rng_seed(&rng, (uint64_t)seed);
    if (moem_synth_truth(&truth, fam, sym, K, d, C, gnorm, enorm, &rng, err, sizeof err)) FAIL("%s", err);
    if (moem_synth_sample(&truth, n, &rng, &data, err, sizeof err)) FAIL("%s", err);
    if (moem_csv_write(out, &data, err, sizeof err)) FAIL("%s", err);
    if (truth_path && moem_model_write(truth_path, &truth, err, sizeof err)) {
        unlink(out);
        FAIL("%s", err);
    }
    rc = MOEM_EXIT_OK;
done:
    moem_model_free(&truth);
    moem_data_free(&data);
    return rc;
}
