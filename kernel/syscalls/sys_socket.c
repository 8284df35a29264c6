/* Socket system calls: thin handlers that copy addresses, message headers, iovecs and options in
 * and out in Linux's order and call the socket files (kernel/vfs/socket.h). Only AF_UNIX exists:
 * the sandbox has no network. */
#include "kernel/syscalls/syscall.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "kernel/signal/signal.h"
#include "kernel/syscalls/sys_util.h"
#include "kernel/util/cleanup.h"
#include "kernel/vfs/socket.h"

#define MAX_RW_COUNT 0x7ffff000ull
#define UIO_MAXIOV_  1024
#define CONTROL_MAX  65536 /* Linux: net.core.optmem_max-sized kernel copies */
#define OPT_MAX      64    /* no SOL_SOCKET option value is larger */

/* The socket at fd (with a reference), or NULL with *err = -EBADF / -ENOTSOCK. */
static struct fb_file *socket_at(struct fb_task *t, int fd, int64_t *err)
{
    struct fb_file *f = fb_fd_get(t, fd);
    if (!f) {
        *err = -EBADF;
        return NULL;
    }
    if (!fb_file_is_socket(f)) {
        fb_file_put(f);
        *err = -ENOTSOCK;
        return NULL;
    }
    return f;
}

/* Copy an address argument in (Linux move_addr_to_kernel). */
static int addr_in(struct fb_task *t, uint64_t uaddr, int64_t len, struct sockaddr_storage *a)
{
    if (len < 0 || len > (int64_t)sizeof(*a))
        return -EINVAL;
    memset(a, 0, sizeof(*a));
    if (len && fb_mm_copy_in(t->mm, uaddr, a, (size_t)len) != 0)
        return -EFAULT;
    return 0;
}

/* Copy an address result out (Linux move_addr_to_user): at most *ulen bytes of it, and its full
 * length into *ulen. */
static int addr_out(struct fb_task *t, const struct sockaddr_storage *a, socklen_t len,
                    uint64_t uaddr, uint64_t ulen)
{
    int have;

    if (fb_mm_copy_in(t->mm, ulen, &have, sizeof(have)) != 0)
        return -EFAULT;
    if (have < 0)
        return -EINVAL;
    if (have > (int)len)
        have = (int)len;
    if (have && fb_mm_copy_out(t->mm, uaddr, a, (size_t)have) != 0)
        return -EFAULT;
    return fb_mm_copy_out(t->mm, ulen, &len, sizeof(len)) ? -EFAULT : 0;
}

/* Split type into the socket type and O_NONBLOCK/O_CLOEXEC. */
static int type_flags(int *type, unsigned *fflags, bool *cloexec)
{
    int flags = *type & ~0xf;
    if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
        return -EINVAL;
    *type &= 0xf;
    *fflags = flags & SOCK_NONBLOCK ? O_NONBLOCK : 0;
    *cloexec = flags & SOCK_CLOEXEC;
    return 0;
}

FB_SYSCALL(socket)
{
    int type = ARG_INT(1), fd, r;
    struct fb_file *f;
    unsigned fflags;
    bool cloexec;

    r = type_flags(&type, &fflags, &cloexec);
    if (r < 0)
        return r;
    r = fb_socket_new(ARG_INT(0), type, ARG_INT(2), fflags, &f);
    if (r < 0)
        return r;
    fd = fb_fd_install(t, f, 0, cloexec);
    fb_file_put(f);
    return fd;
}

FB_SYSCALL(socketpair)
{
    int type = ARG_INT(1), fds[2], r;
    struct fb_file *f[2];
    unsigned fflags;
    bool cloexec;

    r = type_flags(&type, &fflags, &cloexec);
    if (r < 0)
        return r;
    r = fb_socket_pair(ARG_INT(0), type, ARG_INT(2), fflags, f);
    if (r < 0)
        return r;
    fds[0] = fb_fd_install(t, f[0], 0, cloexec);
    fds[1] = fds[0] < 0 ? fds[0] : fb_fd_install(t, f[1], 0, cloexec);
    fb_file_put(f[0]);
    fb_file_put(f[1]);
    if (fds[1] < 0) {
        if (fds[0] >= 0)
            fb_fd_close(t, fds[0]);
        return fds[1];
    }
    if (fb_mm_copy_out(t->mm, a[3], fds, sizeof(fds)) != 0) {
        fb_fd_close(t, fds[0]);
        fb_fd_close(t, fds[1]);
        return -EFAULT;
    }
    return 0;
}

