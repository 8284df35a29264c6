/* Unit tests of `fnbox serve` request decoding (serve_route.c) and of the registry helpers that
 * need no server: crash-safe writes, code copies and archive extraction (serve_util.c). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/image_meta.h"
#include "api/serve.h"
#include "api/serve_server.h"
#include "fbtest.h"

static void test_names(void)
{
    char long_name[80];
    FBT_CHECK(fb_serve_name_valid("hello"));
    FBT_CHECK(fb_serve_name_valid("a-B_9"));
    FBT_CHECK(!fb_serve_name_valid(""));
    FBT_CHECK(!fb_serve_name_valid("a b"));
    FBT_CHECK(!fb_serve_name_valid("../x"));
    FBT_CHECK(!fb_serve_name_valid("a.b"));
    FBT_CHECK(!fb_serve_name_valid("é"));
    memset(long_name, 'a', 64);
    long_name[64] = 0;
    FBT_CHECK(fb_serve_name_valid(long_name));
    long_name[64] = 'a';
    long_name[65] = 0;
    FBT_CHECK(!fb_serve_name_valid(long_name));
}

static void test_routes(void)
{
    struct fb_route r;
    fb_serve_route("GET", "/healthz", &r);
    FBT_CHECK_EQ(r.id, FB_R_HEALTHZ);
    fb_serve_route("POST", "/healthz", &r);
    FBT_CHECK_EQ(r.id, FB_R_BAD_METHOD);
    fb_serve_route("GET", "/v1/functions", &r);
    FBT_CHECK_EQ(r.id, FB_R_FN_LIST);
    fb_serve_route("POST", "/v1/functions/", &r);
    FBT_CHECK_EQ(r.id, FB_R_FN_CREATE);
    fb_serve_route("POST", "/v1/functions/hello/invoke", &r);
    FBT_CHECK_EQ(r.id, FB_R_FN_INVOKE);
    FBT_CHECK_STR(r.name, "hello");
    FBT_CHECK(!r.lambda);
    fb_serve_route("PUT", "/v1/functions/hello/pool", &r);
    FBT_CHECK_EQ(r.id, FB_R_FN_POOL_PUT);
    fb_serve_route("GET", "/v1/functions/hello/pool", &r);
    FBT_CHECK_EQ(r.id, FB_R_FN_POOL_GET);
    fb_serve_route("PUT", "/v1/functions/hello/code", &r);
    FBT_CHECK_EQ(r.id, FB_R_FN_CODE);
    fb_serve_route("DELETE", "/v1/functions/hello", &r);
    FBT_CHECK_EQ(r.id, FB_R_FN_DELETE);
    fb_serve_route("PATCH", "/v1/functions/hello", &r);
    FBT_CHECK_EQ(r.id, FB_R_BAD_METHOD);
    fb_serve_route("GET", "/v1/functions/he..llo", &r);
    FBT_CHECK_EQ(r.id, FB_R_BAD_NAME);
    fb_serve_route("GET", "/v1/functions/hello/invoke/more", &r);
    FBT_CHECK_EQ(r.id, FB_R_NOT_FOUND);
    fb_serve_route("GET", "/v2/functions", &r);
    FBT_CHECK_EQ(r.id, FB_R_NOT_FOUND);
    fb_serve_route("POST", "/v1/images?name=x", &r);
    FBT_CHECK_EQ(r.id, FB_R_IMAGES);
    fb_serve_route("POST", "/v1/restore", &r);
    FBT_CHECK_EQ(r.id, FB_R_RESTORE);
    fb_serve_route("GET", "", &r);
    FBT_CHECK_EQ(r.id, FB_R_NOT_FOUND);
    fb_serve_route("GET", "//////", &r);
    FBT_CHECK_EQ(r.id, FB_R_NOT_FOUND);
    fb_serve_route(NULL, NULL, &r);
    FBT_CHECK_EQ(r.id, FB_R_NOT_FOUND);
}

static void test_lambda_routes(void)
{
    struct fb_route r;
    fb_serve_route("POST", "/2015-03-31/functions/hello/invocations", &r);
    FBT_CHECK_EQ(r.id, FB_R_L_INVOKE);
    FBT_CHECK(r.lambda);
    FBT_CHECK_STR(r.name, "hello");
    fb_serve_route("POST", "/2015-03-31/functions/hello:$LATEST/invocations", &r);
    FBT_CHECK_EQ(r.id, FB_R_L_INVOKE);
    FBT_CHECK_STR(r.name, "hello");
    fb_serve_route("POST", "/2015-03-31/functions/hello:7/invocations", &r);
    FBT_CHECK_EQ(r.id, FB_R_BAD_NAME);
    fb_serve_route("POST",
                   "/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:fn-1/"
                   "invocations",
                   &r);
    FBT_CHECK_EQ(r.id, FB_R_L_INVOKE);
    FBT_CHECK_STR(r.name, "fn-1");
    fb_serve_route("GET", "/2015-03-31/functions/", &r);
    FBT_CHECK_EQ(r.id, FB_R_L_LIST);
    fb_serve_route("POST", "/2015-03-31/functions", &r);
    FBT_CHECK_EQ(r.id, FB_R_L_CREATE);
    fb_serve_route("GET", "/2015-03-31/functions/hello", &r);
    FBT_CHECK_EQ(r.id, FB_R_L_GET);
    fb_serve_route("DELETE", "/2015-03-31/functions/hello", &r);
    FBT_CHECK_EQ(r.id, FB_R_L_DELETE);
    fb_serve_route("GET", "/2015-03-31/layers", &r);
    FBT_CHECK_EQ(r.id, FB_R_NOT_FOUND);
    FBT_CHECK(r.lambda); /* errors on Lambda paths answer the Lambda way */
}

