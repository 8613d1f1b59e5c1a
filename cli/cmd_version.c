/* cmd_version.c: `sealgate version`: what this binary is and what it was linked with. */
#include <git2.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <sodium.h>
#include <yaml.h>

#include "cli/cli.h"
#include "util/banned.h"

int cli_version(int argc, char **argv)
{
    int major, minor, rev;
    git_libgit2_version(&major, &minor, &rev);
    printf("sealgate %s\n", SEALGATE_VERSION);
    printf("  openssl     %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
    printf("  libsodium   %s\n", sodium_version_string());
    printf("  libgit2     %d.%d.%d\n", major, minor, rev);
    printf("  jansson     %s\n", jansson_version_str());
    printf("  libyaml     %s\n", yaml_get_version_string());
    printf("  microhttpd  %s\n", MHD_get_version());
    return CLI_OK;
}
