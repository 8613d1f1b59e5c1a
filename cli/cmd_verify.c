/* cmd_verify.c: `sealgate verify`: are REV (and with --since every commit after COMMIT on the
 * way to REV) signed by a trusted key? Exit 0 yes, 1 a refusal naming the commit and the
 * reason, 2 a usage or input error. A URL is cloned (bare) into a temp folder first. */
/* nftw() is X/Open. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <git2.h>

#include "admission/adm.h"
#include "admission/prov.h"
#include "cli/cli.h"
#include "crypto/sig.h"
#include "util/banned.h"

static const char verify_help[] =
    "usage: sealgate verify --repo PATH|URL [--rev REV] [--since COMMIT] --trust FILE...\n"
    "  --repo PATH|URL   a repository folder, or a URL (file://, git://, https://, ssh://)\n"
    "                    cloned into a temporary folder\n"
    "  --rev REV         the revision to verify (default HEAD); when REV names an annotated\n"
    "                    tag, the tag's own signature is verified (git tag -s)\n"
    "  --since COMMIT    also verify every commit after COMMIT on the way to REV\n"
    "                    (`git rev-list COMMIT..REV`, all parents); REV must descend from it\n"
    "  --trust FILE...   allowed-signers files or armoured OpenPGP public keys\n"
    "  --first-seen T    unix time the commits were first seen (default: now); keys must be\n"
    "                    valid at it and at the committer time\n"
    "  --timeout D       for a URL: give up when the remote sends nothing for D\n"
    "                    (default 30s; 500ms, 2m, ...)\n"
    "  --timing          print the in-process verification time to stderr\n"
    "a URL's credentials come from files, as for `sealgate serve`: SEALGATE_GIT_SSH_KEY (ssh://),\n"
    "SEALGATE_GIT_TOKEN_FILE (https://) and SEALGATE_GIT_CA_FILE (a private forge's CAs)\n"
    "exit 0: all signed by trusted keys; 1: a commit is refused; 2: usage or input error\n";

typedef struct verify_opts {
    const char *repo, *rev, *since;
    const char **trust;
    size_t ntrust;
    int64_t first_seen;
    int timeout_ms; /* 0: PROV_FETCH_TIMEOUT_MS */
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
        } else if (strcmp(a, "--timeout") == 0 && has_val) {
            uint64_t ms;
            util_error err;
            if (adm_parse_duration(&ms, argv[++i], &err) < 0 || ms == 0 || ms > INT_MAX)
                return cli_usage("verify", "--timeout: '%s' is not a duration (30s, 500ms, 2m)",
                                 argv[i]);
            o->timeout_ms = (int)ms;
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

/* Open PATH, or fetch URL into a fresh bare repository under $TMPDIR, returned in tmpdir. */
static int open_repo(git_repository **out, const verify_opts *o, char *tmpdir, size_t tmplen)
{
    const char *repo = o->repo;
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
    if (git_repository_init(out, tmpdir, 1) != 0)
        return cli_usage("verify", "cannot make a repository in '%s': %s", tmpdir, git_msg());
    util_error err;
    prov_credentials creds;
    if (prov_credentials_from_env(&creds, &err) < 0)
        return cli_usage("verify", "%s", err.msg);
    int rc = prov_fetch_mirror(*out, repo, o->timeout_ms, &creds, &err);
    prov_credentials_release(&creds);
    if (rc < 0)
        return cli_usage("verify", "%s", err.msg);
    return 0;
}

/* Prints each object's verdict as sig_verify_rev reaches it. */
typedef struct verify_report {
    const sig_rev *rev; /* being filled: tells the tag from the commits */
    size_t refusals;    /* printed */
} verify_report;

static void report_one(void *ctx, const git_oid *id, int rc, const sig_signer *who,
                       const util_error *err)
{
    verify_report *r = ctx;
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof(hex), id);
    bool tag = r->rev->is_tag && git_oid_equal(id, &r->rev->tag);
    if (rc != 0) {
        r->refusals++;
        fprintf(stderr, "sealgate verify: %s\n", err->msg);
        if (tag && rc == SIG_EUNSIGNED)
            fprintf(stderr,
                    "sealgate verify: an annotated tag vouches for its commit only when it is "
                    "signed itself (git tag -s); to verify the commit instead, use --rev "
                    "'%s^{commit}'\n",
                    r->rev->tag_name[0] ? r->rev->tag_name : hex);
        return;
    }
    printf("ok %s%s%s%.12s %s %s %s\n", tag ? "tag " : "", tag ? r->rev->tag_name : "",
           tag && r->rev->tag_name[0] ? " " : "", hex, who->kind == SIG_SSH ? "ssh" : "openpgp",
           who->signer, who->fingerprint);
}

/* The closing line: what was verified, or how much was refused. */
static void summary(const sig_rev *rev, int rc)
{
    const sig_range *g = &rev->range;
    const char *name = rev->tag_name[0] ? rev->tag_name : "";
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof(hex), rev->is_tag ? &rev->tag : &rev->commit);
    if (rc == 0 && rev->is_tag && !rev->commits_checked) {
        printf("tag %s%s%.12s verified: its signature vouches for commit %.12s (the commit's own "
               "signature was not checked)\n",
               name, *name ? " " : "", hex, git_oid_tostr_s(&rev->commit));
    } else if (rc == 0) {
        printf("%s%s%s%zu commit%s verified\n", rev->is_tag ? "tag " : "", name,
               rev->is_tag ? " and " : "", g->verified, g->verified == 1 ? "" : "s");
    } else if (g->refused) {
        fprintf(stderr, "sealgate verify: %zu of %zu commit%s refused\n", g->refused, g->total,
                g->total == 1 ? "" : "s");
    }
}

static int run(const verify_opts *o, git_repository *repo, const sig_trust *trust)
{
    sig_rev rev;
    verify_report report = {&rev, 0};
    sig_range_options ropts = {
        .first_seen = o->first_seen ? o->first_seen : (int64_t)time(NULL),
        .each = report_one,
        .ctx = &report,
        .all = true, /* every refused commit gets its line */
    };
    util_error err;
    util_error_clear(&err);
    uint64_t t0 = util_now_ns();
    int rc = sig_verify_rev(&rev, trust, repo, o->rev, o->since, &ropts, &err);
    uint64_t elapsed = util_now_ns() - t0;
    if (rc != 0 && report.refusals == 0) /* not an object's verdict: say it here */
        fprintf(stderr, "sealgate verify: %s\n", err.msg);
    if (rc != 0 && !SIG_IS_REFUSAL(rc))
        return CLI_USAGE;
    if (o->timing) {
        size_t n = rev.range.verified + (rev.is_tag ? 1 : 0);
        fprintf(stderr, "timing: %zu commits verified in %.3f ms (%.1f us per commit)\n", n,
                (double)elapsed / 1e6, n ? (double)elapsed / 1e3 / (double)n : 0.0);
    }
    summary(&rev, rc);
    return rc == 0 ? CLI_OK : CLI_FINDING;
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
    rc = open_repo(&repo, &o, tmpdir, sizeof(tmpdir));
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
