/* ptrace platform: application code runs in stub processes traced with PTRACE_SYSEMU, so every
 * system call stops in the Sentry instead of reaching the host. One stub process per address space.
 *
 * Threads: only the tracing host thread may drive a tracee, so each context (one per task, owned
 * by the task's Sentry host thread) owns one stub thread in the address space it runs in. New stub
 * processes are forked by a pristine "source stub" on request and wait untraced in an idle loop
 * until the context that will run them seizes them (PTRACE_SEIZE + PTRACE_INTERRUPT); new threads
 * in an existing stub are created by injecting clone() through a context already in it.
 *
 * Stubs hold nothing of the Sentry: the source stub is forked before lock-down, unmaps everything
 * but the stub pages, keeps only the memory file (fd FB_STUB_MEMFD) and the receiving end of a
 * datagram socket (STUB_PASS_FD) on which the Sentry sends the read-only host fds of files it
 * maps directly (map_fds), and installs a seccomp filter so that only the stub code page can make
 * real host system calls. */
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/rseq.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <elf.h>
#include <time.h>
#include <unistd.h>

#include "kernel/util/cleanup.h"
#include "kernel/util/log.h"

/* Symbols from stub_x86_64.S (in the Sentry's text; copied to FB_STUB_BASE in stubs). */
extern const char fb_stub_code_start[], fb_stub_code_end[];
extern const char fb_stub_source_entry[], fb_stub_syscall_site[], fb_stub_clone_site[],
    fb_stub_idle[], fb_stub_syscall_trap[], fb_stub_clone_trap[], fb_stub_map_site[],
    fb_stub_map_trap[];

#define STUB_ADDR(sym) (FB_STUB_BASE + (uint64_t)((sym) - fb_stub_code_start))
#define STUB_CTL_FD    4
#define STUB_DATA      (FB_STUB_BASE + 4096)
#define STUB_PASS_FD   5
/* The stubs' data pages: one memfd, a page per address space (its slot), mapped read-only at
 * STUB_DATA in that stub and read-write in the Sentry, which writes map records and vDSO
 * parameters there with plain stores instead of a PTRACE_POKEDATA per word. A stub gets the
 * file (fd 6) from the source stub and closes it once its page is mapped. */
#define STUB_PAGES_FD  6
#define STUB_SLOTS     16384 /* address spaces at once (64 MiB of sparse file) */
/* The stub's scratch page (writable by the stub, and so by the application's other threads:
 * nothing the Sentry relies on lives there) and the layout map_fds gives it: a struct msghdr,
 * its iovec, the byte that carries the fd, and the cmsg buffer. */
#define STUB_SCRATCH   (FB_STUB_BASE + 8192)
#define SCR_IOV        64
#define SCR_BYTE       88
#define SCR_CMSG       96
/* Records of a map batch (address | prot | REC_CLOSE | REC_POPULATE, length, offset, fd: four
 * words each) that fit the stub's data page before the vDSO parameters at its end. The stub
 * passes bits 0-9 of the first word's low 12 to mmap as prot, adds MAP_POPULATE to the flags of
 * a record with REC_POPULATE and, in a batch of passed host files, closes the fd of each record
 * with REC_CLOSE (stub_x86_64.S keeps the same numbers). */
#define MAP_BATCH_MAX 126
#define REC_PROT      0x3ff
#define REC_CLOSE     0x400
#define REC_POPULATE  0x800
_Static_assert(STUB_DATA + MAP_BATCH_MAX * 32 <= FB_VDSO_PARAMS_ADDR &&
                   FB_VDSO_PARAMS_ADDR + sizeof(struct fb_vdso_params) <= STUB_DATA + 4096,
               "map batches and vDSO parameters share the data page");
/* Host signal used to kick a running stub thread back to its tracer. Stubs never see it
 * otherwise; a traced thread reports it even though its disposition is "ignore". */
#define KICK_SIGNAL SIGURG

struct fb_platform_ptrace {
    struct fb_platform base;
    pid_t source_pid;
    int ctl_fd;
    pthread_mutex_t ctl_lock;
    struct fb_vdso_params vdso; /* what every new stub gets (but the clock offset) */
    int pass_fd;                /* sending end of the stubs' fd socket */
    pthread_mutex_t pass_lock;  /* one fd in flight at a time: all stubs share the socket */
    atomic_bool pass_broken;    /* a pass failed: a stray fd may sit in the queue, stop using it */
    uint8_t *pages;             /* the data-page file, mapped (STUB_SLOTS pages) */
    pthread_mutex_t slot_lock;
    int *free_slots, nfree_slots; /* slots given back, reused first */
    int next_slot;                /* slots below it were handed out at least once */
    int cpus[CPU_SETSIZE]; /* CPUs the Sentry may run on */
    int ncpus;
    atomic_uint next_cpu;
};

struct fb_as {
    struct fb_platform_ptrace *p;
    pid_t pid;
    pthread_mutex_t lock;
    pid_t *spares; /* untraced idle threads waiting for a context */
    size_t nspares, cap;
    atomic_bool dead;
    atomic_bool params_done; /* the vDSO parameters are in its data page */
    int slot;                /* its data page in p->pages */
    atomic_bool data_mapped; /* ... and mapped at STUB_DATA in the stub */
    atomic_int refs; /* the owner (mm) plus one per context whose stub thread is in it */
};

enum ctx_state { CTX_IDLE = 0, CTX_RUNNING = 1 };

