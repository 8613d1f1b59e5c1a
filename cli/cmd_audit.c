/* cmd_audit.c: `sealgate audit`: policy findings and drift for objects that already run (what
 * `kubectl get <kinds> -A -o json` prints) against the verified commit of the config repo.
 * Provenance is judged by prov_match, the webhook's own code, as if each object were being
 * updated now; so a report line reads as the webhook's answer would (docs/push-model.md). */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/push.h"
#include "util/limits.h"
#include "util/banned.h"

static const char audit_help[] =
    "usage: sealgate audit --repo PATH [--rev REV] [--since COMMIT] --trust FILE...\n"
    "                      [--paths DIR...] [--rules PATH]... [--params FILE] [--key FILE]...\n"
    "                      [--ignore KIND:PATH]... [--mode enforce|warn|audit]\n"
    "                      -f LIST.json|DIR|- [-o text|json] [-v]\n"
    "  -f LIST|DIR|-     what `kubectl get <kinds> -A -o json` prints (a List), a folder of\n"
    "                    such files, or - for stdin\n"
    "  --ignore KIND:PATH  a field never compared, e.g. Deployment:spec.replicas (KIND may be\n"
    "                    empty or *: every kind)\n"
    "  --key FILE...     sealing private keys: git's sealed Secrets are compared unsealed;\n"
    "                    without keys they are skipped\n"
    "  -o text|json      the report's format (default text)\n"
    "  -v                text: also list the objects that match\n"
    "  (--repo, --rev, --since, --trust, --paths, --rules, --params, --mode: as for gate)\n"
    "exit 0: everything matches git and passes the rules; 1: drift or a denial; 2: usage or\n"
    "input error\n";

typedef struct audit_opts {
    cli_push_args push;
    const char **ignore_specs;
    size_t nignore;
    prov_ignore *ignore; /* parsed from ignore_specs; kind points into argv or is NULL */
    char **ignore_kinds; /* owned copies of the KIND parts */
    const char *input;
    bool json, verbose;
} audit_opts;

/* Provenance status of one object, as the report names it. */
typedef enum {
    ST_MATCH,
    ST_DIFFERS,
    ST_NOT_IN_GIT,
    ST_MISSING,
    ST_UNMANAGED,
    ST_SKIPPED,
    ST_ERROR,
    ST_COUNT
} audit_status;

static const char *const status_names[ST_COUNT] = {"match",     "differs", "not-in-git", "missing",
                                                   "unmanaged", "skipped", "error"};

typedef struct audit_state {
    const audit_opts *o;
    const cli_push *p;
    prov_match_options match;
    util_arena arena;
    size_t counts[ST_COUNT];
    size_t denies, warns, audits;
    const prov_entry **seen; /* entries a live object matched by key */
    size_t nseen;
    char **kinds_seen; /* "group/kind" of every live object, sorted, unique after sort */
    size_t nkinds;
    json_t *report; /* -o json: the objects array */
    util_buf text;  /* -o text: the lines, printed at the end */
} audit_state;

static int audit_parse(audit_opts *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val;
        int r = cli_push_arg(&o->push, argc, argv, &i);
        if (r == CLI_USAGE)
            return CLI_USAGE;
        if (r == 1)
            continue;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(audit_help, stdout);
            return -1;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            o->verbose = true;
        } else if (cli_push_opt(argc, argv, &i, "-o", &val) ||
                   cli_push_opt(argc, argv, &i, "--output", &val)) {
            if (!val || (strcmp(val, "text") != 0 && strcmp(val, "json") != 0))
                return cli_usage("audit", "-o takes text or json");
            o->json = strcmp(val, "json") == 0;
        } else if (cli_push_opt(argc, argv, &i, "-f", &val) ||
                   cli_push_opt(argc, argv, &i, "--filename", &val)) {
            if (!val)
                return cli_usage("audit", "-f needs a file, a folder or -");
            o->input = val;
        } else if (cli_push_opt(argc, argv, &i, "--ignore", &val)) {
            if (!val || !strchr(val, ':') || !strchr(val, ':')[1])
                return cli_usage("audit",
                                 "--ignore takes KIND:PATH, e.g. Deployment:spec.replicas");
            o->ignore_specs[o->nignore++] = val;
        } else {
            return cli_usage("audit", "unexpected argument '%s' (see --help)", a);
        }
    }
    if (!o->input)
        return cli_usage("audit", "-f LIST.json|DIR|- is required (what `kubectl get <kinds> -A "
                                  "-o json` prints)");
    return cli_push_args_check(&o->push);
}

