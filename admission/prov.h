/* prov.h: provenance, the public face of the prov_ module. Three parts: the config repo's
 * sync (fetch, verify signatures, refuse rollbacks, keep the last accepted commit in force),
 * the index of the manifests declared at the accepted commit, and matching admission requests
 * against that index. The rules themselves are written down in docs/provenance.md.
 *
 * Threads: a prov_index is immutable once built and refcounted (atomically), so any number of
 * request threads may read one while the sync thread builds the next. prov_repo_sync is called
 * from one thread at a time (the server's sync thread); prov_repo_snapshot and
 * prov_repo_status may be called from any thread at any time and never wait for a sync. */
#ifndef SEALGATE_PROV_H
#define SEALGATE_PROV_H

#include <git2.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/util.h"

/* Expected failures of this module (util codes are also used). */
enum {
    PROV_ENOTFOUND = -160,   /* no such branch, tag, commit, or path in the tree */
    PROV_EFETCH = -161,      /* the remote could not be reached or the fetch failed */
    PROV_EUNVERIFIED = -162, /* a commit is unsigned or not signed by a trusted key */
    PROV_EROLLBACK = -163,   /* the new tip does not descend from the last accepted commit */
    PROV_EDUPLICATE = -164,  /* two manifests of one commit declare the same object */
    PROV_EMANIFEST = -165,   /* a manifest of the commit does not parse */
};

/* ---- the index ------------------------------------------------------------------------ */

typedef struct prov_index prov_index;

/* One object git declares. Borrowed from its index: valid while a reference to it is held. */
typedef struct prov_entry {
    const char *group; /* API group, "" for the core group */
    const char *kind;  /* "Deployment" */
    const char *ns;    /* namespace, "" for cluster-scoped kinds */
    const char *name;
    const char *path; /* file in the repo that declares it */
    const char *json; /* the declared object as compact JSON text */
    size_t json_len;
} prov_entry;

/* The declared object, parsed: a new reference (the caller decrefs), or NULL with err set.
 * The index keeps manifests as text to stay small; parsing one takes microseconds. */
json_t *prov_entry_manifest(const prov_entry *e, util_error *err);

typedef struct prov_index_options {
    const char *const *paths; /* folders (or files) in the repo; none: the whole tree */
    size_t path_count;
    const char *default_namespace; /* for manifests without one; NULL: "default" */
} prov_index_options;

/* Build the index of the manifests under opts->paths in commit's tree (git objects only,
 * never a work tree). With prev (an index built with the same options from an earlier commit
 * of the same repo) only the files the tree diff names are parsed again; unchanged entries are
 * shared. signer (may be NULL) and first_seen (unix seconds) are recorded as facts.
 * *out receives a new reference. A duplicate object (PROV_EDUPLICATE, naming both files) or
 * a manifest that does not parse (PROV_EMANIFEST, file:line:col) fails the whole commit. */
int prov_index_build(prov_index **out, git_repository *repo, const git_oid *commit,
                     const prov_index_options *opts, const prov_index *prev, const char *signer,
                     util_error *err) UTIL_WUR;
prov_index *prov_index_ref(prov_index *idx); /* returns idx with one more reference */
void prov_index_unref(prov_index *idx);      /* accepts NULL */

/* Borrowed entry for the key, or NULL. ns is "" for cluster-scoped kinds. */
const prov_entry *prov_index_find(const prov_index *idx, const char *group, const char *kind,
                                  const char *ns, const char *name);
/* Calls fn for every entry in key order until fn returns non-zero, which is returned. */
int prov_index_foreach(const prov_index *idx, int (*fn)(void *ctx, const prov_entry *e), void *ctx);
const char *prov_index_commit(const prov_index *idx);  /* 40 hex digits */
const char *prov_index_signer(const prov_index *idx);  /* "" when unknown */
int64_t prov_index_commit_time(const prov_index *idx); /* committer time, unix seconds */
size_t prov_index_count(const prov_index *idx);        /* objects declared */
size_t prov_index_skipped(const prov_index *idx);      /* documents without apiVersion and kind */
size_t prov_index_files(const prov_index *idx);        /* manifest files read */
/* Does git declare an object in namespace ns (or the Namespace ns itself)? */
bool prov_index_manages_namespace(const prov_index *idx, const char *ns);
/* Does git declare an object of this cluster-scoped kind? */
bool prov_index_manages_kind(const prov_index *idx, const char *group, const char *kind);
/* Is kind cluster-scoped (Namespace, ClusterRole, CustomResourceDefinition, ...)? */
bool prov_kind_is_cluster_scoped(const char *group, const char *kind);

/* ---- comparing a declared object with a live one -------------------------------------- */

/* A path never compared, e.g. {"Deployment", "spec.replicas"} under an autoscaler. kind NULL
 * or "" applies to every kind; path is dotted, list elements are not named in it, and `*`
 * matches any run of characters (util_glob_match). */
typedef struct prov_ignore {
    const char *kind;
    const char *path;
} prov_ignore;

struct seal_keyring; /* crypto/seal.h */

