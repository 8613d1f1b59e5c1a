/* prov_diff.c: does a live object carry what its git manifest declares? Only fields git sets
 * are compared (servers add defaults and status), after normalising quantities and numbers,
 * with lists merged by their Kubernetes merge keys; a few pod fields the apiserver never
 * defaults may not appear unannounced. Shared by admission and `sealgate audit`. The rules,
 * with their reasons, are in docs/provenance.md. */
#include "admission/prov.h"

#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/seal.h"
#include "util/limits.h"
#include "util/banned.h"

typedef struct diff_ctx {
    const prov_diff_options *opts;
    const char *kind;
    util_arena *arena;
    util_error *err;
    prov_difference *out;
    bool record;   /* false while probing a set for a counterpart */
    json_t *empty; /* {} standing in for a missing object */
    bool secret;   /* comparing a Secret's data: constant time, values never shown */
    int depth;
    char path[1024]; /* "spec.template.spec.containers[name=web].image" */
    size_t len;
    char plain[1024]; /* the same without list selectors, for ignore paths */
    size_t plen;
} diff_ctx;

/* What a list's elements are matched by. */
typedef enum { LIST_ATOMIC, LIST_KEYED, LIST_SET } list_kind;

typedef struct list_rule {
    const char *field;
    list_kind kind;
    const char *keys[2]; /* merge keys; "protocol" defaults to TCP */
    bool extras_allowed; /* may the live list hold more than git declares? */
} list_rule;

/* Kubernetes' patchMergeKey list fields (k8s.io/api tags), plus the sets that are sets. */
static const list_rule list_rules[] = {
    {"containers", LIST_KEYED, {"name"}, false},
    {"initContainers", LIST_KEYED, {"name"}, false},
    {"ephemeralContainers", LIST_KEYED, {"name"}, false},
    {"env", LIST_KEYED, {"name"}, false},
    {"volumes", LIST_KEYED, {"name"}, false},
    {"volumeMounts", LIST_KEYED, {"mountPath"}, false},
    {"volumeDevices", LIST_KEYED, {"devicePath"}, false},
    {"imagePullSecrets", LIST_KEYED, {"name"}, false},
    {"hostAliases", LIST_KEYED, {"ip"}, false},
    {"topologySpreadConstraints", LIST_KEYED, {"topologyKey", "whenUnsatisfiable"}, false},
    {"tolerations", LIST_SET, {NULL}, false},
    {"finalizers", LIST_SET, {NULL}, true},
};

/* ---- paths ----------------------------------------------------------------------------- */

typedef struct path_mark {
    size_t len, plen;
} path_mark;

static path_mark path_push(diff_ctx *c, const char *fmt_key, bool selector)
{
    path_mark m = {c->len, c->plen};
    int n;
    if (selector) {
        n = snprintf(c->path + c->len, sizeof(c->path) - c->len, "[%s]", fmt_key);
    } else {
        n = snprintf(c->path + c->len, sizeof(c->path) - c->len, "%s%s", c->len ? "." : "",
                     fmt_key);
        int p = snprintf(c->plain + c->plen, sizeof(c->plain) - c->plen, "%s%s", c->plen ? "." : "",
                         fmt_key);
        if (p > 0)
            c->plen =
                c->plen + (size_t)p < sizeof(c->plain) ? c->plen + (size_t)p : sizeof(c->plain) - 1;
    }
    if (n > 0)
        c->len = c->len + (size_t)n < sizeof(c->path) ? c->len + (size_t)n : sizeof(c->path) - 1;
    return m;
}

static void path_pop(diff_ctx *c, path_mark m)
{
    c->len = m.len;
    c->plen = m.plen;
    c->path[c->len] = '\0';
    c->plain[c->plen] = '\0';
}

static bool path_ignored(const diff_ctx *c)
{
    for (size_t i = 0; i < c->opts->ignore_count; i++) {
        const prov_ignore *ig = &c->opts->ignore[i];
        if ((!ig->kind || !*ig->kind || (c->kind && strcmp(ig->kind, c->kind) == 0)) && ig->path &&
            util_glob_match(ig->path, c->plain))
            return true;
    }
    return false;
}

/* Record the difference at the current path; returns 1 (differs). */
static int differ(diff_ctx *c, const json_t *declared, const json_t *live)
{
    if (!c->record || c->out->differs)
        return 1;
    c->out->differs = true;
    c->out->path = util_arena_strdup(c->arena, c->len ? c->path : "(object)");
    c->out->secret = c->secret;
    c->out->declared = c->secret ? NULL : declared;
    c->out->live = c->secret ? NULL : live;
    return 1;
}

