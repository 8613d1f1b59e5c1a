/* util_json.c: decoding the JSON documents that arrive over the wire (AdmissionReviews).
 * jansson is the reference decoder, and everything after decoding works on its values. Its
 * lexer reads a byte at a time, which made decoding half of the webhook's CPU time, so cJSON
 * (about three times faster) decodes first whenever a scan of the text shows that the two
 * cannot disagree; jansson decides everything else, errors included. Both libraries allocate
 * through hooks that, inside a util_json_scope, carve from the scope's arena. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#include "util/banned.h"

/* ---- allocation scopes ------------------------------------------------------------------ */

/* The innermost open scope of this thread. A thread-local rather than a context field because
 * the libraries' allocator hooks take no argument: this is the only way to reach the arena.
 * initial-exec, because the server's code is in a dlopen()ed module, where the default model
 * makes every read a call to __tls_get_addr (2% of the webhook's CPU, from the hooks); one
 * pointer fits glibc's static TLS reserve for modules. */
static _Thread_local util_json_scope *scope_current __attribute__((tls_model("initial-exec")));
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

/* Per-node allocations were a third of the webhook's CPU (malloc, free, and glibc's
 * consolidation of the freed nodes), hence the arena. */
static void *hook_malloc(size_t size)
{
    util_json_scope *s = scope_current;
    return s ? util_arena_alloc(&s->arena, size) : malloc(size);
}

/* Memory of any open scope on this thread is let go with its scope; the rest was malloc'd,
 * before the scope or outside any (rule constants, the provenance index). */
static void hook_free(void *p)
{
    for (util_json_scope *s = scope_current; s && p; s = s->outer)
        if (util_arena_owns(&s->arena, p))
            return;
    free(p);
}

static void hooks_install(void)
{
    cJSON_Hooks hooks = {.malloc_fn = hook_malloc, .free_fn = hook_free};
    cJSON_InitHooks(&hooks);
    json_set_alloc_funcs(hook_malloc, hook_free);
}

void util_json_init(void)
{
    pthread_once(&hooks_once, hooks_install);
}

/* Blocks of 8 times the text hold a typical tree (cJSON's and jansson's nodes run to 10 to 20
 * times the text) in two or three blocks; util_arena_owns walks them on every free. */
void util_json_scope_begin(util_json_scope *s, size_t size_hint, size_t budget)
{
    util_json_init();
    size_t block = size_hint < SIZE_MAX / 8 ? size_hint * 8 : SIZE_MAX;
    block = block < 64 * 1024 ? 64 * 1024 : block > 8 * 1024 * 1024 ? 8 * 1024 * 1024 : block;
    util_arena_init_pooled(&s->arena, block);
    s->budget = budget;
    s->outer = scope_current;
    scope_current = s;
}

/* Wiped: a request's tree may hold a Secret's values, and this is the one place every such
 * tree passes through. */
void util_json_scope_end(util_json_scope *s)
{
    scope_current = s->outer;
    util_arena_release_secret(&s->arena);
}

bool util_json_in_scope(void)
{
    return scope_current != NULL;
}

/* Straight into the buffer's free space, which a second pass enlarges when the first finds it
 * short: jansson's callback dumper costs a call per token. */
int util_json_dump(util_buf *out, const json_t *v, size_t flags)
{
    size_t room = out->cap > out->len + 1 ? out->cap - out->len - 1 : 0;
    if (room < 1024 && util_buf_reserve(out, 1024) < 0)
        return UTIL_ENOMEM;
    room = out->cap - out->len - 1;
    size_t n = json_dumpb(v, out->data + out->len, room, flags);
    if (n == 0)
        return UTIL_ENOMEM; /* jansson's only failure, as an empty text is not JSON */
    if (n > room) {
        if (util_buf_reserve(out, n) < 0 || json_dumpb(v, out->data + out->len, n, flags) != n)
            return UTIL_ENOMEM;
    }
    out->len += n;
    out->data[out->len] = '\0';
    return 0;
}

