/* fuzz_allowed_signers.c: git's allowed-signers format (principals, options, key types, base64
 * key blobs) through the trust-file loader. */
#include <stdint.h>

#include "crypto/sig.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sig_trust *trust = NULL;
    util_error err;
    if (sig_trust_parse(&trust, "fuzz", (const char *)data, size, &err) == 0)
        sig_trust_free(trust);
    return 0;
}
