/* Advisory file locks (see locks.h): a lock table per inode, created on the first lock, with
 * POSIX, OFD and flock semantics as Linux implements them (fs/locks.c), blocking requests that
 * sleep on the inode's wait queue and restart transparently when interrupted, and POSIX deadlock
 * detection. */
#include "kernel/vfs/locks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/signal/signal.h"
#include "kernel/util/cleanup.h"
#include "kernel/vfs/vfs.h"

/* ---- the table ------------------------------------------------------------------------------ */

struct fb_lock_ctx *fb_lock_ctx_new(void)
{
    struct fb_lock_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    fb_list_init(&c->posix);
    fb_list_init(&c->flock);
    fb_waitq_init(&c->wq);
    return c;
}

static void free_list(struct fb_list *l)
{
    struct fb_list *pos, *tmp;
    fb_list_for_each_safe(pos, tmp, l)
    {
        fb_list_del(pos);
        free(fb_list_entry(pos, struct fb_file_lock, node));
    }
}

static void posix_del(struct fb_lock_ctx *c, struct fb_file_lock *l)
{
    fb_list_del(&l->node);
    free(l);
    c->nposix--;
}

static void posix_add(struct fb_lock_ctx *c, struct fb_file_lock *l)
{
    fb_list_add_tail(&c->posix, &l->node);
    c->nposix++;
}

void fb_lock_ctx_free(struct fb_lock_ctx *c)
{
    if (!c)
        return;
    free_list(&c->posix);
    free_list(&c->flock);
    free(c);
}

static bool overlap(const struct fb_file_lock *a, const struct fb_file_lock *b)
{
    return a->start <= b->end && b->start <= a->end;
}

static bool types_conflict(short a, short b)
{
    return a == F_WRLCK || b == F_WRLCK;
}

const struct fb_file_lock *fb_lock_posix_conflict(const struct fb_lock_ctx *c,
                                                  const struct fb_file_lock *req)
{
    struct fb_list *pos;
    fb_list_for_each(pos, &c->posix)
    {
        const struct fb_file_lock *l = fb_list_entry(pos, struct fb_file_lock, node);
        if (l->owner != req->owner && overlap(l, req) && types_conflict(l->type, req->type))
            return l;
    }
    return NULL;
}

/* Do [a] and [b] overlap or touch? (Written without end + 1, which overflows at FB_LOCK_EOF.) */
static bool touch(const struct fb_file_lock *l, int64_t s, int64_t e)
{
    return (l->end >= s || l->end == s - 1) && (l->start <= e || l->start - 1 == e);
}

/* How many entries req may add at most: a lock adds itself and the far part of a lock it splits;
 * an unlock adds one only if it splits a lock in two. */
static int growth(const struct fb_lock_ctx *c, const struct fb_file_lock *req)
{
    struct fb_list *pos;
    if (req->type != F_UNLCK)
        return 2;
    fb_list_for_each(pos, &c->posix)
    {
        const struct fb_file_lock *l = fb_list_entry(pos, struct fb_file_lock, node);
        if (l->owner == req->owner && l->start < req->start && l->end > req->end)
            return 1;
    }
    return 0;
}

int fb_lock_posix_apply(struct fb_lock_ctx *c, const struct fb_file_lock *req)
{
    struct fb_file_lock *add = malloc(sizeof(*add)), *split = malloc(sizeof(*split));
    struct fb_list *pos, *tmp;
    int64_t s = req->start, e = req->end;
    bool merged;

    if (!add || !split || c->nposix + growth(c, req) > FB_LOCK_MAX_PER_INODE) {
        free(add);
        free(split);
        return -ENOLCK;
    }
    /* Same-type locks of the owner that touch the range merge into it (repeat: the range
     * grows). */
    do {
        merged = false;
        if (req->type == F_UNLCK)
            break;
        fb_list_for_each_safe(pos, tmp, &c->posix)
        {
            struct fb_file_lock *l = fb_list_entry(pos, struct fb_file_lock, node);
            if (l->owner != req->owner || l->type != req->type || !touch(l, s, e))
                continue;
            s = FB_MIN(s, l->start);
            e = FB_MAX(e, l->end);
            posix_del(c, l);
            merged = true;
        }
    } while (merged);
    /* The owner's other locks lose the range (one may split in two). */
    fb_list_for_each_safe(pos, tmp, &c->posix)
    {
        struct fb_file_lock *l = fb_list_entry(pos, struct fb_file_lock, node);
        if (l->owner != req->owner || l->end < s || l->start > e)
            continue;
        if (l->start < s && l->end > e) {
            *split = *l;
            split->start = e + 1;
            posix_add(c, split);
            split = NULL;
            l->end = s - 1;
        } else if (l->start < s) {
            l->end = s - 1;
        } else if (l->end > e) {
            l->start = e + 1;
        } else {
            posix_del(c, l);
        }
    }
    if (req->type != F_UNLCK) {
        *add = *req;
        add->start = s;
        add->end = e;
        posix_add(c, add);
        add = NULL;
    }
    free(add);
    free(split);
    return 0;
}

