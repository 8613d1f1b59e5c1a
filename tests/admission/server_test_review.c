/* server_test_review.c: the config loader, durations and sizes, AdmissionReview decoding and
 * answers, in process. The real apiserver captures come from ../shared/fixtures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "admission/adm.h"
#include "test.h"

/* ---- config ---------------------------------------------------------------------------- */

static void test_durations_sizes(void)
{
    uint64_t ms = 0;
    size_t sz = 0;
    util_error err;
    CHECK_INT(adm_parse_duration(&ms, "30s", &err), 0);
    CHECK_INT(ms, 30000);
    CHECK_INT(adm_parse_duration(&ms, "5m", &err), 0);
    CHECK_INT(ms, 300000);
    CHECK_INT(adm_parse_duration(&ms, "1m30s", &err), 0);
    CHECK_INT(ms, 90000);
    CHECK_INT(adm_parse_duration(&ms, "500ms", &err), 0);
    CHECK_INT(ms, 500);
    CHECK_INT(adm_parse_duration(&ms, "2h", &err), 0);
    CHECK_INT(ms, 7200000);
    CHECK(adm_parse_duration(&ms, "30", &err) < 0);
    CHECK(strstr(err.msg, "invalid duration '30'") != NULL);
    CHECK(adm_parse_duration(&ms, "", &err) < 0);
    CHECK(adm_parse_duration(&ms, "5x", &err) < 0);
    CHECK(adm_parse_duration(&ms, "s", &err) < 0);
    CHECK_INT(adm_parse_size(&sz, "6MiB", &err), 0);
    CHECK_INT(sz, 6u * 1024 * 1024);
    CHECK_INT(adm_parse_size(&sz, "512KiB", &err), 0);
    CHECK_INT(sz, 512u * 1024);
    CHECK_INT(adm_parse_size(&sz, "4096", &err), 0);
    CHECK_INT(sz, 4096);
    CHECK_INT(adm_parse_size(&sz, "1Gi", &err), 0);
    CHECK_INT(sz, 1024u * 1024 * 1024);
    CHECK(adm_parse_size(&sz, "6XB", &err) < 0);
    CHECK(strstr(err.msg, "invalid size '6XB'") != NULL);
    CHECK(adm_parse_size(&sz, "-1", &err) < 0);
    CHECK(adm_parse_size(&sz, "MiB", &err) < 0);
    CHECK(adm_parse_size(&sz, "99999999999999GiB", &err) < 0);
}

static const char full_config[] =
    "listen: 0.0.0.0:9443\n"
    "tls: {cert: /tls/tls.crt, key: /tls/tls.key, clientCA: /tls/ca.crt}\n"
    "rules: [/rules/a, /rules/b.rules]\n"
    "mode: warn\n"
    "params:\n"
    "  images: {allowedRegistries: [ghcr.io/, \"quay.io/\"], requireDigest: true, max: 3}\n"
    "repo:\n"
    "  url: https://git.example.com/config.git\n"
    "  paths: [clusters/prod]\n"
    "  interval: 1m30s\n"
    "  trust: [/trust/allowed_signers]\n"
    "  verify: chain\n"
    "  since: 0123abcd\n"
    "provenance:\n"
    "  mode: audit\n"
    "  exempt: {users: [admin], groups: [system:masters]}\n"
    "  ignore: [{kind: Deployment, path: spec.replicas}]\n"
    "sealing:\n"
    "  keys: [/keys/a.key, /keys/b.key]\n"
    "limits: {body: 1MiB, depth: 50, connections: 64, timeout: 10s, threads: 3}\n"
    "logLevel: debug\n";

