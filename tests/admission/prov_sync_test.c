/* Syncing the config repo, with commits signed by real ssh-keygen keys (ed25519, RSA 3072,
 * ECDSA P-256) through git and verified by crypto/sig: accepted, unsigned, untrusted, chain
 * with an unsigned middle commit, chain without since, force-push rollback (also across a
 * restart), an unreachable `git daemon` remote with the last commit staying in force, remotes
 * that accept and never answer or never accept (the fetch timeout), a one-file change
 * re-indexed. */
#include "admission/prov.h"
#include "prov_git.h"
#include "test.h"

#include <signal.h>
#include <time.h>

#include "util/banned.h"

static const char *deploy(const char *image)
{
    static char buf[512];
    snprintf(buf, sizeof(buf),
             "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: demo}\n"
             "spec:\n  template:\n    spec:\n      containers: [{name: web, image: '%s'}]\n",
             image);
    return buf;
}

static int fetch_timeout_ms; /* for the repos open_repo opens; 0: the default */

static prov_repo *open_repo(const char *url, prov_verify_mode mode, const char *cache,
                            const char *since)
{
    char u[512], trust[512], c[512];
    static const char *const paths[] = {"deploy"};
    snprintf(u, sizeof(u), "%s%s%s", strstr(url, "://") ? "" : tdir, strstr(url, "://") ? "" : "/",
             url);
    snprintf(trust, sizeof(trust), "%s/allowed_signers", tdir);
    snprintf(c, sizeof(c), "%s/%s", tdir, cache ? cache : "");
    const char *trusts[] = {trust};
    prov_repo_config cfg = {.url = u,
                            .branch = "main",
                            .index = {paths, 1, "default"},
                            .trust = trusts,
                            .trust_count = 1,
                            .verify = mode,
                            .since = since,
                            .cache_dir = cache ? c : NULL,
                            .fetch_timeout_ms = fetch_timeout_ms};
    prov_repo *r = NULL;
    util_error err;
    if (prov_repo_open(&r, &cfg, &err) < 0)
        fprintf(stderr, "prov_repo_open %s: %s\n", u, err.msg);
    return r;
}

/* The accepted commit's id, or "" (copied: the index may go). */
static const char *accepted(prov_repo *r)
{
    static char buf[64];
    prov_index *idx = prov_repo_snapshot(r);
    snprintf(buf, sizeof(buf), "%s", idx ? prov_index_commit(idx) : "");
    prov_index_unref(idx);
    return buf;
}

/* The image git declares for demo/web in idx, or "". */
static const char *image_in(const prov_index *idx)
{
    static char buf[128];
    const prov_entry *e = idx ? prov_index_find(idx, "apps", "Deployment", "demo", "web") : NULL;
    json_t *m = e ? prov_entry_manifest(e, NULL) : NULL;
    const json_t *c = json_array_get(util_json_path(m, "spec.template.spec.containers"), 0);
    snprintf(buf, sizeof(buf), "%s", c ? util_json_str(c, "image") : "");
    json_decref(m);
    return buf;
}

static const char *image_of(prov_repo *r)
{
    prov_index *idx = prov_repo_snapshot(r);
    const char *s = image_in(idx);
    prov_index_unref(idx);
    return s;
}

