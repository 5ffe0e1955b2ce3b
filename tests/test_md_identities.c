/* EM == unit-step mirror descent (MATH.md T1-T5, T7), each over MD_INSTANCES random
 * instances, and a check that the checking code reports a wrong step as a mismatch. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "mirror.h"
#include "test_md_util.h"

typedef struct shape { moem_family f; int sym; size_t K, C; const char *name; } shape;
static const shape SYM[] = {{MOEM_LINEAR, 1, 2, 1, "symlin"}, {MOEM_LOGISTIC, 1, 2, 2, "symlog"}};
static const shape GEN[] = {{MOEM_LINEAR, 0, 3, 1, "linear K=3"}, {MOEM_SOFTMAX, 0, 2, 3, "softmax K=2 C=3"},
                            {MOEM_LOGISTIC, 0, 3, 2, "logistic K=3"}, {MOEM_LINEAR, 0, 2, 1, "linear K=2"}};
#define NSYM (sizeof SYM / sizeof SYM[0])
#define NGEN (sizeof GEN / sizeof GEN[0])

static void copy(moem_model *dst, const moem_model *src)
{
    char err[128];
    assert_int_equal(moem_model_copy(dst, src, err, sizeof err), 0);
}

/* T1: symmetric models, EM == MD to 1e-8, and the whole step check passes (T4, T5, T7) */
static void t1_symmetric(void **state)
{
    (void)state;
    MD_ISA_GUARD();
    for (size_t s = 0; s < NSYM; s++) {
        double worst = 0.0;
        for (unsigned i = 0; i < MD_INSTANCES; i++) {
            md_inst in;
            moem_model em, md;
            moem_md_check ck;
            char err[256];
            md_inst_make(&in, SYM[s].f, 1, 2, SYM[s].C, i);
            copy(&em, &in.start);
            copy(&md, &in.start);
            md_em_step(&in.data, &em);
            md_md_step(&in.data, &md);
            assert_int_equal(moem_md_check_step(&in.data, &in.start, &em, &md, &ck, err, sizeof err), 0);
            if (!(ck.ok_match && ck.ok_t4 && ck.ok_t5 && ck.ok_t7))
                print_error("%s instance %u: diff %.3g t4 %.3g t5 %.3g t7 %.3g\n", SYM[s].name, i, ck.diff, ck.t4, ck.t5, ck.t7);
            assert_true(ck.ok_match && ck.ok_t4 && ck.ok_t5 && ck.ok_t7);
            worst = fmax(worst, ck.diff);
            moem_model_free(&em);
            moem_model_free(&md);
            md_inst_free(&in);
        }
        print_message("T1 %s: max |theta_EM - theta_MD| over %d instances = %.3g\n", SYM[s].name, MD_INSTANCES, worst);
    }
}

