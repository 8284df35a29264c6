/* epoll: interest lists over any pollable file, level- or edge-triggered, one-shot, nested.
 * Part of the VFS event files (event.h); kernel lock held throughout.
 *
 * Design. epoll_wait scans the interest list, asking each file's poll op for its readiness and,
 * when nothing is ready, sleeps registered (like poll(2)) on every wait queue and host fd those
 * poll ops named. The scan is O(items) per wait; it needs no callback from wait queues, which
 * struct fb_waiter does not offer.
 *
 * Edge triggering needs to know that a file's wait queue fired since the last report even when
 * nobody was asleep. An EPOLLET item therefore keeps persistent "watchers" on its file's queues:
 * waiters whose task is a pseudo task (watch_task) that is never run; a wake-up sets the
 * watcher's `woken`, which the next scan reads as "an event happened". Files without kernel
 * queues (host fds, signalfd) fall back to a readiness transition (a bit absent at the previous
 * scan).
 *
 * Last close. Linux removes an item when its file's last reference goes; struct fb_file has no
 * hook for that, so the first EPOLL_CTL_ADD of a file interposes on its ops: f->ops points to a
 * copy (struct ep_link) whose release removes the file's items and then calls the original
 * release; when the file's last item goes, the original ops are put back. fb_file_real_ops()
 * sees through it. A `struct fb_list epoll_links` in struct fb_file with a call from
 * fb_file_put() would replace this.
 *
 * Dangling waiters. A sleeper registered on a file's queue must be unlinked before that queue is
 * freed. Every item removal therefore unregisters the sleepers of its epoll and of every epoll
 * above it (nested), and a watched file's last close detaches all waiters of its inode queue
 * when the inode goes with it. */
#include "kernel/vfs/event.h"
#include "kernel/vfs/vfs_save.h"
#include "snapshot/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "kernel/signal/signal.h"
#include "kernel/util/cleanup.h"

#define EP_MAX_NESTS 4
#define EP_FLAG_BITS (EPOLLET | EPOLLONESHOT | EPOLLWAKEUP | EPOLLEXCLUSIVE)
#define EP_EXCL_OK                                                                                 \
    (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE)
#define EP_TABLE_ROOM 16   /* start a new poll table when fewer waiter slots than this are left */
#define EP_MAX_TABLES 1024 /* 64k queues per sleeper */

struct ep_link;

struct epoll {
    struct fb_list items;    /* ep_item.enode, in report order (reported items move to the end) */
    struct fb_list sleepers; /* ep_chain.node: tasks asleep in epoll_wait on this epoll */
    struct fb_file *file;    /* our own file (the epoll lives exactly as long as it); its
                              * inode's poll_wq wakes sleepers on ctl changes */
};

struct ep_item {
    struct fb_list enode; /* in epoll.items */
    struct fb_list fnode; /* in ep_link.items */
    struct epoll *ep;
    struct ep_link *link;
    struct fb_file *file; /* no reference: the item goes away at the file's last close */
    int fd;
    uint32_t events; /* as requested, plus EPOLLERR | EPOLLHUP */
    uint64_t data;
    bool disabled;           /* EPOLLONESHOT item that reported (until EPOLL_CTL_MOD) */
    bool et_ready;           /* EPOLLET: an event since the last report */
    unsigned last_mask;      /* readiness at the previous scan (edge detection without queues) */
    struct fb_waiter *watch; /* EPOLLET: persistent watchers on the file's queues */
    int nwatch;
};

/* Per watched file: the interposed ops and the items of every epoll that watches it. */
struct ep_link {
    struct fb_file_ops ops; /* copy of *orig with .release interposed */
    const struct fb_file_ops *orig;
    struct fb_file *file;
    struct fb_list items; /* ep_item.fnode */
};

/* A task asleep in epoll_wait: its poll tables (a chain, since one holds 64 queues). */
struct ep_chain {
    struct fb_list node; /* in epoll.sleepers while asleep */
    struct fb_task *task;
    struct fb_poll_table **tabs;
    int ntabs, used, cap; /* allocated tables, tables in use this round, room in tabs */
};

static const struct fb_file_ops epoll_ops;
static void link_release(struct fb_file *f);

/* The pseudo task of the watchers: waking it only marks the watcher (its condition variable has
 * no waiter, and it never polls host fds). */
