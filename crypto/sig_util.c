/* sig_util.c: the small pieces the SSH and OpenPGP verifiers share: a bounds-checked byte
 * reader, public keys in OpenSSL / libsodium form with one verify call, and time windows. */
#include <limits.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "crypto/sig_priv.h"
#include "util/banned.h"

/* ---- reader ------------------------------------------------------------------------------- */

static bool rd_need(sig_rd *r, size_t n)
{
    if (r->bad || r->len < n) {
        r->bad = true;
        r->len = 0;
        return false;
    }
    return true;
}

unsigned sig_rd__u8(sig_rd *r)
{
    if (!rd_need(r, 1))
        return 0;
    unsigned v = r->p[0];
    r->p++;
    r->len--;
    return v;
}

unsigned sig_rd__u16(sig_rd *r)
{
    if (!rd_need(r, 2))
        return 0;
    unsigned v = ((unsigned)r->p[0] << 8) | r->p[1];
    r->p += 2;
    r->len -= 2;
    return v;
}

uint32_t sig_rd__u32(sig_rd *r)
{
    if (!rd_need(r, 4))
        return 0;
    uint32_t v =
        ((uint32_t)r->p[0] << 24) | ((uint32_t)r->p[1] << 16) | ((uint32_t)r->p[2] << 8) | r->p[3];
    r->p += 4;
    r->len -= 4;
    return v;
}

sig_rd sig_rd__take(sig_rd *r, size_t n)
{
    if (!rd_need(r, n))
        return (sig_rd){NULL, 0, true};
    sig_rd sub = {r->p, n, false};
    r->p += n;
    r->len -= n;
    return sub;
}

sig_rd sig_rd__sshstr(sig_rd *r)
{
    uint32_t n = sig_rd__u32(r);
    if (r->bad)
        return (sig_rd){NULL, 0, true};
    return sig_rd__take(r, n);
}

bool sig_rd__eq(sig_rd s, const char *lit)
{
    size_t n = strlen(lit);
    return !s.bad && s.len == n && memcmp(s.p, lit, n) == 0;
}

/* ---- public keys -------------------------------------------------------------------------- */

void sig_pubkey__release(sig_pubkey *k)
{
    EVP_PKEY_free(k->pkey);
    memset(k, 0, sizeof(*k));
}

/* Integers arrive with leading zero octets (SSH mpints) or none (OpenPGP MPIs). */
static void strip_zeros(const unsigned char **p, size_t *n)
{
    while (*n > 0 && (*p)[0] == 0) {
        (*p)++;
        (*n)--;
    }
}

int sig_pubkey__rsa(sig_pubkey *k, const unsigned char *n, size_t nlen, const unsigned char *e,
                    size_t elen)
{
    int rc = -1;
    BIGNUM *bn = NULL, *be = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;

    memset(k, 0, sizeof(*k));
    strip_zeros(&n, &nlen);
    strip_zeros(&e, &elen);
    /* 2048 bits is the floor every current guideline sets; 16384 bounds the work a hostile
     * key can cause; a public exponent above 64 bits is a denial-of-service, not a key. */
    if (nlen < 256 || nlen > 2048 || elen == 0 || elen > 8 || !(e[elen - 1] & 1))
        return -1;
    bn = BN_bin2bn(n, (int)nlen, NULL);
    be = BN_bin2bn(e, (int)elen, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (!bn || !be || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &k->pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        goto out;
    k->alg = SIG_ALG_RSA;
    k->rsa_bits = (unsigned)BN_num_bits(bn);
    rc = 0;
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    return rc;
}

int sig_pubkey__ec(sig_pubkey *k, unsigned bits, const unsigned char *q, size_t qlen)
{
    const char *group = bits == 256   ? "P-256"
                        : bits == 384 ? "P-384"
                        : bits == 521 ? "P-521"
                                      : NULL;
    size_t coord = (bits + 7) / 8;
    EVP_PKEY_CTX *ctx = NULL;
    int rc = -1;

    memset(k, 0, sizeof(*k));
    if (!group || qlen != 1 + 2 * coord || q[0] != 0x04)
        return -1;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)q, qlen),
        OSSL_PARAM_construct_end(),
    };
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx && EVP_PKEY_fromdata_init(ctx) > 0 &&
        EVP_PKEY_fromdata(ctx, &k->pkey, EVP_PKEY_PUBLIC_KEY, params) > 0) {
        k->alg = SIG_ALG_ECDSA;
        k->curve_bits = bits;
        rc = 0;
    }
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

