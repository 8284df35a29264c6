/* Task core: wait queues, the sleep/wake/interrupt primitive, pid allocation, task creation and
 * the per-task host thread running the application until it exits. */
#include "kernel/task/task.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kernel/futex/futex.h"
#include "kernel/mm/mm.h"
#include "kernel/signal/signal.h"
#include "kernel/syscalls/syscall.h"
#include "kernel/time/posix_timers.h"
#include "kernel/util/cleanup.h"
#include "kernel/util/log.h"
#include "kernel/vfs/vfs.h"

__thread struct fb_task *fb_current;
struct fb_kstats fb_stats;

struct fb_pctx *fb_mm_current_ctx(void)
{
    return fb_current ? fb_current->pctx : NULL;
}

/* ---- wait queues ------------------------------------------------------------------------------ */

void fb_waitq_init(struct fb_waitq *q)
{
    fb_list_init(&q->waiters);
}

void fb_waitq_add(struct fb_waitq *q, struct fb_waiter *w, struct fb_task *t)
{
    w->task = t;
    w->woken = false;
    w->q = q;
    fb_list_add_tail(&q->waiters, &w->node);
}

void fb_waitq_del(struct fb_waiter *w)
{
    if (w->q) {
        fb_list_del(&w->node);
        w->q = NULL;
    }
}

int fb_waitq_wake_n(struct fb_waitq *q, int n, uint32_t key_mask)
{
    struct fb_list *pos, *tmp;
    int woken = 0;

    fb_list_for_each_safe(pos, tmp, &q->waiters)
    {
        struct fb_waiter *w = fb_list_entry(pos, struct fb_waiter, node);
        if (woken >= n)
            break;
        if (key_mask && !(w->key & key_mask))
            continue;
        if (!w->woken) {
            w->woken = true;
            fb_task_wake(w->task);
            woken++;
        }
    }
    return woken;
}

int fb_waitq_wake_all(struct fb_waitq *q)
{
    return fb_waitq_wake_n(q, 1 << 30, 0);
}

/* ---- sleeping ----------------------------------------------------------------------------------- */

int64_t fb_task_deadline(struct fb_task *t, int64_t rel_ns)
{
    if (t->restarting && t->sc_deadline)
        return t->sc_deadline;
    if (rel_ns < 0)
        rel_ns = 0;
    if (rel_ns > INT64_MAX / 4)
        rel_ns = INT64_MAX / 4;
    t->sc_deadline = fb_app_mono_ns() + rel_ns;
    return t->sc_deadline;
}

bool fb_task_should_stop_sleep(struct fb_task *t)
{
    return t->interrupt || t->exiting || fb_signal_pending(t);
}

static void deadline_to_abs(int64_t deadline_ns, struct timespec *ts)
{
    /* Application monotonic deadline -> host CLOCK_MONOTONIC absolute time. */
    int64_t host = deadline_ns - fb_k->mono_offset_ns;
    if (host < 0)
        host = 0;
    ts->tv_sec = host / 1000000000;
    ts->tv_nsec = host % 1000000000;
}

int fb_task_sleep(struct fb_task *t, int64_t deadline_ns)
{
    struct timespec ts;
    int64_t start = fb_host_mono_ns();
    int r = 0;

    if (deadline_ns)
        deadline_to_abs(deadline_ns, &ts);
    t->state = FB_TASK_SLEEPING;
    while (!t->woken) {
        if (fb_task_should_stop_sleep(t)) {
            r = -EINTR;
            break;
        }
        if (deadline_ns) {
            if (fb_app_mono_ns() >= deadline_ns) {
                r = -ETIMEDOUT;
                break;
            }
            pthread_cond_timedwait(&t->cond, &fb_k->lock, &ts);
        } else {
            pthread_cond_wait(&t->cond, &fb_k->lock);
        }
    }
    if (t->woken)
        r = 0;
    t->woken = false;
    t->state = FB_TASK_RUNNING;
    t->sleep_ns += fb_host_mono_ns() - start;
    return r;
}

