/* pol_load.c: from paths to a rule set: finding the files of each pack, parsing them,
 * resolving the packs' parameters (declared default < params.yaml < the caller's), checking
 * what only a whole set can (duplicate ids), and indexing the rules by kind. Also the load
 * diagnostics and the rule set's lifetime. */
#include "policy/pol_int.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/banned.h"

/* ---- diagnostics ---------------------------------------------------------------------- */

typedef struct diag_text {
    char *name;
    char *text; /* may be NULL */
    size_t len;
} diag_text;

struct pol_diags {
    util_error *errs;
    size_t *err_text; /* per error: index into texts, or SIZE_MAX */
    size_t n, cap;
    diag_text *texts;
    size_t ntexts, captexts;
};

pol_diags *pol_diags_new(void)
{
    return calloc(1, sizeof(pol_diags));
}

void pol_diags_free(pol_diags *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->ntexts; i++) {
        free(d->texts[i].name);
        free(d->texts[i].text);
    }
    free(d->texts);
    free(d->errs);
    free(d->err_text);
    free(d);
}

size_t pol_diags_count(const pol_diags *d)
{
    return d ? d->n : 0;
}

const util_error *pol_diags_get(const pol_diags *d, size_t i)
{
    return d && i < d->n ? &d->errs[i] : NULL;
}

void pol_diags_print(FILE *out, const pol_diags *d)
{
    for (size_t i = 0; d && i < d->n; i++) {
        const diag_text *t = d->err_text[i] == SIZE_MAX ? NULL : &d->texts[d->err_text[i]];
        util_error_print(out, &d->errs[i], t ? t->text : NULL, t ? t->len : 0);
    }
}

/* The copy of a file (name, text) in d, made on first use; SIZE_MAX when out of memory. */
static size_t diag_text_for(pol_diags *d, const char *name, const char *text, size_t len)
{
    for (size_t i = 0; i < d->ntexts; i++)
        if (strcmp(d->texts[i].name, name) == 0)
            return i;
    if (d->ntexts == d->captexts) {
        size_t cap = d->captexts ? 2 * d->captexts : 8;
        diag_text *a = realloc(d->texts, cap * sizeof(*a));
        if (!a)
            return SIZE_MAX;
        d->texts = a;
        d->captexts = cap;
    }
    diag_text *t = &d->texts[d->ntexts];
    t->name = strdup(name);
    t->text = text ? malloc(len + 1) : NULL;
    if (!t->name || (text && !t->text)) {
        free(t->name);
        free(t->text);
        return SIZE_MAX;
    }
    if (text) {
        memcpy(t->text, text, len);
        t->text[len] = '\0';
    }
    t->len = len;
    return d->ntexts++;
}

/* Append a copy of e; source (a file name, or NULL) and text are copied too. */
static void diag_push(pol_diags *d, const util_error *e, const char *source, const char *text,
                      size_t len)
{
    if (!d)
        return;
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 8;
        util_error *a = realloc(d->errs, cap * sizeof(*a));
        if (!a)
            return;
        d->errs = a;
        size_t *b = realloc(d->err_text, cap * sizeof(*b));
        if (!b)
            return;
        d->err_text = b;
        d->cap = cap;
    }
    size_t ti = source ? diag_text_for(d, source, text, len) : SIZE_MAX;
    d->errs[d->n] = *e;
    d->errs[d->n].source = ti == SIZE_MAX ? NULL : d->texts[ti].name;
    d->err_text[d->n] = ti;
    d->n++;
}

void pol_load__error(pol_loader *ld, size_t fi, size_t off, const char *fmt, ...)
{
    util_error e;
    va_list ap;
    ld->nerrors++;
    if (!ld->diags)
        return;
    util_error_clear(&e);
    e.code = UTIL_ESYNTAX;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
    va_end(ap);
    if (fi < ld->nfiles && ld->files[fi].text)
        util_linecol(ld->files[fi].text, ld->files[fi].len, off, &e.line, &e.col);
    diag_push(ld->diags, &e, fi < ld->nfiles ? ld->files[fi].name : NULL,
              fi < ld->nfiles ? ld->files[fi].text : NULL, fi < ld->nfiles ? ld->files[fi].len : 0);
}

