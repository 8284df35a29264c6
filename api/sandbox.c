/* Starting and supervising one sandbox: the Gofer (file server in its own mount namespace) and
 * the Sentry (the kernel, in new pid/mount/ipc/uts/net namespaces with an empty root). */
#include "api/sandbox.h"
#include "api/cli.h"
#include "api/ns_cache.h"
#include "api/confine.h"

#include <dirent.h>
#include <errno.h>
#include <ucontext.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernel/util/cleanup.h"
#include "kernel/util/log.h"
#include "kernel/util/thread.h"
#include "kernel/loader/loader.h"
#include "kernel/mm/mm.h"
#include "platform/platform.h"
#include "kernel/signal/signal.h"
#include "kernel/vfs/vfs.h"

/* What the Sentry reports to the controller when it ends. */
struct status_msg {
    int32_t kind; /* enum fb_sandbox_outcome */
    int32_t code; /* wait status or errno */
    uint64_t image_pages; /* the Sentry's: memory pages read in on need since its restore */
    char msg[512];
};

/* An interim message before the outcome: the restored sandbox is running. */
#define STATUS_RESTORED (-2)

static void report(int fd, int kind, int code, const char *msg)
{
    struct status_msg m;
    memset(&m, 0, sizeof(m));
    m.kind = kind;
    m.code = code;
    if (fb_k) /* (the Gofer reports too, without a kernel) */
        m.image_pages = atomic_load(&fb_k->mf.needed);
    if (msg)
        snprintf(m.msg, sizeof(m.msg), "%s", msg);
    (void)!write(fd, &m, sizeof(m));
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* ---- the Sentry side ----------------------------------------------------------------------------- */

/* Give the sandbox its own open file description for pipes and terminals, non-blocking, so that
 * waits on them can be interrupted without touching the caller's description. */
static int prepare_stdio(int fd)
{
    struct stat st;
    char path[64];
    int flags, nfd;

    if (fd < 0 || fstat(fd, &st) != 0)
        return -1;
    flags = fcntl(fd, F_GETFL);
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        nfd = open(path, (flags & O_ACCMODE) | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (nfd >= 0)
            return nfd;
    }
    nfd = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    return nfd;
}

/* Replace the root with an empty read-only tmpfs: from here on the Sentry cannot name any host
 * file. Its only ways out are the fds it holds (gofer socket, stdio, memory file). System calls
 * only (a child forked from a threaded server runs it too): 0, or an errno, *what naming the
 * step that failed. */
static int empty_root_steps(const char **what)
{
    const char *dir = "/tmp";
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return *what = "making mounts private", errno;
    if (mount("fnbox-sentry", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=16k,mode=0500") !=
        0)
        return *what = "mounting the Sentry's empty root", errno;
    if (mkdir("/tmp/old", 0700) != 0 || syscall(SYS_pivot_root, dir, "/tmp/old") != 0)
        return *what = "pivot_root", errno;
    if (chdir("/") != 0 || umount2("/old", MNT_DETACH) != 0 || rmdir("/old") != 0)
        return *what = "dropping the host root", errno;
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              NULL) != 0)
        return *what = "making the empty root read-only", errno;
    return 0;
}

static int enter_empty_root(struct fb_error *err)
{
    const char *what = "";
    int e = empty_root_steps(&what);
    return e ? fb_error_set(err, e, "%s: %s", what, strerror(e)) : 0;
}

/* Join a prepared empty root instead (--empty-root-fd): the same result for the ~0.4 ms of
 * building it and the teardown after. Checked, not trusted: the root must be empty and
 * read-only, or the Sentry could name files. */
static int join_empty_root(int fd, struct fb_error *err)
{
    struct statvfs vfs;
    struct dirent *de;
    DIR *d;
    int n = 0;

    if (setns(fd, CLONE_NEWNS) != 0)
        return fb_error_set(err, errno, "joining the empty root's mount namespace: %s",
                            strerror(errno));
    close(fd);
    if (chdir("/") != 0 || statvfs("/", &vfs) != 0 || !(d = opendir("/")))
        return fb_error_set(err, errno, "the given empty root: %s", strerror(errno));
    while ((de = readdir(d)))
        n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(d);
    if (n || !(vfs.f_flag & ST_RDONLY))
        return fb_error_set(err, EINVAL,
                            "the given mount namespace's root is not an empty read-only "
                            "directory (%d entries%s)",
                            n, vfs.f_flag & ST_RDONLY ? "" : ", writable");
    return 0;
}

static void *forward_signals(void *arg)
{
    sigset_t *set = arg;
    for (;;) {
        int sig = sigwaitinfo(set, NULL);
        if (sig <= 0)
            continue;
        fb_kernel_lock();
        {
            struct fb_thread_group *init = fb_tg_lookup(1);
            if (init && !fb_k->init_exited)
                fb_signal_send_tg(init, sig, NULL);
        }
        fb_kernel_unlock();
    }
    return NULL;
}

/* A crash of the Sentry is a bug: say where (instruction and fault address, relative to the
 * binary for addr2line), on the caller's stderr, then die. No backtrace(): it would load the
 * unwinder library at start-up, which costs half a millisecond for every sandbox. Instead the
 * words near the stack pointer that point into the binary's text are listed: the likely
 * callers (a crash inside libc has no fnbox address of its own). */
