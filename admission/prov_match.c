/* prov_match.c: judging one AdmissionReview request against the index of the accepted commit:
 * which object it is, whether git manages it, and whether it matches what git declares. The
 * comparison itself is prov_diff.c's; the rules are in docs/provenance.md. */
#include "admission/prov.h"
#include "crypto/seal.h"

#include <string.h>

#include "util/banned.h"

/* Kinds that controllers and the apiserver create and git never declares: requests for them
 * are not provenance's business (the webhook's rules usually leave them out anyway). */
static bool is_system_kind(const char *group, const char *kind)
{
    static const char *const kinds[] = {
        "Event",
        "Lease",
        "Endpoints",
        "EndpointSlice",
        "ControllerRevision",
        "TokenReview",
        "SubjectAccessReview",
        "LocalSubjectAccessReview",
        "SelfSubjectAccessReview",
        "SelfSubjectRulesReview",
        "SelfSubjectReview",
        "Binding",
        "Eviction",
        "TokenRequest",
    };
    for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++)
        if (strcmp(kind, kinds[i]) == 0)
            return true;
    return false;
}

/* Objects the apiserver's controllers create in every namespace. */
static bool is_system_object(const char *group, const char *kind, const char *name)
{
    if (*group)
        return false;
    return (strcmp(kind, "ServiceAccount") == 0 && strcmp(name, "default") == 0) ||
           (strcmp(kind, "ConfigMap") == 0 && strcmp(name, "kube-root-ca.crt") == 0);
}

/* A controller-made object (ReplicaSet of a Deployment, Pod of a ReplicaSet, Job of a
 * CronJob) names its owner; provenance judges the owner, not it. */
static bool has_controller_owner(const json_t *obj)
{
    size_t i;
    json_t *ref;
    json_array_foreach(util_json_path(obj, "metadata.ownerReferences"), i, ref)
    {
        if (json_is_true(json_object_get(ref, "controller")))
            return true;
    }
    return false;
}

static bool is_exempt(const prov_match_options *opts, const json_t *user)
{
    const char *name = util_json_str(user, "username");
    for (size_t i = 0; name && i < opts->exempt_user_count; i++)
        if (util_glob_match(opts->exempt_users[i], name))
            return true;
    size_t j;
    json_t *g;
    json_array_foreach(json_object_get(user, "groups"), j, g)
    {
        const char *group = json_string_value(g);
        for (size_t i = 0; group && i < opts->exempt_group_count; i++)
            if (util_glob_match(opts->exempt_groups[i], group))
                return true;
    }
    return false;
}

