/* seal_value.c: one sealed value, `sg1:` + base64url of header and XChaCha20-Poly1305
 * ciphertext, byte for byte as docs/sealing.md "Sealed value format" specifies. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "crypto/seal.h"
#include "util/limits.h"
#include "util/banned.h"

/* Offsets of the binary header (docs/sealing.md). */
enum {
    SEAL_OFF_SCOPE = 0,
    SEAL_OFF_KID = 1,
    SEAL_OFF_HINTS = 9, /* 2 bytes each: namespace, name, item */
    SEAL_OFF_EPK = 15,
    SEAL_OFF_NONCE = 47,
    SEAL_HDR_SIZE = 71,
    SEAL_TAG_SIZE = crypto_aead_xchacha20poly1305_ietf_ABYTES,
    SEAL_MIN_SIZE = SEAL_HDR_SIZE + SEAL_TAG_SIZE,
    SEAL_PREFIX_LEN = 4,
};

#define SEAL_VARIANT   sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define SEAL_HKDF_INFO "sealgate sg1 xchacha20poly1305"

bool seal_scope_parse(seal_scope *out, const char *s)
{
    if (strcmp(s, "strict") == 0)
        *out = SEAL_SCOPE_STRICT;
    else if (strcmp(s, "namespace") == 0 || strcmp(s, "namespace-wide") == 0)
        *out = SEAL_SCOPE_NAMESPACE;
    else if (strcmp(s, "cluster") == 0 || strcmp(s, "cluster-wide") == 0)
        *out = SEAL_SCOPE_CLUSTER;
    else
        return false;
    return true;
}

const char *seal_scope_name(seal_scope scope)
{
    switch (scope) {
    case SEAL_SCOPE_STRICT:
        return "strict";
    case SEAL_SCOPE_NAMESPACE:
        return "namespace";
    case SEAL_SCOPE_CLUSTER:
        return "cluster";
    default:
        return "unset";
    }
}

/* HKDF-SHA-256 (RFC 5869) for one 32-byte block, on libsodium's HMAC-SHA-256: libsodium
 * 1.0.18 has no HKDF of its own. */
static void seal_hkdf(uint8_t out[32], const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                      size_t ikm_len, const char *info)
{
    crypto_auth_hmacsha256_state st;
    uint8_t prk[crypto_auth_hmacsha256_BYTES];
    const uint8_t one = 1;
    crypto_auth_hmacsha256_init(&st, salt, salt_len);
    crypto_auth_hmacsha256_update(&st, ikm, ikm_len);
    crypto_auth_hmacsha256_final(&st, prk);
    crypto_auth_hmacsha256_init(&st, prk, sizeof(prk));
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)info, strlen(info));
    crypto_auth_hmacsha256_update(&st, &one, 1);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(prk, sizeof(prk));
    sodium_memzero(&st, sizeof(st));
}

/* The AEAD key for ephemeral public key epk and recipient pk from the X25519 shared secret;
 * -1 when the shared secret is all zero (a low-order point). */
static int seal_derive_key(uint8_t key[32], const uint8_t *scalar, const uint8_t *point,
                           const uint8_t epk[32], const uint8_t pk[32])
{
    uint8_t shared[crypto_scalarmult_BYTES], salt[64];
    if (crypto_scalarmult(shared, scalar, point) != 0)
        return -1;
    memcpy(salt, epk, 32);
    memcpy(salt + 32, pk, 32);
    seal_hkdf(key, salt, sizeof(salt), shared, sizeof(shared), SEAL_HKDF_INFO);
    sodium_memzero(shared, sizeof(shared));
    return 0;
}

/* A 2-byte hint of one bound field: SHA-256("sealgate-sg1-<what>" 0x00 value)[0..2]. Lets
 * an error say which of namespace, name and item differs, without storing them. */
static void seal_hint(uint8_t out[2], const char *what, const char *value)
{
    crypto_hash_sha256_state st;
    uint8_t h[crypto_hash_sha256_BYTES];
    const uint8_t zero = 0;
    char label[32];
    int n = snprintf(label, sizeof(label), "sealgate-sg1-%s", what);
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)label, (size_t)n);
    crypto_hash_sha256_update(&st, &zero, 1);
    crypto_hash_sha256_update(&st, (const uint8_t *)value, strlen(value));
    crypto_hash_sha256_final(&st, h);
    out[0] = h[0];
    out[1] = h[1];
}

/* The hints of the fields scope binds (zero for the others) into out[6]. */
static void seal_hints(uint8_t out[6], seal_scope scope, const char *ns, const char *name,
                       const char *item)
{
    memset(out, 0, 6);
    if (scope == SEAL_SCOPE_STRICT || scope == SEAL_SCOPE_NAMESPACE)
        seal_hint(out, "namespace", ns);
    if (scope == SEAL_SCOPE_STRICT) {
        seal_hint(out + 2, "name", name);
        seal_hint(out + 4, "item", item);
    }
}

