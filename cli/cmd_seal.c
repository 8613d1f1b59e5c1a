/* cmd_seal.c: `sealgate seal`: a Secret in, the sealed Secret out (or one value with --raw,
 * or items merged into an existing sealed Secret with --merge-into). Also the input and
 * output helpers the other sealing verbs share (cli.h). Format: docs/sealing.md. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/cli.h"
#include "crypto/seal.h"
#include "util/limits.h"
#include "util/banned.h"

/* Read fd to its end into t->buf, growing it by copying into a new block and wiping the old
 * one (realloc would leave the old bytes behind in freed memory). */
static int cli_seal_text_slurp(cli_seal_text *t, int fd, const char *name, size_t max,
                               util_error *err)
{
    for (;;) {
        if (t->len == t->buf_cap) {
            size_t cap = t->buf_cap ? 2 * t->buf_cap : 65536;
            char *grown = cap > t->buf_cap ? malloc(cap) : NULL;
            if (!grown)
                return util_error_set(err, UTIL_ENOMEM, "out of memory reading '%s'", name);
            if (t->buf) {
                memcpy(grown, t->buf, t->len);
                sodium_memzero(t->buf, t->buf_cap);
                free(t->buf);
            }
            t->buf = grown;
            t->buf_cap = cap;
            t->data = grown;
        }
        ssize_t n = read(fd, t->buf + t->len, t->buf_cap - t->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return util_error_set(err, UTIL_EIO, "cannot read '%s': %s", name, strerror(errno));
        if (n == 0)
            return 0;
        t->len += (size_t)n;
        if (t->len > max)
            return util_error_set(err, UTIL_ELIMIT, "'%s' is over %zu bytes", name, max);
    }
}

int cli_seal__text_read(cli_seal_text *t, const char *path, size_t max, util_error *err)
{
    memset(t, 0, sizeof(*t));
    bool is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "<stdin>" : path;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    int rc = 0;
    if (fd < 0)
        return util_error_set(err, UTIL_EIO, "cannot open '%s': %s", name, strerror(errno));
    if (fstat(fd, &st) != 0)
        rc = util_error_set(err, UTIL_EIO, "cannot read '%s': %s", name, strerror(errno));
    else if (S_ISDIR(st.st_mode))
        rc = util_error_set(err, UTIL_EIO, "cannot read '%s': is a folder", name);
    else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max)
        rc = util_error_set(err, UTIL_ELIMIT, "'%s' is over %zu bytes", name, max);
    else if (S_ISREG(st.st_mode) && st.st_size > 0) {
        /* Mapped: the page cache already holds the file; no copy, no fresh heap pages.
         * MAP_POPULATE maps every page in this one call instead of taking a fault every 16
         * pages as they are read (faults are dear in a VM; about 1 ms of the 9 that
         * `unseal --raw` of a 1 MiB value took, by hyperfine). */
        t->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (t->map == MAP_FAILED) {
            t->map = NULL;
            rc = cli_seal_text_slurp(t, fd, name, max, err);
        } else {
            t->map_len = t->len = (size_t)st.st_size;
            t->data = t->map;
        }
    } else if (!S_ISREG(st.st_mode)) {
        rc = cli_seal_text_slurp(t, fd, name, max, err);
    }
    if (!is_stdin)
        close(fd);
    return rc;
}

void cli_seal__text_release(cli_seal_text *t)
{
    if (t->map)
        munmap(t->map, t->map_len);
    if (t->buf) {
        sodium_memzero(t->buf, t->buf_cap);
        free(t->buf);
    }
    memset(t, 0, sizeof(*t));
}

