/* Arena, buffers, errors, globbing. */
#include "test.h"
#include "util/util.h"

static void test_arena(void)
{
    util_arena a;
    util_arena_init(&a, 256);
    char *s = util_arena_strdup(&a, "hello");
    CHECK_STR(s, "hello");
    void *big = util_arena_alloc(&a, 10000); /* larger than a block */
    CHECK(big != NULL);
    CHECK(((uintptr_t)big & 15) == 0);
    memset(big, 0xAB, 10000);
    for (int i = 0; i < 1000; i++)
        CHECK(util_arena_alloc(&a, 24) != NULL);
    CHECK_STR(util_arena_printf(&a, "%d-%s", 7, "x"), "7-x");
    CHECK_STR(s, "hello"); /* earlier allocations survive later ones */
    util_arena_reset(&a);
    CHECK_INT(a.used, 0);
    CHECK_STR(util_arena_strdup(&a, "again"), "again");
    util_arena_release(&a);
}

static void test_buf(void)
{
    util_buf b;
    util_buf_init(&b);
    CHECK_INT(util_buf_puts(&b, "a\"b\\"), 0);
    CHECK_INT(util_buf_printf(&b, "%05d", 42), 0);
    CHECK_STR(b.data, "a\"b\\00042");
    util_buf_release(&b);

    /* The secret variant grows by moving: every piece kept in order, room doubled */
    util_buf_init(&b);
    char piece[100];
    for (int i = 0; i < 50; i++) {
        snprintf(piece, sizeof piece, "%02d-0123456789abcdef|", i);
        CHECK_INT(util_buf_append_secret(&b, piece, strlen(piece)), 0);
    }
    CHECK_INT(b.len, 50 * 20);
    CHECK_INT(b.cap, 1024);
    CHECK(strncmp(b.data, "00-0123456789abcdef|01-", 23) == 0);
    CHECK_STR(b.data + 49 * 20, "49-0123456789abcdef|");
    CHECK_INT(util_buf_append_secret(&b, piece, (size_t)-1 / 2), UTIL_ENOMEM);
    CHECK_INT(b.len, 1000); /* an impossible size leaves the buffer as it was */
    util_buf_release_secret(&b);
}

static void test_grow(void)
{
    int *items = NULL;
    size_t cap = 0, count = 0;
    for (int i = 0; i < 100; i++) {
        CHECK_INT(util_grow(&items, &cap, count, sizeof(*items), 4), 0);
        items[count++] = i;
    }
    CHECK_INT(cap, 128); /* 4, 8, ... 128: doubled, never grown while there was room */
    CHECK_INT(items[99], 99);
    CHECK_INT(util_grow(&items, &cap, cap, (size_t)-1 / 64, 4), UTIL_ENOMEM);
    CHECK_INT(cap, 128); /* an overflowing size leaves the array as it was */
    free(items);
}

static void test_error(void)
{
    util_error err;
    char buf[300];
    util_error_clear(&err);
    CHECK_INT(util_error_at(&err, UTIL_ESYNTAX, "r.rules", 3, 7, "expected '%s'", ")"),
              UTIL_ESYNTAX);
    CHECK_STR(util_error_format(&err, buf, sizeof(buf)), "r.rules:3:7: expected ')'");
    util_error_prefix(&err, "item '%s'", "k");
    CHECK_STR(err.msg, "item 'k': expected ')'");
    unsigned line, col;
    util_linecol("ab\ncd\nef", 8, 4, &line, &col);
    CHECK_INT(line, 2);
    CHECK_INT(col, 2);
    CHECK_INT(util_error_set(NULL, -5, "ignored"), -5); /* a NULL error is allowed */
}

static void test_glob(void)
{
    CHECK(util_glob_match("kube-*", "kube-system"));
    CHECK(util_glob_match("*", ""));
    CHECK(util_glob_match("a?c", "abc"));
    CHECK(!util_glob_match("kube-*", "default"));
    CHECK(util_glob_match("system:serviceaccount:*:default", "system:serviceaccount:x:default"));
    CHECK(!util_glob_match("a*b", "a"));
}

static void test_json_path(void)
{
    json_t *v = json_pack("{s:{s:s}}", "metadata", "name", "web");
    CHECK_STR(json_string_value(util_json_path(v, "metadata.name")), "web");
    CHECK(util_json_path(v, "metadata.nope") == NULL);
    CHECK(util_json_path(v, "spec.x.y") == NULL);
    json_decref(v);
}

int main(void)
{
    test_arena();
    test_buf();
    test_grow();
    test_error();
    test_glob();
    test_json_path();
    return test_finish();
}
