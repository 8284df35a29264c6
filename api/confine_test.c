/* Tests of api/confine.c: a forked child locks itself down with the production policy, the
 * parent reads its /proc status (seccomp mode, no_new_privs, capability sets), then orders it to
 * make one call: allowed calls must work, forbidden ones must kill the child with SIGSYS. */
#include "api/confine.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fbtest.h"

enum who { SENTRY, GOFER };

struct child {
    pid_t pid;
    int cmd;    /* parent -> child: one command byte */
    int status; /* child -> parent: lock-down result */
};

static void *thread_fn(void *arg)
{
    return arg;
}

/* In the locked-down child: perform the command, exit 0 if it behaved as allowed. */
static __attribute__((noreturn)) void run_cmd(char c)
{
    char *argv[] = {"/bin/true", NULL};
    pthread_t th;
    void *ret;
    int sv[2];

    switch (c) {
    case 'g': /* allowed: a plain call */
        _exit(getpid() > 0 ? 0 : 1);
    case 't': /* Sentry: threads are allowed (clone3 is refused with ENOSYS, glibc retries clone) */
        if (pthread_create(&th, NULL, thread_fn, (void *)1) != 0 || pthread_join(th, &ret) != 0)
            _exit(1);
        _exit(ret == (void *)1 ? 0 : 1);
    case '3': /* clone3 answers ENOSYS */
        _exit(syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS ? 0 : 1);
    case 'M': /* mmap without PROT_EXEC is allowed */
        _exit(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) !=
                      MAP_FAILED
                  ? 0
                  : 1);
    case 'r': /* Gofer: openat relative to a held directory fd */
        _exit(openat(100, "bin", O_PATH | O_NOFOLLOW | O_CLOEXEC) >= 0 ? 0 : 1);
    case 'R': /* glibc's one-time /proc read fails quietly instead of killing */
        _exit(open("/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC) == -1 && errno == ENOENT
                  ? 0
                  : 1);
    /* forbidden: each must be killed before it returns */
    case 'o':
        open("/etc/passwd", O_RDWR);
        break;
    case 'O':
        syscall(SYS_openat2, AT_FDCWD, "/etc/passwd", NULL, 0);
        break;
    case 's':
        socket(AF_INET, SOCK_STREAM, 0);
        break;
    case 'S':
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
        break;
    case 'x':
        execve(argv[0], argv, NULL);
        break;
    case 'X':
        mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        break;
    case 'P':
        mprotect((void *)((uintptr_t)&argv & ~4095ul), 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
        break;
    case 'f': /* a process, not a thread */
        syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
        break;
    case 'n': /* a thread in a new namespace */
        syscall(SYS_clone,
                CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                    CLONE_NEWNET,
                0, 0, 0, 0);
        break;
    case 'k': /* only SIGKILL may be sent to a process */
        kill(getppid(), SIGTERM);
        break;
    case 'a':
        ptrace(PTRACE_ATTACH, getppid(), 0, 0);
        break;
    case 'u':
        unshare(CLONE_NEWUSER);
        break;
    case 'c':
        chroot("/");
        break;
    }
    _exit(100); /* survived a forbidden call */
}

/* Fork a child that confines itself as `who` and waits for a command. */
static int start(enum who who, struct child *c)
{
    int cmd[2], st[2];

    /* Commands come over a socket and are taken with recv(): the Gofer's allowlist has no
     * read(), it receives with recvfrom only. */
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, cmd) || pipe(st))
        return -1;
    c->pid = fork();
    if (c->pid < 0)
        return -1;
    if (c->pid == 0) {
        struct fb_error err = {0};
        int r, dir = open("/", O_PATH | O_DIRECTORY); /* for 'r' (the Gofer's held root) */
        char ch = 0;

        if (dir >= 0) {
            dup2(dir, 100);
            close(dir);
        }
        close(cmd[1]);
        close(st[0]);
        r = who == SENTRY ? fb_confine_sentry(&err) : fb_confine_gofer(&err);
        if (r < 0)
            fprintf(stderr, "confine: %s\n", err.msg);
        (void)!write(st[1], &r, sizeof(r));
        if (recv(cmd[0], &ch, 1, 0) != 1)
            _exit(99);
        run_cmd(ch);
    }
    close(cmd[0]);
    close(st[1]);
    c->cmd = cmd[1];
    c->status = st[0];
    return 0;
}

/* Read the lock-down result; then the child is confined and blocked on its command pipe. */
static int confined(struct child *c)
{
    int r = -2;

    if (read(c->status, &r, sizeof(r)) != sizeof(r))
        return -3;
    return r;
}

/* Send the command, return the child's wait status. */
static int finish(struct child *c, char cmd)
{
    int st = -1;

    (void)!write(c->cmd, &cmd, 1);
    close(c->cmd);
    close(c->status);
    waitpid(c->pid, &st, 0);
    return st;
}

static int run_one(enum who who, char cmd)
{
    struct child c;

    if (start(who, &c) < 0 || confined(&c) != 0) {
        if (c.pid > 0) {
            kill(c.pid, SIGKILL);
            waitpid(c.pid, NULL, 0);
        }
        return -1;
    }
    return finish(&c, cmd);
}

static bool killed_by_seccomp(int st)
{
    return st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS;
}

