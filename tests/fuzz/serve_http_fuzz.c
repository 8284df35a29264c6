/* libFuzzer target for `fnbox serve` request handling: a real server (registry, pools and the
 * libmicrohttpd front end of api/serve_http.c) started once in this process; each input is one
 * HTTP request sent to it over a fresh TCP connection, and the answer is checked.
 *
 * The server: 127.0.0.1 on a free port, an empty temporary state directory and --code-root,
 * --max-body 4K and --max-upload 8K (small, so that inputs of the fuzzer's -max_len reach both
 * 413s), --token TOKEN below, and --fnbox /nonexistent/fnbox: every registration and image
 * upload fails at its `fnbox checkpoint` / `fnbox inspect` (the exec fails in the forked child,
 * 422 or 400), so no function ever exists and nothing starts a sandbox. What is fuzzed is
 * everything in front of that: MHD's parsing, handle() (limits, auth, uploads streamed to
 * files), dispatch() and every handler's decoding of URLs, query strings, headers and bodies.
 *
 * Input format (text, so that seeds are readable and the fuzzer's mutations stay requests):
 *   "!" RAW...        sent as it is, then the write side is shut. The server may drop a
 *                     malformed or truncated request without an answer; if one comes, it starts
 *                     with a status line, and GET /healthz answers 200 afterwards.
 *   METHOD SP TARGET LF       any other input: a request the harness frames itself. METHOD keeps
 *   (Name: value LF)*         its token characters (GET if none); TARGET's bytes outside
 *   LF BODY                   0x21-0x7e are sent %-encoded (the server decodes them before
 *                             routing, so hostile bytes still reach it). Header lines go as they
 *                             are (CR and NUL dropped), except Content-Length,
 *                             Transfer-Encoding, Connection and empty names: the harness sends
 *                             the body's true length and "Connection: close" (hostile framing
 *                             is the raw form's job). Host and Authorization come first when the
 *                             input has none.
 * Auth: the server requires a token, and a framed input without an Authorization header gets the
 * right one. So the fuzzer reaches dispatch() by default and reaches authorized() (Bearer, SigV4
 * Credential=) by writing its own header; neither half needs luck.
 *
 * SERVE_HTTP_FUZZ_SHOW=1 prints each request line and the status it got (to check the seeds).
 *
 * Invariants for a framed request: an answer comes (within 10 s; or none to a head of 24 KiB or
 * more, see BIG_HEAD, and then /healthz still answers) and is HTTP; no 5xx but the
 * documented 502 and 503 (docs/api.md; a 500 here is a bug: there is no sandbox to fail); the
 * harness's token is never refused (401); an input with its own Authorization header that does
 * not contain the token gets no 2xx but /healthz's; every error fnbox writes (it carries
 * X-Fnbox-Request-Id) is JSON in the documented shape, native or Lambda. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/serve_http.h"
#include "kernel/util/log.h"

#define TOKEN       "fuzz-token-7f3a"
#define REPLY_MAX   (1u << 20)
#define FRAMED_WAIT 10000 /* ms for an answer to a well-framed request */
#define RAW_WAIT    5000  /* ms for the server to answer or close after a raw request */
/* A request head this long may go unanswered: libmicrohttpd 0.9.75 keeps it in a 32 KiB pool
 * per connection (MHD_OPTION_CONNECTION_MEMORY_LIMIT's default) and answers 414 or 431 beyond,
 * but a head that leaves less room than the answer's headers need (about 32.3 to 32.5 KB here)
 * gets its connection closed ("failed to create response header"), whatever the handler did. */
#define BIG_HEAD     24576
#define TOP_NAME     "fnbox-serve-http-fuzz-" /* in /tmp, then the pid */
#define HEALTHZ_BODY "{\"status\":\"ok\"}"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint16_t port;
static bool show;    /* SERVE_HTTP_FUZZ_SHOW=1: print each request line and its status */
static char top[64]; /* /tmp/TOP_NAME<pid>: holds state/ and code/ */

/* Up to 2000 bytes of b, non-printable ones escaped. */
static void dump(const char *title, const char *b, size_t len)
{
    size_t i;
    fprintf(stderr, "--- %s (%zu bytes) ---\n", title, len);
    for (i = 0; i < len && i < 2000; i++) {
        unsigned char c = (unsigned char)b[i];
        if (c == '\n' || (c >= 0x20 && c < 0x7f))
            fputc(c, stderr);
        else if (c != '\r')
            fprintf(stderr, "\\x%02x", c);
    }
    fputc('\n', stderr);
}

static void __attribute__((noreturn))
fail(const char *what, const char *req, size_t req_len, const char *reply, size_t reply_len)
{
    fprintf(stderr, "serve_http_fuzz: %s\n", what);
    dump("request", req, req_len);
    dump("reply", reply ? reply : "", reply ? reply_len : 0);
    abort();
}

