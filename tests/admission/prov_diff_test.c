/* prov_diff: declared manifests (from `kubectl create --dry-run=client -o json`) against live
 * objects carrying what the apiserver adds, quantities, numbers, merge-key lists, ignores,
 * Secrets. */
#include "admission/prov.h"
#include "crypto/seal.h"
#include "test.h"

#include <stdlib.h>

#include "util/banned.h"

static json_t *kubectl(const char *args)
{
    char cmd[512];
    util_buf b;
    snprintf(cmd, sizeof(cmd), "kubectl create %s --dry-run=client -o json", args);
    FILE *p = popen(cmd, "r");
    util_buf_init(&b);
    char chunk[4096];
    size_t n;
    while (p && (n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        if (util_buf_append(&b, chunk, n) < 0)
            break;
    if (p)
        pclose(p);
    json_t *v = json_loadb(b.data ? b.data : "", b.len, 0, NULL);
    util_buf_release(&b);
    if (!v)
        fprintf(stderr, "kubectl create %s gave no JSON\n", args);
    return v;
}

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v)
        fprintf(stderr, "bad test JSON: %s at %d:%d\n", e.text, e.line, e.column);
    return v;
}

/* What the apiserver makes of the Deployment: defaults, server fields, status. */
static json_t *live_deployment(const json_t *declared)
{
    json_t *live = json_deep_copy(declared);
    json_t *meta = json_object_get(live, "metadata");
    json_object_set_new(meta, "namespace", json_string("demo"));
    json_object_set_new(meta, "uid", json_string("0bca94bc-9cae-40d1-99fb-744c01579089"));
    json_object_set_new(meta, "resourceVersion", json_string("201"));
    json_object_set_new(meta, "generation", json_integer(1));
    json_object_set_new(meta, "creationTimestamp", json_string("2026-11-22T05:08:28Z"));
    json_object_set_new(meta, "managedFields", parse("[{\"manager\":\"kubectl-create\"}]"));
    json_t *spec = json_object_get(live, "spec");
    json_object_set_new(spec, "revisionHistoryLimit", json_integer(10));
    json_object_set_new(spec, "progressDeadlineSeconds", json_integer(600));
    json_object_set_new(spec, "strategy",
                        parse("{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":"
                              "\"25%\",\"maxUnavailable\":\"25%\"}}"));
    json_t *pod = util_json_path(live, "spec.template.spec");
    json_object_set_new(pod, "restartPolicy", json_string("Always"));
    json_object_set_new(pod, "terminationGracePeriodSeconds", json_integer(30));
    json_object_set_new(pod, "dnsPolicy", json_string("ClusterFirst"));
    json_object_set_new(pod, "securityContext", json_object());
    json_object_set_new(pod, "schedulerName", json_string("default-scheduler"));
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(pod, "containers"), i, c)
    {
        json_object_set_new(c, "imagePullPolicy", json_string("IfNotPresent"));
        json_object_set_new(c, "terminationMessagePath", json_string("/dev/termination-log"));
        json_object_set_new(c, "terminationMessagePolicy", json_string("File"));
        size_t j;
        json_t *port;
        json_array_foreach(json_object_get(c, "ports"), j, port)
            json_object_set_new(port, "protocol", json_string("TCP"));
    }
    json_object_set_new(live, "status", parse("{\"replicas\":2,\"readyReplicas\":2}"));
    return live;
}

static const char *diff_path(const json_t *d, const json_t *l, const prov_diff_options *o,
                             util_arena *a)
{
    prov_difference out;
    util_error err;
    if (prov_diff(&out, d, l, o, a, &err) < 0) {
        fprintf(stderr, "prov_diff failed: %s\n", err.msg);
        return "(error)";
    }
    return out.differs ? out.path : "";
}

