/* Futexes (see futex.h). One global table of waiters (the kernel lock protects it). Keys follow
 * Linux: a private futex is (mm, address); a shared one is the memory-file offset when the page
 * belongs to a MAP_SHARED mapping (processes meet there) and (mm, address) marked shared on a
 * private mapping. Private and shared operations never match each other's waiters. */
#include "kernel/futex/futex.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/signal/signal.h"
#include "kernel/util/cleanup.h"
#include "kernel/util/log.h"

#define FUTEX_BUCKETS 256

struct futex_key {
    const void *mm; /* NULL for keys on shared memory */
    uint64_t addr;  /* address, or memory-file offset when mm is NULL */
    bool shared;    /* made by a shared (non-FUTEX_PRIVATE_FLAG) operation */
};

struct futex_waiter {
    struct fb_list node; /* in its key's bucket while not woken */
    struct futex_key key;
    uint32_t bitset;
    struct fb_task *task;
    bool woken;
    bool heap; /* allocated, so it can stay queued across a restart (fb_task.futex_parked) */
};

static struct fb_list buckets[FUTEX_BUCKETS];
static bool buckets_ready;

static struct fb_list *bucket(const struct futex_key *k)
{
    uint64_t h = k->addr ^ (uint64_t)(uintptr_t)k->mm;
    if (!buckets_ready) {
        for (int i = 0; i < FUTEX_BUCKETS; i++)
            fb_list_init(&buckets[i]);
        buckets_ready = true;
    }
    h ^= h >> 17;
    h *= 0xed5ad4bbu;
    h ^= h >> 11;
    return &buckets[h % FUTEX_BUCKETS];
}

static bool key_eq(const struct futex_key *a, const struct futex_key *b)
{
    return a->mm == b->mm && a->addr == b->addr && a->shared == b->shared;
}

static int get_key(struct fb_mm *mm, uint64_t uaddr, bool shared, struct futex_key *k)
{
    struct fb_vma *vma;

    if (uaddr & 3)
        return -EINVAL;
    k->shared = shared;
    k->mm = mm;
    k->addr = uaddr;
    if (!shared)
        return 0;
    vma = fb_vma_find(&mm->vmas, uaddr);
    if (!vma)
        return -EFAULT;
    if (!(vma->flags & FB_VMA_SHARED))
        return 0; /* private memory: only this address space can meet here */
    k->mm = NULL;
    return fb_mm_file_offset(mm, uaddr, &k->addr);
}

static int wake_key(const struct futex_key *k, int n, uint32_t bitset)
{
    struct fb_list *b = bucket(k), *pos, *tmp;
    int woken = 0;

    fb_list_for_each_safe(pos, tmp, b)
    {
        struct futex_waiter *w = fb_list_entry(pos, struct futex_waiter, node);
        if (woken >= n)
            break;
        if (!key_eq(&w->key, k) || !(w->bitset & bitset))
            continue;
        fb_list_del(&w->node);
        w->woken = true;
        fb_task_wake(w->task);
        woken++;
    }
    return woken;
}

int fb_futex_wake(struct fb_mm *mm, uint64_t uaddr, int n, uint32_t bitset, bool shared)
{
    struct futex_key k;
    int r = get_key(mm, uaddr, shared, &k);
    if (r < 0)
        return r;
    return wake_key(&k, n, bitset);
}

int fb_futex_unpark(struct fb_task *t)
{
    struct futex_waiter *w = t->futex_parked;
    bool woken;

    if (!w)
        return 0;
    t->futex_parked = NULL;
    woken = w->woken;
    if (!woken)
        fb_list_del(&w->node);
    free(w);
    return woken ? 1 : 0;
}

/* Wait on key while *uaddr == val. deadline_ns: application monotonic or 0. An interrupted wait
 * returns -EINTR and stays queued as t->futex_parked: if the run loop restarts the call without
 * running a handler, the re-executed call resumes this wait (a wake or a requeue that happened
 * meanwhile counts); otherwise the run loop unparks it. */
static int64_t futex_wait(struct fb_task *t, uint64_t uaddr, bool shared, uint32_t val,
                          int64_t deadline_ns, uint32_t bitset)
{
    struct futex_waiter local, *w = t->futex_parked;
    uint32_t *word;
    int r;

    if (w && t->restarting) {
        t->futex_parked = NULL; /* resume the interrupted wait */
    } else {
        struct futex_key key;
        fb_futex_unpark(t);
        if (!bitset)
            return -EINVAL;
        r = get_key(t->mm, uaddr, shared, &key);
        if (r < 0)
            return r;
        r = fb_mm_word_ptr(t->mm, uaddr, false, &word);
        if (r < 0)
            return r;
        if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != val)
            return -EAGAIN;
        w = malloc(sizeof(*w));
        if (w) {
            w->heap = true;
        } else {
            w = &local; /* cannot park: an interrupt then re-waits from scratch */
            w->heap = false;
        }
        w->key = key;
        w->bitset = bitset;
        w->task = t;
        w->woken = false;
        fb_list_add_tail(bucket(&w->key), &w->node);
    }
    while (!w->woken) {
        r = fb_task_sleep(t, deadline_ns);
        if (w->woken)
            break;
        if (r == -EINTR && w->heap && !t->exiting) {
            t->futex_parked = w;
            return r;
        }
        if (r < 0) {
            fb_list_del(&w->node);
            if (w->heap)
                free(w);
            return r; /* -EINTR or -ETIMEDOUT */
        }
    }
    if (w->heap)
        free(w);
    return 0;
}

