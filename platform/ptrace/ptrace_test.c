/* Unit tests for the ptrace platform: stubs, injected mappings, syscall interception, faults,
 * interrupts and threads sharing an address space. Needs ptrace (skips without it). */
#include "fbtest.h"
#include "platform/platform.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static struct fb_platform *plat;
static int memfd;
static uint8_t *mem; /* the memory file mapped in this process */

#define CODE_ADDR  0x400000ULL
#define STACK_ADDR 0x500000ULL

static void cpu_init(struct fb_cpu *cpu, uint64_t rip)
{
    memset(cpu, 0, sizeof(*cpu));
    cpu->regs.rip = rip;
    cpu->regs.rsp = STACK_ADDR + 4096 - 64;
    cpu->regs.cs = 0x33;
    cpu->regs.ss = 0x2b;
    cpu->regs.eflags = 0x202;
    cpu->fp = calloc(1, fb_platform_fpstate_size());
    fb_platform_fpstate_init(cpu->fp);
    cpu->fp_dirty = true;
}

/* getppid(); exit(7)  — and a loop and a fault at fixed offsets. */
static const uint8_t code[] = {
    0xb8, 0x6e, 0x00, 0x00, 0x00, /* 0: mov $110,%eax (getppid) */
    0x0f, 0x05,                   /* 5: syscall */
    0x48, 0x89, 0xc7,             /* 7: mov %rax,%rdi */
    0xb8, 0x3c, 0x00, 0x00, 0x00, /* 10: mov $60,%eax */
    0x0f, 0x05,                   /* 15: syscall */
    0xeb, 0xfe,                   /* 17: jmp . (loop) */
    0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x70, 0x00, /* 19: mov 0x700000,%rax (fault) */
    0xeb, 0xfe,
};

static void setup_as(struct fb_as **as, struct fb_pctx **ctx)
{
    *as = NULL;
    *ctx = NULL;
    if (fb_as_new(plat, as) != 0 || plat->ops->ctx_new(plat, ctx) != 0)
        return;
    if (plat->ops->map(*ctx, *as, CODE_ADDR, 4096, PROT_READ | PROT_EXEC, 0) != 0 ||
        plat->ops->map(*ctx, *as, STACK_ADDR, 4096, PROT_READ | PROT_WRITE, 4096) != 0) {
        plat->ops->ctx_release(*ctx);
        *ctx = NULL;
    }
}

static void test_syscall_interception(void)
{
    struct fb_as *as;
    struct fb_pctx *ctx;
    struct fb_cpu cpu;
    struct fb_stop stop;

    setup_as(&as, &ctx);
    FBT_CHECK(as && ctx);
    cpu_init(&cpu, CODE_ADDR);
    FBT_CHECK_EQ(plat->ops->switch_to(ctx, as, &cpu, &stop), FB_SWITCH_SYSCALL);
    FBT_CHECK_EQ(cpu.regs.orig_rax, 110);
    FBT_CHECK_EQ(cpu.regs.rip, CODE_ADDR + 7);
    cpu.regs.rax = 4242; /* the Sentry's answer */
    FBT_CHECK_EQ(plat->ops->switch_to(ctx, as, &cpu, &stop), FB_SWITCH_SYSCALL);
    FBT_CHECK_EQ(cpu.regs.orig_rax, 60);
    FBT_CHECK_EQ(cpu.regs.rdi, 4242); /* the host never ran getppid or exit */
    plat->ops->ctx_release(ctx);
    plat->ops->as_release(as);
    free(cpu.fp);
}

