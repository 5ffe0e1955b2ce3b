/* moem_bench_gate: a fixed small workload per kernel and per algorithm iteration, each wrapped
 * in callgrind client requests so that `valgrind --tool=callgrind` reports its instruction
 * count in a dump named after it (ci/bench-gate compares those with bench/baseline.txt).
 * Run natively it just executes the workloads (and `--list` prints the names).
 * Every workload runs once untimed first so that one-time set-up is not counted. */
#include <stdio.h>
#include <string.h>
#include <valgrind/callgrind.h>
#include "moem.h"
#include "moem_ops.h"
#include "workloads.h"

static const struct { const char *tag; size_t n, d, K, C; } gate_probs[] = {
    {"symlin", 1000, 10, 2, 1},
    {"lin", 2000, 20, 4, 1},
    {"logit", 2000, 20, 4, 2},
    {"soft", 500, 50, 2, 10},
    {"fmnist", 240, 785, 2, 10},    /* rows of the Fashion-MNIST width: the wide-row products */
};
#define NGATE (sizeof gate_probs / sizeof gate_probs[0])

static int wanted(bw_op op, size_t j)
{
    int kernel = op <= BW_SUFFSTAT, sym = strcmp(gate_probs[j].tag, "symlin") == 0;
    int logit = strcmp(gate_probs[j].tag, "logit") == 0;
    int soft = strcmp(gate_probs[j].tag, "soft") == 0;
    if (strcmp(gate_probs[j].tag, "fmnist") == 0) return op == BW_GD || op == BW_EM;
    if (op == BW_MD && soft) return 0;  /* the softmax mirror-descent reference: ~5e9 instructions */
    if (op == BW_EMX) return soft;      /* elsewhere the M-step is exact already: emx = em */
    if (op == BW_FIT10) return sym;     /* the paper's size: a fit's iteration */
    if (op == BW_PREDICT) return !sym;  /* prediction on lin/logit/soft, like the kernels */
    return kernel ? !sym : !logit;      /* kernels on lin/logit/soft; algorithms on symlin/lin/soft */
}

int main(int argc, char **argv)
{
    int list = argc > 1 && strcmp(argv[1], "--list") == 0;
    if (argc > 1 && !list) {
        fprintf(stderr, "usage: moem_bench_gate [--list]   (see ci/bench-gate)\n");
        return strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    if (moem_ops_error()) {
        fprintf(stderr, "moem_bench_gate: %s\n", moem_ops_error());
        return 2;
    }
    printf("isa %s\n", moem_isa_name());
    int failed = 0;
    for (size_t j = 0; j < NGATE; j++) {
        bw_problem p;
        char err[256] = "";
        if (!list && bw_problem_make(&p, gate_probs[j].tag, gate_probs[j].n, gate_probs[j].d,
                                     gate_probs[j].K, gate_probs[j].C, 7, err, sizeof err)) {
            fprintf(stderr, "moem_bench_gate: %s\n", err);
            return 1;
        }
        for (bw_op op = 0; op < BW_NOPS; op++) {
            if (!wanted(op, j)) continue;
            char name[64];
            double sink = 0;
            snprintf(name, sizeof name, "%s_%s", bw_op_name(op), gate_probs[j].tag);
            if (list) { printf("%s\n", name); continue; }
            if (bw_run(&p, op, &sink, err, sizeof err)) {
                printf("%s failed: %s\n", name, err);
                failed = 1;
                continue;
            }
            CALLGRIND_ZERO_STATS;
            int rc = bw_run(&p, op, &sink, err, sizeof err);
            CALLGRIND_DUMP_STATS_AT(name);
            if (rc) {                   /* the counted run must succeed too */
                printf("%s failed: %s\n", name, err);
                failed = 1;
                continue;
            }
            printf("%s ok %.17g\n", name, sink);
        }
        if (!list) bw_problem_free(&p);
    }
    return failed;
}
