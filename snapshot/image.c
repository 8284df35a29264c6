/* Image file reader and writer (see image.h and docs/image-format.md). */
#include "snapshot/image.h"
#include "kernel/util/thread.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lz4.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/platform/x86.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kernel/util/cleanup.h"
#include "kernel/util/le.h"
#include "kernel/util/sort.h"

#define HEADER_SIZE   256
#define ENTRY_SIZE    64
#define CHUNK_HDR     24
#define PAGE          4096u
#define ARCH          "x86_64"
#define MAX_FILE_SIZE (1ull << 40)

/* ---- CRC32C ------------------------------------------------------------------------------------
 * With SSE4.2's crc32 instruction. One stream of it is bound by the instruction's latency (3
 * cycles for 8 bytes) while the CPU could start one every cycle, so long buffers are cut into
 * three blocks checksummed side by side and the three results joined: the CRC of A||B, run
 * from the register value a after A, is shift(a, |B|) ^ crc(0, B), where shift(x, n) -- the
 * register after n zero bytes from x -- is linear in x, so one table per block length does it
 * (four of 256 entries: one per byte of x). The tables are computed at build time
 * (snapshot/crc_gen.c): built here at first use they cost ~80 µs of every process that checks
 * an image. A restore checks ~2 MB of image this way, ~0.5 ms with one stream. */

/* build/gen: the block lengths CRC_LONG and CRC_SHORT, crc_table, and crc_shift_long and
 * crc_shift_short (shift by CRC_LONG and by CRC_SHORT zero bytes, per byte of the register) */
#include "crc_tables.h"

static bool crc_hw;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static uint64_t crc_hw8(uint64_t c, uint64_t v)
{
    __asm__("crc32q %1, %0" : "+r"(c) : "rm"(v));
    return c;
}

static uint32_t crc_shift(const uint32_t t[4][256], uint32_t x)
{
    return t[0][x & 0xff] ^ t[1][x >> 8 & 0xff] ^ t[2][x >> 16 & 0xff] ^ t[3][x >> 24];
}

/* glibc's record of the CPU's features, made at start: no CPUID of our own (each one exits to
 * the hypervisor on a VM). */
static void crc_init(void)
{
    crc_hw = CPU_FEATURE_ACTIVE(SSE4_2);
}

/* Rounds of three blocks of n bytes side by side, as long as they fit. */
static uint64_t crc_hw_triple(uint64_t c, const uint8_t **pp, size_t *lenp, size_t n,
                              const uint32_t t[4][256])
{
    const uint8_t *p = *pp;
    size_t len = *lenp;

    while (len >= 3 * n) {
        uint64_t c1 = 0, c2 = 0, v0, v1, v2;
        for (size_t i = 0; i < n; i += 8) {
            memcpy(&v0, p + i, 8);
            memcpy(&v1, p + n + i, 8);
            memcpy(&v2, p + 2 * n + i, 8);
            c = crc_hw8(c, v0);
            c1 = crc_hw8(c1, v1);
            c2 = crc_hw8(c2, v2);
        }
        c = crc_shift(t, crc_shift(t, (uint32_t)c) ^ (uint32_t)c1) ^ (uint32_t)c2;
        p += 3 * n;
        len -= 3 * n;
    }
    *pp = p;
    *lenp = len;
    return c;
}

uint32_t fb_crc32c(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t c = ~crc;

    pthread_once(&crc_once, crc_init);
    if (crc_hw) {
        c = crc_hw_triple(c, &p, &len, CRC_LONG, crc_shift_long);
        c = crc_hw_triple(c, &p, &len, CRC_SHORT, crc_shift_short);
        while (len >= 8) {
            uint64_t v;
            memcpy(&v, p, 8);
            c = crc_hw8(c, v);
            p += 8;
            len -= 8;
        }
        while (len--) {
            uint32_t c32 = (uint32_t)c;
            __asm__("crc32b %1, %0" : "+r"(c32) : "rm"(*p));
            c = c32;
            p++;
        }
        return ~(uint32_t)c;
    }
    return fb_crc32c_sw(crc, data, len);
}

/* The one-byte-at-a-time table version, whatever the CPU (tests compare the two). */
uint32_t fb_crc32c_sw(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t c = ~crc;

    while (len--)
        c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}

void fb_image_cpu_current(struct fb_image_cpu *c)
{
    unsigned a, b, cx, d;
    uint32_t lo, hi;

    memset(c, 0, sizeof(*c));
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    c->xcr0 = ((uint64_t)hi << 32) | lo;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(cx), "=d"(d) : "a"(0xd), "c"(0));
    c->xsave_size = b;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(cx), "=d"(d) : "a"(1), "c"(0));
    c->cpuid1_ecx = cx & ~(1u << 27); /* OSXSAVE reflects the OS, not the CPU */
    c->cpuid1_edx = d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(cx), "=d"(d) : "a"(7), "c"(0));
    c->cpuid7_ebx = b;
    c->cpuid7_ecx = cx & ~(1u << 4); /* OSPKE likewise */
}

/* ---- writer ------------------------------------------------------------------------------------ */

struct fb_image_writer {
    int fd;
    char *path, *tmp;
    uint64_t pos;
    struct fb_image_section_info sec[FB_IMAGE_MAX_SECTIONS];
    int nsec;
    /* appending: the header keeps the image's own creation time and CPU requirements */
    bool keep_origin;
    uint64_t created;
    struct fb_image_cpu cpu;
    uint32_t minor; /* the minor version written: FB_IMAGE_MINOR_BASE unless a feature needs more */
    /* current memory section */
    bool in_memory;
    uint64_t run_first, run_n, last_index;
    bool have_last;
    uint8_t *run;  /* up to FB_IMAGE_CHUNK_PAGES pages */
    char *cbuf;    /* compression buffer */
    int cbuf_cap;
};

static int wr_all(struct fb_image_writer *w, const void *data, size_t len, struct fb_error *err)
{
    const uint8_t *p = data;
    while (len) {
        ssize_t n = pwrite(w->fd, p, len, (off_t)w->pos);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fb_error_set(err, errno, "writing %s: %s", w->tmp ? w->tmp : "the image",
                                strerror(errno));
        }
        p += n;
        len -= (size_t)n;
        w->pos += (uint64_t)n;
    }
    return 0;
}

static int new_section(struct fb_image_writer *w, const char *name, uint32_t kind,
                       struct fb_error *err)
{
    struct fb_image_section_info *s;
    int i;

    if (strlen(name) == 0 || strlen(name) > FB_IMAGE_NAME_LEN)
        return fb_error_set(err, EINVAL, "bad image section name '%s'", name);
    for (i = 0; i < w->nsec; i++)
        if (!strcmp(w->sec[i].name, name))
            return fb_error_set(err, EEXIST, "image section '%s' written twice", name);
    if (w->nsec == FB_IMAGE_MAX_SECTIONS)
        return fb_error_set(err, E2BIG, "too many image sections");
    /* Sections start 8-byte aligned. */
    w->pos = (w->pos + 7) & ~7ull;
    s = &w->sec[w->nsec++];
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->kind = kind;
    s->offset = w->pos;
    return 0;
}

