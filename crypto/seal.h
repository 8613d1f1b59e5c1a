/* seal.h: sealed values and sealed Secrets (prefix seal_). A value is sealed to an X25519
 * public key (X25519 + HKDF-SHA-256 + XChaCha20-Poly1305, libsodium) and bound to where it
 * may be used; a sealed Secret is an ordinary v1/Secret whose values are sealed strings.
 * The byte-exact format, the key files and the scopes are specified in docs/sealing.md.
 *
 * Thread safety: a loaded seal_keyring is immutable and may be shared by threads that
 * unseal concurrently (the server's workers); its reference count is atomic, so a holder may
 * swap it out while others still use it. Everything else works on caller-owned data. */
#ifndef SEALGATE_SEAL_H
#define SEALGATE_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/util.h"

/* Expected failures (util_error.code); util's codes (UTIL_EIO, UTIL_ENOMEM, ...) also occur. */
enum {
    SEAL_ENOTSEALED = -201,  /* not a sealed value (no `sg1:` prefix, or not base64url) */
    SEAL_ETRUNCATED = -202,  /* shorter than the smallest sealed value */
    SEAL_EUNKNOWNKEY = -203, /* sealed to a key id no loaded key has; msg names the id */
    SEAL_ESCOPE = -204,      /* sealed for another scope, namespace, name or item; msg says which */
    SEAL_ETAMPERED = -205,   /* the ciphertext or header does not authenticate */
    SEAL_EDIGEST = -206,     /* sealgate.io/sealed-digest missing or not matching the values */
    SEAL_EKEYFILE = -207,    /* a key file that is not a sealgate key of the expected kind */
    SEAL_EVERSION = -208,    /* `sgN:` with a version this build does not know */
};

/* Whether code is one of the above for a sealed value (not a key file, not a system error):
 * what is wrong lies in the value, or in the keys it was sealed to. */
static inline bool seal_error_is_value(int code)
{
    return code <= SEAL_ENOTSEALED && code >= SEAL_EVERSION && code != SEAL_EKEYFILE;
}

/* Where a sealed value may be unsealed; the associated data binds accordingly. The numbers
 * are the scope tag byte of the format (docs/sealing.md). */
typedef enum seal_scope {
    SEAL_SCOPE_UNSET = 0,     /* only as an argument: take it from the Secret, else strict */
    SEAL_SCOPE_STRICT = 1,    /* namespace, name and item key */
    SEAL_SCOPE_NAMESPACE = 2, /* namespace */
    SEAL_SCOPE_CLUSTER = 3,   /* nothing: any namespace, name and item */
} seal_scope;

/* "strict", "namespace", "cluster" (also "namespace-wide", "cluster-wide"); false otherwise. */
bool seal_scope_parse(seal_scope *out, const char *s);
/* "strict", "namespace", "cluster", or "unset"; a static string. */
const char *seal_scope_name(seal_scope scope);

/* Names of the label and annotations of a sealed Secret. */
#define SEAL_LABEL             "sealgate.io/sealed"
#define SEAL_ANNOTATION_SCOPE  "sealgate.io/scope"
#define SEAL_ANNOTATION_DIGEST "sealgate.io/sealed-digest"
#define SEAL_PREFIX            "sg1:"

#define SEAL_KEY_ID_SIZE     8
#define SEAL_KEY_ID_HEX_SIZE (2 * SEAL_KEY_ID_SIZE + 1)
#define SEAL_DIGEST_STR_SIZE (7 + 64 + 1) /* "sha256:" + 64 hex + NUL */

/* ---- keys ------------------------------------------------------------------------------ */

/* A public key: not secret, a plain value the caller owns. */
typedef struct seal_pubkey {
    uint8_t pk[32];                /* X25519 public key */
    uint8_t kid[SEAL_KEY_ID_SIZE]; /* first 8 bytes of SHA-256(pk) */
    int64_t created;               /* unix time from the key file; orders keys by age */
} seal_pubkey;

