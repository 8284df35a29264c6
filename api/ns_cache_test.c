/* Unit tests of the namespace cache (api/ns_cache.c) in a directory of its own: what is kept
 * is found again (the same namespace), only for its type and fingerprint; expired entries,
 * and entries whose mount went, are removed by the next lookup; an unsafe directory or
 * FNBOX_NS_CACHE=0 turns the cache off. */
#include "api/ns_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/sandbox.h"
#include "fbtest.h"

static char base[] = "/tmp/fnbox-nscache-XXXXXX";
static char dir[sizeof(base) + 8];

static int entries(void)
{
    return fbt_dir_entries(dir);
}

static bool same_ns(int a, int b)
{
    struct stat x, y;
    return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_ino == y.st_ino && x.st_dev == y.st_dev;
}

static void test_put_get(void)
{
    struct fb_error err = {0};
    int cache = fb_ns_cache_open(), net = fb_sandbox_empty_netns(&err), got;
    int mnt = fb_sandbox_empty_root_ns(&err); /* newer than ours: a bind of it is no loop */
    char path[64], mpath[64], key[32];

    FBT_CHECK(cache >= 0);
    FBT_CHECK(net > 2);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", net);
    FBT_CHECK_EQ(fb_ns_cache_put(cache, "net.1", NULL, path, 60), 0);
    got = fb_ns_cache_get(cache, "net.1", NULL, CLONE_NEWNET);
    FBT_CHECK(got >= 0 && same_ns(got, net));
    if (got >= 0)
        close(got);
    /* Not for another type or key. */
    FBT_CHECK_EQ(fb_ns_cache_get(cache, "net.1", NULL, CLONE_NEWNS), -1);
    FBT_CHECK_EQ(fb_ns_cache_get(cache, "root.1", NULL, CLONE_NEWNET), -1);
    /* A fingerprinted entry only for its own fingerprint, not one that merely hashes alike. */
    fb_ns_cache_view_key("fingerprint A", key, sizeof(key));
    FBT_CHECK(strncmp(key, "view-", 5) == 0 && strlen(key) == 21);
    FBT_CHECK(mnt > 2);
    snprintf(mpath, sizeof(mpath), "/proc/self/fd/%d", mnt);
    FBT_CHECK_EQ(fb_ns_cache_put(cache, key, "fingerprint A", mpath, 60), 0);
    FBT_CHECK_EQ(fb_ns_cache_get(cache, key, "fingerprint B", CLONE_NEWNS), -1);
    FBT_CHECK_EQ(fb_ns_cache_get(cache, key, "fingerprint A\n", CLONE_NEWNS), -1);
    got = fb_ns_cache_get(cache, key, "fingerprint A", CLONE_NEWNS);
    FBT_CHECK(got >= 0 && same_ns(got, mnt));
    if (got >= 0)
        close(got);
    FBT_CHECK_EQ(entries(), 3); /* net, view and its sidecar */
    /* Several in one pass: each found by its own key, type and fingerprint; a missing one -1. */
    {
        struct fb_ns_cache_want w[3] = {
            {.key = "nothing.1", .nstype = CLONE_NEWNET},
            {.key = key, .fp = "fingerprint A", .nstype = CLONE_NEWNS},
            {.key = "net.1", .nstype = CLONE_NEWNET},
        };
        fb_ns_cache_get_many(cache, w, 3);
        FBT_CHECK_EQ(w[0].fd, -1);
        FBT_CHECK(w[1].fd >= 0 && same_ns(w[1].fd, mnt));
        FBT_CHECK(w[2].fd >= 0 && same_ns(w[2].fd, net));
        for (int i = 1; i < 3; i++)
            if (w[i].fd >= 0)
                close(w[i].fd);
        FBT_CHECK_EQ(entries(), 3);
    }
    /* Two of the same (a second publisher: another pid): the next lookup keeps one. */
    {
        pid_t pid = fork();
        if (pid == 0)
            _exit(fb_ns_cache_put(cache, "net.1", NULL, path, 60) == 0 ? 0 : 1);
        int st = -1;
        waitpid(pid, &st, 0);
        FBT_CHECK_EQ(st, 0);
        FBT_CHECK_EQ(entries(), 4);
        got = fb_ns_cache_get(cache, "net.1", NULL, CLONE_NEWNET);
        FBT_CHECK(got >= 0 && same_ns(got, net));
        if (got >= 0)
            close(got);
        FBT_CHECK_EQ(entries(), 3);
    }
    /* A namespace that cannot be bound (its own: a loop) leaves nothing behind. */
    FBT_CHECK_EQ(fb_ns_cache_put(cache, "loop", "x", "/proc/self/ns/mnt", 60), -1);
    FBT_CHECK_EQ(entries(), 3);
    close(mnt);
    close(net);
    close(cache);
}

