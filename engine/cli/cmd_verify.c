/* moem verify: EM and the independent unit-step mirror-descent reference side by side, with
 * the identities of MATH.md checked at every iteration, and the missing-information
 * diagnostics (T9) of the symmetric models. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "mirror.h"
#include "moem.h"
#include "rng.h"
#include "synth.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: moem verify --model MODEL [--data DATA.csv] [options]\n"
        "\n"
        "Runs EM and unit-step mirror descent (computed from L and the mirror map A alone, by code\n"
        "that shares nothing with EM) from the same start and prints per iteration\n"
        "max|theta_EM - theta_MD|, L(theta_t), D_A(theta_t, theta_t+1) and whether these held:\n"
        "  match  max|theta_EM - theta_MD| <= %g (softmax experts: class rows relative to the last)\n"
        "  T2     F_t(theta) == Q(theta|theta_t) - Q(theta_t|theta_t) at theta_t+1 and a random theta\n"
        "         (relative error <= 1e-8 of max(|F_t|, |Q - Q_t|, 1e-5 (1 + |L|)); Q from EM's\n"
        "         responsibilities, F_t from the reference)\n"
        "  T4     majorisation: Q(theta_t+1|theta_t) - Q(theta_t|theta_t)\n"
        "         = L(theta_t+1) - L(theta_t) + KL(r_t || r_t+1) >= L(theta_t+1) - L(theta_t)\n"
        "  T5     sufficient decrease L(theta_t+1) <= L(theta_t) - D_A(theta_t, theta_t+1) (symmetric\n"
        "         models; K experts: L(theta_t+1) <= L(theta_t) + F_t(theta_t+1) <= L(theta_t))\n"
        "  T7     relative smoothness: L(theta_t+1) <= L(theta_t) + <grad L(theta_t), theta_t+1 - theta_t>\n"
        "         + D_A(theta_t+1, theta_t) (K experts: in natural parameters, = L(theta_t) + F_t(theta_t+1))\n"
        "T4, T5 and T7 allow a slack of %g (1 + |L|). For symlin and symlog it then runs EM to its\n"
        "fixed point theta_hat and prints lambda_max of M = (grad^2 A)^-1 I_miss, alpha = 1 - lambda_max,\n"
        "and the predicted linear rate next to the observed |theta_t+1 - theta_hat| / |theta_t - theta_hat|.\n"
        "Exit status: 0 every check held; 1 a check failed, bad input or a diverged run; 2 usage.\n"
        "\n"
        "  --model MODEL   symlin, symlog, linear, logistic or softmax\n"
        "  --data FILE     CSV data `y,x1,...,xd` (default: sampled from a random true model,\n"
        "                  --n 1000 --d 10, gate and expert norms 4, as in the paper)\n"
        "  --experts K     experts (default 3 for linear and logistic, 2 for softmax)\n"
        "  --classes C     classes of softmax experts (default 3)\n"
        "  --init FILE     starting model (JSON); default: the truth plus N(0, 0.5^2) noise\n"
        "                  (synthetic data) or a random model (--data)\n"
        "  --iters T       iterations (default 10)\n"
        "  --n N, --d D    size of the default synthetic data\n"
        "  --seed S        random seed (default 1)\n"
        "  -h, --help      this help\n", MOEM_MD_TOL_MATCH, MOEM_MD_TOL_SLACK);
}

#define FAIL(...) do { moem_cli_error("verify", __VA_ARGS__); goto done; } while (0)
#define USAGE(...) do { rc = MOEM_EXIT_USAGE; FAIL(__VA_ARGS__); } while (0)

/* relative error of F_t against Q - Q_t (through the EM path: moem_em_q_gap); the scale has a
 * floor of 1e-5 (1 + |L(theta_t)|) because Q - Q_t is a difference of objectives, exact to a few
 * ulps of L only */
static double t2_error(const moem_data *data, const moem_model *th, const moem_model *tt, double L0)
{
    double f = moem_md_surrogate(data, th, tt), q = moem_em_q_gap(data, th, tt);
    double s = fmax(fmax(fabs(f), fabs(q)), 1e-5 * (1 + fabs(L0)));
    return fabs(f - q) / s;
}

static double dist2(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
    return sqrt(s);
}

