/* CSV reader: any input either reads into finite n x d data that writes and reads back bit for
 * bit, or fails with one line that starts with the file's path. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "csv.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
    char err[512] = "";
    moem_data a, b;
    const char *path = fuzz_file(0, bytes, size);
    if (moem_csv_read(path, &a, err, sizeof err)) {
        FUZZ_CHECK(a.X == NULL && a.y == NULL && a.n == 0);
        FUZZ_CHECK(!strncmp(err, path, strlen(path)) && fuzz_one_line(err));
        return 0;
    }
    FUZZ_CHECK(a.n >= 1 && a.d >= 1 && a.X && a.y);
    for (size_t i = 0; i < a.n; i++) FUZZ_CHECK(isfinite(a.y[i]));
    for (size_t i = 0; i < a.n * a.d; i++) FUZZ_CHECK(isfinite(a.X[i]));
    char out[512];
    snprintf(out, sizeof out, "%s/data.csv", fuzz_scratch_dir());
    FUZZ_CHECK(moem_csv_write(out, &a, err, sizeof err) == 0);
    FUZZ_CHECK(moem_csv_read(out, &b, err, sizeof err) == 0);
    FUZZ_CHECK(b.n == a.n && b.d == a.d);
    FUZZ_CHECK(!memcmp(a.y, b.y, a.n * sizeof(double)));
    FUZZ_CHECK(!memcmp(a.X, b.X, a.n * a.d * sizeof(double)));
    moem_data_free(&a);
    moem_data_free(&b);
    return 0;
}
