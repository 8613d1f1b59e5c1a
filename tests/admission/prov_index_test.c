/* The index of a real git repository (multi-document YAML, JSON, Lists, non-Kubernetes YAML,
 * default namespace, paths, duplicates, parse errors, incremental re-indexing) and matching
 * the apiserver's captured AdmissionReview requests against it. */
#include "admission/prov.h"
#include "prov_git.h"
#include "test.h"

#include "util/banned.h"

static const char *apps_yaml = "apiVersion: v1\n"
                               "kind: Namespace\n"
                               "metadata:\n"
                               "  name: demo\n"
                               "---\n"
                               "apiVersion: apps/v1\n"
                               "kind: Deployment\n"
                               "metadata:\n"
                               "  name: web\n"
                               "spec:\n"
                               "  replicas: 2\n"
                               "  selector: {matchLabels: {app: web}}\n"
                               "  template:\n"
                               "    metadata: {labels: {app: web}}\n"
                               "    spec:\n"
                               "      containers:\n"
                               "      - name: web\n"
                               "        image: web:1.0.0\n"
                               "---\n"
                               "# a comment-only document\n"
                               "---\n"
                               "apiVersion: v1\n"
                               "kind: Service\n"
                               "metadata: {name: web, namespace: demo}\n"
                               "spec:\n"
                               "  selector: {app: web}\n"
                               "  ports: [{port: 80, targetPort: 8080}]\n";

static const char *cm_json = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
                             "{\"name\":\"allowed-one\",\"namespace\":\"demo\"},"
                             "\"data\":{\"a\":\"b\"}}\n";

static const char *list_yaml = "apiVersion: v1\n"
                               "kind: List\n"
                               "items:\n"
                               "- apiVersion: v1\n"
                               "  kind: ConfigMap\n"
                               "  metadata: {name: one, namespace: other}\n"
                               "  data: {x: '1'}\n"
                               "- apiVersion: v1\n"
                               "  kind: ConfigMap\n"
                               "  metadata: {name: two, namespace: other}\n";

static const char *rbac_yaml = "apiVersion: rbac.authorization.k8s.io/v1\n"
                               "kind: ClusterRole\n"
                               "metadata: {name: reader, namespace: ignored}\n"
                               "rules: []\n";

static git_repository *open_repo(const char *rel)
{
    char path[512];
    git_repository *r = NULL;
    snprintf(path, sizeof(path), "%s/%s", tdir, rel);
    if (git_repository_open(&r, path) < 0)
        fprintf(stderr, "cannot open %s\n", path);
    return r;
}

static prov_index *build(git_repository *repo, const prov_index *prev, const char *signer,
                         util_error *err)
{
    git_oid head;
    prov_index *idx = NULL;
    static const char *const paths[] = {"clusters/prod"};
    prov_index_options o = {paths, 1, "demo"};
    if (git_reference_name_to_id(&head, repo, "HEAD") < 0)
        return NULL;
    if (prov_index_build(&idx, repo, &head, &o, prev, signer, err) < 0)
        return NULL;
    return idx;
}

static json_t *load_fixture(const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/../shared/fixtures/admissionreview/%s",
             getenv("SEALGATE_SOURCE_DIR") ? getenv("SEALGATE_SOURCE_DIR") : ".", name);
    json_error_t e;
    json_t *v = json_load_file(path, 0, &e);
    if (!v)
        fprintf(stderr, "cannot load %s: %s\n", path, e.text);
    return v;
}

