/* CSV data files: a header row `y,x1,...,xd`, then one sample per line. */
#ifndef MOEM_CSV_H
#define MOEM_CSV_H
#include <stddef.h>
#include <stdio.h>
#include "moem.h"

/* Reads path into data (allocated; free with moem_data_free). On error returns -1 and writes
 * one line naming the file, line and column into err. Rejects empty files, a missing or
 * malformed header, ragged rows, non-numbers, NaN and Inf. */
int moem_csv_read(const char *path, moem_data *data, char *err, size_t errlen);

/* Writes data with the header row, atomically (temporary file in the same directory, then
 * rename); values printed with %.17g so that they read back bit for bit. */
int moem_csv_write(const char *path, const moem_data *data, char *err, size_t errlen);

/* Atomic file output, shared by the writers: moem_atomic_open creates a temporary file next to
 * path (mkstemp in the same directory); moem_atomic_commit flushes, fsyncs and renames it over
 * path; moem_atomic_abort closes and removes it. On error both write one line into err and leave
 * no temporary file behind; path is only ever replaced whole. */
typedef struct moem_atomic_file {
    FILE *f;      /* write here between open and commit */
    char *tmp;    /* the temporary file's path */
    char *path;   /* the destination */
    char *dir;    /* its directory (fsynced after the rename) */
} moem_atomic_file;
int moem_atomic_open(moem_atomic_file *a, const char *path, char *err, size_t errlen);
int moem_atomic_commit(moem_atomic_file *a, char *err, size_t errlen);
void moem_atomic_abort(moem_atomic_file *a);
#endif
