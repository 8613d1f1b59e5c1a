/* util_arena.c: the bump allocator behind per-request and per-evaluation memory. */
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/banned.h"

#define ARENA_ALIGN 16

struct util_arena_block {
    util_arena_block *next;
    size_t size, used;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

void util_arena_init(util_arena *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 16384;
    a->used = 0;
    a->pooled = false;
}

void util_arena_init_pooled(util_arena *a, size_t block_size)
{
    util_arena_init(a, block_size);
    a->pooled = true;
}

bool util_arena_owns(const util_arena *a, const void *p)
{
    const unsigned char *q = p;
    for (const util_arena_block *b = a->head; b; b = b->next)
        if (q >= b->data && q < b->data + b->used)
            return true;
    return false;
}

static util_arena_block *block_new(size_t size)
{
    util_arena_block *b = malloc(sizeof(*b) + size);
    if (!b)
        return NULL;
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

static void *arena_carve(util_arena *a, size_t rounded);

void *util_arena_alloc(util_arena *a, size_t size)
{
    size_t rounded;
    if (size > SIZE_MAX / 2)
        return NULL;
    rounded = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (!rounded)
        rounded = ARENA_ALIGN;
    a->used += rounded;
#ifdef SEALGATE_ARENA_MALLOC
    if (a->pooled)
        return arena_carve(a, rounded);
    /* One block per allocation: ASan and valgrind see each on its own. */
    util_arena_block *b = block_new(rounded);
    if (!b)
        return NULL;
    b->used = rounded;
    b->next = a->head;
    a->head = b;
    return b->data;
#else
    return arena_carve(a, rounded);
#endif
}

/* Take rounded bytes from the newest block, opening a block when it has too little left. */
static void *arena_carve(util_arena *a, size_t rounded)
{
    util_arena_block *b = a->head;
    if (!b || b->size - b->used < rounded) {
        size_t bsize = rounded > a->block_size / 4 ? rounded : a->block_size;
        util_arena_block *nb = block_new(bsize);
        if (!nb)
            return NULL;
        if (b && bsize == rounded && b->size - b->used >= ARENA_ALIGN) {
            /* A large allocation gets its own block behind the current one, so the
             * current block's free space stays in use. */
            nb->next = b->next;
            b->next = nb;
            nb->used = rounded;
            return nb->data;
        }
        nb->next = b;
        a->head = b = nb;
    }
    void *p = b->data + b->used;
    b->used += rounded;
    return p;
}

void *util_arena_calloc(util_arena *a, size_t count, size_t size)
{
    void *p;
    if (size && count > SIZE_MAX / size)
        return NULL;
    p = util_arena_alloc(a, count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

char *util_arena_strndup(util_arena *a, const char *s, size_t len)
{
    char *p = util_arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *util_arena_strdup(util_arena *a, const char *s)
{
    return util_arena_strndup(a, s, strlen(s));
}

char *util_arena_printf(util_arena *a, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *p;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !(p = util_arena_alloc(a, (size_t)n + 1)))
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void util_arena_reset(util_arena *a)
{
    util_arena_block *b = a->head, *keep = NULL;
    while (b) {
        util_arena_block *next = b->next;
#ifndef SEALGATE_ARENA_MALLOC
        if (!next && b->size == a->block_size) {
            keep = b; /* the oldest ordinary block survives for the next request */
            keep->used = 0;
            break;
        }
#endif
        free(b);
        b = next;
    }
    a->head = keep;
    a->used = 0;
}

void util_arena_release_secret(util_arena *a)
{
    for (util_arena_block *b = a->head; b; b = b->next)
        sodium_memzero(b->data, b->used);
    util_arena_release(a);
}

void util_arena_release(util_arena *a)
{
    util_arena_reset(a);
    free(a->head);
    a->head = NULL;
}
