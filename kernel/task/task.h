/* Tasks (threads) and thread groups (processes): identity, lifecycle, the per-task host thread
 * and run loop, and the one blocking primitive every wait in the kernel is built on. */
#ifndef FB_TASK_TASK_H
#define FB_TASK_TASK_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <poll.h>

#include "kernel/kernel.h"
#include "kernel/time/timer.h"
#include "kernel/util/list.h"
#include "platform/platform.h"

struct fb_mm;
struct fb_fdtable;
struct fb_fs_ctx;

/* ---- wait queues ------------------------------------------------------------------------------ */

struct fb_waitq {
    struct fb_list waiters;
};

struct fb_waiter {
    struct fb_list node;
    struct fb_waitq *q; /* queue it is on, or NULL */
    struct fb_task *task;
    uint32_t key; /* futex bitset, or unused */
    bool woken;
};

void fb_waitq_init(struct fb_waitq *q);
void fb_waitq_add(struct fb_waitq *q, struct fb_waiter *w, struct fb_task *t);
void fb_waitq_del(struct fb_waiter *w);
/* Wake every waiter (returns how many). */
int fb_waitq_wake_all(struct fb_waitq *q);
int fb_waitq_wake_n(struct fb_waitq *q, int n, uint32_t key_mask);

/* ---- signals ---------------------------------------------------------------------------------- */

struct fb_sigqueue_entry {
    struct fb_list node;
    siginfo_t info;
};

struct fb_sigpending {
    uint64_t mask;       /* bit (sig-1) set if at least one instance is queued */
    struct fb_list list; /* fb_sigqueue_entry, in arrival order */
};

struct fb_sigaction {
    uint64_t handler; /* SIG_DFL (0), SIG_IGN (1) or an application address */
    uint64_t flags;
    uint64_t restorer;
    uint64_t mask;
};

/* Signal handlers, shared by threads (and by processes cloned with CLONE_SIGHAND). */
struct fb_sighand {
    int refs;
    struct fb_sigaction action[64];
};

/* ---- thread groups ---------------------------------------------------------------------------- */

/* An interval timer on a CPU clock: fires when the clock reaches expires_ns (0 = disarmed). */
struct fb_cpu_itimer {
    int64_t expires_ns;
    int64_t interval_ns;
};

enum fb_tg_state {
    FB_TG_LIVE = 0,
    FB_TG_ZOMBIE, /* all threads gone, waiting for the parent to reap */
    FB_TG_DEAD,   /* reaped */
};

struct fb_thread_group {
    int refs;
    int tgid;
    struct fb_list all_node; /* every thread group, live or zombie */
    struct fb_task *leader;
    struct fb_list threads; /* fb_task.tg_node */
    int live_threads;       /* threads that have not exited */

    struct fb_thread_group *parent;
    struct fb_list children; /* fb_thread_group.sibling */
    struct fb_list sibling;
    int exit_signal; /* sent to the parent when this group dies (usually SIGCHLD) */
    /* The thread of `parent` that created this process (Linux real_parent): its exit sends the
     * pdeath signals. NULL once no live thread of the parent is left. */
    struct fb_task *parent_thread;
    bool did_exec;        /* has exec'd since fork (setpgid by the parent then gives EACCES) */
    bool child_subreaper; /* PR_SET_CHILD_SUBREAPER: orphaned descendants are reparented here */
    int dumpable;         /* PR_SET_DUMPABLE (per mm on Linux; per process here) */

    int pgid, sid;

    struct fb_sighand *sighand;
    struct fb_sigpending shared_pending;

    enum fb_tg_state state;
    bool group_exiting; /* exit_group or fatal signal in progress */
    int exit_status;    /* wait status once exiting */

    /* Job control. */
    bool stopped;         /* group stop in effect */
    int stop_signal;
    bool stop_reported;   /* waited for with WUNTRACED already */
    bool continued;       /* SIGCONT arrived, not yet reported (WCONTINUED) */
    int stop_pending_threads;

    struct fb_waitq child_wait; /* wait4/waitid of this group's threads */
    struct fb_task *exec_waiter; /* a thread in execve waiting for its siblings to exit */

