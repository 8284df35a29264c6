/* The image "meta" section (see image_meta.h). */
#include "api/image_meta.h"
#include "kernel/mm/mm_save.h"
#include "snapshot/state.h"
#include "platform/platform.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define META_FORMAT    "fnbox-meta/1"
#define MAX_CODE_FILES 20000

/* ---- code fingerprint ------------------------------------------------------------------------- */

static int walk(const char *root, const char *rel, struct fb_image_meta *m, int depth,
                struct fb_error *err)
{
    char path[PATH_MAX];
    DIR *d;
    struct dirent *e;

    if (depth > 32)
        return 0;
    snprintf(path, sizeof(path), "%s%s%s", root, rel[0] ? "/" : "", rel);
    d = opendir(path);
    if (!d)
        return fb_error_set(err, errno, "reading %s: %s", path, strerror(errno));
    while ((e = readdir(d))) {
        char sub[PATH_MAX], full[PATH_MAX * 2];
        struct stat st;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        snprintf(full, sizeof(full), "%s/%s", root, sub);
        if (lstat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (walk(root, sub, m, depth + 1, err) < 0) {
                closedir(d);
                return -1;
            }
        } else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
            struct fb_meta_file *n;
            if (m->nfiles >= MAX_CODE_FILES) {
                closedir(d);
                return fb_error_set(err, EFBIG, "%s: more than %d files in the code directory",
                                    root, MAX_CODE_FILES);
            }
            n = realloc(m->files, (m->nfiles + 1) * sizeof(*n));
            if (!n) {
                closedir(d);
                return fb_error_set(err, ENOMEM, "out of memory");
            }
            m->files = n;
            n[m->nfiles].rel = strdup(sub);
            n[m->nfiles].size = (uint64_t)st.st_size;
            n[m->nfiles].mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
            m->nfiles++;
        }
    }
    closedir(d);
    return 0;
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const struct fb_meta_file *)a)->rel, ((const struct fb_meta_file *)b)->rel);
}

int fb_meta_fingerprint(const char *dir, struct fb_image_meta *m, struct fb_error *err)
{
    if (walk(dir, "", m, 0, err) < 0)
        return -1;
    if (m->nfiles)
        qsort(m->files, m->nfiles, sizeof(*m->files), cmp_file);
    return 0;
}

void fb_meta_free_fingerprint(struct fb_image_meta *m)
{
    size_t i;
    for (i = 0; i < m->nfiles; i++)
        free(m->files[i].rel);
    free(m->files);
    m->files = NULL;
    m->nfiles = 0;
}

int fb_meta_check_fingerprint(const struct fb_image_meta *m, struct fb_error *err)
{
    struct fb_image_meta now;
    size_t i, j;
    int rc = 0;

    memset(&now, 0, sizeof(now));
    if (fb_meta_fingerprint(m->code, &now, err) < 0) {
        fb_meta_free_fingerprint(&now);
        return fb_error_set(err, ESTALE,
                            "image is stale: its code directory %s cannot be read; make a new "
                            "checkpoint",
                            m->code);
    }
    for (i = 0, j = 0; i < m->nfiles || j < now.nfiles;) {
        int c = i == m->nfiles ? 1 : j == now.nfiles ? -1 : strcmp(m->files[i].rel, now.files[j].rel);
        const char *what = NULL, *name = NULL;
        if (c < 0) {
            what = "was removed";
            name = m->files[i].rel;
        } else if (c > 0) {
            what = "was added";
            name = now.files[j].rel;
        } else if (m->files[i].size != now.files[j].size ||
                   m->files[i].mtime_ns != now.files[j].mtime_ns) {
            what = "changed";
            name = m->files[i].rel;
        }
        if (what) {
            rc = fb_error_set(err, ESTALE,
                              "image is stale: %s/%s %s since the checkpoint; make a new "
                              "checkpoint (fnbox checkpoint)",
                              m->code, name, what);
            break;
        }
        i++;
        j++;
    }
    fb_meta_free_fingerprint(&now);
    return rc;
}

