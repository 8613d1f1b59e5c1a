/* cmd_keygen.c: `sealgate keygen --out DIR`: a sealing key pair, DIR/sealgate.key (0600,
 * never overwritten) and DIR/sealgate.pub. Key file format: docs/sealing.md. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "crypto/seal.h"
#include "util/banned.h"

int cli_keygen(int argc, char **argv)
{
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: sealgate keygen --out DIR\n"
                   "Writes DIR/sealgate.key (the private key, mode 0600; never overwritten)\n"
                   "and DIR/sealgate.pub (the public key to seal to). See docs/sealing.md.\n");
            return CLI_OK;
        }
        if (cli_seal__opt(argc, argv, &i, "--out", &v)) {
            if (!v)
                return cli_usage("keygen", "option '--out' needs a value");
            dir = v;
        } else {
            return cli_usage("keygen", "unknown option '%s' (see 'sealgate keygen --help')",
                             argv[i]);
        }
    }
    if (!dir)
        return cli_usage("keygen", "--out DIR is required");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return cli_usage("keygen", "cannot create '%s': %s", dir, strerror(errno));
    util_error err = {0};
    seal_pubkey pub;
    if (seal_keygen(dir, &pub, &err))
        return cli_seal__fail("keygen", &err);
    char kid[SEAL_KEY_ID_HEX_SIZE];
    fprintf(stderr, "sealgate keygen: wrote %s/sealgate.key and %s/sealgate.pub (key id %s)\n", dir,
            dir, seal_key_id_hex(kid, pub.kid));
    return CLI_OK;
}
