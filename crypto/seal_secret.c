/* seal_secret.c: sealed Secrets: sealing, unsealing and re-sealing every item of a v1/Secret,
 * the sealed-digest annotation, and the JSONPatch the mutating webhook answers. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/seal.h"
#include "util/banned.h"

bool seal_secret_is_sealed(const json_t *secret)
{
    json_t *v = util_json_path(secret, "metadata.labels");
    const char *s = util_json_str(v, SEAL_LABEL);
    return s && strcmp(s, "true") == 0;
}

int seal_secret_seal(json_t **out, const json_t *secret, const seal_pubkey *pub, seal_scope scope,
                     const char *ns, util_error *err)
{
    *out = NULL;
    return util_error_set(err, UTIL_EFAIL, "sealing Secrets is not implemented yet");
}

int seal_secret_unseal(json_t **out, const json_t *sealed_secret, const seal_keyring *kr,
                       const char *ns, util_error *err)
{
    *out = NULL;
    return util_error_set(err, UTIL_EFAIL, "unsealing Secrets is not implemented yet");
}

int seal_secret_reseal(json_t **out, const json_t *sealed_secret, const seal_keyring *kr,
                       const seal_pubkey *pub, const char *ns, util_error *err)
{
    *out = NULL;
    return util_error_set(err, UTIL_EFAIL, "resealing Secrets is not implemented yet");
}

int seal_secret_digest(char *out, const json_t *secret, util_error *err)
{
    out[0] = '\0';
    return util_error_set(err, UTIL_EFAIL, "sealed digest is not implemented yet");
}

int seal_secret_mutate_patch(json_t **out_patch, const json_t *secret, const seal_keyring *kr,
                             util_error *err)
{
    *out_patch = NULL;
    if (!seal_secret_is_sealed(secret))
        return 0;
    return util_error_set(err, UTIL_EFAIL, "unsealing Secrets is not implemented yet");
}

void seal_json_free_secret(json_t *v)
{
    json_decref(v);
}
