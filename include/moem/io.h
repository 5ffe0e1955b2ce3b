/* moem/io.h: files: data as CSV, models as JSON, checkpoints of a run (the model, the
 * algorithm's settings and a trace file) that a later run resumes bit for bit. Every writer
 * replaces its file atomically (a temporary file in the same directory, then rename): a file
 * is whole or not there. */
#ifndef MOEM_IO_H
#define MOEM_IO_H

#include "core.h"
#include "data.h"
#include "model.h"
#include "fit.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- data files (CSV) ------------------------------------------------------------------- */

/* A header row `y,x1,...,xd`, then one sample per line. Reads path into data (allocated; free
 * with moem_data_free). On error returns -1 and writes one line naming the file, line and
 * column into err. Rejects empty files, a missing or malformed header, ragged rows,
 * non-numbers, NaN and Inf. */
MOEM_API int moem_csv_read(const char *path, moem_data *data, char *err, size_t errlen);

/* A file of new inputs for a model of d features: rows of d + 1 columns (y, then the
 * features: y is read) or of d columns (the features only: data->y is NULL); the header is
 * not read for names. Other column counts are an error naming both. (Like moem_csv_read, it
 * needs at least 2 columns: one feature without y cannot be read.) */
MOEM_API int moem_csv_read_features(const char *path, size_t d, moem_data *data, char *err,
                                    size_t errlen);

/* Writes data with the header row, atomically (temporary file in the same directory, then
 * rename); values printed with %.17g so that they read back bit for bit. */
MOEM_API int moem_csv_write(const char *path, const moem_data *data, char *err, size_t errlen);

/* ---- model files (JSON) ------------------------------------------------------------------ */

/* Reads a model file written by moem_model_write (or by hand: the format is in the README) and
 * allocates m; every size, the pinned gate row, the symmetry and the values are checked, and
 * an error names the field at fault. On failure m is left zeroed. */
MOEM_API int moem_model_read(const char *path, moem_model *m, char *err, size_t errlen);
/* Writes m as JSON, numbers printed so that they read back bit for bit. */
MOEM_API int moem_model_write(const char *path, const moem_model *m, char *err, size_t errlen);
/* moem_model_write with a "fit" member: fit_json, a JSON object as text (NULL: none), such as
 * the summary `moem fit` writes; moem_model_read ignores it, so such files load everywhere. */
MOEM_API int moem_model_write_fit(const char *path, const moem_model *m, const char *fit_json,
                                  char *err, size_t errlen);

/* ---- checkpoints ----------------------------------------------------------------------- */

/* What a checkpoint records besides the model and the algorithm's settings: a fingerprint of
 * the data the run is on, and the state of its trace file PATH.trace. */
typedef struct moem_checkpoint_info {
    size_t n, d;            /* the data's size */
    uint64_t data_hash;     /* moem_data_hash of the data */
    int precision;          /* the storage of X: 64 or 32 (bits) */
    uint64_t run;           /* names the run in both files, so that a stray trace file is refused */
    int trace_have;         /* the last iteration PATH.trace holds (-1: no file yet: written whole) */
    long trace_end;         /* the byte offset after that iteration's line */
} moem_checkpoint_info;

/* A checkpoint holds the model after `iter` iterations of algorithm p->algo (with its step sizes
 * and inner-solver settings) and info's data fingerprint; its trace file PATH.trace holds the
 * objective / seconds of iterations 0 .. iter. Values are written as hexadecimal floats, so a
 * resumed run continues bit for bit. A write appends iterations info->trace_have + 1 .. iter to
 * PATH.trace (and updates info), then replaces PATH atomically: it costs O(model) plus the new
 * iterations, never the whole trace. */
MOEM_API int moem_checkpoint_write(const char *path, const moem_model *m, const moem_params *p,
                          moem_checkpoint_info *info, int iter, const double *objective,
                          const double *seconds, char *err, size_t errlen);
/* Reads a checkpoint and its trace file: allocates m, fills the algorithm settings of p (algo,
 * lr, lr_gate, learn_sigma2, inner_steps, inner_lr, newton_tol, newton_max, ridge), info (the
 * data fingerprint, the run, trace_have = iter and trace_end), iter, and the trace (*objective,
 * *seconds: iter + 1 values each, malloc'ed). */
MOEM_API int moem_checkpoint_read(const char *path, moem_model *m, moem_params *p, moem_checkpoint_info *info,
                         int *iter, double **objective, double **seconds, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
