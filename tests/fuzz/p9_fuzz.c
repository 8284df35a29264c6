/* libFuzzer target for the Gofer's 9P side: the message decoder (fb_p9_decode, with an encode
 * round trip) and the whole server (fb_gofer_serve: framing, validation, dispatch) fed the input
 * as a stream of requests. Built with clang by `make fuzz` (scripts/fuzz.sh), not by `make all`.
 *
 * The server serves the calling thread's "/", so it runs in one long-lived server thread that
 * first moves itself (mount namespace and root are per thread after unshare) into a private view
 * (fb_gofer_prepare_view, as the real Gofer) of a small scratch tree: a read-only tree with
 * files, a directory and symlinks, and a read-write mount at /data. Nothing the fuzzer makes the
 * server do can reach the host's files, while libFuzzer's own thread still sees the host (its
 * corpus, artifacts, /proc for LeakSanitizer). Needs root (mount namespace). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gofer/gofer.h"
#include "gofer/p9.h"
#include "kernel/util/log.h"

static struct fb_gofer_mount mounts[1];
static struct fb_gofer_config cfg;
static char base[] = "/tmp/fnbox-p9fuzz-XXXXXX";
static char tree[64], rw[64];

/* The session every input starts in: Tversion (msize 65536) and Tattach of fid 0 to "/", so
 * that the corpus and the mutations spend their bytes on requests. */
static uint8_t prologue[128];
static size_t prologue_len;

static void put_file(const char *dir, const char *name, const char *content)
{
    char p[256];
    int fd;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        (void)!write(fd, content, strlen(content));
        close(fd);
    }
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(p);
    return 0;
}