int fb_task_sleep_fds(struct fb_task *t, struct pollfd *fds, int nfds, int64_t deadline_ns)
{
    struct pollfd pfd[FB_POLL_MAX_HOST + 1];
    int64_t start = fb_host_mono_ns();
    int i, r = 0, n;

    if (nfds > FB_POLL_MAX_HOST)
        nfds = FB_POLL_MAX_HOST;
    memcpy(pfd, fds, sizeof(*fds) * (size_t)nfds);
    pfd[nfds].fd = t->evfd;
    pfd[nfds].events = POLLIN;
    t->state = FB_TASK_SLEEPING;
    t->polling_host = true;
    for (;;) {
        int timeout = -1;
        uint64_t v;
        if (t->woken)
            break;
        if (fb_task_should_stop_sleep(t)) {
            r = -EINTR;
            break;
        }
        if (deadline_ns) {
            int64_t left = deadline_ns - fb_app_mono_ns();
            if (left <= 0) {
                r = -ETIMEDOUT;
                break;
            }
            timeout = (int)FB_MIN(left / 1000000 + 1, 1 << 30);
        }
        fb_kernel_unlock();
        for (i = 0; i <= nfds; i++)
            pfd[i].revents = 0;
        n = poll(pfd, (nfds_t)nfds + 1, timeout);
        fb_kernel_lock();
        if (n > 0 && (pfd[nfds].revents & POLLIN))
            (void)!read(t->evfd, &v, sizeof(v));
        if (n > 0) {
            bool ready = false;
            for (i = 0; i < nfds; i++)
                if (pfd[i].revents)
                    ready = true;
            if (ready)
                break;
        }
    }
    for (i = 0; i < nfds; i++)
        fds[i].revents = pfd[i].revents;
    if (t->woken)
        r = 0;
    t->woken = false;
    t->polling_host = false;
    t->state = FB_TASK_RUNNING;
    t->sleep_ns += fb_host_mono_ns() - start;
    return r;
}

static void kick(struct fb_task *t)
{
    pthread_cond_signal(&t->cond);
    if (t->polling_host) {
        uint64_t one = 1;
        (void)!write(t->evfd, &one, sizeof(one));
    }
}

void fb_task_wake(struct fb_task *t)
{
    t->woken = true;
    kick(t);
}

void fb_task_interrupt(struct fb_task *t)
{
    t->interrupt = true;
    kick(t);
    if (t->pctx)
        fb_k->plat->ops->interrupt(t->pctx);
}

/* ---- pids --------------------------------------------------------------------------------------- */

/* A pid is busy while any task, thread group, process group or session uses it. */
static uint16_t *pid_refs;

static int pid_refs_init(void)
{
    if (!pid_refs) {
        pid_refs = calloc((size_t)fb_k->pid_max + 1, sizeof(uint16_t));
        if (!pid_refs)
            return -ENOMEM;
    }
    return 0;
}

void fb_pid_ref(int pid)
{
    if (pid > 0 && pid <= fb_k->pid_max && pid_refs)
        pid_refs[pid]++;
}

void fb_pid_unref(int pid)
{
    if (pid > 0 && pid <= fb_k->pid_max && pid_refs && pid_refs[pid])
        pid_refs[pid]--;
}

int fb_pid_alloc(void)
{
    int i;
    if (pid_refs_init() < 0)
        return -ENOMEM;
    for (i = 0; i < fb_k->pid_max; i++) {
        int pid = fb_k->next_pid;
        fb_k->next_pid = pid >= fb_k->pid_max ? 300 : pid + 1;
        if (!pid_refs[pid]) {
            pid_refs[pid] = 1;
            return pid;
        }
    }
    return -EAGAIN;
}

struct fb_task *fb_task_lookup(int tid)
{
    struct fb_list *pos;
    fb_list_for_each(pos, &fb_k->tasks)
    {
        struct fb_task *t = fb_list_entry(pos, struct fb_task, knode);
        if (t->tid == tid && t->state != FB_TASK_EXITED)
            return t;
    }
    return NULL;
}

static struct fb_list all_tgs = FB_LIST_INIT(all_tgs);

struct fb_thread_group *fb_tg_lookup_any(int tgid)
{
    struct fb_list *pos;
    fb_list_for_each(pos, &all_tgs)
    {
        struct fb_thread_group *tg = fb_list_entry(pos, struct fb_thread_group, all_node);
        if (tg->tgid == tgid && tg->state != FB_TG_DEAD)
            return tg;
    }
    return NULL;
}

struct fb_thread_group *fb_tg_find_pid(int pid)
{
    struct fb_task *t = pid > 0 ? fb_task_lookup(pid) : NULL;
    if (t && t->tg)
        return t->tg;
    return pid > 0 ? fb_tg_lookup_any(pid) : NULL;
}

