/* The "meta" section of an image: how the sandbox was made (template, handler, program, the
 * gofer's view) and a fingerprint of the function's code, so that restore rebuilds the same view
 * and refuses stale code. Stored as a msgpack map; unknown keys are ignored (minor versions may
 * add some). */
#ifndef FB_API_IMAGE_META_H
#define FB_API_IMAGE_META_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "gofer/gofer.h"
#include "kernel/util/error.h"
#include "snapshot/image.h"

/* The training runs of `fnbox checkpoint` (--train-event, repeated) and of the server's
 * "train_event"/"train_events", which it passes on: at most this many events, this many bytes
 * together. */
#define FB_TRAIN_EVENTS_MAX  8
#define FB_TRAIN_EVENT_BYTES (64 << 10)

struct fb_meta_file {
    char *rel;        /* path under the code directory */
    uint64_t size;
    int64_t mtime_ns;
};

struct fb_image_meta {
    uint64_t created;
    const char *template_name, *handler, *function_name, *code, *root, *cwd;
    struct fb_gofer_mount *mounts;
    size_t nmounts;
    char **argv, **envp;
    uint64_t memory_limit;
    struct fb_meta_file *files;
    size_t nfiles;
    /* The events of the training runs (NULL-terminated), or NULL for none: what the image's
     * working set was recorded on, if it has one. */
    char **train_events;
    /* unpack: owned copies of everything above */
    bool owned;
};

/* Record every regular file under dir (relative path, size, mtime). */
int fb_meta_fingerprint(const char *dir, struct fb_image_meta *m, struct fb_error *err);
/* Compare the code directory with the recorded fingerprint; error names the first change. */
int fb_meta_check_fingerprint(const struct fb_image_meta *m, struct fb_error *err);
void fb_meta_free_fingerprint(struct fb_image_meta *m);

void fb_meta_pack(const struct fb_image_meta *m, msgpack_sbuffer *out);
int fb_meta_unpack(const void *buf, size_t len, struct fb_image_meta *m, struct fb_error *err);
void fb_meta_free(struct fb_image_meta *m);

/* `fnbox inspect` output (text or JSON). */
void fb_meta_print(FILE *f, struct fb_image_reader *img, const struct fb_image_meta *m,
                   const char *stale, bool json);
void fb_meta_json_string(FILE *f, const char *s);
const char *fb_meta_human_size(uint64_t bytes, char *buf, size_t size);
/* fsync the directory holding path (makes a rename durable). */
void fb_fsync_parent_dir(const char *path);

#endif
