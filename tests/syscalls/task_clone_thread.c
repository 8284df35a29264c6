/* Conformance: threads — raw clone(CLONE_THREAD|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID) with a
 * futex join, pthread create/join, thread ids. Part of tests/syscalls (native and fnbox match). */
#include "conform.h"
#include <linux/futex.h>
#include <pthread.h>

static volatile pid_t child_tid_word = -1, parent_tid_word;
static volatile int raw_ran, raw_tid_ok;
static volatile pid_t raw_pid;

static int raw_thread(void *arg)
{
    (void)arg;
    /* No libc calls that touch TLS: this thread has the parent's thread pointer. */
    raw_pid = (pid_t)syscall(SYS_getpid);
    raw_tid_ok = (pid_t)syscall(SYS_gettid) == parent_tid_word;
    raw_ran = 1;
    return 0; /* glibc's clone wrapper calls SYS_exit: only this thread ends */
}

static void *pt_main(void *arg)
{
    long i = (long)arg;
    pid_t *tid = malloc(sizeof(pid_t));
    *tid = gettid();
    return i == 3 ? (void *)tid : (free(tid), (void *)(i * 10));
}

static pid_t shared_tids[8];
static void *record_tid(void *arg)
{
    shared_tids[(long)arg] = gettid();
    return NULL;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    size_t sz = 256 * 1024;
    char *stack = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
    child_tid_word = -1;
    int tid = clone(raw_thread, stack + sz, flags, NULL, (pid_t *)&parent_tid_word, NULL,
                    (pid_t *)&child_tid_word);
    CHECK(tid > 0, "raw clone of a thread");
    CHECK(tid != getpid(), "new thread's tid differs from the pid");
    /* CLONE_CHILD_CLEARTID: the kernel zeroes the word and futex-wakes it when the thread exits. */
    int spins = 0;
    while (child_tid_word != 0 && spins++ < 1000) {
        pid_t v = child_tid_word;
        if (v != 0) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            syscall(SYS_futex, &child_tid_word, FUTEX_WAIT, v, &ts, NULL, 0);
        }
    }
    CHECK_EQ(child_tid_word, 0, "CLONE_CHILD_CLEARTID word cleared when the thread exited");
    CHECK(parent_tid_word == tid, "CLONE_PARENT_SETTID stored the tid");
    CHECK_EQ(raw_ran, 1, "raw thread ran");
    CHECK(raw_pid == getpid(), "getpid in the thread equals the process pid");
    CHECK_EQ(raw_tid_ok, 1, "gettid in the thread equals the tid clone returned");
    munmap(stack, sz);

    pthread_t th[6];
    for (long i = 0; i < 6; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, pt_main, (void *)i), 0, "pthread_create %ld", i);
    for (long i = 0; i < 6; i++) {
        void *ret;
        CHECK_EQ(pthread_join(th[i], &ret), 0, "pthread_join %ld", i);
        if (i == 3) {
            pid_t t = *(pid_t *)ret;
            CHECK(t != getpid() && t > 0, "thread 3 had its own tid");
            free(ret);
        } else {
            CHECK_EQ((long)ret, i * 10, "thread %ld return value", i);
        }
    }
    CHECK(gettid() == getpid(), "main thread's tid is the pid");

    pthread_t t2[8];
    for (long i = 0; i < 8; i++)
        pthread_create(&t2[i], NULL, record_tid, (void *)i);
    for (int i = 0; i < 8; i++)
        pthread_join(t2[i], NULL);
    bool distinct = true;
    for (int i = 0; i < 8; i++)
        for (int j = i + 1; j < 8; j++)
            distinct &= shared_tids[i] != shared_tids[j];
    CHECK(distinct, "8 concurrent threads have distinct tids");

    /* A detached thread finishing does not disturb the process. */
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_t d;
    shared_tids[0] = 0;
    CHECK_EQ(pthread_create(&d, &at, record_tid, (void *)0), 0, "detached thread");
    for (int i = 0; i < 2000 && __atomic_load_n(&shared_tids[0], __ATOMIC_SEQ_CST) == 0; i++)
        cf_msleep(1);
    CHECK(__atomic_load_n(&shared_tids[0], __ATOMIC_SEQ_CST) > 0, "detached thread ran");
    return cf_done();
}
