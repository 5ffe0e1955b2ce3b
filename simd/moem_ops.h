/* The kernel table: every per-sample hot loop of the engine goes through one of these.
 * One table per ISA (ops_scalar.c, ...); moem_ops_get() returns the active one.
 * The scalar table is the oracle every SIMD table is tested against.
 * Matrices are row-major and dense; no pointer may alias an output. */
#ifndef MOEM_OPS_H
#define MOEM_OPS_H

#include <stddef.h>

/* Arguments of the fused E-step block kernel (estep). Block workspaces are column-major with
 * leading dimension ld >= nb (a multiple of 8); column i of a block is row i of the data. */
typedef struct moem_estep_args {
    int family;            /* moem_family: 0 linear, 1 logistic, 2 softmax */
    size_t K, P;           /* experts, rows per expert; mtot = K + K*P */
    const double *s2;      /* K variances (linear) */
    const double *logc;    /* K constants 0.5 * log(2 pi s2_k) (linear) */
} moem_estep_args;

/*@ // Interface contracts of the kernel table (ACSL, checked by ci/proofs against every
    // implementation: ops_scalar.c and simd/kernels_*.c for each ISA). moem_dims bounds every
    // extent and product that indexes an array (no size_t arithmetic can wrap), the valid
    // clauses give the memory a kernel may read or write, the sep clauses say that no input
    // aliases an output.
    logic integer moem_max_elems = SIZE_MAX / 8;   // doubles in the largest object
    predicate moem_dims(integer a, integer b) =
        0 <= a <= moem_max_elems && 0 <= b <= moem_max_elems && a * b <= moem_max_elems;

    predicate moem_xm_sizes(integer n, integer d, integer m) =
        moem_dims(n, d) && moem_dims(m, d) && moem_dims(n, m);
    predicate moem_xm_valid(integer n, integer d, double *X, integer m, double *M, double *Z) =
        \valid_read(X + (0 .. n * d - 1)) && \valid_read(M + (0 .. m * d - 1)) &&
        \valid(Z + (0 .. n * m - 1));
    predicate moem_xm_sep(integer n, integer d, double *X, integer m, double *M, double *Z) =
        \separated(Z + (0 .. n * m - 1), X + (0 .. n * d - 1), M + (0 .. m * d - 1));

    predicate moem_atx_valid(integer n, integer d, double *X, integer m, double *A, double *G) =
        \valid_read(X + (0 .. n * d - 1)) && \valid_read(A + (0 .. n * m - 1)) &&
        \valid(G + (0 .. m * d - 1));
    predicate moem_atx_sep(integer n, integer d, double *X, integer m, double *A, double *G) =
        \separated(G + (0 .. m * d - 1), X + (0 .. n * d - 1), A + (0 .. n * m - 1));

    predicate moem_wgram_sizes(integer n, integer d) = moem_dims(n, d) && moem_dims(d, d);
    predicate moem_wgram_valid(integer n, integer d, double *X, double *w, double *G) =
        \valid_read(X + (0 .. n * d - 1)) && \valid_read(w + (0 .. n - 1)) &&
        \valid(G + (0 .. d * d - 1));
    predicate moem_wgram_sep(integer n, integer d, double *X, double *w, double *G) =
        \separated(G + (0 .. d * d - 1), X + (0 .. n * d - 1), w + (0 .. n - 1));

    // block workspaces: m columns of ld >= n entries, ld a multiple of 8 (whole vectors)
    predicate moem_block(integer n, integer m, integer ld) =
        n <= ld && ld % 8 == 0 && moem_dims(m, ld);
    predicate moem_xm_cols_valid(integer n, integer d, double *X, integer m, double *M,
                                 double *Zt, integer ld) =
        moem_block(n, m, ld) && moem_dims(n, d) && moem_dims(m, d) &&
        \valid_read(X + (0 .. n * d - 1)) && \valid_read(M + (0 .. m * d - 1)) &&
        \valid(Zt + (0 .. m * ld - 1)) &&
        \separated(Zt + (0 .. m * ld - 1), X + (0 .. n * d - 1), M + (0 .. m * d - 1));
    predicate moem_atx_cols_valid(integer n, integer d, double *X, integer m, double *At,
                                  integer ld, double *G) =
        moem_block(n, m, ld) && moem_dims(n, d) && moem_dims(m, d) &&
        \valid_read(X + (0 .. n * d - 1)) && \valid_read(At + (0 .. m * ld - 1)) &&
        \valid(G + (0 .. m * d - 1)) &&
        \separated(G + (0 .. m * d - 1), X + (0 .. n * d - 1), At + (0 .. m * ld - 1));

    // to_rows: K columns of ld into n rows of K
    predicate moem_rows_valid(integer n, integer K, double *Rt, integer ld, double *R) =
        moem_block(n, K, ld) && moem_dims(n, K) &&
        \valid_read(Rt + (0 .. K * ld - 1)) && \valid(R + (0 .. n * K - 1)) &&
        \separated(R + (0 .. n * K - 1), Rt + (0 .. K * ld - 1));

    // estep: K experts of P >= 1 rows; Zt and At hold mtot = K + K*P columns of ld, Pt and Rt
    // K. The block's columns (moem_estep_cols), then the whole call (moem_estep_valid).
    predicate moem_estep_cols(moem_estep_args *a, integer ld, double *Zt, double *Pt,
                              double *Rt, double *At) =
        \valid_read(a) && a->P >= 1 && moem_dims(a->K, a->P) &&
        moem_block(0, a->K + a->K * a->P, ld) &&
        \valid(Zt + (0 .. (a->K + a->K * a->P) * ld - 1)) &&
        (Pt == \null || \valid(Pt + (0 .. a->K * ld - 1))) && (Pt == \null ==> At == \null) &&
        \valid(Rt + (0 .. a->K * ld - 1)) &&
        (At == \null || \valid(At + (0 .. (a->K + a->K * a->P) * ld - 1))) &&
        (a->family == 0 ==>
            \valid_read(a->s2 + (0 .. a->K - 1)) && \valid_read(a->logc + (0 .. a->K - 1)));
    predicate moem_estep_cols_sep(moem_estep_args *a, integer ld, double *Zt, double *Pt,
                                  double *Rt, double *At) =
        \let mt = (a->K + a->K * a->P) * ld;
        \separated(Zt + (0 .. mt - 1), Pt + (0 .. a->K * ld - 1), Rt + (0 .. a->K * ld - 1), a) &&
        (At != \null ==> \separated(At + (0 .. mt - 1), Zt + (0 .. mt - 1),
                                    Pt + (0 .. a->K * ld - 1), Rt + (0 .. a->K * ld - 1)));
    predicate moem_estep_gs2(moem_estep_args *a, integer ld, double *Zt, double *Pt,
                             double *Rt, double *At, double *gs2) =
        \let mt = (a->K + a->K * a->P) * ld;
        gs2 == \null ||
        (\valid(gs2 + (0 .. a->K - 1)) &&
         \separated(gs2 + (0 .. a->K - 1), Zt + (0 .. mt - 1), Pt + (0 .. a->K * ld - 1),
                    Rt + (0 .. a->K * ld - 1)) &&
         (At != \null ==> \separated(gs2 + (0 .. a->K - 1), At + (0 .. mt - 1))));
    predicate moem_estep_valid(moem_estep_args *a, integer n, double *y, double *Zt, integer ld,
                               double *Pt, double *Rt, double *At, double *gs2) =
        moem_estep_cols(a, ld, Zt, Pt, Rt, At) && n <= ld && \valid_read(y + (0 .. n - 1)) &&
        (gs2 == \null || \valid(gs2 + (0 .. a->K - 1)));
    predicate moem_estep_sep(moem_estep_args *a, integer n, double *y, double *Zt, integer ld,
                             double *Pt, double *Rt, double *At, double *gs2) =
        moem_estep_cols_sep(a, ld, Zt, Pt, Rt, At) && moem_estep_gs2(a, ld, Zt, Pt, Rt, At, gs2) &&
        \separated(y + (0 .. n - 1), Zt + (0 .. (a->K + a->K * a->P) * ld - 1),
                   Pt + (0 .. a->K * ld - 1), Rt + (0 .. a->K * ld - 1), a);
*/
typedef struct moem_ops {
    const char *name;   /* "scalar", "avx2", "avx512", "neon" */

    /* Z[i*m + j] = sum_c X[i*d + c] * M[j*d + c]          (Z: n x m, X: n x d, M: m x d) */
    void (*xm)(size_t n, size_t d, const double *X, size_t m, const double *M, double *Z);

    /* G[j*d + c] += sum_i A[i*m + j] * X[i*d + c]          (G: m x d, A: n x m) */
    void (*atx)(size_t n, size_t d, const double *X, size_t m, const double *A, double *G);

    /* G[a*d + b] += sum_i w[i] X[i*d + a] X[i*d + b] for b >= a (upper triangle of d x d) */
    void (*wgram)(size_t n, size_t d, const double *X, const double *w, double *G);

    /* ---- fused row-block kernels (column-major block workspaces) ---------------------- */

    /* Zt[j*ld + i] = sum_c X[i*d + c] * M[j*d + c] for i < n; Zt[j*ld + i] = 0 for n <= i < ld */
    void (*xm_cols)(size_t n, size_t d, const double *X, size_t m, const double *M, double *Zt,
                    size_t ld);

    /* G[j*d + c] += sum_i At[j*ld + i] * X[i*d + c]        (G: m x d, At: m x ld, i < n) */
    void (*atx_cols)(size_t n, size_t d, const double *X, size_t m, const double *At, size_t ld,
                     double *G);

    /* The E-step of one block of n rows from the scores Zt (mtot x ld, from xm_cols; zero past
     * n):
     *   Pt (K x ld, NULL when neither they nor At are wanted): gate probabilities pi_ik;
     *   Rt (K x ld): responsibilities r_ik;
     *   At (mtot x ld, may be NULL): the gradient coefficients, so that atx_cols(At) adds the
     *       block's share of N * grad L (gate: pi - r; linear: -r (y - s)/s2;
     *       logistic: r (sigmoid(s) - y); softmax: r (softmax(s) - e_y));
     *   gs2 (K, may be NULL, only with At): += sum_i r_ik (1/(2 s2) - (y - s)^2/(2 s2^2)).
     * y: n labels/responses. For softmax experts with At, the expert scores in Zt are
     * overwritten. Returns sum_i LSE_k l_ik (minus N times the block's share of L). */
    double (*estep)(const moem_estep_args *a, size_t n, const double *y, double *Zt, size_t ld,
                    double *Pt, double *Rt, double *At, double *gs2);

    /* Column-major softmax with an implicit zero logit, vectors across rows (the multinomial
     * M-steps): for i < n, with z_j = Zt[j*ld + i] (j < J) and z_J = 0,
     *   lse[i] = log(1 + sum_j exp z_j),  Zt[j*ld + i] <- exp(z_j - lse[i]).
     * ld and the length of lse are at least n rounded up to a multiple of 8; entries past n
     * are scratch (they are read and written). */
    void (*softmax0_cols)(size_t n, size_t J, double *Zt, size_t ld, double *lse);

    /* A block's columns back into rows: R[i*K + k] = Rt[k*ld + i] for i < n, k < K (the
     * responsibilities and gate probabilities of a pass, row-major for the M-steps). */
    void (*to_rows)(size_t n, size_t K, const double *Rt, size_t ld, double *R);
} moem_ops;

