/* pol_builtin.c: the functions rules call (docs/rules.md, "Functions"). Each takes values and
 * gives a value; results that need memory take it from the evaluation's arena. Wrong types
 * give null, never an error: a rule over an odd object must still evaluate. */
#include "policy/pol_int.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

static void *alloc(pol_ctx *c, size_t size)
{
    void *p = util_arena_alloc(c->arena, size ? size : 1);
    if (!p) {
        c->oom = true;
        c->over = true;
    }
    return p;
}

static pol_value mkstr(pol_ctx *c, const char *s, size_t len)
{
    char *d = alloc(c, len + 1);
    if (!d)
        return pv_null();
    memcpy(d, s, len);
    d[len] = '\0';
    return pv_str(d, len);
}

static pol_value mklist(pol_ctx *c, size_t n, pol_value **items)
{
    *items = alloc(c, n * sizeof(pol_value));
    if (!*items)
        return pv_null();
    return (pol_value){.t = PV_LIST, .len = (uint32_t)n, .u.items = *items};
}

static bool both_str(pol_value a, pol_value b)
{
    return a.t == PV_STR && b.t == PV_STR;
}

/* ---- strings -------------------------------------------------------------------------- */

static pol_value f_len(pol_ctx *c, pol_value *a, size_t n)
{
    if (a[0].t == PV_STR) {
        size_t chars = 0; /* characters, not bytes: UTF-8 continuation bytes do not count */
        for (size_t i = 0; i < a[0].len; i++)
            chars += ((unsigned char)a[0].u.s[i] & 0xC0) != 0x80;
        return pv_num((double)chars);
    }
    if (pv_is_list(a[0]) || pv_is_map(a[0]))
        return pv_num((double)pv_len(a[0]));
    return pv_null();
}

static pol_value f_case(pol_ctx *c, pol_value s, bool up)
{
    if (s.t != PV_STR)
        return pv_null();
    pol_value r = mkstr(c, s.u.s, s.len);
    if (r.t != PV_STR)
        return r;
    char *d = (char *)r.u.s;
    for (size_t i = 0; i < r.len; i++)
        d[i] = (char)(up ? toupper((unsigned char)d[i]) : tolower((unsigned char)d[i]));
    return r;
}

static pol_value f_lower(pol_ctx *c, pol_value *a, size_t n)
{
    return f_case(c, a[0], false);
}

static pol_value f_upper(pol_ctx *c, pol_value *a, size_t n)
{
    return f_case(c, a[0], true);
}

static pol_value f_trim(pol_ctx *c, pol_value *a, size_t n)
{
    if (a[0].t != PV_STR)
        return pv_null();
    size_t s = 0, e = a[0].len;
    while (s < e && isspace((unsigned char)a[0].u.s[s]))
        s++;
    while (e > s && isspace((unsigned char)a[0].u.s[e - 1]))
        e--;
    return mkstr(c, a[0].u.s + s, e - s);
}

static pol_value f_starts(pol_ctx *c, pol_value *a, size_t n)
{
    if (!both_str(a[0], a[1]))
        return pv_bool(false);
    return pv_bool(a[1].len <= a[0].len && memcmp(a[0].u.s, a[1].u.s, a[1].len) == 0);
}

static pol_value f_ends(pol_ctx *c, pol_value *a, size_t n)
{
    if (!both_str(a[0], a[1]))
        return pv_bool(false);
    return pv_bool(a[1].len <= a[0].len &&
                   memcmp(a[0].u.s + a[0].len - a[1].len, a[1].u.s, a[1].len) == 0);
}

static pol_value f_contains(pol_ctx *c, pol_value *a, size_t n)
{
    return pv_bool(pol_eval__in(c, a[1], a[0]));
}

