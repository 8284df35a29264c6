/* Shared helpers for the syscall conformance programs in tests/syscalls/: checks that print one
 * deterministic line each, errno and signal names, a private temp dir, children and fault catching.
 */
#ifndef FB_TESTS_SYSCALLS_CONFORM_H
#define FB_TESTS_SYSCALLS_CONFORM_H

/*
 * Every program runs twice, natively and under fnbox, and the runner compares stdout and the exit
 * status byte for byte. So everything printed must be a deterministic fact: never a pid, an
 * address, a time, an inode or an fd number that depends on the environment. Errnos and signals are
 * printed by name. Each check prints "ok <what>" or "FAIL <what>: <why>" and the program goes on;
 * cf_done() prints a summary and returns the exit status (0 when every check passed).
 *
 * Children created by fork() must leave with _exit() (cf_child_exit()), never exit(): exit() would
 * run the parent's atexit cleanup. Children should not print: the parent reports what they did.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Exit status meaning "this program cannot run here" (the automake convention); the runner prints
 * SKIP with the reason the program printed. */
#define CF_EXIT_SKIP 77

#define CF_UNUSED __attribute__((unused))

static int cf_checks CF_UNUSED, cf_failed CF_UNUSED;
static char cf_tmpdir_path[64] CF_UNUSED;
static pid_t cf_tmpdir_owner CF_UNUSED;
static const char *cf_prog CF_UNUSED = "?";

/* Name of an errno value ("EBADF"); never a number unless the value has no name. */
static inline const char *cf_errname(int e)
{
    static char buf[4][24];
    static int slot;
    const char *n = e == 0 ? "0" : strerrorname_np(e);
    if (n)
        return n;
    char *b = buf[slot++ % 4];
    snprintf(b, sizeof(buf[0]), "E#%d", e);
    return b;
}

/* Name of a signal ("SIGSEGV", "SIGRTMIN+2"). */
static inline const char *cf_signame(int sig)
{
    static char buf[4][24];
    static int slot;
    char *b = buf[slot++ % 4];
    if (sig >= SIGRTMIN && sig <= SIGRTMAX)
        snprintf(b, sizeof(buf[0]), "SIGRTMIN+%d", sig - SIGRTMIN);
    else if (sigabbrev_np(sig))
        snprintf(b, sizeof(buf[0]), "SIG%s", sigabbrev_np(sig));
    else
        snprintf(b, sizeof(buf[0]), "SIG#%d", sig);
    return b;
}

/* A wait status as words: "exited 3", "killed by SIGTERM", "killed by SIGSEGV (core)",
 * "stopped by SIGSTOP", "continued". */
static inline const char *cf_status_str(int st)
{
    static char buf[4][48];
    static int slot;
    char *b = buf[slot++ % 4];
    if (WIFEXITED(st))
        snprintf(b, sizeof(buf[0]), "exited %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(b, sizeof(buf[0]), "killed by %s%s", cf_signame(WTERMSIG(st)),
                 WCOREDUMP(st) ? " (core)" : "");
    else if (WIFSTOPPED(st))
        snprintf(b, sizeof(buf[0]), "stopped by %s", cf_signame(WSTOPSIG(st)));
    else if (WIFCONTINUED(st))
        snprintf(b, sizeof(buf[0]), "continued");
    else
        snprintf(b, sizeof(buf[0]), "status 0x%x", st);
    return b;
}

static inline void cf_vline(const char *prefix, const char *fmt, va_list ap, const char *suffix)
{
    char what[512];
    vsnprintf(what, sizeof(what), fmt, ap);
    printf("%s%s%s\n", prefix, what, suffix ? suffix : "");
}

/* Print one fact line verbatim (it must be deterministic). */
static inline void cf_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void cf_say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cf_vline("", fmt, ap, NULL);
    va_end(ap);
}

static inline bool cf_report(bool ok, const char *why, const char *fmt, va_list ap)
{
    cf_checks++;
    if (ok) {
        cf_vline("ok ", fmt, ap, NULL);
    } else {
        char suffix[200];
        snprintf(suffix, sizeof(suffix), ": %s", why);
        cf_vline("FAIL ", fmt, ap, suffix);
        cf_failed++;
    }
    return ok;
}