static void test_config_full(void)
{
    adm_config cfg;
    util_error err;
    adm_config_init(&cfg);
    CHECK_INT(adm_config_parse(&cfg, "full.yaml", full_config, strlen(full_config), &err), 0);
    CHECK_STR(cfg.listen, "0.0.0.0:9443");
    CHECK_STR(cfg.tls_cert, "/tls/tls.crt");
    CHECK_STR(cfg.tls_client_ca, "/tls/ca.crt");
    CHECK_INT(cfg.rules.count, 2);
    CHECK_STR(cfg.rules.items[1], "/rules/b.rules");
    CHECK_INT(cfg.mode, ADM_MODE_WARN);
    json_t *regs = util_json_path(cfg.params, "images.allowedRegistries");
    CHECK_INT(json_array_size(regs), 2);
    CHECK(json_is_true(util_json_path(cfg.params, "images.requireDigest")));
    CHECK_INT(json_integer_value(util_json_path(cfg.params, "images.max")), 3);
    CHECK(cfg.repo.enabled);
    CHECK_STR(cfg.repo.branch, "main");
    CHECK_INT(cfg.repo.interval_ms, 90000);
    CHECK_STR(cfg.repo.verify, "chain");
    CHECK_INT(cfg.provenance.mode, ADM_MODE_AUDIT);
    CHECK_STR(cfg.provenance.exempt_groups.items[0], "system:masters");
    CHECK_STR(util_json_str(json_array_get(cfg.provenance.ignore, 0), "path"), "spec.replicas");
    CHECK_INT(cfg.sealing.keys.count, 2);
    CHECK_INT(cfg.limits.body, 1024 * 1024);
    CHECK_INT(cfg.limits.depth, 50);
    CHECK_INT(cfg.limits.timeout_ms, 10000);
    CHECK_INT(cfg.limits.threads, 3);
    CHECK_INT(cfg.log_level, ADM_LOG_DEBUG);
    adm_config_release(&cfg);

    /* defaults */
    adm_config_init(&cfg);
    CHECK_INT(adm_config_parse(&cfg, "empty.yaml", "", 0, &err), 0);
    CHECK(cfg.listen == NULL && cfg.tls_cert == NULL && !cfg.repo.enabled);
    CHECK_INT(cfg.mode, ADM_MODE_ENFORCE);
    CHECK_INT(cfg.limits.body, 6u * 1024 * 1024);
    CHECK_INT(cfg.limits.depth, 100);
    adm_config_release(&cfg);
}

/* Parse text and expect an error "line:col" with msg in it. */
static void config_fails(const char *text, unsigned line, unsigned col, const char *msg)
{
    adm_config cfg;
    util_error err;
    adm_config_init(&cfg);
    int rc = adm_config_parse(&cfg, "bad.yaml", text, strlen(text), &err);
    CHECK(rc < 0);
    CHECK_STR(err.source, "bad.yaml");
    CHECK_INT(err.line, line);
    CHECK_INT(err.col, col);
    if (strstr(err.msg, msg) == NULL)
        fprintf(stderr, "  message '%s' lacks '%s'\n", err.msg, msg);
    CHECK(strstr(err.msg, msg) != NULL);
    adm_config_release(&cfg);
}

static void test_config_errors(void)
{
    config_fails("tls:\n  cert: a\n  kee: b\n", 3, 3, "unknown key 'kee' in tls");
    config_fails("listen: x:1\nlimts: {}\n", 2, 1, "unknown key 'limts'");
    config_fails("rules: rules/\n", 1, 8, "rules: expected a list of strings, got a scalar");
    config_fails("mode: strict\n", 1, 7, "mode: expected enforce, warn or audit");
    config_fails("limits:\n  body: lots\n", 2, 9, "limits.body: invalid size 'lots'");
    config_fails("limits: {depth: 0}\n", 1, 17, "limits.depth: expected a whole number");
    config_fails("repo:\n  url: x\n  trust: [t]\n  interval: soon\n", 4, 13,
                 "repo.interval: invalid duration");
    config_fails("repo:\n  url: x\n", 1, 1, "repo.trust: at least one trust file");
    config_fails("tls:\n  cert: a\n", 1, 1, "cert and key go together");
    config_fails("listen: a\nlisten: b\n", 2, 1, "duplicate key 'listen'");
    config_fails("tls: [a, b]\n", 1, 6, "tls: expected a mapping, got a list");
    config_fails("sealing: {keys: [a, {b: c}]}\n", 1, 21, "sealing.keys: expected a string");
    config_fails("provenance: {mode: maybe}\n", 1, 20, "expected enforce, warn, off or audit");
    config_fails("params: {images: 3}\n", 1, 18, "params.images: expected a mapping");
    config_fails("listen: [\n", 2, 1, "");
    config_fails("listen: a:1\n---\nlisten: b:2\n", 3, 1, "one YAML document");
    config_fails("listen: nohost\n", 1, 1, "listen: 'nohost' is not HOST:PORT");
    config_fails("logLevel: loud\n", 1, 11, "logLevel: expected debug");
    /* an alias loop in params stays bounded */
    config_fails("params: &a {p: {x: *a}}\n", 1, 16, "params:");
}

