/* adm_admit.c: the request path after decoding (design.md "The request path"): provenance,
 * then policy, for /validate; unsealing for /mutate. It fills the answer, counts it in the
 * metrics and writes the one log line a denial or a warning gets (never a Secret's values). */
#include <string.h>

#include <openssl/crypto.h>

#include "admission/adm.h"
#include "crypto/seal.h"
#include "policy/pol.h"
#include "util/banned.h"

_Static_assert((int)ADM_MODE_ENFORCE == (int)POL_MODE_ENFORCE &&
                   (int)ADM_MODE_WARN == (int)POL_MODE_WARN &&
                   (int)ADM_MODE_AUDIT == (int)POL_MODE_AUDIT,
               "adm_mode and pol_mode agree");

/* Audit annotation values stay short: they land in every audit event of the request. */
#define ADMIT_ANNOTATION_MAX 4096

/* The log line of a decision: who asked what and which rules spoke; new reference. */
static json_t *admit_log_fields(const adm_request *req, const char *endpoint, json_t *rules,
                                adm_mode mode)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:b}", "endpoint", endpoint,
                     "uid", req->uid, "kind", req->kind, "namespace", req->namespace_, "name",
                     req->name, "user", req->username, "operation", req->operation, "rules",
                     rules ? rules : json_array(), "mode", adm_mode_name(mode), "dryRun",
                     req->dry_run);
}

/* Append s to a comma- or semicolon-separated annotation value, within the cap. */
static int admit_join(util_buf *b, const char *sep, const char *s)
{
    if (b->len >= ADMIT_ANNOTATION_MAX)
        return 0;
    int rc = b->len > 0 ? util_buf_puts(b, sep) : 0;
    return rc == 0 ? util_buf_puts(b, s) : rc;
}

/* Turn the policy's findings into the answer: denials, warnings, annotations. */
static int admit_findings(const adm__engine *eng, const pol_result *pr, adm_response *res,
                          json_t *log_rules)
{
    util_buf ids, audits;
    util_buf_init(&ids);
    util_buf_init(&audits);
    int rc = 0;
    for (size_t i = 0; i < pr->count && rc == 0; i++) {
        const pol_finding *f = &pr->findings[i];
        if (!strstr(ids.data ? ids.data : "", f->rule_id))
            rc = admit_join(&ids, ",", f->rule_id);
        if (log_rules != NULL)
            json_array_append_new(log_rules, json_string(f->rule_id));
        if (rc < 0)
            break;
        if (f->action == POL_DENY) {
            rc = adm_response_deny(res, f->rule_id, f->message);
            adm__metrics_denial(eng->metrics, f->rule_id);
        } else if (f->action == POL_WARN) {
            util_buf w;
            util_buf_init(&w);
            rc = util_buf_printf(&w, "%s: %s", f->rule_id, f->message);
            if (rc == 0)
                rc = adm_response_warn(res, w.data);
            util_buf_release(&w);
        } else {
            util_buf a;
            util_buf_init(&a);
            rc = util_buf_printf(&a, "%s: %s", f->rule_id, f->message);
            if (rc == 0)
                rc = admit_join(&audits, "; ", a.data);
            util_buf_release(&a);
        }
    }
    if (rc == 0 && ids.len > 0)
        rc = adm_response_annotate(res, "rules", ids.data);
    if (rc == 0 && audits.len > 0)
        rc = adm_response_annotate(res, "audit", audits.data);
    if (rc == 0)
        rc = adm_response_annotate(res, "mode", adm_mode_name(eng->mode));
    util_buf_release(&ids);
    util_buf_release(&audits);
    return rc;
}

