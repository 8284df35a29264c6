/* Unit tests for the image format: round trips, and refusal of every kind of bad image with a
 * message that says which (bad magic, checksum, version, architecture, CPU features lacking,
 * truncation). */
#include "fbtest.h"
#include "snapshot/image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], path[128];
static uint8_t *pages;

#define NPAGES 200

static int write_image(void)
{
    struct fb_image_writer *w;
    struct fb_error err = {0};
    const char meta[] = "{\"template\":\"python\"}";
    uint64_t i;

    if (fb_image_writer_open(path, &w, &err) < 0)
        return -1;
    if (fb_image_add_raw(w, "meta", meta, sizeof(meta), &err) < 0)
        return -1;
    if (fb_image_memory_begin(w, "memory", &err) < 0)
        return -1;
    for (i = 0; i < NPAGES; i++)
        if (fb_image_memory_page(w, i * 3, pages + i * 4096, &err) < 0)
            return -1;
    if (fb_image_memory_end(w, &err) < 0)
        return -1;
    if (fb_image_add_raw(w, "kernel", "K", 1, &err) < 0)
        return -1;
    return fb_image_writer_commit(w, &err);
}

struct collect {
    uint64_t n;
    int bad;
};

static int collect_page(uint64_t index, const void *page, void *arg)
{
    struct collect *c = arg;
    uint64_t i = index / 3;
    if (index % 3 || i >= NPAGES || memcmp(page, pages + i * 4096, 4096) != 0)
        c->bad++;
    c->n++;
    return 0;
}

static void test_round_trip(void)
{
    struct fb_image_reader *r;
    struct fb_error err = {0};
    struct collect c = {0, 0};
    void *data;
    size_t len;
    uint32_t maj, min;

    FBT_CHECK_EQ(write_image(), 0);
    FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
    fb_image_version(r, &maj, &min);
    FBT_CHECK_EQ(maj, FB_IMAGE_VERSION_MAJOR);
    FBT_CHECK_EQ(fb_image_nsections(r), 3);
    FBT_CHECK_EQ(fb_image_read_raw(r, "meta", &data, &len, &err), 0);
    FBT_CHECK_STR((char *)data, "{\"template\":\"python\"}");
    free(data);
    FBT_CHECK_EQ(fb_image_read_memory(r, "memory", collect_page, &c, &err), 0);
    /* Zero pages (every 10th) are skipped, all others come back identical. */
    FBT_CHECK_EQ(c.n, NPAGES - NPAGES / 10);
    FBT_CHECK_EQ(c.bad, 0);
    FBT_CHECK(fb_image_section(r, "memory")->length < (uint64_t)NPAGES * 4096 / 2);
    FBT_CHECK_EQ(fb_image_read_raw(r, "nope", &data, &len, &err), -1);
    fb_image_close(r);
}

static int open_msg(struct fb_error *err)
{
    struct fb_image_reader *r;
    memset(err, 0, sizeof(*err));
    if (fb_image_open(path, &r, err) < 0)
        return -1;
    /* Sections are verified when read: read everything. */
    {
        int i, rc = 0;
        for (i = 0; i < fb_image_nsections(r) && rc == 0; i++) {
            const struct fb_image_section_info *s = fb_image_section_at(r, i);
            if (s->kind == FB_IMAGE_SECTION_RAW) {
                void *d;
                size_t l;
                rc = fb_image_read_raw(r, s->name, &d, &l, err);
                if (!rc)
                    free(d);
            } else {
                rc = fb_image_read_memory(r, s->name, NULL, NULL, err);
            }
        }
        fb_image_close(r);
        return rc;
    }
}

static void poke(off_t off, uint8_t v)
{
    int fd = open(path, O_WRONLY);
    (void)!pwrite(fd, &v, 1, off);
    close(fd);
}

/* Flip the bits of one byte: a change whatever it held. */
static void flip(off_t off)
{
    uint8_t v = 0;
    int fd = open(path, O_RDWR);
    (void)!pread(fd, &v, 1, off);
    v ^= 0xff;
    (void)!pwrite(fd, &v, 1, off);
    close(fd);
}

/* A section appended in place: every old section still reads back and verifies, the new one
 * too; appending to something that is not an image is refused. */
