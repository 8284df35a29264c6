/* Minimal unit-test harness: each case prints "PASS <name>" or "FAIL <name>: why"; the test runner
 * (scripts/run-tests.sh) counts those lines across every test program. */
#ifndef FB_TESTS_FBTEST_H
#define FB_TESTS_FBTEST_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fbt_failed_cases, fbt_current_failed;
static const char *fbt_current;

#define FBT_CHECK(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("FAIL %s: %s:%d: check failed: %s\n", fbt_current, __FILE__, __LINE__, #cond);  \
            fbt_current_failed = 1;                                                                \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define FBT_CHECK_EQ(a, b)                                                                         \
    do {                                                                                           \
        long long _a = (long long)(a), _b = (long long)(b);                                        \
        if (_a != _b) {                                                                            \
            printf("FAIL %s: %s:%d: %s == %lld, expected %s == %lld\n", fbt_current, __FILE__,     \
                   __LINE__, #a, _a, #b, _b);                                                      \
            fbt_current_failed = 1;                                                                \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define FBT_CHECK_STR(a, b)                                                                        \
    do {                                                                                           \
        const char *_a = (a), *_b = (b);                                                           \
        if (!_a || !_b || strcmp(_a, _b) != 0) {                                                   \
            printf("FAIL %s: %s:%d: %s == \"%s\", expected \"%s\"\n", fbt_current, __FILE__,       \
                   __LINE__, #a, _a ? _a : "(null)", _b ? _b : "(null)");                          \
            fbt_current_failed = 1;                                                                \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Run one case: FBT_RUN(test_alloc_basic); the function takes no arguments and returns void. */
#define FBT_RUN(fn)                                                                                \
    do {                                                                                           \
        fbt_current = #fn;                                                                         \
        fbt_current_failed = 0;                                                                    \
        fn();                                                                                      \
        if (fbt_current_failed)                                                                    \
            fbt_failed_cases++;                                                                    \
        else                                                                                       \
            printf("PASS %s\n", #fn);                                                              \
        fflush(stdout);                                                                            \
    } while (0)

#define FBT_SKIP(fn, why)                                                                          \
    do {                                                                                           \
        printf("SKIP %s: %s\n", #fn, why);                                                         \
    } while (0)

#define FBT_EXIT() return fbt_failed_cases ? 1 : 0

/* How many entries (besides . and ..) directory path holds, or -1 if it cannot be read. */
static inline int fbt_dir_entries(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

#endif
