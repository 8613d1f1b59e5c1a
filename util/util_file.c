/* util_file.c: reading and writing whole files, and collecting the files of a folder. */
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/banned.h"

int util_file_read(util_buf *out, const char *path, size_t max, util_error *err)
{
    bool is_stdin = strcmp(path, "-") == 0;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    const char *name = is_stdin ? "<stdin>" : path;
    struct stat st = {0};
    int rc = 0;

    out->len = 0;
    if (fd < 0)
        return util_error_set(err, UTIL_EIO, "cannot open '%s': %s", name, strerror(errno));
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        rc = util_error_set(err, UTIL_EIO, "cannot read '%s': is a folder", name);
        goto out_close;
    }
    /* A regular file's size is known: one allocation instead of a doubling series of copies. */
    if (S_ISREG(st.st_mode) && (size_t)st.st_size <= max &&
        util_buf_reserve(out, (size_t)st.st_size + 1) < 0) {
        rc = util_error_set(err, UTIL_ENOMEM, "out of memory reading '%s'", name);
        goto out_close;
    }
    for (;;) {
        ssize_t n;
        if (util_buf_reserve(out, 65536) < 0) {
            rc = util_error_set(err, UTIL_ENOMEM, "out of memory reading '%s'", name);
            goto out_close;
        }
        n = read(fd, out->data + out->len, out->cap - out->len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = util_error_set(err, UTIL_EIO, "cannot read '%s': %s", name, strerror(errno));
            goto out_close;
        }
        if (n == 0)
            break;
        out->len += (size_t)n;
        if (out->len > max) {
            rc = util_error_set(err, UTIL_ELIMIT, "'%s' is over %zu bytes", name, max);
            goto out_close;
        }
    }
    out->data[out->len] = '\0';
out_close:
    if (!is_stdin)
        close(fd);
    return rc;
}

int util_file_write(const char *path, const void *data, size_t len, unsigned mode, util_error *err)
{
    char tmp[4096];
    int fd, n;
    size_t off = 0;

    n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return util_error_set(err, UTIL_EINVALID, "path too long: '%s'", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        return util_error_set(err, UTIL_EIO, "cannot create '%s': %s", tmp, strerror(errno));
    while (off < len) {
        ssize_t w = write(fd, (const char *)data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            goto out_fail;
        off += (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        fd = -1;
        goto out_fail;
    }
    if (rename(tmp, path) < 0) {
        fd = -1;
        goto out_fail;
    }
    return 0;
out_fail:
    n = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return util_error_set(err, UTIL_EIO, "cannot write '%s': %s", path, strerror(n));
}

bool util_path_is_dir(const char *path)
{
    struct stat st = {0};
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int util_strv_push(util_strv *v, const char *s)
{
    char *copy;
    if (util_grow(&v->items, &v->cap, v->count, sizeof(*v->items), 16) < 0)
        return UTIL_ENOMEM;
    copy = strdup(s);
    if (!copy)
        return UTIL_ENOMEM;
    v->items[v->count++] = copy;
    return 0;
}

void util_strv_free(util_strv *v)
{
    for (size_t i = 0; i < v->count; i++)
        free(v->items[i]);
    free(v->items);
    v->items = NULL;
    v->count = v->cap = 0;
}

static bool has_suffix(const char *name, const char *const *suffixes)
{
    size_t n = strlen(name);
    if (!suffixes)
        return true;
    for (; *suffixes; suffixes++) {
        size_t s = strlen(*suffixes);
        if (n >= s && strcmp(name + n - s, *suffixes) == 0)
            return true;
    }
    return false;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Depth bounds the walk against symlink loops and absurd trees. */
static int collect_dir(util_strv *out, const char *dir, const char *const *suffixes, int depth,
                       util_error *err)
{
    DIR *d;
    struct dirent *e;
    util_strv names = {0};
    int rc = 0;

    if (depth > 32)
        return util_error_set(err, UTIL_ELIMIT, "'%s': folders nested over 32 deep", dir);
    d = opendir(dir);
    if (!d)
        return util_error_set(err, UTIL_EIO, "cannot open '%s': %s", dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (util_strv_push(&names, e->d_name) < 0) {
            rc = util_error_set(err, UTIL_ENOMEM, "out of memory listing '%s'", dir);
            goto out;
        }
    }
    if (names.count)
        qsort(names.items, names.count, sizeof(char *), cmp_names);
    for (size_t i = 0; i < names.count && rc == 0; i++) {
        char path[4096];
        struct stat st;
        size_t dlen = strlen(dir);
        bool slash = dlen > 0 && dir[dlen - 1] == '/'; /* "dir/" as typed: no "dir//x" */
        int n = snprintf(path, sizeof(path), "%s%s%s", dir, slash ? "" : "/", names.items[i]);
        if (n < 0 || (size_t)n >= sizeof(path)) {
            rc = util_error_set(err, UTIL_EINVALID, "path too long under '%s'", dir);
            break;
        }
        if (stat(path, &st) < 0)
            continue; /* a dangling link is not a manifest */
        if (S_ISDIR(st.st_mode))
            rc = collect_dir(out, path, suffixes, depth + 1, err);
        else if (S_ISREG(st.st_mode) && has_suffix(names.items[i], suffixes) &&
                 util_strv_push(out, path) < 0)
            rc = util_error_set(err, UTIL_ENOMEM, "out of memory listing '%s'", dir);
    }
out:
    closedir(d);
    util_strv_free(&names);
    return rc;
}

int util_path_collect(util_strv *out, const char *path, const char *const *suffixes,
                      util_error *err)
{
    struct stat st = {0};
    if (strcmp(path, "-") == 0)
        return util_strv_push(out, path) < 0 ? util_error_set(err, UTIL_ENOMEM, "out of memory")
                                             : 0;
    if (stat(path, &st) < 0)
        return util_error_set(err, UTIL_EIO, "cannot open '%s': %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return collect_dir(out, path, suffixes, 0, err);
    if (util_strv_push(out, path) < 0)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    return 0;
}

uint64_t util_fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

uint64_t util_files_fingerprint(uint64_t h, const util_strv *files)
{
    for (size_t i = 0; i < files->count; i++) {
        struct stat st;
        h = util_fnv(h, files->items[i], strlen(files->items[i]) + 1);
        if (stat(files->items[i], &st) == 0) {
            h = util_fnv(h, &st.st_dev, sizeof st.st_dev);
            h = util_fnv(h, &st.st_ino, sizeof st.st_ino);
            h = util_fnv(h, &st.st_size, sizeof st.st_size);
            h = util_fnv(h, &st.st_mtim, sizeof st.st_mtim);
        }
    }
    return h;
}
