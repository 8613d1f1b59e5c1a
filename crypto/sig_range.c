/* sig_range.c: verifying a stretch of history, and a revision as people name it. The one walk
 * of base..tip that `sealgate verify --since`, `gate`, `audit` and the provenance sync's chain
 * mode all use, and the resolution of a revision that may be a signed annotated tag. */
#include <stdlib.h>
#include <string.h>

#include "crypto/sig_priv.h"
#include "util/banned.h"

static const char *git_msg(void)
{
    const git_error *e = git_error_last();
    return e && e->message ? e->message : "unknown error";
}

/* The commits of base..tip (all parents) oldest first, then tip itself when base is tip. The
 * array is malloc'ed and owned by the caller. */
static int collect(git_oid **out, size_t *n, git_repository *repo, const git_oid *tip,
                   const git_oid *base, util_error *err)
{
    git_revwalk *walk = NULL;
    git_oid id, *v = NULL;
    size_t cap = 0;
    int rc = 0, r;
    *out = NULL;
    *n = 0;
    if (base && git_oid_equal(base, tip)) {
        if (!(v = malloc(sizeof(*v))))
            return util_error_set(err, UTIL_ENOMEM, "out of memory");
        v[0] = *tip;
        *out = v;
        *n = 1;
        return 0;
    }
    if (git_revwalk_new(&walk, repo) != 0 ||
        git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE) != 0 ||
        git_revwalk_push(walk, tip) != 0 || (base && git_revwalk_hide(walk, base) != 0)) {
        rc = util_error_set(err, UTIL_EFAIL, "cannot walk the history: %s", git_msg());
        goto out;
    }
    while ((r = git_revwalk_next(&id, walk)) == 0) {
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            git_oid *nv = realloc(v, ncap * sizeof(*nv));
            if (!nv) {
                rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
                goto out;
            }
            v = nv;
            cap = ncap;
        }
        v[(*n)++] = id;
    }
    if (r != GIT_ITEROVER)
        rc = util_error_set(err, UTIL_EFAIL, "cannot walk the history: %s", git_msg());
out:
    git_revwalk_free(walk);
    if (rc != 0) {
        free(v);
        *n = 0;
        return rc;
    }
    *out = v;
    return 0;
}

/* How a commit of the range is named in messages: its short id, and when the range holds more
 * than that one commit, its place in it, so a refusal says which commit, where, and of what. */
static void name_commit(char *buf, size_t size, const git_oid *id, size_t i, size_t total,
                        const git_oid *tip, const git_oid *base)
{
    char c[GIT_OID_HEXSZ + 1], t[GIT_OID_HEXSZ + 1], b[GIT_OID_HEXSZ + 1];
    git_oid_tostr(c, 8, id);
    if (total <= 1) {
        snprintf(buf, size, "commit %s", c);
        return;
    }
    git_oid_tostr(t, 8, tip);
    if (base)
        git_oid_tostr(b, 8, base);
    snprintf(buf, size, "commit %s (%zu of %zu %s%s%s%s)", c, i + 1, total,
             base ? "after " : "since the root commit", base ? b : "",
             git_oid_equal(id, tip) ? "" : ", on the way to ", git_oid_equal(id, tip) ? "" : t);
}

int sig_verify_range(sig_range *out, const sig_trust *trust, git_repository *repo,
                     const git_oid *tip, const git_oid *base, const sig_range_options *opts,
                     util_error *err)
{
    static const sig_range_options defaults;
    sig_range scratch;
    git_oid *ids = NULL;
    size_t n = 0;
    int rc, first = 0;

    if (!out)
        out = &scratch;
    if (!opts)
        opts = &defaults;
    memset(out, 0, sizeof(*out));
    if (base && !git_oid_equal(tip, base)) {
        int d = git_graph_descendant_of(repo, tip, base);
        char t[GIT_OID_HEXSZ + 1], b[GIT_OID_HEXSZ + 1];
        if (d < 0)
            return util_error_set(err, UTIL_EFAIL, "cannot walk the history: %s", git_msg());
        if (d == 0)
            return util_error_set(err, SIG_ENOTDESCENDANT,
                                  "commit %s does not descend from %s (a rollback or an "
                                  "unrelated history)",
                                  git_oid_tostr(t, 8, tip), git_oid_tostr(b, 8, base));
    }
    if ((rc = collect(&ids, &n, repo, tip, base, err)) != 0)
        return rc;
    out->total = n;
    for (size_t i = 0; i < n; i++) {
        char what[256];
        sig_signer who;
        util_error one;
        util_error_clear(&one);
        name_commit(what, sizeof(what), &ids[i], i, n, tip, base);
        int64_t seen =
            opts->first_seen_fn ? opts->first_seen_fn(opts->ctx, &ids[i]) : opts->first_seen;
        rc = sig_git__verify(&who, trust, repo, &ids[i], GIT_OBJECT_COMMIT, NULL, what, seen, &one);
        out->verified++;
        if (opts->each)
            opts->each(opts->ctx, &ids[i], rc, &who, &one);
        if (rc == 0) {
            if (git_oid_equal(&ids[i], tip))
                out->tip = who;
            continue;
        }
        if (out->refused++ == 0) {
            out->first_refused = ids[i];
            first = rc;
            *err = one;
        }
        /* An unreadable object is no verdict on the rest: stop, whatever opts->all says. */
        if (!opts->all || !SIG_IS_REFUSAL(rc))
            break;
    }
    free(ids);
    return first;
}

