/* AF_UNIX sockets: stream, datagram and seqpacket sockets with Linux's semantics for names
 * (filesystem paths, abstract names, autobind), connection set-up, blocking and non-blocking
 * I/O, shutdown, SCM_RIGHTS/SCM_CREDENTIALS, socket options and poll. Part of the VFS
 * (kernel/vfs/socket.h); kernel lock held throughout.
 *
 * Model (close to Linux af_unix.c). A socket (struct usock) is reference counted: its file,
 * its peer, datagrams it sent that are still queued, and a listener's accept queue hold
 * references. Data travels as buffers queued on the receiver; each buffer counts against its
 * sender's send buffer (wmem) until it is read, which is what makes writers block. A stream
 * connect creates the server-side socket at once and queues it on the listener (so data may be
 * sent before accept). Every readiness change wakes the socket's inode wait queue; blocked
 * writers wait on their own queue (wmem drained) and, for datagrams, on the receiver's (queue
 * drained). A path name is a socket inode made with mknod in the sandbox VFS plus an entry in
 * the table of bound sockets, keyed by that inode; abstract names live in the same table. */
#include "kernel/vfs/socket.h"
#include "kernel/vfs/vfs_save.h"
#include "snapshot/state.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>

#include "kernel/signal/signal.h"
#include "kernel/util/cleanup.h"
#include "kernel/vfs/event.h"
#include "kernel/vfs/ops.h"

/* Linux defaults (net.core.{w,r}mem_default/_max, net.unix.max_dgram_qlen, somaxconn). */
#define SOCK_BUF_DEFAULT 212992
#define SOCK_BUF_MAX     212992
#define SOCK_MIN_SNDBUF  4608
#define SOCK_MIN_RCVBUF  2304
#define MAX_DGRAM_QLEN   10
#define SOMAXCONN_       4096
#define SCM_MAX_FD_      253
#define CONTROL_MAX      65536 /* largest control buffer accepted (Linux: optmem_max) */
#define SUN_OFF          ((socklen_t)offsetof(struct sockaddr_un, sun_path))

#define RCV_SHUTDOWN  1
#define SEND_SHUTDOWN 2
#define SHUTDOWN_MASK 3

enum usk_state {
    USK_UNCONNECTED = 0,
    USK_LISTENING,
    USK_CONNECTED,
};

struct usock;

/* A queued message (datagram, seqpacket record) or piece of a stream. */
struct usk_buf {
    struct fb_list node;
    struct usock *sender; /* reference: wmem accounting and the source address */
    size_t len, off;      /* data[off..len) is unread */
    struct fb_file **fds; /* SCM_RIGHTS in flight (references) */
    int nfds;
    struct ucred cred; /* SCM_CREDENTIALS */
    uint8_t data[];
};

struct usock {
    int refs;
    int type;
    enum usk_state state;
    bool dead;            /* its file was released */
    struct fb_inode *ino; /* reference; its poll_wq is this socket's wait queue */
    struct usock *peer;   /* reference: connected peer / default datagram destination */

    struct fb_list rcvq; /* usk_buf */
    int rcv_count;
    size_t wmem;       /* bytes sent by us, still queued at receivers */
    unsigned shutdown; /* RCV_SHUTDOWN | SEND_SHUTDOWN */
    int err;           /* pending error (SO_ERROR) */

    /* Listening. */
    struct fb_list acceptq; /* server-side sockets of connections not yet accepted */
    struct fb_list aq_node;
    int backlog, nacceptq;

    /* Name (a path of 108 bytes makes it one byte longer than a sockaddr_un, as on Linux). */
    struct sockaddr_storage addr;
    socklen_t addrlen;          /* 0 = unnamed */
    struct fb_inode *bound_ino; /* path name: the socket inode (reference) */
    struct fb_list bind_node;   /* in `bound` while named */

    /* Options. */
    int sndbuf, rcvbuf, rcvlowat, priority;
    int64_t rcvtimeo_ns, sndtimeo_ns; /* 0 = none */
    bool passcred, reuseaddr, reuseport, keepalive, broadcast, oobinline, debug, dontroute;
    struct linger linger;
    struct ucred peercred;
};

static struct fb_sb sock_sb = {.type = "sockfs", .magic = 0x534F434B};
static struct fb_list bound = FB_LIST_INIT(bound);
static unsigned autobind_next = 1;
static const struct fb_file_ops sock_ops;

static struct usock *usk_of(const struct fb_file *f)
{
    return f->priv;
}

bool fb_file_is_socket(const struct fb_file *f)
{
    return fb_file_real_ops(f) == &sock_ops;
}

static void wake(struct usock *sk)
{
    fb_waitq_wake_all(&sk->ino->poll_wq);
}

static struct ucred current_cred(bool effective)
{
    struct fb_task *t = fb_current;
    struct ucred c = {0, (uid_t)-1, (gid_t)-1};
    if (t && t->tg) {
        c.pid = t->tg->tgid;
        c.uid = effective ? t->tg->euid : t->tg->uid;
        c.gid = effective ? t->tg->egid : t->tg->gid;
    }
    return c;
}

/* ---- lifetime -------------------------------------------------------------------------------- */

static struct usock *usk_new(int type)
{
    struct usock *sk = calloc(1, sizeof(*sk));

    if (!sk)
        return NULL;
    if (!sock_sb.dev)
        sock_sb.dev = fb_vfs_new_dev();
    sk->ino = fb_inode_new(&sock_sb, NULL, S_IFSOCK | 0777);
    if (!sk->ino) {
        free(sk);
        return NULL;
    }
    if (fb_current && fb_current->tg) {
        sk->ino->st.uid = fb_current->tg->fsuid;
        sk->ino->st.gid = fb_current->tg->fsgid;
    }
    sk->refs = 1;
    sk->type = type;
    fb_list_init(&sk->rcvq);
    fb_list_init(&sk->acceptq);
    fb_list_init(&sk->aq_node);
    fb_list_init(&sk->bind_node);
    sk->sndbuf = sk->rcvbuf = SOCK_BUF_DEFAULT;
    sk->rcvlowat = 1;
    sk->peercred = (struct ucred){0, (uid_t)-1, (gid_t)-1};
    return sk;
}

static void usk_get(struct usock *sk)
{
    sk->refs++;
}

static void usk_put(struct usock *sk)
{
    if (!sk || --sk->refs > 0)
        return;
    /* Released sockets have purged their queues and dropped their peer; an embryo that never
     * got a file went through usk_release as well. */
    fb_waitq_wake_detach(&sk->ino->poll_wq);
    fb_inode_put(sk->ino);
    free(sk);
}

static void buf_free(struct usk_buf *b)
{
    for (int i = 0; i < b->nfds; i++)
        fb_file_put(b->fds[i]);
    free(b->fds);
    if (b->sender) {
        b->sender->wmem -= b->len;
        wake(b->sender);
        usk_put(b->sender);
    }
    free(b);
}

/* Drop one buffer from sk's receive queue. */
static void dequeue_buf(struct usock *sk, struct usk_buf *b)
{
    fb_list_del(&b->node);
    sk->rcv_count--;
    buf_free(b);
}

static void purge(struct usock *sk)
{
    while (!fb_list_empty(&sk->rcvq))
        dequeue_buf(sk, fb_list_entry(sk->rcvq.next, struct usk_buf, node));
}

static void unbind(struct usock *sk)
{
    if (!sk->addrlen)
        return;
    fb_list_del(&sk->bind_node);
    if (sk->bound_ino) {
        fb_inode_put(sk->bound_ino);
        sk->bound_ino = NULL;
    }
}

/* The socket's file went away (or, with embryo, a never-accepted connection is dropped): tell
 * the peer, free what is queued, leave the name table. Drops the caller's reference. */
static void usk_release(struct usock *sk, bool embryo)
{
    struct usock *peer = sk->peer;
    bool unread = !fb_list_empty(&sk->rcvq);

    sk->dead = true;
    unbind(sk);
    while (!fb_list_empty(&sk->acceptq)) {
        struct usock *e = fb_list_entry(sk->acceptq.next, struct usock, aq_node);
        fb_list_del(&e->aq_node);
        sk->nacceptq--;
        usk_release(e, true);
    }
    sk->shutdown = SHUTDOWN_MASK;
    if (peer) {
        if (sk->type != SOCK_DGRAM) {
            peer->shutdown = SHUTDOWN_MASK;
            if (unread || embryo)
                peer->err = ECONNRESET;
        }
        wake(peer);
        sk->peer = NULL;
        usk_put(peer);
    }
    purge(sk);
    wake(sk);
    usk_put(sk);
}

/* A file for sk, taking over one reference. */
static int usk_file(struct usock *sk, unsigned fflags, struct fb_file **out)
{
    struct fb_file *f = fb_file_new(sk->ino, NULL, O_RDWR | (fflags & O_NONBLOCK));

    if (!f)
        return -ENOMEM;
    if (asprintf(&f->anon_name, "socket:[%lu]", (unsigned long)sk->ino->st.ino) < 0)
        f->anon_name = NULL;
    f->ops = &sock_ops;
    f->priv = sk;
    *out = f;
    return 0;
}

/* ---- names ----------------------------------------------------------------------------------- */

/* Check a sockaddr_un the application gave (Linux unix_validate_addr). */
static int check_addr(const struct sockaddr_un *a, socklen_t len)
{
    if (len <= SUN_OFF || len > sizeof(*a) || a->sun_family != AF_UNIX)
        return -EINVAL;
    return 0;
}

static bool abstract(const struct sockaddr_un *a)
{
    return a->sun_path[0] == 0;
}

