/* Anonymous-inode files (eventfd, epoll, timerfd, signalfd) and the wait helpers the event files
 * and sockets share. Part of the VFS (kernel/vfs/event.h); kernel lock held throughout. */
#include "kernel/vfs/event.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* One pseudo filesystem for all of them, like Linux's anon_inodefs. */
static struct fb_sb anon_sb = {.type = "anon_inodefs", .magic = 0x09041934};

int fb_anon_file_new(const char *name, const struct fb_file_ops *ops, unsigned flags, void *priv,
                     struct fb_file **out)
{
    struct fb_inode *ino;
    struct fb_file *f;

    if (!anon_sb.dev)
        anon_sb.dev = fb_vfs_new_dev();
    ino = fb_inode_new(&anon_sb, NULL, 0600);
    if (!ino)
        return -ENOMEM;
    if (fb_current && fb_current->tg) {
        ino->st.uid = fb_current->tg->fsuid;
        ino->st.gid = fb_current->tg->fsgid;
    }
    f = fb_file_new(ino, NULL, flags);
    fb_inode_put(ino); /* the file holds the only reference */
    if (!f)
        return -ENOMEM;
    if (asprintf(&f->anon_name, "anon_inode:[%s]", name) < 0)
        f->anon_name = NULL; /* /proc then shows a generic name */
    f->ops = ops;
    f->priv = priv;
    *out = f;
    return 0;
}

void fb_waitq_wake_detach(struct fb_waitq *q)
{
    struct fb_list *pos, *tmp;

    fb_waitq_wake_all(q);
    fb_list_for_each_safe(pos, tmp, &q->waiters)
        fb_waitq_del(fb_list_entry(pos, struct fb_waiter, node));
}

int fb_file_wait(struct fb_file *f, struct fb_task *t, int64_t deadline_ns)
{
    struct fb_waiter w;
    int r;

    fb_waitq_add(&f->inode->poll_wq, &w, t);
    r = fb_task_sleep(t, deadline_ns);
    fb_waitq_del(&w);
    return r;
}

int64_t fb_anon_llseek(struct fb_file *f, int64_t off, int whence)
{
    (void)f;
    (void)off;
    (void)whence;
    return 0;
}
