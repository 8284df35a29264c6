/* io_uring_setup/enter/register are refused (io_uring bypasses per-call checks on many
 * hosts). Outcome: EPERM for each. */
#include "escape.h"

int main(void)
{
    char params[120];
    memset(params, 0, sizeof(params));
    ESC_REFUSED(SYS_io_uring_setup, syscall(SYS_io_uring_setup, 8, params), EPERM);
    ESC_REFUSED(SYS_io_uring_enter, syscall(SYS_io_uring_enter, 0, 1, 1, 0, NULL, 0), EPERM);
    ESC_REFUSED(SYS_io_uring_register, syscall(SYS_io_uring_register, 0, 0, NULL, 0), EPERM);
    return esc_done();
}
