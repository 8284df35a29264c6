/* Conformance: umask round trips and is applied to open/mkdir/mkfifo modes; inherited by fork.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

static int mode_of(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    mode_t orig = umask(022);
    CHECK_EQ(umask(027), 022, "umask returns the previous mask (022)");
    CHECK_EQ(umask(0), 027, "umask returns the previous mask (027)");
    CHECK_EQ(umask(0777 | 07000), 0, "umask returns 0");
    CHECK_EQ(umask(022), 0777, "umask keeps only the permission bits");

    umask(027);
    int fd = open(cf_tmp("f1"), O_CREAT | O_WRONLY, 0666);
    close(fd);
    CHECK_EQ(mode_of(cf_tmp("f1")), 0640, "open(0666) with umask 027 gives 0640");
    mkdir(cf_tmp("d1"), 0777);
    CHECK_EQ(mode_of(cf_tmp("d1")), 0750, "mkdir(0777) with umask 027 gives 0750");
    mkfifo(cf_tmp("p1"), 0666);
    CHECK_EQ(mode_of(cf_tmp("p1")), 0640, "mkfifo(0666) with umask 027 gives 0640");
    umask(0);
    fd = open(cf_tmp("f2"), O_CREAT | O_WRONLY, 04755);
    close(fd);
    CHECK_EQ(mode_of(cf_tmp("f2")), 04755, "open(04755) with umask 0 keeps setuid");
    umask(077);
    CHECK_SYS(chmod(cf_tmp("f2"), 0666), "chmod ignores the umask");
    CHECK_EQ(mode_of(cf_tmp("f2")), 0666, "chmod(0666) gives 0666");
    symlink("f2", cf_tmp("l1"));
    struct stat st;
    lstat(cf_tmp("l1"), &st);
    CHECK_EQ(st.st_mode & 0777, 0777, "symlinks are 0777 regardless of the umask");

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(umask(0) == 077 ? 0 : 1);
    CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "child inherits umask 077");
    CHECK_EQ(umask(orig), 077, "our umask unchanged by the child");
    return cf_done();
}
