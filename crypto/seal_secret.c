/* seal_secret.c: sealed Secrets: sealing, unsealing and re-sealing every item of a v1/Secret,
 * the sealed-digest annotation, and the JSONPatch the mutating webhook answers
 * (docs/sealing.md "Sealed Secrets"). Plaintext only lives in buffers wiped after use and in
 * the JSON handed back, which callers free with seal_json_free_secret. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/seal.h"
#include "util/limits.h"
#include "util/banned.h"

#define SEAL_LAST_APPLIED  "kubectl.kubernetes.io/last-applied-configuration"
#define SEAL_DIGEST_DOMAIN "sealgate-sealed-digest-v1"

/* One item of a Secret, after folding stringData over data (stringData wins, as in the
 * apiserver). */
typedef struct seal_item {
    const char *key;       /* borrowed from the Secret */
    bool from_string_data; /* where it was: stringData (a string) or data (base64) */
    util_buf value;        /* the bytes: the string, or data decoded; may be plaintext */
    bool sealed;           /* value is a sealed string (`sg1:...`) */
} seal_item;

typedef struct seal_items {
    seal_item *v;
    size_t n;
} seal_items;

/* Wipe and free a buffer that may hold plaintext. Only the bytes written are wiped: every
 * buffer here is filled from its start and never shortened, and wiping the unused capacity
 * (up to half of a doubled buffer) would fault in pages that never held anything. */
static void seal_buf_release(util_buf *b)
{
    if (b->data)
        sodium_memzero(b->data, b->len);
    util_buf_release(b);
}

static void seal_items_release(seal_items *items)
{
    for (size_t i = 0; i < items->n; i++)
        seal_buf_release(&items->v[i].value);
    free(items->v);
    items->v = NULL;
    items->n = 0;
}

static int seal_item_cmp(const void *a, const void *b)
{
    return strcmp(((const seal_item *)a)->key, ((const seal_item *)b)->key);
}

/* Decode standard base64 (as Secret data holds it) into out, wiping on failure. */
static int seal_b64_decode(util_buf *out, const char *s, size_t len)
{
    size_t n = 0;
    const char *end = NULL;
    if (util_buf_reserve(out, len / 4 * 3 + 3))
        return UTIL_ENOMEM;
    if (sodium_base642bin((unsigned char *)out->data, len / 4 * 3 + 3, s, len, NULL, &n, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != s + len) {
        sodium_memzero(out->data, len / 4 * 3 + 3);
        return UTIL_ESYNTAX;
    }
    out->len = n;
    out->data[n] = '\0';
    return 0;
}

/* A new JSON string of standard base64 of data; the temporary copy is wiped. */
static json_t *seal_b64_string(const void *data, size_t len)
{
    size_t enc = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *tmp = malloc(enc);
    if (!tmp)
        return NULL;
    sodium_bin2base64(tmp, enc, data, len, sodium_base64_VARIANT_ORIGINAL);
    json_t *s = json_stringn(tmp, enc - 1);
    sodium_memzero(tmp, enc);
    free(tmp);
    return s;
}

static seal_item *seal_items_find(seal_items *items, const char *key)
{
    for (size_t i = 0; i < items->n; i++)
        if (strcmp(items->v[i].key, key) == 0)
            return &items->v[i];
    return NULL;
}

/* Add or replace the item key with value[0..len). */
static int seal_items_put(seal_items *items, const char *key, bool from_string_data,
                          const char *value, size_t len, util_error *err)
{
    seal_item *it = seal_items_find(items, key);
    if (!it) {
        seal_item *v = realloc(items->v, (items->n + 1) * sizeof(*v));
        if (!v)
            return util_error_set(err, UTIL_ENOMEM, "out of memory");
        items->v = v;
        it = &v[items->n++];
        it->key = key;
        util_buf_init(&it->value);
    }
    seal_buf_release(&it->value);
    it->from_string_data = from_string_data;
    if (from_string_data) {
        if (util_buf_append(&it->value, value, len))
            return util_error_set(err, UTIL_ENOMEM, "out of memory");
    } else {
        int rc = seal_b64_decode(&it->value, value, len);
        if (rc == UTIL_ENOMEM)
            return util_error_set(err, rc, "out of memory");
        if (rc)
            return util_error_set(err, UTIL_ESYNTAX, "item '%s': data value is not base64", key);
    }
    /* By prefix alone: a damaged `sg1:` value must fail as such, never pass as plaintext. */
    const char *v = it->value.data;
    it->sealed = it->value.len >= 4 && v[0] == 's' && v[1] == 'g' && v[2] >= '0' && v[2] <= '9' &&
                 v[3] == ':';
    return 0;
}

static int seal_items_add_field(seal_items *items, const json_t *secret, const char *field,
                                util_error *err)
{
    json_t *obj = json_object_get(secret, field);
    if (!obj || json_is_null(obj))
        return 0;
    if (!json_is_object(obj))
        return util_error_set(err, UTIL_EINVALID, "'%s' is not a map of items", field);
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (!json_is_string(v))
            return util_error_set(err, UTIL_EINVALID, "item '%s': %s value is not a string", key,
                                  field);
        int rc = seal_items_put(items, key, strcmp(field, "stringData") == 0, json_string_value(v),
                                json_string_length(v), err);
        if (rc)
            return rc;
    }
    return 0;
}

