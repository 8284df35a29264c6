/* `fnbox run`: run one program in a fresh sandbox with the caller's stdin/stdout/stderr, and
 * exit with its status the way a shell reports it. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/cli.h"
#include "api/ns_cache.h"
#include "api/sandbox.h"
#include "kernel/util/log.h"

static const char run_usage[] =
    "Usage: fnbox run [OPTIONS] -- PROGRAM [ARGS...]\n"
    "\n"
    "Run PROGRAM in a new sandbox: every system call it makes is handled by fnbox's own kernel;\n"
    "files come from a read-only view of the host served by the gofer. Standard input, output\n"
    "and error are the caller's. The exit status is the program's, or 128+N if signal N killed\n"
    "it.\n"
    "\n"
    "Options:\n"
    "  --root DIR            serve DIR as the sandbox's root (read-only) instead of the default\n"
    "                        view of the host's system directories\n"
    "  --mount SRC:DST[:ro|:rw]\n"
    "                        also serve host directory SRC at DST (read-only unless :rw)\n"
    "  --env NAME=VALUE      set an environment variable (repeatable)\n"
    "  --cwd DIR             working directory inside the sandbox (default /)\n"
    "  --hostname NAME       hostname inside the sandbox (default fnbox)\n"
    "  --memory SIZE         limit application memory (e.g. 256M, 2G); exceeding it kills\n"
    "                        the whole sandbox with an out-of-memory message (status 137)\n"
    "  --pids N              limit the number of tasks (fork/clone fail with EAGAIN beyond)\n"
    "  --timeout DURATION    kill the sandbox after DURATION (e.g. 500ms, 10s, 2m; status 124)\n"
    "  --cpu CPUS            CPU quota, in CPUs (e.g. 0.5, 2), through a cgroup v1 cpu group\n"
    "                        for the Sentry and its stubs; a warning and no limit where the\n"
    "                        host has no writable cgroup v1 cpu controller\n"
    "  --output-limit SIZE   bytes the program may write to stdout and stderr together (e.g.\n"
    "                        1M); beyond, the output ends with a line \"[fnbox: output\n"
    "                        truncated at N bytes]\" and writes fail with EPIPE and raise\n"
    "                        SIGPIPE, as if the reader had gone away\n"
    "  --strace              log each system call, its arguments and result to stderr\n"
    "  --platform NAME       how system calls are intercepted: ptrace (default)\n"
    "  --checkpoint-torture DURATION\n"
    "                        test: every DURATION, checkpoint the sandbox, tear it down and\n"
    "                        restore it in a fresh one (checkpoints the kernel cannot take yet\n"
    "                        are skipped); the program must not notice\n"
    "  --interrupt-storm DURATION\n"
    "                        debug: interrupt every task at this interval (e.g. 1ms); every\n"
    "                        wait must restart transparently\n"
    "  -v, --verbose         more kernel logging on stderr (repeat for debug)\n"
    "  -h, --help            show this help\n"
    "\n"
    "Exit status: the program's; 126 if it cannot be executed, 127 if it is not found,\n"
    "124 on --timeout, 137 when --memory is exceeded, 125 if the sandbox itself failed, 2 for\n"
    "bad options.\n"
    "\n"
    "Like fnbox restore, a run joins the empty network namespace, the empty root and the view\n"
    "of the host files an earlier one kept under /run/fnbox/ns, and keeps those it makes\n"
    "(FNBOX_NS_CACHE=0: make them afresh, keep nothing; FNBOX_NS_CACHE_DIR=DIR: keep them in\n"
    "DIR; see fnbox restore --help).\n";


/* An unlinked temporary file for an image. */
static int temp_image(struct fb_error *err)
{
    char path[] = "/tmp/fnbox-torture-XXXXXX";
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return fb_error_set(err, errno, "torture image file: %s", strerror(errno));
    unlink(path);
    return fd;
}

/* --checkpoint-torture: run, and whenever the sandbox checkpoints itself, restore the image in a
 * fresh sandbox; until the program ends. FNBOX_TORTURE_LOG names a file that gets one line per
 * run: "PROGRAM restores=N" (how often the program really went through an image). */
