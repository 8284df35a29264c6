/* The rest of the host-administration calls (reboot, swap, syslog, accounting, clock setting,
 * quotas, vhangup, modify_ldt) are refused with their documented errors. */
#include <sys/time.h>

#include "escape.h"

int main(void)
{
    ESC_REFUSED(SYS_reboot, syscall(SYS_reboot, 0xfee1dead, 672274793, 0x4321fedc, NULL), EPERM);
    ESC_REFUSED(SYS_swapon, syscall(SYS_swapon, "/rw/swap", 0), EPERM);
    ESC_REFUSED(SYS_swapoff, syscall(SYS_swapoff, "/rw/swap"), EPERM);
    ESC_REFUSED(SYS_syslog, syscall(SYS_syslog, 3, NULL, 0), EPERM);
    ESC_REFUSED(SYS_acct, syscall(SYS_acct, "/rw/acct"), EPERM);
    struct timeval tv = {0, 0};
    ESC_REFUSED(SYS_settimeofday, syscall(SYS_settimeofday, &tv, NULL), EPERM);
    char tx[256];
    memset(tx, 0, sizeof(tx));
    tx[0] = 1; /* ADJ_OFFSET */
    ESC_REFUSED(SYS_adjtimex, syscall(SYS_adjtimex, tx), EPERM);
    ESC_REFUSED(SYS_vhangup, syscall(SYS_vhangup), EPERM);
    ESC_REFUSED(SYS_modify_ldt, syscall(SYS_modify_ldt, 1, tx, 16), EPERM);
    ESC_REFUSED(SYS_quotactl, syscall(SYS_quotactl, 0, "/", 0, NULL), EPERM);
    return esc_done();
}