static void test_local(void)
{
    util_error err;
    char c1[64], c2[64], c3[64], c4[64], bad[64], want[256];
    CHECK_INT(git_init("local"), 0);
    put("local/deploy/web.yaml", deploy("web:1.0.0"));
    put("local/deploy/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: demo}\n");
    CHECK_INT(commit("local", "alice", "one"), 0);
    head_of("local", c1);

    prov_repo *r = open_repo("local", PROV_VERIFY_HEAD, NULL, NULL);
    CHECK(r != NULL);
    if (!r)
        return;
    prov_repo_status st;
    prov_repo_status_get(&st, r);
    CHECK(!st.ready);
    CHECK(prov_repo_snapshot(r) == NULL);
    CHECK_INT(prov_repo_sync(r, &err), 0);
    CHECK_STR(accepted(r), c1);
    prov_repo_status_get(&st, r);
    CHECK(st.ready && st.last_sync_ok);
    CHECK_STR(st.signer, "alice@example.com");
    CHECK_STR(st.commit, c1);
    CHECK_INT(st.objects, 2);
    /* nothing new: still fine, same index */
    prov_index *before = prov_repo_snapshot(r);
    CHECK_INT(prov_repo_sync(r, &err), 0);
    prov_index *same = prov_repo_snapshot(r);
    CHECK(before == same);
    prov_index_unref(same);

    /* a new signed commit changing one file: accepted, re-indexed, the old snapshot intact */
    put("local/deploy/web.yaml", deploy("web:1.1.0"));
    CHECK_INT(commit("local", "bob", "two"), 0); /* an RSA key */
    head_of("local", c2);
    CHECK_INT(prov_repo_sync(r, &err), 0);
    CHECK_STR(accepted(r), c2);
    CHECK_STR(image_of(r), "web:1.1.0");
    prov_repo_status_get(&st, r);
    CHECK_STR(st.signer, "bob@example.com");
    CHECK_STR(image_in(before), "web:1.0.0"); /* the old snapshot is intact */
    prov_index_unref(before);

    /* unsigned: refused, the previous commit stays in force */
    put("local/deploy/web.yaml", deploy("web:6.6.6"));
    CHECK_INT(commit("local", NULL, "unsigned"), 0);
    head_of("local", bad);
    CHECK_INT(prov_repo_sync(r, &err), PROV_EUNVERIFIED);
    /* which commit (once), why, and what stays in force */
    snprintf(want, sizeof(want), "commit %.7s: unsigned; %.7s stays in force", bad, c2);
    CHECK_STR(err.msg, want);
    CHECK_STR(accepted(r), c2);
    CHECK_STR(image_of(r), "web:1.1.0");
    prov_repo_status_get(&st, r);
    CHECK(st.ready && !st.last_sync_ok);
    CHECK_INT(st.verify_failures, 1);
    CHECK_STR(st.last_error, want);
    /* the same refused tip again: the same refusal, not judged (nor counted) again */
    util_error_clear(&err);
    CHECK_INT(prov_repo_sync(r, &err), PROV_EUNVERIFIED);
    CHECK_STR(err.msg, want);
    prov_repo_status_get(&st, r);
    CHECK_INT(st.verify_failures, 1);
    CHECK_INT(st.sync_failures, 2);

    /* signed by a key nobody trusts: refused */
    CHECK_INT(commit("local", "mallory", "untrusted"), 0);
    CHECK_INT(prov_repo_sync(r, &err), PROV_EUNVERIFIED);
    CHECK_STR(accepted(r), c2);
    prov_repo_status_get(&st, r);
    CHECK_INT(st.verify_failures, 2);

    /* alice signs on top of the unsigned commit: head mode takes it, chain mode does not */
    put("local/deploy/web.yaml", deploy("web:1.2.0"));
    CHECK_INT(commit("local", "carol", "three"), 0); /* an ECDSA P-256 key */
    head_of("local", c3);
    prov_repo *chain = open_repo("local", PROV_VERIFY_CHAIN, NULL, c2);
    CHECK(chain != NULL);
    if (chain) {
        CHECK_INT(prov_repo_sync(chain, &err), PROV_EUNVERIFIED);
        snprintf(want, sizeof(want),
                 "commit %.7s (1 of 3 after %.7s, on the way to %.7s): unsigned; no commit is "
                 "accepted yet",
                 bad, c2, c3);
        CHECK_STR(err.msg, want);
        CHECK(prov_repo_snapshot(chain) == NULL);
        prov_repo_free(chain);
    }
    /* chain without since: the whole history is judged, the first unsigned commit named, and
     * the message says how to start later */
    chain = open_repo("local", PROV_VERIFY_CHAIN, NULL, NULL);
    CHECK(chain != NULL);
    if (chain) {
        CHECK_INT(prov_repo_sync(chain, &err), PROV_EUNVERIFIED);
        snprintf(want, sizeof(want),
                 "commit %.7s (3 of 5 since the root commit, on the way to %.7s): unsigned; no "
                 "commit is accepted yet (verify: chain without repo.since checks every commit "
                 "down to the root; set repo.since to the first signed commit)",
                 bad, c3);
        CHECK_STR(err.msg, want);
        prov_repo_status st2;
        prov_repo_status_get(&st2, chain);
        CHECK_STR(st2.last_error, want);
        prov_repo_free(chain);
    }
    /* chain from c3 on (since) passes */
    chain = open_repo("local", PROV_VERIFY_CHAIN, NULL, c3);
    CHECK(chain && prov_repo_sync(chain, &err) == 0);
    prov_repo_free(chain);
    CHECK_INT(prov_repo_sync(r, &err), 0);
    CHECK_STR(accepted(r), c3);
    CHECK_STR(image_of(r), "web:1.2.0");
    prov_repo_status_get(&st, r);
    CHECK_STR(st.signer, "carol@example.com");

    /* force-push back to an older, validly signed commit: refused as a rollback */
    CHECK_INT(sh("git -C local reset -q --hard %s", c1), 0);
    CHECK_INT(prov_repo_sync(r, &err), PROV_EROLLBACK);
    snprintf(want, sizeof(want),
             "refused %.7s: it does not descend from the accepted commit %.7s (a force-push to "
             "an older or unrelated history); %.7s stays in force",
             c1, c3, c3);
    CHECK_STR(err.msg, want);
    CHECK_STR(accepted(r), c3);
    prov_repo_status_get(&st, r);
    CHECK_INT(st.rollbacks, 1);
    /* and to an unrelated signed history */
    CHECK_INT(sh("git -C local checkout -q --orphan other && git -C local branch -q -D main && "
                 "git -C local branch -q -m main"),
              0);
    CHECK_INT(commit("local", "alice", "unrelated"), 0);
    head_of("local", c4);
    CHECK_INT(prov_repo_sync(r, &err), PROV_EROLLBACK);
    CHECK_STR(accepted(r), c3);

    /* a duplicate object refuses that commit, naming both files */
    CHECK_INT(sh("git -C local reset -q --hard %s", c3), 0);
    put("local/deploy/again.yaml", deploy("web:9"));
    CHECK_INT(commit("local", "alice", "dup"), 0);
    CHECK_INT(prov_repo_sync(r, &err), PROV_EDUPLICATE);
    CHECK(strstr(err.msg, "deploy/web.yaml") && strstr(err.msg, "deploy/again.yaml"));
    CHECK_STR(accepted(r), c3);
    prov_repo_free(r);
}

