/* prov_repo.c: keeping up with the config repo. One sync step fetches the branch (or tag),
 * verifies the new tip (or every new commit), refuses a tip that does not descend from the
 * last accepted commit, and swaps in the index of the new commit. Any failure leaves the last
 * accepted commit in force (fail static). State that must survive restarts (the accepted
 * commit, when commits were first seen) is kept in the cache folder. */
#include "admission/prov.h"
#include "admission/prov_priv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/sig.h"
#include "util/banned.h"

/* What a fetch may offer when the remote asks who we are (borrowed strings, NULL when not
 * given), what it has offered so far (asked again for the same means refused), and the fetch's
 * guard, which every callback keeps alive. */
typedef struct fetch_auth {
    const char *ssh_key, *ssh_pub, *token;
    int attempts; /* to stop libgit2 asking forever */
    bool offered_key, offered_token;
    prov_net__guard *guard; /* while the fetch runs */
} fetch_auth;

/* When a commit was first seen, for signature validity windows (a backdated signature by an
 * expired key must not pass because its committer date says so). */
typedef struct seen_commit {
    git_oid id;
    int64_t first_seen;
} seen_commit;

struct prov_repo {
    /* configuration, owned copies */
    char *url, *branch, *tag, *since, *cache_dir, *ssh_key, *ssh_pub, *token, *default_ns;
    char **paths, **trust_files;
    size_t path_count, trust_count;
    prov_index_options index_opts;
    prov_verify_mode verify;
    sig_trust *trust;
    bool remote;
    char *state_file; /* NULL: no persistence */

    git_repository *git;
    bool have_accepted;
    git_oid accepted;
    seen_commit *seen;
    size_t seen_count, seen_cap;
    fetch_auth auth; /* per fetch; points at ssh_key, ssh_pub and token above */
    int fetch_timeout_ms;
    /* The newest refused tip and why. Its verdict depends only on the tip, the accepted commit
     * (which cannot move while the tip is refused) and first-seen times fixed at first sight,
     * so it is not judged again: the status counts refused tips, not sync attempts. */
    bool have_refused, refused_is_tag;
    git_oid refused_tip, refused_tag;
    util_error refused_err;

    pthread_mutex_t lock; /* guards current and status */
    prov_index *current;
    prov_repo_status status;
};

static const char *git_msg(void)
{
    const git_error *e = git_error_last();
    return e && e->message ? e->message : "unknown error";
}

/* Copy src into dst (size bytes), cut if it must be. */
static void set_text(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static char **dup_list(const char *const *v, size_t n)
{
    char **out = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; out && i < n; i++)
        if (!(out[i] = strdup(v[i]))) {
            for (size_t j = 0; j < i; j++)
                free(out[j]);
            free(out);
            return NULL;
        }
    return out;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- persistent state ------------------------------------------------------------------ */

static int64_t first_seen(prov_repo *r, const git_oid *id, bool *added)
{
    *added = false;
    for (size_t i = 0; i < r->seen_count; i++)
        if (git_oid_equal(&r->seen[i].id, id))
            return r->seen[i].first_seen;
    if (r->seen_count == r->seen_cap) {
        size_t cap = r->seen_cap ? r->seen_cap * 2 : 64;
        seen_commit *n = realloc(r->seen, cap * sizeof(*n));
        if (!n)
            return (int64_t)time(NULL); /* not remembered, still judged against now */
        r->seen = n;
        r->seen_cap = cap;
    }
    r->seen[r->seen_count].id = *id;
    r->seen[r->seen_count].first_seen = (int64_t)time(NULL);
    *added = true;
    return r->seen[r->seen_count++].first_seen;
}

/* "accepted HEX" and "seen HEX TIME" lines. */
static void state_load(prov_repo *r)
{
    util_buf b;
    util_error err;
    util_buf_init(&b);
    if (!r->state_file || util_file_read(&b, r->state_file, 16u << 20, &err) < 0) {
        util_buf_release(&b);
        return;
    }
    char *line = b.data;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char hex[GIT_OID_HEXSZ + 1];
        long long t;
        git_oid id;
        bool added;
        if (sscanf(line, "accepted %40s", hex) == 1 && git_oid_fromstr(&id, hex) == 0) {
            r->accepted = id;
            r->have_accepted = true;
        } else if (sscanf(line, "seen %40s %lld", hex, &t) == 2 && git_oid_fromstr(&id, hex) == 0) {
            first_seen(r, &id, &added);
            if (added)
                r->seen[r->seen_count - 1].first_seen = (int64_t)t;
        }
        line = nl ? nl + 1 : NULL;
    }
    util_buf_release(&b);
}

