/* sig_test_unit.c: the sig_ parsers in-process: the commit and tag splitters (a gpgsig block in
 * the message is not a signature), allowed-signers errors with line numbers, armour checksums,
 * and SSH signatures made here with libsodium (good, tampered, namespace, window, hash). */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "crypto/sig_priv.h"
#include "test.h"
#include "util/banned.h"

static const char signed_commit[] = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
                                    "author A <a@x> 1700000000 +0000\n"
                                    "committer A <a@x> 1700000001 +0100\n"
                                    "gpgsig -----BEGIN SSH SIGNATURE-----\n"
                                    " AAAA\n"
                                    " \n"
                                    " -----END SSH SIGNATURE-----\n"
                                    "\n"
                                    "message\n";

static void test_split_commit(void)
{
    sig_split s;
    util_error err;
    sig_split__init(&s);
    CHECK_INT(sig_split__commit(&s, signed_commit, strlen(signed_commit), &err), 0);
    CHECK(s.sig != NULL);
    CHECK_STR(s.sigbuf.data,
              "-----BEGIN SSH SIGNATURE-----\nAAAA\n\n-----END SSH SIGNATURE-----\n");
    CHECK_STR(s.payload.data, "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
                              "author A <a@x> 1700000000 +0000\n"
                              "committer A <a@x> 1700000001 +0100\n"
                              "\nmessage\n");
    CHECK_INT(s.time, 1700000001);
    sig_split__release(&s);

    /* A gpgsig block after the blank line belongs to the message: unsigned. */
    static const char in_message[] = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
                                     "committer A <a@x> 1700000001 +0100\n"
                                     "\n"
                                     "message\n"
                                     "gpgsig -----BEGIN SSH SIGNATURE-----\n"
                                     " AAAA\n"
                                     " -----END SSH SIGNATURE-----\n";
    sig_split__init(&s);
    CHECK_INT(sig_split__commit(&s, in_message, strlen(in_message), &err), 0);
    CHECK(s.sig == NULL);
    CHECK_INT(s.payload.len, strlen(in_message));
    sig_split__release(&s);

    /* Two gpgsig headers are refused rather than one of them picked. */
    static const char twice[] = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
                                "gpgsig A\n"
                                " B\n"
                                "gpgsig C\n"
                                "\nmsg\n";
    sig_split__init(&s);
    CHECK_INT(sig_split__commit(&s, twice, strlen(twice), &err), SIG_EBADSIG);
    sig_split__release(&s);

    /* gpgsig-sha256 alone is used; both are dropped from the payload; mergetag continuation
     * lines stay in the payload. */
    static const char both[] = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
                               "mergetag object 1\n"
                               " -----BEGIN PGP SIGNATURE-----\n"
                               " X\n"
                               "gpgsig-sha256 S256\n"
                               " s\n"
                               "gpgsig S1\n"
                               " one\n"
                               "\nmsg\n";
    sig_split__init(&s);
    CHECK_INT(sig_split__commit(&s, both, strlen(both), &err), 0);
    CHECK_STR(s.sigbuf.data, "S1\none\n");
    CHECK_STR(s.payload.data, "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
                              "mergetag object 1\n"
                              " -----BEGIN PGP SIGNATURE-----\n"
                              " X\n"
                              "\nmsg\n");
    sig_split__release(&s);
}