/* T1 (gate block of any K) and T2 (EM's step minimises F_t; F_t == Q - Q_t) */
static void t1_t2_general(void **state)
{
    (void)state;
    MD_ISA_GUARD();
    for (size_t s = 0; s < NGEN; s++) {
        double wg = 0.0, wf = 0.0, wq = 0.0, wp = 0.0;
        for (unsigned i = 0; i < MD_INSTANCES; i++) {
            md_inst in;
            moem_model em, md, th;
            md_inst_make(&in, GEN[s].f, 0, GEN[s].K, GEN[s].C, i);
            copy(&em, &in.start);
            copy(&md, &in.start);
            copy(&th, &in.start);
            md_em_step(&in.data, &em);
            md_md_step(&in.data, &md);
            /* gate block */
            double gd = 0.0;
            for (size_t c = 0; c < em.K * em.d; c++) gd = fmax(gd, fabs(em.W[c] - md.W[c]));
            wg = fmax(wg, gd);
            /* both minimise F_t: equal values, and perturbing EM's step never lowers it */
            double fe = moem_md_surrogate(&in.data, &em, &in.start), fm = moem_md_surrogate(&in.data, &md, &in.start);
            double tolf = 1e-10 * (1 + fabs(fe));
            wf = fmax(wf, fabs(fe - fm));
            if (gd > MOEM_MD_TOL_MATCH || fabs(fe - fm) > tolf)
                print_error("%s instance %u: gate diff %.3g, F_t(EM) %.17g F_t(MD) %.17g\n", GEN[s].name, i, gd, fe, fm);
            assert_true(gd <= MOEM_MD_TOL_MATCH);
            /* and the whole step (softmax experts: modulo the shift of all class rows) */
            wp = fmax(wp, moem_md_param_diff(&em, &md));
            assert_true(moem_md_param_diff(&em, &md) <= MOEM_MD_TOL_MATCH);
            assert_true(fabs(fe - fm) <= tolf);
            for (int j = 0; j < 4; j++) {
                moem_model pe;
                copy(&pe, &em);
                moem_md_perturb(&pe, &in.rng, j < 2 ? 1e-3 : 1e-1);
                assert_true(moem_md_surrogate(&in.data, &pe, &in.start) >= fe - tolf);
                moem_model_free(&pe);
            }
            /* F_t(theta) == Q(theta|theta_t) - Q(theta_t|theta_t) at random theta, rtol 1e-8 */
            for (int j = 0; j < 3; j++) {
                moem_md_perturb(&th, &in.rng, j == 0 ? 0.01 : 0.1);
                double f = moem_md_surrogate(&in.data, &th, &in.start), q = moem_em_q_gap(&in.data, &th, &in.start);
                double rel = fabs(f - q) / fmax(1e-300, fmax(fabs(f), fabs(q)));
                wq = fmax(wq, rel);
                if (!(rel <= 1e-8)) print_error("%s instance %u: F_t %.17g Q-Q_t %.17g\n", GEN[s].name, i, f, q);
                assert_true(rel <= 1e-8);
            }
            moem_model_free(&em);
            moem_model_free(&md);
            moem_model_free(&th);
            md_inst_free(&in);
        }
        print_message("T1/T2 %s: gate |W_EM - W_MD| %.3g, |theta_EM - theta_MD| %.3g, |F_t(EM) - F_t(MD)| %.3g, "
                      "F_t vs Q - Q_t rel %.3g\n", GEN[s].name, wg, wp, wf, wq);
    }
}

/* T3: Fisher identity. grad_theta Q(theta|theta_t) at theta_t (central differences of F_t)
 * == grad L(theta_t), from the reference and from the EM path */
static void t3_fisher(void **state)
{
    (void)state;
    MD_ISA_GUARD();
    const shape all[] = {SYM[0], SYM[1], GEN[0], GEN[1], GEN[2]};
    for (size_t s = 0; s < 5; s++)
        for (unsigned i = 0; i < MD_INSTANCES; i++) {
            md_inst in;
            moem_model th;
            md_inst_make(&in, all[s].f, all[s].sym, all[s].K, all[s].C, i);
            size_t D = moem_md_dim(&in.start), K = in.start.K, d = in.start.d, P = moem_expert_rows(&in.start);
            double *g = malloc(D * sizeof(double)), *t = malloc(D * sizeof(double)), *ge = malloc(D * sizeof(double));
            double *gW = malloc(K * d * sizeof(double)), *gB = malloc(K * P * d * sizeof(double));
            moem_md_objective(&in.data, &in.start, g, NULL);
            moem_gradient(&in.data, &in.start, gW, gB, NULL);
            moem_model tmp;
            copy(&tmp, &in.start);
            memcpy(tmp.W, gW, K * d * sizeof(double));
            memset(tmp.W + (K - 1) * d, 0, d * sizeof(double));
            memcpy(tmp.B, gB, K * P * d * sizeof(double));
            moem_md_pack(&tmp, ge);
            copy(&th, &in.start);
            moem_md_pack(&in.start, t);
            for (size_t c = 0; c < D; c++) {
                double h = 1e-5, keep = t[c];
                t[c] = keep + h;
                moem_md_unpack(&th, t);
                double fp = moem_md_surrogate(&in.data, &th, &in.start);
                t[c] = keep - h;
                moem_md_unpack(&th, t);
                double fm = moem_md_surrogate(&in.data, &th, &in.start);
                t[c] = keep;
                double fd = (fp - fm) / (2 * h);
                if (!(fabs(fd - g[c]) <= 1e-6 * (1 + fabs(g[c])) && fabs(ge[c] - g[c]) <= 1e-10 * (1 + fabs(g[c]))))
                    print_error("%s instance %u coord %zu: FD %.12g ref %.12g EM %.12g\n", all[s].name, i, c, fd, g[c], ge[c]);
                assert_true(fabs(fd - g[c]) <= 1e-6 * (1 + fabs(g[c])));
                assert_true(fabs(ge[c] - g[c]) <= 1e-10 * (1 + fabs(g[c])));
            }
            free(g); free(t); free(ge); free(gW); free(gB);
            moem_model_free(&tmp);
            moem_model_free(&th);
            md_inst_free(&in);
        }
}

