/* cmd_test.c: `sealgate test`: runs the cases of `*.test.yaml` files (docs/rules.md, "Tests").
 * Each case gives rules (the `.rules` file beside the test, or inline), an input, and the
 * expected verdict or load error; a failing case says what differed. The last line is
 * "N passed, N failed"; exit 1 on any failure. */
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "policy/pol.h"
#include "util/limits.h"
#include "util/banned.h"

typedef struct test_file {
    const char *path;
    char dir[PATH_MAX];
    char pack[256];
    char rules_real[PATH_MAX]; /* realpath of NAME.rules beside the test, "" when none */
    pol_ruleset *rs;           /* the pack, with default parameters; loaded on first use */
    bool rs_tried;
    util_buf rs_errors; /* the pack's load errors, when it did not load */
} test_file;

typedef struct test_run {
    size_t passed, failed;
    bool verbose;
    util_arena arena;
} test_run;

/* Why a case failed: lines collected, printed under the FAIL line. */
typedef struct why {
    char text[8192];
    size_t len;
} why;

static void say(why *w, const char *fmt, ...) UTIL_PRINTF(2, 3);
static void say(why *w, const char *fmt, ...)
{
    va_list ap;
    if (w->len >= sizeof(w->text) - 1)
        return;
    va_start(ap, fmt);
    int k = vsnprintf(w->text + w->len, sizeof(w->text) - w->len, fmt, ap);
    va_end(ap);
    if (k > 0)
        w->len = w->len + (size_t)k < sizeof(w->text) ? w->len + (size_t)k : sizeof(w->text) - 1;
}

/* ---- load errors ---------------------------------------------------------------------- */

/* The diagnostics as text: "L:C: msg" per error (no file name), or with carets. */
static char *diags_text(const pol_diags *d, bool carets)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    for (size_t i = 0; i < pol_diags_count(d); i++) {
        const util_error *e = pol_diags_get(d, i);
        if (e->line)
            fprintf(f, "%u:%u: %s\n", e->line, e->col, e->msg);
        else
            fprintf(f, "%s\n", e->msg);
    }
    if (carets) {
        fprintf(f, "--\n");
        pol_diags_print(f, d);
    }
    fclose(f);
    return buf;
}

/* The source line and caret the first error prints, without the indentation. */
static char *first_caret(const pol_diags *d)
{
    char *buf = NULL, *out;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    pol_diags_print(f, d);
    fclose(f);
    /* lines 2 and 3 of the print, each indented by four spaces */
    char *l2 = buf ? strchr(buf, '\n') : NULL;
    char *l3 = l2 ? strchr(l2 + 1, '\n') : NULL;
    char *end = l3 ? strchr(l3 + 1, '\n') : NULL;
    if (!end || strncmp(l2 + 1, "    ", 4) != 0 || strncmp(l3 + 1, "    ", 4) != 0) {
        free(buf);
        return NULL;
    }
    /* Drop the source line's own indentation from both lines, as a YAML block does. */
    size_t ind = 0;
    while (l2 + 5 + ind < l3 && l2[5 + ind] == ' ' && l3 + 5 + ind < end && l3[5 + ind] == ' ')
        ind++;
    out = malloc((size_t)(end - l2) + 1);
    if (out) {
        size_t a = (size_t)(l3 - (l2 + 5)) - ind, b = (size_t)(end - (l3 + 5)) - ind;
        memcpy(out, l2 + 5 + ind, a);
        out[a] = '\n';
        memcpy(out + a + 1, l3 + 5 + ind, b);
        out[a + 1 + b] = '\n';
        out[a + b + 2] = '\0';
    }
    free(buf);
    return out;
}

