/* The classic TOCTOU escape through a read-write mount: one thread keeps swapping /rw/d between a
 * real directory and a symlink climbing to "/", the other keeps opening /rw/d/etc/shadow and
 * creating /rw/d/<marker>. If any host component resolved the link (or checked one inode and used
 * another) the reader would see the host's /etc/shadow and the marker would appear in the host's
 * root. Outcome: only the decoy or ENOENT/EROFS, for two seconds of racing. */
#include <pthread.h>

#include "escape.h"

static volatile int stop;
static long swaps;

static void *swapper(void *arg)
{
    (void)arg;
    while (!stop) {
        rename("/rw/d", "/rw/real");
        rename("/rw/link", "/rw/d");
        rename("/rw/d", "/rw/link");
        rename("/rw/real", "/rw/d");
        swaps++;
    }
    return NULL;
}

int main(void)
{
    pthread_t th;
    long opens = 0, decoys = 0, enoent = 0, bad = 0, created = 0, erofs = 0;
    struct timespec t0, t;
    char buf[256];
    int fd;

    esc_check(mkdir("/rw/d", 0755) == 0 && mkdir("/rw/d/etc", 0755) == 0, "mkdir /rw/d/etc");
    fd = open("/rw/d/etc/shadow", O_WRONLY | O_CREAT, 0644);
    esc_check(fd >= 0 && write(fd, "decoy\n", 6) == 6, "decoy /rw/d/etc/shadow");
    close(fd);
    esc_check(symlink("../../../../../../../..", "/rw/link") == 0, "symlink /rw/link");
    pthread_create(&th, NULL, swapper, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        ssize_t n = esc_read_file("/rw/d/etc/shadow", buf, sizeof(buf));
        opens++;
        if (n >= 0 && strcmp(buf, "decoy\n") == 0)
            decoys++;
        else if (n < 0 && (errno == ENOENT || errno == ENOTDIR))
            enoent++;
        else if (n >= 0) {
            bad++;
            printf("read something else through the race: %.40s\n", buf);
        }
        fd = open("/rw/d/" ESC_MARKER, O_WRONLY | O_CREAT, 0644);
        if (fd >= 0) {
            created++;
            close(fd);
            unlink("/rw/d/" ESC_MARKER);
        } else if (errno == EROFS) {
            erofs++;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (t.tv_sec - t0.tv_sec < 2);
    stop = 1;
    pthread_join(th, NULL);
    printf(
        "%ld swaps, %ld opens: %ld decoy, %ld ENOENT, %ld other; creates: %ld in /rw, %ld EROFS\n",
        swaps, opens, decoys, enoent, bad, created, erofs);
    esc_check(bad == 0, "never read anything but the decoy");
    esc_check(swaps > 10 && opens > 10, "the race ran");
    return esc_done();
}
