/* Host secrets are not in the view: /etc/shadow, /etc/gshadow, /etc/sudoers, /etc/ssh, /root and
 * /home do not exist inside the sandbox, by any spelling. Outcome: ENOENT every time. */
#include "escape.h"

int main(void)
{
    static const char *const paths[] = {
        "/etc/shadow",    "/etc/gshadow",  "/etc/sudoers",       "/etc/ssh/ssh_host_rsa_key",
        "/etc/ssh",       "/root",         "/root/.ssh",         "/home",
        "//etc//shadow",  "/etc/./shadow", "/usr/../etc/shadow", "/etc/shadow-",
        "/etc/sudoers.d",
    };
    size_t i;
    struct stat st;
    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        ESC_ERR(open(paths[i], O_RDONLY), ENOENT);
        ESC_ERR(stat(paths[i], &st), ENOENT);
    }
    ESC_ERR(open("/etc/shadow", O_WRONLY | O_CREAT | O_TRUNC, 0600), EROFS);
    return esc_done();
}
