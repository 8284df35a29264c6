/* procfs: the /proc tree. Inodes are made on lookup and describe a process by id (looked up again
 * at every use, so an exited process yields -ESRCH/-ENOENT, never a dangling pointer); files are
 * generated at open into a buffer (procfs_gen.c has the text). Kernel lock held throughout. */
#include "kernel/vfs/procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include "kernel/task/task.h"
#include "kernel/util/cleanup.h"

#define PROC_SUPER_MAGIC 0x9fa0
#define ROOT_INO         1
/* Root directory positions: ".", "..", the fixed entries, then PID_POS + tgid. */
#define PID_POS (1ll << 32)

#define STR_(x) #x
#define STR(x)  STR_(x)

struct pnode;

enum pkind {
    PK_DIR,        /* fixed directory: the root, sys/... */
    PK_FILE,       /* generated file */
    PK_LINK,       /* symlink whose target is text (self, thread-self, mounts) */
    PK_MAGIC,      /* magic link: get_link gives a path (exe, cwd, root) */
    PK_PID_DIR,    /* /proc/<pid>, /proc/<tid>, /proc/<pid>/task/<tid> */
    PK_TASK_DIR,   /* /proc/<pid>/task */
    PK_FD_DIR,     /* /proc/<pid>/fd */
    PK_FDINFO_DIR, /* /proc/<pid>/fdinfo */
    PK_FD_LINK,    /* /proc/<pid>/fd/<n> */
    PK_FDINFO,     /* /proc/<pid>/fdinfo/<n> */
};

struct pent {
    const char *name;
    enum pkind kind;
    mode_t mode;                 /* permission bits */
    const struct pent *children; /* PK_DIR and PK_PID_DIR: ends with a NULL name */
    const char *text;            /* PK_FILE fixed content, PK_LINK fixed target */
    int (*gen)(struct fb_pbuf *b, const struct pnode *n);
    /* Links: the target text (readlink); magic links also resolve to a path. */
    int (*link)(const struct pnode *n, char *buf, size_t size);
    int (*get_link)(const struct pnode *n, struct fb_path *out);
    /* Writable files: consume one write (buf is NUL-terminated). */
    int (*write)(const struct pnode *n, const char *buf, size_t len);
    bool process_only; /* not in /proc/<pid>/task/<tid>/ */
    bool private;      /* only for the process itself, its owner or root (ptrace rule) */
};

/* What an inode names (inode->priv). Process entries carry ids, never pointers. */
struct pnode {
    const struct pent *ent;
    int tgid;         /* 0 for entries that belong to no process */
    int tid;          /* 0: the process as a whole; else that thread */
    bool in_task;     /* below /proc/<pid>/task/ */
    int fd;           /* PK_FD_LINK, PK_FDINFO */
    int64_t start_ns; /* the group's start time at lookup: a reused pid is another process */
};

/* An open generated file (file->priv). */
struct pfile {
    struct fb_pbuf buf;
    bool stale; /* regenerate at the next read from offset 0 (like seq_file after a rewind) */
};

/* The process (and thread) a pnode names, if it still exists. */
struct ptarget {
    struct fb_thread_group *tg;
    struct fb_task *t;
};

static const struct fb_inode_ops dir_iops, file_iops, link_iops, magic_iops;
static const struct fb_file_ops dir_fops, file_fops;

static int resolve(const struct pnode *n, struct ptarget *out)
{
    struct fb_thread_group *tg = fb_tg_lookup(n->tgid);
    struct fb_task *t = NULL;

    if (!tg || tg->start_mono_ns != n->start_ns)
        return -ESRCH;
    if (n->tid) {
        t = fb_task_lookup(n->tid);
        if (!t || t->tg != tg)
            return -ESRCH;
    } else if (tg->leader && tg->leader->state != FB_TASK_EXITED) {
        t = tg->leader;
    } else {
        struct fb_list *pos;
        fb_list_for_each(pos, &tg->threads)
        {
            struct fb_task *c = fb_list_entry(pos, struct fb_task, tg_node);
            if (c->state != FB_TASK_EXITED) {
                t = c;
                break;
            }
        }
        if (!t)
            return -ESRCH;
    }
    out->tg = tg;
    out->t = t;
    return 0;
}

/* Linux's ptrace_may_access(PTRACE_MODE_READ_FSCREDS) as far as the sandbox has credentials:
 * the same process, root (who holds CAP_SYS_PTRACE here), or a caller whose fs ids match all of
 * the target's ids. Kernel-internal callers (no current task) may. */
static bool may_access(const struct fb_thread_group *tg)
{
    const struct fb_task *me = fb_current;
    const struct fb_thread_group *m = me ? me->tg : NULL;

    if (!m || m == tg || m->fsuid == 0)
        return true;
    return m->fsuid == tg->uid && m->fsuid == tg->euid && m->fsuid == tg->suid &&
           m->fsgid == tg->gid && m->fsgid == tg->egid && m->fsgid == tg->sgid;
}

static struct fb_file *task_file(struct fb_task *t, int fd, bool *cloexec)
{
    struct fb_fdtable *ft = t->files;
    if (!ft || fd < 0 || fd >= ft->size || !ft->fds[fd].file)
        return NULL;
    if (cloexec)
        *cloexec = ft->fds[fd].cloexec;
    return ft->fds[fd].file;
}

