/* Unit tests for AF_UNIX sockets: socketpair data paths, record boundaries, shutdown and poll
 * masks, abstract names with listen/connect/accept and the backlog, SCM_RIGHTS through a task's
 * fd table, and socket lifetimes, driven through kernel/vfs/socket.h with kernel-memory I/O and
 * a hand-made task that never runs (so nothing here may block). */
#include "fbtest.h"
#include "kernel/kernel.h"
#include "kernel/syscalls/syscall.h"
#include "kernel/vfs/event.h"
#include "kernel/vfs/socket.h"
#include "kernel/vfs/vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>

__attribute__((weak)) __thread struct fb_task *fb_current;
__attribute__((weak)) struct fb_kernel *fb_k;
__attribute__((weak)) const struct fb_syscall_desc fb_syscall_table[FB_NR_SYSCALLS];

static struct fb_kernel k;
static struct fb_thread_group tg;
static struct fb_task task = {.cond = PTHREAD_COND_INITIALIZER, .tg = &tg};
static struct fb_task *t = &task;

static int64_t send_k(struct fb_file *f, const void *buf, size_t n, int flags)
{
    struct iovec iov = {(void *)buf, n};
    struct fb_uio u;
    struct fb_sockmsg m = {.uio = &u};
    fb_uio_init_kernel(&u, &iov, 1);
    return fb_socket_sendmsg(t, f, &m, flags | MSG_NOSIGNAL | MSG_DONTWAIT);
}

static int64_t recv_k(struct fb_file *f, void *buf, size_t n, int flags, int *mflags)
{
    struct iovec iov = {buf, n};
    struct fb_uio u;
    struct fb_sockmsg m = {.uio = &u};
    int64_t r;
    fb_uio_init_kernel(&u, &iov, 1);
    r = fb_socket_recvmsg(t, f, &m, flags | MSG_DONTWAIT);
    if (mflags)
        *mflags = m.flags;
    return r;
}

static socklen_t abstract_name(struct sockaddr_un *a, const char *name)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, name, strlen(name));
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
}

static void test_stream_pair(void)
{
    struct fb_file *s[2];
    char buf[32] = {0};

    FBT_CHECK_EQ(fb_socket_pair(AF_UNIX, SOCK_STREAM, 0, 0, s), 0);
    FBT_CHECK(fb_file_is_socket(s[0]));
    FBT_CHECK(S_ISSOCK(s[0]->inode->st.mode));
    FBT_CHECK_EQ(s[0]->ops->poll(s[0], NULL), POLLOUT | POLLWRNORM | POLLWRBAND);
    FBT_CHECK_EQ(send_k(s[0], "abc", 3, 0), 3);
    FBT_CHECK_EQ(send_k(s[0], "def", 3, 0), 3);
    FBT_CHECK_EQ(s[1]->ops->poll(s[1], NULL) & POLLIN, POLLIN);
    FBT_CHECK_EQ(recv_k(s[1], buf, 2, MSG_PEEK, NULL), 2);
    FBT_CHECK_EQ(recv_k(s[1], buf, sizeof(buf), 0, NULL), 6);
    FBT_CHECK_STR(buf, "abcdef");
    FBT_CHECK_EQ(recv_k(s[1], buf, 1, 0, NULL), -EAGAIN);
    FBT_CHECK_EQ(fb_socket_shutdown(s[0], SHUT_WR), 0);
    FBT_CHECK_EQ(recv_k(s[1], buf, 1, 0, NULL), 0);
    FBT_CHECK_EQ(s[1]->ops->poll(s[1], NULL) & (POLLRDHUP | POLLIN), POLLRDHUP | POLLIN);
    FBT_CHECK_EQ(send_k(s[0], "x", 1, 0), -EPIPE);
    fb_file_put(s[1]);
    FBT_CHECK_EQ(s[0]->ops->poll(s[0], NULL) & POLLHUP, POLLHUP);
    FBT_CHECK_EQ(send_k(s[0], "x", 1, 0), -EPIPE);
    fb_file_put(s[0]);
}