int cli_seal__sink_stdout(void *ctx, const void *data, size_t len)
{
    const char *p = data;
    (void)ctx;
    while (len) {
        ssize_t w = write(STDOUT_FILENO, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int cli_seal__read(cli_seal_input *in, const char *path, util_error *err)
{
    util_manifest_set_init(&in->set);
    in->source = strcmp(path, "-") == 0 ? "<stdin>" : path;
    in->json = 0;
    int rc = cli_seal__text_read(&in->text, path, LIMIT_MANIFEST_FILE, err);
    if (rc)
        return rc;
    size_t i = 0;
    while (i < in->text.len && strchr(" \t\r\n", in->text.data[i]))
        i++;
    in->json = i < in->text.len && in->text.data[i] == '{';
    return util_manifest_parse(&in->set, in->source, in->text.len ? in->text.data : "",
                               in->text.len, UTIL_MANIFEST_EXPAND_LISTS, err);
}

void cli_seal__release(cli_seal_input *in)
{
    for (size_t i = 0; i < in->set.count; i++)
        seal_json_wipe(in->set.docs[i].value);
    util_manifest_set_release(&in->set);
    cli_seal__text_release(&in->text);
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
    if (!rc && out.len && (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0))
        rc = util_error_set(err, UTIL_EIO, "cannot write to stdout");
    /* Wipe what was written (out is only appended to); the rest of its capacity never held
     * anything, and wiping it would fault in fresh pages. */
    if (out.data)
        sodium_memzero(out.data, out.len);
    util_buf_release(&out);
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

const char **cli_seal__io_opt(cli_seal_io *io, int argc, char **argv, int *i, const char **val)
{
    if (cli_seal__opt(argc, argv, i, "-f", val) || cli_seal__opt(argc, argv, i, "--file", val))
        return &io->file;
    if (cli_seal__opt(argc, argv, i, "-o", val) || cli_seal__opt(argc, argv, i, "--output", val))
        return &io->format;
    if (cli_seal__opt(argc, argv, i, "--namespace", val) || cli_seal__opt(argc, argv, i, "-n", val))
        return &io->ns;
    return NULL;
}

void cli_seal__at_doc(util_error *err, const cli_seal_input *in, const util_manifest_doc *d)
{
    if (err->source)
        return;
    err->source = in->source;
    err->line = d->line;
    err->col = 1;
}

int cli_seal__transform(const cli_seal_io *io, bool require_docs, cli_seal_doc_fn fn, void *ctx,
                        util_error *err)
{
    cli_seal_input in;
    json_t **docs = NULL;
    size_t n = 0;
    int json = 0;
    int rc = cli_seal__read(&in, io->file, err);
    if (rc)
        goto out;
    if (require_docs && in.set.count == 0) {
        rc = util_error_set(err, UTIL_EINVALID, "%s: no Secret in the input", in.source);
        goto out;
    }
    cli_seal__format(&json, io->format, &in);
    if (!(docs = calloc(in.set.count + 1, sizeof(*docs)))) {
        rc = util_error_set(err, UTIL_ENOMEM, "out of memory");
        goto out;
    }
    for (; n < in.set.count; n++) {
        util_manifest_doc *d = &in.set.docs[n];
        if ((rc = fn(&docs[n], d->value, ctx, err))) {
            cli_seal__at_doc(err, &in, d);
            goto out;
        }
    }
    rc = cli_seal__emit(docs, n, json, err);
out:
    for (size_t i = 0; i < n; i++)
        seal_json_free_secret(docs[i]);
    free(docs);
    cli_seal__release(&in);
    return rc;
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
    cli_seal_io io;
    const char *pub, *scope, *merge, *name, *key;
    int raw;
} cli_seal_opts;

static int cli_seal_parse(cli_seal_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    o->io.file = "-";
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
        else if ((slot = cli_seal__io_opt(&o->io, argc, argv, &i, &v))) {
            /* -f, -o or -n: the value is stored below */
        } else if (cli_seal__opt(argc, argv, &i, "--merge-into", &v))
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
    if (strcmp(o->pub, "-") == 0 && strcmp(o->io.file, "-") == 0)
        return cli_usage("seal", "--pub - and the input both read stdin: give -f FILE");
    return 0;
}

/* --raw: the bytes of the input, sealed to one string on stdout, streamed: the plaintext
 * passes through one locked, wiped buffer of CLI_SEAL_PIECE bytes, never a whole-value copy. */
enum { CLI_SEAL_PIECE = 64 * 1024 };
static int cli_seal_raw(const cli_seal_opts *o, const seal_pubkey *pub, seal_scope scope)
{
    util_error err = {0};
    if (scope == SEAL_SCOPE_UNSET)
        scope = SEAL_SCOPE_STRICT;
    if (scope != SEAL_SCOPE_CLUSTER && !o->io.ns)
        return cli_usage("seal", "--raw with scope %s needs --namespace", seal_scope_name(scope));
    if (scope == SEAL_SCOPE_STRICT && (!o->name || !o->key))
        return cli_usage("seal", "--raw with scope strict needs --name and --key (the item)");
    bool is_stdin = strcmp(o->io.file, "-") == 0;
    const char *name = is_stdin ? "<stdin>" : o->io.file;
    int fd = is_stdin ? STDIN_FILENO : open(o->io.file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        util_error_set(&err, UTIL_EIO, "cannot open '%s': %s", name, strerror(errno));
        return cli_seal__fail("seal", &err);
    }
    seal_sealer *s = NULL;
    uint8_t *piece = sodium_malloc(CLI_SEAL_PIECE);
    struct stat st;
    int rc = 0;
    if (!piece)
        rc = util_error_set(&err, UTIL_ENOMEM, "out of memory (guarded memory)");
    else if (fstat(fd, &st) != 0)
        rc = util_error_set(&err, UTIL_EIO, "cannot read '%s': %s", name, strerror(errno));
    else if (S_ISDIR(st.st_mode))
        rc = util_error_set(&err, UTIL_EIO, "cannot read '%s': is a folder", name);
    else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > seal_value_max_plain())
        /* Known before any output: refused whole. (A pipe over the limit fails mid-way;
         * what was written then has no tag and unseals as nothing.) */
        rc = util_error_set(&err, UTIL_ELIMIT,
                            "'%s' holds %jd bytes, over the sealed-value limit (%zu bytes, "
                            "limits.h LIMIT_SEALED_VALUE)",
                            name, (intmax_t)st.st_size, seal_value_max_plain());
    else
        rc = seal_sealer_new(&s, pub, scope, o->io.ns, o->name, o->key, cli_seal__sink_stdout, NULL,
                             &err);
    while (!rc) {
        ssize_t n = read(fd, piece, CLI_SEAL_PIECE);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = util_error_set(&err, UTIL_EIO, "cannot read '%s': %s", name, strerror(errno));
        else if (n == 0)
            break;
        else
            rc = seal_sealer_update(s, piece, (size_t)n, &err);
    }
    if (!rc && !(rc = seal_sealer_final(s, &err)) && cli_seal__sink_stdout(NULL, "\n", 1))
        rc = util_error_set(&err, UTIL_EIO, "cannot write to stdout");
    seal_sealer_free(s);
    sodium_free(piece); /* wipes */
    if (!is_stdin)
        close(fd);
    return rc ? cli_seal__fail("seal", &err) : CLI_OK;
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

typedef struct cli_seal_doc {
    const seal_pubkey *pub;
    seal_scope scope;
    const char *ns;
} cli_seal_doc;

static int cli_seal_doc_seal(json_t **out, const json_t *doc, void *ctx, util_error *err)
{
    const cli_seal_doc *sd = ctx;
    return seal_secret_seal(out, doc, sd->pub, sd->scope, sd->ns, err);
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
    if (!cli_seal__format(&json, o.io.format, NULL))
        return cli_usage("seal", "-o '%s': expected yaml or json", o.io.format);
    util_error err = {0};
    seal_pubkey pub;
    if (seal_pubkey_load(&pub, o.pub, &err))
        return cli_seal__fail("seal", &err);
    if (o.raw)
        return cli_seal_raw(&o, &pub, scope);

    if (o.merge) {
        cli_seal_input in;
        if (cli_seal__read(&in, o.io.file, &err) != 0)
            rc = cli_seal__fail("seal", &err);
        else
            rc = cli_seal_merge(&o, &pub, &in); /* an exit code */
        cli_seal__release(&in);
        return rc;
    }
    cli_seal_doc sd = {&pub, scope, o.io.ns};
    rc = cli_seal__transform(&o.io, true, cli_seal_doc_seal, &sd, &err);
    return rc ? cli_seal__fail("seal", &err) : CLI_OK;
}
