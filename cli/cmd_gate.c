/* cmd_gate.c: `sealgate gate`, the push model: verify a commit of the config repo, run the rules
 * over the manifests of its tree, unseal its sealed Secrets and write ready-to-apply manifests,
 * all or nothing (docs/push-model.md). Nothing reaches stdout or --out until every object has
 * passed; plaintext Secrets go only to a pipe, a file or 0600 files. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <sodium.h>

#include "cli/cli.h"
#include "cli/push.h"
#include "util/banned.h"

static const char gate_help[] =
    "usage: sealgate gate --repo PATH [--rev REV] [--since COMMIT] --trust FILE...\n"
    "                     [--paths DIR...] [--rules PATH]... [--params FILE] [--key FILE]...\n"
    "                     [--mode enforce|warn|audit] [-o yaml|json] [--out DIR] [--force]\n"
    "                     [--keep-sealed]\n"
    "  --repo PATH       the config repository (a clone; its work tree is never read)\n"
    "  --rev REV         the revision to gate (default HEAD)\n"
    "  --since COMMIT    also verify every commit after COMMIT on the way to REV\n"
    "  --trust FILE...   allowed-signers files or armoured OpenPGP public keys\n"
    "  --paths DIR...    folders of manifests inside the repo (default: the whole tree)\n"
    "  --rules PATH...   rule files or pack folders (default: the bundled packs)\n"
    "  --params FILE     pack parameters, {PACK: {NAME: value}}\n"
    "  --key FILE...     sealing private keys, to unseal sealed Secrets\n"
    "  --mode MODE       enforce (default): deny rules block; warn, audit: they only report\n"
    "  -o yaml|json      multi-document YAML (default) or a JSON v1 List\n"
    "  --out DIR         one file per object under DIR (new or empty; Secrets 0600)\n"
    "  --force           write plaintext Secrets to a terminal\n"
    "  --keep-sealed     write sealed Secrets as committed (the cluster's /mutate unseals)\n"
    "exit 0: manifests written; 1: a refused signature, a denial or a value that does not\n"
    "unseal; 2: usage or input error. On any failure nothing is written.\n";

typedef struct gate_opts {
    cli_push_args push;
    const char *format, *out;
    bool json, force, keep_sealed;
} gate_opts;

/* One object of the output. */
typedef struct gate_obj {
    const prov_entry *e; /* borrowed from the index */
    json_t *manifest;    /* as committed: new reference (prov_entry_manifest) */
    int rank;            /* install order of its kind */
    json_t *doc;         /* what is written: new reference (plaintext for Secrets) */
    bool secret;         /* a v1 Secret: 0600, never to a terminal, wiped after use */
} gate_obj;

typedef struct gate_list {
    gate_obj *items;
    size_t count, cap;
} gate_list;

static int gate_parse(gate_opts *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val;
        int r = cli_push_arg(&o->push, argc, argv, &i);
        if (r < 0 || r == CLI_USAGE)
            return CLI_USAGE;
        if (r == 1)
            continue;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(gate_help, stdout);
            return -1;
        } else if (strcmp(a, "--force") == 0) {
            o->force = true;
        } else if (strcmp(a, "--keep-sealed") == 0) {
            o->keep_sealed = true;
        } else if (cli_push_opt(argc, argv, &i, "-o", &val) ||
                   cli_push_opt(argc, argv, &i, "--output", &val)) {
            if (!val || (strcmp(val, "yaml") != 0 && strcmp(val, "json") != 0))
                return cli_usage("gate", "-o takes yaml or json");
            o->json = strcmp(val, "json") == 0;
        } else if (cli_push_opt(argc, argv, &i, "--out", &val)) {
            if (!val)
                return cli_usage("gate", "--out needs a folder");
            o->out = val;
        } else {
            return cli_usage("gate", "unexpected argument '%s' (see --help)", a);
        }
    }
    return cli_push_args_check(&o->push);
}

/* Helm's install order: what others depend on first (a Namespace before what lives in it, a
 * CustomResourceDefinition before its resources). Unknown kinds come last. */
