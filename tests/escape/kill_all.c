/* kill(-1, SIGKILL) from inside: it reaches every process of the sandbox except pid 1 and the
 * caller, and nothing on the host (the runner's canary process must survive). Outcome: siblings
 * die with SIGKILL, pid 1 lives, host unaffected. Then pid 1 itself does it. */
#include "escape.h"

static void sleeper(void *arg)
{
    (void)arg;
    for (;;)
        pause();
}

int main(void)
{
    pid_t kids[3], attacker;
    int i, st;

    esc_check(getpid() == 1, "runs as pid 1 (got %d)", (int)getpid());
    for (i = 0; i < 3; i++) {
        kids[i] = fork();
        if (kids[i] == 0)
            sleeper(NULL);
    }
    attacker = fork();
    if (attacker == 0)
        _exit(kill(-1, SIGKILL) == 0 ? 0 : 10 + errno);
    waitpid(attacker, &st, 0);
    esc_check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "kill(-1, SIGKILL) in a child succeeds (%s)",
              esc_status_str(st));
    for (i = 0; i < 3; i++) {
        waitpid(kids[i], &st, 0);
        esc_check(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "sibling %d killed (%s)", i,
                  esc_status_str(st));
    }
    for (i = 0; i < 3; i++) {
        kids[i] = fork();
        if (kids[i] == 0)
            sleeper(NULL);
    }
    ESC_OK(kill(-1, SIGKILL));
    for (i = 0; i < 3; i++) {
        waitpid(kids[i], &st, 0);
        esc_check(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child %d killed by pid 1's kill(-1)",
                  i);
    }
    ESC_ERR(kill(-1, SIGKILL), ESRCH);
    esc_check(1, "pid 1 still runs");
    return esc_done();
}
