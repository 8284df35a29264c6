/* The fnbox image file: a checkpointed sandbox (kernel state + memory) on disk. Layout and
 * compatibility rules are documented in docs/image-format.md. Reading treats the file as
 * hostile: every offset, length and count is checked, every section and chunk checksummed. */
#ifndef FB_SNAPSHOT_IMAGE_H
#define FB_SNAPSHOT_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/util/error.h"

#define FB_IMAGE_MAGIC         "FNBOXIMG"
#define FB_IMAGE_VERSION_MAJOR 1 /* readers refuse any other major */
#define FB_IMAGE_VERSION_MINOR 1 /* readers accept any minor <= their own */
/* Written unless a feature needs more: 1 for images whose pages were renumbered (section
 * "pagemap": a reader of 1.0 would load the kernel state's page numbers into the new
 * numbering, so it must refuse them). */
#define FB_IMAGE_MINOR_BASE 0
#define FB_IMAGE_MAX_SECTIONS  64
#define FB_IMAGE_NAME_LEN      16
#define FB_IMAGE_CHUNK_PAGES   64 /* pages per memory chunk at most (256 KiB before compression) */
/* What the writer puts in one: smaller chunks cost a little compression but let a lazy restore
 * decompress less around the pages it wants. */
#define FB_IMAGE_WRITE_CHUNK_PAGES 16

enum fb_image_section_kind {
    FB_IMAGE_SECTION_RAW = 1,    /* bytes as written (metadata, kernel state) */
    FB_IMAGE_SECTION_MEMORY = 2, /* lz4 chunks of pages, zero pages skipped */
};

struct fb_image_section_info {
    char name[FB_IMAGE_NAME_LEN + 1];
    uint32_t kind;
    uint64_t offset, length; /* bytes in the file */
    uint64_t raw_length;     /* RAW: same as length; MEMORY: pages stored x page size */
    uint32_t checksum;       /* crc32c of the section bytes */
    uint32_t chunks;         /* MEMORY: number of chunks */
};

/* CPU features an image needs from the host it is restored on (XSAVE layout and enabled
 * state components, and the instruction-set bits the saved processes may have chosen). */
struct fb_image_cpu {
    uint64_t xcr0;
    uint32_t xsave_size;
    uint32_t cpuid1_ecx, cpuid1_edx, cpuid7_ebx, cpuid7_ecx;
};

void fb_image_cpu_current(struct fb_image_cpu *c);

/* ---- writing ---------------------------------------------------------------------------------- */

struct fb_image_writer;

/* Start writing to a temporary file next to path; nothing appears at path until commit. */
int fb_image_writer_open(const char *path, struct fb_image_writer **w, struct fb_error *err);
/* Write to fd (a file the caller created and will fsync+rename into place; the Sentry cannot
 * open paths). Commit fsyncs and closes fd. */
int fb_image_writer_fdopen(int fd, struct fb_image_writer **w, struct fb_error *err);
int fb_image_add_raw(struct fb_image_writer *w, const char *name, const void *data, size_t len,
                     struct fb_error *err);
/* Memory section: pages are given in increasing page index order; zero pages are skipped. */
int fb_image_memory_begin(struct fb_image_writer *w, const char *name, struct fb_error *err);
int fb_image_memory_page(struct fb_image_writer *w, uint64_t index, const void *page,
                         struct fb_error *err);
/* End the current chunk here: the next page starts a new one (a restore can then take the
 * pages on one side of the break without decompressing the other). */
int fb_image_memory_break(struct fb_image_writer *w, struct fb_error *err);
int fb_image_memory_end(struct fb_image_writer *w, struct fb_error *err);
/* Add a RAW section to the complete image open (read-write) on fd, in place: the section and a
 * new table go after the old end, then the header (written last, fsynced, with the image's own
 * creation time and CPU requirements). Until then the file is the old image, whole. For a file
 * not yet renamed into place (`fnbox checkpoint` adds the working set this way). fd stays open. */
int fb_image_append_raw(int fd, const char *name, const void *data, size_t len,
                        struct fb_error *err);
/* Rewrite the complete image open (read-write) on fd, in place, with every memory section's
 * chunks split where hot(page) changes: a restore that wants the hot pages then decompresses
 * them alone, straight into place (`fnbox checkpoint` does this after its training run, with
 * the pages the invocation touched). Creation time and CPU requirements are kept. Returns 0;
 * -1 with the file untouched; -2 if writing the new content failed half-way (the file is then
 * damaged: for a file not yet renamed into place). */
int fb_image_rechunk(int fd, bool (*hot)(uint64_t page, void *arg), void *arg,
                     struct fb_error *err);
/* The general form: how fb_image_rewrite changes the image. */
struct fb_image_rewrite {
    /* Memory sections: chunks split where hot(page) changes (page: the old number). */
    bool (*hot)(uint64_t page, void *arg);
    void *arg;
    /* Memory sections renumbered: old page order[i] becomes page i + 1 (every stored page must
     * be in it); norder 0 keeps the numbers. */
    const uint64_t *order;
    size_t norder;
    /* Raw sections: *out (malloc'd) replaces a section's content, NULL keeps it. */
    int (*raw)(const char *name, const void *in, size_t len, void **out, size_t *outlen,
               void *arg, struct fb_error *err);
    void *raw_arg;
    /* One raw section added at the end (NULL: none). */
    const char *add_name;
    const void *add_data;
    size_t add_len;
    /* The minor version the rewritten image needs at least (0: the image's own). */
    uint32_t minor;
};
/* Same contract as fb_image_rechunk. */
int fb_image_rewrite(int fd, const struct fb_image_rewrite *rw, struct fb_error *err);
/* Write the header and section table, fsync, rename into place. Frees w either way. */
int fb_image_writer_commit(struct fb_image_writer *w, struct fb_error *err);
void fb_image_writer_abort(struct fb_image_writer *w);

