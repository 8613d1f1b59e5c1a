/* adm_prov.c: provenance in the server. A sync thread keeps the config repo's accepted index
 * current (prov_repo_sync every repo.interval); requests judge themselves against a snapshot
 * of it, so a slow fetch never holds a request. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admission/adm.h"
#include "admission/prov.h"
#include "crypto/seal.h"
#include "util/banned.h"

struct adm__prov {
    const adm_config *cfg;
    prov_repo *repo;
    prov_ignore *ignore; /* from provenance.ignore; strings borrowed from cfg */
    size_t ignore_count;
    prov_match_options opts; /* opts.diff.keys is set per judgement */
    adm__keys *keys;         /* borrowed; NULL: sealed values compare as ciphertext */
    pthread_t thread;
    bool started;
    pthread_mutex_t lock; /* guards stop */
    pthread_cond_t wake;
    bool stop;
};

static prov_mode prov_mode_of(adm_mode m)
{
    switch (m) {
    case ADM_MODE_WARN:
        return PROV_MODE_WARN;
    case ADM_MODE_AUDIT:
        return PROV_MODE_AUDIT;
    case ADM_MODE_OFF:
        return PROV_MODE_OFF;
    default:
        return PROV_MODE_ENFORCE;
    }
}

int adm__prov_new(adm__prov **out, const adm_config *cfg, adm__keys *keys, util_error *err)
{
    *out = NULL;
    if (!cfg->repo.enabled)
        return 0;
    adm__prov *p = calloc(1, sizeof *p);
    if (p == NULL)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    p->cfg = cfg;
    p->keys = keys;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    size_t n = json_array_size(cfg->provenance.ignore);
    if (n > 0 && (p->ignore = calloc(n, sizeof *p->ignore)) == NULL) {
        adm__prov_free(p);
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(cfg->provenance.ignore, i);
        p->ignore[i] = (prov_ignore){util_json_str(e, "kind"), util_json_str(e, "path")};
    }
    p->ignore_count = n;
    p->opts = (prov_match_options){
        .mode = prov_mode_of(cfg->provenance.mode),
        .diff = {p->ignore, n, NULL},
        .exempt_users = (const char *const *)cfg->provenance.exempt_users.items,
        .exempt_user_count = cfg->provenance.exempt_users.count,
        .exempt_groups = (const char *const *)cfg->provenance.exempt_groups.items,
        .exempt_group_count = cfg->provenance.exempt_groups.count,
        .unseal_failure_violates = true,
    };
    prov_repo_config rc = {
        .url = cfg->repo.url,
        .branch = cfg->repo.branch,
        .index = {(const char *const *)cfg->repo.paths.items, cfg->repo.paths.count, NULL},
        .trust = (const char *const *)cfg->repo.trust.items,
        .trust_count = cfg->repo.trust.count,
        .verify = cfg->repo.verify && strcmp(cfg->repo.verify, "chain") == 0 ? PROV_VERIFY_CHAIN
                                                                             : PROV_VERIFY_HEAD,
        .since = cfg->repo.since,
        .cache_dir = NULL,
    };
    /* A remote repo is cloned under the state folder, beside the self-signed pair. */
    char cache[4096];
    const char *xdg = getenv("XDG_STATE_HOME");
    if (cfg->state_dir != NULL)
        snprintf(cache, sizeof cache, "%s/repo", cfg->state_dir);
    else if (xdg != NULL && xdg[0] != '\0')
        snprintf(cache, sizeof cache, "%s/sealgate/repo", xdg);
    else
        snprintf(cache, sizeof cache, ".state/repo");
    if (strstr(cfg->repo.url, "://") != NULL && strncmp(cfg->repo.url, "file://", 7) != 0) {
        /* With tls.cert set nothing else has made the state folder yet. */
        int mr = adm__mkdir_p(cache, err);
        if (mr < 0) {
            adm__prov_free(p);
            return mr;
        }
        rc.cache_dir = cache;
    }
    /* Git credentials come from files a Secret mounts (the chart sets the variables), never
     * from the config, so they stay out of ConfigMaps and GitOps diffs. */
    prov_credentials creds;
    int cr = prov_credentials_from_env(&creds, err);
    if (cr < 0) {
        adm__prov_free(p);
        return cr;
    }
    rc.ssh_key = creds.ssh_key;
    rc.ca_file = creds.ca_file;
    rc.https_token = creds.token.len > 0 ? creds.token.data : NULL;
    int r = prov_repo_open(&p->repo, &rc, err);
    prov_credentials_release(&creds);
    if (r < 0) {
        adm__prov_free(p);
        return r;
    }
    *out = p;
    return 0;
}

