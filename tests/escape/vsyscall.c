/* The legacy vsyscall page (0xffffffffff600000) and kernel addresses: calling vsyscall
 * gettimeofday/time, reading the page, and jumping to, reading or writing kernel addresses all
 * fault. The host's vsyscall emulation would otherwise run a host system call without the Sentry.
 * Outcome: SIGSEGV for each, in a child. */
#include <sys/time.h>

#include "escape.h"

#define VSYSCALL 0xffffffffff600000ull

static void vgettimeofday(void *a)
{
    struct timeval tv;
    (void)a;
    ((int (*)(struct timeval *, void *))VSYSCALL)(&tv, NULL);
}
static void vtime(void *a)
{
    (void)a;
    ((long (*)(long *))(VSYSCALL + 0x400))(NULL);
}
static void vread(void *a)
{
    (void)a;
    _exit(*(volatile unsigned char *)VSYSCALL);
}
static void kjump(void *a)
{
    (void)a;
    ((void (*)(void))ESC_KERNEL_ADDR)();
}
static void kread(void *a)
{
    (void)a;
    _exit(*(volatile unsigned char *)(ESC_KERNEL_ADDR + 0x1000));
}
static void kwrite(void *a)
{
    (void)a;
    *(volatile unsigned char *)0xffffffff81000000ull = 0xcc;
}
static void noncanonical(void *a)
{
    (void)a;
    ((void (*)(void))0x0000800000000000ull)();
}

int main(void)
{
    static const struct {
        const char *what;
        void (*fn)(void *);
    } cases[] = {{"vsyscall gettimeofday", vgettimeofday},
                 {"vsyscall time", vtime},
                 {"reading the vsyscall page", vread},
                 {"jumping to a kernel address", kjump},
                 {"reading a kernel address", kread},
                 {"writing the kernel text", kwrite},
                 {"jumping to a non-canonical address", noncanonical}};
    size_t i;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool to;
        int st = esc_run_child(cases[i].fn, NULL, 5000, &to);
        esc_check(!to && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "%s: SIGSEGV (%s)",
                  cases[i].what, esc_status_str(st));
    }
    return esc_done();
}
