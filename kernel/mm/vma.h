/* Virtual memory areas of one address space: a sorted, non-overlapping array of ranges with
 * their protection, sharing and backing object. Used by mm.c; no platform or page knowledge. */
#ifndef FB_MM_VMA_H
#define FB_MM_VMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fb_mappable;

#define FB_VMA_SHARED    0x1u  /* MAP_SHARED: writes go to the backing object */
#define FB_VMA_GROWSDOWN 0x2u  /* stack: grows down on faults below it */
#define FB_VMA_HEAP      0x4u  /* [heap] (brk) */
#define FB_VMA_STACK     0x8u  /* [stack] of the initial thread */
#define FB_VMA_NORESERVE 0x10u
#define FB_VMA_LOCKED    0x20u
#define FB_VMA_DONTFORK  0x40u
/* A private file mapping that has never been writable, so it holds no page of its own: the
 * platform may map the file itself there (saved in images; cleared for good by PROT_WRITE). */
#define FB_VMA_PRISTINE  0x80u
/* Runtime only (never saved): the platform maps the host file directly over the whole VMA. */
#define FB_VMA_HOSTMAP   0x100u

struct fb_vma {
    uint64_t start, end; /* page aligned, start < end */
    uint32_t prot;       /* PROT_READ | PROT_WRITE | PROT_EXEC */
    uint32_t maxprot;    /* what mprotect may grant (shared file mappings opened read-only) */
    uint32_t flags;      /* FB_VMA_* */
    struct fb_mappable *map; /* backing object (file, shared anonymous memory), NULL = private anon */
    uint64_t off;            /* offset in map of `start` */
    char *name;              /* path shown in /proc/self/maps, or NULL (owned, strdup'd) */
};

struct fb_vma_set {
    struct fb_vma *v;
    size_t n, cap;
};

/* Index of the first VMA with end > addr (n if none). */
size_t fb_vma_find_index(const struct fb_vma_set *s, uint64_t addr);
/* The VMA containing addr, or NULL. */
struct fb_vma *fb_vma_find(struct fb_vma_set *s, uint64_t addr);
/* Insert a VMA that overlaps nothing (the set takes the map reference and the name).
 * Returns 0 or -ENOMEM. Adjacent compatible VMAs are merged. */
int fb_vma_insert(struct fb_vma_set *s, const struct fb_vma *vma);
/* Split so that start and end are VMA boundaries (when inside a VMA). Returns 0 or -ENOMEM. */
int fb_vma_split_at(struct fb_vma_set *s, uint64_t addr);
/* Remove [start, end): VMAs are split at the edges, each removed piece is passed to `fn`
 * (which then owns its map reference and name) and the rest stays. Returns 0 or -ENOMEM. */
int fb_vma_remove(struct fb_vma_set *s, uint64_t start, uint64_t end,
                  void (*fn)(struct fb_vma *removed, void *arg), void *arg);
/* Merge neighbours that became compatible around [start, end). */
void fb_vma_merge_range(struct fb_vma_set *s, uint64_t start, uint64_t end);
/* Is [start, end) free of VMAs? */
bool fb_vma_range_free(const struct fb_vma_set *s, uint64_t start, uint64_t end);
/* Highest free gap of len bytes ending at or below `below` and starting at or above `floor`;
 * returns its start or 0. */
uint64_t fb_vma_find_gap_down(const struct fb_vma_set *s, uint64_t len, uint64_t floor,
                              uint64_t below);
/* Is every byte of [start, end) covered by VMAs? */
bool fb_vma_range_covered(const struct fb_vma_set *s, uint64_t start, uint64_t end);

/* Hooks into the backing objects, provided by mm.c (reference counting and compatibility). */
void fb_vma_map_get(struct fb_mappable *m);
void fb_vma_map_put(struct fb_mappable *m);

void fb_vma_set_destroy(struct fb_vma_set *s, void (*fn)(struct fb_vma *removed, void *arg),
                        void *arg);

#endif