/* ---- reading ------------------------------------------------------------------------------------ */

struct fb_image_reader;

/* Open and validate the header and section table (magic, version, architecture, CPU features,
 * header checksum, section bounds). Section contents are checked when read. */
int fb_image_open(const char *path, struct fb_image_reader **r, struct fb_error *err);
/* The same over an open fd (taken over; closed by fb_image_close); name is for messages. */
int fb_image_fdopen(int fd, const char *name, struct fb_image_reader **r, struct fb_error *err);
void fb_image_close(struct fb_image_reader *r);
int fb_image_nsections(const struct fb_image_reader *r);
const struct fb_image_section_info *fb_image_section_at(const struct fb_image_reader *r, int i);
const struct fb_image_section_info *fb_image_section(const struct fb_image_reader *r,
                                                     const char *name);
void fb_image_version(const struct fb_image_reader *r, uint32_t *major, uint32_t *minor);
uint64_t fb_image_created(const struct fb_image_reader *r); /* unix seconds */
const struct fb_image_cpu *fb_image_cpu(const struct fb_image_reader *r);
/* A RAW section's bytes (checksum verified), malloc'd; caller frees. */
int fb_image_read_raw(struct fb_image_reader *r, const char *name, void **data, size_t *len,
                      struct fb_error *err);
/* Every stored page of a MEMORY section, in order: fn(index, page, arg) returns 0 or -1 to
 * stop (err is then the caller's). Chunk checksums and sizes are verified. */
int fb_image_read_memory(struct fb_image_reader *r, const char *name,
                         int (*fn)(uint64_t index, const void *page, void *arg), void *arg,
                         struct fb_error *err);

/* The file descriptor of a file-backed reader. */
int fb_image_fd(const struct fb_image_reader *r);
/* Read every section, checking checksums and memory chunks (`fnbox inspect --verify`). */
int fb_image_verify(struct fb_image_reader *r, struct fb_error *err);

/* The same, a run of consecutive pages at a time (n <= FB_IMAGE_CHUNK_PAGES). */
int fb_image_read_memory_runs(struct fb_image_reader *r, const char *name,
                              int (*fn)(uint64_t first, uint32_t n, const void *pages, void *arg),
                              void *arg, struct fb_error *err);

/* One chunk of a memory section: where it is in the file, its first page and page count, its
 * stored (compressed) length and checksum. */
struct fb_image_chunk {
    uint64_t pos, first;
    uint32_t n, clen, crc;
};

/* Check a memory section (every chunk header, the section checksum over all of it) without
 * decompressing it, and return its chunk table (malloc'd, *n entries, pages increasing). A
 * reader of a file streams the section through a buffer of fb_image_stream_block bytes (64
 * KiB; tests make it small so that headers straddle blocks). */
extern size_t fb_image_stream_block;
int fb_image_memory_chunks(struct fb_image_reader *r, const char *name,
                           struct fb_image_chunk **out, size_t *n, struct fb_error *err);
/* The same table from the chunk headers alone (each checked, their count against the section
 * header's), without reading the pages or the section checksum: for an image its caller has
 * checked whole already (a warm pool's, whose server read every chunk to make its hot pages'
 * file). Each chunk's own checksum is still checked when it is read. */
int fb_image_memory_chunk_headers(struct fb_image_reader *r, const char *name,
                                  struct fb_image_chunk **out, size_t *n, struct fb_error *err);
/* Check section s (as fb_image_section gave it) of the image open on fd against its checksum,
 * reading it through a 64 KiB buffer: what fb_image_memory_chunks checks beyond the headers,
 * for a caller that does it later or on another thread. */
int fb_image_section_verify(int fd, const struct fb_image_section_info *s, struct fb_error *err);
/* Read chunk c from the image file open on fd into comp (scratch space of
 * FB_IMAGE_CHUNK_PAGES pages), check it against the chunk's own checksum (the file may have
 * changed since the table was made: an error, never wrong bytes) and decompress its first
 * `pages` pages into out. Thread-safe. */
int fb_image_chunk_read(int fd, const struct fb_image_chunk *c, uint32_t pages, void *comp,
                        void *out, struct fb_error *err);

/* Decompress every run of a memory section straight to where dst(first, n, arg) says (n pages
 * of writable memory; NULL stops the read, dst having said why in its own error), with
 * `threads` threads at once (dst must be thread-safe; runs arrive in no particular order).
 * Every chunk header and the section checksum are checked before the first call to dst, so a
 * corrupt image makes no call at all; a chunk that fails to decompress may leave its
 * destination partly written. */
int fb_image_read_memory_into(struct fb_image_reader *r, const char *name,
                              void *(*dst)(uint64_t first, uint32_t n, void *arg), void *arg,
                              int threads, struct fb_error *err);

/* The "workingset" section: for each address space (1-based index, increasing), a u32 index,
 * a u32 count, then that many u64 page numbers, increasing, each below max_page. Returns the
 * total number of pages, or -1 if the section is malformed. */
long fb_image_ws_check(const void *ws, size_t len, uint64_t max_page);

/* Validate a whole image in memory (the fuzz target): every section, and each memory section
 * both by its chunk headers alone (a warm restore's walk) and whole. */
int fb_image_check_buffer(const void *buf, size_t len, struct fb_error *err);

uint32_t fb_crc32c(uint32_t crc, const void *data, size_t len);
/* The same by table, a byte at a time, on any CPU (for tests of the fast one). */
uint32_t fb_crc32c_sw(uint32_t crc, const void *data, size_t len);

#endif