static void prov_sync_once(adm__prov *p)
{
    util_error err;
    util_error_clear(&err);
    prov_repo_status before, after;
    prov_repo_status_get(&before, p->repo);
    int rc = prov_repo_sync(p->repo, &err);
    prov_repo_status_get(&after, p->repo);
    if (rc < 0)
        adm__log(p->cfg->log_level, ADM_LOG_ERROR,
                 json_pack("{s:s, s:s}", "error", err.msg, "commit", after.commit),
                 "config repo sync failed; the last accepted commit stays in force");
    else if (strcmp(before.commit, after.commit) != 0)
        adm__log(p->cfg->log_level, ADM_LOG_INFO,
                 json_pack("{s:s, s:s, s:i}", "commit", after.commit, "signer", after.signer,
                           "objects", (int)after.objects),
                 "config repo commit accepted");
}

static void *prov_thread(void *arg)
{
    adm__prov *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        pthread_mutex_unlock(&p->lock);
        prov_sync_once(p);
        pthread_mutex_lock(&p->lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)(p->cfg->repo.interval_ms / 1000);
        until.tv_nsec += (long)(p->cfg->repo.interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!p->stop && pthread_cond_timedwait(&p->wake, &p->lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int adm__prov_start(adm__prov *p, util_error *err)
{
    if (p == NULL)
        return 0;
    if (pthread_create(&p->thread, NULL, prov_thread, p) != 0)
        return util_error_set(err, UTIL_EFAIL, "cannot start the config repo sync thread");
    p->started = true;
    return 0;
}

void adm__prov_free(adm__prov *p)
{
    if (p == NULL)
        return;
    if (p->started) {
        pthread_mutex_lock(&p->lock);
        p->stop = true;
        pthread_cond_signal(&p->wake);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->thread, NULL);
    }
    prov_repo_free(p->repo);
    free(p->ignore);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* Judge req against the accepted commit: denial, warning or audit note in res, commit and
 * signer annotations, and the git facts for the rules (*git_out, new reference or NULL). */
int adm__prov_judge(adm__prov *p, const adm_request *req, adm_response *res, json_t **git_out,
                    util_arena *arena, util_error *err)
{
    *git_out = NULL;
    if (p == NULL)
        return 0;
    prov_index *idx = prov_repo_snapshot(p->repo);
    /* The keyring in force now, held for this match only: a reload during it frees the old
     * one after this reference goes. */
    struct seal_keyring *keys = adm__keys_acquire(p->keys);
    prov_match_options opts = p->opts;
    opts.diff.keys = keys;
    prov_verdict v;
    memset(&v, 0, sizeof v);
    int rc = prov_match(&v, idx, &opts, req->request, arena, err);
    seal_keyring_free(keys);
    prov_index_unref(idx);
    if (rc < 0)
        return rc;
    *git_out = v.git;
    if (v.commit != NULL)
        rc = adm_response_annotate(res, "commit", v.commit);
    if (rc == 0 && v.signer != NULL && v.signer[0] != '\0')
        rc = adm_response_annotate(res, "signer", v.signer);
    if (rc == 0 && v.violation) {
        const char *msg = v.message ? v.message : "does not match the config repo";
        if (v.action == PROV_ACTION_DENY)
            rc = adm_response_deny(res, "sealgate/provenance", msg);
        else if (v.action == PROV_ACTION_WARN)
            rc = adm_response_warn(res, msg);
        else if (v.action == PROV_ACTION_AUDIT)
            rc = adm_response_annotate(res, "provenance", msg);
    }
    if (rc < 0)
        return util_error_set(err, rc, "cannot build the answer");
    return v.violation ? (int)v.action : 0;
}

json_t *adm__prov_status(adm__prov *p)
{
    if (p == NULL)
        return json_pack("{s:b}", "enabled", false);
    prov_repo_status s;
    prov_repo_status_get(&s, p->repo);
    json_t *st =
        json_pack("{s:b, s:b, s:b, s:s, s:s, s:i, s:i, s:i}", "enabled", true, "ready", s.ready,
                  "lastSyncOk", s.last_sync_ok, "commit", s.commit, "signer", s.signer, "objects",
                  (int)s.objects, "syncs", (int)s.syncs, "syncFailures", (int)s.sync_failures);
    if (st != NULL && s.last_error[0] != '\0')
        json_object_set_new(st, "error", json_string(s.last_error));
    return st;
}

int adm__prov_metrics(adm__prov *p, util_buf *o)
{
    prov_repo_status s;
    if (p == NULL)
        return 0;
    prov_repo_status_get(&s, p->repo);
    /* Timestamps rather than ages, so alerts compute `time() - x` and a stuck scrape cannot
     * look fresh; the chart's PrometheusRule alerts on these names. */
    return util_buf_printf(
        o,
        "# HELP sealgate_repo_ready Whether a verified commit of the config repo is in force.\n"
        "# TYPE sealgate_repo_ready gauge\nsealgate_repo_ready %d\n"
        "# HELP sealgate_repo_last_sync_timestamp_seconds Last sync attempt (unix time).\n"
        "# TYPE sealgate_repo_last_sync_timestamp_seconds gauge\n"
        "sealgate_repo_last_sync_timestamp_seconds %lld\n"
        "# HELP sealgate_repo_last_sync_success_timestamp_seconds Last successful sync.\n"
        "# TYPE sealgate_repo_last_sync_success_timestamp_seconds gauge\n"
        "sealgate_repo_last_sync_success_timestamp_seconds %lld\n"
        "# HELP sealgate_repo_commit_timestamp_seconds Committer time of the accepted commit.\n"
        "# TYPE sealgate_repo_commit_timestamp_seconds gauge\n"
        "sealgate_repo_commit_timestamp_seconds %lld\n"
        "# HELP sealgate_repo_accepted_timestamp_seconds When the accepted commit was accepted.\n"
        "# TYPE sealgate_repo_accepted_timestamp_seconds gauge\n"
        "sealgate_repo_accepted_timestamp_seconds %lld\n"
        "# HELP sealgate_repo_syncs_total Sync attempts.\n"
        "# TYPE sealgate_repo_syncs_total counter\nsealgate_repo_syncs_total %llu\n"
        "# HELP sealgate_repo_sync_failures_total Sync attempts that failed for any reason.\n"
        "# TYPE sealgate_repo_sync_failures_total counter\nsealgate_repo_sync_failures_total %llu\n"
        "# HELP sealgate_repo_verification_failures_total Tips refused for their signatures.\n"
        "# TYPE sealgate_repo_verification_failures_total counter\n"
        "sealgate_repo_verification_failures_total %llu\n"
        "# HELP sealgate_repo_rollbacks_total Tips refused as not descending from the accepted "
        "commit.\n"
        "# TYPE sealgate_repo_rollbacks_total counter\nsealgate_repo_rollbacks_total %llu\n"
        "# HELP sealgate_repo_objects Objects the accepted commit declares.\n"
        "# TYPE sealgate_repo_objects gauge\nsealgate_repo_objects %llu\n",
        s.ready ? 1 : 0, (long long)s.last_sync, (long long)s.last_success,
        (long long)s.commit_time, (long long)s.accepted_at, (unsigned long long)s.syncs,
        (unsigned long long)s.sync_failures, (unsigned long long)s.verify_failures,
        (unsigned long long)s.rollbacks, (unsigned long long)s.objects);
}
