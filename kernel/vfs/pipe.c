/* Pipes and FIFOs: a ring buffer shared by reader and writer files, with blocking, non-blocking,
 * PIPE_BUF atomicity, EOF, EPIPE and poll semantics of Linux. */
#include "kernel/vfs/vfs.h"
#include "kernel/vfs/vfs_save.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kernel/signal/signal.h"
#include "kernel/util/cleanup.h"

#define PIPE_DEF_SIZE (64 * 1024)
#define PIPE_MAX_SIZE (1024 * 1024)
#define PIPE_BUF_     4096

struct fb_pipe {
    uint8_t *buf;
    size_t cap, head, len; /* data is buf[head .. head+len) modulo cap */
    int readers, writers;
    unsigned r_opens, w_opens; /* FIFO open counters (open blocks until the other side) */
};

static struct fb_sb pipe_sb = {.type = "pipefs", .magic = 0x50495045};

static struct fb_pipe *pipe_alloc(void)
{
    struct fb_pipe *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->cap = PIPE_DEF_SIZE;
    return p;
}

void fb_pipe_release_inode(struct fb_inode *ino)
{
    if (ino->pipe) {
        free(ino->pipe->buf);
        free(ino->pipe);
        ino->pipe = NULL;
    }
}

static struct fb_pipe *pipe_of(struct fb_file *f)
{
    return f->inode->pipe;
}

static void wake(struct fb_file *f)
{
    fb_waitq_wake_all(&f->inode->poll_wq);
}

static int wait_change(struct fb_file *f, struct fb_task *t)
{
    struct fb_waiter w;
    int r;
    fb_waitq_add(&f->inode->poll_wq, &w, t);
    r = fb_task_sleep(t, 0);
    fb_waitq_del(&w);
    return r;
}

static int64_t pipe_read(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    struct fb_pipe *p = pipe_of(f);
    struct fb_task *t = fb_current;
    size_t done = 0;
    (void)off;

    if (!u->resid)
        return 0;
    while (p->len == 0) {
        if (p->writers == 0)
            return 0;
        if (f->flags & O_NONBLOCK)
            return -EAGAIN;
        if (wait_change(f, t) == -EINTR)
            return -FB_ERESTARTSYS;
    }
    while (p->len && u->resid) {
        size_t seg = FB_MIN(p->len, p->cap - p->head);
        int64_t n = fb_uio_copy_to(u, p->buf + p->head, seg);
        if (n <= 0) {
            if (!done)
                return n ? n : -EFAULT;
            break;
        }
        p->head = (p->head + (size_t)n) % p->cap;
        p->len -= (size_t)n;
        done += (size_t)n;
        if ((size_t)n < seg)
            break;
    }
    if (!p->len)
        p->head = 0;
    wake(f);
    return (int64_t)done;
}

static int64_t pipe_write(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    struct fb_pipe *p = pipe_of(f);
    struct fb_task *t = fb_current;
    size_t total = u->resid, done = 0;
    (void)off;

    if (!total)
        return 0;
    if (!p->buf) {
        p->buf = malloc(p->cap);
        if (!p->buf)
            return -ENOMEM;
    }
    while (done < total) {
        size_t space, want;
        if (p->readers == 0)
            return done ? (int64_t)done : -EPIPE;
        space = p->cap - p->len;
        /* Writes of at most PIPE_BUF bytes are atomic: wait for room for all of them. */
        want = total - done <= PIPE_BUF_ ? total - done : 1;
        if (space < want) {
            if (f->flags & O_NONBLOCK)
                return done ? (int64_t)done : -EAGAIN;
            if (wait_change(f, t) == -EINTR)
                return done ? (int64_t)done : -FB_ERESTARTSYS;
            continue;
        }
        while (space && done < total) {
            size_t tail = (p->head + p->len) % p->cap;
            size_t seg = FB_MIN(space, p->cap - tail);
            int64_t n = fb_uio_copy_from(u, p->buf + tail, FB_MIN(seg, total - done));
            if (n <= 0) {
                if (done)
                    goto out;
                return n ? n : -EFAULT;
            }
            p->len += (size_t)n;
            done += (size_t)n;
            space -= (size_t)n;
        }
        wake(f);
    }
out:
    wake(f);
    return (int64_t)done;
}

static unsigned pipe_poll(struct fb_file *f, struct fb_poll_table *pt)
{
    struct fb_pipe *p = pipe_of(f);
    unsigned mask = 0, acc = f->flags & O_ACCMODE;

    fb_poll_wait(pt, &f->inode->poll_wq);
    if (acc == O_RDONLY || acc == O_RDWR) {
        if (p->len)
            mask |= POLLIN | POLLRDNORM;
        if (!p->writers && p->w_opens)
            mask |= POLLHUP;
    }
    if (acc == O_WRONLY || acc == O_RDWR) {
        if (p->cap - p->len >= PIPE_BUF_)
            mask |= POLLOUT | POLLWRNORM;
        if (!p->readers)
            mask |= POLLERR;
    }
    return mask;
}

