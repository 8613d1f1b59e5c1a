/* fuzz_admission.c: an AdmissionReview body as the server receives it: depth pre-scan, JSON
 * decode and shape checks, then an answer built from the decoded request (a denial naming
 * fields of the request, a warning of request text, an annotation) rendered and re-parsed,
 * since an answer the apiserver cannot read is a failure too. Half the inputs go through a JSON
 * scope, as in the server, half through malloc, as in the CLI. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admission/adm.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    adm_request req;
    util_error err;
    util_json_scope scope;
    bool scoped = size % 2 == 0;
    if (scoped)
        util_json_scope_begin(&scope, size, 64u << 20);
    if (adm_request_decode(&req, (const char *)data, size, 100, &err) < 0)
        goto out_scope;
    adm_response res;
    if (adm_response_init(&res, req.uid) < 0)
        goto out_request;
    /* Request text flows into answers (names in messages, warnings): it must come out valid. */
    if (adm_response_deny(&res, "fuzz/rule", req.name) < 0 ||
        adm_response_warn(&res, req.namespace_) < 0 || adm_response_warn(&res, req.username) < 0 ||
        util_buf_puts(&res.patch, req.kind) < 0)
        goto out_response;
    (void)adm_response_annotate(&res, req.operation, req.sub_resource);
    util_buf out;
    util_buf_init(&out);
    if (adm_response_render(&out, &res, true) == 0) {
        json_error_t jerr;
        json_t *back = json_loadb(out.data, out.len, 0, &jerr);
        if (back == NULL)
            abort(); /* the server answered something that is not JSON */
        if (!json_is_false(util_json_path(back, "response.allowed")) ||
            util_json_str(json_object_get(back, "response"), "uid") == NULL)
            abort(); /* the denial or the uid was lost */
        json_decref(back);
    }
    util_buf_release(&out);
out_response:
    adm_response_release(&res);
out_request:
    adm_request_release(&req);
out_scope:
    if (scoped)
        util_json_scope_end(&scope);
    return 0;
}
