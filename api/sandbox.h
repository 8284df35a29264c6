/* One sandbox's host processes: the Gofer and the Sentry, started and supervised by the
 * controller (fnbox run, and later fnbox serve). */
#ifndef FB_API_SANDBOX_H
#define FB_API_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "gofer/gofer.h"
#include "kernel/kernel.h"
#include "kernel/util/error.h"

struct fb_sandbox_config {
    struct fb_gofer_config gofer;
    struct fb_kernel_opts kernel;
    int stdio[3];        /* host fds given to the sandbox as its fds 0, 1, 2 */
    uint64_t timeout_ms; /* wall-clock limit for the whole sandbox, 0 = none */
    double cpus;         /* CPU quota in CPUs (cgroup v1 cpu controller), 0 = none */
    int64_t t0_ns;       /* when the caller started (host monotonic), for timing logs */
    int ready_fd;        /* restore: "ready\n" is written here once the sandbox is restored,
                          * -1 = none */
    int netns_fd;        /* above 2: the Sentry (and Gofer) join this network namespace
                          * instead of the Sentry making a new one (fb_sandbox_check_netns) */
    int ipcns_fd;        /* above 2: the Sentry and the Gofer join this IPC namespace instead
                          * of each making one (fb_sandbox_check_ipcns): neither can make a
                          * SysV IPC object or a POSIX message queue (their filters), so an
                          * empty one serves any number of sandboxes */
    int view_fd;         /* above 2: the Gofer joins this mount namespace, the view another
                          * Gofer of the same image built (its root must be a read-only tmpfs,
                          * checked), instead of building its own */
    int root_ns_fd;      /* above 2: the Sentry joins this mount namespace, whose root must be
                          * an empty read-only directory (checked), instead of making its own
                          * empty root (fb_sandbox_empty_root_ns) */
    int view_cache_fd;   /* above 2, without view_fd: the namespace cache's directory
                          * (api/ns_cache.h), where the Gofer looks for a kept view equal to the
                          * one it would build (the look, a fingerprint of the host, runs beside
                          * the Sentry's start instead of before it) */
};

struct fb_sandbox {
    pid_t sentry, gofer;
    char view_key[32]; /* the Gofer built its view from the fingerprint of this key (a view
                        * to keep, api/ns_cache.h), or "": it joined one, or did not look */
    int status_fd; /* the Sentry reports the outcome here */
    int64_t restored_ns; /* restore: host monotonic time the Sentry said it was restored, or 0 */
    /* restore: memory pages the program touched that its restore had left in the image (read
     * in on need: outside the training run's working set), as the Sentry reported at the end */
    uint64_t image_pages;
    char cgroup[128];  /* the sandbox's cpu cgroup directory ("" = none), removed at the end */
    char warning[256]; /* a limit that could not be applied (e.g. --cpu without cgroups) */
};

/* Is fd an open network namespace other than the caller's own (for netns_fd)? 0 or -1 with
 * err saying why not. */
int fb_sandbox_check_netns(int fd, struct fb_error *err);
/* A new network namespace with nothing in it, open O_CLOEXEC (made by a short-lived thread:
 * the caller stays where it is), or -1 with err set. */
int fb_sandbox_empty_netns(struct fb_error *err);

/* The same for an IPC namespace (for ipcns_fd). */
int fb_sandbox_check_ipcns(int fd, struct fb_error *err);
int fb_sandbox_empty_ipcns(struct fb_error *err);

/* A mount namespace whose root is an empty read-only tmpfs (the Sentry's root), open
 * O_CLOEXEC: made by a short-lived child process, or -1 with err set. */
int fb_sandbox_empty_root_ns(struct fb_error *err);
/* Is fd a mount namespace (for root_ns_fd)? Whether its root is empty and read-only, the Sentry
 * checks once inside. 0 or -1 with err saying why not. */
int fb_sandbox_check_mntns(int fd, struct fb_error *err);

/* Start the Gofer and the Sentry. Returns 0 or -1 with err set. */
int fb_sandbox_start(const struct fb_sandbox_config *cfg, struct fb_sandbox *sb,
                     struct fb_error *err);

enum fb_sandbox_outcome {
    FB_SANDBOX_EXITED = 0,   /* *status is the wait status of the program (pid 1) */
    FB_SANDBOX_START_FAILED, /* the program could not start: err has why, *status the errno */
    FB_SANDBOX_TIMED_OUT,    /* killed at the timeout */
    FB_SANDBOX_CRASHED,      /* the Sentry died unexpectedly: err has why */
    FB_SANDBOX_CHECKPOINTED, /* checkpoint mode: the image was written at the ready point;
                              * *status is how long the save took, in microseconds */
    FB_SANDBOX_CHECKPOINT_FAILED, /* checkpoint mode: the state could not be saved (err) */
    FB_SANDBOX_OOM_KILLED,   /* over the memory limit: every task killed; err has why */
    FB_SANDBOX_NOT_READY,    /* checkpoint mode: kernel.ready_timeout_ms passed before the ready
                              * point; err says what each task was doing then */
};

/* Wait for the sandbox to end, forwarding `forward` signals caught by the caller to it; reaps
 * every host process. */
enum fb_sandbox_outcome fb_sandbox_wait(struct fb_sandbox *sb, const struct fb_sandbox_config *cfg,
                                        int *status, struct fb_error *err);

/* Send SIGINT, SIGTERM, SIGHUP and SIGQUIT the caller receives on to sb's pid 1 (NULL: drop
 * them); SIGPIPE is ignored. */
void fb_sandbox_forward_signals(struct fb_sandbox *sb);
/* The exit status, as a shell reports it, for a program that could not start with errno err:
 * 127 not found, 126 not executable, 125 otherwise. */
int fb_sandbox_start_failed_status(int err);

/* Ask the sandbox to deliver sig to its pid 1. */
void fb_sandbox_signal(struct fb_sandbox *sb, int sig);

#endif