static int kind_rank(const char *kind)
{
    static const char *const order[] = {
        "Namespace",
        "NetworkPolicy",
        "ResourceQuota",
        "LimitRange",
        "PodSecurityPolicy",
        "PodDisruptionBudget",
        "ServiceAccount",
        "Secret",
        "ConfigMap",
        "StorageClass",
        "PersistentVolume",
        "PersistentVolumeClaim",
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Service",
        "DaemonSet",
        "Pod",
        "ReplicationController",
        "ReplicaSet",
        "Deployment",
        "HorizontalPodAutoscaler",
        "StatefulSet",
        "Job",
        "CronJob",
        "IngressClass",
        "Ingress",
        "APIService",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    };
    for (size_t i = 0; i < sizeof(order) / sizeof(*order); i++)
        if (strcmp(kind, order[i]) == 0)
            return (int)i;
    return (int)(sizeof(order) / sizeof(*order));
}

static int collect(void *ctx, const prov_entry *e)
{
    gate_list *l = ctx;
    if (util_grow(&l->items, &l->cap, l->count, sizeof(*l->items), 64) < 0)
        return UTIL_ENOMEM;
    l->items[l->count++] = (gate_obj){.e = e, .rank = kind_rank(e->kind)};
    return 0;
}

/* Install order, then the file, then the index's key order (stable for a given commit). */
static int cmp_obj(const void *pa, const void *pb)
{
    const gate_obj *a = pa, *b = pb;
    int r;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    if ((r = strcmp(a->e->path, b->e->path)) != 0)
        return r;
    if ((r = strcmp(a->e->group, b->e->group)) != 0 || (r = strcmp(a->e->kind, b->e->kind)) != 0 ||
        (r = strcmp(a->e->ns, b->e->ns)) != 0)
        return r;
    return strcmp(a->e->name, b->e->name);
}

static void gate_list_release(gate_list *l)
{
    for (size_t i = 0; i < l->count; i++) {
        json_decref(l->items[i].manifest);
        if (l->items[i].secret)
            seal_json_free_secret(l->items[i].doc);
        else
            json_decref(l->items[i].doc);
    }
    free(l->items);
}

static bool is_secret(const json_t *doc)
{
    const char *api = util_json_str(doc, "apiVersion"), *kind = util_json_str(doc, "kind");
    return api && kind && strcmp(api, "v1") == 0 && strcmp(kind, "Secret") == 0;
}

/* A Secret with sealed values but without the sealed label would reach the cluster as
 * ciphertext (/mutate only unseals labelled Secrets): name the first such item. */
static const char *unlabelled_sealed_item(const json_t *doc)
{
    static const char *const fields[] = {"stringData", "data"};
    for (size_t f = 0; f < 2; f++) {
        const char *key;
        json_t *v;
        json_object_foreach(json_object_get(doc, fields[f]), key, v)
        {
            const char *s = json_string_value(v);
            if (s && seal_value_is_sealed(s, json_string_length(v)))
                return key;
        }
    }
    return NULL;
}

/* Policy over one declared object: denials are failures, the rest goes to stderr. */
static int gate_policy(const cli_push *p, const gate_obj *o, util_arena *arena)
{
    util_error err;
    util_error_clear(&err);
    json_t *git = json_pack("{s:b, s:s, s:s?, s:O}", "managed", 1, "commit", p->hex, "signer",
                            *p->signer.signer ? p->signer.signer : NULL, "object", o->manifest);
    pol_result res;
    int rc = git ? cli_push_eval(&res, p, o->manifest, git, arena, &err)
                 : util_error_set(&err, UTIL_ENOMEM, "out of memory");
    json_decref(git);
    if (rc != 0) {
        fprintf(stderr, "sealgate gate: %s: %s\n", o->e->path, err.msg);
        return CLI_USAGE;
    }
    const char *what = cli_push_describe(arena, o->e->group, o->e->kind, o->e->ns, o->e->name);
    for (size_t i = 0; i < res.count; i++) {
        const pol_finding *f = &res.findings[i];
        fprintf(stderr, "%s: %s (%s) [%s]: %s\n", pol_action_name(f->action), what, o->e->path,
                f->rule_id, f->message);
    }
    return res.denies ? CLI_FINDING : 0;
}