struct fb_thread_group *fb_tg_lookup(int tgid)
{
    struct fb_thread_group *tg = fb_tg_lookup_any(tgid);
    return tg && tg->state == FB_TG_LIVE ? tg : NULL;
}

struct fb_list *fb_tg_list(void)
{
    return &all_tgs;
}

/* ---- thread groups ------------------------------------------------------------------------------ */

struct fb_thread_group *fb_tg_new(struct fb_thread_group *parent, struct fb_sighand *sh)
{
    struct fb_thread_group *tg = calloc(1, sizeof(*tg));
    int i;

    if (!tg)
        return NULL;
    tg->refs = 1;
    fb_list_init(&tg->threads);
    fb_list_init(&tg->children);
    fb_list_init(&tg->sibling);
    fb_sigpending_init(&tg->shared_pending);
    fb_waitq_init(&tg->child_wait);
    fb_list_init(&tg->posix_timers);
    tg->exit_signal = SIGCHLD;
    tg->dumpable = 1;
    tg->sighand = sh;
    tg->start_mono_ns = fb_app_mono_ns();
    if (parent) {
        tg->parent = parent;
        fb_list_add_tail(&parent->children, &tg->sibling);
        tg->pgid = parent->pgid;
        tg->sid = parent->sid;
        tg->uid = parent->uid;
        tg->euid = parent->euid;
        tg->suid = parent->suid;
        tg->fsuid = parent->fsuid;
        tg->gid = parent->gid;
        tg->egid = parent->egid;
        tg->sgid = parent->sgid;
        tg->fsgid = parent->fsgid;
        tg->ngroups = parent->ngroups;
        memcpy(tg->groups, parent->groups, sizeof(tg->groups));
        memcpy(tg->rlim, parent->rlim, sizeof(tg->rlim));
        tg->dumpable = parent->dumpable;
        fb_pid_ref(tg->pgid);
        fb_pid_ref(tg->sid);
    } else {
        for (i = 0; i < RLIM_NLIMITS; i++)
            tg->rlim[i].rlim_cur = tg->rlim[i].rlim_max = RLIM_INFINITY;
        tg->rlim[RLIMIT_NOFILE].rlim_cur = 1024;
        tg->rlim[RLIMIT_NOFILE].rlim_max = 1048576;
        tg->rlim[RLIMIT_STACK].rlim_cur = 8 << 20;
        tg->rlim[RLIMIT_CORE].rlim_cur = 0;
        tg->rlim[RLIMIT_NPROC].rlim_cur = tg->rlim[RLIMIT_NPROC].rlim_max = 65536;
        tg->rlim[RLIMIT_SIGPENDING].rlim_cur = tg->rlim[RLIMIT_SIGPENDING].rlim_max = 65536;
        tg->rlim[RLIMIT_MSGQUEUE].rlim_cur = tg->rlim[RLIMIT_MSGQUEUE].rlim_max = 819200;
        tg->rlim[RLIMIT_MEMLOCK].rlim_cur = tg->rlim[RLIMIT_MEMLOCK].rlim_max = 8 << 20;
    }
    fb_list_add_tail(&all_tgs, &tg->all_node);
    return tg;
}

void fb_tg_put(struct fb_thread_group *tg)
{
    if (!tg || --tg->refs > 0)
        return;
    fb_list_del(&tg->all_node);
    fb_sigpending_clear(&tg->shared_pending);
    fb_sighand_put(tg->sighand);
    fb_pid_unref(tg->pgid);
    fb_pid_unref(tg->sid);
    fb_pid_unref(tg->tgid);
    free(tg);
}

/* ---- task creation ------------------------------------------------------------------------------ */

struct fb_task *fb_task_create(struct fb_thread_group *tg, struct fb_mm *mm,
                               struct fb_fdtable *files, struct fb_fs_ctx *fs)
{
    struct fb_task *t = calloc(1, sizeof(*t));
    pthread_condattr_t ca;

