/* Event file system calls: eventfd, epoll, timerfd and signalfd. Thin handlers: decode and check
 * arguments in Linux's order, call kernel/vfs (event.h), copy results out. */
#include "kernel/syscalls/syscall.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include "kernel/signal/signal.h"
#include "kernel/syscalls/sys_util.h"
#include "kernel/util/cleanup.h"
#include "kernel/vfs/event.h"

#define EP_MAX_EVENTS   (INT_MAX / (int)sizeof(struct epoll_event))
#define EP_BATCH_EVENTS 4096 /* events returned by one call at most (fewer than asked is fine) */

/* Install a new file at the lowest free fd (dropping our reference). */
static int64_t install(struct fb_task *t, struct fb_file *f, bool cloexec)
{
    int fd = fb_fd_install(t, f, 0, cloexec);
    fb_file_put(f);
    return fd;
}

/* ---- eventfd --------------------------------------------------------------------------------- */

static int64_t do_eventfd(struct fb_task *t, uint32_t count, int flags)
{
    struct fb_file *f = NULL;
    int r;
    if (flags & ~(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE))
        return -EINVAL;
    r = fb_eventfd_new(count, flags, &f);
    return r < 0 ? r : install(t, f, flags & EFD_CLOEXEC);
}

FB_SYSCALL(eventfd)
{
    return do_eventfd(t, ARG_U32(0), 0);
}

FB_SYSCALL(eventfd2)
{
    return do_eventfd(t, ARG_U32(0), ARG_INT(1));
}

/* ---- epoll ----------------------------------------------------------------------------------- */

static int64_t do_epoll_create(struct fb_task *t, int flags)
{
    struct fb_file *f = NULL;
    int r;
    if (flags & ~EPOLL_CLOEXEC)
        return -EINVAL;
    r = fb_epoll_new(&f);
    return r < 0 ? r : install(t, f, flags & EPOLL_CLOEXEC);
}

FB_SYSCALL(epoll_create)
{
    if (ARG_INT(0) <= 0)
        return -EINVAL;
    return do_epoll_create(t, 0);
}

FB_SYSCALL(epoll_create1)
{
    return do_epoll_create(t, ARG_INT(0));
}

FB_SYSCALL(epoll_ctl)
{
    int op = ARG_INT(1), fd = ARG_INT(2);
    struct epoll_event ev = {0};
    struct fb_file *ep, *target;
    int64_t r;

    if (op != EPOLL_CTL_DEL && fb_mm_copy_in(t->mm, a[3], &ev, sizeof(ev)) != 0)
        return -EFAULT;
    ep = fb_fd_get(t, ARG_INT(0));
    if (!ep)
        return -EBADF;
    target = fb_fd_get(t, fd);
    if (!target) {
        fb_file_put(ep);
        return -EBADF;
    }
    r = fb_epoll_ctl(ep, op, fd, target, op == EPOLL_CTL_DEL ? NULL : &ev);
    fb_file_put(target);
    fb_file_put(ep);
    return r;
}

/* epoll_wait and friends. deadline: 0 = forever, -1 = do not wait. */
static int64_t do_epoll_wait(struct fb_task *t, int epfd, uint64_t uevents, int max,
                             int64_t deadline)
{
    struct epoll_event *evs;
    struct fb_file *f;
    int64_t n;

    if (max <= 0 || max > EP_MAX_EVENTS)
        return -EINVAL;
    f = fb_fd_get(t, epfd);
    if (!f)
        return -EBADF;
    if (!fb_file_is_epoll(f)) {
        fb_file_put(f);
        return -EINVAL;
    }
    max = FB_MIN(max, EP_BATCH_EVENTS);
    evs = malloc((size_t)max * sizeof(*evs));
    if (!evs) {
        fb_file_put(f);
        return -ENOMEM;
    }
    n = fb_epoll_wait(t, f, evs, max, deadline);
    if (n > 0 && fb_mm_copy_out(t->mm, uevents, evs, (size_t)n * sizeof(*evs)) != 0)
        n = -EFAULT;
    free(evs);
    fb_file_put(f);
    return n;
}

static int64_t ms_deadline(struct fb_task *t, int timeout_ms)
{
    if (timeout_ms < 0)
        return 0;
    if (timeout_ms == 0)
        return -1;
    return fb_task_deadline(t, timeout_ms * 1000000ll);
}

/* The temporary signal mask of epoll_pwait/epoll_pwait2 (restored after the call, or after the
 * handler of the signal that interrupted it). */
