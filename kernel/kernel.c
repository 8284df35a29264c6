/* The kernel object and boot: memory file, platform, gofer connection, the file tree, pid 1, and
 * the wait for every task to end. Also the debug interrupt storm that proves every wait in the
 * kernel is interruptible and restartable (the mechanism checkpoints rely on). */
#include "kernel/kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gofer/p9_client.h"
#include "kernel/loader/loader.h"
#include "kernel/signal/signal.h"
#include "kernel/syscalls/syscall.h"
#include "kernel/task/task.h"
#include "kernel/time/timer.h"
#include "kernel/util/log.h"
#include "kernel/vfs/procfs.h"
#include "kernel/vfs/vfs.h"
#include "snapshot/kstate.h"

struct fb_kernel *fb_k;

int fb_kernel_init(const struct fb_kernel_opts *opts, struct fb_error *err)
{
    int r;

    fb_k = calloc(1, sizeof(*fb_k));
    if (!fb_k)
        return fb_error_set(err, ENOMEM, "out of memory");
    pthread_mutex_init(&fb_k->lock, NULL);
    {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&fb_k->tasks_done, &ca);
        pthread_condattr_destroy(&ca);
    }
    fb_k->opts = *opts;
    fb_list_init(&fb_k->tasks);
    fb_k->pid_max = 32768;
    fb_k->next_pid = 1;
    fb_k->boot_mono_ns = fb_app_mono_ns();
    snprintf(fb_k->hostname, sizeof(fb_k->hostname), "%s",
             opts->hostname ? opts->hostname : "fnbox");
    snprintf(fb_k->domainname, sizeof(fb_k->domainname), "(none)");

    /* Large pages for a restore's working set (fb_memfile_advise_large): the file is made
     * while mounts may still be made. */
    if (opts->restore && opts->memory_fd > 2) {
        /* Pages below the hot pages' size are kept for the loader to clear (the working set
         * goes there), the rest is punched out now. */
        struct stat hot;
        uint64_t keep = 0;
        int64_t t = fb_host_mono_ns();
        if (opts->hot_fd > 2 && fstat(opts->hot_fd, &hot) == 0)
            keep = (uint64_t)hot.st_size;
        r = fb_memfile_init_given(&fb_k->mf, opts->memory_fd, FB_MEMFILE_SIZE, keep, err);
        fb_k->opts.memory_fd = -1; /* the memory file's now */
        if (r == 0)
            fb_dbg("memory file given: %lu KiB of it kept (%.2f ms)",
                   (unsigned long)(fb_mf_resident_bytes(&fb_k->mf) >> 10),
                   (fb_host_mono_ns() - t) / 1e6);
    } else if (opts->restore && !fb_mf_large_off)
        r = fb_memfile_init_large(&fb_k->mf, FB_MEMFILE_SIZE, err);
    else
        r = fb_memfile_init(&fb_k->mf, FB_MEMFILE_SIZE, err);
    if (r < 0)
        return -1;
    if (opts->memory_limit)
        fb_k->mf.limit_pages = opts->memory_limit >> FB_PAGE_SHIFT;
    if (fb_platform_new(opts->platform, fb_k->mf.fd, &fb_k->plat, err) < 0)
        return -1;
    /* What needs no Gofer first: the Gofer is usually still building its view. */
    fb_procfs_host_init(); /* host facts (CPUs, memory) while system calls are allowed */
    r = fb_ktimer_start();
    if (r < 0)
        return fb_error_set(err, -r, "starting the timer thread: %s", strerror(-r));
    /* A restore reads and checks its image now, on this CPU, while the Gofer still joins or
     * builds its view and locks itself down on the other: ~0.8 ms for the python function. */
    if (opts->restore)
        fb_k->restore_prep = fb_snapshot_restore_begin(opts->image_fd);
    return 0;
}

int fb_kernel_connect(int gofer_sock, struct fb_error *err)
{
    int r = fb_p9c_new(gofer_sock, 0, &fb_k->p9);

    if (r < 0)
        return fb_error_set(err, -r, "connecting to the gofer: %s", strerror(-r));
    return fb_vfs_init(err);
}

/* ---- the interrupt storm ------------------------------------------------------------------------ */

static void *storm_main(void *arg)
{
    uint64_t us = (uint64_t)(uintptr_t)arg;
    sigset_t all;
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (;;) {
        struct fb_list *pos;
        nanosleep(&ts, NULL);
        fb_kernel_lock();
        fb_list_for_each(pos, &fb_k->tasks)
        {
            struct fb_task *t = fb_list_entry(pos, struct fb_task, knode);
            if (t->state != FB_TASK_EXITED && t->state != FB_TASK_NEW)
                fb_task_interrupt(t);
        }
        fb_kernel_unlock();
    }
    return NULL;
}