/* A strict decimal name ("0", "42"; not "042", "+1", "1a"); -1 if not one. */
static int name_to_int(const char *s)
{
    long v = 0;
    if (!*s || (s[0] == '0' && s[1]))
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
        if (v > INT_MAX)
            return -1;
    }
    return (int)v;
}

/* Inode numbers are a hash of the parent's number and the name: the same entry keeps its number
 * across lookups, readdir agrees with stat, and no table of numbers is kept. */
static uint64_t child_ino(uint64_t parent, const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull;
    int i;
    for (i = 0; i < 8; i++) {
        h ^= (parent >> (i * 8)) & 0xff;
        h *= 0x100000001b3ull;
    }
    for (; *name; name++) {
        h ^= (uint8_t)*name;
        h *= 0x100000001b3ull;
    }
    h &= 0x7fffffffffffffffull;
    return h < 2 ? h + 2 : h;
}

static unsigned kind_dtype(enum pkind k)
{
    switch (k) {
    case PK_DIR:
    case PK_PID_DIR:
    case PK_TASK_DIR:
    case PK_FD_DIR:
    case PK_FDINFO_DIR:
        return DT_DIR;
    case PK_LINK:
    case PK_MAGIC:
    case PK_FD_LINK:
        return DT_LNK;
    default:
        return DT_REG;
    }
}

static mode_t kind_type(enum pkind k)
{
    switch (kind_dtype(k)) {
    case DT_DIR:
        return S_IFDIR;
    case DT_LNK:
        return S_IFLNK;
    default:
        return S_IFREG;
    }
}

static struct fb_inode *make_inode(struct fb_sb *sb, const struct pnode *n, uint64_t ino_nr,
                                   mode_t perm, bool magic)
{
    enum pkind k = n->ent->kind;
    const struct fb_inode_ops *ops = kind_dtype(k) == DT_DIR   ? &dir_iops
                                     : kind_dtype(k) == DT_REG ? &file_iops
                                     : magic                   ? &magic_iops
                                                               : &link_iops;
    struct fb_inode *ino;
    struct pnode *p = malloc(sizeof(*p));

    if (!p)
        return NULL;
    *p = *n;
    ino = fb_inode_new(sb, ops, kind_type(k) | perm);
    if (!ino) {
        free(p);
        return NULL;
    }
    ino->priv = p;
    ino->st.ino = ino_nr;
    if (kind_dtype(k) == DT_DIR)
        ino->st.nlink = 2;
    if (n->tgid) {
        struct ptarget t;
        if (resolve(n, &t) == 0) {
            int64_t real = fb_app_real_ns() - (fb_app_mono_ns() - t.tg->start_mono_ns);
            ino->st.uid = t.tg->euid;
            ino->st.gid = t.tg->egid;
            ino->st.atime.tv_sec = real / 1000000000;
            ino->st.atime.tv_nsec = real % 1000000000;
            ino->st.mtime = ino->st.ctime = ino->st.btime = ino->st.atime;
        }
    }
    return ino;
}

/* ---- generated files ------------------------------------------------------------------------- */

#define TOP_GEN(name)                                                                              \
    static int gen_##name(struct fb_pbuf *b, const struct pnode *n)                                \
    {                                                                                              \
        (void)n;                                                                                   \
        return fb_procfs_gen_##name(b);                                                            \
    }
TOP_GEN(cpuinfo)
TOP_GEN(meminfo)
TOP_GEN(uptime)
TOP_GEN(loadavg)
TOP_GEN(kstat)
TOP_GEN(version)
TOP_GEN(filesystems)
TOP_GEN(uuid)

/* /proc/sys/kernel/random/boot_id: one per Sentry boot (a restored Sentry is a new boot). */
static char boot_id[40];

static void boot_id_init(void)
{
    struct fb_pbuf b = {0};

    if (boot_id[0])
        return;
    if (fb_procfs_gen_uuid(&b) == 0 && b.len < sizeof(boot_id))
        memcpy(boot_id, b.data, b.len + 1);
    fb_pbuf_free(&b);
    if (!boot_id[0])
        strcpy(boot_id, "00000000-0000-4000-8000-000000000000\n");
}

static int gen_boot_id(struct fb_pbuf *b, const struct pnode *n)
{
    (void)n;
    boot_id_init();
    fb_pbuf_printf(b, "%s", boot_id);
    return b->oom ? -ENOMEM : 0;
}

static int gen_hostname(struct fb_pbuf *b, const struct pnode *n)
{
    (void)n;
    fb_pbuf_printf(b, "%.*s\n", (int)sizeof(fb_k->hostname), fb_k->hostname);
    return b->oom ? -ENOMEM : 0;
}

static int gen_domainname(struct fb_pbuf *b, const struct pnode *n)
{
    (void)n;
    fb_pbuf_printf(b, "%.*s\n", (int)sizeof(fb_k->domainname),
                   fb_k->domainname[0] ? fb_k->domainname : "(none)");
    return b->oom ? -ENOMEM : 0;
}

static int gen_pid_max(struct fb_pbuf *b, const struct pnode *n)
{
    (void)n;
    fb_pbuf_printf(b, "%d\n", fb_k->pid_max);
    return b->oom ? -ENOMEM : 0;
}

