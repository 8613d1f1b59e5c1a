/* adm_keys.c: the sealing keys in force (sealing.keys) and their reloads. Like the rule set
 * and the certificate: the files are watched, a new keyring is loaded aside and swapped in
 * under a short lock; /mutate requests and provenance matches hold their own reference, so
 * the old keyring is wiped and freed only when the last request that uses it is answered. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admission/adm.h"
#include "crypto/seal.h"
#include "util/banned.h"

/* The files a folder in sealing.keys contributes: `sealgate keygen` names them *.key. */
static const char *const keys_suffixes[] = {".key", NULL};

struct adm__keys {
    const adm_config *cfg;
    adm__metrics *metrics;
    pthread_mutex_t lock; /* guards cur, error and loaded_at */
    seal_keyring *cur;    /* one reference held here; NULL when sealing.keys is absent */
    char error[512];      /* why the last reload failed; "" after a good one */
    int64_t loaded_at;    /* unix time cur was loaded */
    uint64_t fingerprint; /* of the key files' names, inodes, sizes and times at the last try */
};

/* The key files sealing.keys names now: each entry is a file, or a folder whose *.key files
 * (hidden entries skipped, so a Kubernetes Secret volume's ..data is not read twice) all
 * count. A folder without one is an error: a keyring never shrinks to nothing by accident. */
static int keys_files(const adm__keys *k, util_strv *out, util_error *err)
{
    for (size_t i = 0; i < k->cfg->sealing.keys.count; i++) {
        const char *path = k->cfg->sealing.keys.items[i];
        size_t before = out->count;
        int rc = util_path_collect(out, path, keys_suffixes, err);
        if (rc < 0)
            return rc;
        if (out->count == before)
            return util_error_set(err, UTIL_ENOTFOUND, "no key file (*.key) in folder '%s'", path);
    }
    return 0;
}

/* What the key files look like: a change in any name, inode, size or time means reload. A
 * missing path counts as a change too (and then fails to load, naming it). */
static uint64_t keys_fingerprint(const adm__keys *k)
{
    uint64_t h = UTIL_FNV_SEED;
    util_strv files = {0};
    util_error e;
    util_error_clear(&e);
    if (keys_files(k, &files, &e) < 0)
        h = util_fnv(h, e.msg, strlen(e.msg));
    h = util_files_fingerprint(h, &files);
    util_strv_free(&files);
    return h;
}

/* Load the configured files into a new keyring (*out, one reference). An error names the
 * file in its message: err->source would point into the file list freed here. */
static int keys_load(const adm__keys *k, seal_keyring **out, util_error *err)
{
    util_strv files = {0};
    int rc = keys_files(k, &files, err);
    if (rc == 0)
        rc = seal_keyring_load(out, (const char *const *)files.items, files.count, err);
    if (rc < 0) {
        char where[sizeof err->msg];
        util_error_format(err, where, sizeof where);
        util_error_clear(err);
        util_error_set(err, rc, "%s", where);
    }
    util_strv_free(&files);
    return rc;
}

int adm__keys_new(adm__keys **out, const adm_config *cfg, adm__metrics *metrics, util_error *err)
{
    adm__keys *k = calloc(1, sizeof *k);
    if (k == NULL)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    k->cfg = cfg;
    k->metrics = metrics;
    pthread_mutex_init(&k->lock, NULL);
    if (cfg->sealing.keys.count > 0) {
        k->fingerprint = keys_fingerprint(k);
        int rc = keys_load(k, &k->cur, err);
        if (rc < 0) {
            adm__keys_free(k);
            return rc;
        }
        k->loaded_at = (int64_t)time(NULL);
        adm__metrics_keys_load(metrics, true, false, seal_keyring_count(k->cur), k->loaded_at);
    }
    *out = k;
    return 0;
}

void adm__keys_free(adm__keys *k)
{
    if (k == NULL)
        return;
    seal_keyring_free(k->cur);
    pthread_mutex_destroy(&k->lock);
    free(k);
}

struct seal_keyring *adm__keys_acquire(adm__keys *k)
{
    if (k == NULL)
        return NULL;
    pthread_mutex_lock(&k->lock);
    seal_keyring *kr = seal_keyring_incref(k->cur);
    pthread_mutex_unlock(&k->lock);
    return kr;
}

int adm__keys_reload(adm__keys *k, bool force, util_error *err)
{
    if (k == NULL || k->cfg->sealing.keys.count == 0)
        return 0;
    uint64_t fp = keys_fingerprint(k);
    if (!force && fp == k->fingerprint)
        return 0;
    /* Remember the files either way: a broken file is reported once, not every poll. */
    k->fingerprint = fp;
    seal_keyring *fresh = NULL;
    int rc = keys_load(k, &fresh, err);
    if (rc < 0) {
        char where[sizeof k->error];
        util_error_format(err, where, sizeof where);
        pthread_mutex_lock(&k->lock);
        snprintf(k->error, sizeof k->error, "%s", where);
        pthread_mutex_unlock(&k->lock);
        adm__metrics_keys_load(k->metrics, false, true, 0, 0);
        return rc;
    }
    int64_t now = (int64_t)time(NULL);
    pthread_mutex_lock(&k->lock);
    seal_keyring *old = k->cur;
    k->cur = fresh;
    k->error[0] = '\0';
    k->loaded_at = now;
    pthread_mutex_unlock(&k->lock);
    /* Requests still unsealing with the old keys hold their own references: this only drops
     * ours, and the last of theirs wipes it. */
    seal_keyring_free(old);
    adm__metrics_keys_load(k->metrics, true, true, seal_keyring_count(fresh), now);
    return 1;
}

/* The key ids of kr as a JSON array of hex strings (public: each sealed value carries its
 * own); new reference. */
static json_t *keys_ids(const seal_keyring *kr)
{
    json_t *ids = json_array();
    for (size_t i = 0; ids != NULL && i < seal_keyring_count(kr); i++) {
        seal_pubkey pub;
        char hex[SEAL_KEY_ID_HEX_SIZE];
        if (seal_keyring_pubkey(&pub, kr, i) == 0)
            json_array_append_new(ids, json_string(seal_key_id_hex(hex, pub.kid)));
    }
    return ids;
}

json_t *adm__keys_status(adm__keys *k)
{
    seal_keyring *kr = adm__keys_acquire(k);
    json_t *paths = json_array();
    for (size_t i = 0; k != NULL && paths != NULL && i < k->cfg->sealing.keys.count; i++)
        json_array_append_new(paths, json_string(k->cfg->sealing.keys.items[i]));
    json_t *st = json_pack("{s:b, s:i, s:o*, s:o*}", "keys", kr != NULL, "count",
                           (int)seal_keyring_count(kr), "keyIds", keys_ids(kr), "paths", paths);
    seal_keyring_free(kr);
    if (st != NULL && k != NULL) {
        pthread_mutex_lock(&k->lock);
        if (k->loaded_at != 0)
            json_object_set_new(st, "loadedAt", json_integer(k->loaded_at));
        if (k->error[0] != '\0')
            json_object_set_new(st, "error", json_string(k->error));
        pthread_mutex_unlock(&k->lock);
    }
    return st;
}
