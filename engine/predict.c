/* Using a fitted model: predictions, posteriors, scores, the parameter count (moem/evaluate.h).
 * Every pass is the E-step's pass (moem_pass: the kernel table, every thread) over blocks of
 * rows, so prediction runs at the E-step's speed; the per-row combination of the gate
 * probabilities and the expert scores is the only code of its own. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

#define CHUNK ((size_t)1 << 15)     /* rows per pass: bounds the scratch at CHUNK x (K + K P) */

size_t moem_param_count(const moem_model *m, int learn_sigma2)
{
    if (m->symmetric) return 2 * m->d;                       /* w and beta */
    size_t gate = (m->K - 1) * m->d;                          /* row K-1 pinned */
    size_t expert = m->family == MOEM_SOFTMAX ? (m->C - 1) * m->d : m->d;
    return gate + m->K * expert + (m->family == MOEM_LINEAR && learn_sigma2 ? m->K : 0);
}

size_t moem_predict_cols(const moem_model *m, moem_predict_what what)
{
    size_t K = m->K, C = m->C;
    switch (what) {
    case MOEM_PREDICT_MEAN: return m->family == MOEM_LINEAR ? 1 : 0;
    case MOEM_PREDICT_PROBA: return m->family == MOEM_LINEAR ? 0 : C;
    case MOEM_PREDICT_CLASS: return m->family == MOEM_LINEAR ? 0 : 1;
    case MOEM_PREDICT_GATE: return K;
    case MOEM_PREDICT_EXPERTS: return m->family == MOEM_SOFTMAX ? K * C : K;
    case MOEM_PREDICT_POSTERIOR: return K;
    case MOEM_PREDICT_CLUSTER: return 1;
    }
    return 0;
}

static double sigmoid(double s) { return s >= 0 ? 1.0 / (1.0 + exp(-s)) : exp(s) / (1.0 + exp(s)); }

/* expert k's class probabilities at one row from its scores e (C of them) */
static void softmax_row(const double *e, size_t C, double *p)
{
    double mx = -INFINITY, t = 0.0;
    for (size_t c = 0; c < C; c++) if (e[c] > mx) mx = e[c];
    for (size_t c = 0; c < C; c++) t += (p[c] = exp(e[c] - mx));
    for (size_t c = 0; c < C; c++) p[c] /= t;
}

static size_t argmax(const double *v, size_t n)
{
    size_t a = 0;
    for (size_t j = 1; j < n; j++) if (v[j] > v[a]) a = j;
    return a;
}

/* One row's output from its gate probabilities pi (K) and expert scores s (K x P); tmp: 2 C. */
static void combine(const moem_model *m, moem_predict_what what, const double *pi, const double *s,
                    double *tmp, double *out)
{
    size_t K = m->K, C = m->C;
    if (what == MOEM_PREDICT_GATE) { memcpy(out, pi, K * sizeof(double)); return; }
    if (m->family == MOEM_LINEAR) {
        if (what == MOEM_PREDICT_EXPERTS) { memcpy(out, s, K * sizeof(double)); return; }
        double mean = 0.0;
        for (size_t k = 0; k < K; k++) mean += pi[k] * s[k];
        out[0] = mean;
        return;
    }
    if (m->family == MOEM_LOGISTIC) {
        double p1 = 0.0;
        for (size_t k = 0; k < K; k++) {
            double q = sigmoid(s[k]);
            if (what == MOEM_PREDICT_EXPERTS) out[k] = q;
            p1 += pi[k] * q;
        }
        if (what == MOEM_PREDICT_PROBA) { out[0] = 1.0 - p1; out[1] = p1; }
        if (what == MOEM_PREDICT_CLASS) out[0] = p1 > 0.5 ? 1.0 : 0.0;
        return;
    }
    double *p = what == MOEM_PREDICT_PROBA ? out : tmp + C;      /* softmax experts */
    memset(p, 0, C * sizeof(double));
    for (size_t k = 0; k < K; k++) {
        double *q = what == MOEM_PREDICT_EXPERTS ? out + k * C : tmp;
        softmax_row(s + k * C, C, q);
        for (size_t c = 0; c < C; c++) p[c] += pi[k] * q[c];
    }
    if (what == MOEM_PREDICT_CLASS) out[0] = (double)argmax(p, C);
}

/* rows lo .. hi of a block: their outputs from the gate probabilities and expert scores */
typedef struct combine_ctx {
    const moem_model *m;
    moem_predict_what what;
    const double *PI, *S;
    double *out;
    size_t cols;
} combine_ctx;

static int combine_rows(const void *vctx, size_t lo, size_t hi, double *sums, double *tmp)
{
    const combine_ctx *c = vctx;
    size_t K = c->m->K, P = moem_expert_rows(c->m);
    (void)sums;
    for (size_t i = lo; i < hi; i++)
        combine(c->m, c->what, c->PI + i * K, c->S + i * K * P, tmp, c->out + i * c->cols);
    return 0;
}

/* the rows [i0, i0 + n) of data as a data set of their own (no copy); y: its responses */
static moem_data rows_view(const moem_data *data, size_t i0, size_t n, double *y)
{
    moem_data v = {.n = n, .d = data->d, .y = y};
    if (data->X) v.X = data->X + i0 * data->d;
    else v.Xf = data->Xf + i0 * data->d;
    return v;
}

