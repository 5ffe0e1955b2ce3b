/* moem experiment: the paper's experiments. This file: the dispatcher and the synthetic
 * SymMoLinE experiment (MATH.md section 6, the paper's Figures 1-2). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "moem.h"

int moem_cmd_experiment(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "synthetic")) return moem_cmd_experiment_synthetic(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "fmnist")) return moem_cmd_experiment_fmnist(argc - 1, argv + 1);
    FILE *f = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? stdout : stderr;
    if (f == stderr && argc >= 2) fprintf(stderr, "moem experiment: unknown experiment '%s'\n", argv[1]);
    fprintf(f, "usage: moem experiment synthetic|fmnist [options]   (--help for each)\n"
               "  synthetic   the paper's SymMoLinE experiment (Figures 1-2)\n"
               "  fmnist      the paper's Random Invert Fashion-MNIST experiment (Table 2, Figure 3)\n");
    return f == stdout ? 0 : 2;
}

/* progress on a terminal: one line rewritten in place */
static void progress(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "\rmoem experiment synthetic: %s", line);
}

static void usage(FILE *f)
{
    fprintf(f,
"usage: moem experiment synthetic [options]\n"
"\n"
"The paper's SymMoLinE experiment: ||beta*|| = ||w*|| = 4, x ~ N(0, I), N(0,1) noise; EM, Gradient EM\n"
"and GD from the same start at relative distance --radius from the truth; every instance\n"
"re-samples truth, data and start. Prints a table, writes CSV files and the Figures 1-2 plots.\n"
"\n"
"  --instances I   instances (default 50)\n"
"  --iters T       iterations (default 100)\n"
"  --n N           samples (default 1000)\n"
"  --d D           features (default 10)\n"
"  --radius R      start at |theta0 - theta*| = R |theta*|, per block (default 0.5)\n"
"  --tune I        instances of the step-size grid search (default 5, own seeds)\n"
"  --lr-gd ETA     skip the grid search for GD: use this step\n"
"  --lr-gem G,E    skip the grid search for Gradient EM: gate step G, expert step E\n"
"  --seed S        seed (default 1)\n"
"  --threads T     threads (default: OMP_NUM_THREADS or all cores)\n"
"  --precision P   storage of X: f64 (default) or f32 (sums stay float64)\n"
"  --out DIR       output directory (default out/synthetic)\n"
"  --no-plots      do not run gnuplot\n"
"  -h, --help      this text\n"
"\n"
"Exit status: 0 done; 1 bad input or a failed run or write; 2 usage.\n");
}