struct fb_pctx {
    struct fb_platform_ptrace *p;
    struct fb_as *as; /* address space its stub thread is in, or NULL */
    pid_t tid;        /* traced stub thread, or 0 */
    pid_t owner;      /* host tid of the owning Sentry thread */
    atomic_int state;
    atomic_bool interrupt_pending;
    int cpu;      /* host CPU this context runs on, or -1 for no binding */
    int last_cpu; /* host CPU the stub thread was last bound to */
    struct user_regs_struct tmpl; /* valid user segment state for injected calls */
    uint64_t inj_r12;             /* %r12 at the end of the last injected call */
};

static size_t fpstate_size;

size_t fb_platform_fpstate_size(void)
{
    if (!fpstate_size) {
        unsigned a, b, c, d;
        __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xd), "c"(0));
        fpstate_size = b > 512 + 64 ? b : 512 + 64;
    }
    return fpstate_size;
}

void fb_platform_fpstate_init(uint8_t *fp)
{
    memset(fp, 0, fb_platform_fpstate_size());
    *(uint16_t *)(fp + 0) = 0x37f;   /* FCW: all exceptions masked, 64-bit precision */
    *(uint32_t *)(fp + 24) = 0x1f80; /* MXCSR: all exceptions masked */
    *(uint32_t *)(fp + 28) = 0xffff; /* MXCSR_MASK (ignored on restore) */
    *(uint64_t *)(fp + 512) = 3;     /* XSTATE_BV: x87 and SSE state present */
}

/* ---- source stub ---------------------------------------------------------------------------- */

/* The seccomp filter of every stub: system calls are allowed only from the stub code page and
 * only the few the stub code makes. Anything else from elsewhere traps (the tracer turns it into
 * an application signal); the kernel consults it only for calls that ptrace lets through. */
static void stub_install_seccomp(void)
{
    const uint32_t lo = (uint32_t)FB_STUB_BASE, hi = (uint32_t)(FB_STUB_BASE >> 32);
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer) + 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, hi, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer)),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, lo, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, lo + 4096, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_read, 11, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_write, 10, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_recvmsg, 9, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_close, 8, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, 7, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mprotect, 6, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_munmap, 5, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pause, 4, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 3, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_exit, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_exit_group, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = FB_ARRAY_SIZE(f), .filter = f};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
        _exit(120);
}

