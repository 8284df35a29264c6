/* Filling the sandbox's tmpfs (it lives in the memory file) under --memory 64M: writes fail with
 * ENOSPC once the limit is reached, instead of taking memory from the host. Outcome: ENOSPC
 * before 64 MiB were written; the program then frees it and exits 0. */
#include "escape.h"

int main(void)
{
    static char buf[1 << 16];
    size_t total = 0;
    int fd = open("/tmp/fill", O_WRONLY | O_CREAT, 0644), err = 0;
    memset(buf, 7, sizeof(buf));
    for (;;) {
        ssize_t n = write(fd, buf, sizeof(buf));
        if (n < 0) {
            err = errno;
            break;
        }
        total += (size_t)n;
        if (total > (1ull << 30))
            break;
    }
    esc_check(err == ENOSPC || err == ENOMEM, "tmpfs writes stop with ENOSPC (%s) after %zu MiB",
              esc_errname(err), total >> 20);
    esc_check(total <= (64u << 20), "at most the 64 MiB limit was written (%zu MiB)", total >> 20);
    close(fd);
    unlink("/tmp/fill");
    return esc_done();
}
