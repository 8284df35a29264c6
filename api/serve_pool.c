/* `fnbox serve` sandboxes: spawning `fnbox restore IMAGE --ready-fd 3`, the warm pools and
 * their manager thread, running one invocation per sandbox, and the metrics it produces. */
#include "api/serve_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernel/mm/memfile.h"
#include "kernel/util/log.h"

#define READY_TIMEOUT_MS 30000 /* a restore that has not reported ready by then is killed */
#define BACKOFF_MAX_NS   (10ll * 1000000000)
#define REFILL_QUIET_NS  (20ll * 1000000) /* see the refill rule in manager_main */
#define WS_HINT_PAGES    64 /* pages read beyond the working set that earn the hint below */

const double fb_hist_bounds[FB_HIST_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                0.25,  0.5,    1,     2.5,  5,     10,   30};

void fb_hist_add(struct fb_hist *h, double seconds)
{
    int i;
    for (i = 0; i < FB_HIST_BUCKETS && seconds > fb_hist_bounds[i]; i++)
        ;
    h->counts[i]++;
    h->n++;
    h->sum += seconds;
}

void fb_server_wake(struct fb_server *s)
{
    uint64_t one = 1;
    if (s->wake_fd >= 0 && write(s->wake_fd, &one, sizeof(one)) < 0) {
        /* the counter is saturated: the manager is awake anyway */
    }
}

/* ---- one sandbox --------------------------------------------------------------------------------
 */

/* Fds a restore is given beyond its standard ones and the ready pipe (0-3): the namespaces and
 * the view it joins, the hot pages, the IPC namespace, its memory file, as its fds 4 to
 * 4 + SPAWN_PASS - 1. */
#define SPAWN_PASS 6

/* What the child of fb_sb_spawn sets up before it becomes `fnbox restore`. */
struct spawn_child {
    char **argv;
    int cpu;
    int std[4];           /* its 0-3: request, response, log, ready pipe */
    int pass[SPAWN_PASS]; /* its 4-9 (-1: closed) */
};

/* The child, sharing the server's memory (CLONE_VM | CLONE_VFORK, as posix_spawn does) rather
 * than a copy of it: fork copied the page tables of a server with every pool's bookkeeping
 * and made each of its threads take copy-on-write faults after every refill, ~1 ms of CPU a
 * sandbox. So it writes no memory of the server's but errno (its thread's, which the caller
 * reads only if clone fails, when this never ran) and makes only system calls (the server
 * installs no signal handlers: nothing of its can run here). It dies with the thread that
 * started it (pool manager or one request). */
static int spawn_child_main(void *arg)
{
    const struct spawn_child *c = arg;
    sigset_t none;
    int high[SPAWN_PASS], i;

    sigemptyset(&none);
    signal(SIGPIPE, SIG_DFL);
    for (i = 0; i < SPAWN_PASS; i++) /* copies clear of 0-9 first: dup2s may hit the originals */
        high[i] = c->pass[i] >= 0 ? fcntl(c->pass[i], F_DUPFD, 4 + SPAWN_PASS) : -1;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (c->cpu >= 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(c->cpu, &one);
        (void)sched_setaffinity(0, sizeof(one), &one); /* best effort */
    }
    for (i = 0; i < 4; i++)
        dup2(c->std[i], i);
    for (i = 0; i < SPAWN_PASS; i++)
        if (high[i] < 0 || dup2(high[i], 4 + i) < 0)
            close(4 + i);
    syscall(SYS_close_range, 4 + SPAWN_PASS, ~0u, 0);
    sigprocmask(SIG_SETMASK, &none, NULL); /* the server blocks its stop signals */
    execv(c->argv[0], c->argv);
    _exit(125);
}

/* ---- memory files handed from one sandbox to the next ------------------------------------------
 * A restore's working set costs most of its CPU in fresh pages (~2-7 us each on this VM, the
 * host's balloon taking freed memory back): the server makes each pool restore's memory file
 * (--memory-fd) and keeps it open; when the sandbox is gone -- its controller exited by itself,
 * which it does only after its Sentry, every stub and its Gofer are reaped -- the file goes to
 * the next restore, which clears it and fills its working set into the pages already there.
 * Nothing of one sandbox reaches the next: the Sentry uses nothing the file held
 * (fb_memfile_init_given: what its image fills is written whole before it is read, the rest
 * punched out), and here everything beyond the image's hot pages is punched out first, so a
 * spare file holds at most that much memory. A file goes only to a restore of the same image
 * (of the same function and code), so that even those places never held another function's
 * data. The functions below: caller holds s->lock. */

/* Take spare i out of the list (its order kept: oldest first); returns its fd. */
static int spare_pop(struct fb_server *s, int i)
{
    int fd = s->spare_mem[i].fd;

    memmove(&s->spare_mem[i], &s->spare_mem[i + 1],
            (size_t)(s->nspare_mem - i - 1) * sizeof(s->spare_mem[0]));
    s->nspare_mem--;
    return fd;
}

int fb_pool_mem_take(struct fb_server *s, const struct fb_image *img)
{
    if (!s->mem_reuse || img->hot_fd < 0)
        return -1;
    for (int i = s->nspare_mem - 1; i >= 0; i--) /* the newest first */
        if (s->spare_mem[i].gen == img->gen) {
            s->mem_reused++;
            return spare_pop(s, i);
        }
    return fb_memfile_tmpfs_file(s->mem_mnt_fd);
}

/* A sandbox whose controller exited by itself: its memory file becomes a spare, if a function
 * still restores its image (one replaced or deleted meanwhile has had its spares dropped),
 * everything in it beyond the image's hot pages punched out. */
static void mem_keep_spare(struct fb_server *s, struct fb_sb *sb)
{
    struct fb_function *fn;

    if (sb->mem_fd < 0 || s->stopping)
        return;
    for (fn = s->fns; fn && !(fn->image && fn->image->gen == sb->mem_gen); fn = fn->next)
        ;
    if (!fn || fb_memfile_punch_from(sb->mem_fd, fn->image->hot_bytes, FB_MEMFILE_SIZE) != 0)
        return;
    if (s->nspare_mem == FB_SPARE_MEM_MAX)
        close(spare_pop(s, 0)); /* the oldest goes */
    s->spare_mem[s->nspare_mem].fd = sb->mem_fd;
    s->spare_mem[s->nspare_mem].gen = sb->mem_gen;
    s->spare_mem[s->nspare_mem].since = fb_serve_now_ns();
    s->nspare_mem++;
    sb->mem_fd = -1;
}

/* Close the spares nobody took for s->spare_idle_ns: a quiet server holds no memory for
 * restores that do not come. */
static void mem_trim_spares(struct fb_server *s, int64_t now)
{
    while (s->nspare_mem > 0 && now - s->spare_mem[0].since > s->spare_idle_ns)
        close(spare_pop(s, 0));
}

void fb_pool_mem_drop_image(struct fb_server *s, unsigned gen)
{
    for (int i = s->nspare_mem - 1; i >= 0; i--)
        if (s->spare_mem[i].gen == gen)
            close(spare_pop(s, i));
}

void fb_pool_mem_drop_spares(struct fb_server *s)
{
    while (s->nspare_mem > 0)
        close(s->spare_mem[--s->nspare_mem].fd);
    if (s->mem_mnt_fd >= 0)
        close(s->mem_mnt_fd);
    s->mem_mnt_fd = -1;
}

