/* Exit and wait: thread exit, group exit, zombies, reparenting to pid 1, wait4 and waitid. */
#include "kernel/task/task.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "kernel/futex/futex.h"
#include "kernel/mm/mm.h"
#include "kernel/mm/mm_save.h"
#include "kernel/signal/signal.h"
#include "kernel/time/posix_timers.h"
#include "kernel/util/log.h"
#include "kernel/vfs/vfs.h"

void fb_task_exit_thread(struct fb_task *t, int status)
{
    t->exiting = true;
    t->exit_code = status;
}

void fb_tg_exit_group(struct fb_thread_group *tg, int status)
{
    struct fb_list *pos;

    if (!tg->group_exiting) {
        tg->group_exiting = true;
        tg->exit_status = status;
    }
    fb_list_for_each(pos, &tg->threads)
    {
        struct fb_task *t = fb_list_entry(pos, struct fb_task, tg_node);
        if (!t->exiting) {
            t->exiting = true;
            t->exit_code = tg->exit_status;
        }
        fb_task_interrupt(t);
    }
}

/* pid 1's process, live or zombie (NULL once reaped or before boot). fb_k->init names its first
 * thread, which may exit before the others: the process is found by its id instead. */
static struct fb_thread_group *init_tg(void)
{
    return fb_k->init_exited ? NULL : fb_tg_lookup_any(1);
}

/* Kill every process but pid 1's own group (which is exiting): pid-namespace teardown. */
static void kill_all_others(struct fb_thread_group *init)
{
    struct fb_list *pos;
    fb_list_for_each(pos, fb_tg_list())
    {
        struct fb_thread_group *tg = fb_list_entry(pos, struct fb_thread_group, all_node);
        if (tg != init && tg->state == FB_TG_LIVE)
            fb_tg_exit_group(tg, FB_W_EXITCODE(0, SIGKILL));
    }
}

void fb_tg_kill_all(int status)
{
    struct fb_list *pos;
    fb_list_for_each(pos, fb_tg_list())
    {
        struct fb_thread_group *tg = fb_list_entry(pos, struct fb_thread_group, all_node);
        if (tg->state == FB_TG_LIVE)
            fb_tg_exit_group(tg, status);
    }
}

/* A live thread of tg that is not on its way out, or NULL (Linux find_alive_thread). */
static struct fb_task *alive_thread(struct fb_thread_group *tg, struct fb_task *except)
{
    struct fb_list *pos;
    if (tg->state != FB_TG_LIVE || tg->group_exiting)
        return NULL;
    fb_list_for_each(pos, &tg->threads)
    {
        struct fb_task *o = fb_list_entry(pos, struct fb_task, tg_node);
        if (o != except && !o->exiting && o->state != FB_TASK_EXITED)
            return o;
    }
    return NULL;
}

/* Where the orphans of a dying tg go: the nearest living ancestor that declared itself a child
 * subreaper (PR_SET_CHILD_SUBREAPER), else pid 1; NULL when pid 1 itself is the one dying. */
static struct fb_thread_group *find_reaper(struct fb_thread_group *tg)
{
    struct fb_thread_group *init = init_tg();
    struct fb_thread_group *a;

    for (a = tg->parent; a && a != init; a = a->parent)
        if (a->child_subreaper && alive_thread(a, NULL))
            return a;
    return init && init != tg && init->state == FB_TG_LIVE ? init : NULL;
}

/* Does the parent discard exit statuses (SIGCHLD ignored or SA_NOCLDWAIT)? */
static bool parent_autoreaps(struct fb_thread_group *parent)
{
    const struct fb_sigaction *a = &parent->sighand->action[SIGCHLD - 1];
    return a->handler == (uint64_t)SIG_IGN || (a->flags & SA_NOCLDWAIT);
}

/* Tell the parent that child died: SIGCHLD (or its exit signal) unless ignored, and reap it at
 * once if the parent does not collect statuses. Returns true if the child was reaped. */
static bool notify_parent_of_death(struct fb_thread_group *child, int status)
{
    struct fb_thread_group *parent = child->parent;
    bool autoreap = child->exit_signal == SIGCHLD && parent_autoreaps(parent);

    /* With SA_NOCLDWAIT and a handler SIGCHLD still comes; with SIG_IGN none is sent (Linux
     * do_notify_parent). */
    if (child->exit_signal > 0 &&
        !(autoreap && parent->sighand->action[SIGCHLD - 1].handler == (uint64_t)SIG_IGN))
        fb_signal_notify_parent(child, child->exit_signal, status);
    fb_waitq_wake_all(&parent->child_wait);
    if (!autoreap)
        return false;
    fb_list_del(&child->sibling);
    child->parent = NULL;
    child->parent_thread = NULL;
    child->state = FB_TG_DEAD;
    fb_tg_put(child);
    return true;
}

