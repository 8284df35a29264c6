/* Unit tests for the Gofer (view + 9P server) driven through the real client: each gofer runs in
 * a forked child with its own mount namespace, exactly as in production. Needs root. */
#include "api/confine.h"
#include "gofer/gofer.h"
#include "gofer/p9_client.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fbtest.h"
#include "kernel/util/cleanup.h"

#define BIG_SIZE (3u * 1024 * 1024 + 123)
#define MANY_N   300

static char base[256];  /* temp dir holding everything */
static char tree[300];  /* served as --root (read-only) */
static char rwdir[300]; /* mounted read-write at /data */
static char rodir[300]; /* mounted read-only at /extra/ro */

struct gofer {
    pid_t pid;
    int sock; /* raw socket when no client */
    struct fb_p9_client *c;
    uint32_t root;
};

static struct gofer G; /* the main gofer: tree + /data rw + /extra/ro ro, donation on */

static const struct fb_gofer_mount main_mounts[] = {
    {rwdir, "/data", false},
    {rodir, "//extra/ro/", true},
};

static uint8_t big_byte(size_t i)
{
    return (uint8_t)(i * 7 + (i >> 9));
}

static void write_file(const char *dir, const char *name, const char *content)
{
    char p[600];
    FILE *f;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    f = fopen(p, "w");
    if (!f) {
        perror(p);
        exit(1);
    }
    fputs(content, f);
    fclose(f);
}

static void make_tree(void)
{
    char p[600];
    FILE *f;
    size_t i;

    snprintf(base, sizeof(base), "/tmp/fnbox-gofer-test-XXXXXX");
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(tree, sizeof(tree), "%s/tree", base);
    snprintf(rwdir, sizeof(rwdir), "%s/rw", base);
    snprintf(rodir, sizeof(rodir), "%s/ro", base);
    mkdir(tree, 0755);
    mkdir(rwdir, 0755);
    mkdir(rodir, 0755);
    write_file(tree, "hello.txt", "hello world\n");
    snprintf(p, sizeof(p), "%s/dir", tree);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/dir/sub", tree);
    mkdir(p, 0700);
    write_file(tree, "dir/sub/deep.txt", "deep\n");
    write_file(tree, "dir/file.txt", "file\n");
    snprintf(p, sizeof(p), "%s/link_out", tree);
    symlink("/etc/shadow", p); /* points outside the view: never followed by the gofer */
    snprintf(p, sizeof(p), "%s/link_dir", tree);
    symlink("dir", p);
    snprintf(p, sizeof(p), "%s/tmp", tree);
    mkdir(p, 0755);
    write_file(tree, "tmp/should_not_be_served", "x");
    snprintf(p, sizeof(p), "%s/big.bin", tree);
    f = fopen(p, "w");
    for (i = 0; i < BIG_SIZE; i++)
        fputc(big_byte(i), f);
    fclose(f);
    snprintf(p, sizeof(p), "%s/many", tree);
    mkdir(p, 0755);
    for (i = 0; i < MANY_N; i++) {
        char n[64];
        snprintf(n, sizeof(n), "many/entry-%03zu-%s", i,
                 i % 3 ? "short" : "a-much-longer-name-here");
        write_file(tree, n, "");
    }
    write_file(rwdir, "pre.txt", "pre-existing\n");
    write_file(rodir, "ro.txt", "read only\n");
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void remove_tree(void)
{
    nftw(base, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

/* Every child forked by these tests, so that none is left behind even when a check fails. */
static pid_t children[64];
static int nchildren;

static pid_t fork_child(void)
{
    pid_t pid;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid > 0 && nchildren < (int)FB_ARRAY_SIZE(children))
        children[nchildren++] = pid;
    if (pid == 0)
        prctl(PR_SET_PDEATHSIG, SIGKILL);
    return pid;
}

/* In a child: keep only stdio and `fd` (moved to 3), so that the child holds no copy of another
 * gofer's channel (which would keep that gofer from seeing EOF). */
static int child_keep_fd(int fd)
{
    if (dup2(fd, 3) < 0)
        _exit(4);
    close_range(4, ~0u, 0);
    return 3;
}

static void kill_leftover_children(void)
{
    int i;

    for (i = 0; i < nchildren; i++)
        if (kill(children[i], 0) == 0 && waitpid(children[i], NULL, WNOHANG) == 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
        }
}

/* Fork a gofer: prepare_view(cfg) + serve. With want_client, the handshake is done too. */
static int gofer_start(const struct fb_gofer_config *cfg, bool want_client, struct gofer *g)
{
    int sv[2], r;

    memset(g, 0, sizeof(*g));
    g->sock = -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    g->pid = fork_child();
    if (g->pid < 0)
        return -errno;
    if (g->pid == 0) {
        struct fb_error err = {0};
        int fd = child_keep_fd(sv[1]);
        if (fb_gofer_prepare_view(cfg, &err) < 0) {
            fprintf(stderr, "gofer child: %s\n", err.msg);
            _exit(2);
        }
        r = fb_gofer_serve(fd, cfg);
        _exit(r == 0 ? 0 : 3);
    }
    close(sv[1]);
    if (!want_client) {
        g->sock = sv[0];
        return 0;
    }
    r = fb_p9c_new(sv[0], 0, &g->c);
    if (r < 0)
        return r;
    return fb_p9c_attach(g->c, "", &g->root, NULL);
}

/* Wait up to 5 s for the child; SIGKILL it after that. Returns the wait status, or -1. */
static int reap(pid_t pid)
{
    int st, i;

    for (i = 0; i < 500; i++) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        if (r < 0)
            return -1;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

/* Close the channel; the gofer must then exit 0 by itself. Returns the wait status. */
static int gofer_stop(struct gofer *g)
{
    if (g->c)
        fb_p9c_free(g->c);
    if (g->sock >= 0)
        close(g->sock);
    g->c = NULL;
    g->sock = -1;
    return reap(g->pid);
}

/* Walk a '/'-separated relative path from fid. */
static int walk_path(struct fb_p9_client *c, uint32_t fid, const char *path, uint32_t *out,
                     struct fb_p9_qid *qid)
{
    char buf[512], *save = NULL, *tok;
    const char *names[16];
    int n = 0;

    snprintf(buf, sizeof(buf), "%s", path);
    for (tok = strtok_r(buf, "/", &save); tok && n < 16; tok = strtok_r(NULL, "/", &save))
        names[n++] = tok;
    return fb_p9c_walk(c, fid, n, names, out, qid);
}

/* Walk + lopen(flags). */
static int open_path(const char *path, uint32_t flags, uint32_t *fid)
{
    int r = walk_path(G.c, G.root, path, fid, NULL);

    if (r < 0)
        return r;
    r = fb_p9c_lopen(G.c, *fid, flags, NULL, NULL, NULL);
    if (r < 0)
        fb_p9c_clunk(G.c, *fid);
    return r;
}

static bool host_exists(const char *dir, const char *name)
{
    char p[600];
    struct stat st;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return lstat(p, &st) == 0;
}

/* ---- tests on the main gofer ----------------------------------------------------------- */

static void test_attach_walk_getattr(void)
{
    struct fb_p9_qid q, rq;
    struct fb_p9_attr a;
    uint32_t f, r2;

    FBT_CHECK_EQ(fb_p9c_getattr(G.c, G.root, FB_P9_GETATTR_BASIC, &a), 0);
    FBT_CHECK(S_ISDIR(a.mode));
    FBT_CHECK_EQ(a.qid.type, FB_P9_QTDIR);
    FBT_CHECK_EQ(walk_path(G.c, G.root, "hello.txt", &f, &q), 0);
    FBT_CHECK_EQ(q.type, FB_P9_QTFILE);
    FBT_CHECK_EQ(fb_p9c_getattr(G.c, f, FB_P9_GETATTR_ALL, &a), 0);
    FBT_CHECK(S_ISREG(a.mode));
    FBT_CHECK_EQ(a.mode & 0777, 0644);
    FBT_CHECK_EQ(a.size, 12);
    FBT_CHECK_EQ(a.nlink, 1);
    FBT_CHECK(a.valid & FB_P9_GETATTR_SIZE);
    FBT_CHECK(a.qid.path == q.path);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, f), 0);
    /* Multi-component walk and a second attach to a sub-path see the same file. */
    FBT_CHECK_EQ(walk_path(G.c, G.root, "dir/sub/deep.txt", &f, &q), 0);
    FBT_CHECK_EQ(fb_p9c_attach(G.c, "/dir/sub", &r2, &rq), 0);
    FBT_CHECK_EQ(rq.type, FB_P9_QTDIR);
    {
        uint32_t f2;
        struct fb_p9_qid q2;
        FBT_CHECK_EQ(walk_path(G.c, r2, "deep.txt", &f2, &q2), 0);
        FBT_CHECK(q2.path == q.path);
        fb_p9c_clunk(G.c, f2);
    }
    FBT_CHECK_EQ(fb_p9c_attach(G.c, "/hello.txt", &r2, &rq), -ENOTDIR);
    FBT_CHECK_EQ(fb_p9c_attach(G.c, "/link_dir", &r2, &rq), -ENOTDIR); /* symlink not followed */
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, f), 0);
}

/* fnbox extensions: walk+getattr in one round trip, and a donated fd without opening the fid. */
static void test_walkgetattr_and_open_fd(void)
{
    const char *names[3] = {"dir", "sub", "deep.txt"};
    const char *bad[2] = {"dir", "missing"};
    struct fb_p9_attr a, b;
    uint32_t f, g;
    char buf[8];
    int fd = -2;

    FBT_CHECK_EQ(fb_p9c_walk_getattr(G.c, G.root, 3, names, &f, &a), 0);
    FBT_CHECK(S_ISREG(a.mode));
    FBT_CHECK_EQ(fb_p9c_getattr(G.c, f, FB_P9_GETATTR_BASIC, &b), 0);
    FBT_CHECK(a.qid.path == b.qid.path);
    FBT_CHECK_EQ(a.size, b.size);
    FBT_CHECK_EQ(fb_p9c_walk_getattr(G.c, G.root, 2, bad, &g, &a), -ENOENT);
    /* A fresh fd, twice, and the fid is still walkable/openable afterwards. */
    FBT_CHECK_EQ(fb_p9c_open_fd(G.c, f, &fd), 0);
    FBT_CHECK(fd >= 0);
    FBT_CHECK(pread(fd, buf, 1, 0) == 1 || b.size == 0);
    close(fd);
    FBT_CHECK_EQ(fb_p9c_open_fd(G.c, f, &fd), 0);
    close(fd);
    FBT_CHECK_EQ(fb_p9c_lopen(G.c, f, O_RDONLY, NULL, NULL, NULL), 0);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, f), 0);
    /* Directories never get an fd this way. */
    FBT_CHECK_EQ(fb_p9c_walk_getattr(G.c, G.root, 1, names, &f, &a), 0);
    FBT_CHECK_EQ(fb_p9c_open_fd(G.c, f, &fd), -EINVAL);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, f), 0);
}

