/* Platform interface: how the Sentry runs application code and manages its address spaces.
 * One ops struct, several backends (ptrace/ today; systrap/ later), chosen in platform.c. */
#ifndef FB_PLATFORM_H
#define FB_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/user.h>

#include "kernel/util/error.h"

/* The stub code and data live at a fixed address in every application address space; the mm
 * refuses application mappings that overlap it. Far below where we place application mmaps and
 * far above PIE/heap, so no sane program asks for it. */
#define FB_STUB_BASE 0x100000000000ULL
/* The region reserved for the platform in every address space: the stub pages, then the host's
 * vDSO (moved there, so that fnbox's own vDSO can call it at a fixed place). */
#define FB_STUB_SIZE 0x40000ULL
/* What the stub itself maps: code page (r-x), data page (r--), scratch page (rw-). */
#define FB_STUB_MAPPED 0x3000ULL
/* Where the host's vDSO and its data pages ([vvar]...) sit in stubs, and room for them. */
#define FB_HOST_VDSO_BASE (FB_STUB_BASE + 0x10000ULL)
#define FB_HOST_VDSO_ROOM 0x30000ULL
/* Clock parameters for fnbox's vDSO (kernel/loader/vdso/), at a fixed place in every address
 * space: the tail of the stub's data page, read-only to the application. The platform fills
 * it in every new stub. Its layout only ever grows (images keep the vDSO code they were made
 * with); a vDSO that does not find the magic it knows makes real system calls. */
#define FB_VDSO_PARAMS_ADDR (FB_STUB_BASE + 0x2000ULL - 64)
#define FB_VDSO_PARAMS_MAGIC 0x31766f7364626e66ULL /* "fnbdsov1" */
struct fb_vdso_params {
    uint64_t magic;
    uint64_t clock_gettime; /* the host vDSO's functions in the stub, 0 if none */
    uint64_t gettimeofday;
    uint64_t time;
    int64_t mono_offset_ns; /* added to host CLOCK_MONOTONIC (the kernel's mono_offset_ns) */
    /* Different in every Sentry (random): a thread checkpointed in the middle of a clock read
     * resumes in a stub with another generation, and the vDSO reads again instead of mixing a
     * host time from before the restore with an offset from after it (or the reverse). */
    uint64_t generation;
};
/* The memory file's fd number inside every stub process. */
#define FB_STUB_MEMFD 3
/* Highest user address + 1 (47-bit address space; 4-level paging). */
#define FB_TASK_SIZE 0x7ffffffff000ULL

struct fb_platform;
/* One map() request, for map_many. */
struct fb_map_req {
    uint64_t addr, len, off;
    int prot;
    bool populate; /* fill the host page tables now too */
};
/* One direct file mapping, for map_fds. */
struct fb_map_fd_req {
    uint64_t addr, len, off;
    int prot;
    int fd; /* the Sentry's read-only host fd; several requests may name the same one */
    /* Fill the host page tables for it now (a warm sandbox: the pages the next request will
     * touch, which then takes no host fault there). */
    bool populate;
};
struct fb_as;   /* one application address space (ptrace: one stub process) */
struct fb_pctx; /* one execution context, owned by one Sentry host thread (one task) */

/* Register state of one application thread, as the platform saves it on each stop. */
struct fb_cpu {
    struct user_regs_struct regs;
    /* Extended FP state (XSAVE layout, fb_platform_fpstate_size() bytes). The platform keeps the
     * live FP state in the host thread that runs the task; `fp` holds a copy only when fp_valid. */
    uint8_t *fp;
    bool fp_valid; /* fp holds the task's current FP state */
    bool fp_dirty; /* fp was changed by the Sentry and must be loaded before resuming */
};

enum fb_switch_result {
    FB_SWITCH_SYSCALL = 1, /* stopped at a system call (regs.orig_rax = number) */
    FB_SWITCH_FAULT,       /* synchronous fault: info in struct fb_stop */
    FB_SWITCH_INTERRUPT,   /* fb_platform_interrupt() (or a spurious kick) stopped it */
    FB_SWITCH_DEAD,        /* the address space died underneath (host kill, OOM) */
};

struct fb_stop {
    int signo;     /* host signal that reported the fault: SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS */
    int code;      /* its si_code (SEGV_MAPERR, SEGV_ACCERR, FPE_INTDIV, ...) */
    uint64_t addr; /* si_addr */
    int trapno;
};

struct fb_platform_ops {
    const char *name;
    /* Create an empty address space (only the stub region is mapped). Any thread. */
    int (*as_new)(struct fb_platform *p, struct fb_as **out);
    /* Destroy an address space and every host thread in it. Any thread. */
    void (*as_release)(struct fb_as *as);
    /* Prepare a host thread in `as` for a context that will enter it later (a new application
     * thread sharing the address space). `ctx` must currently be in `as`. */
    int (*as_add_thread)(struct fb_pctx *ctx, struct fb_as *as);

    int (*ctx_new)(struct fb_platform *p, struct fb_pctx **out);
    /* Leave the current address space (its host thread exits) and free ctx. Owner thread only. */
    void (*ctx_release)(struct fb_pctx *ctx);

