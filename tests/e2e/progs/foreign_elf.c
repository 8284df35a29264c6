/* e2e helper: writes an ELF header for aarch64 to the path given, to check that fnbox refuses
 * it with a clear message. */
#include <elf.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    Elf64_Ehdr eh;
    FILE *f;
    if (argc != 2)
        return 2;
    memset(&eh, 0, sizeof(eh));
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_EXEC;
    eh.e_machine = EM_AARCH64;
    eh.e_version = EV_CURRENT;
    eh.e_phoff = sizeof(eh);
    eh.e_ehsize = sizeof(eh);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    f = fopen(argv[1], "wb");
    if (!f || fwrite(&eh, sizeof(eh), 1, f) != 1)
        return 1;
    fclose(f);
    return 0;
}