/* Write the state; a failure is reported in save_err but does not fail the sync. */
static int state_save(prov_repo *r, util_error *save_err)
{
    util_buf b;
    char hex[GIT_OID_HEXSZ + 1];
    if (!r->state_file)
        return 0;
    util_buf_init(&b);
    int rc = 0;
    if (r->have_accepted)
        rc = util_buf_printf(&b, "accepted %s\n", git_oid_tostr(hex, sizeof(hex), &r->accepted));
    for (size_t i = 0; i < r->seen_count && rc == 0; i++)
        rc = util_buf_printf(&b, "seen %s %lld\n", git_oid_tostr(hex, sizeof(hex), &r->seen[i].id),
                             (long long)r->seen[i].first_seen);
    if (rc < 0)
        rc = util_error_set(save_err, UTIL_ENOMEM, "out of memory");
    else
        rc = util_file_write(r->state_file, b.data, b.len, 0600, save_err);
    util_buf_release(&b);
    return rc;
}

/* ---- open and free --------------------------------------------------------------------- */

static bool is_remote_url(const char *url)
{
    return strstr(url, "://") != NULL;
}

/* The cache folder of a remote: CACHE/repo-<first 16 hex of sha256(url)>. */
static char *cache_path(const char *cache_dir, const char *url, const char *what)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    char hex[2 * sizeof(h) + 1];
    crypto_hash_sha256(h, (const unsigned char *)url, strlen(url));
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    hex[16] = '\0';
    size_t n = strlen(cache_dir) + strlen(what) + 32;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s-%s", cache_dir, what, hex);
    return p;
}

void prov_repo_free(prov_repo *r)
{
    if (!r)
        return;
    prov_index_unref(r->current);
    sig_trust_free(r->trust);
    git_repository_free(r->git);
    if (r->token) {
        sodium_memzero(r->token, strlen(r->token));
        free(r->token);
    }
    free(r->url), free(r->branch), free(r->tag), free(r->since), free(r->cache_dir);
    free(r->ssh_key), free(r->ssh_pub), free(r->default_ns), free(r->state_file);
    free_list(r->paths, r->path_count);
    free_list(r->trust_files, r->trust_count);
    free(r->seen);
    pthread_mutex_destroy(&r->lock);
    free(r);
    git_libgit2_shutdown();
}

/* "KEY.pub" when that file exists (libssh2 then needs no public key derivation), else NULL;
 * the caller frees it. */
static char *ssh_pub_beside(const char *key)
{
    if (key == NULL)
        return NULL;
    size_t n = strlen(key) + 5;
    char *pub = malloc(n);
    struct stat st;
    if (pub != NULL)
        snprintf(pub, n, "%s.pub", key);
    if (pub != NULL && stat(pub, &st) != 0) {
        free(pub);
        pub = NULL;
    }
    return pub;
}

