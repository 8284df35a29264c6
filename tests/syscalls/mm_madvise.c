/* Conformance: madvise — MADV_DONTNEED zeroes private anon memory, keeps shared memory, reverts
 * private file pages; MADV_DONTFORK; argument errors. Part of tests/syscalls (native == fnbox). */
#include "conform.h"

#define PG 4096

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 'p', 4 * PG);
    CHECK_SYS(madvise(p + PG, 2 * PG, MADV_DONTNEED), "MADV_DONTNEED on private anon pages");
    CHECK(p[PG] == 0 && p[3 * PG - 1] == 0, "private anon pages read zero afterwards");
    CHECK(p[PG - 1] == 'p' && p[3 * PG] == 'p', "pages outside the range keep data");
    p[PG] = 'n';
    CHECK_EQ(p[PG], 'n', "page is writable again");

    char *s = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memset(s, 's', 2 * PG);
    CHECK_SYS(madvise(s, 2 * PG, MADV_DONTNEED), "MADV_DONTNEED on shared anon pages");
    CHECK(s[0] == 's' && s[2 * PG - 1] == 's', "shared anon pages keep data");

    int fd = open("/bin/sh", O_RDONLY);
    char *f = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    f[0] = 'X';
    CHECK_SYS(madvise(f, PG, MADV_DONTNEED), "MADV_DONTNEED on a written private file page");
    CHECK(memcmp(f, "\177ELF", 4) == 0, "private file page reverts to the file contents");
    close(fd);

    CHECK_SYS(madvise(p, 4 * PG, MADV_NORMAL), "MADV_NORMAL");
    CHECK_SYS(madvise(p, 4 * PG, MADV_RANDOM), "MADV_RANDOM");
    CHECK_SYS(madvise(p, 4 * PG, MADV_SEQUENTIAL), "MADV_SEQUENTIAL");
    CHECK_SYS(madvise(p, 4 * PG, MADV_WILLNEED), "MADV_WILLNEED");
    CHECK_SYS(madvise(p, 0, MADV_DONTNEED), "madvise length 0");
    CHECK_ERR(madvise(p + 1, PG, MADV_DONTNEED), EINVAL, "madvise unaligned");
    CHECK_ERR(madvise(p, PG, 12345), EINVAL, "madvise unknown advice");
    munmap(p + 3 * PG, PG);
    CHECK_ERR(madvise(p + 2 * PG, 2 * PG, MADV_WILLNEED), ENOMEM, "madvise over a hole");

    /* MADV_DONTFORK: the child does not get the range; MADV_DOFORK undoes it. */
    char *d = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    d[0] = 'd';
    CHECK_SYS(madvise(d, PG, MADV_DONTFORK), "MADV_DONTFORK");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(cf_read_at(d).signo == SIGSEGV ? 0 : 1);
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "child has no MADV_DONTFORK page");
    CHECK_SYS(madvise(d, PG, MADV_DOFORK), "MADV_DOFORK");
    pid = fork();
    if (pid == 0)
        _exit(cf_read_at(d).signo == 0 && d[0] == 'd' ? 0 : 1);
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "child sees the page after MADV_DOFORK");
    munmap(d, PG);
    munmap(p, 3 * PG);
    munmap(s, 2 * PG);
    munmap(f, PG);
    return cf_done();
}
