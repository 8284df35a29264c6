/* Conformance: getdents64 of a directory we made — names (sorted), d_type, "." and "..", small
 * buffers (EINVAL), rewinding, ENOTDIR, entries removed meanwhile. Part of tests/syscalls. */
#include "conform.h"

struct ent {
    char name[256];
    int type;
};

static int cmp(const void *a, const void *b)
{
    return strcmp(((const struct ent *)a)->name, ((const struct ent *)b)->name);
}

static int list(int fd, struct ent *out, int max, size_t bufsz)
{
    char *buf = malloc(bufsz);
    int n = 0;
    for (;;) {
        long r = syscall(SYS_getdents64, fd, buf, bufsz);
        if (r <= 0) {
            if (r < 0)
                n = -1;
            break;
        }
        for (long off = 0; off < r;) {
            struct dirent64 *d = (struct dirent64 *)(buf + off);
            if (n < max) {
                snprintf(out[n].name, sizeof(out[n].name), "%s", d->d_name);
                out[n].type = d->d_type;
            }
            n++;
            off += d->d_reclen;
        }
    }
    free(buf);
    return n;
}

static const char *tname(int t)
{
    return t == DT_REG    ? "reg"
           : t == DT_DIR  ? "dir"
           : t == DT_LNK  ? "lnk"
           : t == DT_FIFO ? "fifo"
                          : "other";
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    const char *d = cf_tmp("dir");
    mkdir(d, 0755);
    char p[600];
    for (int i = 0; i < 30; i++) {
        snprintf(p, sizeof(p), "%s/file-%02d", d, i);
        cf_write_file(p, "x", 1, 0644);
    }
    snprintf(p, sizeof(p), "%s/subdir", d);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/link", d);
    symlink("file-00", p);
    snprintf(p, sizeof(p), "%s/fifo", d);
    mkfifo(p, 0600);

    int fd = open(d, O_RDONLY | O_DIRECTORY);
    struct ent e[64];
    int n = list(fd, e, 64, 4096);
    CHECK_EQ(n, 35, "35 entries (30 files, subdir, link, fifo, ., ..)");
    qsort(e, (size_t)(n < 64 ? n : 64), sizeof(e[0]), cmp);
    for (int i = 0; i < n && i < 64; i++)
        cf_say("entry %s %s", e[i].name, tname(e[i].type));
    CHECK_EQ(syscall(SYS_getdents64, fd, e, sizeof(e)), 0, "at the end getdents64 returns 0");

    lseek(fd, 0, SEEK_SET);
    int n2 = list(fd, e, 64, 64); /* tiny buffer: one or two entries per call */
    CHECK_EQ(n2, 35, "same 35 entries with a 64-byte buffer after rewinding");
    lseek(fd, 0, SEEK_SET);
    char tiny[8];
    CHECK_ERR(syscall(SYS_getdents64, fd, tiny, sizeof(tiny)), EINVAL,
              "buffer too small for one entry");
    CHECK_ERR(syscall(SYS_getdents64, fd, 8L, 4096), EFAULT, "bad buffer");

    /* Remove half the files, list again. */
    for (int i = 0; i < 30; i += 2) {
        snprintf(p, sizeof(p), "%s/file-%02d", d, i);
        unlink(p);
    }
    lseek(fd, 0, SEEK_SET);
    CHECK_EQ(list(fd, e, 64, 4096), 20, "20 entries after removing 15 files");
    close(fd);

    int ffd = open("/etc/passwd", O_RDONLY);
    CHECK_ERR(syscall(SYS_getdents64, ffd, e, sizeof(e)), ENOTDIR, "getdents64 on a file");
    close(ffd);
    CHECK_ERR(syscall(SYS_getdents64, 999, e, sizeof(e)), EBADF, "getdents64 on a closed fd");

    /* An empty directory has just . and .. */
    mkdir(cf_tmp("empty"), 0755);
    fd = open(cf_tmp("empty"), O_RDONLY | O_DIRECTORY);
    CHECK_EQ(list(fd, e, 64, 4096), 2, "empty directory lists . and ..");
    close(fd);
    /* readdir agrees. */
    DIR *dir = opendir(d);
    int count = 0;
    while (readdir(dir))
        count++;
    closedir(dir);
    CHECK_EQ(count, 20, "readdir agrees");
    return cf_done();
}