static void remove_top(void)
{
    if (top[0])
        fb_serve_remove_tree(top);
}

/* The directories of earlier runs that crashed (no atexit then): /tmp/TOP_NAME<pid> of a
 * process that is gone. */
static void remove_stale(void)
{
    DIR *d = opendir("/tmp");
    struct dirent *e;
    char path[300];
    if (!d)
        return;
    while ((e = readdir(d))) {
        size_t k = strlen(TOP_NAME);
        long pid;
        char *end;
        if (strncmp(e->d_name, TOP_NAME, k))
            continue;
        pid = strtol(e->d_name + k, &end, 10);
        if (*end || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* not ours, or its process still runs */
        snprintf(path, sizeof(path), "/tmp/%s", e->d_name);
        fb_serve_remove_tree(path);
    }
    closedir(d);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static struct fb_serve_options o;
    static char state[96], code[96];
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct fb_error err = {0};
    const union MHD_DaemonInfo *info;
    struct fb_server *s;
    struct MHD_Daemon *d;

    (void)argc;
    (void)argv;
    remove_stale();
    snprintf(top, sizeof(top), "/tmp/" TOP_NAME "%d", (int)getpid());
    fb_serve_remove_tree(top);
    snprintf(state, sizeof(state), "%s/state", top);
    snprintf(code, sizeof(code), "%s/code", top);
    if (mkdir(top, 0700) < 0 || mkdir(code, 0700) < 0) {
        perror("serve_http_fuzz: mkdir");
        exit(1);
    }
    atexit(remove_top);
    o = (struct fb_serve_options){
        .listen = "127.0.0.1:0",
        .token = TOKEN,
        .state_dir = state,
        .code_root = code,
        .fnbox_bin = "/nonexistent/fnbox",
        .max_body = 4096,
        .max_upload = 8192,
        .queue_max = 4,
        .queue_timeout_ms = 1000,
        .build_timeout_ms = 5000,
        .drain_timeout_ms = 1000,
        .connection_limit = 64,
        .quiet = true,
        .no_memory_reuse = true, /* no tmpfs mount of the server's own for one fuzzing process */
    };
    /* As api/cmd_serve.c starts it (minus its signal mask: libFuzzer handles SIGINT itself). */
    fb_log_role = "serve";
    fb_log_verbosity = FB_LOG_ERROR; /* a refused request is not news here */
    setenv("FNBOX_MEM_CACHE", "0", 1);
    signal(SIGPIPE, SIG_IGN);
    s = fb_server_new(&o, &err);
    if (!s || fb_server_start(s, &err) < 0) {
        fprintf(stderr, "serve_http_fuzz: cannot start the server: %s\n", err.msg);
        exit(1);
    }
    d = fb_serve_http_start(s, (struct sockaddr *)&a, false, &err);
    info = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (!info || !info->port) {
        fprintf(stderr, "serve_http_fuzz: cannot listen: %s\n", err.msg);
        exit(1);
    }
    port = info->port;
    show = getenv("SERVE_HTTP_FUZZ_SHOW") != NULL;
    /* The server runs until the process exits: it is never stopped, so it is never freed. */
    return 0;
}

struct buf {
    char *p;
    size_t len, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + n + 1)
            nc *= 2;
        b->p = realloc(b->p, nc);
        if (!b->p)
            abort();
        b->cap = nc;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Send req on a new connection, shut the write side, and read until the server closes or
 * wait_ms pass. Returns 0, or -1 if the server neither answered nor closed in time. */
static int exchange(const char *req, size_t len, struct buf *reply, int wait_ms)
{
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct linger lg = {1, 0};
    int64_t deadline = now_ms() + wait_ms;
    size_t off = 0;
    bool shut = false;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    if (fd < 0) {
        perror("serve_http_fuzz: socket");
        abort();
    }
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
        perror("serve_http_fuzz: connect"); /* the listener is gone */
        abort();
    }
    for (;;) {
        struct pollfd p = {fd, POLLIN | (shut ? 0 : POLLOUT), 0};
        int64_t left = deadline - now_ms();
        char tmp[16384];
        ssize_t n;
        if (left <= 0) {
            close(fd);
            return -1;
        }
        if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
            abort();
        if (!shut && (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
            n = off < len ? send(fd, req + off, len - off, MSG_NOSIGNAL) : 0;
            if (n > 0)
                off += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EINTR)
                off = len; /* answered early (413, 401) and closed: stop sending */
            if (off == len) {
                shutdown(fd, SHUT_WR);
                shut = true;
            }
        }
        if (p.revents & (POLLIN | POLLERR | POLLHUP)) {
            n = recv(fd, tmp, sizeof(tmp), 0);
            if (n > 0) {
                if (reply->len < REPLY_MAX)
                    put(reply, tmp, (size_t)n);
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EINTR))
                break; /* closed (or reset after an early answer) */
        }
    }
    /* No TIME_WAIT on this side: a long run opens millions of connections. */
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
    return 0;
}