static void test_split_tag(void)
{
    static const char tag[] = "object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
                              "type commit\n"
                              "tag v1\n"
                              "tagger A <a@x> 1700000005 +0000\n"
                              "\n"
                              "release\n"
                              "-----BEGIN PGP SIGNATURE-----\n"
                              "old\n"
                              "-----END PGP SIGNATURE-----\n"
                              "-----BEGIN SSH SIGNATURE-----\n"
                              "new\n"
                              "-----END SSH SIGNATURE-----\n";
    sig_split s;
    util_error err;
    sig_split__init(&s);
    CHECK_INT(sig_split__tag(&s, tag, strlen(tag), &err), 0);
    CHECK(util_slice_eq_cstr(s.tagname, "v1"));
    CHECK_INT(s.time, 1700000005);
    /* The last armour line starts the signature, as in git's parse_signed_buffer. */
    CHECK_STR(s.sigbuf.data, "-----BEGIN SSH SIGNATURE-----\nnew\n-----END SSH SIGNATURE-----\n");
    CHECK(strstr(s.payload.data, "old\n-----END PGP SIGNATURE-----\n") != NULL);
    sig_split__release(&s);
}

static int load(sig_trust **t, const char *text, util_error *err)
{
    util_error_clear(err);
    return sig_trust_parse(t, "allowed", text, strlen(text), err);
}

static void test_allowed_errors(void)
{
    sig_trust *t = NULL;
    util_error err;
    CHECK_INT(load(&t, "# only a comment\n\n", &err), UTIL_EINVALID);
    CHECK(strstr(err.msg, "no keys") != NULL);
    CHECK_INT(load(&t, "\n\na@x ssh-ed25519 !!!!\n", &err), UTIL_ESYNTAX);
    CHECK_INT(err.line, 3);
    CHECK_STR(err.msg, "key is not valid base64");
    CHECK_INT(load(&t, "a@x bogus=\"1\" ssh-ed25519 AAAA\n", &err), UTIL_ESYNTAX);
    CHECK_STR(err.msg, "unknown option 'bogus'");
    CHECK_INT(load(&t, "a@x cert-authority ssh-ed25519 AAAA\n", &err), SIG_EUNSUPPORTED);
    CHECK_INT(
        load(&t, "a@x valid-after=\"20300101\",valid-before=\"20200101\" ssh-ed25519 AAAA\n", &err),
        UTIL_ESYNTAX);
    CHECK_STR(err.msg, "valid-before is not after valid-after");
    CHECK_INT(load(&t, "a@x valid-after=\"2030\" ssh-ed25519 AAAA\n", &err), UTIL_ESYNTAX);
    CHECK_INT(load(&t, "a@x\n", &err), UTIL_ESYNTAX);
    /* The type named before the key must match the key. */
    CHECK_INT(load(&t, "a@x ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIGv1\n", &err), UTIL_ESYNTAX);
    CHECK(t == NULL);
}

static void test_armour(void)
{
    CHECK_INT(sig_pgp__crc24((const unsigned char *)"", 0), 0xB704CE);
    /* "hello" is aGVsbG8=; its CRC24 is 0x47F58A -> "R/WK". */
    unsigned char *bin = NULL;
    size_t n = 0;
    util_error err;
    static const char good[] = "-----BEGIN PGP SIGNATURE-----\n\naGVsbG8=\n=R/WK\n"
                               "-----END PGP SIGNATURE-----\n";
    static const char bad[] = "-----BEGIN PGP SIGNATURE-----\n\naGVsbG8=\n=R/WL\n"
                              "-----END PGP SIGNATURE-----\n";
    CHECK_INT(sig_pgp__crc24((const unsigned char *)"hello", 5), 0x47F58A);
    CHECK_INT(sig_pgp__dearmor(&bin, &n, good, strlen(good), "PGP SIGNATURE", NULL, &err), 0);
    CHECK_INT(n, 5);
    CHECK(bin && memcmp(bin, "hello", 5) == 0);
    free(bin);
    CHECK_INT(sig_pgp__dearmor(&bin, &n, bad, strlen(bad), "PGP SIGNATURE", NULL, &err),
              UTIL_ESYNTAX);
    CHECK_STR(err.msg, "armour: CRC24 checksum mismatch");
    CHECK_INT(sig_pgp__dearmor(&bin, &n, good, 40, "PGP SIGNATURE", NULL, &err), UTIL_ESYNTAX);
}

