/* Sparse map from a 64-bit index to a non-zero 64-bit value (0 means absent): page tables of
 * address spaces and page caches of files. A variable-height tree of 512-entry nodes. */
#ifndef FB_MM_RADIX_H
#define FB_MM_RADIX_H

#include <stdbool.h>
#include <stdint.h>

struct fb_radix {
    void *root;
    int height;     /* levels below and including root; 0 = empty */
    uint64_t count; /* non-zero entries */
};

#define FB_RADIX_INIT {NULL, 0, 0}

uint64_t fb_radix_get(const struct fb_radix *r, uint64_t idx);
/* Set idx to val (0 clears). Returns 0 or -ENOMEM (nothing changed). */
int fb_radix_set(struct fb_radix *r, uint64_t idx, uint64_t val);
/* Pointer to the slot of idx, creating nodes as needed (NULL on -ENOMEM). A caller that changes
 * whether the slot is empty must call fb_radix_note() with the old and new values. */
uint64_t *fb_radix_slot(struct fb_radix *r, uint64_t idx);
static inline void fb_radix_note(struct fb_radix *r, uint64_t oldv, uint64_t newv)
{
    r->count += (uint64_t)(oldv == 0 && newv != 0) - (uint64_t)(oldv != 0 && newv == 0);
}
/* First index in [idx, end) holding a value: returns true and fills *found and *val. */
bool fb_radix_next(const struct fb_radix *r, uint64_t idx, uint64_t end, uint64_t *found,
                   uint64_t *val);
/* Free every node; calls fn (if non-NULL) for each entry first. */
void fb_radix_destroy(struct fb_radix *r, void (*fn)(uint64_t idx, uint64_t val, void *arg),
                      void *arg);

#endif
