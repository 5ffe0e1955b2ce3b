/* The scratch pool of a fit (engine/pool.c): blocks that moem_free returns inside a pool are
 * handed back for the same size, blocks still held at its end are left to their holders,
 * nested pools and blocks freed behind the pool's back stay consistent. AddressSanitizer runs
 * this too (ci/sanitize): a block freed twice or leaked fails there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

#define BIG 40000   /* doubles: 320 KB, and a quarter of it above the pool's 64 KiB floor */

static size_t entries_at(const moem_pool *p, const void *b)
{
    size_t c = 0;
    for (size_t i = 0; i < p->n; i++) c += p->block[i] == b;
    return c;
}

static void test_reuse(void **state)
{
    (void)state;
    moem_pool pool;
    moem_pool_begin(&pool);
    double *a = moem_alloc_doubles(BIG);
    assert_non_null(a);
    memset(a, 0, BIG * sizeof *a);
    moem_free(a);
    assert_int_equal(pool.n, 1);               /* kept, free for the next request */
    assert_ptr_equal(pool.block[0], a);
    assert_int_equal(pool.used[0], 0);
    double *b = moem_alloc_doubles(BIG);
    assert_ptr_equal(b, a);                    /* the kept block, not a fresh one */
    double *c = moem_alloc_doubles(BIG);       /* a is in use: a new block */
    assert_non_null(c);
    assert_ptr_not_equal(c, a);
    moem_free(b);
    double *half = moem_alloc_doubles(BIG * 6 / 10);   /* fits a, wastes under half */
    assert_ptr_equal(half, a);
    moem_free(c);
    double *small = moem_alloc_doubles(BIG / 4);       /* c would waste three quarters */
    assert_ptr_not_equal(small, c);
    double *tiny = moem_alloc_doubles(100);            /* below the floor: never from the pool */
    assert_ptr_not_equal(tiny, c);
    moem_free(tiny);
    moem_free(small);
    moem_free(half);
    moem_pool_end(&pool);
    assert_int_equal(pool.n, 0);
}

static void test_held_at_end(void **state)
{
    (void)state;
    moem_pool pool;
    moem_pool_begin(&pool);
    double *a = moem_alloc_doubles(BIG);
    assert_non_null(a);
    moem_pool_end(&pool);
    a[BIG - 1] = 1.0;       /* still the holder's: the pool's end did not free it */
    moem_free(a);           /* no pool open now: freed */
}

static void test_nested(void **state)
{
    (void)state;
    moem_pool outer, inner;
    moem_pool_begin(&outer);
    double *a = moem_alloc_doubles(BIG);
    moem_pool_begin(&inner);
    double *b = moem_alloc_doubles(BIG);
    assert_ptr_not_equal(a, b);
    moem_free(a);           /* not the inner pool's: freed now, and the outer pool keeps out */
    moem_free(b);
    double *c = moem_alloc_doubles(BIG);
    assert_ptr_equal(c, b);
    moem_free(c);
    moem_pool_end(&inner);
    double *d = moem_alloc_doubles(BIG);   /* the outer pool again */
    assert_non_null(d);
    moem_free(d);
    moem_pool_end(&outer);
}

static void test_freed_behind_its_back(void **state)
{
    (void)state;
    moem_pool pool;
    moem_pool_begin(&pool);
    for (int r = 0; r < 200; r++) {          /* more than the pool's entries */
        double *a = moem_alloc_doubles(BIG + (size_t)(r % 3) * 4096);
        assert_non_null(a);
        free(a);                              /* plain free: the pool's entry goes stale */
        double *b = moem_alloc_doubles(BIG);  /* possibly the same address */
        assert_non_null(b);
        /* never two entries for one address (the older one would claim the old size); once
         * stale entries fill the pool, new blocks go untracked */
        assert_true(entries_at(&pool, b) <= 1);
        for (size_t i = 0; i < pool.n; i++)
            if (pool.block[i] == b) assert_true(pool.bytes[i] >= BIG * sizeof(double));
        memset(b, 0, BIG * sizeof *b);
        moem_free(b);
        double *small = moem_alloc_doubles(64);
        assert_int_equal(entries_at(&pool, small), 0);
        moem_free(small);
    }
    assert_true(pool.n <= MOEM_POOL_BLOCKS);
    moem_pool_end(&pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reuse),
        cmocka_unit_test(test_held_at_end),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_freed_behind_its_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
