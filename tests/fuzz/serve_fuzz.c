/* libFuzzer target for `fnbox serve` request decoding: routing, the JSON bodies of every
 * endpoint, base64, query integers and archive extraction, all fed hostile bytes. They must
 * refuse with a message, never crash, leak or read out of bounds. Built with clang
 * -fsanitize=fuzzer,address (not part of the normal build; see docs/api.md "Fuzzing"). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/serve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *cstr(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", ""};
    struct fb_error err = {0};
    struct fb_fn_config c;
    unsigned char *a = NULL;
    size_t al = 0;
    char *s;

    if (size < 1)
        return 0;
    s = cstr(data + 1, size - 1);
    switch (data[0] % 8) {
    case 0: {
        struct fb_route r;
        fb_serve_route(methods[(size > 1 ? data[1] : 0) % 7], s, &r);
        if (r.id >= FB_R_FN_GET && r.id != FB_R_IMAGES && r.id != FB_R_RESTORE &&
            r.id != FB_R_L_LIST && r.id != FB_R_L_CREATE && !fb_serve_name_valid(r.name))
            abort(); /* a routed name is always a valid name */
        break;
    }
    case 1:
    case 2:
        fb_fn_config_init(&c);
        if (fb_serve_parse_function(s, size - 1, data[0] % 8 == 2, &c, &a, &al, &err) == 0 &&
            data[0] % 8 == 1 && fb_serve_config_check(&c, &err) != 0)
            abort(); /* accepted means valid */
        free(a);
        fb_fn_config_free(&c);
        break;
    case 3:
        fb_fn_config_init(&c);
        if (fb_serve_parse_lambda_create(s, size - 1, &c, &a, &al, &err) == 0 && !a)
            abort();
        free(a);
        fb_fn_config_free(&c);
        break;
    case 4: {
        int min = 0, max = 8;
        if (fb_serve_parse_pool(s, size - 1, &min, &max, &err) == 0 &&
            (min < 0 || min > max || max > FB_SERVE_POOL_LIMIT))
            abort();
        break;
    }
    case 5: {
        size_t n, m;
        unsigned char *d = fb_base64_decode(s, size - 1, &n);
        if (d) {
            char *e = fb_base64_encode(d, n, &m);
            unsigned char *d2 = e ? fb_base64_decode(e, m, &m) : NULL;
            if (!d2 || m != n || memcmp(d, d2, n))
                abort(); /* decode(encode(x)) == x */
            free(d2);
            free(e);
            free(d);
        }
        break;
    }
    case 6: {
        uint32_t v;
        (void)fb_serve_parse_uint(s, 0, 900000, &v);
        break;
    }
    case 7: {
        char dir[64];
        snprintf(dir, sizeof(dir), "/tmp/fnbox-serve-fuzz-%d", (int)getpid());
        fb_serve_remove_tree(dir);
        (void)fb_serve_extract(data + 1, size - 1, NULL, dir, &err);
        fb_serve_remove_tree(dir);
        break;
    }
    }
    free(s);
    return 0;
}
