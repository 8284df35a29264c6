/* Absolute symlinks planted in a read-write host mount are resolved by the Sentry inside the
 * sandbox, never by the host: /rw/l -> /etc/shadow finds nothing, /rw/e -> /etc is the sandbox's
 * read-only /etc. Outcome: ENOENT / EROFS; no marker on the host's /etc. */
#include "escape.h"

int main(void)
{
    char buf[64];
    esc_check(symlink("/etc/shadow", "/rw/l") == 0, "symlink /rw/l -> /etc/shadow");
    esc_check(symlink("/etc", "/rw/e") == 0, "symlink /rw/e -> /etc");
    esc_check(symlink("/", "/rw/r") == 0, "symlink /rw/r -> /");
    ESC_ERR(open("/rw/l", O_RDONLY), ENOENT);
    ESC_ERR(open("/rw/e/shadow", O_RDONLY), ENOENT);
    ESC_ERR(open("/rw/e/" ESC_MARKER, O_WRONLY | O_CREAT, 0644), EROFS);
    ESC_ERR(open("/rw/r/" ESC_MARKER, O_WRONLY | O_CREAT, 0644), EROFS);
    ESC_ERR(open("/rw/r/root/.profile", O_RDONLY), ENOENT);
    esc_check(esc_read_file("/rw/e/hostname", buf, sizeof(buf)) >= 0 ||
                  esc_read_file("/rw/e/passwd", buf, sizeof(buf)) > 0,
              "/rw/e reaches the sandbox's /etc view");
    /* O_NOFOLLOW and O_PATH|O_NOFOLLOW on the link itself. */
    ESC_ERR(open("/rw/l", O_RDONLY | O_NOFOLLOW), ELOOP);
    return esc_done();
}