/* The object as written: a sealed Secret unsealed, everything else as committed. */
static int gate_render(const gate_opts *opts, const cli_push *p, gate_obj *o)
{
    const json_t *m = o->manifest;
    o->secret = is_secret(m);
    if (!o->secret || !seal_secret_is_sealed(m)) {
        const char *item = o->secret ? unlabelled_sealed_item(m) : NULL;
        if (item) {
            fprintf(stderr,
                    "sealgate gate: Secret '%s' (%s): item '%s' is sealed but the Secret lacks "
                    "the label " SEAL_LABEL ": \"true\", so the cluster would get ciphertext\n",
                    o->e->name, o->e->path, item);
            return CLI_FINDING;
        }
        o->doc = json_incref((json_t *)m);
        return 0;
    }
    if (opts->keep_sealed) { /* ciphertext: an ordinary object */
        o->secret = false;
        o->doc = json_incref(o->manifest);
        return 0;
    }
    if (!p->keys) {
        fprintf(stderr,
                "sealgate gate: Secret '%s' (%s) is sealed: pass --key FILE to unseal it, or "
                "--keep-sealed to leave it to the cluster's /mutate\n",
                o->e->name, o->e->path);
        return CLI_USAGE;
    }
    util_error err;
    util_error_clear(&err);
    const char *ns = util_json_str(util_json_path(m, "metadata"), "namespace");
    if (seal_secret_unseal(&o->doc, m, p->keys, ns, &err) != 0) {
        o->doc = NULL;
        fprintf(stderr, "sealgate gate: Secret '%s' (%s): %s\n", o->e->name, o->e->path, err.msg);
        return err.code <= SEAL_ENOTSEALED && err.code >= SEAL_EVERSION ? CLI_FINDING : CLI_USAGE;
    }
    return 0;
}

static int render_one(util_buf *out, const json_t *doc, bool json)
{
    if (!json)
        return util_yaml_dump(out, doc);
    char *s = json_dumps(doc, JSON_INDENT(2));
    if (!s)
        return UTIL_ENOMEM;
    int rc = util_buf_puts(out, s);
    if (rc == 0)
        rc = util_buf_puts(out, "\n");
    sodium_memzero(s, strlen(s));
    free(s);
    return rc;
}

/* Everything into one buffer first: stdout sees all of it or nothing. */
static int gate_stdout(const gate_opts *o, const gate_list *l)
{
    bool secrets = false;
    for (size_t i = 0; i < l->count; i++)
        secrets |= l->items[i].secret;
    if (secrets && !o->force && isatty(STDOUT_FILENO)) {
        fprintf(stderr, "sealgate gate: refusing to write plaintext Secrets to a terminal (pipe "
                        "the output, use --out DIR, or --force)\n");
        return CLI_USAGE;
    }
    util_buf out;
    util_buf_init(&out);
    int rc = 0;
    if (o->json) {
        json_t *list = json_pack("{s:s, s:s, s:[]}", "apiVersion", "v1", "kind", "List", "items");
        json_t *items = json_object_get(list, "items");
        for (size_t i = 0; list && i < l->count; i++)
            if (json_array_append(items, l->items[i].doc) < 0)
                rc = UTIL_ENOMEM;
        rc = list && !rc ? render_one(&out, list, true) : UTIL_ENOMEM;
        /* The List holds references to the same (plaintext) strings; they are wiped when the
         * items are released. */
        json_decref(list);
    } else {
        for (size_t i = 0; rc == 0 && i < l->count; i++) {
            if (i > 0)
                rc = util_buf_puts(&out, "---\n");
            if (rc == 0)
                rc = render_one(&out, l->items[i].doc, false);
        }
    }
    if (rc != 0) {
        util_buf_release_secret(&out);
        fprintf(stderr, "sealgate gate: cannot render the output (out of memory)\n");
        return CLI_USAGE;
    }
    if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
        fprintf(stderr, "sealgate gate: cannot write to stdout: %s\n", strerror(errno));
        rc = CLI_USAGE;
    }
    util_buf_release_secret(&out);
    return rc;
}

/* A file name from a kind, namespace and name: what kubectl accepts, nothing else. */
static int name_part(util_buf *b, const char *sep, const char *s, bool lower)
{
    if (util_buf_puts(b, sep) != 0)
        return UTIL_ENOMEM;
    for (; *s; s++) {
        char c = *s;
        if (lower && c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_';
        if (util_buf_append(b, ok ? &c : "_", 1) != 0)
            return UTIL_ENOMEM;
    }
    return 0;
}

/* --out DIR must be new or empty: files left from an earlier run would be applied too. */
static int out_dir_ready(const char *dir)
{
    if (mkdir(dir, 0700) == 0)
        return 0;
    if (errno != EEXIST)
        return cli_usage("gate", "cannot make '%s': %s", dir, strerror(errno));
    DIR *d = opendir(dir);
    if (!d)
        return cli_usage("gate", "cannot open '%s': %s", dir, strerror(errno));
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            rc = cli_usage("gate", "--out '%s' is not empty", dir);
            break;
        }
    closedir(d);
    return rc;
}