static void sentry_crash(int sig, siginfo_t *si, void *ucv)
{
    extern char __executable_start[], etext[];
    ucontext_t *uc = ucv;
    uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    const uint64_t *sp = (const uint64_t *)uc->uc_mcontext.gregs[REG_RSP];
    char buf[400];
    int n = snprintf(buf, sizeof(buf),
                     "fnbox[sentry] fatal: signal %d (%s) at address %p, rip %#lx (binary offset "
                     "%#lx)\n",
                     sig, strsignal(sig), si->si_addr, (unsigned long)rip,
                     (unsigned long)(rip - (uint64_t)__executable_start));
    (void)!write(2, buf, (size_t)n);
    n = snprintf(buf, sizeof(buf), "fnbox[sentry] fatal: binary offsets on the stack:");
    for (int i = 0, found = 0; i < 512 && found < 16 && n < (int)sizeof(buf) - 20; i++)
        if (sp[i] > (uint64_t)__executable_start && sp[i] < (uint64_t)etext) {
            n += snprintf(buf + n, sizeof(buf) - (size_t)n, " %#lx",
                          (unsigned long)(sp[i] - (uint64_t)__executable_start));
            found++;
        }
    buf[n++] = '\n';
    (void)!write(2, buf, (size_t)n);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_crash_handler(void)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
    static char altstack[64 * 1024];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
    struct sigaction sa;
    size_t i;

    sigaltstack(&ss, NULL);
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = sentry_crash;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
}

/* Restore: tell the controller the sandbox is rebuilt and running (kernel lock held). */
static int started_fd = -1;
static void report_started(void)
{
    if (started_fd >= 0)
        report(started_fd, STATUS_RESTORED, 0, NULL);
}

/* pid 1 is gone: its status is final (the rest of the sandbox is being killed), so report now
 * and let the controller kill us instead of waiting for the teardown of every address space.
 * With -v the kernel's statistics come after the teardown: report at the end then. */
static bool reported_early;
static void report_init_exit(int status)
{
    /* An OOM kill is reported with its own outcome after the teardown. */
    if (started_fd >= 0 && fb_log_verbosity < FB_LOG_INFO && !fb_k->oom_killed) {
        report(started_fd, FB_SANDBOX_EXITED, status, NULL);
        reported_early = true;
    }
}

/* The host CPU the whole sandbox runs on (Gofer, Sentry threads, stubs), or -1 for any. On
 * this kind of host (a VM with two vCPUs) a wake-up across CPUs costs ~30-40 us of CPU and
 * wall time (a unix-socket round trip: 35-55 us between CPUs, 12 us on one), and a sandbox is
 * a chain of such hand-offs: Sentry and Gofer for every file operation, tracer and stub for
 * every system call. One CPU per sandbox made `fnbox run /bin/true` 16.7 -> 13.4 ms, python
 * 65 -> 57 ms, a restore 15.3 -> 12.1 ms of CPU (medians of alternating runs); sandboxes
 * started side by side still spread over the CPUs, since each takes the one its controller
 * was started on. FNBOX_SPREAD_CPUS=1 lets the host scheduler place every thread instead (a
 * single multi-threaded program that needs several CPUs). Pinned, the sandbox has one CPU,
 * and says so (sched_getaffinity, /proc/cpuinfo: one CPU); --cpu above 1 asks for more, so it
 * is not pinned. */
static int sandbox_cpu = -1;

static void pin_to_sandbox_cpu(void)
{
    cpu_set_t set;

    if (sandbox_cpu < 0)
        return;
    CPU_ZERO(&set);
    CPU_SET(sandbox_cpu, &set);
    (void)sched_setaffinity(0, sizeof(set), &set); /* best effort: a restricted cpuset stays */
}

/* The Gofer builds its view (~2 ms of mount work, before it serves anything) on another CPU
 * it may use (of those the controller could: taskset and cpusets hold) while the Sentry starts
 * on the sandbox's, then joins the Sentry there. With no other CPU, nothing changes. */
static void keep_off_sandbox_cpu(void)
{
    cpu_set_t set;

    if (sandbox_cpu >= 0 && fb_cpus_except(sandbox_cpu, &set))
        (void)sched_setaffinity(0, sizeof(set), &set);
}

/* A page of a lazy restore could not be read back from the image (changed or corrupt under
 * a running sandbox): the sandbox cannot go on; say why and stop. */
static __attribute__((noreturn)) void memory_lost(const struct fb_error *err)
{
    char msg[sizeof(err->msg) + 64];
    snprintf(msg, sizeof(msg), "restoring memory from the image: %s", err->msg);
    if (started_fd >= 0)
        report(started_fd, FB_SANDBOX_CRASHED, err->code, msg); /* the controller says it */
    else
        fb_err("%s", msg);
    _exit(1);
}

/* Join the IPC namespace open on fd (the one a warm pool or the namespace cache shares: empty,
 * and neither process may make an IPC object) and close fd; else report why, as code, and
 * exit: a process left in the caller's IPC namespace would share the host's. */
