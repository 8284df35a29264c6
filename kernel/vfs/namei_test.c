/* Unit tests for fb_vfs_lookup_ahead: names looked up together through a filesystem's
 * lookup_many land in the dentry cache where one-by-one lookups find them, on a small in-memory
 * filesystem that counts its calls. */
#include "fbtest.h"
#include "kernel/kernel.h"
#include "kernel/syscalls/syscall.h"
#include "kernel/vfs/vfs.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* As in tmpfs_test.c: no tasks, no kernel object, no syscall table in this link. */
__attribute__((weak)) __thread struct fb_task *fb_current;
__attribute__((weak)) struct fb_kernel *fb_k;
__attribute__((weak)) const struct fb_syscall_desc fb_syscall_table[FB_NR_SYSCALLS];

/* The tree: index, name, parent, mode. */
static const struct {
    const char *name;
    int parent;
    mode_t mode;
} tree[] = {
    {"/", -1, S_IFDIR}, {"a", 0, S_IFDIR}, {"b", 1, S_IFDIR},
    {"f", 2, S_IFREG},  {"g", 1, S_IFREG}, {"l", 0, S_IFLNK},
};

static struct fb_sb sb = {.type = "fake", .cache_dentries = true};
static int lookups, many_calls, many_n;
static struct fb_lookup_ask last[16];
static const struct fb_inode_ops fops;

static struct fb_inode *node_inode(int i)
{
    struct fb_inode *ino = fb_inode_new(&sb, &fops, tree[i].mode | 0755);
    if (ino)
        ino->priv = (void *)(intptr_t)i;
    return ino;
}

static int child_of(int dir, const char *name)
{
    if (dir < 0 || !S_ISDIR(tree[dir].mode))
        return -1;
    for (int i = 1; i < (int)(sizeof(tree) / sizeof(tree[0])); i++)
        if (tree[i].parent == dir && !strcmp(tree[i].name, name))
            return i;
    return -1;
}

static int f_lookup(struct fb_inode *dir, const char *name, struct fb_inode **out)
{
    int c = child_of((int)(intptr_t)dir->priv, name);
    lookups++;
    if (c < 0)
        return -ENOENT;
    *out = node_inode(c);
    return *out ? 0 : -ENOMEM;
}

static void f_lookup_many(struct fb_lookup_ask *ask, int n)
{
    many_calls++;
    many_n = n;
    for (int i = 0; i < n; i++) {
        int dir = ask[i].dir ? (int)(intptr_t)ask[i].dir->priv
                  : ask[ask[i].parent].ino ? (int)(intptr_t)ask[ask[i].parent].ino->priv
                                           : -1;
        int c = child_of(dir, ask[i].name);
        ask[i].ino = c < 0 ? NULL : node_inode(c);
        if (i < 16)
            last[i] = ask[i];
    }
}

static const struct fb_inode_ops fops = {.lookup = f_lookup, .lookup_many = f_lookup_many};

/* Cached components are not asked again; the rest of every path is asked in one call, each
 * name once, under the right parent; what exists gets its dentry, what does not or lies past a
 * symlink gets none; "..", relative paths and the cache's own answers stop a path early. */
static void test_lookup_ahead(void)
{
    struct fb_mount mnt = {.refs = 1, .sb = &sb};
    struct fb_dentry *root = fb_dentry_new(NULL, "/", node_inode(0)), *a, *b, *d;
    struct fb_path rp, ap;
    const char *paths[] = {"/a/b/f", "/a/g", "/a/b/missing", "/l/x", "/a/../a/g", "rel", "/a//b/f"};

    FBT_CHECK(root != NULL);
    mnt.root = root;
    rp = (struct fb_path){&mnt, root};
    FBT_CHECK_EQ(fb_vfs_lookup_one(&rp, "a", &ap), 0); /* "a" is cached */
    FBT_CHECK_EQ(lookups, 1);
    fb_vfs_lookup_ahead(&rp, paths, (int)(sizeof(paths) / sizeof(paths[0])));
    FBT_CHECK_EQ(many_calls, 1);
    /* b (in a), f (in b), g (in a), missing (in b), l (in /), x (in l) */
    FBT_CHECK_EQ(many_n, 6);
    FBT_CHECK(last[0].dir == ap.dentry->inode && !strcmp(last[0].name, "b"));
    FBT_CHECK(last[1].dir == NULL && last[1].parent == 0 && !strcmp(last[1].name, "f"));
    FBT_CHECK(last[2].dir == ap.dentry->inode && !strcmp(last[2].name, "g"));
    FBT_CHECK(last[3].dir == NULL && last[3].parent == 0 && !strcmp(last[3].name, "missing"));
    FBT_CHECK(last[4].dir == root->inode && !strcmp(last[4].name, "l"));
    FBT_CHECK(last[5].dir == NULL && last[5].parent == 4 && !strcmp(last[5].name, "x"));
    a = ap.dentry;
    b = fb_dentry_child(a, "b");
    FBT_CHECK(b && b->inode && S_ISDIR(b->inode->st.mode));
    d = b ? fb_dentry_child(b, "f") : NULL;
    FBT_CHECK(d && d->inode && (int)(intptr_t)d->inode->priv == 3);
    fb_dentry_put(d);
    d = fb_dentry_child(a, "g");
    FBT_CHECK(d && d->inode);
    fb_dentry_put(d);
    FBT_CHECK(b && fb_dentry_child(b, "missing") == NULL);
    d = fb_dentry_child(root, "l");
    FBT_CHECK(d && d->inode && S_ISLNK(d->inode->st.mode));
    FBT_CHECK(d && fb_dentry_child(d, "x") == NULL);
    fb_dentry_put(d);
    fb_dentry_put(b);
    /* The one-by-one lookups now cost nothing. */
    {
        struct fb_path bp, fp;
        FBT_CHECK_EQ(fb_vfs_lookup_one(&ap, "b", &bp), 0);
        FBT_CHECK_EQ(fb_vfs_lookup_one(&bp, "f", &fp), 0);
        FBT_CHECK_EQ(lookups, 1);
        fb_path_put(&fp);
        fb_path_put(&bp);
    }
    /* Everything cached: nothing asked. */
    fb_vfs_lookup_ahead(&rp, paths, 2);
    FBT_CHECK_EQ(many_calls, 1);
    fb_path_put(&ap);
}

int main(void)
{
    FBT_RUN(test_lookup_ahead);
    FBT_EXIT();
}
