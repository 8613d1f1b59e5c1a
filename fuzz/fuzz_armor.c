/* fuzz_armor.c: ASCII armour (headers, base64, CRC24) of OpenPGP public key blocks and
 * signatures, and the key blocks behind it. */
#include <stdint.h>
#include <stdlib.h>

#include "crypto/sig_priv.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *bin = NULL;
    size_t n = 0, used = 0;
    util_error err;
    const char *text = (const char *)data;
    if (sig_pgp__dearmor(&bin, &n, text, size, "PGP SIGNATURE", &used, &err) == 0)
        free(bin);
    sig_trust *trust = NULL;
    if (sig_trust_parse(&trust, "fuzz", text, size, &err) == 0)
        sig_trust_free(trust);
    return 0;
}
