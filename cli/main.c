/* main.c: the sealgate binary: dispatch to the subcommand named by the first argument. */
#include <string.h>

#include "cli/cli.h"
#include "cli/net.h"
#include "util/banned.h"

static int cli_help(int argc, char **argv);

/* One row per verb; keep the order of design.md's table. The verbs that need libgit2 or
 * libmicrohttpd run in the module sealgate-net.so (cli/net.h): cli_net_run loads it. */
static const cli_command commands[] = {
    {"serve", cli_net_run, "run the HTTPS admission webhook (/validate, /mutate)"},
    {"check", cli_check, "run the rules over manifest files, offline (the CI gate)"},
    {"test", cli_test, "run the tests that ship beside rule files"},
    {"keygen", cli_keygen, "make a sealing key pair"},
    {"seal", cli_seal, "seal a Secret (or one value) for git"},
    {"unseal", cli_unseal, "unseal a sealed Secret (break-glass)"},
    {"reseal", cli_reseal, "re-seal every value of a sealed Secret to a new key"},
    {"verify", cli_net_run, "verify commit signatures of a config repo"},
    {"gate", cli_net_run, "verify, check and unseal a commit: ready-to-apply manifests"},
    {"audit", cli_net_run, "policy and drift report for objects that already run"},
    {"version", cli_version, "print the version and the linked library versions"},
    {"help", cli_help, "show this help"},
};

static int cli_help(int argc, char **argv)
{
    printf("usage: sealgate <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        printf("  %-8s %s\n", commands[i].name, commands[i].summary);
    printf("\n'sealgate <command> --help' describes a command; docs/ has the details.\n");
    return CLI_OK;
}

int main(int argc, char **argv)
{
    const char *verb = argc > 1 ? argv[1] : NULL;
    if (!verb || strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
        cli_help(0, NULL);
        return verb ? CLI_OK : CLI_USAGE;
    }
    if (strcmp(verb, "--version") == 0)
        return cli_version(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, verb) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "sealgate: unknown command '%s' (see 'sealgate --help')\n", verb);
    return CLI_USAGE;
}
