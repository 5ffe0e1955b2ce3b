/* moem fit: train a model on a CSV data set. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "csv.h"
#include "moem.h"

static void usage(FILE *f)
{
    fprintf(f,
"usage: moem fit --data FILE --model MODEL --algo ALGO --out MODEL.json [options]\n"
"\n"
"Train a mixture of experts from a CSV file (header y,x1,...,xd).\n"
"\n"
"  --data FILE         training data (CSV)\n"
"  --model MODEL       symlin | symlog | linear | logistic | softmax\n"
"  --experts K         number of experts (default 2; symlin/symlog: 2)\n"
"  --classes C         softmax classes (default: largest label + 1)\n"
"  --algo ALGO         em | gem (Gradient EM) | gd (gradient descent) | md (mirror descent)\n"
"  --iters T           iterations (default 100)\n"
"  --lr ETA            gd step; gem expert step (default 1)\n"
"  --lr-gate ETA       gem gate step (default: --lr)\n"
"  --learn-variance    linear experts: learn sigma_k^2 by EM (default: sigma^2 = 1)\n"
"  --inner K           EM M-steps: K gradient steps instead of Newton (default: Newton)\n"
"  --inner-lr ETA      step of the inner gradient steps (default 1)\n"
"  --newton-tol TOL    Newton decrement tolerance (default 1e-10)\n"
"  --ridge LAMBDA      add LAMBDA/2 |theta|^2 to each M-step sub-problem (default 0)\n"
"  --seed S            seed of the random start (default 1)\n"
"  --init FILE         start from this model file instead\n"
"  --threads T         threads (default: OMP_NUM_THREADS or all cores)\n"
"  --precision P       storage of X: f64 (default) or f32 (half the memory traffic; sums and\n"
"                      parameters stay float64; not with --algo md)\n"
"  --out FILE          write the trained model (JSON)\n"
"  --trace FILE        write iter,objective,seconds per iteration (CSV)\n"
"  --checkpoint FILE   write a checkpoint every --checkpoint-every iterations and when\n"
"                      interrupted (SIGINT, SIGTERM)\n"
"  --checkpoint-every N  (default 10)\n"
"  --resume FILE       continue from a checkpoint (same data; the algorithm and its settings\n"
"                      come from the checkpoint; --iters counts from the original start)\n"
"  --quiet             no progress on stderr\n"
"  --help              this text\n");
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { interrupted = sig; }

typedef struct progress {
    int total, tty, offset, every, failed, written;   /* written: iteration of the last checkpoint, -1 */
    double last, sec_offset;
    double *obj, *secs;                /* the whole run's trace, iterations 0 .. total */
    const char *ckpt;
    const moem_params *p;
    char err[512];
} progress;

static int on_iter(void *ctx, int t, const moem_model *m, double L, double secs)
{
    progress *p = ctx;
    int T = t + p->offset;
    p->obj[T] = L;
    p->secs[T] = secs + p->sec_offset;
    if (p->ckpt && T > p->offset && (interrupted || T % p->every == 0 || T == p->total)) {
        if (moem_checkpoint_write(p->ckpt, m, p->p, T, p->obj, p->secs, p->err, sizeof p->err)) {
            p->failed = 1;
            return 1;
        }
        p->written = T;
    }
    if (interrupted) return 1;
    if (p->tty && (secs - p->last > 0.5 || T == p->total)) {
        fprintf(stderr, "\rmoem fit: iteration %d/%d  objective %.10g  %.2f s", T, p->total, L, p->secs[T]);
        if (T == p->total) fputc('\n', stderr);
        p->last = secs;
    }
    return 0;
}

/* "FILE:LINE:1: why" for the first response the model rejects (a CSV row i is line i + 2),
 * the two sizes when d differs, else "FILE: why" */
