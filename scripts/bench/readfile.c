/* Benchmark program: read a whole file in 1 MiB chunks and print the throughput.
 * Built static by `make bench` as build/bench/readfile; scripts/bench.sh runs it natively,
 * under runsc and under fnbox on the same host file. Usage: readfile PATH; prints
 * "mb_per_s=X bytes=N seconds=S checksum=HEX" (MB = 10^6 bytes). The checksum samples one
 * 8-byte word per 4 KiB so that the driver can check every reader saw the same content.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1 << 20)

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    uint64_t sum = 1469598103934665603ull;
    long long total = 0;
    struct stat st;
    char *buf;
    int fd;

    if (argc != 2) {
        fprintf(stderr, "usage: readfile PATH\n");
        return 2;
    }
    buf = malloc(CHUNK);
    if (!buf) {
        perror("readfile: malloc");
        return 1;
    }
    /* Touch the buffer first: its page faults are not part of read throughput. */
    memset(buf, 0, CHUNK);

    double t0 = now_s();
    fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "readfile: open %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    for (;;) {
        ssize_t n = read(fd, buf, CHUNK);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "readfile: read at %lld: %s\n", total, strerror(errno));
            return 1;
        }
        if (n == 0)
            break;
        /* Reads of a regular file may be short; only whole 4 KiB-aligned words are sampled. */
        for (ssize_t off = (4096 - total % 4096) % 4096; off + 8 <= n; off += 4096) {
            uint64_t w;

            memcpy(&w, buf + off, sizeof(w));
            sum = (sum ^ w) * 1099511628211ull;
        }
        total += n;
    }
    double t1 = now_s();

    if (fstat(fd, &st) == 0 && st.st_size != total) {
        fprintf(stderr, "readfile: read %lld bytes but the file has %lld\n", total,
                (long long)st.st_size);
        return 1;
    }
    close(fd);
    printf("mb_per_s=%.1f bytes=%lld seconds=%.4f checksum=%016" PRIx64 "\n",
           total / 1e6 / (t1 - t0), total, t1 - t0, sum);
    return 0;
}