/* The items of secret, stringData over data, sorted by key. */
static int seal_items_collect(seal_items *out, const json_t *secret, util_error *err)
{
    out->v = NULL;
    out->n = 0;
    int rc = seal_items_add_field(out, secret, "data", err);
    if (!rc)
        rc = seal_items_add_field(out, secret, "stringData", err);
    if (rc) {
        seal_items_release(out);
        return rc;
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), seal_item_cmp);
    return 0;
}

bool seal_secret_is_sealed(const json_t *secret)
{
    const char *s = util_json_str(util_json_path(secret, "metadata.labels"), SEAL_LABEL);
    return s && strcmp(s, "true") == 0;
}

/* ---- JSON helpers -------------------------------------------------------------------- */

void seal_json_wipe(json_t *v)
{
    if (json_is_string(v)) {
        /* jansson owns a private copy of the bytes; wiping it in place is safe. */
        sodium_memzero((char *)json_string_value(v), json_string_length(v));
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
        {
            seal_json_wipe(x);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            seal_json_wipe(x);
        }
    }
}

void seal_json_free_secret(json_t *v)
{
    if (v && v->refcount == 1)
        seal_json_wipe(v);
    json_decref(v);
}

/* A member object of obj (made when absent); NULL when it is there but not an object, or
 * on out-of-memory. Borrowed. */
static json_t *seal_json_child(json_t *obj, const char *key)
{
    json_t *c = json_object_get(obj, key);
    if (c)
        return json_is_object(c) ? c : NULL;
    c = json_object();
    if (!c || json_object_set_new(obj, key, c) != 0)
        return NULL;
    return c;
}

/* Drop member key of obj.child, and child itself when that leaves it empty. */
static void seal_json_del2(json_t *obj, const char *child, const char *key)
{
    json_t *c = json_object_get(obj, child);
    if (!json_is_object(c))
        return;
    json_object_del(c, key);
    if (json_object_size(c) == 0)
        json_object_del(obj, child);
}

