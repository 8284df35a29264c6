/* The Sentry's kernel object: the root of all kernel state of one sandbox, the kernel lock and
 * the options the controller passed. Everything a checkpoint saves is reachable from here. */
#ifndef FB_KERNEL_H
#define FB_KERNEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "kernel/mm/memfile.h"
#include "kernel/util/error.h"
#include "kernel/util/list.h"
#include "platform/platform.h"

struct fb_task;
struct fb_mount;
struct fb_p9_client;
struct fb_snapshot_prep;
struct fb_file;

/* What the controller asks the Sentry to run, and how. */
struct fb_kernel_opts {
    const char *platform;      /* "ptrace" */
    bool strace;               /* log every syscall to stderr */
    uint64_t interrupt_storm_us; /* debug: interrupt every task at this interval (0 = off) */
    uint64_t memory_limit;     /* bytes of application memory, 0 = unlimited */
    int pids_limit;            /* max tasks, 0 = unlimited */
    uint64_t output_limit;     /* bytes the sandbox may write to stdout+stderr, 0 = unlimited */
    char **argv;               /* program and arguments (argv[0] is the path to execute) */
    char **envp;
    const char *cwd;           /* initial working directory inside the sandbox */
    const char *hostname;
    /* Checkpoint/restore (snapshot/): with `checkpoint`, the first read of stdin that would block
     * (the ready point) parks every task and the kernel state plus memory is written as an image
     * to ckpt_fd; with `restore`, the sandbox is rebuilt from the image on image_fd instead of
     * starting argv. */
    bool checkpoint, restore;
    int ckpt_fd;  /* checkpoint: the image is written here */
    /* checkpoint: if the ready point has not come this long after the program started, the run
     * ends (fb_kernel_run returns -1, ready_timed_out set) with err saying what every task was
     * doing then; 0 = wait for it forever */
    uint64_t ready_timeout_ms;
    int image_fd; /* restore: the image is read from here */
    bool prefault; /* restore: load and map all memory before starting */
    bool populate; /* prefault: populate the host page tables too (warm pools: nothing of it
                    * is left on the request's path) */
    int hot_fd;    /* restore, above 2: the image's memory decompressed by the caller
                    * (fb_memfile_hot_make; a warm pool's), copied from instead of the image */
    int memory_fd; /* restore, above 2: the memory file to use (fb_memfile_init_given: a warm
                    * pool's, maybe an earlier sandbox's of the image), cleared first */
    /* restore, no prefault: record the working set (kernel/mm/mm_save.h) and write it to
     * ws_fd when pid 1 exits (fnbox checkpoint's training run) */
    bool ws_record;
    int ws_fd;
    /* Torture testing (fnbox run --checkpoint-torture): checkpoint every torture_us of running
     * time instead of at the ready point; a checkpoint that cannot be taken (unsupported state)
     * is skipped and the sandbox resumes. */
    uint64_t torture_us;
    const void *image_meta; /* checkpoint: stored as the image's "meta" section */
    size_t image_meta_len;
    void (*on_restored)(void); /* restore: called once every task is started (lock held) */
    /* Called when pid 1 has exited with its final wait status (lock held), before the rest of
     * the sandbox is torn down: the controller can answer at once. */
    void (*on_init_exit)(int status);
    const char *const *rw_mounts; /* destinations of --mount SRC:DST:rw, mounted writable */
    size_t nrw_mounts;
};

struct fb_kernel {
    /* The kernel lock: held by a task's host thread whenever it runs kernel code; released
     * while the task runs application code or sleeps. */
    pthread_mutex_t lock;
    struct fb_kernel_opts opts;
    struct fb_platform *plat;
    struct fb_memfile mf;
    struct fb_p9_client *p9; /* connection to the gofer */
    struct fb_snapshot_prep *restore_prep; /* opts.restore: the image's half, read at init */
    struct fb_mount *root_mount;

    /* Tasks: pid namespace with the first program as pid 1. */
    struct fb_list tasks; /* every live task (fb_task.knode) */
    int nr_tasks;         /* tasks whose host thread has not finished */
    int next_pid;
    int pid_max;
    pthread_cond_t tasks_done; /* signalled when nr_tasks drops to 0 */
    struct fb_task *init;      /* pid 1 */
    int init_status;           /* wait status of pid 1 when it exited */
    bool init_exited;

    /* Clocks: application time = host time + offset (offsets change only on restore). */
    int64_t mono_offset_ns;
    int64_t boot_mono_ns; /* application CLOCK_MONOTONIC at boot, for uptime */

    struct fb_file *host_stdio[3]; /* the caller's stdin/stdout/stderr */

    /* Checkpoint: armed in checkpoint mode until the ready point; then pending while every task
     * parks at its syscall boundary (ckpt_parked counts them) and the image is written. */
    bool ckpt_armed, ckpt_pending;
    int ckpt_parked;
    int ckpt_status; /* 1 once the image is written, -1 if writing failed */
    bool ready_timed_out; /* opts.ready_timeout_ms passed before the ready point */
    int64_t ckpt_save_ns; /* how long the last save took (parking excluded) */
    uint64_t output_bytes;         /* written to stdout+stderr so far (counted for output_limit) */
    bool output_truncated;         /* the limit was reached: the marker is out, writes get EPIPE */
    bool oom_killed;               /* the memory limit was exceeded: every task was killed */
    char hostname[65];
    char domainname[65];
};

extern struct fb_kernel *fb_k;

/* Counters for performance work (printed at exit with fnbox run -vv). */
struct fb_kstats {
    uint64_t syscalls, faults, interrupts, switches;
    int64_t app_ns, syscall_ns, fault_ns;
};
extern struct fb_kstats fb_stats;

static inline void fb_kernel_lock(void)
{
    pthread_mutex_lock(&fb_k->lock);
}
static inline void fb_kernel_unlock(void)
{
    pthread_mutex_unlock(&fb_k->lock);
}

/* Create the kernel: memory file, platform (forks the source stub), and for a restore the
 * image's half of it (snapshot/kstate.h). Needs no Gofer. Before lock-down. */
int fb_kernel_init(const struct fb_kernel_opts *opts, struct fb_error *err);
/* Connect to the Gofer (waits for it to serve) and build the file tree on it. */
int fb_kernel_connect(int gofer_sock, struct fb_error *err);
/* Start pid 1 from opts->argv and run until every task has exited. Returns the wait status of
 * pid 1 (as waitpid reports it), or -1 with err set if the program could not start. */
int fb_kernel_run(struct fb_error *err);

/* The ready point was reached (a read of stdin would block, or a poll, select or epoll wait that
 * stdin's input can end is about to sleep): start a checkpoint if armed. Kernel
 * lock held. Returns true if the caller must restart its syscall (it will park). */
bool fb_kernel_ckpt_request(void);

/* Host monotonic time in nanoseconds. */
int64_t fb_host_mono_ns(void);
/* Application clocks. */
int64_t fb_app_mono_ns(void);
int64_t fb_app_real_ns(void);

#endif
