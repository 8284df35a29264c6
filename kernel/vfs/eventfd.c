/* eventfd: a 64-bit counter file for wake-ups (eventfd(2)), with Linux's 8-byte read/write rules,
 * semaphore mode, blocking and O_NONBLOCK, and poll. Part of the VFS event files (event.h). */
#include "kernel/vfs/event.h"
#include "kernel/vfs/vfs_save.h"
#include "snapshot/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/eventfd.h>

#include "kernel/signal/signal.h"

#define EFD_COUNT_MAX UINT64_MAX /* the counter never reaches it: writes stop one below */

struct eventfd {
    uint64_t count;
    bool semaphore;
};

static int64_t efd_read(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    struct eventfd *e = f->priv;
    uint64_t v;
    int64_t n;
    (void)off;

    if (u->resid < sizeof(v))
        return -EINVAL;
    while (e->count == 0) {
        if (f->flags & O_NONBLOCK)
            return -EAGAIN;
        if (fb_file_wait(f, fb_current, 0) == -EINTR)
            return -FB_ERESTARTSYS;
    }
    v = e->semaphore ? 1 : e->count;
    n = fb_uio_copy_to(u, &v, sizeof(v));
    if (n != (int64_t)sizeof(v))
        return n < 0 ? n : -EFAULT;
    e->count -= v;
    fb_waitq_wake_all(&f->inode->poll_wq);
    return sizeof(v);
}

static int64_t efd_write(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    struct eventfd *e = f->priv;
    uint64_t v;
    int64_t n;
    (void)off;

    if (u->resid < sizeof(v))
        return -EINVAL;
    n = fb_uio_copy_from(u, &v, sizeof(v));
    if (n != (int64_t)sizeof(v))
        return n < 0 ? n : -EFAULT;
    if (v == EFD_COUNT_MAX)
        return -EINVAL;
    while (EFD_COUNT_MAX - e->count <= v) {
        if (f->flags & O_NONBLOCK)
            return -EAGAIN;
        if (fb_file_wait(f, fb_current, 0) == -EINTR)
            return -FB_ERESTARTSYS;
    }
    e->count += v;
    fb_waitq_wake_all(&f->inode->poll_wq);
    return sizeof(v);
}

static unsigned efd_poll(struct fb_file *f, struct fb_poll_table *pt)
{
    struct eventfd *e = f->priv;
    unsigned mask = 0;

    fb_poll_wait(pt, &f->inode->poll_wq);
    if (e->count > 0)
        mask |= POLLIN | POLLRDNORM;
    if (e->count == EFD_COUNT_MAX)
        mask |= POLLERR;
    if (EFD_COUNT_MAX - 1 > e->count)
        mask |= POLLOUT | POLLWRNORM;
    return mask;
}

static void efd_release(struct fb_file *f)
{
    fb_waitq_wake_detach(&f->inode->poll_wq);
    free(f->priv);
}

static const struct fb_file_ops eventfd_ops = {
    .read = efd_read,
    .write = efd_write,
    .llseek = fb_anon_llseek,
    .poll = efd_poll,
    .release = efd_release,
};

int fb_eventfd_new(uint64_t count, int flags, struct fb_file **out)
{
    struct eventfd *e = calloc(1, sizeof(*e));
    int r;

    if (!e)
        return -ENOMEM;
    e->count = count;
    e->semaphore = flags & EFD_SEMAPHORE;
    r = fb_anon_file_new("eventfd", &eventfd_ops, O_RDWR | (flags & O_NONBLOCK), e, out);
    if (r < 0)
        free(e);
    return r;
}

/* ---- checkpoint support ------------------------------------------------------------------------ */

bool fb_file_is_eventfd(const struct fb_file *f)
{
    return fb_file_real_ops(f) == &eventfd_ops;
}

void fb_eventfd_save(const struct fb_file *f, struct fb_sw *w)
{
    const struct eventfd *e = f->priv;
    fb_sw_array(w, 2);
    fb_sw_u64(w, e->count);
    fb_sw_bool(w, e->semaphore);
}

int fb_eventfd_load(struct fb_sr *r, unsigned flags, struct fb_file **out)
{
    struct fb_sr s;
    uint64_t count;
    bool sem;

    fb_sr_sub(r, &s);
    count = fb_sr_u64(&s);
    sem = fb_sr_bool(&s);
    if (*r->err || count == EFD_COUNT_MAX)
        return -EINVAL;
    return fb_eventfd_new(count, (sem ? EFD_SEMAPHORE : 0) | (int)(flags & O_NONBLOCK), out);
}