static int64_t ts_to_ns(struct fb_task *t, uint64_t uts, int64_t *ns)
{
    struct timespec ts;
    if (fb_mm_copy_in(t->mm, uts, &ts, sizeof(ts)) != 0)
        return -EFAULT;
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
        return -EINVAL;
    if (ts.tv_sec > INT64_MAX / 1000000000 - 1)
        *ns = INT64_MAX / 2;
    else
        *ns = ts.tv_sec * 1000000000 + ts.tv_nsec;
    return 0;
}

/* Decode and apply FUTEX_WAKE_OP's operation on *word; returns the old value. */
static int wake_op_apply(uint32_t *word, uint32_t encoded, uint32_t *oldval)
{
    int op = (encoded >> 28) & 7, cmp = (encoded >> 24) & 15;
    uint32_t oparg = (encoded >> 12) & 0xfff, cmparg = encoded & 0xfff;
    uint32_t old, nw;
    (void)cmp;
    if (encoded & (FUTEX_OP_OPARG_SHIFT << 28)) {
        if (oparg >= 32)
            return -EINVAL;
        oparg = 1u << oparg;
    }
    old = __atomic_load_n(word, __ATOMIC_SEQ_CST);
    do {
        switch (op) {
        case FUTEX_OP_SET:
            nw = oparg;
            break;
        case FUTEX_OP_ADD:
            nw = old + oparg;
            break;
        case FUTEX_OP_OR:
            nw = old | oparg;
            break;
        case FUTEX_OP_ANDN:
            nw = old & ~oparg;
            break;
        case FUTEX_OP_XOR:
            nw = old ^ oparg;
            break;
        default:
            return -ENOSYS;
        }
    } while (!__atomic_compare_exchange_n(word, &old, nw, false, __ATOMIC_SEQ_CST,
                                          __ATOMIC_SEQ_CST));
    *oldval = old;
    (void)cmparg;
    return 0;
}

static bool wake_op_cmp(uint32_t encoded, uint32_t oldval)
{
    int cmp = (encoded >> 24) & 15;
    int32_t cmparg = (int32_t)(encoded & 0xfff), o = (int32_t)oldval;
    switch (cmp) {
    case FUTEX_OP_CMP_EQ:
        return o == cmparg;
    case FUTEX_OP_CMP_NE:
        return o != cmparg;
    case FUTEX_OP_CMP_LT:
        return o < cmparg;
    case FUTEX_OP_CMP_LE:
        return o <= cmparg;
    case FUTEX_OP_CMP_GT:
        return o > cmparg;
    case FUTEX_OP_CMP_GE:
        return o >= cmparg;
    default:
        return false;
    }
}

static int64_t futex_requeue(struct fb_task *t, uint64_t uaddr, bool shared, int nwake,
                             int nrequeue, uint64_t uaddr2, bool cmp, uint32_t val3)
{
    struct futex_key k1, k2;
    struct fb_list *b, *pos, *tmp;
    int r, woken = 0, moved = 0;

    if (nwake < 0 || nrequeue < 0)
        return -EINVAL;
    r = get_key(t->mm, uaddr, shared, &k1);
    if (r < 0)
        return r;
    r = get_key(t->mm, uaddr2, shared, &k2);
    if (r < 0)
        return r;
    if (cmp) {
        uint32_t *word;
        r = fb_mm_word_ptr(t->mm, uaddr, false, &word);
        if (r < 0)
            return r;
        if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != val3)
            return -EAGAIN;
    }
    b = bucket(&k1);
    fb_list_for_each_safe(pos, tmp, b)
    {
        struct futex_waiter *w = fb_list_entry(pos, struct futex_waiter, node);
        if (!key_eq(&w->key, &k1))
            continue;
        if (woken < nwake) {
            fb_list_del(&w->node);
            w->woken = true;
            fb_task_wake(w->task);
            woken++;
        } else if (moved < nrequeue) {
            fb_list_del(&w->node);
            w->key = k2;
            fb_list_add_tail(bucket(&k2), &w->node);
            moved++;
        } else {
            break;
        }
    }
    return woken + moved;
}

