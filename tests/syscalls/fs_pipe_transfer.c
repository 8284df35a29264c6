/* Conformance: a large pipe transfer between processes with a checksum, and PIPE_BUF atomicity
 * with several concurrent writers. Part of tests/syscalls (runs natively and under fnbox). */
#include "conform.h"
#include <limits.h>

#define TOTAL (8u << 20)

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    int p[2];
    pipe(p);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        uint64_t s = 7, h = 0;
        static char buf[65536 + 123];
        size_t sent = 0;
        while (sent < TOTAL) {
            size_t n = sizeof(buf) - (sent % 1000);
            if (n > TOTAL - sent)
                n = TOTAL - sent;
            for (size_t i = 0; i < n; i++)
                buf[i] = (char)cf_rand(&s);
            h = cf_hash(h, buf, n);
            if (cf_write_full(p[1], buf, n) < 0)
                _exit(1);
            sent += n;
        }
        write(p[1], &h, 0);
        _exit(0);
    }
    close(p[1]);
    uint64_t s = 7, h = 0, want = 0;
    static char rbuf[7777];
    size_t got = 0;
    bool match = true;
    for (;;) {
        ssize_t n = read(p[0], rbuf, sizeof(rbuf));
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            match &= rbuf[i] == (char)cf_rand(&s);
        h = cf_hash(h, rbuf, (size_t)n);
        got += (size_t)n;
    }
    close(p[0]);
    /* Recompute the expected checksum locally. */
    uint64_t s2 = 7;
    char *all = malloc(TOTAL);
    for (size_t i = 0; i < TOTAL; i++)
        all[i] = (char)cf_rand(&s2);
    want = cf_hash(0, all, TOTAL);
    free(all);
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "writer child");
    CHECK_EQ(got, TOTAL, "received 8 MiB");
    CHECK(match, "byte-for-byte identical");
    CHECK(h == want, "checksum matches");
    cf_say("checksum %016llx", (unsigned long long)h);

    /* 4 writers, each writing 200 records of PIPE_BUF bytes: records never interleave. */
    pipe(p);
    pid_t w[4];
    for (int k = 0; k < 4; k++) {
        fflush(stdout);
        w[k] = fork();
        if (w[k] == 0) {
            close(p[0]);
            char rec[PIPE_BUF];
            memset(rec, 'A' + k, sizeof(rec));
            for (int i = 0; i < 200; i++)
                if (write(p[1], rec, sizeof(rec)) != PIPE_BUF)
                    _exit(1);
            _exit(0);
        }
    }
    close(p[1]);
    char rec[PIPE_BUF];
    int counts[4] = {0}, torn = 0;
    for (;;) {
        ssize_t n = cf_read_full(p[0], rec, sizeof(rec));
        if (n <= 0)
            break;
        bool same = n == PIPE_BUF;
        for (int i = 1; i < n; i++)
            same &= rec[i] == rec[0];
        if (!same || rec[0] < 'A' || rec[0] > 'D')
            torn++;
        else
            counts[rec[0] - 'A']++;
    }
    for (int k = 0; k < 4; k++)
        cf_wait(w[k]);
    CHECK_EQ(torn, 0, "no torn PIPE_BUF records");
    CHECK(counts[0] == 200 && counts[1] == 200 && counts[2] == 200 && counts[3] == 200,
          "200 records from each writer");
    return cf_done();
}
