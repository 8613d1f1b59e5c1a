/* seal_test_value.c: sealed values: round trips in every scope (binary, empty, 1 MiB),
 * refusals (moved, every byte flipped, truncated, wrong or unknown key, garbage), the base64
 * form of is_sealed, key files, and the test vectors of docs/sealing.md (read from the doc,
 * so the doc and the code cannot drift). `seal_test_value --print-vectors` prints them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/seal.h"
#include "test.h"
#include "util/banned.h"

typedef struct fixture {
    seal_keyring *kr;
    seal_pubkey pub;
} fixture;

static void fixture_init(fixture *f, uint8_t seed)
{
    uint8_t sk[32];
    util_error err = {0};
    memset(sk, seed, sizeof(sk));
    sk[0] ^= 0x5a;
    CHECK_INT(seal__keyring_from_raw(&f->kr, sk, seed, &err), 0);
    CHECK_INT(seal_keyring_newest(&f->pub, f->kr, &err), 0);
}

/* Seal in one place and try to unseal in another; returns the error code (0: unsealed to
 * the same bytes). */
static int try_unseal(const fixture *f, const char *sealed, size_t len, const char *ns,
                      const char *name, const char *item, const void *want, size_t want_len,
                      util_error *err)
{
    util_buf plain;
    util_buf_init(&plain);
    int rc = seal_value_unseal(&plain, f->kr, ns, name, item, sealed, len, err);
    if (rc == 0) {
        CHECK_INT(plain.len, want_len);
        CHECK(want_len == 0 || (plain.data && memcmp(plain.data, want, want_len) == 0));
    } else {
        CHECK_INT(plain.len, 0); /* nothing appended on failure */
    }
    util_buf_release_secret(&plain);
    return rc;
}

static void test_round_trips(const fixture *f)
{
    static const seal_scope scopes[] = {SEAL_SCOPE_STRICT, SEAL_SCOPE_NAMESPACE,
                                        SEAL_SCOPE_CLUSTER};
    size_t big = 1024 * 1024;
    uint8_t *bin = malloc(big);
    randombytes_buf(bin, big);
    const size_t sizes[] = {0, 1, 5, 100, 256, big};
    for (size_t s = 0; s < 3; s++) {
        for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
            util_buf sealed;
            util_error err = {0};
            util_buf_init(&sealed);
            CHECK_INT(seal_value_seal(&sealed, &f->pub, scopes[s], "prod", "db", "password", bin,
                                      sizes[z], &err),
                      0);
            CHECK(seal_value_is_sealed(sealed.data, sealed.len));
            CHECK(strlen(sealed.data) == sealed.len); /* printable, no NUL, one line */
            CHECK(strchr(sealed.data, '\n') == NULL);
            seal_value_info info;
            CHECK_INT(seal_value_inspect(&info, sealed.data, sealed.len, &err), 0);
            CHECK_INT(info.scope, scopes[s]);
            CHECK_INT(info.plain_len, sizes[z]);
            CHECK(memcmp(info.kid, f->pub.kid, SEAL_KEY_ID_SIZE) == 0);
            CHECK_INT(try_unseal(f, sealed.data, sealed.len, "prod", "db", "password", bin,
                                 sizes[z], &err),
                      0);
            /* Moved: another namespace, name or item. */
            int want_ns = scopes[s] == SEAL_SCOPE_CLUSTER ? 0 : SEAL_ESCOPE;
            int want_name = scopes[s] == SEAL_SCOPE_STRICT ? SEAL_ESCOPE : 0;
            CHECK_INT(try_unseal(f, sealed.data, sealed.len, "staging", "db", "password", bin,
                                 sizes[z], &err),
                      want_ns);
            if (want_ns)
                CHECK(strstr(err.msg, "another namespace") &&
                      strstr(err.msg, seal_scope_name(scopes[s])));
            CHECK_INT(try_unseal(f, sealed.data, sealed.len, "prod", "db2", "password", bin,
                                 sizes[z], &err),
                      want_name);
            if (want_name)
                CHECK(strstr(err.msg, "another name") != NULL);
            CHECK_INT(
                try_unseal(f, sealed.data, sealed.len, "prod", "db", "pass", bin, sizes[z], &err),
                want_name);
            if (want_name)
                CHECK(strstr(err.msg, "another item") != NULL);
            util_buf_release(&sealed);
        }
    }
    free(bin);
}