/* ---- SSH signatures made here ------------------------------------------------------------- */

static void put_str(util_buf *b, const void *p, size_t n)
{
    unsigned char l[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                          (unsigned char)(n >> 8), (unsigned char)n};
    CHECK(util_buf_append(b, l, 4) == 0 && util_buf_append(b, p, n) == 0);
}

/* An armoured SSHSIG by (pk, sk) over payload, for namespace ns and hash alg. */
static void make_sshsig(util_buf *out, const unsigned char *pk, const unsigned char *sk,
                        const char *payload, const char *ns, const char *hash)
{
    util_buf key, tosign, sigblob, blob;
    unsigned char h[64], sig[64];
    size_t hlen = strcmp(hash, "sha256") == 0 ? 32 : 64;
    util_buf_init(&key);
    util_buf_init(&tosign);
    util_buf_init(&sigblob);
    util_buf_init(&blob);
    put_str(&key, "ssh-ed25519", 11);
    put_str(&key, pk, 32);
    if (hlen == 32)
        crypto_hash_sha256(h, (const unsigned char *)payload, strlen(payload));
    else
        crypto_hash_sha512(h, (const unsigned char *)payload, strlen(payload));
    CHECK(util_buf_append(&tosign, "SSHSIG", 6) == 0);
    put_str(&tosign, ns, strlen(ns));
    put_str(&tosign, "", 0);
    put_str(&tosign, hash, strlen(hash));
    put_str(&tosign, h, hlen);
    crypto_sign_detached(sig, NULL, (const unsigned char *)tosign.data, tosign.len, sk);
    put_str(&sigblob, "ssh-ed25519", 11);
    put_str(&sigblob, sig, 64);
    CHECK(util_buf_append(&blob, "SSHSIG\0\0\0\1", 10) == 0);
    put_str(&blob, key.data, key.len);
    put_str(&blob, ns, strlen(ns));
    put_str(&blob, "", 0);
    put_str(&blob, hash, strlen(hash));
    put_str(&blob, sigblob.data, sigblob.len);
    char *b64 = malloc(sodium_base64_ENCODED_LEN(blob.len, sodium_base64_VARIANT_ORIGINAL));
    sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(blob.len, sodium_base64_VARIANT_ORIGINAL),
                      (const unsigned char *)blob.data, blob.len, sodium_base64_VARIANT_ORIGINAL);
    out->len = 0;
    CHECK(util_buf_printf(out, "-----BEGIN SSH SIGNATURE-----\n%s\n-----END SSH SIGNATURE-----\n",
                          b64) == 0);
    free(b64);
    util_buf_release(&key);
    util_buf_release(&tosign);
    util_buf_release(&sigblob);
    util_buf_release(&blob);
}

static void allowed_line(util_buf *out, const unsigned char *pk, const char *opts)
{
    util_buf key;
    util_buf_init(&key);
    put_str(&key, "ssh-ed25519", 11);
    put_str(&key, pk, 32);
    char b64[128];
    sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)key.data, key.len,
                      sodium_base64_VARIANT_ORIGINAL);
    out->len = 0;
    CHECK(util_buf_printf(out, "alice@example.com %s%sssh-ed25519 %s comment\n", opts,
                          opts[0] ? " " : "", b64) == 0);
    util_buf_release(&key);
}

static int verify(const char *allowed, const util_buf *sig, const char *payload, int64_t at,
                  util_error *err)
{
    sig_trust *t = NULL;
    util_error_clear(err);
    CHECK_INT(sig_trust_parse(&t, "allowed", allowed, strlen(allowed), err), 0);
    sig_when when = {at, 0};
    sig_signer who;
    int rc = sig_verify_buffer(&who, t, payload, strlen(payload), sig->data, sig->len, &when,
                               "commit 1234567", err);
    if (rc == 0)
        CHECK_STR(who.signer, "alice@example.com");
    sig_trust_free(t);
    return rc;
}