/* A deep copy of secret without data and stringData (which hold the values). */
static json_t *seal_copy_shell(const json_t *secret)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    if (!out)
        return NULL;
    json_object_foreach((json_t *)secret, k, v)
    {
        if (strcmp(k, "data") == 0 || strcmp(k, "stringData") == 0)
            continue;
        if (json_object_set_new(out, k, json_deep_copy(v)) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* Check the object is a Secret; resolve its namespace (ns_arg fills a missing one and must
 * agree with a present one) and name. Borrowed strings; *ns_out NULL when there is none. */
static int seal_secret_place(const char **ns_out, const char **name_out, const json_t *secret,
                             const char *ns_arg, util_error *err)
{
    if (!json_is_object(secret))
        return util_error_set(err, UTIL_EINVALID, "not a Secret (not an object)");
    const char *kind = util_json_str(secret, "kind");
    if (!kind || strcmp(kind, "Secret") != 0)
        return util_error_set(err, UTIL_EINVALID, "not a Secret (kind '%s')",
                              kind ? kind : "(none)");
    const char *api = util_json_str(secret, "apiVersion");
    if (api && strcmp(api, "v1") != 0)
        return util_error_set(err, UTIL_EINVALID, "not a v1 Secret (apiVersion '%s')", api);
    json_t *md = json_object_get(secret, "metadata");
    if (md && !json_is_object(md))
        return util_error_set(err, UTIL_EINVALID, "metadata is not a map");
    /* A namespace or name that is there but not a string would be skipped here and kept in
     * the output, which then unseals nowhere (found by fuzz_sealed_secret). */
    static const char *const fields[] = {"namespace", "name"};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(md, fields[i]);
        if (v && !json_is_string(v) && !json_is_null(v))
            return util_error_set(err, UTIL_EINVALID, "metadata.%s is not a string", fields[i]);
    }
    const char *ns = util_json_str(md, "namespace");
    if (ns && !*ns)
        ns = NULL;
    if (ns && ns_arg && *ns_arg && strcmp(ns, ns_arg) != 0)
        return util_error_set(err, UTIL_EINVALID,
                              "the Secret is in namespace '%s', not '%s' as given", ns, ns_arg);
    *ns_out = ns ? ns : (ns_arg && *ns_arg ? ns_arg : NULL);
    *name_out = util_json_str(md, "name");
    return 0;
}

/* Which scope the Secret's annotation names; UNSET when it has none. */
static int seal_secret_scope(seal_scope *out, const json_t *secret, util_error *err)
{
    json_t *ann = util_json_path(secret, "metadata.annotations");
    const char *s = util_json_str(ann, SEAL_ANNOTATION_SCOPE);
    *out = SEAL_SCOPE_UNSET;
    if (s && !seal_scope_parse(out, s))
        return util_error_set(err, UTIL_EINVALID,
                              "annotation " SEAL_ANNOTATION_SCOPE " is '%s', expected strict, "
                              "namespace or cluster",
                              s);
    return 0;
}

/* ---- digest -------------------------------------------------------------------------- */

static void seal_digest_field(crypto_hash_sha256_state *st, const void *p, size_t n)
{
    uint8_t be[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    crypto_hash_sha256_update(st, be, 4);
    crypto_hash_sha256_update(st, p, n);
}

static void seal_digest_items(char *out, const seal_items *items)
{
    crypto_hash_sha256_state st;
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)SEAL_DIGEST_DOMAIN,
                              sizeof(SEAL_DIGEST_DOMAIN)); /* with its NUL */
    for (size_t i = 0; i < items->n; i++) {
        if (!items->v[i].sealed)
            continue;
        seal_digest_field(&st, items->v[i].key, strlen(items->v[i].key));
        seal_digest_field(&st, items->v[i].value.data, items->v[i].value.len);
    }
    crypto_hash_sha256_final(&st, h);
    memcpy(out, "sha256:", 7);
    sodium_bin2hex(out + 7, 65, h, sizeof(h));
}

int seal_secret_digest(char *out, const json_t *secret, util_error *err)
{
    seal_items items;
    out[0] = '\0';
    int rc = seal__sodium_init(err);
    if (rc || (rc = seal_items_collect(&items, secret, err)))
        return rc;
    seal_digest_items(out, &items);
    seal_items_release(&items);
    return 0;
}

/* Compare the digest annotation with the items; required: whether it must be present. */
static int seal_check_digest(const json_t *secret, const seal_items *items, bool required,
                             util_error *err)
{
    json_t *ann = util_json_path(secret, "metadata.annotations");
    const char *want = util_json_str(ann, SEAL_ANNOTATION_DIGEST);
    if (!want) {
        if (!required)
            return 0;
        return util_error_set(err, SEAL_EDIGEST,
                              "sealed Secret has no " SEAL_ANNOTATION_DIGEST " annotation "
                              "(seal it with 'sealgate seal' or '--merge-into')");
    }
    char got[SEAL_DIGEST_STR_SIZE];
    seal_digest_items(got, items);
    if (strlen(want) != strlen(got) || sodium_memcmp(want, got, strlen(got)) != 0)
        return util_error_set(err, SEAL_EDIGEST,
                              SEAL_ANNOTATION_DIGEST " does not match the sealed values (one was "
                                                     "changed, added or removed without "
                                                     "re-sealing)");
    return 0;
}

