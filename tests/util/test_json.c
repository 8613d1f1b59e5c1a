/* util_json_decode: the wire decoder reads every text exactly as jansson does (same value, same
 * refusals), whichever of its two decoders answered; and nesting is refused before decoding. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "util/util.h"

/* util_json_decode and jansson agree on text: both refuse it, or both return equal values. */
static void agrees(const char *text, size_t len, const char *what)
{
    util_error err;
    json_error_t jerr;
    json_t *ours = NULL;
    json_t *ref = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    util_error_clear(&err);
    int rc = util_json_decode(&ours, text, len, 1000, &err);
    if (ref == NULL) {
        if (rc == 0)
            fprintf(stderr, "accepted what jansson refuses (%s): %s\n", what, jerr.text);
        CHECK(rc < 0);
        CHECK(ours == NULL);
    } else {
        if (rc != 0)
            fprintf(stderr, "refused what jansson reads (%s): %s\n", what, err.msg);
        CHECK_INT(rc, 0);
        CHECK(ours != NULL && json_equal(ours, ref));
    }
    json_decref(ours);
    json_decref(ref);
}

static void agrees_str(const char *text)
{
    agrees(text, strlen(text), text);
}

/* The forms where a faster reading could differ from jansson's. */
static void test_edges(void)
{
    static const char *const texts[] = {
        "{\"a\":1}",
        "{\"a\":1.0}",
        "{\"a\":1e3}",
        "{\"a\":1E3}",
        "{\"a\":-0}",
        "{\"a\":+1}",
        "{\"a\":01}",
        "{\"a\":-01}",
        "{\"a\":10}",
        "[0]",
        "[1.]",
        "[.5]",
        "[-]",
        "[1-2]",
        "{\"a\":9007199254740993}",
        "{\"a\":-9007199254740993}",
        "{\"a\":9223372036854775807}",
        "{\"a\":99999999999999999999}",
        "{\"a\":\"x\\u0000y\"}",
        "{\"a\":\"\\u00e9\"}",
        "{\"a\":\"\\ud83d\\ude00\"}",
        "{\"a\":\"\\ud83d\"}",
        "{\"a\":\"\\ude00\"}",
        "{\"a\":\"tab\there\"}",
        "{\"a\":\"\xff\"}",
        "{\"\xc3\x28\":1}",
        "{\"a\":1,\"a\":2}",
        "{\"a\":1}x",
        "{\"a\":1} \n",
        "\xEF\xBB\xBF{}",
        "\x01{}",
        "{}\x01",
        "[1,]",
        "[,1]",
        "{\"a\":true,\"b\":false,\"c\":null}",
        "[tru]",
        "[nul]",
        "{\"a\" 1}",
        "{'a':1}",
        "[1 2]",
        "\"bare\"",
        "42",
        "",
        "   ",
        "{",
        "[[[]]]",
        "{\"a\":[{\"b\":[1,{}]}]}",
        "[\"\\/\\b\\f\"]",
        "[\"\\x\"]",
        "[\"\\u0\xff\xff\"]",
        "[\"\\u12\"]",
        "[\"\\uZZZZ\"]",
        "[\"\\u00\"]",
        "{\"\":0}",
        "[1\x01]",
        "[ 1 ]",
        "[\f1]",
        /* UTF-8, which the scan checks for the fast decoder: valid of every length, then an
         * overlong form, a surrogate, past U+10FFFF, cut short, a lone continuation byte */
        "{\"na\xc3\xafve\":\"\xe2\x80\x93 \xe6\x97\xa5 \xf0\x9f\x9a\x80\"}",
        "[\"\xc2\xa0\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf\"]",
        "[\"\xc0\xaf\"]",
        "[\"\xe0\x80\xaf\"]",
        "[\"\xed\xa0\x80\"]",
        "[\"\xf4\x90\x80\x80\"]",
        "[\"\xe2\x82\"]",
        "[\"\xe2\x82\"  ]",
        "[\"\x80\"]",
        "{\"\xe2\x82\":1}",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        agrees_str(texts[i]);
    /* An embedded NUL byte, inside and outside a string. */
    agrees("{\"a\":\"x\0y\"}", 11, "NUL in a string");
    agrees("{\"a\":1}\0", 8, "NUL after the document");
}

/* Nesting is counted before any decoder runs; brackets inside strings do not count. */
static void test_depth(void)
{
    char deep[400];
    util_error err;
    json_t *v = NULL;
    memset(deep, '[', 150);
    memset(deep + 150, ']', 150);
    CHECK_INT(util_json_decode(&v, deep, 300, 100, &err), UTIL_ELIMIT);
    CHECK_STR(err.msg, "JSON nesting deeper than 100 levels at byte 100");
    CHECK_INT(util_json_decode(&v, deep, 300, 150, &err), 0);
    json_decref(v);
    const char *quoted = "{\"s\":\"[[[[[[\\\"[[[[\"}";
    CHECK_INT(util_json_decode(&v, quoted, strlen(quoted), 2, &err), 0);
    CHECK_STR(json_string_value(json_object_get(v, "s")), "[[[[[[\"[[[[");
    json_decref(v);
}

/* Inside a scope, the decoded tree comes from the scope's arena and needs no freeing; values made
 * before the scope are freed for real when dropped inside it (ASan reports a leak otherwise);
 * after the scope, allocation is malloc again. */
static void test_scope(void)
{
    util_error err;
    json_t *before = json_pack("{s:[i,i,i], s:s}", "a", 1, 2, 3, "s", "made outside");
    const char *text = "{\"kind\":\"Pod\",\"spec\":{\"containers\":[{\"name\":\"a\"}]}}";
    util_json_scope outer, inner;
    util_json_scope_begin(&outer, strlen(text), 0);
    CHECK(util_json_in_scope());
    json_t *v = NULL;
    CHECK_INT(util_json_decode(&v, text, strlen(text), 100, &err), 0);
    CHECK(v != NULL && util_arena_owns(&outer.arena, v));
    json_t *c = json_object_get(json_object_get(v, "spec"), "containers");
    CHECK(util_arena_owns(&outer.arena, json_array_get(c, 0)));
    CHECK(!util_arena_owns(&outer.arena, before));
    /* A nested scope's values are its own; the outer arena does not grow. */
    size_t used = outer.arena.used;
    util_json_scope_begin(&inner, 0, 0);
    json_t *n = json_string("inner");
    CHECK(util_arena_owns(&inner.arena, n) && !util_arena_owns(&outer.arena, n));
    json_decref(n);
    util_json_scope_end(&inner);
    CHECK_INT(outer.arena.used, used);
    /* Growing an object inside the scope frees its old table into the arena: no effect. */
    for (int i = 0; i < 100; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        CHECK_INT(json_object_set_new(v, key, json_integer(i)), 0);
    }
    CHECK_INT(json_integer_value(json_object_get(v, "k99")), 99);
    json_decref(before); /* malloc'd: really freed here */
    util_buf out;
    util_buf_init(&out);
    CHECK_INT(util_json_dump(&out, json_object_get(v, "spec"), JSON_COMPACT), 0);
    CHECK_STR(out.data, "{\"containers\":[{\"name\":\"a\"}]}");
    util_buf_release(&out);
    util_json_scope_end(&outer);
    CHECK(!util_json_in_scope());
    json_t *after = json_string("after");
    CHECK(!util_arena_owns(&outer.arena, after));
    json_decref(after);
}

/* A scope's budget: a text whose tree would pass it is refused with a message saying so before
 * either decoder runs (cJSON for the plain text, jansson for the one with a fraction): nothing
 * was allocated; a text within it decodes. */
static void test_budget(void)
{
    util_buf text;
    util_buf_init(&text);
    CHECK_INT(util_buf_puts(&text, "{\"a\":[1"), 0);
    for (int i = 0; i < 20000; i++)
        CHECK_INT(util_buf_puts(&text, ",1"), 0);
    CHECK_INT(util_buf_puts(&text, "]}"), 0);
    for (int fraction = 0; fraction < 2; fraction++) {
        if (fraction)
            text.data[7] = '.'; /* [1,1,1 -> [1.1,1: jansson's to decode */
        util_json_scope scope;
        util_error err;
        json_t *v = NULL;
        util_json_scope_begin(&scope, text.len, 256 * 1024);
        CHECK_INT(util_json_decode(&v, text.data, text.len, 100, &err), UTIL_ENOMEM);
        CHECK(v == NULL);
        CHECK_STR(err.msg, "the JSON needs more than 256 KiB of memory to decode");
        CHECK_INT(scope.arena.used, 0);
        util_json_scope_end(&scope);
        util_json_scope_begin(&scope, text.len, 16u << 20);
        CHECK_INT(util_json_decode(&v, text.data, text.len, 100, &err), 0);
        CHECK_INT(json_array_size(json_object_get(v, "a")), 20001 - fraction);
        util_json_scope_end(&scope);
    }
    util_buf_release(&text);
}

/* util_json_dump appends what json_dumps writes, whether the buffer's room suffices or not. */
static void test_dump(void)
{
    json_t *big = json_array();
    for (int i = 0; i < 2000; i++)
        json_array_append_new(big, json_pack("{s:i, s:s}", "i", i, "s", "\u00e9\n\"x\""));
    const json_t *cases[] = {big, json_array_get(big, 7)};
    for (size_t k = 0; k < 2; k++) {
        for (size_t flags = 0; flags <= JSON_INDENT(2); flags += JSON_INDENT(2)) {
            char *ref = json_dumps(cases[k], flags);
            util_buf out;
            util_buf_init(&out);
            CHECK_INT(util_buf_puts(&out, "prefix:"), 0);
            CHECK_INT(util_json_dump(&out, cases[k], flags), 0);
            CHECK(strncmp(out.data, "prefix:", 7) == 0 && strcmp(out.data + 7, ref) == 0);
            CHECK_INT(out.len, 7 + strlen(ref));
            util_buf_release(&out);
            free(ref);
        }
    }
    json_decref(big);
}

/* Every file of a folder: the AdmissionReviews a real kube-apiserver sent, and the corpora. */
static void test_folder(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (d == NULL) {
        fprintf(stderr, "skipping %s: not found\n", dir);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        char path[1024];
        util_buf text;
        util_error err;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        util_buf_init(&text);
        if (util_file_read(&text, path, 1 << 24, &err) == 0) {
            agrees(text.data, text.len, path);
            util_json_scope scope; /* the server decodes inside one */
            util_json_scope_begin(&scope, text.len, 0);
            agrees(text.data, text.len, path);
            util_json_scope_end(&scope);
        }
        util_buf_release(&text);
    }
    closedir(d);
}

int main(void)
{
    const char *src = getenv("SEALGATE_SOURCE_DIR");
    char dir[1024];
    util_json_init();
    test_edges();
    test_depth();
    test_scope();
    test_budget();
    test_dump();
    if (src != NULL) {
        snprintf(dir, sizeof dir, "%s/../shared/fixtures/admissionreview", src);
        test_folder(dir);
        snprintf(dir, sizeof dir, "%s/fuzz/corpus/admission", src);
        test_folder(dir);
        snprintf(dir, sizeof dir, "%s/fuzz/corpus/json", src);
        test_folder(dir);
    }
    return test_finish();
}