/* ---- msgpack ------------------------------------------------------------------------------------ */

static void pk_str(msgpack_packer *pk, const char *s)
{
    if (!s) {
        msgpack_pack_nil(pk);
        return;
    }
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static void pk_strv(msgpack_packer *pk, char **v)
{
    size_t n = 0, i;
    while (v && v[n])
        n++;
    msgpack_pack_array(pk, n);
    for (i = 0; i < n; i++)
        pk_str(pk, v[i]);
}

void fb_meta_pack(const struct fb_image_meta *m, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    size_t i;

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, m->train_events ? 15 : 14);
    pk_str(&pk, "format");
    pk_str(&pk, META_FORMAT);
    pk_str(&pk, "created");
    msgpack_pack_uint64(&pk, m->created);
    pk_str(&pk, "template");
    pk_str(&pk, m->template_name);
    pk_str(&pk, "handler");
    pk_str(&pk, m->handler);
    pk_str(&pk, "function_name");
    pk_str(&pk, m->function_name);
    pk_str(&pk, "code");
    pk_str(&pk, m->code);
    pk_str(&pk, "root");
    pk_str(&pk, m->root);
    pk_str(&pk, "cwd");
    pk_str(&pk, m->cwd);
    pk_str(&pk, "mounts");
    msgpack_pack_array(&pk, m->nmounts);
    for (i = 0; i < m->nmounts; i++) {
        msgpack_pack_array(&pk, 3);
        pk_str(&pk, m->mounts[i].src);
        pk_str(&pk, m->mounts[i].dst);
        if (m->mounts[i].ro)
            msgpack_pack_true(&pk);
        else
            msgpack_pack_false(&pk);
    }
    pk_str(&pk, "argv");
    pk_strv(&pk, m->argv);
    pk_str(&pk, "env");
    pk_strv(&pk, m->envp);
    pk_str(&pk, "memory_limit");
    msgpack_pack_uint64(&pk, m->memory_limit);
    pk_str(&pk, "code_files");
    msgpack_pack_array(&pk, m->nfiles);
    for (i = 0; i < m->nfiles; i++) {
        msgpack_pack_array(&pk, 3);
        pk_str(&pk, m->files[i].rel);
        msgpack_pack_uint64(&pk, m->files[i].size);
        msgpack_pack_int64(&pk, m->files[i].mtime_ns);
    }
    if (m->train_events) {
        pk_str(&pk, "train_events");
        pk_strv(&pk, m->train_events);
    }
    pk_str(&pk, "fnbox_version");
    pk_str(&pk, "0.1.0");
}

static char *dup_str(const msgpack_object *o, bool *bad)
{
    char *s;
    if (o->type == MSGPACK_OBJECT_NIL)
        return NULL;
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size > 65536 ||
        (o->via.str.size && memchr(o->via.str.ptr, 0, o->via.str.size))) {
        *bad = true;
        return NULL;
    }
    s = o->via.str.size ? strndup(o->via.str.ptr, o->via.str.size) : strdup("");
    if (!s)
        *bad = true;
    return s;
}

static char **dup_strv(const msgpack_object *o, bool *bad)
{
    char **v;
    uint32_t i;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > 4096) {
        *bad = true;
        return NULL;
    }
    v = calloc(o->via.array.size + 1, sizeof(char *));
    if (!v) {
        *bad = true;
        return NULL;
    }
    for (i = 0; i < o->via.array.size; i++) {
        v[i] = dup_str(&o->via.array.ptr[i], bad);
        if (!v[i]) {
            uint32_t j;
            for (j = 0; j < i; j++)
                free(v[j]);
            free(v);
            *bad = true;
            return NULL;
        }
    }
    return v;
}

