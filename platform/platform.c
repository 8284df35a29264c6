/* Platform selection: the one place that knows which backends exist. */
#include "platform/platform.h"

#include <errno.h>
#include <string.h>

int fb_ptrace_platform_new(int memfd, struct fb_platform **out, struct fb_error *err);

int fb_platform_new(const char *name, int memfd, struct fb_platform **out, struct fb_error *err)
{
    if (!name || strcmp(name, "ptrace") == 0)
        return fb_ptrace_platform_new(memfd, out, err);
    return fb_error_set(err, EINVAL, "unknown platform '%s' (available: ptrace)", name);
}
