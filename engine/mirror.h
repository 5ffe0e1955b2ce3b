/* The unit-step mirror-descent reference (engine/mirror.c) and the checks built on it
 * (engine/mirror_diag.c). Independent of the EM path: its own log-sum-exp, objective L,
 * gradient, mirror map A, Newton solvers and dense linear algebra. MATH.md sections 3-5.
 * (moem_em_q_gap alone goes through the EM path, on purpose: engine/mirror_em.c.)
 *
 * Parameter vector theta (packed): symmetric models (w, beta), 2d values; otherwise the free
 * gate rows 0..K-2 (row K-1 is pinned to zero), then every expert row (K x P x d).
 * Functions returning double return NAN when memory runs out or the data are stored in float32. */
#ifndef MOEM_MIRROR_H
#define MOEM_MIRROR_H

#include "moem.h"
#include "rng.h"

size_t moem_md_dim(const moem_model *m);
void moem_md_pack(const moem_model *m, double *theta);
/* writes theta into m, keeping the pinned gate row and the symmetry */
void moem_md_unpack(moem_model *m, const double *theta);

/* L(theta) and its gradient (packed, may be NULL); logR (n x K, may be NULL): log responsibilities */
double moem_md_objective(const moem_data *data, const moem_model *m, double *grad, double *logR);

/* The mirror map. Symmetric models: A(w, beta) in (w, beta) coordinates. Other models: the
 * per-sample natural parameters eta_n(theta) of p(y, z | x_n) (MATH.md section 3). */
/* symmetric only: A, grad A (2d, may be NULL) and grad^2 A (2d x 2d, may be NULL) */
double moem_md_sym_mirror(const moem_data *data, const moem_model *m, double *gA, double *HA);
/* D_A(a, b) = (1/N) sum_n KL(p(.|x_n; b) || p(.|x_n; a)) */
double moem_md_bregman(const moem_data *data, const moem_model *a, const moem_model *b);
/* F_t(theta) = <grad L(theta_t), theta - theta_t> + D_A(theta, theta_t), in natural
 * parameters for the non-symmetric models (== Q(theta|theta_t) - Q(theta_t|theta_t)) */
double moem_md_surrogate(const moem_data *data, const moem_model *theta, const moem_model *theta_t);
/* The same quantity Q(theta|theta_t) - Q(theta_t|theta_t) computed through the EM path
 * instead (engine/mirror_em.c, deliberately not independent of EM: it is the EM side of the
 * identity T2 the surrogate is checked against): L(theta) - L(theta_t) + KL(r^t || r(theta)) / N
 * from moem_responsibilities at both points. NAN when memory runs out or K differs. */
double moem_em_q_gap(const moem_data *data, const moem_model *theta, const moem_model *theta_t);
/* adds N(0, s^2) noise to every free parameter of m (the gate rows but the pinned last one,
 * the expert rows), keeping the symmetry; sigma2 unchanged (engine/mirror_em.c) */
void moem_md_perturb(moem_model *m, moem_rng *r, double s);

/* max |a - b| over the identifiable parameters (softmax experts: rows relative to the last) */
double moem_md_param_diff(const moem_model *a, const moem_model *b);

/* Missing information (symmetric models, engine/mirror_diag.c): M = (grad^2 A)^-1 I_miss with
 * I_miss = grad^2 A - grad^2 L. lambda_max: its largest eigenvalue; vec (2d, may be NULL): a
 * matching eigenvector of M in theta coordinates. 0 on success. */
int moem_md_missing_info(const moem_data *data, const moem_model *m, double *lambda_max,
                         double *vec, char *err, size_t errlen);

/* One step checked against the reference: theta_t -> theta_em (the step under test) and
 * theta_md (moem_md_step from theta_t). */
#define MOEM_MD_TOL_MATCH 1e-8    /* T1 */
#define MOEM_MD_TOL_SLACK 1e-10   /* T4, T5, T7 (times 1 + |L|) */
typedef struct moem_md_check {
    double diff;        /* max |theta_em - theta_md| */
    double L0, L1;      /* L(theta_t), L(theta_em) */
    double breg;        /* D_A(theta_t, theta_em) */
    double t5, t4, t7;  /* slacks: >= -tol means the inequality holds (T5 of the non-symmetric
                           models: decrease by the surrogate, see mirror_diag.c) */
    int ok_match, ok_t5, ok_t4, ok_t7;
} moem_md_check;
int moem_md_check_step(const moem_data *data, const moem_model *theta_t,
                       const moem_model *theta_em, const moem_model *theta_md,
                       moem_md_check *out, char *err, size_t errlen);

/* dense helpers shared with the diagnostics: lower Cholesky in place (0, or -1 if not SPD),
 * solves with it, and the symmetric eigenvalues by cyclic Jacobi (V: eigenvectors in columns) */
int moem_md_chol(size_t n, double *A);
void moem_md_chol_solve(size_t n, const double *Lc, double *b);
void moem_md_jacobi(size_t n, double *A, double *eig, double *V);

#endif