/* Every byte of a short sealed value, flipped, is refused (the prefix and the base64
 * characters: each flip either leaves the alphabet or changes the decoded bytes). */
static void test_flips(const fixture *f)
{
    util_buf sealed;
    util_error err = {0};
    util_buf_init(&sealed);
    CHECK_INT(seal_value_seal(&sealed, &f->pub, SEAL_SCOPE_STRICT, "ns", "n", "k", "pw", 2, &err),
              0);
    int refused = 0, tampered = 0;
    for (size_t i = 0; i < sealed.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            char *copy = malloc(sealed.len + 1);
            memcpy(copy, sealed.data, sealed.len + 1);
            copy[i] ^= (char)(1 << bit);
            int rc = try_unseal(f, copy, sealed.len, "ns", "n", "k", "pw", 2, &err);
            refused += rc != 0;
            tampered += rc == SEAL_ETAMPERED;
            CHECK(rc != 0);
            free(copy);
        }
    }
    CHECK_INT(refused, (int)sealed.len * 8);
    CHECK(tampered > (int)sealed.len * 2); /* most flips are caught by the AEAD itself */
    util_buf_release(&sealed);
}

static void test_refusals(const fixture *f, const fixture *other)
{
    util_buf sealed;
    util_error err = {0};
    util_buf_init(&sealed);
    CHECK_INT(seal_value_seal(&sealed, &f->pub, SEAL_SCOPE_NAMESPACE, "ns", NULL, NULL, "secret", 6,
                              &err),
              0);
    /* Wrong key: the key id names the key it was sealed to. */
    char hex[SEAL_KEY_ID_HEX_SIZE];
    CHECK_INT(try_unseal(other, sealed.data, sealed.len, "ns", "n", "k", "secret", 6, &err),
              SEAL_EUNKNOWNKEY);
    CHECK(strstr(err.msg, seal_key_id_hex(hex, f->pub.kid)) != NULL);
    /* Truncated: below the minimum, and cut in the middle of the ciphertext. */
    for (size_t cut = 0; cut < sealed.len; cut++) {
        int rc = try_unseal(f, sealed.data, cut, "ns", "n", "k", "secret", 6, &err);
        CHECK(rc != 0);
        if (cut >= 4 && cut < 120)
            CHECK_INT(rc, SEAL_ETRUNCATED);
    }
    CHECK_INT(try_unseal(f, sealed.data, sealed.len - 1, "ns", "n", "k", "secret", 6, &err),
              SEAL_ETAMPERED);
    /* Garbage. */
    CHECK_INT(try_unseal(f, "hello", 5, "ns", "n", "k", "", 0, &err), SEAL_ENOTSEALED);
    CHECK_INT(try_unseal(f, "", 0, "ns", "n", "k", "", 0, &err), SEAL_ENOTSEALED);
    CHECK_INT(try_unseal(f, "sg2:AAAA", 8, "ns", "n", "k", "", 0, &err), SEAL_EVERSION);
    CHECK_INT(try_unseal(f, "sg1:abc.def", 11, "ns", "n", "k", "", 0, &err), SEAL_ENOTSEALED);
    char junk[200] = "sg1:";
    memset(junk + 4, 'A', 150);
    CHECK_INT(try_unseal(f, junk, 154, "ns", "n", "k", "", 0, &err), SEAL_ETAMPERED);
    /* Unknown scope tag: base64url of 0x04 then zeros. */
    junk[4] = 'B';
    CHECK_INT(try_unseal(f, junk, 154, "ns", "n", "k", "", 0, &err), SEAL_ETAMPERED);
    /* A scope that needs a namespace, unsealed without one. */
    CHECK_INT(try_unseal(f, sealed.data, sealed.len, NULL, NULL, NULL, "", 0, &err), SEAL_ESCOPE);
    /* Sealing refuses missing places. */
    util_buf tmp;
    util_buf_init(&tmp);
    CHECK_INT(seal_value_seal(&tmp, &f->pub, SEAL_SCOPE_STRICT, "ns", NULL, "k", "x", 1, &err),
              UTIL_EINVALID);
    CHECK_INT(seal_value_seal(&tmp, &f->pub, SEAL_SCOPE_NAMESPACE, NULL, NULL, NULL, "x", 1, &err),
              UTIL_EINVALID);
    CHECK_INT(tmp.len, 0);
    util_buf_release(&tmp);
    util_buf_release(&sealed);
}

