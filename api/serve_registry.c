/* `fnbox serve` function registry: registration builds an image with `fnbox checkpoint`, the
 * registry lives in STATE/registry.json (crash-safe writes) and is reloaded at start. */
#include "api/cli.h"
#include "api/image_meta.h"
#include "api/sandbox.h"
#include "api/serve_server.h"

#include <errno.h>
#include <json-c/json.h>
#include <dirent.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kernel/mm/mm_save.h"
#include "kernel/util/log.h"

/* ---- references (caller holds s->lock) ----------------------------------------------------------
 */

struct fb_function *fb_fn_find(struct fb_server *s, const char *name)
{
    struct fb_function *fn;
    for (fn = s->fns; fn; fn = fn->next)
        if (!fn->deleted && !fn->building && !strcmp(fn->cfg.name, name))
            return fn;
    return NULL;
}

static void fn_unlink(struct fb_server *s, struct fb_function *fn)
{
    struct fb_function **pp;
    for (pp = &s->fns; *pp; pp = &(*pp)->next)
        if (*pp == fn) {
            *pp = fn->next;
            return;
        }
}

void fb_fn_put(struct fb_server *s, struct fb_function *fn)
{
    if (--fn->refs > 0)
        return;
    fn_unlink(s, fn);
    if (fn->image)
        fb_image_put(s, fn->image);
    pthread_cond_destroy(&fn->cond);
    fb_fn_config_free(&fn->cfg);
    free(fn);
}

/* A new image record: one reference, no view yet. */
static struct fb_image *image_new(void)
{
    struct fb_image *img = calloc(1, sizeof(*img));
    if (img) {
        img->refs = 1;
        img->view_fd = -1;
        img->hot_fd = -1;
    }
    return img;
}

/* The image's memory decompressed once for all its restores (fb_memfile_hot_make), when the
 * image is made or reloaded, before any sandbox uses it and outside the server's lock (its
 * cost grows with the image). Without it, restores decompress their own. */
static void image_hot(struct fb_image *img)
{
    struct fb_error err = {0};
    uint64_t pages;

    if (fb_memfile_hot_make(img->path, FB_HOT_FILE_MAX_PAGES, &img->hot_fd, &pages, &err) < 0) {
        fb_warn("%s: memory not shared (%s): each restore decompresses its own", img->path,
                err.msg);
    } else if (img->hot_fd >= 0) {
        img->hot_bytes = pages << FB_PAGE_SHIFT; /* the file's size */
        fb_dbg("%s: %lu memory pages decompressed once for every restore", img->path,
               (unsigned long)pages);
    }
}

void fb_image_put(struct fb_server *s, struct fb_image *img)
{
    if (!img || --img->refs > 0)
        return;
    if (!img->keep && !s->stopping) {
        unlink(img->path);
        fb_serve_remove_tree(img->code_dir);
    }
    if (img->view_fd >= 0)
        close(img->view_fd);
    if (img->hot_fd >= 0)
        close(img->hot_fd);
    fb_pool_mem_drop_image(s, img->gen);
    free(img->path);
    free(img->code_dir);
    free(img);
}

const struct fb_serve_options *fb_server_options(struct fb_server *s)
{
    return &s->o;
}

const char *fb_server_tmp_dir(struct fb_server *s)
{
    return s->tmp_dir;
}

bool fb_server_draining(struct fb_server *s)
{
    bool d;
    pthread_mutex_lock(&s->lock);
    d = s->draining;
    pthread_mutex_unlock(&s->lock);
    return d;
}

bool fb_server_has(struct fb_server *s, const char *name)
{
    bool h;
    pthread_mutex_lock(&s->lock);
    h = fb_fn_find(s, name) != NULL;
    pthread_mutex_unlock(&s->lock);
    return h;
}

/* ---- descriptions -------------------------------------------------------------------------------
 */

static struct json_object *env_json(const struct fb_fn_config *c)
{
    struct json_object *e = json_object_new_object();
    int i;
    for (i = 0; i < c->nenv; i++) {
        const char *eq = strchr(c->env[i], '=');
        char key[130];
        size_t kl = (size_t)(eq - c->env[i]);
        if (!eq || kl >= sizeof(key))
            continue;
        memcpy(key, c->env[i], kl);
        key[kl] = 0;
        json_object_object_add(e, key, json_object_new_string(eq + 1));
    }
    return e;
}

static void iso_time(int64_t t, char *buf, size_t size)
{
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%S.000+0000", &tm);
}

static struct json_object *pool_obj(const struct fb_function *fn)
{
    struct json_object *p = json_object_new_object();
    json_object_object_add(p, "min", json_object_new_int(fn->cfg.pool_min));
    json_object_object_add(p, "max", json_object_new_int(fn->cfg.pool_max));
    json_object_object_add(p, "idle", json_object_new_int(fn->n_idle));
    json_object_object_add(p, "starting", json_object_new_int(fn->n_starting));
    json_object_object_add(p, "busy", json_object_new_int(fn->n_busy));
    json_object_object_add(p, "waiting", json_object_new_int(fn->n_waiting));
    if (fn->pool_error[0])
        json_object_object_add(p, "last_error", json_object_new_string(fn->pool_error));
    return p;
}

/* Native description; `persist` adds the fields the registry file needs and drops live ones. */
static struct json_object *fn_json(const struct fb_function *fn, bool persist)
{
    struct json_object *o = json_object_new_object(), *img = json_object_new_object();
    const struct fb_fn_config *c = &fn->cfg;
    char t[40];