/* Compare the load errors with the case's `error`, `errors` and `caret`. */
static bool check_errors(why *w, const json_t *c, const pol_diags *d)
{
    bool ok = true;
    const json_t *error = json_object_get(c, "error"), *errors = json_object_get(c, "errors");
    const char *caret = util_json_str(c, "caret");
    char first[400] = "";
    if (pol_diags_count(d)) {
        const util_error *e = pol_diags_get(d, 0);
        if (e->line)
            snprintf(first, sizeof(first), "%u:%u: %s", e->line, e->col, e->msg);
        else
            snprintf(first, sizeof(first), "%s", e->msg);
    }
    if (json_is_string(error) && strcmp(json_string_value(error), first) != 0) {
        say(w, "    error: expected \"%s\"\n           got      \"%s\"\n", json_string_value(error),
            first);
        ok = false;
    }
    if (json_is_array(errors)) {
        size_t n = json_array_size(errors), k = pol_diags_count(d);
        bool same = n == k;
        for (size_t i = 0; same && i < n; i++) {
            const util_error *e = pol_diags_get(d, i);
            char line[400];
            if (e->line)
                snprintf(line, sizeof(line), "%u:%u: %s", e->line, e->col, e->msg);
            else
                snprintf(line, sizeof(line), "%s", e->msg);
            same = json_is_string(json_array_get(errors, i)) &&
                   strcmp(json_string_value(json_array_get(errors, i)), line) == 0;
        }
        if (!same) {
            char *got = diags_text(d, false);
            say(w, "    errors: expected %zu, got:\n%s", n, got ? got : "");
            free(got);
            ok = false;
        }
    }
    if (caret) {
        char *got = first_caret(d);
        if (!got || strcmp(got, caret) != 0) {
            say(w, "    caret: expected:\n%s    got:\n%s", caret, got ? got : "(none)\n");
            ok = false;
        }
        free(got);
    }
    return ok;
}

/* ---- inputs --------------------------------------------------------------------------- */

/* Read a manifest for `file:`; *out is a new reference to its first document. */
static bool read_case_file(why *w, const test_file *tf, const char *rel, json_t **out)
{
    char path[2 * PATH_MAX + 2];
    util_buf text;
    util_error err;
    util_manifest_set set;
    bool ok = false;
    snprintf(path, sizeof(path), "%s/%s", tf->dir, rel);
    util_buf_init(&text);
    util_manifest_set_init(&set);
    util_error_clear(&err);
    if (util_file_read(&text, path, LIMIT_MANIFEST_FILE, &err) != 0 ||
        util_manifest_parse(&set, path, text.data, text.len, 0, &err) != 0) {
        char buf[512];
        say(w, "    file: %s\n", util_error_format(&err, buf, sizeof(buf)));
    } else if (set.count != 1) {
        say(w, "    file: %s holds %zu documents; a case takes one\n", rel, set.count);
    } else {
        *out = json_incref(set.docs[0].value);
        ok = true;
    }
    util_manifest_set_release(&set);
    util_buf_release(&text);
    return ok;
}

/* The request: from an AdmissionReview, or made for the object; the case's `request` map
 * sets operation, user, groups and any other request field. New reference. */
static json_t *case_request(const json_t *obj, const json_t *review_req, const json_t *spec)
{
    const char *op = util_json_str(spec, "operation"), *user = util_json_str(spec, "user");
    json_t *req;
    if (review_req) {
        req = json_deep_copy(review_req);
        if (req && op)
            json_object_set_new(req, "operation", json_string(op));
        if (req && user) {
            json_t *ui = json_object_get(req, "userInfo");
            if (!ui) {
                ui = json_object();
                json_object_set_new(req, "userInfo", ui);
            }
            json_object_set_new(ui, "username", json_string(user));
        }
    } else {
        req = pol_request_new(obj, op ? op : "CREATE", user, json_object_get(spec, "groups"));
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)spec, key, v)
    {
        if (strcmp(key, "operation") != 0 && strcmp(key, "user") != 0 &&
            strcmp(key, "groups") != 0 && req)
            json_object_set(req, key, v);
    }
    if (req && review_req && json_object_get(spec, "groups")) {
        json_t *ui = json_object_get(req, "userInfo");
        if (ui)
            json_object_set(ui, "groups", json_object_get(spec, "groups"));
    }
    return req;
}

/* ---- verdicts ------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ids (k of them, reordered here) sorted and unique, as "[x, y]". */
static void format_ids(char *out, size_t size, const char **ids, size_t k)
{
    size_t len = 0;
    qsort(ids, k, sizeof(*ids), cmp_str);
    len += (size_t)snprintf(out, size, "[");
    for (size_t i = 0; i < k && len < size; i++) {
        if (i && strcmp(ids[i], ids[i - 1]) == 0)
            continue;
        len += (size_t)snprintf(out + len, size - len, "%s%s", len > 1 ? ", " : "", ids[i]);
    }
    if (len < size)
        snprintf(out + len, size - len, "]");
}

