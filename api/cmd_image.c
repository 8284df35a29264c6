/* `fnbox checkpoint`, `fnbox restore` and `fnbox inspect`: make an image of a sandbox at its
 * ready point (the first time the program waits for its request on stdin), start sandboxes from
 * it, and show what an image holds.
 *
 * The controller never lets the Sentry open paths: it creates the image file (a temporary name
 * next to the target), hands the Sentry the descriptor, and renames the file into place only
 * once the Sentry has written and fsynced a complete image. Restoring opens and validates the
 * image here, then hands its descriptor to a fresh Sentry. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <msgpack.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/cli.h"
#include "api/image_meta.h"
#include "api/mem_cache.h"
#include "api/ns_cache.h"
#include "api/sandbox.h"
#include "kernel/util/log.h"
#include "kernel/mm/mm_save.h"
#include "kernel/util/sort.h"
#include "snapshot/image.h"
#include "snapshot/kstate.h"
#include "snapshot/state.h"


/* ---- fnbox checkpoint ------------------------------------------------------------------------- */

static const char checkpoint_usage[] =
    "Usage: fnbox checkpoint [OPTIONS] -o IMAGE --template NAME --code DIR [--handler H]\n"
    "       fnbox checkpoint [OPTIONS] -o IMAGE -- PROGRAM [ARGS...]\n"
    "\n"
    "Start a sandbox, let the program initialise, and save the whole sandbox (kernel state and\n"
    "memory) to IMAGE at its ready point: the first time the program waits for data on its\n"
    "standard input (its request), in a read of stdin or in poll, select or epoll with stdin\n"
    "among what it waits for (an event loop: node, asyncio). Nothing in the program needs to\n"
    "change. `fnbox restore IMAGE` then starts copies of it in milliseconds, each receiving its\n"
    "own request on stdin.\n"
    "\n"
    "With --template, the function's code directory is served read-only at /code and the\n"
    "template's runtime loads it (see templates/*/manifest):\n"
    "  python   imports HANDLER (module.function, default main.handler) from /code; each\n"
    "           invocation reads a JSON event on stdin and prints the JSON result\n"
    "  shell    runs the script HANDLER (default main.sh) in /code with /bin/sh\n"
    "  native   runs the executable HANDLER (default main) in /code\n"
    "\n"
    "Options:\n"
    "  -o, --output IMAGE    where to write the image (written to a temporary file, fsynced,\n"
    "                        then renamed: IMAGE is either complete or untouched)\n"
    "  --template NAME       python, shell or native\n"
    "  --code DIR            the function's code, served read-only at /code\n"
    "  --handler H           what the template runs (see above)\n"
    "  --name NAME           function name given to the runtime (default: the code directory's)\n"
    "  --timeout-hint MS     invocation time limit the runtime reports to handlers\n"
    "                        (context.get_remaining_time_in_millis; default 3000)\n"
    "  --root DIR            serve DIR as the sandbox's root instead of the host's system view\n"
    "  --mount SRC:DST[:ro|:rw]  also serve SRC at DST (kept in the image; restore serves it)\n"
    "  --env NAME=VALUE      environment variable (repeatable)\n"
    "  --cwd DIR             working directory inside the sandbox\n"
    "  --memory SIZE         memory limit while initialising and, by default, when restored\n"
    "  --pids N              limit the number of tasks while initialising and training, 1-100000\n"
    "                        (default 1024, as restores have)\n"
    "  --init-timeout DURATION  give up if the ready point is not reached in time (default 60s);\n"
    "                        the message then says what each task was doing (running, or\n"
    "                        waiting in which system call)\n"
    "  --train-event EVENT   after saving, restore the image once, give it EVENT on stdin and\n"
    "                        record which memory the invocation touches (its working set, kept\n"
    "                        in the image): restores then load just that much up front and\n"
    "                        fault the rest in when touched. Default with --template: {}.\n"
    "                        Repeatable (at most 8, 64 KiB together): one run per event, the\n"
    "                        working set their union, for a function whose requests take\n"
    "                        different paths. A training run serves every mount read-only and\n"
    "                        discards the output; one that fails only leaves its pages out\n"
    "  --no-train            no training run (restores load everything the program had touched)\n"
    "  --json                print a JSON summary on stdout (the program's own output then goes\n"
    "                        to stderr)\n"
    "  -v, --verbose         more logging on stderr (repeat for debug timings)\n"
    "  -h, --help            show this help\n"
    "\n"
    "Exit status: 0 when IMAGE was written; 1 if the program exited or was killed before its\n"
    "ready point (its stderr is shown); 124 if --init-timeout passed; 125 if the sandbox failed\n"
    "or holds state that cannot be saved (the message says what); 2 for bad options.\n";

struct template {
    char dir[PATH_MAX];
    char *argv[32];
    int argc;
    char *env[32];
    int nenv;
    char default_handler[128];
};

/* Parse templates/NAME/manifest: "key = value" lines; argv words may contain {handler}. */
static int template_load(const char *name, const char *handler, struct template *t,
                         struct fb_error *err)
{
    char base[PATH_MAX], path[PATH_MAX + 32], line[1024];
    FILE *f;
    size_t i;

    memset(t, 0, sizeof(*t));
    for (i = 0; name[i]; i++)
        if (!(name[i] >= 'a' && name[i] <= 'z') && name[i] != '-' && name[i] != '_')
            return fb_error_set(err, EINVAL, "--template %s: not a template name", name);
    if (fb_templates_dir(base, sizeof(base)) < 0)
        return fb_error_set(err, ENOENT,
                            "cannot find the templates directory (set FNBOX_TEMPLATES)");
    if ((size_t)snprintf(t->dir, sizeof(t->dir), "%.3000s/%.64s", base, name) >= sizeof(t->dir))
        return fb_error_set(err, ENAMETOOLONG, "templates directory path too long");
    snprintf(path, sizeof(path), "%s/manifest", t->dir);
    f = fopen(path, "re");
    if (!f)
        return fb_error_set(err, errno, "--template %s: no such template (%s: %s)", name, path,
                            strerror(errno));
    while (fgets(line, sizeof(line), f)) {
        char *key = line, *val, *end;
        line[strcspn(line, "\n")] = 0;
        while (*key == ' ' || *key == '\t')
            key++;
        if (!*key || *key == '#')
            continue;
        val = strchr(key, '=');
        if (!val)
            continue;
        end = val;
        *val++ = 0;
        while (end > key && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = 0;
        while (*val == ' ' || *val == '\t')
            val++;
        if (!strcmp(key, "handler"))
            snprintf(t->default_handler, sizeof(t->default_handler), "%s", val);
        else if (!strcmp(key, "env") && t->nenv < 31)
            t->env[t->nenv++] = strdup(val);
        else if (!strcmp(key, "argv")) {
            char *w = strtok(val, " \t");
            while (w && t->argc < 31) {
                t->argv[t->argc++] = strdup(w);
                w = strtok(NULL, " \t");
            }
        }
    }
    fclose(f);
    if (!t->argc)
        return fb_error_set(err, EINVAL, "template %s: its manifest has no argv", name);
    if (!handler)
        handler = t->default_handler;
    for (i = 0; i < (size_t)t->argc; i++) {
        char *p = strstr(t->argv[i], "{handler}");
        if (p) {
            char *n;
            if (asprintf(&n, "%.*s%s%s", (int)(p - t->argv[i]), t->argv[i], handler, p + 9) < 0)
                return fb_error_set(err, ENOMEM, "out of memory");
            free(t->argv[i]);
            t->argv[i] = n;
        }
    }
    return 0;
}

static bool valid_handler(const char *h)
{
    size_t i;
    if (!h[0] || strlen(h) > 120 || h[0] == '.' || h[0] == '-')
        return false;
    for (i = 0; h[i]; i++)
        if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z') ||
              (h[i] >= '0' && h[i] <= '9') || h[i] == '_' || h[i] == '.' || h[i] == '-'))
            return false;
    return strstr(h, "..") == NULL;
}

