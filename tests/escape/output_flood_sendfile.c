/* The output limit cannot be bypassed by other write paths: sendfile() from a tmpfs file,
 * writev() with many vectors, and stderr instead of stdout, under --output-limit 100000 (stdout
 * and stderr counted together). Outcome: the program sees a short transfer at the limit and then
 * EPIPE from each path (SIGPIPE ignored); the runner checks stdout+stderr hold exactly 100000
 * bytes of data plus the marker. */
#include <sys/sendfile.h>
#include <sys/uio.h>

#include "escape.h"

int main(void)
{
    static char chunk[1 << 16];
    struct iovec iov[16];
    size_t total = 0;
    ssize_t n;
    int fd, i, e1 = 0, e2 = 0, e3 = 0;

    signal(SIGPIPE, SIG_IGN);
    memset(chunk, 's', sizeof(chunk));
    fd = open("/tmp/src", O_RDWR | O_CREAT, 0644);
    for (i = 0; i < 4; i++)
        if (write(fd, chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk))
            return 20;
    for (i = 0; i < 8; i++) {
        off_t off = 0;
        n = sendfile(1, fd, &off, 4 * sizeof(chunk));
        if (n < 0) {
            e1 = errno;
            break;
        }
        total += (size_t)n;
    }
    for (i = 0; i < 16; i++) {
        iov[i].iov_base = chunk;
        iov[i].iov_len = 100;
    }
    if (writev(1, iov, 16) >= 0 || (e2 = errno) != EPIPE)
        return 21;
    if (write(2, chunk, 10) >= 0 || (e3 = errno) != EPIPE)
        return 22;
    if (e1 != EPIPE)
        return 23;
    return total == 100000 ? 0 : 24;
}
