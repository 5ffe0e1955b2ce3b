/* IDX reader and Fashion-MNIST loading: valid files (plain and gzipped) and every rejected
 * case; the random-invert transform; the installed Fashion-MNIST files when present. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "fmnist.h"
#include "idx.h"

static char err[512];

static const char *tmp_path(const char *name)
{
    static char buf[8][1024];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, 1024, "%s/idx_%s", MOEM_TEST_TMP, name);
    return p;
}

static void write_bytes(const char *path, const unsigned char *b, size_t n, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        if (n) assert_int_equal(gzwrite(f, b, (unsigned)n), (int)n);
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(b, 1, n, f), n);
        assert_int_equal(fclose(f), 0);
    }
}

/* header + payload for the given dims; payload[i] = i mod 251 */
static size_t make_idx(unsigned char *buf, unsigned ndim, const uint32_t *dims, size_t payload)
{
    size_t o = 0;
    buf[o++] = 0; buf[o++] = 0; buf[o++] = 8; buf[o++] = (unsigned char)ndim;
    for (unsigned i = 0; i < ndim; i++) {
        buf[o++] = (unsigned char)(dims[i] >> 24); buf[o++] = (unsigned char)(dims[i] >> 16);
        buf[o++] = (unsigned char)(dims[i] >> 8); buf[o++] = (unsigned char)dims[i];
    }
    for (size_t i = 0; i < payload; i++) buf[o++] = (unsigned char)(i % 251);
    return o;
}

static void expect_fail(const char *path, const char *needle)
{
    moem_idx x;
    err[0] = 0;
    assert_int_equal(moem_idx_read(path, 0, &x, err, sizeof err), -1);
    assert_null(x.data);
    if (!strstr(err, needle)) fail_msg("error '%s' lacks '%s'", err, needle);
    assert_non_null(strstr(err, path));
}

static void test_valid(void **state)
{
    (void)state;
    unsigned char buf[256];
    uint32_t dims[3] = {3, 4, 5};
    size_t n = make_idx(buf, 3, dims, 60);
    for (int gz = 0; gz < 2; gz++) {
        const char *p = tmp_path(gz ? "valid.gz" : "valid");
        write_bytes(p, buf, n, gz);
        moem_idx x;
        assert_int_equal(moem_idx_read(p, 0, &x, err, sizeof err), 0);
        assert_int_equal(x.ndim, 3);
        assert_int_equal(x.dims[0], 3);
        assert_int_equal(x.dims[2], 5);
        assert_int_equal(x.count, 60);
        for (size_t i = 0; i < 60; i++) assert_int_equal(x.data[i], i % 251);
        moem_idx_free(&x);
        assert_null(x.data);
    }
}

/* a payload of several 1 MiB read chunks (the block doubles as they arrive), whole and cut */
static void test_large(void **state)
{
    (void)state;
    const size_t payload = (3u << 20) + 7;
    unsigned char *buf = malloc(payload + 16);
    assert_non_null(buf);
    uint32_t dims[2] = {(uint32_t)payload, 1};
    size_t n = make_idx(buf, 2, dims, payload);
    for (int gz = 0; gz < 2; gz++) {
        const char *p = tmp_path(gz ? "large.gz" : "large");
        write_bytes(p, buf, n, gz);
        moem_idx x;
        assert_int_equal(moem_idx_read(p, 0, &x, err, sizeof err), 0);
        assert_int_equal(x.count, payload);
        assert_memory_equal(x.data, buf + 12, payload);
        moem_idx_free(&x);
        write_bytes(p, buf, n - (1u << 20), gz);                /* 1 MiB short */
        expect_fail(p, "truncated IDX data");
        char want[64];
        snprintf(want, sizeof want, "(%zu of %zu bytes)", payload - (1u << 20), payload);
        if (!strstr(err, want)) fail_msg("error '%s' lacks '%s'", err, want);
    }
    free(buf);
}

