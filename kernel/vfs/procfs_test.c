/* Unit tests for the procfs content generators: a hand-built kernel (thread groups, tasks, an mm
 * with VMAs, mounts, files) and exact checks of the text that Linux programs parse. */
#include "fbtest.h"
#include "kernel/vfs/procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#include "kernel/kernel.h"
#include "kernel/mm/mm.h"
#include "kernel/task/task.h"

/* ---- stubs for layers the generators reach --------------------------------------------------
 * Weak, so that the real definitions win if the archive brings them in. The mount stubs follow
 * the same contract as kernel/vfs/vfs.c (a list of mounts; a mount root's path is its
 * mountpoint's), so the expected text is the same with either. */

__attribute__((weak)) struct fb_kernel *fb_k;

__attribute__((weak)) struct fb_pctx *fb_mm_current_ctx(void)
{
    return NULL;
}

static struct fb_list test_mounts = FB_LIST_INIT(test_mounts);

__attribute__((weak)) struct fb_list *fb_vfs_mounts(void)
{
    return &test_mounts;
}

__attribute__((weak)) int fb_vfs_path_string(const struct fb_path *p, const struct fb_path *root,
                                             char *buf, size_t size)
{
    const struct fb_mount *m = p->mnt;
    const struct fb_dentry *d = p->dentry;
    char tmp[256] = "";

    (void)root;
    for (;;) {
        char part[sizeof(tmp)];
        if (d == m->root) {
            if (!m->parent)
                break;
            d = m->mountpoint;
            m = m->parent;
            continue;
        }
        if (strlen(d->name) + strlen(tmp) + 2 > sizeof(part))
            return -ENAMETOOLONG;
        part[0] = '/';
        strcpy(part + 1, d->name);
        strcat(part, tmp);
        strcpy(tmp, part);
        d = d->parent;
    }
    if (!tmp[0])
        strcpy(tmp, "/");
    if (strlen(tmp) + 1 > size)
        return -ERANGE;
    strcpy(buf, tmp);
    return (int)strlen(tmp);
}

/* ---- fixtures -------------------------------------------------------------------------------- */

static struct fb_kernel k;
static struct fb_memfile mf;

static struct fb_mappable dummy_map; /* stands for a file; generators never call into it */

struct fake {
    struct fb_thread_group tg, parent;
    struct fb_task t, t2;
    struct fb_sighand sh;
    struct fb_mm mm;
    struct fb_vma vmas[6];
    struct fb_fs_ctx fs;
};

static void fake_init(struct fake *f)
{
    static char exe[] = "/usr/bin/prog", shm[] = "/dev/shm/x";
    int i;

    memset(f, 0, sizeof(*f));
    k.boot_mono_ns = fb_app_mono_ns() - 10 * 1000000000ll;
    k.pid_max = 4194304;
    fb_list_init(&k.tasks);

    f->parent.tgid = 1;
    f->tg.tgid = 42;
    f->tg.parent = &f->parent;
    f->tg.pgid = 42;
    f->tg.sid = 1;
    f->tg.state = FB_TG_LIVE;
    f->tg.exit_signal = SIGCHLD;
    f->tg.live_threads = 2;
    f->tg.uid = f->tg.euid = f->tg.suid = f->tg.fsuid = 1000;
    f->tg.gid = f->tg.egid = f->tg.sgid = f->tg.fsgid = 100;
    f->tg.groups[0] = 100;
    f->tg.groups[1] = 27;
    f->tg.ngroups = 2;
    f->tg.sighand = &f->sh;
    f->tg.start_mono_ns = k.boot_mono_ns + 2 * 1000000000ll; /* 2 s after boot: 200 ticks */
    f->tg.utime_ns = 100 * 1000000ll;                        /* exited threads: 10 ticks */
    f->tg.stime_ns = 0;
    for (i = 0; i < RLIM_NLIMITS; i++)
        f->tg.rlim[i].rlim_cur = f->tg.rlim[i].rlim_max = RLIM_INFINITY;
    f->tg.rlim[RLIMIT_NOFILE].rlim_cur = 1024;
    f->tg.rlim[RLIMIT_NOFILE].rlim_max = 1048576;
    f->tg.rlim[RLIMIT_STACK].rlim_cur = 8 << 20;
    f->tg.rlim[RLIMIT_CORE].rlim_cur = 0;
    f->tg.rlim[RLIMIT_SIGPENDING].rlim_cur = f->tg.rlim[RLIMIT_SIGPENDING].rlim_max = 63499;
    fb_list_init(&f->tg.threads);
    fb_list_init(&f->tg.shared_pending.list);
    f->sh.action[SIGPIPE - 1].handler = (uint64_t)(uintptr_t)SIG_IGN;
    f->sh.action[SIGTERM - 1].handler = 0x401234;

    f->t.tid = 42;
    f->t2.tid = 43;
    f->t.tg = f->t2.tg = &f->tg;
    f->t.mm = f->t2.mm = &f->mm;
    f->t.fs = &f->fs;
    f->fs.umask = 022;
    f->t.state = FB_TASK_SLEEPING;
    f->t2.state = FB_TASK_RUNNING;
    f->t.utime_ns = 250 * 1000000ll; /* 25 ticks */
    f->t.stime_ns = 30 * 1000000ll;  /* 3 ticks */
    f->t2.utime_ns = 50 * 1000000ll; /* 5 ticks */
    f->t.blocked = 1ull << (SIGUSR1 - 1);
    strcpy(f->t.comm, "my (prog)");
    strcpy(f->t2.comm, "worker");
    fb_list_init(&f->t.pending.list);
    fb_list_init(&f->t2.pending.list);
    fb_list_add_tail(&f->tg.threads, &f->t.tg_node);
    fb_list_add_tail(&f->tg.threads, &f->t2.tg_node);
    fb_list_add_tail(&k.tasks, &f->t.knode);
    fb_list_add_tail(&k.tasks, &f->t2.knode);

    f->mm.exe = exe;
    f->mm.brk_start = 0x600000;
    f->mm.stack_start = 0x7fffffffe000;
    f->mm.resident = 10;
    f->mm.vmas.v = f->vmas;
    f->mm.vmas.n = 6;
    f->mm.vmas.cap = 6;
    f->vmas[0] = (struct fb_vma){.start = 0x400000,
                                 .end = 0x401000,
                                 .prot = PROT_READ,
                                 .map = &dummy_map,
                                 .off = 0,
                                 .name = exe};
    f->vmas[1] = (struct fb_vma){.start = 0x401000,
                                 .end = 0x403000,
                                 .prot = PROT_READ | PROT_EXEC,
                                 .map = &dummy_map,
                                 .off = 0x1000,
                                 .name = exe};
    f->vmas[2] = (struct fb_vma){
        .start = 0x600000, .end = 0x621000, .prot = PROT_READ | PROT_WRITE, .flags = FB_VMA_HEAP};
    f->vmas[3] = (struct fb_vma){.start = 0x7f0000000000,
                                 .end = 0x7f0000002000,
                                 .prot = PROT_READ | PROT_WRITE,
                                 .flags = FB_VMA_SHARED,
                                 .map = &dummy_map,
                                 .name = shm};
    f->vmas[4] = (struct fb_vma){
        .start = 0x7f0000010000, .end = 0x7f0000011000, .prot = PROT_READ | PROT_WRITE};
    f->vmas[5] = (struct fb_vma){.start = 0x7ffffffde000,
                                 .end = 0x7ffffffff000,
                                 .prot = PROT_READ | PROT_WRITE,
                                 .flags = FB_VMA_STACK | FB_VMA_GROWSDOWN};
}

