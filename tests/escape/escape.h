/* Shared helpers of the escape programs in tests/escape/: each program attacks one boundary from
 * inside the sandbox and checks that it gets its documented outcome (tests/escape/run.sh runs it
 * and checks the host side: canary process alive, no marker file, no process left behind). */
#ifndef FB_TESTS_ESCAPE_H
#define FB_TESTS_ESCAPE_H

/*
 * Every check prints "ok: what" or "FAIL: what: why" and the program goes on; esc_done() prints
 * a summary and returns the exit status (0 only when every check passed). The runner mounts:
 *   /t     build/escape (read-only), the programs
 *   /rw    a fresh host scratch directory, read-write (--mount SRC:/rw:rw)
 *   /info  read-only host facts: host_pid (a canary process on the host that must survive),
 *          syscalls.txt (`fnbox syscalls`, the documented support level and error of each call)
 * Files an attack tries to create outside the sandbox are named fnbox-escape-marker*: the runner
 * looks for them on the host.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ESC_UNUSED      __attribute__((unused))
#define ESC_MARKER      "fnbox-escape-marker"
#define ESC_KERNEL_ADDR 0xffff800000000000ull

static int esc_checks ESC_UNUSED, esc_failed ESC_UNUSED;

static inline const char *esc_errname(int e)
{
    static char buf[4][24];
    static int slot;
    const char *n = e == 0 ? "0" : strerrorname_np(e);
    if (n)
        return n;
    slot = (slot + 1) % 4;
    snprintf(buf[slot], sizeof(buf[slot]), "errno %d", e);
    return buf[slot];
}

static inline __attribute__((format(printf, 2, 3))) void esc_check(bool ok, const char *fmt, ...)
{
    va_list ap;
    esc_checks++;
    if (!ok)
        esc_failed++;
    fputs(ok ? "ok: " : "FAIL: ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

/* ESC_ERR(call, E): the call must fail with errno E. */
#define ESC_ERR(call, e)                                                                           \
    do {                                                                                           \
        long _r;                                                                                   \
        int _e;                                                                                    \
        errno = 0;                                                                                 \
        _r = (long)(call);                                                                         \
        _e = errno;                                                                                \
        esc_check(_r == -1 && _e == (e), "%s -> %s (got %ld, %s)", #call, esc_errname(e), _r,      \
                  esc_errname(_e));                                                                \
    } while (0)

/* ESC_ERR2(call, E1, E2): fails with one of two errnos (both documented for the case). */
#define ESC_ERR2(call, e1, e2)                                                                     \
    do {                                                                                           \
        long _r;                                                                                   \
        int _e;                                                                                    \
        errno = 0;                                                                                 \
        _r = (long)(call);                                                                         \
        _e = errno;                                                                                \
        esc_check(_r == -1 && (_e == (e1) || _e == (e2)), "%s -> %s or %s (got %ld, %s)", #call,   \
                  esc_errname(e1), esc_errname(e2), _r, esc_errname(_e));                          \
    } while (0)

#define ESC_OK(call)                                                                               \
    do {                                                                                           \
        long _r;                                                                                   \
        errno = 0;                                                                                 \
        _r = (long)(call);                                                                         \
        esc_check(_r >= 0, "%s succeeds (got %ld, %s)", #call, _r, esc_errname(errno));            \
    } while (0)

static inline int esc_done(void)
{
    printf("%d checks, %d failed\n", esc_checks, esc_failed);
    return esc_failed ? 1 : 0;
}

/* The host pid of the runner's canary process (from /info/host_pid), or 0. */
static inline long esc_host_pid(void)
{
    long v = 0;
    FILE *f = fopen("/info/host_pid", "r");
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = 0;
        fclose(f);
    }
    return v;
}

/* Run fn(arg) in a child; kill it after timeout_ms. Returns the wait status, with
 * *timed_out set if the parent had to kill it. */