    if (!t)
        return NULL;
    t->cpu.fp = aligned_alloc(64, (fb_platform_fpstate_size() + 63) & ~(size_t)63);
    t->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!t->cpu.fp || t->evfd < 0) {
        if (t->evfd >= 0)
            close(t->evfd);
        free(t->cpu.fp);
        free(t);
        return NULL;
    }
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cond, &ca);
    pthread_condattr_destroy(&ca);
    fb_sigpending_init(&t->pending);
    t->altstack.ss_flags = SS_DISABLE;
    t->tg = tg;
    tg->refs++;
    t->mm = mm;
    t->files = files;
    t->fs = fs;
    fb_list_add_tail(&tg->threads, &t->tg_node);
    tg->live_threads++;
    fb_list_add_tail(&fb_k->tasks, &t->knode);
    return t;
}

static void task_free(struct fb_task *t)
{
    if (fb_k->init == t)
        fb_k->init = NULL; /* pid 1's first thread is gone (its process may live on) */
    fb_list_del(&t->knode);
    fb_sigpending_clear(&t->pending);
    pthread_cond_destroy(&t->cond);
    close(t->evfd);
    free(t->cpu.fp);
    free(t);
}

/* ---- the run loop ------------------------------------------------------------------------------- */

/* Did the task stop on `int $0x80` (cd 80) rather than `syscall` (0f 05)? Both leave rip just
 * past a two-byte instruction. */
static bool is_int80(struct fb_task *t)
{
    uint8_t insn[2];
    return fb_mm_copy_in(t->mm, t->cpu.regs.rip - 2, insn, sizeof(insn)) == 0 && insn[0] == 0xcd &&
           insn[1] == 0x80;
}

static void handle_fault(struct fb_task *t, const struct fb_stop *stop)
{
    int si_code, r;

    if (stop->signo == SIGSEGV && (stop->code == SEGV_MAPERR || stop->code == SEGV_ACCERR)) {
        fb_k->mf.limit_hit = false;
        r = fb_mm_fault(t->mm, stop->addr, stop->code, &si_code);
        if (r == 0)
            return;
        if (r < 0 && fb_k->opts.memory_limit && fb_k->mf.limit_hit) {
            /* Over --memory: like a cgroup OOM with oom.group, the whole sandbox goes, so a
             * function never limps on with some of its processes killed. */
            fb_warn("pid %d: out of memory handling a fault at %#lx: memory limit of %lu bytes "
                    "reached, killing the sandbox",
                    t->tg->tgid, (unsigned long)stop->addr, (unsigned long)fb_k->opts.memory_limit);
            fb_k->oom_killed = true;
            fb_tg_kill_all(FB_W_EXITCODE(0, SIGKILL));
            return;
        }
        if (r < 0) {
            if (r == -ENOMEM)
                fb_warn("pid %d: out of memory handling a fault at %#lx: killed", t->tg->tgid,
                        (unsigned long)stop->addr);
            else
                fb_warn("pid %d: cannot map memory at %#lx (%s): killed", t->tg->tgid,
                        (unsigned long)stop->addr, strerror(-r));
            fb_tg_exit_group(t->tg, FB_W_EXITCODE(0, SIGKILL));
            return;
        }
        if (fb_log_verbosity >= FB_LOG_DEBUG) {
            uint64_t w[4] = {0};
            fb_mm_copy_in(t->mm, t->cpu.regs.rsp - 16, w, sizeof(w));
            fb_dbg("tid %d: %s at %#lx (rip %#llx rsp %#llx rax %#llx, stack %#lx %#lx [%#lx] "
                   "%#lx, code %d)",
                   t->tid, r == SIGBUS ? "SIGBUS" : "SIGSEGV", (unsigned long)stop->addr,
                   (unsigned long long)t->cpu.regs.rip, (unsigned long long)t->cpu.regs.rsp,
                   (unsigned long long)t->cpu.regs.rax, (unsigned long)w[0], (unsigned long)w[1],
                   (unsigned long)w[2], (unsigned long)w[3], si_code);
        }
        fb_signal_force_fault(t, r, si_code, stop->addr);
        return;
    }
    switch (stop->signo) {
    case SIGSYS: /* a host syscall outside the stub (e.g. the vsyscall page): refuse it */
        fb_signal_force_fault(t, SIGSEGV, SEGV_MAPERR, t->cpu.regs.rip);
        break;
    case SIGTRAP:
        fb_signal_force_fault(t, SIGTRAP, stop->code > 0 ? stop->code : SI_KERNEL, 0);
        break;
    case SIGSEGV:
    case SIGBUS:
    case SIGFPE:
    case SIGILL:
        fb_signal_force_fault(t, stop->signo, stop->code, stop->addr);
        break;
    default:
        fb_warn("pid %d: unexpected host signal %d from the stub", t->tg->tgid, stop->signo);
        fb_signal_force_fault(t, SIGSEGV, SI_KERNEL, 0);
    }
}

