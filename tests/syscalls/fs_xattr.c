/* Conformance: extended attribute calls on a file that has none, and their argument errors.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

#include <sys/xattr.h>

int main(int argc, char **argv)
{
    char buf[64], longname[300];
    int fd;

    cf_init(argc, argv);
    fd = open(cf_tmp("f"), O_CREAT | O_RDWR, 0644);
    CHECK(fd >= 0, "create a file");
    CHECK_ERR(getxattr(cf_tmp("f"), "user.fnbox.none", buf, sizeof(buf)), ENODATA,
              "getxattr of an attribute the file does not have");
    CHECK_ERR(lgetxattr(cf_tmp("f"), "user.fnbox.none", buf, sizeof(buf)), ENODATA,
              "lgetxattr likewise");
    CHECK_ERR(fgetxattr(fd, "user.fnbox.none", buf, sizeof(buf)), ENODATA, "fgetxattr likewise");
    CHECK_ERR(getxattr(cf_tmp("missing"), "user.x", buf, sizeof(buf)), ENOENT,
              "getxattr on a missing path");
    CHECK_ERR(fgetxattr(-1, "user.x", buf, sizeof(buf)), EBADF, "fgetxattr on a bad fd");
    memset(longname, 'a', sizeof(longname) - 1);
    memcpy(longname, "user.", 5);
    longname[sizeof(longname) - 1] = 0;
    CHECK_ERR(getxattr(cf_tmp("f"), longname, buf, sizeof(buf)), ERANGE,
              "an attribute name over 255 bytes");
    CHECK_ERR(getxattr(cf_tmp("f"), "", buf, sizeof(buf)), ERANGE, "an empty attribute name");
    CHECK_ERR(removexattr(cf_tmp("f"), "user.fnbox.none"), ENODATA,
              "removexattr of an attribute the file does not have");
    CHECK_ERR(listxattr(cf_tmp("missing"), buf, sizeof(buf)), ENOENT, "listxattr on a missing path");
    CHECK_ERR(setxattr(cf_tmp("f"), "user.x", "v", 1, 0x100), EINVAL, "setxattr with bad flags");
    close(fd);
    return cf_done();
}
