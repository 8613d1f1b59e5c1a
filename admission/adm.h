/* adm.h: the admission webhook. Its configuration file, AdmissionReview v1 decoding and
 * answers (valid as the apiserver checks them), and the HTTPS server that ties them to the
 * policy, provenance and sealing modules. Formats: docs/configuration.md; wire format:
 * ../shared/research/policy-engines.md section 5. */
#ifndef SEALGATE_ADM_H
#define SEALGATE_ADM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/util.h"

enum {
    ADM_EDECODE = -110,   /* body is not a usable AdmissionReview (400) */
    ADM_ETOOLARGE = -111, /* body over limits.body (413) */
    ADM_EMEDIA = -112,    /* wrong Content-Type (415) */
};

/* ---- configuration -------------------------------------------------------------------- */

/* Enforcement mode of deny rules (and of provenance). Ordered from strongest. */
typedef enum adm_mode {
    ADM_MODE_ENFORCE = 0,
    ADM_MODE_WARN,
    ADM_MODE_AUDIT,
    ADM_MODE_OFF, /* provenance only */
} adm_mode;

typedef enum adm_log_level {
    ADM_LOG_DEBUG = 0,
    ADM_LOG_INFO,
    ADM_LOG_WARN,
    ADM_LOG_ERROR,
} adm_log_level;

/* The server configuration (design.md "Server configuration"). Every string and list is owned
 * by the config and freed by adm_config_release. NULL strings and empty lists mean "absent". */
typedef struct adm_config {
    char *source;        /* the file it came from, or NULL for the embedded default */
    char *listen;        /* "HOST:PORT" */
    char *tls_cert;      /* PEM certificate chain; NULL: self-signed under state_dir */
    char *tls_key;       /* PEM private key */
    char *tls_client_ca; /* PEM CA bundle clients must present a certificate from */
    char *state_dir;     /* where the self-signed pair lives; NULL: the default */
    util_strv rules;     /* rule files and folders; empty: the bundled packs */
    adm_mode mode;       /* default action of deny rules */
    json_t *params;      /* pack parameters {pack: {name: value}}, or NULL; owned */
    adm_log_level log_level;
    struct {
        bool enabled;       /* the section is present: provenance is on */
        char *url, *branch; /* branch defaults to "main" */
        util_strv paths;
        uint64_t interval_ms; /* default 30s */
        util_strv trust;
        char *verify; /* "head" | "chain" */
        char *since;  /* optional trust root commit */
    } repo;
    struct {
        adm_mode mode; /* default enforce */
        util_strv exempt_users, exempt_groups;
        json_t *ignore; /* array of {kind, path}, or NULL; owned */
    } provenance;
    struct {
        util_strv keys; /* private key files; empty: /mutate denies sealed Secrets */
    } sealing;
    struct {
        size_t body;          /* request body bytes (413 beyond) */
        unsigned depth;       /* JSON nesting (400 beyond) */
        unsigned connections; /* simultaneous connections */
        uint64_t timeout_ms;  /* idle / slow client connection timeout */
        unsigned threads;     /* worker threads; 0: one per core */
    } limits;
} adm_config;

/* The embedded default: 127.0.0.1:8443, self-signed TLS, bundled packs, enforce. */
void adm_config_init(adm_config *cfg);
void adm_config_release(adm_config *cfg);
/* Parse a configuration file's text into cfg (initialised by adm_config_init; keys present
 * replace the defaults). Unknown keys and wrong types fail with err naming the key and
 * source:line:col. */
int adm_config_parse(adm_config *cfg, const char *source, const char *text, size_t len,
                     util_error *err) UTIL_WUR;
/* Durations "500ms", "30s", "5m", "1h" (and combinations "1m30s"); sizes "6MiB", "512KiB",
 * "1G", "4096". Exposed for tests and the CLI. */
int adm_parse_duration(uint64_t *out_ms, const char *s, util_error *err) UTIL_WUR;
int adm_parse_size(size_t *out, const char *s, util_error *err) UTIL_WUR;
const char *adm_mode_name(adm_mode mode);

/* ---- AdmissionReview ------------------------------------------------------------------ */

