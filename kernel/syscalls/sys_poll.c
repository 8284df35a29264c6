/* poll, ppoll, select, pselect6: readiness of many files, sleeping on all of their wait queues
 * (and host fds) at once. */
#include "kernel/syscalls/syscall.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include "kernel/mm/mm.h"
#include "kernel/signal/signal.h"
#include "kernel/syscalls/sys_util.h"
#include "kernel/util/cleanup.h"
#include "kernel/vfs/vfs.h"

#define DEFAULT_POLLMASK (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)

/* Readiness of one fd (registering for wake-ups on pt when non-NULL). When it registers, the
 * file's reference is kept in *held: the wait queues it registered on live in the file's inode,
 * which another thread closing the fd during the sleep must not free. */
static short poll_one(struct fb_task *t, int fd, short events, struct fb_poll_table *pt,
                      struct fb_file **held)
{
    struct fb_file *f;
    unsigned mask;

    *held = NULL;
    if (fd < 0)
        return 0;
    f = fb_fd_get(t, fd);
    if (!f)
        return POLLNVAL;
    mask = f->ops && f->ops->poll ? f->ops->poll(f, pt) : DEFAULT_POLLMASK;
    if (pt)
        *held = f;
    else
        fb_file_put(f);
    return (short)(mask & ((unsigned)events | POLLERR | POLLHUP | POLLNVAL));
}

static void drop_held(struct fb_file **held, unsigned n)
{
    unsigned i;
    for (i = 0; i < n; i++)
        if (held[i]) {
            fb_file_put(held[i]);
            held[i] = NULL;
        }
}

/* Core loop: deadline 0 = forever, -1 = do not wait. Returns ready count or -errno. */
static int64_t do_poll(struct fb_task *t, struct pollfd *fds, unsigned n, int64_t deadline)
{
    struct fb_poll_table *pt = malloc(sizeof(*pt));
    struct fb_file **held = calloc(n ? n : 1, sizeof(*held));
    int64_t ready;
    unsigned i;

    if (!pt || !held) {
        free(pt);
        free(held);
        return -ENOMEM;
    }
    for (;;) {
        fb_poll_init(pt, t);
        ready = 0;
        for (i = 0; i < n; i++) {
            fds[i].revents =
                poll_one(t, fds[i].fd, fds[i].events, deadline == -1 ? NULL : pt, &held[i]);
            if (fds[i].revents)
                ready++;
        }
        if (ready || deadline == -1) {
            fb_poll_done(pt);
            drop_held(held, n);
            break;
        }
        {
            int r = fb_poll_sleep(pt, deadline);
            fb_poll_done(pt);
            drop_held(held, n);
            if (r == -ETIMEDOUT) {
                ready = 0;
                break;
            }
            if (r == -EINTR) {
                ready = -FB_ERESTARTNOHAND;
                break;
            }
        }
    }
    free(pt);
    free(held);
    return ready;
}

static int64_t poll_common(struct fb_task *t, uint64_t ufds, uint64_t nfds, int64_t deadline)
{
    struct pollfd *fds;
    int64_t r;

    if (nfds > t->tg->rlim[RLIMIT_NOFILE].rlim_cur || nfds > 1048576)
        return -EINVAL;
    fds = malloc(nfds ? nfds * sizeof(*fds) : 1);
    if (!fds)
        return -ENOMEM;
    if (nfds && fb_mm_copy_in(t->mm, ufds, fds, nfds * sizeof(*fds)) != 0) {
        free(fds);
        return -EFAULT;
    }
    r = do_poll(t, fds, (unsigned)nfds, deadline);
    if (r >= 0 && nfds) {
        for (uint64_t i = 0; i < nfds; i++)
            if (fb_mm_copy_out(t->mm, ufds + i * sizeof(*fds) + 6, &fds[i].revents, 2) != 0) {
                r = -EFAULT;
                break;
            }
    }
    free(fds);
    return r;
}

FB_SYSCALL(poll)
{
    int timeout = ARG_INT(2);
    int64_t deadline = timeout < 0 ? 0 : timeout == 0 ? -1 : fb_task_deadline(t, timeout * 1000000ll);
    return poll_common(t, a[0], a[1], deadline);
}

/* Apply a temporary signal mask for ppoll/pselect (restored after, or after the handler). */
static int set_temp_mask(struct fb_task *t, uint64_t umask, size_t size)
{
    uint64_t mask;
    if (!umask)
        return 0;
    if (size != 8)
        return -EINVAL;
    if (fb_mm_copy_in(t->mm, umask, &mask, 8) != 0)
        return -EFAULT;
    t->saved_mask = t->blocked;
    t->restore_mask = true;
    t->blocked = mask & ~FB_SIG_UNBLOCKABLE;
    return 0;
}

FB_SYSCALL(ppoll)
{
    int64_t deadline = 0, ns, r;
    if (a[2]) {
        int e = fb_get_timespec(t, a[2], &ns);
        if (e < 0)
            return e;
        deadline = ns == 0 ? -1 : fb_task_deadline(t, ns);
    }
    r = set_temp_mask(t, a[3], (size_t)a[4]);
    if (r < 0)
        return r;
    r = poll_common(t, a[0], a[1], deadline);
    if (a[2] && r != -FB_ERESTARTNOHAND && deadline > 0) {
        int64_t left = deadline - fb_app_mono_ns();
        fb_put_timespec(t, a[2], left > 0 ? left : 0);
    }
    return r;
}