    json_object_object_add(o, "name", json_object_new_string(c->name));
    json_object_object_add(o, "template", json_object_new_string(c->template_));
    if (c->handler)
        json_object_object_add(o, "handler", json_object_new_string(c->handler));
    if (c->code)
        json_object_object_add(o, "code", json_object_new_string(c->code));
    if (c->runtime)
        json_object_object_add(o, "runtime", json_object_new_string(c->runtime));
    if (c->role)
        json_object_object_add(o, "role", json_object_new_string(c->role));
    json_object_object_add(o, "env", env_json(c));
    json_object_object_add(o, "memory_mb", json_object_new_int64(c->memory_mb));
    json_object_object_add(o, "timeout_ms", json_object_new_int64(c->timeout_ms));
    if (c->train_events) { /* made by json-c from a parsed array: it parses */
        struct json_object *a = json_tokener_parse(c->train_events);
        if (a && json_object_array_length(a) == 1) /* as given: one event */
            json_object_object_add(o, "train_event",
                                   json_object_get(json_object_array_get_idx(a, 0)));
        else if (a)
            json_object_object_add(o, "train_events", json_object_get(a));
        json_object_put(a);
    }
    if (persist) {
        struct json_object *p = json_object_new_object();
        json_object_object_add(p, "min", json_object_new_int(c->pool_min));
        json_object_object_add(p, "max", json_object_new_int(c->pool_max));
        json_object_object_add(o, "pool", p);
        json_object_object_add(o, "created", json_object_new_int64(fn->created_s));
        json_object_object_add(o, "updated", json_object_new_int64(fn->updated_s));
    } else {
        json_object_object_add(o, "pool", pool_obj(fn));
        iso_time(fn->created_s, t, sizeof(t));
        json_object_object_add(o, "created", json_object_new_string(t));
        iso_time(fn->updated_s, t, sizeof(t));
        json_object_object_add(o, "updated", json_object_new_string(t));
    }
    json_object_object_add(img, "path", json_object_new_string(fn->image->path));
    if (fn->image->code_dir && persist)
        json_object_object_add(img, "code_dir", json_object_new_string(fn->image->code_dir));
    json_object_object_add(img, "size_bytes", json_object_new_int64((int64_t)fn->image->size));
    {
        /* One decimal, as written: json-c would print the double's 17 digits (63.399999...). */
        char ms[32];
        snprintf(ms, sizeof(ms), "%.1f", fn->image->checkpoint_ms);
        json_object_object_add(img, "checkpoint_ms",
                               json_object_new_double_s(fn->image->checkpoint_ms, ms));
    }
    json_object_object_add(img, "generation", json_object_new_int64(fn->image->gen));
    json_object_object_add(o, "image", img);
    return o;
}

static struct json_object *lambda_json(const struct fb_function *fn)
{
    struct json_object *o = json_object_new_object(), *env = json_object_new_object();
    const struct fb_fn_config *c = &fn->cfg;
    char arn[160], t[40];

    snprintf(arn, sizeof(arn), "arn:aws:lambda:us-east-1:000000000000:function:%s", c->name);
    iso_time(fn->updated_s, t, sizeof(t));
    json_object_object_add(o, "FunctionName", json_object_new_string(c->name));
    json_object_object_add(o, "FunctionArn", json_object_new_string(arn));
    json_object_object_add(o, "Runtime",
                           json_object_new_string(c->runtime                        ? c->runtime
                                                  : !strcmp(c->template_, "python") ? "python3"
                                                                                    : "provided"));
    json_object_object_add(
        o, "Role",
        json_object_new_string(c->role ? c->role : "arn:aws:iam::000000000000:role/fnbox"));
    json_object_object_add(o, "Handler", json_object_new_string(c->handler ? c->handler : ""));
    json_object_object_add(o, "CodeSize", json_object_new_int64((int64_t)fn->image->size));
    json_object_object_add(o, "Description", json_object_new_string(""));
    json_object_object_add(o, "Timeout", json_object_new_int64((c->timeout_ms + 999) / 1000));
    json_object_object_add(o, "MemorySize", json_object_new_int64(c->memory_mb));
    json_object_object_add(o, "LastModified", json_object_new_string(t));
    json_object_object_add(o, "Version", json_object_new_string("$LATEST"));
    json_object_object_add(env, "Variables", env_json(c));
    json_object_object_add(o, "Environment", env);
    json_object_object_add(o, "State", json_object_new_string("Active"));
    json_object_object_add(o, "LastUpdateStatus", json_object_new_string("Successful"));
    json_object_object_add(o, "PackageType", json_object_new_string("Zip"));
    json_object_object_add(o, "Architectures", json_object_new_array());
    json_object_array_add(json_object_object_get(o, "Architectures"),
                          json_object_new_string("x86_64"));
    return o;
}

