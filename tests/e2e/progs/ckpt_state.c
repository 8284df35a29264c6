/* A program with state of every kind a checkpoint must keep: a second thread blocked on a futex,
 * a child process blocked reading a pipe, bytes buffered in a pipe, a signal handler and mask,
 * an alternate signal stack, heap and stack data, an ITIMER_REAL armed far in the future. It then
 * waits on stdin (the ready point). After the request arrives it checks that all of it survived
 * and prints one line:
 *   ok before=<random hex drawn before the checkpoint> after=<random hex drawn after>
 *      mono_ok=1 line=<the request>
 * or "FAIL what" with exit status 1. */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static atomic_int word;
static volatile sig_atomic_t got_usr1;
static char heap_pattern[64] = "heap data survives";

static void on_usr1(int sig)
{
    (void)sig;
    got_usr1 = 1;
}

static void *waiter(void *arg)
{
    (void)arg;
    while (atomic_load(&word) == 0)
        syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    atomic_store(&word, 2);
    return NULL;
}

static void hex(const unsigned char *b, int n, char *out)
{
    for (int i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(void)
{
    unsigned char before[16], after[16];
    char hb[40], ha[40], line[256] = "", *heap;
    int to_child[2], from_child[2], buffered[2];
    pthread_t th;
    pid_t child;
    int64_t t0;
    struct itimerval it = {{0, 0}, {3600, 0}};
    stack_t ss;
    sigset_t blk;
    char stackbuf[32] = "stack data survives";

    if (getrandom(before, sizeof(before), 0) != sizeof(before))
        return 1;
    heap = strdup(heap_pattern);
    signal(SIGUSR1, on_usr1);
    sigemptyset(&blk);
    sigaddset(&blk, SIGUSR2);
    sigprocmask(SIG_BLOCK, &blk, NULL);
    ss.ss_sp = malloc(65536);
    ss.ss_size = 65536;
    ss.ss_flags = 0;
    sigaltstack(&ss, NULL);
    setitimer(ITIMER_REAL, &it, NULL);
    if (pipe(to_child) || pipe(from_child) || pipe(buffered))
        return 1;
    if (write(buffered[1], "buffered", 8) != 8)
        return 1;
    child = fork();
    if (child == 0) {
        char c;
        close(to_child[1]);
        if (read(to_child[0], &c, 1) != 1)
            _exit(3);
        c = (char)(c + 1);
        if (write(from_child[1], &c, 1) != 1)
            _exit(4);
        _exit(7);
    }
    pthread_create(&th, NULL, waiter, NULL);
    usleep(20000); /* let the thread block in FUTEX_WAIT and the child in read */
    t0 = mono_ns();

    /* ---- ready point ---- */
    if (!fgets(line, sizeof(line), stdin))
        line[0] = 0;
    line[strcspn(line, "\n")] = 0;

    if (mono_ns() < t0) {
        printf("FAIL monotonic clock went backwards\n");
        return 1;
    }
    if (strcmp(heap, heap_pattern) || strcmp(stackbuf, "stack data survives")) {
        printf("FAIL memory\n");
        return 1;
    }
    {
        char b[9] = "";
        if (read(buffered[0], b, 8) != 8 || strcmp(b, "buffered")) {
            printf("FAIL pipe buffer '%s'\n", b);
            return 1;
        }
    }
    {
        char c = 'a';
        int st;
        if (write(to_child[1], &c, 1) != 1 || read(from_child[0], &c, 1) != 1 || c != 'b') {
            printf("FAIL child pipe\n");
            return 1;
        }
        if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 7) {
            printf("FAIL child status %#x\n", st);
            return 1;
        }
    }
    atomic_store(&word, 1);
    syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    pthread_join(th, NULL);
    if (atomic_load(&word) != 2) {
        printf("FAIL thread\n");
        return 1;
    }
    raise(SIGUSR1);
    if (!got_usr1) {
        printf("FAIL signal handler\n");
        return 1;
    }
    {
        sigset_t cur;
        stack_t cs;
        sigprocmask(SIG_BLOCK, NULL, &cur);
        sigaltstack(NULL, &cs);
        getitimer(ITIMER_REAL, &it);
        if (!sigismember(&cur, SIGUSR2) || cs.ss_size != 65536 || it.it_value.tv_sec < 3000) {
            printf("FAIL mask/altstack/itimer (%ld)\n", (long)it.it_value.tv_sec);
            return 1;
        }
    }
    if (getrandom(after, sizeof(after), 0) != sizeof(after))
        return 1;
    hex(before, 16, hb);
    hex(after, 16, ha);
    printf("ok before=%s after=%s mono_ok=1 line=%s\n", hb, ha, line);
    return 0;
}
