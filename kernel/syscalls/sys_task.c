/* Process and thread system calls: creation, exec, exit, wait, identity, limits, scheduling. */
#include "kernel/syscalls/syscall.h"

#include <asm/prctl.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <linux/capability.h>
#include <unistd.h>

#include "kernel/futex/futex.h"
#include "kernel/signal/signal.h"
#include "kernel/syscalls/sys_util.h"
#include "kernel/util/cleanup.h"
#if __has_include("kernel/vfs/procfs.h")
#include "kernel/vfs/procfs.h"
#endif
#ifndef FB_UNAME_RELEASE
#define FB_UNAME_RELEASE "6.1.0-fnbox"
#endif
#ifndef FB_UNAME_VERSION
#define FB_UNAME_VERSION "#1 SMP fnbox"
#endif
#include "kernel/vfs/vfs.h"

/* ---- creation and exec ------------------------------------------------------------------------- */

FB_SYSCALL(clone)
{
    /* x86_64 argument order: flags, stack, parent_tid, child_tid, tls */
    return fb_do_clone(t, a[0], a[1], a[2], a[3], a[4]);
}

FB_SYSCALL(clone3)
{
    return fb_do_clone3(t, a[0], a[1]);
}

FB_SYSCALL(fork)
{
    (void)a;
    return fb_do_clone(t, SIGCHLD, 0, 0, 0, 0);
}

FB_SYSCALL(vfork)
{
    (void)a;
    return fb_do_clone(t, CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0);
}

#define MAX_ARG_STRLEN (32 * 4096)
#define MAX_ARGS_TOTAL (2 << 20)

