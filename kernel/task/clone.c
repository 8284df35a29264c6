/* clone, fork, vfork, clone3: new tasks sharing or copying the parent's resources. */
#include "kernel/task/task.h"

#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/mm/mm.h"
#include "kernel/signal/signal.h"
#include "kernel/util/cleanup.h"
#include "kernel/util/log.h"
#include "kernel/vfs/vfs.h"

#define CLONE_NS_FLAGS                                                                             \
    (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |               \
     CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWTIME)

static int count_tasks(void)
{
    return fb_k->nr_tasks;
}

int64_t fb_do_clone(struct fb_task *t, uint64_t flags, uint64_t stack, uint64_t parent_tid,
                    uint64_t child_tid, uint64_t tls)
{
    struct fb_thread_group *tg = NULL;
    struct fb_sighand *sh = NULL;
    struct fb_mm *mm = NULL;
    struct fb_fdtable *files = NULL;
    struct fb_fs_ctx *fs = NULL;
    struct fb_task *c;
    int exit_signal = (int)(flags & CSIGNAL);
    int pid, r = -ENOMEM;

    if (flags & CLONE_NS_FLAGS)
        return -EPERM; /* namespaces are the sandbox's, not the application's */
    if ((flags & CLONE_THREAD) && !(flags & CLONE_SIGHAND))
        return -EINVAL;
    if ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM))
        return -EINVAL;
    if ((flags & CLONE_FS) && (flags & CLONE_NEWNS))
        return -EINVAL;
    if (flags & CLONE_PIDFD)
        return -EINVAL; /* pidfds are not implemented */
    if (exit_signal < 0 || exit_signal > 64)
        return -EINVAL;
    /* Linux's ARCH_SET_FS rule: a TLS base the host would refuse in PTRACE_SETREGS (EIO, which
     * took the child's whole address space down) is EPERM here. Found by the syscall fuzzer. */
    if ((flags & CLONE_SETTLS) && tls >= FB_TASK_SIZE)
        return -EPERM;
    if ((uint64_t)count_tasks() >= t->tg->rlim[RLIMIT_NPROC].rlim_cur && t->tg->uid != 0)
        return -EAGAIN;
    if (fb_k->opts.pids_limit && count_tasks() >= fb_k->opts.pids_limit)
        return -EAGAIN;

    pid = fb_pid_alloc();
    if (pid < 0)
        return pid;

    /* Address space. */
    if (flags & CLONE_VM) {
        int err = 0;
        mm = t->mm;
        fb_mm_get(mm);
        /* The new task needs a host thread of its own inside the shared stub. */
        if (!fb_mm_as(mm, &err) || (r = fb_k->plat->ops->as_add_thread(t->pctx, mm->as)) < 0) {
            r = err ? err : r;
            goto out_fail;
        }
    } else {
        mm = fb_mm_fork(t->mm);
        if (!mm) {
            r = -ENOMEM;
            goto out_fail;
        }
    }
    if (flags & CLONE_FILES) {
        files = t->files;
        files->refs++;
    } else if (!(files = fb_fdtable_copy(t->files))) {
        r = -ENOMEM;
        goto out_fail;
    }
    if (flags & CLONE_FS) {
        fs = t->fs;
        fs->refs++;
    } else if (!(fs = fb_fs_ctx_copy(t->fs))) {
        r = -ENOMEM;
        goto out_fail;
    }
    if (flags & CLONE_THREAD) {
        tg = t->tg;
    } else {
        if (flags & CLONE_SIGHAND) {
            sh = t->tg->sighand;
            sh->refs++;
        } else if (!(sh = fb_sighand_copy(t->tg->sighand))) {
            r = -ENOMEM;
            goto out_fail;
        }
        bool as_sibling = (flags & CLONE_PARENT) && t->tg->parent;
        tg = fb_tg_new(as_sibling ? t->tg->parent : t->tg, sh);
        if (!tg) {
            fb_sighand_put(sh);
            r = -ENOMEM;
            goto out_fail;
        }
        tg->parent_thread = as_sibling ? t->tg->parent_thread : t;
        sh = NULL;
        tg->tgid = pid;
        fb_pid_ref(pid);
        tg->exit_signal = exit_signal;
    }

    c = fb_task_create(tg, mm, files, fs);
    if (!c) {
        r = -ENOMEM;
        if (!(flags & CLONE_THREAD)) {
            fb_list_del(&tg->sibling);
            fb_tg_put(tg);
        }
        goto out_fail;
    }
    if (!(flags & CLONE_THREAD))
        tg->leader = c;
    c->tid = pid;
    c->cpu.regs = t->cpu.regs;
    c->cpu.regs.rax = 0;
    if (stack)
        c->cpu.regs.rsp = stack;
    if (flags & CLONE_SETTLS)
        c->cpu.regs.fs_base = tls;
    /* The child inherits the FP state as it is now. */
    if (fb_k->plat->ops->fetch_fp(t->pctx, fb_mm_as(t->mm, NULL), &t->cpu) == 0) {
        memcpy(c->cpu.fp, t->cpu.fp, fb_platform_fpstate_size());
    } else {
        fb_platform_fpstate_init(c->cpu.fp);
    }
    c->cpu.fp_valid = true;
    c->cpu.fp_dirty = true;
    c->blocked = t->blocked;
    if ((flags & CLONE_VM) && !(flags & CLONE_VFORK))
        c->altstack.ss_flags = SS_DISABLE;
    else
        c->altstack = t->altstack;
    memcpy(c->comm, t->comm, sizeof(c->comm));
    c->no_new_privs = t->no_new_privs;
    c->nice = t->nice;
    c->sched_policy = t->sched_policy;
    memcpy(c->affinity, t->affinity, sizeof(c->affinity));
    if (flags & CLONE_CHILD_CLEARTID)
        c->clear_child_tid = child_tid;
    if (flags & CLONE_CHILD_SETTID) {
        int32_t v = pid;
        fb_mm_copy_out(mm, child_tid, &v, sizeof(v));
    }
    if (flags & CLONE_PARENT_SETTID) {
        int32_t v = pid;
        if (fb_mm_copy_out(t->mm, parent_tid, &v, sizeof(v)) != 0)
            fb_dbg("clone: parent_tid %#lx not writable", (unsigned long)parent_tid);
    }
    if (flags & CLONE_VFORK) {
        c->vfork_parent = t;
        t->vfork_child = c;
    }
    c->state = FB_TASK_RUNNING;
    r = fb_task_start(c);
    if (r < 0) {
        fb_warn("cannot start a host thread for a new task: %s", strerror(-r));
        t->vfork_child = NULL;
        c->exiting = true;
        return -EAGAIN;
    }
    return pid;

