/* sig_trust.c: loading trust files (allowed signers, armoured OpenPGP keys). */
#include <stdlib.h>

#include "crypto/sig_priv.h"
#include "util/limits.h"
#include "util/banned.h"

int sig_trust_parse(sig_trust **out, const char *source, const char *text, size_t len,
                    util_error *err)
{
    *out = NULL;
    return util_error_set(err, SIG_EUNSUPPORTED, "trust files are not supported yet");
}

int sig_trust_load(sig_trust **out, const char *const *files, size_t n, util_error *err)
{
    *out = NULL;
    return util_error_set(err, SIG_EUNSUPPORTED, "trust files are not supported yet");
}

void sig_trust_free(sig_trust *trust)
{
    free(trust);
}

size_t sig_trust_count(const sig_trust *trust)
{
    return 0;
}