static void test_is_sealed(const fixture *f)
{
    util_buf sealed;
    util_error err = {0};
    util_buf_init(&sealed);
    CHECK_INT(seal_value_seal(&sealed, &f->pub, SEAL_SCOPE_CLUSTER, NULL, NULL, NULL, "v", 1, &err),
              0);
    char b64[512];
    sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)sealed.data, sealed.len,
                      sodium_base64_VARIANT_ORIGINAL);
    CHECK(seal_value_is_sealed(b64, strlen(b64)));
    CHECK(!seal_value_is_sealed(b64, strlen(b64) - 8));   /* decodes to a cut value */
    CHECK(!seal_value_is_sealed("c2cxOmFiYy5kZWY=", 16)); /* base64 of "sg1:abc.def" */
    CHECK(!seal_value_is_sealed("sg1:abc", 7));
    CHECK(!seal_value_is_sealed("plain", 5));
    b64[10] = '!';
    CHECK(!seal_value_is_sealed(b64, strlen(b64)));
    util_buf_release(&sealed);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Key files from disk (read straight into guarded memory): a keygen pair loads as a keyring
 * and as a public key from either file; oversized, folder, missing and damaged files are
 * refused naming the file, and no error ever carries the key's text. */
static void test_key_file_loading(void)
{
    char dir[] = "/tmp/seal_test_keysXXXXXX", priv[128], pub_path[128], big[128], bad[128];
    CHECK(mkdtemp(dir) != NULL);
    util_error err = {0};
    seal_pubkey made, pub;
    seal_keyring *kr = NULL;
    snprintf(priv, sizeof(priv), "%s/sealgate.key", dir);
    snprintf(pub_path, sizeof(pub_path), "%s/sealgate.pub", dir);
    snprintf(big, sizeof(big), "%s/big.key", dir);
    snprintf(bad, sizeof(bad), "%s/bad.key", dir);
    CHECK_INT(seal_keygen(dir, &made, &err), 0);
    CHECK_INT(seal_keygen(dir, NULL, &err), UTIL_EIO); /* never overwrites */
    const char *files[] = {priv, priv};
    CHECK_INT(seal_keyring_load(&kr, files, 2, &err), 0);
    CHECK_INT(seal_keyring_count(kr), 1); /* loaded once */
    CHECK_INT(seal_keyring_newest(&pub, kr, &err), 0);
    CHECK(memcmp(pub.pk, made.pk, 32) == 0);
    seal_keyring_free(kr);
    CHECK_INT(seal_pubkey_load(&pub, priv, &err), 0); /* --pub with the private key file */
    CHECK(memcmp(pub.pk, made.pk, 32) == 0);
    CHECK_INT(seal_pubkey_load(&pub, pub_path, &err), 0);
    CHECK(memcmp(pub.pk, made.pk, 32) == 0);
    CHECK_INT(seal_keyring_load(&kr, (const char *[]){pub_path}, 1, &err), SEAL_EKEYFILE);
    CHECK(strstr(err.msg, "a public key where a private key is needed") != NULL);

    /* The private key's base64, to look for in error messages. */
    char keytext[512] = "", b64[64] = "";
    FILE *f = fopen(priv, "r");
    CHECK(f != NULL);
    while (f && fgets(keytext, sizeof(keytext), f))
        if (strncmp(keytext, "sealgate-private-key-v1 ", 24) == 0)
            break;
    if (f)
        fclose(f);
    char *last = strrchr(keytext, ' ');
    CHECK(last != NULL);
    if (last)
        snprintf(b64, sizeof(b64), "%.44s", last + 1);
    CHECK_INT(strlen(b64), 44);

    util_buf text;
    util_buf_init(&text);
    for (int i = 0; i < 80; i++)
        CHECK_INT(util_buf_puts(&text, "# padding padding padding padding padding padding pad\n"),
                  0);
    CHECK_INT(util_buf_puts(&text, keytext), 0);
    write_file(big, text.data);
    util_buf_release(&text);
    CHECK_INT(seal_keyring_load(&kr, (const char *[]){big}, 1, &err), SEAL_EKEYFILE);
    CHECK(strstr(err.msg, "is over 4096 bytes") != NULL);
    CHECK(strstr(err.msg, b64) == NULL);

    char damaged[600];
    snprintf(damaged, sizeof(damaged), "sealgate-private-key-v1 1 %.40s\n", b64);
    write_file(bad, damaged);
    CHECK_INT(seal_keyring_load(&kr, (const char *[]){bad}, 1, &err), SEAL_EKEYFILE);
    CHECK(strstr(err.msg, "not the base64 of 32 bytes") != NULL);
    CHECK(strstr(err.msg, "AAAA") == NULL && strstr(err.msg, b64) == NULL);
    snprintf(damaged, sizeof(damaged), "sealgate-private-key-v1 1 %s extra\n", b64);
    write_file(bad, damaged);
    CHECK_INT(seal_keyring_load(&kr, (const char *[]){bad}, 1, &err), SEAL_EKEYFILE);
    CHECK(strstr(err.msg, b64) == NULL);
    CHECK(kr == NULL);

    CHECK_INT(seal_keyring_load(&kr, (const char *[]){dir}, 1, &err), UTIL_EIO);
    CHECK(strstr(err.msg, "is a folder") != NULL);
    CHECK_INT(seal_pubkey_load(&pub, "/nonexistent/sealgate.pub", &err), UTIL_EIO);
    CHECK(strstr(err.msg, "/nonexistent/sealgate.pub") != NULL);
    unlink(priv);
    unlink(pub_path);
    unlink(big);
    unlink(bad);
    rmdir(dir);
}

