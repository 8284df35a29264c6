/* build/fnbox-serve: the `fnbox serve` command in an executable of its own, so that the HTTP
 * server's libraries are not mapped by every `fnbox run` and `fnbox restore` (api/main.c execs
 * this for `fnbox serve`). Invoked as `fnbox-serve serve [OPTIONS]` or `fnbox-serve [OPTIONS]`. */
#include <string.h>

#include "api/cli.h"
#include "api/serve.h"

int main(int argc, char **argv)
{
    if (fb_cli_std_fds() < 0)
        return 125;
    if (argc >= 2 && !strcmp(argv[1], "serve"))
        return fb_cmd_serve(argc - 1, argv + 1);
    return fb_cmd_serve(argc, argv);
}