/* Many fds in one round trip: each reply in order with its own fd or error (a directory, a
 * fid the server does not know), the stream still in step afterwards; a full batch; one too
 * many refused before anything is sent. */
static void test_open_fds_batch(void)
{
    uint32_t hello, deep, dir, fids[FB_P9C_BATCH];
    int fds[FB_P9C_BATCH], i, ok = 0;
    struct fb_p9_attr a;
    char buf[16];

    FBT_CHECK_EQ(walk_path(G.c, G.root, "hello.txt", &hello, NULL), 0);
    FBT_CHECK_EQ(walk_path(G.c, G.root, "dir/sub/deep.txt", &deep, NULL), 0);
    FBT_CHECK_EQ(walk_path(G.c, G.root, "dir", &dir, NULL), 0);
    fids[0] = hello;
    fids[1] = dir;
    fids[2] = 999999; /* no such fid */
    fids[3] = deep;
    fids[4] = hello;
    FBT_CHECK_EQ(fb_p9c_open_fds(G.c, fids, 5, fds), 0);
    FBT_CHECK(fds[0] >= 0 && fds[3] >= 0 && fds[4] >= 0 && fds[4] != fds[0]);
    FBT_CHECK_EQ(fds[1], -EINVAL);
    FBT_CHECK_EQ(fds[2], -EBADF);
    memset(buf, 0, sizeof(buf));
    FBT_CHECK_EQ(pread(fds[0], buf, sizeof(buf) - 1, 0), 12);
    FBT_CHECK(!strcmp(buf, "hello world\n"));
    memset(buf, 0, sizeof(buf));
    FBT_CHECK_EQ(pread(fds[3], buf, sizeof(buf) - 1, 0), 5);
    FBT_CHECK(!strcmp(buf, "deep\n"));
    FBT_CHECK_EQ(fcntl(fds[4], F_GETFL) & O_ACCMODE, O_RDONLY);
    for (i = 0; i < 5; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    FBT_CHECK_EQ(fb_p9c_getattr(G.c, deep, FB_P9_GETATTR_BASIC, &a), 0); /* still in step */
    FBT_CHECK_EQ(a.size, 5);
    for (i = 0; i < FB_P9C_BATCH; i++)
        fids[i] = i % 2 ? hello : deep;
    FBT_CHECK_EQ(fb_p9c_open_fds(G.c, fids, FB_P9C_BATCH, fds), 0);
    for (i = 0; i < FB_P9C_BATCH; i++) {
        ok += fds[i] >= 0 && pread(fds[i], buf, 1, 0) == 1 && buf[0] == (i % 2 ? 'h' : 'd');
        if (fds[i] >= 0)
            close(fds[i]);
    }
    FBT_CHECK_EQ(ok, FB_P9C_BATCH);
    FBT_CHECK_EQ(fb_p9c_open_fds(G.c, fids, FB_P9C_BATCH + 1, fds), -EINVAL);
    FBT_CHECK_EQ(fb_p9c_getattr(G.c, hello, FB_P9_GETATTR_BASIC, &a), 0);
    FBT_CHECK_EQ(a.size, 12);
    fb_p9c_clunk(G.c, hello);
    fb_p9c_clunk(G.c, deep);
    fb_p9c_clunk(G.c, dir);
}

/* Walks in one round trip, each from a fid or from an earlier entry's new fid: a chain down to
 * a file, a missing name and a walk from it (which fails: no such fid), a file beside; the new
 * fids work; a bad name refuses the batch before anything is sent. */
static void test_walk_many(void)
{
    struct fb_p9c_walk1 w[6] = {
        {G.root, -1, "dir", 0, 0, {0}},      {FB_P9_NOFID, 0, "sub", 0, 0, {0}},
        {FB_P9_NOFID, 1, "deep.txt", 0, 0, {0}}, {G.root, -1, "missing", 0, 0, {0}},
        {FB_P9_NOFID, 3, "x", 0, 0, {0}},    {G.root, -1, "hello.txt", 0, 0, {0}},
    };
    struct fb_p9c_walk1 bad[2] = {{G.root, -1, "dir", 0, 0, {0}}, {G.root, -1, "..", 0, 0, {0}}};
    struct fb_p9_attr a;

    FBT_CHECK_EQ(fb_p9c_walk_getattr_many(G.c, w, 6), 0);
    FBT_CHECK(w[0].rc == 0 && S_ISDIR(w[0].attr.mode));
    FBT_CHECK(w[1].rc == 0 && S_ISDIR(w[1].attr.mode));
    FBT_CHECK(w[2].rc == 0 && S_ISREG(w[2].attr.mode) && w[2].attr.size == 5);
    FBT_CHECK_EQ(w[3].rc, -ENOENT);
    FBT_CHECK_EQ(w[4].rc, -EBADF);
    FBT_CHECK(w[5].rc == 0 && w[5].attr.size == 12);
    FBT_CHECK_EQ(fb_p9c_getattr(G.c, w[2].newfid, FB_P9_GETATTR_BASIC, &a), 0);
    FBT_CHECK(a.size == 5 && a.qid.path == w[2].attr.qid.path);
    for (int i = 0; i < 6; i++)
        if (w[i].rc == 0)
            FBT_CHECK_EQ(fb_p9c_clunk(G.c, w[i].newfid), 0);
    FBT_CHECK_EQ(fb_p9c_walk_getattr_many(G.c, bad, 2), -EINVAL);
    FBT_CHECK_EQ(fb_p9c_getattr(G.c, G.root, FB_P9_GETATTR_BASIC, &a), 0); /* still in step */
}

/* A batch too big for the channel's msize is refused before anything is sent, and the fid
 * numbers it took are given back (the next walk gets the last of them). */
static void test_walk_many_too_big(void)
{
    static const struct fb_gofer_config cfg = {
        .root = tree, .mounts = main_mounts, .nmounts = 2, .confine = fb_confine_gofer};
    static struct fb_p9c_walk1 w[FB_P9C_BATCH];
    static char name[200];
    struct fb_p9_client *c = NULL;
    const char *hello[1] = {"hello.txt"};
    struct fb_p9_attr a;
    struct gofer g;
    uint32_t root, f;

    memset(name, 'n', sizeof(name) - 1);
    FBT_CHECK_EQ(gofer_start(&cfg, false, &g), 0);
    FBT_CHECK_EQ(fb_p9c_new(g.sock, FB_P9_MIN_MSIZE, &c), 0);
    g.sock = -1; /* the client's now */
    g.c = c;
    FBT_CHECK_EQ(fb_p9c_attach(c, "", &root, NULL), 0);
    for (int i = 0; i < FB_P9C_BATCH; i++)
        w[i] = (struct fb_p9c_walk1){root, -1, name, 0, 0, {0}};
    FBT_CHECK(fb_p9c_walk_getattr_many(c, w, FB_P9C_BATCH) < 0);
    FBT_CHECK(w[0].rc < 0 && w[FB_P9C_BATCH - 1].rc < 0);
    FBT_CHECK_EQ(fb_p9c_walk_getattr(c, root, 1, hello, &f, &a), 0); /* the channel works */
    FBT_CHECK_EQ(f, w[FB_P9C_BATCH - 1].newfid);
    FBT_CHECK_EQ(gofer_stop(&g), 0);
}

static void test_clone_walk(void)
{
    uint32_t f, g;
    struct fb_p9_qid q;
    struct fb_p9_attr a;

    FBT_CHECK_EQ(walk_path(G.c, G.root, "dir", &f, NULL), 0);
    FBT_CHECK_EQ(fb_p9c_walk(G.c, f, 0, NULL, &g, &q), 0);
    FBT_CHECK(g != f);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, f), 0);
    /* The clone outlives the original. */
    FBT_CHECK_EQ(fb_p9c_getattr(G.c, g, FB_P9_GETATTR_BASIC, &a), 0);
    FBT_CHECK(S_ISDIR(a.mode));
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, g), 0);
}

static void test_lopen_read(void)
{
    char buf[64];
    uint32_t f;

    FBT_CHECK_EQ(open_path("hello.txt", O_RDONLY, &f), 0);
    FBT_CHECK_EQ(fb_p9c_read(G.c, f, 0, buf, sizeof(buf)), 12);
    FBT_CHECK(memcmp(buf, "hello world\n", 12) == 0);
    FBT_CHECK_EQ(fb_p9c_read(G.c, f, 6, buf, 5), 5);
    FBT_CHECK(memcmp(buf, "world", 5) == 0);
    FBT_CHECK_EQ(fb_p9c_read(G.c, f, 100, buf, sizeof(buf)), 0);
    FBT_CHECK_EQ(fb_p9c_write(G.c, f, 0, "x", 1), -EBADF);                   /* opened read-only */
    FBT_CHECK_EQ(fb_p9c_lopen(G.c, f, O_RDONLY, NULL, NULL, NULL), -EINVAL); /* already open */
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, f), 0);
    /* An unopened fid cannot be read. */
    FBT_CHECK_EQ(walk_path(G.c, G.root, "hello.txt", &f, NULL), 0);
    FBT_CHECK_EQ(fb_p9c_read(G.c, f, 0, buf, 4), -EBADF);
    FBT_CHECK_EQ(fb_p9c_lopen(G.c, f, O_RDONLY | O_DIRECTORY, NULL, NULL, NULL), -ENOTDIR);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, f), 0);
}

static void test_big_read(void)
{
    uint8_t *buf = malloc(BIG_SIZE + 10);
    uint32_t f, max = fb_p9c_max_io(G.c);
    size_t off = 0, i;
    ssize_t n;

    FBT_CHECK(buf != NULL);
    FBT_CHECK_EQ(fb_p9c_msize(G.c), FB_P9_DEFAULT_MSIZE);
    FBT_CHECK_EQ(max, FB_P9_DEFAULT_MSIZE - FB_P9_IOHDRSZ);
    FBT_CHECK_EQ(open_path("big.bin", O_RDONLY, &f), 0);
    /* Ask for everything at once: the client clamps each round trip to max_io. */
    while ((n = fb_p9c_read(G.c, f, off, buf + off, (uint32_t)(BIG_SIZE + 10 - off))) > 0) {
        FBT_CHECK(n <= (ssize_t)max);
        off += (size_t)n;
    }
    FBT_CHECK_EQ(n, 0);
    FBT_CHECK_EQ(off, BIG_SIZE);
    for (i = 0; i < BIG_SIZE; i++)
        if (buf[i] != big_byte(i))
            break;
    FBT_CHECK_EQ(i, BIG_SIZE);
    free(buf);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, f), 0);
}

