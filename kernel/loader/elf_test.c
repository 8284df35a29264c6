/* Unit tests for the ELF checks the loader applies before mapping anything: architecture,
 * class, type, program header table bounds, with clear reasons for refusal. */
#include "fbtest.h"
#include "kernel/loader/loader.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "kernel/util/cleanup.h"

static Elf64_Ehdr good(void)
{
    Elf64_Ehdr eh;
    memset(&eh, 0, sizeof(eh));
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_DYN;
    eh.e_machine = EM_X86_64;
    eh.e_phoff = sizeof(eh);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = 4;
    return eh;
}

static void test_accepts_x86_64(void)
{
    Elf64_Ehdr eh = good();
    char why[128] = "";
    FBT_CHECK_EQ(fb_loader_check_elf(&eh, sizeof(eh), 4096, why, sizeof(why)), 0);
    eh.e_type = ET_EXEC;
    FBT_CHECK_EQ(fb_loader_check_elf(&eh, sizeof(eh), 4096, why, sizeof(why)), 0);
}

static void test_refuses_other_architectures(void)
{
    Elf64_Ehdr eh = good();
    char why[128] = "";
    eh.e_machine = EM_AARCH64;
    FBT_CHECK_EQ(fb_loader_check_elf(&eh, sizeof(eh), 4096, why, sizeof(why)), -ENOEXEC);
    FBT_CHECK(strstr(why, "aarch64") && strstr(why, "x86_64"));
    eh = good();
    eh.e_ident[EI_CLASS] = ELFCLASS32;
    ((Elf32_Ehdr *)&eh)->e_machine = EM_386;
    FBT_CHECK_EQ(fb_loader_check_elf(&eh, sizeof(eh), 4096, why, sizeof(why)), -ENOEXEC);
    FBT_CHECK(strstr(why, "32-bit") && strstr(why, "i386"));
    eh = good();
    eh.e_ident[EI_DATA] = ELFDATA2MSB;
    FBT_CHECK_EQ(fb_loader_check_elf(&eh, sizeof(eh), 4096, why, sizeof(why)), -ENOEXEC);
    FBT_CHECK(strstr(why, "big-endian"));
}

static void test_refuses_bad_headers(void)
{
    Elf64_Ehdr eh = good();
    char why[128] = "";
    char junk[64] = "#!/bin/sh\n";

    FBT_CHECK_EQ(fb_loader_check_elf(junk, sizeof(junk), 64, why, sizeof(why)), -ENOEXEC);
    FBT_CHECK_EQ(fb_loader_check_elf(&eh, 10, 10, why, sizeof(why)), -ENOEXEC); /* truncated */
    eh.e_type = ET_REL;
    FBT_CHECK_EQ(fb_loader_check_elf(&eh, sizeof(eh), 4096, why, sizeof(why)), -ENOEXEC);
    eh = good();
    eh.e_phnum = 0;
    FBT_CHECK_EQ(fb_loader_check_elf(&eh, sizeof(eh), 4096, why, sizeof(why)), -ENOEXEC);
    eh = good();
    eh.e_phentsize = 12;
    FBT_CHECK_EQ(fb_loader_check_elf(&eh, sizeof(eh), 4096, why, sizeof(why)), -ENOEXEC);
    eh = good();
    eh.e_phoff = 4000; /* table runs past the end of a 4096-byte file */
    FBT_CHECK_EQ(fb_loader_check_elf(&eh, sizeof(eh), 4096, why, sizeof(why)), -ENOEXEC);
    eh = good();
    eh.e_phoff = UINT64_MAX - 10; /* overflow */
    FBT_CHECK_EQ(fb_loader_check_elf(&eh, sizeof(eh), 4096, why, sizeof(why)), -ENOEXEC);
}

static void test_real_binaries_pass(void)
{
    const char *paths[] = {"/bin/busybox", "/usr/bin/python3", "/bin/true"};
    char why[128];
    size_t i;
    for (i = 0; i < FB_ARRAY_SIZE(paths); i++) {
        uint8_t buf[sizeof(Elf64_Ehdr)];
        int fd = open(paths[i], O_RDONLY);
        off_t size;
        if (fd < 0)
            continue;
        size = lseek(fd, 0, SEEK_END);
        FBT_CHECK_EQ(pread(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
        close(fd);
        FBT_CHECK_EQ(fb_loader_check_elf(buf, sizeof(buf), (uint64_t)size, why, sizeof(why)), 0);
    }
}

int main(void)
{
    FBT_RUN(test_accepts_x86_64);
    FBT_RUN(test_refuses_other_architectures);
    FBT_RUN(test_refuses_bad_headers);
    FBT_RUN(test_real_binaries_pass);
    FBT_EXIT();
}
