/* sig_tool.c: a test driver for the parts of sig.h the CLI does not reach.
 *   sig_tool tag REPO TAG_OID NAME TRUST...   verify a signed tag object (sig_verify_tag)
 * Exit 0 verified, 1 refused (the message on stderr), 2 usage or input error. */
#include <stdio.h>
#include <string.h>

#include <git2.h>

#include "crypto/sig.h"
#include "util/banned.h"

int main(int argc, char **argv)
{
    if (argc < 6 || strcmp(argv[1], "tag") != 0) {
        fprintf(stderr, "usage: sig_tool tag REPO TAG_OID NAME TRUST...\n");
        return 2;
    }
    util_error err;
    util_error_clear(&err);
    sig_trust *trust = NULL;
    if (sig_trust_load(&trust, (const char *const *)argv + 5, (size_t)(argc - 5), &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    git_libgit2_init();
    git_repository *repo = NULL;
    git_oid id;
    int rc = 2;
    if (git_repository_open(&repo, argv[2]) != 0 || git_oid_fromstr(&id, argv[3]) != 0) {
        fprintf(stderr, "cannot open %s or parse %s\n", argv[2], argv[3]);
        goto out;
    }
    sig_signer who;
    if (sig_verify_tag(&who, trust, repo, &id, argv[4], 0, &err) == 0) {
        printf("ok %s %s\n", who.signer, who.fingerprint);
        rc = 0;
    } else {
        fprintf(stderr, "%s\n", err.msg);
        rc = 1;
    }
out:
    git_repository_free(repo);
    git_libgit2_shutdown();
    sig_trust_free(trust);
    return rc;
}
