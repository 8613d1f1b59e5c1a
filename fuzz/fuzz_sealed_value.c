/* fuzz_sealed_value.c: the sealed-value decoder (seal_value_unseal, _inspect, _is_sealed) on
 * arbitrary bytes, and a seal/unseal round trip of the same bytes as plaintext, which must
 * give them back. Input: one byte choosing the place (scope bits), then the sealed string.
 * The fuzz key's private bytes are all 0x11 (fuzz/corpus/sealed_value/ is sealed to it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/seal.h"
#include "util/banned.h"

static seal_keyring *fuzz_kr; /* made once: sodium_malloc + mprotect per input is slow */
static seal_pubkey fuzz_pub;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    uint8_t sk[32];
    util_error err = {0};
    memset(sk, 0x11, sizeof(sk));
    if (seal__keyring_from_raw(&fuzz_kr, sk, 0, &err) ||
        seal_keyring_newest(&fuzz_pub, fuzz_kr, &err))
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const nss[] = {"prod", "staging", NULL, ""};
    const char *ns = nss[data[0] & 3], *name = data[0] & 4 ? "db" : "other",
               *item = data[0] & 8 ? "password" : NULL;
    const char *s = (const char *)data + 1;
    size_t len = size - 1;
    util_error err = {0};
    util_buf plain;
    util_buf_init(&plain);
    int rc = seal_value_unseal(&plain, fuzz_kr, ns, name, item, s, len, &err);
    if (rc != 0 && plain.len != 0)
        abort(); /* nothing may be appended on failure */
    util_buf_release_secret(&plain);
    seal_value_info info;
    (void)seal_value_inspect(&info, s, len, &err);
    (void)seal_value_is_sealed(s, len);

    /* Round trip of the input as a plaintext, in the scope the first byte picks. */
    seal_scope scope = (seal_scope)(1 + (data[0] >> 4) % 3);
    util_buf sealed;
    util_buf_init(&sealed);
    util_buf_init(&plain);
    if (seal_value_seal(&sealed, &fuzz_pub, scope, "prod", "db", "password", s, len, &err) == 0) {
        if (!seal_value_is_sealed(sealed.data, sealed.len))
            abort();
        if (seal_value_unseal(&plain, fuzz_kr, "prod", "db", "password", sealed.data, sealed.len,
                              &err) != 0 ||
            plain.len != len || (len && memcmp(plain.data, s, len) != 0))
            abort();
    }
    util_buf_release_secret(&plain);
    util_buf_release(&sealed);
    return 0;
}
