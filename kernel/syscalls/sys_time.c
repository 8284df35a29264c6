/* Time system calls: clocks (host clocks plus the kernel's offsets, CPU clocks), sleeps, interval
 * timers and POSIX timers. */
#include "kernel/syscalls/syscall.h"

#include <errno.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "kernel/mm/mm.h"
#include "kernel/signal/signal.h"
#include "kernel/syscalls/sys_util.h"
#include "kernel/time/posix_timers.h"
#include "kernel/util/cleanup.h"
#include "platform/platform.h"

#define NS 1000000000ll

int fb_get_timespec(struct fb_task *t, uint64_t uaddr, int64_t *ns)
{
    struct timespec ts;
    if (fb_mm_copy_in(t->mm, uaddr, &ts, sizeof(ts)) != 0)
        return -EFAULT;
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= NS)
        return -EINVAL;
    *ns = ts.tv_sec > INT64_MAX / NS / 4 ? INT64_MAX / 4 : ts.tv_sec * NS + ts.tv_nsec;
    return 0;
}

int fb_put_timespec(struct fb_task *t, uint64_t uaddr, int64_t ns)
{
    struct timespec ts = {ns / NS, ns % NS};
    return fb_mm_copy_out(t->mm, uaddr, &ts, sizeof(ts)) ? -EFAULT : 0;
}

/* Read an application clock; -EINVAL for unknown clocks (and the alarm clocks, which need an
 * RTC the sandbox does not have). */
static int read_clock(struct fb_task *t, clockid_t id, int64_t *ns)
{
    struct fb_cpuclock c;
    int r;

    switch (id) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_TAI:
        *ns = fb_app_real_ns();
        return 0;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_BOOTTIME:
        /* The host vDSO's fallback call (fnbox's vDSO called it; it adds the offset itself). */
        *ns = fb_platform_in_host_vdso(t->cpu.regs.rip) ? fb_host_mono_ns() : fb_app_mono_ns();
        return 0;
    default:
        if (!fb_cpuclock_is(id))
            return -EINVAL;
        r = fb_cpuclock_get(t, id, true, &c);
        if (r < 0)
            return r;
        *ns = fb_cpuclock_read(&c);
        return 0;
    }
}

FB_SYSCALL(clock_gettime)
{
    int64_t ns;
    int r = read_clock(t, ARG_INT(0), &ns);
    if (r < 0)
        return r;
    return fb_put_timespec(t, a[1], ns);
}

FB_SYSCALL(clock_getres)
{
    clockid_t id = ARG_INT(0);
    int64_t ns, res = 1;
    int r = read_clock(t, id, &ns);

    if (r < 0)
        return r;
    if (id == CLOCK_REALTIME_COARSE || id == CLOCK_MONOTONIC_COARSE) {
        res = 4000000;
    } else if (fb_cpuclock_is(id)) {
        struct fb_cpuclock c;
        if (fb_cpuclock_get(t, id, true, &c) == 0)
            res = fb_cpuclock_res(&c);
    }
    if (!a[1])
        return 0;
    return fb_put_timespec(t, a[1], res);
}

FB_SYSCALL(gettimeofday)
{
    int64_t ns = fb_app_real_ns();
    if (a[0]) {
        struct timeval tv = {ns / NS, (ns % NS) / 1000};
        if (fb_mm_copy_out(t->mm, a[0], &tv, sizeof(tv)) != 0)
            return -EFAULT;
    }
    if (a[1]) {
        struct timezone tz = {0, 0};
        if (fb_mm_copy_out(t->mm, a[1], &tz, sizeof(tz)) != 0)
            return -EFAULT;
    }
    return 0;
}

FB_SYSCALL(time)
{
    int64_t s = fb_app_real_ns() / NS;
    if (a[0] && fb_mm_copy_out(t->mm, a[0], &s, sizeof(s)) != 0)
        return -EFAULT;
    return s;
}

FB_SYSCALL(settimeofday)
{
    (void)t;
    (void)a;
    return -EPERM; /* the sandbox clock follows the host's */
}

/* Only CLOCK_REALTIME and the CPU clocks are settable on Linux (others: EINVAL). The sandbox
 * follows the host's clock and CPU clocks are never settable, so valid requests get EPERM. */
