/* In-memory input files and a scratch directory for the fuzz targets. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "fuzz_util.h"

int fuzz_one_line(const char *msg)
{
    if (!msg[0]) return 0;
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) return 0;
    return 1;
}

static int fds[2] = {-1, -1};
static char paths[2][64];

void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: property violated: %s\n", file, line, what);
    abort();
}

const char *fuzz_file(int slot, const uint8_t *data, size_t size)
{
    if (fds[slot] < 0) {
        fds[slot] = memfd_create("moem-fuzz", 0);
        FUZZ_CHECK(fds[slot] >= 0);
        snprintf(paths[slot], sizeof paths[slot], "/proc/self/fd/%d", fds[slot]);
    }
    FUZZ_CHECK(ftruncate(fds[slot], 0) == 0);
    size_t done = 0;
    while (done < size) {
        ssize_t w = pwrite(fds[slot], data + done, size - done, (off_t)done);
        FUZZ_CHECK(w > 0);
        done += (size_t)w;
    }
    return paths[slot];
}

static char scratch[256];

static void scratch_remove(void)
{
    DIR *d = opendir(scratch);
    if (!d) return;
    struct dirent *e;
    char p[600];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", scratch, e->d_name);
            unlink(p);
        }
    closedir(d);
    rmdir(scratch);
}

const char *fuzz_scratch_dir(void)
{
    if (!scratch[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(scratch, sizeof scratch, "%s/moem-fuzz-XXXXXX", base);
        FUZZ_CHECK(mkdtemp(scratch) != NULL);
        atexit(scratch_remove);
    }
    return scratch;
}
