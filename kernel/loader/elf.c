/* ELF and #! loading (see loader.h). Everything read from the file is hostile: every offset,
 * size and address is checked before use. */
#include "kernel/loader/loader.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "kernel/util/cleanup.h"
#include "kernel/util/log.h"
#include "kernel/vfs/vfs.h"

#define MAX_SCRIPT_DEPTH 4
#define MAX_PHNUM        128
#define MAX_ARG_STRLEN   (32 * 4096)
#define STACK_INITIAL    (128 * 1024)
#define ELF_ET_DYN_BASE  0x555555554000ull
#define PAGE             FB_PAGE_SIZE

static uint64_t rand_pages(unsigned bits)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != sizeof(r))
        r = 0;
    return (r & ((1ull << bits) - 1)) * PAGE;
}

static const char *machine_name(unsigned m)
{
    switch (m) {
    case EM_386:
        return "i386";
    case EM_ARM:
        return "arm";
    case EM_AARCH64:
        return "aarch64";
    case EM_RISCV:
        return "riscv";
    case EM_PPC64:
        return "ppc64";
    case EM_S390:
        return "s390x";
    case EM_MIPS:
        return "mips";
    default:
        return "another architecture";
    }
}

int fb_loader_check_elf(const void *buf, size_t len, uint64_t file_size, char *why, size_t whylen)
{
    const Elf64_Ehdr *eh = buf;
    uint64_t phend;

    if (len < EI_NIDENT || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0) {
        snprintf(why, whylen, "not an ELF executable or script");
        return -ENOEXEC;
    }
    if (eh->e_ident[EI_CLASS] != ELFCLASS64) {
        if (len >= sizeof(Elf32_Ehdr)) {
            const Elf32_Ehdr *e32 = buf;
            snprintf(why, whylen, "32-bit ELF for %s; fnbox runs x86_64 (64-bit) programs",
                     machine_name(e32->e_machine));
        } else {
            snprintf(why, whylen, "32-bit ELF; fnbox runs x86_64 (64-bit) programs");
        }
        return -ENOEXEC;
    }
    if (len < sizeof(Elf64_Ehdr)) {
        snprintf(why, whylen, "truncated ELF header");
        return -ENOEXEC;
    }
    if (eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_X86_64) {
        snprintf(why, whylen, "ELF for %s; fnbox runs x86_64 programs",
                 eh->e_ident[EI_DATA] != ELFDATA2LSB ? "a big-endian machine"
                                                     : machine_name(eh->e_machine));
        return -ENOEXEC;
    }
    if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN) {
        snprintf(why, whylen, "ELF file is not an executable (type %u)", eh->e_type);
        return -ENOEXEC;
    }
    if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 || eh->e_phnum > MAX_PHNUM) {
        snprintf(why, whylen, "bad ELF program header table");
        return -ENOEXEC;
    }
    phend = eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
    if (phend < eh->e_phoff || phend > file_size) {
        snprintf(why, whylen, "ELF program headers beyond the end of the file");
        return -ENOEXEC;
    }
    return 0;
}

/* ---- opening ----------------------------------------------------------------------------------- */

static int open_exec(struct fb_task *t, int dirfd, const char *path, int atflags,
                     struct fb_file **out)
{
    struct fb_path p;
    struct fb_inode *ino;
    unsigned lf = (atflags & AT_SYMLINK_NOFOLLOW) ? 0 : FB_LOOKUP_FOLLOW;
    int r;

    if (atflags & AT_EMPTY_PATH)
        lf |= FB_LOOKUP_EMPTY;
    r = fb_vfs_lookup(t, dirfd, path, lf, &p, NULL, NULL);
    if (r < 0)
        return r;
    ino = p.dentry->inode;
    if (S_ISLNK(ino->st.mode))
        r = -ELOOP;
    else if (S_ISDIR(ino->st.mode))
        r = -EACCES;
    else if (!S_ISREG(ino->st.mode))
        r = -EACCES;
    else if (p.mnt->flags & FB_MNT_NOEXEC)
        r = -EACCES;
    else
        r = fb_vfs_permission(t, ino, 1);
    if (r == 0)
        r = fb_vfs_permission(t, ino, 4) == 0 ? 0 : -EACCES;
    if (r == 0)
        r = fb_vfs_open_path(&p, O_RDONLY, out);
    fb_path_put(&p);
    return r;
}

/* ---- mapping an ELF image ---------------------------------------------------------------------- */

