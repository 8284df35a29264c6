/* Benchmark program: N getppid system calls, timed inside the process (startup excluded).
 * Built static by `make bench` as build/bench/getppid_loop; scripts/bench.sh runs it natively,
 * under runsc and under fnbox. Usage: getppid_loop [N]; prints "ns_per_call=X iterations=N".
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
    long warm = n / 10 < 1000 ? n / 10 : 1000;
    long sum = 0;

    if (n <= 0) {
        fprintf(stderr, "usage: getppid_loop [N>0]\n");
        return 2;
    }
    /* Warm up: first calls pay for page faults on the stack and the kernel's caches. */
    for (long i = 0; i < warm; i++)
        sum += syscall(SYS_getppid);

    /* syscall(2) rather than getppid(): no libc wrapper can cache or short-cut it. */
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        sum += syscall(SYS_getppid);
    double t1 = now_ns();

    /* Use the sum so that the loop cannot be dropped; getppid never returns < 0 here. */
    if (sum < 0)
        return 1;
    printf("ns_per_call=%.1f iterations=%ld\n", (t1 - t0) / n, n);
    return 0;
}
