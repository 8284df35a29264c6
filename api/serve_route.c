/* `fnbox serve` request decoding: routes, names, JSON bodies, base64. Everything here reads
 * hostile network input and touches no server state, so it is unit-tested and fuzzed alone. */
#include "api/serve.h"

#include "api/image_meta.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const fb_outcome_names[FB_OUT_NR] = {
    "ok", "function_error", "timeout", "out_of_memory", "platform_error", "throttled",
};

bool fb_serve_name_valid(const char *s)
{
    size_t n = 0;
    if (!s)
        return false;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (n >= FB_SERVE_NAME_MAX || !(isalnum(c) || c == '_' || c == '-'))
            return false;
    }
    return n > 0;
}

/* Split the path into at most 6 segments; returns the count or -1 when there are more or a
 * segment is too long. Empty segments (double or trailing slashes) are dropped, like Lambda. */
#define SEG_MAX 6
#define SEG_LEN 256
static int split_path(const char *url, char seg[SEG_MAX][SEG_LEN])
{
    int n = 0;
    const char *p = url;
    while (*p) {
        const char *q;
        size_t len;
        while (*p == '/')
            p++;
        if (!*p || *p == '?')
            break;
        q = p;
        while (*q && *q != '/' && *q != '?')
            q++;
        len = (size_t)(q - p);
        if (n == SEG_MAX || len >= SEG_LEN)
            return -1;
        memcpy(seg[n], p, len);
        seg[n][len] = 0;
        n++;
        p = q;
        if (*p == '?')
            break;
    }
    return n;
}

/* Lambda FunctionName: NAME, NAME:QUALIFIER, or arn:aws:lambda:REGION:ACCOUNT:function:NAME[:Q].
 * Only $LATEST exists here, so any qualifier other than it names nothing. */
static bool lambda_name(const char *in, char *out)
{
    const char *name = in, *colon;
    size_t len;
    if (!strncmp(in, "arn:", 4)) {
        const char *f = strstr(in, ":function:");
        if (!f)
            return false;
        name = f + strlen(":function:");
    }
    colon = strchr(name, ':');
    len = colon ? (size_t)(colon - name) : strlen(name);
    if (colon && strcmp(colon + 1, "$LATEST") != 0)
        return false;
    if (len == 0 || len > FB_SERVE_NAME_MAX)
        return false;
    memcpy(out, name, len);
    out[len] = 0;
    return fb_serve_name_valid(out);
}

static void set_name(struct fb_route *r, const char *seg, bool lambda)
{
    bool ok;
    if (lambda) {
        ok = lambda_name(seg, r->name);
    } else {
        ok = fb_serve_name_valid(seg);
        if (ok)
            snprintf(r->name, sizeof(r->name), "%s", seg);
    }
    if (!ok) {
        r->name[0] = 0;
        r->id = FB_R_BAD_NAME;
    }
}

static enum fb_route_id pick(const char *method, const char *m1, enum fb_route_id r1,
                             const char *m2, enum fb_route_id r2)
{
    if (m1 && !strcmp(method, m1))
        return r1;
    if (m2 && !strcmp(method, m2))
        return r2;
    return FB_R_BAD_METHOD;
}