static struct fb_task watch_task = {.cond = PTHREAD_COND_INITIALIZER};

bool fb_poll_task_is_watcher(const struct fb_task *t)
{
    return t == &watch_task;
}

static struct ep_link *link_of(const struct fb_file *f)
{
    if (f->ops && f->ops->release == link_release)
        return fb_container_of(f->ops, struct ep_link, ops);
    return NULL;
}

const struct fb_file_ops *fb_file_real_ops(const struct fb_file *f)
{
    struct ep_link *l = link_of(f);
    return l ? l->orig : f->ops;
}

bool fb_file_is_epoll(const struct fb_file *f)
{
    return fb_file_real_ops(f) == &epoll_ops;
}

static struct epoll *ep_of(const struct fb_file *f)
{
    return f->priv;
}

/* ---- sleepers -------------------------------------------------------------------------------- */

static void chain_init(struct ep_chain *c, struct fb_task *t)
{
    memset(c, 0, sizeof(*c));
    fb_list_init(&c->node);
    c->task = t;
}

/* A table with room for one more file's registrations (the last one in use when memory runs
 * out: that file's changes are then only seen at the deadline, as with a full poll table). */
static struct fb_poll_table *chain_table(struct ep_chain *c)
{
    struct fb_poll_table *pt = c->used ? c->tabs[c->used - 1] : NULL;

    if (pt && FB_POLL_MAX_WAITQ - pt->nwaiters >= EP_TABLE_ROOM && pt->nhost < FB_POLL_MAX_HOST)
        return pt;
    if (c->used == c->ntabs) {
        struct fb_poll_table *n;
        if (c->ntabs == c->cap) {
            int cap = c->cap ? c->cap * 2 : 2;
            struct fb_poll_table **tabs;
            if (cap > EP_MAX_TABLES)
                return pt;
            tabs = realloc(c->tabs, (size_t)cap * sizeof(*tabs));
            if (!tabs)
                return pt;
            c->tabs = tabs;
            c->cap = cap;
        }
        n = malloc(sizeof(*n));
        if (!n)
            return pt;
        c->tabs[c->ntabs++] = n;
    }
    pt = c->tabs[c->used++];
    fb_poll_init(pt, c->task);
    return pt;
}

/* Take every registration off its queue (idempotent); the tables are reused by the next round. */
static void chain_unregister(struct ep_chain *c)
{
    for (int i = 0; i < c->used; i++)
        fb_poll_done(c->tabs[i]);
    c->used = 0;
}

static void chain_free(struct ep_chain *c)
{
    chain_unregister(c);
    for (int i = 0; i < c->ntabs; i++)
        free(c->tabs[i]);
    free(c->tabs);
    c->tabs = NULL;
    c->ntabs = c->cap = 0;
}

/* Sleep on everything registered. Returns like fb_task_sleep. */
static int chain_sleep(struct ep_chain *c, int64_t deadline)
{
    struct pollfd host[FB_POLL_MAX_HOST];
    int nhost = 0;

    for (int i = 0; i < c->used; i++) {
        struct fb_poll_table *pt = c->tabs[i];
        for (int j = 0; j < pt->nwaiters; j++)
            if (pt->waiters[j].woken)
                return 0;
        for (int j = 0; j < pt->nhost; j++) {
            int k;
            for (k = 0; k < nhost && host[k].fd != pt->host[j].fd; k++)
                ;
            if (k == nhost) {
                if (nhost == FB_POLL_MAX_HOST)
                    continue;
                host[nhost] = pt->host[j];
                nhost++;
            } else {
                host[k].events |= pt->host[j].events;
            }
        }
    }
    if (nhost) {
        fb_hostfd_before_sleep(host, nhost);
        return fb_task_sleep_fds(c->task, host, nhost, deadline);
    }
    return fb_task_sleep(c->task, deadline);
}

/* ---- edge-trigger watchers ---------------------------------------------------------------------
 */

static void unwatch(struct ep_item *it)
{
    for (int i = 0; i < it->nwatch; i++) {
        if (it->watch[i].woken)
            it->et_ready = true;
        fb_waitq_del(&it->watch[i]);
    }
    free(it->watch);
    it->watch = NULL;
    it->nwatch = 0;
}