static void test_match(const prov_index *idx, util_arena *a)
{
    json_t *review = load_fixture("configmap-update.json");
    CHECK(review != NULL);
    if (!review)
        return;
    json_t *req = json_object_get(review, "request");
    prov_match_options o = {.mode = PROV_MODE_ENFORCE};
    prov_verdict v;
    util_error err;

    /* git says a: b (this index), the apiserver's object says a: c */
    CHECK_INT(prov_match(&v, idx, &o, req, a, &err), 0);
    CHECK_INT(v.result, PROV_RESULT_DIFFERS);
    CHECK(v.violation);
    CHECK_INT(v.action, PROV_ACTION_DENY);
    char want[256];
    snprintf(want, sizeof(want),
             "ConfigMap 'allowed-one' in namespace 'demo': data.a is \"c\" but \"b\" at %.7s "
             "(signed by alice@example.com)",
             prov_index_commit(idx));
    CHECK_STR(v.message, want);
    CHECK(json_is_true(json_object_get(v.git, "managed")));
    CHECK_STR(util_json_str(v.git, "signer"), "alice@example.com");
    CHECK_STR(util_json_str(util_json_path(v.git, "object.data"), "a"), "b");
    json_decref(v.git);

    /* modes */
    o.mode = PROV_MODE_WARN;
    CHECK_INT(prov_match(&v, idx, &o, req, a, &err), 0);
    CHECK_INT(v.action, PROV_ACTION_WARN);
    json_decref(v.git);
    o.mode = PROV_MODE_AUDIT;
    CHECK_INT(prov_match(&v, idx, &o, req, a, &err), 0);
    CHECK_INT(v.action, PROV_ACTION_AUDIT);
    json_decref(v.git);
    o.mode = PROV_MODE_OFF;
    CHECK_INT(prov_match(&v, idx, &o, req, a, &err), 0);
    CHECK_INT(v.result, PROV_RESULT_SKIPPED);
    CHECK_INT(v.action, PROV_ACTION_ALLOW);
    json_decref(v.git);
    o.mode = PROV_MODE_ENFORCE;

    /* the matching object */
    json_object_set_new(json_object_get(json_object_get(req, "object"), "data"), "a",
                        json_string("b"));
    CHECK_INT(prov_match(&v, idx, &o, req, a, &err), 0);
    CHECK_INT(v.result, PROV_RESULT_MATCH);
    CHECK_INT(v.action, PROV_ACTION_ALLOW);
    CHECK(v.commit && strlen(v.commit) == 7);
    json_decref(v.git);

    /* exempt groups pass */
    const char *groups[] = {"system:mast*"};
    o.exempt_groups = groups;
    o.exempt_group_count = 1;
    json_object_set_new(json_object_get(json_object_get(req, "object"), "data"), "a",
                        json_string("evil"));
    CHECK_INT(prov_match(&v, idx, &o, req, a, &err), 0);
    CHECK_INT(v.result, PROV_RESULT_EXEMPT);
    CHECK(!v.violation);
    json_decref(v.git);
    o.exempt_group_count = 0;

    /* DELETE of a declared object */
    json_object_set_new(req, "operation", json_string("DELETE"));
    json_object_set(req, "oldObject", json_object_get(req, "object"));
    json_object_set_new(req, "object", json_null());
    CHECK_INT(prov_match(&v, idx, &o, req, a, &err), 0);
    CHECK_INT(v.result, PROV_RESULT_DELETE_DECLARED);
    CHECK_INT(v.action, PROV_ACTION_DENY);
    CHECK(v.message && strstr(v.message, "clusters/prod/cm.json"));
    json_decref(v.git);

    /* a hand-made object in a managed namespace, and one in an unmanaged namespace */
    json_t *obj = json_object_get(req, "oldObject");
    json_object_set(req, "object", obj);
    json_object_set_new(req, "operation", json_string("CREATE"));
    json_object_set_new(req, "oldObject", json_null());
    json_object_set_new(req, "name", json_string("hand-made"));
    json_object_set_new(json_object_get(obj, "metadata"), "name", json_string("hand-made"));
    CHECK_INT(prov_match(&v, idx, &o, req, a, &err), 0);
    CHECK_INT(v.result, PROV_RESULT_NOT_IN_GIT);
    CHECK(v.message &&
          strstr(v.message, "ConfigMap 'hand-made' in namespace 'demo' is not declared"));
    json_decref(v.git);
    json_object_set_new(req, "name", json_string("kube-root-ca.crt"));
    CHECK_INT(prov_match(&v, idx, &o, req, a, &err), 0);
    CHECK_INT(v.result, PROV_RESULT_UNMANAGED);
    json_decref(v.git);
    json_object_set_new(req, "name", json_string("hand-made"));
    json_object_set_new(req, "namespace", json_string("kube-system"));
    CHECK_INT(prov_match(&v, idx, &o, req, a, &err), 0);
    CHECK_INT(v.result, PROV_RESULT_UNMANAGED);
    CHECK(!v.violation);
    CHECK(json_is_false(json_object_get(v.git, "managed")));
    json_decref(v.git);
    /* a controller's object (owner reference) in a managed namespace */
    json_object_set_new(req, "namespace", json_string("demo"));
    json_object_set_new(
        json_object_get(obj, "metadata"), "ownerReferences",
        json_pack("[{s:s, s:s, s:b}]", "kind", "ReplicaSet", "name", "web-1", "controller", 1));
    CHECK_INT(prov_match(&v, idx, &o, req, a, &err), 0);
    CHECK_INT(v.result, PROV_RESULT_UNMANAGED);
    json_decref(v.git);
    /* status updates are the controllers' business */
    json_object_set_new(req, "subResource", json_string("status"));
    CHECK_INT(prov_match(&v, idx, &o, req, a, &err), 0);
    CHECK_INT(v.result, PROV_RESULT_SKIPPED);
    json_decref(v.git);
    /* no accepted commit: fail closed */
    json_object_del(req, "subResource");
    CHECK_INT(prov_match(&v, NULL, &o, req, a, &err), 0);
    CHECK_INT(v.result, PROV_RESULT_NO_COMMIT);
    CHECK_INT(v.action, PROV_ACTION_DENY);
    json_decref(v.git);
    json_decref(review);

    /* kubectl scale deployment web --replicas=5: the scale subresource */
    json_t *scale =
        json_pack("{s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:s, s:s, s:s, s:{s:s}, "
                  "s:{s:s, s:s, s:{s:s, s:s}, s:{s:i}}}",
                  "operation", "UPDATE", "kind", "group", "autoscaling", "version", "v1", "kind",
                  "Scale", "resource", "group", "apps", "version", "v1", "resource", "deployments",
                  "subResource", "scale", "namespace", "demo", "name", "web", "userInfo",
                  "username", "bob", "object", "apiVersion", "autoscaling/v1", "kind", "Scale",
                  "metadata", "name", "web", "namespace", "demo", "spec", "replicas", 5);
    CHECK_INT(prov_match(&v, idx, &o, scale, a, &err), 0);
    CHECK_INT(v.result, PROV_RESULT_DIFFERS);
    CHECK(v.message && strstr(v.message, "spec.replicas is 5 but 2"));
    json_decref(v.git);
    prov_ignore ig = {"Deployment", "spec.replicas"};
    o.diff.ignore = &ig;
    o.diff.ignore_count = 1;
    CHECK_INT(prov_match(&v, idx, &o, scale, a, &err), 0);
    CHECK_INT(v.result, PROV_RESULT_MATCH);
    json_decref(v.git);
    json_decref(scale);

    /* the captured Pod request: a namespace git does not manage */
    json_t *pod = load_fixture("pod-create.json");
    CHECK_INT(prov_match(&v, idx, &o, json_object_get(pod, "request"), a, &err), 0);
    CHECK_INT(v.result, PROV_RESULT_UNMANAGED);
    json_decref(v.git);
    json_decref(pod);
}

