/* 1 GB to stdout under --output-limit 1M with SIGPIPE ignored: once the limit is reached every
 * write to stdout or stderr fails with EPIPE; a program that ignores SIGPIPE sees that and stops.
 * Outcome: a short write at the limit, then EPIPE on stdout and on stderr; exit 0. */
#include "escape.h"

int main(void)
{
    static char buf[1 << 16];
    size_t total = 0;
    ssize_t n = 0;
    int i, err = 0;

    signal(SIGPIPE, SIG_IGN);
    memset(buf, 'y', sizeof(buf));
    for (i = 0; i < (1 << 14); i++) {
        n = write(1, buf, sizeof(buf));
        if (n < 0) {
            err = errno;
            break;
        }
        total += (size_t)n;
    }
    /* Report through the exit status: stdout and stderr are both cut off now. */
    if (err != EPIPE || total != (1u << 20))
        return 10;
    if (write(2, "x", 1) != -1 || errno != EPIPE)
        return 11;
    if (write(1, "x", 1) != -1 || errno != EPIPE)
        return 12;
    return 0;
}
