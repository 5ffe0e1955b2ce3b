/* moem fit: train a model on a CSV data set. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "cli.h"
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
"  --iters T           iterations (default 100): the most the run takes\n"
"  --tol T             stop once an iteration lowers the objective by at most T times its\n"
"                      value (default 0: run every iteration); the summary says converged\n"
"  --lr ETA            gd step; gem expert step (default 1)\n"
"  --lr-gate ETA       gem gate step (default: --lr)\n"
"  --learn-variance    linear experts: learn sigma_k^2 by EM (default: sigma^2 = 1)\n"
"  --inner K           EM M-steps: K gradient steps instead of Newton (default: Newton)\n"
"  --inner-lr ETA      first trial step of the inner gradient steps, each checked to lower\n"
"                      its sub-problem (default: automatic)\n"
"  --newton-tol TOL    Newton decrement tolerance (default 1e-10)\n"
"  --ridge LAMBDA      add LAMBDA/2 |theta|^2 to each M-step sub-problem (default 0)\n"
"  --seed S            seed of the random start (default 1)\n"
"  --restarts R        R random starts (seeds S, S+1, ...), each run to the end and its final\n"
"                      objective printed; the best is run again for the outputs (default 1)\n"
"  --init FILE         start from this model file instead\n"
"  --threads T         threads (default: OMP_NUM_THREADS or all cores)\n"
"  --precision P       storage of X: f64 (default) or f32 (half the memory traffic; sums and\n"
"                      parameters stay float64; not with --algo md)\n"
"  --out FILE          write the trained model (JSON)\n"
"  --trace FILE        write iter,objective,seconds per iteration (CSV)\n"
"  --summary FILE      write the run's summary (JSON): objective, iterations, converged,\n"
"                      seconds, isa, threads, precision, parameters, AIC, BIC, settings\n"
"  --checkpoint FILE   write a checkpoint every --checkpoint-every iterations and when\n"
"                      interrupted (SIGINT, SIGTERM)\n"
"  --checkpoint-every N  (default 10)\n"
"                      (FILE.trace beside it holds the trace so far)\n"
"  --resume FILE       continue from a checkpoint: the same data (checked), the algorithm and\n"
"                      its settings from the checkpoint (an option that differs is an error);\n"
"                      --iters counts from the original start; checkpoints go on to FILE\n"
"                      unless --checkpoint names another file\n"
"  --keep-failed       write the model (and trace) of a failed run too (exit status still 1)\n"
"  --quiet             no progress on stderr\n"
"  -h, --help          this text\n"
"\n"
"Exit status: 0 trained; 1 bad input or a failed run (an objective that became non-finite or\n"
"ended above its start); 2 usage; 128 + signal when interrupted (checkpoint written).\n");
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { interrupted = sig; }

typedef struct progress {
    int total, tty, offset, every, failed, written;   /* written: iteration of the last checkpoint, -1 */
    double last, sec_offset, ck_secs;  /* ck_secs: time spent writing checkpoints, in the trace's seconds */
    double *obj, *secs;                /* the whole run's trace, iterations 0 .. total */
    const char *ckpt;
    const moem_params *p;
    moem_checkpoint_info info;
    char err[512];
} progress;

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int on_iter(void *ctx, int t, const moem_model *m, double L, double secs)
{
    progress *p = ctx;
    int T = t + p->offset;
    p->obj[T] = L;
    p->secs[T] = secs + p->sec_offset + p->ck_secs;
    if (p->ckpt && T > p->offset && (interrupted || T % p->every == 0 || T == p->total)) {
        double t0 = wall();
        if (moem_checkpoint_write(p->ckpt, m, p->p, &p->info, T, p->obj, p->secs, p->err, sizeof p->err)) {
            p->failed = 1;
            return 1;
        }
        double dt = wall() - t0;   /* the reported time includes the checkpoints */
        p->ck_secs += dt;
        p->secs[T] += dt;
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

/* a number as short as it reads back exactly */
static const char *num(char *buf, size_t len, double v)
{
    snprintf(buf, len, "%g", v);
    if (strtod(buf, NULL) != v) snprintf(buf, len, "%.17g", v);
    return buf;
}

static int same_path(const char *a, const char *b)
{
    struct stat sa, sb;
    if (!strcmp(a, b)) return 1;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static char *with_suffix(const char *path, const char *suffix)
{
    char *s = path ? malloc(strlen(path) + strlen(suffix) + 1) : NULL;
    if (s) sprintf(s, "%s%s", path, suffix);
    return s;
}

/* the options given on the command line, for the checks against a checkpoint */
typedef struct given { int model, K, C, algo, lr, lr_gate, lv, inner, inner_lr, ntol, ridge, prec, seed; } given;

/* 0 when every option given agrees with the checkpoint's settings, else -1 after an error
 * line naming both values */
static int resume_conflicts(const char *ck, const given *g, const moem_params *want, const moem_params *have,
                            const moem_model *m, size_t K, size_t C, int f32, int ck_f32)
{
    char a[40], b[40];
#define CONFLICT(opt, mine, theirs) do { moem_cli_error("fit", "%s %s conflicts with the checkpoint %s (%s); " \
        "leave it out to resume", opt, mine, ck, theirs); return -1; } while (0)
    if (g->algo && want->algo != have->algo) CONFLICT("--algo", moem_algo_name(want->algo), moem_algo_name(have->algo));
    if (g->lr && want->lr != have->lr) CONFLICT("--lr", num(a, sizeof a, want->lr), num(b, sizeof b, have->lr));
    if (g->lr_gate && want->lr_gate != have->lr_gate)
        CONFLICT("--lr-gate", num(a, sizeof a, want->lr_gate), num(b, sizeof b, have->lr_gate));
    if (g->lv && !have->learn_sigma2) CONFLICT("--learn-variance", "(given)", "sigma^2 fixed at 1");
    if (g->inner && want->inner_steps != have->inner_steps) {
        snprintf(a, sizeof a, "%d", want->inner_steps);
        if (have->inner_steps) snprintf(b, sizeof b, "--inner %d", have->inner_steps);
        else snprintf(b, sizeof b, "Newton M-steps");
        CONFLICT("--inner", a, b);
    }
    if (g->inner_lr && want->inner_lr != have->inner_lr)
        CONFLICT("--inner-lr", num(a, sizeof a, want->inner_lr), num(b, sizeof b, have->inner_lr));
    if (g->ntol && want->newton_tol != have->newton_tol)
        CONFLICT("--newton-tol", num(a, sizeof a, want->newton_tol), num(b, sizeof b, have->newton_tol));
    if (g->ridge && want->ridge != have->ridge)
        CONFLICT("--ridge", num(a, sizeof a, want->ridge), num(b, sizeof b, have->ridge));
    if (g->K && K != m->K) {
        snprintf(a, sizeof a, "%zu", K);
        snprintf(b, sizeof b, "K = %zu", m->K);
        CONFLICT("--experts", a, b);
    }
    if (g->C && C != m->C) {
        snprintf(a, sizeof a, "%zu", C);
        snprintf(b, sizeof b, "C = %zu", m->C);
        CONFLICT("--classes", a, b);
    }
    if (g->prec && f32 != ck_f32) CONFLICT("--precision", f32 ? "f32" : "f64", ck_f32 ? "f32" : "f64");
#undef CONFLICT
    return 0;
}

/* --restarts: R fits from the random starts of seeds *seed, *seed + 1, ..., each to the end; the
 * final objective of each on stderr (unless quiet); m becomes the best start (lowest final
 * objective; the first of equals) and *seed its seed. -1 after an error line. */
static int pick_start(const moem_data *data, moem_model *m, const moem_params *p, moem_family fam, int sym,
                      size_t K, size_t C, unsigned long long *seed, long restarts, int quiet)
{
    char err[512];
    double best = INFINITY;
    unsigned long long best_seed = *seed;
    moem_params q = *p;
    q.on_iter = NULL;
    q.ctx = NULL;
    for (long r = 0; r < restarts; r++) {
        unsigned long long s = *seed + (unsigned long long)r;
        moem_model mr;
        moem_trace tr;
        if (moem_model_init_random(&mr, fam, sym, K, data->d, C, s, err, sizeof err)) {
            moem_cli_error("fit", "%s", err);
            return -1;
        }
        int frc = moem_fit(data, &mr, &q, &tr, err, sizeof err);
        double L = frc == 0 ? tr.objective[tr.iters] : NAN;
        if (!quiet) {
            if (frc) fprintf(stderr, "moem fit: start %ld/%ld (seed %llu) failed: %s\n", r + 1, restarts, s, err);
            else fprintf(stderr, "moem fit: start %ld/%ld (seed %llu): objective %.10g after %d iterations\n", r + 1,
                         restarts, s, L, tr.iters);
        }
        if (isfinite(L) && L < best) { best = L; best_seed = s; }
        moem_trace_free(&tr);
        moem_model_free(&mr);
    }
    if (!isfinite(best)) { moem_cli_error("fit", "every one of the %ld starts failed", restarts); return -1; }
    moem_model_free(m);
    *seed = best_seed;
    if (moem_model_init_random(m, fam, sym, K, data->d, C, best_seed, err, sizeof err)) {
        moem_cli_error("fit", "%s", err);
        return -1;
    }
    if (!quiet) fprintf(stderr, "moem fit: the best start is seed %llu (objective %.10g)\n", best_seed, best);
    return 0;
}

/* a JSON number: null when not finite */
static void jnum(FILE *f, const char *name, double v)
{
    if (isfinite(v)) fprintf(f, "  \"%s\": %.17g,\n", name, v);
    else fprintf(f, "  \"%s\": null,\n", name);
}

/* --summary: the run and its settings, as one JSON object. record: the model file's "fit"
 * member, which holds only what the model, the data and the settings determine (no time, ISA,
 * thread count, seed or per-run counts), so that the same fit writes the same file, resumed or
 * not, on any number of threads. */
static void write_summary(FILE *f, const moem_data *data, const moem_model *m, const moem_params *p,
                          const moem_trace *tr, const char *model_s, double L, int iters, double secs, int f32,
                          unsigned long long seed, long restarts, int random_start, int record)
{
    size_t np = moem_param_count(m, p->learn_sigma2);
    double N = (double)data->n;
    int threads = p->threads;
#ifdef _OPENMP
    if (!threads) threads = omp_get_max_threads();
#else
    if (!threads) threads = 1;
#endif
    fprintf(f, "{\n");
    jnum(f, "objective", L);
    fprintf(f, "  \"iterations\": %d,\n  \"converged\": %s,\n", iters, tr->converged ? "true" : "false");
    if (!record) {
        jnum(f, "seconds", secs);
        fprintf(f, "  \"isa\": \"%s\",\n  \"threads\": %d,\n", moem_isa_name(), threads);
    }
    fprintf(f, "  \"precision\": \"%s\",\n", f32 ? "f32" : "f64");
    fprintf(f, "  \"model\": \"%s\",\n  \"n\": %zu,\n  \"d\": %zu,\n  \"K\": %zu,\n  \"C\": %zu,\n", model_s,
            data->n, m->d, m->K, m->C);
    fprintf(f, "  \"params\": %zu,\n", np);
    jnum(f, "aic", 2 * N * L + 2 * (double)np);
    jnum(f, "bic", 2 * N * L + (double)np * log(N));
    fprintf(f, "  \"algo\": \"%s\",\n  \"max_iters\": %d,\n", moem_algo_name(p->algo), p->iters);
    jnum(f, "tol", p->tol);
    jnum(f, "lr", p->lr);
    jnum(f, "lr_gate", p->lr_gate > 0 ? p->lr_gate : p->lr);
    fprintf(f, "  \"learn_variance\": %s,\n  \"inner_steps\": %d,\n", p->learn_sigma2 ? "true" : "false",
            p->inner_steps);
    jnum(f, "inner_lr", p->inner_lr);
    jnum(f, "newton_tol", p->newton_tol);
    if (record) {
        fprintf(f, "  \"ridge\": %.17g\n}\n", p->ridge);
        return;
    }
    jnum(f, "ridge", p->ridge);
    if (random_start) fprintf(f, "  \"seed\": %llu,\n  \"restarts\": %ld,\n", seed, restarts);
    fprintf(f, "  \"capped_msteps\": %d,\n  \"rises\": %d\n}\n", tr->capped, tr->rises);
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
        {"keep-failed", no_argument, 0, 'F'}, {"quiet", no_argument, 0, 'q'},
        {"tol", required_argument, 0, 'L'}, {"restarts", required_argument, 0, 'S'},
        {"summary", required_argument, 0, 'Y'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *data_path = NULL, *model_s = NULL, *init = NULL, *out = NULL, *trace_path = NULL;
    const char *ckpt = NULL, *resume = NULL, *summary = NULL;
    long every = 10, restarts = 1;
    size_t K = 2, C = 0;
    int quiet = 0, f32 = 0, keep_failed = 0;
    given g = {0};
    unsigned long long seed = 1;
    moem_params p;
    moem_params_default(&p);
    long lv;
    double dv;
    int li = 0;
    if (moem_cli_exact_options("fit", argc, argv, opts)) return MOEM_EXIT_USAGE;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, &li)) != -1) {
        switch (c) {
        case 'd': data_path = optarg; break;
        case 'm': model_s = optarg; g.model = 1; break;
        case 'K': if (moem_cli_parse_size(optarg, 1, 1000000, &K)) goto badval; g.K = 1; break;
        case 'C': if (moem_cli_parse_size(optarg, 2, 1000000, &C)) goto badval; g.C = 1; break;
        case 'a': if (moem_algo_parse(optarg, &p.algo)) goto badval; g.algo = 1; break;
        case 'T': if (moem_cli_parse_int(optarg, 0, 100000000, &lv)) goto badval; p.iters = (int)lv; break;
        case 'l': if (moem_cli_parse_double(optarg, &dv) || !(dv > 0)) goto badval; p.lr = dv; g.lr = 1; break;
        case 'g': if (moem_cli_parse_double(optarg, &dv) || !(dv > 0)) goto badval; p.lr_gate = dv; g.lr_gate = 1; break;
        case 'v': p.learn_sigma2 = 1; g.lv = 1; break;
        case 'i': if (moem_cli_parse_int(optarg, 1, 1000000, &lv)) goto badval; p.inner_steps = (int)lv; g.inner = 1; break;
        case 'I': if (moem_cli_parse_double(optarg, &dv) || !(dv > 0)) goto badval; p.inner_lr = dv; g.inner_lr = 1; break;
        case 'n': if (moem_cli_parse_double(optarg, &dv) || !(dv > 0)) goto badval; p.newton_tol = dv; g.ntol = 1; break;
        case 'r': if (moem_cli_parse_double(optarg, &dv) || dv < 0) goto badval; p.ridge = dv; g.ridge = 1; break;
        case 's': if (moem_cli_parse_u64(optarg, &seed)) goto badval; g.seed = 1; break;
        case 'x': init = optarg; break;
        case 't': if (moem_cli_parse_int(optarg, 1, 4096, &lv)) goto badval; p.threads = (int)lv; break;
        case 'o': out = optarg; break;
        case 'c': trace_path = optarg; break;
        case 'k': ckpt = optarg; break;
        case 'e': if (moem_cli_parse_int(optarg, 1, 100000000, &every)) goto badval; break;
        case 'R': resume = optarg; break;
        case 'P': if (moem_cli_parse_precision(optarg, &f32)) goto badval; g.prec = 1; break;
        case 'F': keep_failed = 1; break;
        case 'L': if (moem_cli_parse_double(optarg, &dv) || dv < 0) goto badval; p.tol = dv; break;
        case 'S': if (moem_cli_parse_int(optarg, 1, 1000000, &restarts)) goto badval; break;
        case 'Y': summary = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return MOEM_EXIT_OK;
        case ':': moem_cli_error("fit", "option %s needs a value (moem fit --help)", argv[optind - 1]); return MOEM_EXIT_USAGE;
        default: moem_cli_error("fit", "unknown option '%s' (moem fit --help)", argv[optind - 1]); return MOEM_EXIT_USAGE;
        }
        continue;
    badval:
        moem_cli_error("fit", "invalid value '%s' for --%s", optarg, opts[li].name);
        return MOEM_EXIT_USAGE;
    }
    if (optind < argc) { moem_cli_error("fit", "unexpected argument '%s'", argv[optind]); return MOEM_EXIT_USAGE; }
    if (!data_path || !model_s || !out || (!g.algo && !resume)) {
        moem_cli_error("fit", "--data, --model, --algo and --out are required (moem fit --help)");
        return MOEM_EXIT_USAGE;
    }
    if (resume && init) { moem_cli_error("fit", "--resume and --init exclude each other"); return MOEM_EXIT_USAGE; }
    if (resume && g.seed) { moem_cli_error("fit", "--resume and --seed exclude each other (--seed draws a start)"); return MOEM_EXIT_USAGE; }
    if (restarts > 1 && (init || resume)) {
        moem_cli_error("fit", "--restarts draws random starts: it excludes %s", init ? "--init" : "--resume");
        return MOEM_EXIT_USAGE;
    }
    moem_family fam;
    int sym;
    if (moem_model_spec_parse(model_s, &fam, &sym)) {
        moem_cli_error("fit", "unknown model '%s' (symlin, symlog, linear, logistic, softmax)", model_s);
        return MOEM_EXIT_USAGE;
    }
    if (sym && g.K && K != 2) { moem_cli_error("fit", "--model %s has exactly 2 experts, not --experts %zu", model_s, K); return MOEM_EXIT_USAGE; }
    if (g.C && fam != MOEM_SOFTMAX) { moem_cli_error("fit", "--classes applies to --model softmax only"); return MOEM_EXIT_USAGE; }
    if (moem_cli_isa_ok("fit")) return MOEM_EXIT_USAGE;
    if (resume && !ckpt) ckpt = resume;   /* a resumed run goes on checkpointing to its file */

    /* the output policy, before any work */
    char err[512];
    char *resume_tr = with_suffix(resume, ".trace"), *ckpt_tr = with_suffix(ckpt, ".trace");
    const moem_file_arg files[] = {
        {data_path, "--data", 0, 0}, {init, "--init", 0, 0}, {resume, "--resume", 0, 1},
        {resume_tr, "the trace file of --resume", 0, 1}, {out, "--out", 1, 0}, {trace_path, "--trace", 1, 0},
        {ckpt, "--checkpoint", 1, 1}, {ckpt_tr, "the trace file of --checkpoint", 1, 1}, {summary, "--summary", 1, 0}};
    int fbad = (resume && !resume_tr) || (ckpt && !ckpt_tr) || moem_files_check(files, sizeof files / sizeof files[0], err, sizeof err);
    free(resume_tr);
    free(ckpt_tr);
    if (fbad) { moem_cli_error("fit", "%s", (resume && !resume_tr) || (ckpt && !ckpt_tr) ? "out of memory" : err); return MOEM_EXIT_FAIL; }

    moem_data data;
    moem_model m;
    moem_trace tr;
    memset(&m, 0, sizeof m);
    memset(&tr, 0, sizeof tr);
    int rc = MOEM_EXIT_FAIL;
    if (moem_cli_read_data("fit", data_path, &data)) return MOEM_EXIT_FAIL;
    const uint64_t data_hash = moem_data_hash(&data);
    if (fam == MOEM_SOFTMAX && !C && !init && !resume) {
        /* the classes from the labels: a count above the samples (or 65536) needs --classes */
        double mx = 0;
        size_t at = 0;
        for (size_t i = 0; i < data.n; i++) if (data.y[i] > mx) mx = data.y[i], at = i;
        const double limit = data.n < 65536 ? (data.n < 2 ? 2.0 : (double)data.n) : 65536.0;
        if (mx + 1 > limit) {
            moem_cli_error("fit", "%s:%zu:1: label %g implies %.0f classes, more than %s %.0f: give --classes "
                           "if that is meant", data_path, at + 2, mx, floor(mx) + 1,
                           limit < 65536 ? "the number of samples," : "the limit", limit);
            moem_data_free(&data);
            return MOEM_EXIT_FAIL;
        }
        C = mx >= 1 ? (size_t)mx + 1 : 2;
    }
    int iter0 = 0;
    double *obj0 = NULL, *secs0 = NULL;
    moem_checkpoint_info info = {.n = data.n, .d = data.d, .data_hash = data_hash, .precision = f32 ? 32 : 64,
                                 .trace_have = -1};
    info.run = (uint64_t)wall() * 1000003u ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&info;
    const char *src = resume ? resume : init;   /* where the model comes from, for messages */
    if (resume) {
        moem_params saved = p;
        moem_checkpoint_info ck;
        if (moem_checkpoint_read(resume, &m, &saved, &ck, &iter0, &obj0, &secs0, err, sizeof err)) { moem_cli_error("fit", "%s", err); goto out; }
        if (ck.n != data.n || ck.d != data.d || ck.data_hash != data_hash) {
            moem_cli_error("fit", "--data %s (N = %zu, d = %zu, hash %016llx) is not the data of the checkpoint %s "
                           "(N = %zu, d = %zu, hash %016llx)", data_path, data.n, data.d,
                           (unsigned long long)data_hash, resume, ck.n, ck.d, (unsigned long long)ck.data_hash);
            goto out;
        }
        if (m.family != fam || m.symmetric != sym) {
            moem_cli_error("fit", "--model %s conflicts with the checkpoint %s (%s%s)", model_s, resume,
                           m.symmetric ? "symmetric " : "", moem_family_name(m.family));
            goto out;
        }
        if (resume_conflicts(resume, &g, &p, &saved, &m, K, C, f32, ck.precision == 32)) goto out;
        if (iter0 > p.iters) {
            moem_cli_error("fit", "%s: the checkpoint is at iteration %d, beyond --iters %d", resume, iter0, p.iters);
            goto out;
        }
        f32 = ck.precision == 32;
        info.precision = ck.precision;
        if (same_path(ckpt, resume)) info = ck;   /* go on with its files */
        else info.run = ck.run;
        saved.iters = p.iters;
        saved.threads = p.threads;
        p = saved;
    } else if (init) {
        if (moem_model_read(init, &m, err, sizeof err)) { moem_cli_error("fit", "%s", err); goto out; }
    } else if (moem_model_init_random(&m, fam, sym, K, data.d, C, seed, err, sizeof err)) {
        moem_cli_error("fit", "%s", err);
        goto out;
    }
    if (init) {
        if (m.family != fam || m.symmetric != sym) {
            moem_cli_error("fit", "--init %s holds a %s%s model, not --model %s", init, m.symmetric ? "symmetric " : "",
                           moem_family_name(m.family), model_s);
            goto out;
        }
        if (g.K && m.K != K) {
            moem_cli_error("fit", "--init %s has K = %zu experts, not --experts %zu", init, m.K, K);
            goto out;
        }
        if (g.C && m.C != C) {
            moem_cli_error("fit", "--init %s has C = %zu classes, not --classes %zu", init, m.C, C);
            goto out;
        }
    }
    if (f32 && moem_data_to_f32(&data, err, sizeof err)) { moem_cli_error("fit", "%s: %s", data_path, err); goto out; }
    const char *bad = moem_model_validate(&m);
    if (bad) { moem_cli_error("fit", "%s: %s", src ? src : "the start", bad); goto out; }
    if ((bad = moem_model_data_check(&m, &data))) { moem_cli_data_error("fit", data_path, &data, &m, bad); goto out; }
    if (m.K > data.n) {
        moem_cli_error("fit", "%s: more experts than samples (K > N): %zu samples, %zu experts (--experts or the model's K)", data_path,
                       data.n, m.K);
        goto out;
    }
    if ((bad = moem_check_params(&data, &m, &p))) {
        if (resume) moem_cli_error("fit", "%s: the checkpoint's settings: %s", resume, bad);
        else if (p.learn_sigma2) moem_cli_error("fit", "--learn-variance: %s", bad);
        else if (p.algo == MOEM_ALGO_MD) moem_cli_error("fit", "--algo md: %s", bad);
        else moem_cli_error("fit", "%s", bad);
        goto out;
    }
    if (p.threads) moem_set_threads(p.threads);
    if (restarts > 1 && pick_start(&data, &m, &p, fam, sym, K, C, &seed, restarts, quiet)) goto out;
    progress prog = {.total = p.iters, .tty = !quiet && isatty(2), .offset = iter0, .every = (int)every,
                     .last = -1.0, .ckpt = ckpt, .p = &p, .written = -1, .info = info};
    prog.obj = calloc((size_t)p.iters + 1, sizeof(double));
    prog.secs = calloc((size_t)p.iters + 1, sizeof(double));
    if (!prog.obj || !prog.secs) {
        moem_cli_error("fit", "out of memory for the trace (2 x %d doubles, --iters)", p.iters + 1);
        goto out_prog;
    }
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
    int last = iter0 + tr.iters;
    /* failure is never success: a run that ends above its start (beyond rounding) failed */
    if (!frc && !interrupted && last > 0 && prog.obj[last] > prog.obj[0] + 1e-12 * (1.0 + fabs(prog.obj[0]))) {
        int grad = p.algo == MOEM_ALGO_GD || p.algo == MOEM_ALGO_GEM;
        snprintf(err, sizeof err, "%s: the objective ended above its start at iteration %d (%.10g -> %.10g): %s",
                 moem_algo_name(p.algo), last, prog.obj[0], prog.obj[last],
                 grad ? "the step size is too large: try a smaller --lr / --lr-gate"
                 : p.algo == MOEM_ALGO_MD ? "the mirror-descent reference diverged: the data may have no "
                                            "maximum-likelihood point (separable labels?)"
                 : "inexact M-steps: try a smaller --inner-lr, or --ridge");
        frc = -1;
    }
    if (!frc && tr.rises)   /* EM's M-steps descend: a rise is reported, never hidden */
        moem_cli_error("fit", "warning: EM's objective rose in %d of %d iterations (relative > 1e-12)",
                       tr.rises, tr.iters);
    if (frc) {
        const char *what = keep_failed ? "" : "; no model written (--keep-failed writes it anyway)";
        if (tr.objective && tr.iters == 0 && !isfinite(tr.objective[0]))
            moem_cli_error("fit", "%s: the objective at the start is not finite (%g): its parameters are too "
                           "large for the data %s%s", src ? src : "the random start (--seed)", tr.objective[0],
                           data_path, what);
        else moem_cli_error("fit", "%s%s", err, what);
        if (!keep_failed) goto out_prog;
        if (tr.objective && !isfinite(tr.objective[tr.iters])) last--;   /* the trace up to its last finite point */
    }
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
    /* the trace goes to its temporary file first and is renamed into place only once the
     * model is written, so that a failure leaves every existing output file as it was */
    /* the run's record: the model file's "fit" member, and (with more) --summary */
    char *sumtext = NULL;
    size_t sumlen = 0;
    FILE *sf = open_memstream(&sumtext, &sumlen);
    if (!sf) { moem_cli_error("fit", "out of memory"); goto out_prog; }
    write_summary(sf, &data, &m, &p, &tr, model_s, prog.obj[last], last, prog.secs[last], f32, seed, restarts,
                  (init || resume) ? 0 : 1, 1);
    if (fclose(sf) || !sumtext) { free(sumtext); moem_cli_error("fit", "out of memory"); goto out_prog; }
    moem_atomic_file o = {0}, so = {0};
    if (summary) {
        if (moem_atomic_open(&so, summary, err, sizeof err)) {
            moem_cli_error("fit", "%s", err);
            free(sumtext);
            goto out_prog;
        }
        write_summary(so.f, &data, &m, &p, &tr, model_s, prog.obj[last], last, prog.secs[last], f32, seed,
                      restarts, (init || resume) ? 0 : 1, 0);
    }
    if (trace_path) {
        if (moem_atomic_open(&o, trace_path, err, sizeof err)) {
            moem_cli_error("fit", "%s", err);
            if (summary) moem_atomic_abort(&so);
            free(sumtext);
            goto out_prog;
        }
        fprintf(o.f, "# moem %s isa=%s precision=%s algo=%s model=%s\niter,objective,seconds\n", MOEM_VERSION,
                moem_isa_name(), f32 ? "f32" : "f64", moem_algo_name(p.algo), model_s);
        for (int t = 0; t <= last; t++) fprintf(o.f, "%d,%.17g,%.9f\n", t, prog.obj[t], prog.secs[t]);
    }
    int wbad = moem_model_write_fit(out, &m, sumtext, err, sizeof err);
    free(sumtext);
    if (wbad) {
        moem_cli_error("fit", "%s", err);
        if (trace_path) moem_atomic_abort(&o);
        if (summary) moem_atomic_abort(&so);
        goto out_prog;
    }
    if (trace_path && moem_atomic_commit(&o, err, sizeof err)) {
        moem_cli_error("fit", "%s", err);
        if (summary) moem_atomic_abort(&so);
        goto out_prog;
    }
    if (summary && moem_atomic_commit(&so, err, sizeof err)) { moem_cli_error("fit", "%s", err); goto out_prog; }
    if (frc) {
        moem_cli_error("fit", "the failed run's model written to %s (--keep-failed)", out);
        goto out_prog;
    }
    if (!quiet)
        fprintf(stderr, "moem fit: %s %s, %d iterations%s, objective %.10g -> %.10g, %.3f s (isa %s, %s)\n",
                moem_algo_name(p.algo), model_s, last,
                p.tol > 0 ? (tr.converged ? " (converged: --tol)" : " (not converged: --iters reached)") : "",
                prog.obj[0], prog.obj[last], prog.secs[last], moem_isa_name(), f32 ? "f32" : "f64");
    rc = MOEM_EXIT_OK;
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