static int set_temp_mask(struct fb_task *t, uint64_t umask, uint64_t size)
{
    uint64_t mask;
    if (!umask)
        return 0;
    if (size != sizeof(mask))
        return -EINVAL;
    if (fb_mm_copy_in(t->mm, umask, &mask, sizeof(mask)) != 0)
        return -EFAULT;
    t->saved_mask = t->blocked;
    t->restore_mask = true;
    t->blocked = mask & ~FB_SIG_UNBLOCKABLE;
    return 0;
}

FB_SYSCALL(epoll_wait)
{
    return do_epoll_wait(t, ARG_INT(0), a[1], ARG_INT(2), ms_deadline(t, ARG_INT(3)));
}

FB_SYSCALL(epoll_pwait)
{
    int r = set_temp_mask(t, a[4], a[5]);
    if (r < 0)
        return r;
    return do_epoll_wait(t, ARG_INT(0), a[1], ARG_INT(2), ms_deadline(t, ARG_INT(3)));
}

FB_SYSCALL(epoll_pwait2)
{
    int64_t deadline = 0, ns;
    int r;

    if (a[3]) {
        r = fb_get_timespec(t, a[3], &ns);
        if (r < 0)
            return r;
        deadline = ns == 0 ? -1 : fb_task_deadline(t, ns);
    }
    r = set_temp_mask(t, a[4], a[5]);
    if (r < 0)
        return r;
    return do_epoll_wait(t, ARG_INT(0), a[1], ARG_INT(2), deadline);
}

/* ---- timerfd --------------------------------------------------------------------------------- */

FB_SYSCALL(timerfd_create)
{
    struct fb_file *f = NULL;
    int flags = ARG_INT(1), r;

    if (flags & ~(TFD_CLOEXEC | TFD_NONBLOCK))
        return -EINVAL;
    r = fb_timerfd_new(ARG_INT(0), flags, &f);
    return r < 0 ? r : install(t, f, flags & TFD_CLOEXEC);
}

/* The timerfd at fd (with a reference), or NULL with *err = -EBADF / -EINVAL. */
static struct fb_file *timerfd_at(struct fb_task *t, int fd, int64_t *err)
{
    struct fb_file *f = fb_fd_get(t, fd);
    if (!f) {
        *err = -EBADF;
        return NULL;
    }
    if (!fb_file_is_timerfd(f)) {
        fb_file_put(f);
        *err = -EINVAL;
        return NULL;
    }
    return f;
}

FB_SYSCALL(timerfd_settime)
{
    struct itimerspec nv, old;
    struct fb_file *f;
    int64_t r;

    if (fb_mm_copy_in(t->mm, a[2], &nv, sizeof(nv)) != 0)
        return -EFAULT;
    if (!fb_timerfd_setting_valid(ARG_INT(1), &nv))
        return -EINVAL;
    f = timerfd_at(t, ARG_INT(0), &r);
    if (!f)
        return r;
    r = fb_timerfd_settime(f, ARG_INT(1), &nv, &old);
    fb_file_put(f);
    if (r == 0 && a[3] && fb_mm_copy_out(t->mm, a[3], &old, sizeof(old)) != 0)
        r = -EFAULT;
    return r;
}

FB_SYSCALL(timerfd_gettime)
{
    struct itimerspec cur;
    struct fb_file *f;
    int64_t r;

    f = timerfd_at(t, ARG_INT(0), &r);
    if (!f)
        return r;
    fb_timerfd_gettime(f, &cur);
    fb_file_put(f);
    return fb_mm_copy_out(t->mm, a[1], &cur, sizeof(cur)) ? -EFAULT : 0;
}

/* ---- signalfd -------------------------------------------------------------------------------- */

static int64_t do_signalfd(struct fb_task *t, int fd, uint64_t umask, uint64_t size, int flags)
{
    struct fb_file *f = NULL;
    uint64_t mask;

    if (size != sizeof(mask))
        return -EINVAL;
    if (fb_mm_copy_in(t->mm, umask, &mask, sizeof(mask)) != 0)
        return -EFAULT;
    if (flags & ~(SFD_CLOEXEC | SFD_NONBLOCK))
        return -EINVAL;
    if (fd == -1) {
        int r = fb_signalfd_new(mask, flags, &f);
        return r < 0 ? r : install(t, f, flags & SFD_CLOEXEC);
    }
    f = fb_fd_get(t, fd);
    if (!f)
        return -EBADF;
    if (!fb_file_is_signalfd(f)) {
        fb_file_put(f);
        return -EINVAL;
    }
    fb_signalfd_set_mask(f, mask);
    fb_file_put(f);
    return fd;
}

FB_SYSCALL(signalfd)
{
    return do_signalfd(t, ARG_INT(0), a[1], a[2], 0);
}

FB_SYSCALL(signalfd4)
{
    return do_signalfd(t, ARG_INT(0), a[1], a[2], ARG_INT(3));
}