static void fit_data_error(const char *path, const moem_data *d, const moem_model *m, const char *why)
{
    if (d->d != m->d) {
        moem_cli_error("fit", "%s: %s (model d = %zu, data d = %zu)", path, why, m->d, d->d);
        return;
    }
    for (size_t i = 0; i < d->n; i++) {
        double y = d->y[i];
        if ((m->family == MOEM_LOGISTIC && y != 0.0 && y != 1.0) ||
            (m->family == MOEM_SOFTMAX && (y < 0 || y >= (double)m->C || y != floor(y)))) {
            moem_cli_error("fit", "%s:%zu:1: %s (found %g)", path, i + 2, why, y);
            return;
        }
    }
    moem_cli_error("fit", "%s: %s", path, why);
}

int moem_cmd_fit(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'}, {"model", required_argument, 0, 'm'},
        {"experts", required_argument, 0, 'K'}, {"classes", required_argument, 0, 'C'},
        {"algo", required_argument, 0, 'a'}, {"iters", required_argument, 0, 'T'},
        {"lr", required_argument, 0, 'l'}, {"lr-gate", required_argument, 0, 'g'},
        {"learn-variance", no_argument, 0, 'v'}, {"inner", required_argument, 0, 'i'},
        {"inner-lr", required_argument, 0, 'I'}, {"newton-tol", required_argument, 0, 'n'},
        {"ridge", required_argument, 0, 'r'}, {"seed", required_argument, 0, 's'},
        {"init", required_argument, 0, 'x'}, {"threads", required_argument, 0, 't'},
        {"out", required_argument, 0, 'o'}, {"trace", required_argument, 0, 'c'},
        {"checkpoint", required_argument, 0, 'k'}, {"checkpoint-every", required_argument, 0, 'e'},
        {"resume", required_argument, 0, 'R'}, {"precision", required_argument, 0, 'P'},
        {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *data_path = NULL, *model_s = NULL, *init = NULL, *out = NULL, *trace_path = NULL;
    const char *ckpt = NULL, *resume = NULL;
    long every = 10;
    size_t K = 2, C = 0;
    int K_given = 0, quiet = 0, algo_given = 0, f32 = 0;
    unsigned long long seed = 1;
    moem_params p;
    moem_params_default(&p);
    long lv;
    double dv;
    int li = 0;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, &li)) != -1) {
        switch (c) {
        case 'd': data_path = optarg; break;
        case 'm': model_s = optarg; break;
        case 'K': if (moem_cli_parse_size(optarg, 1, 1000000, &K)) goto badval; K_given = 1; break;
        case 'C': if (moem_cli_parse_size(optarg, 2, 1000000, &C)) goto badval; break;
        case 'a': if (moem_algo_parse(optarg, &p.algo)) goto badval; algo_given = 1; break;
        case 'T': if (moem_cli_parse_int(optarg, 0, 100000000, &lv)) goto badval; p.iters = (int)lv; break;
        case 'l': if (moem_cli_parse_double(optarg, &dv) || !(dv > 0)) goto badval; p.lr = dv; break;
        case 'g': if (moem_cli_parse_double(optarg, &dv) || !(dv > 0)) goto badval; p.lr_gate = dv; break;
        case 'v': p.learn_sigma2 = 1; break;
        case 'i': if (moem_cli_parse_int(optarg, 1, 1000000, &lv)) goto badval; p.inner_steps = (int)lv; break;
        case 'I': if (moem_cli_parse_double(optarg, &dv) || !(dv > 0)) goto badval; p.inner_lr = dv; break;
        case 'n': if (moem_cli_parse_double(optarg, &dv) || !(dv > 0)) goto badval; p.newton_tol = dv; break;
        case 'r': if (moem_cli_parse_double(optarg, &dv) || dv < 0) goto badval; p.ridge = dv; break;
        case 's': if (moem_cli_parse_u64(optarg, &seed)) goto badval; break;
        case 'x': init = optarg; break;
        case 't': if (moem_cli_parse_int(optarg, 1, 4096, &lv)) goto badval; p.threads = (int)lv; break;
        case 'o': out = optarg; break;
        case 'c': trace_path = optarg; break;
        case 'k': ckpt = optarg; break;
        case 'e': if (moem_cli_parse_int(optarg, 1, 100000000, &every)) goto badval; break;
        case 'R': resume = optarg; break;
        case 'P': if (moem_cli_parse_precision(optarg, &f32)) goto badval; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default:
            if (optopt) moem_cli_error("fit", "option --%s needs a value or is unknown (moem fit --help)", argv[optind - 1] + 2);
            else moem_cli_error("fit", "unknown option '%s' (moem fit --help)", argv[optind - 1]);
            return 2;
        }
        continue;
    badval:
        moem_cli_error("fit", "invalid value '%s' for --%s", optarg, opts[li].name);
        return 2;
    }
    if (optind < argc) { moem_cli_error("fit", "unexpected argument '%s'", argv[optind]); return 2; }
    if (!data_path || !model_s || !out || (!algo_given && !resume)) {
        moem_cli_error("fit", "--data, --model, --algo and --out are required (moem fit --help)");
        return 2;
    }
    if (resume && init) { moem_cli_error("fit", "--resume and --init exclude each other"); return 2; }
    moem_family fam;
    int sym;
    if (moem_model_spec_parse(model_s, &fam, &sym)) {
        moem_cli_error("fit", "unknown model '%s' (symlin, symlog, linear, logistic, softmax)", model_s);
        return 2;
    }
    if (sym && K_given && K != 2) { moem_cli_error("fit", "symmetric models have exactly 2 experts"); return 2; }

    char err[512];
    moem_data data;
    moem_model m;
    moem_trace tr;
    memset(&m, 0, sizeof m);
    memset(&tr, 0, sizeof tr);
    int rc = 1;
    if (moem_csv_read(data_path, &data, err, sizeof err)) { moem_cli_error("fit", "%s", err); return 1; }
    if (fam == MOEM_SOFTMAX && C == 0) {
        double mx = 0;
        size_t at = 0;
        for (size_t i = 0; i < data.n; i++) if (data.y[i] > mx) mx = data.y[i], at = i;
        if (mx >= 1000000) {   /* the --classes limit; also keeps the cast below defined */
            moem_cli_error("fit", "%s:%zu:1: label %g is above the largest class index 999999",
                           data_path, at + 2, mx);
            moem_data_free(&data);
            return 1;
        }
        C = mx >= 1 ? (size_t)mx + 1 : 2;
    }
    int iter0 = 0;
    double *obj0 = NULL, *secs0 = NULL;
    if (resume) {
        moem_params saved = p;
        if (moem_checkpoint_read(resume, &m, &saved, &iter0, &obj0, &secs0, err, sizeof err)) { moem_cli_error("fit", "%s", err); goto out; }
        if (algo_given && saved.algo != p.algo) {
            moem_cli_error("fit", "%s: the checkpoint is of --algo %s", resume, moem_algo_name(saved.algo));
            goto out;
        }
        if (iter0 > p.iters) {
            moem_cli_error("fit", "%s: the checkpoint is at iteration %d, beyond --iters %d", resume, iter0, p.iters);
            goto out;
        }
        saved.iters = p.iters;
        saved.threads = p.threads;
        p = saved;
    } else if (init) {
        if (moem_model_read(init, &m, err, sizeof err)) { moem_cli_error("fit", "%s", err); goto out; }
    } else if (moem_cli_random_model(&m, fam, sym, K, data.d, C, seed, err, sizeof err)) {
        moem_cli_error("fit", "%s", err);
        goto out;
    }
    if (m.family != fam || m.symmetric != sym || (K_given && m.K != K) || (fam == MOEM_SOFTMAX && m.C != C)) {
        moem_cli_error("fit", "%s: the model in the file (%s%s, K = %zu) differs from --model %s", resume ? resume : init,
                       m.symmetric ? "symmetric " : "", moem_family_name(m.family), m.K, model_s);
        goto out;
    }
    if (f32 && moem_data_to_f32(&data, err, sizeof err)) { moem_cli_error("fit", "%s: %s", data_path, err); goto out; }
    const char *bad = moem_check_params(&data, &m, &p);
    if (bad) { fit_data_error(data_path, &data, &m, bad); goto out; }
    if (p.threads) moem_set_threads(p.threads);
    progress prog = {.total = p.iters, .tty = !quiet && isatty(2), .offset = iter0, .every = (int)every,
                     .last = -1.0, .ckpt = ckpt, .p = &p, .written = -1};
    prog.obj = calloc((size_t)p.iters + 1, sizeof(double));
    prog.secs = calloc((size_t)p.iters + 1, sizeof(double));
    if (!prog.obj || !prog.secs) { moem_cli_error("fit", "out of memory"); goto out_prog; }
    if (resume) {
        memcpy(prog.obj, obj0, ((size_t)iter0 + 1) * sizeof(double));
        memcpy(prog.secs, secs0, ((size_t)iter0 + 1) * sizeof(double));
        prog.sec_offset = secs0[iter0];
    }
    if (ckpt) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    }
    p.on_iter = on_iter;
    p.ctx = &prog;
    int total = p.iters;
    p.iters = total - iter0;
    int frc = moem_fit(&data, &m, &p, &tr, err, sizeof err);
    p.iters = total;
    if (prog.failed) { moem_cli_error("fit", "%s", prog.err); goto out_prog; }
    if (frc) { moem_cli_error("fit", "%s", err); goto out_prog; }
    if (interrupted) {
        if (prog.written >= 0)
            moem_cli_error("fit", "interrupted at iteration %d; checkpoint of iteration %d written to %s",
                           iter0 + tr.iters, prog.written, ckpt);
        else
            moem_cli_error("fit", "interrupted at iteration %d; no checkpoint written (no iteration completed)",
                           iter0 + tr.iters);
        rc = 128 + interrupted;
        goto out_prog;
    }
    int last = iter0 + tr.iters;
    /* the trace goes to its temporary file first and is renamed into place only once the
     * model is written, so that a failure leaves every existing output file as it was */
    moem_atomic_file o = {0};
    if (trace_path) {
        if (moem_atomic_open(&o, trace_path, err, sizeof err)) { moem_cli_error("fit", "%s", err); goto out_prog; }
        fprintf(o.f, "# moem %s isa=%s precision=%s algo=%s model=%s\niter,objective,seconds\n", MOEM_VERSION,
                moem_isa_name(), f32 ? "f32" : "f64", moem_algo_name(p.algo), model_s);
        for (int t = 0; t <= last; t++) fprintf(o.f, "%d,%.17g,%.9f\n", t, prog.obj[t], prog.secs[t]);
    }
    if (moem_model_write(out, &m, err, sizeof err)) {
        moem_cli_error("fit", "%s", err);
        if (trace_path) moem_atomic_abort(&o);
        goto out_prog;
    }
    if (trace_path && moem_atomic_commit(&o, err, sizeof err)) { moem_cli_error("fit", "%s", err); goto out_prog; }
    if (!quiet)
        fprintf(stderr, "moem fit: %s %s, %d iterations, objective %.10g -> %.10g, %.3f s (isa %s, %s)\n",
                moem_algo_name(p.algo), model_s, last, prog.obj[0], prog.obj[last], prog.secs[last], moem_isa_name(),
                f32 ? "f32" : "f64");
    rc = 0;
out_prog:
    free(prog.obj);
    free(prog.secs);
out:
    free(obj0);
    free(secs0);
    moem_trace_free(&tr);
    moem_model_free(&m);
    moem_data_free(&data);
    return rc;
}
