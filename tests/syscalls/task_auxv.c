/* Conformance: the auxiliary vector and initial stack — AT_PAGESZ, AT_RANDOM (fresh per exec),
 * AT_PHDR/AT_PHNUM/AT_ENTRY, AT_EXECFN, ids, argv/envp layout. Part of tests/syscalls. */
#include "conform.h"
#include <elf.h>
#include <sys/auxv.h>

extern char **environ;
extern char _start[];

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "--role=random") == 0) {
        /* Child: send our AT_RANDOM bytes back through the fd named in argv[2]. */
        int fd = atoi(argv[2]);
        write(fd, (void *)getauxval(AT_RANDOM), 16);
        return 0;
    }
    cf_init(argc, argv);
    CHECK_EQ(getauxval(AT_PAGESZ), 4096, "AT_PAGESZ");
    unsigned char *rnd = (unsigned char *)getauxval(AT_RANDOM);
    CHECK(rnd != NULL, "AT_RANDOM present");
    int nonzero = 0;
    for (int i = 0; rnd && i < 16; i++)
        nonzero += rnd[i] != 0;
    CHECK(nonzero >= 8, "AT_RANDOM 16 bytes mostly nonzero");
    CHECK_EQ(getauxval(AT_PHENT), sizeof(Elf64_Phdr), "AT_PHENT is sizeof(Elf64_Phdr)");
    CHECK(getauxval(AT_PHNUM) > 0, "AT_PHNUM > 0");
    Elf64_Phdr *ph = (Elf64_Phdr *)getauxval(AT_PHDR);
    CHECK(ph != NULL, "AT_PHDR present");
    int loads = 0, phdr_seen = 0;
    for (unsigned long i = 0; ph && i < getauxval(AT_PHNUM); i++) {
        loads += ph[i].p_type == PT_LOAD;
        phdr_seen += ph[i].p_type == PT_PHDR || ph[i].p_type == PT_GNU_STACK;
    }
    CHECK(loads >= 1, "AT_PHDR points at program headers with a PT_LOAD");
    CHECK(phdr_seen >= 1, "program headers include PT_GNU_STACK or PT_PHDR");
    CHECK(getauxval(AT_ENTRY) == (unsigned long)_start, "AT_ENTRY is the address of _start");
    CHECK_EQ(getauxval(AT_BASE), 0, "AT_BASE is 0 for a static program");
    CHECK_EQ(getauxval(AT_UID), getuid(), "AT_UID == getuid");
    CHECK_EQ(getauxval(AT_EUID), geteuid(), "AT_EUID == geteuid");
    CHECK_EQ(getauxval(AT_GID), getgid(), "AT_GID == getgid");
    CHECK_EQ(getauxval(AT_EGID), getegid(), "AT_EGID == getegid");
    CHECK_EQ(getauxval(AT_SECURE), 0, "AT_SECURE is 0");
    CHECK_EQ(getauxval(AT_CLKTCK), 100, "AT_CLKTCK is 100");
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    CHECK(execfn != NULL, "AT_EXECFN present");
    const char *base = execfn ? strrchr(execfn, '/') : NULL;
    CHECK_STR(base ? base + 1 : execfn, cf_name(), "AT_EXECFN names the program");
    CHECK_SAME(execfn, argv[0], "AT_EXECFN equals argv[0] (the exec'd path)");

    CHECK(argv[argc] == NULL, "argv[argc] is NULL");
    CHECK((char **)environ == argv + argc + 1, "environ follows argv on the stack");
    int dummy;
    CHECK((uintptr_t)argv > (uintptr_t)&dummy, "argv lies above the current stack frame");
    CHECK(((uintptr_t)__builtin_frame_address(0) & 7) == 0, "stack frame is 8-byte aligned");

    /* AT_RANDOM is fresh for every exec. */
    int pfd[2];
    pipe(pfd);
    unsigned char kids[2][16];
    for (int k = 0; k < 2; k++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            char fdarg[16];
            snprintf(fdarg, sizeof(fdarg), "%d", pfd[1]);
            execve("/proc/self/exe", (char *[]){argv[0], "--role=random", fdarg, NULL}, environ);
            _exit(127);
        }
        CHECK_STR(cf_status_str(cf_wait(pid)), "exited 0", "exec'd child %d", k);
        CHECK_EQ(read(pfd[0], kids[k], 16), 16, "child %d sent its AT_RANDOM", k);
    }
    CHECK(memcmp(kids[0], kids[1], 16) != 0, "two execs get different AT_RANDOM");
    CHECK(memcmp(kids[0], rnd, 16) != 0, "child's AT_RANDOM differs from ours");
    return cf_done();
}