    /* Credentials (per process here; Linux keeps them per thread). */
    uint32_t uid, euid, suid, fsuid, gid, egid, sgid, fsgid;
    uint32_t groups[32];
    int ngroups;

    struct rlimit rlim[RLIM_NLIMITS];

    /* ITIMER_REAL / alarm(): SIGALRM from a kernel timer. */
    struct fb_ktimer itimer_real;
    int64_t itimer_real_interval_ns;
    /* ITIMER_VIRTUAL (user CPU) and ITIMER_PROF (user + system CPU), checked as CPU time is
     * accounted (kernel/time/cputimers.c). */
    struct fb_cpu_itimer itimer_virt, itimer_prof;
    /* POSIX timers (timer_create), kernel/time/posix_timers.c. */
    struct fb_list posix_timers;
    int next_timer_id;
    /* While a CPU-time timer is armed: a kernel timer that interrupts the running threads so
     * that their CPU time is accounted and the timers checked even without syscalls. */
    struct fb_ktimer cpu_tick;
    int nr_cpu_timers; /* armed CPU-time timers (itimers and POSIX timers on CPU clocks) */

    /* Accounting for times() and getrusage(). */
    int64_t utime_ns, stime_ns;
    int64_t child_utime_ns, child_stime_ns;
    int64_t start_mono_ns;
};

/* ---- tasks ------------------------------------------------------------------------------------ */

enum fb_task_state {
    FB_TASK_NEW = 0,
    FB_TASK_RUNNING, /* in the kernel or in the application */
    FB_TASK_SLEEPING,
    FB_TASK_EXITED,
};

struct fb_task {
    int tid;
    struct fb_thread_group *tg;
    struct fb_list tg_node;
    struct fb_list knode; /* fb_kernel.tasks */

    struct fb_mm *mm;
    struct fb_fdtable *files;
    struct fb_fs_ctx *fs;

    struct fb_cpu cpu;
    struct fb_pctx *pctx;
    pthread_t thread;
    pthread_cond_t cond;
    int evfd; /* eventfd to wake the task while it polls host fds */
    enum fb_task_state state;
    bool polling_host;        /* sleeping in poll() on host fds (wake through evfd) */
    bool woken;               /* a wake-up arrived since the last sleep started */
    bool interrupt;           /* leave any sleep and pass through the run loop */
    bool exiting;             /* the task must exit at the next opportunity */
    bool parked;              /* stopped at its syscall boundary for a checkpoint */
    int exit_code;            /* wait status bits for this thread's exit */

    /* Signals. */
    uint64_t blocked;
    uint64_t saved_mask;    /* restored after the handler of sigsuspend & co */
    uint64_t sigwait;       /* signals rt_sigtimedwait is waiting for (they stay blocked) */
    bool restore_mask;
    struct fb_sigpending pending;
    stack_t altstack;

    /* Thread bookkeeping. */
    uint64_t clear_child_tid;
    uint64_t robust_list, robust_len;
    char comm[16];
    int pdeath_signal;  /* PR_SET_PDEATHSIG: sent to this thread's process when its parent dies */
    bool no_new_privs;  /* PR_SET_NO_NEW_PRIVS (sticky, inherited) */
    int nice;           /* -20..19 (getpriority/setpriority act on threads, like Linux) */
    int sched_policy;   /* SCHED_OTHER, SCHED_BATCH or SCHED_IDLE */
    uint64_t affinity[16]; /* sched_setaffinity mask (CPUs 0..1023) */

    /* A futex wait interrupted without a signal to handle stays queued (kernel/futex) so that
     * its transparent restart neither loses a wake nor its place after a requeue. */
    void *futex_parked;

    /* vfork: the parent sleeps (before returning to the application) until the child execs
     * or exits. */
    struct fb_task *vfork_parent; /* set in the child */
    struct fb_task *vfork_child;  /* set in the parent while it waits */

    /* Syscall in progress (for strace and restarts). */
    uint64_t sc_nr;
    uint64_t sc_args[6];
    int sc_restart; /* FB_ERESTART* returned by the last syscall, resolved before returning */
    bool restarting;      /* the next syscall is the re-execution of an interrupted one */
    int64_t sc_deadline;  /* absolute deadline of a timed wait, kept across its restart */

