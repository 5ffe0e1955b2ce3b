/* Proof stub of <zlib.h>: the few gz* functions the IDX and CIFAR-10 readers call, with the
 * contracts zlib documents (what they read and write). ci/proofs puts proofs/stubs first on the
 * include path of the parser runs; the build uses the real header. */
#ifndef MOEM_PROOF_ZLIB_H
#define MOEM_PROOF_ZLIB_H
#include <stddef.h>

typedef struct gzFile_s *gzFile;
#define Z_ERRNO (-1)

/* (mode is a string literal in every caller, whose contents WP does not export) */
/*@ requires valid_path: valid_read_string(path);
    assigns \result \from path[0 ..], mode[0 ..]; */
gzFile gzopen(const char *path, const char *mode);

/* reads at most len bytes into buf: the count read, 0 at the end, -1 on an error */
/*@ requires valid_buf: \valid((unsigned char *)buf + (0 .. len - 1));
    assigns ((unsigned char *)buf)[0 .. len - 1], \result \from file, len;
    ensures count: -1 <= \result <= len && \result <= 2147483647; */
int gzread(gzFile file, void *buf, unsigned len);

/*@ assigns \result \from file; */
int gzclose(gzFile file);

/*@ requires valid_errnum: \valid(errnum);
    assigns *errnum, \result \from file;
    ensures message: valid_read_string(\result); */
const char *gzerror(gzFile file, int *errnum);
#endif
