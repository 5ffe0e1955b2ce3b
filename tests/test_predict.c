/* Using a fitted model (moem/evaluate.h): predictions of every kind against a computation by
 * hand, for each family; posteriors; scores against the fit's objective; the parameter count;
 * bad inputs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "moem.h"

static double urand(unsigned long long *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

/* n rows of d features in [-2, 2), responses valid for the model */
static void make_data(moem_data *data, const moem_model *m, size_t n, unsigned long long seed)
{
    unsigned long long s = seed;
    assert_int_equal(moem_data_alloc(data, n, m->d, NULL, 0), 0);
    for (size_t i = 0; i < n * m->d; i++) data->X[i] = 4 * urand(&s) - 2;
    for (size_t i = 0; i < n; i++)
        data->y[i] = m->family == MOEM_LINEAR ? 3 * urand(&s) - 1 : floor(urand(&s) * (double)m->C);
}

static double dot(const double *a, const double *b, size_t d)
{
    double s = 0;
    for (size_t c = 0; c < d; c++) s += a[c] * b[c];
    return s;
}

/* by hand, row x (and y): gate pi, expert outputs e (K x C: class probabilities; linear: the
 * mean, C = 1), the mixture's p (C), the responsibilities r */
static void by_hand(const moem_model *m, const double *x, double y, double *pi, double *e, double *p,
                    double *r)
{
    size_t K = m->K, C = m->C, d = m->d, P = moem_expert_rows(m);
    double z[16], mx = -INFINITY, t = 0;
    for (size_t k = 0; k < K; k++) { z[k] = dot(m->W + k * d, x, d); mx = fmax(mx, z[k]); }
    for (size_t k = 0; k < K; k++) t += exp(z[k] - mx);
    for (size_t k = 0; k < K; k++) pi[k] = exp(z[k] - mx) / t;
    for (size_t c = 0; c < C; c++) p[c] = 0;
    double lik[16], tot = 0;
    for (size_t k = 0; k < K; k++) {
        const double *B = m->B + k * P * d;
        if (m->family == MOEM_LINEAR) {
            e[k] = dot(B, x, d);
            p[0] += pi[k] * e[k];
            lik[k] = exp(-0.5 * (y - e[k]) * (y - e[k]) / m->sigma2[k]) / sqrt(2 * 3.14159265358979323846 * m->sigma2[k]);
        } else if (m->family == MOEM_LOGISTIC) {
            double q = 1 / (1 + exp(-dot(B, x, d)));
            e[k * 2] = 1 - q;
            e[k * 2 + 1] = q;
            p[0] += pi[k] * (1 - q);
            p[1] += pi[k] * q;
            lik[k] = y == 1 ? q : 1 - q;
        } else {
            double s[16], smx = -INFINITY, st = 0;
            for (size_t c = 0; c < C; c++) { s[c] = dot(B + c * d, x, d); smx = fmax(smx, s[c]); }
            for (size_t c = 0; c < C; c++) st += exp(s[c] - smx);
            for (size_t c = 0; c < C; c++) { e[k * C + c] = exp(s[c] - smx) / st; p[c] += pi[k] * e[k * C + c]; }
            lik[k] = e[k * C + (size_t)y];
        }
        tot += pi[k] * lik[k];
    }
    for (size_t k = 0; k < K; k++) r[k] = pi[k] * lik[k] / tot;
}

static size_t argmax(const double *v, size_t n)
{
    size_t a = 0;
    for (size_t j = 1; j < n; j++) if (v[j] > v[a]) a = j;
    return a;
}

