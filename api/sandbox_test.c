/* Unit tests of sandbox supervision (api/sandbox.c) as a long-lived controller sees it: after
 * every kind of end (exit, timeout kill, OOM kill, failed start, --cpu), no host process is left,
 * no fd or memfd has leaked into the controller and the cpu cgroup is gone. */
#include "api/sandbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fbtest.h"

static int devnull = -1;

/* Open fds of this process; *memfds counts those naming a memfd. */
static int count_fds(int *memfds)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;
    *memfds = 0;
    while (d && (e = readdir(d))) {
        char path[300], target[256];
        ssize_t len;
        if (e->d_name[0] == '.')
            continue;
        n++;
        snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
        len = readlink(path, target, sizeof(target) - 1);
        if (len > 0) {
            target[len] = 0;
            if (strstr(target, "memfd:"))
                (*memfds)++;
        }
    }
    if (d)
        closedir(d);
    return n - 1; /* the directory stream itself */
}

/* Children of this process (live or zombie). */
static int count_children(void)
{
    char path[64], buf[1024];
    FILE *f;
    int n = 0;
    snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
    f = fopen(path, "r");
    if (f && fgets(buf, sizeof(buf), f)) {
        char *s = buf;
        while (*s) {
            while (*s == ' ')
                s++;
            if (!*s || *s == '\n')
                break;
            n++;
            while (*s && *s != ' ')
                s++;
        }
    }
    if (f)
        fclose(f);
    return n;
}

static enum fb_sandbox_outcome run_one(char **argv, uint64_t timeout_ms, uint64_t memory,
                                       double cpus, int *status, char *cgroup, size_t cgsize)
{
    struct fb_sandbox_config cfg;
    struct fb_sandbox sb;
    struct fb_error err = {0};
    static char *envp[] = {"PATH=/usr/bin:/bin", NULL};
    enum fb_sandbox_outcome out;

    memset(&cfg, 0, sizeof(cfg));
    cfg.kernel.platform = "ptrace";
    cfg.kernel.argv = argv;
    cfg.kernel.envp = envp;
    cfg.kernel.memory_limit = memory;
    cfg.gofer.donate_fds = true;
    cfg.timeout_ms = timeout_ms;
    cfg.cpus = cpus;
    cfg.stdio[0] = cfg.stdio[1] = cfg.stdio[2] = devnull;
    if (fb_sandbox_start(&cfg, &sb, &err) < 0) {
        printf("  start failed: %s\n", err.msg);
        return FB_SANDBOX_CRASHED;
    }
    if (cgroup)
        snprintf(cgroup, cgsize, "%s", sb.cgroup);
    out = fb_sandbox_wait(&sb, &cfg, status, &err);
    return out;
}

static void check_clean(int fds0, int *ok)
{
    int memfds, fds = count_fds(&memfds);
    *ok = fds == fds0 && memfds == 0 && count_children() == 0;
    if (!*ok)
        printf("  fds %d (before %d), memfds %d, children %d\n", fds, fds0, memfds,
               count_children());
}

