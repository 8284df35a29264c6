/* Syscall dispatch and --strace output. */
#include "kernel/syscalls/syscall.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kernel/futex/futex.h"
#include "kernel/mm/mm.h"
#include "kernel/signal/signal.h"
#include "kernel/util/cleanup.h"
#include "kernel/util/log.h"

struct strace_buf {
    char s[1024];
    size_t n;
};

static void sb_printf(struct strace_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct strace_buf *b, const char *fmt, ...)
{
    va_list ap;
    int k;
    if (b->n >= sizeof(b->s) - 1)
        return;
    va_start(ap, fmt);
    k = vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
    va_end(ap);
    if (k > 0)
        b->n = FB_MIN(b->n + (size_t)k, sizeof(b->s) - 1);
}

/* Print application bytes as a C string literal, at most max bytes. */
static void sb_user_bytes(struct strace_buf *b, struct fb_task *t, uint64_t addr, size_t len,
                          bool stop_at_nul)
{
    uint8_t buf[48];
    size_t n = FB_MIN(len, sizeof(buf)), i;

    if (!addr) {
        sb_printf(b, "NULL");
        return;
    }
    if (stop_at_nul) {
        int64_t l = fb_mm_copy_string_in(t->mm, addr, (char *)buf, sizeof(buf));
        if (l == -EFAULT) {
            sb_printf(b, "%#lx", (unsigned long)addr);
            return;
        }
        n = l < 0 ? sizeof(buf) : (size_t)l;
        len = l < 0 ? sizeof(buf) + 1 : (size_t)l;
    } else if (fb_mm_copy_in(t->mm, addr, buf, n) != 0) {
        sb_printf(b, "%#lx", (unsigned long)addr);
        return;
    }
    sb_printf(b, "\"");
    for (i = 0; i < n; i++) {
        uint8_t c = buf[i];
        if (c == '\n')
            sb_printf(b, "\\n");
        else if (c == '\t')
            sb_printf(b, "\\t");
        else if (c == '"' || c == '\\')
            sb_printf(b, "\\%c", c);
        else if (isprint(c))
            sb_printf(b, "%c", c);
        else
            sb_printf(b, "\\x%02x", c);
    }
    sb_printf(b, "\"%s", len > n ? "..." : "");
}

struct flag_name {
    uint64_t bit;
    const char *name;
};

static void sb_flags(struct strace_buf *b, uint64_t v, const struct flag_name *tab, size_t n,
                     const char *zero)
{
    bool first = true;
    size_t i;
    if (!v && zero) {
        sb_printf(b, "%s", zero);
        return;
    }
    for (i = 0; i < n; i++) {
        if (tab[i].bit && (v & tab[i].bit) == tab[i].bit) {
            sb_printf(b, "%s%s", first ? "" : "|", tab[i].name);
            v &= ~tab[i].bit;
            first = false;
        }
    }
    if (v || first)
        sb_printf(b, "%s%#lx", first ? "" : "|", (unsigned long)v);
}

#define FLAG(x) {x, #x}
static const struct flag_name open_flags[] = {FLAG(O_WRONLY),   FLAG(O_RDWR),     FLAG(O_CREAT),     FLAG(O_EXCL),
                  FLAG(O_NOCTTY),   FLAG(O_TRUNC),    FLAG(O_APPEND),    FLAG(O_NONBLOCK),
                  FLAG(O_DSYNC),    FLAG(O_DIRECT),   FLAG(O_LARGEFILE), FLAG(O_DIRECTORY),
                  FLAG(O_NOFOLLOW), FLAG(O_NOATIME),  FLAG(O_CLOEXEC),   FLAG(O_PATH)},
  prot_flags[] = {FLAG(PROT_READ), FLAG(PROT_WRITE), FLAG(PROT_EXEC)},
  map_flags[] = {FLAG(MAP_SHARED),    FLAG(MAP_PRIVATE),   FLAG(MAP_FIXED),
                 FLAG(MAP_ANONYMOUS), FLAG(MAP_GROWSDOWN), FLAG(MAP_DENYWRITE),
                 FLAG(MAP_NORESERVE), FLAG(MAP_POPULATE),  FLAG(MAP_STACK),
                 FLAG(MAP_FIXED_NOREPLACE)};