/* ---- scalars --------------------------------------------------------------------------- */

/* A Kubernetes resource quantity ("500m", "1Gi", "1e3", "0.5") as a number; false if s is
 * not one. */
static bool quantity_parse(const char *s, long double *out)
{
    char *end;
    if (!s || !*s || strlen(s) > 64)
        return false;
    long double v = strtold(s, &end);
    if (end == s)
        return false;
    static const struct {
        const char *suffix;
        long double mult;
    } suffixes[] = {
        {"Ki", 1024.0L},
        {"Mi", 1048576.0L},
        {"Gi", 1073741824.0L},
        {"Ti", 1099511627776.0L},
        {"Pi", 1125899906842624.0L},
        {"Ei", 1152921504606846976.0L},
        {"n", 1e-9L},
        {"u", 1e-6L},
        {"m", 1e-3L},
        {"", 1.0L},
        {"k", 1e3L},
        {"M", 1e6L},
        {"G", 1e9L},
        {"T", 1e12L},
        {"P", 1e15L},
        {"E", 1e18L},
    };
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
        if (strcmp(end, suffixes[i].suffix) == 0) {
            *out = v * suffixes[i].mult;
            return isfinite(*out);
        }
    }
    return false;
}

static bool quantity_value(const json_t *v, long double *out)
{
    if (json_is_number(v)) {
        *out = (long double)json_number_value(v);
        return true;
    }
    return quantity_parse(json_string_value(v), out);
}

/* Equal up to long double rounding ("0.1" against 100 * 1e-3). Hand-written so the module
 * needs no libm. */
static bool quantity_equal(long double a, long double b)
{
    long double d = a > b ? a - b : b - a, m = a < 0 ? -a : a, n = b < 0 ? -b : b;
    return d <= 1e-15L * (m > n ? m : n);
}

/* Fields whose values are quantities: a resource list's entries, and sizeLimit. */
static bool is_quantity_context(const char *parent, const char *key)
{
    static const char *const lists[] = {
        "limits", "requests", "hard",    "capacity",       "allocatable",         "overhead",
        "max",    "min",      "default", "defaultRequest", "maxLimitRequestRatio"};
    if (key && strcmp(key, "sizeLimit") == 0)
        return true;
    for (size_t i = 0; parent && i < sizeof(lists) / sizeof(*lists); i++)
        if (strcmp(parent, lists[i]) == 0)
            return true;
    return false;
}

/* Is v what Go's omitempty leaves out: false, 0, "", {} or []? */
static bool is_zero(const json_t *v)
{
    return json_is_false(v) || json_is_null(v) ||
           (json_is_number(v) && json_number_value(v) == 0) ||
           (json_is_string(v) && json_string_length(v) == 0) ||
           (json_is_object(v) && json_object_size(v) == 0) ||
           (json_is_array(v) && json_array_size(v) == 0);
}

static int compare_scalar(diff_ctx *c, const json_t *d, const json_t *l, const char *parent,
                          const char *key)
{
    long double a, b;
    if (is_quantity_context(parent, key) && quantity_value(d, &a) && quantity_value(l, &b))
        return quantity_equal(a, b) ? 0 : differ(c, d, l);
    if (json_is_number(d) && json_is_number(l))
        return json_number_value(d) == json_number_value(l) ? 0 : differ(c, d, l);
    if (json_is_string(d) && json_is_string(l)) {
        size_t n = json_string_length(d);
        if (n != json_string_length(l))
            return differ(c, d, l);
        if (c->secret)
            return sodium_memcmp(json_string_value(d), json_string_value(l), n) == 0
                       ? 0
                       : differ(c, d, l);
        return memcmp(json_string_value(d), json_string_value(l), n) == 0 ? 0 : differ(c, d, l);
    }
    if (json_is_boolean(d) && json_is_boolean(l))
        return json_is_true(d) == json_is_true(l) ? 0 : differ(c, d, l);
    return differ(c, d, l);
}

/* ---- objects and lists ----------------------------------------------------------------- */

static int compare_value(diff_ctx *c, const json_t *d, const json_t *l, const char *parent,
                         const char *key);

/* Fields of a pod spec and of a container that the apiserver never defaults: when the live
 * object has one git does not declare, someone added it. */