/* ---- checkpoints ------------------------------------------------------------------------------ */

bool fb_kernel_ckpt_request(void)
{
    struct fb_list *pos;

    if (!fb_k->ckpt_armed)
        return false;
    fb_k->ckpt_armed = false;
    fb_k->ckpt_pending = true;
    fb_list_for_each(pos, &fb_k->tasks)
    {
        struct fb_task *t = fb_list_entry(pos, struct fb_task, knode);
        fb_task_interrupt(t);
    }
    pthread_cond_broadcast(&fb_k->tasks_done);
    fb_dbg("ready point reached: checkpointing");
    return true;
}

/* What every task is doing, for the message of a checkpoint whose ready point did not come:
 * "1 (sh) waiting in wait4, 2 (sleep) waiting in clock_nanosleep" (at most 8, then how many
 * more). Kernel lock held. */
static void describe_tasks(char *buf, size_t cap)
{
    struct fb_list *pos;
    size_t len = 0;
    int n = 0;

    buf[0] = 0;
    fb_list_for_each(pos, &fb_k->tasks)
    {
        struct fb_task *t = fb_list_entry(pos, struct fb_task, knode);
        const char *sc = t->sc_nr < FB_NR_SYSCALLS && fb_syscall_table[t->sc_nr].name
                             ? fb_syscall_table[t->sc_nr].name
                             : "an unknown system call";
        if (++n > 8 || len >= cap)
            continue;
        len += (size_t)snprintf(buf + len, cap - len, "%s%d (%.16s) %s%s", n > 1 ? ", " : "",
                                t->tid, t->comm,
                                t->state == FB_TASK_SLEEPING ? "waiting in " : "running",
                                t->state == FB_TASK_SLEEPING ? sc : "");
    }
    if (n > 8 && len < cap)
        snprintf(buf + len, cap - len, " and %d more", n - 8);
}

/* Torture: ask for a checkpoint every torture_us (the main thread skips those it cannot take). */
static void *torture_main(void *arg)
{
    struct timespec ts;
    uint64_t us = fb_k->opts.torture_us;
    sigset_t all;

    (void)arg;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    /* The first checkpoint comes sooner (a fifth of the interval, at least 0.5 ms), so that
     * short programs are restored at least once too. */
    {
        uint64_t first = us / 5 > 500 ? us / 5 : 500;
        struct timespec f = {(time_t)(first / 1000000), (long)(first % 1000000) * 1000};
        nanosleep(&f, NULL);
    }
    ts.tv_sec = (time_t)(us / 1000000);
    ts.tv_nsec = (long)(us % 1000000) * 1000;
    for (bool once = true;; once = false) {
        if (!once)
            nanosleep(&ts, NULL);
        fb_kernel_lock();
        if (!fb_k->ckpt_pending) {
            fb_k->ckpt_armed = true;
            fb_kernel_ckpt_request();
        }
        fb_kernel_unlock();
    }
    return NULL;
}

/* Let every parked task go on (a checkpoint that could not be taken). */
static void ckpt_resume(void)
{
    struct fb_list *pos;
    fb_k->ckpt_pending = false;
    fb_list_for_each(pos, &fb_k->tasks)
    {
        struct fb_task *t = fb_list_entry(pos, struct fb_task, knode);
        pthread_cond_broadcast(&t->cond);
    }
}

/* ---- pid 1 --------------------------------------------------------------------------------------- */

/* execvp-like resolution of the program name inside the sandbox. */
static int find_program(struct fb_task *t, const char *name, char **envp, char *out, size_t size)
{
    const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    int last = -ENOENT;
    char **e;

    if (strchr(name, '/')) {
        snprintf(out, size, "%s", name);
        return 0;
    }
    for (e = envp; e && *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0)
            path = *e + 5;
    while (*path) {
        const char *c = strchr(path, ':');
        size_t len = c ? (size_t)(c - path) : strlen(path);
        struct fb_path p;
        int r;
        if ((size_t)snprintf(out, size, "%.*s/%s", (int)len, len ? path : ".", name) < size) {
            r = fb_vfs_lookup(t, AT_FDCWD, out, FB_LOOKUP_FOLLOW, &p, NULL, NULL);
            if (r == 0) {
                bool exe = S_ISREG(p.dentry->inode->st.mode);
                fb_path_put(&p);
                if (exe)
                    return 0;
                last = -EACCES;
            }
        }
        path += len + (c ? 1 : 0);
        if (!c)
            break;
    }
    return last;
}

