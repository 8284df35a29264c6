/* Conformance: the mask during and after a handler — the signal itself is blocked (unless
 * SA_NODEFER), sa_mask is added, sigreturn restores the mask from the frame (including changes
 * made to uc_sigmask), SA_RESETHAND, nested delivery. Part of tests/syscalls (native == fnbox). */
#include "conform.h"
#include <ucontext.h>

static volatile int self_blocked, other_blocked, hits, nested_depth, max_depth, nested_calls;

static void check_mask(int sig)
{
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    self_blocked = sigismember(&cur, sig);
    other_blocked = sigismember(&cur, SIGUSR2);
    hits++;
}

static void add_usr2_to_uc(int sig, siginfo_t *si, void *ucv)
{
    (void)sig, (void)si;
    ucontext_t *uc = ucv;
    sigaddset(&uc->uc_sigmask, SIGUSR2); /* takes effect when the handler returns */
    hits++;
}

static void nested(int sig)
{
    nested_depth++;
    nested_calls++;
    if (nested_depth > max_depth)
        max_depth = nested_depth;
    if (nested_calls < 3)
        raise(sig);
    nested_depth--;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    struct sigaction sa = {0};
    sa.sa_handler = check_mask;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    CHECK_EQ(self_blocked, 1, "signal is blocked inside its own handler");
    CHECK_EQ(other_blocked, 0, "other signals are not blocked without sa_mask");
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    CHECK_EQ(sigismember(&cur, SIGUSR1), 0, "mask restored after the handler");

    sigaddset(&sa.sa_mask, SIGUSR2);
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    CHECK_EQ(other_blocked, 1, "sa_mask signal blocked inside the handler");
    sigprocmask(SIG_BLOCK, NULL, &cur);
    CHECK_EQ(sigismember(&cur, SIGUSR2), 0, "sa_mask not left behind");

    sa.sa_flags = SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    CHECK_EQ(self_blocked, 0, "SA_NODEFER: signal not blocked in its handler");

    sa.sa_handler = nested;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    CHECK_EQ(max_depth, 3, "SA_NODEFER allows nested delivery (depth 3)");
    sa.sa_flags = 0;
    sigaction(SIGUSR1, &sa, NULL);
    max_depth = nested_depth = nested_calls = 0;
    raise(SIGUSR1);
    CHECK_EQ(max_depth, 1, "without SA_NODEFER the re-raise waits (depth 1)");
    CHECK_EQ(nested_calls, 3, "each pending re-raise ran after the handler returned");

    /* Changes to uc_sigmask become the mask after sigreturn. */
    struct sigaction sb = {0};
    sb.sa_sigaction = add_usr2_to_uc;
    sb.sa_flags = SA_SIGINFO;
    sigemptyset(&sb.sa_mask);
    sigaction(SIGUSR1, &sb, NULL);
    raise(SIGUSR1);
    sigprocmask(SIG_BLOCK, NULL, &cur);
    CHECK_EQ(sigismember(&cur, SIGUSR2), 1, "uc_sigmask edited in the handler is the new mask");
    CHECK_EQ(sigismember(&cur, SIGUSR1), 0, "and the handled signal is unblocked again");
    sigemptyset(&cur);
    sigprocmask(SIG_SETMASK, &cur, NULL);

    /* SA_RESETHAND: one-shot handler. */
    sa.sa_handler = check_mask;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGUSR1, &sa, NULL);
    hits = 0;
    raise(SIGUSR1);
    CHECK_EQ(hits, 1, "SA_RESETHAND handler ran");
    CHECK_EQ(self_blocked, 1, "SA_RESETHAND handler still runs with its signal blocked (Linux)");
    struct sigaction q;
    sigaction(SIGUSR1, NULL, &q);
    CHECK(q.sa_handler == SIG_DFL, "disposition reset to SIG_DFL");

    /* The mask a handler starts with is the mask at delivery plus the signal, even if the mask
     * was changed in between by sigprocmask in the handler. */
    sa.sa_handler = check_mask;
    sa.sa_flags = 0;
    sigaction(SIGUSR2, &sa, NULL);
    sigset_t b;
    sigemptyset(&b);
    sigaddset(&b, SIGUSR2);
    sigprocmask(SIG_BLOCK, &b, NULL);
    raise(SIGUSR2);
    hits = 0;
    sigprocmask(SIG_UNBLOCK, &b, NULL);
    CHECK_EQ(hits, 1, "pending SIGUSR2 delivered by sigprocmask(SIG_UNBLOCK)");
    sigprocmask(SIG_BLOCK, NULL, &cur);
    CHECK_EQ(sigismember(&cur, SIGUSR2), 0, "unblocked after delivery");
    return cf_done();
}
