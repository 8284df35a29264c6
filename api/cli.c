/* Command-line helpers (see cli.h). */
#include "api/cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <limits.h>
#include <sys/stat.h>

#include "kernel/util/log.h"

int fb_cli_usage_error(const char *usage, const char *msg)
{
    if (msg)
        fprintf(stderr, "fnbox: %s\n", msg);
    fputs(usage, stderr);
    return 2;
}

int fb_cli_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (!*s || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int fb_cli_parse_pids(const char *s, int *out)
{
    uint64_t v;
    if (fb_cli_parse_u64(s, &v) < 0 || v < 1 || v > 100000)
        return -1;
    *out = (int)v;
    return 0;
}

int fb_cli_parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    uint64_t mult = 1;
    if (!*s || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    switch (*end) {
    case 0:
        break;
    case 'k':
    case 'K':
        mult = 1ull << 10;
        break;
    case 'm':
    case 'M':
        mult = 1ull << 20;
        break;
    case 'g':
    case 'G':
        mult = 1ull << 30;
        break;
    case 't':
    case 'T':
        mult = 1ull << 40;
        break;
    default:
        return -1;
    }
    if (*end && end[1] && !((end[1] == 'B' || end[1] == 'b') && !end[2]) &&
        !((end[1] == 'i') && (end[2] == 'B' || end[2] == 0)))
        return -1;
    if (v > UINT64_MAX / mult)
        return -1;
    *out = v * mult;
    return 0;
}

int fb_cli_parse_duration_us(const char *s, uint64_t *out)
{
    char *end;
    double v;
    double mult = 1e6;
    if (!*s || !(isdigit((unsigned char)*s) || *s == '.'))
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (errno || v < 0)
        return -1;
    if (!strcmp(end, "us"))
        mult = 1;
    else if (!strcmp(end, "ms"))
        mult = 1e3;
    else if (!strcmp(end, "s") || !*end)
        mult = 1e6;
    else if (!strcmp(end, "m"))
        mult = 60e6;
    else if (!strcmp(end, "h"))
        mult = 3600e6;
    else
        return -1;
    if (v * mult > 1e15)
        return -1;
    *out = (uint64_t)(v * mult);
    return 0;
}

int fb_cli_parse_mount(const char *s, struct fb_gofer_mount *m, struct fb_error *err)
{
    char *copy = strdup(s), *src, *dst, *mode;
    struct stat st;

    if (!copy)
        return fb_error_set(err, ENOMEM, "out of memory");
    src = copy;
    dst = strchr(src, ':');
    if (!dst || dst == src)
        goto bad;
    *dst++ = 0;
    mode = strchr(dst, ':');
    m->ro = true;
    if (mode) {
        *mode++ = 0;
        if (!strcmp(mode, "rw"))
            m->ro = false;
        else if (strcmp(mode, "ro") != 0)
            goto bad;
    }
    if (dst[0] != '/') {
        fb_error_set(err, EINVAL, "--mount %s: the destination must be an absolute path", s);
        free(copy);
        return -1;
    }
    if (stat(src, &st) != 0) {
        fb_error_set(err, errno, "--mount %s: %s: %s", s, src, strerror(errno));
        free(copy);
        return -1;
    }
    m->src = realpath(src, NULL);
    m->dst = strdup(dst);
    free(copy);
    if (!m->src || !m->dst)
        return fb_error_set(err, ENOMEM, "out of memory");
    return 0;
bad:
    free(copy);
    return fb_error_set(err, EINVAL, "--mount %s: expected SRC:DST[:ro|:rw]", s);
}

void fb_cli_env_init(struct fb_cli_env *e)
{
    const char *term = getenv("TERM");
    e->n = 0;
    e->vars[e->n++] = strdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    e->vars[e->n++] = strdup("HOME=/tmp");
    e->vars[e->n++] = strdup("LANG=C.UTF-8");
    if (term) {
        char buf[256];
        snprintf(buf, sizeof(buf), "TERM=%s", term);
        e->vars[e->n++] = strdup(buf);
    }
    e->vars[e->n] = NULL;
}

int fb_cli_env_set(struct fb_cli_env *e, const char *kv, struct fb_error *err)
{
    const char *eq = strchr(kv, '=');
    int i;
    if (!eq || eq == kv)
        return fb_error_set(err, EINVAL, "--env %s: expected NAME=VALUE", kv);
    for (i = 0; i < e->n; i++)
        if (!strncmp(e->vars[i], kv, (size_t)(eq - kv) + 1)) {
            free(e->vars[i]);
            e->vars[i] = strdup(kv);
            return 0;
        }
    if (e->n >= FB_CLI_MAX_ENV)
        return fb_error_set(err, E2BIG, "too many --env options");
    e->vars[e->n++] = strdup(kv);
    e->vars[e->n] = NULL;
    return 0;
}

char **fb_cli_env_finish(struct fb_cli_env *e)
{
    return e->vars;
}

/* Where templates live: $FNBOX_TEMPLATES, else ../templates next to the binary (the source
 * tree's build/fnbox), else /usr/share/fnbox/templates. */
int fb_templates_dir(char *out, size_t size)
{
    const char *env = getenv("FNBOX_TEMPLATES");
    char exe[PATH_MAX];
    ssize_t n;
    struct stat st;

    if (env && *env) {
        snprintf(out, size, "%s", env);
        return 0;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        char *slash;
        exe[n] = 0;
        slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            if ((size_t)snprintf(out, size, "%s/../templates", exe) >= size)
                return -1;
            if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) {
                char *r = realpath(out, NULL);
                if (r) {
                    snprintf(out, size, "%s", r);
                    free(r);
                }
                return 0;
            }
        }
    }
    snprintf(out, size, "/usr/share/fnbox/templates");
    return stat(out, &st) == 0 ? 0 : -1;
}

