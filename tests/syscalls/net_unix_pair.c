/* Conformance: AF_UNIX socketpair — stream, datagram and seqpacket data and boundaries,
 * MSG_PEEK/MSG_DONTWAIT/MSG_TRUNC/MSG_WAITALL, O_NONBLOCK and EAGAIN, shutdown, EOF, EPIPE and
 * SIGPIPE (MSG_NOSIGNAL), poll masks, FIONREAD, fstat, names of unnamed sockets, creation errors.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

static volatile sig_atomic_t sigpipes;
static void on_pipe(int s)
{
    (void)s;
    sigpipes++;
}

static short revents(int fd)
{
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
    poll(&p, 1, 0);
    return p.revents;
}

static void *slow_writer(void *arg)
{
    int fd = *(int *)arg;
    for (int i = 0; i < 4; i++) {
        cf_msleep(10);
        if (write(fd, "abcd", 4) != 4)
            return (void *)1;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    int sv[2], type = -1, v;
    char buf[256];
    socklen_t len;

    CHECK_ERR(socketpair(AF_UNIX, SOCK_STREAM | 0x100000, 0, sv), EINVAL, "unknown type flag");
    CHECK_ERR(socketpair(AF_UNIX, SOCK_STREAM, 5, sv), EPROTONOSUPPORT, "bad protocol");
    CHECK_ERR(socketpair(AF_UNIX, 7, 0, sv), ESOCKTNOSUPPORT, "unsupported socket type");
    CHECK_ERR(socket(AF_UNIX, 100, 0), EINVAL, "type out of range");
    CHECK_ERR(socket(-1, SOCK_STREAM, 0), EAFNOSUPPORT, "family out of range");
    int raw = CHECK_SYS(socket(AF_UNIX, SOCK_RAW, 0), "AF_UNIX SOCK_RAW is accepted");
    len = sizeof(type);
    getsockopt(raw, SOL_SOCKET, SO_TYPE, &type, &len);
    CHECK_EQ(type, SOCK_DGRAM, "as a datagram socket");
    close(raw);

    /* Stream. */
    CHECK_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "socketpair stream");
    CHECK_EQ(fcntl(sv[0], F_GETFD), FD_CLOEXEC, "SOCK_CLOEXEC");
    CHECK_EQ(fcntl(sv[0], F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDWR, "O_RDWR, blocking");
    struct stat st;
    fstat(sv[0], &st);
    CHECK(S_ISSOCK(st.st_mode), "fstat says socket");
    CHECK_EQ(st.st_mode & 0777, 0777, "mode 0777");
    char path[64], link[64] = {0};
    snprintf(path, sizeof(path), "/proc/self/fd/%d", sv[0]);
    readlink(path, link, sizeof(link) - 1);
    CHECK(strncmp(link, "socket:[", 8) == 0, "/proc/self/fd link is socket:[N]");
    CHECK_EQ(revents(sv[0]), POLLOUT, "fresh pair: writable");
    CHECK_EQ(write(sv[0], "hello", 5), 5, "write 5");
    CHECK_EQ(send(sv[0], " world", 6, 0), 6, "send 6");
    CHECK_EQ(revents(sv[1]), POLLIN | POLLOUT, "peer readable");
    ioctl(sv[1], FIONREAD, &v);
    CHECK_EQ(v, 11, "FIONREAD counts all queued bytes");
    CHECK_EQ(recv(sv[1], buf, 3, MSG_PEEK), 3, "peek 3");
    CHECK_EQ(recv(sv[1], buf, sizeof(buf), 0), 11, "a stream read merges writes");
    buf[11] = 0;
    CHECK_STR(buf, "hello world", "in order");
    CHECK_ERR(recv(sv[1], buf, 1, MSG_DONTWAIT), EAGAIN, "MSG_DONTWAIT on empty");
    CHECK_EQ(read(sv[1], buf, 0), 0, "read of 0 bytes");
    struct sockaddr_un a;
    len = sizeof(a);
    CHECK_SYS(getsockname(sv[0], (struct sockaddr *)&a, &len), "getsockname");
    CHECK_EQ(len, 2, "an unnamed socket's name is just the family");
    len = sizeof(a);
    CHECK_SYS(getpeername(sv[0], (struct sockaddr *)&a, &len), "getpeername");
    CHECK_EQ(len, 2, "the peer is unnamed too");
    CHECK_EQ(a.sun_family, AF_UNIX, "family AF_UNIX");

    pthread_t th;
    pthread_create(&th, NULL, slow_writer, &sv[0]);
    CHECK_EQ(recv(sv[1], buf, 16, MSG_WAITALL), 16, "MSG_WAITALL gathers several writes");
    pthread_join(th, NULL);

    /* Shutdown and EOF. */
    CHECK_ERR(shutdown(sv[0], 7), EINVAL, "shutdown with a bad how");
    CHECK_SYS(shutdown(sv[0], SHUT_WR), "shutdown SHUT_WR");
    CHECK_EQ(revents(sv[1]), POLLIN | POLLOUT | POLLRDHUP, "peer: POLLIN|POLLOUT|POLLRDHUP");
    CHECK_EQ(read(sv[1], buf, 10), 0, "peer reads EOF");
    signal(SIGPIPE, on_pipe);
    CHECK_ERR(write(sv[0], "x", 1), EPIPE, "write after SHUT_WR");
    CHECK_EQ(sigpipes, 1, "SIGPIPE");
    CHECK_ERR(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE, "send MSG_NOSIGNAL");
    CHECK_EQ(sigpipes, 1, "no SIGPIPE with MSG_NOSIGNAL");
    CHECK_EQ(write(sv[1], "back", 4), 4, "the other direction still works");
    CHECK_EQ(read(sv[0], buf, 10), 4, "and is read");
    close(sv[1]);
    CHECK_EQ(revents(sv[0]), POLLIN | POLLOUT | POLLRDHUP | POLLHUP, "peer closed: HUP");
    CHECK_EQ(read(sv[0], buf, 10), 0, "EOF");
    close(sv[0]);

    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    write(sv[0], "unread", 6);
    close(sv[1]);
    CHECK_ERR(write(sv[0], "x", 1), EPIPE, "write to a closed peer");
    CHECK_EQ(sigpipes, 2, "SIGPIPE again");
    close(sv[0]);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    write(sv[1], "unread", 6);
    close(sv[1]);
    CHECK_EQ(read(sv[0], buf, 10), 6, "data sent before close is still read");
    CHECK_EQ(read(sv[0], buf, 10), 0, "then EOF");
    close(sv[0]);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    write(sv[0], "lost", 4);
    close(sv[1]); /* closed with unread data: the peer sees a reset */
    CHECK_EQ(revents(sv[0]), POLLIN | POLLOUT | POLLRDHUP | POLLHUP | POLLERR,
             "unread data at close: POLLERR too");
    len = sizeof(v);
    getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &v, &len);
    CHECK_STR(cf_errname(v), "ECONNRESET", "SO_ERROR is ECONNRESET");
    getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &v, &len);
    CHECK_EQ(v, 0, "reading SO_ERROR clears it");
    close(sv[0]);

    /* Nonblocking stream: fill until EAGAIN. */
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
    CHECK(fcntl(sv[0], F_GETFL) & O_NONBLOCK, "SOCK_NONBLOCK");
    CHECK_ERR(read(sv[0], buf, 1), EAGAIN, "nonblocking read");
    static char big[65536];
    long total = 0;
    for (int i = 0; i < 1000; i++) {
        ssize_t n = write(sv[0], big, sizeof(big));
        if (n < 0)
            break;
        total += n;
    }
    CHECK_STR(cf_errname(errno), "EAGAIN", "a full socket gives EAGAIN");
    CHECK(total > 0, "something was written first");
    CHECK(!(revents(sv[0]) & POLLOUT), "not writable when full");
    long got = 0;
    for (;;) {
        ssize_t n = read(sv[1], big, sizeof(big));
        if (n <= 0)
            break;
        got += n;
    }
    CHECK(got == total, "everything written is read");
    CHECK(revents(sv[0]) & POLLOUT, "writable again once drained");
    close(sv[0]);
    close(sv[1]);

    /* Datagram: boundaries and truncation. */
    CHECK_SYS(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), "socketpair dgram");
    send(sv[0], "one", 3, 0);
    send(sv[0], "two!", 4, 0);
    send(sv[0], "", 0, 0);
    ioctl(sv[1], FIONREAD, &v);
    CHECK_EQ(v, 3, "FIONREAD is the size of the next datagram");
    CHECK_EQ(recv(sv[1], buf, sizeof(buf), 0), 3, "first datagram whole");
    CHECK_EQ(recv(sv[1], buf, 2, MSG_TRUNC | MSG_PEEK), 4, "MSG_TRUNC reports the real length");
    struct iovec iov = {buf, 2};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    CHECK_EQ(recvmsg(sv[1], &mh, 0), 2, "short read of a datagram");
    CHECK_EQ(mh.msg_flags, MSG_TRUNC, "msg_flags MSG_TRUNC");
    CHECK_EQ(recv(sv[1], buf, sizeof(buf), 0), 0, "an empty datagram");
    CHECK_ERR(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), EAGAIN, "then nothing");
    int sndbuf;
    len = sizeof(sndbuf);
    getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &len);
    CHECK_ERR(send(sv[0], big, (size_t)sndbuf, 0), EMSGSIZE, "a datagram larger than SO_SNDBUF");
    CHECK_SYS(shutdown(sv[0], SHUT_RDWR), "shutdown of a dgram socket");
    CHECK_EQ(revents(sv[1]), POLLOUT, "is not seen by its peer");
    CHECK_EQ(recv(sv[0], buf, 1, 0), 0, "but its own reads see EOF");
    close(sv[0]);
    CHECK_ERR(send(sv[1], "x", 1, 0), ECONNREFUSED, "send to a closed datagram peer");
    CHECK_ERR(send(sv[1], "x", 1, 0), ENOTCONN, "after which it is disconnected");
    close(sv[1]);

    /* Seqpacket: records, EOF, EPIPE without SIGPIPE. */
    CHECK_SYS(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), "socketpair seqpacket");
    write(sv[0], "rec1", 4);
    write(sv[0], "record2", 7);
    CHECK_EQ(read(sv[1], buf, sizeof(buf)), 4, "one record per read");
    CHECK_EQ(read(sv[1], buf, 3), 3, "a short read truncates the record");
    CHECK_ERR(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), EAGAIN, "the rest is discarded");
    close(sv[0]);
    CHECK_EQ(revents(sv[1]), POLLIN | POLLOUT | POLLRDHUP | POLLHUP, "peer closed: HUP");
    CHECK_EQ(read(sv[1], buf, sizeof(buf)), 0, "EOF");
    sigpipes = 0;
    CHECK_ERR(send(sv[1], "x", 1, 0), EPIPE, "send to a closed seqpacket peer");
    CHECK_EQ(sigpipes, 0, "no SIGPIPE for seqpacket send");
    close(sv[1]);
    signal(SIGPIPE, SIG_DFL);
    return cf_done();
}