struct fb_sb *fb_sb_spawn(struct fb_server *s, struct fb_image *img, uint32_t memory_mb,
                          int view_fd, int mem_fd, int cpu, struct fb_error *err)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1}, rd[2] = {-1, -1};
    char mem[16];
    /* fnbox restore --ready-fd 3, a pair per passed fd, --memory M, IMAGE, NULL */
    char *argv[4 + 2 * SPAWN_PASS + 2 + 2]; /* options go before IMAGE */
    int argc = 0, i;
    /* What the sandbox joins instead of making its own, as fds 4, 5, 6 and 8 of the child,
     * and its hot pages as fd 7. */
    const struct {
        int fd;
        char *opt, *num;
    } pass[SPAWN_PASS] = {
        {s->netns_fd, "--netns-fd", "4"},
        {s->rootns_fd, "--empty-root-fd", "5"},
        {view_fd, "--view-fd", "6"},
        {img->hot_fd, "--hot-fd", "7"},
        {s->ipcns_fd, "--ipcns-fd", "8"},
        {mem_fd, "--memory-fd", "9"},
    };
    struct fb_sb *sb = calloc(1, sizeof(*sb));
    pid_t pid;

    if (!sb) {
        if (mem_fd >= 0)
            close(mem_fd);
        return fb_error_set(err, ENOMEM, "out of memory"), NULL;
    }
    sb->done_fd = -1;
    sb->mem_fd = mem_fd;
    sb->mem_gen = img->gen;
    snprintf(mem, sizeof(mem), "%uM", memory_mb);
    argv[argc++] = (char *)s->o.fnbox_bin;
    argv[argc++] = "restore";
    argv[argc++] = "--ready-fd";
    argv[argc++] = "3";
    for (i = 0; i < SPAWN_PASS; i++)
        if (pass[i].fd >= 0) {
            argv[argc++] = pass[i].opt;
            argv[argc++] = pass[i].num;
        }
    argv[argc++] = "--memory";
    argv[argc++] = mem;
    argv[argc++] = img->path;
    argv[argc] = NULL;
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0 ||
        pipe2(rd, O_CLOEXEC) < 0) {
        fb_error_set(err, errno, "pipe: %s", strerror(errno));
        goto fail;
    }
    {
        struct spawn_child c = {.argv = argv, .cpu = cpu, .std = {in[0], out[1], er[1], rd[1]}};
        for (i = 0; i < SPAWN_PASS; i++)
            c.pass[i] = pass[i].fd;
        /* The child's stack: ours is not used while it runs (CLONE_VFORK suspends us until
         * it has exec'd). */
        _Alignas(16) char stack[32768];
        pid = clone(spawn_child_main, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
    }
    if (pid < 0) {
        fb_error_set(err, errno, "starting fnbox restore: %s", strerror(errno));
        goto fail;
    }
    close(in[0]);
    close(out[1]);
    close(er[1]);
    close(rd[1]);
    sb->pid = pid;
    sb->in_fd = in[1];
    sb->out_fd = out[0];
    sb->err_fd = er[0];
    sb->ready_fd = rd[0];
    fcntl(sb->in_fd, F_SETFL, O_NONBLOCK);
    fcntl(sb->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(sb->err_fd, F_SETFL, O_NONBLOCK);
    fcntl(sb->ready_fd, F_SETFL, O_NONBLOCK);
    sb->image = img;
    sb->joined_view = view_fd >= 0; /* not a source of a fresh view (view_capture) */
    sb->cpu = cpu;
    sb->memory_mb = memory_mb;
    sb->spawn_ns = fb_serve_now_ns();
    return sb;
fail:
    if (mem_fd >= 0)
        close(mem_fd);
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (out[i] >= 0)
            close(out[i]);
        if (er[i] >= 0)
            close(er[i]);
        if (rd[i] >= 0)
            close(rd[i]);
    }
    free(sb);
    return NULL;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void fb_sb_reap(struct fb_sb *sb)
{
    if (!sb->reaped) {
        kill(sb->pid, SIGKILL); /* the Sentry and Gofer follow (parent-death signal) */
        while (waitpid(sb->pid, &sb->wait_status, 0) < 0 && errno == EINTR)
            ;
        sb->reaped = true;
    }
    close_fd(&sb->in_fd);
    close_fd(&sb->out_fd);
    close_fd(&sb->err_fd);
    close_fd(&sb->ready_fd);
    close_fd(&sb->done_fd);
    close_fd(&sb->mem_fd);
}

/* Read whatever stderr holds (non-blocking) as the reason a restore failed. */
static void stderr_reason(struct fb_sb *sb, char *buf, size_t size)
{
    ssize_t n = sb->err_fd >= 0 ? read(sb->err_fd, buf, size - 1) : -1;
    size_t i;
    if (n <= 0) {
        snprintf(buf, size, "the restore exited before it was ready");
        return;
    }
    buf[n] = 0;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = 0;
    for (i = 0; i < (size_t)n; i++)
        if ((unsigned char)buf[i] < 0x20)
            buf[i] = ' ';
}

/* ---- the Gofer's view, shared by the sandboxes of one image -----------------------------------
 * The first sandbox restored from an image builds its Gofer's view as always; once it is
 * ready, its Gofer's mount namespace is kept (an fd of /proc/PID/ns/mnt: the Gofer is the
 * restore's unreaped child, so the pid is its own) and later restores join it (--view-fd)
 * instead of building the same view again (~1.5 ms of CPU and a mount-namespace teardown per
 * restore). A view binds some host files one by one (/etc/resolv.conf, ld.so.cache): one
 * replaced on the host since would be stale in it, so a view is used for VIEW_MAX_AGE_NS at
 * most, then the next ready sandbox gives a fresh one. Caller holds s->lock for all three. */
#define VIEW_MAX_AGE_NS (60ll * 1000000000)

/* A restore that joined the view failed, or the view is too old: the next ready sandbox of the
 * image gives a fresh one. */
static void view_drop(struct fb_image *img)
{
    if (img->view_fd >= 0) {
        close(img->view_fd);
        img->view_fd = -1;
    }
}

static int view_dup(struct fb_image *img)
{
    if (img->view_fd >= 0 && fb_serve_now_ns() - img->view_ns > VIEW_MAX_AGE_NS)
        view_drop(img);
    return img->view_fd >= 0 ? fcntl(img->view_fd, F_DUPFD_CLOEXEC, 3) : -1;
}

/* The Gofer named on the ready line, if it still is the restore's child: the controller reaps
 * it only at its end, but a restore that died right after saying ready may have, and its pid
 * may be another process's by now (another function's Gofer). The /proc directory fd pins the
 * process it was opened for: its parent checked, its namespace is that process's. */
static void view_capture(struct fb_image *img, const struct fb_sb *sb)
{
    char path[48], st[512], *close_paren;
    int dir, fd, ppid = 0;
    ssize_t n;

    if (img->view_fd >= 0 || sb->gofer <= 1 || sb->joined_view)
        return;
    snprintf(path, sizeof(path), "/proc/%d", (int)sb->gofer);
    dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return; /* the next one then */
    fd = openat(dir, "stat", O_RDONLY | O_CLOEXEC);
    n = fd < 0 ? -1 : read(fd, st, sizeof(st) - 1);
    if (fd >= 0)
        close(fd);
    if (n > 0) {
        st[n] = 0;
        close_paren = strrchr(st, ')'); /* after the command name, which may hold anything */
        if (!close_paren || sscanf(close_paren + 1, " %*c %d", &ppid) != 1)
            ppid = 0;
    }
    fd = ppid == sb->pid ? openat(dir, "ns/mnt", O_RDONLY | O_CLOEXEC) : -1;
    close(dir);
    if (fd < 0)
        return;
    img->view_fd = fd;
    img->view_ns = fb_serve_now_ns();
}

/* 1 when the sandbox reported ready, 0 when not yet, -1 when it never will. */
static int sb_check_ready(struct fb_sb *sb)
{
    char buf[32];
    ssize_t n = read(sb->ready_fd, buf, sizeof(buf) - 1);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n >= 5 && !memcmp(buf, "ready", 5)) {
        int g = 0;
        buf[n] = 0;
        if (sscanf(buf, "ready %d", &g) == 1 && g > 1)
            sb->gofer = g;
        sb->ready_ns = fb_serve_now_ns();
        sb->done_fd = sb->ready_fd; /* next on it: the exit status */
        sb->ready_fd = -1;
        return 1;
    }
    return -1;
}

