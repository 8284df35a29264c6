/* e2e helper: calls a system call fnbox does not implement and reports the errno. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    long r = syscall(SYS_io_setup, 1, (void *)0);
    printf("io_setup: %ld %s\n", r, r < 0 ? strerrorname_np(errno) : "ok");
    return 0;
}
