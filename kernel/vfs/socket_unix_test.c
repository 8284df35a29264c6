/* Unit tests for AF_UNIX sockets: socketpair data paths, record boundaries, shutdown and poll
 * masks, abstract names with listen/connect/accept and the backlog, SCM_RIGHTS through a task's
 * fd table, and socket lifetimes, driven through kernel/vfs/socket.h with kernel-memory I/O and
 * a hand-made task that never runs (so nothing here may block). */
#include "fbtest.h"
#include "kernel/kernel.h"
#include "kernel/syscalls/syscall.h"
#include "kernel/vfs/event.h"
#include "kernel/vfs/socket.h"
#include "kernel/vfs/vfs.h"
#include "kernel/vfs/vfs_save.h"
#include "snapshot/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>

__attribute__((weak)) __thread struct fb_task *fb_current;
__attribute__((weak)) struct fb_kernel *fb_k;
__attribute__((weak)) const struct fb_syscall_desc fb_syscall_table[FB_NR_SYSCALLS];

static struct fb_kernel k;
static struct fb_thread_group tg;
static struct fb_task task = {.cond = PTHREAD_COND_INITIALIZER, .tg = &tg};
static struct fb_task *t = &task;

static int64_t send_k(struct fb_file *f, const void *buf, size_t n, int flags)
{
    struct iovec iov = {(void *)buf, n};
    struct fb_uio u;
    struct fb_sockmsg m = {.uio = &u};
    fb_uio_init_kernel(&u, &iov, 1);
    return fb_socket_sendmsg(t, f, &m, flags | MSG_NOSIGNAL | MSG_DONTWAIT);
}

static int64_t recv_k(struct fb_file *f, void *buf, size_t n, int flags, int *mflags)
{
    struct iovec iov = {buf, n};
    struct fb_uio u;
    struct fb_sockmsg m = {.uio = &u};
    int64_t r;
    fb_uio_init_kernel(&u, &iov, 1);
    r = fb_socket_recvmsg(t, f, &m, flags | MSG_DONTWAIT);
    if (mflags)
        *mflags = m.flags;
    return r;
}

static socklen_t abstract_name(struct sockaddr_un *a, const char *name)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, name, strlen(name));
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
}

/* Send one byte with fd `fd` of t's table as SCM_RIGHTS through sock. */
static int64_t send_fd_k(struct fb_file *sock, int fd, const char *byte)
{
    uint8_t ctl[CMSG_SPACE(sizeof(int))];
    struct cmsghdr *h = (struct cmsghdr *)ctl;
    struct iovec iov = {(void *)byte, 1};
    struct fb_uio u;
    struct fb_sockmsg m = {.uio = &u, .control = ctl, .controllen = sizeof(ctl)};

    memset(ctl, 0, sizeof(ctl));
    h->cmsg_len = CMSG_LEN(sizeof(int));
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    memcpy(CMSG_DATA(h), &fd, sizeof(fd));
    fb_uio_init_kernel(&u, &iov, 1);
    return fb_socket_sendmsg(t, sock, &m, 0);
}

/* Receive one byte and the one descriptor that comes with it (*fd; -1 if none). */
static int64_t recv_fd_k(struct fb_file *sock, int flags, int *fd)
{
    uint8_t rctl[CMSG_SPACE(sizeof(int))];
    char byte;
    struct iovec iov = {&byte, 1};
    struct fb_uio u;
    struct fb_sockmsg m = {.uio = &u, .control = rctl, .controllen = sizeof(rctl)};
    int64_t r;

    fb_uio_init_kernel(&u, &iov, 1);
    r = fb_socket_recvmsg(t, sock, &m, flags);
    *fd = -1;
    if (r >= 0 && m.controllen == CMSG_SPACE(sizeof(int)) &&
        ((struct cmsghdr *)rctl)->cmsg_type == SCM_RIGHTS)
        memcpy(fd, CMSG_DATA((struct cmsghdr *)rctl), sizeof(*fd));
    return r;
}

