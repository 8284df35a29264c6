/* Raw IP sockets (packet crafting, sniffing) do not exist in the sandbox; the table documents
 * SOCK_RAW as EPERM, like an unprivileged process (AF_UNIX SOCK_RAW is a datagram socket on Linux
 * too, so it is not listed). Outcome: EPERM; other families than AF_UNIX EAFNOSUPPORT. */
#include <netinet/in.h>
#include <sys/socket.h>

#include "escape.h"

int main(void)
{
    ESC_ERR(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), EPERM);
    ESC_ERR(socket(AF_INET, SOCK_RAW, IPPROTO_RAW), EPERM);
    ESC_ERR(socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6), EPERM);
    ESC_ERR(socket(AF_INET, SOCK_STREAM, 0), EAFNOSUPPORT);
    ESC_ERR(socket(AF_INET6, SOCK_DGRAM, 0), EAFNOSUPPORT);
    /* No netlink at all (route/audit/uevent sockets would describe the host). */
    ESC_ERR(socket(AF_NETLINK, SOCK_RAW, 0), EAFNOSUPPORT);
    ESC_ERR(socket(AF_NETLINK, SOCK_DGRAM, 0), EAFNOSUPPORT);
    return esc_done();
}