/* Block until the sandbox is ready (a cold start on a request's thread). */
static int sb_wait_ready(struct fb_sb *sb, struct fb_error *err)
{
    int64_t deadline = sb->spawn_ns + (int64_t)READY_TIMEOUT_MS * 1000000;
    for (;;) {
        struct pollfd p = {sb->ready_fd, POLLIN, 0};
        int64_t left = (deadline - fb_serve_now_ns()) / 1000000;
        int r;
        if (left <= 0)
            return fb_error_set(err, ETIMEDOUT, "the restore did not get ready in %d ms",
                                READY_TIMEOUT_MS);
        r = poll(&p, 1, (int)left);
        if (r < 0 && errno != EINTR)
            return fb_error_set(err, errno, "poll: %s", strerror(errno));
        if (r > 0) {
            int c = sb_check_ready(sb);
            if (c > 0)
                return 0;
            if (c < 0) {
                char why[200];
                usleep(20000); /* let its last words reach the pipe */
                stderr_reason(sb, why, sizeof(why));
                fb_sb_reap(sb);
                return fb_error_set(err, EIO, "restore failed: %s", why);
            }
        }
    }
}

/* ---- running one invocation ---------------------------------------------------------------------
 */

static void tail_append(struct fb_invocation *inv, const char *p, size_t n)
{
    inv->log_total += n;
    if (n >= FB_SERVE_LOG_TAIL) {
        memcpy(inv->log_tail, p + n - FB_SERVE_LOG_TAIL, FB_SERVE_LOG_TAIL);
        inv->log_tail_len = FB_SERVE_LOG_TAIL;
        return;
    }
    if (inv->log_tail_len + n > FB_SERVE_LOG_TAIL) {
        size_t drop = inv->log_tail_len + n - FB_SERVE_LOG_TAIL;
        memmove(inv->log_tail, inv->log_tail + drop, inv->log_tail_len - drop);
        inv->log_tail_len -= drop;
    }
    memcpy(inv->log_tail + inv->log_tail_len, p, n);
    inv->log_tail_len += n;
}

static int resp_append(struct fb_invocation *inv, size_t *cap, const char *p, size_t n)
{
    if (inv->response_len + n > FB_SERVE_MAX_RESPONSE) {
        inv->response_truncated = true;
        n = FB_SERVE_MAX_RESPONSE - inv->response_len;
    }
    if (inv->response_len + n + 1 > *cap) {
        size_t nc = *cap ? *cap * 2 : 4096;
        char *nb;
        while (nc < inv->response_len + n + 1)
            nc *= 2;
        nb = realloc(inv->response, nc);
        if (!nb)
            return -1;
        inv->response = nb;
        *cap = nc;
    }
    memcpy(inv->response + inv->response_len, p, n);
    inv->response_len += n;
    inv->response[inv->response_len] = 0;
    return 0;
}

