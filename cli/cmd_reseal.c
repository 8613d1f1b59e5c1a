/* cmd_reseal.c: `sealgate reseal --key OLD.key --pub NEW.pub [-f FILE|-]`: re-seal every
 * value of a sealed Secret to a new key (rotation, docs/sealing.md). The plaintext only
 * passes through wiped buffers. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "crypto/seal.h"
#include "util/banned.h"

#define CLI_RESEAL_MAX_KEYS 64

int cli_reseal(int argc, char **argv)
{
    const char *keys[CLI_RESEAL_MAX_KEYS], *pubfile = NULL, *file = "-", *format = NULL, *ns = NULL;
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
        else if (cli_seal__opt(argc, argv, &i, "-f", &v) ||
                 cli_seal__opt(argc, argv, &i, "--file", &v))
            slot = &file;
        else if (cli_seal__opt(argc, argv, &i, "-o", &v) ||
                 cli_seal__opt(argc, argv, &i, "--output", &v))
            slot = &format;
        else if (cli_seal__opt(argc, argv, &i, "--namespace", &v) ||
                 cli_seal__opt(argc, argv, &i, "-n", &v))
            slot = &ns;
        else if (a[0] != '-' && nkeys > 0 && nkeys < CLI_RESEAL_MAX_KEYS) {
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
    if (strcmp(pubfile, "-") == 0 && strcmp(file, "-") == 0)
        return cli_usage("reseal", "--pub - and the input both read stdin: give -f FILE");
    int json;
    if (!cli_seal__format(&json, format, NULL))
        return cli_usage("reseal", "-o '%s': expected yaml or json", format);

    util_error err = {0};
    seal_pubkey pub;
    seal_keyring *kr = NULL;
    cli_seal_input in;
    json_t **docs = NULL;
    size_t n = 0;
    int rc;
    if ((rc = seal_pubkey_load(&pub, pubfile, &err)) ||
        (rc = seal_keyring_load(&kr, keys, nkeys, &err)))
        return cli_seal__fail("reseal", &err);
    if ((rc = cli_seal__read(&in, file, &err)))
        goto out;
    cli_seal__format(&json, format, &in);
    if (!(docs = calloc(in.set.count + 1, sizeof(*docs)))) {
        rc = util_error_set(&err, UTIL_ENOMEM, "out of memory");
        goto out;
    }
    for (; n < in.set.count; n++) {
        util_manifest_doc *d = &in.set.docs[n];
        if ((rc = seal_secret_reseal(&docs[n], d->value, kr, &pub, ns, &err))) {
            cli_seal__at_doc(&err, &in, d);
            goto out;
        }
    }
    rc = cli_seal__emit(docs, n, json, &err);
out:
    for (size_t i = 0; i < n; i++)
        json_decref(docs[i]);
    free(docs);
    cli_seal__release(&in);
    seal_keyring_free(kr);
    return rc ? cli_seal__fail("reseal", &err) : CLI_OK;
}
