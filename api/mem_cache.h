/* Image memory kept decompressed between runs of the command line (`fnbox restore`), as
 * `fnbox serve` keeps it in memory for its warm pools (fb_memfile_hot_make): a restore given it
 * copies its working set from there instead of checking the image's whole memory section and
 * LZ4-decompressing its hot chunks — ~2 ms of a python function's restore → response. Made by
 * `fnbox checkpoint` for the image it writes, and by a restore that found none (after its
 * answer).
 *
 * An entry is one file in the cache directory (default /run/fnbox/mem, a tmpfs), named after
 * the image file's identity: "v1-<dev>-<ino>-<size>-<mtime ns>-<ctime ns>" in hex. An image
 * rewritten in any way (even in place, its mtime set back) has another ctime, so another
 * name: an entry is never used for other contents than those it was made from. Entries are
 * written whole (O_TMPFILE, then linked), mode 0400, owned by this user; one not so, or with
 * other than one link, is not used. A restore that uses one sets its access time; entries not
 * used for FB_MEM_CACHE_TTL seconds, and the least recently used beyond FB_MEM_CACHE_MAX_MB in
 * all, are removed by the next one that is made. Only one process makes entries at a time
 * (an flock on the directory); the others go on without.
 *
 * The directory must be one of this user's that group and others cannot open.
 * FNBOX_MEM_CACHE=0 turns the cache off; FNBOX_MEM_CACHE_DIR moves it. Every failure only
 * means the restore reads its memory from the image, as without a cache. What an entry holds is
 * the program's memory, no more trusted than the image: a changed entry can change what the
 * sandboxed program computes, not what the Sentry does (its memory is the program's data). */
#ifndef FB_API_MEM_CACHE_H
#define FB_API_MEM_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/util/error.h"

#define FB_MEM_CACHE_DIR    "/run/fnbox/mem"
#define FB_MEM_CACHE_TTL    3600 /* seconds unused */
#define FB_MEM_CACHE_MAX_MB 256  /* in all (an entry holds at most 64 MiB) */

/* Is the cache on (not FNBOX_MEM_CACHE=0)? */
bool fb_mem_cache_on(void);

/* The entry's name for the image open on image_fd: 0, or -1 if fstat fails. */
int fb_mem_cache_name(int image_fd, char *name, size_t cap);

/* An fd (O_RDONLY, O_CLOEXEC) of the entry for the image open on image_fd, for `fnbox restore
 * --hot-fd`'s use (fb_memfile_use_hot), or -1: no entry, the cache off or unusable (the reason
 * logged at debug level). */
int fb_mem_cache_get(int image_fd);

/* Make the entry for the image open on image_fd unless there is one, or another process is
 * making entries right now, or the image's hot pages do not come first (nothing to gain): 1 if
 * an entry was made, 0 if not, -1 with err if making it failed (nothing is left behind).
 * Removes stale entries and the least recently used beyond the bound. */
int fb_mem_cache_put(int image_fd, struct fb_error *err);

/* Memory files handed from one command-line restore of an image to the next, as `fnbox serve`
 * hands them between the sandboxes of a warm pool (api/serve_pool.c): a restore's working set
 * otherwise goes into fresh host pages, ~2-7 us each on a VM whose host takes freed memory
 * back. A restore that uses a memory cache entry takes a spare of the same image (a file in
 * the spares' directory, default /run/fnbox/spare, a tmpfs of its own, taken by a rename to a
 * name of its own), or makes a new one there, and gives it to its Sentry (--memory-fd's
 * way); once its Sentry, and with it every stub, is reaped, it punches out everything beyond
 * the image's hot pages and puts the file back under the image's name: at most
 * FB_MEM_SPARE_MAX per image; spares not used for FB_MEM_SPARE_TTL seconds, and the oldest
 * beyond FNBOX_MEM_CACHE_MB in all, are removed by the next restore that gives one back.
 *
 * Nothing of one sandbox reaches the next: the Sentry uses nothing the file holds
 * (fb_memfile_init_given: what its image fills is written whole before it is read, the rest
 * punched out), whatever an earlier, perhaps compromised, Sentry wrote into it. Spares are
 * files of this user's alone (mode 0600, one link, in a directory only the user can open),
 * keyed by the image file's identity as the cache entries are. FNBOX_MEM_SPARE=0 turns this
 * off, FNBOX_MEM_SPARE_DIR moves the directory (a tmpfs that allows exec); every failure only
 * means the Sentry makes a memory file of its own. */
#define FB_MEM_SPARE_DIR "/run/fnbox/spare"
#define FB_MEM_SPARE_TTL 60 /* seconds unused */
#define FB_MEM_SPARE_MAX 4  /* per image */

struct fb_mem_spare {
    int fd, dir;
    char key[128]; /* the image's memory cache entry name: the spares' slots are named after it */
    char name[48]; /* while in use, the name it was taken under ("" for a new file) */
    bool reused;
};

/* A memory file for a restore of the image open on image_fd (O_RDWR, O_CLOEXEC): an earlier
 * restore's spare (sp->reused) or a new one; -1 if neither can be had (sp->fd -1 too). */
int fb_mem_cache_spare_take(int image_fd, struct fb_mem_spare *sp);

/* Give the memory file back for the next restore of the image it was taken for, everything in
 * it from keep on punched out. Only once the sandbox's Sentry is reaped (every stub gone with
 * it): nothing else may hold it. Closes sp. */
void fb_mem_cache_spare_put(struct fb_mem_spare *sp, uint64_t keep);

/* Close sp without giving it back (a failed or killed sandbox's). */
void fb_mem_cache_spare_drop(struct fb_mem_spare *sp);

#endif