static pol_value f_split(pol_ctx *c, pol_value *a, size_t n)
{
    if (!both_str(a[0], a[1]))
        return pv_null();
    pol_value *items;
    const char *s = a[0].u.s, *end = s + a[0].len;
    if (a[1].len == 0) {
        pol_value l = mklist(c, 1, &items);
        if (l.t == PV_LIST)
            items[0] = a[0];
        return l;
    }
    size_t parts = 1;
    for (const char *p = s; (p = pol_memmem(p, (size_t)(end - p), a[1].u.s, a[1].len));
         p += a[1].len)
        parts++;
    c->steps += parts;
    pol_value l = mklist(c, parts, &items);
    if (l.t != PV_LIST)
        return l;
    size_t k = 0;
    const char *p = s;
    for (;;) {
        const char *q = pol_memmem(p, (size_t)(end - p), a[1].u.s, a[1].len);
        items[k++] = mkstr(c, p, q ? (size_t)(q - p) : (size_t)(end - p));
        if (!q)
            break;
        p = q + a[1].len;
    }
    return l;
}

static pol_value f_join(pol_ctx *c, pol_value *a, size_t n)
{
    char buf[4096];
    size_t len = 0;
    if (!pv_is_list(a[0]) || a[1].t != PV_STR)
        return pv_null();
    size_t items = pv_len(a[0]);
    c->steps += items;
    for (size_t i = 0; i < items && len < sizeof(buf); i++) {
        if (i) {
            size_t k = a[1].len < sizeof(buf) - len ? a[1].len : sizeof(buf) - len;
            memcpy(buf + len, a[1].u.s, k);
            len += k;
        }
        len = pv_render(buf, len, sizeof(buf), pv_at(a[0], i), false);
    }
    return mkstr(c, buf, len);
}

static pol_value f_replace(pol_ctx *c, pol_value *a, size_t n)
{
    if (!both_str(a[0], a[1]) || a[2].t != PV_STR)
        return pv_null();
    if (a[1].len == 0)
        return a[0];
    size_t hits = 0;
    const char *s = a[0].u.s, *end = s + a[0].len;
    for (const char *p = s; (p = pol_memmem(p, (size_t)(end - p), a[1].u.s, a[1].len));
         p += a[1].len)
        hits++;
    size_t len = a[0].len + hits * a[2].len - hits * a[1].len;
    char *d = alloc(c, len + 1);
    if (!d)
        return pv_null();
    size_t k = 0;
    const char *p = s;
    for (;;) {
        const char *q = pol_memmem(p, (size_t)(end - p), a[1].u.s, a[1].len);
        size_t seg = q ? (size_t)(q - p) : (size_t)(end - p);
        memcpy(d + k, p, seg);
        k += seg;
        if (!q)
            break;
        memcpy(d + k, a[2].u.s, a[2].len);
        k += a[2].len;
        p = q + a[1].len;
    }
    d[k] = '\0';
    return pv_str(d, k);
}

static pol_value f_substr(pol_ctx *c, pol_value *a, size_t n)
{
    if (a[0].t != PV_STR || a[1].t != PV_NUM || (n == 3 && a[2].t != PV_NUM))
        return pv_null();
    double start = a[1].u.n < 0 ? 0 : floor(a[1].u.n);
    if (start > a[0].len)
        start = a[0].len;
    double len = n == 3 ? floor(a[2].u.n) : (double)a[0].len - start;
    if (len < 0)
        len = 0;
    if (start + len > a[0].len)
        len = a[0].len - start;
    return mkstr(c, a[0].u.s + (size_t)start, (size_t)len);
}

static pol_value f_string(pol_ctx *c, pol_value *a, size_t n)
{
    char buf[4096];
    if (a[0].t == PV_STR)
        return a[0];
    size_t len = pv_render(buf, 0, sizeof(buf), a[0], false);
    return mkstr(c, buf, len);
}