static int checkpoint_error(int rc, const char *msg)
{
    fprintf(stderr, "fnbox checkpoint: %s\n", msg);
    return rc;
}

#define TRAIN_TIMEOUT_MS 10000 /* at most; normally the function's own limit plus 2 s */
#define RENUMBER_MAX_PAGES (64u << 10) /* 256 MiB of pages held while renumbering an image */

/* The image's hot pages from a training run, sorted (fb_mm_ws_write gives them in address
 * order: a sorted copy to look them up in). */
struct hot_pages {
    const uint64_t *p;
    size_t n;
};

static bool is_hot(uint64_t page, void *arg)
{
    const struct hot_pages *h = arg;
    size_t i = fb_lower_bound_u64(h->p, h->n, page);
    return i < h->n && h->p[i] == page;
}

/* One training run on `event`: the recording it leaves (fb_mm_ws_write's layout, malloc'ed,
 * *len bytes), or NULL when it ran badly or recorded nothing (said at info level). */
static uint8_t *train_record(const struct fb_sandbox_config *ckcfg, const char *tmp,
                             const char *event, uint64_t timeout_ms, size_t *len)
{
    struct fb_sandbox_config cfg = *ckcfg;
    struct fb_gofer_mount mounts[64];
    struct fb_sandbox sb;
    struct fb_error err = {0};
    enum fb_sandbox_outcome out;
    int in[2] = {-1, -1}, wsfd = -1, nullfd = -1, rfd = -1, status = 0;
    uint8_t *ws = NULL;
    size_t i;
    struct stat st;

    if (cfg.gofer.nmounts > FB_CLI_ARRAY_SIZE(mounts))
        return NULL;
    for (i = 0; i < cfg.gofer.nmounts; i++) {
        mounts[i] = cfg.gofer.mounts[i];
        mounts[i].ro = true;
    }
    cfg.gofer.mounts = mounts;
    cfg.kernel.nrw_mounts = 0;
    cfg.kernel.checkpoint = false;
    cfg.kernel.image_meta = NULL;
    cfg.kernel.image_meta_len = 0;
    cfg.kernel.restore = true;
    cfg.kernel.prefault = false;
    cfg.kernel.ws_record = true;
    cfg.timeout_ms = timeout_ms + 2000 < TRAIN_TIMEOUT_MS ? timeout_ms + 2000 : TRAIN_TIMEOUT_MS;
    cfg.t0_ns = fb_host_mono_ns();
    rfd = open(tmp, O_RDONLY | O_CLOEXEC);
    wsfd = memfd_create("fnbox-workingset", MFD_CLOEXEC);
    nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (rfd < 0 || wsfd < 0 || nullfd < 0 || pipe2(in, O_CLOEXEC) != 0 ||
        write(in[1], event, strlen(event)) != (ssize_t)strlen(event)) {
        fb_info("no training run: %s", strerror(errno));
        goto out;
    }
    close(in[1]);
    in[1] = -1;
    cfg.kernel.image_fd = rfd;
    cfg.kernel.ws_fd = wsfd;
    cfg.stdio[0] = in[0];
    cfg.stdio[1] = nullfd;
    cfg.stdio[2] = nullfd;
    if (fb_sandbox_start(&cfg, &sb, &err) < 0) {
        fb_info("no training run: %s", err.msg);
        goto out;
    }
    out = fb_sandbox_wait(&sb, &cfg, &status, &err);
    if (out != FB_SANDBOX_EXITED) {
        fb_info("training run failed (%s): no working set", err.msg[0] ? err.msg : "no exit");
        goto out;
    }
    if (fstat(wsfd, &st) != 0 || st.st_size <= 0 || st.st_size > (64 << 20) ||
        !(ws = malloc((size_t)st.st_size)) ||
        pread(wsfd, ws, (size_t)st.st_size, 0) != (ssize_t)st.st_size) {
        fb_info("training run recorded no working set");
        free(ws);
        ws = NULL;
        goto out;
    }
    *len = (size_t)st.st_size;
    fb_dbg("training run: %zu bytes recorded (exit status %d)", *len,
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
out:
    for (int k = 0; k < 2; k++)
        if (in[k] >= 0)
            close(in[k]);
    if (wsfd >= 0)
        close(wsfd);
    if (nullfd >= 0)
        close(nullfd);
    if (rfd >= 0)
        close(rfd);
    return ws;
}

/* The training runs: restore the image just written (tmp, open on img_fd) once per event,
 * lazily and with working-set recording, give it the event on stdin, and add the pages those
 * invocations touched (the union) as the image's "workingset" section (kernel/mm/mm_save.h);
 * first the image's memory is regrouped so that the memory-file pages those were (the hot
 * pages) fill chunks of their own, which a restore decompresses alone, straight into place.
 * Every mount is served read-only and the output is discarded, so a run leaves no trace
 * outside the sandbox; a run that goes wrong (or records a malformed set) only leaves its own
 * pages out, and the section when every run did, unless rewriting the image failed half-way:
 * then `damaged` says why and the checkpoint fails. */
static void train(const struct fb_sandbox_config *ckcfg, const char *tmp, int img_fd,
                  const char *const *events, int nevents, uint64_t timeout_ms, char *damaged,
                  size_t damaged_len)
{
    uint64_t wslen;
    struct fb_error err = {0};
    uint8_t *ws = NULL;
    size_t len = 0;

    for (int e = 0; e < nevents; e++) {
        size_t rl = 0, ml = 0;
        uint8_t *r = train_record(ckcfg, tmp, events[e], timeout_ms, &rl), *m = NULL;
        int mr;
        if (!r)
            continue;
        if (!fb_mm_ws_recording_ok(r, rl)) {
            fb_warn("the training run on event %d recorded a malformed working set: left out",
                    e + 1);
            free(r);
            continue;
        }
        if (!ws) {
            ws = r;
            len = rl;
            continue;
        }
        mr = fb_mm_ws_merge(ws, len, r, rl, &m, &ml);
        free(r);
        if (mr < 0) {
            fb_warn("the training runs' working sets do not merge (%s): the event %d left out",
                    strerror(-mr), e + 1);
            continue;
        }
        free(ws);
        ws = m;
        len = ml;
    }
    if (!ws)
        return;
    /* The recording (checked above): the section's length, the section, the hot pages. */
    memcpy(&wslen, ws, sizeof(wslen));
    if (wslen == 0) { /* nothing touched: no section (restores then load everything) */
        fb_info("training run recorded no working set");
        goto out;
    }
    {
        const uint64_t *hot = (const uint64_t *)(ws + 8 + wslen);
        size_t nhot = (len - 8 - wslen) / 8;
        uint64_t *sorted = malloc((nhot ? nhot : 1) * sizeof(*sorted));
        struct hot_pages hp = {sorted, sorted ? nhot : 0};
        int64_t t0 = fb_host_mono_ns();
        struct fb_image_rewrite rw = {.hot = is_hot, .arg = &hp};
        uint64_t *order = NULL;
        size_t norder = 0;
        int r;
        /* Hot pages first, contiguous (kernel/mm/mm_save.h); without an order (an image too
         * big to hold in memory here, or a table that does not read), only regrouped. */
        if (sorted) {
            memcpy(sorted, hot, nhot * sizeof(*sorted));
            qsort(sorted, nhot, sizeof(*sorted), fb_cmp_u64);
        }
        if (hp.n && fb_memfile_renumber_order(img_fd, hot, nhot, &order, &norder, &err) == 0 &&
            norder <= RENUMBER_MAX_PAGES) {
            rw.order = order;
            rw.norder = norder;
            rw.raw = fb_memfile_renumber_raw;
            rw.raw_arg = &rw;
            rw.add_name = "pagemap";
            rw.add_data = order;
            rw.add_len = norder * sizeof(*order);
            rw.minor = 1; /* readers of 1.0 must refuse it (snapshot/image.h) */
        }
        r = hp.n ? fb_image_rewrite(img_fd, &rw, &err) : 0;
        free(order);
        free(sorted);
        if (r == -2) {
            snprintf(damaged, damaged_len, "%s", err.msg);
            goto out;
        }
        if (r < 0)
            fb_warn("grouping the image's memory by working set: %s (restores decompress "
                    "more)", err.msg);
        else
            fb_dbg("memory regrouped around %zu hot pages%s in %.1f ms", hp.n,
                   rw.norder ? ", renumbered to come first" : "", (fb_host_mono_ns() - t0) / 1e6);
    }
    if (fb_image_append_raw(img_fd, "workingset", ws + 8, (size_t)wslen, &err) < 0)
        fb_warn("adding the working set to the image: %s", err.msg);
    else
        fb_dbg("working set: %lu bytes from %d training run%s", (unsigned long)wslen, nevents,
               nevents == 1 ? "" : "s");
out:
    free(ws);
}

int fb_cmd_checkpoint(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"template", required_argument, NULL, 't'},
        {"code", required_argument, NULL, 'C'},
        {"handler", required_argument, NULL, 'H'},
        {"name", required_argument, NULL, 'N'},
        {"timeout-hint", required_argument, NULL, 'O'},
        {"root", required_argument, NULL, 'r'},
        {"mount", required_argument, NULL, 'm'},
        {"env", required_argument, NULL, 'e'},
        {"cwd", required_argument, NULL, 'c'},
        {"memory", required_argument, NULL, 'M'},
        {"pids", required_argument, NULL, 'P'},
        {"init-timeout", required_argument, NULL, 'T'},
        {"train-event", required_argument, NULL, 'E'},
        {"no-train", no_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct fb_sandbox_config cfg;
    struct fb_cli_env env;
    struct fb_gofer_mount mounts[64];
    const char *rw_mounts[64];
    struct fb_image_meta meta;
    struct template tpl;
    struct fb_error err = {0};
    struct fb_sandbox sb;
    enum fb_sandbox_outcome out;
    const char *output = NULL, *tname = NULL, *code = NULL, *handler = NULL, *fname = NULL;
    char *tmp = NULL, *code_abs = NULL, buf[64];
    uint64_t v, timeout_hint = 3000;
    int c, i, status = 0, nmounts = 0, fd = -1, inpipe[2] = {-1, -1}, rc;
    bool json = false, no_train = false;
    const char *train_events[FB_TRAIN_EVENTS_MAX + 1]; /* NULL-terminated once parsed */
    int ntrain = 0;
    size_t train_bytes = 0;
    struct stat st;
    msgpack_sbuffer mb;

    memset(&cfg, 0, sizeof(cfg));
    memset(&meta, 0, sizeof(meta));
    cfg.t0_ns = fb_host_mono_ns();
    cfg.ready_fd = -1;
    cfg.timeout_ms = 60000;
    fb_cli_env_init(&env);
    cfg.kernel.platform = "ptrace";
    cfg.kernel.pids_limit = FB_RESTORE_DEFAULT_PIDS;
    cfg.gofer.donate_fds = true;
    optind = 1;
    argv[0] = "fnbox checkpoint";
    while ((c = getopt_long(argc, argv, "+o:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            output = optarg;
            break;
        case 't':
            tname = optarg;
            break;
        case 'C':
            code = optarg;
            break;
        case 'H':
            handler = optarg;
            break;
        case 'N':
            fname = optarg;
            break;
        case 'O':
            if (fb_cli_parse_u64(optarg, &timeout_hint) < 0 || timeout_hint < 1)
                return fb_cli_usage_error(checkpoint_usage, "--timeout-hint: milliseconds");
            break;
        case 'r':
            cfg.gofer.root = optarg;
            break;
        case 'm':
            if (nmounts >= (int)FB_CLI_ARRAY_SIZE(mounts) - 2)
                return fb_cli_usage_error(checkpoint_usage, "too many --mount options");
            if (fb_cli_parse_mount(optarg, &mounts[nmounts], &err) < 0)
                return fb_cli_usage_error(checkpoint_usage, err.msg);
            nmounts++;
            break;
        case 'e':
            if (fb_cli_env_set(&env, optarg, &err) < 0)
                return fb_cli_usage_error(checkpoint_usage, err.msg);
            break;
        case 'c':
            cfg.kernel.cwd = optarg;
            break;
        case 'M':
            if (fb_cli_parse_size(optarg, &cfg.kernel.memory_limit) < 0 ||
                cfg.kernel.memory_limit < (1 << 20))
                return fb_cli_usage_error(checkpoint_usage, "--memory: expected a size like 256M");
            break;
        case 'P':
            if (fb_cli_parse_pids(optarg, &cfg.kernel.pids_limit) < 0)
                return fb_cli_usage_error(checkpoint_usage, FB_CLI_PIDS_ERROR);
            break;
        case 'T':
            if (fb_cli_parse_duration_us(optarg, &v) < 0 || v < 1000)
                return fb_cli_usage_error(checkpoint_usage,
                                          "--init-timeout: expected a duration like 30s");
            cfg.timeout_ms = v / 1000;
            break;
        case 'E':
            train_bytes += strlen(optarg);
            if (train_bytes > FB_TRAIN_EVENT_BYTES)
                return fb_cli_usage_error(checkpoint_usage,
                                          "--train-event: at most 64 KiB (all events together)");
            if (ntrain == FB_TRAIN_EVENTS_MAX)
                return fb_cli_usage_error(checkpoint_usage, "--train-event: at most 8 events");
            train_events[ntrain++] = optarg;
            break;
        case 'n':
            no_train = true;
            break;
        case 'j':
            json = true;
            break;
        case 'v':
            fb_log_verbosity++;
            break;
        case 'h':
            fputs(checkpoint_usage, stdout);
            return 0;
        default:
            return fb_cli_usage_error(checkpoint_usage, NULL);
        }
    }
    if (!output)
        return fb_cli_usage_error(checkpoint_usage, "missing -o IMAGE");
    if (tname && optind < argc)
        return fb_cli_usage_error(checkpoint_usage, "give either --template or a PROGRAM, not both");
    if (!tname && optind >= argc)
        return fb_cli_usage_error(checkpoint_usage, "missing --template or PROGRAM");
    if (tname && !code)
        return fb_cli_usage_error(checkpoint_usage, "--template needs --code DIR");
    if (handler && !valid_handler(handler))
        return fb_cli_usage_error(checkpoint_usage,
                                  "--handler: letters, digits, '_', '-' and '.' only");
    if (code) {
        code_abs = realpath(code, NULL);
        if (!code_abs || stat(code_abs, &st) != 0 || !S_ISDIR(st.st_mode)) {
            snprintf(err.msg, sizeof(err.msg), "--code %s: %s", code,
                     code_abs ? "not a directory" : strerror(errno));
            return fb_cli_usage_error(checkpoint_usage, err.msg);
        }
        mounts[nmounts].src = code_abs;
        mounts[nmounts].dst = "/code";
        mounts[nmounts].ro = true;
        nmounts++;
    }
    if (tname) {
        if (template_load(tname, handler, &tpl, &err) < 0)
            return checkpoint_error(2, err.msg);
        mounts[nmounts].src = tpl.dir;
        mounts[nmounts].dst = "/template";
        mounts[nmounts].ro = true;
        nmounts++;
        for (i = 0; i < tpl.nenv; i++)
            if (fb_cli_env_set(&env, tpl.env[i], &err) < 0)
                return checkpoint_error(2, err.msg);
        if (!fname) {
            const char *slash = strrchr(code_abs, '/');
            fname = slash && slash[1] ? slash + 1 : "function";
        }
        {
            char kv[300];
            snprintf(kv, sizeof(kv), "FNBOX_FUNCTION_NAME=%s", fname);
            fb_cli_env_set(&env, kv, &err);
            snprintf(kv, sizeof(kv), "FNBOX_TIMEOUT_MS=%lu", (unsigned long)timeout_hint);
            fb_cli_env_set(&env, kv, &err);
            snprintf(kv, sizeof(kv), "FNBOX_MEMORY_MB=%lu",
                     (unsigned long)(cfg.kernel.memory_limit ? cfg.kernel.memory_limit >> 20 : 0));
            fb_cli_env_set(&env, kv, &err);
        }
        cfg.kernel.argv = tpl.argv;
        if (!cfg.kernel.cwd)
            cfg.kernel.cwd = "/code";
    } else {
        cfg.kernel.argv = argv + optind;
    }
    cfg.gofer.mounts = mounts;
    cfg.gofer.nmounts = (size_t)nmounts;
    for (i = 0; i < nmounts; i++) /* :rw destinations are writable mounts in the Sentry */
        if (!mounts[i].ro)
            rw_mounts[cfg.kernel.nrw_mounts++] = mounts[i].dst;
    cfg.kernel.rw_mounts = rw_mounts;
    cfg.kernel.envp = fb_cli_env_finish(&env);

    /* What restore needs to rebuild the same view, and to notice stale code. */
    meta.created = (uint64_t)time(NULL);
    meta.template_name = tname;
    meta.handler = tname ? (handler ? handler : tpl.default_handler) : NULL;
    meta.function_name = fname;
    meta.code = code_abs;
    meta.root = cfg.gofer.root;
    meta.mounts = mounts;
    meta.nmounts = (size_t)nmounts;
    meta.argv = cfg.kernel.argv;
    meta.envp = cfg.kernel.envp;
    meta.cwd = cfg.kernel.cwd;
    meta.memory_limit = cfg.kernel.memory_limit;
    /* What the training runs below will be given (kept also if they fail: inspect names the
     * events only beside a working set). */
    {
        static char *dflt[] = {"{}", NULL};
        train_events[ntrain] = NULL;
        if (!no_train && (ntrain || tname))
            meta.train_events = ntrain ? (char **)train_events : dflt;
    }
    if (code_abs && fb_meta_fingerprint(code_abs, &meta, &err) < 0)
        return checkpoint_error(125, err.msg);
    msgpack_sbuffer_init(&mb);
    fb_meta_pack(&meta, &mb);
    cfg.kernel.image_meta = mb.data;
    cfg.kernel.image_meta_len = mb.size;

    if (asprintf(&tmp, "%s.tmp.%d", output, (int)getpid()) < 0)
        return checkpoint_error(125, "out of memory");
    fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err.msg, sizeof(err.msg), "creating %s: %s", tmp, strerror(errno));
        free(tmp);
        return checkpoint_error(125, err.msg);
    }
    /* The request channel: a pipe that stays empty (its write end is ours), so the program's
     * first read of stdin waits: the ready point. */
    if (pipe2(inpipe, O_CLOEXEC) != 0) {
        rc = checkpoint_error(125, strerror(errno));
        goto out;
    }
    cfg.kernel.checkpoint = true;
    cfg.kernel.ckpt_fd = fd;
    /* The Sentry keeps the init timeout itself, to say what the program was doing when it
     * passed; ours, 2 s later, is for a Sentry that cannot. */
    cfg.kernel.ready_timeout_ms = cfg.timeout_ms;
    cfg.timeout_ms += 2000;
    cfg.stdio[0] = inpipe[0];
    cfg.stdio[1] = json ? 2 : 1;
    cfg.stdio[2] = 2;
    if (fb_sandbox_start(&cfg, &sb, &err) < 0) {
        rc = checkpoint_error(125, err.msg);
        goto out;
    }
    close(inpipe[0]);
    inpipe[0] = -1;
    fb_sandbox_forward_signals(&sb);
    out = fb_sandbox_wait(&sb, &cfg, &status, &err);
    fb_sandbox_forward_signals(NULL);
    switch (out) {
    case FB_SANDBOX_CHECKPOINTED: {
        double ms = (fb_host_mono_ns() - cfg.t0_ns) / 1e6, train_ms = 0;
        if (!no_train && (ntrain || tname)) {
            static const char *const dflt[] = {"{}"};
            int64_t t1 = fb_host_mono_ns();
            char damaged[sizeof(err.msg)] = "";
            train(&cfg, tmp, fd, ntrain ? train_events : dflt, ntrain ? ntrain : 1, timeout_hint,
                  damaged, sizeof(damaged));
            train_ms = (fb_host_mono_ns() - t1) / 1e6;
            if (damaged[0]) {
                rc = checkpoint_error(125, damaged);
                goto out;
            }
        }
        if (fstat(fd, &st) != 0 || rename(tmp, output) != 0) {
            snprintf(err.msg, sizeof(err.msg), "renaming %s to %s: %s", tmp, output,
                     strerror(errno));
            rc = checkpoint_error(125, err.msg);
            goto out;
        }
        fb_fsync_parent_dir(output);
        free(tmp);
        tmp = NULL;
        /* Its memory decompressed for the restores to come (api/mem_cache.h): named after the
         * file as it is now, renamed. */
        if (fb_mem_cache_put(fd, &err) < 0)
            fb_dbg("%s (the restores read the image)", err.msg);
        if (json) {
            printf("{\"image\":");
            fb_meta_json_string(stdout, output);
            printf(",\"size_bytes\":%llu,\"checkpoint_ms\":%.1f,\"save_ms\":%.1f,"
                   "\"train_ms\":%.1f,\"template\":",
                   (unsigned long long)st.st_size, ms, status / 1000.0, train_ms);
            if (tname)
                fb_meta_json_string(stdout, tname);
            else
                printf("null");
            printf("}\n");
        } else {
            fprintf(stderr, "fnbox: checkpoint written to %s (%s, %.1f ms, of which saving %.1f ms)"
                            "%s\n",
                    output, fb_meta_human_size((uint64_t)st.st_size, buf, sizeof(buf)), ms,
                    status / 1000.0, train_ms ? "; then a training run" : "");
        }
        rc = 0;
        break;
    }
    case FB_SANDBOX_EXITED:
        if (WIFEXITED(status))
            snprintf(err.msg, sizeof(err.msg),
                     "the program exited with status %d before its ready point (it never waited "
                     "for input on stdin)%s",
                     WEXITSTATUS(status), tname ? "; its error output is above" : "");
        else
            snprintf(err.msg, sizeof(err.msg),
                     "the program was killed by signal %d (%s) before its ready point",
                     WTERMSIG(status), strsignal(WTERMSIG(status)));
        rc = checkpoint_error(1, err.msg);
        break;
    case FB_SANDBOX_NOT_READY:
    case FB_SANDBOX_TIMED_OUT: {
        const char *what = out == FB_SANDBOX_NOT_READY ? err.msg : "";
        char msg[sizeof(err.msg) + 128];
        snprintf(msg, sizeof(msg),
                 "the program did not reach its ready point (a wait for input on stdin) within "
                 "%lu ms (--init-timeout)%s%s",
                 (unsigned long)cfg.kernel.ready_timeout_ms, what[0] ? "; " : "", what);
        rc = checkpoint_error(124, msg);
        break;
    }
    case FB_SANDBOX_START_FAILED:
        rc = checkpoint_error(fb_sandbox_start_failed_status(status), err.msg);
        break;
    default:
        rc = checkpoint_error(125, err.msg);
        break;
    }
out:
    if (inpipe[0] >= 0)
        close(inpipe[0]);
    if (inpipe[1] >= 0)
        close(inpipe[1]);
    if (fd >= 0)
        close(fd);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    msgpack_sbuffer_destroy(&mb);
    fb_meta_free_fingerprint(&meta);
    free(code_abs);
    return rc;
}

