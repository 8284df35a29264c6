/* Conformance: statx — mask, type, mode, size, nlink, uid; AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW,
 * errors. Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    const char *f = cf_tmp("f");
    cf_write_file(f, "abcdefg", 7, 0604);
    struct statx sx;
    memset(&sx, 0, sizeof(sx));
    CHECK_SYS(statx(AT_FDCWD, f, 0, STATX_BASIC_STATS, &sx), "statx a file");
    unsigned need = STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_UID | STATX_GID | STATX_SIZE;
    CHECK_EQ(sx.stx_mask & need, need, "mask has type, mode, nlink, uid, gid, size");
    CHECK(S_ISREG(sx.stx_mode), "regular file");
    CHECK_EQ(sx.stx_mode & 07777, 0604, "mode 0604");
    CHECK_EQ(sx.stx_size, 7, "size 7");
    CHECK_EQ(sx.stx_nlink, 1, "nlink 1");
    CHECK(sx.stx_uid == geteuid(), "uid is ours");
    struct stat st;
    stat(f, &st);
    CHECK(sx.stx_ino == st.st_ino, "stx_ino equals st_ino");
    CHECK(sx.stx_mtime.tv_sec == st.st_mtim.tv_sec && sx.stx_mtime.tv_nsec == st.st_mtim.tv_nsec,
          "stx_mtime equals st_mtim");

    symlink("f", cf_tmp("l"));
    CHECK_SYS(statx(AT_FDCWD, cf_tmp("l"), AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_SIZE, &sx),
              "statx AT_SYMLINK_NOFOLLOW");
    CHECK(S_ISLNK(sx.stx_mode) && sx.stx_size == 1, "symlink itself, size 1");
    CHECK_SYS(statx(AT_FDCWD, cf_tmp("l"), 0, STATX_TYPE, &sx), "statx follows");
    CHECK(S_ISREG(sx.stx_mode), "followed to the file");
    int fd = open(f, O_RDONLY);
    CHECK_SYS(statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &sx), "statx AT_EMPTY_PATH");
    CHECK_EQ(sx.stx_size, 7, "size via the fd");
    close(fd);
    int dfd = open(cf_tmpdir(), O_RDONLY | O_DIRECTORY);
    CHECK_SYS(statx(dfd, "f", 0, STATX_SIZE, &sx), "statx relative to a dirfd");
    CHECK_SYS(statx(dfd, "", AT_EMPTY_PATH, STATX_TYPE, &sx), "statx the dirfd itself");
    CHECK(S_ISDIR(sx.stx_mode), "it is a directory");
    close(dfd);
    CHECK_SYS(statx(AT_FDCWD, "/dev/null", 0, STATX_TYPE, &sx), "statx /dev/null");
    CHECK(S_ISCHR(sx.stx_mode) && sx.stx_rdev_major == 1 && sx.stx_rdev_minor == 3,
          "/dev/null char device 1:3");
    CHECK_SYS(statx(AT_FDCWD, f, AT_STATX_SYNC_AS_STAT, 0, &sx), "statx with an empty mask");

    CHECK_ERR(statx(AT_FDCWD, cf_tmp("missing"), 0, STATX_BASIC_STATS, &sx), ENOENT,
              "statx a missing file");
    CHECK_ERR(statx(AT_FDCWD, f, 0x80000000, STATX_BASIC_STATS, &sx), EINVAL,
              "statx with an unknown flag");
    CHECK_ERR(statx(AT_FDCWD, f, 0, 0x80000000u, &sx), EINVAL, "statx with a reserved mask bit");
    CHECK_ERR(statx(AT_FDCWD, f, AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC, STATX_SIZE, &sx), EINVAL,
              "statx FORCE_SYNC|DONT_SYNC");
    CHECK_ERR(statx(999, "", AT_EMPTY_PATH, STATX_SIZE, &sx), EBADF, "statx a closed fd");
    CHECK_ERR(syscall(SYS_statx, AT_FDCWD, f, 0, STATX_SIZE, 8L), EFAULT, "statx to a bad buffer");
    return cf_done();
}
