/* Unit tests of the command line's environment switches and numbers (api/cli.c): unset or
 * empty gives the default; a number in range is taken; anything else (not a number, out of
 * range, trailing junk, a sign) gives the default too. */
#include "api/cli.h"

#include <stdlib.h>

#include "fbtest.h"

static void test_env_u64(void)
{
    const char *bad[] = {"abc", "12x", "-5", "+5", " 5", "0", "3601", "99999999999999999999999"};

    unsetenv("FNBOX_TEST_N");
    FBT_CHECK_EQ(fb_cli_env_u64("FNBOX_TEST_N", 1, 3600, 60, "s"), 60);
    setenv("FNBOX_TEST_N", "", 1);
    FBT_CHECK_EQ(fb_cli_env_u64("FNBOX_TEST_N", 1, 3600, 60, "s"), 60);
    setenv("FNBOX_TEST_N", "1", 1);
    FBT_CHECK_EQ(fb_cli_env_u64("FNBOX_TEST_N", 1, 3600, 60, "s"), 1);
    setenv("FNBOX_TEST_N", "3600", 1);
    FBT_CHECK_EQ(fb_cli_env_u64("FNBOX_TEST_N", 1, 3600, 60, "s"), 3600);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("FNBOX_TEST_N", bad[i], 1);
        FBT_CHECK_EQ(fb_cli_env_u64("FNBOX_TEST_N", 1, 3600, 60, "s"), 60);
    }
    unsetenv("FNBOX_TEST_N");
}

static void test_env_flag(void)
{
    unsetenv("FNBOX_TEST_F");
    FBT_CHECK(!fb_cli_env_flag("FNBOX_TEST_F"));
    setenv("FNBOX_TEST_F", "0", 1);
    FBT_CHECK(!fb_cli_env_flag("FNBOX_TEST_F"));
    setenv("FNBOX_TEST_F", "1", 1);
    FBT_CHECK(fb_cli_env_flag("FNBOX_TEST_F"));
    unsetenv("FNBOX_TEST_F");
}

int main(void)
{
    FBT_RUN(test_env_u64);
    FBT_RUN(test_env_flag);
    FBT_EXIT();
}