/* ---- select ------------------------------------------------------------------------------------------ */

#define SEL_IN  (POLLIN | POLLRDNORM | POLLHUP | POLLERR)
#define SEL_OUT (POLLOUT | POLLWRNORM | POLLERR)
#define SEL_EX  (POLLPRI)

static int64_t select_common(struct fb_task *t, int n, uint64_t uin, uint64_t uout, uint64_t uex,
                             int64_t deadline)
{
    size_t bytes = (size_t)(n + 7) / 8, words = (size_t)(n + 63) / 64;
    uint64_t *in = NULL, *out = NULL, *ex = NULL, *rin, *rout, *rex;
    struct pollfd *fds = NULL;
    unsigned nfds = 0;
    int64_t r;
    int fd;

    if (n < 0)
        return -EINVAL;
    if ((uint64_t)n > t->tg->rlim[RLIMIT_NOFILE].rlim_cur)
        n = (int)t->tg->rlim[RLIMIT_NOFILE].rlim_cur;
    bytes = (size_t)(n + 7) / 8;
    words = (size_t)(n + 63) / 64;
    in = calloc(words * 6 + 1, 8);
    fds = malloc(((size_t)n + 1) * sizeof(*fds));
    if (!in || !fds) {
        r = -ENOMEM;
        goto out;
    }
    out = in + words;
    ex = out + words;
    rin = ex + words;
    rout = rin + words;
    rex = rout + words;
    if ((uin && fb_mm_copy_in(t->mm, uin, in, bytes)) ||
        (uout && fb_mm_copy_in(t->mm, uout, out, bytes)) ||
        (uex && fb_mm_copy_in(t->mm, uex, ex, bytes))) {
        r = -EFAULT;
        goto out;
    }
    for (fd = 0; fd < n; fd++) {
        short ev = 0;
        uint64_t bit = 1ull << (fd % 64);
        if (in[fd / 64] & bit)
            ev |= SEL_IN;
        if (out[fd / 64] & bit)
            ev |= SEL_OUT;
        if (ex[fd / 64] & bit)
            ev |= SEL_EX;
        if (!ev)
            continue;
        fds[nfds].fd = fd;
        fds[nfds].events = ev;
        nfds++;
    }
    r = do_poll(t, fds, nfds, deadline);
    if (r < 0)
        goto out;
    r = 0;
    for (unsigned i = 0; i < nfds; i++) {
        int f = fds[i].fd;
        uint64_t bit = 1ull << (f % 64);
        if (fds[i].revents & POLLNVAL) {
            r = -EBADF;
            goto out;
        }
        if ((fds[i].events & SEL_IN) && (fds[i].revents & SEL_IN)) {
            rin[f / 64] |= bit;
            r++;
        }
        if ((fds[i].events & SEL_OUT) && (fds[i].revents & SEL_OUT)) {
            rout[f / 64] |= bit;
            r++;
        }
        if ((fds[i].events & SEL_EX) && (fds[i].revents & SEL_EX)) {
            rex[f / 64] |= bit;
            r++;
        }
    }
    if ((uin && fb_mm_copy_out(t->mm, uin, rin, bytes)) ||
        (uout && fb_mm_copy_out(t->mm, uout, rout, bytes)) ||
        (uex && fb_mm_copy_out(t->mm, uex, rex, bytes)))
        r = -EFAULT;
out:
    free(in);
    free(fds);
    return r;
}

FB_SYSCALL(select)
{
    int64_t deadline = 0, r;
    if (a[4]) {
        struct timeval tv;
        if (fb_mm_copy_in(t->mm, a[4], &tv, sizeof(tv)) != 0)
            return -EFAULT;
        if (tv.tv_sec < 0 || tv.tv_usec < 0)
            return -EINVAL;
        int64_t ns = tv.tv_sec * 1000000000ll + (tv.tv_usec % 1000000) * 1000;
        deadline = ns == 0 ? -1 : fb_task_deadline(t, ns);
    }
    r = select_common(t, ARG_INT(0), a[1], a[2], a[3], deadline);
    if (a[4] && deadline > 0 && r != -FB_ERESTARTNOHAND) {
        int64_t left = deadline - fb_app_mono_ns();
        struct timeval tv;
        if (left < 0)
            left = 0;
        tv.tv_sec = left / 1000000000;
        tv.tv_usec = (left % 1000000000) / 1000;
        fb_mm_copy_out(t->mm, a[4], &tv, sizeof(tv));
    }
    return r;
}

FB_SYSCALL(pselect6)
{
    int64_t deadline = 0, ns, r;
    struct {
        uint64_t ss;
        uint64_t len;
    } sig = {0, 0};

    if (a[4]) {
        int e = fb_get_timespec(t, a[4], &ns);
        if (e < 0)
            return e;
        deadline = ns == 0 ? -1 : fb_task_deadline(t, ns);
    }
    if (a[5]) {
        if (fb_mm_copy_in(t->mm, a[5], &sig, sizeof(sig)) != 0)
            return -EFAULT;
        r = set_temp_mask(t, sig.ss, (size_t)sig.len);
        if (r < 0)
            return r;
    }
    r = select_common(t, ARG_INT(0), a[1], a[2], a[3], deadline);
    if (a[4] && deadline > 0 && r != -FB_ERESTARTNOHAND) {
        int64_t left = deadline - fb_app_mono_ns();
        fb_put_timespec(t, a[4], left > 0 ? left : 0);
    }
    return r;
}
