/* sig_pgp.c: OpenPGP by hand (RFC 4880, RFC 9580 v4 subset): ASCII armour with CRC24, old and
 * new packet framing, v4 public keys (RSA, ECDSA P-256/384/521, EdDSA legacy Ed25519, Ed25519),
 * user ids, subkeys with binding and back signatures, expiry and revocation, and v4 document
 * signatures. The arithmetic is OpenSSL's and libsodium's; see docs/signatures.md. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "crypto/sig_priv.h"
#include "util/banned.h"

enum {
    PKT_SIGNATURE = 2,
    PKT_SECRET_KEY = 5,
    PKT_PUBLIC_KEY = 6,
    PKT_SECRET_SUBKEY = 7,
    PKT_TRUST = 12,
    PKT_USER_ID = 13,
    PKT_PUBLIC_SUBKEY = 14,
    PKT_USER_ATTRIBUTE = 17,
};

enum {
    PK_RSA = 1,
    PK_RSA_SIGN = 3,
    PK_ECDSA = 19,
    PK_EDDSA_LEGACY = 22,
    PK_ED25519 = 27,
};

enum {
    SIGT_BINARY = 0x00,
    SIGT_TEXT = 0x01,
    SIGT_CERT_FIRST = 0x10,
    SIGT_CERT_LAST = 0x13,
    SIGT_SUBKEY_BINDING = 0x18,
    SIGT_PRIMARY_BINDING = 0x19,
    SIGT_DIRECT_KEY = 0x1F,
    SIGT_KEY_REVOCATION = 0x20,
    SIGT_SUBKEY_REVOCATION = 0x28,
};

/* ---- armour ------------------------------------------------------------------------------- */

uint32_t sig_pgp__crc24(const unsigned char *p, size_t len)
{
    uint32_t crc = 0xB704CEu;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint32_t)p[i] << 16;
        for (int j = 0; j < 8; j++) {
            crc <<= 1;
            if (crc & 0x1000000u)
                crc ^= 0x1864CFBu;
        }
    }
    return crc & 0xFFFFFFu;
}

typedef struct text_line {
    const char *p;
    size_t n;
} text_line;

/* The next line (without "\r\n"); false at the end. */
static bool next_line(const char **cur, const char *end, text_line *l)
{
    if (*cur >= end)
        return false;
    const char *nl = memchr(*cur, '\n', (size_t)(end - *cur));
    l->p = *cur;
    l->n = nl ? (size_t)(nl - *cur) : (size_t)(end - *cur);
    *cur = nl ? nl + 1 : end;
    while (l->n > 0 && (l->p[l->n - 1] == '\r' || l->p[l->n - 1] == ' ' || l->p[l->n - 1] == '\t'))
        l->n--;
    return true;
}

static bool line_is(const text_line *l, const char *a, const char *kind, const char *b)
{
    size_t na = strlen(a), nk = strlen(kind), nb = strlen(b);
    return l->n == na + nk + nb && memcmp(l->p, a, na) == 0 && memcmp(l->p + na, kind, nk) == 0 &&
           memcmp(l->p + na + nk, b, nb) == 0;
}