static void test_stream_backpressure(void)
{
    struct fb_file *s[2];
    static char big[65536];
    int64_t total = 0, n, got = 0;

    FBT_CHECK_EQ(fb_socket_pair(AF_UNIX, SOCK_STREAM, 0, O_NONBLOCK, s), 0);
    while ((n = send_k(s[0], big, sizeof(big), 0)) > 0)
        total += n;
    FBT_CHECK_EQ(n, -EAGAIN);
    FBT_CHECK(total >= 212992 && total < 4 * 212992);
    FBT_CHECK_EQ(s[0]->ops->poll(s[0], NULL) & POLLOUT, 0);
    while ((n = recv_k(s[1], big, sizeof(big), 0, NULL)) > 0)
        got += n;
    FBT_CHECK_EQ(got, total);
    FBT_CHECK_EQ(s[0]->ops->poll(s[0], NULL) & POLLOUT, POLLOUT);
    fb_file_put(s[0]);
    fb_file_put(s[1]);
}

static void test_dgram_and_seqpacket(void)
{
    struct fb_file *s[2];
    char buf[8];
    int mflags;

    FBT_CHECK_EQ(fb_socket_pair(AF_UNIX, SOCK_DGRAM, 0, 0, s), 0);
    FBT_CHECK_EQ(send_k(s[0], "hello", 5, 0), 5);
    FBT_CHECK_EQ(send_k(s[0], "", 0, 0), 0);
    FBT_CHECK_EQ(recv_k(s[1], buf, 2, MSG_TRUNC, &mflags), 5);
    FBT_CHECK_EQ(mflags, MSG_TRUNC);
    FBT_CHECK_EQ(recv_k(s[1], buf, sizeof(buf), 0, NULL), 0);
    FBT_CHECK_EQ(recv_k(s[1], buf, sizeof(buf), 0, NULL), -EAGAIN);
    fb_file_put(s[1]);
    FBT_CHECK_EQ(send_k(s[0], "x", 1, 0), -ECONNREFUSED);
    FBT_CHECK_EQ(send_k(s[0], "x", 1, 0), -ENOTCONN);
    fb_file_put(s[0]);

    FBT_CHECK_EQ(fb_socket_pair(AF_UNIX, SOCK_SEQPACKET, 0, 0, s), 0);
    FBT_CHECK_EQ(send_k(s[0], "rec", 3, 0), 3);
    FBT_CHECK_EQ(recv_k(s[1], buf, 1, 0, &mflags), 1);
    FBT_CHECK_EQ(mflags, MSG_TRUNC);
    FBT_CHECK_EQ(recv_k(s[1], buf, sizeof(buf), 0, NULL), -EAGAIN);
    fb_file_put(s[0]);
    FBT_CHECK_EQ(recv_k(s[1], buf, sizeof(buf), 0, NULL), 0);
    FBT_CHECK_EQ(send_k(s[1], "x", 1, 0), -EPIPE);
    fb_file_put(s[1]);
}