int moem_predict(const moem_data *data, const moem_model *m, moem_predict_what what, double *out,
                 char *err, size_t errlen)
{
    const char *bad = moem_model_validate(m);
    size_t cols = bad ? 0 : moem_predict_cols(m, what);
    if (bad) { MOEM_ERR(err, errlen, "%s", bad); return -1; }
    if (!data || data->n < 1 || !(data->X || data->Xf)) { MOEM_ERR(err, errlen, "data is empty"); return -1; }
    if (data->d != m->d) {
        MOEM_ERR(err, errlen, "the model has d = %zu features, the data %zu", m->d, data->d);
        return -1;
    }
    if (!cols) {
        MOEM_ERR(err, errlen, "%s experts give no %s", moem_family_name(m->family),
                 what == MOEM_PREDICT_MEAN ? "mean (use proba or class)" : "class probabilities (use mean)");
        return -1;
    }
    int need_y = what == MOEM_PREDICT_POSTERIOR || what == MOEM_PREDICT_CLUSTER;
    if (need_y && !data->y) { MOEM_ERR(err, errlen, "posterior and cluster need the responses y"); return -1; }
    const char *ybad = need_y ? moem_model_data_check(m, data) : NULL;
    if (ybad) { MOEM_ERR(err, errlen, "%s", ybad); return -1; }

    size_t K = m->K, P = moem_expert_rows(m), n = data->n, nb = n < CHUNK ? n : CHUNK;
    double *PI = moem_alloc_doubles(nb * K), *S = moem_alloc_doubles(nb * K * P);
    double *R = need_y ? moem_alloc_doubles(nb * K) : NULL, *y0 = need_y ? NULL : calloc(nb, sizeof(double));
    size_t T = nb >= 4096 ? moem_threads() : 1;
    int rc = -1;
    if (!PI || !S || (need_y ? !R : !y0)) { MOEM_ERR(err, errlen, "out of memory"); goto out; }
    for (size_t i0 = 0; i0 < n; i0 += nb) {
        size_t k = n - i0 < nb ? n - i0 : nb;
        moem_data v = rows_view(data, i0, k, need_y ? data->y + i0 : y0);  /* y = 0: valid, unused */
        if (isnan(moem_pass(&v, m, R, need_y ? NULL : PI, need_y ? NULL : S))) {
            MOEM_ERR(err, errlen, "out of memory");
            goto out;
        }
        double *o = out + i0 * cols;
        if (need_y) {
            if (what == MOEM_PREDICT_POSTERIOR) memcpy(o, R, k * K * sizeof(double));
            else for (size_t i = 0; i < k; i++) o[i] = (double)argmax(R + i * K, K);
            continue;
        }
        combine_ctx cc = {m, what, PI, S, o, cols};
        if (moem_run_rows(k, T, 0, NULL, combine_rows, &cc, 2 * m->C)) {
            MOEM_ERR(err, errlen, "out of memory");
            goto out;
        }
    }
    rc = 0;
    rc = 0;
    for (size_t i = 0; i < n * cols; i++)
        if (isnan(out[i])) { MOEM_ERR(err, errlen, "out of memory"); rc = -1; break; }
out:
    moem_free(PI);
    moem_free(S);
    moem_free(R);
    free(y0);
    return rc;
}

int moem_posterior(const moem_data *data, const moem_model *m, double *R, char *err, size_t errlen)
{
    return moem_predict(data, m, MOEM_PREDICT_POSTERIOR, R, err, errlen);
}

int moem_score(const moem_data *data, const moem_model *m, int learn_sigma2, moem_scores *s, char *err,
               size_t errlen)
{
    memset(s, 0, sizeof *s);
    const char *bad = moem_model_validate(m);
    if (!bad) bad = moem_model_data_check(m, data);
    if (bad) { MOEM_ERR(err, errlen, "%s", bad); return -1; }
    size_t n = data->n;
    int lin = m->family == MOEM_LINEAR;
    double *pred = moem_alloc_doubles(n);
    if (!pred) { MOEM_ERR(err, errlen, "out of memory"); return -1; }
    double L = moem_objective(data, m);
    if (isnan(L) || moem_predict(data, m, lin ? MOEM_PREDICT_MEAN : MOEM_PREDICT_CLASS, pred, err, errlen)) {
        if (isnan(L)) MOEM_ERR(err, errlen, "out of memory");
        moem_free(pred);
        return -1;
    }
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = pred[i] - data->y[i];
        acc += lin ? e * e : (e == 0.0);
    }
    moem_free(pred);
    s->n = n;
    s->objective = L;
    s->params = moem_param_count(m, learn_sigma2);
    s->aic = 2.0 * (double)n * L + 2.0 * (double)s->params;
    s->bic = 2.0 * (double)n * L + (double)s->params * log((double)n);
    if (lin) {
        s->rmse = sqrt(acc / (double)n);
        s->accuracy = s->cross_entropy = NAN;
    } else {
        s->rmse = NAN;
        s->accuracy = acc / (double)n;
        s->cross_entropy = L;
    }
    return 0;
}