static pol_value f_number(pol_ctx *c, pol_value *a, size_t n)
{
    char buf[64], *end;
    if (a[0].t == PV_NUM)
        return a[0];
    if (a[0].t == PV_BOOL)
        return pv_num(a[0].b ? 1 : 0);
    if (a[0].t != PV_STR || a[0].len == 0 || a[0].len >= sizeof(buf))
        return pv_null();
    memcpy(buf, a[0].u.s, a[0].len);
    buf[a[0].len] = '\0';
    double v = strtod(buf, &end);
    if (*end || isspace((unsigned char)buf[0]) || !isfinite(v))
        return pv_null();
    return pv_num(v);
}

static pol_value f_base64decode(pol_ctx *c, pol_value *a, size_t n)
{
    if (a[0].t != PV_STR)
        return pv_null();
    unsigned char *d = alloc(c, a[0].len * 3 / 4 + 4);
    if (!d)
        return pv_null();
    long k = pol_k8s__base64_decode(d, a[0].u.s, a[0].len);
    if (k < 0)
        return pv_null();
    d[k] = '\0';
    return pv_str((const char *)d, (size_t)k);
}

/* ---- lists and maps ------------------------------------------------------------------- */

static pol_value map_part(pol_ctx *c, pol_value m, bool keys)
{
    if (!pv_is_map(m))
        return pv_null();
    pol_value *items;
    pol_value l = mklist(c, pv_len(m), &items);
    if (l.t != PV_LIST)
        return l;
    pol_map_iter it;
    pol_value k, v;
    size_t i = 0;
    pv_map_iter_init(&it, m);
    while (pv_map_iter_next(&it, &k, &v) && i < l.len)
        items[i++] = keys ? k : v;
    c->steps += i;
    return l;
}

static pol_value f_keys(pol_ctx *c, pol_value *a, size_t n)
{
    return map_part(c, a[0], true);
}

static pol_value f_values(pol_ctx *c, pol_value *a, size_t n)
{
    return map_part(c, a[0], false);
}

static pol_value f_unique(pol_ctx *c, pol_value *a, size_t n)
{
    if (!pv_is_list(a[0]))
        return pv_null();
    size_t len = pv_len(a[0]), k = 0;
    pol_value *items;
    pol_value l = mklist(c, len, &items);
    if (l.t != PV_LIST)
        return l;
    c->steps += len * (len + 1) / 2;
    for (size_t i = 0; i < len && !c->over; i++) {
        pol_value v = pv_at(a[0], i);
        bool seen = false;
        for (size_t j = 0; j < k && !seen; j++)
            seen = pv_equal(items[j], v);
        if (!seen)
            items[k++] = v;
    }
    l.len = (uint32_t)k;
    return l;
}

/* Order for sort(): by type (null, bool, number, string, others), then by value. */
static int sort_rank(pol_value v)
{
    return v.t == PV_NULL ? 0 : v.t == PV_BOOL ? 1 : v.t == PV_NUM ? 2 : v.t == PV_STR ? 3 : 4;
}

static int sort_cmp(const void *x, const void *y)
{
    const pol_value *a = x, *b = y;
    int ra = sort_rank(*a), rb = sort_rank(*b);
    if (ra != rb)
        return ra - rb;
    if (ra == 1)
        return (int)a->b - (int)b->b;
    int r = pv_compare(*a, *b);
    return r == 2 ? 0 : r;
}

static pol_value f_sort(pol_ctx *c, pol_value *a, size_t n)
{
    if (!pv_is_list(a[0]))
        return pv_null();
    size_t len = pv_len(a[0]);
    pol_value *items;
    pol_value l = mklist(c, len, &items);
    if (l.t != PV_LIST)
        return l;
    for (size_t i = 0; i < len; i++)
        items[i] = pv_at(a[0], i);
    c->steps += len * 8;
    if (len > 1)
        qsort(items, len, sizeof(*items), sort_cmp);
    return l;
}