static void test_deployment(util_arena *a)
{
    json_t *d = kubectl("deployment web --image=web:1.0.0 --port=8080 --replicas=2");
    CHECK(d != NULL);
    if (!d)
        return;
    json_t *l = live_deployment(d);
    CHECK_STR(diff_path(d, l, NULL, a), "");

    /* the hand edit: another image */
    json_t *c0 = json_array_get(util_json_path(l, "spec.template.spec.containers"), 0);
    json_object_set_new(c0, "image", json_string("web:6.6.6"));
    prov_difference out;
    util_error err;
    CHECK_INT(prov_diff(&out, d, l, NULL, a, &err), 0);
    CHECK(out.differs);
    CHECK_STR(out.path, "spec.template.spec.containers[name=web].image");
    CHECK_STR(prov_difference_describe(&out, a),
              "spec.template.spec.containers[name=web].image is \"web:6.6.6\" but \"web:1.0.0\"");
    json_object_set_new(c0, "image", json_string("web:1.0.0"));

    /* replicas as a float is the same number; another count differs unless ignored */
    json_object_set_new(json_object_get(l, "spec"), "replicas", json_real(2.0));
    CHECK_STR(diff_path(d, l, NULL, a), "");
    json_object_set_new(json_object_get(l, "spec"), "replicas", json_integer(5));
    CHECK_STR(diff_path(d, l, NULL, a), "spec.replicas");
    prov_ignore ig[] = {{"Deployment", "spec.replicas"}};
    prov_diff_options o = {.ignore = ig, .ignore_count = 1};
    CHECK_STR(diff_path(d, l, &o, a), "");
    prov_ignore other[] = {{"StatefulSet", "spec.replicas"}};
    o.ignore = other;
    CHECK_STR(diff_path(d, l, &o, a), "spec.replicas");
    json_object_set_new(json_object_get(l, "spec"), "replicas", json_integer(2));

    /* an env var git does not declare is an addition someone made */
    json_object_set_new(c0, "env", parse("[{\"name\":\"DEBUG\",\"value\":\"1\"}]"));
    CHECK_STR(diff_path(d, l, NULL, a), "spec.template.spec.containers[name=web].env");
    json_object_del(c0, "env");

    /* an extra container, and hostNetwork */
    json_array_append_new(util_json_path(l, "spec.template.spec.containers"),
                          parse("{\"name\":\"miner\",\"image\":\"evil:1\"}"));
    CHECK_STR(diff_path(d, l, NULL, a), "spec.template.spec.containers[name=miner]");
    json_array_remove(util_json_path(l, "spec.template.spec.containers"), 1);
    json_object_set_new(util_json_path(l, "spec.template.spec"), "hostNetwork", json_true());
    CHECK_STR(diff_path(d, l, NULL, a), "spec.template.spec.hostNetwork");
    json_object_set_new(util_json_path(l, "spec.template.spec"), "hostNetwork", json_false());
    CHECK_STR(diff_path(d, l, NULL, a), "");

    /* a label changed; one added by a controller is no difference */
    json_t *labels = util_json_path(l, "metadata.labels");
    json_object_set_new(labels, "team", json_string("x"));
    CHECK_STR(diff_path(d, l, NULL, a), "");
    json_object_set_new(labels, "app", json_string("other"));
    CHECK_STR(diff_path(d, l, NULL, a), "metadata.labels.app");
    json_decref(l);
    json_decref(d);
}

