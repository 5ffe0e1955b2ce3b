/* Model reader: a file either reads into a valid model that writes and reads back bit for bit
 * (and whose objective on a few samples is computed without a crash, and is not NaN while the
 * logits stay within +-1e300), or fails with one line that starts with the file's path. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_util.h"
#include "moem.h"

static void same_model(const moem_model *a, const moem_model *b)
{
    FUZZ_CHECK(a->family == b->family && a->symmetric == b->symmetric && a->K == b->K &&
               a->d == b->d && a->C == b->C);
    size_t P = moem_expert_rows(a);
    FUZZ_CHECK(!memcmp(a->W, b->W, a->K * a->d * sizeof(double)));
    FUZZ_CHECK(!memcmp(a->B, b->B, a->K * P * a->d * sizeof(double)));
    FUZZ_CHECK(!memcmp(a->sigma2, b->sigma2, a->K * sizeof(double)));
}

/* objective on 4 samples with x in [-1, 1] and valid labels */
static void objective(const moem_model *m)
{
    enum { N = 4 };
    moem_data data;
    char err[256];
    if (m->d > 4096 || moem_data_alloc(&data, N, m->d, err, sizeof err)) return;
    double big = 0.0;
    for (size_t i = 0; i < m->K * m->d; i++) big = fmax(big, fabs(m->W[i]));
    for (size_t i = 0; i < m->K * moem_expert_rows(m) * m->d; i++) big = fmax(big, fabs(m->B[i]));
    for (size_t i = 0; i < N; i++) {
        for (size_t j = 0; j < m->d; j++) data.X[i * m->d + j] = ((double)((i * 7 + j * 3) % 5) - 2.0) / 2.0;
        data.y[i] = m->family == MOEM_LINEAR ? (double)i - 1.5 : (double)(i % (m->C < 2 ? 2 : m->C));
    }
    FUZZ_CHECK(moem_model_data_check(m, &data) == NULL);
    double L = moem_objective(&data, m);
    if (big * (double)m->d <= 1e300) FUZZ_CHECK(!isnan(L));   /* |logit| <= big * sum |x_j| */
    moem_data_free(&data);
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
    char err[512] = "";
    moem_model a, b;
    const char *path = fuzz_file(0, bytes, size);
    if (moem_model_read(path, &a, err, sizeof err)) {
        FUZZ_CHECK(a.W == NULL && a.B == NULL && a.sigma2 == NULL);
        FUZZ_CHECK(!strncmp(err, path, strlen(path)) && fuzz_one_line(err));
        return 0;
    }
    FUZZ_CHECK(moem_model_validate(&a) == NULL);
    char out[512];
    snprintf(out, sizeof out, "%s/model.json", fuzz_scratch_dir());
    FUZZ_CHECK(moem_model_write(out, &a, err, sizeof err) == 0);
    FUZZ_CHECK(moem_model_read(out, &b, err, sizeof err) == 0);
    same_model(&a, &b);
    objective(&a);
    moem_model_free(&a);
    moem_model_free(&b);
    return 0;
}