static void test_base64(void)
{
    size_t n;
    char *e = fb_base64_encode((const unsigned char *)"hello!?", 7, &n);
    unsigned char *d;
    FBT_CHECK_STR(e, "aGVsbG8hPw==");
    FBT_CHECK_EQ(n, 12);
    d = fb_base64_decode(e, n, &n);
    FBT_CHECK(d && n == 7 && !memcmp(d, "hello!?", 7));
    free(d);
    free(e);
    d = fb_base64_decode("aGVsbG8", 7, &n); /* padding optional */
    FBT_CHECK(d && n == 5 && !memcmp(d, "hello", 5));
    free(d);
    FBT_CHECK(fb_base64_decode("a", 1, &n) == NULL);
    FBT_CHECK(fb_base64_decode("aGV*bG8=", 8, &n) == NULL);
    FBT_CHECK(fb_base64_decode("aG Vs", 5, &n) == NULL);
    e = fb_base64_encode((const unsigned char *)"", 0, &n);
    FBT_CHECK(e && n == 0);
    free(e);
}

static int parse(const char *body, struct fb_fn_config *c, struct fb_error *err)
{
    unsigned char *a = NULL;
    size_t al = 0;
    int r;
    fb_fn_config_init(c);
    r = fb_serve_parse_function(body, strlen(body), false, c, &a, &al, err);
    free(a);
    return r;
}

static void test_parse_function(void)
{
    struct fb_fn_config c;
    struct fb_error err = {0};
    FBT_CHECK_EQ(parse("{\"name\":\"hello\",\"template\":\"python\",\"code\":\"ex/hello\","
                       "\"handler\":\"main.handler\",\"memory_mb\":256,\"timeout_ms\":500,"
                       "\"env\":{\"A\":\"1\",\"B_2\":\"x=y\"},\"pool\":{\"min\":4}}",
                       &c, &err),
                 0);
    FBT_CHECK_STR(c.name, "hello");
    FBT_CHECK_STR(c.template_, "python");
    FBT_CHECK_STR(c.code, "ex/hello");
    FBT_CHECK_EQ(c.memory_mb, 256);
    FBT_CHECK_EQ(c.timeout_ms, 500);
    FBT_CHECK_EQ(c.nenv, 2);
    FBT_CHECK(!strcmp(c.env[0], "A=1") || !strcmp(c.env[1], "A=1"));
    FBT_CHECK_EQ(c.pool_min, 4);
    FBT_CHECK_EQ(c.pool_max, FB_SERVE_DEFAULT_POOL_MAX);
    fb_fn_config_free(&c);

    FBT_CHECK_EQ(
        parse("{\"name\":\"d\",\"template\":\"shell\",\"code\":\"x\",\"handler\":\"run.sh\"}", &c,
              &err),
        0);
    FBT_CHECK_EQ(c.memory_mb, FB_SERVE_DEFAULT_MEMORY_MB);
    FBT_CHECK_EQ(c.timeout_ms, FB_SERVE_DEFAULT_TIMEOUT_MS);
    FBT_CHECK(c.train_events == NULL); /* the template's default */
    fb_fn_config_free(&c);
}