static void test_key_files(void)
{
    seal_pubkey pub;
    util_error err = {0};
    const char *good = "# comment\nsealgate-public-key-v1 1700000000 "
                       "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
    CHECK_INT(seal_pubkey_parse(&pub, good, strlen(good), "t.pub", &err), 0);
    CHECK_INT(pub.created, 1700000000);
    CHECK_INT(pub.pk[31], 31);
    const char *bad[] = {
        "",
        "# only\n",
        "sealgate-public-key-v1 x AAAA\n",
        "sealgate-public-key-v1 1 AAAA\n",
        "something-else 1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "sealgate-public-key-v1 1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= x\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_INT(seal_pubkey_parse(&pub, bad[i], strlen(bad[i]), "t.pub", &err), SEAL_EKEYFILE);
        CHECK(err.source && strcmp(err.source, "t.pub") == 0);
    }
    test_key_file_loading();
    seal_scope sc;
    CHECK(seal_scope_parse(&sc, "namespace-wide") && sc == SEAL_SCOPE_NAMESPACE);
    CHECK(!seal_scope_parse(&sc, "global"));
}

/* ---- test vectors ------------------------------------------------------------------------ */

typedef struct vector {
    const char *scope, *ns, *name, *item, *plain_hex;
} vector;

static const vector vectors[] = {
    {"strict", "prod", "db", "password", "68756e74657232"}, /* "hunter2" */
    {"namespace", "prod", "", "", "00ff10"},
    {"cluster", "", "", "", ""},
};