/* An error with no place in a rule file (an unreadable file, a bad params file). */
static void load_error(pol_loader *ld, const util_error *e, const char *text, size_t len)
{
    ld->nerrors++;
    diag_push(ld->diags, e, e->source, text, len);
}

static void load_errorf(pol_loader *ld, const char *source, const char *fmt, ...) UTIL_PRINTF(3, 4);
static void load_errorf(pol_loader *ld, const char *source, const char *fmt, ...)
{
    util_error e;
    va_list ap;
    util_error_clear(&e);
    e.code = UTIL_EINVALID;
    e.source = source;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
    va_end(ap);
    load_error(ld, &e, NULL, 0);
}

/* ---- rule sets ------------------------------------------------------------------------ */

const char *pol_action_name(pol_action a)
{
    return a == POL_DENY ? "deny" : a == POL_WARN ? "warn" : "audit";
}

bool pol_mode_parse(pol_mode *out, const char *s)
{
    static const char *const names[] = {"enforce", "warn", "audit"};
    for (int i = 0; i < 3; i++) {
        if (s && strcmp(s, names[i]) == 0) {
            *out = (pol_mode)i;
            return true;
        }
    }
    return false;
}

static pol_ruleset *ruleset_new(void)
{
    pol_ruleset *rs = calloc(1, sizeof(*rs));
    if (!rs)
        return NULL;
    atomic_init(&rs->refs, 1);
    util_arena_init(&rs->arena, 64 * 1024);
    rs->consts = json_array();
    if (!rs->consts) {
        free(rs);
        return NULL;
    }
    return rs;
}

static void ruleset_free(pol_ruleset *rs)
{
    for (size_t i = 0; i < rs->nregexes; i++)
        regfree(rs->regexes[i]);
    free(rs->regexes);
    free(rs->rules);
    free(rs->index);
    free(rs->wild);
    json_decref(rs->consts);
    util_arena_release(&rs->arena);
    free(rs);
}

void pol_ruleset_incref(pol_ruleset *rs)
{
    if (rs)
        atomic_fetch_add(&rs->refs, 1);
}

void pol_ruleset_decref(pol_ruleset *rs)
{
    if (rs && atomic_fetch_sub(&rs->refs, 1) == 1)
        ruleset_free(rs);
}

size_t pol_ruleset_count(const pol_ruleset *rs)
{
    return rs ? rs->nrules : 0;
}

const char *pol_ruleset_rule_id(const pol_ruleset *rs, size_t i)
{
    return i < rs->nrules ? rs->rules[i].id : NULL;
}

const char *pol_ruleset_rule_title(const pol_ruleset *rs, size_t i)
{
    return i < rs->nrules ? rs->rules[i].title : NULL;
}

const char *pol_ruleset_rule_file(const pol_ruleset *rs, size_t i)
{
    return i < rs->nrules ? rs->rules[i].file : NULL;
}

pol_action pol_ruleset_rule_action(const pol_ruleset *rs, size_t i)
{
    return i < rs->nrules ? rs->rules[i].action : POL_DENY;
}

/* ---- the loader ----------------------------------------------------------------------- */

static size_t add_file(pol_loader *ld, const char *name, const char *text, size_t len)
{
    if (ld->nfiles == ld->capfiles) {
        size_t cap = ld->capfiles ? 2 * ld->capfiles : 16;
        void *a = realloc(ld->files, cap * sizeof(*ld->files));
        if (!a) {
            ld->oom = true;
            return SIZE_MAX;
        }
        ld->files = a;
        ld->capfiles = cap;
    }
    char *n = util_arena_strdup(&ld->rs->arena, name);
    if (!n) {
        ld->oom = true;
        return SIZE_MAX;
    }
    ld->files[ld->nfiles].name = n;
    ld->files[ld->nfiles].text = text;
    ld->files[ld->nfiles].len = len;
    ld->files[ld->nfiles].diag_text = SIZE_MAX;
    return ld->nfiles++;
}

static bool same_type(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return true;
    if (json_is_boolean(a) && json_is_boolean(b))
        return true;
    return json_typeof(a) == json_typeof(b);
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "a map";
    case JSON_ARRAY:
        return "a list";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a bool";
    default:
        return "null";
    }
}