/* Expired entries go, with their mount and sidecar, at the next lookup of any key; so does an
 * entry whose namespace mount has gone, and a plain file posing as an entry. */
static void test_expiry_and_junk(void)
{
    struct fb_error err = {0};
    int cache = fb_ns_cache_open(), fd, mnt = fb_sandbox_empty_root_ns(&err);
    char path[300];

    FBT_CHECK(cache >= 0 && mnt > 2);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", mnt);
    FBT_CHECK_EQ(fb_ns_cache_put(cache, "old", "fp", path, 0), 0);
    close(mnt);
    snprintf(path, sizeof(path), "%s/net.1.%d.1", dir, 4000000);
    fd = open(path, O_CREAT | O_WRONLY, 0600); /* far in the future: another boot's clock */
    FBT_CHECK(fd >= 0);
    close(fd);
    FBT_CHECK_EQ(entries(), 6);
    FBT_CHECK_EQ(fb_ns_cache_get(cache, "something", NULL, CLONE_NEWNS), -1);
    FBT_CHECK_EQ(entries(), 3);
    /* The net entry's mount removed behind the cache's back: found empty, removed. */
    {
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "umount %s/net.1.*", dir);
        FBT_CHECK_EQ(system(cmd), 0);
    }
    FBT_CHECK_EQ(fb_ns_cache_get(cache, "net.1", NULL, CLONE_NEWNET), -1);
    FBT_CHECK_EQ(entries(), 2);
    close(cache);
}

/* Off: by FNBOX_NS_CACHE=0, or for a directory others may write. */
static void test_off(void)
{
    char loose[sizeof(base) + 16];
    int fd;

    setenv("FNBOX_NS_CACHE", "0", 1);
    FBT_CHECK_EQ(fb_ns_cache_open(), -1);
    unsetenv("FNBOX_NS_CACHE");
    snprintf(loose, sizeof(loose), "%s/loose", base);
    FBT_CHECK_EQ(mkdir(loose, 0777), 0);
    FBT_CHECK_EQ(chmod(loose, 0777), 0);
    setenv("FNBOX_NS_CACHE_DIR", loose, 1);
    fd = fb_ns_cache_open();
    FBT_CHECK_EQ(fd, -1);
    if (fd >= 0)
        close(fd);
    setenv("FNBOX_NS_CACHE_DIR", dir, 1);
    rmdir(loose);
}

int main(void)
{
    char cmd[300];

    if (!mkdtemp(base))
        return 1;
    snprintf(dir, sizeof(dir), "%s/ns", base);
    setenv("FNBOX_NS_CACHE_DIR", dir, 1);
    unsetenv("FNBOX_NS_CACHE");
    if (geteuid() != 0) {
        FBT_SKIP(test_put_get, "needs root (mounts)");
    } else {
        FBT_RUN(test_put_get);
        FBT_RUN(test_expiry_and_junk);
        FBT_RUN(test_off);
    }
    snprintf(cmd, sizeof(cmd), "while mountpoint -q %s && umount -R %s; do :; done; rm -rf %s",
             dir, dir, base);
    if (system(cmd) != 0)
        fprintf(stderr, "ns_cache_test: cleaning %s up failed\n", base);
    FBT_EXIT();
}