/* Per-process generators: resolve the ids, then hand the objects to procfs_gen.c. */
#define PID_GEN(name, call)                                                                        \
    static int gen_##name(struct fb_pbuf *b, const struct pnode *n)                                \
    {                                                                                              \
        struct ptarget p;                                                                          \
        int r = resolve(n, &p);                                                                    \
        if (r < 0)                                                                                 \
            return r;                                                                              \
        return call;                                                                               \
    }
PID_GEN(stat, fb_procfs_gen_stat(b, p.tg, p.t, n->tid != 0))
PID_GEN(status, fb_procfs_gen_status(b, p.tg, p.t, n->tid != 0))
PID_GEN(statm, fb_procfs_gen_statm(b, p.t->mm))
PID_GEN(maps, fb_procfs_gen_maps(b, p.t->mm))
PID_GEN(cmdline, fb_procfs_gen_cmdline(b, p.t->mm))
PID_GEN(environ, fb_procfs_gen_environ(b, p.t->mm))
PID_GEN(auxv, fb_procfs_gen_auxv(b, p.t->mm))
PID_GEN(limits, fb_procfs_gen_limits(b, p.tg))
PID_GEN(mounts, p.t->fs ? fb_procfs_gen_mounts(b, &p.t->fs->root, false) : 0)
PID_GEN(mountinfo, p.t->fs ? fb_procfs_gen_mounts(b, &p.t->fs->root, true) : 0)

/* The thread whose comm /proc/<pid>/comm shows: the leader (tid == tgid) while it lives. */
static struct fb_task *comm_task(const struct pnode *n, const struct ptarget *p)
{
    struct fb_task *t;
    if (n->tid)
        return p->t;
    t = fb_task_lookup(p->tg->tgid);
    return t && t->tg == p->tg ? t : p->t;
}

static int gen_comm(struct fb_pbuf *b, const struct pnode *n)
{
    struct ptarget p;
    struct fb_task *t;
    int r = resolve(n, &p);
    if (r < 0)
        return r;
    t = comm_task(n, &p);
    fb_pbuf_printf(b, "%.*s\n", (int)strnlen(t->comm, sizeof(t->comm)), t->comm);
    return b->oom ? -ENOMEM : 0;
}

static int write_comm(const struct pnode *n, const char *buf, size_t len)
{
    struct ptarget p;
    struct fb_task *t;
    int r = resolve(n, &p);

    if (r < 0)
        return r;
    /* Linux lets only threads of the same process rename each other. */
    if (fb_current && fb_current->tg != p.tg)
        return -EINVAL;
    t = comm_task(n, &p);
    if (len && buf[len - 1] == '\n')
        len--;
    if (len > sizeof(t->comm) - 1)
        len = sizeof(t->comm) - 1;
    memset(t->comm, 0, sizeof(t->comm));
    memcpy(t->comm, buf, len);
    return 0;
}

static int write_oom_score_adj(const struct pnode *n, const char *buf, size_t len)
{
    struct ptarget p;
    char *end;
    long v;
    int r = resolve(n, &p);

    (void)len;
    if (r < 0)
        return r;
    errno = 0;
    v = strtol(buf, &end, 10);
    while (*end == ' ' || *end == '\n' || *end == '\t')
        end++;
    if (end == buf || *end || errno || v < -1000 || v > 1000)
        return -EINVAL;
    return 0; /* accepted; the Sentry has no OOM killer to steer */
}

static int gen_fdinfo(struct fb_pbuf *b, const struct pnode *n)
{
    struct ptarget p;
    struct fb_file *f;
    bool cloexec = false;
    int r = resolve(n, &p);
    if (r < 0)
        return r;
    f = task_file(p.t, n->fd, &cloexec);
    if (!f)
        return -ENOENT;
    return fb_procfs_gen_fdinfo(b, f, cloexec);
}

/* ---- links ----------------------------------------------------------------------------------- */

static int link_self(const struct pnode *n, char *buf, size_t size)
{
    (void)n;
    if (!fb_current || !fb_current->tg)
        return -ENOENT;
    return snprintf(buf, size, "%d", fb_current->tg->tgid);
}

static int link_thread_self(const struct pnode *n, char *buf, size_t size)
{
    (void)n;
    if (!fb_current || !fb_current->tg)
        return -ENOENT;
    return snprintf(buf, size, "%d/task/%d", fb_current->tg->tgid, fb_current->tid);
}

/* Resolve a magic link's process, refusing callers without ptrace-like access. */
static int resolve_private(const struct pnode *n, struct ptarget *p)
{
    int r = resolve(n, p);
    if (r < 0)
        return r == -ESRCH ? -ENOENT : r;
    return may_access(p->tg) ? 0 : -EACCES;
}

/* Path of p as the reader sees it (from the reader's root, else the target's). */
static int path_text(const struct fb_path *p, const struct fb_task *target, char *buf, size_t size)
{
    const struct fb_path *root = NULL;
    if (fb_current && fb_current->fs)
        root = &fb_current->fs->root;
    else if (target->fs)
        root = &target->fs->root;
    return fb_vfs_path_string(p, root, buf, size);
}

