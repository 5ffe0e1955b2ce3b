/* The output policy (output.h): refuse what must not be written, then write atomically. */
#define _XOPEN_SOURCE 700   /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "output.h"

static const char *kind(mode_t m)
{
    return S_ISDIR(m) ? "a directory" : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device"
         : S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket" : "not a regular file";
}

int moem_output_usable(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (!path || !*path) {
        if (err && errlen) snprintf(err, errlen, "empty output path");
        return -1;
    }
    if (lstat(path, &st) != 0) return 0;                  /* not there: created */
    if (S_ISLNK(st.st_mode) && stat(path, &st) != 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot write: a symbolic link to a missing file", path);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        if (err && errlen) snprintf(err, errlen, "%s: cannot write: it is %s", path, kind(st.st_mode));
        return -1;
    }
    return 0;
}

/* path with its links and its directory's resolved (malloc'ed): realpath when it exists, else
 * realpath(dir) + "/" + name; NULL when neither resolves */
static char *resolve(const char *path)
{
    char *r = realpath(path, NULL);
    if (r) return r;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char *dir = malloc(strlen(path) + 2);
    if (!dir) return NULL;
    if (!slash) strcpy(dir, ".");
    else if (slash == path) strcpy(dir, "/");
    else { memcpy(dir, path, (size_t)(slash - path)); dir[slash - path] = '\0'; }
    char *rd = realpath(dir, NULL);
    free(dir);
    if (!rd) return NULL;
    char *out = malloc(strlen(rd) + strlen(base) + 2);
    if (out) sprintf(out, "%s/%s", strcmp(rd, "/") ? rd : "", base);
    free(rd);
    return out;
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    int ha = stat(a, &sa) == 0, hb = stat(b, &sb) == 0;
    if (ha && hb) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    if (ha != hb) return 0;
    char *ra = resolve(a), *rb = resolve(b);
    int same = ra && rb ? !strcmp(ra, rb) : !strcmp(a, b);
    free(ra);
    free(rb);
    return same;
}

int moem_files_check(const moem_file_arg *f, size_t n, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        if (!f[i].path || !f[i].output) continue;
        if (moem_output_usable(f[i].path, err, errlen)) return -1;
        for (size_t j = 0; j < n; j++) {
            if (j == i || !f[j].path || (f[j].output && j > i)) continue;
            if (f[i].group && f[i].group == f[j].group) continue;
            if (same_file(f[i].path, f[j].path)) {
                if (err && errlen)
                    snprintf(err, errlen, "%s %s is the same file as %s %s: refusing to overwrite %s",
                             f[i].what, f[i].path, f[j].what, f[j].path, f[j].output ? "one output with another" : "an input");
                return -1;
            }
        }
    }
    return 0;
}

static char *str_dup(const char *s)
{
    size_t k = strlen(s) + 1;
    char *c = malloc(k);
    if (c) memcpy(c, s, k);
    return c;
}

static void atomic_free(moem_atomic_file *a)
{
    free(a->tmp);
    free(a->path);
    free(a->dir);
    memset(a, 0, sizeof *a);
}

