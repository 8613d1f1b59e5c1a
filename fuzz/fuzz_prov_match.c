/* fuzz_prov_match: hostile AdmissionReview requests against a provenance index. The input is
 * JSON: an AdmissionReview (or a bare request); it is matched against an index of a few
 * manifests built once (with libgit2, in a temp folder) and its object is diffed with each of
 * those manifests. Nothing a request contains may crash, leak or hang the comparison. */
#include "admission/prov.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/banned.h"

static const char *const manifests =
    "apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n---\n"
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: demo, labels: "
    "{app: web}}\nspec:\n  replicas: 2\n  template:\n    spec:\n      hostNetwork: false\n"
    "      tolerations: [{key: a, operator: Exists}]\n      containers:\n      - name: web\n"
    "        image: web:1.0.0\n        env: [{name: A, value: '1'}]\n"
    "        ports: [{containerPort: 80}, {containerPort: 53, protocol: UDP}]\n"
    "        resources: {requests: {cpu: 500m, memory: 1Gi}, limits: {cpu: 1}}\n"
    "      volumes: [{name: v, emptyDir: {sizeLimit: 1Gi}}]\n---\n"
    "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: demo}\n"
    "spec: {ports: [{port: 80, targetPort: 8080}], selector: {app: web}}\n---\n"
    "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: demo}\n"
    "stringData: {password: s3cret}\ndata: {user: d2Vi}\n---\n"
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n"
    "rules: [{apiGroups: [''], resources: [pods], verbs: [get]}]\n";

static prov_index *idx;
static json_t *declared[5];

/* A repository with one commit holding clusters/m.yaml, made with libgit2 alone. */
static prov_index *make_index(void)
{
    char dir[] = "/tmp/fuzz-prov.XXXXXX";
    git_repository *repo = NULL;
    git_treebuilder *tb = NULL;
    git_oid blob, sub, root, commit;
    git_signature *sig = NULL;
    prov_index *out = NULL;
    util_error err;
    if (!mkdtemp(dir) || git_repository_init(&repo, dir, 1) < 0)
        abort();
    if (git_blob_create_from_buffer(&blob, repo, manifests, strlen(manifests)) < 0 ||
        git_treebuilder_new(&tb, repo, NULL) < 0 ||
        git_treebuilder_insert(NULL, tb, "m.yaml", &blob, GIT_FILEMODE_BLOB) < 0 ||
        git_treebuilder_write(&sub, tb) < 0)
        abort();
    git_treebuilder_free(tb);
    if (git_treebuilder_new(&tb, repo, NULL) < 0 ||
        git_treebuilder_insert(NULL, tb, "clusters", &sub, GIT_FILEMODE_TREE) < 0 ||
        git_treebuilder_write(&root, tb) < 0)
        abort();
    git_treebuilder_free(tb);
    git_tree *tree = NULL;
    if (git_tree_lookup(&tree, repo, &root) < 0 ||
        git_signature_new(&sig, "Fuzz", "fuzz@example.com", 1700000000, 0) < 0 ||
        git_commit_create(&commit, repo, NULL, sig, sig, NULL, "m", tree, 0, NULL) < 0)
        abort();
    static const char *const paths[] = {"clusters"};
    prov_index_options o = {paths, 1, "demo"};
    if (prov_index_build(&out, repo, &commit, &o, NULL, "fuzz@example.com", &err) < 0)
        abort();
    git_tree_free(tree);
    git_signature_free(sig);
    git_repository_free(repo);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        abort();
    return out;
}

static int collect(void *ctx, const prov_entry *e)
{
    size_t *n = ctx;
    if (*n < 5)
        declared[(*n)++] = prov_entry_manifest(e, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!idx) {
        git_libgit2_init();
        idx = make_index();
        size_t n = 0;
        if (prov_index_foreach(idx, collect, &n) != 0 || n != 5)
            abort();
    }
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!v)
        return 0;
    json_t *req = json_object_get(v, "request") ? json_object_get(v, "request") : v;
    util_arena arena;
    util_error err;
    util_arena_init(&arena, 4096);
    static const prov_ignore ignore[] = {{"Deployment", "spec.replicas"},
                                         {"", "metadata.labels.*"}};
    static const char *const users[] = {"system:serviceaccount:kube-system:*"};
    prov_match_options o = {.mode = PROV_MODE_ENFORCE,
                            .diff = {ignore, 2, NULL},
                            .exempt_users = users,
                            .exempt_user_count = 1};
    prov_verdict verdict;
    if (prov_match(&verdict, idx, &o, req, &arena, &err) == 0)
        json_decref(verdict.git);
    const json_t *obj = json_object_get(req, "object") ? json_object_get(req, "object") : req;
    for (int i = 0; i < 5; i++) {
        prov_difference d;
        if (prov_diff(&d, declared[i], obj, &o.diff, &arena, &err) == 0 && d.differs)
            (void)prov_difference_describe(&d, &arena);
        /* and the other way round: hostile input as the declared side */
        if (prov_diff(&d, obj, declared[i], &o.diff, &arena, &err) == 0 && d.differs)
            (void)prov_difference_describe(&d, &arena);
    }
    util_arena_release(&arena);
    json_decref(v);
    return 0;
}