/* ---- decoding ---------------------------------------------------------------------------- */

/* The scan's findings on a text. */
typedef struct json_scan {
    bool simple;   /* cJSON's reading equals jansson's: see scan_byte_outside */
    size_t values; /* about as many as the text holds: its [ { , and : outside strings */
} json_scan;

/* Outside strings, cJSON reads a few things jansson refuses or reads otherwise: a number with a
 * fraction or an exponent (cJSON keeps only a double, so 1.0 would come back as the integer
 * 1), '+' and leading zeros, and control characters it treats as whitespace. */
static bool simple_outside(const char *s, size_t len, size_t i)
{
    unsigned char c = (unsigned char)s[i];
    bool digit_before = i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9';
    switch (c) {
    case '.':
    case '+':
        return false;
    case 'e':
    case 'E':
        return !digit_before; /* an exponent; the e of true and false follows a letter */
    case '0':
        return digit_before || i + 1 >= len || s[i + 1] < '0' || s[i + 1] > '9';
    default:
        return c >= 0x20 || c == '\t' || c == '\n' || c == '\r';
    }
}

/* The four digits of a \u escape. cJSON reads a malformed one as something (jansson refuses
 * it), and its strings end at a NUL, so an escaped NUL would shorten the string. */
static bool simple_escape(const char *hex, size_t left)
{
    if (left < 4)
        return false;
    for (int k = 0; k < 4; k++)
        if (!isxdigit((unsigned char)hex[k]))
            return false;
    return memcmp(hex, "0000", 4) != 0;
}

/* From just inside a string, the index of its closing quote (len when there is none). Clears
 * simple at what jansson refuses or cJSON reads otherwise: a raw control character, a bad or
 * NUL \u escape, invalid UTF-8. Having checked the UTF-8 here, the fast decoder's strings need
 * no second check. */
static size_t scan_string(json_scan *out, const unsigned char *s, size_t len, size_t i)
{
    while (i < len) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        if (c == '"')
            return i;
        if (c == '\\') {
            if (i + 1 < len && s[i + 1] == 'u' &&
                !simple_escape((const char *)s + i + 2, len - i - 2))
                out->simple = false;
            i += 2; /* the escaped byte may be a quote */
        } else if (c < 0x20) {
            out->simple = false;
            i++;
        } else {
            size_t n = util_utf8_len(s + i, len - i);
            if (n == 0) {
                out->simple = false;
                n = 1;
            }
            i += n;
        }
    }
    return len;
}

/* One pass over the text: refuse nesting deeper than max_depth before any recursive decoder
 * sees it, and find out whether the fast decoder may be used. */
static int scan(json_scan *out, const char *text, size_t len, unsigned max_depth, util_error *err)
{
    const unsigned char *s = (const unsigned char *)text;
    unsigned depth = 0;
    size_t i = 0;
    out->simple = true;
    out->values = 1;
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    if (i == len || (s[i] != '{' && s[i] != '['))
        out->simple = false; /* a bare value, a byte-order mark, or nothing: jansson's to judge */
    for (; i < len; i++) {
        unsigned char c = s[i];
        if (c == '"') {
            i = scan_string(out, s, len, i + 1);
        } else if (c == '[' || c == '{') {
            out->values++;
            if (++depth > max_depth)
                return util_error_set(err, UTIL_ELIMIT,
                                      "JSON nesting deeper than %u levels at byte %zu", max_depth,
                                      i);
        } else if (c == ']' || c == '}') {
            if (depth > 0)
                depth--;
        } else if (c == ',' || c == ':') {
            out->values++;
        } else if (out->simple && !simple_outside(text, len, i)) {
            out->simple = false;
        }
    }
    return 0;
}

/* The jansson value of a cJSON tree, or NULL where jansson would read the text otherwise (a
 * duplicate key, an integer a double does not hold exactly). The scan has checked the UTF-8,
 * hence the _nocheck constructors: jansson's own check was a fifth of decoding. */