/* The n-th line of text (0-based), copied into out. */
static const char *line_of(const char *text, int n, char *out, size_t size)
{
    const char *s = text, *e;
    while (n-- > 0) {
        s = strchr(s, '\n');
        if (!s)
            return NULL;
        s++;
    }
    e = strchr(s, '\n');
    if (!e)
        e = s + strlen(s);
    if ((size_t)(e - s) >= size)
        return NULL;
    memcpy(out, s, (size_t)(e - s));
    out[e - s] = 0;
    return out;
}

/* ---- buffer ---------------------------------------------------------------------------------- */

static void test_pbuf_grows(void)
{
    struct fb_pbuf b = {0};
    int i;
    for (i = 0; i < 10000; i++)
        fb_pbuf_printf(&b, "%05d,", i);
    FBT_CHECK(!b.oom);
    FBT_CHECK_EQ(b.len, 60000);
    FBT_CHECK(memcmp(b.data + 59994, "09999,", 6) == 0);
    fb_pbuf_printf(&b, "%s", ""); /* empty append keeps the terminator */
    FBT_CHECK_EQ(b.data[b.len], 0);
    fb_pbuf_reset(&b);
    FBT_CHECK_EQ(b.len, 0);
    fb_pbuf_write(&b, "\0x", 2); /* binary content */
    FBT_CHECK_EQ(b.len, 2);
    fb_pbuf_free(&b);
}

/* ---- maps ------------------------------------------------------------------------------------ */

