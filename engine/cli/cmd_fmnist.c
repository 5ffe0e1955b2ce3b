/* moem experiment fmnist: the options of the paper's "Random Invert FMNIST" experiment (Table 2,
 * Figure 3); the experiment itself is engine/experiments/fmnist.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "fmnist.h"

#define CMD "fmnist"

/* progress: every line on stderr */
static void progress(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "%s: %s\n", CMD, line);
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: moem experiment fmnist [OPTIONS]\n"
        "The paper's Random Invert FMNIST experiment: a 2-component mixture of softmax experts\n"
        "(linear gate, every row initialised to unit norm) trained by EM, Gradient EM and gradient\n"
        "descent from the same data and start; test accuracy and cross-entropy after each iteration.\n\n"
        "  --instances N        instances (inversion draw and start), default 25\n"
        "  --iters T            iterations per method, default 100\n"
        "  --inner K|exact      EM M-steps: K inner gradient steps (default 5, each checked to\n"
        "                       lower its sub-problem) or exact (Newton)\n"
        "  --inner-lr X         first trial step of the inner gradient steps (default: automatic)\n"
        "  --newton-max N       Newton steps per M-step sub-problem (default 50)\n"
        "  --newton-tol X       Newton decrement tolerance (default 1e-10)\n"
        "  --ridge X            ridge/2 |V|^2 added to every EM M-step sub-problem (default 0)\n"
        "  --lr-gd X            GD step size (default: grid search)\n"
        "  --lr-gem X,Y         Gradient EM gate and expert step sizes (default: grid search)\n"
        "  --grid-iters T       iterations of each grid-search run (default: --iters)\n"
        "  --invert-fraction F  fraction of images inverted, default 0.5\n"
        "  --train-subset N     use the first N training images (default all 60000)\n"
        "  --test-subset N      use the first N test images (default all 10000)\n"
        "  --fmnist-dir DIR     the IDX files, default " MOEM_FMNIST_DIR "\n"
        "  --seed S             default 1\n"
        "  --threads T          threads (default: all)\n"
        "  --precision P        storage of the training X: f64 (default) or f32 (sums stay float64)\n"
        "  --out DIR            output directory, default fmnist-out\n"
        "  --no-plots           skip gnuplot\n"
        "  -h, --help           this text\n\n"
        "Exit status: 0 done; 1 bad input or a failed run or write; 2 usage.\n"
        "Writes DIR/fmnist.csv (every run and iteration), fmnist-mean.csv, fmnist-grid.csv,\n"
        "fmnist-table.md and fmnist-figure3.{png,svg}; prints the table next to the paper's Table 2.\n"
        "The step-size grid is");
    const double *grid;
    size_t ngrid = moem_fmnist_grid(&grid);
    for (size_t g = 0; g < ngrid; g++) fprintf(f, " %g", grid[g]);
    fprintf(f, "; the search runs on instance 1 and keeps the\n"
               "step with the lowest training objective after --grid-iters iterations (Gradient EM:\n"
               "the gate step with the expert step fixed at GD's best, then the expert step).\n");
}

