/* Unit tests of the view's fingerprint (gofer/view.c): stable while nothing changes, different
 * when a bound source is replaced (another inode), when a mount turns writable or moves, and
 * when a symlink of a --root tree points elsewhere; an unusable source is an error, as the
 * view itself would be. */
#include "gofer/gofer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fbtest.h"

static char base[] = "/tmp/fnbox-viewfp-XXXXXX";

static char *fp_of(const struct fb_gofer_config *cfg)
{
    struct fb_error err = {0};
    char *fp = fb_gofer_view_fingerprint(cfg, &err);
    if (!fp) /* the checks on its content then fail */
        printf("fingerprint: %s\n", err.msg);
    return fp ? fp : strdup("");
}

static void test_mounts(void)
{
    char code[300], old[300], cmd[700];
    struct fb_gofer_mount m = {.dst = "/code", .ro = true};
    struct fb_gofer_config cfg = {.mounts = &m, .nmounts = 1};
    char *a, *b, *c, *d, *e;

    snprintf(code, sizeof(code), "%s/code", base);
    snprintf(old, sizeof(old), "%s/code.old", base);
    FBT_CHECK_EQ(mkdir(code, 0755), 0);
    m.src = code;
    a = fp_of(&cfg);
    b = fp_of(&cfg);
    FBT_CHECK_STR(a, b);
    FBT_CHECK(strstr(a, "/code rd ") != NULL);
    FBT_CHECK(strstr(a, "/usr") != NULL); /* the default view is part of it */
    /* Same path, same (empty) content, another directory: another view. */
    FBT_CHECK_EQ(rename(code, old), 0);
    FBT_CHECK_EQ(mkdir(code, 0755), 0);
    c = fp_of(&cfg);
    FBT_CHECK(strcmp(a, c) != 0);
    /* Writable, or elsewhere in the view: another view. */
    m.ro = false;
    d = fp_of(&cfg);
    FBT_CHECK(strcmp(c, d) != 0 && strstr(d, "/code wd ") != NULL);
    m.ro = true;
    m.dst = "/srv/code";
    e = fp_of(&cfg);
    FBT_CHECK(strcmp(c, e) != 0);
    /* A source that is gone: the error the view would give. */
    {
        struct fb_error err = {0};
        m.src = old;
        snprintf(cmd, sizeof(cmd), "rm -rf %s", old);
        FBT_CHECK_EQ(system(cmd), 0);
        FBT_CHECK(fb_gofer_view_fingerprint(&cfg, &err) == NULL);
        FBT_CHECK(strstr(err.msg, "code.old") != NULL);
    }
    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
}

static void test_root_symlink(void)
{
    char root[300], link[320];
    struct fb_gofer_config cfg = {0};
    char *a, *b;

    snprintf(root, sizeof(root), "%s/root", base);
    snprintf(link, sizeof(link), "%s/lib", root);
    FBT_CHECK_EQ(mkdir(root, 0755), 0);
    FBT_CHECK_EQ(symlink("usr/lib", link), 0);
    cfg.root = root;
    a = fp_of(&cfg);
    FBT_CHECK(strstr(a, "/lib -> 7:usr/lib") != NULL);
    FBT_CHECK(strstr(a, "/usr") == NULL); /* --root replaces the default view */
    FBT_CHECK_EQ(unlink(link), 0);
    FBT_CHECK_EQ(symlink("usr/lib64", link), 0);
    b = fp_of(&cfg);
    FBT_CHECK(strcmp(a, b) != 0);
    free(a);
    free(b);
    /* A name with a newline cannot pass for another entry: a symlink whose target spells the
     * line of a second symlink, against that second symlink itself. */
    {
        char other[320], *c, *d;
        FBT_CHECK_EQ(unlink(link), 0);
        FBT_CHECK_EQ(symlink("x\n1 /m -> y", link), 0);
        c = fp_of(&cfg);
        FBT_CHECK_EQ(unlink(link), 0);
        FBT_CHECK_EQ(symlink("x", link), 0);
        snprintf(other, sizeof(other), "%s/m", root);
        FBT_CHECK_EQ(symlink("y", other), 0);
        d = fp_of(&cfg);
        FBT_CHECK(strcmp(c, d) != 0);
        free(c);
        free(d);
    }
}

int main(void)
{
    char cmd[300];

    if (!mkdtemp(base))
        return 1;
    FBT_RUN(test_mounts);
    FBT_RUN(test_root_symlink);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
    if (system(cmd) != 0)
        fprintf(stderr, "view_test: removing %s failed\n", base);
    FBT_EXIT();
}
