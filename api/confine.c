/* Confinement policy of the Sentry and the Gofer: which capabilities each keeps and which host
 * system calls each may still make once set up. Applied by api/sandbox.c; printed for the docs.
 *
 * The allowlists are data: one row per rule, a syscall name, optional argument conditions and
 * the reason it is there. `fnbox confine --markdown` prints these rows into docs/security.md, so
 * the documentation is the code. Every rule not matched falls to SCMP_ACT_KILL_PROCESS: an
 * exploited Sentry that tries anything else dies at once, taking its stubs with it (it is pid 1
 * of its pid namespace), and the controller reports "killed by signal 31 (SIGSYS)". */
#include "api/confine.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/securebits.h>
#include <malloc.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "kernel/util/log.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* One argument comparison (libseccomp's struct scmp_arg_cmp, kept as plain data so the tables
 * are constant and printable). `wide` = compare all 64 bits; otherwise the low 32 bits (int
 * arguments: the upper half of the register is not defined by the C ABI). */
struct cmp {
    unsigned arg;
    enum scmp_compare op;
    uint64_t a, b;
};

struct rule {
    const char *name; /* system call */
    uint32_t action;  /* 0 = SCMP_ACT_ALLOW */
    unsigned ncmp;    /* argument conditions, all must hold */
    struct cmp cmp[2];
    const char *cond; /* the conditions in words, for the docs */
    const char *why;
};

#define ALLOW(n, w)                                                                                \
    {                                                                                              \
        .name = n, .why = w                                                                        \
    }
#define ALLOW_IF(n, c, k, w)                                                                       \
    {                                                                                              \
        .name = n, .ncmp = 1, .cmp = {c}, .cond = k, .why = w                                      \
    }
#define ARG_EQ(i, v)                                                                               \
    {                                                                                              \
        .arg = i, .op = SCMP_CMP_MASKED_EQ, .a = 0xffffffffu, .b = (uint32_t)(v)                   \
    }
#define ARG_MASK(i, m, v)                                                                          \
    {                                                                                              \
        .arg = i, .op = SCMP_CMP_MASKED_EQ, .a = (m), .b = (v)                                     \
    }

/* An fd argument that is a non-negative int, whether the caller sign- or zero-extended it to
 * 64 bits: excludes AT_FDCWD (-100). */
#define DIRFD_HELD(i) ARG_MASK(i, 0xffffffff80000000ull, 0)

/* Flags a Sentry thread is created with (glibc pthread_create) and flags no clone may carry. */
#define THREAD_FLAGS                                                                               \
    (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM)
#define NAMESPACE_FLAGS                                                                            \
    (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |  \
     CLONE_NEWNET | CLONE_PTRACE | CLONE_UNTRACED)

/* ---- the Sentry ------------------------------------------------------------------------------ */

/* Notes on what is absent: no open/openat/openat2/creat (the Sentry names no host file: every fd
 * it uses is open before lock-down or donated by the Gofer), no socket/socketpair/connect/bind/
 * listen/accept (the only sockets are the Gofer channel and the source-stub control socket), no
 * execve/execveat, no fork (stubs are forked by the source stub, which has its own filter), no
 * mount/pivot_root/unshare/setns/chroot, no bpf/perf_event_open/userfaultfd/io_uring, no
 * process_vm_readv/writev (application memory is the memory file, mapped here). */