/* The training runs' events: "train_event" (any JSON value) or "train_events" (1 to 8 of
 * them), kept as one compact JSON array for `fnbox checkpoint --train-event`s; null means the
 * default; copies keep them; more than the bound in bytes or count, both fields, a null event
 * or an empty list are refused; a code update may give new ones. */
static void test_parse_train_event(void)
{
    struct fb_fn_config c, d;
    struct fb_error err = {0};
    char *big;
    size_t n = FB_TRAIN_EVENT_BYTES, i;
    static const char base[] = "{\"name\":\"t\",\"template\":\"python\",\"code\":\"x\","
                               "\"handler\":\"m.h\",";
    static const struct {
        const char *fields, *want; /* want NULL: refused */
    } cases[] = {
        {"\"train_event\": { \"walk\" : [1, 2, \"a/b\"] }}", "[{\"walk\":[1,2,\"a/b\"]}]"},
        {"\"train_event\":\"just a string\"}", "[\"just a string\"]"},
        {"\"train_events\":[{\"a\":1}, 2]}", "[{\"a\":1},2]"},
        {"\"train_event\":null,\"train_events\":null}", ""},
        {"\"train_event\":{},\"train_events\":[{}]}", NULL},
        {"\"train_events\":[]}", NULL},
        {"\"train_events\":[1,2,3,4,5,6,7,8,9]}", NULL},
        {"\"train_events\":[1,null]}", NULL},
        {"\"train_events\":{\"a\":1}}", NULL},
    };
    char body[256];

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(body, sizeof(body), "%s%s", base, cases[i].fields);
        FBT_CHECK_EQ(parse(body, &c, &err), cases[i].want ? 0 : -1);
        if (cases[i].want && cases[i].want[0])
            FBT_CHECK_STR(c.train_events ? c.train_events : "(none)", cases[i].want);
        else if (cases[i].want)
            FBT_CHECK(c.train_events == NULL);
        else
            FBT_CHECK(strstr(err.msg, "train_event") != NULL);
        if (i == 2) {
            FBT_CHECK_EQ(fb_fn_config_copy(&d, &c), 0);
            FBT_CHECK_STR(d.train_events, c.train_events);
            FBT_CHECK(d.train_events != c.train_events);
            fb_fn_config_free(&d);
        }
        fb_fn_config_free(&c);
    }
    /* {..."train_event":"xxx...x"}: the string alone is over the bound by its quotes. */
    big = malloc(n + 256);
    FBT_CHECK(big != NULL);
    if (!big)
        return;
    i = (size_t)sprintf(big, "%s\"train_event\":\"", base);
    memset(big + i, 'x', n - 1);
    strcpy(big + i + n - 1, "\"}");
    FBT_CHECK_EQ(parse(big, &c, &err), -1);
    FBT_CHECK(strstr(err.msg, "train_event") != NULL);
    fb_fn_config_free(&c);
    big[i + n - 2] = '"'; /* one x fewer: exactly at the bound with its quotes */
    big[i + n - 1] = '}';
    big[i + n] = 0;
    FBT_CHECK_EQ(parse(big, &c, &err), 0);
    FBT_CHECK_EQ(strlen(c.train_events), n + 2); /* in its brackets */
    fb_fn_config_free(&c);
    free(big);
    /* A code update may bring new ones. */
    fb_fn_config_init(&c);
    {
        static const char upd[] = "{\"code\":\"y\",\"train_event\":{\"a\":1}}";
        FBT_CHECK_EQ(fb_serve_parse_function(upd, strlen(upd), true, &c, NULL, NULL, &err), 0);
    }
    FBT_CHECK_STR(c.train_events, "[{\"a\":1}]");
    fb_fn_config_free(&c);
}

