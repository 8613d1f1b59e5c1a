/* seal_key.c: sealing keys: the key file format (docs/sealing.md "Key files"), key
 * generation, and the keyring of private keys held in guarded, locked memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/seal.h"
#include "util/banned.h"

#define SEAL_PRIV_TAG     "sealgate-private-key-v1"
#define SEAL_PUB_TAG      "sealgate-public-key-v1"
#define SEAL_KEY_FILE_MAX 4096 /* a key file is one line and a comment */

typedef struct seal_key {
    uint8_t *sk;     /* 32 bytes of sodium_malloc memory, read-only after load */
    seal_pubkey pub; /* its public half, key id and creation time */
} seal_key;

struct seal_keyring {
    atomic_int refs; /* holders: the loader, and each in-flight user of a shared keyring */
    seal_key *keys;
    size_t count;
};

int seal__sodium_init(util_error *err)
{
    if (sodium_init() < 0)
        return util_error_set(err, UTIL_EFAIL, "libsodium could not be initialised");
    return 0;
}

const char *seal_key_id_hex(char *out, const uint8_t kid[SEAL_KEY_ID_SIZE])
{
    sodium_bin2hex(out, SEAL_KEY_ID_HEX_SIZE, kid, SEAL_KEY_ID_SIZE);
    return out;
}

void seal__pubkey_from_raw(seal_pubkey *out, const uint8_t sk[32], int64_t created)
{
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_scalarmult_base(out->pk, sk);
    crypto_hash_sha256(h, out->pk, sizeof(out->pk));
    memcpy(out->kid, h, SEAL_KEY_ID_SIZE);
    out->created = created;
}

/* The fields of the one key line of a key file: tag, creation time, base64 of the key.
 * Lines starting with '#' and blank lines are skipped. Slices point into text. */
typedef struct seal_key_line {
    util_slice tag, created, key;
    unsigned line;
} seal_key_line;

static util_slice seal_next_field(const char **p, const char *end)
{
    while (*p < end && (**p == ' ' || **p == '\t'))
        (*p)++;
    const char *start = *p;
    while (*p < end && **p != ' ' && **p != '\t')
        (*p)++;
    return (util_slice){start, (size_t)(*p - start)};
}

static int seal_key_line_parse(seal_key_line *out, const char *text, size_t len, const char *source,
                               util_error *err)
{
    const char *p = text, *end = text + len;
    unsigned line = 0;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        if (!eol)
            eol = end;
        if (eol > p && eol[-1] == '\r')
            eol--;
        line++;
        const char *q = p;
        while (q < eol && (*q == ' ' || *q == '\t'))
            q++;
        if (q == eol || *q == '#') {
            p = next;
            continue;
        }
        out->tag = seal_next_field(&q, eol);
        out->created = seal_next_field(&q, eol);
        out->key = seal_next_field(&q, eol);
        util_slice extra = seal_next_field(&q, eol);
        out->line = line;
        if (!out->key.len || extra.len)
            return util_error_at(err, SEAL_EKEYFILE, source, line, 1,
                                 "expected '<kind> <created> <base64 key>' in a sealgate key file");
        return 0;
    }
    return util_error_at(err, SEAL_EKEYFILE, source, 0, 0, "no key in file (empty)");
}

static int seal_parse_created(int64_t *out, util_slice s, const char *source, unsigned line,
                              util_error *err)
{
    int64_t v = 0;
    if (!s.len || s.len > 18)
        goto bad;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            goto bad;
        v = v * 10 + (s.ptr[i] - '0');
    }
    *out = v;
    return 0;
bad:
    return util_error_at(err, SEAL_EKEYFILE, source, line, 1,
                         "creation time is not a unix time in seconds");
}

/* Decode the base64 of a 32-byte key into out; false when it is not exactly that. */
static bool seal_decode_key32(uint8_t out[32], util_slice b64)
{
    size_t n = 0;
    const char *end = NULL;
    if (b64.len != sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL) - 1)
        return false;
    if (sodium_base642bin(out, 32, b64.ptr, b64.len, NULL, &n, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        n != 32 || end != b64.ptr + b64.len)
        return false;
    return true;
}