/* Child side of the source stub fork: runs Sentry code only until it jumps into the stub page. */
static __attribute__((noreturn)) void source_stub_main(int memfd, int ctl, int pass, int pages)
{
    sigset_t none;
    void *page;
    int i;

    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (i = 1; i < NSIG; i++)
        signal(i, SIG_DFL);
    signal(SIGCHLD, SIG_IGN); /* child stubs are reaped automatically */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    prctl(PR_SET_NAME, "fnbox-stub");
    /* Keep exactly four fds: the memory file, the control socket (closed by every child), the
     * fd socket (non-blocking: a receive with nothing queued must not hang a stub) and the
     * data-page file. */
    memfd = fcntl(memfd, F_DUPFD, 100);
    ctl = fcntl(ctl, F_DUPFD, 100);
    pass = fcntl(pass, F_DUPFD, 100);
    pages = fcntl(pages, F_DUPFD, 100);
    if (memfd < 0 || ctl < 0 || pass < 0 || pages < 0 || dup2(memfd, FB_STUB_MEMFD) < 0 ||
        dup2(ctl, STUB_CTL_FD) < 0 || dup2(pass, STUB_PASS_FD) < 0 ||
        dup2(pages, STUB_PAGES_FD) < 0)
        _exit(121);
    fcntl(FB_STUB_MEMFD, F_SETFD, 0);
    fcntl(STUB_CTL_FD, F_SETFD, 0);
    fcntl(STUB_PASS_FD, F_SETFD, 0);
    fcntl(STUB_PAGES_FD, F_SETFD, 0);
    if (fcntl(STUB_PASS_FD, F_SETFL, O_NONBLOCK) != 0)
        _exit(121);
    if (syscall(SYS_close_range, 0, FB_STUB_MEMFD - 1, 0) != 0 ||
        syscall(SYS_close_range, STUB_PAGES_FD + 1, ~0U, 0) != 0)
        _exit(122);

    /* The host's vDSO and its data pages to FB_HOST_VDSO_BASE, distances kept (its code finds
     * its data by fixed offsets); tell the Sentry whether that worked. */
    {
        const struct fb_host_vdso *v = &fb_host_vdso;
        char ok = v->n > 0 ? '1' : '0';
        for (i = 0; i < v->n && ok == '1'; i++) {
            uint64_t to = FB_HOST_VDSO_BASE + (v->start[i] - v->span_start);
            if (syscall(SYS_mremap, v->start[i], v->end[i] - v->start[i],
                        v->end[i] - v->start[i], MREMAP_MAYMOVE | MREMAP_FIXED, to) != (long)to)
                ok = '0';
        }
        if (write(STUB_CTL_FD, &ok, 1) != 1)
            _exit(128);
    }
    page = mmap((void *)FB_STUB_BASE, FB_STUB_MAPPED, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (page != (void *)FB_STUB_BASE)
        _exit(123);
    memcpy(page, fb_stub_code_start, (size_t)(fb_stub_code_end - fb_stub_code_start));
    if (mprotect(page, 4096, PROT_READ | PROT_EXEC) != 0)
        _exit(124);
    /* Forget per-thread user memory the host kernel would otherwise touch after we unmap it:
     * glibc's rseq area (touched on every return to user mode), the robust futex list and the
     * clear-tid word. */
    if (__rseq_size > 0) {
        /* glibc registers a 32-byte area but exports the 20-byte feature size; the kernel
         * wants the registered length back. */
        void *area = (char *)__builtin_thread_pointer() + __rseq_offset;
        if (syscall(SYS_rseq, area, 32, 1 /* RSEQ_FLAG_UNREGISTER */, 0x53053053) != 0 &&
            syscall(SYS_rseq, area, __rseq_size, 1, 0x53053053) != 0)
            _exit(126);
    }
    syscall(SYS_set_robust_list, NULL, 24);
    syscall(SYS_set_tid_address, NULL);
    /* No capability either: stubs need none, and a tracer may only trace a process whose
     * capabilities it holds too -- this is what lets the Sentry drop all of its own. */
    if (syscall(SYS_capset, &(struct __user_cap_header_struct){_LINUX_CAPABILITY_VERSION_3, 0},
                (struct __user_cap_data_struct[2]){{0, 0, 0}, {0, 0, 0}}) != 0)
        _exit(127);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        _exit(125);
    stub_install_seccomp();
    /* No stack use from here: the stub code unmaps it. */
    __asm__ volatile("mov %0, %%rdi\n\t"
                     "mov %1, %%rsi\n\t"
                     "mov %2, %%rdx\n\t"
                     "jmp *%3\n\t"
                     :
                     : "r"(FB_STUB_BASE), "r"(FB_STUB_SIZE), "r"(FB_TASK_SIZE),
                       "r"(STUB_ADDR(fb_stub_source_entry))
                     : "rdi", "rsi", "rdx", "memory");
    __builtin_unreachable();
}

/* ---- ptrace helpers ------------------------------------------------------------------------- */

static pid_t host_gettid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

/* Wait for the next stop of tid. Returns the wait status, or -errno. */
static int wait_stop(pid_t tid)
{
    int status;
    for (;;) {
        pid_t r = waitpid(tid, &status, __WALL);
        if (r == tid)
            return status;
        if (r < 0 && errno == EINTR)
            continue;
        return -errno;
    }
}

static bool rip_in_source_path(uint64_t rip)
{
    return rip >= FB_STUB_BASE && rip < STUB_ADDR(fb_stub_idle);
}

static long inject(struct fb_pctx *ctx, const char *site, long nr, long a1, long a2, long a3,
                   long a4, long a5, long a6);

/* Run the tracer and its stub thread on the same CPU: the stop/resume ping-pong then needs no
 * cross-CPU wake-up, which costs about a third of a system call round trip on a 2-core host
 * (measured by ptrace_test: ~16 us bound, ~27 us unbound). Contexts are spread round-robin over
 * the CPUs the Sentry may use, so two busy tasks still run in parallel. */
static void bind_cpu(struct fb_pctx *ctx)
{
    cpu_set_t set;

    if (ctx->cpu < 0 || ctx->last_cpu == ctx->cpu)
        return;
    CPU_ZERO(&set);
    CPU_SET(ctx->cpu, &set);
    if (sched_setaffinity(ctx->tid, sizeof(set), &set) == 0 &&
        sched_setaffinity(0, sizeof(set), &set) == 0)
        ctx->last_cpu = ctx->cpu;
}


/* Seize an untraced idle stub thread for ctx. */
static int seize_thread(struct fb_pctx *ctx, pid_t tid)
{
    /* No PTRACE_O_EXITKILL: when a tracer thread exits, that would SIGKILL its tracee and with
     * it the whole stub process, including threads of other tasks. If the Sentry itself dies,
     * its pid namespace takes every stub down anyway. */
    long opts = PTRACE_O_TRACESYSGOOD;
    int status;

    if (ptrace(PTRACE_SEIZE, tid, 0, opts) != 0) {
        int e = errno;
        fb_warn("PTRACE_SEIZE of stub thread %d: %s", tid, strerror(e));
        return -e;
    }
    if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0)
        return -errno;
    status = wait_stop(tid);
    if (status < 0)
        return status;
    if (!WIFSTOPPED(status))
        return -ESRCH;
    if (ptrace(PTRACE_GETREGS, tid, 0, &ctx->tmpl) != 0)
        return -errno;
    ctx->tid = tid;
    /* A freshly forked stub may not have closed its copy of the control socket yet: do it for
     * it (harmless if it already did). */
    if (rip_in_source_path(ctx->tmpl.rip))
        inject(ctx, fb_stub_syscall_site, SYS_close, STUB_CTL_FD, 0, 0, 0, 0, 0);
    if (!atomic_load(&ctx->as->data_mapped)) {
        /* The first thread of a new stub: its own data page (read-only to it, and so to the
         * application) over the private copy it was forked with. */
        if (inject(ctx, fb_stub_syscall_site, SYS_mmap, STUB_DATA, 4096, PROT_READ,
                   MAP_SHARED | MAP_FIXED, STUB_PAGES_FD, (long)ctx->as->slot * 4096) !=
            (long)STUB_DATA)
            return -EFAULT;
        /* ... and nothing left that could map it (or another stub's page) writable. */
        if (inject(ctx, fb_stub_syscall_site, SYS_close, STUB_PAGES_FD, 0, 0, 0, 0, 0) != 0)
            return -EFAULT;
        atomic_store(&ctx->as->data_mapped, true);
    }
    return 0;
}

static void slot_put(struct fb_platform_ptrace *p, int slot)
{
    pthread_mutex_lock(&p->slot_lock);
    p->free_slots[p->nfree_slots++] = slot; /* room for every slot: never fails */
    pthread_mutex_unlock(&p->slot_lock);
}

/* A zeroed data page for a new address space, or -1 when STUB_SLOTS are in use. */
static int slot_get(struct fb_platform_ptrace *p)
{
    int slot = -1;

    pthread_mutex_lock(&p->slot_lock);
    if (p->nfree_slots)
        slot = p->free_slots[--p->nfree_slots];
    else if (p->next_slot < STUB_SLOTS)
        slot = p->next_slot++;
    pthread_mutex_unlock(&p->slot_lock);
    if (slot >= 0)
        memset(p->pages + (size_t)slot * 4096, 0, 4096);
    return slot;
}

