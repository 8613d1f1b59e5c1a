/* sig_test_unit.c: the sig_ parsers in-process: the commit and tag splitters (a gpgsig block in
 * the message is not a signature), allowed-signers errors with line numbers, armour checksums,
 * and SSH signatures made here with libsodium (good, tampered, namespace, window, hash). */
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_split_commit();
    test_split_tag();
    test_allowed_errors();
    test_armour();
    test_ssh();
    return test_finish();
}