    /* Memory operations on `as`, performed through ctx (which enters `as` if needed). Owner
     * thread only. `off` is an offset in the memory file. Mappings are populated at once (the
     * mm maps only what it has decided the application touches or will touch soon), which
     * saves a host fault per page. Return 0 or -errno. */
    int (*map)(struct fb_pctx *ctx, struct fb_as *as, uint64_t addr, uint64_t len, int prot,
               uint64_t off);
    /* Optional: n map() calls in one go, one host round trip for the lot instead of one each
     * (a restore maps a hundred runs at once). In order; stops at the first failure and returns
     * its -errno, the earlier ones done. Unlike map(), populates only the requests that ask:
     * a restore maps far more than the next request touches, and a host fault in the stub is
     * cheap. Consecutive requests at contiguous offsets with the same prot become one host
     * mapping whether populated or not. */
    int (*map_many)(struct fb_pctx *ctx, struct fb_as *as, const struct fb_map_req *req, int n);
    /* Optional: map [off, off+len) of host files (fd: read-only, the Sentry's) at addr, private
     * and fixed, n of them in as few round trips as it can: the host then serves the
     * application's faults there from its page cache, with no copy and no stop in the Sentry.
     * Requests with populate have their host page tables filled too. Requests for consecutive
     * ranges of one file at contiguous offsets, with the same prot, become one host mapping
     * whatever their populate (so a caller may populate parts of a mapping only). In order;
     * returns 0, or the first failure's -errno with *done = how many were mapped before it
     * (-EIO when the platform can no longer do it: callers fall back to copies in the memory
     * file). */
    int (*map_fds)(struct fb_pctx *ctx, struct fb_as *as, const struct fb_map_fd_req *req, int n,
                   int *done);
    int (*unmap)(struct fb_pctx *ctx, struct fb_as *as, uint64_t addr, uint64_t len);
    int (*protect)(struct fb_pctx *ctx, struct fb_as *as, uint64_t addr, uint64_t len, int prot);

    /* Run cpu in as until it makes a syscall, faults or is interrupted. Owner thread only. */
    enum fb_switch_result (*switch_to)(struct fb_pctx *ctx, struct fb_as *as, struct fb_cpu *cpu,
                                       struct fb_stop *stop);
    /* Make a running (or the next) switch_to of ctx return FB_SWITCH_INTERRUPT. Any thread. */
    void (*interrupt)(struct fb_pctx *ctx);
    /* Copy the live FP state into cpu->fp (sets fp_valid). Owner thread only. */
    int (*fetch_fp)(struct fb_pctx *ctx, struct fb_as *as, struct fb_cpu *cpu);
    /* Optional: CPU time (ns) the host process running ctx's address space has used, all its
     * threads together, and (ident) which process that is; -1 if unknown. Owner thread only. */
    int64_t (*cpu_ns)(struct fb_pctx *ctx, uint64_t *ident);
    /* Optional: take a host thread in `as` for ctx now (switch_to would do it first), so that
     * the run loop does not charge that set-up to the application's CPU time. A no-op when ctx
     * is already there. Owner thread only. */
    int (*enter)(struct fb_pctx *ctx, struct fb_as *as);
};

struct fb_platform {
    const struct fb_platform_ops *ops;
    int memfd;
    /* The kernel's CLOCK_MONOTONIC offset, for the vDSO parameters of address spaces created
     * from now on (set before the first one, and at restore before any is created). */
    int64_t clock_offset_ns;
};

/* The host's vDSO in this process: the mappings the source stub moves to FB_HOST_VDSO_BASE,
 * keeping their distances (the vDSO code finds its data pages by fixed offsets). n = 0 when
 * there is none, or it does not fit FB_HOST_VDSO_ROOM. */
struct fb_host_vdso {
    int n;
    uint64_t start[6], end[6];
    uint64_t span_start; /* lowest start: lands at FB_HOST_VDSO_BASE */
    uint64_t vdso;       /* the [vdso] mapping (its ELF image) */
};
extern struct fb_host_vdso fb_host_vdso;
/* Address in stubs of the host vDSO's symbol `name`, or 0. */
uint64_t fb_host_vdso_sym(const char *name);

/* Note where the host's vDSO is mapped in this process (reads /proc/self/maps: call before
 * the Sentry leaves the host's root). Stubs forked later carry it to FB_HOST_VDSO_BASE. */
void fb_platform_probe_host_vdso(void);
/* Is addr (a syscall's return address) inside the host's vDSO in stubs? Its fallback system
 * calls want host clocks, unadjusted: fnbox's vDSO adds the offsets itself. */
static inline bool fb_platform_in_host_vdso(uint64_t addr)
{
    return addr - FB_HOST_VDSO_BASE < FB_HOST_VDSO_ROOM;
}

/* Create the named platform ("ptrace"). Must run before the Sentry locks itself down: it forks
 * the pristine source stub that later stubs are cloned from. */
int fb_platform_new(const char *name, int memfd, struct fb_platform **out, struct fb_error *err);
/* Size in bytes of the XSAVE area for the features enabled on this host. */
size_t fb_platform_fpstate_size(void);
/* Initialise an XSAVE area to the state of a freshly exec'd process (default x87/SSE control). */
void fb_platform_fpstate_init(uint8_t *fp);

static inline int fb_as_new(struct fb_platform *p, struct fb_as **out)
{
    return p->ops->as_new(p, out);
}

#endif
