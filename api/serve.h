/* `fnbox serve`: the HTTP API that registers functions as checkpoint images, keeps warm pools of
 * restored sandboxes and answers invocations. Shared types of api/serve_*.c. */
#ifndef FB_API_SERVE_H
#define FB_API_SERVE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kernel/util/error.h"

#define FB_SERVE_NAME_MAX      64
#define FB_SERVE_HANDLER_MAX   128
#define FB_SERVE_MAX_ENV       64
#define FB_SERVE_LOG_TAIL      4096       /* bytes of stderr kept per invocation (Lambda's Tail) */
#define FB_SERVE_MAX_RESPONSE  (6 << 20)  /* a function's response (stdout) is cut beyond this */
#define FB_SERVE_MAX_CODE_JSON (70 << 20) /* JSON bodies that may embed a base64 archive */

/* ---- requests: routing and validation (serve_route.c, no server state; fuzzed) ----------------
 */

enum fb_route_id {
    FB_R_NOT_FOUND = 0,
    FB_R_BAD_METHOD,
    FB_R_BAD_NAME,
    FB_R_HEALTHZ,
    FB_R_METRICS,
    FB_R_FN_LIST,
    FB_R_FN_CREATE,
    FB_R_FN_GET,
    FB_R_FN_DELETE,
    FB_R_FN_CODE,
    FB_R_FN_INVOKE,
    FB_R_FN_POOL_GET,
    FB_R_FN_POOL_PUT,
    FB_R_IMAGES,
    FB_R_RESTORE,
    FB_R_L_INVOKE, /* AWS Lambda compatible paths from here on */
    FB_R_L_CREATE,
    FB_R_L_LIST,
    FB_R_L_GET,
    FB_R_L_DELETE,
};

struct fb_route {
    enum fb_route_id id;
    bool lambda; /* answer errors the Lambda way ({"Type","Message"}, x-amzn-ErrorType) */
    char name[FB_SERVE_NAME_MAX + 1];
};

/* Map METHOD and the (already percent-decoded) URL path to a route. Never fails: unknown paths are
 * FB_R_NOT_FOUND, known paths with the wrong method FB_R_BAD_METHOD, invalid function names
 * FB_R_BAD_NAME. Lambda paths accept a function ARN or NAME:$LATEST and keep only the name. */
void fb_serve_route(const char *method, const char *url, struct fb_route *r);

/* [A-Za-z0-9_-]{1,64} */
bool fb_serve_name_valid(const char *s);

/* What a user registers (POST /v1/functions or Lambda CreateFunction). Strings are owned. */
struct fb_fn_config {
    char name[FB_SERVE_NAME_MAX + 1];
    char template_[16]; /* python | shell | native | image (uploaded with POST /v1/images) */
    char *code;         /* code directory on the server as given, or NULL */
    char *handler;      /* python: module.function; shell/native: file in the code directory */
    char *runtime;      /* Lambda Runtime string echoed back, or NULL */
    char *role;         /* Lambda Role, accepted and echoed, never used */
    char *env[FB_SERVE_MAX_ENV]; /* "NAME=VALUE" */
    int nenv;
    uint32_t memory_mb;
    uint32_t timeout_ms;
    int pool_min, pool_max;
    /* The events of the training runs that record the working set: a compact JSON array of 1 to
     * FB_TRAIN_EVENTS_MAX values (FB_TRAIN_EVENT_BYTES bytes together, api/image_meta.h: as
     * `fnbox checkpoint --train-event` takes them), or NULL for the template's default ({}). */
    char *train_events;
};

#define FB_SERVE_DEFAULT_MEMORY_MB  128
#define FB_SERVE_DEFAULT_TIMEOUT_MS 3000
#define FB_SERVE_DEFAULT_POOL_MAX   8
#define FB_SERVE_POOL_LIMIT         256

