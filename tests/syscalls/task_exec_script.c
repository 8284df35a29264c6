/* Conformance: execve of "#!" scripts in /tmp — interpreter arguments, nested interpreters,
 * missing interpreter, permission checks. Part of tests/syscalls (native and fnbox must match). */
#include "conform.h"

static int run(const char *path, char *const argv[], char *out, size_t size)
{
    int pfd[2];
    pipe(pfd);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        close(pfd[0]);
        close(pfd[1]);
        execve(path, argv, (char *[]){"PATH=/usr/bin:/bin", NULL});
        printf("exec failed: %s\n", cf_errname(errno));
        fflush(stdout);
        _exit(127);
    }
    close(pfd[1]);
    ssize_t n = cf_read_full(pfd[0], out, size - 1);
    out[n < 0 ? 0 : n] = 0;
    close(pfd[0]);
    return cf_wait(pid);
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    char out[512];
    const char *s1 = cf_tmp("s1.sh");
    const char *body1 = "#!/bin/sh\necho \"args:$1,$2,$#\"\nexit 3\n";
    CHECK_SYS(cf_write_file(s1, body1, strlen(body1), 0755), "write #!/bin/sh script");
    int st = run(s1, (char *[]){"s1", "a", "b c", NULL}, out, sizeof(out));
    CHECK_STR(cf_status_str(st), "exited 3", "script exit status");
    CHECK_STR(out, "args:a,b c,2\n", "script saw its arguments");

    /* The interpreter gets: interp, [optional arg], script path, then argv[1..]. */
    const char *s2 = cf_tmp("s2");
    const char *body2 = "#!/usr/bin/env sh\necho \"env-run:$1\"\n";
    cf_write_file(s2, body2, strlen(body2), 0755);
    st = run(s2, (char *[]){"s2", "q", NULL}, out, sizeof(out));
    CHECK_STR(out, "env-run:q\n", "#!/usr/bin/env sh runs the script via PATH");

    const char *s3 = cf_tmp("s3");
    const char *body3 = "#!/bin/sh -e\nfalse\necho not-reached\n";
    cf_write_file(s3, body3, strlen(body3), 0755);
    st = run(s3, (char *[]){"s3", NULL}, out, sizeof(out));
    CHECK_STR(cf_status_str(st), "exited 1", "#!/bin/sh -e passes the option (stops at false)");
    CHECK_STR(out, "", "nothing printed after false");

    /* A script whose interpreter is itself a script. */
    const char *inner = cf_tmp("inner");
    const char *bodyi = "#!/bin/sh\necho \"inner:$#\"\n";
    cf_write_file(inner, bodyi, strlen(bodyi), 0755);
    const char *outer = cf_tmp("outer");
    char bodyo[300];
    snprintf(bodyo, sizeof(bodyo), "#!%s\n", inner);
    cf_write_file(outer, bodyo, strlen(bodyo), 0755);
    st = run(outer, (char *[]){"outer", "z", NULL}, out, sizeof(out));
    CHECK_STR(cf_status_str(st), "exited 0", "nested interpreter status");
    CHECK_STR(out, "inner:2\n", "nested interpreter gets outer path and argument");

    /* Spaces and a tab before the interpreter path are skipped. */
    const char *s4 = cf_tmp("s4");
    const char *body4 = "#! \t/bin/sh\necho spaced\n";
    cf_write_file(s4, body4, strlen(body4), 0755);
    st = run(s4, (char *[]){"s4", NULL}, out, sizeof(out));
    CHECK_STR(out, "spaced\n", "whitespace after #! is allowed");

    const char *s5 = cf_tmp("s5");
    const char *body5 = "#!/nonexistent/interp\n";
    cf_write_file(s5, body5, strlen(body5), 0755);
    CHECK_ERR(execve(s5, (char *[]){"s5", NULL}, (char *[]){NULL}), ENOENT,
              "script with a missing interpreter");
    const char *s6 = cf_tmp("s6");
    cf_write_file(s6, body1, strlen(body1), 0644);
    CHECK_ERR(execve(s6, (char *[]){"s6", NULL}, (char *[]){NULL}), EACCES,
              "script without execute permission");
    const char *s7 = cf_tmp("s7");
    char body7[300];
    snprintf(body7, sizeof(body7), "#!%s\n", cf_tmpdir());
    cf_write_file(s7, body7, strlen(body7), 0755);
    CHECK_ERR(execve(s7, (char *[]){"s7", NULL}, (char *[]){NULL}), EACCES,
              "script whose interpreter is a directory");

    /* A script found through a symlink. */
    const char *ln = cf_tmp("link-to-s1");
    CHECK_SYS(symlink(s1, ln), "symlink to the script");
    st = run(ln, (char *[]){"ln", "via-link", NULL}, out, sizeof(out));
    CHECK_STR(out, "args:via-link,,1\n", "script run through a symlink");
    return cf_done();
}
