/* Command-line helpers shared by the fnbox subcommands: parsing sizes, durations, mounts and
 * environments, and reporting usage errors (exit status 2). */
#ifndef FB_API_CLI_H
#define FB_API_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "gofer/gofer.h"
#include "kernel/util/error.h"

#define FB_CLI_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define FB_CLI_MAX_ENV       512
/* Tasks a restored sandbox may have unless --pids says otherwise (AWS Lambda allows 1024
 * processes and threads per execution environment). */
#define FB_RESTORE_DEFAULT_PIDS 1024

struct fb_cli_env {
    char *vars[FB_CLI_MAX_ENV + 1];
    int n;
};

/* Print "fnbox: msg" (if any) and the usage, return 2. */
int fb_cli_usage_error(const char *usage, const char *msg);
/* "10", "4k", "256M", "2G" (binary units). */
int fb_cli_parse_size(const char *s, uint64_t *out);
int fb_cli_parse_u64(const char *s, uint64_t *out);
/* --pids N (1-100000) into *out; -1 (and *out untouched) for anything else. */
int fb_cli_parse_pids(const char *s, int *out);
#define FB_CLI_PIDS_ERROR "--pids: expected a number from 1 to 100000"
/* "250us", "10ms", "3s", "2m", plain numbers are seconds. */
int fb_cli_parse_duration_us(const char *s, uint64_t *out);
/* "SRC:DST[:ro|:rw]" with absolute DST. */
int fb_cli_parse_mount(const char *s, struct fb_gofer_mount *m, struct fb_error *err);

/* The environment a sandboxed program starts with: a sane default plus --env overrides. */
void fb_cli_env_init(struct fb_cli_env *e);
int fb_cli_env_set(struct fb_cli_env *e, const char *kv, struct fb_error *err);
char **fb_cli_env_finish(struct fb_cli_env *e);

int fb_cmd_run(int argc, char **argv);
int fb_cmd_syscalls(int argc, char **argv);
int fb_cmd_checkpoint(int argc, char **argv);
int fb_cmd_restore(int argc, char **argv);
int fb_cmd_inspect(int argc, char **argv);

/* Where templates live: $FNBOX_TEMPLATES, else ../templates next to the binary (the source
 * tree's build/fnbox), else /usr/share/fnbox/templates. Writes the path (resolved); 0, or -1
 * when none exists. */
int fb_templates_dir(char *out, size_t size);

/* Started with 0, 1 or 2 closed, the first fds opened (an image, the Gofer's socket, a
 * listening socket) would take their numbers and be taken for stdio: open /dev/null on each
 * closed one. First thing in main(). 0, or -1 if that fails. */
int fb_cli_std_fds(void);
/* mkdir -p: path's missing parents and path itself, each made 0700. 0, or -1 with err set. */
int fb_cli_mkdir_p(const char *path, struct fb_error *err);
/* An on/off switch in the environment (FNBOX_NO_...=1, for A/B measurements): set and not "0". */
bool fb_cli_env_flag(const char *name);
/* A number in the environment (decimal, from lo to hi): dflt when unset or empty; anything else
 * is warned about, naming the unit, and dflt used. */
uint64_t fb_cli_env_u64(const char *name, uint64_t lo, uint64_t hi, uint64_t dflt,
                        const char *unit);
/* A directory of this user's that group and others cannot open, made (0700) if missing and
 * create, open O_PATH with *stx its status; -1 with err if it is not one (or is missing). For
 * what is kept between runs of the command line (api/ns_cache.h, api/mem_cache.h). */
struct statx;
/* Such a directory's path: dflt, or $dir_env if absolute; NULL when $off_env is 0, off or no. */
const char *fb_cli_cache_dir(const char *off_env, const char *dir_env, const char *dflt);
int fb_cli_open_own_dir(const char *path, bool create, struct statx *stx, struct fb_error *err);
/* fb_cli_open_own_dir for a cache: -1 when path is NULL (the cache turned off) or the directory
 * cannot be used, which is logged at debug level as "WHAT: why (FALLBACK)". */
int fb_cli_open_cache_dir(const char *path, bool create, const char *what, const char *fallback,
                          struct statx *stx);

#endif
