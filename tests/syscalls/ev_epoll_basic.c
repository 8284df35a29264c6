/* Conformance: epoll basics — epoll_create/epoll_create1 errors, epoll_ctl errors (EBADF, EINVAL,
 * EPERM for regular files and directories, EEXIST, ENOENT), level-triggered readiness of pipes,
 * eventfds and sockets, user data, EPOLL_CTL_MOD and DEL, EPOLLONESHOT, maxevents and timeouts,
 * EPOLLHUP/EPOLLERR/EPOLLRDHUP. Part of tests/syscalls (runs natively and under fnbox; output
 * must match). */
#include "conform.h"
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

/* epoll_wait with timeout 0; returns the count and fills ev. */
static int poll0(int ep, struct epoll_event *ev, int max)
{
    return epoll_wait(ep, ev, max, 0);
}

static int add(int ep, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event e = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

static int mod(int ep, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event e = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    struct epoll_event ev[8], e = {.events = EPOLLIN};

    CHECK_ERR(epoll_create(0), EINVAL, "epoll_create(0)");
    CHECK_ERR(epoll_create(-1), EINVAL, "epoll_create(-1)");
    CHECK_ERR(epoll_create1(1), EINVAL, "epoll_create1 with an unknown flag");
    int ep = CHECK_SYS(epoll_create(1), "epoll_create(1)");
    CHECK_EQ(fcntl(ep, F_GETFD), 0, "no close-on-exec by default");
    close(ep);
    ep = CHECK_SYS(epoll_create1(EPOLL_CLOEXEC), "epoll_create1(EPOLL_CLOEXEC)");
    CHECK_EQ(fcntl(ep, F_GETFD), FD_CLOEXEC, "EPOLL_CLOEXEC sets close-on-exec");
    char path[64], link[64] = {0};
    snprintf(path, sizeof(path), "/proc/self/fd/%d", ep);
    CHECK(readlink(path, link, sizeof(link) - 1) > 0, "readlink of the epoll fd");
    CHECK_STR(link, "anon_inode:[eventpoll]", "epoll link name");

    int p[2];
    pipe(p);
    int reg = open(cf_tmp("file"), O_CREAT | O_RDWR, 0600);
    int dir = open(cf_tmpdir(), O_RDONLY | O_DIRECTORY);
    int devnull = open("/dev/null", O_RDWR);
    CHECK_ERR(epoll_ctl(-1, EPOLL_CTL_ADD, p[0], &e), EBADF, "bad epoll fd");
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, 999, &e), EBADF, "bad target fd");
    CHECK_ERR(epoll_ctl(p[0], EPOLL_CTL_ADD, p[1], &e), EINVAL, "epfd that is not an epoll");
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &e), EINVAL, "an epoll inside itself");
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, reg, &e), EPERM, "a regular file");
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, dir, &e), EPERM, "a directory");
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, devnull, &e), EPERM, "/dev/null");
    CHECK_ERR(epoll_ctl(ep, 99, p[0], &e), EINVAL, "unknown op");
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e), ENOENT, "MOD of an fd not added");
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), ENOENT, "DEL of an fd not added");
    CHECK_SYS(add(ep, p[0], EPOLLIN, 0x1122334455667788ull), "ADD the pipe read end");
    CHECK_ERR(add(ep, p[0], EPOLLIN, 1), EEXIST, "ADD twice");
    e.events = EPOLLIN | EPOLLEXCLUSIVE;
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e), EINVAL, "MOD with EPOLLEXCLUSIVE");
    CHECK_ERR(epoll_wait(ep, ev, 0, 0), EINVAL, "maxevents 0");
    CHECK_ERR(syscall(SYS_epoll_wait, ep, ev, -1, 0), EINVAL, "maxevents -1");
    CHECK_ERR(epoll_wait(p[0], ev, 1, 0), EINVAL, "epoll_wait on a pipe");
    CHECK_ERR(epoll_wait(-1, ev, 1, 0), EBADF, "epoll_wait on a bad fd");

    /* Level-triggered: reported while data is there. */
    CHECK_EQ(poll0(ep, ev, 8), 0, "empty pipe: no events");
    write(p[1], "ab", 2);
    CHECK_EQ(poll0(ep, ev, 8), 1, "data: one event");
    CHECK_EQ(ev[0].events, EPOLLIN, "EPOLLIN");
    CHECK(ev[0].data.u64 == 0x1122334455667788ull, "the 64-bit user data comes back");
    CHECK_EQ(poll0(ep, ev, 8), 1, "still readable: reported again (level-triggered)");
    char buf[8];
    read(p[0], buf, 2);
    CHECK_EQ(poll0(ep, ev, 8), 0, "drained: no event");
    long t0 = time(NULL);
    CHECK_EQ(epoll_wait(ep, ev, 8, 30), 0, "timeout of 30 ms expires");
    CHECK(time(NULL) - t0 < 5, "and returns promptly");

    /* MOD changes events and data; DEL removes. */
    CHECK_SYS(add(ep, p[1], EPOLLOUT, 2), "ADD the write end for EPOLLOUT");
    CHECK_EQ(poll0(ep, ev, 8), 1, "write end is writable");
    CHECK_EQ(ev[0].events, EPOLLOUT, "EPOLLOUT");
    CHECK_EQ(ev[0].data.u64, 2, "its data");
    CHECK_SYS(mod(ep, p[1], EPOLLIN, 3), "MOD the write end to EPOLLIN");
    CHECK_EQ(poll0(ep, ev, 8), 0, "a write end is never readable");
    CHECK_SYS(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL), "DEL the write end");
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL), ENOENT, "DEL again");

    /* EPOLLONESHOT: one report, then nothing until MOD. */
    CHECK_SYS(mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 4), "MOD to EPOLLONESHOT");
    write(p[1], "x", 1);
    CHECK_EQ(poll0(ep, ev, 8), 1, "oneshot reports once");
    CHECK_EQ(poll0(ep, ev, 8), 0, "then it is disabled");
    CHECK_ERR(add(ep, p[0], EPOLLIN, 5), EEXIST, "a disabled item is still there");
    CHECK_SYS(mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 6), "MOD re-arms it");
    CHECK_EQ(poll0(ep, ev, 8), 1, "reported again after MOD");
    CHECK_EQ(ev[0].data.u64, 6, "with the new data");
    read(p[0], buf, 1);
    CHECK_SYS(mod(ep, p[0], EPOLLIN, 7), "back to level-triggered");

    /* Several ready files; maxevents limits and the rest follow. */
    int efd[3];
    for (int i = 0; i < 3; i++) {
        efd[i] = eventfd(1, EFD_NONBLOCK);
        add(ep, efd[i], EPOLLIN, 100 + i);
    }
    CHECK_EQ(poll0(ep, ev, 8), 3, "three eventfds ready");
    uint64_t seen = 0;
    for (int round = 0; round < 3; round++) {
        CHECK_EQ(poll0(ep, ev, 1), 1, "maxevents 1: one event (round %d)", round);
        seen |= 1ull << (ev[0].data.u64 - 100);
    }
    CHECK_EQ(seen, 7, "three calls with maxevents 1 report every ready file");
    for (int i = 0; i < 3; i++)
        close(efd[i]);
    CHECK_EQ(poll0(ep, ev, 8), 0, "closing the only fds removes the items");

    /* EPOLLHUP / EPOLLERR without asking. */
    CHECK_SYS(add(ep, p[1], 0, 8), "ADD the write end with no events");
    CHECK_EQ(poll0(ep, ev, 8), 0, "nothing to report");
    close(p[0]);
    CHECK_EQ(poll0(ep, ev, 8), 1, "reader gone: the write end reports");
    CHECK_EQ(ev[0].events, EPOLLERR, "EPOLLERR is always reported");
    close(p[1]);

    pipe(p);
    add(ep, p[0], EPOLLIN, 9);
    write(p[1], "z", 1);
    close(p[1]);
    CHECK_EQ(poll0(ep, ev, 8), 1, "writer gone with data left");
    CHECK_EQ(ev[0].events, EPOLLIN | EPOLLHUP, "EPOLLIN | EPOLLHUP");
    read(p[0], buf, 1);
    CHECK_EQ(poll0(ep, ev, 8), 1, "drained");
    CHECK_EQ(ev[0].events, EPOLLHUP, "EPOLLHUP alone");
    close(p[0]);

    /* Sockets: EPOLLRDHUP after the peer shuts down writing. */
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    add(ep, sv[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP, 10);
    CHECK_EQ(poll0(ep, ev, 8), 1, "socket is writable");
    CHECK_EQ(ev[0].events, EPOLLOUT, "EPOLLOUT");
    shutdown(sv[1], SHUT_WR);
    CHECK_EQ(poll0(ep, ev, 8), 1, "peer shut down writing");
    CHECK_EQ(ev[0].events, EPOLLIN | EPOLLOUT | EPOLLRDHUP, "EPOLLIN | EPOLLOUT | EPOLLRDHUP");
    close(sv[1]);
    CHECK_EQ(poll0(ep, ev, 8), 1, "peer closed");
    CHECK_EQ(ev[0].events, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLHUP, "and EPOLLHUP");
    close(sv[0]);
    close(reg);
    close(dir);
    close(devnull);
    close(ep);
    return cf_done();
}
