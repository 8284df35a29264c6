/* /proc/<pid>/root, /proc/<pid>/cwd and /proc/self/root of every process the sandbox can see
 * lead to the sandbox's own root, never the host's (a host-PID-namespace classic is reading
 * /proc/1/root/etc/shadow). Outcome: the same inode as "/", and ENOENT for the secrets. */
#include "escape.h"

int main(void)
{
    struct stat root, st;
    char path[384], buf[256];
    DIR *d;
    struct dirent *e;
    pid_t kid = fork();
    int seen = 0;

    if (kid == 0) {
        chdir("/tmp");
        pause();
        _exit(0);
    }
    usleep(20000);
    stat("/", &root);
    d = opendir("/proc");
    while (d && (e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        seen++;
        snprintf(path, sizeof(path), "/proc/%s/root", e->d_name);
        esc_check(stat(path, &st) == 0 && st.st_ino == root.st_ino && st.st_dev == root.st_dev,
                  "%s is the sandbox root", path);
        ssize_t n = readlink(path, buf, sizeof(buf) - 1);
        esc_check(n == 1 && buf[0] == '/', "readlink(%s) is \"/\"", path);
        snprintf(path, sizeof(path), "/proc/%s/root/etc/shadow", e->d_name);
        ESC_ERR(open(path, O_RDONLY), ENOENT);
        snprintf(path, sizeof(path), "/proc/%s/root/../../root", e->d_name);
        ESC_ERR(stat(path, &st), ENOENT);
        snprintf(path, sizeof(path), "/proc/%s/cwd/../../../etc/shadow", e->d_name);
        ESC_ERR(open(path, O_RDONLY), ENOENT);
    }
    if (d)
        closedir(d);
    esc_check(seen >= 2, "saw %d processes in /proc (pid 1 and a child)", seen);
    ESC_ERR(open("/proc/1/root/root/.bashrc", O_RDONLY), ENOENT);
    ESC_ERR(open("/proc/self/root/etc/gshadow", O_RDONLY), ENOENT);
    kill(kid, SIGKILL);
    waitpid(kid, NULL, 0);
    return esc_done();
}
