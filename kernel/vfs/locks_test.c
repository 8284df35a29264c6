/* Unit tests for the advisory lock table (locks.c): POSIX range splitting and merging, conflicts
 * between owners, owner removal, and flock semantics, driven without tasks or files. */
#include "fbtest.h"
#include "kernel/kernel.h"
#include "kernel/syscalls/syscall.h"
#include "kernel/vfs/locks.h"

#include <errno.h>
#include <fcntl.h>

/* No kernel, no tasks: the same stand-ins as tmpfs_test.c (weak, so the test links with or
 * without the real ones in the archive). */
__attribute__((weak)) __thread struct fb_task *fb_current;
__attribute__((weak)) struct fb_kernel *fb_k;
__attribute__((weak)) const struct fb_syscall_desc fb_syscall_table[FB_NR_SYSCALLS];

static const int A, B, C; /* owners: any distinct addresses */

static struct fb_file_lock req(const void *owner, short type, int64_t start, int64_t end)
{
    struct fb_file_lock l = {.owner = owner, .pid = 1, .type = type, .start = start, .end = end};
    return l;
}

static int apply(struct fb_lock_ctx *c, const void *owner, short type, int64_t s, int64_t e)
{
    struct fb_file_lock r = req(owner, type, s, e);
    return fb_lock_posix_apply(c, &r);
}

/* The owner's locks, sorted by start, as "R0-4 W5-9" (EOF printed as "$"). */
static const char *dump(struct fb_lock_ctx *c, const void *owner)
{
    static char buf[256];
    const struct fb_file_lock *v[32];
    struct fb_list *pos;
    size_t n = 0, len = 0;

    fb_list_for_each(pos, &c->posix)
    {
        const struct fb_file_lock *l = fb_list_entry(pos, struct fb_file_lock, node);
        if (l->owner == owner && n < 32)
            v[n++] = l;
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && v[j]->start < v[j - 1]->start; j--) {
            const struct fb_file_lock *x = v[j];
            v[j] = v[j - 1];
            v[j - 1] = x;
        }
    buf[0] = 0;
    for (size_t i = 0; i < n; i++) {
        char end[24];
        if (v[i]->end == FB_LOCK_EOF)
            snprintf(end, sizeof(end), "$");
        else
            snprintf(end, sizeof(end), "%lld", (long long)v[i]->end);
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%c%lld-%s", i ? " " : "",
                                v[i]->type == F_WRLCK ? 'W' : 'R', (long long)v[i]->start, end);
    }
    return buf;
}

static void test_merge_adjacent_same_type(void)
{
    struct fb_lock_ctx *c = fb_lock_ctx_new();
    FBT_CHECK(c);
    FBT_CHECK_EQ(apply(c, &A, F_RDLCK, 0, 4), 0);
    FBT_CHECK_EQ(apply(c, &A, F_RDLCK, 10, 14), 0);
    FBT_CHECK_STR(dump(c, &A), "R0-4 R10-14");
    FBT_CHECK_EQ(apply(c, &A, F_RDLCK, 5, 9), 0); /* touches both: one lock */
    FBT_CHECK_STR(dump(c, &A), "R0-14");
    FBT_CHECK_EQ(apply(c, &A, F_RDLCK, 20, FB_LOCK_EOF), 0);
    FBT_CHECK_EQ(apply(c, &A, F_RDLCK, 15, 19), 0);
    FBT_CHECK_STR(dump(c, &A), "R0-$");
    fb_lock_ctx_free(c);
}

static void test_split_on_unlock_and_type_change(void)
{
    struct fb_lock_ctx *c = fb_lock_ctx_new();
    FBT_CHECK(c);
    FBT_CHECK_EQ(apply(c, &A, F_WRLCK, 0, 99), 0);
    FBT_CHECK_EQ(apply(c, &A, F_UNLCK, 40, 59), 0);
    FBT_CHECK_STR(dump(c, &A), "W0-39 W60-99");
    FBT_CHECK_EQ(apply(c, &A, F_RDLCK, 30, 69), 0); /* downgrade across the hole */
    FBT_CHECK_STR(dump(c, &A), "W0-29 R30-69 W70-99");
    FBT_CHECK_EQ(apply(c, &A, F_WRLCK, 0, FB_LOCK_EOF), 0); /* everything: one write lock */
    FBT_CHECK_STR(dump(c, &A), "W0-$");
    FBT_CHECK_EQ(apply(c, &A, F_UNLCK, 0, FB_LOCK_EOF), 0);
    FBT_CHECK_STR(dump(c, &A), "");
    FBT_CHECK(fb_list_empty(&c->posix));
    fb_lock_ctx_free(c);
}