static char *json_take(struct json_object *o)
{
    char *s = strdup(
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return s;
}

char *fb_server_describe(struct fb_server *s, const char *name, bool lambda)
{
    struct fb_function *fn;
    struct json_object *o = NULL;
    pthread_mutex_lock(&s->lock);
    fn = fb_fn_find(s, name);
    if (fn && lambda) {
        struct json_object *code = json_object_new_object();
        o = json_object_new_object();
        json_object_object_add(o, "Configuration", lambda_json(fn));
        json_object_object_add(code, "RepositoryType", json_object_new_string("fnbox"));
        json_object_object_add(code, "Location", json_object_new_string(fn->image->path));
        json_object_object_add(o, "Code", code);
    } else if (fn) {
        o = fn_json(fn, false);
    }
    pthread_mutex_unlock(&s->lock);
    return o ? json_take(o) : NULL;
}

char *fb_server_list(struct fb_server *s, bool lambda)
{
    struct json_object *o = json_object_new_object(), *a = json_object_new_array();
    struct fb_function *fn;
    pthread_mutex_lock(&s->lock);
    for (fn = s->fns; fn; fn = fn->next)
        if (!fn->deleted && !fn->building)
            json_object_array_add(a, lambda ? lambda_json(fn) : fn_json(fn, false));
    pthread_mutex_unlock(&s->lock);
    json_object_object_add(o, lambda ? "Functions" : "functions", a);
    return json_take(o);
}

char *fb_server_pool_json(struct fb_server *s, const char *name)
{
    struct fb_function *fn;
    struct json_object *o = NULL;
    pthread_mutex_lock(&s->lock);
    fn = fb_fn_find(s, name);
    if (fn)
        o = pool_obj(fn);
    pthread_mutex_unlock(&s->lock);
    return o ? json_take(o) : NULL;
}

/* ---- persistence --------------------------------------------------------------------------------
 */

int fb_registry_save(struct fb_server *s, struct fb_error *err)
{
    struct json_object *root = json_object_new_object(), *a = json_object_new_array();
    struct fb_function *fn;
    char *text;
    int r;

    pthread_mutex_lock(&s->save_lock);
    pthread_mutex_lock(&s->lock);
    for (fn = s->fns; fn; fn = fn->next)
        if (!fn->deleted && !fn->building && fn->image)
            json_object_array_add(a, fn_json(fn, true));
    pthread_mutex_unlock(&s->lock);
    json_object_object_add(root, "version", json_object_new_int(1));
    json_object_object_add(root, "functions", a);
    text = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                           JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(root);
    if (!text) {
        pthread_mutex_unlock(&s->save_lock);
        return fb_error_set(err, ENOMEM, "out of memory");
    }
    r = fb_serve_write_atomic(s->registry_path, text, strlen(text), err);
    free(text);
    pthread_mutex_unlock(&s->save_lock);
    return r;
}

static const char *jstr(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static int64_t jint(struct json_object *o, const char *key, int64_t def)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
        return def;
    return json_object_get_int64(v);
}

static struct fb_function *fn_new(void)
{
    struct fb_function *fn = calloc(1, sizeof(*fn));
    if (!fn)
        return NULL;
    fb_fn_config_init(&fn->cfg);
    pthread_cond_init(&fn->cond, NULL);
    fn->refs = 1; /* the registry's */
    return fn;
}

/* One registry entry back into a function; NULL (with a warning) when it is unusable. */
static struct fb_function *load_one(struct fb_server *s, struct json_object *e)
{
    struct fb_function *fn = fn_new();
    struct json_object *img, *v;
    struct fb_error err = {0};
    const char *str;
    struct stat st;

    if (!fn)
        return NULL;
    str = jstr(e, "name");
    snprintf(fn->cfg.name, sizeof(fn->cfg.name), "%s", str ? str : "");
    str = jstr(e, "template");
    snprintf(fn->cfg.template_, sizeof(fn->cfg.template_), "%s", str ? str : "");
    if ((str = jstr(e, "handler")))
        fn->cfg.handler = strdup(str);
    if ((str = jstr(e, "code")))
        fn->cfg.code = strdup(str);
    if ((str = jstr(e, "runtime")))
        fn->cfg.runtime = strdup(str);
    if ((str = jstr(e, "role")))
        fn->cfg.role = strdup(str);
    fn->cfg.memory_mb = (uint32_t)jint(e, "memory_mb", FB_SERVE_DEFAULT_MEMORY_MB);
    fn->cfg.timeout_ms = (uint32_t)jint(e, "timeout_ms", FB_SERVE_DEFAULT_TIMEOUT_MS);
    if (fb_serve_train_events(e, &fn->cfg.train_events, &err) < 0)
        goto bad;
    if (json_object_object_get_ex(e, "pool", &v)) {
        fn->cfg.pool_min = (int)jint(v, "min", 0);
        fn->cfg.pool_max = (int)jint(v, "max", FB_SERVE_DEFAULT_POOL_MAX);
    }
    if (json_object_object_get_ex(e, "env", &v) && json_object_is_type(v, json_type_object)) {
        json_object_object_foreach(v, k, val)
        {
            char *kv;
            if (fn->cfg.nenv == FB_SERVE_MAX_ENV || !json_object_is_type(val, json_type_string))
                break;
            if (asprintf(&kv, "%s=%s", k, json_object_get_string(val)) > 0)
                fn->cfg.env[fn->cfg.nenv++] = kv;
        }
    }
    fn->created_s = jint(e, "created", 0);
    fn->updated_s = jint(e, "updated", 0);
    if (fb_serve_config_check(&fn->cfg, &err) < 0)
        goto bad;
    if (!json_object_object_get_ex(e, "image", &img) || !(str = jstr(img, "path"))) {
        fb_error_set(&err, EINVAL, "no image");
        goto bad;
    }
    if (stat(str, &st) < 0) {
        fb_error_set(&err, errno, "image %s: %s", str, strerror(errno));
        goto bad;
    }
    fn->image = image_new();
    if (!fn->image)
        goto bad;
    fn->image->path = strdup(str);
    if ((str = jstr(img, "code_dir")))
        fn->image->code_dir = strdup(str);
    fn->image->size = (uint64_t)st.st_size;
    if (json_object_object_get_ex(img, "checkpoint_ms", &v))
        fn->image->checkpoint_ms = json_object_get_double(v);
    fn->image->gen = (unsigned)jint(img, "generation", 0);
    if (fn->image->gen >= s->next_gen)
        s->next_gen = fn->image->gen + 1;
    image_hot(fn->image);
    return fn;
bad:
    fb_warn("registry: skipping function '%s': %s", fn->cfg.name, err.msg);
    if (fn->image) {
        fn->image->keep = true;
        fb_image_put(s, fn->image);
        fn->image = NULL;
    }
    fn->refs = 1;
    fb_fn_put(s, fn);
    return NULL;
}

/* Files under images/ and code/ that no function names are leftovers of a crash mid-build. */
static void collect_garbage(struct fb_server *s, const char *dir, bool images)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    if (!d)
        return;
    while ((de = readdir(d))) {
        char path[PATH_MAX];
        struct fb_function *fn;
        bool used = false;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        for (fn = s->fns; fn && !used; fn = fn->next) {
            const char *p = images ? fn->image->path : fn->image->code_dir;
            used = p && !strcmp(p, path);
        }
        if (!used) {
            fb_info("registry: removing leftover %s", path);
            fb_serve_remove_tree(path);
        }
    }
    closedir(d);
}