static struct fb_task *make_init(struct fb_error *err)
{
    struct fb_sighand *sh = fb_sighand_new();
    struct fb_thread_group *tg;
    struct fb_fdtable *files = fb_fdtable_new();
    struct fb_fs_ctx *fs;
    struct fb_path root = {fb_k->root_mount, fb_k->root_mount->root};
    struct fb_task *t;
    int i;

    if (!sh || !files) {
        fb_error_set(err, ENOMEM, "out of memory");
        return NULL;
    }
    tg = fb_tg_new(NULL, sh);
    fs = fb_fs_ctx_new(&root, &root);
    if (!tg || !fs) {
        fb_error_set(err, ENOMEM, "out of memory");
        return NULL;
    }
    tg->tgid = fb_pid_alloc(); /* 1 */
    fb_pid_ref(tg->tgid);
    tg->pgid = tg->sid = tg->tgid;
    fb_pid_ref(tg->tgid);
    fb_pid_ref(tg->tgid);
    t = fb_task_create(tg, NULL, files, fs);
    if (!t) {
        fb_error_set(err, ENOMEM, "out of memory");
        return NULL;
    }
    t->tid = tg->tgid; /* the allocation's reference is the task's */
    tg->leader = t;
    for (i = 0; i < 3; i++)
        if (fb_k->host_stdio[i])
            fb_fd_install_at(t, fb_k->host_stdio[i], i, false);
    return t;
}

