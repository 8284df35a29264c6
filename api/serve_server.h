/* `fnbox serve` internals shared by the registry (serve_registry.c) and the pools
 * (serve_pool.c): the server and function structures and their locking rules. */
#ifndef FB_API_SERVE_SERVER_H
#define FB_API_SERVE_SERVER_H

#include "api/serve.h"

#define FB_HIST_BUCKETS 14
extern const double fb_hist_bounds[FB_HIST_BUCKETS];

struct fb_hist {
    uint64_t counts[FB_HIST_BUCKETS + 1]; /* last: +Inf */
    uint64_t n;
    double sum;
};
void fb_hist_add(struct fb_hist *h, double seconds);

/* A registered function. Everything below is protected by fb_server.lock. A function is freed
 * when it is deleted and its last reference goes (requests in flight and pooled sandboxes hold
 * references). */
struct fb_function {
    struct fb_function *next;
    struct fb_fn_config cfg;
    struct fb_image *image; /* current image, NULL while the first build runs */
    int refs;
    bool deleted;
    bool building;                /* registration in progress: invisible to everything else */
    bool updating;                /* PUT .../code in progress: a second one is refused */
    int64_t created_s, updated_s; /* wall-clock seconds */

    /* the warm pool */
    struct fb_sb *idle; /* restored, parked at the ready point */
    struct fb_sb *busy; /* serving an invocation (killed on shutdown after the drain) */
    int n_idle, n_starting, n_busy, n_waiting;
    pthread_cond_t cond; /* a sandbox became idle or a slot freed */
    int fail_streak;
    int64_t backoff_until_ns;
    int64_t last_done_ns; /* when the last invocation ended (refills wait for a quiet moment) */
    char pool_error[256];

    /* metrics */
    uint64_t outcomes[FB_OUT_NR];
    uint64_t cold_starts, warm_starts;
    uint64_t image_pages; /* summed over its invocations (fb_invocation.image_pages) */
    bool ws_hint_said;    /* the hint about its training events logged (once per image) */
    struct fb_hist duration;
};

#define FB_SERVE_MAX_CPUS 64
/* Spare memory files kept for the next restores (fb_pool_mem_take): each holds up to its
 * image's hot pages (~2-6 MB for a python function) until one takes it. */
#define FB_SPARE_MEM_MAX 8
/* A spare not taken for this long is closed: 60 s, or FNBOX_SPARE_MEMORY_IDLE_MS (tests). */
#define FB_SPARE_MEM_IDLE_MS 60000

struct fb_server {
    struct fb_serve_options o;
    pthread_mutex_t lock;
    struct fb_function *fns;
    struct fb_sb *starting; /* spawned by the manager, waiting for "ready" */
    struct fb_sb *exiting;  /* answered, still tearing down: the manager reaps them */
    unsigned next_gen;
    bool draining, stopping;
    int inflight; /* invocations and builds in progress */
    pthread_cond_t inflight_cond;
    pthread_t manager;
    bool manager_started;
    int wake_fd;               /* eventfd: wakes the pool manager */
    int netns_fd; /* one empty network namespace every sandbox joins (-1: each makes its own) */
    int ipcns_fd; /* one empty IPC namespace every sandbox joins (-1: each makes its own) */
    int rootns_fd; /* one mount namespace with an empty root every Sentry joins (-1: each
                    * makes its own) */
    /* Memory files handed from finished sandboxes to new ones (fb_pool_mem_take): made on a
     * tmpfs of the server's own (mem_mnt_fd, huge=advise; -1: memfds), spare ones kept here
     * until a restore takes them. Off (FNBOX_NO_MEMORY_REUSE=1): each Sentry makes its own. */
    bool mem_reuse;
    int mem_mnt_fd;
    struct {
        int fd;
        unsigned gen; /* of the image whose restores may take it */
        int64_t since; /* kept since (fb_serve_now_ns) */
    } spare_mem[FB_SPARE_MEM_MAX];
    int nspare_mem; /* oldest first */
    uint64_t mem_reused; /* restores given an earlier sandbox's memory file */
    int64_t spare_idle_ns;
    /* The host CPUs pool sandboxes are placed on, one each (fb_pool_refill_cpu); none when
     * the server may use only one. */
    int cpus[FB_SERVE_MAX_CPUS];
    int ncpus;
    pthread_mutex_t save_lock; /* serialises registry writes */
    char registry_path[4096];
    char images_dir[4096], code_dir[4096], tmp_dir[4096];
    char *code_root_real;
    struct fb_hist restore;
    uint64_t http_status[6]; /* 1xx..5xx, [0] unused */
    uint64_t async_dropped;
    int64_t started_ns;
};

/* Locked helpers (caller holds s->lock). */
struct fb_function *fb_fn_find(struct fb_server *s, const char *name);
void fb_fn_put(struct fb_server *s, struct fb_function *fn);
void fb_image_put(struct fb_server *s, struct fb_image *img);
void fb_server_wake(struct fb_server *s);

/* Sandboxes (serve_pool.c). */
/* A memory file for a restore of img (caller holds s->lock): a spare one a finished sandbox
 * of the same image left, else a new one; -1 when restores of img make their own (no hot
 * pages' file, reuse off, or the host refused). fb_sb_spawn takes it. */
int fb_pool_mem_take(struct fb_server *s, const struct fb_image *img);
/* Close the spare memory files of the image of generation gen (its last reference gone), or
 * all of them and the tmpfs they are made on (the server's end). Caller holds s->lock. */
void fb_pool_mem_drop_image(struct fb_server *s, unsigned gen);
void fb_pool_mem_drop_spares(struct fb_server *s);
/* `fnbox restore IMAGE --ready-fd 3 --memory memory_mb` (always: the limit an image carries is
 * whatever its maker set, none for one made without --memory and uploaded), joining the Gofer
 * view view_fd (the caller's, -1: none), copying the hot pages from the image's hot_fd when it
 * has one, its memory going into mem_fd (fb_pool_mem_take's, taken here, even on failure; -1:
 * the Sentry makes its own), on host CPU cpu (the whole sandbox is pinned to the CPU its
 * restore starts on; -1: wherever the host puts it). The child dies with the calling thread
 * (PR_SET_PDEATHSIG). */
struct fb_sb *fb_sb_spawn(struct fb_server *s, struct fb_image *img, uint32_t memory_mb,
                          int view_fd, int mem_fd, int cpu, struct fb_error *err);
/* The CPU the pool manager starts a refill on: the least loaded (refills under way, invocations
 * running, sandboxes tearing down), then the one with the fewest idle sandboxes; -1 when the
 * server has one CPU. Caller holds the lock. */
int fb_pool_refill_cpu(struct fb_server *s);
/* Take the idle sandbox an invocation of fn should run on: the newest one on the
 * least loaded CPU (refills, invocations, teardowns). NULL if none is idle. */
struct fb_sb *fb_pool_take_idle(struct fb_server *s, struct fb_function *fn);
/* Kill (if needed), reap and close; the caller then drops the image reference under the lock. */
void fb_sb_reap(struct fb_sb *sb);
void fb_pool_manager_start(struct fb_server *s);
/* Remove idle sandboxes not on fn's current image (or all of them when all) onto *out. */
void fb_pool_evict(struct fb_function *fn, bool all, struct fb_sb **out);
/* Reap a list built by fb_pool_evict, dropping references; takes the lock itself. */
void fb_pool_reap_list(struct fb_server *s, struct fb_sb *list);

/* Registry persistence (serve_registry.c); takes save_lock, snapshots under lock. */
int fb_registry_save(struct fb_server *s, struct fb_error *err);

#endif