struct elf_info {
    Elf64_Ehdr eh;
    Elf64_Phdr ph[MAX_PHNUM];
    uint64_t bias;     /* load bias */
    uint64_t lo, hi;   /* span of PT_LOAD segments (unbiased, page rounded) */
    uint64_t phdr_addr;
    uint64_t brk;      /* end of the highest segment (biased) */
    char interp[FB_PATH_MAX];
    bool has_interp;
};

static int read_elf(struct fb_file *f, struct elf_info *ei, char *why, size_t whylen)
{
    uint8_t hdr[sizeof(Elf64_Ehdr)];
    uint64_t size = f->inode->st.size;
    int64_t n;
    int i, r, nload = 0;

    n = fb_vfs_kernel_read(f, hdr, sizeof(hdr), 0);
    if (n < 0)
        return (int)n;
    r = fb_loader_check_elf(hdr, (size_t)n, size, why, whylen);
    if (r < 0)
        return r;
    memcpy(&ei->eh, hdr, sizeof(ei->eh));
    n = fb_vfs_kernel_read(f, ei->ph, ei->eh.e_phnum * sizeof(Elf64_Phdr), (int64_t)ei->eh.e_phoff);
    if (n != (int64_t)(ei->eh.e_phnum * sizeof(Elf64_Phdr))) {
        snprintf(why, whylen, "cannot read ELF program headers");
        return -EIO;
    }
    ei->lo = UINT64_MAX;
    ei->hi = 0;
    ei->has_interp = false;
    ei->phdr_addr = 0;
    for (i = 0; i < ei->eh.e_phnum; i++) {
        Elf64_Phdr *ph = &ei->ph[i];
        if (ph->p_type == PT_LOAD) {
            if (ph->p_filesz > ph->p_memsz || ph->p_offset + ph->p_filesz < ph->p_offset ||
                ph->p_offset + ph->p_filesz > size || ph->p_vaddr + ph->p_memsz < ph->p_vaddr ||
                ph->p_vaddr + ph->p_memsz > FB_TASK_SIZE ||
                ((ph->p_vaddr - ph->p_offset) & (PAGE - 1))) {
                snprintf(why, whylen, "bad ELF segment %d", i);
                return -ENOEXEC;
            }
            if (ph->p_memsz == 0)
                continue;
            nload++;
            ei->lo = FB_MIN(ei->lo, FB_PAGE_ROUND_DOWN(ph->p_vaddr));
            ei->hi = FB_MAX(ei->hi, FB_PAGE_ROUND_UP(ph->p_vaddr + ph->p_memsz));
        } else if (ph->p_type == PT_INTERP) {
            if (ph->p_filesz < 2 || ph->p_filesz > FB_PATH_MAX ||
                ph->p_offset + ph->p_filesz > size) {
                snprintf(why, whylen, "bad ELF interpreter path");
                return -ENOEXEC;
            }
            n = fb_vfs_kernel_read(f, ei->interp, ph->p_filesz, (int64_t)ph->p_offset);
            if (n != (int64_t)ph->p_filesz || ei->interp[ph->p_filesz - 1] != 0) {
                snprintf(why, whylen, "bad ELF interpreter path");
                return -ENOEXEC;
            }
            ei->has_interp = true;
        } else if (ph->p_type == PT_PHDR) {
            ei->phdr_addr = ph->p_vaddr;
        }
    }
    if (!nload) {
        snprintf(why, whylen, "ELF file has nothing to load");
        return -ENOEXEC;
    }
    return 0;
}

static int prot_of(uint32_t pf)
{
    return ((pf & PF_R) ? PROT_READ : 0) | ((pf & PF_W) ? PROT_WRITE : 0) |
           ((pf & PF_X) ? PROT_EXEC : 0);
}

