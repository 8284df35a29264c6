/* Conformance: scheduler calls — sched_yield, sched_getaffinity/setaffinity, getcpu,
 * sched_getscheduler/getparam, priority ranges, getpriority/setpriority (nice).
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"
#include <sys/resource.h>

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    CHECK_SYS(sched_yield(), "sched_yield");
    cpu_set_t set;
    CPU_ZERO(&set);
    CHECK_SYS(sched_getaffinity(0, sizeof(set), &set), "sched_getaffinity");
    int count = CPU_COUNT(&set);
    CHECK(count >= 1, "affinity mask has at least one CPU");
    long r = syscall(SYS_sched_getaffinity, 0, sizeof(set), &set);
    CHECK(r >= 8 && r % 8 == 0, "raw sched_getaffinity returns the mask size in bytes");
    CHECK_ERR(syscall(SYS_sched_getaffinity, 0, 1, &set), EINVAL, "sched_getaffinity 1-byte mask");
    CHECK_ERR(sched_getaffinity(1 << 22, sizeof(set), &set), ESRCH, "sched_getaffinity bad pid");
    CHECK_SYS(sched_setaffinity(0, sizeof(set), &set), "sched_setaffinity to the same mask");
    cpu_set_t empty;
    CPU_ZERO(&empty);
    CHECK_ERR(sched_setaffinity(0, sizeof(empty), &empty), EINVAL, "sched_setaffinity empty mask");

    unsigned cpu = 9999, node = 9999;
    CHECK_SYS(syscall(SYS_getcpu, &cpu, &node, NULL), "getcpu");
    CHECK(cpu < CPU_SETSIZE && CPU_ISSET(cpu, &set), "getcpu is a CPU in our affinity mask");
    CHECK(node < 1024, "node is small");
    CHECK(sched_getcpu() >= 0, "sched_getcpu");

    CHECK_EQ(sched_getscheduler(0), SCHED_OTHER, "policy is SCHED_OTHER");
    struct sched_param sp = {99};
    CHECK_SYS(sched_getparam(0, &sp), "sched_getparam");
    CHECK_EQ(sp.sched_priority, 0, "priority is 0");
    CHECK_EQ(sched_get_priority_max(SCHED_FIFO), 99, "SCHED_FIFO max priority");
    CHECK_EQ(sched_get_priority_min(SCHED_FIFO), 1, "SCHED_FIFO min priority");
    CHECK_EQ(sched_get_priority_max(SCHED_OTHER), 0, "SCHED_OTHER max priority");
    CHECK_ERR(sched_get_priority_max(42), EINVAL, "unknown policy");
    CHECK_ERR(sched_getscheduler(1 << 22), ESRCH, "sched_getscheduler bad pid");
    struct timespec rr;
    CHECK_SYS(sched_rr_get_interval(0, &rr), "sched_rr_get_interval");

    /* Nice values: raising our own nice is always allowed (in a child, to leave ours alone). */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        errno = 0;
        int p0 = getpriority(PRIO_PROCESS, 0);
        if (errno)
            _exit(1);
        if (setpriority(PRIO_PROCESS, 0, p0 + 5) != 0)
            _exit(2);
        errno = 0;
        if (getpriority(PRIO_PROCESS, 0) != p0 + 5 || errno)
            _exit(3);
        if (nice(1) != p0 + 6)
            _exit(4);
        _exit(0);
    }
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "child raised its nice by 5 then 1");
    CHECK_ERR(getpriority(42, 0), EINVAL, "getpriority with a bad which");
    CHECK_ERR(setpriority(PRIO_PROCESS, 1 << 22, 0), ESRCH, "setpriority on a missing pid");
    return cf_done();
}
