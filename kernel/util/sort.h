/* Sorted arrays of u64 (page numbers, virtual pages, (u64, ...) records keyed by their first
 * u64): the comparator qsort and bsearch take, and a lower bound. */
#ifndef FB_UTIL_SORT_H
#define FB_UTIL_SORT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Orders by the u64 at the start of each element (memcpy: records may be unaligned). */
static inline int fb_cmp_u64(const void *a, const void *b)
{
    uint64_t x, y;
    memcpy(&x, a, sizeof(x));
    memcpy(&y, b, sizeof(y));
    return x < y ? -1 : x > y;
}

/* The index of the first element of v[0, n) (increasing) that is >= x; n if none is. */
static inline size_t fb_lower_bound_u64(const uint64_t *v, size_t n, uint64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

#endif