static void sb_arg(struct strace_buf *b, struct fb_task *t, char fmt, const uint64_t *a, int i,
                   int64_t ret, bool exited)
{
    uint64_t v = a[i];
    switch (fmt) {
    case 'd':
    case 'f':
        if (fmt == 'f' && (int)v == AT_FDCWD)
            sb_printf(b, "AT_FDCWD");
        else
            sb_printf(b, "%d", (int)v);
        break;
    case 'u':
        sb_printf(b, "%lu", (unsigned long)v);
        break;
    case 'o':
        sb_printf(b, "%#lo", (unsigned long)v);
        break;
    case 's':
        sb_user_bytes(b, t, v, 4096, true);
        break;
    case 'b':
        sb_user_bytes(b, t, v, (size_t)a[i + 1], false);
        break;
    case 'B':
        if (exited && ret > 0)
            sb_user_bytes(b, t, v, (size_t)ret, false);
        else
            sb_printf(b, "%#lx", (unsigned long)v);
        break;
    case 'O':
        if ((v & O_ACCMODE) == O_RDONLY)
            sb_printf(b, "O_RDONLY%s", (v & ~(uint64_t)O_ACCMODE) ? "|" : "");
        if (v & ~(uint64_t)O_ACCMODE || (v & O_ACCMODE))
            sb_flags(b, v & ~(uint64_t)((v & O_ACCMODE) == O_RDONLY ? O_ACCMODE : 0), open_flags,
                     FB_ARRAY_SIZE(open_flags), NULL);
        break;
    case 'P':
        sb_flags(b, v, prot_flags, FB_ARRAY_SIZE(prot_flags), "PROT_NONE");
        break;
    case 'M':
        sb_flags(b, v, map_flags, FB_ARRAY_SIZE(map_flags), "0");
        break;
    case 'S': {
        const char *n = sigabbrev_np((int)v);
        if (n)
            sb_printf(b, "SIG%s", n);
        else
            sb_printf(b, "%d", (int)v);
        break;
    }
    case 'p':
        if (!v)
            sb_printf(b, "NULL");
        else
            sb_printf(b, "%#lx", (unsigned long)v);
        break;
    default:
        sb_printf(b, "%#lx", (unsigned long)v);
    }
}

static void strace_line(struct fb_task *t, uint64_t nr, const uint64_t *a, int64_t ret,
                        bool exited)
{
    struct strace_buf b = {.n = 0};
    const struct fb_syscall_desc *d = nr < FB_NR_SYSCALLS ? &fb_syscall_table[nr] : NULL;
    const char *name = d && d->name ? d->name : NULL;
    int i, nargs;

    sb_printf(&b, "[pid %5d] ", t->tid);
    if (name)
        sb_printf(&b, "%s(", name);
    else
        sb_printf(&b, "syscall_%lu(", (unsigned long)nr);
    nargs = d && d->args ? (int)strlen(d->args) : 6;
    for (i = 0; i < nargs && i < 6; i++) {
        if (i)
            sb_printf(&b, ", ");
        sb_arg(&b, t, d && d->args ? d->args[i] : 'x', a, i, ret, exited);
    }
    sb_printf(&b, ")");
    if (!exited) {
        sb_printf(&b, " = ?");
    } else if (ret < 0 && ret >= -4095) {
        const char *en = strerrorname_np((int)-ret);
        if (ret == -ENOSYS && (!d || !d->fn || d->support == FB_SC_NONE))
            sb_printf(&b, " = -1 ENOSYS (not implemented in fnbox)");
        else
            sb_printf(&b, " = -1 %s (%s)", en ? en : "E?", strerror((int)-ret));
    } else if (nr == 9 || nr == 12 || nr == 25) { /* mmap, brk, mremap return addresses */
        sb_printf(&b, " = %#lx", (unsigned long)ret);
    } else {
        sb_printf(&b, " = %ld", (long)ret);
    }
    if (t->sc_restart)
        sb_printf(&b, " (interrupted, %s)", t->sc_restart == FB_ERESTARTSYS ? "ERESTARTSYS" :
                                             t->sc_restart == FB_ERESTARTNOHAND
                                                 ? "ERESTARTNOHAND"
                                                 : "ERESTART");
    sb_printf(&b, "\n");
    (void)!write(STDERR_FILENO, b.s, b.n);
}

