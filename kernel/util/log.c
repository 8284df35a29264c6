/* Logging implementation: formats into one buffer and emits it with a single write(2) so lines
 * from concurrent threads and processes never interleave. */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

const char *fb_log_role = "fnbox";
int fb_log_verbosity = FB_LOG_WARN;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void fb_log_write(enum fb_log_level lvl, const char *func, int line, const char *fmt, ...)
{
    char buf[1024];
    int saved = errno;
    int n;
    va_list ap;

    if ((int)lvl > fb_log_verbosity)
        return;
    n = snprintf(buf, sizeof(buf), "fnbox[%s] %s: ", fb_log_role, level_names[lvl]);
    va_start(ap, fmt);
    n += vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(buf) - 40)
        n = (int)sizeof(buf) - 40;
    n += snprintf(buf + n, sizeof(buf) - (size_t)n, " (%s:%d)\n", func, line);
    if (n > (int)sizeof(buf))
        n = (int)sizeof(buf);
    (void)!write(STDERR_FILENO, buf, (size_t)n);
    errno = saved;
}
