/* CIFAR-10 binary reader on small files written here: records, batches, every rejected case. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "cifar.h"

static char err[512];

/* n records; record i has label i mod 10 (or 10 at bad_at) and pixels (i + c) mod 256 */
static void write_records(const char *path, size_t n, size_t first, size_t bad_at, size_t cut, int gz)
{
    size_t len = n * MOEM_CIFAR_RECORD - cut;
    unsigned char *b = malloc(len ? len : 1);
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < MOEM_CIFAR_RECORD; c++) {
            size_t o = i * MOEM_CIFAR_RECORD + c;
            if (o >= len) break;
            b[o] = c == 0 ? (unsigned char)(i == bad_at ? 10 : (first + i) % 10)
                          : (unsigned char)((first + i + c - 1) % 256);
        }
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        if (len) assert_int_equal(gzwrite(f, b, (unsigned)len), (int)len);
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(b, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
    }
    free(b);
}

static void check_records(const moem_images *im, size_t n)
{
    assert_int_equal(im->n, n);
    assert_int_equal(im->pixels, MOEM_CIFAR_PIXELS);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(im->label[i], i % 10);
        assert_int_equal(im->pix[i * MOEM_CIFAR_PIXELS], i % 256);
        assert_int_equal(im->pix[i * MOEM_CIFAR_PIXELS + 3071], (i + 3071) % 256);
    }
}

static void test_file(void **state)
{
    (void)state;
    char p[1024];
    for (int gz = 0; gz < 2; gz++) {
        snprintf(p, sizeof p, "%s/cifar_one%s", MOEM_TEST_TMP, gz ? ".gz" : "");
        write_records(p, 3, 0, 99, 0, gz);
        moem_images im = {0};
        assert_int_equal(moem_cifar_read_append(p, &im, err, sizeof err), 0);
        check_records(&im, 3);
        moem_images_free(&im);

        write_records(p, 3, 0, 99, 1, gz);                 /* last record one byte short */
        assert_int_equal(moem_cifar_read_append(p, &im, err, sizeof err), -1);
        assert_non_null(strstr(err, "truncated record 2"));
        moem_images_free(&im);
        write_records(p, 3, 0, 1, 0, gz);                  /* label 10 in record 1 */
        assert_int_equal(moem_cifar_read_append(p, &im, err, sizeof err), -1);
        assert_non_null(strstr(err, "label 10 of record 1"));
        moem_images_free(&im);
        write_records(p, 0, 0, 99, 0, gz);
        assert_int_equal(moem_cifar_read_append(p, &im, err, sizeof err), -1);
        assert_non_null(strstr(err, "no records"));
        assert_non_null(strstr(err, p));
        moem_images_free(&im);
    }
    moem_images im = {0};
    assert_int_equal(moem_cifar_read_append("/nonexistent/cifar.bin", &im, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot open"));
}

static void test_dir(void **state)
{
    (void)state;
    char dir[1024], p[1200];
    snprintf(dir, sizeof dir, "%s/cifar_dir", MOEM_TEST_TMP);
    mkdir(dir, 0777);
    for (int b = 1; b <= 5; b++) {
        snprintf(p, sizeof p, "%s/data_batch_%d.bin", dir, b);
        write_records(p, 4, (size_t)(b - 1) * 4, 99, 0, 0);
    }
    snprintf(p, sizeof p, "%s/test_batch.bin", dir);
    write_records(p, 2, 0, 99, 0, 0);
    moem_images im;
    assert_int_equal(moem_cifar_read(dir, 0, 0, &im, err, sizeof err), 0);
    check_records(&im, 20);                                 /* the five batches in order */
    moem_data d;
    assert_int_equal(moem_data_alloc(&d, 20, MOEM_CIFAR_PIXELS + 1, err, sizeof err), 0);
    assert_int_equal(moem_images_to_data(&im, &d), 0);
    assert_true(d.X[5 * (MOEM_CIFAR_PIXELS + 1)] == 5 / 255.0);
    assert_true(d.X[5 * (MOEM_CIFAR_PIXELS + 1) + MOEM_CIFAR_PIXELS] == 1.0);
    assert_true(d.y[7] == 7.0);
    moem_data_free(&d);
    moem_images_free(&im);
    assert_int_equal(moem_cifar_read(dir, 0, 6, &im, err, sizeof err), 0);
    check_records(&im, 6);
    moem_images_free(&im);
    assert_int_equal(moem_cifar_read(dir, 1, 0, &im, err, sizeof err), 0);
    check_records(&im, 2);
    moem_images_free(&im);
    assert_int_equal(moem_cifar_read(dir, 1, 3, &im, err, sizeof err), -1);
    assert_non_null(strstr(err, "subset"));
    snprintf(p, sizeof p, "%s/data_batch_3.bin", dir);
    remove(p);
    assert_int_equal(moem_cifar_read(dir, 0, 0, &im, err, sizeof err), -1);
    assert_non_null(strstr(err, "data_batch_3.bin"));
    assert_null(im.pix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