/* The ids of findings with action a, as format_ids writes them. */
static void ids_of(char *out, size_t size, const pol_finding *f, size_t n, const bool *own,
                   pol_action a)
{
    const char *ids[256];
    size_t k = 0;
    for (size_t i = 0; i < n && k < 256; i++)
        if (own[i] && f[i].action == a)
            ids[k++] = f[i].rule_id;
    format_ids(out, size, ids, k);
}

static void expected_ids(char *out, size_t size, const json_t *list)
{
    const char *ids[256];
    size_t k = 0;
    for (size_t i = 0; i < json_array_size(list) && k < 256; i++)
        if (json_is_string(json_array_get(list, i)))
            ids[k++] = json_string_value(json_array_get(list, i));
    format_ids(out, size, ids, k);
}

static void list_findings(why *w, const pol_finding *f, size_t n, const bool *own)
{
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        if (!own[i])
            continue;
        say(w, "      %s %s %s: %s\n", pol_action_name(f[i].action), f[i].rule_id,
            *f[i].path ? f[i].path : "-", f[i].message);
        shown++;
    }
    if (!shown)
        say(w, "      (no findings)\n");
}

static bool check_verdict(why *w, const json_t *c, const pol_result *res, const bool *own)
{
    static const char *const keys[] = {"deny", "warn", "audit"};
    const json_t *expect = json_object_get(c, "expect");
    bool ok = true;
    for (int a = 0; a < 3; a++) {
        const json_t *list = json_object_get(expect, keys[a]);
        if (!list)
            continue;
        char want[2048], got[2048];
        expected_ids(want, sizeof(want), list);
        ids_of(got, sizeof(got), res->findings, res->count, own, (pol_action)a);
        if (strcmp(want, got) != 0) {
            say(w, "    %s: expected %s, got %s\n", keys[a], want, got);
            ok = false;
        }
    }
    const char *msg = util_json_str(c, "message");
    if (msg) {
        bool found = false;
        for (size_t i = 0; i < res->count && !found; i++)
            found = own[i] && strstr(res->findings[i].message, msg) != NULL;
        if (!found) {
            say(w, "    message: no finding's message contains \"%s\"\n", msg);
            ok = false;
        }
    }
    const json_t *exact = json_object_get(c, "findings");
    if (json_is_array(exact)) {
        size_t k = 0;
        bool same = true;
        for (size_t i = 0; i < res->count; i++) {
            if (!own[i])
                continue;
            char line[1400];
            const pol_finding *f = &res->findings[i];
            snprintf(line, sizeof(line), "%s %s %s: %s", pol_action_name(f->action), f->rule_id,
                     *f->path ? f->path : "-", f->message);
            const char *want = json_string_value(json_array_get(exact, k));
            if (!want || strcmp(want, line) != 0)
                same = false;
            k++;
        }
        if (k != json_array_size(exact))
            same = false;
        if (!same) {
            say(w, "    findings: expected\n");
            for (size_t i = 0; i < json_array_size(exact); i++)
                say(w, "      %s\n",
                    json_string_value(json_array_get(exact, i))
                        ? json_string_value(json_array_get(exact, i))
                        : "?");
            say(w, "    got\n");
            ok = false;
        }
    }
    if (!ok) {
        if (!json_is_array(exact))
            say(w, "    findings were:\n");
        list_findings(w, res->findings, res->count, own);
    }
    return ok;
}

/* ---- one case ------------------------------------------------------------------------- */

static const char *const case_keys[] = {"name",   "object", "file",    "oldObject", "request",
                                        "params", "expect", "message", "findings",  "rules",
                                        "error",  "errors", "caret",   "mode",      NULL};

static bool known_keys(why *w, const json_t *c)
{
    const char *key;
    json_t *v;
    bool ok = true;
    json_object_foreach((json_t *)c, key, v)
    {
        bool known = false;
        for (int i = 0; case_keys[i] && !known; i++)
            known = strcmp(case_keys[i], key) == 0;
        if (!known) {
            say(w, "    unknown key '%s' in the case\n", key);
            ok = false;
        }
    }
    return ok;
}

/* The pack beside the test, with its default parameters, loaded once per test file. */
static pol_ruleset *pack_rules(test_file *tf)
{
    if (tf->rs_tried)
        return tf->rs;
    tf->rs_tried = true;
    pol_diags *d = pol_diags_new();
    util_error err;
    const char *paths[] = {tf->dir};
    util_error_clear(&err);
    if (pol_ruleset_load(&tf->rs, paths, 1, NULL, d, &err) != 0) {
        char *text = diags_text(d, true);
        if (text && util_buf_puts(&tf->rs_errors, text) != 0)
            tf->rs = NULL;
        free(text);
    }
    pol_diags_free(d);
    return tf->rs;
}