/* A free port on loopback. */
static int free_port(void)
{
    char out[32];
    sh_out(out, sizeof(out),
           "python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); "
           "print(s.getsockname()[1])'");
    return atoi(out);
}

static int start_daemon(int port, char *pid, size_t size)
{
    if (sh("git daemon --export-all --reuseaddr --listen=127.0.0.1 --port=%d --base-path=%s/srv "
           "--pid-file=%s/daemon.pid --detach %s/srv",
           port, tdir, tdir, tdir) != 0)
        return -1;
    for (int i = 0; i < 50; i++) { /* wait until it answers */
        if (sh("git ls-remote -q git://127.0.0.1:%d/origin.git >/dev/null 2>&1", port) == 0)
            break;
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    sh_out(pid, size, "cat %s/daemon.pid", tdir);
    return 0;
}

/* After a failed sync: the last accepted commit (and its image) stays in force, the status says
 * ready but the last sync failed, with an error that contains what. */
static void check_kept(prov_repo *r, const char *commit, const char *image, const char *what)
{
    prov_repo_status st;
    CHECK_STR(accepted(r), commit);
    CHECK_STR(image_of(r), image);
    prov_repo_status_get(&st, r);
    CHECK(st.ready && !st.last_sync_ok);
    CHECK(strstr(st.last_error, what) != NULL);
}

static void test_remote(void)
{
    util_error err;
    char c1[64], c2[64], pid[32], url[128];
    int port = free_port();
    CHECK(port > 0);
    CHECK_INT(git_init("work"), 0);
    put("work/deploy/web.yaml", deploy("web:1.0.0"));
    CHECK_INT(commit("work", "alice", "one"), 0);
    head_of("work", c1);
    CHECK_INT(sh("mkdir -p srv && git clone -q --bare work srv/origin.git && "
                 "git -C work remote add origin %s/srv/origin.git",
                 tdir),
              0);
    CHECK_INT(start_daemon(port, pid, sizeof(pid)), 0);
    snprintf(url, sizeof(url), "git://127.0.0.1:%d/origin.git", port);

    prov_repo *r = open_repo(url, PROV_VERIFY_HEAD, "cache", NULL);
    CHECK(r != NULL);
    if (!r)
        return;
    CHECK_INT(prov_repo_sync(r, &err), 0);
    CHECK_STR(accepted(r), c1);

    /* the remote goes away: the sync fails, the last commit stays in force */
    kill((pid_t)atoi(pid), SIGTERM);
    put("work/deploy/web.yaml", deploy("web:2.0.0"));
    CHECK_INT(commit("work", "alice", "two"), 0);
    head_of("work", c2);
    CHECK_INT(sh("git -C work push -q origin main"), 0);
    struct timespec ts = {0, 200000000};
    nanosleep(&ts, NULL);
    CHECK_INT(prov_repo_sync(r, &err), PROV_EFETCH);
    check_kept(r, c1, "web:1.0.0", "cannot fetch");
    prov_repo_status st;
    prov_repo_status_get(&st, r);
    CHECK(st.last_success > 0 && st.last_sync >= st.last_success);

    /* it comes back: the new commit is fetched and accepted */
    CHECK_INT(start_daemon(port, pid, sizeof(pid)), 0);
    CHECK_INT(prov_repo_sync(r, &err), 0);
    CHECK_STR(accepted(r), c2);
    CHECK_STR(image_of(r), "web:2.0.0");
    prov_repo_free(r);

    /* force-push the remote back to c1; a restarted sealgate (same cache) still refuses it */
    CHECK_INT(sh("git -C work push -q -f origin %s:main", c1), 0);
    r = open_repo(url, PROV_VERIFY_HEAD, "cache", NULL);
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(prov_repo_sync(r, &err), PROV_EROLLBACK);
        CHECK(prov_repo_snapshot(r) == NULL);
        prov_repo_free(r);
    }
    /* file:// works the same way, with its own cache entry */
    char furl[512];
    snprintf(furl, sizeof(furl), "file://%s/work", tdir);
    r = open_repo(furl, PROV_VERIFY_HEAD, "cache", NULL);
    CHECK(r && prov_repo_sync(r, &err) == 0);
    if (r)
        CHECK_STR(accepted(r), c2);
    prov_repo_free(r);
    sh_out(pid, sizeof(pid), "cat %s/daemon.pid", tdir);
    kill((pid_t)atoi(pid), SIGTERM);
}

