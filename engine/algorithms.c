/* EM, Gradient EM and gradient descent steps, and the fit loop. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

/* What the M-steps of one run can keep: for SymMoLinE the factor of X^T X / N + ridge I; with
 * inner gradient steps, the automatic step of each sub-problem (K + 1). */
typedef struct em_cache { double *U; int have_U; double *steps; } em_cache;

/* The linear experts' closed-form M-step */
static int mstep_linear(const moem_data *data, moem_model *m, const double *R, const moem_params *p,
                        em_cache *cache, char *err, size_t errlen)
{
    if (m->symmetric)
        return moem_mstep_symlin(data, m, R, p->ridge, cache ? cache->U : NULL,
                                 cache ? &cache->have_U : NULL, err, errlen);
    return moem_mstep_linear(data, m, R, p->learn_sigma2, p->ridge, err, errlen);
}

/* One sub-problem's solve returned r: -1 fails the M-step; MOEM_NEWTON_CAPPED (an exact solve
 * that reached newton_max without meeting its rule) is counted and its message kept, naming the
 * sub-problem (the iterate is a descent, so the M-step goes on). */
static int sub_done(int r, const char *what, size_t k, int *capped, char *note, size_t notelen,
                    const char *err)
{
    if (r == MOEM_NEWTON_CAPPED) {
        if (!(*capped)++) {
            if (k) snprintf(note, notelen, "%s %zu: %s", what, k, err ? err : "");
            else snprintf(note, notelen, "%s: %s", what, err ? err : "");
        }
        return 0;
    }
    return r;
}

/* The M-step at theta_t. Exact M-steps (p->inner_steps == 0) use the responsibilities R and
 * gate probabilities PI (n x K each); inner gradient steps use R, the scores Z and N grad L
 * (G) of moem_pass_em. Returns 0, -1 (err written) or MOEM_NEWTON_CAPPED (err names the first
 * capped sub-problem). */
static int em_mstep(const moem_data *data, moem_model *m, const double *R, const double *PI,
                    const double *Z, const double *G, const moem_params *p, em_cache *cache,
                    char *err, size_t errlen)
{
    size_t n = data->n, d = data->d, K = m->K, P = moem_expert_rows(m);
    int rc = -1, capped = 0;
    char note[384] = "";
    double *T = NULL, *w = NULL;
    if (p->inner_steps > 0) {
        if (moem_mstep_inner(data, m, R, Z, G, p, cache ? cache->steps : NULL, err, errlen)) return -1;
        return m->family == MOEM_LINEAR ? mstep_linear(data, m, R, p, cache, err, errlen) : 0;
    }
    size_t tcols = K > 1 ? K - 1 : 1;
    if (m->family == MOEM_SOFTMAX && P - 1 > tcols) tcols = P - 1;
    T = moem_alloc_doubles(n * tcols);
    w = moem_alloc_doubles(n);
    if (!T || !w) { MOEM_ERR(err, errlen, "out of memory in the M-step"); goto out; }

    /* gate: soft-label multinomial logistic regression on the K-1 free rows */
    if (K > 1) {
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k + 1 < K; k++) T[i * (K - 1) + k] = R[i * K + k];
        if (sub_done(moem_multinomial_fit_from(data, NULL, T, K - 1, m->W, PI, K, p, err, errlen),
                     "gate", 0, &capped, note, sizeof note, err))
            goto out;
    }

    /* experts */
    if (m->family == MOEM_LINEAR) {
        rc = mstep_linear(data, m, R, p, cache, err, errlen);
        goto out;
    }
    if (m->family == MOEM_LOGISTIC && m->symmetric) {
        /* beta = argmin (1/N) sum softplus(beta.x) - yt beta.x, yt = r y + (1 - r)(1 - y) */
        for (size_t i = 0; i < n; i++) {
            double r = R[i * 2], y = data->y[i];
            T[i] = r * y + (1.0 - r) * (1.0 - y);
        }
        if (sub_done(moem_multinomial_fit(data, NULL, T, 1, m->B, p, err, errlen), "expert", 0,
                     &capped, note, sizeof note, err))
            goto out;
        for (size_t c = 0; c < d; c++) m->B[d + c] = -m->B[c];
        rc = 0;
        goto out;
    }
    for (size_t k = 0; k < K; k++) {
        double *Bk = m->B + k * P * d;
        for (size_t i = 0; i < n; i++) w[i] = R[i * K + k];
        if (m->family == MOEM_LOGISTIC) {
            /* softplus(s) - y s = LSE(s, 0) - y s: one free class with target y */
            if (sub_done(moem_multinomial_fit(data, w, data->y, 1, Bk, p, err, errlen), "expert",
                         k + 1, &capped, note, sizeof note, err))
                goto out;
        } else {
            /* softmax: shift every class row by the last one (the likelihood is unchanged),
             * then fit the C-1 free rows against the one-hot labels */
            const double *last = Bk + (P - 1) * d;
            for (size_t c = 0; c + 1 < P; c++)
                for (size_t j = 0; j < d; j++) Bk[c * d + j] -= last[j];
            memset(Bk + (P - 1) * d, 0, d * sizeof(double));
            for (size_t i = 0; i < n; i++)
                for (size_t c = 0; c + 1 < P; c++) T[i * (P - 1) + c] = (size_t)data->y[i] == c ? 1.0 : 0.0;
            if (sub_done(moem_multinomial_fit(data, w, T, P - 1, Bk, p, err, errlen), "expert",
                         k + 1, &capped, note, sizeof note, err))
                goto out;
        }
    }
    rc = 0;
