/* Writing into another process's memory: /proc/<pid>/mem is not provided by the Sentry's procfs
 * and process_vm_writev/readv are refused, so a process cannot patch another (or the host).
 * Outcome: ENOENT for /proc/<pid>/mem (self, child, pid 1), EPERM for process_vm_*. */
#include <sys/uio.h>

#include "escape.h"

static volatile long target = 42;

int main(void)
{
    char path[64];
    long v = 7;
    struct iovec l = {&v, sizeof(v)}, r = {(void *)&target, sizeof(target)};
    long host = esc_host_pid();
    pid_t kid = fork();

    if (kid == 0) {
        while (target == 42)
            usleep(1000);
        _exit(3);
    }
    snprintf(path, sizeof(path), "/proc/%d/mem", (int)kid);
    ESC_ERR(open(path, O_RDWR), ENOENT);
    ESC_ERR(open("/proc/self/mem", O_RDWR), ENOENT);
    ESC_ERR(open("/proc/1/mem", O_WRONLY), ENOENT);
    ESC_ERR(process_vm_writev(kid, &l, 1, &r, 1, 0), EPERM);
    ESC_ERR(process_vm_readv(kid, &l, 1, &r, 1, 0), EPERM);
    if (host > 0)
        ESC_ERR(process_vm_writev((pid_t)host, &l, 1, &r, 1, 0), EPERM);
    usleep(50000);
    esc_check(waitpid(kid, NULL, WNOHANG) == 0, "the child's memory was not changed");
    kill(kid, SIGKILL);
    waitpid(kid, NULL, 0);
    return esc_done();
}