static void test_rejects(void **state)
{
    (void)state;
    unsigned char buf[256];
    uint32_t dims[2] = {4, 5};
    size_t n = make_idx(buf, 2, dims, 20);
    for (int gz = 0; gz < 2; gz++) {
        const char *p = tmp_path(gz ? "bad.gz" : "bad");
        unsigned char b[256];
        memcpy(b, buf, n); b[1] = 1;                      /* magic */
        write_bytes(p, b, n, gz); expect_fail(p, "magic");
        memcpy(b, buf, n); b[2] = 0x0D;                   /* float values */
        write_bytes(p, b, n, gz); expect_fail(p, "type");
        memcpy(b, buf, n); b[3] = 0;                      /* no dimensions */
        write_bytes(p, b, n, gz); expect_fail(p, "dimensions");
        memcpy(b, buf, n); b[3] = 5;
        write_bytes(p, b, n, gz); expect_fail(p, "dimensions");
        write_bytes(p, buf, 3, gz); expect_fail(p, "truncated IDX header");
        write_bytes(p, buf, 9, gz); expect_fail(p, "truncated IDX header");
        write_bytes(p, buf, 0, gz); expect_fail(p, "truncated IDX header");
        write_bytes(p, buf, n - 1, gz); expect_fail(p, "truncated IDX data");
        memcpy(b, buf, n); b[n] = 7;
        write_bytes(p, b, n + 1, gz); expect_fail(p, "after");
        uint32_t zero[2] = {4, 0};
        size_t m = make_idx(b, 2, zero, 0);
        write_bytes(p, b, m, gz); expect_fail(p, "zero");
        uint32_t big[4] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
        m = make_idx(b, 4, big, 0);
        write_bytes(p, b, m, gz); expect_fail(p, "overflow");
    }
    /* the payload bound */
    const char *p = tmp_path("bound");
    write_bytes(p, buf, n, 0);
    moem_idx x;
    assert_int_equal(moem_idx_read(p, 19, &x, err, sizeof err), -1);
    assert_non_null(strstr(err, "overflow"));
    assert_int_equal(moem_idx_read(p, 20, &x, err, sizeof err), 0);
    moem_idx_free(&x);
    expect_fail(tmp_path("does-not-exist"), "cannot open");
}

/* images n x r x c and labels */
static void write_set(const char *xi, const char *li, uint32_t n, uint32_t nl, uint32_t r, uint32_t c,
                      unsigned bad_label_at)
{
    unsigned char *b = malloc(16 + (size_t)n * r * c);
    uint32_t dims[3] = {n, r, c};
    size_t m = make_idx(b, 3, dims, (size_t)n * r * c);
    write_bytes(xi, b, m, 1);
    uint32_t ld[1] = {nl};
    m = make_idx(b, 1, ld, 0);
    for (uint32_t i = 0; i < nl; i++) b[m + i] = (unsigned char)(i == bad_label_at ? 10 : i % 10);
    write_bytes(li, b, m + nl, 1);
    free(b);
}

static void test_images(void **state)
{
    (void)state;
    const char *xi = tmp_path("img.gz"), *li = tmp_path("lab.gz");
    moem_images im;
    write_set(xi, li, 7, 7, 2, 3, 99);
    assert_int_equal(moem_images_read_idx(xi, li, 0, &im, err, sizeof err), 0);
    assert_int_equal(im.n, 7);
    assert_int_equal(im.pixels, 6);
    assert_int_equal(im.label[3], 3);
    assert_int_equal(im.pix[6 * 2 + 1], 13);
    moem_images_free(&im);
    assert_int_equal(moem_images_read_idx(xi, li, 5, &im, err, sizeof err), 0);
    assert_int_equal(im.n, 5);
    moem_images_free(&im);
    assert_int_equal(moem_images_read_idx(xi, li, 8, &im, err, sizeof err), -1);
    assert_non_null(strstr(err, "subset"));
    write_set(xi, li, 7, 6, 2, 3, 99);
    assert_int_equal(moem_images_read_idx(xi, li, 0, &im, err, sizeof err), -1);
    assert_non_null(strstr(err, "6 labels for 7 images"));
    write_set(xi, li, 7, 7, 2, 3, 4);
    assert_int_equal(moem_images_read_idx(xi, li, 0, &im, err, sizeof err), -1);
    assert_non_null(strstr(err, "label 10 of image 4"));
    /* dimensions of the wrong kind: labels passed as images and images as labels */
    write_set(xi, li, 7, 7, 2, 3, 99);
    assert_int_equal(moem_images_read_idx(li, xi, 0, &im, err, sizeof err), -1);
    assert_non_null(strstr(err, "expected 3"));
    assert_int_equal(moem_images_read_idx(xi, xi, 0, &im, err, sizeof err), -1);
    assert_non_null(strstr(err, "expected 1"));
    assert_null(im.pix);
}