static void set_body(struct fb_invocation *inv, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_body(struct fb_invocation *inv, const char *type, const char *fmt, ...)
{
    va_list ap;
    char msg[200];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(inv->message, sizeof(inv->message), "%s", msg);
    free(inv->response);
    inv->response = NULL;
    inv->response_len = 0;
    if (asprintf(&inv->response, "{\"errorMessage\":\"%s\",\"errorType\":\"%s\"}", msg, type) > 0)
        inv->response_len = strlen(inv->response);
    else
        inv->response = NULL;
}

/* "exit N image_pages P" on the done pipe: the program exited with status N, having touched P
 * pages its restore left in the image, and its output is all in the pipes. Returns N (P in
 * *pages), -1 for nothing (yet), -2 when the pipe is closed without it. */
static int sb_check_done(struct fb_sb *sb, uint64_t *pages)
{
    char buf[64];
    ssize_t n = read(sb->done_fd, buf, sizeof(buf) - 1);
    unsigned long long p = 0;
    int code = -1;

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return -1;
    close_fd(&sb->done_fd);
    if (n <= 0)
        return -2;
    buf[n] = 0;
    if (sscanf(buf, "exit %d image_pages %llu\n", &code, &p) < 1 || code < 0 || code > 255)
        return -2;
    *pages = p;
    return code;
}

/* Read what a pipe holds until it is empty (non-blocking). */
static void drain(int fd, char *buf, size_t size, struct fb_invocation *inv, size_t *cap,
                  bool is_out)
{
    for (;;) {
        ssize_t n = read(fd, buf, size);
        if (n > 0) {
            if (is_out)
                resp_append(inv, cap, buf, (size_t)n);
            else
                tail_append(inv, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return;
    }
}

/* Feed the event, collect stdout and stderr, enforce the timeout; fills outcome and status.
 * Returns true when the sandbox process is still to be reaped (it announced its exit status
 * and is tearing down: the caller hands it to the pool manager). */
static bool sb_run(struct fb_sb *sb, struct fb_invocation *inv, uint32_t timeout_ms)
{
    int64_t start = fb_serve_now_ns(), deadline = start + (int64_t)timeout_ms * 1000000;
    int64_t exit_grace = 0;
    size_t written = 0, cap = 0;
    bool timed_out = false, early = false;
    int pidfd = (int)syscall(SYS_pidfd_open, sb->pid, 0);
    char buf[65536];

    if (inv->event_len == 0)
        close_fd(&sb->in_fd);
    while (sb->out_fd >= 0 || sb->err_fd >= 0 || !sb->reaped) {
        struct pollfd p[5] = {
            {sb->in_fd, POLLOUT, 0},
            {sb->out_fd, POLLIN, 0},
            {sb->err_fd, POLLIN, 0},
            {sb->reaped ? -1 : pidfd, POLLIN, 0},
            {sb->done_fd, POLLIN, 0},
        };
        int64_t now = fb_serve_now_ns(), until = deadline;
        int r, wait_ms;
        if (exit_grace && exit_grace < until)
            until = exit_grace;
        if (now >= until) {
            if (exit_grace && now >= exit_grace)
                break; /* exited, but something still holds the pipes */
            if (!timed_out) {
                timed_out = true;
                kill(sb->pid, SIGKILL);
                deadline = now + 2000000000ll; /* time to collect what it said */
                continue;
            }
            break;
        }
        wait_ms = (int)((until - now + 999999) / 1000000);
        if (pidfd < 0 && !sb->reaped && wait_ms > 50)
            wait_ms = 50; /* no pidfd: poll waitpid */
        r = poll(p, 5, wait_ms);
        if (r < 0 && errno != EINTR)
            break;
        if (p[0].revents & (POLLOUT | POLLERR | POLLHUP)) {
            ssize_t n = write(sb->in_fd, inv->event + written, inv->event_len - written);
            if (n > 0)
                written += (size_t)n;
            if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == inv->event_len)
                close_fd(&sb->in_fd); /* EOF ends the request; EPIPE: it stopped reading */
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(sb->out_fd, buf, sizeof(buf));
            if (n > 0)
                resp_append(inv, &cap, buf, (size_t)n);
            else if (n == 0 || (errno != EAGAIN && errno != EINTR))
                close_fd(&sb->out_fd);
        }
        if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(sb->err_fd, buf, sizeof(buf));
            if (n > 0)
                tail_append(inv, buf, (size_t)n);
            else if (n == 0 || (errno != EAGAIN && errno != EINTR))
                close_fd(&sb->err_fd);
        }
        if (p[4].revents) {
            int code = sb_check_done(sb, &inv->image_pages);
            if (code >= 0) {
                /* Everything it wrote is in the pipes: take it and answer now. */
                if (sb->out_fd >= 0)
                    drain(sb->out_fd, buf, sizeof(buf), inv, &cap, true);
                if (sb->err_fd >= 0)
                    drain(sb->err_fd, buf, sizeof(buf), inv, &cap, false);
                sb->wait_status = (code & 0xff) << 8; /* as waitpid reports exit(code) */
                early = true;
                break;
            }
        }
        if (!sb->reaped && (p[3].revents || pidfd < 0)) {
            pid_t w = waitpid(sb->pid, &sb->wait_status, WNOHANG);
            if (w == sb->pid) {
                sb->reaped = true;
                exit_grace = fb_serve_now_ns() + 500000000ll;
                close_fd(&sb->in_fd);
            }
        }
    }
    if (pidfd >= 0)
        close(pidfd);
    if (!early)
        fb_sb_reap(sb);
    inv->run_ms = (fb_serve_now_ns() - start) / 1e6;

    int st = sb->wait_status;
    inv->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (timed_out) {
        inv->outcome = FB_OUT_TIMEOUT;
        set_body(inv, "Sandbox.Timedout", "Task timed out after %.2f seconds", timeout_ms / 1000.0);
    } else if (WIFSIGNALED(st)) {
        inv->outcome = FB_OUT_PLATFORM_ERROR;
        snprintf(inv->message, sizeof(inv->message), "the sandbox died (signal %d)", WTERMSIG(st));
    } else if (inv->exit_status == 0 && !inv->response_truncated) {
        inv->outcome = FB_OUT_OK;
    } else if (inv->exit_status == 0) {
        inv->outcome = FB_OUT_FUNCTION_ERROR;
        set_body(inv, "Function.ResponseSizeTooLarge",
                 "Response payload size exceeded maximum allowed payload size (%d bytes)",
                 FB_SERVE_MAX_RESPONSE);
    } else if (inv->exit_status == 125 || inv->exit_status == 127 || inv->exit_status == 126) {
        char *nl;
        inv->outcome = FB_OUT_PLATFORM_ERROR;
        snprintf(inv->message, sizeof(inv->message), "the sandbox failed (status %d): %.*s",
                 inv->exit_status, (int)(inv->log_tail_len > 180 ? 180 : inv->log_tail_len),
                 inv->log_tail + (inv->log_tail_len > 180 ? inv->log_tail_len - 180 : 0));
        while ((nl = strchr(inv->message, '\n')))
            *nl = ' ';
    } else if (inv->exit_status == 124) {
        inv->outcome = FB_OUT_TIMEOUT;
        set_body(inv, "Sandbox.Timedout", "Task timed out after %.2f seconds", timeout_ms / 1000.0);
    } else if (memmem(inv->log_tail, inv->log_tail_len, "memory limit", 12) ||
               memmem(inv->log_tail, inv->log_tail_len, "out of memory", 13)) {
        inv->outcome = FB_OUT_OOM;
        set_body(inv, "Runtime.OutOfMemory", "Runtime exited: memory limit of %u MB exceeded",
                 inv->memory_mb);
    } else {
        inv->outcome = FB_OUT_FUNCTION_ERROR;
        if (inv->response_len == 0)
            set_body(inv, "Runtime.ExitError", "Runtime exited with error: exit status %d",
                     inv->exit_status);
        else
            snprintf(inv->message, sizeof(inv->message), "exit status %d", inv->exit_status);
    }
    return early;
}

/* ---- the pool -----------------------------------------------------------------------------------
 */

static void list_remove(struct fb_sb **head, struct fb_sb *sb)
{
    for (; *head; head = &(*head)->next)
        if (*head == sb) {
            *head = sb->next;
            sb->next = NULL;
            return;
        }
}

static bool list_has(struct fb_sb *head, struct fb_sb *sb)
{
    for (; head; head = head->next)
        if (head == sb)
            return true;
    return false;
}

void fb_pool_evict(struct fb_function *fn, bool all, struct fb_sb **out)
{
    struct fb_sb **pp = &fn->idle;
    while (*pp) {
        struct fb_sb *sb = *pp;
        if (all || sb->image != fn->image) {
            *pp = sb->next;
            sb->next = *out;
            *out = sb;
            fn->n_idle--;
        } else {
            pp = &sb->next;
        }
    }
}

void fb_pool_reap_list(struct fb_server *s, struct fb_sb *list)
{
    struct fb_sb *sb, *next;
    for (sb = list; sb; sb = sb->next)
        fb_sb_reap(sb);
    pthread_mutex_lock(&s->lock);
    for (sb = list; sb; sb = next) {
        next = sb->next;
        fb_image_put(s, sb->image);
        if (sb->fn)
            fb_fn_put(s, sb->fn);
        free(sb);
    }
    pthread_mutex_unlock(&s->lock);
}

/* Reap the sandboxes answered before they exited that are gone by now (caller holds s->lock;
 * never blocks). */
static void reap_exiting(struct fb_server *s)
{
    struct fb_sb **p = &s->exiting, *sb;
    while ((sb = *p)) {
        int st;
        pid_t r;
        while ((r = waitpid(sb->pid, &st, WNOHANG)) < 0 && errno == EINTR)
            ;
        if (r == 0) {
            p = &sb->next;
            continue;
        }
        *p = sb->next;
        sb->reaped = true;
        if (WIFEXITED(st)) /* (not killed: it reaped its sandbox first) */
            mem_keep_spare(s, sb);
        fb_sb_reap(sb); /* closes its pipes */
        free(sb);
    }
}

/* Refills and invocations on different CPUs. A sandbox runs on the CPU its restore started on
 * (pinned: a hand-off between the Sentry and its stub is cheaper there). A refill is ~10 ms
 * of CPU; an invocation on the CPU a refill is using waits for its share: the python
 * function's warm invocation, paced every 20 ms, took 2.6 ms at p50 so, 1.5 ms with no refill
 * running. So a CPU's load is its refills under way, invocations running and sandboxes
 * tearing down; the pool manager starts each refill on the least loaded CPU, then the one
 * with the fewest idle sandboxes, which keeps some idle on every CPU (fb_pool_refill_cpu),
 * and an invocation takes the newest idle sandbox on the least loaded CPU
 * (fb_pool_take_idle). */

/* The slot of host CPU cpu in s->cpus, -1 if it is not one of them (a sandbox not placed). */
static int cpu_slot(const struct fb_server *s, int cpu)
{
    for (int i = 0; i < s->ncpus; i++)
        if (s->cpus[i] == cpu)
            return i;
    return -1;
}

/* Add the sandboxes of the list sb to the count of the CPU each is on (n: s->cpus order). */
static void count_on(const struct fb_server *s, const struct fb_sb *sb, int *n)
{
    for (; sb; sb = sb->next) {
        int k = cpu_slot(s, sb->cpu);
        if (k >= 0)
            n[k]++;
    }
}

/* Every placement CPU's load, in one pass over the sandboxes (not one per CPU or candidate:
 * this runs under the server's lock on every invocation). */
static void cpu_loads(const struct fb_server *s, int *load)
{
    memset(load, 0, sizeof(*load) * (size_t)s->ncpus);
    count_on(s, s->starting, load);
    count_on(s, s->exiting, load);
    for (const struct fb_function *fn = s->fns; fn; fn = fn->next)
        count_on(s, fn->busy, load);
}

int fb_pool_refill_cpu(struct fb_server *s)
{
    int load[FB_SERVE_MAX_CPUS], idle[FB_SERVE_MAX_CPUS] = {0}, best = -1;

    if (s->ncpus <= 0)
        return -1;
    cpu_loads(s, load);
    for (const struct fb_function *fn = s->fns; fn; fn = fn->next)
        count_on(s, fn->idle, idle);
    for (int i = 0; i < s->ncpus; i++)
        if (best < 0 || load[i] < load[best] || (load[i] == load[best] && idle[i] < idle[best]))
            best = i;
    return s->cpus[best];
}

struct fb_sb *fb_pool_take_idle(struct fb_server *s, struct fb_function *fn)
{
    struct fb_sb **pp, **pick = &fn->idle, *sb;
    int load[FB_SERVE_MAX_CPUS], pick_load = -1;

    if (s->ncpus > 0)
        cpu_loads(s, load);
    for (pp = &fn->idle; *pp && pick_load != 0; pp = &(*pp)->next) {
        int k = cpu_slot(s, (*pp)->cpu), l = k < 0 ? 0 : load[k];
        if (pick_load < 0 || l < pick_load) {
            pick = pp;
            pick_load = l;
        }
    }
    sb = *pick;
    if (sb) {
        *pick = sb->next;
        sb->next = NULL;
        fn->n_idle--;
    }
    return sb;
}

/* The manager: refills every pool to its min in the background, turns "ready" reports into idle
 * sandboxes, notices idle sandboxes that died, backs off from failing restores, reaps the
 * sandboxes answered before their exit. */
static void *manager_main(void *arg)
{
    struct fb_server *s = arg;
    size_t cap = 0;
    struct pollfd *pfd = NULL;
    struct fb_sb **who = NULL;

    prctl(PR_SET_NAME, "fnbox-pool");
    for (;;) {
        struct fb_function *fn;
        struct fb_sb *sb, *dead = NULL;
        size_t n = 0, i;
        int64_t now = fb_serve_now_ns();

        pthread_mutex_lock(&s->lock);
        if (s->stopping) {
            pthread_mutex_unlock(&s->lock);
            break;
        }
        /* 1. spawn what the pools lack (fork is quick; readiness is awaited below). A restore
         * costs tens of milliseconds of CPU: while the function has invocations running and
         * the pool is still at least half full, the refill waits until the function has been
         * quiet for REFILL_QUIET_NS rather than compete with its invocations for the CPU. */
        for (fn = s->fns; fn; fn = fn->next) {
            while (!fn->deleted && !fn->building && fn->image && !s->draining &&
                   now >= fn->backoff_until_ns && fn->n_idle + fn->n_starting < fn->cfg.pool_min &&
                   (fn->n_waiting > 0 || 2 * (fn->n_idle + fn->n_starting) < fn->cfg.pool_min ||
                    (fn->n_busy == 0 && now - fn->last_done_ns >= REFILL_QUIET_NS)) &&
                   fn->n_idle + fn->n_starting + fn->n_busy < fn->cfg.pool_max) {
                struct fb_error err = {0};
                int view = view_dup(fn->image), mem = fb_pool_mem_take(s, fn->image);
                sb = fb_sb_spawn(s, fn->image, fn->cfg.memory_mb, view, mem,
                                 fb_pool_refill_cpu(s), &err);
                if (view >= 0)
                    close(view);
                if (!sb) {
                    snprintf(fn->pool_error, sizeof(fn->pool_error), "%.200s", err.msg);
                    fn->backoff_until_ns = now + 1000000000ll;
                    break;
                }
                fn->image->refs++;
                fn->refs++;
                sb->fn = fn;
                fn->n_starting++;
                sb->next = s->starting;
                s->starting = sb;
            }
        }
        /* 2. the poll set */
        for (fn = s->fns; fn; fn = fn->next)
            for (sb = fn->idle; sb; sb = sb->next)
                n++;
        for (sb = s->starting; sb; sb = sb->next)
            n++;
        if (n + 1 > cap) {
            size_t nc = (n + 1) * 2;
            struct pollfd *np = realloc(pfd, nc * sizeof(*pfd));
            struct fb_sb **nw = np ? realloc(who, nc * sizeof(*who)) : NULL;
            if (np)
                pfd = np;
            if (nw)
                who = nw;
            if (!np || !nw) {
                pthread_mutex_unlock(&s->lock);
                sleep(1);
                continue;
            }
            cap = nc;
        }
        n = 0;
        pfd[n++] = (struct pollfd){s->wake_fd, POLLIN, 0};
        for (sb = s->starting; sb; sb = sb->next) {
            who[n] = sb;
            pfd[n++] = (struct pollfd){sb->ready_fd, POLLIN, 0};
        }
        for (fn = s->fns; fn; fn = fn->next)
            for (sb = fn->idle; sb; sb = sb->next) {
                who[n] = sb;
                pfd[n++] = (struct pollfd){sb->out_fd, POLLIN, 0}; /* EOF: it died */
            }
        pthread_mutex_unlock(&s->lock);

        if (poll(pfd, n, 25) < 0 && errno != EINTR) /* 25 ms: quiet periods end unannounced */
            sleep(1);

        pthread_mutex_lock(&s->lock);
        if (pfd[0].revents) {
            uint64_t v;
            if (read(s->wake_fd, &v, sizeof(v)) < 0) {
                /* EAGAIN: someone else drained it */
            }
        }
        now = fb_serve_now_ns();
        for (i = 1; i < n; i++) {
            sb = who[i];
            if (list_has(s->starting, sb)) {
                int c = pfd[i].revents ? sb_check_ready(sb) : 0;
                fn = sb->fn;
                if (c == 0 && now - sb->spawn_ns < (int64_t)READY_TIMEOUT_MS * 1000000)
                    continue;
                list_remove(&s->starting, sb);
                fn->n_starting--;
                if (c > 0 && !fn->deleted && sb->image == fn->image) {
                    view_capture(sb->image, sb);
                    fb_hist_add(&s->restore, (sb->ready_ns - sb->spawn_ns) / 1e9);
                    fn->fail_streak = 0;
                    fn->pool_error[0] = 0;
                    sb->next = fn->idle;
                    fn->idle = sb;
                    fn->n_idle++;
                    pthread_cond_broadcast(&fn->cond);
                    continue;
                }
                if (c <= 0) {
                    int64_t back = 100000000ll << (fn->fail_streak < 7 ? fn->fail_streak : 7);
                    if (sb->joined_view)
                        view_drop(sb->image);
                    fn->fail_streak++;
                    fn->backoff_until_ns = now + (back > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : back);
                    if (c < 0)
                        stderr_reason(sb, fn->pool_error, sizeof(fn->pool_error));
                    else
                        snprintf(fn->pool_error, sizeof(fn->pool_error),
                                 "the restore did not get ready in %d ms", READY_TIMEOUT_MS);
                    fb_warn("pool %s: %s", fn->cfg.name, fn->pool_error);
                    pthread_cond_broadcast(&fn->cond); /* waiters may start their own */
                }
                sb->next = dead;
                dead = sb;
            } else if (pfd[i].revents) {
                /* sb may have been taken and freed meanwhile: find it without touching it */
                for (fn = s->fns; fn; fn = fn->next)
                    if (list_has(fn->idle, sb)) {
                        list_remove(&fn->idle, sb);
                        fn->n_idle--;
                        sb->next = dead;
                        dead = sb;
                        break;
                    }
            }
        }
        reap_exiting(s);
        mem_trim_spares(s, fb_serve_now_ns());
        pthread_mutex_unlock(&s->lock);
        if (dead)
            fb_pool_reap_list(s, dead);
    }
    free(pfd);
    free(who);
    return NULL;
}

void fb_pool_manager_start(struct fb_server *s)
{
    if (pthread_create(&s->manager, NULL, manager_main, s) == 0)
        s->manager_started = true;
    else
        fb_err("cannot start the pool manager: warm pools stay empty");
}

/* ---- invocations --------------------------------------------------------------------------------
 */

static void log_invocation(struct fb_server *s, const char *name, const struct fb_invocation *inv,
                           double total_ms)
{
    struct timespec ts;
    struct tm tm;
    char when[32];
    char msg[2 * sizeof(inv->message)];
    size_t i, o = 0;
    if (s->o.quiet)
        return;
    for (i = 0; inv->message[i] && o + 2 < sizeof(msg); i++) {
        unsigned char c = (unsigned char)inv->message[i];
        if (c == '"' || c == '\\')
            msg[o++] = '\\';
        msg[o++] = c < 0x20 ? ' ' : (char)c;
    }
    msg[o] = 0;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    /* one line per invocation, JSON so that log pipelines can parse it; names are validated
     * and messages come from this file, so nothing here needs escaping beyond quotes */
    fprintf(stderr,
            "{\"ts\":\"%s.%03ldZ\",\"event\":\"invoke\",\"request_id\":\"%s\",\"function\":\"%s\","
            "\"outcome\":\"%s\",\"start\":\"%s\",\"exit_status\":%d,\"queue_ms\":%.3f,"
            "\"restore_ms\":%.3f,\"run_ms\":%.3f,\"total_ms\":%.3f,\"image_pages\":%llu,"
            "\"event_bytes\":%zu,\"response_bytes\":%zu,\"log_bytes\":%llu,\"timeout_ms\":%u,"
            "\"memory_mb\":%u,\"message\":\"%s\"}\n",
            when, ts.tv_nsec / 1000000, inv->request_id, name, fb_outcome_names[inv->outcome],
            inv->warm ? "warm" : "cold", inv->exit_status, inv->queue_ms, inv->restore_ms,
            inv->run_ms, total_ms, (unsigned long long)inv->image_pages, inv->event_len,
            inv->response_len, (unsigned long long)inv->log_total, inv->timeout_ms,
            inv->memory_mb, msg);
}

int fb_server_invoke(struct fb_server *s, const char *name, struct fb_invocation *inv)
{
    int64_t t0 = fb_serve_now_ns(), acquired;
    struct fb_function *fn;
    struct fb_sb *sb = NULL;
    struct fb_error err = {0};
    bool custom, tearing_down, hint = false;
    int64_t queue_deadline = t0 + (int64_t)s->o.queue_timeout_ms * 1000000;

    inv->exit_status = -1;
    pthread_mutex_lock(&s->lock);
    fn = fb_fn_find(s, name);
    if (!fn) {
        pthread_mutex_unlock(&s->lock);
        inv->http_status = 404;
        snprintf(inv->message, sizeof(inv->message), "function %s does not exist", name);
        return -1;
    }
    if (s->draining && !inv->accepted) {
        pthread_mutex_unlock(&s->lock);
        inv->http_status = 503;
        snprintf(inv->message, sizeof(inv->message), "the server is shutting down");
        return -1;
    }
    fn->refs++;
    if (!inv->accepted) /* an accepted Event is counted already */
        s->inflight++;
    if (!inv->timeout_ms)
        inv->timeout_ms = fn->cfg.timeout_ms;
    if (!inv->memory_mb)
        inv->memory_mb = fn->cfg.memory_mb;
    custom = inv->cold_only || inv->memory_mb != fn->cfg.memory_mb;
    for (;;) {
        if (fn->deleted) {
            inv->http_status = 404;
            snprintf(inv->message, sizeof(inv->message), "function %s was deleted", name);
            goto refuse;
        }
        if (!custom && fn->idle) {
            sb = fb_pool_take_idle(s, fn);
            inv->warm = true;
            break;
        }
        if (fn->n_idle + fn->n_starting + fn->n_busy < fn->cfg.pool_max &&
            (fn->n_starting <= fn->n_waiting || custom)) {
            struct fb_image *img = fn->image;
            int view = view_dup(img), mem = fb_pool_mem_take(s, img);
            img->refs++;
            fn->n_busy++; /* the slot is ours while the restore runs */
            pthread_mutex_unlock(&s->lock);
            sb = fb_sb_spawn(s, img, inv->memory_mb, view, mem, -1, &err);
            if (view >= 0)
                close(view);
            bool joined = view >= 0;
            if (sb && sb_wait_ready(sb, &err) < 0) {
                fb_sb_reap(sb);
                free(sb);
                sb = NULL;
            }
            pthread_mutex_lock(&s->lock);
            if (!sb) {
                if (joined)
                    view_drop(img);
                fn->n_busy--;
                fb_image_put(s, img);
                pthread_cond_broadcast(&fn->cond);
                inv->http_status = 502;
                inv->outcome = FB_OUT_PLATFORM_ERROR;
                snprintf(inv->message, sizeof(inv->message), "%.200s", err.msg);
                fn->outcomes[FB_OUT_PLATFORM_ERROR]++;
                goto refuse;
            }
            fn->n_busy--; /* counted again below, with the warm path */
            view_capture(img, sb);
            fb_hist_add(&s->restore, (sb->ready_ns - sb->spawn_ns) / 1e9);
            inv->restore_ms = (sb->ready_ns - sb->spawn_ns) / 1e6;
            break;
        }
        if (fn->n_waiting >= s->o.queue_max || fb_serve_now_ns() >= queue_deadline) {
            inv->http_status = 429;
            inv->retry_after = 1;
            inv->outcome = FB_OUT_THROTTLED;
            snprintf(inv->message, sizeof(inv->message),
                     "function %s is at its concurrency limit (%d) and %d requests are queued",
                     name, fn->cfg.pool_max, fn->n_waiting);
            fn->outcomes[FB_OUT_THROTTLED]++;
            goto refuse;
        }
        {
            struct timespec dl;
            int64_t left = queue_deadline - fb_serve_now_ns();
            clock_gettime(CLOCK_REALTIME, &dl);
            dl.tv_sec += left / 1000000000;
            dl.tv_nsec += left % 1000000000;
            if (dl.tv_nsec >= 1000000000) {
                dl.tv_sec++;
                dl.tv_nsec -= 1000000000;
            }
            fn->n_waiting++;
            fb_server_wake(s);
            pthread_cond_timedwait(&fn->cond, &s->lock, &dl);
            fn->n_waiting--;
        }
    }
    fn->n_busy++;
    sb->next = fn->busy;
    fn->busy = sb;
    if (sb->fn) { /* a pool sandbox: its pool reference becomes ours (we hold one already) */
        sb->fn = NULL;
        fn->refs--;
    }
    fb_server_wake(s); /* refill */
    pthread_mutex_unlock(&s->lock);

    acquired = fb_serve_now_ns();
    inv->queue_ms = (acquired - t0) / 1e6 - inv->restore_ms;
    if (inv->queue_ms < 0)
        inv->queue_ms = 0;
    tearing_down = sb_run(sb, inv, inv->timeout_ms);

    pthread_mutex_lock(&s->lock);
    list_remove(&fn->busy, sb);
    fn->n_busy--;
    fn->last_done_ns = fb_serve_now_ns();
    fn->outcomes[inv->outcome]++;
    if (inv->warm)
        fn->warm_starts++;
    else
        fn->cold_starts++;
    fn->image_pages += inv->image_pages;
    /* A request far off the training runs' path: said once (below, outside the lock). */
    if (inv->image_pages >= WS_HINT_PAGES && !fn->ws_hint_said)
        hint = fn->ws_hint_said = true;
    fb_hist_add(&fn->duration, (fb_serve_now_ns() - t0) / 1e9);
    fb_image_put(s, sb->image);
    sb->image = NULL;
    if (tearing_down && s->manager_started && !s->stopping) {
        sb->next = s->exiting; /* answered before its exit: the pool manager reaps it */
        s->exiting = sb;
        sb = NULL;
    }
    pthread_cond_broadcast(&fn->cond);
    fb_server_wake(s);
    fb_fn_put(s, fn);
    if (!inv->accepted && --s->inflight == 0)
        pthread_cond_broadcast(&s->inflight_cond);
    pthread_mutex_unlock(&s->lock);
    if (sb) { /* nobody else will: reap it here (a no-op for one already reaped) */
        fb_sb_reap(sb);
        free(sb);
    }
    if (hint)
        fb_warn("function %s: an invocation read %llu memory pages beyond the working set its "
                "image was trained on (a fault for each few, ~0.1 ms each); register it with a "
                "\"train_event\" (or \"train_events\") like its requests",
                name, (unsigned long long)inv->image_pages);
    log_invocation(s, name, inv, (fb_serve_now_ns() - t0) / 1e6);
    return 0;

refuse:
    fb_fn_put(s, fn);
    if (!inv->accepted && --s->inflight == 0)
        pthread_cond_broadcast(&s->inflight_cond);
    pthread_mutex_unlock(&s->lock);
    if (inv->outcome == FB_OUT_PLATFORM_ERROR || inv->outcome == FB_OUT_THROTTLED)
        log_invocation(s, name, inv, (fb_serve_now_ns() - t0) / 1e6);
    return -1;
}

struct async_job {
    struct fb_server *s;
    char name[FB_SERVE_NAME_MAX + 1];
    char request_id[40];
    char *event;
    size_t len;
};

static void *async_main(void *arg)
{
    struct async_job *j = arg;
    struct fb_invocation inv;
    memset(&inv, 0, sizeof(inv));
    inv.event = j->event;
    inv.event_len = j->len;
    inv.accepted = true;
    snprintf(inv.request_id, sizeof(inv.request_id), "%s", j->request_id);
    if (fb_server_invoke(j->s, j->name, &inv) < 0 && inv.outcome != FB_OUT_PLATFORM_ERROR &&
        inv.outcome != FB_OUT_THROTTLED) /* those have their log line already */
        fb_warn("event %s for function %s not run: %s", inv.request_id, j->name, inv.message);
    free(inv.response);
    pthread_mutex_lock(&j->s->lock);
    if (--j->s->inflight == 0)
        pthread_cond_broadcast(&j->s->inflight_cond);
    pthread_mutex_unlock(&j->s->lock);
    free(j->event);
    free(j);
    return NULL;
}

int fb_server_invoke_async(struct fb_server *s, const char *name, const char *event, size_t len,
                           const char *request_id)
{
    struct async_job *j = calloc(1, sizeof(*j));
    pthread_attr_t attr;
    pthread_t th;
    int r;
    if (!j)
        return -1;
    j->s = s;
    snprintf(j->name, sizeof(j->name), "%s", name);
    snprintf(j->request_id, sizeof(j->request_id), "%s", request_id);
    j->event = malloc(len + 1);
    if (!j->event) {
        free(j);
        return -1;
    }
    memcpy(j->event, event, len);
    j->len = len;
    pthread_mutex_lock(&s->lock);
    s->inflight++; /* the drain waits for queued events too */
    pthread_mutex_unlock(&s->lock);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    r = pthread_create(&th, &attr, async_main, j);
    pthread_attr_destroy(&attr);
    if (r != 0) {
        pthread_mutex_lock(&s->lock);
        s->inflight--;
        s->async_dropped++;
        pthread_mutex_unlock(&s->lock);
        free(j->event);
        free(j);
        return -1;
    }
    return 0;
}

/* ---- shutdown -----------------------------------------------------------------------------------
 */

static bool wait_inflight(struct fb_server *s, uint32_t ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += ms / 1000;
    dl.tv_nsec += (long)(ms % 1000) * 1000000;
    if (dl.tv_nsec >= 1000000000) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000;
    }
    while (s->inflight > 0)
        if (pthread_cond_timedwait(&s->inflight_cond, &s->lock, &dl) == ETIMEDOUT)
            break;
    return s->inflight == 0;
}

