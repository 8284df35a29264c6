/* Conformance: file operations in /tmp — rename (replace, RENAME_NOREPLACE, RENAME_EXCHANGE),
 * link/unlink and nlink, symlink, truncate/ftruncate, chmod/fchmod, utimensat times, open-unlinked
 * files. Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

static off_t size_of(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? st.st_size : -1;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    chdir(cf_tmpdir());
    cf_write_file("a", "AAAA", 4, 0644);
    cf_write_file("b", "BB", 2, 0644);
    CHECK_SYS(rename("a", "b"), "rename a over b");
    CHECK_EQ(size_of("b"), 4, "b now has a's contents");
    CHECK_ERR(access("a", F_OK), ENOENT, "a is gone");
    cf_write_file("c", "C", 1, 0644);
    CHECK_ERR(renameat2(AT_FDCWD, "c", AT_FDCWD, "b", RENAME_NOREPLACE), EEXIST,
              "RENAME_NOREPLACE over an existing file");
    CHECK_SYS(renameat2(AT_FDCWD, "c", AT_FDCWD, "b", RENAME_EXCHANGE), "RENAME_EXCHANGE");
    CHECK(size_of("b") == 1 && size_of("c") == 4, "contents swapped");
    CHECK_ERR(renameat2(AT_FDCWD, "c", AT_FDCWD, "nothere", RENAME_EXCHANGE), ENOENT,
              "RENAME_EXCHANGE with a missing target");
    CHECK_ERR(renameat2(AT_FDCWD, "c", AT_FDCWD, "b", RENAME_EXCHANGE | RENAME_NOREPLACE), EINVAL,
              "RENAME_EXCHANGE|RENAME_NOREPLACE");
    CHECK_ERR(rename("missing", "x"), ENOENT, "rename a missing file");

    CHECK_SYS(link("b", "b2"), "link b b2");
    struct stat st, st2;
    stat("b", &st);
    stat("b2", &st2);
    CHECK_EQ(st.st_nlink, 2, "nlink 2 after link");
    CHECK(st.st_ino == st2.st_ino, "both names are the same inode");
    CHECK_ERR(link("b", "b2"), EEXIST, "link onto an existing name");
    CHECK_ERR(link(cf_tmpdir(), "dirlink"), EPERM, "hard link to a directory");
    CHECK_SYS(unlink("b"), "unlink b");
    stat("b2", &st2);
    CHECK_EQ(st2.st_nlink, 1, "nlink back to 1");
    CHECK_ERR(unlink("b"), ENOENT, "unlink again");
    CHECK_SYS(symlink("b2", "s"), "symlink s -> b2");
    CHECK_ERR(symlink("x", "s"), EEXIST, "symlink onto an existing name");
    CHECK_SYS(link("s", "s-hard"), "link to a symlink (links the symlink itself)");
    lstat("s-hard", &st);
    CHECK(S_ISLNK(st.st_mode), "the hard link is a symlink");
    CHECK_SYS(unlink("s"), "unlink a symlink");
    CHECK_EQ(size_of("b2"), 1, "the target survives");

    CHECK_SYS(truncate("c", 10), "truncate up to 10");
    char buf[16] = {1};
    cf_read_file("c", buf, sizeof(buf));
    CHECK(memcmp(buf, "AAAA\0\0\0\0\0\0", 10) == 0, "extension reads as zeros");
    int fd = open("c", O_RDWR);
    CHECK_SYS(ftruncate(fd, 2), "ftruncate down to 2");
    CHECK_EQ(size_of("c"), 2, "size 2");
    CHECK_ERR(ftruncate(fd, -1), EINVAL, "ftruncate to -1");
    int ro = open("c", O_RDONLY);
    CHECK_ERR(ftruncate(ro, 0), EINVAL, "ftruncate on an O_RDONLY fd");
    close(ro);
    CHECK_ERR(truncate(cf_tmpdir(), 0), EISDIR, "truncate a directory");

    CHECK_SYS(chmod("c", 0600), "chmod 0600");
    stat("c", &st);
    CHECK_EQ(st.st_mode & 07777, 0600, "mode 0600");
    CHECK_SYS(fchmod(fd, 0751), "fchmod 0751");
    fstat(fd, &st);
    CHECK_EQ(st.st_mode & 07777, 0751, "mode 0751");
    CHECK_SYS(fchmodat(AT_FDCWD, "c", 0640, 0), "fchmodat 0640");
    stat("c", &st);
    CHECK_EQ(st.st_mode & 07777, 0640, "mode 0640");

    struct timespec ts[2] = {{1000000000, 123456789}, {1100000000, 987654321}};
    CHECK_SYS(utimensat(AT_FDCWD, "c", ts, 0), "utimensat explicit times");
    stat("c", &st);
    CHECK(st.st_atim.tv_sec == 1000000000 && st.st_atim.tv_nsec == 123456789, "atime set");
    CHECK(st.st_mtim.tv_sec == 1100000000 && st.st_mtim.tv_nsec == 987654321, "mtime set");
    struct timespec omit[2] = {{0, UTIME_OMIT}, {1200000000, 0}};
    CHECK_SYS(utimensat(AT_FDCWD, "c", omit, 0), "utimensat UTIME_OMIT for atime");
    stat("c", &st);
    CHECK(st.st_atim.tv_sec == 1000000000 && st.st_mtim.tv_sec == 1200000000,
          "atime kept, mtime changed");
    struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
    CHECK_SYS(futimens(fd, now), "futimens UTIME_NOW");
    fstat(fd, &st);
    CHECK(st.st_mtim.tv_sec > 1600000000, "mtime is now");
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    CHECK_ERR(utimensat(AT_FDCWD, "c", bad, 0), EINVAL, "utimensat with tv_nsec 1e9");
    CHECK_ERR(utimensat(AT_FDCWD, "missing", ts, 0), ENOENT, "utimensat on a missing file");
    symlink("c", "s2");
    CHECK_SYS(utimensat(AT_FDCWD, "s2", ts, AT_SYMLINK_NOFOLLOW), "utimensat on a symlink itself");
    lstat("s2", &st);
    CHECK_EQ(st.st_mtim.tv_sec, 1100000000, "symlink's own mtime set");

    /* A write changes mtime and ctime. */
    utimensat(AT_FDCWD, "c", ts, 0);
    write(fd, "x", 1);
    fstat(fd, &st);
    CHECK(st.st_mtim.tv_sec > 1100000000, "write updates mtime");

    /* An unlinked open file stays usable. */
    CHECK_SYS(unlink("c"), "unlink an open file");
    fstat(fd, &st);
    CHECK_EQ(st.st_nlink, 0, "nlink 0 while open");
    CHECK_EQ(pwrite(fd, "zz", 2, 0), 2, "still writable");
    CHECK_EQ(pread(fd, buf, 2, 0), 2, "still readable");
    close(fd);
    return cf_done();
}
