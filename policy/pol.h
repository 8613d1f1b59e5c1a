/* pol.h: the rule DSL (docs/rules.md): load rule files and packs into an immutable, refcounted
 * rule set, then evaluate objects against it without re-parsing and without heap churn.
 * Everything an evaluation allocates comes from the caller's arena. */
#ifndef SEALGATE_POL_H
#define SEALGATE_POL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "util/util.h"

/* Module error codes (below -100, as util.h asks). */
enum {
    POL_ELOAD = -101, /* rule files had errors; every one of them is in the pol_diags */
};

/* What a rule does when its condition holds. Ordered from strongest to weakest. */
typedef enum { POL_DENY = 0, POL_WARN = 1, POL_AUDIT = 2 } pol_action;

/* The server's or CLI's mode: lowers deny rules (warn: they warn; audit: they only record). */
typedef enum { POL_MODE_ENFORCE = 0, POL_MODE_WARN = 1, POL_MODE_AUDIT = 2 } pol_mode;

const char *pol_action_name(pol_action a); /* "deny", "warn", "audit"; static string */
/* Parse "enforce" | "warn" | "audit"; false when s is none of them. */
bool pol_mode_parse(pol_mode *out, const char *s);

/* ---- load diagnostics ----------------------------------------------------------------- */

/* Every load error of every file, each with file:line:col. It owns copies of the sources it
 * points into, so it can print the source line and a caret after the files are gone. */
typedef struct pol_diags pol_diags;

pol_diags *pol_diags_new(void);    /* NULL when out of memory; free with pol_diags_free */
void pol_diags_free(pol_diags *d); /* accepts NULL */
size_t pol_diags_count(const pol_diags *d);
/* The i-th error (borrowed, valid until the diags are freed). Its source is the file name. */
const util_error *pol_diags_get(const pol_diags *d, size_t i);
/* Print every error as "file:line:col: message", then the source line and a caret. */
void pol_diags_print(FILE *out, const pol_diags *d);

/* ---- rule sets ------------------------------------------------------------------------ */

typedef struct pol_ruleset pol_ruleset;

/* Load rules from paths: `.rules` files or pack folders (searched recursively for `.rules`
 * files). A pack is a folder: a folder's name is its pack's name, a file's pack is its
 * parent folder's name. A pack folder's `params.yaml` and the declared defaults give the
 * parameters; params ({PACK: {NAME: value}}, borrowed, may be NULL) overrides both.
 * Loading goes on after an error so that diags (may be NULL) receives every error; then
 * the call returns POL_ELOAD with a summary in err and *out is NULL. On success *out is a
 * new reference (refcount 1). */
int pol_ruleset_load(pol_ruleset **out, const char *const *paths, size_t npaths,
                     const json_t *params, pol_diags *diags, util_error *err) UTIL_WUR;

/* Load one rule file held in memory (tests, `sealgate test` inline rules). source names it
 * in errors; pack is the pack name rule ids get; pack_params ({NAME: value}, borrowed, may be
 * NULL) overrides the declared defaults. */
int pol_ruleset_load_text(pol_ruleset **out, const char *source, const char *pack, const char *text,
                          size_t len, const json_t *pack_params, pol_diags *diags,
                          util_error *err) UTIL_WUR;

/* Reference counting: the server swaps rule sets on reload while requests still use the old
 * one. Both are thread-safe; decref frees the set at zero and accepts NULL. */
void pol_ruleset_incref(pol_ruleset *rs);
void pol_ruleset_decref(pol_ruleset *rs);

size_t pol_ruleset_count(const pol_ruleset *rs);
/* Per-rule facts, i < count; the strings are borrowed from the set. */
const char *pol_ruleset_rule_id(const pol_ruleset *rs, size_t i); /* "pack/rule" */
const char *pol_ruleset_rule_title(const pol_ruleset *rs, size_t i);
const char *pol_ruleset_rule_file(const pol_ruleset *rs, size_t i); /* the .rules path */
pol_action pol_ruleset_rule_action(const pol_ruleset *rs, size_t i);
/* Could any rule match an object of this API group ("" for core) and kind? A cheap test the
 * server can use to skip whole requests. */
bool pol_ruleset_may_match(const pol_ruleset *rs, const char *group, const char *kind);

/* Where the bundled packs are: $SEALGATE_RULES_DIR, else the source tree's rules/ this
 * binary was built from (when it still exists), else /usr/share/sealgate/rules. Static or
 * environment storage; do not free. */
const char *pol_default_rules_dir(void);

/* ---- evaluation ----------------------------------------------------------------------- */

/* What a rule sees; all borrowed, any may be NULL. request is the AdmissionReview `request`
 * (operation, userInfo, namespace, name, kind{group,version,kind}, dryRun, ...) or one
 * pol_request_new made. Kind, namespace and operation come from request when it has them,
 * else from object (oldObject for DELETE). */
typedef struct pol_input {
    const json_t *object, *old_object, *request, *git;
} pol_input;

typedef struct pol_finding {
    const char *rule_id; /* "pack/rule"; borrowed from the rule set */
    pol_action action;   /* after the mode lowered it */
    const char *message; /* from the arena */
    const char *path;    /* e.g. "spec.template.spec.containers[0]", "" for the object */
} pol_finding;

typedef struct pol_result {
    pol_finding *findings; /* from the arena, in rule order */
    size_t count;
    size_t denies, warns, audits; /* findings per action, after the mode */
} pol_result;

/* Evaluate every rule that matches in against rs. Findings, messages and paths come from
 * arena and stay valid until it is reset; rule ids need rs to stay referenced. A rule over
 * its step budget gives a deny finding "evaluation budget exceeded" (fails closed). Returns
 * 0, or UTIL_ENOMEM when the arena runs dry. Thread-safe: rs is not modified. */
int pol_eval(pol_result *out, const pol_ruleset *rs, const pol_input *in, pol_mode mode,
             util_arena *arena, util_error *err) UTIL_WUR;

/* Synthesise an AdmissionReview-like request for an object, as the CLI does: operation
 * (default "CREATE"), userInfo {username: user, groups}, namespace, name, kind {group,
 * version, kind} from object. Returns a new reference, NULL when out of memory. */
json_t *pol_request_new(const json_t *object, const char *operation, const char *user,
                        const json_t *groups);

#endif
