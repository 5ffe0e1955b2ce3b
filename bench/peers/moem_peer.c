/* moem_peer: the moem side of the peer comparison (bench/peers/run.sh).
 *   moem_peer gen PROBLEM N D K C SEED PREFIX   synthetic data -> PREFIX.bin (and PREFIX.csv
 *                                                when N*D <= 1e6): the file every peer reads
 *   moem_peer fit FAMILY K C ALGO ITERS LR THREADS LEARN_SIGMA2 INNER PREFIX [RESP.csv]
 *       runs ITERS steps from the shared start (gate 0, expert weights 0.1 sin(1 + index)),
 *       prints "moem ALGO iters=T sec_per_iter=S cpu_per_iter=U objective=L" (mean wall and
 *       process CPU time of steps 2..T, objective at the end) and optionally writes the start's responsibilities
 *       (flexmix's initial posterior). THREADS: moem_params.threads (0 = OMP_NUM_THREADS).
 * PREFIX.bin: little-endian float64: n, d, then y (n), then X (n x d, row-major). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "csv.h"
#include "internal.h"
#include "rng.h"
#include "synth.h"
#include "workloads.h"

static int usage(void)
{
    fprintf(stderr, "usage: moem_peer gen PROBLEM N D K C SEED PREFIX\n"
                    "       moem_peer fit FAMILY K C ALGO ITERS LR THREADS LEARN_SIGMA2 INNER PREFIX [RESP.csv]\n");
    return 2;
}

static int write_bin(const char *path, const moem_data *D)
{
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) return -1;
    FILE *f = fopen(tmp, "wb");
    if (!f) return -1;
    double hdr[2] = {(double)D->n, (double)D->d};
    int ok = fwrite(hdr, sizeof(double), 2, f) == 2 && fwrite(D->y, sizeof(double), D->n, f) == D->n &&
             fwrite(D->X, sizeof(double), D->n * D->d, f) == D->n * D->d;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) { remove(tmp); return -1; }
    return 0;
}

static int read_bin(const char *path, moem_data *D, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    double hdr[2];
    if (!f || fread(hdr, sizeof(double), 2, f) != 2 || !(hdr[0] >= 1) || !(hdr[1] >= 1)) {
        if (f) fclose(f);
        snprintf(err, errlen, "cannot read %.200s", path);
        return -1;
    }
    if (moem_data_alloc(D, (size_t)hdr[0], (size_t)hdr[1], err, errlen)) { fclose(f); return -1; }
    int ok = fread(D->y, sizeof(double), D->n, f) == D->n &&
             fread(D->X, sizeof(double), D->n * D->d, f) == D->n * D->d;
    fclose(f);
    if (!ok) { moem_data_free(D); snprintf(err, errlen, "%.200s is truncated", path); return -1; }
    return 0;
}

static int gen(char **a)
{
    char err[256], path[4096];
    bw_problem p;
    size_t n = strtoul(a[1], NULL, 10), d = strtoul(a[2], NULL, 10);
    if (bw_problem_make(&p, a[0], n, d, strtoul(a[3], NULL, 10), strtoul(a[4], NULL, 10),
                        strtoull(a[5], NULL, 10), err, sizeof err)) {
        fprintf(stderr, "moem_peer gen: %s\n", err);
        return 1;
    }
    snprintf(path, sizeof path, "%s.bin", a[6]);
    int rc = write_bin(path, &p.data);
    if (rc) fprintf(stderr, "moem_peer gen: cannot write %s\n", path);
    if (!rc && n * d <= 1000000) {
        snprintf(path, sizeof path, "%s.csv", a[6]);
        rc = moem_csv_write(path, &p.data, err, sizeof err);
        if (rc) fprintf(stderr, "moem_peer gen: %s\n", err);
    }
    bw_problem_free(&p);
    return rc ? 1 : 0;
}

static double cpu_now(void)     /* CPU seconds of the whole process (all threads) */
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int write_resp(const char *path, const double *R, size_t n, size_t K)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < K; k++) fprintf(f, "%.17g%c", R[i * K + k], k + 1 < K ? ',' : '\n');
    return fclose(f);
}

static int fit(int argc, char **a)
{
    char err[256], path[4096];
    moem_family fam;
    moem_params prm;
    moem_data D = {0};
    moem_model m = {0};
    size_t K = strtoul(a[1], NULL, 10), C = strtoul(a[2], NULL, 10);
    moem_params_default(&prm);
    if (moem_family_parse(a[0], &fam) || moem_algo_parse(a[3], &prm.algo)) return usage();
    prm.iters = atoi(a[4]);
    prm.lr = atof(a[5]);
    prm.threads = atoi(a[6]);
    prm.learn_sigma2 = atoi(a[7]);
    prm.inner_steps = atoi(a[8]);
    snprintf(path, sizeof path, "%s.bin", a[9]);
    if (read_bin(path, &D, err, sizeof err) ||
        moem_model_alloc(&m, fam, 0, K, D.d, C, err, sizeof err)) {
        fprintf(stderr, "moem_peer fit: %s\n", err);
        moem_data_free(&D);
        return 1;
    }
    size_t nb = K * moem_expert_rows(&m) * D.d;
    for (size_t i = 0; i < nb; i++) m.B[i] = 0.1 * sin(1.0 + (double)i);
    int rc = 0;
    const char *why = moem_check_params(&D, &m, &prm);
    if (why) { fprintf(stderr, "moem_peer fit: %s\n", why); rc = 1; goto out; }
    if (argc > 10) {
        double *R = malloc(D.n * K * sizeof *R);
        if (!R) { rc = 1; goto out; }
        moem_responsibilities(&D, &m, R, NULL);
        rc = write_resp(a[10], R, D.n, K);
        free(R);
        if (rc) { fprintf(stderr, "moem_peer fit: cannot write %s\n", a[10]); goto out; }
    }
    double L0 = moem_objective(&D, &m), first = 0, rest = 0, cfirst = 0, crest = 0;
    for (int t = 0; t < prm.iters && rc == 0; t++) {
        double t0 = moem_now(), c0 = cpu_now();
        switch (prm.algo) {
        case MOEM_ALGO_EM: rc = moem_em_step(&D, &m, &prm, err, sizeof err); break;
        case MOEM_ALGO_GEM: rc = moem_gem_step(&D, &m, &prm, err, sizeof err); break;
        case MOEM_ALGO_GD: rc = moem_gd_step(&D, &m, &prm, err, sizeof err); break;
        default: rc = moem_md_step(&D, &m, &prm, err, sizeof err); break;
        }
        double dt = moem_now() - t0, dc = cpu_now() - c0;
        if (t == 0) { first = dt; cfirst = dc; } else { rest += dt; crest += dc; }
    }
    if (rc) { fprintf(stderr, "moem_peer fit: %s\n", err); goto out; }
    double per = prm.iters > 1 ? rest / (prm.iters - 1) : first;
    double cper = prm.iters > 1 ? crest / (prm.iters - 1) : cfirst;
    printf("moem %s iters=%d sec_per_iter=%.6g cpu_per_iter=%.6g objective=%.10g start=%.10g\n",
           moem_algo_name(prm.algo), prm.iters, per, cper, moem_objective(&D, &m), L0);
out:
    moem_model_free(&m);
    moem_data_free(&D);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 9 && strcmp(argv[1], "gen") == 0) return gen(argv + 2);
    if ((argc == 12 || argc == 13) && strcmp(argv[1], "fit") == 0) return fit(argc - 2, argv + 2);
    return usage();
}