/* ---- AdmissionReview ------------------------------------------------------------------- */

static char *fixture(const char *name, size_t *len)
{
    const char *src = getenv("SEALGATE_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/../shared/fixtures/admissionreview/%s", src ? src : ".", name);
    util_buf b;
    util_buf_init(&b);
    util_error err;
    if (util_file_read(&b, path, 1 << 20, &err) < 0) {
        fprintf(stderr, "cannot read fixture %s: %s\n", path, err.msg);
        return NULL;
    }
    return util_buf_steal(&b, len);
}

static void test_decode_fixtures(void)
{
    size_t len;
    char *body = fixture("pod-create.json", &len);
    adm_request req;
    util_error err;
    CHECK(body != NULL);
    if (body == NULL)
        return;
    CHECK_INT(adm_request_decode(&req, body, len, 100, &err), 0);
    CHECK_STR(req.uid, "868b450d-98d6-445c-ba40-d1d258000578");
    CHECK_STR(req.operation, "CREATE");
    CHECK_STR(req.kind, "Pod");
    CHECK_STR(req.group, "");
    CHECK_STR(req.namespace_, "pss-restricted");
    CHECK_STR(req.name, "runasnonroot0");
    CHECK_STR(req.username, "admin");
    CHECK(req.object != NULL && req.old_object == NULL); /* oldObject is JSON null */
    CHECK(!req.dry_run);
    adm_request_release(&req);
    free(body);

    body = fixture("secret-update-dryrun-mutate.json", &len);
    CHECK_INT(adm_request_decode(&req, body, len, 100, &err), 0);
    CHECK_STR(req.operation, "UPDATE");
    CHECK(req.dry_run);
    CHECK(req.old_object != NULL);
    adm_request_release(&req);
    free(body);

    body = fixture("configmap-update.json", &len);
    CHECK_INT(adm_request_decode(&req, body, len, 100, &err), 0);
    CHECK_STR(req.kind, "ConfigMap");
    adm_request_release(&req);
    free(body);
}

static void decode_fails(const char *body, unsigned depth, const char *msg)
{
    adm_request req;
    util_error err;
    CHECK_INT(adm_request_decode(&req, body, strlen(body), depth, &err), ADM_EDECODE);
    if (strstr(err.msg, msg) == NULL)
        fprintf(stderr, "  message '%s' lacks '%s'\n", err.msg, msg);
    CHECK(strstr(err.msg, msg) != NULL);
    CHECK(req.root == NULL);
}

#define ENVELOPE(req)                                                                              \
    "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"," req "}"

static void test_decode_errors(void)
{
    decode_fails("{\"a\":", 100, "malformed JSON at line 1");
    decode_fails("", 100, "malformed JSON");
    decode_fails("[1]", 100, "not an AdmissionReview: the body is not a JSON object");
    decode_fails("{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}", 100,
                 "not an AdmissionReview: kind is 'Pod'");
    decode_fails("{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\"}", 100,
                 "unsupported AdmissionReview version 'admission.k8s.io/v1beta1'");
    decode_fails(ENVELOPE("\"x\":1"), 100, "has no request object");
    decode_fails(ENVELOPE("\"request\":{\"operation\":\"CREATE\"}"), 100, "request.uid is missing");
    decode_fails(ENVELOPE("\"request\":{\"uid\":\"u\",\"operation\":\"PATCH\",\"kind\":{\"kind\":"
                          "\"Pod\"}}"),
                 100, "request.operation 'PATCH'");
    decode_fails(ENVELOPE("\"request\":{\"uid\":\"u\",\"operation\":\"CREATE\"}"), 100,
                 "request.kind is missing");
    decode_fails(ENVELOPE("\"request\":{\"uid\":\"u\",\"operation\":\"CREATE\",\"kind\":{\"kind\":"
                          "\"Pod\"},\"object\":[1]}"),
                 100, "request.object is not an object");
    decode_fails(ENVELOPE("\"request\":{\"uid\":\"u\",\"operation\":\"CREATE\",\"kind\":{\"kind\":"
                          "\"Pod\"},\"dryRun\":\"yes\"}"),
                 100, "request.dryRun is not a boolean");
    decode_fails("{\"a\":1,\"a\":2}", 100, "duplicate");

    /* depth: counted before parsing; brackets inside strings do not count */
    char deep[400];
    memset(deep, '[', 150);
    memset(deep + 150, ']', 150);
    deep[300] = '\0';
    decode_fails(deep, 100, "JSON nesting deeper than 100 levels at byte 100 (limits.depth)");
}