static void test_donated_fd(void)
{
    uint32_t f, iounit = 0;
    struct fb_p9_qid q;
    char buf[16];
    struct stat st;
    int fd = -2;

    FBT_CHECK_EQ(walk_path(G.c, G.root, "hello.txt", &f, NULL), 0);
    FBT_CHECK_EQ(fb_p9c_lopen(G.c, f, O_RDONLY, &q, &iounit, &fd), 0);
    FBT_CHECK(fd >= 0);
    FBT_CHECK(iounit > 0);
    FBT_CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    FBT_CHECK_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
    FBT_CHECK_EQ(pread(fd, buf, 5, 6), 5);
    FBT_CHECK(memcmp(buf, "world", 5) == 0);
    FBT_CHECK_EQ(fstat(fd, &st), 0);
    FBT_CHECK(S_ISREG(st.st_mode));
    close(fd);
    /* The fid stays usable through 9P too. */
    FBT_CHECK_EQ(fb_p9c_read(G.c, f, 0, buf, 5), 5);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, f), 0);

    /* Directories are never donated. */
    FBT_CHECK_EQ(walk_path(G.c, G.root, "dir", &f, NULL), 0);
    fd = -2;
    FBT_CHECK_EQ(fb_p9c_lopen(G.c, f, O_RDONLY, NULL, NULL, &fd), 0);
    FBT_CHECK_EQ(fd, -1);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, f), 0);
    /* Nor files opened for writing. */
    FBT_CHECK_EQ(walk_path(G.c, G.root, "data/pre.txt", &f, NULL), 0);
    fd = -2;
    FBT_CHECK_EQ(fb_p9c_lopen(G.c, f, O_RDWR, NULL, NULL, &fd), 0);
    FBT_CHECK_EQ(fd, -1);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, f), 0);
}

/* Read a whole directory max entries at a time, resuming at the last offset. */
static int read_all_dir(uint32_t dfid, int max, char names[][256], int cap)
{
    struct fb_p9_dirent ents[64];
    uint64_t off = 0;
    int total = 0, n, i;

    while ((n = fb_p9c_readdir(G.c, dfid, off, ents, max)) > 0) {
        for (i = 0; i < n && total < cap; i++)
            memcpy(names[total++], ents[i].name, 256);
        off = ents[n - 1].offset;
    }
    return n < 0 ? n : total;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_readdir_paged(void)
{
    static char names[MANY_N + 10][256];
    uint32_t f;
    int n, i, max;

    FBT_CHECK_EQ(open_path("many", O_RDONLY | O_DIRECTORY, &f), 0);
    for (max = 1; max <= 64; max = max * 3 + 1) {
        n = read_all_dir(f, max, names, MANY_N + 10);
        FBT_CHECK_EQ(n, MANY_N);
        qsort(names, (size_t)n, 256, cmp_name);
        for (i = 0; i < n; i++) {
            char want[64];
            snprintf(want, sizeof(want), "entry-%03d-%s", i,
                     i % 3 ? "short" : "a-much-longer-name-here");
            FBT_CHECK_STR(names[i], want); /* all present, none twice, no "." / ".." */
        }
    }
    {
        struct fb_p9_dirent e[4];
        /* A non-directory or an unopened fid cannot be listed. */
        uint32_t g;
        FBT_CHECK_EQ(walk_path(G.c, G.root, "many", &g, NULL), 0);
        FBT_CHECK_EQ(fb_p9c_readdir(G.c, g, 0, e, 4), -EBADF);
        FBT_CHECK_EQ(fb_p9c_clunk(G.c, g), 0);
        FBT_CHECK_EQ(fb_p9c_readdir(G.c, f, 0, e, 0), -EINVAL);
    }
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, f), 0);
}

static void test_readdir_root(void)
{
    static char names[64][256];
    uint32_t f, t;
    int n, i;
    bool hello = false, data = false, extra = false, tmpdir = false, devdir = false;

    FBT_CHECK_EQ(open_path("", O_RDONLY, &f), 0);
    n = read_all_dir(f, 64, names, 64);
    FBT_CHECK(n > 0);
    for (i = 0; i < n; i++) {
        hello |= !strcmp(names[i], "hello.txt");
        data |= !strcmp(names[i], "data");
        extra |= !strcmp(names[i], "extra");
        tmpdir |= !strcmp(names[i], "tmp");
        devdir |= !strcmp(names[i], "dev");
        FBT_CHECK(strcmp(names[i], ".") && strcmp(names[i], ".."));
    }
    FBT_CHECK(hello && data && extra && tmpdir && devdir);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, f), 0);
    /* /tmp of the root tree is replaced by an empty directory. */
    FBT_CHECK_EQ(open_path("tmp", O_RDONLY, &t), 0);
    FBT_CHECK_EQ(read_all_dir(t, 8, names, 64), 0);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, t), 0);
}

static void test_readlink_and_symlinks(void)
{
    char buf[64];
    uint32_t f;
    struct fb_p9_qid q;

    FBT_CHECK_EQ(walk_path(G.c, G.root, "link_out", &f, &q), 0);
    FBT_CHECK_EQ(q.type, FB_P9_QTSYMLINK);
    FBT_CHECK_EQ(fb_p9c_readlink(G.c, f, buf, sizeof(buf)), 11);
    FBT_CHECK_STR(buf, "/etc/shadow");
    FBT_CHECK_EQ(fb_p9c_readlink(G.c, f, buf, 11), -ENAMETOOLONG);
    FBT_CHECK_EQ(fb_p9c_readlink(G.c, f, buf, 12), 11);
    /* Opening a symlink never follows it. */
    FBT_CHECK_EQ(fb_p9c_lopen(G.c, f, O_RDONLY, NULL, NULL, NULL), -ELOOP);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, f), 0);
    /* readlink of a non-symlink. */
    FBT_CHECK_EQ(fb_p9c_readlink(G.c, G.root, buf, sizeof(buf)), -EINVAL);
}

static void test_walk_through_symlink_stops(void)
{
    struct fb_p9_qid q = {0};
    uint32_t f = 12345;

    FBT_CHECK_EQ(walk_path(G.c, G.root, "link_dir/sub", &f, &q), -ENOENT);
    FBT_CHECK_EQ(q.type, FB_P9_QTSYMLINK); /* stopped at the symlink */
    FBT_CHECK_EQ(walk_path(G.c, G.root, "link_out/x", &f, &q), -ENOENT);
    FBT_CHECK_EQ(q.type, FB_P9_QTSYMLINK);
    /* Through a regular file, and to a missing name. */
    FBT_CHECK_EQ(walk_path(G.c, G.root, "hello.txt/x", &f, &q), -ENOENT);
    FBT_CHECK_EQ(q.type, FB_P9_QTFILE);
    FBT_CHECK_EQ(walk_path(G.c, G.root, "dir/nope", &f, &q), -ENOENT);
    FBT_CHECK_EQ(q.type, FB_P9_QTDIR);
    FBT_CHECK_EQ(walk_path(G.c, G.root, "nope", &f, &q), -ENOENT);
}

/* Names the Sentry never sends (it resolves "." and ".." and splits paths itself): refused by the
 * client before they reach the wire. The gofer's own refusal is tested on raw sockets below. */
static void test_walk_bad_names(void)
{
    const char *late[] = {"dir", ".."}, *dot[] = {"."}, *empty[] = {""}, *slash[] = {"dir/x"};
    uint32_t f;
    struct fb_p9_qid q;

    FBT_CHECK_EQ(fb_p9c_walk(G.c, G.root, 2, late, &f, NULL), -EINVAL);
    FBT_CHECK_EQ(fb_p9c_walk(G.c, G.root, 1, dot, &f, NULL), -EINVAL);
    FBT_CHECK_EQ(fb_p9c_walk(G.c, G.root, 1, empty, &f, NULL), -EINVAL);
    FBT_CHECK_EQ(fb_p9c_walk(G.c, G.root, 1, slash, &f, NULL), -EINVAL);
    /* The channel is still open: a good walk works. */
    FBT_CHECK_EQ(walk_path(G.c, G.root, "dir", &f, &q), 0);
    fb_p9c_clunk(G.c, f);
}

static void test_unknown_fid(void)
{
    struct fb_p9_attr a;
    char buf[8];
    uint32_t f;

    FBT_CHECK_EQ(fb_p9c_getattr(G.c, 99999, FB_P9_GETATTR_BASIC, &a), -EBADF);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, 99999), -EBADF);
    FBT_CHECK_EQ(fb_p9c_lopen(G.c, 99999, O_RDONLY, NULL, NULL, NULL), -EBADF);
    FBT_CHECK_EQ(fb_p9c_read(G.c, 99999, 0, buf, 8), -EBADF);
    FBT_CHECK_EQ(fb_p9c_walk(G.c, 99999, 0, NULL, &f, NULL), -EBADF);
    FBT_CHECK_EQ(fb_p9c_mkdir(G.c, 99999, "x", 0755, 0, NULL), -EBADF);
    /* A clunked fid is gone. */
    FBT_CHECK_EQ(walk_path(G.c, G.root, "dir", &f, NULL), 0);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, f), 0);
    FBT_CHECK_EQ(fb_p9c_getattr(G.c, f, FB_P9_GETATTR_BASIC, &a), -EBADF);
}

static void test_statfs(void)
{
    struct fb_p9_statfs s;
    uint32_t f;

    FBT_CHECK_EQ(fb_p9c_statfs(G.c, G.root, &s), 0);
    FBT_CHECK(s.bsize > 0);
    FBT_CHECK_EQ(s.namelen, 255);
    FBT_CHECK_EQ(walk_path(G.c, G.root, "data", &f, NULL), 0);
    FBT_CHECK_EQ(fb_p9c_statfs(G.c, f, &s), 0);
    FBT_CHECK(s.blocks > 0);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, f), 0);
}

static void check_erofs_dir(uint32_t d, const char *existing)
{
    struct fb_p9_setattr sa = {.valid = FB_P9_SETATTR_MODE, .mode = 0777};
    uint32_t c, f;

    FBT_CHECK_EQ(fb_p9c_walk(G.c, d, 0, NULL, &c, NULL), 0);
    FBT_CHECK_EQ(fb_p9c_lcreate(G.c, c, "new", O_RDWR, 0644, 0, NULL, NULL), -EROFS);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, c), 0);
    FBT_CHECK_EQ(fb_p9c_mkdir(G.c, d, "newdir", 0755, 0, NULL), -EROFS);
    FBT_CHECK_EQ(fb_p9c_symlink(G.c, d, "newlink", "x", 0, NULL), -EROFS);
    FBT_CHECK_EQ(fb_p9c_mknod(G.c, d, "fifo", S_IFIFO | 0644, 0, 0, 0, NULL), -EROFS);
    FBT_CHECK_EQ(fb_p9c_unlinkat(G.c, d, existing, 0), -EROFS);
    FBT_CHECK_EQ(fb_p9c_renameat(G.c, d, existing, d, "renamed"), -EROFS);
    FBT_CHECK_EQ(fb_p9c_setattr(G.c, d, &sa), -EROFS);
    {
        const char *n[] = {existing};
        FBT_CHECK_EQ(fb_p9c_walk(G.c, d, 1, n, &f, NULL), 0);
    }
    FBT_CHECK_EQ(fb_p9c_link(G.c, d, f, "hard"), -EROFS);
    FBT_CHECK_EQ(fb_p9c_lopen(G.c, f, O_WRONLY, NULL, NULL, NULL), -EROFS);
    FBT_CHECK_EQ(fb_p9c_lopen(G.c, f, O_RDONLY | O_TRUNC, NULL, NULL, NULL), -EROFS);
    sa.valid = FB_P9_SETATTR_SIZE;
    sa.size = 0;
    FBT_CHECK_EQ(fb_p9c_setattr(G.c, f, &sa), -EROFS);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, f), 0);
}

