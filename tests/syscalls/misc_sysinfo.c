/* Conformance: sysinfo (totalram > 0, freeram <= totalram, mem_unit, uptime, procs) and the
 * sysconf values derived from the kernel (pages, CPUs, clock ticks). Part of tests/syscalls. */
#include "conform.h"
#include <sys/sysinfo.h>

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    struct sysinfo si;
    CHECK_SYS(sysinfo(&si), "sysinfo");
    CHECK(si.totalram > 0, "totalram > 0");
    CHECK(si.freeram <= si.totalram, "freeram <= totalram");
    CHECK(si.mem_unit >= 1, "mem_unit >= 1");
    CHECK((unsigned long long)si.totalram * si.mem_unit >= 64ull << 20, "at least 64 MiB of RAM");
    CHECK(si.uptime >= 0, "uptime >= 0");
    CHECK(si.procs >= 1, "procs >= 1");
    CHECK_ERR(syscall(SYS_sysinfo, (void *)8), EFAULT, "sysinfo with a bad pointer");
    CHECK_EQ(sysconf(_SC_PAGESIZE), 4096, "sysconf(_SC_PAGESIZE)");
    CHECK_EQ(sysconf(_SC_CLK_TCK), 100, "sysconf(_SC_CLK_TCK)");
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    CHECK(ncpu >= 1, "sysconf(_SC_NPROCESSORS_ONLN) >= 1");
    CHECK(sysconf(_SC_NPROCESSORS_CONF) >= ncpu, "configured CPUs >= online CPUs");
    CHECK(sysconf(_SC_PHYS_PAGES) > 0, "sysconf(_SC_PHYS_PAGES) > 0");
    CHECK(get_nprocs() >= 1, "get_nprocs >= 1");
    return cf_done();
}
