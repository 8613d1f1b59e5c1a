/* server_keys_test.c: the server's sealing keyring holder (admission/adm_keys.c) in process:
 * a key file added to the folder is loaded by a reload while a reference taken before keeps
 * the old keyring usable (ASan would see a use after free); a broken folder keeps the old
 * keys and says which file; and workers unsealing in a loop while the main thread reloads
 * never see a freed keyring. Key files are made by seal_keygen in a temp folder. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admission/adm.h"
#include "crypto/seal.h"
#include "test.h"

static char tmp[] = "/tmp/sealgate-keys-test.XXXXXX";
static char keydir[256];

static void write_file(const char *path, const char *text)
{
    char aside[400];
    snprintf(aside, sizeof aside, "%s/.aside", keydir);
    FILE *f = fopen(aside, "w");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    fputs(text, f);
    fclose(f);
    CHECK_INT(rename(aside, path), 0); /* whole, as a watcher must see it */
}

/* Copy tmp/NAME/sealgate.key to keydir/NAME.key. */
static void put_key(const char *name)
{
    char from[400], to[400];
    util_buf text;
    util_error err;
    util_buf_init(&text);
    snprintf(from, sizeof from, "%s/%s/sealgate.key", tmp, name);
    snprintf(to, sizeof to, "%s/%s.key", keydir, name);
    CHECK_INT(util_file_read(&text, from, 4096, &err), 0);
    write_file(to, text.data ? text.data : "");
    util_buf_release_secret(&text);
}

/* A new key pair in tmp/NAME/, its private file put in keydir as NAME.key. */
static void make_key(const char *name, seal_pubkey *pub)
{
    char dir[300];
    util_error err;
    snprintf(dir, sizeof dir, "%s/%s", tmp, name);
    CHECK_INT(adm__mkdir_p(dir, &err), 0);
    CHECK_INT(seal_keygen(dir, pub, &err), 0);
    put_key(name);
}

static void seal_to(util_buf *out, const seal_pubkey *pub, const char *plain)
{
    util_error err;
    util_buf_init(out);
    CHECK_INT(seal_value_seal(out, pub, SEAL_SCOPE_STRICT, "prod", "db", "password", plain,
                              strlen(plain), &err),
              0);
}

/* Unseal sealed with kr: 0 and the plaintext compared with want, or the error code. */
static int unseal_is(const seal_keyring *kr, const util_buf *sealed, const char *want)
{
    util_buf plain;
    util_error err;
    util_buf_init(&plain);
    int rc =
        seal_value_unseal(&plain, kr, "prod", "db", "password", sealed->data, sealed->len, &err);
    if (rc == 0 && (plain.len != strlen(want) || memcmp(plain.data, want, plain.len) != 0))
        rc = -1;
    util_buf_release_secret(&plain);
    return rc;
}