static void test_abstract_connect(void)
{
    struct fb_file *srv, *c1, *c2, *c3, *acc;
    struct sockaddr_storage peer;
    struct sockaddr_un a;
    socklen_t alen = abstract_name(&a, "unit-test"), plen;
    char buf[8];

    FBT_CHECK_EQ(fb_socket_new(AF_UNIX, SOCK_STREAM, 0, O_NONBLOCK, &srv), 0);
    FBT_CHECK_EQ(fb_socket_listen(srv, 1), -EINVAL); /* unnamed */
    FBT_CHECK_EQ(fb_socket_bind(t, srv, &a, alen), 0);
    FBT_CHECK_EQ(fb_socket_bind(t, srv, &a, alen), -EINVAL);
    FBT_CHECK_EQ(fb_socket_listen(srv, 0), 0);
    FBT_CHECK_EQ(fb_socket_accept(t, srv, 0, &acc, &peer, &plen), -EAGAIN);
    FBT_CHECK_EQ(fb_socket_new(AF_UNIX, SOCK_STREAM, 0, O_NONBLOCK, &c1), 0);
    FBT_CHECK_EQ(fb_socket_new(AF_UNIX, SOCK_STREAM, 0, O_NONBLOCK, &c2), 0);
    FBT_CHECK_EQ(fb_socket_new(AF_UNIX, SOCK_DGRAM, 0, O_NONBLOCK, &c3), 0);
    FBT_CHECK_EQ(fb_socket_connect(t, c3, &a, alen), -ECONNREFUSED); /* names are per type */
    FBT_CHECK_EQ(fb_socket_connect(t, c1, &a, alen), 0);
    FBT_CHECK_EQ(fb_socket_connect(t, c2, &a, alen), -EAGAIN); /* backlog 0 holds one */
    FBT_CHECK_EQ(fb_socket_connect(t, c1, &a, alen), -EAGAIN); /* the backlog is checked first */
    FBT_CHECK_EQ(send_k(c1, "hi", 2, 0), 2);                   /* before accept */
    FBT_CHECK_EQ(srv->ops->poll(srv, NULL) & POLLIN, POLLIN);
    FBT_CHECK_EQ(fb_socket_accept(t, srv, 0, &acc, &peer, &plen), 0);
    FBT_CHECK_EQ(plen, offsetof(struct sockaddr_un, sun_path)); /* unnamed client */
    FBT_CHECK_EQ(recv_k(acc, buf, sizeof(buf), 0, NULL), 2);
    FBT_CHECK_EQ(fb_socket_connect(t, c1, &a, alen), -EISCONN);
    FBT_CHECK_EQ(fb_socket_getname(acc, false, &peer, &plen), 0);
    FBT_CHECK_EQ(plen, alen);
    FBT_CHECK(memcmp(&peer, &a, alen) == 0);
    FBT_CHECK_EQ(fb_socket_connect(t, c2, &a, alen), 0);
    fb_file_put(srv); /* drops c2's pending connection: reset */
    FBT_CHECK_EQ(recv_k(c2, buf, sizeof(buf), 0, NULL), -ECONNRESET);
    FBT_CHECK_EQ(recv_k(c2, buf, sizeof(buf), 0, NULL), 0);
    FBT_CHECK_EQ(fb_socket_new(AF_UNIX, SOCK_STREAM, 0, 0, &srv), 0);
    FBT_CHECK_EQ(fb_socket_bind(t, srv, &a, alen), 0); /* the name was freed */
    fb_file_put(srv);
    fb_file_put(acc);
    fb_file_put(c1);
    fb_file_put(c2);
    fb_file_put(c3);
}

