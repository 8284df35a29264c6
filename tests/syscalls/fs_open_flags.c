/* Conformance: open/openat flags — O_CREAT|O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY, O_NOFOLLOW,
 * O_CLOEXEC, O_PATH, dirfd-relative opens and their errors. Part of tests/syscalls (native ==
 * fnbox). */
#include "conform.h"

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    const char *f = cf_tmp("file");
    int fd = open(f, O_CREAT | O_EXCL | O_WRONLY, 0644);
    CHECK(fd >= 0, "O_CREAT|O_EXCL creates a new file");
    CHECK_EQ(write(fd, "hello world", 11), 11, "write 11 bytes");
    close(fd);
    CHECK_ERR(open(f, O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST,
              "O_CREAT|O_EXCL on an existing file");
    fd = open(f, O_CREAT | O_WRONLY, 0600);
    CHECK(fd >= 0, "O_CREAT without O_EXCL opens the existing file");
    struct stat st;
    fstat(fd, &st);
    CHECK_EQ(st.st_mode & 0777, 0644, "existing file keeps its mode");
    CHECK_EQ(st.st_size, 11, "and its contents");
    close(fd);

    fd = open(f, O_WRONLY | O_APPEND);
    lseek(fd, 0, SEEK_SET);
    CHECK_EQ(write(fd, "!", 1), 1, "O_APPEND write");
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 12, "offset is at the end after an O_APPEND write");
    close(fd);
    char buf[32] = {0};
    cf_read_file(f, buf, sizeof(buf));
    CHECK_STR(buf, "hello world!", "O_APPEND appended despite lseek(0)");

    fd = open(f, O_RDWR | O_TRUNC);
    fstat(fd, &st);
    CHECK_EQ(st.st_size, 0, "O_TRUNC empties the file");
    close(fd);

    fd = open(f, O_RDONLY | O_CLOEXEC);
    CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC, "O_CLOEXEC visible through F_GETFD");
    CHECK_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY, "F_GETFL access mode O_RDONLY");
    CHECK_ERR(write(fd, "x", 1), EBADF, "write to an O_RDONLY fd");
    close(fd);
    fd = open(f, O_WRONLY);
    CHECK_EQ(fcntl(fd, F_GETFD), 0, "no FD_CLOEXEC without O_CLOEXEC");
    CHECK_ERR(read(fd, buf, 1), EBADF, "read from an O_WRONLY fd");
    close(fd);

    CHECK_ERR(open(f, O_RDONLY | O_DIRECTORY), ENOTDIR, "O_DIRECTORY on a file");
    CHECK_ERR(open(cf_tmpdir(), O_WRONLY), EISDIR, "open a directory O_WRONLY");
    CHECK_ERR(open(cf_tmpdir(), O_RDWR), EISDIR, "open a directory O_RDWR");
    fd = open(cf_tmpdir(), O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0, "O_DIRECTORY on a directory");
    CHECK_ERR(read(fd, buf, 1), EISDIR, "read from a directory fd");
    close(fd);
    CHECK_ERR(open(cf_tmp("missing"), O_RDONLY), ENOENT, "open a missing file");
    CHECK_ERR(open(cf_tmp("missing/x"), O_RDONLY | O_CREAT, 0600), ENOENT,
              "O_CREAT under a missing directory");
    char path[600];
    snprintf(path, sizeof(path), "%s/x", f);
    CHECK_ERR(open(path, O_RDONLY), ENOTDIR, "open through a file as a directory");
    CHECK_ERR(open("", O_RDONLY), ENOENT, "open an empty path");
    char longname[300];
    memset(longname, 'a', 299);
    longname[299] = 0;
    CHECK_ERR(open(cf_tmp(longname), O_RDONLY | O_CREAT, 0600), ENAMETOOLONG,
              "a 299-byte name component");
    CHECK_ERR(open(f, O_RDONLY | O_CREAT | O_DIRECTORY, 0600), EINVAL, "O_CREAT|O_DIRECTORY");
    CHECK_ERR(syscall(SYS_open, 8L, O_RDONLY), EFAULT, "open with a bad path pointer");

    const char *ln = cf_tmp("link");
    symlink("file", ln);
    CHECK_ERR(open(ln, O_RDONLY | O_NOFOLLOW), ELOOP, "O_NOFOLLOW on a symlink");
    fd = open(ln, O_RDONLY);
    CHECK(fd >= 0, "open follows the symlink");
    close(fd);
    fd = open(ln, O_PATH | O_NOFOLLOW);
    CHECK(fd >= 0, "O_PATH|O_NOFOLLOW opens the symlink itself");
    CHECK_ERR(read(fd, buf, 1), EBADF, "read from an O_PATH fd");
    fstat(fd, &st);
    CHECK(S_ISLNK(st.st_mode), "fstat of the O_PATH fd says symlink");
    close(fd);
    const char *loop = cf_tmp("loop");
    symlink("loop", loop);
    CHECK_ERR(open(loop, O_RDONLY), ELOOP, "symlink loop");
    const char *dangling = cf_tmp("dangling");
    symlink("nowhere", dangling);
    CHECK_ERR(open(dangling, O_RDONLY), ENOENT, "dangling symlink");
    fd = open(dangling, O_WRONLY | O_CREAT, 0600);
    CHECK(fd >= 0, "O_CREAT through a dangling symlink creates the target");
    close(fd);
    CHECK_SYS(access(cf_tmp("nowhere"), F_OK), "target now exists");
    CHECK_ERR(open(dangling, O_WRONLY | O_CREAT | O_EXCL, 0600), EEXIST,
              "O_CREAT|O_EXCL on a symlink");

    int dfd = open(cf_tmpdir(), O_RDONLY | O_DIRECTORY);
    fd = openat(dfd, "file", O_RDONLY);
    CHECK(fd >= 0, "openat relative to a dirfd");
    close(fd);
    fd = openat(dfd, "/etc/passwd", O_RDONLY);
    CHECK(fd >= 0, "openat with an absolute path ignores the dirfd");
    close(fd);
    int ffd = open(f, O_RDONLY);
    CHECK_ERR(openat(ffd, "x", O_RDONLY), ENOTDIR, "openat with a file as the dirfd");
    CHECK_ERR(openat(999, "x", O_RDONLY), EBADF, "openat with a closed dirfd");
    CHECK_ERR(openat(-5, "x", O_RDONLY), EBADF, "openat with dirfd -5");
    close(ffd);
    close(dfd);
    return cf_done();
}
