/* sig.h: commit and tag signature verification (the sig_ module). Trust comes from files in
 * git's allowed-signers format (SSH keys) or ASCII-armoured OpenPGP public keys; signatures are
 * split off git objects by sealgate's own header parser and verified in-process with OpenSSL
 * and libsodium (no gpg, no ssh-keygen). Formats and rules: docs/signatures.md. */
#ifndef SEALGATE_SIG_H
#define SEALGATE_SIG_H

#include <stddef.h>
#include <stdint.h>

#include <git2.h>

#include "util/util.h"

/* Why a signature is refused. err->msg always names the object (short id) and the reason;
 * every code here is a finding (exit 1 in the CLI), not an input error. */
enum {
    SIG_EUNSIGNED = -101,    /* no signature (a `gpgsig` block in the message does not count) */
    SIG_EUNTRUSTED = -102,   /* signed by a key no trust file holds; msg has its fingerprint */
    SIG_EBADSIG = -103,      /* the signature does not verify, or is malformed */
    SIG_EEXPIRED = -104,     /* the key (or the signature) had expired */
    SIG_EREVOKED = -105,     /* the key or subkey is revoked */
    SIG_EWINDOW = -106,      /* outside the allowed-signers valid-after / valid-before window */
    SIG_ENAMESPACE = -107,   /* an SSH signature for another namespace than `git` */
    SIG_EWEAKHASH = -108,    /* digest SHA-1 (or weaker): refused */
    SIG_EUNSUPPORTED = -109, /* an algorithm or format sealgate does not verify (x509, DSA) */
    SIG_ETAGNAME = -110,     /* a tag object whose `tag` header is not the name asked for */
};

/* Kinds of signature / key. */
enum { SIG_SSH = 1, SIG_PGP = 2 };

/* Who signed, filled on success (and, as far as known, on SIG_E* failures). */
typedef struct sig_signer {
    char signer[256];      /* SSH: the allowed-signers principals field; PGP: primary user id */
    char fingerprint[128]; /* SSH: "SHA256:<base64>"; PGP: 40 upper-case hex of the primary key */
    char key[128];         /* the key that signed: SSH as fingerprint; PGP the (sub)key's hex fpr */
    int kind;              /* SIG_SSH or SIG_PGP; 0 when nothing was parsed */
    int64_t signed_at;     /* committer / tagger time of the object (unix seconds) */
} sig_signer;

/* The times a key must have been valid at. Every non-zero time must fall inside the key's
 * validity (valid-after/valid-before, creation..expiry, before revocation): a signer controls
 * the committer time and the OpenPGP creation time, so a backdated signature by an expired key
 * still fails on first_seen. */
typedef struct sig_when {
    int64_t signed_at;  /* committer or tagger time (sig_verify_commit fills it itself), or 0 */
    int64_t first_seen; /* unix time sealgate first saw the object, or 0 for "not known" */
} sig_when;

/* An immutable set of trusted keys. After loading it is only read, so one sig_trust may be
 * shared by any number of threads verifying at once. */
typedef struct sig_trust sig_trust;

/* Load trust files (each either allowed-signers lines or one or more armoured OpenPGP public
 * key blocks; the kind is told by the content). On success *out is a new trust set the caller
 * frees with sig_trust_free. Errors name file:line (UTIL_ESYNTAX, UTIL_EIO, UTIL_ELIMIT). */
int sig_trust_load(sig_trust **out, const char *const *files, size_t n, util_error *err) UTIL_WUR;
/* Same, from text in memory (source names it in errors). The fuzzers and tests use this. */
int sig_trust_parse(sig_trust **out, const char *source, const char *text, size_t len,
                    util_error *err) UTIL_WUR;
void sig_trust_free(sig_trust *trust); /* accepts NULL */
/* Number of keys (SSH lines + OpenPGP primary keys) the set holds. */
size_t sig_trust_count(const sig_trust *trust);

/* Verify a detached signature (the armoured text git stores: `-----BEGIN SSH SIGNATURE-----`
 * or `-----BEGIN PGP SIGNATURE-----`) over payload. what names the object in messages (e.g.
 * "commit 3f2c1a9"), or NULL. out may be NULL. Returns 0 or a SIG_E* code / UTIL_E*. */
int sig_verify_buffer(sig_signer *out, const sig_trust *trust, const void *payload,
                      size_t payload_len, const char *signature, size_t sig_len,
                      const sig_when *when, const char *what, util_error *err) UTIL_WUR;

/* Read the commit from repo's object database, split its `gpgsig` (or `gpgsig-sha256`) header
 * off with a header-only parser, and verify it against trust at the commit's committer time and
 * first_seen (0: not known). repo and commit are borrowed. */
int sig_verify_commit(sig_signer *out, const sig_trust *trust, git_repository *repo,
                      const git_oid *commit, int64_t first_seen, util_error *err) UTIL_WUR;

/* Same for an annotated tag object (signature appended to the message). When name is not
 * NULL the tag's `tag` header must equal it (a tag served under another ref name is refused
 * with SIG_ETAGNAME). */
int sig_verify_tag(sig_signer *out, const sig_trust *trust, git_repository *repo,
                   const git_oid *tag, const char *name, int64_t first_seen,
                   util_error *err) UTIL_WUR;

/* Short, stable name for a SIG_E* code ("unsigned", "untrusted", ...), for metrics labels. */
const char *sig_strerror(int code);

#endif
