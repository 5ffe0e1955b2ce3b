/* moem experiment fmnist: the paper's "Random Invert FMNIST" experiment (Table 2, Figure 3).
 * A 2-component mixture of softmax experts with a linear gate on Fashion-MNIST, a random half of
 * the images inverted; EM, Gradient EM and gradient descent from the same data and start;
 * test accuracy and cross-entropy of the mixture predictive after every iteration. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "fmnist.h"
#include "internal.h"
#include "rng.h"

#define CMD "fmnist"
#define NMETH 3
#define K_EXPERTS 2

static const char *const meth_name[NMETH] = {"EM", "Gradient EM", "GD"};
static const char *const meth_key[NMETH] = {"em", "gem", "gd"};
static const moem_algo meth_algo[NMETH] = {MOEM_ALGO_EM, MOEM_ALGO_GEM, MOEM_ALGO_GD};
static const double paper_acc[NMETH] = {78.5, 66.0, 62.4}, paper_ce[NMETH] = {0.827, 1.29, 1.30};
/* step-size grid (GD: lr; Gradient EM: gate and expert steps, searched one block at a time) */
static const double grid[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5};
#define NGRID (sizeof grid / sizeof grid[0])

typedef struct opts {
    size_t instances, train_subset, test_subset;
    int iters, grid_iters, inner, threads, plots, newton_max, f32;
    double invert_fraction, inner_lr, lr_gd, lr_gem, lr_gem_gate, newton_tol, ridge;
    unsigned long long seed;
    const char *dir, *out;
    size_t diverged[NMETH];       /* runs whose objective became non-finite */
    size_t rises;                 /* EM iterations whose training objective rose */
} opts;

/* per-run record: objective, test accuracy, test cross-entropy, seconds for t = 0..iters */
typedef struct run_ctx {
    const moem_data *test;
    double *Z;                 /* test scores, test->n x (K + K*C) */
    double *obj, *acc, *ce, *sec;
    /* progress */
    const char *label;
    size_t inst, ninst;
    int iters;
    double t_start, *sec_per_iter;   /* mean seconds per iteration per method, 0 = unknown */
    int meth;
    double remaining_iters[NMETH];
} run_ctx;

/* accuracy and cross-entropy of p(y|x) = sum_k pi_k(x) softmax(B_k x)_y, in log space */
/* Test accuracy and cross-entropy of the mixture predictive p(c|x) = sum_k pi_k softmax_c(B_k x).
 * The cross-entropy is the objective L on the test set: one pass through the kernels on all
 * threads, which also gives the gate probabilities and expert scores for the accuracy.
 * Z: scratch of test->n x (K + K*C) doubles. */
static void test_metrics(const moem_data *te, const moem_model *m, double *Z, double *acc,
                         double *ce)
{
    size_t n = te->n, K = m->K, C = m->C;
    double *PI = Z, *S = Z + n * K;
    double L = moem_pass(te, m, NULL, PI, S);
    long right = 0, nn = (long)n;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) reduction(+ : right) if (n > 2000)
#endif
    for (long i = 0; i < nn; i++) {
        const double *pi = PI + (size_t)i * K, *s = S + (size_t)i * K * C;
        double lse_e[K_EXPERTS], best = -INFINITY;
        size_t arg = 0;
        for (size_t k = 0; k < K; k++) {
            const double *e = s + k * C;
            double mx = -INFINITY, t = 0.0;
            for (size_t c = 0; c < C; c++) if (e[c] > mx) mx = e[c];
            for (size_t c = 0; c < C; c++) t += exp(e[c] - mx);
            lse_e[k] = mx + log(t);
        }
        for (size_t c = 0; c < C; c++) {
            double p = 0.0;
            for (size_t k = 0; k < K; k++) p += pi[k] * exp(s[k * C + c] - lse_e[k]);
            if (p > best) { best = p; arg = c; }
        }
        right += arg == (size_t)te->y[i];
    }
    *acc = 100.0 * (double)right / (double)n;
    *ce = L;
}

