/* 1 GB written to stdout under --output-limit 1M: the output stops at the limit with a marker
 * line, the write that crosses it is short, and the next one fails with EPIPE and raises SIGPIPE
 * (default action: the program dies, exit status 141). The runner checks the size of stdout. */
#include "escape.h"

int main(void)
{
    static char buf[1 << 20];
    int i;
    memset(buf, 'x', sizeof(buf));
    for (i = 0; i < 1024; i++) {
        size_t off = 0;
        while (off < sizeof(buf)) {
            ssize_t n = write(1, buf + off, sizeof(buf) - off);
            if (n < 0)
                return 3;
            off += (size_t)n;
        }
    }
    return 4; /* all of it went through: the limit did nothing */
}