static pol_param_decl *find_decl(pol_loader *ld, const char *name)
{
    for (size_t i = 0; i < ld->ndecls; i++)
        if (strcmp(ld->decls[i].name, name) == 0)
            return &ld->decls[i];
    return NULL;
}

/* Check an override map ({NAME: value}) against the declarations. */
static void check_overrides(pol_loader *ld, const char *pack, const json_t *over,
                            const char *source)
{
    const char *key;
    json_t *v;
    if (!over)
        return;
    if (!json_is_object(over)) {
        load_errorf(ld, source, "the parameters of pack '%s' must be a map", pack);
        return;
    }
    json_object_foreach((json_t *)over, key, v)
    {
        pol_param_decl *d = find_decl(ld, key);
        if (!d)
            load_errorf(ld, source, "unknown parameter '%s' for pack '%s'", key, pack);
        else if (!json_is_null(d->value) && !same_type(d->value, v))
            load_errorf(ld, source, "parameter '%s' of pack '%s' must be %s, not %s", key, pack,
                        json_type_name(d->value), json_type_name(v));
    }
}

/* The value of a parameter: the caller's, else the pack's params.yaml, else the default. */
static json_t *param_value(pol_loader *ld, pol_param_decl *d, const json_t *file_over,
                           const json_t *caller)
{
    json_t *v = json_object_get(caller, d->name);
    if (!v)
        v = json_object_get(file_over, d->name);
    if (!v)
        v = d->value;
    return v;
}

static bool keep_const(pol_loader *ld, json_t *v)
{
    if (json_array_append(ld->rs->consts, v) != 0) {
        ld->oom = true;
        return false;
    }
    return true;
}

/* Replace every `params...` node of the pack by its value, then compile the regexes whose
 * pattern was a parameter. */
static void resolve_params(pol_loader *ld, const char *pack, const json_t *file_over,
                           const char *file_over_name, const json_t *caller, bool whole_pack)
{
    /* A pack's params.yaml names the parameters of all its files: only check it when every
     * file of the pack was loaded. */
    if (whole_pack)
        check_overrides(ld, pack, file_over, file_over_name);
    check_overrides(ld, pack, caller, "params");
    json_t *all = NULL;
    for (size_t i = 0; i < ld->nrefs; i++) {
        pol_node *n = ld->refs[i].node;
        if (n->kind != N_PARAM)
            continue;
        json_t *v;
        if (!n->u.param.name) {
            if (!all) {
                all = json_object();
                for (size_t k = 0; all && k < ld->ndecls; k++)
                    json_object_set(all, ld->decls[k].name,
                                    param_value(ld, &ld->decls[k], file_over, caller));
                if (!all || !keep_const(ld, all)) {
                    ld->oom = true;
                    json_decref(all);
                    return;
                }
                json_decref(all); /* consts holds it */
            }
            v = all;
        } else {
            pol_param_decl *d = find_decl(ld, n->u.param.name);
            if (!d) {
                pol_load__error(ld, ld->refs[i].file, ld->refs[i].off,
                                "unknown parameter '%s' of pack '%s'", n->u.param.name, pack);
                continue;
            }
            v = param_value(ld, d, file_over, caller);
            if (!keep_const(ld, v))
                return;
        }
        n->kind = N_CONST;
        n->u.k = pv_from_json(v);
    }
    for (size_t i = 0; i < ld->nrefs; i++) {
        pol_node *n = ld->refs[i].node;
        if (n->kind == N_MATCHES && n->u.m.pat && n->u.m.pat->kind == N_CONST)
            n->u.m.re = pol_parse__regex(ld, ld->refs[i].file, n->u.m.pat->off, n->u.m.pat->u.k);
    }
}

static void end_pack(pol_loader *ld)
{
    for (size_t i = 0; i < ld->ndecls; i++)
        json_decref(ld->decls[i].value);
    ld->ndecls = 0;
    ld->nrefs = 0;
}

