/* Endless work spread over threads and processes (four spinning threads, a child spinning, a
 * child blocked in a pipe read, a child sleeping) under --timeout 1s. Outcome: exit 124, every
 * host process reaped. */
#include <pthread.h>

#include "escape.h"

static void *spin(void *a)
{
    (void)a;
    for (;;)
        __asm__ volatile("" ::: "memory");
    return NULL;
}

int main(void)
{
    pthread_t th;
    int i, p[2];
    pipe(p);
    if (fork() == 0)
        spin(NULL);
    if (fork() == 0) {
        char c;
        read(p[0], &c, 1);
        _exit(0);
    }
    if (fork() == 0) {
        sleep(1000);
        _exit(0);
    }
    for (i = 0; i < 4; i++)
        pthread_create(&th, NULL, spin, NULL);
    spin(NULL);
}
