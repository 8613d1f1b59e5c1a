/* push.c: the machinery `sealgate gate` and `sealgate audit` share: verify a revision of the
 * config repo (as `sealgate verify` does, through sig_), index the manifests of its tree
 * (prov_), load the rules (pol_) and the sealing keys (seal_). See push.h. */
#include "cli/push.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "util/limits.h"
#include "util/banned.h"

int cli_push_args_init(cli_push_args *a, const char *verb, int argc)
{
    memset(a, 0, sizeof(*a));
    a->verb = verb;
    size_t n = (size_t)(argc > 0 ? argc : 1);
    a->trust = calloc(n, sizeof(*a->trust));
    a->paths = calloc(n, sizeof(*a->paths));
    a->rules = calloc(n, sizeof(*a->rules));
    a->keys = calloc(n, sizeof(*a->keys));
    if (!a->trust || !a->paths || !a->rules || !a->keys) {
        cli_push_args_release(a);
        return cli_usage(verb, "out of memory");
    }
    return 0;
}

void cli_push_args_release(cli_push_args *a)
{
    free(a->trust);
    free(a->paths);
    free(a->rules);
    free(a->keys);
    a->trust = a->paths = a->rules = a->keys = NULL;
}

int cli_push_opt(int argc, char **argv, int *i, const char *name, const char **val)
{
    const char *s = argv[*i];
    size_t n = strlen(name);
    if (strncmp(s, name, n) != 0)
        return 0;
    if (s[n] == '=') {
        *val = s + n + 1;
        return 1;
    }
    if (s[n] != '\0')
        return 0;
    *val = *i + 1 < argc ? argv[++*i] : NULL;
    return 1;
}

/* "--name V1 V2 ..." (or "--name=V1"): append to list. */
static int list_opt(const cli_push_args *a, int argc, char **argv, int *i, const char *name,
                    const char **list, size_t *n)
{
    const char *s = argv[*i];
    size_t len = strlen(name);
    if (strncmp(s, name, len) != 0 || (s[len] != '\0' && s[len] != '='))
        return 0;
    if (s[len] == '=') {
        list[(*n)++] = s + len + 1;
        return 1;
    }
    size_t before = *n;
    while (*i + 1 < argc && argv[*i + 1][0] != '-')
        list[(*n)++] = argv[++*i];
    if (*n == before)
        return cli_usage(a->verb, "%s needs at least one value", name);
    return 1;
}

int cli_push_arg(cli_push_args *a, int argc, char **argv, int *i)
{
    static const struct {
        const char *name;
        size_t off;
    } single[] = {
        {"--repo", offsetof(cli_push_args, repo)},   {"--rev", offsetof(cli_push_args, rev)},
        {"--since", offsetof(cli_push_args, since)}, {"--params", offsetof(cli_push_args, params)},
        {"--mode", offsetof(cli_push_args, mode)},
    };
    for (size_t k = 0; k < sizeof(single) / sizeof(*single); k++) {
        const char *val;
        if (cli_push_opt(argc, argv, i, single[k].name, &val)) {
            if (!val)
                return cli_usage(a->verb, "%s needs a value", single[k].name);
            *(const char **)((char *)a + single[k].off) = val;
            return 1;
        }
    }
    int r;
    if ((r = list_opt(a, argc, argv, i, "--trust", a->trust, &a->ntrust)) ||
        (r = list_opt(a, argc, argv, i, "--paths", a->paths, &a->npaths)) ||
        (r = list_opt(a, argc, argv, i, "--rules", a->rules, &a->nrules)) ||
        (r = list_opt(a, argc, argv, i, "--key", a->keys, &a->nkeys)))
        return r;
    return 0;
}

int cli_push_args_check(const cli_push_args *a)
{
    pol_mode m;
    if (!a->repo)
        return cli_usage(a->verb, "--repo PATH is required");
    if (a->ntrust == 0)
        return cli_usage(a->verb, "--trust FILE... is required (allowed-signers files or "
                                  "armoured OpenPGP public keys)");
    if (a->mode && !pol_mode_parse(&m, a->mode))
        return cli_usage(a->verb, "--mode must be enforce, warn or audit, not '%s'", a->mode);
    return 0;
}

/* ---- verification ------------------------------------------------------------------------ */

static const char *git_msg(void)
{
    const git_error *e = git_error_last();
    return e && e->message ? e->message : "unknown error";
}

typedef struct push_report {
    const char *verb;
    size_t refusals;
} push_report;

/* Print each refusal as sig_verify_rev reaches it. */
static void report_refusal(void *ctx, const git_oid *id, int rc, const sig_signer *who,
                           const util_error *err)
{
    push_report *r = ctx;
    if (rc == 0)
        return;
    r->refusals++;
    fprintf(stderr, "sealgate %s: %s\n", r->verb, err->msg);
}

/* Verify REV (an annotated tag by its own signature) and with --since every commit after it on
 * the way to REV, exactly as `sealgate verify` does (sig_verify_rev). */