void fb_fn_config_init(struct fb_fn_config *c);
void fb_fn_config_free(struct fb_fn_config *c);
/* Deep copy; returns 0 or -1 (out of memory). */
int fb_fn_config_copy(struct fb_fn_config *dst, const struct fb_fn_config *src);

/* Parse a POST /v1/functions (or PUT .../code: `for_update`, only code fields) JSON body into cfg
 * (which starts initialised). An embedded archive ("code_archive": base64 zip or tar) is decoded
 * into *archive (malloc'ed, *archive_len bytes) when archive is non-NULL. Returns 0, or -1 with
 * err->msg saying which field is wrong. Never trusts a length or type from the body. */
int fb_serve_parse_function(const char *body, size_t len, bool for_update, struct fb_fn_config *cfg,
                            unsigned char **archive, size_t *archive_len, struct fb_error *err);

/* "train_event" (one event) or "train_events" (an array of 1 to FB_TRAIN_EVENTS_MAX) of
 * the JSON object o, as cfg->train_events would hold them, in *out (malloc'ed; NULL: neither
 * given). 0, or -1 with err saying what is wrong (both given, too many, too long). */
struct json_object;
int fb_serve_train_events(struct json_object *o, char **out, struct fb_error *err);

/* Lambda CreateFunction body: FunctionName, Runtime (python3.x → python), Handler, Role,
 * Code.ZipFile (base64), Timeout (s), MemorySize (MB), Environment.Variables. */
int fb_serve_parse_lambda_create(const char *body, size_t len, struct fb_fn_config *cfg,
                                 unsigned char **zip, size_t *zip_len, struct fb_error *err);

/* {"min":N,"max":N}: missing fields keep *min / *max; checks 0 <= min <= max <= limit. */
int fb_serve_parse_pool(const char *body, size_t len, int *min, int *max, struct fb_error *err);

/* Check a complete configuration (after defaults); returns 0 or -1 with err. */
int fb_serve_config_check(const struct fb_fn_config *c, struct fb_error *err);

/* Decimal in [lo, hi] ("timeout_ms" query values etc.); returns 0 or -1. */
int fb_serve_parse_uint(const char *s, uint32_t lo, uint32_t hi, uint32_t *out);

/* Base64 (RFC 4648, padding optional on decode, whitespace refused). Returned buffers are
 * malloc'ed and NUL-terminated. Decode returns NULL on malformed input. */
char *fb_base64_encode(const unsigned char *in, size_t len, size_t *out_len);
unsigned char *fb_base64_decode(const char *in, size_t len, size_t *out_len);

/* ---- the server ---------------------------------------------------------------------------------
 */

struct fb_server;
struct fb_function;

/* A checkpoint image in the state directory, shared by the function that owns it and every
 * sandbox restored from it: the files are deleted when the last reference goes (a code update
 * lets in-flight invocations finish on the old image). Refs change under the server lock. */
struct fb_image {
    char *path;     /* the image file */
    char *code_dir; /* the copy of the code it was built from, or NULL */
    int refs;
    bool keep; /* do not delete files on last release (server shutdown) */
    uint64_t size;
    double checkpoint_ms;
    unsigned gen;
    /* The Gofer's view of this image, taken from the first sandbox restored from it (its
     * Gofer's mount namespace): every later restore joins it (--view-fd) instead of building
     * the same view again. */
    int view_fd;     /* -1: none yet */
    int64_t view_ns; /* when it was taken */
    /* Its memory (hot pages first, the rest to HOT_FILE_MAX_PAGES) decompressed once, sealed
     * (fb_memfile_hot_make), given to every restore (--hot-fd): each copies from it, up front
     * and on faults, instead of reading and decompressing its own. Made with the
     * image (built, uploaded or reloaded), never changed after; -1: none (not such an image,
     * or making it failed). */
    int hot_fd;
    uint64_t hot_bytes; /* its size: what a restore keeps of a memory file it is given */
};