int main(void)
{
    util_error err;
    util_arena a;
    tmp_setup();
    git_libgit2_init();
    util_arena_init(&a, 4096);
    CHECK_INT(make_key("alice", "ed25519"), 0);
    CHECK_INT(git_init("repo"), 0);
    put("repo/clusters/prod/apps.yaml", apps_yaml);
    put("repo/clusters/prod/cm.json", cm_json);
    put("repo/clusters/prod/sub/list.yml", list_yaml);
    put("repo/clusters/prod/rbac.yaml", rbac_yaml);
    put("repo/clusters/prod/kustomization.yaml", "resources: [apps.yaml, cm.json]\n");
    put("repo/clusters/prod/values.yaml", "replicaCount: 3\nimage: {tag: x}\n");
    put("repo/clusters/prod/README.md", "not a manifest\n");
    put("repo/clusters/prod/.hidden/x.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: h}\n");
    put("repo/clusters/staging/apps.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\n");
    CHECK_INT(commit("repo", "alice", "first"), 0);
    git_repository *repo = open_repo("repo");
    CHECK(repo != NULL);

    prov_index *idx = build(repo, NULL, "alice@example.com", &err);
    CHECK(idx != NULL);
    if (!idx) {
        fprintf(stderr, "build: %s\n", err.msg);
        return test_finish();
    }
    CHECK_INT(prov_index_count(idx), 7);   /* ns, deploy, svc, cm, 2 from the List, ClusterRole */
    CHECK_INT(prov_index_skipped(idx), 2); /* kustomization.yaml, values.yaml */
    const prov_entry *e = prov_index_find(idx, "apps", "Deployment", "demo", "web");
    CHECK(e != NULL);
    CHECK(e && strcmp(e->path, "clusters/prod/apps.yaml") == 0);
    CHECK(prov_index_find(idx, "", "Namespace", "", "demo") != NULL);
    CHECK(prov_index_find(idx, "", "ConfigMap", "other", "two") != NULL);
    CHECK(prov_index_find(idx, "rbac.authorization.k8s.io", "ClusterRole", "", "reader") != NULL);
    CHECK(prov_index_find(idx, "", "ConfigMap", "default", "h") == NULL);
    CHECK(prov_index_find(idx, "", "ConfigMap", "demo", "s") == NULL);
    CHECK(prov_index_manages_namespace(idx, "demo"));
    CHECK(prov_index_manages_namespace(idx, "other"));
    CHECK(!prov_index_manages_namespace(idx, "kube-system"));
    CHECK(prov_index_manages_kind(idx, "rbac.authorization.k8s.io", "ClusterRole"));
    CHECK(!prov_index_manages_kind(idx, "", "PersistentVolume"));
    CHECK_INT(strlen(prov_index_commit(idx)), 40);

    test_match(idx, &a);

    /* One file changes: only it is read again; the others' entries are shared. */
    put("repo/clusters/prod/cm.json", "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
                                      "{\"name\":\"allowed-one\",\"namespace\":\"demo\"},"
                                      "\"data\":{\"a\":\"c\"}}\n");
    CHECK_INT(sh("git -C repo rm -q clusters/prod/sub/list.yml"), 0);
    CHECK_INT(sh("mkdir -p repo/clusters/prod/new && git -C repo mv clusters/prod/rbac.yaml "
                 "clusters/prod/new/rbac.yaml"),
              0);
    put("repo/clusters/prod/.hidden/x.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: h2}\n");
    CHECK_INT(commit("repo", "alice", "second"), 0);
    prov_index *next = build(repo, idx, "alice@example.com", &err);
    CHECK(next != NULL);
    if (next) {
        const prov_entry *e2 = prov_index_find(next, "apps", "Deployment", "demo", "web");
        CHECK(e2 && e && e2->json == e->json); /* shared, not re-parsed */
        const prov_entry *cm = prov_index_find(next, "", "ConfigMap", "demo", "allowed-one");
        json_t *m = cm ? prov_entry_manifest(cm, &err) : NULL;
        CHECK(m && strcmp(util_json_str(json_object_get(m, "data"), "a"), "c") == 0);
        json_decref(m);
        CHECK(prov_index_find(next, "", "ConfigMap", "other", "two") == NULL);
        CHECK_INT(prov_index_count(next), 5);
        CHECK(!prov_index_manages_namespace(next, "other"));
        CHECK(prov_index_manages_namespace(next, "demo"));
        CHECK(prov_index_manages_kind(next, "rbac.authorization.k8s.io", "ClusterRole"));
        const prov_entry *role =
            prov_index_find(next, "rbac.authorization.k8s.io", "ClusterRole", "", "reader");
        CHECK(role && strcmp(role->path, "clusters/prod/new/rbac.yaml") == 0);
        CHECK(prov_index_find(next, "", "ConfigMap", "demo", "h2") == NULL);
        /* the earlier index is untouched */
        CHECK(prov_index_find(idx, "", "ConfigMap", "other", "two") != NULL);
        /* the same from scratch */
        prov_index *full = build(repo, NULL, NULL, &err);
        CHECK(full && prov_index_count(full) == 5 && prov_index_skipped(full) == 2);
        prov_index_unref(full);
    }

    /* A duplicate object in another file refuses the commit, naming both files. */
    put("repo/clusters/prod/zz-dup.yaml",
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {}\n");
    CHECK_INT(commit("repo", "alice", "dup"), 0);
    prov_index *dup = build(repo, next, NULL, &err);
    CHECK(dup == NULL);
    CHECK_INT(err.code, PROV_EDUPLICATE);
    CHECK(strstr(err.msg, "'clusters/prod/apps.yaml'") &&
          strstr(err.msg, "'clusters/prod/zz-dup.yaml'"));
    dup = build(repo, NULL, NULL, &err);
    CHECK(dup == NULL && err.code == PROV_EDUPLICATE);

    /* A manifest that does not parse names file:line:col. */
    CHECK_INT(sh("git -C repo rm -q clusters/prod/zz-dup.yaml"), 0);
    put("repo/clusters/prod/bad.yaml", "apiVersion: v1\nkind: [ConfigMap\n");
    CHECK_INT(commit("repo", "alice", "bad"), 0);
    prov_index *bad = build(repo, next, NULL, &err);
    CHECK(bad == NULL);
    CHECK_INT(err.code, PROV_EMANIFEST);
    CHECK(strncmp(err.msg, "clusters/prod/bad.yaml:", 23) == 0);

    prov_index_unref(next);
    prov_index_unref(idx);
    git_repository_free(repo);
    util_arena_release(&a);
    git_libgit2_shutdown();
    return test_finish();
}
