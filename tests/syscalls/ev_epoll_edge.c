/* Conformance: epoll beyond the basics — EPOLLET edge triggering, items living as long as the
 * open file description (dup, close), nested epoll and ELOOP, poll() on an epoll fd, blocking
 * waits woken by threads and processes, EINTR (never restarted, even with SA_RESTART) and
 * epoll_pwait/epoll_pwait2 signal masks. Part of tests/syscalls (runs natively and under fnbox;
 * output must match). */
#include "conform.h"
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

static volatile sig_atomic_t got_usr1;
static void on_usr1(int s)
{
    (void)s;
    got_usr1++;
}

static int add(int ep, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event e = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

static void *late_write(void *arg)
{
    int fd = *(int *)arg;
    uint64_t v = 1;
    cf_msleep(30);
    return write(fd, &v, 8) == 8 ? NULL : (void *)1;
}

/* A child that sends SIGUSR1 to the parent every 20 ms until it is killed. */
static pid_t start_pinger(void)
{
    pid_t parent = getpid();
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 500; i++) {
            cf_msleep(20);
            kill(parent, SIGUSR1);
        }
        _exit(0);
    }
    return pid;
}

static void stop_pinger(pid_t pid)
{
    kill(pid, SIGKILL);
    cf_wait(pid);
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    struct epoll_event ev[8];
    char buf[64];
    int ep = epoll_create1(0);
    int p[2];

    /* Edge-triggered: one event per change. */
    pipe(p);
    CHECK_SYS(add(ep, p[0], EPOLLIN | EPOLLET, 1), "ADD pipe with EPOLLET");
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 0, "empty: nothing");
    write(p[1], "a", 1);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 1, "new data: one event");
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 0, "no new data: no second event");
    write(p[1], "b", 1);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 1, "more data: another event");
    CHECK_EQ(read(p[0], buf, sizeof(buf)), 2, "read everything");
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 0, "drained: nothing");
    epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL);

    int efd = eventfd(0, EFD_NONBLOCK);
    add(ep, efd, EPOLLIN | EPOLLOUT | EPOLLET, 2);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 1, "eventfd ET: writable at ADD");
    CHECK_EQ(ev[0].events, EPOLLOUT, "EPOLLOUT");
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 0, "reported once");
    uint64_t v = 1;
    write(efd, &v, 8);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 1, "a write is an edge");
    CHECK_EQ(ev[0].events, EPOLLIN | EPOLLOUT, "EPOLLIN | EPOLLOUT");
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 0, "and only one");
    struct epoll_event m = {.events = EPOLLIN | EPOLLET, .data.u64 = 3};
    CHECK_SYS(epoll_ctl(ep, EPOLL_CTL_MOD, efd, &m), "MOD re-arms an edge item");
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 1, "ready at MOD: reported");
    CHECK_EQ(ev[0].data.u64, 3, "new data");
    epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL);

    /* A blocking ET wait woken by a thread. */
    read(efd, &v, 8);
    add(ep, efd, EPOLLIN | EPOLLET, 4);
    pthread_t th;
    pthread_create(&th, NULL, late_write, &efd);
    CHECK_EQ(epoll_wait(ep, ev, 8, 5000), 1, "blocking epoll_wait woken by a thread's write");
    CHECK_EQ(ev[0].data.u64, 4, "the eventfd");
    pthread_join(th, NULL);
    epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL);

    /* Items belong to the open file description. */
    int d = dup(p[0]);
    CHECK_SYS(add(ep, p[0], EPOLLIN, 5), "ADD the pipe again");
    close(p[0]);
    write(p[1], "c", 1);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 1, "closing one fd of a dup'ed file keeps the item");
    CHECK_EQ(ev[0].data.u64, 5, "with its data");
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), EBADF, "the closed fd cannot be named");
    CHECK_SYS(add(ep, d, EPOLLIN, 6), "the dup is another fd: a separate item");
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 2, "both items report the same file");
    close(d);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 0, "last close removes every item of the file");
    close(p[1]);

    /* Nested epoll. */
    int inner = epoll_create1(0);
    pipe(p);
    add(inner, p[0], EPOLLIN, 7);
    CHECK_SYS(add(ep, inner, EPOLLIN, 8), "ADD an epoll to an epoll");
    CHECK_ERR(add(inner, ep, EPOLLIN, 9), ELOOP, "a loop is refused");
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 0, "inner has nothing");
    struct pollfd pf = {inner, POLLIN, 0};
    CHECK_EQ(poll(&pf, 1, 0), 0, "poll on the inner epoll: not ready");
    write(p[1], "d", 1);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 1, "outer sees the inner one ready");
    CHECK_EQ(ev[0].data.u64, 8, "the inner epoll's item");
    CHECK_EQ(ev[0].events, EPOLLIN, "EPOLLIN");
    CHECK_EQ(poll(&pf, 1, 0), 1, "poll on the inner epoll: ready");
    CHECK_EQ(epoll_wait(inner, ev, 8, 0), 1, "inner reports the pipe");
    CHECK_EQ(ev[0].data.u64, 7, "the pipe's item");
    read(p[0], buf, 1);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        cf_msleep(30);
        _exit(write(p[1], "e", 1) == 1 ? 0 : 1);
    }
    CHECK_EQ(epoll_wait(ep, ev, 8, 5000), 1, "outer wait woken by a child writing the inner pipe");
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "child wrote");
    read(p[0], buf, 1);
    close(inner);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 0, "closing the inner epoll removes it");

    /* Nesting depth: a chain of epolls may be at most 5 deep. */
    int chain[7];
    chain[0] = epoll_create1(0);
    int depth_ok = 1;
    for (int i = 1; i < 7; i++) {
        chain[i] = epoll_create1(0);
        if (add(chain[i], chain[i - 1], EPOLLIN, (uint64_t)i) < 0) {
            CHECK_STR(cf_errname(errno), "ELOOP", "chain too deep at level %d", i + 1);
            break;
        }
        depth_ok = i + 1;
    }
    CHECK_EQ(depth_ok, 5, "five nested epolls are allowed");
    for (int i = 0; i < 7 && i <= depth_ok; i++)
        close(chain[i]);

    /* EINTR: epoll_wait is never restarted after a handler, even with SA_RESTART. */
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    pid = start_pinger();
    errno = 0;
    CHECK_ERR(epoll_wait(ep, ev, 8, 5000), EINTR, "a handled signal interrupts epoll_wait");
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    CHECK_ERR(epoll_wait(ep, ev, 8, 5000), EINTR, "with SA_RESTART too");
    stop_pinger(pid);

    /* epoll_pwait: the mask applies only during the wait. */
    sigset_t block, none, cur;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &block, NULL);
    got_usr1 = 0;
    kill(getpid(), SIGUSR1);
    CHECK_EQ(got_usr1, 0, "SIGUSR1 blocked and pending");
    CHECK_EQ(epoll_pwait(ep, ev, 8, 0, &block), 0, "epoll_pwait keeping it blocked: timeout");
    CHECK_ERR(epoll_pwait(ep, ev, 8, 5000, &none), EINTR, "epoll_pwait unblocking it: EINTR");
    CHECK_EQ(got_usr1, 1, "the handler ran");
    sigprocmask(SIG_SETMASK, NULL, &cur);
    CHECK(sigismember(&cur, SIGUSR1), "the old mask is back");
    struct timespec ts = {0, 20 * 1000000};
    CHECK_EQ(syscall(SYS_epoll_pwait2, ep, ev, 8, &ts, NULL, 8), 0, "epoll_pwait2 times out");
    kill(getpid(), SIGUSR1);
    CHECK_ERR(syscall(SYS_epoll_pwait2, ep, ev, 8, NULL, &none, 8), EINTR,
              "epoll_pwait2 with a mask: EINTR");
    CHECK_ERR(syscall(SYS_epoll_pwait2, ep, ev, 8, &ts, &none, 4), EINVAL, "bad sigsetsize");
    ts.tv_nsec = 2000000000;
    CHECK_ERR(syscall(SYS_epoll_pwait2, ep, ev, 8, &ts, NULL, 8), EINVAL, "bad timespec");
    sigprocmask(SIG_UNBLOCK, &block, NULL);

    close(p[0]);
    close(p[1]);
    close(efd);
    close(ep);
    return cf_done();
}