static int verify_digest(const sig_pubkey *k, const EVP_MD *md, const unsigned char *dig,
                         size_t dlen, const unsigned char *sig, size_t sig_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k->pkey, NULL);
    int ok = ctx && EVP_PKEY_verify_init(ctx) > 0;
    if (ok && k->alg == SIG_ALG_RSA)
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
             EVP_PKEY_CTX_set_signature_md(ctx, md) > 0;
    ok = ok && EVP_PKEY_verify(ctx, sig, sig_len, dig, dlen) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok ? 0 : -1;
}

static int verify_rsa(const sig_pubkey *k, const EVP_MD *md, const unsigned char *dig, size_t dlen,
                      const unsigned char *s, size_t slen)
{
    unsigned char padded[2048];
    size_t mod = ((size_t)k->rsa_bits + 7) / 8;
    strip_zeros(&s, &slen);
    if (slen > mod || mod > sizeof(padded))
        return -1;
    /* OpenSSL wants the signature as long as the modulus; OpenPGP MPIs drop leading zeros. */
    memset(padded, 0, mod - slen);
    memcpy(padded + (mod - slen), s, slen);
    return verify_digest(k, md, dig, dlen, padded, mod);
}

static int verify_ecdsa(const sig_pubkey *k, const unsigned char *dig, size_t dlen,
                        const unsigned char *r, size_t rlen, const unsigned char *s, size_t slen)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *br = BN_bin2bn(r, (int)rlen, NULL), *bs = BN_bin2bn(s, (int)slen, NULL);
    unsigned char *der = NULL;
    int rc = -1, der_len;

    if (!es || !br || !bs || rlen > 80 || slen > 80 || !ECDSA_SIG_set0(es, br, bs)) {
        BN_free(br);
        BN_free(bs);
        ECDSA_SIG_free(es);
        return -1;
    }
    der_len = i2d_ECDSA_SIG(es, &der);
    if (der_len > 0)
        rc = verify_digest(k, NULL, dig, dlen, der, (size_t)der_len);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    return rc;
}

int sig_pubkey__verify(const sig_pubkey *k, const EVP_MD *md, bool prehashed,
                       const unsigned char *data, size_t len, const unsigned char *sig,
                       size_t sig_len, const unsigned char *r, size_t rlen, const unsigned char *s,
                       size_t slen)
{
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;

    if (k->alg == SIG_ALG_ED25519) {
        if (sig_len != crypto_sign_BYTES)
            return -1;
        return crypto_sign_verify_detached(sig, data, len, k->ed) == 0 ? 0 : -1;
    }
    if (!md)
        return -1;
    if (prehashed) {
        if (len != (size_t)EVP_MD_get_size(md))
            return -1;
        memcpy(dig, data, len);
        dlen = (unsigned)len;
    } else if (!EVP_Digest(data, len, dig, &dlen, md, NULL)) {
        return -1;
    }
    if (k->alg == SIG_ALG_RSA)
        return verify_rsa(k, md, dig, dlen, sig, sig_len);
    if (k->alg == SIG_ALG_ECDSA)
        return verify_ecdsa(k, dig, dlen, r, rlen, s, slen);
    return -1;
}

/* ---- time windows ------------------------------------------------------------------------- */

int64_t sig_when__outside(const sig_when *when, int64_t extra, int64_t from, int64_t until)
{
    int64_t times[3] = {when ? when->signed_at : 0, when ? when->first_seen : 0, extra};
    for (size_t i = 0; i < 3; i++) {
        if (times[i] == 0)
            continue;
        if (times[i] < from || (until != 0 && times[i] > until))
            return times[i];
    }
    return 0;
}

void sig_fmt_time(char out[32], int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t == INT64_MIN || t == INT64_MAX || !gmtime_r(&tt, &tm) ||
        !strftime(out, 32, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(out, 32, "%lld", (long long)t);
}

void sig_pgp__hex(char *out, const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}