static int seal_ad_field(util_buf *ad, const char *s)
{
    size_t n = strlen(s);
    uint8_t be[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    int rc = util_buf_append(ad, be, 4);
    return rc ? rc : util_buf_append(ad, s, n);
}

/* Associated data: "sg1:" || header (71 bytes) || u32be-length-prefixed bound fields. */
static int seal_build_ad(util_buf *ad, const uint8_t *hdr, seal_scope scope, const char *ns,
                         const char *name, const char *item)
{
    int rc = util_buf_append(ad, SEAL_PREFIX, SEAL_PREFIX_LEN);
    if (!rc)
        rc = util_buf_append(ad, hdr, SEAL_HDR_SIZE);
    if (!rc && (scope == SEAL_SCOPE_STRICT || scope == SEAL_SCOPE_NAMESPACE))
        rc = seal_ad_field(ad, ns);
    if (!rc && scope == SEAL_SCOPE_STRICT)
        rc = seal_ad_field(ad, name);
    if (!rc && scope == SEAL_SCOPE_STRICT)
        rc = seal_ad_field(ad, item);
    return rc;
}

/* The fields scope binds must be given (and non-empty for namespace and name). */
static int seal_check_place(seal_scope scope, const char *ns, const char *name, const char *item,
                            util_error *err)
{
    if (scope != SEAL_SCOPE_STRICT && scope != SEAL_SCOPE_NAMESPACE && scope != SEAL_SCOPE_CLUSTER)
        return util_error_set(err, UTIL_EINVALID, "no scope given");
    if (scope != SEAL_SCOPE_CLUSTER && (!ns || !*ns))
        return util_error_set(err, UTIL_EINVALID, "scope %s needs a namespace",
                              seal_scope_name(scope));
    if (scope == SEAL_SCOPE_STRICT && (!name || !*name))
        return util_error_set(err, UTIL_EINVALID, "scope strict needs a name");
    if (scope == SEAL_SCOPE_STRICT && !item)
        return util_error_set(err, UTIL_EINVALID, "scope strict needs an item key");
    return 0;
}

size_t seal_value_max_plain(void)
{
    return (LIMIT_SEALED_VALUE - SEAL_PREFIX_LEN) / 4 * 3 - SEAL_MIN_SIZE;
}

/* base64url without padding on OpenSSL's table-driven EVP_EncodeBlock / EVP_DecodeBlock. A
 * sealed string is ciphertext, so libsodium's constant-time codec (several times slower, the
 * bottleneck on 1 MiB values) buys nothing here; base64 of plaintext (Secret data) stays on
 * libsodium's. The alphabet swap goes through a 256-byte table built on the stack (no
 * globals; 64 stores, nothing beside a 1 MiB value): one load per byte, no branches. */
static const char seal_b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char seal_b64std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* map[from[i]] = to[i] for the 64 letters, 0 for every other byte. */
static void seal_b64_map(char map[256], const char *from, const char *to)
{
    memset(map, 0, 256);
    for (int i = 0; i < 64; i++)
        map[(unsigned char)from[i]] = to[i];
}

/* dst has room for 4 * ceil(n / 3) + 1 bytes; returns the length written. */
static size_t seal_b64url_encode(char *dst, const uint8_t *src, size_t n)
{
    char map[256];
    seal_b64_map(map, seal_b64std_alphabet, seal_b64url_alphabet);
    size_t len = (size_t)EVP_EncodeBlock((unsigned char *)dst, src, (int)n);
    while (len && dst[len - 1] == '=')
        len--;
    for (size_t i = 0; i < len; i++)
        dst[i] = map[(unsigned char)dst[i]];
    dst[len] = '\0';
    return len;
}

/* Translate src[0..n) to the standard alphabet in tmp (n + 3 bytes); the position of the
 * first byte outside base64url, or n when all are in it. */
static size_t seal_b64url_to_std(char *tmp, const char *src, size_t n)
{
    char map[256];
    unsigned bad = 0;
    seal_b64_map(map, seal_b64url_alphabet, seal_b64std_alphabet);
    for (size_t i = 0; i < n; i++) {
        char m = map[(unsigned char)src[i]];
        tmp[i] = m;
        bad |= m == 0;
    }
    if (!bad)
        return n;
    size_t i = 0;
    while (tmp[i])
        i++;
    return i;
}

/* Decode tmp[0..n) (standard alphabet, from seal_b64url_to_std) into dst (room for
 * n / 4 * 3 + 3 bytes). Refuses lengths no encoder makes and non-zero trailing bits, so each
 * value has exactly one spelling. */
static int seal_b64std_decode(uint8_t *dst, size_t *dst_len, char *tmp, size_t n)
{
    size_t rem = n % 4, pad = rem ? 4 - rem : 0;
    if (rem == 1 || n == 0)
        return -1;
    int last = (int)(strchr(seal_b64std_alphabet, tmp[n - 1]) - seal_b64std_alphabet);
    if ((rem == 2 && (last & 0x0f)) || (rem == 3 && (last & 0x03)))
        return -1;
    memset(tmp + n, '=', pad);
    int w = EVP_DecodeBlock(dst, (const unsigned char *)tmp, (int)(n + pad));
    if (w < 0 || (size_t)w < pad)
        return -1;
    *dst_len = (size_t)w - pad;
    return 0;
}

/* What sealing writes before the AEAD runs: the header (hdr, SEAL_HDR_SIZE bytes), the AEAD
 * key and the associated data (appended to ad, which the caller initialised and releases).
 * The caller wipes key. Shared by the one-shot and the streaming sealer. */
static int seal_prepare(uint8_t *hdr, uint8_t key[32], util_buf *ad, const seal_pubkey *pub,
                        seal_scope scope, const char *ns, const char *name, const char *item,
                        const uint8_t esk[32], const uint8_t nonce[24], util_error *err)
{
    hdr[SEAL_OFF_SCOPE] = (uint8_t)scope;
    memcpy(hdr + SEAL_OFF_KID, pub->kid, SEAL_KEY_ID_SIZE);
    seal_hints(hdr + SEAL_OFF_HINTS, scope, ns, name, item);
    crypto_scalarmult_base(hdr + SEAL_OFF_EPK, esk);
    memcpy(hdr + SEAL_OFF_NONCE, nonce, 24);
    if (seal_derive_key(key, esk, pub->pk, hdr + SEAL_OFF_EPK, pub->pk) != 0)
        return util_error_set(err, SEAL_EKEYFILE, "public key is a low-order point: unusable");
    if (seal_build_ad(ad, hdr, scope, ns, name, item))
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    return 0;
}

int seal__value_seal_with(util_buf *out, const seal_pubkey *pub, seal_scope scope, const char *ns,
                          const char *name, const char *item, const void *plain, size_t len,
                          const uint8_t esk[32], const uint8_t nonce[24], util_error *err)
{
    int rc = seal__sodium_init(err);
    if (rc || (rc = seal_check_place(scope, ns, name, item, err)))
        return rc;
    if (len > seal_value_max_plain())
        return util_error_set(err, UTIL_ELIMIT,
                              "value of %zu bytes is over the sealed-value limit (%zu bytes, "
                              "limits.h LIMIT_SEALED_VALUE)",
                              len, seal_value_max_plain());
    size_t bin_len = SEAL_HDR_SIZE + len + SEAL_TAG_SIZE;
    uint8_t *bin = malloc(bin_len);
    if (!bin)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    util_buf ad;
    util_buf_init(&ad);
    uint8_t key[32];
    if ((rc = seal_prepare(bin, key, &ad, pub, scope, ns, name, item, esk, nonce, err)))
        goto out;
    crypto_aead_xchacha20poly1305_ietf_encrypt(bin + SEAL_HDR_SIZE, NULL, plain, len,
                                               (const uint8_t *)ad.data, ad.len, NULL,
                                               bin + SEAL_OFF_NONCE, key);
    if ((rc = util_buf_reserve(out, SEAL_PREFIX_LEN + (bin_len + 2) / 3 * 4 + 1)))
        goto out_nomem;
    memcpy(out->data + out->len, SEAL_PREFIX, SEAL_PREFIX_LEN);
    out->len += SEAL_PREFIX_LEN;
    out->len += seal_b64url_encode(out->data + out->len, bin, bin_len);
    goto out;
out_nomem:
    rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
out:
    sodium_memzero(key, sizeof(key));
    util_buf_release(&ad);
    free(bin);
    return rc;
}

/* A fresh ephemeral secret key and nonce for one value; the caller wipes esk. */
static int seal_fresh(uint8_t esk[32], uint8_t nonce[24], util_error *err)
{
    int rc = seal__sodium_init(err);
    if (!rc) {
        randombytes_buf(esk, 32);
        randombytes_buf(nonce, 24);
    }
    return rc;
}

int seal_value_seal(util_buf *out, const seal_pubkey *pub, seal_scope scope, const char *ns,
                    const char *name, const char *item, const void *plain, size_t len,
                    util_error *err)
{
    uint8_t esk[32], nonce[24];
    int rc = seal_fresh(esk, nonce, err);
    if (!rc)
        rc = seal__value_seal_with(out, pub, scope, ns, name, item, plain, len, esk, nonce, err);
    sodium_memzero(esk, sizeof(esk));
    return rc;
}

/* Check the `sgN:` prefix and decode the base64url body into *bin (malloc'd, caller frees).
 * Errors: SEAL_ENOTSEALED, SEAL_EVERSION, SEAL_ETRUNCATED. */
static int seal_decode(uint8_t **bin, size_t *bin_len, const char *s, size_t len, util_error *err)
{
    *bin = NULL;
    if (len < 4 || s[0] != 's' || s[1] != 'g' || s[2] < '0' || s[2] > '9' || s[3] != ':')
        return util_error_set(err, SEAL_ENOTSEALED,
                              "not a sealed value (no '" SEAL_PREFIX "' prefix)");
    if (s[2] != '1')
        return util_error_set(err, SEAL_EVERSION,
                              "sealed value of format version %c; this build reads version 1",
                              s[2]);
    const char *b = s + SEAL_PREFIX_LEN;
    size_t blen = len - SEAL_PREFIX_LEN;
    if (len > LIMIT_SEALED_VALUE)
        return util_error_set(err, UTIL_ELIMIT,
                              "sealed value of %zu bytes is over the limit (%u bytes, "
                              "LIMIT_SEALED_VALUE)",
                              len, LIMIT_SEALED_VALUE);
    uint8_t *out = malloc(blen / 4 * 3 + 3);
    char *tmp = malloc(blen + 3);
    if (!out || !tmp) {
        free(out);
        free(tmp);
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    }
    size_t badpos = seal_b64url_to_std(tmp, b, blen);
    int rc = 0;
    if (badpos < blen)
        rc = util_error_set(err, SEAL_ENOTSEALED, "not a sealed value (byte %zu is not base64url)",
                            badpos + (size_t)SEAL_PREFIX_LEN);
    else if (blen < sodium_base64_ENCODED_LEN(SEAL_MIN_SIZE, SEAL_VARIANT) - 1)
        rc = util_error_set(
            err, SEAL_ETRUNCATED, "sealed value is truncated (%zu characters, at least %zu)", len,
            (size_t)SEAL_PREFIX_LEN + sodium_base64_ENCODED_LEN(SEAL_MIN_SIZE, SEAL_VARIANT) - 1);
    else if (seal_b64std_decode(out, bin_len, tmp, blen) != 0)
        /* A length no encoder produces, or non-zero trailing bits: cut or altered. */
        rc = util_error_set(err, SEAL_ETAMPERED,
                            "sealed value is damaged (its base64url does "
                            "not decode: cut or altered)");
    free(tmp);
    if (rc) {
        free(out);
        return rc;
    }
    *bin = out;
    return 0;
}

int seal_value_inspect(seal_value_info *out, const char *sealed, size_t len, util_error *err)
{
    uint8_t *bin;
    size_t bin_len;
    int rc = seal__sodium_init(err);
    if (rc || (rc = seal_decode(&bin, &bin_len, sealed, len, err)))
        return rc;
    uint8_t tag = bin[SEAL_OFF_SCOPE];
    if (tag < SEAL_SCOPE_STRICT || tag > SEAL_SCOPE_CLUSTER) {
        free(bin);
        return util_error_set(err, SEAL_ETAMPERED, "sealed value has an unknown scope tag %u", tag);
    }
    out->scope = (seal_scope)tag;
    memcpy(out->kid, bin + SEAL_OFF_KID, SEAL_KEY_ID_SIZE);
    out->plain_len = bin_len - SEAL_MIN_SIZE;
    free(bin);
    return 0;
}

/* Name the first bound field whose hint differs from the target's, or NULL. */
static const char *seal_hint_mismatch(const uint8_t *hdr, seal_scope scope, const char *ns,
                                      const char *name, const char *item)
{
    static const char *const what[3] = {"namespace", "name", "item"};
    uint8_t want[6];
    seal_hints(want, scope, ns, name, item);
    for (int i = 0; i < 3; i++)
        if (memcmp(hdr + SEAL_OFF_HINTS + 2 * i, want + 2 * i, 2) != 0)
            return what[i];
    return NULL;
}

/* What unsealing needs before the AEAD runs, from the header hdr: the scope tag checked, the
 * private key its key id names, the place checked against the scope and hints, the AEAD key
 * (the caller wipes it, also on failure) and the associated data (appended to ad). */
static int seal_open_prepare(uint8_t key[32], util_buf *ad, const uint8_t *hdr,
                             const seal_keyring *kr, const char *ns, const char *name,
                             const char *item, util_error *err)
{
    seal_scope scope = (seal_scope)hdr[SEAL_OFF_SCOPE];
    if (scope < SEAL_SCOPE_STRICT || scope > SEAL_SCOPE_CLUSTER)
        return util_error_set(err, SEAL_ETAMPERED, "sealed value has an unknown scope tag %u",
                              (unsigned)scope);
    const uint8_t *pk = NULL;
    const uint8_t *sk = seal__keyring_find(kr, hdr + SEAL_OFF_KID, &pk);
    if (!sk) {
        char hex[SEAL_KEY_ID_HEX_SIZE];
        return util_error_set(err, SEAL_EUNKNOWNKEY,
                              "sealed to key id %s, which none of the %zu loaded keys has",
                              seal_key_id_hex(hex, hdr + SEAL_OFF_KID), seal_keyring_count(kr));
    }
    if (seal_check_place(scope, ns, name, item, err)) {
        util_error_prefix(err, "sealed for scope %s", seal_scope_name(scope));
        return err ? (err->code = SEAL_ESCOPE) : SEAL_ESCOPE;
    }
    const char *differs = seal_hint_mismatch(hdr, scope, ns, name, item);
    if (differs)
        return util_error_set(err, SEAL_ESCOPE, "sealed for scope %s and another %s",
                              seal_scope_name(scope), differs);
    if (seal_derive_key(key, sk, hdr + SEAL_OFF_EPK, hdr + SEAL_OFF_EPK, pk) != 0)
        return util_error_set(err, SEAL_ETAMPERED,
                              "sealed value does not authenticate "
                              "(its ephemeral key is a low-order point)");
    if (seal_build_ad(ad, hdr, scope, ns, name, item))
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    return 0;
}

int seal_value_unseal(util_buf *out, const seal_keyring *kr, const char *ns, const char *name,
                      const char *item, const char *sealed, size_t len, util_error *err)
{
    uint8_t *bin = NULL, key[32];
    size_t bin_len;
    util_buf ad;
    util_buf_init(&ad);
    int rc = seal__sodium_init(err);
    if (rc || (rc = seal_decode(&bin, &bin_len, sealed, len, err)))
        return rc;
    if ((rc = seal_open_prepare(key, &ad, bin, kr, ns, name, item, err)))
        goto out;
    seal_scope scope = (seal_scope)bin[SEAL_OFF_SCOPE];
    if (util_buf_reserve(out, bin_len - SEAL_MIN_SIZE + 1)) {
        rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
        goto out;
    }
    unsigned long long plain_len = 0;
    uint8_t *dst = (uint8_t *)out->data + out->len;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            dst, &plain_len, NULL, bin + SEAL_HDR_SIZE, bin_len - SEAL_HDR_SIZE,
            (const uint8_t *)ad.data, ad.len, bin + SEAL_OFF_NONCE, key) != 0) {
        sodium_memzero(dst, bin_len - SEAL_MIN_SIZE);
        rc = util_error_set(err, SEAL_ETAMPERED,
                            "sealed value does not authenticate (altered, or moved to a place "
                            "its scope %s does not allow)",
                            seal_scope_name(scope));
        goto out;
    }
    out->len += (size_t)plain_len;
    out->data[out->len] = '\0';