typedef struct prov_diff_options {
    const prov_ignore *ignore;
    size_t ignore_count;
    /* Private keys (borrowed) to unseal the sealed Secrets git holds (label
     * sealgate.io/sealed: "true"), so they compare with the plain values /mutate put in the
     * live object. NULL: sealed values are compared as they are, ciphertext to ciphertext. */
    const struct seal_keyring *keys;
} prov_diff_options;

/* The first difference found, in the declared object's order. */
typedef struct prov_difference {
    bool differs;
    const char *path;       /* "spec.template.spec.containers[name=web].image"; arena */
    const json_t *declared; /* borrowed; NULL when git does not declare it (an extra) */
    const json_t *live;     /* borrowed; NULL when the object lacks it */
    bool secret;            /* the values are Secret data: never print them */
} prov_difference;

/* Compare the git manifest `declared` with the object `live` (both borrowed, unchanged) by the
 * rules of docs/provenance.md: every field git sets must be present and equal after
 * normalising quantities and numbers and merging lists by their Kubernetes merge keys;
 * server-added fields are not differences. Memory for out->path comes from arena. Returns 0
 * (out->differs says whether they differ) or an error (unsealing failed, out of memory). */
int prov_diff(prov_difference *out, const json_t *declared, const json_t *live,
              const prov_diff_options *opts, util_arena *arena, util_error *err) UTIL_WUR;

/* Format a difference as "PATH is "LIVE" but "DECLARED"" (values elided for Secrets) into
 * arena memory; NULL when out of memory. */
const char *prov_difference_describe(const prov_difference *d, util_arena *arena);

/* ---- matching an admission request ----------------------------------------------------- */

typedef enum {
    PROV_MODE_OFF = 0, /* provenance is not consulted */
    PROV_MODE_AUDIT,   /* violations are recorded in auditAnnotations only */
    PROV_MODE_WARN,    /* violations become warnings; the request is allowed */
    PROV_MODE_ENFORCE, /* violations deny */
} prov_mode;

typedef struct prov_match_options {
    prov_mode mode;
    prov_diff_options diff;
    const char *const *exempt_users; /* globs over userInfo.username */
    size_t exempt_user_count;
    const char *const *exempt_groups; /* globs over userInfo.groups */
    size_t exempt_group_count;
    /* A value of git's that does not unseal with diff.keys: a violation the object answers for
     * (the webhook), or an error (audit, where it means the operator passed the wrong key). */
    bool unseal_failure_violates;
} prov_match_options;

typedef enum {
    PROV_RESULT_SKIPPED = 0,     /* mode off, CONNECT, or a subresource other than scale */
    PROV_RESULT_MATCH,           /* git declares the object and it matches */
    PROV_RESULT_DIFFERS,         /* git declares the object and it differs (violation) */
    PROV_RESULT_NOT_IN_GIT,      /* a managed namespace or kind, git does not declare it */
    PROV_RESULT_DELETE_DECLARED, /* DELETE of an object git declares (violation) */
    PROV_RESULT_UNMANAGED,       /* outside what git manages, or made by a controller */
    PROV_RESULT_EXEMPT,          /* an exempt user or group */
    PROV_RESULT_NO_COMMIT,       /* no commit accepted yet: fails closed (violation) */
} prov_result;

typedef enum {
    PROV_ACTION_ALLOW = 0, /* no violation, or mode off */
    PROV_ACTION_DENY,      /* enforce */
    PROV_ACTION_WARN,      /* warn: allow with a warning */
    PROV_ACTION_AUDIT,     /* audit: allow, note it in auditAnnotations */
} prov_action;

typedef struct prov_verdict {
    prov_result result;
    bool violation;      /* DIFFERS, NOT_IN_GIT, DELETE_DECLARED or NO_COMMIT */
    prov_action action;  /* what the mode makes of it */
    const char *message; /* explanation, arena memory; NULL when there is nothing to say */
    const char *commit;  /* short commit id or NULL; arena */
    const char *signer;  /* signer of the accepted commit or NULL; arena */
    /* Facts for the rule DSL, a new reference the caller decrefs: {"managed": bool,
     * "commit": str|null, "signer": str|null, "object": declared manifest|null}. The
     * manifest inside is shared with the index: read it, never change it. */
    json_t *git;
} prov_verdict;

/* Judge one AdmissionReview `request` (the object under "request", borrowed) against idx
 * (borrowed; NULL when no commit was accepted yet). Strings in out come from arena; out->git is
 * a new reference. Returns 0, or an error for a request it cannot read (UTIL_EINVALID) or an
 * unsealing failure; a violation is not an error. */
int prov_match(prov_verdict *out, const prov_index *idx, const prov_match_options *opts,
               const json_t *request, util_arena *arena, util_error *err) UTIL_WUR;

/* ---- the config repo -------------------------------------------------------------------- */

/* A remote that accepts the connection and then says nothing (or drops packets) would hold the
 * sync thread forever: libgit2 1.5 has no timeout of its own. 30 s is ample for a git server
 * to answer, and a fetch that makes progress is never cut. docs/provenance.md. */