static int copy_config(prov_repo *r, const prov_repo_config *cfg, util_error *err)
{
    r->url = strdup(cfg->url);
    r->tag = dup_or_null(cfg->tag);
    r->branch = strdup(cfg->branch && *cfg->branch ? cfg->branch : "main");
    r->since = dup_or_null(cfg->since);
    r->cache_dir = dup_or_null(cfg->cache_dir);
    r->ssh_key = dup_or_null(cfg->ssh_key);
    r->token = dup_or_null(cfg->https_token);
    r->default_ns = strdup(cfg->index.default_namespace ? cfg->index.default_namespace : "default");
    r->path_count = cfg->index.path_count;
    r->paths = dup_list(cfg->index.paths, cfg->index.path_count);
    r->trust_count = cfg->trust_count;
    r->trust_files = dup_list(cfg->trust, cfg->trust_count);
    if (!r->url || !r->branch || !r->default_ns || !r->paths || !r->trust_files ||
        (cfg->tag && !r->tag) || (cfg->since && !r->since) || (cfg->cache_dir && !r->cache_dir) ||
        (cfg->ssh_key && !r->ssh_key) || (cfg->https_token && !r->token))
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    r->ssh_pub = ssh_pub_beside(r->ssh_key);
    r->auth = (fetch_auth){.ssh_key = r->ssh_key, .ssh_pub = r->ssh_pub, .token = r->token};
    r->index_opts =
        (prov_index_options){(const char *const *)r->paths, r->path_count, r->default_ns};
    r->verify = cfg->verify;
    r->fetch_timeout_ms = cfg->fetch_timeout_ms > 0 ? cfg->fetch_timeout_ms : PROV_FETCH_TIMEOUT_MS;
    return 0;
}

static int open_git(prov_repo *r, util_error *err)
{
    if (!r->remote) {
        if (git_repository_open_ext(&r->git, r->url, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0)
            return util_error_set(err, PROV_ENOTFOUND, "cannot open git repository '%s': %s",
                                  r->url, git_msg());
        return 0;
    }
    if (!r->cache_dir)
        return util_error_set(err, UTIL_EINVALID,
                              "repo '%s' is remote: a cache folder is needed to fetch it", r->url);
    if (mkdir(r->cache_dir, 0700) != 0 && errno != EEXIST)
        return util_error_set(err, UTIL_EIO, "cannot create cache folder '%s': %s", r->cache_dir,
                              strerror(errno));
    char *path = cache_path(r->cache_dir, r->url, "repo");
    if (!path)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    int rc = 0;
    if (git_repository_open_bare(&r->git, path) < 0 && git_repository_init(&r->git, path, 1) < 0)
        rc = util_error_set(err, UTIL_EIO, "cannot create the cache repository '%s': %s", path,
                            git_msg());
    free(path);
    return rc;
}

/* The CAs an https:// remote's certificate must chain to (NULL: the system's). libgit2 holds
 * them per process. */
static int use_ca_file(const char *ca_file, util_error *err)
{
    if (ca_file && git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, ca_file, NULL) < 0)
        return util_error_set(err, UTIL_EINVALID, "cannot use the CA file '%s': %s", ca_file,
                              git_msg());
    return 0;
}

int prov_repo_open(prov_repo **out, const prov_repo_config *cfg, util_error *err)
{
    int rc;
    *out = NULL;
    if (!cfg || !cfg->url || !*cfg->url)
        return util_error_set(err, UTIL_EINVALID, "repo.url is required");
    git_libgit2_init();
    prov_repo *r = calloc(1, sizeof(*r));
    if (!r) {
        git_libgit2_shutdown();
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&r->lock, NULL);
    if ((rc = copy_config(r, cfg, err)) < 0)
        goto fail;
    r->remote = is_remote_url(r->url);
    if (r->remote && (rc = prov_net__register(err)) < 0)
        goto fail;
    if ((rc = use_ca_file(cfg->ca_file, err)) < 0)
        goto fail;
    /* Without trust nothing could ever be accepted: say so now, not at every sync. */
    if (!r->trust_count) {
        rc = util_error_set(err, UTIL_EINVALID, "repo.trust names no trust file");
        goto fail;
    }
    if ((rc = sig_trust_load(&r->trust, (const char *const *)r->trust_files, r->trust_count, err)) <
        0)
        goto fail;
    if ((rc = open_git(r, err)) < 0)
        goto fail;
    if (r->cache_dir) {
        char *key = malloc(strlen(r->url) + strlen(r->branch) + (r->tag ? strlen(r->tag) : 0) + 8);
        if (!key) {
            rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
            goto fail;
        }
        snprintf(key, strlen(r->url) + strlen(r->branch) + (r->tag ? strlen(r->tag) : 0) + 8,
                 "%s#%s%s", r->url, r->tag ? "tag:" : "", r->tag ? r->tag : r->branch);
        r->state_file = cache_path(r->cache_dir, key, "state");
        free(key);
        if (!r->state_file) {
            rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
            goto fail;
        }
        state_load(r);
    }
    *out = r;
    return 0;
fail:
    prov_repo_free(r);
    return rc;
}

