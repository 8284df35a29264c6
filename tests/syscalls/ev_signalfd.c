/* Conformance: signalfd/signalfd4 — creation and mask updates, reading blocked pending signals
 * (thread and process queues) as struct signalfd_siginfo, several per read, EAGAIN, blocking
 * reads woken by another process, poll/epoll readiness, and what stays pending. Part of
 * tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"
#include <poll.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>

static int sfd_read(int fd, struct signalfd_siginfo *si, int max)
{
    ssize_t n = read(fd, si, sizeof(*si) * (size_t)max);
    return n < 0 ? -1 : (int)(n / (ssize_t)sizeof(*si));
}

/* A child that sends sig to the parent after a short delay. */
static pid_t send_later(int sig, int ms)
{
    pid_t parent = getpid();
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        cf_msleep(ms);
        _exit(kill(parent, sig) == 0 ? 0 : 1);
    }
    return pid;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    sigset_t mask, none;
    struct signalfd_siginfo si[4];

    sigemptyset(&none);
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGUSR2);
    sigaddset(&mask, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &mask, NULL);

    CHECK_ERR(syscall(SYS_signalfd4, -1, &mask, 4, 0), EINVAL, "sizemask other than 8");
    CHECK_ERR(signalfd(-1, &mask, 0x1234), EINVAL, "unknown flags");
    CHECK_ERR(signalfd(999, &mask, 0), EBADF, "update of a bad fd");
    int p[2];
    pipe(p);
    CHECK_ERR(signalfd(p[0], &mask, 0), EINVAL, "update of a non-signalfd");
    int fd = CHECK_SYS(signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC), "signalfd4 new");
    CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC, "SFD_CLOEXEC");
    char path[64], link[64] = {0};
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    CHECK(readlink(path, link, sizeof(link) - 1) > 0, "readlink");
    CHECK_STR(link, "anon_inode:[signalfd]", "signalfd link name");
    CHECK_ERR(read(fd, si, sizeof(si[0])), EAGAIN, "nothing pending: EAGAIN");
    CHECK_ERR(read(fd, si, sizeof(si[0]) - 1), EINVAL, "buffer smaller than one siginfo");
    struct pollfd pf = {fd, POLLIN, 0};
    CHECK_EQ(poll(&pf, 1, 0), 0, "not readable");

    /* Pending signals in the mask are read, lowest number first. */
    kill(getpid(), SIGUSR2);
    kill(getpid(), SIGUSR1);
    CHECK_EQ(poll(&pf, 1, 0), 1, "readable with signals pending");
    CHECK_EQ(sfd_read(fd, si, 4), 2, "one read takes both");
    CHECK_STR(cf_signame((int)si[0].ssi_signo), "SIGUSR1", "SIGUSR1 first");
    CHECK_STR(cf_signame((int)si[1].ssi_signo), "SIGUSR2", "then SIGUSR2");
    CHECK_EQ(si[0].ssi_code, SI_USER, "si_code SI_USER");
    CHECK((pid_t)si[0].ssi_pid == getpid(), "ssi_pid is the sender");
    CHECK(si[0].ssi_uid == getuid(), "ssi_uid is the sender's uid");
    sigset_t pend;
    sigpending(&pend);
    CHECK(!sigismember(&pend, SIGUSR1) && !sigismember(&pend, SIGUSR2), "no longer pending");

    /* Queued real-time signals keep their values. */
    union sigval sv = {.sival_int = 1234};
    sigqueue(getpid(), SIGRTMIN, sv);
    sv.sival_int = 5678;
    sigqueue(getpid(), SIGRTMIN, sv);
    CHECK_EQ(sfd_read(fd, si, 1), 1, "read one real-time signal");
    CHECK_EQ(si[0].ssi_code, SI_QUEUE, "si_code SI_QUEUE");
    CHECK_EQ(si[0].ssi_int, 1234, "first value");
    CHECK_EQ(sfd_read(fd, si, 4), 1, "read the second");
    CHECK_EQ(si[0].ssi_int, 5678, "second value");

    /* Thread-directed signals are read too. */
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1);
    CHECK_EQ(sfd_read(fd, si, 4), 1, "a tgkill'ed signal");
    CHECK_EQ(si[0].ssi_code, SI_TKILL, "si_code SI_TKILL");

    /* Changing the mask. */
    sigset_t only2;
    sigemptyset(&only2);
    sigaddset(&only2, SIGUSR2);
    CHECK_EQ(signalfd(fd, &only2, 0), fd, "update returns the same fd");
    kill(getpid(), SIGUSR1);
    CHECK_ERR(read(fd, si, sizeof(si[0])), EAGAIN, "SIGUSR1 no longer in the mask");
    sigpending(&pend);
    CHECK(sigismember(&pend, SIGUSR1), "it stays pending");
    signal(SIGUSR1, SIG_IGN); /* discard it */
    sigprocmask(SIG_UNBLOCK, &mask, NULL);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGUSR1, SIG_DFL);
    close(fd);

    /* Blocking read woken by another process. */
    fd = signalfd(-1, &mask, 0);
    pid_t pid = send_later(SIGUSR2, 30);
    CHECK_EQ(sfd_read(fd, si, 4), 1, "blocking read returns the child's signal");
    CHECK_STR(cf_signame((int)si[0].ssi_signo), "SIGUSR2", "SIGUSR2");
    CHECK((pid_t)si[0].ssi_pid == pid, "ssi_pid is the child");
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "child sent it");

    /* poll and epoll wait for a signal sent later. */
    pid = send_later(SIGUSR1, 30);
    pf.fd = fd;
    CHECK_EQ(poll(&pf, 1, 5000), 1, "poll woken by the signal");
    cf_wait(pid);
    CHECK_EQ(sfd_read(fd, si, 4), 1, "read it");
    int ep = epoll_create1(0);
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = 9}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
    CHECK_EQ(epoll_wait(ep, &out, 1, 0), 0, "epoll: nothing pending");
    pid = send_later(SIGUSR2, 30);
    CHECK_EQ(epoll_wait(ep, &out, 1, 5000), 1, "epoll_wait woken by the signal");
    CHECK_EQ(out.data.u64, 9, "the signalfd");
    cf_wait(pid);
    CHECK_EQ(sfd_read(fd, si, 4), 1, "read it");
    CHECK_STR(cf_signame((int)si[0].ssi_signo), "SIGUSR2", "SIGUSR2");

    /* SIGCHLD with its child fields. */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int cfd = signalfd(-1, &chld, 0);
    fflush(stdout);
    pid = fork();
    if (pid == 0)
        _exit(7);
    CHECK_EQ(sfd_read(cfd, si, 1), 1, "SIGCHLD read from a signalfd");
    CHECK_EQ(si[0].ssi_code, CLD_EXITED, "CLD_EXITED");
    CHECK_EQ(si[0].ssi_status, 7, "exit status 7");
    CHECK((pid_t)si[0].ssi_pid == pid, "ssi_pid is the child");
    cf_wait(pid);
    close(cfd);
    close(ep);
    close(fd);
    close(p[0]);
    close(p[1]);
    sigprocmask(SIG_SETMASK, &none, NULL);
    return cf_done();
}
