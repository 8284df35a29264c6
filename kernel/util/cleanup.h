/* Scope-bound cleanup helpers (crun/systemd style): `_cleanup_free_ char *p` frees on scope exit.
 * Used by the control plane, the gofer and setup code; the Sentry's hot paths free explicitly. */
#ifndef FB_UTIL_CLEANUP_H
#define FB_UTIL_CLEANUP_H

#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
#include <dirent.h>
#include <errno.h>

static inline void fb_freep(void *p)
{
    free(*(void **)p);
}
static inline void fb_closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}
static inline void fb_fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
}
static inline void fb_closedirp(DIR **d)
{
    if (*d)
        closedir(*d);
}

#define _cleanup_free_     __attribute__((cleanup(fb_freep)))
#define _cleanup_close_    __attribute__((cleanup(fb_closep)))
#define _cleanup_fclose_   __attribute__((cleanup(fb_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(fb_closedirp)))

/* Take ownership out of a cleanup variable: `return steal_pointer(&p);`. */
#define steal_pointer(pp)                                                                          \
    ({                                                                                             \
        __typeof__(*(pp)) _tmp = *(pp);                                                            \
        *(pp) = NULL;                                                                              \
        _tmp;                                                                                      \
    })
#define steal_fd(fdp)                                                                              \
    ({                                                                                             \
        int _tmp = *(fdp);                                                                         \
        *(fdp) = -1;                                                                               \
        _tmp;                                                                                      \
    })

#define FB_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define FB_MIN(a, b)     ((a) < (b) ? (a) : (b))
#define FB_MAX(a, b)     ((a) > (b) ? (a) : (b))

#endif
