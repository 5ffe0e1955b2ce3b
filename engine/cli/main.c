/* moem: the command. Subcommands live in cli/cmd_*.c. */
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "moem.h"
#include "moem_ops.h"

static const struct { const char *name, *what; int (*fn)(int, char **); } cmds[] = {
    {"generate", "sample a data set from one of the paper's models", moem_cmd_generate},
    {"fit", "train a model by EM, Gradient EM, gradient descent or mirror descent", moem_cmd_fit},
    {"predict", "a fitted model's outputs on new data (mean, classes, gate, posteriors)", moem_cmd_predict},
    {"score", "how well a fitted model explains data: objective, accuracy, AIC, BIC", moem_cmd_score},
    {"verify", "check numerically that EM is unit-step mirror descent", moem_cmd_verify},
    {"experiment", "run the paper's experiments (synthetic, fmnist)", moem_cmd_experiment},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: moem COMMAND [OPTIONS]   (moem COMMAND --help for each)\n\n");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        fprintf(f, "  %-11s %s\n", cmds[i].name, cmds[i].what);
    fprintf(f, "\n  --version   print the version and the active kernel ISA\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) { usage(stderr); return 2; }
    /* --help and --version never depend on MOEM_ISA: each subcommand checks it after its
     * options (moem_cli_isa_ok) */
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) { usage(stdout); return 0; }
    if (!strcmp(argv[1], "--version")) {
        if (moem_ops_error()) printf("moem %s (isa: none active: %s)\n", MOEM_VERSION, moem_ops_error());
        else printf("moem %s (isa %s)\n", MOEM_VERSION, moem_isa_name());
        return 0;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(argv[1], cmds[i].name)) return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "moem: unknown command '%s' (moem --help lists them)\n", argv[1]);
    return 2;
}
