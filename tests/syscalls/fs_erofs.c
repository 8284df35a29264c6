/* Conformance: writes into the read-only /usr give EROFS (create, open for writing, unlink,
 * rename, mkdir, rmdir, link, symlink, chmod, chown, truncate, utimensat, mknod) while reads work;
 * EEXIST/ENOENT still win where Linux checks them first. Part of tests/syscalls. Natively the
 * program makes /usr read-only in a private mount namespace first (see cf_readonly_usr). The
 * target is a data file, not a program: Linux checks ETXTBSY before EROFS, so a file some other
 * process happens to be executing (say /usr/bin/env) would make the native run fail. */
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

    CHECK_ERR(open("/usr/lib/os-release", O_WRONLY), EROFS, "open /usr/lib/os-release O_WRONLY");
    CHECK_ERR(open("/usr/lib/os-release", O_RDWR), EROFS, "open /usr/lib/os-release O_RDWR");
    CHECK_ERR(open("/usr/lib/os-release", O_RDONLY | O_TRUNC), EROFS,
              "open /usr/lib/os-release O_TRUNC");
    CHECK_ERR(open("/usr/conform-new-file", O_WRONLY | O_CREAT, 0644), EROFS, "create in /usr");
    CHECK_ERR(open("/usr/bin/conform-new", O_RDONLY | O_CREAT, 0644), EROFS,
              "O_CREAT of a missing file even for reading");
    int fd = open("/usr/lib/os-release", O_RDONLY);
    CHECK(fd >= 0, "open /usr/lib/os-release O_RDONLY works");
    char head[5];
    CHECK(read(fd, head, 5) == 5 && memcmp(head, "PRETT", 5) == 0 /* PRETTY_NAME= */,
          "and reads its first line");
    CHECK_ERR(fchmod(fd, 0777), EROFS, "fchmod on a read-only fd of /usr");
    CHECK_ERR(ftruncate(fd, 0), EINVAL, "ftruncate on an O_RDONLY fd (EINVAL before EROFS)");
    close(fd);

    CHECK_ERR(unlink("/usr/lib/os-release"), EROFS, "unlink /usr/lib/os-release");
    CHECK_ERR(rename("/usr/lib/os-release", "/usr/lib/os-release2"), EROFS, "rename within /usr");
    CHECK_ERR(mkdir("/usr/conform-dir", 0755), EROFS, "mkdir in /usr");
    CHECK_ERR(mkdir("/usr/bin", 0755), EEXIST, "mkdir of an existing /usr/bin (EEXIST first)");
    CHECK_ERR(rmdir("/usr/bin"), EROFS, "rmdir /usr/bin");
    CHECK_ERR(link("/usr/lib/os-release", "/usr/lib/os-release-link"), EROFS, "link in /usr");
    CHECK_ERR(symlink("x", "/usr/conform-link"), EROFS, "symlink in /usr");
    CHECK_ERR(chmod("/usr/lib/os-release", 0777), EROFS, "chmod /usr/lib/os-release");
    CHECK_ERR(chown("/usr/lib/os-release", 0, 0), EROFS, "chown /usr/lib/os-release");
    CHECK_ERR(truncate("/usr/lib/os-release", 0), EROFS, "truncate /usr/lib/os-release");
    CHECK_ERR(utimensat(AT_FDCWD, "/usr/lib/os-release", NULL, 0), EROFS,
              "utimensat /usr/lib/os-release");
    CHECK_ERR(mknod("/usr/conform-fifo", S_IFIFO | 0600, 0), EROFS, "mkfifo in /usr");
    CHECK_ERR(access("/usr/lib/os-release", W_OK), EROFS, "access W_OK");
    CHECK_ERR(unlink("/usr/conform-missing"), EROFS,
              "unlink of a missing file in /usr (EROFS first)");
    CHECK_ERR(rename("/usr/lib/os-release", cf_tmp("moved")), EXDEV,
              "rename from /usr to /tmp: EXDEV");

    /* Copy out of /usr into /tmp works and gives a writable copy. */
    char buf[4096];
    int in = open("/usr/lib/os-release", O_RDONLY);
    int out = open(cf_tmp("env-copy"), O_WRONLY | O_CREAT, 0755);
    ssize_t n, total = 0;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        total += write(out, buf, (size_t)n);
    close(in);
    close(out);
    struct stat st;
    stat("/usr/lib/os-release", &st);
    CHECK_EQ(total, st.st_size, "copied /usr/lib/os-release to /tmp");
    CHECK_SYS(chmod(cf_tmp("env-copy"), 0700), "the copy is writable");
    return cf_done();
}