static const struct rule sentry_rules[] = {
    /* I/O on fds it already holds */
    ALLOW("read",
          "9P replies, host stdio, source-stub control socket; checkpoint restore: the image fd"),
    ALLOW("write", "host stdio, logs, status pipe, control socket; checkpoint: the image fd"),
    ALLOW("readv", "host stdio (vectored application reads)"),
    ALLOW("writev", "host stdio (vectored application writes), logs"),
    ALLOW("pread64", "donated Gofer files, memory file; checkpoint restore: the image fd"),
    ALLOW("copy_file_range",
          "warm restore: hot pages from the server's sealed decompressed copy into a memory file "
          "that is a memfd (one on a tmpfs of its own reads them with pread)"),
    ALLOW("pwrite64", "memory file; checkpoint: the image fd"),
    ALLOW("preadv", "donated Gofer files (vectored reads)"),
    ALLOW("lseek", "host stdio files; checkpoint: the image fd"),
    ALLOW("close", "fds it holds (donated files, pipes of dead stubs)"),
    ALLOW("recvmsg", "9P replies with donated fds (SCM_RIGHTS)"),
    ALLOW("sendmsg", "9P requests; read-only file fds to stubs (direct mapping)"),
    ALLOW("recvfrom", "9P replies (recv)"),
    ALLOW("sendto", "9P requests (send)"),
    ALLOW("poll", "readiness of host stdio"),
    ALLOW("ppoll", "waits on host stdio, interruptible"),
    ALLOW_IF("newfstatat", ARG_MASK(3, AT_EMPTY_PATH, AT_EMPTY_PATH), "flags has AT_EMPTY_PATH",
             "fstat of held fds (glibc's fstat); in the empty root a path finds nothing anyway"),
    ALLOW_IF("fcntl", ARG_EQ(1, F_GETFL), "cmd = F_GETFL", "access mode of host stdio"),
    ALLOW_IF("fcntl", ARG_EQ(1, F_SETFL), "cmd = F_SETFL", "O_NONBLOCK on host stdio"),
    ALLOW_IF("fcntl", ARG_EQ(1, F_GETFD), "cmd = F_GETFD", "close-on-exec state"),
    ALLOW_IF("fcntl", ARG_EQ(1, F_SETFD), "cmd = F_SETFD", "close-on-exec state"),
    ALLOW_IF("fcntl", ARG_EQ(1, F_DUPFD_CLOEXEC), "cmd = F_DUPFD_CLOEXEC",
             "host stdio descriptions"),
    ALLOW_IF("ioctl", ARG_EQ(1, TCGETS), "cmd = TCGETS", "terminal attributes of host stdio"),
    ALLOW_IF("ioctl", ARG_EQ(1, TCSETS), "cmd = TCSETS", "terminal attributes of host stdio"),
    ALLOW_IF("ioctl", ARG_EQ(1, TCSETSW), "cmd = TCSETSW", "terminal attributes of host stdio"),
    ALLOW_IF("ioctl", ARG_EQ(1, TCSETSF), "cmd = TCSETSF", "terminal attributes of host stdio"),
    ALLOW_IF("ioctl", ARG_EQ(1, TIOCGWINSZ), "cmd = TIOCGWINSZ", "window size of host stdio"),
    ALLOW_IF("ioctl", ARG_EQ(1, FIONREAD), "cmd = FIONREAD", "bytes ready on host stdio"),
    ALLOW("sendfile", "copy pages of a donated Gofer file into the memory file in the host kernel"),
    ALLOW("copy_file_range", "copy-on-write copies inside the memory file"),
    ALLOW("eventfd2", "per-task wake-up of a task waiting on host fds"),
    ALLOW("ftruncate", "memory file size; checkpoint: the image fd"),
    ALLOW("fallocate", "memory file: punch holes for freed pages, reserve on restore"),
    ALLOW("fsync", "checkpoint: make the image durable"),
    /* memory */
    ALLOW_IF("mmap", ARG_MASK(2, PROT_EXEC, 0), "prot without PROT_EXEC",
             "memory file views, thread stacks, malloc; checkpoint restore: the memory file"),
    ALLOW_IF("mprotect", ARG_MASK(2, PROT_EXEC, 0), "prot without PROT_EXEC",
             "guard pages of thread stacks, malloc"),
    ALLOW("munmap", "memory file views, thread stacks, malloc"),
    ALLOW("mremap", "malloc (realloc of large blocks)"),
    ALLOW("madvise", "malloc and thread stacks give memory back; restore: 2 MiB pages asked for "
                     "the working set's regions of the memory file"),
    ALLOW("brk", "malloc"),
    /* threads: one host thread per application task, plus timer and signal threads */
    ALLOW_IF("clone", ARG_MASK(0, THREAD_FLAGS | NAMESPACE_FLAGS, THREAD_FLAGS),
             "flags hold CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM, no CLONE_NEW*, CLONE_PTRACE, "
             "CLONE_UNTRACED",
             "threads only (pthread_create); never a process or a namespace"),
    {.name = "clone3",
     .action = SCMP_ACT_ERRNO(ENOSYS),
     .cond = "returns ENOSYS",
     .why = "its flags are behind a pointer seccomp cannot read: glibc falls back to clone"},
    ALLOW("exit", "a host thread ends"),
    ALLOW("exit_group", "the Sentry ends"),
    ALLOW("futex", "mutexes and condition variables of the kernel"),
    ALLOW("set_robust_list", "glibc thread start"),
    ALLOW("rseq", "glibc thread start"),
    ALLOW("sched_yield", "spin waits"),
    ALLOW("sched_getaffinity", "CPUs the tracer threads may use"),
    ALLOW("sched_setaffinity", "bind a tracer thread and its stub thread to one CPU"),
    ALLOW("getpid", "glibc (raise)"),
    ALLOW("gettid", "ownership of platform contexts"),
    /* signals */
    ALLOW("rt_sigaction", "glibc and SIGSYS/crash handlers"),
    ALLOW("rt_sigprocmask", "block forwarded signals in kernel threads"),
    ALLOW("rt_sigreturn", "return from a host signal handler"),
    ALLOW("rt_sigtimedwait", "the thread that forwards the controller's signals to pid 1"),
    ALLOW("sigaltstack", "crash handler stack of new threads"),
    ALLOW("restart_syscall", "host restarts an interrupted wait"),
    ALLOW_IF("kill", ARG_EQ(1, SIGKILL), "sig = SIGKILL",
             "kill a stub process (only stubs are visible in the Sentry's pid namespace)"),
    ALLOW_IF("tgkill", ARG_EQ(2, SIGKILL), "sig = SIGKILL", "kill a dying stub thread"),
    ALLOW_IF("tgkill", ARG_EQ(2, SIGURG), "sig = SIGURG",
             "kick a running stub thread back to its tracer"),
    ALLOW_IF("tgkill", ARG_EQ(2, SIGSEGV), "sig = SIGSEGV",
             "crash handler re-raises a fault to die"),
    ALLOW_IF("tgkill", ARG_EQ(2, SIGBUS), "sig = SIGBUS", "crash handler re-raises a fault to die"),
    ALLOW_IF("tgkill", ARG_EQ(2, SIGILL), "sig = SIGILL", "crash handler re-raises a fault to die"),
    ALLOW_IF("tgkill", ARG_EQ(2, SIGFPE), "sig = SIGFPE", "crash handler re-raises a fault to die"),
    ALLOW_IF("tgkill", ARG_EQ(2, SIGABRT), "sig = SIGABRT", "abort() of an assertion"),
    /* the ptrace platform: requests the platform makes, on stubs only */
    ALLOW_IF("ptrace", ARG_EQ(0, PTRACE_SEIZE), "request = PTRACE_SEIZE",
             "take an idle stub thread"),
    ALLOW_IF("ptrace", ARG_EQ(0, PTRACE_INTERRUPT), "request = PTRACE_INTERRUPT", "stop it"),
    ALLOW_IF("ptrace", ARG_EQ(0, PTRACE_GETREGS), "request = PTRACE_GETREGS",
             "application registers"),
    ALLOW_IF("ptrace", ARG_EQ(0, PTRACE_SETREGS), "request = PTRACE_SETREGS",
             "application registers"),
    ALLOW_IF("ptrace", ARG_EQ(0, PTRACE_GETREGSET), "request = PTRACE_GETREGSET", "FP/AVX state"),
    ALLOW_IF("ptrace", ARG_EQ(0, PTRACE_SETREGSET), "request = PTRACE_SETREGSET", "FP/AVX state"),
    ALLOW_IF("ptrace", ARG_EQ(0, PTRACE_GETSIGINFO), "request = PTRACE_GETSIGINFO",
             "fault details"),
    ALLOW_IF("ptrace", ARG_EQ(0, PTRACE_CONT), "request = PTRACE_CONT",
             "run an injected stub call"),
    ALLOW_IF("ptrace", ARG_EQ(0, PTRACE_SYSEMU), "request = PTRACE_SYSEMU", "run application code"),
    ALLOW_IF("ptrace", ARG_EQ(0, PTRACE_POKEDATA), "request = PTRACE_POKEDATA",
             "write a msghdr for file fds into the stub's scratch page"),
    ALLOW("wait4", "stops of traced stub threads"),
    /* time and randomness */
    ALLOW("clock_gettime", "host clocks (vDSO fallback, thread CPU clocks, stubs' CPU clocks)"),
    ALLOW("clock_nanosleep", "timer thread, application sleeps"),
    ALLOW("nanosleep", "timer thread, interrupt storm (debug option)"),
    ALLOW("getrandom", "application getrandom and /dev/urandom: fresh host randomness"),
    ALLOW("sysinfo", "application sysinfo and /proc/meminfo: host memory size"),
    {.name = "openat",
     .action = SCMP_ACT_ERRNO(ENOENT),
     .ncmp = 1,
     .cmp = {ARG_EQ(2, O_RDONLY | O_CLOEXEC)},
     .cond = "flags = O_RDONLY|O_CLOEXEC: fails with ENOENT",
     .why = "glibc's one-time reads of /proc/sys/vm/overcommit_memory (malloc heap trim) and /sys "
            "CPU lists fail as they would in the empty root; no path reaches the host. Any other "
            "openat kills"},
};