FB_SYSCALL(clock_settime)
{
    clockid_t id = ARG_INT(0);
    struct timespec ts;

    if (fb_cpuclock_is(id)) {
        struct fb_cpuclock c;
        int r = fb_cpuclock_get(t, id, false, &c);
        if (r < 0)
            return r;
    } else if (id != CLOCK_REALTIME) {
        return -EINVAL;
    }
    if (fb_mm_copy_in(t->mm, a[1], &ts, sizeof(ts)) != 0)
        return -EFAULT;
    if (id == CLOCK_REALTIME && (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= NS))
        return -EINVAL;
    return -EPERM;
}

/* Sleep until deadline (application monotonic). */
static int64_t sleep_until(struct fb_task *t, int64_t deadline, uint64_t urem)
{
    for (;;) {
        int r = fb_task_sleep(t, deadline);
        if (r == -ETIMEDOUT)
            return 0;
        if (r == -EINTR) {
            if (urem) {
                int64_t left = deadline - fb_app_mono_ns();
                fb_put_timespec(t, urem, left > 0 ? left : 0);
            }
            return -FB_ERESTARTNOHAND;
        }
    }
}

/* Sleep until a CPU clock reaches `until`. The clock advances only while threads run, so the
 * sleep looks again every few milliseconds (bounded by the least time the rest could take). */
static int64_t cpu_sleep_until(struct fb_task *t, const struct fb_cpuclock *c, int64_t until,
                               uint64_t urem)
{
    for (;;) {
        int64_t now = fb_cpuclock_read(c), step;
        int r;
        if (now >= until)
            return 0;
        step = FB_MIN(FB_MAX(until - now, 1000000), 10000000);
        r = fb_task_sleep(t, fb_app_mono_ns() + step);
        if (r == -EINTR) {
            if (urem)
                fb_put_timespec(t, urem, FB_MAX(until - fb_cpuclock_read(c), 0));
            return -FB_ERESTARTNOHAND;
        }
    }
}

FB_SYSCALL(nanosleep)
{
    int64_t ns;
    int r = fb_get_timespec(t, a[0], &ns);
    if (r < 0)
        return r;
    return sleep_until(t, fb_task_deadline(t, ns), a[1]);
}

FB_SYSCALL(clock_nanosleep)
{
    clockid_t id = ARG_INT(0);
    int flags = ARG_INT(1); /* only TIMER_ABSTIME means something; Linux ignores other bits */
    struct fb_cpuclock c;
    int64_t ns, deadline;
    int r;

    switch (id) {
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_BOOTTIME:
    case CLOCK_TAI:
        break;
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_REALTIME_ALARM:
    case CLOCK_BOOTTIME_ALARM:
        return -EOPNOTSUPP; /* no sleeping on these (the alarm clocks need an RTC) */
    default:
        if (!fb_cpuclock_is(id))
            return -EINVAL;
        break;
    }
    r = fb_get_timespec(t, a[2], &ns);
    if (r < 0)
        return r;
    if (fb_cpuclock_is(id)) {
        /* Checked after the time, as Linux's CPU-clock sleep does. */
        r = fb_cpuclock_get(t, id, false, &c);
        if (r < 0)
            return r;
        if (c.task == t)
            return -EINVAL; /* its own thread clock cannot advance while it sleeps */
        /* The target is kept across a restart like a monotonic deadline. */
        if (!(t->restarting && t->sc_deadline))
            t->sc_deadline = (flags & TIMER_ABSTIME) ? FB_MAX(ns, 1) : fb_cpuclock_read(&c) + ns;
        return cpu_sleep_until(t, &c, t->sc_deadline, (flags & TIMER_ABSTIME) ? 0 : a[3]);
    }
    if (flags & TIMER_ABSTIME) {
        deadline = (id == CLOCK_REALTIME || id == CLOCK_TAI)
                       ? fb_app_mono_ns() + (ns - fb_app_real_ns())
                       : ns;
        if (deadline <= 0)
            deadline = 1;
        return sleep_until(t, deadline, 0);
    }
    return sleep_until(t, fb_task_deadline(t, ns), a[3]);
}

/* ---- interval timers -------------------------------------------------------------------------------- */

static void itimer_real_fire(struct fb_ktimer *k)
{
    struct fb_thread_group *tg = fb_container_of(k, struct fb_thread_group, itimer_real);

    if (tg->state != FB_TG_LIVE)
        return;
    if (tg->itimer_real_interval_ns)
        fb_ktimer_arm(k, k->deadline_ns + tg->itimer_real_interval_ns);
    fb_signal_send_tg(tg, SIGALRM, NULL); /* SI_KERNEL, as Linux sends it */
}

