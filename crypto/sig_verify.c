/* sig_verify.c: verification entry points. */
#include "crypto/sig_priv.h"
#include "util/banned.h"

int sig_verify_buffer(sig_signer *out, const sig_trust *trust, const void *payload,
                      size_t payload_len, const char *signature, size_t sig_len,
                      const sig_when *when, const char *what, util_error *err)
{
    return util_error_set(err, SIG_EUNSUPPORTED, "signature verification is not supported yet");
}

int sig_verify_commit(sig_signer *out, const sig_trust *trust, git_repository *repo,
                      const git_oid *commit, int64_t first_seen, util_error *err)
{
    return util_error_set(err, SIG_EUNSUPPORTED, "signature verification is not supported yet");
}

int sig_verify_tag(sig_signer *out, const sig_trust *trust, git_repository *repo,
                   const git_oid *tag, const char *name, int64_t first_seen, util_error *err)
{
    return util_error_set(err, SIG_EUNSUPPORTED, "signature verification is not supported yet");
}

const char *sig_strerror(int code)
{
    switch (code) {
    case 0:
        return "ok";
    case SIG_EUNSIGNED:
        return "unsigned";
    case SIG_EUNTRUSTED:
        return "untrusted";
    case SIG_EBADSIG:
        return "bad-signature";
    case SIG_EEXPIRED:
        return "expired";
    case SIG_EREVOKED:
        return "revoked";
    case SIG_EWINDOW:
        return "outside-window";
    case SIG_ENAMESPACE:
        return "namespace";
    case SIG_EWEAKHASH:
        return "weak-hash";
    case SIG_EUNSUPPORTED:
        return "unsupported";
    case SIG_ETAGNAME:
        return "tag-name";
    default:
        return "error";
    }
}