/* ---- the Gofer ------------------------------------------------------------------------------- */

/* Absent: execve, socket/connect/bind, mount/pivot_root/unshare/setns, ptrace, clone (the Gofer
 * is single-threaded), open. openat and openat2 only relative to a held directory fd (a dirfd
 * that is a non-negative int: AT_FDCWD is -100), with names checked to be single components;
 * its root is the view anyway. */
static const struct rule gofer_rules[] = {
    ALLOW("recvfrom", "9P requests (recv)"),
    ALLOW("sendmsg", "9P replies, with a donated fd (SCM_RIGHTS)"),
    ALLOW("shutdown", "close the channel after a fatal protocol error"),
    ALLOW("write", "logs to stderr"),
    ALLOW("close", "fids clunked, reopened files"),
    ALLOW_IF("openat2", DIRFD_HELD(0), "dirfd >= 0 (not AT_FDCWD)",
             "walk step, reopen, create: one checked name under a held directory fd, "
             "RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS, O_NOFOLLOW"),
    ALLOW_IF("openat", DIRFD_HELD(0), "dirfd >= 0 (not AT_FDCWD)",
             "the same where the host has no openat2 (O_NOFOLLOW)"),
    {.name = "openat",
     .action = SCMP_ACT_ERRNO(ENOENT),
     .ncmp = 2,
     .cmp = {ARG_EQ(0, AT_FDCWD), ARG_EQ(2, O_RDONLY | O_CLOEXEC)},
     .cond = "dirfd = AT_FDCWD, flags = O_RDONLY|O_CLOEXEC: fails with ENOENT",
     .why = "glibc's one-time read of /proc/sys/vm/overcommit_memory (malloc heap trim), absent "
            "from the view anyway. Any other path-based open kills"},
    ALLOW("newfstatat", "getattr, identity checks against rename races (AT_SYMLINK_NOFOLLOW)"),
    ALLOW("statx", "getattr with btime and mount id"),
    ALLOW("fstatfs", "Tstatfs"),
    ALLOW("getdents64", "Treaddir"),
    ALLOW("lseek", "Treaddir cookies (seek to a d_off)"),
    ALLOW("pread64", "Tread"),
    ALLOW("pwrite64", "Twrite (read-write trees only)"),
    ALLOW("readlinkat", "Treadlink: the target is returned, never followed"),
    ALLOW("mkdirat", "Tmkdir (read-write trees only)"),
    ALLOW("symlinkat", "Tsymlink (read-write trees only)"),
    ALLOW("mknodat", "Tmknod: regular, FIFO, socket (read-write trees only)"),
    ALLOW("linkat", "Tlink (read-write trees only)"),
    ALLOW("unlinkat", "Tunlinkat, Tremove (read-write trees only)"),
    ALLOW("renameat", "Trenameat, Trename (read-write trees only)"),
    ALLOW("fchownat", "Tsetattr uid/gid"),
    ALLOW("fchown", "the gid asked for by Tlcreate"),
    ALLOW("fchmodat", "Tsetattr mode"),
    ALLOW("fchmodat2", "Tsetattr mode without following symlinks"),
    ALLOW("utimensat", "Tsetattr times"),
    ALLOW("ftruncate", "Tsetattr size"),
    ALLOW("fsync", "Tfsync"),
    ALLOW("fdatasync", "Tfsync with datasync"),
    ALLOW_IF("fcntl", ARG_EQ(1, F_GETFL), "cmd = F_GETFL", "libc (fdopendir)"),
    ALLOW_IF("fcntl", ARG_EQ(1, F_SETFD), "cmd = F_SETFD", "libc (fdopendir)"),
    ALLOW_IF("fcntl", ARG_EQ(1, F_GETFD), "cmd = F_GETFD", "libc"),
    ALLOW_IF("mmap", ARG_MASK(2, PROT_EXEC, 0), "prot without PROT_EXEC", "malloc"),
    ALLOW_IF("mprotect", ARG_MASK(2, PROT_EXEC, 0), "prot without PROT_EXEC", "malloc"),
    ALLOW("munmap", "malloc"),
    ALLOW("mremap", "malloc (growing message buffers)"),
    ALLOW("madvise", "malloc"),
    ALLOW("brk", "malloc"),
    ALLOW("rt_sigreturn", "return from a host signal handler"),
    ALLOW("rt_sigprocmask", "libc"),
    ALLOW("sigaltstack", "sanitizer builds (ASan/UBSan tests) unset their signal stack at exit"),
    ALLOW("restart_syscall", "host restarts an interrupted call"),
    ALLOW("clock_gettime", "log timestamps (vDSO fallback)"),
    ALLOW("getpid", "libc"),
    ALLOW("gettid", "libc"),
    ALLOW_IF("tgkill", ARG_EQ(2, SIGABRT), "sig = SIGABRT", "abort() of an assertion"),
    ALLOW_IF("sched_setaffinity", ARG_EQ(0, 0), "pid = 0 (itself)",
             "move to the Sentry's CPU once locked down (the lock-down's cost stays off it)"),
    ALLOW("exit_group", "the Gofer ends"),
    ALLOW("exit", "the Gofer ends"),
};