static void test_reload_keeps_old_reference(adm__keys *keys, adm__metrics *metrics,
                                            const util_buf *v1, seal_pubkey *k2)
{
    util_error err;
    seal_keyring *old = adm__keys_acquire(keys);
    CHECK_INT(seal_keyring_count(old), 1);
    CHECK_INT(adm__keys_reload(keys, false, &err), 0); /* nothing changed */

    make_key("k2", k2);
    util_buf v2;
    seal_to(&v2, k2, "two-pass");
    CHECK_INT(unseal_is(old, &v2, "two-pass"), SEAL_EUNKNOWNKEY);
    CHECK_INT(adm__keys_reload(keys, false, &err), 1);
    seal_keyring *cur = adm__keys_acquire(keys);
    CHECK(cur != old);
    CHECK_INT(seal_keyring_count(cur), 2);
    CHECK_INT(unseal_is(cur, &v2, "two-pass"), 0);
    CHECK_INT(unseal_is(cur, v1, "one-pass"), 0);
    /* The holder dropped its reference to the old keyring; ours keeps it whole. */
    CHECK_INT(seal_keyring_count(old), 1);
    CHECK_INT(unseal_is(old, v1, "one-pass"), 0);
    seal_keyring_free(old);
    seal_keyring_free(cur);

    /* A broken file: the reload fails naming it, the two keys stay, once per change. */
    char path[400];
    snprintf(path, sizeof path, "%s/k2.key", keydir);
    write_file(path, "sealgate-private-key-v1 1700000000 AAAA\n");
    CHECK(adm__keys_reload(keys, false, &err) < 0);
    CHECK(strstr(err.msg, "k2.key:1:1: private key is not the base64 of 32 bytes") != NULL);
    CHECK(strstr(err.msg, keydir) != NULL);
    CHECK_INT(adm__keys_reload(keys, false, &err), 0);
    CHECK(adm__keys_reload(keys, true, &err) < 0); /* SIGHUP: tried again */
    cur = adm__keys_acquire(keys);
    CHECK_INT(seal_keyring_count(cur), 2);
    CHECK_INT(unseal_is(cur, &v2, "two-pass"), 0);
    seal_keyring_free(cur);
    json_t *st = adm__keys_status(keys);
    CHECK(strstr(json_string_value(json_object_get(st, "error")), "k2.key:1:1") != NULL);
    CHECK_INT(json_integer_value(json_object_get(st, "count")), 2);
    CHECK_INT(json_array_size(json_object_get(st, "keyIds")), 2);
    json_decref(st);

    /* The folder emptied: refused, never a keyring without keys. */
    char k1[400];
    snprintf(k1, sizeof k1, "%s/k1.key", keydir);
    CHECK_INT(unlink(path), 0);
    CHECK_INT(rename(k1, path), 0);
    CHECK_INT(adm__keys_reload(keys, false, &err), 1); /* k1 under another name: fine */
    CHECK_INT(unlink(path), 0);
    CHECK(adm__keys_reload(keys, false, &err) < 0);
    CHECK(strstr(err.msg, "no key file (*.key) in folder") != NULL);
    cur = adm__keys_acquire(keys);
    CHECK_INT(seal_keyring_count(cur), 1);
    CHECK_INT(unseal_is(cur, v1, "one-pass"), 0);
    seal_keyring_free(cur);

    util_buf out;
    util_buf_init(&out);
    CHECK_INT(adm__metrics_render(metrics, &out), 0);
    CHECK(strstr(out.data, "sealgate_sealing_keys_loaded 1\n") != NULL);
    CHECK(strstr(out.data, "sealgate_sealing_keys_reloads_total 2\n") != NULL);
    CHECK(strstr(out.data, "sealgate_sealing_keys_reload_failures_total 3\n") != NULL);
    util_buf_release(&out);
    util_buf_release(&v2);
}

/* Workers take a reference, unseal, drop it, in a loop, while the main thread swaps. */
typedef struct worker {
    adm__keys *keys;
    const util_buf *sealed;
    atomic_bool *stop;
    unsigned ok, failed;
} worker;

/* Bounded, and yielding: under valgrind, which runs one thread at a time, three workers that
 * retake the keyring lock in a tight loop starved the reloading thread for minutes. */
#define WORKER_MAX_UNSEALS 2000

static void *worker_run(void *arg)
{
    worker *w = arg;
    for (int n = 0; n < WORKER_MAX_UNSEALS && !atomic_load(w->stop); n++) {
        sched_yield();
        seal_keyring *kr = adm__keys_acquire(w->keys);
        if (unseal_is(kr, w->sealed, "one-pass") == 0)
            w->ok++;
        else
            w->failed++;
        seal_keyring_free(kr);
    }
    return NULL;
}

static void test_swap_under_use(adm__keys *keys, const util_buf *v1)
{
    put_key("k1");
    put_key("k2");
    atomic_bool stop;
    atomic_init(&stop, false);
    worker w[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (worker){keys, v1, &stop, 0, 0};
        CHECK_INT(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
    }
    util_error err;
    int swaps = 0;
    for (int i = 0; i < 200; i++)
        swaps += adm__keys_reload(keys, true, &err) == 1;
    atomic_store(&stop, true);
    unsigned ok = 0, failed = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
        failed += w[i].failed;
    }
    CHECK_INT(swaps, 200);
    CHECK(ok > 0);
    CHECK_INT(failed, 0);
}

/* A Kubernetes Secret volume, as kubelet writes it: the files live in a timestamped folder,
 * `..data` links to it, and each key is a link `NAME -> ..data/NAME`. An update writes a new
 * folder and swaps `..data` in one rename; links to new names are added after. */
