/* Deterministic random numbers (xoshiro256**, seeded through splitmix64): the same seed
 * gives the same stream on every platform and compiler. */
#ifndef MOEM_RNG_H
#define MOEM_RNG_H
#include <stdint.h>

typedef struct moem_rng { uint64_t s[4]; } moem_rng;

void moem_rng_seed(moem_rng *r, uint64_t seed);
uint64_t moem_rng_next(moem_rng *r);
double moem_rng_uniform(moem_rng *r);   /* [0, 1) with 53 random bits */
double moem_rng_normal(moem_rng *r);    /* standard normal */
#endif
