/* CSV data files: a header row `y,x1,...,xd`, then one sample per line. */
#ifndef MOEM_CSV_H
#define MOEM_CSV_H
#include <stddef.h>
#include <stdio.h>
#include "moem.h"

/* moem_csv_read and moem_csv_write: the public header (moem.h) */

#include "output.h"
#endif
