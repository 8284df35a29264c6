/* ".." through a read-write host mount: /rw is a host directory served read-write; walking up
 * from it, by path or by openat() on a directory fd, stops at the sandbox root. Outcome: ENOENT
 * for host paths, "/rw/.." is "/", files created via ".." land in the sandbox, never on the host.
 */
#include "escape.h"

int main(void)
{
    struct stat root, st;
    int dfd, fd;

    stat("/", &root);
    esc_check(stat("/rw/..", &st) == 0 && st.st_ino == root.st_ino && st.st_dev == root.st_dev,
              "/rw/.. is the sandbox root");
    ESC_ERR(open("/rw/../../../../../etc/shadow", O_RDONLY), ENOENT);
    ESC_ERR(stat("/rw/../../../../../outside", &st), ENOENT);
    dfd = open("/rw", O_RDONLY | O_DIRECTORY);
    esc_check(dfd >= 0, "open /rw");
    ESC_ERR(openat(dfd, "../../../../etc/shadow", O_RDONLY), ENOENT);
    ESC_ERR(openat(dfd, "../../outside/secret", O_RDONLY), ENOENT);
    esc_check(mkdir("/rw/a", 0755) == 0 && mkdir("/rw/a/b", 0755) == 0, "mkdir /rw/a/b");
    ESC_ERR(openat(dfd, "a/b/../../../../../etc/shadow", O_RDONLY), ENOENT);
    /* Creating through ".." reaches the sandbox's read-only root, not the host's parent dir. */
    ESC_ERR(open("/rw/../" ESC_MARKER, O_WRONLY | O_CREAT, 0644), EROFS);
    ESC_ERR(openat(dfd, "../../" ESC_MARKER, O_WRONLY | O_CREAT, 0644), EROFS);
    ESC_ERR(mkdir("/rw/../../" ESC_MARKER, 0755), EROFS);
    ESC_ERR(rename("/rw/a", "/rw/../" ESC_MARKER), EXDEV);
    fd = open("/rw/a/b/../../ok", O_WRONLY | O_CREAT, 0644);
    esc_check(fd >= 0, "a file through a/b/../.. stays in /rw");
    if (fd >= 0)
        close(fd);
    esc_check(access("/rw/ok", F_OK) == 0, "/rw/ok exists");
    return esc_done();
}
