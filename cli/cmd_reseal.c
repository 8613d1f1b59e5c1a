/* cmd_reseal.c: `sealgate reseal --key OLD.key --pub NEW.pub [-f FILE|-]`: re-seal every
 * value of a sealed Secret to a new key (rotation, docs/sealing.md). The plaintext only
 * passes through wiped buffers. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "crypto/seal.h"
#include "util/banned.h"

#define CLI_RESEAL_MAX_KEYS 64

typedef struct cli_reseal_ctx {
    seal_keyring *kr; /* the old keys */
    seal_pubkey pub;  /* the new key */
    const char *ns;   /* -n: for Secrets without a namespace */
} cli_reseal_ctx;

static int cli_reseal_doc(json_t **out, const json_t *doc, void *ctx, util_error *err)
{
    const cli_reseal_ctx *c = ctx;
    return seal_secret_reseal(out, doc, c->kr, &c->pub, c->ns, err);
}

int cli_reseal(int argc, char **argv)
{
    const char *keys[CLI_RESEAL_MAX_KEYS], *pubfile = NULL;
    cli_seal_io io = {.file = "-"};
    size_t nkeys = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL, **slot = NULL, *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("usage: sealgate reseal --key OLD.key [--key FILE]... --pub NEW.pub\n"
                   "                       [-f FILE|-] [-o yaml|json] [--namespace NS]\n"
                   "Re-seals every value of a sealed Secret to the new public key, keeping\n"
                   "each value's scope; the rest of the Secret is kept as it is.\n");
            return CLI_OK;
        }
        if (cli_seal__opt(argc, argv, &i, "--key", &v)) {
            if (v && nkeys == CLI_RESEAL_MAX_KEYS)
                return cli_usage("reseal", "at most %d --key files", CLI_RESEAL_MAX_KEYS);
            if (v)
                keys[nkeys++] = v;
            slot = &v;
        } else if (cli_seal__opt(argc, argv, &i, "--pub", &v))
            slot = &pubfile;
        else if ((slot = cli_seal__io_opt(&io, argc, argv, &i, &v))) {
            /* -f, -o or -n: the value is stored below */
        } else if (a[0] != '-' && nkeys > 0 && nkeys < CLI_RESEAL_MAX_KEYS) {
            /* `--key A.key B.key`: more key files after --key */
            keys[nkeys++] = a;
            continue;
        } else
            return cli_usage("reseal", "unknown option '%s' (see 'sealgate reseal --help')", a);
        if (!v)
            return cli_usage("reseal", "option '%s' needs a value", a);
        *slot = v;
    }
    if (nkeys == 0 || !pubfile)
        return cli_usage("reseal", "--key OLD.key and --pub NEW.pub are required");
    if (strcmp(pubfile, "-") == 0 && strcmp(io.file, "-") == 0)
        return cli_usage("reseal", "--pub - and the input both read stdin: give -f FILE");
    int json;
    if (!cli_seal__format(&json, io.format, NULL))
        return cli_usage("reseal", "-o '%s': expected yaml or json", io.format);

    util_error err = {0};
    cli_reseal_ctx c = {.ns = io.ns};
    int rc;
    if ((rc = seal_pubkey_load(&c.pub, pubfile, &err)) ||
        (rc = seal_keyring_load(&c.kr, keys, nkeys, &err)))
        return cli_seal__fail("reseal", &err);
    rc = cli_seal__transform(&io, false, cli_reseal_doc, &c, &err);
    seal_keyring_free(c.kr);
    return rc ? cli_seal__fail("reseal", &err) : CLI_OK;
}