static int on_iter(void *vctx, int t, const moem_model *m, double objective, double seconds)
{
    run_ctx *c = vctx;
    c->obj[t] = objective;
    c->sec[t] = seconds;
    test_metrics(c->test, m, c->Z, &c->acc[t], &c->ce[t]);
    if (t > 0 && c->sec_per_iter) {
        c->sec_per_iter[c->meth] = seconds / t;
        c->remaining_iters[c->meth] -= 1;
    }
    if (c->sec_per_iter) {
        double rem = 0.0, known = 0.0;
        for (int k = 0; k < NMETH; k++) if (c->sec_per_iter[k] > known) known = c->sec_per_iter[k];
        for (int k = 0; k < NMETH; k++)
            rem += c->remaining_iters[k] * (c->sec_per_iter[k] > 0 ? c->sec_per_iter[k] : known);
        fprintf(stderr, "%s: instance %zu/%zu %-11s iter %3d/%d  objective %.6f  test acc %.2f %%"
                "  test CE %.4f  elapsed %.0f s  remaining ~%.0f s\n", CMD, c->inst + 1, c->ninst,
                c->label, t, c->iters, objective, c->acc[t], c->ce[t], moem_now() - c->t_start, rem);
        if (c->meth == 0 && t > 0 && objective > c->obj[t - 1] + 1e-12 * fabs(c->obj[t - 1]))
            fprintf(stderr, "%s: instance %zu EM: the objective ROSE at iteration %d (%.6f -> %.6f)\n",
                    CMD, c->inst + 1, t, c->obj[t - 1], objective);
    }
    return 0;
}

/* the model of the paper: gate rows w1, w2 and every expert row of unit norm; the gate is
 * stored as (w1 - w2, 0), the same softmax */
static int init_model(moem_model *m, moem_rng *r)
{
    size_t d = m->d;
    double *W2 = moem_alloc_doubles(d);
    if (!W2) return -1;
    for (size_t k = 0; k < K_EXPERTS + K_EXPERTS * m->C; k++) {
        double *v = k == 0 ? m->W : k == 1 ? W2 : m->B + (k - 2) * d;
        double s = 0.0;
        for (size_t c = 0; c < d; c++) { v[c] = moem_rng_normal(r); s += v[c] * v[c]; }
        s = 1.0 / sqrt(s);
        for (size_t c = 0; c < d; c++) v[c] *= s;
    }
    for (size_t c = 0; c < d; c++) { m->W[c] -= W2[c]; m->W[d + c] = 0.0; }
    free(W2);
    return 0;
}

/* instance i: its inversion draws (train, test) and its start; -1 only when memory runs out
 * (the sizes were set up to agree) */
static int setup_instance(const opts *o, size_t inst, const moem_images *tr, const moem_images *te,
                          moem_data *dtr, moem_data *dte, moem_model *m0)
{
    moem_rng r;
    moem_rng_seed(&r, o->seed * 1000003ULL + inst);
    if (dtr->Xf) {            /* float32 from the last instance: the transform writes doubles */
        free(dtr->Xf);
        dtr->Xf = NULL;
        if (!(dtr->X = moem_alloc_doubles(dtr->n * dtr->d))) return -1;
    }
    if (moem_images_random_invert(tr, o->invert_fraction, &r, dtr, NULL)) return -1;
    if (moem_images_random_invert(te, o->invert_fraction, &r, dte, NULL)) return -1;
    if (o->f32 && moem_data_to_f32(dtr, NULL, 0)) return -1;   /* pixels in [0, 1]: memory only */
    return init_model(m0, &r);
}

static void set_params(moem_params *p, const opts *o, int meth, double lr, double lr_gate, int iters)
{
    moem_params_default(p);
    p->algo = meth_algo[meth];
    p->iters = iters;
    p->threads = o->threads;
    p->lr = lr;
    p->lr_gate = lr_gate;
    if (meth == 0) {
        p->inner_steps = o->inner;
        p->inner_lr = o->inner_lr;
        p->newton_max = o->newton_max;
        p->newton_tol = o->newton_tol;
        p->ridge = o->ridge;
        /* exact M-steps stop at 1 % of the decrease achieved (README, "Choices the paper leaves
         * open"): the experts' weighted problems are nearly separable */
        p->newton_rtol = 1e-2;
    }
}

/* one quiet run from m0 for the grid: the final training objective (INFINITY if it diverged) */
static double grid_run(const moem_data *dtr, const moem_model *m0, const opts *o, int meth,
                       double lr, double lr_gate)
{
    moem_model m;
    moem_params p;
    moem_trace tr;
    char err[256];
    if (moem_model_copy(&m, m0, err, sizeof err)) return NAN;
    set_params(&p, o, meth, lr, lr_gate, o->grid_iters);
    p.on_iter = NULL;
    int rc = moem_fit(dtr, &m, &p, &tr, err, sizeof err);
    double L = rc == 0 && tr.iters == o->grid_iters ? tr.objective[tr.iters] : INFINITY;
    if (!isfinite(L) || L > tr.objective[0]) L = INFINITY;
    moem_trace_free(&tr);
    moem_model_free(&m);
    return L;
}