/* T4, T5, T7: majorisation and relative smoothness at random theta; sufficient decrease along EM */
static void t4_t5_t7(void **state)
{
    (void)state;
    MD_ISA_GUARD();
    const shape all[] = {SYM[0], SYM[1], GEN[0], GEN[1], GEN[2]};
    for (size_t s = 0; s < 5; s++)
        for (unsigned i = 0; i < MD_INSTANCES; i++) {
            md_inst in;
            moem_model th, em;
            moem_md_check ck;
            char err[256];
            md_inst_make(&in, all[s].f, all[s].sym, all[s].K, all[s].C, i);
            copy(&th, &in.start);
            moem_md_perturb(&th, &in.rng, i % 2 ? 1.0 : 0.05);
            assert_int_equal(moem_md_check_step(&in.data, &in.start, &th, NULL, &ck, err, sizeof err), 0);
            if (!(ck.ok_t4 && ck.ok_t7)) print_error("%s %u: t4 %.3g t7 %.3g\n", all[s].name, i, ck.t4, ck.t7);
            assert_true(ck.ok_t4 && ck.ok_t7);
            copy(&em, &in.start);
            for (int t = 0; t < 3; t++) {
                moem_model prev;
                copy(&prev, &em);
                md_em_step(&in.data, &em);
                assert_int_equal(moem_md_check_step(&in.data, &prev, &em, NULL, &ck, err, sizeof err), 0);
                if (!(ck.ok_t5 && ck.ok_t4 && ck.ok_t7))
                    print_error("%s %u iter %d: t5 %.3g (D_A %.3g) t4 %.3g t7 %.3g\n", all[s].name, i, t, ck.t5, ck.breg, ck.t4, ck.t7);
                assert_true(ck.ok_t5 && ck.ok_t4 && ck.ok_t7);
                moem_model_free(&prev);
            }
            moem_model_free(&th);
            moem_model_free(&em);
            md_inst_free(&in);
        }
}

/* The checks can fail: a damped EM step (1%) and a perturbed gate solve are mismatches. */
static void wrong_step_detected(void **state)
{
    (void)state;
    MD_ISA_GUARD();
    const shape all[] = {SYM[0], SYM[1], GEN[0], GEN[1]};
    for (size_t s = 0; s < 4; s++)
        for (unsigned i = 0; i < MD_INSTANCES; i++) {
            md_inst in;
            moem_model em, md, bad;
            moem_md_check ck;
            char err[256];
            md_inst_make(&in, all[s].f, all[s].sym, all[s].K, all[s].C, i);
            copy(&em, &in.start);
            copy(&md, &in.start);
            md_em_step(&in.data, &em);
            md_md_step(&in.data, &md);
            size_t D = moem_md_dim(&em);
            double *a = malloc(D * sizeof(double)), *b = malloc(D * sizeof(double));
            moem_md_pack(&in.start, a);
            moem_md_pack(&em, b);
            for (size_t c = 0; c < D; c++) b[c] = a[c] + 0.99 * (b[c] - a[c]);
            copy(&bad, &em);
            moem_md_unpack(&bad, b);
            assert_int_equal(moem_md_check_step(&in.data, &in.start, &bad, &md, &ck, err, sizeof err), 0);
            assert_false(ck.ok_match);
            moem_model_free(&bad);
            copy(&bad, &em);                       /* gate solve stopped 1e-6 short */
            for (size_t c = 0; c < (bad.K - 1) * bad.d; c++) bad.W[c] += 1e-6 * (c % 2 ? 1 : -1);
            assert_int_equal(moem_md_check_step(&in.data, &in.start, &bad, &md, &ck, err, sizeof err), 0);
            assert_false(ck.ok_match);
            free(a); free(b);
            moem_model_free(&bad);
            moem_model_free(&em);
            moem_model_free(&md);
            md_inst_free(&in);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t1_symmetric),
        cmocka_unit_test(t1_t2_general),
        cmocka_unit_test(t3_fisher),
        cmocka_unit_test(t4_t5_t7),
        cmocka_unit_test(wrong_step_detected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