static int admit_validate(const adm__engine *eng, const adm_request *req, adm_response *res,
                          util_arena *arena, util_error *err)
{
    pol_ruleset *rs = adm__rules_acquire(eng->rules);
    if (rs == NULL)
        return util_error_set(err, UTIL_EFAIL, "no rule set is loaded");
    /* Provenance first: its facts (managed, commit, signer, the declared object) are the
     * rules' `git` root. */
    json_t *git = NULL;
    int pv = adm__prov_judge(eng->prov, req, res, &git, arena, err);
    if (pv < 0) {
        pol_ruleset_decref(rs);
        return pv;
    }
    if (pv == 1)
        adm__metrics_denial(eng->metrics, "sealgate/provenance");
    pol_input in = {req->object, req->old_object, req->request, git};
    pol_result pr;
    int rc = pol_eval(&pr, rs, &in, (pol_mode)eng->mode, arena, err);
    /* The rules that spoke, for the log line: only built when the line would be written. */
    bool logged = ADM_LOG_INFO >= eng->log_level;
    json_t *log_rules = logged ? json_array() : NULL;
    if (rc == 0 && logged && log_rules == NULL)
        rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
    if (rc == 0 && (rc = admit_findings(eng, &pr, res, log_rules)) < 0)
        util_error_set(err, rc, "cannot build the answer");
    pol_ruleset_decref(rs); /* rule ids are copied out above */
    json_decref(git);
    if (rc < 0) {
        json_decref(log_rules);
        return rc;
    }
    if (log_rules != NULL && (pv == 1 || pv == 2))
        json_array_append_new(log_rules, json_string("sealgate/provenance"));
    int verdict = !res->allowed             ? ADM__V_DENIED
                  : pr.warns > 0 || pv == 2 ? ADM__V_WARNED
                                            : ADM__V_ALLOWED;
    if (verdict != ADM__V_ALLOWED && logged)
        adm__log(eng->log_level, ADM_LOG_INFO,
                 admit_log_fields(req, "validate", log_rules, eng->mode),
                 verdict == ADM__V_DENIED ? "denied" : "warned");
    else
        json_decref(log_rules);
    return verdict;
}

static bool admit_is_core_secret(const adm_request *req)
{
    return strcmp(req->group, "") == 0 && strcmp(req->kind, "Secret") == 0;
}

/* Deny a sealed Secret that cannot be unsealed, and log it without any of its values. */
static int admit_mutate_deny(const adm__engine *eng, const adm_request *req, adm_response *res,
                             const char *why)
{
    util_buf m;
    util_buf_init(&m);
    int rc = util_buf_printf(&m, "sealed Secret %s/%s: %s", req->namespace_, req->name, why);
    if (rc == 0)
        rc = adm_response_deny(res, "sealgate/unseal", m.data);
    util_buf_release(&m);
    adm__metrics_denial(eng->metrics, "sealgate/unseal");
    json_t *rules = json_pack("[s]", "sealgate/unseal");
    adm__log(eng->log_level, ADM_LOG_INFO, admit_log_fields(req, "mutate", rules, eng->mode),
             "denied");
    return rc < 0 ? rc : ADM__V_DENIED;
}

static int admit_mutate(const adm__engine *eng, const adm_request *req, adm_response *res,
                        util_error *err)
{
    if (req->object == NULL || !admit_is_core_secret(req) || !seal_secret_is_sealed(req->object))
        return ADM__V_ALLOWED;
    if (eng->keys == NULL)
        return admit_mutate_deny(eng, req, res, "no sealing keys configured (sealing.keys)");
    json_t *patch = NULL;
    util_error e;
    util_error_clear(&e);
    if (seal_secret_mutate_patch(&patch, req->object, eng->keys, &e) < 0)
        return admit_mutate_deny(eng, req, res, e.msg);
    if (patch == NULL)
        return ADM__V_ALLOWED;
    /* The patch holds the unsealed values: written once into a buffer of the exact size, so
     * no copy is left behind by a buffer that grew. */
    size_t len = json_dumpb(patch, NULL, 0, JSON_COMPACT);
    int rc = len ? util_buf_reserve(&res->patch, len) : UTIL_ENOMEM;
    if (rc == 0 && json_dumpb(patch, res->patch.data + res->patch.len, len, JSON_COMPACT) == len) {
        res->patch.len += len;
        res->patch.data[res->patch.len] = '\0';
    } else if (rc == 0) {
        rc = UTIL_ENOMEM;
    }
    seal_json_free_secret(patch);
    if (rc < 0)
        return util_error_set(err, rc, "out of memory");
    return ADM__V_ALLOWED;
}

int adm__admit(const adm__engine *eng, bool mutate, const adm_request *req, adm_response *res,
               util_arena *arena, util_error *err)
{
    return mutate ? admit_mutate(eng, req, res, err) : admit_validate(eng, req, res, arena, err);
}