/* ---- capabilities ---------------------------------------------------------------------------- */

struct cap_keep {
    cap_value_t cap;
    const char *name;
    const char *why;
};

/* The Sentry keeps none. In particular not CAP_SYS_PTRACE: it traces only its own descendants
 * (the source stub and the stubs it forks), which have the same uid, are dumpable and, having
 * dropped every capability themselves before their filter (platform/ptrace/ptrace.c), hold no
 * capability the Sentry lacks -- the three conditions the host's ptrace access check needs. */

/* The Gofer serves files of every owner on behalf of the Sentry, which applies the
 * application's permission checks itself; the host must not refuse what the Sentry allowed. */
static const struct cap_keep gofer_caps[] = {
    {CAP_CHOWN, "CAP_CHOWN", "Tsetattr uid/gid and the gid of created files"},
    {CAP_DAC_OVERRIDE, "CAP_DAC_OVERRIDE", "read/write files of any owner and mode"},
    {CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH", "walk and list directories of any owner and mode"},
    {CAP_FOWNER, "CAP_FOWNER",
     "chmod/utimes of files owned by others, links to them (protected_hardlinks)"},
};

/* Set once this process has emptied its bounding set. The Sentry and the Gofer are clones of
 * the controller, which empties it before making them: they inherit the empty set and this
 * flag with it, and skip the ~47 prctl reads that would only find every capability gone. */
static bool bound_dropped;

int fb_confine_drop_bound(struct fb_error *err)
{
    cap_value_t c;

    if (bound_dropped)
        return 0;
    for (c = 0; c <= CAP_LAST_CAP; c++)
        if (cap_get_bound(c) > 0 && cap_drop_bound(c) != 0)
            return fb_error_set(err, errno, "dropping capability %d from the bounding set: %s", c,
                                strerror(errno));
    bound_dropped = true;
    return 0;
}

/* Keep exactly `keep` in the effective and permitted sets; clear inheritable, ambient and the
 * bounding set; lock the securebits so that uid 0 never regains capabilities (no setuid fixup,
 * no root privilege on exec). */
static int drop_caps(const struct cap_keep *keep, size_t nkeep, struct fb_error *err)
{
    cap_value_t vals[8];
    cap_t caps;
    size_t i;
    unsigned bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                    SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
                    SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;

    /* One call. libcap's cap_reset_ambient() first asks for each capability whether it is
     * ambient (42 calls) and then makes this one; EINVAL: a host without ambient sets. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        return fb_error_set(err, errno, "clearing ambient capabilities: %s", strerror(errno));
    if (fb_confine_drop_bound(err) < 0)
        return -1;
    if (cap_set_secbits(bits) != 0)
        return fb_error_set(err, errno, "locking securebits: %s", strerror(errno));
    caps = cap_init(); /* all clear */
    if (!caps)
        return fb_error_set(err, errno, "cap_init: %s", strerror(errno));
    if (nkeep > NELEM(vals)) {
        cap_free(caps);
        return fb_error_set(err, E2BIG, "more capabilities to keep than drop_caps holds");
    }
    for (i = 0; i < nkeep; i++)
        vals[i] = keep[i].cap;
    if (nkeep && (cap_set_flag(caps, CAP_EFFECTIVE, (int)nkeep, vals, CAP_SET) != 0 ||
                  cap_set_flag(caps, CAP_PERMITTED, (int)nkeep, vals, CAP_SET) != 0)) {
        cap_free(caps);
        return fb_error_set(err, errno, "cap_set_flag: %s", strerror(errno));
    }
    if (cap_set_proc(caps) != 0) {
        int e = errno;
        cap_free(caps);
        return fb_error_set(err, e, "dropping capabilities: %s", strerror(e));
    }
    cap_free(caps);
    return 0;
}

/* ---- seccomp --------------------------------------------------------------------------------- */

/* A compiled filter: the classic BPF program libseccomp generates for a rule table. */
struct bpf_prog {
    const struct sock_filter *insns;
    size_t len;
};

/* Compile rules into BPF with libseccomp. That costs about 0.75 ms for both tables on the 2-core
 * VM (1.5 ms through seccomp_load, which regenerates the program and probes the kernel), so it
 * is done at build time: the Makefile builds this file with FB_CONFINE_GEN into a generator
 * whose output, build/gen/confine_bpf.h, holds both programs; fnbox only loads them. At run
 * time the compiler serves fb_confine_programs_current(), the unit test's staleness check.
 * The caller frees out->insns. */
static int compile_filter(const char *who, const struct rule *rules, size_t n, struct bpf_prog *out,
                          struct fb_error *err)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    struct stat st;
    size_t i;
    int r, fd = -1;

    if (!ctx)
        return fb_error_set(err, ENOMEM, "%s seccomp: seccomp_init failed", who);
    r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    /* A binary tree of system call numbers rather than a list. Loading a filter, the host runs
     * it once per system call number with the seccomp action cache being built (interrupts
     * off): through a list of ~60 numbers that is ~0.2 ms per filter here, through a tree ~0.1. */
    if (!r)
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    for (i = 0; !r && i < n; i++) {
        const struct rule *ru = &rules[i];
        struct scmp_arg_cmp c[2];
        int nr = seccomp_syscall_resolve_name(ru->name);
        unsigned k;

        if (nr == __NR_SCMP_ERROR) {
            seccomp_release(ctx);
            return fb_error_set(err, EINVAL, "%s seccomp: unknown system call '%s'", who, ru->name);
        }
        for (k = 0; k < ru->ncmp; k++) {
            c[k].arg = ru->cmp[k].arg;
            c[k].op = ru->cmp[k].op;
            c[k].datum_a = ru->cmp[k].a;
            c[k].datum_b = ru->cmp[k].b;
        }
        r = seccomp_rule_add_array(ctx, ru->action ? ru->action : SCMP_ACT_ALLOW, nr, ru->ncmp, c);
        if (r) {
            seccomp_release(ctx);
            return fb_error_set(err, -r, "%s seccomp: rule for %s: %s", who, ru->name,
                                strerror(-r));
        }
    }
    /* libseccomp 2.5 exports only to an fd. */
    if (!r) {
        fd = memfd_create("fnbox-seccomp", MFD_CLOEXEC);
        r = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
    }
    if (!r && fstat(fd, &st) != 0)
        r = -errno;
    if (!r && (st.st_size <= 0 || st.st_size % (off_t)sizeof(struct sock_filter) ||
               st.st_size > 4096 * (off_t)sizeof(struct sock_filter)))
        r = -EINVAL;
    if (!r) {
        struct sock_filter *insns = malloc((size_t)st.st_size);

        if (!insns)
            r = -ENOMEM;
        else if (pread(fd, insns, (size_t)st.st_size, 0) != st.st_size)
            r = -EIO;
        if (r) {
            free(insns);
        } else {
            out->insns = insns;
            out->len = (size_t)st.st_size / sizeof(struct sock_filter);
        }
    }
    if (fd >= 0)
        close(fd);
    seccomp_release(ctx);
    if (r)
        return fb_error_set(err, -r, "%s seccomp: building the filter: %s", who, strerror(-r));
    return 0;
}