/* Map the PT_LOAD segments of f into mm at ei->bias. */
static int map_elf(struct fb_mm *mm, struct fb_file *f, struct elf_info *ei, const char *name)
{
    struct fb_mappable *map = NULL;
    int i, r;

    if (!f->ops || !f->ops->mmap || f->ops->mmap(f, &map) < 0 || !map)
        return -ENOEXEC;
    for (i = 0; i < ei->eh.e_phnum; i++) {
        Elf64_Phdr *ph = &ei->ph[i];
        uint64_t start, fend, mend, off;
        int prot = prot_of(ph->p_flags);
        int64_t a;

        if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
            continue;
        start = FB_PAGE_ROUND_DOWN(ph->p_vaddr) + ei->bias;
        off = FB_PAGE_ROUND_DOWN(ph->p_offset);
        fend = ph->p_vaddr + ph->p_filesz + ei->bias;
        mend = FB_PAGE_ROUND_UP(ph->p_vaddr + ph->p_memsz) + ei->bias;
        if (ph->p_filesz) {
            map->ops->get(map);
            a = fb_mm_mmap(mm, start, FB_PAGE_ROUND_UP(fend) - start, prot,
                           MAP_PRIVATE | MAP_FIXED, map, off, PROT_READ | PROT_WRITE | PROT_EXEC,
                           name);
            if (a < 0) {
                r = (int)a;
                goto out;
            }
            /* Zero the tail of the last file page when the segment continues as bss. */
            if (ph->p_memsz > ph->p_filesz && (fend & (PAGE - 1)) && (prot & PROT_WRITE)) {
                r = fb_mm_zero_out(mm, fend, PAGE - (fend & (PAGE - 1)));
                if (r < 0)
                    goto out;
            }
            start = FB_PAGE_ROUND_UP(fend);
        }
        if (mend > start) {
            a = fb_mm_mmap(mm, start, mend - start, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                           NULL, 0, PROT_READ | PROT_WRITE | PROT_EXEC, NULL);
            if (a < 0) {
                r = (int)a;
                goto out;
            }
        }
        ei->brk = FB_MAX(ei->brk, ph->p_vaddr + ph->p_memsz + ei->bias);
        if (!ei->phdr_addr && ph->p_offset <= ei->eh.e_phoff &&
            ei->eh.e_phoff < ph->p_offset + ph->p_filesz)
            ei->phdr_addr = ph->p_vaddr + (ei->eh.e_phoff - ph->p_offset);
    }
    r = 0;
out:
    map->ops->put(map);
    return r;
}

/* Choose a load bias for an ET_DYN image and map it. */
static int load_image(struct fb_mm *mm, struct fb_file *f, struct elf_info *ei, bool main_prog,
                      const char *name)
{
    uint64_t span = ei->hi - ei->lo;

    ei->bias = 0;
    ei->brk = 0;
    if (ei->eh.e_type == ET_DYN) {
        uint64_t want = main_prog && ei->has_interp ? ELF_ET_DYN_BASE + rand_pages(16) : 0;
        /* Reserve the whole span first so that segments land together. */
        int64_t a = fb_mm_mmap(mm, want, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0,
                               PROT_READ | PROT_WRITE | PROT_EXEC, NULL);
        if (a < 0)
            return (int)a;
        ei->bias = (uint64_t)a - ei->lo;
    } else if (!fb_vma_range_free(&mm->vmas, ei->lo, ei->hi) || ei->lo < FB_MM_MIN_ADDR) {
        return -ENOMEM;
    }
    return map_elf(mm, f, ei, name);
}

/* ---- the initial stack ------------------------------------------------------------------------- */

struct stack_builder {
    struct fb_mm *mm;
    uint64_t sp;
    uint64_t floor;
};

bool fb_loader_vdso_off;

/* fnbox's vDSO image (kernel/loader/vdso/, embedded by vdso_blob.S). */
extern const char fb_vdso_image[], fb_vdso_image_end[];

/* Copy the vDSO into a private read+execute mapping named [vdso]; 0 when it is turned off. */
static int64_t map_vdso(struct fb_mm *mm)
{
    size_t len = (size_t)(fb_vdso_image_end - fb_vdso_image);
    int64_t a;
    int r;

    if (fb_loader_vdso_off)
        return 0;
    a = fb_mm_mmap(mm, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0,
                   PROT_READ | PROT_WRITE | PROT_EXEC, "[vdso]");
    if (a < 0)
        return a;
    r = fb_mm_copy_out(mm, (uint64_t)a, fb_vdso_image, len);
    if (r == 0)
        r = fb_mm_mprotect(mm, (uint64_t)a, FB_PAGE_ROUND_UP(len), PROT_READ | PROT_EXEC);
    return r < 0 ? r : a;
}

static int push_bytes(struct stack_builder *sb, const void *data, size_t len, uint64_t *addr)
{
    if (sb->sp - sb->floor < len)
        return -E2BIG;
    sb->sp -= len;
    if (fb_mm_copy_out(sb->mm, sb->sp, data, len) != 0)
        return -EFAULT;
    if (addr)
        *addr = sb->sp;
    return 0;
}

