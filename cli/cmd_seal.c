/* cmd_seal.c: `sealgate seal`: a Secret in, the sealed Secret out (or one value with --raw,
 * or items merged into an existing sealed Secret with --merge-into). Also the input and
 * output helpers the other sealing verbs share (cli.h). Format: docs/sealing.md. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli/cli.h"
#include "crypto/seal.h"
#include "util/limits.h"
#include "util/banned.h"

int cli_seal__read(cli_seal_input *in, const char *path, util_error *err)
{
    util_buf_init(&in->text);
    util_manifest_set_init(&in->set);
    in->source = strcmp(path, "-") == 0 ? "<stdin>" : path;
    in->json = 0;
    int rc = util_file_read(&in->text, path, LIMIT_MANIFEST_FILE, err);
    if (rc)
        return rc;
    size_t i = 0;
    while (i < in->text.len && strchr(" \t\r\n", in->text.data[i]))
        i++;
    in->json = i < in->text.len && in->text.data[i] == '{';
    return util_manifest_parse(&in->set, in->source, in->text.data, in->text.len,
                               UTIL_MANIFEST_EXPAND_LISTS, err);
}

void cli_seal__release(cli_seal_input *in)
{
    for (size_t i = 0; i < in->set.count; i++)
        seal_json_wipe(in->set.docs[i].value);
    util_manifest_set_release(&in->set);
    util_buf_release_secret(&in->text);
}

int cli_seal__emit(json_t *const *docs, size_t n, int json, util_error *err)
{
    util_buf out;
    util_buf_init(&out);
    int rc = 0;
    if (json) {
        json_t *list = NULL;
        const json_t *v = n == 1 ? docs[0] : NULL;
        if (n != 1) {
            list = json_pack("{s:s, s:s, s:[]}", "apiVersion", "v1", "kind", "List", "items");
            for (size_t i = 0; list && i < n; i++)
                json_array_append(json_object_get(list, "items"), docs[i]);
            v = list;
        }
        char *s = v ? json_dumps(v, JSON_INDENT(2)) : NULL;
        if (!s || util_buf_puts(&out, s) || util_buf_puts(&out, "\n"))
            rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
        if (s) {
            sodium_memzero(s, strlen(s));
            free(s);
        }
        json_decref(list);
    } else {
        for (size_t i = 0; !rc && i < n; i++) {
            if (i > 0 && util_buf_puts(&out, "---\n"))
                rc = UTIL_ENOMEM;
            if (!rc)
                rc = util_yaml_dump(&out, docs[i]);
        }
        if (rc)
            rc = util_error_set(err, rc, "cannot write the output as YAML");
    }
    if (!rc && (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0))
        rc = util_error_set(err, UTIL_EIO, "cannot write to stdout");
    util_buf_release_secret(&out);
    return rc;
}

int cli_seal__format(int *json, const char *opt, const cli_seal_input *in)
{
    if (!opt) {
        *json = in ? in->json : 0;
        return 1;
    }
    if (strcmp(opt, "json") == 0)
        *json = 1;
    else if (strcmp(opt, "yaml") == 0)
        *json = 0;
    else
        return 0;
    return 1;
}

int cli_seal__opt(int argc, char **argv, int *i, const char *name, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    *val = *i + 1 < argc ? argv[++*i] : NULL;
    return 1;
}

void cli_seal__at_doc(util_error *err, const cli_seal_input *in, const util_manifest_doc *d)
{
    if (err->source)
        return;
    err->source = in->source;
    err->line = d->line;
    err->col = 1;
}

int cli_seal__fail(const char *verb, const util_error *err)
{
    cli_fail(verb, err, NULL, 0);
    switch (err->code) {
    case SEAL_ENOTSEALED:
    case SEAL_ETRUNCATED:
    case SEAL_EUNKNOWNKEY:
    case SEAL_ESCOPE:
    case SEAL_ETAMPERED:
    case SEAL_EDIGEST:
    case SEAL_EVERSION:
        return CLI_FINDING;
    default:
        return CLI_USAGE;
    }
}

static int cli_seal_help(void)
{
    printf("usage: sealgate seal --pub FILE|- [--scope strict|namespace|cluster] [-f FILE|-]\n"
           "                     [-o yaml|json] [--namespace NS] [--merge-into FILE]\n"
           "       sealgate seal --pub FILE|- --raw --namespace NS --name NAME [--key ITEM]\n"
           "                     [--scope S] [-f FILE|-]\n"
           "Seals every item of a Secret (YAML or JSON, data and stringData) to the public key,\n"
           "or with --raw one value (the bytes of the input) to one sealed string. Scope, name\n"
           "and namespace come from the Secret; see docs/sealing.md.\n");
    return CLI_OK;
}

typedef struct cli_seal_opts {
    const char *pub, *scope, *file, *format, *ns, *merge, *name, *key;
    int raw;
} cli_seal_opts;

static int cli_seal_parse(cli_seal_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    o->file = "-";
    for (int i = 1; i < argc; i++) {
        const char **slot = NULL, *v = NULL;
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return -1;
        if (strcmp(a, "--raw") == 0) {
            o->raw = 1;
            continue;
        }
        if (cli_seal__opt(argc, argv, &i, "--pub", &v))
            slot = &o->pub;
        else if (cli_seal__opt(argc, argv, &i, "--scope", &v))
            slot = &o->scope;
        else if (cli_seal__opt(argc, argv, &i, "-f", &v) ||
                 cli_seal__opt(argc, argv, &i, "--file", &v))
            slot = &o->file;
        else if (cli_seal__opt(argc, argv, &i, "-o", &v) ||
                 cli_seal__opt(argc, argv, &i, "--output", &v))
            slot = &o->format;
        else if (cli_seal__opt(argc, argv, &i, "--namespace", &v) ||
                 cli_seal__opt(argc, argv, &i, "-n", &v))
            slot = &o->ns;
        else if (cli_seal__opt(argc, argv, &i, "--merge-into", &v))
            slot = &o->merge;
        else if (cli_seal__opt(argc, argv, &i, "--name", &v))
            slot = &o->name;
        else if (cli_seal__opt(argc, argv, &i, "--key", &v))
            slot = &o->key;
        else
            return cli_usage("seal", "unknown option '%s' (see 'sealgate seal --help')", a);
        if (!v)
            return cli_usage("seal", "option '%s' needs a value", a);
        *slot = v;
    }
    if (!o->pub)
        return cli_usage("seal", "--pub FILE is required (the public key to seal to)");
    if (strcmp(o->pub, "-") == 0 && strcmp(o->file, "-") == 0)
        return cli_usage("seal", "--pub - and the input both read stdin: give -f FILE");
    return 0;
}

/* --raw: the bytes of the input, sealed to one string on stdout. */
static int cli_seal_raw(const cli_seal_opts *o, const seal_pubkey *pub, seal_scope scope)
{
    util_error err = {0};
    util_buf in, out;
    util_buf_init(&in);
    util_buf_init(&out);
    if (scope == SEAL_SCOPE_UNSET)
        scope = SEAL_SCOPE_STRICT;
    if (scope != SEAL_SCOPE_CLUSTER && !o->ns)
        return cli_usage("seal", "--raw with scope %s needs --namespace", seal_scope_name(scope));
    if (scope == SEAL_SCOPE_STRICT && (!o->name || !o->key))
        return cli_usage("seal", "--raw with scope strict needs --name and --key (the item)");
    int rc = util_file_read(&in, o->file, LIMIT_SEALED_VALUE, &err);
    if (!rc)
        rc = seal_value_seal(&out, pub, scope, o->ns, o->name, o->key, in.data, in.len, &err);
    util_buf_release_secret(&in);
    if (rc) {
        util_buf_release(&out);
        return cli_seal__fail("seal", &err);
    }
    printf("%s\n", out.data);
    util_buf_release(&out);
    return CLI_OK;
}

