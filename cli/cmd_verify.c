/* cmd_verify.c: `sealgate verify`: are REV (and with --since every commit after COMMIT on the
 * way to REV) signed by a trusted key? Exit 0 yes, 1 a refusal naming the commit and the
 * reason, 2 a usage or input error. A URL is cloned (bare) into a temp folder first. */
/* nftw() is X/Open. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <git2.h>

#include "cli/cli.h"
#include "crypto/sig.h"
#include "util/banned.h"

static const char verify_help[] =
    "usage: sealgate verify --repo PATH|URL [--rev REV] [--since COMMIT] --trust FILE...\n"
    "  --repo PATH|URL   a repository folder, or a URL (file://, git://, https://, ssh://)\n"
    "                    cloned into a temporary folder\n"
    "  --rev REV         the revision to verify (default HEAD)\n"
    "  --since COMMIT    also verify every commit after COMMIT on the way to REV\n"
    "                    (`git rev-list COMMIT..REV`, all parents); REV must descend from it\n"
    "  --trust FILE...   allowed-signers files or armoured OpenPGP public keys\n"
    "  --first-seen T    unix time the commits were first seen (default: now); keys must be\n"
    "                    valid at it and at the committer time\n"
    "  --timing          print the in-process verification time to stderr\n"
    "exit 0: all signed by trusted keys; 1: a commit is refused; 2: usage or input error\n";

typedef struct verify_opts {
    const char *repo, *rev, *since;
    const char **trust;
    size_t ntrust;
    int64_t first_seen;
    bool timing;
} verify_opts;

static int parse_args(verify_opts *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(verify_help, stdout);
            return 1;
        } else if (strcmp(a, "--repo") == 0 && has_val) {
            o->repo = argv[++i];
        } else if (strcmp(a, "--rev") == 0 && has_val) {
            o->rev = argv[++i];
        } else if (strcmp(a, "--since") == 0 && has_val) {
            o->since = argv[++i];
        } else if (strcmp(a, "--first-seen") == 0 && has_val) {
            char *end;
            errno = 0;
            long long v = strtoll(argv[++i], &end, 10);
            if (errno || *end || v <= 0)
                return cli_usage("verify", "--first-seen: '%s' is not a unix time", argv[i]);
            o->first_seen = v;
        } else if (strcmp(a, "--timing") == 0) {
            o->timing = true;
        } else if (strcmp(a, "--trust") == 0 && has_val) {
            /* --trust FILE... takes every following argument up to the next option. */
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                o->trust[o->ntrust++] = argv[++i];
        } else {
            return cli_usage("verify", "unexpected argument '%s' (see --help)", a);
        }
    }
    if (!o->repo)
        return cli_usage("verify", "--repo PATH|URL is required");
    if (o->ntrust == 0)
        return cli_usage("verify", "--trust FILE... is required");
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static const char *git_msg(void)
{
    const git_error *e = git_error_last();
    return e && e->message ? e->message : "unknown error";
}

/* Open PATH, or clone URL (bare) into a fresh folder under $TMPDIR, returned in tmpdir. */
static int open_repo(git_repository **out, const char *repo, char *tmpdir, size_t tmplen)
{
    tmpdir[0] = '\0';
    if (!strstr(repo, "://")) {
        if (git_repository_open_ext(out, repo, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) != 0)
            return cli_usage("verify", "cannot open repository '%s': %s", repo, git_msg());
        return 0;
    }
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, tmplen, "%s/sealgate-verify.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        tmpdir[0] = '\0';
        return cli_usage("verify", "cannot make a temporary folder: %s", strerror(errno));
    }
    /* An anonymous remote and a fetch of every branch and tag, rather than git_clone: libgit2
     * 1.5 leaks regex match data when it writes a named remote into the config. */
    git_remote *remote = NULL;
    git_buf head = {0};
    char *specs[] = {"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"};
    git_strarray refspecs = {specs, 2};
    int rc = git_repository_init(out, tmpdir, 1);
    if (rc == 0)
        rc = git_remote_create_anonymous(&remote, *out, repo);
    if (rc == 0)
        rc = git_remote_fetch(remote, &refspecs, NULL, NULL);
    if (rc == 0) {
        /* HEAD follows the remote's default branch, as a clone's would. */
        if (git_remote_default_branch(&head, remote) == 0)
            rc = git_repository_set_head(*out, head.ptr);
        git_buf_dispose(&head);
    }
    if (rc != 0)
        rc = cli_usage("verify", "cannot fetch '%s': %s", repo, git_msg());
    git_remote_free(remote);
    return rc;
}

