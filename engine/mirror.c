/* Unit-step mirror descent, the reference EM is checked against (MATH.md sections 3-4).
 * theta+ = argmin <grad L(theta_t), theta> + D_A(theta, theta_t), computed from L and the
 * mirror map A alone, with this file's own code (it shares nothing with the EM path):
 *   symmetric models and the gate of any K: grad A(theta+) = grad A(theta_t) - grad L(theta_t),
 *     solved by Newton;
 *   experts of a general K-expert model: the natural-parameter form
 *     F_t(theta) = <grad_eta L(eta_t), eta(theta) - eta_t> + D_A(eta(theta), eta_t),
 *     minimised over each expert's parameters by Newton (a quadratic for linear experts).
 * It reads rows of X in place and so takes float64 data only: its entry points refuse float32
 * data (NAN, or an error message). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "mirror.h"

#define ERR(...) do { if (err && errlen) snprintf(err, errlen, __VA_ARGS__); } while (0)

static const double LOG_2PI = 1.8378770664093454835606594728112;
static const size_t MD_MAX_BLOCK = 4096;   /* unknowns of one Newton system */

/* ---- scalar helpers --------------------------------------------------------------------- */

static double dot(const double *a, const double *b, size_t d)
{
    double s = 0.0;
    for (size_t i = 0; i < d; i++) s += a[i] * b[i];
    return s;
}

static double softplus(double u) { return u > 0 ? u + log1p(exp(-u)) : log1p(exp(u)); }

static double sigm(double u)
{
    if (u >= 0) return 1.0 / (1.0 + exp(-u));
    double e = exp(u);
    return e / (1.0 + e);
}

/* log sum_i exp v[i*stride] */
static double lse(const double *v, size_t n, size_t stride)
{
    double mx = -INFINITY, s = 0.0;
    for (size_t i = 0; i < n; i++) if (v[i * stride] > mx) mx = v[i * stride];
    if (mx == -INFINITY) return mx;
    for (size_t i = 0; i < n; i++) s += exp(v[i * stride] - mx);
    return mx + log(s);
}

/* ---- dense linear algebra ----------------------------------------------------------------- */

int moem_md_chol(size_t n, double *A)
{
    for (size_t j = 0; j < n; j++) {
        double s = A[j * n + j];
        for (size_t k = 0; k < j; k++) s -= A[j * n + k] * A[j * n + k];
        if (!(s > 0.0) || !isfinite(s)) return -1;
        double l = sqrt(s);
        A[j * n + j] = l;
        for (size_t i = j + 1; i < n; i++) {
            double t = A[i * n + j];
            for (size_t k = 0; k < j; k++) t -= A[i * n + k] * A[j * n + k];
            A[i * n + j] = t / l;
        }
        for (size_t i = 0; i < j; i++) A[i * n + j] = 0.0;
    }
    return 0;
}

void moem_md_chol_solve(size_t n, const double *Lc, double *b)
{
    for (size_t i = 0; i < n; i++) {
        double s = b[i];
        for (size_t k = 0; k < i; k++) s -= Lc[i * n + k] * b[k];
        b[i] = s / Lc[i * n + i];
    }
    for (size_t i = n; i-- > 0;) {
        double s = b[i];
        for (size_t k = i + 1; k < n; k++) s -= Lc[k * n + i] * b[k];
        b[i] = s / Lc[i * n + i];
    }
}

void moem_md_jacobi(size_t n, double *A, double *eig, double *V)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) V[i * n + j] = i == j;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0.0, tot = 0.0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                tot += A[i * n + j] * A[i * n + j];
                if (i != j) off += A[i * n + j] * A[i * n + j];
            }
        if (off <= 1e-32 * tot || off == 0.0) break;
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++) {
                double apq = A[p * n + q];
                if (apq == 0.0) continue;
                double theta = (A[q * n + q] - A[p * n + p]) / (2 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (size_t k = 0; k < n; k++) {          /* A <- A J (columns p, q) */
                    double akp = A[k * n + p], akq = A[k * n + q];
                    A[k * n + p] = c * akp - s * akq;
                    A[k * n + q] = s * akp + c * akq;
                }
                for (size_t k = 0; k < n; k++) {          /* A <- J^T A (rows p, q) */
                    double apk = A[p * n + k], aqk = A[q * n + k];
                    A[p * n + k] = c * apk - s * aqk;
                    A[q * n + k] = s * apk + c * aqk;
                }
                for (size_t k = 0; k < n; k++) {
                    double vkp = V[k * n + p], vkq = V[k * n + q];
                    V[k * n + p] = c * vkp - s * vkq;
                    V[k * n + q] = s * vkp + c * vkq;
                }
            }
    }
    for (size_t i = 0; i < n; i++) eig[i] = A[i * n + i];
}