/* The NUL-terminated path of a path address (sun_path need not hold a NUL). */
static void path_of(const struct sockaddr_un *a, socklen_t len, char *out)
{
    size_t n = (size_t)(len - SUN_OFF);
    memcpy(out, a->sun_path, n);
    out[n] = 0;
}

static struct usock *find_abstract(const struct sockaddr_un *a, socklen_t len, int type)
{
    struct fb_list *pos;
    fb_list_for_each(pos, &bound)
    {
        struct usock *s = fb_list_entry(pos, struct usock, bind_node);
        if (!s->bound_ino && s->type == type && s->addrlen == len && memcmp(&s->addr, a, len) == 0)
            return s;
    }
    return NULL;
}

static struct usock *find_by_inode(const struct fb_inode *ino)
{
    struct fb_list *pos;
    fb_list_for_each(pos, &bound)
    {
        struct usock *s = fb_list_entry(pos, struct usock, bind_node);
        if (s->bound_ino == ino)
            return s;
    }
    return NULL;
}

/* The socket a connect or sendto names (with a reference), or NULL with *err set. */
static struct usock *find_other(struct fb_task *t, const struct sockaddr_un *a, socklen_t len,
                                int type, int *err)
{
    struct usock *s;

    if (abstract(a)) {
        s = find_abstract(a, len, type);
        if (!s) {
            *err = -ECONNREFUSED;
            return NULL;
        }
    } else {
        char path[sizeof(a->sun_path) + 1];
        struct fb_path p;
        int r;

        path_of(a, len, path);
        r = fb_vfs_lookup(t, AT_FDCWD, path, FB_LOOKUP_FOLLOW, &p, NULL, NULL);
        if (r < 0) {
            *err = r;
            return NULL;
        }
        r = fb_vfs_permission(t, p.dentry->inode, 2);
        s = r < 0 || !S_ISSOCK(p.dentry->inode->st.mode) ? NULL : find_by_inode(p.dentry->inode);
        fb_path_put(&p);
        if (!s) {
            *err = r < 0 ? r : -ECONNREFUSED;
            return NULL;
        }
        if (s->type != type) {
            *err = -EPROTOTYPE;
            return NULL;
        }
    }
    usk_get(s);
    return s;
}

static int autobind(struct usock *sk)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    socklen_t len = SUN_OFF + 6;

    if (sk->addrlen)
        return 0;
    for (unsigned tries = 0; tries <= 0xFFFFF; tries++) {
        char name[8];
        unsigned n = autobind_next++ & 0xFFFFF;
        snprintf(name, sizeof(name), "%05x", n);
        memcpy(a.sun_path + 1, name, 5);
        if (!find_abstract(&a, len, sk->type)) {
            memcpy(&sk->addr, &a, len);
            sk->addrlen = len;
            fb_list_add_tail(&bound, &sk->bind_node);
            return 0;
        }
    }
    return -ENOSPC;
}

int fb_socket_bind(struct fb_task *t, struct fb_file *f, const void *addr, socklen_t len)
{
    struct usock *sk = usk_of(f);
    const struct sockaddr_un *a = addr;
    int r;

    if (len == SUN_OFF && a->sun_family == AF_UNIX) {
        if (sk->addrlen)
            return -EINVAL;
        return autobind(sk);
    }
    r = check_addr(a, len);
    if (r < 0)
        return r;
    if (abstract(a)) {
        if (sk->addrlen)
            return -EINVAL;
        if (find_abstract(a, len, sk->type))
            return -EADDRINUSE;
        memcpy(&sk->addr, a, len);
        sk->addrlen = len;
        fb_list_add_tail(&bound, &sk->bind_node);
        return 0;
    }
    {
        char path[sizeof(a->sun_path) + 1];
        struct fb_path p;

        path_of(a, len, path);
        r = fb_vfs_mknod(t, AT_FDCWD, path, S_IFSOCK | 0777, 0);
        if (r < 0)
            return r == -EEXIST ? -EADDRINUSE : r;
        if (sk->addrlen) {
            fb_vfs_unlink(t, AT_FDCWD, path, 0); /* Linux makes the node, then finds the socket
                                                    already named */
            return -EINVAL;
        }
        r = fb_vfs_lookup(t, AT_FDCWD, path, 0, &p, NULL, NULL);
        if (r < 0)
            return r;
        sk->bound_ino = p.dentry->inode;
        fb_inode_get(sk->bound_ino);
        fb_path_put(&p);
        memset(&sk->addr, 0, sizeof(sk->addr));
        sk->addr.ss_family = AF_UNIX;
        memcpy((char *)&sk->addr + SUN_OFF, path, strlen(path) + 1);
        sk->addrlen = SUN_OFF + (socklen_t)strlen(path) + 1;
        fb_list_add_tail(&bound, &sk->bind_node);
        return 0;
    }
}

int fb_socket_getname(struct fb_file *f, bool peer, struct sockaddr_storage *addr, socklen_t *len)
{
    struct usock *sk = usk_of(f);

    if (peer) {
        sk = sk->peer;
        if (!sk)
            return -ENOTCONN;
    }
    memset(addr, 0, sizeof(*addr));
    addr->ss_family = AF_UNIX;
    if (!sk->addrlen) {
        *len = SUN_OFF;
        return 0;
    }
    memcpy(addr, &sk->addr, sk->addrlen);
    *len = sk->addrlen;
    return 0;
}

/* ---- waiting --------------------------------------------------------------------------------- */

/* Deadline for a wait bounded by an SO_RCVTIMEO/SO_SNDTIMEO (0: none; kept across restarts). */
static int64_t timeo_deadline(struct fb_task *t, int64_t timeo_ns)
{
    return timeo_ns ? fb_task_deadline(t, timeo_ns) : 0;
}

/* Sleep until sk (or other) changes. 0 to re-check, or the error to return: -EAGAIN when the
 * socket timeout expired, a restart code when interrupted (with a timeout Linux returns EINTR
 * after a handler, which ERESTARTNOHAND gives too; without one the call restarts). */
static int usk_wait(struct fb_task *t, struct usock *sk, struct usock *other, int64_t deadline,
                    bool timed)
{
    struct fb_waiter w1, w2;
    int r;

    fb_waitq_add(&sk->ino->poll_wq, &w1, t);
    if (other) {
        usk_get(other);
        fb_waitq_add(&other->ino->poll_wq, &w2, t);
    }
    r = fb_task_sleep(t, deadline);
    fb_waitq_del(&w1);
    if (other) {
        fb_waitq_del(&w2);
        usk_put(other);
    }
    if (r == -ETIMEDOUT)
        return -EAGAIN;
    if (r == -EINTR)
        return timed ? -FB_ERESTARTNOHAND : -FB_ERESTARTSYS;
    return 0;
}

/* ---- connections ----------------------------------------------------------------------------- */

int fb_socket_listen(struct fb_file *f, int backlog)
{
    struct usock *sk = usk_of(f);

    if (sk->type == SOCK_DGRAM)
        return -EOPNOTSUPP;
    if (!sk->addrlen)
        return -EINVAL;
    if (sk->state != USK_UNCONNECTED && sk->state != USK_LISTENING)
        return -EINVAL;
    if ((unsigned)backlog > SOMAXCONN_)
        backlog = SOMAXCONN_;
    if (backlog > sk->backlog)
        wake(sk); /* room for blocked connectors */
    sk->backlog = backlog;
    sk->state = USK_LISTENING;
    sk->peercred = current_cred(true);
    return 0;
}

static int stream_connect(struct fb_task *t, struct fb_file *f, const struct sockaddr_un *a,
                          socklen_t len)
{
    struct usock *sk = usk_of(f), *other, *nsk;
    int64_t deadline = 0;
    bool waited = false;
    int r;

    if (sk->passcred && !sk->addrlen && (r = autobind(sk)) < 0)
        return r;
    for (;;) {
        other = find_other(t, a, len, sk->type, &r);
        if (!other)
            return r;
        if (other->state != USK_LISTENING || (other->shutdown & RCV_SHUTDOWN) || other->dead) {
            usk_put(other);
            return -ECONNREFUSED;
        }
        if (other->nacceptq <= other->backlog)
            break;
        if (f->flags & O_NONBLOCK) {
            usk_put(other);
            return -EAGAIN;
        }
        if (!waited) {
            deadline = timeo_deadline(t, sk->sndtimeo_ns);
            waited = true;
        }
        r = usk_wait(t, sk, other, deadline, sk->sndtimeo_ns != 0);
        usk_put(other);
        if (r < 0)
            return r;
    }
    if (sk->state != USK_UNCONNECTED) {
        usk_put(other);
        return sk->state == USK_CONNECTED ? -EISCONN : -EINVAL;
    }
    nsk = usk_new(sk->type);
    if (!nsk) {
        usk_put(other);
        return -ENOMEM;
    }
    /* The server side: connected to us, named like the listener, crediting the connector. */
    nsk->state = USK_CONNECTED;
    nsk->peer = sk;
    usk_get(sk);
    nsk->addr = other->addr;
    nsk->addrlen = other->addrlen;
    nsk->peercred = current_cred(true);
    sk->peer = nsk;
    usk_get(nsk);
    sk->state = USK_CONNECTED;
    sk->peercred = other->peercred;
    fb_list_add_tail(&other->acceptq, &nsk->aq_node); /* the queue owns nsk's first reference */
    other->nacceptq++;
    wake(other);
    usk_put(other);
    return 0;
}

/* A datagram socket leaves its peer old (reconnect, disconnect, or the peer died): what it had
 * queued is dropped, and a live peer connected back to it learns of it (Linux
 * unix_dgram_disconnected). Drops sk's reference on old. */
static void dgram_disconnected(struct usock *sk, struct usock *old)
{
    if (!fb_list_empty(&sk->rcvq)) {
        purge(sk);
        wake(sk);
        if (!old->dead && old->peer == sk) {
            old->err = ECONNRESET;
            wake(old);
        }
    }
    usk_put(old);
}