int moem_cmd_experiment_synthetic(int argc, char **argv)
{
    static const struct option opts[] = {
        {"instances", required_argument, 0, 'I'}, {"iters", required_argument, 0, 'T'},
        {"n", required_argument, 0, 'n'}, {"d", required_argument, 0, 'd'},
        {"radius", required_argument, 0, 'r'}, {"tune", required_argument, 0, 'u'},
        {"lr-gd", required_argument, 0, 'g'}, {"lr-gem", required_argument, 0, 'e'},
        {"seed", required_argument, 0, 's'},
        {"threads", required_argument, 0, 't'}, {"out", required_argument, 0, 'o'},
        {"no-plots", no_argument, 0, 'P'}, {"precision", required_argument, 0, 'p'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    moem_synthetic_config cfg;
    moem_synthetic_config_default(&cfg);
    long iters = cfg.iters, threads = 0;
    const char *dir = "out/synthetic";
    int plot = 1, c;
    int li = 0;
    if (moem_cli_exact_options("experiment synthetic", argc, argv, opts)) return MOEM_EXIT_USAGE;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, &li)) != -1) {
        int bad = 0;
        switch (c) {
        case 'I': bad = moem_cli_parse_size(optarg, 1, 1000000, &cfg.instances); break;
        case 'T': bad = moem_cli_parse_int(optarg, 0, 1000000, &iters); break;
        case 'n': bad = moem_cli_parse_size(optarg, 2, (size_t)1 << 40, &cfg.n); break;
        case 'd': bad = moem_cli_parse_size(optarg, 1, 100000, &cfg.d); break;
        case 'r': bad = moem_cli_parse_double(optarg, &cfg.radius) || cfg.radius < 0; break;
        case 'u': bad = moem_cli_parse_size(optarg, 1, 1000, &cfg.tune); break;
        case 'g': bad = moem_cli_parse_double(optarg, &cfg.lr_gd) || !(cfg.lr_gd > 0); break;
        case 'e': {
            char buf[128], *comma;
            snprintf(buf, sizeof buf, "%s", optarg);
            bad = !(comma = strchr(buf, ','));
            if (!bad) {
                *comma = 0;
                bad = moem_cli_parse_double(buf, &cfg.lr_gem_gate) || moem_cli_parse_double(comma + 1, &cfg.lr_gem) ||
                      !(cfg.lr_gem_gate > 0) || !(cfg.lr_gem > 0);
            }
            break;
        }
        case 's': bad = moem_cli_parse_u64(optarg, &cfg.seed); break;
        case 't': bad = moem_cli_parse_int(optarg, 1, 4096, &threads); break;
        case 'o': dir = optarg; break;
        case 'P': plot = 0; break;
        case 'p': bad = moem_cli_parse_precision(optarg, &cfg.f32); break;
        case 'h': usage(stdout); return 0;
        case ':':
            moem_cli_error("experiment synthetic", "option %s needs a value (--help)", argv[optind - 1]);
            return MOEM_EXIT_USAGE;
        default:
            moem_cli_error("experiment synthetic", "unknown option '%s' (--help)", argv[optind - 1]);
            return MOEM_EXIT_USAGE;
        }
        if (bad) { moem_cli_error("experiment synthetic", "invalid value '%s' for --%s", optarg, opts[li].name); return 2; }
    }
    if (optind < argc) { moem_cli_error("experiment synthetic", "unexpected argument '%s'", argv[optind]); return 2; }
    if (moem_cli_isa_ok("experiment synthetic")) return MOEM_EXIT_USAGE;
    const char *const *outputs;
    size_t nout = moem_synthetic_outputs(plot, &outputs);
    if (moem_cli_check_dir_outputs("experiment synthetic", dir, outputs, nout)) return MOEM_EXIT_FAIL;
    if (threads) moem_set_threads((int)threads);
    cfg.iters = (int)iters;
    if (isatty(2)) cfg.log = progress;

    char err[600];
    if (moem_mkdir_p(dir, err, sizeof err)) { moem_cli_error("experiment synthetic", "%s", err); return MOEM_EXIT_FAIL; }
    moem_synthetic_result r;
    int rc = moem_experiment_synthetic(&cfg, &r, err, sizeof err);
    if (cfg.log) fputc('\n', stderr);
    if (rc) {
        moem_cli_error("experiment synthetic", "%s", err);
        moem_synthetic_result_free(&r);
        return MOEM_EXIT_FAIL;
    }

    static const int at[] = {0, 1, 5, 10, 25, 50, 100};
    static const char *qname[MOEM_SYN_QUANTITIES] = {"L - L*  (L* = objective at the true parameters)",
                                                     "|beta - beta*| / |beta*|", "|w - w*| / |w*|"};
    size_t T1 = (size_t)iters + 1;
    printf("moem experiment synthetic: SymMoLinE, N = %zu, d = %zu, %zu instances, %ld iterations, isa %s, %s\n",
           cfg.n, cfg.d, cfg.instances, iters, moem_isa_name(), cfg.f32 ? "f32" : "f64");
    printf("start: relative distance %g from the truth; step sizes (grid search, %zu tuning instance%s): "
           "GD lr = %g; Gradient EM lr_gate = %g, lr_expert = %g\n", cfg.radius, cfg.tune, cfg.tune == 1 ? "" : "s",
           r.lr_gd, r.lr_gem_gate, r.lr_gem);
    for (int q = 0; q < MOEM_SYN_QUANTITIES; q++) {
        printf("\n%s, mean (sd) over instances\n%5s", qname[q], "iter");
        for (int mth = 0; mth < MOEM_EXP_METHODS; mth++) printf("  %-24s", moem_exp_method_name(mth));
        printf("\n");
        for (size_t a = 0; a < sizeof at / sizeof at[0]; a++) {
            if ((size_t)at[a] >= T1) break;
            printf("%5d", at[a]);
            for (int mth = 0; mth < MOEM_EXP_METHODS; mth++) {
                size_t o = ((size_t)mth * T1 + (size_t)at[a]) * MOEM_SYN_QUANTITIES + (size_t)q;
                printf("  %11.3e (%9.2e)  ", r.mean[o], r.sd[o]);
            }
            printf("\n");
        }
    }
    printf("\ntime: grid search %.2f s, runs %.2f s\n", r.seconds_grid, r.seconds_runs);
    rc = MOEM_EXIT_OK;
    if (moem_synthetic_write(dir, &r, plot, err, sizeof err)) {
        moem_cli_error("experiment synthetic", "%s", err);
        rc = MOEM_EXIT_FAIL;
    } else {
        printf("wrote %s/runs.csv, %s/summary.csv%s\n", dir, dir, plot ? ", figure1.{png,svg}, figure2.{png,svg}" : "");
    }
    moem_synthetic_result_free(&r);
    return rc;
}
