/* Conformance: private read-only mappings of host files (program text, rodata, data files) --
 * what fnbox maps straight from the host file -- through everything that can happen to them:
 * content, the kernel reading from them (write from a mapped buffer), fork, mprotect to writable
 * and back (the private copy must survive), SIGSEGV on a write, PROT_NONE, munmap of a middle
 * page, mremap, MAP_FIXED over part, MADV_DONTNEED, SIGBUS past the end of the file.
 * Part of tests/syscalls (native and fnbox must match). */
#include "conform.h"

#define PG 4096

static unsigned sum(const unsigned char *p, size_t n)
{
    unsigned s = 0;
    for (size_t i = 0; i < n; i++)
        s = s * 31 + p[i];
    return s;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    /* A system file of several pages that no one writes. */
    int fd = open("/bin/sh", O_RDONLY);
    CHECK(fd >= 0, "open /bin/sh read-only");
    struct stat st;
    CHECK_SYS(fstat(fd, &st), "fstat");
    size_t len = 8 * PG;
    CHECK(st.st_size > (off_t)len, "/bin/sh is larger than 8 pages");
    unsigned char *file = malloc(len);
    CHECK_EQ(pread(fd, file, len, 0), (long)len, "pread the first 8 pages");

    unsigned char *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(p != MAP_FAILED, "mmap 8 pages PROT_READ MAP_PRIVATE");
    CHECK(memcmp(p, file, len) == 0, "every page matches the file");

    /* The kernel reads the mapping on our behalf. */
    int pfd[2];
    CHECK_SYS(pipe(pfd), "pipe");
    CHECK_EQ(write(pfd[1], p + 3 * PG + 100, 200), 200, "write() from the mapping");
    unsigned char back[200];
    CHECK_EQ(read(pfd[0], back, 200), 200, "read it back");
    CHECK(memcmp(back, file + 3 * PG + 100, 200) == 0, "the kernel read the file's bytes");

    /* A child sees the same bytes. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(sum(p, len) == sum(file, len) ? 0 : 1);
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "a forked child reads the same content");

    /* A write to it faults with SEGV_ACCERR at the address. */
    struct cf_fault f = cf_write_at(p + 2 * PG + 8);
    CHECK_EQ(f.signo, SIGSEGV, "a write to the read-only mapping raises SIGSEGV");
    CHECK_STR(cf_segv_code(f.signo, f.code), "SEGV_ACCERR", "with SEGV_ACCERR");
    CHECK(f.addr == p + 2 * PG + 8, "si_addr is the written byte");

    /* Writable, written, read-only again: the private copy stays, the file does not change. */
    CHECK_SYS(mprotect(p + PG, 2 * PG, PROT_READ | PROT_WRITE), "mprotect 2 pages writable");
    p[PG + 1] = 'Q';
    p[2 * PG + 2] = 'R';
    CHECK_SYS(mprotect(p + PG, 2 * PG, PROT_READ), "mprotect them read-only again");
    CHECK_EQ(p[PG + 1], 'Q', "the first write survives the way back to read-only");
    CHECK_EQ(p[2 * PG + 2], 'R', "and the second");
    CHECK(memcmp(p + PG + 2, file + PG + 2, 100) == 0,
          "untouched bytes of those pages are the file's");
    CHECK(memcmp(p + 4 * PG, file + 4 * PG, 4 * PG) == 0, "other pages are still the file's");
    unsigned char c;
    CHECK_EQ(pread(fd, &c, 1, PG + 1), 1, "pread the file");
    CHECK(c == file[PG + 1], "the file itself did not change");
    f = cf_write_at(p + PG + 1);
    CHECK_EQ(f.signo, SIGSEGV, "and writing there faults again");

    /* A child forked now sees the private copy too. */
    fflush(stdout);
    pid = fork();
    if (pid == 0)
        _exit(p[PG + 1] == 'Q' && p[5 * PG] == file[5 * PG] ? 0 : 1);
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "a child sees the copy and the file");

    /* PROT_NONE and back. */
    CHECK_SYS(mprotect(p + 5 * PG, PG, PROT_NONE), "mprotect a page PROT_NONE");
    f = cf_read_at(p + 5 * PG + 7);
    CHECK_EQ(f.signo, SIGSEGV, "reading a PROT_NONE page raises SIGSEGV");
    CHECK_STR(cf_segv_code(f.signo, f.code), "SEGV_ACCERR", "with SEGV_ACCERR");
    CHECK_SYS(mprotect(p + 5 * PG, PG, PROT_READ), "mprotect it readable again");
    CHECK(memcmp(p + 5 * PG, file + 5 * PG, PG) == 0, "it reads the file again");

    /* MADV_DONTNEED on a clean page: the file's content comes back. */
    CHECK_SYS(madvise(p + 6 * PG, PG, MADV_DONTNEED), "MADV_DONTNEED a clean page");
    CHECK(memcmp(p + 6 * PG, file + 6 * PG, PG) == 0, "it still reads the file");

    /* munmap a middle page: a hole there, the neighbours stay. */
    CHECK_SYS(munmap(p + 4 * PG, PG), "munmap a middle page");
    f = cf_read_at(p + 4 * PG);
    CHECK_EQ(f.signo, SIGSEGV, "the hole raises SIGSEGV");
    CHECK_STR(cf_segv_code(f.signo, f.code), "SEGV_MAPERR", "with SEGV_MAPERR");
    CHECK(p[3 * PG] == file[3 * PG] && p[5 * PG + 9] == file[5 * PG + 9], "its neighbours read");

    /* MAP_FIXED anonymous memory over the last page. */
    void *a = mmap(p + 7 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(a == p + 7 * PG, "MAP_FIXED anonymous over the last page");
    CHECK(p[7 * PG] == 0 && p[8 * PG - 1] == 0, "it reads zeros");
    CHECK(p[6 * PG + 1] == file[6 * PG + 1], "the page before still reads the file");

    /* mremap: the first page (clean) and the two written ones (still one mapping each) move
     * elsewhere, growing; the grown parts read the file on from where they end. */
    unsigned char *m = mremap(p, PG, 2 * PG, MREMAP_MAYMOVE);
    CHECK(m != MAP_FAILED, "mremap the clean first page, growing");
    CHECK(memcmp(m, file, 2 * PG) == 0, "both pages read the file");
    f = cf_read_at(p);
    CHECK_EQ(f.signo, SIGSEGV, "the old place is unmapped");
    unsigned char *q = mremap(p + PG, 2 * PG, 3 * PG, MREMAP_MAYMOVE);
    CHECK(q != MAP_FAILED, "mremap the two written pages, growing");
    CHECK(q[1] == 'Q' && q[PG + 2] == 'R', "the private copies moved along");
    CHECK(memcmp(q + 2 * PG, file + 3 * PG, PG) == 0, "the grown page reads the file");
    munmap(m, 2 * PG);
    munmap(q, 3 * PG);
    munmap(p + 3 * PG, 5 * PG);

    /* Past the end of a file: the rest of the last page reads zero, the next page SIGBUS. */
    int sfd = open("/etc/os-release", O_RDONLY);
    CHECK(sfd >= 0, "open /etc/os-release");
    CHECK_SYS(fstat(sfd, &st), "fstat it");
    CHECK(st.st_size > 0 && st.st_size < PG, "it is shorter than a page");
    unsigned char *e = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE, sfd, 0);
    CHECK(e != MAP_FAILED, "mmap two pages of it");
    CHECK(e[0] != 0 && e[st.st_size] == 0 && e[PG - 1] == 0, "text, then zeros to the page end");
    f = cf_read_at(e + PG + 10);
    CHECK_EQ(f.signo, SIGBUS, "the page past the end raises SIGBUS");
    CHECK_STR(cf_segv_code(f.signo, f.code), "BUS_ADRERR", "with BUS_ADRERR");
    CHECK(f.addr == e + PG + 10, "si_addr is the byte read");
    munmap(e, 2 * PG);
    close(sfd);
    close(fd);
    free(file);
    return cf_done();
}