static void test_ssh(void)
{
    unsigned char pk[32], sk[64], pk2[32], sk2[64];
    util_buf sig, line;
    util_error err;
    const char *payload = "tree 1\ncommitter A <a@x> 1700000000 +0000\n\nhello\n";
    crypto_sign_keypair(pk, sk);
    crypto_sign_keypair(pk2, sk2);
    util_buf_init(&sig);
    util_buf_init(&line);

    allowed_line(&line, pk, "");
    make_sshsig(&sig, pk, sk, payload, "git", "sha512");
    CHECK_INT(verify(line.data, &sig, payload, 1700000000, &err), 0);
    make_sshsig(&sig, pk, sk, payload, "git", "sha256");
    CHECK_INT(verify(line.data, &sig, payload, 1700000000, &err), 0);
    CHECK_INT(verify(line.data, &sig, "tree 2\n", 1700000000, &err), SIG_EBADSIG);
    CHECK(strncmp(err.msg, "commit 1234567: bad signature by alice@example.com", 49) == 0);
    make_sshsig(&sig, pk, sk, payload, "file", "sha512");
    CHECK_INT(verify(line.data, &sig, payload, 1700000000, &err), SIG_ENAMESPACE);
    make_sshsig(&sig, pk, sk, payload, "git", "md5");
    CHECK_INT(verify(line.data, &sig, payload, 1700000000, &err), SIG_EWEAKHASH);
    make_sshsig(&sig, pk2, sk2, payload, "git", "sha512");
    CHECK_INT(verify(line.data, &sig, payload, 1700000000, &err), SIG_EUNTRUSTED);
    CHECK(strstr(err.msg, "signed by unknown SSH key SHA256:") != NULL);

    /* Windows: 1700000000 is 2023-11-14 22:13:20 UTC. */
    make_sshsig(&sig, pk, sk, payload, "git", "sha512");
    allowed_line(&line, pk, "valid-after=\"20231114Z\",valid-before=\"202311150000Z\"");
    CHECK_INT(verify(line.data, &sig, payload, 1700000000, &err), 0);
    allowed_line(&line, pk, "valid-before=\"20231114221320Z\"");
    CHECK_INT(verify(line.data, &sig, payload, 1700000000, &err), 0);
    allowed_line(&line, pk, "valid-before=\"20231114221319Z\"");
    CHECK_INT(verify(line.data, &sig, payload, 1700000000, &err), SIG_EWINDOW);
    allowed_line(&line, pk, "VALID-AFTER=\"20231115Z\"");
    CHECK_INT(verify(line.data, &sig, payload, 1700000000, &err), SIG_EWINDOW);
    allowed_line(&line, pk, "namespaces=\"file,!git\"");
    CHECK_INT(verify(line.data, &sig, payload, 1700000000, &err), SIG_ENAMESPACE);
    allowed_line(&line, pk, "namespaces=\"g*\"");
    CHECK_INT(verify(line.data, &sig, payload, 1700000000, &err), 0);

    /* Malformed signatures are bad signatures, never crashes. */
    allowed_line(&line, pk, "");
    util_buf junk;
    util_buf_init(&junk);
    CHECK(util_buf_puts(&junk,
                        "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n") ==
          0);
    CHECK_INT(verify(line.data, &junk, payload, 0, &err), SIG_EBADSIG);
    junk.len = 0;
    CHECK(util_buf_puts(&junk, "\n") == 0);
    CHECK_INT(verify(line.data, &junk, payload, 0, &err), SIG_EUNSIGNED);
    util_buf_release(&junk);
    util_buf_release(&sig);
    util_buf_release(&line);
}

/* ---- OpenPGP keys and signatures made here (RFC 9580 Ed25519, algorithm 27) ------------- */

typedef struct tkey {
    unsigned char pk[32], sk[64], body[38], fpr[20];
} tkey;

