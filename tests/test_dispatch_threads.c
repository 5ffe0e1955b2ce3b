/* The dispatcher under concurrent calls (simd/dispatch.c):
 *  - THREADS threads released together make the process's first calls of moem_ops_get: they
 *    all get the same table, the one every later call returns, and it is a whole table;
 *  - readers calling moem_ops_get beside a thread that switches the active table with
 *    moem_ops_force always get one of the two tables it switches between.
 * It must run in its own process (the first calls are the point), without MOEM_ISA. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "moem_ops.h"

#define THREADS 8
#define READS 200000

static pthread_barrier_t start;
static const moem_ops *first[THREADS];
static const moem_ops *volatile pair[2];
static int bad_reads[THREADS];

static void *first_call(void *arg)
{
    size_t t = (size_t)(uintptr_t)arg;
    pthread_barrier_wait(&start);
    first[t] = moem_ops_get();
    return NULL;
}

static void *reader(void *arg)
{
    size_t t = (size_t)(uintptr_t)arg;
    pthread_barrier_wait(&start);
    for (int r = 0; r < READS; r++) {
        const moem_ops *o = moem_ops_get();
        if ((o != pair[0] && o != pair[1]) || !o->xm || !o->estep) bad_reads[t]++;
    }
    return NULL;
}

/* all threads at once, then the main thread joins them */
static void run_threads(void *(*fn)(void *), size_t n, pthread_t *ids)
{
    assert_int_equal(pthread_barrier_init(&start, NULL, (unsigned)n + 1), 0);
    for (size_t t = 0; t < n; t++)
        assert_int_equal(pthread_create(&ids[t], NULL, fn, (void *)(uintptr_t)t), 0);
    pthread_barrier_wait(&start);
}

static void join_threads(size_t n, pthread_t *ids)
{
    for (size_t t = 0; t < n; t++) assert_int_equal(pthread_join(ids[t], NULL), 0);
    assert_int_equal(pthread_barrier_destroy(&start), 0);
}

static void test_first_calls(void **state)
{
    (void)state;
    pthread_t ids[THREADS];
    run_threads(first_call, THREADS, ids);
    join_threads(THREADS, ids);
    const moem_ops *o = moem_ops_get();
    assert_non_null(o);
    for (size_t t = 0; t < THREADS; t++) assert_ptr_equal(first[t], o);
    assert_null(moem_ops_error());
    /* the choice is the best table of this CPU, and it is whole */
    assert_ptr_equal(o, moem_ops_by_name(o->name));
    assert_non_null(o->xm);
    assert_non_null(o->atx);
    assert_non_null(o->wgram);
    assert_non_null(o->xm_cols);
    assert_non_null(o->atx_cols);
    assert_non_null(o->estep);
    assert_non_null(o->softmax0_cols);
    assert_non_null(o->to_rows);
}

static void test_force_beside_readers(void **state)
{
    (void)state;
    const moem_ops *best = moem_ops_get();
    pair[0] = best;
    pair[1] = moem_ops_scalar();
    pthread_t ids[THREADS - 1];
    run_threads(reader, THREADS - 1, ids);
    for (int s = 0; s < 2000; s++) assert_int_equal(moem_ops_force(pair[s & 1]->name), 0);
    join_threads(THREADS - 1, ids);
    for (size_t t = 0; t < THREADS - 1; t++) assert_int_equal(bad_reads[t], 0);
    assert_int_equal(moem_ops_force(best->name), 0);
    assert_ptr_equal(moem_ops_get(), best);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_calls),   /* first: the process's first calls */
        cmocka_unit_test(test_force_beside_readers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
