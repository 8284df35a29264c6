/* Conformance: reading large host files — /bin/sh and the C library read with read() in odd-sized
 * chunks, with pread, and through mmap all give the same bytes and the fstat size.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

static const char *pick_big(void)
{
    static const char *cands[] = {"/usr/lib/x86_64-linux-gnu/libc.so.6",
                                  "/lib/x86_64-linux-gnu/libc.so.6", "/usr/bin/bash", "/bin/sh"};
    for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++)
        if (access(cands[i], R_OK) == 0)
            return cands[i];
    return "/bin/sh";
}

static void check_file(const char *path, const char *label)
{
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0, "%s: open", label);
    struct stat st;
    fstat(fd, &st);
    size_t size = (size_t)st.st_size;
    CHECK(size > 4096, "%s: larger than a page", label);
    size_t limit = size < (1u << 22) ? size : (1u << 22); /* the first 4 MiB at most */
    char *a = malloc(limit), *b = malloc(limit);
    size_t got = 0;
    size_t chunk = 1;
    while (got < limit) {
        size_t want = chunk < limit - got ? chunk : limit - got;
        ssize_t n = read(fd, a + got, want);
        if (n <= 0)
            break;
        got += (size_t)n;
        chunk = chunk * 3 + 7; /* 1, 10, 37, 118, ... odd sizes */
        if (chunk > 300000)
            chunk = 4093;
    }
    CHECK_EQ(got, limit, "%s: read() in odd chunks got the whole range", label);
    size_t off = 0;
    while (off < limit) {
        ssize_t n = pread(fd, b + off, limit - off < 65536 ? limit - off : 65536, (off_t)off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    CHECK(off == limit && memcmp(a, b, limit) == 0, "%s: pread gives the same bytes", label);
    char *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(m != MAP_FAILED && memcmp(a, m, limit) == 0, "%s: mmap gives the same bytes", label);
    CHECK(memcmp(a, "\177ELF", 4) == 0, "%s: ELF magic", label);
    if (m != MAP_FAILED)
        munmap(m, size);
    lseek(fd, 0, SEEK_SET);
    size_t total = 0;
    ssize_t n;
    while ((n = read(fd, b, limit)) > 0)
        total += (size_t)n;
    CHECK_EQ(total, size, "%s: reading to EOF gives the fstat size", label);
    free(a);
    free(b);
    close(fd);
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    check_file("/bin/sh", "/bin/sh");
    check_file(pick_big(), "large library or program");
    check_file("/usr/bin/env", "/usr/bin/env");
    return cf_done();
}
