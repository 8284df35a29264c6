/* timerfd: timers read as a file (timerfd_create(2)). Expirations are counted lazily from the
 * clock (so none is ever lost, whatever the timer thread's latency); a kernel timer only wakes
 * sleepers at the next expiry, and like Linux's hrtimer it is not re-armed until someone looks.
 * Part of the VFS event files (event.h). */
#include "kernel/vfs/event.h"
#include "kernel/vfs/vfs_save.h"
#include "snapshot/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/timerfd.h>

#include "kernel/signal/signal.h"
#include "kernel/time/timer.h"

#define NS 1000000000ll

struct timerfd {
    struct fb_ktimer kt;  /* first: the timer callback finds the timerfd from it */
    struct fb_inode *ino; /* the file's inode (its poll_wq is our wait queue); the file owns it */
    int clockid;
    bool armed;
    int64_t next_ns;     /* next expiry, application CLOCK_MONOTONIC */
    int64_t interval_ns; /* 0 = one-shot */
    uint64_t ticks;      /* expirations not yet read */
};

static const struct fb_file_ops timerfd_ops;

bool fb_file_is_timerfd(const struct fb_file *f)
{
    return fb_file_real_ops(f) == &timerfd_ops;
}

static bool realtime_clock(int clockid)
{
    return clockid == CLOCK_REALTIME || clockid == CLOCK_REALTIME_ALARM;
}

/* Count expirations up to now. */
static void tfd_update(struct timerfd *tf, int64_t now)
{
    if (!tf->armed || now < tf->next_ns)
        return;
    if (tf->interval_ns) {
        uint64_t n = 1 + (uint64_t)(now - tf->next_ns) / (uint64_t)tf->interval_ns;
        tf->ticks += n;
        tf->next_ns += (int64_t)n * tf->interval_ns;
    } else {
        tf->ticks++;
        tf->armed = false;
    }
}

/* Make sure a sleeper is woken at the next expiry. */
static void tfd_arm_wakeup(struct timerfd *tf)
{
    if (tf->armed && (!tf->kt.armed || tf->kt.deadline_ns != tf->next_ns))
        fb_ktimer_arm(&tf->kt, tf->next_ns);
}

static void tfd_fire(struct fb_ktimer *k)
{
    struct timerfd *tf = (struct timerfd *)k;
    tfd_update(tf, fb_app_mono_ns());
    if (tf->ticks)
        fb_waitq_wake_all(&tf->ino->poll_wq);
    else
        tfd_arm_wakeup(tf); /* fired early (clock granularity): try again */
}

static int64_t tfd_read(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    struct timerfd *tf = f->priv;
    uint64_t v;
    int64_t n;
    (void)off;

    if (u->resid < sizeof(v))
        return -EINVAL;
    for (;;) {
        tfd_update(tf, fb_app_mono_ns());
        if (tf->ticks)
            break;
        if (f->flags & O_NONBLOCK)
            return -EAGAIN;
        tfd_arm_wakeup(tf);
        if (fb_file_wait(f, fb_current, 0) == -EINTR)
            return -FB_ERESTARTSYS;
    }
    v = tf->ticks;
    n = fb_uio_copy_to(u, &v, sizeof(v));
    if (n != (int64_t)sizeof(v))
        return n < 0 ? n : -EFAULT;
    tf->ticks = 0;
    return sizeof(v);
}

static unsigned tfd_poll(struct fb_file *f, struct fb_poll_table *pt)
{
    struct timerfd *tf = f->priv;

    fb_poll_wait(pt, &f->inode->poll_wq);
    tfd_update(tf, fb_app_mono_ns());
    if (tf->ticks)
        return POLLIN | POLLRDNORM;
    if (pt)
        tfd_arm_wakeup(tf);
    return 0;
}

static void tfd_release(struct fb_file *f)
{
    struct timerfd *tf = f->priv;
    fb_ktimer_cancel(&tf->kt);
    fb_waitq_wake_detach(&f->inode->poll_wq);
    free(tf);
}

static const struct fb_file_ops timerfd_ops = {
    .read = tfd_read,
    .llseek = fb_anon_llseek,
    .poll = tfd_poll,
    .release = tfd_release,
};

