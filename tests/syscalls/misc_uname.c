/* Conformance: uname — sysname "Linux", machine "x86_64", non-empty release/version/nodename,
 * consistent with gethostname; sethostname is refused or works the same. Part of tests/syscalls. */
#include "conform.h"
#include <sys/utsname.h>

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    struct utsname u;
    CHECK_SYS(uname(&u), "uname");
    CHECK_STR(u.sysname, "Linux", "sysname");
    CHECK_STR(u.machine, "x86_64", "machine");
    CHECK(strlen(u.release) > 0 && u.release[0] >= '3' && u.release[0] <= '9',
          "release starts with a digit 3-9");
    CHECK(strchr(u.release, '.') != NULL, "release has a dot");
    CHECK(strlen(u.version) > 0, "version is not empty");
    CHECK(strlen(u.nodename) > 0, "nodename is not empty");
    char host[256];
    CHECK_SYS(gethostname(host, sizeof(host)), "gethostname");
    CHECK_SAME(host, u.nodename, "gethostname equals uname nodename");
    char dom[256];
    CHECK_SYS(getdomainname(dom, sizeof(dom)), "getdomainname");
    CHECK_SAME(dom, u.domainname, "getdomainname equals uname domainname");
    CHECK_ERR(syscall(SYS_uname, (void *)8), EFAULT, "uname with a bad pointer");
    char small[1];
    CHECK_ERR(gethostname(small, 0), ENAMETOOLONG, "gethostname into a 0-byte buffer");
    return cf_done();
}