/* Children of a dying process go to their reaper (or die with pid 1 when it is the one dying).
 * A zombie child is reported to its new parent as if it had just died. */
static void reparent_children(struct fb_thread_group *tg)
{
    struct fb_list *pos, *tmp;
    struct fb_thread_group *reaper = find_reaper(tg);

    fb_list_for_each_safe(pos, tmp, &tg->children)
    {
        struct fb_thread_group *c = fb_list_entry(pos, struct fb_thread_group, sibling);
        fb_list_del(&c->sibling);
        if (reaper) {
            c->parent = reaper;
            c->parent_thread = alive_thread(reaper, NULL);
            c->exit_signal = SIGCHLD; /* nobody slays init with an odd exit signal */
            fb_list_add_tail(&reaper->children, &c->sibling);
            if (c->state == FB_TG_ZOMBIE)
                notify_parent_of_death(c, c->exit_status);
        } else {
            c->parent = NULL;
            c->parent_thread = NULL;
            if (c->state == FB_TG_ZOMBIE) {
                c->state = FB_TG_DEAD;
                fb_tg_put(c);
            }
        }
    }
}

/* Thread t is exiting: the processes it created (their parent thread) lose their parent thread.
 * Each gets its pdeath signals (PR_SET_PDEATHSIG, per thread) and is handed to another live
 * thread of t's process if there is one (else reparent_children moves it on). */
static void forget_parent_thread(struct fb_task *t)
{
    struct fb_list *pos, *tpos;
    struct fb_task *heir = alive_thread(t->tg, t);

    fb_list_for_each(pos, &t->tg->children)
    {
        struct fb_thread_group *c = fb_list_entry(pos, struct fb_thread_group, sibling);
        if (c->parent_thread != t)
            continue;
        c->parent_thread = heir;
        if (c->state != FB_TG_LIVE)
            continue;
        fb_list_for_each(tpos, &c->threads)
        {
            struct fb_task *ct = fb_list_entry(tpos, struct fb_task, tg_node);
            siginfo_t si;
            if (!ct->pdeath_signal)
                continue;
            memset(&si, 0, sizeof(si));
            si.si_code = SI_USER;
            si.si_pid = t->tg->tgid;
            si.si_uid = t->tg->uid;
            fb_signal_send_tg(c, ct->pdeath_signal, &si);
        }
    }
}

static void tg_become_zombie(struct fb_thread_group *tg, int status)
{
    struct fb_thread_group *parent = tg->parent;

    tg->exit_status = status;
    fb_ktimer_cancel(&tg->itimer_real);
    fb_cputimers_exit(tg);
    reparent_children(tg);
    if (tg->tgid == 1 && tg == init_tg()) {
        fb_k->init_status = status;
        fb_k->init_exited = true;
        kill_all_others(tg);
        if (fb_k->opts.ws_record && fb_mm_ws_recording) {
            int r = fb_mm_ws_write(fb_k->opts.ws_fd);
            fb_mm_ws_recording = false;
            if (r < 0)
                fb_warn("writing the working set: %s", strerror(-r));
        }
        if (fb_k->opts.on_init_exit)
            fb_k->opts.on_init_exit(status);
    }
    tg->state = FB_TG_ZOMBIE;
    if (!parent) {
        tg->state = FB_TG_DEAD;
        fb_tg_put(tg);
        return;
    }
    notify_parent_of_death(tg, status);
}

/* Robust futex list: mark futexes held by the dying thread as owner-died and wake a waiter. */
static void exit_robust_list(struct fb_task *t)
{
    struct {
        uint64_t next;
        int64_t futex_offset;
        uint64_t pending;
    } head;
    uint64_t entry;
    int limit = 2048;

    if (!t->robust_list || !t->mm)
        return;
    if (fb_mm_copy_in(t->mm, t->robust_list, &head, sizeof(head)) != 0)
        return;
    entry = head.next;
    while (entry && entry != t->robust_list && limit-- > 0) {
        uint64_t next;
        uint64_t uaddr = entry + (uint64_t)head.futex_offset;
        if (fb_mm_copy_in(t->mm, entry, &next, sizeof(next)) != 0)
            break;
        if (entry != head.pending)
            fb_futex_owner_died(t, uaddr);
        entry = next;
    }
    if (head.pending)
        fb_futex_owner_died(t, head.pending + (uint64_t)head.futex_offset);
}