static uint64_t hwcap(void)
{
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    return d;
}

static int count_strings(char *const v[], size_t *total)
{
    int n = 0;
    for (; v && v[n]; n++) {
        size_t l = strlen(v[n]) + 1;
        if (l > MAX_ARG_STRLEN)
            return -E2BIG;
        *total += l;
    }
    return n;
}

static int build_stack(struct fb_task *t, struct fb_mm *mm, char *const argv[], char *const envp[],
                       const char *execfn, struct elf_info *ei, uint64_t interp_base,
                       uint64_t *sp_out)
{
    struct stack_builder sb;
    uint64_t stack_top = FB_TASK_SIZE - PAGE - rand_pages(14), execfn_addr, random_addr,
             platform_addr;
    size_t total = strlen(execfn) + 1;
    int argc, envc, i, r;
    uint64_t *vec;
    size_t nvec, k = 0;
    uint8_t rnd[16];
    uint64_t limit = t->tg->rlim[RLIMIT_STACK].rlim_cur;
    int64_t vdso_addr;

    if (limit == RLIM_INFINITY || limit > (1ull << 30))
        limit = 1ull << 30;
    if (limit < STACK_INITIAL)
        limit = STACK_INITIAL;
    argc = count_strings(argv, &total);
    if (argc < 0)
        return argc;
    envc = count_strings(envp, &total);
    if (envc < 0)
        return envc;
    if (total > limit / 4)
        return -E2BIG;

    /* The stack VMA: grows down on demand up to RLIMIT_STACK. */
    {
        uint64_t size = FB_PAGE_ROUND_UP(total + 64 * 1024) + STACK_INITIAL;
        int64_t a = fb_mm_mmap(mm, stack_top - size, size, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN, NULL, 0,
                               PROT_READ | PROT_WRITE | PROT_EXEC, "[stack]");
        if (a < 0)
            return (int)a;
        fb_vma_find(&mm->vmas, stack_top - 1)->flags |= FB_VMA_STACK;
        mm->stack_limit = limit;
        sb.floor = stack_top - size;
    }
    mm->stack_start = stack_top;
    mm->mmap_base = FB_PAGE_ROUND_DOWN(stack_top - FB_MAX(limit, 128ull << 20) - rand_pages(28));
    vdso_addr = map_vdso(mm);
    if (vdso_addr < 0)
        return (int)vdso_addr;
    sb.mm = mm;
    sb.sp = stack_top - 8;

    r = push_bytes(&sb, execfn, strlen(execfn) + 1, &execfn_addr);
    if (r < 0)
        return r;
    mm->env_end = sb.sp + 0;
    /* Strings: environment above arguments, like Linux. */
    {
        uint64_t *envaddr = calloc((size_t)envc + 1, sizeof(uint64_t));
        uint64_t *argaddr = calloc((size_t)argc + 1, sizeof(uint64_t));
        if (!envaddr || !argaddr) {
            free(envaddr);
            free(argaddr);
            return -ENOMEM;
        }
        mm->env_end = sb.sp;
        for (i = envc - 1; i >= 0 && r == 0; i--)
            r = push_bytes(&sb, envp[i], strlen(envp[i]) + 1, &envaddr[i]);
        mm->env_start = sb.sp;
        mm->arg_end = sb.sp;
        for (i = argc - 1; i >= 0 && r == 0; i--)
            r = push_bytes(&sb, argv[i], strlen(argv[i]) + 1, &argaddr[i]);
        mm->arg_start = sb.sp;
        if (r == 0)
            r = push_bytes(&sb, "x86_64", 7, &platform_addr);
        if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
            r = r ? r : -EIO;
        if (r == 0)
            r = push_bytes(&sb, rnd, sizeof(rnd), &random_addr);
        if (r < 0) {
            free(envaddr);
            free(argaddr);
            return r;
        }
        sb.sp &= ~15ull;

        /* argc, argv[], NULL, envp[], NULL, auxv pairs. */
        nvec = 1 + (size_t)argc + 1 + (size_t)envc + 1 + 2 * 24;
        vec = calloc(nvec, sizeof(uint64_t));
        if (!vec) {
            free(envaddr);
            free(argaddr);
            return -ENOMEM;
        }
        vec[k++] = (uint64_t)argc;
        for (i = 0; i < argc; i++)
            vec[k++] = argaddr[i];
        vec[k++] = 0;
        for (i = 0; i < envc; i++)
            vec[k++] = envaddr[i];
        vec[k++] = 0;
        free(envaddr);
        free(argaddr);
    }
    {
        size_t aux0 = k;
#define AUX(type, val)                                                                             \
    do {                                                                                           \
        vec[k++] = (type);                                                                         \
        vec[k++] = (val);                                                                          \
    } while (0)
        AUX(AT_HWCAP, hwcap());
        AUX(AT_PAGESZ, PAGE);
        AUX(AT_CLKTCK, 100);
        AUX(AT_PHDR, ei->phdr_addr + ei->bias);
        AUX(AT_PHENT, sizeof(Elf64_Phdr));
        AUX(AT_PHNUM, ei->eh.e_phnum);
        AUX(AT_BASE, interp_base);
        AUX(AT_FLAGS, 0);
        AUX(AT_ENTRY, ei->eh.e_entry + ei->bias);
        AUX(AT_UID, t->tg->uid);
        AUX(AT_EUID, t->tg->euid);
        AUX(AT_GID, t->tg->gid);
        AUX(AT_EGID, t->tg->egid);
        AUX(AT_SECURE, 0);
        AUX(AT_RANDOM, random_addr);
        AUX(AT_HWCAP2, 0);
        AUX(AT_EXECFN, execfn_addr);
        AUX(AT_PLATFORM, platform_addr);
        AUX(AT_MINSIGSTKSZ, (fb_platform_fpstate_size() + 1024 + 63) & ~63ull);
        if (vdso_addr)
            AUX(AT_SYSINFO_EHDR, (uint64_t)vdso_addr);
        AUX(AT_NULL, 0);
#undef AUX
        mm->auxv_len = (int)FB_MIN(k - aux0, FB_ARRAY_SIZE(mm->auxv));
        memcpy(mm->auxv, vec + aux0, (size_t)mm->auxv_len * sizeof(uint64_t));
    }
    /* Keep the final rsp 16-byte aligned at process entry. */
    sb.sp -= k * 8;
    sb.sp &= ~15ull;
    if (sb.sp < sb.floor) {
        free(vec);
        return -E2BIG;
    }
    if (fb_mm_copy_out(mm, sb.sp, vec, k * 8) != 0) {
        free(vec);
        return -EFAULT;
    }
    free(vec);
    *sp_out = sb.sp;
    return 0;
}