FB_SYSCALL(bind)
{
    struct sockaddr_storage addr;
    struct fb_file *f;
    int64_t r;

    f = socket_at(t, ARG_INT(0), &r);
    if (!f)
        return r;
    r = addr_in(t, a[1], ARG_INT(2), &addr);
    if (r == 0)
        r = fb_socket_bind(t, f, &addr, (socklen_t)ARG_INT(2));
    fb_file_put(f);
    return r;
}

FB_SYSCALL(connect)
{
    struct sockaddr_storage addr;
    struct fb_file *f;
    int64_t r;

    f = socket_at(t, ARG_INT(0), &r);
    if (!f)
        return r;
    r = addr_in(t, a[1], ARG_INT(2), &addr);
    if (r == 0)
        r = fb_socket_connect(t, f, &addr, (socklen_t)ARG_INT(2));
    fb_file_put(f);
    return r;
}

FB_SYSCALL(listen)
{
    struct fb_file *f;
    int64_t r;

    f = socket_at(t, ARG_INT(0), &r);
    if (!f)
        return r;
    r = fb_socket_listen(f, ARG_INT(1));
    fb_file_put(f);
    return r;
}

static int64_t do_accept(struct fb_task *t, int fd, uint64_t uaddr, uint64_t ulen, int flags)
{
    struct sockaddr_storage peer;
    struct fb_file *f, *nf;
    socklen_t plen;
    int64_t r;
    int nfd;

    if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
        return -EINVAL;
    f = socket_at(t, fd, &r);
    if (!f)
        return r;
    r = fb_socket_accept(t, f, flags & SOCK_NONBLOCK ? O_NONBLOCK : 0, &nf, &peer, &plen);
    fb_file_put(f);
    if (r < 0)
        return r;
    if (uaddr && (r = addr_out(t, &peer, plen, uaddr, ulen)) < 0) {
        fb_file_put(nf); /* the connection is lost, as on Linux */
        return r;
    }
    nfd = fb_fd_install(t, nf, 0, flags & SOCK_CLOEXEC);
    fb_file_put(nf);
    return nfd;
}

FB_SYSCALL(accept)
{
    return do_accept(t, ARG_INT(0), a[1], a[2], 0);
}

FB_SYSCALL(accept4)
{
    return do_accept(t, ARG_INT(0), a[1], a[2], ARG_INT(3));
}

static int64_t do_getname(struct fb_task *t, int fd, uint64_t uaddr, uint64_t ulen, bool peer)
{
    struct sockaddr_storage addr;
    struct fb_file *f;
    socklen_t len;
    int64_t r;

    f = socket_at(t, fd, &r);
    if (!f)
        return r;
    r = fb_socket_getname(f, peer, &addr, &len);
    fb_file_put(f);
    if (r < 0)
        return r;
    return addr_out(t, &addr, len, uaddr, ulen);
}

FB_SYSCALL(getsockname)
{
    return do_getname(t, ARG_INT(0), a[1], a[2], false);
}

FB_SYSCALL(getpeername)
{
    return do_getname(t, ARG_INT(0), a[1], a[2], true);
}

FB_SYSCALL(shutdown)
{
    struct fb_file *f;
    int64_t r;

    f = socket_at(t, ARG_INT(0), &r);
    if (!f)
        return r;
    r = fb_socket_shutdown(f, ARG_INT(1));
    fb_file_put(f);
    return r;
}

/* ---- data ------------------------------------------------------------------------------------ */

/* Copy and check an iovec array (Linux import_iovec: too many is EMSGSIZE, a negative length
 * EINVAL, the total is cut at MAX_RW_COUNT). */