static inline bool cf_check_(bool ok, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline bool cf_check_(bool ok, int err, const char *fmt, ...)
{
    char why[64];
    snprintf(why, sizeof(why), "errno=%s", cf_errname(err));
    va_list ap;
    va_start(ap, fmt);
    cf_report(ok, why, fmt, ap);
    va_end(ap);
    return ok;
}

static inline bool cf_check_err_(long ret, int err, int want, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline bool cf_check_err_(long ret, int err, int want, const char *fmt, ...)
{
    char why[96], what[400];
    bool ok = ret == -1 && err == want;
    if (ret == -1)
        snprintf(why, sizeof(why), "errno=%s, want %s", cf_errname(err), cf_errname(want));
    else
        snprintf(why, sizeof(why), "succeeded (ret=%ld), want %s", ret, cf_errname(want));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (ok)
        printf("ok %s: %s\n", what, cf_errname(want));
    else
        printf("FAIL %s: %s\n", what, why);
    cf_checks++;
    cf_failed += !ok;
    return ok;
}

static inline bool cf_check_eq_(long long got, long long want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline bool cf_check_eq_(long long got, long long want, const char *fmt, ...)
{
    char why[96];
    snprintf(why, sizeof(why), "got %lld, want %lld", got, want);
    va_list ap;
    va_start(ap, fmt);
    cf_report(got == want, why, fmt, ap);
    va_end(ap);
    return got == want;
}

/* Copy s into a rotating static buffer with control characters escaped (\n, \t, \xNN). */
static inline const char *cf_escape(const char *s)
{
    static char buf[4][256];
    static int slot;
    char *b = buf[slot++ % 4], *o = b;
    for (; s && *s && o < b + sizeof(buf[0]) - 5; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n')
            o += sprintf(o, "\\n");
        else if (c == '\t')
            o += sprintf(o, "\\t");
        else if (c < 32 || c >= 127)
            o += sprintf(o, "\\x%02x", c);
        else
            *o++ = (char)c;
    }
    *o = 0;
    return s ? b : "(null)";
}

static inline bool cf_check_str_(const char *got, const char *want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline bool cf_check_str_(const char *got, const char *want, const char *fmt, ...)
{
    char why[256];
    bool ok = got && want && strcmp(got, want) == 0;
    char what[400];
    snprintf(why, sizeof(why), "got \"%.100s\", want \"%.100s\"", cf_escape(got), cf_escape(want));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (ok)
        printf("ok %s: %s\n", what, cf_escape(want));
    else
        printf("FAIL %s: %s\n", what, why);
    cf_checks++;
    cf_failed += !ok;
    return ok;
}

/* CHECK(cond, "what", ...): "ok what" or "FAIL what: errno=NAME" (errno as it was after cond). */
#define CHECK(cond, ...)                                                                           \
    ({                                                                                             \
        bool _cf_ok = (cond);                                                                      \
        int _cf_e = errno;                                                                         \
        cf_check_(_cf_ok, _cf_e, __VA_ARGS__);                                                     \
    })

/* CHECK_SYS(call, "what"): the call must not return -1; evaluates to the call's result. */
#define CHECK_SYS(call, ...)                                                                       \
    ({                                                                                             \
        long _cf_r = (long)(call);                                                                 \
        int _cf_e = errno;                                                                         \
        cf_check_(_cf_r != -1, _cf_e, __VA_ARGS__);                                                \
        _cf_r;                                                                                     \
    })

/* CHECK_ERR(call, EXXX, "what"): the call must return -1 with errno EXXX; prints "ok what: EXXX".
 */
#define CHECK_ERR(call, want, ...)                                                                 \
    ({                                                                                             \
        errno = 0;                                                                                 \
        long _cf_r = (long)(call);                                                                 \
        int _cf_e = errno;                                                                         \
        cf_check_err_(_cf_r, _cf_e, (want), __VA_ARGS__);                                          \
    })

/* CHECK_EQ(got, want, "what"): integer equality; on failure both values are printed. */
#define CHECK_EQ(got, want, ...) cf_check_eq_((long long)(got), (long long)(want), __VA_ARGS__)

/* CHECK_STR(got, want, "what"): string equality; prints "ok what: want". */
#define CHECK_STR(got, want, ...) cf_check_str_((got), (want), __VA_ARGS__)

/* CHECK_SAME(got, want, "what"): string equality without printing the value, for strings that
 * differ between worlds (paths under the temp dir, host names). */
#define CHECK_SAME(got, want, ...)                                                                 \
    ({                                                                                             \
        const char *_cf_g = (got), *_cf_w = (want);                                                \
        bool _cf_ok = _cf_g && _cf_w && strcmp(_cf_g, _cf_w) == 0;                                 \
        cf_check_(_cf_ok, 0, __VA_ARGS__);                                                         \
    })

/* Remove the temp dir (registered with atexit by cf_tmpdir; only in the process that made it). */
static inline int cf_rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(p);
    return 0;
}
static inline void cf_tmpdir_cleanup(void)
{
    if (cf_tmpdir_path[0] && getpid() == cf_tmpdir_owner) {
        nftw(cf_tmpdir_path, cf_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        cf_tmpdir_path[0] = 0;
    }
}

/* A fresh private directory under /tmp, made on first use and removed at exit. */
static inline const char *cf_tmpdir(void)
{
    if (!cf_tmpdir_path[0]) {
        strcpy(cf_tmpdir_path, "/tmp/conf-XXXXXX");
        if (!mkdtemp(cf_tmpdir_path)) {
            printf("FAIL mkdtemp /tmp/conf-XXXXXX: errno=%s\n", cf_errname(errno));
            exit(2);
        }
        cf_tmpdir_owner = getpid();
        atexit(cf_tmpdir_cleanup);
    }
    return cf_tmpdir_path;
}

/* "<tmpdir>/<name>", allocated (valid until exit). */
static inline const char *cf_tmp(const char *name)
{
    char *b = NULL;
    if (asprintf(&b, "%s/%s", cf_tmpdir(), name) < 0)
        abort();
    return b;
}

/* Create or replace a file with the given contents and mode. Returns 0 or -1 with errno. */
static inline int cf_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0) {
            int e = errno;
            close(fd);
            errno = n == 0 ? EIO : e;
            return -1;
        }
        p += n, len -= (size_t)n;
    }
    if (fchmod(fd, mode) < 0) { /* undo the umask */
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return close(fd);
}

/* Read a whole (small) file into buf, NUL-terminated. Returns the length or -1 with errno. */
static inline ssize_t cf_read_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got + 1 < size) {
        ssize_t n = read(fd, buf + got, size - 1 - got);
        if (n < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    buf[got] = 0;
    close(fd);
    return (ssize_t)got;
}

/* Read exactly len bytes unless EOF or error comes first; returns bytes read or -1. */
static inline ssize_t cf_read_full(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* Write all of buf; returns len or -1. */
static inline ssize_t cf_write_full(int fd, const void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, (const char *)buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return (ssize_t)len;
}

/* waitpid() that retries on EINTR; returns the status, or -1 (errno set) on error. */
static inline int cf_wait(pid_t pid)
{
    int st;
    pid_t r;
    do
        r = waitpid(pid, &st, __WALL);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -1 : st;
}

/* Leave a child process: status 0 if none of its checks failed. */
static inline __attribute__((noreturn)) void cf_child_exit(void)
{
    _exit(cf_failed ? 1 : 0);
}

/* fork(), run fn(arg) in the child and _exit with its return value; returns the child's pid. */
static inline pid_t cf_spawn(int (*fn)(void *), void *arg)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(fn(arg));
    return pid;
}

/* Spawn fn in a child and wait: returns the wait status (or -1). */
static inline int cf_run_child(int (*fn)(void *), void *arg)
{
    pid_t pid = cf_spawn(fn, arg);
    return pid < 0 ? -1 : cf_wait(pid);
}

/* Print "SKIP <why>" and leave with CF_EXIT_SKIP; the runner reports the program as skipped. */
static inline __attribute__((noreturn, format(printf, 1, 2))) void cf_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cf_vline("SKIP ", fmt, ap, NULL);
    va_end(ap);
    fflush(stdout);
    exit(CF_EXIT_SKIP);
}

/* The program's own name, from argv[0] ("fs_pipe"), both natively and as /t/fs_pipe in fnbox. */
static inline const char *cf_name(void)
{
    const char *s = strrchr(cf_prog, '/');
    return s ? s + 1 : cf_prog;
}

/* Start of every program: line-buffered stdout (children inherit no pending output), a watchdog
 * alarm, and the program name. */
static inline void cf_init(int argc, char **argv)
{
    (void)argc;
    setvbuf(stdout, NULL, _IOLBF, 0);
    cf_prog = argv[0] ? argv[0] : "?";
    alarm(10);
}

/* End of every program: a summary line; returns the exit status for main(). */
static inline int cf_done(void)
{
    printf("summary: %d checks, %d failed\n", cf_checks, cf_failed);
    fflush(stdout);
    return cf_failed ? 1 : 0;
}

/*
 * Make sure /usr is read-only, as it is in the sandbox. Natively (root, /usr writable) this enters
 * a private mount namespace and bind-mounts /usr read-only over itself, so that a program can check
 * EROFS without ever touching the host's /usr. Prints nothing when it works; skips the program
 * when /usr is writable and cannot be made read-only.
 */
static inline void cf_readonly_usr(void)
{
    struct statvfs sv;
    if (statvfs("/usr", &sv) == 0 && (sv.f_flag & ST_RDONLY))
        return;
    if (unshare(CLONE_NEWNS) < 0) {
        int e = errno;
        /* No privilege to remount (as in a sandbox): fine if /usr refuses writes anyway; the
         * program's own checks then report whether statvfs tells the truth. */
        if (access("/usr", W_OK) < 0 && errno == EROFS)
            return;
        cf_skip("/usr is writable and unshare(CLONE_NEWNS) failed: %s", cf_errname(e));
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("/usr", "/usr", NULL, MS_BIND | MS_REC, NULL) < 0 ||
        mount(NULL, "/usr", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
        cf_skip("/usr is writable and a read-only bind mount failed: %s", cf_errname(errno));
    if (statvfs("/usr", &sv) < 0 || !(sv.f_flag & ST_RDONLY))
        cf_skip("/usr is still writable after the read-only bind mount");
}

/* ---- catching synchronous faults ---------------------------------------------------------- */

struct cf_fault {
    int signo;  /* 0 when the access did not fault */
    int code;   /* si_code */
    void *addr; /* si_addr */
};

static sigjmp_buf cf_fault_jmp CF_UNUSED;
static volatile sig_atomic_t cf_fault_armed CF_UNUSED;
static struct cf_fault cf_fault_last CF_UNUSED;

static inline void cf_fault_handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (!cf_fault_armed) {
        signal(sig, SIG_DFL);
        return; /* re-executes the faulting instruction and dies with the default action */
    }
    cf_fault_last.signo = sig;
    cf_fault_last.code = si->si_code;
    cf_fault_last.addr = si->si_addr;
    cf_fault_armed = 0;
    siglongjmp(cf_fault_jmp, 1);
}

/* Run fn(arg) with SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGTRAP caught; returns the fault (signo 0
 * when none happened). Handlers are restored to the default afterwards. */
static inline struct cf_fault cf_catch(void (*fn)(void *), void *arg)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP};
    struct sigaction sa = {0};
    sa.sa_sigaction = cf_fault_handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
    memset(&cf_fault_last, 0, sizeof(cf_fault_last));
    if (sigsetjmp(cf_fault_jmp, 1) == 0) {
        cf_fault_armed = 1;
        fn(arg);
        cf_fault_armed = 0;
    }
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], SIG_DFL);
    return cf_fault_last;
}

