/* A disk with a bad region, for the read-error tests (tests/integration/read_errors.rs): loaded
 * with LD_PRELOAD into noisegate, it makes every read(2) and pread(2) of one file that would
 * take a byte of NG_FAIL_LEN bytes from NG_FAIL_AT fail with EIO, the error a sector that
 * cannot be read gives. NG_FAIL_PATH names the file as /proc/self/fd shows it (an absolute
 * path), or is "-" for standard input (any copy of its descriptor). Reads of everything else,
 * and of the file's other bytes, go through. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* The name of descriptor fd, or an empty string. */
static void name_of(int fd, char *out, size_t size) {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t len = readlink(link, out, size - 1);
    out[len < 0 ? 0 : len] = 0;
}

/* Whether fd is the failing file. */
static int is_target(int fd) {
    const char *want = getenv("NG_FAIL_PATH");
    if (!want || !getenv("NG_FAIL_AT") || !getenv("NG_FAIL_LEN")) return 0;
    char name[PATH_MAX], in[PATH_MAX];
    name_of(fd, name, sizeof name);
    if (strcmp(want, "-") == 0) {
        name_of(0, in, sizeof in);
        want = in;
    }
    return name[0] && strcmp(name, want) == 0;
}

/* Whether reading n bytes at offset from takes a byte of the bad region. */
static int reaches(off_t from, size_t n) {
    off_t at = (off_t)strtoll(getenv("NG_FAIL_AT"), NULL, 10);
    off_t len = (off_t)strtoll(getenv("NG_FAIL_LEN"), NULL, 10);
    return n > 0 && from < at + len && from + (off_t)n > at;
}

/* Bytes read so far from standard input, which has no offset of its own (a pipe). */
static off_t piped;

ssize_t read(int fd, void *buf, size_t n) {
    static ssize_t (*real)(int, void *, size_t);
    if (!real) real = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
    if (!is_target(fd)) return real(fd, buf, n);
    off_t at = lseek(fd, 0, SEEK_CUR);
    int pipe = at < 0;
    if (pipe) at = piped;
    if (reaches(at, n)) {
        errno = EIO;
        return -1;
    }
    ssize_t got = real(fd, buf, n);
    if (pipe && got > 0) piped += got;
    return got;
}

ssize_t pread64(int fd, void *buf, size_t n, off_t at) {
    static ssize_t (*real)(int, void *, size_t, off_t);
    if (!real) real = (ssize_t (*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT, "pread64");
    if (is_target(fd) && reaches(at, n)) {
        errno = EIO;
        return -1;
    }
    return real(fd, buf, n, at);
}

ssize_t pread(int fd, void *buf, size_t n, off_t at) {
    return pread64(fd, buf, n, at);
}