static void join_ipcns(int status_fd, int fd, const char *who, int code)
{
    if (setns(fd, CLONE_NEWIPC) != 0) {
        char msg[96];
        int e = errno;
        snprintf(msg, sizeof(msg), "%s: joining the IPC namespace: %s", who, strerror(e));
        report(status_fd, code, e, msg);
        _exit(1);
    }
    close(fd);
}

static __attribute__((noreturn)) void sentry_main(const struct fb_sandbox_config *cfg,
                                                  int gofer_sock, int status_fd, int cgroup_fd)
{
    pin_to_sandbox_cpu(); /* first: every thread and stub it makes inherits it */
    fb_dbg("+%.1f ms: sentry running", (fb_host_mono_ns() - cfg->t0_ns) / 1e6);
    struct fb_error err = {0};
    static sigset_t fwd;
    int fds[3], i, status;
    pthread_t th;

    fb_log_role = "sentry";
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    prctl(PR_SET_NAME, "fnbox-sentry");
    /* Before any stub exists: they all inherit it. Joining a given empty namespace costs
     * nothing; making one costs ~0.5 ms here and as much again to clean up after the exit. */
    if (cfg->netns_fd > 2 ? setns(cfg->netns_fd, CLONE_NEWNET) != 0 : unshare(CLONE_NEWNET) != 0) {
        char msg[96];
        snprintf(msg, sizeof(msg), "sentry: %s: %s",
                 cfg->netns_fd > 2 ? "joining the network namespace" : "unshare(CLONE_NEWNET)",
                 strerror(errno));
        report(status_fd, FB_SANDBOX_CRASHED, errno, msg);
        _exit(1);
    }
    if (cfg->netns_fd > 2)
        close(cfg->netns_fd);
    if (cfg->ipcns_fd > 2)
        join_ipcns(status_fd, cfg->ipcns_fd, "sentry", FB_SANDBOX_CRASHED);
    if (cfg->ready_fd > 2)
        close(cfg->ready_fd); /* the controller's report to a warm pool, not the Sentry's */
    if (cfg->view_fd > 2)
        close(cfg->view_fd); /* the Gofer's */
    if (cfg->view_cache_fd > 2)
        close(cfg->view_cache_fd); /* the Gofer's */
    if (cgroup_fd >= 0) {
        /* Join the cpu cgroup before any stub exists: every stub inherits it. */
        if (write(cgroup_fd, "0\n", 2) != 2)
            fb_warn("joining the cpu cgroup: %s (--cpu not applied)", strerror(errno));
        close(cgroup_fd);
    }
    setsid(); /* terminal signals go to the controller, which forwards them */
    signal(SIGPIPE, SIG_IGN);
    install_crash_handler();
    fb_mm_hostmap_off = fb_cli_env_flag("FNBOX_NO_DIRECT_MAP");
    fb_loader_vdso_off = fb_cli_env_flag("FNBOX_NO_VDSO");
    fb_mm_lazy_off = fb_cli_env_flag("FNBOX_NO_LAZY_RESTORE");
    fb_mf_large_off = fb_cli_env_flag("FNBOX_NO_LARGE_PAGES");
    fb_mf_fatal = memory_lost;
    if (getenv("FNBOX_DEBUG_STOP_SENTRY")) {
        /* Debug aid: stop so that a debugger can attach (gdb -p PID within 5 s). */
        char self[32] = "?";
        ssize_t n = readlink("/proc/self", self, sizeof(self) - 1);
        if (n > 0)
            self[n] = 0;
        fprintf(stderr, "fnbox: sentry stopped for a debugger: host pid %s\n", self);
        sleep(5); /* pid 1 of a namespace ignores SIGSTOP: wait instead */
    }
    raise_nofile();
    for (i = 0; i < 3; i++)
        fds[i] = prepare_stdio(cfg->stdio[i]);
    fb_platform_probe_host_vdso(); /* reads /proc/self/maps: while the host's root is ours */
    if ((cfg->root_ns_fd > 2 ? join_empty_root(cfg->root_ns_fd, &err)
                             : enter_empty_root(&err)) < 0) {
        report(status_fd, FB_SANDBOX_CRASHED, err.code, err.msg);
        _exit(1);
    }
    fb_dbg("+%.1f ms: empty root ready", (fb_host_mono_ns() - cfg->t0_ns) / 1e6);
    if (fb_kernel_init(&cfg->kernel, &err) < 0) {
        report(status_fd, FB_SANDBOX_CRASHED, err.code, err.msg);
        _exit(1);
    }
    for (i = 0; i < 3; i++) {
        if (fds[i] < 0)
            continue;
        int fl = fcntl(cfg->stdio[i], F_GETFL);
        unsigned acc = fl < 0 ? (i == 0 ? O_RDONLY : O_WRONLY) : (unsigned)(fl & O_ACCMODE);
        fb_k->host_stdio[i] = fb_hostfd_file_new(fds[i], acc);
        if (i > 0)
            fb_hostfd_count_output(fb_k->host_stdio[i]);
    }
    for (i = 0; i < 3; i++)
        close(i); /* the kernel holds its own descriptions now */
    i = open("/dev/null", O_RDWR); /* keep 0-2 taken; fails in the empty root, which is fine */
    (void)i;
    if (fds[2] >= 0)
        dup2(fds[2], 2); /* kernel logs and --strace go to the caller's stderr */

    sigemptyset(&fwd);
    sigaddset(&fwd, SIGINT);
    sigaddset(&fwd, SIGTERM);
    sigaddset(&fwd, SIGHUP);
    sigaddset(&fwd, SIGQUIT);
    sigaddset(&fwd, SIGUSR1);
    sigaddset(&fwd, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &fwd, NULL);
    pthread_create(&th, NULL, forward_signals, &fwd);

    started_fd = status_fd;
    fb_k->opts.on_restored = report_started;
    if (!cfg->kernel.checkpoint)
        fb_k->opts.on_init_exit = report_init_exit;
    /* Locked down before the Gofer's first answer is read, and before the first application
     * instruction: what is left of the set-up (9P over the socket, the file tree in memory)
     * needs nothing the filter forbids, and the ~0.2 ms of loading it overlap the Gofer's
     * start instead of following it. */
    if (fb_confine_sentry(&err) < 0) {
        report(status_fd, FB_SANDBOX_CRASHED, err.code, err.msg);
        _exit(1);
    }
    if (fb_kernel_connect(gofer_sock, &err) < 0) {
        report(status_fd, FB_SANDBOX_CRASHED, err.code, err.msg);
        _exit(1);
    }
    fb_dbg("+%.1f ms: kernel ready", (fb_host_mono_ns() - cfg->t0_ns) / 1e6);
    status = fb_kernel_run(&err);
    if (fb_k->ready_timed_out) {
        report(status_fd, FB_SANDBOX_NOT_READY, err.code, err.msg);
        _exit(0);
    }
    if (cfg->kernel.checkpoint && fb_k->ckpt_status) {
        if (fb_k->ckpt_status > 0)
            report(status_fd, FB_SANDBOX_CHECKPOINTED,
                   (int)FB_MIN(fb_k->ckpt_save_ns / 1000, INT32_MAX), NULL); /* code: save µs */
        else
            report(status_fd, FB_SANDBOX_CHECKPOINT_FAILED, err.code, err.msg);
        _exit(0);
    }
    fb_dbg("+%.1f ms: all tasks exited", (fb_host_mono_ns() - cfg->t0_ns) / 1e6);
    if (status < 0) {
        report(status_fd, FB_SANDBOX_START_FAILED, err.code, err.msg);
        _exit(0);
    }
    if (fb_k->oom_killed) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "out of memory: the sandbox exceeded --memory %lu bytes (%lu MiB); every "
                 "process was killed",
                 (unsigned long)cfg->kernel.memory_limit,
                 (unsigned long)(cfg->kernel.memory_limit >> 20));
        report(status_fd, FB_SANDBOX_OOM_KILLED, status, msg);
        _exit(0);
    }
    if (!reported_early)
        report(status_fd, FB_SANDBOX_EXITED, status, NULL);
    _exit(0);
}