out:
    if (rc == 0 && capped) {
        MOEM_ERR(err, errlen, "%s%s", note, capped > 1 ? " (and other sub-problems)" : "");
        rc = MOEM_NEWTON_CAPPED;
    }
    moem_free(T);
    moem_free(w);
    return rc;
}

/* What an E-step keeps for its M-step: R and PI (exact M-steps), or R, Z and G (inner steps) */
typedef struct em_state { double *R, *PI, *Z, *G; } em_state;

static int em_state_alloc(em_state *s, const moem_data *data, const moem_model *m,
                          const moem_params *p)
{
    size_t n = data->n, K = m->K, mtot = K + K * moem_expert_rows(m);
    memset(s, 0, sizeof *s);
    s->R = moem_alloc_doubles(n * K);
    if (p->inner_steps > 0) {
        s->Z = moem_alloc_doubles(n * mtot);
        s->G = moem_alloc_doubles(mtot * data->d);
        return s->R && s->Z && s->G ? 0 : -1;
    }
    s->PI = moem_alloc_doubles(n * K);
    return s->R && s->PI ? 0 : -1;
}

static void em_state_free(em_state *s)
{
    moem_free(s->R); moem_free(s->PI); moem_free(s->Z); moem_free(s->G);
    memset(s, 0, sizeof *s);
}

/* the E-step pass: L(theta) and what the M-step needs */
static double em_pass(const moem_data *data, const moem_model *m, em_state *s)
{
    return s->Z ? moem_pass_em(data, m, s->R, s->Z, s->G) : moem_pass(data, m, s->R, s->PI, NULL);
}

static int em_step(const moem_data *data, moem_model *m, const moem_params *p, char *err, size_t errlen)
{
    em_state s;
    int rc = -1;
    if (em_state_alloc(&s, data, m, p)) { MOEM_ERR(err, errlen, "out of memory for the responsibilities"); goto out; }
    double L = em_pass(data, m, &s);
    if (!isfinite(L)) MOEM_ERR(err, errlen, "the objective is not finite at the current parameters");
    else rc = em_mstep(data, m, s.R, s.PI, s.Z, s.G, p, NULL, err, errlen);
out:
    em_state_free(&s);
    return rc;
}

/* theta -= (lr_gate on the gate, lr on the experts) * g */
static void apply_gradient(moem_model *m, const double *gW, const double *gB, double lr_gate,
                           double lr)
{
    size_t K = m->K, d = m->d, nB = K * moem_expert_rows(m) * d;
    for (size_t i = 0; i < K * d; i++) m->W[i] -= lr_gate * gW[i];
    for (size_t i = 0; i < nB; i++) m->B[i] -= lr * gB[i];
    if (m->symmetric)
        for (size_t c = 0; c < d; c++) m->B[d + c] = -m->B[c];
}