static int link_exe(const struct pnode *n, char *buf, size_t size)
{
    struct ptarget p;
    int r = resolve_private(n, &p);
    if (r < 0)
        return r;
    if (!p.t->mm || !p.t->mm->exe)
        return -ENOENT;
    return snprintf(buf, size, "%s", p.t->mm->exe);
}

static int get_exe(const struct pnode *n, struct fb_path *out)
{
    struct ptarget p;
    int r = resolve_private(n, &p);
    if (r < 0)
        return r;
    if (!p.t->mm || !p.t->mm->exe || !p.t->fs)
        return -ENOENT;
    /* mm->exe is absolute: walked from the target's root, as the loader found it. */
    return fb_vfs_lookup(p.t, AT_FDCWD, p.t->mm->exe, FB_LOOKUP_FOLLOW, out, NULL, NULL);
}

static int fs_path(const struct pnode *n, bool cwd, struct fb_path **out, struct fb_task **t)
{
    struct ptarget p;
    int r = resolve_private(n, &p);
    if (r < 0)
        return r;
    if (!p.t->fs)
        return -ENOENT;
    *out = cwd ? &p.t->fs->cwd : &p.t->fs->root;
    *t = p.t;
    return 0;
}

static int link_cwd(const struct pnode *n, char *buf, size_t size)
{
    struct fb_path *p;
    struct fb_task *t;
    int r = fs_path(n, true, &p, &t);
    return r < 0 ? r : path_text(p, t, buf, size);
}

static int get_cwd(const struct pnode *n, struct fb_path *out)
{
    struct fb_path *p;
    struct fb_task *t;
    int r = fs_path(n, true, &p, &t);
    if (r == 0)
        fb_path_copy(out, p);
    return r;
}

static int link_root(const struct pnode *n, char *buf, size_t size)
{
    struct fb_path *p;
    struct fb_task *t;
    int r = fs_path(n, false, &p, &t);
    return r < 0 ? r : path_text(p, t, buf, size);
}

static int get_root(const struct pnode *n, struct fb_path *out)
{
    struct fb_path *p;
    struct fb_task *t;
    int r = fs_path(n, false, &p, &t);
    if (r == 0)
        fb_path_copy(out, p);
    return r;
}

static bool file_has_path(const struct fb_file *f)
{
    return f->path.mnt && f->path.dentry;
}

static int fd_target(const struct pnode *n, struct fb_file **f, struct fb_task **t)
{
    struct ptarget p;
    int r = resolve_private(n, &p);
    if (r < 0)
        return r;
    *f = task_file(p.t, n->fd, NULL);
    *t = p.t;
    return *f ? 0 : -ENOENT;
}

static int link_fd(const struct pnode *n, char *buf, size_t size)
{
    struct fb_file *f;
    struct fb_task *t;
    int r = fd_target(n, &f, &t);
    if (r < 0)
        return r;
    if (file_has_path(f))
        return path_text(&f->path, t, buf, size);
    return snprintf(buf, size, "%s", f->anon_name ? f->anon_name : "anon_inode:[unknown]");
}

/* Opening /proc/<pid>/fd/<n> reopens the file's path. Files without one (pipes, sockets, anon)
 * get plain symlink inodes instead, so their readlink text still shows. */
static int get_fd(const struct pnode *n, struct fb_path *out)
{
    struct fb_file *f;
    struct fb_task *t;
    int r = fd_target(n, &f, &t);
    if (r < 0)
        return r;
    if (!file_has_path(f))
        return -ENOENT;
    fb_path_copy(out, &f->path);
    return 0;
}

/* ---- the tree -------------------------------------------------------------------------------- */

/* clang-format off */
#define FILE_GEN(nm, m, g)  {.name = nm, .kind = PK_FILE, .mode = m, .gen = g}
#define FILE_TEXT(nm, m, t) {.name = nm, .kind = PK_FILE, .mode = m, .text = t}
#define DIR_ENT(nm, m, c)   {.name = nm, .kind = PK_DIR, .mode = m, .children = c}
#define END_ENT             {.name = NULL}
/* clang-format on */

static const struct pent random_ents[] = {
    FILE_GEN("boot_id", 0444, gen_boot_id),
    FILE_TEXT("entropy_avail", 0444, "256\n"),
    FILE_TEXT("poolsize", 0444, "256\n"),
    FILE_GEN("uuid", 0444, gen_uuid),
    END_ENT,
};

static const struct pent kernel_ents[] = {
    FILE_TEXT("cap_last_cap", 0444, STR(FB_PROCFS_CAP_LAST_CAP) "\n"),
    FILE_GEN("domainname", 0444, gen_domainname),
    FILE_GEN("hostname", 0444, gen_hostname),
    FILE_TEXT("ngroups_max", 0444, "65536\n"),
    FILE_TEXT("osrelease", 0444, FB_UNAME_RELEASE "\n"),
    FILE_TEXT("ostype", 0444, FB_UNAME_SYSNAME "\n"),
    FILE_GEN("pid_max", 0444, gen_pid_max),
    DIR_ENT("random", 0555, random_ents),
    FILE_TEXT("version", 0444, FB_UNAME_VERSION "\n"),
    END_ENT,
};

static const struct pent vm_ents[] = {
    FILE_TEXT("max_map_count", 0444, "65530\n"),
    FILE_TEXT("mmap_min_addr", 0444, "65536\n"),
    FILE_TEXT("overcommit_memory", 0444, "0\n"),
    END_ENT,
};