static void test_lists_and_quantities(util_arena *a)
{
    json_t *d =
        parse("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"api\","
              "\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\"},"
              "\"uid\":\"old\",\"resourceVersion\":\"1\"},"
              "\"spec\":{\"template\":{\"spec\":{\"hostNetwork\":false,\"containers\":["
              "{\"name\":\"api\",\"image\":\"api:2\",\"env\":[{\"name\":\"A\",\"value\":\"1\"},"
              "{\"name\":\"B\",\"value\":\"2\"}],\"ports\":[{\"containerPort\":80},"
              "{\"containerPort\":53,\"protocol\":\"UDP\"}],"
              "\"resources\":{\"requests\":{\"cpu\":\"500m\",\"memory\":\"1Gi\"},"
              "\"limits\":{\"cpu\":1,\"memory\":\"2G\"}}},"
              "{\"name\":\"side\",\"image\":\"side:1\"}],"
              "\"tolerations\":[{\"key\":\"a\",\"operator\":\"Exists\"},{\"key\":\"b\","
              "\"operator\":\"Exists\"}]}}}}");
    json_t *l = parse(
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"api\","
        "\"uid\":\"new\",\"resourceVersion\":\"99\"},"
        "\"spec\":{\"template\":{\"spec\":{\"containers\":["
        "{\"name\":\"side\",\"image\":\"side:1\",\"imagePullPolicy\":\"IfNotPresent\"},"
        "{\"name\":\"api\",\"image\":\"api:2\",\"env\":[{\"name\":\"B\",\"value\":\"2\"},"
        "{\"name\":\"A\",\"value\":\"1\"}],\"ports\":[{\"containerPort\":53,\"protocol\":\"UDP\"},"
        "{\"containerPort\":80,\"protocol\":\"TCP\"}],"
        "\"resources\":{\"requests\":{\"cpu\":\"0.5\",\"memory\":\"1024Mi\"},"
        "\"limits\":{\"cpu\":\"1000m\",\"memory\":\"2000M\"}}}],"
        "\"tolerations\":[{\"key\":\"b\",\"operator\":\"Exists\"},{\"key\":\"a\","
        "\"operator\":\"Exists\"}]}}}}");
    CHECK(d && l);
    if (!d || !l)
        return;
    CHECK_STR(diff_path(d, l, NULL, a), "");
    json_t *api = json_array_get(util_json_path(l, "spec.template.spec.containers"), 1);
    json_t *req = util_json_path(api, "resources.requests");
    json_object_set_new(req, "cpu", json_string("600m"));
    CHECK_STR(diff_path(d, l, NULL, a),
              "spec.template.spec.containers[name=api].resources.requests.cpu");
    json_object_set_new(req, "cpu", json_string("500m"));
    json_t *env1 = json_array_get(json_object_get(api, "env"), 1);
    json_object_set_new(env1, "value", json_string("9"));
    CHECK_STR(diff_path(d, l, NULL, a),
              "spec.template.spec.containers[name=api].env[name=A].value");
    json_object_set_new(env1, "value", json_string("1"));
    /* protocol defaults to TCP when matching ports; UDP 80 is another port */
    json_t *p1 = json_array_get(json_object_get(api, "ports"), 1);
    json_object_set_new(p1, "protocol", json_string("UDP"));
    CHECK_STR(diff_path(d, l, NULL, a),
              "spec.template.spec.containers[name=api].ports[containerPort=80]");
    json_object_set_new(p1, "protocol", json_string("TCP"));
    /* a toleration someone added */
    json_array_append_new(util_json_path(l, "spec.template.spec.tolerations"),
                          parse("{\"key\":\"c\",\"operator\":\"Exists\"}"));
    CHECK_STR(diff_path(d, l, NULL, a), "spec.template.spec.tolerations[2]");
    json_decref(l);
    json_decref(d);
}

static void test_service_and_secret(util_arena *a)
{
    json_t *d = kubectl("service clusterip web --tcp=80:8080");
    CHECK(d != NULL);
    if (!d)
        return;
    json_t *l = json_deep_copy(d);
    json_object_set_new(json_object_get(l, "spec"), "clusterIP", json_string("10.96.0.12"));
    json_object_set_new(json_object_get(l, "spec"), "sessionAffinity", json_string("None"));
    CHECK_STR(diff_path(d, l, NULL, a), "");
    json_t *port = json_array_get(util_json_path(l, "spec.ports"), 0);
    json_object_set_new(port, "targetPort", json_integer(9090));
    CHECK_STR(diff_path(d, l, NULL, a), "spec.ports[port=80].targetPort");
    json_decref(l);
    json_decref(d);

    /* stringData in git, base64 data in the live object (the apiserver folded it) */
    json_t *s = kubectl("secret generic db --from-literal=password=s3cret");
    CHECK(s != NULL);
    if (!s)
        return;
    json_t *sd = json_deep_copy(s);
    json_object_del(sd, "data");
    json_object_set_new(sd, "stringData", parse("{\"password\":\"s3cret\"}"));
    json_t *live = json_deep_copy(s);
    CHECK_STR(diff_path(sd, live, NULL, a), "");
    CHECK_STR(diff_path(s, live, NULL, a), "");
    json_object_set_new(json_object_get(live, "data"), "password", json_string("aGFja2Vk"));
    prov_difference out;
    util_error err;
    CHECK_INT(prov_diff(&out, sd, live, NULL, a, &err), 0);
    CHECK_STR(out.path, "data.password");
    CHECK(out.secret);
    const char *msg = prov_difference_describe(&out, a);
    CHECK(strstr(msg, "aGFja2Vk") == NULL && strstr(msg, "s3cret") == NULL);
    json_decref(live);
    json_decref(sd);
    json_decref(s);
}

