/* A memory bomb in a grandchild, with pid 1 waiting and other processes sleeping, under --memory
 * 64M: going over the limit kills the whole sandbox (not just the allocating process), so the
 * function cannot limp on. Outcome: exit status 137 and the out-of-memory message. */
#include "escape.h"

int main(void)
{
    pid_t kid = fork();
    if (kid == 0) {
        if (fork() == 0) {
            for (;;) {
                char *p =
                    mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == MAP_FAILED)
                    _exit(3);
                memset(p, 1, 1 << 20);
            }
        }
        for (;;)
            pause();
    }
    waitpid(kid, NULL, 0);
    printf("pid 1 survived\n");
    return 1;
}