static void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void tkey_make(tkey *k, uint32_t created)
{
    crypto_sign_keypair(k->pk, k->sk);
    k->body[0] = 4;
    be32(k->body + 1, created);
    k->body[5] = 27;
    memcpy(k->body + 6, k->pk, 32);
    unsigned char hdr[3] = {0x99, 0, 38};
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, EVP_sha1(), NULL);
    EVP_DigestUpdate(c, hdr, 3);
    EVP_DigestUpdate(c, k->body, 38);
    EVP_DigestFinal_ex(c, k->fpr, NULL);
    EVP_MD_CTX_free(c);
}

static void packet(util_buf *out, unsigned tag, const void *body, size_t len)
{
    unsigned char h[3] = {(unsigned char)(0xC0 | tag)};
    size_t hl = 2;
    if (len < 192) {
        h[1] = (unsigned char)len;
    } else {
        h[1] = (unsigned char)(((len - 192) >> 8) + 192);
        h[2] = (unsigned char)((len - 192) & 0xFF);
        hl = 3;
    }
    CHECK(util_buf_append(out, h, hl) == 0 && util_buf_append(out, body, len) == 0);
}

static void subpacket(util_buf *b, unsigned type, const void *data, size_t len)
{
    unsigned char h[2] = {(unsigned char)(len + 1), (unsigned char)type};
    CHECK(util_buf_append(b, h, 2) == 0 && util_buf_append(b, data, len) == 0);
}

static void sub_u32(util_buf *b, unsigned type, uint32_t v)
{
    unsigned char d[4];
    be32(d, v);
    subpacket(b, type, d, 4);
}

static void sub_issuer(util_buf *b, const tkey *k)
{
    unsigned char d[21] = {4};
    memcpy(d + 1, k->fpr, 20);
    subpacket(b, 33, d, 21);
}

/* The hash prefix of a key: 0x99, length, body. */
static void key_prefix(util_buf *b, const tkey *k)
{
    unsigned char hdr[3] = {0x99, 0, 38};
    CHECK(util_buf_append(b, hdr, 3) == 0 && util_buf_append(b, k->body, 38) == 0);
}

/* A v4 signature packet body of the given type by signer over prefix. */
static void make_pgp_sig(util_buf *out, const tkey *signer, unsigned type, unsigned hash_id,
                         const util_buf *hashed, const util_buf *unhashed, const util_buf *prefix)
{
    unsigned char head[6] = {4,
                             (unsigned char)type,
                             27,
                             (unsigned char)hash_id,
                             (unsigned char)(hashed->len >> 8),
                             (unsigned char)hashed->len};
    unsigned char trailer[6] = {4, 0xFF};
    be32(trailer + 2, (uint32_t)(6 + hashed->len));
    unsigned char dig[64], sig[64];
    unsigned dlen = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, hash_id == 2 ? EVP_sha1() : EVP_sha256(), NULL);
    EVP_DigestUpdate(c, prefix->data, prefix->len);
    EVP_DigestUpdate(c, head, 6);
    EVP_DigestUpdate(c, hashed->data, hashed->len);
    EVP_DigestUpdate(c, trailer, 6);
    EVP_DigestFinal_ex(c, dig, &dlen);
    EVP_MD_CTX_free(c);
    crypto_sign_detached(sig, NULL, dig, dlen, signer->sk);
    unsigned char ulen[2] = {(unsigned char)(unhashed->len >> 8), (unsigned char)unhashed->len};
    out->len = 0;
    CHECK(util_buf_append(out, head, 6) == 0 &&
          util_buf_append(out, hashed->data, hashed->len) == 0 &&
          util_buf_append(out, ulen, 2) == 0 &&
          util_buf_append(out, unhashed->data, unhashed->len) == 0 &&
          util_buf_append(out, dig, 2) == 0 && util_buf_append(out, sig, 64) == 0);
}