int sig_pgp__dearmor(unsigned char **out, size_t *out_len, const char *text, size_t len,
                     const char *kind, size_t *used, util_error *err)
{
    const char *cur = text, *end = text + len, *b64 = NULL, *b64_end = NULL;
    const char *crc_text = NULL;
    text_line l;
    bool begun = false, in_headers = false, ended = false;

    *out = NULL;
    *out_len = 0;
    while (!ended && next_line(&cur, end, &l)) {
        if (!begun) {
            begun = line_is(&l, "-----BEGIN ", kind, "-----");
            in_headers = begun;
            continue;
        }
        if (line_is(&l, "-----END ", kind, "-----")) {
            ended = true;
            if (!b64_end)
                b64_end = l.p;
            break;
        }
        if (in_headers) {
            /* "Key: Value" lines until a blank line; no blank line at all is tolerated. */
            if (l.n == 0) {
                in_headers = false;
                continue;
            }
            const char *colon = memchr(l.p, ':', l.n);
            if (colon && colon + 1 < l.p + l.n && colon[1] == ' ')
                continue;
            in_headers = false;
        }
        if (l.n == 5 && l.p[0] == '=') {
            crc_text = l.p + 1;
            b64_end = l.p;
            continue;
        }
        if (crc_text)
            return util_error_set(err, UTIL_ESYNTAX, "armour: data after the checksum line");
        if (!b64)
            b64 = l.p;
    }
    if (!begun)
        return util_error_set(err, UTIL_ESYNTAX, "no '-----BEGIN %s-----' line", kind);
    if (!ended)
        return util_error_set(err, UTIL_ESYNTAX, "armour: missing '-----END %s-----'", kind);
    if (!b64 || b64 >= b64_end)
        return util_error_set(err, UTIL_ESYNTAX, "armour: no data");
    size_t n = (size_t)(b64_end - b64);
    *out = malloc(n + 1);
    if (!*out)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    if (sodium_base642bin(*out, n + 1, b64, n, " \t\r\n", out_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        free(*out);
        *out = NULL;
        return util_error_set(err, UTIL_ESYNTAX, "armour: invalid base64");
    }
    if (crc_text) {
        /* RFC 9580 makes the checksum optional; a present one that does not match is a
         * corrupted copy, which is better reported than parsed. */
        unsigned char crc[3];
        size_t crc_len = 0;
        if (sodium_base642bin(crc, sizeof(crc), crc_text, 4, NULL, &crc_len, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0 ||
            crc_len != 3 ||
            (((uint32_t)crc[0] << 16) | ((uint32_t)crc[1] << 8) | crc[2]) !=
                sig_pgp__crc24(*out, *out_len)) {
            free(*out);
            *out = NULL;
            return util_error_set(err, UTIL_ESYNTAX, "armour: CRC24 checksum mismatch");
        }
    }
    if (used)
        *used = (size_t)(cur - text);
    return 0;
}

/* ---- packets ------------------------------------------------------------------------------ */

int sig_pgp__packets(const unsigned char *p, size_t len, sig_pgp_packet_fn fn, void *ctx,
                     util_error *err)
{
    sig_rd r = sig_rd_make(p, len);
    while (r.len > 0) {
        size_t at = len - r.len;
        unsigned h = sig_rd__u8(&r), tag;
        size_t body_len;
        if (!(h & 0x80))
            return util_error_set(err, UTIL_ESYNTAX, "packet at offset %zu: bad header octet", at);
        if (h & 0x40) {
            tag = h & 0x3F;
            unsigned o1 = sig_rd__u8(&r);
            if (o1 < 192) {
                body_len = o1;
            } else if (o1 < 224) {
                body_len = ((size_t)(o1 - 192) << 8) + sig_rd__u8(&r) + 192;
            } else if (o1 == 255) {
                body_len = sig_rd__u32(&r);
            } else {
                return util_error_set(err, UTIL_ESYNTAX,
                                      "packet at offset %zu: partial body length in a key or "
                                      "signature",
                                      at);
            }
        } else {
            tag = (h >> 2) & 0x0F;
            switch (h & 3) {
            case 0:
                body_len = sig_rd__u8(&r);
                break;
            case 1:
                body_len = sig_rd__u16(&r);
                break;
            case 2:
                body_len = sig_rd__u32(&r);
                break;
            default:
                return util_error_set(err, UTIL_ESYNTAX,
                                      "packet at offset %zu: indeterminate length", at);
            }
        }
        sig_rd body = sig_rd__take(&r, body_len);
        if (r.bad || body.bad)
            return util_error_set(err, UTIL_ESYNTAX, "packet at offset %zu: truncated", at);
        int rc = fn(ctx, tag, body.p, body.len, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- signature packets -------------------------------------------------------------------- */

typedef struct pgp_sig {
    unsigned type, pk_algo, hash_algo;
    const unsigned char *hashed_part; /* the octets the trailer covers: version..hashed area */
    size_t hashed_part_len;
    unsigned char left16[2];
    sig_rd m1, m2; /* RSA: m1 = s; ECDSA, EdDSA legacy: r, s; Ed25519: m1 = 64 raw octets */
    int64_t created;
    uint32_t sig_expires; /* seconds after created, 0: never */
    uint32_t key_expires; /* seconds after the key's creation, 0: never */
    bool has_key_flags;
    unsigned key_flags;
    bool has_issuer_fpr, has_issuer_id;
    unsigned char issuer_fpr[20], issuer_id[8];
    int reason; /* reason for revocation, or -1 */
    bool primary_uid;
    sig_rd embedded; /* an embedded signature packet body, or empty */
    bool unknown_critical;
} pgp_sig;

static bool subpacket_known(unsigned t)
{
    switch (t) {
    case 2:
    case 3:
    case 4:
    case 7:
    case 9:
    case 11:
    case 16:
    case 21:
    case 22:
    case 23:
    case 24:
    case 25:
    case 26:
    case 27:
    case 28:
    case 29:
    case 30:
    case 32:
    case 33:
    case 34:
    case 39:
        return true;
    default:
        return false;
    }
}

static int parse_subpackets(pgp_sig *s, sig_rd area, bool hashed)
{
    while (area.len > 0) {
        unsigned o1 = sig_rd__u8(&area);
        size_t n;
        if (o1 < 192)
            n = o1;
        else if (o1 < 255)
            n = ((size_t)(o1 - 192) << 8) + sig_rd__u8(&area) + 192;
        else
            n = sig_rd__u32(&area);
        sig_rd sp = sig_rd__take(&area, n);
        if (area.bad || sp.bad || n == 0)
            return -1;
        unsigned t = sig_rd__u8(&sp);
        bool critical = t & 0x80;
        t &= 0x7F;
        if (t == 16 && sp.len == 8) {
            memcpy(s->issuer_id, sp.p, 8);
            s->has_issuer_id = true;
        } else if (t == 33 && sp.len == 21 && sp.p[0] == 4) {
            memcpy(s->issuer_fpr, sp.p + 1, 20);
            s->has_issuer_fpr = true;
        } else if (t == 32) {
            s->embedded = sp;
        } else if (!hashed) {
            /* Unhashed subpackets are not covered by the signature: only hints are read. */
        } else if (t == 2 && sp.len == 4) {
            s->created = sig_rd__u32(&sp);
        } else if (t == 3 && sp.len == 4) {
            s->sig_expires = sig_rd__u32(&sp);
        } else if (t == 9 && sp.len == 4) {
            s->key_expires = sig_rd__u32(&sp);
        } else if (t == 27 && sp.len >= 1) {
            s->has_key_flags = true;
            s->key_flags = sp.p[0];
        } else if (t == 29 && sp.len >= 1) {
            s->reason = sp.p[0];
        } else if (t == 25 && sp.len >= 1) {
            s->primary_uid = sp.p[0] != 0;
        } else if (critical && !subpacket_known(t)) {
            s->unknown_critical = true;
        }
    }
    return 0;
}

static sig_rd read_mpi(sig_rd *r)
{
    unsigned bits = sig_rd__u16(r);
    return sig_rd__take(r, (bits + 7) / 8);
}

/* Parse a v4 signature packet body. SIG_EUNSUPPORTED for other versions. */
static int parse_sig(pgp_sig *s, const unsigned char *body, size_t len, util_error *err)
{
    sig_rd r = sig_rd_make(body, len);
    memset(s, 0, sizeof(*s));
    s->reason = -1;
    unsigned version = sig_rd__u8(&r);
    if (version != 4)
        return util_error_set(err, SIG_EUNSUPPORTED,
                              "OpenPGP v%u signature (only v4 is "
                              "supported)",
                              version);
    s->type = sig_rd__u8(&r);
    s->pk_algo = sig_rd__u8(&r);
    s->hash_algo = sig_rd__u8(&r);
    unsigned hlen = sig_rd__u16(&r);
    sig_rd hashed = sig_rd__take(&r, hlen);
    s->hashed_part = body;
    s->hashed_part_len = 6 + (size_t)hlen;
    unsigned ulen = sig_rd__u16(&r);
    sig_rd unhashed = sig_rd__take(&r, ulen);
    sig_rd left = sig_rd__take(&r, 2);
    if (r.bad)
        return util_error_set(err, SIG_EBADSIG, "truncated OpenPGP signature");
    memcpy(s->left16, left.p, 2);
    if (parse_subpackets(s, hashed, true) != 0 || parse_subpackets(s, unhashed, false) != 0)
        return util_error_set(err, SIG_EBADSIG, "malformed OpenPGP signature subpackets");
    switch (s->pk_algo) {
    case PK_RSA:
    case PK_RSA_SIGN:
        s->m1 = read_mpi(&r);
        break;
    case PK_ECDSA:
    case PK_EDDSA_LEGACY:
        s->m1 = read_mpi(&r);
        s->m2 = read_mpi(&r);
        break;
    case PK_ED25519:
        s->m1 = sig_rd__take(&r, 64);
        break;
    default:
        return util_error_set(err, SIG_EUNSUPPORTED,
                              "OpenPGP public-key algorithm %u is not supported", s->pk_algo);
    }
    if (r.bad || r.len != 0)
        return util_error_set(err, SIG_EBADSIG, "malformed OpenPGP signature values");
    return 0;
}

/* The digest for an OpenPGP hash id; NULL for unknown ones. *weak for MD5, SHA-1, RIPEMD. */
static const EVP_MD *hash_md(unsigned id, bool *weak)
{
    *weak = false;
    switch (id) {
    case 1:
    case 2:
    case 3:
        *weak = true;
        return NULL;
    case 8:
        return EVP_sha256();
    case 9:
        return EVP_sha384();
    case 10:
        return EVP_sha512();
    case 11:
        return EVP_sha224();
    case 12:
        return EVP_sha3_256();
    case 14:
        return EVP_sha3_512();
    default:
        return NULL;
    }
}

static const char *hash_name(unsigned id)
{
    switch (id) {
    case 1:
        return "MD5";
    case 2:
        return "SHA-1";
    case 3:
        return "RIPEMD-160";
    default:
        return "an unknown hash";
    }
}

/* ---- keys --------------------------------------------------------------------------------- */

static const unsigned char OID_ED25519[] = {0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01};
static const unsigned char OID_P256[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
static const unsigned char OID_P384[] = {0x2B, 0x81, 0x04, 0x00, 0x22};
static const unsigned char OID_P521[] = {0x2B, 0x81, 0x04, 0x00, 0x23};

static bool oid_is(sig_rd oid, const unsigned char *want, size_t n)
{
    return !oid.bad && oid.len == n && memcmp(oid.p, want, n) == 0;
}

static void key_release(sig_pgp_key *k)
{
    sig_pubkey__release(&k->key);
    free(k->body);
    memset(k, 0, sizeof(*k));
}

/* Parse a v4 public key packet body into k (its body copied for binding hashes). Keys of
 * algorithms that cannot sign (ECDH, ElGamal) or that sealgate does not verify (DSA) parse
 * with k->key.alg == 0. */
static int parse_key(sig_pgp_key *k, const unsigned char *body, size_t len, util_error *err)
{
    sig_rd r = sig_rd_make(body, len);
    memset(k, 0, sizeof(*k));
    unsigned version = sig_rd__u8(&r);
    if (version != 4)
        return util_error_set(err, SIG_EUNSUPPORTED, "OpenPGP v%u key (only v4 is supported)",
                              version);
    if (len > 0xFFFF)
        return util_error_set(err, UTIL_ESYNTAX, "OpenPGP key packet too large");
    k->created = sig_rd__u32(&r);
    k->algo = (int)sig_rd__u8(&r);
    switch (k->algo) {
    case PK_RSA:
    case PK_RSA_SIGN: {
        sig_rd n = read_mpi(&r), e = read_mpi(&r);
        if (r.bad)
            return util_error_set(err, UTIL_ESYNTAX, "malformed OpenPGP RSA key");
        if (sig_pubkey__rsa(&k->key, n.p, n.len, e.p, e.len) != 0)
            return util_error_set(err, SIG_EUNSUPPORTED,
                                  "unusable OpenPGP RSA key (under 2048 bits or invalid)");
        break;
    }
    case PK_ECDSA: {
        unsigned oid_len = sig_rd__u8(&r);
        sig_rd oid = sig_rd__take(&r, oid_len), q = read_mpi(&r);
        unsigned bits = oid_is(oid, OID_P256, sizeof(OID_P256))   ? 256
                        : oid_is(oid, OID_P384, sizeof(OID_P384)) ? 384
                        : oid_is(oid, OID_P521, sizeof(OID_P521)) ? 521
                                                                  : 0;
        if (r.bad)
            return util_error_set(err, UTIL_ESYNTAX, "malformed OpenPGP ECDSA key");
        if (!bits)
            return util_error_set(err, SIG_EUNSUPPORTED, "OpenPGP ECDSA curve not supported");
        if (sig_pubkey__ec(&k->key, bits, q.p, q.len) != 0)
            return util_error_set(err, UTIL_ESYNTAX, "invalid OpenPGP ECDSA point");
        break;
    }
    case PK_EDDSA_LEGACY: {
        unsigned oid_len = sig_rd__u8(&r);
        sig_rd oid = sig_rd__take(&r, oid_len), q = read_mpi(&r);
        if (r.bad)
            return util_error_set(err, UTIL_ESYNTAX, "malformed OpenPGP EdDSA key");
        if (!oid_is(oid, OID_ED25519, sizeof(OID_ED25519)))
            return util_error_set(err, SIG_EUNSUPPORTED, "OpenPGP EdDSA curve not supported");
        if (q.len != 33 || q.p[0] != 0x40)
            return util_error_set(err, UTIL_ESYNTAX, "invalid OpenPGP Ed25519 point");
        memcpy(k->key.ed, q.p + 1, 32);
        k->key.alg = SIG_ALG_ED25519;
        break;
    }
    case PK_ED25519: {
        sig_rd q = sig_rd__take(&r, 32);
        if (r.bad)
            return util_error_set(err, UTIL_ESYNTAX, "malformed OpenPGP Ed25519 key");
        memcpy(k->key.ed, q.p, 32);
        k->key.alg = SIG_ALG_ED25519;
        break;
    }
    default:
        break; /* encryption-only or unsupported: kept for its fingerprint, never verifies */
    }
    k->body = malloc(len ? len : 1);
    if (!k->body) {
        sig_pubkey__release(&k->key);
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    }
    memcpy(k->body, body, len);
    k->body_len = len;
    unsigned char hdr[3] = {0x99, (unsigned char)(len >> 8), (unsigned char)len};
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned flen = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) && EVP_DigestUpdate(ctx, hdr, 3) &&
             EVP_DigestUpdate(ctx, body, len) && EVP_DigestFinal_ex(ctx, k->fpr, &flen);
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        key_release(k);
        return util_error_set(err, UTIL_EFAIL, "cannot compute a fingerprint");
    }
    return 0;
}

static bool hash_key(EVP_MD_CTX *ctx, const sig_pgp_key *k)
{
    unsigned char hdr[3] = {0x99, (unsigned char)(k->body_len >> 8), (unsigned char)k->body_len};
    return EVP_DigestUpdate(ctx, hdr, 3) && EVP_DigestUpdate(ctx, k->body, k->body_len);
}

/* Digest of what s signs: prefix parts (already fed by the caller through ctx), then the
 * signature's hashed part and the v4 trailer. */
static bool finish_digest(EVP_MD_CTX *ctx, const pgp_sig *s, unsigned char *dig, unsigned *dlen)
{
    size_t n = s->hashed_part_len;
    unsigned char trailer[6] = {0x04,
                                0xFF,
                                (unsigned char)(n >> 24),
                                (unsigned char)(n >> 16),
                                (unsigned char)(n >> 8),
                                (unsigned char)n};
    return EVP_DigestUpdate(ctx, s->hashed_part, n) && EVP_DigestUpdate(ctx, trailer, 6) &&
           EVP_DigestFinal_ex(ctx, dig, dlen);
}

static bool algo_matches(int key_algo, unsigned sig_algo)
{
    if (key_algo == PK_RSA || key_algo == PK_RSA_SIGN)
        return sig_algo == PK_RSA || sig_algo == PK_RSA_SIGN;
    return key_algo == (int)sig_algo;
}

/* Check s (its digest already computed) against key k. 0 when it verifies. */
static int check_sig(const sig_pgp_key *k, const pgp_sig *s, const EVP_MD *md,
                     const unsigned char *dig, unsigned dlen)
{
    if (!k->key.alg || !algo_matches(k->algo, s->pk_algo))
        return -1;
    if (dig[0] != s->left16[0] || dig[1] != s->left16[1])
        return -1;
    if (s->pk_algo == PK_EDDSA_LEGACY) {
        /* r and s as MPIs lose their leading zero octets: pad them back to 32. */
        unsigned char rs[64] = {0};
        sig_rd r = s->m1, sv = s->m2;
        while (r.len > 0 && r.p[0] == 0)
            r.p++, r.len--;
        while (sv.len > 0 && sv.p[0] == 0)
            sv.p++, sv.len--;
        if (r.len > 32 || sv.len > 32)
            return -1;
        memcpy(rs + 32 - r.len, r.p, r.len);
        memcpy(rs + 64 - sv.len, sv.p, sv.len);
        return sig_pubkey__verify(&k->key, NULL, false, dig, dlen, rs, 64, NULL, 0, NULL, 0);
    }
    if (s->pk_algo == PK_ED25519)
        return sig_pubkey__verify(&k->key, NULL, false, dig, dlen, s->m1.p, s->m1.len, NULL, 0,
                                  NULL, 0);
    if (k->key.alg == SIG_ALG_RSA)
        return sig_pubkey__verify(&k->key, md, true, dig, dlen, s->m1.p, s->m1.len, NULL, 0, NULL,
                                  0);
    return sig_pubkey__verify(&k->key, md, true, dig, dlen, NULL, 0, s->m1.p, s->m1.len, s->m2.p,
                              s->m2.len);
}

/* Verify a key signature by signer over (primary [, subkey | uid]). */
static bool verify_key_sig(const sig_pgp_key *signer, const pgp_sig *s, const sig_pgp_key *primary,
                           const sig_pgp_key *sub, const unsigned char *uid, size_t uid_len)
{
    bool weak;
    const EVP_MD *md = hash_md(s->hash_algo, &weak);
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    if (!md || s->unknown_critical)
        return false;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestInit_ex(ctx, md, NULL) && hash_key(ctx, primary);
    if (ok && sub)
        ok = hash_key(ctx, sub);
    if (ok && uid) {
        unsigned char hdr[5] = {0xB4, (unsigned char)(uid_len >> 24),
                                (unsigned char)(uid_len >> 16), (unsigned char)(uid_len >> 8),
                                (unsigned char)uid_len};
        ok = EVP_DigestUpdate(ctx, hdr, 5) && EVP_DigestUpdate(ctx, uid, uid_len);
    }
    ok = ok && finish_digest(ctx, s, dig, &dlen);
    EVP_MD_CTX_free(ctx);
    return ok && check_sig(signer, s, md, dig, dlen) == 0;
}

/* ---- transferable public keys ------------------------------------------------------------- */

enum { SEC_NONE, SEC_PRIMARY, SEC_UID, SEC_UATTR, SEC_SUBKEY };

typedef struct key_parse {
    sig_trust *trust;
    sig_pgp_cert cur; /* the certificate being assembled */
    bool have;        /* cur holds a primary key */
    int section;
    const unsigned char *uid;
    size_t uid_len;
    uint32_t uid_time; /* time of the self-signature that chose cur.uid */
    bool uid_primary;
    bool self_signed; /* a valid self-signature (uid or direct) was seen */
} key_parse;

void sig_pgp_cert__release(sig_pgp_cert *c)
{
    key_release(&c->primary);
    for (size_t i = 0; i < c->nsubs; i++)
        key_release(&c->subs[i]);
    free(c->subs);
    memset(c, 0, sizeof(*c));
}

static void revoke(sig_pgp_key *k, const pgp_sig *s)
{
    /* Superseded (1), retired (3) and user id invalid (32) leave earlier signatures good;
     * compromise, no reason or an unknown one invalidate every signature (RFC 9580 5.2.3.31). */
    bool soft = s->reason == 1 || s->reason == 3 || s->reason == 32;
    int64_t at = soft ? s->created : INT64_MIN;
    if (k->revoked_at == 0 || at < k->revoked_at)
        k->revoked_at = at;
}

/* A self-signature (uid certification or direct key) sets the primary's expiry and flags when
 * it is the newest. */
static void apply_self_sig(sig_pgp_key *k, const pgp_sig *s)
{
    if ((uint32_t)s->created < k->binding_time)
        return;
    k->binding_time = (uint32_t)s->created;
    k->expires = s->key_expires ? (int64_t)k->created + s->key_expires : 0;
    k->can_sign = !s->has_key_flags || (s->key_flags & 0x02);
}

static void set_uid(key_parse *kp, const pgp_sig *s)
{
    bool better = !kp->cur.uid[0] || (s->primary_uid && !kp->uid_primary) ||
                  (s->primary_uid == kp->uid_primary && (uint32_t)s->created > kp->uid_time);
    if (!better)
        return;
    size_t n = kp->uid_len < sizeof(kp->cur.uid) - 1 ? kp->uid_len : sizeof(kp->cur.uid) - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = kp->uid[i];
        kp->cur.uid[i] = (char)(c < 0x20 || c == 0x7F ? '?' : c);
    }
    kp->cur.uid[n] = '\0';
    kp->uid_primary = s->primary_uid;
    kp->uid_time = (uint32_t)s->created;
}

static bool issuer_may_be(const pgp_sig *s, const sig_pgp_key *k)
{
    if (s->has_issuer_fpr)
        return memcmp(s->issuer_fpr, k->fpr, 20) == 0;
    if (s->has_issuer_id)
        return memcmp(s->issuer_id, k->fpr + 12, 8) == 0;
    return true;
}

static void subkey_binding(key_parse *kp, sig_pgp_key *sub, const pgp_sig *s)
{
    sig_pgp_key *primary = &kp->cur.primary;
    if (!issuer_may_be(s, primary) || !verify_key_sig(primary, s, primary, sub, NULL, 0))
        return;
    if (s->type == SIGT_SUBKEY_REVOCATION) {
        revoke(sub, s);
        return;
    }
    if ((uint32_t)s->created < sub->binding_time)
        return;
    bool sign = s->has_key_flags && (s->key_flags & 0x02);
    if (sign) {
        /* A signing subkey must sign back (0x19) so that nobody can claim another's subkey. */
        pgp_sig back;
        if (s->embedded.len == 0 || parse_sig(&back, s->embedded.p, s->embedded.len, NULL) != 0 ||
            back.type != SIGT_PRIMARY_BINDING || !verify_key_sig(sub, &back, primary, sub, NULL, 0))
            sign = false;
    }
    sub->bound = true;
    sub->binding_time = (uint32_t)s->created;
    sub->expires = s->key_expires ? (int64_t)sub->created + s->key_expires : 0;
    sub->can_sign = sign;
}

static void on_key_sig(key_parse *kp, const unsigned char *body, size_t len)
{
    pgp_sig s;
    sig_pgp_key *primary = &kp->cur.primary;
    /* Third-party certifications, unsupported versions and malformed signatures on a key are
     * skipped: only self-signatures matter for trust, and gpg exports may carry any others. */
    if (parse_sig(&s, body, len, NULL) != 0)
        return;
    switch (kp->section) {
    case SEC_PRIMARY:
        if (!issuer_may_be(&s, primary))
            return;
        if (s.type == SIGT_KEY_REVOCATION && verify_key_sig(primary, &s, primary, NULL, NULL, 0))
            revoke(primary, &s);
        else if (s.type == SIGT_DIRECT_KEY && verify_key_sig(primary, &s, primary, NULL, NULL, 0)) {
            apply_self_sig(primary, &s);
            kp->self_signed = true;
        }
        return;
    case SEC_UID:
        if (s.type < SIGT_CERT_FIRST || s.type > SIGT_CERT_LAST || !issuer_may_be(&s, primary) ||
            !verify_key_sig(primary, &s, primary, NULL, kp->uid, kp->uid_len))
            return;
        apply_self_sig(primary, &s);
        set_uid(kp, &s);
        kp->self_signed = true;
        return;
    case SEC_SUBKEY:
        if (kp->cur.nsubs > 0 &&
            (s.type == SIGT_SUBKEY_BINDING || s.type == SIGT_SUBKEY_REVOCATION))
            subkey_binding(kp, &kp->cur.subs[kp->cur.nsubs - 1], &s);
        return;
    default:
        return;
    }
}

static int finish_cert(key_parse *kp, util_error *err)
{
    char hex[41];
    if (!kp->have)
        return 0;
    kp->have = false;
    if (!kp->self_signed) {
        sig_pgp__hex(hex, kp->cur.primary.fpr, 20);
        sig_pgp_cert__release(&kp->cur);
        return util_error_set(err, UTIL_EINVALID, "OpenPGP key %s has no valid self-signature",
                              hex);
    }
    sig_trust *t = kp->trust;
    if (t->npgp == t->cappgp) {
        size_t cap = t->cappgp ? 2 * t->cappgp : 4;
        sig_pgp_cert *n = realloc(t->pgp, cap * sizeof(*n));
        if (!n) {
            sig_pgp_cert__release(&kp->cur);
            return util_error_set(err, UTIL_ENOMEM, "out of memory");
        }
        t->pgp = n;
        t->cappgp = cap;
    }
    t->pgp[t->npgp++] = kp->cur;
    memset(&kp->cur, 0, sizeof(kp->cur));
    return 0;
}

static int on_key_packet(void *ctx, unsigned tag, const unsigned char *body, size_t len,
                         util_error *err)
{
    key_parse *kp = ctx;
    int rc;
    switch (tag) {
    case PKT_PUBLIC_KEY:
        if ((rc = finish_cert(kp, err)) != 0)
            return rc;
        memset(&kp->cur, 0, sizeof(kp->cur));
        if ((rc = parse_key(&kp->cur.primary, body, len, err)) != 0)
            return rc;
        kp->have = true;
        kp->section = SEC_PRIMARY;
        kp->uid_time = 0;
        kp->uid_primary = false;
        kp->self_signed = false;
        return 0;
    case PKT_SECRET_KEY:
    case PKT_SECRET_SUBKEY:
        return util_error_set(err, UTIL_EINVALID,
                              "secret key material in a trust file: export public keys only "
                              "(gpg --export --armor)");
    case PKT_USER_ID:
        kp->section = SEC_UID;
        kp->uid = body;
        kp->uid_len = len;
        break;
    case PKT_USER_ATTRIBUTE:
        kp->section = SEC_UATTR;
        break;
    case PKT_PUBLIC_SUBKEY: {
        if (!kp->have)
            return util_error_set(err, UTIL_ESYNTAX, "OpenPGP subkey before any primary key");
        sig_pgp_cert *c = &kp->cur;
        sig_pgp_key *subs = realloc(c->subs, (c->nsubs + 1) * sizeof(*subs));
        if (!subs)
            return util_error_set(err, UTIL_ENOMEM, "out of memory");
        c->subs = subs;
        if ((rc = parse_key(&c->subs[c->nsubs], body, len, err)) != 0) {
            /* An unsupported subkey (another version) is skipped, not fatal. */
            if (rc == SIG_EUNSUPPORTED) {
                kp->section = SEC_NONE;
                return 0;
            }
            return rc;
        }
        c->nsubs++;
        kp->section = SEC_SUBKEY;
        break;
    }
    case PKT_SIGNATURE:
        if (kp->have)
            on_key_sig(kp, body, len);
        break;
    default:
        break; /* trust packets and anything else gpg may add */
    }
    if (!kp->have)
        return util_error_set(err, UTIL_ESYNTAX, "OpenPGP key data before the primary key");
    return 0;
}

int sig_pgp__parse_keys(sig_trust *trust, const unsigned char *p, size_t len, util_error *err)
{
    key_parse kp;
    memset(&kp, 0, sizeof(kp));
    kp.trust = trust;
    int rc = sig_pgp__packets(p, len, on_key_packet, &kp, err);
    if (rc == 0)
        rc = finish_cert(&kp, err);
    if (rc != 0 && kp.have)
        sig_pgp_cert__release(&kp.cur);
    return rc;
}

/* ---- document signatures ------------------------------------------------------------------ */

typedef struct doc_parse {
    const unsigned char *body;
    size_t len;
    unsigned count;
} doc_parse;

static int on_doc_packet(void *ctx, unsigned tag, const unsigned char *body, size_t len,
                         util_error *err)
{
    doc_parse *d = ctx;
    if (tag != PKT_SIGNATURE)
        return util_error_set(err, SIG_EBADSIG, "OpenPGP packet %u where a signature belongs", tag);
    if (++d->count > 1)
        return util_error_set(err, SIG_EUNSUPPORTED, "more than one OpenPGP signature");
    d->body = body;
    d->len = len;
    return 0;
}

/* Find the (sub)key the signature names. */
static const sig_pgp_key *find_key(const sig_trust *trust, const pgp_sig *s,
                                   const sig_pgp_cert **cert)
{
    for (size_t i = 0; trust && i < trust->npgp; i++) {
        const sig_pgp_cert *c = &trust->pgp[i];
        for (size_t j = 0; j <= c->nsubs; j++) {
            const sig_pgp_key *k = j == 0 ? &c->primary : &c->subs[j - 1];
            bool hit = s->has_issuer_fpr ? memcmp(s->issuer_fpr, k->fpr, 20) == 0
                                         : memcmp(s->issuer_id, k->fpr + 12, 8) == 0;
            if (hit) {
                *cert = c;
                return k;
            }
        }
    }
    return NULL;
}

/* Revocation, expiry and creation of one key at every time that matters. */
static int key_status(const sig_pgp_key *k, const pgp_sig *s, const sig_when *when, const char *who,
                      util_error *err)
{
    char hex[41], t1[32], t2[32];
    sig_pgp__hex(hex, k->fpr, 20);
    if (k->revoked_at == INT64_MIN)
        return util_error_set(err, SIG_EREVOKED, "key %s of %s is revoked", hex, who);
    if (k->revoked_at != 0) {
        int64_t bad = sig_when__outside(when, s->created, INT64_MIN, k->revoked_at - 1);
        if (bad) {
            sig_fmt_time(t1, k->revoked_at);
            return util_error_set(err, SIG_EREVOKED, "key %s of %s was revoked at %s", hex, who,
                                  t1);
        }
    }
    if (k->expires != 0) {
        int64_t bad = sig_when__outside(when, s->created, INT64_MIN, k->expires);
        if (bad) {
            sig_fmt_time(t1, k->expires);
            sig_fmt_time(t2, bad);
            return util_error_set(err, SIG_EEXPIRED, "key %s of %s expired at %s (checked at %s)",
                                  hex, who, t1, t2);
        }
    }
    if (s->created < (int64_t)k->created)
        return util_error_set(err, SIG_EBADSIG, "signature predates key %s of %s", hex, who);
    return 0;
}

static int verify_doc(sig_signer *out, const sig_trust *trust, const pgp_sig *s,
                      const void *payload, size_t len, const sig_when *when, util_error *err)
{
    const sig_pgp_cert *cert = NULL;
    char hex[41], t1[32];
    bool weak;

    if (!s->has_issuer_fpr && !s->has_issuer_id)
        return util_error_set(err, SIG_EBADSIG, "OpenPGP signature names no issuer key");
    const sig_pgp_key *k = find_key(trust, s, &cert);
    if (!k) {
        if (s->has_issuer_fpr)
            sig_pgp__hex(hex, s->issuer_fpr, 20);
        else
            sig_pgp__hex(hex, s->issuer_id, 8);
        snprintf(out->key, sizeof(out->key), "%s", hex);
        return util_error_set(err, SIG_EUNTRUSTED, "signed by unknown OpenPGP key %s", hex);
    }
    sig_pgp__hex(hex, k->fpr, 20);
    snprintf(out->key, sizeof(out->key), "%s", hex);
    sig_pgp__hex(out->fingerprint, cert->primary.fpr, 20);
    snprintf(out->signer, sizeof(out->signer), "%s", cert->uid);
    const char *who = cert->uid[0] ? cert->uid : out->fingerprint;

    const EVP_MD *md = hash_md(s->hash_algo, &weak);
    if (weak)
        return util_error_set(err, SIG_EWEAKHASH,
                              "%s signature by %s refused (sign with SHA-256 or better)",
                              hash_name(s->hash_algo), who);
    if (!md)
        return util_error_set(err, SIG_EUNSUPPORTED, "OpenPGP hash algorithm %u not supported",
                              s->hash_algo);
    if (s->type == SIGT_TEXT)
        return util_error_set(err, SIG_EUNSUPPORTED,
                              "text-mode OpenPGP signature (git signs "
                              "binary)");
    if (s->type != SIGT_BINARY)
        return util_error_set(err, SIG_EBADSIG,
                              "OpenPGP signature of type 0x%02x is not a "
                              "document signature",
                              s->type);
    if (s->unknown_critical)
        return util_error_set(err, SIG_EBADSIG,
                              "OpenPGP signature has an unknown critical "
                              "subpacket");
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestInit_ex(ctx, md, NULL) && EVP_DigestUpdate(ctx, payload, len) &&
              finish_digest(ctx, s, dig, &dlen);
    EVP_MD_CTX_free(ctx);
    if (!ok || check_sig(k, s, md, dig, dlen) != 0)
        return util_error_set(err, SIG_EBADSIG, "bad signature by %s (%s)", who, hex);

    bool is_sub = k != &cert->primary;
    if (is_sub && !k->bound)
        return util_error_set(err, SIG_EBADSIG, "subkey %s is not bound to %s", hex, who);
    if (!k->can_sign)
        return util_error_set(err, SIG_EBADSIG, "key %s of %s is not a signing key%s", hex, who,
                              is_sub ? " (no signing flag or back-signature)" : "");
    int rc = key_status(&cert->primary, s, when, who, err);
    if (rc == 0 && is_sub)
        rc = key_status(k, s, when, who, err);
    if (rc != 0)
        return rc;
    if (s->sig_expires) {
        int64_t until = s->created + (int64_t)s->sig_expires;
        if (sig_when__outside(when, 0, INT64_MIN, until)) {
            sig_fmt_time(t1, until);
            return util_error_set(err, SIG_EEXPIRED, "signature by %s expired at %s", who, t1);
        }
    }
    return 0;
}

int sig_pgp__verify(sig_signer *out, const sig_trust *trust, const void *payload, size_t len,
                    const char *text, size_t text_len, const sig_when *when, util_error *err)
{
    unsigned char *bin = NULL;
    size_t bin_len = 0;
    doc_parse d = {0};
    pgp_sig s;

    out->kind = SIG_PGP;
    util_error sub;
    util_error_clear(&sub);
    int rc = sig_pgp__dearmor(&bin, &bin_len, text, text_len, "PGP SIGNATURE", NULL, &sub);
    if (rc != 0) {
        rc = util_error_set(err, SIG_EBADSIG, "malformed OpenPGP signature: %s", sub.msg);
        goto out;
    }
    rc = sig_pgp__packets(bin, bin_len, on_doc_packet, &d, err);
    if (rc == 0 && d.count == 0)
        rc = util_error_set(err, SIG_EBADSIG, "no OpenPGP signature packet");
    if (rc != 0) {
        if (rc == UTIL_ESYNTAX)
            rc = SIG_EBADSIG; /* framing errors are bad signatures, not input errors */
        if (err)
            err->code = rc;
        goto out;
    }
    rc = parse_sig(&s, d.body, d.len, err);
    if (rc == 0)
        rc = verify_doc(out, trust, &s, payload, len, when, err);
out:
    free(bin);
    return rc;
}
