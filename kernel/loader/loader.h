/* Program loading for execve: ELF executables (static, static-pie, dynamic via their
 * interpreter) and #! scripts, into a fresh address space with the initial stack and auxv. */
#ifndef FB_LOADER_LOADER_H
#define FB_LOADER_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/mm/mm.h"
#include "kernel/task/task.h"

struct fb_exec_image {
    struct fb_mm *mm;  /* the new address space (one reference) */
    uint64_t entry;    /* initial rip */
    uint64_t sp;       /* initial rsp */
    char comm[16];     /* task name: basename of the executable */
};

/* Load path (relative to dirfd, AT_FDCWD = cwd) with argv/envp (NULL-terminated Sentry arrays)
 * for task t. `atflags` may hold AT_EMPTY_PATH / AT_SYMLINK_NOFOLLOW. On failure returns -errno
 * and, if why != NULL, a human explanation ("ELF for aarch64, not x86_64"). */
int fb_loader_load(struct fb_task *t, int dirfd, const char *path, char *const argv[],
                   char *const envp[], int atflags, struct fb_exec_image *img, char *why,
                   size_t whylen);

/* Give new address spaces no vDSO (FNBOX_NO_VDSO=1: A/B measurements, bisecting): the C
 * library then makes every clock call a system call. */
extern bool fb_loader_vdso_off;

/* Validate an ELF header and program headers as the loader would (unit tests, fuzzing).
 * Returns 0 or -ENOEXEC/-EINVAL with why filled. */
int fb_loader_check_elf(const void *buf, size_t len, uint64_t file_size, char *why,
                        size_t whylen);

#endif