static void test_stream_pair(void)
{
    struct fb_file *s[2];
    char buf[32] = {0};

    FBT_CHECK_EQ(fb_socket_pair(AF_UNIX, SOCK_STREAM, 0, 0, s), 0);
    FBT_CHECK(fb_file_is_socket(s[0]));
    FBT_CHECK(S_ISSOCK(s[0]->inode->st.mode));
    FBT_CHECK_EQ(s[0]->ops->poll(s[0], NULL), POLLOUT | POLLWRNORM | POLLWRBAND);
    FBT_CHECK_EQ(send_k(s[0], "abc", 3, 0), 3);
    FBT_CHECK_EQ(send_k(s[0], "def", 3, 0), 3);
    FBT_CHECK_EQ(s[1]->ops->poll(s[1], NULL) & POLLIN, POLLIN);
    FBT_CHECK_EQ(recv_k(s[1], buf, 2, MSG_PEEK, NULL), 2);
    FBT_CHECK_EQ(recv_k(s[1], buf, sizeof(buf), 0, NULL), 6);
    FBT_CHECK_STR(buf, "abcdef");
    FBT_CHECK_EQ(recv_k(s[1], buf, 1, 0, NULL), -EAGAIN);
    FBT_CHECK_EQ(fb_socket_shutdown(s[0], SHUT_WR), 0);
    FBT_CHECK_EQ(recv_k(s[1], buf, 1, 0, NULL), 0);
    FBT_CHECK_EQ(s[1]->ops->poll(s[1], NULL) & (POLLRDHUP | POLLIN), POLLRDHUP | POLLIN);
    FBT_CHECK_EQ(send_k(s[0], "x", 1, 0), -EPIPE);
    fb_file_put(s[1]);
    FBT_CHECK_EQ(s[0]->ops->poll(s[0], NULL) & POLLHUP, POLLHUP);
    FBT_CHECK_EQ(send_k(s[0], "x", 1, 0), -EPIPE);
    fb_file_put(s[0]);
}

static void test_stream_backpressure(void)
{
    struct fb_file *s[2];
    static char big[65536];
    int64_t total = 0, n, got = 0;

    FBT_CHECK_EQ(fb_socket_pair(AF_UNIX, SOCK_STREAM, 0, O_NONBLOCK, s), 0);
    while ((n = send_k(s[0], big, sizeof(big), 0)) > 0)
        total += n;
    FBT_CHECK_EQ(n, -EAGAIN);
    FBT_CHECK(total >= 212992 && total < 4 * 212992);
    FBT_CHECK_EQ(s[0]->ops->poll(s[0], NULL) & POLLOUT, 0);
    while ((n = recv_k(s[1], big, sizeof(big), 0, NULL)) > 0)
        got += n;
    FBT_CHECK_EQ(got, total);
    FBT_CHECK_EQ(s[0]->ops->poll(s[0], NULL) & POLLOUT, POLLOUT);
    fb_file_put(s[0]);
    fb_file_put(s[1]);
}

static void test_dgram_and_seqpacket(void)
{
    struct fb_file *s[2];
    char buf[8];
    int mflags;

    FBT_CHECK_EQ(fb_socket_pair(AF_UNIX, SOCK_DGRAM, 0, 0, s), 0);
    FBT_CHECK_EQ(send_k(s[0], "hello", 5, 0), 5);
    FBT_CHECK_EQ(send_k(s[0], "", 0, 0), 0);
    FBT_CHECK_EQ(recv_k(s[1], buf, 2, MSG_TRUNC, &mflags), 5);
    FBT_CHECK_EQ(mflags, MSG_TRUNC);
    FBT_CHECK_EQ(recv_k(s[1], buf, sizeof(buf), 0, NULL), 0);
    FBT_CHECK_EQ(recv_k(s[1], buf, sizeof(buf), 0, NULL), -EAGAIN);
    fb_file_put(s[1]);
    FBT_CHECK_EQ(send_k(s[0], "x", 1, 0), -ECONNREFUSED);
    FBT_CHECK_EQ(send_k(s[0], "x", 1, 0), -ENOTCONN);
    fb_file_put(s[0]);

    FBT_CHECK_EQ(fb_socket_pair(AF_UNIX, SOCK_SEQPACKET, 0, 0, s), 0);
    FBT_CHECK_EQ(send_k(s[0], "rec", 3, 0), 3);
    FBT_CHECK_EQ(recv_k(s[1], buf, 1, 0, &mflags), 1);
    FBT_CHECK_EQ(mflags, MSG_TRUNC);
    FBT_CHECK_EQ(recv_k(s[1], buf, sizeof(buf), 0, NULL), -EAGAIN);
    fb_file_put(s[0]);
    FBT_CHECK_EQ(recv_k(s[1], buf, sizeof(buf), 0, NULL), 0);
    FBT_CHECK_EQ(send_k(s[1], "x", 1, 0), -EPIPE);
    fb_file_put(s[1]);
}