static int audit_ignores(audit_opts *o)
{
    o->ignore = calloc(o->nignore + 1, sizeof(*o->ignore));
    o->ignore_kinds = calloc(o->nignore + 1, sizeof(*o->ignore_kinds));
    if (!o->ignore || !o->ignore_kinds)
        return cli_usage("audit", "out of memory");
    for (size_t i = 0; i < o->nignore; i++) {
        const char *s = o->ignore_specs[i], *colon = strchr(s, ':');
        size_t klen = (size_t)(colon - s);
        if (klen && !(klen == 1 && s[0] == '*')) {
            o->ignore_kinds[i] = strndup(s, klen);
            if (!o->ignore_kinds[i])
                return cli_usage("audit", "out of memory");
        }
        o->ignore[i] = (prov_ignore){.kind = o->ignore_kinds[i], .path = colon + 1};
    }
    return 0;
}

static void audit_opts_release(audit_opts *o)
{
    for (size_t i = 0; o->ignore_kinds && i < o->nignore; i++)
        free(o->ignore_kinds[i]);
    free(o->ignore_kinds);
    free(o->ignore);
    free(o->ignore_specs);
    cli_push_args_release(&o->push);
}

/* ---- the live objects ---------------------------------------------------------------------- */

static int read_one(util_manifest_set *set, const char *path)
{
    util_buf text;
    util_error err;
    util_buf_init(&text);
    util_error_clear(&err);
    const char *source = strcmp(path, "-") == 0 ? "<stdin>" : path;
    int rc = util_file_read(&text, path, LIMIT_MANIFEST_FILE, &err);
    if (rc == 0)
        rc =
            util_manifest_parse(set, source, text.data, text.len, UTIL_MANIFEST_EXPAND_LISTS, &err);
    if (rc != 0)
        cli_fail("audit", &err, text.data, text.len);
    /* Live Secrets hold plaintext (base64 under data). */
    util_buf_release_secret(&text);
    return rc ? CLI_USAGE : 0;
}

static int read_live(util_manifest_set *set, const char *input)
{
    if (strcmp(input, "-") == 0 || !util_path_is_dir(input))
        return read_one(set, input);
    static const char *const suffixes[] = {".json", ".yaml", ".yml", NULL};
    util_strv files = {0};
    util_error err;
    util_error_clear(&err);
    int rc = 0;
    if (util_path_collect(&files, input, suffixes, &err) != 0)
        rc = cli_fail("audit", &err, NULL, 0);
    for (size_t i = 0; rc == 0 && i < files.count; i++)
        rc = read_one(set, files.items[i]);
    util_strv_free(&files);
    return rc;
}

/* ---- reporting ----------------------------------------------------------------------------- */

typedef struct obj_key {
    const char *group, *version, *kind, *ns, *name;
} obj_key;

/* Key of a live object; false when it is not a Kubernetes object. group and version point
 * into arena memory. */
static bool live_key(obj_key *k, const json_t *obj, util_arena *arena)
{
    const char *api = util_json_str(obj, "apiVersion");
    const json_t *meta = json_object_get(obj, "metadata");
    k->kind = util_json_str(obj, "kind");
    k->name = util_json_str(meta, "name");
    k->ns = util_json_str(meta, "namespace");
    if (!api || !k->kind || !*k->kind || !k->name || !*k->name)
        return false;
    const char *slash = strrchr(api, '/');
    k->group = slash ? util_arena_strndup(arena, api, (size_t)(slash - api)) : "";
    k->version = slash ? slash + 1 : api;
    if (!k->group)
        return false;
    if (!k->ns || prov_kind_is_cluster_scoped(k->group, k->kind))
        k->ns = "";
    return true;
}

/* One report entry. message may be NULL. */
static int report(audit_state *s, audit_status st, const obj_key *k, const char *message,
                  const char *field, const pol_result *pol)
{
    s->counts[st]++;
    if (s->o->json) {
        json_t *findings = json_array(),
               *obj = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?}", "group", k->group, "kind",
                                k->kind, "namespace", k->ns, "name", k->name, "provenance",
                                status_names[st], "message", message, "field", field);
        for (size_t i = 0; pol && findings && i < pol->count; i++) {
            const pol_finding *f = &pol->findings[i];
            json_array_append_new(findings,
                                  json_pack("{s:s, s:s, s:s, s:s}", "rule", f->rule_id, "action",
                                            pol_action_name(f->action), "message", f->message,
                                            "path", f->path ? f->path : ""));
        }
        if (!obj || !findings || json_object_set_new(obj, "findings", findings) < 0 ||
            json_array_append_new(s->report, obj) < 0)
            return UTIL_ENOMEM;
        return 0;
    }
    const char *what = cli_push_describe(&s->arena, k->group, k->kind, k->ns, k->name);
    int rc = 0;
    bool show = st != ST_MATCH && st != ST_UNMANAGED;
    if (show || s->o->verbose)
        rc = util_buf_printf(&s->text, "%-11s %s\n", status_names[st], message ? message : what);
    for (size_t i = 0; rc == 0 && pol && i < pol->count; i++) {
        const pol_finding *f = &pol->findings[i];
        rc = util_buf_printf(&s->text, "%-11s %s [%s]: %s\n", pol_action_name(f->action), what,
                             f->rule_id, f->message);
    }
    return rc;
}