static void test_maps_format(void)
{
    struct fake f;
    struct fb_pbuf b = {0};
    char line[256], want[256];

    fake_init(&f);
    FBT_CHECK_EQ(fb_procfs_gen_maps(&b, &f.mm), 0);
    /* Named mappings: the name starts at column 73, like Linux. */
    memset(want, ' ', sizeof(want));
    memcpy(want, "00400000-00401000 r--p 00000000 00:00 0", 39);
    strcpy(want + 73, "/usr/bin/prog");
    FBT_CHECK_STR(line_of(b.data, 0, line, sizeof(line)), want);
    memcpy(want, "00401000-00403000 r-xp 00001000 00:00 0", 39);
    FBT_CHECK_STR(line_of(b.data, 1, line, sizeof(line)), want);
    memcpy(want, "00600000-00621000 rw-p 00000000 00:00 0", 39);
    strcpy(want + 73, "[heap]");
    FBT_CHECK_STR(line_of(b.data, 2, line, sizeof(line)), want);
    /* Wider addresses push the padding; shared mappings show 's'. */
    memset(want, ' ', sizeof(want));
    memcpy(want, "7f0000000000-7f0000002000 rw-s 00000000 00:00 0", 47);
    strcpy(want + 73, "/dev/shm/x");
    FBT_CHECK_STR(line_of(b.data, 3, line, sizeof(line)), want);
    /* Anonymous mappings end with a space (Linux prints the separator before the padding). */
    FBT_CHECK_STR(line_of(b.data, 4, line, sizeof(line)),
                  "7f0000010000-7f0000011000 rw-p 00000000 00:00 0 ");
    memcpy(want, "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0", 47);
    strcpy(want + 73, "[stack]");
    FBT_CHECK_STR(line_of(b.data, 5, line, sizeof(line)), want);
    FBT_CHECK(line_of(b.data, 6, line, sizeof(line)) == NULL || line[0] == 0);
    FBT_CHECK_EQ(b.data[b.len - 1], '\n');
    fb_pbuf_free(&b);

    /* No mm (a task that is exiting): an empty file. */
    FBT_CHECK_EQ(fb_procfs_gen_maps(&b, NULL), 0);
    FBT_CHECK_EQ(b.len, 0);
    fb_pbuf_free(&b);
}

static void test_maps_newline_in_name(void)
{
    struct fake f;
    struct fb_pbuf b = {0};
    char name[] = "/tmp/a\nb";

    fake_init(&f);
    f.vmas[0].name = name;
    f.mm.vmas.n = 1;
    FBT_CHECK_EQ(fb_procfs_gen_maps(&b, &f.mm), 0);
    FBT_CHECK(strstr(b.data, " /tmp/a\\012b\n") != NULL);
    FBT_CHECK(strchr(b.data, '\n') == b.data + b.len - 1);
    fb_pbuf_free(&b);
}

/* ---- stat ------------------------------------------------------------------------------------ */

/* Split /proc/<pid>/stat into its 52 fields (field 2 keeps its parentheses). */
static int stat_fields(char *s, char *fields[64])
{
    char *open = strchr(s, '('), *close = strrchr(s, ')'), *p;
    int n = 0;
    if (!open || !close)
        return -1;
    *(open - 1) = 0;
    fields[n++] = s;
    close[1] = 0;
    fields[n++] = open;
    for (p = strtok(close + 2, " \n"); p && n < 64; p = strtok(NULL, " \n"))
        fields[n++] = p;
    return n;
}

static void test_stat_process(void)
{
    struct fake f;
    struct fb_pbuf b = {0};
    char *fl[64];
    unsigned long long vsize = 0x1000 + 0x2000 + 0x21000 + 0x2000 + 0x1000 + 0x21000;

    fake_init(&f);
    k.next_pid = 44;
    FBT_CHECK_EQ(fb_procfs_gen_stat(&b, &f.tg, &f.t, false), 0);
    FBT_CHECK_EQ(b.data[b.len - 1], '\n');
    FBT_CHECK_EQ(stat_fields(b.data, fl), 52);
    FBT_CHECK_STR(fl[0], "42");
    FBT_CHECK_STR(fl[1], "(my (prog))");
    FBT_CHECK_STR(fl[2], "S");
    FBT_CHECK_STR(fl[3], "1");    /* ppid */
    FBT_CHECK_STR(fl[4], "42");   /* pgrp */
    FBT_CHECK_STR(fl[5], "1");    /* session */
    FBT_CHECK_STR(fl[6], "0");    /* tty_nr */
    FBT_CHECK_STR(fl[7], "-1");   /* tpgid */
    FBT_CHECK_STR(fl[13], "40");  /* utime: 10 (exited) + 25 + 5 ticks */
    FBT_CHECK_STR(fl[14], "3");   /* stime */
    FBT_CHECK_STR(fl[17], "20");  /* priority */
    FBT_CHECK_STR(fl[18], "0");   /* nice */
    FBT_CHECK_STR(fl[19], "2");   /* num_threads */
    FBT_CHECK_STR(fl[20], "0");   /* itrealvalue */
    FBT_CHECK_STR(fl[21], "200"); /* starttime: 2 s after boot */
    FBT_CHECK_EQ(strtoull(fl[22], NULL, 10), vsize);
    FBT_CHECK_STR(fl[23], "10");                        /* rss pages */
    FBT_CHECK_STR(fl[24], "18446744073709551615");      /* rsslim unlimited */
    FBT_CHECK_EQ(strtoull(fl[25], NULL, 10), 0x401000); /* startcode: the exe's text */
    FBT_CHECK_EQ(strtoull(fl[26], NULL, 10), 0x403000);
    FBT_CHECK_EQ(strtoull(fl[27], NULL, 10), 0x7fffffffe000ull);     /* startstack */
    FBT_CHECK_STR(fl[30], "0");                                      /* signal */
    FBT_CHECK_EQ(strtoull(fl[31], NULL, 10), 1ull << (SIGUSR1 - 1)); /* blocked */
    FBT_CHECK_EQ(strtoull(fl[32], NULL, 10), 1ull << (SIGPIPE - 1)); /* sigignore */
    FBT_CHECK_EQ(strtoull(fl[33], NULL, 10), 1ull << (SIGTERM - 1)); /* sigcatch */
    FBT_CHECK_STR(fl[37], "17");                                     /* exit_signal */
    FBT_CHECK_EQ(strtoull(fl[46], NULL, 10), 0x600000);              /* start_brk */
    FBT_CHECK_STR(fl[51], "0");                                      /* exit_code */
    fb_pbuf_free(&b);
}

