/* x86_64 signal frames: the rt_sigframe the Linux kernel builds (return address, ucontext with
 * sigcontext and mask, siginfo, and the XSAVE area), and rt_sigreturn that reads it back. */
#include "kernel/signal/signal.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernel/mm/mm.h"
#include "kernel/util/log.h"

#define UC_FP_XSTATE         0x1
#define UC_SIGCONTEXT_SS     0x2
#define UC_STRICT_RESTORE_SS 0x4
#define SA_RESTORER_FLAG     0x04000000u
#define USER_CS              0x33
#define USER_DS              0x2b

/* Flags the application may change through sigreturn (Linux FIX_EFLAGS). */
#define FIX_EFLAGS 0x50dd5ull /* AC OF DF TF SF ZF AF PF CF RF */

struct k_sigcontext {
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
    uint16_t cs, gs, fs, ss;
    uint64_t err, trapno, oldmask, cr2;
    uint64_t fpstate;
    uint64_t reserved1[8];
};

struct k_stack {
    uint64_t ss_sp;
    int32_t ss_flags;
    int32_t pad;
    uint64_t ss_size;
};

struct k_ucontext {
    uint64_t uc_flags;
    uint64_t uc_link;
    struct k_stack uc_stack;
    struct k_sigcontext uc_mcontext;
    uint64_t uc_sigmask;
};

struct k_rt_sigframe {
    uint64_t pretcode;
    struct k_ucontext uc;
    siginfo_t info;
};

_Static_assert(sizeof(struct k_sigcontext) == 256, "sigcontext layout");
_Static_assert(offsetof(struct k_ucontext, uc_mcontext) == 40, "ucontext layout");

static uint64_t xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

/* The XSAVE components a stub may be given: XCR0 minus the dynamically enabled ones (AMX tile
 * data) it has no permission for. A frame claiming more made PTRACE_SETREGSET fail with EINVAL,
 * and the task ran on with its old FP state (found by the syscall fuzzer). */
static uint64_t xfeatures_mask;

/* At start-up, before any lock-down can forbid arch_prctl. */
static __attribute__((constructor)) void xfeatures_probe(void)
{
    uint64_t perm = 0;
    xfeatures_mask = xcr0();
    if (syscall(SYS_arch_prctl, 0x1022 /* ARCH_GET_XCOMP_PERM */, &perm) == 0 && perm)
        xfeatures_mask &= perm;
}

/* fb_fpstate_sanitize: see signal.h. */
void fb_fpstate_sanitize(uint8_t *fp)
{
    *(uint32_t *)(fp + 24) &= 0xffbf;             /* MXCSR: no reserved bits */
    *(uint64_t *)(fp + 512) &= xfeatures_mask;    /* XSTATE_BV: only components we may load */
    memset(fp + 520, 0, 56); /* XCOMP_BV (standard format) and the reserved header */
}

static bool on_altstack(struct fb_task *t, uint64_t sp)
{
    return !(t->altstack.ss_flags & SS_DISABLE) && sp > (uint64_t)t->altstack.ss_sp &&
           sp <= (uint64_t)t->altstack.ss_sp + t->altstack.ss_size;
}