static int load_registry(struct fb_server *s, struct fb_error *err)
{
    struct json_object *root, *a;
    size_t i, n;
    root = json_object_from_file(s->registry_path);
    if (!root) {
        if (access(s->registry_path, F_OK) == 0)
            return fb_error_set(err, EINVAL, "%s: not valid JSON: %s", s->registry_path,
                                json_util_get_last_err());
        return 0; /* first start */
    }
    if (!json_object_object_get_ex(root, "functions", &a) ||
        !json_object_is_type(a, json_type_array)) {
        json_object_put(root);
        return fb_error_set(err, EINVAL, "%s: no \"functions\" array", s->registry_path);
    }
    n = json_object_array_length(a);
    for (i = 0; i < n; i++) {
        struct fb_function *fn = load_one(s, json_object_array_get_idx(a, i));
        if (!fn)
            continue;
        if (fb_fn_find(s, fn->cfg.name)) {
            fb_warn("registry: duplicate function '%s' skipped", fn->cfg.name);
            fn->image->keep = true;
            fb_fn_put(s, fn);
            continue;
        }
        fn->next = s->fns;
        s->fns = fn;
    }
    json_object_put(root);
    return 0;
}

struct fb_server *fb_server_new(const struct fb_serve_options *o, struct fb_error *err)
{
    struct fb_server *s = calloc(1, sizeof(*s));
    char *state;
    if (!s)
        return fb_error_set(err, ENOMEM, "out of memory"), NULL;
    s->o = *o;
    s->wake_fd = -1;
    s->netns_fd = -1;
    s->ipcns_fd = -1;
    s->rootns_fd = -1;
    s->mem_mnt_fd = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->save_lock, NULL);
    pthread_cond_init(&s->inflight_cond, NULL);
    s->next_gen = 1;
    if (fb_cli_mkdir_p(o->state_dir, err) < 0)
        goto fail;
    state = realpath(o->state_dir, NULL);
    if (!state) {
        fb_error_set(err, errno, "%s: %s", o->state_dir, strerror(errno));
        goto fail;
    }
    snprintf(s->registry_path, sizeof(s->registry_path), "%s/registry.json", state);
    snprintf(s->images_dir, sizeof(s->images_dir), "%s/images", state);
    snprintf(s->code_dir, sizeof(s->code_dir), "%s/code", state);
    snprintf(s->tmp_dir, sizeof(s->tmp_dir), "%s/tmp", state);
    free(state);
    if (fb_cli_mkdir_p(s->images_dir, err) < 0 || fb_cli_mkdir_p(s->code_dir, err) < 0)
        goto fail;
    fb_serve_remove_tree(s->tmp_dir); /* uploads interrupted by a crash */
    if (fb_cli_mkdir_p(s->tmp_dir, err) < 0)
        goto fail;
    s->code_root_real = realpath(o->code_root, NULL);
    if (!s->code_root_real) {
        fb_error_set(err, errno, "--code-root %s: %s", o->code_root, strerror(errno));
        goto fail;
    }
    s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->wake_fd < 0) {
        fb_error_set(err, errno, "eventfd: %s", strerror(errno));
        goto fail;
    }
    {
        /* Sandboxes join this one instead of each making (and the host then destroying) its
         * own: about a millisecond of CPU per restore. Nothing in it, and nothing in a sandbox
         * can make a socket; it keeps them off the host's network as their own would. */
        struct fb_error e = {0};
        s->netns_fd = fb_sandbox_empty_netns(&e);
        if (s->netns_fd < 0)
            fb_info("sandboxes make their own network namespaces: %s", e.msg);
        /* And its IPC namespace: nothing in a sandbox may make an IPC object either (its
         * making and teardown per sandbox saved). */
        s->ipcns_fd = fb_sandbox_empty_ipcns(&e);
        if (s->ipcns_fd < 0)
            fb_info("sandboxes make their own IPC namespaces: %s", e.msg);
        /* The same for the Sentry's empty root (a mount namespace of its own, ~0.5 ms). */
        s->rootns_fd = fb_sandbox_empty_root_ns(&e);
        if (s->rootns_fd < 0)
            fb_info("Sentries make their own empty roots: %s", e.msg);
        /* Memory files handed from one sandbox to the next (serve_pool.c), on a tmpfs of the
         * server's own that gives them 2 MiB pages (memfds where the host refuses). */
        s->mem_reuse = !o->no_memory_reuse && !fb_cli_env_flag("FNBOX_NO_MEMORY_REUSE");
        s->mem_mnt_fd = s->mem_reuse ? fb_memfile_tmpfs_mount() : -1;
        if (s->mem_reuse && s->mem_mnt_fd < 0)
            fb_info("sandbox memory files are memfds (no tmpfs of the server's own: %s)",
                    strerror(errno));
        s->spare_idle_ns = (int64_t)fb_cli_env_u64("FNBOX_SPARE_MEMORY_IDLE_MS", 1, 3600000,
                                                   FB_SPARE_MEM_IDLE_MS, "ms") * 1000000;
    }
    {
        /* The CPUs refills and invocations are kept apart on (serve_pool.c). */
        cpu_set_t set;
        if (sched_getaffinity(0, sizeof(set), &set) == 0)
            for (int c = 0; c < CPU_SETSIZE && s->ncpus < FB_SERVE_MAX_CPUS; c++)
                if (CPU_ISSET(c, &set))
                    s->cpus[s->ncpus++] = c;
        if (s->ncpus < 2)
            s->ncpus = 0;
    }
    s->started_ns = fb_serve_now_ns();
    return s;