static void test_append_raw(void)
{
    struct fb_image_reader *r;
    struct fb_error err = {0};
    struct collect c = {0, 0};
    void *data;
    size_t len;
    int fd;

    uint64_t created;
    struct stat st0, st1;

    FBT_CHECK_EQ(write_image(), 0);
    FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
    created = fb_image_created(r) - 1000; /* as if made earlier, elsewhere */
    fb_image_close(r);
    fd = open(path, O_RDWR);
    FBT_CHECK(fd >= 0);
    {
        /* Back-date the header (and fix its checksum) to see the append keep it. */
        uint8_t hdr[256];
        uint32_t crc;
        FBT_CHECK_EQ(pread(fd, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
        memcpy(hdr + 32, &created, 8);
        crc = fb_crc32c(0, hdr, sizeof(hdr) - 4);
        memcpy(hdr + sizeof(hdr) - 4, &crc, 4);
        FBT_CHECK_EQ(pwrite(fd, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
    }
    fstat(fd, &st0);
    FBT_CHECK_EQ(fb_image_append_raw(fd, "workingset", "WSWSWS", 6, &err), 0);
    fstat(fd, &st1);
    FBT_CHECK(st1.st_size >= st0.st_size + 6 + 64 * 4); /* written after the old end */
    FBT_CHECK(fb_image_append_raw(fd, "workingset", "again", 5, &err) < 0); /* no duplicates */
    close(fd);
    FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
    FBT_CHECK_EQ(fb_image_nsections(r), 4);
    FBT_CHECK_EQ(fb_image_verify(r, &err), 0);
    FBT_CHECK_EQ(fb_image_created(r), created); /* the image's own header, not the appender's */
    FBT_CHECK_EQ(fb_image_read_raw(r, "workingset", &data, &len, &err), 0);
    FBT_CHECK(len == 6 && memcmp(data, "WSWSWS", 6) == 0);
    free(data);
    FBT_CHECK_EQ(fb_image_read_raw(r, "kernel", &data, &len, &err), 0);
    FBT_CHECK(len == 1 && memcmp(data, "K", 1) == 0);
    free(data);
    FBT_CHECK_EQ(fb_image_read_memory(r, "memory", collect_page, &c, &err), 0);
    FBT_CHECK_EQ(c.n, NPAGES - NPAGES / 10); /* every tenth page is zero: not stored */
    FBT_CHECK_EQ(c.bad, 0);
    fb_image_close(r);
    fd = open(path, O_RDWR | O_TRUNC);
    FBT_CHECK(fd >= 0 && write(fd, "not an image", 12) == 12);
    FBT_CHECK(fb_image_append_raw(fd, "workingset", "x", 1, &err) < 0);
    close(fd);
}

static void test_bad_magic(void)
{
    struct fb_error err;
    FBT_CHECK_EQ(write_image(), 0);
    poke(0, 'X');
    FBT_CHECK_EQ(open_msg(&err), -1);
    FBT_CHECK(strstr(err.msg, "not an fnbox image"));
}

static void test_bad_header_checksum(void)
{
    struct fb_error err;
    FBT_CHECK_EQ(write_image(), 0);
    flip(33); /* creation time: covered by the header checksum (a fixed value could be what the
               * clock wrote there: 256 seconds in every 65536 it was) */
    FBT_CHECK_EQ(open_msg(&err), -1);
    FBT_CHECK(strstr(err.msg, "header checksum"));
}

/* Rewrite a header field and fix up the header checksum, to test the checks behind it. */
static void set_header32(off_t off, uint32_t v)
{
    uint8_t hdr[256];
    uint32_t crc;
    int fd = open(path, O_RDWR);
    (void)!pread(fd, hdr, sizeof(hdr), 0);
    memcpy(hdr + off, &v, 4);
    crc = fb_crc32c(0, hdr, 252);
    memcpy(hdr + 252, &crc, 4);
    (void)!pwrite(fd, hdr, sizeof(hdr), 0);
    close(fd);
}

static void test_bad_version(void)
{
    struct fb_error err;
    FBT_CHECK_EQ(write_image(), 0);
    set_header32(8, FB_IMAGE_VERSION_MAJOR + 1);
    FBT_CHECK_EQ(open_msg(&err), -1);
    FBT_CHECK(strstr(err.msg, "version"));
    FBT_CHECK_EQ(write_image(), 0);
    set_header32(12, FB_IMAGE_VERSION_MINOR + 1); /* a newer minor than we know */
    FBT_CHECK_EQ(open_msg(&err), -1);
    FBT_CHECK(strstr(err.msg, "version"));
}

static void test_foreign_architecture(void)
{
    struct fb_error err;
    FBT_CHECK_EQ(write_image(), 0);
    set_header32(16, 0x63726161); /* "aarc" */
    set_header32(20, 0x00343668); /* "h64" */
    FBT_CHECK_EQ(open_msg(&err), -1);
    FBT_CHECK(strstr(err.msg, "architecture"));
    FBT_CHECK(strstr(err.msg, "aarch64"));
}

static uint32_t header32(off_t off)
{
    uint32_t v = 0;
    int fd = open(path, O_RDONLY);
    (void)!pread(fd, &v, 4, off);
    close(fd);
    return v;
}

/* The lowest bit clear in v, 0 if none. */
static uint64_t clear_bit(uint64_t v)
{
    return ~v & (v + 1);
}

/* An image made on a host with more than this one: each requirement the header records (XCR0,
 * XSAVE size, CPUID feature words) is refused, naming the field and the bits that are missing;
 * a bit the host has is no reason to refuse. */
static void test_cpu_features_lacking(void)
{
    struct fb_image_cpu cur;
    struct fb_error err;
    char want[128];
    uint64_t xbit;
    uint32_t bit, v;

    fb_image_cpu_current(&cur);
    /* CPUID.7.0:EBX (header offset 60): a feature bit this host lacks. */
    bit = (uint32_t)clear_bit(cur.cpuid7_ebx);
    FBT_CHECK(bit != 0);
    FBT_CHECK_EQ(write_image(), 0);
    v = header32(60);
    FBT_CHECK_EQ(v & bit, 0); /* the writer recorded this host's word */
    set_header32(60, v | bit);
    FBT_CHECK_EQ(open_msg(&err), -1);
    FBT_CHECK(strstr(err.msg, "image needs CPU features this host lacks") != NULL);
    snprintf(want, sizeof(want), "CPUID.7.0:EBX bits %#x", bit);
    FBT_CHECK(strstr(err.msg, want) != NULL);
    FBT_CHECK(strstr(err.msg, "XCR0 bits") == NULL && strstr(err.msg, "CPUID.1:") == NULL);
    /* CPUID.1:ECX (offset 52) and CPUID.1:EDX (56) together: both named. */
    FBT_CHECK_EQ(write_image(), 0);
    set_header32(52, header32(52) | (uint32_t)clear_bit(cur.cpuid1_ecx));
    set_header32(56, header32(56) | (uint32_t)clear_bit(cur.cpuid1_edx));
    FBT_CHECK_EQ(open_msg(&err), -1);
    snprintf(want, sizeof(want), "CPUID.1:ECX bits %#x, CPUID.1:EDX bits %#x",
             (uint32_t)clear_bit(cur.cpuid1_ecx), (uint32_t)clear_bit(cur.cpuid1_edx));
    FBT_CHECK(clear_bit(cur.cpuid1_ecx) && clear_bit(cur.cpuid1_edx));
    FBT_CHECK(strstr(err.msg, want) != NULL);
    /* XCR0 (offset 40, 64 bits): a state component this host does not enable. */
    xbit = clear_bit(cur.xcr0);
    FBT_CHECK(xbit != 0);
    FBT_CHECK_EQ(write_image(), 0);
    set_header32(40, header32(40) | (uint32_t)xbit);
    set_header32(44, header32(44) | (uint32_t)(xbit >> 32));
    FBT_CHECK_EQ(open_msg(&err), -1);
    snprintf(want, sizeof(want), "XCR0 bits %#lx", (unsigned long)xbit);
    FBT_CHECK(strstr(err.msg, want) != NULL);
    /* A different XSAVE area size (offset 48), larger or smaller, is refused too. */
    FBT_CHECK_EQ(write_image(), 0);
    set_header32(48, cur.xsave_size + 64);
    FBT_CHECK_EQ(open_msg(&err), -1);
    snprintf(want, sizeof(want), "XSAVE size %u (host %u)", cur.xsave_size + 64, cur.xsave_size);
    FBT_CHECK(strstr(err.msg, want) != NULL);
    /* Fewer features than the host has: accepted. */
    FBT_CHECK_EQ(write_image(), 0);
    set_header32(60, header32(60) & ~(uint32_t)(cur.cpuid7_ebx & -cur.cpuid7_ebx));
    FBT_CHECK_EQ(open_msg(&err), 0);
}

/* A raw section whose stored and raw lengths differ (the writer makes them equal), with the
 * table's and the header's checksums fixed up: refused as an invalid section. */
static void test_raw_length_mismatch(void)
{
    struct fb_error err;
    uint8_t hdr[256], *table;
    uint32_t nsec, crc;
    uint64_t toff, raw;
    int fd, found = 0;

    FBT_CHECK_EQ(write_image(), 0);
    FBT_CHECK_EQ(open_msg(&err), 0);
    fd = open(path, O_RDWR);
    FBT_CHECK_EQ(pread(fd, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
    memcpy(&nsec, hdr + 68, 4);
    memcpy(&toff, hdr + 72, 8);
    table = malloc((size_t)nsec * 64);
    FBT_CHECK_EQ(pread(fd, table, (size_t)nsec * 64, (off_t)toff), (ssize_t)nsec * 64);
    for (uint32_t i = 0; i < nsec; i++)
        if (!strcmp((char *)table + i * 64, "kernel")) {
            memcpy(&raw, table + i * 64 + 40, 8);
            raw += 4096; /* claims more than it stores */
            memcpy(table + i * 64 + 40, &raw, 8);
            found = 1;
        }
    FBT_CHECK(found);
    crc = fb_crc32c(0, table, (size_t)nsec * 64);
    memcpy(hdr + 80, &crc, 4);
    crc = fb_crc32c(0, hdr, 252);
    memcpy(hdr + 252, &crc, 4);
    FBT_CHECK_EQ(pwrite(fd, table, (size_t)nsec * 64, (off_t)toff), (ssize_t)nsec * 64);
    FBT_CHECK_EQ(pwrite(fd, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
    close(fd);
    free(table);
    FBT_CHECK_EQ(open_msg(&err), -1);
    FBT_CHECK(strstr(err.msg, "section") && strstr(err.msg, "invalid"));
}

static void test_corrupt_memory_chunk(void)
{
    struct fb_error err;
    struct fb_image_reader *r;
    uint64_t off;
    FBT_CHECK_EQ(write_image(), 0);
    FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
    off = fb_image_section(r, "memory")->offset + 40;
    fb_image_close(r);
    flip((off_t)off);
    FBT_CHECK_EQ(open_msg(&err), -1);
    FBT_CHECK(strstr(err.msg, "corrupt"));
}

/* The parallel reader: every stored page arrives exactly once, intact, whatever the number of
 * threads; a corrupt image is refused before a single page is handed out (the section
 * checksum is checked first), and a failing callback stops the load with its error. */
static _Atomic int seen[NPAGES], calls;
static uint8_t *into; /* 3 * NPAGES pages: where the runs go */

static void *dst_mt(uint64_t first, uint32_t n, void *arg)
{
    if (arg)
        return NULL; /* arg set: fail */
    for (uint32_t k = 0; k < n; k++)
        if ((first + k) % 3 == 0 && (first + k) / 3 < NPAGES)
            seen[(first + k) / 3]++;
    calls++;
    return first + n <= 3 * NPAGES ? into + first * 4096 : NULL;
}

static void test_parallel_read(void)
{
    struct fb_image_reader *r;
    struct fb_error err = {0};
    int threads, i, once, intact;
    uint64_t off;

    into = mmap(NULL, 3 * NPAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                -1, 0);
    FBT_CHECK(into != MAP_FAILED);
    FBT_CHECK_EQ(write_image(), 0);
    for (threads = 1; threads <= 4; threads++) {
        memset(seen, 0, sizeof(seen));
        memset(into, 0xa5, 3 * NPAGES * 4096);
        calls = 0;
        FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
        FBT_CHECK_EQ(fb_image_read_memory_into(r, "memory", dst_mt, NULL, threads, &err), 0);
        fb_image_close(r);
        for (i = 0, once = 0, intact = 0; i < NPAGES; i++) {
            bool stored = i % 10 != 0; /* every tenth page is zero: not stored */
            once += seen[i] == (stored ? 1 : 0);
            intact += !stored || memcmp(into + (size_t)i * 3 * 4096, pages + (size_t)i * 4096,
                                        4096) == 0;
        }
        FBT_CHECK_EQ(once, NPAGES);
        FBT_CHECK_EQ(intact, NPAGES);
    }
    /* A failing destination: the load stops and reports failure. */
    FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
    FBT_CHECK_EQ(fb_image_read_memory_into(r, "memory", dst_mt, (void *)1, 2, &err), -1);
    fb_image_close(r);
    /* A flipped byte in the memory section: refused, and nothing was handed out. */
    FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
    off = fb_image_section(r, "memory")->offset + 40;
    fb_image_close(r);
    flip((off_t)off);
    calls = 0;
    memset(&err, 0, sizeof(err));
    FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
    FBT_CHECK_EQ(fb_image_read_memory_into(r, "memory", dst_mt, NULL, 2, &err), -1);
    fb_image_close(r);
    FBT_CHECK(strstr(err.msg, "corrupt") != NULL);
    FBT_CHECK_EQ(calls, 0);
    munmap(into, 3 * NPAGES * 4096);
}

/* Regrouping by working set: every chunk afterwards holds only hot or only cold pages, every
 * page and raw section comes back intact, the creation time is kept; an image that does not
 * read back whole is refused with the file left as it was. */
static bool hot7(uint64_t page, void *arg)
{
    (void)arg;
    return (page / 7) % 2 == 0;
}

static int check_page(uint64_t index, const void *page, void *arg)
{
    int *bad = arg;
    *bad += index < 10 || index >= 110 || memcmp(page, pages + (index - 10) * 4096, 4096) != 0;
    return 0;
}

/* Two chunk tables of n entries, entry by entry the same. */
static bool same_table(const struct fb_image_chunk *a, const struct fb_image_chunk *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].pos != b[i].pos || a[i].first != b[i].first || a[i].n != b[i].n ||
            a[i].clen != b[i].clen || a[i].crc != b[i].crc)
            return false;
    return true;
}

/* fb_image_rewrite(rw) on the image at path fails with an error containing why, and not a
 * byte of the file changed. */
static void rewrite_refused(const struct fb_image_rewrite *rw, const char *why)
{
    struct fb_error err = {0};
    struct stat st;
    uint8_t *before, *after;
    int fd;

    FBT_CHECK_EQ(stat(path, &st), 0);
    before = malloc((size_t)st.st_size);
    after = malloc((size_t)st.st_size);
    fd = open(path, O_RDWR | O_CLOEXEC);
    FBT_CHECK(fd >= 0 && before && after);
    FBT_CHECK_EQ(pread(fd, before, (size_t)st.st_size, 0), st.st_size);
    FBT_CHECK_EQ(fb_image_rewrite(fd, rw, &err), -1);
    FBT_CHECK(strstr(err.msg, why) != NULL);
    FBT_CHECK_EQ(pread(fd, after, (size_t)st.st_size, 0), st.st_size);
    FBT_CHECK(memcmp(before, after, (size_t)st.st_size) == 0);
    close(fd);
    free(before);
    free(after);
}

static void test_rechunk(void)
{
    struct fb_image_writer *w;
    struct fb_image_reader *r;
    struct fb_image_chunk *chunks;
    struct fb_error err = {0};
    size_t n, i, mixed = 0, meta_len;
    uint64_t created, p;
    void *meta;
    int fd, bad = 0;

    FBT_CHECK_EQ(fb_image_writer_open(path, &w, &err), 0);
    FBT_CHECK_EQ(fb_image_add_raw(w, "meta", "M1", 2, &err), 0);
    FBT_CHECK_EQ(fb_image_memory_begin(w, "memory", &err), 0);
    for (p = 10; p < 110; p++) /* contiguous: the writer makes 16-page chunks */
        FBT_CHECK_EQ(fb_image_memory_page(w, p, pages + (p - 10) * 4096, &err), 0);
    FBT_CHECK_EQ(fb_image_memory_end(w, &err), 0);
    FBT_CHECK_EQ(fb_image_writer_commit(w, &err), 0);
    FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
    created = fb_image_created(r);
    fb_image_close(r);
    sleep(1); /* a rewrite that took the time now would show */

    fd = open(path, O_RDWR | O_CLOEXEC);
    FBT_CHECK(fd >= 0);
    FBT_CHECK_EQ(fb_image_rechunk(fd, hot7, NULL, &err), 0);
    close(fd);
    FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
    FBT_CHECK_EQ(fb_image_created(r), created);
    FBT_CHECK_EQ(fb_image_memory_chunks(r, "memory", &chunks, &n, &err), 0);
    for (i = 0; i < n; i++)
        for (p = chunks[i].first + 1; p < chunks[i].first + chunks[i].n; p++)
            mixed += hot7(p, NULL) != hot7(chunks[i].first, NULL);
    FBT_CHECK_EQ(mixed, 0);
    FBT_CHECK(n >= 100 / 7);
    /* Streamed through small blocks (headers across two of them, block sizes not dividing
     * anything): the same table. */
    for (size_t blk = 7; blk <= 4099; blk += 1023) {
        struct fb_image_chunk *c2 = NULL;
        size_t n2 = 0;
        fb_image_stream_block = blk;
        FBT_CHECK_EQ(fb_image_memory_chunks(r, "memory", &c2, &n2, &err), 0);
        FBT_CHECK_EQ(n2, n);
        FBT_CHECK(c2 != NULL && same_table(c2, chunks, n));
        free(c2);
    }
    fb_image_stream_block = 64 * 1024;
    {
        /* From the headers alone (an image checked before): the same table. */
        struct fb_image_chunk *c2 = NULL;
        size_t n2 = 0;
        FBT_CHECK_EQ(fb_image_memory_chunk_headers(r, "memory", &c2, &n2, &err), 0);
        FBT_CHECK_EQ(n2, n);
        FBT_CHECK(c2 != NULL && same_table(c2, chunks, n));
        free(c2);
    }
    free(chunks);
    FBT_CHECK_EQ(fb_image_read_memory(r, "memory", check_page, &bad, &err), 0);
    FBT_CHECK_EQ(bad, 0);
    FBT_CHECK_EQ(fb_image_read_raw(r, "meta", &meta, &meta_len, &err), 0);
    FBT_CHECK(meta_len == 2 && memcmp(meta, "M1", 2) == 0);
    free(meta);
    fb_image_close(r);

    /* A flipped byte in the memory section: -1, and not a byte of the file changed. */
    FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
    p = fb_image_section(r, "memory")->offset + 100;
    fb_image_close(r);
    flip((off_t)p);
    {
        struct fb_image_rewrite rw = {.hot = hot7};
        rewrite_refused(&rw, "corrupt");
    }
    /* The chunk table refuses it too, whatever the stream's block size. */
    for (size_t blk = 7; blk <= 64 * 1024; blk *= 97) {
        fb_image_stream_block = blk;
        memset(&err, 0, sizeof(err));
        FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
        FBT_CHECK_EQ(fb_image_memory_chunks(r, "memory", &chunks, &n, &err), -1);
        FBT_CHECK(strstr(err.msg, "corrupt") != NULL);
        fb_image_close(r);
    }
    fb_image_stream_block = 64 * 1024;
    /* The headers alone do not see a flipped byte of a chunk's pages; reading that chunk does
     * (its own checksum). A flipped byte of a header is refused by both. */
    FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
    FBT_CHECK_EQ(fb_image_memory_chunk_headers(r, "memory", &chunks, &n, &err), 0);
    {
        uint8_t comp[FB_IMAGE_CHUNK_PAGES * 4096], out[FB_IMAGE_CHUNK_PAGES * 4096];
        memset(&err, 0, sizeof(err));
        FBT_CHECK_EQ(fb_image_chunk_read(fb_image_fd(r), &chunks[0], chunks[0].n, comp, out, &err),
                     -1);
        FBT_CHECK(strstr(err.msg, "checksum") != NULL);
    }
    p = chunks[1].pos + 9; /* inside the second chunk's header: its page count */
    free(chunks);
    fb_image_close(r);
    flip((off_t)p);
    FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
    memset(&err, 0, sizeof(err));
    FBT_CHECK_EQ(fb_image_memory_chunk_headers(r, "memory", &chunks, &n, &err), -1);
    FBT_CHECK(strstr(err.msg, "corrupt") != NULL);
    fb_image_close(r);
}

/* Renumbering: the pages come back under their new numbers, the raw hook replaces a section,
 * the added section is there; a stored page the order leaves out fails and changes nothing. */
static int renumber_raw(const char *name, const void *in, size_t len, void **out,
                        size_t *outlen, void *arg, struct fb_error *err)
{
    (void)in;
    (void)len;
    (void)arg;
    (void)err;
    if (strcmp(name, "refs") != 0)
        return 0;
    *out = strdup("new");
    *outlen = 3;
    return 0;
}

static int which_page(uint64_t index, const void *page, void *arg)
{
    uint64_t *got = arg; /* got[i]: which old page's content page i + 1 holds */
    for (uint64_t k = 0; k < 100; k++)
        if (memcmp(page, pages + k * 4096, 4096) == 0)
            got[index - 1] = k + 10;
    return 0;
}

static bool hot_even(uint64_t page, void *arg)
{
    (void)arg;
    return page % 2 == 0;
}

static void test_rewrite_renumber(void)
{
    struct fb_image_writer *w;
    struct fb_image_reader *r;
    struct fb_image_chunk *chunks;
    struct fb_error err = {0};
    uint64_t order[100], got[100] = {0}, p;
    size_t n, i, len, k = 0;
    void *data;
    int fd;

    FBT_CHECK_EQ(fb_image_writer_open(path, &w, &err), 0);
    FBT_CHECK_EQ(fb_image_add_raw(w, "refs", "old", 3, &err), 0);
    FBT_CHECK_EQ(fb_image_memory_begin(w, "memory", &err), 0);
    for (p = 10; p < 110; p++)
        FBT_CHECK_EQ(fb_image_memory_page(w, p, pages + (p - 10) * 4096, &err), 0);
    FBT_CHECK_EQ(fb_image_memory_end(w, &err), 0);
    FBT_CHECK_EQ(fb_image_writer_commit(w, &err), 0);
    /* the even ("hot") pages first, then the odd ones */
    for (p = 10; p < 110; p += 2)
        order[k++] = p;
    for (p = 11; p < 110; p += 2)
        order[k++] = p;
    {
        struct fb_image_rewrite rw = {.hot = hot_even, .order = order, .norder = 100,
                                      .raw = renumber_raw, .add_name = "map",
                                      .add_data = order, .add_len = sizeof(order), .minor = 1};
        fd = open(path, O_RDWR | O_CLOEXEC);
        FBT_CHECK(fd >= 0);
        FBT_CHECK_EQ(fb_image_rewrite(fd, &rw, &err), 0);
        close(fd);
    }
    FBT_CHECK_EQ(fb_image_open(path, &r, &err), 0);
    {
        uint32_t maj, min;
        fb_image_version(r, &maj, &min);
        FBT_CHECK(maj == 1 && min == 1); /* written as 1.1: readers of 1.0 refuse it */
    }
    FBT_CHECK_EQ(fb_image_read_memory(r, "memory", which_page, got, &err), 0);
    for (i = 0; i < 100; i++) /* every tenth page is all zeros: not stored */
        FBT_CHECK_EQ(got[i], (order[i] - 10) % 10 ? order[i] : 0);
    FBT_CHECK_EQ(fb_image_memory_chunks(r, "memory", &chunks, &n, &err), 0);
    FBT_CHECK(n <= 20); /* 50 hot then 50 cold pages in runs (not 100 alternating ones) */
    for (i = 0; i < n; i++) /* no chunk mixes hot and cold */
        FBT_CHECK(chunks[i].first > 50 || chunks[i].first + chunks[i].n <= 51);
    free(chunks);
    FBT_CHECK_EQ(fb_image_read_raw(r, "refs", &data, &len, &err), 0);
    FBT_CHECK(len == 3 && memcmp(data, "new", 3) == 0);
    free(data);
    FBT_CHECK_EQ(fb_image_read_raw(r, "map", &data, &len, &err), 0);
    FBT_CHECK(len == sizeof(order) && memcmp(data, order, len) == 0);
    free(data);
    fb_image_close(r);

    /* An order without page 10: refused, the file as it was. */
    {
        struct fb_image_rewrite rw = {.order = order + 1, .norder = 99};
        rewrite_refused(&rw, "not in the order");
    }
}

/* The working-set section checker: its layout, and every way it can be wrong. */
static void test_ws_check(void)
{
    uint8_t b[64];
    size_t n = 0;
    uint32_t hdr[2];
    uint64_t v;
#define PUT_HDR(i, c) (hdr[0] = (i), hdr[1] = (c), memcpy(b + n, hdr, 8), n += 8)
#define PUT_PAGE(x)   (v = (x), memcpy(b + n, &v, 8), n += 8)
    PUT_HDR(1, 2);
    PUT_PAGE(5);
    PUT_PAGE(9);
    PUT_HDR(3, 1);
    PUT_PAGE(7);
    FBT_CHECK_EQ(fb_image_ws_check(b, n, 100), 3);
    FBT_CHECK_EQ(fb_image_ws_check(b, 0, 100), 0);
    FBT_CHECK_EQ(fb_image_ws_check(b, n - 1, 100), -1); /* cut short */
    FBT_CHECK_EQ(fb_image_ws_check(b, n, 9), -1);       /* a page beyond the limit */
    PUT_HDR(3, 0);                                      /* an index again */
    FBT_CHECK_EQ(fb_image_ws_check(b, n, 100), -1);
    n = 0;
    PUT_HDR(1, 2);
    PUT_PAGE(9);
    PUT_PAGE(5); /* not increasing */
    FBT_CHECK_EQ(fb_image_ws_check(b, n, 100), -1);
    n = 0;
    PUT_HDR(1, 1000); /* more pages than bytes */
    PUT_PAGE(1);
    FBT_CHECK_EQ(fb_image_ws_check(b, n, 100), -1);
#undef PUT_HDR
#undef PUT_PAGE
}

static void test_truncated_everywhere(void)
{
    struct fb_error err;
    struct stat st;
    off_t len, cut;
    int failures_missing = 0;

    FBT_CHECK_EQ(write_image(), 0);
    stat(path, &st);
    len = st.st_size;
    for (cut = 0; cut < len; cut += (cut < 512 ? 1 : 97)) {
        FBT_CHECK_EQ(write_image(), 0);
        FBT_CHECK_EQ(truncate(path, cut), 0);
        if (open_msg(&err) != -1)
            failures_missing++;
        else if (!err.msg[0])
            failures_missing++;
    }
    FBT_CHECK_EQ(failures_missing, 0);
}

static void test_random_corruption_never_crashes(void)
{
    struct fb_error err;
    struct stat st;
    int i, refused = 0;
    srand(1234);
    for (i = 0; i < 300; i++) {
        FBT_CHECK_EQ(write_image(), 0);
        stat(path, &st);
        poke(rand() % st.st_size, (uint8_t)rand());
        if (open_msg(&err) < 0)
            refused++;
    }
    /* Most single-byte flips are caught (a flip to the same value or in padding is not). */
    FBT_CHECK(refused > 250);
}

static void test_crash_safe_write(void)
{
    struct fb_image_writer *w;
    struct fb_error err;
    struct stat st;
    char tmp[200];
    FBT_CHECK_EQ(write_image(), 0);
    FBT_CHECK_EQ(stat(path, &st), 0);
    /* An aborted write leaves the previous image in place and no temporary file. */
    FBT_CHECK_EQ(fb_image_writer_open(path, &w, &err), 0);
    FBT_CHECK_EQ(fb_image_add_raw(w, "meta", "x", 1, &err), 0);
    fb_image_writer_abort(w);
    FBT_CHECK_EQ(open_msg(&err), 0);
    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
    FBT_CHECK(access(tmp, F_OK) != 0);
}

/* CRC-32C: the check value of "123456789", and the three-stream version equal to the table
 * one for every length around its block sizes, every alignment, and chained calls. */
static void test_crc32c(void)
{
    static uint8_t buf[3 * 2048 * 3 + 64];
    uint32_t seed = 12345;
    size_t lens[] = {0, 1, 7, 8, 9, 255, 256, 767, 768, 769, 6143, 6144, 6145, 6144 + 768 + 13,
                     12288, 18432, 18433, sizeof(buf) - 8};
    int bad = 0;

    FBT_CHECK_EQ(fb_crc32c(0, "123456789", 9), 0xE3069283u);
    FBT_CHECK_EQ(fb_crc32c_sw(0, "123456789", 9), 0xE3069283u);
    for (size_t i = 0; i < sizeof(buf); i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (uint8_t)(seed >> 16);
    }
    for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
        for (size_t off = 0; off < 8; off++) {
            size_t n = lens[l];
            if (fb_crc32c(0, buf + off, n) != fb_crc32c_sw(0, buf + off, n))
                bad++;
            /* chained: a prefix's CRC continued over the rest */
            if (fb_crc32c(fb_crc32c(0, buf + off, n / 3), buf + off + n / 3, n - n / 3) !=
                fb_crc32c_sw(0, buf + off, n))
                bad++;
        }
    FBT_CHECK_EQ(bad, 0);
    /* One flipped bit anywhere in a long buffer changes it. */
    {
        uint32_t base = fb_crc32c(0, buf, 18432);
        buf[9999] ^= 4;
        FBT_CHECK(fb_crc32c(0, buf, 18432) != base);
        buf[9999] ^= 4;
    }
}

int main(void)
{
    uint64_t i;
    snprintf(dir, sizeof(dir), "/tmp/fnbox-image-test-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof(path), "%s/test.img", dir);
    pages = calloc(NPAGES, 4096);
    for (i = 0; i < NPAGES; i++)
        if (i % 10)
            memset(pages + i * 4096, (int)(i & 0xff), 1000 + i); /* compressible, non-zero */
    FBT_RUN(test_crc32c);
    FBT_RUN(test_round_trip);
    FBT_RUN(test_append_raw);
    FBT_RUN(test_bad_magic);
    FBT_RUN(test_bad_header_checksum);
    FBT_RUN(test_bad_version);
    FBT_RUN(test_foreign_architecture);
    FBT_RUN(test_cpu_features_lacking);
    FBT_RUN(test_raw_length_mismatch);
    FBT_RUN(test_corrupt_memory_chunk);
    FBT_RUN(test_parallel_read);
    FBT_RUN(test_ws_check);
    FBT_RUN(test_rechunk);
    FBT_RUN(test_rewrite_renumber);
    FBT_RUN(test_truncated_everywhere);
    FBT_RUN(test_random_corruption_never_crashes);
    FBT_RUN(test_crash_safe_write);
    unlink(path);
    rmdir(dir);
    FBT_EXIT();
}