static const struct pent fs_ents[] = {
    FILE_TEXT("file-max", 0444, "9223372036854775807\n"),
    FILE_TEXT("nr_open", 0444, "1048576\n"),
    END_ENT,
};

static const struct pent net_core_ents[] = {
    FILE_TEXT("somaxconn", 0444, "4096\n"),
    END_ENT,
};

static const struct pent net_ents[] = {
    DIR_ENT("core", 0555, net_core_ents),
    END_ENT,
};

static const struct pent sys_ents[] = {
    DIR_ENT("fs", 0555, fs_ents),
    DIR_ENT("kernel", 0555, kernel_ents),
    DIR_ENT("net", 0555, net_ents),
    DIR_ENT("vm", 0555, vm_ents),
    END_ENT,
};

static const struct pent root_ents[] = {
    FILE_GEN("cpuinfo", 0444, gen_cpuinfo),
    FILE_GEN("filesystems", 0444, gen_filesystems),
    FILE_GEN("loadavg", 0444, gen_loadavg),
    FILE_GEN("meminfo", 0444, gen_meminfo),
    {.name = "mounts", .kind = PK_LINK, .mode = 0777, .text = "self/mounts"},
    {.name = "self", .kind = PK_LINK, .mode = 0777, .link = link_self},
    FILE_GEN("stat", 0444, gen_kstat),
    DIR_ENT("sys", 0555, sys_ents),
    {.name = "thread-self", .kind = PK_LINK, .mode = 0777, .link = link_thread_self},
    FILE_GEN("uptime", 0444, gen_uptime),
    FILE_GEN("version", 0444, gen_version),
    END_ENT,
};

static const struct pent root_ent = DIR_ENT("/", 0555, root_ents);

static const struct pent fd_link_ent = {
    .name = "", .kind = PK_FD_LINK, .mode = 0700, .link = link_fd, .get_link = get_fd};
static const struct pent fdinfo_ent = {
    .name = "", .kind = PK_FDINFO, .mode = 0444, .gen = gen_fdinfo};

static const struct pent pid_ents[] = {
    {.name = "auxv", .kind = PK_FILE, .mode = 0400, .gen = gen_auxv, .private = true},
    FILE_TEXT("cgroup", 0444, "0::/\n"),
    FILE_GEN("cmdline", 0444, gen_cmdline),
    {.name = "comm", .kind = PK_FILE, .mode = 0644, .gen = gen_comm, .write = write_comm},
    {.name = "cwd", .kind = PK_MAGIC, .mode = 0777, .link = link_cwd, .get_link = get_cwd},
    {.name = "environ", .kind = PK_FILE, .mode = 0400, .gen = gen_environ, .private = true},
    {.name = "exe", .kind = PK_MAGIC, .mode = 0777, .link = link_exe, .get_link = get_exe},
    {.name = "fd", .kind = PK_FD_DIR, .mode = 0500, .private = true},
    {.name = "fdinfo", .kind = PK_FDINFO_DIR, .mode = 0500, .private = true},
    FILE_GEN("limits", 0444, gen_limits),
    FILE_TEXT("loginuid", 0444, "4294967295"),
    FILE_GEN("maps", 0444, gen_maps),
    FILE_GEN("mountinfo", 0444, gen_mountinfo),
    FILE_GEN("mounts", 0444, gen_mounts),
    FILE_TEXT("oom_score", 0444, "0\n"),
    {.name = "oom_score_adj",
     .kind = PK_FILE,
     .mode = 0644,
     .text = "0\n",
     .write = write_oom_score_adj},
    {.name = "root", .kind = PK_MAGIC, .mode = 0777, .link = link_root, .get_link = get_root},
    FILE_GEN("stat", 0444, gen_stat),
    FILE_GEN("statm", 0444, gen_statm),
    FILE_GEN("status", 0444, gen_status),
    {.name = "task", .kind = PK_TASK_DIR, .mode = 0555, .process_only = true},
    FILE_TEXT("wchan", 0444, "0"),
    END_ENT,
};

static const struct pent pid_dir_ent = {
    .name = "", .kind = PK_PID_DIR, .mode = 0555, .children = pid_ents};

/* ---- directory operations -------------------------------------------------------------------- */

static int lookup_pid(const struct pnode *dir, const char *name, struct pnode *n)
{
    int id = name_to_int(name);
    struct fb_thread_group *tg;
    struct fb_task *t;

    (void)dir;
    if (id <= 0)
        return -ENOENT;
    tg = fb_tg_lookup(id);
    if (tg) {
        n->tgid = id;
        n->start_ns = tg->start_mono_ns;
    } else {
        /* /proc/<tid> of a non-leader thread: reachable, not listed (like Linux). */
        t = fb_task_lookup(id);
        if (!t || !t->tg || t->tg->state != FB_TG_LIVE)
            return -ENOENT;
        n->tgid = t->tg->tgid;
        n->tid = id;
        n->start_ns = t->tg->start_mono_ns;
    }
    n->ent = &pid_dir_ent;
    return 0;
}