out:
    sodium_memzero(key, sizeof(key));
    util_buf_release(&ad);
    free(bin);
    return rc;
}

static bool seal_is_b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* The direct form: prefix, alphabet, and long enough to hold a header and a tag. */
static bool seal_is_sealed_direct(const char *s, size_t len)
{
    size_t min = SEAL_PREFIX_LEN + sodium_base64_ENCODED_LEN(SEAL_MIN_SIZE, SEAL_VARIANT) - 1;
    if (len < min || memcmp(s, SEAL_PREFIX, SEAL_PREFIX_LEN) != 0)
        return false;
    for (size_t i = SEAL_PREFIX_LEN; i < len; i++)
        if (!seal_is_b64url(s[i]))
            return false;
    return true;
}

bool seal_value_is_sealed(const char *s, size_t len)
{
    if (seal_is_sealed_direct(s, len))
        return true;
    /* Standard base64 of a sealed value (stringData folded into data): decode it 4 chars at
     * a time so no allocation is needed, checking the decoded bytes as they come. */
    if (len < 8 || len % 4 != 0 || memcmp(s, "c2cxO", 5) != 0 || sodium_init() < 0)
        return false;
    size_t decoded = 0,
           min = SEAL_PREFIX_LEN + sodium_base64_ENCODED_LEN(SEAL_MIN_SIZE, SEAL_VARIANT) - 1;
    for (size_t i = 0; i < len; i += 4) {
        uint8_t three[3];
        size_t n = 0;
        if (sodium_base642bin(three, sizeof(three), s + i, 4, NULL, &n, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0)
            return false;
        if (n < 3 && i + 4 != len)
            return false;
        for (size_t j = 0; j < n; j++, decoded++) {
            char c = (char)three[j];
            bool ok = decoded < SEAL_PREFIX_LEN ? c == SEAL_PREFIX[decoded] : seal_is_b64url(c);
            if (!ok)
                return false;
        }
    }
    return decoded >= min;
}

/* ---- streaming ----------------------------------------------------------------------- */

/* A value of up to LIMIT_SEALED_VALUE in pieces of SEAL_STREAM_CHUNK bytes: the CLI's large
 * values go through these without a whole-value buffer (no page faults on fresh memory, no
 * copies). The bytes are those of the one-shot functions above, which the tests compare.
 *
 * libsodium's crypto_aead_xchacha20poly1305_ietf has no incremental form, so it is taken
 * apart here into the libsodium primitives it is made of (aead_xchacha20poly1305.c, RFC 8439
 * section 2.8): subkey = HChaCha20(key, nonce[0..16]); ChaCha20-IETF under the subkey with
 * nonce 0^4 || nonce[16..24]; block 0 keys Poly1305 and the text starts at block 1; the tag is
 * Poly1305 over AD || pad16 || C || pad16 || le64(|AD|) || le64(|C|). */
enum {
    /* Small enough that the working set of a piece stays in L1/L2 and the guarded blocks
     * (wiped whole when freed) cost a few pages, large enough to amortise the calls. */
    SEAL_STREAM_CHUNK = 12 * 1024,                 /* bytes per piece: 192 ChaCha20 blocks */
    SEAL_STREAM_CHARS = SEAL_STREAM_CHUNK / 3 * 4, /* base64url characters of one piece */
};

typedef struct seal_aead {
    uint8_t subkey[32];
    uint8_t nonce12[12];
    crypto_onetimeauth_poly1305_state mac;
    uint64_t xored; /* text bytes through seal_aead_xor: the key stream position */
    uint64_t maced; /* ciphertext bytes through the MAC */
    uint64_t ad_len;
} seal_aead;

static const uint8_t seal_zero16[16];

static void seal_aead_init(seal_aead *a, const uint8_t key[32], const uint8_t nonce[24],
                           const uint8_t *ad, size_t ad_len)
{
    uint8_t block0[64];
    crypto_core_hchacha20(a->subkey, nonce, key, NULL);
    memset(a->nonce12, 0, 4);
    memcpy(a->nonce12 + 4, nonce + 16, 8);
    crypto_stream_chacha20_ietf(block0, sizeof(block0), a->nonce12, a->subkey);
    crypto_onetimeauth_poly1305_init(&a->mac, block0);
    sodium_memzero(block0, sizeof(block0));
    crypto_onetimeauth_poly1305_update(&a->mac, ad, ad_len);
    crypto_onetimeauth_poly1305_update(&a->mac, seal_zero16, (0x10 - ad_len) & 0xf);
    a->xored = a->maced = 0;
    a->ad_len = ad_len;
}

/* XOR n bytes with the key stream where the last call stopped (encrypts and decrypts). A
 * piece may end inside a 64-byte block: the next one starts with the rest of that block. */
static void seal_aead_xor(seal_aead *a, uint8_t *out, const uint8_t *in, size_t n)
{
    size_t skip = (size_t)(a->xored % 64);
    if (skip && n) {
        uint8_t ks[64] = {0};
        size_t m = 64 - skip < n ? 64 - skip : n;
        crypto_stream_chacha20_ietf_xor_ic(ks, ks, sizeof(ks), a->nonce12,
                                           (uint32_t)(1 + a->xored / 64), a->subkey);
        for (size_t i = 0; i < m; i++)
            out[i] = in[i] ^ ks[skip + i];
        sodium_memzero(ks, sizeof(ks));
        out += m;
        in += m;
        n -= m;
        a->xored += m;
    }
    if (n) {
        crypto_stream_chacha20_ietf_xor_ic(out, in, n, a->nonce12, (uint32_t)(1 + a->xored / 64),
                                           a->subkey);
        a->xored += n;
    }
}

static void seal_aead_mac(seal_aead *a, const uint8_t *ct, size_t n)
{
    crypto_onetimeauth_poly1305_update(&a->mac, ct, n);
    a->maced += n;
}

static void seal_aead_tag(seal_aead *a, uint8_t tag[SEAL_TAG_SIZE])
{
    uint8_t lens[16];
    crypto_onetimeauth_poly1305_update(&a->mac, seal_zero16, (0x10 - a->maced) & 0xf);
    for (int i = 0; i < 8; i++) {
        lens[i] = (uint8_t)(a->ad_len >> (8 * i));
        lens[8 + i] = (uint8_t)(a->maced >> (8 * i));
    }
    crypto_onetimeauth_poly1305_update(&a->mac, lens, sizeof(lens));
    crypto_onetimeauth_poly1305_final(&a->mac, tag);
}

/* base64url of a byte stream, written to a sink in pieces: whole 3-byte groups are encoded
 * as they come, at most 2 bytes wait for the next call. */
typedef struct seal_b64w {
    seal_sink sink;
    void *ctx;
    uint8_t carry[3];
    size_t ncarry;
    char text[SEAL_STREAM_CHARS + 8];
    size_t ntext;
} seal_b64w;

static int seal_b64w_flush(seal_b64w *w)
{
    int rc = w->ntext ? w->sink(w->ctx, w->text, w->ntext) : 0;
    w->ntext = 0;
    return rc;
}

/* Room for n more characters (and encode's NUL), flushing when there is not. */
static int seal_b64w_room(seal_b64w *w, size_t n)
{
    return w->ntext + n + 1 > sizeof(w->text) ? seal_b64w_flush(w) : 0;
}

static int seal_b64w_put(seal_b64w *w, const uint8_t *p, size_t n)
{
    while (n) {
        if (w->ncarry || n < 3) {
            size_t take = 3 - w->ncarry < n ? 3 - w->ncarry : n;
            memcpy(w->carry + w->ncarry, p, take);
            w->ncarry += take;
            p += take;
            n -= take;
            if (w->ncarry == 3) {
                if (seal_b64w_room(w, 4))
                    return -1;
                w->ntext += seal_b64url_encode(w->text + w->ntext, w->carry, 3);
                w->ncarry = 0;
            }
            continue;
        }
        if (seal_b64w_room(w, 4))
            return -1;
        size_t groups = (sizeof(w->text) - w->ntext - 1) / 4, m = n / 3;
        m = (m < groups ? m : groups) * 3;
        w->ntext += seal_b64url_encode(w->text + w->ntext, p, m);
        p += m;
        n -= m;
    }
    return 0;
}

/* The last 1 or 2 bytes (unpadded) and everything still buffered. */
static int seal_b64w_finish(seal_b64w *w)
{
    if (w->ncarry) {
        if (seal_b64w_room(w, 4))
            return -1;
        w->ntext += seal_b64url_encode(w->text + w->ntext, w->carry, w->ncarry);
        w->ncarry = 0;
    }
    return seal_b64w_flush(w);
}

struct seal_sealer {
    seal_aead aead;
    seal_b64w out;
    uint8_t ct[SEAL_STREAM_CHUNK]; /* ciphertext of the current piece */
    size_t total;                  /* plaintext bytes so far */
};

static int seal_sink_failed(util_error *err)
{
    return util_error_set(err, UTIL_EIO, "cannot write the sealed value");
}

int seal__sealer_new_with(seal_sealer **out, const seal_pubkey *pub, seal_scope scope,
                          const char *ns, const char *name, const char *item, seal_sink sink,
                          void *ctx, const uint8_t esk[32], const uint8_t nonce[24],
                          util_error *err)
{
    *out = NULL;
    int rc = seal__sodium_init(err);
    if (rc || (rc = seal_check_place(scope, ns, name, item, err)))
        return rc;
    /* Guarded, locked memory: it holds the AEAD key state. */
    seal_sealer *s = sodium_malloc(sizeof(*s));
    if (!s)
        return util_error_set(err, UTIL_ENOMEM, "out of memory (guarded memory)");
    uint8_t hdr[SEAL_HDR_SIZE], key[32];
    util_buf ad;
    util_buf_init(&ad);
    s->out.sink = sink;
    s->out.ctx = ctx;
    s->out.ncarry = s->out.ntext = 0;
    s->total = 0;
    if (!(rc = seal_prepare(hdr, key, &ad, pub, scope, ns, name, item, esk, nonce, err))) {
        seal_aead_init(&s->aead, key, hdr + SEAL_OFF_NONCE, (const uint8_t *)ad.data, ad.len);
        /* The prefix and header wait in the text buffer: a small value reaches the sink in
         * one piece, at seal_sealer_final. */
        memcpy(s->out.text, SEAL_PREFIX, SEAL_PREFIX_LEN);
        s->out.ntext = SEAL_PREFIX_LEN;
        if (seal_b64w_put(&s->out, hdr, sizeof(hdr)))
            rc = seal_sink_failed(err);
    }
    sodium_memzero(key, sizeof(key));
    util_buf_release(&ad);
    if (rc) {
        sodium_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int seal_sealer_new(seal_sealer **out, const seal_pubkey *pub, seal_scope scope, const char *ns,
                    const char *name, const char *item, seal_sink sink, void *ctx, util_error *err)
{
    uint8_t esk[32], nonce[24];
    int rc = seal_fresh(esk, nonce, err);
    *out = NULL;
    if (!rc)
        rc = seal__sealer_new_with(out, pub, scope, ns, name, item, sink, ctx, esk, nonce, err);
    sodium_memzero(esk, sizeof(esk));
    return rc;
}

int seal_sealer_update(seal_sealer *s, const void *plain, size_t len, util_error *err)
{
    const uint8_t *p = plain;
    if (len > seal_value_max_plain() - s->total)
        return util_error_set(err, UTIL_ELIMIT,
                              "value of at least %zu bytes is over the sealed-value limit "
                              "(%zu bytes, limits.h LIMIT_SEALED_VALUE)",
                              s->total + len, seal_value_max_plain());
    s->total += len;
    while (len) {
        size_t n = len < sizeof(s->ct) ? len : sizeof(s->ct);
        seal_aead_xor(&s->aead, s->ct, p, n);
        seal_aead_mac(&s->aead, s->ct, n);
        if (seal_b64w_put(&s->out, s->ct, n))
            return seal_sink_failed(err);
        p += n;
        len -= n;
    }
    return 0;
}

int seal_sealer_final(seal_sealer *s, util_error *err)
{
    uint8_t tag[SEAL_TAG_SIZE];
    seal_aead_tag(&s->aead, tag);
    if (seal_b64w_put(&s->out, tag, sizeof(tag)) || seal_b64w_finish(&s->out))
        return seal_sink_failed(err);
    return 0;
}

void seal_sealer_free(seal_sealer *s)
{
    sodium_free(s); /* wipes the key state; NULL ok */
}

/* Unsealing in two passes over the sealed text, so that no plaintext leaves before the tag
 * is checked: the first decodes and authenticates, the second decodes again and decrypts
 * piece by piece into locked memory, handing each piece to the sink. */
typedef struct seal_opener {
    seal_aead aead;
    char std[SEAL_STREAM_CHARS + 4];      /* a piece of the text, in the standard alphabet */
    uint8_t bin[SEAL_STREAM_CHUNK + 4];   /* that piece decoded */
    uint8_t plain[SEAL_STREAM_CHUNK + 4]; /* and decrypted */
} seal_opener;

/* Decode the piece of the body b[0..blen) that starts at character off (a multiple of
 * SEAL_STREAM_CHARS) into o->bin; *n its bytes. Errors as seal_decode's. */
static int seal_open_piece(seal_opener *o, size_t *n, const char *b, size_t blen, size_t off,
                           util_error *err)
{
    size_t m = blen - off < SEAL_STREAM_CHARS ? blen - off : SEAL_STREAM_CHARS;
    size_t bad = seal_b64url_to_std(o->std, b + off, m);
    if (bad < m)
        return util_error_set(err, SEAL_ENOTSEALED,
                              "not a sealed value (byte %zu is not base64url)",
                              off + bad + (size_t)SEAL_PREFIX_LEN);
    if (seal_b64std_decode(o->bin, n, o->std, m) != 0)
        return util_error_set(err, SEAL_ETAMPERED,
                              "sealed value is damaged (its base64url does not decode: cut or "
                              "altered)");
    return 0;
}

/* The part of the body's bytes [at, at + n) that is ciphertext, as an offset into the piece
 * and a length; ct_len is the ciphertext's length. */
static size_t seal_ct_part(size_t *start, size_t at, size_t n, size_t ct_len)
{
    size_t lo = at > SEAL_HDR_SIZE ? at : SEAL_HDR_SIZE, hi = at + n;
    if (hi > SEAL_HDR_SIZE + ct_len)
        hi = SEAL_HDR_SIZE + ct_len;
    *start = lo - at;
    return hi > lo ? hi - lo : 0;
}

int seal_value_unseal_to(const seal_keyring *kr, const char *ns, const char *name, const char *item,
                         const char *sealed, size_t len, seal_sink sink, void *ctx, util_error *err)
{
    int rc = seal__sodium_init(err);
    if (rc)
        return rc;
    /* The prefix, version, limit and length checks of the one-shot decoder, on a short
     * value (they need no decoding, and a short value is where they fail). */
    size_t min = SEAL_PREFIX_LEN + sodium_base64_ENCODED_LEN(SEAL_MIN_SIZE, SEAL_VARIANT) - 1;
    if (len < min || len > LIMIT_SEALED_VALUE || memcmp(sealed, SEAL_PREFIX, SEAL_PREFIX_LEN)) {
        uint8_t *bin = NULL;
        size_t bin_len;
        rc = seal_decode(&bin, &bin_len, sealed, len, err);
        free(bin);
        return rc ? rc : util_error_set(err, SEAL_ENOTSEALED, "not a sealed value");
    }
    const char *b = sealed + SEAL_PREFIX_LEN;
    size_t blen = len - SEAL_PREFIX_LEN;
    size_t bin_len = blen / 4 * 3 + (blen % 4 == 3 ? 2 : blen % 4 == 2 ? 1 : 0);
    size_t ct_len = bin_len - SEAL_MIN_SIZE;
    seal_opener *o = sodium_malloc(sizeof(*o));
    if (!o)
        return util_error_set(err, UTIL_ENOMEM, "out of memory (guarded memory)");
    uint8_t hdr[SEAL_HDR_SIZE], tag[SEAL_TAG_SIZE], key[32];
    util_buf ad;
    util_buf_init(&ad);
    bool keyed = false;
    /* Pass 1: decode every piece, take the header and tag out, MAC the ciphertext. */
    for (size_t off = 0, at = 0; off < blen && !rc; off += SEAL_STREAM_CHARS) {
        size_t n, start;
        if ((rc = seal_open_piece(o, &n, b, blen, off, err)))
            break;
        if (at < SEAL_HDR_SIZE)
            memcpy(hdr + at, o->bin, n < SEAL_HDR_SIZE - at ? n : SEAL_HDR_SIZE - at);
        if (!keyed && at + n >= SEAL_HDR_SIZE) {
            if ((rc = seal_open_prepare(key, &ad, hdr, kr, ns, name, item, err)))
                break;
            seal_aead_init(&o->aead, key, hdr + SEAL_OFF_NONCE, (const uint8_t *)ad.data, ad.len);
            keyed = true;
        }
        size_t m = seal_ct_part(&start, at, n, ct_len);
        if (m)
            seal_aead_mac(&o->aead, o->bin + start, m);
        size_t tag_at = SEAL_HDR_SIZE + ct_len; /* the body's last 16 bytes */
        for (size_t i = at > tag_at ? at : tag_at; i < at + n && i - tag_at < SEAL_TAG_SIZE; i++)
            tag[i - tag_at] = o->bin[i - at];
        at += n;
    }
    if (!rc) {
        uint8_t want[SEAL_TAG_SIZE];
        seal_aead_tag(&o->aead, want);
        if (crypto_verify_16(want, tag) != 0)
            rc = util_error_set(err, SEAL_ETAMPERED,
                                "sealed value does not authenticate (altered, or moved to a place "
                                "its scope %s does not allow)",
                                seal_scope_name((seal_scope)hdr[SEAL_OFF_SCOPE]));
    }
    /* Pass 2: authenticated; decode again and decrypt into locked memory. */
    if (!rc) {
        seal_aead_init(&o->aead, key, hdr + SEAL_OFF_NONCE, (const uint8_t *)ad.data, ad.len);
        for (size_t off = 0, at = 0; off < blen && !rc; off += SEAL_STREAM_CHARS) {
            size_t n, start, m;
            if ((rc = seal_open_piece(o, &n, b, blen, off, err)))
                break;
            m = seal_ct_part(&start, at, n, ct_len);
            seal_aead_xor(&o->aead, o->plain, o->bin + start, m);
            if (m && sink(ctx, o->plain, m) != 0)
                rc = util_error_set(err, UTIL_EIO, "cannot write the unsealed value");
            at += n;
        }
    }
    sodium_memzero(key, sizeof(key));
    util_buf_release(&ad);
    sodium_free(o); /* wipes the last plaintext piece and the key state */
    return rc;
}
