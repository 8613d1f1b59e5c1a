/* The manifest loader: YAML resolved as kubectl resolves it, JSON, Lists, errors, limits. */
#include "test.h"
#include "util/util.h"

static json_t *parse_one(const char *text, util_error *err)
{
    util_manifest_set set;
    json_t *v = NULL;
    util_manifest_set_init(&set);
    if (util_manifest_parse(&set, "t.yaml", text, strlen(text), 0, err) == 0 && set.count == 1)
        v = json_incref(set.docs[0].value);
    util_manifest_set_release(&set);
    return v;
}

static void test_scalars(void)
{
    util_error err;
    json_t *v = parse_one("a: yes\nb: \"yes\"\nc: 0x1F\nd: 010\ne: 1.5\nf: ~\ng: 1_000\n"
                          "h: .inf\ni: !!str 12\nj: 12abc\nk: -7\nl: Off\nm: 1e3\n"
                          "n: nothing\no: offx\np: +1\nq: .5\nr: -x\ns: yES\nt: TRUE\n",
                          &err);
    CHECK(v != NULL);
    CHECK(json_is_true(json_object_get(v, "a")));
    CHECK_STR(json_string_value(json_object_get(v, "b")), "yes");
    CHECK_INT(json_integer_value(json_object_get(v, "c")), 31);
    CHECK_INT(json_integer_value(json_object_get(v, "d")), 8);
    CHECK(json_real_value(json_object_get(v, "e")) == 1.5);
    CHECK(json_is_null(json_object_get(v, "f")));
    CHECK_INT(json_integer_value(json_object_get(v, "g")), 1000);
    CHECK_STR(json_string_value(json_object_get(v, "h")), ".inf");
    CHECK_STR(json_string_value(json_object_get(v, "i")), "12");
    CHECK_STR(json_string_value(json_object_get(v, "j")), "12abc");
    CHECK_INT(json_integer_value(json_object_get(v, "k")), -7);
    CHECK(json_is_false(json_object_get(v, "l")));
    CHECK(json_real_value(json_object_get(v, "m")) == 1000.0);
    CHECK_STR(json_string_value(json_object_get(v, "n")), "nothing");
    CHECK_STR(json_string_value(json_object_get(v, "o")), "offx");
    CHECK_INT(json_integer_value(json_object_get(v, "p")), 1);
    CHECK(json_real_value(json_object_get(v, "q")) == 0.5);
    CHECK_STR(json_string_value(json_object_get(v, "r")), "-x");
    CHECK_STR(json_string_value(json_object_get(v, "s")), "yES");
    CHECK(json_is_true(json_object_get(v, "t")));
    json_decref(v);
}

static void test_documents_and_lists(void)
{
    const char *text = "# leading comment\n"
                       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
                       "---\n"
                       "---\n"
                       "apiVersion: v1\nkind: List\nitems:\n"
                       "- {apiVersion: v1, kind: Service, metadata: {name: s1}}\n"
                       "- {apiVersion: v1, kind: Service, metadata: {name: s2}}\n";
    util_manifest_set set;
    util_error err;
    util_manifest_set_init(&set);
    CHECK_INT(
        util_manifest_parse(&set, "t.yaml", text, strlen(text), UTIL_MANIFEST_EXPAND_LISTS, &err),
        0);
    CHECK_INT(set.count, 3);
    if (set.count == 3) {
        CHECK_INT(set.docs[0].index, 0);
        CHECK_INT(set.docs[0].item, -1);
        CHECK_INT(set.docs[1].index, 2); /* the empty document still counts */
        CHECK_INT(set.docs[1].item, 0);
        CHECK_INT(set.docs[2].item, 1);
        CHECK_STR(util_json_str(util_json_path(set.docs[2].value, "metadata"), "name"), "s2");
        CHECK_INT(set.docs[1].line, 6);
    }
    util_manifest_set_release(&set);
}

typedef struct streamed {
    unsigned seen, stop_after;
    unsigned index[4];
} streamed;

static int on_doc(void *ctx, const util_manifest_doc *doc)
{
    streamed *st = ctx;
    if (st->seen < 4)
        st->index[st->seen] = doc->index;
    if (++st->seen == st->stop_after)
        return -42;
    return 0;
}

/* util_manifest_each hands documents over one by one, before any later syntax error, and stops
 * when the callback says so. */
static void test_streaming(void)
{
    const char *text = "a: 1\n---\nb: 2\n---\nc: [\n";
    util_error err;
    streamed st = {0, 0, {0}};
    util_error_clear(&err);
    CHECK(util_manifest_each("t.yaml", text, strlen(text), 0, on_doc, &st, &err) == UTIL_ESYNTAX);
    CHECK_INT(st.seen, 2);
    CHECK_INT(st.index[1], 1);
    CHECK_INT(err.line, 6);

    text = "a: 1\n---\nb: 2\n---\nc: 3\n";
    st = (streamed){0, 2, {0}};
    util_error_clear(&err);
    CHECK_INT(util_manifest_each("t.yaml", text, strlen(text), 0, on_doc, &st, &err), -42);
    CHECK_INT(st.seen, 2);

    text = "[{\"a\": 1}, {\"b\": 2}]";
    st = (streamed){0, 0, {0}};
    CHECK_INT(util_manifest_each("t.json", text, strlen(text), 0, on_doc, &st, &err), 0);
    CHECK_INT(st.seen, 2);
}

