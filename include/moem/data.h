/* moem/data.h: a data set in memory (moem_data): allocation, float32 storage, fingerprint. */
#ifndef MOEM_DATA_H
#define MOEM_DATA_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* n samples of d features, row-major X (n x d), responses y (n).
 * linear: y real; logistic: y in {0, 1}; softmax: y in {0, .., C-1} stored as doubles.
 * Storage precision: X (float64, the default) or, after moem_data_to_f32, Xf (float32, n x d)
 * with X NULL. Every computation accumulates in float64 either way: rows of Xf are widened
 * to double block by block as they are streamed. */
typedef struct moem_data {
    size_t n, d;
    double *X;
    double *y;
    float *Xf;
} moem_data;

/* Allocates X (n x d, checked for overflow) and y (n), zero-filled. 0 on success; -1 with a
 * message in err otherwise. */
MOEM_API int moem_data_alloc(moem_data *data, size_t n, size_t d, char *err, size_t errlen);

/* Frees X, Xf and y and zeroes the struct (NULL is allowed). */
MOEM_API void moem_data_free(moem_data *data);

/* Stores X in float32 (halves the bytes each pass streams): X is rounded to nearest into Xf
 * and freed. Fails, leaving the data unchanged, when a value is NaN or outside the float
 * range (|x| > FLT_MAX) or memory runs out. Data already in float32 is left as it is. */
MOEM_API int moem_data_to_f32(moem_data *data, char *err, size_t errlen);

/* FNV-1a/64 over n, d, the values of X (as float64, row-major) and of y, as bytes: the
 * fingerprint a checkpoint records. */
MOEM_API uint64_t moem_data_hash(const moem_data *data);

#ifdef __cplusplus
}
#endif
#endif
