/* A memory bomb under --memory 64M: touch memory until stopped. Outcome: the whole sandbox is
 * killed with an out-of-memory message and exit status 137; the program never prints "survived". */
#include "escape.h"

int main(void)
{
    size_t total = 0;
    for (;;) {
        char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            break;
        memset(p, 0xa5, 1 << 20);
        total += 1 << 20;
        if (total > (1ull << 30))
            break;
    }
    printf("survived with %zu MiB\n", total >> 20);
    return 1;
}
