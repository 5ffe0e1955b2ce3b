/* IDX reader: a file either reads (dimensions 1..4, their product = the byte count) or fails
 * with one line naming the file. The first byte also splits the input into an images and a
 * labels file for moem_images_read_idx (labels in 0..9, counts that agree). */
#include <stdio.h>
#include <string.h>
#include "fmnist.h"
#include "fuzz_util.h"
#include "idx.h"

#define MAX_BYTES ((size_t)1 << 24)

static void check_err(const char *err, const char *path)
{
    FUZZ_CHECK(fuzz_one_line(err));
    FUZZ_CHECK(strstr(err, path) != NULL || strstr(err, "/proc/self/fd/") != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
    char err[512] = "";
    moem_idx idx;
    const char *path = fuzz_file(0, bytes, size);
    if (moem_idx_read(path, MAX_BYTES, &idx, err, sizeof err) == 0) {
        FUZZ_CHECK(idx.ndim >= 1 && idx.ndim <= MOEM_IDX_MAX_DIMS && idx.data);
        size_t prod = 1;
        for (unsigned i = 0; i < idx.ndim; i++) prod *= idx.dims[i];
        FUZZ_CHECK(prod == idx.count && idx.count >= 1 && idx.count <= MAX_BYTES);
        int gz = size >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
        if (!gz) FUZZ_CHECK(size == 4 + 4 * (size_t)idx.ndim + idx.count);
        moem_idx_free(&idx);
    } else {
        FUZZ_CHECK(idx.data == NULL);
        check_err(err, path);
    }
    if (size < 1) return 0;
    size_t cut = 1 + (size_t)bytes[0] * (size - 1) / 255;
    const char *ip = fuzz_file(0, bytes + 1, cut - 1), *lp = fuzz_file(1, bytes + cut, size - cut);
    moem_images im;
    err[0] = 0;
    if (moem_images_read_idx(ip, lp, 0, &im, err, sizeof err) == 0) {
        FUZZ_CHECK(im.n >= 1 && im.pixels >= 1 && im.pix && im.label);
        for (size_t i = 0; i < im.n; i++) FUZZ_CHECK(im.label[i] < MOEM_FMNIST_CLASSES);
        volatile unsigned char last = im.pix[im.n * im.pixels - 1];   /* in bounds */
        (void)last;
        moem_images_free(&im);
    } else {
        FUZZ_CHECK(im.pix == NULL && im.label == NULL);
        FUZZ_CHECK(fuzz_one_line(err));
    }
    return 0;
}