/* Fold the watchers' wake-ups into et_ready and make them cover the queues the file's poll op
 * names now. Returns the file's readiness. */
static unsigned watch_refresh(struct ep_item *it)
{
    static struct fb_poll_table scratch; /* used without sleeping, under the kernel lock */
    bool same;
    unsigned mask;

    for (int i = 0; i < it->nwatch; i++)
        if (it->watch[i].woken) {
            it->et_ready = true;
            it->watch[i].woken = false;
        }
    fb_poll_init(&scratch, &watch_task);
    mask = it->file->ops->poll(it->file, &scratch);
    same = scratch.nwaiters == it->nwatch;
    for (int i = 0; same && i < it->nwatch; i++)
        same = it->watch[i].q == scratch.waiters[i].q;
    if (!same) {
        unwatch(it);
        if (scratch.nwaiters) {
            it->watch = calloc((size_t)scratch.nwaiters, sizeof(*it->watch));
            if (it->watch) {
                it->nwatch = scratch.nwaiters;
                for (int i = 0; i < it->nwatch; i++)
                    fb_waitq_add(scratch.waiters[i].q, &it->watch[i], &watch_task);
            }
        }
    }
    fb_poll_done(&scratch);
    return mask;
}

/* ---- items and links ------------------------------------------------------------------------- */

static struct ep_item *ep_find(struct epoll *ep, struct fb_file *f, int fd)
{
    struct fb_list *pos;
    fb_list_for_each(pos, &ep->items)
    {
        struct ep_item *it = fb_list_entry(pos, struct ep_item, enode);
        if (it->file == f && it->fd == fd)
            return it;
    }
    return NULL;
}

static struct ep_link *link_get(struct fb_file *f)
{
    struct ep_link *l = link_of(f);

    if (l)
        return l;
    l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->orig = f->ops;
    l->ops = *f->ops;
    l->ops.release = link_release;
    l->file = f;
    fb_list_init(&l->items);
    f->ops = &l->ops;
    return l;
}

static void ep_kick(struct epoll *ep, int depth);

static void item_free(struct ep_item *it)
{
    struct epoll *ep = it->ep;
    struct ep_link *l = it->link;

    fb_list_del(&it->enode);
    fb_list_del(&it->fnode);
    unwatch(it);
    free(it);
    ep_kick(ep, 0);
    if (fb_list_empty(&l->items)) {
        l->file->ops = l->orig;
        free(l);
    }
}

static void link_release(struct fb_file *f)
{
    struct ep_link *l = link_of(f);
    const struct fb_file_ops *orig = l->orig;

    /* Removing the last item puts the original ops back and frees the link. */
    while (!fb_list_empty(&l->items)) {
        struct ep_item *it = fb_list_entry(l->items.next, struct ep_item, fnode);
        bool last = l->items.next->next == &l->items;
        item_free(it);
        if (last)
            break;
    }
    if (f->inode && f->inode->refs == 1)
        fb_waitq_wake_detach(&f->inode->poll_wq);
    if (orig && orig->release)
        orig->release(f);
}

/* An item of ep went away: its file may be freed next, so every sleeper registered on its queues
 * must come off them. Unregister and wake ep's sleepers (they rescan), and one level up, for
 * every epoll watching ep's file, drop the watchers of its items on ep (they may sit on the same
 * queues; the next scan re-creates them, counting an event meanwhile) and do the same there. */
static void ep_kick(struct epoll *ep, int depth)
{
    struct fb_list *pos;
    struct ep_link *l;

    fb_list_for_each(pos, &ep->sleepers)
    {
        struct ep_chain *c = fb_list_entry(pos, struct ep_chain, node);
        chain_unregister(c);
        fb_task_wake(c->task);
    }
    l = depth <= EP_MAX_NESTS ? link_of(ep->file) : NULL;
    if (!l)
        return;
    fb_list_for_each(pos, &l->items)
    {
        struct ep_item *outer = fb_list_entry(pos, struct ep_item, fnode);
        unwatch(outer);
        outer->et_ready = true;
        ep_kick(outer->ep, depth + 1);
    }
}

/* ---- the epoll file -------------------------------------------------------------------------- */

static unsigned ep_poll(struct fb_file *f, struct fb_poll_table *pt);