static int64_t pipe_ioctl(struct fb_file *f, struct fb_task *t, unsigned long cmd, uint64_t arg)
{
    if (cmd == FIONREAD) {
        int n = (int)pipe_of(f)->len;
        return fb_mm_copy_out(t->mm, arg, &n, sizeof(n)) ? -EFAULT : 0;
    }
    return -ENOTTY;
}

static void pipe_release(struct fb_file *f)
{
    struct fb_pipe *p = pipe_of(f);
    unsigned acc = f->flags & O_ACCMODE;
    if (!p)
        return;
    if (acc == O_RDONLY || acc == O_RDWR)
        p->readers--;
    if (acc == O_WRONLY || acc == O_RDWR)
        p->writers--;
    wake(f);
}

static const struct fb_file_ops pipe_ops = {
    .read = pipe_read,
    .write = pipe_write,
    .poll = pipe_poll,
    .ioctl = pipe_ioctl,
    .release = pipe_release,
};

int64_t fb_pipe_fcntl(struct fb_file *f, int cmd, uint64_t arg)
{
    struct fb_pipe *p;
    size_t size;

    if (f->ops != &pipe_ops)
        return -EBADF;
    p = pipe_of(f);
    if (cmd == F_GETPIPE_SZ)
        return (int64_t)p->cap;
    if (arg > PIPE_MAX_SIZE)
        return -EPERM;
    size = 4096;
    while (size < arg)
        size <<= 1;
    if (size < p->len)
        return -EBUSY;
    if (size != p->cap) {
        uint8_t *nb = malloc(size);
        size_t i;
        if (!nb)
            return -ENOMEM;
        for (i = 0; i < p->len; i++)
            nb[i] = p->buf[(p->head + i) % p->cap];
        free(p->buf);
        p->buf = nb;
        p->head = 0;
        p->cap = size;
    }
    return (int64_t)p->cap;
}

int fb_pipe_new(unsigned flags, struct fb_file **rd, struct fb_file **wr)
{
    struct fb_inode *ino;
    struct fb_pipe *p;
    char name[48];

    if (!pipe_sb.dev)
        pipe_sb.dev = fb_vfs_new_dev();
    ino = fb_inode_new(&pipe_sb, NULL, S_IFIFO | 0600);
    p = pipe_alloc();
    if (!ino || !p) {
        free(p);
        fb_inode_put(ino);
        return -ENOMEM;
    }
    ino->pipe = p;
    p->readers = p->writers = 1;
    p->r_opens = p->w_opens = 1;
    *rd = fb_file_new(ino, NULL, O_RDONLY | (flags & O_NONBLOCK));
    *wr = fb_file_new(ino, NULL, O_WRONLY | (flags & O_NONBLOCK));
    fb_inode_put(ino);
    if (!*rd || !*wr) {
        if (*rd) {
            (*rd)->ops = NULL;
            fb_file_put(*rd);
        }
        if (*wr) {
            (*wr)->ops = NULL;
            fb_file_put(*wr);
        }
        return -ENOMEM;
    }
    (*rd)->ops = (*wr)->ops = &pipe_ops;
    snprintf(name, sizeof(name), "pipe:[%lu]", (unsigned long)ino->st.ino);
    (*rd)->anon_name = strdup(name);
    (*wr)->anon_name = strdup(name);
    return 0;
}

int fb_fifo_open(struct fb_inode *ino, struct fb_file *f)
{
    struct fb_task *t = fb_current;
    unsigned acc = f->flags & O_ACCMODE;
    struct fb_pipe *p = ino->pipe;

    if (!p) {
        p = ino->pipe = pipe_alloc();
        if (!p)
            return -ENOMEM;
    }
    f->ops = &pipe_ops;
    if (acc == O_RDWR) {
        p->readers++;
        p->writers++;
        p->r_opens++;
        p->w_opens++;
        fb_waitq_wake_all(&ino->poll_wq);
        return 0;
    }
    if (acc == O_RDONLY) {
        unsigned seen = p->w_opens;
        p->readers++;
        p->r_opens++;
        fb_waitq_wake_all(&ino->poll_wq);
        if (f->flags & O_NONBLOCK)
            return 0;
        while (!p->writers && p->w_opens == seen) {
            if (wait_change(f, t) == -EINTR) {
                p->readers--;
                f->ops = NULL;
                return -FB_ERESTARTSYS;
            }
        }
        return 0;
    }
    /* O_WRONLY */
    if (!p->readers && (f->flags & O_NONBLOCK)) {
        f->ops = NULL;
        return -ENXIO;
    }
    {
        unsigned seen = p->r_opens;
        p->writers++;
        p->w_opens++;
        fb_waitq_wake_all(&ino->poll_wq);
        while (!p->readers && p->r_opens == seen) {
            if (wait_change(f, t) == -EINTR) {
                p->writers--;
                f->ops = NULL;
                fb_waitq_wake_all(&ino->poll_wq);
                return -FB_ERESTARTSYS;
            }
        }
    }
    return 0;
}