static void free_strv(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

/* Copy a NULL-terminated array of strings from the application. */
static int copy_strv(struct fb_task *t, uint64_t uvec, char ***out, size_t *total)
{
    size_t n = 0, cap = 16;
    char **v = calloc(cap, sizeof(char *));

    if (!v)
        return -ENOMEM;
    for (; uvec; n++) {
        uint64_t p;
        int64_t len;
        char *s;
        if (fb_mm_copy_in(t->mm, uvec + n * 8, &p, 8) != 0)
            goto efault;
        if (!p)
            break;
        if (n + 2 > cap) {
            char **nv = realloc(v, cap * 2 * sizeof(char *));
            if (!nv)
                goto enomem;
            v = nv;
            cap *= 2;
        }
        s = malloc(MAX_ARG_STRLEN);
        if (!s)
            goto enomem;
        len = fb_mm_copy_string_in(t->mm, p, s, MAX_ARG_STRLEN);
        if (len < 0) {
            free(s);
            v[n] = NULL;
            free_strv(v);
            return len == -ENAMETOOLONG ? -E2BIG : (int)len;
        }
        v[n] = realloc(s, (size_t)len + 1) ?: s;
        v[n + 1] = NULL;
        *total += (size_t)len + 1 + 8;
        if (*total > MAX_ARGS_TOTAL) {
            free_strv(v);
            return -E2BIG;
        }
    }
    v[n] = NULL;
    *out = v;
    return 0;
efault:
    v[n] = NULL;
    free_strv(v);
    return -EFAULT;
enomem:
    v[n] = NULL;
    free_strv(v);
    return -ENOMEM;
}

static int64_t do_execve(struct fb_task *t, int dirfd, uint64_t upath, uint64_t uargv,
                         uint64_t uenvp, int flags)
{
    char path[FB_PATH_MAX];
    char **argv = NULL, **envp = NULL;
    size_t total = 0;
    int64_t r;

    if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
        return -EINVAL;
    r = fb_get_path(t, upath, path);
    if (r < 0)
        return r;
    r = copy_strv(t, uargv, &argv, &total);
    if (r < 0)
        return r;
    r = copy_strv(t, uenvp, &envp, &total);
    if (r < 0) {
        free_strv(argv);
        return r;
    }
    r = fb_do_execve(t, dirfd, path, argv, envp, flags);
    free_strv(argv);
    free_strv(envp);
    return r;
}

FB_SYSCALL(execve)
{
    return do_execve(t, AT_FDCWD, a[0], a[1], a[2], 0);
}

FB_SYSCALL(execveat)
{
    return do_execve(t, ARG_INT(0), a[1], a[2], a[3], ARG_INT(4));
}

/* ---- exit and wait ------------------------------------------------------------------------------- */

FB_SYSCALL(exit)
{
    fb_task_exit_thread(t, FB_W_EXITCODE(ARG_INT(0) & 0xff, 0));
    return 0;
}

FB_SYSCALL(exit_group)
{
    fb_tg_exit_group(t->tg, FB_W_EXITCODE(ARG_INT(0) & 0xff, 0));
    return 0;
}

FB_SYSCALL(wait4)
{
    return fb_sys_wait4_impl(t, ARG_INT(0), a[1], ARG_INT(2), a[3]);
}

FB_SYSCALL(waitid)
{
    return fb_sys_waitid_impl(t, ARG_INT(0), ARG_INT(1), a[2], ARG_INT(3), a[4]);
}

/* ---- identity ------------------------------------------------------------------------------------ */

FB_SYSCALL(getpid)
{
    (void)a;
    return t->tg->tgid;
}

FB_SYSCALL(gettid)
{
    (void)a;
    return t->tid;
}

FB_SYSCALL(getppid)
{
    (void)a;
    return t->tg->parent ? t->tg->parent->tgid : 0;
}

FB_SYSCALL(set_tid_address)
{
    t->clear_child_tid = a[0];
    return t->tid;
}

FB_SYSCALL(set_robust_list)
{
    if (a[1] != 24)
        return -EINVAL;
    t->robust_list = a[0];
    t->robust_len = a[1];
    return 0;
}

FB_SYSCALL(get_robust_list)
{
    struct fb_task *o = ARG_INT(0) ? fb_task_lookup(ARG_INT(0)) : t;
    uint64_t len = 24;
    if (!o)
        return -ESRCH;
    if (fb_mm_copy_out(t->mm, a[1], &o->robust_list, 8) || fb_mm_copy_out(t->mm, a[2], &len, 8))
        return -EFAULT;
    return 0;
}

FB_SYSCALL(getuid)
{
    (void)a;
    return t->tg->uid;
}
FB_SYSCALL(geteuid)
{
    (void)a;
    return t->tg->euid;
}
FB_SYSCALL(getgid)
{
    (void)a;
    return t->tg->gid;
}
FB_SYSCALL(getegid)
{
    (void)a;
    return t->tg->egid;
}

static bool capable(struct fb_task *t)
{
    return t->tg->euid == 0;
}

/* setuid family: root may set anything; others may only switch among real/effective/saved. */
static bool id_allowed(struct fb_task *t, uint32_t id, uint32_t r, uint32_t e, uint32_t s)
{
    return capable(t) || id == (uint32_t)-1 || id == r || id == e || id == s;
}

FB_SYSCALL(setuid)
{
    struct fb_thread_group *tg = t->tg;
    uint32_t uid = ARG_U32(0);
    if (uid == (uint32_t)-1)
        return -EINVAL;
    if (capable(t)) {
        tg->uid = tg->euid = tg->suid = tg->fsuid = uid;
    } else if (uid == tg->uid || uid == tg->suid) {
        tg->euid = tg->fsuid = uid;
    } else {
        return -EPERM;
    }
    return 0;
}

FB_SYSCALL(setgid)
{
    struct fb_thread_group *tg = t->tg;
    uint32_t gid = ARG_U32(0);
    if (gid == (uint32_t)-1)
        return -EINVAL;
    if (capable(t)) {
        tg->gid = tg->egid = tg->sgid = tg->fsgid = gid;
    } else if (gid == tg->gid || gid == tg->sgid) {
        tg->egid = tg->fsgid = gid;
    } else {
        return -EPERM;
    }
    return 0;
}

FB_SYSCALL(setresuid)
{
    struct fb_thread_group *tg = t->tg;
    uint32_t r = ARG_U32(0), e = ARG_U32(1), s = ARG_U32(2);
    if (!id_allowed(t, r, tg->uid, tg->euid, tg->suid) ||
        !id_allowed(t, e, tg->uid, tg->euid, tg->suid) ||
        !id_allowed(t, s, tg->uid, tg->euid, tg->suid))
        return -EPERM;
    if (r != (uint32_t)-1)
        tg->uid = r;
    if (e != (uint32_t)-1)
        tg->euid = e;
    if (s != (uint32_t)-1)
        tg->suid = s;
    tg->fsuid = tg->euid;
    return 0;
}

FB_SYSCALL(setresgid)
{
    struct fb_thread_group *tg = t->tg;
    uint32_t r = ARG_U32(0), e = ARG_U32(1), s = ARG_U32(2);
    if (!id_allowed(t, r, tg->gid, tg->egid, tg->sgid) ||
        !id_allowed(t, e, tg->gid, tg->egid, tg->sgid) ||
        !id_allowed(t, s, tg->gid, tg->egid, tg->sgid))
        return -EPERM;
    if (r != (uint32_t)-1)
        tg->gid = r;
    if (e != (uint32_t)-1)
        tg->egid = e;
    if (s != (uint32_t)-1)
        tg->sgid = s;
    tg->fsgid = tg->egid;
    return 0;
}

FB_SYSCALL(setreuid)
{
    uint64_t b[6] = {a[0], a[1], (uint64_t)-1, 0, 0, 0};
    if (ARG_U32(0) != (uint32_t)-1 || (ARG_U32(1) != (uint32_t)-1 && ARG_U32(1) != t->tg->uid))
        b[2] = ARG_U32(1) != (uint32_t)-1 ? a[1] : t->tg->euid;
    return fb_sys_setresuid(t, b);
}

FB_SYSCALL(setregid)
{
    uint64_t b[6] = {a[0], a[1], (uint64_t)-1, 0, 0, 0};
    if (ARG_U32(0) != (uint32_t)-1 || (ARG_U32(1) != (uint32_t)-1 && ARG_U32(1) != t->tg->gid))
        b[2] = ARG_U32(1) != (uint32_t)-1 ? a[1] : t->tg->egid;
    return fb_sys_setresgid(t, b);
}

FB_SYSCALL(getresuid)
{
    uint32_t r = t->tg->uid, e = t->tg->euid, s = t->tg->suid;
    if (fb_mm_copy_out(t->mm, a[0], &r, 4) || fb_mm_copy_out(t->mm, a[1], &e, 4) ||
        fb_mm_copy_out(t->mm, a[2], &s, 4))
        return -EFAULT;
    return 0;
}

FB_SYSCALL(getresgid)
{
    uint32_t r = t->tg->gid, e = t->tg->egid, s = t->tg->sgid;
    if (fb_mm_copy_out(t->mm, a[0], &r, 4) || fb_mm_copy_out(t->mm, a[1], &e, 4) ||
        fb_mm_copy_out(t->mm, a[2], &s, 4))
        return -EFAULT;
    return 0;
}

FB_SYSCALL(setfsuid)
{
    uint32_t old = t->tg->fsuid;
    if (ARG_U32(0) != (uint32_t)-1 &&
        id_allowed(t, ARG_U32(0), t->tg->uid, t->tg->euid, t->tg->suid))
        t->tg->fsuid = ARG_U32(0);
    return old;
}

FB_SYSCALL(setfsgid)
{
    uint32_t old = t->tg->fsgid;
    if (ARG_U32(0) != (uint32_t)-1 &&
        id_allowed(t, ARG_U32(0), t->tg->gid, t->tg->egid, t->tg->sgid))
        t->tg->fsgid = ARG_U32(0);
    return old;
}

FB_SYSCALL(getgroups)
{
    int size = ARG_INT(0), n = t->tg->ngroups;
    if (size < 0)
        return -EINVAL;
    if (size == 0)
        return n;
    if (size < n)
        return -EINVAL;
    return fb_mm_copy_out(t->mm, a[1], t->tg->groups, (size_t)n * 4) ? -EFAULT : n;
}

FB_SYSCALL(setgroups)
{
    int n = ARG_INT(0);
    uint32_t groups[32];
    if (!capable(t))
        return -EPERM;
    if (n < 0 || n > 32)
        return -EINVAL;
    if (n && fb_mm_copy_in(t->mm, a[1], groups, (size_t)n * 4) != 0)
        return -EFAULT;
    memcpy(t->tg->groups, groups, (size_t)n * 4);
    t->tg->ngroups = n;
    return 0;
}

FB_SYSCALL(capget)
{
    struct __user_cap_header_struct h;
    struct __user_cap_data_struct d[2];
    if (fb_mm_copy_in(t->mm, a[0], &h, sizeof(h)) != 0)
        return -EFAULT;
    if (h.version != _LINUX_CAPABILITY_VERSION_3 && h.version != _LINUX_CAPABILITY_VERSION_2 &&
        h.version != _LINUX_CAPABILITY_VERSION_1) {
        h.version = _LINUX_CAPABILITY_VERSION_3;
        fb_mm_copy_out(t->mm, a[0], &h, sizeof(h));
        return a[1] ? -EINVAL : 0;
    }
    if (!a[1])
        return 0;
    memset(d, 0, sizeof(d));
    if (t->tg->euid == 0) {
        /* root in the sandbox holds the capabilities the sandbox kernel honours. */
        d[0].effective = d[0].permitted = 0xffffffff;
        d[1].effective = d[1].permitted = 0x1ff;
    }
    return fb_mm_copy_out(t->mm, a[1], d,
                          h.version == _LINUX_CAPABILITY_VERSION_1 ? sizeof(d[0]) : sizeof(d))
               ? -EFAULT
               : 0;
}

FB_SYSCALL(capset)
{
    (void)a;
    return capable(t) ? 0 : -EPERM;
}

/* ---- process groups and sessions ---------------------------------------------------------------- */

FB_SYSCALL(getpgid)
{
    struct fb_thread_group *tg = ARG_INT(0) ? fb_tg_find_pid(ARG_INT(0)) : t->tg;
    if (ARG_INT(0) < 0)
        return -ESRCH;
    return tg ? tg->pgid : -ESRCH;
}

FB_SYSCALL(getpgrp)
{
    (void)a;
    return t->tg->pgid;
}

/* Is there a process (live or zombie) in process group pgid of session sid? */
static bool pgid_exists_in_session(int pgid, int sid)
{
    struct fb_list *pos;
    fb_list_for_each(pos, fb_tg_list())
    {
        struct fb_thread_group *g = fb_list_entry(pos, struct fb_thread_group, all_node);
        if (g->state != FB_TG_DEAD && g->pgid == pgid && g->sid == sid)
            return true;
    }
    return false;
}

/* setpgid, in Linux's order of checks: a child that exec'd gives EACCES, one in another session
 * EPERM, anything but ourselves and our children ESRCH. */
FB_SYSCALL(setpgid)
{
    int pid = ARG_INT(0), pgid = ARG_INT(1);
    struct fb_thread_group *tg;

    if (!pid)
        pid = t->tg->tgid;
    if (!pgid)
        pgid = pid;
    if (pgid < 0)
        return -EINVAL;
    tg = fb_tg_find_pid(pid);
    if (!tg)
        return -ESRCH;
    if (tg->tgid != pid)
        return -EINVAL; /* a thread that is not the process */
    if (tg->parent == t->tg) {
        if (tg->sid != t->tg->sid)
            return -EPERM;
        if (tg->did_exec)
            return -EACCES;
    } else if (tg != t->tg) {
        return -ESRCH;
    }
    if (tg->sid == tg->tgid)
        return -EPERM; /* a session leader cannot move */
    if (pgid != tg->tgid && !pgid_exists_in_session(pgid, t->tg->sid))
        return -EPERM;
    fb_pid_ref(pgid);
    fb_pid_unref(tg->pgid);
    tg->pgid = pgid;
    return 0;
}

FB_SYSCALL(getsid)
{
    struct fb_thread_group *tg = ARG_INT(0) ? fb_tg_find_pid(ARG_INT(0)) : t->tg;
    return tg ? tg->sid : -ESRCH;
}

FB_SYSCALL(setsid)
{
    struct fb_thread_group *tg = t->tg;
    struct fb_list *pos;
    (void)a;
    if (tg->pgid == tg->tgid)
        return -EPERM;
    fb_list_for_each(pos, fb_tg_list())
    {
        struct fb_thread_group *g = fb_list_entry(pos, struct fb_thread_group, all_node);
        if (g->state != FB_TG_DEAD && g->pgid == tg->tgid)
            return -EPERM;
    }
    fb_pid_ref(tg->tgid);
    fb_pid_ref(tg->tgid);
    fb_pid_unref(tg->pgid);
    fb_pid_unref(tg->sid);
    tg->pgid = tg->sid = tg->tgid;
    return tg->sid;
}

/* ---- limits and usage ----------------------------------------------------------------------------- */

static int64_t do_prlimit(struct fb_task *t, int pid, int res, uint64_t unew, uint64_t uold)
{
    struct fb_thread_group *tg = pid ? fb_tg_lookup(pid) : t->tg;
    struct rlimit nl;

    if (!tg)
        return -ESRCH;
    if (res < 0 || res >= RLIM_NLIMITS)
        return -EINVAL;
    if (unew) {
        if (fb_mm_copy_in(t->mm, unew, &nl, sizeof(nl)) != 0)
            return -EFAULT;
        if (nl.rlim_cur > nl.rlim_max)
            return -EINVAL;
        if (nl.rlim_max > tg->rlim[res].rlim_max && !capable(t))
            return -EPERM;
        if (res == RLIMIT_NOFILE && nl.rlim_max > 1048576)
            return -EPERM;
    }
    if (uold && fb_mm_copy_out(t->mm, uold, &tg->rlim[res], sizeof(struct rlimit)) != 0)
        return -EFAULT;
    if (unew) {
        tg->rlim[res] = nl;
        if (res == RLIMIT_STACK && tg == t->tg && t->mm)
            t->mm->stack_limit = nl.rlim_cur == RLIM_INFINITY ? (1ull << 30) : nl.rlim_cur;
    }
    return 0;
}

FB_SYSCALL(prlimit64)
{
    return do_prlimit(t, ARG_INT(0), ARG_INT(1), a[2], a[3]);
}
FB_SYSCALL(getrlimit)
{
    return do_prlimit(t, 0, ARG_INT(0), 0, a[1]);
}
FB_SYSCALL(setrlimit)
{
    return do_prlimit(t, 0, ARG_INT(0), a[1], 0);
}

static struct timeval ns_to_tv(int64_t ns)
{
    struct timeval tv = {ns / 1000000000, (ns % 1000000000) / 1000};
    return tv;
}

FB_SYSCALL(getrusage)
{
    struct rusage ru;
    int who = ARG_INT(0);
    memset(&ru, 0, sizeof(ru));
    switch (who) {
    case RUSAGE_SELF:
        ru.ru_utime = ns_to_tv(t->tg->utime_ns);
        ru.ru_stime = ns_to_tv(t->tg->stime_ns);
        break;
    case RUSAGE_THREAD:
        ru.ru_utime = ns_to_tv(t->utime_ns);
        ru.ru_stime = ns_to_tv(t->stime_ns);
        break;
    case RUSAGE_CHILDREN:
        ru.ru_utime = ns_to_tv(t->tg->child_utime_ns);
        ru.ru_stime = ns_to_tv(t->tg->child_stime_ns);
        break;
    default:
        return -EINVAL;
    }
    ru.ru_maxrss = (long)(t->mm ? t->mm->resident * 4 : 0);
    return fb_mm_copy_out(t->mm, a[1], &ru, sizeof(ru)) ? -EFAULT : 0;
}

FB_SYSCALL(times)
{
    struct tms tm;
    int64_t ticks = (fb_app_mono_ns() - fb_k->boot_mono_ns) / 10000000;
    tm.tms_utime = t->tg->utime_ns / 10000000;
    tm.tms_stime = t->tg->stime_ns / 10000000;
    tm.tms_cutime = t->tg->child_utime_ns / 10000000;
    tm.tms_cstime = t->tg->child_stime_ns / 10000000;
    if (a[0] && fb_mm_copy_out(t->mm, a[0], &tm, sizeof(tm)) != 0)
        return -EFAULT;
    return ticks;
}

/* ---- scheduling ------------------------------------------------------------------------------------ */

FB_SYSCALL(sched_yield)
{
    (void)t;
    (void)a;
    fb_kernel_unlock();
    sched_yield();
    fb_kernel_lock();
    return 0;
}

/* Host facts are read once at boot (fb_procfs_host_init): after the lock-down the Sentry may not
 * open /sys or /proc, which sysconf(_SC_NPROCESSORS_ONLN) would. */
static int online_cpus(void)
{
    return FB_MIN(fb_procfs_ncpus(), 1024);
}

/* The task a scheduling call names (0 = the caller), or NULL. */
static struct fb_task *sched_target(struct fb_task *t, int pid)
{
    return pid ? fb_task_lookup(pid) : t;
}

/* Affinity of o: its mask, or every online CPU when it never set one. */
static void affinity_of(const struct fb_task *o, uint64_t mask[16])
{
    int n = online_cpus(), i;
    bool set = false;

    for (i = 0; i < 16; i++)
        set |= o->affinity[i] != 0;
    if (set) {
        memcpy(mask, o->affinity, 16 * sizeof(uint64_t));
        return;
    }
    memset(mask, 0, 16 * sizeof(uint64_t));
    for (i = 0; i < n; i++)
        mask[i / 64] |= 1ull << (i % 64);
}

FB_SYSCALL(sched_getaffinity)
{
    uint64_t mask[16];
    size_t len = (size_t)a[1], need;
    int n = online_cpus();
    struct fb_task *o = sched_target(t, ARG_INT(0));

    if (!o)
        return -ESRCH;
    need = (size_t)((n + 63) / 64) * 8;
    if (len < need || (len & 7))
        return -EINVAL;
    affinity_of(o, mask);
    len = FB_MIN(len, sizeof(mask));
    return fb_mm_copy_out(t->mm, a[2], mask, len) ? -EFAULT : (int64_t)len;
}

FB_SYSCALL(sched_setaffinity)
{
    uint64_t mask[16] = {0}, online[16] = {0};
    size_t len = FB_MIN((size_t)a[1], sizeof(mask));
    struct fb_task *o = sched_target(t, ARG_INT(0));
    int n = online_cpus(), i;
    bool any = false;

    if (!o)
        return -ESRCH;
    if (fb_mm_copy_in(t->mm, a[2], mask, len) != 0)
        return -EFAULT;
    for (i = 0; i < n; i++)
        online[i / 64] |= 1ull << (i % 64);
    for (i = 0; i < 16; i++) {
        mask[i] &= online[i];
        any |= mask[i] != 0;
    }
    if (!any)
        return -EINVAL; /* no online CPU left in the mask */
    /* Recorded and reported back; the sandbox schedules its tasks itself. */
    memcpy(o->affinity, mask, sizeof(mask));
    return 0;
}

static bool valid_policy(int policy)
{
    return policy == SCHED_OTHER || policy == SCHED_BATCH || policy == SCHED_IDLE ||
           policy == SCHED_FIFO || policy == SCHED_RR;
}

FB_SYSCALL(sched_getscheduler)
{
    struct fb_task *o;
    if (ARG_INT(0) < 0)
        return -EINVAL;
    o = sched_target(t, ARG_INT(0));
    return o ? o->sched_policy : -ESRCH;
}

/* Set the policy of pid (sched_setscheduler, or the current policy for sched_setparam). The
 * real-time policies are refused (EPERM): the sandbox gives no real-time scheduling. */
static int64_t set_scheduler(struct fb_task *t, int pid, int policy, uint64_t uparam,
                             bool keep_policy)
{
    struct fb_task *o;
    int prio;

    if (pid < 0 || !uparam)
        return -EINVAL;
    if (fb_mm_copy_in(t->mm, uparam, &prio, sizeof(prio)) != 0)
        return -EFAULT;
    o = sched_target(t, pid);
    if (!o)
        return -ESRCH;
    if (keep_policy)
        policy = o->sched_policy;
    policy &= ~SCHED_RESET_ON_FORK;
    if (!valid_policy(policy))
        return -EINVAL;
    if (policy == SCHED_FIFO || policy == SCHED_RR)
        return prio < 1 || prio > 99 ? -EINVAL : -EPERM;
    if (prio != 0)
        return -EINVAL;
    o->sched_policy = policy;
    return 0;
}

FB_SYSCALL(sched_setscheduler)
{
    return set_scheduler(t, ARG_INT(0), ARG_INT(1), a[2], false);
}

FB_SYSCALL(sched_setparam)
{
    return set_scheduler(t, ARG_INT(0), 0, a[1], true);
}

FB_SYSCALL(sched_getparam)
{
    int prio = 0;
    if (ARG_INT(0) < 0 || !a[1])
        return -EINVAL;
    if (!sched_target(t, ARG_INT(0)))
        return -ESRCH;
    return fb_mm_copy_out(t->mm, a[1], &prio, sizeof(prio)) ? -EFAULT : 0;
}

FB_SYSCALL(sched_get_priority_max)
{
    (void)t;
    if (!valid_policy(ARG_INT(0)) && ARG_INT(0) != 6 /* SCHED_DEADLINE */)
        return -EINVAL;
    return (ARG_INT(0) == SCHED_FIFO || ARG_INT(0) == SCHED_RR) ? 99 : 0;
}

FB_SYSCALL(sched_get_priority_min)
{
    (void)t;
    if (!valid_policy(ARG_INT(0)) && ARG_INT(0) != 6 /* SCHED_DEADLINE */)
        return -EINVAL;
    return (ARG_INT(0) == SCHED_FIFO || ARG_INT(0) == SCHED_RR) ? 1 : 0;
}

FB_SYSCALL(sched_rr_get_interval)
{
    struct timespec ts = {0, 100000000};
    if (ARG_INT(0) < 0)
        return -EINVAL;
    if (!sched_target(t, ARG_INT(0)))
        return -ESRCH;
    return fb_mm_copy_out(t->mm, a[1], &ts, sizeof(ts)) ? -EFAULT : 0;
}

/* Does task o fall under (which, who) for getpriority/setpriority? who 0 means the caller's own
 * thread, process group or user. */
static bool prio_matches(struct fb_task *t, struct fb_task *o, int which, int who)
{
    switch (which) {
    case PRIO_PROCESS:
        return o->tid == (who ? who : t->tid);
    case PRIO_PGRP:
        return o->tg->pgid == (who ? who : t->tg->pgid);
    case PRIO_USER:
        return o->tg->uid == (uint32_t)(who ? who : (int)t->tg->uid);
    default:
        return false;
    }
}

/* Set o's nice on behalf of t: EPERM for another user's task, EACCES for lowering it beyond
 * what RLIMIT_NICE allows (Linux set_one_prio). */
static int prio_set_one(struct fb_task *t, struct fb_task *o, int nice)
{
    rlim_t lim = t->tg->rlim[RLIMIT_NICE].rlim_cur;
    if (!capable(t) && t->tg->euid != o->tg->uid && t->tg->euid != o->tg->euid)
        return -EPERM;
    /* Lowering nice needs privilege or RLIMIT_NICE (as 20 - nice) high enough. */
    if (nice < o->nice && !capable(t) && lim != RLIM_INFINITY && (rlim_t)(20 - nice) > lim)
        return -EACCES;
    o->nice = nice;
    return 0;
}

FB_SYSCALL(getpriority)
{
    struct fb_list *pos;
    int which = ARG_INT(0), who = ARG_INT(1), best = 0;

    if (which != PRIO_PROCESS && which != PRIO_PGRP && which != PRIO_USER)
        return -EINVAL;
    fb_list_for_each(pos, &fb_k->tasks)
    {
        struct fb_task *o = fb_list_entry(pos, struct fb_task, knode);
        if (o->state == FB_TASK_EXITED || !o->tg || !prio_matches(t, o, which, who))
            continue;
        best = FB_MAX(best, 20 - o->nice); /* the kernel's 40..1 encoding of nice -20..19 */
    }
    return best ? best : -ESRCH;
}

FB_SYSCALL(setpriority)
{
    int which = ARG_INT(0), who = ARG_INT(1), nice = ARG_INT(2), err = 0, n = 0;
    struct fb_list *pos;

    if (which != PRIO_PROCESS && which != PRIO_PGRP && which != PRIO_USER)
        return -EINVAL;
    nice = FB_MIN(FB_MAX(nice, -20), 19);
    fb_list_for_each(pos, &fb_k->tasks)
    {
        struct fb_task *o = fb_list_entry(pos, struct fb_task, knode);
        int r;
        if (o->state == FB_TASK_EXITED || !o->tg || !prio_matches(t, o, which, who))
            continue;
        n++;
        r = prio_set_one(t, o, nice);
        if (r < 0)
            err = r;
    }
    return n ? err : -ESRCH;
}

FB_SYSCALL(getcpu)
{
    unsigned cpu = (unsigned)sched_getcpu(), node = 0;
    uint64_t mask[16];

    /* Report a CPU of the task's affinity mask (the host thread is not pinned to it). */
    affinity_of(t, mask);
    if (cpu >= 1024 || !(mask[cpu / 64] & (1ull << (cpu % 64)))) {
        for (cpu = 0; cpu < 1023 && !(mask[cpu / 64] & (1ull << (cpu % 64))); cpu++)
            ;
    }
    if (a[0] && fb_mm_copy_out(t->mm, a[0], &cpu, 4))
        return -EFAULT;
    if (a[1] && fb_mm_copy_out(t->mm, a[1], &node, 4))
        return -EFAULT;
    return 0;
}

/* ---- arch and prctl ---------------------------------------------------------------------------------- */

FB_SYSCALL(arch_prctl)
{
    switch (ARG_INT(0)) {
    case ARCH_SET_FS:
        if (a[1] >= FB_TASK_SIZE)
            return -EPERM;
        t->cpu.regs.fs_base = a[1];
        return 0;
    case ARCH_GET_FS:
        return fb_mm_copy_out(t->mm, a[1], &t->cpu.regs.fs_base, 8) ? -EFAULT : 0;
    case ARCH_SET_GS:
        if (a[1] >= FB_TASK_SIZE)
            return -EPERM;
        t->cpu.regs.gs_base = a[1];
        return 0;
    case ARCH_GET_GS:
        return fb_mm_copy_out(t->mm, a[1], &t->cpu.regs.gs_base, 8) ? -EFAULT : 0;
    case ARCH_GET_CPUID:
        return 1;
    case ARCH_SET_CPUID:
        return -ENODEV;
    default:
        return -EINVAL;
    }
}

FB_SYSCALL(prctl)
{
    int op = ARG_INT(0);
    switch (op) {
    case PR_SET_NAME: {
        char name[16];
        int64_t n = fb_mm_copy_string_in(t->mm, a[1], name, sizeof(name));
        if (n == -EFAULT)
            return -EFAULT;
        if (n == -ENAMETOOLONG) {
            if (fb_mm_copy_in(t->mm, a[1], name, 15) != 0)
                return -EFAULT;
        }
        name[15] = 0;
        memcpy(t->comm, name, 16);
        return 0;
    }
    case PR_GET_NAME:
        return fb_mm_copy_out(t->mm, a[1], t->comm, 16) ? -EFAULT : 0;
    case PR_SET_PDEATHSIG:
        if (a[1] > 64)
            return -EINVAL;
        t->pdeath_signal = (int)a[1];
        return 0;
    case PR_GET_PDEATHSIG: {
        int sig = t->pdeath_signal;
        return fb_mm_copy_out(t->mm, a[1], &sig, 4) ? -EFAULT : 0;
    }
    case PR_SET_DUMPABLE:
        if (a[1] > 1) /* SUID_DUMP_ROOT (2) is not settable through prctl */
            return -EINVAL;
        t->tg->dumpable = (int)a[1];
        return 0;
    case PR_GET_DUMPABLE:
        return t->tg->dumpable;
    case PR_SET_NO_NEW_PRIVS:
        if (a[1] != 1 || a[2] || a[3] || a[4])
            return -EINVAL;
        t->no_new_privs = true;
        return 0;
    case PR_GET_NO_NEW_PRIVS:
        if (a[1] || a[2] || a[3] || a[4])
            return -EINVAL;
        return t->no_new_privs;
    case PR_SET_KEEPCAPS:
        return a[1] > 1 ? -EINVAL : 0;
    case PR_GET_KEEPCAPS:
        return 0;
    case PR_SET_CHILD_SUBREAPER:
        t->tg->child_subreaper = a[1] != 0;
        return 0;
    case PR_GET_CHILD_SUBREAPER: {
        int v = t->tg->child_subreaper;
        return fb_mm_copy_out(t->mm, a[1], &v, 4) ? -EFAULT : 0;
    }
    case PR_SET_TIMERSLACK:
    case PR_SET_THP_DISABLE:
        return 0;
    case PR_GET_TIMERSLACK:
        return 50000;
    case PR_GET_THP_DISABLE:
        return 0;
    case PR_CAPBSET_READ:
        return a[1] <= 40 ? 1 : -EINVAL;
    case PR_GET_SECCOMP:
        return 0; /* seccomp mode disabled: the application never has a filter */
    case PR_SET_SECCOMP:
        return -EINVAL; /* seccomp inside the sandbox is not supported */
    case PR_SET_VMA:
        return 0;
    default:
        return -EINVAL;
    }
}

FB_SYSCALL(personality)
{
    (void)t;
    if (a[0] == 0xffffffffu)
        return 0;
    return a[0] == 0 ? 0 : -EINVAL;
}

/* ---- system information -------------------------------------------------------------------------------- */

FB_SYSCALL(uname)
{
    struct utsname u;
    memset(&u, 0, sizeof(u));
    strcpy(u.sysname, "Linux");
    snprintf(u.nodename, sizeof(u.nodename), "%s", fb_k->hostname);
    strcpy(u.release, FB_UNAME_RELEASE);
    strcpy(u.version, FB_UNAME_VERSION);
    strcpy(u.machine, "x86_64");
    snprintf(u.domainname, sizeof(u.domainname), "%s", fb_k->domainname);
    return fb_mm_copy_out(t->mm, a[0], &u, sizeof(u)) ? -EFAULT : 0;
}

static int64_t set_name(struct fb_task *t, char *dst, uint64_t uname, int64_t len)
{
    char buf[65];
    if (!capable(t))
        return -EPERM;
    if (len < 0 || len > 64)
        return -EINVAL;
    if (fb_mm_copy_in(t->mm, uname, buf, (size_t)len) != 0)
        return -EFAULT;
    buf[len] = 0;
    memcpy(dst, buf, (size_t)len + 1);
    return 0;
}

FB_SYSCALL(sethostname)
{
    return set_name(t, fb_k->hostname, a[0], (int64_t)a[1]);
}

FB_SYSCALL(setdomainname)
{
    return set_name(t, fb_k->domainname, a[0], (int64_t)a[1]);
}

FB_SYSCALL(sysinfo)
{
    struct sysinfo si;
    memset(&si, 0, sizeof(si));
    si.uptime = (long)((fb_app_mono_ns() - fb_k->boot_mono_ns) / 1000000000);
    si.totalram = fb_k->opts.memory_limit ? fb_k->opts.memory_limit : fb_procfs_host_mem();
    si.freeram = si.totalram > fb_k->mf.used_pages * 4096
                     ? si.totalram - fb_k->mf.used_pages * 4096
                     : 0;
    si.procs = (unsigned short)FB_MIN(fb_k->nr_tasks, 65535);
    si.mem_unit = 1;
    return fb_mm_copy_out(t->mm, a[0], &si, sizeof(si)) ? -EFAULT : 0;
}

FB_SYSCALL(getrandom)
{
    uint8_t buf[4096];
    size_t len = (size_t)FB_MIN(a[1], (uint64_t)INT32_MAX), done = 0;
    unsigned flags = ARG_U32(2);

    if (flags & ~(unsigned)(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE))
        return -EINVAL;
    if ((flags & (GRND_RANDOM | GRND_INSECURE)) == (GRND_RANDOM | GRND_INSECURE))
        return -EINVAL; /* contradictory */
    while (done < len) {
        size_t n = FB_MIN(len - done, sizeof(buf));
        /* Fresh host randomness every time: clones of one image never share it. */
        ssize_t got = getrandom(buf, n, 0);
        if (got <= 0)
            return done ? (int64_t)done : -EIO;
        if (fb_mm_copy_out(t->mm, a[0] + done, buf, (size_t)got) != 0)
            return done ? (int64_t)done : -EFAULT;
        done += (size_t)got;
        if (done >= 256 && len > 256 && fb_signal_pending(t))
            break; /* large requests may be interrupted, like Linux */
    }
    return (int64_t)done;
}

FB_SYSCALL(restart_syscall)
{
    /* fnbox restarts interrupted calls by re-executing them (their deadlines are kept by
     * fb_task_deadline), so no restart block is ever pending here. */
    (void)t;
    (void)a;
    return -EINTR;
}