static int dgram_connect(struct fb_task *t, struct fb_file *f, const struct sockaddr_un *a,
                         socklen_t len)
{
    struct usock *sk = usk_of(f), *other;
    int r;

    if (a->sun_family == AF_UNSPEC) {
        if (sk->peer) {
            struct usock *old = sk->peer;
            sk->peer = NULL;
            wake(old);
            dgram_disconnected(sk, old);
        }
        sk->state = USK_UNCONNECTED;
        return 0;
    }
    r = check_addr(a, len);
    if (r < 0)
        return r;
    if (sk->passcred && !sk->addrlen && (r = autobind(sk)) < 0)
        return r;
    other = find_other(t, a, len, sk->type, &r);
    if (!other)
        return r;
    if (other->peer && other->peer != sk) {
        usk_put(other);
        return -EPERM;
    }
    if (sk->peer) {
        struct usock *old = sk->peer;
        sk->peer = other; /* keeps the reference */
        wake(old);
        if (old != other)
            dgram_disconnected(sk, old);
        else
            usk_put(old);
    }
    sk->peer = other;
    sk->state = USK_CONNECTED;
    wake(sk);
    return 0;
}

int fb_socket_connect(struct fb_task *t, struct fb_file *f, const void *addr, socklen_t len)
{
    const struct sockaddr_un *a = addr;
    int r;

    if (usk_of(f)->type == SOCK_DGRAM) {
        if (len < sizeof(sa_family_t))
            return -EINVAL;
        return dgram_connect(t, f, a, len);
    }
    r = check_addr(a, len);
    if (r < 0)
        return r;
    return stream_connect(t, f, a, len);
}

int fb_socket_accept(struct fb_task *t, struct fb_file *f, unsigned fflags, struct fb_file **out,
                     struct sockaddr_storage *peer, socklen_t *plen)
{
    struct usock *sk = usk_of(f), *nsk;
    int64_t deadline = 0;
    bool waited = false;
    int r;

    if (sk->type == SOCK_DGRAM)
        return -EOPNOTSUPP;
    if (sk->state != USK_LISTENING)
        return -EINVAL;
    while (fb_list_empty(&sk->acceptq)) {
        if (sk->shutdown & RCV_SHUTDOWN)
            return -EINVAL;
        if (f->flags & O_NONBLOCK)
            return -EAGAIN;
        if (!waited) {
            deadline = timeo_deadline(t, sk->rcvtimeo_ns);
            waited = true;
        }
        r = usk_wait(t, sk, NULL, deadline, sk->rcvtimeo_ns != 0);
        if (r < 0)
            return r;
    }
    nsk = fb_list_entry(sk->acceptq.next, struct usock, aq_node);
    r = usk_file(nsk, fflags, out);
    if (r < 0)
        return r;
    fb_list_del(&nsk->aq_node);
    sk->nacceptq--;
    nsk->passcred = sk->passcred;
    wake(sk); /* room in the backlog */
    memset(peer, 0, sizeof(*peer));
    peer->ss_family = AF_UNIX;
    *plen = SUN_OFF;
    if (nsk->peer && nsk->peer->addrlen) {
        memcpy(peer, &nsk->peer->addr, nsk->peer->addrlen);
        *plen = nsk->peer->addrlen;
    }
    return 0;
}

int fb_socket_shutdown(struct fb_file *f, int how)
{
    struct usock *sk = usk_of(f), *other = sk->peer;
    unsigned mode;

    if (how < SHUT_RD || how > SHUT_RDWR)
        return -EINVAL;
    mode = (unsigned)how + 1;
    sk->shutdown |= mode;
    wake(sk);
    if (other && sk->type != SOCK_DGRAM) {
        unsigned pm = 0;
        if (mode & RCV_SHUTDOWN)
            pm |= SEND_SHUTDOWN;
        if (mode & SEND_SHUTDOWN)
            pm |= RCV_SHUTDOWN;
        other->shutdown |= pm;
        wake(other);
    }
    return 0;
}

/* ---- control messages ------------------------------------------------------------------------ */

struct scm {
    struct fb_file **fds;
    int nfds;
    bool has_cred;
    struct ucred cred;
};

static void scm_destroy(struct scm *s)
{
    for (int i = 0; i < s->nfds; i++)
        fb_file_put(s->fds[i]);
    free(s->fds);
    s->fds = NULL;
    s->nfds = 0;
}

/* May the sender claim these credentials (Linux scm_check_creds; root may claim any)? */
static bool creds_ok(const struct ucred *c)
{
    struct fb_thread_group *tg = fb_current->tg;
    if (tg->euid == 0)
        return true;
    return c->pid == tg->tgid && (c->uid == tg->uid || c->uid == tg->euid || c->uid == tg->suid) &&
           (c->gid == tg->gid || c->gid == tg->egid || c->gid == tg->sgid);
}

/* Parse the sender's control data (Linux __scm_send). */
static int scm_parse(struct fb_task *t, const struct fb_sockmsg *m, struct scm *s)
{
    size_t off = 0;

    memset(s, 0, sizeof(*s));
    while (m->controllen - off >= sizeof(struct cmsghdr)) {
        struct cmsghdr h;
        const uint8_t *data;
        size_t dlen;

        memcpy(&h, m->control + off, sizeof(h));
        if (h.cmsg_len < sizeof(h) || h.cmsg_len > m->controllen - off)
            goto einval;
        data = m->control + off + CMSG_LEN(0);
        dlen = h.cmsg_len - CMSG_LEN(0);
        if (h.cmsg_level == SOL_SOCKET) {
            if (h.cmsg_type == SCM_RIGHTS) {
                int n = (int)(dlen / sizeof(int));
                struct fb_file **nf;
                if (s->nfds + n > SCM_MAX_FD_)
                    goto einval;
                nf = realloc(s->fds, (size_t)(s->nfds + n + 1) * sizeof(*nf));
                if (!nf) {
                    scm_destroy(s);
                    return -ENOMEM;
                }
                s->fds = nf;
                for (int i = 0; i < n; i++) {
                    int fd;
                    memcpy(&fd, data + (size_t)i * sizeof(int), sizeof(int));
                    s->fds[s->nfds] = fb_fd_get(t, fd);
                    if (!s->fds[s->nfds]) {
                        scm_destroy(s);
                        return -EBADF;
                    }
                    s->nfds++;
                }
            } else if (h.cmsg_type == SCM_CREDENTIALS) {
                if (h.cmsg_len != CMSG_LEN(sizeof(struct ucred)))
                    goto einval;
                memcpy(&s->cred, data, sizeof(s->cred));
                if (!creds_ok(&s->cred)) {
                    scm_destroy(s);
                    return -EPERM;
                }
                s->has_cred = true;
            } else {
                goto einval;
            }
        }
        off += CMSG_ALIGN(h.cmsg_len);
        if (off > m->controllen)
            break;
    }
    return 0;
einval:
    scm_destroy(s);
    return -EINVAL;
}

/* Append one control message to the receiver's buffer (Linux put_cmsg: a message that does
 * not fit is cut, with MSG_CTRUNC). */
static void put_cmsg(struct fb_sockmsg *m, size_t *used, int type, const void *data, size_t len)
{
    struct cmsghdr h = {.cmsg_len = CMSG_LEN(len), .cmsg_level = SOL_SOCKET, .cmsg_type = type};
    size_t space = m->control ? m->controllen - *used : 0;

    if (space < sizeof(h)) {
        m->flags |= MSG_CTRUNC;
        return;
    }
    if (space < h.cmsg_len) {
        m->flags |= MSG_CTRUNC;
        h.cmsg_len = space;
    }
    memcpy(m->control + *used, &h, sizeof(h));
    memcpy(m->control + *used + CMSG_LEN(0), data, h.cmsg_len - CMSG_LEN(0));
    *used += FB_MIN(CMSG_SPACE(len), space);
}

/* Deliver credentials and files to the receiver (Linux scm_recv): SCM_CREDENTIALS first, then
 * SCM_RIGHTS, installing as many files as fit; the rest are closed. Consumes s->fds. */
static void scm_deliver(struct fb_task *t, struct fb_sockmsg *m, struct scm *s, bool creds,
                        int flags)
{
    size_t used = 0;

    if (creds)
        put_cmsg(m, &used, SCM_CREDENTIALS, &s->cred, sizeof(s->cred));
    if (s->nfds) {
        size_t space = m->control ? m->controllen - used : 0;
        int fit = space > CMSG_LEN(0) ? (int)((space - CMSG_LEN(0)) / sizeof(int)) : 0;
        int n = FB_MIN(fit, s->nfds), i;
        int *fds = calloc((size_t)FB_MAX(n, 1), sizeof(int));

        for (i = 0; fds && i < n; i++) {
            int fd = fb_fd_install(t, s->fds[i], 0, flags & MSG_CMSG_CLOEXEC);
            if (fd < 0)
                break;
            fds[i] = fd;
        }
        if (fds && i > 0)
            put_cmsg(m, &used, SCM_RIGHTS, fds, (size_t)i * sizeof(int));
        if (!fds || i < s->nfds)
            m->flags |= MSG_CTRUNC;
        free(fds);
    }
    scm_destroy(s);
    m->controllen = used;
}

/* ---- sending --------------------------------------------------------------------------------- */

static struct usk_buf *buf_new(struct usock *sender, size_t len, const struct ucred *cred)
{
    struct usk_buf *b = calloc(1, sizeof(*b) + len);
    if (!b)
        return NULL;
    b->len = len;
    b->cred = *cred;
    b->sender = sender;
    usk_get(sender);
    sender->wmem += len;
    return b;
}