/* ---- answers --------------------------------------------------------------------------- */

static json_t *render(const adm_response *res, bool with_patch)
{
    util_buf out;
    util_buf_init(&out);
    CHECK_INT(adm_response_render(&out, res, with_patch), 0);
    json_error_t jerr;
    json_t *v = json_loadb(out.data, out.len, 0, &jerr);
    CHECK(v != NULL);
    util_buf_release(&out);
    return v;
}

static void test_render(void)
{
    adm_response res;
    CHECK_INT(adm_response_init(&res, "uid-1"), 0);
    json_t *v = render(&res, false);
    CHECK_STR(util_json_str(v, "apiVersion"), "admission.k8s.io/v1");
    CHECK_STR(util_json_str(v, "kind"), "AdmissionReview");
    CHECK_STR(util_json_str(json_object_get(v, "response"), "uid"), "uid-1");
    CHECK(json_is_true(util_json_path(v, "response.allowed")));
    CHECK(util_json_path(v, "response.status") == NULL);
    json_decref(v);

    CHECK_INT(adm_response_deny(&res, "pss/privileged", "container app is privileged"), 0);
    CHECK_INT(adm_response_deny(&res, "images/no-latest", "container app runs nginx:latest"), 0);
    CHECK_INT(adm_response_annotate(&res, "rules", "pss/privileged,images/no-latest"), 0);
    CHECK_INT(adm_response_annotate(&res, "sealgate.io/rules", "x"), UTIL_EINVALID);
    CHECK_INT(adm_response_annotate(&res, "-rules", "x"), UTIL_EINVALID);
    CHECK_INT(adm_response_annotate(&res, "", "x"), UTIL_EINVALID);
    CHECK_INT(util_buf_puts(&res.patch, "[{\"op\":\"add\"}]"), 0);
    v = render(&res, false);
    CHECK(json_is_false(util_json_path(v, "response.allowed")));
    CHECK_INT(json_integer_value(util_json_path(v, "response.status.code")), 403);
    CHECK_STR(json_string_value(util_json_path(v, "response.status.message")),
              "pss/privileged: container app is privileged; images/no-latest: container app "
              "runs nginx:latest");
    CHECK_STR(json_string_value(util_json_path(v, "response.status.status")), "Failure");
    CHECK(util_json_path(v, "response.patch") == NULL); /* never from /validate */
    CHECK(util_json_path(v, "response.patchType") == NULL);
    CHECK_INT(json_object_size(util_json_path(v, "response.auditAnnotations")), 1);
    json_decref(v);
    adm_response_release(&res);

    /* a mutate answer carries the patch in base64 */
    CHECK_INT(adm_response_init(&res, "uid-2"), 0);
    CHECK_INT(
        util_buf_puts(&res.patch, "[{\"op\":\"replace\",\"path\":\"/data/a\",\"value\":\"eA==\"}]"),
        0);
    v = render(&res, true);
    CHECK_STR(json_string_value(util_json_path(v, "response.patchType")), "JSONPatch");
    const char *b64 = json_string_value(util_json_path(v, "response.patch"));
    unsigned char dec[256];
    int n = b64 ? EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)strlen(b64)) : -1;
    CHECK(n > 0 && memcmp(dec, "[{\"op\":\"replace\"", 16) == 0);
    json_decref(v);
    adm_response_release(&res);

    /* keys are not in the first guess at the answer's size: many long ones need a second try */
    CHECK_INT(adm_response_init(&res, "uid-9"), 0);
    for (int i = 0; i < 60; i++) {
        char key[64];
        snprintf(key, sizeof key, "annotation-%02d-%049d", i, 0);
        CHECK_INT(adm_response_annotate(&res, key, "v"), 0);
    }
    v = render(&res, false);
    CHECK_INT(json_object_size(util_json_path(v, "response.auditAnnotations")), 60);
    CHECK_STR(json_string_value(json_object_get(
                  util_json_path(v, "response.auditAnnotations"),
                  "annotation-59-0000000000000000000000000000000000000000000000000")),
              "v");
    json_decref(v);
    adm_response_release(&res);

    /* a patch far past the first guess at the answer's size comes back whole */
    CHECK_INT(adm_response_init(&res, "uid-8"), 0);
    for (int i = 0; i < 3000; i++)
        CHECK_INT(util_buf_puts(&res.patch, "0123456789abcdef0123456789ABCDEF"), 0);
    v = render(&res, true);
    b64 = json_string_value(util_json_path(v, "response.patch"));
    size_t b64_len = b64 ? strlen(b64) : 0;
    unsigned char *big_dec = malloc(b64_len + 1);
    n = big_dec && b64 ? EVP_DecodeBlock(big_dec, (const unsigned char *)b64, (int)b64_len) : -1;
    CHECK(n >= (int)res.patch.len && memcmp(big_dec, res.patch.data, res.patch.len) == 0);
    free(big_dec);
    json_decref(v);
    adm_response_release(&res);
}