/* ---- #! scripts ---------------------------------------------------------------------------------- */

/* Parse "#!interp [arg]" from the first line. Returns 1 if a script, 0 if not, -errno. */
static int parse_shebang(const char *buf, size_t n, char *interp, size_t isz, char *arg,
                         size_t asz)
{
    size_t i = 2, end;
    const char *nl;

    if (n < 2 || buf[0] != '#' || buf[1] != '!')
        return 0;
    nl = memchr(buf, '\n', n);
    end = nl ? (size_t)(nl - buf) : n;
    while (i < end && (buf[i] == ' ' || buf[i] == '\t'))
        i++;
    {
        size_t s = i;
        while (i < end && buf[i] != ' ' && buf[i] != '\t')
            i++;
        if (i == s)
            return -ENOEXEC;
        if (i - s >= isz)
            return -ENAMETOOLONG;
        memcpy(interp, buf + s, i - s);
        interp[i - s] = 0;
    }
    while (i < end && (buf[i] == ' ' || buf[i] == '\t'))
        i++;
    {
        size_t e = end;
        while (e > i && (buf[e - 1] == ' ' || buf[e - 1] == '\t' || buf[e - 1] == '\r'))
            e--;
        if (e - i >= asz)
            return -E2BIG;
        memcpy(arg, buf + i, e - i);
        arg[e - i] = 0;
    }
    return 1;
}

/* ---- entry point ---------------------------------------------------------------------------------- */

