/* pivot_root(2) is refused. Outcome: EPERM. */
#include "escape.h"

int main(void)
{
    ESC_REFUSED(SYS_pivot_root, syscall(SYS_pivot_root, "/tmp", "/tmp"), EPERM);
    ESC_REFUSED(SYS_pivot_root, syscall(SYS_pivot_root, "/rw", "/rw"), EPERM);
    ESC_REFUSED(SYS_pivot_root, syscall(SYS_pivot_root, ".", "."), EPERM);
    return esc_done();
}
