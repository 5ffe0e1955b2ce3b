/* CIFAR-10 reader: a file either reads whole records (labels 0..9, 3072 pixels each; read twice
 * the count doubles) or fails with one line naming the file. */
#include <stdio.h>
#include <string.h>
#include "cifar.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
    char err[512] = "";
    moem_images im;
    memset(&im, 0, sizeof im);
    const char *path = fuzz_file(0, bytes, size);
    if (moem_cifar_read_append(path, &im, err, sizeof err) == 0) {
        size_t n = im.n;
        FUZZ_CHECK(n >= 1 && im.pixels == MOEM_CIFAR_PIXELS && im.pix && im.label);
        int gz = size >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
        if (!gz) FUZZ_CHECK(size == n * MOEM_CIFAR_RECORD);
        for (size_t i = 0; i < n; i++) FUZZ_CHECK(im.label[i] < MOEM_CIFAR_CLASSES);
        FUZZ_CHECK(moem_cifar_read_append(path, &im, err, sizeof err) == 0 && im.n == 2 * n);
        FUZZ_CHECK(!memcmp(im.pix, im.pix + n * MOEM_CIFAR_PIXELS, n * MOEM_CIFAR_PIXELS));
        FUZZ_CHECK(!memcmp(im.label, im.label + n, n));
    } else {
        FUZZ_CHECK(!strncmp(err, path, strlen(path)) && fuzz_one_line(err));
    }
    moem_images_free(&im);
    return 0;
}