static const char *const pod_spec_strict[] = {
    "hostNetwork",           "hostPID",     "hostIPC", "volumes", "initContainers",
    "shareProcessNamespace", "hostAliases", NULL};
static const char *const container_strict[] = {"command",         "args",         "env",
                                               "envFrom",         "volumeMounts", "volumeDevices",
                                               "securityContext", "lifecycle",    NULL};

/* Elements admission plugins add to Pods (ServiceAccount, DefaultTolerationSeconds). */
static bool is_admission_added(const char *field, const json_t *elem)
{
    const char *s;
    if (strcmp(field, "volumes") == 0)
        return (s = util_json_str(elem, "name")) && strncmp(s, "kube-api-access-", 16) == 0;
    if (strcmp(field, "volumeMounts") == 0)
        return (s = util_json_str(elem, "mountPath")) &&
               strcmp(s, "/var/run/secrets/kubernetes.io/serviceaccount") == 0;
    if (strcmp(field, "tolerations") == 0)
        return (s = util_json_str(elem, "key")) &&
               (strcmp(s, "node.kubernetes.io/not-ready") == 0 ||
                strcmp(s, "node.kubernetes.io/unreachable") == 0);
    return false;
}

static bool has_meaningful(const char *field, const json_t *v)
{
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) if (!is_admission_added(field, e)) return true;
        return false;
    }
    return !is_zero(v);
}

static int check_strict(diff_ctx *c, const json_t *d, const json_t *l, const char *const *fields)
{
    for (size_t i = 0; fields[i]; i++) {
        const json_t *lv = json_object_get(l, fields[i]);
        if (json_object_get(d, fields[i]) || !lv || !has_meaningful(fields[i], lv))
            continue;
        path_mark m = path_push(c, fields[i], false);
        int r = path_ignored(c) ? 0 : differ(c, NULL, lv);
        path_pop(c, m);
        if (r)
            return r;
    }
    return 0;
}

/* Top-level and metadata fields that servers own. */
static bool is_server_field(const diff_ctx *c, const char *key)
{
    static const char *const meta[] = {"uid",
                                       "resourceVersion",
                                       "generation",
                                       "creationTimestamp",
                                       "managedFields",
                                       "selfLink",
                                       "deletionTimestamp",
                                       "deletionGracePeriodSeconds",
                                       "namespace",
                                       NULL};
    if (c->depth == 1)
        return strcmp(key, "status") == 0 || strcmp(key, "apiVersion") == 0 ||
               strcmp(key, "kind") == 0;
    if (c->depth == 2 && strcmp(c->plain, "metadata") == 0) {
        for (size_t i = 0; meta[i]; i++)
            if (strcmp(key, meta[i]) == 0)
                return true;
    }
    if (c->depth == 3 && strcmp(c->plain, "metadata.annotations") == 0)
        return strcmp(key, "kubectl.kubernetes.io/last-applied-configuration") == 0;
    return false;
}

/* self: the field this object is the value of (NULL for list elements and the root). */
static int compare_object(diff_ctx *c, const json_t *d, const json_t *l, const char *self)
{
    const char *key;
    json_t *dv;
    if (!json_is_object(l))
        return json_object_size(d) == 0 && !l ? 0 : differ(c, d, l);
    json_object_foreach((json_t *)d, key, dv)
    {
        if (json_is_null(dv) || is_server_field(c, key))
            continue;
        path_mark m = path_push(c, key, false);
        int r = path_ignored(c) ? 0 : compare_value(c, dv, json_object_get(l, key), self, key);
        path_pop(c, m);
        if (r)
            return r;
    }
    if (json_is_array(json_object_get(d, "containers")))
        return check_strict(c, d, l, pod_spec_strict);
    return 0;
}

static const list_rule *rule_for(const char *field, const json_t *d)
{
    static const list_rule container_ports = {
        "ports", LIST_KEYED, {"containerPort", "protocol"}, false};
    static const list_rule service_ports = {"ports", LIST_KEYED, {"port", "protocol"}, false};
    if (!field)
        return NULL;
    if (strcmp(field, "ports") == 0) {
        const json_t *first = json_array_get(d, 0);
        if (json_object_get(first, "containerPort"))
            return &container_ports;
        if (json_object_get(first, "port"))
            return &service_ports;
        return NULL;
    }
    for (size_t i = 0; i < sizeof(list_rules) / sizeof(*list_rules); i++)
        if (strcmp(field, list_rules[i].field) == 0)
            return &list_rules[i];
    return NULL;
}

