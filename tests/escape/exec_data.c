/* Executing data (NX): code copied to the heap, the stack, a read-write mapping and a read-only
 * mapping cannot run; an executable mapping can (positive control). Outcome: SIGSEGV for each
 * non-executable place, a normal return from the executable one. */
#include "escape.h"

static const unsigned char ret42[] = {0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3}; /* mov $42,%eax; ret */
static unsigned char data_buf[64] __attribute__((aligned(64)));

static void call(void *p)
{
    int r = ((int (*)(void))p)();
    _exit(r == 42 ? 0 : 1);
}

static void on_stack(void *a)
{
    unsigned char code[16];
    (void)a;
    memcpy(code, ret42, sizeof(ret42));
    call(code);
}

static void expect(const char *where, void (*fn)(void *), void *arg, bool runs)
{
    bool to;
    int st = esc_run_child(fn, arg, 5000, &to);
    if (runs)
        esc_check(!to && WIFEXITED(st) && WEXITSTATUS(st) == 0, "code in %s runs (%s)", where,
                  esc_status_str(st));
    else
        esc_check(!to && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
                  "code in %s does not run: SIGSEGV (%s)", where, esc_status_str(st));
}

int main(void)
{
    unsigned char *heap = malloc(64);
    unsigned char *rw =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *rx =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(heap, ret42, sizeof(ret42));
    memcpy(rw, ret42, sizeof(ret42));
    memcpy(rx, ret42, sizeof(ret42));
    memcpy(data_buf, ret42, sizeof(ret42));
    expect("the heap", call, heap, false);
    expect("a read-write mapping", call, rw, false);
    expect("the data segment", call, data_buf, false);
    expect("the stack", on_stack, NULL, false);
    mprotect(rw, 4096, PROT_READ);
    expect("a read-only mapping", call, rw, false);
    mprotect(rx, 4096, PROT_READ | PROT_EXEC);
    expect("a read-exec mapping", call, rx, true);
    mprotect(rx, 4096, PROT_READ | PROT_WRITE);
    expect("a mapping made non-executable again", call, rx, false);
    return esc_done();
}