/* Unseal one item into plain (its previous contents wiped first), checking its scope
 * against the Secret's annotation. */
static int seal_item_unseal(util_buf *plain, const seal_item *it, const seal_keyring *kr,
                            seal_scope annotated, const char *ns, const char *name, util_error *err)
{
    int rc;
    seal_buf_release(plain);
    if (annotated != SEAL_SCOPE_UNSET) {
        seal_value_info info;
        if ((rc = seal_value_inspect(&info, it->value.data, it->value.len, err)))
            goto out;
        if (info.scope != annotated) {
            rc = util_error_set(err, SEAL_ESCOPE,
                                "sealed for scope %s, but the Secret's " SEAL_ANNOTATION_SCOPE
                                " says %s",
                                seal_scope_name(info.scope), seal_scope_name(annotated));
            goto out;
        }
    }
    rc = seal_value_unseal(plain, kr, ns, name, it->key, it->value.data, it->value.len, err);
out:
    if (rc)
        util_error_prefix(err, "item '%s'", it->key);
    return rc;
}

/* What unseal, reseal and mutate start from: a sealed Secret's place, its annotated scope
 * and its items, with the digest checked (when present, or always when required). Release
 * with seal_items_release(&o->items). */
typedef struct seal_opened {
    const char *ns, *name; /* borrowed from the Secret (ns may be ns_arg) */
    seal_scope annotated;
    seal_items items;
} seal_opened;

static int seal_secret_open(seal_opened *o, const json_t *secret, const char *ns_arg,
                            bool digest_required, util_error *err)
{
    o->items = (seal_items){0};
    int rc = seal__sodium_init(err);
    if (rc || (rc = seal_secret_place(&o->ns, &o->name, secret, ns_arg, err)) ||
        (rc = seal_secret_scope(&o->annotated, secret, err)) ||
        (rc = seal_items_collect(&o->items, secret, err)))
        return rc;
    if ((rc = seal_check_digest(secret, &o->items, digest_required, err)))
        seal_items_release(&o->items);
    return rc;
}

/* Seal item it to pub for scope at ns/name into sealed (emptied first); errors name it. */
static int seal_item_seal(util_buf *sealed, const seal_item *it, const seal_pubkey *pub,
                          seal_scope scope, const char *ns, const char *name, const void *plain,
                          size_t len, util_error *err)
{
    sealed->len = 0;
    int rc = seal_value_seal(sealed, pub, scope, ns, name, it->key, plain, len, err);
    if (rc)
        util_error_prefix(err, "item '%s'", it->key);
    return rc;
}

/* Put the sealed string in place of the item's bytes (the digest is over sealed strings):
 * the plaintext is wiped and the buffer moved, not copied. sealed is left empty. */
static void seal_item_take_sealed(seal_item *it, util_buf *sealed)
{
    seal_buf_release(&it->value);
    it->value = *sealed;
    it->sealed = true;
    util_buf_init(sealed);
}

/* Seal every item of a plain Secret's items into the object sd (item -> sealed string), each
 * item's bytes then replaced by its sealed string (for the digest). An item that is already
 * sealed is refused, the message ending with hint. */
static int seal_items_seal_into(json_t *sd, seal_items *items, const seal_pubkey *pub,
                                seal_scope scope, const char *ns, const char *name,
                                const char *hint, util_error *err)
{
    util_buf sealed;
    util_buf_init(&sealed);
    int rc = 0;
    for (size_t i = 0; i < items->n && !rc; i++) {
        seal_item *it = &items->v[i];
        if (it->sealed)
            rc = util_error_set(err, UTIL_EINVALID, "item '%s': already sealed%s", it->key, hint);
        else if (!(rc = seal_item_seal(&sealed, it, pub, scope, ns, name, it->value.data,
                                       it->value.len, err))) {
            if (json_object_set_new(sd, it->key, json_stringn(sealed.data, sealed.len)) != 0)
                rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
            else
                seal_item_take_sealed(it, &sealed);
        }
    }
    util_buf_release(&sealed);
    return rc;
}