static inline void cf_touch_read_(void *p)
{
    (void)*(volatile char *)p;
}
static inline void cf_touch_write_(void *p)
{
    *(volatile char *)p = 0x5a;
}

/* Read or write one byte at p, catching the fault if there is one. */
static inline struct cf_fault cf_read_at(void *p)
{
    return cf_catch(cf_touch_read_, p);
}
static inline struct cf_fault cf_write_at(void *p)
{
    return cf_catch(cf_touch_write_, p);
}

/* Name of a SIGSEGV/SIGBUS si_code. */
static inline const char *cf_segv_code(int sig, int code)
{
    if (sig == SIGSEGV && code == SEGV_MAPERR)
        return "SEGV_MAPERR";
    if (sig == SIGSEGV && code == SEGV_ACCERR)
        return "SEGV_ACCERR";
    if (sig == SIGBUS && code == BUS_ADRERR)
        return "BUS_ADRERR";
    if (code == SI_KERNEL)
        return "SI_KERNEL";
    return "other";
}

/* A small deterministic PRNG (xorshift64) for test data. */
static inline uint64_t cf_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* FNV-1a over a buffer, chainable. */
static inline uint64_t cf_hash(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    if (!h)
        h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 1099511628211ull;
    return h;
}

/* Sleep a few milliseconds (for handshakes that are then re-checked, never for correctness). */
static inline void cf_msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* A clock's value in ns. */
static inline int64_t cf_clock_ns(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Burn ns of this thread's CPU time (giving up after 5 s of wall time). */
static inline void cf_burn_cpu(int64_t ns)
{
    int64_t end = cf_clock_ns(CLOCK_THREAD_CPUTIME_ID) + ns;
    int64_t give_up = cf_clock_ns(CLOCK_MONOTONIC) + 5000000000LL;
    volatile uint64_t x = 1;
    while (cf_clock_ns(CLOCK_THREAD_CPUTIME_ID) < end && cf_clock_ns(CLOCK_MONOTONIC) < give_up)
        for (int i = 0; i < 10000; i++)
            x = x * 6364136223846793005ull + 1;
}

#endif
