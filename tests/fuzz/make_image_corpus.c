/* Writes the seeds of the image fuzz target (tests/fuzz/image_fuzz.c) to DIR: a small valid image
 * (meta, kernel and memory sections with zero, patterned and random pages) and damaged copies of
 * it, each checked here: the valid one is accepted, each damaged one refused with the message
 * its damage must give, so a seed that no longer reaches the check it was made for fails now
 * instead of testing nothing. Most damaged copies have their checksums made right again, so that
 * they get past the header and section checks to the chunk walker and the decompressor.
 * The images are made on the host that replays them, never committed: the header records the
 * maker's CPU features and a reader refuses a host without them before it looks at any section.
 * Deterministic on one host (the creation time is fixed). Built by `make fuzz-targets`
 * (build/fuzz/make_image_corpus); scripts/fuzz.sh runs it before each run of the image target. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/image_meta.h"
#include "kernel/util/le.h"
#include "snapshot/image.h"

#define HDR   256 /* docs/image-format.md: header, section table entries, chunk headers */
#define ENTRY 64
#define CHDR  24

static const char *dir;

static void die(const char *what, const char *why)
{
    fprintf(stderr, "make_image_corpus: %s: %s\n", what, why);
    exit(1);
}

/* The table entry of section name (the image is ours: its table is trusted). */
static uint8_t *entry(uint8_t *img, const char *name)
{
    uint32_t i, n = fb_get_le32(img + 68);
    for (i = 0; i < n; i++) {
        uint8_t *e = img + fb_get_le64(img + 72) + (size_t)i * ENTRY;
        if (!strncmp((char *)e, name, 16))
            return e;
    }
    die("no section", name);
    return NULL;
}

/* Make every checksum right again after a change: each section's, the table's, the header's. */
static void reseal(uint8_t *img)
{
    uint32_t i, n = fb_get_le32(img + 68);
    uint8_t *table = img + fb_get_le64(img + 72);
    for (i = 0; i < n; i++) {
        uint8_t *e = table + (size_t)i * ENTRY;
        fb_put_le32(e + 48, fb_crc32c(0, img + fb_get_le64(e + 24), fb_get_le64(e + 32)));
    }
    fb_put_le32(img + 80, fb_crc32c(0, table, (size_t)n * ENTRY));
    fb_put_le32(img + HDR - 4, fb_crc32c(0, img, HDR - 4));
}

/* Write seed name and check what the reader says of it: accepted (want NULL) or refused with a
 * message holding want. */
static void seed(const char *name, const uint8_t *img, size_t len, const char *want)
{
    struct fb_error err = {0};
    char path[512];
    int fd, rc;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, img, len) != (ssize_t)len || close(fd) != 0)
        die(path, "cannot write");
    rc = fb_image_check_buffer(img, len, &err);
    if (want ? rc == 0 || !strstr(err.msg, want) : rc != 0) {
        fprintf(stderr, "make_image_corpus: %s: expected %s%s, got %s\n", name,
                want ? "a refusal saying " : "acceptance", want ? want : "",
                rc ? err.msg : "acceptance");
        exit(1);
    }
}