static uint8_t *slot_page(const struct fb_as *as)
{
    return as->p->pages + (size_t)as->slot * 4096;
}

static void as_put(struct fb_as *as)
{
    if (atomic_fetch_sub(&as->refs, 1) == 1) {
        slot_put(as->p, as->slot);
        pthread_mutex_destroy(&as->lock);
        free(as->spares);
        free(as);
    }
}

/* Make ctx's stub thread (if any) exit; reap it. */
static void leave_as(struct fb_pctx *ctx);

static int enter_as(struct fb_pctx *ctx, struct fb_as *as)
{
    pid_t tid = 0;
    int r;

    if (ctx->as == as && ctx->tid)
        return 0;
    if (atomic_load(&as->dead))
        return -ESRCH;
    leave_as(ctx);
    pthread_mutex_lock(&as->lock);
    if (as->nspares)
        tid = as->spares[--as->nspares];
    pthread_mutex_unlock(&as->lock);
    if (!tid) {
        fb_err("no host thread available in stub %d", as->pid);
        return -EAGAIN;
    }
    ctx->as = as;
    r = seize_thread(ctx, tid);
    if (r < 0) {
        if (as->pid > 0) /* never 0 or -1: that would be the Sentry's own group, or everyone */
            kill(as->pid, SIGKILL);
        ctx->as = NULL;
        ctx->tid = 0;
        return r;
    }
    atomic_fetch_add(&as->refs, 1);
    ctx->tid = tid;
    ctx->last_cpu = -1;
    ctx->owner = host_gettid();
    if (!atomic_load(&as->params_done)) {
        /* The vDSO's parameters, in the data page (read-only to the application; PTRACE_POKEDATA
         * writes through that). Before any application code runs in this stub. */
        struct fb_vdso_params v = ctx->p->vdso;
        v.mono_offset_ns = ctx->p->base.clock_offset_ns;
        memcpy(slot_page(as) + (FB_VDSO_PARAMS_ADDR - STUB_DATA), &v, sizeof(v));
        atomic_store(&as->params_done, true);
    }
    return 0;
}

/* Run one real system call in ctx's stub thread at `site`. Returns its result (or -errno for a
 * ptrace failure / dead stub). */
static long inject(struct fb_pctx *ctx, const char *site, long nr, long a1, long a2, long a3,
                   long a4, long a5, long a6)
{
    struct user_regs_struct r = ctx->tmpl;
    uint64_t expect = STUB_ADDR(site == fb_stub_clone_site ? fb_stub_clone_trap
                                : site == fb_stub_map_site ? fb_stub_map_trap
                                                           : fb_stub_syscall_trap);
    int status;

    r.rip = STUB_ADDR(site);
    r.rax = (uint64_t)nr;
    r.orig_rax = (uint64_t)-1;
    r.rdi = (uint64_t)a1;
    r.rsi = (uint64_t)a2;
    r.rdx = (uint64_t)a3;
    r.r10 = (uint64_t)a4;
    r.r8 = (uint64_t)a5;
    r.r9 = (uint64_t)a6;
    if (ptrace(PTRACE_SETREGS, ctx->tid, 0, &r) != 0)
        return -errno;
    if (ptrace(PTRACE_CONT, ctx->tid, 0, 0) != 0)
        return -errno;
    for (;;) {
        status = wait_stop(ctx->tid);
        if (status < 0)
            return status;
        if (!WIFSTOPPED(status)) {
            /* The thread is gone: expected for an injected exit, else the stub died. */
            if (nr != SYS_exit)
                atomic_store(&ctx->as->dead, true);
            ctx->tid = 0;
            return -ESRCH;
        }
        if (WSTOPSIG(status) == SIGTRAP) {
            if (ptrace(PTRACE_GETREGS, ctx->tid, 0, &r) != 0)
                return -errno;
            if (r.rip != expect) {
                fb_err("stub %d trapped at %#llx, expected %#llx", ctx->tid, r.rip,
                       (unsigned long long)expect);
                return -EFAULT;
            }
            ctx->inj_r12 = r.r12;
            return (long)r.rax;
        }
        /* A kick arrived during the call: remember it for the next switch and finish the call. */
        if (WSTOPSIG(status) == KICK_SIGNAL)
            atomic_store(&ctx->interrupt_pending, true);
        else
            fb_warn("stub thread %d: unexpected signal %d during injected call %ld", ctx->tid,
                    WSTOPSIG(status), nr);
        if (ptrace(PTRACE_CONT, ctx->tid, 0, 0) != 0)
            return -errno;
    }
}

static void leave_as(struct fb_pctx *ctx)
{
    struct fb_as *as = ctx->as;
    int status;

    if (!as)
        return;
    if (ctx->tid && !atomic_load(&as->dead)) {
        if (ctx->tid == as->pid) {
            /* The thread-group leader: its exit is reported only once every other thread of
             * the stub has gone, so do not wait for it; it stays a zombie until then. */
            struct user_regs_struct r = ctx->tmpl;
            r.rip = STUB_ADDR(fb_stub_syscall_site);
            r.rax = SYS_exit;
            r.orig_rax = (uint64_t)-1;
            r.rdi = 0;
            if (ptrace(PTRACE_SETREGS, ctx->tid, 0, &r) == 0 &&
                ptrace(PTRACE_CONT, ctx->tid, 0, 0) == 0)
                ctx->tid = 0;
        } else {
            inject(ctx, fb_stub_syscall_site, SYS_exit, 0, 0, 0, 0, 0, 0); /* reaps on success */
        }
    }
    if (ctx->tid) {
        /* The stub is dying or dead: reap our tracee so no zombie stays attached to us. */
        syscall(SYS_tgkill, as->pid, ctx->tid, SIGKILL);
        while (waitpid(ctx->tid, &status, __WALL) < 0 && errno == EINTR)
            ;
    }
    ctx->tid = 0;
    ctx->as = NULL;
    as_put(as);
}

