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

#include "output.h"
#endif