/* Set err's position to the document, so messages read "file:line: item 'x': ...". */
static void cli_seal_at(util_error *err, const cli_seal_input *in, const util_manifest_doc *d)
{
    if (!err->source) {
        err->source = in->source;
        err->line = d->line;
        err->col = 1;
    }
}

static int cli_seal_merge(const cli_seal_opts *o, const seal_pubkey *pub, const cli_seal_input *in)
{
    util_error err = {0};
    cli_seal_input target;
    json_t *merged = NULL;
    util_buf out;
    util_buf_init(&out);
    if (in->set.count != 1)
        return cli_usage("seal", "--merge-into takes one Secret as input, not %zu documents",
                         in->set.count);
    int rc = cli_seal__read(&target, o->merge, &err);
    if (!rc && target.set.count != 1)
        rc = util_error_set(&err, UTIL_EINVALID, "'%s' holds %zu documents, not one sealed Secret",
                            o->merge, target.set.count);
    if (!rc && !seal_secret_is_sealed(target.set.docs[0].value))
        rc = util_error_set(&err, UTIL_EINVALID, "'%s' is not a sealed Secret (no label %s)",
                            o->merge, SEAL_LABEL);
    if (!rc)
        rc = seal_secret_merge(&merged, target.set.docs[0].value, in->set.docs[0].value, pub, &err);
    if (!rc) {
        if (target.json) {
            char *s = json_dumps(merged, JSON_INDENT(2));
            rc = !s || util_buf_puts(&out, s) || util_buf_puts(&out, "\n");
            free(s);
        } else {
            rc = util_yaml_dump(&out, merged);
        }
        if (rc)
            rc = util_error_set(&err, UTIL_ENOMEM, "cannot render '%s'", o->merge);
    }
    if (!rc)
        rc = util_file_write(o->merge, out.data, out.len, 0644, &err);
    json_decref(merged);
    util_buf_release(&out);
    cli_seal__release(&target);
    if (rc)
        return cli_seal__fail("seal", &err);
    fprintf(stderr, "sealgate seal: merged into '%s'\n", o->merge);
    return CLI_OK;
}