static const json_t *key_value(const json_t *elem, const char *key, json_t *tcp)
{
    const json_t *v = json_object_get(elem, key);
    return (!v && strcmp(key, "protocol") == 0) ? tcp : v;
}

static bool keys_equal(const list_rule *rule, const json_t *a, const json_t *b, json_t *tcp)
{
    for (int k = 0; k < 2 && rule->keys[k]; k++) {
        const json_t *x = key_value(a, rule->keys[k], tcp), *y = key_value(b, rule->keys[k], tcp);
        if (!x || !y || !json_equal((json_t *)x, (json_t *)y))
            return false;
    }
    return true;
}

/* "name=web", "containerPort=80" (protocol shown when not TCP). */
static const char *selector(const diff_ctx *c, const list_rule *rule, const json_t *elem, char *buf,
                            size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int k = 0; k < 2 && rule->keys[k]; k++) {
        const json_t *v = json_object_get(elem, rule->keys[k]);
        if (!v || (strcmp(rule->keys[k], "protocol") == 0 && util_json_str(elem, "protocol") &&
                   strcmp(util_json_str(elem, "protocol"), "TCP") == 0))
            continue;
        int w = json_is_string(v) ? snprintf(buf + n, size - n, "%s%s=%s", n ? "," : "",
                                             rule->keys[k], json_string_value(v))
                                  : snprintf(buf + n, size - n, "%s%s=%lld", n ? "," : "",
                                             rule->keys[k], (long long)json_number_value(v));
        if (w < 0 || (size_t)w >= size - n)
            break;
        n += (size_t)w;
    }
    return buf;
}

static int compare_keyed(diff_ctx *c, const list_rule *rule, const json_t *d, const json_t *l,
                         const char *field)
{
    json_t *tcp = json_string("TCP");
    size_t i, j;
    json_t *de, *le;
    int r = 0;
    char sel[256];
    json_array_foreach(d, i, de)
    {
        const json_t *match = NULL;
        json_array_foreach(l, j, le) if (keys_equal(rule, de, le, tcp))
        {
            match = le;
            break;
        }
        path_mark m = path_push(c, selector(c, rule, de, sel, sizeof(sel)), true);
        r = match ? compare_value(c, de, match, field, NULL) : differ(c, de, NULL);
        if (r == 0 && match && (!strcmp(field, "containers") || !strcmp(field, "initContainers")))
            r = check_strict(c, de, match, container_strict);
        path_pop(c, m);
        if (r)
            goto out;
    }
    json_array_foreach(l, j, le)
    {
        bool declared = false;
        json_array_foreach(d, i, de) if (keys_equal(rule, de, le, tcp))
        {
            declared = true;
            break;
        }
        if (declared || rule->extras_allowed || is_admission_added(field, le))
            continue;
        path_mark m = path_push(c, selector(c, rule, le, sel, sizeof(sel)), true);
        r = differ(c, NULL, le);
        path_pop(c, m);
        goto out;
    }
out:
    json_decref(tcp);
    return r;
}

static int compare_set(diff_ctx *c, const list_rule *rule, const json_t *d, const json_t *l,
                       const char *field)
{
    size_t i, j;
    json_t *de, *le;
    bool record = c->record;
    char idx[32];
    json_array_foreach(d, i, de)
    {
        bool found = false;
        c->record = false;
        json_array_foreach(l, j, le) if (compare_value(c, de, le, field, NULL) == 0)
        {
            found = true;
            break;
        }
        c->record = record;
        if (!found) {
            snprintf(idx, sizeof(idx), "%zu", i);
            path_mark m = path_push(c, idx, true);
            int r = differ(c, de, NULL);
            path_pop(c, m);
            return r;
        }
    }
    if (rule->extras_allowed)
        return 0;
    json_array_foreach(l, j, le)
    {
        bool found = is_admission_added(field, le);
        c->record = false;
        json_array_foreach(d, i, de) if (!found && compare_value(c, de, le, field, NULL) == 0)
        {
            found = true;
        }
        c->record = record;
        if (!found) {
            snprintf(idx, sizeof(idx), "%zu", j);
            path_mark m = path_push(c, idx, true);
            int r = differ(c, NULL, le);
            path_pop(c, m);
            return r;
        }
    }
    return 0;
}