int fb_timerfd_new(int clockid, int flags, struct fb_file **out)
{
    struct timerfd *tf;
    int r;

    if (clockid != CLOCK_REALTIME && clockid != CLOCK_MONOTONIC && clockid != CLOCK_BOOTTIME &&
        clockid != CLOCK_REALTIME_ALARM && clockid != CLOCK_BOOTTIME_ALARM)
        return -EINVAL;
    tf = calloc(1, sizeof(*tf));
    if (!tf)
        return -ENOMEM;
    tf->clockid = clockid;
    tf->kt.fire = tfd_fire;
    r = fb_anon_file_new("timerfd", &timerfd_ops, O_RDWR | (flags & O_NONBLOCK), tf, out);
    if (r < 0) {
        free(tf);
        return r;
    }
    tf->ino = (*out)->inode;
    return 0;
}

static int64_t ts_ns(const struct timespec *ts)
{
    if (ts->tv_sec > INT64_MAX / NS / 4)
        return INT64_MAX / 4;
    return ts->tv_sec * NS + ts->tv_nsec;
}

static struct timespec ns_ts(int64_t ns)
{
    struct timespec ts = {ns / NS, ns % NS};
    return ts;
}

void fb_timerfd_gettime(struct fb_file *f, struct itimerspec *cur)
{
    struct timerfd *tf = f->priv;
    int64_t now = fb_app_mono_ns();

    tfd_update(tf, now);
    cur->it_interval = ns_ts(tf->interval_ns);
    cur->it_value = ns_ts(tf->armed ? tf->next_ns - now : 0); /* after the update, next > now */
}

static bool ts_valid(const struct timespec *ts)
{
    return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < NS;
}

bool fb_timerfd_setting_valid(int flags, const struct itimerspec *nv)
{
    return !(flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) && ts_valid(&nv->it_value) &&
           ts_valid(&nv->it_interval);
}

int fb_timerfd_settime(struct fb_file *f, int flags, const struct itimerspec *nv,
                       struct itimerspec *old)
{
    struct timerfd *tf = f->priv;
    int64_t now = fb_app_mono_ns(), value;

    if (!fb_timerfd_setting_valid(flags, nv))
        return -EINVAL;
    if (old)
        fb_timerfd_gettime(f, old);
    fb_ktimer_cancel(&tf->kt);
    tf->ticks = 0;
    tf->armed = false;
    tf->interval_ns = ts_ns(&nv->it_interval); /* kept even when disarmed, as Linux does */
    value = ts_ns(&nv->it_value);
    if (value == 0)
        return 0;
    if (!(flags & TFD_TIMER_ABSTIME))
        tf->next_ns = now + value;
    else if (realtime_clock(tf->clockid))
        tf->next_ns = now + (value - fb_app_real_ns()); /* wall-clock steps later are not seen */
    else
        tf->next_ns = value;
    tf->armed = true;
    tfd_update(tf, now);
    if (tf->ticks)
        fb_waitq_wake_all(&f->inode->poll_wq);
    else
        tfd_arm_wakeup(tf);
    return 0;
}

/* ---- checkpoint support ------------------------------------------------------------------------ */

void fb_timerfd_save(const struct fb_file *f, struct fb_sw *w)
{
    const struct timerfd *tf = f->priv;
    fb_sw_array(w, 5);
    fb_sw_i64(w, tf->clockid);
    fb_sw_bool(w, tf->armed);
    fb_sw_i64(w, tf->next_ns);
    fb_sw_i64(w, tf->interval_ns);
    fb_sw_u64(w, tf->ticks);
}

int fb_timerfd_load(struct fb_sr *r, unsigned flags, struct fb_file **out)
{
    struct fb_sr s;
    struct timerfd *tf;
    int64_t clockid, next, interval;
    uint64_t ticks;
    bool armed;
    int rc;

    fb_sr_sub(r, &s);
    clockid = fb_sr_i64(&s);
    armed = fb_sr_bool(&s);
    next = fb_sr_i64(&s);
    interval = fb_sr_i64(&s);
    ticks = fb_sr_u64(&s);
    if (*r->err || interval < 0 || next < 0 || clockid < 0 || clockid > 64)
        return -EINVAL;
    rc = fb_timerfd_new((int)clockid, (int)(flags & O_NONBLOCK), out);
    if (rc < 0)
        return rc;
    tf = (*out)->priv;
    tf->armed = armed;
    tf->next_ns = next;
    tf->interval_ns = interval;
    tf->ticks = ticks;
    if (armed)
        fb_ktimer_arm(&tf->kt, next); /* application monotonic: it continues across a restore */
    return 0;
}
