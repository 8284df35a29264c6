/* Files over the caller's host fds (the sandbox's stdin, stdout and stderr). Data moves between
 * the host fd and application memory directly; waits are interruptible polls. Only a fixed set
 * of terminal ioctls is forwarded, so the application never reaches the host file otherwise. */
#include "kernel/vfs/vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "kernel/kernel.h"
#include "kernel/signal/signal.h"
#include "kernel/util/cleanup.h"

struct hostfd {
    int fd;
    bool nonblocking; /* our description is O_NONBLOCK (pipes, ttys): waits go through poll */
    bool socket;      /* use MSG_DONTWAIT instead */
    bool tty;
    bool output; /* stdout/stderr of the sandbox: writes count against --output-limit */
};

static struct fb_sb host_sb = {.type = "hostfd", .magic = 0x484f5354};

/* Write the truncation marker on the host fd: one attempt, never a wait (this runs under the
 * kernel lock; the marker is best effort, the limit itself is not). */
static void write_output_marker(int fd)
{
    char buf[96];
    int len = snprintf(buf, sizeof(buf), "\n[fnbox: output truncated at %llu bytes]\n",
                       (unsigned long long)fb_k->opts.output_limit);

    while (write(fd, buf, (size_t)len) < 0 && errno == EINTR)
        ;
}

/* Room left under --output-limit for a write through h: SIZE_MAX when not counted. Once the limit
 * is reached the marker goes out once and every later write fails with EPIPE (write(2) then
 * raises SIGPIPE), as if the reader of the output had gone away. */
static size_t output_room(const struct hostfd *h)
{
    uint64_t limit = fb_k ? fb_k->opts.output_limit : 0;
    if (!h->output || !limit)
        return SIZE_MAX;
    if (fb_k->output_truncated || fb_k->output_bytes >= limit)
        return 0;
    return (size_t)(limit - fb_k->output_bytes);
}

static int64_t host_io(struct fb_file *f, struct fb_uio *u, bool write)
{
    struct hostfd *h = f->inode->priv;
    struct fb_task *t = fb_current;
    size_t done = 0;

    if (!u->resid)
        return 0;
    while (u->resid) {
        struct iovec iov[64];
        int n = 0;
        size_t room = write ? output_room(h) : SIZE_MAX;
        int64_t cov;
        ssize_t r;

        if (room == 0) {
            if (!fb_k->output_truncated) {
                fb_k->output_truncated = true;
                write_output_marker(h->fd);
            }
            return done ? (int64_t)done : -EPIPE;
        }
        cov = fb_uio_host_iov(u, FB_MIN(FB_MIN(u->resid, (size_t)1 << 20), room), !write, iov, 64,
                              &n);

        if (cov < 0)
            return done ? (int64_t)done : cov;
        if (cov == 0)
            break;
        if (h->socket) {
            struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
            r = write ? sendmsg(h->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL)
                      : recvmsg(h->fd, &mh, MSG_DONTWAIT);
        } else {
            r = write ? writev(h->fd, iov, n) : readv(h->fd, iov, n);
        }
        if (r > 0) {
            fb_uio_advance(u, (size_t)r);
            done += (size_t)r;
            if (write && h->output)
                fb_k->output_bytes += (uint64_t)r;
            if (!write)
                break; /* a read returns what is available */
            continue;
        }
        if (r == 0)
            break; /* EOF (read) */
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return done ? (int64_t)done : -errno;
        if (done && !write)
            break;
        if (f->flags & O_NONBLOCK)
            return done ? (int64_t)done : -EAGAIN;
        /* The ready point of a checkpoint: the program waits for its request on stdin. The read
         * is re-executed after the restore. */
        if (!write && !done && f == fb_k->host_stdio[0] && fb_kernel_ckpt_request())
            return -FB_ERESTARTNOINTR;
        {
            struct pollfd pfd = {h->fd, write ? POLLOUT : POLLIN, 0};
            int s = fb_task_sleep_fds(t, &pfd, 1, 0);
            if (s == -EINTR)
                return done ? (int64_t)done : -FB_ERESTARTSYS;
        }
    }
    return (int64_t)done;
}

void fb_hostfd_before_sleep(const struct pollfd *fds, int nfds)
{
    struct fb_file *in = fb_k->host_stdio[0];
    int fd;

    /* (Its ops are not a test: epoll swaps a watched file's ops for its own.) */
    if (!fb_k->ckpt_armed || !in || !in->inode || in->inode->sb != &host_sb)
        return;
    fd = ((struct hostfd *)in->inode->priv)->fd;
    for (int i = 0; i < nfds; i++)
        if (fds[i].fd == fd && (fds[i].events & POLLIN)) {
            fb_kernel_ckpt_request();
            return;
        }
}

static int64_t host_read(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    (void)off;
    return host_io(f, u, false);
}

static int64_t host_write(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    (void)off;
    return host_io(f, u, true);
}

static int64_t host_llseek(struct fb_file *f, int64_t off, int whence)
{
    struct hostfd *h = f->inode->priv;
    off_t r = lseek(h->fd, off, whence);
    if (r < 0)
        return -errno;
    f->pos = r;
    return r;
}