static void test_parse_function_refusals(void)
{
    static const char *const bad[] = {
        "",
        "[]",
        "\"x\"",
        "{",
        "{\"name\":\"a\"} trailing",
        "{\"name\":1,\"template\":\"python\",\"code\":\"x\",\"handler\":\"m.h\"}",
        "{\"name\":\"a b\",\"template\":\"python\",\"code\":\"x\",\"handler\":\"m.h\"}",
        "{\"name\":\"a\",\"template\":\"cobol\",\"code\":\"x\",\"handler\":\"m.h\"}",
        "{\"name\":\"a\",\"code\":\"x\",\"handler\":\"m.h\"}",
        "{\"name\":\"a\",\"template\":\"python\",\"handler\":\"m.h\"}",
        "{\"name\":\"a\",\"template\":\"python\",\"code\":\"x\"}",
        "{\"name\":\"a\",\"template\":\"python\",\"code\":\"x\",\"handler\":\"nodot\"}",
        "{\"name\":\"a\",\"template\":\"python\",\"code\":\"x\",\"handler\":\"../m.h\"}",
        "{\"name\":\"a\",\"template\":\"python\",\"code\":\"x\",\"handler\":\"/m.h\"}",
        "{\"name\":\"a\",\"template\":\"python\",\"code\":\"x\",\"handler\":\"m.h;rm\"}",
        "{\"name\":\"a\",\"template\":\"python\",\"code\":\"x\",\"handler\":\"m.h\",\"memory_mb\":"
        "1}",
        "{\"name\":\"a\",\"template\":\"python\",\"code\":\"x\",\"handler\":\"m.h\",\"memory_mb\":"
        "1e9}",
        "{\"name\":\"a\",\"template\":\"python\",\"code\":\"x\",\"handler\":\"m.h\",\"timeout_ms\":"
        "-1}",
        "{\"name\":\"a\",\"template\":\"python\",\"code\":\"x\",\"handler\":\"m.h\","
        "\"timeout_ms\":99999999999999999999}",
        "{\"name\":\"a\",\"template\":\"python\",\"code\":\"x\",\"handler\":\"m.h\",\"env\":[]}",
        "{\"name\":\"a\",\"template\":\"python\",\"code\":\"x\",\"handler\":\"m.h\",\"env\":{"
        "\"1X\":\"v\"}}",
        "{\"name\":\"a\",\"template\":\"python\",\"code\":\"x\",\"handler\":\"m.h\",\"env\":{\"X\":"
        "1}}",
        "{\"name\":\"a\",\"template\":\"python\",\"code\":\"x\",\"handler\":\"m.h\",\"env\":{\"X\":"
        "\"a\\u0000b\"}}",
        "{\"name\":\"a\",\"template\":\"python\",\"code\":\"x\\u0000y\",\"handler\":\"m.h\"}",
        "{\"name\":\"a\",\"template\":\"python\",\"code\":\"x\",\"handler\":\"m.h\",\"pool\":{"
        "\"min\":5,\"max\":2}}",
        "{\"name\":\"a\",\"template\":\"python\",\"code\":\"x\",\"handler\":\"m.h\",\"pool\":3}",
        "{\"name\":\"a\",\"template\":\"python\",\"code\":\"x\",\"handler\":\"m.h\",\"pool\":{"
        "\"max\":0}}",
        "{\"name\":\"a\",\"template\":\"python\",\"code\":\"x\",\"code_archive\":\"UEsFBg==\","
        "\"handler\":\"m.h\"}",
        "{\"name\":\"a\",\"template\":\"python\",\"code_archive\":\"not "
        "base64!\",\"handler\":\"m.h\"}",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]"
        "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    };
    size_t i;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct fb_fn_config c;
        struct fb_error err = {0};
        int r = parse(bad[i], &c, &err);
        fb_fn_config_free(&c);
        if (r != -1 || !err.msg[0]) {
            printf("FAIL %s: accepted or no message: %s\n", fbt_current, bad[i]);
            fbt_current_failed = 1;
            return;
        }
    }
}

static void test_parse_update_and_pool(void)
{
    struct fb_fn_config c;
    struct fb_error err = {0};
    int min = 1, max = 4;
    fb_fn_config_init(&c);
    FBT_CHECK_EQ(fb_serve_parse_function("{\"code\":\"v2\"}", 13, true, &c, NULL, NULL, &err), 0);
    FBT_CHECK_STR(c.code, "v2");
    fb_fn_config_free(&c);
    fb_fn_config_init(&c);
    FBT_CHECK_EQ(fb_serve_parse_function("{}", 2, true, &c, NULL, NULL, &err), -1);
    fb_fn_config_free(&c);

    FBT_CHECK_EQ(fb_serve_parse_pool("{\"min\":2}", 9, &min, &max, &err), 0);
    FBT_CHECK_EQ(min, 2);
    FBT_CHECK_EQ(max, 4);
    FBT_CHECK_EQ(fb_serve_parse_pool("{\"min\":16}", 10, &min, &max, &err), 0);
    FBT_CHECK_EQ(max, 16); /* min alone lifts max */
    FBT_CHECK_EQ(fb_serve_parse_pool("{\"min\":3,\"max\":2}", 17, &min, &max, &err), -1);
    FBT_CHECK_EQ(fb_serve_parse_pool("{\"max\":100000}", 14, &min, &max, &err), -1);
    FBT_CHECK_EQ(fb_serve_parse_pool("nope", 4, &min, &max, &err), -1);
}

