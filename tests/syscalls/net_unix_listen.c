/* Conformance: AF_UNIX names and connections — bind to paths (socket inodes, EADDRINUSE, EINVAL,
 * EROFS), abstract names and autobind, listen/accept/accept4/connect (ECONNREFUSED, EPROTOTYPE,
 * EISCONN, EAGAIN with a full backlog), data before accept, getsockname/getpeername, SO_PEERCRED,
 * SO_ACCEPTCONN, blocking accept woken by a child. Part of tests/syscalls (runs natively and
 * under fnbox; output must match). */
#include "conform.h"
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

static socklen_t path_addr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    strncpy(a->sun_path, path, sizeof(a->sun_path) - 1);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

/* An abstract name: a NUL then the bytes of name (no terminating NUL counted). */
static socklen_t abstract_addr(struct sockaddr_un *a, const char *name)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, name, strlen(name));
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    struct sockaddr_un a, b;
    socklen_t len, alen;
    char buf[64];
    int v;

    const char *path = cf_tmp("sock");
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    alen = path_addr(&a, path);
    CHECK_ERR(listen(srv, 5), EINVAL, "listen on an unnamed socket");
    CHECK_ERR(bind(srv, (struct sockaddr *)&a, 1), EINVAL, "bind with a short length");
    struct sockaddr_un bad = a;
    bad.sun_family = AF_INET;
    CHECK_ERR(bind(srv, (struct sockaddr *)&bad, alen), EINVAL, "bind with the wrong family");
    CHECK_SYS(bind(srv, (struct sockaddr *)&a, alen), "bind to a path");
    struct stat st;
    CHECK_SYS(lstat(path, &st), "the path exists");
    CHECK(S_ISSOCK(st.st_mode), "as a socket inode");
    CHECK_ERR(bind(srv, (struct sockaddr *)&a, alen), EADDRINUSE, "bind twice to the same path");
    struct sockaddr_un a2;
    socklen_t a2len = path_addr(&a2, cf_tmp("sock2"));
    CHECK_ERR(bind(srv, (struct sockaddr *)&a2, a2len), EINVAL, "bind a named socket elsewhere");
    CHECK_ERR(access(cf_tmp("sock2"), F_OK), ENOENT, "which leaves no node behind");
    int other = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(bind(other, (struct sockaddr *)&a, alen), EADDRINUSE, "bind to an existing path");
    struct sockaddr_un missing;
    socklen_t mlen = path_addr(&missing, cf_tmp("nodir/sock"));
    CHECK_ERR(bind(other, (struct sockaddr *)&missing, mlen), ENOENT, "bind in a missing dir");
    cf_readonly_usr();
    struct sockaddr_un ro;
    socklen_t rolen = path_addr(&ro, "/usr/fnbox-test-sock");
    CHECK_ERR(bind(other, (struct sockaddr *)&ro, rolen), EROFS, "bind on a read-only fs");
    len = sizeof(b);
    CHECK_SYS(getsockname(srv, (struct sockaddr *)&b, &len), "getsockname");
    CHECK_EQ(len, alen, "its length counts the path and its NUL");
    CHECK_SAME(b.sun_path, path, "and it is the path");
    len = sizeof(v);
    getsockopt(srv, SOL_SOCKET, SO_ACCEPTCONN, &v, &len);
    CHECK_EQ(v, 0, "SO_ACCEPTCONN before listen");
    CHECK_SYS(listen(srv, 1), "listen");
    getsockopt(srv, SOL_SOCKET, SO_ACCEPTCONN, &v, &len);
    CHECK_EQ(v, 1, "SO_ACCEPTCONN after listen");
    CHECK_SYS(listen(srv, 4), "listen again changes the backlog");

    /* Connect; data may flow before accept. */
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(connect(c, (struct sockaddr *)&missing, mlen), ENOENT, "connect to a missing path");
    struct sockaddr_un reg;
    socklen_t reglen = path_addr(&reg, cf_tmp("plain"));
    cf_write_file(cf_tmp("plain"), "x", 1, 0600);
    CHECK_ERR(connect(c, (struct sockaddr *)&reg, reglen), ECONNREFUSED, "connect to a file");
    int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK_ERR(connect(dg, (struct sockaddr *)&a, alen), EPROTOTYPE, "dgram connect to a stream");
    close(dg);
    struct pollfd pf = {srv, POLLIN, 0};
    CHECK_EQ(poll(&pf, 1, 0), 0, "listener not readable");
    CHECK_SYS(connect(c, (struct sockaddr *)&a, alen), "connect");
    CHECK_EQ(poll(&pf, 1, 0), 1, "listener readable with a pending connection");
    CHECK_EQ(write(c, "early", 5), 5, "write before accept");
    CHECK_ERR(connect(c, (struct sockaddr *)&a, alen), EISCONN, "connect twice");
    len = sizeof(b);
    memset(&b, 0, sizeof(b));
    int s1 = CHECK_SYS(accept(srv, (struct sockaddr *)&b, &len), "accept");
    CHECK_EQ(len, 2, "the client is unnamed");
    CHECK_EQ(read(s1, buf, sizeof(buf)), 5, "read what was sent before accept");
    len = sizeof(b);
    getsockname(s1, (struct sockaddr *)&b, &len);
    CHECK_SAME(b.sun_path, path, "accepted socket's name is the listener's");
    len = sizeof(b);
    getpeername(c, (struct sockaddr *)&b, &len);
    CHECK_EQ(len, alen, "client's peer name length");
    CHECK_SAME(b.sun_path, path, "client's peer is the listener path");
    CHECK_ERR(getpeername(srv, (struct sockaddr *)&b, &len), ENOTCONN, "getpeername on a listener");
    struct ucred cr;
    len = sizeof(cr);
    CHECK_SYS(getsockopt(s1, SOL_SOCKET, SO_PEERCRED, &cr, &len), "SO_PEERCRED");
    CHECK_EQ(len, sizeof(cr), "of ucred size");
    CHECK(cr.pid == getpid() && cr.uid == geteuid() && cr.gid == getegid(),
          "peer credentials are the connector's");
    getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &len);
    CHECK(cr.pid == getpid(), "client's peer credentials are the listener's");
    int lone = socket(AF_UNIX, SOCK_STREAM, 0);
    getsockopt(lone, SOL_SOCKET, SO_PEERCRED, &cr, &len);
    CHECK(cr.pid == 0 && cr.uid == (uid_t)-1 && cr.gid == (gid_t)-1, "no peer: pid 0, ids -1");
    CHECK_ERR(accept(lone, NULL, NULL), EINVAL, "accept on a socket not listening");
    CHECK_ERR(listen(s1, 1), EINVAL, "listen on a connected socket");
    close(lone);
    close(s1);
    close(c);

    /* Backlog and nonblocking accept/connect. */
    CHECK_SYS(listen(srv, 0), "backlog 0");
    int cs[3];
    for (int i = 0; i < 3; i++)
        cs[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CHECK_SYS(connect(cs[0], (struct sockaddr *)&a, alen), "first connect with backlog 0");
    CHECK_ERR(connect(cs[1], (struct sockaddr *)&a, alen), EAGAIN, "then the backlog is full");
    int s2 = CHECK_SYS(accept4(srv, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), "accept4");
    CHECK(fcntl(s2, F_GETFL) & O_NONBLOCK, "accept4 SOCK_NONBLOCK");
    CHECK_EQ(fcntl(s2, F_GETFD), FD_CLOEXEC, "accept4 SOCK_CLOEXEC");
    CHECK_ERR(accept4(srv, NULL, NULL, 0x1234), EINVAL, "accept4 with bad flags");
    CHECK_SYS(connect(cs[1], (struct sockaddr *)&a, alen), "room again after accept");
    close(s2);
    close(accept(srv, NULL, NULL));
    fcntl(srv, F_SETFL, O_NONBLOCK);
    CHECK_ERR(accept(srv, NULL, NULL), EAGAIN, "nonblocking accept with nothing pending");
    fcntl(srv, F_SETFL, 0);
    for (int i = 0; i < 3; i++)
        close(cs[i]);

    /* A pending connection is reset when the listener closes. */
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, alen);
    close(srv);
    CHECK_ERR(read(c, buf, 1), ECONNRESET, "listener closed before accept: ECONNRESET");
    CHECK_EQ(read(c, buf, 1), 0, "then EOF");
    close(c);
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(connect(c, (struct sockaddr *)&a, alen), ECONNREFUSED, "nobody listens on the path");
    close(c);
    unlink(path);

    /* Abstract names and autobind. */
    srv = socket(AF_UNIX, SOCK_STREAM, 0);
    alen = abstract_addr(&a, "fnbox-conform-abstract");
    CHECK_SYS(bind(srv, (struct sockaddr *)&a, alen), "bind an abstract name");
    len = sizeof(b);
    getsockname(srv, (struct sockaddr *)&b, &len);
    CHECK_EQ(len, alen, "abstract name length as given");
    CHECK(memcmp(&a, &b, alen) == 0, "abstract name bytes");
    CHECK_ERR(bind(other, (struct sockaddr *)&a, alen), EADDRINUSE, "abstract name in use");
    dg = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK_SYS(bind(dg, (struct sockaddr *)&a, alen), "the same name for another socket type");
    close(dg);
    listen(srv, 5);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        cf_msleep(30);
        int cc = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(cc, (struct sockaddr *)&a, alen) < 0)
            _exit(1);
        _exit(write(cc, "child", 5) == 5 ? 0 : 2);
    }
    s1 = CHECK_SYS(accept(srv, NULL, NULL), "blocking accept woken by a child's connect");
    CHECK_EQ(read(s1, buf, sizeof(buf)), 5, "read the child's data");
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "child connected and wrote");
    CHECK_EQ(read(s1, buf, sizeof(buf)), 0, "EOF after the child exits");
    close(s1);
    struct sockaddr_un wrong;
    socklen_t wlen = abstract_addr(&wrong, "fnbox-conform-nobody");
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(connect(c, (struct sockaddr *)&wrong, wlen), ECONNREFUSED, "unknown abstract name");
    close(c);
    close(srv);
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(connect(c, (struct sockaddr *)&a, alen), ECONNREFUSED,
              "a closed socket's name is free");
    a.sun_family = AF_UNIX;
    CHECK_SYS(bind(c, (struct sockaddr *)&a, sizeof(sa_family_t)), "autobind (family only)");
    len = sizeof(b);
    getsockname(c, (struct sockaddr *)&b, &len);
    CHECK_EQ(len, offsetof(struct sockaddr_un, sun_path) + 6, "autobind name length");
    CHECK(b.sun_path[0] == 0, "autobind gives an abstract name");
    int hex = 1;
    for (int i = 1; i < 6; i++)
        hex &= (b.sun_path[i] >= '0' && b.sun_path[i] <= '9') ||
               (b.sun_path[i] >= 'a' && b.sun_path[i] <= 'f');
    CHECK(hex, "of five hex digits");
    close(c);
    close(other);
    return cf_done();
}
