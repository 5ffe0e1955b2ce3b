/* moem_bench: the timed suite. Benchmarks are named BM_<op>_<problem>/<isa>/<N>/<d>/<K>:
 *   limits   BM_triad/<n>, BM_exp/<isa>/<len>, BM_fma/<isa>/<rounds>
 *   kernels  estep, grad, suffstat on lin, logit (K = 4 experts) and soft (C = 10, K = 2),
 *            each reporting its roofline fractions against the limits measured at start-up
 *   targets  estep, grad, predict on lin2 (K = 2 linear experts, N = 1e5, d = 10) and lin2m (N = 1e6,
 *            d = 20; lin2m_f32: X stored in float32): the SIMD issue's targets
 *   algos    em, gem, gd, md: one iteration on symlin, lin and fmnist (md: not on fmnist: the
 *            mirror-descent reference solves Newton systems of (C-1) d = 7065 unknowns per
 *            softmax expert there and runs for minutes; it is a correctness reference);
 *            fit10: ten EM iterations of moem_fit on symlin and lin16 (divide by 10).
 *   table    BM_<kernel>/<isa>/<shape>: one call of each entry of the kernel table (xm, atx,
 *            wgram, xm_cols, atx_cols, estep, softmax0_cols, to_rows) of every table this
 *            build and CPU have, on one block of 4096 rows (d = 32, m = 8 outputs, K = 2
 *            linear experts): time per call and rows_per_s.
 * The kernel table of the engine benchmarks is the active one (MOEM_ISA selects it); ci/bench
 * runs once per ISA.
 * MOEM_BENCH_SMALL=1 shrinks every problem (smoke test). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "gbench_c.h"
#include "limits.h"
#include "moem_ops.h"
#include "workloads.h"

static bl_rates rates;
static bl_isa active_isa = BL_SCALAR;
static int small;

typedef struct prob_slot {
    const char *tag;       /* the name in the benchmarks' names */
    const char *kind;      /* the problem for bw_problem_make (NULL: tag) */
    int f32;               /* X stored in float32 (moem_data_to_f32) */
    size_t n, d, K, C;
    int made, failed;
    bw_problem p;
    char err[256];
} prob_slot;

static prob_slot probs[] = {
    {.tag = "symlin", .n = 1000, .d = 10, .K = 2, .C = 1},
    {.tag = "lin", .n = 1000000, .d = 20, .K = 4, .C = 1},
    {.tag = "logit", .n = 1000000, .d = 20, .K = 4, .C = 2},
    {.tag = "fmnist", .n = 60000, .d = 785, .K = 2, .C = 10},
    {.tag = "lin2", .kind = "lin", .n = 100000, .d = 10, .K = 2, .C = 1},
    {.tag = "lin2m", .kind = "lin", .n = 1000000, .d = 20, .K = 2, .C = 1},
    {.tag = "lin2m_f32", .kind = "lin", .f32 = 1, .n = 1000000, .d = 20, .K = 2, .C = 1},
    {.tag = "lin16", .kind = "lin", .n = 200000, .d = 16, .K = 2, .C = 1},
};
#define NPROBS (sizeof probs / sizeof probs[0])