int moem_cmd_experiment_fmnist(int argc, char **argv)
{
    moem_fmnist_config o;
    moem_fmnist_config_default(&o);
    o.log = progress;
    const char *out = "fmnist-out";
    static const struct option lo[] = {
        {"instances", required_argument, 0, 'n'}, {"iters", required_argument, 0, 'T'},
        {"inner", required_argument, 0, 'i'}, {"inner-lr", required_argument, 0, 'l'},
        {"newton-max", required_argument, 0, 'M'}, {"newton-tol", required_argument, 0, 'E'},
        {"ridge", required_argument, 0, 'R'},
        {"lr-gd", required_argument, 0, 'g'}, {"lr-gem", required_argument, 0, 'G'},
        {"grid-iters", required_argument, 0, 'I'}, {"invert-fraction", required_argument, 0, 'f'},
        {"train-subset", required_argument, 0, 'a'}, {"test-subset", required_argument, 0, 'b'},
        {"fmnist-dir", required_argument, 0, 'D'}, {"seed", required_argument, 0, 's'},
        {"threads", required_argument, 0, 'j'}, {"out", required_argument, 0, 'o'},
        {"no-plots", no_argument, 0, 'P'}, {"precision", required_argument, 0, 'p'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    if (moem_cli_exact_options("experiment fmnist", argc, argv, lo)) return MOEM_EXIT_USAGE;
    optind = 1;
    opterr = 0;
    int c, li = 0;
    long v;
    while ((c = getopt_long(argc, argv, ":h", lo, &li)) != -1) {
        const char *a = optarg;
        switch (c) {
        case 'h': usage(stdout); return 0;
        case 'n': if (moem_cli_parse_size(a, 1, 100000, &o.instances)) goto badval; break;
        case 'T': if (moem_cli_parse_int(a, 0, 1000000, &v)) goto badval; o.iters = (int)v; break;
        case 'I': if (moem_cli_parse_int(a, 1, 1000000, &v)) goto badval; o.grid_iters = (int)v; break;
        case 'i':
            if (!strcmp(a, "exact")) o.inner = 0;
            else if (moem_cli_parse_int(a, 1, 1000000, &v)) goto badval;
            else o.inner = (int)v;
            break;
        case 'l': if (moem_cli_parse_double(a, &o.inner_lr) || !(o.inner_lr > 0)) goto badval; break;
        case 'M': if (moem_cli_parse_int(a, 1, 1000000, &v)) goto badval; o.newton_max = (int)v; break;
        case 'E': if (moem_cli_parse_double(a, &o.newton_tol) || !(o.newton_tol >= 0)) goto badval; break;
        case 'R': if (moem_cli_parse_double(a, &o.ridge) || !(o.ridge >= 0)) goto badval; break;
        case 'g': if (moem_cli_parse_double(a, &o.lr_gd) || !(o.lr_gd > 0)) goto badval; break;
        case 'G': {
            char buf[128], *comma;
            snprintf(buf, sizeof buf, "%s", a);
            if (!(comma = strchr(buf, ','))) goto badval;
            *comma = 0;
            if (moem_cli_parse_double(buf, &o.lr_gem_gate) || moem_cli_parse_double(comma + 1, &o.lr_gem)
                || !(o.lr_gem_gate > 0) || !(o.lr_gem > 0)) goto badval;
            break;
        }
        case 'f':
            if (moem_cli_parse_double(a, &o.invert_fraction) || o.invert_fraction < 0 || o.invert_fraction > 1)
                goto badval;
            break;
        case 'a': if (moem_cli_parse_size(a, 1, 1u << 30, &o.train_subset)) goto badval; break;
        case 'b': if (moem_cli_parse_size(a, 1, 1u << 30, &o.test_subset)) goto badval; break;
        case 'D': o.fmnist_dir = a; break;
        case 's': if (moem_cli_parse_u64(a, &o.seed)) goto badval; break;
        case 'j': if (moem_cli_parse_int(a, 1, 1024, &v)) goto badval; o.threads = (int)v; break;
        case 'o': out = a; break;
        case 'P': o.plots = 0; break;
        case 'p': if (moem_cli_parse_precision(a, &o.f32)) goto badval; break;
        case ':': moem_cli_error(CMD, "option %s needs a value", argv[optind - 1]); return 2;
        default: moem_cli_error(CMD, "unknown option '%s' (--help lists them)", argv[optind - 1]); return 2;
        }
        continue;
    badval:
        moem_cli_error(CMD, "invalid value '%s' for --%s", a, lo[li].name);
        return 2;
    }
    if (optind < argc) { moem_cli_error(CMD, "unexpected argument '%s'", argv[optind]); return 2; }
    if (moem_cli_isa_ok(CMD)) return MOEM_EXIT_USAGE;
    const char *const *outputs;
    size_t nout = moem_fmnist_outputs(o.plots, &outputs);
    if (moem_cli_check_dir_outputs(CMD, out, outputs, nout)) return MOEM_EXIT_FAIL;
    char err[1024], *table = NULL;
    if (moem_experiment_fmnist(&o, out, &table, err, sizeof err)) {
        moem_cli_error(CMD, "%s", err);
        return MOEM_EXIT_FAIL;
    }
    fputs(table, stdout);
    free(table);
    return MOEM_EXIT_OK;
}