#ifdef FB_CONFINE_GEN
/* The build-time generator: prints build/gen/confine_bpf.h. */
static void print_prog(const char *name, const struct bpf_prog *p)
{
    size_t i;

    printf("static const struct sock_filter %s[%zu] = {\n", name, p->len);
    for (i = 0; i < p->len; i++)
        printf("    {%#x, %u, %u, %#x},\n", p->insns[i].code, p->insns[i].jt, p->insns[i].jf,
               p->insns[i].k);
    printf("};\n");
}

int main(void)
{
    struct bpf_prog s = {0}, g = {0};
    struct fb_error err = {0};

    if (compile_filter("sentry", sentry_rules, NELEM(sentry_rules), &s, &err) < 0 ||
        compile_filter("gofer", gofer_rules, NELEM(gofer_rules), &g, &err) < 0) {
        fprintf(stderr, "confine-gen: %s\n", err.msg);
        return 1;
    }
    printf(
        "/* Generated by the Makefile from the rule tables of api/confine.c (libseccomp %u.%u.%u, "
        "x86-64). Do not edit. */\n",
        seccomp_version()->major, seccomp_version()->minor, seccomp_version()->micro);
    print_prog("gen_sentry_bpf", &s);
    print_prog("gen_gofer_bpf", &g);
    free((void *)s.insns);
    free((void *)g.insns);
    return 0;
}
#else