/* A decoded request. Pointers borrow from root, which the request owns. */
typedef struct adm_request {
    json_t *root;                        /* the whole AdmissionReview; owned */
    json_t *request;                     /* root.request; borrowed */
    const char *uid;                     /* never NULL after a successful decode */
    const char *operation;               /* CREATE | UPDATE | DELETE | CONNECT */
    const char *group, *version, *kind;  /* request.kind */
    const char *resource, *sub_resource; /* "" when absent */
    const char *namespace_, *name;       /* "" when absent */
    const char *username;                /* "" when absent */
    json_t *object, *old_object;         /* NULL when absent or JSON null */
    json_t *user_info;                   /* NULL when absent */
    bool dry_run;
    bool scoped; /* decoded inside a util_json_scope, which frees the tree */
} adm_request;

/* Decode an AdmissionReview v1 body: util_json_decode (depth pre-scan, then JSON), shape checks.
 * On error err->msg says what is wrong (for the 400 answer) and out is left empty. */
int adm_request_decode(adm_request *out, const char *body, size_t len, unsigned max_depth,
                       util_error *err) UTIL_WUR;
void adm_request_release(adm_request *req);

/* An answer being built. Strings are copied in; adm_response_release frees them. */
typedef struct adm_response {
    const char *uid; /* borrowed from the request */
    bool allowed;
    int code;            /* on denial; forced to >= 400 when rendered */
    util_buf message;    /* on denial: "pack/rule: message; ..." */
    json_t *warnings;    /* array of strings; owned */
    json_t *annotations; /* object of strings; owned */
    util_buf patch;      /* JSONPatch text for /mutate; empty: none */
} adm_response;

int adm_response_init(adm_response *res, const char *uid) UTIL_WUR;
void adm_response_release(adm_response *res);
/* Add a failed rule to a denial: sets allowed false and appends "id: msg" to the message. */
int adm_response_deny(adm_response *res, const char *id, const char *msg) UTIL_WUR;
int adm_response_warn(adm_response *res, const char *text) UTIL_WUR;
/* Set an audit annotation; keys that are not valid qualified-name parts (or hold '/') are
 * refused with UTIL_EINVALID, since the apiserver would drop them. */
int adm_response_annotate(adm_response *res, const char *key, const char *value) UTIL_WUR;
/* Render the AdmissionReview answer into out. Enforces what the apiserver checks: the uid
 * echoed, code >= 400 on denial, warnings valid UTF-8 without control characters and cut to
 * 256 characters each once they pass 4096 in total, a patch only when with_patch. */
int adm_response_render(util_buf *out, const adm_response *res, bool with_patch) UTIL_WUR;

/* ---- the server ----------------------------------------------------------------------- */

typedef struct adm_server adm_server;

/* Create a server from cfg (borrowed; must outlive the server): loads TLS (making the
 * self-signed pair when cfg has none), compiles the rules, binds the listening socket.
 * *out is a new server the caller frees with adm_server_free. */
int adm_server_new(adm_server **out, const adm_config *cfg, util_error *err) UTIL_WUR;
/* Start serving; returns once the workers run. Prints the listening address to stderr. */
int adm_server_start(adm_server *srv, util_error *err) UTIL_WUR;
/* Block until SIGTERM or SIGINT (then drain in-flight requests and stop); reloads rules on
 * SIGHUP and TLS and rules when their files change. The caller must have blocked those
 * signals in every thread (adm_signals_block) before creating the server. */
int adm_server_run(adm_server *srv) UTIL_WUR;
void adm_server_free(adm_server *srv);
/* Block SIGTERM, SIGINT, SIGHUP and ignore SIGPIPE in the calling thread (and threads it
 * creates later), so adm_server_run can wait for them. */
int adm_signals_block(void) UTIL_WUR;
/* The bound port (useful with port 0). */
unsigned adm_server_port(const adm_server *srv);
/* Where the self-signed pair was written, or NULL when the config named its own. */
const char *adm_server_state_dir(const adm_server *srv);

/* ---- module internals (adm__) ---------------------------------------------------------- */
/* Shared between the adm_*.c files only; other modules use what is above. */

/* One JSON log line to stderr when level >= min: fields (stolen; may be NULL) plus "level",
 * "time" and "msg". Never pass a Secret's values in fields. */