/* One restored sandbox: a `fnbox restore IMAGE --ready-fd 3` child process. */
struct fb_sb {
    struct fb_sb *next;
    pid_t pid;
    int in_fd, out_fd, err_fd, ready_fd;
    int done_fd; /* the ready pipe once ready: "exit N" when the program has exited */
    struct fb_image *image; /* holds a reference */
    struct fb_function *fn; /* pool sandboxes hold a reference; NULL for one-off ones */
    uint32_t memory_mb;
    int64_t spawn_ns, ready_ns;
    pid_t gofer;      /* from its ready line (host pid), 0 if not said */
    bool joined_view; /* its Gofer joined the image's view rather than building one */
    int cpu;          /* the host CPU it was started on (pinned there), -1 if not chosen */
    bool reaped;
    int wait_status;
    /* Its memory file (fnbox restore --memory-fd), kept open here: once the sandbox is gone,
     * the next restore of its image gets it (fb_pool_mem_take), -1 if none. */
    int mem_fd;
    unsigned mem_gen; /* its image's generation: the file goes to that image's restores only */
};

/* Outcome of one invocation. */
enum fb_outcome {
    FB_OUT_OK = 0,
    FB_OUT_FUNCTION_ERROR, /* non-zero exit: the function's own fault, HTTP 200 */
    FB_OUT_TIMEOUT,        /* killed at timeout_ms: a function error too */
    FB_OUT_OOM,            /* killed at memory_mb: a function error too */
    FB_OUT_PLATFORM_ERROR, /* the sandbox failed: 502, the function may not have run */
    FB_OUT_THROTTLED,      /* queue full: 429 */
    FB_OUT_NR,
};
extern const char *const fb_outcome_names[FB_OUT_NR];

struct fb_invocation {
    /* in */
    const char *event;
    size_t event_len;
    char request_id[40];
    uint32_t timeout_ms, memory_mb;
    bool cold_only; /* POST /v1/restore: straight from the image, not from the pool */
    /* An Event already answered 202: counted in flight since then (the drain waits for it)
     * and run even once the server drains, as the client was told it would be. */
    bool accepted;
    /* out */
    enum fb_outcome outcome;
    bool warm;
    int exit_status; /* the program's exit status, -1 if none */
    double queue_ms, restore_ms, run_ms;
    /* Memory pages the program touched that its restore had left in the image (read in on
     * need, ~0.1 ms of the run per fault: outside the training run's working set). */
    uint64_t image_pages;
    char *response; /* stdout (malloc'ed), response_len bytes */
    size_t response_len;
    bool response_truncated;
    char log_tail[FB_SERVE_LOG_TAIL];
    size_t log_tail_len;
    uint64_t log_total;
    char message[256]; /* for errors: what happened */
    int http_status;   /* set for early refusals (404, 429, 503) */
    int retry_after;   /* seconds, for 429 */
};

struct fb_serve_options {
    const char *listen; /* host:port */
    const char *token;  /* bearer token, or NULL */
    const char *state_dir;
    const char *code_root; /* server-side code directories must be under this */
    const char *fnbox_bin; /* the fnbox executable that checkpoints and restores */
    size_t max_body;       /* request body cap (413 beyond), images/archives excepted */
    size_t max_upload;     /* cap for images and code archives */
    int queue_max;         /* per function, requests waiting for a sandbox (429 beyond) */
    uint32_t queue_timeout_ms;
    uint32_t build_timeout_ms;
    uint32_t drain_timeout_ms;
    int connection_limit;
    bool quiet; /* no per-invocation log lines */
    bool no_memory_reuse; /* every restore a new memory file (serve_pool.c) */
};

/* Registry and pools (serve_registry.c, serve_pool.c). */
struct fb_server *fb_server_new(const struct fb_serve_options *o, struct fb_error *err);
/* Load the registry from the state directory and start the pool manager. */
int fb_server_start(struct fb_server *s, struct fb_error *err);
/* Refuse new work (503) and wait up to drain_timeout for in-flight invocations; then kill the
 * sandboxes of those still running (they fail as platform errors) and wait for them. */
