/* Conformance: getcwd/chdir/fchdir — round trips, relative paths, ERANGE, ENOENT, ENOTDIR, EBADF,
 * getcwd of a removed directory. Part of tests/syscalls (runs natively and under fnbox). */
#include "conform.h"

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    const char *dir = cf_tmpdir();
    char buf[512], start[512];
    CHECK(getcwd(start, sizeof(start)) != NULL, "getcwd");
    CHECK(start[0] == '/', "cwd is absolute");
    CHECK_SYS(chdir(dir), "chdir to the temp dir");
    CHECK(getcwd(buf, sizeof(buf)) && strcmp(buf, dir) == 0, "getcwd returns the temp dir");
    CHECK_SYS(mkdir("sub", 0755), "mkdir relative");
    CHECK_SYS(chdir("sub"), "chdir relative");
    char want[600];
    snprintf(want, sizeof(want), "%s/sub", dir);
    CHECK_SAME(getcwd(buf, sizeof(buf)), want, "getcwd after relative chdir");
    CHECK_SYS(chdir(".."), "chdir ..");
    CHECK_SAME(getcwd(buf, sizeof(buf)), dir, "back in the temp dir");
    CHECK_SYS(chdir("sub/../sub/./"), "chdir through .. and .");
    CHECK_SAME(getcwd(buf, sizeof(buf)), want, "normalised cwd");

    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK_SYS(fchdir(dfd), "fchdir");
    CHECK_SAME(getcwd(buf, sizeof(buf)), dir, "getcwd after fchdir");
    int ffd = open("/etc/passwd", O_RDONLY);
    CHECK_ERR(fchdir(ffd), ENOTDIR, "fchdir to a file");
    CHECK_ERR(fchdir(999), EBADF, "fchdir to a closed fd");
    CHECK_ERR(chdir("/nonexistent-dir"), ENOENT, "chdir to a missing dir");
    CHECK_ERR(chdir("/etc/passwd"), ENOTDIR, "chdir to a file");
    CHECK_ERR(chdir("/etc/passwd/x"), ENOTDIR, "chdir through a file");
    CHECK_ERR(chdir(""), ENOENT, "chdir to an empty path");
    CHECK_ERR(getcwd(buf, 2) ? 0 : -1, ERANGE, "getcwd into a 2-byte buffer");
    CHECK_ERR(syscall(SYS_getcwd, buf, 0), ERANGE, "raw getcwd with size 0");
    long n = syscall(SYS_getcwd, buf, sizeof(buf));
    CHECK_EQ(n, (long)strlen(dir) + 1, "raw getcwd returns the length including NUL");

    /* A removed cwd. */
    CHECK_SYS(chdir("sub"), "chdir sub");
    CHECK_SYS(rmdir(want), "rmdir the cwd");
    CHECK_ERR(getcwd(buf, sizeof(buf)) ? 0 : -1, ENOENT, "getcwd of a removed directory");
    CHECK_ERR(open("newfile", O_CREAT | O_WRONLY, 0600), ENOENT, "create in a removed directory");
    CHECK_SYS(chdir("/"), "chdir /");
    CHECK_STR(getcwd(buf, sizeof(buf)), "/", "getcwd is /");
    CHECK_SYS(chdir(start), "chdir back to the start");
    close(dfd);
    close(ffd);
    return cf_done();
}
