/* The paper's "Random Invert FMNIST" experiment (Table 2, Figure 3): a 2-component mixture of
 * softmax experts with a linear gate on Fashion-MNIST, a random half of the images inverted;
 * EM, Gradient EM and gradient descent from the same data and start; test accuracy and
 * cross-entropy of the mixture predictive after every iteration. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base.h"
#include "exp_common.h"
#include "fmnist.h"
#include "internal.h"
#include "output.h"
#include "rng.h"

#define NMETH MOEM_EXP_METHODS
#define K_EXPERTS 2

static const char *const meth_key[NMETH] = {"em", "gem", "gd"};
static const moem_algo meth_algo[NMETH] = {MOEM_ALGO_EM, MOEM_ALGO_GEM, MOEM_ALGO_GD};
static const double paper_acc[NMETH] = {78.5, 66.0, 62.4}, paper_ce[NMETH] = {0.827, 1.29, 1.30};
/* step-size grid (GD: lr; Gradient EM: gate and expert steps, searched one block at a time) */
static const double grid[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5};
#define NGRID (sizeof grid / sizeof grid[0])

void moem_fmnist_config_default(moem_fmnist_config *c)
{
    *c = (moem_fmnist_config){.instances = 25, .iters = 100, .inner = 5, .newton_max = 50,
                              .newton_tol = 1e-10, .invert_fraction = 0.5,
                              .fmnist_dir = MOEM_FMNIST_DIR, .seed = 1, .plots = 1};
}

size_t moem_fmnist_grid(const double **steps)
{
    *steps = grid;
    return NGRID;
}

size_t moem_fmnist_outputs(int plots, const char *const **names)
{
    static const char *const out[] = {"fmnist.csv", "fmnist-mean.csv", "fmnist-grid.csv", "fmnist-table.md",
                                      "fmnist-figure3.gp", "fmnist-figure3.png", "fmnist-figure3.svg"};
    *names = out;
    return plots ? 7 : 4;
}

/* The run's settings after the defaults are resolved, and its counts. */
typedef struct opts {
    moem_fmnist_config c;
    const char *out;
    size_t diverged[NMETH];       /* runs whose objective became non-finite */
    size_t rises;                 /* EM iterations whose training objective rose */
} opts;

/* per-run record: objective, test accuracy, test cross-entropy, seconds for t = 0..iters */
typedef struct run_ctx {
    const moem_data *test;
    double *obj, *acc, *ce, *sec;
    /* progress */
    const char *label;
    size_t inst, ninst;
    int iters;
    double t_start, *sec_per_iter;   /* mean seconds per iteration per method, 0 = unknown */
    int meth;
    double remaining_iters[NMETH];
    moem_exp_log log;
    void *log_ctx;
} run_ctx;

/* Test accuracy (%) and cross-entropy of the mixture predictive p(c|x) = sum_k pi_k
 * softmax_c(B_k x), through moem_score (the E-step's passes, every thread); NAN when memory
 * runs out. */
static void test_metrics(const moem_data *te, const moem_model *m, double *acc, double *ce)
{
    moem_scores s;
    if (moem_score(te, m, 0, &s, NULL, 0)) { *acc = *ce = NAN; return; }
    *acc = 100.0 * s.accuracy;
    *ce = s.cross_entropy;
}

