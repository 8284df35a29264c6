/* Conformance: directory operations in /tmp — mkdir/rmdir (EEXIST, ENOTEMPTY, ENOTDIR, EINVAL),
 * rename of directories (over empty/non-empty targets, into itself), unlink of a directory, nlink.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

static nlink_t nlink(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? st.st_nlink : 0;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    CHECK_SYS(chdir(cf_tmpdir()), "chdir to the temp dir");
    CHECK_SYS(mkdir("a", 0755), "mkdir a");
    CHECK_ERR(mkdir("a", 0755), EEXIST, "mkdir a again");
    CHECK_SYS(mkdir("a/b", 0700), "mkdir a/b");
    CHECK_EQ(nlink("a"), 3, "a has nlink 3");
    CHECK_EQ(nlink("a/b"), 2, "a/b has nlink 2");
    CHECK_ERR(mkdir("missing/x", 0755), ENOENT, "mkdir under a missing parent");
    cf_write_file("file", "", 0, 0644);
    CHECK_ERR(mkdir("file/x", 0755), ENOTDIR, "mkdir under a file");
    CHECK_ERR(mkdir("file", 0755), EEXIST, "mkdir over a file");
    CHECK_SYS(mkdir("trailing/", 0755), "mkdir with a trailing slash");
    CHECK_ERR(rmdir("a"), ENOTEMPTY, "rmdir a non-empty directory");
    CHECK_ERR(rmdir("file"), ENOTDIR, "rmdir a file");
    CHECK_ERR(rmdir("missing"), ENOENT, "rmdir a missing directory");
    CHECK_ERR(rmdir("a/b/."), EINVAL, "rmdir of a path ending in .");
    CHECK_ERR(unlink("a"), EISDIR, "unlink a directory");
    CHECK_ERR(unlinkat(AT_FDCWD, "file", AT_REMOVEDIR), ENOTDIR, "unlinkat AT_REMOVEDIR on a file");

    CHECK_SYS(rename("a/b", "c"), "rename a/b to c");
    CHECK_EQ(nlink("a"), 2, "a lost a subdirectory link");
    CHECK_SYS(mkdir("empty", 0755), "mkdir empty");
    CHECK_SYS(rename("c", "empty"), "rename a directory over an empty directory");
    CHECK_ERR(access("c", F_OK), ENOENT, "old name is gone");
    CHECK_SYS(mkdir("full", 0755), "mkdir full");
    CHECK_SYS(mkdir("full/x", 0755), "mkdir full/x");
    CHECK_ERR(rename("empty", "full"), ENOTEMPTY, "rename over a non-empty directory");
    CHECK_ERR(rename("full", "full/x/y"), EINVAL, "rename a directory into itself");
    CHECK_ERR(rename("full", "file"), ENOTDIR, "rename a directory over a file");
    CHECK_ERR(rename("file", "full"), EISDIR, "rename a file over a directory");
    CHECK_SYS(rename("full", "full"), "rename onto itself is a no-op");
    CHECK_SYS(rmdir("full/x"), "rmdir full/x");
    CHECK_SYS(rmdir("full"), "rmdir full");
    CHECK_ERR(access("full", F_OK), ENOENT, "full is gone");

    int dfd = open("a", O_RDONLY | O_DIRECTORY);
    CHECK_SYS(mkdirat(dfd, "m", 0755), "mkdirat relative to a dirfd");
    CHECK_SYS(unlinkat(dfd, "m", AT_REMOVEDIR), "unlinkat AT_REMOVEDIR");
    CHECK_ERR(unlinkat(dfd, "m", 0x1), EINVAL, "unlinkat with an unknown flag");
    close(dfd);
    /* Deep nesting. */
    char path[512] = "deep";
    bool ok = mkdir(path, 0755) == 0;
    for (int i = 0; i < 20; i++) {
        strcat(path, "/d");
        ok &= mkdir(path, 0755) == 0;
    }
    CHECK(ok, "20 levels of nested directories");
    CHECK_SYS(chdir(path), "chdir into the deepest one");
    CHECK_SYS(chdir(cf_tmpdir()), "and back");
    return cf_done();
}
