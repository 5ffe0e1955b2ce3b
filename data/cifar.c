/* CIFAR-10 binary reader through zlib. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "cifar.h"
#include "base.h"

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
    ensures failed: \result != 0 ==> *cap == \old(*cap) && (*cap == 0 || cifar_fits(im, *cap));
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

/* stores the record rec (label byte, then the pixels), first doubling the capacity *cap when
 * it is full: 0, or cifar_grow's -1 / -2. Trusted through its contract, not proved (its two
 * steps are, in run cifar_records): the record's bytes may go to the block that realloc has
 * just returned, fresh memory, separate from rec and from every location of the caller, which
 * WP cannot state (no assigns clause or loop assigns can name it). */
/*@ requires valid: \valid(im) && \valid(cap) && \separated(im, cap);
    requires valid_rec: \valid_read(rec + (0 .. MOEM_CIFAR_RECORD - 1));
    requires fits: cifar_fits(im, *cap);
    assigns im->pix, im->label, im->n, *cap;
    ensures fits: cifar_fits(im, *cap);
    ensures stored: \result == 0 ==> im->n == \old(im->n) + 1;
    ensures kept: \result != 0 ==> im->n == \old(im->n); */
static int cifar_add(moem_images *im, size_t *cap, const unsigned char *rec)
{
    if (im->n == *cap) {
        int g = cifar_grow(im, cap);
        if (g) return g;
    }
    cifar_store(im, *cap, rec);
    return 0;
}

/* reads record rec_no of f into rec: 1, 0 at the end of the file, -1 on an error (a read error,
 * a truncated record, a label out of range: the message goes to err) */
/*@ requires valid_rec: \valid(rec + (0 .. MOEM_CIFAR_RECORD - 1));
    requires valid_err: err == \null || \valid(err + (0 .. errlen - 1));
    assigns rec[0 .. MOEM_CIFAR_RECORD - 1], err[0 .. errlen - 1];
    ensures result: -1 <= \result <= 1; */
static int cifar_next(gzFile f, const char *path, size_t rec_no, unsigned char *rec, char *err,
                      size_t errlen)
{
    int r = gzread(f, rec, MOEM_CIFAR_RECORD);
    if (r < 0) {
        int code;
        const char *m = gzerror(f, &code);
        MOEM_ERR(err, errlen, "%s: read error: %s", path, code == Z_ERRNO ? strerror(errno) : m);
        return -1;
    }
    if (r == 0) return 0;
    if (r < MOEM_CIFAR_RECORD) {
        MOEM_ERR(err, errlen, "%s: truncated record %zu (%d of %d bytes)", path, rec_no, r,
                 MOEM_CIFAR_RECORD);
        return -1;
    }
    if (rec[0] >= MOEM_CIFAR_CLASSES) {
        MOEM_ERR(err, errlen, "%s: label %u of record %zu is out of range 0..%d", path, rec[0],
                 rec_no, MOEM_CIFAR_CLASSES - 1);
        return -1;
    }
    return 1;
}

/*@ requires valid_im: \valid(im);
    requires valid_path: valid_read_string(path);
    requires valid_err: err == \null || \valid(err + (0 .. errlen - 1));
    requires fits: cifar_fits(im, im->n);
    assigns im->n, im->pixels, im->pix, im->label, err[0 .. errlen - 1];
    ensures fits: cifar_fits(im, im->n);
    ensures grown: im->n >= \old(im->n); */
int moem_cifar_read_append(const char *path, moem_images *im, char *err, size_t errlen)
{
    gzFile f = gzopen(path, "rb");
    if (!f) { MOEM_ERR(err, errlen, "%s: cannot open: %s", path, strerror(errno)); return -1; }
    if (im->n == 0) im->pixels = MOEM_CIFAR_PIXELS;
    unsigned char rec[MOEM_CIFAR_RECORD];
    size_t cap = im->n, start = im->n;
    int rc = -1;
    /*@ loop invariant fits: cifar_fits(im, cap);
        loop invariant count: start <= im->n;
        loop assigns im->n, im->pix, im->label, cap, rec[0 .. MOEM_CIFAR_RECORD - 1],
                     err[0 .. errlen - 1];
        loop variant SIZE_MAX / MOEM_CIFAR_PIXELS - im->n; */
    for (;;) {
        int r = cifar_next(f, path, im->n - start, rec, err, errlen);
        if (r < 0) goto out;
        if (r == 0) break;
        int g = cifar_add(im, &cap, rec);
        if (g) {
            MOEM_ERR(err, errlen, g == -1 ? "%s: too many records" : "%s: out of memory", path);
            goto out;
        }
    }
    if (im->n == start) { MOEM_ERR(err, errlen, "%s: no records", path); goto out; }
    rc = 0;
out:
    //@ ghost moem_mul_le(im->n, cap, MOEM_CIFAR_PIXELS);
    gzclose(f);
    return rc;
}

/* dir/test_batch.bin (test) or dir/data_batch_I.bin into path (size bytes): 0, or -1 when it
 * does not fit */
/*@ requires valid: \valid(path + (0 .. size - 1));
    assigns path[0 .. size - 1];
    ensures string: \result == 0 ==> valid_read_string(path); */
static int cifar_path(char *path, size_t size, const char *dir, int test, int i)
{
    int w = test ? snprintf(path, size, "%s/test_batch.bin", dir)
                 : snprintf(path, size, "%s/data_batch_%d.bin", dir, i);
    if (w < 0 || (size_t)w >= size) return -1;
    path[w] = '\0';   /* (snprintf wrote it; the proof's snprintf does not say so) */
    return 0;
}

/*@ requires valid_im: \valid(im);
    requires valid_err: err == \null || \valid(err + (0 .. errlen - 1));
    assigns *im, err[0 .. errlen - 1]; */
int moem_cifar_read(const char *dir, int test, size_t subset, moem_images *im, char *err,
                    size_t errlen)
{
    *im = (moem_images){0};
    int nfiles = test ? 1 : 5;
    char path[4096];
    /*@ loop invariant 1 <= i <= nfiles + 1;
        loop invariant fits: cifar_fits(im, im->n);
        loop assigns i, *im, path[0 .. 4095], err[0 .. errlen - 1];
        loop variant nfiles + 1 - i; */
    for (int i = 1; i <= nfiles; i++) {
        if (cifar_path(path, sizeof path, dir, test, i)) {
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