void fb_task_exit_finish(struct fb_task *t);

/* Checkpoint: stay at the syscall boundary (registers as the application will resume them, an
 * interrupted syscall already rewound) until the checkpoint is over. */
static void ckpt_park(struct fb_task *t)
{
    /* A futex wait interrupted for the checkpoint stays parked: queued (saved with its key, so
     * that a requeue is kept) or already woken (saved as such: its restart returns 0). */
    if (t->mm && t->mm->as && t->pctx && !t->cpu.fp_valid)
        fb_k->plat->ops->fetch_fp(t->pctx, t->mm->as, &t->cpu);
    t->parked = true;
    fb_k->ckpt_parked++;
    pthread_cond_broadcast(&fb_k->tasks_done);
    while (fb_k->ckpt_pending && !t->exiting)
        pthread_cond_wait(&t->cond, &fb_k->lock);
    t->parked = false;
    fb_k->ckpt_parked--;
}

/* Switches longer than this are checked against the host's CPU clock of the stub process. */
#define LONG_SWITCH_NS 2000000

/* CPU time to charge for `wall` ns spent in the application. The platform's switch counts
 * every stop's round trip and any time the host did not run the stub at all (another
 * process's turn, a stalled VM), which the host's own CPU clocks leave out. A long stretch is
 * charged no more than the stub process's CPU clock grew, less what was charged since the last
 * reading (that clock counts every thread of the stub; an upper bound is all it gives). */
static int64_t charge_app(struct fb_task *t, int64_t wall)
{
    const struct fb_platform_ops *ops = fb_k->plat->ops;
    uint64_t ident = 0;
    int64_t c, charge = wall;

    if (!ops->cpu_ns)
        return wall;
    if (wall < LONG_SWITCH_NS) {
        t->cpu_charged_ns += wall;
        return wall;
    }
    c = ops->cpu_ns(t->pctx, &ident);
    if (c >= 0 && t->cpu_snap_ident && ident == t->cpu_snap_ident) {
        int64_t upper = c - t->cpu_snap_ns - t->cpu_charged_ns;
        charge = FB_MAX(FB_MIN(upper, wall), 0);
    }
    t->cpu_snap_ns = c;
    t->cpu_snap_ident = c >= 0 ? ident : 0;
    t->cpu_charged_ns = 0;
    return charge;
}

/* A first reading of the stub's CPU clock once the task is in a (new) address space. */
static void charge_app_start(struct fb_task *t)
{
    uint64_t ident = 0;
    int64_t c;

    if (!fb_k->plat->ops->cpu_ns)
        return;
    c = fb_k->plat->ops->cpu_ns(t->pctx, &ident);
    if (c >= 0 && ident != t->cpu_snap_ident) {
        t->cpu_snap_ns = c;
        t->cpu_snap_ident = ident;
        t->cpu_charged_ns = 0;
    }
}