int fb_cli_std_fds(void)
{
    for (int fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
            return -1;
    return 0;
}

int fb_cli_mkdir_p(const char *path, struct fb_error *err)
{
    char tmp[PATH_MAX];

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s", path) >= sizeof(tmp))
        return fb_error_set(err, ENAMETOOLONG, "mkdir %.64s...: path too long", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
                return fb_error_set(err, errno, "mkdir %s: %s", tmp, strerror(errno));
            *p = '/';
        }
    if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
        return fb_error_set(err, errno, "mkdir %s: %s", tmp, strerror(errno));
    return 0;
}

const char *fb_cli_cache_dir(const char *off_env, const char *dir_env, const char *dflt)
{
    const char *off = getenv(off_env), *dir = getenv(dir_env);

    if (off && (!strcmp(off, "0") || !strcmp(off, "off") || !strcmp(off, "no")))
        return NULL;
    return dir && dir[0] == '/' ? dir : dflt;
}

bool fb_cli_env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && strcmp(v, "0") != 0;
}

uint64_t fb_cli_env_u64(const char *name, uint64_t lo, uint64_t hi, uint64_t dflt,
                        const char *unit)
{
    const char *v = getenv(name);
    uint64_t n;

    if (!v || !*v)
        return dflt;
    if (fb_cli_parse_u64(v, &n) == 0 && n >= lo && n <= hi)
        return n;
    fb_warn("%s=%s: not a number of %s from %llu to %llu (%llu used)", name, v, unit,
            (unsigned long long)lo, (unsigned long long)hi, (unsigned long long)dflt);
    return dflt;
}

int fb_cli_open_own_dir(const char *path, bool create, struct statx *stx, struct fb_error *err)
{
    int fd;

    if (create && fb_cli_mkdir_p(path, err) < 0)
        return -1;
    fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, stx) != 0) {
        fb_error_set(err, errno, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (stx->stx_uid != geteuid() || (stx->stx_mode & 077)) {
        close(fd);
        return fb_error_set(err, EPERM, "%s: not owned by this user or open to others", path);
    }
    return fd;
}

int fb_cli_open_cache_dir(const char *path, bool create, const char *what, const char *fallback,
                          struct statx *stx)
{
    struct fb_error e = {0};
    int fd;

    if (!path)
        return -1;
    fd = fb_cli_open_own_dir(path, create, stx, &e);
    if (fd < 0)
        fb_dbg("%s: %s (%s)", what, e.msg, fallback);
    return fd;
}