int fb_signal_setup_frame(struct fb_task *t, int sig, const siginfo_t *info,
                          const struct fb_sigaction *act, uint64_t old_mask)
{
    struct user_regs_struct *r = &t->cpu.regs;
    size_t xsize = fb_platform_fpstate_size();
    struct k_rt_sigframe frame;
    uint64_t sp = r->rsp, fpaddr, faddr;
    uint32_t magic2 = FP_XSTATE_MAGIC2;
    int err;

    if (!(act->flags & SA_RESTORER_FLAG))
        return -EFAULT; /* x86_64 requires a restorer (libc always provides one) */
    if ((act->flags & SA_ONSTACK) && !(t->altstack.ss_flags & SS_DISABLE) &&
        !on_altstack(t, sp))
        sp = (uint64_t)t->altstack.ss_sp + t->altstack.ss_size;
    else
        sp -= 128; /* red zone */

    /* FP state: the live XSAVE area, with the software-reserved bytes describing it. */
    err = fb_k->plat->ops->fetch_fp(t->pctx, fb_mm_as(t->mm, NULL), &t->cpu);
    if (err < 0)
        return err;
    {
        uint32_t *sw = (uint32_t *)(t->cpu.fp + 464);
        sw[0] = FP_XSTATE_MAGIC1;
        sw[1] = (uint32_t)(xsize + 4); /* extended_size */
        *(uint64_t *)(sw + 2) = xfeatures_mask; /* xfeatures: what sigreturn accepts */
        sw[4] = (uint32_t)xsize;        /* xstate_size */
        /* XSTATE_BV always claims the x87 and SSE components, as Linux writes it: XSAVE
         * leaves a component's bit clear while it is in its initial state (all of %xmm zero,
         * say), and a handler that changes the legacy area without touching the header would
         * otherwise have its change dropped by the restore at sigreturn. */
        *(uint64_t *)(t->cpu.fp + 512) |= 3;
    }
    sp = (sp - xsize - 4) & ~63ull;
    fpaddr = sp;
    if (fb_mm_copy_out(t->mm, fpaddr, t->cpu.fp, xsize) != 0 ||
        fb_mm_copy_out(t->mm, fpaddr + xsize, &magic2, 4) != 0)
        return -EFAULT;

    sp = ((sp - sizeof(frame)) & ~15ull) - 8;
    faddr = sp;
    memset(&frame, 0, sizeof(frame));
    frame.pretcode = act->restorer;
    frame.uc.uc_flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
    frame.uc.uc_stack.ss_sp = (uint64_t)t->altstack.ss_sp;
    frame.uc.uc_stack.ss_size = t->altstack.ss_size;
    frame.uc.uc_stack.ss_flags = (t->altstack.ss_flags & SS_DISABLE)
                                     ? SS_DISABLE
                                     : (on_altstack(t, r->rsp) ? SS_ONSTACK : 0);
    {
        struct k_sigcontext *sc = &frame.uc.uc_mcontext;
        sc->r8 = r->r8;
        sc->r9 = r->r9;
        sc->r10 = r->r10;
        sc->r11 = r->r11;
        sc->r12 = r->r12;
        sc->r13 = r->r13;
        sc->r14 = r->r14;
        sc->r15 = r->r15;
        sc->rdi = r->rdi;
        sc->rsi = r->rsi;
        sc->rbp = r->rbp;
        sc->rbx = r->rbx;
        sc->rdx = r->rdx;
        sc->rax = r->rax;
        sc->rcx = r->rcx;
        sc->rsp = r->rsp;
        sc->rip = r->rip;
        sc->eflags = r->eflags;
        sc->cs = USER_CS;
        sc->ss = USER_DS;
        sc->oldmask = old_mask;
        sc->fpstate = fpaddr;
        if (info && (sig == SIGSEGV || sig == SIGBUS))
            sc->cr2 = (uint64_t)info->si_addr;
        sc->trapno = sig == SIGSEGV ? 14 : 0;
    }
    frame.uc.uc_sigmask = old_mask;
    if (info)
        frame.info = *info;
    frame.info.si_signo = sig;
    if (fb_mm_copy_out(t->mm, faddr, &frame, sizeof(frame)) != 0)
        return -EFAULT;

    r->rsp = faddr;
    r->rip = act->handler;
    r->rdi = (uint64_t)sig;
    r->rsi = faddr + offsetof(struct k_rt_sigframe, info);
    r->rdx = faddr + offsetof(struct k_rt_sigframe, uc);
    r->rax = 0;
    r->eflags &= ~(0x400ull | 0x100ull); /* DF and TF clear for the handler */
    r->cs = USER_CS;
    r->ss = USER_DS;
    /* The handler starts with a clean FP state, like on Linux. */
    fb_platform_fpstate_init(t->cpu.fp);
    t->cpu.fp_valid = true;
    t->cpu.fp_dirty = true;
    return 0;
}

int64_t fb_signal_sigreturn(struct fb_task *t)
{
    struct user_regs_struct *r = &t->cpu.regs;
    size_t xsize = fb_platform_fpstate_size();
    uint64_t faddr = r->rsp - 8;
    struct k_rt_sigframe frame;
    struct k_sigcontext *sc = &frame.uc.uc_mcontext;

    if (fb_mm_copy_in(t->mm, faddr, &frame, sizeof(frame)) != 0)
        goto bad;
    r->r8 = sc->r8;
    r->r9 = sc->r9;
    r->r10 = sc->r10;
    r->r11 = sc->r11;
    r->r12 = sc->r12;
    r->r13 = sc->r13;
    r->r14 = sc->r14;
    r->r15 = sc->r15;
    r->rdi = sc->rdi;
    r->rsi = sc->rsi;
    r->rbp = sc->rbp;
    r->rbx = sc->rbx;
    r->rdx = sc->rdx;
    r->rax = sc->rax;
    r->rcx = sc->rcx;
    r->rsp = sc->rsp;
    r->rip = sc->rip;
    r->eflags = (r->eflags & ~FIX_EFLAGS) | (sc->eflags & FIX_EFLAGS);
    r->cs = USER_CS;
    r->ss = USER_DS;
    r->orig_rax = (uint64_t)-1;
    if (sc->fpstate) {
        if (fb_mm_copy_in(t->mm, sc->fpstate, t->cpu.fp, xsize) != 0)
            goto bad;
        fb_fpstate_sanitize(t->cpu.fp);
        t->cpu.fp_valid = true;
        t->cpu.fp_dirty = true;
    } else {
        fb_platform_fpstate_init(t->cpu.fp);
        t->cpu.fp_valid = true;
        t->cpu.fp_dirty = true;
    }
    t->blocked = frame.uc.uc_sigmask & ~FB_SIG_UNBLOCKABLE;
    /* restore_altstack(): re-apply the saved alternate stack (errors ignored, as Linux). */
    if (!(t->altstack.ss_flags & SS_ONSTACK)) {
        if (frame.uc.uc_stack.ss_flags & SS_DISABLE) {
            t->altstack.ss_flags = SS_DISABLE;
        } else if (frame.uc.uc_stack.ss_size >= (uint64_t)MINSIGSTKSZ) {
            t->altstack.ss_sp = (void *)frame.uc.uc_stack.ss_sp;
            t->altstack.ss_size = frame.uc.uc_stack.ss_size;
            t->altstack.ss_flags = 0;
        }
    }
    return (int64_t)r->rax;

bad:
    fb_signal_force_fault(t, SIGSEGV, SI_KERNEL, 0);
    return (int64_t)r->rax;
}
