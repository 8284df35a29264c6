/* msgpack helpers for kernel state (see state.h). */
#include "snapshot/state.h"

#include <stdlib.h>
#include <string.h>

void fb_sw_init(struct fb_sw *w)
{
    msgpack_sbuffer_init(&w->buf);
    msgpack_packer_init(&w->pk, &w->buf, msgpack_sbuffer_write);
}

void fb_sw_free(struct fb_sw *w)
{
    msgpack_sbuffer_destroy(&w->buf);
}

void fb_sw_str(struct fb_sw *w, const char *s)
{
    size_t n;
    if (!s) {
        msgpack_pack_nil(&w->pk);
        return;
    }
    n = strlen(s);
    msgpack_pack_str(&w->pk, n);
    msgpack_pack_str_body(&w->pk, s, n);
}

void fb_sw_bin(struct fb_sw *w, const void *p, size_t n)
{
    msgpack_pack_bin(&w->pk, n);
    msgpack_pack_bin_body(&w->pk, p, n);
}

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    while (n--)
        v = v << 8 | *p++;
    return v;
}

/* Walk one msgpack document without building it: every length must fit in what is left, and
 * every container must be able to hold its element count (each element takes at least one
 * byte). msgpack-c allocates a container's elements up front, so without this a few hostile
 * bytes claiming 2^32 elements would make it ask for hundreds of gigabytes. */
int fb_msgpack_precheck(const void *buf, size_t len, size_t *used)
{
    const uint8_t *p = buf;
    size_t off = 0;
    uint64_t pending = 1; /* objects still to read */

    while (pending) {
        uint8_t b;
        uint64_t n = 0, skip = 0, children = 0;
        if (off >= len)
            return -1;
        b = p[off++];
        pending--;
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            /* fixint, nil, bool */
        } else if ((b & 0xf0) == 0x80) {
            children = 2ull * (b & 0x0f);
        } else if ((b & 0xf0) == 0x90) {
            children = b & 0x0f;
        } else if ((b & 0xe0) == 0xa0) {
            skip = b & 0x1f;
        } else {
            static const uint8_t lenbytes[] = {
                [0xc4] = 1, [0xc5] = 2, [0xc6] = 4, /* bin */
                [0xd9] = 1, [0xda] = 2, [0xdb] = 4, /* str */
                [0xc7] = 1, [0xc8] = 2, [0xc9] = 4, /* ext */
                [0xdc] = 2, [0xdd] = 4,             /* array */
                [0xde] = 2, [0xdf] = 4,             /* map */
            };
            static const uint8_t fixed[] = {
                [0xca] = 4, [0xcb] = 8, [0xcc] = 1, [0xcd] = 2, [0xce] = 4, [0xcf] = 8,
                [0xd0] = 1, [0xd1] = 2, [0xd2] = 4, [0xd3] = 8, [0xd4] = 2, [0xd5] = 3,
                [0xd6] = 5, [0xd7] = 9, [0xd8] = 17,
            };
            if (b < sizeof(fixed) && fixed[b]) {
                skip = fixed[b];
            } else if (b < sizeof(lenbytes) && lenbytes[b]) {
                int lb = lenbytes[b];
                if (len - off < (size_t)lb)
                    return -1;
                n = be(p + off, lb);
                off += (size_t)lb;
                if (b == 0xdc || b == 0xdd)
                    children = n;
                else if (b == 0xde || b == 0xdf)
                    children = 2 * n;
                else
                    skip = n + (b >= 0xc7 && b <= 0xc9 ? 1 : 0); /* ext: a type byte */
            } else {
                return -1; /* 0xc1: never used */
            }
        }
        if (skip > len - off || children > len - off)
            return -1;
        off += skip;
        pending += children;
    }
    if (used)
        *used = off;
    return 0;
}

int fb_sr_parse(struct fb_sr_doc *d, const void *buf, size_t len)
{
    size_t off = 0;
    msgpack_unpacked_init(&d->up);
    if (fb_msgpack_precheck(buf, len, NULL) < 0) {
        d->ok = false;
        return -1;
    }
    d->ok = msgpack_unpack_next(&d->up, buf, len, &off) == MSGPACK_UNPACK_SUCCESS && off == len;
    return d->ok ? 0 : -1;
}

void fb_sr_doc_free(struct fb_sr_doc *d)
{
    msgpack_unpacked_destroy(&d->up);
}

void fb_sr_open(struct fb_sr *r, const msgpack_object *obj, bool *err)
{
    r->err = err;
    r->i = 0;
    if (!obj || obj->type != MSGPACK_OBJECT_ARRAY) {
        *err = true;
        r->o = NULL;
        r->n = 0;
        return;
    }
    r->o = obj->via.array.ptr;
    r->n = obj->via.array.size;
}

const msgpack_object *fb_sr_obj(struct fb_sr *r)
{
    if (*r->err || r->i >= r->n) {
        *r->err = true;
        return NULL;
    }
    return &r->o[r->i++];
}

void fb_sr_sub(struct fb_sr *r, struct fb_sr *sub)
{
    fb_sr_open(sub, fb_sr_obj(r), r->err);
}

uint64_t fb_sr_u64(struct fb_sr *r)
{
    const msgpack_object *o = fb_sr_obj(r);
    if (!o)
        return 0;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return o->via.u64;
    *r->err = true;
    return 0;
}

int64_t fb_sr_i64(struct fb_sr *r)
{
    const msgpack_object *o = fb_sr_obj(r);
    if (!o)
        return 0;
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return o->via.i64;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= (uint64_t)INT64_MAX)
        return (int64_t)o->via.u64;
    *r->err = true;
    return 0;
}

bool fb_sr_bool(struct fb_sr *r)
{
    const msgpack_object *o = fb_sr_obj(r);
    if (!o)
        return false;
    if (o->type == MSGPACK_OBJECT_BOOLEAN)
        return o->via.boolean;
    *r->err = true;
    return false;
}

bool fb_sr_str(struct fb_sr *r, char *dst, size_t max)
{
    const msgpack_object *o = fb_sr_obj(r);
    dst[0] = 0;
    if (!o)
        return false;
    if (o->type == MSGPACK_OBJECT_NIL)
        return false;
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= max ||
        memchr(o->via.str.ptr, 0, o->via.str.size)) {
        *r->err = true;
        return false;
    }
    memcpy(dst, o->via.str.ptr, o->via.str.size);
    dst[o->via.str.size] = 0;
    return true;
}

char *fb_sr_strdup(struct fb_sr *r)
{
    const msgpack_object *o = fb_sr_obj(r);
    char *s;
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        return NULL;
    if (o->type != MSGPACK_OBJECT_STR || memchr(o->via.str.ptr, 0, o->via.str.size)) {
        *r->err = true;
        return NULL;
    }
    s = malloc(o->via.str.size + 1);
    if (!s) {
        *r->err = true;
        return NULL;
    }
    memcpy(s, o->via.str.ptr, o->via.str.size);
    s[o->via.str.size] = 0;
    return s;
}

void fb_sr_bin(struct fb_sr *r, void *dst, size_t n, size_t *got)
{
    const msgpack_object *o = fb_sr_obj(r);
    if (got)
        *got = 0;
    if (!o)
        return;
    if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size > n ||
        (!got && o->via.bin.size != n)) {
        *r->err = true;
        return;
    }
    memcpy(dst, o->via.bin.ptr, o->via.bin.size);
    if (got)
        *got = o->via.bin.size;
}
