/* adm_review.c: AdmissionReview v1 in and out. Decoding bounds the body before any parser
 * sees it; rendering enforces what the apiserver checks on an answer (research notes,
 * section 5), because an invalid answer counts as a call failure. */
#include <string.h>

#include <openssl/evp.h>

#include "admission/adm.h"
#include "util/banned.h"

#define ADM_API_VERSION "admission.k8s.io/v1"
#define ADM_KIND        "AdmissionReview"
/* The apiserver cuts each warning to 256 runes once all together pass 4096. */
#define ADM_WARN_TOTAL 4096
#define ADM_WARN_EACH  256
/* A qualified name's name part. */
#define ADM_ANNOTATION_KEY_MAX 63

/* ---- decoding ------------------------------------------------------------------------- */

/* A string member that may be absent (""), but must be a string when present. */
static int review_opt_str(const char **out, json_t *obj, const char *key, const char *where,
                          util_error *err)
{
    json_t *v = json_object_get(obj, key);
    *out = "";
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return util_error_set(err, ADM_EDECODE, "%s.%s is not a string", where, key);
    *out = json_string_value(v);
    return 0;
}

/* An object member that may be absent or null (NULL), but must be an object when present. */
static int review_opt_obj(json_t **out, json_t *obj, const char *key, util_error *err)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return util_error_set(err, ADM_EDECODE, "request.%s is not an object", key);
    *out = v;
    return 0;
}

static bool review_operation_is_known(const char *op)
{
    static const char *const ops[] = {"CREATE", "UPDATE", "DELETE", "CONNECT"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(op, ops[i]) == 0)
            return true;
    return false;
}

/* The envelope: apiVersion, kind and a request object. */
static int review_check_envelope(json_t *root, util_error *err)
{
    if (!json_is_object(root))
        return util_error_set(err, ADM_EDECODE,
                              "not an AdmissionReview: the body is not a "
                              "JSON object");
    const char *kind = util_json_str(root, "kind");
    const char *api = util_json_str(root, "apiVersion");
    if (kind == NULL || strcmp(kind, ADM_KIND) != 0)
        return util_error_set(err, ADM_EDECODE, "not an AdmissionReview: kind is '%s'",
                              kind ? kind : "(missing)");
    if (api == NULL || strcmp(api, ADM_API_VERSION) != 0)
        return util_error_set(err, ADM_EDECODE,
                              "unsupported AdmissionReview version '%s' (want " ADM_API_VERSION ")",
                              api ? api : "(missing)");
    if (!json_is_object(json_object_get(root, "request")))
        return util_error_set(err, ADM_EDECODE, "AdmissionReview has no request object");
    return 0;
}

static int review_fill(adm_request *r, util_error *err)
{
    json_t *q = r->request;
    r->uid = util_json_str(q, "uid");
    if (r->uid == NULL || r->uid[0] == '\0')
        return util_error_set(err, ADM_EDECODE, "request.uid is missing");
    r->operation = util_json_str(q, "operation");
    if (r->operation == NULL)
        return util_error_set(err, ADM_EDECODE, "request.operation is missing");
    if (!review_operation_is_known(r->operation))
        return util_error_set(err, ADM_EDECODE,
                              "request.operation '%s' is not CREATE, UPDATE, DELETE or CONNECT",
                              r->operation);
    json_t *kind = json_object_get(q, "kind");
    if (!json_is_object(kind))
        return util_error_set(err, ADM_EDECODE, "request.kind is missing");
    int rc;
    if ((rc = review_opt_str(&r->group, kind, "group", "request.kind", err)) < 0 ||
        (rc = review_opt_str(&r->version, kind, "version", "request.kind", err)) < 0 ||
        (rc = review_opt_str(&r->kind, kind, "kind", "request.kind", err)) < 0)
        return rc;
    if (r->kind[0] == '\0')
        return util_error_set(err, ADM_EDECODE, "request.kind.kind is missing");
    json_t *res = json_object_get(q, "resource");
    r->resource = "";
    if (json_is_object(res) &&
        (rc = review_opt_str(&r->resource, res, "resource", "request.resource", err)) < 0)
        return rc;
    if ((rc = review_opt_str(&r->sub_resource, q, "subResource", "request", err)) < 0 ||
        (rc = review_opt_str(&r->namespace_, q, "namespace", "request", err)) < 0 ||
        (rc = review_opt_str(&r->name, q, "name", "request", err)) < 0)
        return rc;
    if ((rc = review_opt_obj(&r->object, q, "object", err)) < 0 ||
        (rc = review_opt_obj(&r->old_object, q, "oldObject", err)) < 0 ||
        (rc = review_opt_obj(&r->user_info, q, "userInfo", err)) < 0)
        return rc;
    r->username = "";
    if (r->user_info &&
        (rc = review_opt_str(&r->username, r->user_info, "username", "request.userInfo", err)) < 0)
        return rc;
    json_t *dry = json_object_get(q, "dryRun");
    if (dry != NULL && !json_is_null(dry) && !json_is_boolean(dry))
        return util_error_set(err, ADM_EDECODE, "request.dryRun is not a boolean");
    r->dry_run = json_is_true(dry);
    return 0;
}

