/* adm_review.c: AdmissionReview v1 in and out. Decoding bounds the body before any parser
 * sees it; rendering enforces what the apiserver checks on an answer (research notes,
 * section 5), because an invalid answer counts as a call failure. */
#include <limits.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
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
        /* A run of printable ASCII goes in one append: messages are mostly that. */
        size_t run = 0, room = n;
        if (max_runes && runes < max_runes - 3)
            room = max_runes - 3 - runes; /* stop where the cut is decided */
        while (i + run < n && run < room && p[i + run] >= 0x20 && p[i + run] < 0x7f)
            run++;
        if (run > 0) {
            if (util_buf_append(out, p + i, run) < 0)
                return UTIL_ENOMEM;
            i += run;
            runes += run;
            continue;
        }
        size_t len = util_utf8_len(p + i, n - i);
        int rc;
        if (len == 0) {
            rc = util_buf_append(out, "?", 1);
            len = 1;
        } else if (len == 1 || (len == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)) {
            rc = util_buf_append(out, " ", 1); /* C0 and C1 controls, DEL */
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

/* ---- rendering ------------------------------------------------------------------------ */

/* The answer is written with cJSON, not jansson: jansson's dumper decodes UTF-8 and calls back
 * every few characters, which made writing a 500-byte answer 4 times slower (6% of the
 * webhook's CPU). The nodes come from the request's JSON scope when there is one. */

/* What writing one answer carries from string to string. */
typedef struct render_ctx {
    util_buf scratch;  /* the sanitised text of the string at hand */
    size_t text_bytes; /* of every sanitised string so far: the printed size is about that */
} render_ctx;

/* Put s sanitised (max_runes as text_sanitize) into obj under key, or append it to the array
 * obj when key is NULL. */
static int add_clean_string(cJSON *obj, const char *key, const char *s, size_t max_runes,
                            render_ctx *rx)
{
    rx->scratch.len = 0;
    if (rx->scratch.data)
        rx->scratch.data[0] = '\0'; /* s may add nothing */
    int rc = text_sanitize(&rx->scratch, s, max_runes);
    if (rc < 0)
        return rc;
    rx->text_bytes += rx->scratch.len;
    cJSON *v = cJSON_CreateString(rx->scratch.data ? rx->scratch.data : "");
    if (v == NULL)
        return UTIL_ENOMEM;
    if (!(key ? cJSON_AddItemToObject(obj, key, v) : cJSON_AddItemToArray(obj, v))) {
        cJSON_Delete(v);
        return UTIL_ENOMEM;
    }
    return 0;
}

static int render_warnings(cJSON *response, const json_t *warnings, render_ctx *rx)
{
    size_t total = 0, i;
    json_t *w;
    json_array_foreach(warnings, i, w) total += utf8_runes(json_string_value(w));
    size_t cap = total > ADM_WARN_TOTAL ? ADM_WARN_EACH : 0;
    cJSON *out = cJSON_AddArrayToObject(response, "warnings");
    if (out == NULL)
        return UTIL_ENOMEM;
    json_array_foreach(warnings, i, w)
    {
        int rc = add_clean_string(out, NULL, json_string_value(w), cap, rx);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int render_annotations(cJSON *response, const json_t *annotations, render_ctx *rx)
{
    const char *key;
    json_t *v;
    cJSON *out = cJSON_AddObjectToObject(response, "auditAnnotations");
    if (out == NULL)
        return UTIL_ENOMEM;
    json_object_foreach((json_t *)annotations, key, v)
    {
        int rc = add_clean_string(out, key, json_string_value(v), 0, rx);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int render_status(cJSON *response, const adm_response *res, render_ctx *rx)
{
    cJSON *status = cJSON_AddObjectToObject(response, "status");
    if (status == NULL ||
        !cJSON_AddNumberToObject(status, "code", res->code >= 400 ? res->code : 403) ||
        !cJSON_AddStringToObject(status, "reason", "Forbidden"))
        return UTIL_ENOMEM;
    int rc =
        add_clean_string(status, "message", res->message.len ? res->message.data : "denied", 0, rx);
    if (rc < 0)
        return rc;
    return cJSON_AddStringToObject(status, "status", "Failure") ? 0 : UTIL_ENOMEM;
}

/* b64 receives the patch's base64 text, which the answer references: the caller wipes it. */
static int render_patch(cJSON *response, const util_buf *patch, util_buf *b64)
{
    if (util_buf_reserve(b64, 4 * ((patch->len + 2) / 3) + 1) < 0)
        return UTIL_ENOMEM;
    int n = EVP_EncodeBlock((unsigned char *)b64->data, (const unsigned char *)patch->data,
                            (int)patch->len);
    b64->len = (size_t)n;
    cJSON *v = cJSON_CreateStringReference(b64->data);
    if (!cJSON_AddStringToObject(response, "patchType", "JSONPatch") || v == NULL ||
        !cJSON_AddItemToObject(response, "patch", v)) {
        cJSON_Delete(v);
        return UTIL_ENOMEM;
    }
    return 0;
}

/* Print root at the end of out, growing it until the text fits: cJSON's preallocated printer
 * writes straight into out, so a patch's plaintext is never copied elsewhere; a try that fell
 * short is wiped before out grows. */
static int print_into(util_buf *out, const cJSON *root, size_t estimate)
{
    for (size_t room = estimate < 1024 ? 1024 : estimate; room <= INT_MAX / 2; room *= 2) {
        if (util_buf_reserve(out, room) < 0)
            return UTIL_ENOMEM;
        char *at = out->data + out->len;
        if (cJSON_PrintPreallocated((cJSON *)root, at, (int)room, 0)) {
            out->len += strlen(at);
            return 0;
        }
        OPENSSL_cleanse(at, room);
    }
    return UTIL_ENOMEM;
}

int adm_response_render(util_buf *out, const adm_response *res, bool with_patch)
{
    render_ctx rx = {.text_bytes = 0};
    util_buf b64;
    util_buf_init(&rx.scratch);
    util_buf_init(&b64);
    int rc = UTIL_ENOMEM;
    cJSON *root = cJSON_CreateObject();
    cJSON *response = NULL;
    if (root == NULL || !cJSON_AddStringToObject(root, "apiVersion", ADM_API_VERSION) ||
        !cJSON_AddStringToObject(root, "kind", ADM_KIND) ||
        (response = cJSON_AddObjectToObject(root, "response")) == NULL)
        goto out;
    if ((rc = add_clean_string(response, "uid", res->uid ? res->uid : "", 0, &rx)) < 0)
        goto out;
    rc = UTIL_ENOMEM;
    if (!cJSON_AddBoolToObject(response, "allowed", res->allowed))
        goto out;
    if (!res->allowed && (rc = render_status(response, res, &rx)) < 0)
        goto out;
    if (json_array_size(res->warnings) > 0 &&
        (rc = render_warnings(response, res->warnings, &rx)) < 0)
        goto out;
    if (json_object_size(res->annotations) > 0 &&
        (rc = render_annotations(response, res->annotations, &rx)) < 0)
        goto out;
    if (with_patch && res->allowed && res->patch.len > 0 &&
        (rc = render_patch(response, &res->patch, &b64)) < 0)
        goto out;
    /* Escapes can double a string (base64 has none); 512 bytes cover names and punctuation. */
    rc = print_into(out, root, 2 * rx.text_bytes + b64.len + 512);

out:
    if (!util_json_in_scope()) /* in a scope, the nodes go with the arena */
        cJSON_Delete(root);
    util_buf_release(&rx.scratch);
    util_buf_release_secret(&b64);
    return rc;
}