bool fb_lock_posix_remove_owner(struct fb_lock_ctx *c, const void *owner)
{
    struct fb_list *pos, *tmp;
    bool any = false;
    fb_list_for_each_safe(pos, tmp, &c->posix)
    {
        struct fb_file_lock *l = fb_list_entry(pos, struct fb_file_lock, node);
        if (l->owner == owner) {
            posix_del(c, l);
            any = true;
        }
    }
    return any;
}

const struct fb_file_lock *fb_lock_flock_conflict(const struct fb_lock_ctx *c, const void *owner,
                                                  short type)
{
    struct fb_list *pos;
    fb_list_for_each(pos, &c->flock)
    {
        const struct fb_file_lock *l = fb_list_entry(pos, struct fb_file_lock, node);
        if (l->owner != owner && types_conflict(l->type, type))
            return l;
    }
    return NULL;
}

struct fb_file_lock *fb_lock_flock_find(struct fb_lock_ctx *c, const void *owner)
{
    struct fb_list *pos;
    fb_list_for_each(pos, &c->flock)
    {
        struct fb_file_lock *l = fb_list_entry(pos, struct fb_file_lock, node);
        if (l->owner == owner)
            return l;
    }
    return NULL;
}

int fb_lock_flock_apply(struct fb_lock_ctx *c, const void *owner, short type)
{
    struct fb_file_lock *l = fb_lock_flock_find(c, owner);

    if (type == F_UNLCK) {
        if (l) {
            fb_list_del(&l->node);
            free(l);
        }
        return 0;
    }
    if (!l) {
        l = calloc(1, sizeof(*l));
        if (!l)
            return -ENOLCK;
        l->owner = owner;
        l->pid = -1;
        l->start = 0;
        l->end = FB_LOCK_EOF;
        fb_list_add_tail(&c->flock, &l->node);
    }
    l->type = type;
    return 0;
}

/* ---- waiting and deadlocks ------------------------------------------------------------------ */

/* A task blocked on a POSIX (not OFD) lock: what Linux's blocked_hash records, for deadlock
 * detection. */
struct blocked_req {
    struct fb_list node;
    const struct fb_file_lock *req;
    struct fb_lock_ctx *ctx;
};
static struct fb_list blocked = FB_LIST_INIT(blocked);

/* Would req, blocked by lock `by`, wait forever? Follow "the owner of the lock in the way is
 * itself blocked by a lock of ..." (at most 10 steps, like Linux) back to req's owner. */
static bool posix_deadlock(const struct fb_file_lock *req, const struct fb_file_lock *by)
{
    for (int i = 0; i < 10 && by; i++) {
        const struct fb_file_lock *next = NULL;
        struct fb_list *pos;
        fb_list_for_each(pos, &blocked)
        {
            struct blocked_req *b = fb_list_entry(pos, struct blocked_req, node);
            if (b->req->owner == by->owner) {
                next = fb_lock_posix_conflict(b->ctx, b->req);
                break;
            }
        }
        if (!next)
            return false;
        if (next->owner == req->owner)
            return true;
        by = next;
    }
    return false;
}

/* Sleep until the locks of c change. Returns 0, or -FB_ERESTARTSYS when interrupted (the
 * request is then re-executed from the start, or fails with EINTR under a handler). */
static int wait_change(struct fb_task *t, struct fb_lock_ctx *c, const struct fb_file_lock *req)
{
    struct blocked_req b = {.req = req, .ctx = c};
    struct fb_waiter w;
    int r;

    if (req && !req->ofd)
        fb_list_add_tail(&blocked, &b.node);
    fb_waitq_add(&c->wq, &w, t);
    r = fb_task_sleep(t, 0);
    fb_waitq_del(&w);
    if (req && !req->ofd)
        fb_list_del(&b.node);
    return r == -EINTR ? -FB_ERESTARTSYS : 0;
}

static struct fb_lock_ctx *ctx_of(struct fb_inode *ino, bool create)
{
    if (!ino->locks && create)
        ino->locks = fb_lock_ctx_new();
    return ino->locks;
}

/* ---- fcntl ---------------------------------------------------------------------------------- */

/* The byte range of a struct flock (Linux flock_to_posix_lock). */
static int flock_range(struct fb_file *f, const struct flock *l, struct fb_file_lock *out)
{
    int64_t start, end;

    switch (l->l_whence) {
    case SEEK_SET:
        start = 0;
        break;
    case SEEK_CUR:
        start = f->pos;
        break;
    case SEEK_END:
        start = (int64_t)f->inode->st.size;
        break;
    default:
        return -EINVAL;
    }
    if (l->l_start > INT64_MAX - start)
        return -EOVERFLOW;
    start += l->l_start;
    if (start < 0)
        return -EINVAL;
    if (l->l_len > 0) {
        if (l->l_len - 1 > INT64_MAX - start)
            return -EOVERFLOW;
        end = start + l->l_len - 1;
    } else if (l->l_len < 0) {
        if (start + l->l_len < 0)
            return -EINVAL;
        end = start - 1;
        start += l->l_len;
    } else {
        end = FB_LOCK_EOF;
    }
    out->start = start;
    out->end = end;
    return 0;
}