void fb_server_drain(struct fb_server *s)
{
    struct fb_function *fn;
    pthread_mutex_lock(&s->lock);
    s->draining = true;
    for (fn = s->fns; fn; fn = fn->next)
        pthread_cond_broadcast(&fn->cond);
    if (!wait_inflight(s, s->o.drain_timeout_ms)) {
        struct fb_sb *sb;
        fb_warn("drain: %d invocations still running after %u ms: killing their sandboxes",
                s->inflight, s->o.drain_timeout_ms);
        for (fn = s->fns; fn; fn = fn->next)
            for (sb = fn->busy; sb; sb = sb->next)
                kill(sb->pid, SIGKILL);
        wait_inflight(s, 5000);
    }
    pthread_mutex_unlock(&s->lock);
}

void fb_server_stop(struct fb_server *s)
{
    struct fb_function *fn;
    struct fb_sb *all = NULL, *sb;

    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    s->draining = true;
    pthread_mutex_unlock(&s->lock);
    fb_server_wake(s);
    if (s->manager_started)
        pthread_join(s->manager, NULL);
    pthread_mutex_lock(&s->lock);
    while ((sb = s->starting)) {
        s->starting = sb->next;
        sb->next = all;
        all = sb;
    }
    for (fn = s->fns; fn; fn = fn->next) {
        fb_pool_evict(fn, true, &all);
        if (fn->image)
            fn->image->keep = true; /* the registry still names it */
    }
    while ((sb = s->exiting)) { /* killed and reaped below, outside the lock, like the rest */
        s->exiting = sb->next;
        sb->next = all;
        all = sb;
    }
    pthread_mutex_unlock(&s->lock);
    for (sb = all; sb; sb = sb->next)
        fb_sb_reap(sb);
    pthread_mutex_lock(&s->lock);
    fb_pool_mem_drop_spares(s);
    pthread_mutex_unlock(&s->lock);
}

