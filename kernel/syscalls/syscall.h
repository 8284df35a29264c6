/* The system call table and dispatcher. Handlers are thin: decode arguments, call the subsystem,
 * return a value or -errno. One table lists every x86_64 system call with its support level. */
#ifndef FB_SYSCALLS_SYSCALL_H
#define FB_SYSCALLS_SYSCALL_H

#include <stdint.h>

#include "kernel/task/task.h"

typedef int64_t (*fb_syscall_fn)(struct fb_task *t, const uint64_t *a);

enum fb_support {
    FB_SC_NONE = 0, /* not implemented: -ENOSYS */
    FB_SC_FULL,     /* implemented */
    FB_SC_PARTIAL,  /* implemented for common uses; the note says what is missing */
    FB_SC_ERROR,    /* deliberately refused with a fixed error (the note says why) */
};

struct fb_syscall_desc {
    const char *name;
    fb_syscall_fn fn;
    enum fb_support support;
    /* Argument formats for --strace, one char per argument:
     * d int, u unsigned, x hex, p pointer, s string, f fd, o octal mode, b buffer written by
     * the app (shown at entry, length in the next argument), B buffer filled by the kernel
     * (shown at exit, length = result), O open flags, P prot, M mmap flags, S signal. */
    const char *args;
    const char *note;
};

#define FB_NR_SYSCALLS 462
extern const struct fb_syscall_desc fb_syscall_table[FB_NR_SYSCALLS];

/* Handle the syscall t stopped at (t->cpu.regs): run it, set rax, handle restarts. */
void fb_syscall_dispatch(struct fb_task *t);
/* Log per-syscall counts and kernel time (debug verbosity). */
void fb_syscall_print_profile(void);
/* Print the table as Markdown (docs/compatibility.md). */
void fb_syscall_print_markdown(void);

#define FB_SYSCALL(name) int64_t fb_sys_##name(struct fb_task *t, const uint64_t *a)
#define FB_SYSCALL_DECL(name) FB_SYSCALL(name)

/* Argument helpers. */
#define ARG_INT(i) ((int)a[i])
#define ARG_U32(i) ((uint32_t)a[i])

#endif