static int compare_array(diff_ctx *c, const json_t *d, const json_t *l, const char *field)
{
    if (!json_is_array(l))
        return json_array_size(d) == 0 && !l ? 0 : differ(c, d, l);
    const list_rule *rule = rule_for(field, d);
    if (rule && rule->kind == LIST_KEYED)
        return compare_keyed(c, rule, d, l, field);
    if (rule && rule->kind == LIST_SET)
        return compare_set(c, rule, d, l, field);
    if (json_array_size(d) != json_array_size(l))
        return differ(c, d, l);
    size_t i;
    json_t *de;
    char idx[32];
    json_array_foreach(d, i, de)
    {
        snprintf(idx, sizeof(idx), "%zu", i);
        path_mark m = path_push(c, idx, true);
        int r = compare_value(c, de, json_array_get(l, i), field, NULL);
        path_pop(c, m);
        if (r)
            return r;
    }
    return 0;
}

static int compare_value(diff_ctx *c, const json_t *d, const json_t *l, const char *parent,
                         const char *key)
{
    int r;
    if (json_is_null(d))
        return 0;
    if ((!l || json_is_null(l)) && json_is_object(d) && c->empty)
        l = c->empty; /* name the first missing field inside, and skip server fields */
    else if (!l || json_is_null(l))
        return is_zero(d) ? 0 : differ(c, d, NULL);
    if (c->depth >= LIMIT_JSON_DEPTH_DEFAULT)
        return util_error_set(c->err, UTIL_ELIMIT, "manifest nested over %d levels (limits.depth)",
                              LIMIT_JSON_DEPTH_DEFAULT);
    c->depth++;
    if (json_is_object(d))
        r = compare_object(c, d, l, key);
    else if (json_is_array(d))
        r = compare_array(c, d, l, key ? key : parent);
    else
        r = compare_scalar(c, d, l, parent, key);
    c->depth--;
    return r;
}

/* ---- Secrets --------------------------------------------------------------------------- */

static json_t *base64_string(const void *data, size_t len)
{
    size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
    char *b = malloc(n);
    if (!b)
        return NULL;
    sodium_bin2base64(b, n, data, len, sodium_base64_VARIANT_ORIGINAL);
    json_t *s = json_string(b);
    sodium_memzero(b, n);
    free(b);
    return s;
}

/* The Secret's values as the webhook sees them: stringData folded into data as base64 and,
 * with keys, sealed values unsealed (values that are not sealed are taken as they are, as
 * /mutate leaves them). Returns a new object (the caller releases it with
 * seal_json_free_secret, it may hold plaintext) or NULL with err set. */
static json_t *secret_data(const json_t *secret, const struct seal_keyring *keys,
                           const char *fallback_ns, util_error *err)
{
    json_t *data = json_object(), *v;
    const char *key;
    const char *ns = util_json_str(util_json_path(secret, "metadata"), "namespace");
    const char *name = util_json_str(util_json_path(secret, "metadata"), "name");
    util_buf plain, sealed;
    int rc = 0;
    if (!ns || !*ns) /* git's copy may leave the namespace to the default */
        ns = fallback_ns;
    if (!data) {
        util_error_set(err, UTIL_ENOMEM, "out of memory");
        return NULL;
    }
    util_buf_init(&plain);
    util_buf_init(&sealed);
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        const json_t *src = json_object_get(secret, pass == 0 ? "data" : "stringData");
        json_object_foreach((json_t *)src, key, v)
        {
            const char *s = json_string_value(v);
            if (!s)
                continue;
            size_t len = json_string_length(v);
            json_t *folded = NULL;
            if (keys && seal_value_is_sealed(s, len)) {
                sealed.len = 0;
                if (pass == 0) { /* data holds base64 of the sealed string */
                    size_t n = 0;
                    if (util_buf_reserve(&sealed, len + 1) < 0 ||
                        sodium_base642bin((unsigned char *)sealed.data, len, s, len, NULL, &n, NULL,
                                          sodium_base64_VARIANT_ORIGINAL) != 0) {
                        rc = util_error_set(err, UTIL_EINVALID,
                                            "sealed Secret's data.%s is not base64", key);
                        break;
                    }
                    sealed.data[n] = '\0';
                    sealed.len = n;
                } else if (util_buf_append(&sealed, s, len) < 0) {
                    rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
                    break;
                }
                plain.len = 0;
                rc = seal_value_unseal(&plain, keys, ns, name, key, sealed.data, sealed.len, err);
                if (rc < 0) {
                    util_error_prefix(err, "unsealing %s.%s from git", pass ? "stringData" : "data",
                                      key);
                    break;
                }
                folded = base64_string(plain.data, plain.len);
            } else {
                /* a copy, never a shared reference: the result is wiped when freed */
                folded = pass == 0 ? json_stringn(s, len) : base64_string(s, len);
            }
            if (!folded || json_object_set_new(data, key, folded) < 0) {
                rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
                break;
            }
        }
    }
    util_buf_release_secret(&plain);
    util_buf_release_secret(&sealed);
    if (rc < 0) {
        seal_json_free_secret(data);
        return NULL;
    }
    return data;
}