int fb_kernel_run(struct fb_error *err)
{
    fb_k->boot_mono_ns = fb_host_mono_ns();
    struct fb_exec_image img;
    struct fb_task *t;
    char prog[FB_PATH_MAX], why[256];
    struct timespec ready_by = {0, 0}; /* checkpoint: the ready point's deadline (CLOCK_MONOTONIC) */
    int r;

    fb_kernel_lock();
    if (fb_k->opts.restore) {
        struct fb_snapshot_prep *p = fb_k->restore_prep;
        fb_k->restore_prep = NULL;
        if (fb_snapshot_restore(p, err) < 0)
            goto fail;
        if (fb_k->opts.on_restored)
            fb_k->opts.on_restored();
        goto started;
    }
    t = make_init(err);
    if (!t)
        goto fail;
    fb_k->init = t;
    if (fb_k->opts.cwd && fb_k->opts.cwd[0]) {
        struct fb_path p;
        r = fb_vfs_lookup(t, AT_FDCWD, fb_k->opts.cwd, FB_LOOKUP_FOLLOW | FB_LOOKUP_DIRECTORY, &p,
                          NULL, NULL);
        if (r < 0) {
            fb_error_set(err, -r, "%s: %s", fb_k->opts.cwd, strerror(-r));
            goto fail;
        }
        fb_path_put(&t->fs->cwd);
        t->fs->cwd = p;
    }
    r = find_program(t, fb_k->opts.argv[0], fb_k->opts.envp, prog, sizeof(prog));
    if (r == 0)
        r = fb_loader_load(t, AT_FDCWD, prog, fb_k->opts.argv, fb_k->opts.envp, 0, &img, why,
                           sizeof(why));
    if (r < 0) {
        if (why[0] && r != -ENOENT)
            fb_error_set(err, -r, "%s: %s", fb_k->opts.argv[0], why);
        else
            fb_error_set(err, -r, "%s: %s", fb_k->opts.argv[0], strerror(-r));
        goto fail;
    }
    t->mm = img.mm;
    memcpy(t->comm, img.comm, sizeof(t->comm));
    t->cpu.regs.rip = img.entry;
    t->cpu.regs.rsp = img.sp;
    t->cpu.regs.cs = 0x33;
    t->cpu.regs.ss = 0x2b;
    t->cpu.regs.eflags = 0x202;
    fb_platform_fpstate_init(t->cpu.fp);
    t->cpu.fp_valid = true;
    t->cpu.fp_dirty = true;
    fb_dbg("pid 1 loaded in %.2f ms", (fb_host_mono_ns() - fb_k->boot_mono_ns) / 1e6);
    fb_k->ckpt_armed = fb_k->opts.checkpoint;
    if (fb_k->ckpt_armed && fb_k->opts.ready_timeout_ms) {
        clock_gettime(CLOCK_MONOTONIC, &ready_by);
        ready_by.tv_sec += (time_t)(fb_k->opts.ready_timeout_ms / 1000);
        ready_by.tv_nsec += (long)(fb_k->opts.ready_timeout_ms % 1000) * 1000000;
        if (ready_by.tv_nsec >= 1000000000) {
            ready_by.tv_sec++;
            ready_by.tv_nsec -= 1000000000;
        }
    }
    r = fb_task_start(t);
    if (r < 0) {
        fb_error_set(err, -r, "starting pid 1: %s", strerror(-r));
        goto fail;
    }
started:
    if (fb_k->opts.torture_us) {
        pthread_t th;
        pthread_create(&th, NULL, torture_main, NULL);
        pthread_detach(th);
    }
    if (fb_k->opts.interrupt_storm_us) {
        pthread_t th;
        pthread_create(&th, NULL, storm_main, (void *)(uintptr_t)fb_k->opts.interrupt_storm_us);
        pthread_detach(th);
    }
    while (fb_k->nr_tasks > 0) {
        if (fb_k->ckpt_pending && fb_k->ckpt_parked == fb_k->nr_tasks) {
            /* Every task is at its syscall boundary: save, and end here (the controller tears
             * the sandbox down; the image is restored elsewhere). */
            int64_t t0 = fb_host_mono_ns();
            fb_k->ckpt_status = fb_snapshot_write(fb_k->opts.ckpt_fd, err) < 0 ? -1 : 1;
            fb_k->ckpt_save_ns = fb_host_mono_ns() - t0;
            fb_dbg("checkpoint written in %.2f ms", fb_k->ckpt_save_ns / 1e6);
            /* Torture skips only what fnbox refuses to save yet (ENOTSUP: a device node in
             * tmpfs, a mapping of a deleted file...); any other failure -- an I/O error, an
             * internal inconsistency -- ends the run like a real checkpoint's would, so that
             * the torture suite cannot pass on checkpoints that do not work. */
            if (fb_k->ckpt_status < 0 && fb_k->opts.torture_us && err->code == ENOTSUP) {
                fb_dbg("torture: checkpoint skipped: %s", err->msg);
                fb_k->ckpt_status = 0;
                memset(err, 0, sizeof(*err));
                ckpt_resume();
                continue;
            }
            fb_kernel_unlock();
            return fb_k->ckpt_status < 0 ? -1 : 0;
        }
        if (fb_k->ckpt_pending) {
            /* Parking takes microseconds; say who is late if it does not (debugging aid). */
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += 1;
            if (pthread_cond_timedwait(&fb_k->tasks_done, &fb_k->lock, &ts) == ETIMEDOUT) {
                struct fb_list *pos;
                fb_list_for_each(pos, &fb_k->tasks)
                {
                    struct fb_task *t = fb_list_entry(pos, struct fb_task, knode);
                    if (!t->parked)
                        fb_warn("checkpoint: task %d not parked after 1 s (state %d, syscall %lu, "
                                "exiting %d, vfork child %d)",
                                t->tid, t->state, (unsigned long)t->sc_nr, t->exiting,
                                t->vfork_child ? t->vfork_child->tid : 0);
                }
            }
            continue;
        }
        if (fb_k->ckpt_armed && ready_by.tv_sec) {
            if (pthread_cond_timedwait(&fb_k->tasks_done, &fb_k->lock, &ready_by) == ETIMEDOUT &&
                fb_k->ckpt_armed) {
                char what[sizeof(err->msg) - 64];
                describe_tasks(what, sizeof(what));
                fb_k->ckpt_armed = false;
                fb_k->ready_timed_out = true;
                fb_error_set(err, ETIMEDOUT, "its tasks then: %s", what);
                goto fail;
            }
            continue;
        }
        pthread_cond_wait(&fb_k->tasks_done, &fb_k->lock);
    }
    fb_kernel_unlock();
    fb_syscall_print_profile();
    {
        char lazy[64] = ""; /* a lazy restore's: what it read beyond its working set */
        if (fb_k->mf.lz)
            snprintf(lazy, sizeof(lazy), ", %lu read in from the image on need",
                     (unsigned long)atomic_load(&fb_k->mf.needed));
        fb_info("stats: %lu syscalls (%.1f ms in the kernel), %lu faults (%.1f ms), %lu "
                "interrupts, %.1f ms in the application, memory file %lu pages used%s",
                (unsigned long)fb_stats.syscalls, fb_stats.syscall_ns / 1e6,
                (unsigned long)fb_stats.faults, fb_stats.fault_ns / 1e6,
                (unsigned long)fb_stats.interrupts, fb_stats.app_ns / 1e6,
                (unsigned long)fb_k->mf.used_pages, lazy);
    }
    return fb_k->init_status;

fail:
    fb_kernel_unlock();
    return -1;
}