static void test_abstract_connect(void)
{
    struct fb_file *srv, *c1, *c2, *c3, *acc;
    struct sockaddr_storage peer;
    struct sockaddr_un a;
    socklen_t alen = abstract_name(&a, "unit-test"), plen;
    char buf[8];

    FBT_CHECK_EQ(fb_socket_new(AF_UNIX, SOCK_STREAM, 0, O_NONBLOCK, &srv), 0);
    FBT_CHECK_EQ(fb_socket_listen(srv, 1), -EINVAL); /* unnamed */
    FBT_CHECK_EQ(fb_socket_bind(t, srv, &a, alen), 0);
    FBT_CHECK_EQ(fb_socket_bind(t, srv, &a, alen), -EINVAL);
    FBT_CHECK_EQ(fb_socket_listen(srv, 0), 0);
    FBT_CHECK_EQ(fb_socket_accept(t, srv, 0, &acc, &peer, &plen), -EAGAIN);
    FBT_CHECK_EQ(fb_socket_new(AF_UNIX, SOCK_STREAM, 0, O_NONBLOCK, &c1), 0);
    FBT_CHECK_EQ(fb_socket_new(AF_UNIX, SOCK_STREAM, 0, O_NONBLOCK, &c2), 0);
    FBT_CHECK_EQ(fb_socket_new(AF_UNIX, SOCK_DGRAM, 0, O_NONBLOCK, &c3), 0);
    FBT_CHECK_EQ(fb_socket_connect(t, c3, &a, alen), -ECONNREFUSED); /* names are per type */
    FBT_CHECK_EQ(fb_socket_connect(t, c1, &a, alen), 0);
    FBT_CHECK_EQ(fb_socket_connect(t, c2, &a, alen), -EAGAIN); /* backlog 0 holds one */
    FBT_CHECK_EQ(fb_socket_connect(t, c1, &a, alen), -EAGAIN); /* the backlog is checked first */
    FBT_CHECK_EQ(send_k(c1, "hi", 2, 0), 2);                   /* before accept */
    FBT_CHECK_EQ(srv->ops->poll(srv, NULL) & POLLIN, POLLIN);
    FBT_CHECK_EQ(fb_socket_accept(t, srv, 0, &acc, &peer, &plen), 0);
    FBT_CHECK_EQ(plen, offsetof(struct sockaddr_un, sun_path)); /* unnamed client */
    FBT_CHECK_EQ(recv_k(acc, buf, sizeof(buf), 0, NULL), 2);
    FBT_CHECK_EQ(fb_socket_connect(t, c1, &a, alen), -EISCONN);
    FBT_CHECK_EQ(fb_socket_getname(acc, false, &peer, &plen), 0);
    FBT_CHECK_EQ(plen, alen);
    FBT_CHECK(memcmp(&peer, &a, alen) == 0);
    FBT_CHECK_EQ(fb_socket_connect(t, c2, &a, alen), 0);
    fb_file_put(srv); /* drops c2's pending connection: reset */
    FBT_CHECK_EQ(recv_k(c2, buf, sizeof(buf), 0, NULL), -ECONNRESET);
    FBT_CHECK_EQ(recv_k(c2, buf, sizeof(buf), 0, NULL), 0);
    FBT_CHECK_EQ(fb_socket_new(AF_UNIX, SOCK_STREAM, 0, 0, &srv), 0);
    FBT_CHECK_EQ(fb_socket_bind(t, srv, &a, alen), 0); /* the name was freed */
    fb_file_put(srv);
    fb_file_put(acc);
    fb_file_put(c1);
    fb_file_put(c2);
    fb_file_put(c3);
}