/* Lower-case hex of a key id into out (SEAL_KEY_ID_HEX_SIZE bytes); returns out. */
const char *seal_key_id_hex(char *out, const uint8_t kid[SEAL_KEY_ID_SIZE]);

/* Read a public key file ("-" is stdin). A private key file is accepted too (its public half
 * is derived and the secret wiped), so `seal --pub` works with either. */
int seal_pubkey_load(seal_pubkey *out, const char *path, util_error *err) UTIL_WUR;
/* Parse the text of a public key file; source names it in errors. */
int seal_pubkey_parse(seal_pubkey *out, const char *text, size_t len, const char *source,
                      util_error *err) UTIL_WUR;

/* Make a key pair and write DIR/sealgate.key (0600, never overwritten: UTIL_EIO naming the
 * file if it exists) and DIR/sealgate.pub. out (may be NULL) receives the public key. */
int seal_keygen(const char *dir, seal_pubkey *out, util_error *err) UTIL_WUR;

/* Private keys, held in sodium_malloc'd (guarded, mlocked) memory that is read-only after
 * load and wiped when the last reference goes. Never printed or logged. A keyring is
 * reference counted so that a server can load a new one aside, swap it in, and let requests
 * that started with the old one finish with it (admission/adm_keys.c). */
typedef struct seal_keyring seal_keyring;

/* Load every private key file in files[0..n) into a new keyring (*out: a new reference the
 * caller drops with seal_keyring_free). A duplicate key is loaded once. Errors name the file
 * (and line) and never hold key material. */
int seal_keyring_load(seal_keyring **out, const char *const *files, size_t n,
                      util_error *err) UTIL_WUR;
/* Add a reference to kr (NULL ok); returns kr. Thread-safe. */
seal_keyring *seal_keyring_incref(seal_keyring *kr);
/* Drop one reference (NULL ok); the last one wipes every key and frees the keyring. For a
 * keyring nobody else holds this is the plain free. Thread-safe. */
void seal_keyring_free(seal_keyring *kr);
size_t seal_keyring_count(const seal_keyring *kr);
/* The public half (key id, creation time) of the i-th key, i < seal_keyring_count; not
 * secret, for status pages and logs. UTIL_ENOTFOUND when i is out of range. */
int seal_keyring_pubkey(seal_pubkey *out, const seal_keyring *kr, size_t i) UTIL_WUR;
/* The public half of the newest key (largest `created`), the one to seal new values to. */
int seal_keyring_newest(seal_pubkey *out, const seal_keyring *kr, util_error *err) UTIL_WUR;

/* ---- one value ------------------------------------------------------------------------- */

/* Seal len bytes of plain to pub for scope, appending the printable one-line string
 * (`sg1:...`, no NUL counted) to out (initialised by the caller, who owns it). ns, name and
 * item are what the scope binds (strict: all three, namespace: ns, cluster: none; the unbound
 * ones may be NULL). */
int seal_value_seal(util_buf *out, const seal_pubkey *pub, seal_scope scope, const char *ns,
                    const char *name, const char *item, const void *plain, size_t len,
                    util_error *err) UTIL_WUR;

/* The largest plaintext a sealed value holds: its sealed string stays within
 * LIMIT_SEALED_VALUE (limits.h). */
size_t seal_value_max_plain(void);

/* Unseal the sealed string sealed[0..len) for use in ns/name/item, appending the plaintext
 * to out (initialised by the caller; the caller wipes it: util_buf_release_secret). On
 * failure nothing is appended and err says why: SEAL_ENOTSEALED, SEAL_ETRUNCATED,
 * SEAL_EVERSION, SEAL_EUNKNOWNKEY (naming the key id), SEAL_ESCOPE (naming the scope it was
 * sealed for and which of namespace/name/item differs), SEAL_ETAMPERED. Messages never
 * contain plaintext. The namespace and name themselves are not stored in the value, so the
 * error can only name the scope and the part that differs, not the original place. */
int seal_value_unseal(util_buf *out, const seal_keyring *kr, const char *ns, const char *name,
                      const char *item, const char *sealed, size_t len, util_error *err) UTIL_WUR;