static void test_parse_lambda_create(void)
{
    struct fb_fn_config c;
    struct fb_error err = {0};
    unsigned char *zip;
    size_t zl;
    const char *ok =
        "{\"FunctionName\":\"f1\",\"Runtime\":\"python3.11\",\"Handler\":\"app.h\","
        "\"Role\":\"arn:aws:iam::1:role/x\",\"Timeout\":7,\"MemorySize\":256,"
        "\"Environment\":{\"Variables\":{\"K\":\"v\"}},\"Code\":{\"ZipFile\":\"UEsFBg==\"}}";
    fb_fn_config_init(&c);
    FBT_CHECK_EQ(fb_serve_parse_lambda_create(ok, strlen(ok), &c, &zip, &zl, &err), 0);
    FBT_CHECK_STR(c.template_, "python");
    FBT_CHECK_EQ(c.timeout_ms, 7000);
    FBT_CHECK_EQ(c.memory_mb, 256);
    FBT_CHECK_EQ(c.nenv, 1);
    FBT_CHECK_STR(c.env[0], "K=v");
    FBT_CHECK_EQ(zl, 4);
    free(zip);
    fb_fn_config_free(&c);

    fb_fn_config_init(&c);
    const char *node = "{\"FunctionName\":\"f1\",\"Runtime\":\"nodejs18.x\",\"Handler\":\"a.b\","
                       "\"Code\":{\"ZipFile\":\"UEsFBg==\"}}";
    FBT_CHECK_EQ(fb_serve_parse_lambda_create(node, strlen(node), &c, &zip, &zl, &err), -1);
    fb_fn_config_free(&c);
    fb_fn_config_init(&c);
    const char *s3 = "{\"FunctionName\":\"f1\",\"Runtime\":\"python3.9\",\"Handler\":\"a.b\","
                     "\"Code\":{\"S3Bucket\":\"b\"}}";
    FBT_CHECK_EQ(fb_serve_parse_lambda_create(s3, strlen(s3), &c, &zip, &zl, &err), -1);
    FBT_CHECK(zip == NULL);
    fb_fn_config_free(&c);
}

static void test_parse_uint(void)
{
    uint32_t v = 0;
    FBT_CHECK_EQ(fb_serve_parse_uint("250", 1, 1000, &v), 0);
    FBT_CHECK_EQ(v, 250);
    FBT_CHECK_EQ(fb_serve_parse_uint("0", 1, 1000, &v), -1);
    FBT_CHECK_EQ(fb_serve_parse_uint("1001", 1, 1000, &v), -1);
    FBT_CHECK_EQ(fb_serve_parse_uint("-1", 0, 1000, &v), -1);
    FBT_CHECK_EQ(fb_serve_parse_uint("12a", 0, 1000, &v), -1);
    FBT_CHECK_EQ(fb_serve_parse_uint("99999999999999", 0, 0xffffffffu, &v), -1);
    FBT_CHECK_EQ(fb_serve_parse_uint("", 0, 1000, &v), -1);
}

/* ---- files ----------------------------------------------------------------------------------- */

static char tmpdir[64];

static void test_write_atomic(void)
{
    char path[128], buf[160];
    struct fb_error err = {0};
    int fd;
    ssize_t n;
    snprintf(path, sizeof(path), "%s/registry.json", tmpdir);
    FBT_CHECK_EQ(fb_serve_write_atomic(path, "first", 5, &err), 0);
    FBT_CHECK_EQ(fb_serve_write_atomic(path, "second", 6, &err), 0);
    fd = open(path, O_RDONLY);
    FBT_CHECK(fd >= 0);
    n = read(fd, buf, sizeof(buf));
    close(fd);
    FBT_CHECK(n == 6 && !memcmp(buf, "second", 6));
    snprintf(buf, sizeof(buf), "%s.tmp", path);
    FBT_CHECK(access(buf, F_OK) != 0); /* no temporary left behind */
    FBT_CHECK_EQ(fb_serve_write_atomic("/nonexistent-dir/x", "a", 1, &err), -1);
    FBT_CHECK(err.msg[0]);
}

