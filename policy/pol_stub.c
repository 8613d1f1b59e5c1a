/* pol_stub.c: the API of pol.h before the engine lands: loads nothing, finds nothing. */
#include "policy/pol.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

struct pol_diags {
    size_t count;
};

struct pol_ruleset {
    atomic_int refs;
};

const char *pol_action_name(pol_action a)
{
    return a == POL_DENY ? "deny" : a == POL_WARN ? "warn" : "audit";
}

bool pol_mode_parse(pol_mode *out, const char *s)
{
    static const char *const names[] = {"enforce", "warn", "audit"};
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (pol_mode)i;
            return true;
        }
    return false;
}

pol_diags *pol_diags_new(void)
{
    return calloc(1, sizeof(pol_diags));
}
void pol_diags_free(pol_diags *d)
{
    free(d);
}
size_t pol_diags_count(const pol_diags *d)
{
    return d ? d->count : 0;
}
const util_error *pol_diags_get(const pol_diags *d, size_t i)
{
    return NULL;
}
void pol_diags_print(FILE *out, const pol_diags *d)
{
}

static int empty_set(pol_ruleset **out, util_error *err)
{
    *out = calloc(1, sizeof(**out));
    if (!*out)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    atomic_init(&(*out)->refs, 1);
    return 0;
}

int pol_ruleset_load(pol_ruleset **out, const char *const *paths, size_t npaths,
                     const json_t *params, pol_diags *diags, util_error *err)
{
    return empty_set(out, err);
}

int pol_ruleset_load_text(pol_ruleset **out, const char *source, const char *pack, const char *text,
                          size_t len, const json_t *pack_params, pol_diags *diags, util_error *err)
{
    return empty_set(out, err);
}

void pol_ruleset_incref(pol_ruleset *rs)
{
    atomic_fetch_add(&rs->refs, 1);
}
void pol_ruleset_decref(pol_ruleset *rs)
{
    if (rs && atomic_fetch_sub(&rs->refs, 1) == 1)
        free(rs);
}
size_t pol_ruleset_count(const pol_ruleset *rs)
{
    return 0;
}
const char *pol_ruleset_rule_id(const pol_ruleset *rs, size_t i)
{
    return NULL;
}
const char *pol_ruleset_rule_title(const pol_ruleset *rs, size_t i)
{
    return NULL;
}
const char *pol_ruleset_rule_file(const pol_ruleset *rs, size_t i)
{
    return NULL;
}
pol_action pol_ruleset_rule_action(const pol_ruleset *rs, size_t i)
{
    return POL_DENY;
}
bool pol_ruleset_may_match(const pol_ruleset *rs, const char *group, const char *kind)
{
    return false;
}

int pol_eval(pol_result *out, const pol_ruleset *rs, const pol_input *in, pol_mode mode,
             util_arena *arena, util_error *err)
{
    memset(out, 0, sizeof(*out));
    return 0;
}

json_t *pol_request_new(const json_t *object, const char *operation, const char *user,
                        const json_t *groups)
{
    return json_pack("{s:s}", "operation", operation ? operation : "CREATE");
}