fail:
    free(s->code_root_real);
    free(s);
    return NULL;
}

int fb_server_start(struct fb_server *s, struct fb_error *err)
{
    pthread_mutex_lock(&s->lock);
    if (load_registry(s, err) < 0) {
        pthread_mutex_unlock(&s->lock);
        return -1;
    }
    collect_garbage(s, s->images_dir, true);
    collect_garbage(s, s->code_dir, false);
    pthread_mutex_unlock(&s->lock);
    fb_pool_manager_start(s);
    return 0;
}

/* ---- building -----------------------------------------------------------------------------------
 */

/* A server-side code directory must resolve (symlinks included) inside --code-root. */
static char *resolve_code(struct fb_server *s, const char *code, struct fb_error *err)
{
    char joined[PATH_MAX], *real;
    size_t rl = strlen(s->code_root_real);
    if (code[0] == '/')
        snprintf(joined, sizeof(joined), "%s", code);
    else
        snprintf(joined, sizeof(joined), "%s/%s", s->code_root_real, code);
    real = realpath(joined, NULL);
    if (!real)
        return fb_error_set(err, errno, "code directory %s: %s", code, strerror(errno)), NULL;
    if (strcmp(s->code_root_real, "/") != 0 &&
        (strncmp(real, s->code_root_real, rl) || (real[rl] && real[rl] != '/'))) {
        fb_error_set(err, EPERM, "code directory %s is outside the server's --code-root %s", code,
                     s->code_root_real);
        free(real);
        return NULL;
    }
    return real;
}

/* Prepare the code (copy or extract) and run `fnbox checkpoint`; returns a new image with one
 * reference. http_status: 400 bad code, 422 the function failed to initialise, 500 ours. */
static struct fb_image *build(struct fb_server *s, const struct fb_fn_config *cfg,
                              const void *archive, size_t archive_len, const char *archive_path,
                              int *http_status, struct fb_error *err)
{
    struct fb_image *img = image_new();
    char *argv[24 + 2 * FB_SERVE_MAX_ENV + 2 * FB_TRAIN_EVENTS_MAX], mem[16], tmo[24],
        hint[16];
    char *events[FB_TRAIN_EVENTS_MAX] = {NULL};
    struct json_object *evs = NULL; /* cfg's training events, parsed */
    char *out = NULL, *errout = NULL, *src = NULL;
    int argc = 0, st, i;
    unsigned gen;
    struct json_object *res = NULL, *v;

    if (!img)
        return *http_status = 500, fb_error_set(err, ENOMEM, "out of memory"), NULL;
    if (cfg->train_events)
        evs = json_tokener_parse(cfg->train_events); /* made by json-c: it parses */
    pthread_mutex_lock(&s->lock);
    gen = s->next_gen++;
    pthread_mutex_unlock(&s->lock);
    img->gen = gen;
    if (asprintf(&img->path, "%s/%s-%u.img", s->images_dir, cfg->name, gen) < 0 ||
        asprintf(&img->code_dir, "%s/%s-%u", s->code_dir, cfg->name, gen) < 0) {
        *http_status = 500;
        fb_error_set(err, ENOMEM, "out of memory");
        goto fail;
    }
    *http_status = 400;
    if (archive || archive_path) {
        if (fb_serve_extract(archive, archive_len, archive_path, img->code_dir, err) < 0)
            goto fail;
    } else {
        src = resolve_code(s, cfg->code, err);
        if (!src || fb_serve_copy_tree(src, img->code_dir, err) < 0)
            goto fail;
    }
    snprintf(mem, sizeof(mem), "%uM", cfg->memory_mb);
    snprintf(tmo, sizeof(tmo), "%ums", s->o.build_timeout_ms);
    snprintf(hint, sizeof(hint), "%u", cfg->timeout_ms);
    argv[argc++] = (char *)s->o.fnbox_bin;
    argv[argc++] = "checkpoint";
    argv[argc++] = "--template";
    argv[argc++] = (char *)cfg->template_;
    argv[argc++] = "--code";
    argv[argc++] = img->code_dir;
    argv[argc++] = "--handler";
    argv[argc++] = cfg->handler;
    argv[argc++] = "--name";
    argv[argc++] = (char *)cfg->name;
    argv[argc++] = "--timeout-hint";
    argv[argc++] = hint;
    for (i = 0; i < cfg->nenv; i++) {
        argv[argc++] = "--env";
        argv[argc++] = cfg->env[i];
    }
    argv[argc++] = "--memory";
    argv[argc++] = mem;
    argv[argc++] = "--init-timeout";
    argv[argc++] = tmo;
    for (i = 0; evs && i < (int)json_object_array_length(evs) && i < FB_TRAIN_EVENTS_MAX;
         i++) {
        const char *t = json_object_to_json_string_ext(
            json_object_array_get_idx(evs, (size_t)i),
            JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!t || !(events[i] = strdup(t))) {
            *http_status = 500;
            fb_error_set(err, ENOMEM, "out of memory");
            goto fail;
        }
        argv[argc++] = "--train-event";
        argv[argc++] = events[i];
    }
    argv[argc++] = "--json";
    argv[argc++] = "-o";
    argv[argc++] = img->path;
    argv[argc] = NULL;
    st = fb_serve_exec(argv, s->o.build_timeout_ms + 5000, &out, &errout, err);
    if (st < 0) {
        *http_status = 422;
        goto fail;
    }
    if (st != 0) {
        size_t el = strlen(errout);
        while (el > 0 && errout[el - 1] == '\n')
            errout[--el] = 0;
        *http_status = 422;
        fb_error_set(err, EINVAL, "building the image failed (status %d): %s",
                     WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
                     el > 400 ? errout + el - 400 : errout);
        goto fail;
    }
    res = json_tokener_parse(out);
    if (res && json_object_object_get_ex(res, "checkpoint_ms", &v))
        img->checkpoint_ms = json_object_get_double(v);
    if (res && json_object_object_get_ex(res, "size_bytes", &v))
        img->size = (uint64_t)json_object_get_int64(v);
    json_object_put(res);
    {
        struct stat sst;
        if (stat(img->path, &sst) < 0) {
            *http_status = 500;
            fb_error_set(err, errno, "fnbox checkpoint wrote no image: %s", strerror(errno));
            goto fail;
        }
        if (!img->size)
            img->size = (uint64_t)sst.st_size;
    }
    image_hot(img);
    free(out);
    free(errout);
    free(src);
    for (i = 0; i < FB_TRAIN_EVENTS_MAX; i++)
        free(events[i]);
    json_object_put(evs);
    return img;
fail:
    free(out);
    free(errout);
    free(src);
    for (i = 0; i < FB_TRAIN_EVENTS_MAX; i++)
        free(events[i]);
    json_object_put(evs);
    if (img->path)
        unlink(img->path);
    fb_serve_remove_tree(img->code_dir);
    free(img->path);
    free(img->code_dir);
    free(img);
    return NULL;
}

