/* Conformance: MAP_SHARED|MAP_ANONYMOUS memory is shared with a forked child, MAP_PRIVATE is not.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

static volatile int *shared, *priv;

static int child(void *arg)
{
    (void)arg;
    /* Wait for the parent's value, answer through the shared page. */
    for (int i = 0; i < 5000 && shared[0] != 1; i++)
        cf_msleep(1);
    if (shared[0] != 1)
        return 10;
    if (priv[0] != 7)
        return 11; /* private page was copied at fork with value 7 */
    priv[0] = 99;  /* must not be seen by the parent */
    shared[1] = 42;
    shared[0] = 2;
    return 0;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    long pg = 4096;
    shared = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(shared != MAP_FAILED, "mmap MAP_SHARED|MAP_ANONYMOUS");
    priv = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(priv != MAP_FAILED, "mmap MAP_PRIVATE|MAP_ANONYMOUS");
    CHECK_EQ(shared[0] + shared[1] + shared[1024], 0, "shared anon memory starts zeroed");
    priv[0] = 7;

    pid_t pid = cf_spawn(child, NULL);
    CHECK(pid > 0, "fork");
    shared[0] = 1;
    for (int i = 0; i < 5000 && shared[0] != 2; i++)
        cf_msleep(1);
    CHECK_EQ(shared[0], 2, "parent sees child's handshake in shared page");
    CHECK_EQ(shared[1], 42, "parent sees child's write in shared page");
    CHECK_EQ(priv[0], 7, "child's write to private page is invisible to parent");
    int st = cf_wait(pid);
    CHECK_STR(cf_status_str(st), "exited 0", "child status");

    /* Shared memory survives the child's exit and a second child sees the parent's writes. */
    shared[1024] = 5;
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        int ok = shared[1024] == 5 && shared[1] == 42;
        shared[1025] = 6;
        _exit(ok ? 0 : 1);
    }
    st = cf_wait(pid);
    CHECK_STR(cf_status_str(st), "exited 0", "second child saw parent's data on second page");
    CHECK_EQ(shared[1025], 6, "second child's write on second page visible");

    /* mprotect of a shared mapping in the child does not affect the parent. */
    pid = fork();
    if (pid == 0) {
        mprotect((void *)shared, pg, PROT_READ);
        _exit(cf_write_at((void *)shared).signo == SIGSEGV ? 0 : 1);
    }
    st = cf_wait(pid);
    CHECK_STR(cf_status_str(st), "exited 0", "child's mprotect makes its view read-only");
    CHECK_EQ(cf_write_at((void *)shared).signo, 0, "parent's view is still writable");

    /* munmap in the child leaves the parent's mapping intact. */
    pid = fork();
    if (pid == 0) {
        munmap((void *)shared, 2 * pg);
        _exit(0);
    }
    cf_wait(pid);
    shared[2] = 3;
    CHECK_EQ(shared[2], 3, "parent's shared mapping survives child's munmap");
    munmap((void *)shared, 2 * pg);
    munmap((void *)priv, pg);
    return cf_done();
}