/* ---- ops ------------------------------------------------------------------------------------ */

static int ptrace_as_new(struct fb_platform *base, struct fb_as **out)
{
    struct fb_platform_ptrace *p = (struct fb_platform_ptrace *)base;
    struct fb_as *as;
    int32_t pid = 0;
    ssize_t n;

    as = calloc(1, sizeof(*as));
    if (!as)
        return -ENOMEM;
    as->spares = malloc(4 * sizeof(pid_t));
    if (!as->spares) {
        free(as);
        return -ENOMEM;
    }
    as->cap = 4;
    as->slot = slot_get(p);
    if (as->slot < 0) {
        free(as->spares);
        free(as);
        return -EAGAIN;
    }
    pthread_mutex_init(&as->lock, NULL);
    atomic_init(&as->refs, 1);
    as->p = p;

    pthread_mutex_lock(&p->ctl_lock);
    do
        n = write(p->ctl_fd, "f", 1);
    while (n < 0 && errno == EINTR);
    if (n == 1) {
        /* The whole pid, across interruptions and short reads: a partial one left behind
         * would be read as the next stub's. */
        size_t got = 0;
        while (got < sizeof(pid)) {
            ssize_t k = read(p->ctl_fd, (char *)&pid + got, sizeof(pid) - got);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                break;
            got += (size_t)k;
        }
        n = (ssize_t)got;
    }
    pthread_mutex_unlock(&p->ctl_lock);
    if (n != sizeof(pid) || pid <= 0) {
        fb_err("source stub did not create a stub (n=%zd pid=%d)", n, pid);
        slot_put(p, as->slot);
        free(as->spares);
        free(as);
        return pid < 0 ? pid : -EAGAIN;
    }
    as->pid = pid;
    as->spares[as->nspares++] = pid;
    *out = as;
    return 0;
}

static void ptrace_as_release(struct fb_as *as)
{
    if (!as)
        return;
    atomic_store(&as->dead, true);
    if (as->pid > 0) /* never 0 or -1: that would be the Sentry's own group, or everyone */
        kill(as->pid, SIGKILL);
    /* Contexts still in it reap their own tracee in leave_as() and drop their references; the
     * source stub reaps the process itself. */
    as_put(as);
}

static int ptrace_as_add_thread(struct fb_pctx *ctx, struct fb_as *as)
{
    const long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                       CLONE_SYSVSEM;
    long tid;
    int r = enter_as(ctx, as);

    if (r < 0)
        return r;
    tid = inject(ctx, fb_stub_clone_site, SYS_clone, flags, 0, 0, 0, 0, 0);
    if (tid <= 0)
        return tid < 0 ? (int)tid : -EAGAIN;
    pthread_mutex_lock(&as->lock);
    if (as->nspares == as->cap) {
        pid_t *n = realloc(as->spares, as->cap * 2 * sizeof(pid_t));
        if (!n) {
            pthread_mutex_unlock(&as->lock);
            return -ENOMEM;
        }
        as->spares = n;
        as->cap *= 2;
    }
    as->spares[as->nspares++] = (pid_t)tid;
    pthread_mutex_unlock(&as->lock);
    return 0;
}

static int ptrace_ctx_new(struct fb_platform *base, struct fb_pctx **out)
{
    struct fb_pctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return -ENOMEM;
    ctx->p = (struct fb_platform_ptrace *)base;
    ctx->last_cpu = -1;
    ctx->cpu = ctx->p->ncpus > 1
                   ? ctx->p->cpus[atomic_fetch_add(&ctx->p->next_cpu, 1) % (unsigned)ctx->p->ncpus]
                   : -1;
    *out = ctx;
    return 0;
}

static void ptrace_ctx_release(struct fb_pctx *ctx)
{
    if (!ctx)
        return;
    leave_as(ctx);
    free(ctx);
}

static int ptrace_map(struct fb_pctx *ctx, struct fb_as *as, uint64_t addr, uint64_t len, int prot,
                      uint64_t off)
{
    long r = enter_as(ctx, as);
    if (r < 0)
        return (int)r;
    r = inject(ctx, fb_stub_syscall_site, SYS_mmap, (long)addr, (long)len, prot,
               MAP_SHARED | MAP_FIXED | MAP_POPULATE, FB_STUB_MEMFD, (long)off);
    if (r < 0)
        return (int)r;
    if ((uint64_t)r != addr)
        return -EFAULT;
    return 0;
}

/* A mapping the application may have: page aligned, inside the task size, clear of the
 * platform's region. */
static bool map_range_ok(uint64_t addr, uint64_t len, uint64_t off)
{
    return !(addr & 0xfff) && !(off & 0xfff) && len && addr + len > addr &&
           addr + len <= FB_TASK_SIZE &&
           !(addr < FB_STUB_BASE + FB_STUB_SIZE && addr + len > FB_STUB_BASE);
}

/* Write record i of a map batch into the data page of ctx's stub (read-only to the stub and
 * the application; the Sentry's view of it is writable). */
static void put_map_record(struct fb_pctx *ctx, int i, uint64_t addr, uint64_t len, int prot,
                           bool populate, uint64_t off, int fd)
{
    const uint64_t w[4] = {addr | (uint64_t)(prot & REC_PROT) | (populate ? REC_POPULATE : 0),
                           len, off, (uint64_t)fd};
    memcpy(slot_page(ctx->as) + (size_t)i * 32, w, sizeof(w));
}

/* Many mappings of the memory file per round trip: records in the data page, then the stub's
 * map loop makes the calls. */
