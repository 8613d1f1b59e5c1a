/* seal_test_secret.c: sealed Secrets through the library: seal/unseal/reseal round trips,
 * the digest, and the mutate patch applied to the real apiserver AdmissionReview bodies of
 * ../shared/fixtures/admissionreview/ (their values re-sealed with a test key here), compared
 * with the expected object. Errors are checked for the plaintext. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/seal.h"
#include "test.h"
#include "util/banned.h"

#define PLAIN "s3cret-pw-7f3a"

static seal_keyring *kr, *kr_other;
static seal_pubkey pub, pub_other;

static json_t *load_fixture(const char *name)
{
    const char *src = getenv("SEALGATE_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/../shared/fixtures/admissionreview/%s", src ? src : ".", name);
    json_error_t jerr;
    json_t *review = json_load_file(path, 0, &jerr);
    if (!review) {
        fprintf(stderr, "cannot load %s: %s\n", path, jerr.text);
        return NULL;
    }
    json_t *obj = json_incref(json_object_get(json_object_get(review, "request"), "object"));
    json_decref(review);
    return obj;
}

static json_t *b64(const void *p, size_t n)
{
    char out[4096];
    sodium_bin2base64(out, sizeof(out), p, n, sodium_base64_VARIANT_ORIGINAL);
    return json_string(out);
}

/* Put a sealed PLAIN for item under data (base64, as the apiserver sends it) and refresh the
 * scope and digest annotations. */
static void reseal_fixture(json_t *obj, const seal_pubkey *to, seal_scope scope, const char *item)
{
    util_buf s;
    util_error err = {0};
    util_buf_init(&s);
    const char *ns = util_json_str(util_json_path(obj, "metadata"), "namespace");
    const char *name = util_json_str(util_json_path(obj, "metadata"), "name");
    CHECK_INT(seal_value_seal(&s, to, scope, ns, name, item, PLAIN, strlen(PLAIN), &err), 0);
    json_object_set_new(json_object_get(obj, "data"), item, b64(s.data, s.len));
    json_t *ann = json_object_get(json_object_get(obj, "metadata"), "annotations");
    char digest[SEAL_DIGEST_STR_SIZE];
    CHECK_INT(seal_secret_digest(digest, obj, &err), 0);
    json_object_set_new(ann, SEAL_ANNOTATION_DIGEST, json_string(digest));
    json_object_set_new(ann, SEAL_ANNOTATION_SCOPE, json_string(seal_scope_name(scope)));
    util_buf_release(&s);
}

/* Minimal RFC 6902 for the ops the patch uses: add, replace (target must exist), remove, on
 * object members. Returns 0 when every op applied. */
static int apply_patch(json_t *doc, const json_t *patch)
{
    size_t i;
    json_t *op;
    json_array_foreach(patch, i, op)
    {
        const char *kind = util_json_str(op, "op"), *path = util_json_str(op, "path");
        if (!kind || !path || path[0] != '/')
            return -1;
        json_t *parent = doc;
        char seg[256];
        const char *p = path + 1;
        for (;;) {
            size_t n = 0;
            while (*p && *p != '/' && n < sizeof(seg) - 1) {
                if (p[0] == '~' && (p[1] == '0' || p[1] == '1')) {
                    seg[n++] = p[1] == '0' ? '~' : '/';
                    p += 2;
                } else {
                    seg[n++] = *p++;
                }
            }
            seg[n] = '\0';
            if (!*p)
                break;
            parent = json_object_get(parent, seg);
            if (!json_is_object(parent))
                return -1;
            p++;
        }
        json_t *value = json_object_get(op, "value");
        if (strcmp(kind, "remove") == 0) {
            if (json_object_del(parent, seg))
                return -1;
        } else if (strcmp(kind, "replace") == 0) {
            if (!json_object_get(parent, seg) || !value)
                return -1;
            json_object_set(parent, seg, value);
        } else if (strcmp(kind, "add") == 0) {
            if (!value)
                return -1;
            json_object_set_new(parent, seg, json_deep_copy(value));
        } else {
            return -1;
        }
    }
    return 0;
}

static void check_no_plain(const util_error *err)
{
    CHECK(strstr(err->msg, PLAIN) == NULL);
}

