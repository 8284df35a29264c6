/* Conformance: user and group ids — getuid/geteuid/getgid/getegid/getresuid/getresgid agree,
 * getgroups count and list are consistent, setuid to ourselves works, errors.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"
#include <grp.h>

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    uid_t r, e, s;
    gid_t gr, ge, gs;
    CHECK_SYS(getresuid(&r, &e, &s), "getresuid");
    CHECK(r == getuid() && e == geteuid(), "getresuid matches getuid/geteuid");
    CHECK(s == e, "saved uid equals effective uid");
    CHECK_SYS(getresgid(&gr, &ge, &gs), "getresgid");
    CHECK(gr == getgid() && ge == getegid() && gs == ge, "getresgid matches getgid/getegid");
    CHECK(getuid() == geteuid(), "real uid equals effective uid");
    CHECK(getgid() == getegid(), "real gid equals effective gid");
    CHECK(syscall(SYS_getuid) == getuid(), "raw getuid");

    int n = getgroups(0, NULL);
    CHECK(n >= 0, "getgroups(0) returns a count");
    gid_t *list = calloc((size_t)n + 1, sizeof(gid_t));
    CHECK_EQ(getgroups(n, list), n, "getgroups(n) returns the same count");
    if (n > 0)
        CHECK_ERR(getgroups(n - 1, list), EINVAL, "getgroups with a too small buffer");
    CHECK_ERR(syscall(SYS_getgroups, -1, list), EINVAL, "getgroups with a negative size");
    free(list);

    /* Setting ids to their current values is always allowed. */
    CHECK_SYS(setuid(getuid()), "setuid(getuid())");
    CHECK_SYS(setgid(getgid()), "setgid(getgid())");
    CHECK_SYS(setresuid(-1, -1, -1), "setresuid(-1, -1, -1)");
    CHECK_SYS(setreuid(-1, geteuid()), "setreuid(-1, geteuid())");
    CHECK(getuid() == r && geteuid() == e, "ids unchanged");
    CHECK_ERR(getresuid((uid_t *)8, &e, &s), EFAULT, "getresuid with a bad pointer");

    /* In a child: drop to uid/gid 65534 (when root) and check everything moved together. */
    if (geteuid() == 0) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
                _exit(10);
            uid_t a, b, c;
            getresuid(&a, &b, &c);
            if (a != 65534 || b != 65534 || c != 65534 || getgid() != 65534)
                _exit(11);
            if (getgroups(0, NULL) != 0)
                _exit(12);
            if (setuid(0) != -1 || errno != EPERM)
                _exit(13);
            _exit(0);
        }
        CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0",
                  "child dropped to 65534, cannot regain 0");
    } else {
        CHECK_ERR(setuid(0), EPERM, "setuid(0) as non-root");
    }
    return cf_done();
}
