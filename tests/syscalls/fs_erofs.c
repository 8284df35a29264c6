/* Conformance: writes into the read-only /usr give EROFS (create, open for writing, unlink,
 * rename, mkdir, rmdir, link, symlink, chmod, chown, truncate, utimensat, mknod) while reads work;
 * EEXIST/ENOENT still win where Linux checks them first. Part of tests/syscalls. Natively the
 * program makes /usr read-only in a private mount namespace first (see cf_readonly_usr). */
#include "conform.h"

int main(int argc, char **argv)
{
    cf_readonly_usr();
    cf_init(argc, argv);
    struct statvfs sv;
    CHECK_SYS(statvfs("/usr", &sv), "statvfs /usr");
    CHECK(sv.f_flag & ST_RDONLY, "/usr is mounted read-only");
    CHECK_SYS(statvfs(cf_tmpdir(), &sv), "statvfs the temp dir");
    CHECK(!(sv.f_flag & ST_RDONLY), "/tmp is writable");

    CHECK_ERR(open("/usr/bin/env", O_WRONLY), EROFS, "open /usr/bin/env O_WRONLY");
    CHECK_ERR(open("/usr/bin/env", O_RDWR), EROFS, "open /usr/bin/env O_RDWR");
    CHECK_ERR(open("/usr/bin/env", O_RDONLY | O_TRUNC), EROFS, "open /usr/bin/env O_TRUNC");
    CHECK_ERR(open("/usr/conform-new-file", O_WRONLY | O_CREAT, 0644), EROFS, "create in /usr");
    CHECK_ERR(open("/usr/bin/conform-new", O_RDONLY | O_CREAT, 0644), EROFS,
              "O_CREAT of a missing file even for reading");
    int fd = open("/usr/bin/env", O_RDONLY);
    CHECK(fd >= 0, "open /usr/bin/env O_RDONLY works");
    char magic[4];
    CHECK(read(fd, magic, 4) == 4 && memcmp(magic, "\177ELF", 4) == 0, "and reads the ELF header");
    CHECK_ERR(fchmod(fd, 0777), EROFS, "fchmod on a read-only fd of /usr");
    CHECK_ERR(ftruncate(fd, 0), EINVAL, "ftruncate on an O_RDONLY fd (EINVAL before EROFS)");
    close(fd);

    CHECK_ERR(unlink("/usr/bin/env"), EROFS, "unlink /usr/bin/env");
    CHECK_ERR(rename("/usr/bin/env", "/usr/bin/env2"), EROFS, "rename within /usr");
    CHECK_ERR(mkdir("/usr/conform-dir", 0755), EROFS, "mkdir in /usr");
    CHECK_ERR(mkdir("/usr/bin", 0755), EEXIST, "mkdir of an existing /usr/bin (EEXIST first)");
    CHECK_ERR(rmdir("/usr/bin"), EROFS, "rmdir /usr/bin");
    CHECK_ERR(link("/usr/bin/env", "/usr/bin/env-link"), EROFS, "link in /usr");
    CHECK_ERR(symlink("x", "/usr/conform-link"), EROFS, "symlink in /usr");
    CHECK_ERR(chmod("/usr/bin/env", 0777), EROFS, "chmod /usr/bin/env");
    CHECK_ERR(chown("/usr/bin/env", 0, 0), EROFS, "chown /usr/bin/env");
    CHECK_ERR(truncate("/usr/bin/env", 0), EROFS, "truncate /usr/bin/env");
    CHECK_ERR(utimensat(AT_FDCWD, "/usr/bin/env", NULL, 0), EROFS, "utimensat /usr/bin/env");
    CHECK_ERR(mknod("/usr/conform-fifo", S_IFIFO | 0600, 0), EROFS, "mkfifo in /usr");
    CHECK_ERR(access("/usr/bin/env", W_OK), EROFS, "access W_OK");
    CHECK_ERR(unlink("/usr/conform-missing"), EROFS,
              "unlink of a missing file in /usr (EROFS first)");
    CHECK_ERR(rename("/usr/bin/env", cf_tmp("moved")), EXDEV, "rename from /usr to /tmp: EXDEV");

    /* Copy out of /usr into /tmp works and gives a writable copy. */
    char buf[4096];
    int in = open("/usr/bin/env", O_RDONLY);
    int out = open(cf_tmp("env-copy"), O_WRONLY | O_CREAT, 0755);
    ssize_t n, total = 0;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        total += write(out, buf, (size_t)n);
    close(in);
    close(out);
    struct stat st;
    stat("/usr/bin/env", &st);
    CHECK_EQ(total, st.st_size, "copied /usr/bin/env to /tmp");
    CHECK_SYS(chmod(cf_tmp("env-copy"), 0700), "the copy is writable");
    return cf_done();
}
