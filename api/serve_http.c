/* `fnbox serve` HTTP layer on libmicrohttpd: body limits, auth, dispatch of routes to the
 * registry and pools, native and AWS-Lambda-shaped responses and errors. */
#include "api/serve_http.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "kernel/util/log.h"

/* Requests between their first callback and the end of their response: the drain waits for
 * these, not just for invocations, so that an answer is never cut by the shutdown. */
static int requests_open;

struct hdr {
    const char *name;
    char *value;
};

/* A response being built by a handler. */
struct resp {
    int status;
    char *body;
    size_t len;
    const char *ctype;
    struct hdr h[24];
    int nh;
};

/* Per-request state (MHD's con_cls). */
struct req {
    struct fb_route route;
    char id[40];
    bool too_large, auth_failed, to_file, responded;
    size_t limit;
    char *body;
    size_t len, cap;
    int fd;          /* uploads streamed to a file */
    char path[4200]; /* ... at this path, unlinked when the request ends */
    uint64_t file_len;
};

static void add_hdr(struct resp *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_hdr(struct resp *r, const char *name, const char *fmt, ...)
{
    va_list ap;
    char *v;
    if (r->nh == (int)(sizeof(r->h) / sizeof(r->h[0])))
        return;
    va_start(ap, fmt);
    if (vasprintf(&v, fmt, ap) < 0)
        v = NULL;
    va_end(ap);
    if (!v)
        return;
    r->h[r->nh].name = name;
    r->h[r->nh++].value = v;
}

static void set_json(struct resp *r, int status, char *json)
{
    r->status = status;
    free(r->body);
    r->body = json;
    r->len = json ? strlen(json) : 0;
    r->ctype = "application/json";
}

/* Escape s for a JSON string (messages may quote user input). */
static char *json_escape(const char *s)
{
    size_t n = strlen(s), i, o = 0;
    char *out = malloc(n * 6 + 1);
    if (!out)
        return NULL;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)sprintf(out + o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = 0;
    return out;
}

static const char *native_code(int status)
{
    switch (status) {
    case 400:
        return "bad_request";
    case 401:
        return "unauthorized";
    case 404:
        return "not_found";
    case 405:
        return "method_not_allowed";
    case 409:
        return "conflict";
    case 413:
        return "payload_too_large";
    case 415:
        return "unsupported_media_type";
    case 422:
        return "build_failed";
    case 429:
        return "too_many_requests";
    case 502:
        return "sandbox_failed";
    case 503:
        return "unavailable";
    default:
        return "internal";
    }
}

static const char *lambda_type(int status)
{
    switch (status) {
    case 400:
    case 405:
    case 415:
    case 422:
        return "InvalidParameterValueException";
    case 401:
        return "UnrecognizedClientException";
    case 404:
        return "ResourceNotFoundException";
    case 409:
        return "ResourceConflictException";
    case 413:
        return "RequestTooLargeException";
    case 429:
        return "TooManyRequestsException";
    default:
        return "ServiceException";
    }
}

/* The error model: native {"error":{"code","message"}}; Lambda paths {"Type","Message"} with
 * x-amzn-ErrorType (what the AWS SDKs read to name the exception). */
static void set_error(struct resp *r, const struct req *q, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void set_error(struct resp *r, const struct req *q, int status, const char *fmt, ...)
{
    char msg[768], *esc, *body = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    esc = json_escape(msg);
    if (!esc)
        esc = strdup("");
    if (q->route.lambda) {
        if (asprintf(&body, "{\"Type\":\"%s\",\"Message\":\"%s\"}",
                     status >= 500 ? "Service" : "User", esc ? esc : "") < 0)
            body = NULL;
        add_hdr(r, "x-amzn-ErrorType", "%s", lambda_type(status));
    } else {
        if (asprintf(&body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", native_code(status),
                     esc ? esc : "") < 0)
            body = NULL;
    }
    free(esc);
    set_json(r, status, body);
}

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static const char *query(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

/* ---- handlers -----------------------------------------------------------------------------------
 */

static int opt_uint(struct MHD_Connection *c, struct resp *r, const struct req *q,
                    const char *qname, const char *hname, uint32_t lo, uint32_t hi, uint32_t *out)
{
    const char *v = query(c, qname);
    if (!v && hname)
        v = header(c, hname);
    if (!v)
        return 0;
    if (fb_serve_parse_uint(v, lo, hi, out) < 0) {
        set_error(r, q, 400, "%s must be an integer between %u and %u", qname, lo, hi);
        return -1;
    }
    return 0;
}

static void invoke_response(struct fb_server *s, struct MHD_Connection *c, struct resp *r,
                            struct req *q, struct fb_invocation *inv, int rc)
{
    const char *lt = header(c, "X-Amz-Log-Type"), *nl = header(c, "X-Fnbox-Log");
    const char *ql = query(c, "log");
    bool want_tail = (lt && !strcasecmp(lt, "Tail")) || (nl && !strcasecmp(nl, "tail")) ||
                     (ql && !strcmp(ql, "tail"));
    bool fn_error;

    (void)s;
    if (rc < 0) {
        if (inv->http_status == 429)
            add_hdr(r, "Retry-After", "%d", inv->retry_after > 0 ? inv->retry_after : 1);
        set_error(r, q, inv->http_status ? inv->http_status : 500, "%s", inv->message);
        return;
    }
    add_hdr(r, "X-Fnbox-Start", "%s", inv->warm ? "warm" : "cold");
    add_hdr(r, "X-Fnbox-Queue-Ms", "%.3f", inv->queue_ms);
    add_hdr(r, "X-Fnbox-Restore-Ms", "%.3f", inv->restore_ms);
    add_hdr(r, "X-Fnbox-Run-Ms", "%.3f", inv->run_ms);
    add_hdr(r, "X-Fnbox-Image-Pages", "%llu", (unsigned long long)inv->image_pages);
    add_hdr(r, "X-Fnbox-Outcome", "%s", fb_outcome_names[inv->outcome]);
    add_hdr(r, "X-Fnbox-Exit-Status", "%d", inv->exit_status);
    add_hdr(r, "X-Fnbox-Timeout-Ms", "%u", inv->timeout_ms);
    add_hdr(r, "X-Fnbox-Memory-Mb", "%u", inv->memory_mb);
    add_hdr(r, "X-Fnbox-Log-Bytes", "%llu", (unsigned long long)inv->log_total);
    if (want_tail) {
        char *b64 = fb_base64_encode((const unsigned char *)inv->log_tail, inv->log_tail_len, NULL);
        if (b64) {
            add_hdr(r, "X-Fnbox-Log-Tail", "%s", b64);
            if (q->route.lambda)
                add_hdr(r, "X-Amz-Log-Result", "%s", b64);
            free(b64);
        }
    }
    if (q->route.lambda)
        add_hdr(r, "X-Amz-Executed-Version", "$LATEST");
    if (inv->outcome == FB_OUT_PLATFORM_ERROR) {
        set_error(r, q, 502, "%s", inv->message);
        return;
    }
    fn_error = inv->outcome != FB_OUT_OK;
    if (fn_error) {
        add_hdr(r, "X-Fnbox-Function-Error", "Unhandled");
        if (q->route.lambda)
            add_hdr(r, "X-Amz-Function-Error", "Unhandled");
    }
    r->status = 200; /* function errors included: SDKs retry 5xx and would run it again */
    r->body = inv->response;
    r->len = inv->response_len;
    r->ctype = "application/json";
    inv->response = NULL;
}

static void do_invoke(struct fb_server *s, struct MHD_Connection *c, struct resp *r, struct req *q,
                      const char *name, bool cold_only)
{
    struct fb_invocation inv;
    int rc;
    memset(&inv, 0, sizeof(inv));
    if (opt_uint(c, r, q, "timeout_ms", "X-Fnbox-Timeout-Ms", 1, 900000, &inv.timeout_ms) < 0 ||
        opt_uint(c, r, q, "memory_mb", "X-Fnbox-Memory-Mb", 16, 16384, &inv.memory_mb) < 0)
        return;
    inv.event = q->body ? q->body : "";
    inv.event_len = q->len;
    inv.cold_only = cold_only;
    snprintf(inv.request_id, sizeof(inv.request_id), "%s", q->id);
    rc = fb_server_invoke(s, name, &inv);
    invoke_response(s, c, r, q, &inv, rc);
    free(inv.response);
}

static void lambda_invoke(struct fb_server *s, struct MHD_Connection *c, struct resp *r,
                          struct req *q)
{
    const char *type = header(c, "X-Amz-Invocation-Type");
    if (!type || !strcmp(type, "RequestResponse")) {
        do_invoke(s, c, r, q, q->route.name, false);
        return;
    }
    if (strcmp(type, "Event") && strcmp(type, "DryRun")) {
        set_error(r, q, 400, "X-Amz-Invocation-Type must be RequestResponse, Event or DryRun");
        return;
    }
    if (!fb_server_has(s, q->route.name)) {
        set_error(r, q, 404,
                  "Function not found: arn:aws:lambda:us-east-1:000000000000:"
                  "function:%s",
                  q->route.name);
        return;
    }
    if (!strcmp(type, "DryRun")) {
        r->status = 204;
        return;
    }
    if (fb_server_draining(s) ||
        fb_server_invoke_async(s, q->route.name, q->body ? q->body : "", q->len, q->id) < 0) {
        set_error(r, q, 503, "cannot queue the event");
        return;
    }
    r->status = 202;
    r->ctype = "application/json";
}

/* Registration parameters given in the query string when the body is an archive. */
static int config_from_query(struct MHD_Connection *c, struct resp *r, struct req *q,
                             struct fb_fn_config *cfg, bool need_name)
{
    const char *v;
    uint32_t n;
    struct fb_error err = {0};
    if (need_name) {
        v = query(c, "name");
        if (!v || !fb_serve_name_valid(v)) {
            set_error(r, q, 400, "?name= must match [A-Za-z0-9_-]{1,64}");
            return -1;
        }
        snprintf(cfg->name, sizeof(cfg->name), "%s", v);
    }
    if ((v = query(c, "template")))
        snprintf(cfg->template_, sizeof(cfg->template_), "%.15s", v);
    if ((v = query(c, "handler")) && !(cfg->handler = strdup(v)))
        return set_error(r, q, 500, "out of memory"), -1;
    if (opt_uint(c, r, q, "memory_mb", NULL, 16, 16384, &cfg->memory_mb) < 0 ||
        opt_uint(c, r, q, "timeout_ms", NULL, 1, 900000, &cfg->timeout_ms) < 0)
        return -1;
    if (query(c, "pool_min")) {
        if (opt_uint(c, r, q, "pool_min", NULL, 0, FB_SERVE_POOL_LIMIT, &n) < 0)
            return -1;
        cfg->pool_min = (int)n;
        if (cfg->pool_max < cfg->pool_min)
            cfg->pool_max = cfg->pool_min;
    }
    if (query(c, "pool_max")) {
        if (opt_uint(c, r, q, "pool_max", NULL, 1, FB_SERVE_POOL_LIMIT, &n) < 0)
            return -1;
        cfg->pool_max = (int)n;
    }
    if (need_name && fb_serve_config_check(cfg, &err) < 0) {
        set_error(r, q, 400, "%s", err.msg);
        return -1;
    }
    return 0;
}

/* POST /v1/functions (register) and PUT /v1/functions/{name}/code (update): the same body, a
 * whole function or just its code. */
static void put_function(struct fb_server *s, struct MHD_Connection *c, struct resp *r,
                         struct req *q, bool update)
{
    struct fb_fn_config cfg;
    struct fb_error err = {0};
    unsigned char *archive = NULL;
    size_t alen = 0;
    char *desc = NULL;
    const char *path = q->to_file ? q->path : NULL;
    int status = 500, rc;

    fb_fn_config_init(&cfg);
    if (q->to_file) {
        if (config_from_query(c, r, q, &cfg, !update) < 0)
            goto out;
    } else if (fb_serve_parse_function(q->body, q->len, update, &cfg, &archive, &alen, &err) < 0) {
        set_error(r, q, 400, "%s", err.msg);
        goto out;
    }
    rc = update ? fb_server_update_code(s, q->route.name, &cfg, archive, alen, path, &desc,
                                        &status, &err)
                : fb_server_create(s, &cfg, archive, alen, path, &desc, &status, &err);
    if (rc < 0)
        set_error(r, q, status, "%s", err.msg);
    else
        set_json(r, update ? 200 : 201, desc);
out:
    free(archive);
    fb_fn_config_free(&cfg);
}

static void post_image(struct fb_server *s, struct MHD_Connection *c, struct resp *r, struct req *q)
{
    struct fb_fn_config cfg;
    struct fb_error err = {0};
    char *desc = NULL;
    int status = 500;
    fb_fn_config_init(&cfg);
    snprintf(cfg.template_, sizeof(cfg.template_), "image");
    if (!q->to_file || q->file_len == 0) {
        set_error(r, q, 400, "the body must be an image made by `fnbox checkpoint`");
    } else if (config_from_query(c, r, q, &cfg, true) == 0) {
        if (fb_server_add_image(s, cfg.name, q->path, &cfg, &desc, &status, &err) < 0)
            set_error(r, q, status, "%s", err.msg);
        else
            set_json(r, 201, desc);
    }
    fb_fn_config_free(&cfg);
}

static void lambda_create(struct fb_server *s, struct resp *r, struct req *q)
{
    struct fb_fn_config cfg;
    struct fb_error err = {0};
    unsigned char *zip = NULL;
    size_t zlen = 0;
    char *desc = NULL;
    int status = 500;
    fb_fn_config_init(&cfg);
    if (fb_serve_parse_lambda_create(q->body, q->len, &cfg, &zip, &zlen, &err) < 0) {
        set_error(r, q, 400, "%s", err.msg);
    } else if (fb_server_create(s, &cfg, zip, zlen, NULL, &desc, &status, &err) < 0) {
        set_error(r, q, status == 422 ? 400 : status, "%s", err.msg);
    } else {
        struct json_object *o;
        free(desc);
        /* CreateFunction answers a FunctionConfiguration: take it out of GetFunction's shape */
        desc = fb_server_describe(s, cfg.name, true);
        o = desc ? json_tokener_parse(desc) : NULL;
        free(desc);
        desc = NULL;
        if (o) {
            struct json_object *conf;
            if (json_object_object_get_ex(o, "Configuration", &conf))
                desc = strdup(json_object_to_json_string_ext(conf, JSON_C_TO_STRING_PLAIN));
            json_object_put(o);
        }
        set_json(r, 201, desc);
    }
    free(zip);
    fb_fn_config_free(&cfg);
}

static void dispatch(struct fb_server *s, struct MHD_Connection *c, struct resp *r, struct req *q)
{
    const char *name = q->route.name;
    char *json;
    struct fb_error err = {0};
    int status = 500;

    switch (q->route.id) {
    case FB_R_NOT_FOUND:
        set_error(r, q, 404, "no such endpoint (see docs/api.md)");
        return;
    case FB_R_BAD_METHOD:
        set_error(r, q, 405, "method not allowed on this endpoint");
        return;
    case FB_R_BAD_NAME:
        set_error(r, q, 400, "function names must match [A-Za-z0-9_-]{1,64}");
        return;
    case FB_R_HEALTHZ: {
        bool d = fb_server_draining(s);
        set_json(r, d ? 503 : 200, strdup(d ? "{\"status\":\"draining\"}" : "{\"status\":\"ok\"}"));
        return;
    }
    case FB_R_METRICS:
        r->status = 200;
        r->body = fb_server_metrics(s);
        r->len = r->body ? strlen(r->body) : 0;
        r->ctype = "text/plain; version=0.0.4; charset=utf-8";
        return;
    case FB_R_FN_LIST:
    case FB_R_L_LIST:
        set_json(r, 200, fb_server_list(s, q->route.lambda));
        return;
    case FB_R_FN_CREATE:
        put_function(s, c, r, q, false);
        return;
    case FB_R_L_CREATE:
        lambda_create(s, r, q);
        return;
    case FB_R_FN_GET:
    case FB_R_L_GET:
        json = fb_server_describe(s, name, q->route.lambda);
        if (json)
            set_json(r, 200, json);
        else
            set_error(r, q, 404, "function %s does not exist", name);
        return;
    case FB_R_FN_DELETE:
    case FB_R_L_DELETE:
        if (fb_server_delete(s, name) < 0)
            set_error(r, q, 404, "function %s does not exist", name);
        else
            r->status = 204;
        return;
    case FB_R_FN_CODE:
        put_function(s, c, r, q, true);
        return;
    case FB_R_FN_INVOKE:
        do_invoke(s, c, r, q, name, false);
        return;
    case FB_R_L_INVOKE:
        lambda_invoke(s, c, r, q);
        return;
    case FB_R_FN_POOL_GET:
        json = fb_server_pool_json(s, name);
        if (json)
            set_json(r, 200, json);
        else
            set_error(r, q, 404, "function %s does not exist", name);
        return;
    case FB_R_FN_POOL_PUT:
        if (fb_server_set_pool(s, name, q->body ? q->body : "", q->len, &json, &status, &err) < 0)
            set_error(r, q, status, "%s", err.msg);
        else
            set_json(r, 200, json);
        return;
    case FB_R_IMAGES:
        post_image(s, c, r, q);
        return;
    case FB_R_RESTORE: {
        const char *img = query(c, "image");
        if (!img || !fb_serve_name_valid(img)) {
            set_error(r, q, 400, "?image= must name a registered image or function");
            return;
        }
        do_invoke(s, c, r, q, img, true);
        return;
    }
    }
    set_error(r, q, 500, "unhandled route");
}

/* ---- MHD glue -----------------------------------------------------------------------------------
 */

static void new_request_id(char *out)
{
    unsigned char b[16];
    if (getrandom(b, sizeof(b), GRND_NONBLOCK) != sizeof(b))
        memset(b, 0, sizeof(b));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    sprintf(out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
            b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
            b[15]);
}

static bool archive_type(const char *ct)
{
    static const char *const types[] = {
        "application/zip",  "application/x-zip-compressed", "application/x-tar",
        "application/gzip", "application/x-gzip",           "application/octet-stream",
    };
    size_t i;
    if (!ct)
        return false;
    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (!strncasecmp(ct, types[i], strlen(types[i])))
            return true;
    return false;
}

static bool consttime_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i;
    unsigned char d = la != lb;
    for (i = 0; i < la && i < lb; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

/* Bearer token; on Lambda paths the token may also be the AWS access key id of a SigV4
 * Authorization header, so that unmodified AWS clients can authenticate (the signature itself
 * is not checked: the token is the secret). */
static bool authorized(struct fb_server *s, struct MHD_Connection *c, const struct req *q)
{
    const char *tok = fb_server_options(s)->token, *a;
    if (!tok || q->route.id == FB_R_HEALTHZ)
        return true;
    a = header(c, "Authorization");
    if (!a)
        return false;
    if (!strncasecmp(a, "Bearer ", 7))
        return consttime_eq(a + 7, tok);
    if (q->route.lambda && !strncmp(a, "AWS4-HMAC-SHA256 ", 17)) {
        const char *cr = strstr(a, "Credential="), *slash;
        char key[256];
        if (!cr)
            return false;
        cr += 11;
        slash = strchr(cr, '/');
        if (!slash || (size_t)(slash - cr) >= sizeof(key))
            return false;
        memcpy(key, cr, (size_t)(slash - cr));
        key[slash - cr] = 0;
        return consttime_eq(key, tok);
    }
    return false;
}

static enum MHD_Result send_resp(struct fb_server *s, struct MHD_Connection *c, struct req *q,
                                 struct resp *r)
{
    struct MHD_Response *m;
    enum MHD_Result ret;
    int i;

    m = MHD_create_response_from_buffer(r->len, r->body ? r->body : (void *)"",
                                        r->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!m) {
        free(r->body);
        for (i = 0; i < r->nh; i++)
            free(r->h[i].value);
        return MHD_NO;
    }
    if (r->ctype)
        MHD_add_response_header(m, "Content-Type", r->ctype);
    MHD_add_response_header(m, "X-Fnbox-Request-Id", q->id);
    if (q->route.lambda)
        MHD_add_response_header(m, "x-amzn-RequestId", q->id);
    for (i = 0; i < r->nh; i++) {
        MHD_add_response_header(m, r->h[i].name, r->h[i].value);
        free(r->h[i].value);
    }
    if (!r->status)
        r->status = 500;
    fb_server_count_request(s, r->status);
    q->responded = true;
    ret = MHD_queue_response(c, (unsigned)r->status, m);
    MHD_destroy_response(m);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    struct fb_server *s = cls;
    const struct fb_serve_options *o = fb_server_options(s);
    struct req *q = *con_cls;
    struct resp r;

    (void)version;
    memset(&r, 0, sizeof(r));
    if (!q) {
        const char *cl, *ct;
        q = calloc(1, sizeof(*q));
        if (!q)
            return MHD_NO;
        q->fd = -1;
        *con_cls = q;
        __atomic_add_fetch(&requests_open, 1, __ATOMIC_SEQ_CST);
        new_request_id(q->id);
        fb_serve_route(method, url, &q->route);
        q->auth_failed = !authorized(s, c, q);
        ct = header(c, "Content-Type");
        q->limit = o->max_body;
        switch (q->route.id) {
        case FB_R_IMAGES:
            q->to_file = true;
            q->limit = o->max_upload;
            break;
        case FB_R_FN_CREATE:
        case FB_R_FN_CODE:
            q->to_file = archive_type(ct);
            q->limit = q->to_file
                           ? o->max_upload
                           : (o->max_upload < FB_SERVE_MAX_CODE_JSON ? o->max_upload
                                                                     : FB_SERVE_MAX_CODE_JSON);
            break;
        case FB_R_L_CREATE:
            q->limit =
                o->max_upload < FB_SERVE_MAX_CODE_JSON ? o->max_upload : FB_SERVE_MAX_CODE_JSON;
            break;
        default:
            break;
        }
        cl = header(c, "Content-Length");
        if (cl) {
            char *end;
            unsigned long long n = strtoull(cl, &end, 10);
            if (*end || n > q->limit)
                q->too_large = true;
        }
        if (q->auth_failed || q->too_large) {
            /* answer now; MHD discards the body and closes the connection */
            if (q->auth_failed) {
                add_hdr(&r, "WWW-Authenticate", "Bearer");
                set_error(&r, q, 401, "missing or wrong bearer token");
            } else {
                set_error(&r, q, 413, "the request body is larger than %zu bytes", q->limit);
            }
            return send_resp(s, c, q, &r);
        }
        if (q->to_file) {
            snprintf(q->path, sizeof(q->path), "%s/upload-%s", fb_server_tmp_dir(s), q->id);
            q->fd = open(q->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            if (q->fd < 0) {
                set_error(&r, q, 500, "cannot store the upload: %s", strerror(errno));
                return send_resp(s, c, q, &r);
            }
        }
        return MHD_YES;
    }
    if (q->responded) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (q->too_large)
            return MHD_YES;
        if ((q->to_file ? q->file_len : q->len) + n > q->limit) {
            q->too_large = true;
            return MHD_YES;
        }
        if (q->to_file) {
            size_t off = 0;
            while (off < n) {
                ssize_t w = write(q->fd, upload + off, n - off);
                if (w <= 0) {
                    q->too_large = true; /* disk full: refuse like an oversized body */
                    return MHD_YES;
                }
                off += (size_t)w;
            }
            q->file_len += n;
            return MHD_YES;
        }
        if (q->len + n + 1 > q->cap) {
            size_t nc = q->cap ? q->cap * 2 : 4096;
            char *nb;
            while (nc < q->len + n + 1)
                nc *= 2;
            nb = realloc(q->body, nc);
            if (!nb) {
                q->too_large = true;
                return MHD_YES;
            }
            q->body = nb;
            q->cap = nc;
        }
        memcpy(q->body + q->len, upload, n);
        q->len += n;
        q->body[q->len] = 0;
        return MHD_YES;
    }
    if (q->too_large) {
        set_error(&r, q, 413, "the request body is larger than %zu bytes", q->limit);
        return send_resp(s, c, q, &r);
    }
    if (q->fd >= 0) {
        close(q->fd);
        q->fd = -1;
    }
    dispatch(s, c, &r, q);
    return send_resp(s, c, q, &r);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct req *q = *con_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (!q)
        return;
    if (q->fd >= 0)
        close(q->fd);
    if (q->path[0])
        unlink(q->path); /* moved away already when an image was accepted */
    free(q->body);
    free(q);
    *con_cls = NULL;
    __atomic_sub_fetch(&requests_open, 1, __ATOMIC_SEQ_CST);
}

void fb_serve_http_wait_idle(uint32_t timeout_ms)
{
    uint32_t waited = 0;
    while (__atomic_load_n(&requests_open, __ATOMIC_SEQ_CST) > 0 && waited < timeout_ms) {
        usleep(10000);
        waited += 10;
    }
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char buf[512];
    (void)cls;
    vsnprintf(buf, sizeof(buf), fmt, ap);
    fb_info("http: %s", buf);
}

struct MHD_Daemon *fb_serve_http_start(struct fb_server *s, const struct sockaddr *addr, bool ipv6,
                                       struct fb_error *err)
{
    const struct fb_serve_options *o = fb_server_options(s);
    struct MHD_Daemon *d;
    unsigned flags =
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (ipv6)
        flags |= MHD_USE_IPv6;
    d = MHD_start_daemon(flags, 0, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, addr,
                         MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned)o->connection_limit, MHD_OPTION_CONNECTION_TIMEOUT, 120u,
                         MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                         MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
    if (!d)
        fb_error_set(err, errno, "cannot listen on %s: %s", o->listen,
                     errno ? strerror(errno) : "libmicrohttpd refused the options");
    return d;
}
