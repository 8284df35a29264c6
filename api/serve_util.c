/* `fnbox serve` host helpers: running the fnbox CLI as a child, copying and extracting code
 * trees safely, crash-safe writes of the registry. */
#include "api/serve.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CAPTURE_MAX    (64 * 1024)
#define TREE_MAX_BYTES (256ull << 20)
#define TREE_MAX_FILES 20000
#define TREE_MAX_DEPTH 32

int64_t fb_serve_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Append what fd has to *buf (kept NUL-terminated, at most CAPTURE_MAX); 0 at EOF. */
static int drain(int fd, char **buf, size_t *len)
{
    char tmp[8192];
    ssize_t n = read(fd, tmp, sizeof(tmp));
    if (n <= 0)
        return n < 0 && (errno == EINTR || errno == EAGAIN) ? 1 : 0;
    if (*len < CAPTURE_MAX) {
        size_t take = (size_t)n;
        char *nb;
        if (take > CAPTURE_MAX - *len)
            take = CAPTURE_MAX - *len;
        nb = realloc(*buf, *len + take + 1);
        if (nb) {
            memcpy(nb + *len, tmp, take);
            *len += take;
            nb[*len] = 0;
            *buf = nb;
        }
    }
    return 1;
}

int fb_serve_exec(char *const argv[], uint32_t timeout_ms, char **out, char **errout,
                  struct fb_error *err)
{
    int op[2], ep[2], status = 0, open_fds = 2;
    size_t olen = 0, elen = 0;
    int64_t deadline = fb_serve_now_ns() + (int64_t)timeout_ms * 1000000;
    bool killed = false;
    pid_t pid;

    *out = *errout = NULL;
    if (pipe2(op, O_CLOEXEC) < 0)
        return fb_error_set(err, errno, "pipe: %s", strerror(errno));
    if (pipe2(ep, O_CLOEXEC) < 0) {
        close(op[0]);
        close(op[1]);
        return fb_error_set(err, errno, "pipe: %s", strerror(errno));
    }
    pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_RDONLY);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL); /* the server blocks its stop signals */
        signal(SIGPIPE, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(nul, 0);
        dup2(op[1], 1);
        dup2(ep[1], 2);
        syscall(SYS_close_range, 3, ~0u, 0);
        execv(argv[0], argv);
        _exit(127);
    }
    close(op[1]);
    close(ep[1]);
    if (pid < 0) {
        close(op[0]);
        close(ep[0]);
        return fb_error_set(err, errno, "fork: %s", strerror(errno));
    }
    while (open_fds > 0) {
        /* poll ignores negative fds: closed pipes drop out of the set */
        struct pollfd p[2] = {{op[0], POLLIN, 0}, {ep[0], POLLIN, 0}};
        int64_t left = (deadline - fb_serve_now_ns()) / 1000000;
        int r, i;
        if (left <= 0 && !killed) {
            kill(pid, SIGKILL);
            killed = true;
        }
        r = poll(p, 2, killed ? 1000 : (int)(left > 1000 ? 1000 : left + 1));
        if (r < 0 && errno != EINTR)
            break;
        if (r == 0 && killed)
            break; /* a grandchild still holds the pipes: give up on them */
        for (i = 0; i < 2; i++) {
            int *fd = i ? &ep[0] : &op[0];
            if (*fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (!drain(*fd, i ? errout : out, i ? &elen : &olen)) {
                close(*fd);
                *fd = -1;
                open_fds--;
            }
        }
    }
    if (op[0] >= 0)
        close(op[0]);
    if (ep[0] >= 0)
        close(ep[0]);
    if (!killed && fb_serve_now_ns() > deadline)
        kill(pid, SIGKILL), killed = true;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!*out)
        *out = strdup("");
    if (!*errout)
        *errout = strdup("");
    if (killed)
        return fb_error_set(err, ETIMEDOUT, "%s %s: timed out after %u ms", argv[0],
                            argv[1] ? argv[1] : "", timeout_ms);
    return status;
}

/* ---- trees
 * ---------------------------------------------------------------------------------------- */

struct tree_budget {
    uint64_t bytes;
    unsigned files;
};

