/* Little-endian integers in byte buffers (image headers and tables, test fixtures): unaligned
 * loads and stores through memcpy, which compilers turn into single moves on x86_64. */
#ifndef FB_UTIL_LE_H
#define FB_UTIL_LE_H

#include <stdint.h>
#include <string.h>

static inline uint32_t fb_get_le32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t fb_get_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline void fb_put_le32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static inline void fb_put_le64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

#endif