static void test_stat_thread(void)
{
    struct fake f;
    struct fb_pbuf b = {0};
    char *fl[64];

    fake_init(&f);
    FBT_CHECK_EQ(fb_procfs_gen_stat(&b, &f.tg, &f.t2, true), 0);
    FBT_CHECK_EQ(stat_fields(b.data, fl), 52);
    FBT_CHECK_STR(fl[0], "43");
    FBT_CHECK_STR(fl[1], "(worker)");
    FBT_CHECK_STR(fl[2], "R");
    FBT_CHECK_STR(fl[13], "5"); /* this thread's time only */
    FBT_CHECK_STR(fl[19], "2");
    fb_pbuf_free(&b);

    f.tg.stopped = true;
    FBT_CHECK_EQ(fb_procfs_gen_stat(&b, &f.tg, &f.t2, true), 0);
    FBT_CHECK(strstr(b.data, "(worker) T ") != NULL);
    fb_pbuf_free(&b);
}

/* ---- status, statm --------------------------------------------------------------------------- */

static void test_status_fields(void)
{
    struct fake f;
    struct fb_pbuf b = {0};
    int n = fb_procfs_ncpus();
    char want[128];

    fake_init(&f);
    FBT_CHECK_EQ(fb_procfs_gen_status(&b, &f.tg, &f.t, false), 0);
    FBT_CHECK(strncmp(b.data, "Name:\tmy (prog)\nUmask:\t0022\nState:\tS (sleeping)\n", 45) == 0);
    FBT_CHECK(strstr(b.data, "\nTgid:\t42\nNgid:\t0\nPid:\t42\nPPid:\t1\nTracerPid:\t0\n"));
    FBT_CHECK(strstr(b.data, "\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\n"));
    FBT_CHECK(strstr(b.data, "\nFDSize:\t64\nGroups:\t100 27 \n"));
    /* VmSize: 0x1000+0x2000+0x21000+0x2000+0x1000+0x21000 bytes = 288 kB; VmRSS 10 pages. */
    FBT_CHECK(strstr(b.data, "\nVmSize:\t     288 kB\n"));
    FBT_CHECK(strstr(b.data, "\nVmRSS:\t      40 kB\n"));
    FBT_CHECK(strstr(b.data, "\nVmExe:\t       8 kB\n"));
    FBT_CHECK(strstr(b.data, "\nVmStk:\t     132 kB\n"));
    FBT_CHECK(strstr(b.data, "\nThreads:\t2\n"));
    FBT_CHECK(strstr(b.data, "\nSigQ:\t0/63499\n"));
    FBT_CHECK(strstr(b.data, "\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n"));
    FBT_CHECK(strstr(b.data, "\nSigBlk:\t0000000000000200\n"));
    FBT_CHECK(strstr(b.data, "\nSigIgn:\t0000000000001000\nSigCgt:\t0000000000004000\n"));
    FBT_CHECK(strstr(b.data, "\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000000\n"));
    FBT_CHECK(strstr(b.data, "\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\n"));
    FBT_CHECK(strstr(b.data, "\nNoNewPrivs:\t0\nSeccomp:\t0\n"));
    if (n > 1)
        snprintf(want, sizeof(want), "\nCpus_allowed_list:\t0-%d\n", n - 1);
    else
        snprintf(want, sizeof(want), "\nCpus_allowed_list:\t0\n");
    FBT_CHECK(strstr(b.data, want));
    FBT_CHECK(strstr(b.data, "\nvoluntary_ctxt_switches:\t"));
    fb_pbuf_free(&b);

    /* Root has every capability; a pending signal shows; a newline in the name is escaped. */
    f.tg.euid = 0;
    f.t.pending.mask = 1ull << (SIGHUP - 1);
    strcpy(f.t.comm, "a\nb");
    FBT_CHECK_EQ(fb_procfs_gen_status(&b, &f.tg, &f.t, false), 0);
    FBT_CHECK(strncmp(b.data, "Name:\ta\\nb\n", 11) == 0);
    FBT_CHECK(strstr(b.data, "\nCapEff:\t000001ffffffffff\n"));
    FBT_CHECK(strstr(b.data, "\nSigPnd:\t0000000000000001\n"));
    fb_pbuf_free(&b);

    /* A thread's own view. */
    FBT_CHECK_EQ(fb_procfs_gen_status(&b, &f.tg, &f.t2, true), 0);
    FBT_CHECK(strstr(b.data, "\nTgid:\t42\nNgid:\t0\nPid:\t43\n"));
    FBT_CHECK(strstr(b.data, "State:\tR (running)\n"));
    fb_pbuf_free(&b);
}