static bool run_case(test_run *tr, test_file *tf, const json_t *c, why *w)
{
    const json_t *inline_rules = json_object_get(c, "rules");
    const json_t *params = json_object_get(c, "params");
    bool expects_error =
        json_object_get(c, "error") || json_object_get(c, "errors") || json_object_get(c, "caret");
    pol_ruleset *rs = NULL;
    pol_diags *d = pol_diags_new();
    util_error err;
    bool ok = known_keys(w, c);
    json_t *obj = NULL, *req = NULL, *filedoc = NULL;
    util_error_clear(&err);
    if (!d)
        return false;

    /* The rules. */
    int rc = 0;
    if (json_is_string(inline_rules)) {
        char source[PATH_MAX];
        snprintf(source, sizeof(source), "%s (inline rules)", tf->path);
        rc = pol_ruleset_load_text(&rs, source, tf->pack, json_string_value(inline_rules),
                                   json_string_length(inline_rules), params, d, &err);
    } else if (!tf->rules_real[0]) {
        say(w,
            "    no rules: the case has no `rules` and there is no .rules file beside the test\n");
        ok = false;
        goto out;
    } else if (params) {
        const char *paths[] = {tf->dir};
        json_t *all = json_pack("{s:O}", tf->pack, params);
        rc = pol_ruleset_load(&rs, paths, 1, all, d, &err);
        json_decref(all);
    } else {
        rs = pack_rules(tf);
        if (rs)
            pol_ruleset_incref(rs);
        else {
            say(w, "    the rules did not load:\n%s", tf->rs_errors.data ? tf->rs_errors.data : "");
            ok = false;
            goto out;
        }
    }
    if (rc != 0 || expects_error) {
        if (!expects_error) {
            char *text = diags_text(d, true);
            say(w, "    the rules did not load: %s\n%s", err.msg, text ? text : "");
            free(text);
            ok = false;
        } else if (rc == 0) {
            say(w, "    expected a load error, but the rules loaded\n");
            ok = false;
        } else {
            ok = check_errors(w, c, d) && ok;
        }
        goto out;
    }

    /* The input. */
    const json_t *review_req = NULL;
    if (json_object_get(c, "object")) {
        obj = json_incref(json_object_get(c, "object"));
    } else if (util_json_str(c, "file")) {
        if (!read_case_file(w, tf, util_json_str(c, "file"), &filedoc)) {
            ok = false;
            goto out;
        }
        const char *kind = util_json_str(filedoc, "kind");
        if (kind && strcmp(kind, "AdmissionReview") == 0) {
            review_req = json_object_get(filedoc, "request");
            obj = json_incref(json_object_get(review_req, "object"));
        } else {
            obj = json_incref(filedoc);
        }
    } else {
        say(w, "    the case has no `object` or `file`\n");
        ok = false;
        goto out;
    }
    req = case_request(obj, review_req, json_object_get(c, "request"));
    pol_input in = {.object = json_is_object(obj) ? obj : NULL, .request = req};
    in.old_object = json_object_get(c, "oldObject");
    if (!in.old_object && review_req)
        in.old_object = json_object_get(review_req, "oldObject");
    pol_mode mode = POL_MODE_ENFORCE;
    if (util_json_str(c, "mode") && !pol_mode_parse(&mode, util_json_str(c, "mode"))) {
        say(w, "    unknown mode '%s'\n", util_json_str(c, "mode"));
        ok = false;
        goto out;
    }
    pol_result res;
    util_arena_reset(&tr->arena);
    if (pol_eval(&res, rs, &in, mode, &tr->arena, &err) != 0) {
        say(w, "    evaluation failed: %s\n", err.msg);
        ok = false;
        goto out;
    }
    bool *own = util_arena_calloc(&tr->arena, res.count ? res.count : 1, sizeof(bool));
    if (!own) {
        ok = false;
        goto out;
    }
    /* Every rule of the pack counts: a case states the verdict of the whole pack. */
    for (size_t i = 0; i < res.count; i++)
        own[i] = true;
    ok = check_verdict(w, c, &res, own) && ok;
out:
    json_decref(obj);
    json_decref(req);
    json_decref(filedoc);
    pol_ruleset_decref(rs);
    pol_diags_free(d);
    return ok;
}

/* ---- files ---------------------------------------------------------------------------- */