static enum fb_sandbox_outcome torture(struct fb_sandbox_config *cfg,
                                       struct fb_ns_cache_use *cache, int *status,
                                       struct fb_error *err)
{
    enum fb_sandbox_outcome out;
    struct fb_sandbox sb;
    int out_fd, in_fd = -1, restores = 0;
    const char *log = getenv("FNBOX_TORTURE_LOG");
    const char *prog = cfg->kernel.argv && cfg->kernel.argv[0] ? cfg->kernel.argv[0] : "?";

    signal(SIGPIPE, SIG_IGN);
    out_fd = temp_image(err);
    if (out_fd < 0)
        return FB_SANDBOX_CRASHED;
    cfg->kernel.checkpoint = true;
    cfg->kernel.ckpt_fd = out_fd;
    for (;;) {
        if (fb_ns_cache_sandbox_start(cache, cfg, &sb, err) < 0) {
            out = FB_SANDBOX_CRASHED;
            break;
        }
        fb_sandbox_forward_signals(&sb);
        out = fb_sandbox_wait(&sb, cfg, status, err);
        fb_sandbox_forward_signals(NULL);
        if (out != FB_SANDBOX_CHECKPOINTED)
            break;
        /* The next sandbox starts from the image just written, and writes its own to a fresh
         * file (reading and writing never overlap). */
        restores++;
        if (in_fd >= 0)
            close(in_fd);
        in_fd = out_fd;
        out_fd = temp_image(err);
        if (out_fd < 0) {
            out = FB_SANDBOX_CRASHED;
            break;
        }
        cfg->kernel.restore = true;
        /* Memory comes back before the threads run (as in a warm pool), so that refaulting it
         * is not charged to the program's CPU clocks at every restore. */
        cfg->kernel.prefault = true;
        cfg->kernel.image_fd = in_fd;
        cfg->kernel.ckpt_fd = out_fd;
    }
    fb_info("checkpoint torture: restored %d times", restores);
    if (log) {
        FILE *f = fopen(log, "ae");
        if (f) {
            fprintf(f, "%s restores=%d\n", prog, restores);
            fclose(f);
        }
    }
    if (in_fd >= 0)
        close(in_fd);
    if (out_fd >= 0)
        close(out_fd);
    return out;
}

