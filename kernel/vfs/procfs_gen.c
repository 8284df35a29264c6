/* procfs content generators: the text of /proc files, built from kernel state only (plus CPUID,
 * sysinfo(2) and sched_getaffinity(2) for the host facts). The tree and file ops are procfs.c. */
#include "kernel/vfs/procfs.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <x86intrin.h>

#include "kernel/kernel.h"
#include "kernel/mm/mm.h"
#include "kernel/task/task.h"
#include "kernel/util/cleanup.h"

/* ---- buffer ---------------------------------------------------------------------------------- */

static bool pbuf_reserve(struct fb_pbuf *b, size_t extra)
{
    size_t need, cap;
    char *n;

    if (b->oom)
        return false;
    if (extra > SIZE_MAX - b->len - 1)
        goto oom;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    cap = b->cap ? b->cap : 1024;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    n = realloc(b->data, cap);
    if (!n)
        goto oom;
    b->data = n;
    b->cap = cap;
    return true;
oom:
    b->oom = true;
    return false;
}

void fb_pbuf_write(struct fb_pbuf *b, const void *p, size_t n)
{
    if (!pbuf_reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

void fb_pbuf_printf(struct fb_pbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!pbuf_reserve(b, 128))
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        if (!pbuf_reserve(b, (size_t)n))
            return;
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void fb_pbuf_reset(struct fb_pbuf *b)
{
    b->len = 0;
    b->oom = false;
    if (b->data)
        b->data[0] = 0;
}

void fb_pbuf_free(struct fb_pbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

static int pbuf_result(const struct fb_pbuf *b)
{
    return b->oom ? -ENOMEM : 0;
}

/* ---- helpers --------------------------------------------------------------------------------- */

static uint64_t ns_to_ticks(int64_t ns)
{
    return ns > 0 ? (uint64_t)ns / (1000000000ull / FB_PROCFS_HZ) : 0;
}

/* CPU time of a process: time of its exited threads (kept in the group) plus its live threads. */
static void tg_cpu_ns(struct fb_thread_group *tg, int64_t *utime, int64_t *stime)
{
    struct fb_list *pos;
    *utime = tg->utime_ns;
    *stime = tg->stime_ns;
    fb_list_for_each(pos, &tg->threads)
    {
        struct fb_task *t = fb_list_entry(pos, struct fb_task, tg_node);
        *utime += t->utime_ns;
        *stime += t->stime_ns;
    }
}

static char task_state_char(struct fb_thread_group *tg, struct fb_task *t)
{
    if (tg->state != FB_TG_LIVE || !t)
        return 'Z';
    if (t->state == FB_TASK_EXITED)
        return 'X';
    if (tg->stopped)
        return 'T';
    if (t->state == FB_TASK_SLEEPING)
        return 'S';
    return 'R';
}

static const char *task_state_name(char c)
{
    switch (c) {
    case 'R':
        return "R (running)";
    case 'S':
        return "S (sleeping)";
    case 'T':
        return "T (stopped)";
    case 'X':
        return "X (dead)";
    default:
        return "Z (zombie)";
    }
}

static void task_comm(const struct fb_task *t, char out[17])
{
    size_t n = t ? strnlen(t->comm, sizeof(t->comm)) : 0;
    if (n)
        memcpy(out, t->comm, n);
    out[n] = 0;
}

static void sig_masks(struct fb_thread_group *tg, uint64_t *ign, uint64_t *cgt)
{
    int i;
    *ign = *cgt = 0;
    if (!tg->sighand)
        return;
    for (i = 0; i < 64; i++) {
        uint64_t h = tg->sighand->action[i].handler;
        if (h == (uint64_t)(uintptr_t)SIG_IGN)
            *ign |= 1ull << i;
        else if (h != (uint64_t)(uintptr_t)SIG_DFL)
            *cgt |= 1ull << i;
    }
}

/* Resident pages of mm in [start, end). */
static uint64_t resident_in(const struct fb_mm *mm, uint64_t start, uint64_t end)
{
    uint64_t idx = start >> FB_PAGE_SHIFT, stop = end >> FB_PAGE_SHIFT, found, val, n = 0;
    while (idx < stop && fb_radix_next(&mm->pt, idx, stop, &found, &val)) {
        n++;
        idx = found + 1;
    }
    return n;
}

/* Is vma a mapping of the main executable? */
static bool vma_is_exe(const struct fb_mm *mm, const struct fb_vma *v)
{
    return mm->exe && v->name && v->map && strcmp(v->name, mm->exe) == 0;
}

struct mm_usage {
    uint64_t size, exe, lib, data, stack; /* bytes */
    uint64_t rss, rss_anon, rss_file;     /* pages */
    uint64_t start_code, end_code;
};

static void mm_usage(const struct fb_mm *mm, struct mm_usage *u)
{
    size_t i;
    memset(u, 0, sizeof(*u));
    if (!mm)
        return;
    for (i = 0; i < mm->vmas.n; i++) {
        const struct fb_vma *v = &mm->vmas.v[i];
        uint64_t len = v->end - v->start;
        u->size += len;
        if (v->flags & (FB_VMA_STACK | FB_VMA_GROWSDOWN))
            u->stack += len;
        else if ((v->prot & PROT_WRITE) && !(v->flags & FB_VMA_SHARED))
            u->data += len;
        if (v->prot & PROT_EXEC) {
            if (vma_is_exe(mm, v)) {
                u->exe += len;
                if (!u->start_code)
                    u->start_code = v->start;
                u->end_code = v->end;
            } else {
                u->lib += len;
            }
        }
        if (v->map)
            u->rss_file += resident_in(mm, v->start, v->end);
    }
    u->rss = mm->resident;
    u->rss_anon = u->rss > u->rss_file ? u->rss - u->rss_file : 0;
}

static int sigqueue_len(const struct fb_sigpending *p)
{
    const struct fb_list *pos;
    int n = 0;
    for (pos = p->list.next; pos && pos != &p->list; pos = pos->next)
        n++;
    return n;
}

/* ---- /proc/<pid>/stat, status, statm --------------------------------------------------------- */

int fb_procfs_gen_stat(struct fb_pbuf *b, struct fb_thread_group *tg, struct fb_task *t,
                       bool thread)
{
    struct fb_mm *mm = t ? t->mm : NULL;
    struct mm_usage u;
    char comm[17];
    int64_t ut, st;
    uint64_t ign, cgt, start;

    mm_usage(mm, &u);
    task_comm(t, comm);
    sig_masks(tg, &ign, &cgt);
    if (thread && t) {
        ut = t->utime_ns;
        st = t->stime_ns;
    } else {
        tg_cpu_ns(tg, &ut, &st);
    }
    start = ns_to_ticks(tg->start_mono_ns - (fb_k ? fb_k->boot_mono_ns : 0));
    /* 1-13: pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt */
    fb_pbuf_printf(b, "%d (%s) %c %d %d %d 0 -1 %u 0 0 0 0 ", thread && t ? t->tid : tg->tgid, comm,
                   task_state_char(tg, t), tg->parent ? tg->parent->tgid : 0, tg->pgid, tg->sid,
                   0x400000u /* PF_RANDOMIZE: what Linux shows for user processes */);
    /* 14-22: utime stime cutime cstime priority nice num_threads itrealvalue starttime */
    fb_pbuf_printf(b, "%llu %llu %llu %llu 20 0 %d 0 %llu ", (unsigned long long)ns_to_ticks(ut),
                   (unsigned long long)ns_to_ticks(st),
                   (unsigned long long)ns_to_ticks(tg->child_utime_ns),
                   (unsigned long long)ns_to_ticks(tg->child_stime_ns), tg->live_threads,
                   (unsigned long long)start);
    /* 23-30: vsize rss rsslim startcode endcode startstack kstkesp kstkeip */
    fb_pbuf_printf(b, "%llu %llu %llu %llu %llu %llu 0 0 ", (unsigned long long)u.size,
                   (unsigned long long)u.rss, (unsigned long long)tg->rlim[RLIMIT_RSS].rlim_cur,
                   (unsigned long long)(mm ? u.start_code : 0),
                   (unsigned long long)(mm ? u.end_code : 0),
                   (unsigned long long)(mm ? mm->stack_start : 0));
    /* 31-34: signal blocked sigignore sigcatch (decimal, 31 bits: Linux 2.0 compatibility) */
    fb_pbuf_printf(
        b, "%llu %llu %llu %llu ", (unsigned long long)((t ? t->pending.mask : 0) & 0x7fffffffull),
        (unsigned long long)((t ? t->blocked : 0) & 0x7fffffffull),
        (unsigned long long)(ign & 0x7fffffffull), (unsigned long long)(cgt & 0x7fffffffull));
    /* 35-44: wchan nswap cnswap exit_signal processor rt_priority policy delayacct_blkio_ticks
     * guest_time cguest_time */
    fb_pbuf_printf(b, "0 0 0 %d 0 0 0 0 0 0 ", tg->exit_signal);
    /* 45-52: start_data end_data start_brk arg_start arg_end env_start env_end exit_code */
    fb_pbuf_printf(
        b, "0 0 %llu %llu %llu %llu %llu %d\n", (unsigned long long)(mm ? mm->brk_start : 0),
        (unsigned long long)(mm ? mm->arg_start : 0), (unsigned long long)(mm ? mm->arg_end : 0),
        (unsigned long long)(mm ? mm->env_start : 0), (unsigned long long)(mm ? mm->env_end : 0),
        tg->state == FB_TG_LIVE ? 0 : tg->exit_status);
    return pbuf_result(b);
}

/* A CPU bitmap as Linux prints it (%*pb): 32-bit groups, most significant first. */
static void print_cpumask(struct fb_pbuf *b, int ncpus)
{
    int groups = (ncpus + 31) / 32, g;
    for (g = groups - 1; g >= 0; g--) {
        int bits = ncpus - g * 32;
        uint32_t m = bits >= 32 ? 0xffffffffu : (1u << bits) - 1;
        if (g == groups - 1)
            fb_pbuf_printf(b, "%0*x", ((bits > 32 ? 32 : bits) + 3) / 4, m);
        else
            fb_pbuf_printf(b, ",%08x", m);
    }
}

static void print_kb(struct fb_pbuf *b, const char *label, uint64_t bytes)
{
    fb_pbuf_printf(b, "%s:\t%8llu kB\n", label, (unsigned long long)(bytes >> 10));
}

static void print_name_escaped(struct fb_pbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\n')
            fb_pbuf_write(b, "\\n", 2);
        else if (*s == '\\')
            fb_pbuf_write(b, "\\\\", 2);
        else
            fb_pbuf_write(b, s, 1);
    }
}

int fb_procfs_gen_status(struct fb_pbuf *b, struct fb_thread_group *tg, struct fb_task *t,
                         bool thread)
{
    struct fb_mm *mm = t ? t->mm : NULL;
    char comm[17], state = task_state_char(tg, t);
    uint64_t ign, cgt, caps;
    int i, ncpus = fb_procfs_ncpus(), pid = thread && t ? t->tid : tg->tgid;
    int fdsize = t && t->files ? t->files->size : 0;

    task_comm(t, comm);
    sig_masks(tg, &ign, &cgt);
    fb_pbuf_printf(b, "Name:\t");
    print_name_escaped(b, comm);
    fb_pbuf_printf(b, "\n");
    if (t && t->fs)
        fb_pbuf_printf(b, "Umask:\t%04o\n", (unsigned)t->fs->umask);
    fb_pbuf_printf(b, "State:\t%s\n", task_state_name(state));
    fb_pbuf_printf(b, "Tgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\n", tg->tgid, pid,
                   tg->parent ? tg->parent->tgid : 0);
    fb_pbuf_printf(b, "Uid:\t%u\t%u\t%u\t%u\n", tg->uid, tg->euid, tg->suid, tg->fsuid);
    fb_pbuf_printf(b, "Gid:\t%u\t%u\t%u\t%u\n", tg->gid, tg->egid, tg->sgid, tg->fsgid);
    fb_pbuf_printf(b, "FDSize:\t%d\nGroups:\t", fdsize < 64 ? 64 : fdsize);
    for (i = 0; i < tg->ngroups && i < (int)FB_ARRAY_SIZE(tg->groups); i++)
        fb_pbuf_printf(b, "%s%u", i ? " " : "", tg->groups[i]);
    fb_pbuf_printf(b, " \n");
    fb_pbuf_printf(b, "NStgid:\t%d\nNSpid:\t%d\nNSpgid:\t%d\nNSsid:\t%d\n", tg->tgid, pid, tg->pgid,
                   tg->sid);
    if (mm) {
        struct mm_usage u;
        mm_usage(mm, &u);
        print_kb(b, "VmPeak", u.size);
        print_kb(b, "VmSize", u.size);
        print_kb(b, "VmLck", 0);
        print_kb(b, "VmPin", 0);
        print_kb(b, "VmHWM", u.rss * FB_PAGE_SIZE);
        print_kb(b, "VmRSS", u.rss * FB_PAGE_SIZE);
        print_kb(b, "RssAnon", u.rss_anon * FB_PAGE_SIZE);
        print_kb(b, "RssFile", u.rss_file * FB_PAGE_SIZE);
        print_kb(b, "RssShmem", 0);
        print_kb(b, "VmData", u.data);
        print_kb(b, "VmStk", u.stack);
        print_kb(b, "VmExe", u.exe);
        print_kb(b, "VmLib", u.lib);
        /* Page tables: one 4 KiB table per 2 MiB mapped, roughly. */
        print_kb(b, "VmPTE", ((u.size >> 21) + 1) * 4096);
        print_kb(b, "VmSwap", 0);
        fb_pbuf_printf(b, "HugetlbPages:\t%8d kB\n", 0);
        fb_pbuf_printf(b, "CoreDumping:\t0\nTHP_enabled:\t1\n");
    }
    fb_pbuf_printf(b, "Threads:\t%d\n", tg->live_threads);
    fb_pbuf_printf(b, "SigQ:\t%d/%llu\n",
                   sigqueue_len(&tg->shared_pending) + (t ? sigqueue_len(&t->pending) : 0),
                   (unsigned long long)tg->rlim[RLIMIT_SIGPENDING].rlim_cur);
    fb_pbuf_printf(b, "SigPnd:\t%016llx\nShdPnd:\t%016llx\nSigBlk:\t%016llx\n",
                   (unsigned long long)(t ? t->pending.mask : 0),
                   (unsigned long long)tg->shared_pending.mask,
                   (unsigned long long)(t ? t->blocked : 0));
    fb_pbuf_printf(b, "SigIgn:\t%016llx\nSigCgt:\t%016llx\n", (unsigned long long)ign,
                   (unsigned long long)cgt);
    /* The Sentry grants root every capability inside the sandbox and nobody else any. */
    caps = tg->euid == 0 ? (1ull << (FB_PROCFS_CAP_LAST_CAP + 1)) - 1 : 0;
    fb_pbuf_printf(b, "CapInh:\t%016llx\nCapPrm:\t%016llx\nCapEff:\t%016llx\n", 0ull,
                   (unsigned long long)caps, (unsigned long long)caps);
    fb_pbuf_printf(b, "CapBnd:\t%016llx\nCapAmb:\t%016llx\n",
                   (unsigned long long)((1ull << (FB_PROCFS_CAP_LAST_CAP + 1)) - 1), 0ull);
    fb_pbuf_printf(b, "NoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n");
    fb_pbuf_printf(b, "Speculation_Store_Bypass:\tthread vulnerable\n");
    fb_pbuf_printf(b, "SpeculationIndirectBranch:\tconditional enabled\n");
    fb_pbuf_printf(b, "Cpus_allowed:\t");
    print_cpumask(b, ncpus);
    if (ncpus > 1)
        fb_pbuf_printf(b, "\nCpus_allowed_list:\t0-%d\n", ncpus - 1);
    else
        fb_pbuf_printf(b, "\nCpus_allowed_list:\t0\n");
    fb_pbuf_printf(b, "Mems_allowed:\t00000001\nMems_allowed_list:\t0\n");
    fb_pbuf_printf(b, "voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n");
    return pbuf_result(b);
}

int fb_procfs_gen_statm(struct fb_pbuf *b, struct fb_mm *mm)
{
    struct mm_usage u;
    mm_usage(mm, &u);
    /* size resident shared text lib data dt, in pages */
    fb_pbuf_printf(b, "%llu %llu %llu %llu 0 %llu 0\n", (unsigned long long)(u.size / FB_PAGE_SIZE),
                   (unsigned long long)u.rss, (unsigned long long)u.rss_file,
                   (unsigned long long)(u.exe / FB_PAGE_SIZE),
                   (unsigned long long)((u.data + u.stack) / FB_PAGE_SIZE));
    return pbuf_result(b);
}

/* ---- /proc/<pid>/maps ------------------------------------------------------------------------ */

int fb_procfs_gen_maps(struct fb_pbuf *b, struct fb_mm *mm)
{
    size_t i;

    if (!mm)
        return 0;
    for (i = 0; i < mm->vmas.n; i++) {
        const struct fb_vma *v = &mm->vmas.v[i];
        const char *name = NULL;
        size_t start = b->len, len;

        if (v->flags & FB_VMA_HEAP)
            name = "[heap]";
        else if (v->flags & FB_VMA_STACK)
            name = "[stack]";
        else if (v->name && v->name[0])
            name = v->name;
        /* Linux: "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu ", then for a named mapping pad to
         * 72 columns (25 + 6 * sizeof(void *) - 1), one space and the name. Device and inode
         * are not recorded in the VMA: shown as 00:00 0. */
        fb_pbuf_printf(b, "%08llx-%08llx %c%c%c%c %08llx %02x:%02x %lu ",
                       (unsigned long long)v->start, (unsigned long long)v->end,
                       (v->prot & PROT_READ) ? 'r' : '-', (v->prot & PROT_WRITE) ? 'w' : '-',
                       (v->prot & PROT_EXEC) ? 'x' : '-', (v->flags & FB_VMA_SHARED) ? 's' : 'p',
                       (unsigned long long)(v->map ? v->off : 0), 0, 0, 0ul);
        if (name) {
            len = b->len - start;
            if (len < 72)
                fb_pbuf_printf(b, "%*s", (int)(72 - len), "");
            fb_pbuf_printf(b, " ");
            /* A newline in a file name would split the line: escape it like Linux does. */
            for (; *name; name++) {
                if (*name == '\n')
                    fb_pbuf_write(b, "\\012", 4);
                else
                    fb_pbuf_write(b, name, 1);
            }
        }
        fb_pbuf_write(b, "\n", 1);
    }
    return pbuf_result(b);
}

/* ---- cmdline, environ, auxv ------------------------------------------------------------------ */

/* Cap on what one read of an argument area copies: the kernel set these bounds at exec but
 * prctl(PR_SET_MM) can move them; a bogus range must not exhaust Sentry memory. */
#define MAX_ARGAREA (64ull << 20)

/* Append the readable prefix of application range [start, end); stops at the first fault. With
 * stop_at_nul, stops after the first NUL byte. Returns bytes appended. */
static uint64_t copy_area(struct fb_pbuf *b, struct fb_mm *mm, uint64_t start, uint64_t end,
                          bool stop_at_nul)
{
    uint64_t addr = start, done = 0;
    char page[4096];

    if (end <= start)
        return 0;
    if (end - start > MAX_ARGAREA)
        end = start + MAX_ARGAREA;
    while (addr < end && !b->oom) {
        size_t n = (size_t)FB_MIN(end - addr, FB_PAGE_SIZE - (addr & (FB_PAGE_SIZE - 1)));
        if (fb_mm_copy_in(mm, addr, page, n) != 0)
            break;
        if (stop_at_nul) {
            char *z = memchr(page, 0, n);
            if (z) {
                fb_pbuf_write(b, page, (size_t)(z - page) + 1);
                return done + (uint64_t)(z - page) + 1;
            }
        }
        fb_pbuf_write(b, page, n);
        addr += n;
        done += n;
    }
    return done;
}

int fb_procfs_gen_cmdline(struct fb_pbuf *b, struct fb_mm *mm)
{
    uint64_t as, ae, es, ee, len;
    char last;

    if (!mm || mm->arg_start >= mm->arg_end)
        return 0;
    as = mm->arg_start;
    ae = mm->arg_end;
    es = mm->env_start;
    ee = mm->env_end;
    /* Linux's get_mm_cmdline(): argv may overflow only into an adjacent environment. */
    if (es != ae || ee < es)
        es = ee = ae;
    len = ee - as;
    if (fb_mm_copy_in(mm, ae - 1, &last, 1) == 0 && last) {
        /* setproctitle() overwrote the final NUL: show the one string from arg_start, up to a
         * page, with its NUL if there is one. */
        copy_area(b, mm, as, as + FB_MIN(len, FB_PAGE_SIZE), true);
    } else {
        copy_area(b, mm, as, ae, false);
    }
    return pbuf_result(b);
}

int fb_procfs_gen_environ(struct fb_pbuf *b, struct fb_mm *mm)
{
    if (mm)
        copy_area(b, mm, mm->env_start, mm->env_end, false);
    return pbuf_result(b);
}

int fb_procfs_gen_auxv(struct fb_pbuf *b, struct fb_mm *mm)
{
    static const uint64_t at_null[2] = {0, 0};
    int n;

    if (!mm)
        return 0;
    n = mm->auxv_len;
    if (n < 0)
        n = 0;
    if (n > (int)FB_ARRAY_SIZE(mm->auxv))
        n = (int)FB_ARRAY_SIZE(mm->auxv);
    n &= ~1;
    fb_pbuf_write(b, mm->auxv, (size_t)n * sizeof(uint64_t));
    /* The vector ends with an AT_NULL pair, whether or not the loader counted it. */
    if (n == 0 || mm->auxv[n - 2] != 0)
        fb_pbuf_write(b, at_null, sizeof(at_null));
    return pbuf_result(b);
}

/* ---- limits ---------------------------------------------------------------------------------- */

int fb_procfs_gen_limits(struct fb_pbuf *b, struct fb_thread_group *tg)
{
    static const struct {
        const char *name, *unit;
    } names[] = {
        [RLIMIT_CPU] = {"Max cpu time", "seconds"},
        [RLIMIT_FSIZE] = {"Max file size", "bytes"},
        [RLIMIT_DATA] = {"Max data size", "bytes"},
        [RLIMIT_STACK] = {"Max stack size", "bytes"},
        [RLIMIT_CORE] = {"Max core file size", "bytes"},
        [RLIMIT_RSS] = {"Max resident set", "bytes"},
        [RLIMIT_NPROC] = {"Max processes", "processes"},
        [RLIMIT_NOFILE] = {"Max open files", "files"},
        [RLIMIT_MEMLOCK] = {"Max locked memory", "bytes"},
        [RLIMIT_AS] = {"Max address space", "bytes"},
        [RLIMIT_LOCKS] = {"Max file locks", "locks"},
        [RLIMIT_SIGPENDING] = {"Max pending signals", "signals"},
        [RLIMIT_MSGQUEUE] = {"Max msgqueue size", "bytes"},
        [RLIMIT_NICE] = {"Max nice priority", NULL},
        [RLIMIT_RTPRIO] = {"Max realtime priority", NULL},
        [RLIMIT_RTTIME] = {"Max realtime timeout", "us"},
    };
    size_t i;

    fb_pbuf_printf(b, "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit", "Units");
    for (i = 0; i < FB_ARRAY_SIZE(names) && i < RLIM_NLIMITS; i++) {
        const struct rlimit *r = &tg->rlim[i];
        if (r->rlim_cur == RLIM_INFINITY)
            fb_pbuf_printf(b, "%-25s %-20s ", names[i].name, "unlimited");
        else
            fb_pbuf_printf(b, "%-25s %-20llu ", names[i].name, (unsigned long long)r->rlim_cur);
        if (r->rlim_max == RLIM_INFINITY)
            fb_pbuf_printf(b, "%-20s ", "unlimited");
        else
            fb_pbuf_printf(b, "%-20llu ", (unsigned long long)r->rlim_max);
        if (names[i].unit)
            fb_pbuf_printf(b, "%-10s\n", names[i].unit);
        else
            fb_pbuf_printf(b, "\n");
    }
    return pbuf_result(b);
}

/* ---- mounts, mountinfo, fdinfo --------------------------------------------------------------- */

/* Mount ids start above the small numbers Linux reserves, like a fresh mount namespace. */
#define MOUNT_ID_BASE 20

int fb_procfs_mount_id(const struct fb_mount *m)
{
    struct fb_list *pos;
    int i = 0;
    fb_list_for_each(pos, fb_vfs_mounts())
    {
        if (fb_list_entry(pos, struct fb_mount, node) == m)
            return MOUNT_ID_BASE + i;
        i++;
    }
    return 0;
}

/* Linux's mangle(): space, tab, newline and backslash become octal escapes. */
static void print_mangled(struct fb_pbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\\')
            fb_pbuf_printf(b, "\\%03o", (unsigned char)*s);
        else
            fb_pbuf_write(b, s, 1);
    }
}

static void print_mount_opts(struct fb_pbuf *b, const struct fb_mount *m)
{
    fb_pbuf_printf(b, "%s%s%s%s,relatime", (m->flags & FB_MNT_RDONLY) ? "ro" : "rw",
                   (m->flags & FB_MNT_NOSUID) ? ",nosuid" : "",
                   (m->flags & FB_MNT_NODEV) ? ",nodev" : "",
                   (m->flags & FB_MNT_NOEXEC) ? ",noexec" : "");
}

/* Path of d inside its own filesystem (mountinfo's 4th field): "/" unless a bind mount. */
static void print_fs_root(struct fb_pbuf *b, const struct fb_dentry *d)
{
    const char *parts[64];
    int n = 0;
    for (; d && d->parent && n < (int)FB_ARRAY_SIZE(parts); d = d->parent)
        parts[n++] = d->name;
    if (n == 0) {
        fb_pbuf_write(b, "/", 1);
        return;
    }
    while (n-- > 0) {
        fb_pbuf_write(b, "/", 1);
        print_mangled(b, parts[n]);
    }
}

int fb_procfs_gen_mounts(struct fb_pbuf *b, const struct fb_path *root, bool mountinfo)
{
    struct fb_list *pos;
    char *path = malloc(FB_PATH_MAX);

    if (!path)
        return -ENOMEM;
    fb_list_for_each(pos, fb_vfs_mounts())
    {
        struct fb_mount *m = fb_list_entry(pos, struct fb_mount, node);
        struct fb_path at = {m, m->root};
        const char *type = m->sb && m->sb->type ? m->sb->type : "none";
        const char *source = m->source ? m->source : "none";

        if (fb_vfs_path_string(&at, root, path, FB_PATH_MAX) < 0)
            continue;
        if (mountinfo) {
            uint64_t dev = m->sb ? m->sb->dev : 0;
            fb_pbuf_printf(b, "%d %d %u:%u ", fb_procfs_mount_id(m),
                           m->parent ? fb_procfs_mount_id(m->parent) : 1,
                           (unsigned)((dev >> 8) & 0xfff),
                           (unsigned)((dev & 0xff) | ((dev >> 12) & 0xfff00)));
            print_fs_root(b, m->root);
            fb_pbuf_write(b, " ", 1);
            print_mangled(b, path);
            fb_pbuf_write(b, " ", 1);
            print_mount_opts(b, m);
            fb_pbuf_printf(b, " - %s ", type);
            print_mangled(b, source);
            fb_pbuf_printf(b, " %s\n", (m->flags & FB_MNT_RDONLY) ? "ro" : "rw");
        } else {
            print_mangled(b, source);
            fb_pbuf_write(b, " ", 1);
            print_mangled(b, path);
            fb_pbuf_printf(b, " %s ", type);
            print_mount_opts(b, m);
            fb_pbuf_printf(b, " 0 0\n");
        }
    }
    free(path);
    return pbuf_result(b);
}

int fb_procfs_gen_fdinfo(struct fb_pbuf *b, struct fb_file *f, bool cloexec)
{
    /* Linux shows O_LARGEFILE (always set on 64-bit) and O_CLOEXEC from the fd table. */
    unsigned flags = f->flags | 0100000u | (cloexec ? (unsigned)O_CLOEXEC : 0u);
    fb_pbuf_printf(b, "pos:\t%lld\nflags:\t0%o\nmnt_id:\t%d\nino:\t%llu\n", (long long)f->pos,
                   flags, f->path.mnt ? fb_procfs_mount_id(f->path.mnt) : 0,
                   (unsigned long long)(f->inode ? f->inode->st.ino : 0));
    return pbuf_result(b);
}

/* ---- host facts ------------------------------------------------------------------------------ */

/* What only system calls tell: read at boot by fb_procfs_host_init, before the lock-down. */
static struct {
    bool done;
    int ncpus;
    uint64_t mem;
} host;

/* What CPUID tells, for /proc/cpuinfo alone. Every CPUID exits to the hypervisor on a VM (6-10 us
 * each, some 20 of them), so these are gathered at the first cpuinfo read (cpu_facts), not on
 * every boot and restore. Written once under cpu_once, read-only afterwards. */
static struct {
    char vendor[13], model_name[49];
    unsigned family, model, stepping, cpuid_level;
    unsigned cache_kb, clflush, phys_bits, virt_bits;
    uint64_t khz; /* TSC: from CPUID, else measured */
    char flags[2048];
} cpu;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

static void cpuid(unsigned leaf, unsigned sub, unsigned r[4])
{
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
}

struct flag_name {
    int bit;
    const char *name;
};

/* Linux flag names per CPUID register, in /proc/cpuinfo order (arch/x86/include/asm/cpufeatures.h
 * words 0, 1, 4, 6, 9, 10, 12, 13, 16, 18; word 3's synthetic flags are added in between). */
static const struct flag_name w0_1edx[] = {
    {0, "fpu"},      {1, "vme"},  {2, "de"},    {3, "pse"},  {4, "tsc"},    {5, "msr"},
    {6, "pae"},      {7, "mce"},  {8, "cx8"},   {9, "apic"}, {11, "sep"},   {12, "mtrr"},
    {13, "pge"},     {14, "mca"}, {15, "cmov"}, {16, "pat"}, {17, "pse36"}, {18, "pn"},
    {19, "clflush"}, {21, "dts"}, {22, "acpi"}, {23, "mmx"}, {24, "fxsr"},  {25, "sse"},
    {26, "sse2"},    {27, "ss"},  {28, "ht"},   {29, "tm"},  {30, "ia64"},  {31, "pbe"},
};
static const struct flag_name w1_ext_edx[] = {
    {11, "syscall"}, {19, "mp"},     {20, "nx"}, {22, "mmxext"},   {25, "fxsr_opt"},
    {26, "pdpe1gb"}, {27, "rdtscp"}, {29, "lm"}, {30, "3dnowext"}, {31, "3dnow"},
};
static const struct flag_name w4_1ecx[] = {
    {0, "pni"},     {1, "pclmulqdq"},   {2, "dtes64"},  {3, "monitor"},
    {4, "ds_cpl"},  {5, "vmx"},         {6, "smx"},     {7, "est"},
    {8, "tm2"},     {9, "ssse3"},       {10, "cid"},    {11, "sdbg"},
    {12, "fma"},    {13, "cx16"},       {14, "xtpr"},   {15, "pdcm"},
    {17, "pcid"},   {18, "dca"},        {19, "sse4_1"}, {20, "sse4_2"},
    {21, "x2apic"}, {22, "movbe"},      {23, "popcnt"}, {24, "tsc_deadline_timer"},
    {25, "aes"},    {26, "xsave"},      {28, "avx"},    {29, "f16c"},
    {30, "rdrand"}, {31, "hypervisor"},
};
static const struct flag_name w6_ext_ecx[] = {
    {0, "lahf_lm"},       {1, "cmp_legacy"},  {2, "svm"},    {3, "extapic"},
    {4, "cr8_legacy"},    {5, "abm"},         {6, "sse4a"},  {7, "misalignsse"},
    {8, "3dnowprefetch"}, {9, "osvw"},        {10, "ibs"},   {11, "xop"},
    {12, "skinit"},       {13, "wdt"},        {15, "lwp"},   {16, "fma4"},
    {17, "tce"},          {19, "nodeid_msr"}, {21, "tbm"},   {22, "topoext"},
    {23, "perfctr_core"}, {24, "perfctr_nb"}, {26, "bpext"}, {27, "ptsc"},
    {28, "perfctr_llc"},  {29, "mwaitx"},
};
static const struct flag_name w9_7ebx[] = {
    {0, "fsgsbase"},    {1, "tsc_adjust"}, {2, "sgx"},       {3, "bmi1"},      {4, "hle"},
    {5, "avx2"},        {7, "smep"},       {8, "bmi2"},      {9, "erms"},      {10, "invpcid"},
    {11, "rtm"},        {12, "cqm"},       {14, "mpx"},      {15, "rdt_a"},    {16, "avx512f"},
    {17, "avx512dq"},   {18, "rdseed"},    {19, "adx"},      {20, "smap"},     {21, "avx512ifma"},
    {23, "clflushopt"}, {24, "clwb"},      {25, "intel_pt"}, {26, "avx512pf"}, {27, "avx512er"},
    {28, "avx512cd"},   {29, "sha_ni"},    {30, "avx512bw"}, {31, "avx512vl"},
};
static const struct flag_name w10_d1eax[] = {
    {0, "xsaveopt"},
    {1, "xsavec"},
    {2, "xgetbv1"},
    {3, "xsaves"},
};
static const struct flag_name w12_71eax[] = {
    {4, "avx_vnni"},
    {5, "avx512_bf16"},
};
static const struct flag_name w13_ext8ebx[] = {
    {0, "clzero"}, {1, "irperf"}, {2, "xsaveerptr"}, {4, "rdpru"}, {9, "wbnoinvd"},
};
static const struct flag_name w16_7ecx[] = {
    {1, "avx512vbmi"},
    {2, "umip"},
    {3, "pku"},
    {4, "ospke"},
    {5, "waitpkg"},
    {6, "avx512_vbmi2"},
    {8, "gfni"},
    {9, "vaes"},
    {10, "vpclmulqdq"},
    {11, "avx512_vnni"},
    {12, "avx512_bitalg"},
    {13, "tme"},
    {14, "avx512_vpopcntdq"},
    {16, "la57"},
    {22, "rdpid"},
    {24, "bus_lock_detect"},
    {25, "cldemote"},
    {27, "movdiri"},
    {28, "movdir64b"},
    {29, "enqcmd"},
    {30, "sgx_lc"},
};
static const struct flag_name w18_7edx[] = {
    {2, "avx512_4vnniw"}, {3, "avx512_4fmaps"}, {4, "fsrm"},       {8, "avx512_vp2intersect"},
    {10, "md_clear"},     {14, "serialize"},    {16, "tsxldtrk"},  {18, "pconfig"},
    {19, "arch_lbr"},     {20, "ibt"},          {22, "amx_bf16"},  {23, "avx512_fp16"},
    {24, "amx_tile"},     {25, "amx_int8"},     {28, "flush_l1d"}, {29, "arch_capabilities"},
};

static void flags_add(char *out, size_t size, const char *name)
{
    size_t len = strlen(out), n = strlen(name);
    if (len + n + 2 > size)
        return;
    if (len)
        out[len++] = ' ';
    memcpy(out + len, name, n + 1);
}

static void flags_from(char *out, size_t size, uint32_t reg, const struct flag_name *t, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (reg & (1u << t[i].bit))
            flags_add(out, size, t[i].name);
}

#define FLAGS_FROM(reg, table)                                                                     \
    flags_from(cpu.flags, sizeof(cpu.flags), reg, table, FB_ARRAY_SIZE(table))

/* TSC frequency from CPUID (leaf 0x15, 0x16, the hypervisor timing leaf) or the brand string. */
static uint64_t cpuid_khz(unsigned max, unsigned hv_max)
{
    unsigned r[4];
    const char *at;

    if (max >= 0x15) {
        cpuid(0x15, 0, r);
        if (r[0] && r[1] && r[2])
            return (uint64_t)r[2] * r[1] / r[0] / 1000;
    }
    if (hv_max >= 0x40000010) {
        cpuid(0x40000010, 0, r);
        if (r[0])
            return r[0];
    }
    if (max >= 0x16) {
        cpuid(0x16, 0, r);
        if (r[0] & 0xffff)
            return (uint64_t)(r[0] & 0xffff) * 1000;
    }
    at = strstr(cpu.model_name, "@ ");
    if (at) {
        double ghz = strtod(at + 2, NULL);
        if (ghz > 0.1 && ghz < 20)
            return (uint64_t)(ghz * 1e6);
    }
    return 0;
}

/* Last resort: time the TSC against CLOCK_MONOTONIC for 2 ms (once, from cpu_facts_read). */
static uint64_t measure_khz(void)
{
    struct timespec a, b;
    uint64_t t0, t1;
    int64_t ns;

    clock_gettime(CLOCK_MONOTONIC, &a);
    t0 = __rdtsc();
    do {
        clock_gettime(CLOCK_MONOTONIC, &b);
        ns = (b.tv_sec - a.tv_sec) * 1000000000ll + (b.tv_nsec - a.tv_nsec);
    } while (ns < 2000000);
    t1 = __rdtsc();
    return ns > 0 ? (t1 - t0) * 1000000ull / (uint64_t)ns : 0;
}

void fb_procfs_host_init(void)
{
    cpu_set_t set;
    struct sysinfo si;

    if (host.done)
        return;
    host.done = true;

    CPU_ZERO(&set);
    host.ncpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
    if (host.ncpus < 1)
        host.ncpus = 1;
    if (sysinfo(&si) == 0)
        host.mem = (uint64_t)si.totalram * (si.mem_unit ? si.mem_unit : 1);
    if (!host.mem)
        host.mem = 1ull << 30;
}

/* Fills cpu from CPUID; run once, by cpu_facts, usually after the lock-down: the one system call
 * it may make (clock_gettime in measure_khz, when the vDSO falls back) stays allowed. */
static void cpu_facts_read(void)
{
    unsigned r[4], max, ext_max, hv_max = 0;
    uint32_t ecx1 = 0, edx1 = 0;
    bool intel;

    cpuid(0, 0, r);
    max = r[0];
    cpu.cpuid_level = max;
    memcpy(cpu.vendor, &r[1], 4);
    memcpy(cpu.vendor + 4, &r[3], 4);
    memcpy(cpu.vendor + 8, &r[2], 4);
    cpu.vendor[12] = 0;
    intel = strcmp(cpu.vendor, "GenuineIntel") == 0;
    cpuid(0x80000000, 0, r);
    ext_max = r[0] >= 0x80000000 && r[0] < 0x8000ffff ? r[0] : 0;

    if (max >= 1) {
        unsigned fam, model;
        cpuid(1, 0, r);
        fam = (r[0] >> 8) & 0xf;
        model = (r[0] >> 4) & 0xf;
        if (fam == 0xf)
            fam += (r[0] >> 20) & 0xff;
        if (fam >= 6)
            model |= ((r[0] >> 16) & 0xf) << 4;
        cpu.family = fam;
        cpu.model = model;
        cpu.stepping = r[0] & 0xf;
        cpu.clflush = ((r[1] >> 8) & 0xff) * 8;
        ecx1 = r[2];
        edx1 = r[3];
        if (ecx1 & (1u << 31)) {
            cpuid(0x40000000, 0, r);
            if (r[0] >= 0x40000000 && r[0] < 0x4000ffff)
                hv_max = r[0];
        }
    }
    if (!cpu.clflush)
        cpu.clflush = 64;
    if (ext_max >= 0x80000004) {
        char *p = cpu.model_name, *s;
        cpuid(0x80000002, 0, (unsigned *)p);
        cpuid(0x80000003, 0, (unsigned *)(p + 16));
        cpuid(0x80000004, 0, (unsigned *)(p + 32));
        cpu.model_name[48] = 0;
        for (s = p; *s == ' '; s++)
            ;
        memmove(p, s, strlen(s) + 1);
        for (s = p + strlen(p); s > p && s[-1] == ' '; s--)
            s[-1] = 0;
    }
    if (!cpu.model_name[0])
        strcpy(cpu.model_name, "unknown");
    cpu.phys_bits = 36;
    cpu.virt_bits = 48;
    if (ext_max >= 0x80000008) {
        cpuid(0x80000008, 0, r);
        cpu.phys_bits = r[0] & 0xff;
        cpu.virt_bits = (r[0] >> 8) & 0xff;
    }

    /* Cache size: Intel shows its last-level cache (leaf 4), others their L2 (0x80000006). */
    if (intel && max >= 4) {
        unsigned i, best_level = 0;
        for (i = 0; i < 16; i++) {
            unsigned type, level;
            cpuid(4, i, r);
            type = r[0] & 0x1f;
            if (type == 0)
                break;
            level = (r[0] >> 5) & 7;
            if (type == 2 || level < best_level) /* instruction caches do not count */
                continue;
            best_level = level;
            cpu.cache_kb = (unsigned)(((uint64_t)((r[1] >> 22) + 1) * (((r[1] >> 12) & 0x3ff) + 1) *
                                       ((r[1] & 0xfff) + 1) * ((uint64_t)r[2] + 1)) >>
                                      10);
        }
    }
    if (!cpu.cache_kb && ext_max >= 0x80000006) {
        cpuid(0x80000006, 0, r);
        cpu.cache_kb = r[2] >> 16;
    }

    cpu.khz = cpuid_khz(max, hv_max);

    /* Flags, in Linux's order. */
    cpu.flags[0] = 0;
    FLAGS_FROM(edx1, w0_1edx);
    if (ext_max >= 0x80000001) {
        cpuid(0x80000001, 0, r);
        FLAGS_FROM(r[3], w1_ext_edx);
    }
    {
        /* Word 3: Linux's synthetic flags that follow from what the CPU reports. */
        bool invariant_tsc = false;
        if (ext_max >= 0x80000007) {
            cpuid(0x80000007, 0, r);
            invariant_tsc = r[3] & (1u << 8);
        }
        if (invariant_tsc)
            flags_add(cpu.flags, sizeof(cpu.flags), "constant_tsc");
        if (intel && max >= 0xa) {
            cpuid(0xa, 0, r);
            if ((r[0] & 0xff) != 0)
                flags_add(cpu.flags, sizeof(cpu.flags), "arch_perfmon");
        }
        flags_add(cpu.flags, sizeof(cpu.flags), "rep_good");
        flags_add(cpu.flags, sizeof(cpu.flags), "nopl");
        if (max >= 0xb) {
            cpuid(0xb, 0, r);
            if (r[1] != 0)
                flags_add(cpu.flags, sizeof(cpu.flags), "xtopology");
        }
        if (invariant_tsc)
            flags_add(cpu.flags, sizeof(cpu.flags), "nonstop_tsc");
        flags_add(cpu.flags, sizeof(cpu.flags), "cpuid");
        if (max >= 6) {
            cpuid(6, 0, r);
            if (r[2] & 1)
                flags_add(cpu.flags, sizeof(cpu.flags), "aperfmperf");
        }
        if (cpu.khz && max >= 0x15)
            flags_add(cpu.flags, sizeof(cpu.flags), "tsc_known_freq");
    }
    FLAGS_FROM(ecx1 & ~(1u << 27) /* osxsave is hidden by Linux */, w4_1ecx);
    if (ext_max >= 0x80000001) {
        cpuid(0x80000001, 0, r);
        FLAGS_FROM(r[2], w6_ext_ecx);
    }
    if (max >= 7) {
        unsigned ebx7, ecx7, edx7, sub_max;
        cpuid(7, 0, r);
        sub_max = r[0];
        ebx7 = r[1];
        ecx7 = r[2];
        edx7 = r[3];
        FLAGS_FROM(ebx7, w9_7ebx);
        if (max >= 0xd) {
            cpuid(0xd, 1, r);
            FLAGS_FROM(r[0], w10_d1eax);
        }
        if (sub_max >= 1) {
            cpuid(7, 1, r);
            FLAGS_FROM(r[0], w12_71eax);
        }
        if (ext_max >= 0x80000008) {
            cpuid(0x80000008, 0, r);
            FLAGS_FROM(r[1], w13_ext8ebx);
        }
        FLAGS_FROM(ecx7, w16_7ecx);
        FLAGS_FROM(edx7, w18_7edx);
    } else if (ext_max >= 0x80000008) {
        cpuid(0x80000008, 0, r);
        FLAGS_FROM(r[1], w13_ext8ebx);
    }
    /* After the flags: tsc_known_freq is for a frequency CPUID told, not one measured. */
    if (!cpu.khz)
        cpu.khz = measure_khz();
}

/* The CPUID facts, gathered on first use; safe from any number of task threads at once. */
static void cpu_facts(void)
{
    pthread_once(&cpu_once, cpu_facts_read);
}

int fb_procfs_ncpus(void)
{
    fb_procfs_host_init();
    return host.ncpus;
}

uint64_t fb_procfs_host_mem(void)
{
    fb_procfs_host_init();
    return host.mem;
}

/* ---- top-level files ------------------------------------------------------------------------- */

int fb_procfs_gen_cpuinfo(struct fb_pbuf *b)
{
    int i;
    unsigned long long bogo;

    fb_procfs_host_init();
    cpu_facts();
    bogo = (unsigned long long)cpu.khz * 2 / 10; /* hundredths of BogoMIPS */
    for (i = 0; i < host.ncpus; i++) {
        fb_pbuf_printf(b, "processor\t: %d\nvendor_id\t: %s\ncpu family\t: %u\nmodel\t\t: %u\n", i,
                       cpu.vendor, cpu.family, cpu.model);
        fb_pbuf_printf(b, "model name\t: %s\nstepping\t: %u\n", cpu.model_name, cpu.stepping);
        fb_pbuf_printf(b, "cpu MHz\t\t: %llu.%03llu\n", (unsigned long long)(cpu.khz / 1000),
                       (unsigned long long)(cpu.khz % 1000));
        if (cpu.cache_kb)
            fb_pbuf_printf(b, "cache size\t: %u KB\n", cpu.cache_kb);
        fb_pbuf_printf(b,
                       "physical id\t: 0\nsiblings\t: %d\ncore id\t\t: %d\ncpu cores\t: %d\n"
                       "apicid\t\t: %d\ninitial apicid\t: %d\n",
                       host.ncpus, i, host.ncpus, i, i);
        fb_pbuf_printf(b, "fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: %u\nwp\t\t: yes\n",
                       cpu.cpuid_level);
        fb_pbuf_printf(b, "flags\t\t: %s\n", cpu.flags);
        fb_pbuf_printf(b, "bugs\t\t:\nbogomips\t: %llu.%02llu\n", bogo / 100, bogo % 100);
        fb_pbuf_printf(b, "clflush size\t: %u\ncache_alignment\t: %u\n", cpu.clflush, cpu.clflush);
        fb_pbuf_printf(b, "address sizes\t: %u bits physical, %u bits virtual\n", cpu.phys_bits,
                       cpu.virt_bits);
        fb_pbuf_printf(b, "power management:\n\n");
    }
    return pbuf_result(b);
}

static void meminfo_line(struct fb_pbuf *b, const char *label, uint64_t kb)
{
    char l[32];
    snprintf(l, sizeof(l), "%s:", label);
    fb_pbuf_printf(b, "%-15s %8llu kB\n", l, (unsigned long long)kb);
}

int fb_procfs_gen_meminfo(struct fb_pbuf *b)
{
    uint64_t total = fb_k->opts.memory_limit ? fb_k->opts.memory_limit : fb_procfs_host_mem();
    uint64_t used = fb_k->mf.used_pages * FB_PAGE_SIZE;
    uint64_t free_ = total > used ? total - used : 0;
    uint64_t tk = total >> 10, uk = (used > total ? total : used) >> 10, fk = free_ >> 10;

    meminfo_line(b, "MemTotal", tk);
    meminfo_line(b, "MemFree", fk);
    meminfo_line(b, "MemAvailable", fk);
    meminfo_line(b, "Buffers", 0);
    meminfo_line(b, "Cached", 0);
    meminfo_line(b, "SwapCached", 0);
    meminfo_line(b, "Active", uk);
    meminfo_line(b, "Inactive", 0);
    meminfo_line(b, "Active(anon)", uk);
    meminfo_line(b, "Inactive(anon)", 0);
    meminfo_line(b, "Active(file)", 0);
    meminfo_line(b, "Inactive(file)", 0);
    meminfo_line(b, "Unevictable", 0);
    meminfo_line(b, "Mlocked", 0);
    meminfo_line(b, "SwapTotal", 0);
    meminfo_line(b, "SwapFree", 0);
    meminfo_line(b, "Zswap", 0);
    meminfo_line(b, "Zswapped", 0);
    meminfo_line(b, "Dirty", 0);
    meminfo_line(b, "Writeback", 0);
    meminfo_line(b, "AnonPages", uk);
    meminfo_line(b, "Mapped", 0);
    meminfo_line(b, "Shmem", 0);
    meminfo_line(b, "KReclaimable", 0);
    meminfo_line(b, "Slab", 0);
    meminfo_line(b, "SReclaimable", 0);
    meminfo_line(b, "SUnreclaim", 0);
    meminfo_line(b, "KernelStack", 0);
    meminfo_line(b, "PageTables", 0);
    meminfo_line(b, "SecPageTables", 0);
    meminfo_line(b, "NFS_Unstable", 0);
    meminfo_line(b, "Bounce", 0);
    meminfo_line(b, "WritebackTmp", 0);
    meminfo_line(b, "CommitLimit", tk);
    meminfo_line(b, "Committed_AS", uk);
    meminfo_line(b, "VmallocTotal", 34359738367ull);
    meminfo_line(b, "VmallocUsed", 0);
    meminfo_line(b, "VmallocChunk", 0);
    meminfo_line(b, "Percpu", 0);
    fb_pbuf_printf(b, "HardwareCorrupted: %5d kB\n", 0);
    meminfo_line(b, "AnonHugePages", 0);
    meminfo_line(b, "ShmemHugePages", 0);
    meminfo_line(b, "ShmemPmdMapped", 0);
    meminfo_line(b, "FileHugePages", 0);
    meminfo_line(b, "FilePmdMapped", 0);
    fb_pbuf_printf(b, "HugePages_Total:       0\nHugePages_Free:        0\n"
                      "HugePages_Rsvd:        0\nHugePages_Surp:        0\n");
    meminfo_line(b, "Hugepagesize", 2048);
    meminfo_line(b, "Hugetlb", 0);
    return pbuf_result(b);
}

/* Sandbox-wide CPU use and task counts (never the host's). */
struct ksnap {
    int64_t up_ns, busy_ns, user_ns, sys_ns;
    int running, total;
};

static void ksnap(struct ksnap *s)
{
    struct fb_list *pos;
    memset(s, 0, sizeof(*s));
    s->up_ns = fb_app_mono_ns() - fb_k->boot_mono_ns;
    if (s->up_ns < 0)
        s->up_ns = 0;
    fb_list_for_each(pos, &fb_k->tasks)
    {
        struct fb_task *t = fb_list_entry(pos, struct fb_task, knode);
        if (t->state == FB_TASK_EXITED)
            continue;
        s->total++;
        if (t->state != FB_TASK_SLEEPING)
            s->running++;
        s->user_ns += t->utime_ns;
        s->sys_ns += t->stime_ns;
    }
    s->busy_ns = s->user_ns + s->sys_ns;
}

int fb_procfs_gen_uptime(struct fb_pbuf *b)
{
    struct ksnap s;
    int64_t idle;
    ksnap(&s);
    idle = s.up_ns * fb_procfs_ncpus() - s.busy_ns;
    if (idle < 0)
        idle = 0;
    fb_pbuf_printf(b, "%lld.%02lld %lld.%02lld\n", (long long)(s.up_ns / 1000000000),
                   (long long)(s.up_ns / 10000000 % 100), (long long)(idle / 1000000000),
                   (long long)(idle / 10000000 % 100));
    return pbuf_result(b);
}

int fb_procfs_gen_loadavg(struct fb_pbuf *b)
{
    struct ksnap s;
    ksnap(&s);
    /* No load average is kept: like gVisor, report an idle machine with the real task counts. */
    fb_pbuf_printf(b, "0.00 0.00 0.00 %d/%d %d\n", s.running, s.total,
                   fb_k->next_pid > 1 ? fb_k->next_pid - 1 : 0);
    return pbuf_result(b);
}

int fb_procfs_gen_kstat(struct fb_pbuf *b)
{
    struct ksnap s;
    int n = fb_procfs_ncpus(), i;
    uint64_t user, sys, idle;
    int64_t idle_ns;

    ksnap(&s);
    idle_ns = s.up_ns * n - s.busy_ns;
    user = ns_to_ticks(s.user_ns);
    sys = ns_to_ticks(s.sys_ns);
    idle = ns_to_ticks(idle_ns);
    fb_pbuf_printf(b, "cpu  %llu 0 %llu %llu 0 0 0 0 0 0\n", (unsigned long long)user,
                   (unsigned long long)sys, (unsigned long long)idle);
    for (i = 0; i < n; i++) {
        /* Spread evenly; the first CPU takes the remainders so the columns add up. */
        uint64_t u = user / (uint64_t)n + (i == 0 ? user % (uint64_t)n : 0);
        uint64_t y = sys / (uint64_t)n + (i == 0 ? sys % (uint64_t)n : 0);
        uint64_t d = idle / (uint64_t)n + (i == 0 ? idle % (uint64_t)n : 0);
        fb_pbuf_printf(b, "cpu%d %llu 0 %llu %llu 0 0 0 0 0 0\n", i, (unsigned long long)u,
                       (unsigned long long)y, (unsigned long long)d);
    }
    fb_pbuf_printf(b,
                   "intr 0\nctxt 0\nbtime %lld\nprocesses %d\nprocs_running %d\n"
                   "procs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n",
                   (long long)((fb_app_real_ns() - s.up_ns) / 1000000000),
                   fb_k->next_pid > 1 ? fb_k->next_pid - 1 : 1, s.running ? s.running : 1);
    return pbuf_result(b);
}

int fb_procfs_gen_version(struct fb_pbuf *b)
{
    fb_pbuf_printf(b, "Linux version " FB_UNAME_RELEASE " (fnbox@fnbox) (gcc (Debian 12.2.0-14) "
                      "12.2.0, GNU ld (GNU Binutils for Debian) 2.40) " FB_UNAME_VERSION "\n");
    return pbuf_result(b);
}

int fb_procfs_gen_filesystems(struct fb_pbuf *b)
{
    fb_pbuf_printf(b, "nodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\nnodev\t9p\n");
    return pbuf_result(b);
}

int fb_procfs_gen_uuid(struct fb_pbuf *b)
{
    uint8_t u[16];
    size_t got = 0;

    while (got < sizeof(u)) {
        ssize_t n = getrandom(u + got, sizeof(u) - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -EIO;
        }
        got += (size_t)n;
    }
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    fb_pbuf_printf(b, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x\n",
                   u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
                   u[13], u[14], u[15]);
    return pbuf_result(b);
}