static void check_family(moem_family f, int sym, size_t K, size_t C, size_t n)
{
    moem_model m;
    moem_data data;
    char err[256];
    size_t d = 4;
    assert_int_equal(moem_model_init_random(&m, f, sym, K, d, C, 11 + f, err, sizeof err), 0);
    for (size_t i = 0; i < K * moem_expert_rows(&m) * d; i++) m.B[i] *= 3;   /* distinct experts */
    for (size_t i = 0; i + 1 < K; i++)
        for (size_t c = 0; c < d; c++) m.W[i * d + c] *= 2;
    if (f == MOEM_LINEAR && !sym) for (size_t k = 0; k < K; k++) m.sigma2[k] = 0.5 + (double)k;
    make_data(&data, &m, n, 5 + f);
    static const moem_predict_what all[] = {MOEM_PREDICT_MEAN, MOEM_PREDICT_PROBA, MOEM_PREDICT_CLASS,
                                            MOEM_PREDICT_GATE, MOEM_PREDICT_EXPERTS, MOEM_PREDICT_POSTERIOR,
                                            MOEM_PREDICT_CLUSTER};
    double pi[16], e[64], p[16], r[16];
    for (size_t w = 0; w < sizeof all / sizeof all[0]; w++) {
        size_t cols = moem_predict_cols(&m, all[w]);
        if (!cols) {       /* an output this family does not have: an error, never a guess */
            double dummy[64];
            assert_int_equal(moem_predict(&data, &m, all[w], dummy, err, sizeof err), -1);
            assert_non_null(strstr(err, "experts give no"));
            continue;
        }
        double *out = malloc(n * cols * sizeof(double));
        assert_non_null(out);
        assert_int_equal(moem_predict(&data, &m, all[w], out, err, sizeof err), 0);
        for (size_t i = 0; i < n; i++) {
            by_hand(&m, data.X + i * d, data.y[i], pi, e, p, r);
            const double *o = out + i * cols;
            double want[64];
            size_t nw = 0;
            switch (all[w]) {
            case MOEM_PREDICT_MEAN: want[nw++] = p[0]; break;
            case MOEM_PREDICT_PROBA: for (size_t c = 0; c < m.C; c++) want[nw++] = p[c]; break;
            case MOEM_PREDICT_CLASS: want[nw++] = (double)argmax(p, m.C); break;
            case MOEM_PREDICT_GATE: for (size_t k = 0; k < K; k++) want[nw++] = pi[k]; break;
            case MOEM_PREDICT_EXPERTS:
                for (size_t k = 0; k < K; k++) {
                    if (f == MOEM_SOFTMAX) for (size_t c = 0; c < m.C; c++) want[nw++] = e[k * m.C + c];
                    else want[nw++] = f == MOEM_LOGISTIC ? e[2 * k + 1] : e[k];
                }
                break;
            case MOEM_PREDICT_POSTERIOR: {
                double s = 0;
                for (size_t k = 0; k < K; k++) { want[nw++] = r[k]; s += o[k]; }
                assert_true(fabs(s - 1) < 1e-13);
                break;
            }
            case MOEM_PREDICT_CLUSTER: want[nw++] = (double)argmax(r, K); break;
            }
            assert_int_equal(nw, cols);
            for (size_t j = 0; j < cols; j++)
                if (!(fabs(o[j] - want[j]) <= 1e-12 * (1 + fabs(want[j])))) {
                    fprintf(stderr, "family %d what %d row %zu col %zu: %.17g, by hand %.17g\n", (int)f,
                            (int)all[w], i, j, o[j], want[j]);
                    fail();
                }
        }
        free(out);
    }
    moem_model_free(&m);
    moem_data_free(&data);
}

static void predict_linear(void **state) { (void)state; check_family(MOEM_LINEAR, 0, 3, 1, 37); }
static void predict_logistic(void **state) { (void)state; check_family(MOEM_LOGISTIC, 0, 3, 2, 37); }
static void predict_softmax(void **state) { (void)state; check_family(MOEM_SOFTMAX, 0, 2, 4, 37); }
static void predict_symmetric(void **state) { (void)state; check_family(MOEM_LINEAR, 1, 2, 1, 37); }
/* more rows than one block of moem_predict (32768), on every thread */
static void predict_blocks(void **state) { (void)state; check_family(MOEM_SOFTMAX, 0, 3, 3, 70001); }

/* without y: every output but the posterior and the cluster */
static void predict_without_y(void **state)
{
    (void)state;
    moem_model m;
    moem_data data;
    char err[256];
    assert_int_equal(moem_model_init_random(&m, MOEM_LOGISTIC, 0, 2, 4, 2, 3, err, sizeof err), 0);
    make_data(&data, &m, 20, 1);
    double a[40], b[40];
    assert_int_equal(moem_posterior(&data, &m, a, err, sizeof err), 0);     /* = POSTERIOR */
    assert_int_equal(moem_predict(&data, &m, MOEM_PREDICT_POSTERIOR, b, err, sizeof err), 0);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(moem_predict(&data, &m, MOEM_PREDICT_PROBA, a, err, sizeof err), 0);
    free(data.y);
    data.y = NULL;
    assert_int_equal(moem_predict(&data, &m, MOEM_PREDICT_PROBA, b, err, sizeof err), 0);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(moem_predict(&data, &m, MOEM_PREDICT_POSTERIOR, b, err, sizeof err), -1);
    assert_non_null(strstr(err, "need the responses"));
    assert_int_equal(moem_posterior(&data, &m, b, err, sizeof err), -1);
    moem_data_free(&data);
    /* labels out of the model's range; d that differs */
    make_data(&data, &m, 20, 1);
    data.y[3] = 2;
    assert_int_equal(moem_predict(&data, &m, MOEM_PREDICT_CLUSTER, b, err, sizeof err), -1);
    assert_non_null(strstr(err, "responses 0 or 1"));
    moem_scores s;
    assert_int_equal(moem_score(&data, &m, 0, &s, err, sizeof err), -1);
    moem_data_free(&data);
    assert_int_equal(moem_data_alloc(&data, 5, 3, err, sizeof err), 0);
    assert_int_equal(moem_predict(&data, &m, MOEM_PREDICT_GATE, b, err, sizeof err), -1);
    assert_non_null(strstr(err, "d = 4"));
    moem_data_free(&data);
    moem_model_free(&m);
}

