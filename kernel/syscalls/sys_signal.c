/* Signal system calls: actions, masks, waiting for signals, sending them, alternate stacks. */
#include "kernel/syscalls/syscall.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/mm/mm.h"
#include "kernel/signal/signal.h"
#include "kernel/syscalls/sys_util.h"
#include "kernel/util/cleanup.h"

FB_SYSCALL(rt_sigaction)
{
    return fb_signal_sigaction(t, ARG_INT(0), a[1], a[2], (size_t)a[3]);
}

FB_SYSCALL(rt_sigprocmask)
{
    return fb_signal_sigprocmask(t, ARG_INT(0), a[1], a[2], (size_t)a[3]);
}

FB_SYSCALL(rt_sigreturn)
{
    (void)a;
    return fb_signal_sigreturn(t);
}

FB_SYSCALL(rt_sigpending)
{
    uint64_t set = (t->pending.mask | t->tg->shared_pending.mask) & t->blocked;
    if (a[1] != 8)
        return -EINVAL;
    return fb_mm_copy_out(t->mm, a[0], &set, 8) ? -EFAULT : 0;
}

/* Sleep until a signal is delivered (for sigsuspend and pause). */
static int64_t wait_for_signal(struct fb_task *t)
{
    for (;;) {
        int r = fb_task_sleep(t, 0);
        if (r == -EINTR)
            return -FB_ERESTARTNOHAND; /* a handler runs -> EINTR; otherwise the call restarts */
    }
}

FB_SYSCALL(rt_sigsuspend)
{
    uint64_t mask;
    if (a[1] != 8)
        return -EINVAL;
    if (fb_mm_copy_in(t->mm, a[0], &mask, 8) != 0)
        return -EFAULT;
    t->saved_mask = t->blocked;
    t->restore_mask = true;
    t->blocked = mask & ~FB_SIG_UNBLOCKABLE;
    return wait_for_signal(t);
}

FB_SYSCALL(pause)
{
    (void)a;
    return wait_for_signal(t);
}

FB_SYSCALL(rt_sigtimedwait)
{
    uint64_t set;
    int64_t deadline = 0, ns;
    siginfo_t info;
    int sig, r;

    if (a[3] != 8)
        return -EINVAL;
    if (fb_mm_copy_in(t->mm, a[0], &set, 8) != 0)
        return -EFAULT;
    set &= ~FB_SIG_UNBLOCKABLE;
    if (a[2]) {
        r = fb_get_timespec(t, a[2], &ns);
        if (r < 0)
            return r;
        deadline = ns ? fb_task_deadline(t, ns) : -1;
    }
    for (;;) {
        sig = fb_signal_dequeue(t, set, &info);
        if (sig)
            break;
        if (deadline == -1)
            return -EAGAIN;
        /* Signals in the set wake us while staying blocked: unblocking them for the wait would
         * let a default-ignored one (SIGCHLD) be discarded instead of queued. */
        t->sigwait = set;
        r = fb_task_sleep(t, deadline > 0 ? deadline : 0);
        t->sigwait = 0;
        if (r == -ETIMEDOUT)
            return -EAGAIN;
        if (r == -EINTR) {
            sig = fb_signal_dequeue(t, set, &info);
            if (sig)
                break;
            return -FB_ERESTARTNOHAND;
        }
    }
    if (a[1] && fb_mm_copy_out(t->mm, a[1], &info, sizeof(info)) != 0)
        return -EFAULT;
    return sig;
}

FB_SYSCALL(sigaltstack)
{
    stack_t ss, old = t->altstack;
    uint64_t sp = t->cpu.regs.rsp;
    bool on = !(old.ss_flags & SS_DISABLE) && sp > (uint64_t)old.ss_sp &&
              sp <= (uint64_t)old.ss_sp + old.ss_size;

    if (a[0]) {
        if (fb_mm_copy_in(t->mm, a[0], &ss, sizeof(ss)) != 0)
            return -EFAULT;
        if (on)
            return -EPERM;
        if (ss.ss_flags & ~(SS_DISABLE | (1u << 31) /* SS_AUTODISARM */))
            return -EINVAL;
        if (ss.ss_flags & SS_DISABLE) {
            t->altstack.ss_sp = NULL;
            t->altstack.ss_size = 0;
            t->altstack.ss_flags = SS_DISABLE;
        } else {
            if (ss.ss_size < (size_t)MINSIGSTKSZ)
                return -ENOMEM;
            t->altstack.ss_sp = ss.ss_sp;
            t->altstack.ss_size = ss.ss_size;
            t->altstack.ss_flags = 0;
        }
    }
    if (a[1]) {
        old.ss_flags = (old.ss_flags & SS_DISABLE) ? SS_DISABLE : (on ? SS_ONSTACK : 0);
        if (fb_mm_copy_out(t->mm, a[1], &old, sizeof(old)) != 0)
            return -EFAULT;
    }
    return 0;
}

