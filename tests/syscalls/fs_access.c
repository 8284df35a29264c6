/* Conformance: access/faccessat/faccessat2 — F_OK, R/W/X for root, EROFS for W_OK on the
 * read-only /usr, AT_EACCESS, AT_SYMLINK_NOFOLLOW, errors. Part of tests/syscalls. */
#include "conform.h"

static long faccessat2(int dfd, const char *p, int mode, int flags)
{
    return syscall(SYS_faccessat2, dfd, p, mode, flags);
}

int main(int argc, char **argv)
{
    cf_readonly_usr();
    cf_init(argc, argv);
    const char *f = cf_tmp("f");
    cf_write_file(f, "x", 1, 0644);
    CHECK_SYS(access(f, F_OK), "F_OK on an existing file");
    CHECK_SYS(access(f, R_OK | W_OK), "R_OK|W_OK on our file");
    if (geteuid() == 0) {
        chmod(f, 0);
        CHECK_SYS(access(f, R_OK | W_OK), "root: R_OK|W_OK even with mode 0");
        CHECK_ERR(access(f, X_OK), EACCES, "root: X_OK needs some execute bit");
        chmod(f, 0100);
        CHECK_SYS(access(f, X_OK), "root: X_OK with one execute bit");
    } else {
        chmod(f, 0);
        CHECK_ERR(access(f, R_OK), EACCES, "R_OK on a mode-0 file");
    }
    CHECK_SYS(access("/usr/bin/env", X_OK), "X_OK on /usr/bin/env");
    CHECK_SYS(access("/usr/bin/env", R_OK), "R_OK on /usr/bin/env");
    CHECK_ERR(access("/usr/bin/env", W_OK), EROFS, "W_OK on /usr/bin/env (read-only mount)");
    CHECK_ERR(access("/usr", W_OK), EROFS, "W_OK on /usr itself");
    CHECK_SYS(access("/usr", R_OK | X_OK), "R_OK|X_OK on /usr");
    CHECK_ERR(access(cf_tmp("missing"), F_OK), ENOENT, "F_OK on a missing file");
    CHECK_ERR(access(cf_tmp("f/x"), F_OK), ENOTDIR, "through a file");
    CHECK_ERR(access(f, 0x10), EINVAL, "unknown mode bit");

    int dfd = open(cf_tmpdir(), O_RDONLY | O_DIRECTORY);
    CHECK_SYS(faccessat(dfd, "f", F_OK, 0), "faccessat relative");
    CHECK_SYS(faccessat(AT_FDCWD, f, F_OK, AT_EACCESS), "faccessat AT_EACCESS");
    symlink("missing-target", cf_tmp("dangling"));
    CHECK_ERR(faccessat2(dfd, "dangling", F_OK, 0), ENOENT, "faccessat2 follows a dangling link");
    CHECK_SYS(faccessat2(dfd, "dangling", F_OK, AT_SYMLINK_NOFOLLOW),
              "faccessat2 AT_SYMLINK_NOFOLLOW sees the link");
    int ffd = open("/usr/bin/env", O_PATH);
    CHECK_SYS(faccessat2(ffd, "", X_OK, AT_EMPTY_PATH), "faccessat2 AT_EMPTY_PATH");
    CHECK_ERR(faccessat2(ffd, "", W_OK, AT_EMPTY_PATH), EROFS, "faccessat2 W_OK on /usr file fd");
    CHECK_ERR(faccessat2(dfd, "f", F_OK, 0x1), EINVAL, "faccessat2 unknown flag");
    CHECK_ERR(faccessat2(999, "f", F_OK, 0), EBADF, "faccessat2 closed dirfd");
    close(ffd);
    close(dfd);
    return cf_done();
}