static void free_strv(char **v)
{
    size_t i;
    for (i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static bool is_u64(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
}

int fb_meta_unpack(const void *buf, size_t len, struct fb_image_meta *m, struct fb_error *err)
{
    msgpack_unpacked up;
    const msgpack_object *root;
    bool bad = false, format_ok = false;
    uint32_t i, j;

    memset(m, 0, sizeof(*m));
    m->owned = true;
    msgpack_unpacked_init(&up);
    if (fb_msgpack_precheck(buf, len, NULL) < 0 ||
        msgpack_unpack_next(&up, buf, len, NULL) != MSGPACK_UNPACK_SUCCESS ||
        up.data.type != MSGPACK_OBJECT_MAP) {
        msgpack_unpacked_destroy(&up);
        return fb_error_set(err, EINVAL, "image: the meta section is corrupt");
    }
    root = &up.data;
    /* A handful of known keys: a huge map is no meta section (and would make the duplicate
     * check below quadratic). */
    if (root->via.map.size > 64)
        bad = true;
    for (i = 0; i < root->via.map.size && !bad; i++) {
        const msgpack_object *k = &root->via.map.ptr[i].key, *v = &root->via.map.ptr[i].val;
        char key[32];
        if (k->type != MSGPACK_OBJECT_STR || k->via.str.size >= sizeof(key) ||
            (k->via.str.size && memchr(k->via.str.ptr, 0, k->via.str.size))) {
            bad = true;
            break;
        }
        if (k->via.str.size)
            memcpy(key, k->via.str.ptr, k->via.str.size);
        key[k->via.str.size] = 0;
        /* Each key at most once (a repeated one would leave the first value behind). */
        for (j = 0; j < i; j++) {
            const msgpack_object *pk = &root->via.map.ptr[j].key;
            if (pk->type == MSGPACK_OBJECT_STR && pk->via.str.size == k->via.str.size &&
                (!k->via.str.size || !memcmp(pk->via.str.ptr, k->via.str.ptr, k->via.str.size)))
                bad = true;
        }
        if (bad)
            break;
        if (!strcmp(key, "format")) {
            format_ok = v->type == MSGPACK_OBJECT_STR && v->via.str.size == strlen(META_FORMAT) &&
                        v->via.str.ptr &&
                        !memcmp(v->via.str.ptr, META_FORMAT, v->via.str.size);
        } else if (!strcmp(key, "created")) {
            if (!is_u64(v))
                bad = true;
            else
                m->created = v->via.u64;
        } else if (!strcmp(key, "memory_limit")) {
            if (!is_u64(v))
                bad = true;
            else
                m->memory_limit = v->via.u64;
        } else if (!strcmp(key, "template")) {
            m->template_name = dup_str(v, &bad);
        } else if (!strcmp(key, "handler")) {
            m->handler = dup_str(v, &bad);
        } else if (!strcmp(key, "function_name")) {
            m->function_name = dup_str(v, &bad);
        } else if (!strcmp(key, "code")) {
            m->code = dup_str(v, &bad);
        } else if (!strcmp(key, "root")) {
            m->root = dup_str(v, &bad);
        } else if (!strcmp(key, "cwd")) {
            m->cwd = dup_str(v, &bad);
        } else if (!strcmp(key, "argv")) {
            m->argv = dup_strv(v, &bad);
        } else if (!strcmp(key, "env")) {
            m->envp = dup_strv(v, &bad);
        } else if (!strcmp(key, "train_events")) {
            m->train_events = dup_strv(v, &bad);
        } else if (!strcmp(key, "mounts")) {
            if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size > 64) {
                bad = true;
                break;
            }
            m->mounts = calloc(v->via.array.size + 1, sizeof(*m->mounts));
            if (!m->mounts) {
                bad = true;
                break;
            }
            for (j = 0; j < v->via.array.size && !bad; j++) {
                const msgpack_object *e = &v->via.array.ptr[j];
                if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 3 ||
                    e->via.array.ptr[2].type != MSGPACK_OBJECT_BOOLEAN) {
                    bad = true;
                    break;
                }
                m->mounts[j].src = dup_str(&e->via.array.ptr[0], &bad);
                m->mounts[j].dst = dup_str(&e->via.array.ptr[1], &bad);
                m->mounts[j].ro = e->via.array.ptr[2].via.boolean;
                m->nmounts++;
                if (!m->mounts[j].src || !m->mounts[j].dst || m->mounts[j].dst[0] != '/')
                    bad = true;
            }
        } else if (!strcmp(key, "code_files")) {
            if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size > MAX_CODE_FILES) {
                bad = true;
                break;
            }
            m->files = calloc(v->via.array.size + 1, sizeof(*m->files));
            if (!m->files) {
                bad = true;
                break;
            }
            for (j = 0; j < v->via.array.size && !bad; j++) {
                const msgpack_object *e = &v->via.array.ptr[j];
                if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 3 ||
                    !is_u64(&e->via.array.ptr[1]) ||
                    (e->via.array.ptr[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER &&
                     e->via.array.ptr[2].type != MSGPACK_OBJECT_NEGATIVE_INTEGER)) {
                    bad = true;
                    break;
                }
                m->files[j].rel = dup_str(&e->via.array.ptr[0], &bad);
                m->files[j].size = e->via.array.ptr[1].via.u64;
                m->files[j].mtime_ns = e->via.array.ptr[2].via.i64;
                m->nfiles++;
                if (!m->files[j].rel)
                    bad = true;
            }
        }
    }
    msgpack_unpacked_destroy(&up);
    if (bad || !format_ok) {
        fb_meta_free(m);
        return fb_error_set(err, EINVAL, "image: the meta section is corrupt%s",
                            format_ok ? "" : " (unknown format)");
    }
    return 0;
}