static int64_t wall_now(void)
{
    return (int64_t)time(NULL);
}

static bool name_taken(struct fb_server *s, const char *name)
{
    struct fb_function *fn;
    for (fn = s->fns; fn; fn = fn->next)
        if (!fn->deleted && !strcmp(fn->cfg.name, name))
            return true;
    return false;
}

/* Insert a placeholder that reserves the name while its image builds; NULL if taken. */
static struct fb_function *reserve(struct fb_server *s, const struct fb_fn_config *cfg,
                                   int *http_status, struct fb_error *err)
{
    struct fb_function *fn;
    pthread_mutex_lock(&s->lock);
    if (s->draining) {
        pthread_mutex_unlock(&s->lock);
        *http_status = 503;
        return fb_error_set(err, ESHUTDOWN, "the server is shutting down"), NULL;
    }
    if (name_taken(s, cfg->name)) {
        pthread_mutex_unlock(&s->lock);
        *http_status = 409;
        return fb_error_set(err, EEXIST, "function %s already exists", cfg->name), NULL;
    }
    fn = fn_new();
    if (!fn || fb_fn_config_copy(&fn->cfg, cfg) < 0) {
        pthread_mutex_unlock(&s->lock);
        free(fn);
        *http_status = 500;
        return fb_error_set(err, ENOMEM, "out of memory"), NULL;
    }
    fn->building = true;
    fn->next = s->fns;
    s->fns = fn;
    s->inflight++;
    pthread_mutex_unlock(&s->lock);
    return fn;
}

static void inflight_done(struct fb_server *s)
{
    if (--s->inflight == 0)
        pthread_cond_broadcast(&s->inflight_cond);
}

int fb_server_create(struct fb_server *s, const struct fb_fn_config *cfg, const void *archive,
                     size_t archive_len, const char *archive_path, char **desc_json,
                     int *http_status, struct fb_error *err)
{
    struct fb_function *fn = reserve(s, cfg, http_status, err);
    struct fb_image *img;
    if (!fn)
        return -1;
    img = build(s, cfg, archive, archive_len, archive_path, http_status, err);
    pthread_mutex_lock(&s->lock);
    inflight_done(s);
    if (!img) {
        fb_fn_put(s, fn);
        pthread_mutex_unlock(&s->lock);
        return -1;
    }
    fn->image = img;
    fn->created_s = fn->updated_s = wall_now();
    fn->building = false;
    pthread_mutex_unlock(&s->lock);
    if (fb_registry_save(s, err) < 0)
        fb_err("registry: %s", err->msg); /* the function works; it will not survive a restart */
    fb_server_wake(s);
    *desc_json = fb_server_describe(s, cfg->name, false);
    *http_status = 201;
    return 0;
}

/* Is path, resolved, dir or inside it? dir must be resolved already; a path that does not
 * resolve (gone, or no permission) is not. Text checks are not enough: "DIR/.." passes them. */
static bool under(const char *path, const char *dir)
{
    char *real = dir && dir[0] ? realpath(path, NULL) : NULL;
    size_t n = dir ? strlen(dir) : 0;
    bool ok = real && strncmp(real, dir, n) == 0 && (real[n] == '/' || real[n] == 0);
    free(real);
    return ok;
}

