/* Unix sockets in flight that reference each other (each socket sent over itself or its peer,
 * then closed) are the classic garbage-collection bug of SCM_RIGHTS. fnbox documents that such
 * cycles are not collected; they must stay bounded by the sandbox and never crash the Sentry.
 * Outcome: 2000 cycles made and dropped, the process keeps working, the sandbox exits cleanly. */
#include <sys/socket.h>

#include "escape.h"

static int send_fds(int sock, const int *fds, int n)
{
    char c = 'x';
    struct iovec iov = {&c, 1};
    char buf[CMSG_SPACE(sizeof(int) * 4)];
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = buf,
                        .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    memset(buf, 0, sizeof(buf));
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
    memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)n);
    return (int)sendmsg(sock, &mh, 0);
}

int main(void)
{
    int i, ok = 0, sv[2];
    for (i = 0; i < 2000; i++) {
        if (socketpair(AF_UNIX, i % 2 ? SOCK_DGRAM : SOCK_STREAM, 0, sv) != 0)
            break;
        if (send_fds(sv[0], sv, 2) == 1 && send_fds(sv[1], sv, 2) == 1)
            ok++;
        close(sv[0]);
        close(sv[1]);
    }
    esc_check(ok == 2000, "2000 self-referencing socket pairs sent and dropped (%d)", ok);
    esc_check(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 && write(sv[0], "a", 1) == 1,
              "sockets still work afterwards");
    return esc_done();
}