/* Cholesky solve of H x = b (H overwritten), adding a growing ridge if H is singular */
static int spd_solve(size_t n, double *H, double *b)
{
    double tr = 0.0;
    for (size_t i = 0; i < n; i++) tr += fabs(H[i * n + i]);
    tr = tr > 0 ? tr / (double)n : 1.0;
    double *H0 = malloc(n * n * sizeof(double));
    if (!H0) return -1;
    memcpy(H0, H, n * n * sizeof(double));
    for (double ridge = 0.0; ridge < tr; ridge = ridge ? ridge * 100 : 1e-14 * tr) {
        memcpy(H, H0, n * n * sizeof(double));
        for (size_t i = 0; i < n; i++) H[i * n + i] += ridge;
        if (moem_md_chol(n, H) == 0) {
            moem_md_chol_solve(n, H, b);
            free(H0);
            return 0;
        }
    }
    free(H0);
    return -1;
}

/* ---- packing ------------------------------------------------------------------------------ */

size_t moem_md_dim(const moem_model *m)
{
    if (m->symmetric) return 2 * m->d;
    return (m->K - 1) * m->d + m->K * moem_expert_rows(m) * m->d;
}

void moem_md_pack(const moem_model *m, double *theta)
{
    size_t d = m->d;
    if (m->symmetric) {
        memcpy(theta, m->W, d * sizeof(double));
        memcpy(theta + d, m->B, d * sizeof(double));
        return;
    }
    size_t gw = (m->K - 1) * d;
    memcpy(theta, m->W, gw * sizeof(double));
    memcpy(theta + gw, m->B, m->K * moem_expert_rows(m) * d * sizeof(double));
}

void moem_md_unpack(moem_model *m, const double *theta)
{
    size_t d = m->d, K = m->K;
    if (m->symmetric) {
        for (size_t c = 0; c < d; c++) {
            m->W[c] = theta[c];
            m->W[d + c] = 0.0;
            m->B[c] = theta[d + c];
            m->B[d + c] = -theta[d + c];
        }
        return;
    }
    size_t gw = (K - 1) * d;
    memcpy(m->W, theta, gw * sizeof(double));
    memset(m->W + gw, 0, d * sizeof(double));
    memcpy(m->B, theta + gw, K * moem_expert_rows(m) * d * sizeof(double));
}

double moem_md_param_diff(const moem_model *a, const moem_model *b)
{
    size_t d = a->d, K = a->K, P = moem_expert_rows(a);
    double mx = 0.0;
    for (size_t i = 0; i < K * d; i++) mx = fmax(mx, fabs(a->W[i] - b->W[i]));
    for (size_t k = 0; k < K; k++)
        for (size_t p = 0; p < P; p++)
            for (size_t c = 0; c < d; c++) {
                size_t i = (k * P + p) * d + c, last = (k * P + P - 1) * d + c;
                double va = a->B[i], vb = b->B[i];
                if (a->family == MOEM_SOFTMAX) { va -= a->B[last]; vb -= b->B[last]; }
                mx = fmax(mx, fabs(va - vb));
            }
    return mx;
}

/* ---- per-sample log-likelihood pieces ------------------------------------------------------ */

/* Expert class log-probabilities for one sample. lp: K x E where E = C (softmax), 2 (logistic:
 * log P(y=0), log P(y=1)) or 1 (linear: the mean b_k.x). Returns E. */