static int copy_file(int sfd, int dfd, const char *name, mode_t mode, struct tree_budget *b,
                     struct fb_error *err)
{
    int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int out;
    char buf[65536];
    ssize_t n;
    if (in < 0)
        return fb_error_set(err, errno, "%s: %s", name, strerror(errno));
    out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0755);
    if (out < 0) {
        close(in);
        return fb_error_set(err, errno, "%s: %s", name, strerror(errno));
    }
    while ((n = read(in, buf, sizeof(buf))) > 0) {
        b->bytes += (uint64_t)n;
        if (b->bytes > TREE_MAX_BYTES) {
            close(in);
            close(out);
            return fb_error_set(err, EFBIG, "the code is larger than %llu MB",
                                TREE_MAX_BYTES >> 20);
        }
        if (write(out, buf, (size_t)n) != n) {
            int e = errno;
            close(in);
            close(out);
            return fb_error_set(err, e, "writing %s: %s", name, strerror(e));
        }
    }
    close(in);
    close(out);
    return n < 0 ? fb_error_set(err, errno, "reading %s: %s", name, strerror(errno)) : 0;
}

static int copy_dir(int sfd, int dfd, int depth, struct tree_budget *b, struct fb_error *err)
{
    DIR *d;
    struct dirent *de;
    int r = 0;
    if (depth > TREE_MAX_DEPTH)
        return fb_error_set(err, ELOOP, "the code tree is deeper than %d", TREE_MAX_DEPTH);
    d = fdopendir(sfd);
    if (!d) {
        close(sfd);
        return fb_error_set(err, errno, "opendir: %s", strerror(errno));
    }
    while (r == 0 && (de = readdir(d))) {
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (++b->files > TREE_MAX_FILES) {
            r = fb_error_set(err, EMFILE, "the code has more than %d files", TREE_MAX_FILES);
            break;
        }
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            r = fb_error_set(err, errno, "%s: %s", de->d_name, strerror(errno));
        } else if (S_ISREG(st.st_mode)) {
            r = copy_file(dirfd(d), dfd, de->d_name, st.st_mode, b, err);
        } else if (S_ISDIR(st.st_mode)) {
            int s2, d2;
            if (mkdirat(dfd, de->d_name, 0755) < 0)
                return closedir(d),
                       fb_error_set(err, errno, "mkdir %s: %s", de->d_name, strerror(errno));
            s2 = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            d2 = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (s2 < 0 || d2 < 0) {
                r = fb_error_set(err, errno, "%s: %s", de->d_name, strerror(errno));
                if (s2 >= 0)
                    close(s2);
            } else {
                r = copy_dir(s2, d2, depth + 1, b, err);
                if (r < 0)
                    fb_error_prefix(err, "%s", de->d_name);
            }
            if (d2 >= 0)
                close(d2);
        } else if (S_ISLNK(st.st_mode)) {
            r = fb_error_set(err, EPERM,
                             "%s is a symbolic link: code directories may only "
                             "hold files and directories",
                             de->d_name);
        }
        /* sockets, fifos and devices are skipped: they are not code */
    }
    closedir(d);
    return r;
}

int fb_serve_copy_tree(const char *src, const char *dst, struct fb_error *err)
{
    struct tree_budget b = {0, 0};
    int sfd, dfd, r;
    sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sfd < 0)
        return fb_error_set(err, errno, "code directory %s: %s", src, strerror(errno));
    if (mkdir(dst, 0755) < 0 && errno != EEXIST) {
        close(sfd);
        return fb_error_set(err, errno, "mkdir %s: %s", dst, strerror(errno));
    }
    dfd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        close(sfd);
        return fb_error_set(err, errno, "%s: %s", dst, strerror(errno));
    }
    r = copy_dir(sfd, dfd, 0, &b, err);
    close(dfd);
    return r;
}

static int remove_at(int dfd, const char *name, int depth)
{
    int fd;
    DIR *d;
    struct dirent *de;
    if (unlinkat(dfd, name, 0) == 0 || (errno != EISDIR && errno != EPERM))
        return 0;
    if (depth > 64)
        return -1;
    fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            remove_at(dirfd(d), de->d_name, depth + 1);
    closedir(d);
    return unlinkat(dfd, name, AT_REMOVEDIR);
}

void fb_serve_remove_tree(const char *path)
{
    if (path && *path)
        remove_at(AT_FDCWD, path, 0);
}

/* An archive member's name is acceptable when it is relative, has no ".." component and no
 * empty name; "./x" prefixes are fine. */
static bool member_name_ok(const char *p)
{
    const char *s = p;
    if (!p || !*p || *p == '/')
        return false;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return false;
        s += n;
        while (*s == '/')
            s++;
    }
    return strlen(p) < 1024;
}

int fb_serve_extract(const void *buf, size_t len, const char *path, const char *dst,
                     struct fb_error *err)
{
    struct archive *a = archive_read_new(), *w = archive_write_disk_new();
    struct archive_entry *e;
    uint64_t total = 0;
    unsigned files = 0;
    int r = -1, ar;

