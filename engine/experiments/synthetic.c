/* The synthetic SymMoLinE experiment (docs/MATH.md section 6, the paper's Figures 1-2): truth
 * with ||beta*|| = ||w*|| = 4, x ~ N(0, I), N(0, 1) noise; EM, Gradient EM and GD from a start
 * at a given relative distance from the truth; every instance re-draws truth, data and start. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base.h"
#include "exp_common.h"
#include "output.h"
#include "rng.h"
#include "synth.h"

#define NQ MOEM_SYN_QUANTITIES
static const char *const meth_key[MOEM_EXP_METHODS] = {"em", "gem", "gd"};
static const double grid[] = {0.25, 0.5, 1, 2, 4, 8, 16};
#define NGRID (sizeof grid / sizeof grid[0])

void moem_synthetic_config_default(moem_synthetic_config *c)
{
    *c = (moem_synthetic_config){.instances = 50, .iters = 100, .n = 1000, .d = 10, .radius = 0.5,
                                 .tune = 5, .seed = 1};
}

size_t moem_synthetic_outputs(int plots, const char *const **names)
{
    static const char *const out[] = {"runs.csv", "summary.csv", "figures.gp", "figure1.png",
                                      "figure1.svg", "figure2.png", "figure2.svg"};
    *names = out;
    return plots ? 7 : 2;
}

void moem_synthetic_result_free(moem_synthetic_result *r)
{
    free(r->value);
    free(r->mean);
    free(r->sd);
    free(r->gap_to_best);
    memset(r, 0, sizeof *r);
}

typedef struct recorder {
    const moem_model *truth;
    double Lstar, bnorm, wnorm;
    double *out;          /* (iters + 1) x NQ */
} recorder;

static double norm(const double *a, size_t d)
{
    double s = 0.0;
    for (size_t i = 0; i < d; i++) s += a[i] * a[i];
    return sqrt(s);
}

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
    r->out[t * NQ + MOEM_SYN_GAP] = L - r->Lstar;
    r->out[t * NQ + MOEM_SYN_BETA] = dist(m->B, r->truth->B, d) / r->bnorm;
    r->out[t * NQ + MOEM_SYN_W] = dist(m->W, r->truth->W, d) / r->wnorm;
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
    if (!u) { MOEM_ERR(err, errlen, "out of memory"); return -1; }
    double *targets[2] = {in->init.W, in->init.B};
    for (int b = 0; b < 2; b++) {
        double un = 0.0, tn = 0.0;
        for (size_t c = 0; c < d; c++) {
            u[c] = moem_rng_normal(&r);
            un += u[c] * u[c];
            tn += targets[b][c] * targets[b][c];
        }
        double s = radius * sqrt(tn) / sqrt(un);
        for (size_t c = 0; c < d; c++) targets[b][c] += s * u[c];
    }
    for (size_t c = 0; c < d; c++) in->init.B[d + c] = -in->init.B[c];
    free(u);
    if (f32 && moem_data_to_f32(&in->data, err, errlen)) return -1;
    in->Lstar = moem_objective(&in->data, &in->truth);
    return 0;
}

/* Runs one method from the instance's start; out: (iters+1) x NQ, or NULL. Returns L_T (NAN if
 * the run failed or diverged); *area, when given, receives the mean of L_t over t = 1..T (the
 * grid search's criterion: it rewards reaching a low objective early). */
