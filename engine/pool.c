/* Blocks of doubles, and the pool that lets one fit reuse its scratch across iterations.
 *
 * An iteration's M-step allocates a dozen N-sized scratch arrays and frees them. Fresh blocks of
 * that size come from mmap, so every iteration faulted them in again (on this project's virtual
 * machines the faults took as long as the passes over X on K = 2 linear experts, N = 2e5,
 * d = 16). Between moem_pool_begin and moem_pool_end on the calling thread, moem_free keeps such
 * blocks and moem_alloc_doubles hands them back. */
#include <stdlib.h>
#include "internal.h"

/* the pool of the fit running on this thread (NULL: none; worker threads have none) */
static _Thread_local moem_pool *active;

/* blocks below this size come from the heap anyway: not worth keeping */
#define POOL_MIN_BYTES ((size_t)1 << 16)

double *moem_alloc_doubles(size_t n)
{
    size_t bytes;
    if (!moem_mul_size(n ? n : 1, sizeof(double), &bytes) || bytes > SIZE_MAX - 63) return NULL;
    bytes = (bytes + 63) / 64 * 64;   /* whole cache lines: no vector store splits one */
    moem_pool *p = active;
    if (p && bytes >= POOL_MIN_BYTES) {
        /* the smallest kept block that fits and wastes at most half of itself */
        size_t best = p->n;
        for (size_t i = 0; i < p->n; i++)
            if (!p->used[i] && p->bytes[i] >= bytes && p->bytes[i] / 2 <= bytes &&
                (best == p->n || p->bytes[i] < p->bytes[best]))
                best = i;
        if (best < p->n) {
            p->used[best] = 1;
            return p->block[best];
        }
    }
    double *b = aligned_alloc(64, bytes);
    if (b && p) {
        /* an entry at this address is stale (its block went back through plain free): it is
         * replaced, or dropped for a small block */
        size_t i = 0;
        while (i < p->n && p->block[i] != b) i++;
        if (i < p->n && bytes < POOL_MIN_BYTES) {
            p->n--;
            p->block[i] = p->block[p->n];
            p->bytes[i] = p->bytes[p->n];
            p->used[i] = p->used[p->n];
        } else if (bytes >= POOL_MIN_BYTES) {
            if (i == p->n && p->n < MOEM_POOL_BLOCKS) p->n++;
            if (i < p->n) {
                p->block[i] = b;
                p->bytes[i] = bytes;
                p->used[i] = 1;
            }
        }
    }
    return b;
}

void moem_free(void *b)
{
    moem_pool *p = active;
    if (b && p)
        for (size_t i = 0; i < p->n; i++)
            if (p->block[i] == b) {
                p->used[i] = 0;
                return;
            }
    free(b);
}

void moem_pool_begin(moem_pool *p)
{
    p->n = 0;
    moem_pool_resume(p);
}

void moem_pool_pause(moem_pool *p)
{
    active = p->outer;
}

void moem_pool_resume(moem_pool *p)
{
    p->outer = active;
    active = p;
}

void moem_pool_end(moem_pool *p)
{
    /* blocks still in use belong to their holders (freed with free or moem_free later) */
    for (size_t i = 0; i < p->n; i++)
        if (!p->used[i]) free(p->block[i]);
    p->n = 0;
    active = p->outer;
}
