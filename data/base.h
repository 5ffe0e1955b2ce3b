/* The base of the layers (README "Layout"): error messages, checked size arithmetic and the
 * clock, used by every layer above (data readers, engine, command). Includes nothing of
 * moem's but the standard headers. */
#ifndef MOEM_BASE_H
#define MOEM_BASE_H
#include <stddef.h>
#include <stdio.h>

/* one line into the caller's buffer (err may be NULL or errlen 0: nothing written) */
#define MOEM_ERR(err, errlen, ...) \
    do { if ((err) && (errlen)) snprintf((err), (errlen), __VA_ARGS__); } while (0)

/* overflow-checked a*b; 0 on overflow */
int moem_mul_size(size_t a, size_t b, size_t *out);

double moem_now(void);   /* monotonic seconds */
#endif
