/* Conformance: stat/lstat/fstat/newfstatat — types, sizes, modes, nlink, AT_SYMLINK_NOFOLLOW,
 * AT_EMPTY_PATH, device numbers of /dev/null, errors. Part of tests/syscalls (native == fnbox). */
#include "conform.h"
#include <sys/sysmacros.h>

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    const char *f = cf_tmp("f");
    cf_write_file(f, "12345", 5, 0640);
    struct stat st, st2;
    CHECK_SYS(stat(f, &st), "stat a file");
    CHECK(S_ISREG(st.st_mode), "regular file");
    CHECK_EQ(st.st_mode & 07777, 0640, "mode 0640");
    CHECK_EQ(st.st_size, 5, "size 5");
    CHECK_EQ(st.st_nlink, 1, "nlink 1");
    CHECK(st.st_uid == geteuid() && st.st_gid == getegid(), "owned by us");
    CHECK(st.st_blksize > 0, "blksize > 0");
    int fd = open(f, O_RDONLY);
    CHECK_SYS(fstat(fd, &st2), "fstat");
    CHECK(st.st_ino == st2.st_ino && st.st_dev == st2.st_dev, "fstat and stat agree on identity");
    CHECK_SYS(fstatat(fd, "", &st2, AT_EMPTY_PATH), "newfstatat AT_EMPTY_PATH");
    CHECK(st2.st_ino == st.st_ino, "AT_EMPTY_PATH stats the fd itself");
    CHECK_ERR(fstatat(fd, "", &st2, 0), ENOENT, "empty path without AT_EMPTY_PATH");
    close(fd);

    const char *l = cf_tmp("l");
    symlink("f", l);
    CHECK_SYS(lstat(l, &st2), "lstat a symlink");
    CHECK(S_ISLNK(st2.st_mode), "lstat says symlink");
    CHECK_EQ(st2.st_size, 1, "symlink size is the target length");
    CHECK_SYS(stat(l, &st2), "stat through the symlink");
    CHECK(S_ISREG(st2.st_mode) && st2.st_ino == st.st_ino, "stat follows to the file");
    int dfd = open(cf_tmpdir(), O_RDONLY | O_DIRECTORY);
    CHECK_SYS(fstatat(dfd, "l", &st2, AT_SYMLINK_NOFOLLOW), "fstatat AT_SYMLINK_NOFOLLOW");
    CHECK(S_ISLNK(st2.st_mode), "AT_SYMLINK_NOFOLLOW sees the symlink");
    CHECK_SYS(fstatat(dfd, "l", &st2, 0), "fstatat follows by default");
    CHECK(S_ISREG(st2.st_mode), "followed to a regular file");
    CHECK_ERR(fstatat(dfd, "l", &st2, 0x4000000), EINVAL, "fstatat with an unknown flag");

    mkdir(cf_tmp("d"), 0755);
    mkdir(cf_tmp("d/sub"), 0755);
    CHECK_SYS(stat(cf_tmp("d"), &st2), "stat a directory");
    CHECK(S_ISDIR(st2.st_mode), "directory");
    CHECK_EQ(st2.st_nlink, 3, "directory with one subdirectory has nlink 3");
    mkfifo(cf_tmp("p"), 0600);
    stat(cf_tmp("p"), &st2);
    CHECK(S_ISFIFO(st2.st_mode), "fifo");

    CHECK_SYS(stat("/dev/null", &st2), "stat /dev/null");
    CHECK(S_ISCHR(st2.st_mode), "/dev/null is a character device");
    CHECK(major(st2.st_rdev) == 1 && minor(st2.st_rdev) == 3, "/dev/null is 1:3");
    stat("/dev/zero", &st2);
    CHECK(major(st2.st_rdev) == 1 && minor(st2.st_rdev) == 5, "/dev/zero is 1:5");
    stat("/dev/urandom", &st2);
    CHECK(major(st2.st_rdev) == 1 && minor(st2.st_rdev) == 9, "/dev/urandom is 1:9");
    CHECK_SYS(stat("/usr/bin/env", &st2), "stat /usr/bin/env");
    CHECK(S_ISREG(st2.st_mode) && (st2.st_mode & 0111), "/usr/bin/env is an executable file");
    CHECK_SYS(lstat("/bin", &st2), "lstat /bin");
    CHECK_SYS(stat("/", &st2), "stat /");
    CHECK(S_ISDIR(st2.st_mode), "/ is a directory");
    CHECK_SYS(stat("/etc/passwd", &st2), "stat /etc/passwd");
    CHECK(S_ISREG(st2.st_mode) && st2.st_size > 0, "/etc/passwd is a non-empty file");

    CHECK_ERR(stat(cf_tmp("missing"), &st2), ENOENT, "stat a missing file");
    CHECK_ERR(stat(cf_tmp("f/x"), &st2), ENOTDIR, "stat through a file");
    CHECK_ERR(stat("", &st2), ENOENT, "stat an empty path");
    CHECK_ERR(fstat(999, &st2), EBADF, "fstat a closed fd");
    CHECK_ERR(syscall(SYS_stat, f, 8L), EFAULT, "stat into a bad buffer");
    CHECK_ERR(syscall(SYS_stat, 8L, &st2), EFAULT, "stat with a bad path");

    /* Size follows writes and truncation. */
    fd = open(f, O_WRONLY | O_APPEND);
    write(fd, "678", 3);
    fstat(fd, &st2);
    CHECK_EQ(st2.st_size, 8, "size grows with appends");
    ftruncate(fd, 2);
    fstat(fd, &st2);
    CHECK_EQ(st2.st_size, 2, "size follows ftruncate");
    close(fd);
    close(dfd);
    return cf_done();
}