typedef struct pgp_case {
    uint32_t t0;       /* key creation */
    uint32_t expires;  /* key expiry (seconds after creation) or 0 */
    bool subkey;       /* add a signing subkey and sign with it */
    bool backsig;      /* give the subkey its back-signature */
    int revoke_reason; /* -1: none, else a key revocation with this reason at t0 + 100 */
    unsigned hash_id;  /* of the document signature */
    uint32_t sig_time; /* document signature creation time */
} pgp_case;

/* Build a certificate and a document signature per c, verify at signed_at. */
static int pgp_run(const pgp_case *c, int64_t signed_at, util_error *err)
{
    tkey primary, sub;
    util_buf keys, pre, hashed, unhashed, sigbody, docsig;
    const char *uid = "Tess <tess@example.com>";
    const char *payload = "tree 1\n\nmsg\n";
    util_buf_init(&keys);
    util_buf_init(&pre);
    util_buf_init(&hashed);
    util_buf_init(&unhashed);
    util_buf_init(&sigbody);
    util_buf_init(&docsig);
    tkey_make(&primary, c->t0);
    tkey_make(&sub, c->t0);
    packet(&keys, 6, primary.body, 38);
    if (c->revoke_reason >= 0) {
        unsigned char reason = (unsigned char)c->revoke_reason;
        hashed.len = pre.len = 0;
        sub_u32(&hashed, 2, c->t0 + 100);
        subpacket(&hashed, 29, &reason, 1);
        sub_issuer(&hashed, &primary);
        key_prefix(&pre, &primary);
        make_pgp_sig(&sigbody, &primary, 0x20, 8, &hashed, &unhashed, &pre);
        packet(&keys, 2, sigbody.data, sigbody.len);
    }
    packet(&keys, 13, uid, strlen(uid));
    hashed.len = pre.len = 0;
    sub_u32(&hashed, 2, c->t0);
    unsigned char flags = c->subkey ? 0x01 : 0x03;
    subpacket(&hashed, 27, &flags, 1);
    if (c->expires)
        sub_u32(&hashed, 9, c->expires);
    sub_issuer(&hashed, &primary);
    key_prefix(&pre, &primary);
    unsigned char uh[5] = {0xB4};
    be32(uh + 1, (uint32_t)strlen(uid));
    CHECK(util_buf_append(&pre, uh, 5) == 0 && util_buf_puts(&pre, uid) == 0);
    make_pgp_sig(&sigbody, &primary, 0x13, 8, &hashed, &unhashed, &pre);
    packet(&keys, 2, sigbody.data, sigbody.len);
    if (c->subkey) {
        packet(&keys, 14, sub.body, 38);
        pre.len = 0;
        key_prefix(&pre, &primary);
        key_prefix(&pre, &sub);
        hashed.len = 0;
        if (c->backsig) {
            util_buf bh, bu, back;
            util_buf_init(&bh);
            util_buf_init(&bu);
            util_buf_init(&back);
            sub_u32(&bh, 2, c->t0);
            sub_issuer(&bh, &sub);
            make_pgp_sig(&back, &sub, 0x19, 8, &bh, &bu, &pre);
            sub_u32(&hashed, 2, c->t0);
            subpacket(&hashed, 32, back.data, back.len);
            util_buf_release(&bh);
            util_buf_release(&bu);
            util_buf_release(&back);
        } else {
            sub_u32(&hashed, 2, c->t0);
        }
        unsigned char sflags = 0x02;
        subpacket(&hashed, 27, &sflags, 1);
        sub_issuer(&hashed, &primary);
        make_pgp_sig(&sigbody, &primary, 0x18, 8, &hashed, &unhashed, &pre);
        packet(&keys, 2, sigbody.data, sigbody.len);
    }
    /* The document signature. */
    const tkey *signer = c->subkey ? &sub : &primary;
    hashed.len = pre.len = 0;
    sub_issuer(&hashed, signer);
    sub_u32(&hashed, 2, c->sig_time);
    CHECK(util_buf_puts(&pre, payload) == 0);
    make_pgp_sig(&sigbody, signer, 0x00, c->hash_id, &hashed, &unhashed, &pre);
    util_buf pkt;
    util_buf_init(&pkt);
    packet(&pkt, 2, sigbody.data, sigbody.len);
    char b64[1024];
    sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)pkt.data, pkt.len,
                      sodium_base64_VARIANT_ORIGINAL);
    CHECK(util_buf_printf(&docsig,
                          "-----BEGIN PGP SIGNATURE-----\n\n%s\n-----END PGP SIGNATURE-----\n",
                          b64) == 0);

    sig_trust *t = NULL;
    util_error_clear(err);
    int rc = sig_trust_parse(&t, "keys", keys.data, keys.len, err);
    CHECK_INT(rc, 0);
    if (rc == 0) {
        sig_when when = {signed_at, 0};
        sig_signer who;
        rc = sig_verify_buffer(&who, t, payload, strlen(payload), docsig.data, docsig.len, &when,
                               "commit abcdef0", err);
        if (rc == 0) {
            char hex[41];
            sig_pgp__hex(hex, primary.fpr, 20);
            CHECK_STR(who.fingerprint, hex);
            CHECK_STR(who.signer, uid);
        }
    }
    sig_trust_free(t);
    util_buf_release(&pkt);
    util_buf_release(&keys);
    util_buf_release(&pre);
    util_buf_release(&hashed);
    util_buf_release(&unhashed);
    util_buf_release(&sigbody);
    util_buf_release(&docsig);
    return rc;
}

