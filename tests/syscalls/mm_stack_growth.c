/* Conformance: the main stack grows down on demand (deep recursion), thread stacks work, and an
 * explicit MAP_GROWSDOWN mapping extends when touched below. Part of tests/syscalls. */
#include "conform.h"
#include <pthread.h>

#define PG 4096

static int recurse(int depth)
{
    volatile char frame[1024];
    frame[0] = (char)depth;
    frame[1023] = (char)(depth >> 8);
    if (depth == 0)
        return frame[0];
    return recurse(depth - 1) + (frame[0] == (char)depth ? 1 : -100000);
}

static void *thread_main(void *arg)
{
    long depth = (long)arg;
    return (void *)(long)recurse((int)depth);
}

static void touch_below(void *p)
{
    *(volatile char *)p = 1;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    struct rlimit rl;
    CHECK_SYS(getrlimit(RLIMIT_STACK, &rl), "getrlimit RLIMIT_STACK");
    CHECK(rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= 4u << 20, "stack limit is at least 4 MiB");
    /* About 3 MiB of stack: far more than the initial stack mapping. */
    CHECK_EQ(recurse(3000), 3000, "recursion 3000 frames of 1 KiB");
    CHECK_EQ(recurse(3000), 3000, "again, over the already grown stack");

    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 1 << 20);
    pthread_t th;
    void *ret = NULL;
    CHECK_EQ(pthread_create(&th, &at, thread_main, (void *)600L), 0, "thread with a 1 MiB stack");
    pthread_join(th, &ret);
    CHECK_EQ((long)ret, 600, "thread recursion 600 frames");

    /* MAP_GROWSDOWN: reserve 4 MiB, free it, map the top page as growsdown, touch below. */
    char *area = mmap(NULL, 4 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(area != MAP_FAILED, "reserve 4 MiB");
    munmap(area, 4 << 20);
    char *top = area + (4 << 20) - PG;
    char *gd = mmap(top, PG, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN, -1, 0);
    CHECK(gd == top, "MAP_GROWSDOWN mapping at the top of the hole");
    gd[0] = 'g';
    struct cf_fault f = cf_catch(touch_below, gd - 100);
    CHECK_EQ(f.signo, 0, "touching just below a MAP_GROWSDOWN mapping extends it");
    f = cf_catch(touch_below, gd - 5 * PG);
    CHECK_EQ(f.signo, 0, "touching five pages below extends it further");
    CHECK_EQ(gd[0], 'g', "original page kept its data");
    munmap(area, 4 << 20);
    return cf_done();
}