static size_t expert_logs(const moem_model *m, const double *x, double *lp)
{
    size_t K = m->K, d = m->d, P = moem_expert_rows(m);
    for (size_t k = 0; k < K; k++) {
        const double *Bk = m->B + k * P * d;
        if (m->family == MOEM_LINEAR) lp[k] = dot(Bk, x, d);
        else if (m->family == MOEM_LOGISTIC) {
            double u = dot(Bk, x, d), sp = softplus(u);
            lp[2 * k] = -sp;
            lp[2 * k + 1] = u - sp;
        } else {
            double *l = lp + k * P;
            for (size_t c = 0; c < P; c++) l[c] = dot(Bk + c * d, x, d);
            double z = lse(l, P, 1);
            for (size_t c = 0; c < P; c++) l[c] -= z;
        }
    }
    return m->family == MOEM_LINEAR ? 1 : m->family == MOEM_LOGISTIC ? 2 : P;
}

/* gate logits g (K), log-joint l (K) of one sample; returns LSE_k l_k = log p(y | x) */
static double sample_joint(const moem_model *m, const double *x, double y, double *g,
                           double *lp, double *l)
{
    size_t K = m->K, E = expert_logs(m, x, lp);
    for (size_t k = 0; k < K; k++) g[k] = dot(m->W + k * m->d, x, m->d);
    double zg = lse(g, K, 1);
    for (size_t k = 0; k < K; k++) {
        double le;
        if (m->family == MOEM_LINEAR) {
            double r = y - lp[k];
            le = -r * r / (2 * m->sigma2[k]) - 0.5 * (LOG_2PI + log(m->sigma2[k]));
        } else le = lp[k * E + (size_t)y];
        l[k] = g[k] - zg + le;
    }
    return lse(l, K, 1);
}

typedef struct scratch { double *g, *lp, *l, *eta, *mu; } scratch;

static int scratch_alloc(scratch *s, const moem_model *m)
{
    size_t K = m->K, E = moem_expert_rows(m) + 1;
    s->g = malloc(K * sizeof(double));
    s->lp = malloc(K * E * sizeof(double));
    s->l = malloc(K * sizeof(double));
    s->eta = malloc(2 * K * E * sizeof(double));
    s->mu = malloc(2 * K * E * sizeof(double));
    return s->g && s->lp && s->l && s->eta && s->mu ? 0 : -1;
}

static void scratch_free(scratch *s)
{
    free(s->g); free(s->lp); free(s->l); free(s->eta); free(s->mu);
}

double moem_md_objective(const moem_data *data, const moem_model *m, double *grad, double *logR)
{
    if (!data->X) return NAN;
    size_t n = data->n, d = m->d, K = m->K, P = moem_expert_rows(m);
    size_t E = m->family == MOEM_LOGISTIC ? 2 : P;
    scratch s;
    double *gW = calloc(K * d, sizeof(double)), *gB = calloc(K * P * d, sizeof(double));
    double L = 0.0;
    if (scratch_alloc(&s, m) || !gW || !gB) { L = NAN; goto out; }
    for (size_t i = 0; i < n; i++) {
        const double *x = data->X + i * d;
        double y = data->y[i], ll = sample_joint(m, x, y, s.g, s.lp, s.l);
        double zg = lse(s.g, K, 1);
        L -= ll;
        for (size_t k = 0; k < K; k++) {
            double r = exp(s.l[k] - ll), pi = exp(s.g[k] - zg);
            if (logR) logR[i * K + k] = s.l[k] - ll;
            if (!grad) continue;
            for (size_t c = 0; c < d; c++) gW[k * d + c] += (pi - r) * x[c];
            double *gb = gB + k * P * d;
            if (m->family == MOEM_LINEAR) {
                double f = -r * (y - s.lp[k]) / m->sigma2[k];
                for (size_t c = 0; c < d; c++) gb[c] += f * x[c];
            } else if (m->family == MOEM_LOGISTIC) {
                double f = r * (exp(s.lp[2 * k + 1]) - y);
                for (size_t c = 0; c < d; c++) gb[c] += f * x[c];
            } else {
                for (size_t p = 0; p < P; p++) {
                    double f = r * (exp(s.lp[k * E + p]) - (p == (size_t)y));
                    for (size_t c = 0; c < d; c++) gb[p * d + c] += f * x[c];
                }
            }
        }
    }
    L /= (double)n;
    if (grad) {
        double inv = 1.0 / (double)n;
        if (m->symmetric) {
            for (size_t c = 0; c < d; c++) {
                grad[c] = gW[c] * inv;
                grad[d + c] = (gB[c] - gB[d + c]) * inv;
            }
        } else {
            size_t gw = (K - 1) * d;
            for (size_t i = 0; i < gw; i++) grad[i] = gW[i] * inv;
            for (size_t i = 0; i < K * P * d; i++) grad[gw + i] = gB[i] * inv;
        }
    }
out:
    scratch_free(&s);
    free(gW);
    free(gB);
    return L;
}