void fb_meta_free(struct fb_image_meta *m)
{
    size_t i;
    if (!m->owned)
        return;
    free((char *)m->template_name);
    free((char *)m->handler);
    free((char *)m->function_name);
    free((char *)m->code);
    free((char *)m->root);
    free((char *)m->cwd);
    for (i = 0; i < m->nmounts; i++) {
        free((char *)m->mounts[i].src);
        free((char *)m->mounts[i].dst);
    }
    free(m->mounts);
    free_strv(m->argv);
    free_strv(m->envp);
    free_strv(m->train_events);
    fb_meta_free_fingerprint(m);
    memset(m, 0, sizeof(*m));
}

/* ---- printing ------------------------------------------------------------------------------------ */

void fb_meta_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_str_or_null(FILE *f, const char *s)
{
    if (s)
        fb_meta_json_string(f, s);
    else
        fputs("null", f);
}

const char *fb_meta_human_size(uint64_t bytes, char *buf, size_t size)
{
    if (bytes >= (10ull << 20))
        snprintf(buf, size, "%.0f MiB", bytes / 1048576.0);
    else if (bytes >= (1ull << 20))
        snprintf(buf, size, "%.1f MiB", bytes / 1048576.0);
    else
        snprintf(buf, size, "%.1f KiB", bytes / 1024.0);
    return buf;
}

static const char *time_str(uint64_t t, char *buf, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/* Pages in the image's working set (section "workingset"), -1 without one or if unreadable. */
static int64_t working_set_pages(struct fb_image_reader *img)
{
    struct fb_error err = {0};
    void *data;
    size_t len;
    long pages;

    if (!fb_image_section(img, "workingset") ||
        fb_image_read_raw(img, "workingset", &data, &len, &err) < 0)
        return -1;
    pages = fb_image_ws_check(data, len, FB_TASK_SIZE >> 12); /* as a restore checks it */
    free(data);
    return pages;
}

/* Pages of the memory file in use when the image was made (a record each in its page
 * reference table), -1 without the table. What --memory must allow to restore it. */
static int64_t memory_pages(struct fb_image_reader *img)
{
    const struct fb_image_section_info *s = fb_image_section(img, "pagerefs");
    return s ? (int64_t)(s->length / FB_PAGEREF_BYTES) : -1;
}

/* A string from the image in the text output: control characters escaped (\n, \t, \xNN), so
 * that an image's names cannot move the cursor, recolour the terminal or fake lines of the
 * report; other bytes (UTF-8 included) as they are. Returns the characters written. */
static int put_text(FILE *f, const char *s)
{
    int n = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n' || c == '\t')
            n += fprintf(f, "\\%c", c == '\n' ? 'n' : 't');
        else if (c < 0x20 || c == 0x7f)
            n += fprintf(f, "\\x%02x", c);
        else
            n += fputc(c, f) != EOF;
    }
    return n; /* characters written */
}