/* A sealed Secret in git against the plain Secret /mutate made of it: compared unsealed. */
static void test_sealed_secret(util_arena *a)
{
    uint8_t sk[32];
    for (int i = 0; i < 32; i++)
        sk[i] = (uint8_t)(i * 7 + 1);
    seal_pubkey pub;
    seal_keyring *kr = NULL;
    util_error err;
    seal__pubkey_from_raw(&pub, sk, 1700000000);
    CHECK_INT(seal__keyring_from_raw(&kr, sk, 1700000000, &err), 0);
    json_t *plain =
        kubectl("secret generic db --from-literal=password=s3cret --from-literal=user=web");
    CHECK(plain != NULL);
    if (!plain || !kr)
        return;
    /* git's copy: sealed, and without a namespace (the index's default applies) */
    json_object_set_new(json_object_get(plain, "metadata"), "namespace", json_string("demo"));
    json_t *sealed = NULL;
    CHECK_INT(seal_secret_seal(&sealed, plain, &pub, SEAL_SCOPE_STRICT, NULL, &err), 0);
    if (!sealed)
        return;
    json_object_del(json_object_get(sealed, "metadata"), "namespace");
    /* the live object: data in plaintext (base64), label and annotations kept, as /mutate does */
    json_t *live = json_deep_copy(sealed);
    json_object_del(live, "stringData");
    json_object_set(live, "data", json_object_get(plain, "data"));
    json_object_set_new(json_object_get(live, "metadata"), "namespace", json_string("demo"));
    json_object_set_new(json_object_get(live, "metadata"), "uid", json_string("u-1"));

    prov_diff_options o = {.keys = kr};
    CHECK_STR(diff_path(sealed, live, &o, a), "");
    /* without the keys the ciphertext cannot equal the plaintext */
    CHECK_STR(diff_path(sealed, live, NULL, a), "data.password");
    /* someone changed the password by hand */
    json_t *data = json_deep_copy(json_object_get(plain, "data"));
    json_object_set_new(data, "password", json_string("aGFja2Vk"));
    json_object_set_new(live, "data", data);
    prov_difference out;
    CHECK_INT(prov_diff(&out, sealed, live, &o, a, &err), 0);
    CHECK(out.differs && out.secret);
    CHECK_STR(out.path, "data.password");
    /* a value sealed for another Secret does not unseal here: an error, not a match */
    json_t *moved = json_deep_copy(sealed);
    json_object_set_new(json_object_get(moved, "metadata"), "name", json_string("other"));
    json_object_set_new(json_object_get(live, "metadata"), "name", json_string("other"));
    CHECK(prov_diff(&out, moved, live, &o, a, &err) < 0);
    CHECK(strstr(err.msg, "unsealing") != NULL);
    json_decref(moved);
    json_decref(live);
    json_decref(sealed);
    json_decref(plain);
    seal_keyring_free(kr);
}

int main(void)
{
    util_arena a;
    util_arena_init(&a, 4096);
    test_deployment(&a);
    test_lists_and_quantities(&a);
    test_service_and_secret(&a);
    test_sealed_secret(&a);
    util_arena_release(&a);
    return test_finish();
}
