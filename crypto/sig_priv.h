/* sig_priv.h: internals shared by the sig_*.c files. Not a public header: only crypto/sig_*.c,
 * their tests and the fuzzers include it. Cross-file internals carry a double underscore. */
#ifndef SEALGATE_SIG_PRIV_H
#define SEALGATE_SIG_PRIV_H

#include <stdbool.h>

#include <openssl/evp.h>

#include "crypto/sig.h"

/* ---- a bounds-checked reader over bytes (sticky failure, like a parser's error flag) ---- */

typedef struct sig_rd {
    const unsigned char *p;
    size_t len;
    bool bad; /* set by the first read past the end; every later read yields zeros */
} sig_rd;

static inline sig_rd sig_rd_make(const void *p, size_t len)
{
    return (sig_rd){(const unsigned char *)p, len, false};
}
unsigned sig_rd__u8(sig_rd *r);
unsigned sig_rd__u16(sig_rd *r);
uint32_t sig_rd__u32(sig_rd *r);
/* n bytes as a sub-reader (empty and bad when fewer are left). */
sig_rd sig_rd__take(sig_rd *r, size_t n);
/* An SSH wire `string`: uint32 length and bytes. */
sig_rd sig_rd__sshstr(sig_rd *r);
bool sig_rd__eq(sig_rd s, const char *lit);

/* ---- public keys as the verifier uses them ---------------------------------------------- */

enum {
    SIG_ALG_ED25519 = 1, /* raw 32-byte key, libsodium */
    SIG_ALG_RSA,         /* OpenSSL EVP_PKEY */
    SIG_ALG_ECDSA,       /* OpenSSL EVP_PKEY; curve_bits 256/384/521 */
};

typedef struct sig_pubkey {
    int alg;              /* SIG_ALG_* or 0 */
    unsigned char ed[32]; /* ed25519 public key */
    EVP_PKEY *pkey;       /* RSA / ECDSA; owned */
    unsigned curve_bits;  /* ECDSA */
    unsigned rsa_bits;    /* RSA modulus size */
} sig_pubkey;

void sig_pubkey__release(sig_pubkey *k);
int sig_pubkey__rsa(sig_pubkey *k, const unsigned char *n, size_t nlen, const unsigned char *e,
                    size_t elen);
/* ECDSA key from an uncompressed point (0x04 || X || Y) on P-256/384/521. */
int sig_pubkey__ec(sig_pubkey *k, unsigned bits, const unsigned char *q, size_t qlen);
/* Verify sig over data. For RSA (PKCS#1 v1.5) and ECDSA, md names the digest applied to data;
 * with prehashed the data already is that digest. Ed25519 signs data as given. ECDSA sig is
 * (r, s) as big-endian integers. Returns 0 when the signature is good. */
int sig_pubkey__verify(const sig_pubkey *k, const EVP_MD *md, bool prehashed,
                       const unsigned char *data, size_t len, const unsigned char *sig,
                       size_t sig_len, const unsigned char *r, size_t rlen, const unsigned char *s,
                       size_t slen);

/* ---- SSH ---------------------------------------------------------------------------------- */

typedef struct sig_ssh_key {
    char *principals;     /* malloc'd, as written in the file */
    char *namespaces;     /* malloc'd pattern list, or NULL for any namespace */
    int64_t valid_after;  /* unix time, or INT64_MIN */
    int64_t valid_before; /* unix time, or INT64_MAX */
    unsigned char *blob;  /* malloc'd SSH public key blob */
    size_t blob_len;
    char fpr[64]; /* "SHA256:" + unpadded base64 of SHA-256(blob) */
    sig_pubkey key;
} sig_ssh_key;

/* Parse an SSH public key blob into k (ed25519, rsa, ecdsa-sha2-nistp256/384/521). */
int sig_ssh__parse_key(sig_pubkey *k, const unsigned char *blob, size_t len, util_error *err);
void sig_ssh__fingerprint(char out[64], const unsigned char *blob, size_t len);
void sig_ssh_key__release(sig_ssh_key *k);
/* Parse the allowed-signers text and append its keys to trust. */
int sig_ssh__parse_allowed(sig_trust *trust, const char *source, const char *text, size_t len,
                           util_error *err);
/* Parsed `-----BEGIN SSH SIGNATURE-----` block: borrowed views into blob. */
typedef struct sig_sshsig {
    unsigned char *blob; /* malloc'd decoded armour */
    size_t blob_len;
    sig_rd pubkey, ns, reserved, hashalg, sig;
} sig_sshsig;
int sig_ssh__parse_sig(sig_sshsig *out, const char *text, size_t len, util_error *err);
void sig_sshsig__release(sig_sshsig *s);
int sig_ssh__verify(sig_signer *out, const sig_trust *trust, const void *payload, size_t len,
                    const char *sig, size_t sig_len, const sig_when *when, util_error *err);