/* Join the view another Gofer of the same image built (--view-fd), instead of building it
 * again: a mount namespace whose root must be the view's read-only tmpfs. */
static int join_view(int fd, struct fb_error *err)
{
    struct statfs fs;

    if (setns(fd, CLONE_NEWNS) != 0)
        return fb_error_set(err, errno, "gofer: joining the given view: %s", strerror(errno));
    close(fd);
    if (chdir("/") != 0 || statfs("/", &fs) != 0)
        return fb_error_set(err, errno, "gofer: the given view: %s", strerror(errno));
    if (fs.f_type != TMPFS_MAGIC || !(fs.f_flags & ST_RDONLY))
        return fb_error_set(err, EINVAL,
                            "gofer: the given mount namespace is not a view (its root is not a "
                            "read-only tmpfs)");
    return 0;
}

/* ---- the Gofer side ---------------------------------------------------------------------------- */

/* A kept view equal to the one this Gofer would build (cfg->view_cache_fd), or -1. The Gofer
 * looks, still in the host's mount namespace, on its own CPU beside the Sentry's start. */
static int cached_view(const struct fb_sandbox_config *cfg, char *key, size_t cap)
{
    struct fb_error e = {0};
    char *fp;
    int fd = -1;

    key[0] = 0;
    if (cfg->view_cache_fd <= 2)
        return -1;
    fp = fb_gofer_view_fingerprint(&cfg->gofer, &e); /* NULL: building says why */
    if (fp) {
        fb_ns_cache_view_key(fp, key, cap);
        fd = fb_ns_cache_get(cfg->view_cache_fd, key, fp, CLONE_NEWNS);
        free(fp);
    }
    close(cfg->view_cache_fd);
    fb_dbg("namespace cache: view %s", fd >= 0 ? "joined" : "to build");
    return fd;
}

/* The Gofer locks itself down on the CPU it built its view on, then serves where the Sentry
 * asks: hand-offs stay on one CPU, and the ~0.2 ms of loading the filter run beside the
 * Sentry's start instead of on its CPU. */
static int gofer_lock_down(struct fb_error *err)
{
    if (fb_confine_gofer(err) < 0)
        return -1;
    pin_to_sandbox_cpu();
    return 0;
}