static void enqueue(struct usock *to, struct usk_buf *b)
{
    fb_list_add_tail(&to->rcvq, &b->node);
    to->rcv_count++;
    wake(to);
}

static int64_t pipe_error(struct fb_task *t, int flags)
{
    if (!(flags & MSG_NOSIGNAL))
        fb_signal_send_task(t, SIGPIPE, NULL);
    return -EPIPE;
}

static int64_t stream_send(struct fb_task *t, struct fb_file *f, struct fb_sockmsg *m, int flags,
                           struct scm *s)
{
    struct usock *sk = usk_of(f), *other = sk->peer;
    size_t total = m->uio->resid, sent = 0;
    bool nonblock = (flags & MSG_DONTWAIT) || (f->flags & O_NONBLOCK);
    struct ucred cred = s->has_cred ? s->cred : current_cred(false);
    int64_t deadline = 0, err = 0;
    bool waited = false;

    if (m->namelen)
        return sk->state == USK_CONNECTED ? -EISCONN : -EOPNOTSUPP;
    if (sk->state != USK_CONNECTED || !other)
        return -ENOTCONN;
    if (sk->shutdown & SEND_SHUTDOWN)
        return pipe_error(t, flags);
    while (sent < total) {
        size_t chunk;
        struct usk_buf *b;
        int64_t n;

        if (other->dead || (other->shutdown & RCV_SHUTDOWN)) {
            err = sent ? 0 : pipe_error(t, flags);
            break;
        }
        if (sk->err) { /* a pending error is reported by the next send */
            err = -sk->err;
            sk->err = 0;
            break;
        }
        if (sk->wmem >= (size_t)sk->sndbuf) {
            if (nonblock) {
                err = -EAGAIN;
                break;
            }
            if (!waited) {
                deadline = timeo_deadline(t, sk->sndtimeo_ns);
                waited = true;
            }
            err = usk_wait(t, sk, NULL, deadline, sk->sndtimeo_ns != 0);
            if (err < 0)
                break;
            if (sk->shutdown & SEND_SHUTDOWN) {
                err = sent ? 0 : pipe_error(t, flags);
                break;
            }
            continue;
        }
        chunk = FB_MIN(total - sent, (size_t)FB_MAX(sk->sndbuf / 2 - 64, 1));
        b = buf_new(sk, chunk, &cred);
        if (!b) {
            err = -ENOMEM;
            break;
        }
        n = fb_uio_copy_from(m->uio, b->data, chunk);
        if (n != (int64_t)chunk) {
            buf_free(b);
            err = -EFAULT;
            break;
        }
        if (s->nfds) { /* files travel with the first piece */
            b->fds = s->fds;
            b->nfds = s->nfds;
            s->fds = NULL;
            s->nfds = 0;
        }
        enqueue(other, b);
        sent += chunk;
    }
    return sent ? (int64_t)sent : err;
}

static int64_t dgram_send(struct fb_task *t, struct fb_file *f, struct fb_sockmsg *m, int flags,
                          struct scm *s)
{
    struct usock *sk = usk_of(f), *other = NULL;
    const struct sockaddr_un *name = (const struct sockaddr_un *)&m->name;
    size_t len = m->uio->resid;
    bool nonblock = (flags & MSG_DONTWAIT) || (f->flags & O_NONBLOCK);
    bool waited = false;
    struct usk_buf *b = NULL;
    int64_t deadline = 0;
    int r;

    if (sk->type == SOCK_SEQPACKET) {
        if (sk->state != USK_CONNECTED)
            return -ENOTCONN;
        m->namelen = 0;
    }
    if (m->namelen && (r = check_addr(name, m->namelen)) < 0)
        return r;
    if (!m->namelen && !sk->peer)
        return -ENOTCONN;
    if (sk->passcred && !sk->addrlen && (r = autobind(sk)) < 0)
        return r;
    if (len > (size_t)sk->sndbuf - 32)
        return -EMSGSIZE;
    for (;;) {
        /* Room in our send buffer, then the data (Linux allocates the skb first). */
        if (!b && sk->err) {
            r = -sk->err;
            sk->err = 0;
            goto out;
        }
        if (!b && sk->wmem < (size_t)sk->sndbuf) {
            b = buf_new(sk, len, s->has_cred ? &s->cred : &(struct ucred){0});
            if (!b)
                return -ENOMEM;
            if (!s->has_cred)
                b->cred = current_cred(false);
            if (len && fb_uio_copy_from(m->uio, b->data, len) != (int64_t)len) {
                r = -EFAULT;
                goto out;
            }
        }
        if (b) {
            /* The receiver, and room in its queue unless it is connected back to us. */
            if (m->namelen) {
                other = find_other(t, name, m->namelen, sk->type, &r);
                if (!other)
                    goto out;
            } else {
                other = sk->peer;
                if (!other) {
                    r = -ENOTCONN;
                    goto out;
                }
                usk_get(other);
            }
            if (other->peer && other->peer != sk) {
                r = -EPERM;
                goto out;
            }
            if (other->dead) {
                r = sk->type == SOCK_SEQPACKET ? -EPIPE : -ECONNREFUSED;
                if (sk->type == SOCK_DGRAM && sk->peer == other) {
                    sk->peer = NULL; /* the datagram peer is gone: disconnect */
                    sk->state = USK_UNCONNECTED;
                    dgram_disconnected(sk, other);
                }
                goto out;
            }
            if (other->shutdown & RCV_SHUTDOWN) {
                r = -EPIPE;
                goto out;
            }
            if (other == sk || other->peer == sk || other->rcv_count <= MAX_DGRAM_QLEN)
                break;
        }
        if (nonblock) {
            r = -EAGAIN;
            goto out;
        }
        if (!waited) {
            deadline = timeo_deadline(t, sk->sndtimeo_ns);
            waited = true;
        }
        r = usk_wait(t, sk, other, deadline, sk->sndtimeo_ns != 0);
        if (other) {
            usk_put(other);
            other = NULL;
        }
        if (r < 0)
            goto out;
    }
    b->fds = s->fds;
    b->nfds = s->nfds;
    s->fds = NULL;
    s->nfds = 0;
    enqueue(other, b);
    usk_put(other);
    return (int64_t)len;
out:
    if (b)
        buf_free(b);
    if (other)
        usk_put(other);
    return r;
}

int64_t fb_socket_sendmsg(struct fb_task *t, struct fb_file *f, struct fb_sockmsg *m, int flags)
{
    struct usock *sk = usk_of(f);
    struct scm s;
    int64_t r;

    if (flags & MSG_OOB)
        return -EOPNOTSUPP;
    r = scm_parse(t, m, &s);
    if (r < 0)
        return r;
    if (sk->type == SOCK_STREAM)
        r = stream_send(t, f, m, flags, &s);
    else
        r = dgram_send(t, f, m, flags, &s);
    scm_destroy(&s);
    return r;
}

/* ---- receiving ------------------------------------------------------------------------------- */

static void source_name(struct fb_sockmsg *m, const struct usock *from)
{
    if (!m->want_name)
        return;
    m->namelen = 0;
    if (from && from->addrlen) {
        memcpy(&m->name, &from->addr, from->addrlen);
        m->namelen = from->addrlen;
    }
}

/* Take the files of b (consume) or duplicate them (peek). */
static int take_fds(struct usk_buf *b, struct scm *s, bool peek)
{
    if (!b->nfds)
        return 0;
    if (peek) {
        s->fds = malloc((size_t)b->nfds * sizeof(*s->fds));
        if (!s->fds)
            return -ENOMEM;
        for (int i = 0; i < b->nfds; i++) {
            s->fds[i] = b->fds[i];
            fb_file_get(b->fds[i]);
        }
        s->nfds = b->nfds;
        return 0;
    }
    s->fds = b->fds;
    s->nfds = b->nfds;
    b->fds = NULL;
    b->nfds = 0;
    return 0;
}

static int take_error(struct usock *sk)
{
    int e = sk->err;
    sk->err = 0;
    return -e;
}

/* Bytes a waiting stream read has consumed so far, kept so that they can be put back (see
 * stream_recv). */
struct undo {
    uint8_t *data;
    size_t len, cap;
    struct usock *sender;
    struct ucred cred;
};

static void undo_note(struct undo *u, const struct usk_buf *b, size_t n)
{
    if (!u->sender && b->sender) {
        u->sender = b->sender;
        usk_get(u->sender);
        u->cred = b->cred;
    }
    if (u->len + n > u->cap) {
        size_t cap = FB_MAX(u->cap * 2, u->len + n);
        uint8_t *d = realloc(u->data, cap);
        if (!d) {
            u->cap = SIZE_MAX; /* cannot undo: the partial read is returned instead */
            return;
        }
        u->data = d;
        u->cap = cap;
    }
    if (u->cap != SIZE_MAX) {
        memcpy(u->data + u->len, b->data + b->off, n);
        u->len += n;
    }
}

/* Put the consumed bytes back at the head of the queue, as if never read. */
static bool undo_apply(struct usock *sk, struct undo *u)
{
    struct usk_buf *b;

    if (!u->len || u->cap == SIZE_MAX || !u->sender)
        return false;
    b = buf_new(u->sender, u->len, &u->cred);
    if (!b)
        return false;
    memcpy(b->data, u->data, u->len);
    fb_list_add(&sk->rcvq, &b->node);
    sk->rcv_count++;
    return true;
}

/* Read from a stream (Linux unix_stream_read_generic). A read that must wait after taking some
 * data (MSG_WAITALL, SO_RCVLOWAT) and is then interrupted returns what it has when a signal
 * handler is due, as Linux does; interrupted without a signal (a checkpoint, or the interrupt
 * storm) it puts the data back and restarts, so that it is invisible. */