static void test_fault_reports_address(void)
{
    struct fb_as *as;
    struct fb_pctx *ctx;
    struct fb_cpu cpu;
    struct fb_stop stop;

    setup_as(&as, &ctx);
    FBT_CHECK(as && ctx);
    cpu_init(&cpu, CODE_ADDR + 19);
    FBT_CHECK_EQ(plat->ops->switch_to(ctx, as, &cpu, &stop), FB_SWITCH_FAULT);
    FBT_CHECK_EQ(stop.signo, SIGSEGV);
    FBT_CHECK_EQ(stop.code, SEGV_MAPERR);
    FBT_CHECK_EQ(stop.addr, 0x700000);
    /* Map the page and retry: the load now succeeds and the loop is reached. */
    memcpy(mem + 8192, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
    FBT_CHECK_EQ(plat->ops->map(ctx, as, 0x700000, 4096, PROT_READ, 8192), 0);
    plat->ops->interrupt(ctx); /* pending: the next switch returns at once */
    FBT_CHECK_EQ(plat->ops->switch_to(ctx, as, &cpu, &stop), FB_SWITCH_INTERRUPT);
    FBT_CHECK_EQ(cpu.regs.rip, CODE_ADDR + 19);
    /* Write-protect check: a store to a read-only page reports SEGV_ACCERR. */
    plat->ops->ctx_release(ctx);
    plat->ops->as_release(as);
    free(cpu.fp);
}

struct kicker {
    struct fb_pctx *ctx;
};
static void *kick_later(void *arg)
{
    struct kicker *k = arg;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    plat->ops->interrupt(k->ctx);
    return NULL;
}

static bool stub_proc(struct fb_pctx *ctx, char *buf, size_t len);
static int stub_vmas(const char *proc, uint64_t start, uint64_t end, long *rss);

/* map_many: more requests than one batch holds, all in place afterwards; a failing request
 * reports its error; the stub region is refused. */
static void test_map_many(void)
{
    struct fb_as *as;
    struct fb_pctx *ctx;
    struct fb_cpu cpu;
    struct fb_stop stop;
    struct fb_map_req req[300];
    struct kicker k;
    pthread_t th;
    int i, n = 0;

    FBT_CHECK(plat->ops->map_many != NULL);
    FBT_CHECK_EQ(fb_as_new(plat, &as), 0);
    FBT_CHECK_EQ(plat->ops->ctx_new(plat, &ctx), 0);
    req[n++] = (struct fb_map_req){CODE_ADDR, 4096, 0, PROT_READ | PROT_EXEC, false};
    req[n++] = (struct fb_map_req){STACK_ADDR, 4096, 4096, PROT_READ | PROT_WRITE, false};
    for (i = 0; i < 297; i++)
        req[n++] = (struct fb_map_req){0x10000000 + (uint64_t)i * 8192, 4096, 8192, PROT_READ,
                                       false};
    req[n++] = (struct fb_map_req){0x700000, 4096, 8192, PROT_READ, false}; /* the last counts */
    memcpy(mem + 8192, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
    FBT_CHECK_EQ(plat->ops->map_many(ctx, as, req, n), 0);
    /* The load at offset 19 reads 0x700000: mapped, so it reaches the loop after it. */
    cpu_init(&cpu, CODE_ADDR + 19);
    k.ctx = ctx;
    pthread_create(&th, NULL, kick_later, &k);
    FBT_CHECK_EQ(plat->ops->switch_to(ctx, as, &cpu, &stop), FB_SWITCH_INTERRUPT);
    FBT_CHECK_EQ(cpu.regs.rip, CODE_ADDR + 27);
    pthread_join(th, NULL);
    FBT_CHECK_EQ(cpu.regs.rax, 0x8877665544332211ull);
    /* A zero length fails in the host: the error comes back. */
    req[0] = (struct fb_map_req){0x20000000, 4096, 8192, PROT_READ, false};
    req[1] = (struct fb_map_req){0x20002000, 0, 8192, PROT_READ, false};
    FBT_CHECK_EQ(plat->ops->map_many(ctx, as, req, 2), -EINVAL);
    /* Never over the stub page. */
    req[0] = (struct fb_map_req){FB_STUB_BASE, 4096, 8192, PROT_READ, false};
    FBT_CHECK_EQ(plat->ops->map_many(ctx, as, req, 1), -EINVAL);
    /* Populate per request: of three contiguous requests (offsets too) the populated middle one
     * alone is resident, and the host makes the three one mapping. */
    {
        char proc[96];
        long rss = -2;
        req[0] = (struct fb_map_req){0x30000000, 8 * 4096, 16 * 4096, PROT_READ, false};
        req[1] = (struct fb_map_req){0x30008000, 4 * 4096, 24 * 4096, PROT_READ, true};
        req[2] = (struct fb_map_req){0x3000c000, 8 * 4096, 28 * 4096, PROT_READ, false};
        FBT_CHECK_EQ(plat->ops->map_many(ctx, as, req, 3), 0);
        FBT_CHECK(stub_proc(ctx, proc, sizeof(proc)));
        FBT_CHECK_EQ(stub_vmas(proc, 0x30000000, 0x30014000, &rss), 1);
        FBT_CHECK_EQ(rss, 4 * 4);
    }
    plat->ops->ctx_release(ctx);
    plat->ops->as_release(as);
    free(cpu.fp);
}

/* /proc/PID/task/TID of a live thread of ctx's stub (its leader may have exited, and then
 * shows no maps), in buf; false if none. */
static bool stub_proc(struct fb_pctx *ctx, char *buf, size_t len)
{
    uint64_t pid = 0;
    struct dirent *de;
    char path[64];
    bool found = false;
    DIR *d;

    if (!plat->ops->cpu_ns || plat->ops->cpu_ns(ctx, &pid) < 0)
        return false;
    snprintf(path, sizeof(path), "/proc/%lu/task", (unsigned long)pid);
    d = opendir(path);
    while (d && !found && (de = readdir(d))) {
        char maps[128], line[8];
        FILE *f;
        if (atoi(de->d_name) <= 0 || snprintf(buf, len, "%s/%s", path, de->d_name) >= (int)len ||
            snprintf(maps, sizeof(maps), "%s/maps", buf) >= (int)sizeof(maps))
            continue;
        f = fopen(maps, "r");
        found = f && fgets(line, sizeof(line), f);
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return found;
}

/* How many host mappings of the stub at proc (stub_proc) overlap [start, end), and the Rss
 * (kB) of the one that starts at start (-1 if none does). */
static int stub_vmas(const char *proc, uint64_t start, uint64_t end, long *rss)
{
    char path[160], line[512];
    int n = 0;
    bool in = false;
    FILE *f;

    *rss = -1;
    snprintf(path, sizeof(path), "%s/smaps", proc);
    f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f)) {
        unsigned long a, b;
        long kb;
        if (sscanf(line, "%lx-%lx ", &a, &b) == 2) {
            n += a < end && b > start;
            in = a == start;
        } else if (in && sscanf(line, "Rss: %ld kB", &kb) == 1) {
            *rss = kb;
        }
    }
    if (f)
        fclose(f);
    return n;
}

/* Descriptors open in the stub at proc (stub_proc). */
static int stub_fds(const char *proc)
{
    char path[160];
    struct dirent *de;
    int n = 0;
    DIR *d;

    snprintf(path, sizeof(path), "%s/fd", proc);
    d = opendir(path);
    while (d && (de = readdir(d)))
        n += de->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* The byte at addr in the stub at proc (stub_proc), read through /proc; -1 if unreadable. */
static int stub_byte(const char *proc, uint64_t addr)
{
    char path[160];
    uint8_t b;
    int fd, r;

    snprintf(path, sizeof(path), "%s/mem", proc);
    fd = open(path, O_RDONLY);
    r = fd >= 0 && pread(fd, &b, 1, (off_t)addr) == 1 ? b : -1;
    if (fd >= 0)
        close(fd);
    return r;
}

/* map_fds: host files mapped straight into the address space read their content, several in
 * one call; a failing mmap in the stub reports its error and how many went before it, and
 * leaves the mechanism usable (every received fd closed); the stub region is refused. Requests
 * sharing an fd over consecutive ranges make one host mapping, resident where they asked to be
 * populated only; more requests and more fds than one round trip carries all arrive. */
static void test_map_fds(void)
{
    struct fb_as *as;
    struct fb_pctx *ctx;
    struct fb_cpu cpu;
    struct fb_stop stop;
    struct kicker k;
    pthread_t th;
    char path[] = "/tmp/fnbox-ptrace-test-XXXXXX", proc[96];
    static uint8_t file[64 * 4096]; /* page i: bytes i + 1 */
    static struct fb_map_fd_req req[200];
    int fd, wfd, done = -1, dups[80], fds0, i;
    long rss;
    /* A range of 64 pages, 64 KiB-aligned. It holds 0x700000 (page 32), which the code at
     * CODE_ADDR+19 loads. */
    const uint64_t base = 0x6e0000;

    FBT_CHECK(plat->ops->map_fds != NULL);
    fd = mkstemp(path);
    FBT_CHECK(fd >= 0);
    for (i = 0; i < 64; i++)
        memset(file + (size_t)i * 4096, i + 1, 4096);
    memcpy(file + 32 * 4096, "\x10\x20\x30\x40\x50\x60\x70\x80", 8);
    FBT_CHECK_EQ(write(fd, file, sizeof(file)), (ssize_t)sizeof(file));
    close(fd);
    fd = open(path, O_RDONLY);
    wfd = open(path, O_WRONLY);
    unlink(path);
    FBT_CHECK(fd >= 0 && wfd >= 0);
    setup_as(&as, &ctx);
    FBT_CHECK(as && ctx);
    /* Two good ones, then a write-only fd, whose mmap fails in the stub (EACCES), then one
     * sharing the first fd, never reached. */
    req[0] = (struct fb_map_fd_req){0x800000, 4096, 0, PROT_READ, fd, false};
    req[1] = (struct fb_map_fd_req){0x900000, 4096, 4096, PROT_READ, fd, true};
    req[2] = (struct fb_map_fd_req){0xa00000, 4096, 4096, PROT_READ, wfd, false};
    req[3] = (struct fb_map_fd_req){0xb00000, 4096, 4096, PROT_READ, fd, false};
    FBT_CHECK_EQ(plat->ops->map_fds(ctx, as, req, 4, &done), -EACCES);
    FBT_CHECK_EQ(done, 2);
    FBT_CHECK(stub_proc(ctx, proc, sizeof(proc)));
    fds0 = stub_fds(proc); /* the memory file and the fd socket: every received one closed */
    FBT_CHECK_EQ(fds0, 2);
    req[0] = (struct fb_map_fd_req){FB_STUB_BASE, 4096, 0, PROT_READ, fd, false};
    FBT_CHECK_EQ(plat->ops->map_fds(ctx, as, req, 1, &done), -EINVAL);
    req[0] = (struct fb_map_fd_req){0x700000, 4096, 100, PROT_READ, fd, false};
    FBT_CHECK_EQ(plat->ops->map_fds(ctx, as, req, 1, &done), -EINVAL);
    /* Still usable: three requests of one fd over the range, the ends populated, then the
     * middle unpopulated (the order the mm makes them in: see host_map_reqs). */
    req[0] = (struct fb_map_fd_req){base, 16 * 4096, 0, PROT_READ, fd, true};
    req[1] = (struct fb_map_fd_req){base + 48 * 4096, 16 * 4096, 48 * 4096, PROT_READ, fd, true};
    req[2] = (struct fb_map_fd_req){base + 16 * 4096, 32 * 4096, 16 * 4096, PROT_READ, fd, false};
    FBT_CHECK_EQ(plat->ops->map_fds(ctx, as, req, 3, &done), 0);
    FBT_CHECK_EQ(done, 3);
    FBT_CHECK_EQ(stub_vmas(proc, base, base + 64 * 4096, &rss), 1); /* merged by the host */
    FBT_CHECK_EQ(rss, 32 * 4); /* kB: the populated pages, and only those */
    /* In ascending order too, elsewhere: one mapping (its Rss depends on the host's
     * fault-around, which fills the neighbours already mapped of the pages it populates). */
    for (i = 0; i < 4; i++)
        req[i] = (struct fb_map_fd_req){0xc00000 + (uint64_t)i * 16 * 4096, 16 * 4096,
                                        (uint64_t)i * 16 * 4096, PROT_READ, fd, i % 2 == 0};
    FBT_CHECK_EQ(plat->ops->map_fds(ctx, as, req, 4, &done), 0);
    FBT_CHECK_EQ(stub_vmas(proc, 0xc00000, 0xc40000, &rss), 1);
    FBT_CHECK(rss >= 32 * 4 && rss < 64 * 4);
    FBT_CHECK_EQ(stub_fds(proc), fds0);
    FBT_CHECK_EQ(stub_byte(proc, base + 5 * 4096), 6);
    FBT_CHECK_EQ(stub_byte(proc, base + 20 * 4096), 21);
    FBT_CHECK_EQ(stub_byte(proc, base + 63 * 4096 + 4095), 64);
    /* The load at CODE_ADDR+19 reads 0x700000, page 32 of the file, unpopulated: the host's
     * fault serves it. */
    cpu_init(&cpu, CODE_ADDR + 19);
    k.ctx = ctx;
    pthread_create(&th, NULL, kick_later, &k);
    FBT_CHECK_EQ(plat->ops->switch_to(ctx, as, &cpu, &stop), FB_SWITCH_INTERRUPT);
    pthread_join(th, NULL);
    FBT_CHECK_EQ(cpu.regs.rip, CODE_ADDR + 27);
    FBT_CHECK_EQ(cpu.regs.rax, 0x8070605040302010ull);
    /* 200 one-page requests: the first 100 over 10 fds, then 70 more fds in turn. Round trips
     * end at the data page's 126 records, then at a message's 64 fds. */
    for (i = 0; i < 80; i++) {
        dups[i] = dup(fd);
        FBT_CHECK(dups[i] >= 0);
    }
    for (i = 0; i < 200; i++)
        req[i] = (struct fb_map_fd_req){0x10000000 + (uint64_t)i * 8192, 4096,
                                        (uint64_t)(i % 64) * 4096, PROT_READ,
                                        i < 100 ? dups[i % 10] : dups[10 + (i - 100) % 70],
                                        i % 2 == 0};
    FBT_CHECK_EQ(plat->ops->map_fds(ctx, as, req, 200, &done), 0);
    FBT_CHECK_EQ(done, 200);
    for (i = 0; i < 200; i += 7)
        FBT_CHECK_EQ(stub_byte(proc, 0x10000000 + (uint64_t)i * 8192 + 100), i % 64 + 1);
    FBT_CHECK_EQ(stub_fds(proc), fds0);
    for (i = 0; i < 80; i++)
        close(dups[i]);
    plat->ops->ctx_release(ctx);
    plat->ops->as_release(as);
    close(fd);
    close(wfd);
    free(cpu.fp);
}

static void test_interrupt_running_loop(void)
{
    struct fb_as *as;
    struct fb_pctx *ctx;
    struct fb_cpu cpu;
    struct fb_stop stop;
    struct kicker k;
    pthread_t t;

    setup_as(&as, &ctx);
    FBT_CHECK(as && ctx);
    cpu_init(&cpu, CODE_ADDR + 17);
    k.ctx = ctx;
    pthread_create(&t, NULL, kick_later, &k);
    FBT_CHECK_EQ(plat->ops->switch_to(ctx, as, &cpu, &stop), FB_SWITCH_INTERRUPT);
    pthread_join(t, NULL);
    FBT_CHECK_EQ(cpu.regs.rip, CODE_ADDR + 17);
    plat->ops->ctx_release(ctx);
    plat->ops->as_release(as);
    free(cpu.fp);
}

struct second {
    struct fb_as *as;
    int result;
    uint64_t orig_rax;
};
static void *run_second(void *arg)
{
    struct second *s = arg;
    struct fb_pctx *ctx;
    struct fb_cpu cpu;
    struct fb_stop stop;

    plat->ops->ctx_new(plat, &ctx);
    cpu_init(&cpu, CODE_ADDR);
    s->result = plat->ops->switch_to(ctx, s->as, &cpu, &stop);
    s->orig_rax = cpu.regs.orig_rax;
    plat->ops->ctx_release(ctx);
    free(cpu.fp);
    return NULL;
}

static void test_second_thread_in_as(void)
{
    struct fb_as *as;
    struct fb_pctx *ctx;
    struct second s = {0};
    pthread_t t;

    setup_as(&as, &ctx);
    FBT_CHECK(as && ctx);
    FBT_CHECK_EQ(plat->ops->as_add_thread(ctx, as), 0);
    s.as = as;
    pthread_create(&t, NULL, run_second, &s);
    pthread_join(t, NULL);
    FBT_CHECK_EQ(s.result, FB_SWITCH_SYSCALL);
    FBT_CHECK_EQ(s.orig_rax, 110);
    plat->ops->ctx_release(ctx);
    plat->ops->as_release(as);
}

static void test_syscall_roundtrip_cost(void)
{
    /* Not an assertion on speed: prints the figure for the record. */
    static const uint8_t loop[] = {0xb8, 0x6e, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7};
    struct fb_as *as;
    struct fb_pctx *ctx;
    struct fb_cpu cpu;
    struct fb_stop stop;
    struct timespec a, b;
    int i, n = 20000;

    memcpy(mem + 4096 * 3, loop, sizeof(loop));
    FBT_CHECK_EQ(fb_as_new(plat, &as), 0);
    FBT_CHECK_EQ(plat->ops->ctx_new(plat, &ctx), 0);
    FBT_CHECK_EQ(plat->ops->map(ctx, as, CODE_ADDR, 4096, PROT_READ | PROT_EXEC, 4096 * 3), 0);
    cpu_init(&cpu, CODE_ADDR);
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (i = 0; i < n; i++) {
        FBT_CHECK_EQ(plat->ops->switch_to(ctx, as, &cpu, &stop), FB_SWITCH_SYSCALL);
        cpu.regs.rax = 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    fprintf(stderr, "ptrace syscall round trip: %.2f us\n",
            ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n / 1000.0);
    plat->ops->ctx_release(ctx);
    plat->ops->as_release(as);
    free(cpu.fp);
}

static void test_map_cost(void)
{
    struct fb_as *as;
    struct fb_pctx *ctx;
    struct timespec a, b;
    int i, n = 2000;

    FBT_CHECK_EQ(fb_as_new(plat, &as), 0);
    FBT_CHECK_EQ(plat->ops->ctx_new(plat, &ctx), 0);
    FBT_CHECK_EQ(plat->ops->map(ctx, as, CODE_ADDR, 4096, PROT_READ | PROT_EXEC, 0), 0);
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (i = 0; i < n; i++)
        FBT_CHECK_EQ(plat->ops->map(ctx, as, 0x10000000 + (uint64_t)i * 65536, 65536,
                                    PROT_READ | PROT_WRITE, 65536),
                     0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    fprintf(stderr, "ptrace injected mmap: %.2f us\n",
            ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n / 1000.0);
    plat->ops->ctx_release(ctx);
    plat->ops->as_release(as);
}

/* Parent pid and command name of a host process, from /proc/PID/stat; -1 if gone. */
static int proc_parent(int pid, char *comm, size_t len)
{
    char path[64], buf[512], *open_p, *close_p;
    int ppid = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    if (fgets(buf, sizeof(buf), f) && (open_p = strchr(buf, '(')) && (close_p = strrchr(buf, ')'))) {
        snprintf(comm, len, "%.*s", (int)(close_p - open_p - 1), open_p + 1);
        if (sscanf(close_p + 2, "%*c %d", &ppid) != 1)
            ppid = -1;
    }
    fclose(f);
    return ppid;
}

/* Every stub (a child of the source stub, itself our child) holds its data page read-only and
 * shared, and no descriptor of the data-page file that could map it (or another stub's page)
 * writable: the application's map records stay the Sentry's. */
static void test_stub_data_page(void)
{
    struct fb_as *as;
    struct fb_pctx *ctx;
    struct fb_map_req req = {0x10000000, 4096, 8192, PROT_READ, false};
    int source = -1, stubs = 0, good = 0;
    struct dirent *de;
    char comm[64];
    DIR *d;

    FBT_CHECK_EQ(fb_as_new(plat, &as), 0);
    FBT_CHECK_EQ(plat->ops->ctx_new(plat, &ctx), 0);
    FBT_CHECK_EQ(plat->ops->map_many(ctx, as, &req, 1), 0); /* seizes a stub thread */
    d = opendir("/proc");
    FBT_CHECK(d != NULL);
    while (d && (de = readdir(d)))
        if (atoi(de->d_name) > 0 && proc_parent(atoi(de->d_name), comm, sizeof(comm)) == getpid() &&
            strcmp(comm, "fnbox-stub") == 0)
            source = atoi(de->d_name);
    FBT_CHECK(source > 0);
    rewinddir(d);
    while (d && (de = readdir(d))) {
        int pid = atoi(de->d_name);
        char path[64], line[256], link[64];
        bool ro_shared = false, alive = false;
        FILE *f;
        if (pid <= 0 || proc_parent(pid, comm, sizeof(comm)) != source)
            continue;
        snprintf(path, sizeof(path), "/proc/%d/maps", pid);
        f = fopen(path, "r");
        while (f && fgets(line, sizeof(line), f)) {
            alive |= strncmp(line, "100000000000-", 13) == 0; /* its stub code */
            ro_shared |= strncmp(line, "100000001000-100000002000 r--s ", 31) == 0;
        }
        if (f)
            fclose(f);
        if (!alive) /* a stub of an earlier test, on its way out */
            continue;
        stubs++;
        snprintf(path, sizeof(path), "/proc/%d/fd/6", pid);
        good += ro_shared && readlink(path, link, sizeof(link)) < 0;
    }
    if (d)
        closedir(d);
    FBT_CHECK(stubs >= 1);
    FBT_CHECK_EQ(good, stubs);
    plat->ops->ctx_release(ctx);
    plat->ops->as_release(as);
}

int main(void)
{
    struct fb_error err = {0};

    memfd = memfd_create("fnbox-test-mem", 0);
    if (memfd < 0 || ftruncate(memfd, 1 << 20) != 0)
        return 1;
    mem = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    memcpy(mem, code, sizeof(code));
    if (fb_platform_new("ptrace", memfd, &plat, &err) != 0) {
        printf("SKIP platform/ptrace: %s\n", err.msg);
        return 0;
    }
    FBT_RUN(test_syscall_interception);
    FBT_RUN(test_fault_reports_address);
    FBT_RUN(test_interrupt_running_loop);
    FBT_RUN(test_second_thread_in_as);
    FBT_RUN(test_map_many);
    FBT_RUN(test_map_fds);
    FBT_RUN(test_stub_data_page);
    FBT_RUN(test_syscall_roundtrip_cost);
    FBT_RUN(test_map_cost);
    FBT_EXIT();
}