static void vector_keys(uint8_t sk[32], uint8_t esk[32], uint8_t nonce[24])
{
    for (int i = 0; i < 32; i++) {
        sk[i] = (uint8_t)(i + 1);
        esk[i] = (uint8_t)(0x40 + i);
    }
    for (int i = 0; i < 24; i++)
        nonce[i] = (uint8_t)(0x80 + i);
}

static void hex(char *out, size_t size, const uint8_t *p, size_t n)
{
    sodium_bin2hex(out, size, p, n);
}

/* Compute vector v's sealed string into out (caller releases). */
static int vector_seal(util_buf *out, const vector *v)
{
    uint8_t sk[32], esk[32], nonce[24], plain[64];
    size_t plen = 0;
    seal_pubkey pub;
    seal_scope scope;
    util_error err = {0};
    vector_keys(sk, esk, nonce);
    seal__pubkey_from_raw(&pub, sk, 0);
    if (!seal_scope_parse(&scope, v->scope))
        return -1;
    sodium_hex2bin(plain, sizeof(plain), v->plain_hex, strlen(v->plain_hex), NULL, &plen, NULL);
    return seal__value_seal_with(out, &pub, scope, v->ns, v->name, v->item, plain, plen, esk, nonce,
                                 &err);
}

static int print_vectors(void)
{
    uint8_t sk[32], esk[32], nonce[24], epk[32];
    char h[100];
    seal_pubkey pub;
    vector_keys(sk, esk, nonce);
    seal__pubkey_from_raw(&pub, sk, 0);
    crypto_scalarmult_base(epk, esk);
    hex(h, sizeof(h), sk, 32);
    printf("recipient-sk: %s\n", h);
    hex(h, sizeof(h), pub.pk, 32);
    printf("recipient-pk: %s\n", h);
    hex(h, sizeof(h), pub.kid, 8);
    printf("key-id: %s\n", h);
    hex(h, sizeof(h), esk, 32);
    printf("ephemeral-sk: %s\n", h);
    hex(h, sizeof(h), epk, 32);
    printf("ephemeral-pk: %s\n", h);
    hex(h, sizeof(h), nonce, 24);
    printf("nonce: %s\n", h);
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        util_buf b;
        util_buf_init(&b);
        if (vector_seal(&b, &vectors[i]))
            return 1;
        printf("\nscope: %s\nnamespace: %s\nname: %s\nitem: %s\nplaintext: %s\nsealed: %s\n",
               vectors[i].scope, vectors[i].ns, vectors[i].name, vectors[i].item,
               vectors[i].plain_hex, b.data);
        util_buf_release(&b);
    }
    return 0;
}

/* Each vector's sealed string must appear in docs/sealing.md, and unseal back. */
static void test_vectors(void)
{
    const char *src = getenv("SEALGATE_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/docs/sealing.md", src ? src : ".");
    util_buf doc;
    util_error err = {0};
    util_buf_init(&doc);
    CHECK_INT(util_file_read(&doc, path, 1 << 20, &err), 0);
    uint8_t sk[32], esk[32], nonce[24];
    vector_keys(sk, esk, nonce);
    seal_keyring *kr = NULL;
    CHECK_INT(seal__keyring_from_raw(&kr, sk, 0, &err), 0);
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        util_buf b, plain;
        util_buf_init(&b);
        util_buf_init(&plain);
        CHECK_INT(vector_seal(&b, &vectors[i]), 0);
        char line[1024];
        snprintf(line, sizeof(line), "sealed: %s\n", b.data);
        CHECK(doc.data && strstr(doc.data, line) != NULL);
        if (!doc.data || !strstr(doc.data, line))
            fprintf(stderr, "vector %zu not in %s: %s", i, path, line);
        CHECK_INT(seal_value_unseal(&plain, kr, vectors[i].ns, vectors[i].name, vectors[i].item,
                                    b.data, b.len, &err),
                  0);
        char ph[64];
        hex(ph, sizeof(ph), (const uint8_t *)plain.data, plain.len);
        CHECK_STR(ph, vectors[i].plain_hex);
        util_buf_release_secret(&plain);
        util_buf_release(&b);
    }
    seal_keyring_free(kr);
    util_buf_release(&doc);
}