void fb_serve_route(const char *method, const char *url, struct fb_route *r)
{
    char seg[SEG_MAX][SEG_LEN];
    int n;
    bool get;

    memset(r, 0, sizeof(*r));
    r->id = FB_R_NOT_FOUND;
    if (!method || !url)
        return;
    get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    n = split_path(url, seg);
    if (n < 1)
        return;
    if (n == 1 && !strcmp(seg[0], "healthz")) {
        r->id = get ? FB_R_HEALTHZ : FB_R_BAD_METHOD;
        return;
    }
    if (n == 1 && !strcmp(seg[0], "metrics")) {
        r->id = get ? FB_R_METRICS : FB_R_BAD_METHOD;
        return;
    }
    if (!strcmp(seg[0], "2015-03-31")) {
        r->lambda = true;
        if (n < 2 || strcmp(seg[1], "functions") != 0)
            return;
        if (n == 2) {
            r->id = get ? FB_R_L_LIST : pick(method, "POST", FB_R_L_CREATE, NULL, 0);
            return;
        }
        if (n == 3) {
            r->id = get ? FB_R_L_GET : pick(method, "DELETE", FB_R_L_DELETE, NULL, 0);
        } else if (n == 4 && !strcmp(seg[3], "invocations")) {
            r->id = pick(method, "POST", FB_R_L_INVOKE, NULL, 0);
        } else {
            return;
        }
        if (r->id != FB_R_BAD_METHOD)
            set_name(r, seg[2], true);
        return;
    }
    if (strcmp(seg[0], "v1") != 0 || n < 2)
        return;
    if (n == 2 && !strcmp(seg[1], "images")) {
        r->id = pick(method, "POST", FB_R_IMAGES, NULL, 0);
        return;
    }
    if (n == 2 && !strcmp(seg[1], "restore")) {
        r->id = pick(method, "POST", FB_R_RESTORE, NULL, 0);
        return;
    }
    if (strcmp(seg[1], "functions") != 0)
        return;
    if (n == 2) {
        r->id = get ? FB_R_FN_LIST : pick(method, "POST", FB_R_FN_CREATE, NULL, 0);
        return;
    }
    if (n == 3)
        r->id = get ? FB_R_FN_GET : pick(method, "DELETE", FB_R_FN_DELETE, NULL, 0);
    else if (n == 4 && !strcmp(seg[3], "invoke"))
        r->id = pick(method, "POST", FB_R_FN_INVOKE, NULL, 0);
    else if (n == 4 && !strcmp(seg[3], "code"))
        r->id = pick(method, "PUT", FB_R_FN_CODE, NULL, 0);
    else if (n == 4 && !strcmp(seg[3], "pool"))
        r->id = get ? FB_R_FN_POOL_GET : pick(method, "PUT", FB_R_FN_POOL_PUT, NULL, 0);
    else
        return;
    if (r->id != FB_R_BAD_METHOD)
        set_name(r, seg[2], false);
}