static int ptrace_map_many(struct fb_pctx *ctx, struct fb_as *as, const struct fb_map_req *req,
                           int n)
{
    long r;
    int i;

    for (i = 0; i < n; i++)
        if (!map_range_ok(req[i].addr, req[i].len, req[i].off))
            return -EINVAL;
    r = enter_as(ctx, as);
    if (r < 0)
        return (int)r;
    while (n > 0) {
        int k = n < MAP_BATCH_MAX ? n : MAP_BATCH_MAX;
        for (i = 0; i < k; i++)
            put_map_record(ctx, i, req[i].addr, req[i].len, req[i].prot, req[i].populate,
                           req[i].off, FB_STUB_MEMFD);
        r = inject(ctx, fb_stub_map_site, 0, k, MAP_SHARED | MAP_FIXED, 0, 0, 0, 0);
        if (r != 0)
            return r < 0 ? (int)r : -EFAULT;
        req += k;
        n -= k;
    }
    return 0;
}

/* Mark record i of a map batch: the stub closes its fd after the batch (each passed fd at the
 * last record naming it, once, instead of after every record: a python function's files take
 * ~170 records for 13 fds). */
static void mark_close(struct fb_pctx *ctx, int i)
{
    uint8_t *w0 = slot_page(ctx->as) + (size_t)i * 32;
    uint64_t v;

    memcpy(&v, w0, 8);
    v |= REC_CLOSE;
    memcpy(w0, &v, 8);
}

/* Files mapped per round trip: the fds travel in one message (and the kernel's SCM_RIGHTS
 * limit is 253). */
#define FDMAP_BATCH_MAX 64
_Static_assert(FDMAP_BATCH_MAX <= MAP_BATCH_MAX, "fd map records fit the data page");

/* The fd number the k-th fd of a message arrives as in a stub: the lowest free numbers, in
 * order, and a stub holds only the memory file and the fd socket (the control socket and the
 * data-page file are closed when its first thread is seized, before any fd is sent). */
static int fdmap_number(int k)
{
    int fd = -1;
    for (int i = 0; i <= k; i++)
        do
            fd++;
        while (fd == FB_STUB_MEMFD || fd == STUB_PASS_FD);
    return fd;
}

/* Map host files directly: send their fds in one message on the stubs' socket, lay out a
 * msghdr in the stub's scratch page and the records in its data page, and let the stub's map
 * loop receive, mmap (private, fixed) and close them. The fds must be read-only (the caller
 * checks): the application running in the stub could reach them only through the stub's
 * system call site, which never runs for it, and could read nothing there it may not read
 * anyway. A round trip takes as many requests as the data page holds whose distinct fds fit
 * one message; each fd travels once and its requests share its number in the stub, whose
 * close of every record's fd then closes it once and fails (EBADF) for the others. Nothing
 * can take that number in between: the only host calls a stub makes are the Sentry's injected
 * ones (its seccomp filter), and of those only the receive here creates fds, under pass_lock,
 * which this call holds. */
static int ptrace_map_fds(struct fb_pctx *ctx, struct fb_as *as, const struct fb_map_fd_req *req,
                          int n, int *done)
{
    struct fb_platform_ptrace *p = ctx->p;
    char byte = 'f';
    struct iovec iov = {&byte, 1};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * FDMAP_BATCH_MAX)];
    } cm;
    long r = 0;
    int i;

    *done = 0;
    for (i = 0; i < n; i++)
        if (!map_range_ok(req[i].addr, req[i].len, req[i].off) || req[i].fd < 0)
            return -EINVAL;
    if (atomic_load(&p->pass_broken))
        return -EIO;
    r = enter_as(ctx, as);
    if (r < 0)
        return (int)r;
    pthread_mutex_lock(&p->pass_lock);
    while (n > 0) {
        int fds[FDMAP_BATCH_MAX], last[FDMAP_BATCH_MAX], nfds = 0, k;
        size_t ctl;
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf};

        for (k = 0; k < n && k < MAP_BATCH_MAX; k++) {
            int j = 0;
            while (j < nfds && fds[j] != req[k].fd)
                j++;
            if (j == nfds) {
                if (nfds == FDMAP_BATCH_MAX)
                    break;
                fds[nfds++] = req[k].fd;
            }
            put_map_record(ctx, k, req[k].addr, req[k].len, req[k].prot, req[k].populate,
                           req[k].off, fdmap_number(j));
            last[j] = k;
        }
        for (i = 0; i < nfds; i++)
            mark_close(ctx, last[i]);
        ctl = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        mh.msg_controllen = ctl;
        /* The stub's msghdr: iov -> the byte, control -> room for the fds. */
        const uint64_t words[][2] = {
            {0, 0},                             /* msg_name */
            {8, 0},                             /* msg_namelen (+pad) */
            {16, STUB_SCRATCH + SCR_IOV},       /* msg_iov */
            {24, 1},                            /* msg_iovlen */
            {32, STUB_SCRATCH + SCR_CMSG},      /* msg_control */
            {40, ctl},                          /* msg_controllen */
            {48, 0},                            /* msg_flags (+pad) */
            {SCR_IOV, STUB_SCRATCH + SCR_BYTE}, /* iov_base */
            {SCR_IOV + 8, 1},                   /* iov_len */
        };

        memset(&cm, 0, sizeof(cm));
        cm.h.cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        cm.h.cmsg_level = SOL_SOCKET;
        cm.h.cmsg_type = SCM_RIGHTS;
        memcpy(CMSG_DATA(&cm.h), fds, sizeof(int) * (size_t)nfds);
        for (i = 0; i < (int)FB_ARRAY_SIZE(words); i++)
            if (ptrace(PTRACE_POKEDATA, ctx->tid, STUB_SCRATCH + words[i][0], words[i][1]) != 0) {
                r = -errno;
                goto out;
            }
        if (sendmsg(p->pass_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) != 1) {
            r = -errno;
            goto out;
        }
        r = inject(ctx, fb_stub_map_site, 0, k, MAP_PRIVATE | MAP_FIXED, 1, 0, 0, 0);
        if (r == 1 || r == -ESRCH) {
            /* The stub did not take our fds (something else in it did, or it died): they may
             * be left queued where the next receive would find them. Stop passing fds. */
            if (r == 1)
                fb_warn("stub %d: no fds to receive for direct file mappings; mapping copies "
                        "from now on", as->pid);
            atomic_store(&p->pass_broken, true);
            r = -EIO;
            goto out;
        }
        if (r != 0) {
            *done += (int)ctx->inj_r12;
            r = r < 0 ? r : -EFAULT;
            goto out;
        }
        *done += k;
        req += k;
        n -= k;
    }