static void test_cpumask(void)
{
    /* Cpus_allowed as Linux prints it, checked through a fake count. */
    struct fake f;
    struct fb_pbuf b = {0};
    int n = fb_procfs_ncpus();
    const char *p;

    fake_init(&f);
    FBT_CHECK_EQ(fb_procfs_gen_status(&b, &f.tg, &f.t, false), 0);
    p = strstr(b.data, "\nCpus_allowed:\t");
    FBT_CHECK(p != NULL);
    p += 15;
    if (n == 1)
        FBT_CHECK(strncmp(p, "1\n", 2) == 0);
    else if (n == 2)
        FBT_CHECK(strncmp(p, "3\n", 2) == 0);
    else if (n == 8)
        FBT_CHECK(strncmp(p, "ff\n", 3) == 0);
    else
        FBT_CHECK(strchr("0123456789abcdef", *p) != NULL);
    fb_pbuf_free(&b);
}

static void test_statm(void)
{
    struct fake f;
    struct fb_pbuf b = {0};

    fake_init(&f);
    FBT_CHECK_EQ(fb_procfs_gen_statm(&b, &f.mm), 0);
    /* size 72 pages, resident 10, shared 0 (no file page resident), text 2, lib 0,
     * data = heap 33 + anon 1 + stack 33 = 67, dt 0 */
    FBT_CHECK_STR(b.data, "72 10 0 2 0 67 0\n");
    fb_pbuf_free(&b);
}

/* ---- limits ---------------------------------------------------------------------------------- */

static void test_limits(void)
{
    struct fake f;
    struct fb_pbuf b = {0};
    char line[256];

    fake_init(&f);
    FBT_CHECK_EQ(fb_procfs_gen_limits(&b, &f.tg), 0);
    FBT_CHECK_STR(line_of(b.data, 0, line, sizeof(line)),
                  "Limit                     Soft Limit           Hard Limit           Units     ");
    FBT_CHECK_STR(line_of(b.data, 1, line, sizeof(line)),
                  "Max cpu time              unlimited            unlimited            seconds   ");
    FBT_CHECK_STR(line_of(b.data, 4, line, sizeof(line)),
                  "Max stack size            8388608              unlimited            bytes     ");
    FBT_CHECK_STR(line_of(b.data, 5, line, sizeof(line)),
                  "Max core file size        0                    unlimited            bytes     ");
    FBT_CHECK_STR(line_of(b.data, 8, line, sizeof(line)),
                  "Max open files            1024                 1048576              files     ");
    FBT_CHECK_STR(line_of(b.data, 14, line, sizeof(line)),
                  "Max nice priority         unlimited            unlimited            ");
    FBT_CHECK_STR(line_of(b.data, 16, line, sizeof(line)),
                  "Max realtime timeout      unlimited            unlimited            us        ");
    FBT_CHECK(line_of(b.data, 17, line, sizeof(line)) == NULL || line[0] == 0);
    fb_pbuf_free(&b);
}

/* ---- cmdline, environ, auxv (real application memory) ---------------------------------------- */

static void test_cmdline_environ(void)
{
    struct fb_mm *mm = fb_mm_new(&mf, NULL);
    struct fb_pbuf b = {0};
    int64_t a;

    FBT_CHECK(mm != NULL);
    a = fb_mm_mmap(mm, 0, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0, 7,
                   NULL);
    FBT_CHECK(a > 0);
    /* Arguments straddle a page boundary; the environment follows them. */
    mm->arg_start = (uint64_t)a + 4090;
    mm->arg_end = mm->arg_start + 14;
    mm->env_start = mm->arg_end;
    mm->env_end = mm->env_start + 8;
    FBT_CHECK_EQ(fb_mm_copy_out(mm, mm->arg_start, "prog\0-x\0hello\0A=1\0B=2\0", 22), 0);
    FBT_CHECK_EQ(fb_procfs_gen_cmdline(&b, mm), 0);
    FBT_CHECK_EQ(b.len, 14);
    FBT_CHECK(memcmp(b.data, "prog\0-x\0hello\0", 14) == 0);
    fb_pbuf_free(&b);
    FBT_CHECK_EQ(fb_procfs_gen_environ(&b, mm), 0);
    FBT_CHECK_EQ(b.len, 8);
    FBT_CHECK(memcmp(b.data, "A=1\0B=2\0", 8) == 0);
    fb_pbuf_free(&b);

    /* setproctitle(): the argument area was overwritten without its final NUL; the title runs on
     * into the environment and ends at the first NUL. */
    FBT_CHECK_EQ(fb_mm_copy_out(mm, mm->arg_start, "title: busy   ", 14), 0);
    FBT_CHECK_EQ(fb_procfs_gen_cmdline(&b, mm), 0);
    FBT_CHECK_EQ(b.len, 18);
    FBT_CHECK(memcmp(b.data, "title: busy   A=1\0", 18) == 0);
    fb_pbuf_free(&b);

    /* An area that is not mapped reads as empty, not as an error. */
    mm->arg_start = 0x10000;
    mm->arg_end = 0x10010;
    FBT_CHECK_EQ(fb_procfs_gen_cmdline(&b, mm), 0);
    FBT_CHECK_EQ(b.len, 0);
    mm->arg_end = mm->arg_start; /* empty */
    FBT_CHECK_EQ(fb_procfs_gen_cmdline(&b, mm), 0);
    FBT_CHECK_EQ(b.len, 0);
    fb_pbuf_free(&b);
    fb_mm_put(mm);
}

