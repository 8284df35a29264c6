/* Conformance: readlink/readlinkat — targets of symlinks in /tmp, truncation without NUL,
 * EINVAL on non-links, /proc/self/exe naming this program, AT_EMPTY_PATH. Part of tests/syscalls.
 */
#include "conform.h"

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    const char *l = cf_tmp("l");
    CHECK_SYS(symlink("some/relative/target", l), "symlink");
    char buf[256];
    memset(buf, 'X', sizeof(buf));
    ssize_t n = readlink(l, buf, sizeof(buf));
    CHECK_EQ(n, 20, "readlink returns the target length");
    CHECK_EQ(buf[20], 'X', "no NUL terminator is written");
    buf[n > 0 ? n : 0] = 0;
    CHECK_STR(buf, "some/relative/target", "target");
    memset(buf, 0, sizeof(buf));
    CHECK_EQ(readlink(l, buf, 4), 4, "readlink into 4 bytes truncates");
    CHECK_STR(buf, "some", "truncated target");
    int dfd = open(cf_tmpdir(), O_RDONLY | O_DIRECTORY);
    memset(buf, 0, sizeof(buf));
    CHECK_EQ(readlinkat(dfd, "l", buf, sizeof(buf)), 20, "readlinkat relative");
    int pfd = open(l, O_PATH | O_NOFOLLOW);
    memset(buf, 0, sizeof(buf));
    CHECK_EQ(readlinkat(pfd, "", buf, sizeof(buf)), 20,
             "readlinkat on an O_PATH link fd, empty path");
    close(pfd);
    const char *abs = cf_tmp("abs");
    symlink("/etc/passwd", abs);
    memset(buf, 0, sizeof(buf));
    readlink(abs, buf, sizeof(buf));
    CHECK_STR(buf, "/etc/passwd", "absolute target");

    cf_write_file(cf_tmp("f"), "", 0, 0644);
    CHECK_ERR(readlink(cf_tmp("f"), buf, sizeof(buf)), EINVAL, "readlink of a regular file");
    CHECK_ERR(readlink(cf_tmpdir(), buf, sizeof(buf)), EINVAL, "readlink of a directory");
    CHECK_ERR(readlink(cf_tmp("missing"), buf, sizeof(buf)), ENOENT, "readlink of a missing path");
    CHECK_ERR(readlink(l, buf, 0), EINVAL, "readlink with size 0");
    CHECK_ERR(readlinkat(999, "l", buf, sizeof(buf)), EBADF, "readlinkat with a closed dirfd");
    close(dfd);

    memset(buf, 0, sizeof(buf));
    n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    CHECK(n > 0 && buf[0] == '/', "/proc/self/exe is an absolute path");
    const char *base = strrchr(buf, '/');
    CHECK_STR(base ? base + 1 : buf, cf_name(), "/proc/self/exe ends in the program name");
    int efd = open("/proc/self/exe", O_RDONLY);
    char magic[4] = {0};
    CHECK(efd >= 0 && read(efd, magic, 4) == 4 && memcmp(magic, "\177ELF", 4) == 0,
          "/proc/self/exe opens the program (ELF)");
    close(efd);
    struct stat a, b;
    CHECK(stat("/proc/self/exe", &a) == 0 && stat(buf, &b) == 0 && a.st_ino == b.st_ino,
          "/proc/self/exe and its target are the same file");
    return cf_done();
}