static unsigned host_poll(struct fb_file *f, struct fb_poll_table *pt)
{
    struct hostfd *h = f->inode->priv;
    struct pollfd pfd = {h->fd, POLLIN | POLLOUT | POLLPRI, 0};
    unsigned acc = f->flags & O_ACCMODE;
    short want = (short)((acc != O_WRONLY ? POLLIN : 0) | (acc != O_RDONLY ? POLLOUT : 0));

    if (poll(&pfd, 1, 0) < 0)
        return POLLERR;
    if (pt)
        fb_poll_wait_host(pt, h->fd, want);
    return (unsigned)pfd.revents;
}

static int64_t host_ioctl(struct fb_file *f, struct fb_task *t, unsigned long cmd, uint64_t arg)
{
    struct hostfd *h = f->inode->priv;

    switch (cmd) {
    case TCGETS: {
        struct termios tio;
        if (!h->tty)
            return -ENOTTY;
        if (ioctl(h->fd, TCGETS, &tio) != 0)
            return -errno;
        return fb_mm_copy_out(t->mm, arg, &tio, sizeof(tio)) ? -EFAULT : 0;
    }
    case TCSETS:
    case TCSETSW:
    case TCSETSF: {
        struct termios tio;
        if (!h->tty)
            return -ENOTTY;
        if (fb_mm_copy_in(t->mm, arg, &tio, sizeof(tio)) != 0)
            return -EFAULT;
        return ioctl(h->fd, cmd, &tio) != 0 ? -errno : 0;
    }
    case TIOCGWINSZ: {
        struct winsize ws;
        if (!h->tty)
            return -ENOTTY;
        if (ioctl(h->fd, TIOCGWINSZ, &ws) != 0)
            return -errno;
        return fb_mm_copy_out(t->mm, arg, &ws, sizeof(ws)) ? -EFAULT : 0;
    }
    case TIOCSWINSZ:
        return h->tty ? 0 : -ENOTTY;
    case TIOCGPGRP: {
        /* The sandbox is its own job-control world: the foreground group is pid 1's. */
        struct fb_thread_group *init = fb_tg_lookup(1);
        int pgrp = init ? init->pgid : 1;
        if (!h->tty)
            return -ENOTTY;
        return fb_mm_copy_out(t->mm, arg, &pgrp, sizeof(pgrp)) ? -EFAULT : 0;
    }
    case TIOCSPGRP:
        return h->tty ? 0 : -ENOTTY;
    case FIONREAD: {
        int n = 0;
        if (ioctl(h->fd, FIONREAD, &n) != 0)
            return -errno;
        return fb_mm_copy_out(t->mm, arg, &n, sizeof(n)) ? -EFAULT : 0;
    }
    default:
        return -ENOTTY;
    }
}

static int host_fsync(struct fb_file *f)
{
    (void)f;
    return 0;
}

static const struct fb_file_ops host_ops = {
    .read = host_read,
    .write = host_write,
    .poll = host_poll,
    .ioctl = host_ioctl,
    .fsync = host_fsync,
};

static const struct fb_file_ops host_seek_ops = {
    .read = host_read,
    .write = host_write,
    .llseek = host_llseek,
    .poll = host_poll,
    .ioctl = host_ioctl,
    .fsync = host_fsync,
};

static void host_release(struct fb_inode *ino)
{
    struct hostfd *h = ino->priv;
    if (h) {
        close(h->fd);
        free(h);
    }
}

static const struct fb_inode_ops host_iops = {.release = host_release};

void fb_hostfd_count_output(struct fb_file *f)
{
    if (f && f->inode->ops == &host_iops)
        ((struct hostfd *)f->inode->priv)->output = true;
}

struct fb_file *fb_hostfd_file_new(int hostfd, unsigned flags)
{
    struct fb_inode *ino;
    struct fb_file *f;
    struct hostfd *h;
    struct stat st;
    char name[64];

    if (fstat(hostfd, &st) != 0)
        return NULL;
    h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->fd = hostfd;
    h->socket = S_ISSOCK(st.st_mode);
    h->tty = isatty(hostfd);
    h->nonblocking = (fcntl(hostfd, F_GETFL) & O_NONBLOCK) != 0;
    if (!host_sb.dev)
        host_sb.dev = fb_vfs_new_dev();
    ino = fb_inode_new(&host_sb, &host_iops, st.st_mode);
    if (!ino) {
        free(h);
        return NULL;
    }
    ino->priv = h;
    ino->st.size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    ino->st.rdev = st.st_rdev;
    ino->st.uid = 0;
    ino->st.gid = 0;
    f = fb_file_new(ino, NULL, flags);
    fb_inode_put(ino);
    if (!f)
        return NULL;
    f->ops = S_ISREG(st.st_mode) ? &host_seek_ops : &host_ops;
    if (S_ISFIFO(st.st_mode))
        snprintf(name, sizeof(name), "pipe:[%lu]", (unsigned long)st.st_ino);
    else if (S_ISSOCK(st.st_mode))
        snprintf(name, sizeof(name), "socket:[%lu]", (unsigned long)st.st_ino);
    else if (h->tty)
        snprintf(name, sizeof(name), "/dev/pts/0");
    else
        snprintf(name, sizeof(name), "host:[%d]", hostfd);
    f->anon_name = strdup(name);
    return f;
}