/* the score of the training data is the fit's final objective; AIC and BIC from it */
static void score_equals_fit(void **state)
{
    (void)state;
    static const moem_family fam[] = {MOEM_LINEAR, MOEM_LOGISTIC, MOEM_SOFTMAX};
    for (int j = 0; j < 3; j++) {
        moem_model m;
        moem_data data;
        moem_params p;
        moem_trace tr;
        moem_scores s;
        char err[256];
        assert_int_equal(moem_model_init_random(&m, fam[j], 0, 2, 3, 3, 21, err, sizeof err), 0);
        make_data(&data, &m, 500, 9);
        moem_params_default(&p);
        p.iters = 5;
        p.learn_sigma2 = fam[j] == MOEM_LINEAR;
        assert_int_equal(moem_fit(&data, &m, &p, &tr, err, sizeof err), 0);
        assert_int_equal(moem_score(&data, &m, p.learn_sigma2, &s, err, sizeof err), 0);
        double L = tr.objective[tr.iters];
        assert_true(fabs(s.objective - L) <= 1e-12 * fabs(L));
        assert_int_equal(s.n, 500);
        assert_int_equal(s.params, moem_param_count(&m, p.learn_sigma2));
        assert_true(fabs(s.aic - (1000 * L + 2 * (double)s.params)) <= 1e-9 * fabs(s.aic));
        assert_true(fabs(s.bic - (1000 * L + (double)s.params * log(500.0))) <= 1e-9 * fabs(s.bic));
        if (fam[j] == MOEM_LINEAR) {
            assert_true(isnan(s.accuracy) && s.rmse > 0);
        } else {
            assert_true(isnan(s.rmse) && s.accuracy >= 0 && s.accuracy <= 1 && s.cross_entropy == s.objective);
            double *cls = malloc(500 * sizeof(double));
            assert_int_equal(moem_predict(&data, &m, MOEM_PREDICT_CLASS, cls, err, sizeof err), 0);
            size_t right = 0;
            for (size_t i = 0; i < 500; i++) right += cls[i] == data.y[i];
            assert_true(s.accuracy == (double)right / 500);
            free(cls);
        }
        moem_trace_free(&tr);
        moem_model_free(&m);
        moem_data_free(&data);
    }
}

static void param_count(void **state)
{
    (void)state;
    moem_model m;
    assert_int_equal(moem_model_alloc(&m, MOEM_LINEAR, 0, 3, 4, 1, NULL, 0), 0);
    assert_int_equal(moem_param_count(&m, 0), 2 * 4 + 3 * 4);
    assert_int_equal(moem_param_count(&m, 1), 2 * 4 + 3 * 4 + 3);
    moem_model_free(&m);
    assert_int_equal(moem_model_alloc(&m, MOEM_SOFTMAX, 0, 2, 4, 3, NULL, 0), 0);
    assert_int_equal(moem_param_count(&m, 1), 4 + 2 * 2 * 4);
    moem_model_free(&m);
    assert_int_equal(moem_model_alloc(&m, MOEM_LOGISTIC, 1, 2, 5, 2, NULL, 0), 0);
    assert_int_equal(moem_param_count(&m, 0), 10);
    moem_model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(predict_linear),    cmocka_unit_test(predict_logistic),
        cmocka_unit_test(predict_softmax),   cmocka_unit_test(predict_symmetric),
        cmocka_unit_test(predict_blocks),    cmocka_unit_test(predict_without_y),
        cmocka_unit_test(score_equals_fit),  cmocka_unit_test(param_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