static inline int esc_run_child(void (*fn)(void *), void *arg, int timeout_ms, bool *timed_out)
{
    int st = 0, waited = 0;
    pid_t p = fork();
    if (timed_out)
        *timed_out = false;
    if (p < 0)
        return -1;
    if (p == 0) {
        fn(arg);
        _exit(0);
    }
    for (;;) {
        pid_t r = waitpid(p, &st, WNOHANG);
        if (r == p)
            return st;
        if (r < 0)
            return -1;
        if (waited >= timeout_ms) {
            if (timed_out)
                *timed_out = true;
            kill(p, SIGKILL);
            waitpid(p, &st, 0);
            return st;
        }
        usleep(1000);
        waited++;
    }
}

static inline const char *esc_status_str(int st)
{
    static char buf[64];
    if (WIFEXITED(st))
        snprintf(buf, sizeof(buf), "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, sizeof(buf), "signal %s", sigabbrev_np(WTERMSIG(st)) ?: "?");
    else
        snprintf(buf, sizeof(buf), "status %#x", st);
    return buf;
}

/* Read a whole small file into buf; returns bytes or -1. */
static inline ssize_t esc_read_file(const char *path, char *buf, size_t size)
{
    ssize_t n, got = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    while ((size_t)got < size - 1 && (n = read(fd, buf + got, size - 1 - (size_t)got)) > 0)
        got += n;
    buf[got] = 0;
    close(fd);
    return got;
}

/* The errno fnbox documents for syscall nr (from /info/syscalls.txt, the output of `fnbox
 * syscalls`): ENOSYS for "none", the leading errno name of the note for "error", 0 otherwise
 * (implemented) or if the table cannot be read. */
static inline int esc_documented_errno(long nr)
{
    static const struct {
        const char *name;
        int e;
    } names[] = {{"EPERM", EPERM},
                 {"EACCES", EACCES},
                 {"ENOSYS", ENOSYS},
                 {"EINVAL", EINVAL},
                 {"ENOENT", ENOENT},
                 {"EOPNOTSUPP", EOPNOTSUPP},
                 {"EAFNOSUPPORT", EAFNOSUPPORT},
                 {"ENODEV", ENODEV},
                 {"EBADF", EBADF}};
    char line[512], level[32], note[400];
    FILE *f = fopen("/info/syscalls.txt", "r");
    int e = -1;
    size_t i;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        long n;
        char name[64];
        note[0] = 0;
        if (sscanf(line, " %ld %63s %31s %399[^\n]", &n, name, level, note) < 3 || n != nr)
            continue;
        if (!strcmp(level, "none"))
            e = ENOSYS;
        else if (strcmp(level, "error") != 0)
            e = 0;
        else
            for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (!strncmp(note, names[i].name, strlen(names[i].name)) &&
                    (note[strlen(names[i].name)] == ':' || note[strlen(names[i].name)] == ' ' ||
                     !note[strlen(names[i].name)]))
                    e = names[i].e;
        break;
    }
    fclose(f);
    return e;
}

/* ESC_REFUSED(nr, call, E): the call fails with E, and E is what the syscall table documents. */
#define ESC_REFUSED(nr, call, e)                                                                   \
    do {                                                                                           \
        int _doc = esc_documented_errno(nr);                                                       \
        ESC_ERR(call, e);                                                                          \
        esc_check(_doc == (e), "syscall %ld documented as %s (table says %s)", (long)(nr),         \
                  esc_errname(e), _doc < 0 ? "nothing" : esc_errname(_doc));                       \
    } while (0)

/* Fork children that pause until fork fails or `max` exist; returns how many were made and the
 * errno of the failed fork in *err (0 if none failed). The caller kills them (kill(-1, ...)). */
static inline int esc_fork_until_refused(int max, int *err)
{
    int n = 0;
    *err = 0;
    for (;;) {
        pid_t p = fork();
        if (p < 0) {
            *err = errno;
            return n;
        }
        if (p == 0) {
            pause();
            _exit(0);
        }
        if (++n >= max)
            return n;
    }
}

#endif
