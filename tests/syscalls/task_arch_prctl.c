/* Conformance: arch_prctl ARCH_GET_FS/ARCH_SET_FS/ARCH_GET_GS and set_tid_address.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"
#include <asm/prctl.h>
#include <linux/futex.h>
#include <pthread.h>

static void *tcb_self(void)
{
    void *p;
    __asm__ volatile("mov %%fs:0, %0" : "=r"(p));
    return p;
}

static volatile int tid_word;
static volatile long set_tid_ret;
static void *tid_thread(void *arg)
{
    (void)arg;
    tid_word = gettid();
    set_tid_ret = syscall(SYS_set_tid_address, &tid_word);
    syscall(SYS_exit, 0); /* the kernel clears tid_word and wakes it */
    return NULL;
}

static int set_fs_child(void *arg)
{
    (void)arg;
    /* A block whose first word points at itself, like a TCB. */
    static uintptr_t block[64];
    block[0] = (uintptr_t)block;
    block[1] = 0x1234;
    unsigned long old = 0, now = 0;
    syscall(SYS_arch_prctl, ARCH_GET_FS, &old);
    if (syscall(SYS_arch_prctl, ARCH_SET_FS, block) != 0)
        return 1;
    syscall(SYS_arch_prctl, ARCH_GET_FS, &now);
    uintptr_t w1;
    __asm__ volatile("mov %%fs:8, %0" : "=r"(w1));
    int ok = now == (unsigned long)block && tcb_self() == (void *)block && w1 == 0x1234;
    syscall(SYS_arch_prctl, ARCH_SET_FS, old); /* restore before libc needs TLS again */
    return ok ? 0 : 2;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    unsigned long fs = 0;
    CHECK_SYS(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs), "ARCH_GET_FS");
    CHECK(fs != 0, "fs base is set");
    CHECK(fs == (unsigned long)tcb_self(), "fs base == TCB self pointer");
    unsigned long gs = 1;
    CHECK_SYS(syscall(SYS_arch_prctl, ARCH_GET_GS, &gs), "ARCH_GET_GS");
    CHECK_EQ(gs, 0, "gs base is 0");
    CHECK_ERR(syscall(SYS_arch_prctl, 0x9999, &fs), EINVAL, "unknown arch_prctl code");
    CHECK_ERR(syscall(SYS_arch_prctl, ARCH_GET_FS, 8L), EFAULT, "ARCH_GET_FS to a bad pointer");
    CHECK_ERR(syscall(SYS_arch_prctl, ARCH_SET_FS, 0xffff800000000000ul), EPERM,
              "ARCH_SET_FS to a kernel address");
    CHECK_STR(cf_status_str(cf_run_child(set_fs_child, NULL)), "exited 0",
              "ARCH_SET_FS in a child moves %%fs and reads back");

    CHECK(syscall(SYS_set_tid_address, NULL) == gettid(), "set_tid_address returns the tid");
    pthread_t th;
    tid_word = -1;
    pthread_create(&th, NULL, tid_thread, NULL);
    for (int i = 0; i < 1000 && tid_word != 0; i++) {
        int v = tid_word;
        if (v != 0) {
            struct timespec ts = {0, 5 * 1000 * 1000};
            syscall(SYS_futex, &tid_word, FUTEX_WAIT, v, &ts, NULL, 0);
        }
    }
    CHECK(set_tid_ret > 0 && set_tid_ret != getpid(), "thread's set_tid_address returned its tid");
    CHECK_EQ(tid_word, 0, "word set with set_tid_address cleared at thread exit");
    return cf_done();
}
