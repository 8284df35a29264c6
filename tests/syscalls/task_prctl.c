/* Conformance: prctl — PR_SET_NAME/PR_GET_NAME (and /proc/self/status, /proc/self/stat), dumpable,
 * pdeathsig, no_new_privs, child subreaper, errors. Part of tests/syscalls (native == fnbox). */
#include "conform.h"
#include <pthread.h>
#include <sys/prctl.h>

static char thread_name_seen[32];
static void *thread_fn(void *arg)
{
    (void)arg;
    prctl(PR_SET_NAME, "worker-thread");
    prctl(PR_GET_NAME, thread_name_seen);
    return NULL;
}

static int in_child(void *arg)
{
    (void)arg;
    /* Not checked: whether no_new_privs starts at 0 depends on who started us. */
    CHECK_SYS(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "PR_SET_NO_NEW_PRIVS 1");
    CHECK_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1, "PR_GET_NO_NEW_PRIVS");
    CHECK_ERR(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0), EINVAL, "no_new_privs cannot be cleared");
    CHECK_SYS(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "PR_SET_CHILD_SUBREAPER");
    int v = -1;
    CHECK_SYS(prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0), "PR_GET_CHILD_SUBREAPER");
    CHECK_EQ(v, 1, "subreaper flag read back");
    return cf_failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    char name[32] = {0};
    CHECK_SYS(prctl(PR_SET_NAME, "conform-name", 0, 0, 0), "PR_SET_NAME conform-name");
    CHECK_SYS(prctl(PR_GET_NAME, name, 0, 0, 0), "PR_GET_NAME");
    CHECK_STR(name, "conform-name", "name read back");

    char buf[4096];
    CHECK(cf_read_file("/proc/self/status", buf, sizeof(buf)) > 0, "read /proc/self/status");
    CHECK(strncmp(buf, "Name:\tconform-name\n", 19) == 0, "/proc/self/status starts with Name");
    CHECK(cf_read_file("/proc/self/stat", buf, sizeof(buf)) > 0, "read /proc/self/stat");
    CHECK(strstr(buf, " (conform-name) ") != NULL, "/proc/self/stat comm field");

    CHECK_SYS(prctl(PR_SET_NAME, "a-name-longer-than-sixteen", 0, 0, 0), "PR_SET_NAME long name");
    memset(name, 'x', sizeof(name));
    prctl(PR_GET_NAME, name, 0, 0, 0);
    CHECK_STR(name, "a-name-longer-t", "long name truncated to 15 bytes");

    pthread_t th;
    pthread_create(&th, NULL, thread_fn, NULL);
    pthread_join(th, NULL);
    CHECK_STR(thread_name_seen, "worker-thread", "thread sets its own name");
    prctl(PR_GET_NAME, name, 0, 0, 0);
    CHECK_STR(name, "a-name-longer-t", "main thread's name unchanged by the thread");

    CHECK_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1, "PR_GET_DUMPABLE");
    CHECK_SYS(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "PR_SET_DUMPABLE 0");
    CHECK_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0, "dumpable now 0");
    CHECK_SYS(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "PR_SET_DUMPABLE 1");
    CHECK_ERR(prctl(PR_SET_DUMPABLE, 7, 0, 0, 0), EINVAL, "PR_SET_DUMPABLE 7");

    int sig = -1;
    CHECK_SYS(prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0), "PR_GET_PDEATHSIG");
    CHECK_EQ(sig, 0, "pdeathsig starts at 0");
    CHECK_SYS(prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0), "PR_SET_PDEATHSIG SIGUSR1");
    prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0);
    CHECK_STR(cf_signame(sig), "SIGUSR1", "pdeathsig read back");
    CHECK_ERR(prctl(PR_SET_PDEATHSIG, 200, 0, 0, 0), EINVAL, "PR_SET_PDEATHSIG 200");
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);

    CHECK_EQ(prctl(PR_GET_SECCOMP, 0, 0, 0, 0), 0, "PR_GET_SECCOMP is 0");
    CHECK_ERR(prctl(PR_SET_NAME, (char *)8, 0, 0, 0), EFAULT, "PR_SET_NAME with a bad pointer");
    CHECK_ERR(prctl(0x7fff1234, 0, 0, 0, 0), EINVAL, "unknown prctl option");

    int st = cf_run_child(in_child, NULL);
    CHECK_STR(cf_status_str(st), "exited 0", "child's no_new_privs/subreaper checks");
    return cf_done();
}
