/* Checkpoint and restore of a whole sandbox kernel: the driver that writes every kernel object
 * (processes, threads, signal state, fd tables and open files, pipes, address spaces) plus the
 * memory file into an image, and rebuilds a running kernel from one. The format of the "kernel"
 * section is described in docs/image-format.md. */
#ifndef FB_SNAPSHOT_KSTATE_H
#define FB_SNAPSHOT_KSTATE_H

#include "kernel/util/error.h"

/* Version of the "kernel" section's layout (bumped with the image minor version). */
#define FB_KSTATE_VERSION 1

/* Write the image to fd (created by the controller, which renames it into place). Every task is
 * parked at its syscall boundary; kernel lock held. Objects that cannot be saved (yet) give an
 * error naming the process, fd and kind. */
int fb_snapshot_write(int fd, struct fb_error *err);

/* Rebuild the kernel from the image on fd (takes fd over) and start every task. The file tree
 * has been built as at boot (same gofer view). Kernel lock held. */
int fb_snapshot_restore(int fd, struct fb_error *err);

#endif