static int load(struct fb_task *t, int dirfd, const char *path, char *const argv[],
                char *const envp[], int atflags, struct fb_exec_image *img, char *why,
                size_t whylen, int depth, const char *execfn)
{
    struct fb_file *f = NULL, *interp = NULL;
    struct elf_info *ei = NULL, *ii = NULL;
    struct fb_mm *mm = NULL;
    uint8_t head[256];
    int64_t n;
    int r;

    r = open_exec(t, dirfd, path, atflags, &f);
    if (r < 0)
        return r;
    n = fb_vfs_kernel_read(f, head, sizeof(head), 0);
    if (n < 0) {
        r = (int)n;
        goto out;
    }
    {
        char sinterp[256], sarg[256];
        r = parse_shebang((const char *)head, (size_t)n, sinterp, sizeof(sinterp), sarg,
                          sizeof(sarg));
        if (r < 0)
            goto out;
        if (r == 1) {
            /* argv becomes: interp [arg] path argv[1..] */
            char **nargv;
            int argc = 0, k = 0, i;
            if (depth >= MAX_SCRIPT_DEPTH) {
                r = -ELOOP;
                goto out;
            }
            while (argv && argv[argc])
                argc++;
            nargv = calloc((size_t)argc + 4, sizeof(char *));
            if (!nargv) {
                r = -ENOMEM;
                goto out;
            }
            nargv[k++] = sinterp;
            if (sarg[0])
                nargv[k++] = sarg;
            nargv[k++] = (char *)path;
            for (i = 1; i < argc; i++)
                nargv[k++] = argv[i];
            nargv[k] = NULL;
            fb_file_put(f);
            f = NULL;
            r = load(t, AT_FDCWD, sinterp, nargv, envp, 0, img, why, whylen, depth + 1, execfn);
            free(nargv);
            if (r == -ENOENT)
                snprintf(why, whylen, "script interpreter %s not found", sinterp);
            return r;
        }
    }
    ei = calloc(1, sizeof(*ei));
    ii = calloc(1, sizeof(*ii));
    if (!ei || !ii) {
        r = -ENOMEM;
        goto out;
    }
    r = read_elf(f, ei, why, whylen);
    if (r < 0)
        goto out;
    mm = fb_mm_new(&fb_k->mf, fb_k->plat);
    if (!mm) {
        r = -ENOMEM;
        goto out;
    }
    {
        char name[FB_PATH_MAX];
        if (fb_vfs_path_string(&f->path, NULL, name, sizeof(name)) < 0)
            snprintf(name, sizeof(name), "%s", path);
        r = load_image(mm, f, ei, true, name);
        if (r < 0) {
            snprintf(why, whylen, "cannot map the program's segments");
            goto out;
        }
        free(mm->exe);
        mm->exe = strdup(name);
    }
    mm->brk_start = mm->brk = FB_PAGE_ROUND_UP(ei->brk) + rand_pages(12);
    img->entry = ei->eh.e_entry + ei->bias;
    {
        uint64_t interp_base = 0;
        if (ei->has_interp) {
            char iname[FB_PATH_MAX];
            r = open_exec(t, AT_FDCWD, ei->interp, 0, &interp);
            if (r < 0) {
                snprintf(why, whylen, "its ELF interpreter %s: %s", ei->interp, strerror(-r));
                goto out;
            }
            r = read_elf(interp, ii, why, whylen);
            if (r < 0)
                goto out;
            if (ii->eh.e_type != ET_DYN && ii->eh.e_type != ET_EXEC) {
                r = -ELIBBAD;
                goto out;
            }
            ii->has_interp = false;
            if (fb_vfs_path_string(&interp->path, NULL, iname, sizeof(iname)) < 0)
                snprintf(iname, sizeof(iname), "%s", ei->interp);
            r = load_image(mm, interp, ii, false, iname);
            if (r < 0) {
                snprintf(why, whylen, "cannot map the ELF interpreter");
                goto out;
            }
            interp_base = ii->bias + ii->lo;
            if (ii->eh.e_type == ET_EXEC)
                interp_base = 0;
            img->entry = ii->eh.e_entry + ii->bias;
        }
        r = build_stack(t, mm, argv, envp, execfn, ei, interp_base, &img->sp);
        if (r < 0) {
            if (r == -E2BIG)
                snprintf(why, whylen, "argument list too long");
            goto out;
        }
    }
    {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        snprintf(img->comm, sizeof(img->comm), "%s", base);
    }
    mm->premap = true;
    img->mm = mm;
    mm = NULL;
    r = 0;
out:
    if (mm)
        fb_mm_put(mm);
    fb_file_put(f);
    fb_file_put(interp);
    free(ei);
    free(ii);
    return r;
}

int fb_loader_load(struct fb_task *t, int dirfd, const char *path, char *const argv[],
                   char *const envp[], int atflags, struct fb_exec_image *img, char *why,
                   size_t whylen)
{
    char dummy[8];
    if (!why) {
        why = dummy;
        whylen = sizeof(dummy);
    }
    why[0] = 0;
    memset(img, 0, sizeof(*img));
    return load(t, dirfd, path, argv, envp, atflags, img, why, whylen, 0, path);
}