static void ep_release(struct fb_file *f)
{
    struct epoll *ep = ep_of(f);

    while (!fb_list_empty(&ep->items))
        item_free(fb_list_entry(ep->items.next, struct ep_item, enode));
    fb_waitq_wake_detach(&f->inode->poll_wq);
    free(ep);
}

static const struct fb_file_ops epoll_ops = {
    .llseek = fb_anon_llseek,
    .poll = ep_poll,
    .release = ep_release,
};

/* Readiness of one item for a scan: events to report (0 if none), consuming nothing. Registers
 * on pt when non-NULL. *mask_out receives the file's whole readiness. */
static uint32_t item_events(struct ep_item *it, struct fb_poll_table *pt, unsigned *mask_out)
{
    unsigned mask = it->file->ops->poll(it->file, pt);
    uint32_t rev = mask & it->events & ~(uint32_t)EP_FLAG_BITS;

    *mask_out = mask;
    if (it->events & EPOLLET) {
        bool edge = it->et_ready || (!it->nwatch && (mask & ~it->last_mask & it->events));
        for (int i = 0; !edge && i < it->nwatch; i++)
            edge = it->watch[i].woken;
        if (!edge)
            rev = 0;
    }
    return rev;
}

/* poll on an epoll file (poll/select on it, or an outer epoll): readable when an event is
 * waiting. Registers pt on our queue and on every item's queues. */
static unsigned ep_poll(struct fb_file *f, struct fb_poll_table *pt)
{
    struct epoll *ep = ep_of(f);
    struct fb_list *pos;
    static int depth; /* nesting of ep_poll through nested epolls */
    unsigned ready = 0;

    fb_poll_wait(pt, &f->inode->poll_wq);
    if (depth > EP_MAX_NESTS)
        return 0;
    depth++;
    fb_list_for_each(pos, &ep->items)
    {
        struct ep_item *it = fb_list_entry(pos, struct ep_item, enode);
        unsigned mask;
        if (it->disabled)
            continue;
        if (item_events(it, pt, &mask)) {
            ready = POLLIN | POLLRDNORM;
            if (!pt)
                break;
        }
    }
    depth--;
    return ready;
}

/* Collect up to max events; register the sleeper on c when non-NULL. Reported level-triggered
 * items move to the end of the list, so that a small maxevents serves every ready item in turn
 * (Linux re-queues them at the tail of its ready list the same way). */
static int ep_scan(struct epoll *ep, struct epoll_event *evs, int max, struct ep_chain *c)
{
    struct fb_list reported, *pos, *tmp;
    int n = 0;

    fb_list_init(&reported);
    fb_list_for_each_safe(pos, tmp, &ep->items)
    {
        struct ep_item *it = fb_list_entry(pos, struct ep_item, enode);
        unsigned mask;
        uint32_t rev;

        if (n == max)
            break;
        if (it->disabled)
            continue;
        if (it->events & EPOLLET)
            watch_refresh(it);
        rev = item_events(it, c ? chain_table(c) : NULL, &mask);
        if (it->events & EPOLLET)
            it->et_ready =
                false; /* consumed, reported or not (Linux drops it from the ready list) */
        it->last_mask = mask;
        if (!rev)
            continue;
        evs[n].events = rev;
        evs[n].data.u64 = it->data;
        n++;
        if (it->events & EPOLLONESHOT)
            it->disabled = true;
        fb_list_del(&it->enode);
        fb_list_add_tail(&reported, &it->enode);
    }
    while (!fb_list_empty(&reported)) {
        pos = reported.next;
        fb_list_del(pos);
        fb_list_add_tail(&ep->items, pos);
    }
    return n;
}

int fb_epoll_wait(struct fb_task *t, struct fb_file *f, struct epoll_event *evs, int max,
                  int64_t deadline)
{
    struct epoll *ep = ep_of(f);
    struct ep_chain c;
    int n, r;

    chain_init(&c, t);
    for (;;) {
        bool wait = deadline != -1;
        if (wait)
            fb_poll_wait(chain_table(&c), &f->inode->poll_wq);
        n = ep_scan(ep, evs, max, wait ? &c : NULL);
        if (n || !wait)
            break;
        fb_list_add_tail(&ep->sleepers, &c.node);
        r = chain_sleep(&c, deadline > 0 ? deadline : 0);
        fb_list_del(&c.node);
        chain_unregister(&c);
        if (r == -ETIMEDOUT) {
            n = 0;
            break;
        }
        if (r == -EINTR) {
            n = -FB_ERESTARTNOHAND;
            break;
        }
    }
    chain_free(&c);
    return n;
}