static json_t *from_cjson(const cJSON *c)
{
    json_t *v;
    if (cJSON_IsObject(c)) {
        if (!(v = json_object()))
            return NULL;
        for (const cJSON *m = c->child; m; m = m->next) {
            size_t before = json_object_size(v);
            json_t *child = from_cjson(m);
            if (!child || json_object_set_new_nocheck(v, m->string, child) < 0 ||
                json_object_size(v) == before) {
                json_decref(v);
                return NULL;
            }
        }
        return v;
    }
    if (cJSON_IsArray(c)) {
        if (!(v = json_array()))
            return NULL;
        for (const cJSON *m = c->child; m; m = m->next) {
            if (json_array_append_new(v, from_cjson(m)) < 0) {
                json_decref(v);
                return NULL;
            }
        }
        return v;
    }
    if (cJSON_IsString(c))
        return json_stringn_nocheck(c->valuestring, strlen(c->valuestring));
    if (cJSON_IsNumber(c)) {
        /* Past 2^53 a double skips integers: the text may have said something else. */
        if (fabs(c->valuedouble) >= 9007199254740992.0)
            return NULL;
        return json_integer((json_int_t)c->valuedouble);
    }
    if (cJSON_IsTrue(c))
        return json_true();
    if (cJSON_IsFalse(c))
        return json_false();
    return cJSON_IsNull(c) ? json_null() : NULL;
}

/* cJSON's decoding, or NULL when it cannot be used for this text. */
static json_t *decode_fast(const char *text, size_t len)
{
    const char *end = NULL;
    cJSON *c = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    json_t *v = NULL;
    if (!c)
        return NULL;
    /* What follows the document must be whitespace only, as for jansson. */
    size_t rest = end ? (size_t)(end - text) : len;
    while (rest < len &&
           (text[rest] == ' ' || text[rest] == '\t' || text[rest] == '\n' || text[rest] == '\r'))
        rest++;
    if (rest == len)
        v = from_cjson(c);
    if (!util_json_in_scope()) /* in a scope, the tree goes with the arena */
        cJSON_Delete(c);
    return v;
}

/* What decoding a text takes, from the scan: each value a cJSON node and a jansson value (with
 * its slot or pair), its bytes copied by both. Measured: 13 to 15 times the text for the
 * apiserver's reviews, 67 times for an array of one-digit numbers; this comes within a fifth
 * of both. */
static size_t decode_cost(const json_scan *sc, size_t len)
{
    return sc->values * 128 + len * 3;
}

/* A tree over this thread's scope budget is refused before any decoder runs: neither library
 * is safe when an allocation fails mid-parse (jansson's lexer ignores a failed buffer growth and
 * reads past the buffer), so the budget is never enforced by failing allocations. */
static int check_budget(const json_scan *sc, size_t len, util_error *err)
{
    util_json_scope *s = scope_current;
    if (!s || !s->budget || decode_cost(sc, len) <= s->budget)
        return 0;
    bool mib = s->budget >= 1u << 20;
    return util_error_set(err, UTIL_ENOMEM, "the JSON needs more than %zu %s of memory to decode",
                          mib ? s->budget >> 20 : s->budget >> 10, mib ? "MiB" : "KiB");
}

int util_json_decode(json_t **out, const char *text, size_t len, unsigned max_depth,
                     util_error *err)
{
    json_scan sc;
    json_error_t jerr;
    int rc = scan(&sc, text, len, max_depth, err);
    *out = NULL;
    if (rc < 0)
        return rc;
    if ((rc = check_budget(&sc, len, err)) < 0)
        return rc;
    if (sc.simple && (*out = decode_fast(text, len)) != NULL)
        return 0;
    *out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (*out == NULL)
        return util_error_set(err, UTIL_ESYNTAX, "malformed JSON at line %d column %d: %s",
                              jerr.line, jerr.column, jerr.text);
    return 0;
}