static void test_anchors_and_merge(void)
{
    util_error err;
    json_t *v = parse_one("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\nd: *b\n", &err);
    CHECK(v != NULL);
    CHECK_INT(json_integer_value(util_json_path(v, "c.x")), 1);
    CHECK_INT(json_integer_value(util_json_path(v, "c.y")), 3);
    CHECK_INT(json_integer_value(util_json_path(v, "d.y")), 2);
    json_decref(v);
}

static void test_json(void)
{
    const char *text = "{\"kind\":\"A\"}\n{\"kind\":\"B\"}";
    util_manifest_set set;
    util_error err;
    util_manifest_set_init(&set);
    CHECK_INT(util_manifest_parse(&set, "t.json", text, strlen(text), 0, &err), 0);
    CHECK_INT(set.count, 2);
    util_manifest_set_release(&set);
    util_manifest_set_init(&set);
    text = "{\"kind\":\"A\",\n \"x\": [1,}";
    CHECK_INT(util_manifest_parse(&set, "t.json", text, strlen(text), 0, &err), UTIL_ESYNTAX);
    CHECK_INT(err.line, 2);
    CHECK_STR(err.source, "t.json");
    CHECK_INT(set.count, 0);
    util_manifest_set_release(&set);
}

static void test_errors(void)
{
    util_error err;
    util_error_clear(&err);
    CHECK(parse_one("a: 1\nb: [1, 2\nc: 3\n", &err) == NULL);
    CHECK_INT(err.code, UTIL_ESYNTAX);
    CHECK(err.line >= 2);
    CHECK(strstr(err.msg, "yaml:") == err.msg);

    util_error_clear(&err);
    CHECK(parse_one("a: 1\na: 2\n", &err) == NULL);
    CHECK(strstr(err.msg, "duplicate key 'a'") != NULL);
    CHECK_INT(err.line, 2);

    util_error_clear(&err);
    CHECK(parse_one("x: *nope\n", &err) == NULL);
    CHECK(strstr(err.msg, "unknown anchor 'nope'") != NULL);

    /* billion laughs: each level doubles */
    char lol[4096];
    size_t n = (size_t)snprintf(lol, sizeof(lol), "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 12; i++)
        n += (size_t)snprintf(lol + n, sizeof(lol) - n,
                              "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i,
                              i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    util_error_clear(&err);
    CHECK(parse_one(lol, &err) == NULL);
    CHECK_INT(err.code, UTIL_ELIMIT);

    char deep[1000];
    memset(deep, '[', 300);
    deep[300] = '\0';
    util_error_clear(&err);
    CHECK(parse_one(deep, &err) == NULL);
    CHECK(err.code == UTIL_ESYNTAX || err.code == UTIL_ELIMIT);

    char deep_yaml[2000];
    n = 0;
    for (int i = 0; i < 150; i++)
        n += (size_t)snprintf(deep_yaml + n, sizeof(deep_yaml) - n, "- ");
    snprintf(deep_yaml + n, sizeof(deep_yaml) - n, "x\n");
    util_error_clear(&err);
    CHECK(parse_one(deep_yaml, &err) == NULL);
    CHECK_INT(err.code, UTIL_ELIMIT);
}

static void test_dump_round_trip(void)
{
    util_error err;
    util_buf b;
    json_t *v = json_pack("{s:s,s:s,s:s,s:i,s:[],s:{s:b},s:n,s:s}", "a", "yes", "b", "12", "c",
                          "plain", "d", 5, "e", "f", "g", 1, "h", "i", "");
    json_t *back;
    util_buf_init(&b);
    CHECK_INT(util_yaml_dump(&b, v), 0);
    back = parse_one(b.data, &err);
    CHECK(back != NULL && json_equal(v, back));
    json_decref(back);
    json_decref(v);
    util_buf_release(&b);
}

/* Found by fuzz_manifest: a literal "<<" key (tagged, so not a merge key) was written plain
 * and read back as a merge key. */
static void test_dump_quotes_merge_key(void)
{
    util_error err;
    util_buf b;
    json_t *v = parse_one("! <<: 1\n", &err), *back;
    CHECK(v != NULL && json_integer_value(json_object_get(v, "<<")) == 1);
    util_buf_init(&b);
    CHECK_INT(util_yaml_dump(&b, v), 0);
    back = parse_one(b.data, &err);
    CHECK(back != NULL && json_equal(v, back));
    json_decref(back);
    json_decref(v);
    util_buf_release(&b);
}

int main(void)
{
    test_scalars();
    test_documents_and_lists();
    test_streaming();
    test_anchors_and_merge();
    test_json();
    test_errors();
    test_dump_round_trip();
    test_dump_quotes_merge_key();
    return test_finish();
}
