/* IDX files (the MNIST / Fashion-MNIST format), plain or gzipped, read through zlib.
 * Header: two zero bytes, a type byte (only 0x08, unsigned bytes, is accepted), the number of
 * dimensions (1..4), then each dimension as a big-endian 32-bit count; then the values. */
#ifndef MOEM_IDX_H
#define MOEM_IDX_H
#include <stddef.h>
#include <stdint.h>

#define MOEM_IDX_MAX_DIMS 4

typedef struct moem_idx {
    unsigned ndim;
    uint32_t dims[MOEM_IDX_MAX_DIMS];
    size_t count;             /* product of dims */
    unsigned char *data;      /* count bytes */
} moem_idx;

/* Reads path (gzipped or not) into idx (allocated; free with moem_idx_free). max_bytes bounds
 * the payload (0: no bound beyond size_t). On error returns -1 and writes one line naming the
 * file into err: a wrong magic number or type, a dimension count out of 1..4, a zero or
 * overflowing dimension product, a truncated header or payload, or bytes after the payload. */
int moem_idx_read(const char *path, size_t max_bytes, moem_idx *idx, char *err, size_t errlen);
void moem_idx_free(moem_idx *idx);
#endif
