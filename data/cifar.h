/* CIFAR-10 binary format: records of 1 label byte (0..9) and 3072 pixel bytes (1024 red,
 * 1024 green, 1024 blue, each 32 x 32 row-major). Files: data_batch_1.bin .. data_batch_5.bin
 * (training) and test_batch.bin; plain or gzipped (read through zlib). */
#ifndef MOEM_CIFAR_H
#define MOEM_CIFAR_H
#include <stddef.h>
#include "fmnist.h"   /* moem_images */

#define MOEM_CIFAR_PIXELS 3072
#define MOEM_CIFAR_RECORD (1 + MOEM_CIFAR_PIXELS)
#define MOEM_CIFAR_CLASSES 10

/* Appends the records of path to im (im zeroed or from an earlier call; free with
 * moem_images_free). Errors (one line naming the file and the record): an empty file, a
 * truncated last record, a label above 9, more records than size_t can index. */
int moem_cifar_read_append(const char *path, moem_images *im, char *err, size_t errlen);

/* dir/data_batch_1.bin .. 5 (test = 0) or dir/test_batch.bin (test = 1); keeps the first
 * `subset` records when subset > 0 (error when the files hold fewer). */
int moem_cifar_read(const char *dir, int test, size_t subset, moem_images *im, char *err,
                    size_t errlen);

/* data (allocated n x 3073): x = pixel / 255 and a last feature equal to 1; y = label. */
int moem_images_to_data(const moem_images *im, moem_data *data);
#endif