#define PROV_FETCH_TIMEOUT_MS 30000

typedef enum {
    PROV_VERIFY_HEAD = 0, /* the tip's signature */
    PROV_VERIFY_CHAIN,    /* every commit after the last accepted one (or `since`) */
} prov_verify_mode;

/* Everything is copied by prov_repo_open; the caller keeps its strings. */
typedef struct prov_repo_config {
    const char *url;    /* local path, file://, git://, ssh://, https:// */
    const char *branch; /* default "main" unless tag is set */
    const char *tag;    /* follow a tag instead of a branch */
    prov_index_options index;
    const char *const *trust; /* trust files (allowed signers, armoured OpenPGP keys) */
    size_t trust_count;
    prov_verify_mode verify;
    const char *since;       /* optional trust root: a commit id */
    const char *cache_dir;   /* where remote repos are cloned and state is kept; NULL for a
                                local path (then nothing survives a restart) */
    const char *ssh_key;     /* private key file for ssh:// (the .pub beside it if present) */
    const char *https_token; /* token for https:// (wiped on free) */
    /* PEM file of the CAs an https:// remote's certificate must chain to, instead of the
     * system's; NULL: the system store. libgit2 holds this per process: the last repo opened
     * with one sets it. */
    const char *ca_file;
    /* The fetch timeout in ms (0: PROV_FETCH_TIMEOUT_MS): connecting may take at most this
     * long, and a fetch is cut when the remote sends nothing for this long. */
    int fetch_timeout_ms;
} prov_repo_config;

typedef struct prov_repo prov_repo;

/* Git credentials, from the files the environment names: SEALGATE_GIT_SSH_KEY (a private key
 * for ssh://, the .pub beside it used when present), SEALGATE_GIT_TOKEN_FILE (a token for
 * https://, its line end dropped) and SEALGATE_GIT_CA_FILE (the CAs of a private forge). A
 * Secret mounts them, so they stay out of configuration files; a variable naming a missing
 * file is ignored. The strings are the environment's; the token is a copy, wiped by
 * prov_credentials_release. */
typedef struct prov_credentials {
    const char *ssh_key; /* NULL: none */
    const char *ca_file; /* NULL: the system's CAs */
    util_buf token;      /* empty: none */
} prov_credentials;

int prov_credentials_from_env(prov_credentials *out, util_error *err) UTIL_WUR;
void prov_credentials_release(prov_credentials *creds);

/* Fetch every branch and tag of url into git (a fresh repository), with url.*.insteadOf
 * ignored, under the fetch timeout (timeout_ms; 0: PROV_FETCH_TIMEOUT_MS), offering creds
 * (NULL: anonymous) when the remote asks; HEAD then follows the remote's default branch, as a
 * clone's would. For `sealgate verify`. */
int prov_fetch_mirror(git_repository *git, const char *url, int timeout_ms,
                      const prov_credentials *creds, util_error *err) UTIL_WUR;

/* Open (and for a remote, create the cache of) the config repo. No fetch happens yet: the
 * first prov_repo_sync does that. *out is freed with prov_repo_free. */
int prov_repo_open(prov_repo **out, const prov_repo_config *cfg, util_error *err) UTIL_WUR;
void prov_repo_free(prov_repo *repo); /* accepts NULL; drops its index reference */

/* One step: fetch, and if the tip moved, verify it (head or chain), check it descends from the
 * last accepted commit, re-index what changed and swap the new index in. On any failure the
 * last accepted commit stays in force (fail static) and the status says why. Returns 0 (also
 * when nothing changed) or the failure's code. Only one thread may call it at a time. */
int prov_repo_sync(prov_repo *repo, util_error *err) UTIL_WUR;

/* A new reference to the accepted index (release with prov_index_unref), or NULL before any
 * commit was accepted. Never waits for a sync in progress. */
prov_index *prov_repo_snapshot(prov_repo *repo);

/* For /readyz, /metrics (sealgate_repo_*) and logs. */
typedef struct prov_repo_status {
    bool ready;                /* a commit is accepted */
    bool last_sync_ok;         /* the newest sync attempt succeeded */
    int64_t last_sync;         /* unix time of the last sync attempt, 0 never */
    int64_t last_success;      /* unix time of the last successful sync, 0 never */
    char commit[41];           /* accepted commit, "" none */
    char signer[128];          /* its signer */
    int64_t commit_time;       /* its committer time */
    int64_t accepted_at;       /* when it was accepted */
    uint64_t syncs;            /* sync attempts */
    uint64_t sync_failures;    /* attempts that failed for any reason */
    uint64_t verify_failures;  /* tips refused for their signatures (each tip once) */
    uint64_t rollbacks;        /* tips refused as not descending from the accepted commit */
    uint64_t objects, skipped; /* of the accepted index */
    char last_error[256];      /* text of the newest failure, "" none */
} prov_repo_status;

void prov_repo_status_get(prov_repo_status *out, prov_repo *repo);

#endif