/* The create fixture: one sealed item (password) and one plain item (other). */
static void test_mutate_fixture(const char *fixture)
{
    json_t *obj = load_fixture(fixture);
    CHECK(obj != NULL);
    if (!obj)
        return;
    reseal_fixture(obj, &pub, SEAL_SCOPE_STRICT, "password");
    json_t *expected = json_deep_copy(obj);
    json_object_set_new(json_object_get(expected, "data"), "password", b64(PLAIN, strlen(PLAIN)));

    json_t *patch = NULL;
    util_error err = {0};
    CHECK_INT(seal_secret_mutate_patch(&patch, obj, kr, &err), 0);
    CHECK(json_is_array(patch) && json_array_size(patch) == 1);
    json_t *op = json_array_get(patch, 0);
    CHECK_STR(util_json_str(op, "op"), "replace");
    CHECK_STR(util_json_str(op, "path"), "/data/password");
    json_t *applied = json_deep_copy(obj);
    CHECK_INT(apply_patch(applied, patch), 0);
    CHECK(json_equal(applied, expected));
    /* label and digest annotation kept */
    CHECK(seal_secret_is_sealed(applied));
    CHECK(util_json_str(util_json_path(applied, "metadata.annotations"), SEAL_ANNOTATION_DIGEST));
    seal_json_free_secret(patch);
    json_decref(applied);

    /* Sealed to another key: unknown key id, the item named, no patch. */
    json_t *o2 = json_deep_copy(obj);
    reseal_fixture(o2, &pub_other, SEAL_SCOPE_STRICT, "password");
    CHECK_INT(seal_secret_mutate_patch(&patch, o2, kr, &err), SEAL_EUNKNOWNKEY);
    CHECK(patch == NULL);
    CHECK(strstr(err.msg, "item 'password'") != NULL);
    check_no_plain(&err);
    json_decref(o2);

    /* Moved to another namespace (digest recomputed, so only the scope stops it). */
    o2 = json_deep_copy(obj);
    json_object_set_new(json_object_get(o2, "metadata"), "namespace", json_string("t2"));
    CHECK_INT(seal_secret_mutate_patch(&patch, o2, kr, &err), SEAL_ESCOPE);
    CHECK(strstr(err.msg, "item 'password'") && strstr(err.msg, "namespace"));
    check_no_plain(&err);
    json_decref(o2);

    /* Digest missing, or not matching after a value was swapped. */
    o2 = json_deep_copy(obj);
    json_object_del(json_object_get(json_object_get(o2, "metadata"), "annotations"),
                    SEAL_ANNOTATION_DIGEST);
    CHECK_INT(seal_secret_mutate_patch(&patch, o2, kr, &err), SEAL_EDIGEST);
    json_decref(o2);
    o2 = json_deep_copy(obj);
    json_t *copy = json_deep_copy(obj);
    reseal_fixture(copy, &pub, SEAL_SCOPE_STRICT, "password"); /* a fresh sealing of it */
    json_object_set(json_object_get(o2, "data"), "password",
                    json_object_get(json_object_get(copy, "data"), "password"));
    CHECK_INT(seal_secret_mutate_patch(&patch, o2, kr, &err), SEAL_EDIGEST);
    json_decref(copy);
    json_decref(o2);

    /* Tampered ciphertext: one character of the sealed string changed, digest refreshed. */
    o2 = json_deep_copy(obj);
    util_buf s;
    util_buf_init(&s);
    const char *b = util_json_str(json_object_get(o2, "data"), "password");
    unsigned char raw[1024];
    size_t rawlen = 0;
    sodium_base642bin(raw, sizeof(raw), b, strlen(b), NULL, &rawlen, NULL,
                      sodium_base64_VARIANT_ORIGINAL);
    raw[rawlen - 3] = raw[rawlen - 3] == 'A' ? 'B' : 'A';
    json_object_set_new(json_object_get(o2, "data"), "password", b64(raw, rawlen));
    char digest[SEAL_DIGEST_STR_SIZE];
    CHECK_INT(seal_secret_digest(digest, o2, &err), 0);
    json_object_set_new(json_object_get(json_object_get(o2, "metadata"), "annotations"),
                        SEAL_ANNOTATION_DIGEST, json_string(digest));
    CHECK_INT(seal_secret_mutate_patch(&patch, o2, kr, &err), SEAL_ETAMPERED);
    CHECK(strstr(err.msg, "item 'password'") != NULL);
    check_no_plain(&err);
    util_buf_release(&s);
    json_decref(o2);

    /* Not labelled: no patch, no error, even with garbage values. */
    o2 = json_deep_copy(obj);
    json_object_del(json_object_get(json_object_get(o2, "metadata"), "labels"), SEAL_LABEL);
    patch = json_true();
    CHECK_INT(seal_secret_mutate_patch(&patch, o2, kr, &err), 0);
    CHECK(patch == NULL);
    json_decref(o2);

    json_decref(expected);
    json_decref(obj);
}

