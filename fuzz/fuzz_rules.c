/* fuzz_rules.c: the rule parser and compiler on arbitrary text, and every rule that loads
 * evaluated against a Deployment, a Pod and a ConfigMap: no crash, no leak, no hang (the step
 * budget bounds every evaluation). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/pol.h"

static const char *const objects[] = {
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
    "\"namespace\":\"shop\",\"labels\":{\"app\":\"web\"},\"annotations\":{\"k\":"
    "\"AKIAIOSFODNN7EXAMPLE\"}},"
    "\"spec\":{\"replicas\":2,\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
    "\"securityContext\":{\"runAsUser\":0},\"volumes\":[{\"name\":\"h\",\"hostPath\":{\"path\":\"/"
    "\"}}],"
    "\"containers\":[{\"name\":\"a\",\"image\":\"nginx:latest\",\"ports\":[{\"containerPort\":80,"
    "\"hostPort\":80}],\"resources\":{\"limits\":{\"memory\":\"1Gi\",\"cpu\":\"500m\"}},"
    "\"env\":[{\"name\":\"TOKEN\",\"value\":\"ghp_abcdefghijklmnopqrstuvwxyz0123456789\"}]}],"
    "\"initContainers\":[{\"name\":\"i\",\"image\":\"registry:5000/x\"}]}}}}",
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},\"spec\":{"
    "\"containers\":"
    "[{\"name\":\"c\",\"image\":\"ghcr.io/a/"
    "b@sha256:00\",\"securityContext\":{\"privileged\":true}}]}}",
    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\",\"namespace\":"
    "\"x\"},"
    "\"data\":{\"a\":\"c2cxOmFiYw==\",\"password\":\"q8Zr2LmX0pVtK7wYb4Nc\"}}",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pol_ruleset *rs = NULL;
    pol_diags *d = pol_diags_new();
    util_error err;
    if (!d)
        return 0;
    if (pol_ruleset_load_text(&rs, "fuzz.rules", "fuzz", (const char *)data, size, NULL, d, &err) ==
        0) {
        util_arena arena;
        util_arena_init(&arena, 4096);
        for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++) {
            json_t *obj = json_loads(objects[i], 0, NULL);
            json_t *req = pol_request_new(obj, "CREATE", "fuzz", NULL);
            pol_input in = {.object = obj, .request = req, .old_object = obj};
            pol_result res;
            util_arena_reset(&arena);
            if (pol_eval(&res, rs, &in, POL_MODE_ENFORCE, &arena, &err) == 0)
                for (size_t k = 0; k < res.count; k++)
                    if (!res.findings[k].message || !res.findings[k].path)
                        abort();
            json_decref(req);
            json_decref(obj);
        }
        util_arena_release(&arena);
        pol_ruleset_decref(rs);
    } else {
        /* Printing the errors exercises line:col and the caret over hostile text. */
        FILE *null = fopen("/dev/null", "w");
        if (null) {
            pol_diags_print(null, d);
            fclose(null);
        }
    }
    pol_diags_free(d);
    return 0;
}