    int64_t last_switch_ns; /* for CPU accounting */
    int64_t utime_ns, stime_ns;
    int64_t sleep_ns; /* host time spent asleep in the kernel (not CPU time) */
    int64_t app_since_ns; /* host time it entered the application, 0 while in the kernel */
    /* Long stretches in the application are charged no more CPU time than the host says its
     * process used (charge_app): the host process's CPU time at the last reading, which
     * process that was, and what was charged since. */
    int64_t cpu_snap_ns, cpu_charged_ns;
    uint64_t cpu_snap_ident; /* 0: no reading yet */
    const void *cpu_as;      /* the address space the reading was taken in */
};

/* The task whose host thread this is (NULL on other Sentry threads). */
extern __thread struct fb_task *fb_current;

/* Find a live task by tid / a thread group by tgid (kernel lock held). */
struct fb_task *fb_task_lookup(int tid);
struct fb_thread_group *fb_tg_lookup(int tgid);
struct fb_thread_group *fb_tg_lookup_any(int tgid); /* including zombies */
/* The process a pid names the way Linux's find_task_by_vpid does: the process of a live thread
 * with that tid, or a live or zombie process with that id (kernel lock held). */
struct fb_thread_group *fb_tg_find_pid(int pid);

/* Allocate a pid (tid). Returns -EAGAIN when exhausted. A pid stays busy while any task, thread
 * group, process group or session holds a reference to it. */
int fb_pid_alloc(void);
void fb_pid_ref(int pid);
void fb_pid_unref(int pid);
/* Every thread group (fb_thread_group.all_node), for kill(-1) and /proc. */
struct fb_list *fb_tg_list(void);
/* The pid reference counts (pid_max + 1 entries), for checkpoint and restore. */
uint16_t *fb_pid_table(void);

/* Create a task around the given resources (references are taken over) and start its host
 * thread; the task starts running at cpu. Kernel lock held. */
struct fb_task *fb_task_create(struct fb_thread_group *tg, struct fb_mm *mm,
                               struct fb_fdtable *files, struct fb_fs_ctx *fs);
int fb_task_start(struct fb_task *t);

struct fb_thread_group *fb_tg_new(struct fb_thread_group *parent, struct fb_sighand *sh);
void fb_tg_put(struct fb_thread_group *tg);

/* Sleep until woken, interrupted (returns -EINTR) or the application-monotonic deadline passes
 * (-ETIMEDOUT; deadline_ns 0 = none). Kernel lock held; released while sleeping. Host fds in
 * `fds` (optional) also end the sleep when ready; their revents are filled in. */
int fb_task_sleep(struct fb_task *t, int64_t deadline_ns);
int fb_task_sleep_fds(struct fb_task *t, struct pollfd *fds, int nfds, int64_t deadline_ns);
/* Wake a sleeping task (kernel lock held). */
void fb_task_wake(struct fb_task *t);
/* Make t leave any sleep and pass through its run loop (signals, stops, exits, checkpoints). */
void fb_task_interrupt(struct fb_task *t);
/* Absolute application-monotonic deadline for a wait of rel_ns starting now; when the syscall is
 * the restart of an interrupted one, the original deadline (so restarts never extend waits). */
int64_t fb_task_deadline(struct fb_task *t, int64_t rel_ns);
/* Does t have a reason to abandon a sleep? */
bool fb_task_should_stop_sleep(struct fb_task *t);

/* Exit the current task (this thread only) with the given wait status; does not return to the
 * application. */
void fb_task_exit_thread(struct fb_task *t, int status);
/* Make every thread of t's group exit with the given wait status. */
void fb_tg_exit_group(struct fb_thread_group *tg, int status);
/* Kill every live process of the sandbox with status (the --memory OOM kill). Kernel lock held. */
void fb_tg_kill_all(int status);

/* Wait-status helpers. */
#define FB_W_EXITCODE(ret, sig) (((ret) << 8) | (sig))
#define FB_W_STOPCODE(sig)      (((sig) << 8) | 0x7f)

#endif