static double grid_best(const moem_data *dtr, const moem_model *m0, const opts *o, int meth,
                        double fixed, int gate, FILE *log, double *bestL)
{
    double best = NAN;
    *bestL = INFINITY;
    for (size_t g = 0; g < NGRID; g++) {
        double lr = gate ? fixed : grid[g], lrg = meth == 2 ? grid[g] : gate ? grid[g] : fixed;
        double L = grid_run(dtr, m0, o, meth, lr, lrg);
        fprintf(stderr, "%s: grid %-11s lr_gate %-6g lr_experts %-6g -> objective %.6f after %d iterations\n",
                CMD, meth_name[meth], lrg, lr, L, o->grid_iters);
        if (log) fprintf(log, "%s,%.17g,%.17g,%.17g\n", meth_key[meth], lrg, lr, L);
        if (L < *bestL) { *bestL = L; best = grid[g]; }
    }
    return best;
}

static int write_file_atomic(const char *dir, const char *name, const char *text, char *err,
                             size_t errlen);

/* text buffer */
typedef struct sbuf { char *s; size_t len, cap; int oom; } sbuf;
static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) { b->oom = 1; return; }
        if (b->s && b->len + (size_t)n < b->cap) { b->len += (size_t)n; return; }
        size_t nc = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
        char *p = realloc(b->s, nc);
        if (!p) { b->oom = 1; return; }
        b->s = p;
        b->cap = nc;
    }
}

static int write_file_atomic(const char *dir, const char *name, const char *text, char *err,
                             size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return moem_write_text(path, text, err, errlen);
}

/* fmnist.csv, fmnist-mean.csv, fmnist-grid.csv and fmnist-table.md over the first `done`
 * instances; the table text is left in tab */
static int write_outputs(const opts *o, size_t done, const double *rec, size_t T1, const char *gridtxt,
                         size_t ntr, size_t nte, double wall_all, double wall_runs, sbuf *tab,
                         char *err, size_t errlen)
{
    sbuf csv = {0}, mean = {0};
    sb_printf(&csv, "method,instance,iter,objective,test_accuracy,test_cross_entropy,seconds\n");
    for (size_t inst = 0; inst < done; inst++)
        for (int k = 0; k < NMETH; k++) {
            const double *r = rec + (inst * NMETH + (size_t)k) * 4 * T1;
            for (size_t t = 0; t < T1; t++)
                sb_printf(&csv, "%s,%zu,%zu,%.17g,%.6f,%.17g,%.6f\n", meth_key[k], inst + 1, t, r[t],
                          r[T1 + t], r[2 * T1 + t], r[3 * T1 + t]);
        }
    sb_printf(&mean, "method_index,iter,objective,objective_sd,test_accuracy,test_accuracy_sd,"
                     "test_cross_entropy,test_cross_entropy_sd,method\n");
    double fin[NMETH][4];
    for (int k = 0; k < NMETH; k++)
        for (size_t t = 0; t < T1; t++) {
            double mv[3], sd[3];
            for (int q = 0; q < 3; q++)
                moem_cli_mean_sd(rec + (size_t)k * 4 * T1 + (size_t)q * T1 + t, done, NMETH * 4 * T1, &mv[q], &sd[q]);
            sb_printf(&mean, "%d,%zu,%.10g,%.4g,%.4f,%.4f,%.6f,%.6f,%s\n", k, t, mv[0], sd[0], mv[1],
                      sd[1], mv[2], sd[2], meth_key[k]);
            if (t == T1 - 1) { fin[k][0] = mv[1]; fin[k][1] = sd[1]; fin[k][2] = mv[2]; fin[k][3] = sd[2]; }
        }
    sb_printf(tab, "| method | test accuracy (%%) | test cross-entropy | paper accuracy (%%) | paper cross-entropy |\n"
                   "|---|---|---|---|---|\n");
    for (int k = 0; k < NMETH; k++)
        sb_printf(tab, "| %s | %.1f +- %.1f | %.3f +- %.3f | %.1f | %.3f |\n", meth_name[k], fin[k][0],
                  fin[k][1], fin[k][2], fin[k][3], paper_acc[k], paper_ce[k]);
    sb_printf(tab, "\nAfter %d iterations, mean +- sd over %zu instances%s; %zu training / %zu test images, "
                   "invert fraction %g, seed %llu; EM: %s; step sizes: GD %g, Gradient EM gate %g / experts %g; "
                   "wall time %.0f s (%.0f s of it loading the data and the step-size search; kernels %s, %s).\n", o->iters, done,
              done < o->instances ? " (run in progress)" : "", ntr, nte, o->invert_fraction, o->seed,
              o->inner ? "inner gradient steps" : "Newton M-steps", o->lr_gd, o->lr_gem_gate,
              o->lr_gem, wall_all, wall_all - wall_runs, moem_isa_name(), o->f32 ? "f32" : "f64");
    for (int k = 0; k < NMETH; k++)
        if (o->diverged[k]) sb_printf(tab, "%s diverged in %zu instances (their metrics are NaN).\n",
                                      meth_name[k], o->diverged[k]);
    if (o->rises)
        sb_printf(tab, "EM's training objective ROSE in %zu iterations (a descent method should not: "
                       "see the README on --inner-lr).\n", o->rises);
    if (o->inner && o->inner_lr > 0)
        sb_printf(tab, "EM inner steps: %d, first trial step %g, backtracking.\n", o->inner, o->inner_lr);
    else if (o->inner) sb_printf(tab, "EM inner steps: %d, automatic step, backtracking.\n", o->inner);
    else sb_printf(tab, "EM Newton steps per sub-problem: at most %d, decrement tolerance %g.\n",
                   o->newton_max, o->newton_tol);
    if (o->ridge > 0) sb_printf(tab, "EM M-steps with ridge %g.\n", o->ridge);
    int rc = -1;
    if (csv.oom || mean.oom || tab->oom) snprintf(err, errlen, "out of memory");
    else if (!write_file_atomic(o->out, "fmnist.csv", csv.s, err, errlen) &&
             !write_file_atomic(o->out, "fmnist-mean.csv", mean.s, err, errlen) &&
             !write_file_atomic(o->out, "fmnist-grid.csv", gridtxt ? gridtxt : "", err, errlen) &&
             !write_file_atomic(o->out, "fmnist-table.md", tab->s, err, errlen))
        rc = 0;
    free(csv.s);
    free(mean.s);
    return rc;
}

