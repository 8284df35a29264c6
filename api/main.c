/* fnbox: the command-line entry point. One file per command (cmd_*.c); this one dispatches. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>

#include "api/cli.h"
#include "api/serve.h"
#include "api/confine.h"
#include "kernel/syscalls/syscall.h"

#define FNBOX_VERSION "0.1.0"

static const char usage[] =
    "Usage: fnbox COMMAND [OPTIONS]\n"
    "\n"
    "A serverless function sandbox: programs run on fnbox's own application kernel.\n"
    "\n"
    "Commands:\n"
    "  run        run a program in a new sandbox (fnbox run --help)\n"
    "  checkpoint save a sandbox at its ready point to an image (fnbox checkpoint --help)\n"
    "  restore    start a sandbox from an image (fnbox restore --help)\n"
    "  inspect    validate an image and show what it holds\n"
    "  serve      serve the HTTP API: functions, invocations, warm pools (fnbox serve --help)\n"
    "  syscalls   list the system call table and its support levels\n"
    "  version    print the version\n"
    "  help       show this help\n";

int fb_cmd_syscalls(int argc, char **argv)
{
    int i, counts[4] = {0};
    if (argc > 1 && !strcmp(argv[1], "--markdown")) {
        fb_syscall_print_markdown();
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "Usage: fnbox syscalls [--markdown]\n");
        return 2;
    }
    for (i = 0; i < FB_NR_SYSCALLS; i++) {
        const struct fb_syscall_desc *d = &fb_syscall_table[i];
        static const char *lvl[] = {"none", "full", "partial", "error"};
        if (!d->name)
            continue;
        counts[d->support]++;
        printf("%3d %-24s %-8s %s\n", i, d->name, lvl[d->support], d->note ? d->note : "");
    }
    printf("\n%d full, %d partial, %d deliberately refused, %d not implemented (ENOSYS)\n",
           counts[FB_SC_FULL], counts[FB_SC_PARTIAL], counts[FB_SC_ERROR], counts[FB_SC_NONE]);
    return 0;
}

/* `fnbox serve` lives in its own executable beside this one (build/fnbox-serve): the HTTP
 * server's libraries (libmicrohttpd with GnuTLS, json-c, libarchive with its compressors, ICU and
 * libxml2) cost every other command about 4 ms of start-up to map, and `fnbox run` and
 * `fnbox restore` are on the invocation path. */
static int exec_serve(char **argv)
{
    char self[4096], path[4200];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *slash;

    if (n <= 0) {
        fprintf(stderr, "fnbox serve: cannot find my own executable: %s\n", strerror(errno));
        return 125;
    }
    self[n] = 0;
    slash = strrchr(self, '/');
    if (slash)
        *slash = 0;
    snprintf(path, sizeof(path), "%s/fnbox-serve", slash ? self : ".");
    execv(path, argv); /* the same arguments: fnbox-serve serve [OPTIONS] */
    fprintf(stderr, "fnbox serve: cannot run %s: %s\n", path, strerror(errno));
    return 125;
}

int main(int argc, char **argv)
{
    if (fb_cli_std_fds() < 0)
        return 125;
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    if (!strcmp(argv[1], "run"))
        return fb_cmd_run(argc - 1, argv + 1);
    if (!strcmp(argv[1], "checkpoint"))
        return fb_cmd_checkpoint(argc - 1, argv + 1);
    if (!strcmp(argv[1], "restore"))
        return fb_cmd_restore(argc - 1, argv + 1);
    if (!strcmp(argv[1], "inspect"))
        return fb_cmd_inspect(argc - 1, argv + 1);
    if (!strcmp(argv[1], "serve"))
        return exec_serve(argv);
    if (!strcmp(argv[1], "confine")) /* hidden: prints the lock-down policy for the docs */
        return fb_cmd_confine(argc - 1, argv + 1);
    if (!strcmp(argv[1], "syscalls"))
        return fb_cmd_syscalls(argc - 1, argv + 1);
    if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
        printf("fnbox %s\n", FNBOX_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage, stdout);
        return 0;
    }
    fprintf(stderr, "fnbox: unknown command '%s'\n", argv[1]);
    fputs(usage, stderr);
    return 2;
}