static __attribute__((noreturn)) void gofer_main(const struct fb_sandbox_config *cfg, int sock,
                                                 int status_fd)
{
    struct fb_gofer_config gc = cfg->gofer;
    struct fb_error err = {0};
    int r;

    keep_off_sandbox_cpu();
    gc.confine = gofer_lock_down;
    fb_log_role = "gofer";
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    prctl(PR_SET_NAME, "fnbox-gofer");
    /* Not the controller's: its stdin and stdout are the sandbox's request and response, its
     * ready fd tells a warm pool the program's exit. Stderr stays, for the Gofer's own log. */
    {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0) {
            report(status_fd, FB_SANDBOX_START_FAILED, errno, "gofer: /dev/null");
            _exit(1);
        }
        close(null);
        if (cfg->ready_fd > 2)
            close(cfg->ready_fd);
    }
    if (cfg->root_ns_fd > 2)
        close(cfg->root_ns_fd); /* the Sentry's */
    if (cfg->kernel.hot_fd > 2)
        close(cfg->kernel.hot_fd); /* the Sentry's */
    if (cfg->kernel.memory_fd > 2)
        close(cfg->kernel.memory_fd); /* the Sentry's */
    if (cfg->ipcns_fd > 2)
        join_ipcns(status_fd, cfg->ipcns_fd, "gofer", FB_SANDBOX_START_FAILED);
    if (cfg->netns_fd > 2) { /* off the host's network too, when that is free */
        if (setns(cfg->netns_fd, CLONE_NEWNET) != 0)
            fb_warn("gofer: joining the network namespace: %s", strerror(errno));
        close(cfg->netns_fd);
    }
    setsid();
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    int64_t v0 = fb_host_mono_ns();
    char key[32] = "";
    int view = cfg->view_fd > 2 ? cfg->view_fd : cached_view(cfg, key, sizeof(key));
    if ((view > 2 ? join_view(view, &err) : fb_gofer_prepare_view(&cfg->gofer, &err)) < 0) {
        report(status_fd, FB_SANDBOX_START_FAILED, err.code, err.msg);
        _exit(1);
    }
    fb_dbg("+%.1f ms: gofer view ready (built in %.2f ms)",
           (fb_host_mono_ns() - cfg->t0_ns) / 1e6, (fb_host_mono_ns() - v0) / 1e6);
    /* view ready; the message: the key of the fingerprint it was built from, if built here */
    report(status_fd, -1, 0, view <= 2 && key[0] ? key : NULL);
    close(status_fd);
    r = fb_gofer_serve(sock, &gc);
    _exit(r < 0 ? 1 : 0);
}

/* ---- the controller side ------------------------------------------------------------------------- */

int fb_sandbox_empty_root_ns(struct fb_error *err)
{
    int p[2], fd = -1, e = 0;
    char path[64];
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) != 0)
        return fb_error_set(err, errno, "pipe: %s", strerror(errno));
    pid = fork();
    if (pid == 0) {
        /* Only system calls here: the caller may have other threads. */
        const char *what;
        int r;
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        r = unshare(CLONE_NEWNS) != 0 ? errno : empty_root_steps(&what);
        (void)!write(p[1], &r, sizeof(r));
        pause(); /* killed once the namespace is open */
        _exit(0);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return fb_error_set(err, errno, "fork: %s", strerror(errno));
    }
    if (read(p[0], &e, sizeof(e)) != sizeof(e))
        e = EIO;
    close(p[0]);
    if (!e) {
        snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            e = errno;
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    if (fd < 0)
        return fb_error_set(err, e, "making an empty root: %s", strerror(e));
    return fd;
}

/* fd is a namespace of the given type (what: its name in messages). */
static int check_ns_type(int fd, int type, const char *what, struct fb_error *err)
{
    int t = ioctl(fd, NS_GET_NSTYPE);
    if (t < 0)
        return fb_error_set(err, errno == ENOTTY ? EINVAL : errno, "fd %d is not a namespace: %s",
                            fd, errno == ENOTTY ? "not an nsfs file" : strerror(errno));
    if (t != type)
        return fb_error_set(err, EINVAL, "fd %d is a namespace, but not %s namespace", fd, what);
    return 0;
}

int fb_sandbox_check_mntns(int fd, struct fb_error *err)
{
    return check_ns_type(fd, CLONE_NEWNS, "a mount", err);
}

/* fd is a namespace of type (what: its name with an article) other than this process's own
 * (own: its /proc/self/ns entry; name: what it is called in the message). */
static int check_ns_not_own(int fd, int type, const char *what, const char *own_path,
                            const char *name, struct fb_error *err)
{
    struct stat st, own;

    if (check_ns_type(fd, type, what, err) < 0)
        return -1;
    if (fstat(fd, &st) == 0 && stat(own_path, &own) == 0 && own.st_ino == st.st_ino &&
        own.st_dev == st.st_dev)
        return fb_error_set(err, EINVAL,
                            "fd %d is this process's own %s namespace: the sandbox would share "
                            "the host's %s",
                            fd, name, name);
    return 0;
}

int fb_sandbox_check_netns(int fd, struct fb_error *err)
{
    return check_ns_not_own(fd, CLONE_NEWNET, "a network", "/proc/self/ns/net", "network", err);
}

int fb_sandbox_check_ipcns(int fd, struct fb_error *err)
{
    return check_ns_not_own(fd, CLONE_NEWIPC, "an IPC", "/proc/self/ns/ipc", "IPC", err);
}

