/* Conformance: /proc/cpuinfo (processor lines, count matches sysconf) and /proc/meminfo (MemTotal
 * matches sysinfo). Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"
#include <sys/sysinfo.h>

static char buf[1 << 20];

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    CHECK(cf_read_file("/proc/cpuinfo", buf, sizeof(buf)) > 0, "read /proc/cpuinfo");
    int procs = 0;
    bool vendor = false, flags = false;
    for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
        procs += strncmp(l, "processor", 9) == 0;
        vendor |= strncmp(l, "vendor_id", 9) == 0;
        flags |= strncmp(l, "flags", 5) == 0;
    }
    CHECK(procs >= 1, "cpuinfo has at least one processor line");
    CHECK(vendor && flags, "cpuinfo has vendor_id and flags");
    CHECK_EQ(procs, sysconf(_SC_NPROCESSORS_ONLN), "processor lines == online CPUs");

    CHECK(cf_read_file("/proc/meminfo", buf, sizeof(buf)) > 0, "read /proc/meminfo");
    unsigned long total = 0, avail = 0, mfree = 0;
    char *p = strstr(buf, "MemTotal:");
    CHECK(p != NULL, "meminfo has MemTotal");
    if (p)
        sscanf(p, "MemTotal: %lu kB", &total);
    if ((p = strstr(buf, "MemFree:")))
        sscanf(p, "MemFree: %lu kB", &mfree);
    if ((p = strstr(buf, "MemAvailable:")))
        sscanf(p, "MemAvailable: %lu kB", &avail);
    CHECK(total > 0 && mfree <= total, "MemTotal > 0 and MemFree <= MemTotal");
    CHECK(avail <= total, "MemAvailable <= MemTotal");
    struct sysinfo si;
    sysinfo(&si);
    unsigned long long si_kb = (unsigned long long)si.totalram * si.mem_unit / 1024;
    CHECK(si_kb / 1024 == total / 1024 || si_kb == total, "MemTotal agrees with sysinfo (MiB)");
    int fd = open("/proc/meminfo", O_RDONLY);
    char small[16];
    CHECK_EQ(read(fd, small, 9), 9, "read meminfo in small pieces");
    CHECK(memcmp(small, "MemTotal:", 9) == 0, "first piece is MemTotal:");
    CHECK_ERR(write(fd, "x", 1), EBADF, "meminfo opened read-only rejects writes");
    close(fd);
    return cf_done();
}