    if (!a || !w) {
        fb_error_set(err, ENOMEM, "out of memory");
        goto out;
    }
    archive_read_support_format_zip(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_filter_xz(a);
    /* No owners, no ACLs, no xattrs, no times; refuse "..", symlink tricks and absolute paths
     * (names are also checked below, before they are prefixed with dst). */
    archive_write_disk_set_options(w, ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                          ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                          ARCHIVE_EXTRACT_NO_OVERWRITE);
    if (mkdir(dst, 0755) < 0) {
        fb_error_set(err, errno, "mkdir %s: %s", dst, strerror(errno));
        goto out;
    }
    ar = path ? archive_read_open_filename(a, path, 65536) : archive_read_open_memory(a, buf, len);
    if (ar != ARCHIVE_OK) {
        fb_error_set(err, EINVAL, "the code archive is not a zip or tar file: %s",
                     archive_error_string(a));
        goto out;
    }
    while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        mode_t type = archive_entry_filetype(e);
        char full[PATH_MAX], member[PATH_MAX];
        const void *blk;
        size_t sz;
        la_int64_t off;

        if (!member_name_ok(name)) {
            fb_error_set(err, EPERM, "archive member '%.200s': absolute or '..' paths are refused",
                         name ? name : "");
            goto out;
        }
        if (type != AE_IFREG && type != AE_IFDIR) {
            fb_error_set(err, EPERM,
                         "archive member '%.200s': only files and directories are "
                         "accepted (no links or devices)",
                         name);
            goto out;
        }
        if (archive_entry_hardlink(e)) {
            fb_error_set(err, EPERM, "archive member '%.200s': hard links are refused", name);
            goto out;
        }
        if (++files > TREE_MAX_FILES) {
            fb_error_set(err, EMFILE, "the archive has more than %d members", TREE_MAX_FILES);
            goto out;
        }
        if (snprintf(full, sizeof(full), "%s/%s", dst, name) >= (int)sizeof(full)) {
            fb_error_set(err, ENAMETOOLONG, "archive member name too long");
            goto out;
        }
        /* The entry's own copy of its name goes with the next line: messages below use ours. */
        snprintf(member, sizeof(member), "%s", name);
        name = member;
        archive_entry_set_pathname(e, full);
        archive_entry_set_perm(e, type == AE_IFDIR ? 0755
                                                   : (archive_entry_perm(e) & 0111 ? 0755 : 0644));
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        if (archive_write_header(w, e) != ARCHIVE_OK) {
            fb_error_set(err, EPERM, "archive member '%.200s': %s", name, archive_error_string(w));
            goto out;
        }
        while ((ar = archive_read_data_block(a, &blk, &sz, &off)) == ARCHIVE_OK) {
            total += sz;
            if (total > TREE_MAX_BYTES) {
                fb_error_set(err, EFBIG, "the archive expands beyond %llu MB",
                             TREE_MAX_BYTES >> 20);
                goto out;
            }
            if (archive_write_data_block(w, blk, sz, off) != ARCHIVE_OK) {
                fb_error_set(err, EIO, "extracting '%.200s': %s", name, archive_error_string(w));
                goto out;
            }
        }
        if (ar != ARCHIVE_EOF) {
            fb_error_set(err, EINVAL, "the archive is corrupt: %s", archive_error_string(a));
            goto out;
        }
        if (archive_write_finish_entry(w) != ARCHIVE_OK) {
            fb_error_set(err, EIO, "extracting '%.200s': %s", name, archive_error_string(w));
            goto out;
        }
    }
    if (ar != ARCHIVE_EOF) {
        fb_error_set(err, EINVAL, "the archive is corrupt: %s", archive_error_string(a));
        goto out;
    }
    if (files == 0) {
        fb_error_set(err, EINVAL, "the code archive is empty");
        goto out;
    }
    r = 0;
out:
    if (w) {
        archive_write_close(w);
        archive_write_free(w);
    }
    if (a)
        archive_read_free(a);
    return r;
}

int fb_serve_write_atomic(const char *path, const char *data, size_t len, struct fb_error *err)
{
    char tmp[PATH_MAX], dir[PATH_MAX], *slash;
    int fd, dfd;
    size_t off = 0;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return fb_error_set(err, ENAMETOOLONG, "%s: name too long", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return fb_error_set(err, errno, "%s: %s", tmp, strerror(errno));
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return fb_error_set(err, e, "writing %s: %s", tmp, strerror(e));
        }
        off += (size_t)n;
    }
    if (fsync(fd) < 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return fb_error_set(err, e, "fsync %s: %s", tmp, strerror(e));
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return fb_error_set(err, e, "rename %s: %s", path, strerror(e));
    }
    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd); /* make the rename itself durable */
        close(dfd);
    }
    return 0;
}
