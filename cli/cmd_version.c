/* cmd_version.c: `sealgate version`: what this binary is and what it was linked with, and the
 * module sealgate-net.so (cli/net.h) with the libraries only it links, or why it is missing. */
#include <cjson/cJSON.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <sodium.h>
#include <yaml.h>

#include "cli/cli.h"
#include "cli/net.h"
#include "util/banned.h"

int cli_version(int argc, char **argv)
{
    printf("sealgate %s\n", SEALGATE_VERSION);
    printf("  build id    %s\n", cli_net_build_id());
    printf("  openssl     %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
    printf("  libsodium   %s\n", sodium_version_string());
    printf("  jansson     %s\n", jansson_version_str());
    printf("  libyaml     %s\n", yaml_get_version_string());
    printf("  cjson       %s\n", cJSON_Version());
    cli_net net;
    if (cli_net_open(&net) != 0) {
        printf("  module      %s not loaded (serve, verify, gate and audit need it):\n",
               CLI_NET_MODULE);
        cli_net_explain(&net, NULL, stdout);
        return CLI_OK;
    }
    printf("  module      %s\n", net.tried[net.ntried - 1].path);
    net.entry->versions(stdout);
    return CLI_OK;
}
