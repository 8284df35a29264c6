/* Syscall fuzzer, run inside the sandbox: random system calls with random and hostile arguments
 * from a seeded generator, in forked workers so it survives its own kills and crashes. Run by
 * tests/fuzz/run.sh (bounded in make test, longer in make fuzz), which checks the host side. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * Usage: sysfuzz SEED SECONDS [CALLS_PER_WORKER]
 * Seven calls in eight are drawn from the implemented numbers of /info/syscalls.txt (the output
 * of `fnbox syscalls`), the rest from any number below 460.
 * Worker k of seed S draws its calls from the generator seeded with (S, k), so a run is
 * reproducible call for call (results may differ with timing: that is what the Sentry must
 * survive). Every worker starts from the same fd set (pipe, socketpair, a tmpfs file, a file in
 * the read-write mount /rw if present, eventfd, /proc and /dev files), its stdio on /dev/null.
 * Calls that end a worker (exit, exit_group, kill, rt_sigreturn...) are drawn rarely, not never.
 * Between workers pid 1 kills every other process (kill(-1, SIGKILL)) so each starts clean; a
 * worker that runs past 300 ms is killed (most of those are blocked in a wait), and what the
 * worker left in its scratch directories (/tmp/fz, /dev/shm, /rw) is removed. Workers write no
 * file beyond 64 MiB (RLIMIT_FSIZE): one sendfile from /dev/zero would fill the sandbox's
 * memory through tmpfs (or the host's disk through /rw), and the next page fault would end the
 * run at the memory limit. Exit status 0 when pid 1 got to the end.
 * Pid 1 ignores every signal it can, real-time ones included: fnbox's pid 1 is not protected
 * like a pid namespace's init (docs/architecture.md), so a worker's kill(0, SIGRTMIN) would
 * otherwise end the run. Workers lead process groups of their own, and their signal calls
 * aimed at pid 1 or at "my group" go to their own group instead: SIGKILL and SIGSTOP cannot be
 * ignored.
 */

#define MAX_NR      460
#define KERNEL_ADDR 0xffff800000000000ull

static uint64_t rng;

static uint64_t next(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

static uint64_t below(uint64_t n)
{
    return n ? next() % n : 0;
}

static long impl[MAX_NR]; /* implemented numbers (full/partial in /info/syscalls.txt) */
static int nimpl;
static char *buf; /* a valid, writable region of 3 pages */
static int fds[16]; /* fds every worker starts with */
static int nfds;

static const char *const paths[] = {"/tmp/fz",
                                    "/tmp/fz/a",
                                    "/rw/f",
                                    "/rw/d/x",
                                    "/rw/..",
                                    "/rw/../../etc",
                                    "/proc/self/status",
                                    "/proc/self/fd",
                                    "/dev/null",
                                    "/dev/zero",
                                    "",
                                    "..",
                                    "/",
                                    "/tmp",
                                    "/proc/1/root",
                                    "/etc/passwd",
                                    "/rw/link",
                                    "/tmp/fz/../../.."};

static uint64_t arg(void)
{
    switch (below(14)) {
    case 0:
        return 0;
    case 1:
        return below(17); /* small numbers, flags, fds */
    case 2:
        return fds[below((uint64_t)nfds)]; /* an open fd */
    case 3:
        return (uint64_t)-1 - below(4); /* -1, -2, ... */
    case 4:
        return (uint64_t)buf + below(3 * 4096); /* valid pointer, any alignment */
    case 5:
        return (uint64_t)buf; /* valid, aligned */
    case 6:
        return KERNEL_ADDR + below(1 << 20); /* kernel */
    case 7:
        return 0x0000800000000000ull; /* first non-canonical */
    case 8:
        return (uint64_t)paths[below(sizeof(paths) / sizeof(paths[0]))];
    case 9:
        return 1ull << below(64); /* one bit */
    case 10:
        return next(); /* anything */
    case 11:
        return (uint64_t)(uint32_t)next(); /* 32-bit anything */
    case 12:
        return 4096 * below(64); /* lengths */
    default:
        return (uint64_t)&arg; /* read-only text */
    }
}

static bool rare(long nr)
{
    return nr == SYS_exit || nr == SYS_exit_group || nr == SYS_kill || nr == SYS_tkill ||
           nr == SYS_tgkill || nr == SYS_rt_sigreturn || nr == SYS_execve || nr == SYS_execveat ||
           nr == SYS_munmap || nr == SYS_pause || nr == SYS_vfork;
}

/* Set the disposition of every signal but SIGKILL, SIGSTOP and SIGCHLD: the raw call, since
 * glibc's sigaction refuses 32 and 33 (its own). */
static void set_all_signals(void (*handler)(int))
{
    struct {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)(void);
        uint64_t mask;
    } ka = {handler, 0, NULL, 0};
    for (int sig = 1; sig <= 64; sig++)
        if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD)
            syscall(SYS_rt_sigaction, sig, &ka, NULL, 8);
}

/* Calls that send a signal to the process (group) named by their first argument. */
static bool signals_pid(long nr)
{
    return nr == SYS_kill || nr == SYS_tkill || nr == SYS_tgkill || nr == SYS_rt_sigqueueinfo ||
           nr == SYS_rt_tgsigqueueinfo || nr == SYS_pidfd_open;
}