int fb_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"root", required_argument, NULL, 'r'},
        {"mount", required_argument, NULL, 'm'},
        {"env", required_argument, NULL, 'e'},
        {"cwd", required_argument, NULL, 'c'},
        {"hostname", required_argument, NULL, 'H'},
        {"memory", required_argument, NULL, 'M'},
        {"pids", required_argument, NULL, 'P'},
        {"timeout", required_argument, NULL, 'T'},
        {"cpu", required_argument, NULL, 'C'},
        {"output-limit", required_argument, NULL, 'O'},
        {"strace", no_argument, NULL, 's'},
        {"platform", required_argument, NULL, 'p'},
        {"interrupt-storm", required_argument, NULL, 'I'},
        {"checkpoint-torture", required_argument, NULL, 'K'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct fb_sandbox_config cfg;
    struct fb_cli_env env;
    struct fb_gofer_mount mounts[64];
    const char *rw_mounts[64];
    struct fb_error err = {0};
    struct fb_sandbox sb;
    struct fb_ns_cache_use cache = FB_NS_CACHE_USE_INIT;
    enum fb_sandbox_outcome out;
    int c, status = 0, nmounts = 0;
    uint64_t v;

    memset(&cfg, 0, sizeof(cfg));
    cfg.t0_ns = fb_host_mono_ns();
    cfg.ready_fd = -1;
    fb_cli_env_init(&env);
    cfg.kernel.platform = "ptrace";
    cfg.gofer.donate_fds = true;
    optind = 1;
    argv[0] = "fnbox run";
    while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            cfg.gofer.root = optarg;
            break;
        case 'm':
            if (nmounts == (int)FB_CLI_ARRAY_SIZE(mounts))
                return fb_cli_usage_error(run_usage, "too many --mount options");
            if (fb_cli_parse_mount(optarg, &mounts[nmounts], &err) < 0)
                return fb_cli_usage_error(run_usage, err.msg);
            nmounts++;
            break;
        case 'e':
            if (fb_cli_env_set(&env, optarg, &err) < 0)
                return fb_cli_usage_error(run_usage, err.msg);
            break;
        case 'c':
            cfg.kernel.cwd = optarg;
            break;
        case 'H':
            cfg.kernel.hostname = optarg;
            break;
        case 'M':
            if (fb_cli_parse_size(optarg, &cfg.kernel.memory_limit) < 0 ||
                cfg.kernel.memory_limit < (1 << 20))
                return fb_cli_usage_error(run_usage, "--memory: expected a size like 256M");
            break;
        case 'P':
            if (fb_cli_parse_pids(optarg, &cfg.kernel.pids_limit) < 0)
                return fb_cli_usage_error(run_usage, FB_CLI_PIDS_ERROR);
            break;
        case 'T':
            if (fb_cli_parse_duration_us(optarg, &v) < 0 || v < 1000)
                return fb_cli_usage_error(run_usage, "--timeout: expected a duration like 10s");
            cfg.timeout_ms = v / 1000;
            break;
        case 'C': {
            char *end;
            errno = 0;
            cfg.cpus = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(cfg.cpus >= 0.01 && cfg.cpus <= 1024))
                return fb_cli_usage_error(run_usage,
                                          "--cpu: expected a number of CPUs from 0.01 to 1024");
            break;
        }
        case 'O':
            if (fb_cli_parse_size(optarg, &cfg.kernel.output_limit) < 0 ||
                cfg.kernel.output_limit < 1)
                return fb_cli_usage_error(run_usage, "--output-limit: expected a size like 1M");
            break;
        case 's':
            cfg.kernel.strace = true;
            break;
        case 'p':
            if (strcmp(optarg, "ptrace") != 0)
                return fb_cli_usage_error(run_usage, "--platform: available platforms: ptrace");
            cfg.kernel.platform = optarg;
            break;
        case 'I':
            if (fb_cli_parse_duration_us(optarg, &v) < 0 || v < 50)
                return fb_cli_usage_error(run_usage,
                                          "--interrupt-storm: expected a duration >= 50us");
            cfg.kernel.interrupt_storm_us = v;
            break;
        case 'K':
            if (fb_cli_parse_duration_us(optarg, &v) < 0 || v < 1000)
                return fb_cli_usage_error(run_usage,
                                          "--checkpoint-torture: expected a duration >= 1ms");
            cfg.kernel.torture_us = v;
            break;
        case 'v':
            fb_log_verbosity++;
            break;
        case 'h':
            fputs(run_usage, stdout);
            return 0;
        default:
            return fb_cli_usage_error(run_usage, NULL);
        }
    }
    if (optind >= argc)
        return fb_cli_usage_error(run_usage, "missing PROGRAM");
    cfg.gofer.mounts = mounts;
    cfg.gofer.nmounts = (size_t)nmounts;
    for (c = 0; c < nmounts; c++)
        if (!mounts[c].ro)
            rw_mounts[cfg.kernel.nrw_mounts++] = mounts[c].dst;
    cfg.kernel.rw_mounts = rw_mounts;
    cfg.kernel.argv = argv + optind;
    cfg.kernel.envp = fb_cli_env_finish(&env);
    cfg.stdio[0] = 0;
    cfg.stdio[1] = 1;
    cfg.stdio[2] = 2;

    if (cfg.kernel.torture_us)
        out = torture(&cfg, &cache, &status, &err);
    else {
        if (fb_ns_cache_sandbox_start(&cache, &cfg, &sb, &err) < 0) {
            fprintf(stderr, "fnbox: %s\n", err.msg);
            fb_ns_cache_release(&cache);
            return 125;
        }
        if (sb.warning[0])
            fprintf(stderr, "fnbox: warning: %s\n", sb.warning);
        fb_sandbox_forward_signals(&sb);
        out = fb_sandbox_wait(&sb, &cfg, &status, &err);
        fb_sandbox_forward_signals(NULL);
    }
    fb_ns_cache_release(&cache);
    switch (out) {
    case FB_SANDBOX_EXITED:
        if (WIFEXITED(status))
            return WEXITSTATUS(status);
        return 128 + WTERMSIG(status);
    case FB_SANDBOX_START_FAILED:
        fprintf(stderr, "fnbox: %s\n", err.msg);
        return fb_sandbox_start_failed_status(status);
    case FB_SANDBOX_TIMED_OUT:
        fprintf(stderr, "fnbox: %s\n", err.msg);
        return 124;
    case FB_SANDBOX_OOM_KILLED:
        fprintf(stderr, "fnbox: %s\n", err.msg);
        return 128 + SIGKILL; /* what a shell shows for the host OOM killer's victim */
    default:
        fprintf(stderr, "fnbox: %s\n", err.msg);
        return 125;
    }
}
