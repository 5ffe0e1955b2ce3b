/* Force-included before simd/dispatch.c (run dispatch): contracts of the few library calls of
 * the dispatcher that Frama-C's libc leaves without one, or with a weaker one than POSIX gives. */
#ifndef MOEM_PROOF_DISPATCH_H
#define MOEM_PROOF_DISPATCH_H
#include <pthread.h>
#include <stdlib.h>

/* simd/dispatch.c: the active table as a plain pointer, read and written by plain loads and
 * stores (the build uses <stdatomic.h>, whose Frama-C model WP cannot follow for a pointer) */
#define MOEM_PROOF_PLAIN_PUBLISH 1

/* What the one-time initialisers run by pthread_once write (build_tables: the dispatcher's
 * static tables; choose: active, active_error, error_text). WP does not follow the function
 * pointer, so a caller's assigns clause names this ghost variable for those writes. */
//@ ghost int moem_once_effects;

/*@ requires valid_once: \valid(once_control);
    assigns *once_control, moem_once_effects \from *once_control; */
extern int pthread_once(pthread_once_t *once_control, void (*init_routine)(void));

/* GCC's CPU feature test (a builtin whose argument is a string constant): returns a flag */
/*@ assigns \result \from feature; */
int __builtin_cpu_supports(const char *feature);

/* POSIX: a value of the environment is a NUL-terminated string (added to the libc contract,
 * which only gives \valid) */
/*@ ensures env_string: \result == \null || valid_read_string(\result); */
extern char *getenv(const char *name);
#endif