static void test_auxv(void)
{
    struct fake f;
    struct fb_pbuf b = {0};
    uint64_t want[4] = {AT_PAGESZ, 4096, AT_NULL, 0};

    fake_init(&f);
    f.mm.auxv[0] = AT_PAGESZ;
    f.mm.auxv[1] = 4096;
    f.mm.auxv_len = 4; /* the loader counted AT_NULL */
    FBT_CHECK_EQ(fb_procfs_gen_auxv(&b, &f.mm), 0);
    FBT_CHECK_EQ(b.len, sizeof(want));
    FBT_CHECK(memcmp(b.data, want, sizeof(want)) == 0);
    fb_pbuf_free(&b);
    f.mm.auxv_len = 2; /* ... or did not */
    FBT_CHECK_EQ(fb_procfs_gen_auxv(&b, &f.mm), 0);
    FBT_CHECK_EQ(b.len, sizeof(want));
    FBT_CHECK(memcmp(b.data, want, sizeof(want)) == 0);
    fb_pbuf_free(&b);
    f.mm.auxv_len = 1000; /* corrupt count: bounded by the array */
    FBT_CHECK_EQ(fb_procfs_gen_auxv(&b, &f.mm), 0);
    FBT_CHECK(b.len <= sizeof(f.mm.auxv) + 16);
    fb_pbuf_free(&b);
}

/* ---- mounts, fdinfo -------------------------------------------------------------------------- */

static void test_mounts_and_fdinfo(void)
{
    struct fb_sb sb9 = {.type = "9p", .dev = 3}, sbt = {.type = "tmpfs", .dev = 5},
                 sbp = {.type = "proc", .dev = 6};
    struct fb_dentry r9 = {.name = "/"}, tmp = {.name = "tmp", .parent = &r9},
                     sp = {.name = "my dir", .parent = &r9}, rt = {.name = "/"}, rp = {.name = "/"};
    struct fb_mount m9 = {.sb = &sb9, .root = &r9, .source = "none", .flags = 0},
                    mt = {.sb = &sbt,
                          .root = &rt,
                          .parent = &m9,
                          .mountpoint = &tmp,
                          .source = "tmpfs",
                          .flags = FB_MNT_NOSUID | FB_MNT_NODEV},
                    mp = {.sb = &sbp,
                          .root = &rp,
                          .parent = &m9,
                          .mountpoint = &sp,
                          .source = "proc",
                          .flags = FB_MNT_RDONLY | FB_MNT_NOSUID | FB_MNT_NODEV | FB_MNT_NOEXEC};
    struct fb_path root = {&m9, &r9};
    struct fb_inode ino = {.st = {.ino = 77}};
    struct fb_file file = {
        .path = {&mt, &rt}, .inode = &ino, .flags = O_RDWR | O_APPEND, .pos = 123};
    struct fb_pbuf b = {0};
    char line[256];
    int base;

    fb_list_add_tail(fb_vfs_mounts(), &m9.node);
    fb_list_add_tail(fb_vfs_mounts(), &mt.node);
    fb_list_add_tail(fb_vfs_mounts(), &mp.node);
    base = fb_procfs_mount_id(&m9);
    FBT_CHECK(base > 1);
    FBT_CHECK_EQ(fb_procfs_mount_id(&mt), base + 1);

    FBT_CHECK_EQ(fb_procfs_gen_mounts(&b, &root, false), 0);
    FBT_CHECK_STR(b.data, "none / 9p rw,relatime 0 0\n"
                          "tmpfs /tmp tmpfs rw,nosuid,nodev,relatime 0 0\n"
                          "proc /my\\040dir proc ro,nosuid,nodev,noexec,relatime 0 0\n");
    fb_pbuf_free(&b);

    FBT_CHECK_EQ(fb_procfs_gen_mounts(&b, &root, true), 0);
    snprintf(line, sizeof(line), "%d 1 0:3 / / rw,relatime - 9p none rw\n", base);
    FBT_CHECK(strncmp(b.data, line, strlen(line)) == 0);
    snprintf(line, sizeof(line), "%d %d 0:5 / /tmp rw,nosuid,nodev,relatime - tmpfs tmpfs rw\n",
             base + 1, base);
    FBT_CHECK(strstr(b.data, line) != NULL);
    snprintf(line, sizeof(line),
             "%d %d 0:6 / /my\\040dir ro,nosuid,nodev,noexec,relatime - proc proc ro\n", base + 2,
             base);
    FBT_CHECK(strstr(b.data, line) != NULL);
    fb_pbuf_free(&b);

    FBT_CHECK_EQ(fb_procfs_gen_fdinfo(&b, &file, true), 0);
    snprintf(line, sizeof(line), "pos:\t123\nflags:\t02102002\nmnt_id:\t%d\nino:\t77\n", base + 1);
    FBT_CHECK_STR(b.data, line);
    fb_pbuf_free(&b);
    file.flags = O_RDONLY;
    file.path.mnt = NULL; /* an anonymous file (pipe) */
    FBT_CHECK_EQ(fb_procfs_gen_fdinfo(&b, &file, false), 0);
    FBT_CHECK_STR(b.data, "pos:\t123\nflags:\t0100000\nmnt_id:\t0\nino:\t77\n");
    fb_pbuf_free(&b);

    fb_list_del(&m9.node);
    fb_list_del(&mt.node);
    fb_list_del(&mp.node);
}