/* Compare Secrets: the rest of the object as usual, the values folded and in constant time. */
static int diff_secret(diff_ctx *c, const json_t *declared, const json_t *live)
{
    int r = -1;
    json_t *d = json_copy((json_t *)declared), *l = json_copy((json_t *)live);
    bool sealed = c->opts->keys && seal_secret_is_sealed(declared);
    const char *live_ns = util_json_str(util_json_path(live, "metadata"), "namespace");
    json_t *dd = secret_data(declared, sealed ? c->opts->keys : NULL, live_ns, c->err);
    json_t *ld = dd ? secret_data(live, NULL, NULL, c->err) : NULL;
    if (!d || !l || !dd || !ld) {
        if (dd && ld)
            util_error_set(c->err, UTIL_ENOMEM, "out of memory");
        goto out;
    }
    json_object_del(d, "data");
    json_object_del(d, "stringData");
    json_object_del(l, "data");
    json_object_del(l, "stringData");
    r = compare_value(c, d, l, NULL, NULL);
    if (r == 0) {
        path_mark m = path_push(c, "data", false);
        c->secret = true;
        if (!path_ignored(c))
            r = compare_value(c, dd, ld, NULL, "data");
        c->secret = false;
        path_pop(c, m);
    }
    if (r == 1 && !c->out->secret) {
        /* The difference is outside data, but its values point into our copies: drop them. */
        c->out->declared = c->out->live = NULL;
        c->out->secret = true;
    }
out:
    json_decref(d);
    json_decref(l);
    seal_json_free_secret(dd);
    seal_json_free_secret(ld);
    return r;
}

int prov_diff(prov_difference *out, const json_t *declared, const json_t *live,
              const prov_diff_options *opts, util_arena *arena, util_error *err)
{
    static const prov_diff_options none = {0};
    diff_ctx c = {
        .opts = opts ? opts : &none, .arena = arena, .err = err, .out = out, .record = true};
    memset(out, 0, sizeof(*out));
    c.kind = util_json_str(declared, "kind");
    const char *api = util_json_str(declared, "apiVersion");
    int r;
    if (!(c.empty = json_object()))
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    if (c.kind && strcmp(c.kind, "Secret") == 0 && api && strcmp(api, "v1") == 0)
        r = diff_secret(&c, declared, live);
    else
        r = compare_value(&c, declared, live, NULL, NULL);
    json_decref(c.empty);
    if (r < 0)
        return r;
    if (out->differs && !out->path)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    return 0;
}

/* A value for a message: JSON, cut at 80 bytes. */
static const char *show(const json_t *v, util_arena *arena)
{
    util_buf s;
    util_buf_init(&s);
    const char *r = NULL;
    if (util_json_dump(&s, v, JSON_ENCODE_ANY | JSON_COMPACT) == 0)
        r = s.len > 80 ? util_arena_printf(arena, "%.77s...", s.data)
                       : util_arena_strndup(arena, s.data, s.len);
    util_buf_release(&s);
    return r ? r : "?";
}

const char *prov_difference_describe(const prov_difference *d, util_arena *arena)
{
    if (!d->differs)
        return util_arena_strdup(arena, "matches git");
    if (d->secret)
        return util_arena_printf(arena, "%s differs from git (values not shown)", d->path);
    if (!d->live)
        return util_arena_printf(arena, "%s is missing but git declares %s", d->path,
                                 show(d->declared, arena));
    if (!d->declared)
        return util_arena_printf(arena, "%s is %s but git does not declare it", d->path,
                                 show(d->live, arena));
    return util_arena_printf(arena, "%s is %s but %s", d->path, show(d->live, arena),
                             show(d->declared, arena));
}