static void test_scm_rights(void)
{
    struct fb_file *s[2], *e = NULL, *got;
    uint8_t ctl[CMSG_SPACE(sizeof(int))], rctl[CMSG_SPACE(sizeof(int) * 2)];
    struct cmsghdr *h = (struct cmsghdr *)ctl;
    struct iovec iov = {"x", 1};
    struct fb_uio u;
    struct fb_sockmsg m = {.uio = &u, .control = ctl, .controllen = sizeof(ctl)};
    char byte;
    int fd, rfd;

    t->files = fb_fdtable_new();
    tg.rlim[RLIMIT_NOFILE].rlim_cur = 64;
    FBT_CHECK_EQ(fb_socket_pair(AF_UNIX, SOCK_DGRAM, 0, 0, s), 0);
    FBT_CHECK_EQ(fb_eventfd_new(0, 0, &e), 0);
    fd = fb_fd_install(t, e, 0, false);
    FBT_CHECK_EQ(fd, 0);
    memset(ctl, 0, sizeof(ctl)); /* kept: the second send below reuses it */
    h->cmsg_len = CMSG_LEN(sizeof(int));
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    FBT_CHECK_EQ(send_fd_k(s[0], fd, "x"), 1);
    FBT_CHECK_EQ(e->refs, 3); /* ours, the fd table's, the one in flight */
    fb_fd_close(t, fd);

    iov.iov_base = &byte;
    fb_uio_init_kernel(&u, &iov, 1);
    memset(&m, 0, sizeof(m));
    m.uio = &u;
    m.control = rctl;
    m.controllen = sizeof(rctl);
    FBT_CHECK_EQ(fb_socket_recvmsg(t, s[1], &m, MSG_CMSG_CLOEXEC), 1);
    FBT_CHECK_EQ(m.controllen, CMSG_SPACE(sizeof(int)));
    h = (struct cmsghdr *)rctl;
    FBT_CHECK_EQ(h->cmsg_type, SCM_RIGHTS);
    memcpy(&rfd, CMSG_DATA(h), sizeof(rfd));
    got = fb_fd_get(t, rfd);
    FBT_CHECK(got == e);
    FBT_CHECK(t->files->fds[rfd].cloexec);
    fb_file_put(got);
    fb_fd_close(t, rfd);
    FBT_CHECK_EQ(e->refs, 1);

    /* In flight when the receiver goes away: the reference is dropped with the queue. */
    fd = fb_fd_install(t, e, 0, false);
    memcpy(CMSG_DATA((struct cmsghdr *)ctl), &fd, sizeof(fd));
    iov.iov_base = "y";
    fb_uio_init_kernel(&u, &iov, 1);
    memset(&m, 0, sizeof(m));
    m.uio = &u;
    m.control = ctl;
    m.controllen = sizeof(ctl);
    FBT_CHECK_EQ(fb_socket_sendmsg(t, s[0], &m, 0), 1);
    fb_fd_close(t, fd);
    FBT_CHECK_EQ(e->refs, 2);
    fb_file_put(s[1]);
    FBT_CHECK_EQ(e->refs, 1);
    fb_file_put(s[0]);
    fb_file_put(e);
    fb_fdtable_put(t->files);
    t->files = NULL;
}

/* ---- checkpoint: the general socket form ------------------------------------------------------ */

struct files {
    struct fb_file *f[8];
    size_t n;
};

static struct fb_file *file_at(uint64_t id, void *arg)
{
    struct files *fs = arg;
    return id && id <= fs->n ? fs->f[id - 1] : NULL;
}

static struct fb_inode *no_inode(uint64_t id, void *arg)
{
    (void)id;
    (void)arg;
    return NULL;
}

static uint64_t no_inode_id(struct fb_inode *ino, void *arg)
{
    (void)ino;
    (void)arg;
    return 0;
}

static uint64_t id_of(struct fb_file *f, void *arg)
{
    struct files *fs = arg;
    for (size_t i = 0; i < fs->n; i++)
        if (fs->f[i] == f)
            return i + 1;
    return 0;
}

/* Save every file of `in` (an array of socket states), parse it back. */
static void save_all(struct files *in, struct fb_sw *w, struct fb_sr_doc *doc, const char **why)
{
    const struct fb_file *files[8];
    uint64_t ids[8];
    struct fb_socket_saveset set = {files, ids, in->n, no_inode_id, id_of, in, NULL};
    size_t i;

    for (i = 0; i < in->n; i++) {
        files[i] = in->f[i];
        ids[i] = i + 1;
    }
    fb_sw_init(w);
    fb_sw_array(w, (uint32_t)in->n);
    for (i = 0; i < in->n; i++)
        fb_socket_save(in->f[i], w, &set);
    *why = set.why;
    FBT_CHECK_EQ(fb_sr_parse(doc, w->buf.data, w->buf.size), 0);
}