static void *task_main(void *arg)
{
    struct fb_task *t = arg;

    fb_block_async_signals();
    fb_current = t;
    fb_kernel_lock();
    if (fb_k->plat->ops->ctx_new(fb_k->plat, &t->pctx) < 0) {
        fb_err("pid %d: no platform context", t->tid);
        t->exiting = true;
        t->exit_code = FB_W_EXITCODE(0, SIGKILL);
    }
    t->state = FB_TASK_RUNNING;
    for (;;) {
        struct fb_stop stop;
        enum fb_switch_result r;
        struct fb_as *as;
        int64_t t0, t1, T0 = 0;
        int err = 0;

        fb_signal_handle(t);
        /* vfork: the parent stays out of the shared address space until the child has exec'd
         * or exited (only a kill ends the wait early, as on Linux). */
        while (t->vfork_child && !t->exiting && !fb_k->ckpt_pending)
            pthread_cond_wait(&t->cond, &fb_k->lock);
        if (t->exiting)
            break;
        if (fb_k->ckpt_pending) {
            ckpt_park(t);
            continue;
        }
        t->interrupt = false;
        if (!t->mm->as)
            T0 = fb_host_mono_ns();
        as = fb_mm_as(t->mm, &err);
        if (T0) {
            fb_dbg("address space created in %.2f ms", (fb_host_mono_ns() - T0) / 1e6);
            T0 = 0;
        }
        if (!as) {
            fb_err("pid %d: cannot create an address space: %s", t->tid, strerror(-err));
            fb_tg_exit_group(t->tg, FB_W_EXITCODE(0, SIGKILL));
            continue;
        }
        if (t->mm->premap)
            fb_mm_premap(t->mm);
        /* CPU time is host time in the application (user) and in the kernel minus sleeps
         * (system); waiting for the kernel lock counts as neither. While the task runs
         * application code, app_since_ns lets CPU clocks include the time so far. */
        /* A new thread, or the first run after a restore, takes its host thread first: the
         * platform's work, not the application's CPU time. */
        if (fb_k->plat->ops->enter) {
            fb_k->plat->ops->enter(t->pctx, as);
            if (t->cpu_as != as) {
                t->cpu_as = as;
                charge_app_start(t);
            }
        }
        t0 = t->app_since_ns = fb_host_mono_ns();
        fb_kernel_unlock();
        r = fb_k->plat->ops->switch_to(t->pctx, as, &t->cpu, &stop);
        t1 = fb_host_mono_ns();
        fb_kernel_lock();
        t->app_since_ns = 0;
        {
            int64_t cpu = charge_app(t, t1 - t0);
            t->utime_ns += cpu;
            t->tg->utime_ns += cpu;
        }
        fb_stats.app_ns += t1 - t0;
        fb_stats.switches++;
        switch (r) {
        case FB_SWITCH_SYSCALL: {
            int64_t slept = t->sleep_ns;
            fb_stats.syscalls++;
            if (is_int80(t)) {
                /* The i386 entry numbers calls from another table (37 is kill there, alarm
                 * here): never run it as a 64-bit call. Like a kernel without IA32 emulation. */
                fb_signal_force_fault(t, SIGSEGV, SI_KERNEL, 0);
                break;
            }
            t1 = fb_host_mono_ns();
            fb_syscall_dispatch(t);
            t0 = fb_host_mono_ns();
            fb_stats.syscall_ns += t0 - t1;
            if (t->tg) {
                int64_t sys = FB_MAX(t0 - t1 - (t->sleep_ns - slept), 0);
                t->stime_ns += sys;
                t->tg->stime_ns += sys;
            }
            break;
        }
        case FB_SWITCH_FAULT:
            fb_stats.faults++;
            handle_fault(t, &stop);
            fb_stats.fault_ns += fb_host_mono_ns() - t1;
            break;
        case FB_SWITCH_INTERRUPT:
            fb_stats.interrupts++;
            break;
        case FB_SWITCH_DEAD:
            if (!t->exiting) {
                fb_warn("pid %d: its address space died (killed by the host?)", t->tid);
                fb_tg_exit_group(t->tg, FB_W_EXITCODE(0, SIGKILL));
            }
            break;
        }
        if (t->tg && t->tg->nr_cpu_timers)
            fb_cputimers_account(t->tg);
    }
    if (fb_k->nr_tasks == 1)
        fb_k->mf.ending = true; /* the last task: nothing runs after it (see the field) */
    fb_task_exit_finish(t);
    fb_current = NULL;
    /* The platform context must be released on this thread (it traces the stub thread), and
     * without the kernel lock: it waits for the host thread to go. */
    if (t->pctx) {
        struct fb_pctx *ctx = t->pctx;
        t->pctx = NULL;
        fb_kernel_unlock();
        fb_k->plat->ops->ctx_release(ctx);
        fb_kernel_lock();
    }
    task_free(t);
    if (--fb_k->nr_tasks == 0)
        pthread_cond_broadcast(&fb_k->tasks_done);
    fb_kernel_unlock();
    return NULL;
}

int fb_task_start(struct fb_task *t)
{
    pthread_attr_t attr;
    int r;

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 << 10);
    fb_k->nr_tasks++;
    r = pthread_create(&t->thread, &attr, task_main, t);
    pthread_attr_destroy(&attr);
    if (r != 0) {
        fb_k->nr_tasks--;
        return -r;
    }
    return 0;
}

uint16_t *fb_pid_table(void)
{
    return pid_refs_init() < 0 ? NULL : pid_refs;
}