/* The active table: chosen once (first call) from the CPU, or forced by MOEM_ISA. */
const moem_ops *moem_ops_get(void);
/* Make the table of this ISA the active one (tests and benchmarks comparing ISAs in one
 * process; never while a pass runs). 0 on success, -1 when the ISA is unavailable. */
int moem_ops_force(const char *name);
/* NULL if the active table was chosen without error, else why MOEM_ISA could not be honoured */
const char *moem_ops_error(void);

/* Per-ISA tables; NULL where this build or CPU lacks the ISA. Each SIMD table starts as a
 * copy of the scalar table and overrides what its ISA implements. */
const moem_ops *moem_ops_scalar(void);
const moem_ops *moem_ops_by_name(const char *name);

/* Fill a table with the kernels written over the vector vocabulary (simd/kernels_dot.c,
 * kernels_acc.c, kernels_estep.c), compiled once per ISA; each leaves the entries it does not
 * implement untouched (the assigns clauses, proved where each is defined: runs ops_scalar,
 * scalar_acc, *_acc). */
/*@ requires valid_o: \valid(o);
    assigns o->name, o->xm, o->atx, o->wgram, o->softmax0_cols; */
void moem_ops_fill_reference(moem_ops *o);   /* ops_scalar.c: the plain-C oracle entries */
/*@ requires valid_o: \valid(o);
    assigns o->xm_cols, o->atx_cols, o->estep, o->to_rows; */
void moem_ops_fill_scalar(moem_ops *o);
/*@ requires valid_o: \valid(o);
    assigns o->xm, o->atx, o->wgram, o->softmax0_cols, o->xm_cols, o->atx_cols, o->estep,
            o->to_rows; */
void moem_ops_fill_avx2(moem_ops *o);
/*@ requires valid_o: \valid(o);
    assigns o->xm, o->atx, o->wgram, o->softmax0_cols, o->xm_cols, o->atx_cols, o->estep,
            o->to_rows; */
void moem_ops_fill_avx512(moem_ops *o);
/*@ requires valid_o: \valid(o);
    assigns o->xm, o->atx, o->wgram, o->softmax0_cols, o->xm_cols, o->atx_cols, o->estep,
            o->to_rows; */
void moem_ops_fill_neon(moem_ops *o);

#endif