/* ---- fnbox restore ---------------------------------------------------------------------------- */

static const char restore_usage[] =
    "Usage: fnbox restore [OPTIONS] IMAGE\n"
    "\n"
    "Start a sandbox from IMAGE (made by fnbox checkpoint) where it was saved: waiting for its\n"
    "request on standard input. Standard input, output and error are the caller's: the request\n"
    "is read from stdin (or --input FILE), the response is what the program writes to stdout,\n"
    "stderr is its log. Monotonic time continues from the image; wall-clock time is the host's;\n"
    "every restored copy gets fresh randomness. The same image can be restored any number of\n"
    "times, also concurrently: each copy is an independent sandbox.\n"
    "\n"
    "Options:\n"
    "  --input FILE          read the request from FILE instead of stdin\n"
    "  --timeout DURATION    kill the sandbox after DURATION (e.g. 3s)\n"
    "  --memory SIZE         memory limit (default: the one given to checkpoint, if any); an\n"
    "                        image holding more memory than that is refused (status 125)\n"
    "  --pids N              limit the number of tasks (threads and processes) to N, 1-100000\n"
    "                        (default 1024, as AWS Lambda's): fork and clone fail with EAGAIN\n"
    "                        beyond it; an image with more tasks is refused (status 125)\n"
    "  --root DIR            serve DIR (read-only) as the sandbox's root instead of the one the\n"
    "                        image names (its checkpoint's --root, else the default view of the\n"
    "                        host's system directories). The files the program had open or\n"
    "                        mapped are found again by path and must be the same size and age\n"
    "                        there (else: the image is stale, status 125)\n"
    "  --mount SRC:DST[:ro|:rw]  serve an additional host directory (the image's own root and\n"
    "                        mounts are served too, unless --no-image-mounts)\n"
    "  --no-image-mounts     do not serve the host directories the image names (its --root and\n"
    "                        --mount, e.g. the code directory): only the default view and the\n"
    "                        --mount options given here. Use it for images you did not make:\n"
    "                        an image can name any host path, read-write\n"
    "  --ready-fd N          write \"ready PID\\n\" to fd N once the sandbox is restored and\n"
    "                        waiting for its request (PID: its Gofer's, whose view a warm pool\n"
    "                        may give to later restores with --view-fd; the host page tables\n"
    "                        are then filled too, so that nothing is left on the request's\n"
    "                        path), and \"exit STATUS image_pages N\\n\" as soon as the program\n"
    "                        has exited: its output is complete then, before the sandbox is\n"
    "                        torn down (N: memory pages it touched that the restore had left in\n"
    "                        the image, read in on need: outside the training run's working\n"
    "                        set)\n"
    "  --netns-fd N          join the network namespace open on fd N instead of making one\n"
    "                        (for warm pools: one empty namespace, made once, for every\n"
    "                        sandbox; making one costs about a millisecond of CPU). Refused if\n"
    "                        it is not a network namespace or is this process's own\n"
    "  --ipcns-fd N          the Sentry and the Gofer join the IPC namespace open on fd N\n"
    "                        instead of each making one (for warm pools: one empty namespace\n"
    "                        for every sandbox; neither process may make an IPC object).\n"
    "                        Refused if it is not an IPC namespace or is this process's own\n"
    "  --empty-root-fd N     the Sentry joins the mount namespace open on fd N, whose root\n"
    "                        must be an empty read-only directory (checked), instead of making\n"
    "                        its own (for warm pools: one made once serves every sandbox)\n"
    "  --view-fd N           the Gofer joins the mount namespace open on fd N: the view that\n"
    "                        another Gofer of this image built (for warm pools; its root must\n"
    "                        be a read-only tmpfs, checked) instead of building one\n"
    "  --hot-fd N            fd N holds the image's memory decompressed (its hot pages first),\n"
    "                        in a memory file sealed against change (fnbox serve makes one per\n"
    "                        image for its warm pools) or a read-only file nobody may write,\n"
    "                        with one link (the memory cache's, below): pages are copied from\n"
    "                        it, up front and on later faults, instead of being read and\n"
    "                        decompressed from the image by every restore. Its maker has read\n"
    "                        and checked the whole image: the restore checks the memory\n"
    "                        chunks' headers, and each chunk's checksum when it reads one, but\n"
    "                        not the whole section's up front\n"
    "  --memory-fd N         the sandbox's memory goes into the file open on fd N (read and\n"
    "                        write; tmpfs or a memfd, unsealed) instead of a new one. What it\n"
    "                        holds is cleared before any of it is used: everything from the\n"
    "                        --hot-fd file's size on (all of it without --hot-fd) is punched\n"
    "                        out, and below that every page that the image does not fill;\n"
    "                        the pages it fills keep their places and are written whole when\n"
    "                        loaded. fnbox serve gives a warm restore the memory file of an\n"
    "                        earlier sandbox of the same image once every process of that\n"
    "                        sandbox is gone: its working set then goes into pages the host\n"
    "                        has allocated already, instead of fresh ones\n"
    "  --lazy                do not load and map the memory the program had touched before it\n"
    "                        runs (the default, also --prefault), but fault it back in as it is\n"
    "                        touched: less work up front for a big image of which a request\n"
    "                        touches little, more for the usual small function\n"
    "  -v, --verbose         more logging on stderr (-vv: timings)\n"
    "  -h, --help            show this help\n"
    "\n"
    "Exit status: the program's, or 128+N if signal N killed it; 124 on --timeout; 125 if the\n"
    "image cannot be restored (corrupt, wrong version or architecture, stale code: the message\n"
    "says which) or the sandbox failed; 2 for bad options.\n"
    "\n"
    "Namespaces kept between restores (and runs): a restore joins the empty network and IPC\n"
    "namespaces, the Sentry's empty root and the Gofer's view (the host files it serves)\n"
    "that an earlier one made and bind-mounted under /run/fnbox/ns, instead of making its\n"
    "own: up to 1 ms sooner and about 2.5 ms less CPU. A view is joined for a minute at most\n"
    "and only if every host file and directory it binds is still the same one (a replaced\n"
    "file is another inode); expired entries are unmounted by the next restore. Not with\n"
    "--ready-fd (a warm pool holds its own).\n"
    "  FNBOX_NS_CACHE=0          make all of them afresh, keep nothing\n"
    "  FNBOX_NS_CACHE_DIR=DIR    keep them in DIR instead (made if missing; only for a directory\n"
    "                            of this user's that group and others cannot open)\n"
    "Remove them all with: umount -R /run/fnbox/ns\n"
    "\n"
    "Image memory kept between restores: fnbox checkpoint, or the first restore of an image\n"
    "that has none (after its answer), keeps the image's memory decompressed in a file under\n"
    "/run/fnbox/mem (a tmpfs of its own where /run is not one), named after the image file's\n"
    "device, inode, size and times: later restores copy their pages from it instead of\n"
    "checking and decompressing the image's memory, about 2 ms sooner and 2.5 ms less CPU for\n"
    "a python function. An image file changed in any way has another name; an entry is used\n"
    "only if it is a read-only file of this user's with one link. Entries unused for an hour,\n"
    "and the least recently used beyond the bound, are removed when another one is made.\n"
    "Not with --ready-fd or --hot-fd (the caller gives its own) nor --lazy.\n"
    "  FNBOX_MEM_CACHE=0         read the image's memory every time, keep nothing\n"
    "  FNBOX_MEM_CACHE_DIR=DIR   keep it in DIR instead (as FNBOX_NS_CACHE_DIR)\n"
    "  FNBOX_MEM_CACHE_MB=N      keep at most N MiB in all (default 256)\n"
    "Remove them all with: rm -f /run/fnbox/mem/v1-*\n"
    "\n"
    "Memory files handed on: a restore that uses such an entry runs its sandbox on a memory file\n"
    "under /run/fnbox/spare (a tmpfs of its own), an earlier restore's of the same image if one\n"
    "is there: its working set then goes into pages the host has allocated already. Once the\n"
    "sandbox and every process of it are gone, everything in the file beyond the image's\n"
    "memory is punched out and it is left for the next restore of the image (4 at most per\n"
    "image); the next Sentry clears or overwrites every page it uses before the program sees\n"
    "it. Files unused for a minute are removed by the next restore that leaves one.\n"
    "  FNBOX_MEM_SPARE=0         a memory file of the sandbox's own every time\n"
    "  FNBOX_MEM_SPARE_DIR=DIR   keep them in DIR instead (a tmpfs that allows exec, as\n"
    "                            FNBOX_NS_CACHE_DIR otherwise)\n"
    "Remove them all with: rm -f /run/fnbox/spare/s-*\n";