/* gnuplot: Figure 3 (objective, test accuracy, test cross-entropy against the iteration,
 * mean over the instances with +- one standard deviation), PNG and SVG */
static int make_plots(const char *dir, char *err, size_t errlen)
{
    static const char *const term[2][2] = {{"png size 1500,450", "png"}, {"svg size 1500,450", "svg"}};
    sbuf gp = {0};
    for (int f = 0; f < 2; f++) {
        sb_printf(&gp, "set terminal %s\nset output '%s/.fmnist-figure3.%s.tmp'\n", term[f][0], dir, term[f][1]);
        sb_printf(&gp, "set datafile separator ','\nset key autotitle columnhead\nset grid\n"
                       "set multiplot layout 1,3 title 'Random Invert FMNIST: 2-component MoLogE, mean +- sd over instances'\n");
        static const char *const ttl[3] = {"training objective", "test accuracy (%)", "test cross-entropy"};
        for (int q = 0; q < 3; q++) {
            int col = 3 + 2 * q;
            sb_printf(&gp, "set xlabel 'iteration'\nset title '%s'\nset key %s right\n", ttl[q],
                      q == 1 ? "bottom" : "top");
            sb_printf(&gp, "plot ");
            for (int k = 0; k < NMETH; k++)
                sb_printf(&gp, "%s'%s/fmnist-mean.csv' using 2:($1==%d?$%d:1/0):%d with yerrorlines "
                          "title '%s' lc %d pt 7 ps 0.3", k ? ", " : "", dir, k, col, col + 1,
                          meth_name[k], k + 1);
            sb_printf(&gp, "\n");
        }
        sb_printf(&gp, "unset multiplot\nset output\n");
    }
    if (gp.oom) { snprintf(err, errlen, "out of memory"); free(gp.s); return -1; }
    int rc = write_file_atomic(dir, "fmnist-figure3.gp", gp.s, err, errlen);
    free(gp.s);
    if (rc) return -1;
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "gnuplot '%s/fmnist-figure3.gp' 2>&1", dir);
    if (system(cmd) != 0) {
        snprintf(err, errlen, "gnuplot failed on %.400s/fmnist-figure3.gp", dir);
        return -1;
    }
    for (int f = 0; f < 2; f++) {
        char a[4200], b[4200];
        snprintf(a, sizeof a, "%s/.fmnist-figure3.%s.tmp", dir, term[f][1]);
        snprintf(b, sizeof b, "%s/fmnist-figure3.%s", dir, term[f][1]);
        if (moem_output_place(a, b, err, errlen)) return -1;
    }
    return 0;
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
    for (size_t g = 0; g < NGRID; g++) fprintf(f, " %g", grid[g]);
    fprintf(f, "; the search runs on instance 1 and keeps the\n"
               "step with the lowest training objective after --grid-iters iterations (Gradient EM:\n"
               "the gate step with the expert step fixed at GD's best, then the expert step).\n");
}

