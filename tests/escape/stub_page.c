/* The platform's stub code page sits at a fixed address (0x100000000000) in every application
 * address space, and its seccomp filter lets host system calls through from there. The attack:
 * map over it, change its protection, unmap it, then jump to a syscall instruction inside it with
 * kill(host canary, SIGKILL) loaded. Outcome: the range cannot be mapped (ENOMEM) or changed, and
 * the jump is still caught by the Sentry: the host canary survives (runner check) and the child
 * gets a fault or an error, never a host call. The stub's data page, from which its map loop
 * takes the tracer's batches, cannot be written (a write faults). (Its scratch page, where the
 * tracer lays out a msghdr for receiving file fds, is writable and trusted for nothing.) The
 * region after the stub pages, where the host's vDSO sits, cannot be mapped over either. */
#include "escape.h"

#define STUB 0x100000000000ull

static long host;

static void write_data(void *a)
{
    (void)a;
    *(volatile unsigned long *)(STUB + 4096) = 0x4141414141414141ull;
}

static void jump_in(void *a)
{
    unsigned long off = (unsigned long)a;
    (void)a;
    __asm__ volatile("mov %0, %%rdi; mov $9, %%esi; mov $62, %%eax; jmp *%1" ::"r"(host),
                     "r"(STUB + off)
                     : "rdi", "rsi", "rax", "memory");
}

int main(int argc, char **argv)
{
    unsigned long off, from = argc > 2 ? strtoul(argv[1], NULL, 0) : 0,
                       to_ = argc > 2 ? strtoul(argv[2], NULL, 0) : 0x180;
    int faults = 0, others = 0, st;
    bool timed_out;
    host = esc_host_pid();
    st = esc_run_child(write_data, NULL, 1000, &timed_out);
    esc_check(!timed_out && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
              "a write to the stub's data page faults");
    ESC_ERR(mmap((void *)STUB, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            ENOMEM);
    ESC_ERR(mprotect((void *)STUB, 4096, PROT_READ | PROT_WRITE), ENOMEM);
    ESC_OK(munmap((void *)STUB, 4096)); /* succeeds like any unmapped range; the stub stays */
    /* The rest of the platform's region (the host's vDSO lives there) is just as closed. */
    ESC_ERR(mmap((void *)(STUB + 0x10000), 4096, PROT_READ | PROT_WRITE,
                 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            ENOMEM);
    ESC_ERR(mprotect((void *)(STUB + 0x10000), 4096, PROT_READ | PROT_WRITE), ENOMEM);
    /* Every offset of the stub code: some land on syscall instructions, some in its idle loop
     * (a pause the Sentry serves: those children are killed after 300 ms). */
    for (off = from; off < to_; off++) {
        bool to;
        int st = esc_run_child(jump_in, (void *)off, 300, &to);
        if (!to && WIFSIGNALED(st) &&
            (WTERMSIG(st) == SIGSEGV || WTERMSIG(st) == SIGILL || WTERMSIG(st) == SIGBUS ||
             WTERMSIG(st) == SIGSYS))
            faults++;
        else
            others++;
    }
    printf("jumps into the stub page: %d faulted, %d other outcomes\n", faults, others);
    esc_check(kill(1, 0) == 0, "the sandbox still runs");
    return esc_done();
}