static int restore_error(int rc, const char *msg)
{
    fprintf(stderr, "fnbox restore: %s\n", msg);
    return rc;
}

/* An option naming an open fd of the caller (3 or above), checked by check if given. */
static int fd_option(const char *arg, const char *name, int (*check)(int, struct fb_error *),
                     int *out, struct fb_error *err)
{
    uint64_t v;
    if (fb_cli_parse_u64(arg, &v) < 0 || v < 3 || v > 65535 || fcntl((int)v, F_GETFD) < 0)
        return fb_error_set(err, EINVAL, "%s: expected an open fd >= 3", name);
    if (check && check((int)v, err) < 0)
        return -1;
    *out = (int)v;
    return 0;
}

/* What fnbox serve hands its warm restores (fb_memfile_hot_make, a memory file of its own); the
 * Sentry checks them again. */
static int check_memory_fd(int fd, struct fb_error *err)
{
    if (fb_memfile_given_check(fd, err) < 0)
        return fb_error_prefix(err, "--memory-fd");
    return 0;
}

static int check_hot_fd(int fd, struct fb_error *err)
{
    uint64_t pages;

    if (fb_memfile_hot_check(fd, &pages, err) < 0)
        return fb_error_prefix(err, "--hot-fd");
    return 0;
}

int fb_cmd_restore(int argc, char **argv)
{
    static const struct option opts[] = {
        {"input", required_argument, NULL, 'i'},
        {"timeout", required_argument, NULL, 'T'},
        {"memory", required_argument, NULL, 'M'},
        {"pids", required_argument, NULL, 'P'},
        {"mount", required_argument, NULL, 'm'},
        {"root", required_argument, NULL, 'r'},
        {"ready-fd", required_argument, NULL, 'R'},
        {"netns-fd", required_argument, NULL, 'E'},
        {"empty-root-fd", required_argument, NULL, 'O'},
        {"view-fd", required_argument, NULL, 'V'},
        {"hot-fd", required_argument, NULL, 'H'},
        {"memory-fd", required_argument, NULL, 'Y'},
        {"ipcns-fd", required_argument, NULL, 'I'},
        {"prefault", no_argument, NULL, 'F'},
        {"lazy", no_argument, NULL, 'L'},
        {"no-image-mounts", no_argument, NULL, 'N'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct fb_sandbox_config cfg;
    struct fb_gofer_mount mounts[128];
    const char *rw_mounts[128];
    struct fb_image_meta meta;
    struct fb_image_reader *img = NULL;
    struct fb_error err = {0};
    struct fb_sandbox sb;
    enum fb_sandbox_outcome out;
    const char *input = NULL, *path, *root = NULL;
    void *mdata = NULL;
    size_t mlen = 0, i;
    struct fb_ns_cache_use cache = FB_NS_CACHE_USE_INIT;
    int c, status = 0, nextra = 0, in_fd = -1, img_fd = -1, cached_hot = -1, rc;
    uint64_t v, memory = 0;
    struct fb_gofer_mount extra[64];
    bool no_image_mounts = false, lazy = false, keep_mem = false;
    struct fb_mem_spare spare = {.fd = -1, .dir = -1};

    memset(&cfg, 0, sizeof(cfg));
    memset(&meta, 0, sizeof(meta));
    cfg.t0_ns = fb_host_mono_ns();
    cfg.ready_fd = -1;
    /* Memory the program had touched comes back before it runs: one pass over the memory file
     * and a few platform round trips beat a Sentry fault (two host context switches and a
     * window of work) per first touch. */
    cfg.kernel.prefault = true;
    cfg.kernel.platform = "ptrace";
    cfg.kernel.pids_limit = FB_RESTORE_DEFAULT_PIDS;
    cfg.gofer.donate_fds = true;
    optind = 1;
    argv[0] = "fnbox restore";
    while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            input = optarg;
            break;
        case 'T':
            if (fb_cli_parse_duration_us(optarg, &v) < 0 || v < 1000)
                return fb_cli_usage_error(restore_usage, "--timeout: expected a duration like 3s");
            cfg.timeout_ms = v / 1000;
            break;
        case 'M':
            if (fb_cli_parse_size(optarg, &memory) < 0 || memory < (1 << 20))
                return fb_cli_usage_error(restore_usage, "--memory: expected a size like 256M");
            break;
        case 'P':
            if (fb_cli_parse_pids(optarg, &cfg.kernel.pids_limit) < 0)
                return fb_cli_usage_error(restore_usage, FB_CLI_PIDS_ERROR);
            break;
        case 'r':
            root = optarg;
            break;
        case 'm':
            if (nextra == (int)FB_CLI_ARRAY_SIZE(extra))
                return fb_cli_usage_error(restore_usage, "too many --mount options");
            if (fb_cli_parse_mount(optarg, &extra[nextra], &err) < 0)
                return fb_cli_usage_error(restore_usage, err.msg);
            nextra++;
            break;
        case 'R':
            if (fd_option(optarg, "--ready-fd", NULL, &cfg.ready_fd, &err) < 0)
                return fb_cli_usage_error(restore_usage, err.msg);
            cfg.kernel.prefault = true;
            cfg.kernel.populate = true;
            break;
        case 'E':
            if (fd_option(optarg, "--netns-fd", fb_sandbox_check_netns, &cfg.netns_fd, &err) < 0)
                return fb_cli_usage_error(restore_usage, err.msg);
            break;
        case 'V':
            if (fd_option(optarg, "--view-fd", fb_sandbox_check_mntns, &cfg.view_fd, &err) < 0)
                return fb_cli_usage_error(restore_usage, err.msg);
            break;
        case 'H':
            if (fd_option(optarg, "--hot-fd", check_hot_fd, &cfg.kernel.hot_fd, &err) < 0)
                return fb_cli_usage_error(restore_usage, err.msg);
            break;
        case 'Y':
            if (fd_option(optarg, "--memory-fd", check_memory_fd, &cfg.kernel.memory_fd, &err) < 0)
                return fb_cli_usage_error(restore_usage, err.msg);
            break;
        case 'I':
            if (fd_option(optarg, "--ipcns-fd", fb_sandbox_check_ipcns, &cfg.ipcns_fd, &err) < 0)
                return fb_cli_usage_error(restore_usage, err.msg);
            break;
        case 'O':
            if (fd_option(optarg, "--empty-root-fd", fb_sandbox_check_mntns, &cfg.root_ns_fd,
                          &err) < 0)
                return fb_cli_usage_error(restore_usage, err.msg);
            break;
        case 'F':
            cfg.kernel.prefault = true;
            break;
        case 'L':
            cfg.kernel.prefault = false;
            lazy = true;
            break;
        case 'N':
            no_image_mounts = true;
            break;
        case 'v':
            fb_log_verbosity++;
            break;
        case 'h':
            fputs(restore_usage, stdout);
            return 0;
        default:
            return fb_cli_usage_error(restore_usage, NULL);
        }
    }
    if (optind != argc - 1)
        return fb_cli_usage_error(restore_usage, optind >= argc ? "missing IMAGE" : "one IMAGE only");
    if (lazy && cfg.ready_fd >= 0)
        return fb_cli_usage_error(restore_usage, "--lazy and --ready-fd do not go together: a "
                                                 "warm sandbox has its memory loaded");
    path = argv[optind];
    if (fb_image_open(path, &img, &err) < 0)
        return restore_error(125, err.msg);
    if (fb_image_read_raw(img, "meta", &mdata, &mlen, &err) < 0) {
        fb_image_close(img);
        return restore_error(125, err.msg);
    }
    if (fb_meta_unpack(mdata, mlen, &meta, &err) < 0) {
        rc = restore_error(125, err.msg);
        goto out;
    }
    if (no_image_mounts) {
        /* Only what the caller serves: the image's own host paths are not trusted. The
         * fingerprint of a code directory the caller does not serve means nothing either. */
        for (i = 0; i < meta.nmounts; i++) {
            free((char *)meta.mounts[i].src);
            free((char *)meta.mounts[i].dst);
        }
        meta.nmounts = 0;
        free((char *)meta.root);
        meta.root = NULL;
    } else if (meta.code && fb_meta_check_fingerprint(&meta, &err) < 0) {
        rc = restore_error(125, err.msg);
        goto out;
    }
    /* The image's view, plus the caller's extra mounts. */
    if (meta.nmounts + (size_t)nextra > FB_CLI_ARRAY_SIZE(mounts)) {
        rc = restore_error(2, "too many mounts");
        goto out;
    }
    for (i = 0; i < meta.nmounts; i++)
        mounts[i] = meta.mounts[i];
    for (i = 0; i < (size_t)nextra; i++)
        mounts[meta.nmounts + i] = extra[i];
    cfg.gofer.root = root ? root : meta.root;
    cfg.gofer.mounts = mounts;
    cfg.gofer.nmounts = meta.nmounts + (size_t)nextra;
    for (i = 0; i < cfg.gofer.nmounts; i++) /* the same writable mounts as at the checkpoint */
        if (!mounts[i].ro)
            rw_mounts[cfg.kernel.nrw_mounts++] = mounts[i].dst;
    cfg.kernel.rw_mounts = rw_mounts;
    cfg.kernel.memory_limit = memory ? memory : meta.memory_limit;
    cfg.kernel.restore = true;
    img_fd = fcntl(fb_image_fd(img), F_DUPFD_CLOEXEC, 3);
    if (img_fd < 0) {
        rc = restore_error(125, strerror(errno));
        goto out;
    }
    cfg.kernel.image_fd = img_fd;
    /* The image's memory decompressed by its checkpoint or an earlier restore, unless the
     * caller gives its own (a warm pool's owner) or the restore is lazy (reads it all anyway),
     * for an image whose hot pages come first (the others gain nothing). */
    if (cfg.kernel.hot_fd <= 2 && cfg.ready_fd < 0 && !lazy && fb_image_section(img, "pagemap") &&
        fb_mem_cache_on()) {
        int hot = fb_mem_cache_get(img_fd);
        if (hot >= 0 && hot <= 2) { /* (stdio closed by the caller) */
            int moved = fcntl(hot, F_DUPFD_CLOEXEC, 3);
            close(hot);
            hot = moved;
        }
        if (hot > 2)
            cfg.kernel.hot_fd = cached_hot = hot;
        else
            keep_mem = true;
    }
    /* Its memory file too, unless the caller gives one: an earlier restore's of this image,
     * whose pages the working set goes into (api/mem_cache.h). */
    if (cached_hot > 2 && cfg.kernel.memory_fd <= 2 && fb_mem_cache_spare_take(img_fd, &spare) >= 0) {
        if (spare.fd > 2)
            cfg.kernel.memory_fd = spare.fd;
        else /* (stdio closed by the caller) */
            fb_mem_cache_spare_drop(&spare);
    }
    if (input) {
        in_fd = open(input, O_RDONLY | O_CLOEXEC);
        if (in_fd < 0) {
            snprintf(err.msg, sizeof(err.msg), "--input %s: %s", input, strerror(errno));
            rc = restore_error(2, err.msg);
            goto out;
        }
    }
    cfg.stdio[0] = in_fd >= 0 ? in_fd : 0;
    cfg.stdio[1] = 1;
    cfg.stdio[2] = 2;
    if (fb_ns_cache_sandbox_start(&cache, &cfg, &sb, &err) < 0) {
        rc = restore_error(125, err.msg);
        goto out;
    }
    fb_sandbox_forward_signals(&sb);
    out = fb_sandbox_wait(&sb, &cfg, &status, &err);
    fb_sandbox_forward_signals(NULL);
    if (sb.restored_ns)
        fb_info("restored in %.1f ms%s", (sb.restored_ns - cfg.t0_ns) / 1e6,
                cached_hot >= 0 ? " (the image's memory from the memory cache)"
                : keep_mem      ? " (the image's memory read from the image: no memory cache "
                                  "entry for it yet)"
                                : "");
    /* The Sentry is reaped, every stub with it (its pid namespace's end): nothing else holds
     * the memory file, which goes to the next restore of the image, all beyond the hot pages
     * punched out. */
    if (spare.fd >= 0 && out == FB_SANDBOX_EXITED && sb.restored_ns) {
        struct stat hot;
        if (fstat(cached_hot, &hot) == 0)
            fb_mem_cache_spare_put(&spare, (uint64_t)hot.st_size);
        fb_dbg("+%.1f ms: memory file handed on", (fb_host_mono_ns() - cfg.t0_ns) / 1e6);
    }
    /* No memory cache entry for the image: make one for the next restores, now that the
     * answer is out (once per image: ~10 ms for the python example's 6 MiB). */
    if (keep_mem && sb.restored_ns) {
        struct fb_error e = {0};
        if (fb_mem_cache_put(img_fd, &e) < 0)
            fb_dbg("%s (the restores read the image)", e.msg);
    }
    switch (out) {
    case FB_SANDBOX_EXITED:
        rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
    case FB_SANDBOX_TIMED_OUT:
        rc = restore_error(124, err.msg);
        break;
    case FB_SANDBOX_OOM_KILLED:
        rc = restore_error(137, err.msg);
        break;
    default:
        rc = restore_error(125, err.msg);
        break;
    }
out:
    fb_ns_cache_release(&cache);
    fb_mem_cache_spare_drop(&spare);
    if (cached_hot >= 0)
        close(cached_hot);
    if (in_fd >= 0)
        close(in_fd);
    if (img_fd >= 0)
        close(img_fd);
    fb_image_close(img);
    fb_meta_free(&meta);
    free(mdata);
    return rc;
}