void adm__log(adm_log_level min, adm_log_level level, json_t *fields, const char *fmt, ...)
    UTIL_PRINTF(4, 5);
const char *adm__log_level_name(adm_log_level level);

/* TLS credentials: the certificate chain and key, reloaded when their files change. Handshakes
 * take a reference to the current pair, so a swap never pulls it from under a connection. */
typedef struct adm__tls adm__tls;
typedef struct adm__cred adm__cred;
/* New TLS state for cfg (borrowed): loads tls.cert/tls.key, or makes (or reuses) a self-signed
 * pair under the state folder. */
int adm__tls_new(adm__tls **out, const adm_config *cfg, util_error *err) UTIL_WUR;
void adm__tls_free(adm__tls *tls);
/* 1 when the files changed and the new pair is in force, 0 when unchanged, < 0 when they
 * changed but do not load (the old pair stays; err says why). */
int adm__tls_poll(adm__tls *tls, util_error *err) UTIL_WUR;
/* New reference to the current pair; release with adm__cred_release. */
adm__cred *adm__tls_acquire(adm__tls *tls);
void adm__cred_release(adm__cred *cred);
/* The pair's GnuTLS objects (borrowed from cred), as a certificate retrieval callback hands
 * them to GnuTLS. */
void adm__cred_get(adm__cred *cred, void **pcerts, unsigned *count, void **privkey);
const char *adm__tls_cert_path(const adm__tls *tls);
const char *adm__tls_state_dir(const adm__tls *tls); /* NULL when not self-signed */
/* mkdir -p with mode 0700: the state folder and what lives under it. */
int adm__mkdir_p(const char *path, util_error *err) UTIL_WUR;
/* Make an EC P-256 key and a self-signed certificate for 127.0.0.1 and localhost, valid
 * for a year, as PEM files at cert_path and key_path (0600). */
int adm__selfsigned_write(const char *cert_path, const char *key_path, util_error *err) UTIL_WUR;

/* Prometheus metrics (docs/configuration.md lists them). Thread-safe. */
typedef struct adm__metrics adm__metrics;
enum { ADM__EP_VALIDATE, ADM__EP_MUTATE, ADM__EP_COUNT };
enum { ADM__V_ALLOWED, ADM__V_DENIED, ADM__V_WARNED, ADM__V_ERROR, ADM__V_COUNT };
adm__metrics *adm__metrics_new(void);
void adm__metrics_free(adm__metrics *m);
/* op: the request's operation, or NULL when it never decoded. */
void adm__metrics_request(adm__metrics *m, int endpoint, const char *op, int verdict,
                          uint64_t latency_ns);
void adm__metrics_denial(adm__metrics *m, const char *rule);
void adm__metrics_rules_load(adm__metrics *m, bool ok, uint64_t duration_ns, size_t rules);
void adm__metrics_tls_reload(adm__metrics *m, bool ok);
/* A sealing keyring load: ok with keys keys in force since unix time at (reload: not the one
 * at start), or a failed reload. */
void adm__metrics_keys_load(adm__metrics *m, bool ok, bool reload, size_t keys, int64_t at);
int adm__metrics_render(adm__metrics *m, util_buf *out) UTIL_WUR;

/* The rule set in force: compiled from the configured paths (or the bundled packs), swapped
 * whole on reload; a failed reload keeps the old set and records why. */
struct pol_ruleset;
typedef struct adm__rules adm__rules;
/* Load the rules of cfg (borrowed, must outlive). A broken rule set at start is an error
 * (err names file:line:col); a later reload failure is not. */
int adm__rules_new(adm__rules **out, const adm_config *cfg, adm__metrics *metrics,
                   util_error *err) UTIL_WUR;
void adm__rules_free(adm__rules *rules);
/* New reference to the set in force (pol_ruleset_decref it), or NULL when none. */
struct pol_ruleset *adm__rules_acquire(adm__rules *rules);
/* Recompile when force or when a rule file changed (added, removed, modified). 1: a new set
 * is in force; 0: nothing changed; < 0: the new files do not load (err says where; every
 * error is logged) and the old set keeps serving. */
