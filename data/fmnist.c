/* Fashion-MNIST loading and the random-invert transform. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fmnist.h"
#include "idx.h"
#include "base.h"

void moem_images_free(moem_images *im)
{
    if (!im) return;
    free(im->pix);
    free(im->label);
    memset(im, 0, sizeof *im);
}

int moem_images_read_idx(const char *images_path, const char *labels_path, size_t subset,
                         moem_images *im, char *err, size_t errlen)
{
    moem_idx xi, li;
    memset(im, 0, sizeof *im);
    if (moem_idx_read(images_path, 0, &xi, err, errlen)) return -1;
    if (moem_idx_read(labels_path, 0, &li, err, errlen)) { moem_idx_free(&xi); return -1; }
    int rc = -1;
    if (xi.ndim != 3) {
        MOEM_ERR(err, errlen, "%s: images file has %u dimensions (expected 3: n x rows x cols)",
                 images_path, xi.ndim);
        goto out;
    }
    if (li.ndim != 1) {
        MOEM_ERR(err, errlen, "%s: labels file has %u dimensions (expected 1)", labels_path, li.ndim);
        goto out;
    }
    if (xi.dims[0] != li.dims[0]) {
        MOEM_ERR(err, errlen, "%s: %u labels for %u images in %s", labels_path, li.dims[0],
                 xi.dims[0], images_path);
        goto out;
    }
    size_t n = xi.dims[0];
    if (subset > n) {
        MOEM_ERR(err, errlen, "%s: subset of %zu images asked, the file has %zu", images_path, subset, n);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (li.data[i] >= MOEM_FMNIST_CLASSES) {
            MOEM_ERR(err, errlen, "%s: label %u of image %zu is out of range 0..%d", labels_path,
                     li.data[i], i, MOEM_FMNIST_CLASSES - 1);
            goto out;
        }
    if (subset) n = subset;
    im->n = n;
    im->pixels = (size_t)xi.dims[1] * xi.dims[2];   /* the product of all three did not overflow */
    im->pix = xi.data;
    im->label = li.data;
    xi.data = li.data = NULL;
    rc = 0;
out:
    moem_idx_free(&xi);
    moem_idx_free(&li);
    return rc;
}

int moem_fmnist_read(const char *dir, int test, size_t subset, moem_images *im, char *err,
                     size_t errlen)
{
    const char *pre = test ? "t10k" : "train";
    char xp[4096], lp[4096];
    int a = snprintf(xp, sizeof xp, "%s/%s-images-idx3-ubyte.gz", dir, pre);
    int b = snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte.gz", dir, pre);
    if (a < 0 || b < 0 || (size_t)a >= sizeof xp || (size_t)b >= sizeof lp) {
        MOEM_ERR(err, errlen, "Fashion-MNIST directory name is too long");
        memset(im, 0, sizeof *im);
        return -1;
    }
    return moem_images_read_idx(xp, lp, subset, im, err, errlen);
}

int moem_images_random_invert(const moem_images *im, double fraction, moem_rng *r,
                              moem_data *data, unsigned char *inverted)
{
    size_t n = im->n, p = im->pixels, d = p + 1;
    if (data->n != n || data->d != d || !(fraction >= 0.0 && fraction <= 1.0)) return -1;
    unsigned char *inv = inverted ? inverted : calloc(n ? n : 1, 1);
    size_t *perm = malloc((n ? n : 1) * sizeof *perm);
    if (!inv || !perm) {
        if (inv != inverted) free(inv);
        free(perm);
        return -1;
    }
    memset(inv, 0, n);
    size_t m = (size_t)(fraction * (double)n + 0.5);
    if (m > n) m = n;
    for (size_t i = 0; i < n; i++) perm[i] = i;
    for (size_t i = 0; i < m; i++) {               /* partial Fisher-Yates */
        size_t j = i + (size_t)(moem_rng_uniform(r) * (double)(n - i));
        if (j >= n) j = n - 1;
        size_t t = perm[i]; perm[i] = perm[j]; perm[j] = t;
        inv[perm[i]] = 1;
    }
    free(perm);
    double scale[256], flip[256];
    for (int v = 0; v < 256; v++) { scale[v] = v / 255.0; flip[v] = 1.0 - v / 255.0; }
    for (size_t i = 0; i < n; i++) {
        const unsigned char *s = im->pix + i * p;
        const double *tab = inv[i] ? flip : scale;
        double *x = data->X + i * d;
        for (size_t c = 0; c < p; c++) x[c] = tab[s[c]];
        x[p] = 1.0;
        data->y[i] = im->label[i];
    }
    if (inv != inverted) free(inv);
    return 0;
}