/* ---- top-level files ------------------------------------------------------------------------- */

static void test_meminfo(void)
{
    struct fb_pbuf b = {0};
    char line[128];
    uint64_t saved = k.mf.used_pages;

    k.opts.memory_limit = 256ull << 20;
    k.mf.used_pages = 1024; /* 4 MiB in use */
    FBT_CHECK_EQ(fb_procfs_gen_meminfo(&b), 0);
    FBT_CHECK_STR(line_of(b.data, 0, line, sizeof(line)), "MemTotal:         262144 kB");
    FBT_CHECK_STR(line_of(b.data, 1, line, sizeof(line)), "MemFree:          258048 kB");
    FBT_CHECK_STR(line_of(b.data, 2, line, sizeof(line)), "MemAvailable:     258048 kB");
    FBT_CHECK(strstr(b.data, "\nSwapTotal:             0 kB\n"));
    FBT_CHECK(strstr(b.data, "\nVmallocTotal:   34359738367 kB\n"));
    FBT_CHECK(strstr(b.data, "\nHugePages_Total:       0\n"));
    FBT_CHECK(strstr(b.data, "\nHugepagesize:       2048 kB\n"));
    fb_pbuf_free(&b);

    /* No limit: the host's RAM. More in use than the total never goes negative. */
    k.opts.memory_limit = 0;
    FBT_CHECK_EQ(fb_procfs_gen_meminfo(&b), 0);
    snprintf(line, sizeof(line), "MemTotal:       %8llu kB",
             (unsigned long long)(fb_procfs_host_mem() >> 10));
    FBT_CHECK(strncmp(b.data, line, strlen(line)) == 0);
    fb_pbuf_free(&b);
    k.opts.memory_limit = 1 << 20;
    FBT_CHECK_EQ(fb_procfs_gen_meminfo(&b), 0);
    FBT_CHECK(strstr(b.data, "\nMemFree:               0 kB\n"));
    fb_pbuf_free(&b);
    k.opts.memory_limit = 0;
    k.mf.used_pages = saved;
}

static int count_lines_starting(const char *text, const char *prefix)
{
    int n = 0;
    size_t len = strlen(prefix);
    const char *s = text;
    while (s && *s) {
        if (strncmp(s, prefix, len) == 0)
            n++;
        s = strchr(s, '\n');
        if (s)
            s++;
    }
    return n;
}

static void test_cpuinfo(void)
{
    struct fb_pbuf b = {0};
    int n = fb_procfs_ncpus();

    FBT_CHECK(n >= 1);
    FBT_CHECK_EQ(fb_procfs_gen_cpuinfo(&b), 0);
    FBT_CHECK_EQ(count_lines_starting(b.data, "processor\t: "), n);
    FBT_CHECK_EQ(count_lines_starting(b.data, "vendor_id\t: "), n);
    FBT_CHECK_EQ(count_lines_starting(b.data, "model name\t: "), n);
    FBT_CHECK_EQ(count_lines_starting(b.data, "cpu MHz\t\t: "), n);
    FBT_CHECK_EQ(count_lines_starting(b.data, "flags\t\t: fpu "), n);
    FBT_CHECK_EQ(count_lines_starting(b.data, "bogomips\t: "), n);
    FBT_CHECK_EQ(count_lines_starting(b.data, "address sizes\t: "), n);
    FBT_CHECK(strstr(b.data, " sse2 ") && strstr(b.data, " lm ") && strstr(b.data, " cpuid "));
    FBT_CHECK(!strstr(b.data, "osxsave"));
    FBT_CHECK(strstr(b.data, "cpu MHz\t\t: 0.000") == NULL);
    /* Blocks end with a blank line. */
    FBT_CHECK(b.len > 2 && strcmp(b.data + b.len - 2, "\n\n") == 0);
    fb_pbuf_free(&b);
}

#define CPUINFO_THREADS 4

struct cpuinfo_reader {
    pthread_barrier_t *start;
    struct fb_pbuf b;
    int r;
};

static void *cpuinfo_read(void *arg)
{
    struct cpuinfo_reader *c = arg;
    pthread_barrier_wait(c->start);
    c->r = fb_procfs_gen_cpuinfo(&c->b);
    return NULL;
}

/* The CPUID facts (and the measured TSC frequency, where CPUID tells none) are gathered at the
 * first read: readers racing for it, and any later read, must see the same text. Runs before any
 * other cpuinfo read, so that the threads do race for the first one. */
