/* api_test.c: the C API of policy/pol.h as the server uses it: loading, reference counts, the
 * kind index, diagnostics, synthesised requests, and evaluation from several threads. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "policy/pol.h"
#include "test.h"
#include "util/banned.h"

static const char rules[] =
    "param max = 2\n"
    "rule replicas \"bounded replicas\"\n"
    "  match kind apps/Deployment\n"
    "  deny when object.spec.replicas > params.max\n"
    "  message \"{object.spec.replicas} > {params.max}\"\n"
    "rule root \"no root\"\n"
    "  match kind Pod\n"
    "  warn when some c in pod.containers: c.securityContext.runAsUser == 0\n"
    "  message \"{c.name}\"\n";

static json_t *deployment(int replicas)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:i, s:{s:{s:[{s:s, s:s, s:{s:i}}]}}}}",
                     "apiVersion", "apps/v1", "kind", "Deployment", "metadata", "name", "web",
                     "namespace", "shop", "spec", "replicas", replicas, "template", "spec",
                     "containers", "name", "app", "image", "nginx:1", "securityContext",
                     "runAsUser", 0);
}

static void test_load_and_eval(void)
{
    pol_ruleset *rs = NULL;
    util_error err;
    util_arena arena;
    pol_result res;
    json_t *params = json_pack("{s:i}", "max", 3);
    CHECK_INT(
        pol_ruleset_load_text(&rs, "api.rules", "demo", rules, strlen(rules), params, NULL, &err),
        0);
    json_decref(params);
    CHECK_INT(pol_ruleset_count(rs), 2);
    CHECK_STR(pol_ruleset_rule_id(rs, 0), "demo/replicas");
    CHECK_STR(pol_ruleset_rule_title(rs, 1), "no root");
    CHECK_INT(pol_ruleset_rule_action(rs, 1), POL_WARN);
    CHECK_STR(pol_ruleset_rule_file(rs, 0), "api.rules");
    CHECK(pol_ruleset_may_match(rs, "apps", "Deployment"));
    CHECK(pol_ruleset_may_match(rs, "batch", "CronJob")); /* a pod rule reaches CronJobs */
    CHECK(!pol_ruleset_may_match(rs, "", "ConfigMap"));

    json_t *obj = deployment(4);
    json_t *req = pol_request_new(obj, NULL, "alice", NULL);
    CHECK_STR(json_string_value(json_object_get(req, "operation")), "CREATE");
    CHECK_STR(json_string_value(json_object_get(json_object_get(req, "kind"), "group")), "apps");
    CHECK_STR(json_string_value(json_object_get(req, "namespace")), "shop");
    pol_input in = {.object = obj, .request = req};
    util_arena_init(&arena, 4096);
    CHECK_INT(pol_eval(&res, rs, &in, POL_MODE_ENFORCE, &arena, &err), 0);
    CHECK_INT(res.count, 2);
    CHECK_INT(res.denies, 1);
    CHECK_INT(res.warns, 1);
    CHECK_STR(res.findings[0].message, "4 > 3");
    CHECK_STR(res.findings[1].path, "spec.template.spec.containers[0]");

    /* The server's reload: a request keeps its reference while the set is replaced. */
    pol_ruleset_incref(rs);
    pol_ruleset_decref(rs);
    util_arena_reset(&arena);
    CHECK_INT(pol_eval(&res, rs, &in, POL_MODE_WARN, &arena, &err), 0);
    CHECK_INT(res.denies, 0);
    CHECK_INT(res.warns, 2);
    util_arena_release(&arena);
    json_decref(req);
    json_decref(obj);
    pol_ruleset_decref(rs);
}

/* may_match honours the API group as the full match does, and finds rules whose kind is a
 * glob; regression for the group being ignored. */
static const char group_rules[] = "rule dep \"apps deployments\"\n"
                                  "  match kind apps/Deployment\n"
                                  "  deny when object.spec.replicas > 3\n"
                                  "rule cm \"core configmaps only\"\n"
                                  "  match kind \"\"/ConfigMap\n"
                                  "  deny when object.data == null\n"
                                  "rule crds \"any kind of the example group but Widget\"\n"
                                  "  match kind example.com/*\n"
                                  "  exclude kind Widget\n"
                                  "  deny when object.spec == null\n"
                                  "rule jobs \"kinds by glob\"\n"
                                  "  match kind \"Cron*\"\n"
                                  "  deny when object.spec == null\n";