static int push_verify(cli_push *p, const cli_push_args *a)
{
    sig_trust *trust = NULL;
    util_error err;
    util_error_clear(&err);
    if (sig_trust_load(&trust, a->trust, a->ntrust, &err) != 0)
        return cli_fail(p->verb, &err, NULL, 0);
    int rc;
    if (git_repository_open_ext(&p->repo, a->repo, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) != 0) {
        rc = cli_usage(p->verb, "cannot open repository '%s': %s", a->repo, git_msg());
        goto out;
    }
    push_report report = {p->verb, 0};
    sig_rev rev;
    sig_range_options ropts = {
        .first_seen = (int64_t)time(NULL), .each = report_refusal, .ctx = &report, .all = true};
    rc = sig_verify_rev(&rev, trust, p->repo, a->rev, a->since, &ropts, &err);
    if (rc != 0 && report.refusals == 0)
        fprintf(stderr, "sealgate %s: %s\n", p->verb, err.msg);
    if (rc != 0) {
        rc = SIG_IS_REFUSAL(rc) ? CLI_FINDING : CLI_USAGE;
        goto out;
    }
    p->commit = rev.commit;
    p->signer = rev.signer;
    git_oid_tostr(p->hex, sizeof(p->hex), &p->commit);
out:
    sig_trust_free(trust);
    return rc;
}

/* ---- rules and keys ------------------------------------------------------------------------ */

static int load_params(json_t **out, const char *verb, const char *path)
{
    util_buf text;
    util_manifest_set set;
    util_error err;
    util_error_clear(&err);
    util_buf_init(&text);
    util_manifest_set_init(&set);
    *out = NULL;
    int rc = util_file_read(&text, path, LIMIT_CONFIG_FILE, &err);
    if (rc == 0)
        rc = util_manifest_parse(&set, path, text.data, text.len, 0, &err);
    if (rc == 0 && (set.count != 1 || !json_is_object(set.docs[0].value)))
        rc = util_error_set(&err, UTIL_EINVALID,
                            "'%s' must hold one mapping of pack names to parameters", path);
    if (rc == 0)
        *out = json_incref(set.docs[0].value);
    else
        cli_fail(verb, &err, text.data, text.len);
    util_manifest_set_release(&set);
    util_buf_release(&text);
    return rc ? CLI_USAGE : 0;
}

/* The rules: --rules, else the bundled packs found as `sealgate check` finds them. */
static int push_rules(cli_push *p, const cli_push_args *a)
{
    const char *bundled[1] = {pol_default_rules_dir()};
    const char *const *paths = a->nrules ? a->rules : bundled;
    size_t n = a->nrules ? a->nrules : 1;
    json_t *params = NULL;
    if (a->params && load_params(&params, p->verb, a->params) != 0)
        return CLI_USAGE;
    pol_diags *diags = pol_diags_new();
    util_error err;
    util_error_clear(&err);
    int rc = pol_ruleset_load(&p->rules, paths, n, params, diags, &err);
    if (rc != 0) {
        if (pol_diags_count(diags))
            pol_diags_print(stderr, diags);
        cli_fail(p->verb, &err, NULL, 0);
    }
    pol_diags_free(diags);
    json_decref(params);
    return rc ? CLI_USAGE : 0;
}

int cli_push_open(cli_push *p, const cli_push_args *a)
{
    const char *verb = a->verb;
    memset(p, 0, sizeof(*p));
    p->verb = verb;
    p->mode = POL_MODE_ENFORCE;
    if (a->mode)
        (void)pol_mode_parse(&p->mode, a->mode);
    git_libgit2_init();
    util_error err;
    util_error_clear(&err);
    /* Rules and keys first: a typo in a flag should not wait for the git work. */
    int rc = push_rules(p, a);
    if (rc == 0 && a->nkeys && seal_keyring_load(&p->keys, a->keys, a->nkeys, &err) != 0)
        rc = cli_fail(verb, &err, NULL, 0);
    if (rc == 0)
        rc = push_verify(p, a);
    if (rc == 0) {
        prov_index_options opts = {.paths = a->paths, .path_count = a->npaths};
        if (prov_index_build(&p->index, p->repo, &p->commit, &opts, NULL, p->signer.signer, &err) !=
            0)
            rc = cli_fail(verb, &err, NULL, 0);
    }
    if (rc != 0)
        cli_push_close(p);
    return rc;
}

void cli_push_close(cli_push *p)
{
    prov_index_unref(p->index);
    pol_ruleset_decref(p->rules);
    seal_keyring_free(p->keys);
    git_repository_free(p->repo);
    if (p->verb)
        git_libgit2_shutdown();
    memset(p, 0, sizeof(*p));
}

/* ---- shared helpers ------------------------------------------------------------------------ */

const char *cli_push_describe(util_arena *arena, const char *group, const char *kind,
                              const char *ns, const char *name)
{
    return util_arena_printf(arena, "%s%s%s '%s'%s%s%s", group, *group ? "/" : "", kind, name,
                             *ns ? " in namespace '" : "", ns, *ns ? "'" : "");
}

int cli_push_eval(pol_result *out, const cli_push *p, const json_t *object, const json_t *git,
                  util_arena *arena, util_error *err)
{
    json_t *request = pol_request_new(object, "CREATE", NULL, NULL);
    if (!request)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    pol_input in = {.object = object, .request = request, .git = git};
    int rc = pol_eval(out, p->rules, &in, p->mode, arena, err);
    json_decref(request);
    return rc;
}