/* ---- fetching -------------------------------------------------------------------------- */

/* Progress is a sign of life: a large fetch that keeps moving is never cut. */
static int transfer_cb(const git_indexer_progress *stats, void *payload)
{
    fetch_auth *a = payload;
    (void)stats;
    prov_net__alive(a->guard);
    return 0;
}

static int sideband_cb(const char *str, int len, void *payload)
{
    fetch_auth *a = payload;
    (void)str, (void)len;
    prov_net__alive(a->guard);
    return 0;
}

static int credentials_cb(git_credential **out, const char *url, const char *user_from_url,
                          unsigned int allowed, void *payload)
{
    fetch_auth *a = payload;
    (void)url;
    prov_net__alive(a->guard);
    if (++a->attempts > 3) {
        git_error_set_str(GIT_ERROR_NET, "authentication refused");
        return GIT_EAUTH;
    }
    /* Asked again for what was offered: the remote refused it, and it will not change. */
    if ((allowed & GIT_CREDENTIAL_SSH_KEY) && a->ssh_key) {
        if (a->offered_key) {
            git_error_set_str(GIT_ERROR_NET, "the remote refused the SSH key");
            return GIT_EAUTH;
        }
        a->offered_key = true;
        return git_credential_ssh_key_new(out, user_from_url ? user_from_url : "git", a->ssh_pub,
                                          a->ssh_key, NULL);
    }
    if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && a->token) {
        if (a->offered_token) {
            git_error_set_str(GIT_ERROR_NET, "the remote refused the token");
            return GIT_EAUTH;
        }
        a->offered_token = true;
        return git_credential_userpass_plaintext_new(
            out, user_from_url && *user_from_url ? user_from_url : "x-access-token", a->token);
    }
    if (allowed & GIT_CREDENTIAL_USERNAME)
        return git_credential_username_new(out, user_from_url ? user_from_url : "git");
    git_error_set_str(GIT_ERROR_NET, "the remote asks who we are and no credentials were given "
                                     "(SEALGATE_GIT_SSH_KEY for ssh://, "
                                     "SEALGATE_GIT_TOKEN_FILE for https://)");
    return GIT_EAUTH;
}

/* Fetch options whose callbacks answer from auth and keep its guard alive; auth starts a
 * fresh fetch (nothing offered yet). */
static void fetch_options(git_fetch_options *opts, fetch_auth *auth)
{
    git_fetch_options_init(opts, GIT_FETCH_OPTIONS_VERSION);
    opts->callbacks.credentials = credentials_cb;
    opts->callbacks.transfer_progress = transfer_cb;
    opts->callbacks.sideband_progress = sideband_cb;
    opts->callbacks.payload = auth;
    auth->attempts = 0;
    auth->offered_key = auth->offered_token = false;
}

/* The local ref the followed branch or tag is fetched into (or read from, for a local repo). */
static int tracking_ref(prov_repo *r, char *buf, size_t size)
{
    if (r->remote)
        return snprintf(buf, size, "refs/sealgate/%s/%s", r->tag ? "tags" : "heads",
                        r->tag ? r->tag : r->branch);
    return snprintf(buf, size, "refs/%s/%s", r->tag ? "tags" : "heads",
                    r->tag ? r->tag : r->branch);
}