static pol_value f_flatten(pol_ctx *c, pol_value *a, size_t n)
{
    if (!pv_is_list(a[0]))
        return pv_null();
    size_t len = pv_len(a[0]), total = 0;
    for (size_t i = 0; i < len; i++) {
        pol_value e = pv_at(a[0], i);
        total += pv_is_list(e) ? pv_len(e) : 1;
    }
    c->steps += total;
    pol_value *items;
    pol_value l = mklist(c, total, &items);
    if (l.t != PV_LIST)
        return l;
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        pol_value e = pv_at(a[0], i);
        if (pv_is_list(e))
            for (size_t j = 0; j < pv_len(e); j++)
                items[k++] = pv_at(e, j);
        else
            items[k++] = e;
    }
    return l;
}

static pol_value f_any(pol_ctx *c, pol_value *a, size_t n)
{
    if (!pv_is_list(a[0]))
        return pv_bool(false);
    for (size_t i = 0; i < pv_len(a[0]); i++)
        if (pv_truthy(pv_at(a[0], i)))
            return pv_bool(true);
    return pv_bool(false);
}

static pol_value f_all(pol_ctx *c, pol_value *a, size_t n)
{
    if (!pv_is_list(a[0]))
        return pv_bool(a[0].t == PV_NULL);
    for (size_t i = 0; i < pv_len(a[0]); i++)
        if (!pv_truthy(pv_at(a[0], i)))
            return pv_bool(false);
    return pv_bool(true);
}

static pol_value f_count(pol_ctx *c, pol_value *a, size_t n)
{
    size_t k = 0;
    if (pv_is_list(a[0])) {
        for (size_t i = 0; i < pv_len(a[0]); i++)
            k += pv_equal(pv_at(a[0], i), a[1]);
        c->steps += pv_len(a[0]);
        return pv_num((double)k);
    }
    if (both_str(a[0], a[1]) && a[1].len) {
        const char *s = a[0].u.s, *end = s + a[0].len;
        for (const char *p = s; (p = pol_memmem(p, (size_t)(end - p), a[1].u.s, a[1].len));
             p += a[1].len)
            k++;
        return pv_num((double)k);
    }
    return pv_null();
}

static pol_value f_first(pol_ctx *c, pol_value *a, size_t n)
{
    return pv_is_list(a[0]) && pv_len(a[0]) ? pv_at(a[0], 0) : pv_null();
}

static pol_value f_last(pol_ctx *c, pol_value *a, size_t n)
{
    return pv_is_list(a[0]) && pv_len(a[0]) ? pv_at(a[0], pv_len(a[0]) - 1) : pv_null();
}

static pol_value f_has(pol_ctx *c, pol_value *a, size_t n)
{
    if (a[1].t != PV_STR)
        return pv_bool(false);
    if (a[0].t == PV_JSON && json_is_object(a[0].u.j))
        return pv_bool(json_object_getn(a[0].u.j, a[1].u.s, a[1].len) != NULL);
    if (a[0].t == PV_MAP)
        for (size_t i = 0; i < a[0].u.m->n; i++)
            if (pv_equal(a[0].u.m->keys[i], a[1]))
                return pv_bool(true);
    return pv_bool(false);
}

static pol_value f_default(pol_ctx *c, pol_value *a, size_t n)
{
    return a[0].t == PV_NULL ? a[1] : a[0];
}

static pol_value f_type(pol_ctx *c, pol_value *a, size_t n)
{
    return pv_cstr(pv_type_name(a[0]));
}

/* ---- Kubernetes ----------------------------------------------------------------------- */

static pol_value f_quantity(pol_ctx *c, pol_value *a, size_t n)
{
    double v;
    if (a[0].t == PV_NUM)
        return a[0];
    if (a[0].t != PV_STR || !pol_k8s__quantity(&v, a[0].u.s, a[0].len))
        return pv_null();
    return pv_num(v);
}

static pol_value slice_val(pol_ctx *c, util_slice s)
{
    return s.ptr ? mkstr(c, s.ptr, s.len) : pv_null();
}