/* The end of a task, on its own host thread with the kernel lock held. */
void fb_task_exit_finish(struct fb_task *t)
{
    struct fb_thread_group *tg = t->tg;
    int status = tg->group_exiting ? tg->exit_status : t->exit_code;

    t->state = FB_TASK_EXITED;
    fb_futex_unpark(t);
    exit_robust_list(t);
    if (t->clear_child_tid && t->mm) {
        uint32_t zero = 0;
        /* A shared wake, as Linux's mm_release does (the C library waits with a shared op). */
        if (fb_mm_copy_out(t->mm, t->clear_child_tid, &zero, sizeof(zero)) == 0)
            fb_futex_wake(t->mm, t->clear_child_tid, 1, FUTEX_BITSET_MATCH_ANY, true);
    }
    forget_parent_thread(t);
    fb_posix_timers_task_exit(t);
    if (t->vfork_parent) {
        struct fb_task *p = t->vfork_parent;
        t->vfork_parent = NULL;
        if (p->vfork_child == t) {
            p->vfork_child = NULL;
            fb_task_wake(p);
        }
    }
    fb_fdtable_put(t->files);
    t->files = NULL;
    fb_fs_ctx_put(t->fs);
    t->fs = NULL;
    fb_list_del(&t->tg_node);
    tg->live_threads--;
    if (tg->leader == t)
        tg->leader = NULL;
    if (tg->live_threads == 0) {
        fb_mm_ws_fill_gaps(t->mm); /* while its pages are still there (recording only) */
        tg_become_zombie(tg, status);
    } else if (tg->exec_waiter) {
        fb_task_wake(tg->exec_waiter); /* an exec waits for the other threads to go */
    }
    /* The mm goes last: other threads may still run in it; the platform context leaves it. */
    fb_mm_put(t->mm);
    t->mm = NULL;
    fb_pid_unref(t->tid);
    fb_tg_put(tg);
    t->tg = NULL;
}

/* ---- wait4 / waitid ------------------------------------------------------------------------- */

struct wait_result {
    int pid;
    int status; /* wait status */
    int code;   /* CLD_* for waitid */
    int uid;
    int64_t utime_ns, stime_ns; /* the child's CPU time and its reaped children's (rusage) */
};

static void result_times(struct wait_result *res, const struct fb_thread_group *c)
{
    res->utime_ns = c->utime_ns + c->child_utime_ns;
    res->stime_ns = c->stime_ns + c->child_stime_ns;
}

/* The rusage wait4/waitid report for the child (Linux getrusage(child, RUSAGE_BOTH); only the
 * CPU times are kept by this kernel). */
static int put_rusage(struct fb_task *t, uint64_t uaddr, const struct wait_result *res)
{
    struct rusage ru;
    memset(&ru, 0, sizeof(ru));
    ru.ru_utime.tv_sec = res->utime_ns / 1000000000;
    ru.ru_utime.tv_usec = (res->utime_ns % 1000000000) / 1000;
    ru.ru_stime.tv_sec = res->stime_ns / 1000000000;
    ru.ru_stime.tv_usec = (res->stime_ns % 1000000000) / 1000;
    return fb_mm_copy_out(t->mm, uaddr, &ru, sizeof(ru)) ? -EFAULT : 0;
}

static bool pid_matches(struct fb_task *t, struct fb_thread_group *c, int idtype, int id)
{
    switch (idtype) {
    case P_ALL:
        return true;
    case P_PID:
        return c->tgid == id;
    case P_PGID:
        return c->pgid == (id ? id : t->tg->pgid);
    default:
        return false;
    }
}

static int cld_code(int status)
{
    if (WIFEXITED(status))
        return CLD_EXITED;
    return WCOREDUMP(status) ? CLD_DUMPED : CLD_KILLED;
}