/* ---- revisions ---------------------------------------------------------------------------- */

/* Resolve spec to a commit (peeling tags). */
static int peel_commit(git_oid *out, git_repository *repo, const char *spec, util_error *err)
{
    git_object *obj = NULL, *commit = NULL;
    if (git_revparse_single(&obj, repo, spec) != 0)
        return util_error_set(err, UTIL_ENOTFOUND, "unknown revision '%s': %s", spec, git_msg());
    int rc = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
    if (rc == 0)
        git_oid_cpy(out, git_object_id(commit));
    git_object_free(commit);
    git_object_free(obj);
    if (rc != 0)
        return util_error_set(err, UTIL_EINVALID, "'%s' does not name a commit", spec);
    return 0;
}

/* Resolve rev: the commit it names and, when it names an annotated tag, that tag. */
static int resolve_rev(sig_rev *out, git_repository *repo, const char *rev, util_error *err)
{
    git_object *obj = NULL, *commit = NULL;
    git_reference *ref = NULL;
    if (git_revparse_ext(&obj, &ref, repo, rev) != 0)
        return util_error_set(err, UTIL_ENOTFOUND, "unknown revision '%s': %s", rev, git_msg());
    int rc = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
    if (rc == 0) {
        git_oid_cpy(&out->commit, git_object_id(commit));
        if (git_object_type(obj) == GIT_OBJECT_TAG) {
            out->is_tag = true;
            git_oid_cpy(&out->tag, git_object_id(obj));
            /* The name the tag must carry: the ref's, when rev went through refs/tags/. */
            if (ref && git_reference_is_tag(ref))
                snprintf(out->tag_name, sizeof(out->tag_name), "%s",
                         git_reference_name(ref) + strlen("refs/tags/"));
        }
    }
    git_object_free(commit);
    git_object_free(obj);
    git_reference_free(ref);
    if (rc != 0)
        return util_error_set(err, UTIL_EINVALID, "'%s' does not name a commit", rev);
    return 0;
}

/* The signed annotated tag vouches for its commit: verify the tag object. */
static int verify_tag(sig_rev *out, const sig_trust *trust, git_repository *repo,
                      const sig_range_options *opts, util_error *err)
{
    char what[320], id[GIT_OID_HEXSZ + 1];
    git_oid_tostr(id, 8, &out->tag);
    if (out->tag_name[0])
        snprintf(what, sizeof(what), "tag %s (%s)", out->tag_name, id);
    else
        snprintf(what, sizeof(what), "tag %s", id);
    int64_t seen =
        opts->first_seen_fn ? opts->first_seen_fn(opts->ctx, &out->tag) : opts->first_seen;
    int rc = sig_git__verify(&out->signer, trust, repo, &out->tag, GIT_OBJECT_TAG,
                             out->tag_name[0] ? out->tag_name : NULL, what, seen, err);
    if (opts->each)
        opts->each(opts->ctx, &out->tag, rc, &out->signer, err);
    return rc;
}

int sig_verify_rev(sig_rev *out, const sig_trust *trust, git_repository *repo, const char *rev,
                   const char *since, const sig_range_options *opts, util_error *err)
{
    static const sig_range_options defaults;
    git_oid base;
    int rc, first = 0;
    util_error later;

    if (!opts)
        opts = &defaults;
    memset(out, 0, sizeof(*out));
    if ((rc = resolve_rev(out, repo, rev ? rev : "HEAD", err)) != 0)
        return rc;
    if (since && (rc = peel_commit(&base, repo, since, err)) != 0)
        return rc;
    if (out->is_tag) {
        first = verify_tag(out, trust, repo, opts, err);
        if (!since || (first != 0 && (!opts->all || !SIG_IS_REFUSAL(first))))
            return first;
    }
    /* REV's commit alone, or every commit of since..REV. */
    out->commits_checked = true;
    util_error_clear(&later);
    rc = sig_verify_range(&out->range, trust, repo, &out->commit, since ? &base : &out->commit,
                          opts, &later);
    if (!out->is_tag)
        out->signer = out->range.tip;
    if (first == 0 && rc != 0) {
        first = rc;
        *err = later;
    }
    return first;
}
