/* The output policy, one module for every file the command writes (models, traces,
 * checkpoints, CSV data, experiment results, plots):
 *
 *   - an existing path that is not a regular file (a device, FIFO, socket or directory) is
 *     refused; so is a symbolic link to a missing file;
 *   - an output that is the same file as an input or as another output is refused (device and
 *     inode after following links; paths resolved by realpath for files not yet there);
 *   - a file is written whole or not at all: a temporary file beside the destination, fsync,
 *     rename. A symbolic link is written through: the temporary file goes beside its target,
 *     which the rename replaces, and the link stays.
 *
 * Library code: errors are one line in (err, errlen); nothing is printed. */
#ifndef MOEM_OUTPUT_H
#define MOEM_OUTPUT_H
#include <stddef.h>
#include <stdio.h>

/* 0 when path may be written: it does not exist (its directory is not checked here) or it is a
 * regular file, or a link to one. Else -1 and "PATH: cannot write: it is a ..." in err. */
int moem_output_usable(const char *path, char *err, size_t errlen);

/* One file a command names: its path (NULL: not given, skipped), what names it in messages
 * (an option such as "--out", or a description), whether it is written, and a group: two
 * entries of the same non-zero group may be the same file (a checkpoint resumed and written). */
typedef struct moem_file_arg {
    const char *path, *what;
    int output, group;
} moem_file_arg;

/* Checks every output with moem_output_usable, and that no output is the same file as any
 * other entry. 0, or -1 and one line naming both options and paths in err. */
int moem_files_check(const moem_file_arg *files, size_t n, char *err, size_t errlen);

/* Atomic output: moem_atomic_open applies moem_output_usable, then creates a temporary file
 * beside the destination (a link's target); moem_atomic_commit flushes, fsyncs and renames it
 * over the destination; moem_atomic_abort closes and removes it. On error both write one line
 * into err and leave no temporary file behind; the destination is only ever replaced whole. */
typedef struct moem_atomic_file {
    FILE *f;      /* write here between open and commit */
    char *tmp;    /* the temporary file's path */
    char *path;   /* the destination (a link's target) */
    char *dir;    /* its directory (fsynced after the rename) */
} moem_atomic_file;
int moem_atomic_open(moem_atomic_file *a, const char *path, char *err, size_t errlen);
int moem_atomic_commit(moem_atomic_file *a, char *err, size_t errlen);
void moem_atomic_abort(moem_atomic_file *a);

/* mkdir -p: creates path and its missing parents (0777 before the umask); 0 when path is a
 * directory afterwards, else -1 and one line naming the part that failed */
int moem_mkdir_p(const char *path, char *err, size_t errlen);

/* moem_atomic_open, the text, moem_atomic_commit */
int moem_write_text(const char *path, const char *text, char *err, size_t errlen);
/* Puts the finished file tmp (written by another program, e.g. gnuplot, in the destination's
 * directory) in place of path by the same policy; tmp is removed on failure. */
int moem_output_place(const char *tmp, const char *path, char *err, size_t errlen);
#endif
