/* Malformed control messages: lengths that lie (too short, past the buffer, huge), unknown types,
 * an SCM_RIGHTS with 254 fds (over the documented 253) and control buffers at hostile addresses.
 * Outcome: EINVAL/EFAULT/ENOBUFS as on Linux, never a crash. */
#include <sys/socket.h>

#include "escape.h"

static long send_raw(int sock, void *ctl, size_t ctllen)
{
    char c = 'x';
    struct iovec iov = {&c, 1};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = ctllen};
    return sendmsg(sock, &mh, 0);
}

int main(void)
{
    int sv[2], i;
    static char buf[CMSG_SPACE(sizeof(int) * 300)];
    struct cmsghdr *cm = (struct cmsghdr *)buf;

    esc_check(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0, "socketpair");
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = 4; /* shorter than the header */
    ESC_ERR(send_raw(sv[0], buf, CMSG_SPACE(sizeof(int))), EINVAL);
    cm->cmsg_len = 100000; /* past the control buffer */
    ESC_ERR(send_raw(sv[0], buf, CMSG_SPACE(sizeof(int))), EINVAL);
    cm->cmsg_len = CMSG_LEN(sizeof(int) * 254);
    for (i = 0; i < 254; i++)
        ((int *)CMSG_DATA(cm))[i] = 0;
    ESC_ERR(send_raw(sv[0], buf, CMSG_SPACE(sizeof(int) * 254)), EINVAL);
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    cm->cmsg_type = 77; /* unknown */
    ESC_ERR(send_raw(sv[0], buf, CMSG_SPACE(sizeof(int))), EINVAL);
    ESC_ERR(send_raw(sv[0], (void *)ESC_KERNEL_ADDR, 64), EFAULT);
    ESC_ERR(send_raw(sv[0], NULL, 64), EFAULT);
    ESC_ERR(send_raw(sv[0], (void *)ESC_KERNEL_ADDR, (size_t)1 << 62), ENOBUFS);
    esc_check(write(sv[0], "ok", 2) == 2, "the socket still works");
    return esc_done();
}