/* Fetch refspecs from url into git under the fetch timeout, through an anonymous remote with
 * url.*.insteadOf ignored: the URL given is the one fetched (the insteadOf lookup also leaks
 * PCRE2 match data in libgit2 1.5). opts come from fetch_options(auth): auth->guard points at
 * the guard while the fetch runs. head, when given, receives the remote's default branch (left
 * empty when it has none). what names the fetch in errors. The remote is freed before the
 * guard ends: closing its stream still reports to the guard. */
static int fetch_guarded(git_repository *git, const char *url, const git_strarray *refspecs,
                         const git_fetch_options *opts, fetch_auth *auth, int timeout_ms,
                         git_buf *head, const char *what, util_error *err)
{
    git_remote_create_options ropts;
    git_remote_create_options_init(&ropts, GIT_REMOTE_CREATE_OPTIONS_VERSION);
    ropts.repository = git;
    ropts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
    prov_net__guard guard;
    git_remote *remote = NULL;
    int rc = prov_net__begin(&guard, timeout_ms, err);
    if (rc < 0)
        return rc;
    auth->guard = &guard;
    if (git_remote_create_with_opts(&remote, url, &ropts) < 0 ||
        git_remote_fetch(remote, refspecs, opts, "sealgate fetch") < 0)
        rc = PROV_EFETCH;
    if (rc == 0 && head != NULL && git_remote_default_branch(head, remote) < 0)
        git_error_clear(); /* a remote without HEAD: the caller keeps its default */
    if (rc < 0)            /* before the remote goes: freeing it may overwrite libgit2's message */
        util_error_set(err, PROV_EFETCH, "cannot fetch %s: %s", what, git_msg());
    git_remote_free(remote);
    auth->guard = NULL;
    /* libssh2 reports a cut connection as its own error: say what happened instead. */
    if (prov_net__end(&guard) && rc < 0)
        util_error_set(err, PROV_EFETCH, "cannot fetch %s: no answer for %g s (the fetch timeout)",
                       what, guard.timeout_ms / 1000.0);
    return rc;
}

static int fetch(prov_repo *r, util_error *err)
{
    char spec[1024], dst[512], what[1024];
    tracking_ref(r, dst, sizeof(dst));
    snprintf(spec, sizeof(spec), "+refs/%s/%s:%s", r->tag ? "tags" : "heads",
             r->tag ? r->tag : r->branch, dst);
    snprintf(what, sizeof(what), "'%s' from '%s'", r->tag ? r->tag : r->branch, r->url);
    char *specs[] = {spec};
    git_strarray refspecs = {specs, 1};
    git_fetch_options opts;
    fetch_options(&opts, &r->auth);
    opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    opts.prune = GIT_FETCH_NO_PRUNE;
    return fetch_guarded(r->git, r->url, &refspecs, &opts, &r->auth, r->fetch_timeout_ms, NULL,
                         what, err);
}

int prov_fetch_mirror(git_repository *git, const char *url, int timeout_ms,
                      const prov_credentials *creds, util_error *err)
{
    char *specs[] = {"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"};
    git_strarray refspecs = {specs, 2};
    char what[1024];
    snprintf(what, sizeof(what), "'%s'", url);
    fetch_auth auth = {0};
    if (creds != NULL) {
        auth.ssh_key = creds->ssh_key;
        auth.ssh_pub = ssh_pub_beside(creds->ssh_key);
        auth.token = creds->token.len > 0 ? creds->token.data : NULL;
    }
    git_fetch_options opts;
    fetch_options(&opts, &auth);
    git_buf head = {0};
    int rc = prov_net__register(err);
    if (rc == 0 && creds != NULL)
        rc = use_ca_file(creds->ca_file, err);
    if (rc == 0)
        rc = fetch_guarded(git, url, &refspecs, &opts, &auth, timeout_ms, &head, what, err);
    /* HEAD follows the remote's default branch, as a clone's would. */
    if (rc == 0 && head.ptr != NULL && git_repository_set_head(git, head.ptr) < 0)
        rc = util_error_set(err, PROV_EFETCH, "cannot fetch %s: %s", what, git_msg());
    git_buf_dispose(&head);
    free((char *)auth.ssh_pub);
    return rc;
}

