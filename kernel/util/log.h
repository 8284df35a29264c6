/* Logging for every fnbox process: one line per event, tagged with process role, function and line.
 * Shared by the controller, the Sentry and the Gofer (kernel/util is the project-wide helper layer). */
#ifndef FB_UTIL_LOG_H
#define FB_UTIL_LOG_H

#include <stdarg.h>

enum fb_log_level { FB_LOG_ERROR = 0, FB_LOG_WARN, FB_LOG_INFO, FB_LOG_DEBUG };

/* Process-wide settings: role shown in each line ("sentry", "gofer", ...) and verbosity. */
extern const char *fb_log_role;
extern int fb_log_verbosity;

void fb_log_write(enum fb_log_level lvl, const char *func, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define fb_err(...)  fb_log_write(FB_LOG_ERROR, __func__, __LINE__, __VA_ARGS__)
#define fb_warn(...) fb_log_write(FB_LOG_WARN, __func__, __LINE__, __VA_ARGS__)
#define fb_info(...)                                                                               \
    do {                                                                                           \
        if (fb_log_verbosity >= FB_LOG_INFO)                                                       \
            fb_log_write(FB_LOG_INFO, __func__, __LINE__, __VA_ARGS__);                            \
    } while (0)
#define fb_dbg(...)                                                                                \
    do {                                                                                           \
        if (fb_log_verbosity >= FB_LOG_DEBUG)                                                      \
            fb_log_write(FB_LOG_DEBUG, __func__, __LINE__, __VA_ARGS__);                           \
    } while (0)

#endif
