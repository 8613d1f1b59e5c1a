/* adm_rules.c: the rule set in force and its reloads. A reload compiles the files aside with
 * the policy module and swaps the pointer under a short lock; requests hold their own
 * reference, so the old set lives until the last request that uses it is answered. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "admission/adm.h"
#include "policy/pol.h"
#include "util/banned.h"

/* The packs the embedded default serves (design.md). */
static const char *const rules_default_packs[] = {"pod-security-baseline", "images", "secrets"};
/* Files whose change triggers a reload. */
static const char *const rules_suffixes[] = {".rules", "params.yaml", "params.yml", NULL};

struct adm__rules {
    const adm_config *cfg;
    adm__metrics *metrics;
    util_strv paths;      /* what is loaded: the config's paths or the bundled packs */
    pthread_mutex_t lock; /* guards set and error */
    pol_ruleset *set;     /* one reference held here; NULL before the first good load */
    char error[512];      /* why the last reload failed; "" after a good one */
    uint64_t fingerprint; /* of the rule files' names, sizes and times at the last load */
};

const char *adm__bundled_rules_dir(void)
{
    const char *env = getenv("SEALGATE_RULES_DIR");
    if (env != NULL && env[0] != '\0')
        return env;
#ifdef ADM_SOURCE_RULES_DIR
    if (util_path_is_dir(ADM_SOURCE_RULES_DIR))
        return ADM_SOURCE_RULES_DIR;
#endif
    return "/usr/share/sealgate/rules";
}

static int rules_paths_init(adm__rules *r, util_error *err)
{
    if (r->cfg->rules.count > 0) {
        for (size_t i = 0; i < r->cfg->rules.count; i++)
            if (util_strv_push(&r->paths, r->cfg->rules.items[i]) < 0)
                return util_error_set(err, UTIL_ENOMEM, "out of memory");
        return 0;
    }
    const char *dir = adm__bundled_rules_dir();
    for (size_t i = 0; i < sizeof rules_default_packs / sizeof rules_default_packs[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, rules_default_packs[i]);
        if (!util_path_is_dir(path))
            return util_error_set(err, UTIL_ENOTFOUND,
                                  "bundled pack '%s' not found under '%s' (set "
                                  "SEALGATE_RULES_DIR or rules: in the configuration)",
                                  rules_default_packs[i], dir);
        if (util_strv_push(&r->paths, path) < 0)
            return util_error_set(err, UTIL_ENOMEM, "out of memory");
    }
    return 0;
}

/* A fingerprint of every rule file under the paths; a missing path counts as a change. */
static uint64_t rules_fingerprint(const adm__rules *r)
{
    uint64_t h = UTIL_FNV_SEED;
    for (size_t i = 0; i < r->paths.count; i++) {
        util_strv files = {0};
        util_error e;
        if (util_path_collect(&files, r->paths.items[i], rules_suffixes, &e) < 0)
            h = util_fnv(h, "missing", 7);
        else
            h = util_files_fingerprint(h, &files);
        util_strv_free(&files);
    }
    return h;
}

/* Compile the paths into a new set; on failure log every error and summarise it in err. */
static int rules_compile(adm__rules *r, pol_ruleset **out, util_error *err)
{
    pol_diags *diags = pol_diags_new();
    uint64_t t0 = util_now_ns();
    int rc = pol_ruleset_load(out, (const char *const *)r->paths.items, r->paths.count,
                              r->cfg->params, diags, err);
    uint64_t took = util_now_ns() - t0;
    if (rc < 0) {
        for (size_t i = 0; i < pol_diags_count(diags); i++) {
            char where[400];
            util_error_format(pol_diags_get(diags, i), where, sizeof where);
            adm__log(r->cfg->log_level, ADM_LOG_ERROR, json_pack("{s:s}", "error", where),
                     "rule file error");
        }
        if (pol_diags_count(diags) > 0) {
            char first[400];
            util_error_format(pol_diags_get(diags, 0), first, sizeof first);
            size_t more = pol_diags_count(diags) - 1;
            if (more > 0)
                util_error_set(err, rc, "%s (and %zu more)", first, more);
            else
                util_error_set(err, rc, "%s", first);
        }
    }
    adm__metrics_rules_load(r->metrics, rc == 0, took, rc == 0 ? pol_ruleset_count(*out) : 0);
    if (rc == 0)
        adm__log(r->cfg->log_level, ADM_LOG_INFO,
                 json_pack("{s:i, s:f}", "rules", (int)pol_ruleset_count(*out), "seconds",
                           (double)took / 1e9),
                 "rule set loaded");
    pol_diags_free(diags);
    return rc;
}

int adm__rules_new(adm__rules **out, const adm_config *cfg, adm__metrics *metrics, util_error *err)
{
    adm__rules *r = calloc(1, sizeof *r);
    if (r == NULL)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    r->cfg = cfg;
    r->metrics = metrics;
    pthread_mutex_init(&r->lock, NULL);
    int rc = rules_paths_init(r, err);
    if (rc == 0) {
        r->fingerprint = rules_fingerprint(r);
        rc = rules_compile(r, &r->set, err);
    }
    if (rc < 0) {
        adm__rules_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void adm__rules_free(adm__rules *r)
{
    if (r == NULL)
        return;
    pol_ruleset_decref(r->set);
    util_strv_free(&r->paths);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

pol_ruleset *adm__rules_acquire(adm__rules *r)
{
    pthread_mutex_lock(&r->lock);
    pol_ruleset *s = r->set;
    if (s != NULL)
        pol_ruleset_incref(s);
    pthread_mutex_unlock(&r->lock);
    return s;
}

int adm__rules_reload(adm__rules *r, bool force, util_error *err)
{
    uint64_t fp = rules_fingerprint(r);
    if (!force && fp == r->fingerprint)
        return 0;
    /* Recorded before compiling: a broken file is reported once, not on every poll. */
    r->fingerprint = fp;
    pol_ruleset *fresh = NULL;
    int rc = rules_compile(r, &fresh, err);
    pthread_mutex_lock(&r->lock);
    pol_ruleset *old = NULL;
    if (rc == 0) {
        old = r->set;
        r->set = fresh;
        r->error[0] = '\0';
    } else {
        util_error_format(err, r->error, sizeof r->error);
    }
    pthread_mutex_unlock(&r->lock);
    pol_ruleset_decref(old);
    return rc < 0 ? rc : 1;
}

json_t *adm__rules_status(adm__rules *r)
{
    json_t *paths = json_array();
    for (size_t i = 0; paths && i < r->paths.count; i++)
        json_array_append_new(paths, json_string(r->paths.items[i]));
    pthread_mutex_lock(&r->lock);
    json_t *st = json_pack("{s:i, s:o*}", "loaded", r->set ? (int)pol_ruleset_count(r->set) : 0,
                           "paths", paths);
    if (st != NULL && r->error[0] != '\0')
        json_object_set_new(st, "error", json_string(r->error));
    pthread_mutex_unlock(&r->lock);
    return st;
}
