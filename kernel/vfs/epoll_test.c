/* Unit tests for the event files: eventfd, epoll (level and edge triggering, one-shot, the
 * interposed ops and last-close removal, nesting limits, waiter teardown) driven directly
 * through the VFS with kernel-memory I/O, without a platform or tasks. */
#include "fbtest.h"
#include "kernel/kernel.h"
#include "kernel/syscalls/syscall.h"
#include "kernel/vfs/event.h"
#include "kernel/vfs/socket.h"
#include "kernel/vfs/vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>

/* The kernel object is this test's own; fb_current stays NULL (no tasks). Weak so that the test
 * links with or without kernel.c and task.c in the archive. */
__attribute__((weak)) __thread struct fb_task *fb_current;
__attribute__((weak)) struct fb_kernel *fb_k;
/* Keeps the syscall table, and with it every handler, out of this test's link. */
__attribute__((weak)) const struct fb_syscall_desc fb_syscall_table[FB_NR_SYSCALLS];

static struct fb_kernel k;
/* A task that is never run: poll registrations need one to wake. */
static struct fb_task sleeper = {.cond = PTHREAD_COND_INITIALIZER};

static int64_t write_u64(struct fb_file *f, uint64_t v)
{
    struct iovec iov = {&v, sizeof(v)};
    struct fb_uio u;
    fb_uio_init_kernel(&u, &iov, 1);
    return f->ops->write(f, &u, &f->pos);
}

static int64_t read_u64(struct fb_file *f, uint64_t *v)
{
    struct iovec iov = {v, sizeof(*v)};
    struct fb_uio u;
    fb_uio_init_kernel(&u, &iov, 1);
    return f->ops->read(f, &u, &f->pos);
}

static struct fb_file *efd(uint64_t count)
{
    struct fb_file *f = NULL;
    if (fb_eventfd_new(count, O_NONBLOCK, &f) < 0)
        return NULL;
    return f;
}

static int ctl(struct fb_file *ep, int op, struct fb_file *f, int fd, uint32_t events,
               uint64_t data)
{
    struct epoll_event e = {.events = events, .data.u64 = data};
    return fb_epoll_ctl(ep, op, fd, f, op == EPOLL_CTL_DEL ? NULL : &e);
}

/* epoll_wait that never sleeps. */
static int wait0(struct fb_file *ep, struct epoll_event *evs, int max)
{
    return fb_epoll_wait(NULL, ep, evs, max, -1);
}

/* ---- eventfd --------------------------------------------------------------------------------- */

static void test_eventfd_rules(void)
{
    struct fb_file *f = efd(0), *s = NULL;
    struct fb_poll_table pt;
    uint64_t v;

    FBT_CHECK(f);
    FBT_CHECK_EQ(read_u64(f, &v), -EAGAIN);
    FBT_CHECK_EQ(f->ops->poll(f, NULL), POLLOUT | POLLWRNORM);
    FBT_CHECK_EQ(write_u64(f, UINT64_MAX), -EINVAL);
    FBT_CHECK_EQ(write_u64(f, UINT64_MAX - 1), 8);
    FBT_CHECK_EQ(f->ops->poll(f, NULL), POLLIN | POLLRDNORM);
    FBT_CHECK_EQ(write_u64(f, 1), -EAGAIN);
    FBT_CHECK_EQ(read_u64(f, &v), 8);
    FBT_CHECK(v == UINT64_MAX - 1);

    FBT_CHECK_EQ(fb_eventfd_new(2, EFD_SEMAPHORE | O_NONBLOCK, &s), 0);
    FBT_CHECK_EQ(read_u64(s, &v), 8);
    FBT_CHECK_EQ(v, 1);
    FBT_CHECK_EQ(read_u64(s, &v), 8);
    FBT_CHECK_EQ(read_u64(s, &v), -EAGAIN);

    /* A poll registration on a file that goes away is taken off its queue, not left dangling. */
    fb_poll_init(&pt, &sleeper);
    s->ops->poll(s, &pt);
    FBT_CHECK_EQ(pt.nwaiters, 1);
    FBT_CHECK(pt.waiters[0].q != NULL);
    fb_file_put(s);
    FBT_CHECK(pt.waiters[0].q == NULL);
    FBT_CHECK(pt.waiters[0].woken);
    fb_poll_done(&pt);
    fb_file_put(f);
}

/* ---- epoll ----------------------------------------------------------------------------------- */