/* ---- symmetric models: A in (w, beta) coordinates ------------------------------------------- */

/* A, grad A (2d, may be NULL) and grad^2 A (2d x 2d, may be NULL) */
static double sym_mirror(const moem_data *data, const moem_model *m, double *gA, double *HA)
{
    size_t n = data->n, d = m->d, D = 2 * d;
    const double *w = m->W, *b = m->B;
    double A = 0.0, s2 = m->sigma2[0], inv = 1.0 / (double)n;
    if (gA) memset(gA, 0, D * sizeof(double));
    if (HA) memset(HA, 0, D * D * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        const double *x = data->X + i * d;
        double u = dot(w, x, d), v = dot(b, x, d), su = sigm(u), gv, hv;
        A += softplus(u);
        if (m->family == MOEM_LINEAR) { A += v * v / (2 * s2); gv = v / s2; hv = 1 / s2; }
        else { double sv = sigm(v); A += softplus(v); gv = sv; hv = sv * (1 - sv); }
        if (gA)
            for (size_t c = 0; c < d; c++) { gA[c] += su * x[c]; gA[d + c] += gv * x[c]; }
        if (HA)
            for (size_t a = 0; a < d; a++)
                for (size_t c = 0; c < d; c++) {
                    HA[a * D + c] += su * (1 - su) * x[a] * x[c];
                    HA[(d + a) * D + d + c] += hv * x[a] * x[c];
                }
    }
    if (gA) for (size_t c = 0; c < D; c++) gA[c] *= inv;
    if (HA) for (size_t c = 0; c < D * D; c++) HA[c] *= inv;
    return A * inv;
}

double moem_md_sym_mirror(const moem_data *data, const moem_model *m, double *gA, double *HA)
{
    if (!data->X) return NAN;
    return sym_mirror(data, m, gA, HA);
}

/* ---- natural parameters of p(y, z | x_n) (non-symmetric models) ------------------------------ */

/* eta of one sample: softmax / logistic: K x E values log pi_k + log p(c | k);
 * linear: 2K values (a_k, b_k) = (w_k.x - (b_k.x)^2 / (2 s2_k), b_k.x / s2_k). Returns its length. */
static size_t eta_of(const moem_model *m, const double *x, scratch *s, double *eta)
{
    size_t K = m->K, E = expert_logs(m, x, s->lp);
    for (size_t k = 0; k < K; k++) s->g[k] = dot(m->W + k * m->d, x, m->d);
    if (m->family == MOEM_LINEAR) {
        for (size_t k = 0; k < K; k++) {
            double mk = s->lp[k], s2 = m->sigma2[k];
            eta[k] = s->g[k] - mk * mk / (2 * s2);
            eta[K + k] = mk / s2;
        }
        return 2 * K;
    }
    double zg = lse(s->g, K, 1);
    for (size_t k = 0; k < K; k++)
        for (size_t c = 0; c < E; c++) eta[k * E + c] = s->g[k] - zg + s->lp[k * E + c];
    return K * E;
}

/* the log-partition a(eta) and its gradient mu (may be NULL) */
static double eta_a(const moem_model *m, const double *eta, size_t len, double *mu, double *tmp)
{
    size_t K = m->K;
    if (m->family == MOEM_LINEAR) {
        for (size_t k = 0; k < K; k++) tmp[k] = eta[k] + m->sigma2[k] * eta[K + k] * eta[K + k] / 2;
        double a = lse(tmp, K, 1);
        if (mu)
            for (size_t k = 0; k < K; k++) {
                mu[k] = exp(tmp[k] - a);
                mu[K + k] = mu[k] * m->sigma2[k] * eta[K + k];
            }
        return a;
    }
    double a = lse(eta, len, 1);
    if (mu) for (size_t j = 0; j < len; j++) mu[j] = exp(eta[j] - a);
    return a;
}