static void test_may_match_group(void)
{
    pol_ruleset *rs = NULL;
    util_error err;
    CHECK_INT(pol_ruleset_load_text(&rs, "group.rules", "g", group_rules, strlen(group_rules), NULL,
                                    NULL, &err),
              0);
    if (!rs)
        return;
    CHECK(pol_ruleset_may_match(rs, "apps", "Deployment"));
    CHECK(!pol_ruleset_may_match(rs, "extensions", "Deployment"));
    CHECK(!pol_ruleset_may_match(rs, "", "Deployment"));
    CHECK(pol_ruleset_may_match(rs, "", "ConfigMap"));
    CHECK(!pol_ruleset_may_match(rs, "example.org", "ConfigMap"));
    CHECK(pol_ruleset_may_match(rs, "example.com", "Gadget"));
    CHECK(!pol_ruleset_may_match(rs, "example.com", "Widget")); /* excluded */
    CHECK(!pol_ruleset_may_match(rs, "example.org", "Gadget"));
    CHECK(pol_ruleset_may_match(rs, "batch", "CronJob")); /* by glob */
    CHECK(!pol_ruleset_may_match(rs, "", "Secret"));

    /* The full match agrees: an extensions/Deployment is not judged by apps/Deployment, and
     * the glob-kind rule does fire on a CronJob. */
    util_arena arena;
    pol_result res;
    util_arena_init(&arena, 4096);
    json_t *dep = json_pack("{s:s, s:s, s:{s:s}, s:{s:i}}", "apiVersion", "extensions/v1beta1",
                            "kind", "Deployment", "metadata", "name", "x", "spec", "replicas", 9);
    json_t *req = pol_request_new(dep, NULL, NULL, NULL);
    pol_input in = {.object = dep, .request = req};
    CHECK_INT(pol_eval(&res, rs, &in, POL_MODE_ENFORCE, &arena, &err), 0);
    CHECK_INT(res.count, 0);
    json_decref(req);
    json_decref(dep);
    json_t *cj = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "batch/v1", "kind", "CronJob",
                           "metadata", "name", "y");
    req = pol_request_new(cj, NULL, NULL, NULL);
    in = (pol_input){.object = cj, .request = req};
    CHECK_INT(pol_eval(&res, rs, &in, POL_MODE_ENFORCE, &arena, &err), 0);
    CHECK_INT(res.denies, 1);
    json_decref(req);
    json_decref(cj);
    util_arena_release(&arena);
    pol_ruleset_decref(rs);
}

static void test_diags(void)
{
    static const char bad[] = "rule a \"t\"\n  deny when (1\nrule b \"t\"\n  deny when x\n";
    pol_ruleset *rs = (pol_ruleset *)1;
    pol_diags *d = pol_diags_new();
    util_error err;
    CHECK_INT(pol_ruleset_load_text(&rs, "bad.rules", "p", bad, strlen(bad), NULL, d, &err),
              POL_ELOAD);
    CHECK(rs == NULL);
    CHECK_STR(err.msg, "2 errors in the rules");
    CHECK_INT(pol_diags_count(d), 2);
    const util_error *e = pol_diags_get(d, 1);
    CHECK_STR(e->source, "bad.rules");
    CHECK_INT(e->line, 4);
    CHECK_INT(e->col, 13);
    CHECK_STR(e->msg, "unknown name 'x'");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    pol_diags_print(f, d);
    fclose(f);
    CHECK(buf && strstr(buf, "bad.rules:4:13: unknown name 'x'\n      deny when x\n"
                             "                ^\n"));
    free(buf);
    pol_diags_free(d);

    /* Paths: a missing one is an error that names it. */
    const char *paths[] = {"/nonexistent/rules"};
    d = pol_diags_new();
    CHECK_INT(pol_ruleset_load(&rs, paths, 1, NULL, d, &err), POL_ELOAD);
    CHECK(pol_diags_count(d) == 1 && strstr(pol_diags_get(d, 0)->source, "/nonexistent/rules"));
    pol_diags_free(d);
}

typedef struct worker {
    pol_ruleset *rs;
    int denies;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    util_arena arena;
    util_error err;
    util_arena_init(&arena, 4096);
    for (int i = 0; i < 200; i++) {
        pol_result res;
        json_t *obj = deployment(i % 5);
        pol_input in = {.object = obj};
        util_arena_reset(&arena);
        if (pol_eval(&res, w->rs, &in, POL_MODE_ENFORCE, &arena, &err) == 0)
            w->denies += (int)res.denies;
        json_decref(obj);
    }
    util_arena_release(&arena);
    return NULL;
}

static void test_threads(void)
{
    pol_ruleset *rs = NULL;
    util_error err;
    pthread_t t[4];
    worker w[4];
    CHECK_INT(
        pol_ruleset_load_text(&rs, "api.rules", "demo", rules, strlen(rules), NULL, NULL, &err), 0);
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){rs, 0};
        pol_ruleset_incref(rs);
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    pol_ruleset_decref(rs); /* the workers hold the last references */
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(w[i].denies, 80); /* replicas 3 and 4 of every 5, over 200 objects */
        pol_ruleset_decref(w[i].rs);
    }
}

int main(void)
{
    test_may_match_group();
    test_load_and_eval();
    test_diags();
    test_threads();
    return test_finish();
}