static void test_erofs_readonly_trees(void)
{
    uint32_t d;

    check_erofs_dir(G.root, "hello.txt");
    if (fbt_current_failed)
        return;
    FBT_CHECK_EQ(walk_path(G.c, G.root, "dir", &d, NULL), 0);
    check_erofs_dir(d, "file.txt");
    fb_p9c_clunk(G.c, d);
    if (fbt_current_failed)
        return;
    FBT_CHECK_EQ(walk_path(G.c, G.root, "extra/ro", &d, NULL), 0);
    check_erofs_dir(d, "ro.txt");
    fb_p9c_clunk(G.c, d);
    if (fbt_current_failed)
        return;
    /* Nothing changed on the host. */
    FBT_CHECK(host_exists(tree, "hello.txt"));
    FBT_CHECK(!host_exists(tree, "new") && !host_exists(tree, "newdir"));
    FBT_CHECK(host_exists(rodir, "ro.txt"));
}

static void test_rw_mount_ops(void)
{
    uint32_t d, f, c, sub, m;
    struct fb_p9_qid q;
    struct fb_p9_attr a;
    struct fb_p9_setattr sa = {0};
    char buf[64], p[600];
    struct stat st;

    FBT_CHECK_EQ(walk_path(G.c, G.root, "data", &d, NULL), 0);
    /* create + write + read back through the same fid */
    FBT_CHECK_EQ(fb_p9c_walk(G.c, d, 0, NULL, &f, NULL), 0);
    FBT_CHECK_EQ(fb_p9c_lcreate(G.c, f, "new.txt", O_RDWR, 0640, 0, &q, NULL), 0);
    FBT_CHECK_EQ(q.type, FB_P9_QTFILE);
    FBT_CHECK_EQ(fb_p9c_write(G.c, f, 0, "abcdef", 6), 6);
    FBT_CHECK_EQ(fb_p9c_write(G.c, f, 6, "gh", 2), 2);
    FBT_CHECK_EQ(fb_p9c_read(G.c, f, 2, buf, sizeof(buf)), 6);
    FBT_CHECK(memcmp(buf, "cdefgh", 6) == 0);
    FBT_CHECK_EQ(fb_p9c_fsync(G.c, f), 0);
    FBT_CHECK_EQ(fb_p9c_getattr(G.c, f, FB_P9_GETATTR_BASIC, &a), 0);
    FBT_CHECK_EQ(a.size, 8);
    FBT_CHECK_EQ(a.mode & 07777, 0640);
    /* create is exclusive */
    FBT_CHECK_EQ(fb_p9c_walk(G.c, d, 0, NULL, &c, NULL), 0);
    FBT_CHECK_EQ(fb_p9c_lcreate(G.c, c, "new.txt", O_RDWR, 0640, 0, NULL, NULL), -EEXIST);
    /* A ".." name closes the channel: see test_raw_bad_names_every_request_close. */
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, c), 0);
    /* host sees it */
    snprintf(p, sizeof(p), "%s/new.txt", rwdir);
    FBT_CHECK_EQ(stat(p, &st), 0);
    FBT_CHECK_EQ(st.st_size, 8);

    /* setattr: truncate, chmod (set-id bits dropped), times */
    sa.valid = FB_P9_SETATTR_SIZE;
    sa.size = 3;
    FBT_CHECK_EQ(fb_p9c_setattr(G.c, f, &sa), 0);
    sa.valid = FB_P9_SETATTR_MODE;
    sa.mode = 04755;
    FBT_CHECK_EQ(fb_p9c_setattr(G.c, f, &sa), 0);
    sa.valid = FB_P9_SETATTR_MTIME | FB_P9_SETATTR_MTIME_SET | FB_P9_SETATTR_ATIME |
               FB_P9_SETATTR_ATIME_SET;
    sa.mtime_sec = 1000000000;
    sa.mtime_nsec = 5;
    sa.atime_sec = 999;
    FBT_CHECK_EQ(fb_p9c_setattr(G.c, f, &sa), 0);
    sa.mtime_nsec = 2000000000;
    FBT_CHECK_EQ(fb_p9c_setattr(G.c, f, &sa), -EINVAL);
    FBT_CHECK_EQ(fb_p9c_getattr(G.c, f, FB_P9_GETATTR_BASIC, &a), 0);
    FBT_CHECK_EQ(a.size, 3);
    FBT_CHECK_EQ(a.mode & 07777, 0755);
    FBT_CHECK_EQ(a.mtime_sec, 1000000000);
    FBT_CHECK_EQ(a.mtime_nsec, 5);
    FBT_CHECK_EQ(a.atime_sec, 999);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, f), 0);

    /* mkdir, rename into it, walk there, hard link, unlink, rmdir */
    FBT_CHECK_EQ(fb_p9c_mkdir(G.c, d, "sub", 0750, 0, &q), 0);
    FBT_CHECK_EQ(q.type, FB_P9_QTDIR);
    FBT_CHECK_EQ(walk_path(G.c, d, "sub", &sub, NULL), 0);
    FBT_CHECK_EQ(fb_p9c_renameat(G.c, d, "new.txt", sub, "moved.txt"), 0);
    FBT_CHECK(!host_exists(rwdir, "new.txt"));
    FBT_CHECK(host_exists(rwdir, "sub/moved.txt"));
    FBT_CHECK_EQ(walk_path(G.c, sub, "moved.txt", &m, NULL), 0);
    FBT_CHECK_EQ(fb_p9c_link(G.c, d, m, "hardlink"), 0);
    FBT_CHECK_EQ(fb_p9c_getattr(G.c, m, FB_P9_GETATTR_BASIC, &a), 0);
    FBT_CHECK_EQ(a.nlink, 2);
    FBT_CHECK_EQ(fb_p9c_link(G.c, d, sub, "dirlink"), -EPERM);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, m), 0);
    FBT_CHECK_EQ(fb_p9c_unlinkat(G.c, d, "sub", FB_P9_AT_REMOVEDIR), -ENOTEMPTY);
    FBT_CHECK_EQ(fb_p9c_unlinkat(G.c, sub, "moved.txt", 0), 0);
    FBT_CHECK_EQ(fb_p9c_unlinkat(G.c, d, "hardlink", 0), 0);
    FBT_CHECK_EQ(fb_p9c_unlinkat(G.c, d, "sub", 0x1), -EINVAL); /* unknown flag */
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, sub), 0);
    FBT_CHECK_EQ(fb_p9c_unlinkat(G.c, d, "sub", FB_P9_AT_REMOVEDIR), 0);
    FBT_CHECK(!host_exists(rwdir, "sub"));
    FBT_CHECK(!host_exists(rwdir, "hardlink"));

    /* symlink + readlink, fifo ok, device nodes refused */
    FBT_CHECK_EQ(fb_p9c_symlink(G.c, d, "sl", "../../etc/passwd", 0, &q), 0);
    FBT_CHECK_EQ(q.type, FB_P9_QTSYMLINK);
    FBT_CHECK_EQ(walk_path(G.c, d, "sl", &f, NULL), 0);
    FBT_CHECK_EQ(fb_p9c_readlink(G.c, f, buf, sizeof(buf)), 16);
    FBT_CHECK_STR(buf, "../../etc/passwd");
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, f), 0);
    FBT_CHECK_EQ(fb_p9c_mknod(G.c, d, "fifo", S_IFIFO | 0600, 0, 0, 0, &q), 0);
    FBT_CHECK_EQ(fb_p9c_mknod(G.c, d, "mem", S_IFCHR | 0600, 1, 1, 0, NULL), -EPERM);
    FBT_CHECK_EQ(fb_p9c_mknod(G.c, d, "sda", S_IFBLK | 0600, 8, 0, 0, NULL), -EPERM);
    FBT_CHECK(!host_exists(rwdir, "mem"));
    /* Opening a FIFO through the gofer is refused rather than blocking it. */
    FBT_CHECK_EQ(walk_path(G.c, d, "fifo", &f, NULL), 0);
    FBT_CHECK_EQ(fb_p9c_lopen(G.c, f, O_RDONLY, NULL, NULL, NULL), -ENXIO);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, f), 0);
    FBT_CHECK_EQ(fb_p9c_unlinkat(G.c, d, "fifo", 0), 0);
    FBT_CHECK_EQ(fb_p9c_unlinkat(G.c, d, "sl", 0), 0);
    FBT_CHECK_EQ(fb_p9c_unlinkat(G.c, d, "sl", 0), -ENOENT);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, d), 0);
}

/* A fid keeps working after the file is renamed through the gofer. */
static void test_rename_keeps_fid(void)
{
    uint32_t d, f;
    char buf[16];

    FBT_CHECK_EQ(walk_path(G.c, G.root, "data", &d, NULL), 0);
    FBT_CHECK_EQ(walk_path(G.c, d, "pre.txt", &f, NULL), 0);
    FBT_CHECK_EQ(fb_p9c_renameat(G.c, d, "pre.txt", d, "pre2.txt"), 0);
    FBT_CHECK_EQ(fb_p9c_lopen(G.c, f, O_RDONLY, NULL, NULL, NULL), 0);
    FBT_CHECK_EQ(fb_p9c_read(G.c, f, 0, buf, 3), 3);
    FBT_CHECK(memcmp(buf, "pre", 3) == 0);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, f), 0);
    FBT_CHECK_EQ(fb_p9c_renameat(G.c, d, "pre2.txt", d, "pre.txt"), 0);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, d), 0);
}