/* ---- metrics ------------------------------------------------------------------------------------
 */

struct mbuf {
    char *p;
    size_t len, cap;
};

static void mprintf(struct mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mprintf(struct mbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t nc = b->cap ? b->cap * 2 : 8192;
        while (nc < b->len + (size_t)n + 1)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np)
            return;
        b->p = np;
        b->cap = nc;
    }
}

static void hist_print(struct mbuf *b, const char *metric, const char *labels,
                       const struct fb_hist *h)
{
    uint64_t cum = 0;
    int i;
    const char *sep = *labels ? "," : "";
    for (i = 0; i < FB_HIST_BUCKETS; i++) {
        cum += h->counts[i];
        mprintf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", metric, labels, sep, fb_hist_bounds[i],
                (unsigned long long)cum);
    }
    cum += h->counts[FB_HIST_BUCKETS];
    mprintf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", metric, labels, sep, (unsigned long long)cum);
    if (*labels) {
        mprintf(b, "%s_sum{%s} %.6f\n%s_count{%s} %llu\n", metric, labels, h->sum, metric, labels,
                (unsigned long long)h->n);
    } else {
        mprintf(b, "%s_sum %.6f\n%s_count %llu\n", metric, h->sum, metric,
                (unsigned long long)h->n);
    }
}

