/* pol_value.c: the evaluator's values: a small tagged union that borrows jansson values or
 * points into the arena. Lists and maps are either JSON (borrowed from the object) or built
 * by the rule (literals, comprehensions, image()), and every operation takes both. */
#include "policy/pol_int.h"

#include <math.h>
#include <string.h>

#include "util/banned.h"

pol_value pv_cstr(const char *s)
{
    return s ? pv_str(s, strlen(s)) : pv_null();
}

pol_value pv_from_json(const json_t *j)
{
    if (!j)
        return pv_null();
    switch (json_typeof(j)) {
    case JSON_STRING:
        return pv_str(json_string_value(j), json_string_length(j));
    case JSON_INTEGER:
        return pv_num((double)json_integer_value(j));
    case JSON_REAL:
        return pv_num(json_real_value(j));
    case JSON_TRUE:
        return pv_bool(true);
    case JSON_FALSE:
        return pv_bool(false);
    case JSON_ARRAY:
    case JSON_OBJECT:
        return (pol_value){.t = PV_JSON, .u.j = j};
    default:
        return pv_null();
    }
}

bool pv_truthy(pol_value v)
{
    return !(v.t == PV_NULL || (v.t == PV_BOOL && !v.b));
}

bool pv_is_list(pol_value v)
{
    return v.t == PV_LIST || (v.t == PV_JSON && json_is_array(v.u.j));
}

bool pv_is_map(pol_value v)
{
    return v.t == PV_MAP || (v.t == PV_JSON && json_is_object(v.u.j));
}

size_t pv_len(pol_value v)
{
    switch (v.t) {
    case PV_STR:
    case PV_LIST:
        return v.len;
    case PV_MAP:
        return v.u.m->n;
    case PV_JSON:
        return json_is_array(v.u.j) ? json_array_size(v.u.j) : json_object_size(v.u.j);
    default:
        return 0;
    }
}

pol_value pv_at(pol_value v, size_t i)
{
    if (v.t == PV_LIST)
        return i < v.len ? v.u.items[i] : pv_null();
    if (v.t == PV_JSON && json_is_array(v.u.j))
        return pv_from_json(json_array_get(v.u.j, i));
    return pv_null();
}

pol_value pv_get(pol_value v, const char *key, size_t klen)
{
    if (v.t == PV_JSON && json_is_object(v.u.j))
        return pv_from_json(json_object_getn(v.u.j, key, klen));
    if (v.t == PV_MAP) {
        for (size_t i = 0; i < v.u.m->n; i++)
            if (v.u.m->keys[i].len == klen && memcmp(v.u.m->keys[i].u.s, key, klen) == 0)
                return v.u.m->vals[i];
    }
    return pv_null();
}

void pv_map_iter_init(pol_map_iter *it, pol_value m)
{
    it->v = m;
    it->i = 0;
    it->it = m.t == PV_JSON && json_is_object(m.u.j) ? json_object_iter((json_t *)m.u.j) : NULL;
}

bool pv_map_iter_next(pol_map_iter *it, pol_value *key, pol_value *val)
{
    if (it->v.t == PV_MAP) {
        if (it->i >= it->v.u.m->n)
            return false;
        *key = it->v.u.m->keys[it->i];
        *val = it->v.u.m->vals[it->i];
        it->i++;
        return true;
    }
    if (!it->it)
        return false;
    const char *k = json_object_iter_key(it->it);
    *key = pv_str(k, json_object_iter_key_len(it->it));
    *val = pv_from_json(json_object_iter_value(it->it));
    it->it = json_object_iter_next((json_t *)it->v.u.j, it->it);
    return true;
}

static bool list_equal(pol_value a, pol_value b)
{
    size_t n = pv_len(a);
    if (n != pv_len(b))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!pv_equal(pv_at(a, i), pv_at(b, i)))
            return false;
    return true;
}

static bool map_equal(pol_value a, pol_value b)
{
    pol_map_iter it;
    pol_value k, v;
    if (pv_len(a) != pv_len(b))
        return false;
    pv_map_iter_init(&it, a);
    while (pv_map_iter_next(&it, &k, &v)) {
        pol_value w = pv_get(b, k.u.s, k.len);
        if (w.t == PV_NULL && v.t != PV_NULL)
            return false;
        if (!pv_equal(v, w))
            return false;
    }
    return true;
}

bool pv_equal(pol_value a, pol_value b)
{
    if (pv_is_list(a))
        return pv_is_list(b) && list_equal(a, b);
    if (pv_is_map(a))
        return pv_is_map(b) && map_equal(a, b);
    if (a.t != b.t)
        return false;
    switch (a.t) {
    case PV_NULL:
        return true;
    case PV_BOOL:
        return a.b == b.b;
    case PV_NUM:
        return a.u.n == b.u.n;
    case PV_STR:
        return a.len == b.len && memcmp(a.u.s, b.u.s, a.len) == 0;
    default:
        return false;
    }
}

