/* util_buf.c: byte slices and growable buffers. */
#include "util/util.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

util_slice util_slice_cstr(const char *s)
{
    return (util_slice){s, s ? strlen(s) : 0};
}

bool util_slice_eq(util_slice a, util_slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool util_slice_eq_cstr(util_slice a, const char *s)
{
    return util_slice_eq(a, util_slice_cstr(s));
}

void util_buf_init(util_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void util_buf_release(util_buf *b)
{
    free(b->data);
    util_buf_init(b);
}

void util_buf_release_secret(util_buf *b)
{
    if (b->data)
        sodium_memzero(b->data, b->cap);
    util_buf_release(b);
}

int util_grow(void *items, size_t *cap, size_t count, size_t size, size_t first)
{
    void *old, *grown;
    size_t n;
    if (count < *cap)
        return 0;
    n = *cap ? *cap * 2 : first;
    if (n > SIZE_MAX / size)
        return UTIL_ENOMEM;
    memcpy(&old, items, sizeof old); /* items is a T **: read it without assuming T */
    grown = realloc(old, n * size);
    if (!grown)
        return UTIL_ENOMEM;
    memcpy(items, &grown, sizeof grown);
    *cap = n;
    return 0;
}

/* The capacity b needs for extra more bytes and the NUL: b->cap when that suffices, else
 * doubled up to it; 0 when the size overflows. */
static size_t grown_cap(const util_buf *b, size_t extra)
{
    if (extra > SIZE_MAX / 2 - b->len)
        return 0;
    size_t need = b->len + extra + 1, cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    return cap;
}

int util_buf_reserve(util_buf *b, size_t extra)
{
    size_t cap = grown_cap(b, extra);
    if (cap == 0)
        return UTIL_ENOMEM;
    if (cap == b->cap)
        return 0;
    char *data = realloc(b->data, cap);
    if (!data)
        return UTIL_ENOMEM;
    b->data = data;
    b->cap = cap;
    return 0;
}

static void append_reserved(util_buf *b, const void *data, size_t len)
{
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

int util_buf_append(util_buf *b, const void *data, size_t len)
{
    if (util_buf_reserve(b, len) < 0)
        return UTIL_ENOMEM;
    append_reserved(b, data, len);
    return 0;
}

int util_buf_append_secret(util_buf *b, const void *data, size_t len)
{
    size_t cap = grown_cap(b, len);
    if (cap == 0)
        return UTIL_ENOMEM;
    if (cap != b->cap) {
        /* Moved by hand: realloc may leave the old bytes behind, unwiped. */
        char *moved = malloc(cap);
        if (!moved)
            return UTIL_ENOMEM;
        if (b->data) {
            memcpy(moved, b->data, b->len + 1);
            sodium_memzero(b->data, b->cap);
            free(b->data);
        }
        b->data = moved;
        b->cap = cap;
    }
    append_reserved(b, data, len);
    return 0;
}

int util_buf_puts(util_buf *b, const char *s)
{
    return util_buf_append(b, s, strlen(s));
}

int util_buf_printf(util_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || util_buf_reserve(b, (size_t)n) < 0)
        return UTIL_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *util_buf_steal(util_buf *b, size_t *len_out)
{
    char *data = b->data;
    if (len_out)
        *len_out = b->len;
    util_buf_init(b);
    return data;
}
