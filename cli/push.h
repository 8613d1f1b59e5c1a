/* push.h: what `sealgate gate` and `sealgate audit` share (the push model, docs/push-model.md):
 * the options that name a config repo and its trust, the verification of a revision exactly as
 * `sealgate verify` does it, the index of the manifests in that revision's tree (prov_), the
 * rule set (pol_, the bundled packs by default) and the sealing keys (seal_). */
#ifndef SEALGATE_CLI_PUSH_H
#define SEALGATE_CLI_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <git2.h>

#include "admission/prov.h"
#include "crypto/seal.h"
#include "crypto/sig.h"
#include "policy/pol.h"
#include "util/util.h"

/* The options both verbs take. Strings are borrowed from argv; the arrays are owned
 * (cli_push_args_release frees them). */
typedef struct cli_push_args {
    const char *verb; /* "gate" or "audit", for messages */
    const char *repo, *rev, *since, *params, *mode;
    const char **trust, **paths, **rules, **keys;
    size_t ntrust, npaths, nrules, nkeys;
} cli_push_args;

/* Allocate room for argc values per list. Returns 0 or CLI_USAGE (out of memory, reported). */
int cli_push_args_init(cli_push_args *a, const char *verb, int argc);
void cli_push_args_release(cli_push_args *a);
/* Take argv[*i] if it is one of the shared options (advancing *i past its values): returns 1
 * when taken, 0 when argv[*i] is something else, CLI_USAGE (reported) for a missing value.
 * List options (--trust, --paths, --rules, --key) take every following argument up to the
 * next one that starts with '-', and may be repeated. */
int cli_push_arg(cli_push_args *a, int argc, char **argv, int *i);
/* Check the required options after parsing; CLI_USAGE (reported) or 0. */
int cli_push_args_check(const cli_push_args *a);
/* Option value "--name VALUE" or "--name=VALUE" at argv[*i]; 1 taken (val NULL when missing),
 * 0 not this option. */
int cli_push_opt(int argc, char **argv, int *i, const char *name, const char **val);

/* The verified commit and everything loaded for it. */
typedef struct cli_push {
    const char *verb;
    git_repository *repo;
    git_oid commit;
    char hex[GIT_OID_HEXSZ + 1];
    sig_signer signer;  /* who signed REV */
    prov_index *index;  /* the manifests of REV's tree under --paths; one reference */
    pol_ruleset *rules; /* one reference */
    pol_mode mode;      /* --mode, default enforce */
    seal_keyring *keys; /* NULL without --key */
} cli_push;

/* Verify REV (and with --since every commit after it on the way to REV) against the trust
 * files, index REV's tree, load the rules and the keys. Every failure is printed to stderr;
 * returns CLI_OK, CLI_FINDING (a commit is refused) or CLI_USAGE (anything else). On failure
 * *p is released already. */
int cli_push_open(cli_push *p, const cli_push_args *a);
void cli_push_close(cli_push *p);

/* "apps/Deployment 'web' in namespace 'prod'" into arena memory. */
const char *cli_push_describe(util_arena *arena, const char *group, const char *kind,
                              const char *ns, const char *name);

/* Evaluate the rules over object as `check` does (a CREATE by nobody, with the commit's git
 * facts); findings in *out come from arena. */
int cli_push_eval(pol_result *out, const cli_push *p, const json_t *object, const json_t *git,
                  util_arena *arena, util_error *err) UTIL_WUR;

#endif