int moem_cmd_experiment_fmnist(int argc, char **argv)
{
    opts o = {.instances = 25, .iters = 100, .grid_iters = -1, .inner = 5, .threads = 0,
              .plots = 1, .newton_max = 50, .newton_tol = 1e-10, .invert_fraction = 0.5,
              .inner_lr = 0, .lr_gd = -1, .lr_gem = -1, .lr_gem_gate = -1, .seed = 1,
              .dir = MOEM_FMNIST_DIR, .out = "fmnist-out"};
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
        case 'D': o.dir = a; break;
        case 's': if (moem_cli_parse_u64(a, &o.seed)) goto badval; break;
        case 'j': if (moem_cli_parse_int(a, 1, 1024, &v)) goto badval; o.threads = (int)v; break;
        case 'o': o.out = a; break;
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
    if (o.grid_iters < 0) o.grid_iters = o.iters > 0 ? o.iters : 1;
    if (moem_cli_isa_ok(CMD)) return MOEM_EXIT_USAGE;
    static const char *const outputs[] = {"fmnist.csv", "fmnist-mean.csv", "fmnist-grid.csv", "fmnist-table.md",
                                          "fmnist-figure3.gp", "fmnist-figure3.png", "fmnist-figure3.svg"};
    if (moem_cli_check_dir_outputs(CMD, o.out, outputs, o.plots ? 7 : 4)) return MOEM_EXIT_FAIL;

    char err[512];
    int rc = 1;
    double t_all = moem_now();
    moem_images itr = {0}, ite = {0};
    moem_data dtr = {0}, dte = {0};
    moem_model m0 = {0}, m = {0};
    size_t n_runs = o.instances * NMETH, T1 = (size_t)o.iters + 1;
    double *rec = NULL, *Z = NULL;
    FILE *glog = NULL;
    sbuf tab = {0}, gridtxt = {0};

    if (moem_fmnist_read(o.dir, 0, o.train_subset, &itr, err, sizeof err) ||
        moem_fmnist_read(o.dir, 1, o.test_subset, &ite, err, sizeof err)) {
        moem_cli_error(CMD, "%s", err);
        goto out;
    }
    if (itr.pixels != ite.pixels) {
        moem_cli_error(CMD, "training images have %zu pixels, test images %zu", itr.pixels, ite.pixels);
        goto out;
    }
    size_t d = itr.pixels + 1, C = MOEM_FMNIST_CLASSES, mt = K_EXPERTS + K_EXPERTS * C;
    if (moem_data_alloc(&dtr, itr.n, d, err, sizeof err) || moem_data_alloc(&dte, ite.n, d, err, sizeof err) ||
        moem_model_alloc(&m0, MOEM_SOFTMAX, 0, K_EXPERTS, d, C, err, sizeof err)) {
        moem_cli_error(CMD, "%s", err);
        goto out;
    }
    if (moem_mkdir_p(o.out, err, sizeof err)) { moem_cli_error(CMD, "%s", err); goto out; }
    rec = moem_alloc_doubles(n_runs * 4 * T1);
    Z = moem_alloc_doubles(ite.n * mt);
    if (!rec || !Z) { moem_cli_error(CMD, "out of memory"); goto out; }
    for (size_t i = 0; i < n_runs * 4 * T1; i++) rec[i] = NAN;
    fprintf(stderr, "%s: %zu training and %zu test images, d = %zu, kernels %s, %s, %zu instances x %d iterations\n",
            CMD, itr.n, ite.n, d, moem_isa_name(), o.f32 ? "f32" : "f64", o.instances, o.iters);

    /* step sizes: the grid search on instance 1 */
    if (setup_instance(&o, 0, &itr, &ite, &dtr, &dte, &m0)) { moem_cli_error(CMD, "out of memory"); goto out; }
    sb_printf(&gridtxt, "method,lr_gate,lr_experts,objective_after_grid_iters\n");
    {
        double L;
        char *buf = NULL;
        size_t blen = 0;
        glog = open_memstream(&buf, &blen);
        if (o.lr_gd < 0) o.lr_gd = grid_best(&dtr, &m0, &o, 2, 0, 0, glog, &L);
        if (o.lr_gem < 0) {
            o.lr_gem_gate = grid_best(&dtr, &m0, &o, 1, o.lr_gd, 1, glog, &L);
            o.lr_gem = grid_best(&dtr, &m0, &o, 1, o.lr_gem_gate, 0, glog, &L);
        }
        if (glog) { fclose(glog); glog = NULL; if (buf) sb_printf(&gridtxt, "%s", buf); free(buf); }
        if (!(o.lr_gd > 0) || !(o.lr_gem > 0) || !(o.lr_gem_gate > 0)) {
            moem_cli_error(CMD, "every step size of the grid diverged");
            goto out;
        }
    }
    fprintf(stderr, "%s: step sizes: GD %g; Gradient EM gate %g, experts %g; EM %s\n", CMD, o.lr_gd,
            o.lr_gem_gate, o.lr_gem, o.inner ? "inner gradient steps" : "exact (Newton) M-steps");

    double spi[NMETH] = {0};
    run_ctx ctx = {.test = &dte, .Z = Z, .ninst = o.instances, .iters = o.iters,
                   .t_start = moem_now(), .sec_per_iter = spi};
    for (int k = 0; k < NMETH; k++) ctx.remaining_iters[k] = (double)o.instances * o.iters;
    for (size_t inst = 0; inst < o.instances; inst++) {
        if (inst > 0 && setup_instance(&o, inst, &itr, &ite, &dtr, &dte, &m0)) {
            moem_cli_error(CMD, "out of memory");
            goto out;
        }
        for (int k = 0; k < NMETH; k++) {
            moem_params p;
            moem_trace tr;
            double *r = rec + (inst * NMETH + (size_t)k) * 4 * T1;
            set_params(&p, &o, k, k == 2 ? o.lr_gd : k == 1 ? o.lr_gem : 1.0,
                       k == 2 ? o.lr_gd : k == 1 ? o.lr_gem_gate : 0.0, o.iters);
            ctx.obj = r; ctx.acc = r + T1; ctx.ce = r + 2 * T1; ctx.sec = r + 3 * T1;
            ctx.label = meth_name[k]; ctx.inst = inst; ctx.meth = k;
            p.on_iter = on_iter;
            p.ctx = &ctx;
            if (moem_model_copy(&m, &m0, err, sizeof err)) { moem_cli_error(CMD, "%s", err); goto out; }
            if (moem_fit(&dtr, &m, &p, &tr, err, sizeof err)) {
                if (!strstr(err, "non-finite")) {
                    moem_cli_error(CMD, "instance %zu, %s: %s", inst + 1, meth_name[k], err);
                    moem_trace_free(&tr);
                    goto out;
                }
                /* a diverged run stays in the record (NaN from there on) and is counted */
                fprintf(stderr, "%s: instance %zu, %s diverged: %s\n", CMD, inst + 1, meth_name[k], err);
                o.diverged[k]++;
            }
            if (k == 0) o.rises += (size_t)tr.rises;
            moem_trace_free(&tr);
            moem_model_free(&m);
        }
        if (inst + 1 < o.instances) {      /* partial results, in case the run is cut short */
            sbuf part = {0};
            int bad = write_outputs(&o, inst + 1, rec, T1, gridtxt.s, itr.n, ite.n, moem_now() - t_all,
                                    moem_now() - ctx.t_start, &part, err, sizeof err);
            free(part.s);
            if (bad) { moem_cli_error(CMD, "%s", err); goto out; }
        }
    }
    if (write_outputs(&o, o.instances, rec, T1, gridtxt.s, itr.n, ite.n, moem_now() - t_all,
                      moem_now() - ctx.t_start, &tab, err, sizeof err)) {
        moem_cli_error(CMD, "%s", err);
        goto out;
    }
    fputs(tab.s, stdout);
    if (o.plots && make_plots(o.out, err, sizeof err)) { moem_cli_error(CMD, "%s", err); goto out; }
    rc = 0;
out:
    if (glog) fclose(glog);
    free(tab.s); free(gridtxt.s);
    free(rec); free(Z);
    moem_model_free(&m0);
    moem_model_free(&m);
    moem_data_free(&dtr);
    moem_data_free(&dte);
    moem_images_free(&itr);
    moem_images_free(&ite);
    return rc;
}
