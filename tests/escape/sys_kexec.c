/* kexec_load and kexec_file_load are refused. Outcome: EPERM. */
#include "escape.h"

int main(void)
{
    ESC_REFUSED(SYS_kexec_load, syscall(SYS_kexec_load, 0, 0, NULL, 0), EPERM);
    ESC_REFUSED(SYS_kexec_file_load, syscall(SYS_kexec_file_load, 0, 0, 0, "", 0), EPERM);
    return esc_done();
}
