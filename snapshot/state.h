/* Serialization helpers for kernel state (msgpack-c). Every saved object is a msgpack array of
 * fields in a fixed order; readers walk it with a cursor whose error flag is sticky, so a
 * truncated or mistyped image is refused with one check at the end, never a crash. */
#ifndef FB_SNAPSHOT_STATE_H
#define FB_SNAPSHOT_STATE_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- writing ------------------------------------------------------------------------------ */

struct fb_sw {
    msgpack_sbuffer buf;
    msgpack_packer pk;
};

void fb_sw_init(struct fb_sw *w);
void fb_sw_free(struct fb_sw *w);
static inline void fb_sw_array(struct fb_sw *w, uint32_t n)
{
    msgpack_pack_array(&w->pk, n);
}
static inline void fb_sw_u64(struct fb_sw *w, uint64_t v)
{
    msgpack_pack_uint64(&w->pk, v);
}
static inline void fb_sw_i64(struct fb_sw *w, int64_t v)
{
    msgpack_pack_int64(&w->pk, v);
}
static inline void fb_sw_bool(struct fb_sw *w, bool v)
{
    if (v)
        msgpack_pack_true(&w->pk);
    else
        msgpack_pack_false(&w->pk);
}
static inline void fb_sw_nil(struct fb_sw *w)
{
    msgpack_pack_nil(&w->pk);
}
void fb_sw_str(struct fb_sw *w, const char *s); /* NULL packs nil */
void fb_sw_bin(struct fb_sw *w, const void *p, size_t n);

/* ---- reading ------------------------------------------------------------------------------ */

/* A parsed state blob; objects point into it. */
struct fb_sr_doc {
    msgpack_unpacked up;
    bool ok;
};

/* Check that buf starts with one well-formed msgpack document whose lengths and element counts
 * fit in len (so that parsing it cannot ask for huge allocations). 0 or -1; *used = its size. */
int fb_msgpack_precheck(const void *buf, size_t len, size_t *used);
/* Parse buf (which must stay alive while the doc is used). Returns 0 or -1. */
int fb_sr_parse(struct fb_sr_doc *d, const void *buf, size_t len);
void fb_sr_doc_free(struct fb_sr_doc *d);

/* A cursor over an array object. */
struct fb_sr {
    const msgpack_object *o;
    uint32_t i, n;
    bool *err; /* shared, sticky */
};

/* Open the array at obj (NULL or a non-array sets the error). */
void fb_sr_open(struct fb_sr *r, const msgpack_object *obj, bool *err);
/* Enter the next field, which must be an array. */
void fb_sr_sub(struct fb_sr *r, struct fb_sr *sub);
uint64_t fb_sr_u64(struct fb_sr *r);
int64_t fb_sr_i64(struct fb_sr *r);
bool fb_sr_bool(struct fb_sr *r);
/* Next field as a string (NUL-free, max bytes incl. NUL) copied to dst; nil gives "" and
 * returns false. */
bool fb_sr_str(struct fb_sr *r, char *dst, size_t max);
/* Next field as a malloc'd string, NULL for nil. */
char *fb_sr_strdup(struct fb_sr *r);
/* Next field as binary of exactly n bytes copied to dst (or at most n with *got when got). */
void fb_sr_bin(struct fb_sr *r, void *dst, size_t n, size_t *got);
/* Next field, raw (for callers that dispatch on type). */
const msgpack_object *fb_sr_obj(struct fb_sr *r);
static inline uint32_t fb_sr_left(const struct fb_sr *r)
{
    return r->n - r->i;
}

#endif
