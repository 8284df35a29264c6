/* Platform selection: the one place that knows which backends exist. */
#include "platform/platform.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int fb_ptrace_platform_new(int memfd, struct fb_platform **out, struct fb_error *err);

int fb_platform_new(const char *name, int memfd, struct fb_platform **out, struct fb_error *err)
{
    if (!name || strcmp(name, "ptrace") == 0)
        return fb_ptrace_platform_new(memfd, out, err);
    return fb_error_set(err, EINVAL, "unknown platform '%s' (available: ptrace)", name);
}

struct fb_host_vdso fb_host_vdso;

void fb_platform_probe_host_vdso(void)
{
    struct fb_host_vdso v = {0};
    char line[512];
    FILE *f = fopen("/proc/self/maps", "re");

    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        unsigned long long s, e;
        char name[64] = "";
        if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %63s", &s, &e, name) < 3)
            continue;
        if (strcmp(name, "[vdso]") != 0 && strncmp(name, "[vvar", 5) != 0)
            continue;
        if (v.n == (int)(sizeof(v.start) / sizeof(v.start[0]))) {
            v.n = 0;
            break;
        }
        v.start[v.n] = s;
        v.end[v.n] = e;
        if (!v.span_start || s < v.span_start)
            v.span_start = s;
        if (strcmp(name, "[vdso]") == 0)
            v.vdso = s;
        v.n++;
    }
    fclose(f);
    for (int i = 0; i < v.n; i++)
        if (v.end[i] - v.span_start > FB_HOST_VDSO_ROOM)
            v.n = 0; /* spread out or too large: do without */
    if (!v.vdso)
        v.n = 0;
    fb_host_vdso = v;
}

uint64_t fb_host_vdso_sym(const char *name)
{
    const struct fb_host_vdso *v = &fb_host_vdso;
    const uint8_t *img;
    const Elf64_Ehdr *eh;
    const Elf64_Shdr *sh;
    uint64_t size = 0;

    for (int i = 0; i < v->n; i++)
        if (v->start[i] == v->vdso)
            size = v->end[i] - v->start[i];
    if (!v->n || size < sizeof(Elf64_Ehdr))
        return 0;
    img = (const uint8_t *)(uintptr_t)v->vdso;
    eh = (const Elf64_Ehdr *)img;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
        eh->e_shoff > size || (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > size - eh->e_shoff)
        return 0;
    sh = (const Elf64_Shdr *)(img + eh->e_shoff);
    for (int i = 0; i < eh->e_shnum; i++) {
        const Elf64_Shdr *str;
        if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_link >= eh->e_shnum ||
            sh[i].sh_entsize != sizeof(Elf64_Sym) || sh[i].sh_offset > size ||
            sh[i].sh_size > size - sh[i].sh_offset)
            continue;
        str = &sh[sh[i].sh_link];
        if (str->sh_offset > size || str->sh_size > size - str->sh_offset)
            continue;
        for (uint64_t k = 0; k < sh[i].sh_size / sizeof(Elf64_Sym); k++) {
            const Elf64_Sym *sym = (const Elf64_Sym *)(img + sh[i].sh_offset) + k;
            if (sym->st_name >= str->sh_size || sym->st_shndx == SHN_UNDEF ||
                ELF64_ST_TYPE(sym->st_info) != STT_FUNC || sym->st_value >= size)
                continue;
            const char *s = (const char *)img + str->sh_offset + sym->st_name;
            size_t max = str->sh_size - sym->st_name;
            if (strnlen(s, max) < max && strcmp(s, name) == 0)
                return FB_HOST_VDSO_BASE + (v->vdso - v->span_start) + sym->st_value;
        }
    }
    return 0;
}
