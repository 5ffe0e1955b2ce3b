/* Shared by the mirror-descent property tests: random instances, tight EM steps, ISA gating. */
#ifndef TEST_MD_UTIL_H
#define TEST_MD_UTIL_H
#include <stdint.h>
#include "moem.h"
#include "rng.h"

typedef struct md_inst {
    moem_data data;
    moem_model truth, start;
    moem_rng rng;
} md_inst;

/* Instance number i of a family: N, d, K, noise and the start's distance from the truth vary
 * with i (every fourth start is far from the truth). K and C as given (symmetric: K = 2). */
void md_inst_make(md_inst *in, moem_family f, int sym, size_t K, size_t C, unsigned i);
void md_inst_free(md_inst *in);
/* EM step with tight inner solvers; asserts success */
void md_em_step(const moem_data *data, moem_model *m);
void md_md_step(const moem_data *data, moem_model *m);
/* non-zero when MOEM_ISA names an ISA the library did not take: the test is skipped */
int md_isa_mismatch(void);
#define MD_ISA_GUARD() do { if (md_isa_mismatch()) { skip(); return; } } while (0)
#define MD_INSTANCES 50
#endif