static void test_conflicts_between_owners(void)
{
    struct fb_lock_ctx *c = fb_lock_ctx_new();
    struct fb_file_lock r;
    const struct fb_file_lock *l;

    FBT_CHECK(c);
    FBT_CHECK_EQ(apply(c, &A, F_WRLCK, 0, 4), 0);
    FBT_CHECK_EQ(apply(c, &B, F_RDLCK, 10, 19), 0);
    r = req(&C, F_RDLCK, 2, 3);
    l = fb_lock_posix_conflict(c, &r);
    FBT_CHECK(l && l->owner == &A); /* a read lock conflicts with a write lock */
    r = req(&C, F_RDLCK, 5, 15);
    FBT_CHECK(!fb_lock_posix_conflict(c, &r)); /* read locks share */
    r = req(&C, F_WRLCK, 5, 15);
    l = fb_lock_posix_conflict(c, &r);
    FBT_CHECK(l && l->owner == &B);
    r = req(&C, F_WRLCK, 5, 9); /* the gap */
    FBT_CHECK(!fb_lock_posix_conflict(c, &r));
    r = req(&A, F_WRLCK, 0, 9); /* an owner never conflicts with itself */
    FBT_CHECK(!fb_lock_posix_conflict(c, &r));
    r = req(&C, F_WRLCK, 19, FB_LOCK_EOF);
    l = fb_lock_posix_conflict(c, &r);
    FBT_CHECK(l && l->owner == &B);
    fb_lock_ctx_free(c);
}

static void test_remove_owner(void)
{
    struct fb_lock_ctx *c = fb_lock_ctx_new();
    FBT_CHECK(c);
    FBT_CHECK_EQ(apply(c, &A, F_WRLCK, 0, 4), 0);
    FBT_CHECK_EQ(apply(c, &A, F_RDLCK, 8, 9), 0);
    FBT_CHECK_EQ(apply(c, &B, F_WRLCK, 5, 7), 0);
    FBT_CHECK(fb_lock_posix_remove_owner(c, &A));
    FBT_CHECK_STR(dump(c, &A), "");
    FBT_CHECK_STR(dump(c, &B), "W5-7");
    FBT_CHECK(!fb_lock_posix_remove_owner(c, &A));
    fb_lock_ctx_free(c);
}

static void test_flock(void)
{
    struct fb_lock_ctx *c = fb_lock_ctx_new();
    struct fb_file_lock *l;

    FBT_CHECK(c);
    FBT_CHECK_EQ(fb_lock_flock_apply(c, &A, F_RDLCK), 0);
    FBT_CHECK(!fb_lock_flock_conflict(c, &B, F_RDLCK)); /* shared locks share */
    FBT_CHECK(fb_lock_flock_conflict(c, &B, F_WRLCK) != NULL);
    FBT_CHECK(!fb_lock_flock_conflict(c, &A, F_WRLCK));   /* its own lock is no conflict */
    FBT_CHECK_EQ(fb_lock_flock_apply(c, &A, F_WRLCK), 0); /* conversion keeps one lock */
    l = fb_lock_flock_find(c, &A);
    FBT_CHECK(l && l->type == F_WRLCK);
    FBT_CHECK(l->node.next->next == &l->node); /* the only entry */
    FBT_CHECK(fb_lock_flock_conflict(c, &B, F_RDLCK) != NULL);
    FBT_CHECK_EQ(fb_lock_flock_apply(c, &A, F_UNLCK), 0);
    FBT_CHECK(!fb_lock_flock_find(c, &A));
    FBT_CHECK(!fb_lock_flock_conflict(c, &B, F_WRLCK));
    /* flock and record locks live apart. */
    FBT_CHECK_EQ(apply(c, &A, F_WRLCK, 0, FB_LOCK_EOF), 0);
    FBT_CHECK(!fb_lock_flock_conflict(c, &B, F_WRLCK));
    fb_lock_ctx_free(c);
}

static void test_table_limit(void)
{
    struct fb_lock_ctx *c = fb_lock_ctx_new();
    int i, r = 0;

    FBT_CHECK(c);
    /* Alternating types never merge: every request adds an entry until the table is full. */
    for (i = 0; i < FB_LOCK_MAX_PER_INODE + 8 && r == 0; i++)
        r = apply(c, &A, (i & 1) ? F_WRLCK : F_RDLCK, 2 * i, 2 * i);
    FBT_CHECK_EQ(r, -ENOLCK);
    FBT_CHECK(c->nposix <= FB_LOCK_MAX_PER_INODE);
    FBT_CHECK_EQ(apply(c, &A, F_UNLCK, 0, 1), 0); /* an unlock that does not split works */
    FBT_CHECK_EQ(apply(c, &A, F_UNLCK, 0, FB_LOCK_EOF), 0);
    FBT_CHECK_EQ(c->nposix, 0);
    fb_lock_ctx_free(c);
}

int main(void)
{
    FBT_RUN(test_merge_adjacent_same_type);
    FBT_RUN(test_split_on_unlock_and_type_change);
    FBT_RUN(test_conflicts_between_owners);
    FBT_RUN(test_remove_owner);
    FBT_RUN(test_flock);
    FBT_RUN(test_table_limit);
    FBT_EXIT();
}