static bool exited_ok(int st)
{
    return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* "Name:\tvalue" of /proc/PID/status, or "" */
static void status_field(pid_t pid, const char *name, char *out, size_t cap)
{
    char path[64], line[256];
    size_t n = strlen(name);
    FILE *f;

    out[0] = 0;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, name, n) && line[n] == ':') {
            char *v = line + n + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            v[strcspn(v, "\n")] = 0;
            snprintf(out, cap, "%s", v);
            break;
        }
    }
    fclose(f);
}

static void test_sentry_status(void)
{
    static const char *const zero[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"};
    struct child c;
    char v[64];
    size_t i;

    FBT_CHECK_EQ(start(SENTRY, &c), 0);
    FBT_CHECK_EQ(confined(&c), 0);
    status_field(c.pid, "Seccomp", v, sizeof(v));
    FBT_CHECK_STR(v, "2");
    status_field(c.pid, "NoNewPrivs", v, sizeof(v));
    FBT_CHECK_STR(v, "1");
    for (i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
        status_field(c.pid, zero[i], v, sizeof(v));
        FBT_CHECK_STR(v, "0000000000000000");
    }
    FBT_CHECK(exited_ok(finish(&c, 'g')));
}

static void test_gofer_status(void)
{
    /* CAP_CHOWN 0, CAP_DAC_OVERRIDE 1, CAP_DAC_READ_SEARCH 2, CAP_FOWNER 3 */
    struct child c;
    char v[64];

    FBT_CHECK_EQ(start(GOFER, &c), 0);
    FBT_CHECK_EQ(confined(&c), 0);
    status_field(c.pid, "Seccomp", v, sizeof(v));
    FBT_CHECK_STR(v, "2");
    status_field(c.pid, "NoNewPrivs", v, sizeof(v));
    FBT_CHECK_STR(v, "1");
    status_field(c.pid, "CapEff", v, sizeof(v));
    FBT_CHECK_STR(v, "000000000000000f");
    status_field(c.pid, "CapPrm", v, sizeof(v));
    FBT_CHECK_STR(v, "000000000000000f");
    status_field(c.pid, "CapBnd", v, sizeof(v));
    FBT_CHECK_STR(v, "0000000000000000");
    FBT_CHECK(exited_ok(finish(&c, 'g')));
}

static void test_sentry_allowed_calls_work(void)
{
    FBT_CHECK(exited_ok(run_one(SENTRY, 't')));
    FBT_CHECK(exited_ok(run_one(SENTRY, '3')));
    FBT_CHECK(exited_ok(run_one(SENTRY, 'M')));
    FBT_CHECK(exited_ok(run_one(SENTRY, 'R')));
}

static void test_sentry_forbidden_calls_kill(void)
{
    static const char cmds[] = "oOsSxXPfnkauc";
    size_t i;

    for (i = 0; cmds[i]; i++) {
        int st = run_one(SENTRY, cmds[i]);
        if (!killed_by_seccomp(st))
            printf("  sentry command '%c': wait status %#x\n", cmds[i], st);
        FBT_CHECK(killed_by_seccomp(st));
    }
}

static void test_gofer_calls(void)
{
    static const char forbidden[] = "oOsSxXfakuc"; /* o, O: path-based opens from AT_FDCWD */
    size_t i;

    FBT_CHECK(exited_ok(run_one(GOFER, 'r')));
    FBT_CHECK(exited_ok(run_one(GOFER, 'R')));
    for (i = 0; forbidden[i]; i++) {
        int st = run_one(GOFER, forbidden[i]);
        if (!killed_by_seccomp(st))
            printf("  gofer command '%c': wait status %#x\n", forbidden[i], st);
        FBT_CHECK(killed_by_seccomp(st));
    }
}

/* The tables the docs print are the ones enforced: sizes agree with the listing. */
static void test_listing_matches_tables(void)
{
    char *buf = NULL;
    size_t len = 0;
    char want[128];
    FILE *f = open_memstream(&buf, &len);

    FBT_CHECK(f != NULL);
    fb_confine_print(f, true);
    fclose(f);
    snprintf(want, sizeof(want), "**Sentry allowlist**: %zu rules", fb_confine_sentry_rules());
    FBT_CHECK(strstr(buf, want) != NULL);
    snprintf(want, sizeof(want), "**Gofer allowlist**: %zu rules", fb_confine_gofer_rules());
    FBT_CHECK(strstr(buf, want) != NULL);
    FBT_CHECK(strstr(buf, "| `openat` |") != NULL); /* the ENOENT rule, with its condition */
    FBT_CHECK(strstr(buf, "| `socket` |") == NULL);
    FBT_CHECK(strstr(buf, "| `execve` |") == NULL);
    free(buf);
}

/* The programs built into fnbox are what the tables compile to (the build-time generator ran on
 * the current tables with this libseccomp). */
static void test_programs_current(void)
{
    FBT_CHECK(fb_confine_programs_current());
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IONBF, 0); /* children fork from here */
    if (geteuid() != 0) {
        FBT_SKIP(confine_tests, "needs root (dropping the bounding set needs CAP_SETPCAP)");
        return 0;
    }
    FBT_RUN(test_sentry_status);
    FBT_RUN(test_gofer_status);
    FBT_RUN(test_sentry_allowed_calls_work);
    FBT_RUN(test_sentry_forbidden_calls_kill);
    FBT_RUN(test_gofer_calls);
    FBT_RUN(test_listing_matches_tables);
    FBT_RUN(test_programs_current);
    FBT_EXIT();
}
