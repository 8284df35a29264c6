/* Control-plane errors: a message carried up to the user instead of printed at every layer
 * (crun's libcrun_error_t). Data paths (kernel, gofer) return -errno instead. */
#ifndef FB_UTIL_ERROR_H
#define FB_UTIL_ERROR_H

#include <stdarg.h>

struct fb_error {
    int code;      /* errno-style cause, 0 if none */
    char msg[512]; /* human message, shown to the user as "fnbox: <msg>" */
};

/* Record an error; returns -1 so callers can `return fb_error_set(err, ...)`. `err` may be NULL. */
int fb_error_set(struct fb_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix an existing message with more context ("loading image: <old>"). Returns -1. */
int fb_error_prefix(struct fb_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
