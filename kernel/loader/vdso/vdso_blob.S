/* fnbox's vDSO image (built from vdso.c by the Makefile), embedded in the Sentry's read-only
 * data; the ELF loader copies it into every new address space. */
    .section .rodata
    .globl fb_vdso_image, fb_vdso_image_end
    .p2align 12
fb_vdso_image:
    .incbin "vdso.so"
fb_vdso_image_end:
    .section .note.GNU-stack,"",@progbits
