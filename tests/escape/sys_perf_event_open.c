/* perf_event_open(2) (side channels, kernel pointers) is refused. Outcome: EACCES, as the table
 * documents (what Linux returns with perf_event_paranoid=3). */
#include "escape.h"

int main(void)
{
    char attr[128];
    memset(attr, 0, sizeof(attr));
    ESC_REFUSED(SYS_perf_event_open, syscall(SYS_perf_event_open, attr, 0, -1, -1, 0), EACCES);
    ESC_REFUSED(SYS_perf_event_open, syscall(SYS_perf_event_open, attr, -1, 0, -1, 0), EACCES);
    return esc_done();
}