/* The kind behind a `scale` subresource request (request.kind is autoscaling/v1 Scale). */
static const char *scale_owner_kind(const char *resource)
{
    static const char *const map[][2] = {
        {"deployments", "Deployment"},
        {"statefulsets", "StatefulSet"},
        {"replicasets", "ReplicaSet"},
        {"replicationcontrollers", "ReplicationController"},
    };
    for (size_t i = 0; resource && i < sizeof(map) / sizeof(*map); i++)
        if (strcmp(resource, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

/* The git facts for the rule DSL; steals manifest (may be NULL). */
static json_t *git_facts(bool managed, const prov_index *idx, json_t *manifest)
{
    json_t *git = json_object();
    if (!git) {
        json_decref(manifest);
        return NULL;
    }
    json_object_set_new(git, "managed", json_boolean(managed));
    json_object_set_new(git, "commit", idx ? json_string(prov_index_commit(idx)) : json_null());
    json_object_set_new(git, "signer",
                        idx && *prov_index_signer(idx) ? json_string(prov_index_signer(idx))
                                                       : json_null());
    json_object_set_new(git, "object", manifest ? manifest : json_null());
    return git;
}

static prov_action action_for(prov_mode mode, bool violation)
{
    if (!violation)
        return PROV_ACTION_ALLOW;
    switch (mode) {
    case PROV_MODE_ENFORCE:
        return PROV_ACTION_DENY;
    case PROV_MODE_WARN:
        return PROV_ACTION_WARN;
    case PROV_MODE_AUDIT:
        return PROV_ACTION_AUDIT;
    case PROV_MODE_OFF:
        break;
    }
    return PROV_ACTION_ALLOW;
}

/* "at 3f2c1a9 (signed by alice@example.com)" */
static const char *where(const prov_index *idx, util_arena *arena)
{
    const char *signer = prov_index_signer(idx);
    return util_arena_printf(arena, "at %.7s%s%s%s", prov_index_commit(idx),
                             *signer ? " (signed by " : "", signer, *signer ? ")" : "");
}

static const char *describe_object(const char *group, const char *kind, const char *ns,
                                   const char *name, util_arena *arena)
{
    return util_arena_printf(arena, "%s%s%s '%s'%s%s%s", group, *group ? "/" : "", kind, name,
                             *ns ? " in namespace '" : "", ns, *ns ? "'" : "");
}

typedef struct req_facts {
    const char *op, *group, *kind, *ns, *name, *subresource;
    const json_t *object, *old;
} req_facts;

static int read_request(req_facts *r, const json_t *request, util_error *err)
{
    const json_t *kind = json_object_get(request, "kind");
    r->op = util_json_str(request, "operation");
    r->group = util_json_str(kind, "group");
    r->kind = util_json_str(kind, "kind");
    r->ns = util_json_str(request, "namespace");
    r->name = util_json_str(request, "name");
    r->subresource = util_json_str(request, "subResource");
    r->object = json_object_get(request, "object");
    r->old = json_object_get(request, "oldObject");
    if (!json_is_object(request) || !r->op || !r->kind)
        return util_error_set(err, UTIL_EINVALID, "admission request lacks operation or kind.kind");
    if (!r->group)
        r->group = "";
    if (!r->ns)
        r->ns = "";
    if (!r->subresource)
        r->subresource = "";
    if (!json_is_object(r->object))
        r->object = NULL;
    if (!json_is_object(r->old))
        r->old = NULL;
    if (!r->name || !*r->name) { /* CREATE with generateName: the object may know better */
        const char *n =
            util_json_str(util_json_path(r->object ? r->object : r->old, "metadata"), "name");
        r->name = n ? n : "";
    }
    return 0;
}

static void verdict(prov_verdict *out, prov_result result, const prov_match_options *opts)
{
    out->result = result;
    out->violation = result == PROV_RESULT_DIFFERS || result == PROV_RESULT_NOT_IN_GIT ||
                     result == PROV_RESULT_DELETE_DECLARED || result == PROV_RESULT_NO_COMMIT;
    out->action = action_for(opts->mode, out->violation);
}

/* A `scale` request: only spec.replicas can change; compare it with what git declares. */
static int match_scale(prov_verdict *out, const prov_index *idx, const prov_match_options *opts,
                       const req_facts *r, const json_t *request, util_arena *arena,
                       util_error *err)
{
    const json_t *res = json_object_get(request, "resource");
    const char *kind = scale_owner_kind(util_json_str(res, "resource"));
    const char *group = util_json_str(res, "group");
    const prov_entry *e =
        kind ? prov_index_find(idx, group ? group : "", kind, r->ns, r->name) : NULL;
    json_t *manifest = e ? prov_entry_manifest(e, err) : NULL;
    if (e && !manifest)
        return err->code;
    out->git = git_facts(e != NULL, idx, manifest);
    if (!e) {
        verdict(out, PROV_RESULT_UNMANAGED, opts);
        return 0;
    }
    const json_t *want = util_json_path(manifest, "spec.replicas");
    const json_t *got = r->object ? util_json_path(r->object, "spec.replicas") : NULL;
    for (size_t i = 0; i < opts->diff.ignore_count; i++) {
        const prov_ignore *ig = &opts->diff.ignore[i];
        if ((!ig->kind || !*ig->kind || strcmp(ig->kind, kind) == 0) &&
            util_glob_match(ig->path, "spec.replicas"))
            want = NULL;
    }
    if (!want || (got && json_number_value(want) == json_number_value(got))) {
        verdict(out, PROV_RESULT_MATCH, opts);
        return 0;
    }
    verdict(out, PROV_RESULT_DIFFERS, opts);
    out->message = util_arena_printf(
        arena, "%s: spec.replicas is %lld but %lld %s",
        describe_object(group ? group : "", kind, r->ns, r->name, arena),
        (long long)json_number_value(got), (long long)json_number_value(want), where(idx, arena));
    return 0;
}

/* git's sealed value does not unseal here (sealed to a key this server lacks, or for another
 * place): the object cannot be shown to match git, which is the object's violation to report,
 * not a fault of the server's. */
static int not_comparable(prov_verdict *out, const prov_match_options *opts, const char *what,
                          const prov_index *idx, util_arena *arena, util_error *err)
{
    verdict(out, PROV_RESULT_DIFFERS, opts);
    out->message = util_arena_printf(arena, "%s cannot be compared with git %s: %s", what,
                                     where(idx, arena), err->msg);
    util_error_clear(err);
    return out->message ? 0 : util_error_set(err, UTIL_ENOMEM, "out of memory");
}

static int match_request(prov_verdict *out, const prov_index *idx, const prov_match_options *opts,
                         const json_t *request, util_arena *arena, util_error *err)
{
    req_facts r;
    int rc;
    memset(out, 0, sizeof(*out));
    if ((rc = read_request(&r, request, err)) < 0)
        return rc;
    if (opts->mode == PROV_MODE_OFF || strcmp(r.op, "CONNECT") == 0 ||
        (*r.subresource && strcmp(r.subresource, "scale") != 0)) {
        /* status and other subresources are the controllers' business; CONNECT (exec,
         * port-forward, proxy) changes no object. */
        out->git = git_facts(false, idx, NULL);
        verdict(out, PROV_RESULT_SKIPPED, opts);
        return 0;
    }
    if (is_exempt(opts, json_object_get(request, "userInfo"))) {
        const prov_entry *e = prov_index_find(idx, r.group, r.kind, r.ns, r.name);
        json_t *manifest = e ? prov_entry_manifest(e, err) : NULL;
        if (e && !manifest)
            return err->code;
        out->git = git_facts(e != NULL, idx, manifest);
        verdict(out, PROV_RESULT_EXEMPT, opts);
        return 0;
    }
    if (!idx) {
        out->git = git_facts(false, NULL, NULL);
        verdict(out, PROV_RESULT_NO_COMMIT, opts);
        out->message = "no verified commit of the config repo has been accepted yet";
        return 0;
    }
    out->commit = util_arena_strndup(arena, prov_index_commit(idx), 7);
    out->signer = *prov_index_signer(idx) ? util_arena_strdup(arena, prov_index_signer(idx)) : NULL;
    if (strcmp(r.subresource, "scale") == 0)
        return match_scale(out, idx, opts, &r, request, arena, err);

    const prov_entry *e = prov_index_find(idx, r.group, r.kind, r.ns, r.name);
    const char *what = describe_object(r.group, r.kind, r.ns, r.name, arena);
    json_t *manifest = e ? prov_entry_manifest(e, err) : NULL;
    if (e && !manifest)
        return err->code;
    if (strcmp(r.op, "DELETE") == 0) {
        out->git = git_facts(e != NULL, idx, manifest);
        verdict(out, e ? PROV_RESULT_DELETE_DECLARED : PROV_RESULT_UNMANAGED, opts);
        if (e)
            out->message =
                util_arena_printf(arena, "%s is declared in git ('%s') %s: delete it there", what,
                                  e->path, where(idx, arena));
        return 0;
    }
    if (!e) {
        const json_t *obj = r.object ? r.object : r.old;
        bool managed = *r.ns ? prov_index_manages_namespace(idx, r.ns)
                             : prov_index_manages_kind(idx, r.group, r.kind);
        if (managed &&
            (is_system_kind(r.group, r.kind) || is_system_object(r.group, r.kind, r.name) ||
             (obj && has_controller_owner(obj))))
            managed = false;
        out->git = git_facts(managed, idx, NULL); /* manifest is NULL: no entry */
        verdict(out, managed ? PROV_RESULT_NOT_IN_GIT : PROV_RESULT_UNMANAGED, opts);
        if (managed)
            out->message = util_arena_printf(
                arena, "%s is not declared in git %s, which manages %s", what, where(idx, arena),
                *r.ns ? util_arena_printf(arena, "namespace '%s'", r.ns)
                      : util_arena_printf(arena, "%ss", r.kind));
        return 0;
    }
    /* git (the facts) holds the manifest from here on; the difference may point into it */
    out->git = git_facts(true, idx, manifest);
    if (!out->git)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    if (!r.object)
        return util_error_set(err, UTIL_EINVALID, "%s request without an object", r.op);
    prov_difference d;
    if ((rc = prov_diff(&d, manifest, r.object, &opts->diff, arena, err)) < 0)
        return opts->unseal_failure_violates && seal_error_is_value(err->code)
                   ? not_comparable(out, opts, what, idx, arena, err)
                   : rc;
    if (!d.differs) {
        verdict(out, PROV_RESULT_MATCH, opts);
        return 0;
    }
    verdict(out, PROV_RESULT_DIFFERS, opts);
    out->message = util_arena_printf(arena, "%s: %s %s", what, prov_difference_describe(&d, arena),
                                     where(idx, arena));
    return 0;
}

int prov_match(prov_verdict *out, const prov_index *idx, const prov_match_options *opts,
               const json_t *request, util_arena *arena, util_error *err)
{
    int rc = match_request(out, idx, opts, request, arena, err);
    if (rc < 0) { /* nothing for the caller to release on failure */
        json_decref(out->git);
        memset(out, 0, sizeof(*out));
    }
    return rc;
}