static int64_t stream_recv(struct fb_task *t, struct fb_file *f, struct fb_sockmsg *m, int flags,
                           struct scm *s, bool *creds)
{
    struct usock *sk = usk_of(f);
    size_t size = m->uio->resid, copied = 0, target;
    bool nonblock = (flags & MSG_DONTWAIT) || (f->flags & O_NONBLOCK), peek = flags & MSG_PEEK;
    bool waited = false, keep;
    int64_t deadline = 0, err = 0;
    struct usk_buf *b = NULL;
    struct undo undo = {0};

    if (sk->state != USK_CONNECTED)
        return -EINVAL;
    target = (flags & MSG_WAITALL) ? size : FB_MIN((size_t)sk->rcvlowat, size);
    if (!target)
        target = 1; /* even a zero-length read waits for data, as on Linux */
    keep = target > 1 && !peek;
    while (copied < size || size == 0) {
        int64_t n;
        size_t avail;

        if (peek && b)
            b = b->node.next == &sk->rcvq ? NULL
                                          : fb_list_entry(b->node.next, struct usk_buf, node);
        else
            b = fb_list_empty(&sk->rcvq) ? NULL
                                         : fb_list_entry(sk->rcvq.next, struct usk_buf, node);
        if (!b) {
            if (copied >= target || (peek && copied))
                break;
            if (sk->err) {
                err = take_error(sk);
                break;
            }
            if (sk->shutdown & RCV_SHUTDOWN)
                break;
            if (nonblock) {
                err = -EAGAIN;
                break;
            }
            if (!waited) {
                deadline = timeo_deadline(t, sk->rcvtimeo_ns);
                waited = true;
            }
            err = usk_wait(t, sk, NULL, deadline, sk->rcvtimeo_ns != 0);
            if (err == -FB_ERESTARTSYS || err == -FB_ERESTARTNOHAND) {
                if (copied && !fb_signal_pending(t) && !t->exiting && undo_apply(sk, &undo))
                    copied = 0;
            }
            if (err < 0)
                break;
            continue;
        }
        if (sk->passcred) {
            if (*creds && memcmp(&s->cred, &b->cred, sizeof(b->cred)) != 0)
                break; /* do not merge data from different senders */
            s->cred = b->cred;
            *creds = true;
        }
        if (copied == 0)
            source_name(m, b->sender);
        avail = b->len - b->off;
        if (size == 0)
            break;
        n = fb_uio_copy_to(m->uio, b->data + b->off, FB_MIN(avail, size - copied));
        if (n <= 0) {
            if (!copied)
                err = -EFAULT;
            break;
        }
        copied += (size_t)n;
        if (take_fds(b, s, peek) < 0)
            break;
        if (peek) {
            if (s->nfds)
                break;
            continue;
        }
        if (keep)
            undo_note(&undo, b, (size_t)n);
        b->off += (size_t)n;
        if (b->off < b->len)
            break;
        dequeue_buf(sk, b);
        b = NULL;
        if (s->nfds)
            break;
    }
    free(undo.data);
    usk_put(undo.sender);
    return copied ? (int64_t)copied : err;
}

static int64_t dgram_recv(struct fb_task *t, struct fb_file *f, struct fb_sockmsg *m, int flags,
                          struct scm *s, bool *creds)
{
    struct usock *sk = usk_of(f);
    bool nonblock = (flags & MSG_DONTWAIT) || (f->flags & O_NONBLOCK);
    bool waited = false;
    int64_t deadline = 0;
    struct usk_buf *b;
    size_t len, size;
    int r;

    if (sk->type == SOCK_SEQPACKET && sk->state != USK_CONNECTED)
        return -ENOTCONN;
    while (fb_list_empty(&sk->rcvq)) {
        if (sk->err)
            return take_error(sk);
        if (sk->shutdown & RCV_SHUTDOWN)
            return 0;
        if (nonblock)
            return -EAGAIN;
        if (!waited) {
            deadline = timeo_deadline(t, sk->rcvtimeo_ns);
            waited = true;
        }
        r = usk_wait(t, sk, NULL, deadline, sk->rcvtimeo_ns != 0);
        if (r < 0)
            return r;
    }
    b = fb_list_entry(sk->rcvq.next, struct usk_buf, node);
    source_name(m, b->sender);
    len = b->len;
    size = m->uio->resid;
    if (size > len)
        size = len;
    else if (size < len)
        m->flags |= MSG_TRUNC;
    if (size && fb_uio_copy_to(m->uio, b->data, size) != (int64_t)size)
        return -EFAULT;
    if (sk->passcred) {
        s->cred = b->cred;
        *creds = true;
    }
    if (take_fds(b, s, flags & MSG_PEEK) < 0)
        return -ENOMEM;
    if (!(flags & MSG_PEEK)) {
        dequeue_buf(sk, b);
        wake(sk); /* room for datagram senders */
    }
    return (flags & MSG_TRUNC) ? (int64_t)len : (int64_t)size;
}

int64_t fb_socket_recvmsg(struct fb_task *t, struct fb_file *f, struct fb_sockmsg *m, int flags)
{
    struct usock *sk = usk_of(f);
    struct scm s = {0};
    bool creds = false;
    int64_t r;

    m->flags = flags & MSG_CMSG_CLOEXEC;
    m->namelen = 0;
    if (flags & MSG_OOB)
        return -EOPNOTSUPP;
    if (sk->type == SOCK_STREAM)
        r = stream_recv(t, f, m, flags, &s, &creds);
    else
        r = dgram_recv(t, f, m, flags, &s, &creds);
    if (r >= 0) {
        scm_deliver(t, m, &s, creds, flags);
    } else {
        scm_destroy(&s);
        m->controllen = 0;
    }
    return r;
}

/* ---- options --------------------------------------------------------------------------------- */

static int64_t timeval_ns(const struct timeval *tv, int64_t *ns)
{
    if (tv->tv_usec < 0 || tv->tv_usec >= 1000000)
        return -EDOM;
    if (tv->tv_sec < 0) {
        *ns = 0; /* Linux: a negative timeout means none at all... for us, no timeout */
        return 0;
    }
    if (tv->tv_sec > INT64_MAX / 1000000000 / 4)
        *ns = 0;
    else
        *ns = tv->tv_sec * 1000000000ll + tv->tv_usec * 1000ll;
    return 0;
}

/* SO_SNDBUF/SO_RCVBUF: Linux doubles the value (bookkeeping overhead) within [min, 2 * max];
 * the _FORCE variants (root) ignore the maximum. */
static int buf_size(bool capped, int v, int min)
{
    if (capped)
        v = (unsigned)v > SOCK_BUF_MAX ? SOCK_BUF_MAX : v;
    else if (v < 0)
        v = 0;
    v = FB_MIN(v, INT32_MAX / 2);
    return FB_MAX(v * 2, min);
}

int fb_socket_setsockopt(struct fb_task *t, struct fb_file *f, int level, int name, const void *val,
                         socklen_t len)
{
    struct usock *sk = usk_of(f);
    int v = 0;
    (void)t;

    if (level != SOL_SOCKET)
        return -EOPNOTSUPP;
    switch (name) {
    case SO_LINGER:
        if (len < sizeof(struct linger))
            return -EINVAL;
        memcpy(&sk->linger, val, sizeof(sk->linger));
        return 0;
    case SO_RCVTIMEO_OLD:
    case SO_SNDTIMEO_OLD:
    case SO_RCVTIMEO_NEW:
    case SO_SNDTIMEO_NEW: {
        struct timeval tv;
        int64_t ns;
        int r;
        if (len < sizeof(tv))
            return -EINVAL;
        memcpy(&tv, val, sizeof(tv));
        r = (int)timeval_ns(&tv, &ns);
        if (r < 0)
            return r;
        if (name == SO_RCVTIMEO_OLD || name == SO_RCVTIMEO_NEW)
            sk->rcvtimeo_ns = ns;
        else
            sk->sndtimeo_ns = ns;
        return 0;
    }
    default:
        break;
    }
    if (len < sizeof(int))
        return -EINVAL;
    memcpy(&v, val, sizeof(v));
    switch (name) {
    case SO_DEBUG:
        sk->debug = v;
        return 0;
    case SO_REUSEADDR:
        sk->reuseaddr = v;
        return 0;
    case SO_REUSEPORT:
        sk->reuseport = v;
        return 0;
    case SO_KEEPALIVE:
        sk->keepalive = v;
        return 0;
    case SO_BROADCAST:
        sk->broadcast = v;
        return 0;
    case SO_OOBINLINE:
        sk->oobinline = v;
        return 0;
    case SO_DONTROUTE:
        sk->dontroute = v;
        return 0;
    case SO_PASSCRED:
        sk->passcred = v;
        return 0;
    case SO_PRIORITY:
        sk->priority = v;
        return 0;
    case SO_RCVLOWAT:
        sk->rcvlowat = v < 0 ? INT32_MAX : v ? v : 1;
        return 0;
    case SO_SNDBUF:
    case SO_SNDBUFFORCE:
        sk->sndbuf = buf_size(name == SO_SNDBUF, v, SOCK_MIN_SNDBUF);
        wake(sk); /* writers may have room now */
        return 0;
    case SO_RCVBUF:
    case SO_RCVBUFFORCE:
        sk->rcvbuf = buf_size(name == SO_RCVBUF, v, SOCK_MIN_RCVBUF);
        return 0;
    default:
        return -ENOPROTOOPT;
    }
}