/* A host-side swap of the name behind a fid is detected, not silently followed. */
static void test_reopen_detects_swap(void)
{
    uint32_t d, f;
    char a[600], b[600];

    FBT_CHECK_EQ(walk_path(G.c, G.root, "data", &d, NULL), 0);
    write_file(rwdir, "swap.txt", "one");
    FBT_CHECK_EQ(walk_path(G.c, d, "swap.txt", &f, NULL), 0);
    snprintf(a, sizeof(a), "%s/swap.txt", rwdir);
    snprintf(b, sizeof(b), "%s/swap2.txt", rwdir);
    write_file(rwdir, "swap2.txt", "two");
    FBT_CHECK_EQ(rename(b, a), 0);
    FBT_CHECK_EQ(fb_p9c_lopen(G.c, f, O_RDONLY, NULL, NULL, NULL), -ESTALE);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, f), 0);
    unlink(a);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, d), 0);
}

static void test_large_write(void)
{
    uint32_t d, max = fb_p9c_max_io(G.c);
    uint8_t *buf = malloc(max + 100), *back = malloc(max + 100);
    uint32_t i;

    for (i = 0; i < max + 100; i++)
        buf[i] = (uint8_t)(i * 13);
    FBT_CHECK_EQ(walk_path(G.c, G.root, "data", &d, NULL), 0);
    FBT_CHECK_EQ(fb_p9c_lcreate(G.c, d, "big.out", O_RDWR, 0600, 0, NULL, NULL), 0);
    FBT_CHECK_EQ(fb_p9c_write(G.c, d, 0, buf, max + 100), (ssize_t)max); /* clamped */
    FBT_CHECK_EQ(fb_p9c_write(G.c, d, max, buf + max, 100), 100);
    FBT_CHECK_EQ(fb_p9c_read(G.c, d, 0, back, max), (ssize_t)max);
    FBT_CHECK(memcmp(back, buf, max) == 0);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, d), 0);
    FBT_CHECK_EQ(walk_path(G.c, G.root, "data", &d, NULL), 0);
    FBT_CHECK_EQ(fb_p9c_unlinkat(G.c, d, "big.out", 0), 0);
    FBT_CHECK_EQ(fb_p9c_clunk(G.c, d), 0);
    free(buf);
    free(back);
}

struct thr_arg {
    int fails;
};

static void *hammer(void *p)
{
    struct thr_arg *t = p;
    int i;

    for (i = 0; i < 300; i++) {
        uint32_t f;
        char buf[16];
        struct fb_p9_attr a;

        if (open_path("hello.txt", O_RDONLY, &f) < 0) {
            t->fails++;
            continue;
        }
        if (fb_p9c_read(G.c, f, 0, buf, 5) != 5 || memcmp(buf, "hello", 5) ||
            fb_p9c_getattr(G.c, f, FB_P9_GETATTR_BASIC, &a) || a.size != 12)
            t->fails++;
        if (fb_p9c_clunk(G.c, f))
            t->fails++;
    }
    return NULL;
}

static void test_concurrent_threads(void)
{
    pthread_t th[4];
    struct thr_arg args[4] = {{0}};
    int i;

    for (i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, hammer, &args[i]);
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        FBT_CHECK_EQ(args[i].fails, 0);
    }
}

/* The server refuses mutations by itself, not only through the mount flags: served without a
 * view from a writable directory (chroot), with no read-write mounts configured. */