static void count_findings(audit_state *s, const pol_result *r)
{
    s->denies += r->denies;
    s->warns += r->warns;
    s->audits += r->audits;
}

/* A synthetic AdmissionReview request: an UPDATE of obj to what it is now, by the user
 * AUDIT_USER. Provenance and the rules both see this one request, so a live object is judged
 * as /validate would judge it, never as a manifest from git: a live sealed Secret holds the
 * plaintext /mutate put there, which the secrets pack expects at admission and refuses
 * offline (rules/README.md). */
#define AUDIT_USER "sealgate:audit"
static json_t *audit_request(const obj_key *k, const json_t *obj)
{
    return json_pack("{s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:{s:s}, s:O}", "operation", "UPDATE",
                     "kind", "group", k->group, "version", k->version, "kind", k->kind, "namespace",
                     k->ns, "name", k->name, "userInfo", "username", AUDIT_USER, "object", obj);
}

/* The rules over a live object, with the same request as provenance (not cli_push_eval's
 * CREATE by nobody, which is how a manifest from git is judged). */
static int audit_eval(pol_result *out, audit_state *s, const obj_key *k, const json_t *obj,
                      const json_t *git, util_error *err)
{
    json_t *req = audit_request(k, obj);
    if (!req)
        return util_error_set(err, UTIL_ENOMEM, "out of memory");
    pol_input in = {.object = obj, .old_object = obj, .request = req, .git = git};
    int rc = pol_eval(out, s->p->rules, &in, s->p->mode, &s->arena, err);
    json_decref(req);
    return rc;
}

static bool is_sealed_secret(const prov_entry *e)
{
    if (!e || *e->group || strcmp(e->kind, "Secret") != 0)
        return false;
    json_t *m = prov_entry_manifest(e, NULL);
    bool sealed = m && seal_secret_is_sealed(m);
    json_decref(m);
    return sealed;
}

/* Judge one live object: provenance by prov_match, policy by the rules. */
static int audit_object(audit_state *s, const json_t *obj)
{
    obj_key k;
    util_error err;
    util_error_clear(&err);
    if (!live_key(&k, obj, &s->arena))
        return 0;
    const prov_entry *e = prov_index_find(s->p->index, k.group, k.kind, k.ns, k.name);
    if (e)
        s->seen[s->nseen++] = e;
    audit_status st;
    const char *message = NULL, *field = NULL;
    json_t *git = NULL;
    if (is_sealed_secret(e) && !s->p->keys) {
        st = ST_SKIPPED;
        message = util_arena_printf(&s->arena, "%s: sealed in git; compared only with --key",
                                    cli_push_describe(&s->arena, k.group, k.kind, k.ns, k.name));
    } else {
        json_t *req = audit_request(&k, obj);
        prov_verdict v;
        if (!req)
            return util_error_set(&err, UTIL_ENOMEM, "out of memory");
        int rc = prov_match(&v, s->p->index, &s->match, req, &s->arena, &err);
        json_decref(req);
        if (rc != 0) {
            json_decref(v.git); /* set before the comparison failed */
            st = ST_ERROR;
            message = util_arena_printf(&s->arena, "%s: %s",
                                        cli_push_describe(&s->arena, k.group, k.kind, k.ns, k.name),
                                        err.msg);
        } else {
            git = v.git;
            message = v.message;
            st = v.result == PROV_RESULT_MATCH        ? ST_MATCH
                 : v.result == PROV_RESULT_DIFFERS    ? ST_DIFFERS
                 : v.result == PROV_RESULT_NOT_IN_GIT ? ST_NOT_IN_GIT
                                                      : ST_UNMANAGED;
        }
        if (st == ST_DIFFERS && s->o->json) { /* the field, for machines */
            prov_difference d;
            json_t *m = prov_entry_manifest(e, &err);
            if (m && prov_diff(&d, m, obj, &s->match.diff, &s->arena, &err) == 0 && d.differs)
                field = d.path;
            json_decref(m);
        }
    }
    pol_result pol;
    int rc = audit_eval(&pol, s, &k, obj, git, &err);
    json_decref(git);
    if (rc != 0) {
        fprintf(stderr, "sealgate audit: %s: %s\n",
                cli_push_describe(&s->arena, k.group, k.kind, k.ns, k.name), err.msg);
        return rc;
    }
    count_findings(s, &pol);
    return report(s, st, &k, message, field, &pol);
}

