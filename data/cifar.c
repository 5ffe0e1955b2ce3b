/* CIFAR-10 binary reader through zlib. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "cifar.h"
#include "internal.h"

/*@ // the records read so far fit the arrays of cap records (run cifar_records)
    predicate cifar_fits(moem_images *im, integer cap) =
      im->n <= cap && cap * MOEM_CIFAR_PIXELS <= SIZE_MAX &&
      \valid(im->pix + (0 .. cap * MOEM_CIFAR_PIXELS - 1)) && \valid(im->label + (0 .. cap - 1));
*/

/* doubles the capacity *cap (1024 records at first); -1 when the size would overflow, -2 out of
 * memory (each array keeps its old block on failure) */
/*@ requires valid: \valid(im) && \valid(cap) && \separated(im, cap);
    requires fits: *cap == 0 || cifar_fits(im, *cap);
    requires full: im->n == *cap;
    assigns im->pix, im->label, *cap;
    ensures grown: \result == 0 ==> cifar_fits(im, *cap) && im->n < *cap;
    ensures kept: im->n == \old(im->n); */
static int cifar_grow(moem_images *im, size_t *cap)
{
    size_t nc = *cap ? 2 * *cap : 1024, bytes;
    if (!moem_mul_size(nc, MOEM_CIFAR_PIXELS, &bytes)) return -1;
    unsigned char *p = realloc(im->pix, bytes);
    if (p) im->pix = p;
    unsigned char *l = p ? realloc(im->label, nc) : NULL;
    if (l) im->label = l;
    if (!p || !l) return -2;
    *cap = nc;
    return 0;
}

/* appends one record (label byte, then the pixels) */
/*@ requires valid: \valid(im) && \valid_read(rec + (0 .. MOEM_CIFAR_RECORD - 1));
    requires fits: cifar_fits(im, cap) && im->n < cap;
    requires sep: \separated(rec + (0 .. MOEM_CIFAR_RECORD - 1), im->pix + (0 .. cap * MOEM_CIFAR_PIXELS - 1));
    assigns im->label[im->n], im->pix[im->n * MOEM_CIFAR_PIXELS .. im->n * MOEM_CIFAR_PIXELS + MOEM_CIFAR_PIXELS - 1], im->n;
    ensures fits: cifar_fits(im, cap) && im->n == \old(im->n) + 1; */
static void cifar_store(moem_images *im, size_t cap, const unsigned char *rec)
{
    (void)cap;   /* the bound of the contract (and of the ghost fact below) */
    //@ ghost moem_mul_le(im->n + 1, cap, MOEM_CIFAR_PIXELS);
    im->label[im->n] = rec[0];
    memcpy(im->pix + im->n * MOEM_CIFAR_PIXELS, rec + 1, MOEM_CIFAR_PIXELS);
    im->n++;
}

int moem_cifar_read_append(const char *path, moem_images *im, char *err, size_t errlen)
{
    gzFile f = gzopen(path, "rb");
    if (!f) { MOEM_ERR(err, errlen, "%s: cannot open: %s", path, strerror(errno)); return -1; }
    if (im->n == 0) im->pixels = MOEM_CIFAR_PIXELS;
    unsigned char rec[MOEM_CIFAR_RECORD];
    size_t cap = im->n, start = im->n;
    int rc = -1;
    for (;;) {
        int r = gzread(f, rec, sizeof rec);
        if (r < 0) {
            int code;
            const char *m = gzerror(f, &code);
            MOEM_ERR(err, errlen, "%s: read error: %s", path, code == Z_ERRNO ? strerror(errno) : m);
            goto out;
        }
        if (r == 0) break;
        size_t rec_no = im->n - start;
        if ((size_t)r < sizeof rec) {
            MOEM_ERR(err, errlen, "%s: truncated record %zu (%d of %d bytes)", path, rec_no, r,
                     MOEM_CIFAR_RECORD);
            goto out;
        }
        if (rec[0] >= MOEM_CIFAR_CLASSES) {
            MOEM_ERR(err, errlen, "%s: label %u of record %zu is out of range 0..%d", path, rec[0],
                     rec_no, MOEM_CIFAR_CLASSES - 1);
            goto out;
        }
        if (im->n == cap) {
            int g = cifar_grow(im, &cap);
            if (g) {
                MOEM_ERR(err, errlen, g == -1 ? "%s: too many records" : "%s: out of memory", path);
                goto out;
            }
        }
        cifar_store(im, cap, rec);
    }
    if (im->n == start) { MOEM_ERR(err, errlen, "%s: no records", path); goto out; }
    rc = 0;
out:
    gzclose(f);
    return rc;
}

int moem_cifar_read(const char *dir, int test, size_t subset, moem_images *im, char *err,
                    size_t errlen)
{
    memset(im, 0, sizeof *im);
    int nfiles = test ? 1 : 5;
    for (int i = 1; i <= nfiles; i++) {
        char path[4096];
        int w = test ? snprintf(path, sizeof path, "%s/test_batch.bin", dir)
                     : snprintf(path, sizeof path, "%s/data_batch_%d.bin", dir, i);
        if (w < 0 || (size_t)w >= sizeof path) {
            MOEM_ERR(err, errlen, "CIFAR-10 directory name is too long");
            goto fail;
        }
        if (moem_cifar_read_append(path, im, err, errlen)) goto fail;
        if (subset && im->n >= subset) break;
    }
    if (subset > im->n) {
        MOEM_ERR(err, errlen, "%s: subset of %zu images asked, the files hold %zu", dir, subset, im->n);
        goto fail;
    }
    if (subset) im->n = subset;
    return 0;
fail:
    moem_images_free(im);
    return -1;
}

int moem_images_to_data(const moem_images *im, moem_data *data)
{
    size_t p = im->pixels, d = p + 1;
    if (data->n != im->n || data->d != d) return -1;
    for (size_t i = 0; i < im->n; i++) {
        double *x = data->X + i * d;
        for (size_t c = 0; c < p; c++) x[c] = im->pix[i * p + c] / 255.0;
        x[p] = 1.0;
        data->y[i] = im->label[i];
    }
    return 0;
}