/* One file per object, numbered in install order so `kubectl apply -f DIR` keeps it. On a
 * failure the files written so far are removed. */
static int gate_files(const gate_opts *o, const gate_list *l)
{
    int rc = out_dir_ready(o->out);
    if (rc != 0)
        return rc;
    util_buf path, text;
    util_buf_init(&path);
    util_buf_init(&text);
    size_t written = 0;
    for (size_t i = 0; rc == 0 && i < l->count; i++) {
        const gate_obj *g = &l->items[i];
        util_error err;
        util_error_clear(&err);
        path.len = 0;
        text.len = 0;
        if (util_buf_printf(&path, "%s/%04zu", o->out, i) != 0 ||
            name_part(&path, "-", g->e->kind, true) != 0 ||
            (*g->e->ns && name_part(&path, "-", g->e->ns, false) != 0) ||
            name_part(&path, "-", g->e->name, false) != 0 ||
            util_buf_puts(&path, o->json ? ".json" : ".yaml") != 0 ||
            render_one(&text, g->doc, o->json) != 0) {
            rc = cli_usage("gate", "out of memory");
            break;
        }
        if (util_file_write(path.data, text.data, text.len, g->secret ? 0600 : 0644, &err) != 0) {
            rc = cli_fail("gate", &err, NULL, 0);
            break;
        }
        /* Wipe what this object left in the reused buffer. */
        sodium_memzero(text.data, text.len);
        written++;
    }
    if (rc != 0 && written > 0) {
        /* The folder was new or empty, so everything in it is ours: all or nothing. */
        DIR *d = opendir(o->out);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            path.len = 0;
            if (util_buf_printf(&path, "%s/%s", o->out, de->d_name) == 0)
                unlink(path.data);
        }
        if (d)
            closedir(d);
    }
    util_buf_release(&path);
    util_buf_release_secret(&text);
    if (rc == 0)
        fprintf(stderr, "sealgate gate: wrote %zu files to '%s'\n", written, o->out);
    return rc;
}

static int gate_run(const gate_opts *o, const cli_push *p)
{
    gate_list l = {0};
    util_arena arena;
    util_arena_init(&arena, 64 * 1024);
    int rc = 0;
    if (prov_index_foreach(p->index, collect, &l) != 0) {
        rc = cli_usage("gate", "out of memory");
        goto out;
    }
    qsort(l.items, l.count, sizeof(*l.items), cmp_obj);
    size_t secrets = 0, failed = 0;
    for (size_t i = 0; i < l.count; i++) {
        util_error err;
        util_error_clear(&err);
        if (!(l.items[i].manifest = prov_entry_manifest(l.items[i].e, &err))) {
            fprintf(stderr, "sealgate gate: %s: %s\n", l.items[i].e->path, err.msg);
            rc = CLI_USAGE;
            failed++;
            continue;
        }
        int r = gate_policy(p, &l.items[i], &arena);
        int s = gate_render(o, p, &l.items[i]);
        r = s > r ? s : r;
        rc = r > rc ? r : rc;
        failed += r != 0;
        secrets += l.items[i].secret;
        util_arena_reset(&arena);
    }
    if (rc != 0) {
        fprintf(stderr,
                "sealgate gate: commit %.12s: %zu of %zu objects refused; nothing written\n",
                p->hex, failed, l.count);
        goto out;
    }
    rc = o->out ? gate_files(o, &l) : gate_stdout(o, &l);
    if (rc == 0)
        fprintf(stderr, "sealgate gate: commit %.12s signed by %s: %zu objects (%zu Secrets)\n",
                p->hex, p->signer.signer, l.count, secrets);
out:
    gate_list_release(&l);
    util_arena_release(&arena);
    return rc;
}

int cli_gate(int argc, char **argv)
{
    gate_opts o;
    memset(&o, 0, sizeof(o));
    if (cli_push_args_init(&o.push, "gate", argc) != 0)
        return CLI_USAGE;
    int rc = gate_parse(&o, argc, argv);
    if (rc != 0) {
        cli_push_args_release(&o.push);
        return rc < 0 ? CLI_OK : rc;
    }
    cli_push p;
    rc = cli_push_open(&p, &o.push);
    if (rc == 0) {
        rc = gate_run(&o, &p);
        cli_push_close(&p);
    }
    cli_push_args_release(&o.push);
    return rc;
}
