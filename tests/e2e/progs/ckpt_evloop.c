/* An event loop waiting for its request: stdin made non-blocking, then waited on together with
 * another fd (a pipe nothing writes to, as an event loop's wake-up pipe) by epoll_wait, poll or
 * select, as node, asyncio and similar runtimes do instead of a blocking read(2). Checkpointed,
 * the sandbox must be saved at that wait and the restored copy must get the caller's request.
 *
 *   ckpt_evloop MODE [TIMEOUT_MS]     MODE: epoll, poll or select; TIMEOUT_MS (default: none)
 *
 * Before waiting it checks stdin with a zero timeout (no wait: not the ready point) and prints
 * "MODE init"; a copy restored from an image saved at that check instead of at the wait would
 * print it again. Then it prints "MODE got LINE" for the first line of the request ("MODE got"
 * with nothing at end of input, "MODE timeout" when TIMEOUT_MS passed), exit status 0; "FAIL
 * what" and status 1 on an error. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <unistd.h>

static int fail(const char *what)
{
    printf("FAIL %s: %s\n", what, strerror(errno));
    return 1;
}

/* Wait until fd 0 is readable (1), the timeout passes (0) or an error (-1). */
static int wait_in(const char *mode, int other, int timeout_ms)
{
    if (!strcmp(mode, "epoll")) {
        static int ep = -1;
        struct epoll_event ev = {.events = EPOLLIN}, got[4];
        int n;
        if (ep < 0) {
            ep = epoll_create1(EPOLL_CLOEXEC);
            ev.data.fd = 0;
            if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) != 0)
                return -1;
            ev.data.fd = other;
            if (epoll_ctl(ep, EPOLL_CTL_ADD, other, &ev) != 0)
                return -1;
        }
        do
            n = epoll_wait(ep, got, 4, timeout_ms);
        while (n < 0 && errno == EINTR);
        return n < 0 ? -1 : n > 0;
    }
    if (!strcmp(mode, "poll")) {
        struct pollfd p[2] = {{.fd = other, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
        int n;
        do
            n = poll(p, 2, timeout_ms);
        while (n < 0 && errno == EINTR);
        return n < 0 ? -1 : n > 0;
    }
    if (!strcmp(mode, "select")) {
        fd_set in;
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        int n;
        do {
            FD_ZERO(&in);
            FD_SET(0, &in);
            FD_SET(other, &in);
            n = select(other + 1, &in, NULL, NULL, timeout_ms < 0 ? NULL : &tv);
        } while (n < 0 && errno == EINTR);
        return n < 0 ? -1 : n > 0;
    }
    errno = EINVAL;
    return -1;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    int timeout_ms = argc > 2 ? atoi(argv[2]) : -1;
    char buf[256];
    size_t len = 0;
    int p[2], r;

    if (pipe(p) != 0)
        return fail("pipe");
    if (fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK) != 0)
        return fail("O_NONBLOCK on stdin");
    if ((r = wait_in(mode, p[0], 0)) < 0)
        return fail(mode);
    printf("%s init\n", mode);
    fflush(stdout);
    for (;;) {
        ssize_t n = read(0, buf + len, sizeof(buf) - 1 - len);
        if (n > 0) {
            len += (size_t)n;
            if (memchr(buf, '\n', len) || len == sizeof(buf) - 1)
                break;
            continue;
        }
        if (n == 0)
            break;
        if (errno != EAGAIN)
            return fail("read");
        if ((r = wait_in(mode, p[0], timeout_ms)) < 0)
            return fail(mode);
        if (r == 0) {
            printf("%s timeout\n", mode);
            return 0;
        }
    }
    buf[len] = 0;
    buf[strcspn(buf, "\n")] = 0;
    printf("%s got%s%s\n", mode, len ? " " : "", buf);
    return 0;
}
