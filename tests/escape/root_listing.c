/* The root of the sandbox lists only the served view: no root, home, boot, var, srv or host
 * mounts; "/.." is "/". Outcome: none of the host-only names appear. */
#include "escape.h"

int main(void)
{
    static const char *const banned[] = {"root", "home", "boot",  "var", "srv",
                                         "mnt",  "opt",  "media", "run", "work"};
    struct stat a, b;
    DIR *d = opendir("/");
    struct dirent *e;
    size_t i;
    int n = 0;

    esc_check(d != NULL, "opendir(/)");
    while (d && (e = readdir(d))) {
        n++;
        for (i = 0; i < sizeof(banned) / sizeof(banned[0]); i++)
            esc_check(strcmp(e->d_name, banned[i]) != 0, "/ has no %s (saw %s)", banned[i],
                      e->d_name);
    }
    if (d)
        closedir(d);
    esc_check(n > 3, "/ lists the view (%d entries)", n);
    esc_check(stat("/", &a) == 0 && stat("/..", &b) == 0 && a.st_ino == b.st_ino &&
                  a.st_dev == b.st_dev,
              "/.. is /");
    esc_check(stat("/../../../..", &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev,
              "/../../../.. is /");
    ESC_ERR(chdir("/work"), ENOENT);
    return esc_done();
}