static int on_iter(void *vctx, int t, const moem_model *m, double objective, double seconds)
{
    run_ctx *c = vctx;
    c->obj[t] = objective;
    c->sec[t] = seconds;
    test_metrics(c->test, m, &c->acc[t], &c->ce[t]);
    if (t > 0 && c->sec_per_iter) {
        c->sec_per_iter[c->meth] = seconds / t;
        c->remaining_iters[c->meth] -= 1;
    }
    if (c->sec_per_iter) {
        double rem = 0.0, known = 0.0;
        for (int k = 0; k < NMETH; k++) if (c->sec_per_iter[k] > known) known = c->sec_per_iter[k];
        for (int k = 0; k < NMETH; k++)
            rem += c->remaining_iters[k] * (c->sec_per_iter[k] > 0 ? c->sec_per_iter[k] : known);
        moem_exp_logf(c->log, c->log_ctx, "instance %zu/%zu %-11s iter %3d/%d  objective %.6f  test acc %.2f %%"
                "  test CE %.4f  elapsed %.0f s  remaining ~%.0f s", c->inst + 1, c->ninst,
                c->label, t, c->iters, objective, c->acc[t], c->ce[t], moem_now() - c->t_start, rem);
        if (c->meth == 0 && t > 0 && objective > c->obj[t - 1] + 1e-12 * fabs(c->obj[t - 1]))
            moem_exp_logf(c->log, c->log_ctx, "instance %zu EM: the objective ROSE at iteration %d (%.6f -> %.6f)",
                          c->inst + 1, t, c->obj[t - 1], objective);
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
    moem_rng_seed(&r, o->c.seed * 1000003ULL + inst);
    if (dtr->Xf) {            /* float32 from the last instance: the transform writes doubles */
        free(dtr->Xf);
        dtr->Xf = NULL;
        if (!(dtr->X = moem_alloc_doubles(dtr->n * dtr->d))) return -1;
    }
    if (moem_images_random_invert(tr, o->c.invert_fraction, &r, dtr, NULL)) return -1;
    if (moem_images_random_invert(te, o->c.invert_fraction, &r, dte, NULL)) return -1;
    if (o->c.f32 && moem_data_to_f32(dtr, NULL, 0)) return -1;   /* pixels in [0, 1]: memory only */
    return init_model(m0, &r);
}

static void set_params(moem_params *p, const opts *o, int meth, double lr, double lr_gate, int iters)
{
    moem_params_default(p);
    p->algo = meth_algo[meth];
    p->iters = iters;
    p->threads = o->c.threads;
    p->lr = lr;
    p->lr_gate = lr_gate;
    if (meth == 0) {
        p->inner_steps = o->c.inner;
        p->inner_lr = o->c.inner_lr;
        p->newton_max = o->c.newton_max;
        p->newton_tol = o->c.newton_tol;
        p->ridge = o->c.ridge;
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
    set_params(&p, o, meth, lr, lr_gate, o->c.grid_iters);
    p.on_iter = NULL;
    int rc = moem_fit(dtr, &m, &p, &tr, err, sizeof err);
    double L = rc == 0 && tr.iters == o->c.grid_iters ? tr.objective[tr.iters] : INFINITY;
    if (!isfinite(L) || L > tr.objective[0]) L = INFINITY;
    moem_trace_free(&tr);
    moem_model_free(&m);
    return L;
}

static double grid_best(const moem_data *dtr, const moem_model *m0, const opts *o, int meth,
                        double fixed, int gate, moem_sbuf *log, double *bestL)
{
    double best = NAN;
    *bestL = INFINITY;
    for (size_t g = 0; g < NGRID; g++) {
        double lr = gate ? fixed : grid[g], lrg = meth == 2 ? grid[g] : gate ? grid[g] : fixed;
        double L = grid_run(dtr, m0, o, meth, lr, lrg);
        moem_exp_logf(o->c.log, o->c.ctx, "grid %-11s lr_gate %-6g lr_experts %-6g -> objective %.6f after %d iterations",
                      moem_exp_method_name(meth), lrg, lr, L, o->c.grid_iters);
        moem_sb_printf(log, "%s,%.17g,%.17g,%.17g\n", meth_key[meth], lrg, lr, L);
        if (L < *bestL) { *bestL = L; best = grid[g]; }
    }
    return best;
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
                         size_t ntr, size_t nte, double wall_all, double wall_runs, moem_sbuf *tab,
                         char *err, size_t errlen)
{
    moem_sbuf csv = {0}, mean = {0};
    moem_sb_printf(&csv, "method,instance,iter,objective,test_accuracy,test_cross_entropy,seconds\n");
    for (size_t inst = 0; inst < done; inst++)
        for (int k = 0; k < NMETH; k++) {
            const double *r = rec + (inst * NMETH + (size_t)k) * 4 * T1;
            for (size_t t = 0; t < T1; t++)
                moem_sb_printf(&csv, "%s,%zu,%zu,%.17g,%.6f,%.17g,%.6f\n", meth_key[k], inst + 1, t, r[t],
                          r[T1 + t], r[2 * T1 + t], r[3 * T1 + t]);
        }
    moem_sb_printf(&mean, "method_index,iter,objective,objective_sd,test_accuracy,test_accuracy_sd,"
                     "test_cross_entropy,test_cross_entropy_sd,method\n");
    double fin[NMETH][4];
    for (int k = 0; k < NMETH; k++)
        for (size_t t = 0; t < T1; t++) {
            double mv[3], sd[3];
            for (int q = 0; q < 3; q++)
                moem_exp_mean_sd(rec + (size_t)k * 4 * T1 + (size_t)q * T1 + t, done, NMETH * 4 * T1, &mv[q], &sd[q]);
            moem_sb_printf(&mean, "%d,%zu,%.10g,%.4g,%.4f,%.4f,%.6f,%.6f,%s\n", k, t, mv[0], sd[0], mv[1],
                      sd[1], mv[2], sd[2], meth_key[k]);
            if (t == T1 - 1) { fin[k][0] = mv[1]; fin[k][1] = sd[1]; fin[k][2] = mv[2]; fin[k][3] = sd[2]; }
        }
    moem_sb_printf(tab, "| method | test accuracy (%%) | test cross-entropy | paper accuracy (%%) | paper cross-entropy |\n"
                   "|---|---|---|---|---|\n");
    for (int k = 0; k < NMETH; k++)
        moem_sb_printf(tab, "| %s | %.1f +- %.1f | %.3f +- %.3f | %.1f | %.3f |\n", moem_exp_method_name(k), fin[k][0],
                  fin[k][1], fin[k][2], fin[k][3], paper_acc[k], paper_ce[k]);
    moem_sb_printf(tab, "\nAfter %d iterations, mean +- sd over %zu instances%s; %zu training / %zu test images, "
                   "invert fraction %g, seed %llu; EM: %s; step sizes: GD %g, Gradient EM gate %g / experts %g; "
                   "wall time %.0f s (%.0f s of it loading the data and the step-size search; kernels %s, %s).\n", o->c.iters, done,
              done < o->c.instances ? " (run in progress)" : "", ntr, nte, o->c.invert_fraction, o->c.seed,
              o->c.inner ? "inner gradient steps" : "Newton M-steps", o->c.lr_gd, o->c.lr_gem_gate,
              o->c.lr_gem, wall_all, wall_all - wall_runs, moem_isa_name(), o->c.f32 ? "f32" : "f64");
    for (int k = 0; k < NMETH; k++)
        if (o->diverged[k]) moem_sb_printf(tab, "%s diverged in %zu instances (their metrics are NaN).\n",
                                      moem_exp_method_name(k), o->diverged[k]);
    if (o->rises)
        moem_sb_printf(tab, "EM's training objective ROSE in %zu iterations (a descent method should not: "
                       "see the README on --inner-lr).\n", o->rises);
    if (o->c.inner && o->c.inner_lr > 0)
        moem_sb_printf(tab, "EM inner steps: %d, first trial step %g, backtracking.\n", o->c.inner, o->c.inner_lr);
    else if (o->c.inner) moem_sb_printf(tab, "EM inner steps: %d, automatic step, backtracking.\n", o->c.inner);
    else moem_sb_printf(tab, "EM Newton steps per sub-problem: at most %d, decrement tolerance %g.\n",
                   o->c.newton_max, o->c.newton_tol);
    if (o->c.ridge > 0) moem_sb_printf(tab, "EM M-steps with ridge %g.\n", o->c.ridge);
    int rc = -1;
    if (csv.oom || mean.oom || tab->oom) MOEM_ERR(err, errlen, "out of memory");
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
    moem_sbuf gp = {0};
    for (int f = 0; f < 2; f++) {
        moem_sb_printf(&gp, "set terminal %s\nset output '%s/.fmnist-figure3.%s.tmp'\n", term[f][0], dir, term[f][1]);
        moem_sb_printf(&gp, "set datafile separator ','\nset key autotitle columnhead\nset grid\n"
                       "set multiplot layout 1,3 title 'Random Invert FMNIST: 2-component MoLogE, mean +- sd over instances'\n");
        static const char *const ttl[3] = {"training objective", "test accuracy (%)", "test cross-entropy"};
        for (int q = 0; q < 3; q++) {
            int col = 3 + 2 * q;
            moem_sb_printf(&gp, "set xlabel 'iteration'\nset title '%s'\nset key %s right\n", ttl[q],
                      q == 1 ? "bottom" : "top");
            moem_sb_printf(&gp, "plot ");
            for (int k = 0; k < NMETH; k++)
                moem_sb_printf(&gp, "%s'%s/fmnist-mean.csv' using 2:($1==%d?$%d:1/0):%d with yerrorlines "
                          "title '%s' lc %d pt 7 ps 0.3", k ? ", " : "", dir, k, col, col + 1,
                          moem_exp_method_name(k), k + 1);
            moem_sb_printf(&gp, "\n");
        }
        moem_sb_printf(&gp, "unset multiplot\nset output\n");
    }
    static const char *const figures[] = {"fmnist-figure3.png", "fmnist-figure3.svg"};
    int rc = -1;
    if (gp.oom) MOEM_ERR(err, errlen, "out of memory");
    else rc = moem_exp_gnuplot(dir, "fmnist-figure3.gp", gp.s, figures, 2, err, errlen);
    free(gp.s);
    return rc;
}

int moem_experiment_fmnist(const moem_fmnist_config *cfg, const char *dir, char **table, char *err,
                           size_t errlen)
{
    opts o = {.c = *cfg, .out = dir};
    *table = NULL;
    if (o.c.instances < 1 || o.c.iters < 0 || o.c.grid_iters < 0 || o.c.inner < 0 || o.c.newton_max < 1 ||
        !(o.c.newton_tol >= 0) || !(o.c.ridge >= 0) || !(o.c.inner_lr >= 0) || o.c.threads < 0 ||
        !(o.c.invert_fraction >= 0 && o.c.invert_fraction <= 1) || !o.c.fmnist_dir || !dir) {
        MOEM_ERR(err, errlen, "fmnist experiment: a setting is out of range (instances >= 1, iters >= 0, "
                              "newton_max >= 1, invert_fraction in [0, 1], tolerances and steps >= 0)");
        return -1;
    }
    if (o.c.grid_iters == 0) o.c.grid_iters = o.c.iters > 0 ? o.c.iters : 1;
    int given_gem = o.c.lr_gem > 0 && o.c.lr_gem_gate > 0;
    if (!(o.c.lr_gd > 0)) o.c.lr_gd = -1;                 /* -1: found by the grid search */
    if (!given_gem) o.c.lr_gem = o.c.lr_gem_gate = -1;

    int rc = -1;
    double t_all = moem_now();
    moem_images itr = {0}, ite = {0};
    moem_data dtr = {0}, dte = {0};
    moem_model m0 = {0}, m = {0};
    size_t n_runs = o.c.instances * NMETH, T1 = (size_t)o.c.iters + 1;
    double *rec = NULL;
    moem_sbuf tab = {0}, gridtxt = {0};

    if (moem_fmnist_read(o.c.fmnist_dir, 0, o.c.train_subset, &itr, err, errlen) ||
        moem_fmnist_read(o.c.fmnist_dir, 1, o.c.test_subset, &ite, err, errlen))
        goto out;
    if (itr.pixels != ite.pixels) {
        MOEM_ERR(err, errlen, "training images have %zu pixels, test images %zu", itr.pixels, ite.pixels);
        goto out;
    }
    size_t d = itr.pixels + 1, C = MOEM_FMNIST_CLASSES;
    if (moem_data_alloc(&dtr, itr.n, d, err, errlen) || moem_data_alloc(&dte, ite.n, d, err, errlen) ||
        moem_model_alloc(&m0, MOEM_SOFTMAX, 0, K_EXPERTS, d, C, err, errlen))
        goto out;
    if (moem_mkdir_p(dir, err, errlen)) goto out;
    rec = moem_alloc_doubles(n_runs * 4 * T1);
    if (!rec) { MOEM_ERR(err, errlen, "out of memory"); goto out; }
    for (size_t i = 0; i < n_runs * 4 * T1; i++) rec[i] = NAN;
    moem_exp_logf(o.c.log, o.c.ctx, "%zu training and %zu test images, d = %zu, kernels %s, %s, %zu instances x %d iterations",
                  itr.n, ite.n, d, moem_isa_name(), o.c.f32 ? "f32" : "f64", o.c.instances, o.c.iters);

    /* step sizes: the grid search on instance 1 */
    if (setup_instance(&o, 0, &itr, &ite, &dtr, &dte, &m0)) { MOEM_ERR(err, errlen, "out of memory"); goto out; }
    moem_sb_printf(&gridtxt, "method,lr_gate,lr_experts,objective_after_grid_iters\n");
    double L;
    if (o.c.lr_gd < 0) o.c.lr_gd = grid_best(&dtr, &m0, &o, 2, 0, 0, &gridtxt, &L);
    if (o.c.lr_gem < 0) {
        o.c.lr_gem_gate = grid_best(&dtr, &m0, &o, 1, o.c.lr_gd, 1, &gridtxt, &L);
        o.c.lr_gem = grid_best(&dtr, &m0, &o, 1, o.c.lr_gem_gate, 0, &gridtxt, &L);
    }
    if (!(o.c.lr_gd > 0) || !(o.c.lr_gem > 0) || !(o.c.lr_gem_gate > 0)) {
        MOEM_ERR(err, errlen, "every step size of the grid diverged");
        goto out;
    }
    moem_exp_logf(o.c.log, o.c.ctx, "step sizes: GD %g; Gradient EM gate %g, experts %g; EM %s", o.c.lr_gd,
                  o.c.lr_gem_gate, o.c.lr_gem, o.c.inner ? "inner gradient steps" : "exact (Newton) M-steps");

    double spi[NMETH] = {0};
    run_ctx ctx = {.test = &dte, .ninst = o.c.instances, .iters = o.c.iters,
                   .t_start = moem_now(), .sec_per_iter = spi, .log = o.c.log, .log_ctx = o.c.ctx};
    for (int k = 0; k < NMETH; k++) ctx.remaining_iters[k] = (double)o.c.instances * o.c.iters;
    for (size_t inst = 0; inst < o.c.instances; inst++) {
        if (inst > 0 && setup_instance(&o, inst, &itr, &ite, &dtr, &dte, &m0)) {
            MOEM_ERR(err, errlen, "out of memory");
            goto out;
        }
        for (int k = 0; k < NMETH; k++) {
            moem_params p;
            moem_trace tr;
            char why[400];
            double *r = rec + (inst * NMETH + (size_t)k) * 4 * T1;
            set_params(&p, &o, k, k == 2 ? o.c.lr_gd : k == 1 ? o.c.lr_gem : 1.0,
                       k == 2 ? o.c.lr_gd : k == 1 ? o.c.lr_gem_gate : 0.0, o.c.iters);
            ctx.obj = r; ctx.acc = r + T1; ctx.ce = r + 2 * T1; ctx.sec = r + 3 * T1;
            ctx.label = moem_exp_method_name(k); ctx.inst = inst; ctx.meth = k;
            p.on_iter = on_iter;
            p.ctx = &ctx;
            if (moem_model_copy(&m, &m0, err, errlen)) goto out;
            if (moem_fit(&dtr, &m, &p, &tr, why, sizeof why)) {
                if (!strstr(why, "non-finite")) {
                    MOEM_ERR(err, errlen, "instance %zu, %s: %s", inst + 1, moem_exp_method_name(k), why);
                    moem_trace_free(&tr);
                    goto out;
                }
                /* a diverged run stays in the record (NaN from there on) and is counted */
                moem_exp_logf(o.c.log, o.c.ctx, "instance %zu, %s diverged: %s", inst + 1, moem_exp_method_name(k), why);
                o.diverged[k]++;
            }
            if (k == 0) o.rises += (size_t)tr.rises;
            moem_trace_free(&tr);
            moem_model_free(&m);
        }
        if (inst + 1 < o.c.instances) {      /* partial results, in case the run is cut short */
            moem_sbuf part = {0};
            int bad = write_outputs(&o, inst + 1, rec, T1, gridtxt.s, itr.n, ite.n, moem_now() - t_all,
                                    moem_now() - ctx.t_start, &part, err, errlen);
            free(part.s);
            if (bad) goto out;
        }
    }
    if (write_outputs(&o, o.c.instances, rec, T1, gridtxt.s, itr.n, ite.n, moem_now() - t_all,
                      moem_now() - ctx.t_start, &tab, err, errlen))
        goto out;
    if (o.c.plots && make_plots(dir, err, errlen)) goto out;
    *table = tab.s;
    tab.s = NULL;
    rc = 0;
out:
    free(tab.s);
    free(gridtxt.s);
    free(rec);
    moem_model_free(&m0);
    moem_model_free(&m);
    moem_data_free(&dtr);
    moem_data_free(&dte);
    moem_images_free(&itr);
    moem_images_free(&ite);
    return rc;
}
