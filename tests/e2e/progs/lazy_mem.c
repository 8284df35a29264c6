/* Memory for the lazy-restore tests: before its ready point the program fills 8 MiB of heap,
 * a child's private copy of part of it (fork) and a tmpfs file with a pattern that differs per
 * page, then reads one request line per invocation:
 *   "one"   touch one page and answer "one ok" (a training event: the working set stays small)
 *   "check" read every page back three ways (the program's loads, write() from the buffer, the
 *           tmpfs file and the child's copy) and answer "check ok PAGES" or what differed
 *   "go"    like check, after a second request line (time for a test to act in between)
 * Pages the invocation touches come back from the image only when touched after a lazy
 * restore, so "check" after training on "one" exercises every lazy path. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGES 2048
#define PG    4096

static uint64_t word(uint64_t page, uint64_t salt)
{
    uint64_t x = page * 0x9e3779b97f4a7c15ull ^ salt;
    x ^= x >> 29;
    return x * 0xbf58476d1ce4e5b9ull;
}

static int check_buf(const uint8_t *b, uint64_t salt, const char *what)
{
    for (uint64_t p = 0; p < PAGES; p++) {
        uint64_t w;
        memcpy(&w, b + p * PG + (p % 500) * 8, 8);
        if (w != word(p, salt)) {
            printf("check FAILED: %s page %lu\n", what, (unsigned long)p);
            return -1;
        }
    }
    return 0;
}

static void fill(uint8_t *b, uint64_t salt)
{
    for (uint64_t p = 0; p < PAGES; p++) {
        uint64_t w = word(p, salt);
        memset(b + p * PG, (int)(p & 0xff), PG);
        memcpy(b + p * PG + (p % 500) * 8, &w, 8);
    }
}

int main(void)
{
    uint8_t *heap = malloc((size_t)PAGES * PG), *copy = malloc((size_t)PAGES * PG);
    int to_child[2], from_child[2], fd;
    char line[64];
    pid_t child;

    if (!heap || !copy || pipe(to_child) || pipe(from_child))
        return 2;
    fill(heap, 1);
    fd = open("/tmp/lazy_mem.data", O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, heap, (size_t)PAGES * PG) != (ssize_t)PAGES * PG)
        return 3;
    child = fork();
    if (child == 0) {
        /* The child's private copy of the heap, changed in every fourth page. */
        char c;
        close(to_child[1]);
        close(from_child[0]);
        for (uint64_t p = 0; p < PAGES; p += 4) {
            uint64_t w = word(p, 2);
            memcpy(heap + p * PG + (p % 500) * 8, &w, 8);
        }
        while (read(to_child[0], &c, 1) == 1) {
            int bad = 0;
            for (uint64_t p = 0; p < PAGES; p++) {
                uint64_t w;
                memcpy(&w, heap + p * PG + (p % 500) * 8, 8);
                bad += w != word(p, p % 4 ? 1 : 2);
            }
            c = bad ? 'F' : 'K';
            if (write(from_child[1], &c, 1) != 1)
                _exit(1);
        }
        _exit(0);
    }
    close(to_child[0]);
    close(from_child[1]);
    setvbuf(stdout, NULL, _IONBF, 0);
    /* The ready point: the first read of stdin. */
    if (!fgets(line, sizeof(line), stdin))
        return 4;
    if (strncmp(line, "one", 3) == 0) {
        printf("one ok %d\n", heap[7 * PG]);
        return 0;
    }
    if (strncmp(line, "go", 2) == 0 && !fgets(line, sizeof(line), stdin))
        return 5;
    /* 1. The program's own loads. */
    if (check_buf(heap, 1, "heap load") < 0)
        return 1;
    /* 2. The kernel reading the buffer (pwrite of the heap to the end of the tmpfs file) and
     *    tmpfs pages (pread of both halves). */
    if (pwrite(fd, heap, (size_t)PAGES * PG, (off_t)PAGES * PG) != (ssize_t)PAGES * PG ||
        pread(fd, copy, (size_t)PAGES * PG, 0) != (ssize_t)PAGES * PG ||
        check_buf(copy, 1, "tmpfs file (written before the checkpoint)") < 0 ||
        pread(fd, copy, (size_t)PAGES * PG, (off_t)PAGES * PG) != (ssize_t)PAGES * PG ||
        check_buf(copy, 1, "tmpfs file (written after the restore)") < 0)
        return 1;
    /* 3. The child's copy: pages it shares with the parent and pages of its own. */
    if (write(to_child[1], "?", 1) != 1 || read(from_child[0], line, 1) != 1 || line[0] != 'K') {
        printf("check FAILED: the child's copy\n");
        return 1;
    }
    close(to_child[1]);
    waitpid(child, NULL, 0);
    printf("check ok %d\n", PAGES);
    return 0;
}