static void test_copy_tree(void)
{
    char src[128], dst[128], p[256];
    struct fb_error err = {0};
    struct stat st;
    snprintf(src, sizeof(src), "%s/src", tmpdir);
    snprintf(dst, sizeof(dst), "%s/dst", tmpdir);
    mkdir(src, 0755);
    snprintf(p, sizeof(p), "%s/sub", src);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/sub/main.py", src);
    FBT_CHECK_EQ(fb_serve_write_atomic(p, "x = 1\n", 6, &err), 0);
    FBT_CHECK_EQ(fb_serve_copy_tree(src, dst, &err), 0);
    snprintf(p, sizeof(p), "%s/sub/main.py", dst);
    FBT_CHECK(stat(p, &st) == 0 && st.st_size == 6);
    /* a symlink is refused, not followed */
    snprintf(p, sizeof(p), "%s/sub/leak", src);
    FBT_CHECK_EQ(symlink("/etc/passwd", p), 0);
    fb_serve_remove_tree(dst);
    FBT_CHECK(access(dst, F_OK) != 0);
    FBT_CHECK_EQ(fb_serve_copy_tree(src, dst, &err), -1);
    FBT_CHECK(strstr(err.msg, "symbolic link") != NULL);
    fb_serve_remove_tree(dst);
}

/* Build an archive in memory with the given members (type 'f' file, 'd' dir, 'l' symlink). */
static size_t make_archive(bool zip, const char *const *names, const char *types, char *buf,
                           size_t size)
{
    struct archive *a = archive_write_new();
    size_t used = 0;
    int i;
    if (zip)
        archive_write_set_format_zip(a);
    else
        archive_write_set_format_pax_restricted(a);
    archive_write_open_memory(a, buf, size, &used);
    for (i = 0; names[i]; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, names[i]);
        if (types[i] == 'd') {
            archive_entry_set_filetype(e, AE_IFDIR);
            archive_entry_set_perm(e, 0755);
        } else if (types[i] == 'l') {
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_symlink(e, "/etc/shadow");
        } else {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_perm(e, 04755); /* setuid must not survive */
            archive_entry_set_size(e, 3);
        }
        archive_write_header(a, e);
        if (types[i] == 'f')
            archive_write_data(a, "hi\n", 3);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    return used;
}

static void test_extract(void)
{
    static char buf[1 << 16];
    static const char *const good[] = {"app", "app/main.py", "./top.py", NULL};
    static const char *const dotdot[] = {"a/../../evil.py", NULL};
    static const char *const abs_[] = {"/tmp/evil.py", NULL};
    static const char *const link[] = {"app.py", NULL};
    char dst[128], p[256];
    struct fb_error err = {0};
    struct stat st;
    size_t n;

    snprintf(dst, sizeof(dst), "%s/x1", tmpdir);
    n = make_archive(true, good, "dff", buf, sizeof(buf));
    FBT_CHECK_EQ(fb_serve_extract(buf, n, NULL, dst, &err), 0);
    snprintf(p, sizeof(p), "%s/app/main.py", dst);
    FBT_CHECK(stat(p, &st) == 0 && st.st_size == 3);
    FBT_CHECK((st.st_mode & 07000) == 0);
    n = make_archive(false, good, "dff", buf, sizeof(buf));
    snprintf(dst, sizeof(dst), "%s/x2", tmpdir);
    FBT_CHECK_EQ(fb_serve_extract(buf, n, NULL, dst, &err), 0);

    n = make_archive(true, dotdot, "f", buf, sizeof(buf));
    snprintf(dst, sizeof(dst), "%s/x3", tmpdir);
    FBT_CHECK_EQ(fb_serve_extract(buf, n, NULL, dst, &err), -1);
    snprintf(p, sizeof(p), "%s/evil.py", tmpdir);
    FBT_CHECK(access(p, F_OK) != 0);
    n = make_archive(false, abs_, "f", buf, sizeof(buf));
    snprintf(dst, sizeof(dst), "%s/x4", tmpdir);
    FBT_CHECK_EQ(fb_serve_extract(buf, n, NULL, dst, &err), -1);
    n = make_archive(false, link, "l", buf, sizeof(buf));
    snprintf(dst, sizeof(dst), "%s/x5", tmpdir);
    FBT_CHECK_EQ(fb_serve_extract(buf, n, NULL, dst, &err), -1);
    FBT_CHECK(strstr(err.msg, "link") != NULL);
    snprintf(dst, sizeof(dst), "%s/x6", tmpdir);
    FBT_CHECK_EQ(fb_serve_extract("garbage!", 8, NULL, dst, &err), -1);
}

