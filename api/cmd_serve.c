/* `fnbox serve`: options, start-up (registry reload, pools, HTTP), and the SIGTERM drain that
 * finishes in-flight invocations and reaps every sandbox before exiting. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/cli.h"
#include "api/serve_http.h"
#include "kernel/util/log.h"

static const char serve_usage[] =
    "Usage: fnbox serve [OPTIONS]\n"
    "\n"
    "Serve the fnbox HTTP API: register functions (each is built once into a checkpoint image\n"
    "with `fnbox checkpoint`), keep warm pools of sandboxes restored from those images and\n"
    "parked at their ready point, and answer invocations. Paths under /v1/ are fnbox's own API;\n"
    "/2015-03-31/functions/... answers like AWS Lambda, so the aws CLI and boto3 work with\n"
    "--endpoint-url. The full reference is docs/api.md (OpenAPI: docs/openapi.yaml).\n"
    "\n"
    "Options:\n"
    "  --listen HOST:PORT     address to listen on (default 127.0.0.1:8080; [::1]:PORT for\n"
    "                         IPv6; port 0 picks a free port, printed at start)\n"
    "  --token TOKEN          require \"Authorization: Bearer TOKEN\" on every request except\n"
    "                         /healthz; AWS clients pass it as their access key id. Also read\n"
    "                         from the environment variable FNBOX_SERVE_TOKEN\n"
    "  --state-dir DIR        where the registry, images and code copies live (default\n"
    "                         /var/lib/fnbox); the registry is reloaded from it at start\n"
    "  --code-root DIR        server-side code directories named in registrations must lie\n"
    "                         under DIR (default: the current directory)\n"
    "  --max-body SIZE        largest request body, 413 beyond (default 6M); images and code\n"
    "                         archives are bounded by --max-upload instead\n"
    "  --max-upload SIZE      largest image or code archive upload (default 256M)\n"
    "  --queue N              requests per function allowed to wait for a sandbox when its\n"
    "                         pool is at max; 429 with Retry-After beyond (default 64)\n"
    "  --queue-timeout DURATION\n"
    "                         longest wait for a sandbox before 429 (default 30s)\n"
    "  --build-timeout DURATION\n"
    "                         limit for building one image (default 120s)\n"
    "  --drain-timeout DURATION\n"
    "                         on SIGTERM, how long in-flight invocations may run before their\n"
    "                         sandboxes are killed (default 30s)\n"
    "  --connections N        concurrent HTTP connections (default 512)\n"
    "  --fnbox PATH           the fnbox executable used to checkpoint and restore (default:\n"
    "                         this one; the environment variable FNBOX_BIN also sets it)\n"
    "  --no-memory-reuse      give every restore a new memory file instead of one a finished\n"
    "                         sandbox of the same function left (cleared first: what the\n"
    "                         image fills keeps its place, the rest is punched out; about\n"
    "                         0.5 ms less CPU per invocation here). Also set by the\n"
    "                         environment variable FNBOX_NO_MEMORY_REUSE=1\n"
    "  -q, --quiet            no per-invocation log line\n"
    "  -v, --verbose          more logging (repeat for debug)\n"
    "  -h, --help             show this help\n"
    "\n"
    "Logs go to stderr: one JSON line per invocation (request id, function, outcome, warm or\n"
    "cold start, queue/restore/run milliseconds). SIGTERM or SIGINT stops accepting requests,\n"
    "lets in-flight invocations finish, kills and reaps every sandbox, then exits 0.\n"
    "\n"
    "Exit status: 0 after a clean shutdown, 1 if the server could not start, 2 for bad\n"
    "options.\n";

static int parse_listen(const char *s, struct sockaddr_storage *ss, bool *ipv6)
{
    char host[256];
    const char *colon;
    uint64_t port;
    memset(ss, 0, sizeof(*ss));
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof(host))
            return -1;
        memcpy(host, s + 1, (size_t)(end - s - 1));
        host[end - s - 1] = 0;
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof(host))
            return -1;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = 0;
    }
    if (fb_cli_parse_u64(colon + 1, &port) < 0 || port > 65535)
        return -1;
    if (!host[0])
        snprintf(host, sizeof(host), "0.0.0.0");
    if (!strcmp(host, "localhost"))
        snprintf(host, sizeof(host), "127.0.0.1");
    {
        struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
            a4->sin_family = AF_INET;
            a4->sin_port = htons((uint16_t)port);
            *ipv6 = false;
            return 0;
        }
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
            a6->sin6_family = AF_INET6;
            a6->sin6_port = htons((uint16_t)port);
            *ipv6 = true;
            return 0;
        }
    }
    return -1;
}

static int ms_option(const char *arg, uint32_t *out)
{
    uint64_t us;
    if (fb_cli_parse_duration_us(arg, &us) < 0 || us < 1000 || us / 1000 > 24u * 3600 * 1000)
        return -1;
    *out = (uint32_t)(us / 1000);
    return 0;
}

int fb_cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"token", required_argument, NULL, 't'},
        {"state-dir", required_argument, NULL, 's'},
        {"code-root", required_argument, NULL, 'c'},
        {"max-body", required_argument, NULL, 'b'},
        {"max-upload", required_argument, NULL, 'u'},
        {"queue", required_argument, NULL, 'Q'},
        {"queue-timeout", required_argument, NULL, 'W'},
        {"build-timeout", required_argument, NULL, 'B'},
        {"drain-timeout", required_argument, NULL, 'D'},
        {"connections", required_argument, NULL, 'C'},
        {"fnbox", required_argument, NULL, 'f'},
        {"no-memory-reuse", no_argument, NULL, 'R'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct fb_serve_options o = {
        .listen = "127.0.0.1:8080",
        .state_dir = "/var/lib/fnbox",
        .code_root = ".",
        .max_body = 6u << 20,
        .max_upload = 256u << 20,
        .queue_max = 64,
        .queue_timeout_ms = 30000,
        .build_timeout_ms = 120000,
        .drain_timeout_ms = 30000,
        .connection_limit = 512,
    };
    struct sockaddr_storage addr;
    struct fb_error err = {0};
    struct fb_server *s;
    struct MHD_Daemon *d;
    char self[PATH_MAX];
    const union MHD_DaemonInfo *info;
    sigset_t sigs;
    bool ipv6 = false;
    int c, sig;
    uint64_t v;

    o.token = getenv("FNBOX_SERVE_TOKEN");
    o.fnbox_bin = getenv("FNBOX_BIN");
    optind = 1;
    argv[0] = "fnbox serve";
    while ((c = getopt_long(argc, argv, "qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            o.listen = optarg;
            break;
        case 't':
            o.token = optarg;
            break;
        case 's':
            o.state_dir = optarg;
            break;
        case 'c':
            o.code_root = optarg;
            break;
        case 'b':
            if (fb_cli_parse_size(optarg, &v) < 0 || v < 1024 || v > (1ull << 30))
                return fb_cli_usage_error(serve_usage, "--max-body: expected a size like 6M");
            o.max_body = (size_t)v;
            break;
        case 'u':
            if (fb_cli_parse_size(optarg, &v) < 0 || v < 1024 || v > (16ull << 30))
                return fb_cli_usage_error(serve_usage, "--max-upload: expected a size like 256M");
            o.max_upload = (size_t)v;
            break;
        case 'Q':
            if (fb_cli_parse_u64(optarg, &v) < 0 || v > 100000)
                return fb_cli_usage_error(serve_usage, "--queue: expected 0 to 100000");
            o.queue_max = (int)v;
            break;
        case 'W':
            if (ms_option(optarg, &o.queue_timeout_ms) < 0)
                return fb_cli_usage_error(serve_usage, "--queue-timeout: expected a duration");
            break;
        case 'B':
            if (ms_option(optarg, &o.build_timeout_ms) < 0)
                return fb_cli_usage_error(serve_usage, "--build-timeout: expected a duration");
            break;
        case 'D':
            if (ms_option(optarg, &o.drain_timeout_ms) < 0)
                return fb_cli_usage_error(serve_usage, "--drain-timeout: expected a duration");
            break;
        case 'C':
            if (fb_cli_parse_u64(optarg, &v) < 0 || v < 1 || v > 65536)
                return fb_cli_usage_error(serve_usage, "--connections: expected 1 to 65536");
            o.connection_limit = (int)v;
            break;
        case 'f':
            o.fnbox_bin = optarg;
            break;
        case 'R':
            o.no_memory_reuse = true;
            break;
        case 'q':
            o.quiet = true;
            break;
        case 'v':
            fb_log_verbosity++;
            break;
        case 'h':
            fputs(serve_usage, stdout);
            return 0;
        default:
            return fb_cli_usage_error(serve_usage, NULL);
        }
    }
    if (optind < argc)
        return fb_cli_usage_error(serve_usage, "unexpected argument");
    if (parse_listen(o.listen, &addr, &ipv6) < 0)
        return fb_cli_usage_error(serve_usage, "--listen: expected HOST:PORT");
    if (o.token && !*o.token)
        o.token = NULL;
    if (!o.fnbox_bin || !*o.fnbox_bin) {
        /* The fnbox executable beside this one (build/fnbox next to build/fnbox-serve). */
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 16);
        char *slash;
        if (n <= 0) {
            fprintf(stderr, "fnbox serve: cannot find my own executable: %s\n", strerror(errno));
            return 1;
        }
        self[n] = 0;
        slash = strrchr(self, '/');
        if (slash && !strcmp(slash + 1, "fnbox-serve"))
            strcpy(slash + 1, "fnbox");
        o.fnbox_bin = self;
    }

    fb_log_role = "serve";
    /* The images it builds keep no memory cache entry (api/mem_cache.h): the server holds each
     * image's memory decompressed itself, for its own restores. */
    setenv("FNBOX_MEM_CACHE", "0", 1);
    /* Every thread inherits this mask: the signals are taken synchronously below. SIGPIPE:
     * clients and sandboxes that go away are errors on a write, not a reason to die. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    s = fb_server_new(&o, &err);
    if (!s || fb_server_start(s, &err) < 0) {
        fprintf(stderr, "fnbox serve: %s\n", err.msg);
        return 1;
    }
    d = fb_serve_http_start(s, (struct sockaddr *)&addr, ipv6, &err);
    if (!d) {
        fprintf(stderr, "fnbox serve: %s\n", err.msg);
        fb_server_stop(s);
        return 1;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    {
        char host[INET6_ADDRSTRLEN] = "?";
        if (ipv6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&addr)->sin6_addr, host, sizeof(host));
        else
            inet_ntop(AF_INET, &((struct sockaddr_in *)&addr)->sin_addr, host, sizeof(host));
        fprintf(stderr, "fnbox serve: listening on http://%s%s%s:%u (state %s%s)\n",
                ipv6 ? "[" : "", host, ipv6 ? "]" : "", info ? info->port : 0, o.state_dir,
                o.token ? ", bearer token required" : "");
    }
    do {
        if (sigwait(&sigs, &sig) != 0)
            sig = SIGTERM;
    } while (sig == SIGHUP); /* reserved; a terminal hangup must not kill the server */
    fprintf(stderr, "fnbox serve: %s: draining\n", strsignal(sig));
    MHD_quiesce_daemon(d); /* no new connections; open ones get 503 while we drain */
    fb_server_drain(s);
    fb_serve_http_wait_idle(5000); /* answers in flight reach their clients */
    MHD_stop_daemon(d);
    fb_server_stop(s);
    fprintf(stderr, "fnbox serve: stopped\n");
    return 0;
}
