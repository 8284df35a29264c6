/* Conformance: timerfd — create errors, settime/gettime (relative, absolute, intervals, the old
 * value, disarming), expiration counts from read, EAGAIN, blocking reads, poll and epoll
 * readiness. Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"
#include <poll.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>

#define MS 1000000L

static struct itimerspec its(long value_ms, long interval_ms)
{
    struct itimerspec t = {{interval_ms / 1000, (interval_ms % 1000) * MS},
                           {value_ms / 1000, (value_ms % 1000) * MS}};
    return t;
}

static long ms_of(const struct timespec *ts)
{
    return ts->tv_sec * 1000 + ts->tv_nsec / MS;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ms_of(&ts);
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    struct itimerspec t, old;
    uint64_t n;

    CHECK_ERR(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL, "unsupported clock");
    CHECK_ERR(timerfd_create(99, 0), EINVAL, "unknown clock");
    CHECK_ERR(timerfd_create(CLOCK_MONOTONIC, 0x1234), EINVAL, "unknown flags");
    int fd = CHECK_SYS(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC),
                       "timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK|TFD_CLOEXEC)");
    CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC, "TFD_CLOEXEC");
    CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK, "TFD_NONBLOCK");
    char path[64], link[64] = {0};
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    CHECK(readlink(path, link, sizeof(link) - 1) > 0, "readlink");
    CHECK_STR(link, "anon_inode:[timerfd]", "timerfd link name");

    CHECK_SYS(timerfd_gettime(fd, &t), "gettime of a new timer");
    CHECK(t.it_value.tv_sec == 0 && t.it_value.tv_nsec == 0, "disarmed");
    CHECK_ERR(read(fd, &n, 8), EAGAIN, "read of a disarmed timer");
    CHECK_ERR(read(fd, &n, 4), EINVAL, "read of fewer than 8 bytes");
    t = its(10, 0);
    t.it_value.tv_nsec = 1000000000;
    CHECK_ERR(timerfd_settime(fd, 0, &t, NULL), EINVAL, "tv_nsec out of range");
    t = its(10, 0);
    CHECK_ERR(timerfd_settime(fd, 0x100, &t, NULL), EINVAL, "unknown settime flags");
    CHECK_ERR(timerfd_settime(-1, 0, &t, NULL), EBADF, "bad fd");
    int p[2];
    pipe(p);
    CHECK_ERR(timerfd_settime(p[0], 0, &t, NULL), EINVAL, "not a timerfd");
    CHECK_ERR(timerfd_gettime(p[0], &t), EINVAL, "gettime of not a timerfd");

    /* One-shot. */
    t = its(2000, 0);
    CHECK_SYS(timerfd_settime(fd, 0, &t, NULL), "arm for 2 s");
    CHECK_SYS(timerfd_gettime(fd, &t), "gettime");
    CHECK(ms_of(&t.it_value) > 1000 && ms_of(&t.it_value) <= 2000, "about 2 s left");
    CHECK_EQ(ms_of(&t.it_interval), 0, "no interval");
    t = its(20, 0);
    CHECK_SYS(timerfd_settime(fd, 0, &t, &old), "re-arm for 20 ms");
    CHECK(ms_of(&old.it_value) > 1000, "the old value is returned");
    struct pollfd pf = {fd, POLLIN, 0};
    CHECK_EQ(poll(&pf, 1, 5000), 1, "poll: expiry makes it readable");
    CHECK_EQ(read(fd, &n, 8), 8, "read 8 bytes");
    CHECK_EQ(n, 1, "one expiration");
    CHECK_ERR(read(fd, &n, 8), EAGAIN, "counter reset by the read");
    CHECK_SYS(timerfd_gettime(fd, &t), "gettime after expiry");
    CHECK_EQ(ms_of(&t.it_value), 0, "a fired one-shot is disarmed");

    /* Interval: expirations accumulate. */
    t = its(10, 10);
    long before = now_ms();
    CHECK_SYS(timerfd_settime(fd, 0, &t, NULL), "arm every 10 ms");
    long armed = now_ms();
    cf_msleep(75);
    long t0 = now_ms();
    CHECK_EQ(read(fd, &n, 8), 8, "read after ~75 ms");
    long t1 = now_ms();
    /* Exactly the expirations due between arming and reading (timing-proof bounds). */
    CHECK((long)n >= (t0 - armed) / 10 - 1 && (long)n <= (t1 - before) / 10 + 1,
          "expirations counted match the time elapsed");
    CHECK_SYS(timerfd_gettime(fd, &t), "gettime of the interval timer");
    CHECK_EQ(ms_of(&t.it_interval), 10, "interval 10 ms");
    CHECK(ms_of(&t.it_value) <= 10, "next expiry within the interval");
    t = its(0, 0);
    CHECK_SYS(timerfd_settime(fd, 0, &t, &old), "disarm");
    CHECK_EQ(ms_of(&old.it_interval), 10, "old interval");
    CHECK_ERR(read(fd, &n, 8), EAGAIN, "disarming clears pending expirations");
    t = its(0, 50);
    CHECK_SYS(timerfd_settime(fd, 0, &t, NULL), "interval with a zero value");
    CHECK_SYS(timerfd_gettime(fd, &t), "gettime");
    CHECK(ms_of(&t.it_value) == 0 && ms_of(&t.it_interval) == 50,
          "disarmed, but the interval is kept");

    /* Absolute time in the past: expires at once, counting the intervals since. */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    t.it_value = now;
    t.it_value.tv_sec -= 1;
    t.it_interval.tv_sec = 0;
    t.it_interval.tv_nsec = 100 * MS;
    CHECK_SYS(timerfd_settime(fd, TFD_TIMER_ABSTIME, &t, NULL), "absolute, 1 s ago, every 100 ms");
    CHECK_EQ(read(fd, &n, 8), 8, "readable at once");
    CHECK(n >= 10 && (long)n <= (now_ms() - ms_of(&now)) / 100 + 11,
          "one expiration plus one per interval since");
    close(fd);

    /* Blocking read, CLOCK_REALTIME absolute, epoll. */
    fd = CHECK_SYS(timerfd_create(CLOCK_REALTIME, 0), "timerfd_create(CLOCK_REALTIME)");
    clock_gettime(CLOCK_REALTIME, &now);
    t.it_interval.tv_sec = t.it_interval.tv_nsec = 0;
    t.it_value = now;
    t.it_value.tv_nsec += 30 * MS;
    if (t.it_value.tv_nsec >= 1000000000) {
        t.it_value.tv_sec++;
        t.it_value.tv_nsec -= 1000000000;
    }
    CHECK_SYS(timerfd_settime(fd, TFD_TIMER_ABSTIME, &t, NULL), "absolute realtime, 30 ms ahead");
    int ep = epoll_create1(0);
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = 42}, out;
    CHECK_SYS(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e), "epoll ADD a timerfd");
    CHECK_EQ(epoll_wait(ep, &out, 1, 0), 0, "not yet");
    CHECK_EQ(epoll_wait(ep, &out, 1, 5000), 1, "epoll_wait sees the expiry");
    CHECK_EQ(out.data.u64, 42, "its data");
    CHECK_EQ(read(fd, &n, 8), 8, "read");
    CHECK_EQ(n, 1, "one expiration");
    t = its(20, 0);
    timerfd_settime(fd, 0, &t, NULL);
    CHECK_EQ(read(fd, &n, 8), 8, "blocking read waits for the expiry");
    CHECK_EQ(n, 1, "one expiration");
    close(ep);
    close(fd);

    fd = CHECK_SYS(timerfd_create(CLOCK_BOOTTIME, 0), "timerfd_create(CLOCK_BOOTTIME)");
    t = its(10, 0);
    CHECK_SYS(timerfd_settime(fd, 0, &t, NULL), "arm");
    CHECK_EQ(read(fd, &n, 8), 8, "boottime timer fires");
    close(fd);
    close(p[0]);
    close(p[1]);
    return cf_done();
}