int moem_atomic_open(moem_atomic_file *a, const char *path, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    struct stat st;
    if (moem_output_usable(path, err, errlen)) return -1;
    /* a link is written through: the destination is its target */
    a->path = lstat(path, &st) == 0 && S_ISLNK(st.st_mode) ? realpath(path, NULL) : str_dup(path);
    if (!a->path) {
        if (err && errlen) snprintf(err, errlen, "%s: cannot resolve the link: %s", path, strerror(errno));
        return -1;
    }
    const char *slash = strrchr(a->path, '/');
    size_t dlen = slash ? (size_t)(slash - a->path) : 0;
    const char *base = slash ? slash + 1 : a->path;
    if (!*base) {
        if (err && errlen) snprintf(err, errlen, "%s: cannot write: it names a directory", path);
        atomic_free(a);
        return -1;
    }
    a->dir = slash ? malloc(dlen + 2) : str_dup(".");
    a->tmp = malloc(strlen(a->path) + 16);
    if (!a->dir || !a->tmp) {
        atomic_free(a);
        if (err && errlen) snprintf(err, errlen, "%s: out of memory for its file name", path);
        return -1;
    }
    if (slash) {
        memcpy(a->dir, a->path, dlen ? dlen : 1);   /* "/name": the directory is "/" */
        a->dir[dlen ? dlen : 1] = '\0';
    }
    sprintf(a->tmp, "%.*s.%s.XXXXXX", (int)(base - a->path), a->path, base);
    int fd = mkstemp(a->tmp);
    if (fd < 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot create a file in %s: %s", path, a->dir, strerror(errno));
        atomic_free(a);
        return -1;
    }
    mode_t mask = umask(022);   /* mkstemp makes 0600; give the file the usual permissions */
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    a->f = fdopen(fd, "w");
    if (!a->f) {
        if (err && errlen) snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        unlink(a->tmp);
        atomic_free(a);
        return -1;
    }
    return 0;
}

void moem_atomic_abort(moem_atomic_file *a)
{
    if (a->f) fclose(a->f);
    if (a->tmp) unlink(a->tmp);
    atomic_free(a);
}

int moem_atomic_commit(moem_atomic_file *a, char *err, size_t errlen)
{
    int e = 0;
    if (fflush(a->f) != 0 || ferror(a->f)) e = errno ? errno : EIO;
    if (!e && fsync(fileno(a->f)) != 0 && errno != EINVAL) e = errno;
    if (fclose(a->f) != 0 && !e) e = errno;
    a->f = NULL;
    /* the destination may have become something else since open: check again */
    if (!e && moem_output_usable(a->path, err, errlen)) { moem_atomic_abort(a); return -1; }
    if (!e && rename(a->tmp, a->path) != 0) e = errno;
    if (e) {
        if (err && errlen) snprintf(err, errlen, "%s: cannot write: %s", a->path, strerror(e));
        moem_atomic_abort(a);
        return -1;
    }
    int dfd = open(a->dir, O_RDONLY);   /* make the rename durable; best effort */
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    atomic_free(a);
    return 0;
}

int moem_mkdir_p(const char *path, char *err, size_t errlen)
{
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0) { snprintf(err, errlen, "an empty directory name"); return -1; }
    if (len >= sizeof buf) { snprintf(err, errlen, "%.300s...: path too long", path); return -1; }
    memcpy(buf, path, len + 1);
    for (char *q = buf + 1;; q++) {
        if (*q == '/' || *q == 0) {
            char c = *q;
            *q = 0;
            struct stat st;
            if (mkdir(buf, 0777) && errno != EEXIST) {
                snprintf(err, errlen, "%.300s: cannot create: %s", buf, strerror(errno));
                return -1;
            }
            if (stat(buf, &st) || !S_ISDIR(st.st_mode)) {
                snprintf(err, errlen, "%.300s: not a directory", buf);
                return -1;
            }
            *q = c;
            if (!c) break;
        }
    }
    return 0;
}

int moem_write_text(const char *path, const char *text, char *err, size_t errlen)
{
    moem_atomic_file a;
    if (moem_atomic_open(&a, path, err, errlen)) return -1;
    fputs(text, a.f);
    return moem_atomic_commit(&a, err, errlen);
}

int moem_output_place(const char *tmp, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (moem_output_usable(path, err, errlen)) { unlink(tmp); return -1; }
    char *dest = lstat(path, &st) == 0 && S_ISLNK(st.st_mode) ? realpath(path, NULL) : str_dup(path);
    if (!dest || rename(tmp, dest) != 0) {
        if (err && errlen) snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        free(dest);
        unlink(tmp);
        return -1;
    }
    free(dest);
    return 0;
}
