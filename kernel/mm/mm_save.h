/* Save/restore of the memory file and of address spaces (kernel/mm/mm_save.c). */
#ifndef FB_MM_MM_SAVE_H
#define FB_MM_MM_SAVE_H

#include "kernel/mm/mm.h"
#include "snapshot/image.h"
#include "snapshot/state.h"

/* A record of section "pagerefs": page number (8 bytes), its reference count (4), one per
 * page in use, pages strictly increasing. */
#define FB_PAGEREF_BYTES 12

/* Write every referenced page (section "memory", zero pages skipped) and the reference
 * counts (section "pagerefs"). The kernel must be quiescent. */
int fb_memfile_save(struct fb_memfile *mf, struct fb_image_writer *w, struct fb_error *err);
/* The same, leaving out pages for which skip(page index) is true (they and every reference to
 * them are left out of the image by the caller). */
int fb_memfile_save_filtered(struct fb_memfile *mf, struct fb_image_writer *w,
                             bool (*skip)(uint64_t page, void *arg), void *arg,
                             struct fb_error *err);
/* Fill a fresh memory file from an image: same page offsets, same reference counts. */
int fb_memfile_load(struct fb_memfile *mf, struct fb_image_reader *r, struct fb_error *err);

/* A lazy restore, in two steps. First the reference counts, the memory section checked (every
 * chunk header, its checksum; with `checked`, an image the caller has checked whole, the
 * headers only) and every stored page marked as still in the image (a dup of
 * the image's fd is kept to read them later); nothing decompressed. Then, once the address
 * spaces are loaded and the pages the working set will touch are known (bitmap want, one bit
 * per page below mf->top), those are filled: by two threads, decompressed in place, for the
 * least wall time; or frugal, for the least CPU (a warm pool's restore, which nobody waits
 * for): one thread, written with pwrite. Every other page is read in when first needed
 * (fb_mf_need). hot_pages: the length of the hot pages' file the caller will give
 * (fb_memfile_use_hot), 0 if none; one as long as the memory file holds every page, and the
 * image's memory section is then not looked at. */
int fb_memfile_load_lazy(struct fb_memfile *mf, struct fb_image_reader *r, bool checked,
                         uint64_t hot_pages, struct fb_error *err);
/* A lazy load with `checked` whose memory section is still to be checked against its
 * checksum: verify_later notes it (s from fb_image_section); fb_memfile_verify checks it on the
 * calling thread, or waits for the thread already doing so, and says whether it holds (the
 * same answer every time after). A fill's helper does it first, before reading any chunk, so
 * a restore can start the helper and check its outcome only before it uses any memory. */
void fb_memfile_verify_later(struct fb_memfile *mf, const struct fb_image_section_info *s);
int fb_memfile_verify(struct fb_memfile *mf, struct fb_error *err);
int fb_memfile_fill_wanted(struct fb_memfile *mf, const uint64_t *want, bool frugal,
                           struct fb_error *err);
/* The same fill (not frugal) in two halves, for a caller with other work meanwhile (loading
 * the kernel objects, mapping the address spaces: mappings need no content): start puts a
 * helper thread to it (want must live until finish); finish fills what is left on the calling
 * thread and waits for the helper (cancel: takes no more chunks, for an error path). In
 * between, fb_mf_fill_wants says which lazy pages the fill will bring (to be treated as
 * present), and a fb_mf_need of a lazy page finishes the fill first.
 * want may be NULL at the start, for an image whose hot pages come first ("pagemap"): the
 * helper reads the chunks of pages 1..early_pages in order until fb_memfile_fill_narrow gives
 * it the set (the caller learns it from the address spaces; early_pages bounds what it may
 * read beyond it, e.g. the working set's size); meanwhile fb_mf_fill_wants says no and a
 * fb_mf_need reads what it needs itself. */
int fb_memfile_fill_start(struct fb_memfile *mf, const uint64_t *want, uint64_t early_pages,
                          struct fb_error *err);
int fb_memfile_fill_finish(struct fb_memfile *mf, bool cancel, struct fb_error *err);
bool fb_mf_fill_wants(const struct fb_memfile *mf, uint64_t off);
void fb_memfile_fill_narrow(struct fb_memfile *mf, const uint64_t *want);

/* The memory of an image decompressed once, for many restores of it (a warm pool's): the
 * chunks a restore's early reader would take (those starting within the working set's size,
 * in an image whose hot pages come first), then every other chunk that ends within max_pages,
 * are checked and decompressed into a new memory file at their page offsets, which is then
 * sealed against any change. *out = its fd and *pages = its length in pages: one past its last
 * stored page, or the memory file's top when every chunk is in it (zero pages are holes); *out = -1
 * (and 0 returned) for an image without hot pages first. A restore given it
 * (fb_memfile_use_hot, after fb_memfile_load_lazy; takes fd over, refuses one not sealed so)
 * copies those pages from it, for its working set and on later faults alike, instead of
 * reading and decompressing chunks. */
#define FB_HOT_FILE_MAX_PAGES 16384 /* what is kept beyond the hot pages: 64 MiB (the python
                                      * example's whole memory is 5.8 MiB) */
int fb_memfile_hot_make(const char *image_path, uint64_t max_pages, int *out, uint64_t *pages,
                        struct fb_error *err);
/* The same pages written into fd, a file of the caller's (the command line's memory cache):
 * *pages = one past the last page written, 0 for an image without hot pages first. */
int fb_memfile_hot_write(const char *image_path, uint64_t max_pages, int fd, uint64_t *pages,
                         struct fb_error *err);