static double run_method(const instance *in, int meth, int iters, double lr, double lr_gate,
                         double *out, double *area)
{
    moem_model m;
    moem_params p;
    moem_trace tr;
    char err[256];
    double LT = NAN;
    if (moem_model_copy(&m, &in->init, err, sizeof err)) return NAN;
    moem_params_default(&p);
    p.algo = meth == MOEM_EXP_EM ? MOEM_ALGO_EM : meth == MOEM_EXP_GEM ? MOEM_ALGO_GEM : MOEM_ALGO_GD;
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

/* Step sizes: a grid search on separate tuning instances; criterion: the objective averaged
 * over the run's iterations and the tuning instances (a run that diverges is out). The best
 * values found so far are kept negated until the search ends. */
static int grid_search(const moem_synthetic_config *c, moem_synthetic_result *r, char *err, size_t errlen)
{
    double gd_lr = r->lr_gd, gem_lr = r->lr_gem, gem_lr_gate = r->lr_gem_gate;
    double bestgd = INFINITY, bestgem = INFINITY;
    instance *tin = calloc(c->tune, sizeof *tin);
    if (!tin) { MOEM_ERR(err, errlen, "out of memory"); return -1; }
    int rc = -1;
    for (size_t i = 0; i < c->tune; i++)
        if (instance_make(&tin[i], c->n, c->d, c->radius, c->seed ^ 0x5eed7a11u ^ (i * 0x9E3779B97F4A7C15ull),
                          c->f32, err, errlen))
            goto out;
    for (size_t a = 0; a < NGRID; a++) {
        for (size_t b = 0; b < NGRID; b++) {
            double sgd = 0, sgem = 0, area;
            for (size_t i = 0; i < c->tune; i++) {
                if (b == 0 && !(gd_lr > 0)) {
                    run_method(&tin[i], MOEM_EXP_GD, c->iters, grid[a], grid[a], NULL, &area);
                    sgd += area;
                }
                if (!(gem_lr > 0)) {
                    run_method(&tin[i], MOEM_EXP_GEM, c->iters, grid[b], grid[a], NULL, &area);
                    sgem += area;
                }
            }
            if (!isfinite(sgd)) sgd = INFINITY;      /* a diverged run rules the step out */
            if (!isfinite(sgem)) sgem = INFINITY;
            if (b == 0 && !(gd_lr > 0) && sgd < bestgd) { bestgd = sgd; gd_lr = -grid[a]; }
            if (!(gem_lr > 0) && sgem < bestgem) { bestgem = sgem; gem_lr_gate = -grid[a]; gem_lr = -grid[b]; }
        }
        moem_exp_logf(c->log, c->ctx, "step-size grid %zu/%zu", a + 1, NGRID);
    }
    if (gd_lr < 0) gd_lr = -gd_lr;
    if (gem_lr < 0) { gem_lr = -gem_lr; gem_lr_gate = -gem_lr_gate; }
    if (!(gd_lr > 0) || !(gem_lr > 0)) { MOEM_ERR(err, errlen, "every step size of the grid diverged"); goto out; }
    r->lr_gd = gd_lr;
    r->lr_gem = gem_lr;
    r->lr_gem_gate = gem_lr_gate;
    rc = 0;
out:
    for (size_t i = 0; i < c->tune; i++) instance_free(&tin[i]);
    free(tin);
    return rc;
}

/* means, sds and the gap to each instance's best point; best: per instance */
static void summarise(moem_synthetic_result *r, const double *best)
{
    size_t I = r->instances, T1 = (size_t)r->iters + 1, stride = T1 * NQ;
    for (int mth = 0; mth < MOEM_EXP_METHODS; mth++)
        for (size_t t = 0; t < T1; t++) {
            const double *base = r->value + (size_t)mth * I * stride + t * NQ;
            size_t o = ((size_t)mth * T1 + t) * NQ;
            for (int q = 0; q < NQ; q++) moem_exp_mean_sd(base + q, I, stride, &r->mean[o + q], &r->sd[o + q]);
            double tb = 0.0;
            for (size_t i = 0; i < I; i++) tb += base[i * stride + MOEM_SYN_GAP] - best[i];
            tb /= (double)I;
            r->gap_to_best[(size_t)mth * T1 + t] = tb > 1e-16 ? tb : 1e-16;
        }
}

int moem_experiment_synthetic(const moem_synthetic_config *c, moem_synthetic_result *r, char *err,
                              size_t errlen)
{
    memset(r, 0, sizeof *r);
    if (c->instances < 1 || c->iters < 0 || c->n < 2 || c->d < 1 || !(c->radius >= 0) || c->tune < 1) {
        MOEM_ERR(err, errlen, "synthetic experiment: needs instances >= 1, iters >= 0, n >= 2, d >= 1, "
                              "radius >= 0, tune >= 1");
        return -1;
    }
    size_t I = c->instances, T1 = (size_t)c->iters + 1, stride = T1 * NQ, nv, nm;
    r->instances = I;
    r->iters = c->iters;
    r->lr_gd = c->lr_gd > 0 ? c->lr_gd : 0;
    int given_gem = c->lr_gem > 0 && c->lr_gem_gate > 0;
    r->lr_gem = given_gem ? c->lr_gem : 0;
    r->lr_gem_gate = given_gem ? c->lr_gem_gate : 0;
    double *best = NULL;
    if (!moem_mul_size(MOEM_EXP_METHODS * I, stride, &nv) || !moem_mul_size(MOEM_EXP_METHODS, stride, &nm) ||
        !(r->value = calloc(nv, sizeof(double))) || !(r->mean = calloc(nm, sizeof(double))) ||
        !(r->sd = calloc(nm, sizeof(double))) || !(r->gap_to_best = calloc(MOEM_EXP_METHODS * T1, sizeof(double))) ||
        !(best = calloc(I, sizeof(double)))) {
        MOEM_ERR(err, errlen, "out of memory for the results of %zu instances x %zu iterations", I, T1);
        return -1;
    }
    int rc = -1;
    double t0 = moem_now();
    if ((!(r->lr_gd > 0) || !given_gem) && grid_search(c, r, err, errlen)) goto out;
    r->seconds_grid = moem_now() - t0;

    for (size_t i = 0; i < I; i++) {
        instance in;
        char why[400];
        if (instance_make(&in, c->n, c->d, c->radius, c->seed * 0x100000001B3ull + i, c->f32, why, sizeof why)) {
            MOEM_ERR(err, errlen, "instance %zu: %s", i + 1, why);
            instance_free(&in);
            goto out;
        }
        double lr[MOEM_EXP_METHODS] = {1, r->lr_gem, r->lr_gd}, lrg[MOEM_EXP_METHODS] = {1, r->lr_gem_gate, r->lr_gd};
        best[i] = INFINITY;
        for (int mth = 0; mth < MOEM_EXP_METHODS; mth++) {
            double *o = r->value + ((size_t)mth * I + i) * stride;
            double LT = run_method(&in, mth, c->iters, lr[mth], lrg[mth], o, NULL);
            if (!isfinite(LT)) {
                MOEM_ERR(err, errlen, "instance %zu: %s failed or diverged", i + 1, moem_exp_method_name(mth));
                instance_free(&in);
                goto out;
            }
            for (size_t t = 0; t < T1; t++)
                if (o[t * NQ + MOEM_SYN_GAP] < best[i]) best[i] = o[t * NQ + MOEM_SYN_GAP];
        }
        instance_free(&in);
        moem_exp_logf(c->log, c->ctx, "instance %zu/%zu", i + 1, I);
    }
    r->seconds_runs = moem_now() - t0 - r->seconds_grid;
    summarise(r, best);
    rc = 0;
out:
    free(best);
    return rc;
}

static const char *const figure_names[] = {"figure1.png", "figure1.svg", "figure2.png", "figure2.svg"};

/* gnuplot script of Figures 1-2 from summary.csv */
static void figures_script(moem_sbuf *o, const char *dir)
{
    moem_sb_printf(o,
        "# Figures 1-2 of the paper from summary.csv (gnuplot figures.gp)\n"
        "set datafile separator ','\n"
        "set grid\nset xlabel 'iteration'\n"
        "meth(m) = m == 0 ? 'EM' : m == 1 ? 'Gradient EM' : 'GD'\n");
    static const char *const term[2][2] = {{"pngcairo size 1200,420", "png"}, {"svg size 1200,420", "svg"}};
    for (int t = 0; t < 2; t++)
        moem_sb_printf(o,
            "set terminal %s\n"
            "set output '%s/.figure1.%s.tmp'\n"
            "set multiplot layout 1,2 title 'SymMoLinE: objective (mean over instances)'\n"
            "set logscale y\nset format y '10^{%%L}'\n"
            "set ylabel 'L(theta_t) - L(theta_T), theta_T: best point reached'\n"
            "plot for [m=0:2] '%s/summary.csv' using 2:($1==m ? $9 : 1/0) every ::1 with linespoints title meth(m)\n"
            "unset logscale y\nset format y '%%g'\n"
            "set ylabel 'L(theta_t) - L(theta*)'\n"
            "plot for [m=0:2] '%s/summary.csv' using 2:($1==m ? $3 : 1/0) every ::1 with linespoints title meth(m)\n"
            "unset multiplot\n"
            "set output '%s/.figure2.%s.tmp'\n"
            "set multiplot layout 1,2 title 'SymMoLinE: parameter error (mean over instances)'\n"
            "set logscale y\nset format y '10^{%%L}'\n"
            "set ylabel '|beta_t - beta*| / |beta*|'\n"
            "plot for [m=0:2] '%s/summary.csv' using 2:($1==m ? $5 : 1/0) every ::1 with linespoints title meth(m)\n"
            "set ylabel '|w_t - w*| / |w*|'\n"
            "plot for [m=0:2] '%s/summary.csv' using 2:($1==m ? $7 : 1/0) every ::1 with linespoints title meth(m)\n"
            "unset multiplot\nunset logscale y\nset format y '%%g'\nunset output\n",
            term[t][0], dir, term[t][1], dir, dir, dir, term[t][1], dir, dir);
}

int moem_synthetic_write(const char *dir, const moem_synthetic_result *r, int plots, char *err,
                         size_t errlen)
{
    if (moem_mkdir_p(dir, err, errlen)) return -1;
    size_t I = r->instances, T1 = (size_t)r->iters + 1, stride = T1 * NQ;
    moem_sbuf runs = {0}, sum = {0}, gp = {0};
    moem_sb_printf(&runs, "method,instance,iter,objective_gap,beta_rel_err,w_rel_err\n");
    for (int mth = 0; mth < MOEM_EXP_METHODS; mth++)
        for (size_t i = 0; i < I; i++)
            for (size_t t = 0; t < T1; t++) {
                const double *v = r->value + ((size_t)mth * I + i) * stride + t * NQ;
                moem_sb_printf(&runs, "%s,%zu,%zu,%.17g,%.17g,%.17g\n", meth_key[mth], i + 1, t, v[0], v[1], v[2]);
            }
    moem_sb_printf(&sum, "method,iter,gap_mean,gap_sd,beta_err_mean,beta_err_sd,w_err_mean,w_err_sd,gap_to_best_mean\n");
    for (int mth = 0; mth < MOEM_EXP_METHODS; mth++)
        for (size_t t = 0; t < T1; t++) {
            const double *mv = r->mean + ((size_t)mth * T1 + t) * NQ, *sd = r->sd + ((size_t)mth * T1 + t) * NQ;
            moem_sb_printf(&sum, "%d,%zu,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", mth, t, mv[0], sd[0], mv[1],
                           sd[1], mv[2], sd[2], r->gap_to_best[(size_t)mth * T1 + t]);
        }
    if (plots) figures_script(&gp, dir);
    char path[4200];
    int rc = -1;
    if (runs.oom || sum.oom || gp.oom) { MOEM_ERR(err, errlen, "out of memory"); goto out; }
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    if (moem_write_text(path, runs.s, err, errlen)) goto out;
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    if (moem_write_text(path, sum.s, err, errlen)) goto out;
    if (plots && moem_exp_gnuplot(dir, "figures.gp", gp.s, figure_names, 4, err, errlen)) goto out;
    rc = 0;
out:
    free(runs.s);
    free(sum.s);
    free(gp.s);
    return rc;
}
