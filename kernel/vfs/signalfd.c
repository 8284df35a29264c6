/* signalfd: reading takes pending signals of the reading thread (its own queue, then its
 * process's) that are in the file's mask, as struct signalfd_siginfo. Part of the VFS event files
 * (event.h).
 *
 * Wake-ups. Sending a signal only interrupts a thread that does not block it, and signalfd users
 * block their signals, so nothing in signal.c wakes a signalfd sleeper. (Unblocking the mask for
 * the sleep, as rt_sigtimedwait does here, is no way out: a default-ignored signal such as
 * SIGCHLD is then discarded at sending instead of queued.) So blocking reads, poll, select and
 * epoll register on a "signal tick" queue: while anyone sleeps on it, a 1 ms kernel timer
 * compares the sleepers' pending signals with the masks of all signalfds and wakes them when one
 * matches. Readiness is seen within a millisecond of the signal.
 * A wait queue woken by signal sending (one line in signal.c's queueing) would replace the tick. */
#include "kernel/vfs/event.h"
#include "kernel/vfs/vfs_save.h"
#include "snapshot/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>

#include "kernel/signal/signal.h"
#include "kernel/time/timer.h"

#define TICK_NS 1000000ll

struct signalfd {
    struct fb_list node; /* all signalfds, for the tick's union of masks */
    uint64_t mask;
};

static struct fb_list all_sigfds = FB_LIST_INIT(all_sigfds);
static struct fb_waitq tick_wq = {FB_LIST_INIT(tick_wq.waiters)};
static void tick_fire(struct fb_ktimer *k);
static struct fb_ktimer tick = {.fire = tick_fire};

static const struct fb_file_ops signalfd_ops;

bool fb_file_is_signalfd(const struct fb_file *f)
{
    return fb_file_real_ops(f) == &signalfd_ops;
}

static uint64_t pending_of(const struct fb_task *t)
{
    return t->pending.mask | t->tg->shared_pending.mask;
}

static void tick_arm(void)
{
    if (!tick.armed)
        fb_ktimer_arm(&tick, fb_app_mono_ns() + TICK_NS);
}

static void tick_fire(struct fb_ktimer *k)
{
    uint64_t all = 0;
    bool match = false;
    struct fb_list *pos;
    (void)k;

    if (fb_list_empty(&tick_wq.waiters))
        return; /* nobody waits: stay idle until the next poll arms it */
    fb_list_for_each(pos, &all_sigfds) all |= fb_list_entry(pos, struct signalfd, node)->mask;
    fb_list_for_each(pos, &tick_wq.waiters)
    {
        struct fb_waiter *w = fb_list_entry(pos, struct fb_waiter, node);
        if (w->task->tg && (pending_of(w->task) & all))
            match = true;
    }
    if (match)
        fb_waitq_wake_all(&tick_wq);
    else
        tick_arm();
}

/* Which siginfo union members are meaningful (Linux siginfo_layout). */
enum layout { L_KILL, L_TIMER, L_POLL, L_FAULT, L_CHLD, L_RT, L_SYS };

static enum layout layout_of(int sig, int code)
{
    if (code > SI_USER && code < SI_KERNEL) {
        switch (sig) {
        case SIGILL:
        case SIGFPE:
        case SIGSEGV:
        case SIGBUS:
        case SIGTRAP:
            return L_FAULT;
        case SIGCHLD:
            return L_CHLD;
        case SIGPOLL:
            return L_POLL;
        case SIGSYS:
            return L_SYS;
        default:
            return code <= POLL_HUP ? L_POLL : L_KILL;
        }
    }
    if (code == SI_TIMER)
        return L_TIMER;
    if (code == SI_SIGIO)
        return L_POLL;
    return code < 0 ? L_RT : L_KILL;
}

