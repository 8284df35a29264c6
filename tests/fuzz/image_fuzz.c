/* libFuzzer target for the image reader: arbitrary bytes as an image file. The reader must
 * refuse what is not a valid image with an error, never crash, hang or read out of bounds;
 * the bytes also go through the meta-section parser. Built by `make fuzz-targets` with clang
 * -fsanitize=fuzzer,address,undefined (not part of the normal build); seeds: a valid image and
 * damaged copies made on the host that runs them (tests/fuzz/make_image_corpus.c, run by
 * scripts/fuzz.sh), and tests/fuzz/corpus/image. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/image_meta.h"
#include "snapshot/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fb_error err = {0};
    struct fb_image_meta meta;

    (void)fb_image_check_buffer(data, size, &err);
    /* The meta parser on its own: the same bytes, as a meta section would hold them. */
    memset(&err, 0, sizeof(err));
    if (fb_meta_unpack(data, size, &meta, &err) == 0)
        fb_meta_free(&meta);
    return 0;
}