int cli_seal(int argc, char **argv)
{
    cli_seal_opts o;
    int rc = cli_seal_parse(&o, argc, argv);
    if (rc)
        return rc < 0 ? cli_seal_help() : rc;
    seal_scope scope = SEAL_SCOPE_UNSET;
    if (o.scope && !seal_scope_parse(&scope, o.scope))
        return cli_usage("seal", "--scope '%s': expected strict, namespace or cluster", o.scope);
    int json;
    if (!cli_seal__format(&json, o.format, NULL))
        return cli_usage("seal", "-o '%s': expected yaml or json", o.format);
    util_error err = {0};
    seal_pubkey pub;
    if (seal_pubkey_load(&pub, o.pub, &err))
        return cli_seal__fail("seal", &err);
    if (o.raw)
        return cli_seal_raw(&o, &pub, scope);

    cli_seal_input in;
    json_t **docs = NULL;
    size_t n = 0;
    if ((rc = cli_seal__read(&in, o.file, &err)))
        goto out_fail;
    if (o.merge) {
        rc = cli_seal_merge(&o, &pub, &in);
        cli_seal__release(&in);
        return rc;
    }
    if (in.set.count == 0) {
        rc = util_error_set(&err, UTIL_EINVALID, "%s: no Secret in the input", in.source);
        goto out_fail;
    }
    cli_seal__format(&json, o.format, &in);
    docs = calloc(in.set.count, sizeof(*docs));
    if (!docs) {
        rc = util_error_set(&err, UTIL_ENOMEM, "out of memory");
        goto out_fail;
    }
    for (; n < in.set.count; n++) {
        util_manifest_doc *d = &in.set.docs[n];
        if ((rc = seal_secret_seal(&docs[n], d->value, &pub, scope, o.ns, &err))) {
            cli_seal_at(&err, &in, d);
            goto out_fail;
        }
    }
    rc = cli_seal__emit(docs, n, json, &err);
out_fail:
    for (size_t i = 0; i < n; i++)
        json_decref(docs[i]);
    free(docs);
    cli_seal__release(&in);
    if (rc)
        return cli_seal__fail("seal", &err);
    return CLI_OK;
}
