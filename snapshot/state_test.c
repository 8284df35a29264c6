/* Unit tests for the state serialization helpers: round trip, and sticky errors on truncated,
 * mistyped or hostile input. */
#include "fbtest.h"
#include "snapshot/state.h"

static void pack_sample(struct fb_sw *w)
{
    fb_sw_array(w, 5);
    fb_sw_u64(w, 42);
    fb_sw_i64(w, -7);
    fb_sw_str(w, "hello");
    fb_sw_array(w, 2);
    fb_sw_bool(w, true);
    fb_sw_bin(w, "\x01\x02\x03", 3);
    fb_sw_nil(w);
}

static void test_round_trip(void)
{
    struct fb_sw w;
    struct fb_sr_doc d;
    struct fb_sr r, sub;
    bool err = false;
    char s[16];
    uint8_t b[3];

    fb_sw_init(&w);
    pack_sample(&w);
    FBT_CHECK_EQ(fb_sr_parse(&d, w.buf.data, w.buf.size), 0);
    fb_sr_open(&r, &d.up.data, &err);
    FBT_CHECK_EQ(fb_sr_u64(&r), 42);
    FBT_CHECK_EQ(fb_sr_i64(&r), -7);
    FBT_CHECK(fb_sr_str(&r, s, sizeof(s)));
    FBT_CHECK_STR(s, "hello");
    fb_sr_sub(&r, &sub);
    FBT_CHECK(fb_sr_bool(&sub));
    fb_sr_bin(&sub, b, 3, NULL);
    FBT_CHECK(!fb_sr_str(&r, s, sizeof(s))); /* nil */
    FBT_CHECK(!err);
    FBT_CHECK_EQ(b[2], 3);
    fb_sr_u64(&r); /* past the end */
    FBT_CHECK(err);
    fb_sr_doc_free(&d);
    fb_sw_free(&w);
}

static void test_type_mismatch_and_truncation(void)
{
    struct fb_sw w;
    struct fb_sr_doc d;
    struct fb_sr r;
    bool err = false;
    char s[4];
    size_t cut;

    fb_sw_init(&w);
    pack_sample(&w);
    FBT_CHECK_EQ(fb_sr_parse(&d, w.buf.data, w.buf.size), 0);
    fb_sr_open(&r, &d.up.data, &err);
    fb_sr_str(&r, s, sizeof(s)); /* an integer is not a string */
    FBT_CHECK(err);
    fb_sr_doc_free(&d);
    err = false;
    FBT_CHECK_EQ(fb_sr_parse(&d, w.buf.data, w.buf.size), 0);
    fb_sr_open(&r, &d.up.data, &err);
    fb_sr_u64(&r);
    fb_sr_i64(&r);
    fb_sr_str(&r, s, sizeof(s)); /* "hello" does not fit 4 bytes */
    FBT_CHECK(err);
    fb_sr_doc_free(&d);
    for (cut = 0; cut < w.buf.size; cut++) {
        FBT_CHECK_EQ(fb_sr_parse(&d, w.buf.data, cut), -1);
        fb_sr_doc_free(&d);
    }
    fb_sw_free(&w);
}

int main(void)
{
    FBT_RUN(test_round_trip);
    FBT_RUN(test_type_mismatch_and_truncation);
    FBT_EXIT();
}