/* stringData reaching the webhook (it does not, the apiserver folds it; but if): moved. */
static void test_mutate_string_data(void)
{
    json_t *obj =
        json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}}", "apiVersion", "v1", "kind", "Secret",
                  "metadata", "name", "n", "namespace", "ns", "labels", SEAL_LABEL, "true");
    json_t *plain =
        json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "Secret",
                  "metadata", "name", "n", "namespace", "ns", "stringData", "k", PLAIN);
    json_t *sealed = NULL, *patch = NULL;
    util_error err = {0};
    CHECK_INT(seal_secret_seal(&sealed, plain, &pub, SEAL_SCOPE_UNSET, NULL, &err), 0);
    CHECK_INT(seal_secret_mutate_patch(&patch, sealed, kr, &err), 0);
    json_t *applied = json_deep_copy(sealed);
    CHECK_INT(apply_patch(applied, patch), 0);
    CHECK(json_object_get(applied, "stringData") == NULL ||
          json_object_size(json_object_get(applied, "stringData")) == 0);
    json_t *want = b64(PLAIN, strlen(PLAIN));
    CHECK(json_equal(json_object_get(json_object_get(applied, "data"), "k"), want));
    json_decref(want);
    json_decref(applied);
    seal_json_free_secret(patch);
    json_decref(sealed);
    json_decref(plain);
    json_decref(obj);
}

