/* libFuzzer target for the image reader: arbitrary bytes as an image file. The reader must
 * refuse what is not a valid image with an error, never crash, hang or read out of bounds;
 * a valid meta section then goes through the meta parser. Built by scripts/fuzz.sh with clang
 * -fsanitize=fuzzer,address (not part of the normal build). */
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

    if (fb_image_check_buffer(data, size, &err) == 0) {
        /* The meta parser on its own: the same bytes, as a meta section would hold them. */
        (void)0;
    }
    memset(&err, 0, sizeof(err));
    if (fb_meta_unpack(data, size, &meta, &err) == 0)
        fb_meta_free(&meta);
    return 0;
}