int main(int argc, char **argv)
{
    struct fb_error err = {0};
    struct fb_image_writer *w;
    struct fb_image_meta meta;
    struct fb_gofer_mount mounts[1] = {{"/srv/code", "/code", true}};
    char *av[] = {"/usr/bin/python3", "/template/bootstrap.py", "main.handler", NULL};
    char *env[] = {"PATH=/usr/bin:/bin", NULL};
    msgpack_sbuffer mb;
    uint8_t page[4096], *img, *v, *c1, *c2;
    char path[512];
    size_t len;
    uint64_t moff, x = 88172645463325252ull;
    FILE *f;
    int i;
    const uint8_t kernel[] = {0x93, 0xac, 'f', 'n', 'b', 'o', 'x',  '-',
                              'k',  'e',  'r', 'n', 'e', 'l', 0x01, 0x90};

    if (argc != 2) {
        fprintf(stderr, "usage: make_image_corpus DIR\n");
        return 2;
    }
    dir = argv[1];
    memset(&meta, 0, sizeof(meta));
    meta.created = 1700000000;
    meta.template_name = "python";
    meta.handler = "main.handler";
    meta.code = "/srv/code";
    meta.mounts = mounts;
    meta.nmounts = 1;
    meta.argv = av;
    meta.envp = env;
    msgpack_sbuffer_init(&mb);
    fb_meta_pack(&meta, &mb);
    seed("meta.msgpack", (const uint8_t *)mb.data, mb.size, "not an fnbox image");

    /* Pages 1-5: 2 is zero (skipped), 3 random, the rest one byte repeated; so chunk 1 is page
     * 1 compressed, chunk 2 page 3 stored as is (it does not compress), chunk 3 pages 4-5. */
    snprintf(path, sizeof(path), "%s/small.img", dir);
    if (fb_image_writer_open(path, &w, &err) < 0 ||
        fb_image_add_raw(w, "meta", mb.data, mb.size, &err) < 0 ||
        fb_image_add_raw(w, "kernel", kernel, sizeof(kernel), &err) < 0 ||
        fb_image_memory_begin(w, "memory", &err) < 0)
        die("image", err.msg);
    for (i = 1; i <= 5; i++) {
        if (i == 2)
            memset(page, 0, sizeof(page));
        else if (i == 3)
            for (size_t k = 0; k < sizeof(page); k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
                page[k] = (uint8_t)(x >> 24);
            }
        else
            memset(page, 'a' + i, sizeof(page));
        if (fb_image_memory_page(w, (uint64_t)i, page, &err) < 0 ||
            (i == 3 && fb_image_memory_break(w, &err) < 0))
            die("page", err.msg);
    }
    if (fb_image_memory_end(w, &err) < 0 || fb_image_add_raw(w, "pagerefs", "", 0, &err) < 0 ||
        fb_image_writer_commit(w, &err) < 0)
        die("commit", err.msg);
    msgpack_sbuffer_destroy(&mb);
    f = fopen(path, "rb");
    img = malloc(1 << 20);
    v = malloc(1 << 20);
    if (!f || !img || !v)
        die(path, "cannot read");
    len = fread(img, 1, 1 << 20, f);
    fclose(f);
    fb_put_le64(img + 32, 1700000000); /* creation time: the same bytes at every run */
    reseal(img);
    seed("small.img", img, len, NULL);

    /* Cut short: inside the sections, inside the table, after the header. */
    seed("truncated.img", img, 1500, "truncated");
    seed("cut_table.img", img, len - 8, "truncated");
    seed("header_only.img", img, HDR, "truncated");

    /* A raw section's byte changed, its checksum not. */
    memcpy(v, img, len);
    v[fb_get_le64(entry(v, "kernel") + 24) + 3] ^= 0x20;
    seed("raw_flip.img", v, len, "checksum");

    /* Raw section entries made inconsistent, checksums right: a name twice, lengths differing. */
    memcpy(v, img, len);
    memcpy(entry(v, "pagerefs"), "meta", 5);
    reseal(v);
    seed("twice.img", v, len, "twice");
    memcpy(v, img, len);
    fb_put_le64(entry(v, "kernel") + 40, 4096);
    reseal(v);
    seed("raw_length.img", v, len, "invalid");

    /* The memory chunks, every checksum but the damaged one's right: c1 is chunk 1's header. */
    moff = fb_get_le64(entry(img, "memory") + 24);
#define CHUNKS_IN(b) (c1 = (b) + moff, c2 = c1 + CHDR + fb_get_le32(c1 + 12))
    CHUNKS_IN(img);
    if (fb_get_le64(c1) != 1 || fb_get_le32(c1 + 8) != 1 || fb_get_le32(c1 + 12) >= 4096 ||
        fb_get_le64(c2) != 3 || fb_get_le32(c2 + 8) != 1 || fb_get_le32(c2 + 12) != 4096)
        die("small.img", "its chunks are not page 1 compressed, then page 3 stored as is");
    memcpy(v, img, len);
    CHUNKS_IN(v);
    c1[CHDR + 2] ^= 0x01;
    reseal(v);
    seed("chunk_crc.img", v, len, "checksum");
    memcpy(v, img, len);
    CHUNKS_IN(v);
    fb_put_le32(c1 + 8, FB_IMAGE_CHUNK_PAGES + 1);
    reseal(v);
    seed("chunk_pages.img", v, len, "bad memory chunk");
    memcpy(v, img, len);
    CHUNKS_IN(v);
    fb_put_le64(c2, 1); /* pages not increasing */
    reseal(v);
    seed("chunk_order.img", v, len, "bad memory chunk");
    memcpy(v, img, len);
    CHUNKS_IN(v);
    fb_put_le32(c1 + 8, 2); /* 4096 bytes compressed, said to be 8192 */
    reseal(v);
    seed("chunk_short.img", v, len, "does not decompress");
    memcpy(v, img, len);
    CHUNKS_IN(v);
    memset(c1 + CHDR, 0xff, fb_get_le32(c1 + 12)); /* not lz4, with its own checksum */
    fb_put_le32(c1 + 16, fb_crc32c(0, c1 + CHDR, fb_get_le32(c1 + 12)));
    reseal(v);
    seed("chunk_lz4.img", v, len, "does not decompress");
    free(img);
    free(v);
    return 0;
}