out:
    pthread_mutex_unlock(&p->pass_lock);
    return (int)r;
}

static int ptrace_unmap(struct fb_pctx *ctx, struct fb_as *as, uint64_t addr, uint64_t len)
{
    long r = enter_as(ctx, as);
    if (r < 0)
        return (int)r;
    return (int)inject(ctx, fb_stub_syscall_site, SYS_munmap, (long)addr, (long)len, 0, 0, 0, 0);
}

static int ptrace_protect(struct fb_pctx *ctx, struct fb_as *as, uint64_t addr, uint64_t len,
                          int prot)
{
    long r = enter_as(ctx, as);
    if (r < 0)
        return (int)r;
    return (int)inject(ctx, fb_stub_syscall_site, SYS_mprotect, (long)addr, (long)len, prot, 0, 0,
                       0);
}

static enum fb_switch_result ptrace_switch(struct fb_pctx *ctx, struct fb_as *as,
                                           struct fb_cpu *cpu, struct fb_stop *stop)
{
    siginfo_t si;
    int status, sig;

    if (enter_as(ctx, as) < 0)
        return FB_SWITCH_DEAD;
    bind_cpu(ctx);
    if (cpu->fp_dirty) {
        struct iovec iov = {cpu->fp, fb_platform_fpstate_size()};
        if (ptrace(PTRACE_SETREGSET, ctx->tid, NT_X86_XSTATE, &iov) != 0)
            fb_warn("PTRACE_SETREGSET(XSTATE): %s", strerror(errno));
        cpu->fp_dirty = false;
    }
    cpu->regs.orig_rax = (uint64_t)-1; /* never let the host restart anything on return */
    if (ptrace(PTRACE_SETREGS, ctx->tid, 0, &cpu->regs) != 0) {
        fb_err("PTRACE_SETREGS: %s", strerror(errno));
        return FB_SWITCH_DEAD;
    }
    atomic_store(&ctx->state, CTX_RUNNING);
    if (atomic_exchange(&ctx->interrupt_pending, false)) {
        atomic_store(&ctx->state, CTX_IDLE);
        return FB_SWITCH_INTERRUPT;
    }
    if (ptrace(PTRACE_SYSEMU, ctx->tid, 0, 0) != 0) {
        atomic_store(&ctx->state, CTX_IDLE);
        return FB_SWITCH_DEAD;
    }
    status = wait_stop(ctx->tid);
    atomic_store(&ctx->state, CTX_IDLE);
    if (status < 0 || !WIFSTOPPED(status)) {
        atomic_store(&as->dead, true);
        ctx->tid = 0;
        leave_as(ctx);
        return FB_SWITCH_DEAD;
    }
    if (ptrace(PTRACE_GETREGS, ctx->tid, 0, &cpu->regs) != 0)
        return FB_SWITCH_DEAD;
    cpu->fp_valid = false;
    sig = WSTOPSIG(status);
    if (sig == (SIGTRAP | 0x80))
        return FB_SWITCH_SYSCALL;
    if (sig == KICK_SIGNAL || (status >> 16) != 0) {
        atomic_store(&ctx->interrupt_pending, false);
        return FB_SWITCH_INTERRUPT;
    }
    memset(stop, 0, sizeof(*stop));
    stop->signo = sig;
    if (ptrace(PTRACE_GETSIGINFO, ctx->tid, 0, &si) == 0) {
        stop->code = si.si_code;
        stop->addr = (uint64_t)si.si_addr;
    }
    return FB_SWITCH_FAULT;
}

static void ptrace_interrupt(struct fb_pctx *ctx)
{
    atomic_store(&ctx->interrupt_pending, true);
    if (atomic_load(&ctx->state) == CTX_RUNNING && ctx->tid && ctx->as)
        syscall(SYS_tgkill, ctx->as->pid, ctx->tid, KICK_SIGNAL);
}

static int ptrace_fetch_fp(struct fb_pctx *ctx, struct fb_as *as, struct fb_cpu *cpu)
{
    struct iovec iov = {cpu->fp, fb_platform_fpstate_size()};
    int r;

    if (cpu->fp_valid || cpu->fp_dirty)
        return 0;
    r = enter_as(ctx, as);
    if (r < 0)
        return r;
    if (ptrace(PTRACE_GETREGSET, ctx->tid, NT_X86_XSTATE, &iov) != 0)
        return -errno;
    cpu->fp_valid = true;
    return 0;
}

/* The stub process's CPU clock (all its threads): Linux lets any process read another's
 * process-wide clock, not a thread of another process. */