static void test_level_triggered(void)
{
    struct fb_file *ep = NULL, *a = efd(0), *b = efd(0);
    struct epoll_event ev[4];
    uint64_t v;

    FBT_CHECK_EQ(fb_epoll_new(&ep), 0);
    FBT_CHECK(fb_file_is_epoll(ep));
    FBT_CHECK_EQ(ctl(ep, EPOLL_CTL_ADD, a, 3, EPOLLIN, 0xabcdef0123ull), 0);
    FBT_CHECK_EQ(ctl(ep, EPOLL_CTL_ADD, a, 3, EPOLLIN, 1), -EEXIST);
    FBT_CHECK_EQ(ctl(ep, EPOLL_CTL_ADD, a, 4, EPOLLIN, 1), 0); /* another fd: another item */
    FBT_CHECK_EQ(ctl(ep, EPOLL_CTL_DEL, a, 4, 0, 0), 0);
    FBT_CHECK_EQ(ctl(ep, EPOLL_CTL_MOD, b, 5, EPOLLIN, 1), -ENOENT);
    FBT_CHECK_EQ(ctl(ep, EPOLL_CTL_ADD, ep, 6, EPOLLIN, 1), -EINVAL);
    FBT_CHECK_EQ(ctl(a, EPOLL_CTL_ADD, b, 5, EPOLLIN, 1), -EINVAL);
    FBT_CHECK_EQ(wait0(ep, ev, 4), 0);
    write_u64(a, 1);
    FBT_CHECK_EQ(wait0(ep, ev, 4), 1);
    FBT_CHECK_EQ(ev[0].events, EPOLLIN);
    FBT_CHECK(ev[0].data.u64 == 0xabcdef0123ull);
    FBT_CHECK_EQ(wait0(ep, ev, 4), 1); /* still ready */
    read_u64(a, &v);
    FBT_CHECK_EQ(wait0(ep, ev, 4), 0);

    /* One-shot: disabled after one report until MOD. */
    FBT_CHECK_EQ(ctl(ep, EPOLL_CTL_ADD, b, 5, EPOLLIN | EPOLLONESHOT, 2), 0);
    write_u64(b, 1);
    FBT_CHECK_EQ(wait0(ep, ev, 4), 1);
    FBT_CHECK_EQ(ev[0].data.u64, 2);
    FBT_CHECK_EQ(wait0(ep, ev, 4), 0);
    FBT_CHECK_EQ(ctl(ep, EPOLL_CTL_MOD, b, 5, EPOLLIN, 3), 0);
    FBT_CHECK_EQ(wait0(ep, ev, 4), 1);

    /* Reported items rotate to the back: maxevents 1 serves each ready item in turn. */
    write_u64(a, 1);
    FBT_CHECK_EQ(wait0(ep, ev, 1), 1);
    v = ev[0].data.u64;
    FBT_CHECK_EQ(wait0(ep, ev, 1), 1);
    FBT_CHECK(ev[0].data.u64 != v);
    fb_file_put(a);
    fb_file_put(b);
    FBT_CHECK_EQ(wait0(ep, ev, 4), 0); /* last close removed both */
    fb_file_put(ep);
}

static void test_edge_triggered(void)
{
    struct fb_file *ep = NULL, *a = efd(0);
    struct epoll_event ev[4];
    uint64_t v;

    FBT_CHECK_EQ(fb_epoll_new(&ep), 0);
    FBT_CHECK_EQ(ctl(ep, EPOLL_CTL_ADD, a, 3, EPOLLIN | EPOLLET, 7), 0);
    FBT_CHECK_EQ(wait0(ep, ev, 4), 0);
    write_u64(a, 1);
    FBT_CHECK_EQ(wait0(ep, ev, 4), 1);
    FBT_CHECK_EQ(wait0(ep, ev, 4), 0); /* no change since */
    write_u64(a, 1);
    FBT_CHECK_EQ(wait0(ep, ev, 4), 1); /* a new write is a new edge */
    read_u64(a, &v);
    FBT_CHECK_EQ(v, 2);
    FBT_CHECK_EQ(wait0(ep, ev, 4), 0);
    /* MOD re-arms. */
    write_u64(a, 1);
    FBT_CHECK_EQ(wait0(ep, ev, 4), 1);
    FBT_CHECK_EQ(ctl(ep, EPOLL_CTL_MOD, a, 3, EPOLLIN | EPOLLET, 8), 0);
    FBT_CHECK_EQ(wait0(ep, ev, 4), 1);
    FBT_CHECK_EQ(ev[0].data.u64, 8);
    /* Back to level-triggered drops the watchers. */
    FBT_CHECK_EQ(ctl(ep, EPOLL_CTL_MOD, a, 3, EPOLLIN, 9), 0);
    FBT_CHECK_EQ(wait0(ep, ev, 4), 1);
    FBT_CHECK_EQ(wait0(ep, ev, 4), 1);
    fb_file_put(a);
    fb_file_put(ep);
}