struct empty_ns_job {
    int type;         /* CLONE_NEWNET or CLONE_NEWIPC */
    const char *path; /* its /proc/thread-self/ns entry */
    int fd;           /* the result, or -errno */
};

static void *empty_ns_thread(void *arg)
{
    struct empty_ns_job *j = arg;
    /* A thread's network and IPC namespaces are its own: the process stays where it is. */
    if (unshare(j->type) != 0) {
        j->fd = -errno;
        return NULL;
    }
    j->fd = open(j->path, O_RDONLY | O_CLOEXEC);
    if (j->fd < 0)
        j->fd = -errno;
    return NULL;
}

static int empty_ns(int type, const char *path, const char *what, struct fb_error *err)
{
    struct empty_ns_job j = {type, path, -EIO};
    pthread_t th;
    int r = pthread_create(&th, NULL, empty_ns_thread, &j);

    if (r != 0)
        return fb_error_set(err, r, "making %s namespace: %s", what, strerror(r));
    pthread_join(th, NULL);
    if (j.fd < 0)
        return fb_error_set(err, -j.fd, "making %s namespace: %s", what, strerror(-j.fd));
    return j.fd;
}

int fb_sandbox_empty_netns(struct fb_error *err)
{
    return empty_ns(CLONE_NEWNET, "/proc/thread-self/ns/net", "a network", err);
}

int fb_sandbox_empty_ipcns(struct fb_error *err)
{
    return empty_ns(CLONE_NEWIPC, "/proc/thread-self/ns/ipc", "an IPC", err);
}

static pid_t clone_child(unsigned long flags)
{
    return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

#define CGROUP_CPU_ROOT  "/sys/fs/cgroup/cpu"
#define CGROUP_PERIOD_US 100000

static int write_file(const char *dir, const char *name, const char *val)
{
    char path[256];
    int fd, r = 0;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
        r = -errno;
    close(fd);
    return r;
}

/* Create the sandbox's cgroup v1 cpu group with a CFS quota of `cpus` CPUs and return an fd of
 * its cgroup.procs for the Sentry to join itself (so no stub can start outside it), or -1 with
 * sb->warning saying why --cpu is not applied. cgroup v2-only hosts get the warning too. */
static int cpu_cgroup_create(struct fb_sandbox *sb, double cpus)
{
    static unsigned seq;
    char val[32], path[192];
    long quota = (long)(cpus * CGROUP_PERIOD_US);
    int fd, r;

    if (access(CGROUP_CPU_ROOT "/cpu.cfs_quota_us", W_OK) != 0) {
        snprintf(sb->warning, sizeof(sb->warning),
                 "--cpu ignored: no writable cgroup v1 cpu controller at " CGROUP_CPU_ROOT " (%s)",
                 strerror(errno));
        return -1;
    }
    if (mkdir(CGROUP_CPU_ROOT "/fnbox", 0755) != 0 && errno != EEXIST)
        goto fail;
    snprintf(sb->cgroup, sizeof(sb->cgroup), CGROUP_CPU_ROOT "/fnbox/%d-%u", (int)getpid(), seq++);
    if (mkdir(sb->cgroup, 0755) != 0 && errno != EEXIST)
        goto fail_clear;
    if (quota < 1000)
        quota = 1000; /* the kernel's minimum quota is 1 ms */
    snprintf(val, sizeof(val), "%d", CGROUP_PERIOD_US);
    r = write_file(sb->cgroup, "cpu.cfs_period_us", val);
    snprintf(val, sizeof(val), "%ld", quota);
    if (r == 0)
        r = write_file(sb->cgroup, "cpu.cfs_quota_us", val);
    if (r < 0) {
        errno = -r;
        goto fail_rmdir;
    }
    snprintf(path, sizeof(path), "%s/cgroup.procs", sb->cgroup);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        goto fail_rmdir;
    return fd;
fail_rmdir:
    r = errno;
    rmdir(sb->cgroup);
    errno = r;
fail_clear:
    sb->cgroup[0] = 0;
fail:
    snprintf(sb->warning, sizeof(sb->warning), "--cpu ignored: cannot set up a cpu cgroup: %s",
             strerror(errno));
    return -1;
}

/* Remove the (now empty) cgroup; with -v, say how often the quota throttled the sandbox. */
static void cpu_cgroup_destroy(struct fb_sandbox *sb)
{
    char path[192], buf[256];
    ssize_t n;
    int fd, i;

    if (!sb->cgroup[0])
        return;
    snprintf(path, sizeof(path), "%s/cpu.stat", sb->cgroup);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n > 0) {
            buf[n] = 0;
            for (i = 0; i < n; i++)
                if (buf[i] == '\n')
                    buf[i] = ' ';
            fb_info("cpu cgroup: %s", buf);
        }
    }
    /* The tasks are reaped, but the kernel may take a moment to drop them from the group. */
    for (i = 0; i < 100 && rmdir(sb->cgroup) != 0 && errno == EBUSY; i++)
        usleep(1000);
    sb->cgroup[0] = 0;
}

int fb_sandbox_start(const struct fb_sandbox_config *cfg, struct fb_sandbox *sb,
                     struct fb_error *err)
{
    int sv[2], gst[2], sst[2], cgroup_fd = -1;
    struct status_msg m;
    ssize_t n;