int adm_request_decode(adm_request *out, const char *body, size_t len, unsigned max_depth,
                       util_error *err)
{
    memset(out, 0, sizeof *out);
    json_t *root;
    int rc = util_json_decode(&root, body, len, max_depth, err);
    if (rc < 0) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        return util_error_set(err, ADM_EDECODE, "%s%s", why,
                              rc == UTIL_ELIMIT ? " (limits.depth)" : "");
    }
    if ((rc = review_check_envelope(root, err)) < 0)
        goto out_free_root;
    out->root = root;
    out->scoped = util_json_in_scope();
    out->request = json_object_get(root, "request");
    if ((rc = review_fill(out, err)) < 0)
        goto out_free_root;
    return 0;

out_free_root:
    json_decref(root);
    memset(out, 0, sizeof *out);
    return rc;
}

void adm_request_release(adm_request *req)
{
    if (req == NULL)
        return;
    if (!req->scoped)
        json_decref(req->root);
    memset(req, 0, sizeof *req);
}

/* ---- answers -------------------------------------------------------------------------- */

int adm_response_init(adm_response *res, const char *uid)
{
    memset(res, 0, sizeof *res);
    res->uid = uid;
    res->allowed = true;
    res->code = 403;
    util_buf_init(&res->message);
    util_buf_init(&res->patch);
    res->warnings = json_array();
    res->annotations = json_object();
    if (res->warnings == NULL || res->annotations == NULL) {
        adm_response_release(res);
        return UTIL_ENOMEM;
    }
    return 0;
}

void adm_response_release(adm_response *res)
{
    if (res == NULL)
        return;
    util_buf_release(&res->message);
    util_buf_release_secret(&res->patch); /* a /mutate patch carries unsealed values */
    json_decref(res->warnings);
    json_decref(res->annotations);
    memset(res, 0, sizeof *res);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* Append s to out as valid UTF-8 without control characters (invalid bytes become '?',
 * controls a space), at most max_runes characters (0: no limit), ending in "..." when cut. */
static int text_sanitize(util_buf *out, const char *s, size_t max_runes)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), runes = 0;
    for (size_t i = 0; i < n;) {
        if (max_runes && runes == max_runes - 3 && n - i > 3) {
            /* cut: only when more than three characters' worth of bytes remain */
            size_t rest = 0;
            for (size_t j = i; j < n && rest <= 3; j++)
                rest += (p[j] & 0xc0) != 0x80;
            if (rest > 3)
                return util_buf_puts(out, "...");
        }
        size_t len = utf8_seq_len(p + i, n - i);
        int rc;
        if (len == 0) {
            rc = util_buf_append(out, "?", 1);
            len = 1;
        } else if (len == 1 && (p[i] < 0x20 || p[i] == 0x7f)) {
            rc = util_buf_append(out, " ", 1);
        } else if (len == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0) {
            rc = util_buf_append(out, " ", 1); /* C1 controls */
        } else {
            rc = util_buf_append(out, p + i, len);
        }
        if (rc < 0)
            return rc;
        i += len;
        runes++;
    }
    return 0;
}