static int foreign_mounts_ok(struct fb_server *s, const char *inspect_json, struct fb_error *err)
{
    struct json_object *j = json_tokener_parse(inspect_json), *mounts, *root, *code;
    char tdir[PATH_MAX], *treal = NULL;
    char *creal = realpath(s->code_dir, NULL);
    size_t i, n;
    int rc = -1;

    if (!j || !json_object_object_get_ex(j, "mounts", &mounts) ||
        !json_object_is_type(mounts, json_type_array)) {
        fb_error_set(err, EINVAL, "the image has no readable description (fnbox inspect --json)");
        goto out;
    }
    if (json_object_object_get_ex(j, "root", &root) && !json_object_is_type(root, json_type_null)) {
        fb_error_set(err, EPERM, "an uploaded image may not name its own root directory");
        goto out;
    }
    /* Its code directory is walked by every restore (the staleness check), which would tell
     * what another directory holds. */
    if (json_object_object_get_ex(j, "code", &code) && !json_object_is_type(code, json_type_null) &&
        !under(json_object_get_string(code), creal)) {
        fb_error_set(err, EPERM, "an uploaded image may only name code under this server's code "
                                 "directory; it names %s",
                     json_object_get_string(code));
        goto out;
    }
    /* The templates fnbox checkpoint uses (this server runs beside that binary). */
    if (fb_templates_dir(tdir, sizeof(tdir)) == 0)
        treal = realpath(tdir, NULL);
    n = json_object_array_length(mounts);
    for (i = 0; i < n; i++) {
        struct json_object *m = json_object_array_get_idx(mounts, i), *src, *ro;
        const char *p;
        if (!json_object_object_get_ex(m, "src", &src) || !json_object_object_get_ex(m, "ro", &ro) ||
            !(p = json_object_get_string(src))) {
            fb_error_set(err, EINVAL, "the image's mounts cannot be read");
            goto out;
        }
        if (!json_object_get_boolean(ro) ||
            !(under(p, creal) || under(p, treal))) {
            fb_error_set(err, EPERM,
                         "an uploaded image may only use this server's function code and the "
                         "templates, read-only; it names %s%s",
                         p, json_object_get_boolean(ro) ? "" : " read-write");
            goto out;
        }
    }
    rc = 0;
out:
    free(treal);
    free(creal);
    if (j)
        json_object_put(j);
    return rc;
}

int fb_server_add_image(struct fb_server *s, const char *name, const char *upload_path,
                        const struct fb_fn_config *opts, char **desc_json, int *http_status,
                        struct fb_error *err)
{
    struct fb_fn_config cfg;
    struct fb_function *fn;
    struct fb_image *img = NULL;
    char *argv[] = {(char *)s->o.fnbox_bin, "inspect", "--verify", "--json",
                    (char *)upload_path, NULL};
    char *out = NULL, *errout = NULL;
    struct stat st;
    bool ok = false;
    int r;

    if (fb_fn_config_copy(&cfg, opts) < 0)
        return *http_status = 500, fb_error_set(err, ENOMEM, "out of memory");
    snprintf(cfg.name, sizeof(cfg.name), "%s", name);
    snprintf(cfg.template_, sizeof(cfg.template_), "image");
    if (fb_serve_config_check(&cfg, err) < 0) {
        fb_fn_config_free(&cfg);
        return *http_status = 400, -1;
    }
    fn = reserve(s, &cfg, http_status, err);
    fb_fn_config_free(&cfg);
    if (!fn)
        return -1;
    r = fb_serve_exec(argv, 30000, &out, &errout, err);
    if (r != 0) {
        size_t el = errout ? strlen(errout) : 0;
        while (el > 0 && errout[el - 1] == '\n')
            errout[--el] = 0;
        if (r > 0)
            fb_error_set(err, EINVAL, "the image is not valid: %s",
                         el > 400 ? errout + el - 400
                         : errout ? errout
                                  : "");
        *http_status = 400;
        goto out;
    }
    /* `fnbox restore` serves the host directories an image names. An uploaded image may only
     * name, read-only, directories this server made (its copies of function code) or the
     * templates: anything else would hand a network client the host. */
    if (foreign_mounts_ok(s, out, err) < 0) {
        *http_status = 400;
        goto out;
    }
    img = image_new();
    if (!img) {
        *http_status = 500;
        fb_error_set(err, ENOMEM, "out of memory");
        goto out;
    }
    pthread_mutex_lock(&s->lock);
    img->gen = s->next_gen++;
    pthread_mutex_unlock(&s->lock);
    if (asprintf(&img->path, "%s/%s-%u.img", s->images_dir, name, img->gen) < 0) {
        img->path = NULL;
        *http_status = 500;
        fb_error_set(err, ENOMEM, "out of memory");
        goto out;
    }
    if (rename(upload_path, img->path) < 0 || stat(img->path, &st) < 0) {
        *http_status = 500;
        fb_error_set(err, errno, "storing the image: %s", strerror(errno));
        goto out;
    }
    img->size = (uint64_t)st.st_size;
    image_hot(img);
    ok = true;
out:
    free(out);
    free(errout);
    pthread_mutex_lock(&s->lock);
    inflight_done(s);
    if (!ok) {
        if (img) {
            free(img->path);
            free(img);
        }
        fb_fn_put(s, fn);
        pthread_mutex_unlock(&s->lock);
        return -1;
    }
    fn->image = img;
    fn->created_s = fn->updated_s = wall_now();
    fn->building = false;
    pthread_mutex_unlock(&s->lock);
    if (fb_registry_save(s, err) < 0)
        fb_err("registry: %s", err->msg);
    fb_server_wake(s);
    *desc_json = fb_server_describe(s, name, false);
    *http_status = 201;
    return 0;
}

