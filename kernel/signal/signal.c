/* Signals (see signal.h): queueing, default actions, group stop/continue, delivery to handlers,
 * syscall restart decisions, and the signal syscalls that manipulate masks and actions. */
#include "kernel/signal/signal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "kernel/futex/futex.h"
#include "kernel/mm/mm.h"
#include "kernel/time/posix_timers.h"
#include "kernel/util/log.h"

#define NSIG_KERNEL 64
#define SIGNAL_MASK_ALL (~0ull)

static bool valid_sig(int sig)
{
    return sig >= 1 && sig <= NSIG_KERNEL;
}

static bool default_ignore(int sig)
{
    return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}

static bool stop_signal(int sig)
{
    return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

static bool core_signal(int sig)
{
    switch (sig) {
    case SIGQUIT:
    case SIGILL:
    case SIGTRAP:
    case SIGABRT:
    case SIGBUS:
    case SIGFPE:
    case SIGSEGV:
    case SIGXCPU:
    case SIGXFSZ:
    case SIGSYS:
        return true;
    default:
        return false;
    }
}

/* ---- handler tables ------------------------------------------------------------------------- */

struct fb_sighand *fb_sighand_new(void)
{
    struct fb_sighand *sh = calloc(1, sizeof(*sh));
    if (sh)
        sh->refs = 1;
    return sh;
}

struct fb_sighand *fb_sighand_copy(const struct fb_sighand *src)
{
    struct fb_sighand *sh = fb_sighand_new();
    if (sh)
        memcpy(sh->action, src->action, sizeof(sh->action));
    return sh;
}

void fb_sighand_put(struct fb_sighand *sh)
{
    if (sh && --sh->refs == 0)
        free(sh);
}

void fb_sighand_exec_reset(struct fb_sighand *sh)
{
    int i;
    for (i = 0; i < NSIG_KERNEL; i++) {
        if (sh->action[i].handler != (uint64_t)SIG_IGN)
            sh->action[i].handler = (uint64_t)SIG_DFL;
        sh->action[i].flags = 0;
        sh->action[i].mask = 0;
        sh->action[i].restorer = 0;
    }
}

/* ---- pending queues ------------------------------------------------------------------------- */

void fb_sigpending_init(struct fb_sigpending *p)
{
    p->mask = 0;
    fb_list_init(&p->list);
}

void fb_sigpending_clear(struct fb_sigpending *p)
{
    struct fb_list *pos, *tmp;
    fb_list_for_each_safe(pos, tmp, &p->list)
    {
        fb_list_del(pos);
        free(fb_list_entry(pos, struct fb_sigqueue_entry, node));
    }
    p->mask = 0;
}

static int queue_signal(struct fb_sigpending *p, int sig, const siginfo_t *info)
{
    struct fb_sigqueue_entry *e;

    if (sig < SIGRTMIN && (p->mask & FB_SIGBIT(sig)))
        return 0; /* standard signals do not queue */
    e = calloc(1, sizeof(*e));
    if (!e)
        return -EAGAIN;
    if (info)
        e->info = *info;
    else {
        e->info.si_signo = sig;
        e->info.si_code = SI_KERNEL;
    }
    e->info.si_signo = sig;
    fb_list_add_tail(&p->list, &e->node);
    p->mask |= FB_SIGBIT(sig);
    return 0;
}

/* Remove every pending instance of sig. */
static void flush_signal(struct fb_sigpending *p, int sig)
{
    struct fb_list *pos, *tmp;
    if (!(p->mask & FB_SIGBIT(sig)))
        return;
    fb_list_for_each_safe(pos, tmp, &p->list)
    {
        struct fb_sigqueue_entry *e = fb_list_entry(pos, struct fb_sigqueue_entry, node);
        if (e->info.si_signo == sig) {
            fb_list_del(pos);
            free(e);
        }
    }
    p->mask &= ~FB_SIGBIT(sig);
}

/* Dequeue the lowest-numbered pending signal in `set`; returns it or 0. */
static int dequeue(struct fb_sigpending *p, uint64_t set, siginfo_t *info)
{
    uint64_t ready = p->mask & set;
    struct fb_list *pos;
    int sig;
    bool more = false;

    if (!ready)
        return 0;
    sig = __builtin_ctzll(ready) + 1;
    fb_list_for_each(pos, &p->list)
    {
        struct fb_sigqueue_entry *e = fb_list_entry(pos, struct fb_sigqueue_entry, node);
        if (e->info.si_signo == sig) {
            *info = e->info;
            fb_list_del(pos);
            free(e);
            break;
        }
    }
    fb_list_for_each(pos, &p->list)
    {
        if (fb_list_entry(pos, struct fb_sigqueue_entry, node)->info.si_signo == sig) {
            more = true;
            break;
        }
    }
    if (!more)
        p->mask &= ~FB_SIGBIT(sig);
    return sig;
}

int fb_signal_dequeue(struct fb_task *t, uint64_t set, siginfo_t *info)
{
    int sig = dequeue(&t->pending, set, info);
    if (!sig)
        sig = dequeue(&t->tg->shared_pending, set, info);
    if (sig && info->si_code == SI_TIMER)
        fb_posix_timer_dequeued(t->tg, info);
    return sig;
}

int fb_signal_fatal_status(struct fb_thread_group *tg, int sig)
{
    /* The sandbox never writes core files. The core flag follows what Linux reports on a host
     * that writes them: set for a core-dumping signal only when RLIMIT_CORE allows a core. */
    if (core_signal(sig) && tg->rlim[RLIMIT_CORE].rlim_cur > 0)
        return sig | 0x80;
    return sig;
}

bool fb_signal_pending(struct fb_task *t)
{
    if (!t->tg)
        return false;
    return ((t->pending.mask | t->tg->shared_pending.mask) & ~t->blocked) != 0;
}

/* ---- sending ------------------------------------------------------------------------------------ */

static const struct fb_sigaction *action_of(struct fb_thread_group *tg, int sig)
{
    return &tg->sighand->action[sig - 1];
}

static bool ignored_now(struct fb_thread_group *tg, int sig)
{
    const struct fb_sigaction *a = action_of(tg, sig);
    if (sig == SIGKILL || sig == SIGSTOP)
        return false;
    return a->handler == (uint64_t)SIG_IGN ||
           (a->handler == (uint64_t)SIG_DFL && default_ignore(sig));
}

static void continue_group(struct fb_thread_group *tg)
{
    struct fb_list *pos;
    if (!tg->stopped)
        return;
    tg->stopped = false;
    tg->continued = true;
    fb_list_for_each(pos, &tg->threads)
        fb_task_wake(fb_list_entry(pos, struct fb_task, tg_node));
    fb_signal_notify_parent(tg, SIGCHLD, -1);
    if (tg->parent)
        fb_waitq_wake_all(&tg->parent->child_wait);
}

/* Side effects at send time that do not depend on delivery (Linux prepare_signal). Returns false
 * if the signal is consumed here. */
static bool prepare(struct fb_thread_group *tg, int sig)
{
    struct fb_list *pos;

    if (tg->state != FB_TG_LIVE || tg->group_exiting)
        return false;
    if (sig == SIGKILL) {
        fb_tg_exit_group(tg, FB_W_EXITCODE(0, SIGKILL));
        fb_list_for_each(pos, &tg->threads)
            fb_task_wake(fb_list_entry(pos, struct fb_task, tg_node));
        return false;
    }
    if (stop_signal(sig)) {
        flush_signal(&tg->shared_pending, SIGCONT);
        fb_list_for_each(pos, &tg->threads)
            flush_signal(&fb_list_entry(pos, struct fb_task, tg_node)->pending, SIGCONT);
    }
    if (sig == SIGCONT) {
        int s;
        for (s = 1; s <= 31; s++)
            if (stop_signal(s)) {
                flush_signal(&tg->shared_pending, s);
                fb_list_for_each(pos, &tg->threads)
                    flush_signal(&fb_list_entry(pos, struct fb_task, tg_node)->pending, s);
            }
        continue_group(tg);
    }
    return true;
}

static void fill_default_info(siginfo_t *si, int sig, const siginfo_t *info)
{
    if (info) {
        *si = *info;
        si->si_signo = sig;
        return;
    }
    memset(si, 0, sizeof(*si));
    si->si_signo = sig;
    si->si_code = SI_KERNEL;
}

int fb_signal_send_task(struct fb_task *t, int sig, const siginfo_t *info)
{
    siginfo_t si;
    int r;

    if (!valid_sig(sig))
        return -EINVAL;
    if (!t->tg || !prepare(t->tg, sig))
        return 0;
    if (!(t->blocked & FB_SIGBIT(sig)) && ignored_now(t->tg, sig))
        return 0;
    fill_default_info(&si, sig, info);
    r = queue_signal(&t->pending, sig, &si);
    if (r == 0 && !(t->blocked & FB_SIGBIT(sig)))
        fb_task_interrupt(t);
    else if (r == 0 && (t->sigwait & FB_SIGBIT(sig)))
        fb_task_wake(t); /* rt_sigtimedwait waits for it while it stays blocked */
    return r;
}

int fb_signal_send_tg(struct fb_thread_group *tg, int sig, const siginfo_t *info)
{
    struct fb_list *pos;
    siginfo_t si;
    int r;

    if (!valid_sig(sig))
        return -EINVAL;
    if (!prepare(tg, sig))
        return 0;
    if (ignored_now(tg, sig)) {
        /* Still queued if every thread blocks it (it may be unblocked later). */
        bool all_block = true;
        fb_list_for_each(pos, &tg->threads)
            if (!(fb_list_entry(pos, struct fb_task, tg_node)->blocked & FB_SIGBIT(sig)))
                all_block = false;
        if (!all_block)
            return 0;
    }
    fill_default_info(&si, sig, info);
    r = queue_signal(&tg->shared_pending, sig, &si);
    if (r < 0)
        return r;
    /* Wake one thread that can take it (the leader first, like Linux's preference), or one
     * waiting for it in rt_sigtimedwait. */
    fb_list_for_each(pos, &tg->threads)
    {
        struct fb_task *t = fb_list_entry(pos, struct fb_task, tg_node);
        if (!(t->blocked & FB_SIGBIT(sig)) && !t->exiting) {
            fb_task_interrupt(t);
            return 0;
        }
    }
    fb_list_for_each(pos, &tg->threads)
    {
        struct fb_task *t = fb_list_entry(pos, struct fb_task, tg_node);
        if ((t->sigwait & FB_SIGBIT(sig)) && !t->exiting) {
            fb_task_wake(t);
            break;
        }
    }
    return 0;
}

void fb_signal_force_fault(struct fb_task *t, int sig, int code, uint64_t addr)
{
    struct fb_sigaction *a = &t->tg->sighand->action[sig - 1];
    siginfo_t si;

    memset(&si, 0, sizeof(si));
    si.si_signo = sig;
    si.si_code = code;
    si.si_addr = (void *)addr;
    /* A blocked or ignored synchronous fault cannot be handled: it kills (Linux force_sig). */
    if ((t->blocked & FB_SIGBIT(sig)) || a->handler == (uint64_t)SIG_IGN) {
        a->handler = (uint64_t)SIG_DFL;
        t->blocked &= ~FB_SIGBIT(sig);
    }
    queue_signal(&t->pending, sig, &si);
}

void fb_signal_notify_parent(struct fb_thread_group *child, int sig, int status)
{
    struct fb_thread_group *parent = child->parent;
    siginfo_t si;

    if (!parent || parent->state != FB_TG_LIVE)
        return;
    memset(&si, 0, sizeof(si));
    si.si_signo = sig;
    si.si_pid = child->tgid;
    si.si_uid = child->uid;
    if (status == -1) {
        si.si_code = CLD_CONTINUED;
        si.si_status = SIGCONT;
    } else if (WIFSTOPPED(status)) {
        if (action_of(parent, SIGCHLD)->flags & SA_NOCLDSTOP)
            return;
        si.si_code = CLD_STOPPED;
        si.si_status = WSTOPSIG(status);
    } else if (WIFEXITED(status)) {
        si.si_code = CLD_EXITED;
        si.si_status = WEXITSTATUS(status);
    } else {
        si.si_code = WCOREDUMP(status) ? CLD_DUMPED : CLD_KILLED;
        si.si_status = WTERMSIG(status);
    }
    if (status == -1 && (action_of(parent, SIGCHLD)->flags & SA_NOCLDSTOP))
        return;
    fb_signal_send_tg(parent, sig, &si);
}

/* ---- delivery ------------------------------------------------------------------------------------ */

static void start_group_stop(struct fb_task *t, int sig)
{
    struct fb_thread_group *tg = t->tg;
    struct fb_list *pos;

    tg->stopped = true;
    tg->stop_signal = sig;
    tg->stop_reported = false;
    tg->continued = false;
    fb_list_for_each(pos, &tg->threads)
    {
        struct fb_task *o = fb_list_entry(pos, struct fb_task, tg_node);
        if (o != t)
            fb_task_interrupt(o);
    }
    fb_signal_notify_parent(tg, SIGCHLD, FB_W_STOPCODE(sig));
    if (tg->parent)
        fb_waitq_wake_all(&tg->parent->child_wait);
}

/* Park while the group is stopped (only SIGCONT or SIGKILL end it). */
static void park_stopped(struct fb_task *t)
{
    while (t->tg->stopped && !t->exiting && !fb_k->ckpt_pending)
        pthread_cond_wait(&t->cond, &fb_k->lock);
    t->woken = false;
}

static void apply_restart(struct fb_task *t, const struct fb_sigaction *act)
{
    int r = t->sc_restart;
    if (!r)
        return;
    t->sc_restart = 0;
    /* A handler runs before any restart: an interrupted futex wait leaves its queue now, and if a
     * wake reached it in the meantime the call succeeded (Linux lets the wake win too). */
    if (act && fb_futex_unpark(t)) {
        t->cpu.regs.rax = 0;
        return;
    }
    switch (r) {
    case FB_ERESTARTNOHAND:
    case FB_ERESTART_RESTARTBLOCK:
        if (act) {
            t->cpu.regs.rax = (uint64_t)-EINTR;
            return;
        }
        break;
    case FB_ERESTARTSYS:
        if (act && !(act->flags & SA_RESTART)) {
            t->cpu.regs.rax = (uint64_t)-EINTR;
            return;
        }
        break;
    case FB_ERESTARTNOINTR:
        break;
    default:
        return;
    }
    /* Re-execute the syscall instruction; a timed wait keeps its deadline (fb_task_deadline). */
    t->cpu.regs.rax = t->sc_nr;
    t->cpu.regs.rip -= 2;
    t->restarting = true;
}

void fb_signal_handle(struct fb_task *t)
{
    struct fb_thread_group *tg = t->tg;

    for (;;) {
        siginfo_t info;
        struct fb_sigaction *act;
        uint64_t old_mask;
        int sig;

        if (t->exiting)
            return;
        if (tg->stopped) {
            if (fb_k->ckpt_pending)
                return; /* parks in the run loop; saved as stopped */
            park_stopped(t);
            continue;
        }
        sig = fb_signal_dequeue(t, ~t->blocked, &info);
        if (!sig)
            break;
        act = &tg->sighand->action[sig - 1];
        if (act->handler == (uint64_t)SIG_IGN)
            continue;
        if (act->handler == (uint64_t)SIG_DFL) {
            if (default_ignore(sig))
                continue;
            if (stop_signal(sig)) {
                start_group_stop(t, sig);
                continue;
            }
            fb_tg_exit_group(tg, fb_signal_fatal_status(tg, sig));
            return;
        }
        apply_restart(t, act);
        old_mask = t->restore_mask ? t->saved_mask : t->blocked;
        t->restore_mask = false;
        if (fb_signal_setup_frame(t, sig, &info, act, old_mask) < 0) {
            fb_tg_exit_group(tg, fb_signal_fatal_status(tg, SIGSEGV));
            return;
        }
        t->blocked |= act->mask;
        if (!(act->flags & SA_NODEFER))
            t->blocked |= FB_SIGBIT(sig);
        t->blocked &= ~FB_SIG_UNBLOCKABLE;
        if (act->flags & SA_RESETHAND) {
            act->handler = (uint64_t)SIG_DFL;
            act->flags &= ~(uint64_t)SA_SIGINFO;
        }
    }
    apply_restart(t, NULL);
    if (t->restore_mask) {
        t->blocked = t->saved_mask;
        t->restore_mask = false;
    }
}

/* ---- syscalls -------------------------------------------------------------------------------------- */

struct k_sigaction {
    uint64_t handler;
    uint64_t flags;
    uint64_t restorer;
    uint64_t mask;
};

int64_t fb_signal_sigaction(struct fb_task *t, int sig, uint64_t act, uint64_t oact, size_t size)
{
    struct fb_sigaction *a;
    struct k_sigaction k;

    if (size != 8)
        return -EINVAL;
    if (!valid_sig(sig))
        return -EINVAL;
    a = &t->tg->sighand->action[sig - 1];
    if (oact) {
        k.handler = a->handler;
        k.flags = a->flags;
        k.restorer = a->restorer;
        k.mask = a->mask;
        if (fb_mm_copy_out(t->mm, oact, &k, sizeof(k)) != 0)
            return -EFAULT;
    }
    if (act) {
        if (sig == SIGKILL || sig == SIGSTOP)
            return -EINVAL;
        if (fb_mm_copy_in(t->mm, act, &k, sizeof(k)) != 0)
            return -EFAULT;
        a->handler = k.handler;
        a->flags = k.flags;
        a->restorer = k.restorer;
        a->mask = k.mask & ~FB_SIG_UNBLOCKABLE;
        /* Setting SIG_IGN (or default-ignore) discards pending instances (POSIX). */
        if (ignored_now(t->tg, sig)) {
            struct fb_list *pos;
            flush_signal(&t->tg->shared_pending, sig);
            fb_list_for_each(pos, &t->tg->threads)
                flush_signal(&fb_list_entry(pos, struct fb_task, tg_node)->pending, sig);
        }
    }
    return 0;
}

int64_t fb_signal_sigprocmask(struct fb_task *t, int how, uint64_t set, uint64_t oset, size_t size)
{
    uint64_t old = t->blocked, mask;

    if (size != 8)
        return -EINVAL;
    if (set) {
        if (fb_mm_copy_in(t->mm, set, &mask, sizeof(mask)) != 0)
            return -EFAULT;
        switch (how) {
        case SIG_BLOCK:
            t->blocked |= mask;
            break;
        case SIG_UNBLOCK:
            t->blocked &= ~mask;
            break;
        case SIG_SETMASK:
            t->blocked = mask;
            break;
        default:
            return -EINVAL;
        }
        t->blocked &= ~FB_SIG_UNBLOCKABLE;
    }
    if (oset && fb_mm_copy_out(t->mm, oset, &old, sizeof(old)) != 0)
        return -EFAULT;
    return 0;
}