/* ---- seal ---------------------------------------------------------------------------- */

/* Whether metadata names a namespace: null and "" are no namespace, as for the apiserver
 * (found by fuzz_sealed_secret: `namespace: null` kept in the output unsealed nowhere). */
static bool seal_has_namespace(const json_t *md)
{
    const char *ns = util_json_str(md, "namespace");
    return ns && *ns;
}

/* Set label, scope and digest annotation on out (a sealed Secret) and drop the
 * last-applied annotation, which would carry plaintext. */
static int seal_mark(json_t *out, seal_scope scope, const char *ns, const char *digest,
                     util_error *err)
{
    json_t *md = seal_json_child(out, "metadata");
    json_t *labels = md ? seal_json_child(md, "labels") : NULL;
    json_t *ann = md ? seal_json_child(md, "annotations") : NULL;
    if (!labels || !ann)
        return util_error_set(err, UTIL_EINVALID, "metadata, labels or annotations not a map");
    json_object_del(ann, SEAL_LAST_APPLIED);
    if (ns && !seal_has_namespace(md) && json_object_set_new(md, "namespace", json_string(ns)) != 0)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    if (json_object_set_new(labels, SEAL_LABEL, json_string("true")) != 0 ||
        json_object_set_new(ann, SEAL_ANNOTATION_SCOPE, json_string(seal_scope_name(scope))) != 0 ||
        json_object_set_new(ann, SEAL_ANNOTATION_DIGEST, json_string(digest)) != 0)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    return 0;
}

int seal_secret_seal(json_t **out, const json_t *secret, const seal_pubkey *pub, seal_scope scope,
                     const char *ns_arg, util_error *err)
{
    const char *ns, *name;
    seal_items items = {0};
    json_t *res = NULL, *sd = NULL;
    *out = NULL;
    int rc = seal__sodium_init(err);
    if (rc || (rc = seal_secret_place(&ns, &name, secret, ns_arg, err)))
        return rc;
    if (scope == SEAL_SCOPE_UNSET && (rc = seal_secret_scope(&scope, secret, err)))
        return rc;
    if (scope == SEAL_SCOPE_UNSET)
        scope = SEAL_SCOPE_STRICT;
    if (scope != SEAL_SCOPE_CLUSTER && !ns)
        return util_error_set(err, UTIL_EINVALID,
                              "the Secret has no namespace: give --namespace, or seal with "
                              "scope cluster");
    if (scope == SEAL_SCOPE_STRICT && (!name || !*name))
        return util_error_set(err, UTIL_EINVALID,
                              "the Secret has no name, which scope strict "
                              "binds");
    if ((rc = seal_items_collect(&items, secret, err)))
        return rc;
    if (!(res = seal_copy_shell(secret)) || !(sd = json_object())) {
        rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = seal_items_seal_into(sd, &items, pub, scope, ns, name,
                                   " (use 'sealgate reseal' to change keys, '--merge-into' to "
                                   "add items)",
                                   err)))
        goto fail;
    json_object_set_new(res, "stringData", sd);
    sd = NULL;
    char digest[SEAL_DIGEST_STR_SIZE];
    seal_digest_items(digest, &items);
    if ((rc = seal_mark(res, scope, ns, digest, err)))
        goto fail;
    *out = res;
    res = NULL;
fail:
    json_decref(sd);
    json_decref(res);
    seal_items_release(&items);
    return rc;
}

/* ---- unseal -------------------------------------------------------------------------- */