static void test_random_invert(void **state)
{
    (void)state;
    const char *xi = tmp_path("inv.gz"), *li = tmp_path("invl.gz");
    write_set(xi, li, 40, 40, 3, 5, 99);
    moem_images im;
    assert_int_equal(moem_images_read_idx(xi, li, 0, &im, err, sizeof err), 0);
    moem_data d1, d2;
    assert_int_equal(moem_data_alloc(&d1, 40, 16, err, sizeof err), 0);
    assert_int_equal(moem_data_alloc(&d2, 40, 16, err, sizeof err), 0);
    unsigned char inv1[40], inv2[40];
    for (int f = 0; f <= 4; f++) {
        double frac = f / 4.0;
        moem_rng r1, r2;
        moem_rng_seed(&r1, 11);
        moem_rng_seed(&r2, 11);
        assert_int_equal(moem_images_random_invert(&im, frac, &r1, &d1, inv1), 0);
        assert_int_equal(moem_images_random_invert(&im, frac, &r2, &d2, inv2), 0);
        assert_memory_equal(d1.X, d2.X, 40 * 16 * sizeof(double));   /* same seed, same draw */
        size_t count = 0;
        for (size_t i = 0; i < 40; i++) {
            count += inv1[i];
            assert_true(inv1[i] == 0 || inv1[i] == 1);
            assert_true(d1.y[i] == im.label[i]);
            assert_true(d1.X[i * 16 + 15] == 1.0);
            for (size_t c = 0; c < 15; c++) {
                double p = im.pix[i * 15 + c] / 255.0;
                assert_true(d1.X[i * 16 + c] == (inv1[i] ? 1.0 - p : p));
            }
        }
        assert_int_equal(count, (size_t)(frac * 40 + 0.5));
    }
    /* another seed draws another subset */
    moem_rng r3;
    moem_rng_seed(&r3, 12);
    assert_int_equal(moem_images_random_invert(&im, 0.5, &r3, &d2, inv2), 0);
    moem_rng_seed(&r3, 11);
    assert_int_equal(moem_images_random_invert(&im, 0.5, &r3, &d1, inv1), 0);
    assert_memory_not_equal(inv1, inv2, 40);
    assert_int_equal(moem_images_random_invert(&im, 1.5, &r3, &d1, NULL), -1);
    moem_data_free(&d2);
    assert_int_equal(moem_data_alloc(&d2, 40, 15, err, sizeof err), 0);
    assert_int_equal(moem_images_random_invert(&im, 0.5, &r3, &d2, NULL), -1);
    moem_data_free(&d1);
    moem_data_free(&d2);
    moem_images_free(&im);
}

static void test_installed_fmnist(void **state)
{
    (void)state;
    if (access(MOEM_FMNIST_DIR "/t10k-labels-idx1-ubyte.gz", R_OK) != 0) skip();
    moem_images im;
    assert_int_equal(moem_fmnist_read(MOEM_FMNIST_DIR, 1, 0, &im, err, sizeof err), 0);
    assert_int_equal(im.n, 10000);
    assert_int_equal(im.pixels, 784);
    size_t per[10] = {0};
    for (size_t i = 0; i < im.n; i++) per[im.label[i]]++;
    for (int c = 0; c < 10; c++) assert_int_equal(per[c], 1000);   /* balanced test set */
    moem_images_free(&im);
    assert_int_equal(moem_fmnist_read("/nonexistent-dir", 1, 0, &im, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent-dir/t10k-images-idx3-ubyte.gz"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_large),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_images),
        cmocka_unit_test(test_random_invert),
        cmocka_unit_test(test_installed_fmnist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