static int dir_lookup(struct fb_inode *dir, const char *name, struct fb_inode **out)
{
    const struct pnode *d = dir->priv;
    struct pnode n = *d;
    struct ptarget p;
    const struct pent *e;
    mode_t perm;
    bool magic = false;
    int r = 0, id;

    n.ent = NULL;
    n.fd = -1;
    if (d->tgid && resolve(d, &p) < 0)
        return -ENOENT;
    switch (d->ent->kind) {
    case PK_DIR:
    case PK_PID_DIR:
        for (e = d->ent->children; e->name; e++) {
            if (strcmp(e->name, name) != 0 || (e->process_only && d->in_task))
                continue;
            n.ent = e;
            break;
        }
        if (!n.ent && d->ent == &root_ent)
            r = lookup_pid(d, name, &n);
        break;
    case PK_TASK_DIR: {
        struct fb_task *t;
        id = name_to_int(name);
        t = id > 0 ? fb_task_lookup(id) : NULL;
        if (!t || t->tg != p.tg)
            return -ENOENT;
        n.ent = &pid_dir_ent;
        n.tid = id;
        n.in_task = true;
        break;
    }
    case PK_FD_DIR:
    case PK_FDINFO_DIR: {
        struct fb_file *f;
        if (!may_access(p.tg))
            return -EACCES;
        id = name_to_int(name);
        f = task_file(p.t, id, NULL);
        if (!f)
            return -ENOENT;
        n.fd = id;
        n.ent = d->ent->kind == PK_FD_DIR ? &fd_link_ent : &fdinfo_ent;
        magic = file_has_path(f);
        break;
    }
    default:
        return -ENOTDIR;
    }
    if (r < 0)
        return r;
    if (!n.ent)
        return -ENOENT;
    perm = n.ent->mode;
    if (n.ent->kind == PK_MAGIC)
        magic = true;
    if (n.ent->kind == PK_FD_LINK) {
        /* lr-x------ / l-wx------ / lrwx------ by the file's access mode, like Linux. */
        struct fb_file *f = task_file(p.t, n.fd, NULL);
        unsigned acc = f->flags & O_ACCMODE;
        perm = (acc != O_WRONLY ? 0500 : 0) | (acc != O_RDONLY ? 0200 : 0);
    }
    *out = make_inode(dir->sb, &n, child_ino(dir->st.ino, name), perm, magic);
    return *out ? 0 : -ENOMEM;
}