static void test_scm_rights(void)
{
    struct fb_file *s[2], *e = NULL, *got;
    uint8_t ctl[CMSG_SPACE(sizeof(int))], rctl[CMSG_SPACE(sizeof(int) * 2)];
    struct cmsghdr *h = (struct cmsghdr *)ctl;
    struct iovec iov = {"x", 1};
    struct fb_uio u;
    struct fb_sockmsg m = {.uio = &u, .control = ctl, .controllen = sizeof(ctl)};
    char byte;
    int fd, rfd;

    t->files = fb_fdtable_new();
    tg.rlim[RLIMIT_NOFILE].rlim_cur = 64;
    FBT_CHECK_EQ(fb_socket_pair(AF_UNIX, SOCK_DGRAM, 0, 0, s), 0);
    FBT_CHECK_EQ(fb_eventfd_new(0, 0, &e), 0);
    fd = fb_fd_install(t, e, 0, false);
    FBT_CHECK_EQ(fd, 0);
    memset(ctl, 0, sizeof(ctl));
    h->cmsg_len = CMSG_LEN(sizeof(int));
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    memcpy(CMSG_DATA(h), &fd, sizeof(fd));
    fb_uio_init_kernel(&u, &iov, 1);
    FBT_CHECK_EQ(fb_socket_sendmsg(t, s[0], &m, 0), 1);
    FBT_CHECK_EQ(e->refs, 3); /* ours, the fd table's, the one in flight */
    fb_fd_close(t, fd);

    iov.iov_base = &byte;
    fb_uio_init_kernel(&u, &iov, 1);
    memset(&m, 0, sizeof(m));
    m.uio = &u;
    m.control = rctl;
    m.controllen = sizeof(rctl);
    FBT_CHECK_EQ(fb_socket_recvmsg(t, s[1], &m, MSG_CMSG_CLOEXEC), 1);
    FBT_CHECK_EQ(m.controllen, CMSG_SPACE(sizeof(int)));
    h = (struct cmsghdr *)rctl;
    FBT_CHECK_EQ(h->cmsg_type, SCM_RIGHTS);
    memcpy(&rfd, CMSG_DATA(h), sizeof(rfd));
    got = fb_fd_get(t, rfd);
    FBT_CHECK(got == e);
    FBT_CHECK(t->files->fds[rfd].cloexec);
    fb_file_put(got);
    fb_fd_close(t, rfd);
    FBT_CHECK_EQ(e->refs, 1);

    /* In flight when the receiver goes away: the reference is dropped with the queue. */
    fd = fb_fd_install(t, e, 0, false);
    memcpy(CMSG_DATA((struct cmsghdr *)ctl), &fd, sizeof(fd));
    iov.iov_base = "y";
    fb_uio_init_kernel(&u, &iov, 1);
    memset(&m, 0, sizeof(m));
    m.uio = &u;
    m.control = ctl;
    m.controllen = sizeof(ctl);
    FBT_CHECK_EQ(fb_socket_sendmsg(t, s[0], &m, 0), 1);
    fb_fd_close(t, fd);
    FBT_CHECK_EQ(e->refs, 2);
    fb_file_put(s[1]);
    FBT_CHECK_EQ(e->refs, 1);
    fb_file_put(s[0]);
    fb_file_put(e);
    fb_fdtable_put(t->files);
    t->files = NULL;
}

static void test_creation_errors(void)
{
    struct fb_file *f;

    FBT_CHECK_EQ(fb_socket_new(AF_INET, SOCK_STREAM, 0, 0, &f), -EAFNOSUPPORT);
    FBT_CHECK_EQ(fb_socket_new(AF_INET6, SOCK_DGRAM, 0, 0, &f), -EAFNOSUPPORT);
    FBT_CHECK_EQ(fb_socket_new(AF_NETLINK, SOCK_RAW, 0, 0, &f), -EAFNOSUPPORT);
    FBT_CHECK_EQ(fb_socket_new(AF_INET, SOCK_RAW, 1, 0, &f), -EPERM);
    FBT_CHECK_EQ(fb_socket_new(AF_PACKET, SOCK_DGRAM, 0, 0, &f), -EPERM);
    FBT_CHECK_EQ(fb_socket_new(AF_UNIX, 99, 0, 0, &f), -EINVAL);
    FBT_CHECK_EQ(fb_socket_new(AF_UNIX, SOCK_STREAM, 2, 0, &f), -EPROTONOSUPPORT);
    FBT_CHECK_EQ(fb_socket_pair(AF_INET, SOCK_STREAM, 0, 0, (struct fb_file *[2]){0}),
                 -EAFNOSUPPORT);
}

int main(void)
{
    fb_k = &k;
    pthread_mutex_init(&k.lock, NULL);
    tg.tgid = 1;

    FBT_RUN(test_stream_pair);
    FBT_RUN(test_stream_backpressure);
    FBT_RUN(test_dgram_and_seqpacket);
    FBT_RUN(test_abstract_connect);
    FBT_RUN(test_scm_rights);
    FBT_RUN(test_creation_errors);
    FBT_EXIT();
}
