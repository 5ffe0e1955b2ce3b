/* Force-included before the parser sources: the contract of moem_mul_size (data/base.c,
 * proved in its own run) that the parsers' size arithmetic relies on, and what WP needs of
 * malloc and memchr. */
#ifndef MOEM_PROOF_PARSERS_H
#define MOEM_PROOF_PARSERS_H
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* WP does not model allocation (\fresh): the part of malloc's contract the readers need */
/* (stated for byte and for char buffers: WP keeps the clause whose cast matches the caller's) */
/*@ ensures valid_or_null: \result == \null || \valid((unsigned char *)\result + (0 .. size - 1));
    ensures valid_or_null_char: \result == \null || \valid((char *)\result + (0 .. size - 1)); */
extern void *malloc(size_t size);

/* realloc: the same for the new block; the proofs of the callers need nothing of the old one
 * (WP cannot prove the libc contract's \freeable, so the call goes to this declaration) */
/*@ assigns \result \from ptr, size;
    ensures valid_or_null: \result == \null || \valid((unsigned char *)\result + (0 .. size - 1));
    ensures valid_or_null_char: \result == \null || \valid((char *)\result + (0 .. size - 1)); */
void *moem_proof_realloc(void *ptr, size_t size);
#define realloc moem_proof_realloc

/* free: nothing the callers' proofs observe (the same reason as realloc) */
/*@ assigns \nothing; */
void moem_proof_free(void *ptr);
#define free moem_proof_free

/* memchr: Frama-C's libc contract gives no lower bound of the result; this one gives where
 * the first c lies (the C standard's memchr) */
/*@ requires valid: \valid_read(s + (0 .. n - 1));
    assigns \result \from s, c, s[0 .. n - 1];
    behavior found:
      assumes \exists integer i; 0 <= i < n && s[i] == c;
      ensures at: \base_addr(\result) == \base_addr(s) && s <= \result < s + n && *\result == c;
      ensures first: \forall integer i; 0 <= i < \result - s ==> s[i] != c;
    behavior not_found:
      assumes \forall integer i; 0 <= i < n ==> s[i] != c;
      ensures \result == \null;
    complete behaviors;
    disjoint behaviors; */
char *moem_proof_memchr(const char *s, int c, size_t n);
#define memchr moem_proof_memchr

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
