/* Writes the seed corpus of the image fuzz target (tests/fuzz/image_fuzz.c) to
 * tests/fuzz/corpus/image/: a small valid image (meta, kernel and memory sections with zero,
 * patterned and random pages), the same cut short, and a bare meta section. The files are
 * committed; re-run only when the format changes:
 *   cc -D_GNU_SOURCE -I. -o /tmp/mic tests/fuzz/make_image_corpus.c build/libfnbox.a -llz4 \
 *      -lmsgpackc -lseccomp -lcap -lpthread && /tmp/mic tests/fuzz/corpus/image */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/image_meta.h"
#include "snapshot/image.h"

static void die(const char *what, const struct fb_error *err)
{
    fprintf(stderr, "make_image_corpus: %s: %s\n", what, err ? err->msg : "");
    exit(1);
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
    uint8_t page[4096];
    char path[512], cmd[1200];
    int fd, i;
    const uint8_t kernel[] = {0x93, 0xac, 'f', 'n', 'b', 'o', 'x', '-', 'k', 'e', 'r', 'n', 'e', 'l',
                              0x01, 0x90};

    if (argc != 2)
        return 2;
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

    snprintf(path, sizeof(path), "%s/meta.msgpack", argv[1]);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, mb.data, mb.size) != (ssize_t)mb.size)
        die("meta", NULL);
    close(fd);

    snprintf(path, sizeof(path), "%s/small.img", argv[1]);
    if (fb_image_writer_open(path, &w, &err) < 0 ||
        fb_image_add_raw(w, "meta", mb.data, mb.size, &err) < 0 ||
        fb_image_add_raw(w, "kernel", kernel, sizeof(kernel), &err) < 0 ||
        fb_image_memory_begin(w, "memory", &err) < 0)
        die("image", &err);
    for (i = 1; i <= 5; i++) {
        if (i == 2)
            memset(page, 0, sizeof(page)); /* skipped */
        else if (i == 3)
            for (size_t k = 0; k < sizeof(page); k++)
                page[k] = (uint8_t)(k * 2654435761u >> 13); /* incompressible-ish */
        else
            memset(page, 'a' + i, sizeof(page));
        if (fb_image_memory_page(w, (uint64_t)i, page, &err) < 0)
            die("page", &err);
    }
    if (fb_image_memory_end(w, &err) < 0 || fb_image_add_raw(w, "pagerefs", "", 0, &err) < 0 ||
        fb_image_writer_commit(w, &err) < 0)
        die("commit", &err);
    snprintf(cmd, sizeof(cmd), "head -c 1500 %s/small.img > %s/truncated.img", argv[1], argv[1]);
    if (system(cmd) != 0)
        die("truncate", NULL);
    msgpack_sbuffer_destroy(&mb);
    return 0;
}
