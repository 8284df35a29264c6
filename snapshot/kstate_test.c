/* Unit tests for fb_snapshot_check_image: what fnbox inspect --verify (and an upload to fnbox
 * serve) checks of an image without a kernel. An image with a memory file, a page map, a
 * working set and a kernel section passes; each table or header damaged with its checksums
 * intact (the image is written again, as a crafted one would be) is refused by name. */
#include "fbtest.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/mm/mm_save.h"
#include "snapshot/image.h"
#include "snapshot/kstate.h"
#include "snapshot/state.h"

/* What to write: each field may be damaged by a test. */
struct spec {
    const char *magic;
    uint64_t version;
    bool kernel_not_msgpack;
    bool zero_ref;      /* the page reference table's first count 0 */
    bool map_repeats;   /* a saved page named twice by the page map */
    bool ws_unordered;  /* working-set pages out of order */
};

/* Set the first count of the page reference table to 0 and fix every checksum after it: the
 * section's, the section table's and the header's (docs/image-format.md). */
static void patch_pagerefs(const char *path)
{
    FILE *f = fopen(path, "r+b");
    uint8_t *img;
    long size;
    uint32_t nsec, zero = 0, crc;
    uint64_t toff;

    FBT_CHECK(f != NULL);
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    img = malloc((size_t)size);
    rewind(f);
    FBT_CHECK_EQ(fread(img, 1, (size_t)size, f), (size_t)size);
    memcpy(&nsec, img + 68, 4);
    memcpy(&toff, img + 72, 8);
    for (uint32_t i = 0; i < nsec; i++) {
        uint8_t *e = img + toff + (uint64_t)i * 64;
        uint64_t off, len;
        if (strcmp((char *)e, "pagerefs") != 0)
            continue;
        memcpy(&off, e + 24, 8);
        memcpy(&len, e + 32, 8);
        memcpy(img + off + 8, &zero, 4);
        crc = fb_crc32c(0, img + off, len);
        memcpy(e + 48, &crc, 4);
    }
    crc = fb_crc32c(0, img + toff, (size_t)nsec * 64);
    memcpy(img + 80, &crc, 4);
    crc = fb_crc32c(0, img, 256 - 4);
    memcpy(img + 256 - 4, &crc, 4);
    rewind(f);
    FBT_CHECK_EQ(fwrite(img, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    free(img);
}

static void write_image(const char *path, const struct spec *sp)
{
    struct fb_memfile mf;
    struct fb_image_writer *w;
    struct fb_error err = {0};
    struct fb_sw sw;
    uint64_t map[3] = {3, 1, 2}, ws[1 + 3];
    uint32_t hdr[2] = {1, 3};

    FBT_CHECK_EQ(fb_memfile_init(&mf, 1ull << 30, &err), 0);
    FBT_CHECK_EQ(fb_mf_alloc(&mf, 8), 4096);
    for (uint64_t p = 1; p <= 8; p++)
        memset(fb_mf_ptr(&mf, p * 4096), (int)p, 4096);
    if (sp->map_repeats)
        map[1] = 3;
    memcpy(ws, hdr, sizeof(hdr));
    ws[1] = 0x400, ws[2] = 0x401, ws[3] = 0x402;
    if (sp->ws_unordered)
        ws[2] = 0x300;
    fb_sw_init(&sw);
    fb_sw_array(&sw, 2);
    fb_sw_str(&sw, sp->magic);
    fb_sw_u64(&sw, sp->version);
    FBT_CHECK_EQ(fb_image_writer_open(path, &w, &err), 0);
    FBT_CHECK_EQ(fb_memfile_save(&mf, w, &err), 0);
    FBT_CHECK_EQ(fb_image_add_raw(w, "pagemap", map, sizeof(map), &err), 0);
    FBT_CHECK_EQ(fb_image_add_raw(w, "workingset", ws, sizeof(ws), &err), 0);
    if (sp->kernel_not_msgpack)
        FBT_CHECK_EQ(fb_image_add_raw(w, "kernel", "\xc1\xc1\xc1", 3, &err), 0); /* 0xc1: never used */
    else
        FBT_CHECK_EQ(fb_image_add_raw(w, "kernel", sw.buf.data, sw.buf.size, &err), 0);
    FBT_CHECK_EQ(fb_image_writer_commit(w, &err), 0);
    fb_sw_free(&sw);
    fb_memfile_destroy(&mf);
    if (sp->zero_ref)
        patch_pagerefs(path);
}

/* Check the image at path; the error's message, or "" when it passes. */
static const char *check(const char *path)
{
    static struct fb_error err;
    struct fb_image_reader *r;

    memset(&err, 0, sizeof(err));
    if (fb_image_open(path, &r, &err) < 0)
        return err.msg;
    if (fb_image_verify(r, &err) == 0)
        (void)fb_snapshot_check_image(r, &err);
    fb_image_close(r);
    return err.msg;
}

static void test_check_image(void)
{
    char path[] = "/tmp/fnbox-kstate-XXXXXX";
    int fd = mkstemp(path);
    const struct spec good = {"fnbox-kernel", FB_KSTATE_VERSION, false, false, false, false};
    /* Each damage, and what the refusal must name. */
    const struct {
        struct spec sp;
        const char *says;
    } bad[] = {
        {{"fnbox-kernex", FB_KSTATE_VERSION, false, false, false, false},
         "corrupt kernel state (magic)"},
        {{"fnbox-kernel", FB_KSTATE_VERSION + 1, false, false, false, false},
         "kernel state version"},
        {{"fnbox-kernel", FB_KSTATE_VERSION, true, false, false, false}, "not valid msgpack"},
        {{"fnbox-kernel", FB_KSTATE_VERSION, false, true, false, false}, "page reference table"},
        {{"fnbox-kernel", FB_KSTATE_VERSION, false, false, true, false}, "page map"},
        {{"fnbox-kernel", FB_KSTATE_VERSION, false, false, false, true}, "working set"},
    };

    close(fd);
    write_image(path, &good);
    FBT_CHECK_STR(check(path), "");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *msg;
        write_image(path, &bad[i].sp);
        msg = check(path);
        if (!strstr(msg, bad[i].says)) {
            fprintf(stderr, "damage %zu: got \"%s\", wanted \"%s\"\n", i, msg, bad[i].says);
            FBT_CHECK(strstr(msg, bad[i].says) != NULL);
        }
    }
    unlink(path);
}

int main(void)
{
    FBT_RUN(test_check_image);
    FBT_EXIT();
}
