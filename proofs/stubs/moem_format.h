/* Force-included before the parser sources (runs csv_rows, cifar_records, model_arrays): the
 * error messages' formatting. Frama-C's variadic translation of snprintf
 * asks for the contents of the string literal formats, which WP does not export, and lets the
 * call write anywhere after the buffer's start. This proof snprintf states only what the bounds
 * of the callers need: it writes at most n bytes of s. What is not proved: that the format
 * matches its arguments (gcc's -Wformat checks that at build time). */
#ifndef MOEM_PROOF_FORMAT_H
#define MOEM_PROOF_FORMAT_H
#include <stddef.h>
#include <stdio.h>

/*@ requires valid_buffer: n == 0 || \valid(s + (0 .. n - 1));
    assigns s[0 .. n - 1]; */
int moem_proof_snprintf(char *s, size_t n, const char *format, ...);
#define snprintf moem_proof_snprintf

#endif