/* Files Linux cannot poll (no ->poll): regular files, directories, /dev/null, zero, full. */
static bool pollable(const struct fb_file *f)
{
    const struct fb_file_ops *ops = fb_file_real_ops(f);
    uint32_t mode = f->inode ? f->inode->st.mode : 0;

    if (!ops || !ops->poll || S_ISREG(mode) || S_ISDIR(mode))
        return false;
    if (S_ISCHR(mode) && major(f->inode->st.rdev) == 1) {
        unsigned mi = minor(f->inode->st.rdev);
        if (mi == 3 || mi == 5 || mi == 7)
            return false;
    }
    return true;
}

/* Deepest chain of epolls below ep (0: none), or EP_MAX_NESTS + 1 when `into` is reachable. */
static int depth_down(struct epoll *ep, struct epoll *into, int depth)
{
    struct fb_list *pos;
    int result = 0;

    fb_list_for_each(pos, &ep->items)
    {
        struct ep_item *it = fb_list_entry(pos, struct ep_item, enode);
        struct epoll *sub;
        if (!fb_file_is_epoll(it->file))
            continue;
        sub = ep_of(it->file);
        if (sub == into || depth > EP_MAX_NESTS)
            return EP_MAX_NESTS + 1;
        result = FB_MAX(result, depth_down(sub, into, depth + 1) + 1);
        if (result > EP_MAX_NESTS)
            break;
    }
    return result;
}

/* Longest chain of epolls above ep (0: no epoll watches it). */
static int depth_up(struct epoll *ep, int depth)
{
    struct ep_link *l = link_of(ep->file);
    struct fb_list *pos;
    int result = 0;

    if (!l || depth > EP_MAX_NESTS)
        return depth > EP_MAX_NESTS ? EP_MAX_NESTS + 1 : 0;
    fb_list_for_each(pos, &l->items)
    {
        struct ep_item *it = fb_list_entry(pos, struct ep_item, fnode);
        result = FB_MAX(result, depth_up(it->ep, depth + 1) + 1);
    }
    return result;
}

static int ep_insert(struct epoll *ep, int fd, struct fb_file *target, const struct epoll_event *ev)
{
    struct ep_item *it;
    struct ep_link *l;

    if (fb_file_is_epoll(target)) {
        int down = depth_down(ep_of(target), ep, 0);
        if (down > EP_MAX_NESTS || down + 1 + depth_up(ep, 0) > EP_MAX_NESTS)
            return -ELOOP;
    }
    it = calloc(1, sizeof(*it));
    if (!it)
        return -ENOMEM;
    l = link_get(target);
    if (!l) {
        free(it);
        return -ENOMEM;
    }
    it->ep = ep;
    it->link = l;
    it->file = target;
    it->fd = fd;
    it->events = ev->events | EPOLLERR | EPOLLHUP;
    it->data = ev->data.u64;
    it->et_ready = true;
    fb_list_add_tail(&ep->items, &it->enode);
    fb_list_add_tail(&l->items, &it->fnode);
    if (it->events & EPOLLET)
        watch_refresh(it);
    return 0;
}

int fb_epoll_ctl(struct fb_file *f, int op, int fd, struct fb_file *target,
                 const struct epoll_event *ev)
{
    struct epoll *ep;
    struct ep_item *it;
    int r;

    if (!pollable(target))
        return -EPERM;
    if (f == target || !fb_file_is_epoll(f))
        return -EINVAL;
    if (op != EPOLL_CTL_DEL && (ev->events & EPOLLEXCLUSIVE)) {
        if (op == EPOLL_CTL_MOD)
            return -EINVAL;
        if (op == EPOLL_CTL_ADD &&
            (fb_file_is_epoll(target) || (ev->events & ~(uint32_t)EP_EXCL_OK)))
            return -EINVAL;
    }
    ep = ep_of(f);
    it = ep_find(ep, target, fd);
    switch (op) {
    case EPOLL_CTL_ADD:
        if (it)
            return -EEXIST;
        r = ep_insert(ep, fd, target, ev);
        break;
    case EPOLL_CTL_DEL:
        if (!it)
            return -ENOENT;
        item_free(it);
        r = 0;
        break;
    case EPOLL_CTL_MOD:
        if (!it)
            return -ENOENT;
        if (it->events & EPOLLEXCLUSIVE)
            return -EINVAL;
        it->events = ev->events | EPOLLERR | EPOLLHUP;
        it->data = ev->data.u64;
        it->disabled = false;
        it->et_ready = true;
        if (it->events & EPOLLET)
            watch_refresh(it);
        else
            unwatch(it);
        r = 0;
        break;
    default:
        return -EINVAL;
    }
    if (r == 0)
        fb_waitq_wake_all(&f->inode->poll_wq); /* sleepers rescan */
    return r;
}