#include "confine_bpf.h" /* build/gen: gen_sentry_bpf, gen_gofer_bpf */

static const struct bpf_prog sentry_prog = {gen_sentry_bpf, NELEM(gen_sentry_bpf)};
static const struct bpf_prog gofer_prog = {gen_gofer_bpf, NELEM(gen_gofer_bpf)};

static bool same_prog(const struct bpf_prog *a, const struct bpf_prog *b)
{
    return a->len == b->len && !memcmp(a->insns, b->insns, a->len * sizeof(*a->insns));
}

bool fb_confine_programs_current(void)
{
    struct bpf_prog s = {0}, g = {0};
    bool ok = compile_filter("sentry", sentry_rules, NELEM(sentry_rules), &s, NULL) == 0 &&
              compile_filter("gofer", gofer_rules, NELEM(gofer_rules), &g, NULL) == 0 &&
              same_prog(&s, &sentry_prog) && same_prog(&g, &gofer_prog);

    free((void *)s.insns);
    free((void *)g.insns);
    return ok;
}

/* Install prog on every thread of the calling process (TSYNC: a thread that could not be
 * synchronised makes the call fail rather than stay unfiltered). */
static int load_filter(const char *who, const struct bpf_prog *prog, struct fb_error *err)
{
    struct sock_fprog fp = {.len = (unsigned short)prog->len,
                            .filter = (struct sock_filter *)prog->insns};
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fp);

    if (r < 0)
        return fb_error_set(err, errno, "%s seccomp: loading the filter: %s", who, strerror(errno));
    if (r > 0)
        return fb_error_set(err, EBUSY, "%s seccomp: thread %ld could not be synchronised", who, r);
    return 0;
}