    memset(sb, 0, sizeof(*sb));
    sb->sentry = sb->gofer = -1;
    sb->status_fd = -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return fb_error_set(err, errno, "socketpair: %s", strerror(errno));
    if (pipe2(gst, O_CLOEXEC) != 0 || pipe2(sst, O_CLOEXEC) != 0) {
        close(sv[0]);
        close(sv[1]);
        return fb_error_set(err, errno, "pipe: %s", strerror(errno));
    }

    /* Not for --cpu above one CPU: that asks for more than one. */
    sandbox_cpu = fb_cli_env_flag("FNBOX_SPREAD_CPUS") || cfg->cpus > 1 ? -1 : sched_getcpu();
    if (sandbox_cpu >= 0 && sched_getaffinity(0, sizeof(fb_cpus_before_pin),
                                              &fb_cpus_before_pin) != 0)
        CPU_ZERO(&fb_cpus_before_pin);
    /* The controller execs nothing and needs no bounding set: emptied here, once, it is
     * inherited by the Gofer and the Sentry, whose lock-downs skip ~41 credential commits
     * each, and (the flag in confine.c is inherited too) the ~47 reads that would find every
     * capability gone. If it fails, theirs still drop it (and report what stops them). */
    (void)fb_confine_drop_bound(NULL);
    sb->gofer = clone_child(cfg->ipcns_fd > 2 ? 0 : CLONE_NEWIPC); /* else it joins one */
    if (sb->gofer < 0) {
        fb_error_set(err, errno, "starting the gofer: %s", strerror(errno));
        goto fail;
    }
    if (sb->gofer == 0) {
        close(sv[0]);
        close(gst[0]);
        close(sst[0]);
        close(sst[1]);
        gofer_main(cfg, sv[1], gst[1]);
    }
    close(sv[1]);
    close(gst[1]);
    sv[1] = gst[1] = -1;

    if (cfg->cpus > 0)
        cgroup_fd = cpu_cgroup_create(sb, cfg->cpus);

    /* The network namespace, the costly one to create (~0.5-1 ms), the Sentry makes itself
     * (sentry_main): then it is made while the Gofer builds its view, not before the Gofer's
     * clone returns to us. */
    sb->sentry = clone_child(CLONE_NEWPID | (cfg->ipcns_fd > 2 ? 0 : CLONE_NEWIPC) | CLONE_NEWUTS |
                             (cfg->root_ns_fd > 2 ? 0 : CLONE_NEWNS)); /* else it joins one */
    if (sb->sentry < 0) {
        fb_error_set(err, errno, "starting the sentry: %s", strerror(errno));
        goto fail;
    }
    if (sb->sentry == 0) {
        close(gst[0]);
        close(sst[0]);
        sentry_main(cfg, sv[0], sst[1], cgroup_fd);
    }
    if (cgroup_fd >= 0)
        close(cgroup_fd);
    cgroup_fd = -1;
    close(sv[0]);
    close(sst[1]);
    sv[0] = sst[1] = -1;
    sb->status_fd = sst[0];
    fb_dbg("+%.1f ms: gofer and sentry started", (fb_host_mono_ns() - cfg->t0_ns) / 1e6);

    /* The gofer says whether its view could be built (a bad --mount is the usual failure). */
    n = read(gst[0], &m, sizeof(m));
    close(gst[0]);
    if (n == (ssize_t)sizeof(m) && m.kind != -1) {
        fb_error_set(err, m.code, "%s", m.msg);
        goto fail_kill;
    }
    if (n != (ssize_t)sizeof(m)) {
        fb_error_set(err, EIO, "the gofer exited before serving");
        goto fail_kill;
    }
    snprintf(sb->view_key, sizeof(sb->view_key), "%.31s", m.msg);
    return 0;

fail_kill:
    if (sb->sentry > 0)
        kill(sb->sentry, SIGKILL);
    if (sb->gofer > 0)
        kill(sb->gofer, SIGKILL);
    if (sb->sentry > 0)
        waitpid(sb->sentry, NULL, 0);
    if (sb->gofer > 0)
        waitpid(sb->gofer, NULL, 0);
    if (sb->status_fd >= 0)
        close(sb->status_fd);
    sb->sentry = sb->gofer = sb->status_fd = -1;
    cpu_cgroup_destroy(sb);
    return -1;
fail:
    if (cgroup_fd >= 0)
        close(cgroup_fd);
    cpu_cgroup_destroy(sb);
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    if (gst[0] >= 0)
        close(gst[0]);
    if (gst[1] >= 0)
        close(gst[1]);
    if (sst[0] >= 0)
        close(sst[0]);
    if (sst[1] >= 0)
        close(sst[1]);
    if (sb->gofer > 0) {
        kill(sb->gofer, SIGKILL);
        waitpid(sb->gofer, NULL, 0);
    }
    return -1;
}

static struct fb_sandbox *forward_to;

static void forward(int sig)
{
    if (forward_to)
        fb_sandbox_signal(forward_to, sig);
}