/* Fresh sockets of the saved types, both loading passes; 0 or the first failure. */
static int load_all(const msgpack_object *arr, struct files *out)
{
    struct fb_socket_loadset set = {file_at, no_inode, out};
    uint32_t i;
    int r = 0;

    out->n = arr->via.array.size;
    for (i = 0; i < out->n; i++)
        if (fb_socket_new(AF_UNIX, (int)arr->via.array.ptr[i].via.array.ptr[0].via.u64, 0,
                          O_NONBLOCK, &out->f[i]) < 0) {
            out->n = i;
            return -1;
        }
    for (i = 0; i < out->n && r == 0; i++)
        r = fb_socket_load_self(out->f[i], &arr->via.array.ptr[i], &set);
    for (i = 0; i < out->n && r == 0; i++)
        r = fb_socket_load_links(out->f[i], &arr->via.array.ptr[i], &set);
    return r;
}

static void put_all(struct files *fs)
{
    for (size_t i = 0; i < fs->n; i++)
        fb_file_put(fs->f[i]);
    fs->n = 0;
}

/* A listener with an accepted connection and a pending one (data queued at both), a datagram
 * socket holding a message from a sender that has closed: saved, the originals closed (their
 * names freed), loaded into fresh sockets, and every piece works. Then hostile edits of the
 * saved states are refused with an error, never a crash. */