int fb_socket_getsockopt(struct fb_task *t, struct fb_file *f, int level, int name, void *val,
                         socklen_t *len)
{
    struct usock *sk = usk_of(f);
    union {
        int i;
        struct linger l;
        struct timeval tv;
        struct ucred c;
    } u;
    size_t size = sizeof(int);
    (void)t;

    if (level != SOL_SOCKET)
        return -EOPNOTSUPP;
    memset(&u, 0, sizeof(u));
    switch (name) {
    case SO_TYPE:
        u.i = sk->type;
        break;
    case SO_DOMAIN:
        u.i = AF_UNIX;
        break;
    case SO_PROTOCOL:
        u.i = 0;
        break;
    case SO_ERROR:
        u.i = -take_error(sk);
        break;
    case SO_ACCEPTCONN:
        u.i = sk->state == USK_LISTENING;
        break;
    case SO_DEBUG:
        u.i = sk->debug;
        break;
    case SO_REUSEADDR:
        u.i = sk->reuseaddr;
        break;
    case SO_REUSEPORT:
        u.i = sk->reuseport;
        break;
    case SO_KEEPALIVE:
        u.i = sk->keepalive;
        break;
    case SO_BROADCAST:
        u.i = sk->broadcast;
        break;
    case SO_OOBINLINE:
        u.i = sk->oobinline;
        break;
    case SO_DONTROUTE:
        u.i = sk->dontroute;
        break;
    case SO_PASSCRED:
        u.i = sk->passcred;
        break;
    case SO_PRIORITY:
        u.i = sk->priority;
        break;
    case SO_RCVLOWAT:
        u.i = sk->rcvlowat;
        break;
    case SO_SNDLOWAT:
        u.i = 1;
        break;
    case SO_SNDBUF:
        u.i = sk->sndbuf;
        break;
    case SO_RCVBUF:
        u.i = sk->rcvbuf;
        break;
    case SO_LINGER:
        u.l = sk->linger;
        size = sizeof(u.l);
        break;
    case SO_RCVTIMEO_OLD:
    case SO_SNDTIMEO_OLD:
    case SO_RCVTIMEO_NEW:
    case SO_SNDTIMEO_NEW: {
        int64_t ns = (name == SO_RCVTIMEO_OLD || name == SO_RCVTIMEO_NEW) ? sk->rcvtimeo_ns
                                                                          : sk->sndtimeo_ns;
        u.tv.tv_sec = ns / 1000000000;
        u.tv.tv_usec = (ns % 1000000000) / 1000;
        size = sizeof(u.tv);
        break;
    }
    case SO_PEERCRED:
        u.c = sk->peercred;
        size = sizeof(u.c);
        break;
    default:
        return -ENOPROTOOPT;
    }
    if (*len > size)
        *len = (socklen_t)size;
    memcpy(val, &u, *len);
    return 0;
}

/* ---- creation -------------------------------------------------------------------------------- */

static int check_type(int family, int *type, int protocol)
{
    if (family < 0 || family >= AF_MAX)
        return -EAFNOSUPPORT;
    if (*type < 0 || *type >= SOCK_PACKET + 1)
        return -EINVAL;
    if (family == AF_NETLINK)
        return -EAFNOSUPPORT; /* no routing or kernel interfaces to talk to */
    if (family == AF_PACKET || *type == SOCK_RAW || *type == SOCK_PACKET) {
        if (family != AF_UNIX)
            return -EPERM; /* raw and packet sockets are refused */
    }
    if (family != AF_UNIX)
        return -EAFNOSUPPORT; /* no network in the sandbox (AF_INET, AF_INET6, AF_NETLINK...) */
    if (protocol && protocol != PF_UNIX)
        return -EPROTONOSUPPORT;
    switch (*type) {
    case SOCK_STREAM:
    case SOCK_DGRAM:
    case SOCK_SEQPACKET:
        return 0;
    case SOCK_RAW:
        *type = SOCK_DGRAM; /* as Linux does for AF_UNIX */
        return 0;
    default:
        return -ESOCKTNOSUPPORT;
    }
}

int fb_socket_new(int family, int type, int protocol, unsigned fflags, struct fb_file **out)
{
    struct usock *sk;
    int r = check_type(family, &type, protocol);

    if (r < 0)
        return r;
    sk = usk_new(type);
    if (!sk)
        return -ENOMEM;
    r = usk_file(sk, fflags, out);
    if (r < 0)
        usk_release(sk, false);
    return r;
}

int fb_socket_pair(int family, int type, int protocol, unsigned fflags, struct fb_file *out[2])
{
    struct usock *a, *b;
    int r = check_type(family, &type, protocol);

    if (r < 0)
        return r;
    r = fb_socket_new(family, type, protocol, fflags, &out[0]);
    if (r < 0)
        return r;
    r = fb_socket_new(family, type, protocol, fflags, &out[1]);
    if (r < 0) {
        fb_file_put(out[0]);
        return r;
    }
    a = usk_of(out[0]);
    b = usk_of(out[1]);
    a->peer = b;
    usk_get(b);
    b->peer = a;
    usk_get(a);
    a->state = b->state = USK_CONNECTED;
    a->peercred = b->peercred = current_cred(true);
    return 0;
}

/* ---- file operations ------------------------------------------------------------------------- */

static int64_t sock_read(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    struct fb_sockmsg m = {.uio = u};
    (void)off;
    if (!u->resid)
        return 0;
    return fb_socket_recvmsg(fb_current, f, &m, 0);
}

static int64_t sock_write(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    struct fb_sockmsg m = {.uio = u};
    (void)off;
    if (!u->resid)
        return 0;
    /* write(2) raises SIGPIPE itself on EPIPE (sys_file.c). */
    return fb_socket_sendmsg(fb_current, f, &m, MSG_NOSIGNAL);
}

static bool writable(const struct usock *sk)
{
    return sk->state != USK_LISTENING && sk->wmem * 4 <= (size_t)sk->sndbuf;
}

static unsigned sock_poll(struct fb_file *f, struct fb_poll_table *pt)
{
    struct usock *sk = usk_of(f), *other = sk->peer;
    unsigned mask = 0;

    fb_poll_wait(pt, &sk->ino->poll_wq);
    if (sk->err)
        mask |= POLLERR;
    if (sk->shutdown & RCV_SHUTDOWN)
        mask |= POLLRDHUP | POLLIN | POLLRDNORM;
    if (sk->shutdown == SHUTDOWN_MASK)
        mask |= POLLHUP;
    if (!fb_list_empty(&sk->rcvq) || (sk->state == USK_LISTENING && sk->nacceptq))
        mask |= POLLIN | POLLRDNORM;
    if (sk->type == SOCK_STREAM) {
        if (sk->state == USK_UNCONNECTED)
            mask |= POLLHUP;
        if (writable(sk))
            mask |= POLLOUT | POLLWRNORM | POLLWRBAND;
        return mask;
    }
    if (sk->type == SOCK_SEQPACKET && sk->state == USK_UNCONNECTED)
        mask |= POLLHUP;
    if (writable(sk)) {
        bool full = false;
        if (other && other->peer != sk) {
            fb_poll_wait(pt, &other->ino->poll_wq);
            full = other->rcv_count > MAX_DGRAM_QLEN;
        }
        if (!full)
            mask |= POLLOUT | POLLWRNORM | POLLWRBAND;
    }
    return mask;
}

static int64_t sock_ioctl(struct fb_file *f, struct fb_task *t, unsigned long cmd, uint64_t arg)
{
    struct usock *sk = usk_of(f);
    int v = 0;

    switch (cmd) {
    case SIOCINQ: {
        struct fb_list *pos;
        if (sk->state == USK_LISTENING)
            return -EINVAL;
        fb_list_for_each(pos, &sk->rcvq)
        {
            struct usk_buf *b = fb_list_entry(pos, struct usk_buf, node);
            v += (int)(b->len - b->off);
            if (sk->type == SOCK_DGRAM)
                break;
        }
        break;
    }
    case SIOCOUTQ:
        v = (int)sk->wmem;
        break;
    default:
        return -ENOTTY;
    }
    return fb_mm_copy_out(t->mm, arg, &v, sizeof(v)) ? -EFAULT : 0;
}

static void sock_release(struct fb_file *f)
{
    usk_release(usk_of(f), false);
}

static const struct fb_file_ops sock_ops = {
    .read = sock_read,
    .write = sock_write,
    .poll = sock_poll,
    .ioctl = sock_ioctl,
    .release = sock_release,
};

/* ---- checkpoint support ------------------------------------------------------------------------ */

/* Images before the general form hold socketpair ends: loaded onto an end of a fresh pair (the
 * queue's sender is that end's peer). */
static int sock2_load_fields(struct usock *sk, struct fb_sr *s);

int fb_socket_load_pair_state(struct fb_file *f, struct fb_sr *r)
{
    struct usock *sk = usk_of(f);
    struct fb_sr s, q;
    uint32_t i;

    fb_sr_sub(r, &s);
    /* The peer gone: the caller released the peer's file. */
    if (sock2_load_fields(sk, &s) < 0 || !sk->peer)
        return -EINVAL;
    fb_sr_sub(&s, &q);
    for (i = 0; i < q.n; i++) {
        struct fb_sr e;
        const msgpack_object *d;
        struct ucred cred;
        struct usk_buf *b;
        fb_sr_sub(&q, &e);
        d = fb_sr_obj(&e);
        cred.pid = (pid_t)fb_sr_i64(&e);
        cred.uid = (uid_t)fb_sr_u64(&e);
        cred.gid = (gid_t)fb_sr_u64(&e);
        if (*r->err || !d || d->type != MSGPACK_OBJECT_BIN || d->via.bin.size > SOCK_BUF_MAX * 4)
            return -EINVAL;
        b = buf_new(sk->peer, d->via.bin.size, &cred);
        if (!b)
            return -ENOMEM;
        if (d->via.bin.size)
            memcpy(b->data, d->via.bin.ptr, d->via.bin.size);
        enqueue(sk, b);
    }
    return 0;
}

