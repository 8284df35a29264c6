/* Conformance: creating "." or ".." — mknod, mkfifo, link, symlink, mkdir onto "DIR/." and
 * "DIR/.." — fails with EEXIST, also in a directory of the read-only root (under fnbox a 9P tree
 * served by the Gofer, which must not see such names: it would close the channel), and every
 * file stays reachable afterwards. Part of tests/syscalls (runs natively and under fnbox). */
#include "conform.h"
#include <libgen.h>

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    char self[4096], dir[4096], p[4200];
    const char *dirs[2];

    snprintf(self, sizeof(self), "%s", argv[0]);
    snprintf(dir, sizeof(dir), "%s", dirname(self)); /* the program's own directory */
    dirs[0] = dir;
    dirs[1] = cf_tmpdir();
    for (int d = 0; d < 2; d++) {
        const char *where = d ? "tmpfs" : "the program's directory";
        for (int k = 0; k < 2; k++) {
            snprintf(p, sizeof(p), "%s/%s", dirs[d], k ? ".." : ".");
            CHECK_ERR(mknod(p, S_IFIFO | 0600, 0), EEXIST, "mknod %s in %s", k ? ".." : ".", where);
            CHECK_ERR(mkfifo(p, 0600), EEXIST, "mkfifo %s in %s", k ? ".." : ".", where);
            CHECK_ERR(link(argv[0], p), EEXIST, "link onto %s in %s", k ? ".." : ".", where);
            CHECK_ERR(symlink("x", p), EEXIST, "symlink onto %s in %s", k ? ".." : ".", where);
            CHECK_ERR(mkdir(p, 0700), EEXIST, "mkdir %s in %s", k ? ".." : ".", where);
        }
    }
    struct stat st;
    CHECK_SYS(stat(argv[0], &st), "the program file is still reachable afterwards");
    int fd = open(argv[0], O_RDONLY);
    CHECK(fd >= 0, "and can be opened");
    char b[4];
    CHECK_EQ(read(fd, b, 4), 4, "and read");
    close(fd);
    return cf_done();
}