static int iovecs_in(struct fb_task *t, uint64_t uiov, uint64_t cnt, struct iovec *iov)
{
    uint64_t total = 0;

    if (cnt > UIO_MAXIOV_)
        return -EMSGSIZE;
    if (cnt && fb_mm_copy_in(t->mm, uiov, iov, cnt * sizeof(*iov)) != 0)
        return -EFAULT;
    for (uint64_t i = 0; i < cnt; i++) {
        if ((int64_t)iov[i].iov_len < 0)
            return -EINVAL;
        if (total + iov[i].iov_len > MAX_RW_COUNT)
            iov[i].iov_len = MAX_RW_COUNT - total;
        total += iov[i].iov_len;
    }
    return 0;
}

static int64_t do_sendto(struct fb_task *t, int fd, uint64_t buf, uint64_t len, int flags,
                         uint64_t uaddr, int64_t alen)
{
    struct iovec iov = {(void *)buf, FB_MIN(len, MAX_RW_COUNT)};
    struct fb_sockmsg m = {0};
    struct fb_uio u;
    struct fb_file *f;
    int64_t r;

    f = socket_at(t, fd, &r);
    if (!f)
        return r;
    if (uaddr && (r = addr_in(t, uaddr, alen, &m.name)) < 0) {
        fb_file_put(f);
        return r;
    }
    m.namelen = uaddr ? (socklen_t)alen : 0;
    fb_uio_init_user(&u, t->mm, &iov, 1);
    m.uio = &u;
    r = fb_socket_sendmsg(t, f, &m, flags);
    fb_file_put(f);
    return r;
}

FB_SYSCALL(sendto)
{
    return do_sendto(t, ARG_INT(0), a[1], a[2], ARG_INT(3), a[4], ARG_INT(5));
}

static int64_t do_recvfrom(struct fb_task *t, int fd, uint64_t buf, uint64_t len, int flags,
                           uint64_t uaddr, uint64_t ulen)
{
    struct iovec iov = {(void *)buf, FB_MIN(len, MAX_RW_COUNT)};
    struct fb_sockmsg m = {0};
    struct fb_uio u;
    struct fb_file *f;
    int64_t r, e;

    f = socket_at(t, fd, &r);
    if (!f)
        return r;
    fb_uio_init_user(&u, t->mm, &iov, 1);
    m.uio = &u;
    m.want_name = uaddr != 0;
    r = fb_socket_recvmsg(t, f, &m, flags);
    fb_file_put(f);
    if (r >= 0 && uaddr && (e = addr_out(t, &m.name, m.namelen, uaddr, ulen)) < 0)
        return e;
    return r;
}

FB_SYSCALL(recvfrom)
{
    return do_recvfrom(t, ARG_INT(0), a[1], a[2], ARG_INT(3), a[4], a[5]);
}

FB_SYSCALL(sendmsg)
{
    struct iovec iov[UIO_MAXIOV_];
    struct fb_sockmsg m = {0};
    struct msghdr mh;
    struct fb_uio u;
    struct fb_file *f;
    int64_t r;

    f = socket_at(t, ARG_INT(0), &r);
    if (!f)
        return r;
    if (fb_mm_copy_in(t->mm, a[1], &mh, sizeof(mh)) != 0) {
        r = -EFAULT;
        goto out;
    }
    if (mh.msg_name && (r = addr_in(t, (uint64_t)mh.msg_name, (int)mh.msg_namelen, &m.name)) < 0)
        goto out;
    m.namelen = mh.msg_name ? mh.msg_namelen : 0;
    r = iovecs_in(t, (uint64_t)mh.msg_iov, mh.msg_iovlen, iov);
    if (r < 0)
        goto out;
    if (mh.msg_controllen > INT_MAX || mh.msg_controllen > CONTROL_MAX) {
        r = -ENOBUFS;
        goto out;
    }
    if (mh.msg_controllen) {
        m.control = malloc(mh.msg_controllen);
        m.controllen = mh.msg_controllen;
        if (!m.control) {
            r = -ENOMEM;
            goto out;
        }
        if (fb_mm_copy_in(t->mm, (uint64_t)mh.msg_control, m.control, m.controllen) != 0) {
            r = -EFAULT;
            goto out;
        }
    }
    fb_uio_init_user(&u, t->mm, iov, (int)mh.msg_iovlen);
    m.uio = &u;
    r = fb_socket_sendmsg(t, f, &m, ARG_INT(2));
out:
    free(m.control);
    fb_file_put(f);
    return r;
}