int fb_image_writer_open(const char *path, struct fb_image_writer **out, struct fb_error *err)
{
    struct fb_image_writer *w = calloc(1, sizeof(*w));
    uint8_t zero[HEADER_SIZE] = {0};

    if (!w)
        return fb_error_set(err, ENOMEM, "out of memory");
    w->path = strdup(path);
    if (!w->path || asprintf(&w->tmp, "%s.tmp.%d", path, (int)getpid()) < 0) {
        free(w->path);
        free(w);
        return fb_error_set(err, ENOMEM, "out of memory");
    }
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        fb_error_set(err, errno, "creating %s: %s", w->tmp, strerror(errno));
        free(w->tmp);
        free(w->path);
        free(w);
        return -1;
    }
    if (wr_all(w, zero, sizeof(zero), err) < 0) {
        fb_image_writer_abort(w);
        return -1;
    }
    *out = w;
    return 0;
}

int fb_image_writer_fdopen(int fd, struct fb_image_writer **out, struct fb_error *err)
{
    struct fb_image_writer *w = calloc(1, sizeof(*w));
    uint8_t zero[HEADER_SIZE] = {0};

    if (!w)
        return fb_error_set(err, ENOMEM, "out of memory");
    w->fd = fd;
    if (ftruncate(fd, 0) != 0) {
        fb_error_set(err, errno, "truncating the image file: %s", strerror(errno));
        free(w);
        return -1;
    }
    if (wr_all(w, zero, sizeof(zero), err) < 0) {
        free(w);
        return -1;
    }
    *out = w;
    return 0;
}

void fb_image_writer_abort(struct fb_image_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    if (w->tmp)
        unlink(w->tmp);
    free(w->run);
    free(w->cbuf);
    free(w->tmp);
    free(w->path);
    free(w);
}

int fb_image_add_raw(struct fb_image_writer *w, const char *name, const void *data, size_t len,
                     struct fb_error *err)
{
    struct fb_image_section_info *s;

    if (w->in_memory)
        return fb_error_set(err, EINVAL, "image: raw section inside a memory section");
    if (new_section(w, name, FB_IMAGE_SECTION_RAW, err) < 0)
        return -1;
    s = &w->sec[w->nsec - 1];
    if (wr_all(w, data, len, err) < 0)
        return -1;
    s->length = s->raw_length = len;
    s->checksum = fb_crc32c(0, data, len);
    return 0;
}

int fb_image_memory_begin(struct fb_image_writer *w, const char *name, struct fb_error *err)
{
    if (w->in_memory)
        return fb_error_set(err, EINVAL, "image: nested memory sections");
    if (new_section(w, name, FB_IMAGE_SECTION_MEMORY, err) < 0)
        return -1;
    if (!w->run) {
        w->cbuf_cap = LZ4_compressBound((int)(FB_IMAGE_CHUNK_PAGES * PAGE));
        w->run = malloc(FB_IMAGE_CHUNK_PAGES * PAGE);
        w->cbuf = malloc((size_t)w->cbuf_cap);
        if (!w->run || !w->cbuf)
            return fb_error_set(err, ENOMEM, "out of memory");
    }
    w->in_memory = true;
    w->run_n = 0;
    w->have_last = false;
    return 0;
}

static int flush_run(struct fb_image_writer *w, struct fb_error *err)
{
    struct fb_image_section_info *s = &w->sec[w->nsec - 1];
    uint8_t hdr[CHUNK_HDR];
    int raw = (int)(w->run_n * PAGE), clen;
    const char *data;
    uint32_t crc;

    if (!w->run_n)
        return 0;
    clen = LZ4_compress_default((const char *)w->run, w->cbuf, raw, w->cbuf_cap);
    if (clen <= 0 || clen >= raw) {
        data = (const char *)w->run; /* incompressible: stored as is */
        clen = raw;
    } else {
        data = w->cbuf;
    }
    crc = fb_crc32c(0, data, (size_t)clen);
    memset(hdr, 0, sizeof(hdr));
    fb_put_le64(hdr, w->run_first);
    fb_put_le32(hdr + 8, (uint32_t)w->run_n);
    fb_put_le32(hdr + 12, (uint32_t)clen);
    fb_put_le32(hdr + 16, crc);
    if (wr_all(w, hdr, sizeof(hdr), err) < 0 || wr_all(w, data, (size_t)clen, err) < 0)
        return -1;
    s->checksum = fb_crc32c(s->checksum, hdr, sizeof(hdr));
    s->checksum = fb_crc32c(s->checksum, data, (size_t)clen);
    s->raw_length += (uint64_t)raw;
    s->chunks++;
    w->run_n = 0;
    return 0;
}

static bool is_zero_page(const void *page)
{
    const uint64_t *p = page;
    size_t i;
    for (i = 0; i < PAGE / 8; i++)
        if (p[i])
            return false;
    return true;
}

int fb_image_memory_page(struct fb_image_writer *w, uint64_t index, const void *page,
                         struct fb_error *err)
{
    if (!w->in_memory)
        return fb_error_set(err, EINVAL, "image: page outside a memory section");
    if (w->have_last && index <= w->last_index)
        return fb_error_set(err, EINVAL, "image: pages out of order (%lu after %lu)",
                            (unsigned long)index, (unsigned long)w->last_index);
    w->have_last = true;
    w->last_index = index;
    if (is_zero_page(page))
        return 0;
    if (w->run_n && (w->run_first + w->run_n != index || w->run_n == FB_IMAGE_WRITE_CHUNK_PAGES)) {
        if (flush_run(w, err) < 0)
            return -1;
    }
    if (!w->run_n)
        w->run_first = index;
    memcpy(w->run + w->run_n * PAGE, page, PAGE);
    w->run_n++;
    return 0;
}

int fb_image_memory_break(struct fb_image_writer *w, struct fb_error *err)
{
    if (!w->in_memory)
        return fb_error_set(err, EINVAL, "image: no memory section open");
    return w->run_n ? flush_run(w, err) : 0;
}

int fb_image_memory_end(struct fb_image_writer *w, struct fb_error *err)
{
    if (!w->in_memory)
        return fb_error_set(err, EINVAL, "image: no memory section open");
    if (flush_run(w, err) < 0)
        return -1;
    w->sec[w->nsec - 1].length = w->pos - w->sec[w->nsec - 1].offset;
    w->in_memory = false;
    return 0;
}

