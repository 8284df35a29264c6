/* VMA set (see vma.h): a sorted array with binary search. Programs have tens to a few thousand
 * VMAs; memmove on insert is cheaper than a tree at that size and trivially correct. */
#include "kernel/mm/vma.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

size_t fb_vma_find_index(const struct fb_vma_set *s, uint64_t addr)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->v[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct fb_vma *fb_vma_find(struct fb_vma_set *s, uint64_t addr)
{
    size_t i = fb_vma_find_index(s, addr);
    if (i < s->n && s->v[i].start <= addr)
        return &s->v[i];
    return NULL;
}

static int reserve(struct fb_vma_set *s, size_t extra)
{
    if (s->n + extra > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        struct fb_vma *nv;
        while (cap < s->n + extra)
            cap *= 2;
        nv = realloc(s->v, cap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        s->v = nv;
        s->cap = cap;
    }
    return 0;
}

static bool same_name(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Can b follow a as one VMA? */
static bool compatible(const struct fb_vma *a, const struct fb_vma *b)
{
    if (a->end != b->start || a->prot != b->prot || a->maxprot != b->maxprot ||
        a->flags != b->flags || a->map != b->map || !same_name(a->name, b->name))
        return false;
    return !a->map || a->off + (a->end - a->start) == b->off;
}

/* Merge v[i] with v[i+1] if compatible; returns true if merged. */
static bool merge_with_next(struct fb_vma_set *s, size_t i)
{
    if (i + 1 >= s->n || !compatible(&s->v[i], &s->v[i + 1]))
        return false;
    s->v[i].end = s->v[i + 1].end;
    if (s->v[i + 1].map)
        fb_vma_map_put(s->v[i + 1].map);
    free(s->v[i + 1].name);
    memmove(&s->v[i + 1], &s->v[i + 2], (s->n - i - 2) * sizeof(s->v[0]));
    s->n--;
    return true;
}

int fb_vma_insert(struct fb_vma_set *s, const struct fb_vma *vma)
{
    size_t i;

    if (reserve(s, 1) != 0)
        return -ENOMEM;
    i = fb_vma_find_index(s, vma->start);
    memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof(s->v[0]));
    s->v[i] = *vma;
    s->n++;
    merge_with_next(s, i);
    if (i > 0)
        merge_with_next(s, i - 1);
    return 0;
}

int fb_vma_split_at(struct fb_vma_set *s, uint64_t addr)
{
    size_t i = fb_vma_find_index(s, addr);
    struct fb_vma *a;

    if (i >= s->n || s->v[i].start >= addr)
        return 0; /* not inside a VMA, or already a boundary */
    if (reserve(s, 1) != 0)
        return -ENOMEM;
    a = &s->v[i];
    if (a->name) {
        char *dup = strdup(a->name);
        if (!dup)
            return -ENOMEM;
        memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof(s->v[0]));
        s->v[i + 1].name = dup;
    } else {
        memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof(s->v[0]));
    }
    s->n++;
    a = &s->v[i];
    a->end = addr;
    s->v[i + 1].start = addr;
    if (a->map) {
        s->v[i + 1].off = a->off + (addr - a->start);
        fb_vma_map_get(a->map);
    }
    return 0;
}

int fb_vma_remove(struct fb_vma_set *s, uint64_t start, uint64_t end,
                  void (*fn)(struct fb_vma *removed, void *arg), void *arg)
{
    size_t i, j;

    if (fb_vma_split_at(s, start) != 0 || fb_vma_split_at(s, end) != 0)
        return -ENOMEM;
    i = fb_vma_find_index(s, start);
    for (j = i; j < s->n && s->v[j].start < end; j++) {
        if (fn)
            fn(&s->v[j], arg);
        else {
            if (s->v[j].map)
                fb_vma_map_put(s->v[j].map);
            free(s->v[j].name);
        }
    }
    memmove(&s->v[i], &s->v[j], (s->n - j) * sizeof(s->v[0]));
    s->n -= j - i;
    return 0;
}

void fb_vma_merge_range(struct fb_vma_set *s, uint64_t start, uint64_t end)
{
    size_t i = fb_vma_find_index(s, start);
    if (i > 0)
        i--;
    while (i < s->n && s->v[i].start <= end) {
        if (!merge_with_next(s, i))
            i++;
    }
}

bool fb_vma_range_free(const struct fb_vma_set *s, uint64_t start, uint64_t end)
{
    size_t i = fb_vma_find_index(s, start);
    return i >= s->n || s->v[i].start >= end;
}

bool fb_vma_range_covered(const struct fb_vma_set *s, uint64_t start, uint64_t end)
{
    size_t i = fb_vma_find_index(s, start);
    uint64_t pos = start;
    for (; i < s->n && pos < end; i++) {
        if (s->v[i].start > pos)
            return false;
        pos = s->v[i].end;
    }
    return pos >= end;
}

uint64_t fb_vma_find_gap_down(const struct fb_vma_set *s, uint64_t len, uint64_t floor,
                              uint64_t below)
{
    size_t i = fb_vma_find_index(s, below);
    uint64_t hi = below;

    /* Walk gaps from `below` downwards: gap i lies between v[i-1].end and min(v[i].start, hi). */
    for (;;) {
        uint64_t gap_end = hi, gap_start;
        if (i < s->n && s->v[i].start < gap_end)
            gap_end = s->v[i].start;
        gap_start = i > 0 ? s->v[i - 1].end : 0;
        if (gap_start < floor)
            gap_start = floor;
        if (gap_end >= len && gap_end - len >= gap_start)
            return gap_end - len;
        if (i == 0)
            return 0;
        hi = s->v[i - 1].start;
        i--;
        if (hi <= floor)
            return 0;
    }
}

void fb_vma_set_destroy(struct fb_vma_set *s, void (*fn)(struct fb_vma *removed, void *arg),
                        void *arg)
{
    size_t i;
    for (i = 0; i < s->n; i++) {
        if (fn)
            fn(&s->v[i], arg);
        else {
            if (s->v[i].map)
                fb_vma_map_put(s->v[i].map);
            free(s->v[i].name);
        }
    }
    free(s->v);
    memset(s, 0, sizeof(*s));
}