/* built on first use, before the timed loop starts */
static bw_problem *get_problem(prob_slot *s, gbc_state *st)
{
    if (!s->made && !s->failed) {
        if (bw_problem_make(&s->p, s->kind ? s->kind : s->tag, s->n, s->d, s->K, s->C, 20250101,
                            s->err, sizeof s->err) ||
            (s->f32 && moem_data_to_f32(&s->p.data, s->err, sizeof s->err)))
            s->failed = 1;
        else
            s->made = 1;
    }
    if (s->failed) { gbc_skip_with_error(st, s->err); return NULL; }
    return &s->p;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct case_ctx { prob_slot *slot; bw_op op; } case_ctx;

static void bm_case(gbc_state *st, void *vctx)
{
    case_ctx *c = vctx;
    bw_problem *p = get_problem(c->slot, st);
    if (!p) return;
    char err[256] = "";
    double sink = 0, t0 = now();
    while (gbc_keep_running(st)) {
        if (bw_run(p, c->op, &sink, err, sizeof err)) { gbc_skip_with_error(st, err); break; }
        gbc_do_not_optimize_double(sink);
    }
    double it = (double)gbc_iterations(st), n = (double)p->data.n;
    if (it <= 0) return;
    gbc_counter(st, "ns_per_sample", 1e9 * (now() - t0) / (it * n), GBC_COUNT);
    gbc_set_items_processed(st, (int64_t)(it * n));
    bw_cost k = bw_op_cost(p, c->op);
    if (k.bytes <= 0) return;
    gbc_set_bytes_processed(st, (int64_t)(it * k.bytes));
    gbc_counter(st, "work_bytes", k.bytes, GBC_COUNT);     /* the cost model, per iteration */
    gbc_counter(st, "work_exps", k.exps, GBC_COUNT);
    gbc_counter(st, "work_flops", k.flops, GBC_COUNT);
    double tb = rates.bytes_per_s > 0 ? k.bytes / rates.bytes_per_s : 0;
    double te = rates.exps_per_s[active_isa] > 0 ? k.exps / rates.exps_per_s[active_isa] : 0;
    double tf = rates.flops_per_s[active_isa] > 0 ? k.flops / rates.flops_per_s[active_isa] : 0;
    double tbound = fmax(tb, fmax(te, tf));
    /* rate counters: (work per second) / (measured limit), i.e. fractions of each bound */
    gbc_counter(st, "bw_frac", it * tb, GBC_RATE);
    gbc_counter(st, "exp_frac", it * te, GBC_RATE);
    gbc_counter(st, "flop_frac", it * tf, GBC_RATE);
    gbc_counter(st, "bound_frac", it * tbound, GBC_RATE);
}

/* ---- the kernel table, entry by entry ------------------------------------------------------ */

/* One block of rows for the table's entries: n rows of d features, m outputs of xm / atx, K
 * linear experts of one row each for estep (mtot = 2K columns). Column-major workspaces have
 * ld = n (a multiple of 8). Inputs are fixed pseudo-random values; every call does the same
 * work (the accumulating kernels add into their output, which stays finite). */
#define KB_N 4096
#define KB_D 32
#define KB_M 8
#define KB_K 2
typedef enum kb_kernel {
    KB_XM, KB_ATX, KB_WGRAM, KB_XM_COLS, KB_ATX_COLS, KB_ESTEP, KB_SOFTMAX0_COLS, KB_TO_ROWS,
    KB_NKERNELS
} kb_kernel;
static const char *const kb_names[KB_NKERNELS] = {
    "xm", "atx", "wgram", "xm_cols", "atx_cols", "estep", "softmax0_cols", "to_rows"};
typedef struct kb_ctx { const moem_ops *ops; kb_kernel k; } kb_ctx;

/* 64-byte aligned, filled with values in [lo, hi) */
static double *kb_array(size_t len, double lo, double hi, uint64_t *seed)
{
    double *a = aligned_alloc(64, (len * sizeof(double) + 63) / 64 * 64);
    if (!a) return NULL;
    for (size_t i = 0; i < len; i++) {
        *seed = *seed * 6364136223846793005u + 1442695040888963407u;
        a[i] = lo + (hi - lo) * (double)(*seed >> 11) * 0x1p-53;
    }
    return a;
}

static void bm_kernel(gbc_state *st, void *vctx)
{
    const kb_ctx *c = vctx;
    const moem_ops *o = c->ops;
    const size_t n = (size_t)gbc_arg(st, 0), d = KB_D, m = KB_M, K = KB_K, ld = n;
    uint64_t seed = 20250101;
    /* X (n x d), M (m x d), A (n x m), w (n), y (n), Zt (m x ld, also the estep's mt x ld
     * scores), Pt, Rt (K x ld), At (m x ld), G (d x d, also m x d), R (n x K), lse (n) */
    double *X = kb_array(n * d, -1, 1, &seed), *M = kb_array(m * d, -1, 1, &seed),
           *A = kb_array(n * m, -1, 1, &seed), *w = kb_array(n, 0, 1, &seed),
           *y = kb_array(n, -2, 2, &seed), *Zt = kb_array(m * ld, -2, 2, &seed),
           *Pt = kb_array(K * ld, 0, 1, &seed), *Rt = kb_array(K * ld, 0, 1, &seed),
           *At = kb_array(m * ld, -1, 1, &seed), *G = kb_array(d * d, 0, 0, &seed),
           *R = kb_array(n * K, 0, 0, &seed), *lse = kb_array(n, 0, 0, &seed);
    double s2[KB_K] = {1.0, 2.0}, logc[KB_K], gs2[KB_K] = {0, 0};
    for (size_t k = 0; k < K; k++) logc[k] = 0.5 * log(6.283185307179586 * s2[k]);   /* 2 pi */
    const moem_estep_args e = {.family = 0, .K = K, .P = 1, .s2 = s2, .logc = logc};
    if (!X || !M || !A || !w || !y || !Zt || !Pt || !Rt || !At || !G || !R || !lse) {
        gbc_skip_with_error(st, "out of memory for the kernel's block");
    } else {
        double sink = 0;
        while (gbc_keep_running(st)) {
            switch (c->k) {
            case KB_XM: o->xm(n, d, X, m, M, Zt); break;
            case KB_ATX: o->atx(n, d, X, m, A, G); break;
            case KB_WGRAM: o->wgram(n, d, X, w, G); break;
            case KB_XM_COLS: o->xm_cols(n, d, X, m, M, Zt, ld); break;
            case KB_ATX_COLS: o->atx_cols(n, d, X, m, At, ld, G); break;
            case KB_ESTEP: sink += o->estep(&e, n, y, Zt, ld, Pt, Rt, At, gs2); break;
            case KB_SOFTMAX0_COLS: o->softmax0_cols(n, m, Zt, ld, lse); break;
            case KB_TO_ROWS: o->to_rows(n, K, Rt, ld, R); break;
            default: break;
            }
            gbc_do_not_optimize_double(sink);
            gbc_clobber_memory();
        }
        double it = (double)gbc_iterations(st);
        gbc_counter(st, "rows_per_s", it * (double)n, GBC_RATE);
        gbc_set_items_processed(st, (int64_t)(it * (double)n));
    }
    free(X); free(M); free(A); free(w); free(y); free(Zt);
    free(Pt); free(Rt); free(At); free(G); free(R); free(lse);
}

/* ---- the limits as benchmarks ---------------------------------------------------------- */

static void bm_triad(gbc_state *st, void *vctx)
{
    size_t n = (size_t)gbc_arg(st, 0);
    (void)vctx;
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
    if (!a || !b || !c) {
        gbc_skip_with_error(st, "out of memory for the triad arrays");
    } else {
        #pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) { a[i] = 0; b[i] = 1; c[i] = 2; }
        double bytes = 0;
        while (gbc_keep_running(st)) {
            bytes += bl_triad(n, a, b, c, 3.0);
            gbc_clobber_memory();
        }
        gbc_set_bytes_processed(st, (int64_t)bytes);
    }
    free(a); free(b); free(c);
}

static void bm_exp(gbc_state *st, void *vctx)
{
    bl_isa isa = *(const bl_isa *)vctx;
    double n = 0;
    while (gbc_keep_running(st)) n += bl_exp(isa, (size_t)gbc_arg(st, 0) / BL_EXP_LEN);
    gbc_counter(st, "exps_per_s", n, GBC_RATE);
    gbc_set_items_processed(st, (int64_t)n);
}

static void bm_fma(gbc_state *st, void *vctx)
{
    bl_isa isa = *(const bl_isa *)vctx;
    double f = 0;
    while (gbc_keep_running(st)) f += bl_fma(isa, (size_t)gbc_arg(st, 0) / BL_FMA_BLOCK);
    gbc_counter(st, "flops_per_s", f, GBC_RATE);
}

/* ---- registration ------------------------------------------------------------------------- */

static void reg(const char *name, gbc_fn fn, void *ctx, int64_t a, int64_t b, int64_t c,
                size_t nargs, int unit)
{
    int64_t args[3] = {a, b, c};
    if (gbc_register(name, fn, ctx, args, nargs, unit)) {
        fprintf(stderr, "moem_bench: cannot register %s\n", name);
        exit(2);
    }
}

static prob_slot *slot(const char *tag)
{
    for (size_t i = 0; i < NPROBS; i++)
        if (strcmp(probs[i].tag, tag) == 0) return &probs[i];
    return NULL;
}

static void register_all(const char *isa)
{
    static bl_isa isas[BL_NISA];
    static case_ctx cases[64];
    size_t nc = 0;
    char name[128];

    reg("BM_triad", bm_triad, NULL, small ? 1 << 20 : 1 << 26, 0, 0, 1, GBC_MS);
    for (int i = 0; i < BL_NISA; i++) {
        isas[i] = (bl_isa)i;
        if (!bl_isa_supported(isas[i])) continue;
        snprintf(name, sizeof name, "BM_exp/%s", bl_isa_name(isas[i]));
        reg(name, bm_exp, &isas[i], 1 << 20, 0, 0, 1, GBC_US);
        snprintf(name, sizeof name, "BM_fma/%s", bl_isa_name(isas[i]));
        reg(name, bm_fma, &isas[i], 1 << 20, 0, 0, 1, GBC_US);
    }

    static const char *const kprobs[][2] = {{"lin", "lin"}, {"logit", "logit"}, {"fmnist", "soft"}};
    for (bw_op op = BW_ESTEP; op <= BW_SUFFSTAT; op++)
        for (size_t j = 0; j < 3; j++) {
            prob_slot *s = slot(kprobs[j][0]);
            cases[nc] = (case_ctx){s, op};
            snprintf(name, sizeof name, "BM_%s_%s/%s", bw_op_name(op), kprobs[j][1], isa);
            reg(name, bm_case, &cases[nc++], (int64_t)s->n, (int64_t)s->d, (int64_t)s->K, 3, GBC_US);
        }
    static const char *const tprobs[] = {"lin2", "lin2m", "lin2m_f32"};
    for (bw_op op = BW_ESTEP; op <= BW_PREDICT; op = op == BW_GRAD ? BW_PREDICT : op + 1)
        for (size_t j = 0; j < 3; j++) {
            prob_slot *s = slot(tprobs[j]);
            cases[nc] = (case_ctx){s, op};
            snprintf(name, sizeof name, "BM_%s_%s/%s", bw_op_name(op), tprobs[j], isa);
            reg(name, bm_case, &cases[nc++], (int64_t)s->n, (int64_t)s->d, (int64_t)s->K, 3, GBC_US);
        }
    /* the kernel table's entries, for every table this build and CPU have (the tables'
     * own names: bl_isa has no NEON); the arguments are the block's shape */
    static const char *const tables[] = {"scalar", "avx2", "avx512", "neon"};
    static kb_ctx kcases[4 * KB_NKERNELS];
    size_t nk = 0;
    const int64_t kn = small ? 512 : KB_N;
    for (size_t t = 0; t < 4; t++) {
        const moem_ops *o = moem_ops_by_name(tables[t]);
        if (!o) continue;
        for (kb_kernel k = 0; k < KB_NKERNELS; k++) {
            kcases[nk] = (kb_ctx){o, k};
            snprintf(name, sizeof name, "BM_%s/%s", kb_names[k], tables[t]);
            if (k == KB_XM || k == KB_ATX || k == KB_XM_COLS || k == KB_ATX_COLS)
                reg(name, bm_kernel, &kcases[nk++], kn, KB_D, KB_M, 3, GBC_US);   /* n/d/m */
            else if (k == KB_WGRAM)
                reg(name, bm_kernel, &kcases[nk++], kn, KB_D, 0, 2, GBC_US);      /* n/d */
            else if (k == KB_SOFTMAX0_COLS)
                reg(name, bm_kernel, &kcases[nk++], kn, KB_M, 0, 2, GBC_US);      /* n/J */
            else
                reg(name, bm_kernel, &kcases[nk++], kn, KB_K, 0, 2, GBC_US);      /* n/K */
        }
    }
    /* algorithms; emx (exact EM) only where the M-step is not already exact: fmnist (its exact
     * M-step, Newton-CG on 7065 unknowns per expert, takes about a minute) and lin16 (the
     * issue's linear shape, with em and gd beside it) */
    static const char *const aprobs[] = {"symlin", "lin", "fmnist", "lin16"};
    for (bw_op op = BW_EM; op <= BW_FIT10; op++)
        for (size_t j = 0; j < 4; j++) {
            prob_slot *s = slot(aprobs[j]);
            int fm = strcmp(s->tag, "fmnist") == 0, l16 = strcmp(s->tag, "lin16") == 0;
            if (op == BW_MD && fm) continue;   /* see below */
            if (l16 && op != BW_EM && op != BW_GD && op != BW_FIT10) continue;
            if (op == BW_EMX && !fm) continue;
            if (op == BW_FIT10 && !l16 && strcmp(s->tag, "symlin") != 0) continue;
            cases[nc] = (case_ctx){s, op};
            snprintf(name, sizeof name, "BM_%s_%s/%s", bw_op_name(op), aprobs[j], isa);
            reg(name, bm_case, &cases[nc++], (int64_t)s->n, (int64_t)s->d, (int64_t)s->K, 3, GBC_MS);
        }
}

/* context entries KEYSUFFIX (wall) and cpu_KEYSUFFIX (per CPU-second of each thread) */
static void context_limit(const char *key, const char *suffix, double wall, double cpu)
{
    char k[96], v[32];
    snprintf(k, sizeof k, "%s%s", key, suffix);
    snprintf(v, sizeof v, "%.4g", wall);
    gbc_add_context(k, v);
    snprintf(k, sizeof k, "cpu_%s%s", key, suffix);
    snprintf(v, sizeof v, "%.4g", cpu);
    gbc_add_context(k, v);
}

int main(int argc, char **argv)
{
    char buf[64];
    const char *e = getenv("MOEM_BENCH_SMALL");
    small = e && *e && strcmp(e, "0") != 0;
    if (small)
        for (size_t i = 0; i < NPROBS; i++) {
            if (probs[i].n > 2000) probs[i].n /= 100;
            if (probs[i].d > 100) probs[i].d = 50;
        }
    int listing = 0;                     /* no calibration for --benchmark_list_tests */
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--benchmark_list_tests", 22) == 0 && strstr(argv[i], "=false") == NULL)
            listing = 1;
    if (gbc_initialize(&argc, argv)) return 2;
    if (moem_ops_error()) {
        fprintf(stderr, "moem_bench: %s\n", moem_ops_error());
        return 2;
    }
    const char *isa = moem_isa_name();
    if (bl_isa_parse(isa, &active_isa)) active_isa = BL_SCALAR;   /* neon: scalar limits */

    if (!listing) bl_calibrate(&rates, small ? 0.25 : 1.0);
    gbc_add_context("moem_isa", isa);
#ifdef _OPENMP
    snprintf(buf, sizeof buf, "%d", omp_get_max_threads());
#else
    snprintf(buf, sizeof buf, "1");
#endif
    gbc_add_context("moem_threads", buf);
    context_limit("limit_triad_bytes_per_s", "", rates.bytes_per_s, rates.bytes_per_s_cpu);
    for (int i = 0; i < BL_NISA; i++) {
        if (rates.exps_per_s[i] <= 0) continue;
        context_limit("limit_exp_per_s_", bl_isa_name((bl_isa)i), rates.exps_per_s[i],
                      rates.exps_per_s_cpu[i]);
        context_limit("limit_flops_per_s_", bl_isa_name((bl_isa)i), rates.flops_per_s[i],
                      rates.flops_per_s_cpu[i]);
    }
    register_all(isa);
    gbc_run();
    gbc_shutdown();
    for (size_t i = 0; i < NPROBS; i++)
        if (probs[i].made) bw_problem_free(&probs[i].p);
    return 0;
}