static void to_ssi(const siginfo_t *si, struct signalfd_siginfo *o)
{
    memset(o, 0, sizeof(*o));
    o->ssi_signo = (uint32_t)si->si_signo;
    o->ssi_errno = si->si_errno;
    o->ssi_code = si->si_code;
    switch (layout_of(si->si_signo, si->si_code)) {
    case L_KILL:
        o->ssi_pid = (uint32_t)si->si_pid;
        o->ssi_uid = si->si_uid;
        break;
    case L_TIMER:
        o->ssi_tid = (uint32_t)si->si_timerid;
        o->ssi_overrun = (uint32_t)si->si_overrun;
        o->ssi_ptr = (uint64_t)si->si_ptr;
        o->ssi_int = si->si_int;
        break;
    case L_POLL:
        o->ssi_band = (uint32_t)si->si_band;
        o->ssi_fd = si->si_fd;
        break;
    case L_FAULT:
        o->ssi_addr = (uint64_t)si->si_addr;
        break;
    case L_CHLD:
        o->ssi_pid = (uint32_t)si->si_pid;
        o->ssi_uid = si->si_uid;
        o->ssi_status = si->si_status;
        o->ssi_utime = (uint64_t)si->si_utime;
        o->ssi_stime = (uint64_t)si->si_stime;
        break;
    case L_RT:
        o->ssi_pid = (uint32_t)si->si_pid;
        o->ssi_uid = si->si_uid;
        o->ssi_ptr = (uint64_t)si->si_ptr;
        o->ssi_int = si->si_int;
        break;
    case L_SYS:
        o->ssi_call_addr = (uint64_t)si->si_call_addr;
        o->ssi_syscall = si->si_syscall;
        o->ssi_arch = si->si_arch;
        break;
    }
}

static int64_t sfd_read(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    struct signalfd *s = f->priv;
    struct fb_task *t = fb_current;
    struct signalfd_siginfo ssi;
    int64_t done = 0;
    siginfo_t info = {0};
    (void)off;

    if (u->resid < sizeof(ssi))
        return -EINVAL;
    while (u->resid >= sizeof(ssi)) {
        int64_t n;
        if (!fb_signal_dequeue(t, s->mask, &info)) {
            struct fb_waiter w;
            int r;
            if (done)
                break;
            if (f->flags & O_NONBLOCK)
                return -EAGAIN;
            fb_waitq_add(&tick_wq, &w, t);
            tick_arm();
            r = fb_task_sleep(t, 0);
            fb_waitq_del(&w);
            if (r == -EINTR)
                return -FB_ERESTARTSYS;
            continue;
        }
        to_ssi(&info, &ssi);
        n = fb_uio_copy_to(u, &ssi, sizeof(ssi));
        if (n != (int64_t)sizeof(ssi))
            return done ? done : -EFAULT; /* the signal is lost, as on Linux */
        done += n;
    }
    return done;
}

static unsigned sfd_poll(struct fb_file *f, struct fb_poll_table *pt)
{
    struct signalfd *s = f->priv;
    struct fb_task *t = pt ? pt->task : fb_current;

    if (!t || !t->tg || fb_poll_task_is_watcher(t))
        t = fb_current;
    if (pt && !fb_poll_task_is_watcher(pt->task)) {
        fb_poll_wait(pt, &tick_wq);
        tick_arm();
    }
    return t && t->tg && (pending_of(t) & s->mask) ? POLLIN | POLLRDNORM : 0;
}

static void sfd_release(struct fb_file *f)
{
    struct signalfd *s = f->priv;
    fb_list_del(&s->node);
    fb_waitq_wake_detach(&f->inode->poll_wq);
    free(s);
}

static const struct fb_file_ops signalfd_ops = {
    .read = sfd_read,
    .llseek = fb_anon_llseek,
    .poll = sfd_poll,
    .release = sfd_release,
};

void fb_signalfd_set_mask(struct fb_file *f, uint64_t mask)
{
    struct signalfd *s = f->priv;
    s->mask = mask & ~FB_SIG_UNBLOCKABLE;
    fb_waitq_wake_all(&f->inode->poll_wq);
    fb_waitq_wake_all(&tick_wq);
}

int fb_signalfd_new(uint64_t mask, int flags, struct fb_file **out)
{
    struct signalfd *s = calloc(1, sizeof(*s));
    int r;

    if (!s)
        return -ENOMEM;
    s->mask = mask & ~FB_SIG_UNBLOCKABLE;
    r = fb_anon_file_new("signalfd", &signalfd_ops, O_RDWR | (flags & O_NONBLOCK), s, out);
    if (r < 0) {
        free(s);
        return r;
    }
    fb_list_add_tail(&all_sigfds, &s->node);
    return 0;
}

/* ---- checkpoint support ------------------------------------------------------------------------ */

void fb_signalfd_save(const struct fb_file *f, struct fb_sw *w)
{
    const struct signalfd *s = f->priv;
    fb_sw_u64(w, s->mask);
}

int fb_signalfd_load(struct fb_sr *r, unsigned flags, struct fb_file **out)
{
    uint64_t mask = fb_sr_u64(r);
    if (*r->err)
        return -EINVAL;
    return fb_signalfd_new(mask, (int)(flags & O_NONBLOCK), out);
}
