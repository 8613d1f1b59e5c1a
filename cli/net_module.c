/* net_module.c: the module's side of net.h: the entry that sealgate-net.so exports, which runs
 * the verbs needing libgit2 or libmicrohttpd and reports those libraries for `version`. */
#include <string.h>

#include <git2.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "cli/cli.h"
#include "cli/net.h"
#include "cli_build_id.h"
#include "util/banned.h"

/* The module's verbs; main.c marks the same ones as living here. */
static const cli_command net_verbs[] = {
    {"serve", cli_serve, NULL},
    {"verify", cli_verify, NULL},
    {"gate", cli_gate, NULL},
    {"audit", cli_audit, NULL},
};

static int net_run(int argc, char **argv)
{
    for (size_t i = 0; i < sizeof(net_verbs) / sizeof(net_verbs[0]); i++)
        if (strcmp(net_verbs[i].name, argv[0]) == 0)
            return net_verbs[i].run(argc, argv);
    return cli_usage(argv[0], "not a verb of %s", CLI_NET_MODULE);
}

static void net_versions(FILE *out)
{
    int major, minor, rev;
    git_libgit2_version(&major, &minor, &rev);
    fprintf(out, "  libgit2     %d.%d.%d\n", major, minor, rev);
    fprintf(out, "  microhttpd  %s\n", MHD_get_version());
    fprintf(out, "  gnutls      %s\n", gnutls_check_version(NULL));
}

/* The one exported symbol (the version script in cli/CMakeLists.txt hides the rest). */
__attribute__((visibility("default"))) const cli_net_entry sealgate_net_entry = {
    .build_id = CLI_BUILD_ID,
    .run = net_run,
    .versions = net_versions,
};
