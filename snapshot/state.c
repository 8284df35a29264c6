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

int fb_sr_parse(struct fb_sr_doc *d, const void *buf, size_t len)
{
    size_t off = 0;
    msgpack_unpacked_init(&d->up);
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