static int gradient_step(const moem_data *data, moem_model *m, double lr_gate, double lr,
                         char *err, size_t errlen)
{
    size_t K = m->K, d = m->d, nB = K * moem_expert_rows(m) * d;
    double *gW = moem_alloc_doubles(K * d), *gB = moem_alloc_doubles(nB);
    int rc = -1;
    if (!gW || !gB) { MOEM_ERR(err, errlen, "out of memory for the gradient"); goto out; }
    double L = moem_gradient(data, m, gW, gB, NULL);
    if (!isfinite(L)) { MOEM_ERR(err, errlen, "the objective is not finite at the current parameters"); goto out; }
    apply_gradient(m, gW, gB, lr_gate, lr);
    rc = 0;
out:
    moem_free(gW);
    moem_free(gB);
    return rc;
}

/* The public steps and the fit run their passes on p->threads threads when it is > 0 (for
 * the duration of the call only), else on the process setting (engine/parallel.c). */
int moem_em_step(const moem_data *data, moem_model *m, const moem_params *p, char *err, size_t errlen)
{
    int outer = moem_threads_begin(p->threads);
    int rc = em_step(data, m, p, err, errlen);
    moem_threads_end(outer);
    return rc;
}

int moem_gem_step(const moem_data *data, moem_model *m, const moem_params *p, char *err, size_t errlen)
{
    /* One gradient step on Q(. | theta_t) per block. By the Fisher identity grad Q(. | theta_t)
     * at theta_t is grad L(theta_t): with lr_gate == lr this is exactly gradient descent. */
    int outer = moem_threads_begin(p->threads);
    int rc = gradient_step(data, m, p->lr_gate > 0 ? p->lr_gate : p->lr, p->lr, err, errlen);
    moem_threads_end(outer);
    return rc;
}

int moem_gd_step(const moem_data *data, moem_model *m, const moem_params *p, char *err, size_t errlen)
{
    int outer = moem_threads_begin(p->threads);
    int rc = gradient_step(data, m, p->lr, p->lr, err, errlen);
    moem_threads_end(outer);
    return rc;
}

static int fit(const moem_data *data, moem_model *m, const moem_params *p, moem_trace *trace,
               char *err, size_t errlen);

int moem_fit(const moem_data *data, moem_model *m, const moem_params *p, moem_trace *trace,
             char *err, size_t errlen)
{
    const char *bad = moem_check_params(data, m, p);
    memset(trace, 0, sizeof *trace);
    if (bad) { MOEM_ERR(err, errlen, "%s", bad); return -1; }
    int outer = moem_threads_begin(p->threads);
    int rc = fit(data, m, p, trace, err, errlen);
    moem_threads_end(outer);
    return rc;
}

