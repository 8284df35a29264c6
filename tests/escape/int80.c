/* The 32-bit system call entry (int $0x80) from a 64-bit program: it must not reach the host, or
 * the i386 call numbers would bypass the Sentry's x86_64 table. The attack sends the host canary
 * SIGKILL with i386 kill (37), and tries i386 setuid/mount. Outcome: the calling child dies with
 * SIGSEGV (32-bit calls are not supported in the sandbox); the host canary survives (runner). */
#include "escape.h"

static long host;

static void i386_kill(void *a)
{
    long r;
    (void)a;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(37L), "b"(host), "c"(9L) : "memory");
    _exit(r == 0 ? 1 : 2);
}
static void i386_mount(void *a)
{
    long r;
    (void)a;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(21L), "b"(0L), "c"(0L), "d"(0L) : "memory");
    _exit(r == 0 ? 1 : 2);
}

int main(void)
{
    bool to;
    int st;
    host = esc_host_pid();
    esc_check(host > 0, "host canary pid known");
    st = esc_run_child(i386_kill, NULL, 5000, &to);
    esc_check(!to && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "int $0x80 kill: SIGSEGV (%s)",
              esc_status_str(st));
    st = esc_run_child(i386_mount, NULL, 5000, &to);
    esc_check(!to && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "int $0x80 mount: SIGSEGV (%s)",
              esc_status_str(st));
    return esc_done();
}
