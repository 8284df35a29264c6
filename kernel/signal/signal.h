/* Signals: queueing to threads and thread groups, default actions, job control stops, delivery
 * with signal frames on the application stack, and syscall restart decisions. */
#ifndef FB_SIGNAL_SIGNAL_H
#define FB_SIGNAL_SIGNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "kernel/task/task.h"

/* Kernel-internal syscall results (never seen by the application). */
#define FB_ERESTARTSYS           512
#define FB_ERESTARTNOINTR        513
#define FB_ERESTARTNOHAND        514
#define FB_ERESTART_RESTARTBLOCK 516

#define FB_SIGBIT(sig) (1ull << ((sig)-1))
#define FB_SIG_UNBLOCKABLE (FB_SIGBIT(SIGKILL) | FB_SIGBIT(SIGSTOP))

struct fb_sighand *fb_sighand_new(void);
struct fb_sighand *fb_sighand_copy(const struct fb_sighand *sh);
void fb_sighand_put(struct fb_sighand *sh);
/* Reset handlers to SIG_DFL on exec (ignored signals stay ignored). */
void fb_sighand_exec_reset(struct fb_sighand *sh);

void fb_sigpending_init(struct fb_sigpending *p);
void fb_sigpending_clear(struct fb_sigpending *p);

/* Send sig to a process (any thread that does not block it takes it) or to one thread. `info`
 * NULL means a kernel-generated SI_KERNEL. Returns 0 or -errno. Kernel lock held. */
int fb_signal_send_tg(struct fb_thread_group *tg, int sig, const siginfo_t *info);
int fb_signal_send_task(struct fb_task *t, int sig, const siginfo_t *info);
/* A synchronous fault signal for t: delivered even if blocked or ignored (then it kills). */
void fb_signal_force_fault(struct fb_task *t, int sig, int code, uint64_t addr);
/* Parent notification when a child process exits, stops or continues. */
void fb_signal_notify_parent(struct fb_thread_group *child, int why, int status);

/* Take the lowest pending signal in `set` for t (its own queue first, then its process's);
 * returns it with *info filled, or 0. Timer signals get their overrun count here. */
int fb_signal_dequeue(struct fb_task *t, uint64_t set, siginfo_t *info);
/* Wait status of a process killed by sig: the core flag as Linux sets it (see signal.c). */
int fb_signal_fatal_status(struct fb_thread_group *tg, int sig);

/* Does t have an unblocked pending signal (one that would interrupt a sleep)? */
bool fb_signal_pending(struct fb_task *t);

/* Before returning to the application: handle stops, default actions and handler frames, and
 * resolve a pending syscall restart (t->sc_restart). Kernel lock held; may sleep (stops). */
void fb_signal_handle(struct fb_task *t);

/* Make an XSAVE area from an untrusted source (a signal frame, an image) one the host will
 * load: a valid MXCSR, only the components this process may use, the standard-format header.
 * Without it PTRACE_SETREGSET fails and the task runs on with its old FP state. */
void fb_fpstate_sanitize(uint8_t *fp);

/* rt_sigreturn: restore registers, FP state, mask and alt stack from the frame at rsp. */
int64_t fb_signal_sigreturn(struct fb_task *t);

/* Build a signal frame for the handler of sig on t's stack (signal/frame_x86_64.c). Returns 0
 * or -EFAULT (the caller then kills with SIGSEGV). */
int fb_signal_setup_frame(struct fb_task *t, int sig, const siginfo_t *info,
                          const struct fb_sigaction *act, uint64_t old_mask);

/* Syscalls. */
int64_t fb_signal_sigaction(struct fb_task *t, int sig, uint64_t act, uint64_t oact, size_t size);
int64_t fb_signal_sigprocmask(struct fb_task *t, int how, uint64_t set, uint64_t oset,
                              size_t size);

#endif