/* the per-sample objective L_n(eta) = -log p(y | x) and its gradient g */
static double eta_L(const moem_model *m, const double *eta, size_t len, double y, double *g,
                    double *tmp)
{
    size_t K = m->K;
    double a = eta_a(m, eta, len, g, tmp + K), ly;
    if (m->family == MOEM_LINEAR) {
        for (size_t k = 0; k < K; k++) {
            double s2 = m->sigma2[k];
            tmp[k] = eta[k] + eta[K + k] * y - y * y / (2 * s2) - 0.5 * (LOG_2PI + log(s2));
        }
        ly = lse(tmp, K, 1);
        for (size_t k = 0; k < K; k++) {
            double r = exp(tmp[k] - ly);
            g[k] -= r;
            g[K + k] -= r * y;
        }
    } else {
        size_t E = len / K, c = (size_t)y;
        ly = lse(eta + c, K, E);
        for (size_t k = 0; k < K; k++) g[k * E + c] -= exp(eta[k * E + c] - ly);
    }
    return a - ly;
}

double moem_md_bregman(const moem_data *data, const moem_model *a, const moem_model *b)
{
    if (!data->X) return NAN;
    size_t n = data->n, d = a->d;
    if (a->symmetric) {
        /* per sample, A_n(theta) = softplus(w.x) + (beta.x)^2 / (2 s2) or softplus(beta.x): the
         * divergence of each term is summed directly, which avoids cancelling large A values */
        double sum = 0.0, s2 = a->sigma2[0];
        for (size_t i = 0; i < n; i++) {
            const double *x = data->X + i * d;
            double ua = dot(a->W, x, d), ub = dot(b->W, x, d), va = dot(a->B, x, d), vb = dot(b->B, x, d);
            sum += softplus(ua) - softplus(ub) - sigm(ub) * (ua - ub);
            if (a->family == MOEM_LINEAR) sum += (va - vb) * (va - vb) / (2 * s2);
            else sum += softplus(va) - softplus(vb) - sigm(vb) * (va - vb);
        }
        return sum / (double)n;
    }
    scratch s;
    double *ea = NULL, *eb = NULL, *mu = NULL, sum = 0.0;
    size_t E = 2 * a->K * (moem_expert_rows(a) + 1);
    if (scratch_alloc(&s, a) || !(ea = malloc(E * sizeof(double))) ||
        !(eb = malloc(E * sizeof(double))) || !(mu = malloc(E * sizeof(double)))) { sum = NAN; goto out; }
    for (size_t i = 0; i < n; i++) {
        const double *x = data->X + i * d;
        size_t len = eta_of(a, x, &s, ea);
        eta_of(b, x, &s, eb);
        double va = eta_a(a, ea, len, NULL, s.mu), vb = eta_a(b, eb, len, mu, s.mu);
        double t = va - vb;
        for (size_t j = 0; j < len; j++) t -= mu[j] * (ea[j] - eb[j]);
        sum += t;
    }
    sum /= (double)n;
out:
    scratch_free(&s);
    free(ea); free(eb); free(mu);
    return sum;
}

double moem_md_surrogate(const moem_data *data, const moem_model *th, const moem_model *tt)
{
    if (!data->X) return NAN;
    size_t n = data->n, d = th->d;
    if (th->symmetric) {
        size_t D = 2 * d;
        double *g = malloc(3 * D * sizeof(double));
        if (!g) return NAN;
        double *a = g + D, *b = g + 2 * D;
        if (isnan(moem_md_objective(data, tt, g, NULL))) { free(g); return NAN; }
        moem_md_pack(th, a);
        moem_md_pack(tt, b);
        double s = moem_md_bregman(data, th, tt);
        for (size_t c = 0; c < D; c++) s += g[c] * (a[c] - b[c]);
        free(g);
        return s;
    }
    scratch s;
    double *e = NULL, *et = NULL, *mu = NULL, *gl = NULL, sum = 0.0;
    size_t E = 2 * th->K * (moem_expert_rows(th) + 1);
    if (scratch_alloc(&s, th) || !(e = malloc(E * sizeof(double))) || !(et = malloc(E * sizeof(double))) ||
        !(mu = malloc(E * sizeof(double))) || !(gl = malloc(E * sizeof(double)))) { sum = NAN; goto out; }
    for (size_t i = 0; i < n; i++) {
        const double *x = data->X + i * d;
        size_t len = eta_of(th, x, &s, e);
        eta_of(tt, x, &s, et);
        eta_L(tt, et, len, data->y[i], gl, s.mu);
        double at = eta_a(tt, et, len, mu, s.mu), a = eta_a(th, e, len, NULL, s.mu);
        double t = a - at;
        for (size_t j = 0; j < len; j++) t += (gl[j] - mu[j]) * (e[j] - et[j]);
        sum += t;
    }
    sum /= (double)n;
out:
    scratch_free(&s);
    free(e); free(et); free(mu); free(gl);
    return sum;
}