static int confine(const char *who, const struct cap_keep *caps, size_t ncaps,
                   const struct bpf_prog *prog, struct fb_error *err)
{
    if (drop_caps(caps, ncaps, err) < 0)
        return fb_error_prefix(err, "%s lock-down", who);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return fb_error_set(err, errno, "%s lock-down: no_new_privs: %s", who, strerror(errno));
    return load_filter(who, prog, err);
}

int fb_confine_sentry(struct fb_error *err)
{
    cpu_set_t set;

    /* glibc sizes its malloc arenas from the number of CPUs the first time a thread contends,
     * and learns it by reading /sys, which would now kill the Sentry: fix the limit while it
     * may still be computed (glibc's default is 8 per CPU). */
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        mallopt(M_ARENA_MAX, 8 * (CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1));
    else
        mallopt(M_ARENA_MAX, 8);
    return confine("sentry", NULL, 0, &sentry_prog, err);
}

int fb_confine_gofer(struct fb_error *err)
{
    return confine("gofer", gofer_caps, NELEM(gofer_caps), &gofer_prog, err);
}

size_t fb_confine_sentry_rules(void)
{
    return NELEM(sentry_rules);
}

size_t fb_confine_gofer_rules(void)
{
    return NELEM(gofer_rules);
}

/* ---- listing --------------------------------------------------------------------------------- */

