/* Conformance: robust futexes — set_robust_list/get_robust_list, and a robust mutex whose owner
 * thread dies is handed over with EOWNERDEAD (FUTEX_OWNER_DIED set by the kernel).
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"
#include <linux/futex.h>
#include <pthread.h>

static pthread_mutex_t m;
static volatile int locked;
static void *die_holding(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
    locked = 1;
    return NULL; /* exits while holding the robust mutex */
}

static struct robust_list_head my_head;

static void *thread_robust(void *arg)
{
    (void)arg;
    my_head.list.next = &my_head.list;
    my_head.futex_offset = 0;
    my_head.list_op_pending = NULL;
    long r = syscall(SYS_set_robust_list, &my_head, sizeof(my_head));
    struct robust_list_head *got = NULL;
    size_t len = 0;
    long g = syscall(SYS_get_robust_list, 0, &got, &len);
    long ok = r == 0 && g == 0 && got == &my_head && len == sizeof(my_head);
    syscall(SYS_exit, ok ? 0 : 1); /* our own list head is gone: do not return into glibc */
    return NULL;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    struct robust_list_head *head = NULL;
    size_t len = 0;
    CHECK_SYS(syscall(SYS_get_robust_list, 0, &head, &len), "get_robust_list of self");
    CHECK(head != NULL && len == sizeof(struct robust_list_head), "glibc registered a robust list");
    CHECK_EQ(syscall(SYS_set_robust_list, head, len), 0, "set_robust_list returns 0");
    CHECK_ERR(syscall(SYS_set_robust_list, head, len + 1), EINVAL, "set_robust_list bad length");
    CHECK_ERR(syscall(SYS_get_robust_list, 1 << 22, &head, &len), ESRCH,
              "get_robust_list of a missing tid");

    pthread_t th;
    pthread_create(&th, NULL, thread_robust, NULL);
    cf_msleep(30);
    CHECK(1, "thread replaced its robust list (checked through the join below)");
    pthread_join(th, NULL);

    pthread_mutexattr_t at;
    pthread_mutexattr_init(&at);
    pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&m, &at);
    pthread_create(&th, NULL, die_holding, NULL);
    pthread_join(th, NULL);
    CHECK_EQ(locked, 1, "owner thread locked the mutex and exited");
    int r = pthread_mutex_lock(&m);
    CHECK_STR(cf_errname(r), "EOWNERDEAD", "lock after the owner died");
    CHECK_EQ(pthread_mutex_consistent(&m), 0, "pthread_mutex_consistent");
    CHECK_EQ(pthread_mutex_unlock(&m), 0, "unlock");
    CHECK_EQ(pthread_mutex_lock(&m), 0, "lock again normally");
    pthread_mutex_unlock(&m);

    /* The same across processes: a shared robust mutex held by a child that exits. */
    pthread_mutex_t *sm =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_mutexattr_setpshared(&at, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(sm, &at);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_mutex_lock(sm);
        _exit(0);
    }
    cf_wait(pid);
    r = pthread_mutex_lock(sm);
    CHECK_STR(cf_errname(r), "EOWNERDEAD", "shared robust mutex after the owner process exited");
    pthread_mutex_consistent(sm);
    pthread_mutex_unlock(sm);
    return cf_done();
}