/* ---- Newton for f(V) = (1/N) sum_n w_n LSE(V x_n, o_n) - <C, V> -------------------------------
 * V: J x d free rows; the remaining logit of sample n is the fixed o_n (NULL: 0); w NULL = 1.
 * Convex; its minimiser solves (1/N) sum_n w_n softmax_j(V x_n, o_n) x_n = C_j. */

static double lse_obj(const moem_data *data, size_t J, const double *V, const double *o,
                      const double *w, const double *C, double *gr, double *H, double *z)
{
    size_t n = data->n, d = data->d, D = J * d;
    double f = 0.0, inv = 1.0 / (double)n;
    if (gr) memset(gr, 0, D * sizeof(double));
    if (H) memset(H, 0, D * D * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        const double *x = data->X + i * d;
        double wi = w ? w[i] : 1.0;
        for (size_t j = 0; j < J; j++) z[j] = dot(V + j * d, x, d);
        z[J] = o ? o[i] : 0.0;
        double l = lse(z, J + 1, 1);
        f += wi * l;
        if (!gr) continue;
        for (size_t j = 0; j < J; j++) z[j] = exp(z[j] - l);
        for (size_t j = 0; j < J; j++)
            for (size_t c = 0; c < d; c++) gr[j * d + c] += wi * z[j] * x[c];
        if (!H) continue;
        for (size_t j = 0; j < J; j++)
            for (size_t k = j; k < J; k++) {
                double h = wi * z[j] * ((j == k) - z[k]);
                for (size_t a = 0; a < d; a++) {
                    double ha = h * x[a];
                    double *row = H + (j * d + a) * D + k * d;
                    for (size_t c = 0; c < d; c++) row[c] += ha * x[c];
                }
            }
    }
    f *= inv;
    f -= dot(C, V, D);
    if (gr) for (size_t c = 0; c < D; c++) gr[c] = gr[c] * inv - C[c];
    if (H) {
        for (size_t r = 0; r < D; r++)
            for (size_t c = 0; c < D; c++) {
                if (c / d < r / d) H[r * D + c] = H[c * D + r];
                else H[r * D + c] *= inv;
            }
    }
    return f;
}

static int lse_newton(const moem_data *data, size_t J, double *V, const double *o,
                      const double *w, const double *C, char *err, size_t errlen)
{
    size_t d = data->d, D = J * d;
    if (D > MD_MAX_BLOCK) { ERR("mirror descent: a block of %zu unknowns is too large", D); return -1; }
    double *gr = malloc(D * sizeof(double)), *H = malloc(D * D * sizeof(double));
    double *st = malloc(D * sizeof(double)), *Vn = malloc(D * sizeof(double));
    double *z = malloc((J + 1) * sizeof(double));
    int rc = -1;
    if (!gr || !H || !st || !Vn || !z) { ERR("mirror descent: out of memory"); goto out; }
    for (int it = 0; it < 200; it++) {
        double f = lse_obj(data, J, V, o, w, C, gr, H, z);
        memcpy(st, gr, D * sizeof(double));
        if (spd_solve(D, H, st)) { ERR("mirror descent: singular Newton system"); goto out; }
        double dec = dot(gr, st, D), t = 1.0, vmax = 0.0, smax = 0.0;
        if (!isfinite(dec)) { ERR("mirror descent: Newton diverged"); goto out; }
        if (dec / 2 <= 1e-30) break;
        for (;;) {                                     /* Armijo backtracking, off near the end */
            for (size_t c = 0; c < D; c++) Vn[c] = V[c] - t * st[c];
            if (dec / 2 < 1e-4) break;
            double fn = lse_obj(data, J, Vn, o, w, C, NULL, NULL, z);
            if (fn <= f - 0.25 * t * dec || t < 1e-12) break;
            t *= 0.5;
        }
        for (size_t c = 0; c < D; c++) {
            vmax = fmax(vmax, fabs(Vn[c]));
            smax = fmax(smax, fabs(Vn[c] - V[c]));
        }
        memcpy(V, Vn, D * sizeof(double));
        if (smax <= 1e-15 * (1 + vmax)) break;
    }
    rc = 0;    /* converged, or at the iteration cap: as good as rounding allows */
out:
    free(gr); free(H); free(st); free(Vn); free(z);
    return rc;
}

