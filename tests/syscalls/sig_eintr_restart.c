/* Conformance: a blocking pipe read interrupted by a handler returns EINTR without SA_RESTART and
 * is restarted with SA_RESTART; same for wait4 and nanosleep's remaining time.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"
#include <pthread.h>

static volatile int hits;
static void handler(int sig)
{
    (void)sig;
    hits++;
}

static pthread_t main_thread;
static volatile int done;
static int pfd[2];

/* Keep poking the main thread until it says it is done (the first signal may come too early). */
static void *poker(void *arg)
{
    (void)arg;
    while (!done) {
        cf_msleep(10);
        pthread_kill(main_thread, SIGUSR1);
    }
    return NULL;
}

/* Poke three times, then provide data. */
static void *poke_then_write(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        cf_msleep(10);
        pthread_kill(main_thread, SIGUSR1);
    }
    cf_msleep(10);
    write(pfd[1], "data", 4);
    return NULL;
}

static void install(int flags)
{
    struct sigaction sa = {0};
    sa.sa_handler = handler;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    main_thread = pthread_self();
    pipe(pfd);
    pthread_t th;

    install(0);
    done = 0;
    pthread_create(&th, NULL, poker, NULL);
    char buf[8] = {0};
    CHECK_ERR(read(pfd[0], buf, sizeof(buf)), EINTR, "read interrupted without SA_RESTART");
    done = 1;
    pthread_join(th, NULL);
    CHECK(hits >= 1, "handler ran");

    install(SA_RESTART);
    hits = 0;
    pthread_create(&th, NULL, poke_then_write, NULL);
    ssize_t n = read(pfd[0], buf, sizeof(buf));
    pthread_join(th, NULL);
    CHECK_EQ(n, 4, "read with SA_RESTART restarted and returned the data");
    CHECK(hits >= 1, "handler ran meanwhile");

    /* wait4 is restarted with SA_RESTART too, and interrupted without it. */
    int gate[2];
    pipe(gate);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(gate[1]);
        read(gate[0], &c, 1);
        _exit(5);
    }
    install(0);
    done = 0;
    pthread_create(&th, NULL, poker, NULL);
    int st;
    CHECK_ERR(waitpid(pid, &st, 0), EINTR, "waitpid interrupted without SA_RESTART");
    done = 1;
    pthread_join(th, NULL);
    close(gate[1]);
    CHECK(waitpid(pid, &st, 0) == pid, "waitpid afterwards");
    CHECK_STR(cf_status_str(st), "exited 5", "status");

    /* nanosleep is never restarted: EINTR with the remaining time. */
    install(SA_RESTART);
    done = 0;
    pthread_create(&th, NULL, poker, NULL);
    struct timespec req = {5, 0}, rem = {0, 0};
    CHECK_ERR(nanosleep(&req, &rem), EINTR, "nanosleep interrupted even with SA_RESTART");
    done = 1;
    pthread_join(th, NULL);
    CHECK(rem.tv_sec >= 3 && rem.tv_sec <= 5, "remaining time reported (between 3 and 5 s)");
    return cf_done();
}