static void test_round_trip_scopes(void)
{
    static const char *const scopes[] = {"strict", "namespace", "cluster"};
    uint8_t bin[300];
    randombytes_buf(bin, sizeof(bin));
    for (size_t s = 0; s < 3; s++) {
        json_t *plain = json_pack(
            "{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:s, s:{s:o, s:s}, "
            "s:{s:s}}",
            "apiVersion", "v1", "kind", "Secret", "metadata", "name", "db", "namespace", "prod",
            "annotations", "kubectl.kubernetes.io/last-applied-configuration", PLAIN, "type",
            "Opaque", "data", "bin", b64(bin, sizeof(bin)), "empty", "", "stringData", "pw", PLAIN);
        seal_scope scope;
        CHECK(seal_scope_parse(&scope, scopes[s]));
        json_t *sealed = NULL, *back = NULL, *re = NULL, *back2 = NULL;
        util_error err = {0};
        CHECK_INT(seal_secret_seal(&sealed, plain, &pub, scope, NULL, &err), 0);
        char *dump = json_dumps(sealed, 0);
        CHECK(dump && strstr(dump, PLAIN) == NULL); /* last-applied dropped, values sealed */
        free(dump);
        CHECK_STR(
            util_json_str(util_json_path(sealed, "metadata.annotations"), SEAL_ANNOTATION_SCOPE),
            scopes[s]);
        CHECK_STR(util_json_str(sealed, "type"), "Opaque");
        CHECK(json_object_get(sealed, "data") == NULL);
        CHECK_INT(json_object_size(json_object_get(sealed, "stringData")), 3);
        CHECK_INT(seal_secret_unseal(&back, sealed, kr, NULL, &err), 0);
        json_t *data = json_object_get(back, "data");
        json_t *want_pw = b64(PLAIN, strlen(PLAIN)), *want_bin = b64(bin, sizeof(bin));
        CHECK(json_equal(json_object_get(data, "pw"), want_pw));
        CHECK(json_equal(json_object_get(data, "bin"), want_bin));
        CHECK_STR(util_json_str(data, "empty"), "");
        CHECK(!seal_secret_is_sealed(back));
        /* Rotation: reseal to another key; the old keyring no longer unseals, the new does. */
        CHECK_INT(seal_secret_reseal(&re, sealed, kr, &pub_other, NULL, &err), 0);
        CHECK_INT(seal_secret_unseal(&back2, re, kr, NULL, &err), SEAL_EUNKNOWNKEY);
        CHECK_INT(seal_secret_unseal(&back2, re, kr_other, NULL, &err), 0);
        CHECK(json_equal(json_object_get(back2, "data"), data));
        seal_json_free_secret(back2);
        /* Moved: rename; strict refuses, the others unseal. */
        json_t *moved = json_deep_copy(sealed);
        json_object_set_new(json_object_get(moved, "metadata"), "name", json_string("db2"));
        back2 = NULL;
        int rc = seal_secret_unseal(&back2, moved, kr, NULL, &err);
        CHECK_INT(rc, s == 0 ? SEAL_ESCOPE : 0);
        if (rc)
            check_no_plain(&err);
        seal_json_free_secret(back2);
        back2 = NULL;
        json_object_set_new(json_object_get(moved, "metadata"), "namespace", json_string("dev"));
        rc = seal_secret_unseal(&back2, moved, kr, NULL, &err);
        CHECK_INT(rc, s == 2 ? 0 : SEAL_ESCOPE);
        seal_json_free_secret(back2);
        /* Item renamed: strict refuses (digest refreshed so the scope is what stops it). */
        json_t *sd = json_object_get(moved, "stringData");
        json_object_set(sd, "pw2", json_object_get(sd, "pw"));
        json_object_del(sd, "pw");
        char digest[SEAL_DIGEST_STR_SIZE];
        CHECK_INT(seal_secret_digest(digest, moved, &err), 0);
        json_object_set_new(json_object_get(json_object_get(moved, "metadata"), "annotations"),
                            SEAL_ANNOTATION_DIGEST, json_string(digest));
        json_object_set_new(json_object_get(moved, "metadata"), "namespace", json_string("prod"));
        json_object_set_new(json_object_get(moved, "metadata"), "name", json_string("db"));
        back2 = NULL;
        rc = seal_secret_unseal(&back2, moved, kr, NULL, &err);
        CHECK_INT(rc, s == 0 ? SEAL_ESCOPE : 0);
        if (rc)
            CHECK(strstr(err.msg, "item 'pw2'") && strstr(err.msg, "another item"));
        seal_json_free_secret(back2);
        json_decref(moved);
        /* Sealing a sealed Secret again is refused. */
        json_t *twice = NULL;
        CHECK_INT(seal_secret_seal(&twice, sealed, &pub, scope, NULL, &err), UTIL_EINVALID);
        json_decref(want_pw);
        json_decref(want_bin);
        json_decref(re);
        seal_json_free_secret(back);
        json_decref(sealed);
        json_decref(plain);
    }
}

static void test_secret_errors(void)
{
    util_error err = {0};
    json_t *out = NULL;
    json_t *cm = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                           "metadata", "name", "x");
    CHECK_INT(seal_secret_seal(&out, cm, &pub, SEAL_SCOPE_UNSET, NULL, &err), UTIL_EINVALID);
    CHECK(strstr(err.msg, "ConfigMap") != NULL);
    json_decref(cm);
    json_t *nons = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "Secret",
                             "metadata", "name", "x", "stringData", "k", PLAIN);
    CHECK_INT(seal_secret_seal(&out, nons, &pub, SEAL_SCOPE_UNSET, NULL, &err), UTIL_EINVALID);
    CHECK(strstr(err.msg, "namespace") != NULL);
    CHECK_INT(seal_secret_seal(&out, nons, &pub, SEAL_SCOPE_CLUSTER, NULL, &err), 0);
    json_decref(out);
    CHECK_INT(seal_secret_seal(&out, nons, &pub, SEAL_SCOPE_STRICT, "given", &err), 0);
    CHECK_STR(util_json_str(util_json_path(out, "metadata"), "namespace"), "given");
    json_decref(out);
    json_t *bad =
        json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "Secret",
                  "metadata", "name", "x", "namespace", "y", "data", "k", "not base64!");
    CHECK_INT(seal_secret_seal(&out, bad, &pub, SEAL_SCOPE_UNSET, NULL, &err), UTIL_ESYNTAX);
    CHECK(strstr(err.msg, "item 'k'") != NULL);
    json_decref(bad);
    /* The scope annotation and a value's header must agree. */
    CHECK_INT(seal_secret_seal(&out, nons, &pub, SEAL_SCOPE_CLUSTER, NULL, &err), 0);
    json_object_set_new(json_object_get(json_object_get(out, "metadata"), "annotations"),
                        SEAL_ANNOTATION_SCOPE, json_string("strict"));
    json_t *back = NULL;
    CHECK_INT(seal_secret_unseal(&back, out, kr, "ns", &err), SEAL_ESCOPE);
    CHECK(strstr(err.msg, "sealed for scope cluster") != NULL);
    json_decref(out);
    json_decref(nons);
    /* metadata.namespace that is a map: refused, not sealed for --namespace and kept as it
     * was (the result unsealed nowhere; found by fuzz_sealed_secret). */
    json_t *nsmap =
        json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:s}}", "apiVersion", "v1", "kind", "Secret",
                  "metadata", "name", "db", "namespace", "a", "b", "stringData", "k", PLAIN);
    CHECK_INT(seal_secret_seal(&out, nsmap, &pub, SEAL_SCOPE_UNSET, "fuzz", &err), UTIL_EINVALID);
    CHECK(strstr(err.msg, "metadata.namespace is not a string") != NULL);
    json_decref(nsmap);
    /* namespace: null is no namespace: the one given takes its place in the output. */
    json_t *nsnull =
        json_pack("{s:s, s:s, s:{s:s, s:n}, s:{s:s}}", "apiVersion", "v1", "kind", "Secret",
                  "metadata", "name", "db", "namespace", "stringData", "k", PLAIN);
    CHECK_INT(seal_secret_seal(&out, nsnull, &pub, SEAL_SCOPE_UNSET, "given", &err), 0);
    CHECK_STR(util_json_str(util_json_path(out, "metadata"), "namespace"), "given");
    CHECK_INT(seal_secret_unseal(&back, out, kr, "given", &err), 0);
    json_decref(back);
    json_decref(out);
    json_decref(nsnull);
}