int fb_serve_parse_uint(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
    unsigned long long v = 0;
    size_t i;
    if (!s || !*s)
        return -1;
    for (i = 0; s[i]; i++) {
        if (!isdigit((unsigned char)s[i]) || i >= 10)
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v < lo || v > hi)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* ---- base64 -------------------------------------------------------------------------------------
 */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *fb_base64_encode(const unsigned char *in, size_t len, size_t *out_len)
{
    size_t i, o = 0, n = (len + 2) / 3 * 4;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    for (i = 0; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = b64[(v >> 6) & 63];
        out[o++] = b64[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = 0;
    if (out_len)
        *out_len = o;
    return out;
}

static int b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

unsigned char *fb_base64_decode(const char *in, size_t len, size_t *out_len)
{
    unsigned char *out;
    size_t i, o = 0, pad = 0;
    uint32_t acc = 0;
    int bits = 0;

    while (len > 0 && in[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }
    if (len % 4 == 1)
        return NULL;
    out = malloc(len / 4 * 3 + 3);
    if (!out)
        return NULL;
    for (i = 0; i < len; i++) {
        int v = b64_val((unsigned char)in[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    out[o] = 0;
    *out_len = o;
    return out;
}

/* ---- function configuration ---------------------------------------------------------------------
 */

void fb_fn_config_init(struct fb_fn_config *c)
{
    memset(c, 0, sizeof(*c));
    c->memory_mb = FB_SERVE_DEFAULT_MEMORY_MB;
    c->timeout_ms = FB_SERVE_DEFAULT_TIMEOUT_MS;
    c->pool_min = 0;
    c->pool_max = FB_SERVE_DEFAULT_POOL_MAX;
}

void fb_fn_config_free(struct fb_fn_config *c)
{
    int i;
    free(c->code);
    free(c->handler);
    free(c->runtime);
    free(c->role);
    free(c->train_events);
    for (i = 0; i < c->nenv; i++)
        free(c->env[i]);
    memset(c, 0, sizeof(*c));
}

static int dup_str(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

int fb_fn_config_copy(struct fb_fn_config *dst, const struct fb_fn_config *src)
{
    int i;
    *dst = *src;
    dst->code = dst->handler = dst->runtime = dst->role = dst->train_events = NULL;
    dst->nenv = 0;
    if (dup_str(&dst->code, src->code) || dup_str(&dst->handler, src->handler) ||
        dup_str(&dst->runtime, src->runtime) || dup_str(&dst->role, src->role) ||
        dup_str(&dst->train_events, src->train_events))
        goto fail;
    for (i = 0; i < src->nenv; i++) {
        if (dup_str(&dst->env[i], src->env[i]))
            goto fail;
        dst->nenv++;
    }
    return 0;
fail:
    fb_fn_config_free(dst);
    return -1;
}

/* The body as a JSON object; refuses anything else and deep or malformed documents. */
static struct json_object *parse_object(const char *body, size_t len, struct fb_error *err)
{
    struct json_tokener *tok;
    struct json_object *o;
    enum json_tokener_error je;

    if (len == 0)
        return fb_error_set(err, EINVAL, "the body must be a JSON object"), NULL;
    if (len > FB_SERVE_MAX_CODE_JSON)
        return fb_error_set(err, E2BIG, "the body is too large"), NULL;
    tok = json_tokener_new_ex(16);
    if (!tok)
        return fb_error_set(err, ENOMEM, "out of memory"), NULL;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    o = json_tokener_parse_ex(tok, body, (int)len);
    je = json_tokener_get_error(tok);
    if (je == json_tokener_success && tok->char_offset < (int)len) {
        /* trailing garbage after the document (whitespace is fine) */
        size_t i;
        for (i = (size_t)tok->char_offset; i < len; i++)
            if (!isspace((unsigned char)body[i]))
                break;
        if (i < len) {
            json_object_put(o);
            o = NULL;
            fb_error_set(err, EINVAL, "invalid JSON: trailing data at offset %d", tok->char_offset);
            json_tokener_free(tok);
            return NULL;
        }
    }
    if (je != json_tokener_success) {
        fb_error_set(err, EINVAL, "invalid JSON: %s",
                     je == json_tokener_continue ? "unexpected end of input"
                                                 : json_tokener_error_desc(je));
        json_object_put(o);
        json_tokener_free(tok);
        return NULL;
    }
    json_tokener_free(tok);
    if (!json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        fb_error_set(err, EINVAL, "the body must be a JSON object");
        return NULL;
    }
    return o;
}

/* A JSON string with no NUL inside and at most max bytes. */
static int get_string(struct json_object *o, const char *key, size_t max, const char **out,
                      struct fb_error *err)
{
    struct json_object *v;
    const char *s;
    *out = NULL;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return fb_error_set(err, EINVAL, "\"%s\" must be a string", key);
    s = json_object_get_string(v);
    if ((size_t)json_object_get_string_len(v) != strlen(s))
        return fb_error_set(err, EINVAL, "\"%s\" must not contain NUL characters", key);
    if (strlen(s) > max)
        return fb_error_set(err, EINVAL, "\"%s\" is longer than %zu bytes", key, max);
    *out = s;
    return 0;
}

/* An integer in [lo, hi]; *present tells whether the key was there. */
static int get_int(struct json_object *o, const char *key, int64_t lo, int64_t hi, int64_t *out,
                   bool *present, struct fb_error *err)
{
    struct json_object *v;
    int64_t x;
    *present = false;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_int))
        return fb_error_set(err, EINVAL, "\"%s\" must be an integer", key);
    errno = 0;
    x = json_object_get_int64(v);
    if (errno || x < lo || x > hi)
        return fb_error_set(err, EINVAL, "\"%s\" must be between %lld and %lld", key, (long long)lo,
                            (long long)hi);
    *out = x;
    *present = true;
    return 0;
}

static bool env_name_valid(const char *s, size_t n)
{
    size_t i;
    if (n == 0 || n > 128 || isdigit((unsigned char)s[0]))
        return false;
    for (i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return false;
    return true;
}

/* "env": {"NAME": "VALUE", ...} */
static int get_env(struct json_object *o, const char *key, struct fb_fn_config *c,
                   struct fb_error *err)
{
    struct json_object *v;
    int i;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_object))
        return fb_error_set(err, EINVAL, "\"%s\" must be an object of strings", key);
    for (i = 0; i < c->nenv; i++)
        free(c->env[i]);
    c->nenv = 0;
    json_object_object_foreach(v, k, val)
    {
        const char *s;
        size_t kl = strlen(k), vl;
        char *kv;
        if (!env_name_valid(k, kl))
            return fb_error_set(err, EINVAL, "environment variable name '%.64s' is invalid", k);
        if (!json_object_is_type(val, json_type_string))
            return fb_error_set(err, EINVAL, "environment variable %s must be a string", k);
        s = json_object_get_string(val);
        vl = strlen(s);
        if ((size_t)json_object_get_string_len(val) != vl || vl > 4096)
            return fb_error_set(err, EINVAL, "environment variable %s: invalid value", k);
        if (c->nenv == FB_SERVE_MAX_ENV)
            return fb_error_set(err, E2BIG, "at most %d environment variables", FB_SERVE_MAX_ENV);
        kv = malloc(kl + vl + 2);
        if (!kv)
            return fb_error_set(err, ENOMEM, "out of memory");
        sprintf(kv, "%s=%s", k, s);
        c->env[c->nenv++] = kv;
    }
    return 0;
}

static int set_str(char **dst, const char *s, struct fb_error *err)
{
    char *d;
    if (!s)
        return 0;
    d = strdup(s);
    if (!d)
        return fb_error_set(err, ENOMEM, "out of memory");
    free(*dst);
    *dst = d;
    return 0;
}

int fb_serve_train_events(struct json_object *o, char **out, struct fb_error *err)
{
    struct json_object *one = NULL, *many = NULL, *arr;
    size_t n, i, total = 0;
    int r = 0;

    *out = NULL;
    if (json_object_object_get_ex(o, "train_event", &one) && json_object_is_type(one, json_type_null))
        one = NULL;
    if (json_object_object_get_ex(o, "train_events", &many) &&
        json_object_is_type(many, json_type_null))
        many = NULL;
    if (!one && !many)
        return 0;
    if (one && many)
        return fb_error_set(err, EINVAL, "give either \"train_event\" or \"train_events\", not both");
    if (many) {
        if (!json_object_is_type(many, json_type_array) ||
            (n = json_object_array_length(many)) < 1 || n > FB_TRAIN_EVENTS_MAX)
            return fb_error_set(err, EINVAL,
                                "\"train_events\" must be an array of 1 to %d events",
                                FB_TRAIN_EVENTS_MAX);
        arr = json_object_get(many);
    } else {
        arr = json_object_new_array();
        if (!arr || json_object_array_add(arr, json_object_get(one)) != 0) {
            json_object_put(arr);
            return fb_error_set(err, ENOMEM, "out of memory");
        }
    }
    n = json_object_array_length(arr);
    for (i = 0; i < n && r == 0; i++) {
        struct json_object *e = json_object_array_get_idx(arr, i);
        const char *s = e ? json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE)
                          : NULL;
        if (!e || json_object_is_type(e, json_type_null))
            r = fb_error_set(err, EINVAL, "\"%s\": a training event may not be null",
                             many ? "train_events" : "train_event");
        else if (!s)
            r = fb_error_set(err, ENOMEM, "out of memory");
        else if ((total += strlen(s)) > FB_TRAIN_EVENT_BYTES)
            r = fb_error_set(err, E2BIG, "\"%s\" is longer than %d bytes as JSON",
                             many ? "train_events" : "train_event", FB_TRAIN_EVENT_BYTES);
    }
    if (r == 0) {
        const char *s = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE);
        *out = s ? strdup(s) : NULL;
        if (!*out)
            r = fb_error_set(err, ENOMEM, "out of memory");
    }
    json_object_put(arr);
    return r;
}

static int get_archive(struct json_object *o, const char *key, unsigned char **archive,
                       size_t *archive_len, struct fb_error *err)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!archive)
        return fb_error_set(err, EINVAL, "\"%s\" is not accepted here", key);
    if (!json_object_is_type(v, json_type_string))
        return fb_error_set(err, EINVAL, "\"%s\" must be a base64 string", key);
    *archive = fb_base64_decode(json_object_get_string(v), (size_t)json_object_get_string_len(v),
                                archive_len);
    if (!*archive)
        return fb_error_set(err, EINVAL, "\"%s\" is not valid base64", key);
    return 0;
}

int fb_serve_config_check(const struct fb_fn_config *c, struct fb_error *err)
{
    const char *h = c->handler;
    size_t i;
    if (!fb_serve_name_valid(c->name))
        return fb_error_set(err, EINVAL, "\"name\" must match [A-Za-z0-9_-]{1,64}");
    if (strcmp(c->template_, "python") && strcmp(c->template_, "shell") &&
        strcmp(c->template_, "native") && strcmp(c->template_, "image"))
        return fb_error_set(err, EINVAL, "\"template\" must be python, shell or native");
    if (strcmp(c->template_, "image") != 0) {
        if (!h || !*h)
            return fb_error_set(err, EINVAL, "\"handler\" is required");
        for (i = 0; h[i]; i++)
            if (!(isalnum((unsigned char)h[i]) || strchr("._-/", h[i])))
                return fb_error_set(err, EINVAL, "\"handler\" may only hold [A-Za-z0-9._/-]");
        if (h[0] == '/' || strstr(h, ".."))
            return fb_error_set(err, EINVAL, "\"handler\" must be relative to the code directory");
        if (!strcmp(c->template_, "python") && !strchr(h, '.'))
            return fb_error_set(err, EINVAL, "\"handler\" must be module.function for python");
    }
    if (c->memory_mb < 16 || c->memory_mb > 16384)
        return fb_error_set(err, EINVAL, "\"memory_mb\" must be between 16 and 16384");
    if (c->timeout_ms < 1 || c->timeout_ms > 900000)
        return fb_error_set(err, EINVAL, "\"timeout_ms\" must be between 1 and 900000");
    if (c->pool_max < 1 || c->pool_max > FB_SERVE_POOL_LIMIT || c->pool_min < 0 ||
        c->pool_min > c->pool_max)
        return fb_error_set(err, EINVAL, "pool: need 0 <= min <= max, 1 <= max <= %d",
                            FB_SERVE_POOL_LIMIT);
    return 0;
}

static int pool_fields(struct json_object *o, int *min, int *max, struct fb_error *err)
{
    int64_t v;
    bool has;
    if (get_int(o, "min", 0, FB_SERVE_POOL_LIMIT, &v, &has, err) < 0)
        return -1;
    if (has)
        *min = (int)v;
    if (get_int(o, "max", 1, FB_SERVE_POOL_LIMIT, &v, &has, err) < 0)
        return -1;
    if (has)
        *max = (int)v;
    else if (*min > *max)
        *max = *min; /* raising min alone lifts the cap with it */
    if (*min > *max)
        return fb_error_set(err, EINVAL, "pool: min (%d) is above max (%d)", *min, *max);
    return 0;
}

int fb_serve_parse_pool(const char *body, size_t len, int *min, int *max, struct fb_error *err)
{
    struct json_object *o = parse_object(body, len, err);
    int r;
    if (!o)
        return -1;
    r = pool_fields(o, min, max, err);
    json_object_put(o);
    return r;
}

int fb_serve_parse_function(const char *body, size_t len, bool for_update, struct fb_fn_config *cfg,
                            unsigned char **archive, size_t *archive_len, struct fb_error *err)
{
    struct json_object *o = parse_object(body, len, err), *v;
    const char *s;
    int64_t n;
    bool has;
    int r = -1;

    if (archive)
        *archive = NULL;
    if (!o)
        return -1;
    if (!for_update) {
        if (get_string(o, "name", FB_SERVE_NAME_MAX, &s, err) < 0)
            goto out;
        if (!s || !fb_serve_name_valid(s)) {
            fb_error_set(err, EINVAL, "\"name\" must match [A-Za-z0-9_-]{1,64}");
            goto out;
        }
        snprintf(cfg->name, sizeof(cfg->name), "%s", s);
    }
    if (get_string(o, "template", 15, &s, err) < 0)
        goto out;
    if (s)
        snprintf(cfg->template_, sizeof(cfg->template_), "%s", s);
    if (get_string(o, "code", 4096, &s, err) < 0 || set_str(&cfg->code, s, err) < 0)
        goto out;
    if (get_string(o, "handler", FB_SERVE_HANDLER_MAX, &s, err) < 0 ||
        set_str(&cfg->handler, s, err) < 0)
        goto out;
    if (get_archive(o, "code_archive", archive, archive_len, err) < 0)
        goto out;
    if (cfg->code && archive && *archive) {
        fb_error_set(err, EINVAL, "give either \"code\" or \"code_archive\", not both");
        goto out;
    }
    {
        char *ev = NULL;
        if (fb_serve_train_events(o, &ev, err) < 0)
            goto out;
        if (ev) {
            free(cfg->train_events);
            cfg->train_events = ev;
        }
    }
    if (for_update) {
        if (!cfg->code && !(archive && *archive)) {
            fb_error_set(err, EINVAL, "\"code\" or \"code_archive\" is required");
            goto out;
        }
        r = 0;
        goto out;
    }
    if (!cfg->code && !(archive && *archive)) {
        fb_error_set(err, EINVAL,
                     "\"code\" (a directory on the server) or \"code_archive\" "
                     "(base64 zip or tar) is required");
        goto out;
    }
    if (get_env(o, "env", cfg, err) < 0)
        goto out;
    if (get_int(o, "memory_mb", 16, 16384, &n, &has, err) < 0)
        goto out;
    if (has)
        cfg->memory_mb = (uint32_t)n;
    if (get_int(o, "timeout_ms", 1, 900000, &n, &has, err) < 0)
        goto out;
    if (has)
        cfg->timeout_ms = (uint32_t)n;
    if (json_object_object_get_ex(o, "pool", &v) && !json_object_is_type(v, json_type_null)) {
        if (!json_object_is_type(v, json_type_object)) {
            fb_error_set(err, EINVAL, "\"pool\" must be an object {\"min\",\"max\"}");
            goto out;
        }
        if (pool_fields(v, &cfg->pool_min, &cfg->pool_max, err) < 0)
            goto out;
    }
    if (!cfg->template_[0]) {
        fb_error_set(err, EINVAL, "\"template\" is required (python, shell or native)");
        goto out;
    }
    r = fb_serve_config_check(cfg, err);
out:
    if (r < 0 && archive && *archive) {
        free(*archive);
        *archive = NULL;
    }
    json_object_put(o);
    return r;
}

int fb_serve_parse_lambda_create(const char *body, size_t len, struct fb_fn_config *cfg,
                                 unsigned char **zip, size_t *zip_len, struct fb_error *err)
{
    struct json_object *o = parse_object(body, len, err), *code, *envo, *vars;
    const char *s;
    int64_t n;
    bool has;
    int r = -1;

    *zip = NULL;
    if (!o)
        return -1;
    if (get_string(o, "FunctionName", 140, &s, err) < 0)
        goto out;
    if (!s || !fb_serve_name_valid(s)) {
        fb_error_set(err, EINVAL, "FunctionName must match [A-Za-z0-9_-]{1,64}");
        goto out;
    }
    snprintf(cfg->name, sizeof(cfg->name), "%s", s);
    if (get_string(o, "Runtime", 32, &s, err) < 0 || set_str(&cfg->runtime, s, err) < 0)
        goto out;
    if (!s || strncmp(s, "python3", 7) != 0) {
        fb_error_set(err, EINVAL, "Runtime: only python3.x runtimes are supported");
        goto out;
    }
    snprintf(cfg->template_, sizeof(cfg->template_), "python");
    if (get_string(o, "Handler", FB_SERVE_HANDLER_MAX, &s, err) < 0 ||
        set_str(&cfg->handler, s, err) < 0)
        goto out;
    if (get_string(o, "Role", 2048, &s, err) < 0 || set_str(&cfg->role, s, err) < 0)
        goto out;
    if (get_int(o, "Timeout", 1, 900, &n, &has, err) < 0)
        goto out;
    if (has)
        cfg->timeout_ms = (uint32_t)n * 1000;
    if (get_int(o, "MemorySize", 16, 10240, &n, &has, err) < 0)
        goto out;
    if (has)
        cfg->memory_mb = (uint32_t)n;
    if (json_object_object_get_ex(o, "Environment", &envo) &&
        json_object_is_type(envo, json_type_object) &&
        json_object_object_get_ex(envo, "Variables", &vars) &&
        get_env(envo, "Variables", cfg, err) < 0)
        goto out;
    if (!json_object_object_get_ex(o, "Code", &code) ||
        !json_object_is_type(code, json_type_object)) {
        fb_error_set(err, EINVAL, "Code.ZipFile is required");
        goto out;
    }
    if (get_archive(code, "ZipFile", zip, zip_len, err) < 0)
        goto out;
    if (!*zip) {
        fb_error_set(err, EINVAL, "Code.ZipFile is required (S3 code locations are not)");
        goto out;
    }
    r = fb_serve_config_check(cfg, err);
out:
    if (r < 0) {
        free(*zip);
        *zip = NULL;
    }
    json_object_put(o);
    return r;
}