int seal_pubkey_parse(seal_pubkey *out, const char *text, size_t len, const char *source,
                      util_error *err)
{
    seal_key_line kl;
    int rc = seal__sodium_init(err);
    if (rc)
        return rc;
    if ((rc = seal_key_line_parse(&kl, text, len, source, err)))
        return rc;
    int64_t created = 0;
    if ((rc = seal_parse_created(&created, kl.created, source, kl.line, err)))
        return rc;
    if (util_slice_eq_cstr(kl.tag, SEAL_PUB_TAG)) {
        uint8_t pk[32];
        if (!seal_decode_key32(pk, kl.key))
            return util_error_at(err, SEAL_EKEYFILE, source, kl.line, 1,
                                 "public key is not the base64 of 32 bytes");
        uint8_t h[crypto_hash_sha256_BYTES];
        memcpy(out->pk, pk, 32);
        crypto_hash_sha256(h, pk, 32);
        memcpy(out->kid, h, SEAL_KEY_ID_SIZE);
        out->created = created;
        return 0;
    }
    if (util_slice_eq_cstr(kl.tag, SEAL_PRIV_TAG)) {
        /* A private key file given where a public key is expected: derive the public half
         * in guarded memory and wipe it. */
        uint8_t *sk = sodium_malloc(32);
        if (!sk)
            return util_error_set(err, UTIL_ENOMEM, "out of memory");
        bool ok = seal_decode_key32(sk, kl.key);
        if (ok)
            seal__pubkey_from_raw(out, sk, created);
        sodium_free(sk);
        if (!ok)
            return util_error_at(err, SEAL_EKEYFILE, source, kl.line, 1,
                                 "private key is not the base64 of 32 bytes");
        return 0;
    }
    return util_error_at(err, SEAL_EKEYFILE, source, kl.line, 1,
                         "not a sealgate public key (expected '" SEAL_PUB_TAG "')");
}

/* Read the key file path ("-": stdin) straight from read(2) into guarded, locked memory:
 * *out is sodium_malloc'd (the caller frees it with sodium_free, which wipes it), *len the
 * bytes read. No stdio or heap buffer ever holds the text of a private key. */
