/* Hostile arguments for every system call number: NULL, -1, kernel addresses, unaligned and
 * misaligned pointers, huge lengths, negative fds and out-of-range numbers, table-driven over
 * `fnbox syscalls` (/info/syscalls.txt). Each number runs in a child (fds 0-2 on /dev/null) that
 * reports every result over a pipe; a call that blocks or kills its child is noted and the rest
 * of the patterns run in a new child. Outcome: unimplemented numbers give ENOSYS, refused ones
 * their documented errno (or EFAULT/EINVAL when, as on Linux, a bad pointer or an invalid
 * argument such as an unknown clock id is caught before the permission check), implemented ones
 * return
 * anything or fault the child, and the Sentry survives all of it (the runner checks). */
#include <poll.h>

#include "escape.h"

#define NPAT   8
#define MAX_NR 520

static char *buf; /* a valid, zeroed, writable page pair */

static void pattern(int p, unsigned long a[6])
{
    static const unsigned long k = ESC_KERNEL_ADDR;
    int i;
    for (i = 0; i < 6; i++) {
        switch (p) {
        case 0:
            a[i] = 0;
            break;
        case 1:
            a[i] = ~0ul;
            break;
        case 2:
            a[i] = k;
            break;
        case 3:
            a[i] = 1;
            break;
        case 4:
            a[i] = (unsigned long[]){~0ul, k, 1ul << 62, ~0ul, k, 1ul << 62}[i];
            break;
        case 5:
            a[i] = (unsigned long)buf + 1;
            break;
        case 6:
            a[i] = (unsigned long[]){0, (unsigned long)buf, 1ul << 40, 0, (unsigned long)buf, 0}[i];
            break;
        default:
            a[i] =
                (unsigned long[]){0x80000000ul, 0x7fffffff, 0xffff8000, 1ul << 63, 4095, 4097}[i];
            break;
        }
    }
}

/* Signal senders are left to kill_all/kill_host_pids and the fuzzer: with these patterns they
 * would only shoot this test's own processes. */
static bool skipped(long nr)
{
    return nr == SYS_kill || nr == SYS_tkill || nr == SYS_tgkill || nr == SYS_rt_sigqueueinfo ||
           nr == SYS_rt_tgsigqueueinfo || nr == SYS_pidfd_send_signal;
}

static void child(long nr, int from, int out)
{
    int p, null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    alarm(0);
    for (p = from; p < NPAT; p++) {
        unsigned long a[6];
        long r;
        char rec[1 + sizeof(long)];
        pattern(p, a);
        memset(buf, 0, 8192);
        rec[0] = (char)p;
        r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        if (r == -1)
            r = -errno;
        memcpy(rec + 1, &r, sizeof(r));
        if (write(out, rec, sizeof(rec)) != (ssize_t)sizeof(rec))
            _exit(99);
    }
    _exit(0);
}

static int level_of(long nr, char *level, size_t size)
{
    char line[512], name[64], lv[32];
    long n;
    FILE *f = fopen("/info/syscalls.txt", "r");
    int found = 0;
    level[0] = 0;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, " %ld %63s %31s", &n, name, lv) == 3 && n == nr) {
            snprintf(level, size, "%s", lv);
            found = 1;
            break;
        }
    if (f)
        fclose(f);
    return found;
}

int main(void)
{
    static const long extra[] = {0x40000000 + 1, 0x40000000 + 59, 1000, 4096, 0x7fffffff, -1, -2,
                                 1l << 32,       (1l << 32) + 1};
    long nrs[MAX_NR + 16];
    int nnr = 0, i, calls = 0, killed = 0, hung = 0, nosys_bad = 0, err_bad = 0;
    long nr;

    buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    esc_check(access("/info/syscalls.txt", R_OK) == 0, "the syscall table is readable");
    for (nr = 0; nr < MAX_NR; nr++)
        nrs[nnr++] = nr;
    for (i = 0; i < (int)(sizeof(extra) / sizeof(extra[0])); i++)
        nrs[nnr++] = extra[i];

    for (i = 0; i < nnr; i++) {
        char level[32];
        int from = 0, doc;
        nr = nrs[i];
        if (skipped(nr))
            continue;
        if (!level_of(nr, level, sizeof(level)))
            snprintf(level, sizeof(level), "none"); /* past the table: must be ENOSYS */
        doc = esc_documented_errno(nr);
        if (doc < 0)
            doc = ENOSYS;
        while (from < NPAT) {
            int pfd[2], st, got_p = from - 1;
            pid_t kid;
            if (pipe(pfd) != 0)
                break;
            kid = fork();
            if (kid == 0) {
                close(pfd[0]);
                dup2(pfd[1], 900);
                close(pfd[1]);
                child(nr, from, 900);
            }
            close(pfd[1]);
            for (;;) {
                struct pollfd pl = {pfd[0], POLLIN, 0};
                char rec[1 + sizeof(long)];
                long r;
                int pr = poll(&pl, 1, 500);
                if (pr == 0) { /* blocked: kill it, go on with the next pattern */
                    hung++;
                    kill(kid, SIGKILL);
                    break;
                }
                if (read(pfd[0], rec, sizeof(rec)) != (ssize_t)sizeof(rec))
                    break; /* the child ended (or died in the call) */
                memcpy(&r, rec + 1, sizeof(r));
                got_p = rec[0];
                calls++;
                if (!strcmp(level, "none") && r != -ENOSYS) {
                    nosys_bad++;
                    printf(
                        "FAIL: syscall %ld (unimplemented) pattern %d returned %ld, not ENOSYS\n",
                        nr, got_p, r);
                } else if (!strcmp(level, "error") && r != -doc && r != -EFAULT && r != -EINVAL) {
                    err_bad++;
                    printf("FAIL: syscall %ld (refused) pattern %d returned %ld, documented %s\n",
                           nr, got_p, r, esc_errname(doc));
                }
            }
            close(pfd[0]);
            waitpid(kid, &st, 0);
            if (WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL)
                killed++;
            from = got_p + 2; /* skip the pattern that blocked or killed the child */
            if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                break;
        }
    }
    printf("%d calls answered over %d numbers; %d children faulted in a call, %d calls blocked "
           "(killed after 500 ms)\n",
           calls, nnr, killed, hung);
    esc_check(nosys_bad == 0, "every unimplemented number gives ENOSYS (%d did not)", nosys_bad);
    esc_check(err_bad == 0, "every refused call gives its documented errno (%d did not)", err_bad);
    esc_check(calls > nnr * 4, "most calls returned (%d)", calls);
    esc_check(getpid() == 1 && kill(1, 0) == 0, "pid 1 and the Sentry survive");
    return esc_done();
}
