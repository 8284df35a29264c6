/* clone() and clone3() asking for new namespaces (the route to a user namespace with full
 * capabilities inside) are refused. Outcome: EPERM, and no child appears. */
#include <linux/sched.h>

#include "escape.h"

int main(void)
{
    static const unsigned long flags[] = {CLONE_NEWUSER, CLONE_NEWNS,  CLONE_NEWPID,   CLONE_NEWNET,
                                          CLONE_NEWUTS,  CLONE_NEWIPC, CLONE_NEWCGROUP};
    size_t i;
    for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        struct clone_args ca;
        ESC_ERR(syscall(SYS_clone, flags[i] | SIGCHLD, NULL, NULL, NULL, NULL), EPERM);
        memset(&ca, 0, sizeof(ca));
        ca.flags = flags[i];
        ca.exit_signal = SIGCHLD;
        ESC_ERR(syscall(SYS_clone3, &ca, sizeof(ca)), EPERM);
    }
    ESC_ERR(waitpid(-1, NULL, WNOHANG), ECHILD);
    return esc_done();
}