/* A sink that appends to a util_buf, counting calls; fail makes it refuse. */
typedef struct sink_buf {
    util_buf b;
    size_t calls;
    bool fail;
} sink_buf;

static int sink_append(void *ctx, const void *data, size_t len)
{
    sink_buf *s = ctx;
    s->calls++;
    return s->fail ? -1 : util_buf_append(&s->b, data, len);
}

/* Stream-seal plain[0..len) in pieces of step bytes (0: pieces of varying size). */
static int stream_seal(sink_buf *out, const fixture *f, const char *item, const uint8_t *plain,
                       size_t len, size_t step, const uint8_t esk[32], const uint8_t nonce[24],
                       util_error *err)
{
    seal_sealer *s = NULL;
    int rc = seal__sealer_new_with(&s, &f->pub, SEAL_SCOPE_STRICT, "prod", "db", item, sink_append,
                                   out, esk, nonce, err);
    size_t off = 0, i = 0;
    while (!rc && off < len) {
        size_t n = step ? step : (size_t[]){1, 63, 64, 65, 7000, 12288, 100003}[i++ % 7];
        n = n < len - off ? n : len - off;
        rc = seal_sealer_update(s, plain + off, n, err);
        off += n;
    }
    if (!rc)
        rc = seal_sealer_final(s, err);
    seal_sealer_free(s);
    return rc;
}

/* The streamed sealer and unsealer give and take exactly the one-shot bytes, at every piece
 * boundary (ChaCha20 blocks of 64, base64 groups of 3, pieces of 12 KiB); the unsealer hands
 * out nothing before the tag is checked. */
