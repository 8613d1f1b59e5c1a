/* cmd_check.c: `sealgate check`: the rules, offline, over manifest files (the CI gate). One
 * line per finding, or JSON for tools; exit 0 (no denials), 1 (a denial), 2 (usage or input
 * error, including a rule or manifest that does not parse). See docs/rules.md. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "policy/pol.h"
#include "util/limits.h"
#include "util/banned.h"

typedef struct check_opts {
    util_strv rules;
    const char *params_file;
    bool json;
    pol_mode mode;
    util_strv paths;
} check_opts;

typedef struct check_state {
    const check_opts *o;
    pol_ruleset *rs;
    util_arena arena;
    json_t *jfindings; /* -o json */
    size_t objects, denies, warns, audits;
    bool input_error;
} check_state;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sealgate check [--rules PATH]... [--params FILE] [-o text|json]\n"
            "                      [--mode enforce|warn|audit] PATH...\n"
            "PATH: manifest files or folders (.yaml, .yml, .json), '-' for stdin.\n"
            "Default rules: %s\n",
            pol_default_rules_dir());
}

static int parse_args(check_opts *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return -1;
        } else if (strcmp(a, "--rules") == 0 && v) {
            if (util_strv_push(&o->rules, v) != 0)
                return cli_usage("check", "out of memory");
            i++;
        } else if (strcmp(a, "--params") == 0 && v) {
            o->params_file = v;
            i++;
        } else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && v) {
            if (strcmp(v, "json") != 0 && strcmp(v, "text") != 0)
                return cli_usage("check", "unknown output '%s' (text or json)", v);
            o->json = strcmp(v, "json") == 0;
            i++;
        } else if (strcmp(a, "--mode") == 0 && v) {
            if (!pol_mode_parse(&o->mode, v))
                return cli_usage("check", "unknown mode '%s' (enforce, warn or audit)", v);
            i++;
        } else if (a[0] == '-' && a[1] != '\0') {
            return cli_usage("check", "unknown or incomplete option '%s' (see --help)", a);
        } else if (util_strv_push(&o->paths, a) != 0) {
            return cli_usage("check", "out of memory");
        }
    }
    if (o->paths.count == 0)
        return cli_usage("check", "no manifests to check (see --help)");
    return 0;
}

/* --params FILE: {PACK: {NAME: value}} in YAML or JSON. */
static int read_params(json_t **out, const char *path)
{
    util_buf text;
    util_error err;
    util_manifest_set set;
    int rc = 0;
    *out = NULL;
    util_buf_init(&text);
    util_manifest_set_init(&set);
    util_error_clear(&err);
    if (util_file_read(&text, path, LIMIT_CONFIG_FILE, &err) != 0) {
        rc = cli_fail("check", &err, NULL, 0);
    } else if (util_manifest_parse(&set, path, text.data, text.len, 0, &err) != 0) {
        rc = cli_fail("check", &err, text.data, text.len);
    } else if (set.count != 1 || !json_is_object(set.docs[0].value)) {
        rc = cli_usage("check", "%s: expected one map of packs to parameters", path);
    } else {
        *out = json_incref(set.docs[0].value);
    }
    util_manifest_set_release(&set);
    util_buf_release(&text);
    return rc;
}

static void print_finding(check_state *st, const char *file, const util_manifest_doc *doc,
                          bool several, const json_t *obj, const pol_finding *f)
{
    const json_t *meta = json_object_get(obj, "metadata");
    const char *kind = util_json_str(obj, "kind"), *ns = util_json_str(meta, "namespace");
    const char *name = util_json_str(meta, "name");
    if (st->o->json) {
        json_t *j = json_pack("{s:s, s:i, s:s, s:s?, s:s, s:s, s:s, s:s, s:s}", "file", file, "doc",
                              (json_int_t)doc->index + 1, "kind", kind ? kind : "", "namespace", ns,
                              "name", name ? name : "", "rule", f->rule_id, "action",
                              pol_action_name(f->action), "message", f->message, "path", f->path);
        if (j)
            json_array_append_new(st->jfindings, j);
        return;
    }
    char where[64] = "";
    if (several)
        snprintf(where, sizeof(where), "#%u", doc->index + 1);
    printf("%s%s %s %s%s%s %s: %s%s\n", file, where, kind ? kind : "-", ns ? ns : "", ns ? "/" : "",
           name ? name : "-", f->rule_id,
           f->action == POL_DENY   ? ""
           : f->action == POL_WARN ? "warning: "
                                   : "audit: ",
           f->message);
}

static bool is_review(const json_t *doc)
{
    const char *kind = util_json_str(doc, "kind");
    return kind && strcmp(kind, "AdmissionReview") == 0 &&
           json_is_object(json_object_get(doc, "request"));
}

