/* Port I/O: iopl(3) and ioperm() are refused, and executing in/out/cli directly faults (the stub
 * runs at user privilege with IOPL 0). Outcome: EPERM; each instruction kills a child with SIGSEGV.
 */
#include "escape.h"

static void do_in(void *a)
{
    (void)a;
    unsigned char v;
    __asm__ volatile("inb $0x80, %0" : "=a"(v));
}
static void do_out(void *a)
{
    (void)a;
    __asm__ volatile("outb %0, $0x80" ::"a"((unsigned char)0));
}
static void do_cli(void *a)
{
    (void)a;
    __asm__ volatile("cli");
}
static void do_hlt(void *a)
{
    (void)a;
    __asm__ volatile("hlt");
}

int main(void)
{
    static const struct {
        const char *name;
        void (*fn)(void *);
    } insns[] = {{"inb", do_in}, {"outb", do_out}, {"cli", do_cli}, {"hlt", do_hlt}};
    size_t i;
    ESC_REFUSED(SYS_iopl, syscall(SYS_iopl, 3), EPERM);
    ESC_REFUSED(SYS_ioperm, syscall(SYS_ioperm, 0x80, 1, 1), EPERM);
    ESC_REFUSED(SYS_ioperm, syscall(SYS_ioperm, 0, 65536, 1), EPERM);
    for (i = 0; i < sizeof(insns) / sizeof(insns[0]); i++) {
        bool to;
        int st = esc_run_child(insns[i].fn, NULL, 5000, &to);
        esc_check(!to && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "%s faults with SIGSEGV (%s)",
                  insns[i].name, esc_status_str(st));
    }
    return esc_done();
}