void fb_meta_print(FILE *f, struct fb_image_reader *img, const struct fb_image_meta *m,
                   const char *stale, bool json)
{
    int64_t ws = working_set_pages(img), mem = memory_pages(img);
    uint32_t major, minor;
    const struct fb_image_cpu *cpu = fb_image_cpu(img);
    char tbuf[64], sbuf[32], rbuf[32];
    int i, n = fb_image_nsections(img);
    size_t k;

    fb_image_version(img, &major, &minor);
    if (json) {
        fprintf(f, "{\"valid\":true,\"version\":\"%u.%u\",\"arch\":\"x86_64\",\"created\":\"%s\","
                   "\"xsave_size\":%u,\"sections\":[",
                major, minor, time_str(fb_image_created(img), tbuf, sizeof(tbuf)), cpu->xsave_size);
        for (i = 0; i < n; i++) {
            const struct fb_image_section_info *s = fb_image_section_at(img, i);
            fprintf(f, "%s{\"name\":", i ? "," : "");
            fb_meta_json_string(f, s->name);
            fprintf(f, ",\"kind\":\"%s\",\"bytes\":%llu,\"raw_bytes\":%llu,\"chunks\":%u}",
                    s->kind == FB_IMAGE_SECTION_MEMORY ? "memory" : "raw",
                    (unsigned long long)s->length, (unsigned long long)s->raw_length, s->chunks);
        }
        fprintf(f, "]");
        if (m) {
            fprintf(f, ",\"template\":");
            json_str_or_null(f, m->template_name);
            fprintf(f, ",\"handler\":");
            json_str_or_null(f, m->handler);
            fprintf(f, ",\"function_name\":");
            json_str_or_null(f, m->function_name);
            fprintf(f, ",\"code\":");
            json_str_or_null(f, m->code);
            fprintf(f, ",\"root\":");
            json_str_or_null(f, m->root);
            fprintf(f, ",\"argv\":[");
            for (k = 0; m->argv && m->argv[k]; k++) {
                if (k)
                    fputc(',', f);
                fb_meta_json_string(f, m->argv[k]);
            }
            fprintf(f, "],\"mounts\":[");
            for (k = 0; k < m->nmounts; k++) {
                fprintf(f, "%s{\"src\":", k ? "," : "");
                fb_meta_json_string(f, m->mounts[k].src);
                fprintf(f, ",\"dst\":");
                fb_meta_json_string(f, m->mounts[k].dst);
                fprintf(f, ",\"ro\":%s}", m->mounts[k].ro ? "true" : "false");
            }
            fprintf(f, "],\"memory_limit\":%llu,\"code_files\":%zu",
                    (unsigned long long)m->memory_limit, m->nfiles);
        }
        if (mem >= 0)
            fprintf(f, ",\"memory_pages\":%lld", (long long)mem);
        else
            fprintf(f, ",\"memory_pages\":null");
        if (ws >= 0)
            fprintf(f, ",\"working_set_pages\":%lld", (long long)ws);
        else
            fprintf(f, ",\"working_set_pages\":null");
        fprintf(f, ",\"train_events\":");
        if (ws >= 0 && m && m->train_events) {
            fputc('[', f);
            for (k = 0; m->train_events[k]; k++) {
                if (k)
                    fputc(',', f);
                fb_meta_json_string(f, m->train_events[k]);
            }
            fputc(']', f);
        } else {
            fprintf(f, "null");
        }
        fprintf(f, ",\"stale\":");
        json_str_or_null(f, stale);
        fprintf(f, "}\n");
        return;
    }
    fprintf(f, "fnbox image, format %u.%u, x86_64, created %s\n", major, minor,
            time_str(fb_image_created(img), tbuf, sizeof(tbuf)));
    fprintf(f, "CPU: XSAVE area %u bytes, XCR0 %#llx\n", cpu->xsave_size,
            (unsigned long long)cpu->xcr0);
    fprintf(f, "\nSections:\n  %-16s %-7s %12s %12s %8s\n", "NAME", "KIND", "STORED", "RAW",
            "CHUNKS");
    for (i = 0; i < n; i++) {
        const struct fb_image_section_info *s = fb_image_section_at(img, i);
        int w;
        fputs("  ", f);
        w = put_text(f, s->name);
        fprintf(f, "%*s %-7s %12s %12s %8u\n", w < 16 ? 16 - w : 0, "",
                s->kind == FB_IMAGE_SECTION_MEMORY ? "memory" : "raw",
                fb_meta_human_size(s->length, sbuf, sizeof(sbuf)),
                fb_meta_human_size(s->raw_length, rbuf, sizeof(rbuf)), s->chunks);
    }
    if (ws >= 0) {
        fprintf(f, "\nWorking set: %lld pages (%s) touched by training invocations (and gaps of\n"
                   "             up to %d pages between them); of the file pages left out of the\n"
                   "             image, restores fill only these\n",
                (long long)ws, fb_meta_human_size((uint64_t)ws * 4096, sbuf, sizeof(sbuf)),
                FB_MM_WS_GAP);
        /* Each event whole (up to 64 KiB together, as checkpoint took them). */
        for (k = 0; m && m->train_events && m->train_events[k]; k++) {
            fputs(k ? "             " : "Trained on:  ", f);
            put_text(f, m->train_events[k]);
            fputc('\n', f);
        }
    } else
        fprintf(f, "\nWorking set: none (restores fill every file page the program had touched)\n");
    if (!m) {
        fprintf(f, "\n(no meta section)\n");
        return;
    }
    fputs("\nTemplate:  ", f);
    put_text(f, m->template_name ? m->template_name : "(none: a program)");
    if (m->handler) {
        fputs("\nHandler:   ", f);
        put_text(f, m->handler);
    }
    if (m->function_name) {
        fputs("\nFunction:  ", f);
        put_text(f, m->function_name);
    }
    if (m->code) {
        fputs("\nCode:      ", f);
        put_text(f, m->code);
        fprintf(f, " (%zu files)", m->nfiles);
    }
    fputs("\nProgram: ", f);
    for (k = 0; m->argv && m->argv[k]; k++) {
        fputc(' ', f);
        put_text(f, m->argv[k]);
    }
    fputs("\nRoot:      ", f);
    put_text(f, m->root ? m->root : "(the host's system directories)");
    for (k = 0; k < m->nmounts; k++) {
        fputs("\nMount:     ", f);
        put_text(f, m->mounts[k].src);
        fputs(" -> ", f);
        put_text(f, m->mounts[k].dst);
        fprintf(f, " (%s)", m->mounts[k].ro ? "ro" : "rw");
    }
    if (mem >= 0) {
        fprintf(f, "\nMemory:    %s in use (%lld pages; a restore's --memory must allow it)",
                fb_meta_human_size((uint64_t)mem * 4096, sbuf, sizeof(sbuf)), (long long)mem);
        if (m->memory_limit)
            fprintf(f, ", %s limit", fb_meta_human_size(m->memory_limit, sbuf, sizeof(sbuf)));
    } else if (m->memory_limit) {
        fprintf(f, "\nMemory:    %s limit", fb_meta_human_size(m->memory_limit, sbuf, sizeof(sbuf)));
    }
    fputs("\nStatus:    ", f);
    put_text(f, stale ? stale : "up to date");
    fputc('\n', f);
}

void fb_fsync_parent_dir(const char *path)
{
    char *dir = strdup(path), *slash;
    int fd;
    if (!dir)
        return;
    slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    fd = open(slash ? (dir[0] ? dir : "/") : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}