/* ---- checkpoint support, general form ------------------------------------------------------------
 * Every socket reachable from a saved file: named (abstract, or a path in tmpfs), listening with
 * its pending connections, accepted, datagram with messages from any sender and the descriptors
 * they carry. Layout of a socket:
 *   0 type, 1 shutdown, 2 pending error, 3-4 send/receive buffer, 5 SO_RCVLOWAT, 6 priority,
 *   7-8 receive/send timeouts, 9 boolean options, 10-11 linger, 12-14 peer credentials,
 *   15 peer gone, 16 queued messages [bytes, pid, uid, gid, sender reference, and the file ids
 *   of the descriptors it carries if any], 17-18 zero,
 *   19 state, 20 address (bytes), 21 in the name table, 22 tmpfs inode of a path name or 0,
 *   23 backlog, 24 peer reference, 25 pending connections (sockets in this layout).
 * The first 19 fields are those of the older socketpair form (whose messages have no sender).
 * A reference is nil, [1, file id], [2, listener file id, index in its queue] or, for a socket
 * whose file is gone (a closed peer, the sender of a queued datagram), [3, type, address]. */

#define SOCK2_FIELDS   26
#define SOCK2_MAX_QUEUE 65536

static bool sock2_find(const struct fb_socket_saveset *set, const struct usock *target,
                       uint64_t *id, uint64_t *listener, uint32_t *index)
{
    for (size_t i = 0; i < set->n; i++) {
        const struct usock *sk = usk_of(set->files[i]);
        uint32_t k = 0;
        const struct fb_list *pos;
        if (sk == target) {
            *id = set->ids[i];
            return true;
        }
        fb_list_for_each(pos, &sk->acceptq)
        {
            if (fb_list_entry(pos, struct usock, aq_node) == target) {
                *listener = set->ids[i];
                *index = k;
                *id = 0;
                return true;
            }
            k++;
        }
    }
    return false;
}

static void sock2_ref(struct fb_sw *w, const struct usock *target, struct fb_socket_saveset *set)
{
    uint64_t id = 0, listener = 0;
    uint32_t index = 0;

    if (!target) {
        fb_sw_nil(w);
    } else if (sock2_find(set, target, &id, &listener, &index)) {
        fb_sw_array(w, id ? 2 : 3);
        fb_sw_u64(w, id ? 1 : 2);
        fb_sw_u64(w, id ? id : listener);
        if (!id)
            fb_sw_u64(w, index);
    } else {
        if (!target->dead && !set->why)
            set->why = "a unix socket connected to (or sent data by) one held outside any fd "
                       "table";
        fb_sw_array(w, 3);
        fb_sw_u64(w, 3);
        fb_sw_i64(w, target->type);
        fb_sw_bin(w, &target->addr, target->addrlen);
    }
}

static void sock2_save(const struct usock *sk, struct fb_sw *w, struct fb_socket_saveset *set)
{
    const struct fb_list *pos;
    uint32_t n = 0;

    fb_sw_array(w, SOCK2_FIELDS);
    fb_sw_i64(w, sk->type);
    fb_sw_u64(w, sk->shutdown);
    fb_sw_i64(w, sk->err);
    fb_sw_i64(w, sk->sndbuf);
    fb_sw_i64(w, sk->rcvbuf);
    fb_sw_i64(w, sk->rcvlowat);
    fb_sw_i64(w, sk->priority);
    fb_sw_i64(w, sk->rcvtimeo_ns);
    fb_sw_i64(w, sk->sndtimeo_ns);
    fb_sw_u64(w, (uint64_t)sk->passcred | (uint64_t)sk->reuseaddr << 1 | (uint64_t)sk->reuseport << 2 |
                     (uint64_t)sk->keepalive << 3 | (uint64_t)sk->broadcast << 4 |
                     (uint64_t)sk->oobinline << 5 | (uint64_t)sk->debug << 6 |
                     (uint64_t)sk->dontroute << 7);
    fb_sw_i64(w, sk->linger.l_onoff);
    fb_sw_i64(w, sk->linger.l_linger);
    fb_sw_i64(w, sk->peercred.pid);
    fb_sw_u64(w, sk->peercred.uid);
    fb_sw_u64(w, sk->peercred.gid);
    fb_sw_bool(w, sk->peer && sk->peer->dead);
    fb_list_for_each(pos, &sk->rcvq) n++;
    fb_sw_array(w, n);
    fb_list_for_each(pos, &sk->rcvq)
    {
        const struct usk_buf *b = fb_list_entry(pos, struct usk_buf, node);
        fb_sw_array(w, b->nfds ? 6 : 5);
        fb_sw_bin(w, b->data + b->off, b->len - b->off);
        fb_sw_i64(w, b->cred.pid);
        fb_sw_u64(w, b->cred.uid);
        fb_sw_u64(w, b->cred.gid);
        sock2_ref(w, b->sender, set);
        if (b->nfds) { /* SCM_RIGHTS in flight: the files, by id (the saver saved them all) */
            fb_sw_array(w, (uint32_t)b->nfds);
            for (int k = 0; k < b->nfds; k++) {
                uint64_t id = set->file_id(b->fds[k], set->arg);
                if (!id && !set->why)
                    set->why = "a descriptor in flight that is not saved";
                fb_sw_u64(w, id);
            }
        }
    }
    fb_sw_u64(w, 0); /* reserved */
    fb_sw_u64(w, 0);
    fb_sw_i64(w, sk->state);
    fb_sw_bin(w, &sk->addr, sk->addrlen);
    fb_sw_bool(w, sk->addrlen && !fb_list_empty(&sk->bind_node));
    fb_sw_u64(w, sk->bound_ino ? set->inode_id(sk->bound_ino, set->arg) : 0);
    fb_sw_i64(w, sk->backlog);
    sock2_ref(w, sk->peer, set);
    n = 0;
    fb_list_for_each(pos, &sk->acceptq) n++;
    fb_sw_array(w, n);
    fb_list_for_each(pos, &sk->acceptq)
        sock2_save(fb_list_entry(pos, struct usock, aq_node), w, set);
}

static int inflight_walk(const struct usock *sk, int (*fn)(struct fb_file *f, void *arg), void *arg)
{
    const struct fb_list *pos;
    fb_list_for_each(pos, &sk->rcvq)
    {
        const struct usk_buf *b = fb_list_entry(pos, struct usk_buf, node);
        for (int k = 0; k < b->nfds; k++)
            if (fn(b->fds[k], arg) < 0)
                return -1;
    }
    fb_list_for_each(pos, &sk->acceptq)
    {
        if (inflight_walk(fb_list_entry(pos, struct usock, aq_node), fn, arg) < 0)
            return -1;
    }
    return 0;
}

int fb_socket_foreach_inflight(const struct fb_file *f, int (*fn)(struct fb_file *f, void *arg),
                               void *arg)
{
    return inflight_walk(usk_of(f), fn, arg);
}

struct fb_inode *fb_socket_bound_inode(const struct fb_file *f)
{
    return usk_of(f)->bound_ino;
}

void fb_socket_save(const struct fb_file *f, struct fb_sw *w, struct fb_socket_saveset *set)
{
    sock2_save(usk_of(f), w, set);
}

/* Loading: a dead socket standing in for one whose file was gone at the checkpoint. */
static struct usock *sock2_placeholder(int type, const msgpack_object *addr)
{
    struct usock *sk;

    if ((type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_SEQPACKET) || !addr ||
        addr->type != MSGPACK_OBJECT_BIN || addr->via.bin.size > sizeof(sk->addr))
        return NULL;
    sk = usk_new(type);
    if (!sk)
        return NULL;
    memcpy(&sk->addr, addr->via.bin.ptr, addr->via.bin.size);
    sk->addrlen = (socklen_t)addr->via.bin.size;
    sk->dead = true;
    sk->shutdown = SHUTDOWN_MASK;
    return sk;
}