/* Is s[0..len) a sealed value, or the base64 of one (as the apiserver folds stringData into
 * data)? A cheap syntactic check (prefix and alphabet), no decryption. */
bool seal_value_is_sealed(const char *s, size_t len);

/* What a sealed value's header says, without a key. */
typedef struct seal_value_info {
    seal_scope scope;
    uint8_t kid[SEAL_KEY_ID_SIZE];
    size_t plain_len; /* length of the plaintext it holds */
} seal_value_info;
int seal_value_inspect(seal_value_info *out, const char *sealed, size_t len,
                       util_error *err) UTIL_WUR;

/* ---- one value, streamed -------------------------------------------------------------- */

/* The same sealed strings as seal_value_seal / seal_value_unseal, for values that arrive or
 * leave in pieces (the CLI's large values): no buffer of the whole value, each piece in
 * guarded, locked memory that is wiped. */

/* Where streamed output goes. Returns 0, or non-zero when it could not be written (the call
 * that fed it then fails with UTIL_EIO). */
typedef int (*seal_sink)(void *ctx, const void *data, size_t len);

/* A value being sealed: seal_sealer_new (checks the place as seal_value_seal does), any
 * number of seal_sealer_update, seal_sealer_final; seal_sealer_free (NULL ok) in every case.
 * The sealed string (no newline) goes to sink in pieces as it is made; a value under about
 * 12 KiB reaches it in one piece, at final. A value over the limit fails in update
 * (UTIL_ELIMIT) and what reached the sink is then not a sealed value (it has no tag). */
typedef struct seal_sealer seal_sealer;
int seal_sealer_new(seal_sealer **out, const seal_pubkey *pub, seal_scope scope, const char *ns,
                    const char *name, const char *item, seal_sink sink, void *ctx,
                    util_error *err) UTIL_WUR;
int seal_sealer_update(seal_sealer *s, const void *plain, size_t len, util_error *err) UTIL_WUR;
int seal_sealer_final(seal_sealer *s, util_error *err) UTIL_WUR;
void seal_sealer_free(seal_sealer *s);

/* Unseal sealed[0..len) for use in ns/name/item as seal_value_unseal does, handing the
 * plaintext to sink in pieces (borrowed for the call; they pass through one locked buffer,
 * wiped when this returns). The value is authenticated in full before the first piece goes out, so
 * on failure the sink has seen nothing. Errors as seal_value_unseal's. */
int seal_value_unseal_to(const seal_keyring *kr, const char *ns, const char *name, const char *item,
                         const char *sealed, size_t len, seal_sink sink, void *ctx,
                         util_error *err) UTIL_WUR;

/* ---- sealed Secrets -------------------------------------------------------------------- */

/* Does this object carry the label sealgate.io/sealed: "true"? */
bool seal_secret_is_sealed(const json_t *secret);

/* Seal every item of a plain v1/Secret (data values are base64-decoded first; stringData
 * taken as is) into *out (new reference): the same object with every item sealed under
 * stringData, the label, and the scope and digest annotations. Every other field is kept,
 * except kubectl.kubernetes.io/last-applied-configuration, which holds plaintext. scope
 * UNSET: the Secret's sealgate.io/scope annotation, else strict. ns: used when the Secret has
 * no namespace (NULL: a missing namespace is an error unless the scope is cluster); it must
 * agree with the Secret's when both are set. Errors name the item. */
int seal_secret_seal(json_t **out, const json_t *secret, const seal_pubkey *pub, seal_scope scope,
                     const char *ns, util_error *err) UTIL_WUR;

/* Unseal a sealed Secret into *out (new reference): a plain Secret with every item base64
 * under data (sealed values from stringData or data), the sealgate label and annotations
 * removed, everything else kept. The digest annotation is checked when present. Caller
 * releases *out with seal_json_free_secret. ns: as for seal_secret_seal. */