static pol_value parse_image(pol_ctx *c, pol_value s);

static pol_value f_image(pol_ctx *c, pol_value *a, size_t n)
{
    if (a[0].t != PV_STR)
        return pv_null();
    /* Rules ask for the same container's image many times: keep the last few results. */
    for (unsigned i = 0; i < 4; i++)
        if (c->images[i].s == a[0].u.s && c->images[i].len == a[0].len)
            return c->images[i].v;
    pol_value r = parse_image(c, a[0]);
    unsigned slot = c->nimages++ % 4;
    c->images[slot].s = a[0].u.s;
    c->images[slot].len = a[0].len;
    c->images[slot].v = r;
    return r;
}

static pol_value parse_image(pol_ctx *c, pol_value s)
{
    static const char *const keys[] = {"registry", "repository", "tag", "digest", "name"};
    pol_image_ref ref;
    if (!pol_k8s__image(&ref, s.u.s, s.len))
        return pv_null();
    pol_map *m = alloc(c, sizeof(*m));
    pol_value *kv = alloc(c, 10 * sizeof(*kv));
    if (!m || !kv)
        return pv_null();
    m->n = 5;
    m->keys = kv;
    m->vals = kv + 5;
    for (int i = 0; i < 5; i++)
        kv[i] = pv_cstr(keys[i]);
    m->vals[0] = slice_val(c, ref.registry);
    /* docker.io's one-part names are official images under library/. */
    if (ref.default_registry && !memchr(ref.repository.ptr, '/', ref.repository.len)) {
        char buf[1100];
        int k =
            snprintf(buf, sizeof(buf), "library/%.*s", (int)ref.repository.len, ref.repository.ptr);
        m->vals[1] = mkstr(c, buf, (size_t)k < sizeof(buf) ? (size_t)k : sizeof(buf) - 1);
    } else {
        m->vals[1] = slice_val(c, ref.repository);
    }
    m->vals[2] = slice_val(c, ref.tag);
    m->vals[3] = slice_val(c, ref.digest);
    if (m->vals[1].t == PV_STR) {
        char buf[2200];
        int k = snprintf(buf, sizeof(buf), "%.*s/%s", (int)ref.registry.len, ref.registry.ptr,
                         m->vals[1].u.s);
        m->vals[4] = mkstr(c, buf, (size_t)k < sizeof(buf) ? (size_t)k : sizeof(buf) - 1);
    }
    return (pol_value){.t = PV_MAP, .u.m = m};
}

static bool expr_holds(pol_value e, pol_value labels)
{
    pol_value key = pv_get(e, "key", 3), op = pv_get(e, "operator", 8);
    pol_value vals = pv_get(e, "values", 6);
    if (key.t != PV_STR || op.t != PV_STR)
        return false;
    pol_value have = pv_get(labels, key.u.s, key.len);
    bool in = have.t == PV_STR && pol_eval__in(NULL, have, vals);
    if (strcmp(op.u.s, "In") == 0)
        return in;
    if (strcmp(op.u.s, "NotIn") == 0)
        return !in;
    if (strcmp(op.u.s, "Exists") == 0)
        return have.t != PV_NULL;
    if (strcmp(op.u.s, "DoesNotExist") == 0)
        return have.t == PV_NULL;
    return false;
}

/* A Kubernetes LabelSelector ({matchLabels, matchExpressions}) against a labels map. */
static pol_value f_label_selector(pol_ctx *c, pol_value *a, size_t n)
{
    if (!pv_is_map(a[0]))
        return pv_bool(false);
    pol_value ml = pv_get(a[0], "matchLabels", 11), me = pv_get(a[0], "matchExpressions", 16);
    pol_map_iter it;
    pol_value k, v;
    pv_map_iter_init(&it, ml);
    while (pv_map_iter_next(&it, &k, &v))
        if (!pv_equal(pv_get(a[1], k.u.s, k.len), v))
            return pv_bool(false);
    for (size_t i = 0; pv_is_list(me) && i < pv_len(me); i++)
        if (!expr_holds(pv_at(me, i), a[1]))
            return pv_bool(false);
    return pv_bool(true);
}