static void test_server_enforces_ro(void)
{
    struct fb_gofer_config cfg = {0};
    struct fb_p9_setattr sa = {.valid = FB_P9_SETATTR_SIZE};
    struct gofer g = {0};
    char dir[600];
    uint32_t f, root;
    int sv[2], st;

    snprintf(dir, sizeof(dir), "%s/writable", base);
    FBT_CHECK_EQ(mkdir(dir, 0755), 0);
    write_file(dir, "w.txt", "w");
    FBT_CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    g.pid = fork_child();
    if (g.pid == 0) {
        int fd = child_keep_fd(sv[1]);
        if (chroot(dir) < 0 || chdir("/") < 0)
            _exit(2);
        _exit(fb_gofer_serve(fd, &cfg) == 0 ? 0 : 3);
    }
    close(sv[1]);
    g.sock = -1;
    FBT_CHECK_EQ(fb_p9c_new(sv[0], 0, &g.c), 0);
    FBT_CHECK_EQ(fb_p9c_attach(g.c, "", &root, NULL), 0);
    FBT_CHECK_EQ(fb_p9c_mkdir(g.c, root, "d", 0755, 0, NULL), -EROFS);
    FBT_CHECK_EQ(fb_p9c_unlinkat(g.c, root, "w.txt", 0), -EROFS);
    FBT_CHECK_EQ(fb_p9c_renameat(g.c, root, "w.txt", root, "v.txt"), -EROFS);
    FBT_CHECK_EQ(fb_p9c_symlink(g.c, root, "l", "w.txt", 0, NULL), -EROFS);
    FBT_CHECK_EQ(fb_p9c_mknod(g.c, root, "n", S_IFREG | 0644, 0, 0, 0, NULL), -EROFS);
    FBT_CHECK_EQ(walk_path(g.c, root, "w.txt", &f, NULL), 0);
    FBT_CHECK_EQ(fb_p9c_link(g.c, root, f, "hard"), -EROFS);
    FBT_CHECK_EQ(fb_p9c_setattr(g.c, f, &sa), -EROFS);
    FBT_CHECK_EQ(fb_p9c_lopen(g.c, f, O_RDWR, NULL, NULL, NULL), -EROFS);
    FBT_CHECK_EQ(fb_p9c_lopen(g.c, f, O_RDONLY, NULL, NULL, NULL), 0);
    FBT_CHECK_EQ(fb_p9c_write(g.c, f, 0, "x", 1), -EBADF);
    FBT_CHECK_EQ(fb_p9c_lcreate(g.c, root, "c", O_RDWR, 0644, 0, NULL, NULL), -EROFS);
    FBT_CHECK(host_exists(dir, "w.txt") && !host_exists(dir, "d") && !host_exists(dir, "c"));
    st = gofer_stop(&g);
    FBT_CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---- raw protocol: malformed input must not kill the gofer ------------------------------ */

static int raw_send(int sock, const struct fb_p9_msg *m)
{
    uint8_t buf[512];
    ssize_t n = fb_p9_encode(m, buf, sizeof(buf));

    if (n < 0)
        return (int)n;
    return write(sock, buf, (size_t)n) == n ? 0 : -errno;
}

/* Read one reply (2 s timeout). Returns its size, 0 on EOF, -ETIMEDOUT. */
static int raw_recv(int sock, uint8_t *buf, size_t cap, struct fb_p9_msg *m)
{
    size_t got = 0;
    uint32_t size = 0;

    for (;;) {
        struct pollfd p = {sock, POLLIN, 0};
        ssize_t n;

        if (poll(&p, 1, 2000) <= 0)
            return -ETIMEDOUT;
        n = read(sock, buf + got, cap - got);
        if (n <= 0)
            return 0;
        got += (size_t)n;
        if (got >= 4 && fb_p9_frame(buf, got, (uint32_t)cap, &size) < 0)
            return -EPROTO;
        if (size && got >= size)
            return fb_p9_decode(buf, size, m) == 0 ? (int)size : -EPROTO;
    }
}

/* A gofer as fnbox runs it (locked down by api/confine.c), serving the main tree with /data
 * read-write, on a raw socket after Tversion. */
static int raw_start(struct gofer *g)
{
    static const struct fb_gofer_config cfg = {
        .root = tree, .mounts = main_mounts, .nmounts = 2, .confine = fb_confine_gofer};
    struct fb_p9_msg m = {.type = FB_P9_TVERSION, .tag = FB_P9_NOTAG}, r;
    uint8_t buf[256];
    int err = gofer_start(&cfg, false, g);

    if (err)
        return err;
    m.u.version.msize = 65536;
    m.u.version.version = fb_p9_cstr("9P2000.L");
    if (raw_send(g->sock, &m) < 0 || raw_recv(g->sock, buf, sizeof(buf), &r) <= 0 ||
        r.type != FB_P9_RVERSION || r.u.version.msize != 65536)
        return -EPROTO;
    return 0;
}

static void expect_lerror(int sock, uint16_t tag, uint32_t ecode)
{
    uint8_t buf[256];
    struct fb_p9_msg r;

    FBT_CHECK(raw_recv(sock, buf, sizeof(buf), &r) > 0);
    FBT_CHECK_EQ(r.type, FB_P9_RLERROR);
    FBT_CHECK_EQ(r.tag, tag);
    FBT_CHECK_EQ(r.u.rlerror.ecode, ecode);
}

static void test_raw_malformed_answered(void)
{
    struct gofer g;
    struct fb_p9_msg m = {0}, r;
    uint8_t buf[256];
    uint8_t bad[32];

    FBT_CHECK_EQ(raw_start(&g), 0);
    /* Well-formed requests the server refuses keep the channel open. Unknown message type: */
    memset(bad, 0, sizeof(bad));
    bad[0] = 7;
    bad[4] = 250;
    bad[5] = 0x23;
    FBT_CHECK_EQ(write(g.sock, bad, 7), 7);
    expect_lerror(g.sock, 0x23, EOPNOTSUPP);
    /* Fid reuse: attach twice with the same fid. */
    m.type = FB_P9_TATTACH;
    m.tag = 0x24;
    m.u.tattach.fid = 5;
    m.u.tattach.afid = FB_P9_NOFID;
    m.u.tattach.uname = fb_p9_cstr("");
    m.u.tattach.aname = fb_p9_cstr("");
    FBT_CHECK_EQ(raw_send(g.sock, &m), 0);
    FBT_CHECK(raw_recv(g.sock, buf, sizeof(buf), &r) > 0);
    FBT_CHECK_EQ(r.type, FB_P9_RATTACH);
    m.tag = 0x25;
    FBT_CHECK_EQ(raw_send(g.sock, &m), 0);
    expect_lerror(g.sock, 0x25, EBADF);
    /* Walk to a newfid that is in use. */
    memset(&m, 0, sizeof(m));
    m.type = FB_P9_TWALK;
    m.tag = 0x26;
    m.u.twalk.fid = 5;
    m.u.twalk.newfid = 5;
    FBT_CHECK_EQ(raw_send(g.sock, &m), 0); /* newfid == fid with nwname 0: allowed */
    FBT_CHECK(raw_recv(g.sock, buf, sizeof(buf), &r) > 0);
    FBT_CHECK_EQ(r.type, FB_P9_RWALK);
    m.tag = 0x27;
    m.u.twalk.newfid = 6;
    FBT_CHECK_EQ(raw_send(g.sock, &m), 0);
    FBT_CHECK(raw_recv(g.sock, buf, sizeof(buf), &r) > 0);
    FBT_CHECK_EQ(r.type, FB_P9_RWALK);
    m.tag = 0x28;
    m.u.twalk.fid = 6;
    m.u.twalk.newfid = 5; /* in use */
    FBT_CHECK_EQ(raw_send(g.sock, &m), 0);
    expect_lerror(g.sock, 0x28, EBADF);
    /* A second Tversion resets the session: fid 5 is gone afterwards. */
    memset(&m, 0, sizeof(m));
    m.type = FB_P9_TVERSION;
    m.tag = FB_P9_NOTAG;
    m.u.version.msize = 100000;
    m.u.version.version = fb_p9_cstr("9P2000.L");
    FBT_CHECK_EQ(raw_send(g.sock, &m), 0);
    FBT_CHECK(raw_recv(g.sock, buf, sizeof(buf), &r) > 0);
    FBT_CHECK_EQ(r.type, FB_P9_RVERSION);
    memset(&m, 0, sizeof(m));
    m.type = FB_P9_TCLUNK;
    m.tag = 0x29;
    m.u.tfid.fid = 5;
    FBT_CHECK_EQ(raw_send(g.sock, &m), 0);
    expect_lerror(g.sock, 0x29, EBADF);
    /* An unsupported version gets "unknown". */
    memset(&m, 0, sizeof(m));
    m.type = FB_P9_TVERSION;
    m.tag = FB_P9_NOTAG;
    m.u.version.msize = 100000;
    m.u.version.version = fb_p9_cstr("9P2000.u");
    FBT_CHECK_EQ(raw_send(g.sock, &m), 0);
    FBT_CHECK(raw_recv(g.sock, buf, sizeof(buf), &r) > 0);
    FBT_CHECK_EQ(r.type, FB_P9_RVERSION);
    FBT_CHECK(r.u.version.version.len == 7 && !memcmp(r.u.version.version.s, "unknown", 7));
    /* Not versioned any more: requests are refused, not served. */
    memset(&m, 0, sizeof(m));
    m.type = FB_P9_TSTATFS;
    m.tag = 0x2a;
    FBT_CHECK_EQ(raw_send(g.sock, &m), 0);
    expect_lerror(g.sock, 0x2a, EPROTO);
    /* Clean shutdown. */
    {
        int st = gofer_stop(&g);
        FBT_CHECK(st >= 0 && WIFEXITED(st));
        FBT_CHECK_EQ(WEXITSTATUS(st), 0);
    }
}

/* Send bytes on a fresh locked-down gofer after attaching fid 1 to the root and walking fid 2 to
 * /data (read-write, so that mutating requests reach their name checks). The gofer must answer
 * nothing, close the channel and return from serve() with an error (exit status 3): never a
 * signal, which would include a seccomp kill. */
static bool closes_channel(const uint8_t *msg, size_t len)
{
    struct gofer g;
    struct fb_p9_msg m = {0}, r;
    const char *data[] = {"data"};
    uint8_t buf[256];
    int st, got;

    if (raw_start(&g) != 0)
        return false;
    m.type = FB_P9_TATTACH;
    m.tag = 1;
    m.u.tattach.fid = 1;
    m.u.tattach.afid = FB_P9_NOFID;
    m.u.tattach.uname = fb_p9_cstr("");
    m.u.tattach.aname = fb_p9_cstr("");
    if (raw_send(g.sock, &m) != 0 || raw_recv(g.sock, buf, sizeof(buf), &r) <= 0 ||
        r.type != FB_P9_RATTACH)
        goto fail;
    memset(&m, 0, sizeof(m));
    m.type = FB_P9_TWALK;
    m.tag = 2;
    m.u.twalk.fid = 1;
    m.u.twalk.newfid = 2;
    m.u.twalk.nwname = 1;
    m.u.twalk.wnames[0] = fb_p9_cstr(data[0]);
    if (raw_send(g.sock, &m) != 0 || raw_recv(g.sock, buf, sizeof(buf), &r) <= 0 ||
        r.type != FB_P9_RWALK)
        goto fail;
    if (write(g.sock, msg, len) != (ssize_t)len)
        goto fail;
    got = raw_recv(g.sock, buf, sizeof(buf), &r);
    st = gofer_stop(&g);
    if (got != 0)
        printf("  closes_channel: got a reply (%d) instead of EOF\n", got);
    if (!(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 3))
        printf("  closes_channel: gofer wait status %#x\n", st);
    return got == 0 && st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 3;
fail:
    gofer_stop(&g);
    return false;
}

/* Encode m (tag 9) and check that it closes the channel. */
static bool msg_closes_channel(struct fb_p9_msg *m)
{
    uint8_t buf[1024];
    ssize_t n;

    m->tag = 9;
    n = fb_p9_encode(m, buf, sizeof(buf));
    return n > 0 && closes_channel(buf, (size_t)n);
}

static struct fb_p9_msg walk_msg(int n, const char *const *names)
{
    struct fb_p9_msg m = {.type = FB_P9_TWALK};
    int i;

    m.u.twalk.fid = 2;
    m.u.twalk.newfid = 3;
    m.u.twalk.nwname = (uint16_t)n;
    for (i = 0; i < n; i++)
        m.u.twalk.wnames[i] = fb_p9_cstr(names[i]);
    return m;
}

static void test_raw_bad_walk_names_close(void)
{
    static const char *const dotdot[] = {".."}, *const dot[] = {"."}, *const slash[] = {"a/b"},
                             *const empty[] = {""}, *const late[] = {"sub", ".."},
                             *const late2[] = {"a", "b", ".", "c"}, *const root[] = {"/"};
    char longname[NAME_MAX + 2];
    const char *const lng[] = {longname};
    struct fb_p9_msg m;

    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    m = walk_msg(1, dotdot);
    FBT_CHECK(msg_closes_channel(&m));
    m = walk_msg(1, dot);
    FBT_CHECK(msg_closes_channel(&m));
    m = walk_msg(1, slash);
    FBT_CHECK(msg_closes_channel(&m));
    m = walk_msg(1, empty);
    FBT_CHECK(msg_closes_channel(&m));
    m = walk_msg(2, late); /* checked before anything is walked */
    FBT_CHECK(msg_closes_channel(&m));
    m = walk_msg(4, late2);
    FBT_CHECK(msg_closes_channel(&m));
    m = walk_msg(1, root);
    FBT_CHECK(msg_closes_channel(&m));
    m = walk_msg(1, lng); /* NAME_MAX + 1 bytes */
    FBT_CHECK(msg_closes_channel(&m));
    m = walk_msg(2, late);
    m.type = FB_P9_TWALKGETATTR;
    FBT_CHECK(msg_closes_channel(&m));
}

/* Every request that carries a name refuses bad ones the same way, even where the operation
 * itself would have been refused (a bad name is checked first). */
static void test_raw_bad_names_every_request_close(void)
{
    struct fb_p9_msg m;

    memset(&m, 0, sizeof(m));
    m.type = FB_P9_TLCREATE;
    m.u.tlcreate.fid = 2;
    m.u.tlcreate.name = fb_p9_cstr("..");
    m.u.tlcreate.flags = O_RDWR;
    m.u.tlcreate.mode = 0644;
    FBT_CHECK(msg_closes_channel(&m));
    memset(&m, 0, sizeof(m));
    m.type = FB_P9_TMKDIR;
    m.u.tmkdir.dfid = 2;
    m.u.tmkdir.name = fb_p9_cstr("a/b");
    m.u.tmkdir.mode = 0755;
    FBT_CHECK(msg_closes_channel(&m));
    memset(&m, 0, sizeof(m));
    m.type = FB_P9_TSYMLINK;
    m.u.tsymlink.fid = 2;
    m.u.tsymlink.name = fb_p9_cstr(".");
    m.u.tsymlink.target = fb_p9_cstr("/etc/shadow");
    FBT_CHECK(msg_closes_channel(&m));
    memset(&m, 0, sizeof(m));
    m.type = FB_P9_TMKNOD;
    m.u.tmknod.dfid = 2;
    m.u.tmknod.name = fb_p9_cstr("");
    m.u.tmknod.mode = S_IFIFO | 0644;
    FBT_CHECK(msg_closes_channel(&m));
    memset(&m, 0, sizeof(m));
    m.type = FB_P9_TLINK;
    m.u.tlink.dfid = 2;
    m.u.tlink.fid = 1;
    m.u.tlink.name = fb_p9_cstr("../x");
    FBT_CHECK(msg_closes_channel(&m));
    memset(&m, 0, sizeof(m));
    m.type = FB_P9_TUNLINKAT;
    m.u.tunlinkat.dfid = 2;
    m.u.tunlinkat.name = fb_p9_cstr("..");
    FBT_CHECK(msg_closes_channel(&m));
    memset(&m, 0, sizeof(m));
    m.type = FB_P9_TRENAMEAT;
    m.u.trenameat.olddfid = 2;
    m.u.trenameat.oldname = fb_p9_cstr("ok");
    m.u.trenameat.newdfid = 2;
    m.u.trenameat.newname = fb_p9_cstr("..");
    FBT_CHECK(msg_closes_channel(&m));
    memset(&m, 0, sizeof(m));
    m.type = FB_P9_TRENAME;
    m.u.trename.fid = 2;
    m.u.trename.dfid = 1;
    m.u.trename.name = fb_p9_cstr("x/y");
    FBT_CHECK(msg_closes_channel(&m));
    /* On a read-only tree too: the name is checked before the EROFS. */
    memset(&m, 0, sizeof(m));
    m.type = FB_P9_TMKDIR;
    m.u.tmkdir.dfid = 1;
    m.u.tmkdir.name = fb_p9_cstr("..");
    FBT_CHECK(msg_closes_channel(&m));
    /* Tattach with ".." in the attach path. */
    memset(&m, 0, sizeof(m));
    m.type = FB_P9_TATTACH;
    m.u.tattach.fid = 7;
    m.u.tattach.afid = FB_P9_NOFID;
    m.u.tattach.uname = fb_p9_cstr("");
    m.u.tattach.aname = fb_p9_cstr("/data/../..");
    FBT_CHECK(msg_closes_channel(&m));
}

/* Messages whose counts, lengths or strings lie: framed, but malformed. */
static void test_raw_malformed_close(void)
{
    uint8_t bad[64];

    /* Twalk claiming 17 names (more than 9P allows). */
    memset(bad, 0, sizeof(bad));
    bad[0] = 17;
    bad[4] = FB_P9_TWALK;
    bad[5] = 0x21;
    bad[15] = 17;
    FBT_CHECK(closes_channel(bad, 17));
    /* Twalk claiming 2 names but carrying one. */
    memset(bad, 0, sizeof(bad));
    bad[0] = 22;
    bad[4] = FB_P9_TWALK;
    bad[7] = 2;  /* fid 2 */
    bad[11] = 3; /* newfid 3 */
    bad[15] = 2; /* nwname 2 */
    bad[17] = 3; /* name length 3 */
    memcpy(bad + 19, "sub", 3);
    FBT_CHECK(closes_channel(bad, 22));
    /* Body shorter than the type needs. */
    memset(bad, 0, sizeof(bad));
    bad[0] = 9;
    bad[4] = FB_P9_TGETATTR;
    FBT_CHECK(closes_channel(bad, 9));
    /* Bytes left over after the body (a length field lied). */
    memset(bad, 0, sizeof(bad));
    bad[0] = 12;
    bad[4] = FB_P9_TCLUNK;
    bad[7] = 2;
    FBT_CHECK(closes_channel(bad, 12));
    /* A string length running past the message. */
    memset(bad, 0, sizeof(bad));
    bad[0] = 20;
    bad[4] = FB_P9_TMKDIR;
    bad[7] = 2;
    bad[11] = 200; /* name length 200 in a 20-byte message */
    FBT_CHECK(closes_channel(bad, 20));
    /* A name with a NUL byte in it. */
    memset(bad, 0, sizeof(bad));
    bad[0] = 24;
    bad[4] = FB_P9_TWALK;
    bad[7] = 2;
    bad[11] = 3;
    bad[15] = 1;
    bad[17] = 5;
    memcpy(bad + 19, "ab\0cd", 5);
    FBT_CHECK(closes_channel(bad, 24));
}

/* Framing errors cannot be answered: the gofer closes the channel and returns an error, it does
 * not crash. */
static void test_raw_bad_framing_closes(void)
{
    static const uint32_t sizes[] = {3, 0, 0x7fffffff, 65537};
    size_t i;

    for (i = 0; i < FB_ARRAY_SIZE(sizes); i++) {
        struct gofer g;
        uint8_t bad[8] = {0};
        uint8_t buf[64];
        struct fb_p9_msg r;
        int st;

        FBT_CHECK_EQ(raw_start(&g), 0);
        bad[0] = (uint8_t)sizes[i];
        bad[1] = (uint8_t)(sizes[i] >> 8);
        bad[2] = (uint8_t)(sizes[i] >> 16);
        bad[3] = (uint8_t)(sizes[i] >> 24);
        bad[4] = FB_P9_TCLUNK;
        FBT_CHECK_EQ(write(g.sock, bad, 8), 8);
        FBT_CHECK_EQ(raw_recv(g.sock, buf, sizeof(buf), &r), 0); /* EOF: channel closed */
        st = gofer_stop(&g);
        FBT_CHECK(st >= 0 && WIFEXITED(st)); /* exited by itself, no signal */
        FBT_CHECK_EQ(WEXITSTATUS(st), 3);    /* serve() returned an error */
    }
}

/* Random garbage after the handshake: the gofer answers or closes, never dies by a signal. */
static void test_raw_garbage_fuzz(void)
{
    uint64_t x = 0x1234567887654321ull;
    int round;

    for (round = 0; round < 8; round++) {
        struct gofer g;
        uint8_t junk[4096];
        size_t i;
        int st;

        FBT_CHECK_EQ(raw_start(&g), 0);
        for (i = 0; i < sizeof(junk); i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            junk[i] = (uint8_t)x;
        }
        /* Plausible frames with random bodies first, then pure noise. */
        for (i = 0; i + 64 <= 2048; i += 64) {
            junk[i] = 64;
            junk[i + 1] = junk[i + 2] = junk[i + 3] = 0;
            junk[i + 4] &= 0x7e; /* even: T-messages */
        }
        if (write(g.sock, junk, sizeof(junk)) < 0)
            break;
        shutdown(g.sock, SHUT_WR);
        while (read(g.sock, junk, sizeof(junk)) > 0)
            ;
        st = gofer_stop(&g);
        FBT_CHECK(st >= 0 && WIFEXITED(st));
        FBT_CHECK(WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 3);
    }
}

/* ---- the client against a hostile server ----------------------------------------------- */

/* Fake server: answers Tversion properly, then replies to each request with the next canned
 * reply (bytes patched with the request's tag unless keep_tag). */
struct canned {
    uint8_t bytes[64];
    size_t len;
    bool keep_tag;
    bool with_fd;
};

static void fake_server(int sock, const struct canned *rep, int n)
{
    uint8_t buf[65536];
    int i;

    for (i = -1; i < n; i++) {
        uint32_t size;
        size_t got = 0;
        struct fb_p9_msg m;

        while (got < 7 || (fb_p9_frame(buf, got, sizeof(buf), &size) == 0 && got < size)) {
            ssize_t r = read(sock, buf + got, sizeof(buf) - got);
            if (r <= 0)
                _exit(0);
            got += (size_t)r;
        }
        if (i < 0) {
            uint8_t out[64];
            struct fb_p9_msg v = {.type = FB_P9_RVERSION, .tag = FB_P9_NOTAG};
            ssize_t l;
            v.u.version.msize = 65536;
            v.u.version.version = fb_p9_cstr("9P2000.L");
            l = fb_p9_encode(&v, out, sizeof(out));
            (void)!write(sock, out, (size_t)l);
            continue;
        }
        fb_p9_decode(buf, got, &m);
        {
            uint8_t out[64];
            memcpy(out, rep[i].bytes, rep[i].len);
            if (!rep[i].keep_tag) {
                out[5] = buf[5];
                out[6] = buf[6];
            }
            if (rep[i].with_fd) {
                int fd = open("/dev/null", O_RDONLY);
                union {
                    char b[CMSG_SPACE(sizeof(int))];
                    struct cmsghdr a;
                } ctl;
                struct iovec iov = {out, rep[i].len};
                struct msghdr mh = {.msg_iov = &iov,
                                    .msg_iovlen = 1,
                                    .msg_control = ctl.b,
                                    .msg_controllen = sizeof(ctl.b)};
                struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(cm), &fd, sizeof(int));
                sendmsg(sock, &mh, 0);
                close(fd);
            } else {
                (void)!write(sock, out, rep[i].len);
            }
        }
    }
    sleep(1);
    _exit(0);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;

    while (d && (de = readdir(d)))
        n += de->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void test_client_hostile_replies(void)
{
    struct canned rep[8];
    struct fb_p9_client *c;
    struct fb_p9_attr a;
    struct fb_p9_qid q;
    char buf[64];
    uint32_t f;
    int sv[2], fds_before, fd = 5, st;
    pid_t pid;

    memset(rep, 0, sizeof(rep));
    /* 0: Rgetattr cut short (size honest) */
    rep[0] = (struct canned){{20, 0, 0, 0, FB_P9_RGETATTR}, 20, false, false};
    /* 1: Rlerror with ecode 0 must not mean success */
    rep[1] = (struct canned){{11, 0, 0, 0, FB_P9_RLERROR, 0, 0, 0, 0, 0, 0}, 11, false, false};
    /* 2: Rread claiming more than requested (4) */
    rep[2] = (struct canned){
        {19, 0, 0, 0, FB_P9_RREAD, 0, 0, 8, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}, 19, false, false};
    /* 3: Rclunk carrying an unexpected fd: it must be closed, not leaked */
    rep[3] = (struct canned){{7, 0, 0, 0, FB_P9_RCLUNK}, 7, false, true};
    /* 4: Rlopen donating /dev/null (not a regular file): refused */
    rep[4] = (struct canned){{24, 0, 0, 0, FB_P9_RLOPEN}, 24, false, true};
    /* 5: Rwalk with more qids than names */
    rep[5] = (struct canned){{35, 0, 0, 0, FB_P9_RWALK, 0, 0, 2}, 35, false, false};
    /* 6: wrong tag: channel declared dead */
    rep[6] = (struct canned){{7, 0, 0, 0, FB_P9_RCLUNK, 0x77, 0x77}, 7, true, false};
    FBT_CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    pid = fork_child();
    if (pid == 0)
        fake_server(child_keep_fd(sv[1]), rep, 7);
    close(sv[1]);
    FBT_CHECK_EQ(fb_p9c_new(sv[0], 65536, &c), 0);
    fds_before = count_fds();
    FBT_CHECK_EQ(fb_p9c_getattr(c, 1, FB_P9_GETATTR_BASIC, &a), -EPROTO);
    FBT_CHECK_EQ(fb_p9c_clunk(c, 1), -EPROTO);
    FBT_CHECK_EQ(fb_p9c_read(c, 1, 0, buf, 4), -EPROTO);
    FBT_CHECK_EQ(fb_p9c_clunk(c, 1), 0);
    FBT_CHECK_EQ(count_fds(), fds_before);
    FBT_CHECK_EQ(fb_p9c_lopen(c, 1, O_RDONLY, &q, NULL, &fd), 0);
    FBT_CHECK_EQ(fd, -1);
    FBT_CHECK_EQ(count_fds(), fds_before);
    {
        const char *n[] = {"a"};
        FBT_CHECK_EQ(fb_p9c_walk(c, 1, 1, n, &f, NULL), -EPROTO);
    }
    FBT_CHECK_EQ(fb_p9c_clunk(c, 1), -EPROTO);
    FBT_CHECK_EQ(fb_p9c_getattr(c, 1, FB_P9_GETATTR_BASIC, &a), -ECONNRESET);
    fb_p9c_free(c);
    st = reap(pid);
    FBT_CHECK(st >= 0);
}

/* Donated fds that are not read-only regular files are refused by open_fd and by a batch
 * (that entry only, nothing leaked); a batch's reply with the wrong tag kills the channel. */
static void test_client_hostile_donations(void)
{
    struct canned rep[3];
    struct fb_p9_client *c;
    struct fb_p9_attr a;
    uint32_t fid = 1;
    int sv[2], fds_before, fd = 5, fds[1], st;
    pid_t pid;

    memset(rep, 0, sizeof(rep));
    rep[0] = (struct canned){{24, 0, 0, 0, FB_P9_RLOPEN}, 24, false, true}; /* /dev/null */
    rep[1] = rep[0];
    rep[2] = (struct canned){{24, 0, 0, 0, FB_P9_RLOPEN, 0x77, 0x77}, 24, true, false};
    FBT_CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    pid = fork_child();
    if (pid == 0)
        fake_server(child_keep_fd(sv[1]), rep, 3);
    close(sv[1]);
    FBT_CHECK_EQ(fb_p9c_new(sv[0], 65536, &c), 0);
    fds_before = count_fds();
    FBT_CHECK_EQ(fb_p9c_open_fd(c, fid, &fd), -EPROTO);
    FBT_CHECK_EQ(fd, -1);
    FBT_CHECK_EQ(count_fds(), fds_before);
    FBT_CHECK_EQ(fb_p9c_open_fds(c, &fid, 1, fds), 0);
    FBT_CHECK_EQ(fds[0], -EPROTO);
    FBT_CHECK_EQ(count_fds(), fds_before);
    FBT_CHECK_EQ(fb_p9c_open_fds(c, &fid, 1, fds), -EPROTO);
    FBT_CHECK_EQ(fds[0], -EPROTO);
    FBT_CHECK_EQ(fb_p9c_getattr(c, 1, FB_P9_GETATTR_BASIC, &a), -ECONNRESET);
    FBT_CHECK_EQ(count_fds(), fds_before);
    fb_p9c_free(c);
    st = reap(pid);
    FBT_CHECK(st >= 0);
}

/* Handshake refusals. */
static void test_client_version_refused(void)
{
    struct fb_p9_client *c = NULL;
    int sv[2];
    pid_t pid;

    FBT_CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    FBT_CHECK_EQ(fb_p9c_new(sv[0], 100, &c), -EINVAL); /* msize below minimum; sock closed */
    FBT_CHECK(c == NULL);
    FBT_CHECK_EQ(fcntl(sv[0], F_GETFD), -1);
    close(sv[1]);

    FBT_CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    pid = fork_child();
    if (pid == 0) {
        uint8_t b[256], out[64];
        struct fb_p9_msg v = {.type = FB_P9_RVERSION, .tag = FB_P9_NOTAG};
        sv[1] = child_keep_fd(sv[1]);
        (void)!read(sv[1], b, sizeof(b));
        v.u.version.msize = 65536;
        v.u.version.version = fb_p9_cstr("unknown");
        (void)!write(sv[1], out, (size_t)fb_p9_encode(&v, out, sizeof(out)));
        _exit(0);
    }
    close(sv[1]);
    FBT_CHECK_EQ(fb_p9c_new(sv[0], 0, &c), -EPROTONOSUPPORT);
    reap(pid);
}

/* ---- default view and view errors ------------------------------------------------------ */

static void test_default_view(void)
{
    struct fb_gofer_config cfg = {0};
    struct gofer g;
    struct fb_p9_qid q;
    uint32_t f;
    char buf[4096];
    ssize_t n;
    int st;

    FBT_CHECK_EQ(gofer_start(&cfg, true, &g), 0);
    FBT_CHECK_EQ(walk_path(g.c, g.root, "usr/bin", &f, &q), 0);
    FBT_CHECK_EQ(q.type, FB_P9_QTDIR);
    fb_p9c_clunk(g.c, f);
    FBT_CHECK_EQ(walk_path(g.c, g.root, "usr/bin/sh", &f, &q), 0);
    fb_p9c_clunk(g.c, f);
    /* /etc/passwd readable */
    FBT_CHECK_EQ(walk_path(g.c, g.root, "etc/passwd", &f, &q), 0);
    FBT_CHECK_EQ(fb_p9c_lopen(g.c, f, O_RDONLY, NULL, NULL, NULL), 0);
    n = fb_p9c_read(g.c, f, 0, buf, sizeof(buf) - 1);
    FBT_CHECK(n > 5);
    buf[n] = 0;
    FBT_CHECK(strstr(buf, "root:") != NULL);
    fb_p9c_clunk(g.c, f);
    /* secrets absent */
    FBT_CHECK_EQ(walk_path(g.c, g.root, "etc/shadow", &f, NULL), -ENOENT);
    FBT_CHECK_EQ(walk_path(g.c, g.root, "etc/gshadow", &f, NULL), -ENOENT);
    FBT_CHECK_EQ(walk_path(g.c, g.root, "etc/ssh", &f, NULL), -ENOENT);
    FBT_CHECK_EQ(walk_path(g.c, g.root, "etc/sudoers", &f, NULL), -ENOENT);
    FBT_CHECK_EQ(walk_path(g.c, g.root, "root", &f, NULL), -ENOENT);
    FBT_CHECK_EQ(walk_path(g.c, g.root, "home", &f, NULL), -ENOENT);
    FBT_CHECK_EQ(walk_path(g.c, g.root, "var", &f, NULL), -ENOENT);
    FBT_CHECK_EQ(walk_path(g.c, g.root, "work", &f, NULL), -ENOENT);
    /* merged-/usr symlinks reproduced as symlinks */
    {
        struct stat hst;
        if (lstat("/bin", &hst) == 0 && S_ISLNK(hst.st_mode)) {
            FBT_CHECK_EQ(walk_path(g.c, g.root, "bin", &f, &q), 0);
            FBT_CHECK_EQ(q.type, FB_P9_QTSYMLINK);
            FBT_CHECK(fb_p9c_readlink(g.c, f, buf, sizeof(buf)) > 0);
            FBT_CHECK(strstr(buf, "usr/bin") != NULL);
            fb_p9c_clunk(g.c, f);
        }
    }
    /* empty mount points for the Sentry */
    FBT_CHECK_EQ(walk_path(g.c, g.root, "proc", &f, &q), 0);
    FBT_CHECK_EQ(q.type, FB_P9_QTDIR);
    FBT_CHECK_EQ(fb_p9c_lopen(g.c, f, O_RDONLY, NULL, NULL, NULL), 0);
    {
        struct fb_p9_dirent e[4];
        FBT_CHECK_EQ(fb_p9c_readdir(g.c, f, 0, e, 4), 0);
    }
    fb_p9c_clunk(g.c, f);
    /* everything read-only */
    FBT_CHECK_EQ(fb_p9c_mkdir(g.c, g.root, "x", 0755, 0, NULL), -EROFS);
    FBT_CHECK_EQ(walk_path(g.c, g.root, "tmp", &f, NULL), 0);
    FBT_CHECK_EQ(fb_p9c_mkdir(g.c, f, "x", 0755, 0, NULL), -EROFS);
    fb_p9c_clunk(g.c, f);
    st = gofer_stop(&g);
    FBT_CHECK(st >= 0 && WIFEXITED(st));
    FBT_CHECK_EQ(WEXITSTATUS(st), 0);
}

/* prepare_view in a child; returns its error message through a pipe ("" on success). */
static void view_error(const struct fb_gofer_config *cfg, char *msg, size_t cap)
{
    int p[2];
    pid_t pid;
    ssize_t n;

    if (pipe(p) < 0) {
        snprintf(msg, cap, "pipe failed");
        return;
    }
    pid = fork_child();
    if (pid == 0) {
        struct fb_error err = {0};
        int fd = child_keep_fd(p[1]);
        if (fb_gofer_prepare_view(cfg, &err) < 0)
            (void)!write(fd, err.msg, strlen(err.msg));
        _exit(0);
    }
    close(p[1]);
    n = read(p[0], msg, cap - 1);
    msg[n > 0 ? n : 0] = 0;
    close(p[0]);
    reap(pid);
}

static void test_view_errors(void)
{
    char msg[600], missing[600];
    struct fb_gofer_mount m[1];
    struct fb_gofer_config cfg = {.root = tree, .mounts = m, .nmounts = 1};

    m[0] = (struct fb_gofer_mount){rwdir, "data", false};
    view_error(&cfg, msg, sizeof(msg));
    FBT_CHECK(strstr(msg, "not an absolute path") != NULL);

    snprintf(missing, sizeof(missing), "%s/does-not-exist", base);
    m[0] = (struct fb_gofer_mount){missing, "/x", false};
    view_error(&cfg, msg, sizeof(msg));
    FBT_CHECK(strstr(msg, "does-not-exist") && strstr(msg, "No such file"));

    m[0] = (struct fb_gofer_mount){rwdir, "/a/../b", false};
    view_error(&cfg, msg, sizeof(msg));
    FBT_CHECK(strstr(msg, "'..'") != NULL);

    m[0] = (struct fb_gofer_mount){rwdir, "/", false};
    view_error(&cfg, msg, sizeof(msg));
    FBT_CHECK(strstr(msg, "view root") != NULL);

    /* A mount point that would have to be created inside a read-only host tree. */
    m[0] = (struct fb_gofer_mount){rwdir, "/dir/newmp", false};
    view_error(&cfg, msg, sizeof(msg));
    FBT_CHECK(strstr(msg, "newmp") && strstr(msg, "bound host tree"));

    cfg.nmounts = 0;
    cfg.root = missing;
    view_error(&cfg, msg, sizeof(msg));
    FBT_CHECK(strstr(msg, "root directory") != NULL);

    /* And a good config reports nothing. */
    cfg.root = tree;
    view_error(&cfg, msg, sizeof(msg));
    FBT_CHECK_STR(msg, "");
}

static void test_no_children_left(void)
{
    FBT_CHECK_EQ(gofer_stop(&G) >= 0, 1);
    FBT_CHECK_EQ(waitpid(-1, NULL, WNOHANG), -1);
    FBT_CHECK_EQ(errno, ECHILD);
}

int main(void)
{
    /* The main gofer runs locked down exactly as fnbox runs it, so every operation below also
     * proves that the Gofer's seccomp allowlist and capabilities suffice for it. */
    struct fb_gofer_config cfg = {.root = tree,
                                  .mounts = main_mounts,
                                  .nmounts = 2,
                                  .donate_fds = true,
                                  .confine = fb_confine_gofer};
    int r;

    signal(SIGPIPE, SIG_IGN);
    if (geteuid() != 0) {
        FBT_SKIP(gofer_server_tests, "needs root (mount namespaces)");
        return 0;
    }
    make_tree();
    r = gofer_start(&cfg, true, &G);
    if (r < 0) {
        printf("FAIL gofer_start: %s\n", strerror(-r));
        remove_tree();
        return 1;
    }
    FBT_RUN(test_attach_walk_getattr);
    FBT_RUN(test_clone_walk);
    FBT_RUN(test_walkgetattr_and_open_fd);
    FBT_RUN(test_open_fds_batch);
    FBT_RUN(test_walk_many);
    FBT_RUN(test_walk_many_too_big);
    FBT_RUN(test_lopen_read);
    FBT_RUN(test_big_read);
    FBT_RUN(test_donated_fd);
    FBT_RUN(test_readdir_paged);
    FBT_RUN(test_readdir_root);
    FBT_RUN(test_readlink_and_symlinks);
    FBT_RUN(test_walk_through_symlink_stops);
    FBT_RUN(test_walk_bad_names);
    FBT_RUN(test_unknown_fid);
    FBT_RUN(test_statfs);
    FBT_RUN(test_erofs_readonly_trees);
    FBT_RUN(test_rw_mount_ops);
    FBT_RUN(test_rename_keeps_fid);
    FBT_RUN(test_reopen_detects_swap);
    FBT_RUN(test_large_write);
    FBT_RUN(test_server_enforces_ro);
    FBT_RUN(test_concurrent_threads);
    FBT_RUN(test_raw_malformed_answered);
    FBT_RUN(test_raw_malformed_close);
    FBT_RUN(test_raw_bad_walk_names_close);
    FBT_RUN(test_raw_bad_names_every_request_close);
    FBT_RUN(test_raw_bad_framing_closes);
    FBT_RUN(test_raw_garbage_fuzz);
    FBT_RUN(test_client_hostile_replies);
    FBT_RUN(test_client_hostile_donations);
    FBT_RUN(test_client_version_refused);
    FBT_RUN(test_default_view);
    FBT_RUN(test_view_errors);
    FBT_RUN(test_no_children_left);
    kill_leftover_children();
    remove_tree();
    FBT_EXIT();
}
