/* fd passing: a directory fd of the read-write mount, sent over a unix socket to another process,
 * is still confined: openat(fd, "../..") from the receiver stops at the sandbox root, and the
 * received fd cannot be turned into a host path. Outcome: ENOENT/EROFS, as for the sender. */
#include <sys/socket.h>

#include "escape.h"

static int send_fd(int sock, int fd)
{
    char c = 'x';
    struct iovec iov = {&c, 1};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    return (int)sendmsg(sock, &mh, 0);
}

static int recv_fd(int sock)
{
    char c;
    struct iovec iov = {&c, 1};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    struct cmsghdr *cm;
    int fd = -1;
    if (recvmsg(sock, &mh, 0) != 1)
        return -1;
    cm = CMSG_FIRSTHDR(&mh);
    if (cm && cm->cmsg_type == SCM_RIGHTS)
        memcpy(&fd, CMSG_DATA(cm), sizeof(int));
    return fd;
}

int main(void)
{
    int sv[2], dfd, st;
    pid_t kid;

    esc_check(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
    kid = fork();
    if (kid == 0) {
        int fd = recv_fd(sv[1]), bad = 0;
        char buf[256], name[64];
        ssize_t n;
        if (fd < 0)
            _exit(10);
        if (openat(fd, "../../../etc/shadow", O_RDONLY) >= 0 || errno != ENOENT)
            bad |= 1;
        if (openat(fd, "../../" ESC_MARKER, O_WRONLY | O_CREAT, 0644) >= 0 || errno != EROFS)
            bad |= 2;
        snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
        n = readlink(name, buf, sizeof(buf) - 1);
        if (n < 0 || (buf[n] = 0, strcmp(buf, "/rw") != 0))
            bad |= 4;
        if (openat(fd, "inside", O_WRONLY | O_CREAT, 0644) < 0)
            bad |= 8;
        _exit(bad);
    }
    dfd = open("/rw", O_RDONLY | O_DIRECTORY);
    esc_check(send_fd(sv[0], dfd) == 1, "sent the /rw directory fd");
    waitpid(kid, &st, 0);
    esc_check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "the receiver stays confined (%s; bits: 1 read out, 2 created out, 4 wrong name, "
              "8 no create inside)",
              esc_status_str(st));
    esc_check(access("/rw/inside", F_OK) == 0, "the receiver's file is in /rw");
    /* Bad descriptors in SCM_RIGHTS. */
    ESC_ERR(send_fd(sv[0], -1), EBADF);
    ESC_ERR(send_fd(sv[0], 9999), EBADF);
    return esc_done();
}