int fb_image_writer_commit(struct fb_image_writer *w, struct fb_error *err)
{
    uint8_t hdr[HEADER_SIZE], *table = NULL;
    struct fb_image_cpu cpu;
    uint64_t table_off;
    size_t tlen;
    int i, r = -1, dfd;
    char *dir, *slash;

    if (w->in_memory && fb_image_memory_end(w, err) < 0)
        goto out;
    w->pos = (w->pos + 7) & ~7ull;
    table_off = w->pos;
    tlen = (size_t)w->nsec * ENTRY_SIZE;
    table = calloc(1, tlen ? tlen : 1);
    if (!table) {
        fb_error_set(err, ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < w->nsec; i++) {
        uint8_t *e = table + (size_t)i * ENTRY_SIZE;
        memcpy(e, w->sec[i].name, strlen(w->sec[i].name));
        fb_put_le32(e + 16, w->sec[i].kind);
        fb_put_le32(e + 20, w->sec[i].chunks);
        fb_put_le64(e + 24, w->sec[i].offset);
        fb_put_le64(e + 32, w->sec[i].length);
        fb_put_le64(e + 40, w->sec[i].raw_length);
        fb_put_le32(e + 48, w->sec[i].checksum);
    }
    if (wr_all(w, table, tlen, err) < 0)
        goto out;
    memset(hdr, 0, sizeof(hdr));
    memcpy(hdr, FB_IMAGE_MAGIC, 8);
    fb_put_le32(hdr + 8, FB_IMAGE_VERSION_MAJOR);
    fb_put_le32(hdr + 12, w->minor > FB_IMAGE_MINOR_BASE ? w->minor : FB_IMAGE_MINOR_BASE);
    memcpy(hdr + 16, ARCH, strlen(ARCH));
    fb_put_le64(hdr + 32, w->keep_origin ? w->created : (uint64_t)time(NULL));
    if (w->keep_origin)
        cpu = w->cpu;
    else
        fb_image_cpu_current(&cpu);
    fb_put_le64(hdr + 40, cpu.xcr0);
    fb_put_le32(hdr + 48, cpu.xsave_size);
    fb_put_le32(hdr + 52, cpu.cpuid1_ecx);
    fb_put_le32(hdr + 56, cpu.cpuid1_edx);
    fb_put_le32(hdr + 60, cpu.cpuid7_ebx);
    fb_put_le32(hdr + 64, cpu.cpuid7_ecx);
    fb_put_le32(hdr + 68, (uint32_t)w->nsec);
    fb_put_le64(hdr + 72, table_off);
    fb_put_le32(hdr + 80, fb_crc32c(0, table, tlen));
    fb_put_le32(hdr + HEADER_SIZE - 4, fb_crc32c(0, hdr, HEADER_SIZE - 4));
    w->pos = 0;
    if (wr_all(w, hdr, sizeof(hdr), err) < 0)
        goto out;
    if (fsync(w->fd) != 0) {
        fb_error_set(err, errno, "fsync %s: %s", w->tmp ? w->tmp : "image", strerror(errno));
        goto out;
    }
    if (!w->path) {
        r = 0; /* written to a caller's fd: the caller renames it into place */
        goto out;
    }
    if (rename(w->tmp, w->path) != 0) {
        fb_error_set(err, errno, "renaming %s to %s: %s", w->tmp, w->path, strerror(errno));
        goto out;
    }
    /* Make the rename itself durable. */
    dir = strdup(w->path);
    if (dir) {
        slash = strrchr(dir, '/');
        if (slash)
            *slash = 0;
        dfd = open(slash ? (dir[0] ? dir : "/") : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    r = 0;
out:
    free(table);
    if (r < 0) {
        fb_image_writer_abort(w);
        return -1;
    }
    close(w->fd);
    w->fd = -1;
    free(w->run);
    free(w->cbuf);
    free(w->tmp);
    free(w->path);
    free(w);
    return 0;
}

/* ---- reader ---------------------------------------------------------------------------------------- */

struct fb_image_reader {
    /* Either a file (fd >= 0) or a memory buffer (fuzzing). */
    int fd;
    const uint8_t *buf;
    uint64_t size;
    char path[256];
    uint32_t major, minor;
    uint64_t created;
    struct fb_image_cpu cpu;
    struct fb_image_section_info sec[FB_IMAGE_MAX_SECTIONS];
    int nsec;
};

static int rd_at(struct fb_image_reader *r, void *dst, uint64_t len, uint64_t off,
                 struct fb_error *err)
{
    if (off > r->size || len > r->size - off)
        return fb_error_set(err, EINVAL, "%s: truncated image (needs %lu bytes at offset %lu, file "
                            "has %lu)",
                            r->path, (unsigned long)len, (unsigned long)off,
                            (unsigned long)r->size);
    if (r->buf) {
        memcpy(dst, r->buf + off, len);
        return 0;
    }
    while (len) {
        ssize_t n = pread(r->fd, dst, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return fb_error_set(err, n < 0 ? errno : EIO, "%s: read error: %s", r->path,
                                n < 0 ? strerror(errno) : "unexpected end of file");
        dst = (uint8_t *)dst + n;
        len -= (uint64_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/* What the image needs that the host has not, by the header's field names ("CPUID.7.0:EBX bits
 * 0x20, XSAVE size 2696 (host 832)"), into buf; false if nothing is missing. */
static bool cpu_lacks(const struct fb_image_cpu *need, const struct fb_image_cpu *have, char *buf,
                      size_t len)
{
    const struct {
        const char *name;
        uint64_t missing;
    } w[] = {
        {"XCR0", need->xcr0 & ~have->xcr0},
        {"CPUID.1:ECX", need->cpuid1_ecx & ~have->cpuid1_ecx},
        {"CPUID.1:EDX", need->cpuid1_edx & ~have->cpuid1_edx},
        {"CPUID.7.0:EBX", need->cpuid7_ebx & ~have->cpuid7_ebx},
        {"CPUID.7.0:ECX", need->cpuid7_ecx & ~have->cpuid7_ecx},
    };
    size_t i, n = 0;

    buf[0] = 0;
    for (i = 0; i < sizeof(w) / sizeof(w[0]); i++)
        if (w[i].missing && n < len)
            n += (size_t)snprintf(buf + n, len - n, "%s%s bits %#lx", n ? ", " : "", w[i].name,
                                  (unsigned long)w[i].missing);
    if (need->xsave_size != have->xsave_size && n < len)
        n += (size_t)snprintf(buf + n, len - n, "%sXSAVE size %u (host %u)", n ? ", " : "",
                              need->xsave_size, have->xsave_size);
    return n > 0;
}

static int parse(struct fb_image_reader *r, struct fb_error *err)
{
    uint8_t hdr[HEADER_SIZE], *table;
    struct fb_image_cpu cur;
    char lacks[200];
    uint64_t table_off;
    size_t tlen;
    int i, j;

    if (r->size < HEADER_SIZE)
        return fb_error_set(err, EINVAL, "%s: not an fnbox image (too short: %lu bytes)", r->path,
                            (unsigned long)r->size);
    if (rd_at(r, hdr, HEADER_SIZE, 0, err) < 0)
        return -1;
    if (memcmp(hdr, FB_IMAGE_MAGIC, 8) != 0)
        return fb_error_set(err, EINVAL, "%s: not an fnbox image (bad magic)", r->path);
    if (fb_get_le32(hdr + HEADER_SIZE - 4) != fb_crc32c(0, hdr, HEADER_SIZE - 4))
        return fb_error_set(err, EINVAL, "%s: corrupt image (header checksum mismatch)", r->path);
    r->major = fb_get_le32(hdr + 8);
    r->minor = fb_get_le32(hdr + 12);
    if (r->major != FB_IMAGE_VERSION_MAJOR || r->minor > FB_IMAGE_VERSION_MINOR)
        return fb_error_set(err, EINVAL,
                            "%s: image format version %u.%u is not supported (this fnbox reads "
                            "%u.0 to %u.%u)",
                            r->path, r->major, r->minor, FB_IMAGE_VERSION_MAJOR,
                            FB_IMAGE_VERSION_MAJOR, FB_IMAGE_VERSION_MINOR);
    if (hdr[16 + strlen(ARCH)] != 0 || memcmp(hdr + 16, ARCH, strlen(ARCH)) != 0) {
        char arch[17];
        memcpy(arch, hdr + 16, 16);
        arch[16] = 0;
        for (i = 0; arch[i]; i++)
            if (arch[i] < 32 || arch[i] > 126)
                arch[i] = '?';
        return fb_error_set(err, EINVAL, "%s: image is for architecture '%s', this host is %s",
                            r->path, arch, ARCH);
    }
    r->created = fb_get_le64(hdr + 32);
    r->cpu.xcr0 = fb_get_le64(hdr + 40);
    r->cpu.xsave_size = fb_get_le32(hdr + 48);
    r->cpu.cpuid1_ecx = fb_get_le32(hdr + 52);
    r->cpu.cpuid1_edx = fb_get_le32(hdr + 56);
    r->cpu.cpuid7_ebx = fb_get_le32(hdr + 60);
    r->cpu.cpuid7_ecx = fb_get_le32(hdr + 64);
    fb_image_cpu_current(&cur);
    if (cpu_lacks(&r->cpu, &cur, lacks, sizeof(lacks)))
        return fb_error_set(err, EINVAL,
                            "%s: image needs CPU features this host lacks: %s (saved XCR0 %#lx, "
                            "XSAVE size %u; host %#lx, %u)",
                            r->path, lacks, (unsigned long)r->cpu.xcr0, r->cpu.xsave_size,
                            (unsigned long)cur.xcr0, cur.xsave_size);
    r->nsec = (int)fb_get_le32(hdr + 68);
    if (r->nsec < 0 || r->nsec > FB_IMAGE_MAX_SECTIONS)
        return fb_error_set(err, EINVAL, "%s: corrupt image (%d sections)", r->path, r->nsec);
    table_off = fb_get_le64(hdr + 72);
    if (table_off < HEADER_SIZE)
        return fb_error_set(err, EINVAL, "%s: corrupt image (section table inside the header)",
                            r->path);
    tlen = (size_t)r->nsec * ENTRY_SIZE;
    table = malloc(tlen ? tlen : 1);
    if (!table)
        return fb_error_set(err, ENOMEM, "out of memory");
    if (rd_at(r, table, tlen, table_off, err) < 0) {
        free(table);
        return -1;
    }
    if (fb_get_le32(hdr + 80) != fb_crc32c(0, table, tlen)) {
        free(table);
        return fb_error_set(err, EINVAL, "%s: corrupt image (section table checksum mismatch)",
                            r->path);
    }
    for (i = 0; i < r->nsec; i++) {
        const uint8_t *e = table + (size_t)i * ENTRY_SIZE;
        struct fb_image_section_info *s = &r->sec[i];
        memset(s, 0, sizeof(*s));
        memcpy(s->name, e, 16);
        s->name[16] = 0;
        s->kind = fb_get_le32(e + 16);
        s->chunks = fb_get_le32(e + 20);
        s->offset = fb_get_le64(e + 24);
        s->length = fb_get_le64(e + 32);
        s->raw_length = fb_get_le64(e + 40);
        s->checksum = fb_get_le32(e + 48);
        for (j = 0; s->name[j]; j++)
            if (s->name[j] < 33 || s->name[j] > 126)
                break;
        if (!s->name[0] || s->name[j] ||
            (s->kind != FB_IMAGE_SECTION_RAW && s->kind != FB_IMAGE_SECTION_MEMORY) ||
            (s->kind == FB_IMAGE_SECTION_RAW && (s->raw_length != s->length || s->chunks)) ||
            s->offset > r->size || s->length > r->size - s->offset || s->offset < HEADER_SIZE) {
            free(table);
            return fb_error_set(err, EINVAL, "%s: corrupt image (section %d is invalid)", r->path,
                                i);
        }
        for (j = 0; j < i; j++)
            if (!strcmp(r->sec[j].name, s->name)) {
                free(table);
                return fb_error_set(err, EINVAL, "%s: corrupt image (section '%s' twice)",
                                    r->path, s->name);
            }
    }
    free(table);
    return 0;
}

int fb_image_fdopen(int fd, const char *name, struct fb_image_reader **out, struct fb_error *err)
{
    struct fb_image_reader *r = calloc(1, sizeof(*r));
    struct stat st;

    if (!r) {
        close(fd);
        return fb_error_set(err, ENOMEM, "out of memory");
    }
    snprintf(r->path, sizeof(r->path), "%s", name);
    r->fd = fd;
    if (fstat(r->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fb_error_set(err, EINVAL, "%s: not a regular file", name);
        fb_image_close(r);
        return -1;
    }
    r->size = (uint64_t)st.st_size;
    if (parse(r, err) < 0) {
        fb_image_close(r);
        return -1;
    }
    *out = r;
    return 0;
}

int fb_image_open(const char *path, struct fb_image_reader **out, struct fb_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return fb_error_set(err, errno, "%s: %s", path, strerror(errno));
    return fb_image_fdopen(fd, path, out, err); /* takes fd over, also on failure */
}

void fb_image_close(struct fb_image_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    free(r);
}

int fb_image_nsections(const struct fb_image_reader *r)
{
    return r->nsec;
}

const struct fb_image_section_info *fb_image_section_at(const struct fb_image_reader *r, int i)
{
    return i >= 0 && i < r->nsec ? &r->sec[i] : NULL;
}

const struct fb_image_section_info *fb_image_section(const struct fb_image_reader *r,
                                                     const char *name)
{
    int i;
    for (i = 0; i < r->nsec; i++)
        if (!strcmp(r->sec[i].name, name))
            return &r->sec[i];
    return NULL;
}

void fb_image_version(const struct fb_image_reader *r, uint32_t *major, uint32_t *minor)
{
    *major = r->major;
    *minor = r->minor;
}

uint64_t fb_image_created(const struct fb_image_reader *r)
{
    return r->created;
}

const struct fb_image_cpu *fb_image_cpu(const struct fb_image_reader *r)
{
    return &r->cpu;
}

int fb_image_read_raw(struct fb_image_reader *r, const char *name, void **data, size_t *len,
                      struct fb_error *err)
{
    const struct fb_image_section_info *s = fb_image_section(r, name);
    void *buf;

    if (!s || s->kind != FB_IMAGE_SECTION_RAW)
        return fb_error_set(err, ENOENT, "%s: image has no '%s' section", r->path, name);
    if (s->length > (1ull << 32))
        return fb_error_set(err, EFBIG, "%s: section '%s' is too large", r->path, name);
    buf = malloc(s->length ? s->length : 1);
    if (!buf)
        return fb_error_set(err, ENOMEM, "out of memory");
    if (rd_at(r, buf, s->length, s->offset, err) < 0) {
        free(buf);
        return -1;
    }
    if (fb_crc32c(0, buf, s->length) != s->checksum) {
        free(buf);
        return fb_error_set(err, EINVAL, "%s: corrupt image (section '%s' checksum mismatch)",
                            r->path, name);
    }
    *data = buf;
    *len = s->length;
    return 0;
}


/* Decode the chunk header hdr found at pos of a memory section ending at end, the previous
 * chunk having ended at page next_min, and check it (page count, stored length inside the
 * section, pages in increasing order). */
static int chunk_decode(struct fb_image_reader *r, const uint8_t *hdr, uint64_t pos, uint64_t end,
                        uint64_t next_min, struct fb_image_chunk *c, struct fb_error *err)
{
    *c = (struct fb_image_chunk){pos, fb_get_le64(hdr), fb_get_le32(hdr + 8), fb_get_le32(hdr + 12), fb_get_le32(hdr + 16)};
    if (c->n == 0 || c->n > FB_IMAGE_CHUNK_PAGES || c->clen == 0 || c->clen > c->n * PAGE ||
        c->clen > end - pos - CHUNK_HDR || c->first < next_min || c->first > (1ull << 40))
        return fb_error_set(err, EINVAL, "%s: corrupt image (bad memory chunk at offset %lu)",
                            r->path, (unsigned long)pos);
    return 0;
}

int fb_image_read_memory_runs(struct fb_image_reader *r, const char *name,
                              int (*fn)(uint64_t first, uint32_t n, const void *pages, void *arg),
                              void *arg, struct fb_error *err)
{
    const struct fb_image_section_info *s = fb_image_section(r, name);
    uint64_t pos, end, next_min = 0;
    uint32_t crc = 0, chunks = 0;
    uint8_t *comp = NULL, *pages = NULL;
    void *map = MAP_FAILED;
    int rc = -1;

    if (!s || s->kind != FB_IMAGE_SECTION_MEMORY)
        return fb_error_set(err, ENOENT, "%s: image has no '%s' memory section", r->path, name);
    comp = malloc(FB_IMAGE_CHUNK_PAGES * PAGE);
    pages = malloc(FB_IMAGE_CHUNK_PAGES * PAGE);
    if (!comp || !pages) {
        fb_error_set(err, ENOMEM, "out of memory");
        goto out;
    }
    /* A file is mapped for the walk: chunks are then read in place, without a read per chunk. */
    if (!r->buf && r->size) {
        map = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE, r->fd, 0);
        if (map != MAP_FAILED) {
            madvise(map, r->size, MADV_SEQUENTIAL);
            r->buf = map;
        }
    }
    pos = s->offset;
    end = s->offset + s->length;
    while (pos < end) {
        uint8_t hdr[CHUNK_HDR];
        const uint8_t *data;
        struct fb_image_chunk c;
        uint64_t first;
        uint32_t n, clen;
        if (end - pos < CHUNK_HDR || rd_at(r, hdr, CHUNK_HDR, pos, err) < 0) {
            if (end - pos < CHUNK_HDR)
                fb_error_set(err, EINVAL, "%s: corrupt image (memory chunk header cut short)",
                             r->path);
            goto out;
        }
        if (chunk_decode(r, hdr, pos, end, next_min, &c, err) < 0)
            goto out;
        first = c.first;
        n = c.n;
        clen = c.clen;
        if (r->buf && pos + CHUNK_HDR + clen <= r->size) {
            data = r->buf + pos + CHUNK_HDR;
        } else {
            if (rd_at(r, comp, clen, pos + CHUNK_HDR, err) < 0)
                goto out;
            data = comp;
        }
        if (fb_crc32c(0, data, clen) != c.crc) {
            fb_error_set(err, EINVAL, "%s: corrupt image (memory chunk checksum mismatch at "
                         "offset %lu)",
                         r->path, (unsigned long)pos);
            goto out;
        }
        crc = fb_crc32c(crc, hdr, CHUNK_HDR);
        crc = fb_crc32c(crc, data, clen);
        if (clen == n * PAGE) {
            memcpy(pages, data, clen);
        } else if (LZ4_decompress_safe((const char *)data, (char *)pages, (int)clen,
                                       (int)(n * PAGE)) != (int)(n * PAGE)) {
            fb_error_set(err, EINVAL, "%s: corrupt image (memory chunk does not decompress)",
                         r->path);
            goto out;
        }
        if (fn && fn(first, n, pages, arg) < 0)
            goto out;
        next_min = first + n;
        pos += CHUNK_HDR + clen;
        chunks++;
    }
    if (crc != s->checksum || chunks != s->chunks) {
        fb_error_set(err, EINVAL, "%s: corrupt image (memory section '%s' checksum mismatch)",
                     r->path, name);
        goto out;
    }
    rc = 0;
out:
    if (map != MAP_FAILED) {
        munmap(map, r->size);
        r->buf = NULL;
    }
    free(comp);
    free(pages);
    return rc;
}

/* ---- parallel memory load -------------------------------------------------------------------- */

#define MEM_THREADS_MAX 8

struct mem_job {
    int fd;
    const struct fb_image_chunk *c;
    size_t nc;
    void *(*dst)(uint64_t first, uint32_t n, void *arg);
    void *arg;
    atomic_size_t next;
    atomic_bool failed;
    pthread_mutex_t lock;
    struct fb_error err; /* the first failure */
};

static void *mem_worker(void *arg)
{
    struct mem_job *j = arg;
    uint8_t *comp = malloc(FB_IMAGE_CHUNK_PAGES * PAGE);
    struct fb_error e = {0};
    size_t i;

    if (!comp)
        fb_error_set(&e, ENOMEM, "out of memory");
    while (!e.code && !atomic_load(&j->failed) && (i = atomic_fetch_add(&j->next, 1)) < j->nc) {
        uint8_t *out = j->dst(j->c[i].first, j->c[i].n, j->arg);
        if (!out) {
            atomic_store(&j->failed, true); /* dst said why, in its own error */
            break;
        }
        /* Through the fd, with the chunk's own checksum: the file may have changed since
         * the section was checked. */
        fb_image_chunk_read(j->fd, &j->c[i], j->c[i].n, comp, out, &e);
    }
    if (e.code) {
        pthread_mutex_lock(&j->lock);
        if (!j->err.code)
            j->err = e;
        atomic_store(&j->failed, true);
        pthread_mutex_unlock(&j->lock);
    }
    free(comp);
    return NULL;
}

/* The serial reader's adapter for a dst hook: the run is copied where dst says. */
struct dst_adapter {
    void *(*dst)(uint64_t first, uint32_t n, void *arg);
    void *arg;
};

static int copy_to_dst(uint64_t first, uint32_t n, const void *pages, void *arg)
{
    struct dst_adapter *a = arg;
    void *out = a->dst(first, n, a->arg);
    if (!out)
        return -1;
    memcpy(out, pages, (size_t)n * PAGE);
    return 0;
}

/* Append c to the chunk table being built. */
static int chunks_push(struct fb_image_chunk **chunks, size_t *nc, size_t *cap,
                       const struct fb_image_chunk *c, struct fb_error *err)
{
    if (*nc == *cap) {
        size_t n = *cap ? *cap * 2 : 64;
        struct fb_image_chunk *p = realloc(*chunks, n * sizeof(*p));
        if (!p)
            return fb_error_set(err, ENOMEM, "out of memory");
        *chunks = p;
        *cap = n;
    }
    (*chunks)[(*nc)++] = *c;
    return 0;
}

/* Check every chunk header of memory section s and the section checksum over all of it, and
 * return the chunk table. The section is streamed in blocks through one buffer (rd_at: from
 * the file, or copied from r->buf), checksummed as it goes, each chunk header taken from the
 * block holding it (or read on its own where it straddles two). Mapping the whole file instead
 * cost a restore its page faults and their teardown: 0.35-0.5 against 0.2 ms for the python
 * example's 1.9 MB. */
size_t fb_image_stream_block = 64 * 1024;

static int memory_chunks(struct fb_image_reader *r, const struct fb_image_section_info *s,
                         struct fb_image_chunk **out, size_t *nout, struct fb_error *err)
{
    const uint64_t BLOCK = fb_image_stream_block ? fb_image_stream_block : 64 * 1024;
    struct fb_image_chunk *chunks = NULL;
    uint64_t pos = s->offset, end = s->offset + s->length, next_min = 0;
    uint64_t woff = 0, wlen = 0, done = s->offset; /* window [woff, woff+wlen); read up to done */
    uint8_t *win = NULL;
    uint32_t crc = 0;
    size_t nc = 0, cap = 0;

    if (end > r->size || end < pos)
        return fb_error_set(err, EINVAL, "%s: truncated image (memory section)", r->path);
    win = malloc(BLOCK);
    if (!win)
        return fb_error_set(err, ENOMEM, "out of memory");
    for (;;) {
        uint8_t hdr[CHUNK_HDR];
        struct fb_image_chunk c;
        /* Stream (and checksum) up to the next header's end, or the section's. */
        while (done < end && (pos >= end || done < pos + CHUNK_HDR)) {
            uint64_t k = FB_MIN(BLOCK, end - done);
            if (rd_at(r, win, k, done, err) < 0)
                goto fail;
            crc = fb_crc32c(crc, win, (size_t)k);
            woff = done;
            wlen = k;
            done += k;
        }
        if (pos >= end)
            break;
        if (end - pos < CHUNK_HDR) {
            fb_error_set(err, EINVAL, "%s: corrupt image (memory chunk header cut short)",
                         r->path);
            goto fail;
        }
        if (pos >= woff && pos + CHUNK_HDR <= woff + wlen)
            memcpy(hdr, win + (pos - woff), CHUNK_HDR);
        else if (rd_at(r, hdr, CHUNK_HDR, pos, err) < 0) /* across two blocks */
            goto fail;
        if (chunk_decode(r, hdr, pos, end, next_min, &c, err) < 0 ||
            chunks_push(&chunks, &nc, &cap, &c, err) < 0)
            goto fail;
        next_min = c.first + c.n;
        pos += CHUNK_HDR + c.clen;
    }
    if (crc != s->checksum || nc != s->chunks) {
        fb_error_set(err, EINVAL, "%s: corrupt image (memory section '%s' checksum mismatch)",
                     r->path, s->name);
        goto fail;
    }
    free(win);
    *out = chunks;
    *nout = nc;
    return 0;
fail:
    free(win);
    free(chunks);
    return -1;
}

int fb_image_memory_chunks(struct fb_image_reader *r, const char *name,
                           struct fb_image_chunk **out, size_t *n, struct fb_error *err)
{
    const struct fb_image_section_info *s = fb_image_section(r, name);

    if (!s || s->kind != FB_IMAGE_SECTION_MEMORY)
        return fb_error_set(err, ENOENT, "%s: image has no '%s' memory section", r->path, name);
    return memory_chunks(r, s, out, n, err);
}

int fb_image_section_verify(int fd, const struct fb_image_section_info *s, struct fb_error *err)
{
    const uint64_t BLOCK = 64 * 1024;
    uint8_t *buf = malloc(BLOCK);
    uint64_t off = s->offset, end = s->offset + s->length;
    uint32_t crc = 0;

    if (!buf)
        return fb_error_set(err, ENOMEM, "out of memory");
    while (off < end) {
        ssize_t k = pread(fd, buf, (size_t)FB_MIN(BLOCK, end - off), (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            free(buf);
            return fb_error_set(err, k < 0 ? errno : EIO, "image: reading section '%s': %s",
                                s->name, k < 0 ? strerror(errno) : "cut short");
        }
        crc = fb_crc32c(crc, buf, (size_t)k);
        off += (uint64_t)k;
    }
    free(buf);
    if (crc != s->checksum)
        return fb_error_set(err, EINVAL, "image: corrupt image (section '%s' checksum mismatch)",
                            s->name);
    return 0;
}

int fb_image_memory_chunk_headers(struct fb_image_reader *r, const char *name,
                                  struct fb_image_chunk **out, size_t *n, struct fb_error *err)
{
    const struct fb_image_section_info *s = fb_image_section(r, name);
    struct fb_image_chunk *chunks = NULL;
    uint64_t pos, end, next_min = 0;
    size_t nc = 0, cap = 0;

    if (!s || s->kind != FB_IMAGE_SECTION_MEMORY)
        return fb_error_set(err, ENOENT, "%s: image has no '%s' memory section", r->path, name);
    pos = s->offset;
    end = s->offset + s->length;
    if (end > r->size || end < pos)
        return fb_error_set(err, EINVAL, "%s: truncated image (memory section)", r->path);
    while (pos < end) {
        uint8_t hdr[CHUNK_HDR];
        struct fb_image_chunk c;
        if (end - pos < CHUNK_HDR) {
            fb_error_set(err, EINVAL, "%s: corrupt image (memory chunk header cut short)",
                         r->path);
            goto fail;
        }
        if (rd_at(r, hdr, CHUNK_HDR, pos, err) < 0 ||
            chunk_decode(r, hdr, pos, end, next_min, &c, err) < 0 ||
            chunks_push(&chunks, &nc, &cap, &c, err) < 0)
            goto fail;
        next_min = c.first + c.n;
        pos += CHUNK_HDR + c.clen;
    }
    if (nc != s->chunks) {
        fb_error_set(err, EINVAL, "%s: corrupt image (memory section '%s' chunk count)", r->path,
                     s->name);
        goto fail;
    }
    *out = chunks;
    *n = nc;
    return 0;
fail:
    free(chunks);
    return -1;
}

int fb_image_chunk_read(int fd, const struct fb_image_chunk *c, uint32_t pages, void *comp,
                        void *out, struct fb_error *err)
{
    size_t len = (size_t)c->n * PAGE, done = 0;
    int want;

    if (c->n == 0 || c->n > FB_IMAGE_CHUNK_PAGES || c->clen == 0 || c->clen > len ||
        pages == 0 || pages > c->n)
        return fb_error_set(err, EINVAL, "corrupt image (memory chunk table)");
    want = (int)(pages * PAGE);
    while (done < c->clen) {
        ssize_t k = pread(fd, (uint8_t *)comp + done, c->clen - done,
                          (off_t)(c->pos + CHUNK_HDR + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return fb_error_set(err, k < 0 ? errno : EIO,
                                "reading the image at offset %lu: %s",
                                (unsigned long)c->pos, k < 0 ? strerror(errno) : "cut short");
        done += (size_t)k;
    }
    if (fb_crc32c(0, comp, c->clen) != c->crc)
        return fb_error_set(err, EINVAL, "corrupt image (memory chunk checksum mismatch "
                            "at offset %lu; was the file changed?)",
                            (unsigned long)c->pos);
    if (c->clen == len)
        memcpy(out, comp, (size_t)want);
    else if (LZ4_decompress_safe_partial(comp, out, (int)c->clen, want, (int)len) < want)
        return fb_error_set(err, EINVAL, "corrupt image (memory chunk at offset %lu does "
                            "not decompress)",
                            (unsigned long)c->pos);
    return 0;
}

int fb_image_read_memory_into(struct fb_image_reader *r, const char *name,
                              void *(*dst)(uint64_t first, uint32_t n, void *arg), void *arg,
                              int threads, struct fb_error *err)
{
    struct mem_job j = {.fd = r->fd, .dst = dst, .arg = arg};
    struct dst_adapter a = {dst, arg};
    struct fb_image_chunk *chunks = NULL;
    pthread_t th[MEM_THREADS_MAX - 1];
    size_t nc = 0;
    int started = 0, i;

    if (threads < 2 || r->buf || r->fd < 0)
        return fb_image_read_memory_runs(r, name, copy_to_dst, &a, err);
    /* 1. Every header checked, the section checksum over all of it, before any run is used. */
    if (fb_image_memory_chunks(r, name, &chunks, &nc, err) < 0)
        return -1;
    /* 2. The chunks, shared out as they come. */
    j.c = chunks;
    j.nc = nc;
    atomic_init(&j.next, 0);
    atomic_init(&j.failed, false);
    pthread_mutex_init(&j.lock, NULL);
    if (threads > MEM_THREADS_MAX)
        threads = MEM_THREADS_MAX;
    for (i = 0; i < threads - 1 && (size_t)(i + 1) < nc; i++)
        if (fb_thread_start_any_cpu(&th[i], mem_worker, &j) == 0)
            started++;
    mem_worker(&j);
    for (i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&j.lock);
    free(chunks);
    if (atomic_load(&j.failed)) {
        if (err && j.err.code)
            *err = j.err;
        return -1;
    }
    return 0;
}

long fb_image_ws_check(const void *ws, size_t len, uint64_t max_page)
{
    const uint8_t *p = ws;
    size_t off = 0, i;
    uint32_t last = 0;
    long total = 0;

    while (off < len) {
        uint32_t hdr[2];
        uint64_t prev = 0;
        if (len - off < sizeof(hdr))
            return -1;
        memcpy(hdr, p + off, sizeof(hdr));
        off += sizeof(hdr);
        if (hdr[0] <= last || hdr[1] > (len - off) / 8)
            return -1;
        for (i = 0; i < hdr[1]; i++) {
            uint64_t v;
            memcpy(&v, p + off + i * 8, 8);
            if ((i && v <= prev) || v >= max_page)
                return -1;
            prev = v;
        }
        last = hdr[0];
        total += hdr[1];
        off += (size_t)hdr[1] * 8;
    }
    return total;
}

struct page_adapter {
    int (*fn)(uint64_t index, const void *page, void *arg);
    void *arg;
};

static int per_page(uint64_t first, uint32_t n, const void *pages, void *arg)
{
    struct page_adapter *a = arg;
    uint32_t i;
    for (i = 0; i < n; i++)
        if (a->fn(first + i, (const uint8_t *)pages + (size_t)i * PAGE, a->arg) < 0)
            return -1;
    return 0;
}

int fb_image_read_memory(struct fb_image_reader *r, const char *name,
                         int (*fn)(uint64_t index, const void *page, void *arg), void *arg,
                         struct fb_error *err)
{
    struct page_adapter a = {fn, arg};
    return fb_image_read_memory_runs(r, name, fn ? per_page : NULL, &a, err);
}

int fb_image_check_buffer(const void *buf, size_t len, struct fb_error *err)
{
    struct fb_image_reader r;
    int i;

    memset(&r, 0, sizeof(r));
    r.fd = -1;
    r.buf = buf;
    r.size = len;
    snprintf(r.path, sizeof(r.path), "(buffer)");
    if (parse(&r, err) < 0)
        return -1;
    for (i = 0; i < r.nsec; i++) {
        if (r.sec[i].kind == FB_IMAGE_SECTION_RAW) {
            void *d;
            size_t l;
            if (fb_image_read_raw(&r, r.sec[i].name, &d, &l, err) < 0)
                return -1;
            free(d);
        } else {
            /* The headers-only walk first (a warm restore's), then the whole section. */
            struct fb_image_chunk *c = NULL;
            size_t n = 0;
            if (fb_image_memory_chunk_headers(&r, r.sec[i].name, &c, &n, err) == 0)
                free(c);
            memset(err, 0, sizeof(*err));
            if (fb_image_read_memory(&r, r.sec[i].name, NULL, NULL, err) < 0)
                return -1;
        }
    }
    return 0;
}

int fb_image_fd(const struct fb_image_reader *r)
{
    return r->fd;
}

static int verify_page(uint64_t index, const void *page, void *arg)
{
    (void)index;
    (void)page;
    (void)arg;
    return 0;
}

int fb_image_verify(struct fb_image_reader *r, struct fb_error *err)
{
    int i;
    for (i = 0; i < r->nsec; i++) {
        if (r->sec[i].kind == FB_IMAGE_SECTION_RAW) {
            void *data;
            size_t len;
            if (fb_image_read_raw(r, r->sec[i].name, &data, &len, err) < 0)
                return -1;
            free(data);
        } else if (fb_image_read_memory(r, r->sec[i].name, verify_page, NULL, err) < 0) {
            return -1;
        }
    }
    return 0;
}

/* ---- appending ----------------------------------------------------------------------------------- */

int fb_image_append_raw(int fd, const char *name, const void *data, size_t len,
                        struct fb_error *err)
{
    struct fb_image_reader *r;
    struct fb_image_writer *w;
    int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);

    if (dfd < 0)
        return fb_error_set(err, errno, "image: %s", strerror(errno));
    if (fb_image_fdopen(dfd, "image", &r, err) < 0) /* validates what is there; takes dfd */
        return -1;
    w = calloc(1, sizeof(*w));
    if (!w) {
        fb_image_close(r);
        return fb_error_set(err, ENOMEM, "out of memory");
    }
    /* The new section and table go after the old ones, and the header is written last: until
     * then the image on disk is the old one, whole (a failed append costs nothing but the
     * section; the old table stays behind as dead bytes). */
    w->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    memcpy(w->sec, r->sec, sizeof(r->sec));
    w->nsec = r->nsec;
    w->pos = r->size;
    w->keep_origin = true;
    w->created = r->created;
    w->cpu = r->cpu;
    w->minor = r->minor;
    fb_image_close(r);
    if (w->fd < 0) {
        free(w);
        return fb_error_set(err, errno, "image: %s", strerror(errno));
    }
    if (fb_image_add_raw(w, name, data, len, err) < 0) {
        fb_image_writer_abort(w);
        return -1;
    }
    return fb_image_writer_commit(w, err);
}

/* ---- re-chunking by working set ----------------------------------------------------------- */

struct rechunk_ctx {
    struct fb_image_writer *w;
    const struct fb_image_rewrite *rw;
    bool have, last_hot;
    struct fb_error *err;
    /* renumbering: (old page, new page) sorted by old; the pages by new number - 1 */
    uint64_t (*pairs)[2];
    uint8_t *pages;
    bool *stored;
};

static int emit_page(struct rechunk_ctx *c, uint64_t old, uint64_t index, const void *page)
{
    bool h = c->rw->hot && c->rw->hot(old, c->rw->arg);

    if (c->have && h != c->last_hot && fb_image_memory_break(c->w, c->err) < 0)
        return -1;
    c->have = true;
    c->last_hot = h;
    return fb_image_memory_page(c->w, index, page, c->err);
}

static int rechunk_page(uint64_t index, const void *page, void *arg)
{
    struct rechunk_ctx *c = arg;
    uint64_t key[2] = {index, 0}, (*hit)[2];

    if (!c->pairs)
        return emit_page(c, index, index, page);
    hit = bsearch(key, c->pairs, c->rw->norder, sizeof(*c->pairs), fb_cmp_u64);
    if (!hit)
        return fb_error_set(c->err, EINVAL, "image: renumbering: stored page %lu not in the order",
                            (unsigned long)index);
    memcpy(c->pages + ((*hit)[1] - 1) * PAGE, page, PAGE);
    c->stored[(*hit)[1] - 1] = true;
    return 0;
}

/* A memory section, renumbered: every stored page collected, then written in the new order. */
static int rewrite_memory(struct fb_image_reader *r, const char *name, struct rechunk_ctx *c)
{
    const struct fb_image_rewrite *rw = c->rw;
    size_t i;

    c->have = false;
    if (rw->norder) {
        c->pairs = malloc(rw->norder * sizeof(*c->pairs));
        c->pages = malloc(rw->norder * PAGE);
        c->stored = calloc(rw->norder, sizeof(*c->stored));
        if (!c->pairs || !c->pages || !c->stored)
            return fb_error_set(c->err, ENOMEM, "image: renumbering: out of memory");
        for (i = 0; i < rw->norder; i++) {
            c->pairs[i][0] = rw->order[i];
            c->pairs[i][1] = i + 1;
        }
        qsort(c->pairs, rw->norder, sizeof(*c->pairs), fb_cmp_u64);
        for (i = 1; i < rw->norder; i++)
            if (c->pairs[i][0] == c->pairs[i - 1][0])
                return fb_error_set(c->err, EINVAL, "image: renumbering: page %lu twice",
                                    (unsigned long)c->pairs[i][0]);
    }
    if (fb_image_memory_begin(c->w, name, c->err) < 0 ||
        fb_image_read_memory(r, name, rechunk_page, c, c->err) < 0)
        return -1;
    for (i = 0; rw->norder && i < rw->norder; i++)
        if (c->stored[i] && emit_page(c, rw->order[i], i + 1, c->pages + i * PAGE) < 0)
            return -1;
    return fb_image_memory_end(c->w, c->err);
}

int fb_image_rechunk(int fd, bool (*hot)(uint64_t page, void *arg), void *arg,
                     struct fb_error *err)
{
    struct fb_image_rewrite rw = {.hot = hot, .arg = arg};
    return fb_image_rewrite(fd, &rw, err);
}

int fb_image_rewrite(int fd, const struct fb_image_rewrite *rw, struct fb_error *err)
{
    struct fb_image_reader *r = NULL;
    struct fb_image_writer *w = NULL;
    uint8_t *map = MAP_FAILED;
    struct stat st;
    int mfd = -1, wfd, dfd, i, rc = -1;
    uint64_t done = 0;

    dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (dfd < 0)
        return fb_error_set(err, errno, "image: %s", strerror(errno));
    if (fb_image_fdopen(dfd, "image", &r, err) < 0) /* takes dfd */
        return -1;
    mfd = memfd_create("fnbox-rechunk", MFD_CLOEXEC);
    wfd = mfd < 0 ? -1 : fcntl(mfd, F_DUPFD_CLOEXEC, 3);
    if (wfd < 0) {
        fb_error_set(err, errno, "image: %s", strerror(errno));
        goto out;
    }
    if (fb_image_writer_fdopen(wfd, &w, err) < 0) {
        close(wfd);
        goto out;
    }
    w->keep_origin = true; /* the same image: its creation time and CPU requirements */
    w->created = r->created;
    w->cpu = r->cpu;
    w->minor = r->minor > rw->minor ? r->minor : rw->minor;
    for (i = 0; i < r->nsec; i++) {
        const struct fb_image_section_info *s = &r->sec[i];
        if (s->kind == FB_IMAGE_SECTION_MEMORY) {
            struct rechunk_ctx c = {.w = w, .rw = rw, .err = err};
            int k = rewrite_memory(r, s->name, &c);
            free(c.pairs);
            free(c.pages);
            free(c.stored);
            if (k < 0)
                goto out;
        } else {
            void *data, *repl = NULL;
            size_t len, rlen = 0;
            int k;
            if (fb_image_read_raw(r, s->name, &data, &len, err) < 0)
                goto out;
            k = rw->raw ? rw->raw(s->name, data, len, &repl, &rlen, rw->raw_arg, err) : 0;
            if (k == 0)
                k = repl ? fb_image_add_raw(w, s->name, repl, rlen, err)
                         : fb_image_add_raw(w, s->name, data, len, err);
            free(data);
            free(repl);
            if (k < 0)
                goto out;
        }
    }
    if (rw->add_name && fb_image_add_raw(w, rw->add_name, rw->add_data, rw->add_len, err) < 0)
        goto out;
    i = fb_image_writer_commit(w, err); /* frees w, closes wfd */
    w = NULL;
    if (i < 0 || fstat(mfd, &st) != 0 ||
        (map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, mfd, 0)) == MAP_FAILED) {
        if (i == 0)
            fb_error_set(err, errno, "image: %s", strerror(errno));
        goto out;
    }
    /* Everything is ready: only now is the original overwritten. */
    rc = -2;
    if (ftruncate(fd, 0) != 0) {
        fb_error_set(err, errno, "rewriting the image: %s", strerror(errno));
        goto out;
    }
    while (done < (uint64_t)st.st_size) {
        ssize_t n = pwrite(fd, map + done, (size_t)st.st_size - done, (off_t)done);
        if (n <= 0) {
            fb_error_set(err, n < 0 ? errno : EIO, "rewriting the image: %s",
                         n < 0 ? strerror(errno) : "short write");
            goto out;
        }
        done += (uint64_t)n;
    }
    if (fsync(fd) != 0) {
        fb_error_set(err, errno, "rewriting the image: %s", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (map != MAP_FAILED)
        munmap(map, (size_t)st.st_size);
    if (w)
        fb_image_writer_abort(w);
    if (mfd >= 0)
        close(mfd);
    fb_image_close(r);
    return rc;
}