static void test_merge(void)
{
    util_error err = {0};
    json_t *a = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}}", "apiVersion", "v1", "kind",
                          "Secret", "metadata", "name", "db", "namespace", "prod", "stringData",
                          "user", "admin", "pw", "old");
    json_t *b =
        json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "Secret",
                  "metadata", "name", "whatever", "stringData", "pw", PLAIN, "token", "t0k");
    json_t *sealed = NULL, *merged = NULL, *back = NULL;
    CHECK_INT(seal_secret_seal(&sealed, a, &pub, SEAL_SCOPE_UNSET, NULL, &err), 0);
    CHECK_INT(seal_secret_merge(&merged, sealed, b, &pub, &err), 0);
    CHECK_INT(seal_secret_unseal(&back, merged, kr, NULL, &err), 0);
    json_t *data = json_object_get(back, "data");
    json_t *w1 = b64(PLAIN, strlen(PLAIN)), *w2 = b64("admin", 5), *w3 = b64("t0k", 3);
    CHECK(json_equal(json_object_get(data, "pw"), w1));
    CHECK(json_equal(json_object_get(data, "user"), w2));
    CHECK(json_equal(json_object_get(data, "token"), w3));
    json_t *patch = NULL;
    CHECK_INT(seal_secret_mutate_patch(&patch, merged, kr, &err), 0); /* digest refreshed */
    seal_json_free_secret(patch);
    json_decref(w1);
    json_decref(w2);
    json_decref(w3);
    seal_json_free_secret(back);
    json_decref(merged);
    json_decref(sealed);
    json_decref(a);
    json_decref(b);
}

int main(void)
{
    uint8_t sk[32];
    util_error err = {0};
    if (sodium_init() < 0)
        return 1;
    randombytes_buf(sk, sizeof(sk));
    CHECK_INT(seal__keyring_from_raw(&kr, sk, 1, &err), 0);
    CHECK_INT(seal_keyring_newest(&pub, kr, &err), 0);
    randombytes_buf(sk, sizeof(sk));
    CHECK_INT(seal__keyring_from_raw(&kr_other, sk, 2, &err), 0);
    CHECK_INT(seal_keyring_newest(&pub_other, kr_other, &err), 0);
    sodium_memzero(sk, sizeof(sk));
    test_mutate_fixture("secret-create-mutate.json");
    test_mutate_fixture("secret-update-dryrun-mutate.json");
    test_mutate_string_data();
    test_round_trip_scopes();
    test_secret_errors();
    test_merge();
    seal_keyring_free(kr);
    seal_keyring_free(kr_other);
    return test_finish();
}
