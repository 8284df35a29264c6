/* Exit and wait: thread exit, group exit, zombies, reparenting to pid 1, wait4 and waitid. */
#include "kernel/task/task.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "kernel/futex/futex.h"
#include "kernel/mm/mm.h"
#include "kernel/signal/signal.h"
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

/* Children of a dying process go to pid 1 (or die with it if pid 1 is the one dying). */
static void reparent_children(struct fb_thread_group *tg)
{
    struct fb_list *pos, *tmp;
    struct fb_thread_group *init = fb_k->init ? fb_k->init->tg : NULL;
    bool init_alive = init && init != tg && init->state == FB_TG_LIVE;

    fb_list_for_each_safe(pos, tmp, &tg->children)
    {
        struct fb_thread_group *c = fb_list_entry(pos, struct fb_thread_group, sibling);
        fb_list_del(&c->sibling);
        if (init_alive) {
            c->parent = init;
            fb_list_add_tail(&init->children, &c->sibling);
            if (c->state == FB_TG_ZOMBIE)
                fb_waitq_wake_all(&init->child_wait);
        } else {
            c->parent = NULL;
            if (c->state == FB_TG_ZOMBIE) {
                c->state = FB_TG_DEAD;
                fb_tg_put(c);
            }
        }
    }
}

/* Does the parent discard exit statuses (SIGCHLD ignored or SA_NOCLDWAIT)? */
static bool parent_autoreaps(struct fb_thread_group *parent)
{
    const struct fb_sigaction *a = &parent->sighand->action[SIGCHLD - 1];
    return a->handler == (uint64_t)SIG_IGN || (a->flags & SA_NOCLDWAIT);
}

static void tg_become_zombie(struct fb_thread_group *tg, int status)
{
    struct fb_thread_group *parent = tg->parent;

    tg->exit_status = status;
    fb_ktimer_cancel(&tg->itimer_real);
    reparent_children(tg);
    if (fb_k->init && tg == fb_k->init->tg) {
        fb_k->init_status = status;
        fb_k->init_exited = true;
        kill_all_others(tg);
    }
    tg->state = FB_TG_ZOMBIE;
    if (!parent) {
        tg->state = FB_TG_DEAD;
        fb_tg_put(tg);
        return;
    }
    if (tg->exit_signal == SIGCHLD && parent_autoreaps(parent)) {
        fb_list_del(&tg->sibling);
        tg->parent = NULL;
        tg->state = FB_TG_DEAD;
        fb_waitq_wake_all(&parent->child_wait);
        fb_tg_put(tg);
        return;
    }
    if (tg->exit_signal > 0)
        fb_signal_notify_parent(tg, tg->exit_signal, status);
    fb_waitq_wake_all(&parent->child_wait);
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
    exit_robust_list(t);
    if (t->clear_child_tid && t->mm) {
        uint32_t zero = 0;
        if (fb_mm_copy_out(t->mm, t->clear_child_tid, &zero, sizeof(zero)) == 0)
            fb_futex_wake(t->mm, t->clear_child_tid, 1, FUTEX_BITSET_MATCH_ANY, false);
    }
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
    if (tg->live_threads == 0)
        tg_become_zombie(tg, status);
    else if (tg->exec_waiter)
        fb_task_wake(tg->exec_waiter); /* an exec waits for the other threads to go */
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
};

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
            if (!(options & WNOWAIT))
                c->stop_reported = true;
            return res->pid;
        }
        if (c->state == FB_TG_LIVE && (options & WCONTINUED) && c->continued) {
            res->pid = c->tgid;
            res->status = 0xffff;
            res->code = CLD_CONTINUED;
            res->uid = (int)c->uid;
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
    if (rusage) {
        struct rusage ru;
        memset(&ru, 0, sizeof(ru));
        if (fb_mm_copy_out(t->mm, rusage, &ru, sizeof(ru)) != 0)
            return -EFAULT;
    }
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
    if (rusage) {
        struct rusage ru;
        memset(&ru, 0, sizeof(ru));
        if (fb_mm_copy_out(t->mm, rusage, &ru, sizeof(ru)) != 0)
            return -EFAULT;
    }
    return 0;
}