static void kubelet_write(const char *vol, const char *stamp, const char *const *names)
{
    char dir[600], link[700], aside[700], target[1400], top[1400];
    util_error err;
    snprintf(dir, sizeof dir, "%s/%s", vol, stamp);
    CHECK_INT(adm__mkdir_p(dir, &err), 0);
    for (size_t i = 0; names[i] != NULL; i++) {
        util_buf text;
        util_buf_init(&text);
        snprintf(link, sizeof link, "%s/%s/sealgate.key", tmp, names[i]);
        CHECK_INT(util_file_read(&text, link, 4096, &err), 0);
        snprintf(target, sizeof target, "%s/%s.key", dir, names[i]);
        CHECK_INT(util_file_write(target, text.data, text.len, 0600, &err), 0);
        util_buf_release_secret(&text);
    }
    snprintf(aside, sizeof aside, "%s/..data_tmp", vol);
    snprintf(link, sizeof link, "%s/..data", vol);
    CHECK_INT(symlink(stamp, aside), 0);
    CHECK_INT(rename(aside, link), 0);
    for (size_t i = 0; names[i] != NULL; i++) {
        snprintf(top, sizeof top, "%s/%s.key", vol, names[i]);
        snprintf(target, sizeof target, "..data/%s.key", names[i]);
        if (symlink(target, top) != 0)
            CHECK(access(top, F_OK) == 0); /* the link of an existing name stays */
    }
}

/* Keys from path, as the server loads them: cfg and *metrics are the caller's to release. */
static adm__keys *keys_open(adm_config *cfg, adm__metrics **metrics, const char *path)
{
    util_error err;
    adm__keys *keys = NULL;
    adm_config_init(cfg);
    CHECK_INT(util_strv_push(&cfg->sealing.keys, path), 0);
    *metrics = adm__metrics_new();
    CHECK_INT(adm__keys_new(&keys, cfg, *metrics, &err), 0);
    return keys;
}

/* sealing.keys naming a Secret volume: kubelet's swap adding k2 is one reload, with k1 and k2;
 * the old timestamped folder removed afterwards changes nothing. */
static void test_secret_volume(const util_buf *v1, const seal_pubkey *k2)
{
    char vol[300], old[400];
    util_error err;
    snprintf(vol, sizeof vol, "%s/volume", tmp);
    CHECK_INT(adm__mkdir_p(vol, &err), 0);
    kubelet_write(vol, "..2026_11_22_10_00_00.1", (const char *const[]){"k1", NULL});
    adm_config cfg;
    adm__metrics *metrics;
    adm__keys *keys = keys_open(&cfg, &metrics, vol);
    seal_keyring *kr = adm__keys_acquire(keys);
    CHECK_INT(seal_keyring_count(kr), 1); /* ..data and the timestamped folder are hidden */
    seal_keyring_free(kr);

    kubelet_write(vol, "..2026_11_22_10_05_00.2", (const char *const[]){"k1", "k2", NULL});
    CHECK_INT(adm__keys_reload(keys, false, &err), 1);
    snprintf(old, sizeof old, "rm -rf '%s/..2026_11_22_10_00_00.1'", vol);
    CHECK_INT(system(old), 0);
    CHECK_INT(adm__keys_reload(keys, false, &err), 0);
    kr = adm__keys_acquire(keys);
    CHECK_INT(seal_keyring_count(kr), 2);
    CHECK_INT(unseal_is(kr, v1, "one-pass"), 0);
    util_buf v2;
    seal_to(&v2, k2, "two-pass");
    CHECK_INT(unseal_is(kr, &v2, "two-pass"), 0);
    util_buf_release(&v2);
    seal_keyring_free(kr);
    adm__keys_free(keys);
    adm__metrics_free(metrics);
    adm_config_release(&cfg);
}

int main(void)
{
    if (mkdtemp(tmp) == NULL)
        return 1;
    snprintf(keydir, sizeof keydir, "%s/keys", tmp);
    util_error err;
    CHECK_INT(adm__mkdir_p(keydir, &err), 0);
    seal_pubkey k1, k2;
    make_key("k1", &k1);
    util_buf v1;
    seal_to(&v1, &k1, "one-pass");

    adm_config cfg;
    adm__metrics *metrics;
    adm__keys *keys = keys_open(&cfg, &metrics, keydir);
    if (keys != NULL) {
        test_reload_keeps_old_reference(keys, metrics, &v1, &k2);
        test_swap_under_use(keys, &v1);
        test_secret_volume(&v1, &k2);
    }
    adm__keys_free(keys);

    /* No sealing.keys: an empty holder, nothing to reload. */
    adm_config none;
    adm_config_init(&none);
    CHECK_INT(adm__keys_new(&keys, &none, metrics, &err), 0);
    CHECK(adm__keys_acquire(keys) == NULL);
    CHECK_INT(adm__keys_reload(keys, true, &err), 0);
    adm__keys_free(keys);
    adm_config_release(&none);

    adm__metrics_free(metrics);
    adm_config_release(&cfg);
    util_buf_release(&v1);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmp);
    return test_finish();
}