/* A pack folder's params.yaml: a map of NAME: value. NULL when there is none. */
static json_t *read_pack_params(pol_loader *ld, const char *dir, char *path, size_t size)
{
    util_buf text;
    util_error err;
    util_manifest_set set;
    json_t *v = NULL;
    int n = snprintf(path, size, "%s/params.yaml", dir);
    if (n < 0 || (size_t)n >= size || access(path, F_OK) != 0)
        return NULL;
    util_buf_init(&text);
    util_manifest_set_init(&set);
    util_error_clear(&err);
    if (util_file_read(&text, path, LIMIT_CONFIG_FILE, &err) != 0) {
        load_error(ld, &err, NULL, 0);
    } else if (util_manifest_parse(&set, path, text.data, text.len, 0, &err) != 0) {
        load_error(ld, &err, text.data, text.len);
    } else if (set.count > 1 || (set.count == 1 && !json_is_object(set.docs[0].value))) {
        load_errorf(ld, path, "expected one map of parameter names to values");
    } else if (set.count == 1) {
        v = json_incref(set.docs[0].value);
    }
    util_manifest_set_release(&set);
    util_buf_release(&text);
    return v;
}

/* Checks over the whole set, the index, and the hand-over of the rules to rs. */
static void finish(pol_loader *ld)
{
    pol_ruleset *rs = ld->rs;
    for (size_t j = 1; j < ld->nrules; j++) {
        for (size_t i = 0; i < j; i++) {
            if (strcmp(ld->rules[i].id, ld->rules[j].id) != 0)
                continue;
            unsigned line, col;
            size_t fi = ld->rules[i].fi;
            util_linecol(ld->files[fi].text, ld->files[fi].len, ld->rules[i].off, &line, &col);
            if (fi == ld->rules[j].fi)
                pol_load__error(ld, ld->rules[j].fi, ld->rules[j].off,
                                "duplicate rule id '%s' (first defined at %u:%u)", ld->rules[j].id,
                                line, col);
            else
                pol_load__error(ld, ld->rules[j].fi, ld->rules[j].off,
                                "duplicate rule id '%s' (first defined at %s:%u:%u)",
                                ld->rules[j].id, ld->files[fi].name, line, col);
            break;
        }
    }
    rs->rules = ld->rules;
    rs->nrules = ld->nrules;
    ld->rules = NULL;
    ld->nrules = ld->caprules = 0;
    size_t nentries = 0;
    for (size_t i = 0; i < rs->nrules; i++) {
        nentries += rs->rules[i].nkinds;
        if (rs->rules[i].nslots > rs->max_slots)
            rs->max_slots = rs->rules[i].nslots;
    }
    rs->index = calloc(nentries ? nentries : 1, sizeof(*rs->index));
    rs->wild = calloc(rs->nrules ? rs->nrules : 1, sizeof(*rs->wild));
    if (!rs->index || !rs->wild) {
        ld->oom = true;
        return;
    }
    for (size_t i = 0; i < rs->nrules; i++) {
        const pol_rule *r = &rs->rules[i];
        if (!r->kinds) {
            rs->wild[rs->nwild++] = (uint32_t)i;
            continue;
        }
        for (size_t k = 0; k < r->nkinds; k++) {
            bool dup = false;
            for (size_t e = 0; e < rs->nindex && !dup; e++)
                dup = rs->index[e].rule == i && strcmp(rs->index[e].kind, r->kinds[k]) == 0;
            if (!dup)
                rs->index[rs->nindex++] = (pol_kind_entry){r->kinds[k], (uint32_t)i};
        }
    }
    /* Sort by kind, then rule (insertion sort: the index is built once, and is small). */
    for (size_t i = 1; i < rs->nindex; i++) {
        pol_kind_entry e = rs->index[i];
        size_t j = i;
        while (j > 0) {
            int c = strcmp(rs->index[j - 1].kind, e.kind);
            if (c < 0 || (c == 0 && rs->index[j - 1].rule < e.rule))
                break;
            rs->index[j] = rs->index[j - 1];
            j--;
        }
        rs->index[j] = e;
    }
}