static void setup_fds(void)
{
    int p[2], s[2];
    nfds = 0;
    if (pipe(p) == 0) {
        fds[nfds++] = p[0];
        fds[nfds++] = p[1];
    }
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0) {
        fds[nfds++] = s[0];
        fds[nfds++] = s[1];
    }
    mkdir("/tmp/fz", 0777);
    fds[nfds++] = open("/tmp/fz/file", O_RDWR | O_CREAT, 0644);
    if (access("/rw", W_OK) == 0) {
        mkdir("/rw/d", 0777);
        fds[nfds++] = open("/rw/f", O_RDWR | O_CREAT, 0644);
        fds[nfds++] = open("/rw", O_RDONLY | O_DIRECTORY);
    }
    fds[nfds++] = eventfd(0, EFD_NONBLOCK);
    fds[nfds++] = open("/proc/self/maps", O_RDONLY);
    fds[nfds++] = open("/dev/urandom", O_RDONLY);
    fds[nfds++] = open("/", O_RDONLY | O_DIRECTORY);
    /* A read-only host file: its private read-only mappings are mapped straight from the
     * host file, which random munmap/mprotect/mremap/fork must never confuse. */
    fds[nfds++] = open("/bin/sh", O_RDONLY);
    fds[nfds++] = 1000; /* not open */
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    if (ftw->level > 0) /* the directory itself stays */
        remove(path);
    return 0;
}

/* Empty the scratch directories a worker may have filled (see the usage above). */
static void clean_scratch(void)
{
    static const char *const dirs[] = {"/tmp/fz", "/dev/shm", "/rw"};
    for (unsigned i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        nftw(dirs[i], remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The implemented numbers, from the table the runner mounts at /info (all numbers without it). */
static void load_table(void)
{
    char line[512], name[64], level[32];
    long n;
    FILE *f = fopen("/info/syscalls.txt", "r");
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, " %ld %63s %31s", &n, name, level) == 3 && n >= 0 && n < MAX_NR &&
            (!strcmp(level, "full") || !strcmp(level, "partial")))
            impl[nimpl++] = n;
    if (f)
        fclose(f);
}

static __attribute__((noreturn)) void worker(uint64_t seed, int k, int calls)
{
    int null = open("/dev/null", O_RDWR), i;
    if (null < 0) {
        /* An earlier worker may have set pid 1's RLIMIT_NOFILE to 0 (prlimit64): without
         * /dev/null, write nothing at all rather than noise on the sandbox's real stdout. */
        close(0);
        close(1);
        close(2);
    }
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    rng = seed * 0x9e3779b97f4a7c15ull + (uint64_t)k * 0xbf58476d1ce4e5b9ull + 1;
    /* No file beyond 64 MiB: one sendfile from /dev/zero would otherwise fill the sandbox's
     * memory through tmpfs (or the host's disk through /rw) and end the run (SIGXFSZ then
     * ends just this worker). */
    {
        struct rlimit fsize = {64 << 20, 64 << 20};
        setrlimit(RLIMIT_FSIZE, &fsize);
    }
    setpgid(0, 0);
    setup_fds();
    for (i = 0; i < calls; i++) {
        /* Mostly implemented calls (that is where the Sentry's code is), some of anything. */
        long nr = nimpl && below(8) ? impl[below((uint64_t)nimpl)] : (long)below(MAX_NR);
        uint64_t a[6];
        int j;
        if (rare(nr) && below(20) != 0)
            continue;
        for (j = 0; j < 6; j++)
            a[j] = arg();
        if (signals_pid(nr) && ((int)a[0] == 0 || (int)a[0] == 1))
            a[0] = (uint64_t)(int64_t)-getpid(); /* not pid 1: our own group */
        memset(buf, (int)below(256), 3 * 4096);
        syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    }
    _exit(0);
}

int main(int argc, char **argv)
{
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;
    int seconds = argc > 2 ? atoi(argv[2]) : 10;
    int calls = argc > 3 ? atoi(argv[3]) : 200;
    int k, faulted = 0, hung = 0;
    struct timespec t0, t;

    buf = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    load_table();
    set_all_signals(SIG_IGN);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (k = 0;; k++) {
        pid_t w;
        int st = 0, waited;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec >= seconds)
            break;
        w = fork();
        if (w < 0) {
            kill(-1, SIGKILL);
            while (waitpid(-1, NULL, __WALL) > 0)
                ;
            continue;
        }
        if (w == 0) {
            set_all_signals(SIG_DFL);
            worker(seed, k, calls);
        }
        for (waited = 0; waited < 300; waited++) {
            if (waitpid(w, &st, WNOHANG) == w)
                break;
            usleep(1000);
        }
        if (waited == 300) {
            hung++;
            kill(w, SIGKILL);
            waitpid(w, &st, 0);
        } else if (WIFSIGNALED(st)) {
            faulted++;
        }
        /* Clean slate: the worker's descendants go too. */
        kill(-1, SIGKILL);
        while (waitpid(-1, NULL, __WALL | WNOHANG) > 0)
            ;
        clean_scratch();
    }
    kill(-1, SIGKILL);
    while (waitpid(-1, NULL, __WALL) > 0)
        ;
    printf("sysfuzz seed %llu: %d workers of %d calls in %d s (%d implemented numbers); %d died "
           "by a signal, %d were killed after 300 ms\n",
           (unsigned long long)seed, k, calls, seconds, nimpl, faulted, hung);
    return 0;
}
