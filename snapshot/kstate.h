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

/* A restore in two halves. The first reads and checks the image on fd (takes fd over): its
 * memory section, kernel state and working set, and starts reading the hot pages. It needs
 * neither the Gofer nor the file tree, so the Sentry runs it while the Gofer still starts.
 * NULL only when out of memory; an image's error is kept and returned by the second half. */
struct fb_snapshot_prep;
struct fb_snapshot_prep *fb_snapshot_restore_begin(int fd);
/* The second: rebuild every kernel object (re-walking files through the Gofer; the file tree
 * has been built as at boot, same view), map the address spaces and start every task. Takes p
 * over (NULL: out of memory). Kernel lock held. */
int fb_snapshot_restore(struct fb_snapshot_prep *p, struct fb_error *err);
/* Drop a first half that will not be finished. */
void fb_snapshot_prep_free(struct fb_snapshot_prep *p);

struct fb_image_reader;
/* Check, without a kernel, what a restore would refuse before loading any object: the kernel
 * section's encoding, magic and version, the page reference table against the memory chunks,
 * the hot pages' renumbering and the working set (fnbox inspect --verify; the server checks
 * uploads with it). The memory pages themselves are fb_image_verify's. */
int fb_snapshot_check_image(struct fb_image_reader *r, struct fb_error *err);

#endif