int seal_secret_unseal(json_t **out, const json_t *sealed_secret, const seal_keyring *kr,
                       const char *ns, util_error *err) UTIL_WUR;

/* Re-seal every value of a sealed Secret to pub (same scope, same place stringData/data),
 * with a new digest, into *out (new reference). The plaintext only lives in wiped buffers. */
int seal_secret_reseal(json_t **out, const json_t *sealed_secret, const seal_keyring *kr,
                       const seal_pubkey *pub, const char *ns, util_error *err) UTIL_WUR;

/* Add or replace the items of the plain Secret secret in the sealed Secret sealed_secret,
 * sealed to pub with the sealed Secret's scope, namespace and name, into *out (new
 * reference): new items go under stringData (an item of that name under data is dropped)
 * and the digest is recomputed. Only the items of secret are taken from it. */
int seal_secret_merge(json_t **out, const json_t *sealed_secret, const json_t *secret,
                      const seal_pubkey *pub, util_error *err) UTIL_WUR;

/* The value of sealgate.io/sealed-digest for the sealed items of secret (stringData, and
 * data decoded from base64; items that are not sealed values are not covered) into out
 * (SEAL_DIGEST_STR_SIZE bytes): "sha256:<hex>" over the sorted item names and sealed
 * strings (docs/sealing.md). */
int seal_secret_digest(char *out, const json_t *secret, util_error *err) UTIL_WUR;

/* For the mutating webhook: secret is the object as the apiserver sends it (stringData
 * folded into data, sealed strings base64 under data). When it is not labelled sealed:
 * *out_patch = NULL, return 0. Otherwise check the digest annotation (required), unseal
 * every sealed item and set *out_patch (new reference; release it with
 * seal_json_free_secret, it holds plaintext) to an RFC 6902 array that replaces each with
 * base64 of its plaintext; label and annotations are kept. Items that are not sealed are
 * left alone. Any value that does not unseal fails the whole call with an error naming the
 * item: never a partial patch, never ciphertext passed through. */
int seal_secret_mutate_patch(json_t **out_patch, const json_t *secret, const seal_keyring *kr,
                             util_error *err) UTIL_WUR;

/* Wipe every string inside v (values that held plaintext) and drop the reference; when
 * others still hold v only the reference is dropped. NULL ok. */
void seal_json_free_secret(json_t *v);
/* Wipe every string inside v in place (v stays valid, its strings are zero bytes). */
void seal_json_wipe(json_t *v);

/* ---- internal, for tests and docs/sealing.md's vectors -------------------------------- */

/* seal_value_seal with the ephemeral secret key and the nonce given instead of random. */
int seal__value_seal_with(util_buf *out, const seal_pubkey *pub, seal_scope scope, const char *ns,
                          const char *name, const char *item, const void *plain, size_t len,
                          const uint8_t esk[32], const uint8_t nonce[24], util_error *err) UTIL_WUR;
/* seal_sealer_new with the ephemeral secret key and the nonce given instead of random. */
int seal__sealer_new_with(seal_sealer **out, const seal_pubkey *pub, seal_scope scope,
                          const char *ns, const char *name, const char *item, seal_sink sink,
                          void *ctx, const uint8_t esk[32], const uint8_t nonce[24],
                          util_error *err) UTIL_WUR;
/* A keyring holding one private key given as 32 raw bytes (copied into guarded memory). */
int seal__keyring_from_raw(seal_keyring **out, const uint8_t sk[32], int64_t created,
                           util_error *err) UTIL_WUR;
/* The public key of a raw private key. */
void seal__pubkey_from_raw(seal_pubkey *out, const uint8_t sk[32], int64_t created);
/* sodium_init, as an error value. Every entry point that uses libsodium calls it. */
int seal__sodium_init(util_error *err) UTIL_WUR;
/* The private key with key id kid (and its public key in *pk_out), or NULL. Borrowed. */
const uint8_t *seal__keyring_find(const seal_keyring *kr, const uint8_t kid[SEAL_KEY_ID_SIZE],
                                  const uint8_t **pk_out);

#endif
