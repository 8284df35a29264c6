/* Variable-height radix tree (see radix.h). Nodes are 512 slots: interior slots hold child
 * pointers, leaf slots hold values. Height grows on demand; nodes are freed only on destroy,
 * which suits page tables whose populated regions rarely shrink. */
#include "kernel/mm/radix.h"

#include <errno.h>
#include <stdlib.h>

#define BITS  9
#define SLOTS (1u << BITS)
#define MASK  (SLOTS - 1)

static uint64_t capacity_bits(int height)
{
    return (uint64_t)height * BITS;
}

static bool fits(int height, uint64_t idx)
{
    uint64_t bits = capacity_bits(height);
    return bits >= 64 || (idx >> bits) == 0;
}

uint64_t fb_radix_get(const struct fb_radix *r, uint64_t idx)
{
    void *node = r->root;
    int level;

    if (!node || !fits(r->height, idx))
        return 0;
    for (level = r->height - 1; level > 0; level--) {
        node = ((void **)node)[(idx >> (level * BITS)) & MASK];
        if (!node)
            return 0;
    }
    return ((uint64_t *)node)[idx & MASK];
}

uint64_t *fb_radix_slot(struct fb_radix *r, uint64_t idx)
{
    void **slot;
    int level;

    if (!r->root) {
        r->root = calloc(SLOTS, sizeof(uint64_t));
        if (!r->root)
            return NULL;
        r->height = 1;
    }
    while (!fits(r->height, idx)) {
        void **n = calloc(SLOTS, sizeof(void *));
        if (!n)
            return NULL;
        n[0] = r->root;
        r->root = n;
        r->height++;
    }
    slot = &r->root;
    for (level = r->height - 1; level > 0; level--) {
        void **node = *slot;
        slot = &node[(idx >> (level * BITS)) & MASK];
        if (!*slot) {
            *slot = calloc(SLOTS, level == 1 ? sizeof(uint64_t) : sizeof(void *));
            if (!*slot)
                return NULL;
        }
    }
    return &((uint64_t *)*slot)[idx & MASK];
}

int fb_radix_set(struct fb_radix *r, uint64_t idx, uint64_t val)
{
    uint64_t *slot;

    if (!val) {
        void *node = r->root;
        int level;
        if (!node || !fits(r->height, idx))
            return 0;
        for (level = r->height - 1; level > 0; level--) {
            node = ((void **)node)[(idx >> (level * BITS)) & MASK];
            if (!node)
                return 0;
        }
        slot = &((uint64_t *)node)[idx & MASK];
        if (*slot)
            r->count--;
        *slot = 0;
        return 0;
    }
    slot = fb_radix_slot(r, idx);
    if (!slot)
        return -ENOMEM;
    if (!*slot)
        r->count++;
    *slot = val;
    return 0;
}

static bool next_in(void *node, int level, uint64_t base, uint64_t idx, uint64_t end,
                    uint64_t *found, uint64_t *val)
{
    uint64_t span = (uint64_t)1 << (level * BITS); /* indices covered by one slot */
    unsigned i = (unsigned)((idx - base) / span);

    for (; i < SLOTS; i++) {
        uint64_t start = base + (uint64_t)i * span;
        if (start >= end)
            return false;
        if (level == 0) {
            uint64_t v = ((uint64_t *)node)[i];
            if (v && start >= idx) {
                *found = start;
                *val = v;
                return true;
            }
            continue;
        }
        void *child = ((void **)node)[i];
        if (child && next_in(child, level - 1, start, start > idx ? start : idx, end, found, val))
            return true;
    }
    return false;
}

bool fb_radix_next(const struct fb_radix *r, uint64_t idx, uint64_t end, uint64_t *found,
                   uint64_t *val)
{
    if (!r->root || !r->count || idx >= end)
        return false;
    if (!fits(r->height, idx))
        return false;
    return next_in(r->root, r->height - 1, 0, idx, end, found, val);
}

static void destroy(void *node, int level, uint64_t base,
                    void (*fn)(uint64_t idx, uint64_t val, void *arg), void *arg)
{
    uint64_t span = (uint64_t)1 << (level * BITS);
    unsigned i;

    for (i = 0; i < SLOTS; i++) {
        if (level == 0) {
            uint64_t v = ((uint64_t *)node)[i];
            if (v && fn)
                fn(base + i, v, arg);
        } else if (((void **)node)[i]) {
            destroy(((void **)node)[i], level - 1, base + i * span, fn, arg);
        }
    }
    free(node);
}

void fb_radix_destroy(struct fb_radix *r, void (*fn)(uint64_t idx, uint64_t val, void *arg),
                      void *arg)
{
    if (r->root)
        destroy(r->root, r->height - 1, 0, fn, arg);
    r->root = NULL;
    r->height = 0;
    r->count = 0;
}
