/* Conformance: syscall numbers that do not exist return ENOSYS (and the process survives);
 * legacy x86_64 calls that Linux keeps but stubs out. Part of tests/syscalls. */
#include "conform.h"

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    CHECK_ERR(syscall(999), ENOSYS, "syscall 999");
    CHECK_ERR(syscall(100000), ENOSYS, "syscall 100000");
    CHECK_ERR(syscall(-1L), ENOSYS, "syscall -1");
    CHECK_ERR(syscall(SYS_afs_syscall), ENOSYS, "afs_syscall (never implemented)");
    CHECK_ERR(syscall(SYS_tuxcall), ENOSYS, "tuxcall (never implemented)");
    CHECK_ERR(syscall(SYS_security), ENOSYS, "security (never implemented)");
    CHECK_ERR(syscall(SYS_vserver), ENOSYS, "vserver (never implemented)");
    CHECK_ERR(syscall(SYS_putpmsg), ENOSYS, "putpmsg (never implemented)");
    CHECK_ERR(syscall(SYS_getpmsg), ENOSYS, "getpmsg (never implemented)");
    CHECK(getpid() > 0, "still alive after unknown syscalls");
    return cf_done();
}