/* ---- checkpoint support ------------------------------------------------------------------------ */

bool fb_inode_is_anon_pipe(const struct fb_inode *ino)
{
    return ino->sb == &pipe_sb && ino->pipe;
}

void fb_pipe_save(const struct fb_inode *ino, struct fb_sw *w)
{
    const struct fb_pipe *p = ino->pipe;
    uint8_t *data = malloc(p->len ? p->len : 1);
    size_t first = FB_MIN(p->len, p->cap - p->head);

    if (data) {
        memcpy(data, p->buf + p->head, first);
        memcpy(data + first, p->buf, p->len - first);
    }
    fb_sw_array(w, 2);
    fb_sw_u64(w, p->cap);
    fb_sw_bin(w, data, data ? p->len : 0);
    free(data);
}

/* A pipe object from its saved [capacity, bytes] (the array `state`); NULL with *err set if
 * malformed. */
static struct fb_pipe *pipe_state_load(const msgpack_object *state, bool *err)
{
    struct fb_sr s;
    const msgpack_object *o;
    struct fb_pipe *p;
    uint64_t cap;

    fb_sr_open(&s, state, err);
    cap = fb_sr_u64(&s);
    o = fb_sr_obj(&s);
    if (*err || !o || o->type != MSGPACK_OBJECT_BIN || cap < PIPE_BUF_ || cap > PIPE_MAX_SIZE ||
        o->via.bin.size > cap) {
        *err = true;
        return NULL;
    }
    p = pipe_alloc();
    if (!p || (o->via.bin.size && !(p->buf = malloc(cap)))) {
        free(p);
        *err = true;
        return NULL;
    }
    p->cap = cap;
    p->len = o->via.bin.size;
    if (p->len)
        memcpy(p->buf, o->via.bin.ptr, p->len);
    return p;
}

struct fb_inode *fb_pipe_load(struct fb_sr *r)
{
    struct fb_inode *ino;
    struct fb_pipe *p;

    if (!pipe_sb.dev)
        pipe_sb.dev = fb_vfs_new_dev();
    p = pipe_state_load(fb_sr_obj(r), r->err);
    if (!p)
        return NULL;
    ino = fb_inode_new(&pipe_sb, NULL, S_IFIFO | 0600);
    if (!ino) {
        free(p->buf);
        free(p);
        *r->err = true;
        return NULL;
    }
    ino->pipe = p;
    /* An anonymous pipe had both ends once (pipe(2) opens them together): an end closed before
     * the checkpoint is a hang-up, not a FIFO nobody opened yet. */
    p->r_opens = p->w_opens = 1;
    return ino;
}

/* A FIFO node (tmpfs): its pipe, if some process has it open, as [capacity, bytes], else nil
 * (a FIFO nobody holds open has no data: Linux drops it with the last close). */
void fb_fifo_save(const struct fb_inode *ino, struct fb_sw *w)
{
    if (ino->pipe && (ino->pipe->readers || ino->pipe->writers))
        fb_pipe_save(ino, w);
    else
        fb_sw_nil(w);
}

int fb_fifo_load(struct fb_inode *ino, struct fb_sr *r)
{
    const msgpack_object *o = fb_sr_obj(r);

    if (o && o->type == MSGPACK_OBJECT_NIL)
        return 0; /* nobody had it open */
    ino->pipe = pipe_state_load(o, r->err);
    return ino->pipe ? 0 : -EINVAL;
}

/* A restored file of a pipe or FIFO: its ends counted again, its operations set. */
static void restored_end(struct fb_pipe *p, struct fb_file *f)
{
    unsigned acc = f->flags & O_ACCMODE;

    f->ops = &pipe_ops;
    if (acc != O_WRONLY) {
        p->readers++;
        p->r_opens++;
    }
    if (acc != O_RDONLY) {
        p->writers++;
        p->w_opens++;
    }
}

/* A file open on a FIFO at the checkpoint: counted as a reader and/or writer, without the
 * wait for the other side an open(2) makes (the other side is restored as it was). */
int fb_fifo_open_restored(struct fb_inode *ino, struct fb_file *f)
{
    if (!ino->pipe && !(ino->pipe = pipe_alloc()))
        return -ENOMEM;
    restored_end(ino->pipe, f);
    return 0;
}

struct fb_file *fb_pipe_file_restore(struct fb_inode *ino, unsigned flags)
{
    struct fb_file *f = fb_file_new(ino, NULL, flags);
    char name[48];

    if (!f)
        return NULL;
    restored_end(ino->pipe, f);
    snprintf(name, sizeof(name), "pipe:[%lu]", (unsigned long)ino->st.ino);
    f->anon_name = strdup(name);
    return f;
}