void fb_server_drain(struct fb_server *s);
/* Stop the pool manager and kill and reap every pooled sandbox. */
void fb_server_stop(struct fb_server *s);
const struct fb_serve_options *fb_server_options(struct fb_server *s);
/* Where uploads are streamed (inside the state directory, emptied at start). */
const char *fb_server_tmp_dir(struct fb_server *s);

/* Register (create) or update a function: copy its code (from cfg->code under code_root, or by
 * extracting archive), build the image with `fnbox checkpoint`, persist the registry. On
 * success *desc_json is the function's description (malloc'ed JSON). http_status says how to
 * answer a failure (400, 404, 409, 422, 500). */
int fb_server_create(struct fb_server *s, const struct fb_fn_config *cfg, const void *archive,
                     size_t archive_len, const char *archive_path, char **desc_json,
                     int *http_status, struct fb_error *err);
int fb_server_update_code(struct fb_server *s, const char *name, const struct fb_fn_config *code,
                          const void *archive, size_t archive_len, const char *archive_path,
                          char **desc_json, int *http_status, struct fb_error *err);
/* Register an uploaded image file (moved into the state directory after `fnbox inspect`). */
int fb_server_add_image(struct fb_server *s, const char *name, const char *upload_path,
                        const struct fb_fn_config *opts, char **desc_json, int *http_status,
                        struct fb_error *err);
int fb_server_delete(struct fb_server *s, const char *name);
/* JSON description of one function (Lambda shape when `lambda`); NULL if there is none. */
char *fb_server_describe(struct fb_server *s, const char *name, bool lambda);
/* {"functions":[...]} or Lambda's {"Functions":[...]}. */
char *fb_server_list(struct fb_server *s, bool lambda);
int fb_server_set_pool(struct fb_server *s, const char *name, const char *body, size_t len,
                       char **pool_json, int *http_status, struct fb_error *err);
char *fb_server_pool_json(struct fb_server *s, const char *name);

/* Run one invocation of function `name`; fills inv (caller frees inv->response). Returns 0 when
 * the function ran (whatever its outcome) or -1 when it did not (inv->http_status says why). */
int fb_server_invoke(struct fb_server *s, const char *name, struct fb_invocation *inv);
/* Async (Lambda Event) invocation: copies the event and runs it on its own thread. */
int fb_server_invoke_async(struct fb_server *s, const char *name, const char *event, size_t len,
                           const char *request_id);
bool fb_server_has(struct fb_server *s, const char *name);
bool fb_server_draining(struct fb_server *s);
/* Prometheus text exposition (malloc'ed). */
char *fb_server_metrics(struct fb_server *s);
void fb_server_count_request(struct fb_server *s, int http_status);

/* Helpers shared by the serve files (serve_util.c). */
int64_t fb_serve_now_ns(void);
/* Run argv (no shell) with stdin /dev/null, capturing up to 64 KB of stdout and stderr each,
 * killing it after timeout_ms. Returns the wait status or -1 with err. */
int fb_serve_exec(char *const argv[], uint32_t timeout_ms, char **out, char **errout,
                  struct fb_error *err);
/* Copy a directory tree (regular files and directories only; symlinks and devices refused)
 * with size and entry limits. */
int fb_serve_copy_tree(const char *src, const char *dst, struct fb_error *err);
/* Extract a zip or tar (optionally compressed) into the new directory dst: regular files and
 * directories only, no absolute paths, no "..", sizes bounded. */
int fb_serve_extract(const void *buf, size_t len, const char *path, const char *dst,
                     struct fb_error *err);
/* rm -rf without following symlinks. */
void fb_serve_remove_tree(const char *path);
/* Write a file crash-safely: temp file, fsync, rename, fsync of the directory. */
int fb_serve_write_atomic(const char *path, const char *data, size_t len, struct fb_error *err);

int fb_cmd_serve(int argc, char **argv);

#endif