static int seal_key_file_read(char **out, size_t *len, const char *path, util_error *err)
{
    bool is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "<stdin>" : path;
    *out = NULL;
    *len = 0;
    int rc = seal__sodium_init(err); /* sodium_malloc needs it */
    if (rc)
        return rc;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return util_error_set(err, UTIL_EIO, "cannot open '%s': %s", name, strerror(errno));
    char *buf = sodium_malloc(SEAL_KEY_FILE_MAX + 1);
    if (!buf)
        rc = util_error_set(err, UTIL_ENOMEM, "out of memory (guarded key memory)");
    while (!rc) {
        ssize_t n = read(fd, buf + *len, SEAL_KEY_FILE_MAX + 1 - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = util_error_set(err, UTIL_EIO, "cannot read '%s': %s", name,
                                errno == EISDIR ? "is a folder" : strerror(errno));
        else if (n == 0)
            break;
        else if ((*len += (size_t)n) > SEAL_KEY_FILE_MAX)
            rc =
                util_error_set(err, SEAL_EKEYFILE, "'%s' is over %d bytes: not a sealgate key file",
                               name, SEAL_KEY_FILE_MAX);
    }
    if (!is_stdin)
        close(fd);
    if (rc) {
        sodium_free(buf); /* wipes what was read */
        *len = 0;
        return rc;
    }
    *out = buf;
    return 0;
}

int seal_pubkey_load(seal_pubkey *out, const char *path, util_error *err)
{
    char *text;
    size_t len;
    const char *source = strcmp(path, "-") == 0 ? "<stdin>" : path;
    int rc = seal_key_file_read(&text, &len, path, err);
    if (rc == 0)
        rc = seal_pubkey_parse(out, text, len, source, err);
    sodium_free(text); /* may have been a private key file; wipes it */
    return rc;
}

/* ---- keyring ------------------------------------------------------------------------- */

seal_keyring *seal_keyring_incref(seal_keyring *kr)
{
    if (kr)
        atomic_fetch_add(&kr->refs, 1);
    return kr;
}

void seal_keyring_free(seal_keyring *kr)
{
    if (!kr || atomic_fetch_sub(&kr->refs, 1) != 1)
        return;
    for (size_t i = 0; i < kr->count; i++)
        sodium_free(kr->keys[i].sk); /* sodium_free wipes before unmapping */
    free(kr->keys);
    free(kr);
}

size_t seal_keyring_count(const seal_keyring *kr)
{
    return kr ? kr->count : 0;
}

int seal_keyring_pubkey(seal_pubkey *out, const seal_keyring *kr, size_t i)
{
    if (!kr || i >= kr->count)
        return UTIL_ENOTFOUND;
    *out = kr->keys[i].pub;
    return 0;
}

/* Append a private key (copied into fresh guarded memory) unless the keyring has it. */
static int seal_keyring_add(seal_keyring *kr, const uint8_t sk[32], int64_t created,
                            util_error *err)
{
    seal_pubkey pub;
    seal__pubkey_from_raw(&pub, sk, created);
    for (size_t i = 0; i < kr->count; i++)
        if (sodium_memcmp(kr->keys[i].pub.pk, pub.pk, 32) == 0)
            return 0;
    seal_key *keys = realloc(kr->keys, (kr->count + 1) * sizeof(*keys));
    if (!keys)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    kr->keys = keys;
    uint8_t *copy = sodium_malloc(32);
    if (!copy)
        return util_error_set(err, UTIL_ENOMEM, "out of memory (guarded key memory)");
    memcpy(copy, sk, 32);
    sodium_mprotect_readonly(copy);
    kr->keys[kr->count].sk = copy;
    kr->keys[kr->count].pub = pub;
    kr->count++;
    return 0;
}

static int seal_keyring_load_file(seal_keyring *kr, const char *path, util_error *err)
{
    char *text = NULL;
    size_t len;
    uint8_t *sk = NULL;
    int rc = seal_key_file_read(&text, &len, path, err);
    if (rc)
        goto out;
    seal_key_line kl;
    if ((rc = seal_key_line_parse(&kl, text, len, path, err)))
        goto out;
    if (!util_slice_eq_cstr(kl.tag, SEAL_PRIV_TAG)) {
        rc = util_error_at(err, SEAL_EKEYFILE, path, kl.line, 1,
                           util_slice_eq_cstr(kl.tag, SEAL_PUB_TAG)
                               ? "a public key where a private key is needed"
                               : "not a sealgate private key (expected '" SEAL_PRIV_TAG "')");
        goto out;
    }
    int64_t created = 0;
    if ((rc = seal_parse_created(&created, kl.created, path, kl.line, err)))
        goto out;
    sk = sodium_malloc(32);
    if (!sk) {
        rc = util_error_set(err, UTIL_ENOMEM, "out of memory (guarded key memory)");
        goto out;
    }
    if (!seal_decode_key32(sk, kl.key)) {
        rc = util_error_at(err, SEAL_EKEYFILE, path, kl.line, 1,
                           "private key is not the base64 of 32 bytes");
        goto out;
    }
    rc = seal_keyring_add(kr, sk, created, err);
out:
    sodium_free(sk);   /* NULL ok; wipes */
    sodium_free(text); /* the file's text, wiped */
    return rc;
}

int seal_keyring_load(seal_keyring **out, const char *const *files, size_t n, util_error *err)
{
    *out = NULL;
    int rc = seal__sodium_init(err);
    if (rc)
        return rc;
    if (n == 0)
        return util_error_set(err, UTIL_EINVALID, "no private key files given");
    seal_keyring *kr = calloc(1, sizeof(*kr));
    if (!kr)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    atomic_init(&kr->refs, 1);
    for (size_t i = 0; i < n; i++) {
        if ((rc = seal_keyring_load_file(kr, files[i], err))) {
            seal_keyring_free(kr);
            return rc;
        }
    }
    *out = kr;
    return 0;
}

int seal__keyring_from_raw(seal_keyring **out, const uint8_t sk[32], int64_t created,
                           util_error *err)
{
    *out = NULL;
    int rc = seal__sodium_init(err);
    if (rc)
        return rc;
    seal_keyring *kr = calloc(1, sizeof(*kr));
    if (!kr)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    atomic_init(&kr->refs, 1);
    if ((rc = seal_keyring_add(kr, sk, created, err))) {
        seal_keyring_free(kr);
        return rc;
    }
    *out = kr;
    return 0;
}

int seal_keyring_newest(seal_pubkey *out, const seal_keyring *kr, util_error *err)
{
    if (!kr || kr->count == 0)
        return util_error_set(err, UTIL_ENOTFOUND, "no private keys loaded");
    size_t best = 0;
    for (size_t i = 1; i < kr->count; i++)
        if (kr->keys[i].pub.created >= kr->keys[best].pub.created)
            best = i;
    *out = kr->keys[best].pub;
    return 0;
}

const uint8_t *seal__keyring_find(const seal_keyring *kr, const uint8_t kid[SEAL_KEY_ID_SIZE],
                                  const uint8_t **pk_out)
{
    for (size_t i = 0; kr && i < kr->count; i++)
        if (sodium_memcmp(kr->keys[i].pub.kid, kid, SEAL_KEY_ID_SIZE) == 0) {
            *pk_out = kr->keys[i].pub.pk;
            return kr->keys[i].sk;
        }
    return NULL;
}

/* ---- keygen -------------------------------------------------------------------------- */

/* Write data to path, creating it (never replacing an existing file) with mode. */
static int seal_write_new(const char *path, const char *data, size_t len, mode_t mode,
                          util_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return util_error_set(err, UTIL_EIO, "cannot create '%s': %s%s", path, strerror(errno),
                              errno == EEXIST ? " (refusing to overwrite a key)" : "");
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(path);
            return util_error_set(err, UTIL_EIO, "cannot write '%s': %s", path, strerror(e));
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        unlink(path);
        return util_error_set(err, UTIL_EIO, "cannot write '%s': %s", path, strerror(errno));
    }
    return 0;
}