int64_t fb_futex(struct fb_task *t, uint64_t uaddr, int op, uint32_t val, uint64_t timeout,
                 uint64_t uaddr2, uint32_t val3)
{
    int cmd = op & FUTEX_CMD_MASK;
    bool shared = !(op & FUTEX_PRIVATE_FLAG);
    bool realtime = op & FUTEX_CLOCK_REALTIME;
    int64_t deadline = 0, ns, r;

    switch (cmd) {
    case FUTEX_WAIT:
        val3 = FUTEX_BITSET_MATCH_ANY;
        /* fallthrough */
    case FUTEX_WAIT_BITSET:
        if (timeout) {
            r = ts_to_ns(t, timeout, &ns);
            if (r < 0)
                return r;
            if (cmd == FUTEX_WAIT) {
                deadline = fb_task_deadline(t, ns); /* relative, on CLOCK_MONOTONIC */
            } else if (realtime) {
                deadline = fb_app_mono_ns() + (ns - fb_app_real_ns());
            } else {
                deadline = ns;
            }
            if (deadline <= 0)
                deadline = 1;
        }
        r = futex_wait(t, uaddr, shared, val, deadline, val3);
        if (r == -EINTR) /* relative timeouts resume with the original deadline */
            return (cmd == FUTEX_WAIT && timeout) ? -FB_ERESTARTNOHAND : -FB_ERESTARTSYS;
        return r;
    case FUTEX_WAKE:
        val3 = FUTEX_BITSET_MATCH_ANY;
        /* fallthrough */
    case FUTEX_WAKE_BITSET:
        if (!val3)
            return -EINVAL;
        return fb_futex_wake(t->mm, uaddr, (int)FB_MIN(val, (uint32_t)INT32_MAX), val3, shared);
    case FUTEX_REQUEUE:
        return futex_requeue(t, uaddr, shared, (int)val, (int)(uint32_t)timeout, uaddr2, false, 0);
    case FUTEX_CMP_REQUEUE:
        return futex_requeue(t, uaddr, shared, (int)val, (int)(uint32_t)timeout, uaddr2, true,
                             val3);
    case FUTEX_WAKE_OP: {
        uint32_t *word2, old;
        int n1, n2 = 0;
        r = fb_mm_word_ptr(t->mm, uaddr2, true, &word2);
        if (r < 0)
            return r;
        r = wake_op_apply(word2, val3, &old);
        if (r < 0)
            return r;
        n1 = fb_futex_wake(t->mm, uaddr, (int)val, FUTEX_BITSET_MATCH_ANY, shared);
        if (n1 < 0)
            return n1;
        if (wake_op_cmp(val3, old)) {
            n2 = fb_futex_wake(t->mm, uaddr2, (int)(uint32_t)timeout, FUTEX_BITSET_MATCH_ANY,
                               shared);
            if (n2 < 0)
                n2 = 0;
        }
        return n1 + n2;
    }
    default:
        /* PI futexes and requeue-PI are not implemented (listed as partial in the table). */
        return -ENOSYS;
    }
}

void fb_futex_owner_died(struct fb_task *t, uint64_t uaddr)
{
    uint32_t *word, old, nw;

    if (fb_mm_word_ptr(t->mm, uaddr, true, &word) < 0)
        return;
    old = __atomic_load_n(word, __ATOMIC_SEQ_CST);
    do {
        if ((old & FUTEX_TID_MASK) != (uint32_t)t->tid)
            return;
        nw = (old & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
    } while (!__atomic_compare_exchange_n(word, &old, nw, false, __ATOMIC_SEQ_CST,
                                          __ATOMIC_SEQ_CST));
    if (old & FUTEX_WAITERS)
        fb_futex_wake(t->mm, uaddr, 1, FUTEX_BITSET_MATCH_ANY, true);
}

/* ---- checkpoint support ------------------------------------------------------------------------ */

bool fb_futex_parked_woken(const struct fb_task *t)
{
    const struct futex_waiter *w = t->futex_parked;
    return w && w->woken;
}

void fb_futex_save_foreach(void (*fn)(struct fb_task *t, const void *mm, uint64_t addr, bool shared,
                                      uint32_t bitset, void *arg),
                           void *arg)
{
    int i;
    struct fb_list *pos;

    if (!buckets_ready)
        return;
    for (i = 0; i < FUTEX_BUCKETS; i++)
        fb_list_for_each(pos, &buckets[i])
        {
            struct futex_waiter *w = fb_list_entry(pos, struct futex_waiter, node);
            if (w->heap && w->task->futex_parked == w)
                fn(w->task, w->key.mm, w->key.addr, w->key.shared, w->bitset, arg);
        }
}

int fb_futex_restore_woken(struct fb_task *t)
{
    struct futex_waiter *w;

    if (t->futex_parked)
        return -EINVAL;
    w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->task = t;
    w->heap = true;
    w->woken = true;
    fb_list_init(&w->node);
    t->futex_parked = w;
    return 0;
}

int fb_futex_restore_park(struct fb_task *t, const void *mm, uint64_t addr, bool shared,
                          uint32_t bitset)
{
    struct futex_waiter *w;

    if (t->futex_parked || !bitset || (mm && (addr & 3)))
        return -EINVAL;
    w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->key.mm = mm;
    w->key.addr = addr;
    w->key.shared = shared;
    w->bitset = bitset;
    w->task = t;
    w->heap = true;
    fb_list_add_tail(bucket(&w->key), &w->node);
    t->futex_parked = w;
    return 0;
}
