/* fuzz_sealed_value.c: the sealed-value decoder (seal_value_unseal, _inspect, _is_sealed) on
 * arbitrary bytes, and a seal/unseal round trip of the same bytes as plaintext, which must
 * give them back; the streamed sealer and unsealer must agree with the one-shot ones. Input: one
 * byte choosing the place (scope bits), then the sealed string. The fuzz key's private bytes are
 * all 0x11 (fuzz/corpus/sealed_value/ is sealed to it). */
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

static int fuzz_sink(void *ctx, const void *data, size_t len)
{
    return util_buf_append(ctx, data, len);
}

/* Seal s[0..len) through the streamed sealer in pieces whose sizes come from the data. */
static int fuzz_stream_seal(util_buf *out, seal_scope scope, const uint8_t *s, size_t len,
                            const uint8_t esk[32], const uint8_t nonce[24])
{
    util_error err = {0};
    seal_sealer *sl = NULL;
    int rc = seal__sealer_new_with(&sl, &fuzz_pub, scope, "prod", "db", "password", fuzz_sink, out,
                                   esk, nonce, &err);
    for (size_t off = 0, i = 0; !rc && off < len; i++) {
        size_t n = 1 + (size_t)s[i % len] * 37;
        n = n < len - off ? n : len - off;
        rc = seal_sealer_update(sl, s + off, n, &err);
        off += n;
    }
    if (!rc)
        rc = seal_sealer_final(sl, &err);
    seal_sealer_free(sl);
    return rc;
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
    util_buf plain, streamed;
    util_buf_init(&plain);
    util_buf_init(&streamed);
    int rc = seal_value_unseal(&plain, fuzz_kr, ns, name, item, s, len, &err);
    if (rc != 0 && plain.len != 0)
        abort(); /* nothing may be appended on failure */
    /* The streamed unsealer agrees: the same verdict, the same bytes, nothing on failure. */
    int rc2 = seal_value_unseal_to(fuzz_kr, ns, name, item, s, len, fuzz_sink, &streamed, &err);
    if ((rc == 0) != (rc2 == 0) || streamed.len != plain.len ||
        (plain.len && memcmp(streamed.data, plain.data, plain.len) != 0))
        abort();
    util_buf_release_secret(&plain);
    util_buf_release_secret(&streamed);
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

    /* The streamed sealer writes exactly the one-shot bytes, in pieces of any size. */
    uint8_t esk[32], nonce[24];
    memset(esk, data[0], sizeof(esk));
    memset(nonce, 0x42, sizeof(nonce));
    util_buf one, streamed2;
    util_buf_init(&one);
    util_buf_init(&streamed2);
    int a = seal__value_seal_with(&one, &fuzz_pub, scope, "prod", "db", "password", s, len, esk,
                                  nonce, &err);
    int b = fuzz_stream_seal(&streamed2, scope, (const uint8_t *)s, len, esk, nonce);
    if (a != b ||
        (a == 0 && (one.len != streamed2.len || memcmp(one.data, streamed2.data, one.len) != 0)))
        abort();
    util_buf_release(&one);
    util_buf_release(&streamed2);
    return 0;
}