static void test_cpuinfo_concurrent_first(void)
{
    struct cpuinfo_reader c[CPUINFO_THREADS];
    pthread_t th[CPUINFO_THREADS];
    pthread_barrier_t start;
    struct fb_pbuf again = {0};
    int i, started = 0;

    memset(c, 0, sizeof(c));
    FBT_CHECK_EQ(pthread_barrier_init(&start, NULL, CPUINFO_THREADS), 0);
    for (i = 0; i < CPUINFO_THREADS; i++) {
        c[i].start = &start;
        c[i].r = -1;
        if (pthread_create(&th[i], NULL, cpuinfo_read, &c[i]) != 0)
            break;
        started++;
    }
    /* Short of threads, those started wait at the barrier for good: fail without joining them. */
    FBT_CHECK_EQ(started, CPUINFO_THREADS);
    for (i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    FBT_CHECK_EQ(fb_procfs_gen_cpuinfo(&again), 0);
    for (i = 0; i < CPUINFO_THREADS; i++) {
        FBT_CHECK_EQ(c[i].r, 0);
        FBT_CHECK_STR(c[i].b.data, again.data);
        fb_pbuf_free(&c[i].b);
    }
    FBT_CHECK(strstr(again.data, "model name\t: "));
    fb_pbuf_free(&again);
}

static void test_uptime_stat_loadavg(void)
{
    struct fake f;
    struct fb_pbuf b = {0};
    double up, idle;
    int n = fb_procfs_ncpus();
    char want[64];

    fake_init(&f); /* booted 10 s ago; two tasks, one running */
    k.next_pid = 44;
    FBT_CHECK_EQ(fb_procfs_gen_uptime(&b), 0);
    FBT_CHECK_EQ(sscanf(b.data, "%lf %lf", &up, &idle), 2);
    FBT_CHECK(up >= 10.0 && up < 11.0);
    FBT_CHECK(idle <= up * n);
    fb_pbuf_free(&b);

    FBT_CHECK_EQ(fb_procfs_gen_kstat(&b), 0);
    FBT_CHECK(strncmp(b.data, "cpu  30 0 3 ", 12) == 0); /* 25 + 5 user ticks, 3 system */
    FBT_CHECK_EQ(count_lines_starting(b.data, "cpu"), n + 1);
    FBT_CHECK(strstr(b.data, "\nprocs_running 1\n"));
    FBT_CHECK(strstr(b.data, "\nprocesses 43\n"));
    FBT_CHECK(strstr(b.data, "\nbtime "));
    fb_pbuf_free(&b);

    FBT_CHECK_EQ(fb_procfs_gen_loadavg(&b), 0);
    FBT_CHECK_STR(b.data, "0.00 0.00 0.00 1/2 43\n");
    fb_pbuf_free(&b);

    FBT_CHECK_EQ(fb_procfs_gen_version(&b), 0);
    snprintf(want, sizeof(want), "Linux version %s ", FB_UNAME_RELEASE);
    FBT_CHECK(strncmp(b.data, want, strlen(want)) == 0);
    fb_pbuf_free(&b);
}

static void test_uuid(void)
{
    struct fb_pbuf a = {0}, b = {0};
    int i;

    FBT_CHECK_EQ(fb_procfs_gen_uuid(&a), 0);
    FBT_CHECK_EQ(fb_procfs_gen_uuid(&b), 0);
    FBT_CHECK_EQ(a.len, 37);
    FBT_CHECK(strcmp(a.data, b.data) != 0);
    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            FBT_CHECK_EQ(a.data[i], '-');
        else
            FBT_CHECK(strchr("0123456789abcdef", a.data[i]) != NULL);
    }
    FBT_CHECK_EQ(a.data[14], '4');
    FBT_CHECK(strchr("89ab", a.data[19]) != NULL);
    FBT_CHECK_EQ(a.data[36], '\n');
    fb_pbuf_free(&a);
    fb_pbuf_free(&b);
}

int main(void)
{
    struct fb_error err;

    fb_k = &k;
    if (fb_memfile_init(&mf, 1ull << 30, &err) != 0) {
        printf("FAIL memfile_init: %s\n", err.msg);
        return 1;
    }
    fb_procfs_host_init();
    FBT_RUN(test_pbuf_grows);
    FBT_RUN(test_maps_format);
    FBT_RUN(test_maps_newline_in_name);
    FBT_RUN(test_stat_process);
    FBT_RUN(test_stat_thread);
    FBT_RUN(test_status_fields);
    FBT_RUN(test_cpumask);
    FBT_RUN(test_statm);
    FBT_RUN(test_limits);
    FBT_RUN(test_cmdline_environ);
    FBT_RUN(test_auxv);
    FBT_RUN(test_mounts_and_fdinfo);
    FBT_RUN(test_meminfo);
    FBT_RUN(test_cpuinfo_concurrent_first); /* the first cpuinfo read of the program */
    FBT_RUN(test_cpuinfo);
    FBT_RUN(test_uptime_stat_loadavg);
    FBT_RUN(test_uuid);
    fb_memfile_destroy(&mf);
    FBT_EXIT();
}
