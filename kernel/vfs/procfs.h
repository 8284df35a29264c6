/* procfs: the identity the Sentry presents (uname strings shared with uname(2)) and the content
 * generators behind /proc files (procfs_gen.c), exposed so unit tests can check their text. */
#ifndef FB_VFS_PROCFS_H
#define FB_VFS_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/vfs/vfs.h"

/* What uname(2), /proc/version and /proc/sys/kernel/{ostype,osrelease,version} report. A fixed
 * kernel, whatever the host runs: images move between hosts. */
#define FB_UNAME_SYSNAME "Linux"
#define FB_UNAME_RELEASE "6.1.0-fnbox"
#define FB_UNAME_VERSION "#1 SMP PREEMPT_DYNAMIC Debian 6.1.0-fnbox (2023-01-01)"
#define FB_UNAME_MACHINE "x86_64"

/* Clock ticks per second of times(2), /proc/<pid>/stat and /proc/stat (USER_HZ). */
#define FB_PROCFS_HZ 100
/* Highest capability number we claim to know (CAP_CHECKPOINT_RESTORE). */
#define FB_PROCFS_CAP_LAST_CAP 40

/* A growing text buffer. Allocation failure sets `oom` and later appends are dropped; the
 * generator then reports -ENOMEM instead of returning a truncated file. */
struct fb_pbuf {
    char *data;
    size_t len, cap;
    bool oom;
};

void fb_pbuf_printf(struct fb_pbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fb_pbuf_write(struct fb_pbuf *b, const void *p, size_t n);
void fb_pbuf_reset(struct fb_pbuf *b); /* empty, keeping the allocation */
void fb_pbuf_free(struct fb_pbuf *b);

/* ---- generators ----------------------------------------------------------------------------
 * Each appends the whole file to b and returns 0 or -errno (-ENOMEM if b ran out). Kernel lock
 * held. `tg` is a live thread group; `t` the thread the file describes: for process-wide files
 * (/proc/<pid>/stat) a representative live thread, for /proc/<pid>/task/<tid>/ files that thread
 * (`thread` true). t may be NULL when no thread is left (the file then shows what the group
 * still knows). `mm` may be NULL (kernel threads have none; so have exiting tasks). */

int fb_procfs_gen_stat(struct fb_pbuf *b, struct fb_thread_group *tg, struct fb_task *t,
                       bool thread);
int fb_procfs_gen_status(struct fb_pbuf *b, struct fb_thread_group *tg, struct fb_task *t,
                         bool thread);
int fb_procfs_gen_statm(struct fb_pbuf *b, struct fb_mm *mm);
int fb_procfs_gen_maps(struct fb_pbuf *b, struct fb_mm *mm);
/* The argument / environment areas of mm, read from application memory; stops at the first
 * unreadable page. cmdline follows Linux's rule for processes that rewrote their argv
 * (setproctitle): if the byte before arg_end is not NUL, it shows the single string starting at
 * arg_start (up to a page, running on into an adjacent environment area). */
int fb_procfs_gen_cmdline(struct fb_pbuf *b, struct fb_mm *mm);
int fb_procfs_gen_environ(struct fb_pbuf *b, struct fb_mm *mm);
int fb_procfs_gen_auxv(struct fb_pbuf *b, struct fb_mm *mm);
int fb_procfs_gen_limits(struct fb_pbuf *b, struct fb_thread_group *tg);
/* /proc/<pid>/mounts (mountinfo false) or mountinfo, paths as seen from root. */
int fb_procfs_gen_mounts(struct fb_pbuf *b, const struct fb_path *root, bool mountinfo);
/* /proc/<pid>/fdinfo/<fd>. */
int fb_procfs_gen_fdinfo(struct fb_pbuf *b, struct fb_file *f, bool cloexec);
/* Identifier of a mount in mountinfo and fdinfo (stable while the mount exists). */
int fb_procfs_mount_id(const struct fb_mount *m);

/* Top-level files. */
int fb_procfs_gen_cpuinfo(struct fb_pbuf *b);
int fb_procfs_gen_meminfo(struct fb_pbuf *b);
int fb_procfs_gen_uptime(struct fb_pbuf *b);
int fb_procfs_gen_loadavg(struct fb_pbuf *b);
int fb_procfs_gen_kstat(struct fb_pbuf *b);
int fb_procfs_gen_version(struct fb_pbuf *b);
int fb_procfs_gen_filesystems(struct fb_pbuf *b);
/* A random version-4 UUID with a newline (/proc/sys/kernel/random/uuid). */
int fb_procfs_gen_uuid(struct fb_pbuf *b);

/* Facts about the host that need system calls (sysinfo(2), sched_getaffinity(2)), gathered once
 * before the Sentry locks itself down; later calls are cheap. Called at boot and by fb_procfs_new.
 * Tests may call it. The CPUID facts of /proc/cpuinfo are gathered at its first read instead. */
void fb_procfs_host_init(void);
/* Online CPUs the sandbox sees (>= 1). */
int fb_procfs_ncpus(void);
/* Host RAM in bytes (sysinfo), the MemTotal when no memory limit is set. */
uint64_t fb_procfs_host_mem(void);

#endif