static void test_streaming(const fixture *f, const fixture *other)
{
    uint8_t esk[32], nonce[24];
    size_t big = 1024 * 1024 + 5;
    uint8_t *plain = malloc(big);
    randombytes_buf(plain, big);
    randombytes_buf(esk, sizeof(esk));
    randombytes_buf(nonce, sizeof(nonce));
    const size_t sizes[] = {
        0,         1,   2,   3,    15,    16,    17,    63,    64,    65,
        127,       128, 129, 1000, 12287, 12288, 12289, 49152, 98321, 3 * 49152 + 1,
        big - 777, big};
    for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
        size_t len = sizes[z];
        util_error err = {0};
        util_buf one;
        sink_buf st = {.calls = 0}, back = {.calls = 0};
        util_buf_init(&one);
        util_buf_init(&st.b);
        util_buf_init(&back.b);
        CHECK_INT(seal__value_seal_with(&one, &f->pub, SEAL_SCOPE_STRICT, "prod", "db", "pw", plain,
                                        len, esk, nonce, &err),
                  0);
        for (size_t step = 0; step <= 1; step++) {
            st.b.len = 0;
            CHECK_INT(stream_seal(&st, f, "pw", plain, len, step ? 4096 : 0, esk, nonce, &err), 0);
            CHECK_INT(st.b.len, one.len);
            CHECK(st.b.len == one.len && memcmp(st.b.data, one.data, one.len) == 0);
        }
        if (len < 10000)
            CHECK_INT(st.calls, 2); /* one piece per sealing: small values leave whole */
        CHECK_INT(seal_value_unseal_to(f->kr, "prod", "db", "pw", one.data, one.len, sink_append,
                                       &back, &err),
                  0);
        CHECK_INT(back.b.len, len);
        CHECK(back.b.len == len && (len == 0 || memcmp(back.b.data, plain, len) == 0));

        /* A byte flipped near the end (a late piece): refused, and the sink saw nothing. */
        back.calls = 0;
        char keep = one.data[one.len - 30];
        one.data[one.len - 30] = keep == 'A' ? 'B' : 'A'; /* stays base64url */
        CHECK_INT(seal_value_unseal_to(f->kr, "prod", "db", "pw", one.data, one.len, sink_append,
                                       &back, &err),
                  SEAL_ETAMPERED);
        CHECK_INT(back.calls, 0);
        one.data[one.len - 30] = keep;
        /* Cut short by one and by five characters, moved, and another key: refused. */
        util_error e1 = {0}, e2 = {0};
        for (size_t cut = 1; cut <= 5; cut += 4) {
            int a = seal_value_unseal_to(f->kr, "prod", "db", "pw", one.data, one.len - cut,
                                         sink_append, &back, &e1);
            util_buf tmp;
            util_buf_init(&tmp);
            int b =
                seal_value_unseal(&tmp, f->kr, "prod", "db", "pw", one.data, one.len - cut, &e2);
            util_buf_release(&tmp);
            CHECK(a != 0 && a == b);
        }
        CHECK_INT(seal_value_unseal_to(f->kr, "prod", "db", "other", one.data, one.len, sink_append,
                                       &back, &err),
                  SEAL_ESCOPE);
        CHECK_INT(seal_value_unseal_to(other->kr, "prod", "db", "pw", one.data, one.len,
                                       sink_append, &back, &err),
                  SEAL_EUNKNOWNKEY);
        CHECK_INT(back.calls, 0);
        util_buf_release(&one);
        util_buf_release(&st.b);
        util_buf_release_secret(&back.b);
    }

    /* Garbage: the same errors as the one-shot decoder. */
    static const char *const garbage[] = {"", "hello", "sg2:AAAA", "sg1:AAAA",
                                          "sg1:" /* then 200 'A' and a '!' */};
    for (size_t g = 0; g < sizeof(garbage) / sizeof(garbage[0]); g++) {
        char text[256];
        util_error e1 = {0}, e2 = {0};
        size_t n = strlen(garbage[g]);
        memcpy(text, garbage[g], n);
        if (g == 4) {
            memset(text + n, 'A', 200);
            text[n + 200] = '!';
            n += 201;
        }
        sink_buf back = {.calls = 0};
        util_buf tmp;
        util_buf_init(&back.b);
        util_buf_init(&tmp);
        int a = seal_value_unseal_to(f->kr, NULL, NULL, NULL, text, n, sink_append, &back, &e1);
        int b = seal_value_unseal(&tmp, f->kr, NULL, NULL, NULL, text, n, &e2);
        CHECK(a != 0);
        CHECK_INT(a, b);
        CHECK_STR(e1.msg, e2.msg);
        CHECK_INT(back.calls, 0);
        util_buf_release(&back.b);
        util_buf_release(&tmp);
    }

    /* Over the limit in pieces: refused in update; a failing sink is an I/O error. */
    util_error err = {0};
    seal_sealer *s = NULL;
    sink_buf out = {.calls = 0};
    util_buf_init(&out.b);
    CHECK_INT(
        seal_sealer_new(&s, &f->pub, SEAL_SCOPE_CLUSTER, NULL, NULL, NULL, sink_append, &out, &err),
        0);
    int rc = 0;
    for (size_t i = 0; i < 3 && !rc; i++)
        rc = seal_sealer_update(s, plain, big, &err);
    CHECK_INT(rc, UTIL_ELIMIT);
    seal_sealer_free(s);
    out.fail = true;
    CHECK_INT(
        seal_sealer_new(&s, &f->pub, SEAL_SCOPE_CLUSTER, NULL, NULL, NULL, sink_append, &out, &err),
        0);
    CHECK_INT(seal_sealer_update(s, plain, big, &err), UTIL_EIO);
    seal_sealer_free(s);
    CHECK_INT(seal_sealer_new(&s, &f->pub, SEAL_SCOPE_STRICT, "prod", NULL, NULL, sink_append, &out,
                              &err),
              UTIL_EINVALID);
    CHECK(s == NULL);
    util_buf_release(&out.b);
    free(plain);
}