static int cmp_ptr(const void *a, const void *b)
{
    const void *x = *(const void *const *)a, *y = *(const void *const *)b;
    return x < y ? -1 : x > y;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool kind_seen(const audit_state *s, const char *group, const char *kind)
{
    char key[512];
    snprintf(key, sizeof(key), "%s/%s", group, kind);
    const char *kp = key;
    return bsearch(&kp, s->kinds_seen, s->nkinds, sizeof(char *), cmp_str) != NULL;
}

typedef struct missing_ctx {
    audit_state *s;
    util_strv unchecked; /* "group/kind" git declares that the input holds none of */
} missing_ctx;

/* Objects git declares that no live object matched. Only kinds the input holds are judged: a
 * kind the input lacks was not asked of the cluster (`kubectl get` names its kinds). */
static int missing_cb(void *ctx, const prov_entry *e)
{
    missing_ctx *m = ctx;
    audit_state *s = m->s;
    if (bsearch(&e, s->seen, s->nseen, sizeof(*s->seen), cmp_ptr))
        return 0;
    if (!kind_seen(s, e->group, e->kind)) {
        char key[512];
        snprintf(key, sizeof(key), "%s%s%s", e->group, *e->group ? "/" : "", e->kind);
        for (size_t i = 0; i < m->unchecked.count; i++)
            if (strcmp(m->unchecked.items[i], key) == 0)
                return 0;
        return util_strv_push(&m->unchecked, key);
    }
    obj_key k = {e->group, "", e->kind, e->ns, e->name};
    const char *msg =
        util_arena_printf(&s->arena, "%s is declared in git ('%s') at %.7s but not in the cluster",
                          cli_push_describe(&s->arena, e->group, e->kind, e->ns, e->name), e->path,
                          prov_index_commit(s->p->index));
    int rc = report(s, ST_MISSING, &k, msg, NULL, NULL);
    util_arena_reset(&s->arena);
    return rc;
}

static int record_kinds(audit_state *s, const util_manifest_set *live)
{
    s->kinds_seen = calloc(live->count + 1, sizeof(char *));
    if (!s->kinds_seen)
        return UTIL_ENOMEM;
    for (size_t i = 0; i < live->count; i++) {
        const json_t *obj = live->docs[i].value;
        const char *api = util_json_str(obj, "apiVersion"), *kind = util_json_str(obj, "kind");
        if (!api || !kind)
            continue;
        const char *slash = strrchr(api, '/');
        int glen = slash ? (int)(slash - api) : 0;
        char key[512];
        snprintf(key, sizeof(key), "%.*s/%s", glen, api, kind);
        if (s->nkinds && strcmp(s->kinds_seen[s->nkinds - 1], key) == 0)
            continue; /* Lists hold runs of one kind */
        if (!(s->kinds_seen[s->nkinds++] = strdup(key)))
            return UTIL_ENOMEM;
    }
    qsort(s->kinds_seen, s->nkinds, sizeof(char *), cmp_str);
    return 0;
}

static int audit_finish(audit_state *s, const missing_ctx *m)
{
    const cli_push *p = s->p;
    size_t total = 0;
    for (int i = 0; i < ST_COUNT; i++)
        total += s->counts[i];
    bool bad =
        s->counts[ST_DIFFERS] || s->counts[ST_NOT_IN_GIT] || s->counts[ST_MISSING] || s->denies;
    if (s->o->json) {
        json_t *unchecked = json_array();
        for (size_t i = 0; unchecked && i < m->unchecked.count; i++)
            json_array_append_new(unchecked, json_string(m->unchecked.items[i]));
        json_t *doc = json_pack(
            "{s:s, s:s, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:o, s:O}",
            "commit", p->hex, "signer", p->signer.signer, "summary", "objects", (json_int_t)total,
            "match", (json_int_t)s->counts[ST_MATCH], "differs", (json_int_t)s->counts[ST_DIFFERS],
            "notInGit", (json_int_t)s->counts[ST_NOT_IN_GIT], "missing",
            (json_int_t)s->counts[ST_MISSING], "unmanaged", (json_int_t)s->counts[ST_UNMANAGED],
            "skipped", (json_int_t)s->counts[ST_SKIPPED], "errors", (json_int_t)s->counts[ST_ERROR],
            "deny", (json_int_t)s->denies, "warn", (json_int_t)s->warns, "audit",
            (json_int_t)s->audits, "uncheckedKinds", unchecked, "objects", s->report);
        if (!doc || json_dumpf(doc, stdout, JSON_INDENT(2)) != 0) {
            json_decref(doc);
            return cli_usage("audit", "cannot write the report");
        }
        fputc('\n', stdout);
        json_decref(doc);
    } else {
        if (s->text.len)
            fwrite(s->text.data, 1, s->text.len, stdout);
        if (m->unchecked.count) {
            printf("not compared: git declares");
            for (size_t i = 0; i < m->unchecked.count; i++)
                printf("%s %s", i ? "," : "", m->unchecked.items[i]);
            printf(" but the input holds none (add them to `kubectl get`)\n");
        }
        printf("audit of commit %.12s signed by %s: %zu objects: %zu match, %zu differ, %zu not in "
               "git, %zu missing, %zu unmanaged, %zu skipped, %zu errors; policy: %zu deny, %zu "
               "warn, %zu audit\n",
               p->hex, p->signer.signer, total, s->counts[ST_MATCH], s->counts[ST_DIFFERS],
               s->counts[ST_NOT_IN_GIT], s->counts[ST_MISSING], s->counts[ST_UNMANAGED],
               s->counts[ST_SKIPPED], s->counts[ST_ERROR], s->denies, s->warns, s->audits);
    }
    if (fflush(stdout) != 0)
        return cli_usage("audit", "cannot write the report");
    if (s->counts[ST_ERROR])
        return CLI_USAGE;
    return bad ? CLI_FINDING : CLI_OK;
}

static int audit_run(const audit_opts *o, const cli_push *p, const util_manifest_set *live)
{
    audit_state s;
    memset(&s, 0, sizeof(s));
    s.o = o;
    s.p = p;
    s.match.mode = PROV_MODE_ENFORCE;
    s.match.diff.ignore = o->ignore;
    s.match.diff.ignore_count = o->nignore;
    s.match.diff.keys = p->keys;
    util_arena_init(&s.arena, 64 * 1024);
    util_buf_init(&s.text);
    missing_ctx m = {&s, {0}};
    int rc = 0;
    s.seen = calloc(live->count + 1, sizeof(*s.seen));
    s.report = json_array();
    if (!s.seen || !s.report || record_kinds(&s, live) != 0) {
        rc = cli_usage("audit", "out of memory");
        goto out;
    }
    for (size_t i = 0; rc == 0 && i < live->count; i++) {
        rc = audit_object(&s, live->docs[i].value);
        util_arena_reset(&s.arena);
    }
    if (rc == 0) {
        qsort(s.seen, s.nseen, sizeof(*s.seen), cmp_ptr);
        rc = prov_index_foreach(p->index, missing_cb, &m);
    }
    if (rc != 0) {
        rc = cli_usage("audit", "out of memory");
        goto out;
    }
    rc = audit_finish(&s, &m);
out:
    util_strv_free(&m.unchecked);
    for (size_t i = 0; i < s.nkinds; i++)
        free(s.kinds_seen[i]);
    free(s.kinds_seen);
    free(s.seen);
    json_decref(s.report);
    util_buf_release(&s.text);
    util_arena_release(&s.arena);
    return rc;
}

int cli_audit(int argc, char **argv)
{
    audit_opts o;
    memset(&o, 0, sizeof(o));
    if (cli_push_args_init(&o.push, "audit", argc) != 0)
        return CLI_USAGE;
    o.ignore_specs = calloc((size_t)argc + 1, sizeof(*o.ignore_specs));
    int rc = o.ignore_specs ? audit_parse(&o, argc, argv) : cli_usage("audit", "out of memory");
    if (rc == 0)
        rc = audit_ignores(&o);
    if (rc != 0) {
        audit_opts_release(&o);
        return rc < 0 ? CLI_OK : rc;
    }
    util_manifest_set live;
    util_manifest_set_init(&live);
    /* The input first: it is the cheapest thing to get wrong. */
    rc = read_live(&live, o.input);
    cli_push p;
    if (rc == 0 && (rc = cli_push_open(&p, &o.push)) == 0) {
        rc = audit_run(&o, &p, &live);
        cli_push_close(&p);
    }
    for (size_t i = 0; i < live.count; i++)
        seal_json_wipe(live.docs[i].value);
    util_manifest_set_release(&live);
    audit_opts_release(&o);
    return rc;
}
