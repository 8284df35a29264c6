/* Conformance: CPU-time clocks — process and thread CPU time advance with work and never go
 * backwards, per-thread clocks are separate, getrusage/times are consistent, clock_getcpuclockid.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"
#include <pthread.h>
#include <sys/times.h>

static volatile int64_t thread_cpu_start, thread_cpu_end;
static volatile clockid_t thread_clock;
static void *worker(void *arg)
{
    (void)arg;
    thread_cpu_start = cf_clock_ns(CLOCK_THREAD_CPUTIME_ID);
    cf_burn_cpu(30000000);
    thread_cpu_end = cf_clock_ns(CLOCK_THREAD_CPUTIME_ID);
    return NULL;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    int64_t p0 = cf_clock_ns(CLOCK_PROCESS_CPUTIME_ID), t0 = cf_clock_ns(CLOCK_THREAD_CPUTIME_ID);
    cf_burn_cpu(50000000);
    int64_t t1 = cf_clock_ns(CLOCK_THREAD_CPUTIME_ID), p1 = cf_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    CHECK(t1 - t0 >= 50000000, "thread CPU time advanced by at least 50 ms of work");
    CHECK(p1 - p0 >= 50000000, "process CPU time advanced by at least 50 ms");
    CHECK(p1 >= t1, "process CPU time >= main thread CPU time");

    pthread_t th;
    int64_t main_before = cf_clock_ns(CLOCK_THREAD_CPUTIME_ID);
    pthread_create(&th, NULL, worker, NULL);
    pthread_join(th, NULL);
    int64_t main_after = cf_clock_ns(CLOCK_THREAD_CPUTIME_ID);
    CHECK(thread_cpu_end - thread_cpu_start >= 30000000, "worker's thread clock counts its work");
    CHECK(thread_cpu_start < 20000000, "a new thread's CPU clock starts near zero");
    CHECK(main_after - main_before < 25000000, "main's thread clock excludes the worker's work");
    CHECK(cf_clock_ns(CLOCK_PROCESS_CPUTIME_ID) - p1 >= 30000000, "process clock includes the worker");

    clockid_t cid;
    CHECK_EQ(clock_getcpuclockid(getpid(), &cid), 0, "clock_getcpuclockid(self)");
    struct timespec ts;
    CHECK_SYS(clock_gettime(cid, &ts), "read the process CPU clock by id");
    CHECK((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec >= p1, "it is our process CPU time");
    CHECK_SYS(pthread_getcpuclockid(pthread_self(), &cid), "pthread_getcpuclockid(self)");
    CHECK_SYS(clock_gettime(cid, &ts), "read our thread CPU clock by id");

    struct rusage ru;
    CHECK_SYS(getrusage(RUSAGE_SELF, &ru), "getrusage(RUSAGE_SELF)");
    int64_t ru_ns = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
                    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
    CHECK(ru_ns >= 70000000, "rusage user+system >= 80 ms of work (minus tick slack)");
    CHECK_SYS(getrusage(RUSAGE_THREAD, &ru), "getrusage(RUSAGE_THREAD)");
    CHECK_ERR(getrusage(42, &ru), EINVAL, "getrusage with a bad who");

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        cf_burn_cpu(30000000);
        _exit(0);
    }
    cf_wait(pid);
    CHECK_SYS(getrusage(RUSAGE_CHILDREN, &ru), "getrusage(RUSAGE_CHILDREN)");
    int64_t ch = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
                 (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
    CHECK(ch >= 20000000, "reaped child's CPU time is counted");
    struct tms tm;
    clock_t c = times(&tm);
    CHECK(c != (clock_t)-1, "times() succeeds");
    CHECK(tm.tms_utime + tm.tms_stime >= 7, "times(): own CPU >= 7 ticks");
    CHECK(tm.tms_cutime + tm.tms_cstime >= 2, "times(): children's CPU >= 2 ticks");
    return cf_done();
}
