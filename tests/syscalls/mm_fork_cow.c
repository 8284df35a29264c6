/* Conformance: fork gives the child a private copy of globals, heap, stack and private mappings;
 * writes on either side never leak to the other. Part of tests/syscalls (native == fnbox). */
#include "conform.h"

#define PG 4096

static int global = 1;
static char bss[PG * 3];

struct areas {
    char *heap, *anon, *file;
    int *stack;
};

static int child(struct areas *a, int to_parent, int from_parent)
{
    int bad = 0;
    /* First the child sees the values as of fork. */
    bad |= global != 1;
    bad |= bss[PG] != 'b';
    bad |= strcmp(a->heap, "heap-before") != 0;
    bad |= a->anon[5] != 'a';
    bad |= *a->stack != 77;
    bad |= a->file[0] != 0x7f;
    /* Then the child writes its own values and lets the parent check them. */
    global = 2;
    bss[PG] = 'c';
    strcpy(a->heap, "heap-child");
    a->anon[5] = 'C';
    *a->stack = 88;
    a->file[0] = 'F';
    char c = 'x';
    if (write(to_parent, &c, 1) != 1 || read(from_parent, &c, 1) != 1)
        return 20;
    /* The parent wrote its own values meanwhile; the child must still see its own. */
    bad |= (global != 2) << 1;
    bad |= (bss[PG] != 'c') << 2;
    bad |= (strcmp(a->heap, "heap-child") != 0) << 3;
    bad |= (a->anon[5] != 'C') << 4;
    bad |= (*a->stack != 88) << 5;
    bad |= (a->file[0] != 'F') << 6;
    return bad;
}

int main(int argc, char **argv)
{
    cf_init(argc, argv);
    int stackvar = 77;
    struct areas a;
    a.heap = malloc(64);
    strcpy(a.heap, "heap-before");
    a.anon = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    a.anon[5] = 'a';
    int fd = open("/bin/sh", O_RDONLY);
    a.file = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    close(fd);
    a.stack = &stackvar;
    bss[PG] = 'b';

    int up[2], down[2];
    CHECK_SYS(pipe(up), "pipe child->parent");
    CHECK_SYS(pipe(down), "pipe parent->child");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(child(&a, up[1], down[0]));
    CHECK(pid > 0, "fork");
    char c;
    CHECK_EQ(read(up[0], &c, 1), 1, "child wrote its values");
    CHECK_EQ(global, 1, "parent global unchanged by child");
    CHECK_EQ(bss[PG], 'b', "parent bss unchanged by child");
    CHECK_STR(a.heap, "heap-before", "parent heap unchanged by child");
    CHECK_EQ(a.anon[5], 'a', "parent private anon page unchanged by child");
    CHECK_EQ(stackvar, 77, "parent stack unchanged by child");
    CHECK_EQ(a.file[0], 0x7f, "parent private file page unchanged by child");
    global = 3;
    bss[PG] = 'p';
    strcpy(a.heap, "heap-parent");
    a.anon[5] = 'P';
    stackvar = 99;
    a.file[0] = 'Q';
    CHECK_EQ(write(down[1], "g", 1), 1, "tell child to re-check");
    int st = cf_wait(pid);
    CHECK_STR(cf_status_str(st), "exited 0", "child saw only its own writes");
    CHECK(global == 3 && stackvar == 99 && a.anon[5] == 'P', "parent keeps its own writes");

    /* Many children each modify a page; the parent's page stays as it was. */
    bool all = true;
    for (int i = 0; i < 8; i++) {
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
            for (int j = 0; j < PG; j++)
                a.anon[j] = (char)i;
            _exit(a.anon[PG - 1] == (char)i ? i : 100);
        }
        st = cf_wait(pid);
        all &= WIFEXITED(st) && WEXITSTATUS(st) == i;
    }
    CHECK(all, "8 sequential children each wrote their own copy");
    CHECK_EQ(a.anon[5], 'P', "parent page unchanged after 8 children");
    return cf_done();
}