static void check_doc(check_state *st, const char *file, const util_manifest_doc *doc, bool several)
{
    pol_input in = {0};
    json_t *made = NULL;
    const json_t *obj = doc->value;
    util_error err;
    pol_result res;
    util_error_clear(&err);
    if (is_review(doc->value)) {
        const json_t *req = json_object_get(doc->value, "request");
        in.request = req;
        in.object = json_object_get(req, "object");
        in.old_object = json_object_get(req, "oldObject");
        obj = json_is_object(in.object) ? in.object : in.old_object;
    } else {
        if (!json_is_object(obj) || !util_json_str(obj, "kind")) {
            fprintf(stderr,
                    "sealgate check: %s:%u: document %u is not a Kubernetes object (no kind)\n",
                    file, doc->line, doc->index + 1);
            st->input_error = true;
            return;
        }
        made = pol_request_new(obj, "CREATE", NULL, NULL);
        in.object = obj;
        in.request = made;
    }
    st->objects++;
    util_arena_reset(&st->arena);
    if (pol_eval(&res, st->rs, &in, st->o->mode, &st->arena, &err) != 0) {
        cli_fail("check", &err, NULL, 0);
        st->input_error = true;
    } else {
        for (size_t i = 0; i < res.count; i++)
            print_finding(st, file, doc, several, obj, &res.findings[i]);
        st->denies += res.denies;
        st->warns += res.warns;
        st->audits += res.audits;
    }
    json_decref(made);
}

/* Documents stream through one at a time so that memory stays flat on large files; the one
 * before is held back until the next arrives, because whether a file holds several documents
 * (and so whether findings name them `#N`) is only known then. */
typedef struct check_file_state {
    check_state *st;
    const char *name;
    util_manifest_doc held;
    size_t seen;
} check_file_state;

static int check_streamed(void *ctx, const util_manifest_doc *doc)
{
    check_file_state *fs = ctx;
    if (fs->seen++ > 0) {
        check_doc(fs->st, fs->name, &fs->held, true);
        json_decref(fs->held.value);
    }
    fs->held = *doc;
    json_incref(fs->held.value);
    return 0;
}

static void check_file(check_state *st, const char *path)
{
    util_buf text;
    util_error err;
    check_file_state fs = {st, strcmp(path, "-") == 0 ? "<stdin>" : path, {0}, 0};
    util_buf_init(&text);
    util_error_clear(&err);
    if (util_file_read(&text, path, LIMIT_MANIFEST_FILE, &err) != 0) {
        cli_fail("check", &err, NULL, 0);
        st->input_error = true;
    } else if (util_manifest_each(fs.name, text.data, text.len, UTIL_MANIFEST_EXPAND_LISTS,
                                  check_streamed, &fs, &err) != 0) {
        cli_fail("check", &err, text.data, text.len);
        st->input_error = true;
    } else if (fs.seen > 0) {
        check_doc(st, fs.name, &fs.held, fs.seen > 1);
    }
    if (fs.seen > 0)
        json_decref(fs.held.value);
    util_buf_release(&text);
}

int cli_check(int argc, char **argv)
{
    static const char *const suffixes[] = {".yaml", ".yml", ".json", NULL};
    check_opts o;
    check_state st;
    json_t *params = NULL;
    pol_diags *diags = NULL;
    util_strv files = {0};
    util_error err;
    int rc;
    memset(&o, 0, sizeof(o));
    memset(&st, 0, sizeof(st));
    util_error_clear(&err);
    rc = parse_args(&o, argc, argv);
    if (rc != 0) {
        rc = rc < 0 ? CLI_OK : rc;
        goto out;
    }
    if (o.params_file && (rc = read_params(&params, o.params_file)) != 0)
        goto out;
    if (o.rules.count == 0 && util_strv_push(&o.rules, pol_default_rules_dir()) != 0) {
        rc = cli_usage("check", "out of memory");
        goto out;
    }
    diags = pol_diags_new();
    if (pol_ruleset_load(&st.rs, (const char *const *)o.rules.items, o.rules.count, params, diags,
                         &err) != 0) {
        pol_diags_print(stderr, diags);
        rc = cli_fail("check", &err, NULL, 0);
        goto out;
    }
    for (size_t i = 0; i < o.paths.count; i++) {
        if (strcmp(o.paths.items[i], "-") == 0 || !util_path_is_dir(o.paths.items[i])) {
            if (util_strv_push(&files, o.paths.items[i]) != 0)
                st.input_error = true;
        } else if (util_path_collect(&files, o.paths.items[i], suffixes, &err) != 0) {
            cli_fail("check", &err, NULL, 0);
            st.input_error = true;
        }
    }
    st.o = &o;
    util_arena_init(&st.arena, 64 * 1024);
    st.jfindings = o.json ? json_array() : NULL;
    for (size_t i = 0; i < files.count; i++)
        check_file(&st, files.items[i]);
    if (o.json) {
        json_t *doc = json_pack("{s:o, s:i, s:i, s:i, s:i, s:b}", "findings", st.jfindings,
                                "objects", (json_int_t)st.objects, "denied", (json_int_t)st.denies,
                                "warnings", (json_int_t)st.warns, "audits", (json_int_t)st.audits,
                                "inputErrors", st.input_error);
        st.jfindings = NULL;
        if (doc) {
            json_dumpf(doc, stdout, JSON_INDENT(2));
            fputc('\n', stdout);
        }
        json_decref(doc);
    } else {
        fprintf(stderr, "%zu object%s checked: %zu denied, %zu warnings, %zu audits\n", st.objects,
                st.objects == 1 ? "" : "s", st.denies, st.warns, st.audits);
    }
    util_arena_release(&st.arena);
    rc = st.input_error ? CLI_USAGE : st.denies ? CLI_FINDING : CLI_OK;
out:
    json_decref(st.jfindings);
    pol_ruleset_decref(st.rs);
    pol_diags_free(diags);
    json_decref(params);
    util_strv_free(&files);
    util_strv_free(&o.rules);
    util_strv_free(&o.paths);
    return rc;
}