const char *pol_load__intern(pol_loader *ld, const char *s, size_t len)
{
    for (size_t i = 0; i < ld->nnames; i++)
        if (strncmp(ld->names[i], s, len) == 0 && ld->names[i][len] == '\0')
            return ld->names[i];
    if (ld->nnames == ld->capnames) {
        size_t cap = ld->capnames ? 2 * ld->capnames : 64;
        const char **a = realloc(ld->names, cap * sizeof(*a));
        if (!a) {
            ld->oom = true;
            return NULL;
        }
        ld->names = a;
        ld->capnames = cap;
    }
    char *c = util_arena_strndup(&ld->rs->arena, s, len);
    if (!c) {
        ld->oom = true;
        return NULL;
    }
    ld->names[ld->nnames++] = c;
    return c;
}

static void loader_release(pol_loader *ld)
{
    free(ld->names);
    end_pack(ld);
    free(ld->decls);
    free(ld->refs);
    free(ld->rules);
    free(ld->files);
}

static int loader_result(pol_loader *ld, pol_ruleset **out, util_error *err)
{
    if (!ld->oom && ld->nerrors == 0)
        finish(ld);
    if (ld->oom) {
        ruleset_free(ld->rs);
        loader_release(ld);
        return util_error_set(err, UTIL_ENOMEM, "out of memory loading rules");
    }
    if (ld->nerrors) {
        size_t n = ld->nerrors;
        ruleset_free(ld->rs);
        loader_release(ld);
        return util_error_set(err, POL_ELOAD, "%zu error%s in the rules", n, n == 1 ? "" : "s");
    }
    loader_release(ld);
    *out = ld->rs;
    return 0;
}

/* The pack a file belongs to: its folder's name. */
static void pack_of(const char *dir, char *out, size_t size)
{
    char real[PATH_MAX], copy[PATH_MAX];
    const char *d = realpath(dir, real) ? real : dir;
    snprintf(copy, sizeof(copy), "%s", d);
    snprintf(out, size, "%s", basename(copy));
}

static void dir_of(const char *path, char *out, size_t size)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof(copy), "%s", path);
    snprintf(out, size, "%s", dirname(copy));
}

int pol_ruleset_load(pol_ruleset **out, const char *const *paths, size_t npaths,
                     const json_t *params, pol_diags *diags, util_error *err)
{
    static const char *const suffixes[] = {".rules", NULL};
    pol_loader ld;
    util_strv files = {0}, named = {0}; /* named: files given by path, not found in a folder */
    *out = NULL;
    memset(&ld, 0, sizeof(ld));
    ld.diags = diags;
    ld.rs = ruleset_new();
    if (!ld.rs)
        return util_error_set(err, UTIL_ENOMEM, "out of memory loading rules");
    for (size_t i = 0; i < npaths; i++) {
        util_error e;
        util_error_clear(&e);
        if (util_path_is_dir(paths[i])) {
            if (util_path_collect(&files, paths[i], suffixes, &e) != 0)
                load_error(&ld, &e, NULL, 0);
        } else if (access(paths[i], R_OK) != 0) {
            load_errorf(&ld, paths[i], "cannot open rules: %s", strerror(errno));
        } else if (util_strv_push(&files, paths[i]) != 0 || util_strv_push(&named, paths[i]) != 0) {
            ld.oom = true;
        }
    }
    util_buf *texts = calloc(files.count ? files.count : 1, sizeof(*texts));
    bool *done = calloc(files.count ? files.count : 1, sizeof(*done));
    if (!texts || !done)
        ld.oom = true;
    /* One pack at a time: the files of one folder, in order of first appearance. */
    for (size_t i = 0; i < files.count && !ld.oom; i++) {
        char dir[PATH_MAX], pack[256], other[PATH_MAX], ppath[PATH_MAX];
        bool whole_pack = true;
        if (done[i])
            continue;
        dir_of(files.items[i], dir, sizeof(dir));
        pack_of(dir, pack, sizeof(pack));
        for (size_t j = i; j < files.count && !ld.oom; j++) {
            dir_of(files.items[j], other, sizeof(other));
            if (done[j] || strcmp(dir, other) != 0)
                continue;
            done[j] = true;
            for (size_t k = 0; k < named.count; k++)
                if (strcmp(named.items[k], files.items[j]) == 0)
                    whole_pack = false;
            util_error e;
            util_error_clear(&e);
            util_buf_init(&texts[j]);
            if (util_file_read(&texts[j], files.items[j], LIMIT_RULE_SOURCE, &e) != 0) {
                if (e.code == UTIL_ELIMIT)
                    load_errorf(&ld, files.items[j], "rule file over %u bytes (limits.rule_source)",
                                (unsigned)LIMIT_RULE_SOURCE);
                else
                    load_error(&ld, &e, NULL, 0);
                continue;
            }
            size_t fi = add_file(&ld, files.items[j], texts[j].data, texts[j].len);
            if (fi != SIZE_MAX)
                pol_parse__file(&ld, fi, pack);
        }
        json_t *file_over = read_pack_params(&ld, dir, ppath, sizeof(ppath));
        resolve_params(&ld, pack, file_over, ppath, json_object_get(params, pack), whole_pack);
        json_decref(file_over);
        end_pack(&ld);
    }
    int rc = loader_result(&ld, out, err);
    for (size_t i = 0; texts && i < files.count; i++)
        util_buf_release(&texts[i]);
    free(texts);
    free(done);
    util_strv_free(&files);
    util_strv_free(&named);
    return rc;
}