static void test_interposed_ops(void)
{
    struct fb_file *ep = NULL, *ep2 = NULL, *s[2], *a = efd(0);
    const struct fb_file_ops *orig = a->ops;
    struct epoll_event ev[4];

    FBT_CHECK_EQ(fb_epoll_new(&ep), 0);
    FBT_CHECK_EQ(fb_epoll_new(&ep2), 0);
    FBT_CHECK_EQ(ctl(ep, EPOLL_CTL_ADD, a, 3, EPOLLIN, 1), 0);
    FBT_CHECK(a->ops != orig);
    FBT_CHECK(fb_file_real_ops(a) == orig);
    FBT_CHECK(a->ops->read == orig->read && a->ops->poll == orig->poll);
    FBT_CHECK_EQ(ctl(ep2, EPOLL_CTL_ADD, a, 3, EPOLLIN, 1), 0);
    FBT_CHECK_EQ(ctl(ep, EPOLL_CTL_DEL, a, 3, 0, 0), 0);
    FBT_CHECK(a->ops != orig); /* still watched by ep2 */
    FBT_CHECK_EQ(ctl(ep2, EPOLL_CTL_DEL, a, 3, 0, 0), 0);
    FBT_CHECK(a->ops == orig); /* unwatched: the original ops are back */

    /* Type checks see through the interposition. */
    FBT_CHECK_EQ(fb_socket_pair(AF_UNIX, SOCK_STREAM, 0, O_NONBLOCK, s), 0);
    FBT_CHECK_EQ(ctl(ep, EPOLL_CTL_ADD, s[0], 4, EPOLLOUT, 2), 0);
    FBT_CHECK(fb_file_is_socket(s[0]));
    FBT_CHECK_EQ(ctl(ep2, EPOLL_CTL_ADD, ep, 5, EPOLLIN, 3), 0);
    FBT_CHECK(fb_file_is_epoll(ep));
    FBT_CHECK_EQ(wait0(ep2, ev, 4), 1); /* the socket is writable: ep is readable */
    FBT_CHECK_EQ(ev[0].data.u64, 3);
    fb_file_put(s[0]);
    FBT_CHECK_EQ(wait0(ep2, ev, 4), 0); /* the socket's last close emptied ep */
    fb_file_put(s[1]);
    fb_file_put(ep); /* ep's last close removes it from ep2 */
    FBT_CHECK_EQ(wait0(ep2, ev, 4), 0);
    fb_file_put(ep2);
    fb_file_put(a);
}

static void test_nesting_limits(void)
{
    struct fb_file *e[7];
    int i, added = 1;

    for (i = 0; i < 7; i++)
        FBT_CHECK_EQ(fb_epoll_new(&e[i]), 0);
    for (i = 1; i < 7; i++) {
        int r = ctl(e[i], EPOLL_CTL_ADD, e[i - 1], 10 + i, EPOLLIN, (uint64_t)i);
        if (r < 0) {
            FBT_CHECK_EQ(r, -ELOOP);
            break;
        }
        added++;
    }
    FBT_CHECK_EQ(added, 5);
    FBT_CHECK_EQ(ctl(e[0], EPOLL_CTL_ADD, e[3], 20, EPOLLIN, 0), -ELOOP); /* a cycle */
    FBT_CHECK_EQ(ctl(e[0], EPOLL_CTL_ADD, e[1], 21, EPOLLIN | EPOLLEXCLUSIVE, 0), -EINVAL);
    for (i = 6; i >= 0; i--)
        fb_file_put(e[i]);
}

static void test_exclusive_and_hup(void)
{
    struct fb_file *ep = NULL, *rd, *wr;
    struct epoll_event ev[4];

    FBT_CHECK_EQ(fb_epoll_new(&ep), 0);
    FBT_CHECK_EQ(fb_pipe_new(O_NONBLOCK, &rd, &wr), 0);
    FBT_CHECK_EQ(ctl(ep, EPOLL_CTL_ADD, rd, 3, EPOLLIN | EPOLLEXCLUSIVE, 1), 0);
    FBT_CHECK_EQ(ctl(ep, EPOLL_CTL_MOD, rd, 3, EPOLLIN, 1), -EINVAL);
    FBT_CHECK_EQ(ctl(ep, EPOLL_CTL_ADD, wr, 4, EPOLLIN | EPOLLRDHUP | EPOLLEXCLUSIVE, 1), -EINVAL);
    FBT_CHECK_EQ(wait0(ep, ev, 4), 0);
    fb_file_put(wr);
    FBT_CHECK_EQ(wait0(ep, ev, 4), 1);
    FBT_CHECK_EQ(ev[0].events, EPOLLHUP); /* reported without being asked for */
    fb_file_put(rd);
    FBT_CHECK_EQ(wait0(ep, ev, 4), 0);
    fb_file_put(ep);
}

int main(void)
{
    fb_k = &k;
    pthread_mutex_init(&k.lock, NULL);

    FBT_RUN(test_eventfd_rules);
    FBT_RUN(test_level_triggered);
    FBT_RUN(test_edge_triggered);
    FBT_RUN(test_interposed_ops);
    FBT_RUN(test_nesting_limits);
    FBT_RUN(test_exclusive_and_hup);
    FBT_EXIT();
}
