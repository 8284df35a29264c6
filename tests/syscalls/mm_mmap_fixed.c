/* Conformance: MAP_FIXED replaces existing pages, MAP_FIXED_NOREPLACE refuses with EEXIST.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

#define PG 4096

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    char *a = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(a != MAP_FAILED, "mmap 8 pages");
    memset(a, 'A', 8 * PG);

    char *b = mmap(a + 2 * PG, 2 * PG, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(b == a + 2 * PG, "MAP_FIXED returns the exact address");
    CHECK_EQ(b[0] + b[2 * PG - 1], 0, "MAP_FIXED pages are fresh zeros");
    CHECK_EQ(a[2 * PG - 1], 'A', "page before the replaced range keeps its data");
    CHECK_EQ(a[4 * PG], 'A', "page after the replaced range keeps its data");

    /* MAP_FIXED with a different protection splits the mapping. */
    char *c = mmap(a + 4 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(c == a + 4 * PG, "MAP_FIXED PROT_READ over one page");
    struct cf_fault f = cf_write_at(c);
    CHECK_STR(cf_segv_code(f.signo, f.code), "SEGV_ACCERR", "write to the new read-only page");
    CHECK_EQ(cf_write_at(a + 5 * PG).signo, 0, "next page is still writable");

    errno = 0;
    char *d =
        mmap(a + 5 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    int e = errno;
    CHECK(d == MAP_FAILED && e == EEXIST, "MAP_FIXED_NOREPLACE over a mapped page: EEXIST");
    CHECK_EQ(a[5 * PG + 1], 'A', "refused MAP_FIXED_NOREPLACE left the data alone");

    CHECK_SYS(munmap(a + 6 * PG, 2 * PG), "munmap the last two pages");
    char *g = mmap(a + 6 * PG, PG, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK(g == a + 6 * PG, "MAP_FIXED_NOREPLACE on a free page gets the exact address");
    CHECK_EQ(g[0], 0, "and the page is zero");

    errno = 0;
    char *h = mmap(a + 6 * PG, 2 * PG, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    e = errno;
    CHECK(h == MAP_FAILED && e == EEXIST, "MAP_FIXED_NOREPLACE partly over a mapping: EEXIST");
    f = cf_read_at(a + 7 * PG);
    CHECK_STR(cf_segv_code(f.signo, f.code), "SEGV_MAPERR", "the free page stayed unmapped");

    /* MAP_FIXED over a hole and a mapping at once. */
    char *k = mmap(a + 6 * PG, 2 * PG, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(k == a + 6 * PG, "MAP_FIXED over a mapped page plus a hole");
    CHECK_EQ(cf_write_at(a + 7 * PG).signo, 0, "the former hole is now writable");

    /* MAP_FIXED over a file mapping turns it into anonymous memory. */
    int fd = open("/bin/sh", O_RDONLY);
    CHECK(fd >= 0, "open /bin/sh");
    char *m = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(m != MAP_FAILED && memcmp(m, "\177ELF", 4) == 0, "file mapping shows ELF magic");
    char *m2 = mmap(m, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(m2 == m && m[0] == 0, "MAP_FIXED anon over the file page reads zero");
    close(fd);
    munmap(m, 2 * PG);
    CHECK_SYS(munmap(a, 8 * PG), "munmap all");
    return cf_done();
}