/* ---- credentials ----------------------------------------------------------------------- */

/* An environment variable naming a readable file, or NULL. */
static const char *env_file(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' && access(v, R_OK) == 0 ? v : NULL;
}

int prov_credentials_from_env(prov_credentials *out, util_error *err)
{
    out->ssh_key = env_file("SEALGATE_GIT_SSH_KEY");
    out->ca_file = env_file("SEALGATE_GIT_CA_FILE");
    util_buf_init(&out->token);
    const char *token_file = env_file("SEALGATE_GIT_TOKEN_FILE");
    if (token_file == NULL)
        return 0;
    int rc = util_file_read(&out->token, token_file, 4096, err);
    if (rc < 0) {
        util_buf_release_secret(&out->token);
        return rc;
    }
    while (out->token.len > 0 && (out->token.data[out->token.len - 1] == '\n' ||
                                  out->token.data[out->token.len - 1] == '\r'))
        out->token.data[--out->token.len] = '\0';
    return 0;
}

void prov_credentials_release(prov_credentials *c)
{
    util_buf_release_secret(&c->token);
}

/* The commit the followed ref names. For an annotated tag, the tag's own name must be the one
 * followed (a tag object for v1 served as v2 is refused: ref confusion). */
static int resolve_tip(prov_repo *r, git_oid *out, git_oid *tag_out, bool *is_tag, util_error *err)
{
    char name[512];
    git_reference *ref = NULL;
    git_object *obj = NULL;
    int rc = 0;
    tracking_ref(r, name, sizeof(name));
    if (git_reference_lookup(&ref, r->git, name) < 0)
        return util_error_set(err, PROV_ENOTFOUND, "%s '%s' not found in '%s'",
                              r->tag ? "tag" : "branch", r->tag ? r->tag : r->branch, r->url);
    *is_tag = false;
    if (r->tag) {
        git_tag *tag = NULL;
        if (git_tag_lookup(&tag, r->git, git_reference_target(ref)) == 0) {
            *is_tag = true;
            git_oid_cpy(tag_out, git_tag_id(tag));
            git_tag_free(tag);
        }
    }
    if (rc == 0 && git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) < 0)
        rc =
            util_error_set(err, PROV_ENOTFOUND, "'%s' does not name a commit: %s", name, git_msg());
    if (rc == 0)
        git_oid_cpy(out, git_object_id(obj));
    git_object_free(obj);
    git_reference_free(ref);
    return rc;
}

/* ---- verifying ------------------------------------------------------------------------- */

static void copy_signer(char *out, size_t size, const sig_signer *who)
{
    set_text(out, size, who->signer[0] ? who->signer : who->fingerprint);
}

static int64_t seen_fn(void *ctx, const git_oid *id)
{
    bool added;
    return first_seen(ctx, id, &added);
}