static void test_pgp(void)
{
    util_error err;
    const uint32_t t0 = 1600000000;
    pgp_case c = {t0, 0, false, false, -1, 8, t0 + 10};
    CHECK_INT(pgp_run(&c, t0 + 10, &err), 0);
    /* Expiry: valid until t0 + 1000, judged at the committer time too. */
    c.expires = 1000;
    CHECK_INT(pgp_run(&c, t0 + 999, &err), 0);
    CHECK_INT(pgp_run(&c, t0 + 1001, &err), SIG_EEXPIRED);
    CHECK(strstr(err.msg, "commit abcdef0: key ") != NULL && strstr(err.msg, "expired at") != NULL);
    c.expires = 0;
    /* SHA-1 document signature. */
    c.hash_id = 2;
    CHECK_INT(pgp_run(&c, t0 + 10, &err), SIG_EWEAKHASH);
    CHECK(strstr(err.msg, "SHA-1 signature by Tess <tess@example.com> refused") != NULL);
    c.hash_id = 8;
    /* A signature that predates its key. */
    c.sig_time = t0 - 5;
    CHECK_INT(pgp_run(&c, 0, &err), SIG_EBADSIG);
    c.sig_time = t0 + 10;
    /* Signing subkey: needs its back-signature. */
    c.subkey = true;
    CHECK_INT(pgp_run(&c, t0 + 10, &err), SIG_EBADSIG);
    CHECK(strstr(err.msg, "is not a signing key") != NULL);
    c.backsig = true;
    CHECK_INT(pgp_run(&c, t0 + 10, &err), 0);
    c.subkey = c.backsig = false;
    /* Revocation "retired" (3) at t0 + 100 is soft: earlier signatures stand. */
    c.revoke_reason = 3;
    CHECK_INT(pgp_run(&c, t0 + 10, &err), 0);
    CHECK_INT(pgp_run(&c, t0 + 200, &err), SIG_EREVOKED);
    /* "Compromised" (2) revokes everything. */
    c.revoke_reason = 2;
    CHECK_INT(pgp_run(&c, t0 + 10, &err), SIG_EREVOKED);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_split_commit();
    test_split_tag();
    test_allowed_errors();
    test_armour();
    test_ssh();
    test_pgp();
    return test_finish();
}