static void test_general_save_load(void)
{
    struct fb_file *srv, *c1, *acc, *c2, *d, *snd;
    struct sockaddr_un a, da, sa;
    socklen_t alen = abstract_name(&a, "ckpt-listener"), dlen = abstract_name(&da, "ckpt-dgram"),
              slen = abstract_name(&sa, "ckpt-sender"), plen;
    struct sockaddr_storage peer;
    struct files in = {{0}, 0}, out = {{0}, 0};
    struct fb_sw w;
    struct fb_sr_doc doc;
    const char *why;
    char buf[32];
    msgpack_object *st, saved;

    FBT_CHECK_EQ(fb_socket_new(AF_UNIX, SOCK_STREAM, 0, O_NONBLOCK, &srv), 0);
    FBT_CHECK_EQ(fb_socket_bind(t, srv, &a, alen), 0);
    FBT_CHECK_EQ(fb_socket_listen(srv, 4), 0);
    FBT_CHECK_EQ(fb_socket_new(AF_UNIX, SOCK_STREAM, 0, O_NONBLOCK, &c1), 0);
    FBT_CHECK_EQ(fb_socket_connect(t, c1, &a, alen), 0);
    FBT_CHECK_EQ(fb_socket_accept(t, srv, O_NONBLOCK, &acc, &peer, &plen), 0);
    FBT_CHECK_EQ(send_k(c1, "one", 3, 0), 3);
    FBT_CHECK_EQ(fb_socket_new(AF_UNIX, SOCK_STREAM, 0, O_NONBLOCK, &c2), 0);
    FBT_CHECK_EQ(fb_socket_connect(t, c2, &a, alen), 0);
    FBT_CHECK_EQ(send_k(c2, "pending", 7, 0), 7);
    FBT_CHECK_EQ(fb_socket_new(AF_UNIX, SOCK_DGRAM, 0, O_NONBLOCK, &d), 0);
    FBT_CHECK_EQ(fb_socket_bind(t, d, &da, dlen), 0);
    FBT_CHECK_EQ(fb_socket_new(AF_UNIX, SOCK_DGRAM, 0, O_NONBLOCK, &snd), 0);
    FBT_CHECK_EQ(fb_socket_bind(t, snd, &sa, slen), 0);
    FBT_CHECK_EQ(fb_socket_connect(t, snd, &da, dlen), 0);
    FBT_CHECK_EQ(send_k(snd, "dgram", 5, 0), 5);
    fb_file_put(snd); /* the message stays, from a socket that is gone */
    in = (struct files){{srv, c1, acc, c2, d}, 5};
    save_all(&in, &w, &doc, &why);
    FBT_CHECK(why == NULL);
    put_all(&in);

    FBT_CHECK_EQ(load_all(&doc.up.data, &out), 0);
    srv = out.f[0], c1 = out.f[1], acc = out.f[2], c2 = out.f[3], d = out.f[4];
    FBT_CHECK_EQ(recv_k(acc, buf, sizeof(buf), 0, NULL), 3); /* queued before the save */
    FBT_CHECK_EQ(send_k(acc, "back", 4, 0), 4);
    FBT_CHECK_EQ(recv_k(c1, buf, sizeof(buf), 0, NULL), 4);
    {
        struct fb_file *acc2;
        FBT_CHECK_EQ(fb_socket_accept(t, srv, O_NONBLOCK, &acc2, &peer, &plen), 0);
        FBT_CHECK_EQ(recv_k(acc2, buf, sizeof(buf), 0, NULL), 7); /* the pending one */
        FBT_CHECK(memcmp(buf, "pending", 7) == 0);
        FBT_CHECK_EQ(send_k(acc2, "hi", 2, 0), 2);
        FBT_CHECK_EQ(recv_k(c2, buf, sizeof(buf), 0, NULL), 2);
        fb_file_put(acc2);
    }
    {
        struct iovec iov = {buf, sizeof(buf)};
        struct fb_uio u;
        struct fb_sockmsg m = {.uio = &u, .want_name = true};
        fb_uio_init_kernel(&u, &iov, 1);
        FBT_CHECK_EQ(fb_socket_recvmsg(t, d, &m, MSG_DONTWAIT), 5);
        FBT_CHECK(m.namelen == slen && memcmp(&m.name, &sa, slen) == 0); /* its sender's name */
    }
    FBT_CHECK_EQ(fb_socket_getname(srv, false, &peer, &plen), 0);
    FBT_CHECK(plen == alen && memcmp(&peer, &a, alen) == 0);
    FBT_CHECK_EQ(fb_socket_new(AF_UNIX, SOCK_STREAM, 0, 0, &c1), 0); /* the name is taken again */
    FBT_CHECK_EQ(fb_socket_bind(t, c1, &a, alen), -EADDRINUSE);
    fb_file_put(c1);
    put_all(&out);

    /* Hostile edits, one at a time on the saved tree (each restored before the next). */
    st = doc.up.data.via.array.ptr;
#define HOSTILE(obj, value, what)                                                                 \
    do {                                                                                          \
        saved = (obj);                                                                            \
        (obj) = (value);                                                                          \
        if (load_all(&doc.up.data, &out) >= 0) {                                                 \
            fprintf(stderr, "accepted a hostile edit: %s\n", what);                               \
            FBT_CHECK(false);                                                                     \
        }                                                                                         \
        put_all(&out);                                                                            \
        (obj) = saved;                                                                            \
    } while (0)
    {
        msgpack_object bad_ref[2] = {{.type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 1},
                                     {.type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 99}};
        msgpack_object ref = {.type = MSGPACK_OBJECT_ARRAY, .via.array = {2, bad_ref}};
        msgpack_object emb[3] = {{.type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 2},
                                 {.type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 1},
                                 {.type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 7}};
        msgpack_object eref = {.type = MSGPACK_OBJECT_ARRAY, .via.array = {3, emb}};
        msgpack_object big = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 1u << 20};
        msgpack_object three = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 3};
        msgpack_object yes = {.type = MSGPACK_OBJECT_BOOLEAN, .via.boolean = true};
        HOSTILE(st[1].via.array.ptr[24], ref, "a peer that is no file");
        HOSTILE(st[1].via.array.ptr[24], eref, "a pending connection that does not exist");
        HOSTILE(st[0].via.array.ptr[23], big, "a backlog beyond SOMAXCONN");
        HOSTILE(st[0].via.array.ptr[19], three, "no such socket state");
        HOSTILE(st[4].via.array.ptr[0], three, "a type other than the file's");
        HOSTILE(st[0].via.array.ptr[25], st[4].via.array.ptr[16], "a queue of messages as "
                                                                   "pending connections");
        /* The accepted socket carries the listener's name; in the name table it would be a
         * second socket of that type and name. */
        HOSTILE(st[2].via.array.ptr[21], yes, "a name given twice");
    }
