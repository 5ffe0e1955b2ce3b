/* moem score: how well a fitted model explains data: objective, accuracy or RMSE, AIC, BIC. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "moem.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: moem score --model MODEL.json --data DATA.csv [--json]\n"
        "\n"
        "Scores a fitted model on data with responses (header y,x1,...,xd): the average negative\n"
        "log-likelihood L (constants included), for classifiers the accuracy and the cross-entropy\n"
        "(which is L), for linear experts the RMSE of the mixture's mean, the number of free\n"
        "parameters p, AIC = 2 N L + 2 p and BIC = 2 N L + p log N.\n"
        "\n"
        "  --model FILE   the model (moem fit --out)\n"
        "  --data FILE    the data (CSV with y)\n"
        "  --json         print one JSON object instead of lines\n"
        "  -h, --help     this text\n"
        "\n"
        "Parameters (README \"Using a model\"): (K - 1) d for the gate (its last row is pinned), d per\n"
        "linear or logistic expert, (C - 1) d per softmax expert, K variances when the model's\n"
        "variances are not all 1 (fitted with --learn-variance); symmetric models: 2 d.\n"
        "Exit status: 0 scored; 1 bad input; 2 usage.\n");
}

#define FAIL(...) do { moem_cli_error("score", __VA_ARGS__); goto done; } while (0)
#define USAGE(...) do { rc = MOEM_EXIT_USAGE; FAIL(__VA_ARGS__); } while (0)

/* a number for JSON: null when it is not finite */
static void jnum(const char *name, double v, int last)
{
    if (isfinite(v)) printf("  \"%s\": %.17g%s\n", name, v, last ? "" : ",");
    else printf("  \"%s\": null%s\n", name, last ? "" : ",");
}

int moem_cmd_score(int argc, char **argv)
{
    enum { O_MODEL = 256, O_DATA, O_JSON };
    static const struct option opts[] = {
        {"model", required_argument, NULL, O_MODEL}, {"data", required_argument, NULL, O_DATA},
        {"json", no_argument, NULL, O_JSON},         {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *model_path = NULL, *data_path = NULL;
    int json = 0, rc = MOEM_EXIT_USAGE, c;
    moem_model m = {0};
    moem_data data = {0};
    char err[1024];

    if (moem_cli_exact_options("score", argc, argv, opts)) return MOEM_EXIT_USAGE;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return 0;
        case O_MODEL: model_path = optarg; break;
        case O_DATA: data_path = optarg; break;
        case O_JSON: json = 1; break;
        case ':': USAGE("option %s needs a value (--help)", argv[optind - 1]);
        default: USAGE("unknown option '%s' (--help)", argv[optind - 1]);
        }
    }
    if (optind < argc) USAGE("unexpected argument '%s'", argv[optind]);
    if (!model_path) USAGE("--model is required (--help)");
    if (!data_path) USAGE("--data is required (--help)");
    if (moem_cli_isa_ok("score")) return MOEM_EXIT_USAGE;
    rc = MOEM_EXIT_FAIL;
    if (moem_model_read(model_path, &m, err, sizeof err)) FAIL("%s", err);
    if (moem_cli_read_data("score", data_path, &data)) goto done;
    const char *why = moem_model_data_check(&m, &data);
    if (why) {
        moem_cli_data_error("score", data_path, &data, &m, why);
        goto done;
    }
    int learned = 0;
    if (m.family == MOEM_LINEAR && !m.symmetric)
        for (size_t k = 0; k < m.K; k++) learned |= m.sigma2[k] != 1.0;
    moem_scores s;
    if (moem_score(&data, &m, learned, &s, err, sizeof err)) FAIL("%s", err);
    int cls = m.family != MOEM_LINEAR;
    if (json) {
        printf("{\n  \"n\": %zu,\n", s.n);
        jnum("objective", s.objective, 0);
        if (cls) { jnum("accuracy", s.accuracy, 0); jnum("cross_entropy", s.cross_entropy, 0); }
        else jnum("rmse", s.rmse, 0);
        printf("  \"params\": %zu,\n", s.params);
        jnum("aic", s.aic, 0);
        jnum("bic", s.bic, 1);
        printf("}\n");
    } else {
        printf("n              %zu\n", s.n);
        printf("objective      %.10g   (average negative log-likelihood)\n", s.objective);
        if (cls) {
            printf("accuracy       %.6f\n", s.accuracy);
            printf("cross_entropy  %.10g\n", s.cross_entropy);
        } else {
            printf("rmse           %.10g   (of the mixture's mean)\n", s.rmse);
        }
        printf("params         %zu\n", s.params);
        printf("aic            %.10g\n", s.aic);
        printf("bic            %.10g\n", s.bic);
    }
    rc = fflush(stdout) || ferror(stdout) ? MOEM_EXIT_FAIL : MOEM_EXIT_OK;
done:
    moem_model_free(&m);
    moem_data_free(&data);
    return rc;
}