/* T9: run EM from start to its fixed point theta_hat, then compare lambda_max(M(theta_hat)) with
 * the rate observed along the way. Prints its lines; returns 0 or -1. */
static int diagnostics(const moem_data *data, const moem_model *start, const moem_params *p)
{
    char err[512];
    size_t D = moem_md_dim(start);
    int cap = 5000, T = 0;
    double *traj = malloc((size_t)(cap + 1) * D * sizeof(double));
    moem_model m;
    if (!traj || moem_model_copy(&m, start, err, sizeof err)) { free(traj); moem_cli_error("verify", "out of memory"); return -1; }
    moem_md_pack(&m, traj);
    while (T < cap) {
        if (moem_em_step(data, &m, p, err, sizeof err)) { moem_cli_error("verify", "%s", err); break; }
        T++;
        moem_md_pack(&m, traj + (size_t)T * D);
        if (dist2(traj + (size_t)T * D, traj + (size_t)(T - 1) * D, D) <= 1e-14) break;
    }
    double lam;
    int rc = -1;
    if (moem_md_missing_info(data, &m, &lam, NULL, err, sizeof err)) { moem_cli_error("verify", "%s", err); goto out; }
    const double *hat = traj + (size_t)T * D;
    int first = -1, last = -1;
    for (int t = 0; t < T; t++) {       /* asymptotic regime: 1e-9 <= |theta_t - theta_hat| <= 1e-3 */
        double e0 = dist2(traj + (size_t)t * D, hat, D), e1 = dist2(traj + (size_t)(t + 1) * D, hat, D);
        if (e0 > 1e-3 || e1 < 1e-9) continue;
        if (first < 0) first = t;
        last = t;
    }
    printf("\nT9 (missing information at the EM fixed point theta_hat, reached after %d more iterations):\n", T);
    printf("  lambda_max(M) = %.6f, M = (grad^2 A)^-1 I_miss\n", lam);
    printf("  alpha = 1 - lambda_max = %.6f (relative strong convexity)\n", 1 - lam);
    if (first >= 0 && last > first) {
        double e0 = dist2(traj + (size_t)first * D, hat, D), e1 = dist2(traj + (size_t)(last + 1) * D, hat, D);
        double obs = pow(e1 / e0, 1.0 / (last + 1 - first));
        printf("  linear rate of |theta_t - theta_hat|: predicted %.6f, observed %.6f (iterations %d-%d of the run to theta_hat)\n",
               lam, obs, first, last + 1);
    } else
        printf("  linear rate of |theta_t - theta_hat|: predicted %.6f, observed: too few iterations in 1e-9 .. 1e-3\n", lam);
    rc = 0;
out:
    moem_model_free(&m);
    free(traj);
    return rc;
}