/* At exit, from the main thread (which still sees the host): remove the scratch tree. */
static void remove_tree(void)
{
    nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void make_tree(void)
{
    char p[256];

    if (!mkdtemp(base)) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(tree, sizeof(tree), "%s/tree", base);
    snprintf(rw, sizeof(rw), "%s/rw", base);
    mkdir(tree, 0755);
    mkdir(rw, 0777);
    put_file(tree, "file", "hello, fuzzer\n");
    snprintf(p, sizeof(p), "%s/dir", tree);
    mkdir(p, 0755);
    put_file(p, "inner", "inner file\n");
    snprintf(p, sizeof(p), "%s/link", tree);
    (void)!symlink("file", p);
    snprintf(p, sizeof(p), "%s/escape", tree);
    (void)!symlink("../../../../etc/shadow", p);
    put_file(rw, "w", "writable\n");
}

static void make_prologue(void)
{
    struct fb_p9_msg m = {.type = FB_P9_TVERSION, .tag = FB_P9_NOTAG};
    ssize_t n;

    m.u.version.msize = 65536;
    m.u.version.version = fb_p9_cstr(FB_P9_VERSION_L);
    n = fb_p9_encode(&m, prologue, sizeof(prologue));
    if (n < 0)
        abort();
    prologue_len = (size_t)n;
    memset(&m, 0, sizeof(m));
    m.type = FB_P9_TATTACH;
    m.tag = 1;
    m.u.tattach.fid = 0;
    m.u.tattach.afid = FB_P9_NOFID;
    m.u.tattach.uname = fb_p9_cstr("");
    m.u.tattach.aname = fb_p9_cstr("");
    n = fb_p9_encode(&m, prologue + prologue_len, sizeof(prologue) - prologue_len);
    if (n < 0)
        abort();
    prologue_len += (size_t)n;
}

/* The server thread: builds the view, then serves one connection per input. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int pending_fd = -1; /* connection to serve, or -1 */
static int view_state;      /* 0 building, 1 ready, -1 failed */

static void *server_main(void *arg)
{
    struct fb_error err = {0};

    (void)arg;
    /* The view replaces this thread's root: give it its own fs context first. */
    if (unshare(CLONE_FS) != 0 || fb_gofer_prepare_view(&cfg, &err) < 0) {
        fprintf(stderr, "p9_fuzz: %s\n", err.msg[0] ? err.msg : strerror(errno));
        pthread_mutex_lock(&lock);
        view_state = -1;
        pthread_cond_broadcast(&cond);
        pthread_mutex_unlock(&lock);
        return NULL;
    }
    pthread_mutex_lock(&lock);
    view_state = 1;
    pthread_cond_broadcast(&cond);
    for (;;) {
        int fd;
        while (pending_fd < 0)
            pthread_cond_wait(&cond, &lock);
        fd = pending_fd;
        pthread_mutex_unlock(&lock);
        fb_gofer_serve(fd, &cfg);
        close(fd); /* EOF for the reader */
        pthread_mutex_lock(&lock);
        pending_fd = -1;
        pthread_cond_broadcast(&cond);
    }
    return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    pthread_t th;

    (void)argc;
    (void)argv;
    if (geteuid() != 0) {
        fprintf(stderr, "p9_fuzz: needs root (it serves a private mount namespace)\n");
        exit(1);
    }
    make_tree();
    atexit(remove_tree);
    mounts[0] = (struct fb_gofer_mount){.src = rw, .dst = "/data", .ro = false};
    cfg =
        (struct fb_gofer_config){.root = tree, .mounts = mounts, .nmounts = 1, .donate_fds = true};
    make_prologue();
    fb_log_verbosity = -1; /* the server logs every rejection; the fuzzer would drown in them */
    if (pthread_create(&th, NULL, server_main, NULL) != 0)
        exit(1);
    pthread_mutex_lock(&lock);
    while (view_state == 0)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    if (view_state < 0)
        exit(1);
    return 0;
}

/* Read and discard the server's replies (closing donated fds) until it closes the channel. */
static void drain(int fd)
{
    uint8_t buf[65536];
    union {
        char c[CMSG_SPACE(sizeof(int) * 8)];
        struct cmsghdr align;
    } ctl;

    for (;;) {
        struct iovec iov = {buf, sizeof(buf)};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = ctl.c,
                            .msg_controllen = sizeof(ctl.c)};
        struct cmsghdr *cm;
        ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);

        if (n <= 0)
            break;
        for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
                size_t k, nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (k = 0; k < nfd; k++) {
                    int dfd;
                    memcpy(&dfd, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
                    close(dfd);
                }
            }
        }
    }
}

/* Decoder property: whatever decodes re-encodes to a message that decodes to the same type and
 * tag, and nothing reads outside the input (ASan watches). */
static void fuzz_decode(const uint8_t *data, size_t size)
{
    struct fb_p9_msg m, m2;
    uint32_t fsize;
    uint8_t *copy, out[65536];
    ssize_t n;

    /* An exact-size heap copy so that ASan catches any read past the end. */
    copy = malloc(size ? size : 1);
    if (!copy)
        return;
    memcpy(copy, data, size);
    if (fb_p9_frame(copy, size, 65536, &fsize) == 0 && fsize <= size &&
        fb_p9_decode(copy, fsize, &m) == 0) {
        n = fb_p9_encode(&m, out, sizeof(out));
        if (n > 0) {
            if (fb_p9_decode(out, (size_t)n, &m2) != 0 || m2.type != m.type || m2.tag != m.tag)
                abort();
        }
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];

    fuzz_decode(data, size);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return 0;
    /* The requests go in first, then EOF; the server thread handles (or refuses) them all and
     * closes its end, while this thread drains the replies so that it never blocks. */
    if (write(sv[0], prologue, prologue_len) == (ssize_t)prologue_len && size)
        (void)!write(sv[0], data, size);
    shutdown(sv[0], SHUT_WR);
    pthread_mutex_lock(&lock);
    pending_fd = sv[1];
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    drain(sv[0]);
    pthread_mutex_lock(&lock);
    while (pending_fd >= 0)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    close(sv[0]);
    return 0;
}
