/* execve: load the new image, make the task the only thread of its process, and reset what an
 * exec resets (signal handlers, close-on-exec fds, alternate stack, FP state). */
#include "kernel/task/task.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/loader/loader.h"
#include "kernel/mm/mm.h"
#include "kernel/signal/signal.h"
#include "kernel/time/posix_timers.h"
#include "kernel/util/log.h"
#include "kernel/vfs/vfs.h"

/* Kill every other thread of t's process and wait until they are gone. Returns -EINTR (restart)
 * only if t itself is killed meanwhile. */
static int de_thread(struct fb_task *t)
{
    struct fb_thread_group *tg = t->tg;
    struct fb_list *pos;

    if (tg->live_threads == 1)
        return 0;
    fb_list_for_each(pos, &tg->threads)
    {
        struct fb_task *o = fb_list_entry(pos, struct fb_task, tg_node);
        if (o != t) {
            o->exiting = true;
            o->exit_code = 0;
            fb_task_interrupt(o);
        }
    }
    tg->exec_waiter = t;
    while (tg->live_threads > 1) {
        if (t->exiting) {
            tg->exec_waiter = NULL;
            return -EINTR;
        }
        pthread_cond_wait(&t->cond, &fb_k->lock);
    }
    tg->exec_waiter = NULL;
    t->woken = false;
    /* The exec'ing thread takes over the process id. */
    if (t->tid != tg->tgid) {
        fb_pid_unref(t->tid);
        t->tid = tg->tgid;
        fb_pid_ref(t->tid);
    }
    tg->leader = t;
    return 0;
}

int64_t fb_do_execve(struct fb_task *t, int dirfd, const char *path, char *const argv[],
                     char *const envp[], int atflags)
{
    struct fb_exec_image img;
    char why[256];
    int r;

    r = fb_loader_load(t, dirfd, path, argv, envp, atflags, &img, why, sizeof(why));
    if (r < 0) {
        if (why[0])
            fb_dbg("execve %s: %s", path, why);
        return r;
    }
    r = de_thread(t);
    if (r < 0) {
        fb_mm_put(img.mm);
        return r;
    }
    /* Point of no return. */
    if (t->files->refs > 1) {
        struct fb_fdtable *copy = fb_fdtable_copy(t->files);
        if (copy) {
            fb_fdtable_put(t->files);
            t->files = copy;
        }
    }
    fb_fd_close_on_exec(t->files);
    if (t->tg->sighand->refs > 1) {
        struct fb_sighand *sh = fb_sighand_copy(t->tg->sighand);
        if (sh) {
            fb_sighand_put(t->tg->sighand);
            t->tg->sighand = sh;
        }
    }
    fb_sighand_exec_reset(t->tg->sighand);
    fb_posix_timers_delete_all(t->tg); /* interval timers (setitimer) survive exec, these not */
    t->tg->did_exec = true;
    t->tg->dumpable = 1;
    if (t->clear_child_tid) {
        uint32_t zero = 0;
        fb_mm_copy_out(t->mm, t->clear_child_tid, &zero, sizeof(zero));
        t->clear_child_tid = 0;
    }
    t->robust_list = 0;
    fb_mm_put(t->mm);
    t->mm = img.mm;
    if (t->vfork_parent) {
        struct fb_task *p = t->vfork_parent;
        t->vfork_parent = NULL;
        if (p->vfork_child == t) {
            p->vfork_child = NULL;
            fb_task_wake(p);
        }
    }
    t->altstack.ss_sp = NULL;
    t->altstack.ss_size = 0;
    t->altstack.ss_flags = SS_DISABLE;
    memcpy(t->comm, img.comm, sizeof(t->comm));
    memset(&t->cpu.regs, 0, sizeof(t->cpu.regs));
    t->cpu.regs.rip = img.entry;
    t->cpu.regs.rsp = img.sp;
    t->cpu.regs.cs = 0x33;
    t->cpu.regs.ss = 0x2b;
    t->cpu.regs.eflags = 0x202;
    t->cpu.regs.orig_rax = (uint64_t)-1;
    fb_platform_fpstate_init(t->cpu.fp);
    t->cpu.fp_valid = true;
    t->cpu.fp_dirty = true;
    return 0;
}