int moem_cmd_verify(int argc, char **argv)
{
    enum { O_DATA = 256, O_MODEL, O_EXPERTS, O_CLASSES, O_INIT, O_ITERS, O_SEED, O_N, O_D };
    static const struct option opts[] = {
        {"data", required_argument, NULL, O_DATA},
        {"model", required_argument, NULL, O_MODEL},
        {"experts", required_argument, NULL, O_EXPERTS},
        {"classes", required_argument, NULL, O_CLASSES},
        {"init", required_argument, NULL, O_INIT},
        {"iters", required_argument, NULL, O_ITERS},
        {"seed", required_argument, NULL, O_SEED},
        {"n", required_argument, NULL, O_N},
        {"d", required_argument, NULL, O_D},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *data_path = NULL, *model = NULL, *init_path = NULL;
    size_t K = 0, C = 0, n = 1000, d = 10;
    long iters = 10;
    unsigned long long seed = 1;
    moem_data data = {0};
    moem_model truth = {0}, em = {0}, md = {0}, emn = {0}, mdn = {0}, rnd = {0};
    char err[512];
    int rc = MOEM_EXIT_USAGE, c;

    if (moem_cli_exact_options("verify", argc, argv, opts)) return MOEM_EXIT_USAGE;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        const char *a = optarg;
        switch (c) {
        case 'h': usage(stdout); return 0;
        case O_DATA: data_path = a; break;
        case O_MODEL: model = a; break;
        case O_INIT: init_path = a; break;
        case O_EXPERTS:
            if (moem_cli_parse_size(a, 1, 1000, &K)) USAGE("--experts must be an integer in 1 .. 1000, got '%s'", a);
            break;
        case O_CLASSES:
            if (moem_cli_parse_size(a, 2, 1000, &C)) USAGE("--classes must be an integer in 2 .. 1000, got '%s'", a);
            break;
        case O_ITERS:
            if (moem_cli_parse_int(a, 0, 1000000, &iters)) USAGE("--iters must be an integer in 0 .. 1000000, got '%s'", a);
            break;
        case O_SEED:
            if (moem_cli_parse_u64(a, &seed)) USAGE("--seed must be an unsigned 64-bit integer, got '%s'", a);
            break;
        case O_N:
            if (moem_cli_parse_size(a, 1, SIZE_MAX, &n)) USAGE("--n must be an integer >= 1, got '%s'", a);
            break;
        case O_D:
            if (moem_cli_parse_size(a, 1, 4096, &d)) USAGE("--d must be an integer in 1 .. 4096, got '%s'", a);
            break;
        case ':': USAGE("option '%s' needs a value (moem verify --help)", argv[optind - 1]);
        default: USAGE("unknown option '%s' (moem verify --help)", argv[optind - 1]);
        }
    }
    if (optind < argc) USAGE("unexpected argument '%s' (moem verify --help)", argv[optind]);
    if (!model) USAGE("--model is required (moem verify --help)");
    moem_family fam;
    int sym = 0;
    if (moem_model_spec_parse(model, &fam, &sym))
        USAGE("unknown --model '%s' (symlin, symlog, linear, logistic or softmax)", model);
    if (sym && K && K != 2) USAGE("--model %s has exactly 2 experts, got --experts %zu", model, K);
    if (C && fam != MOEM_SOFTMAX) USAGE("--classes applies to --model softmax only");
    const int K_given = K != 0, C_given = C != 0;
    if (!K) K = sym || fam == MOEM_SOFTMAX ? 2 : 3;
    if (!C) C = fam == MOEM_SOFTMAX ? 3 : fam == MOEM_LOGISTIC ? 2 : 1;

    if (moem_cli_isa_ok("verify")) goto done;
    rc = MOEM_EXIT_FAIL;
    moem_rng rng;
    moem_rng_seed(&rng, (uint64_t)seed);
    if (data_path) {
        if (moem_cli_read_data("verify", data_path, &data)) goto done;
        d = data.d;
    } else {
        if (moem_synth_truth(&truth, fam, sym, K, d, C, 4.0, 4.0, &rng, err, sizeof err)) FAIL("%s", err);
        if (moem_synth_sample(&truth, n, &rng, &data, err, sizeof err)) FAIL("%s", err);
    }
    if (init_path) {
        if (moem_model_read(init_path, &em, err, sizeof err)) FAIL("%s", err);
        if (em.family != fam || em.symmetric != sym)
            FAIL("--init %s holds a %s%s model, not --model %s", init_path, em.symmetric ? "symmetric " : "",
                 moem_family_name(em.family), model);
        if (em.K != K) FAIL("--init %s has K = %zu experts, not --experts %zu%s", init_path, em.K, K, K_given ? "" : " (the default)");
        if (fam == MOEM_SOFTMAX && em.C != C)
            FAIL("--init %s has C = %zu classes, not --classes %zu%s", init_path, em.C, C, C_given ? "" : " (the default)");
    } else if (data_path) {
        if (moem_model_alloc(&em, fam, sym, K, d, C, err, sizeof err)) FAIL("%s", err);
        moem_md_perturb(&em, &rng, 1.0 / sqrt((double)d));
    } else {
        if (moem_model_copy(&em, &truth, err, sizeof err)) FAIL("%s", err);
        moem_md_perturb(&em, &rng, 0.5);
    }
    const char *e = moem_model_validate(&em);
    if (e) FAIL("%s: %s", init_path ? init_path : "the start", e);
    if ((e = moem_model_data_check(&em, &data))) {
        moem_cli_data_error("verify", data_path ? data_path : "the synthetic data", &data, &em, e);
        goto done;
    }
    if (em.K > data.n) FAIL("%s: %zu samples, fewer than the %zu experts", data_path ? data_path : "--n", data.n, em.K);
    if (moem_model_copy(&md, &em, err, sizeof err)) FAIL("%s", err);

    moem_params p;
    moem_params_default(&p);
    p.newton_tol = 1e-20;     /* exact M-steps: EM == MD needs tight inner solvers */
    p.newton_max = 200;
    p.algo = MOEM_ALGO_EM;

    printf("moem verify: model %s, K = %zu, d = %zu, N = %zu%s%s, isa %s, seed %llu\n", model, K, d, data.n,
           data_path ? ", data " : " (synthetic)", data_path ? data_path : "", moem_isa_name(), seed);
    printf("tolerances: match %g, T2 relative 1e-8, T4/T5/T7 slack %g (1 + |L|)\n", MOEM_MD_TOL_MATCH, MOEM_MD_TOL_SLACK);
    printf("%4s  %13s  %20s  %13s  %9s  %5s %3s %3s %3s %3s\n", "t", "max|EM-MD|", "L(theta_t)", "D_A(t,t+1)",
           "T2 rel", "match", "T2", "T4", "T5", "T7");
    int all = 1;
    for (long t = 0; t < iters; t++) {
        moem_md_check ck;
        if (moem_model_copy(&emn, &em, err, sizeof err) || moem_model_copy(&mdn, &md, err, sizeof err)) FAIL("%s", err);
        if (moem_em_step(&data, &emn, &p, err, sizeof err)) FAIL("EM step %ld: %s", t + 1, err);
        p.algo = MOEM_ALGO_MD;
        if (moem_md_step(&data, &mdn, &p, err, sizeof err)) FAIL("MD step %ld: %s", t + 1, err);
        p.algo = MOEM_ALGO_EM;
        if (moem_md_check_step(&data, &em, &emn, &mdn, &ck, err, sizeof err)) FAIL("%s", err);
        if (moem_model_copy(&rnd, &emn, err, sizeof err)) FAIL("%s", err);
        moem_md_perturb(&rnd, &rng, 0.1);
        double t2 = fmax(t2_error(&data, &emn, &em, ck.L0), t2_error(&data, &rnd, &em, ck.L0));
        moem_model_free(&rnd);
        if (!isfinite(ck.L0) || !isfinite(ck.diff) || !isfinite(ck.breg) || !isfinite(t2))
            FAIL("iteration %ld: EM or the mirror-descent reference diverged (%s is not finite); the data "
                 "may have no maximum-likelihood point (separable labels?)", t,
                 !isfinite(ck.L0) ? "L(theta_t)" : !isfinite(ck.diff) ? "max|EM-MD|"
                 : !isfinite(ck.breg) ? "D_A(t,t+1)" : "T2's F_t or Q");
        int ok2 = t2 <= 1e-8;
        all &= ck.ok_match && ok2 && ck.ok_t4 && ck.ok_t5 && ck.ok_t7;
        printf("%4ld  %13.3e  %20.15f  %13.6e  %9.2e  %5s %3s %3s %3s %3s\n", t, ck.diff, ck.L0, ck.breg, t2,
               ck.ok_match ? "ok" : "NO", ok2 ? "ok" : "NO", ck.ok_t4 ? "ok" : "NO", ck.ok_t5 ? "ok" : "NO",
               ck.ok_t7 ? "ok" : "NO");
        moem_model_free(&em);
        moem_model_free(&md);
        em = emn;
        md = mdn;
        memset(&emn, 0, sizeof emn);
        memset(&mdn, 0, sizeof mdn);
    }
    printf("%4ld  %13s  %20.15f\n", iters, "", moem_objective(&data, &em));
    if (sym && diagnostics(&data, &em, &p)) FAIL("diagnostics failed");
    printf("\n%s\n", all ? "all checks held" : "SOME CHECKS FAILED");
    rc = all ? MOEM_EXIT_OK : MOEM_EXIT_FAIL;
done:
    moem_data_free(&data);
    moem_model_free(&truth);
    moem_model_free(&em);
    moem_model_free(&md);
    moem_model_free(&emn);
    moem_model_free(&mdn);
    moem_model_free(&rnd);
    return rc;
}