static int dir_open(struct fb_inode *ino, struct fb_file *f)
{
    const struct pnode *n = ino->priv;
    if (n->tgid) {
        struct ptarget p;
        if (resolve(n, &p) < 0)
            return -ENOENT;
        if (n->ent->private && !may_access(p.tg))
            return -EACCES;
    }
    f->ops = &dir_fops;
    f->priv = NULL;
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Emit numbered entries ids[] (sorted) from position *pos on, where entry id sits at
 * base + id. Returns 0 (stopped when the sink is full). */
static int emit_ids(struct fb_dirent_sink *sink, int64_t *pos, int64_t base, const int *ids,
                    size_t n, uint64_t dir_ino, unsigned dtype)
{
    size_t i;
    for (i = 0; i < n; i++) {
        char name[16];
        if (base + ids[i] < *pos)
            continue;
        snprintf(name, sizeof(name), "%d", ids[i]);
        if (!fb_dirent_emit(sink, name, child_ino(dir_ino, name), dtype, base + ids[i] + 1))
            return 0;
        *pos = base + ids[i] + 1;
    }
    return 0;
}

static int readdir_pids(struct fb_dirent_sink *sink, int64_t *pos, uint64_t dir_ino)
{
    struct fb_list *l;
    size_t n = 0, cap = 0;
    int *ids = NULL, r;

    fb_list_for_each(l, fb_tg_list())
    {
        struct fb_thread_group *tg = fb_list_entry(l, struct fb_thread_group, all_node);
        if (tg->state != FB_TG_LIVE || tg->tgid <= 0)
            continue;
        if (n == cap) {
            int *m = realloc(ids, (cap = cap ? cap * 2 : 64) * sizeof(*ids));
            if (!m) {
                free(ids);
                return -ENOMEM;
            }
            ids = m;
        }
        ids[n++] = tg->tgid;
    }
    qsort(ids, n, sizeof(*ids), cmp_int);
    r = emit_ids(sink, pos, PID_POS, ids, n, dir_ino, DT_DIR);
    free(ids);
    return r;
}

static int readdir_tids(struct fb_dirent_sink *sink, int64_t *pos, struct fb_thread_group *tg,
                        uint64_t dir_ino)
{
    struct fb_list *l;
    size_t n = 0, cap = 0;
    int *ids = NULL, r;

    fb_list_for_each(l, &tg->threads)
    {
        struct fb_task *t = fb_list_entry(l, struct fb_task, tg_node);
        if (t->state == FB_TASK_EXITED)
            continue;
        if (n == cap) {
            int *m = realloc(ids, (cap = cap ? cap * 2 : 16) * sizeof(*ids));
            if (!m) {
                free(ids);
                return -ENOMEM;
            }
            ids = m;
        }
        ids[n++] = t->tid;
    }
    qsort(ids, n, sizeof(*ids), cmp_int);
    r = emit_ids(sink, pos, 2, ids, n, dir_ino, DT_DIR);
    free(ids);
    return r;
}

static int dir_readdir(struct fb_file *f, struct fb_dirent_sink *sink, int64_t *pos)
{
    const struct pnode *n = f->inode->priv;
    uint64_t ino = f->inode->st.ino;
    struct ptarget p = {0};

    if (n->tgid && resolve(n, &p) < 0)
        return -ENOENT;
    if (*pos < 0)
        return -EINVAL;
    if (*pos == 0) {
        if (!fb_dirent_emit(sink, ".", ino, DT_DIR, 1))
            return 0;
        *pos = 1;
    }
    if (*pos == 1) {
        struct fb_dentry *d = f->path.dentry;
        uint64_t pino = d && d->parent && d->parent->inode ? d->parent->inode->st.ino : ino;
        if (!fb_dirent_emit(sink, "..", pino, DT_DIR, 2))
            return 0;
        *pos = 2;
    }
    switch (n->ent->kind) {
    case PK_DIR:
    case PK_PID_DIR: {
        const struct pent *c = n->ent->children;
        int64_t i, count = 0;
        while (c[count].name)
            count++;
        for (i = *pos - 2; i >= 0 && i < count; i++) {
            if (c[i].process_only && n->in_task)
                continue;
            if (!fb_dirent_emit(sink, c[i].name, child_ino(ino, c[i].name), kind_dtype(c[i].kind),
                                i + 3))
                return 0;
            *pos = i + 3;
        }
        if (n->ent != &root_ent)
            return 0;
        if (*pos < PID_POS)
            *pos = PID_POS;
        return readdir_pids(sink, pos, ino);
    }
    case PK_TASK_DIR:
        return readdir_tids(sink, pos, p.tg, ino);
    case PK_FD_DIR:
    case PK_FDINFO_DIR: {
        struct fb_fdtable *ft = p.t->files;
        int64_t fd;
        if (!may_access(p.tg))
            return -EACCES;
        for (fd = *pos - 2; ft && fd < ft->size; fd++) {
            char name[16];
            if (!ft->fds[fd].file)
                continue;
            snprintf(name, sizeof(name), "%d", (int)fd);
            if (!fb_dirent_emit(sink, name, child_ino(ino, name),
                                n->ent->kind == PK_FD_DIR ? DT_LNK : DT_REG, fd + 3))
                return 0;
            *pos = fd + 3;
        }
        return 0;
    }
    default:
        return -ENOTDIR;
    }
}

/* ---- file operations ------------------------------------------------------------------------- */

static int generate(const struct pnode *n, struct fb_pbuf *b)
{
    int r = 0;
    fb_pbuf_reset(b);
    if (n->ent->gen)
        r = n->ent->gen(b, n);
    else if (n->ent->text)
        fb_pbuf_write(b, n->ent->text, strlen(n->ent->text));
    if (r == 0 && b->oom)
        r = -ENOMEM;
    return r;
}

static int file_open(struct fb_inode *ino, struct fb_file *f)
{
    const struct pnode *n = ino->priv;
    unsigned acc = f->flags & O_ACCMODE;
    struct pfile *pf;
    int r;

    if (acc != O_RDONLY && !n->ent->write)
        return -EACCES;
    if (n->tgid) {
        struct ptarget p;
        r = resolve(n, &p);
        if (r < 0)
            return r;
        if (n->ent->private && !may_access(p.tg))
            return -EACCES;
    }
    pf = calloc(1, sizeof(*pf));
    if (!pf)
        return -ENOMEM;
    if (acc != O_WRONLY) {
        r = generate(n, &pf->buf);
        if (r < 0) {
            fb_pbuf_free(&pf->buf);
            free(pf);
            return r;
        }
    } else {
        pf->stale = true;
    }
    f->ops = &file_fops;
    f->priv = pf;
    return 0;
}

static int64_t file_read(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    struct pfile *pf = f->priv;
    const struct pnode *n = f->inode->priv;
    int64_t got;

    if (*off < 0)
        return -EINVAL;
    if (*off == 0 && pf->stale) {
        int r = generate(n, &pf->buf);
        if (r < 0)
            return r;
    }
    pf->stale = true;
    if ((uint64_t)*off >= pf->buf.len)
        return 0;
    got = fb_uio_copy_to(u, pf->buf.data + *off, pf->buf.len - (size_t)*off);
    if (got > 0)
        *off += got;
    return got;
}

static int64_t file_write(struct fb_file *f, struct fb_uio *u, int64_t *off)
{
    struct pfile *pf = f->priv;
    const struct pnode *n = f->inode->priv;
    char buf[512];
    size_t total = u->resid;
    int64_t got;
    int r;

    if (!n->ent->write)
        return -EINVAL;
    got = fb_uio_copy_from(u, buf, FB_MIN(total, sizeof(buf) - 1));
    if (got < 0)
        return got;
    buf[got] = 0;
    r = n->ent->write(n, buf, (size_t)got);
    if (r < 0)
        return r;
    /* Like Linux's comm and oom_score_adj: one write is one value; the excess is accepted. */
    fb_uio_advance(u, u->resid);
    pf->stale = true;
    *off += (int64_t)total;
    return (int64_t)total;
}

static void file_release(struct fb_file *f)
{
    struct pfile *pf = f->priv;
    if (!pf)
        return;
    fb_pbuf_free(&pf->buf);
    free(pf);
    f->priv = NULL;
}

/* ---- link and common inode operations -------------------------------------------------------- */

static int link_readlink(struct fb_inode *ino, char *buf, size_t size)
{
    const struct pnode *n = ino->priv;
    char *tmp;
    int len;

    if (n->ent->text) {
        len = (int)FB_MIN(strlen(n->ent->text), size);
        memcpy(buf, n->ent->text, (size_t)len);
        return len;
    }
    if (!n->ent->link)
        return -EINVAL;
    tmp = malloc(FB_PATH_MAX);
    if (!tmp)
        return -ENOMEM;
    len = n->ent->link(n, tmp, FB_PATH_MAX);
    if (len >= FB_PATH_MAX)
        len = -ENAMETOOLONG;
    if (len > 0) {
        len = (int)FB_MIN((size_t)len, size);
        memcpy(buf, tmp, (size_t)len);
    }
    free(tmp);
    return len;
}

static int link_get_link(struct fb_inode *ino, struct fb_mount **mnt, struct fb_dentry **d)
{
    const struct pnode *n = ino->priv;
    struct fb_path p = {0};
    int r;

    if (!n->ent->get_link)
        return -ENOENT;
    r = n->ent->get_link(n, &p);
    if (r < 0)
        return r;
    *mnt = p.mnt;
    *d = p.dentry;
    return 0;
}

/* stat of a process entry: the owner follows setuid, and a vanished process is gone. */
static int p_getattr(struct fb_inode *ino)
{
    const struct pnode *n = ino->priv;
    struct ptarget p;

    if (!n->tgid)
        return 0;
    if (resolve(n, &p) < 0)
        return -ENOENT;
    if ((n->ent->kind == PK_FD_LINK || n->ent->kind == PK_FDINFO) && !task_file(p.t, n->fd, NULL))
        return -ENOENT;
    ino->st.uid = p.tg->euid;
    ino->st.gid = p.tg->egid;
    return 0;
}

/* Like Linux's proc_setattr: no chmod/chown, and O_TRUNC (a size change) is accepted and does
 * nothing, so `echo x > /proc/self/comm` works. */
static int p_setattr(struct fb_inode *ino, unsigned mask, const struct fb_stat *st)
{
    (void)ino;
    (void)st;
    if (mask & (FB_SETATTR_MODE | FB_SETATTR_UID | FB_SETATTR_GID))
        return -EPERM;
    return 0;
}

static void p_release(struct fb_inode *ino)
{
    free(ino->priv);
    ino->priv = NULL;
}

static const struct fb_inode_ops dir_iops = {
    .lookup = dir_lookup,
    .getattr = p_getattr,
    .open = dir_open,
    .release = p_release,
};

static const struct fb_inode_ops file_iops = {
    .getattr = p_getattr,
    .setattr = p_setattr,
    .open = file_open,
    .release = p_release,
};

static const struct fb_inode_ops link_iops = {
    .readlink = link_readlink,
    .getattr = p_getattr,
    .release = p_release,
};

static const struct fb_inode_ops magic_iops = {
    .readlink = link_readlink,
    .getattr = p_getattr,
    .get_link = link_get_link,
    .release = p_release,
};

static const struct fb_file_ops dir_fops = {
    .readdir = dir_readdir,
    .llseek = fb_generic_llseek, /* positions are cookies; SEEK_SET/SEEK_CUR for rewinddir */
};

static const struct fb_file_ops file_fops = {
    .read = file_read,
    .write = file_write,
    .llseek = fb_generic_llseek, /* st.size is 0 like Linux: SEEK_END is relative to 0 */
    .release = file_release,
};

/* ---- the filesystem -------------------------------------------------------------------------- */

static int proc_statfs(struct fb_sb *sb, struct statfs *out)
{
    (void)sb;
    memset(out, 0, sizeof(*out));
    out->f_type = PROC_SUPER_MAGIC;
    out->f_bsize = 4096;
    out->f_frsize = 4096;
    out->f_namelen = FB_NAME_MAX;
    return 0;
}

/* Create a procfs instance: its superblock and root dentry (one reference, for the mount). Also
 * gathers the host facts /proc needs while the Sentry may still make those calls, and picks the
 * boot id. Returns 0 or -ENOMEM. */
int fb_procfs_new(struct fb_sb **sbp, struct fb_dentry **rootp)
{
    struct pnode n = {.ent = &root_ent, .fd = -1};
    struct fb_inode *ino;
    struct fb_dentry *d;
    struct fb_sb *sb = calloc(1, sizeof(*sb));

    if (!sb)
        return -ENOMEM;
    sb->type = "proc";
    sb->dev = fb_vfs_new_dev();
    sb->magic = PROC_SUPER_MAGIC;
    sb->cache_dentries = false; /* contents change with every process */
    sb->cache_negative = false;
    sb->revalidate = true; /* getattr notices processes that went away */
    sb->statfs = proc_statfs;

    fb_procfs_host_init();
    boot_id_init();

    ino = make_inode(sb, &n, ROOT_INO, root_ent.mode, false);
    if (!ino) {
        free(sb);
        return -ENOMEM;
    }
    d = fb_dentry_new(NULL, NULL, ino);
    if (!d) {
        fb_inode_put(ino);
        free(sb);
        return -ENOMEM;
    }
    *sbp = sb;
    *rootp = d;
    return 0;
}