/* The base64url codec of sealed strings (seal_value.c's own, for speed) against libsodium's:
 * every length of the last group encodes as libsodium does; a last character with non-zero
 * unused bits (a second spelling of the same bytes) and a byte outside the alphabet are
 * refused by name, one-shot and streamed alike. */
static void test_codec(const fixture *f)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t plain[64], bin[256];
    char text[400];
    randombytes_buf(plain, sizeof(plain));
    for (size_t len = 0; len < sizeof(plain); len++) {
        util_error err = {0};
        util_buf sealed;
        util_buf_init(&sealed);
        CHECK_INT(seal_value_seal(&sealed, &f->pub, SEAL_SCOPE_CLUSTER, NULL, NULL, NULL, plain,
                                  len, &err),
                  0);
        const char *body = sealed.data + 4;
        size_t blen = sealed.len - 4, bin_len = 0;
        CHECK_INT(sodium_base642bin(bin, sizeof(bin), body, blen, NULL, &bin_len, NULL,
                                    sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  0);
        sodium_bin2base64(text, sizeof(text), bin, bin_len,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        CHECK(strlen(text) == blen && memcmp(text, body, blen) == 0);
        CHECK_INT(try_unseal(f, sealed.data, sealed.len, NULL, NULL, NULL, plain, len, &err), 0);
        sink_buf back = {.calls = 0};
        util_buf_init(&back.b);
        if (blen % 4 == 2 || blen % 4 == 3) { /* the last character has unused low bits */
            char *last = sealed.data + sealed.len - 1;
            *last = alphabet[(strchr(alphabet, *last) - alphabet) | 1];
            CHECK_INT(try_unseal(f, sealed.data, sealed.len, NULL, NULL, NULL, "", 0, &err),
                      SEAL_ETAMPERED);
            CHECK(strstr(err.msg, "does not decode") != NULL);
            CHECK_INT(seal_value_unseal_to(f->kr, NULL, NULL, NULL, sealed.data, sealed.len,
                                           sink_append, &back, &err),
                      SEAL_ETAMPERED);
            CHECK(strstr(err.msg, "does not decode") != NULL);
        }
        size_t at = 4 + len % blen; /* a byte outside the alphabet, named by its position */
        sealed.data[at] = '=';
        char want[64];
        snprintf(want, sizeof(want), "byte %zu is not base64url", at);
        CHECK_INT(try_unseal(f, sealed.data, sealed.len, NULL, NULL, NULL, "", 0, &err),
                  SEAL_ENOTSEALED);
        CHECK(strstr(err.msg, want) != NULL);
        CHECK_INT(seal_value_unseal_to(f->kr, NULL, NULL, NULL, sealed.data, sealed.len,
                                       sink_append, &back, &err),
                  SEAL_ENOTSEALED);
        CHECK(strstr(err.msg, want) != NULL);
        CHECK_INT(back.b.len, 0);
        util_buf_release(&back.b);
        util_buf_release(&sealed);
    }
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0)
        return 1;
    if (argc > 1 && strcmp(argv[1], "--print-vectors") == 0)
        return print_vectors();
    fixture f, other;
    fixture_init(&f, 1);
    fixture_init(&other, 2);
    test_round_trips(&f);
    test_flips(&f);
    test_refusals(&f, &other);
    test_is_sealed(&f);
    test_streaming(&f, &other);
    test_codec(&f);
    test_key_files();
    test_vectors();
    seal_keyring_free(f.kr);
    seal_keyring_free(other.kr);
    return test_finish();
}