void fb_sandbox_forward_signals(struct fb_sandbox *sb)
{
    forward_to = sb;
    signal(SIGINT, forward);
    signal(SIGTERM, forward);
    signal(SIGHUP, forward);
    signal(SIGQUIT, forward);
    signal(SIGPIPE, SIG_IGN);
}

int fb_sandbox_start_failed_status(int err)
{
    if (err == ENOENT)
        return 127;
    if (err == EACCES || err == ENOEXEC || err == ELOOP || err == EISDIR || err == E2BIG ||
        err == ELIBBAD)
        return 126;
    return 125;
}

void fb_sandbox_signal(struct fb_sandbox *sb, int sig)
{
    if (sb->sentry > 0)
        kill(sb->sentry, sig);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum fb_sandbox_outcome fb_sandbox_wait(struct fb_sandbox *sb, const struct fb_sandbox_config *cfg,
                                        int *status, struct fb_error *err)
{
    struct status_msg m;
    size_t got = 0;
    int64_t deadline = cfg->timeout_ms ? mono_ms() + (int64_t)cfg->timeout_ms : 0;
    enum fb_sandbox_outcome out;
    int st, chan_err = -1;

    memset(&m, 0, sizeof(m));
again:
    while (got < sizeof(m)) {
        struct pollfd pfd = {sb->status_fd, POLLIN, 0};
        int timeout = -1, r;
        ssize_t n;
        if (deadline) {
            int64_t left = deadline - mono_ms();
            if (left <= 0)
                break;
            timeout = (int)left;
        }
        r = poll(&pfd, 1, timeout);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            break;
        n = read(sb->status_fd, (char *)&m + got, sizeof(m) - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            chan_err = n < 0 ? errno : 0;
            break;
        }
        got += (size_t)n;
    }
    if (got == sizeof(m) && m.kind == STATUS_RESTORED) {
        sb->restored_ns = fb_host_mono_ns();
        fb_dbg("+%.1f ms: sandbox restored", (sb->restored_ns - cfg->t0_ns) / 1e6);
        if (cfg->ready_fd >= 0) {
            char line[32];
            int len = snprintf(line, sizeof(line), "ready %d\n", (int)sb->gofer);
            (void)!write(cfg->ready_fd, line, (size_t)len);
        }
        got = 0;
        memset(&m, 0, sizeof(m));
        goto again;
    }
    if (got == sizeof(m)) {
        out = (enum fb_sandbox_outcome)m.kind;
        *status = m.code;
        sb->image_pages = m.image_pages;
        if (out != FB_SANDBOX_EXITED)
            fb_error_set(err, m.code, "%s", m.msg);
    } else if (deadline && mono_ms() >= deadline) {
        out = FB_SANDBOX_TIMED_OUT;
        *status = 0;
        fb_error_set(err, ETIMEDOUT, "timed out after %lu ms: sandbox killed",
                     (unsigned long)cfg->timeout_ms);
    } else {
        out = FB_SANDBOX_CRASHED;
        *status = 0;
    }
    fb_dbg("+%.1f ms: outcome received", (fb_host_mono_ns() - cfg->t0_ns) / 1e6);
    if (out == FB_SANDBOX_EXITED && cfg->ready_fd >= 0 && sb->restored_ns) {
        /* Every task is gone, so everything the program wrote is in its stdout and stderr
         * already: a warm pool can answer now instead of after the teardown below. */
        char line[64];
        int code = WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + WTERMSIG(*status);
        int len = snprintf(line, sizeof(line), "exit %d image_pages %lu\n", code,
                           (unsigned long)sb->image_pages);
        (void)!write(cfg->ready_fd, line, (size_t)len);
    }
    /* The Sentry is pid 1 of its namespace: killing it takes every stub with it. The Gofer
     * goes at the same time: both teardowns (address spaces; a mount namespace) then run side
     * by side instead of one after the other. */
    kill(sb->sentry, SIGKILL);
    kill(sb->gofer, SIGKILL);
    while (waitpid(sb->sentry, &st, 0) < 0 && errno == EINTR)
        ;
    fb_dbg("+%.1f ms: sentry reaped", (fb_host_mono_ns() - cfg->t0_ns) / 1e6);
    if (out == FB_SANDBOX_CRASHED && WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
        fb_error_set(err, EPERM, "the sandbox kernel was killed by its seccomp filter: it made "
                                 "a host system call outside its allowlist (api/confine.c)");
    else if (out == FB_SANDBOX_CRASHED && got != sizeof(m)) /* reported: its message stands */
        fb_error_set(err, EIO,
                     "the sandbox kernel died unexpectedly (%s %d; status channel: %s after %zu "
                     "bytes)",
                     WIFSIGNALED(st) ? "signal" : "exit status",
                     WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
                     chan_err > 0 ? strerror(chan_err) : "end of file", got);
    st = 0;
    while (waitpid(sb->gofer, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS) /* the sandbox then saw its files vanish */
        fb_err("the gofer was killed by its seccomp filter: a host system call outside its "
               "allowlist (api/confine.c)");
    fb_dbg("+%.1f ms: gofer reaped", (fb_host_mono_ns() - cfg->t0_ns) / 1e6);
    close(sb->status_fd);
    sb->status_fd = -1;
    sb->sentry = sb->gofer = -1;
    cpu_cgroup_destroy(sb);
    return out;
}