int seal_secret_unseal(json_t **out, const json_t *sealed_secret, const seal_keyring *kr,
                       const char *ns_arg, util_error *err)
{
    seal_opened o;
    json_t *res = NULL, *data = NULL;
    util_buf plain;
    util_buf_init(&plain);
    *out = NULL;
    int rc = seal_secret_open(&o, sealed_secret, ns_arg, false, err);
    if (rc)
        return rc;
    if (!(res = seal_copy_shell(sealed_secret)) || !(data = json_object())) {
        rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < o.items.n; i++) {
        const seal_item *it = &o.items.v[i];
        const util_buf *bytes = &it->value;
        if (it->sealed) {
            if ((rc = seal_item_unseal(&plain, it, kr, o.annotated, o.ns, o.name, err)))
                goto fail;
            bytes = &plain;
        }
        json_t *s = seal_b64_string(bytes->data, bytes->len);
        if (!s || json_object_set_new(data, it->key, s) != 0) {
            rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
            goto fail;
        }
    }
    json_object_set_new(res, "data", data);
    data = NULL;
    json_t *md = json_object_get(res, "metadata");
    seal_json_del2(md, "labels", SEAL_LABEL);
    seal_json_del2(md, "annotations", SEAL_ANNOTATION_SCOPE);
    seal_json_del2(md, "annotations", SEAL_ANNOTATION_DIGEST);
    if (o.ns && json_is_object(md) && !seal_has_namespace(md))
        json_object_set_new(md, "namespace", json_string(o.ns));
    *out = res;
    res = NULL;
fail:
    seal_json_free_secret(data);
    seal_json_free_secret(res);
    seal_buf_release(&plain);
    seal_items_release(&o.items);
    return rc;
}

/* ---- reseal -------------------------------------------------------------------------- */

int seal_secret_reseal(json_t **out, const json_t *sealed_secret, const seal_keyring *kr,
                       const seal_pubkey *pub, const char *ns_arg, util_error *err)
{
    seal_opened o;
    json_t *res = NULL;
    util_buf plain, sealed;
    util_buf_init(&plain);
    util_buf_init(&sealed);
    *out = NULL;
    int rc = seal_secret_open(&o, sealed_secret, ns_arg, false, err);
    if (rc)
        return rc;
    if (!(res = json_deep_copy(sealed_secret))) {
        rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
        goto fail;
    }
    seal_scope scope = o.annotated;
    for (size_t i = 0; i < o.items.n; i++) {
        seal_item *it = &o.items.v[i];
        if (!it->sealed)
            continue;
        seal_value_info info;
        if ((rc = seal_item_unseal(&plain, it, kr, o.annotated, o.ns, o.name, err)) ||
            (rc = seal_value_inspect(&info, it->value.data, it->value.len, err)))
            goto fail;
        scope = info.scope;
        if ((rc = seal_item_seal(&sealed, it, pub, info.scope, o.ns, o.name, plain.data, plain.len,
                                 err)))
            goto fail;
        json_t *s = it->from_string_data ? json_stringn(sealed.data, sealed.len)
                                         : seal_b64_string(sealed.data, sealed.len);
        json_t *parent = json_object_get(res, it->from_string_data ? "stringData" : "data");
        if (!s || json_object_set_new(parent, it->key, s) != 0) {
            rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
            goto fail;
        }
        seal_item_take_sealed(it, &sealed);
    }
    char digest[SEAL_DIGEST_STR_SIZE];
    seal_digest_items(digest, &o.items);
    if (scope == SEAL_SCOPE_UNSET)
        scope = SEAL_SCOPE_STRICT;
    if ((rc = seal_mark(res, scope, NULL, digest, err)))
        goto fail;
    *out = res;
    res = NULL;
fail:
    json_decref(res);
    seal_buf_release(&plain);
    util_buf_release(&sealed);
    seal_items_release(&o.items);
    return rc;
}

/* ---- mutate -------------------------------------------------------------------------- */

/* "/<field>/<key>" as an RFC 6901 pointer ('~' -> "~0", '/' -> "~1"). */
static json_t *seal_pointer(const char *field, const char *key)
{
    util_buf b;
    util_buf_init(&b);
    int rc = util_buf_printf(&b, "/%s/", field);
    for (const char *p = key; !rc && *p; p++)
        rc = *p == '~'   ? util_buf_puts(&b, "~0")
             : *p == '/' ? util_buf_puts(&b, "~1")
                         : util_buf_append(&b, p, 1);
    json_t *s = rc ? NULL : json_stringn(b.data, b.len);
    util_buf_release(&b);
    return s;
}

/* Append {"op", "path", "value"} to patch; steals path (which may be NULL: out of memory),
 * borrows value (NULL: no value member). */
