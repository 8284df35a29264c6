/* bpf(2), the biggest kernel attack surface reachable unprivileged on many hosts, is refused.
 * Outcome: EPERM for map creation and program loads. */
#include "escape.h"

int main(void)
{
    char attr[128];
    memset(attr, 0, sizeof(attr));
    ESC_REFUSED(SYS_bpf, syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, attr, sizeof(attr)), EPERM);
    ESC_REFUSED(SYS_bpf, syscall(SYS_bpf, 5 /* BPF_PROG_LOAD */, attr, sizeof(attr)), EPERM);
    ESC_REFUSED(SYS_bpf, syscall(SYS_bpf, -1, NULL, 0), EPERM);
    return esc_done();
}
