/* IDX reader through zlib (gzread also reads uncompressed files transparently). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "idx.h"
#include "base.h"

void moem_idx_free(moem_idx *idx)
{
    if (!idx) return;
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}

/* reads exactly len bytes; returns the count read (< len: end of file), -1 on a zlib error */
/*@ requires valid_buf: \valid(buf + (0 .. len - 1));
    assigns buf[0 .. len - 1];
    ensures count: \result <= len; */
static long long read_full(gzFile f, unsigned char *buf, size_t len)
{
    size_t got = 0;
    /*@ loop invariant 0 <= got <= len;
        loop assigns got, buf[0 .. len - 1];
        loop variant len - got; */
    while (got < len) {
        size_t want = len - got > (1u << 30) ? (1u << 30) : len - got;
        int r = gzread(f, buf + got, (unsigned)want);
        if (r < 0) return -1;
        if (r == 0) break;
        got += (size_t)r;
    }
    return (long long)got;
}

/*@ assigns \nothing; */
static const char *zerr(gzFile f)
{
    int code;
    const char *m = gzerror(f, &code);
    return code == Z_ERRNO ? strerror(errno) : m;
}

/* Appends n bytes of src at offset got of idx->data, first growing the block (*cap bytes,
 * doubling, at most limit) when they do not fit. Trusted through its contract, not proved:
 * realloc returns a fresh block, whose bytes are no location of the caller's state, and WP
 * cannot state that. -1 when memory runs out (idx->data is then unchanged). */
/*@ requires valid: \valid(idx) && \valid(cap) && \separated(idx, cap);
    requires fits: got <= *cap && got + n <= limit;
    requires valid_src: \valid_read(src + (0 .. n - 1));
    assigns idx->data, *cap;
    ensures grown: \result == 0 ==> got + n <= *cap <= limit; */
static int idx_append(moem_idx *idx, size_t *cap, size_t got, const unsigned char *src, size_t n,
                      size_t limit)
{
    if (got + n > *cap) {
        size_t c = *cap > limit / 2 ? limit : 2 * *cap;
        if (c < got + n) c = got + n;
        unsigned char *nb = realloc(idx->data, c);
        if (!nb) return -1;
        idx->data = nb;
        *cap = c;
    }
    if (n) memcpy(idx->data + got, src, n);
    return 0;
}

/*@ requires valid_idx: \valid(idx);
    requires valid_path: valid_read_string(path);
    requires valid_err: err == \null || \valid(err + (0 .. errlen - 1));
    requires sep: \separated(idx, err + (0 .. errlen - 1)); */
int moem_idx_read(const char *path, size_t max_bytes, moem_idx *idx, char *err, size_t errlen)
{
    *idx = (moem_idx){0};
    unsigned char *buf = NULL;                /* the payload's read chunk */
    gzFile f = gzopen(path, "rb");
    if (!f) { MOEM_ERR(err, errlen, "%s: cannot open: %s", path, strerror(errno)); return -1; }
    unsigned char h[4 + 4 * MOEM_IDX_MAX_DIMS];
    long long r = read_full(f, h, 4);
    if (r < 0) goto zfail;
    if (r < 4) { MOEM_ERR(err, errlen, "%s: truncated IDX header (%lld of 4 bytes)", path, r); goto fail; }
    if (h[0] != 0 || h[1] != 0) {
        MOEM_ERR(err, errlen, "%s: wrong IDX magic number 0x%02x%02x%02x%02x (expected 0x000008NN)",
                 path, h[0], h[1], h[2], h[3]);
        goto fail;
    }
    if (h[2] != 0x08) {
        MOEM_ERR(err, errlen, "%s: IDX value type 0x%02x is not supported (only 0x08, unsigned byte)", path, h[2]);
        goto fail;
    }
    if (h[3] < 1 || h[3] > MOEM_IDX_MAX_DIMS) {
        MOEM_ERR(err, errlen, "%s: IDX header has %u dimensions (1..%d supported)", path, h[3], MOEM_IDX_MAX_DIMS);
        goto fail;
    }
    const unsigned ndim = h[3];
    idx->ndim = ndim;
    size_t need = 4 * (size_t)ndim;
    r = read_full(f, h + 4, need);
    if (r < 0) goto zfail;
    if ((size_t)r < need) {
        MOEM_ERR(err, errlen, "%s: truncated IDX header (%lld of %zu dimension bytes)", path, r, need);
        goto fail;
    }
    size_t count = 1;
    /*@ loop invariant 0 <= i <= ndim && 1 <= count;
        loop assigns i, count, idx->dims[0 .. MOEM_IDX_MAX_DIMS - 1], err[0 .. errlen - 1];
        loop variant ndim - i; */
    for (unsigned i = 0; i < ndim; i++) {
        const unsigned char *p = h + 4 + 4 * i;
        idx->dims[i] = (uint32_t)p[0] * 0x1000000u + (uint32_t)p[1] * 0x10000u + (uint32_t)p[2] * 0x100u + p[3];
        if (idx->dims[i] == 0) { MOEM_ERR(err, errlen, "%s: IDX dimension %u is zero", path, i); goto fail; }
        //@ ghost moem_mul_le(1, count, idx->dims[i]);
        if (!moem_mul_size(count, idx->dims[i], &count) || (max_bytes && count > max_bytes)) {
            MOEM_ERR(err, errlen, "%s: IDX dimensions overflow (more than %zu values)", path,
                     max_bytes ? max_bytes : SIZE_MAX);
            goto fail;
        }
    }
    idx->count = count;
    /* the payload is read in chunks of at most 1 MiB and appended to a block that doubles, so
     * that a short file whose header claims a huge payload fails as truncated without a huge
     * malloc */
    size_t got = 0, cap = 0, chunk = count < ((size_t)1 << 20) ? count : ((size_t)1 << 20);
    buf = malloc(chunk);
    if (!buf) { MOEM_ERR(err, errlen, "%s: out of memory for %zu bytes", path, chunk); goto fail; }
    /*@ loop invariant got <= cap <= count;
        loop assigns got, cap, r, idx->data, buf[0 .. chunk - 1];
        loop variant count - got; */
    while (got < count) {
        size_t want = count - got < chunk ? count - got : chunk;
        r = read_full(f, buf, want);
        if (r < 0) goto zfail;
        if (idx_append(idx, &cap, got, buf, (size_t)r, count)) {
            MOEM_ERR(err, errlen, "%s: out of memory for %zu bytes", path, got + (size_t)r);
            goto fail;
        }
        got += (size_t)r;
        if ((size_t)r < want) break;
    }
    if (got < count) {
        MOEM_ERR(err, errlen, "%s: truncated IDX data (%zu of %zu bytes)", path, got, count);
        goto fail;
    }
    unsigned char extra;
    r = read_full(f, &extra, 1);
    if (r < 0) goto zfail;
    if (r > 0) { MOEM_ERR(err, errlen, "%s: bytes after the IDX data (expected %zu)", path, count); goto fail; }
    gzclose(f);
    free(buf);
    return 0;
zfail:
    MOEM_ERR(err, errlen, "%s: read error: %s", path, zerr(f));
fail:
    gzclose(f);
    free(buf);
    moem_idx_free(idx);
    return -1;
}