static int resolve(git_oid *out, git_repository *repo, const char *spec)
{
    git_object *obj = NULL, *commit = NULL;
    if (git_revparse_single(&obj, repo, spec) != 0)
        return cli_usage("verify", "unknown revision '%s': %s", spec, git_msg());
    int rc = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
    if (rc == 0)
        git_oid_cpy(out, git_object_id(commit));
    git_object_free(commit);
    git_object_free(obj);
    if (rc != 0)
        return cli_usage("verify", "'%s' does not name a commit", spec);
    return 0;
}

/* Verify one commit; print the verdict. Returns 0 when it passes. */
static int verify_one(const sig_trust *trust, git_repository *repo, const git_oid *id,
                      int64_t first_seen, uint64_t *elapsed)
{
    sig_signer who;
    util_error err;
    char hex[GIT_OID_HEXSZ + 1];
    util_error_clear(&err);
    uint64_t t0 = util_now_ns();
    int rc = sig_verify_commit(&who, trust, repo, id, first_seen, &err);
    *elapsed += util_now_ns() - t0;
    git_oid_tostr(hex, sizeof(hex), id);
    if (rc == 0) {
        printf("ok %.12s %s %s %s\n", hex, who.kind == SIG_SSH ? "ssh" : "openpgp", who.signer,
               who.fingerprint);
        return 0;
    }
    fprintf(stderr, "sealgate verify: %s (%s)\n", err.msg, sig_strerror(rc));
    return rc;
}

static int run(const verify_opts *o, git_repository *repo, const sig_trust *trust)
{
    git_oid tip, base;
    git_revwalk *walk = NULL;
    uint64_t elapsed = 0;
    size_t n = 0, refused = 0;
    int rc = resolve(&tip, repo, o->rev ? o->rev : "HEAD");
    if (rc != 0)
        return rc;
    int64_t first_seen = o->first_seen ? o->first_seen : (int64_t)time(NULL);
    if (!o->since) {
        n = 1;
        refused = verify_one(trust, repo, &tip, first_seen, &elapsed) != 0;
        goto done;
    }
    if ((rc = resolve(&base, repo, o->since)) != 0)
        return rc;
    if (!git_oid_equal(&tip, &base) && git_graph_descendant_of(repo, &tip, &base) != 1) {
        char a[GIT_OID_HEXSZ + 1], b[GIT_OID_HEXSZ + 1];
        git_oid_tostr(a, 8, &tip);
        git_oid_tostr(b, 8, &base);
        fprintf(stderr,
                "sealgate verify: commit %s does not descend from %s (rollback or "
                "unrelated history)\n",
                a, b);
        return CLI_FINDING;
    }
    if (git_revwalk_new(&walk, repo) != 0 ||
        git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE) != 0 ||
        git_revwalk_push(walk, &tip) != 0 || git_revwalk_hide(walk, &base) != 0) {
        git_revwalk_free(walk);
        return cli_usage("verify", "cannot walk the history: %s", git_msg());
    }
    git_oid id;
    while ((rc = git_revwalk_next(&id, walk)) == 0) {
        n++;
        refused += verify_one(trust, repo, &id, first_seen, &elapsed) != 0;
    }
    git_revwalk_free(walk);
    if (rc != GIT_ITEROVER)
        return cli_usage("verify", "cannot walk the history: %s", git_msg());
done:
    if (o->timing)
        fprintf(stderr, "timing: %zu commits verified in %.3f ms (%.1f us per commit)\n", n,
                (double)elapsed / 1e6, n ? (double)elapsed / 1e3 / (double)n : 0.0);
    if (refused) {
        fprintf(stderr, "sealgate verify: %zu of %zu commits refused\n", refused, n);
        return CLI_FINDING;
    }
    printf("%zu commit%s verified\n", n, n == 1 ? "" : "s");
    return CLI_OK;
}

int cli_verify(int argc, char **argv)
{
    verify_opts o;
    memset(&o, 0, sizeof(o));
    o.trust = calloc((size_t)argc, sizeof(*o.trust));
    if (!o.trust)
        return cli_usage("verify", "out of memory");
    int rc = parse_args(&o, argc, argv);
    if (rc != 0) {
        free(o.trust);
        return rc == 1 ? CLI_OK : rc;
    }

    sig_trust *trust = NULL;
    util_error err;
    util_error_clear(&err);
    if (sig_trust_load(&trust, o.trust, o.ntrust, &err) != 0) {
        free(o.trust);
        return cli_fail("verify", &err, NULL, 0);
    }
    git_libgit2_init();
    git_repository *repo = NULL;
    char tmpdir[4096];
    rc = open_repo(&repo, o.repo, tmpdir, sizeof(tmpdir));
    if (rc == 0)
        rc = run(&o, repo, trust);
    git_repository_free(repo);
    if (tmpdir[0])
        nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    git_libgit2_shutdown();
    sig_trust_free(trust);
    free(o.trust);
    return rc;
}