/* ---- fnbox inspect ---------------------------------------------------------------------------- */

static const char inspect_usage[] =
    "Usage: fnbox inspect [--json] [--verify] IMAGE\n"
    "\n"
    "Check IMAGE's header and section table (magic, version, architecture, CPU features,\n"
    "checksums) and show what it holds: sections and sizes, the template, handler and program\n"
    "it was made from, its mounts, when it was created, and whether its code has changed since.\n"
    "With --verify every section is read and its checksum and memory chunks checked, and the\n"
    "kernel state's encoding and version and the tables describing the memory (page references,\n"
    "hot pages' order, working set) are checked as a restore checks them before it loads\n"
    "anything. Objects of the kernel state are checked only by a restore.\n"
    "\n"
    "Options:\n"
    "  --json                the same as one JSON object on stdout\n"
    "  --verify              read and check every section (above)\n"
    "  -h, --help            show this help\n"
    "\n"
    "Exit status: 0 if the image is valid (and, with --verify, intact); 1 if it is not (the\n"
    "message says why: truncated, corrupt, wrong version, wrong architecture); 2 for bad usage.\n";

int fb_cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"verify", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct fb_image_reader *img;
    struct fb_image_meta meta;
    struct fb_error err = {0};
    void *mdata = NULL;
    size_t mlen = 0;
    bool json = false, verify = false, have_meta = false, stale = false;
    int c, rc = 0;
    char stale_msg[512] = "";

    optind = 1;
    argv[0] = "fnbox inspect";
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = true;
            break;
        case 'V':
            verify = true;
            break;
        case 'h':
            fputs(inspect_usage, stdout);
            return 0;
        default:
            return fb_cli_usage_error(inspect_usage, NULL);
        }
    }
    if (optind != argc - 1)
        return fb_cli_usage_error(inspect_usage, "expected one IMAGE");
    memset(&meta, 0, sizeof(meta));
    if (fb_image_open(argv[optind], &img, &err) < 0) {
        fprintf(stderr, "fnbox inspect: %s\n", err.msg);
        return 1;
    }
    if (verify && (fb_image_verify(img, &err) < 0 || fb_snapshot_check_image(img, &err) < 0)) {
        fprintf(stderr, "fnbox inspect: %s\n", err.msg);
        fb_image_close(img);
        return 1;
    }
    if (fb_image_section(img, "meta")) {
        if (fb_image_read_raw(img, "meta", &mdata, &mlen, &err) < 0 ||
            fb_meta_unpack(mdata, mlen, &meta, &err) < 0) {
            fprintf(stderr, "fnbox inspect: %s\n", err.msg);
            fb_image_close(img);
            free(mdata);
            return 1;
        }
        have_meta = true;
        if (meta.code && fb_meta_check_fingerprint(&meta, &err) < 0) {
            stale = true;
            snprintf(stale_msg, sizeof(stale_msg), "%s", err.msg);
        }
    }
    fb_meta_print(stdout, img, have_meta ? &meta : NULL, stale ? stale_msg : NULL, json);
    fb_image_close(img);
    fb_meta_free(&meta);
    free(mdata);
    return rc;
}