static int seal_patch_op(json_t *patch, const char *op, json_t *path, const json_t *value)
{
    json_t *o = json_object();
    if (!o || !path) {
        json_decref(path);
        json_decref(o);
        return UTIL_ENOMEM;
    }
    int rc = json_object_set_new(o, "op", json_string(op)) ||
             json_object_set_new(o, "path", path) ||
             (value && json_object_set(o, "value", (json_t *)value)) || json_array_append(patch, o);
    json_decref(o);
    return rc ? UTIL_ENOMEM : 0;
}

int seal_secret_mutate_patch(json_t **out_patch, const json_t *secret, const seal_keyring *kr,
                             util_error *err)
{
    seal_opened o;
    json_t *patch = NULL;
    util_buf plain;
    util_buf_init(&plain);
    *out_patch = NULL;
    if (!seal_secret_is_sealed(secret))
        return 0;
    int rc = seal_secret_open(&o, secret, NULL, true, err);
    if (rc)
        return rc;
    if (!(patch = json_array())) {
        rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
        goto fail;
    }
    /* stringData never reaches an admission webhook (the apiserver folds it); should one
     * arrive anyway, its sealed items move to data. */
    bool data_exists = json_is_object(json_object_get(secret, "data"));
    for (size_t i = 0; i < o.items.n; i++) {
        const seal_item *it = &o.items.v[i];
        if (!it->sealed)
            continue;
        if ((rc = seal_item_unseal(&plain, it, kr, o.annotated, o.ns, o.name, err)))
            goto fail;
        json_t *value = seal_b64_string(plain.data, plain.len);
        bool in_data = json_object_get(json_object_get(secret, "data"), it->key) != NULL;
        if (!value)
            rc = UTIL_ENOMEM;
        if (!rc && it->from_string_data)
            rc = seal_patch_op(patch, "remove", seal_pointer("stringData", it->key), NULL);
        if (!rc && !data_exists) {
            json_t *empty = json_object();
            rc = seal_patch_op(patch, "add", json_string("/data"), empty);
            json_decref(empty);
            data_exists = true;
        }
        if (!rc)
            rc = seal_patch_op(patch, in_data ? "replace" : "add", seal_pointer("data", it->key),
                               value);
        seal_json_free_secret(value);
        if (rc) {
            rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
            goto fail;
        }
    }
    *out_patch = patch;
    patch = NULL;
fail:
    seal_json_free_secret(patch);
    seal_buf_release(&plain);
    seal_items_release(&o.items);
    return rc;
}

/* ---- merge --------------------------------------------------------------------------- */

int seal_secret_merge(json_t **out, const json_t *sealed_secret, const json_t *secret,
                      const seal_pubkey *pub, util_error *err)
{
    const char *ns, *name, *ns2, *name2;
    seal_items items = {0}, all = {0};
    seal_scope scope;
    json_t *res = NULL;
    *out = NULL;
    int rc = seal__sodium_init(err);
    if (rc || (rc = seal_secret_place(&ns, &name, sealed_secret, NULL, err)) ||
        (rc = seal_secret_scope(&scope, sealed_secret, err)))
        return rc;
    if ((rc = seal_secret_place(&ns2, &name2, secret, NULL, err)) ||
        (rc = seal_items_collect(&items, secret, err)))
        return rc;
    if (scope == SEAL_SCOPE_UNSET)
        scope = SEAL_SCOPE_STRICT;
    if (!(res = json_deep_copy(sealed_secret))) {
        rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
        goto fail;
    }
    json_t *sd = seal_json_child(res, "stringData");
    if (!sd) {
        rc = util_error_set(err, UTIL_EINVALID, "stringData of the sealed Secret is not a map");
        goto fail;
    }
    if ((rc = seal_items_seal_into(sd, &items, pub, scope, ns, name, "", err)))
        goto fail;
    for (size_t i = 0; i < items.n; i++) /* an item of the same name under data is replaced */
        seal_json_del2(res, "data", items.v[i].key);
    if ((rc = seal_items_collect(&all, res, err)))
        goto fail;
    char digest[SEAL_DIGEST_STR_SIZE];
    seal_digest_items(digest, &all);
    if ((rc = seal_mark(res, scope, NULL, digest, err)))
        goto fail;
    *out = res;
    res = NULL;
fail:
    json_decref(res);
    seal_items_release(&items);
    seal_items_release(&all);
    return rc;
}