/* Solve (1/N) sum w_n x x^T b = c by Cholesky with one refinement step (linear experts). */
static int quad_solve(const moem_data *data, const double *w, const double *c, double *b,
                      char *err, size_t errlen)
{
    size_t n = data->n, d = data->d;
    double *G = calloc(d * d, sizeof(double)), *Lc = malloc(d * d * sizeof(double));
    double *r = malloc(d * sizeof(double));
    int rc = -1;
    if (!G || !Lc || !r) { ERR("mirror descent: out of memory"); goto out; }
    for (size_t i = 0; i < n; i++) {
        const double *x = data->X + i * d;
        for (size_t a = 0; a < d; a++)
            for (size_t k = 0; k < d; k++) G[a * d + k] += w[i] * x[a] * x[k] / (double)n;
    }
    memcpy(Lc, G, d * d * sizeof(double));
    memcpy(b, c, d * sizeof(double));
    if (spd_solve(d, Lc, b)) { ERR("mirror descent: singular expert system"); goto out; }
    for (int ref = 0; ref < 2; ref++) {
        for (size_t a = 0; a < d; a++) r[a] = c[a] - dot(G + a * d, b, d);
        memcpy(Lc, G, d * d * sizeof(double));
        if (spd_solve(d, Lc, r)) break;
        for (size_t a = 0; a < d; a++) b[a] += r[a];
    }
    rc = 0;
out:
    free(G); free(Lc); free(r);
    return rc;
}

/* ---- the step ------------------------------------------------------------------------------ */

static int md_step_symmetric(const moem_data *data, moem_model *m, char *err, size_t errlen)
{
    size_t d = m->d, D = 2 * d;
    double *gL = malloc(D * sizeof(double)), *gA = malloc(D * sizeof(double));
    double *th = malloc(D * sizeof(double)), *one = NULL;
    int rc = -1;
    if (!gL || !gA || !th) { ERR("mirror descent: out of memory"); goto out; }
    if (isnan(moem_md_objective(data, m, gL, NULL))) { ERR("mirror descent: out of memory"); goto out; }
    sym_mirror(data, m, gA, NULL);
    for (size_t c = 0; c < D; c++) gA[c] -= gL[c];          /* grad A(theta+) */
    moem_md_pack(m, th);
    if (lse_newton(data, 1, th, NULL, NULL, gA, err, errlen)) goto out;
    if (m->family == MOEM_LOGISTIC) {
        if (lse_newton(data, 1, th + d, NULL, NULL, gA + d, err, errlen)) goto out;
    } else {
        if (!(one = malloc(data->n * sizeof(double)))) { ERR("mirror descent: out of memory"); goto out; }
        for (size_t i = 0; i < data->n; i++) one[i] = 1.0 / m->sigma2[0];
        if (quad_solve(data, one, gA + d, th + d, err, errlen)) goto out;
    }
    moem_md_unpack(m, th);
    rc = 0;
out:
    free(gL); free(gA); free(th); free(one);
    return rc;
}

