/* unshare(2) of any namespace (user namespaces are the usual door to mount and capability
 * tricks) is refused. Outcome: EPERM for each flag. */
#include "escape.h"

int main(void)
{
    static const int flags[] = {CLONE_NEWUSER,   CLONE_NEWNS,   CLONE_NEWPID,
                                CLONE_NEWNET,    CLONE_NEWUTS,  CLONE_NEWIPC,
                                CLONE_NEWCGROUP, CLONE_NEWTIME, CLONE_NEWUSER | CLONE_NEWNS,
                                CLONE_FS,        CLONE_FILES};
    size_t i;
    for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        ESC_REFUSED(SYS_unshare, unshare(flags[i]), EPERM);
    return esc_done();
}
