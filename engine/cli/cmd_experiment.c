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
#include "csv.h"
#include "internal.h"
#include "moem.h"
#include "rng.h"
#include "synth.h"

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

enum { M_EM, M_GEM, M_GD, NMETH };
static const char *meth_name[NMETH] = {"EM", "Gradient EM", "GD"};
static const char *meth_key[NMETH] = {"em", "gem", "gd"};
enum { Q_GAP, Q_BETA, Q_W, NQ };

typedef struct recorder {
    const moem_model *truth;
    double Lstar, bnorm, wnorm;
    double *out;          /* (iters + 1) x NQ */
} recorder;

static double dist(const double *a, const double *b, size_t d)
{
    double s = 0.0;
    for (size_t i = 0; i < d; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
    return sqrt(s);
}

static int record(void *ctx, int t, const moem_model *m, double L, double secs)
{
    recorder *r = ctx;
    (void)secs;
    size_t d = m->d;
    r->out[t * NQ + Q_GAP] = L - r->Lstar;
    r->out[t * NQ + Q_BETA] = dist(m->B, r->truth->B, d) / r->bnorm;
    r->out[t * NQ + Q_W] = dist(m->W, r->truth->W, d) / r->wnorm;
    return 0;
}

typedef struct instance {
    moem_data data;
    moem_model truth, init;
    double Lstar;
} instance;

static void instance_free(instance *in)
{
    moem_data_free(&in->data);
    moem_model_free(&in->truth);
    moem_model_free(&in->init);
}

/* truth with ||beta*|| = ||w*|| = 4, N(0,1) noise, and a start at relative distance
 * `radius` from the truth in a uniformly random direction (separately for w and beta) */
static int instance_make(instance *in, size_t n, size_t d, double radius, unsigned long long seed,
                         int f32, char *err, size_t errlen)
{
    moem_rng r;
    memset(in, 0, sizeof *in);
    moem_rng_seed(&r, seed);
    if (moem_synth_truth(&in->truth, MOEM_LINEAR, 1, 2, d, 1, 4.0, 4.0, &r, err, errlen)) return -1;
    if (moem_synth_sample(&in->truth, n, &r, &in->data, err, errlen)) return -1;
    if (moem_model_copy(&in->init, &in->truth, err, errlen)) return -1;
    double *u = malloc(d * sizeof(double));
    if (!u) { snprintf(err, errlen, "out of memory"); return -1; }
    double *targets[2] = {in->init.W, in->init.B};
    for (int b = 0; b < 2; b++) {
        double un = 0.0, tn = 0.0;
        for (size_t c = 0; c < d; c++) { u[c] = moem_rng_normal(&r); un += u[c] * u[c]; tn += targets[b][c] * targets[b][c]; }
        double s = radius * sqrt(tn) / sqrt(un);
        for (size_t c = 0; c < d; c++) targets[b][c] += s * u[c];
    }
    for (size_t c = 0; c < d; c++) in->init.B[d + c] = -in->init.B[c];
    free(u);
    if (f32 && moem_data_to_f32(&in->data, err, errlen)) return -1;
    in->Lstar = moem_objective(&in->data, &in->truth);
    return 0;
}

static double norm(const double *a, size_t d) { double s = 0; for (size_t i = 0; i < d; i++) s += a[i] * a[i]; return sqrt(s); }

/* Run one method from the instance's start; out: (iters+1) x NQ, or NULL. Returns L_T (NAN if
 * the run failed or diverged); *area, when given, receives the mean of L_t over t = 1..T (the
 * grid search's criterion: it rewards reaching a low objective early). */
static double run_method(const instance *in, int meth, int iters, double lr, double lr_gate, double *out,
                         double *area)
{
    moem_model m;
    moem_params p;
    moem_trace tr;
    char err[256];
    double LT = NAN;
    if (moem_model_copy(&m, &in->init, err, sizeof err)) return NAN;
    moem_params_default(&p);
    p.algo = meth == M_EM ? MOEM_ALGO_EM : meth == M_GEM ? MOEM_ALGO_GEM : MOEM_ALGO_GD;
    p.iters = iters;
    p.lr = lr;
    p.lr_gate = lr_gate;
    recorder rec = {&in->truth, in->Lstar, norm(in->truth.B, in->truth.d), norm(in->truth.W, in->truth.d), out};
    if (out) { p.on_iter = record; p.ctx = &rec; }
    if (moem_fit(&in->data, &m, &p, &tr, err, sizeof err) == 0) {
        LT = tr.objective[tr.iters];
        if (area) {
            double s = 0;
            for (int t = 1; t <= tr.iters; t++) s += tr.objective[t];
            *area = tr.iters ? s / tr.iters : LT;
        }
    } else if (area) {
        *area = NAN;
    }
    moem_trace_free(&tr);
    moem_model_free(&m);
    return LT;
}

static const double grid[] = {0.25, 0.5, 1, 2, 4, 8, 16};
#define NGRID (sizeof grid / sizeof grid[0])

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

static int write_plots(const char *dir, char *err, size_t errlen)
{
    if (strchr(dir, '\'') || strchr(dir, '\\')) { snprintf(err, errlen, "%s: quotes in the output path", dir); return -1; }
    char gp[4200];
    snprintf(gp, sizeof gp, "%s/figures.gp", dir);
    moem_atomic_file o;
    if (moem_atomic_open(&o, gp, err, errlen)) return -1;
    fprintf(o.f,
        "# Figures 1-2 of the paper from summary.csv (gnuplot figures.gp)\n"
        "set datafile separator ','\n"
        "set grid\nset xlabel 'iteration'\n"
        "meth(m) = m == 0 ? 'EM' : m == 1 ? 'Gradient EM' : 'GD'\n");
    static const char *term[2][2] = {{"pngcairo size 1200,420", "png"}, {"svg size 1200,420", "svg"}};
    for (int t = 0; t < 2; t++)
        fprintf(o.f,
            "set terminal %s\n"
            "set output '%s/figure1.%s.tmp'\n"
            "set multiplot layout 1,2 title 'SymMoLinE: objective (mean over instances)'\n"
            "set logscale y\nset format y '10^{%%L}'\n"
            "set ylabel 'L(theta_t) - L(theta_T), theta_T: best point reached'\n"
            "plot for [m=0:2] '%s/summary.csv' using 2:($1==m ? $9 : 1/0) every ::1 with linespoints title meth(m)\n"
            "unset logscale y\nset format y '%%g'\n"
            "set ylabel 'L(theta_t) - L(theta*)'\n"
            "plot for [m=0:2] '%s/summary.csv' using 2:($1==m ? $3 : 1/0) every ::1 with linespoints title meth(m)\n"
            "unset multiplot\n"
            "set output '%s/figure2.%s.tmp'\n"
            "set multiplot layout 1,2 title 'SymMoLinE: parameter error (mean over instances)'\n"
            "set logscale y\nset format y '10^{%%L}'\n"
            "set ylabel '|beta_t - beta*| / |beta*|'\n"
            "plot for [m=0:2] '%s/summary.csv' using 2:($1==m ? $5 : 1/0) every ::1 with linespoints title meth(m)\n"
            "set ylabel '|w_t - w*| / |w*|'\n"
            "plot for [m=0:2] '%s/summary.csv' using 2:($1==m ? $7 : 1/0) every ::1 with linespoints title meth(m)\n"
            "unset multiplot\nunset logscale y\nset format y '%%g'\nunset output\n",
            term[t][0], dir, term[t][1], dir, dir, dir, term[t][1], dir, dir);
    if (moem_atomic_commit(&o, err, errlen)) return -1;
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "gnuplot '%s' 2>'%s/gnuplot.log'", gp, dir);
    int rc = system(cmd);
    if (rc != 0) {
        snprintf(err, errlen, "gnuplot failed (exit %d; is gnuplot installed? see %s/gnuplot.log)", rc, dir);
        return -1;
    }
    const char *names[] = {"figure1.png", "figure1.svg", "figure2.png", "figure2.svg"};
    for (int i = 0; i < 4; i++) {
        char from[4200], to[4200];
        snprintf(from, sizeof from, "%s/%s.tmp", dir, names[i]);
        snprintf(to, sizeof to, "%s/%s", dir, names[i]);
        if (moem_output_place(from, to, err, errlen)) return -1;
    }
    remove(strcat(strcpy(cmd, dir), "/gnuplot.log"));
    return 0;
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
    size_t instances = 50, n = 1000, d = 10, tune = 5;
    long iters = 100, threads = 0;
    double radius = 0.5, gd_lr = 0, gem_lr = 0, gem_lr_gate = 0;
    unsigned long long seed = 1;
    const char *dir = "out/synthetic";
    int plot = 1, c, f32 = 0;
    int li = 0;
    if (moem_cli_exact_options("experiment synthetic", argc, argv, opts)) return MOEM_EXIT_USAGE;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, &li)) != -1) {
        int bad = 0;
        switch (c) {
        case 'I': bad = moem_cli_parse_size(optarg, 1, 1000000, &instances); break;
        case 'T': bad = moem_cli_parse_int(optarg, 0, 1000000, &iters); break;
        case 'n': bad = moem_cli_parse_size(optarg, 2, (size_t)1 << 40, &n); break;
        case 'd': bad = moem_cli_parse_size(optarg, 1, 100000, &d); break;
        case 'r': bad = moem_cli_parse_double(optarg, &radius) || radius < 0; break;
        case 'u': bad = moem_cli_parse_size(optarg, 1, 1000, &tune); break;
        case 'g': bad = moem_cli_parse_double(optarg, &gd_lr) || !(gd_lr > 0); break;
        case 'e': {
            char buf[128], *comma;
            snprintf(buf, sizeof buf, "%s", optarg);
            bad = !(comma = strchr(buf, ','));
            if (!bad) {
                *comma = 0;
                bad = moem_cli_parse_double(buf, &gem_lr_gate) || moem_cli_parse_double(comma + 1, &gem_lr) ||
                      !(gem_lr_gate > 0) || !(gem_lr > 0);
            }
            break;
        }
        case 's': bad = moem_cli_parse_u64(optarg, &seed); break;
        case 't': bad = moem_cli_parse_int(optarg, 1, 4096, &threads); break;
        case 'o': dir = optarg; break;
        case 'P': plot = 0; break;
        case 'p': bad = moem_cli_parse_precision(optarg, &f32); break;
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
    static const char *const outputs[] = {"runs.csv", "summary.csv", "figures.gp", "figure1.png", "figure1.svg",
                                          "figure2.png", "figure2.svg"};
    if (moem_cli_check_dir_outputs("experiment synthetic", dir, outputs, plot ? 7 : 2)) return MOEM_EXIT_FAIL;
    if (threads) moem_set_threads((int)threads);

    char err[600];
    int tty = isatty(2), rc = 1;
    size_t T = (size_t)iters, stride = (T + 1) * NQ;
    double *res = calloc((size_t)NMETH * instances * stride, sizeof(double));
    double *best = calloc(instances, sizeof(double));
    if (!res || !best) { moem_cli_error("experiment synthetic", "out of memory"); free(res); free(best); return 1; }
    if (moem_mkdir_p(dir, err, sizeof err)) { moem_cli_error("experiment synthetic", "%s", err); goto out; }

    /* step sizes: grid search on separate tuning instances; criterion: the objective averaged
     * over the run's iterations and the tuning instances (a run that diverges is out). The best
     * values found so far are kept negated until the search ends. */
    double t0 = moem_now();
    if (!(gd_lr > 0) || !(gem_lr > 0)) {
        double bestgd = INFINITY, bestgem = INFINITY;
        instance *tin = calloc(tune, sizeof *tin);
        if (!tin) { moem_cli_error("experiment synthetic", "out of memory"); goto out; }
        for (size_t i = 0; i < tune; i++)
            if (instance_make(&tin[i], n, d, radius, seed ^ 0x5eed7a11u ^ (i * 0x9E3779B97F4A7C15ull), f32, err, sizeof err)) {
                moem_cli_error("experiment synthetic", "%s", err);
                for (size_t j = 0; j <= i; j++) instance_free(&tin[j]);
                free(tin);
                goto out;
            }
        for (size_t a = 0; a < NGRID; a++) {
            for (size_t b = 0; b < NGRID; b++) {
                double sgd = 0, sgem = 0, area;
                for (size_t i = 0; i < tune; i++) {
                    if (b == 0 && !(gd_lr > 0)) { run_method(&tin[i], M_GD, (int)T, grid[a], grid[a], NULL, &area); sgd += area; }
                    if (!(gem_lr > 0)) { run_method(&tin[i], M_GEM, (int)T, grid[b], grid[a], NULL, &area); sgem += area; }
                }
                if (!isfinite(sgd)) sgd = INFINITY;      /* a diverged run rules the step out */
                if (!isfinite(sgem)) sgem = INFINITY;
                if (b == 0 && !(gd_lr > 0) && sgd < bestgd) { bestgd = sgd; gd_lr = -grid[a]; }
                if (!(gem_lr > 0) && sgem < bestgem) { bestgem = sgem; gem_lr_gate = -grid[a]; gem_lr = -grid[b]; }
            }
            if (tty) fprintf(stderr, "\rmoem experiment synthetic: step-size grid %zu/%zu", a + 1, NGRID);
        }
        if (tty) fputc('\n', stderr);
        for (size_t i = 0; i < tune; i++) instance_free(&tin[i]);
        free(tin);
        if (gd_lr < 0) gd_lr = -gd_lr;
        if (gem_lr < 0) { gem_lr = -gem_lr; gem_lr_gate = -gem_lr_gate; }
        if (!(gd_lr > 0) || !(gem_lr > 0)) { moem_cli_error("experiment synthetic", "every step size of the grid diverged"); goto out; }
    }
    double tgrid = moem_now() - t0;

    for (size_t i = 0; i < instances; i++) {
        instance in;
        if (instance_make(&in, n, d, radius, seed * 0x100000001B3ull + i, f32, err, sizeof err)) {
            moem_cli_error("experiment synthetic", "instance %zu: %s", i + 1, err);
            instance_free(&in);
            goto out;
        }
        double lr[NMETH] = {1, gem_lr, gd_lr}, lrg[NMETH] = {1, gem_lr_gate, gd_lr};
        best[i] = INFINITY;
        for (int mth = 0; mth < NMETH; mth++) {
            double *o = res + ((size_t)mth * instances + i) * stride;
            double LT = run_method(&in, mth, (int)T, lr[mth], lrg[mth], o, NULL);
            if (!isfinite(LT)) {
                moem_cli_error("experiment synthetic", "instance %zu: %s failed or diverged", i + 1, meth_name[mth]);
                instance_free(&in);
                goto out;
            }
            for (size_t t = 0; t <= T; t++) if (o[t * NQ + Q_GAP] < best[i]) best[i] = o[t * NQ + Q_GAP];
        }
        instance_free(&in);
        if (tty) fprintf(stderr, "\rmoem experiment synthetic: instance %zu/%zu", i + 1, instances);
    }
    if (tty) fputc('\n', stderr);
    double trun = moem_now() - t0 - tgrid;

    /* table */
    static const int at[] = {0, 1, 5, 10, 25, 50, 100};
    static const char *qname[NQ] = {"L - L*  (L* = objective at the true parameters)",
                                    "|beta - beta*| / |beta*|", "|w - w*| / |w*|"};
    printf("moem experiment synthetic: SymMoLinE, N = %zu, d = %zu, %zu instances, %ld iterations, isa %s, %s\n",
           n, d, instances, iters, moem_isa_name(), f32 ? "f32" : "f64");
    printf("start: relative distance %g from the truth; step sizes (grid search, %zu tuning instance%s): "
           "GD lr = %g; Gradient EM lr_gate = %g, lr_expert = %g\n", radius, tune, tune == 1 ? "" : "s", gd_lr,
           gem_lr_gate, gem_lr);
    for (int q = 0; q < NQ; q++) {
        printf("\n%s, mean (sd) over instances\n%5s", qname[q], "iter");
        for (int mth = 0; mth < NMETH; mth++) printf("  %-24s", meth_name[mth]);
        printf("\n");
        for (size_t a = 0; a < sizeof at / sizeof at[0]; a++) {
            if ((size_t)at[a] > T) break;
            printf("%5d", at[a]);
            for (int mth = 0; mth < NMETH; mth++) {
                double mean, sd;
                moem_cli_mean_sd(res + (size_t)mth * instances * stride + at[a] * NQ + q, instances, stride, &mean, &sd);
                printf("  %11.3e (%9.2e)  ", mean, sd);
            }
            printf("\n");
        }
    }
    printf("\ntime: grid search %.2f s, runs %.2f s\n", tgrid, trun);

    /* CSV files */
    char path[4200];
    moem_atomic_file o;
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    if (moem_atomic_open(&o, path, err, sizeof err)) { moem_cli_error("experiment synthetic", "%s", err); goto out; }
    fprintf(o.f, "method,instance,iter,objective_gap,beta_rel_err,w_rel_err\n");
    for (int mth = 0; mth < NMETH; mth++)
        for (size_t i = 0; i < instances; i++)
            for (size_t t = 0; t <= T; t++) {
                const double *v = res + ((size_t)mth * instances + i) * stride + t * NQ;
                fprintf(o.f, "%s,%zu,%zu,%.17g,%.17g,%.17g\n", meth_key[mth], i + 1, t, v[0], v[1], v[2]);
            }
    if (moem_atomic_commit(&o, err, sizeof err)) { moem_cli_error("experiment synthetic", "%s", err); goto out; }
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    if (moem_atomic_open(&o, path, err, sizeof err)) { moem_cli_error("experiment synthetic", "%s", err); goto out; }
    fprintf(o.f, "method,iter,gap_mean,gap_sd,beta_err_mean,beta_err_sd,w_err_mean,w_err_sd,gap_to_best_mean\n");
    for (int mth = 0; mth < NMETH; mth++)
        for (size_t t = 0; t <= T; t++) {
            const double *base = res + (size_t)mth * instances * stride + t * NQ;
            double ms[NQ][2], tb = 0;
            for (int q = 0; q < NQ; q++) moem_cli_mean_sd(base + q, instances, stride, &ms[q][0], &ms[q][1]);
            for (size_t i = 0; i < instances; i++) tb += base[i * stride + Q_GAP] - best[i];
            tb /= (double)instances;
            fprintf(o.f, "%d,%zu,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", mth, t, ms[0][0], ms[0][1],
                    ms[1][0], ms[1][1], ms[2][0], ms[2][1], tb > 1e-16 ? tb : 1e-16);
        }
    if (moem_atomic_commit(&o, err, sizeof err)) { moem_cli_error("experiment synthetic", "%s", err); goto out; }
    if (plot && write_plots(dir, err, sizeof err)) { moem_cli_error("experiment synthetic", "%s", err); goto out; }
    printf("wrote %s/runs.csv, %s/summary.csv%s\n", dir, dir, plot ? ", figure1.{png,svg}, figure2.{png,svg}" : "");
    rc = 0;
out:
    free(res);
    free(best);
    return rc;
}