static int md_step_general(const moem_data *data, moem_model *m, char *err, size_t errlen)
{
    size_t n = data->n, d = m->d, K = m->K, P = moem_expert_rows(m);
    size_t Ec = m->family == MOEM_LOGISTIC ? 2 : P;                 /* classes per expert */
    size_t Dt = moem_md_dim(m), E = 2 * K * (P + 1), ne = m->family == MOEM_LINEAR ? 2 * K : K * Ec;
    double *gL = malloc(Dt * sizeof(double)), *C = calloc(K * P * d + d, sizeof(double));
    double *T = malloc(n * ne * sizeof(double)), *eta = malloc(E * sizeof(double));
    double *mu = malloc(E * sizeof(double)), *gl = malloc(E * sizeof(double));
    double *w = malloc(n * sizeof(double)), *o = malloc(n * sizeof(double));
    double *V = malloc(Dt * sizeof(double));
    scratch s;
    int rc = -1, sok = scratch_alloc(&s, m);
    if (!gL || !C || !T || !eta || !mu || !gl || !w || !o || !V || sok) { ERR("mirror descent: out of memory"); goto out; }
    if (isnan(moem_md_objective(data, m, gL, NULL))) { ERR("mirror descent: out of memory"); goto out; }

    /* targets T_n = grad a(eta_n^t) - N grad_eta_n L(eta^t): F_t = avg [a(eta_n) - <T_n, eta_n>] + const */
    for (size_t i = 0; i < n; i++) {
        size_t len = eta_of(m, data->X + i * d, &s, eta);
        eta_L(m, eta, len, data->y[i], gl, s.mu);
        eta_a(m, eta, len, mu, s.mu);
        for (size_t j = 0; j < len; j++) T[i * ne + j] = mu[j] - gl[j];
    }

    /* gate: grad A_g(W+) = grad A_g(W_t) - grad_W L, A_g(W) = avg LSE(W x_n) */
    size_t J = K - 1;
    moem_md_pack(m, V);
    if (J) {
        double *CW = calloc(J * d, sizeof(double)), *z = malloc(K * sizeof(double));
        if (!CW || !z) { free(CW); free(z); ERR("mirror descent: out of memory"); goto out; }
        for (size_t i = 0; i < n; i++) {
            const double *x = data->X + i * d;
            for (size_t k = 0; k < K; k++) z[k] = dot(m->W + k * d, x, d);
            double l = lse(z, K, 1);
            for (size_t k = 0; k < J; k++)
                for (size_t c = 0; c < d; c++) CW[k * d + c] += exp(z[k] - l) * x[c] / (double)n;
        }
        for (size_t c = 0; c < J * d; c++) CW[c] -= gL[c];
        free(z);
        int r = lse_newton(data, J, V, NULL, NULL, CW, err, errlen);
        free(CW);
        if (r) goto out;
    }

    /* experts: minimise F_t over B_k */
    for (size_t k = 0; k < K; k++) {
        double *Bk = V + J * d + k * P * d;
        memset(C, 0, (P * d + d) * sizeof(double));
        if (m->family == MOEM_LINEAR) {
            for (size_t i = 0; i < n; i++) {
                const double *x = data->X + i * d;
                w[i] = T[i * ne + k];
                for (size_t c = 0; c < d; c++) C[c] += T[i * ne + K + k] * x[c] / (double)n;
            }
            if (quad_solve(data, w, C, Bk, err, errlen)) goto out;
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            const double *x = data->X + i * d, *t = T + i * ne + k * Ec;
            w[i] = 0.0;
            for (size_t c = 0; c < Ec; c++) w[i] += t[c];
            if (m->family == MOEM_LOGISTIC) {                  /* free logit: class 1 */
                o[i] = 0.0;
                for (size_t c = 0; c < d; c++) C[c] += t[1] * x[c] / (double)n;
            } else {                                           /* free rows 0..C-2 */
                o[i] = dot(Bk + (P - 1) * d, x, d);
                for (size_t j = 0; j + 1 < P; j++)
                    for (size_t c = 0; c < d; c++) C[j * d + c] += t[j] * x[c] / (double)n;
            }
        }
        size_t Jk = m->family == MOEM_LOGISTIC ? 1 : P - 1;
        if (lse_newton(data, Jk, Bk, o, w, C, err, errlen)) goto out;
    }
    moem_md_unpack(m, V);
    rc = 0;
out:
    scratch_free(&s);
    free(gL); free(C); free(T); free(eta); free(mu); free(gl); free(w); free(o); free(V);
    return rc;
}

int moem_md_step(const moem_data *data, moem_model *m, const moem_params *p, char *err, size_t errlen)
{
    const char *e;
    (void)p;
    if ((e = moem_model_validate(m)) || (e = moem_model_data_check(m, data))) {
        ERR("mirror descent: %s", e);
        return -1;
    }
    if (!data->X) { ERR("mirror descent: the reference needs float64 data (X is stored in float32)"); return -1; }
    return m->symmetric ? md_step_symmetric(data, m, err, errlen) : md_step_general(data, m, err, errlen);
}