int fb_epoll_new(struct fb_file **out)
{
    struct epoll *ep = calloc(1, sizeof(*ep));
    int r;

    if (!ep)
        return -ENOMEM;
    fb_list_init(&ep->items);
    fb_list_init(&ep->sleepers);
    r = fb_anon_file_new("eventpoll", &epoll_ops, O_RDWR, ep, out);
    if (r < 0) {
        free(ep);
        return r;
    }
    ep->file = *out;
    return 0;
}

/* ---- checkpoint support ------------------------------------------------------------------------ */

int fb_epoll_foreach_target(struct fb_file *f, int (*fn)(struct fb_file *target, int fd, void *arg),
                            void *arg)
{
    struct fb_list *pos;
    int r;

    fb_list_for_each(pos, &ep_of(f)->items)
    {
        struct ep_item *it = fb_list_entry(pos, struct ep_item, enode);
        r = fn(it->file, it->fd, arg);
        if (r < 0)
            return r;
    }
    return 0;
}

void fb_epoll_save(struct fb_file *f, struct fb_sw *w,
                   uint64_t (*id_of)(struct fb_file *target, void *arg), void *arg)
{
    struct fb_list *pos;
    uint32_t n = 0;

    fb_list_for_each(pos, &ep_of(f)->items) n++;
    fb_sw_array(w, n);
    fb_list_for_each(pos, &ep_of(f)->items)
    {
        struct ep_item *it = fb_list_entry(pos, struct ep_item, enode);
        fb_sw_array(w, 7);
        fb_sw_i64(w, it->fd);
        fb_sw_u64(w, id_of(it->file, arg));
        fb_sw_u64(w, it->events);
        fb_sw_u64(w, it->data);
        bool et = it->et_ready;
        int k;
        for (k = 0; k < it->nwatch; k++) /* an event the next scan would have seen */
            et = et || it->watch[k].woken;
        fb_sw_bool(w, it->disabled);
        fb_sw_bool(w, et);
        fb_sw_u64(w, it->last_mask);
    }
}

int fb_epoll_load_items(struct fb_file *f, struct fb_sr *r,
                        struct fb_file *(*file_at)(uint64_t id, void *arg), void *arg)
{
    struct fb_sr arr;
    uint32_t i;

    fb_sr_sub(r, &arr);
    if (*r->err)
        return -EINVAL;
    for (i = 0; i < arr.n; i++) {
        struct fb_sr e;
        struct epoll_event ev;
        struct fb_file *target;
        struct ep_item *it;
        int64_t fd;
        bool disabled, et_ready;
        uint64_t last;
        int rc;

        fb_sr_sub(&arr, &e);
        fd = fb_sr_i64(&e);
        target = file_at(fb_sr_u64(&e), arg);
        ev.events = (uint32_t)fb_sr_u64(&e);
        ev.data.u64 = fb_sr_u64(&e);
        disabled = fb_sr_bool(&e);
        et_ready = fb_sr_bool(&e);
        last = fb_sr_u64(&e);
        if (*r->err || !target || fd < 0 || fd > INT32_MAX)
            return -EINVAL;
        rc = fb_epoll_ctl(f, EPOLL_CTL_ADD, (int)fd, target, &ev);
        if (rc < 0)
            return rc;
        it = ep_find(ep_of(f), target, (int)fd);
        if (!it)
            return -EINVAL;
        it->disabled = disabled;
        it->et_ready = et_ready;
        it->last_mask = (unsigned)last;
    }
    return 0;
}