/* Resolve a reference; returns a new reference to the socket, NULL for nil; *bad on error. */
static struct usock *sock2_resolve(const msgpack_object *o, struct fb_socket_loadset *set,
                                   bool *bad)
{
    const msgpack_object *v;
    uint64_t kind;

    if (!o || o->type == MSGPACK_OBJECT_NIL)
        return NULL;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 2 ||
        o->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        goto bad;
    v = o->via.array.ptr;
    kind = v[0].via.u64;
    if (kind == 1 || kind == 2) {
        struct fb_file *f;
        struct usock *sk;
        if (v[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            goto bad;
        f = set->file_at(v[1].via.u64, set->arg);
        if (!f || !fb_file_is_socket(f))
            goto bad;
        sk = usk_of(f);
        if (kind == 2) {
            const struct fb_list *pos;
            uint64_t want, k = 0;
            if (o->via.array.size != 3 || v[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
                goto bad;
            want = v[2].via.u64;
            sk = NULL;
            fb_list_for_each(pos, &usk_of(f)->acceptq)
            {
                if (k++ == want) {
                    sk = fb_list_entry(pos, struct usock, aq_node);
                    break;
                }
            }
            if (!sk)
                goto bad;
        }
        usk_get(sk);
        return sk;
    }
    if (kind == 3 && o->via.array.size == 3 && v[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        struct usock *sk = sock2_placeholder((int)v[1].via.u64, &v[2]);
        if (sk)
            return sk; /* the placeholder's only reference goes to the caller */
    }
bad:
    *bad = true;
    return NULL;
}

/* Options and counters of a socket in the general layout (fields 0-15). */
static int sock2_load_fields(struct usock *sk, struct fb_sr *s)
{
    uint64_t flags;

    if (fb_sr_i64(s) != sk->type)
        *s->err = true;
    sk->shutdown = (unsigned)fb_sr_u64(s) & SHUTDOWN_MASK;
    sk->err = (int)fb_sr_i64(s);
    sk->sndbuf = (int)fb_sr_i64(s);
    sk->rcvbuf = (int)fb_sr_i64(s);
    sk->rcvlowat = (int)fb_sr_i64(s);
    sk->priority = (int)fb_sr_i64(s);
    sk->rcvtimeo_ns = fb_sr_i64(s);
    sk->sndtimeo_ns = fb_sr_i64(s);
    flags = fb_sr_u64(s);
    sk->passcred = flags & 1;
    sk->reuseaddr = flags >> 1 & 1;
    sk->reuseport = flags >> 2 & 1;
    sk->keepalive = flags >> 3 & 1;
    sk->broadcast = flags >> 4 & 1;
    sk->oobinline = flags >> 5 & 1;
    sk->debug = flags >> 6 & 1;
    sk->dontroute = flags >> 7 & 1;
    sk->linger.l_onoff = (int)fb_sr_i64(s);
    sk->linger.l_linger = (int)fb_sr_i64(s);
    sk->peercred.pid = (pid_t)fb_sr_i64(s);
    sk->peercred.uid = (uid_t)fb_sr_u64(s);
    sk->peercred.gid = (gid_t)fb_sr_u64(s);
    fb_sr_bool(s); /* peer gone: the peer reference says it */
    if (*s->err || sk->err < 0 || sk->err > 4095 || sk->sndbuf < 0 || sk->rcvbuf < 0 ||
        sk->sndbuf > SOCK_BUF_MAX * 2 || sk->rcvbuf > SOCK_BUF_MAX * 2 || sk->rcvlowat < 0 ||
        sk->rcvtimeo_ns < 0 || sk->sndtimeo_ns < 0)
        return -EINVAL;
    return 0;
}

static bool name_taken(const struct usock *sk)
{
    const struct fb_list *pos;
    fb_list_for_each(pos, &bound)
    {
        const struct usock *o = fb_list_entry(pos, struct usock, bind_node);
        if (o == sk)
            continue;
        if (sk->bound_ino ? o->bound_ino == sk->bound_ino
                          : !o->bound_ino && o->type == sk->type && o->addrlen == sk->addrlen &&
                                memcmp(&o->addr, &sk->addr, sk->addrlen) == 0)
            return true;
    }
    return false;
}

/* Phase 1 of one socket: everything but references (peer, senders), its pending connections
 * created. st is the socket's array; sk a fresh unconnected socket of the same type. */
static int sock2_load_self(struct usock *sk, const msgpack_object *st, struct fb_socket_loadset *set,
                           int depth)
{
    struct fb_sr s, q;
    const msgpack_object *addr;
    bool in_table;
    uint64_t ino_id, state;
    int64_t backlog;
    uint32_t i;
    bool err = false;

    fb_sr_open(&s, st, &err);
    if (err || s.n < SOCK2_FIELDS || sock2_load_fields(sk, &s) < 0)
        return -EINVAL;
    fb_sr_obj(&s); /* 16: the queue, in phase 2 */
    fb_sr_u64(&s);
    fb_sr_u64(&s);
    state = fb_sr_u64(&s);
    addr = fb_sr_obj(&s);
    in_table = fb_sr_bool(&s);
    ino_id = fb_sr_u64(&s);
    backlog = fb_sr_i64(&s);
    if (err || state > USK_CONNECTED || !addr || addr->type != MSGPACK_OBJECT_BIN ||
        addr->via.bin.size > sizeof(sk->addr) ||
        (addr->via.bin.size && addr->via.bin.size <= SUN_OFF) || backlog < 0 ||
        backlog > SOMAXCONN_ || (state == USK_LISTENING && sk->type == SOCK_DGRAM) ||
        (ino_id && !in_table))
        return -EINVAL;
    sk->state = (enum usk_state)state;
    sk->backlog = (int)backlog;
    if (addr->via.bin.size) {
        memcpy(&sk->addr, addr->via.bin.ptr, addr->via.bin.size);
        sk->addrlen = (socklen_t)addr->via.bin.size;
        if (((struct sockaddr_un *)&sk->addr)->sun_family != AF_UNIX)
            return -EINVAL;
    }
    if (in_table) {
        struct fb_inode *ino = ino_id ? set->inode_at(ino_id, set->arg) : NULL;
        /* A path name has its tmpfs node, an abstract one none; one socket per name. */
        if (!sk->addrlen || (ino_id ? !ino || !S_ISSOCK(ino->st.mode) ||
                                          abstract((struct sockaddr_un *)&sk->addr)
                                    : !abstract((struct sockaddr_un *)&sk->addr)))
            return -EINVAL;
        sk->bound_ino = ino;
        if (name_taken(sk)) {
            sk->bound_ino = NULL;
            return -EINVAL;
        }
        if (ino)
            fb_inode_get(ino);
        fb_list_add_tail(&bound, &sk->bind_node);
    }
    /* 24: the peer, in phase 2; 25: pending connections. */
    fb_sr_obj(&s);
    fb_sr_sub(&s, &q);
    if (err || (q.n && (sk->state != USK_LISTENING || depth > 0)) || q.n > (uint32_t)sk->backlog + 1)
        return -EINVAL;
    for (i = 0; i < q.n; i++) {
        const msgpack_object *est = fb_sr_obj(&q);
        struct usock *e = usk_new(sk->type);
        if (!e)
            return -ENOMEM;
        fb_list_add_tail(&sk->acceptq, &e->aq_node); /* the queue owns its first reference */
        sk->nacceptq++;
        if (!est || est->type != MSGPACK_OBJECT_ARRAY || sock2_load_self(e, est, set, depth + 1) < 0)
            return -EINVAL;
    }
    return err ? -EINVAL : 0;
}

/* Phase 2: the references of sk (and of its pending connections). */
static int sock2_load_links(struct usock *sk, const msgpack_object *st, struct fb_socket_loadset *set)
{
    const msgpack_object *v = st->via.array.ptr, *q;
    bool bad = false;
    uint32_t i;

    sk->peer = sock2_resolve(&v[24], set, &bad);
    if (bad)
        return -EINVAL;
    q = &v[16];
    if (q->type != MSGPACK_OBJECT_ARRAY || q->via.array.size > SOCK2_MAX_QUEUE)
        return -EINVAL;
    for (i = 0; i < q->via.array.size; i++) {
        const msgpack_object *m = &q->via.array.ptr[i], *d;
        struct usock *sender;
        struct ucred cred;
        struct usk_buf *b;
        struct fb_sr e;
        bool err = false;
        if (m->type != MSGPACK_OBJECT_ARRAY || m->via.array.size < 5 || m->via.array.size > 6)
            return -EINVAL;
        fb_sr_open(&e, m, &err);
        d = fb_sr_obj(&e);
        cred.pid = (pid_t)fb_sr_i64(&e);
        cred.uid = (uid_t)fb_sr_u64(&e);
        cred.gid = (gid_t)fb_sr_u64(&e);
        if (err || !d || d->type != MSGPACK_OBJECT_BIN || d->via.bin.size > SOCK_BUF_MAX * 4)
            return -EINVAL;
        sender = sock2_resolve(&m->via.array.ptr[4], set, &bad);
        if (bad || !sender)
            return -EINVAL;
        b = buf_new(sender, d->via.bin.size, &cred);
        usk_put(sender); /* the buffer holds its own */
        if (!b)
            return -ENOMEM;
        if (d->via.bin.size)
            memcpy(b->data, d->via.bin.ptr, d->via.bin.size);
        enqueue(sk, b); /* freed with the socket if what follows is refused */
        if (m->via.array.size == 6) {
            const msgpack_object *fo = &m->via.array.ptr[5];
            if (fo->type != MSGPACK_OBJECT_ARRAY || fo->via.array.size == 0 ||
                fo->via.array.size > SCM_MAX_FD_)
                return -EINVAL;
            b->fds = calloc(fo->via.array.size, sizeof(*b->fds));
            if (!b->fds)
                return -ENOMEM;
            for (uint32_t k = 0; k < fo->via.array.size; k++) {
                struct fb_file *ff = fo->via.array.ptr[k].type == MSGPACK_OBJECT_POSITIVE_INTEGER
                                         ? set->file_at(fo->via.array.ptr[k].via.u64, set->arg)
                                         : NULL;
                if (!ff)
                    return -EINVAL;
                fb_file_get(ff);
                b->fds[b->nfds++] = ff;
            }
        }
    }
    {
        const msgpack_object *aq = &v[25];
        const struct fb_list *pos;
        i = 0;
        fb_list_for_each(pos, &sk->acceptq)
        {
            struct usock *e = fb_list_entry(pos, struct usock, aq_node);
            if (i >= aq->via.array.size ||
                sock2_load_links(e, &aq->via.array.ptr[i], set) < 0)
                return -EINVAL;
            i++;
        }
    }
    return 0;
}

bool fb_socket_state_is_general(const msgpack_object *st)
{
    return st && st->type == MSGPACK_OBJECT_ARRAY && st->via.array.size >= SOCK2_FIELDS;
}

int fb_socket_load_self(struct fb_file *f, const msgpack_object *st, struct fb_socket_loadset *set)
{
    return sock2_load_self(usk_of(f), st, set, 0);
}

int fb_socket_load_links(struct fb_file *f, const msgpack_object *st,
                          struct fb_socket_loadset *set)
{
    if (!fb_socket_state_is_general(st)) /* it reads fields up to SOCK2_FIELDS - 1 */
        return -EINVAL;
    return sock2_load_links(usk_of(f), st, set);
}