int fb_memfile_use_hot(struct fb_memfile *mf, int fd, struct fb_error *err);
/* Is fd such a file (sealed so, or open read-only with no write permission for anyone and one
 * link: the memory cache's; whole pages)? 0 with *pages its length, or -1 with err. */
int fb_memfile_hot_check(int fd, uint64_t *pages, struct fb_error *err);

/* ---- renumbering (image sections "pagemap", rewritten "pagerefs" and "memory") ------------------
 * After the training run, `fnbox checkpoint` renumbers the image's memory-file pages so that the
 * hot ones (touched by the invocation) come first, contiguous: a restore then fills them from a
 * few long chunks instead of hundreds of one- or two-page ones (hot and cold pages interleave
 * in the order they were allocated). The hot ones go in address order (address space, then
 * virtual page), so that pages next to each other in an address space are next to each other
 * in the memory file and a restore maps a run of them in one host mapping. The kernel state keeps the old numbers; the section
 * "pagemap" lists the old page of each new one (u64 each: new page i + 1 was old page
 * map[i]), and a restore translates every page it loads from the kernel state
 * (fb_mf_saved_off). */

/* The new order of the image open on fd: every page its reference table names, the hot ones
 * (old numbers) first in the order of the list hot (fb_mm_ws_write gives them in address
 * order; a page listed twice or not in the table is skipped), then the others increasing.
 * malloc'd. */
int fb_memfile_renumber_order(int fd, const uint64_t *hot, size_t nhot, uint64_t **order,
                              size_t *n, struct fb_error *err);
/* fb_image_rewrite's raw hook for it: rewrites "pagerefs" in the new numbers (arg: the
 * struct fb_image_rewrite, whose order is used). */
int fb_memfile_renumber_raw(const char *name, const void *in, size_t len, void **out,
                            size_t *outlen, void *arg, struct fb_error *err);
/* Restore: read the image's "pagemap" (if any) into mf's translation; end drops it. */
int fb_memfile_remap_load(struct fb_memfile *mf, struct fb_image_reader *r, struct fb_error *err);
void fb_memfile_remap_end(struct fb_memfile *mf);

/* An address space: layout fields, VMAs (backing objects by id from map_id) and the page
 * table. */
void fb_mm_save(struct fb_mm *mm, struct fb_sw *w,
                uint64_t (*map_id)(struct fb_mappable *m, void *arg), void *arg);
/* The same, leaving out page-table entries whose page is skipped (they fault in again). */
void fb_mm_save_filtered(struct fb_mm *mm, struct fb_sw *w,
                         uint64_t (*map_id)(struct fb_mappable *m, void *arg),
                         bool (*skip)(uint64_t page, void *arg), void *arg);
/* Rebuild one; map_lookup returns a new reference to the object with that id. The page
 * table's page references are the ones fb_memfile_load restored. NULL with *r->err set on a
 * malformed image. */
struct fb_mm *fb_mm_load(struct fb_sr *r, struct fb_memfile *mf, struct fb_platform *plat,
                         struct fb_mappable *(*map_lookup)(uint64_t id, void *arg), void *arg);

/* ---- working set (image section "workingset") ---------------------------------------------------
 * `fnbox checkpoint` restores its new image once more and runs the function on a sample event
 * while every first touch of a page is a fault of that page alone (recording mode); the pages
 * faulted, per address space of the image, become the "workingset" section. A restore with
 * prefault then fills only the left-out file pages in it (each copied out of the host's page
 * cache: the bulk of a restore's CPU time) and leaves the rest to fault in when touched.
 * Section layout, repeated: u32 address-space index (1-based, image order), u32 count, count
 * u64 page numbers, strictly increasing. */

/* The pages noted so far of the image's address space `index`: *vpns (malloc'ed, increasing,
 * each once), their count; 0 with *vpns NULL if none (or out of memory). */
size_t fb_mm_ws_noted(uint32_t index, uint64_t **vpns);
/* Write what was noted: a u64 length, that many bytes in the section layout, then the
 * image's memory-file pages the noted pages mapped (u64 each: the image's hot pages, for
 * fb_image_rechunk and fb_memfile_renumber_order), in the order of the addresses that mapped
 * them (a page mapped twice may be listed twice). 0 or -errno. */
int fb_mm_ws_write(int fd);
/* Is r (len bytes) such a recording: its lengths whole, its section well formed (as a restore
 * checks it)? A training Sentry ran the program, so its recording is checked before use. */
bool fb_mm_ws_recording_ok(const uint8_t *r, size_t len);
/* Two such recordings (training runs of one image on different events) as one: each address
 * space's pages the union of both, the hot pages a's then those of b that a does not list (a
 * page b adds is then renumbered after a's: its neighbours in memory may be apart in the file).
 * *out is malloc'ed (*outlen bytes). 0, -EINVAL for a malformed recording, -ENOMEM. */
int fb_mm_ws_merge(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, uint8_t **out,
                   size_t *outlen);
/* Mark in want (one bit per memory-file page below top) the pages that the working set ws of
 * the address spaces mms (image order: the section's index i is mms[i - 1]) touches; returns
 * how many. */
long fb_mm_ws_want(struct fb_mm *const *mms, size_t n, const uint8_t *ws, size_t len,
                   uint64_t *want, uint64_t top);
/* Keep only mm's refault hints that are in its working set in ws (len bytes, already checked
 * with fb_image_ws_check), and keep a copy of that working set in mm->ws for fb_mm_prefault
 * (none when ws has no list for mm, or memory is short); returns how many hints were kept. */
long fb_mm_ws_filter(struct fb_mm *mm, const uint8_t *ws, size_t len);

#endif