/* The final answer in reply (1xx interim answers skipped): its status, or -1 if it does not
 * start with a status line. *hdrs and *body point into reply. */
static int parse_reply(const struct buf *reply, const char **hdrs, const char **body)
{
    const char *p = reply->p;
    for (;;) {
        const char *end;
        int status;
        if (!p || strncmp(p, "HTTP/1.", 7) || (p[7] != '0' && p[7] != '1') || p[8] != ' ' ||
            p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9' ||
            (p[12] != ' ' && p[12] != '\r'))
            return -1;
        status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
        end = strstr(p, "\r\n\r\n");
        if (!end)
            return -1;
        if (status >= 200) {
            *hdrs = p;
            *body = end + 4;
            return status;
        }
        p = end + 4;
    }
}

/* The value of header name in the header block hdrs (up to its blank line), or NULL. */
static const char *reply_header(const char *hdrs, const char *name, size_t *vlen)
{
    size_t n = strlen(name);
    const char *line = strstr(hdrs, "\r\n"), *end = strstr(hdrs, "\r\n\r\n");
    while (line && line < end) {
        line += 2;
        if (!strncasecmp(line, name, n) && line[n] == ':') {
            const char *v = line + n + 1, *e = strstr(v, "\r\n");
            while (*v == ' ')
                v++;
            *vlen = (size_t)(e - v);
            return v;
        }
        line = strstr(line, "\r\n");
    }
    return NULL;
}

static bool json_string_member(struct json_object *o, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string);
}

/* fnbox's error bodies: {"error":{"code","message"}}, or {"Type","Message"} with
 * x-amzn-ErrorType on the Lambda paths (docs/api.md "Errors"). */
static bool error_body_ok(const char *hdrs, const char *body)
{
    size_t n;
    bool lambda = reply_header(hdrs, "x-amzn-ErrorType", &n) != NULL, ok;
    struct json_object *o = json_tokener_parse(body), *e;
    if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return false;
    }
    if (lambda)
        ok = json_string_member(o, "Type") && json_string_member(o, "Message");
    else
        ok = json_object_object_get_ex(o, "error", &e) && json_string_member(e, "code") &&
             json_string_member(e, "message");
    json_object_put(o);
    return ok;
}

static bool tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Is the header line (n bytes) named name? Spaces before the colon are allowed: a server that
 * forgives them must not see a header the harness did not count. */
static bool header_is(const char *line, size_t n, const char *name)
{
    size_t k = strlen(name);
    if (n <= k || strncasecmp(line, name, k))
        return false;
    while (k < n && (line[k] == ' ' || line[k] == '\t'))
        k++;
    return k < n && line[k] == ':';
}

/* Header lines the harness owns (see the format above), and lines with an empty name:
 * libmicrohttpd 0.9.75 refuses every response (MHD_queue_response fails, the connection closes
 * unanswered) to a request with one and "Expect: 100-continue", whatever the application does. */
static bool harness_header(const char *line, size_t n)
{
    return line[0] == ':' || header_is(line, n, "Content-Length") ||
           header_is(line, n, "Transfer-Encoding") || header_is(line, n, "Connection");
}

/* After a request that may go unanswered: the server still answers GET /healthz with 200. */
static void check_alive(const char *req, size_t len)
{
    static const char probe[] =
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    struct buf hz = {0};
    const char *h, *b;

    if (exchange(probe, sizeof(probe) - 1, &hz, FRAMED_WAIT) < 0 || parse_reply(&hz, &h, &b) != 200)
        fail("GET /healthz after it did not answer 200", req, len, hz.p, hz.len);
    free(hz.p);
}