static int fit(const moem_data *data, moem_model *m, const moem_params *p, moem_trace *trace,
               char *err, size_t errlen)
{
    trace->objective = moem_alloc_doubles((size_t)p->iters + 1);
    trace->seconds = moem_alloc_doubles((size_t)p->iters + 1);
    int em = p->algo == MOEM_ALGO_EM, grad = p->algo == MOEM_ALGO_GD || p->algo == MOEM_ALGO_GEM;
    size_t nW = m->K * m->d, nB = nW * moem_expert_rows(m);
    em_state es = {0};
    int es_bad = em && em_state_alloc(&es, data, m, p);
    em_cache cache = {em && m->symmetric && m->family == MOEM_LINEAR ? moem_alloc_doubles(m->d * m->d) : NULL, 0,
                      em && p->inner_steps > 0 ? calloc(m->K + 1, sizeof(double)) : NULL};
    double *gW = grad ? moem_alloc_doubles(nW) : NULL, *gB = grad ? moem_alloc_doubles(nB) : NULL;
    if (!trace->objective || !trace->seconds || es_bad || (em && p->inner_steps > 0 && !cache.steps) ||
        (grad && (!gW || !gB)) || (cache.U == NULL && em && m->symmetric && m->family == MOEM_LINEAR)) {
        /* name the largest block that failed and its size */
        const char *what = "the trace (2 x (iters + 1) doubles)";
        double n_doubles = 2.0 * ((double)p->iters + 1);
        if (es_bad && p->inner_steps > 0)
            what = "the responsibilities and scores (N x (2K + K x P) doubles)",
            n_doubles = (double)data->n * (double)(2 * m->K + m->K * moem_expert_rows(m));
        else if (es_bad) what = "the responsibilities and gate probabilities (2 x N x K doubles)",
            n_doubles = 2.0 * (double)data->n * (double)m->K;
        else if (grad && (!gW || !gB)) what = "the gradient (K x d + K x P x d doubles)", n_doubles = (double)(nW + nB);
        else if (em && m->symmetric && m->family == MOEM_LINEAR && !cache.U) what = "the Cholesky factor (d x d doubles)", n_doubles = (double)m->d * (double)m->d;
        em_state_free(&es); free(gW); free(gB); free(cache.U); free(cache.steps);
        moem_trace_free(trace);
        MOEM_ERR(err, errlen, "out of memory for %s: %.3g doubles, %.3g GB (N = %zu, K = %zu, d = %zu)", what,
                 n_doubles, n_doubles * 8e-9, data->n, m->K, m->d);
        return -1;
    }
    int rc = 0;
    double elapsed = 0.0;
    moem_pool pool;                 /* the iterations' scratch, kept from one to the next */
    moem_pool_begin(&pool);
    for (int t = 0;; t++) {
        double t0 = moem_now();
        /* one pass gives L(theta_t) and what the step needs: the E-step (EM) or grad L */
        int last = t == p->iters;
        double L = em && !last ? em_pass(data, m, &es)
                 : grad && !last ? moem_gradient(data, m, gW, gB, NULL)
                 : moem_objective(data, m);
        elapsed += moem_now() - t0;
        trace->objective[t] = L;
        trace->seconds[t] = elapsed;
        trace->iters = t;
        if (!isfinite(L)) {
            MOEM_ERR(err, errlen, "%s: the objective became non-finite at iteration %d (%s)", moem_algo_name(p->algo), t,
                     t == 0 ? "at the start: parameters too large for the data"
                     : grad ? "the step size is too large: try a smaller --lr / --lr-gate"
                     : p->algo == MOEM_ALGO_MD ? "the mirror-descent step diverged: the data may have no "
                                                 "maximum-likelihood point (separable labels?)"
                     : "the M-step diverged: try --ridge");
            rc = -1;
            break;
        }
        if (em && t > 0 && L > trace->objective[t - 1] + 1e-12 * fabs(trace->objective[t - 1]))
            trace->rises++;
        if (p->on_iter && p->on_iter(p->ctx, t, m, L, elapsed)) { trace->stopped = 1; break; }
        if (last) break;
        if (p->tol > 0 && t > 0) {      /* the stopping rule: a small relative decrease */
            double prev = trace->objective[t - 1], dec = prev - L;
            if (dec >= 0 && dec <= p->tol * fabs(prev)) { trace->converged = 1; break; }
        }
        t0 = moem_now();
        switch (p->algo) {
        case MOEM_ALGO_EM:
            rc = em_mstep(data, m, es.R, es.PI, es.Z, es.G, p, &cache, err, errlen);
            if (rc == MOEM_NEWTON_CAPPED) {     /* reported, not fatal: err keeps the last one */
                trace->capped++;
                char msg[448];
                snprintf(msg, sizeof msg, "%s", err ? err : "");
                MOEM_ERR(err, errlen, "iteration %d: %s", t + 1, msg);
                rc = 0;
            }
            break;
        case MOEM_ALGO_GEM: apply_gradient(m, gW, gB, p->lr_gate > 0 ? p->lr_gate : p->lr, p->lr); break;
        case MOEM_ALGO_GD: apply_gradient(m, gW, gB, p->lr, p->lr); break;
        case MOEM_ALGO_MD: rc = moem_md_step(data, m, p, err, errlen); break;
        }
        elapsed += moem_now() - t0;
        if (rc) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s", err ? err : "");
            MOEM_ERR(err, errlen, "iteration %d: %s", t + 1, msg);
            break;
        }
    }
    moem_pool_end(&pool);
    em_state_free(&es); free(gW); free(gB); free(cache.U); free(cache.steps);
    return rc;
}