void fb_itimer_real_restore(struct fb_thread_group *tg, int64_t deadline_ns, int64_t interval_ns)
{
    tg->itimer_real.fire = itimer_real_fire;
    tg->itimer_real_interval_ns = interval_ns;
    if (deadline_ns)
        fb_ktimer_arm(&tg->itimer_real, deadline_ns);
}

static struct itimerval real_value(struct fb_thread_group *tg)
{
    struct itimerval v;
    int64_t left = tg->itimer_real.armed ? tg->itimer_real.deadline_ns - fb_app_mono_ns() : 0;
    if (tg->itimer_real.armed && left <= 0)
        left = 1000;
    v.it_value.tv_sec = left / NS;
    v.it_value.tv_usec = (left % NS) / 1000;
    v.it_interval.tv_sec = tg->itimer_real_interval_ns / NS;
    v.it_interval.tv_usec = (tg->itimer_real_interval_ns % NS) / 1000;
    return v;
}

static int64_t tv_ns(const struct timeval *tv)
{
    return tv->tv_sec * NS + tv->tv_usec * 1000;
}

static int set_real(struct fb_thread_group *tg, const struct itimerval *nv)
{
    tg->itimer_real.fire = itimer_real_fire;
    fb_ktimer_cancel(&tg->itimer_real);
    tg->itimer_real_interval_ns = tv_ns(&nv->it_interval);
    if (nv->it_value.tv_sec || nv->it_value.tv_usec)
        fb_ktimer_arm(&tg->itimer_real, fb_app_mono_ns() + tv_ns(&nv->it_value));
    return 0;
}

FB_SYSCALL(getitimer)
{
    struct itimerval v;
    switch (ARG_INT(0)) {
    case ITIMER_REAL:
        v = real_value(t->tg);
        break;
    case ITIMER_VIRTUAL:
    case ITIMER_PROF:
        fb_cpu_itimer_get(t->tg, ARG_INT(0), &v);
        break;
    default:
        return -EINVAL;
    }
    return fb_mm_copy_out(t->mm, a[1], &v, sizeof(v)) ? -EFAULT : 0;
}

FB_SYSCALL(setitimer)
{
    struct itimerval nv, old;
    int which = ARG_INT(0);

    memset(&nv, 0, sizeof(nv));
    if (a[1] && fb_mm_copy_in(t->mm, a[1], &nv, sizeof(nv)) != 0)
        return -EFAULT;
    if (nv.it_value.tv_usec < 0 || nv.it_value.tv_usec >= 1000000 || nv.it_value.tv_sec < 0 ||
        nv.it_interval.tv_usec < 0 || nv.it_interval.tv_usec >= 1000000 ||
        nv.it_interval.tv_sec < 0)
        return -EINVAL;
    switch (which) {
    case ITIMER_REAL:
        old = real_value(t->tg);
        set_real(t->tg, &nv);
        break;
    case ITIMER_VIRTUAL:
    case ITIMER_PROF:
        fb_cpu_itimer_set(t->tg, which, &nv, &old);
        break;
    default:
        return -EINVAL;
    }
    if (a[2] && fb_mm_copy_out(t->mm, a[2], &old, sizeof(old)) != 0)
        return -EFAULT;
    return 0;
}

FB_SYSCALL(alarm)
{
    struct itimerval old = real_value(t->tg), nv;
    int64_t left;
    memset(&nv, 0, sizeof(nv));
    nv.it_value.tv_sec = (time_t)(uint32_t)a[0];
    set_real(t->tg, &nv);
    left = old.it_value.tv_sec + (old.it_value.tv_usec >= 500000 ? 1 : 0);
    if (!left && (old.it_value.tv_usec))
        left = 1;
    return left;
}

/* ---- POSIX timers (kernel/time/posix_timers.c) -------------------------------------------------------- */

FB_SYSCALL(timer_create)
{
    return fb_timer_create(t, ARG_INT(0), a[1], a[2]);
}

FB_SYSCALL(timer_settime)
{
    return fb_timer_settime(t, ARG_INT(0), ARG_INT(1), a[2], a[3]);
}

FB_SYSCALL(timer_gettime)
{
    return fb_timer_gettime(t, ARG_INT(0), a[1]);
}

FB_SYSCALL(timer_getoverrun)
{
    return fb_timer_getoverrun(t, ARG_INT(0));
}

FB_SYSCALL(timer_delete)
{
    return fb_timer_delete(t, ARG_INT(0));
}