int seal_keygen(const char *dir, seal_pubkey *out, util_error *err)
{
    int rc = seal__sodium_init(err);
    if (rc)
        return rc;
    char priv_path[4096], pub_path[4096];
    if ((size_t)snprintf(priv_path, sizeof(priv_path), "%s/sealgate.key", dir) >=
            sizeof(priv_path) ||
        (size_t)snprintf(pub_path, sizeof(pub_path), "%s/sealgate.pub", dir) >= sizeof(pub_path))
        return util_error_set(err, UTIL_EINVALID, "output folder path too long");
    struct stat st;
    if (stat(pub_path, &st) == 0)
        return util_error_set(err, UTIL_EIO,
                              "cannot create '%s': file exists (refusing to "
                              "overwrite a key)",
                              pub_path);

    /* Secret key, its base64 and the file text all live in one guarded block. */
    enum { B64 = sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL), LINE = 256 };
    struct seal_keygen_mem {
        uint8_t sk[32];
        char b64[B64];
        char line[LINE];
    } *mem = sodium_malloc(sizeof(*mem));
    if (!mem)
        return util_error_set(err, UTIL_ENOMEM, "out of memory (guarded key memory)");
    randombytes_buf(mem->sk, 32);
    seal_pubkey pub;
    int64_t now = (int64_t)time(NULL);
    seal__pubkey_from_raw(&pub, mem->sk, now);
    char kid[SEAL_KEY_ID_HEX_SIZE];
    seal_key_id_hex(kid, pub.kid);

    sodium_bin2base64(mem->b64, B64, mem->sk, 32, sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf(mem->line, LINE,
                     "# sealgate private key, key id %s: keep it secret, back it up\n"
                     "%s %" PRId64 " %s\n",
                     kid, SEAL_PRIV_TAG, now, mem->b64);
    rc = seal_write_new(priv_path, mem->line, (size_t)n, 0600, err);
    sodium_free(mem);
    if (rc)
        return rc;

    char pline[256], pb64[B64];
    sodium_bin2base64(pb64, sizeof(pb64), pub.pk, 32, sodium_base64_VARIANT_ORIGINAL);
    n = snprintf(pline, sizeof(pline), "# sealgate public key, key id %s\n%s %" PRId64 " %s\n", kid,
                 SEAL_PUB_TAG, now, pb64);
    if ((rc = seal_write_new(pub_path, pline, (size_t)n, 0644, err))) {
        unlink(priv_path); /* no half pair left behind */
        return rc;
    }
    if (out)
        *out = pub;
    return 0;
}