static void test_exec_capture(void)
{
    char *argv[] = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL};
    char *sleeper[] = {"/bin/sleep", "5", NULL};
    char *out, *errout;
    struct fb_error err = {0};
    int st = fb_serve_exec(argv, 5000, &out, &errout, &err);
    FBT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3);
    FBT_CHECK_STR(out, "out\n");
    FBT_CHECK_STR(errout, "err\n");
    free(out);
    free(errout);
    st = fb_serve_exec(sleeper, 200, &out, &errout, &err);
    FBT_CHECK_EQ(st, -1);
    FBT_CHECK_EQ(err.code, ETIMEDOUT);
    free(out);
    free(errout);
}

/* Pool placement: refills go to the least loaded CPU (refills, invocations, teardowns), ties to
 * the one with fewer idle sandboxes; an invocation takes the newest idle sandbox on the least
 * loaded CPU, the newest of all when every CPU is as loaded. */
static void test_pool_placement(void)
{
    struct fb_server s = {.ncpus = 2, .cpus = {0, 1}};
    struct fb_function fn = {0};
    struct fb_sb idle[3] = {{.cpu = 1}, {.cpu = 0}, {.cpu = 1}}, refill = {.cpu = 1},
                 busy = {.cpu = 0}, *got;

    s.fns = &fn;
    fn.idle = &idle[0]; /* newest first */
    idle[0].next = &idle[1];
    idle[1].next = &idle[2];
    fn.n_idle = 3;
    /* Nothing under way: the CPU with fewer idle sandboxes gets the refill. */
    FBT_CHECK_EQ(fb_pool_refill_cpu(&s), 0);
    /* A refill on CPU 1: the invocation takes CPU 0's sandbox, not the newest. */
    s.starting = &refill;
    got = fb_pool_take_idle(&s, &fn);
    FBT_CHECK(got == &idle[1]);
    FBT_CHECK_EQ(fn.n_idle, 2);
    FBT_CHECK(fn.idle == &idle[0] && idle[0].next == &idle[2] && !idle[2].next);
    /* It runs on CPU 0 (busy) and CPU 1 refills: as loaded; CPU 0 has fewer idle (none). */
    fn.busy = &busy;
    FBT_CHECK_EQ(fb_pool_refill_cpu(&s), 0);
    /* Both CPUs loaded once: the newest idle sandbox. */
    got = fb_pool_take_idle(&s, &fn);
    FBT_CHECK(got == &idle[0]);
    /* A second refill on CPU 1: CPU 0 is the less loaded. */
    refill.next = &idle[0];
    idle[0].cpu = 1;
    FBT_CHECK_EQ(fb_pool_refill_cpu(&s), 0);
    /* One CPU: no placement. */
    s.ncpus = 0;
    FBT_CHECK_EQ(fb_pool_refill_cpu(&s), -1);
    got = fb_pool_take_idle(&s, &fn);
    FBT_CHECK(got == &idle[2] && fn.n_idle == 0 && !fn.idle);
    FBT_CHECK(fb_pool_take_idle(&s, &fn) == NULL);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/fnbox-serve-unit-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        printf("FAIL serve_test: mkdtemp\n");
        return 1;
    }
    FBT_RUN(test_names);
    FBT_RUN(test_routes);
    FBT_RUN(test_lambda_routes);
    FBT_RUN(test_base64);
    FBT_RUN(test_parse_function);
    FBT_RUN(test_parse_train_event);
    FBT_RUN(test_parse_function_refusals);
    FBT_RUN(test_parse_update_and_pool);
    FBT_RUN(test_parse_lambda_create);
    FBT_RUN(test_parse_uint);
    FBT_RUN(test_write_atomic);
    FBT_RUN(test_copy_tree);
    FBT_RUN(test_extract);
    FBT_RUN(test_exec_capture);
    FBT_RUN(test_pool_placement);
    fb_serve_remove_tree(tmpdir);
    FBT_EXIT();
}