static size_t utf8_runes(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

int adm_response_deny(adm_response *res, const char *id, const char *msg)
{
    res->allowed = false;
    int rc = 0;
    if (res->message.len > 0)
        rc = util_buf_puts(&res->message, "; ");
    if (rc == 0 && id != NULL && id[0] != '\0')
        rc = util_buf_printf(&res->message, "%s: ", id);
    if (rc == 0)
        rc = util_buf_puts(&res->message, msg ? msg : "denied");
    return rc;
}

int adm_response_warn(adm_response *res, const char *text)
{
    json_t *s = json_string_nocheck(text);
    if (s == NULL || json_array_append_new(res->warnings, s) < 0)
        return UTIL_ENOMEM;
    return 0;
}

static bool annotation_key_is_valid(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > ADM_ANNOTATION_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = key[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        bool inner = c == '-' || c == '_' || c == '.';
        if (!alnum && !(inner && i > 0 && i < n - 1))
            return false;
    }
    return true;
}

int adm_response_annotate(adm_response *res, const char *key, const char *value)
{
    if (!annotation_key_is_valid(key))
        return UTIL_EINVALID;
    json_t *s = json_string_nocheck(value);
    if (s == NULL || json_object_set_new(res->annotations, key, s) < 0)
        return UTIL_ENOMEM;
    return 0;
}

/* A JSON string of s sanitised (max_runes as text_sanitize). New reference, or NULL. */
static json_t *json_clean_string(const char *s, size_t max_runes)
{
    util_buf b;
    util_buf_init(&b);
    json_t *v = NULL;
    if (text_sanitize(&b, s, max_runes) == 0)
        v = json_stringn(b.data ? b.data : "", b.len);
    util_buf_release(&b);
    return v;
}

static json_t *render_warnings(const json_t *warnings)
{
    size_t total = 0, i;
    json_t *w;
    json_array_foreach(warnings, i, w) total += utf8_runes(json_string_value(w));
    size_t cap = total > ADM_WARN_TOTAL ? ADM_WARN_EACH : 0;
    json_t *out = json_array();
    if (out == NULL)
        return NULL;
    json_array_foreach(warnings, i, w)
    {
        json_t *s = json_clean_string(json_string_value(w), cap);
        if (s == NULL || json_array_append_new(out, s) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static json_t *render_annotations(const json_t *annotations)
{
    json_t *out = json_object();
    const char *key;
    json_t *v;
    if (out == NULL)
        return NULL;
    json_object_foreach((json_t *)annotations, key, v)
    {
        json_t *s = json_clean_string(json_string_value(v), 0);
        if (s == NULL || json_object_set_new(out, key, s) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static json_t *render_status(const adm_response *res)
{
    json_t *msg = json_clean_string(res->message.len ? res->message.data : "denied", 0);
    if (msg == NULL)
        return NULL;
    return json_pack("{s:i, s:s, s:o, s:s}", "code", res->code >= 400 ? res->code : 403, "reason",
                     "Forbidden", "message", msg, "status", "Failure");
}

static int render_patch(json_t *response, const util_buf *patch)
{
    size_t cap = 4 * ((patch->len + 2) / 3) + 1;
    unsigned char *b64 = malloc(cap);
    if (b64 == NULL)
        return UTIL_ENOMEM;
    int n = EVP_EncodeBlock(b64, (const unsigned char *)patch->data, (int)patch->len);
    int rc = 0;
    if (json_object_set_new(response, "patchType", json_string("JSONPatch")) < 0 ||
        json_object_set_new(response, "patch", json_stringn((char *)b64, (size_t)n)) < 0)
        rc = UTIL_ENOMEM;
    free(b64);
    return rc;
}

int adm_response_render(util_buf *out, const adm_response *res, bool with_patch)
{
    json_t *uid = json_clean_string(res->uid ? res->uid : "", 0);
    json_t *response = json_pack("{s:o, s:b}", "uid", uid, "allowed", res->allowed);
    if (response == NULL)
        return UTIL_ENOMEM;
    int rc = UTIL_ENOMEM;
    if (!res->allowed && json_object_set_new(response, "status", render_status(res)) < 0)
        goto out_free;
    if (json_array_size(res->warnings) > 0 &&
        json_object_set_new(response, "warnings", render_warnings(res->warnings)) < 0)
        goto out_free;
    if (json_object_size(res->annotations) > 0 &&
        json_object_set_new(response, "auditAnnotations", render_annotations(res->annotations)) < 0)
        goto out_free;
    if (with_patch && res->allowed && res->patch.len > 0 && render_patch(response, &res->patch) < 0)
        goto out_free;
    json_t *root = json_pack("{s:s, s:s, s:O}", "apiVersion", ADM_API_VERSION, "kind", ADM_KIND,
                             "response", response);
    if (root == NULL)
        goto out_free;
    rc = util_json_dump(out, root, JSON_COMPACT);
    json_decref(root);

out_free:
    json_decref(response);
    return rc;
}
