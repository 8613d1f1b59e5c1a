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
    SIG_EUNSIGNED = -101,      /* no signature (a `gpgsig` block in the message does not count) */
    SIG_EUNTRUSTED = -102,     /* signed by a key no trust file holds; msg has its fingerprint */
    SIG_EBADSIG = -103,        /* the signature does not verify, or is malformed */
    SIG_EEXPIRED = -104,       /* the key (or the signature) had expired */
    SIG_EREVOKED = -105,       /* the key or subkey is revoked */
    SIG_EWINDOW = -106,        /* outside the allowed-signers valid-after / valid-before window */
    SIG_ENAMESPACE = -107,     /* an SSH signature for another namespace than `git` */
    SIG_EWEAKHASH = -108,      /* digest SHA-1 (or weaker): refused */
    SIG_EUNSUPPORTED = -109,   /* an algorithm or format sealgate does not verify (x509, DSA) */
    SIG_ETAGNAME = -110,       /* a tag object whose `tag` header is not the name asked for */
    SIG_ENOTDESCENDANT = -111, /* a range's tip does not descend from its base (a rollback) */
};

/* Is code one of the SIG_E* refusals above (a finding, not an input error)? */
#define SIG_IS_REFUSAL(code) ((code) <= SIG_EUNSIGNED && (code) >= SIG_ENOTDESCENDANT)

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
 * with SIG_ETAGNAME), and messages call it "tag NAME (1a2b3c4)". */
int sig_verify_tag(sig_signer *out, const sig_trust *trust, git_repository *repo,
                   const git_oid *tag, const char *name, int64_t first_seen,
                   util_error *err) UTIL_WUR;

/* ---- ranges and revisions (sig_range.c) ------------------------------------------------ */

/* How sig_verify_range walks and reports. Zeroed means: first_seen unknown, no callback, stop
 * at the first refusal. */
typedef struct sig_range_options {
    int64_t first_seen; /* when the commits were first seen (unix seconds), 0 not known */
    /* Per-commit first_seen (the provenance sync remembers each); overrides first_seen. */
    int64_t (*first_seen_fn)(void *ctx, const git_oid *commit);
    /* Called once per commit verified, oldest first: rc 0 with who filled, or a SIG_E* code
     * with err->msg naming the commit once and the reason. who and err are borrowed for the
     * call. */
    void (*each)(void *ctx, const git_oid *commit, int rc, const sig_signer *who,
                 const util_error *err);
    void *ctx;
    bool all; /* go on after a refusal, so every refused commit is reported (the CLI) */
} sig_range_options;

/* What sig_verify_range found. */
typedef struct sig_range {
    size_t total;          /* commits in the range */
    size_t verified;       /* commits checked (fewer than total after a stop at a refusal) */
    size_t refused;        /* commits refused */
    git_oid first_refused; /* the oldest refused commit (when refused > 0) */
    sig_signer tip;        /* who signed tip (kind 0 when tip was refused or not reached) */
} sig_range;

/* Verify every commit reachable from tip and not from base (`git rev-list base..tip`, the
 * other parents of merges included) oldest first, and tip itself: tip == base verifies that one
 * commit. base NULL walks the whole history down to the root commits. tip must be base or
 * descend from it, else SIG_ENOTDESCENDANT (a rollback or an unrelated history) and nothing is
 * verified. Returns 0 when every commit is signed by a trusted key; else the code of the first
 * (oldest) refusal with err->msg naming that commit once, its place in the range and the reason
 * ("commit 5d6e7f8 (2 of 4 after 1a2b3c4, on the way to 3f2c1a9): unsigned"); UTIL_E* when
 * the history cannot be read. repo, tip and base are borrowed; out (may be NULL) is filled. */
int sig_verify_range(sig_range *out, const sig_trust *trust, git_repository *repo,
                     const git_oid *tip, const git_oid *base, const sig_range_options *opts,
                     util_error *err) UTIL_WUR;

/* A revision as `sealgate verify`, `gate` and `audit` name it, verified. */
typedef struct sig_rev {
    git_oid commit;       /* REV peeled to a commit */
    git_oid tag;          /* the annotated tag REV named (when is_tag) */
    bool is_tag;          /* REV named an annotated tag: the tag's own signature was verified */
    char tag_name[256];   /* its name as REV spelled it (refs/tags/ dropped), "" when by id */
    sig_signer signer;    /* who signed what vouches for REV: the tag, else the commit */
    sig_range range;      /* the commits verified (REV's commit alone, or since..REV) */
    bool commits_checked; /* false for a tag without since: only the tag was verified */
} sig_rev;

/* Resolve rev (NULL: "HEAD") in repo and verify it. A commit (or a lightweight tag) is verified
 * by its own signature. An annotated tag is verified by the tag object's signature, and its
 * `tag` header must be the name rev used (`git tag -s`: a v1 served as v2 is refused); the
 * commit it points to is then vouched for by the tag. With since (NULL: none), the commits of
 * since..REV are verified too, as sig_verify_range does. Returns 0, a SIG_E* refusal (err names
 * the object and the reason), or UTIL_ENOTFOUND / UTIL_EINVALID for a revision that does not
 * resolve to a commit. out is filled as far as the verification got. */
int sig_verify_rev(sig_rev *out, const sig_trust *trust, git_repository *repo, const char *rev,
                   const char *since, const sig_range_options *opts, util_error *err) UTIL_WUR;

#endif