static void user_info(struct fb_task *t, siginfo_t *si, int sig, int code)
{
    memset(si, 0, sizeof(*si));
    si->si_signo = sig;
    si->si_code = code;
    si->si_pid = t->tg->tgid;
    si->si_uid = t->tg->uid;
}

/* May t send sig to tg? Root may signal anyone; others need the real or effective uid to match
 * the target's real or saved uid; SIGCONT may always go within the session (Linux). */
static bool may_signal(struct fb_task *t, struct fb_thread_group *tg, int sig)
{
    const struct fb_thread_group *me = t->tg;
    if (me->euid == 0 || me == tg)
        return true;
    if (me->euid == tg->suid || me->euid == tg->uid || me->uid == tg->suid || me->uid == tg->uid)
        return true;
    return sig == SIGCONT && me->sid == tg->sid;
}

/* Signal one process on behalf of kill(): permission, then the send (a zombie takes nothing but
 * the call still succeeds). */
static int kill_one(struct fb_task *t, struct fb_thread_group *tg, int sig, const siginfo_t *si)
{
    if (!may_signal(t, tg, sig))
        return -EPERM;
    if (!sig || tg->state != FB_TG_LIVE)
        return 0;
    return fb_signal_send_tg(tg, sig, si);
}

FB_SYSCALL(kill)
{
    int pid = ARG_INT(0), sig = ARG_INT(1), found = 0, err = 0, ok = 0;
    struct fb_list *pos;
    siginfo_t si;

    if (sig < 0 || sig > 64)
        return -EINVAL;
    user_info(t, &si, sig, SI_USER);
    if (pid > 0) {
        struct fb_thread_group *tg = fb_tg_find_pid(pid);
        if (!tg)
            return -ESRCH;
        return kill_one(t, tg, sig, &si);
    }
    if (pid == INT32_MIN)
        return -ESRCH;
    /* kill(-1): everyone but pid 1 and ourselves; kill(0) and kill(-pgrp): a process group
     * (zombies count as members until reaped). */
    fb_list_for_each(pos, fb_tg_list())
    {
        struct fb_thread_group *g = fb_list_entry(pos, struct fb_thread_group, all_node);
        bool match;
        int r;
        if (g->state == FB_TG_DEAD)
            continue;
        if (pid == -1)
            match = g->tgid != 1 && g != t->tg;
        else if (pid == 0)
            match = g->pgid == t->tg->pgid;
        else
            match = g->pgid == -pid;
        if (!match)
            continue;
        found++;
        r = kill_one(t, g, sig, &si);
        if (r == 0)
            ok++;
        else if (pid != -1 || r != -EPERM) /* kill(-1) skips whom it may not signal */
            err = r;
    }
    if (!found)
        return -ESRCH;
    if (pid == -1)
        return err; /* Linux: the last failure other than EPERM */
    return ok ? 0 : err;
}

static int64_t do_tkill(struct fb_task *t, int tgid, int tid, int sig)
{
    struct fb_task *target;
    siginfo_t si;
    if (tid <= 0 || sig < 0 || sig > 64)
        return -EINVAL;
    target = fb_task_lookup(tid);
    if (!target || (tgid > 0 && target->tg->tgid != tgid))
        return -ESRCH;
    if (!sig)
        return 0;
    user_info(t, &si, sig, SI_TKILL);
    return fb_signal_send_task(target, sig, &si);
}

FB_SYSCALL(tkill)
{
    return do_tkill(t, -1, ARG_INT(0), ARG_INT(1));
}

FB_SYSCALL(tgkill)
{
    if (ARG_INT(0) <= 0)
        return -EINVAL;
    return do_tkill(t, ARG_INT(0), ARG_INT(1), ARG_INT(2));
}

static int64_t queueinfo(struct fb_task *t, int tgid, int tid, int sig, uint64_t uinfo)
{
    siginfo_t si;
    if (sig <= 0 || sig > 64)
        return -EINVAL;
    if (fb_mm_copy_in(t->mm, uinfo, &si, sizeof(si)) != 0)
        return -EFAULT;
    /* Only the kernel may claim kernel codes, except when signalling oneself. */
    if ((si.si_code >= 0 || si.si_code == SI_TKILL) && tgid != t->tg->tgid)
        return -EPERM;
    si.si_signo = sig;
    if (tid) {
        struct fb_task *target = fb_task_lookup(tid);
        if (!target || target->tg->tgid != tgid)
            return -ESRCH;
        return fb_signal_send_task(target, sig, &si);
    }
    {
        struct fb_thread_group *tg = fb_tg_lookup(tgid);
        if (!tg)
            return -ESRCH;
        return fb_signal_send_tg(tg, sig, &si);
    }
}

FB_SYSCALL(rt_sigqueueinfo)
{
    return queueinfo(t, ARG_INT(0), 0, ARG_INT(1), a[2]);
}

FB_SYSCALL(rt_tgsigqueueinfo)
{
    return queueinfo(t, ARG_INT(0), ARG_INT(1), ARG_INT(2), a[3]);
}
