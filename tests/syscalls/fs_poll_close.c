/* Conformance: a file closed by another thread while poll() sleeps on it. poll keeps the open
 * file alive for the sleep (the Sentry must not free the wait queue it sleeps on), then sees the
 * fd gone: POLLNVAL. Also select() on a closed fd: EBADF.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

#include <poll.h>
#include <pthread.h>
#include <sys/select.h>

static int p[2];

static void *closer(void *arg)
{
    (void)arg;
    cf_msleep(50);
    close(p[1]); /* the last writer: wakes the poller (POLLHUP on the read end) */
    close(p[0]); /* and the fd it polls is gone by the time it looks again */
    return NULL;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    for (int round = 0; round < 20; round++) {
        struct pollfd pfd;
        pthread_t th;
        int r;
        CHECK(pipe(p) == 0, "pipe");
        pfd.fd = p[0];
        pfd.events = POLLIN;
        pfd.revents = 0;
        pthread_create(&th, NULL, closer, NULL);
        r = poll(&pfd, 1, 2000);
        pthread_join(th, NULL);
        if (round == 0 || r != 1) {
            CHECK_EQ(r, 1, "poll returns when the polled pipe is closed under it");
            CHECK((pfd.revents & (POLLNVAL | POLLHUP)) != 0, "revents reports the closed file");
        }
    }
    {
        fd_set set;
        struct timeval tv = {0, 1000};
        int fds[2];
        CHECK(pipe(fds) == 0, "pipe for select");
        close(fds[0]);
        FD_ZERO(&set);
        FD_SET(fds[0], &set);
        CHECK_ERR(select(fds[0] + 1, &set, NULL, NULL, &tv), EBADF, "select on a closed fd");
        close(fds[1]);
    }
    return cf_done();
}