static size_t distinct_syscalls(const struct rule *rules, size_t n)
{
    size_t i, j, d = 0;

    for (i = 0; i < n; i++) {
        for (j = 0; j < i; j++)
            if (!strcmp(rules[i].name, rules[j].name))
                break;
        d += j == i;
    }
    return d;
}

/* A Markdown table cell: '|' would end the cell. */
static void md_cell(FILE *out, const char *text)
{
    for (; *text; text++) {
        if (*text == '|')
            fputc('\\', out);
        fputc(*text, out);
    }
}

static void print_rules(FILE *out, bool md, const char *title, const struct rule *rules, size_t n)
{
    size_t i, errs = 0;

    for (i = 0; i < n; i++)
        errs += rules[i].action != 0;
    if (md) {
        fprintf(out,
                "**%s allowlist**: %zu rules on %zu system calls (%zu of the rules answer an "
                "error instead of allowing); any other call kills the process.\n\n",
                title, n, distinct_syscalls(rules, n), errs);
        fprintf(out, "| system call | condition | why |\n|---|---|---|\n");
    } else {
        fprintf(out,
                "%s allowlist: %zu rules on %zu system calls, %zu of them answering an error "
                "(default: kill process)\n",
                title, n, distinct_syscalls(rules, n), errs);
    }
    for (i = 0; i < n; i++) {
        const struct rule *r = &rules[i];
        const char *cond = r->cond ? r->cond : "";
        if (md) {
            fprintf(out, "| `%s` | ", r->name);
            md_cell(out, cond);
            fputs(" | ", out);
            md_cell(out, r->why);
            fputs(" |\n", out);
        } else
            fprintf(out, "  %-18s %-40s %s\n", r->name, cond, r->why);
    }
    fputc('\n', out);
}

static void print_caps(FILE *out, bool md, const char *title, const struct cap_keep *caps, size_t n)
{
    size_t i;

    if (md) {
        fprintf(out, "**%s capabilities kept**: %zu%s\n\n", title, n,
                n ? "; every other capability is dropped from all five sets."
                  : " (all five sets empty).");
        if (n)
            fprintf(out, "| capability | why |\n|---|---|\n");
    } else {
        fprintf(out, "%s capabilities kept: %zu\n", title, n);
    }
    for (i = 0; i < n; i++) {
        if (md) {
            fprintf(out, "| `%s` | ", caps[i].name);
            md_cell(out, caps[i].why);
            fputs(" |\n", out);
        } else
            fprintf(out, "  %-20s %s\n", caps[i].name, caps[i].why);
    }
    if (n || !md)
        fputc('\n', out);
}

void fb_confine_print(FILE *out, bool md)
{
    print_caps(out, md, "Sentry", NULL, 0);
    print_rules(out, md, "Sentry", sentry_rules, NELEM(sentry_rules));
    print_caps(out, md, "Gofer", gofer_caps, NELEM(gofer_caps));
    print_rules(out, md, "Gofer", gofer_rules, NELEM(gofer_rules));
}

int fb_cmd_confine(int argc, char **argv)
{
    bool md = false;
    int i;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--markdown"))
            md = true;
        else if (strcmp(argv[i], "--list") != 0) {
            fprintf(stderr, "Usage: fnbox confine --list [--markdown]\n");
            return 2;
        }
    }
    fb_confine_print(stdout, md);
    return 0;
}

#endif /* FB_CONFINE_GEN */