int fb_server_update_code(struct fb_server *s, const char *name, const struct fb_fn_config *code,
                          const void *archive, size_t archive_len, const char *archive_path,
                          char **desc_json, int *http_status, struct fb_error *err)
{
    struct fb_function *fn;
    struct fb_fn_config cfg;
    struct fb_image *img, *old;
    struct fb_sb *stale = NULL;

    pthread_mutex_lock(&s->lock);
    fn = fb_fn_find(s, name);
    if (!fn) {
        pthread_mutex_unlock(&s->lock);
        *http_status = 404;
        return fb_error_set(err, ENOENT, "function %s does not exist", name);
    }
    if (!strcmp(fn->cfg.template_, "image") || fn->updating || s->draining) {
        pthread_mutex_unlock(&s->lock);
        *http_status = 409;
        return fb_error_set(err, EBUSY, "%s",
                            fn->updating  ? "another code update of this function is running"
                            : s->draining ? "the server is shutting down"
                                          : "the function was registered from an image: it has "
                                            "no code to replace");
    }
    if (fb_fn_config_copy(&cfg, &fn->cfg) < 0) {
        pthread_mutex_unlock(&s->lock);
        *http_status = 500;
        return fb_error_set(err, ENOMEM, "out of memory");
    }
    fn->updating = true;
    fn->refs++;
    s->inflight++;
    pthread_mutex_unlock(&s->lock);

    free(cfg.code);
    cfg.code = code->code ? strdup(code->code) : NULL;
    if (code->handler) {
        free(cfg.handler);
        cfg.handler = strdup(code->handler);
    }
    if (code->template_[0])
        snprintf(cfg.template_, sizeof(cfg.template_), "%s", code->template_);
    if (code->train_events) {
        free(cfg.train_events);
        cfg.train_events = strdup(code->train_events);
    }
    if ((code->train_events && !cfg.train_events) || (code->code && !cfg.code) ||
        (code->handler && !cfg.handler)) {
        img = NULL;
        *http_status = 500;
        fb_error_set(err, ENOMEM, "out of memory");
    } else if (fb_serve_config_check(&cfg, err) < 0) {
        img = NULL;
        *http_status = 400;
    } else {
        img = build(s, &cfg, archive, archive_len, archive_path, http_status, err);
    }

    pthread_mutex_lock(&s->lock);
    inflight_done(s);
    fn->updating = false;
    if (img && !fn->deleted) {
        old = fn->image;
        fn->image = img;
        free(fn->cfg.code);
        fn->cfg.code = cfg.code;
        cfg.code = NULL;
        free(fn->cfg.handler);
        fn->cfg.handler = cfg.handler;
        cfg.handler = NULL;
        free(fn->cfg.train_events);
        fn->cfg.train_events = cfg.train_events;
        cfg.train_events = NULL;
        fn->ws_hint_said = false; /* a new image, a new training */
        snprintf(fn->cfg.template_, sizeof(fn->cfg.template_), "%s", cfg.template_);
        fn->updated_s = wall_now();
        fb_pool_evict(fn, false, &stale); /* idle sandboxes of the old code */
        fb_image_put(s, old);             /* busy ones keep it until they finish */
    } else if (img) {
        fb_image_put(s, img);
        img = NULL;
        *http_status = 404;
        fb_error_set(err, ENOENT, "function %s was deleted during the update", name);
    }
    fb_fn_put(s, fn);
    pthread_mutex_unlock(&s->lock);
    fb_fn_config_free(&cfg);
    if (stale)
        fb_pool_reap_list(s, stale);
    if (!img)
        return -1;
    if (fb_registry_save(s, err) < 0)
        fb_err("registry: %s", err->msg);
    fb_server_wake(s);
    *desc_json = fb_server_describe(s, name, false);
    *http_status = 200;
    return 0;
}

int fb_server_delete(struct fb_server *s, const char *name)
{
    struct fb_function *fn;
    struct fb_sb *idle = NULL;
    struct fb_error err = {0};
    pthread_mutex_lock(&s->lock);
    fn = fb_fn_find(s, name);
    if (!fn) {
        pthread_mutex_unlock(&s->lock);
        return -1;
    }
    fn->deleted = true;
    fb_pool_evict(fn, true, &idle);
    pthread_cond_broadcast(&fn->cond); /* waiters answer 404 */
    fb_fn_put(s, fn);                  /* the registry's reference */
    pthread_mutex_unlock(&s->lock);
    if (idle)
        fb_pool_reap_list(s, idle);
    if (fb_registry_save(s, &err) < 0)
        fb_err("registry: %s", err.msg);
    return 0;
}

int fb_server_set_pool(struct fb_server *s, const char *name, const char *body, size_t len,
                       char **pool_json, int *http_status, struct fb_error *err)
{
    struct fb_function *fn;
    struct fb_sb *extra = NULL;
    int min, max;

    pthread_mutex_lock(&s->lock);
    fn = fb_fn_find(s, name);
    if (!fn) {
        pthread_mutex_unlock(&s->lock);
        *http_status = 404;
        return fb_error_set(err, ENOENT, "function %s does not exist", name);
    }
    min = fn->cfg.pool_min;
    max = fn->cfg.pool_max;
    if (fb_serve_parse_pool(body, len, &min, &max, err) < 0) {
        pthread_mutex_unlock(&s->lock);
        *http_status = 400;
        return -1;
    }
    fn->cfg.pool_min = min;
    fn->cfg.pool_max = max;
    /* shrink: idle sandboxes beyond the new min (or the new max) go */
    while (fn->idle && (fn->n_idle > min || fn->n_idle + fn->n_busy > max)) {
        struct fb_sb *sb = fn->idle;
        fn->idle = sb->next;
        fn->n_idle--;
        sb->next = extra;
        extra = sb;
    }
    pthread_cond_broadcast(&fn->cond); /* a higher max lets waiters start sandboxes */
    pthread_mutex_unlock(&s->lock);
    if (extra)
        fb_pool_reap_list(s, extra);
    if (fb_registry_save(s, err) < 0)
        fb_err("registry: %s", err->msg);
    fb_server_wake(s);
    *pool_json = fb_server_pool_json(s, name);
    *http_status = 200;
    return 0;
}
