/* Conformance: AF_UNIX control messages — SCM_RIGHTS (files arrive as new fds sharing the open
 * file description, several per message, MSG_CMSG_CLOEXEC, MSG_CTRUNC when the buffer is short,
 * EBADF/EINVAL on send, fds travel with their data), SCM_CREDENTIALS with SO_PASSCRED (implicit
 * and explicit, EPERM for foreign pids). Part of tests/syscalls (runs natively and under fnbox;
 * output must match). */
#include "conform.h"
#include <sys/socket.h>
#include <sys/un.h>

/* Send one byte with fds attached. */
static ssize_t send_fds(int sock, const int *fds, int n, const char *byte)
{
    char ctl[CMSG_SPACE(sizeof(int) * 8)];
    struct iovec iov = {(void *)byte, 1};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (n) {
        memset(ctl, 0, sizeof(ctl));
        mh.msg_control = ctl;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
    }
    return sendmsg(sock, &mh, 0);
}

/* Receive up to 1 byte and the fds; returns the number of fds (-1 on error). */
static int recv_fds(int sock, int *fds, size_t ctl_space, int flags, int *msg_flags)
{
    char byte, ctl[256];
    struct iovec iov = {&byte, 1};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = ctl_space};
    memset(ctl, 0, sizeof(ctl));
    if (recvmsg(sock, &mh, flags) < 0)
        return -1;
    *msg_flags = mh.msg_flags;
    int n = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            memcpy(fds + n, CMSG_DATA(c), sizeof(int) * (size_t)k);
            n += k;
        }
    return n;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    int sv[2], fds[8], got[8], mflags = 0;
    char buf[16];

    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int p[2];
    pipe(p);
    CHECK_EQ(send_fds(sv[0], &p[1], 1, "a"), 1, "send a pipe's write end");
    CHECK_EQ(recv_fds(sv[1], got, sizeof(buf) * 4, 0, &mflags), 1, "one fd received");
    CHECK_EQ(mflags, 0, "no flags");
    CHECK(got[0] != p[1], "as a new fd number");
    CHECK_EQ(write(got[0], "via", 3), 3, "write through the received fd");
    CHECK_EQ(read(p[0], buf, sizeof(buf)), 3, "arrives in the pipe");
    CHECK_EQ(fcntl(got[0], F_GETFD), 0, "no close-on-exec without MSG_CMSG_CLOEXEC");
    fcntl(got[0], F_SETFL, O_NONBLOCK);
    CHECK(fcntl(p[1], F_GETFL) & O_NONBLOCK, "the open file description is shared");
    fcntl(p[1], F_SETFL, 0);
    close(got[0]);

    /* Several fds, and MSG_CMSG_CLOEXEC. */
    fds[0] = p[0];
    fds[1] = p[1];
    fds[2] = sv[0];
    CHECK_EQ(send_fds(sv[0], fds, 3, "b"), 1, "send three fds");
    CHECK_EQ(recv_fds(sv[1], got, sizeof(buf) * 4, MSG_CMSG_CLOEXEC, &mflags), 3, "three received");
    CHECK_EQ(mflags, MSG_CMSG_CLOEXEC, "msg_flags echoes MSG_CMSG_CLOEXEC");
    CHECK_EQ(fcntl(got[0], F_GETFD), FD_CLOEXEC, "received with close-on-exec");
    struct stat s1, s2;
    fstat(got[2], &s1);
    fstat(sv[0], &s2);
    CHECK(s1.st_ino == s2.st_ino && S_ISSOCK(s1.st_mode), "a socket can be sent too");
    for (int i = 0; i < 3; i++)
        close(got[i]);

    /* A control buffer too small: MSG_CTRUNC, extra files are closed. */
    CHECK_EQ(send_fds(sv[0], fds, 3, "c"), 1, "send three again");
    CHECK_EQ(recv_fds(sv[1], got, CMSG_LEN(sizeof(int)), 0, &mflags), 1, "room for one fd");
    CHECK_EQ(mflags, MSG_CTRUNC, "MSG_CTRUNC");
    close(got[0]);
    CHECK_EQ(send_fds(sv[0], fds, 1, "d"), 1, "send one");
    char byte;
    CHECK_EQ(read(sv[1], &byte, 1), 1, "a plain read drops the fd");
    CHECK_EQ(byte, 'd', "and gets the data");

    /* Errors on send. */
    int badfd = 999;
    CHECK_ERR(send_fds(sv[0], &badfd, 1, "e"), EBADF, "sending a bad fd");
    char ctl[CMSG_SPACE(sizeof(int))] = {0};
    struct iovec iov = {"f", 1};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = 99;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    CHECK_ERR(sendmsg(sv[0], &mh, 0), EINVAL, "unknown SOL_SOCKET control message");
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = sizeof(ctl) + 8;
    CHECK_ERR(sendmsg(sv[0], &mh, 0), EINVAL, "cmsg_len beyond the buffer");
    CHECK_ERR(recv(sv[1], buf, 1, MSG_DONTWAIT), EAGAIN, "failed sends queued nothing");

    /* Files travel with their data: a stream read stops after the piece that carries them. */
    write(sv[0], "xy", 2);
    send_fds(sv[0], &p[0], 1, "z");
    write(sv[0], "w", 1);
    char ctlbuf[64];
    char data[8];
    struct iovec riov = {data, sizeof(data)};
    struct msghdr rm = {
        .msg_iov = &riov, .msg_iovlen = 1, .msg_control = ctlbuf, .msg_controllen = sizeof(ctlbuf)};
    CHECK_EQ(recvmsg(sv[1], &rm, 0), 3, "read up to and including the piece with the fd");
    CHECK(rm.msg_controllen > 0, "with the fd attached");
    close(*(int *)CMSG_DATA(CMSG_FIRSTHDR(&rm)));
    CHECK_EQ(read(sv[1], data, sizeof(data)), 1, "the rest comes next");
    close(sv[0]);
    close(sv[1]);

    /* Datagrams: fds survive a peek. */
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    send_fds(sv[0], &p[1], 1, "g");
    CHECK_EQ(recv_fds(sv[1], got, 64, MSG_PEEK, &mflags), 1, "peek gets a copy of the fd");
    close(got[0]);
    CHECK_EQ(recv_fds(sv[1], got, 64, 0, &mflags), 1, "and the real read gets it again");
    close(got[0]);
    close(sv[0]);
    close(sv[1]);

    /* Credentials. */
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    int on = 1;
    CHECK_SYS(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)), "SO_PASSCRED");
    send(sv[0], "h", 1, 0);
    char cbuf[CMSG_SPACE(sizeof(struct ucred))];
    struct iovec ci = {data, 1};
    struct msghdr cm = {
        .msg_iov = &ci, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    CHECK_EQ(recvmsg(sv[1], &cm, 0), 1, "recvmsg with SO_PASSCRED");
    struct cmsghdr *h = CMSG_FIRSTHDR(&cm);
    CHECK(h && h->cmsg_type == SCM_CREDENTIALS && h->cmsg_len == CMSG_LEN(sizeof(struct ucred)),
          "an SCM_CREDENTIALS message");
    struct ucred cr;
    memcpy(&cr, CMSG_DATA(h), sizeof(cr));
    CHECK(cr.pid == getpid() && cr.uid == getuid() && cr.gid == getgid(), "the sender's ids");
    cm.msg_controllen = 0;
    cm.msg_control = NULL;
    send(sv[0], "i", 1, 0);
    CHECK_EQ(recvmsg(sv[1], &cm, 0), 1, "recvmsg without room for credentials");
    CHECK_EQ(cm.msg_flags, MSG_CTRUNC, "MSG_CTRUNC");

    char scbuf[CMSG_SPACE(sizeof(struct ucred))] = {0};
    struct iovec si = {"j", 1};
    struct msghdr sm = {
        .msg_iov = &si, .msg_iovlen = 1, .msg_control = scbuf, .msg_controllen = sizeof(scbuf)};
    h = CMSG_FIRSTHDR(&sm);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_CREDENTIALS;
    h->cmsg_len = CMSG_LEN(sizeof(struct ucred));
    cr.pid = getpid();
    cr.uid = getuid();
    cr.gid = getgid();
    memcpy(CMSG_DATA(h), &cr, sizeof(cr));
    CHECK_EQ(sendmsg(sv[0], &sm, 0), 1, "explicit credentials of our own");
    cm.msg_control = cbuf;
    cm.msg_controllen = sizeof(cbuf);
    CHECK_EQ(recvmsg(sv[1], &cm, 0), 1, "received");
    memcpy(&cr, CMSG_DATA(CMSG_FIRSTHDR(&cm)), sizeof(cr));
    CHECK(cr.pid == getpid(), "with our pid");
    h->cmsg_len = CMSG_LEN(sizeof(struct ucred)) - 1;
    CHECK_ERR(sendmsg(sv[0], &sm, 0), EINVAL, "credentials of the wrong size");
    close(sv[0]);
    close(sv[1]);
    close(p[0]);
    close(p[1]);
    return cf_done();
}