static void test_exit_leaves_nothing(void)
{
    char *argv[] = {"/bin/true", NULL};
    int memfds, fds0 = count_fds(&memfds), status = -1, i, ok;
    for (i = 0; i < 3; i++) {
        FBT_CHECK_EQ(run_one(argv, 0, 0, 0, &status, NULL, 0), FB_SANDBOX_EXITED);
        FBT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    check_clean(fds0, &ok);
    FBT_CHECK(ok);
}

static void test_timeout_kill_leaves_nothing(void)
{
    char *argv[] = {"/bin/sh", "-c", "sleep 100 & sleep 100 & while :; do :; done", NULL};
    int memfds, fds0 = count_fds(&memfds), status = -1, i, ok;
    for (i = 0; i < 2; i++)
        FBT_CHECK_EQ(run_one(argv, 300, 0, 0.5, &status, NULL, 0), FB_SANDBOX_TIMED_OUT);
    check_clean(fds0, &ok);
    FBT_CHECK(ok);
}

static void test_oom_kill_leaves_nothing(void)
{
    char *argv[] = {"/bin/sh", "-c", "x=0123456789; while :; do x=$x$x; done", NULL};
    int memfds, fds0 = count_fds(&memfds), status = -1, ok;
    FBT_CHECK_EQ(run_one(argv, 60000, 16 << 20, 0, &status, NULL, 0), FB_SANDBOX_OOM_KILLED);
    FBT_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    check_clean(fds0, &ok);
    FBT_CHECK(ok);
}

static void test_failed_start_leaves_nothing(void)
{
    char *argv[] = {"/nonexistent", NULL};
    int memfds, fds0 = count_fds(&memfds), status = -1, ok;
    FBT_CHECK_EQ(run_one(argv, 0, 0, 0, &status, NULL, 0), FB_SANDBOX_START_FAILED);
    check_clean(fds0, &ok);
    FBT_CHECK(ok);
}

static void test_cpu_cgroup_removed(void)
{
    char *argv[] = {"/bin/true", NULL}, cg[128] = "";
    int status = -1;
    struct stat st;
    FBT_CHECK_EQ(run_one(argv, 0, 0, 0.5, &status, cg, sizeof(cg)), FB_SANDBOX_EXITED);
    FBT_CHECK(cg[0] != 0);
    FBT_CHECK(stat(cg, &st) != 0);
}

/* The shared empty network namespace of a warm pool, and what --netns-fd refuses. */
static void test_netns_check(void)
{
    struct fb_error err = {0};
    struct stat a, b;
    int ns = fb_sandbox_empty_netns(&err), own, mnt, p[2];

    FBT_CHECK(ns > 2);
    if (ns < 0)
        return;
    FBT_CHECK_EQ(fcntl(ns, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    FBT_CHECK_EQ(fb_sandbox_check_netns(ns, &err), 0);
    own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    FBT_CHECK(fstat(ns, &a) == 0 && fstat(own, &b) == 0 && a.st_ino != b.st_ino); /* made, not ours */
    FBT_CHECK_EQ(fb_sandbox_check_netns(own, &err), -1);
    FBT_CHECK(strstr(err.msg, "own network namespace") != NULL);
    mnt = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
    FBT_CHECK_EQ(fb_sandbox_check_netns(mnt, &err), -1);
    FBT_CHECK(strstr(err.msg, "not a network namespace") != NULL);
    FBT_CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
    FBT_CHECK_EQ(fb_sandbox_check_netns(p[0], &err), -1);
    FBT_CHECK(strstr(err.msg, "not a namespace") != NULL);
    close(p[0]);
    close(p[1]);
    /* The Sentry's shared empty root: a mount namespace (a network one is refused). */
    {
        int root = fb_sandbox_empty_root_ns(&err);
        FBT_CHECK(root > 2);
        FBT_CHECK_EQ(fb_sandbox_check_mntns(root, &err), 0);
        FBT_CHECK_EQ(fb_sandbox_check_mntns(ns, &err), -1);
        FBT_CHECK(strstr(err.msg, "not a mount namespace") != NULL);
        FBT_CHECK(fstat(root, &a) == 0 && fstat(mnt, &b) == 0 && a.st_ino != b.st_ino);
        if (root >= 0)
            close(root);
    }
    close(mnt);
    close(own);
    close(ns);
}

int main(void)
{
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    signal(SIGPIPE, SIG_IGN);
    FBT_RUN(test_exit_leaves_nothing);
    FBT_RUN(test_timeout_kill_leaves_nothing);
    FBT_RUN(test_oom_kill_leaves_nothing);
    FBT_RUN(test_failed_start_leaves_nothing);
    FBT_RUN(test_netns_check);
    if (access("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", W_OK) == 0)
        FBT_RUN(test_cpu_cgroup_removed);
    else
        FBT_SKIP(test_cpu_cgroup_removed, "no writable cgroup v1 cpu controller");
    FBT_EXIT();
}
