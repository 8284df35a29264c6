/* Stub code for the ptrace platform: copied to FB_STUB_BASE in every stub process. Runs with no
 * stack (the stub unmaps everything else), so it uses registers only. Position independent. */

#define SYS_read 0
#define SYS_write 1
#define SYS_close 3
#define SYS_recvmsg 47
#define SYS_mmap 9
#define SYS_mprotect 10
#define SYS_munmap 11
#define SYS_pause 34
#define SYS_clone 56
#define SYS_exit_group 231
#define SIGCHLD 17
#define CTL_FD 4
#define PROT_READ 1
#define MAP_POPULATE 0x8000
/* A map record's first word: address | prot (bits 0-9) | REC_CLOSE | REC_POPULATE (ptrace.c's
 * copy). */
#define REC_PROT 0x3ff
#define REC_CLOSE 0x400
#define REC_POPULATE 0x800
#define DATA_OFF 4096
#define SCRATCH_OFF 8192
#define PASS_FD 5
#define MSG_DONTWAIT 0x40
#define MSG_CMSG_CLOEXEC 0x40000000
/* The scratch page holds the struct msghdr (at 0) the tracer lays out for a receive (ptrace.c). */

    .text
    .globl fb_stub_code_start, fb_stub_code_end
    .globl fb_stub_source_entry, fb_stub_syscall_site, fb_stub_clone_site, fb_stub_idle
    .globl fb_stub_syscall_trap, fb_stub_clone_trap, fb_stub_map_site, fb_stub_map_trap
    .p2align 12
fb_stub_code_start:

/* Entry of the source stub, jumped to from C with:
 *   %rdi = FB_STUB_BASE (start of the stub region), %rsi = its size, %rdx = task size.
 * Unmaps everything but the stub region, then serves fork requests on CTL_FD forever:
 * each request byte creates one child stub, whose pid is written back as 4 bytes. */
fb_stub_source_entry:
    mov %rdi, %r12              /* r12 = stub base */
    mov %rsi, %r13              /* r13 = stub size */
    mov %rdx, %r14              /* r14 = task size */
    /* munmap(0, base) */
    xor %edi, %edi
    mov %r12, %rsi
    mov $SYS_munmap, %eax
    syscall
    /* munmap(base + size, task_size - base - size) */
    lea (%r12,%r13), %rdi
    mov %r14, %rsi
    sub %rdi, %rsi
    mov $SYS_munmap, %eax
    syscall
1:  /* read(CTL_FD, data, 1) */
    mov $CTL_FD, %edi
    lea fb_stub_code_start+DATA_OFF(%rip), %rsi
    mov $1, %edx
    mov $SYS_read, %eax
    syscall
    cmp $1, %rax
    jne 9f
    /* clone(SIGCHLD, 0, 0, 0, 0): a plain fork */
    mov $SIGCHLD, %edi
    xor %esi, %esi
    xor %edx, %edx
    xor %r10d, %r10d
    xor %r8d, %r8d
    mov $SYS_clone, %eax
    syscall
    test %rax, %rax
    jz 2f
    /* parent: write(CTL_FD, &pid, 4) */
    lea fb_stub_code_start+DATA_OFF(%rip), %rsi
    mov %eax, (%rsi)
    mov $CTL_FD, %edi
    mov $4, %edx
    mov $SYS_write, %eax
    syscall
    jmp 1b
2:  /* child: drop the control channel, make the data page read-only (it carries the tracer's
     * map batches, which the application running in this process must not be able to change),
     * then idle until a Sentry thread seizes us */
    mov $CTL_FD, %edi
    mov $SYS_close, %eax
    syscall
    lea fb_stub_code_start+DATA_OFF(%rip), %rdi
    mov $4096, %esi
    mov $PROT_READ, %edx
    mov $SYS_mprotect, %eax
    syscall
    jmp fb_stub_idle
9:  /* control channel closed: the Sentry is gone */
    xor %edi, %edi
    mov $SYS_exit_group, %eax
    syscall
    hlt

/* Untraced stub threads wait here until a tracer seizes them and replaces every register. */
fb_stub_idle:
    mov $SYS_pause, %eax
    syscall
    jmp fb_stub_idle

/* Injected system calls: the tracer sets rip here with the call in rax/rdi/rsi/rdx/r10/r8/r9,
 * resumes with PTRACE_CONT and collects rax at the int3 trap. */
fb_stub_syscall_site:
    syscall
    int3
fb_stub_syscall_trap:
    hlt

/* Injected thread creation: the parent thread traps at int3 with the new tid in rax; the new
 * thread (rax == 0) goes idle and waits to be seized by its own tracer. */
fb_stub_clone_site:
    syscall
    test %rax, %rax
    jz fb_stub_idle
    int3
fb_stub_clone_trap:
    hlt

/* Batched mappings: the tracer writes %rdi records of four words into the (read-only to us)
 * data page -- address | prot | REC_POPULATE, length, offset, fd -- sets %rsi to the mmap flags
 * and %rdx to 1 when the fds are host files it just sent on PASS_FD (else they name the memory
 * file). A record with REC_POPULATE is mapped with MAP_POPULATE added to the flags; mmap gets
 * only the prot bits. Those fds are received first (msghdr prepared in the scratch page) and
 * the fd of every record marked REC_CLOSE is closed at the end whatever happened (records may
 * share an fd; the tracer marks the last record naming each). The fd numbers come from the
 * records, never from the scratch page: other application threads of the stub could write
 * there meanwhile. Mapping
 * stops at the first failure. Collects at the int3: %rax = 0 when all are mapped, the first
 * failure's -errno with %r12 = its index, or 1 when the receive did not return the one byte
 * sent. */
fb_stub_map_site:
    mov %rdi, %r13
    mov %rsi, %r14
    mov %rdx, %rbp
    test %rbp, %rbp
    jz 1f
    mov $PASS_FD, %edi
    lea fb_stub_code_start+SCRATCH_OFF(%rip), %rsi
    mov $(MSG_DONTWAIT | MSG_CMSG_CLOEXEC), %edx
    mov $SYS_recvmsg, %eax
    syscall
    cmp $1, %rax
    je 1f
    mov $1, %eax                /* receive failed: 1, never an mmap result */
    jmp 9f
1:  xor %r12d, %r12d
    xor %ebx, %ebx              /* the result */
    lea fb_stub_code_start+DATA_OFF(%rip), %r15
2:  cmp %r13, %r12
    jae 5f
    mov (%r15), %rdi
    mov %rdi, %rdx
    and $REC_PROT, %edx
    mov %r14, %r10
    test $REC_POPULATE, %edi
    jz 3f
    or $MAP_POPULATE, %r10
3:  and $-4096, %rdi
    mov 8(%r15), %rsi
    mov 24(%r15), %r8
    mov 16(%r15), %r9
    mov $SYS_mmap, %eax
    syscall
    cmp $-4095, %rax
    jae 4f
    add $32, %r15
    inc %r12
    jmp 2b
4:  mov %rax, %rbx
5:  test %rbp, %rbp             /* received fds: close them all (%r14, the flags, is free) */
    jz 8f
    xor %r14d, %r14d
    lea fb_stub_code_start+DATA_OFF(%rip), %r15
6:  cmp %r13, %r14
    jae 8f
    testl $REC_CLOSE, (%r15)
    jz 7f
    mov 24(%r15), %rdi
    mov $SYS_close, %eax
    syscall
7:  add $32, %r15
    inc %r14
    jmp 6b
8:  mov %rbx, %rax
9:  int3
fb_stub_map_trap:
    hlt

fb_stub_code_end:
    .section .note.GNU-stack,"",@progbits