/* Append to err's message (cut at its size: the start says the most). */
static void append_msg(util_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append_msg(util_error *err, const char *fmt, ...)
{
    size_t n = strlen(err->msg);
    va_list ap;
    va_start(ap, fmt);
    if (n + 1 < sizeof(err->msg))
        vsnprintf(err->msg + n, sizeof(err->msg) - n, fmt, ap);
    va_end(ap);
}

/* Every refusal ends by saying what stays in force (fail static), once. */
static int refuse(prov_repo *r, int code, util_error *err)
{
    char hex[GIT_OID_HEXSZ + 1];
    if (r->have_accepted)
        append_msg(err, "; %s stays in force", git_oid_tostr(hex, 8, &r->accepted));
    else
        append_msg(err, "; no commit is accepted yet");
    err->code = code;
    return code;
}

/* An annotated tag vouches for its commit: its signature and its name are checked. */
static int verify_tag(prov_repo *r, const git_oid *tag, char *signer, size_t size, util_error *err)
{
    sig_signer who = {0};
    int rc = sig_verify_tag(&who, r->trust, r->git, tag, r->tag, seen_fn(r, tag), err);
    if (rc == 0)
        copy_signer(signer, size, &who);
    return rc == 0 || !SIG_IS_REFUSAL(rc) ? rc : refuse(r, PROV_EUNVERIFIED, err);
}

/* The tip (verify: head), or every commit after base on the way to it (verify: chain; base
 * NULL walks back to the root commits). The refusal names the oldest bad commit, once. */
static int verify_commits(prov_repo *r, const git_oid *tip, const git_oid *base, char *signer,
                          size_t size, util_error *err)
{
    sig_range range;
    sig_range_options opts = {.first_seen_fn = seen_fn, .ctx = r};
    int rc = sig_verify_range(&range, r->trust, r->git, tip, base, &opts, err);
    if (rc == 0) {
        copy_signer(signer, size, &range.tip);
        return 0;
    }
    if (!SIG_IS_REFUSAL(rc))
        return rc;
    rc = refuse(r, rc == SIG_ENOTDESCENDANT ? PROV_EROLLBACK : PROV_EUNVERIFIED, err);
    if (!base && range.total > 1)
        /* Chain mode with no since and nothing accepted: the whole history is judged, and an
         * operator should learn at once that repo.since is the way to start later. */
        append_msg(err, " (verify: chain without repo.since checks every commit down to the "
                        "root; set repo.since to the first signed commit)");
    return rc;
}

/* ---- one sync step --------------------------------------------------------------------- */

static int check_descends(prov_repo *r, const git_oid *tip, util_error *err)
{
    char a[GIT_OID_HEXSZ + 1], b[GIT_OID_HEXSZ + 1];
    if (r->have_accepted && !git_oid_equal(tip, &r->accepted) &&
        git_graph_descendant_of(r->git, tip, &r->accepted) != 1) {
        util_error_set(err, PROV_EROLLBACK,
                       "refused %s: it does not descend from the accepted commit %s (a "
                       "force-push to an older or unrelated history)",
                       git_oid_tostr(a, 8, tip), git_oid_tostr(b, 8, &r->accepted));
        return refuse(r, PROV_EROLLBACK, err);
    }
    return 0;
}

static int since_oid(prov_repo *r, git_oid *out, util_error *err)
{
    git_object *obj = NULL;
    if (git_revparse_single(&obj, r->git, r->since) < 0)
        return util_error_set(err, PROV_ENOTFOUND, "repo.since '%s' not found: %s", r->since,
                              git_msg());
    git_object *commit = NULL;
    int rc = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
    git_object_free(obj);
    if (rc < 0)
        return util_error_set(err, PROV_ENOTFOUND, "repo.since '%s' is not a commit", r->since);
    git_oid_cpy(out, git_object_id(commit));
    git_object_free(commit);
    return 0;
}

/* Judge a new tip (and the annotated tag naming it, or NULL) and swap its index in. */
static int judge_tip(prov_repo *r, const git_oid *tip_in, const git_oid *tag_in, util_error *err)
{
    git_oid tip = *tip_in, since, tag;
    char signer[256] = "", a[GIT_OID_HEXSZ + 1];
    int rc;
    bool have_since = false, is_tag = tag_in != NULL;
    if (tag_in)
        tag = *tag_in;
    if (r->since) {
        if ((rc = since_oid(r, &since, err)) < 0)
            return rc;
        have_since = true;
        if (!git_oid_equal(&tip, &since) && git_graph_descendant_of(r->git, &tip, &since) != 1) {
            util_error_set(err, PROV_EROLLBACK,
                           "refused %s: it does not descend from repo.since %s",
                           git_oid_tostr(a, 8, &tip), r->since);
            return refuse(r, PROV_EROLLBACK, err);
        }
    }
    if ((rc = check_descends(r, &tip, err)) < 0)
        return rc;
    if (r->verify == PROV_VERIFY_CHAIN) {
        /* After the accepted commit, else after since, else the whole history; the same tip
         * again (a restart) is verified on its own. */
        const git_oid *base = r->have_accepted ? &r->accepted : have_since ? &since : NULL;
        rc = verify_commits(r, &tip, base, signer, sizeof(signer), err);
    } else if (is_tag) {
        rc = verify_tag(r, &tag, signer, sizeof(signer), err); /* the signed tag vouches */
    } else {
        rc = verify_commits(r, &tip, &tip, signer, sizeof(signer), err);
    }
    if (rc < 0)
        return rc;

    prov_index *next = NULL;
    if ((rc = prov_index_build(&next, r->git, &tip, &r->index_opts, r->current, signer, err)) < 0)
        return rc;
    pthread_mutex_lock(&r->lock);
    prov_index *old = r->current;
    r->current = next;
    r->accepted = tip;
    r->have_accepted = true;
    git_oid_tostr(r->status.commit, sizeof(r->status.commit), &tip);
    set_text(r->status.signer, sizeof(r->status.signer), signer);
    r->status.commit_time = prov_index_commit_time(next);
    r->status.accepted_at = (int64_t)time(NULL);
    r->status.objects = prov_index_count(next);
    r->status.skipped = prov_index_skipped(next);
    r->status.ready = true;
    pthread_mutex_unlock(&r->lock);
    prov_index_unref(old);
    return 0;
}

static bool is_verdict(int rc)
{
    return rc == PROV_EUNVERIFIED || rc == PROV_EROLLBACK || rc == PROV_EDUPLICATE ||
           rc == PROV_EMANIFEST;
}

/* Fetch, find the tip, and judge it unless it is the accepted one or was refused already
 * (*repeat: the same refusal again). */
static int sync_step(prov_repo *r, bool *repeat, util_error *err)
{
    git_oid tip, tag;
    bool is_tag = false;
    int rc;
    if (r->remote && (rc = fetch(r, err)) < 0)
        return rc;
    if ((rc = resolve_tip(r, &tip, &tag, &is_tag, err)) < 0)
        return rc;
    if (r->current && r->have_accepted && git_oid_equal(&tip, &r->accepted))
        return 0; /* nothing new */
    if (r->have_refused && git_oid_equal(&tip, &r->refused_tip) && is_tag == r->refused_is_tag &&
        (!is_tag || git_oid_equal(&tag, &r->refused_tag))) {
        *err = r->refused_err;
        *repeat = true;
        return err->code;
    }
    rc = judge_tip(r, &tip, is_tag ? &tag : NULL, err);
    r->have_refused = is_verdict(rc);
    if (r->have_refused) {
        r->refused_tip = tip;
        r->refused_is_tag = is_tag;
        if (is_tag)
            r->refused_tag = tag;
        r->refused_err = *err;
    }
    return rc;
}

int prov_repo_sync(prov_repo *r, util_error *err)
{
    util_error local;
    if (!err)
        err = &local;
    util_error_clear(err);
    util_error save_err;
    bool repeat = false;
    int rc = sync_step(r, &repeat, err);
    int saved = state_save(r, &save_err);
    pthread_mutex_lock(&r->lock);
    r->status.syncs++;
    r->status.last_sync = (int64_t)time(NULL);
    r->status.last_sync_ok = rc == 0;
    if (rc == 0) {
        r->status.last_success = r->status.last_sync;
        r->status.last_error[0] = '\0';
        if (saved < 0)
            set_text(r->status.last_error, sizeof(r->status.last_error), save_err.msg);
    } else {
        r->status.sync_failures++;
        if (rc == PROV_EUNVERIFIED && !repeat)
            r->status.verify_failures++;
        if (rc == PROV_EROLLBACK && !repeat)
            r->status.rollbacks++;
        set_text(r->status.last_error, sizeof(r->status.last_error), err->msg);
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

prov_index *prov_repo_snapshot(prov_repo *r)
{
    pthread_mutex_lock(&r->lock);
    prov_index *idx = prov_index_ref(r->current);
    pthread_mutex_unlock(&r->lock);
    return idx;
}

void prov_repo_status_get(prov_repo_status *out, prov_repo *r)
{
    pthread_mutex_lock(&r->lock);
    *out = r->status;
    pthread_mutex_unlock(&r->lock);
}
