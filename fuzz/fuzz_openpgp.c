/* fuzz_openpgp.c: the OpenPGP packet parser: transferable public keys (packets, key material,
 * self-signatures, subkey bindings, revocations) and a v4 document signature verified with
 * them. Input: u16 length of the key packets, the key packets, the signature packets (binary;
 * armoured here). The seeds are real gpg keys and signatures over "payload\n". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/sig_priv.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 1 << 16)
        return 0;
    size_t klen = ((size_t)data[0] << 8) | data[1];
    if (klen > size - 2)
        klen = size - 2;
    const uint8_t *keys = data + 2, *sig = keys + klen;
    size_t slen = size - 2 - klen;
    util_error err;

    sig_trust *trust = calloc(1, sizeof(*trust));
    if (!trust)
        return 0;
    (void)sig_pgp__parse_keys(trust, keys, klen, &err);

    size_t b64 = sodium_base64_ENCODED_LEN(slen, sodium_base64_VARIANT_ORIGINAL);
    char *text = malloc(b64 + 80);
    size_t len = 0;
    memcpy(text, "-----BEGIN PGP SIGNATURE-----\n\n", 31);
    sodium_bin2base64(text + 31, b64, sig, slen, sodium_base64_VARIANT_ORIGINAL);
    len = 31 + strlen(text + 31);
    memcpy(text + len, "\n-----END PGP SIGNATURE-----\n", 29);
    len += 29;
    sig_when when = {1700000000, 0};
    sig_signer who;
    (void)sig_verify_buffer(&who, trust, "payload\n", 8, text, len, &when, "fuzz", &err);
    free(text);
    sig_trust_free(trust);
    return 0;
}
