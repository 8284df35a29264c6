/* Conformance: /proc/self — maps (program r-xp line with its path, new mappings and their
 * protections), fd (0, 1, 2 and a new fd with its target), stat (state, comm), status, cmdline.
 * Part of tests/syscalls (runs natively and under fnbox; output must match). */
#include "conform.h"

static char maps[1 << 16];

/* Find the maps line starting at addr; copy its perms (4 chars) into perms. */
static bool find_mapping(uintptr_t addr, char perms[5])
{
    cf_read_file("/proc/self/maps", maps, sizeof(maps));
    for (char *line = maps; line && *line;) {
        char *nl = strchr(line, '\n');
        unsigned long lo, hi;
        char p[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && lo == addr) {
            memcpy(perms, p, 5);
            return true;
        }
        line = nl ? nl + 1 : NULL;
    }
    return false;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    CHECK(cf_read_file("/proc/self/maps", maps, sizeof(maps)) > 0, "read /proc/self/maps");
    char exe[512] = {0};
    readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    bool text = false, stack = false;
    for (char *line = strtok(maps, "\n"); line; line = strtok(NULL, "\n")) {
        if (strstr(line, " r-xp ") && strstr(line, exe))
            text = true;
        if (strstr(line, "[stack]"))
            stack = true;
    }
    CHECK(text, "maps has an r-xp line with the program's path");
    CHECK(stack, "maps has a [stack] line");
    uintptr_t code = (uintptr_t)(void *)main;
    cf_read_file("/proc/self/maps", maps, sizeof(maps));
    bool main_in_text = false;
    for (char *line = strtok(maps, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long lo, hi;
        char p[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && code >= lo && code < hi)
            main_in_text = strcmp(p, "r-xp") == 0 && strstr(line, exe) != NULL;
    }
    CHECK(main_in_text, "main() lies in that r-xp mapping");

    char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char perms[5] = "";
    CHECK(find_mapping((uintptr_t)m, perms), "a new anonymous mapping appears");
    CHECK_STR(perms, "rw-p", "with perms");
    mprotect(m + 4096, 4096, PROT_READ);
    CHECK(find_mapping((uintptr_t)m + 4096, perms), "mprotect splits it");
    CHECK_STR(perms, "r--p", "middle page perms");
    char *sh = mmap(NULL, 4096, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    find_mapping((uintptr_t)sh, perms);
    CHECK_STR(perms, "r--s", "shared mapping perms");
    munmap(m, 3 * 4096);
    CHECK(!find_mapping((uintptr_t)m, perms), "munmap removes it");

    int fd = open("/etc/passwd", O_RDONLY);
    bool seen[3] = {false, false, false}, mine = false;
    DIR *d = opendir("/proc/self/fd");
    CHECK(d != NULL, "opendir /proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        int n = atoi(e->d_name);
        if (n >= 0 && n < 3)
            seen[n] = true;
        mine |= n == fd;
    }
    if (d)
        closedir(d);
    CHECK(seen[0] && seen[1] && seen[2], "/proc/self/fd lists 0, 1 and 2");
    CHECK(mine, "/proc/self/fd lists the fd we opened");
    char link[64], target[256] = {0};
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    readlink(link, target, sizeof(target) - 1);
    CHECK_STR(target, "/etc/passwd", "/proc/self/fd/N points at the opened file");
    int fd2 = open(link, O_RDONLY);
    char c = 0;
    CHECK(fd2 >= 0 && read(fd2, &c, 1) == 1, "opening /proc/self/fd/N reopens the file");
    close(fd2);
    close(fd);

    char buf[4096];
    CHECK(cf_read_file("/proc/self/stat", buf, sizeof(buf)) > 0, "read /proc/self/stat");
    char comm[64] = "", state = '?';
    int pid = 0;
    sscanf(buf, "%d (%63[^)]) %c", &pid, comm, &state);
    CHECK(pid == getpid(), "stat field 1 is our pid");
    char want[16];
    snprintf(want, sizeof(want), "%.15s", cf_name());
    CHECK_STR(comm, want, "stat field 2 is the program name");
    CHECK_EQ(state, 'R', "stat field 3 (state) is R while we read it");
    CHECK(cf_read_file("/proc/self/status", buf, sizeof(buf)) > 0, "read /proc/self/status");
    char line[64];
    snprintf(line, sizeof(line), "\nPid:\t%d\n", getpid());
    CHECK(strstr(buf, line) != NULL, "status has our Pid");
    CHECK(strstr(buf, "\nPPid:\t") && strstr(buf, "\nUid:\t") && strstr(buf, "\nThreads:\t1\n"),
          "status has PPid, Uid and Threads: 1");
    ssize_t n = cf_read_file("/proc/self/cmdline", buf, sizeof(buf));
    CHECK(n > 0 && strcmp(buf, argv[0]) == 0, "cmdline starts with argv[0]");
    CHECK_EQ(n, (long)strlen(argv[0]) + 1, "cmdline is argv[0] plus its NUL");
    CHECK_ERR(open("/proc/self/nonexistent", O_RDONLY), ENOENT, "missing /proc/self entry");

    /* O_CREAT through a magic link opens the file it names (found by the syscall fuzzer: the
     * Sentry read the link's inode after dropping its last reference). */
    int tf = open(cf_tmp("magic"), O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(tf >= 0, "create a file");
    char fdpath[64];
    snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", tf);
    for (int i = 0; i < 50; i++) {
        int g = open(fdpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (g < 0 || write(g, "x", 1) != 1) {
            CHECK(false, "open(/proc/self/fd/N, O_CREAT) and write, round %d", i);
            break;
        }
        close(g);
    }
    struct stat tst;
    CHECK(fstat(tf, &tst) == 0 && tst.st_size == 50, "50 bytes written through the magic link");
    close(tf);
    return cf_done();
}
