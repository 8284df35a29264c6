/* Conformance: named pipes in /tmp — mkfifo, O_NONBLOCK open rules (ENXIO for a writer without
 * readers), blocking open rendezvous between processes, data through the fifo, EEXIST.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    const char *f = cf_tmp("fifo");
    CHECK_SYS(mkfifo(f, 0600), "mkfifo");
    CHECK_ERR(mkfifo(f, 0600), EEXIST, "mkfifo over an existing name");
    CHECK_ERR(open(f, O_WRONLY | O_NONBLOCK), ENXIO, "nonblocking open for writing, no reader");
    int r = open(f, O_RDONLY | O_NONBLOCK);
    CHECK(r >= 0, "nonblocking open for reading succeeds without a writer");
    char buf[64];
    CHECK_EQ(read(r, buf, sizeof(buf)), 0, "read with no writer ever: EOF");
    int w = open(f, O_WRONLY | O_NONBLOCK);
    CHECK(w >= 0, "nonblocking open for writing once a reader exists");
    CHECK_ERR(read(r, buf, sizeof(buf)), EAGAIN, "read with a writer but no data: EAGAIN");
    CHECK_EQ(write(w, "ping", 4), 4, "write through the fifo");
    memset(buf, 0, sizeof(buf));
    CHECK_EQ(read(r, buf, sizeof(buf)), 4, "read it back");
    CHECK_STR(buf, "ping", "data");
    close(w);
    CHECK_EQ(read(r, buf, sizeof(buf)), 0, "EOF after the writer closed");
    close(r);

    /* Blocking opens rendezvous across processes. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int cw = open(f, O_WRONLY); /* blocks until the parent opens for reading */
        if (cw < 0)
            _exit(1);
        for (int i = 0; i < 100; i++)
            if (write(cw, "0123456789", 10) != 10)
                _exit(2);
        close(cw);
        _exit(0);
    }
    r = open(f, O_RDONLY);
    CHECK(r >= 0, "blocking open for reading meets the child's writer");
    size_t total = 0;
    ssize_t n;
    while ((n = read(r, buf, sizeof(buf))) > 0)
        total += (size_t)n;
    CHECK_EQ(total, 1000, "1000 bytes through the fifo");
    close(r);
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "writer child");
    int rw = open(f, O_RDWR);
    CHECK(rw >= 0, "O_RDWR open of a fifo does not block (Linux)");
    CHECK_EQ(write(rw, "x", 1), 1, "write to own O_RDWR fifo");
    CHECK_EQ(read(rw, buf, 1), 1, "read back from it");
    close(rw);
    struct stat st;
    stat(f, &st);
    CHECK(S_ISFIFO(st.st_mode) && st.st_size == 0, "stat: FIFO of size 0");
    CHECK_SYS(unlink(f), "unlink the fifo");
    return cf_done();
}