static void test_render_warnings(void)
{
    adm_response res;
    CHECK_INT(adm_response_init(&res, "uid-3"), 0);
    CHECK_INT(adm_response_warn(&res, "tab\there\nnewline \x01 bad \xff\xfe utf8 \xc3\xa9"), 0);
    json_t *v = render(&res, false);
    const char *w = json_string_value(json_array_get(util_json_path(v, "response.warnings"), 0));
    CHECK_STR(w, "tab here newline   bad ?? utf8 \xc3\xa9");
    json_decref(v);
    adm_response_release(&res);

    /* over 4096 characters in total: each is cut to 256 */
    CHECK_INT(adm_response_init(&res, "uid-4"), 0);
    char big[1001];
    memset(big, 'w', 1000);
    big[1000] = '\0';
    for (int i = 0; i < 5; i++)
        CHECK_INT(adm_response_warn(&res, big), 0);
    CHECK_INT(adm_response_warn(&res, "short"), 0);
    v = render(&res, false);
    json_t *ws = util_json_path(v, "response.warnings");
    CHECK_INT(json_array_size(ws), 6);
    CHECK_INT(strlen(json_string_value(json_array_get(ws, 0))), 256);
    CHECK(strcmp(json_string_value(json_array_get(ws, 0)) + 253, "...") == 0);
    CHECK_STR(json_string_value(json_array_get(ws, 5)), "short");
    json_decref(v);
    adm_response_release(&res);

    /* the cut counts characters, not bytes; one of exactly 256 stays whole */
    CHECK_INT(adm_response_init(&res, "uid-6"), 0);
    char accents[2 * 300 + 1] = "";
    for (int i = 0; i < 300; i++)
        memcpy(accents + 2 * i, "\xc3\xa9", 3);
    char exact[257];
    memset(exact, 'x', 256);
    exact[256] = '\0';
    for (int i = 0; i < 5; i++)
        CHECK_INT(adm_response_warn(&res, big), 0);
    CHECK_INT(adm_response_warn(&res, accents), 0);
    CHECK_INT(adm_response_warn(&res, exact), 0);
    v = render(&res, false);
    ws = util_json_path(v, "response.warnings");
    const char *cut = json_string_value(json_array_get(ws, 5));
    CHECK_INT(strlen(cut), 2 * 253 + 3);
    CHECK(strncmp(cut, accents, 2 * 253) == 0 && strcmp(cut + 2 * 253, "...") == 0);
    CHECK_STR(json_string_value(json_array_get(ws, 6)), exact);
    json_decref(v);
    adm_response_release(&res);

    /* JSON's own escapes survive; DEL and C1 controls become spaces */
    CHECK_INT(adm_response_init(&res, "uid-7"), 0);
    CHECK_INT(adm_response_warn(&res, "quote \" backslash \\ del \x7f c1 \xc2\x85 nbsp \xc2\xa0"),
              0);
    v = render(&res, false);
    CHECK_STR(json_string_value(json_array_get(util_json_path(v, "response.warnings"), 0)),
              "quote \" backslash \\ del   c1   nbsp \xc2\xa0");
    json_decref(v);
    adm_response_release(&res);

    /* under the total: left whole */
    CHECK_INT(adm_response_init(&res, "uid-5"), 0);
    CHECK_INT(adm_response_warn(&res, big), 0);
    v = render(&res, false);
    CHECK_INT(strlen(json_string_value(json_array_get(util_json_path(v, "response.warnings"), 0))),
              1000);
    json_decref(v);
    adm_response_release(&res);
}

int main(void)
{
    test_durations_sizes();
    test_config_full();
    test_config_errors();
    test_decode_fixtures();
    test_decode_errors();
    test_render();
    test_render_warnings();
    return test_finish();
}