/* Per-syscall counts and time in the kernel, printed by fnbox run -vv. */
static uint64_t prof_count[FB_NR_SYSCALLS];
static int64_t prof_ns[FB_NR_SYSCALLS];

void fb_syscall_print_profile(void)
{
    int order[FB_NR_SYSCALLS], n = 0, i, j;
    for (i = 0; i < FB_NR_SYSCALLS; i++)
        if (prof_count[i])
            order[n++] = i;
    for (i = 1; i < n; i++)
        for (j = i; j > 0 && prof_ns[order[j]] > prof_ns[order[j - 1]]; j--) {
            int x = order[j];
            order[j] = order[j - 1];
            order[j - 1] = x;
        }
    for (i = 0; i < n && i < 25; i++)
        fb_dbg("syscall profile: %-20s %6lu calls %8.2f ms %7.1f us/call",
               fb_syscall_table[order[i]].name, (unsigned long)prof_count[order[i]],
               prof_ns[order[i]] / 1e6, prof_ns[order[i]] / 1e3 / (double)prof_count[order[i]]);
}

void fb_syscall_dispatch(struct fb_task *t)
{
    struct user_regs_struct *r = &t->cpu.regs;
    uint64_t nr = r->orig_rax;
    uint64_t a[6] = {r->rdi, r->rsi, r->rdx, r->r10, r->r8, r->r9};
    const struct fb_syscall_desc *d = nr < FB_NR_SYSCALLS ? &fb_syscall_table[nr] : NULL;
    int64_t ret;

    if (t->futex_parked && (!t->restarting || nr != t->sc_nr))
        fb_futex_unpark(t); /* not the restart of the interrupted wait */
    if (!t->restarting)
        t->sc_deadline = 0;
    t->sc_nr = nr;
    memcpy(t->sc_args, a, sizeof(a));
    t->sc_restart = 0;
    if (fb_k->opts.strace && (nr == 60 || nr == 231 || nr == 59 || nr == 322))
        strace_line(t, nr, a, 0, false); /* these may not return */
    {
        int64_t t0 = fb_log_verbosity >= FB_LOG_DEBUG ? fb_host_mono_ns() : 0;
        ret = d && d->fn ? d->fn(t, a) : -ENOSYS;
        if (t0 && nr < FB_NR_SYSCALLS) {
            prof_count[nr]++;
            prof_ns[nr] += fb_host_mono_ns() - t0;
        }
    }
    t->restarting = false;
    if (ret <= -FB_ERESTARTSYS && ret >= -FB_ERESTART_RESTARTBLOCK) {
        t->sc_restart = (int)-ret;
        ret = -EINTR; /* replaced by the restart decision before returning */
    } else {
        t->sc_deadline = 0;
    }
    r->rax = (uint64_t)ret;
    if (fb_k->opts.strace && nr != 60 && nr != 231)
        strace_line(t, nr, a, ret, true);
}

void fb_syscall_print_markdown(void)
{
    static const char *lvl[] = {"not implemented (ENOSYS)", "full", "partial", "refused"};
    int i, counts[4] = {0};

    for (i = 0; i < FB_NR_SYSCALLS; i++)
        if (fb_syscall_table[i].name)
            counts[fb_syscall_table[i].support]++;
    printf("# Syscall compatibility\n\n"
           "Generated from `kernel/syscalls/table_x86_64.c` by `make docs` "
           "(`build/fnbox syscalls --markdown`). Do not edit by hand.\n\n"
           "Every x86_64 system call is listed. *full*: implemented by the fnbox kernel; "
           "*partial*: implemented for common uses (the note says what is missing); "
           "*refused*: deliberately answered with a fixed error (the sandbox does not give "
           "this host facility to applications); *not implemented*: returns `ENOSYS`, and "
           "`--strace` names it.\n\n"
           "Totals: %d full, %d partial, %d refused, %d not implemented.\n\n"
           "| nr | name | support | note |\n|---:|---|---|---|\n",
           counts[FB_SC_FULL], counts[FB_SC_PARTIAL], counts[FB_SC_ERROR], counts[FB_SC_NONE]);
    for (i = 0; i < FB_NR_SYSCALLS; i++) {
        const struct fb_syscall_desc *d = &fb_syscall_table[i];
        if (!d->name)
            continue;
        printf("| %d | `%s` | %s | %s |\n", i, d->name, lvl[d->support], d->note ? d->note : "");
    }
}
