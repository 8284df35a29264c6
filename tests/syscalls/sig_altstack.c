/* Conformance: sigaltstack — a SA_ONSTACK handler runs on the alternate stack (SS_ONSTACK seen
 * inside), SS_DISABLE, size errors, EPERM while on the stack. Part of tests/syscalls. */
#include "conform.h"

static char *alt_base;
static size_t alt_size;
static volatile int on_alt, flags_inside, eperm_inside, handler_ran;

static void handler(int sig)
{
    (void)sig;
    volatile char local;
    on_alt = (char *)&local >= alt_base && (char *)&local < alt_base + alt_size;
    stack_t cur;
    sigaltstack(NULL, &cur);
    flags_inside = cur.ss_flags;
    stack_t other = {.ss_sp = alt_base, .ss_size = alt_size, .ss_flags = 0};
    eperm_inside = sigaltstack(&other, NULL) == -1 && errno == EPERM;
    handler_ran = 1;
}

static volatile int deep_ok;
static void overflow_handler(int sig)
{
    (void)sig;
    volatile char local;
    deep_ok = (char *)&local >= alt_base && (char *)&local < alt_base + alt_size;
    _exit(deep_ok ? 0 : 1);
}

static int recurse_forever(int n)
{
    volatile char pad[4096];
    pad[0] = (char)n;
    if (n > 100000) /* never reached: the stack limit is 1 MiB */
        return 0;
    return recurse_forever(n + 1) + pad[0];
}

static int overflow_child(void *arg)
{
    (void)arg;
    struct rlimit rl = {1 << 20, 1 << 20};
    setrlimit(RLIMIT_STACK, &rl);
    struct sigaction sa = {0};
    sa.sa_handler = overflow_handler;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGSEGV, &sa, NULL);
    return recurse_forever(0);
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    stack_t ss, old;
    CHECK_SYS(sigaltstack(NULL, &old), "query sigaltstack");
    CHECK(old.ss_flags & SS_DISABLE, "no alternate stack at start");

    alt_size = 64 * 1024;
    alt_base = mmap(NULL, alt_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ss.ss_sp = alt_base;
    ss.ss_size = alt_size;
    ss.ss_flags = 0;
    CHECK_SYS(sigaltstack(&ss, NULL), "install a 64 KiB alternate stack");
    CHECK_SYS(sigaltstack(NULL, &old), "query again");
    CHECK(old.ss_sp == alt_base && old.ss_size == alt_size && old.ss_flags == 0,
          "query returns the stack, flags 0");

    struct sigaction sa = {0};
    sa.sa_handler = handler;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    CHECK_EQ(handler_ran, 1, "handler ran");
    CHECK_EQ(on_alt, 1, "SA_ONSTACK handler ran on the alternate stack");
    CHECK(flags_inside & SS_ONSTACK, "SS_ONSTACK reported inside the handler");
    CHECK_EQ(eperm_inside, 1, "changing the stack while on it: EPERM");

    sa.sa_flags = 0;
    sigaction(SIGUSR2, &sa, NULL);
    on_alt = -1;
    raise(SIGUSR2);
    CHECK_EQ(on_alt, 0, "handler without SA_ONSTACK ran on the normal stack");

    CHECK_STR(cf_status_str(cf_run_child(overflow_child, NULL)), "exited 0",
              "stack overflow SIGSEGV handled on the alternate stack");

    ss.ss_size = 1024;
    CHECK_ERR(sigaltstack(&ss, NULL), ENOMEM, "alternate stack smaller than MINSIGSTKSZ");
    ss.ss_size = alt_size;
    ss.ss_flags = 0x1234;
    CHECK_ERR(sigaltstack(&ss, NULL), EINVAL, "unknown ss_flags");
    ss.ss_flags = SS_DISABLE;
    CHECK_SYS(sigaltstack(&ss, NULL), "SS_DISABLE");
    sigaltstack(NULL, &old);
    CHECK(old.ss_flags & SS_DISABLE, "stack disabled");
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    on_alt = -1;
    raise(SIGUSR1);
    CHECK_EQ(on_alt, 0, "SA_ONSTACK with no alternate stack uses the normal stack");
    CHECK_ERR(sigaltstack((stack_t *)8, NULL), EFAULT, "sigaltstack with a bad pointer");
    return cf_done();
}