/* ---- OpenPGP ------------------------------------------------------------------------------ */

typedef struct sig_pgp_key {
    unsigned char fpr[20]; /* v4 fingerprint */
    uint32_t created;      /* creation time */
    int algo;              /* OpenPGP public-key algorithm id */
    sig_pubkey key;
    unsigned char *body; /* malloc'd packet body, hashed by binding signatures */
    size_t body_len;
    int64_t expires;       /* absolute unix time, or 0 for never */
    int64_t revoked_at;    /* 0: not revoked; INT64_MIN: hard (every signature); else soft */
    bool bound;            /* subkey: a valid binding signature by the primary exists */
    bool can_sign;         /* key flags allow signing (and, for subkeys, a back-signature) */
    uint32_t binding_time; /* creation time of the newest valid self/binding signature */
} sig_pgp_key;

typedef struct sig_pgp_cert {
    sig_pgp_key primary;
    sig_pgp_key *subs;
    size_t nsubs;
    char uid[256]; /* primary user id (or the first valid one) */
} sig_pgp_cert;

/* Decode ASCII armour of the given kind ("PGP SIGNATURE", "PGP PUBLIC KEY BLOCK") starting
 * at text; *out is malloc'd binary; *used is how far the block reached (for several blocks).
 * A present CRC24 must match. */
int sig_pgp__dearmor(unsigned char **out, size_t *out_len, const char *text, size_t len,
                     const char *kind, size_t *used, util_error *err);
uint32_t sig_pgp__crc24(const unsigned char *p, size_t len);
/* Parse binary transferable public keys and append them (validated) to trust. */
int sig_pgp__parse_keys(sig_trust *trust, const unsigned char *p, size_t len, util_error *err);
/* Walk the packets of p, calling fn for each (tag, body); returns the first error. */
typedef int (*sig_pgp_packet_fn)(void *ctx, unsigned tag, const unsigned char *body, size_t len,
                                 util_error *err);
int sig_pgp__packets(const unsigned char *p, size_t len, sig_pgp_packet_fn fn, void *ctx,
                     util_error *err);
int sig_pgp__verify(sig_signer *out, const sig_trust *trust, const void *payload, size_t len,
                    const char *sig, size_t sig_len, const sig_when *when, util_error *err);
void sig_pgp_cert__release(sig_pgp_cert *c);
void sig_pgp__hex(char *out, const unsigned char *p, size_t n); /* out: 2n+1 bytes */

/* ---- the trust set ------------------------------------------------------------------------ */

struct sig_trust {
    sig_ssh_key *ssh;
    size_t nssh, capssh;
    sig_pgp_cert *pgp;
    size_t npgp, cappgp;
};

/* ---- git objects -------------------------------------------------------------------------- */

/* A signed object split into what was signed and the signature (views into the object). */
typedef struct sig_split {
    util_buf payload;   /* the object without its signature (owned) */
    const char *sig;    /* NULL when unsigned; else points into sigbuf */
    util_buf sigbuf;    /* the signature text, continuation prefixes removed (owned) */
    int64_t time;       /* committer / tagger time, or 0 */
    util_slice tagname; /* tag objects: the `tag` header value (view into the object) */
} sig_split;

void sig_split__init(sig_split *s);
void sig_split__release(sig_split *s);
/* Split a raw commit object: header-only, stops at the first empty line. */
int sig_split__commit(sig_split *out, const char *obj, size_t len, util_error *err);
/* Split a raw tag object: signature appended to the message. */
int sig_split__tag(sig_split *out, const char *obj, size_t len, util_error *err);
/* Verify the commit or tag id (type says which), as sig_verify_commit / sig_verify_tag do;
 * what names it in messages ("commit 3f2c1a9 (2 of 4 ...)"), NULL for "commit <short id>". */
int sig_git__verify(sig_signer *out, const sig_trust *trust, git_repository *repo,
                    const git_oid *id, git_object_t type, const char *name, const char *what,
                    int64_t first_seen, util_error *err) UTIL_WUR;

/* Check that every non-zero time of when (and extra, when non-zero) is in [from, until]
 * (0 for until: no end). Returns the first time outside, or 0 when all are inside. */
int64_t sig_when__outside(const sig_when *when, int64_t extra, int64_t from, int64_t until);
/* "2026-01-02 03:04:05 UTC" */
void sig_fmt_time(char out[32], int64_t t);

#endif