static void test_file_init(test_file *tf, const char *path)
{
    char copy[PATH_MAX], real[PATH_MAX], rules[PATH_MAX];
    memset(tf, 0, sizeof(*tf));
    tf->path = path;
    util_buf_init(&tf->rs_errors);
    snprintf(copy, sizeof(copy), "%s", path);
    snprintf(tf->dir, sizeof(tf->dir), "%s", dirname(copy));
    snprintf(copy, sizeof(copy), "%s", realpath(tf->dir, real) ? real : tf->dir);
    snprintf(tf->pack, sizeof(tf->pack), "%s", basename(copy));
    size_t n = strlen(path), sfx = strlen(".test.yaml");
    if (n > sfx && strcmp(path + n - sfx, ".test.yaml") == 0) {
        snprintf(rules, sizeof(rules), "%.*s.rules", (int)(n - sfx), path);
        if (!realpath(rules, tf->rules_real))
            tf->rules_real[0] = '\0';
    }
}

static void run_file(test_run *tr, const char *path)
{
    util_buf text;
    util_error err;
    util_manifest_set set;
    test_file tf;
    test_file_init(&tf, path);
    util_buf_init(&text);
    util_manifest_set_init(&set);
    util_error_clear(&err);
    if (util_file_read(&text, path, LIMIT_MANIFEST_FILE, &err) != 0 ||
        util_manifest_parse(&set, path, text.data, text.len, 0, &err) != 0) {
        printf("FAIL %s: the test file does not parse\n", path);
        fflush(stdout);
        util_error_print(stdout, &err, text.data, text.len);
        tr->failed++;
        goto out;
    }
    if (set.count != 1 || !json_is_array(set.docs[0].value)) {
        printf("FAIL %s: a test file is one YAML list of cases\n", path);
        tr->failed++;
        goto out;
    }
    const json_t *cases = set.docs[0].value;
    for (size_t i = 0; i < json_array_size(cases); i++) {
        const json_t *c = json_array_get(cases, i);
        why w = {.len = 0};
        w.text[0] = '\0';
        char name[300];
        const char *n = util_json_str(c, "name");
        snprintf(name, sizeof(name), "%s", n ? n : "");
        if (!n)
            snprintf(name, sizeof(name), "case %zu", i + 1);
        bool ok = json_is_object(c) && run_case(tr, &tf, c, &w);
        if (!json_is_object(c))
            say(&w, "    a case is a map\n");
        if (ok) {
            tr->passed++;
            if (tr->verbose)
                printf("ok   %s: %s\n", path, name);
        } else {
            tr->failed++;
            printf("FAIL %s: %s\n%s", path, name, w.text);
        }
    }
out:
    pol_ruleset_decref(tf.rs);
    util_buf_release(&tf.rs_errors);
    util_manifest_set_release(&set);
    util_buf_release(&text);
}

int cli_test(int argc, char **argv)
{
    static const char *const suffixes[] = {".test.yaml", NULL};
    test_run tr;
    util_strv files = {0};
    util_error err;
    int rc = CLI_OK;
    memset(&tr, 0, sizeof(tr));
    util_error_clear(&err);
    size_t npaths = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            tr.verbose = true;
            continue;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: sealgate test [-v] [PATH]...\n"
                   "Runs the cases of *.test.yaml files (folders are searched); default: %s\n",
                   pol_default_rules_dir());
            return CLI_OK;
        }
        if (argv[i][0] == '-')
            return cli_usage("test", "unknown option '%s' (see --help)", argv[i]);
        npaths++;
        int r = util_path_is_dir(argv[i]) ? util_path_collect(&files, argv[i], suffixes, &err)
                                          : util_strv_push(&files, argv[i]);
        if (r != 0) {
            util_strv_free(&files);
            return cli_fail("test", &err, NULL, 0);
        }
    }
    if (npaths == 0 && util_path_collect(&files, pol_default_rules_dir(), suffixes, &err) != 0) {
        util_strv_free(&files);
        return cli_fail("test", &err, NULL, 0);
    }
    util_arena_init(&tr.arena, 64 * 1024);
    for (size_t i = 0; i < files.count; i++)
        run_file(&tr, files.items[i]);
    util_arena_release(&tr.arena);
    util_strv_free(&files);
    printf("%zu passed, %zu failed\n", tr.passed, tr.failed);
    if (tr.failed)
        rc = CLI_FINDING;
    return rc;
}
