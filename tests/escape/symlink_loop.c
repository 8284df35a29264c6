/* Symlink loops and long chains in a read-write mount: the Sentry bounds the resolution (40 links
 * like Linux). Outcome: ELOOP, no hang, no crash. */
#include "escape.h"

int main(void)
{
    char a[64], b[64];
    int i;
    esc_check(symlink("/rw/b", "/rw/a") == 0 && symlink("/rw/a", "/rw/b") == 0, "a <-> b");
    ESC_ERR(open("/rw/a", O_RDONLY), ELOOP);
    esc_check(symlink("self/x", "/rw/self") == 0, "self -> self/x");
    ESC_ERR(open("/rw/self", O_RDONLY), ELOOP);
    for (i = 0; i < 60; i++) {
        snprintf(a, sizeof(a), "/rw/c%d", i);
        snprintf(b, sizeof(b), "c%d", i + 1);
        symlink(b, a);
    }
    symlink("/etc/passwd", "/rw/c60");
    ESC_ERR(open("/rw/c0", O_RDONLY), ELOOP);
    esc_check(open("/rw/c30", O_RDONLY) >= 0, "a chain of 30 links resolves");
    return esc_done();
}
