/* futex(2): handed to kernel/futex. */
#include "kernel/syscalls/syscall.h"

#include "kernel/futex/futex.h"

FB_SYSCALL(futex)
{
    return fb_futex(t, a[0], ARG_INT(1), ARG_U32(2), a[3], a[4], ARG_U32(5));
}