int pol_ruleset_load_text(pol_ruleset **out, const char *source, const char *pack, const char *text,
                          size_t len, const json_t *pack_params, pol_diags *diags, util_error *err)
{
    pol_loader ld;
    *out = NULL;
    memset(&ld, 0, sizeof(ld));
    ld.diags = diags;
    ld.rs = ruleset_new();
    if (!ld.rs)
        return util_error_set(err, UTIL_ENOMEM, "out of memory loading rules");
    if (len > LIMIT_RULE_SOURCE) {
        load_errorf(&ld, source, "rule file over %u bytes (limits.rule_source)",
                    (unsigned)LIMIT_RULE_SOURCE);
    } else {
        size_t fi = add_file(&ld, source, text, len);
        if (fi != SIZE_MAX)
            pol_parse__file(&ld, fi, pack);
        resolve_params(&ld, pack, NULL, NULL, pack_params, true);
    }
    end_pack(&ld);
    return loader_result(&ld, out, err);
}

json_t *pol_request_new(const json_t *object, const char *operation, const char *user,
                        const json_t *groups)
{
    const json_t *meta = json_object_get(object, "metadata");
    const char *av = util_json_str(object, "apiVersion"), *slash = av ? strchr(av, '/') : NULL;
    json_t *req = json_object(), *kind = json_object(), *ui = json_object();
    if (!req || !kind || !ui)
        goto out_fail;
    json_object_set_new(kind, "group",
                        slash ? json_stringn(av, (size_t)(slash - av)) : json_string(""));
    json_object_set_new(kind, "version", json_string(slash ? slash + 1 : av ? av : ""));
    json_object_set_new(
        kind, "kind",
        json_string(util_json_str(object, "kind") ? util_json_str(object, "kind") : ""));
    json_object_set_new(req, "kind", kind);
    kind = NULL;
    json_object_set_new(req, "operation", json_string(operation ? operation : "CREATE"));
    if (util_json_str(meta, "namespace"))
        json_object_set_new(req, "namespace", json_string(util_json_str(meta, "namespace")));
    if (util_json_str(meta, "name"))
        json_object_set_new(req, "name", json_string(util_json_str(meta, "name")));
    json_object_set_new(ui, "username", json_string(user ? user : ""));
    json_object_set_new(ui, "groups", groups ? json_deep_copy(groups) : json_array());
    json_object_set_new(req, "userInfo", ui);
    ui = NULL;
    json_object_set_new(req, "dryRun", json_false());
    if (object)
        json_object_set(req, "object", (json_t *)object);
    return req;

out_fail:
    json_decref(req);
    json_decref(kind);
    json_decref(ui);
    return NULL;
}

const char *pol_default_rules_dir(void)
{
    const char *env = getenv("SEALGATE_RULES_DIR");
    if (env && *env)
        return env;
#ifdef SEALGATE_RULES_DIR_DEFAULT
    if (util_path_is_dir(SEALGATE_RULES_DIR_DEFAULT))
        return SEALGATE_RULES_DIR_DEFAULT;
#endif
    return "/usr/share/sealgate/rules";
}
