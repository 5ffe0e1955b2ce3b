/* Shared by the fuzz targets: the readers take a path, so each input is written to an
 * in-memory file (memfd) and handed over as /proc/self/fd/N; a scratch directory for writers.
 * A violated property aborts (libFuzzer and the replay driver report it as a crash). */
#ifndef MOEM_FUZZ_UTIL_H
#define MOEM_FUZZ_UTIL_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* path of an in-memory file slot (0 or 1) now holding exactly data[0 .. size) */
const char *fuzz_file(int slot, const uint8_t *data, size_t size);
/* a private directory for output files (created once, removed at exit) */
const char *fuzz_scratch_dir(void);
/* a non-empty message on one line: no line break or other control character but tab */
int fuzz_one_line(const char *msg);
/* abort with a message when cond is false */
#define FUZZ_CHECK(cond) \
    do { if (!(cond)) fuzz_fail(__FILE__, __LINE__, #cond); } while (0)
void fuzz_fail(const char *file, int line, const char *what);
#endif
