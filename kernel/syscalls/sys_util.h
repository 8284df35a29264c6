/* Helpers shared by syscall handlers. */
#ifndef FB_SYSCALLS_SYS_UTIL_H
#define FB_SYSCALLS_SYS_UTIL_H

#include <stdint.h>

#include "kernel/task/task.h"

/* Copy a path argument (at most FB_PATH_MAX bytes with its NUL) into buf.
 * Returns 0, -EFAULT or -ENAMETOOLONG. */
int fb_get_path(struct fb_task *t, uint64_t uaddr, char *buf);

/* Task-layer entry points the handlers call (implemented in kernel/task). */
int64_t fb_do_clone(struct fb_task *t, uint64_t flags, uint64_t stack, uint64_t parent_tid,
                    uint64_t child_tid, uint64_t tls);
int64_t fb_do_clone3(struct fb_task *t, uint64_t uargs, uint64_t size);
int64_t fb_do_execve(struct fb_task *t, int dirfd, const char *path, char *const argv[],
                     char *const envp[], int atflags);
int64_t fb_sys_wait4_impl(struct fb_task *t, int pid, uint64_t ustatus, int options,
                          uint64_t rusage);
int64_t fb_sys_waitid_impl(struct fb_task *t, int idtype, int id, uint64_t uinfo, int options,
                           uint64_t rusage);

/* Timespec helpers: copy in and validate; convert. */
int fb_get_timespec(struct fb_task *t, uint64_t uaddr, int64_t *ns);
int fb_put_timespec(struct fb_task *t, uint64_t uaddr, int64_t ns);

#endif
