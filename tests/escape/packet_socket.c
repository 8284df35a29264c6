/* AF_PACKET sockets (link-layer access to the host's interfaces) are refused: the table documents
 * EPERM. Outcome: EPERM for every socket type and protocol. */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <sys/socket.h>

#include "escape.h"

int main(void)
{
    ESC_ERR(socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)), EPERM);
    ESC_ERR(socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP)), EPERM);
    ESC_ERR(socket(AF_PACKET, SOCK_RAW, 0), EPERM);
    ESC_ERR(socket(AF_PACKET, SOCK_STREAM, 0), EPERM);
    return esc_done();
}