static int64_t ptrace_cpu_ns(struct fb_pctx *ctx, uint64_t *ident)
{
    struct timespec ts;
    pid_t pid = ctx->as ? ctx->as->pid : 0;

    if (pid <= 0 || clock_gettime((clockid_t)((~(clockid_t)pid << 3) | 2 /* CPUCLOCK_SCHED */),
                                  &ts) != 0)
        return -1;
    *ident = (uint64_t)pid;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const struct fb_platform_ops ptrace_ops = {
    .name = "ptrace",
    .as_new = ptrace_as_new,
    .as_release = ptrace_as_release,
    .as_add_thread = ptrace_as_add_thread,
    .enter = enter_as,
    .ctx_new = ptrace_ctx_new,
    .ctx_release = ptrace_ctx_release,
    .map = ptrace_map,
    .map_many = ptrace_map_many,
    .map_fds = ptrace_map_fds,
    .unmap = ptrace_unmap,
    .protect = ptrace_protect,
    .switch_to = ptrace_switch,
    .interrupt = ptrace_interrupt,
    .fetch_fp = ptrace_fetch_fp,
    .cpu_ns = ptrace_cpu_ns,
};

/* Create the ptrace platform: fork the source stub. */
int fb_ptrace_platform_new(int memfd, struct fb_platform **out, struct fb_error *err)
{
    struct fb_platform_ptrace *p;
    int sv[2], pv[2], pages_fd;
    uint8_t *pages;
    pid_t pid;

    if ((size_t)(fb_stub_code_end - fb_stub_code_start) > 4096)
        return fb_error_set(err, EINVAL, "stub code larger than a page");
    pages_fd = memfd_create("fnbox-stub-data", MFD_CLOEXEC);
    if (pages_fd < 0 || ftruncate(pages_fd, (off_t)STUB_SLOTS * 4096) != 0 ||
        (pages = mmap(NULL, (size_t)STUB_SLOTS * 4096, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_NORESERVE, pages_fd, 0)) == MAP_FAILED) {
        int e = errno;
        if (pages_fd >= 0)
            close(pages_fd);
        return fb_error_set(err, e, "the stubs' data pages: %s", strerror(e));
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        int e = errno;
        close(pages_fd);
        munmap(pages, (size_t)STUB_SLOTS * 4096);
        return fb_error_set(err, e, "socketpair: %s", strerror(e));
    }
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pv) != 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        close(pages_fd);
        munmap(pages, (size_t)STUB_SLOTS * 4096);
        return fb_error_set(err, e, "socketpair: %s", strerror(e));
    }
    pid = fork();
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        close(pv[0]);
        close(pv[1]);
        close(pages_fd);
        munmap(pages, (size_t)STUB_SLOTS * 4096);
        return fb_error_set(err, e, "fork of the source stub: %s", strerror(e));
    }
    if (pid == 0) {
        close(sv[0]);
        close(pv[0]);
        source_stub_main(memfd, sv[1], pv[1], pages_fd);
    }
    close(sv[1]);
    close(pv[1]);
    close(pages_fd); /* the stubs hold it; the Sentry keeps its mapping */
    p = calloc(1, sizeof(*p));
    if (p)
        p->free_slots = malloc(STUB_SLOTS * sizeof(int));
    if (!p || !p->free_slots) {
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        close(sv[0]);
        close(pv[0]);
        munmap(pages, (size_t)STUB_SLOTS * 4096);
        free(p);
        return fb_error_set(err, ENOMEM, "out of memory");
    }
    p->pages = pages;
    pthread_mutex_init(&p->slot_lock, NULL);
    p->pass_fd = pv[0];
    pthread_mutex_init(&p->pass_lock, NULL);
    {
        char ok = 0;
        ssize_t n;
        while ((n = read(sv[0], &ok, 1)) < 0 && errno == EINTR)
            ;
        if (n != 1) {
            kill(pid, SIGKILL);
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
            close(sv[0]);
            close(pv[0]);
            munmap(p->pages, (size_t)STUB_SLOTS * 4096);
            free(p->free_slots);
            free(p);
            return fb_error_set(err, EIO, "the source stub did not start");
        }
        p->vdso.magic = FB_VDSO_PARAMS_MAGIC;
        if (getrandom(&p->vdso.generation, sizeof(p->vdso.generation), 0) !=
            sizeof(p->vdso.generation))
            p->vdso.generation = (uint64_t)pid << 32 ^ (uint64_t)time(NULL);
        if (ok == '1') {
            p->vdso.clock_gettime = fb_host_vdso_sym("__vdso_clock_gettime");
            p->vdso.gettimeofday = fb_host_vdso_sym("__vdso_gettimeofday");
            p->vdso.time = fb_host_vdso_sym("__vdso_time");
        }
        fb_dbg("host vDSO in stubs: %s (clock_gettime at %#lx)", ok == '1' ? "yes" : "no",
               (unsigned long)p->vdso.clock_gettime);
    }
    p->base.ops = &ptrace_ops;
    p->base.memfd = memfd;
    p->source_pid = pid;
    p->ctl_fd = sv[0];
    pthread_mutex_init(&p->ctl_lock, NULL);
    {
        cpu_set_t set;
        int c;
        int here = sched_getcpu();
        if (sched_getaffinity(0, sizeof(set), &set) == 0)
            for (c = 0; c < CPU_SETSIZE; c++)
                if (CPU_ISSET(c, &set)) {
                    /* Start the round robin on the CPU the host scheduler gave this Sentry:
                     * sandboxes running side by side (a warm pool) then spread over the CPUs
                     * instead of all putting their first task on the first one. */
                    if (c == here)
                        atomic_store(&p->next_cpu, (unsigned)p->ncpus);
                    p->cpus[p->ncpus++] = c;
                }
    }
    /* Ignore our kick signal in the Sentry itself (it is only ever sent to stub threads). */
    signal(KICK_SIGNAL, SIG_IGN);
    *out = &p->base;
    return 0;
}
