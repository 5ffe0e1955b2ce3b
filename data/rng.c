/* xoshiro256** (Blackman and Vigna), seeded through splitmix64. Integer arithmetic only, so the
 * raw stream is the same on every platform; uniform() uses the top 53 bits, normal() the polar
 * method (one normal per call, the second value of each pair is dropped). */
#include <math.h>
#include "rng.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void moem_rng_seed(moem_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    /* splitmix64 is a bijection of distinct counters, so the state is never all zero */
}

uint64_t moem_rng_next(moem_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return out;
}

double moem_rng_uniform(moem_rng *r)
{
    return (double)(moem_rng_next(r) >> 11) * 0x1.0p-53;
}

double moem_rng_normal(moem_rng *r)
{
    for (;;) {
        double u = 2.0 * moem_rng_uniform(r) - 1.0;
        double v = 2.0 * moem_rng_uniform(r) - 1.0;
        double s = u * u + v * v;
        if (s > 0.0 && s < 1.0) return u * sqrt(-2.0 * log(s) / s);
    }
}
