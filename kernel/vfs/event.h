/* Event files: eventfd, epoll, timerfd and signalfd, the anonymous inodes they live on, and the
 * helpers they share. Private to kernel/vfs/{anon,eventfd,epoll,timerfd,signalfd}.c and the
 * handlers in kernel/syscalls/sys_event.c (and sys_socket.c). Kernel lock held throughout. */
#ifndef FB_VFS_EVENT_H
#define FB_VFS_EVENT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <time.h>

#include "kernel/vfs/vfs.h"

/* ---- anon.c ---------------------------------------------------------------------------------- */

/* A file on a fresh anonymous inode (mode 0600, no file type, like Linux's anon_inode files):
 * f->ops = ops, f->priv = priv, /proc/self/fd/N reads "anon_inode:[name]". Returns 0 or -ENOMEM
 * (then priv is still the caller's). The inode's poll_wq is the file's wait queue. */
int fb_anon_file_new(const char *name, const struct fb_file_ops *ops, unsigned flags, void *priv,
                     struct fb_file **out);

/* llseek of the anonymous files: succeeds without moving (Linux noop_llseek). */
int64_t fb_anon_llseek(struct fb_file *f, int64_t off, int whence);

/* Wake every waiter on q and take them all off it, for a queue about to be freed: a sleeper that
 * registered on it (poll, epoll) finds itself woken and no longer linked, so its later
 * fb_waitq_del is a no-op instead of a write into freed memory. */
void fb_waitq_wake_detach(struct fb_waitq *q);

/* Sleep on f's inode wait queue until it is woken, interrupted (-EINTR) or the deadline passes
 * (-ETIMEDOUT; 0 = none). The "register, sleep, unregister" step of a blocking file op. */
int fb_file_wait(struct fb_file *f, struct fb_task *t, int64_t deadline_ns);

/* ---- epoll.c --------------------------------------------------------------------------------- */

/* The ops a file was opened with. Watching a file with epoll interposes on f->ops (to learn of
 * its last close, see epoll.c), so type checks compare fb_file_real_ops(f), never f->ops. */
const struct fb_file_ops *fb_file_real_ops(const struct fb_file *f);

/* The pseudo task epoll's watchers sleep as (see epoll.c); poll ops that arm timers or register
 * on shared queues only for real sleepers can tell them apart. */
bool fb_poll_task_is_watcher(const struct fb_task *t);

bool fb_file_is_epoll(const struct fb_file *f);
/* epoll_create1: flags are O_CLOEXEC-free file flags (the caller handles close-on-exec). */
int fb_epoll_new(struct fb_file **out);
/* epoll_ctl on ep (an epoll file) for target (the file at fd). ev is NULL for EPOLL_CTL_DEL.
 * Returns 0 or -errno (EINVAL, EPERM, EEXIST, ENOENT, ELOOP, ENOMEM). */
int fb_epoll_ctl(struct fb_file *ep, int op, int fd, struct fb_file *target,
                 const struct epoll_event *ev);
/* Wait for events: fills up to max entries of evs. deadline_ns: 0 = forever, -1 = do not wait,
 * else an application-monotonic deadline. Returns the number of events, 0 on timeout, or
 * -FB_ERESTARTNOHAND when interrupted. */
int fb_epoll_wait(struct fb_task *t, struct fb_file *ep, struct epoll_event *evs, int max,
                  int64_t deadline_ns);

/* ---- eventfd.c ------------------------------------------------------------------------------- */

/* flags: EFD_SEMAPHORE | EFD_NONBLOCK (EFD_CLOEXEC is the caller's). */
int fb_eventfd_new(uint64_t count, int flags, struct fb_file **out);

/* ---- timerfd.c ------------------------------------------------------------------------------- */

bool fb_file_is_timerfd(const struct fb_file *f);
/* clockid: CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME (and their _ALARM forms);
 * flags: TFD_NONBLOCK (TFD_CLOEXEC is the caller's). */
int fb_timerfd_new(int clockid, int flags, struct fb_file **out);
/* Are these timerfd_settime flags and times acceptable (else -EINVAL)? */
bool fb_timerfd_setting_valid(int flags, const struct itimerspec *nv);
/* Arm or disarm (-EINVAL for an invalid setting); `old` (optional) receives the setting before
 * the change. TFD_TIMER_CANCEL_ON_SET is accepted; wall-clock steps are not tracked. */
int fb_timerfd_settime(struct fb_file *f, int flags, const struct itimerspec *nv,
                       struct itimerspec *old);
void fb_timerfd_gettime(struct fb_file *f, struct itimerspec *cur);

/* ---- signalfd.c ------------------------------------------------------------------------------ */

bool fb_file_is_signalfd(const struct fb_file *f);
/* mask: signal bits (SIGKILL and SIGSTOP are dropped); flags: SFD_NONBLOCK. */
int fb_signalfd_new(uint64_t mask, int flags, struct fb_file **out);
void fb_signalfd_set_mask(struct fb_file *f, uint64_t mask);

#endif