/* Start tests/admission/prov_stuck.py on port in mode "silent" or "full"; its pid. */
static int start_stuck(int port, const char *mode)
{
    char pid[32];
    sh("rm -f stuck.ready && { P=/usr/bin/python3; [ -x $P ] || P=python3; "
       "$P %s/tests/admission/prov_stuck.py %d %s stuck.ready >/dev/null 2>&1 & echo $! "
       ">stuck.pid; }",
       getenv("SEALGATE_SOURCE_DIR"), port, mode);
    for (int i = 0; i < 100 && sh("test -e stuck.ready") != 0; i++) {
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    sh_out(pid, sizeof(pid), "cat stuck.pid");
    return atoi(pid);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ssh:// to a server that never sends its banner: libssh2 waits for it on the socket itself.
 * libgit2 1.5 leaks a few bytes when an SSH session cannot start; tests/lsan.supp names this
 * function to suppress exactly that. */
static void sync_ssh_silent(prov_repo *rs)
{
    util_error err;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT(prov_repo_sync(rs, &err), PROV_EFETCH);
    CHECK(seconds_since(&t0) < 20);
    CHECK(strstr(err.msg, "no answer for 1.5 s (the fetch timeout)") != NULL);
    if (!strstr(err.msg, "fetch timeout"))
        fprintf(stderr, "ssh to a silent server: %s\n", err.msg);
}

/* A remote that accepts and never answers, and one whose connect() hangs: each sync fails
 * within the fetch timeout (not hours later), the last accepted commit stays in force, and the
 * sync recovers when the real remote is back. git://, and ssh:// whose reads libssh2 makes
 * itself. A hang here would stop the test at ctest's timeout. */
static void test_timeout(void)
{
    util_error err;
    char c1[64], pid[32], url[128], ssh_url[128];
    int port = free_port();
    CHECK_INT(git_init("slow"), 0);
    put("slow/deploy/web.yaml", deploy("web:1.0.0"));
    CHECK_INT(commit("slow", "alice", "one"), 0);
    head_of("slow", c1);
    CHECK_INT(sh("git clone -q --bare slow srv/slow.git"), 0);
    CHECK_INT(start_daemon(port, pid, sizeof(pid)), 0);
    snprintf(url, sizeof(url), "git://127.0.0.1:%d/slow.git", port);
    snprintf(ssh_url, sizeof(ssh_url), "ssh://git@127.0.0.1:%d/slow.git", port);
    fetch_timeout_ms = 1500;
    prov_repo *r = open_repo(url, PROV_VERIFY_HEAD, "cache-slow", NULL);
    prov_repo *rs = open_repo(ssh_url, PROV_VERIFY_HEAD, "cache-slow-ssh", NULL);
    fetch_timeout_ms = 0;
    CHECK(r != NULL && rs != NULL);
    if (!r || !rs) {
        prov_repo_free(r);
        prov_repo_free(rs);
        return;
    }
    CHECK_INT(prov_repo_sync(r, &err), 0);
    CHECK_STR(accepted(r), c1);
    kill((pid_t)atoi(pid), SIGTERM);
    struct timespec ts = {0, 300000000}, t0;
    nanosleep(&ts, NULL);

    /* accepts, then silence */
    int stuck = start_stuck(port, "silent");
    CHECK(stuck > 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT(prov_repo_sync(r, &err), PROV_EFETCH);
    CHECK(seconds_since(&t0) < 20);
    CHECK(strstr(err.msg, "no answer for 1.5 s (the fetch timeout)") != NULL);
    check_kept(r, c1, "web:1.0.0", "fetch timeout");
    sync_ssh_silent(rs);
    kill((pid_t)stuck, SIGTERM);
    nanosleep(&ts, NULL);

    /* connect() itself hangs (the accept queue is full, SYNs are dropped) */
    stuck = start_stuck(port, "full");
    CHECK(stuck > 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT(prov_repo_sync(r, &err), PROV_EFETCH);
    CHECK(seconds_since(&t0) < 20);
    CHECK(strstr(err.msg, "within 1.5 s (the fetch timeout)") != NULL ||
          strstr(err.msg, "no answer for 1.5 s") != NULL);
    if (!strstr(err.msg, "1.5 s"))
        fprintf(stderr, "connect to a full queue: %s\n", err.msg);
    CHECK_STR(accepted(r), c1);
    kill((pid_t)stuck, SIGTERM);
    nanosleep(&ts, NULL);

    /* the remote is back: the sync recovers */
    CHECK_INT(commit("slow", "alice", "two"), 0);
    CHECK_INT(sh("git -C slow push -q %s/srv/slow.git main", tdir), 0);
    CHECK_INT(start_daemon(port, pid, sizeof(pid)), 0);
    CHECK_INT(prov_repo_sync(r, &err), 0);
    CHECK(strcmp(accepted(r), c1) != 0);
    kill((pid_t)atoi(pid), SIGTERM);
    prov_repo_free(r);
    prov_repo_free(rs);
}

int main(void)
{
    tmp_setup();
    git_libgit2_init();
    CHECK_INT(make_key("alice", "ed25519"), 0);
    CHECK_INT(make_key("bob", "rsa -b 3072"), 0);
    CHECK_INT(make_key("carol", "ecdsa -b 256"), 0);
    CHECK_INT(make_key("mallory", "ed25519"), 0);
    CHECK_INT(trust_key("allowed_signers", "alice"), 0);
    CHECK_INT(trust_key("allowed_signers", "bob"), 0);
    CHECK_INT(trust_key("allowed_signers", "carol"), 0);
    test_local();
    test_remote();
    test_timeout();
    git_libgit2_shutdown();
    return test_finish();
}
