/* Conformance: AF_UNIX datagram sockets with names and socket options — sendto a bound socket,
 * recvfrom source addresses (named and unnamed senders), connect/disconnect (AF_UNSPEC), EPERM
 * for a receiver connected elsewhere, ENOTCONN, EISCONN/EOPNOTSUPP on streams, a full receive
 * queue (EAGAIN, blocking until read), SO_RCVTIMEO/SO_SNDTIMEO, SO_SNDBUF/SO_RCVBUF doubling,
 * SO_TYPE/SO_DOMAIN/SO_PROTOCOL, other levels. Part of tests/syscalls (runs natively and under
 * fnbox; output must match). */
#include "conform.h"
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

static socklen_t path_addr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    strncpy(a->sun_path, path, sizeof(a->sun_path) - 1);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

static int getint(int fd, int opt)
{
    int v = -1;
    socklen_t len = sizeof(v);
    if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) < 0)
        return -1;
    return v;
}

struct drain {
    int fd, n;
};

static void *drain_later(void *arg)
{
    struct drain *d = arg;
    char buf[16];
    cf_msleep(30);
    for (int i = 0; i < d->n; i++)
        if (recv(d->fd, buf, sizeof(buf), 0) < 0)
            return (void *)1;
    return NULL;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    struct sockaddr_un ra, sa, from;
    socklen_t ralen, salen, len;
    char buf[64];

    int rx = socket(AF_UNIX, SOCK_DGRAM, 0);
    ralen = path_addr(&ra, cf_tmp("rx"));
    CHECK_SYS(bind(rx, (struct sockaddr *)&ra, ralen), "bind the receiver");
    int tx = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK_ERR(send(tx, "x", 1, 0), ENOTCONN, "send without a destination");
    CHECK_EQ(sendto(tx, "anon", 4, 0, (struct sockaddr *)&ra, ralen), 4, "sendto from unnamed");
    len = sizeof(from);
    memset(&from, 0x55, sizeof(from));
    CHECK_EQ(recvfrom(rx, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len), 4, "recvfrom");
    CHECK_EQ(len, 0, "an unnamed sender has an empty address");
    salen = path_addr(&sa, cf_tmp("tx"));
    bind(tx, (struct sockaddr *)&sa, salen);
    sendto(tx, "named", 5, 0, (struct sockaddr *)&ra, ralen);
    len = sizeof(from);
    CHECK_EQ(recvfrom(rx, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len), 5, "recvfrom");
    CHECK_EQ(len, salen, "a named sender's address length");
    CHECK_SAME(from.sun_path, sa.sun_path, "and path");
    len = 4;
    sendto(tx, "short", 5, 0, (struct sockaddr *)&ra, ralen);
    CHECK_EQ(recvfrom(rx, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len), 5, "recvfrom");
    CHECK_EQ(len, salen, "a short address buffer still reports the full length");
    struct sockaddr_un nowhere;
    socklen_t nlen = path_addr(&nowhere, cf_tmp("nowhere"));
    CHECK_ERR(sendto(tx, "x", 1, 0, (struct sockaddr *)&nowhere, nlen), ENOENT,
              "sendto a missing path");
    CHECK_ERR(sendto(tx, "x", 1, 0, (struct sockaddr *)&ra, 1), EINVAL, "a too short address");

    /* connect sets the default destination; AF_UNSPEC clears it. */
    CHECK_SYS(connect(tx, (struct sockaddr *)&ra, ralen), "connect the sender");
    CHECK_EQ(send(tx, "c", 1, 0), 1, "send to the connected peer");
    len = sizeof(from);
    getpeername(tx, (struct sockaddr *)&from, &len);
    CHECK_SAME(from.sun_path, ra.sun_path, "getpeername names the receiver");
    CHECK_SYS(connect(rx, (struct sockaddr *)&sa, salen), "connect the receiver back");
    int third = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK_ERR(sendto(third, "x", 1, 0, (struct sockaddr *)&ra, ralen), EPERM,
              "sendto a socket connected to someone else");
    CHECK_ERR(connect(third, (struct sockaddr *)&ra, ralen), EPERM, "connect to it too");
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    CHECK_SYS(connect(rx, &unspec, sizeof(unspec)), "AF_UNSPEC disconnects");
    CHECK_ERR(getpeername(rx, (struct sockaddr *)&from, &len), ENOTCONN, "no peer any more");
    CHECK_EQ(sendto(third, "ok", 2, 0, (struct sockaddr *)&ra, ralen), 2, "now third may send");
    CHECK_EQ(recv(rx, buf, sizeof(buf), 0), 2, "disconnecting dropped what the peer had sent");
    CHECK_EQ(getint(tx, SO_ERROR), ECONNRESET, "and left the peer ECONNRESET");
    CHECK_EQ(send(tx, "c", 1, 0), 1, "which is reported once");
    CHECK_EQ(recv(rx, buf, sizeof(buf), 0), 1, "tx still reaches rx");
    connect(rx, (struct sockaddr *)&sa, salen);
    send(tx, "c", 1, 0);
    connect(rx, &unspec, sizeof(unspec));
    CHECK_ERR(send(tx, "c", 1, 0), ECONNRESET, "a send reports the pending error");
    close(third);

    /* A full receive queue (only when the receiver is not connected back). */
    int n = 0;
    for (; n < 1000; n++)
        if (send(tx, "q", 1, MSG_DONTWAIT) < 0)
            break;
    CHECK_STR(cf_errname(errno), "EAGAIN", "the receive queue fills up");
    CHECK(n > 0 && n < 1000, "after a bounded number of datagrams");
    struct drain d = {rx, n};
    pthread_t th;
    pthread_create(&th, NULL, drain_later, &d);
    CHECK_EQ(send(tx, "last", 4, 0), 4, "a blocking send waits for room");
    void *ret;
    pthread_join(th, &ret);
    CHECK(ret == NULL, "the reader drained the queue");
    CHECK_EQ(recv(rx, buf, sizeof(buf), 0), 4, "the last datagram arrives");

    /* Timeouts. */
    struct timeval tv = {0, 40000};
    CHECK_SYS(setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), "SO_RCVTIMEO 40 ms");
    struct timeval got = {9, 9};
    len = sizeof(got);
    getsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &got, &len);
    CHECK(got.tv_sec == 0 && got.tv_usec == 40000 && len == sizeof(got), "read back");
    CHECK_ERR(recv(rx, buf, sizeof(buf), 0), EAGAIN, "recv times out with EAGAIN");
    tv.tv_usec = 2000000;
    CHECK_ERR(setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), EDOM, "tv_usec too big");
    CHECK_ERR(setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, 4), EINVAL, "short timeval");
    close(rx);
    close(tx);

    /* Options. */
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_EQ(getint(s, SO_TYPE), SOCK_STREAM, "SO_TYPE");
    CHECK_EQ(getint(s, SO_DOMAIN), AF_UNIX, "SO_DOMAIN");
    CHECK_EQ(getint(s, SO_PROTOCOL), 0, "SO_PROTOCOL");
    CHECK_EQ(getint(s, SO_ERROR), 0, "SO_ERROR");
    CHECK_EQ(getint(s, SO_SNDBUF), 212992, "default SO_SNDBUF");
    int v = 10000;
    CHECK_SYS(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)), "set SO_SNDBUF 10000");
    CHECK_EQ(getint(s, SO_SNDBUF), 20000, "the kernel doubles it");
    v = 1;
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
    CHECK_EQ(getint(s, SO_RCVBUF), 2304, "SO_RCVBUF has a minimum");
    v = 1;
    CHECK_SYS(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)), "SO_REUSEADDR");
    CHECK_EQ(getint(s, SO_REUSEADDR), 1, "read back");
    v = 5;
    setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v));
    CHECK_EQ(getint(s, SO_KEEPALIVE), 1, "boolean options read back as 1");
    struct linger lg = {1, 5}, lg2;
    CHECK_SYS(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), "SO_LINGER");
    len = sizeof(lg2);
    getsockopt(s, SOL_SOCKET, SO_LINGER, &lg2, &len);
    CHECK(lg2.l_onoff == 1 && lg2.l_linger == 5 && len == sizeof(lg2), "SO_LINGER read back");
    CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, 2), EINVAL, "short option");
    CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, -1), EINVAL, "negative length");
    CHECK_ERR(setsockopt(s, SOL_SOCKET, 9999, &v, sizeof(v)), ENOPROTOOPT, "unknown option");
    len = sizeof(v);
    CHECK_ERR(getsockopt(s, SOL_SOCKET, 9999, &v, &len), ENOPROTOOPT, "get unknown option");
    CHECK_ERR(setsockopt(s, 6 /* IPPROTO_TCP */, 1, &v, sizeof(v)), EOPNOTSUPP, "another level");
    len = 2;
    v = 0;
    CHECK_SYS(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &len), "getsockopt into 2 bytes");
    CHECK_EQ(len, 2, "length shrinks to what was asked");
    int notsock = open("/dev/null", O_RDONLY);
    CHECK_ERR(getsockopt(notsock, SOL_SOCKET, SO_TYPE, &v, &len), ENOTSOCK, "not a socket");
    CHECK_ERR(getsockopt(-1, SOL_SOCKET, SO_TYPE, &v, &len), EBADF, "bad fd");
    CHECK_ERR(sendto(s, "x", 1, 0, (struct sockaddr *)&ra, ralen), EOPNOTSUPP,
              "sendto with an address on an unconnected stream");
    CHECK_ERR(send(s, "x", 1, MSG_NOSIGNAL), ENOTCONN, "send on an unconnected stream");
    CHECK_ERR(recv(s, buf, 1, 0), EINVAL, "recv on an unconnected stream");
    int sp = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    CHECK_ERR(recv(sp, buf, 1, 0), ENOTCONN, "recv on an unconnected seqpacket socket");
    CHECK_ERR(send(sp, "x", 1, 0), ENOTCONN, "send on it");
    close(sp);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    CHECK_ERR(sendto(sv[0], "x", 1, 0, (struct sockaddr *)&ra, ralen), EISCONN,
              "sendto with an address on a connected stream");
    close(sv[0]);
    close(sv[1]);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    CHECK_ERR(send(sv[0], "x", 1, MSG_OOB), EOPNOTSUPP, "MSG_OOB on a datagram socket");
    close(sv[0]);
    close(sv[1]);
    close(notsock);
    close(s);
    return cf_done();
}