int adm__rules_reload(adm__rules *rules, bool force, util_error *err) UTIL_WUR;
/* {"loaded": N, "paths": [...], "error": "file:line:col: ..." or absent}: new reference. */
json_t *adm__rules_status(adm__rules *rules);
/* The folder holding the bundled packs: $SEALGATE_RULES_DIR, else the source tree's rules/,
 * else /usr/share/sealgate/rules. Static or environment string. */
const char *adm__bundled_rules_dir(void);

/* The sealing keys in force (sealing.keys: key files, or folders of *.key files), reloaded
 * when the files change: a new keyring is loaded aside and swapped in whole; a failed reload
 * keeps the old one and records why. Users take a reference per request. */
struct seal_keyring;
typedef struct adm__keys adm__keys;
/* Load the keys of cfg (borrowed, must outlive); metrics borrowed. With no sealing.keys the
 * holder is empty (adm__keys_acquire gives NULL). A key that does not load at start is an
 * error naming the file. */
int adm__keys_new(adm__keys **out, const adm_config *cfg, adm__metrics *metrics,
                  util_error *err) UTIL_WUR;
void adm__keys_free(adm__keys *keys);
/* New reference to the keyring in force (drop it with seal_keyring_free), or NULL when no
 * keys are configured. keys may be NULL. */
struct seal_keyring *adm__keys_acquire(adm__keys *keys);
/* Reload when force or when a key file changed (added to a folder, removed, rewritten).
 * 1: a new keyring is in force; 0: nothing changed; < 0: the files do not load (err names
 * the file and the reason, never key bytes) and the old keyring keeps serving. Called from
 * one thread only (the server's main loop). */
int adm__keys_reload(adm__keys *keys, bool force, util_error *err) UTIL_WUR;
/* {"keys": bool, "count": N, "keyIds": [...], "paths": [...], "loadedAt": unix, "error":
 * "file:line:col: ..." or absent}: new reference. */
json_t *adm__keys_status(adm__keys *keys);

/* Provenance: the config repo kept in sync by a thread, requests judged against the accepted
 * commit (admission/prov.h). */
typedef struct adm__prov adm__prov;
/* *out is NULL when the config has no repo section. keys (borrowed, may be NULL) unseal the
 * sealed Secrets git holds for comparison: each judgement takes a reference to the keyring
 * in force then, so a reload never pulls it from under a match. */
int adm__prov_new(adm__prov **out, const adm_config *cfg, adm__keys *keys,
                  util_error *err) UTIL_WUR;
int adm__prov_start(adm__prov *p, util_error *err) UTIL_WUR; /* p may be NULL */
void adm__prov_free(adm__prov *p);                           /* stops the thread */
/* Judge req: a violation becomes a denial, warning or audit note in res per provenance.mode;
 * commit and signer become audit annotations; *git_out receives the facts for the rules (new
 * reference, or NULL). Returns 0 (no violation), 1 deny, 2 warn, 3 audit, or < 0. */
int adm__prov_judge(adm__prov *p, const adm_request *req, adm_response *res, json_t **git_out,
                    util_arena *arena, util_error *err) UTIL_WUR;
/* {"enabled": bool, "ready": bool, "commit", "signer", ...}: new reference. */
json_t *adm__prov_status(adm__prov *p);
/* Append the sealgate_repo_* metrics (Prometheus text) to out; nothing when p is NULL. */
int adm__prov_metrics(adm__prov *p, util_buf *out) UTIL_WUR;

/* What answers a request: the parts of a running server the request path reads. */
typedef struct adm__engine {
    adm__rules *rules;
    adm__prov *prov;           /* NULL: provenance off */
    struct seal_keyring *keys; /* the request's reference; NULL: no sealing keys configured */
    adm_mode mode;             /* the server's mode for deny rules */
    adm__metrics *metrics;
    adm_log_level log_level;
} adm__engine;

/* Answer /validate (mutate false) or /mutate into res, logging denials and warnings. Returns
 * the metrics verdict (ADM__V_*), or < 0 with err set for an internal failure (500). */
int adm__admit(const adm__engine *eng, bool mutate, const adm_request *req, adm_response *res,
               util_arena *arena, util_error *err) UTIL_WUR;

#endif
