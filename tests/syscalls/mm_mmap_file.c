/* Conformance: file-backed mmap — private copy of a read-only host file, shared tmp file mapping,
 * SIGBUS past EOF and the permission errors. Part of tests/syscalls (native and fnbox must match).
 */
#include "conform.h"

#define PG 4096

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    int fd = open("/bin/sh", O_RDONLY);
    CHECK(fd >= 0, "open /bin/sh read-only");
    struct stat st;
    CHECK_SYS(fstat(fd, &st), "fstat /bin/sh");
    CHECK(st.st_size > 2 * PG, "/bin/sh is larger than two pages");

    unsigned char *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(p != MAP_FAILED, "mmap /bin/sh PROT_READ MAP_PRIVATE");
    CHECK(memcmp(p, "\177ELF", 4) == 0, "mapping starts with ELF magic");
    unsigned char buf[64];
    CHECK_EQ(pread(fd, buf, 64, PG), 64, "pread 64 bytes at offset 4096");
    CHECK(memcmp(buf, p + PG, 64) == 0, "mapping matches pread at offset 4096");

    unsigned char *w = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(w != MAP_FAILED, "mmap /bin/sh PROT_WRITE MAP_PRIVATE on an O_RDONLY fd");
    w[0] = 'X';
    w[PG + 5] = 'Y';
    CHECK_EQ(w[0], 'X', "private copy takes the write");
    CHECK_EQ(pread(fd, buf, 4, 0), 4, "pread the file header");
    CHECK(memcmp(buf, "\177ELF", 4) == 0, "file still starts with ELF magic");
    CHECK_EQ(p[0], 0x7f, "other private mapping still sees the file");

    unsigned char *off = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, PG);
    CHECK(off != MAP_FAILED && memcmp(off, p + PG, PG) == 0, "mapping at file offset 4096");

    CHECK_ERR((long)mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), EACCES,
              "MAP_SHARED PROT_WRITE on an O_RDONLY fd");
    unsigned char *sr = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(sr != MAP_FAILED && sr[1] == 'E', "MAP_SHARED PROT_READ on an O_RDONLY fd");
    CHECK_ERR((long)mprotect(sr, PG, PROT_READ | PROT_WRITE), EACCES,
              "mprotect PROT_WRITE on that shared read-only mapping");
    CHECK_ERR((long)mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 100), EINVAL,
              "mmap with unaligned offset");
    munmap(p, (size_t)st.st_size);
    munmap(w, 2 * PG);
    munmap(off, PG);
    munmap(sr, PG);
    close(fd);

    int dfd = open("/usr", O_RDONLY | O_DIRECTORY);
    CHECK_ERR((long)mmap(NULL, PG, PROT_READ, MAP_PRIVATE, dfd, 0), ENODEV, "mmap a directory");
    close(dfd);
    int pfd[2];
    CHECK_SYS(pipe(pfd), "pipe");
    CHECK_ERR((long)mmap(NULL, PG, PROT_READ, MAP_PRIVATE, pfd[0], 0), ENODEV, "mmap a pipe");
    close(pfd[0]);
    close(pfd[1]);

    /* A shared writable mapping of a tmp file is coherent with read/write. */
    const char *path = cf_tmp("data");
    int t = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(t >= 0, "create tmp file");
    CHECK_SYS(ftruncate(t, 2 * PG), "ftruncate to two pages");
    char *s = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, t, 0);
    CHECK(s != MAP_FAILED, "mmap tmp file MAP_SHARED RW");
    memcpy(s + 10, "hello", 5);
    char rb[8] = {0};
    CHECK_EQ(pread(t, rb, 5, 10), 5, "pread after store through the mapping");
    CHECK_STR(rb, "hello", "pread sees the mapped store");
    CHECK_EQ(pwrite(t, "world", 5, PG + 1), 5, "pwrite into the second page");
    CHECK(memcmp(s + PG + 1, "world", 5) == 0, "mapping sees the pwrite");
    CHECK_SYS(msync(s, 2 * PG, MS_SYNC), "msync MS_SYNC");
    CHECK_ERR(msync(s + 1, PG, MS_SYNC), EINVAL, "msync unaligned");
    CHECK_SYS(munmap(s, 2 * PG), "munmap");
    CHECK_EQ(pread(t, rb, 5, 10), 5, "pread after munmap");
    CHECK_STR(rb, "hello", "data persisted in the file after munmap");

    /* Past EOF: the rest of the last page is zero, whole pages past EOF raise SIGBUS. */
    CHECK_SYS(ftruncate(t, 100), "ftruncate to 100 bytes");
    char *e = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, t, 0);
    CHECK(e != MAP_FAILED, "map two pages of a 100-byte file");
    CHECK(e[99] == 0 && e[200] == 0 && e[10] == 'h', "tail of the last page reads zero");
    struct cf_fault f = cf_read_at(e + PG + 8);
    CHECK_STR(cf_signame(f.signo), "SIGBUS", "read of a page past EOF");
    CHECK_STR(cf_segv_code(f.signo, f.code), "BUS_ADRERR", "SIGBUS si_code");
    CHECK(f.addr == e + PG + 8, "SIGBUS si_addr is the byte");
    CHECK_SYS(ftruncate(t, 2 * PG), "extend the file again");
    CHECK_EQ(cf_read_at(e + PG + 8).signo, 0, "page is readable once the file covers it");
    munmap(e, 2 * PG);

    int wo = open(path, O_WRONLY);
    CHECK_ERR((long)mmap(NULL, PG, PROT_READ, MAP_SHARED, wo, 0), EACCES, "mmap an O_WRONLY fd");
    close(wo);
    close(t);
    return cf_done();
}
