/* Fashion-MNIST (IDX files) and the paper's "Random Invert FMNIST" transform. */
#ifndef MOEM_FMNIST_H
#define MOEM_FMNIST_H
#include <stddef.h>
#include "moem.h"
#include "rng.h"

#define MOEM_FMNIST_DIR "/usr/share/datasets/fashion-mnist"
#define MOEM_FMNIST_CLASSES 10

/* Raw images: n images of rows x cols unsigned bytes and their labels in 0..9. */
typedef struct moem_images {
    size_t n, pixels;         /* pixels = rows * cols */
    unsigned char *pix;       /* n x pixels */
    unsigned char *label;     /* n */
} moem_images;

void moem_images_free(moem_images *im);

/* Reads the images and labels files (IDX, gzipped or not) into im; keeps the first `subset`
 * images when subset > 0 (and not larger than the file). Errors (one line naming the file):
 * those of moem_idx_read, an images file that is not 3-dimensional, a labels file that is not
 * 1-dimensional, counts that disagree, labels above 9, subset larger than the file. */
int moem_images_read_idx(const char *images_path, const char *labels_path, size_t subset,
                         moem_images *im, char *err, size_t errlen);

/* dir/train-images-idx3-ubyte.gz and friends (test: the t10k files). */
int moem_fmnist_read(const char *dir, int test, size_t subset, moem_images *im, char *err,
                     size_t errlen);

/* The random-invert transform (MATH.md section 6), written into data, which must be allocated
 * n x (pixels + 1): x = pixel / 255, for a random subset of round(fraction * n) images
 * x = 1 - pixel / 255, then a last feature equal to 1 (the bias); y = label. The subset is
 * drawn with r (partial Fisher-Yates). inverted (n, may be NULL) receives 1 for the inverted
 * images. Returns 0, or -1 when sizes disagree or fraction is outside [0, 1]. */
int moem_images_random_invert(const moem_images *im, double fraction, moem_rng *r,
                              moem_data *data, unsigned char *inverted);
#endif