FB_SYSCALL(recvmsg)
{
    struct iovec iov[UIO_MAXIOV_];
    struct fb_sockmsg m = {0};
    uint64_t umsg = a[1];
    struct msghdr mh;
    struct fb_uio u;
    struct fb_file *f;
    int64_t r, e;

    f = socket_at(t, ARG_INT(0), &r);
    if (!f)
        return r;
    if (fb_mm_copy_in(t->mm, umsg, &mh, sizeof(mh)) != 0) {
        r = -EFAULT;
        goto out;
    }
    if ((int)mh.msg_namelen < 0) {
        r = -EINVAL;
        goto out;
    }
    r = iovecs_in(t, (uint64_t)mh.msg_iov, mh.msg_iovlen, iov);
    if (r < 0)
        goto out;
    if (mh.msg_control && mh.msg_controllen) {
        m.controllen = FB_MIN(mh.msg_controllen, (size_t)CONTROL_MAX);
        m.control = calloc(1, m.controllen);
        if (!m.control) {
            r = -ENOMEM;
            goto out;
        }
    }
    fb_uio_init_user(&u, t->mm, iov, (int)mh.msg_iovlen);
    m.uio = &u;
    m.want_name = mh.msg_name != NULL;
    r = fb_socket_recvmsg(t, f, &m, ARG_INT(2));
    if (r < 0)
        goto out;
    /* Results: the source address, the control data, its length and the flags. */
    if (mh.msg_name) {
        socklen_t have = FB_MIN(mh.msg_namelen, (socklen_t)sizeof(m.name));
        if (FB_MIN(have, m.namelen) &&
            fb_mm_copy_out(t->mm, (uint64_t)mh.msg_name, &m.name, FB_MIN(have, m.namelen)) != 0)
            e = -EFAULT;
        else
            e = fb_mm_copy_out(t->mm, umsg + offsetof(struct msghdr, msg_namelen), &m.namelen,
                               sizeof(m.namelen))
                    ? -EFAULT
                    : 0;
        if (e < 0) {
            r = e;
            goto out;
        }
    }
    if ((m.controllen &&
         fb_mm_copy_out(t->mm, (uint64_t)mh.msg_control, m.control, m.controllen) != 0) ||
        fb_mm_copy_out(t->mm, umsg + offsetof(struct msghdr, msg_controllen), &m.controllen,
                       sizeof(m.controllen)) != 0 ||
        fb_mm_copy_out(t->mm, umsg + offsetof(struct msghdr, msg_flags), &m.flags,
                       sizeof(m.flags)) != 0)
        r = -EFAULT;
out:
    free(m.control);
    fb_file_put(f);
    return r;
}

/* ---- options --------------------------------------------------------------------------------- */

FB_SYSCALL(setsockopt)
{
    uint8_t val[OPT_MAX] = {0};
    int len = ARG_INT(4);
    struct fb_file *f;
    int64_t r;

    if (len < 0)
        return -EINVAL;
    f = socket_at(t, ARG_INT(0), &r);
    if (!f)
        return r;
    if (len && fb_mm_copy_in(t->mm, a[3], val, FB_MIN((size_t)len, sizeof(val))) != 0)
        r = -EFAULT;
    else
        r = fb_socket_setsockopt(t, f, ARG_INT(1), ARG_INT(2), val, (socklen_t)len);
    fb_file_put(f);
    return r;
}

FB_SYSCALL(getsockopt)
{
    uint8_t val[OPT_MAX];
    struct fb_file *f;
    socklen_t len;
    int have;
    int64_t r;

    f = socket_at(t, ARG_INT(0), &r);
    if (!f)
        return r;
    if (fb_mm_copy_in(t->mm, a[4], &have, sizeof(have)) != 0) {
        r = -EFAULT;
        goto out;
    }
    if (have < 0) {
        r = -EINVAL;
        goto out;
    }
    len = (socklen_t)FB_MIN(have, (int)sizeof(val));
    r = fb_socket_getsockopt(t, f, ARG_INT(1), ARG_INT(2), val, &len);
    if (r == 0 && ((len && fb_mm_copy_out(t->mm, a[3], val, len) != 0) ||
                   fb_mm_copy_out(t->mm, a[4], &len, sizeof(len)) != 0))
        r = -EFAULT;
out:
    fb_file_put(f);
    return r;
}