/* One scan of the children; returns a pid, 0 (children exist, none ready) or -ECHILD. */
static int wait_scan(struct fb_task *t, int idtype, int id, int options, struct wait_result *res)
{
    struct fb_list *pos, *tmp;
    bool any = false;
    struct fb_thread_group *me = t->tg;

    fb_list_for_each_safe(pos, tmp, &me->children)
    {
        struct fb_thread_group *c = fb_list_entry(pos, struct fb_thread_group, sibling);
        bool clone_child = c->exit_signal != SIGCHLD;

        if (!pid_matches(t, c, idtype, id))
            continue;
        if (!(options & __WALL) && (clone_child != !!(options & __WCLONE)))
            continue;
        any = true;
        if (c->state == FB_TG_ZOMBIE && (options & WEXITED)) {
            res->pid = c->tgid;
            res->status = c->exit_status;
            res->code = cld_code(c->exit_status);
            res->uid = (int)c->uid;
            result_times(res, c);
            if (!(options & WNOWAIT)) {
                me->child_utime_ns += c->utime_ns + c->child_utime_ns;
                me->child_stime_ns += c->stime_ns + c->child_stime_ns;
                fb_list_del(&c->sibling);
                c->parent = NULL;
                c->state = FB_TG_DEAD;
                fb_tg_put(c);
            }
            return res->pid;
        }
        if (c->state == FB_TG_LIVE && (options & WUNTRACED) && c->stopped && !c->stop_reported) {
            res->pid = c->tgid;
            res->status = FB_W_STOPCODE(c->stop_signal);
            res->code = CLD_STOPPED;
            res->uid = (int)c->uid;
            result_times(res, c);
            if (!(options & WNOWAIT))
                c->stop_reported = true;
            return res->pid;
        }
        if (c->state == FB_TG_LIVE && (options & WCONTINUED) && c->continued) {
            res->pid = c->tgid;
            res->status = 0xffff;
            res->code = CLD_CONTINUED;
            res->uid = (int)c->uid;
            result_times(res, c);
            if (!(options & WNOWAIT))
                c->continued = false;
            return res->pid;
        }
    }
    return any ? 0 : -ECHILD;
}

static int do_wait(struct fb_task *t, int idtype, int id, int options, struct fb_waiter *w,
                   struct wait_result *res)
{
    for (;;) {
        int r = wait_scan(t, idtype, id, options, res);
        if (r != 0)
            return r;
        if (options & WNOHANG)
            return 0;
        fb_waitq_add(&t->tg->child_wait, w, t);
        r = fb_task_sleep(t, 0);
        fb_waitq_del(w);
        if (r == -EINTR)
            return -FB_ERESTARTSYS;
    }
}

int64_t fb_sys_wait4_impl(struct fb_task *t, int pid, uint64_t ustatus, int options, uint64_t rusage)
{
    struct wait_result res = {0};
    struct fb_waiter w;
    int idtype, id, r;

    if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WCLONE | __WALL))
        return -EINVAL;
    if (pid == -1) {
        idtype = P_ALL;
        id = 0;
    } else if (pid < -1) {
        idtype = P_PGID;
        id = -pid;
    } else if (pid == 0) {
        idtype = P_PGID;
        id = 0;
    } else {
        idtype = P_PID;
        id = pid;
    }
    r = do_wait(t, idtype, id, options | WEXITED, &w, &res);
    if (r <= 0)
        return r;
    if (ustatus && fb_mm_copy_out(t->mm, ustatus, &res.status, sizeof(int)) != 0)
        return -EFAULT;
    if (rusage && put_rusage(t, rusage, &res) < 0)
        return -EFAULT;
    return r;
}

int64_t fb_sys_waitid_impl(struct fb_task *t, int idtype, int id, uint64_t uinfo, int options,
                           uint64_t rusage)
{
    struct wait_result res = {0};
    struct fb_waiter w;
    siginfo_t si;
    int r;

    if (options & ~(WNOHANG | WNOWAIT | WEXITED | WSTOPPED | WCONTINUED | __WNOTHREAD | __WCLONE |
                    __WALL))
        return -EINVAL;
    if (!(options & (WEXITED | WSTOPPED | WCONTINUED)))
        return -EINVAL;
    if (idtype != P_ALL && idtype != P_PID && idtype != P_PGID)
        return -EINVAL;
    if (idtype == P_PID && id <= 0)
        return -EINVAL;
    /* WSTOPPED is WUNTRACED's value. */
    r = do_wait(t, idtype, id, options, &w, &res);
    if (r < 0)
        return r;
    memset(&si, 0, sizeof(si));
    if (r > 0) {
        si.si_signo = SIGCHLD;
        si.si_code = res.code;
        si.si_pid = res.pid;
        si.si_uid = (uid_t)res.uid;
        if (res.code == CLD_EXITED)
            si.si_status = WEXITSTATUS(res.status);
        else if (res.code == CLD_STOPPED)
            si.si_status = WSTOPSIG(res.status);
        else if (res.code == CLD_CONTINUED)
            si.si_status = SIGCONT;
        else
            si.si_status = WTERMSIG(res.status);
    }
    if (uinfo && fb_mm_copy_out(t->mm, uinfo, &si, sizeof(si)) != 0)
        return -EFAULT;
    if (rusage && put_rusage(t, rusage, &res) < 0)
        return -EFAULT;
    return 0;
}
