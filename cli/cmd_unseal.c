/* cmd_unseal.c: `sealgate unseal --key FILE... [-f FILE|-]`: break-glass unsealing of a
 * sealed Secret (or, with --raw, of one sealed string). Prints plaintext by design; errors
 * never do. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "crypto/seal.h"
#include "util/limits.h"
#include "util/banned.h"

#define CLI_UNSEAL_MAX_KEYS 64

typedef struct cli_unseal_opts {
    const char *keys[CLI_UNSEAL_MAX_KEYS];
    size_t nkeys;
    cli_seal_io io;
    const char *name, *item;
    int raw;
} cli_unseal_opts;

static int cli_unseal_parse(cli_unseal_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    o->io.file = "-";
    for (int i = 1; i < argc; i++) {
        const char **slot = NULL, *v = NULL, *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("usage: sealgate unseal --key FILE [--key FILE]... [-f FILE|-] [-o yaml|json]\n"
                   "                       [--namespace NS]\n"
                   "       sealgate unseal --key FILE... --raw [--namespace NS] [--name NAME]\n"
                   "                       [--item KEY] [-f FILE|-]\n"
                   "Unseals every value of a sealed Secret with the private key its key id\n"
                   "names; prints the plain Secret (values base64 under data).\n");
            return -1;
        }
        if (strcmp(a, "--raw") == 0) {
            o->raw = 1;
            continue;
        }
        if (cli_seal__opt(argc, argv, &i, "--key", &v)) {
            if (v && o->nkeys == CLI_UNSEAL_MAX_KEYS)
                return cli_usage("unseal", "at most %d --key files", CLI_UNSEAL_MAX_KEYS);
            if (v)
                o->keys[o->nkeys++] = v;
            slot = &v;
        } else if ((slot = cli_seal__io_opt(&o->io, argc, argv, &i, &v))) {
            /* -f, -o or -n: the value is stored below */
        } else if (cli_seal__opt(argc, argv, &i, "--name", &v))
            slot = &o->name;
        else if (cli_seal__opt(argc, argv, &i, "--item", &v))
            slot = &o->item;
        else if (a[0] != '-' && o->nkeys > 0 && o->nkeys < CLI_UNSEAL_MAX_KEYS) {
            /* `--key A.key B.key`: more key files after --key */
            o->keys[o->nkeys++] = a;
            continue;
        } else
            return cli_usage("unseal", "unknown option '%s' (see 'sealgate unseal --help')", a);
        if (!v)
            return cli_usage("unseal", "option '%s' needs a value", a);
        *slot = v;
    }
    if (o->nkeys == 0)
        return cli_usage("unseal", "--key FILE is required (a private key)");
    return 0;
}

/* --raw: one sealed string (a mapped file, or stdin) to its plaintext on stdout, streamed
 * by seal_value_unseal_to: authenticated in full before the first byte is written. */
static int cli_unseal_raw(const cli_unseal_opts *o, const seal_keyring *kr)
{
    util_error err = {0};
    cli_seal_text in;
    int rc = cli_seal__text_read(&in, o->io.file, LIMIT_SEALED_VALUE + 64, &err);
    size_t len = in.len;
    while (!rc && len && strchr(" \t\r\n", in.data[len - 1]))
        len--;
    if (!rc)
        rc = seal_value_unseal_to(kr, o->io.ns, o->name, o->item, len ? in.data : "", len,
                                  cli_seal__sink_stdout, NULL, &err);
    cli_seal__text_release(&in);
    return rc ? cli_seal__fail("unseal", &err) : CLI_OK;
}

typedef struct cli_unseal_ctx {
    const seal_keyring *kr;
    const char *ns; /* -n: for Secrets without a namespace */
} cli_unseal_ctx;

static int cli_unseal_doc(json_t **out, const json_t *doc, void *ctx, util_error *err)
{
    const cli_unseal_ctx *c = ctx;
    return seal_secret_unseal(out, doc, c->kr, c->ns, err);
}

int cli_unseal(int argc, char **argv)
{
    cli_unseal_opts o;
    int rc = cli_unseal_parse(&o, argc, argv);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    int json;
    if (!cli_seal__format(&json, o.io.format, NULL))
        return cli_usage("unseal", "-o '%s': expected yaml or json", o.io.format);
    util_error err = {0};
    seal_keyring *kr = NULL;
    if (seal_keyring_load(&kr, o.keys, o.nkeys, &err))
        return cli_seal__fail("unseal", &err);
    if (o.raw) {
        rc = cli_unseal_raw(&o, kr);
        seal_keyring_free(kr);
        return rc;
    }
    cli_unseal_ctx c = {kr, o.io.ns};
    rc = cli_seal__transform(&o.io, false, cli_unseal_doc, &c, &err);
    seal_keyring_free(kr);
    return rc ? cli_seal__fail("unseal", &err) : CLI_OK;
}
