/* Force-included before the parser sources: the contract of moem_mul_size (engine/model.c,
 * proved in its own run) that the parsers' size arithmetic relies on, and what WP needs of
 * malloc. */
#ifndef MOEM_PROOF_PARSERS_H
#define MOEM_PROOF_PARSERS_H
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* WP does not model allocation (\fresh): the part of malloc's contract the readers need */
/*@ ensures valid_or_null: \result == \null || \valid((unsigned char *)\result + (0 .. size - 1)); */
extern void *malloc(size_t size);

/* realloc: the same for the new block; the proofs of the callers need nothing of the old one
 * (WP cannot prove the libc contract's \freeable, so the call goes to this declaration) */
/*@ assigns \result \from ptr, size;
    ensures valid_or_null: \result == \null || \valid((unsigned char *)\result + (0 .. size - 1)); */
void *moem_proof_realloc(void *ptr, size_t size);
#define realloc moem_proof_realloc

/* free: nothing the callers' proofs observe (the same reason as realloc) */
/*@ assigns \nothing; */
void moem_proof_free(void *ptr);
#define free moem_proof_free

/*@ requires valid_out: \valid(out);
    assigns *out \from a, b;
    behavior fits:
      assumes a * b <= SIZE_MAX;
      ensures \result == 1 && *out == a * b;
    behavior overflows:
      assumes a * b > SIZE_MAX;
      assigns \nothing;
      ensures \result == 0;
    complete behaviors;
    disjoint behaviors; */
int moem_mul_size(size_t a, size_t b, size_t *out);
#endif