char *fb_server_metrics(struct fb_server *s)
{
    struct mbuf b = {0};
    struct fb_function *fn;
    int i;
    char lab[128];

    pthread_mutex_lock(&s->lock);
    mprintf(&b,
            "# HELP fnbox_build_info fnbox version.\n# TYPE fnbox_build_info gauge\n"
            "fnbox_build_info{version=\"%s\"} 1\n",
            "0.1.0");
    mprintf(&b, "# HELP fnbox_invocations_total Invocations by function and outcome.\n"
                "# TYPE fnbox_invocations_total counter\n");
    for (fn = s->fns; fn; fn = fn->next)
        if (!fn->building)
            for (i = 0; i < FB_OUT_NR; i++)
                mprintf(&b, "fnbox_invocations_total{function=\"%s\",outcome=\"%s\"} %llu\n",
                        fn->cfg.name, fb_outcome_names[i], (unsigned long long)fn->outcomes[i]);
    mprintf(&b, "# HELP fnbox_cold_starts_total Invocations that waited for a restore.\n"
                "# TYPE fnbox_cold_starts_total counter\n");
    for (fn = s->fns; fn; fn = fn->next)
        if (!fn->building)
            mprintf(&b, "fnbox_cold_starts_total{function=\"%s\"} %llu\n", fn->cfg.name,
                    (unsigned long long)fn->cold_starts);
    mprintf(&b, "# HELP fnbox_warm_starts_total Invocations served by a pooled sandbox.\n"
                "# TYPE fnbox_warm_starts_total counter\n");
    for (fn = s->fns; fn; fn = fn->next)
        if (!fn->building)
            mprintf(&b, "fnbox_warm_starts_total{function=\"%s\"} %llu\n", fn->cfg.name,
                    (unsigned long long)fn->warm_starts);
    mprintf(&b, "# HELP fnbox_image_pages_total Memory pages invocations touched that their "
                "restore had left in the image (outside the training run's working set).\n"
                "# TYPE fnbox_image_pages_total counter\n");
    for (fn = s->fns; fn; fn = fn->next)
        if (!fn->building)
            mprintf(&b, "fnbox_image_pages_total{function=\"%s\"} %llu\n", fn->cfg.name,
                    (unsigned long long)fn->image_pages);
    mprintf(&b, "# HELP fnbox_warm_pool_sandboxes Restored sandboxes parked and ready.\n"
                "# TYPE fnbox_warm_pool_sandboxes gauge\n");
    for (fn = s->fns; fn; fn = fn->next)
        if (!fn->building)
            mprintf(&b, "fnbox_warm_pool_sandboxes{function=\"%s\"} %d\n", fn->cfg.name,
                    fn->n_idle);
    mprintf(&b, "# HELP fnbox_memory_files_reused_total Restores given the memory file of an "
                "earlier sandbox, cleared.\n"
                "# TYPE fnbox_memory_files_reused_total counter\n"
                "fnbox_memory_files_reused_total %llu\n"
                "# HELP fnbox_spare_memory_files Memory files of finished sandboxes kept for the "
                "next restores.\n"
                "# TYPE fnbox_spare_memory_files gauge\n"
                "fnbox_spare_memory_files %d\n",
            (unsigned long long)s->mem_reused, s->nspare_mem);
    mprintf(&b, "# HELP fnbox_busy_sandboxes Sandboxes serving an invocation.\n"
                "# TYPE fnbox_busy_sandboxes gauge\n");
    for (fn = s->fns; fn; fn = fn->next)
        if (!fn->building)
            mprintf(&b, "fnbox_busy_sandboxes{function=\"%s\"} %d\n", fn->cfg.name, fn->n_busy);
    mprintf(&b, "# HELP fnbox_invocation_duration_seconds Request to response, server side.\n"
                "# TYPE fnbox_invocation_duration_seconds histogram\n");
    for (fn = s->fns; fn; fn = fn->next)
        if (!fn->building) {
            snprintf(lab, sizeof(lab), "function=\"%s\"", fn->cfg.name);
            hist_print(&b, "fnbox_invocation_duration_seconds", lab, &fn->duration);
        }
    mprintf(&b, "# HELP fnbox_restore_duration_seconds Restore start to ready.\n"
                "# TYPE fnbox_restore_duration_seconds histogram\n");
    hist_print(&b, "fnbox_restore_duration_seconds", "", &s->restore);
    mprintf(&b, "# HELP fnbox_http_responses_total HTTP responses by status class.\n"
                "# TYPE fnbox_http_responses_total counter\n");
    for (i = 1; i <= 5; i++)
        mprintf(&b, "fnbox_http_responses_total{code=\"%dxx\"} %llu\n", i,
                (unsigned long long)s->http_status[i]);
    mprintf(&b,
            "# HELP fnbox_inflight_invocations Invocations in progress.\n"
            "# TYPE fnbox_inflight_invocations gauge\nfnbox_inflight_invocations %d\n",
            s->inflight);
    pthread_mutex_unlock(&s->lock);
    return b.p;
}

void fb_server_count_request(struct fb_server *s, int http_status)
{
    int c = http_status / 100;
    if (c < 1 || c > 5)
        return;
    pthread_mutex_lock(&s->lock);
    s->http_status[c]++;
    pthread_mutex_unlock(&s->lock);
}