static void raw(const uint8_t *data, size_t size)
{
    struct buf reply = {0};

    if (exchange((const char *)data, size, &reply, RAW_WAIT) < 0)
        fail("no answer and no close after a raw request", (const char *)data, size, reply.p,
             reply.len);
    /* MHD answers some garbage with a bare status line; the first line is what must hold. */
    if (show)
        fprintf(stderr, "serve_http_fuzz: raw: %.*s\n", (int)strcspn(reply.p ? reply.p : "", "\r"),
                reply.p ? reply.p : "(no answer)");
    if (reply.len && strncmp(reply.p, "HTTP/1.", 7))
        fail("a raw request's answer is not HTTP", (const char *)data, size, reply.p, reply.len);
    check_alive((const char *)data, size);
    fb_serve_http_wait_idle(FRAMED_WAIT);
    free(reply.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data, *end = in + size, *p, *nl, *hdrs, *body;
    struct buf req = {0}, hb = {0}, line = {0}, reply = {0};
    bool own_auth = false, auth_has_token = false, has_host = false, head;
    size_t blen, i, n;
    int status;
    char tmp[64];

    if (size && data[0] == '!') {
        raw(data + 1, size - 1);
        return 0;
    }
    /* request line */
    nl = memchr(in, '\n', size);
    if (!nl)
        nl = end;
    for (p = in; p < nl && *p != ' '; p++)
        if (tchar((unsigned char)*p))
            put(&req, p, 1);
    if (!req.len)
        puts_(&req, "GET");
    head = !strcmp(req.p, "HEAD");
    puts_(&req, " ");
    if (p < nl)
        p++;
    if (p == nl || *p != '/')
        puts_(&req, "/");
    for (; p < nl; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\r' && p + 1 == nl)
            break;
        if (c > 0x20 && c < 0x7f) {
            put(&req, p, 1);
        } else {
            snprintf(tmp, sizeof(tmp), "%%%02X", c);
            puts_(&req, tmp);
        }
    }
    puts_(&req, " HTTP/1.1\r\n");
    /* header lines up to an empty one, into hb */
    p = nl < end ? nl + 1 : end;
    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        n = (size_t)(nl - p);
        if (n && p[n - 1] == '\r')
            n--;
        if (!n) {
            p = nl < end ? nl + 1 : end;
            break;
        }
        /* no CR or NUL: MHD takes a line that starts with NUL for the end of the headers */
        line.len = 0;
        for (i = 0; i < n; i++)
            if (p[i] != '\r' && p[i] != 0)
                put(&line, p + i, 1);
        if (line.len && !harness_header(line.p, line.len)) {
            own_auth |= header_is(line.p, line.len, "Authorization");
            has_host |= header_is(line.p, line.len, "Host");
            put(&hb, line.p, line.len);
            puts_(&hb, "\r\n");
        }
        p = nl < end ? nl + 1 : end;
    }
    /* anywhere in the header block: a folded continuation line may carry it */
    auth_has_token = memmem(in, (size_t)(p - in), TOKEN, strlen(TOKEN)) != NULL;
    /* The harness's headers first, so that nothing of the input's can hide them; the last one
     * takes a continuation line the input may start with. */
    blen = (size_t)(end - p);
    snprintf(tmp, sizeof(tmp), "Content-Length: %zu\r\n", blen);
    puts_(&req, tmp);
    puts_(&req, "Connection: close\r\n");
    if (!has_host)
        puts_(&req, "Host: 127.0.0.1\r\n");
    if (!own_auth)
        puts_(&req, "Authorization: Bearer " TOKEN "\r\n");
    puts_(&req, "X-Fuzz: 1\r\n");
    if (hb.len)
        put(&req, hb.p, hb.len);
    puts_(&req, "\r\n");
    put(&req, p, blen);

    if (exchange(req.p, req.len, &reply, FRAMED_WAIT) < 0)
        fail("no answer within 10 s", req.p, req.len, reply.p, reply.len);
    status = parse_reply(&reply, &hdrs, &body);
    if (show)
        fprintf(stderr, "serve_http_fuzz: %d %.*s\n", status, (int)strcspn(req.p, "\r"), req.p);
    if (status < 0 && !reply.len && req.len - blen >= BIG_HEAD) {
        check_alive(req.p, req.len); /* libmicrohttpd's limit, not ours: see BIG_HEAD */
        goto out;
    }
    if (status < 0)
        fail("the answer is not HTTP", req.p, req.len, reply.p, reply.len);
    if (status >= 500 && status != 502 && status != 503)
        fail("a 5xx that is not 502 or 503", req.p, req.len, reply.p, reply.len);
    if (status == 401 && !own_auth)
        fail("the server's own token refused", req.p, req.len, reply.p, reply.len);
    if (own_auth && !auth_has_token && status >= 200 && status < 300) {
        const char *cl = reply_header(hdrs, "Content-Length", &n);
        bool healthz = head ? cl && n == 2 && !strncmp(cl, "15", 2) : !strcmp(body, HEALTHZ_BODY);
        if (!healthz)
            fail("a wrong token got a 2xx other than /healthz's", req.p, req.len, reply.p,
                 reply.len);
    }
    if (status >= 400 && !head && reply_header(hdrs, "X-Fnbox-Request-Id", &n) &&
        !error_body_ok(hdrs, body))
        fail("an error body not in the documented shape", req.p, req.len, reply.p, reply.len);
out:
    /* the request is over on the server's side too before the next one starts */
    fb_serve_http_wait_idle(FRAMED_WAIT);
    free(req.p);
    free(hb.p);
    free(line.p);
    free(reply.p);
    return 0;
}