#undef HOSTILE
    fb_sr_doc_free(&doc);
    fb_sw_free(&w);
}

/* Descriptors in flight (SCM_RIGHTS sent, not received) are saved by file id: after the load
 * the receiver gets the file, here a socket carrying its own pair end (a cycle). An id that is
 * no file is refused. */
static void test_general_fds_in_flight(void)
{
    struct fb_file *p[2];
    struct files in, out = {{0}, 0};
    struct fb_sw w;
    struct fb_sr_doc doc;
    const char *why;
    int fd, rfd;
    struct fb_file *got;

    t->files = fb_fdtable_new();
    tg.rlim[RLIMIT_NOFILE].rlim_cur = 64;
    FBT_CHECK_EQ(fb_socket_pair(AF_UNIX, SOCK_STREAM, 0, O_NONBLOCK, p), 0);
    fd = fb_fd_install(t, p[0], 0, false); /* takes a reference of its own */
    FBT_CHECK_EQ(send_fd_k(p[0], fd, "x"), 1); /* p[0] travels to p[1] */
    fb_fd_close(t, fd);
    in = (struct files){{p[0], p[1]}, 2};
    save_all(&in, &w, &doc, &why);
    FBT_CHECK(why == NULL);
    put_all(&in);

    FBT_CHECK_EQ(load_all(&doc.up.data, &out), 0);
    FBT_CHECK_EQ(recv_fd_k(out.f[1], MSG_DONTWAIT, &rfd), 1);
    FBT_CHECK(rfd >= 0);
    got = fb_fd_get(t, rfd);
    FBT_CHECK(got == out.f[0]); /* the restored file itself, not a copy */
    fb_file_put(got);
    fb_fd_close(t, rfd);
    put_all(&out);
    {
        /* The message's file ids: 99 is no file. */
        msgpack_object *msg = doc.up.data.via.array.ptr[1].via.array.ptr[16].via.array.ptr;
        msgpack_object saved = msg->via.array.ptr[5].via.array.ptr[0];
        msg->via.array.ptr[5].via.array.ptr[0].via.u64 = 99;
        FBT_CHECK(load_all(&doc.up.data, &out) < 0);
        put_all(&out);
        msg->via.array.ptr[5].via.array.ptr[0] = saved;
    }
    fb_sr_doc_free(&doc);
    fb_sw_free(&w);
    fb_fdtable_put(t->files);
    t->files = NULL;
}

static void test_creation_errors(void)
{
    struct fb_file *f;

    FBT_CHECK_EQ(fb_socket_new(AF_INET, SOCK_STREAM, 0, 0, &f), -EAFNOSUPPORT);
    FBT_CHECK_EQ(fb_socket_new(AF_INET6, SOCK_DGRAM, 0, 0, &f), -EAFNOSUPPORT);
    FBT_CHECK_EQ(fb_socket_new(AF_NETLINK, SOCK_RAW, 0, 0, &f), -EAFNOSUPPORT);
    FBT_CHECK_EQ(fb_socket_new(AF_INET, SOCK_RAW, 1, 0, &f), -EPERM);
    FBT_CHECK_EQ(fb_socket_new(AF_PACKET, SOCK_DGRAM, 0, 0, &f), -EPERM);
    FBT_CHECK_EQ(fb_socket_new(AF_UNIX, 99, 0, 0, &f), -EINVAL);
    FBT_CHECK_EQ(fb_socket_new(AF_UNIX, SOCK_STREAM, 2, 0, &f), -EPROTONOSUPPORT);
    FBT_CHECK_EQ(fb_socket_pair(AF_INET, SOCK_STREAM, 0, 0, (struct fb_file *[2]){0}),
                 -EAFNOSUPPORT);
}

int main(void)
{
    fb_k = &k;
    pthread_mutex_init(&k.lock, NULL);
    tg.tgid = 1;

    FBT_RUN(test_stream_pair);
    FBT_RUN(test_stream_backpressure);
    FBT_RUN(test_dgram_and_seqpacket);
    FBT_RUN(test_abstract_connect);
    FBT_RUN(test_scm_rights);
    FBT_RUN(test_general_save_load);
    FBT_RUN(test_general_fds_in_flight);
    FBT_RUN(test_creation_errors);
    FBT_EXIT();
}