int pv_compare(pol_value a, pol_value b)
{
    if (a.t == PV_NUM && b.t == PV_NUM)
        return a.u.n < b.u.n ? -1 : a.u.n > b.u.n ? 1 : a.u.n == b.u.n ? 0 : 2;
    if (a.t == PV_STR && b.t == PV_STR) {
        size_t n = a.len < b.len ? a.len : b.len;
        int c = memcmp(a.u.s, b.u.s, n);
        if (c == 0)
            c = a.len < b.len ? -1 : a.len > b.len ? 1 : 0;
        return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    return 2;
}

const char *pv_type_name(pol_value v)
{
    if (pv_is_list(v))
        return "list";
    if (pv_is_map(v))
        return "map";
    switch (v.t) {
    case PV_BOOL:
        return "bool";
    case PV_NUM:
        return "number";
    case PV_STR:
        return "string";
    default:
        return "null";
    }
}

static size_t put(char *buf, size_t len, size_t cap, const char *s, size_t n)
{
    if (len >= cap)
        return len;
    if (n > cap - len)
        n = cap - len;
    memcpy(buf + len, s, n);
    return len + n;
}

static size_t put_json_string(char *buf, size_t len, size_t cap, const char *s, size_t n)
{
    len = put(buf, len, cap, "\"", 1);
    for (size_t i = 0; i < n && len < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            len = put(buf, len, cap, esc, 2);
        } else if (ch < 0x20) {
            int k = snprintf(esc, sizeof(esc), "\\u%04x", ch);
            len = put(buf, len, cap, esc, (size_t)k);
        } else {
            len = put(buf, len, cap, (const char *)&ch, 1);
        }
    }
    return put(buf, len, cap, "\"", 1);
}

size_t pv_render(char *buf, size_t len, size_t cap, pol_value v, bool quote_strings)
{
    char num[64];
    if (len >= cap)
        return len;
    if (pv_is_list(v)) {
        size_t n = pv_len(v);
        len = put(buf, len, cap, "[", 1);
        for (size_t i = 0; i < n && len < cap; i++) {
            if (i)
                len = put(buf, len, cap, ",", 1);
            len = pv_render(buf, len, cap, pv_at(v, i), true);
        }
        return put(buf, len, cap, "]", 1);
    }
    if (pv_is_map(v)) {
        pol_map_iter it;
        pol_value k, e;
        bool first = true;
        len = put(buf, len, cap, "{", 1);
        pv_map_iter_init(&it, v);
        while (len < cap && pv_map_iter_next(&it, &k, &e)) {
            if (!first)
                len = put(buf, len, cap, ",", 1);
            first = false;
            len = put_json_string(buf, len, cap, k.u.s, k.len);
            len = put(buf, len, cap, ":", 1);
            len = pv_render(buf, len, cap, e, true);
        }
        return put(buf, len, cap, "}", 1);
    }
    switch (v.t) {
    case PV_BOOL:
        return v.b ? put(buf, len, cap, "true", 4) : put(buf, len, cap, "false", 5);
    case PV_NUM: {
        int k;
        if (isfinite(v.u.n) && v.u.n == floor(v.u.n) && fabs(v.u.n) < 1e15)
            k = snprintf(num, sizeof(num), "%.0f", v.u.n);
        else
            k = snprintf(num, sizeof(num), "%.17g", v.u.n);
        /* Prefer the short form when it reads back the same. */
        if (!(isfinite(v.u.n) && v.u.n == floor(v.u.n) && fabs(v.u.n) < 1e15)) {
            char shorter[64];
            int s = snprintf(shorter, sizeof(shorter), "%g", v.u.n);
            if (strtod(shorter, NULL) == v.u.n) {
                memcpy(num, shorter, (size_t)s + 1);
                k = s;
            }
        }
        return put(buf, len, cap, num, (size_t)k);
    }
    case PV_STR:
        if (quote_strings)
            return put_json_string(buf, len, cap, v.u.s, v.len);
        return put(buf, len, cap, v.u.s, v.len);
    default:
        return put(buf, len, cap, "null", 4);
    }
}

json_t *pv_to_json(pol_value v)
{
    if (pv_is_list(v)) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < pv_len(v); i++)
            if (json_array_append_new(a, pv_to_json(pv_at(v, i))) != 0) {
                json_decref(a);
                return NULL;
            }
        return a;
    }
    if (pv_is_map(v)) {
        json_t *o = json_object();
        pol_map_iter it;
        pol_value k, e;
        pv_map_iter_init(&it, v);
        while (o && pv_map_iter_next(&it, &k, &e))
            if (json_object_setn_new(o, k.u.s, k.len, pv_to_json(e)) != 0) {
                json_decref(o);
                return NULL;
            }
        return o;
    }
    switch (v.t) {
    case PV_BOOL:
        return json_boolean(v.b);
    case PV_NUM:
        if (v.u.n == floor(v.u.n) && fabs(v.u.n) < 9e15)
            return json_integer((json_int_t)v.u.n);
        return json_real(v.u.n);
    case PV_STR:
        return json_stringn(v.u.s, v.len);
    default:
        return json_null();
    }
}

const char *pol_memmem(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    if (nlen == 0)
        return hay;
    for (size_t i = 0; nlen <= hlen && i <= hlen - nlen; i++) {
        const char *p = memchr(hay + i, needle[0], hlen - nlen - i + 1);
        if (!p)
            return NULL;
        i = (size_t)(p - hay);
        if (memcmp(p, needle, nlen) == 0)
            return p;
    }
    return NULL;
}