/* ---- secrets -------------------------------------------------------------------------- */

static pol_value f_is_sealed(pol_ctx *c, pol_value *a, size_t n)
{
    return pv_bool(a[0].t == PV_STR && pol_k8s__is_sealed(a[0].u.s, a[0].len));
}

/* credential(s) names a known credential format found in s; credential(s, key) also reports
 * a high-entropy value under a secret-looking key. Never returns the credential. */
static pol_value f_credential(pol_ctx *c, pol_value *a, size_t n)
{
    if (a[0].t != PV_STR)
        return pv_null();
    c->steps += a[0].len / 64;
    const char *kind = pol_k8s__credential(a[0].u.s, a[0].len);
    if (kind)
        return pv_cstr(kind);
    if (n == 2 && a[1].t == PV_STR && pol_k8s__secret_like(a[1].u.s, a[1].len) &&
        pol_k8s__high_entropy(a[0].u.s, a[0].len))
        return pv_cstr("high-entropy-secret");
    return pv_null();
}

static pol_value f_secret_like(pol_ctx *c, pol_value *a, size_t n)
{
    return pv_bool(a[0].t == PV_STR && pol_k8s__secret_like(a[0].u.s, a[0].len));
}

static pol_value f_entropy(pol_ctx *c, pol_value *a, size_t n)
{
    if (a[0].t != PV_STR)
        return pv_null();
    return pv_num(pol_k8s__entropy(a[0].u.s, a[0].len));
}

/* ---- the table ------------------------------------------------------------------------ */

static const pol_builtin builtins[] = {
    {"len", 1, 1, f_len},
    {"lower", 1, 1, f_lower},
    {"upper", 1, 1, f_upper},
    {"trim", 1, 1, f_trim},
    {"startsWith", 2, 2, f_starts},
    {"endsWith", 2, 2, f_ends},
    {"contains", 2, 2, f_contains},
    {"split", 2, 2, f_split},
    {"join", 2, 2, f_join},
    {"replace", 3, 3, f_replace},
    {"substr", 2, 3, f_substr},
    {"string", 1, 1, f_string},
    {"number", 1, 1, f_number},
    {"base64decode", 1, 1, f_base64decode},
    {"keys", 1, 1, f_keys},
    {"values", 1, 1, f_values},
    {"unique", 1, 1, f_unique},
    {"sort", 1, 1, f_sort},
    {"flatten", 1, 1, f_flatten},
    {"any", 1, 1, f_any},
    {"all", 1, 1, f_all},
    {"count", 2, 2, f_count},
    {"first", 1, 1, f_first},
    {"last", 1, 1, f_last},
    {"has", 2, 2, f_has},
    {"default", 2, 2, f_default},
    {"type", 1, 1, f_type},
    {"quantity", 1, 1, f_quantity},
    {"image", 1, 1, f_image},
    {"labelSelector", 2, 2, f_label_selector},
    {"isSealed", 1, 1, f_is_sealed},
    {"credential", 1, 2, f_credential},
    {"secretLike", 1, 1, f_secret_like},
    {"entropy", 1, 1, f_entropy},
};

const pol_builtin *pol_builtin__find(const char *name, size_t len, int *index)
{
    for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
        if (strlen(builtins[i].name) == len && memcmp(builtins[i].name, name, len) == 0) {
            *index = (int)i;
            return &builtins[i];
        }
    }
    *index = -1;
    return NULL;
}

const pol_builtin *pol_builtin__get(int index)
{
    if (index < 0 || (size_t)index >= sizeof(builtins) / sizeof(builtins[0]))
        return NULL;
    return &builtins[index];
}