static int make_request(struct fb_task *t, struct fb_file *f, bool ofd, const struct flock *fl,
                        struct fb_file_lock *req)
{
    int r;
    memset(req, 0, sizeof(*req));
    r = flock_range(f, fl, req);
    if (r < 0)
        return r;
    req->type = fl->l_type;
    req->ofd = ofd;
    req->owner = ofd ? (const void *)f : (const void *)t->files;
    req->pid = ofd ? -1 : t->tg->tgid;
    return 0;
}

int fb_lock_fcntl_get(struct fb_task *t, struct fb_file *f, bool ofd, struct flock *fl)
{
    const struct fb_file_lock *l = NULL;
    struct fb_file_lock req;
    int r;

    if (fl->l_type != F_RDLCK && fl->l_type != F_WRLCK)
        return -EINVAL;
    r = make_request(t, f, ofd, fl, &req);
    if (r < 0)
        return r;
    if (ofd && fl->l_pid != 0)
        return -EINVAL;
    if (f->inode->locks)
        l = fb_lock_posix_conflict(f->inode->locks, &req);
    if (!l) {
        fl->l_type = F_UNLCK;
        return 0;
    }
    fl->l_type = l->type;
    fl->l_whence = SEEK_SET;
    fl->l_start = l->start;
    fl->l_len = l->end == FB_LOCK_EOF ? 0 : l->end - l->start + 1;
    fl->l_pid = l->pid;
    return 0;
}

int fb_lock_fcntl_set(struct fb_task *t, struct fb_file *f, bool ofd, bool wait,
                      const struct flock *fl)
{
    unsigned acc = f->flags & O_ACCMODE;
    struct fb_file_lock req;
    struct fb_lock_ctx *c;
    int r;

    r = make_request(t, f, ofd, fl, &req);
    if (r < 0)
        return r;
    if (req.type != F_RDLCK && req.type != F_WRLCK && req.type != F_UNLCK)
        return -EINVAL;
    if ((req.type == F_RDLCK && acc == O_WRONLY) || (req.type == F_WRLCK && acc == O_RDONLY))
        return -EBADF;
    if (ofd && fl->l_pid != 0)
        return -EINVAL;
    c = ctx_of(f->inode, req.type != F_UNLCK);
    if (!c)
        return req.type == F_UNLCK ? 0 : -ENOLCK;
    for (;;) {
        const struct fb_file_lock *by =
            req.type == F_UNLCK ? NULL : fb_lock_posix_conflict(c, &req);
        if (!by) {
            r = fb_lock_posix_apply(c, &req);
            if (r == 0)
                fb_waitq_wake_all(&c->wq); /* an unlock or a downgrade may free others */
            return r;
        }
        if (!wait)
            return -EAGAIN;
        if (!ofd && posix_deadlock(&req, by))
            return -EDEADLK;
        r = wait_change(t, c, &req);
        if (r < 0)
            return r;
    }
}

int fb_lock_flock(struct fb_task *t, struct fb_file *f, short type, bool wait)
{
    struct fb_lock_ctx *c = ctx_of(f->inode, type != F_UNLCK);
    struct fb_file_lock *cur;
    int r;

    if (!c)
        return type == F_UNLCK ? 0 : -ENOLCK;
    cur = fb_lock_flock_find(c, f);
    if (cur && cur->type == type)
        return 0;
    if (cur) {
        /* A conversion drops the old lock first, so it is not atomic (Linux does the same). */
        fb_lock_flock_apply(c, f, F_UNLCK);
        fb_waitq_wake_all(&c->wq);
    }
    if (type == F_UNLCK)
        return 0;
    for (;;) {
        if (!fb_lock_flock_conflict(c, f, type))
            return fb_lock_flock_apply(c, f, type);
        if (!wait)
            return -EWOULDBLOCK;
        r = wait_change(t, c, NULL);
        if (r < 0)
            return r;
    }
}

/* ---- release -------------------------------------------------------------------------------- */

void fb_locks_fd_close(struct fb_file *f, const void *files)
{
    struct fb_lock_ctx *c = f->inode ? f->inode->locks : NULL;
    if (c && fb_lock_posix_remove_owner(c, files))
        fb_waitq_wake_all(&c->wq);
}

void fb_locks_file_release(struct fb_file *f)
{
    struct fb_lock_ctx *c = f->inode ? f->inode->locks : NULL;
    bool any;

    if (!c)
        return;
    any = fb_lock_posix_remove_owner(c, f);
    if (fb_lock_flock_find(c, f)) {
        fb_lock_flock_apply(c, f, F_UNLCK);
        any = true;
    }
    if (any)
        fb_waitq_wake_all(&c->wq);
}