out_fail:
    if (mm)
        fb_mm_put(mm);
    if (files)
        fb_fdtable_put(files);
    if (fs)
        fb_fs_ctx_put(fs);
    if (sh)
        fb_sighand_put(sh);
    fb_pid_unref(pid);
    return r;
}

struct k_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
};

int64_t fb_do_clone3(struct fb_task *t, uint64_t uargs, uint64_t size)
{
    struct k_clone_args args;
    uint64_t stack;

    if (size < 64 || size > 4096)
        return -EINVAL;
    memset(&args, 0, sizeof(args));
    if (fb_mm_copy_in(t->mm, uargs, &args, FB_MIN(size, sizeof(args))) != 0)
        return -EFAULT;
    if (size > sizeof(args)) {
        /* Unknown trailing fields must be zero. */
        uint8_t tail[64];
        uint64_t off = sizeof(args);
        while (off < size) {
            size_t n = (size_t)FB_MIN(size - off, sizeof(tail));
            if (fb_mm_copy_in(t->mm, uargs + off, tail, n) != 0)
                return -EFAULT;
            for (size_t i = 0; i < n; i++)
                if (tail[i])
                    return -E2BIG;
            off += n;
        }
    }
    if (args.exit_signal > 64 || (args.flags & CSIGNAL) || args.set_tid || args.set_tid_size)
        return -EINVAL;
    if (args.flags & (CLONE_INTO_CGROUP | CLONE_CLEAR_SIGHAND))
        return -EINVAL;
    stack = args.stack ? args.stack + args.stack_size : 0;
    return fb_do_clone(t, args.flags | args.exit_signal, stack, args.parent_tid, args.child_tid,
                       args.tls);
}
